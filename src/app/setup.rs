//! What every run needs before it looks at the agent: where it is, which rules, what time,
//! and whether it may write at all.

use std::path::PathBuf;

use super::output::Failure;
use crate::cli::Cli;
use crate::engine::{self, Context, Selection, ShadowVersion};
use crate::instar_runtime;
use crate::version::{self, Version, VersionSource, NEWEST_KNOWN};

/// What every run needs before it can look at the agent: where it is, which rules, what time.
pub(super) struct Setup {
    pub(super) project_dir: PathBuf,
    pub(super) rules: Version,
    pub(super) detected: Version,
    pub(super) source: VersionSource,
    pub(super) now: i64,
    /// `--instar-home`, for the machine area's view of this agent.
    pub(super) instar_home: Option<PathBuf>,
}

impl Setup {
    pub(super) fn context(&self, deep: bool) -> Context {
        Context::new(
            self.project_dir.clone(),
            self.rules,
            Some(self.detected),
            self.source,
            self.now,
            deep,
        )
        .with_instar_home(self.instar_home.clone())
    }
}

pub(super) fn setup(cli: &Cli) -> Result<Setup, Failure> {
    let cwd = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("."));
    let project_dir = engine::discover(cli.dir.as_deref(), &cwd).map_err(|err| Failure {
        message: err.to_string(),
        project_dir: None,
    })?;
    let failure = |message: String| Failure {
        message,
        project_dir: Some(project_dir.clone()),
    };
    let now = crate::clock::now().map_err(failure)?;
    let (detected, source) = match &cli.instar_version {
        Some(text) => match text.parse::<Version>() {
            Ok(v) => (v, VersionSource::Flag),
            Err(err) => return Err(failure(format!("--instar-version: {err}"))),
        },
        None => match engine::shadow_install_version(&project_dir) {
            ShadowVersion::Found(v) => (v, VersionSource::ShadowInstall),
            _ => (NEWEST_KNOWN, VersionSource::Default),
        },
    };
    Ok(Setup {
        project_dir,
        rules: version::rules_for(detected),
        detected,
        source,
        now,
        instar_home: cli
            .instar_home
            .as_ref()
            .map(|home| engine::normalize(&cwd.join(home))),
    })
}

/// Writers refuse while instar runs for this agent: its writers ignore our lock.
pub(super) fn refuse_if_instar_runs(cli: &Cli, setup: &Setup) -> Result<(), Failure> {
    if cli.allow_running {
        return Ok(());
    }
    match instar_runtime::instar_running(
        &setup.project_dir.join(engine::STATE_DIR),
        &crate::host::SystemHost,
    ) {
        Some(holder) => Err(Failure {
            message: format!(
                "instar is running for this agent ({holder}); stop it first, or pass --allow-running"
            ),
            project_dir: Some(setup.project_dir.clone()),
        }),
        None => Ok(()),
    }
}

pub(super) fn selection(cli: &Cli) -> Selection {
    crate::selection::from_options(&cli.select, &cli.ignore)
        .expect("validated by usage::validate before any run")
}

//! One agent of a scan: the rules its own shadow install names (or `--instar-version`), the
//! single-agent check run without the machine area (the scan runs that once), and its report
//! rendered at once, in the worker, so nothing of the agent outlives this function but text and
//! counts.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::diag::Severity;
use crate::engine::{self, Context, Report, Selection, ShadowVersion};
use crate::fix::Applicability;
use crate::host::Host;
use crate::render;
use crate::version::{self, Version, VersionSource, NEWEST_KNOWN};

use super::{Outputs, ScanFormat, Settings};

/// What a scan keeps of one agent.
pub struct Checked {
    pub dir: PathBuf,
    /// What `instar-doctor --dir <dir>` would return (without the machine area).
    pub exit_code: u8,
    pub errors: usize,
    pub warnings: usize,
    pub infos: usize,
    /// Why the agent could not be checked completely (a crashed check, a panic).
    pub crashed: Option<String>,
    /// Whether `--fix` (or `--fix --unsafe-fixes`) has something to apply.
    pub fixable: bool,
    /// Findings per (area, severity), for the metrics.
    pub counts: BTreeMap<(&'static str, &'static str), usize>,
    /// The agent's part of the report in the chosen format, and the human details when the
    /// human report goes to the terminal beside a machine format.
    pub machine: Option<String>,
    pub human: Option<String>,
}

/// Checks one agent and renders it.
pub fn check(dir: &Path, settings: &Settings, host: &Arc<dyn Host>) -> Checked {
    let (detected, source) = match settings.instar_version {
        Some(v) => (v, VersionSource::Flag),
        None => match engine::shadow_install_version(dir) {
            ShadowVersion::Found(v) => (v, VersionSource::ShadowInstall),
            _ => (NEWEST_KNOWN, VersionSource::Default),
        },
    };
    let mut cx = Context::new(
        dir.to_path_buf(),
        version::rules_for(detected),
        Some(detected),
        source,
        settings.now,
        settings.deep,
    )
    .with_shared_host(Arc::clone(host))
    .with_instar_home(settings.instar_home.clone());
    cx.machine_scanned = true;
    cx.areas_run_once = RUN_ONCE;
    let report = engine::run(&cx, &agent_selection(&settings.selection));
    let exit_code = exit_code(&report, settings);
    let mut counts = BTreeMap::new();
    for d in &report.diagnostics {
        *counts
            .entry((d.code.check(), d.severity.as_str()))
            .or_insert(0) += 1;
    }
    let crashed = report.crashed().then(|| {
        let ids: Vec<&str> = report
            .checks
            .iter()
            .filter(|c| c.status == engine::CheckStatus::Crashed)
            .map(|c| c.id)
            .collect();
        format!("the {} check crashed (a doctor bug)", ids.join(", "))
    });
    let fixable = report.diagnostics.iter().any(|d| {
        d.fix
            .as_ref()
            .is_some_and(|f| f.applies(Applicability::Unsafe))
    });
    let broken = exit_code != crate::exit::HEALTHY
        || report.count(Severity::Error) + report.count(Severity::Warning) > 0;
    // Test builds only: a panic outside every check, so the pool's own isolation is exercised.
    crate::failpoint::panic_in("render", dir);
    let human_details = |settings: &Settings| {
        (broken || settings.human.verbose).then(|| {
            let mut opts = settings.human.clone();
            opts.hint = false;
            render::human::render(&cx, &report, &opts)
        })
    };
    let (machine, human) = match settings.outputs {
        Outputs::Human => (None, human_details(settings)),
        Outputs::Machine { human_too } => (
            Some(render_machine(&cx, &report, exit_code, settings)),
            if human_too {
                human_details(settings)
            } else {
                None
            },
        ),
    };
    Checked {
        dir: dir.to_path_buf(),
        exit_code,
        errors: report.count(Severity::Error),
        warnings: report.count(Severity::Warning),
        infos: report.count(Severity::Info),
        crashed,
        fixable,
        counts,
        machine,
        human,
    }
}

/// An agent that could not be checked at all: the panic is its report.
pub fn crashed(dir: &Path, why: String) -> Checked {
    Checked {
        dir: dir.to_path_buf(),
        exit_code: crate::exit::FAILURE,
        errors: 0,
        warnings: 0,
        infos: 0,
        crashed: Some(format!("checking it crashed (a doctor bug): {why}")),
        fixable: false,
        counts: BTreeMap::new(),
        machine: None,
        human: None,
    }
}

/// The areas a scan runs once for all agents rather than in each agent's run.
const RUN_ONCE: &[&str] = &["machine"];

/// The user's selection, without the areas the scan runs once for all agents.
fn agent_selection(selection: &Selection) -> Selection {
    let mut selection = selection.clone();
    selection
        .ignore
        .extend(RUN_ONCE.iter().map(|area| area.to_string()));
    selection
}

pub fn exit_code(report: &Report, settings: &Settings) -> u8 {
    if report.crashed() {
        return crate::exit::FAILURE;
    }
    let failing = report
        .diagnostics
        .iter()
        .any(|d| d.severity >= settings.threshold);
    if failing && !settings.exit_zero {
        crate::exit::FINDINGS
    } else {
        crate::exit::HEALTHY
    }
}

/// The agent's own document in the machine format (a whole v1 document for JSON, annotations
/// for GitHub, test suites for JUnit, findings counts need no text for metrics).
fn render_machine(cx: &Context, report: &Report, exit_code: u8, settings: &Settings) -> String {
    let doc = render::json::document(cx, report, exit_code);
    match settings.format {
        ScanFormat::Json => serde_json::to_string(&doc).unwrap_or_default(),
        ScanFormat::Github => {
            let repo =
                render::paths::RepoPaths::discover(&cx.project_dir, settings.workspace.as_deref());
            render::github::render(&doc, Some(&repo))
        }
        ScanFormat::Junit => render::scan::junit_suites(
            &render::junit::render(&doc, settings.threshold.as_str()),
            &settings.display(&cx.project_dir),
        ),
        ScanFormat::Sarif => render::scan::sarif_results(cx, &doc, &settings.scan_root),
        ScanFormat::Openmetrics | ScanFormat::Human => String::new(),
    }
}

/// For `Settings`: the version given with `--instar-version`, parsed once.
pub fn parse_version(text: &str) -> Result<Version, String> {
    text.parse::<Version>()
        .map_err(|err| format!("--instar-version: {err}"))
}

//! `instar-doctor hook install --preflight` / `hook uninstall --preflight`: puts the preflight in
//! front of the agent's launchd job by editing its plist (`ai.instar.<projectName>.plist`), or,
//! where there is none, of its systemd user unit (`instar-<projectName>.service`); both are
//! instar's files. So the diff is shown first, and it is applied only on confirmation at a
//! terminal or with `--yes`; the edit is an ordinary transaction of the write layer (lock,
//! backup, atomic write, manifest) rooted at the home folder with its record under
//! `~/.instar/doctor/`, and `hook uninstall --preflight` is that layer's `undo`: the exact bytes
//! come back, or nothing happens when the file changed since.
//!
//! launchd reads the plist when the job is loaded: the change takes effect at the next
//! `launchctl bootout` + `bootstrap` (or log-in); systemd at `systemctl --user daemon-reload`.
//! The doctor runs neither.

use std::path::{Path, PathBuf};

use crate::checks::boot::plist::{plist_path, program_arguments, project_name};
use crate::engine::Context;
use crate::runs;
use crate::write::{self, Transaction};

use super::{launchd, systemd};

/// What installing would change.
pub struct Plan {
    /// The plist or the unit.
    pub file: PathBuf,
    /// What makes the change take effect.
    pub reload: String,
    pub before: Vec<u8>,
    pub after: String,
}

impl Plan {
    /// A unified diff of the plist, paths as the user knows them.
    pub fn diff(&self) -> String {
        let before = String::from_utf8_lossy(&self.before);
        let shown = self.file.display().to_string();
        similar::TextDiff::from_lines(before.as_ref(), self.after.as_str())
            .unified_diff()
            .context_radius(3)
            .header(&shown, &shown)
            .to_string()
    }
}

/// Why nothing is planned.
#[derive(Debug, thiserror::Error)]
pub enum PlanError {
    #[error("no home folder (HOME is unset): cannot find the launchd plist or systemd unit")]
    NoHome,
    #[error("neither {0} nor {1} exists; run `instar setup` first")]
    NoJob(String, String),
    #[error("{0}: {1}")]
    Unreadable(String, String),
    #[error("{0} has no [Service] section")]
    NoService(String),
    #[error("{0} is not an XML plist with ProgramArguments (a binary plist needs `plutil -convert xml1` first)")]
    NotXml(String),
    #[error("{0} already runs the preflight first")]
    AlreadyInstalled(String),
}

/// The edit that puts `doctor preflight --dir <project>` in front of the agent's launchd job,
/// or of its systemd unit where it has no plist.
pub fn plan(cx: &Context, doctor: &Path) -> Result<Plan, PlanError> {
    let plist = plist_path(cx).ok_or(PlanError::NoHome)?;
    let home = cx.home_dir().ok_or(PlanError::NoHome)?;
    let unit = home.join(format!(
        ".config/systemd/user/instar-{}.service",
        project_name(cx)
    ));
    let exists = |p: &Path| p.symlink_metadata().is_ok();
    if exists(&plist) {
        plan_plist(cx, doctor, plist)
    } else if exists(&unit) {
        plan_unit(cx, doctor, unit)
    } else {
        Err(PlanError::NoJob(
            plist.display().to_string(),
            unit.display().to_string(),
        ))
    }
}

fn read(path: &Path) -> Result<(Vec<u8>, String), PlanError> {
    let (bytes, _) = crate::safe_read::read_regular(path, 1 << 20)
        .map_err(|err| PlanError::Unreadable(path.display().to_string(), err.to_string()))?;
    let text = String::from_utf8_lossy(&bytes).into_owned();
    Ok((bytes, text))
}

fn plan_plist(cx: &Context, doctor: &Path, plist: PathBuf) -> Result<Plan, PlanError> {
    let shown = plist.display().to_string();
    let (before, text) = read(&plist)?;
    let args = program_arguments(&text).ok_or_else(|| PlanError::NotXml(shown.clone()))?;
    if launchd::is_wrapped(&args) {
        return Err(PlanError::AlreadyInstalled(shown));
    }
    let wrapped = launchd::wrap(doctor, &cx.project_dir, &args);
    let after = launchd::with_program_arguments(&text, &wrapped)
        .ok_or_else(|| PlanError::NotXml(shown.clone()))?;
    Ok(Plan {
        reload: format!(
            "launchctl bootout gui/$(id -u) {shown} then launchctl bootstrap gui/$(id -u) {shown}"
        ),
        file: plist,
        before,
        after,
    })
}

fn plan_unit(cx: &Context, doctor: &Path, unit: PathBuf) -> Result<Plan, PlanError> {
    let shown = unit.display().to_string();
    let (before, text) = read(&unit)?;
    if systemd::is_installed(&text) {
        return Err(PlanError::AlreadyInstalled(shown));
    }
    let after = systemd::with_preflight(&text, &systemd::line(doctor, &cx.project_dir))
        .ok_or_else(|| PlanError::NoService(shown.clone()))?;
    Ok(Plan {
        reload: "systemctl --user daemon-reload".to_string(),
        file: unit,
        before,
        after,
    })
}

/// Applies the plan as one run of the write layer rooted at `home`, recorded in
/// `instar_home/doctor/`. Returns the run id.
pub fn apply(plan: &Plan, home: &Path, instar_home: &Path) -> Result<String, write::WriteError> {
    // An interrupted `machine` run may be among them: it is rolled back under instar's locks.
    if !runs::interrupted(instar_home).is_empty() {
        let _held = crate::machine_run::take_locks(instar_home, None)
            .map_err(|err| write::WriteError::Refused(err.to_string()))?;
        write::recover_interrupted(home, instar_home)?;
    }
    let mut tx = Transaction::begin(home, instar_home)?;
    // The plist is written only if it still holds the bytes the diff was made from.
    tx.expect_diagnosed(&plan.file, Some(&plan.before));
    tx.prepare(std::slice::from_ref(&plan.file))?;
    tx.record_fix(
        "hook/preflight",
        "run instar-doctor preflight before the agent's launchd job or systemd unit",
    );
    if let Err(err) = tx.write(&plan.file, plan.after.as_bytes()) {
        let _ = tx.rollback();
        return Err(err);
    }
    Ok(tx.commit()?.unwrap_or_default())
}

/// Undoes the newest install: the plist's bytes from before it, unless it changed since.
/// `machine` fix runs are recorded in the same folder: only a run of this hook is picked.
pub fn undo(home: &Path, instar_home: &Path) -> Result<String, write::WriteError> {
    let all = runs::all(instar_home);
    let newest = all.iter().find(|m| {
        // An interrupted install is picked too: undoing it is rolling it back.
        matches!(
            m.status,
            runs::RunStatus::Committed | runs::RunStatus::InProgress
        ) && m.undoes.is_none()
            && m.fixes.iter().any(|f| f.code == "hook/preflight")
            && !runs::is_undone(m, &all)
    });
    let Some(newest) = newest else {
        return Err(write::WriteError::Refused(
            "no `hook install --preflight` run to undo".to_string(),
        ));
    };
    let outcome = write::undo(home, instar_home, Some(&newest.run_id), false)?;
    Ok(format!(
        "undid run {}: restored {}",
        outcome.run_id,
        outcome.restored.join(", ")
    ))
}

/// `hook install --preflight`: the diff on stdout, then the edit on `--yes` or a "y" typed at a
/// terminal. Exit 0 when installed (or already there), 1 when not applied, 2 when it cannot be.
pub fn install_command(cx: &Context, yes: bool, interactive: bool) -> u8 {
    use std::io::Write;
    let doctor = std::env::current_exe().unwrap_or_else(|_| PathBuf::from("instar-doctor"));
    let plan = match plan(cx, &doctor) {
        Ok(plan) => plan,
        Err(PlanError::AlreadyInstalled(shown)) => {
            println!("{shown} already runs the preflight first; nothing to do");
            return crate::exit::HEALTHY;
        }
        Err(err) => {
            eprintln!("error: {err}");
            return crate::exit::FAILURE;
        }
    };
    let (Some(home), Some(instar_home)) = (cx.home_dir(), cx.instar_home()) else {
        eprintln!("error: {}", PlanError::NoHome);
        return crate::exit::FAILURE;
    };
    let mut stdout = std::io::stdout().lock();
    let _ = stdout.write_all(plan.diff().as_bytes());
    let _ = stdout.flush();
    drop(stdout);
    if !yes {
        if !interactive {
            eprintln!("not applied: the doctor edits instar's files only on confirmation; review the diff above and rerun with --yes");
            return crate::exit::FINDINGS;
        }
        eprint!("apply this change to {}? [y/N] ", plan.file.display());
        let mut line = String::new();
        let _ = std::io::stdin().read_line(&mut line);
        if crate::prompt::parse_reply(&line)
            != crate::prompt::Reply::Answer(crate::prompt::Answer::Yes)
        {
            eprintln!("not applied");
            return crate::exit::FINDINGS;
        }
    }
    match apply(&plan, &home, &instar_home) {
        Ok(run) => {
            println!(
                "installed (run {run}, backed up under {}; `instar-doctor hook uninstall --preflight` undoes it). It takes effect when the job is loaded again: {}",
                instar_home.join("doctor").display(),
                plan.reload
            );
            crate::exit::HEALTHY
        }
        Err(err) => {
            eprintln!("error: not installed: {err}");
            crate::exit::FAILURE
        }
    }
}

/// `hook uninstall --preflight`.
pub fn uninstall_command(home: Option<PathBuf>, instar_home: Option<PathBuf>) -> u8 {
    let (Some(home), Some(instar_home)) = (home, instar_home) else {
        eprintln!("error: {}", PlanError::NoHome);
        return crate::exit::FAILURE;
    };
    match undo(&home, &instar_home) {
        Ok(done) => {
            println!("{done}");
            crate::exit::HEALTHY
        }
        Err(err) => {
            eprintln!("error: {err}");
            crate::exit::FAILURE
        }
    }
}

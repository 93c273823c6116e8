//! `instar-doctor machine`: the machine area alone (the per-user registry, its lock, the
//! host-wide spawn holders), reported, previewed with `--diff`, or fixed with `--fix`,
//! `--unsafe-fixes` or `-i`; `undo --machine` puts a run back.
//!
//! `scan` stays read-only and an agent's `--fix` never writes these shared files: only this
//! command does, because only it takes instar's own locks on them (see `lock`). A run is an
//! ordinary fix run of the write layer (backups, atomic writes, re-check, rollback), rooted at
//! the home folder (as `hook install --preflight`, whose runs share the record), with its
//! record under `<instar home>/doctor/`.

pub mod lock;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::checks::machine::codes::REGISTRY_LOCK_STALE;
use crate::diag::{Diagnostic, FixStatus, Severity, Sink};
use crate::engine::{CheckOutcome, CheckStatus, Context, Report, Selection};
use crate::host::Host;
use crate::repair::{PassLock, RepairError, RepairOptions};
use crate::runs;
use crate::version::{self, Version, VersionSource, NEWEST_KNOWN};
use crate::write::{self, WriteError};

/// instar's host-wide spawn-cap file, under the instar home.
const HOLDERS_FILE: &str = "host-spawn-holders.json";

/// Where a machine run looks and writes.
pub struct Machine {
    /// The per-user folder (`--instar-home`, else `~/.instar`).
    pub home: PathBuf,
    pub host: Arc<dyn Host>,
    pub rules: Version,
    pub detected: Option<Version>,
    pub source: VersionSource,
    pub now: i64,
}

impl Machine {
    /// The root of the run's transactions: the home folder, as for `hook install --preflight`,
    /// whose runs share `<instar home>/doctor/` (a recovery or undo of either resolves every
    /// recorded path against one root). `None` when the instar home is not under it.
    pub fn root(&self) -> Option<PathBuf> {
        self.host
            .home_dir()
            .filter(|home| self.home.starts_with(home) && self.home != *home)
    }

    /// `root`, or why a run cannot write here.
    fn writable_root(&self) -> Result<PathBuf, MachineError> {
        self.root().ok_or_else(|| {
            WriteError::Refused(format!(
                "{} is not inside the home folder: machine runs are rooted there (their records are shared with `hook install --preflight`); nothing was changed",
                self.home.display()
            ))
            .into()
        })
    }

    /// Where paths are shown from: the root, else the folder holding the instar home.
    fn shown_from(&self) -> PathBuf {
        self.root().unwrap_or_else(|| {
            self.home
                .parent()
                .map(Path::to_path_buf)
                .unwrap_or_else(|| PathBuf::from("/"))
        })
    }

    pub fn new(
        home: PathBuf,
        host: Arc<dyn Host>,
        instar_version: Option<Version>,
        now: i64,
    ) -> Self {
        Machine {
            home,
            host,
            rules: instar_version
                .map(version::rules_for)
                .unwrap_or(NEWEST_KNOWN),
            detected: instar_version,
            source: if instar_version.is_some() {
                VersionSource::Flag
            } else {
                VersionSource::Default
            },
            now,
        }
    }

    /// A fresh context (files re-read): paths shown relative to the root, the run's record in
    /// the instar home.
    pub fn context(&self) -> Context {
        let mut cx = Context::new(
            self.shown_from(),
            self.rules,
            self.detected,
            self.source,
            self.now,
            false,
        )
        .with_shared_host(Arc::clone(&self.host))
        .with_instar_home(Some(self.home.clone()));
        cx.state_dir = self.home.clone();
        cx.only_areas = Some(&["machine"]);
        cx
    }
}

/// The machine findings, with their executable fixes; a crash of the check is reported as one.
pub fn check(cx: &Context, selection: &Selection) -> Report {
    let started = std::time::Instant::now();
    let mut sink = Sink::default();
    let crashed = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        crate::checks::machine::run_machine_fixable(cx, &mut sink)
    }))
    .is_err();
    let mut diagnostics: Vec<Diagnostic> = sink
        .into_vec()
        .into_iter()
        .filter(|d| selection.keeps("machine", d.code.id))
        .collect();
    crate::engine::scrub_findings(cx, &mut diagnostics);
    let status = if crashed {
        CheckStatus::Crashed
    } else {
        match diagnostics.iter().map(|d| d.severity).max() {
            Some(Severity::Error) => CheckStatus::Error,
            Some(Severity::Warning) => CheckStatus::Warning,
            _ => CheckStatus::Ok,
        }
    };
    Report {
        checks: vec![CheckOutcome {
            id: "machine",
            status,
            duration_ms: started.elapsed().as_secs_f64() * 1000.0,
        }],
        diagnostics,
    }
}

/// The report without the stale registry lock: a fix run removes that lock while taking it,
/// never as a change of a pass (the pass's own lock stands at that path).
pub fn without_stale_lock(mut report: Report) -> Report {
    report
        .diagnostics
        .retain(|d| d.code.id != REGISTRY_LOCK_STALE.id);
    report
}

/// The stale lock's finding, if the report has one.
pub fn stale_lock_finding(report: &Report) -> Option<&Diagnostic> {
    report
        .diagnostics
        .iter()
        .find(|d| d.code.id == REGISTRY_LOCK_STALE.id)
}

/// The report with the fixes that write `host-spawn-holders.json` taken off, each finding saying
/// why: the holders' lock was left by a process that is gone. Taking that lock over is instar's
/// call (it reclaims it at its next spawn), and a pass that needs it would stop the whole run,
/// so the registry's fixes go ahead and these wait for a later run.
fn withhold_holder_fixes(mut report: Report, lock: &str, why: lock::Abandoned) -> Report {
    let why = match why {
        lock::Abandoned::DeadOwner(pid) => format!(
            "not fixed in this run: {lock} was left by pid {pid}, which is not running; once instar has taken it back (at its next session spawn), run the fix again"
        ),
        lock::Abandoned::NoOwner => format!(
            "not fixed in this run: {lock} names no process that holds it; once instar has taken it back (at its next session spawn), run the fix again"
        ),
        lock::Abandoned::NotAFile => format!(
            "not fixed in this run: {lock} is not a file, so neither instar nor the doctor can take that lock; move it away, then run the fix again"
        ),
    };
    let writes_holders = |d: &Diagnostic| {
        d.fix.as_ref().is_some_and(|fix| {
            fix.changes()
                .iter()
                .filter_map(|c| c.file())
                .any(|f| f.ends_with(HOLDERS_FILE))
        })
    };
    report.diagnostics = std::mem::take(&mut report.diagnostics)
        .into_iter()
        .map(|d| {
            if writes_holders(&d) {
                d.fix(None).add_help(&why)
            } else {
                d
            }
        })
        .collect();
    report
}

/// What `--diff` shows for the stale lock, which is no file edit.
pub fn stale_lock_diff(cx: &Context) -> String {
    let lock = cx
        .instar_home()
        .map(|h| h.join(lock::REGISTRY_LOCK))
        .unwrap_or_default();
    format!(
        "remove {}/ (stale lock folder; re-checked stale at the moment it is removed)\n",
        cx.display_path(&lock)
    )
}

/// The locks held for one pass (or a rollback, an undo, a recovery).
pub struct Held(Vec<lock::Held>);

impl PassLock for Held {
    fn intact(&self) -> bool {
        self.0.iter().all(lock::Held::intact)
    }
}

/// Takes instar's locks on the files of `files` (`None`: both files), registry lock first.
/// Public for `hook install --preflight`, which may recover an interrupted machine run.
pub fn take_locks(home: &Path, files: Option<&[PathBuf]>) -> Result<Held, lock::LockError> {
    let wants = |name: &str| files.is_none_or(|f| f.iter().any(|p| p.ends_with(name)));
    let mut held = Vec::new();
    if wants(crate::checks::machine::view::REGISTRY) {
        held.push(lock::lock_registry(home)?);
    }
    if wants(HOLDERS_FILE) {
        let now_ms = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis() as u64)
            .unwrap_or(0);
        held.push(lock::lock_holders(home, now_ms)?);
    }
    Ok(Held(held))
}

/// Why a machine run stopped before or during its writes.
#[derive(Debug, thiserror::Error)]
pub enum MachineError {
    #[error("{0}")]
    Lock(#[from] lock::LockError),
    #[error("{0}; nothing was changed")]
    Write(#[from] WriteError),
    #[error("{0}")]
    Repair(#[from] RepairError),
}

impl MachineError {
    pub fn exit_code(&self) -> u8 {
        match self {
            MachineError::Repair(err) => err.exit_code(),
            _ => crate::exit::FAILURE,
        }
    }
}

/// A finished fix run: the re-check, what was handled, the run's id.
pub struct Fixed {
    pub cx: Context,
    pub report: Report,
    pub handled: Vec<Diagnostic>,
    pub run_id: Option<String>,
    /// Runs a killed doctor had left, rolled back first.
    pub recovered: Vec<write::Recovered>,
}

/// A live instar writer holds the registry lock right now: refuse before anything is written.
fn refuse_while_instar_writes(home: &Path) -> Result<(), lock::LockError> {
    if lock::registry_lock_stale(home) {
        return Ok(());
    }
    let Ok(meta) = std::fs::symlink_metadata(home.join(lock::REGISTRY_LOCK)) else {
        return Ok(());
    };
    let age = meta
        .modified()
        .ok()
        .and_then(|m| std::time::SystemTime::now().duration_since(m).ok())
        .unwrap_or_default();
    Err(lock::LockError::Busy {
        path: home.join(lock::REGISTRY_LOCK).display().to_string(),
        age: age.as_secs(),
    })
}

/// `--fix`, `--unsafe-fixes`, `-i`: a fix run of the machine files under instar's locks.
pub fn fix(
    machine: &Machine,
    selection: &Selection,
    opts: &RepairOptions,
    confirm: &mut dyn crate::prompt::Confirmer,
    interrupt: &std::sync::atomic::AtomicBool,
) -> Result<Fixed, MachineError> {
    let home = &machine.home;
    let root = machine.writable_root()?;
    refuse_while_instar_writes(home)?;
    let first = check(&machine.context(), selection);
    let mut handled = Vec::new();
    // #22 (safe): the stale lock goes first, re-checked at that instant; the run's own locks
    // then stand where it stood. `-i` does not ask about it: taking instar's lock removes a
    // stale one anyway, as proper-lockfile itself does, so a "no" could not be honoured.
    if let Some(stale) = stale_lock_finding(&first) {
        if lock::remove_stale_registry_lock(home)? {
            let mut done = stale.clone();
            done.fix_status = FixStatus::Applied;
            handled.push(done);
        }
    }
    // A run a killed doctor left half-applied is rolled back, under the locks, before anything.
    let recovered = if runs::interrupted(home).is_empty() {
        Vec::new()
    } else {
        let _held = take_locks(home, None)?;
        write::recover_interrupted(&root, home)?
    };
    let new_context = || machine.context();
    let abandoned = lock::abandoned_holders_lock(home, |pid| machine.host.process_alive(pid));
    let run_check = |cx: &Context| {
        let report = without_stale_lock(check(cx, selection));
        match abandoned {
            Some(why) => withhold_holder_fixes(
                report,
                &cx.display_path(&home.join(lock::HOLDERS_LOCK)),
                why,
            ),
            None => report,
        }
    };
    let lock_pass = |pass: Option<&[&Diagnostic]>| -> Result<Box<dyn PassLock>, String> {
        let files: Option<Vec<PathBuf>> = pass.map(|pass| {
            pass.iter()
                .filter_map(|d| d.fix.as_ref())
                .flat_map(|fix| {
                    fix.changes()
                        .iter()
                        .filter_map(|c| c.file().map(Path::to_path_buf))
                })
                .collect()
        });
        let held = take_locks(home, files.as_deref()).map_err(|err| err.to_string())?;
        if let Some(pass) = pass {
            still_standing(&machine.context(), selection, pass)?;
        }
        Ok(Box::new(held))
    };
    let env = crate::repair::RepairEnv {
        new_context: &new_context,
        check: &run_check,
        interrupt,
        lock_pass: Some(&lock_pass),
    };
    let outcome = crate::repair::repair(&env, opts, confirm)?;
    handled.extend(outcome.handled);
    Ok(Fixed {
        cx: outcome.cx,
        report: outcome.report,
        handled,
        run_id: outcome.run_id,
        recovered,
    })
}

/// Judges the pass's findings again, under the locks: each must still be reported with the very
/// same fix (a folder that came back, a pid alive again, a file another writer changed: the
/// finding or its spans differ). A pass whose findings moved writes nothing.
fn still_standing(cx: &Context, selection: &Selection, pass: &[&Diagnostic]) -> Result<(), String> {
    let now = without_stale_lock(check(cx, selection));
    for d in pass {
        let same = now
            .diagnostics
            .iter()
            .any(|n| n.code.id == d.code.id && n.fix == d.fix && n.message == d.message);
        if !same {
            return Err(format!(
                "{} no longer stands as it was checked (judged again under instar's lock); nothing of this pass was written, run again",
                d.code.id
            ));
        }
    }
    Ok(())
}

/// Whether a recorded run is a machine run: every fix it records is of the machine area.
pub fn is_machine_run(run: &runs::Manifest) -> bool {
    !run.fixes.is_empty() && run.fixes.iter().all(|f| f.code.starts_with("machine/"))
}

/// `undo --machine [RUN]`: the newest machine run not undone yet (or `run_id`), restored under
/// instar's locks so no instar writer interleaves.
pub fn undo(
    machine: &Machine,
    run_id: Option<&str>,
    force: bool,
) -> Result<write::UndoOutcome, MachineError> {
    let home = &machine.home;
    let all = runs::all(home);
    let target = match run_id {
        Some(id) => {
            if let Some(run) = all.iter().find(|m| m.run_id == id) {
                if !is_machine_run(run) && run.undoes.is_none() {
                    return Err(WriteError::Refused(format!(
                        "run {id} is not a machine run (`instar-doctor hook uninstall --preflight` undoes the hook's)"
                    ))
                    .into());
                }
            }
            Some(id.to_string())
        }
        None => all
            .iter()
            .find(|m| {
                m.status == runs::RunStatus::Committed
                    && m.undoes.is_none()
                    && is_machine_run(m)
                    && !runs::is_undone(m, &all)
            })
            .map(|m| m.run_id.clone()),
    };
    let Some(target) = target else {
        return Err(WriteError::Refused("no machine fix run to undo".to_string()).into());
    };
    let _held = take_locks(home, None)?;
    let root = machine.writable_root()?;
    Ok(write::undo(&root, home, Some(&target), force)?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::host::FakeHost;

    /// A registry with one entry whose folder is gone, on a fake host.
    fn machine_with_zombie() -> (tempfile::TempDir, Machine) {
        let tmp = tempfile::tempdir().unwrap();
        let home = std::fs::canonicalize(tmp.path()).unwrap().join(".instar");
        std::fs::create_dir_all(&home).unwrap();
        let gone = home.parent().unwrap().join("gone");
        std::fs::write(
            home.join("registry.json"),
            format!(
                "{{\"entries\": [{{\"name\": \"g\", \"path\": \"{}\", \"port\": 4041}}]}}",
                gone.display()
            ),
        )
        .unwrap();
        let host: Arc<dyn Host> = Arc::new(FakeHost::macos().with_home(home.parent().unwrap()));
        (tmp, Machine::new(home, host, None, 0))
    }

    #[test]
    fn a_finding_that_no_longer_stands_under_the_lock_stops_the_pass() {
        let (_tmp, machine) = machine_with_zombie();
        let selection = Selection::default();
        let report = check(&machine.context(), &selection);
        let zombie: Vec<&Diagnostic> = report
            .diagnostics
            .iter()
            .filter(|d| d.code.id == "machine/registry-zombie")
            .collect();
        assert_eq!(zombie.len(), 1);
        assert!(still_standing(&machine.context(), &selection, &zombie).is_ok());
        // The drive is mounted again meanwhile: the agent is back.
        let back = machine.root().unwrap().join("gone/.instar");
        std::fs::create_dir_all(&back).unwrap();
        std::fs::write(back.join("config.json"), "{}").unwrap();
        let err = still_standing(&machine.context(), &selection, &zombie).unwrap_err();
        assert!(err.contains("no longer stands"), "{err}");
    }
}

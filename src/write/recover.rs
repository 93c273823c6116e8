//! Runs a killed doctor left in progress: found by a check (read-only) and rolled back by the
//! next `--fix`, `-i` or `undo` before anything else.
//!
//! "Is its writer gone?" is answered by the run lock, not by the recorded pid: a writer holds
//! `.instar/doctor/lock` for its whole run and the kernel releases it when the process dies, so
//! if the lock can be taken, no writer is alive. A pid can be reused; a released lock cannot lie.

use std::fs::{self, File};
use std::path::Path;

use super::atomic::{remove_empty_dirs, temp_path, temp_writer};
use super::manifest::{self, runs, write_manifest, Manifest, RunStatus};
use super::transaction::{absolute, restore};
use super::{lock, RunLock, WriteError, DOCTOR_DIR};

/// A run found in progress and rolled back.
#[derive(Debug, Clone, PartialEq)]
pub struct Recovered {
    pub run_id: String,
    /// The files put back, as the manifest names them.
    pub restored: Vec<String>,
    /// When the interrupted run was an `undo`: the run it was undoing (still not undone).
    pub undoes: Option<String>,
}

impl Recovered {
    /// The one line said on stderr when a command rolled an interrupted run back.
    pub fn notice(&self) -> String {
        format!(
            "rolled back fix run {} (interrupted before it finished; its writer is gone): {} file(s) restored to their backed-up bytes",
            self.run_id,
            self.restored.len()
        )
    }
}

/// Whether no doctor holds the run lock now. Opens the lock file read-only and creates nothing;
/// a missing lock file means no writer ever started or all have ended.
fn lock_is_free(state_dir: &Path) -> bool {
    let path = state_dir.join(DOCTOR_DIR).join("lock");
    match File::open(&path) {
        Ok(file) => match file.try_lock_shared() {
            Ok(()) => true,
            Err(fs::TryLockError::WouldBlock) => false,
            // Cannot tell: say nothing rather than report a live run as interrupted.
            Err(fs::TryLockError::Error(_)) => false,
        },
        Err(err) => err.kind() == std::io::ErrorKind::NotFound,
    }
}

/// Runs left in progress by a writer that is gone, newest first. Reads only (a check calls it).
/// From inside a fix run the lock is ours and held, so its own run is never reported.
pub fn interrupted_runs(state_dir: &Path) -> Vec<Manifest> {
    let in_progress: Vec<Manifest> = runs(state_dir)
        .into_iter()
        .filter(|m| m.status == RunStatus::InProgress)
        .collect();
    if in_progress.is_empty() || !lock_is_free(state_dir) {
        return Vec::new();
    }
    in_progress
}

/// Takes the lock and rolls back every interrupted run. Creates nothing when the doctor's folder
/// does not exist (no doctor ever wrote here, so nothing can be half-done).
pub fn recover_interrupted(
    project_dir: &Path,
    state_dir: &Path,
) -> Result<Vec<Recovered>, WriteError> {
    if !state_dir.join(DOCTOR_DIR).is_dir() {
        return Ok(Vec::new());
    }
    let held = lock(state_dir)?;
    recover_locked(project_dir, state_dir, &held)
}

/// Rolls back every run left in progress and sweeps what killed runs left inside the doctor's
/// folder. Needs the lock (the argument proves it is held): holding it, every other writer is gone.
pub fn recover_locked(
    project_dir: &Path,
    state_dir: &Path,
    _held: &RunLock,
) -> Result<Vec<Recovered>, WriteError> {
    let mut recovered = Vec::new();
    for mut run in runs(state_dir)
        .into_iter()
        .filter(|m| m.status == RunStatus::InProgress)
    {
        let run_dir = manifest::run_dir(state_dir, &run.run_id);
        restore(project_dir, state_dir, &run_dir, &run)?;
        // The killed writer's temp files next to its targets hold bytes that never landed.
        if let Some(pid) = run.pid.filter(|pid| *pid != std::process::id()) {
            for record in &run.files {
                let _ = fs::remove_file(temp_path(&absolute(project_dir, &record.path), pid));
            }
        }
        run.status = RunStatus::RolledBack;
        write_manifest(&run_dir, &run)?;
        remove_empty_dirs(&manifest::quarantine_dir(state_dir, &run.run_id));
        recovered.push(Recovered {
            restored: run.files.iter().map(|f| f.path.clone()).collect(),
            undoes: run.undoes,
            run_id: run.run_id,
        });
    }
    sweep_doctor_dir(state_dir);
    Ok(recovered)
}

/// Removes temp files a killed writer left under `.instar/doctor/` (half-written backups and
/// manifests: the finished copies exist or were never needed) and run folders that never got a
/// manifest (killed before recording anything, hence before changing anything).
fn sweep_doctor_dir(state_dir: &Path) {
    let doctor = state_dir.join(DOCTOR_DIR);
    let mut stack = vec![doctor];
    while let Some(dir) = stack.pop() {
        let Ok(entries) = fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let Ok(kind) = entry.file_type() else {
                continue;
            };
            let name = entry.file_name().to_string_lossy().into_owned();
            if kind.is_dir() {
                stack.push(entry.path());
            } else if kind.is_file()
                && temp_writer(&name).is_some_and(|pid| pid != std::process::id())
            {
                let _ = fs::remove_file(entry.path());
            }
        }
    }
    if let Ok(entries) = fs::read_dir(manifest::runs_dir(state_dir)) {
        for entry in entries.flatten() {
            if !entry.path().join("manifest.json").exists() {
                let _ = fs::remove_dir_all(entry.path());
            }
        }
    }
}

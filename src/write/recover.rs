//! Runs a killed doctor left in progress: found by a check (read-only, `crate::runs::interrupted`)
//! and rolled back by the next `--fix`, `-i` or `undo` before anything else. Holding the run
//! lock, every other writer is gone, so every run still in progress is rolled back.

use std::fs;
use std::path::Path;

use super::atomic::{remove_empty_dirs, temp_parts};
use super::confine::manifest_path;
use super::manifest::write_manifest;
use super::transaction::{restore, Kept};
use super::{lock, RunLock, WriteError};
use crate::paths::DOCTOR_DIR;
use crate::runs::{self, RunStatus};

/// A run found in progress and rolled back.
#[derive(Debug, Clone, PartialEq)]
pub struct Recovered {
    pub run_id: String,
    /// The files put back, as the manifest names them.
    pub restored: Vec<String>,
    /// When the interrupted run was an `undo`: the run it was undoing (still not undone).
    pub undoes: Option<String>,
    /// Files another writer changed after the run did: left as they are, with their backups.
    pub kept: Vec<Kept>,
}

impl Recovered {
    /// The one line said on stderr when a command rolled an interrupted run back.
    pub fn notice(&self) -> String {
        let mut text = format!(
            "rolled back fix run {} (interrupted before it finished; its writer is gone): {} file(s) restored to their backed-up bytes",
            self.run_id,
            self.restored.len().saturating_sub(self.kept.len())
        );
        if !self.kept.is_empty() {
            text.push_str(&format!(", except {}", Kept::describe(&self.kept)));
        }
        text
    }
}

/// Takes the lock and rolls back every interrupted run. Creates nothing when the doctor's folder
/// does not exist (no doctor ever wrote here, so nothing can be half-done).
pub fn recover_interrupted(
    project_dir: &Path,
    state_dir: &Path,
) -> Result<Vec<Recovered>, WriteError> {
    // lstat: a link standing there is not our folder (taking the lock refuses it).
    if fs::symlink_metadata(state_dir.join(DOCTOR_DIR)).is_err() {
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
    for mut run in runs::all(state_dir)
        .into_iter()
        .filter(|m| m.status == RunStatus::InProgress)
    {
        let run_dir = runs::run_dir(state_dir, &run.run_id);
        let done = restore(project_dir, state_dir, &run_dir, &run)?;
        // The killed writer's temp files next to its targets hold bytes that never landed.
        if let Some(pid) = run.pid.filter(|pid| *pid != std::process::id()) {
            for record in &run.files {
                if let Ok(path) = manifest_path(project_dir, &record.path) {
                    remove_temp_files_of(&path, pid);
                }
            }
        }
        run.status = RunStatus::RolledBack;
        write_manifest(state_dir, &run_dir, &run)?;
        remove_empty_dirs(&runs::quarantine_dir(state_dir, &run.run_id));
        recovered.push(Recovered {
            restored: run.files.iter().map(|f| f.path.clone()).collect(),
            undoes: run.undoes,
            run_id: run.run_id,
            kept: done.kept,
        });
    }
    sweep_doctor_dir(state_dir);
    Ok(recovered)
}

/// Removes the temp files writer `pid` left for `path` (whatever their random tags). Unlinking
/// removes a name, never what a link points at.
fn remove_temp_files_of(path: &Path, pid: u32) {
    let (Some(dir), Some(name)) = (path.parent(), path.file_name()) else {
        return;
    };
    let name = name.to_string_lossy();
    for entry in fs::read_dir(dir).into_iter().flatten().flatten() {
        let entry_name = entry.file_name().to_string_lossy().into_owned();
        if temp_parts(&entry_name) == Some((name.as_ref(), pid))
            && entry.file_type().is_ok_and(|t| !t.is_dir())
        {
            let _ = fs::remove_file(entry.path());
        }
    }
}

/// Removes temp files a killed writer left under `.instar/doctor/` (half-written backups and
/// manifests: the finished copies exist or were never needed) and run folders that never got a
/// manifest (killed before recording anything, hence before changing anything).
fn sweep_doctor_dir(state_dir: &Path) {
    let doctor = state_dir.join(DOCTOR_DIR);
    let quarantine = doctor.join("quarantine");
    // The quarantine holds temp files of ours that a run moved there on purpose (leftovers,
    // planted links): they are kept for `undo`, never swept. A linked folder is not walked into.
    let walk = walkdir::WalkDir::new(&doctor)
        .min_depth(1)
        .into_iter()
        .filter_entry(|e| e.path() != quarantine);
    for entry in walk.flatten() {
        let name = entry.file_name().to_string_lossy();
        if !entry.file_type().is_dir()
            && temp_parts(&name).is_some_and(|(_, pid)| pid != std::process::id())
        {
            let _ = fs::remove_file(entry.path());
        }
    }
    if let Ok(entries) = fs::read_dir(runs::runs_dir(state_dir)) {
        for entry in entries.flatten() {
            if entry.file_type().is_ok_and(|t| t.is_dir())
                && fs::symlink_metadata(entry.path().join("manifest.json")).is_err()
            {
                let _ = fs::remove_dir_all(entry.path());
            }
        }
    }
}

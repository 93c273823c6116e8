//! Everything that writes: the run lock, backups with a manifest, atomic writes, quarantine,
//! rollback and undo (design.md §4, §8). Checks and renderers never write; only this module does.
//!
//! A run's promise: every file it touches is copied under `.instar/doctor/runs/<run-id>/` and
//! named in a manifest marked `in-progress` before the first change, every write is a rename of
//! a fully written, fsynced temp file, and anything "deleted" is moved to
//! `.instar/doctor/quarantine/<run-id>/`. So at any instant each file is either its old or its
//! new version, a run killed at any step is rolled back by the next doctor, and `undo` can put
//! the old version back.
//!
//! - `confine`: which folders a run may write into (real ones, inside the project);
//! - `atomic`: the atomic write (temp files never follow or reuse a name) and chmod;
//! - `probe`: what stands at a path now, read without ever blocking;
//! - `lock`: the run lock;
//! - `manifest`: writing the run record (`crate::runs` reads it) and a new run's id;
//! - `transaction`: a run (backups, changes, commit, rollback);
//! - `saved`: the data a run saves into its quarantine, until it commits;
//! - `recover`: runs a killed doctor left in progress;
//! - `undo`: a committed run put back, as a run of its own;
//!
//! Crash injection for the tests (`src/failpoint.rs`) marks the steps here.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use crate::paths::DOCTOR_DIR;

mod atomic;
mod confine;
mod lock;
mod manifest;
mod probe;
mod recover;
mod saved;
mod transaction;
mod undo;

pub use atomic::{write_atomic, write_atomic_record};
pub use lock::{lock, RunLock};
pub use manifest::new_run_id;
pub use recover::{recover_interrupted, Recovered};
pub use transaction::{Kept, RolledBack, Transaction};
pub use undo::{undo, UndoOutcome};

pub(crate) use atomic::PRIVATE_FILE_MODE;

#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    #[error("another instar-doctor holds the lock {0}: wait for it to finish")]
    Locked(String),
    /// A step on a file failed: `fs_err`'s error, which names the step and the path
    /// (``failed to rename file from `…` to `…`: …``).
    #[error("{0}")]
    Fs(#[from] io::Error),
    /// The same, for a step `fs_err` does not wrap (an open whose errno decides a refusal, a
    /// lock, a read through `safe_read`), in `fs_err`'s words.
    #[error("failed to {step} `{}`: {source}", .path.display())]
    Io {
        step: &'static str,
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("{0} changed while the doctor was fixing it (another writer?): left as that writer made it; run the doctor again")]
    ChangedSinceDiagnosed(String),
    #[error("{0} is a symlink that leaves the project; the doctor does not write through it")]
    SymlinkLeavesProject(String),
    #[error("{0} is outside the project; the doctor writes only inside it")]
    OutsideProject(String),
    /// A folder on the way to something the run writes is a link or not a folder: the whole run
    /// is refused (design.md §4: never write through a symlink that leaves the project).
    #[error("{path} is {what}; the doctor writes only into real folders inside the project")]
    UnsafeDir { path: String, what: String },
    #[error("{0}")]
    Refused(String),
}

impl WriteError {
    /// Whether the disk (or the user's quota) is full.
    pub fn is_no_space(&self) -> bool {
        let (WriteError::Fs(source) | WriteError::Io { source, .. }) = self else {
            return false;
        };
        // The kind, not the errno: `fs_err` keeps the one, not the other.
        matches!(
            source.kind(),
            io::ErrorKind::StorageFull | io::ErrorKind::QuotaExceeded
        )
    }

    /// Whether only the change at hand is refused, the run going on with the others: the file
    /// itself is a link leaving the project, or lies outside it, or changed under us.
    pub fn refuses_one_file(&self) -> bool {
        matches!(
            self,
            WriteError::SymlinkLeavesProject(_)
                | WriteError::OutsideProject(_)
                | WriteError::ChangedSinceDiagnosed(_)
                | WriteError::Refused(_)
        )
    }
}

/// Names the step and the path of an error `fs_err` did not make (see `WriteError::Io`).
fn failed<'a>(step: &'static str, path: &'a Path) -> impl FnOnce(io::Error) -> WriteError + 'a {
    move |source| WriteError::Io {
        step,
        path: path.to_path_buf(),
        source,
    }
}

/// `.instar/doctor/`, private, with a `.gitignore` of `*` so nothing in it is ever committed
/// (backups and quarantine can hold key material). The user's own .gitignore is never touched.
/// Refused when `.instar/` or `.instar/doctor/` is a link or not a folder of ours.
pub fn doctor_dir(state_dir: &Path) -> Result<PathBuf, WriteError> {
    let dir = state_dir.join(DOCTOR_DIR);
    confine::own_dir(state_dir, &dir)?;
    let ignore = dir.join(".gitignore");
    // lstat: a link standing there is replaced by the rename, never followed.
    if !fs::symlink_metadata(&ignore).is_ok_and(|m| m.is_file()) {
        write_atomic(&ignore, b"*\n", PRIVATE_FILE_MODE)?;
    }
    Ok(dir)
}

/// Checks, reading only, every place a fix run of these files would write: the doctor's own
/// folders and lock where they already exist, and the folders the files `paths` live in. The
/// first that is a link or not a folder refuses the whole run, before the lock or anything else
/// is created. A file that is itself a link leaving the project is not refused here: only its
/// own fix fails.
pub fn preflight(
    project_dir: &Path,
    state_dir: &Path,
    paths: &[PathBuf],
) -> Result<(), WriteError> {
    check_own_places(project_dir, state_dir)?;
    for path in paths {
        match confine::resolve_target(project_dir, path) {
            Err(err) if !err.refuses_one_file() => return Err(err),
            _ => {}
        }
    }
    Ok(())
}

/// The doctor's own folders and lock, where they exist: real folders and a regular file, or the
/// run is refused before anything is created.
fn check_own_places(project_dir: &Path, state_dir: &Path) -> Result<(), WriteError> {
    let doctor = state_dir.join(DOCTOR_DIR);
    for dir in [
        state_dir.to_path_buf(),
        doctor.join("runs"),
        doctor.join("quarantine"),
    ] {
        confine::check_dir(project_dir, &dir)?;
    }
    let lock = doctor.join("lock");
    if let Ok(meta) = fs::symlink_metadata(&lock) {
        if !meta.is_file() {
            return Err(WriteError::UnsafeDir {
                path: engine_display(project_dir, &lock),
                what: "not a regular file (the doctor's lock must be one)".to_string(),
            });
        }
    }
    Ok(())
}

fn engine_display(project_dir: &Path, path: &Path) -> String {
    crate::paths::display_path(project_dir, path)
}

#[cfg(test)]
mod tests;

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
//! - `atomic`: private folders and the atomic write;
//! - `manifest`: the run record and its statuses;
//! - `transaction`: a run (backups, changes, commit, rollback);
//! - `recover`: runs a killed doctor left in progress;
//! - `undo`: a committed run put back, as a run of its own;
//! - `failpoint`: crash injection, compiled only into test builds.

use std::fs::{self, File, OpenOptions};
use std::io;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

mod atomic;
mod failpoint;
mod manifest;
mod recover;
mod transaction;
mod undo;

pub use atomic::{private_dir, write_atomic};
pub use failpoint::hit as failpoint;
pub use manifest::{
    is_undone, new_run_id, runs, FileRecord, FixRecord, Manifest, QuarantineRecord, RunStatus,
};
pub use recover::{interrupted_runs, recover_interrupted, Recovered};
pub use transaction::Transaction;
pub use undo::{undo, UndoOutcome};

use atomic::PRIVATE_FILE_MODE;

/// The doctor's own folder inside `.instar/`.
pub const DOCTOR_DIR: &str = "doctor";

#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    #[error("another instar-doctor holds the lock {0}: wait for it to finish")]
    Locked(String),
    #[error("{path}: {source}")]
    Io {
        path: String,
        #[source]
        source: io::Error,
    },
    #[error("{0} changed since it was diagnosed; run the doctor again")]
    ChangedSinceDiagnosed(String),
    #[error("{0} is a symlink that leaves the project; the doctor does not write through it")]
    SymlinkLeavesProject(String),
    #[error("{0}")]
    Refused(String),
}

fn io_err(path: &Path) -> impl FnOnce(io::Error) -> WriteError + '_ {
    move |source| WriteError::Io {
        path: path.display().to_string(),
        source,
    }
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// `.instar/doctor/`, private, with a `.gitignore` of `*` so nothing in it is ever committed
/// (backups and quarantine can hold key material). The user's own .gitignore is never touched.
pub fn doctor_dir(state_dir: &Path) -> Result<PathBuf, WriteError> {
    let dir = state_dir.join(DOCTOR_DIR);
    private_dir(&dir)?;
    let ignore = dir.join(".gitignore");
    if !ignore.exists() {
        write_atomic(&ignore, b"*\n", PRIVATE_FILE_MODE)?;
    }
    Ok(dir)
}

/// The advisory lock held by writers (`--fix`, `-i`, `undo`). Released when dropped or when the
/// process dies, so a crashed doctor never blocks the next one.
pub struct RunLock {
    _file: File,
}

pub fn lock(state_dir: &Path) -> Result<RunLock, WriteError> {
    let dir = doctor_dir(state_dir)?;
    let path = dir.join("lock");
    let file = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .mode(PRIVATE_FILE_MODE)
        .open(&path)
        .map_err(io_err(&path))?;
    // A lock file left 0644 by an older doctor, or narrowed by the umask, is made exactly 0600.
    file.set_permissions(fs::Permissions::from_mode(PRIVATE_FILE_MODE))
        .map_err(io_err(&path))?;
    match file.try_lock() {
        Ok(()) => Ok(RunLock { _file: file }),
        Err(fs::TryLockError::WouldBlock) => Err(WriteError::Locked(path.display().to_string())),
        Err(fs::TryLockError::Error(err)) => Err(io_err(&path)(err)),
    }
}

/// Whether instar itself appears to run for this agent: its lifeline holds
/// `state/lifeline.lock` (`{"pid": …}`) while alive. instar's writers ignore our lock, so fix runs
/// refuse while it runs.
pub fn instar_running(state_dir: &Path, host: &dyn crate::host::Host) -> Option<u32> {
    // Never a plain read: a FIFO planted at the lock's path would block the fix run forever.
    let (bytes, _) =
        crate::safe_read::read_regular(&state_dir.join("state/lifeline.lock"), 64 * 1024).ok()?;
    let value: serde_json::Value = serde_json::from_slice(&bytes).ok()?;
    let pid = value.get("pid")?.as_u64()? as u32;
    host.process_alive(pid).then_some(pid)
}

#[cfg(test)]
mod tests;

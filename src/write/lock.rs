//! The run lock, `.instar/doctor/lock`: an advisory lock on an open file, held by writers
//! (`--fix`, `-i`, `undo`) for their whole run and released by the kernel when the process dies,
//! so a crashed doctor never blocks the next one.
//!
//! The lock file is opened with `O_NOFOLLOW | O_NONBLOCK` and judged on its descriptor: a planted
//! symlink (dangling, pointing outside: a plain `open(O_CREAT)` would create its target) is
//! refused, and a FIFO, which a plain open would wait on forever, is refused too.

use std::fs::{self, OpenOptions};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::Path;

use super::atomic::PRIVATE_FILE_MODE;
use super::confine::own_dir;
use super::{doctor_dir, failed, WriteError};
use crate::paths::DOCTOR_DIR;

pub struct RunLock {
    _file: fs_err::File,
}

fn not_a_lock(path: &Path, what: &str) -> WriteError {
    WriteError::Refused(format!(
        "{} is {what}, not the doctor's lock file; nothing was changed (remove it and run again)",
        path.display()
    ))
}

/// Opens the lock file, creating it if need be. Never follows a link, never waits on a FIFO.
/// Opened by `std`, whose error keeps the errno that tells a link or a FIFO; then named for
/// `fs_err`. (Whether a lock is held is asked read-only by `crate::runs`.)
fn open_lock(path: &Path) -> Result<fs_err::File, WriteError> {
    let opened = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .mode(PRIVATE_FILE_MODE)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK | libc::O_CLOEXEC)
        .open(path);
    let file = match opened {
        Ok(file) => file,
        Err(err) if err.raw_os_error() == Some(libc::ELOOP) => {
            return Err(not_a_lock(path, "a symlink"))
        }
        // A FIFO opened for writing without a reader, or a socket.
        Err(err) if err.raw_os_error() == Some(libc::ENXIO) => {
            return Err(not_a_lock(path, "a FIFO or socket"))
        }
        Err(err) => return Err(failed("open file", path)(err)),
    };
    let file = fs_err::File::from_parts(file, path);
    let meta = file.metadata()?;
    if !meta.is_file() {
        let what = crate::safe_read::not_a_file(meta.file_type())
            .map_or("not a regular file", |w| w.describe());
        return Err(not_a_lock(path, what));
    }
    Ok(file)
}

/// Takes the run lock, creating the doctor's folder (checked: a real folder of ours) and the
/// lock file if need be. A refused lock creates nothing else: the folder's `.gitignore` is
/// written only once the lock is held.
pub fn lock(state_dir: &Path) -> Result<RunLock, WriteError> {
    let project = state_dir.parent().unwrap_or(Path::new("/"));
    super::check_own_places(project, state_dir)?;
    let dir = state_dir.join(DOCTOR_DIR);
    own_dir(state_dir, &dir)?;
    let path = crate::runs::lock_file(state_dir);
    let file = open_lock(&path)?;
    // A lock file left 0644 by an older doctor, or narrowed by the umask, is made exactly 0600.
    file.set_permissions(fs::Permissions::from_mode(PRIVATE_FILE_MODE))?;
    match file.try_lock() {
        Ok(()) => {
            doctor_dir(state_dir)?;
            Ok(RunLock { _file: file })
        }
        Err(fs::TryLockError::WouldBlock) => Err(WriteError::Locked(path.display().to_string())),
        Err(fs::TryLockError::Error(err)) => Err(failed("lock", &path)(err)),
    }
}

//! The two primitives every write is made of: a private folder and an atomic file write.

use std::fs::{self, DirBuilder, File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use super::failpoint;
use super::{io_err, WriteError};

pub(crate) const PRIVATE_DIR_MODE: u32 = 0o700;
pub(crate) const PRIVATE_FILE_MODE: u32 = 0o600;

/// Creates `dir` and every missing parent at 0700, whatever the umask, and sets `dir` itself to
/// 0700. `create_dir_all` would give the parents it creates the umask's mode (0755 for
/// `.instar/doctor/runs/` under the usual 022), and those folders hold backups of key files.
pub fn private_dir(dir: &Path) -> Result<(), WriteError> {
    if !dir.is_dir() {
        if let Some(parent) = dir.parent() {
            if !parent.as_os_str().is_empty() && !parent.exists() {
                private_dir(parent)?;
            }
        }
        match DirBuilder::new().mode(PRIVATE_DIR_MODE).create(dir) {
            Ok(()) => {}
            Err(err) if err.kind() == io::ErrorKind::AlreadyExists => {}
            Err(err) => return Err(io_err(dir)(err)),
        }
    }
    fs::set_permissions(dir, fs::Permissions::from_mode(PRIVATE_DIR_MODE)).map_err(io_err(dir))
}

/// The temp file a write of `path` by this process goes through: `.<name>.instar-doctor.<pid>.tmp`
/// in the same folder, so the rename is atomic.
pub fn temp_path(path: &Path, pid: u32) -> PathBuf {
    let dir = path.parent().unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    dir.join(format!(".{name}.instar-doctor.{pid}.tmp"))
}

/// The writer's pid when `name` is one of our temp file names.
pub fn temp_writer(name: &str) -> Option<u32> {
    let rest = name.strip_prefix('.')?.strip_suffix(".tmp")?;
    let (_, pid) = rest.rsplit_once(".instar-doctor.")?;
    pid.parse().ok()
}

/// Writes `bytes` to `path` atomically: a temp file in the same folder with exactly `mode`,
/// fsync, rename over the target, fsync the folder. At every instant `path` holds its old or its
/// new bytes, never a mix.
pub fn write_atomic(path: &Path, bytes: &[u8], mode: u32) -> Result<(), WriteError> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let temp = temp_path(path, std::process::id());
    let result = (|| {
        let mut file = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(mode)
            .open(&temp)
            .map_err(io_err(&temp))?;
        // The umask may have narrowed the creation mode: set it exactly.
        file.set_permissions(fs::Permissions::from_mode(mode))
            .map_err(io_err(&temp))?;
        file.write_all(bytes).map_err(io_err(&temp))?;
        file.sync_all().map_err(io_err(&temp))?;
        failpoint::hit("temp-written");
        fs::rename(&temp, path).map_err(io_err(path))?;
        sync_dir(dir)?;
        failpoint::hit("renamed");
        Ok(())
    })();
    if result.is_err() {
        let _ = fs::remove_file(&temp);
    }
    result
}

pub fn sync_dir(dir: &Path) -> Result<(), WriteError> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(io_err(dir))
}

/// Removes `dir` and its sub-folders when they hold no file; never removes a file.
pub fn remove_empty_dirs(dir: &Path) {
    if let Ok(entries) = fs::read_dir(dir) {
        for entry in entries.flatten() {
            if entry.file_type().is_ok_and(|t| t.is_dir()) {
                remove_empty_dirs(&entry.path());
            }
        }
    }
    let _ = fs::remove_dir(dir);
}

//! The atomic file write, and the few other primitives that change a file in place.
//!
//! Every file we create is created with `O_CREAT | O_EXCL | O_NOFOLLOW`: a name already taken —
//! by a file, a FIFO or a symlink a cloned tree planted under our temp-file name — is never
//! opened, followed or truncated; the write retries under a fresh random name.

use std::collections::hash_map::RandomState;
use std::fs::{self, OpenOptions};
use std::hash::{BuildHasher, Hasher};
use std::io::{self, Write};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use super::{failed, WriteError};
use crate::failpoint;

pub(crate) const PRIVATE_FILE_MODE: u32 = 0o600;

/// Names tried for one write before giving up: a tree can plant many names, not all of 2^64.
const TEMP_ATTEMPTS: usize = 16;

/// The temp file a write of `path` by this process goes through first:
/// `.<name>.instar-doctor.<pid>.tmp` in the same folder, so the rename is atomic.
pub fn temp_path(path: &Path, pid: u32) -> PathBuf {
    temp_named(path, &pid.to_string())
}

/// The name tried when the first is taken: the pid and a random tag, unknowable in advance.
fn random_temp_path(path: &Path, pid: u32) -> PathBuf {
    temp_named(path, &format!("{pid}.{:016x}", random_tag()))
}

fn temp_named(path: &Path, tag: &str) -> PathBuf {
    let dir = path.parent().unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    dir.join(format!(".{name}.instar-doctor.{tag}.tmp"))
}

/// 64 unpredictable bits without a dependency: std's `RandomState` is seeded from the OS's
/// random source once per process; a counter and the clock make each call differ.
fn random_tag() -> u64 {
    static CALLS: AtomicU64 = AtomicU64::new(0);
    let mut hasher = RandomState::new().build_hasher();
    hasher.write_u64(CALLS.fetch_add(1, Ordering::Relaxed));
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    hasher.write_u128(nanos);
    hasher.finish()
}

/// The name of the file a temp file of ours is for, and the writer's pid, when `name` is one of
/// our temp file names (`.<target>.instar-doctor.<pid>[.<tag>].tmp`).
pub fn temp_parts(name: &str) -> Option<(&str, u32)> {
    let rest = name.strip_prefix('.')?.strip_suffix(".tmp")?;
    let (target, tag) = rest.rsplit_once(".instar-doctor.")?;
    let pid = tag.split_once('.').map_or(tag, |(pid, _)| pid);
    Some((target, pid.parse().ok()?))
}

/// Creates a fresh temp file for `path` with exactly `mode`; never opens an existing name.
/// Opened by `std`, whose error keeps the errno that tells a planted link; then named for
/// `fs_err`.
fn create_temp(path: &Path, mode: u32) -> Result<(fs_err::File, PathBuf), WriteError> {
    let pid = std::process::id();
    for attempt in 0..TEMP_ATTEMPTS {
        let temp = if attempt == 0 {
            temp_path(path, pid)
        } else {
            random_temp_path(path, pid)
        };
        let opened = OpenOptions::new()
            .write(true)
            // O_CREAT | O_EXCL: fails on any existing name, dangling symlinks included.
            .create_new(true)
            .mode(mode)
            .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
            .open(&temp);
        match opened {
            Ok(file) => return Ok((fs_err::File::from_parts(file, &temp), temp)),
            Err(err)
                if err.kind() == io::ErrorKind::AlreadyExists
                    || err.raw_os_error() == Some(libc::ELOOP) => {}
            Err(err) => return Err(failed("create file", &temp)(err)),
        }
    }
    Err(WriteError::Refused(format!(
        "{}: {TEMP_ATTEMPTS} temp file names in a row were taken; not writing",
        path.display()
    )))
}

/// Writes `bytes` to `path` atomically: a temp file in the same folder with exactly `mode`,
/// fsync, rename over the target, fsync the folder. At every instant `path` holds its old or its
/// new bytes, never a mix.
pub fn write_atomic(path: &Path, bytes: &[u8], mode: u32) -> Result<(), WriteError> {
    write_atomic_if(path, bytes, mode, || Ok(()))
}

/// `write_atomic` of what `body` writes, as it writes it (through a buffer): a file the doctor
/// composes (100,000 quarantined jobs) is never held whole in memory on its way to the disk.
pub fn write_atomic_streamed(
    path: &Path,
    mode: u32,
    body: impl FnOnce(&mut dyn Write) -> io::Result<()>,
) -> Result<(), WriteError> {
    write_atomic_streamed_if(path, mode, body, || Ok(()))
}

/// `write_atomic_streamed`, with `still_ok` asked once `body` has written everything, right
/// before the rename: a backup streamed from a file lands only if it is the file expected.
pub fn write_atomic_streamed_if(
    path: &Path,
    mode: u32,
    body: impl FnOnce(&mut dyn Write) -> io::Result<()>,
    still_ok: impl FnOnce() -> Result<(), WriteError>,
) -> Result<(), WriteError> {
    replace(
        path,
        |file| {
            let mut out = io::BufWriter::new(file);
            body(&mut out)?;
            out.flush()
        },
        mode,
        still_ok,
        Durability::Durable,
    )
}

/// `write_atomic`, with `still_ok` asked right before the rename (the compare of a
/// compare-and-swap): when it refuses, the temp file goes and the target is left as it is.
pub fn write_atomic_if(
    path: &Path,
    bytes: &[u8],
    mode: u32,
    still_ok: impl FnOnce() -> Result<(), WriteError>,
) -> Result<(), WriteError> {
    replace(
        path,
        |file| file.write_all(bytes),
        mode,
        still_ok,
        Durability::Durable,
    )
}

/// Writes a record the doctor keeps for itself (the preflight's `preflight.json`): atomic like
/// `write_atomic` — old or new bytes, never a mix, even across a power cut — but not made
/// durable: a power cut right after may leave the previous record. The data is ordered before
/// the rename (a write barrier on macOS, `fdatasync` elsewhere) and the folder is not synced,
/// which is most of a durable write's cost; never use it for a user's file.
pub fn write_atomic_record(path: &Path, bytes: &[u8], mode: u32) -> Result<(), WriteError> {
    replace(
        path,
        |file| file.write_all(bytes),
        mode,
        || Ok(()),
        Durability::Ordered,
    )
}

/// How far a replacement must have reached the disk when the write returns.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Durability {
    /// Data and the rename are on disk (fsync of the file and of its folder).
    Durable,
    /// The data reaches the disk before the rename does; the rename itself may be lost.
    Ordered,
}

fn replace(
    path: &Path,
    body: impl FnOnce(&mut fs_err::File) -> io::Result<()>,
    mode: u32,
    still_ok: impl FnOnce() -> Result<(), WriteError>,
    durability: Durability,
) -> Result<(), WriteError> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let (mut file, temp) = create_temp(path, mode)?;
    let result = (|| {
        // The umask may have narrowed the creation mode: set it exactly.
        file.set_permissions(fs::Permissions::from_mode(mode))?;
        failpoint::space().map_err(failed("write to file", &temp))?;
        // Its writes go through `fs_err::File`: an error names the temp file.
        body(&mut file)?;
        match durability {
            Durability::Durable => file.sync_all()?,
            Durability::Ordered => order_data(file.file()).map_err(failed("sync file", &temp))?,
        }
        failpoint::hit("temp-written");
        still_ok()?;
        fs_err::rename(&temp, path)?;
        if durability == Durability::Durable {
            sync_dir(dir)?;
        }
        failpoint::hit("renamed");
        Ok(())
    })();
    if result.is_err() {
        // Only the name we created: never one that was there before us.
        let _ = fs::remove_file(&temp);
    }
    result
}

/// Makes `file`'s data reach the disk before anything written after it: macOS's
/// `F_BARRIERFSYNC` (Rust's `sync_data` there is a full `F_FULLFSYNC` cache flush, far slower),
/// `fdatasync` elsewhere.
fn order_data(file: &fs::File) -> std::io::Result<()> {
    #[cfg(target_vendor = "apple")]
    {
        use std::os::fd::AsRawFd;
        // SAFETY: a plain fcntl on a descriptor this function borrows for the call.
        if unsafe { libc::fcntl(file.as_raw_fd(), libc::F_BARRIERFSYNC) } == 0 {
            return Ok(());
        }
        // Not every file system takes the barrier: fall back to the full sync.
    }
    file.sync_data()
}

pub fn sync_dir(dir: &Path) -> Result<(), WriteError> {
    use fs_err::os::unix::fs::OpenOptionsExt;
    fs_err::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_DIRECTORY | libc::O_CLOEXEC)
        .open(dir)?
        .sync_all()?;
    Ok(())
}

/// Sets the permission bits of the regular file at `path`, never through a symlink and never on
/// anything but a regular file (`chmod` follows links; this works on the opened file).
pub fn set_mode_nofollow(path: &Path, mode: u32) -> Result<(), WriteError> {
    let opened = OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK | libc::O_CLOEXEC)
        .open(path);
    let not_a_file = || WriteError::Refused(format!("{} is not a regular file", path.display()));
    match opened {
        Ok(file) => {
            let file = fs_err::File::from_parts(file, path);
            if !file.metadata()?.is_file() {
                return Err(not_a_file());
            }
            Ok(file.set_permissions(fs::Permissions::from_mode(mode))?)
        }
        // A file we may not read (0000, not root) can still be ours to chmod: lstat says what it is.
        Err(err) if err.kind() == io::ErrorKind::PermissionDenied => {
            let meta = fs_err::symlink_metadata(path)?;
            if !meta.file_type().is_file() {
                return Err(not_a_file());
            }
            Ok(fs_err::set_permissions(
                path,
                fs::Permissions::from_mode(mode),
            )?)
        }
        Err(err) if err.raw_os_error() == Some(libc::ELOOP) => Err(not_a_file()),
        Err(err) => Err(failed("open file", path)(err)),
    }
}

/// Removes `dir` and its sub-folders when they hold no file; never removes a file, and never
/// walks through a link (not even one standing at `dir`).
pub fn remove_empty_dirs(dir: &Path) {
    // Deepest first: a folder is tried once the folders in it are gone.
    let walk = walkdir::WalkDir::new(dir)
        .contents_first(true)
        .follow_root_links(false);
    for entry in walk.into_iter().flatten() {
        if entry.file_type().is_dir() {
            let _ = fs::remove_dir(entry.path());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::symlink;

    #[test]
    fn temp_names_parse_with_and_without_a_tag() {
        assert_eq!(
            temp_parts(".jobs.json.instar-doctor.42.tmp"),
            Some(("jobs.json", 42))
        );
        assert_eq!(
            temp_parts(".jobs.json.instar-doctor.42.00ff00ff00ff00ff.tmp"),
            Some(("jobs.json", 42))
        );
        assert_eq!(temp_parts("jobs.json.42.abc.tmp"), None);
        let random = random_temp_path(Path::new("/x/jobs.json"), 7);
        let name = random.file_name().unwrap().to_str().unwrap();
        assert_eq!(temp_parts(name), Some(("jobs.json", 7)));
        assert_ne!(random, random_temp_path(Path::new("/x/jobs.json"), 7));
    }

    /// A symlink planted under our temp name (pointing outside) is neither followed nor removed:
    /// the write goes through a fresh random name.
    #[test]
    fn a_planted_temp_name_is_never_opened() {
        let dir = tempfile::tempdir().unwrap();
        let outside = tempfile::tempdir().unwrap();
        let sentinel = outside.path().join("sentinel");
        fs::write(&sentinel, b"keep").unwrap();
        let target = dir.path().join("jobs.json");
        let planted = temp_path(&target, std::process::id());
        symlink(&sentinel, &planted).unwrap();
        write_atomic(&target, b"[]", 0o644).unwrap();
        assert_eq!(fs::read(&sentinel).unwrap(), b"keep");
        assert!(fs::symlink_metadata(&target).unwrap().is_file());
        assert_eq!(fs::read(&target).unwrap(), b"[]");
        assert!(fs::symlink_metadata(&planted)
            .unwrap()
            .file_type()
            .is_symlink());
    }

    /// Empty folders go, files and their folders stay, and a link standing at the top is not
    /// walked through (it used to be: the empty folders it led to were removed).
    #[test]
    fn empty_folders_are_removed_never_through_a_link() {
        let dir = tempfile::tempdir().unwrap();
        let top = dir.path().join("q");
        fs::create_dir_all(top.join("a/b")).unwrap();
        fs::create_dir_all(top.join("kept")).unwrap();
        fs::write(top.join("kept/file"), b"x").unwrap();
        remove_empty_dirs(&top);
        assert!(!top.join("a").exists());
        assert!(top.join("kept/file").exists());

        let outside = tempfile::tempdir().unwrap();
        fs::create_dir(outside.path().join("empty")).unwrap();
        let link = dir.path().join("link");
        symlink(outside.path(), &link).unwrap();
        remove_empty_dirs(&link);
        assert!(outside.path().join("empty").is_dir());
        assert!(fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink());
    }

    #[test]
    fn chmod_never_follows_a_link() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("f");
        fs::write(&file, b"x").unwrap();
        fs::set_permissions(&file, fs::Permissions::from_mode(0o644)).unwrap();
        symlink(&file, dir.path().join("link")).unwrap();
        assert!(set_mode_nofollow(&dir.path().join("link"), 0o600).is_err());
        assert_eq!(
            fs::metadata(&file).unwrap().permissions().mode() & 0o777,
            0o644
        );
        set_mode_nofollow(&file, 0o600).unwrap();
        assert_eq!(
            fs::metadata(&file).unwrap().permissions().mode() & 0o777,
            0o600
        );
    }
}

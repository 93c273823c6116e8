//! instar's own locks on the per-user files, taken the way instar takes them so that its writers
//! and the doctor's never interleave (spec/hazards.md #9, #20–#22):
//!
//! - `registry.json.lock`, proper-lockfile's lock of `registry.json`: a folder created with
//!   `mkdir` (atomic), stale once its mtime is more than 10 s old;
//! - `host-spawn-holders.json.lock`, hostSpawnSemaphore's lock: a file created with
//!   `O_CREAT|O_EXCL` holding `{pid, at}`, reclaimed by instar only when that pid is dead.
//!
//! Both are held only around one pass's writes (milliseconds), never across a prompt: instar's
//! synchronous registry writer retries for about 3 s (100 ms doubling, five times) and then
//! force-removes the lock whatever its age (`withLockSync`, v1.3.1186), so a lock held longer
//! would be broken under the doctor rather than respected. Each hold is therefore checked
//! again after the writes (`intact`): a lock that vanished or changed identity means another
//! process may have written too, and the pass is rolled back.

use std::fs;
use std::io::{self, Write};
use std::os::unix::fs::MetadataExt;

use fs_err::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

/// proper-lockfile's `stale` option in AgentRegistry.
pub const STALE: Duration = Duration::from_secs(10);

/// How long a lock held by a live instar writer is waited for: its critical section is a read
/// and an atomic write, far shorter.
const WAIT: Duration = Duration::from_secs(2);

pub const REGISTRY_LOCK: &str = "registry.json.lock";
pub const HOLDERS_LOCK: &str = "host-spawn-holders.json.lock";

#[derive(Debug, thiserror::Error)]
pub enum LockError {
    #[error("{path} is held by a running instar process (refreshed {age} s ago); nothing was changed, run again when it is done")]
    Busy { path: String, age: u64 },
    #[error("{path} is a {what}, not instar's lock; nothing was changed")]
    Strange { path: String, what: &'static str },
    #[error("{path}: the stale lock was moved here but is not empty, so it was kept ({source})")]
    KeptAside { path: String, source: io::Error },
    /// An I/O error that names its step and path (fs-err).
    #[error("{0}")]
    Io(#[from] io::Error),
}

/// A lock the doctor created; released (removed) on drop if it is still the one created.
#[derive(Debug)]
pub struct Held {
    path: PathBuf,
    identity: Identity,
    is_dir: bool,
}

/// What tells one lock from another standing at the same path: its device and inode, and its
/// birth time where the file system keeps one. A lock removed and made again may get the inode
/// just freed; its birth time is still its own (at the clock's resolution).
type Identity = (u64, u64, Option<SystemTime>);

fn identity(meta: &fs::Metadata) -> Identity {
    (meta.dev(), meta.ino(), meta.created().ok())
}

impl Held {
    /// Whether the lock is still the one this process created (nobody removed or replaced it).
    pub fn intact(&self) -> bool {
        fs::symlink_metadata(&self.path).is_ok_and(|m| identity(&m) == self.identity)
    }
}

impl Drop for Held {
    fn drop(&mut self) {
        if self.intact() {
            let _ = if self.is_dir {
                fs::remove_dir(&self.path)
            } else {
                fs::remove_file(&self.path)
            };
        }
    }
}

/// How long ago a path's mtime was, by the real clock (a future mtime counts as fresh).
fn age(meta: &fs::Metadata) -> Duration {
    meta.modified()
        .ok()
        .and_then(|m| SystemTime::now().duration_since(m).ok())
        .unwrap_or(Duration::ZERO)
}

/// Whether `registry.json.lock` under `home` stands there and is stale now.
pub fn registry_lock_stale(home: &Path) -> bool {
    fs::symlink_metadata(home.join(REGISTRY_LOCK)).is_ok_and(|m| m.is_dir() && age(&m) > STALE)
}

/// Removes a stale `registry.json.lock`, re-checked at this instant (the Safe fix of #22).
/// Returns whether one was removed. The folder is first renamed aside, atomically, and judged
/// again there: had a live process replaced the stale lock between the look and the rename, the
/// folder moved is fresh and is put back. proper-lockfile lock folders are empty; one that is
/// not is left aside, not deleted, and named in the error.
pub fn remove_stale_registry_lock(home: &Path) -> Result<bool, LockError> {
    let lock = home.join(REGISTRY_LOCK);
    let Ok(meta) = fs::symlink_metadata(&lock) else {
        return Ok(false);
    };
    if !meta.is_dir() {
        return Err(LockError::Strange {
            path: lock.display().to_string(),
            what: "file or link",
        });
    }
    if age(&meta) <= STALE {
        return Err(LockError::Busy {
            path: lock.display().to_string(),
            age: age(&meta).as_secs(),
        });
    }
    let aside = home.join(format!("{REGISTRY_LOCK}.stale-{}", std::process::id()));
    match fs_err::rename(&lock, &aside) {
        Ok(()) => {}
        Err(err) if err.kind() == io::ErrorKind::NotFound => return Ok(false),
        Err(err) => return Err(err.into()),
    }
    let moved = fs_err::symlink_metadata(&aside)?;
    if age(&moved) <= STALE {
        // A live holder's lock: give it back (mkdir-style: only if the name is still free).
        let _ = fs::rename(&aside, &lock);
        return Err(LockError::Busy {
            path: lock.display().to_string(),
            age: age(&moved).as_secs(),
        });
    }
    fs::remove_dir(&aside).map_err(|source| LockError::KeptAside {
        path: aside.display().to_string(),
        source,
    })?;
    Ok(true)
}

/// Takes `registry.json.lock` as proper-lockfile does: `mkdir`; a stale one is removed first;
/// a fresh one is waited for briefly, then refused.
pub fn lock_registry(home: &Path) -> Result<Held, LockError> {
    let lock = home.join(REGISTRY_LOCK);
    let started = std::time::Instant::now();
    loop {
        match fs_err::create_dir(&lock) {
            Ok(()) => {
                let meta = fs_err::symlink_metadata(&lock)?;
                return Ok(Held {
                    path: lock,
                    identity: identity(&meta),
                    is_dir: true,
                });
            }
            Err(err) if err.kind() == io::ErrorKind::AlreadyExists => {
                match remove_stale_registry_lock(home) {
                    Ok(_) => continue,
                    Err(LockError::Busy { .. }) if started.elapsed() < WAIT => {
                        std::thread::sleep(Duration::from_millis(50));
                    }
                    Err(other) => return Err(other),
                }
            }
            Err(err) => return Err(err.into()),
        }
    }
}

/// A `host-spawn-holders.json.lock` whose owner can no longer release it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Abandoned {
    /// It records this pid, which is not alive on this host.
    DeadOwner(u32),
    /// A file that records no pid instar can read (cut short, or written by something else).
    NoOwner,
    /// Not a regular file (a folder, a link, a FIFO): instar's reclaim cannot remove it either.
    NotAFile,
}

/// The spawn lock, when it stands and its owner cannot release it. instar reclaims a lock whose
/// pid is dead or unreadable at its next spawn; the doctor never takes it over, so a fix of the
/// holders file waits until then. `None` when there is no lock or its pid is alive (a live
/// writer is waited for, as instar does).
pub fn abandoned_holders_lock(home: &Path, alive: impl Fn(u32) -> bool) -> Option<Abandoned> {
    let meta = fs::symlink_metadata(home.join(HOLDERS_LOCK)).ok()?;
    // Only a regular file is read: a FIFO would block the read; a link is not followed.
    if !meta.is_file() {
        return Some(Abandoned::NotAFile);
    }
    // `{"pid":N,"at":T}` as instar writes it: a few dozen bytes. Anything much larger was not
    // written by instar and names no owner; it is not read.
    let body = if meta.len() <= 4096 {
        fs::read(home.join(HOLDERS_LOCK)).unwrap_or_default()
    } else {
        Vec::new()
    };
    let pid = serde_json::from_slice::<serde_json::Value>(&body)
        .ok()
        .and_then(|v| v.get("pid")?.as_u64())
        .and_then(|pid| u32::try_from(pid).ok())
        .filter(|&pid| pid > 0);
    match pid {
        Some(pid) if alive(pid) => None,
        Some(pid) => Some(Abandoned::DeadOwner(pid)),
        None => Some(Abandoned::NoOwner),
    }
}

/// Takes `host-spawn-holders.json.lock` as hostSpawnSemaphore does (`O_CREAT|O_EXCL`, our pid
/// inside, which stays alive while held). One left by a dead process is not reclaimed here:
/// that is instar's call; the holder fix then waits for another run.
pub fn lock_holders(home: &Path, now_ms: u64) -> Result<Held, LockError> {
    let lock = home.join(HOLDERS_LOCK);
    let started = std::time::Instant::now();
    loop {
        let opened = fs_err::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
            .open(&lock);
        match opened {
            Ok(mut file) => {
                let body = format!(r#"{{"pid":{},"at":{now_ms}}}"#, std::process::id());
                file.write_all(body.as_bytes())?;
                let meta = file.metadata()?;
                return Ok(Held {
                    path: lock,
                    identity: identity(&meta),
                    is_dir: false,
                });
            }
            Err(err) if err.kind() == io::ErrorKind::AlreadyExists => {
                let held_for = fs::symlink_metadata(&lock)
                    .map(|m| age(&m))
                    .unwrap_or_default();
                if started.elapsed() >= WAIT {
                    return Err(LockError::Busy {
                        path: lock.display().to_string(),
                        age: held_for.as_secs(),
                    });
                }
                std::thread::sleep(Duration::from_millis(50));
            }
            Err(err) => return Err(err.into()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn make_old(path: &Path) {
        let old = SystemTime::now() - Duration::from_secs(60);
        fs::File::open(path).unwrap().set_modified(old).unwrap();
    }

    #[test]
    fn an_abandoned_spawn_lock_is_told_apart_from_a_live_one() {
        let tmp = tempfile::tempdir().unwrap();
        let home = tmp.path();
        let lock = home.join(HOLDERS_LOCK);
        let alive = |pid: u32| pid == 42;
        assert_eq!(abandoned_holders_lock(home, alive), None, "no lock");
        fs::write(&lock, r#"{"pid":42,"at":1}"#).unwrap();
        assert_eq!(abandoned_holders_lock(home, alive), None, "a live owner");
        fs::write(&lock, r#"{"pid":43,"at":1}"#).unwrap();
        assert_eq!(
            abandoned_holders_lock(home, alive),
            Some(Abandoned::DeadOwner(43))
        );
        for body in [
            "",
            "{\"pid\":",
            r#"{"pid":"42"}"#,
            r#"{"pid":0}"#,
            r#"{"pid":-5}"#,
        ] {
            fs::write(&lock, body).unwrap();
            assert_eq!(
                abandoned_holders_lock(home, alive),
                Some(Abandoned::NoOwner),
                "{body:?}"
            );
        }
        fs::write(
            &lock,
            format!(r#"{{"pid":43,"pad":"{}"}}"#, "x".repeat(5000)),
        )
        .unwrap();
        assert_eq!(
            abandoned_holders_lock(home, alive),
            Some(Abandoned::NoOwner),
            "a large file is not read, and is a file all the same"
        );
        fs::remove_file(&lock).unwrap();
        fs::create_dir(&lock).unwrap();
        assert_eq!(
            abandoned_holders_lock(home, alive),
            Some(Abandoned::NotAFile)
        );
        fs::remove_dir(&lock).unwrap();
        // A FIFO is never opened (opening one would block).
        let c = std::ffi::CString::new(lock.as_os_str().as_encoded_bytes()).unwrap();
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
        assert_eq!(
            abandoned_holders_lock(home, alive),
            Some(Abandoned::NotAFile)
        );
    }

    #[test]
    fn the_registry_lock_is_a_folder_removed_on_release() {
        let tmp = tempfile::tempdir().unwrap();
        let held = lock_registry(tmp.path()).unwrap();
        assert!(tmp.path().join(REGISTRY_LOCK).is_dir());
        assert!(held.intact());
        drop(held);
        assert!(!tmp.path().join(REGISTRY_LOCK).exists());
    }

    #[test]
    fn a_fresh_registry_lock_refuses_and_a_stale_one_is_taken_over() {
        let tmp = tempfile::tempdir().unwrap();
        let lock = tmp.path().join(REGISTRY_LOCK);
        fs::create_dir(&lock).unwrap();
        assert!(matches!(
            lock_registry(tmp.path()),
            Err(LockError::Busy { .. })
        ));
        assert!(lock.is_dir(), "a live holder's lock is never removed");
        make_old(&lock);
        assert!(registry_lock_stale(tmp.path()));
        let held = lock_registry(tmp.path()).unwrap();
        assert!(held.intact() && !registry_lock_stale(tmp.path()));
    }

    #[test]
    fn a_replaced_lock_is_not_intact_and_not_removed() {
        let tmp = tempfile::tempdir().unwrap();
        let held = lock_registry(tmp.path()).unwrap();
        let lock = tmp.path().join(REGISTRY_LOCK);
        // instar force-removed ours and took its own. Its folder is made before ours goes, so
        // it cannot be given the inode ours frees (a test that made it after failed now and
        // then, when the file system handed that inode out again).
        let theirs = tmp.path().join("theirs");
        fs::create_dir(&theirs).unwrap();
        fs::remove_dir(&lock).unwrap();
        fs::rename(&theirs, &lock).unwrap();
        assert!(!held.intact());
        drop(held);
        assert!(lock.is_dir(), "someone else's lock stays");
    }

    #[test]
    fn a_non_empty_stale_lock_is_kept_aside() {
        let tmp = tempfile::tempdir().unwrap();
        let lock = tmp.path().join(REGISTRY_LOCK);
        fs::create_dir(&lock).unwrap();
        fs::write(lock.join("note"), "x").unwrap();
        make_old(&lock);
        assert!(remove_stale_registry_lock(tmp.path()).is_err());
        assert!(!lock.exists());
        assert!(fs::read_dir(tmp.path()).unwrap().any(|e| e
            .unwrap()
            .file_name()
            .to_string_lossy()
            .contains(".stale-")));
    }

    /// A lock that cannot be taken says which step failed on which path.
    #[test]
    fn a_lock_that_cannot_be_taken_names_its_path() {
        let tmp = tempfile::tempdir().unwrap();
        let home = tmp.path().join("no-such-home");
        let err = lock_registry(&home).unwrap_err().to_string();
        assert!(err.contains("failed to create directory"), "{err}");
        assert!(
            err.contains(&home.join(REGISTRY_LOCK).display().to_string()),
            "{err}"
        );
        let err = lock_holders(&home, 1).unwrap_err().to_string();
        assert!(
            err.contains(&home.join(HOLDERS_LOCK).display().to_string()),
            "{err}"
        );
    }

    #[test]
    fn the_holders_lock_is_exclusive() {
        let tmp = tempfile::tempdir().unwrap();
        let held = lock_holders(tmp.path(), 1).unwrap();
        let text = fs::read_to_string(tmp.path().join(HOLDERS_LOCK)).unwrap();
        assert!(text.contains(&format!("\"pid\":{}", std::process::id())));
        assert!(matches!(
            lock_holders(tmp.path(), 2),
            Err(LockError::Busy { .. })
        ));
        drop(held);
        assert!(!tmp.path().join(HOLDERS_LOCK).exists());
    }
}

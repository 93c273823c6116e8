//! Everything the doctor asks the machine rather than the agent's files: is a process alive,
//! which OS and version, the host name, our uid, the home folder, PATH lookups, environment
//! variables and the `--deep` probes.
//!
//! One trait, so that tests can fill in a fake host (macOS on a Linux CI runner, a process that
//! is alive but owned by another user, a PATH without node) without touching the real machine.
//! Most instar agents run on macOS under launchd: nothing here may assume Linux (`/proc`, Linux
//! errno numbers). Liveness is `kill(pid, 0)` and errno values come from libc.

use std::collections::{BTreeMap, BTreeSet};
use std::ffi::{OsStr, OsString};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

/// The operating system whose platform rules apply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HostOs {
    MacOs,
    Linux,
    Other,
}

impl HostOs {
    /// The OS this binary was built for.
    pub fn current() -> Self {
        if cfg!(target_os = "macos") {
            HostOs::MacOs
        } else if cfg!(target_os = "linux") {
            HostOs::Linux
        } else {
            HostOs::Other
        }
    }
}

/// What the machine answers. Every method is cheap except `run`, which spawns (only `--deep`
/// checks call it).
pub trait Host: Send + Sync {
    fn os(&self) -> HostOs;
    /// The kernel release (`uname -r`'s answer), e.g. `23.4.0` on macOS 14.
    fn os_version(&self) -> Option<String>;
    fn hostname(&self) -> Option<String>;
    /// The doctor's effective uid.
    fn uid(&self) -> u32;
    fn home_dir(&self) -> Option<PathBuf>;
    fn env_var(&self, name: &str) -> Option<OsString>;
    /// Whether a process with this pid exists, as `kill(pid, 0)` tells: it succeeds, or it
    /// fails with EPERM (the process exists but belongs to another user).
    fn process_alive(&self, pid: u32) -> bool;
    /// The first executable regular file named `program` on PATH, as a shell finds it.
    fn find_on_path(&self, program: &str) -> Option<PathBuf>;
    /// Runs a probe with stdin closed; `None` when the program cannot be started.
    fn run(&self, program: &str, args: &[&OsStr]) -> Option<Output>;
    /// Whether `path` (symlinks followed) carries the extended attribute `name`, such as
    /// macOS's `com.apple.quarantine`. A metadata read only: the value is never fetched.
    fn has_xattr(&self, path: &Path, name: &str) -> bool;
    /// Whether `path` lies on a local file system, as `statfs` tells (macOS: `MNT_LOCAL`; Linux:
    /// the file system's type is not a network one). `None` when it cannot be asked. A lock on
    /// a shared file system may belong to a live process of another host, so a foreign lock
    /// there is never judged from here.
    fn local_filesystem(&self, path: &Path) -> Option<bool>;

    /// The per-user instar folder (registry.json, agents/): `~/.instar` unless `--instar-home`
    /// says otherwise (that override lives in `Context`, which asks here only for the default).
    fn instar_home(&self) -> Option<PathBuf> {
        self.home_dir().map(|home| home.join(".instar"))
    }

    /// launchd's per-user job folder on macOS: `~/Library/LaunchAgents`.
    fn launch_agents_dir(&self) -> Option<PathBuf> {
        self.home_dir()
            .map(|home| home.join("Library/LaunchAgents"))
    }
}

/// The real machine.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemHost;

impl Host for SystemHost {
    fn os(&self) -> HostOs {
        HostOs::current()
    }

    fn os_version(&self) -> Option<String> {
        uname_field(|u| &u.release)
    }

    fn hostname(&self) -> Option<String> {
        let mut buf = [0u8; 256];
        // SAFETY: the buffer is valid for its length; gethostname NUL-terminates on success
        // (POSIX leaves truncation unspecified, so the last byte is forced to NUL below).
        let rc = unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len() - 1) };
        if rc != 0 {
            return None;
        }
        let end = buf.iter().position(|&b| b == 0).unwrap_or(buf.len() - 1);
        Some(String::from_utf8_lossy(&buf[..end]).into_owned())
    }

    fn uid(&self) -> u32 {
        // SAFETY: geteuid has no preconditions and cannot fail.
        unsafe { libc::geteuid() }
    }

    fn home_dir(&self) -> Option<PathBuf> {
        std::env::var_os("HOME")
            .filter(|home| !home.is_empty())
            .map(PathBuf::from)
    }

    fn env_var(&self, name: &str) -> Option<OsString> {
        std::env::var_os(name)
    }

    fn process_alive(&self, pid: u32) -> bool {
        let Some(pid) = signalable_pid(pid) else {
            return false;
        };
        // SAFETY: signal 0 performs the permission and existence checks only; nothing is sent.
        if unsafe { libc::kill(pid, 0) } == 0 {
            return true;
        }
        liveness_from_errno(std::io::Error::last_os_error().raw_os_error())
    }

    fn find_on_path(&self, program: &str) -> Option<PathBuf> {
        let path = std::env::var_os("PATH")?;
        std::env::split_paths(&path)
            .filter(|dir| !dir.as_os_str().is_empty())
            .map(|dir| dir.join(program))
            .find(|candidate| is_executable_file(candidate))
    }

    fn run(&self, program: &str, args: &[&OsStr]) -> Option<Output> {
        Command::new(program)
            .args(args)
            .stdin(Stdio::null())
            .output()
            .ok()
    }

    fn has_xattr(&self, path: &Path, name: &str) -> bool {
        system_has_xattr(path, name)
    }

    fn local_filesystem(&self, path: &Path) -> Option<bool> {
        system_local_filesystem(path)
    }
}

/// `statfs(path)`: on macOS the mount's `MNT_LOCAL` flag; on Linux, whose statfs has no such
/// flag, the file system's type against the network and cluster file systems' magic numbers.
fn system_local_filesystem(path: &Path) -> Option<bool> {
    use std::os::unix::ffi::OsStrExt;
    let path = std::ffi::CString::new(path.as_os_str().as_bytes()).ok()?;
    // SAFETY: statfs is plain old data that statfs(2) fills; the path is NUL-terminated.
    let mut info: libc::statfs = unsafe { std::mem::zeroed() };
    if unsafe { libc::statfs(path.as_ptr(), &mut info) } != 0 {
        return None;
    }
    #[cfg(target_os = "macos")]
    return Some(u64::from(info.f_flags) & (libc::MNT_LOCAL as u64) != 0);
    #[cfg(target_os = "linux")]
    {
        // NFS, SMB, CIFS, SMB2, Coda, AFS, 9P, Ceph, GFS2, OCFS2, Lustre, and FUSE (sshfs and
        // friends are the common FUSE mounts; a local FUSE file system is judged remote, which
        // only makes the doctor more careful).
        const NETWORK: &[u64] = &[
            0x6969,
            0x517B,
            0xFF53_4D42,
            0xFE53_4D42,
            0x7375_7245,
            0x5346_414F,
            0x0102_1997,
            0x00C3_6400,
            0x0116_1970,
            0x7461_636F,
            0x0BD0_0BD0,
            0x6573_5546,
        ];
        #[allow(clippy::unnecessary_cast)]
        let kind = info.f_type as u64;
        Some(!NETWORK.contains(&kind))
    }
    #[cfg(not(any(target_os = "macos", target_os = "linux")))]
    {
        let _ = info;
        None
    }
}

/// `getxattr` with a zero-length buffer asks for the value's size only: it succeeds (with any
/// size, empty values included) exactly when the attribute exists. The two systems' signatures
/// differ (macOS adds a position and options), so each gets its own call.
fn system_has_xattr(path: &Path, name: &str) -> bool {
    use std::os::unix::ffi::OsStrExt;
    let (Ok(path), Ok(name)) = (
        std::ffi::CString::new(path.as_os_str().as_bytes()),
        std::ffi::CString::new(name),
    ) else {
        return false;
    };
    #[cfg(target_os = "macos")]
    // SAFETY: both strings are NUL-terminated; a null buffer with size 0 only queries the size.
    let size =
        unsafe { libc::getxattr(path.as_ptr(), name.as_ptr(), std::ptr::null_mut(), 0, 0, 0) };
    #[cfg(target_os = "linux")]
    // SAFETY: as above; Linux's getxattr follows symlinks like macOS's without XATTR_NOFOLLOW.
    let size = unsafe { libc::getxattr(path.as_ptr(), name.as_ptr(), std::ptr::null_mut(), 0) };
    // Neither system: no extended attributes are known.
    #[cfg(not(target_os = "linux"))]
    #[cfg(not(target_os = "macos"))]
    let size: isize = {
        let _ = (&path, &name);
        -1
    };
    size >= 0
}

/// A pid `kill` can be asked about. 0 and negative values address process groups, and a pid
/// beyond `pid_t` wraps to one: none of them names a single process, so they are never alive.
fn signalable_pid(pid: u32) -> Option<libc::pid_t> {
    libc::pid_t::try_from(pid).ok().filter(|&pid| pid > 0)
}

/// `kill(pid, 0)` failed: EPERM means the process exists but is not ours to signal; ESRCH (and
/// anything unexpected) means no such process.
fn liveness_from_errno(errno: Option<i32>) -> bool {
    errno == Some(libc::EPERM)
}

/// An executable regular file (symlinks followed), as `execvp` would accept.
pub fn is_executable_file(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

fn uname_field(field: impl Fn(&libc::utsname) -> &[libc::c_char]) -> Option<String> {
    // SAFETY: utsname is plain old data; uname fills it and NUL-terminates every field.
    let mut names: libc::utsname = unsafe { std::mem::zeroed() };
    if unsafe { libc::uname(&mut names) } != 0 {
        return None;
    }
    let bytes: Vec<u8> = field(&names)
        .iter()
        .take_while(|&&c| c != 0)
        .map(|&c| c as u8)
        .collect();
    Some(String::from_utf8_lossy(&bytes).into_owned())
}

/// A host made of answers given in advance, for tests: a macOS host on a Linux runner, a live
/// process that belongs to another user, a PATH that has `node` or not. Probes (`run`) return
/// the outputs registered with `with_probe`, else "not installed".
#[derive(Debug, Clone)]
pub struct FakeHost {
    pub os: HostOs,
    pub os_version: Option<String>,
    pub hostname: Option<String>,
    pub uid: u32,
    pub home_dir: Option<PathBuf>,
    pub env: BTreeMap<String, OsString>,
    pub live_pids: BTreeSet<u32>,
    pub path: BTreeMap<String, PathBuf>,
    pub probes: BTreeMap<String, (i32, Vec<u8>, Vec<u8>)>,
    /// Extended attributes present: (path, attribute name).
    pub xattrs: BTreeSet<(PathBuf, String)>,
    /// Folders on a network file system (everything else is local).
    pub remote: BTreeSet<PathBuf>,
}

impl FakeHost {
    /// A macOS host (Darwin 23, macOS 14) with no live process, nothing on PATH, uid 501.
    pub fn macos() -> Self {
        FakeHost {
            os: HostOs::MacOs,
            os_version: Some("23.4.0".to_string()),
            hostname: Some("Operators-MacBook-Pro.local".to_string()),
            uid: 501,
            home_dir: Some(PathBuf::from("/Users/operator")),
            env: BTreeMap::new(),
            live_pids: BTreeSet::new(),
            path: BTreeMap::new(),
            probes: BTreeMap::new(),
            xattrs: BTreeSet::new(),
            remote: BTreeSet::new(),
        }
    }

    /// A Linux host with no live process, nothing on PATH, uid 1000.
    pub fn linux() -> Self {
        FakeHost {
            os: HostOs::Linux,
            os_version: Some("6.1.0".to_string()),
            hostname: Some("build-01".to_string()),
            uid: 1000,
            home_dir: Some(PathBuf::from("/home/operator")),
            ..FakeHost::macos()
        }
    }

    pub fn with_home(mut self, home: impl Into<PathBuf>) -> Self {
        self.home_dir = Some(home.into());
        self
    }

    pub fn with_live_pid(mut self, pid: u32) -> Self {
        self.live_pids.insert(pid);
        self
    }

    pub fn with_program(mut self, name: &str, path: impl Into<PathBuf>) -> Self {
        self.path.insert(name.to_string(), path.into());
        self
    }

    pub fn with_env(mut self, name: &str, value: impl Into<OsString>) -> Self {
        self.env.insert(name.to_string(), value.into());
        self
    }

    /// `path` carries the extended attribute `name`.
    pub fn with_xattr(mut self, path: impl Into<PathBuf>, name: &str) -> Self {
        self.xattrs.insert((path.into(), name.to_string()));
        self
    }

    /// `folder` and everything below it sit on a network file system.
    pub fn with_remote(mut self, folder: impl Into<PathBuf>) -> Self {
        self.remote.insert(folder.into());
        self
    }

    /// `program` exits with `code` and prints these bytes when run (any arguments).
    pub fn with_probe(mut self, program: &str, code: i32, stdout: &[u8], stderr: &[u8]) -> Self {
        self.probes.insert(
            program.to_string(),
            (code, stdout.to_vec(), stderr.to_vec()),
        );
        self
    }
}

impl Host for FakeHost {
    fn os(&self) -> HostOs {
        self.os
    }
    fn os_version(&self) -> Option<String> {
        self.os_version.clone()
    }
    fn hostname(&self) -> Option<String> {
        self.hostname.clone()
    }
    fn uid(&self) -> u32 {
        self.uid
    }
    fn home_dir(&self) -> Option<PathBuf> {
        self.home_dir.clone()
    }
    fn env_var(&self, name: &str) -> Option<OsString> {
        self.env.get(name).cloned()
    }
    fn process_alive(&self, pid: u32) -> bool {
        self.live_pids.contains(&pid)
    }
    fn find_on_path(&self, program: &str) -> Option<PathBuf> {
        self.path.get(program).cloned()
    }
    fn run(&self, program: &str, _args: &[&OsStr]) -> Option<Output> {
        use std::os::unix::process::ExitStatusExt;
        let (code, stdout, stderr) = self.probes.get(program)?;
        Some(Output {
            // A wait status carries the exit code in its second byte.
            status: std::process::ExitStatus::from_raw(code << 8),
            stdout: stdout.clone(),
            stderr: stderr.clone(),
        })
    }
    fn has_xattr(&self, path: &Path, name: &str) -> bool {
        self.xattrs
            .contains(&(path.to_path_buf(), name.to_string()))
    }
    fn local_filesystem(&self, path: &Path) -> Option<bool> {
        Some(!self.remote.iter().any(|folder| path.starts_with(folder)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn our_own_process_is_alive() {
        assert!(SystemHost.process_alive(std::process::id()));
    }

    #[test]
    fn a_reaped_child_is_gone() {
        let mut child = Command::new("true").spawn().expect("`true` runs");
        let pid = child.id();
        child.wait().unwrap();
        // The pid could in theory be reused at once; it is not within this test's lifetime on
        // any real scheduler, and a reuse would fail loudly rather than pass by mistake.
        assert!(!SystemHost.process_alive(pid));
    }

    #[test]
    fn pids_that_address_groups_are_never_alive() {
        // kill(0, 0) would succeed (our own process group), kill(-1, 0) too: neither is a pid.
        assert!(!SystemHost.process_alive(0));
        assert!(!SystemHost.process_alive(u32::MAX));
        assert!(!SystemHost.process_alive(1u32 << 31));
    }

    #[test]
    fn eperm_means_alive_and_esrch_means_gone() {
        // The classification alone, with libc's numbers (they differ between macOS and Linux
        // for other errnos; these two are the same on both, but we never hard-code them).
        assert!(liveness_from_errno(Some(libc::EPERM)));
        assert!(!liveness_from_errno(Some(libc::ESRCH)));
        assert!(!liveness_from_errno(None));
    }

    #[test]
    fn pid_one_belongs_to_root_and_is_alive_for_everyone() {
        // init/launchd always runs; as a non-root user this exercises the EPERM branch.
        assert!(SystemHost.process_alive(1));
    }

    #[test]
    fn the_real_host_answers() {
        let host = SystemHost;
        assert!(host.hostname().is_some_and(|h| !h.is_empty()));
        assert!(host.os_version().is_some_and(|v| !v.is_empty()));
        assert_eq!(host.os(), HostOs::current());
        assert!(host.find_on_path("sh").is_some());
        assert!(host.find_on_path("instar-doctor-no-such-program").is_none());
        // A file we just made carries no quarantine attribute; a missing path carries nothing.
        let file = tempfile::NamedTempFile::new().unwrap();
        assert!(!host.has_xattr(file.path(), "com.apple.quarantine"));
        assert!(!host.has_xattr(Path::new("/no/such/path"), "user.x"));
        // statfs answers for a file that exists, and not for one that does not.
        assert!(host.local_filesystem(file.path()).is_some());
        assert_eq!(host.local_filesystem(Path::new("/no/such/path")), None);
    }

    #[test]
    fn a_fake_host_answers_what_it_was_given() {
        let host = FakeHost::macos()
            .with_live_pid(4242)
            .with_program("node", "/opt/homebrew/bin/node")
            .with_probe("node", 0, b"v20.11.1\n", b"");
        assert_eq!(host.os(), HostOs::MacOs);
        assert!(host.process_alive(4242));
        assert!(!host.process_alive(std::process::id()));
        assert_eq!(
            host.find_on_path("node"),
            Some(PathBuf::from("/opt/homebrew/bin/node"))
        );
        let out = host.run("node", &[OsStr::new("--version")]).unwrap();
        assert!(out.status.success());
        assert_eq!(out.stdout, b"v20.11.1\n");
        assert!(host.run("bash", &[]).is_none());
        let failing = FakeHost::linux().with_probe("bash", 2, b"", b"syntax error");
        assert_eq!(failing.run("bash", &[]).unwrap().status.code(), Some(2));
    }
}

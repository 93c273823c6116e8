//! Deterministic fault injection for the crash and full-disk tests (design.md §8 "Fix runs are
//! transactions").
//!
//! A leaf of its own: the writer marks its steps here, the engine and the scan their panic
//! points, and none of them depends on another for it.
//!
//! Only builds with the `failpoints` feature (turned on for `cargo test` by the crate's
//! dev-dependency on itself) read the environment here; a release build compiles every
//! `hit` and `space` to nothing, so no variable can make a user's doctor abort or fail.
//!
//! - `INSTAR_DOCTOR_FAILPOINT_LOG=<file>` appends the name of every failpoint reached, one a line,
//!   so a test learns how many steps a run has and which ones;
//! - `INSTAR_DOCTOR_CRASH_AT=<n>` aborts the process at the n-th failpoint reached (1-based),
//!   the way SIGKILL would: no destructor, no rollback, no flush;
//! - `INSTAR_DOCTOR_RACE_AT=<n>` plays another writer at the n-th failpoint: the bytes of
//!   `INSTAR_DOCTOR_RACE_FROM` replace `INSTAR_DOCTOR_RACE_TO` (by temp file and rename, the way
//!   instar writes), so a test can land an edit between any two steps of a run;
//! - `INSTAR_DOCTOR_SPACE_LOG=<file>` appends one line per write of file data;
//! - `INSTAR_DOCTOR_ENOSPC_AT=<n>` makes the n-th write of file data (1-based) and every later
//!   one fail with ENOSPC, the way a disk that filled up stays full. Counted apart from the
//!   failpoints above, so the crash tests' step numbers do not move.
//! - `INSTAR_DOCTOR_PANIC_IN=<place>@<folder name>` panics at `place` (a check id, or `render`)
//!   while the agent in a folder of that name is checked, so the crash-isolation tests can make
//!   one agent of many crash.

/// Marks a step of a write (a temp file written, a rename done, a manifest committed…).
#[cfg(feature = "failpoints")]
pub fn hit(name: &str) {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    use std::sync::atomic::{AtomicUsize, Ordering};
    static COUNT: AtomicUsize = AtomicUsize::new(0);
    let n = COUNT.fetch_add(1, Ordering::SeqCst) + 1;
    if let Some(log) = std::env::var_os("INSTAR_DOCTOR_FAILPOINT_LOG") {
        if let Ok(mut file) = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            // Test-only, but no path is opened for writing through a symlink.
            .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
            .open(log)
        {
            let _ = writeln!(file, "{name}");
        }
    }
    let crash_at = std::env::var("INSTAR_DOCTOR_CRASH_AT")
        .ok()
        .and_then(|v| v.parse::<usize>().ok());
    if crash_at == Some(n) {
        std::process::abort();
    }
    let race_at = std::env::var("INSTAR_DOCTOR_RACE_AT")
        .ok()
        .and_then(|v| v.parse::<usize>().ok());
    if race_at == Some(n) {
        other_writer();
    }
}

/// The other writer of `INSTAR_DOCTOR_RACE_AT`.
#[cfg(feature = "failpoints")]
fn other_writer() {
    let (Some(from), Some(to)) = (
        std::env::var_os("INSTAR_DOCTOR_RACE_FROM"),
        std::env::var_os("INSTAR_DOCTOR_RACE_TO"),
    ) else {
        return;
    };
    let temp = std::path::PathBuf::from(&to).with_extension("other-writer");
    if let Ok(bytes) = std::fs::read(&from) {
        if std::fs::write(&temp, bytes).is_ok() {
            let _ = std::fs::rename(&temp, &to);
        }
    }
}

#[cfg(not(feature = "failpoints"))]
#[inline(always)]
pub fn hit(_name: &str) {}

/// Called before each write of file data: fails with ENOSPC from the `INSTAR_DOCTOR_ENOSPC_AT`-th
/// call on.
#[cfg(feature = "failpoints")]
pub fn space() -> std::io::Result<()> {
    use std::sync::atomic::{AtomicUsize, Ordering};
    static COUNT: AtomicUsize = AtomicUsize::new(0);
    let n = COUNT.fetch_add(1, Ordering::SeqCst) + 1;
    if let Some(log) = std::env::var_os("INSTAR_DOCTOR_SPACE_LOG") {
        use std::io::Write;
        use std::os::unix::fs::OpenOptionsExt;
        if let Ok(mut file) = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
            .open(log)
        {
            let _ = writeln!(file, "write {n}");
        }
    }
    let full_from = std::env::var("INSTAR_DOCTOR_ENOSPC_AT")
        .ok()
        .and_then(|v| v.parse::<usize>().ok());
    match full_from {
        Some(from) if n >= from => Err(std::io::Error::from_raw_os_error(libc::ENOSPC)),
        _ => Ok(()),
    }
}

#[cfg(not(feature = "failpoints"))]
#[inline(always)]
pub fn space() -> std::io::Result<()> {
    Ok(())
}

/// Panics when `INSTAR_DOCTOR_PANIC_IN` names this place and this agent's folder name.
#[cfg(feature = "failpoints")]
pub fn panic_in(place: &str, agent: &std::path::Path) {
    let Some(spec) = std::env::var_os("INSTAR_DOCTOR_PANIC_IN") else {
        return;
    };
    let spec = spec.to_string_lossy();
    let Some((at, name)) = spec.split_once('@') else {
        return;
    };
    if at == place
        && agent
            .file_name()
            .is_some_and(|n| n.to_string_lossy() == name)
    {
        panic!("failpoint: a deliberate panic in {place} for {name}");
    }
}

#[cfg(not(feature = "failpoints"))]
#[inline(always)]
pub fn panic_in(_place: &str, _agent: &std::path::Path) {}

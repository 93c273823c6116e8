//! Deterministic crash injection for the crash tests (design.md §8 "Fix runs are transactions").
//!
//! Only builds with the `failpoints` feature (turned on for `cargo test` by the crate's
//! dev-dependency on itself) read the environment here; a release build compiles every
//! `hit` to nothing, so no variable can make a user's doctor abort.
//!
//! - `INSTAR_DOCTOR_FAILPOINT_LOG=<file>` appends the name of every failpoint reached, one a line,
//!   so a test learns how many steps a run has and which ones;
//! - `INSTAR_DOCTOR_CRASH_AT=<n>` aborts the process at the n-th failpoint reached (1-based),
//!   the way SIGKILL would: no destructor, no rollback, no flush.

/// Marks a step of a write (a temp file written, a rename done, a manifest committed…).
#[cfg(feature = "failpoints")]
pub fn hit(name: &str) {
    use std::io::Write;
    use std::sync::atomic::{AtomicUsize, Ordering};
    static COUNT: AtomicUsize = AtomicUsize::new(0);
    let n = COUNT.fetch_add(1, Ordering::SeqCst) + 1;
    if let Some(log) = std::env::var_os("INSTAR_DOCTOR_FAILPOINT_LOG") {
        if let Ok(mut file) = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
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
}

#[cfg(not(feature = "failpoints"))]
#[inline(always)]
pub fn hit(_name: &str) {}

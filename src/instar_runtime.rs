//! Facts about instar's own processes, as the doctor's writers need them: whether instar runs for
//! an agent, and which of its files say so. Fix runs, `undo` and `preflight` ask here before they
//! touch anything (instar's writers ignore our lock); the state area's checks judge the same locks
//! as findings through `Context`.

use std::path::Path;

use crate::host::Host;

/// The lock the doctor reads to tell whether instar's lifeline runs, relative to `.instar/`.
///
/// Note: instar's lifeline writes `.instar/lifeline.lock` (spec hazards §18, which the state
/// area's `state/lifeline-lock` check reads); `state/lifeline.lock` is the path instar's own
/// supervisor preflight removes. Which one the writers should ask is tracked separately: this
/// module only keeps the fact in one place.
pub const LIFELINE_LOCK: &str = "state/lifeline.lock";

/// Far above a `{"pid": …}` record; a larger file is not a lock.
const LOCK_CAP: u64 = 64 * 1024;

/// The lifeline's pid when instar itself appears to run for the agent whose state folder is
/// `state_dir`: its lock names a pid and that process is alive.
pub fn instar_running(state_dir: &Path, host: &dyn Host) -> Option<u32> {
    // Never a plain read: a FIFO planted at the lock's path would block the fix run forever.
    let (bytes, _) =
        crate::safe_read::read_regular(&state_dir.join(LIFELINE_LOCK), LOCK_CAP).ok()?;
    let pid = lock_pid(&bytes)?;
    host.process_alive(pid).then_some(pid)
}

/// The pid a lock file records (`{"pid": 1234, …}`), when it records one.
fn lock_pid(bytes: &[u8]) -> Option<u32> {
    let value: serde_json::Value = serde_json::from_slice(bytes).ok()?;
    Some(value.get("pid")?.as_u64()? as u32)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::host::FakeHost;

    #[test]
    fn a_live_pid_in_the_lock_means_instar_runs() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("state")).unwrap();
        std::fs::write(dir.path().join(LIFELINE_LOCK), r#"{"pid": 4242}"#).unwrap();
        let alive = FakeHost::macos().with_live_pid(4242);
        assert_eq!(instar_running(dir.path(), &alive), Some(4242));
        assert_eq!(instar_running(dir.path(), &FakeHost::macos()), None);
    }

    #[test]
    fn no_lock_or_no_pid_means_not_running() {
        let dir = tempfile::tempdir().unwrap();
        let alive = FakeHost::macos().with_live_pid(4242);
        assert_eq!(instar_running(dir.path(), &alive), None);
        assert_eq!(lock_pid(br#"{"startedAt": "x"}"#), None);
        assert_eq!(lock_pid(b"not json"), None);
        assert_eq!(lock_pid(br#"{"pid": 7}"#), Some(7));
    }
}

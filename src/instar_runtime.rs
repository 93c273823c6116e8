//! Facts about instar's own processes, as the doctor's writers need them: whether instar runs for
//! an agent, and which of its files say so. Fix runs, `undo` and `preflight` ask here before they
//! touch anything (instar's writers ignore our lock); the state area's checks judge the same locks
//! as findings through `Context`.

use std::path::Path;

use crate::host::Host;

/// The locks that say instar runs for an agent, relative to `.instar/`, in the order asked.
///
/// - `lifeline.lock` (`{pid, startedAt}`): the Telegram lifeline writes it into the state folder
///   itself (`path.join(stateDir, 'lifeline.lock')` in TelegramLifeline.ts at every tag that has a
///   lifeline). `state/lifeline.lock` is only a path instar's supervisor preflight deletes;
///   nothing writes it, so asking it would never see a running instar.
/// - `local/server-instance.lock` (`{pid, hostname, heartbeat}`, v1.3.648+): the server's
///   single-instance lock. A holder stamped with another host's name is not ours to probe (its
///   pid means nothing here); the state area judges such locks as findings.
pub const LIFELINE_LOCK: &str = "lifeline.lock";
pub const SERVER_INSTANCE_LOCK: &str = "local/server-instance.lock";

/// Far above a `{"pid": …}` record; a larger file is not a lock.
const LOCK_CAP: u64 = 64 * 1024;

/// Which of instar's processes holds the agent, and its pid.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Holder {
    /// The lock that names the process, relative to `.instar/`.
    pub lock: &'static str,
    pub pid: u32,
}

impl std::fmt::Display for Holder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "pid {} holds .instar/{}", self.pid, self.lock)
    }
}

/// The instar process holding the agent whose state folder is `state_dir`, when one appears to
/// run: the lifeline's lock or the server's instance lock names a pid that is alive on this host.
pub fn instar_running(state_dir: &Path, host: &dyn Host) -> Option<Holder> {
    if let Some(record) = read_lock(&state_dir.join(LIFELINE_LOCK)) {
        if let Some(pid) = record_pid(&record).filter(|&pid| host.process_alive(pid)) {
            return Some(Holder {
                lock: LIFELINE_LOCK,
                pid,
            });
        }
    }
    let record = read_lock(&state_dir.join(SERVER_INSTANCE_LOCK))?;
    let ours = match (
        record.get("hostname").and_then(|h| h.as_str()),
        host.hostname(),
    ) {
        (Some(stamped), Some(here)) => stamped == here,
        // No stamp to compare: a pid alive here is taken at its word (the safe side for writers).
        _ => true,
    };
    let pid = record_pid(&record).filter(|&pid| ours && host.process_alive(pid))?;
    Some(Holder {
        lock: SERVER_INSTANCE_LOCK,
        pid,
    })
}

/// A lock's JSON record. Never a plain read: a FIFO planted at the lock's path would block the
/// fix run forever.
fn read_lock(path: &Path) -> Option<serde_json::Value> {
    let (bytes, _) = crate::safe_read::read_regular(path, LOCK_CAP).ok()?;
    serde_json::from_slice(&bytes).ok()
}

/// The pid a lock record names (`{"pid": 1234, …}`), when it names one.
fn record_pid(record: &serde_json::Value) -> Option<u32> {
    u32::try_from(record.get("pid")?.as_u64()?).ok()
}

/// The pid a lock file's bytes record, when they record one.
#[cfg(test)]
fn lock_pid(bytes: &[u8]) -> Option<u32> {
    record_pid(&serde_json::from_slice(bytes).ok()?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::host::FakeHost;

    #[test]
    fn a_live_pid_in_the_lock_means_instar_runs() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(LIFELINE_LOCK), r#"{"pid": 4242}"#).unwrap();
        let alive = FakeHost::macos().with_live_pid(4242);
        let holder = instar_running(dir.path(), &alive).unwrap();
        assert_eq!((holder.lock, holder.pid), (LIFELINE_LOCK, 4242));
        assert_eq!(instar_running(dir.path(), &FakeHost::macos()), None);
    }

    /// The path instar's supervisor only deletes is not a sign of a running instar.
    #[test]
    fn the_supervisors_state_lifeline_lock_is_not_asked() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("state")).unwrap();
        std::fs::write(dir.path().join("state/lifeline.lock"), r#"{"pid": 4242}"#).unwrap();
        let alive = FakeHost::macos().with_live_pid(4242);
        assert_eq!(instar_running(dir.path(), &alive), None);
    }

    #[test]
    fn a_live_server_on_this_host_holds_the_agent_and_one_on_another_host_does_not() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("local")).unwrap();
        let lock = dir.path().join(SERVER_INSTANCE_LOCK);
        let here = FakeHost::macos().with_live_pid(5151);
        let host_name = here.hostname().unwrap();
        std::fs::write(
            &lock,
            format!(r#"{{"pid": 5151, "hostname": "{host_name}", "heartbeat": 1}}"#),
        )
        .unwrap();
        let holder = instar_running(dir.path(), &here).unwrap();
        assert_eq!((holder.lock, holder.pid), (SERVER_INSTANCE_LOCK, 5151));
        assert_eq!(instar_running(dir.path(), &FakeHost::macos()), None);
        std::fs::write(
            &lock,
            r#"{"pid": 5151, "hostname": "some-other-mac.local", "heartbeat": 1}"#,
        )
        .unwrap();
        assert_eq!(instar_running(dir.path(), &here), None);
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

//! Every code of the state check (hazards #9a, #17, #18, #29, #30), with its documentation for
//! `list` and `explain`.

use crate::diag::Code;
use crate::fix::Applicability::{Manual, Unsafe};

code!(
    INSTANCE_LOCK_INVALID,
    "state/instance-lock-invalid",
    Error,
    Some(Unsafe),
    "`.instar/local/server-instance.lock` is empty, not JSON, or has no numeric pid or hostname",
    "What it checks: that the single-instance lock parses and holds a numeric pid and a string \
hostname.
Why it matters: instar reads such a lock as free, but cannot create its own over the existing \
file; after an 8-second grace it reports a duplicate live instance and exits 1, on every boot. \
Its heartbeat rewrites the file in place, so a crash mid-write leaves exactly this.
What instar does: nothing; no version repairs it.
Fix (unsafe): move the lock to quarantine (undo restores it); the next server start writes a \
new one."
);

code!(
    INSTANCE_LOCK_FOREIGN_HOST,
    "state/instance-lock-foreign-host",
    Error,
    Some(Unsafe),
    "the single-instance lock was written under another hostname by a process that is gone",
    "What it checks: .instar/local/server-instance.lock whose hostname differs from this host's, \
whose pid is not alive here, and whose heartbeat is over 5 minutes old.
Why it matters: after a hostname change (or a flap between two names) the server refuses to \
start on every boot: one agent wedged three times in one night.
What instar does: the automatic heal exists only for development agents or behind a monitoring \
flag that is off on the fleet.
Fix (unsafe): move the lock to quarantine; it is never offered while the pid is alive."
);

code!(
    LIFELINE_LOCK,
    "state/lifeline-lock",
    Error,
    Some(Unsafe),
    "`.instar/lifeline.lock` is corrupt, or a live pid holds it without a start time",
    "What it checks: .instar/lifeline.lock {pid, startedAt}: that it parses (error), and that a \
lock whose pid is alive carries startedAt (warning: instar respects such a legacy lock forever, \
even when the pid now belongs to another process).
Why it matters: a corrupt lock makes every lifeline launch fail with \"Lock acquisition failed\" \
and exit 0, so launchd never restarts it and Telegram goes quiet.
What instar does: a dead pid's lock is taken over; the supervisor's clean-up removes a \
different path (state/lifeline.lock) that nothing writes.
Fix (unsafe, corrupt lock): move it to quarantine. A live holder: manual, `instar lifeline \
restart`."
);

code!(STALE_SOCKET, "state/stale-socket", Info, None,
"`.instar/listener.sock` exists while no live server holds the instance lock",
"What it checks: .instar/listener.sock when the single-instance lock is absent or its pid is \
not alive.
Why it matters: from v1.2.4 until v1.3.96 the server could not bind over it: a cold-start loop and, on one agent, \
1830 restarts with a rebuild storm. From v1.3.96 the server probes the socket, unlinks it and \
carries on.
What instar does: see above; from v1.3.96 it is harmless (info).
Fix (manual): `rm .instar/listener.sock` while the agent is stopped (nothing else may hold it).");

code!(
    REBASE_STUCK,
    "state/rebase-stuck",
    Warning,
    Some(Manual),
    "the agent's git repository is stuck in a rebase",
    "What it checks: .git/rebase-merge/ or .git/rebase-apply/ in the project.
Why it matters: git sync and updates that commit are blocked (one agent filed 29 degradation \
reports).
What instar does: its git sync and the supervisor's start-up check run `git rebase --abort`; \
an agent without git sync stays stuck.
Fix (manual): `git rebase --abort` (or finish the rebase) in the project."
);

pub static ALL: &[&Code] = &[
    &INSTANCE_LOCK_INVALID,
    &INSTANCE_LOCK_FOREIGN_HOST,
    &LIFELINE_LOCK,
    &STALE_SOCKET,
    &REBASE_STUCK,
];

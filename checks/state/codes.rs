//! Every code of the state check (hazards #9a, #17, #18, #29, #30, #28, #16, #35, #36, #37, #25,
//! #24, #34), with its documentation for `list` and `explain`.

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

code!(
    OVERSIZED_LOG,
    "state/oversized-log",
    Info,
    Some(Manual),
    "an append-only state file has grown past the size that froze or crash-looped real agents",
    "What it checks: the size (from metadata; the file is never read) of the token ledger \
(.instar/server-data/token-ledger.db, 100 MB), .instar/ledger/job-runs.jsonl (10 MB) and \
.instar/telegram-messages.jsonl (10 MB).
Why it matters: instar appends to these forever. A 202 MB ledger was scanned on the boot path \
past the health timeout: a crash loop that bricked one agent for 90 minutes. A 13 MB job-runs \
file re-read every minute and 12 MB message logs read whole froze the event loop for up to 20 \
seconds, so the dashboard flapped.
What instar does: from v1.3.97 the ledger scan runs in bounded chunks after boot; from v1.3.646 \
job-runs.jsonl is read incrementally; from v1.3.647 the message log is read by its tail. Before \
each of those a large file is a warning; after, the file still grows but does no harm (info).
Fix (manual): with the agent stopped, rotate or compact the file (keep a copy); instar starts \
a new one. The doctor does not rotate it: what to keep is the operator's call."
);

code!(
    SEMANTIC_QUARANTINE,
    "state/semantic-quarantine",
    Warning,
    Some(Manual),
    "semantic memory was quarantined repeatedly, or started empty after a skipped rebuild",
    "What it checks: the files instar leaves beside .instar/semantic.db: quarantined copies \
(semantic.db.corrupt.<ms>) and skipped-rebuild markers (semantic.db.skipped-rebuild.<ms>.marker.json).
Why it matters: two or more quarantines mean the database was thrown away and rebuilt more than \
once (one agent made 6 in hours, another 13). A skipped-rebuild marker means the JSONL log was \
over 50 MB, so the database started empty and the agent's knowledge graph is missing until \
someone imports it.
What instar does: from v0.28.79 it quarantines a corrupt database and rebuilds it; before \
v1.2.52 a missing vec0 module was mistaken for corruption, so it quarantined on every boot. The \
skipped rebuild is never repaired by instar.
Severity: warning for two or more quarantines or any skipped-rebuild marker; one old quarantine \
is info.
Fix (manual): with the agent stopped, import the JSONL log into the database \
(SemanticMemory.importFromJsonl; instar has no command for it), then move the marker and old \
quarantined copies away. Nothing is deleted by the doctor: the copies may be the only data left."
);

code!(
    RESUME_QUEUE_PAUSED,
    "state/resume-queue-paused",
    Warning,
    Some(Manual),
    "the session resume queue has been paused for over an hour with revivals waiting",
    "What it checks: .instar/state/resume-queue.json with paused true, a pausedAt over 60 minutes \
old, and entries still queued or starting.
Why it matters: an emergency stop scoped to one topic set a global pause that never lifted: \
sessions that should have been revived stayed dead, silently (a 4-hour strand).
What instar does: before v1.3.564 nothing lifts the pause (warning); from v1.3.564 a stale pause \
lifts itself (info).
Fix (manual): POST /sessions/resume-queue/resume to the running server (its unpause route), or \
update instar; editing the file under a running server would be overwritten."
);

code!(
    GHOST_SESSIONS,
    "state/ghost-sessions",
    Info,
    Some(Unsafe),
    "several session records claim to be live in one tmux session",
    "What it checks: .instar/state/sessions/*.json records with status running or starting that \
name the same tmuxSession (at most 2000 records are looked at).
Why it matters: a tmux session name is unique among live sessions, so all but one are ghosts \
left by crash respawns; the dashboard shows them as duplicate sessions (5 for one session on \
one machine).
What instar does: from v1.3.488, the next save of a live record marks the others completed; \
before, they stay until cleaned by hand. Either way nothing else breaks (info).
Fix (unsafe): mark every record but the most recently started one completed, as instar does; \
unsafe because the doctor cannot ask tmux which one is real."
);

code!(
    THREADLINE_ORPHAN_KEYPAIR,
    "state/threadline-orphan-keypair",
    Info,
    Some(Manual),
    "an orphan threadline keypair (.instar/threadline/identity-keys.json) is still on disk",
    "What it checks: .instar/threadline/identity-keys.json.
Why it matters: instar used to mint this second keypair on every boot, beside the agent's real \
identity. On the relay it became a dead twin of the agent that silently swallowed messages meant \
for it. It holds private key material.
What instar does: from v1.3.455 it no longer mints or uses the file, but leaves it in place; \
before, it is live and this finding is not reported.
Fix (manual): once the agent runs v1.3.455 or later, move the file out of the project (keep it \
until the relay no longer lists the old key); it holds a private key, so the doctor leaves it \
to a human."
);

code!(
    POOL_HOME_NOT_READY,
    "state/pool-home-not-ready",
    Warning,
    Some(Manual),
    "a subscription-pool Claude config home would stop a session at the onboarding screens",
    "What it checks: each framework claude-code account of .instar/subscription-pool.json: its \
configHome exists and its .claude.json sets hasCompletedOnboarding, \
bypassPermissionsModeAccepted and hasTrustDialogAccepted to true.
Why it matters: a session pinned or swapped to that home waits at the first-run screens with \
nobody to answer (about 8 sessions wedged at once, with browser tabs opening).
What instar does: before v1.3.467 nothing (warning); from v1.3.467 the update migrator and every \
pinned or swapped launch set the three flags (info). A missing home stays a warning at every \
version: no flag makes a home without credentials usable.
Fix (manual): run `CLAUDE_CONFIG_DIR=<configHome> claude` once and finish onboarding, or update \
instar. The doctor writes nothing outside the project, and the file also holds the account's \
tokens."
);

code!(
    IDENTITY_TRACKED_BY_GIT,
    "state/identity-tracked-by-git",
    Error,
    Some(Manual),
    "the agent's plaintext private identity is tracked by git",
    "What it checks: .git/index (read directly; git is never spawned) lists \
.instar/identity.json while its privateKeyEncryption is \"none\", or lists \
.instar/threadline/identity-keys.json.
Why it matters: the private key is in the repository's history and in every clone; anyone with \
one can act as the agent. A real agent's archive carried exactly this.
What instar does: nothing at any version; none of init's .gitignore templates lists these files.
Fix (manual): `git rm --cached <file>`, add it to .gitignore, then rotate the agent identity \
(this re-keys trust, so it needs a human), and consider rewriting history. The key is never \
printed."
);

code!(
    TELEGRAM_IDS_AS_STRINGS,
    "state/telegram-ids-as-strings",
    Error,
    Some(Unsafe),
    "Telegram authorizedUserIds holds numeric strings instead of numbers",
    "What it checks: in .instar/config.json, each messaging entry of type telegram whose \
config.authorizedUserIds holds strings of digits.
Why it matters: before v1.3.244 instar compared the numeric sender id with includes(), so a \
string never matched: the owner was treated as an unknown user, silently (error). From \
v1.3.244 both forms match (info).
What instar does: see above; nothing rewrites the file.
Fix (unsafe): write each numeric string as a number (\"123\" becomes 123), an edit of those \
bytes only; unsafe because it changes config.json, though what the ids mean does not change."
);

pub static ALL: &[&Code] = &[
    &INSTANCE_LOCK_INVALID,
    &INSTANCE_LOCK_FOREIGN_HOST,
    &LIFELINE_LOCK,
    &STALE_SOCKET,
    &REBASE_STUCK,
    &OVERSIZED_LOG,
    &SEMANTIC_QUARANTINE,
    &RESUME_QUEUE_PAUSED,
    &GHOST_SESSIONS,
    &THREADLINE_ORPHAN_KEYPAIR,
    &POOL_HOME_NOT_READY,
    &IDENTITY_TRACKED_BY_GIT,
    &TELEGRAM_IDS_AS_STRINGS,
];

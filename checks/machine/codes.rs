//! Every code of the machine area (spec/hazards.md #4, #6–#11, #19–#22, #26, #33), with its
//! documentation for `list` and `explain`.
//!
//! Fixes: the stale registry lock is safe (#22), a zombie entry and a foreign spawn holder are
//! unsafe (#20, #9), the rest manual. They are executed only by `instar-doctor machine`, which
//! takes instar's own locks on these files (`src/machine_run/`); an agent's `--fix` and `scan`
//! show them as instructions naming that command, since those runs lock one agent's project,
//! not the files every agent of the machine writes.

use crate::diag::Code;
use crate::fix::Applicability::{Manual, Safe, Unsafe};

code!(
    REGISTRY_CORRUPT,
    "machine/registry-corrupt",
    Error,
    Some(Manual),
    "~/.instar/registry.json does not load: instar's next write erases every agent's entry",
    "What it checks: that the per-user agent registry parses with JSON.parse, has an object root \
and an `entries` array.
Why it matters: loadRegistry swallows the error and returns an empty registry; the next locked \
write (any agent's start or heartbeat) saves that, so every other agent's entry, its port \
reservation and its name for message routing vanish without a log line.
What instar does: the same at every version; entries come back only as each agent restarts.
Fix (manual): keep a copy of the bad file, then rebuild it from the agents' configs (or let each \
agent re-register by restarting it)."
);

code!(REGISTRY_ZOMBIE, "machine/registry-zombie", Warning, Some(Unsafe),
"a registry entry names a folder that is gone or holds no agent",
"What it checks: each non-lifeline entry of ~/.instar/registry.json whose `path` does not exist \
or has no .instar/config.json.
Why it matters: instar prunes only `stale` entries; a `stopped` one stays forever and keeps its \
port reserved, so the allocator hands out other ports and names resolve to nothing.
What instar does: only the setup wizard flags these.
Fix (unsafe: a folder on a drive that is not mounted looks gone too): `instar-doctor machine \
--fix --unsafe-fixes` (or -i) removes the entry's bytes and one separator under instar's \
registry lock, every other byte kept; `instar-doctor undo --machine` puts it back. Or move the \
agent back.");

code!(UNREGISTERED, "machine/unregistered", Warning, Some(Unsafe),
"a running agent is missing from ~/.instar/registry.json",
"What it checks: an agent whose .instar/local/server-instance.lock names a live pid on this host, \
with no registry entry for its real path.
Why it matters: the worktree CLI and cross-agent routing refuse or miss the agent.
What instar does: from v1.3.299 the heartbeat re-registers it within a minute (info); before, it \
stays missing (warning).
Fix (unsafe): `instar-doctor machine --fix --unsafe-fixes` (or -i) appends the entry \
registerAgent would write (name, type, real path, the config's port, the live pid, running, \
now) under instar's registry lock, every other byte kept; only when the registry loads and no \
entry reserves that port. Otherwise, or instead: restart the agent, which registers it.");

code!(REGISTRY_LOCK_STALE, "machine/registry-lock-stale", Info, Some(Safe),
"~/.instar/registry.json.lock is older than 10 s",
"What it checks: the proper-lockfile folder next to the registry, with an mtime more than 10 s \
old (a live holder keeps refreshing it).
Why it matters: before v0.28.1 heartbeats failed in a loop behind it; since, instar force-removes \
a stale lock after its retries, so this is hygiene.
Fix (safe): `instar-doctor machine --fix` removes the folder, judged stale again at that \
instant (renamed aside and put back if a live process had just refreshed it), as \
proper-lockfile would; a lock refreshed within 10 s makes the run refuse instead. Not undone by \
`undo`: a stale lock holds no data.");

code!(
    PORT_COLLISION,
    "machine/port-collision",
    Error,
    Some(Manual),
    "two agents of this machine are configured with one port",
    "What it checks: the `port` of every agent's config.json (agents of the registry, of \
~/.instar/agents/ and of the scan) and of the registry's entries.
Why it matters: the second server exits at boot (\"port conflict\") or fails to listen while its \
lifeline looks healthy; an agent was offline for two days this way.
What instar does: registerAgent throws when another running entry holds the port.
Fix (manual): give one agent a free port in its config.json, then restart it so the registry \
follows."
);

code!(
    NAME_COLLISION,
    "machine/name-collision",
    Error,
    Some(Manual),
    "two agents of this machine share a projectName",
    "What it checks: agents' projectName (else their folder name), and non-lifeline registry \
entries' names.
Why it matters: the launchd label ai.instar.<name>, the tmux session <name>-server and \
~/.instar/agent-tokens/<name>.token are derived from the name: one agent's launchd job or token \
replaces the other's, and a respawned server ran against the wrong folder.
What instar does: nothing; names are display labels in the registry.
Fix (manual): rename one agent (projectName), then re-run its setup."
);

code!(
    FETCH_BLOCKED_PORT,
    "machine/fetch-blocked-port",
    Error,
    Some(Manual),
    "a registry entry reserves a port that fetch refuses, e.g. 4045",
    "What it checks: registry entries whose `port` is on the WHATWG fetch bad-ports list (4045 is \
inside instar's default range 4040-4099). The agent's own config.json is the config check's \
business; this one reports reservations no agent config shows.
Why it matters: node's fetch refuses the port: the mesh, the lifeline's health probe and \
forwarding to the server fail, while curl works.
What instar does: the allocator skips these ports for new agents and never re-ports old ones.
Fix (manual): re-port the agent, then restart it."
);

code!(LAUNCHD_ORPHAN, "machine/launchd-orphan", Warning, Some(Manual),
"a launchd job runs instar for a folder that is gone, shared or not its own",
"What it checks (macOS): each ~/Library/LaunchAgents/ai.instar.*.plist (not the watchdog): the \
--dir of its ProgramArguments names a missing folder (warning), another plist has the same \
--dir (error), or the label is not ai.instar.<projectName of that folder> (warning).
Why it matters: a second server races the real one for listener.sock and the port (1830 \
restarts and a native rebuild storm in one incident).
What instar does: nothing sweeps old jobs.
Fix (manual): `launchctl bootout gui/$UID <plist>`, then remove or rename the plist.");

code!(
    PROCESS_CEILING,
    "machine/process-ceiling",
    Error,
    Some(Manual),
    "a launchd job's NumberOfProcesses is below 2048",
    "What it checks (macOS): the NumberOfProcesses soft or hard limit of each instar launchd job.
Why it matters: the limit counts every process of the user, and an idle Mac runs about 530: \
below that (error under 600) fork() fails with EAGAIN and the agent dies; up to 2047 there is \
little headroom (warning). instar wrote 512 for a while.
What instar does: from v1.3.1181 the migrator raises it to 2048, which launchd applies only at \
the job's next start.
Fix (manual): update instar (or set 2048 in the plist), then restart the job."
);

code!(WATCHDOG_BROKEN, "machine/watchdog-broken", Warning, Some(Manual),
"the fleet watchdog's launchd job points at a missing or temporary script, or has no PATH",
"What it checks (macOS): ~/Library/LaunchAgents/ai.instar.watchdog.plist: its script exists and \
is not under a temporary folder, and it sets EnvironmentVariables/PATH.
Why it matters: the watchdog is silently dead (tests once re-pointed it at a temp folder), or its \
npm repair fails under launchd's empty PATH, as it did for four days on one machine.
What instar does: each update rewrites the script and plist on macOS.
Fix (manual): re-run instar's update or setup; the doctor never touches launchd.");

code!(TCC_PROTECTED, "machine/tcc-protected", Warning, Some(Manual),
"an agent with a launchd job lives in a TCC-protected folder",
"What it checks (macOS): the agent's real path lies under ~/Documents, ~/Desktop, ~/Downloads or \
iCloud Drive (~/Library/Mobile Documents), and its ai.instar.<name>.plist exists.
Why it matters: on macOS 26 launchd cannot spawn the agent there (EPERM, exit 78, empty logs): \
error. On older macOS, reads from launchd-started processes fail with EPERM at times: warning.
What instar does: nothing; it assumes its node is exempt.
Fix (manual): move the agent, e.g. under ~/.instar/agents/, and re-run its setup.");

code!(
    FOREIGN_SPAWN_HOLDER,
    "machine/foreign-spawn-holder",
    Warning,
    Some(Unsafe),
    "~/.instar/host-spawn-holders.json keeps a slot stamped with another host name",
    "What it checks: holders whose hostname is not this host's, whose pid is not alive here and \
whose heartbeat is more than 5 minutes old (a renamed or flapping host name leaves these), \
when the file is on a local file system (statfs): on a shared home another host's holder may \
be alive.
Why it matters: instar never prunes a foreign holder, so each one permanently takes a slot of \
the host-wide spawn cap.
What instar does: refuses to touch them by design.
Fix (unsafe: it drops another host's record): `instar-doctor machine --fix --unsafe-fixes` \
(or -i) removes the holder under hostSpawnSemaphore's own lock (host-spawn-holders.json.lock), \
only while the file still holds the bytes judged (so the stamp, the dead pid and the old \
heartbeat still hold); `instar-doctor undo --machine` puts it back."
);

code!(PATH_NEEDS_ENCODING, "machine/path-needs-encoding", Warning, Some(Manual),
"the agent's path has a space, %, #, ? or non-ASCII character, which breaks instar before v0.28.79",
"What it checks: the agent's real path, at versions before v0.28.79.
Why it matters: instar located its own files through a URL path that kept %20 and friends \
encoded, so templates and hooks failed to install.
What instar does: from v0.28.79 the path is decoded and this is harmless.
Fix (manual): update instar, or move the agent to a plain path.");

pub static ALL: &[&Code] = &[
    &REGISTRY_CORRUPT,
    &REGISTRY_ZOMBIE,
    &UNREGISTERED,
    &REGISTRY_LOCK_STALE,
    &PORT_COLLISION,
    &NAME_COLLISION,
    &FETCH_BLOCKED_PORT,
    &LAUNCHD_ORPHAN,
    &PROCESS_CEILING,
    &WATCHDOG_BROKEN,
    &TCC_PROTECTED,
    &FOREIGN_SPAWN_HOLDER,
    &PATH_NEEDS_ENCODING,
];

//! Every code of the registry check (`.instar/machines/registry.json`, the heartbeat, the remote
//! identity copies), with its documentation for `list` and `explain`.

use crate::diag::Code;
use crate::fix::Applicability::{Manual, Safe, Unsafe};

code!(MISSING, "registry/missing", Info, None,
"this machine has an identity but no machine registry",
"What it checks: .instar/machines/registry.json is absent while .instar/machine/identity.json exists.
Why it matters: usually nothing is lost. On a mesh, peers' entries, revocations and the lease live only in this file.
What instar does (every version): loadRegistry returns an empty registry in memory; at the next start \
ensureSelfRegistered adds this machine as standby.
Fix: none is needed. To recover peers and revocations, restore the file from git history by hand \
(git show HEAD:.instar/machines/registry.json); the doctor spawns nothing.");

code!(UNREADABLE, "registry/unreadable", Error, Some(Safe),
"the registry is not a readable file",
"What it checks: that registry.json is a readable regular file: not a directory, FIFO, socket, \
device, dangling or looping symlink, not unreadable.
Why it matters: readFileSync throws, and MultiMachineCoordinator.start() aborts server start. A \
dangling symlink reads as a missing file: the registry silently starts empty.
What instar does (every version): fatal at start on a machine with an identity.
Fix: missing read permission → chmod 644 (safe: the registry is committed, public data). \
Anything else is manual: put the real file there.");

code!(PARSE_ERROR, "registry/parse-error", Error, Some(Unsafe),
"registry.json is not valid JSON",
"What it checks: registry.json with JSON.parse's exact rules (a BOM, comments, trailing commas, an \
empty or truncated file, merge-conflict markers are all errors).
Why it matters: every command that loads the registry fails.
What instar does (every version): throws \"Machine registry is corrupted. Run `instar doctor` for \
diagnosis.\"; server start aborts on a machine with an identity. HEAD resolves git conflicts with \
mergeRegistry, but only inside its own sync, never for a file already on disk.
Fix: a BOM alone is stripped (safe). Conflict markers: both sides are parsed and merged with \
HEAD's mergeRegistry rules (union by id; a revoked side wins; else the later lastSeen, then the \
higher syncSequence; the higher-epoch lease; the max version) (unsafe: review it). Otherwise \
restore from git history by hand (manual). Rebuilding from identities would lose revocations and \
the lease, so the doctor never does it.");

code!(
    INVALID_SHAPE,
    "registry/invalid-shape",
    Error,
    Some(Unsafe),
    "the registry's root, version or machines field is rejected by loadRegistry",
    "What it checks: loadRegistry's own test: the root is an object, `version` is a number and \
`machines` is an object.
Why it matters: the registry cannot be loaded at all.
What instar does (every version): root [], a missing or string version, or machines \"x\" throw \
the REGISTRY_CORRUPT error; a null root throws a raw TypeError. Server start aborts.
Fix (unsafe): set `version` to 1, or set a non-object `machines` to {}. A null or non-object root \
is repaired by hand or from git (manual)."
);

code!(MACHINES_NOT_OBJECT, "registry/machines-not-object", Error, Some(Unsafe),
"`machines` is null or an array: it loads, then breaks",
"What it checks: `machines: null` and `machines: []`, which pass loadRegistry's typeof test.
Why it matters: with [], ensureSelfRegistered \"succeeds\" but sets the entry as an array property \
that JSON.stringify drops: this machine is never persisted, and the next updateRole throws \
\"Machine … not found in registry\". With null, getAwakeMachine and ensureSelfRegistered throw a TypeError.
What instar does (every version): [] loads silently; null makes server start abort.
Fix (unsafe): replace the value with {} (array elements were never persisted by instar anyway). \
This machine's entry is then re-added by registry/self-missing in the next pass.");

code!(INVALID_ENTRY, "registry/invalid-entry", Warning, Some(Unsafe),
"a registry entry has a bad id, type, enum value or timestamp",
"What it checks: every machines entry: the key is m_ + 32 lowercase hex; the entry is an object; \
name is a string; status is active|revoked|pending; role is awake|standby; pairedAt, lastSeen and \
revokedAt are ISO timestamps; lastKnownUrl is a string; revokedAt appears only on revoked entries.
Why it matters: instar ignores wrong-type entries in its awake and active filters, so the machine \
silently drops out of coordination.
What instar does: loads them. At 1.3.1186 a null entry crashes this machine's self-registration \
(it reads every entry's nickname), which is fatal when this machine's own entry is missing; at \
0.28.44 the null is written back.
Fix: a non-object entry is removed (unsafe). Field problems are reported: correct them by hand.");

code!(
    UNDEFINED_ENTRY,
    "registry/undefined-entry",
    Warning,
    Some(Unsafe),
    "the registry has an entry under the key \"undefined\"",
    "What it checks: a machines entry keyed \"undefined\".
Why it matters: it is what ensureSelfRegistered writes when identity.json is {} or [] (machineId \
undefined). The real machine is not registered, and a bogus machine takes part in coordination.
What instar does (every version): keeps it; every later start with the same identity reuses it.
Fix (unsafe): remove the entry, and repair identity.json (identity/no-machine-id)."
);

code!(
    SELF_MISSING,
    "registry/self-missing",
    Warning,
    Some(Safe),
    "this machine is missing from the registry",
    "What it checks: identity.json's machineId has no entry in machines.
Why it matters: until the next start peers cannot see this machine, and jobs restricted to it by \
machine id or name do not match it.
What instar does (since 0.28.44, Stage 1): ensureSelfRegistered warns \"missing from registry — \
self-registering with role standby\" and adds it at the next start.
Fix (safe: exactly instar's own self-heal): add {name, status: \"active\", role: \"standby\", \
pairedAt: now, lastSeen: now}. Never awake: the heartbeat or the lease decides promotion. No \
nickname is added (instar assigns one at its next start)."
);

code!(SELF_REVOKED, "registry/self-revoked", Warning, Some(Manual),
"this machine's own registry entry is revoked",
"What it checks: the entry for identity.json's machineId has status revoked.
Why it matters: peers reject this machine's signed requests; it takes part in nothing.
What instar does: ensureSelfRegistered leaves an existing entry alone, so it stays revoked. \
v0.28.44's registerMachine (pairing) would silently reactivate it; from 1.3.412 registerMachine refuses.
Fix: manual. Only an explicit operator decision restores a revoked machine (re-pair it, or re-key \
and pair as a new machine). The doctor never un-revokes.");

code!(
    REVOKED_AWAKE,
    "registry/revoked-awake",
    Warning,
    Some(Unsafe),
    "a revoked machine is still marked awake",
    "What it checks: an entry with status revoked and role awake.
Why it matters: revokeMachine always sets role standby; an awake revoked entry is an \
inconsistency (a hand edit or a bad merge) that confuses awake counts.
What instar does: its active filters skip revoked entries, so it is silently ignored.
Fix (unsafe): set role to \"standby\", as revokeMachine does."
);

code!(SPLIT_BRAIN, "registry/split-brain", Warning, Some(Unsafe),
"more than one active machine is marked awake",
"What it checks: two or more entries that are status active and role awake, unless config.json's \
multiMachine.coordinationMode is \"independent\". This is instar's own \
`instar doctor` registry check (\"N machines claim awake (split-brain?)\").
Why it matters: at 0.28.x both machines run jobs and answer messages. At HEAD the signed lease is \
the authority and registry roles may lag: the finding is an error only when a verified lease names \
a holder and another machine still claims awake.
What instar does: nothing enforces one awake machine (\"a convention\").
Fix: run `instar wakeup` on the intended machine (instar's own path). Offline, the doctor offers to \
demote every awake machine except the verified lease holder or the live heartbeat holder (unsafe); \
with neither it proposes nothing executable. It never promotes.");

code!(
    NO_AWAKE,
    "registry/no-awake",
    Warning,
    Some(Manual),
    "active machines exist but none is awake",
    "What it checks: the registry has active entries and none of them has role awake.
Why it matters: no machine runs jobs until a standby fails over.
What instar does: a standby promotes itself when the heartbeat is missing or expired (at most 3 \
failovers a day, 30 minutes apart); at HEAD the lease decides.
Fix: manual: run `instar wakeup` on the machine that should be awake. The doctor never promotes."
);

code!(NICKNAME, "registry/nickname", Warning, Some(Unsafe),
"a machine nickname is invalid or used twice",
"What it checks (from 1.3.92): nickname, trimmed, matches ^[\\w][\\w \\-]{0,40}$ and is unique \
across the pool case-insensitively.
Why it matters: nicknames address machines in chat commands; a duplicate makes one unreachable by name.
What instar does: validates nicknames it sets; a hand-edited or merged file is not re-checked.
Fix (unsafe): rename the later duplicate (a numeric suffix), or correct an invalid one by hand.");

code!(
    LEASE_INVALID,
    "registry/lease-invalid",
    Warning,
    None,
    "the registry lease is malformed or its signature does not verify",
    "What it checks (from 1.3.19): registry.lease has holder, a numeric epoch, acquiredAt, \
expiresAt, a numeric nonce and a base64 signature, and the signature verifies with Ed25519 over \
JSON.stringify([holder, epoch, acquiredAt, expiresAt, nonce]) (plus `true` for a released \
tombstone) against the holder's signingPublicKey: this machine's identity.json for itself, else \
.instar/machines/<holder>/identity.json.
Why it matters: a lease that does not verify is not honoured; machines fall back to failover and \
may both act awake.
What instar does: loadRegistry never reads the lease, so the registry still loads; verifyLease \
returns false (or throws when this machine's identity is corrupt).
Fix: none offline: the holder re-acquires the lease at its next start (report)."
);

code!(LEASE_HOLDER_UNKNOWN, "registry/lease-holder-unknown", Warning, None,
"the lease holder is not an active machine of the registry",
"What it checks (from 1.3.19): lease.holder is a machine of this registry that is active and not \
revoked.
Why it matters: instar's verifyLease never checks this, so a revoked machine's properly signed \
lease still verifies: a revoked machine can stay the authority.
What instar does: honours the lease if its signature verifies.
Fix: none offline (report): revoke or re-acquire on a live machine (`instar wakeup`).");

code!(
    LEASE_EXPIRED,
    "registry/lease-expired",
    Info,
    None,
    "the registry lease expired long ago",
    "What it checks (from 1.3.19): lease.expiresAt is further in the past than \
multiMachine.failoverTimeoutMinutes (default 15).
Why it matters: normal for a mesh that is stopped; on a running mesh it means no machine holds \
the lease.
What instar does: the next machine to start acquires a new lease with a higher epoch.
Fix: none (report)."
);

code!(LEASE_ROLE_LAG, "registry/lease-role-lag", Warning, None,
"the lease holder's registry role is not awake",
"What it checks (from 1.3.19): the holder of a verified, unexpired lease has role awake in the \
registry.
Why it matters: HEAD's authority is the lease; registry roles \"may lag\". Tools that read roles \
(including 0.28.x peers) disagree with the lease.
What instar does: catches up at the holder's next registry write.
Fix: none (report); it resolves itself at the next heartbeat of the holder.");

code!(
    REMOTE_IDENTITY,
    "registry/remote-identity",
    Warning,
    None,
    "a remote identity copy does not match its registry entry",
    "What it checks: every .instar/machines/<id>/identity.json (a peer's identity, stored at \
pairing): it parses, its machineId equals its folder name, its public keys are well-formed, the \
folder's id has a registry entry, and this machine's own copy (if any) has the same keys as \
identity.json.
Why it matters: peers' signatures, git allowed-signers and lease verification use these keys; a \
wrong copy makes a peer's requests and leases fail verification.
What instar does: storeRemoteIdentity writes them at pairing; a corrupt copy makes verifyLease \
return false.
Fix: none offline (report): re-pair the machine, or restore the copy from git history."
);

code!(
    HEARTBEAT_MISSING,
    "registry/heartbeat-missing",
    Info,
    None,
    "no heartbeat file",
    "What it checks: .instar/state/heartbeat.json on a machine with an identity (instar's own \
doctor: heartbeat \"missing\").
Why it matters: healthy before the first start of an awake machine, or on a standby-only mesh.
What instar does (0.28.x primary-standby): a standby that finds no heartbeat may fail over and \
promote itself.
Fix: none."
);

code!(
    HEARTBEAT_STALE,
    "registry/heartbeat-stale",
    Info,
    None,
    "the heartbeat has not been renewed recently",
    "What it checks: heartbeat.json's timestamp is more than 5 minutes old (two 2-minute write \
intervals missed) but expiresAt has not passed (instar's own doctor: \"stale\").
Why it matters: the awake machine may have stopped; failover follows at expiry.
What instar does: nothing until expiresAt.
Fix: none."
);

code!(
    HEARTBEAT_EXPIRED,
    "registry/heartbeat-expired",
    Info,
    None,
    "the heartbeat has expired",
    "What it checks: heartbeat.json's expiresAt is in the past (instar's own doctor: \"expired\").
Why it matters: normal when the agent is stopped. On a running mesh, a standby may now fail over.
What instar does: a standby promotes itself when the heartbeat is expired (rate-limited).
Fix: none."
);

code!(HEARTBEAT_INVALID, "registry/heartbeat-invalid", Warning, None,
"the heartbeat file is malformed or names an unknown holder",
"What it checks: heartbeat.json parses as {holder, role, timestamp, expiresAt} with ISO times, and \
its holder is a machine of the registry.
Why it matters: a heartbeat that cannot be read counts as missing: a standby may promote itself \
while the awake machine runs (split brain).
What instar does: HeartbeatManager rewrites it every 2 minutes on the awake machine.
Fix: none offline; the awake machine rewrites it.");

code!(STRAY_TEMP_FILE, "registry/stray-temp-file", Info, Some(Safe),
"a temp file of an interrupted registry or heartbeat write",
"What it checks: registry.json.tmp.<pid> and heartbeat.json.tmp.<pid> whose writer is not running.
Why it matters: hygiene; when the main file is broken, the temp file may be the good copy.
What instar does: ignores them.
Fix: when the main file parses, move the temp file to the doctor's quarantine (safe, undoable). \
When it does not and the temp file is a valid registry, promote it by rename (unsafe).");

json_hygiene_codes!("registry", "loadRegistry");

pub static ALL: &[&Code] = &[
    &MISSING,
    &UNREADABLE,
    &PARSE_ERROR,
    &DUPLICATE_KEY,
    &INVALID_UTF8,
    &INVALID_SHAPE,
    &MACHINES_NOT_OBJECT,
    &INVALID_ENTRY,
    &UNDEFINED_ENTRY,
    &SELF_MISSING,
    &SELF_REVOKED,
    &REVOKED_AWAKE,
    &SPLIT_BRAIN,
    &NO_AWAKE,
    &NICKNAME,
    &LEASE_INVALID,
    &LEASE_HOLDER_UNKNOWN,
    &LEASE_EXPIRED,
    &LEASE_ROLE_LAG,
    &REMOTE_IDENTITY,
    &HEARTBEAT_MISSING,
    &HEARTBEAT_STALE,
    &HEARTBEAT_EXPIRED,
    &HEARTBEAT_INVALID,
    &STRAY_TEMP_FILE,
];

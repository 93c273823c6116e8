//! Every code of the config check (spec §7.5), with its documentation for `list` and `explain`.

use crate::diag::Code;
use crate::fix::Applicability::{Manual, Safe, Unsafe};

code!(MISSING, "config/missing", Warning, Some(Unsafe),
"config.json does not exist",
"What it checks: that .instar/config.json exists (a dangling or looping symlink counts as absent, \
as instar's existsSync sees it).
Why it matters: the agent runs on defaults: port 4040, no authToken, no messaging, no scheduler \
settings.
What instar does (every version): loadConfig does not throw; every command carries on with \
defaults. Only commands that check for the file say \"Not initialized\".
Fix: when config.json.bak parses, restoring it is offered (unsafe: the backup predates the last \
migration). Otherwise manual: re-run `instar init`, or restore from git history.");

code!(UNREADABLE, "config/unreadable", Error, Some(Manual),
"config.json exists but cannot be read as a file",
"What it checks: that config.json is a readable regular file (not a directory, FIFO, socket or \
device; readable; of a sane size).
Why it matters: existsSync says yes, then readFileSync throws (a FIFO blocks forever).
What instar does (every version): loadConfig throws, so every command that loads the config aborts.
Fix: manual: move the object aside and put the real file back (or chmod u+r).");

code!(PARSE_ERROR, "config/parse-error", Error, Some(Unsafe),
"config.json is not valid JSON",
"What it checks: config.json with the exact rules of JavaScript's JSON.parse: a BOM, comments, \
trailing commas, NaN, an empty or truncated file and merge-conflict markers are errors.
Why it matters: nothing of the agent starts, and even `instar backup restore` refuses to run.
What instar does (every version): throws \"Failed to parse <path>\" before any component starts.
Fix: a BOM alone is stripped (safe). Merge-conflict markers: keep one side, when it parses \
(unsafe; the other side is described). Otherwise config.json.bak is restored when it parses \
(unsafe; the diff shows what is lost, usually the migrations since the backup). Never `{}`: that \
would lose authToken, contextSigningKey and the messaging setup.");

code!(
    ROOT_NOT_OBJECT,
    "config/root-not-object",
    Error,
    Some(Unsafe),
    "config.json's root is not an object",
    "What it checks: that the root of config.json is an object.
Why it matters: `null` crashes every command; an array, string, number or boolean silently acts \
as an empty config (no authToken, no messaging, default port).
What instar does (every version): a `null` root throws an uncaught TypeError; other non-objects \
load as an empty config.
Fix: restore config.json.bak when it holds an object (unsafe); otherwise manual."
);

code!(
    DUPLICATE_KEY,
    "config/duplicate-key",
    Warning,
    Some(Unsafe),
    "a key appears twice in one object of config.json",
    "What it checks: objects of config.json with the same key twice.
Why it matters: JSON.parse silently keeps the last value, so an edit to the first one has no \
effect (`{\"port\":1,\"port\":4050}` listens on 4050).
What instar does (every version): keeps the last occurrence.
Fix (unsafe): remove the earlier, ignored member."
);

code!(
    INVALID_UTF8,
    "config/invalid-utf8",
    Warning,
    None,
    "config.json holds bytes that are not UTF-8",
    "What it checks: byte sequences that are not UTF-8.
Why it matters: Node reads each as U+FFFD, so a token or path holding one is silently wrong.
What instar does (every version): loads the file with the replacement characters.
Fix: none automatic; re-save the file as UTF-8."
);

code!(WRONG_TYPE, "config/wrong-type", Warning, Some(Unsafe),
"a key instar reads has the wrong type",
"What it checks: config.json against the doctor's JSON Schema of instar's config at the version \
in use (checks/config/config.schema.json): sessions, scheduler and monitoring are objects, messaging \
and users are arrays, scheduler.enabled is a boolean, quotaThresholds has its four numbers, \
messaging adapters are objects with a type; sessions.framework a string from v0.28.114, \
enabledFrameworks an array of strings from v1.2.31, secrets.forceFileKey a boolean from v1.3.271, \
sessions.frameworkBinaryPaths an object of paths from v1.3.1169 (before those versions instar \
does not read the key, so no value there is wrong). Unknown keys are tolerated, exactly as instar \
tolerates them, and the sections HEAD's ConfigDefaults backfills are never flagged.
Why it matters: loadConfig validates no types; a wrong type loads and breaks later (a messaging \
object makes every `.some`/`.find` caller throw; a string scheduler.enabled is truthy).
What instar does (every version): accepts the file.
Fix: wrapping a single messaging object in an array is offered (unsafe); other repairs are manual.");

code!(
    PORT_COERCED,
    "config/port-coerced",
    Warning,
    Some(Unsafe),
    "port is not a number instar uses as written",
    "What it checks: `port`, which the loader reads as `port || 4040`.
Why it matters: 0, \"\", null and false silently become 4040; a numeric string stays a string \
(Node's listen accepts it, but clients and the dashboard compare numbers).
What instar does (every version): the coercion above; nothing is reported.
Fix (unsafe, it changes what is written): a numeric string becomes the number; a falsy value \
becomes 4040, the port instar already uses."
);

code!(INVALID_PORT, "config/invalid-port", Error, Some(Manual),
"port cannot be listened on",
"What it checks: a truthy `port` outside 1..=65535 or not an integer (-1, 70000, 1.5, 1e400, \
a non-numeric string, an object).
Why it matters: the server's listen() throws RangeError, so the agent's API never comes up.
What instar does (every version): passes it through; `1e400` becomes Infinity and the contextSigningKey \
writeback rewrites it as null.
Fix: manual: choose a free port (4040 and up is what init allocates).");

code!(FETCH_BLOCKED_PORT, "config/fetch-blocked-port", Error, Some(Manual),
"port is one that node's fetch refuses, e.g. 4045",
"What it checks: `port` (a number or a numeric string) on the WHATWG fetch bad-ports list; 4045 \
sits inside instar's own default range 4040-4099.
Why it matters: the server listens, but node's fetch refuses the port: the multi-machine mesh, \
the lifeline's /health probe and its forwarding to the server fail, while curl works.
What instar does: newer versions log a warning at startup; nothing re-ports the agent.
Fix (manual): choose a free port off the list, update the agent's registry entry, restart it. \
The machine area reports registry reservations of such ports that no config shows \
(machine/fetch-blocked-port).");

code!(UNRESOLVED_SECRET, "config/unresolved-secret", Error, Some(Manual),
"a {\"secret\": true} placeholder cannot be resolved",
"What it checks: `{\"secret\": true}` placeholders (written by SecretMigrator) while \
.instar/secrets/config.secrets.enc is missing, or the master key is (.instar/machine/secrets-master.key \
absent and, off macOS, no keychain).
Why it matters: the placeholder object is used as the value: a Telegram token of `{secret:true}`.
What instar does: v0.28.x swallows the merge error and the placeholders leak into the runtime \
config (silent). From v1.3.281 boot fails fast (\"Secrets cannot be resolved for boot-critical config \
fields\") when the field is an enabled adapter's token/chatId/botToken/appToken, or authToken with a \
non-loopback host; other placeholders are reported as a degradation (silent).
Fix: manual: the values must come from the user or a paired peer (`instar pair`).");

code!(STALE_PATH, "config/stale-path", Warning, Some(Unsafe),
"an absolute path points into another project folder",
"What it checks: relationships.relationshipsDir, feedback.feedbackFile, dispatches.dispatchFile, \
sessions.projectDir, and a scheduler.jobsFile that exists but belongs to another project (a \
missing one is jobs/stale-jobs-file), against the current project folder.
Why it matters: after a move or a sync from another machine, relationships, feedback and \
dispatches are read from and written to the old place, or fail.
What instar does (every version): uses the paths verbatim (sessions.projectDir alone is \
overridden with the real folder, so it is only informational).
Fix (unsafe): rewrite the old prefix to the current project folder.");

code!(
    MISSING_BINARY,
    "config/missing-binary",
    Error,
    Some(Unsafe),
    "a configured tmux or framework binary does not exist",
    "What it checks: sessions.tmuxPath and sessions.claudePath (every version), and from v1.3.1169 \
sessions.frameworkBinaryPaths, against the disk. With --deep, also what instar looks up on PATH \
when nothing is configured: tmux, and the selected framework's binary (claude's before v0.28.114; \
from it the one sessions.framework or INSTAR_FRAMEWORK names, from v1.2.31 else the first of \
enabledFrameworks; gemini-cli from v1.3.203, pi-cli from v1.3.344, grok-build from v1.3.1169).
Why it matters: configured paths are never existence-checked, so every session spawn fails later.
What instar does: every version uses tmuxPath/claudePath verbatim. From v1.3.1169 an absolute \
frameworkBinaryPaths entry that does not exist is dropped (with a warning) and PATH is used; if \
PATH has nothing either, the prerequisite check throws at boot. Before, that key is not read.
Fix (unsafe): remove the key so instar auto-detects the binary."
);

code!(
    PERMISSIONS,
    "config/permissions",
    Warning,
    Some(Safe),
    "config.json holds secrets and is readable by others",
    "What it checks: the mode of config.json when it holds plaintext secrets (authToken, PIN, bot \
tokens): 0600 expected.
Why it matters: other local users can read the API token.
What instar does: project init writes 0600, but every tmp+rename rewrite (PostUpdateMigrator, \
LiveConfig) leaves 0644, so the drift is normal after an update.
Fix: chmod 600 (safe: tightening only), when the file belongs to the agent user (the owner of \
.instar/); otherwise chown is manual."
);

code!(SECRET_TRACKED, "config/secret-tracked-by-git", Warning, Some(Manual),
"config.json with plaintext secrets is tracked by git",
"What it checks: whether .git/index lists .instar/config.json while it holds plaintext secrets \
(read from the index file itself; git is never run).
Why it matters: the tokens are in the history and in every clone and push.
What instar does: project init gitignores .instar/config.json; a forced add or an older \
.gitignore defeats it.
Fix: manual: `git rm --cached .instar/config.json`, add it to .gitignore, and rotate every token \
it held.");

code!(
    HOST_WITHOUT_AUTH,
    "config/host-without-auth",
    Warning,
    Some(Manual),
    "a non-loopback host is configured without authToken",
    "What it checks: `host` other than 127.0.0.1, localhost or ::1 while authToken is missing or \
empty.
Why it matters: the agent's API is reachable from the network without authentication.
What instar does (every version): logs a warning (\"exposes the API without authentication\") and \
starts anyway.
Fix: manual: set an authToken, or bind to 127.0.0.1."
);

code!(DEPRECATED, "config/deprecated", Warning, Some(Safe),
"a key HEAD's PostUpdateMigrator rewrites",
"What it checks: top-level maxSessions (from v1.2.53), mentor.dailySpendCapUsd (from v1.3.42), \
and the legacy feedback webhook URL (from v1.3.561).
Why it matters: a top-level maxSessions is ignored by the loader (sessions.maxSessions stays 10); \
the legacy feedback URL no longer receives feedback.
What instar does: the next update's migrator applies the same transformation.
Fix: the migrator's own transformation: move maxSessions into sessions (safe; when both exist the \
canonical value wins and the legacy key is deleted: unsafe), repoint the feedback URL (safe), \
delete mentor.dailySpendCapUsd (unsafe: it deletes a key).");

code!(
    SCHEDULER_DEFAULT,
    "config/scheduler-default",
    Info,
    None,
    "scheduler.enabled is unset, and its default flips at v1.2.53",
    "What it checks: whether scheduler.enabled is absent.
Why it matters: absent means off up to v1.2.52 and on from v1.2.53, so an upgrade silently starts \
(or a downgrade stops) every job, and makes a broken jobs.json fatal.
What instar does: v0.28.x defaults to false; HEAD to true (ConfigDefaults also backfills it).
Fix: none (report). Set it explicitly to keep the behaviour across upgrades."
);

code!(
    CONTEXT_SIGNING_KEY,
    "config/context-signing-key",
    Info,
    None,
    "contextSigningKey is missing or not 64 hex digits",
    "What it checks: contextSigningKey, the HMAC key of signed context files.
Why it matters: missing is normal before the first load. A malformed key still works as an HMAC \
key, but it was not written by instar.
What instar does (every version): the first loadConfig generates 32 random bytes and rewrites the \
file in place (non-atomically).
Fix: none. A missing key is left to instar; changing a malformed one would invalidate every \
signed context file, so it is only reported."
);

code!(
    STRAY_TEMP_FILE,
    "config/stray-temp-file",
    Info,
    Some(Safe),
    "a temp file of an interrupted config write is left over",
    "What it checks: config.json.tmp (PostUpdateMigrator), config.json.<pid>.tmp (LiveConfig) and \
.config.json.<pid>.<ms>.tmp (HEAD's SafeFsExecutor).
Why it matters: a crash between write and rename leaves it; it may hold secrets.
What instar does: ignores it.
Fix: move it to the doctor's quarantine (safe) when config.json itself parses and the writer is \
gone; otherwise it may be the only good copy and is left for a human."
);

code!(
    BACKUP_NEWER,
    "config/backup-newer",
    Info,
    None,
    "config.json.bak is newer than config.json",
    "What it checks: the modification times of config.json.bak and config.json.
Why it matters: the migrator writes the .bak just before its rewrite, so a newer .bak means the \
rewrite did not land (a crash, or a hand edit restored an old copy).
What instar does: nothing; the .bak is never read.
Fix: none here; when config.json does not parse, config/parse-error offers the restore."
);

pub static ALL: &[&Code] = &[
    &MISSING,
    &UNREADABLE,
    &PARSE_ERROR,
    &ROOT_NOT_OBJECT,
    &DUPLICATE_KEY,
    &INVALID_UTF8,
    &WRONG_TYPE,
    &PORT_COERCED,
    &INVALID_PORT,
    &FETCH_BLOCKED_PORT,
    &UNRESOLVED_SECRET,
    &STALE_PATH,
    &MISSING_BINARY,
    &PERMISSIONS,
    &SECRET_TRACKED,
    &HOST_WITHOUT_AUTH,
    &DEPRECATED,
    &SCHEDULER_DEFAULT,
    &CONTEXT_SIGNING_KEY,
    &STRAY_TEMP_FILE,
    &BACKUP_NEWER,
];

//! Every code of the boot check (spec §8.6), with its documentation for `list` and `explain`.

use crate::diag::Code;
use crate::fix::Applicability::{Manual, Safe, Unsafe};

code!(MISSING, "boot/missing", Error, Some(Safe),
"a boot wrapper is missing",
"What it checks: .instar/instar-boot.sh and the Node wrapper the version's extension rule names: \
before v1.1.2 instar-boot.cjs when the project's package.json has \"type\": \"module\", else \
instar-boot.js; from v1.1.2 always instar-boot.cjs (a leftover .js does not count).
Why it matters: on macOS launchd starts the agent through the Node wrapper; without it the agent \
does not start. On Linux systemd runs node directly, so a missing wrapper is low severity (info).
What instar does: the lifeline regenerates a missing wrapper when it starts (macOS only).
Fix: the doctor writes its own wrapper, built from the behaviour instar's own wrapper has for the \
version in use (HEAD's three markers included), never a copy of instar's template. Creating a \
missing file is safe when the shadow install exists and the launchd plist agrees with the rule; \
otherwise unsafe. Running the agent's own installer instead is described in the help (manual).");

code!(UNREADABLE, "boot/unreadable", Error, Some(Manual),
"a boot wrapper path is not a readable file",
"What it checks: that each wrapper is a readable regular file (not a directory, FIFO, dangling \
link).
Why it matters: launchd or a human running it gets an error instead of the agent.
What instar does: ensureBootWrapper sees the path exists and does not regenerate it.
Fix: manual: move the object aside; the doctor then offers to write the wrapper.");

code!(EXTENSION_DRIFT, "boot/extension-drift", Error, Some(Unsafe),
"the launchd plist and the extension rule disagree",
"What it checks (macOS): the wrapper the plist's ProgramArguments[1] names against the files and \
the version's extension rule. Before v1.1.2 instar deletes the other extension whenever it writes its boot wrappers, so a \
project that gains \"type\": \"module\" loses the instar-boot.js its plist runs (\"agent goes dark\"); \
a .js kept under \"type\": \"module\" is loaded as an ES module and its require() fails.
Why it matters: launchd runs a file that is missing or cannot load.
What instar does: v0.28.x deletes the other extension on every install; from v1.1.2 the wrapper \
is always .cjs, the .js is kept and the migrator rewrites the plist.
Fix (unsafe): write the file the plist references (our own wrapper); re-pointing the plist \
(`instar setup`, then launchctl bootout/bootstrap) is a manual step.");

code!(DAMAGED, "boot/damaged", Error, Some(Unsafe),
"a boot wrapper is truncated or lacks the required behaviour",
"What it checks, from the content alone: the shebang, CommonJS require, the shadow-install CLI \
path (absolute or __dirname/$SCRIPT_DIR-relative, both healthy), the crash file, the spawn of the \
shadow CLI, and balanced brackets, quotes, if/fi (a file cut off mid-write).
Why it matters: a partial write (instar's wrapper writes are not atomic) leaves a wrapper that \
fails to parse, so the agent never starts.
What instar does: ensureBootWrapper only checks that the files exist; a damaged one stays.
Fix (unsafe: it overwrites an existing file): write the doctor's own wrapper for this version.");

code!(
    SYNTAX_ERROR,
    "boot/syntax-error",
    Error,
    Some(Unsafe),
    "`node --check` or `bash -n` rejects a wrapper (--deep)",
    "What it checks (only with --deep, which spawns the interpreters): `node --check` on the Node \
wrapper and `bash -n` on instar-boot.sh.
Why it matters: the interpreter refuses to run the wrapper, so the agent never starts.
What instar does: nothing; HEAD's migrator only regenerates wrappers that lack its markers.
Fix (unsafe: it overwrites an existing file): write the doctor's own wrapper for this version."
);

code!(
    DEEP_SKIPPED,
    "boot/deep-skipped",
    Info,
    None,
    "a --deep probe could not run because its interpreter is absent",
    "What it checks: nothing; it says that a --deep check (node --check, bash -n, running \
.instar/bin/node --version) was skipped because node or bash is not installed on this host.
Why it matters: the content checks still ran; only the interpreter's own verdict is missing.
What instar does: n/a.
Fix: none; install the interpreter to get the verdict."
);

code!(STALE_MARKERS, "boot/stale-markers", Warning, Some(Unsafe),
"the Node wrapper lacks markers of this version's template",
"What it checks: the strings HEAD's migrateBootWrapperAbiCheck looks for, each from the version \
that introduced it: \"cannot load better-sqlite3 (ABI drift)\" (v1.2.52), \"version-managed node \
candidates\" (v1.3.149), \"npm_config_scripts_prepend_node_path\" (v1.3.198). The __dirname \
variant found in the wild lacks them too.
Why it matters: the wrapper misses the node self-heal and reinstall fixes of its version.
What instar does: at HEAD, on macOS, the next update regenerates a wrapper missing any marker.
Fix (unsafe: it overwrites an existing wrapper): write the doctor's own wrapper, which carries \
the markers of the version in use.");

code!(STALE_PATH, "boot/stale-path", Error, Some(Unsafe),
"a wrapper's baked paths point at another project folder",
"What it checks: absolute paths baked into the wrappers (SHADOW, CRASH_FILE, the node symlink…) \
against this project folder.
Why it matters: after a move or copy the wrapper runs another project's shadow install, or \
nothing.
What instar does: nothing; the content is only regenerated when a file is missing.
Fix (unsafe): write the doctor's own wrapper with this project's paths; the launchd plist needs \
regenerating too (`instar setup`: manual).");

code!(NOT_EXECUTABLE, "boot/not-executable", Warning, Some(Safe),
"a wrapper has lost its exec bit",
"What it checks: the exec bits of instar-boot.sh (warning: it is run directly, by hand or by a \
unit) and of the Node wrapper (info: launchd runs it through node).
Why it matters: `./instar-boot.sh` fails with \"permission denied\".
What instar does: writeFileSync's mode applies only when it creates the file, so a regenerated \
wrapper keeps a lost exec bit.
Fix: chmod 755 (safe).");

code!(
    NOT_OWNED,
    "boot/not-owned",
    Warning,
    Some(Manual),
    "a wrapper is not owned by the agent user",
    "What it checks: the wrapper's owner against the owner of .instar/.
Why it matters: the agent user cannot regenerate it; someone else can change what boots the agent.
What instar does: its rewrite fails with EACCES.
Fix: manual: chown it to the agent user."
);

code!(
    NODE_LINK,
    "boot/node-link",
    Error,
    Some(Manual),
    "the node symlink .instar/bin/node is missing, dangling or not executable",
    "What it checks: .instar/bin/node resolves to an existing executable file (read from the file \
system); with --deep it is also run with --version.
Why it matters: on macOS it is the plist's ProgramArguments[0]: launchd cannot start anything \
without it. On Linux only the wrapper's self-heal uses it (info).
What instar does: the wrapper re-links it on start (best effort), but launchd needs it first.
Fix: manual: re-link it to a node of the same major version as the shadow install's native \
modules (instar's ensureStableNodeSymlink); crossing a major version breaks better-sqlite3."
);

code!(SHADOW_MISSING, "boot/shadow-missing", Error, Some(Manual),
"the shadow install's cli.js is missing",
"What it checks: .instar/shadow-install/node_modules/instar/dist/cli.js, the file every wrapper \
runs, when a wrapper or plist exists.
Why it matters: the wrapper has nothing to run.
What instar does: before v0.28.113 the wrapper prints \"Shadow install not found\" and exits 1 \
(fatal); from v0.28.113 it tries one `npm install` (debounced 5 minutes), which needs the network \
(silent until that fails).
Fix: manual: `npm install instar --prefix .instar/shadow-install` (the doctor never uses the \
network).");

code!(HEAL_MARKER, "boot/heal-marker", Warning, Some(Unsafe),
"a recent reinstall attempt failed and is debounced",
"What it checks (from v0.28.113): .instar/shadow-install.heal-attempted is under 5 minutes old \
while the shadow install is still missing.
Why it matters: the wrapper will not retry the reinstall until the marker expires.
What instar does: writes the marker before each attempt and skips attempts for 5 minutes.
Fix (unsafe): move the marker to quarantine so that the next start retries at once.");

code!(
    CRASH_LOOP,
    "boot/crash-loop",
    Warning,
    None,
    "boot-crashes.txt shows a live crash loop",
    "What it checks: .instar/state/boot-crashes.txt holding 3 or more crash times within the last \
120 seconds.
Why it matters: the agent is crashing on start; the wrapper is sleeping between attempts.
What instar does: the wrapper records each non-zero exit and backs off up to 120 seconds.
Fix: none (report): read .instar/logs/*-launchd.err for the cause."
);

code!(PLIST, "boot/plist", Error, Some(Manual),
"the launchd plist is missing, unreadable or points elsewhere",
"What it checks (macOS): ~/Library/LaunchAgents/ai.instar.<projectName>.plist parses (XML), its \
ProgramArguments[0] is .instar/bin/node, [1] an existing wrapper, and --dir this project.
Why it matters: launchd starts the agent exactly as the plist says.
What instar does: `instar setup` writes it; HEAD's migrator rewrites a plist still naming \
instar-boot.js.
Fix: manual: `instar setup` (installAutoStart), then launchctl bootout and bootstrap; the doctor \
never changes launchd state.");

pub static ALL: &[&Code] = &[
    &MISSING,
    &UNREADABLE,
    &EXTENSION_DRIFT,
    &DAMAGED,
    &SYNTAX_ERROR,
    &DEEP_SKIPPED,
    &STALE_MARKERS,
    &STALE_PATH,
    &NOT_EXECUTABLE,
    &NOT_OWNED,
    &NODE_LINK,
    &SHADOW_MISSING,
    &HEAL_MARKER,
    &CRASH_LOOP,
    &PLIST,
];

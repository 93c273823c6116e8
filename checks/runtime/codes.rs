//! Every code of the runtime check (hazards #1, #12, #13, #23, #27, #31), with its documentation
//! for `list` and `explain`.

use crate::diag::Code;
use crate::fix::Applicability::{Manual, Safe};

code!(
    SQLITE_ABI_MISMATCH,
    "runtime/sqlite-abi-mismatch",
    Error,
    Some(Manual),
    "better-sqlite3's native module was built for another Node ABI than `.instar/bin/node`",
    "What it checks: the node_register_module_v<N> symbol inside each better_sqlite3.node of the \
shadow install (the hoisted copy and the one nested under instar), against the ABI of the node \
.instar/bin/node resolves to: NODE_MODULE_VERSION in that node's include/node/node_version.h, \
else the Node major version in its path. The .node file is scanned in chunks, never loaded.
Why it matters: Node refuses to load the module, so memory, topic and feature databases degrade \
without an alarm (one agent had SQLite offline for 16 hours).
What instar does: the server runs its fix script and the supervisor retries a rebuild at each \
spawn; both fail without a prebuilt binary or a compiler, and the supervisor's retry fails where \
npm is a mise or asdf shell wrapper.
Fix (manual, it needs the network): `npm rebuild better-sqlite3 --prefix .instar/shadow-install` \
with the node of .instar/bin/node first on PATH."
);

code!(
    SQLITE_HEAL_GAVE_UP,
    "runtime/sqlite-heal-gave-up",
    Error,
    Some(Safe),
    "instar's better-sqlite3 self-heal has given up for this Node ABI",
    "What it checks: better-sqlite3/.instar-fix-state.json in the shadow install with lastResult \
\"source-failed\" for the Node ABI in use (its key is <version>|<abi>|<platform>|<arch>).
Why it matters: instar's fix script stops for good once both the prebuilt download and the \
source build failed for this combination; SQLite stays degraded even after the cause (a missing \
compiler, no network) is gone.
What instar does: the script prints \"Not retrying\" and asks for the file to be removed.
Fix (safe): move the state file to quarantine; this only re-arms instar's own heal, which runs \
at the next server start."
);

code!(
    NODE_LINK_VERSIONED,
    "runtime/node-link-versioned",
    Warning,
    Some(Manual),
    "`.instar/bin/node` points into a versioned or version-manager node install",
    "What it checks: where the .instar/bin/node symlink points: a Homebrew Cellar version folder, \
an opt/node@N keg, nvm, asdf or mise installs. (Whether a stable node exists is not \
looked up: the finding and its fix are the same on every machine.)
Why it matters: the package manager deletes that folder on upgrade or uninstall; launchd then \
cannot start the agent and the native-module heal fails with ENOENT (one agent lost its \
knowledge graph this way).
What instar does: the boot wrapper re-links to a stable path after a successful start, only when \
one exists.
Fix (manual): `ln -sfn /opt/homebrew/bin/node .instar/bin/node` (or /usr/local/bin/node), \
keeping the same Node major version so better-sqlite3 still loads."
);

code!(
    LIFELINE_STALE,
    "runtime/lifeline-stale",
    Warning,
    Some(Manual),
    "the running lifeline is older code than the shadow install",
    "What it checks: .instar/lifeline-started-at.json {pid, version}: the pid is alive and its \
major.minor version differs from the shadow install's.
Why it matters: the server refuses the old lifeline's forwards (HTTP 426): Telegram messages are \
dropped (21 hours on one agent).
What instar does: from v1.2.37 an update writes a restart signal; on macOS the fleet watchdog or \
the lifeline itself acts on it. Where nothing consumes it the old lifeline runs on.
Fix (manual): `instar lifeline restart`."
);

code!(
    UPDATE_STRAND,
    "runtime/update-strand",
    Warning,
    Some(Manual),
    "the auto-updater recorded a version the shadow install does not have",
    "What it checks: .instar/state/auto-updater.json lastAppliedVersion against the version in \
.instar/shadow-install/node_modules/instar/package.json.
Why it matters: the agent runs the old version while the updater believes it applied the new \
one, so it never tries again.
What instar does: from v1.3.649 it detects the strand and notifies; nothing re-applies the \
update.
Fix (manual): `npm install instar@<lastAppliedVersion> --prefix .instar/shadow-install`, then \
restart the agent."
);

code!(LOCAL_INSTAR, "runtime/local-instar", Warning, Some(Manual),
"a project-local `node_modules/instar` shadows the agent's own install",
"What it checks: <project>/node_modules/instar/package.json in a project that is not the instar \
source tree (no .instar-source-tree marker).
Why it matters: commands run in the project load the stale local copy, so auto-updates never \
take effect.
What instar does: prints a warning at start-up only.
Fix (manual): `npm uninstall instar` in the project (instar's own advice, deleting node_modules \
and the lock file, is destructive).");

code!(
    QUARANTINE_XATTR,
    "runtime/quarantine-xattr",
    Warning,
    Some(Manual),
    "macOS: the shadow install's cli.js carries the com.apple.quarantine attribute",
    "What it checks (macOS): the com.apple.quarantine extended attribute on \
.instar/shadow-install/node_modules/instar/dist/cli.js.
Why it matters: macOS can refuse to run downloaded files with EPERM, which put agents into a \
rapid crash loop after an auto-update.
What instar does: strips the attributes after each install and from the boot wrapper, at every \
known version; a copy made by other means keeps them.
Fix (manual): `xattr -dr com.apple.quarantine .instar/shadow-install`."
);

pub static ALL: &[&Code] = &[
    &SQLITE_ABI_MISMATCH,
    &SQLITE_HEAL_GAVE_UP,
    &NODE_LINK_VERSIONED,
    &LIFELINE_STALE,
    &UPDATE_STRAND,
    &LOCAL_INSTAR,
    &QUARANTINE_XATTR,
];

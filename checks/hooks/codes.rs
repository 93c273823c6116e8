//! Every code of the hooks check (hazards #2, #3, #5, #14, #15), with its documentation for
//! `list` and `explain`.

use crate::diag::Code;
use crate::fix::Applicability::{Manual, Unsafe};

code!(
    SETTINGS_INVALID,
    "hooks/settings-invalid",
    Error,
    Some(Unsafe),
    "`.claude/settings.json` holds merge-conflict markers or is not valid JSON",
    "What it checks: that .claude/settings.json, where Claude Code reads the agent's hooks, is a \
readable file that parses as JSON, and whether it still holds git merge-conflict markers.
Why it matters: Claude Code cannot load the file. One agent had every session crash at start-up \
while its server and lifeline looked healthy; where it does start, no hook (so no guardrail) runs.
What instar does: at every known version the supervisor's start-up check deletes the marker \
lines (keeping both sides) and saves the result only when it parses; any other invalid JSON is \
logged as needing a manual fix. Until the next supervisor start the sessions stay broken.
Fix (unsafe): delete the marker lines exactly as instar does, offered only when the result \
parses; both sides of each conflict are kept, so read the result. Otherwise manual: repair the \
JSON by hand (or take it back from git)."
);

code!(
    HTTP_HOOK_UNRESOLVED,
    "hooks/http-hook-unresolved",
    Error,
    Some(Unsafe),
    "a `type: \"http\"` hook's url holds an unresolved `${…}`",
    "What it checks: hook entries of .claude/settings.json with \"type\": \"http\" whose url \
contains `${` (such as ${INSTAR_SERVER_URL}/hooks/…), which Claude Code does not expand.
Why it matters: Claude Code skips the whole settings file when one hook url is invalid, so \
every hook of the agent goes dark without a message.
What instar does: early versions wrote these entries; later updates migrate them to command \
hooks (hook-event-reporter.js), but an agent that has not migrated keeps them.
Fix (unsafe): remove the http entry; `instar migrate` then installs the command-hook \
replacement."
);

code!(
    ESM_REQUIRE,
    "hooks/esm-require",
    Error,
    Some(Manual),
    "a `.js` hook calls `require(` in a `\"type\": \"module\"` project",
    "What it checks: .js hook files under .instar/hooks/ and .claude/hooks/ when the nearest \
package.json above them says \"type\": \"module\", for a bare require( call outside comments \
and strings (files that define require themselves with createRequire, or test typeof require, \
are left alone).
Why it matters: Node loads the file as an ES module, where require is not defined: the hook \
throws on every run. Claude Code treats the non-zero exit as non-blocking, so the guardrail looks \
installed and does nothing (a fleet-wide outage of eight guardrails).
What instar does: from v1.3.28 the built-in hooks it generates use dynamic import() instead, and \
each update rewrites the built-in hooks under .instar/hooks/instar/; custom hooks are never \
touched.
Fix (manual): for built-in hooks run `instar migrate` (or update instar) to regenerate them; \
rewrite a custom hook with `await import(...)`, or rename it to .cjs and update its settings \
entry."
);

code!(
    SYNTAX_ERROR,
    "hooks/syntax-error",
    Error,
    Some(Manual),
    "`node --check` rejects a hook file (--deep)",
    "What it checks (only with --deep, which spawns node): `node --check` on each .js, .cjs and \
.mjs hook file under .instar/hooks/instar/.
Why it matters: a hook that does not parse fails on every run, and Claude Code carries on as if \
it had passed (a stray `})();` once broke a Stop hook fleet-wide).
What instar does: each update rewrites the built-in hooks; a custom hook is never touched.
Fix (manual): `instar migrate` for built-in hooks; edit a custom hook by hand."
);

code!(
    GUARDRAIL_UNWIRED,
    "hooks/guardrail-unwired",
    Warning,
    Some(Manual),
    "a guardrail hook is on disk but no `.claude/settings.json` entry runs it",
    "What it checks: each canonical PreToolUse guardrail instar installs under \
.instar/hooks/instar/ (dangerous-command-guard.sh, grounding-before-messaging.sh, \
deferral-detector.js, self-stop-guard.js, external-communication-guard.js, \
post-action-reflection.js, pr-hand-lease-guard.js, doorway-scan-guard.js) that exists on disk \
while no command in .claude/settings.json names it.
Why it matters: the guardrail looks installed and never fires. Every agent created before \
v1.3.32 had four of them in this state.
What instar does: from v1.3.32 each update appends the missing entries to the Bash matcher \
(never reordering or removing any).
Fix (manual): `instar migrate` (or the next update) appends the canonical entries; to keep a \
guardrail off on purpose, delete its file instead."
);

code!(
    WIRED_MISSING,
    "hooks/wired-missing",
    Warning,
    Some(Manual),
    "a `.claude/settings.json` hook command runs a file that does not exist",
    "What it checks: commands in .claude/settings.json that run a file of this project \
(${CLAUDE_PROJECT_DIR}/… or the project's absolute path) under .instar/hooks/, .claude/hooks/ \
or .claude/scripts/, where that file is missing.
Why it matters: the command fails on every tool call and Claude Code carries on: whatever the \
hook guarded is unguarded.
What instar does: nothing; its migrations add entries and files but never check them against \
each other.
Fix (manual): `instar migrate` restores instar's own hook files; otherwise remove the entry or \
put the file back."
);

code!(RELAY_STRANDED, "hooks/relay-stranded", Warning, Some(Unsafe),
"a relay script is stranded on an old template (a `.new` candidate beside it, or a known old copy)",
"What it checks: telegram-reply.sh, slack-reply.sh and whatsapp-reply.sh in .claude/scripts/ \
and .instar/scripts/: a `<script>.new` beside the live script, or a live telegram-reply.sh whose \
SHA-256 is the one instar shipped before the relay read its port from config (port 4040 by \
default, no agent-id header).
Why it matters: the old template posts to port 4040 unless told otherwise; on a machine with \
several agents that is another agent's server, which received one agent's reply with the wrong \
token and the message was lost.
What instar does: an update overwrites a verbatim old copy; a customised script is never \
overwritten: the new template is written beside it as .new and left for a human.
Fix (unsafe, for a .new candidate): move the live script to quarantine and put the .new in its \
place (undo restores it); merge your customisations back by hand. A known old copy: \
`instar migrate` replaces it.");

code!(
    STALE_PORT,
    "hooks/stale-port",
    Warning,
    Some(Unsafe),
    "a script, skill, custom hook or job names an instar port other than config.json's",
    "What it checks: `localhost:NNNN` and `127.0.0.1:NNNN` with NNNN in instar's port range \
4040-4099 that differs from config.json's port, in .claude/skills/*/SKILL.md, .claude/scripts/, \
.instar/scripts/, custom hooks (.claude/hooks/, .instar/hooks/ outside instar/) and jobs.json. \
Files over 1 MiB and folders past 256 entries are not read.
Why it matters: jobs whose gate probes the wrong port skip forever, skills time out with \
ECONNREFUSED, and a script can reach another agent's server with this agent's token.
What instar does: updates rewrite the built-in jobs, default skills and shipped scripts; user \
jobs, custom skills and customised scripts are never repaired.
Fix (unsafe): replace the number with config.json's port."
);

pub static ALL: &[&Code] = &[
    &SETTINGS_INVALID,
    &HTTP_HOOK_UNRESOLVED,
    &ESM_REQUIRE,
    &SYNTAX_ERROR,
    &GUARDRAIL_UNWIRED,
    &WIRED_MISSING,
    &RELAY_STRANDED,
    &STALE_PORT,
];

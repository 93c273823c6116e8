//! Every code of the jobs check, with its documentation for `list` and `explain`.

use crate::diag::Code;
use crate::fix::Applicability::{Manual, Safe, Unsafe};

code!(MISSING, "jobs/missing", Info, Some(Unsafe),
"jobs.json does not exist",
"What it checks: whether the jobs file (scheduler.jobsFile, else .instar/jobs.json) exists.
Why it matters: usually it does not; instar boots with no jobs. It matters when jobs were expected.
What instar does: since v0.28.44 a missing file is treated as an empty list with a warning \
(\"Jobs file not found\"); at HEAD the per-slug manifests still load.
Fix: none is needed. When a backup exists (.instar/jobs.json.pre-migrate-*, .instar/backups/*/jobs.json) \
the doctor offers to restore the newest one (unsafe: it brings back jobs that may have been removed on purpose).");

code!(STALE_JOBS_FILE, "jobs/stale-jobs-file", Error, Some(Unsafe),
"scheduler.jobsFile points at a file that does not exist",
"What it checks: config.json's scheduler.jobsFile, which init writes as an absolute path, against \
the disk. Relative values resolve against the project folder.
Why it matters: after the project is moved or renamed the old path is gone, and instar silently \
runs no jobs at all.
What instar does (every version): reads the setting verbatim, warns \"Jobs file not found\" and \
treats the list as empty.
Fix (unsafe, it edits config.json): repoint scheduler.jobsFile at this project's .instar/jobs.json.");

code!(UNREADABLE, "jobs/unreadable", Error, Some(Safe),
"the jobs file cannot be read as a file",
"What it checks: that the jobs file is a readable regular file: not a directory, FIFO, socket or \
device, not unreadable, not larger than Node can hold as a string.
Why it matters: instar's existsSync says yes, then readFileSync throws (or blocks forever on a \
FIFO), so the scheduler cannot start.
What instar does: JobScheduler.start() throws and server startup fails while the scheduler is on.
Fix: for missing read permission, chmod u+rw (safe). Anything else is manual: put a real file there.");

code!(
    DANGLING_SYMLINK,
    "jobs/dangling-symlink",
    Error,
    None,
    "the jobs file is a symlink to nothing",
    "What it checks: a jobs file that is a symlink whose target is missing or that loops.
Why it matters: existsSync follows the link, so instar thinks there is no file and silently runs \
no jobs.
What instar does: warns \"Jobs file not found\" and loads an empty list.
Fix: manual; restore the link's target or replace the link with the real file."
);

code!(PARSE_ERROR, "jobs/parse-error", Error, Some(Unsafe),
"jobs.json is not valid JSON",
"What it checks: the jobs file with the exact rules of JavaScript's JSON.parse: a BOM, comments, \
trailing commas, NaN, an empty or truncated file and merge-conflict markers are all errors.
Why it matters: the whole file is lost to the scheduler.
What instar does (every version): throws \"Failed to parse jobs file\"; server start fails while \
the scheduler is enabled on an awake machine.
Fix: a BOM alone is stripped (safe, lossless). Merge-conflict markers: both sides are parsed and \
merged by slug (unsafe). Otherwise the newest parseable backup is restored (unsafe) or, with none, \
restore from git history by hand (manual). The doctor never truncates the file to [].");

code!(
    NOT_AN_ARRAY,
    "jobs/not-an-array",
    Error,
    Some(Unsafe),
    "the jobs file's root is not an array",
    "What it checks: that the root of the jobs file is a JSON array.
Why it matters: `{\"jobs\": [...]}`, null, strings and numbers are rejected as a whole.
What instar does (every version): throws \"Jobs file must contain a JSON array, got <type>\".
Fix (unsafe): unwrap `{\"jobs\": [...]}` to its array; other roots need a manual repair."
);

code!(
    ENTRY_NOT_OBJECT,
    "jobs/entry-not-object",
    Error,
    Some(Unsafe),
    "a jobs entry is not an object",
    "What it checks: every entry of the array is an object (validateJob's first rule).
Why it matters / what instar does: before v0.28.64 the first invalid entry makes the whole load \
throw; from v0.28.64 the entry is skipped with an error log.
Fix (unsafe): move the entry to .instar/doctor/quarantine/<run>/jobs.invalid.json."
);

code!(
    MISSING_FIELD,
    "jobs/missing-field",
    Error,
    Some(Unsafe),
    "a required job field is missing or blank",
    "What it checks: slug, name, description and schedule are strings that are non-empty after \
JavaScript's trim (which also strips U+FEFF and NBSP, unlike Rust's).
Why it matters / what instar does: validateJob fails: fatal before v0.28.64, the entry is skipped \
from v0.28.64.
Fix (unsafe): fill the field in by hand, or quarantine the entry."
);

code!(
    INVALID_SLUG,
    "jobs/invalid-slug",
    Error,
    Some(Unsafe),
    "a job slug does not match ^[a-zA-Z0-9_-]{1,100}$",
    "What it checks: the untrimmed slug against ^[a-zA-Z0-9_-]{1,100}$.
Why it matters / what instar does: validateJob fails (fatal before v0.28.64, skipped after). \
Spaces, dots, accents and invalid UTF-8 (read as U+FFFD) all fail.
Fix (unsafe): when trimming alone makes it valid, trim it; otherwise quarantine the entry."
);

code!(
    INVALID_PRIORITY,
    "jobs/invalid-priority",
    Error,
    Some(Unsafe),
    "a job priority is not critical, high, medium or low",
    "What it checks: priority is exactly one of critical, high, medium, low (case-sensitive).
Why it matters / what instar does: validateJob fails (fatal before v0.28.64, skipped after).
Fix (unsafe): lowercase it when that gives a valid priority; otherwise quarantine the entry."
);

code!(
    INVALID_MODEL,
    "jobs/invalid-model",
    Error,
    Some(Unsafe),
    "a job model is not opus, sonnet or haiku",
    "What it checks: when present, model is exactly opus, sonnet or haiku; null is rejected.
Why it matters / what instar does: validateJob fails (fatal before v0.28.64, skipped after).
Fix (unsafe): lowercase it when that gives a valid model; otherwise quarantine the entry."
);

code!(INVALID_CRON, "jobs/invalid-cron", Error, Some(Safe),
"a job schedule is rejected by croner 8.1.2",
"What it checks: the schedule, untrimmed, with the exact dialect of croner 8.1.2 as instar calls \
it (new Cron(schedule), no options): 5 or 6 fields, ranges, steps, names, L and # rules, nicknames.
Why it matters / what instar does: validateJob fails (fatal before v0.28.64, skipped after).
Fix: surrounding whitespace is trimmed (safe: the trimmed pattern is what was meant); other \
errors need a manual edit, and the label points at the offending field.");

code!(
    INVALID_ENABLED,
    "jobs/invalid-enabled",
    Error,
    Some(Unsafe),
    "a job's enabled is not a boolean",
    "What it checks: enabled is a real boolean (\"true\" and 1 are rejected).
Why it matters / what instar does: validateJob fails (fatal before v0.28.64, skipped after).
Fix (unsafe): map \"true\"/\"false\" (and 1/0) to the boolean."
);

code!(INVALID_EXECUTE, "jobs/invalid-execute", Error, Some(Unsafe),
"a job's execute block is invalid",
"What it checks: execute is an object whose type is skill, prompt or script (agentmd is only \
valid in per-slug manifests), whose value is a non-blank string and whose args, if present, is a string.
Why it matters / what instar does: validateJob fails (fatal before v0.28.64, skipped after).
Fix (unsafe): quarantine the entry; the right command or prompt must come from its author.");

code!(
    INVALID_GATE,
    "jobs/invalid-gate",
    Error,
    Some(Unsafe),
    "a job gate is not a string",
    "What it checks: gate, when present, is a string (a shell command).
Why it matters / what instar does: validateJob fails (fatal before v0.28.64, skipped after).
Fix (unsafe): quarantine the entry."
);

code!(INVALID_TELEGRAM_NOTIFY, "jobs/invalid-telegram-notify", Error, Some(Unsafe),
"a job's telegramNotify is not true, false or \"on-alert\"",
"What it checks: telegramNotify, when present, is true, false or \"on-alert\"; null is rejected.
Why it matters / what instar does: validateJob fails (fatal before v0.28.64, skipped after).
Fix (unsafe): map \"true\"/\"false\" to booleans; otherwise quarantine the entry.");

code!(INVALID_MACHINES, "jobs/invalid-machines", Error, Some(Unsafe),
"a job's machines is not an array of non-empty strings",
"What it checks: machines, when present, is an array of non-blank strings ([] means every machine).
Why it matters / what instar does: validateJob fails (fatal before v0.28.64, skipped after).
Fix (unsafe): quarantine the entry.");

code!(INVALID_GROUNDING, "jobs/invalid-grounding", Error, Some(Unsafe),
"a job's grounding block is invalid",
"What it checks: grounding, when present, is an object with a boolean requiresIdentity, an optional \
boolean processesExternalInput, and optional arrays contextFiles and questions of non-blank strings.
Why it matters / what instar does: validateJob fails (fatal before v0.28.64, skipped after).
Fix (unsafe): quarantine the entry.");

code!(INVALID_COMMON_BLOCKERS, "jobs/invalid-common-blockers", Error, Some(Unsafe),
"a job's commonBlockers map is invalid",
"What it checks: commonBlockers, when present, is a plain object of at most 20 entries, each with \
non-blank description and resolution, status confirmed|pending|expired, toolsNeeded string[], \
credentials string or string[], date fields as strings and a numeric successCount.
Why it matters / what instar does: validateJob fails (fatal before v0.28.64, skipped after).
Fix (unsafe): quarantine the entry.");

code!(
    DUPLICATE_SLUG,
    "jobs/duplicate-slug",
    Warning,
    Some(Unsafe),
    "two jobs share a slug",
    "What it checks: slugs that repeat, exactly or ignoring case.
Why it matters: both entries load; the scheduler keeps cron handles in a map by slug, so the \
first job keeps firing untracked and per-slug state files collide. Case-only twins collide on \
case-insensitive file systems.
What instar does (every version): nothing; it does not detect this.
Fix (unsafe): rename the later one with a -2 (-3, …) suffix."
);

code!(CRON_ONE_SHOT, "jobs/cron-one-shot", Warning, None,
"a schedule is a one-shot date, not a recurring pattern",
"What it checks: schedules containing ':' after the first character, which croner 8.1.2 parses as \
a date instead of a cron pattern.
Why it matters: the job runs once at most; a past date never fires.
What instar does: accepts it.
Fix: none; write a cron pattern if the job should repeat.");

code!(CRON_NEVER_FIRES, "jobs/cron-never-fires", Warning, None,
"a schedule can never fire",
"What it checks: patterns with no matching date (0 0 30 2 *, 0 0 31 4 *) and one-shot dates in \
the past.
Why it matters: the job is silently dead.
What instar does: accepts it; the next run is null.
Fix: none; correct the day or month.");

code!(
    CRON_NONDETERMINISTIC,
    "jobs/cron-nondeterministic",
    Warning,
    None,
    "a schedule uses ?, which croner replaces with the time of loading",
    "What it checks: '?' in a schedule.
Why it matters: croner substitutes the current value of that field when the job is loaded, so \
`0 0 ? * *` means \"on whatever day of the month the server started\".
What instar does: accepts it.
Fix: none; use * or an explicit value."
);

code!(
    CRON_LAST_WEEKDAY_TRAP,
    "jobs/cron-last-weekday-trap",
    Warning,
    None,
    "a day-of-week like 5L means every Friday, not the last one",
    "What it checks: `<day>L` in the day-of-week field.
Why it matters: croner 8.1.2 reads the number and ignores the L, so `0 0 * * 5L` fires every \
Friday.
What instar does: accepts it.
Fix: none; use 5#L for the last Friday of the month."
);

code!(
    CRON_UNVERIFIED_DATE,
    "jobs/cron-unverified-date",
    Warning,
    None,
    "a schedule is a date string in a form the doctor cannot verify",
    "What it checks: schedules with ':' that croner hands to JavaScript's date parser, in a form \
other than ISO-8601 and the known accepted ones.
Why it matters: JavaScript's Date parser accepts many odd forms; if it rejects this one the job \
is invalid, and if it accepts it the job runs once at most.
What instar does: depends on V8's date parser.
Fix: none; use a cron pattern or an ISO-8601 date."
);

code!(
    MACHINES_MATCH_NONE,
    "jobs/machines-match-none",
    Error,
    None,
    "a job's machines list matches no machine in the registry",
    "What it checks: every name in a job's machines list against the registry's machine ids and \
names (case-insensitively).
Why it matters: a job whose list matches no machine never runs anywhere.
What instar does: loads it and never schedules it.
Fix: none the doctor can make (the spec says report); correct the names or remove the list."
);

code!(
    UNKNOWN_MACHINE,
    "jobs/unknown-machine",
    Warning,
    None,
    "a name in a job's machines list matches no registry machine",
    "What it checks: each entry of a job's machines list against the registry.
Why it matters: a misspelt machine silently never runs the job.
What instar does: ignores the name.
Fix: none the doctor can make; correct or remove the name."
);

code!(MACHINES_UNVERIFIABLE, "jobs/machines-unverifiable", Info, None,
"a job's machines list cannot be checked without a registry",
"What it checks: jobs with a machines list when .instar/machines/registry.json is absent or broken.
Why it matters: the names cannot be verified.
What instar does: nothing special.
Fix: none.");

code!(UNGROUNDED, "jobs/ungrounded", Info, None,
"an enabled job has no grounding (instar's grounding audit)",
"What it checks: enabled jobs without a grounding block, except the slugs instar exempts (6 at \
v0.28.44, 32 at HEAD).
Why it matters: instar logs a grounding-audit warning on every load.
What instar does: warns; the job runs.
Fix: none; add a grounding block.");

code!(
    MISSING_CONTEXT_FILE,
    "jobs/missing-context-file",
    Info,
    None,
    "a grounding contextFiles entry names a file that does not exist",
    "What it checks: grounding.contextFiles paths, in .instar/ or in the project (instar's own \
defaults use both forms), except the files instar writes itself under .instar/state/ and \
.instar/context/.
Why it matters: little. Nothing in instar reads these paths; a session prompt may mention them.
What instar does (every version): validates that they are strings, and never loads them.
Fix: none; create the file or correct the path if a job's prompt relies on it."
);

code!(
    FIELD_TYPE,
    "jobs/field-type",
    Warning,
    Some(Unsafe),
    "a field instar types but never validates has the wrong type",
    "What it checks: expectedDurationMinutes (a positive number), tags (string[]), topicId (a \
number), supervision (tier0|tier1|tier2).
Why it matters: the values pass validation and misbehave later (timeouts, Telegram topics).
What instar does: nothing at load.
Fix (unsafe): a numeric string is coerced to a number; other values need a manual edit."
);

code!(
    DUPLICATE_KEY,
    "jobs/duplicate-key",
    Warning,
    Some(Unsafe),
    "an object has the same key twice; the last one wins",
    "What it checks: repeated keys inside one JSON object.
Why it matters: JSON.parse silently keeps the last value; the earlier one is dead and misleads \
whoever edits the file.
What instar does: uses the last value.
Fix (unsafe): remove the earlier, overridden member (what instar sees does not change)."
);

code!(
    INVALID_UTF8,
    "jobs/invalid-utf8",
    Warning,
    None,
    "bytes that are not UTF-8 inside a value",
    "What it checks: invalid UTF-8 inside JSON strings.
Why it matters: Node decodes them to U+FFFD, silently changing the text.
What instar does: loads the replaced text (a slug with one fails the slug rule).
Fix: none; re-save the file as UTF-8."
);

code!(
    STRAY_TEMP_FILE,
    "jobs/stray-temp-file",
    Info,
    Some(Safe),
    "a leftover temp file from an interrupted jobs.json write",
    "What it checks: jobs.json.<pid>.<random>.tmp files from `instar job add`.
Why it matters: a crash between write and rename leaves them; they may hold a newer copy.
What instar does: ignores them.
Fix (safe, when the writer is dead and jobs.json parses): move it to the doctor's quarantine."
);

code!(MANIFEST_INVALID, "jobs/manifest-invalid", Error, Some(Unsafe),
"a per-slug job manifest is rejected by validateManifest",
"What it checks: every name ending in .json in .instar/jobs/schedule/ (instar >= 0.28.98), dotfiles \
such as .draft.json included, as instar lists them: it must be a readable file holding a JSON object \
with slug, schedule, origin, priority, expectedDurationMinutes (> 0), enabled and execute, and the \
optional model, execute.args, unrestrictedTools, tags, topicId, telegramNotify, machines and gate \
well typed; manifestVersion a non-negative integer from v0.28.100 (a fraction loads before); \
mcpAccess project or none from v1.3.292.
Why it matters: the manifest is skipped, and a jobs.json entry it was meant to replace may run \
instead, or nothing.
What instar does: logs a manifest-invalid problem and skips it; a directory named *.json is skipped \
the same way, never fatal.
Fix (unsafe): missing priority and expectedDurationMinutes get jobMigrate's defaults (medium, 5).");

code!(
    MANIFEST_SLUG_COLLISION,
    "jobs/manifest-slug-collision",
    Error,
    Some(Manual),
    "per-slug manifests declare the same slug, or slugs that differ only in case",
    "What it checks: the slugs of the valid manifests in .instar/jobs/schedule/, compared without case \
(one slug in two files is the same collision).
Why it matters: instar cannot tell which file is meant.
What instar does (from v0.28.98): when exactly one of them has origin \"instar\" and the others \
origin \"user\", the instar one loads and the user ones are skipped; otherwise every one of them is \
skipped.
Fix (manual): rename the slug in all but one of the files (and its .md body), or delete the copies."
);

code!(
    MANIFEST_BODY_MISSING,
    "jobs/manifest-body-missing",
    Error,
    Some(Manual),
    "an agentmd manifest has no markdown body",
    "What it checks: .instar/jobs/<origin>/<slug>.md for manifests whose execute.type is agentmd: a \
regular file, not a symlink.
Why it matters: the job cannot run without its body.
What instar does: skips the job. From v1.3.188 a disabled manifest loads without reading its body \
(it still replaces the jobs.json entry of its slug), so only enabled ones are reported from then.
Fix (manual): regenerate it with `instar job migrate`."
);

code!(
    MANIFEST_BODY_INVALID,
    "jobs/manifest-body-invalid",
    Error,
    Some(Manual),
    "an agentmd body has frontmatter instar refuses",
    "What it checks: the .md body of an agentmd manifest: it opens with a YAML frontmatter block \
between --- lines (at most 16 KB, body at most 64 KB), which is a mapping without anchors or aliases, \
whose keys are in instar's closed set (schedule, priority and the other scheduling keys from v1.3.27, \
mcpAccess from v1.3.292, perMachineIndependent from v1.3.759), with a non-empty name and \
description, notificationMode always, on-alert or never, and toolAllowlist \"*\" or a list.
Why it matters: the job never runs, and the jobs.json entry of its slug is not replaced either.
What instar does: logs an agentmd problem and skips the job. From v1.3.188 a disabled manifest \
loads without reading its body.
Fix (manual): edit the frontmatter (the manifest, not the frontmatter, carries the schedule)."
);

code!(
    SHADOWED_BY_MANIFEST,
    "jobs/shadowed-by-manifest",
    Info,
    None,
    "a jobs.json entry is replaced by a per-slug manifest",
    "What it checks: jobs.json slugs that also have a valid manifest (instar >= 0.28.98).
Why it matters: edits to the jobs.json entry have no effect.
What instar does: the manifest wins; the jobs.json entry is dropped with a warning.
Fix: none; edit the manifest instead."
);

code!(
    GATE_PROGRAM_MISSING,
    "jobs/gate-program-missing",
    Warning,
    None,
    "a job's gate runs a program that is not installed (--deep)",
    "What it checks (only with --deep, which probes the host): the program a job's gate command \
runs (its first word after VAR=value assignments; shell builtins are skipped), looked up on PATH \
the way a shell would, or as a path relative to the project.
Why it matters: the gate fails on every run, and a failing gate skips the job, so it never runs.
What instar does: runs the gate before each run and skips the job when it exits non-zero.
Fix: none the doctor can make; install the program or correct the gate."
);

pub static ALL: &[&Code] = &[
    &MISSING,
    &STALE_JOBS_FILE,
    &UNREADABLE,
    &DANGLING_SYMLINK,
    &PARSE_ERROR,
    &NOT_AN_ARRAY,
    &ENTRY_NOT_OBJECT,
    &MISSING_FIELD,
    &INVALID_SLUG,
    &INVALID_PRIORITY,
    &INVALID_MODEL,
    &INVALID_CRON,
    &INVALID_ENABLED,
    &INVALID_EXECUTE,
    &INVALID_GATE,
    &INVALID_TELEGRAM_NOTIFY,
    &INVALID_MACHINES,
    &INVALID_GROUNDING,
    &INVALID_COMMON_BLOCKERS,
    &DUPLICATE_SLUG,
    &CRON_ONE_SHOT,
    &CRON_NEVER_FIRES,
    &CRON_NONDETERMINISTIC,
    &CRON_LAST_WEEKDAY_TRAP,
    &CRON_UNVERIFIED_DATE,
    &MACHINES_MATCH_NONE,
    &UNKNOWN_MACHINE,
    &MACHINES_UNVERIFIABLE,
    &UNGROUNDED,
    &MISSING_CONTEXT_FILE,
    &FIELD_TYPE,
    &DUPLICATE_KEY,
    &INVALID_UTF8,
    &GATE_PROGRAM_MISSING,
    &STRAY_TEMP_FILE,
    &MANIFEST_INVALID,
    &MANIFEST_SLUG_COLLISION,
    &MANIFEST_BODY_MISSING,
    &MANIFEST_BODY_INVALID,
    &SHADOWED_BY_MANIFEST,
];

//! What instar's loader accepts but the runtime then gets wrong (doctor-only findings).

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

use crate::cron::{self, Schedule};
use crate::diag::{Code, Severity, Span};
use crate::json::{Kind, Value};
use crate::version::{boundary, Version};

use super::codes::*;
use super::entry::{js_type, shown, CronCache, Fields};

/// Slugs instar's grounding audit never warns about (spec §3.3).
const GROUNDING_EXEMPT: &[&str] = &[
    "health-check",
    "feedback-retry",
    "dispatch-check",
    "update-check",
    "project-map-refresh",
    "git-sync",
];

/// The built-in slugs HEAD adds to the exemption list.
const GROUNDING_EXEMPT_HEAD: &[&str] = &[
    "reflection-trigger",
    "relationship-maintenance",
    "insight-harvest",
    "evolution-overdue-check",
    "coherence-audit",
    "degradation-digest",
    "state-integrity-check",
    "memory-hygiene",
    "guardian-pulse",
    "session-continuity-check",
    "memory-export",
    "capability-audit",
    "identity-review",
    "evolution-proposal-evaluate",
    "evolution-proposal-implement",
    "commitment-detection",
    "dashboard-link-refresh",
    "overseer-guardian",
    "overseer-learning",
    "overseer-maintenance",
    "overseer-infrastructure",
    "overseer-development",
    "sentry-error-scan",
    "self-diagnosis",
    "evolution-review",
    "commitment-check",
];

pub fn grounding_exempt(slug: &str, version: Version) -> bool {
    GROUNDING_EXEMPT.contains(&slug)
        || (version >= boundary::GROUNDING_EXEMPT_EXTENDED && GROUNDING_EXEMPT_HEAD.contains(&slug))
}

/// A doctor-only finding about one entry, before it knows its file.
#[derive(Debug, Clone)]
pub struct Hazard {
    pub code: &'static Code,
    pub severity: Severity,
    pub message: String,
    pub label: String,
    pub span: Span,
    pub pointer: String,
    /// A coercion the doctor can make: replace `span` with this text (unsafe).
    pub coerce: Option<(Span, String)>,
    pub help: Option<String>,
}

impl Hazard {
    fn new(code: &'static Code, message: String, label: &str, span: Span, pointer: &str) -> Self {
        Hazard {
            code,
            severity: code.severity,
            message,
            label: label.to_string(),
            span,
            pointer: pointer.to_string(),
            coerce: None,
            help: None,
        }
    }
}

/// The machines a job may name: registry ids and names, lowercased (instar matches them
/// case-insensitively).
pub enum KnownMachines {
    Known(HashSet<String>),
    /// No readable registry: nothing can be verified.
    Unknown,
}

/// Shared, per-run knowledge the per-entry hazards need.
pub struct HazardContext<'a> {
    pub version: Version,
    pub now: &'a cron::Now,
    pub now_epoch: i64,
    pub machines: &'a KnownMachines,
    pub state_dir: &'a Path,
    /// contextFiles existence, cached: agents reuse the same few files across jobs.
    pub exists_cache: &'a mut HashMap<PathBuf, bool>,
    /// Where existence is asked.
    pub disk: &'a crate::engine::Context,
    /// With --deep: where each gate program was found on PATH (None: not found), cached.
    pub gate_programs: Option<&'a mut HashMap<String, bool>>,
    pub project_dir: &'a Path,
    /// PATH lookups for --deep gate programs.
    pub host: &'a dyn crate::host::Host,
}

pub fn check_entry(
    entry: &Value<'_>,
    fields: &Fields<'_>,
    crons: &mut CronCache,
    hx: &mut HazardContext<'_>,
) -> Vec<Hazard> {
    let mut out = Vec::new();
    if entry.kind() != Kind::Object {
        return out;
    }
    schedule_hazards(fields, crons, hx, &mut out);
    gate_hazards(fields, hx, &mut out);
    type_hazards(fields, &mut out);
    machine_hazards(fields, hx.machines, &mut out);
    grounding_hazards(entry, fields, hx, &mut out);
    out
}

fn schedule_hazards(
    fields: &Fields<'_>,
    crons: &mut CronCache,
    hx: &HazardContext<'_>,
    out: &mut Vec<Hazard>,
) {
    let Some(value) = fields.get("schedule") else {
        return;
    };
    let Some(text) = value.as_str() else {
        return;
    };
    let Ok(schedule) = crons.parse(&text, hx.now) else {
        return; // invalid patterns are reported by the entry rules
    };
    match schedule {
        Schedule::OneShot(one) => out.push(one_shot_hazard(value, one, hx)),
        Schedule::Pattern(pattern) => pattern_hazards(value, &text, pattern, out),
    }
}

/// A one-shot date runs once at most; a past one never, and one the doctor cannot read is left
/// to JavaScript's date parser.
fn one_shot_hazard(value: Value<'_>, one: &cron::OneShot, hx: &HazardContext<'_>) -> Hazard {
    if !one.recognised {
        return Hazard::new(
            &CRON_UNVERIFIED_DATE,
            format!(
                "schedule {} is handed to JavaScript's date parser (it has a ':'), in a form the doctor cannot verify",
                shown(&value)
            ),
            "parsed as a date, not a cron pattern",
            value.span(),
            "/schedule",
        );
    }
    match one.naive_epoch_seconds {
        Some(at) if at < hx.now_epoch => Hazard::new(
            &CRON_NEVER_FIRES,
            format!(
                "schedule {} is a one-shot date in the past: the job never fires",
                shown(&value)
            ),
            "a past date",
            value.span(),
            "/schedule",
        ),
        _ => Hazard::new(
            &CRON_ONE_SHOT,
            format!(
                "schedule {} is a one-shot date: the job runs once at most",
                shown(&value)
            ),
            "a date, not a recurring pattern",
            value.span(),
            "/schedule",
        ),
    }
}

/// A recurring pattern's traps: `?` (the load time's value), `5L` (every such weekday), and a
/// day no month has.
fn pattern_hazards(value: Value<'_>, text: &str, pattern: &cron::Pattern, out: &mut Vec<Hazard>) {
    for span in &pattern.question_marks {
        out.push(Hazard::new(
            &CRON_NONDETERMINISTIC,
            format!(
                "schedule {} uses '?', which croner replaces with the current value when the job loads",
                shown(&value)
            ),
            "replaced by the load time's value",
            value.source_range(span.clone()),
            "/schedule",
        ));
    }
    for span in &pattern.last_weekday_traps {
        let part = &text[span.clone()];
        let day = part.trim_end_matches(['L', 'l']);
        let mut hazard = Hazard::new(
            &CRON_LAST_WEEKDAY_TRAP,
            format!(
                "\"{part}\" in schedule {} fires every {}, not only on the last one of the month",
                shown(&value),
                weekday_words(day)
            ),
            "read as every week",
            value.source_range(span.clone()),
            "/schedule",
        );
        hazard.help = Some(format!(
            "for the last {} of the month write {day}#L",
            weekday_words(day)
        ));
        out.push(hazard);
    }
    if pattern.never_fires() {
        out.push(Hazard::new(
            &CRON_NEVER_FIRES,
            format!(
                "schedule {} matches no date: the job never fires",
                shown(&value)
            ),
            "no month has this day",
            value.source_range(pattern.never_fires_span()),
            "/schedule",
        ));
    }
}

/// Shell words that are not programs on PATH.
const SHELL_BUILTINS: &[&str] = &[
    "test", "[", "[[", "true", "false", "echo", "printf", "cd", "exit", "export", "command",
    "type", "read", "set", "unset", ":", ".", "source", "eval", "exec", "if", "!", "{", "(",
];

/// The program a gate command runs: its first word after `VAR=value` assignments.
fn gate_program(gate: &str) -> Option<&str> {
    gate.split_whitespace()
        // `NAME=value` words are assignments, not the command.
        .find(|word| !word.contains('=') || word.starts_with('='))
        .filter(|word| !SHELL_BUILTINS.contains(word))
}

/// Whether `program` can be run: a path is checked as it stands (relative to the project, where
/// instar runs gates), a bare name is looked up on PATH.
fn program_exists(program: &str, project_dir: &Path, host: &dyn crate::host::Host) -> bool {
    if program.contains('/') {
        return crate::host::is_executable_file(&project_dir.join(program));
    }
    host.find_on_path(program).is_some()
}

/// With --deep: a gate whose program is not installed fails every run, so the job never runs.
fn gate_hazards(fields: &Fields<'_>, hx: &mut HazardContext<'_>, out: &mut Vec<Hazard>) {
    let Some(cache) = hx.gate_programs.as_deref_mut() else {
        return;
    };
    let Some(gate) = fields.get("gate") else {
        return;
    };
    let Some(text) = gate.as_str() else { return };
    let Some(program) = gate_program(&text) else {
        return;
    };
    let found = *cache
        .entry(program.to_string())
        .or_insert_with(|| program_exists(program, hx.project_dir, hx.host));
    if !found {
        let mut hazard = Hazard::new(
            &GATE_PROGRAM_MISSING,
            format!("the gate runs {program:?}, which is not installed on this host (looked up on PATH)"),
            "not found",
            gate.span(),
            "/gate",
        );
        hazard.help = Some(
            "a gate that cannot run exits non-zero, so the scheduler skips the job every time"
                .into(),
        );
        out.push(hazard);
    }
}

/// J-TYPES: fields the TypeScript type declares but validateJob never checks.
fn type_hazards(fields: &Fields<'_>, out: &mut Vec<Hazard>) {
    if let Some(duration) = fields.get("expectedDurationMinutes") {
        let positive = duration.as_f64().is_some_and(|n| n.is_finite() && n > 0.0);
        if !positive {
            let mut hazard = Hazard::new(
                &FIELD_TYPE,
                format!(
                    "expectedDurationMinutes must be a positive number; got {}",
                    shown(&duration)
                ),
                "not a positive number",
                duration.span(),
                "/expectedDurationMinutes",
            );
            hazard.coerce = numeric_string(&duration)
                .filter(|n| n.parse::<f64>().is_ok_and(|x| x > 0.0))
                .map(|n| (duration.span(), n));
            hazard.help = Some(
                "the scheduler's timeout then falls back to 30 minutes and the routes to 5".into(),
            );
            out.push(hazard);
        }
    }
    if let Some(tags) = fields.get("tags") {
        let ok = tags.kind() == Kind::Array && tags.elements().all(|t| t.kind() == Kind::String);
        if !ok {
            out.push(Hazard::new(
                &FIELD_TYPE,
                format!("tags must be an array of strings; got {}", js_type(&tags)),
                "not a string array",
                tags.span(),
                "/tags",
            ));
        }
    }
    if let Some(topic) = fields.get("topicId") {
        if topic.kind() != Kind::Number {
            let mut hazard = Hazard::new(
                &FIELD_TYPE,
                format!("topicId must be a number; got {}", shown(&topic)),
                "not a number",
                topic.span(),
                "/topicId",
            );
            hazard.coerce = numeric_string(&topic).map(|n| (topic.span(), n));
            out.push(hazard);
        }
    }
    if let Some(supervision) = fields.get("supervision") {
        let ok = matches!(
            supervision.raw(),
            b"\"tier0\"" | b"\"tier1\"" | b"\"tier2\""
        );
        if !ok {
            out.push(Hazard::new(
                &FIELD_TYPE,
                format!(
                    "supervision must be tier0, tier1 or tier2; got {}",
                    shown(&supervision)
                ),
                "unknown supervision tier",
                supervision.span(),
                "/supervision",
            ));
        }
    }
}

/// The text of a string that holds a plain JSON number (`"5"`, `"-1.5"`), ready to replace it.
fn numeric_string(value: &Value<'_>) -> Option<String> {
    if value.kind() != Kind::String {
        return None;
    }
    let text = value.as_str()?;
    let trimmed = text.trim();
    let is_json_number = !trimmed.is_empty()
        && trimmed.parse::<f64>().is_ok_and(f64::is_finite)
        && trimmed
            .bytes()
            .all(|b| b.is_ascii_digit() || matches!(b, b'-' | b'.' | b'e' | b'E' | b'+'))
        && !trimmed.starts_with('+')
        && !trimmed.starts_with('.')
        && !(trimmed.len() > 1 && trimmed.starts_with('0') && !trimmed.starts_with("0."));
    is_json_number.then(|| trimmed.to_string())
}

fn machine_hazards(fields: &Fields<'_>, machines: &KnownMachines, out: &mut Vec<Hazard>) {
    let Some(list) = fields.get("machines") else {
        return;
    };
    if list.kind() != Kind::Array || list.is_empty() {
        return; // invalid lists are entry errors; [] means every machine
    }
    let names: Vec<Value<'_>> = list
        .elements()
        .filter(|e| e.kind() == Kind::String)
        .collect();
    if names.is_empty() {
        return;
    }
    let known = match machines {
        KnownMachines::Unknown => {
            out.push(Hazard::new(
                &MACHINES_UNVERIFIABLE,
                "this job names machines, but there is no readable machine registry to check them against".into(),
                "cannot be verified",
                list.span(),
                "/machines",
            ));
            return;
        }
        KnownMachines::Known(known) => known,
    };
    let unknown: Vec<(usize, &Value<'_>)> = names
        .iter()
        .enumerate()
        .filter(|(_, name)| {
            let text = name.as_str().unwrap_or_default().to_lowercase();
            !known.contains(&text)
        })
        .collect();
    if unknown.len() == names.len() {
        let mut hazard = Hazard::new(
            &MACHINES_MATCH_NONE,
            "no name in this job's machines list matches a registry machine: the job never runs"
                .into(),
            "matches no machine",
            list.span(),
            "/machines",
        );
        hazard.help = Some(format!(
            "registry machines: {}",
            sorted_names(known).join(", ")
        ));
        out.push(hazard);
    } else {
        for (index, name) in unknown {
            out.push(Hazard::new(
                &UNKNOWN_MACHINE,
                format!(
                    "machine {} matches no registry machine id or name",
                    shown(name)
                ),
                "unknown machine",
                name.span(),
                &format!("/machines/{index}"),
            ));
        }
    }
}

fn sorted_names(known: &HashSet<String>) -> Vec<String> {
    let mut names: Vec<String> = known.iter().cloned().collect();
    names.sort();
    names
}

fn grounding_hazards(
    entry: &Value<'_>,
    fields: &Fields<'_>,
    hx: &mut HazardContext<'_>,
    out: &mut Vec<Hazard>,
) {
    let enabled = fields.get("enabled").and_then(|v| v.as_bool()) == Some(true);
    // Decoded only for an enabled job without grounding: the rest never ask.
    let slug = || {
        fields
            .get("slug")
            .and_then(|v| v.as_str())
            .unwrap_or_default()
    };
    match fields.get("grounding") {
        None if enabled && !grounding_exempt(&slug(), hx.version) => {
            let start = entry.span().start;
            let span = fields
                .get("slug")
                .map(|s| s.span())
                .unwrap_or(start..start + 1);
            let mut hazard = Hazard::new(
                &UNGROUNDED,
                "enabled, with no grounding: instar's grounding audit warns about it on every load"
                    .to_string(),
                "no grounding",
                span,
                "/slug",
            );
            hazard.help = Some(
                "add \"grounding\": {\"requiresIdentity\": …} describing what the job needs to know"
                    .into(),
            );
            out.push(hazard);
        }
        Some(grounding) if grounding.kind() == Kind::Object => {
            let Some(files) = grounding.get("contextFiles") else {
                return;
            };
            if files.kind() != Kind::Array {
                return;
            }
            for (index, file) in files.elements().enumerate() {
                let Some(name) = file.as_str() else { continue };
                if name.trim().is_empty() {
                    continue;
                }
                // instar never loads contextFiles (validateJob only checks their type), so the
                // paths have no defined base: its own defaults use both `MEMORY.md` (in
                // .instar/) and `.instar/state/…` (in the project). Either base will do.
                let candidates = [hx.state_dir.join(&*name), hx.project_dir.join(&*name)];
                if candidates
                    .iter()
                    .any(|path| instar_creates(hx.state_dir, path))
                {
                    continue;
                }
                let exists = candidates.iter().any(|path| {
                    *hx.exists_cache
                        .entry(path.clone())
                        .or_insert_with(|| hx.disk.exists(path))
                });
                if !exists {
                    out.push(Hazard::new(
                        &MISSING_CONTEXT_FILE,
                        format!(
                            "context file {} exists neither in .instar/ nor in the project",
                            shown(&file)
                        ),
                        "no such file",
                        file.span(),
                        &format!("/grounding/contextFiles/{index}"),
                    ));
                }
            }
        }
        _ => {}
    }
}

/// Files instar writes itself, at run time or on demand, so their absence now is no news:
/// everything under `.instar/state/` (capability-manifest.json is written by CapabilityMapper)
/// and the context segments under `.instar/context/` (ContextHierarchy, whose templates read
/// them "if it exists"). Lexical: `..` never appears in instar's own paths.
fn instar_creates(state_dir: &Path, path: &Path) -> bool {
    ["state", "context"]
        .iter()
        .any(|dir| path.starts_with(state_dir.join(dir)))
        && !path
            .components()
            .any(|c| c == std::path::Component::ParentDir)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn context_files_instar_writes_itself_are_never_reported() {
        let state = Path::new("/p/.instar");
        assert!(instar_creates(
            state,
            Path::new("/p/.instar/state/capability-manifest.json")
        ));
        assert!(instar_creates(
            state,
            Path::new("/p/.instar/context/development.md")
        ));
        assert!(!instar_creates(state, Path::new("/p/.instar/MEMORY.md")));
        assert!(!instar_creates(
            state,
            Path::new("/p/.instar/state/../USER.md")
        ));
        assert!(!instar_creates(
            state,
            Path::new("/p/.instar/.instar/state/x.json")
        ));
    }

    #[test]
    fn gate_programs_skip_assignments_and_builtins() {
        assert_eq!(gate_program("FOO=1 curl -s x"), Some("curl"));
        assert_eq!(gate_program("test -f x"), None);
        assert_eq!(gate_program("  ./bin/check --fast"), Some("./bin/check"));
        assert_eq!(gate_program(""), None);
    }

    #[test]
    fn grounding_exemptions_grow_at_head() {
        let old = Version::new(0, 28, 44);
        let head = crate::version::NEWEST_KNOWN;
        assert!(grounding_exempt("git-sync", old));
        assert!(!grounding_exempt("memory-hygiene", old));
        assert!(grounding_exempt("memory-hygiene", head));
        assert!(!grounding_exempt("my-own-job", head));
    }
}

/// A cron weekday (`5`, `0` or `7` for Sunday, `FRI`) as a person says it: "Friday"; anything
/// else stays as written, "day X of the week".
fn weekday_words(day: &str) -> String {
    const NAMES: [&str; 7] = [
        "Sunday",
        "Monday",
        "Tuesday",
        "Wednesday",
        "Thursday",
        "Friday",
        "Saturday",
    ];
    let by_number = day.parse::<usize>().ok().map(|n| n % 7);
    let by_name = NAMES.iter().position(|n| n[..3].eq_ignore_ascii_case(day));
    match by_number.or(by_name) {
        Some(i) => NAMES[i].to_string(),
        None => format!("day {day} of the week"),
    }
}

#[cfg(test)]
mod weekday_tests {
    #[test]
    fn weekdays_are_named() {
        assert_eq!(super::weekday_words("5"), "Friday");
        assert_eq!(super::weekday_words("0"), "Sunday");
        assert_eq!(super::weekday_words("7"), "Sunday");
        assert_eq!(super::weekday_words("fri"), "Friday");
        assert_eq!(super::weekday_words("x"), "day x of the week");
    }
}

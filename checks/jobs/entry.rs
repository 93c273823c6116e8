//! `validateJob`, as code in the loader's order (spec §3.3).
//!
//! instar stops at the first failing rule; the doctor reports every rule an entry breaks, in the
//! same order, so the first finding for an entry is the one instar logs. This module only decides
//! what is wrong and what could mend it; `mod.rs` turns problems into diagnostics.

use crate::cron;
use crate::diag::{Code, Span};
use crate::json::{self, Kind, Value};

use super::codes::*;

/// What a problem proposes, before it knows about files.
#[derive(Debug, Clone)]
pub enum Remedy {
    /// Replace `span` with `text` (an in-place edit of the entry).
    Replace {
        span: Span,
        text: String,
        title: String,
        safe: bool,
    },
    /// Move the whole entry to the quarantine file.
    Quarantine,
}

#[derive(Debug, Clone)]
pub struct Problem {
    pub code: &'static Code,
    pub message: String,
    pub label: String,
    pub span: Span,
    /// Pointer relative to the entry, e.g. `/execute/type` (empty for the entry itself).
    pub pointer: String,
    pub remedy: Remedy,
}

const PRIORITIES: &[&str] = &["critical", "high", "medium", "low"];
const MODELS: &[&str] = &["opus", "sonnet", "haiku"];
const EXECUTE_TYPES: &[&str] = &["skill", "prompt", "script"];
const BLOCKER_STATUSES: &[&str] = &["confirmed", "pending", "expired"];
const MAX_COMMON_BLOCKERS: usize = 20;
const BLOCKER_DATE_FIELDS: &[&str] = &[
    "addedFrom",
    "addedAt",
    "confirmedAt",
    "expiresAt",
    "lastUsedAt",
];

/// An entry's members, indexed once: validation and the hazards look up some thirty fields per
/// entry, and a 100,000-job file makes every lookup count.
/// Keys are held as bytes: a plain key is the source's own, not checked as UTF-8 once more.
pub struct Fields<'a> {
    members: Vec<(std::borrow::Cow<'a, [u8]>, Value<'a>)>,
}

impl<'a> Fields<'a> {
    pub fn of(entry: &Value<'a>) -> Self {
        Fields {
            members: entry.member_key_bytes().collect(),
        }
    }

    /// The member JSON.parse keeps: the last one with this key.
    pub fn get(&self, key: &str) -> Option<Value<'a>> {
        self.members
            .iter()
            .rev()
            .find(|(k, _)| **k == *key.as_bytes())
            .map(|(_, v)| *v)
    }
}

/// croner verdicts by schedule text: agents reuse a handful of schedules across all their jobs.
/// Each entry asks twice (its rules, then its hazards). While the schedules are few they are
/// compared in turn, which is cheaper than hashing the text; past that the map says where a
/// schedule's verdict is.
#[derive(Default)]
pub struct CronCache {
    positions: std::collections::HashMap<Box<str>, usize>,
    verdicts: Vec<(Box<str>, Result<cron::Schedule, cron::CronError>)>,
}

/// Up to this many distinct schedules, a lookup is a walk of the list.
const FEW_SCHEDULES: usize = 8;

impl CronCache {
    pub fn parse(
        &mut self,
        text: &str,
        now: &cron::Now,
    ) -> &Result<cron::Schedule, cron::CronError> {
        let found = if self.verdicts.len() <= FEW_SCHEDULES {
            self.verdicts.iter().position(|(known, _)| **known == *text)
        } else {
            self.positions.get(text).copied()
        };
        let at = found.unwrap_or_else(|| {
            self.verdicts.push((text.into(), cron::parse(text, now)));
            self.positions.insert(text.into(), self.verdicts.len() - 1);
            self.verdicts.len() - 1
        });
        &self.verdicts[at].1
    }
}

/// Collects the problems of one entry.
struct Validator<'a, 'c> {
    entry: Value<'a>,
    fields: &'c Fields<'a>,
    crons: &'c mut CronCache,
    problems: Vec<Problem>,
}

/// A JavaScript-style description of a value's type, for messages ("got number").
pub fn js_type(value: &Value<'_>) -> &'static str {
    match value.kind() {
        Kind::Null => "null",
        Kind::Bool => "boolean",
        Kind::Number => "number",
        Kind::String => "string",
        Kind::Array => "array",
        Kind::Object => "object",
    }
}

/// A short, safe rendering of a scalar for a message: strings quoted and cut at 40 characters.
pub fn shown(value: &Value<'_>) -> String {
    match value.kind() {
        Kind::String => {
            let text = value.as_str().unwrap_or_default();
            let cut: String = text.chars().take(40).collect();
            let ellipsis = if cut.len() < text.len() { "…" } else { "" };
            format!("{:?}{ellipsis}", cut)
        }
        Kind::Array | Kind::Object => js_type(value).to_string(),
        _ => String::from_utf8_lossy(value.raw()).into_owned(),
    }
}

fn is_nonblank_string(value: &Value<'_>) -> bool {
    value.is_nonblank_string()
}

fn is_slug(text: &str) -> bool {
    (1..=100).contains(&text.len())
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

impl<'a> Validator<'a, '_> {
    fn problem(
        &mut self,
        code: &'static Code,
        message: String,
        label: &str,
        span: Span,
        pointer: &str,
        remedy: Remedy,
    ) {
        self.problems.push(Problem {
            code,
            message,
            label: label.to_string(),
            span,
            pointer: pointer.to_string(),
            remedy,
        });
    }

    /// The span of the entry's opening bracket: where "this entry has no X" points.
    fn opening(&self) -> Span {
        let start = self.entry.span().start;
        start..start + 1
    }

    fn label_span(value: &Value<'_>) -> Span {
        value.span()
    }

    fn required_strings(&mut self) {
        for field in ["slug", "name", "description", "schedule"] {
            match self.fields.get(field) {
                None => {
                    let span = self.opening();
                    self.problem(
                        &MISSING_FIELD,
                        format!("\"{field}\" is required"),
                        &format!("this job has no \"{field}\""),
                        span,
                        "",
                        Remedy::Quarantine,
                    );
                }
                Some(value) if !is_nonblank_string(&value) => {
                    let what = if value.kind() == Kind::String {
                        "blank".to_string()
                    } else {
                        format!("a {}", js_type(&value))
                    };
                    self.problem(
                        &MISSING_FIELD,
                        format!(
                            "\"{field}\" is required: it must be a non-blank string, not {what}"
                        ),
                        &format!("{what} {field}"),
                        Self::label_span(&value),
                        &format!("/{field}"),
                        Remedy::Quarantine,
                    );
                }
                Some(_) => {}
            }
        }
    }

    fn slug(&mut self) {
        let Some(value) = self.fields.get("slug") else {
            return;
        };
        if !is_nonblank_string(&value) {
            return; // already reported as missing
        }
        let text = value.as_str().unwrap_or_default();
        if is_slug(&text) {
            return;
        }
        let trimmed = json::js_trim(&text);
        let remedy = if is_slug(trimmed) && trimmed.is_ascii() {
            Remedy::Replace {
                span: value.span(),
                text: format!("\"{trimmed}\""),
                title: format!("trim the slug to \"{trimmed}\""),
                safe: false,
            }
        } else {
            Remedy::Quarantine
        };
        let why = if text.chars().count() > 100 {
            format!(
                "it is {} characters long (at most 100)",
                text.chars().count()
            )
        } else if let Some(bad) = text
            .chars()
            .find(|c| !(c.is_ascii_alphanumeric() || *c == '_' || *c == '-'))
        {
            format!("{bad:?} is not allowed")
        } else {
            "it does not match".to_string()
        };
        self.problem(
            &INVALID_SLUG,
            format!(
                "slug {} must match ^[a-zA-Z0-9_-]{{1,100}}$: {why}",
                shown(&value)
            ),
            "invalid slug",
            value.span(),
            "/slug",
            remedy,
        );
    }

    fn enum_field(&mut self, field: &str, allowed: &[&str], code: &'static Code, required: bool) {
        let value = match self.fields.get(field) {
            Some(value) => value,
            None if required => {
                let span = self.opening();
                self.problem(
                    code,
                    format!(
                        "\"{field}\" must be one of {}; got \"undefined\" (it is missing)",
                        allowed.join(", ")
                    ),
                    &format!("this job has no \"{field}\""),
                    span,
                    "",
                    Remedy::Quarantine,
                );
                return;
            }
            None => return,
        };
        let text = value.as_str();
        if value.kind() == Kind::String && allowed.contains(&&*text.clone().unwrap_or_default()) {
            return;
        }
        let lowered = text.map(|t| t.to_ascii_lowercase());
        let remedy = match lowered.as_deref() {
            Some(lower) if allowed.contains(&lower) => Remedy::Replace {
                span: value.span(),
                text: format!("\"{lower}\""),
                title: format!("lowercase {field} to \"{lower}\""),
                safe: false,
            },
            _ => Remedy::Quarantine,
        };
        self.problem(
            code,
            format!(
                "\"{field}\" must be one of {}; got {}",
                allowed.join(", "),
                shown(&value)
            ),
            &format!("invalid {field}"),
            value.span(),
            &format!("/{field}"),
            remedy,
        );
    }

    fn schedule(&mut self, now: &cron::Now) {
        let Some(value) = self.fields.get("schedule") else {
            return;
        };
        if !is_nonblank_string(&value) {
            return;
        }
        let text = value.as_str().unwrap_or_default();
        let Err(err) = self.crons.parse(&text, now).clone() else {
            return;
        };
        let trimmed = json::js_trim(&text);
        let trim_fixes = trimmed.len() != text.len() && self.crons.parse(trimmed, now).is_ok();
        let remedy = if trim_fixes {
            // Keep the pattern's own source bytes (escapes included); drop only the whitespace.
            let lead = text.len() - text.trim_start_matches(json::is_js_whitespace).len();
            let kept = value.source_range(lead..lead + trimmed.len());
            let inner = value.span();
            let mut replacement = String::from("\"");
            replacement.push_str(&String::from_utf8_lossy(
                &value.raw()[kept.start - inner.start..kept.end - inner.start],
            ));
            replacement.push('"');
            Remedy::Replace {
                span: inner,
                text: replacement,
                title: format!("trim the schedule to \"{trimmed}\""),
                safe: true,
            }
        } else {
            Remedy::Quarantine
        };
        let span = value.source_range(err.span.clone());
        let span = if span.is_empty() { value.span() } else { span };
        self.problem(
            &INVALID_CRON,
            format!("invalid cron expression {}: {}", shown(&value), err.message),
            cron_label(err.kind),
            span,
            "/schedule",
            remedy,
        );
    }

    fn enabled(&mut self) {
        let value = self.fields.get("enabled");
        if value.as_ref().is_some_and(|v| v.kind() == Kind::Bool) {
            return;
        }
        let (span, label, pointer, got) = match &value {
            Some(v) => (v.span(), "not a boolean", "/enabled", shown(v)),
            None => (
                self.opening(),
                "this job has no \"enabled\"",
                "",
                "nothing (it is missing)".to_string(),
            ),
        };
        let remedy = match value.as_ref().map(|v| (v.kind(), v.raw())) {
            Some((Kind::String, b"\"true\"")) | Some((Kind::Number, b"1")) => Remedy::Replace {
                span: span.clone(),
                text: "true".into(),
                title: "make enabled the boolean true".into(),
                safe: false,
            },
            Some((Kind::String, b"\"false\"")) | Some((Kind::Number, b"0")) => Remedy::Replace {
                span: span.clone(),
                text: "false".into(),
                title: "make enabled the boolean false".into(),
                safe: false,
            },
            _ => Remedy::Quarantine,
        };
        self.problem(
            &INVALID_ENABLED,
            format!("\"enabled\" must be a boolean; got {got}"),
            label,
            span,
            pointer,
            remedy,
        );
    }

    fn execute(&mut self) {
        let Some(execute) = self.fields.get("execute") else {
            let span = self.opening();
            self.problem(
                &INVALID_EXECUTE,
                "\"execute\" must be an object; it is missing".into(),
                "this job has no \"execute\"",
                span,
                "",
                Remedy::Quarantine,
            );
            return;
        };
        // typeof [] is "object" in JavaScript: an array passes this rule and fails on its type.
        if !matches!(execute.kind(), Kind::Object | Kind::Array) {
            self.problem(
                &INVALID_EXECUTE,
                format!("\"execute\" must be an object; got {}", js_type(&execute)),
                "not an object",
                execute.span(),
                "/execute",
                Remedy::Quarantine,
            );
            return;
        }
        self.execute_type(&execute);
        self.execute_value(&execute);
        self.execute_args(&execute);
    }

    /// `execute.type`: one of instar's kinds (`agentmd` only in a per-slug manifest).
    fn execute_type(&mut self, execute: &Value<'a>) {
        let kind = execute.get("type");
        let type_ok = kind.as_ref().is_some_and(|t| {
            t.kind() == Kind::String && EXECUTE_TYPES.contains(&&*t.as_str().unwrap_or_default())
        });
        if !type_ok {
            let (span, got) = match &kind {
                Some(t) => (t.span(), shown(t)),
                None => (
                    execute.span().start..execute.span().start + 1,
                    "nothing".into(),
                ),
            };
            let extra = if kind.as_ref().and_then(|t| t.as_str()).as_deref() == Some("agentmd") {
                " (agentmd is only valid in a per-slug manifest)"
            } else {
                ""
            };
            self.problem(
                &INVALID_EXECUTE,
                format!(
                    "execute.type must be one of {}; got {got}{extra}",
                    EXECUTE_TYPES.join(", ")
                ),
                "invalid execute.type",
                span,
                "/execute/type",
                Remedy::Quarantine,
            );
        }
    }

    /// `execute.value`: the skill, prompt or script, never blank.
    fn execute_value(&mut self, execute: &Value<'a>) {
        match execute.get("value") {
            Some(v) if is_nonblank_string(&v) => {}
            other => {
                let span = other
                    .map(|v| v.span())
                    .unwrap_or(execute.span().start..execute.span().start + 1);
                self.problem(
                    &INVALID_EXECUTE,
                    "execute.value is required: a non-blank skill name, prompt or script path"
                        .into(),
                    "missing or blank execute.value",
                    span,
                    "/execute/value",
                    Remedy::Quarantine,
                );
            }
        }
    }

    /// `execute.args`, when present: a string.
    fn execute_args(&mut self, execute: &Value<'a>) {
        if let Some(args) = execute.get("args") {
            if args.kind() != Kind::String {
                self.problem(
                    &INVALID_EXECUTE,
                    format!("execute.args must be a string; got {}", js_type(&args)),
                    "not a string",
                    args.span(),
                    "/execute/args",
                    Remedy::Quarantine,
                );
            }
        }
    }

    fn gate(&mut self) {
        if let Some(gate) = self.fields.get("gate") {
            if gate.kind() != Kind::String {
                self.problem(
                    &INVALID_GATE,
                    format!("\"gate\" must be a string; got {}", js_type(&gate)),
                    "not a string",
                    gate.span(),
                    "/gate",
                    Remedy::Quarantine,
                );
            }
        }
    }

    fn telegram_notify(&mut self) {
        let Some(value) = self.fields.get("telegramNotify") else {
            return;
        };
        if value.kind() == Kind::Bool || value.raw() == b"\"on-alert\"" {
            return;
        }
        let remedy = match value.raw() {
            b"\"true\"" | b"\"false\"" => {
                let text = if value.raw() == b"\"true\"" {
                    "true"
                } else {
                    "false"
                };
                Remedy::Replace {
                    span: value.span(),
                    text: text.into(),
                    title: format!("make telegramNotify the boolean {text}"),
                    safe: false,
                }
            }
            _ => Remedy::Quarantine,
        };
        self.problem(
            &INVALID_TELEGRAM_NOTIFY,
            format!(
                "\"telegramNotify\" must be true, false or \"on-alert\"; got {}",
                shown(&value)
            ),
            "invalid telegramNotify",
            value.span(),
            "/telegramNotify",
            remedy,
        );
    }

    /// An optional array of non-blank strings; reports under `code` with messages prefixed `what`.
    fn string_array(&mut self, value: &Value<'_>, what: &str, pointer: &str, code: &'static Code) {
        if value.kind() != Kind::Array {
            self.problem(
                code,
                format!("{what} must be an array; got {}", js_type(value)),
                "not an array",
                value.span(),
                pointer,
                Remedy::Quarantine,
            );
            return;
        }
        if let Some((index, bad)) = value
            .elements()
            .enumerate()
            .find(|(_, item)| !is_nonblank_string(item))
        {
            self.problem(
                code,
                format!(
                    "{what} entries must be non-empty strings; entry #{} is not",
                    index + 1
                ),
                "not a non-empty string",
                bad.span(),
                &format!("{pointer}/{index}"),
                Remedy::Quarantine,
            );
        }
    }

    fn machines(&mut self) {
        if let Some(value) = self.fields.get("machines") {
            self.string_array(&value, "\"machines\"", "/machines", &INVALID_MACHINES);
        }
    }

    fn grounding(&mut self) {
        let Some(grounding) = self.fields.get("grounding") else {
            return;
        };
        if grounding.kind() != Kind::Object {
            self.problem(
                &INVALID_GROUNDING,
                format!(
                    "\"grounding\" must be an object; got {}",
                    js_type(&grounding)
                ),
                "not an object",
                grounding.span(),
                "/grounding",
                Remedy::Quarantine,
            );
            return;
        }
        match grounding.get("requiresIdentity") {
            Some(v) if v.kind() == Kind::Bool => {}
            other => {
                let span = other
                    .map(|v| v.span())
                    .unwrap_or(grounding.span().start..grounding.span().start + 1);
                self.problem(
                    &INVALID_GROUNDING,
                    "grounding.requiresIdentity must be a boolean".into(),
                    "missing or not a boolean",
                    span,
                    "/grounding/requiresIdentity",
                    Remedy::Quarantine,
                );
            }
        }
        if let Some(v) = grounding.get("processesExternalInput") {
            if v.kind() != Kind::Bool {
                self.problem(
                    &INVALID_GROUNDING,
                    "grounding.processesExternalInput must be a boolean".into(),
                    "not a boolean",
                    v.span(),
                    "/grounding/processesExternalInput",
                    Remedy::Quarantine,
                );
            }
        }
        // Names spelled out: a healthy entry builds no strings.
        for (field, what, pointer) in [
            (
                "contextFiles",
                "grounding.contextFiles",
                "/grounding/contextFiles",
            ),
            ("questions", "grounding.questions", "/grounding/questions"),
        ] {
            if let Some(v) = grounding.get(field) {
                self.string_array(&v, what, pointer, &INVALID_GROUNDING);
            }
        }
    }

    fn common_blockers(&mut self) {
        let Some(blockers) = self.fields.get("commonBlockers") else {
            return;
        };
        if blockers.kind() != Kind::Object {
            self.problem(
                &INVALID_COMMON_BLOCKERS,
                format!(
                    "\"commonBlockers\" must be a plain object; got {}",
                    js_type(&blockers)
                ),
                "not a plain object",
                blockers.span(),
                "/commonBlockers",
                Remedy::Quarantine,
            );
            return;
        }
        let keys = distinct_member_count(&blockers);
        if keys > MAX_COMMON_BLOCKERS {
            self.problem(
                &INVALID_COMMON_BLOCKERS,
                format!("\"commonBlockers\" has {keys} entries; at most {MAX_COMMON_BLOCKERS} are allowed"),
                "too many entries",
                blockers.span(),
                "/commonBlockers",
                Remedy::Quarantine,
            );
        }
        for (key, blocker) in last_wins_members(&blockers) {
            let base = format!("/commonBlockers/{}", pointer_escape(&key));
            if let Some(message) = blocker_problem(&blocker) {
                self.problem(
                    &INVALID_COMMON_BLOCKERS,
                    format!("commonBlockers[{key:?}]: {message}"),
                    "invalid blocker",
                    blocker.span(),
                    &base,
                    Remedy::Quarantine,
                );
            }
        }
    }
}

/// The first rule a commonBlockers entry breaks, if any.
fn blocker_problem(blocker: &Value<'_>) -> Option<String> {
    if blocker.kind() != Kind::Object {
        return Some(format!("must be an object; got {}", js_type(blocker)));
    }
    for field in ["description", "resolution"] {
        if !blocker.get(field).is_some_and(|v| is_nonblank_string(&v)) {
            return Some(format!("\"{field}\" is required"));
        }
    }
    if let Some(status) = blocker.get("status") {
        let ok = status.kind() == Kind::String
            && BLOCKER_STATUSES.contains(&&*status.as_str().unwrap_or_default());
        if !ok {
            return Some(format!(
                "\"status\" must be one of {}; got {}",
                BLOCKER_STATUSES.join(", "),
                shown(&status)
            ));
        }
    }
    if let Some(tools) = blocker.get("toolsNeeded") {
        let ok = tools.kind() == Kind::Array && tools.elements().all(|t| t.kind() == Kind::String);
        if !ok {
            return Some("\"toolsNeeded\" must be an array of strings".into());
        }
    }
    if let Some(credentials) = blocker.get("credentials") {
        let ok = credentials.kind() == Kind::String
            || (credentials.kind() == Kind::Array
                && credentials.elements().all(|c| c.kind() == Kind::String));
        if !ok {
            return Some("\"credentials\" must be a string or an array of strings".into());
        }
    }
    for field in BLOCKER_DATE_FIELDS {
        if let Some(v) = blocker.get(field) {
            if v.kind() != Kind::String {
                return Some(format!("\"{field}\" must be a string"));
            }
        }
    }
    if let Some(count) = blocker.get("successCount") {
        if count.kind() != Kind::Number {
            return Some("\"successCount\" must be a number".into());
        }
    }
    None
}

/// Members as JSON.parse keeps them: for a repeated key only the last, at the first's position.
fn last_wins_members<'a>(object: &Value<'a>) -> Vec<(String, Value<'a>)> {
    let mut out: Vec<(String, Value<'a>)> = Vec::new();
    for (key, value) in object.members() {
        let key = key.into_owned();
        match out.iter_mut().find(|(k, _)| *k == key) {
            Some(slot) => slot.1 = value,
            None => out.push((key, value)),
        }
    }
    out
}

fn distinct_member_count(object: &Value<'_>) -> usize {
    last_wins_members(object).len()
}

/// RFC 6901 escaping of one reference token.
pub fn pointer_escape(token: &str) -> String {
    token.replace('~', "~0").replace('/', "~1")
}

fn cron_label(kind: cron::ErrorKind) -> &'static str {
    match kind {
        cron::ErrorKind::Empty => "empty schedule",
        cron::ErrorKind::Whitespace => "whitespace croner does not trim",
        cron::ErrorKind::FieldCount => "needs 5 or 6 fields",
        cron::ErrorKind::Range => "out of range",
        cron::ErrorKind::Syntax => "invalid syntax",
        cron::ErrorKind::IllegalChar => "not allowed here",
        cron::ErrorKind::DayOfWeek => "invalid day of week",
        cron::ErrorKind::Nickname => "unknown nickname",
        cron::ErrorKind::InvalidDate => "invalid date",
        cron::ErrorKind::Overflow => "matches nothing: croner overflows",
    }
}

/// Every problem of one entry, in validateJob's order.
pub fn validate<'a>(
    entry: Value<'a>,
    fields: &Fields<'a>,
    crons: &mut CronCache,
    now: &cron::Now,
) -> Vec<Problem> {
    let mut v = Validator {
        entry,
        fields,
        crons,
        problems: Vec::new(),
    };
    // typeof null is "object" too, but validateJob rejects null explicitly; arrays pass this rule.
    if !matches!(entry.kind(), Kind::Object | Kind::Array) {
        let span = entry.span();
        v.problem(
            &ENTRY_NOT_OBJECT,
            format!("a job must be an object; got {}", js_type(&entry)),
            "not an object",
            span,
            "",
            Remedy::Quarantine,
        );
        return v.problems;
    }
    v.required_strings();
    v.slug();
    v.enum_field("priority", PRIORITIES, &INVALID_PRIORITY, true);
    v.enum_field("model", MODELS, &INVALID_MODEL, false);
    v.schedule(now);
    v.enabled();
    v.execute();
    v.gate();
    v.telegram_notify();
    v.machines();
    v.grounding();
    v.common_blockers();
    if entry.kind() == Kind::Array {
        // typeof [] is "object", so instar reports a missing slug; every other field is missing
        // too, and saying so seven times helps nobody.
        v.problems.truncate(1);
        if let Some(first) = v.problems.first_mut() {
            first
                .message
                .push_str(" (the entry is an array, not a job object)");
        }
    }
    v.problems
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Below and past the few schedules compared in turn, every text gets its own verdict, and
    /// each is parsed once.
    #[test]
    fn cron_cache_answers_each_text_with_its_own_verdict() {
        let now = cron::Now {
            year: 2026,
            month: 12,
            day: 4,
            hour: 8,
            minute: 0,
            second: 0,
            weekday: 5,
        };
        // Every third one has an hour out of range: errors are remembered too.
        let texts: Vec<String> = (0..20)
            .map(|m| match m % 3 {
                0 => format!("{m} 99 * * *"),
                _ => format!("{m} 9 * * *"),
            })
            .collect();
        let mut cache = CronCache::default();
        for _round in 0..2 {
            for text in &texts {
                let cached = format!("{:?}", cache.parse(text, &now));
                assert_eq!(cached, format!("{:?}", cron::parse(text, &now)), "{text}");
            }
        }
        assert_eq!(cache.verdicts.len(), texts.len());
        assert!(cache.parse("0 99 * * *", &now).is_err());
    }
}

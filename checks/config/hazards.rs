//! Version hazards: keys HEAD's PostUpdateMigrator rewrites (C-DEPRECATED, with the migrator's
//! own transformation as the fix) and the `scheduler.enabled` default flip (C-SCHED-DEFAULT).

use crate::diag::{Diagnostic, Effect, Severity, Sink};
use crate::fix::{Change, Fix};
use crate::json::{Kind, Value};
use crate::json_edit;
use crate::version::boundary;

use super::codes::*;
use super::members::{indent_at, member_span, removal};
use super::Config;

const LEGACY_FEEDBACK_URL: &str = "https://dawn.bot-me.ai/api/instar/feedback";
const FEEDBACK_URL: &str = "https://feedback.dawn-tunnel.dev/api/feedback";

pub fn check(cfg: &Config<'_>, sink: &mut Sink) {
    max_sessions(cfg, sink);
    mentor_spend_cap(cfg, sink);
    feedback_url(cfg, sink);
    scheduler_default(cfg, sink);
}

fn edit(cfg: &Config<'_>, span: crate::diag::Span, replacement: String) -> Change {
    Change::Edit {
        file: cfg.path.clone().into(),
        span,
        replacement: replacement.into(),
    }
}

fn max_sessions(cfg: &Config<'_>, sink: &mut Sink) {
    if cfg.cx.version < boundary::MAX_SESSIONS_MIGRATED {
        return;
    }
    let Some(legacy) = cfg.root.get("maxSessions") else {
        return;
    };
    let (fix, note) = max_sessions_migration(cfg, legacy);
    sink.push(
        Diagnostic::new(
            &DEPRECATED,
            Effect::Silent,
            format!("top-level maxSessions is deprecated and ignored by the loader: sessions.maxSessions applies{note}"),
        )
        .file(cfg.path)
        .at(legacy.key_span().unwrap_or_else(|| legacy.span()), "legacy key")
        .pointer("/maxSessions")
        .help(format!(
            "instar {}'s next update moves it into sessions; the fix does the same now",
            cfg.cx.version
        ))
        .fix(fix),
    );
}

/// What PostUpdateMigrator does with a top-level maxSessions, as a fix, by what `sessions` is;
/// and what the message adds.
fn max_sessions_migration(cfg: &Config<'_>, legacy: Value<'_>) -> (Option<Fix>, &'static str) {
    let raw = String::from_utf8_lossy(legacy.raw()).into_owned();
    match cfg.root.get("sessions") {
        None => (
            Some(Fix::safe(
                MOVE_MAX_SESSIONS,
                vec![edit(
                    cfg,
                    member_span(&legacy),
                    format!("\"sessions\": {{\"maxSessions\": {raw}}}"),
                )],
            )),
            "",
        ),
        Some(s) if s.kind() == Kind::Object && s.get("maxSessions").is_some() => (
            removal(&cfg.root, "maxSessions").map(|span| {
                Fix::unsafe_(
                    "delete the legacy maxSessions (sessions.maxSessions wins, as in PostUpdateMigrator)",
                    vec![edit(cfg, span, String::new())],
                )
            }),
            "; sessions.maxSessions is also set and wins",
        ),
        Some(s) if s.kind() == Kind::Object => (move_into_sessions(cfg, s, &raw), ""),
        Some(_) => (
            Some(Fix::manual(
                "make sessions an object holding maxSessions, then delete the top-level key",
            )),
            "",
        ),
    }
}

const MOVE_MAX_SESSIONS: &str = "move maxSessions into sessions, as PostUpdateMigrator does";

/// Moves the top-level maxSessions to the front of the `sessions` object, in its layout; none
/// when the removal and the insertion would touch the same bytes.
fn move_into_sessions(cfg: &Config<'_>, sessions: Value<'_>, raw: &str) -> Option<Fix> {
    let remove = removal(&cfg.root, "maxSessions");
    let insert = match sessions.members().next() {
        Some((_, first)) => {
            let at = first
                .key_span()
                .map(|k| k.start)
                .unwrap_or(first.span().start);
            let bytes = cfg.root.tape().source();
            let indent = indent_at(bytes, at);
            let separator = if bytes[sessions.span().start..at].contains(&b'\n') {
                format!(",\n{indent}")
            } else {
                ", ".to_string()
            };
            Some((at..at, format!("\"maxSessions\": {raw}{separator}")))
        }
        None => Some((
            sessions.span().start + 1..sessions.span().end - 1,
            format!("\"maxSessions\": {raw}"),
        )),
    };
    let overlaps = match (&remove, &insert) {
        (Some(r), Some((i, _))) => r.start < i.end.max(i.start + 1) && i.start < r.end,
        _ => true,
    };
    match (remove, insert, overlaps) {
        (Some(r), Some((i, text)), false) => Some(Fix::safe(
            MOVE_MAX_SESSIONS,
            vec![edit(cfg, r, String::new()), edit(cfg, i, text)],
        )),
        _ => None,
    }
}

fn mentor_spend_cap(cfg: &Config<'_>, sink: &mut Sink) {
    if cfg.cx.version < boundary::MENTOR_SPEND_CAP_RETIRED {
        return;
    }
    let Some(mentor) = cfg.root.get("mentor").filter(|m| m.kind() == Kind::Object) else {
        return;
    };
    let Some(cap) = mentor.get("dailySpendCapUsd") else {
        return;
    };
    let fix = removal(&mentor, "dailySpendCapUsd").map(|span| {
        Fix::unsafe_(
            "delete mentor.dailySpendCapUsd, as PostUpdateMigrator does",
            vec![edit(cfg, span, String::new())],
        )
    });
    sink.push(
        Diagnostic::new(
            &DEPRECATED,
            Effect::None,
            "mentor.dailySpendCapUsd is retired: nothing reads it, and the next update deletes it",
        )
        .severity(Severity::Info)
        .file(cfg.path)
        .at(cap.key_span().unwrap_or_else(|| cap.span()), "retired key")
        .pointer("/mentor/dailySpendCapUsd")
        .fix(fix),
    );
}

fn feedback_url(cfg: &Config<'_>, sink: &mut Sink) {
    if cfg.cx.version < boundary::FEEDBACK_URL_REPOINTED {
        return;
    }
    let Some(url) = cfg.root.get("feedback").and_then(|f| f.get("webhookUrl")) else {
        return;
    };
    if url.as_str().as_deref() != Some(LEGACY_FEEDBACK_URL) || url.kind() != Kind::String {
        return;
    }
    sink.push(
        Diagnostic::new(
            &DEPRECATED,
            Effect::Silent,
            "feedback.webhookUrl is the legacy endpoint, which no longer receives feedback",
        )
        .file(cfg.path)
        .at(url.span(), "legacy URL")
        .pointer("/feedback/webhookUrl")
        .help("PostUpdateMigrator repoints it on the next update")
        .fix(Some(Fix::safe(
            format!("repoint it at {FEEDBACK_URL}, as PostUpdateMigrator does"),
            vec![edit(
                cfg,
                url.span(),
                json_edit::string_literal(FEEDBACK_URL),
            )],
        ))),
    );
}

fn scheduler_default(cfg: &Config<'_>, sink: &mut Sink) {
    let scheduler = cfg.root.get("scheduler");
    if let Some(s) = scheduler {
        if s.kind() != Kind::Object || s.get("enabled").is_some() {
            return;
        }
    }
    let now_on = cfg.cx.version >= boundary::SCHEDULER_ENABLED_BY_DEFAULT;
    let message = if now_on {
        format!(
            "scheduler.enabled is unset: on at instar {} (it was off before v1.2.53)",
            cfg.cx.version
        )
    } else {
        format!(
            "scheduler.enabled is unset: off at instar {}, but on from v1.2.53, so an upgrade starts every job",
            cfg.cx.version
        )
    };
    let mut diagnostic = Diagnostic::new(&SCHEDULER_DEFAULT, Effect::None, message)
        .file(cfg.path)
        .help("set scheduler.enabled explicitly to keep the behaviour across upgrades");
    diagnostic = match scheduler {
        Some(s) => diagnostic
            .at(
                s.key_span().unwrap_or_else(|| s.span()),
                "no \"enabled\" here",
            )
            .pointer("/scheduler"),
        None => diagnostic,
    };
    sink.push(diagnostic);
}

//! The resume queue stuck paused (#35): `.instar/state/resume-queue.json` paused for over an
//! hour while revivals wait.

use crate::cron::parse_rfc3339;
use crate::diag::{Diagnostic, Effect, Severity, Sink};
use crate::engine::Context;
use crate::fix::Fix;
use crate::version::boundary;

use super::codes::RESUME_QUEUE_PAUSED;

/// The hazard's threshold: an operator's deliberate stop is lifted well within an hour.
const STALE_PAUSE_SECS: i64 = 60 * 60;
/// The queue holds a handful of entries; a file past this is not one instar wrote.
const MAX_LEN: u64 = 4 << 20;

pub fn paused(cx: &Context, sink: &mut Sink) {
    let path = cx.state_path("state/resume-queue.json");
    if cx.file_len(&path).is_none_or(|len| len > MAX_LEN) {
        return;
    }
    let Some(doc) = cx.json(&path) else { return };
    let Some(tape) = doc.tape() else { return };
    let root = tape.root();
    if root.get("paused").and_then(|p| p.as_bool()) != Some(true) {
        return;
    }
    // No (or an unreadable) pausedAt: its age is unknown, and "healthy is true" wants proof.
    let Some(paused_at) = root
        .get("pausedAt")
        .and_then(|p| p.as_str())
        .and_then(|p| parse_rfc3339(&p))
    else {
        return;
    };
    let age = cx.now - paused_at;
    if age < STALE_PAUSE_SECS {
        return;
    }
    let waiting = root
        .get("entries")
        .map(|entries| {
            entries
                .elements()
                .filter(|e| {
                    e.get("status")
                        .and_then(|s| s.as_str())
                        .is_some_and(|s| s == "queued" || s == "starting")
                })
                .count()
        })
        .unwrap_or(0);
    if waiting == 0 {
        return;
    }
    let stuck = cx.version < boundary::RESUME_QUEUE_AUTO_RESUME;
    let (severity, effect, consequence) = if stuck {
        (
            Severity::Warning,
            Effect::Silent,
            format!("instar {} never lifts it, so they stay dead", cx.version),
        )
    } else {
        (
            Severity::Info,
            Effect::None,
            format!("instar {} lifts a stale pause by itself", cx.version),
        )
    };
    sink.push(
        Diagnostic::new(
            &RESUME_QUEUE_PAUSED,
            effect,
            format!(
                "the resume queue has been paused for {} h with {waiting} revival(s) waiting: {consequence}",
                age / 3600
            ),
        )
        .severity(severity)
        .file(&path)
        .pointer("/paused")
        .fix(Some(Fix::manual(
            "curl -X POST -H \"Authorization: Bearer $AUTH\" http://localhost:<port>/sessions/resume-queue/resume (the server's unpause route), or update instar",
        ))),
    );
}

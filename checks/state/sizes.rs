//! Oversized append-only files (#28): judged by the size in their metadata, never opened, so a
//! 200 MB ledger costs one `stat`.

use crate::diag::{Diagnostic, Effect, Severity, Sink};
use crate::engine::Context;
use crate::fix::Fix;
use crate::version::{boundary, Version};

use super::codes::OVERSIZED_LOG;

const MB: u64 = 1 << 20;

/// One file instar appends to without bound, the size past which it hurt a real agent, and the
/// version from which instar no longer reads it whole.
struct Watched {
    path: &'static str,
    limit: u64,
    harmless_from: Version,
    /// What a file this large did before `harmless_from`.
    harm: &'static str,
}

/// Limits sit below the sizes in the incidents (202 MB, 13 MB, 12 MB) so the warning comes
/// before the outage, and far above what a healthy agent writes in months.
const WATCHED: &[Watched] = &[
    Watched {
        path: "server-data/token-ledger.db",
        limit: 100 * MB,
        harmless_from: boundary::TOKEN_LEDGER_BACKFILL_ASYNC,
        harm: "its boot-time scan can outlast the health timeout: a crash loop",
    },
    Watched {
        path: "ledger/job-runs.jsonl",
        limit: 10 * MB,
        harmless_from: boundary::JOB_RUNS_CACHED,
        harm: "it is re-read whole every scheduler tick, freezing the server for seconds",
    },
    Watched {
        path: "telegram-messages.jsonl",
        limit: 10 * MB,
        harmless_from: boundary::TELEGRAM_LOG_TAIL_READS,
        harm: "it is read whole on a 5-minute timer, freezing the server for seconds",
    },
];

pub fn oversized(cx: &Context, sink: &mut Sink) {
    for watched in WATCHED {
        let path = cx.state_path(watched.path);
        let Some(len) = cx.file_len(&path) else {
            continue;
        };
        if len < watched.limit {
            continue;
        }
        let size = format!("{} MB", len / MB);
        let (severity, effect, consequence) = if cx.version < watched.harmless_from {
            (
                Severity::Warning,
                Effect::Silent,
                format!("at instar {} {}", cx.version, watched.harm),
            )
        } else {
            (
                Severity::Info,
                Effect::None,
                format!(
                    "instar {} reads it in bounded pieces, but it keeps growing",
                    cx.version
                ),
            )
        };
        sink.push(
            Diagnostic::new(
                &OVERSIZED_LOG,
                effect,
                format!(
                    "{} is {size} (over {} MB): {consequence}",
                    cx.display_path(&path),
                    watched.limit / MB
                ),
            )
            .severity(severity)
            .file(&path)
            .fix(Some(Fix::manual(format!(
                "with the agent stopped, move {} aside (keep a copy, or compact it); instar starts a new one",
                cx.display_path(&path)
            )))),
        );
    }
}

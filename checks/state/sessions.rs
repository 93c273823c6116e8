//! Ghost session records (#36): several records in `.instar/state/sessions/` that claim to be
//! live in one tmux session. Records are small; the listing is capped so an agent with years of
//! history costs a bounded number of reads.

use std::collections::BTreeMap;
use std::path::PathBuf;

use crate::diag::{Diagnostic, Effect, Sink};
use crate::engine::Context;
use crate::fix::{Change, Fix};
use crate::version::boundary;

use super::codes::GHOST_SESSIONS;

/// Records looked at. Ghosts come from respawn storms, so they sit among many records; past this
/// the check stays silent about the rest rather than slow down every run.
const LISTING_CAP: usize = 512;
/// A session record is a few kilobytes; anything larger is not one instar wrote.
const MAX_LEN: u64 = 256 * 1024;

/// One live record: where its status value is, and when it started.
struct Live {
    path: PathBuf,
    name: String,
    status_span: crate::diag::Span,
    started_at: String,
}

pub fn ghosts(cx: &Context, sink: &mut Sink) {
    for (tmux, mut live) in live_by_tmux(cx) {
        if live.len() < 2 {
            continue;
        }
        // The newest start is the record a respawn wrote last: the one instar keeps, too. ISO
        // timestamps of one writer order as text; the name breaks ties deterministically.
        live.sort_by(|a, b| (&a.started_at, &a.name).cmp(&(&b.started_at, &b.name)));
        let keep = live.pop().expect("two or more records");
        sink.push(ghost_finding(cx, &tmux, &keep, &live));
    }
}

/// The session records that claim to be live (running or starting), by their tmux session.
fn live_by_tmux(cx: &Context) -> BTreeMap<String, Vec<Live>> {
    let dir = cx.state_path("state/sessions");
    let (names, _cut) = cx.list_dir_capped(&dir, LISTING_CAP);
    let mut by_tmux: BTreeMap<String, Vec<Live>> = BTreeMap::new();
    for name in names.into_iter().filter(|n| n.ends_with(".json")) {
        let path = dir.join(&name);
        if cx.file_len(&path).is_none_or(|len| len > MAX_LEN) {
            continue;
        }
        let Some(doc) = cx.json(&path) else { continue };
        let Some(tape) = doc.tape() else { continue };
        let root = tape.root();
        let Some(status) = root.get("status") else {
            continue;
        };
        if !status
            .as_str()
            .is_some_and(|s| s == "running" || s == "starting")
        {
            continue;
        }
        let Some(tmux) = root
            .get("tmuxSession")
            .and_then(|t| t.as_str())
            .filter(|t| !t.is_empty())
        else {
            continue;
        };
        let started_at = root
            .get("startedAt")
            .and_then(|s| s.as_str())
            .map(|s| s.into_owned())
            .unwrap_or_default();
        by_tmux.entry(tmux.into_owned()).or_default().push(Live {
            path,
            name,
            status_span: status.span(),
            started_at,
        });
    }
    by_tmux
}

/// Several live records of one tmux session: all but `keep` are ghosts, marked completed by the
/// fix.
fn ghost_finding(cx: &Context, tmux: &str, keep: &Live, ghosts: &[Live]) -> Diagnostic {
    let changes = ghosts
        .iter()
        .map(|ghost| Change::Edit {
            file: ghost.path.clone().into(),
            span: ghost.status_span.clone(),
            replacement: "\"completed\"".to_string().into(),
        })
        .collect();
    let healed = cx.version >= boundary::GHOST_SESSIONS_SUPERSEDED;
    let when = if healed {
        format!(
            "instar {} completes them at the next save of a live record",
            cx.version
        )
    } else {
        format!("instar {} leaves them until cleaned by hand", cx.version)
    };
    let ghost_names: Vec<&str> = ghosts.iter().map(|g| g.name.as_str()).collect();
    Diagnostic::new(
        &GHOST_SESSIONS,
        Effect::None,
        format!(
            "{} session records claim to be live in tmux session {tmux:?}; only {} can be: the dashboard shows the others ({}) as duplicates, and {when}",
            ghosts.len() + 1,
            keep.name,
            ghost_names.join(", ")
        ),
    )
    .file(&keep.path)
    .fix(Some(Fix::unsafe_(
        format!(
            "mark the {} older record(s) completed, keeping {}",
            ghosts.len(),
            keep.name
        ),
        changes,
    )))
}

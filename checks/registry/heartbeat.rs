//! `.instar/state/heartbeat.json` (spec §4.3, §9.4): healthy / stale / expired / missing, as
//! instar's own `instar doctor` reports it, plus a holder the registry does not know.

use crate::diag::{Diagnostic, Effect, Sink};
use crate::engine::Context;
use crate::fix::{Change, Fix};
use crate::json::Kind;
use crate::source::FileState;

use super::super::machine_state::{self as state, IdentityView};
use super::codes::*;

/// What the registry's entries tell the heartbeat check (filled by `entries::check`).
#[derive(Default)]
pub struct Holders {
    /// The registry's machine ids, when `machines` is an object.
    pub ids: Option<Vec<String>>,
}

/// A heartbeat is "stale" when no write happened for this long (two 2-minute intervals and a
/// margin) although it has not expired yet.
const STALE_AFTER_SECS: i64 = 5 * 60;

/// The holder of a heartbeat that has not expired.
pub fn live_holder(cx: &Context) -> Option<String> {
    let doc = cx.json(&cx.state_path(state::HEARTBEAT))?;
    let tape = doc.tape()?;
    let root = tape.root();
    let expires = crate::cron::parse_rfc3339(&root.get("expiresAt")?.as_str()?)?;
    (expires >= cx.now).then(|| root.get("holder")?.as_str().map(|s| s.into_owned()))?
}

pub fn check(cx: &Context, identity: &IdentityView, holders: &Holders, sink: &mut Sink) {
    let path = cx.state_path(state::HEARTBEAT);
    let file = cx.file(&path);
    temp_files(cx, &path, sink);
    if !identity.exists {
        // Multi-machine is off: instar writes no heartbeat.
        return;
    }
    let shown = cx.display_path(&path);
    let invalid = |message: String| {
        Diagnostic::new(&HEARTBEAT_INVALID, Effect::Silent, message)
            .file(&path)
            .help("an unreadable heartbeat counts as missing: a standby may promote itself while the awake machine runs")
    };
    match &*file {
        FileState::Missing => {
            sink.push(
                Diagnostic::new(
                    &HEARTBEAT_MISSING,
                    Effect::None,
                    format!("{shown} does not exist (heartbeat: missing)"),
                )
                .file(&path)
                .help("normal before the first start of an awake machine"),
            );
            return;
        }
        FileState::Present(_) => {}
        other => {
            sink.push(invalid(format!("{shown} {}", other.describe())));
            return;
        }
    }
    let Some(doc) = cx.json(&path) else { return };
    let tape = match (&doc.parsed, doc.tape()) {
        (Ok(o), Some(t)) if !o.bom => t,
        (Err(err), _) => {
            sink.push(
                invalid(format!("{shown} is not valid JSON: {}", err.message))
                    .at(err.span.clone(), "JSON.parse fails here"),
            );
            return;
        }
        _ => {
            sink.push(
                invalid(format!("{shown} starts with a byte order mark"))
                    .at(0..3, "byte order mark"),
            );
            return;
        }
    };
    let root = tape.root();
    let time = |name: &str| {
        root.get(name)
            .and_then(|v| v.as_str())
            .and_then(|t| crate::cron::parse_rfc3339(&t))
    };
    let holder = root
        .get("holder")
        .filter(|v| v.kind() == Kind::String)
        .and_then(|v| v.as_str());
    let (Some(holder), Some(timestamp), Some(expires)) =
        (holder, time("timestamp"), time("expiresAt"))
    else {
        sink.push(
            invalid(format!(
                "{shown} is not {{holder, role, timestamp, expiresAt}} with ISO times"
            ))
            .at(root.span(), "malformed heartbeat")
            .pointer(""),
        );
        return;
    };
    if let Some(ids) = &holders.ids {
        if !ids.iter().any(|id| *id == holder) {
            let span = root.get("holder").map(|v| v.span()).unwrap_or(root.span());
            sink.push(
                invalid(format!(
                    "the heartbeat holder {holder} is not in the registry"
                ))
                .at(span, "unknown holder")
                .pointer("/holder"),
            );
        }
    }
    let span = root
        .get("expiresAt")
        .map(|v| v.span())
        .unwrap_or(root.span());
    if expires < cx.now {
        let minutes = (cx.now - expires) / 60;
        sink.push(
            Diagnostic::new(
                &HEARTBEAT_EXPIRED,
                Effect::None,
                format!("the heartbeat of {holder} expired {minutes} minute(s) ago (heartbeat: expired)"),
            )
            .file(&path)
            .at(span, "expired")
            .pointer("/expiresAt")
            .help("normal when the agent is stopped; on a running mesh a standby may now fail over"),
        );
    } else if cx.now - timestamp > STALE_AFTER_SECS {
        let minutes = (cx.now - timestamp) / 60;
        let span = root
            .get("timestamp")
            .map(|v| v.span())
            .unwrap_or(root.span());
        sink.push(
            Diagnostic::new(
                &HEARTBEAT_STALE,
                Effect::None,
                format!("the heartbeat of {holder} was last written {minutes} minute(s) ago (heartbeat: stale)"),
            )
            .file(&path)
            .at(span, "last write")
            .pointer("/timestamp")
            .help("the awake machine writes it every 2 minutes; it may have stopped"),
        );
    }
}

fn temp_files(cx: &Context, path: &std::path::Path, sink: &mut Sink) {
    let dir = cx.state_path("state");
    for tmp in state::pid_temp_files(cx, &dir, "heartbeat.json") {
        if state::writer_alive(cx, &tmp) {
            continue;
        }
        sink.push(
            Diagnostic::new(
                &STRAY_TEMP_FILE,
                Effect::None,
                format!(
                    "{} is left over from an interrupted heartbeat write",
                    cx.display_path(&tmp)
                ),
            )
            .file(&tmp)
            .help(format!(
                "the awake machine rewrites {} every 2 minutes",
                cx.display_path(path)
            ))
            .fix(Some(Fix::safe(
                "move the temp file to the doctor's quarantine",
                vec![Change::Quarantine { file: tmp.clone() }],
            ))),
        );
    }
}

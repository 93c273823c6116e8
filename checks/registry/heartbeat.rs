//! `.instar/state/heartbeat.json` (spec §4.3, §9.4): healthy / stale / expired / missing, as
//! instar's own `instar doctor` reports it, plus a holder the registry does not know.

use std::path::Path;
use std::rc::Rc;

use crate::diag::{Diagnostic, Effect, Sink};
use crate::engine::{Context, JsonDoc};
use crate::fix::{Change, Fix};
use crate::json::{Kind, Value};
use crate::source::FileState;

use super::super::machine_state::{self as state, IdentityView};
use super::super::shared;
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
    temp_files(cx, &path, sink);
    if !identity.exists {
        // Multi-machine is off: instar writes no heartbeat.
        return;
    }
    let Some(doc) = loadable(cx, &path, sink) else {
        return;
    };
    let Some(root) = doc.tape().map(|tape| tape.root()) else {
        return;
    };
    let Some(beat) = Beat::read(root) else {
        sink.push(
            invalid(
                &path,
                format!(
                    "{} is not {{holder, role, timestamp, expiresAt}} with ISO times",
                    cx.display_path(&path)
                ),
            )
            .at(root.span(), "malformed heartbeat")
            .pointer(""),
        );
        return;
    };
    unknown_holder(&path, root, &beat, holders, sink);
    freshness(cx, &path, root, &beat, sink);
}

/// A `registry/heartbeat-invalid` finding: instar treats such a heartbeat as missing.
fn invalid(path: &Path, message: String) -> Diagnostic {
    Diagnostic::new(&HEARTBEAT_INVALID, Effect::Silent, message)
        .file(path)
        .help("an unreadable heartbeat counts as missing: a standby may promote itself while the awake machine runs")
}

/// The heartbeat file when JSON.parse accepts it; otherwise reports why not (missing, not a
/// file, a syntax error, a BOM) and gives nothing.
fn loadable(cx: &Context, path: &Path, sink: &mut Sink) -> Option<Rc<JsonDoc>> {
    let shown = cx.display_path(path);
    match &*cx.file(path) {
        FileState::Missing => {
            sink.push(
                Diagnostic::new(
                    &HEARTBEAT_MISSING,
                    Effect::None,
                    format!("{shown} does not exist (heartbeat: missing)"),
                )
                .file(path)
                .help("normal before the first start of an awake machine"),
            );
            return None;
        }
        FileState::Present(_) => {}
        other => {
            sink.push(invalid(path, format!("{shown} {}", other.describe())));
            return None;
        }
    }
    let doc = cx.json(path)?;
    if shared::clean_tape(&doc).is_some() {
        return Some(doc);
    }
    match &doc.parsed {
        Err(err) => sink.push(
            invalid(path, format!("{shown} is not valid JSON: {}", err.message))
                .at(err.span.clone(), "JSON.parse fails here"),
        ),
        Ok(_) => sink.push(
            invalid(path, format!("{shown} starts with a byte order mark"))
                .at(0..3, "byte order mark"),
        ),
    }
    None
}

/// The fields instar's doctor reads from a heartbeat, when all are there and well formed.
struct Beat {
    holder: String,
    timestamp: i64,
    expires: i64,
}

impl Beat {
    fn read(root: Value<'_>) -> Option<Beat> {
        let time = |name: &str| {
            root.get(name)
                .and_then(|v| v.as_str())
                .and_then(|t| crate::cron::parse_rfc3339(&t))
        };
        let holder = root
            .get("holder")
            .filter(|v| v.kind() == Kind::String)
            .and_then(|v| v.as_str())?;
        Some(Beat {
            holder: holder.into_owned(),
            timestamp: time("timestamp")?,
            expires: time("expiresAt")?,
        })
    }
}

/// A holder the registry does not list (only when the registry's entries could be read).
fn unknown_holder(path: &Path, root: Value<'_>, beat: &Beat, holders: &Holders, sink: &mut Sink) {
    let Some(ids) = &holders.ids else { return };
    if ids.contains(&beat.holder) {
        return;
    }
    let span = root.get("holder").map(|v| v.span()).unwrap_or(root.span());
    sink.push(
        invalid(
            path,
            format!(
                "the heartbeat holder {} is not in the registry",
                beat.holder
            ),
        )
        .at(span, "unknown holder")
        .pointer("/holder"),
    );
}

/// Expired, else stale (no write for a while), as instar's own doctor words it.
fn freshness(cx: &Context, path: &Path, root: Value<'_>, beat: &Beat, sink: &mut Sink) {
    let holder = &beat.holder;
    let span_of = |name: &str| root.get(name).map(|v| v.span()).unwrap_or(root.span());
    if beat.expires < cx.now {
        let minutes = (cx.now - beat.expires) / 60;
        sink.push(
            Diagnostic::new(
                &HEARTBEAT_EXPIRED,
                Effect::None,
                format!("the heartbeat of {holder} expired {minutes} minute(s) ago (heartbeat: expired)"),
            )
            .file(path)
            .at(span_of("expiresAt"), "expired")
            .pointer("/expiresAt")
            .help("normal when the agent is stopped; on a running mesh a standby may now fail over"),
        );
    } else if cx.now - beat.timestamp > STALE_AFTER_SECS {
        let minutes = (cx.now - beat.timestamp) / 60;
        sink.push(
            Diagnostic::new(
                &HEARTBEAT_STALE,
                Effect::None,
                format!("the heartbeat of {holder} was last written {minutes} minute(s) ago (heartbeat: stale)"),
            )
            .file(path)
            .at(span_of("timestamp"), "last write")
            .pointer("/timestamp")
            .help("the awake machine writes it every 2 minutes; it may have stopped"),
        );
    }
}

fn temp_files(cx: &Context, path: &Path, sink: &mut Sink) {
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

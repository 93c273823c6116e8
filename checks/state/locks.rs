//! instar's own locks and socket: the single-instance lock (#17, #9a), the lifeline lock (#18)
//! and `listener.sock` (#29). Liveness is `cx.process_alive` (kill(pid, 0) on the host seam);
//! nothing is ever offered for removal while its pid is alive.

use std::os::unix::fs::FileTypeExt;

use crate::diag::{Diagnostic, Effect, Severity, Sink};
use crate::engine::Context;
use crate::fix::{Change, Fix};
use crate::json::Value;
use crate::version::boundary;

use super::codes::*;

/// instar treats a host-rename heartbeat as stale after 5 minutes.
const STALE_HEARTBEAT_MS: f64 = 5.0 * 60.0 * 1000.0;

/// A pid as a lock stores it: a positive integer.
fn pid_of(value: Option<Value<'_>>) -> Option<u32> {
    let pid = value?.as_f64()?;
    (pid.fract() == 0.0 && (1.0..=u32::MAX as f64).contains(&pid)).then_some(pid as u32)
}

/// Whether a live server holds the single-instance lock (used by the socket rule).
fn server_alive(cx: &Context) -> bool {
    let path = cx.state_path("local/server-instance.lock");
    let Some(doc) = cx.json(&path) else {
        return false;
    };
    let Some(tape) = doc.tape() else { return false };
    pid_of(tape.root().get("pid")).is_some_and(|pid| cx.process_alive(pid))
}

pub fn instance_lock(cx: &Context, sink: &mut Sink) {
    let path = cx.state_path("local/server-instance.lock");
    if cx.file_len(&path).is_none_or(|len| len > 1 << 20) {
        return;
    }
    let Some(doc) = cx.json(&path) else { return };
    let tape = doc.tape();
    let root = tape.as_ref().map(|t| t.root());
    let pid = root.and_then(|r| pid_of(r.get("pid")));
    let hostname = root.and_then(|r| {
        r.get("hostname")
            .and_then(|h| h.as_str())
            .map(|h| h.into_owned())
    });
    let quarantine = Change::Quarantine { file: path.clone() };
    let (Some(pid), Some(hostname)) = (pid, hostname) else {
        let why = if tape.is_none() {
            "is not valid JSON (a heartbeat rewrite cut short)"
        } else {
            "has no numeric pid or no hostname"
        };
        sink.push(
            Diagnostic::new(
                &INSTANCE_LOCK_INVALID,
                Effect::Fatal,
                format!(
                    "{} {why}: instar cannot replace it and refuses to start, on every boot",
                    cx.display_path(&path)
                ),
            )
            .file(&path)
            .fix(Some(Fix::unsafe_(
                "move the lock to quarantine; the next server start writes a new one",
                vec![quarantine],
            ))),
        );
        return;
    };
    let Some(here) = cx.host().hostname() else {
        return;
    };
    if hostname == here || cx.process_alive(pid) {
        return;
    }
    let heartbeat = root
        .and_then(|r| r.get("heartbeat"))
        .and_then(|h| h.as_f64());
    let stale = heartbeat.is_some_and(|ms| (cx.now as f64) * 1000.0 - ms > STALE_HEARTBEAT_MS);
    if !stale {
        return;
    }
    sink.push(
        Diagnostic::new(
            &INSTANCE_LOCK_FOREIGN_HOST,
            Effect::Fatal,
            format!(
                "{} was written on host {hostname:?}, not this one, by pid {pid}, which is not running here: the server refuses to start",
                cx.display_path(&path)
            ),
        )
        .file(&path)
        .help("a hostname change or flap leaves this; instar heals it only on development agents or behind a monitoring flag")
        .fix(Some(Fix::unsafe_(
            "move the lock to quarantine (its pid is not alive here and its heartbeat is over 5 minutes old)",
            vec![quarantine],
        ))),
    );
}

pub fn lifeline_lock(cx: &Context, sink: &mut Sink) {
    let path = cx.state_path("lifeline.lock");
    if cx.file_len(&path).is_none_or(|len| len > 1 << 20) {
        return;
    }
    let Some(doc) = cx.json(&path) else { return };
    let Some(tape) = doc.tape() else {
        sink.push(
            Diagnostic::new(
                &LIFELINE_LOCK,
                Effect::Fatal,
                format!(
                    "{} is not valid JSON: every lifeline launch fails with \"Lock acquisition failed\" and exits 0, so launchd does not restart it",
                    cx.display_path(&path)
                ),
            )
            .file(&path)
            .fix(Some(Fix::unsafe_(
                "move the corrupt lock to quarantine",
                vec![Change::Quarantine { file: path.clone() }],
            ))),
        );
        return;
    };
    let root = tape.root();
    let Some(pid) = pid_of(root.get("pid")) else {
        return;
    };
    if root.get("startedAt").is_some() || !cx.process_alive(pid) {
        return; // a dead holder is taken over by instar itself
    }
    sink.push(
        Diagnostic::new(
            &LIFELINE_LOCK,
            Effect::Silent,
            format!(
                "{} has no startedAt and its pid {pid} is alive: instar respects it as a legacy lock, even if the pid now belongs to another process",
                cx.display_path(&path)
            ),
        )
        .severity(Severity::Warning)
        .file(&path)
        .fix(Some(Fix::manual("instar lifeline restart"))),
    );
}

pub fn socket(cx: &Context, sink: &mut Sink) {
    let path = cx.state_path("listener.sock");
    let Some(meta) = cx.symlink_metadata(&path) else {
        return;
    };
    if !meta.file_type().is_socket() || server_alive(cx) {
        return;
    }
    let looping = cx.version >= boundary::LISTENER_SOCKET_BIND_LOOP
        && cx.version < boundary::LISTENER_SOCKET_PROBED;
    let (severity, effect, consequence) = if looping {
        (
            Severity::Error,
            Effect::Fatal,
            format!(
                "instar {} cannot bind over it: the server fails to start (EADDRINUSE)",
                cx.version
            ),
        )
    } else {
        (
            Severity::Info,
            Effect::None,
            format!("instar {} unlinks it at the next start", cx.version),
        )
    };
    sink.push(
        Diagnostic::new(
            &STALE_SOCKET,
            effect,
            format!(
                "{} is left over and no live server holds the instance lock: {consequence}",
                cx.display_path(&path)
            ),
        )
        .severity(severity)
        .file(&path)
        .fix(Some(Fix::manual(
            "rm .instar/listener.sock (while the agent is stopped)",
        ))),
    );
}

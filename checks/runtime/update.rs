//! The shadow install against what runs and what was recorded: a lifeline on older code
//! (#12), an update recorded but not installed (#13), a project-local instar (#27), and the
//! macOS quarantine attribute on the installed CLI (#31).

use crate::diag::{Diagnostic, Effect, Sink};
use crate::engine::{Context, HostOs, ShadowVersion};
use crate::fix::Fix;
use crate::version::Version;

use super::codes::*;

/// The shadow install's version, when it has one that parses.
fn shadow_version(cx: &Context) -> Option<Version> {
    match cx.shadow_version() {
        ShadowVersion::Found(v) => Some(*v),
        _ => None,
    }
}

/// A string member of a small JSON file.
fn json_str(cx: &Context, rel: &str, key: &str) -> Option<String> {
    let path = cx.state_path(rel);
    if cx.file_len(&path)? > 1 << 20 {
        return None;
    }
    let doc = cx.json(&path)?;
    let tape = doc.tape()?;
    let value = tape.root().get(key)?.as_str()?.into_owned();
    Some(value)
}

pub fn check(cx: &Context, sink: &mut Sink) {
    let shadow = shadow_version(cx);
    if let Some(shadow) = shadow {
        lifeline(cx, shadow, sink);
        strand(cx, shadow, sink);
        quarantine(cx, sink);
    }
    local_instar(cx, sink);
}

fn lifeline(cx: &Context, shadow: Version, sink: &mut Sink) {
    let rel = "lifeline-started-at.json";
    let path = cx.state_path(rel);
    if cx.file_len(&path).is_none_or(|len| len > 1 << 20) {
        return;
    }
    let Some(doc) = cx.json(&path) else { return };
    let Some(tape) = doc.tape() else { return };
    let root = tape.root();
    let pid = root.get("pid").and_then(|p| p.as_f64());
    let version = root
        .get("version")
        .and_then(|v| v.as_str())
        .and_then(|v| v.parse::<Version>().ok());
    let (Some(pid), Some(version)) = (pid, version) else {
        return;
    };
    if pid.fract() != 0.0 || !(1.0..=u32::MAX as f64).contains(&pid) {
        return;
    }
    // A lifeline that is gone runs nothing; the next one starts on the current code.
    if !cx.process_alive(pid as u32) {
        return;
    }
    if (version.major, version.minor) == (shadow.major, shadow.minor) {
        return;
    }
    sink.push(
        Diagnostic::new(
            &LIFELINE_STALE,
            Effect::Silent,
            format!(
                "the lifeline (pid {pid}) runs instar {version}, the shadow install is {shadow}: the server refuses its forwards with HTTP 426 and Telegram messages are dropped"
            ),
        )
        .file(&path)
        .help("instar writes a restart signal on update; only macOS's watchdog or a running consumer acts on it")
        .fix(Some(Fix::manual("instar lifeline restart"))),
    );
}

fn strand(cx: &Context, shadow: Version, sink: &mut Sink) {
    let rel = "state/auto-updater.json";
    let Some(text) = json_str(cx, rel, "lastAppliedVersion") else {
        return;
    };
    let Ok(applied) = text.parse::<Version>() else {
        return;
    };
    if applied == shadow {
        return;
    }
    let detected = cx.version >= crate::version::boundary::AUTO_UPDATE_STRAND_DETECTED;
    sink.push(
        Diagnostic::new(
            &UPDATE_STRAND,
            Effect::Silent,
            format!(
                "the auto-updater recorded instar {applied} as applied, but the shadow install is {shadow}: the agent runs the old version and the updater will not try again"
            ),
        )
        .file(cx.state_path(rel))
        .help(if detected {
            "instar notices this strand and notifies, but never re-applies the update"
        } else {
            "this instar version does not notice the strand at all"
        })
        .fix(Some(Fix::manual(format!(
            "npm install instar@{applied} --prefix .instar/shadow-install, then restart the agent"
        )))),
    );
}

fn quarantine(cx: &Context, sink: &mut Sink) {
    if cx.host_os() != HostOs::MacOs {
        return;
    }
    let cli = cx.state_path("shadow-install/node_modules/instar/dist/cli.js");
    if !cx.has_xattr(&cli, "com.apple.quarantine") {
        return;
    }
    sink.push(
        Diagnostic::new(
            &QUARANTINE_XATTR,
            Effect::Silent,
            format!(
                "{} carries macOS's com.apple.quarantine attribute: launches can fail with EPERM and crash-loop",
                cx.display_path(&cli)
            ),
        )
        .file(&cli)
        .fix(Some(Fix::manual(
            "xattr -dr com.apple.quarantine .instar/shadow-install",
        ))),
    );
}

fn local_instar(cx: &Context, sink: &mut Sink) {
    let package = cx.project_dir.join("node_modules/instar/package.json");
    if !cx.is_file(&package) || cx.exists(&cx.project_dir.join(".instar-source-tree")) {
        return;
    }
    sink.push(
        Diagnostic::new(
            &LOCAL_INSTAR,
            Effect::Silent,
            "node_modules/instar in the project shadows the agent's own install: auto-updates never reach what runs here",
        )
        .file(&package)
        .fix(Some(Fix::manual("npm uninstall instar (in the project folder)"))),
    );
}

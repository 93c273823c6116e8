//! Hooks on disk against the commands of `.claude/settings.json` (hazard #14): a guardrail
//! installed but never run, and a command that runs a file that is not there.

use std::path::PathBuf;

use crate::diag::{Diagnostic, Effect, Sink, Span};
use crate::engine::Context;
use crate::fix::Fix;

use super::codes::*;
use super::settings::Wiring;

/// instar's canonical PreToolUse Bash guardrails (its instarSettingsHooks list): init wires
/// them for new agents and, from v1.3.32, each update appends any that are missing.
pub const GUARDRAILS: &[&str] = &[
    "dangerous-command-guard.sh",
    "grounding-before-messaging.sh",
    "deferral-detector.js",
    "self-stop-guard.js",
    "external-communication-guard.js",
    "post-action-reflection.js",
    "pr-hand-lease-guard.js",
    "doorway-scan-guard.js",
];

/// Folders whose files a hook command may run, relative to the project.
const HOOK_FOLDERS: &[&str] = &[".instar/hooks/", ".claude/hooks/", ".claude/scripts/"];

pub fn check(cx: &Context, wiring: &Wiring, sink: &mut Sink) {
    unwired(cx, wiring, sink);
    missing_targets(cx, wiring, sink);
}

fn unwired(cx: &Context, wiring: &Wiring, sink: &mut Sink) {
    for name in GUARDRAILS {
        let file = cx.state_path(&format!("hooks/instar/{name}"));
        if !cx.is_file(&file) {
            continue;
        }
        // instar matches on the file name inside the command, which tolerates
        // ${CLAUDE_PROJECT_DIR} and absolute spellings alike; so do we.
        let needle = format!("/.instar/hooks/instar/{name}");
        if wiring.commands.iter().any(|c| c.text.contains(&needle)) {
            continue;
        }
        sink.push(
            Diagnostic::new(
                &GUARDRAIL_UNWIRED,
                Effect::Silent,
                format!(
                    "the guardrail {name} is installed but no command in .claude/settings.json runs it: it never fires"
                ),
            )
            .file(&file)
            .help("instar appends the missing canonical entries on update from v1.3.32; delete the file instead if the guardrail is off on purpose")
            .fix(Some(Fix::manual(
                "run `instar migrate` (or update instar): it appends the canonical PreToolUse entries",
            ))),
        );
    }
}

fn missing_targets(cx: &Context, wiring: &Wiring, sink: &mut Sink) {
    for command in &wiring.commands {
        for (rel, at) in project_paths(cx, &command.text) {
            if !HOOK_FOLDERS.iter().any(|f| rel.starts_with(f)) {
                continue;
            }
            let target: PathBuf = cx.project_dir.join(&rel);
            if cx.exists(&target) {
                continue;
            }
            let span = &command.span;
            let label_span: Span = if command.plain {
                span.start + 1 + at..span.start + 1 + at + rel.len()
            } else {
                span.clone()
            };
            sink.push(
                Diagnostic::new(
                    &WIRED_MISSING,
                    Effect::Silent,
                    format!(
                        "a hook command runs {rel}, which does not exist: it fails on every call and Claude Code carries on without it"
                    ),
                )
                .file(&wiring.path)
                .at(label_span, "missing file")
                .fix(Some(Fix::manual(
                    "run `instar migrate` to restore instar's own hook files; otherwise remove the entry or put the file back",
                ))),
            );
        }
    }
}

/// Paths of this project a command names: after `${CLAUDE_PROJECT_DIR}/`, `$CLAUDE_PROJECT_DIR/`
/// (quoted or not) or the project's absolute path, up to the next space or quote. Each with its
/// offset in the command.
pub fn project_paths(cx: &Context, command: &str) -> Vec<(String, usize)> {
    let project = format!("{}/", cx.project_dir.display());
    let prefixes = [
        "${CLAUDE_PROJECT_DIR}/",
        "\"${CLAUDE_PROJECT_DIR}\"/",
        "$CLAUDE_PROJECT_DIR/",
        "\"$CLAUDE_PROJECT_DIR\"/",
        project.as_str(),
    ];
    let mut out = Vec::new();
    for prefix in prefixes {
        let mut from = 0;
        while let Some(found) = command[from..].find(prefix) {
            let start = from + found + prefix.len();
            let rest = &command[start..];
            let end = rest
                .find(|c: char| c.is_whitespace() || c == '"' || c == '\'' || c == ';')
                .unwrap_or(rest.len());
            if end > 0 {
                out.push((rest[..end].to_string(), start));
            }
            from = start;
        }
    }
    out
}

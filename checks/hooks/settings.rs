//! `.claude/settings.json` (hazard #3): whether Claude Code can load it at all, and the hook
//! commands it wires, which the wiring rules (#14) compare with the files on disk.

use std::path::{Path, PathBuf};

use crate::diag::{Diagnostic, Effect, Sink, Span};
use crate::engine::Context;
use crate::fix::{self, Change, Fix};
use crate::json::{self, Kind, Tape, Value};
use crate::json_edit;
use crate::source::FileState;

use super::codes::*;

/// The hook commands of a settings file that loads: their text and where it sits.
pub struct Wiring {
    pub path: PathBuf,
    pub commands: Vec<Command>,
}

/// One hook command string.
pub struct Command {
    pub text: String,
    /// The JSON string, quotes included.
    pub span: Span,
    /// The string has no escapes, so offsets in `text` are offsets in the file past the quote.
    pub plain: bool,
}

pub fn path(cx: &Context) -> PathBuf {
    cx.project_dir.join(".claude/settings.json")
}

/// Diagnoses the file; returns its hook commands when it parses (`None` when it is absent,
/// which is healthy: agents that do not run Claude Code have none).
pub fn check(cx: &Context, sink: &mut Sink) -> Option<Wiring> {
    let path = path(cx);
    let state = cx.file(&path);
    let loaded = match &*state {
        FileState::Present(loaded) => loaded,
        FileState::Missing => return None,
        other => {
            sink.push(
                Diagnostic::new(
                    &SETTINGS_INVALID,
                    Effect::Fatal,
                    format!("{} {}", cx.display_path(&path), other.describe()),
                )
                .file(&path)
                .fix(Some(Fix::manual(
                    "move it aside and restore the file from git or a backup",
                ))),
            );
            return None;
        }
    };
    let bytes = &loaded.bytes;
    if let Some(markers) = conflict_marker_lines(bytes) {
        conflict_finding(cx, &path, bytes, &markers, sink);
        return None;
    }
    let doc = cx.json(&path)?;
    if let Err(err) = &doc.parsed {
        sink.push(
            crate::checks::shared::parse_error_finding(
                &SETTINGS_INVALID,
                cx,
                &path,
                err,
                "Claude Code cannot load the file: sessions fail to start, or start with no hook at all",
            )
            .fix(Some(Fix::manual(
                "repair the JSON by hand (or take the file back from git); instar's supervisor only repairs merge markers",
            ))),
        );
        return None;
    }
    let tape = doc.tape()?;
    let root = tape.root();
    let mut commands = Vec::new();
    if let Some(events) = root.get("hooks") {
        for (event_name, event) in events.members() {
            for matcher in event.elements() {
                let Some(hooks) = matcher.get("hooks") else {
                    continue;
                };
                let siblings: Vec<Span> = hooks.elements().map(|h| h.span()).collect();
                for (index, hook) in hooks.elements().enumerate() {
                    if let Some(value) = hook.get("command") {
                        if let Some(text) = value.as_str() {
                            let span = value.span();
                            commands.push(Command {
                                plain: text.len() + 2 == span.len(),
                                text: text.into_owned(),
                                span,
                            });
                        }
                    }
                    http_hook(&path, &event_name, hook, &hooks, &siblings, index, sink);
                }
            }
        }
    }
    Some(Wiring { path, commands })
}

/// An http hook whose url still holds `${…}`: Claude Code rejects the url, then the file.
fn http_hook(
    path: &Path,
    event_name: &str,
    hook: Value<'_>,
    hooks: &Value<'_>,
    siblings: &[Span],
    index: usize,
    sink: &mut Sink,
) {
    if hook.get("type").and_then(|t| t.as_str()).as_deref() != Some("http") {
        return;
    }
    let Some(url) = hook.get("url") else { return };
    let Some(text) = url.as_str() else { return };
    if !text.contains("${") {
        return;
    }
    sink.push(
        Diagnostic::new(
            &HTTP_HOOK_UNRESOLVED,
            Effect::Silent,
            format!(
                "a {event_name} http hook's url is {text:?}: Claude Code does not expand ${{…}} in urls and skips the whole settings file, so no hook of this agent runs"
            ),
        )
        .file(path)
        .at(url.span(), "unresolved variable")
        .pointer(hook.pointer())
        .help("instar replaced these entries with the command hook hook-event-reporter.js; `instar migrate` installs it")
        .fix(Some(Fix::unsafe_(
            "remove this http hook entry",
            vec![Change::Edit {
                file: path.to_path_buf().into(),
                span: json_edit::removal_span(&hooks.span(), siblings, index),
                replacement: Box::default(),
            }],
        ))),
    );
}

/// The byte ranges of the lines instar's supervisor deletes: `<<<<<<< …`, `=======` and
/// `>>>>>>> …`, each with its newline. `None` when the file holds no `<<<<<<<` or `>>>>>>>`
/// (instar's own trigger).
fn conflict_marker_lines(bytes: &[u8]) -> Option<Vec<Span>> {
    let has = |needle: &[u8]| bytes.windows(needle.len()).any(|w| w == needle);
    if !has(b"<<<<<<<") && !has(b">>>>>>>") {
        return None;
    }
    let mut spans = Vec::new();
    let mut start = 0;
    while start < bytes.len() {
        let end = bytes[start..]
            .iter()
            .position(|&b| b == b'\n')
            .map_or(bytes.len(), |i| start + i + 1);
        let line = &bytes[start..end];
        // The supervisor's patterns need the newline: a marker on the last line stays.
        let whole = line.ends_with(b"\n");
        if whole
            && (line.starts_with(b"<<<<<<< ")
                || line == b"=======\n"
                || line.starts_with(b">>>>>>> "))
        {
            spans.push(start..end);
        }
        start = end;
    }
    Some(spans)
}

fn conflict_finding(cx: &Context, path: &Path, bytes: &[u8], markers: &[Span], sink: &mut Sink) {
    let edits: Vec<(Span, &str)> = markers.iter().map(|s| (s.clone(), "")).collect();
    let repaired = fix::apply_edits(bytes, &edits).ok();
    let parses = repaired.as_ref().is_some_and(|r| {
        let mut tape = Tape::new();
        matches!(json::parse(r, &mut tape), Ok(outcome) if !outcome.bom)
            && tape.root().kind() == Kind::Object
    });
    let first = markers
        .first()
        .map(|s| s.start..s.end.saturating_sub(1))
        .unwrap_or(0..0);
    let mut finding = Diagnostic::new(
        &SETTINGS_INVALID,
        Effect::Fatal,
        format!(
            "{} holds git merge-conflict markers: Claude Code cannot load it, so sessions crash at start or run without hooks",
            cx.display_path(path)
        ),
    )
    .file(path)
    .at(first, "conflict marker");
    finding = if parses && !markers.is_empty() {
        finding
            .help("instar's supervisor makes this same repair at its next start; until then every session is affected")
            .fix(Some(Fix::unsafe_(
                "delete the conflict-marker lines, keeping both sides, as instar's supervisor does (the result parses)",
                markers
                    .iter()
                    .map(|span| Change::Edit {
                        file: path.to_path_buf().into(),
                        span: span.clone(),
                        replacement: Box::default(),
                    })
                    .collect(),
            )))
    } else {
        finding
            .help("deleting the marker lines does not give valid JSON, so instar's supervisor logs \"manual fix needed\" and leaves it")
            .fix(Some(Fix::manual(
                "resolve the conflict by hand (`git checkout --ours .claude/settings.json` or an editor), then check that it parses",
            )))
    };
    sink.push(finding);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn marker_lines_are_found_as_the_supervisor_matches_them() {
        let text = b"{\n<<<<<<< HEAD\n  \"a\": 1\n=======\n  \"b\": 2\n>>>>>>> theirs\n}\n";
        let spans = conflict_marker_lines(text).unwrap();
        let lines: Vec<&[u8]> = spans.iter().map(|s| &text[s.clone()]).collect();
        assert_eq!(
            lines,
            [&b"<<<<<<< HEAD\n"[..], b"=======\n", b">>>>>>> theirs\n"]
        );
        // Stripped, both sides remain: not valid JSON here (no comma), so no unsafe fix.
        let edits: Vec<(Span, &str)> = spans.iter().map(|s| (s.clone(), "")).collect();
        let out = fix::apply_edits(text, &edits).unwrap();
        assert_eq!(out, b"{\n  \"a\": 1\n  \"b\": 2\n}\n");
    }

    #[test]
    fn no_markers_means_none_and_a_bare_marker_without_space_is_kept() {
        assert!(conflict_marker_lines(b"{\"a\": \"=======\"}").is_none());
        // `<<<<<<<` with no space after it is not a line the supervisor's pattern deletes.
        let spans = conflict_marker_lines(b"<<<<<<<\n{}\n").unwrap();
        assert!(spans.is_empty());
    }
}

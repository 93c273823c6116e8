//! Findings every state file shares (it cannot be read; for JSON: a BOM, a parse error, git
//! conflict markers), built one way for all areas; each area supplies its code and what its own
//! loader does with the file.

use std::path::Path;

use crate::diag::{Code, Diagnostic, Effect, Label, Span};
use crate::engine::{Context, JsonDoc};
use crate::fix::{Change, Fix};
use crate::json::{Duplicate, ErrorKind, Kind, ParseError, Tape, Value};
use crate::json_edit;
use crate::source::FileState;

/// The UTF-8 byte order mark, which JSON.parse rejects.
pub const BOM: &[u8] = &[0xEF, 0xBB, 0xBF];

/// The parsed tree of a file JSON.parse accepts as it stands: no syntax error and no BOM (the
/// scanner reads past a BOM, JSON.parse does not). Readers of other areas' files and of files
/// whose every flaw is one finding use it to look only at what instar itself would see.
pub fn clean_tape(doc: &JsonDoc) -> Option<&Tape<'_>> {
    match &doc.parsed {
        Ok(outcome) if !outcome.bom => doc.tape(),
        _ => None,
    }
}

/// What a loader expecting a member of one JSON kind finds under its name.
pub enum Member<'t> {
    Missing,
    /// There, but of another kind.
    WrongKind(Value<'t>),
    Found(Value<'t>),
}

/// The member `name` of `object`, judged against the kind its loader expects.
pub fn member<'t>(object: Value<'t>, name: &str, kind: Kind) -> Member<'t> {
    match object.get(name) {
        None => Member::Missing,
        Some(v) if v.kind() != kind => Member::WrongKind(v),
        Some(v) => Member::Found(v),
    }
}

/// An object's opening brace: where a member it lacks is reported.
pub fn opening(object: Value<'_>) -> Span {
    object.span().start..object.span().start + 1
}

/// Full spans (key through value) of an object's members: what an insertion or a removal of a
/// member is placed among.
pub fn member_spans(object: Value<'_>) -> Vec<Span> {
    object
        .members()
        .map(|(_, v)| v.key_span().map_or(v.span(), |k| k.start..v.span().end))
        .collect()
}

/// A file that stands where instar looks but cannot be loaded (a directory, a FIFO, a dangling
/// link, no permission, too large): `<path> <what stands there>: <what instar then does>`. Each
/// area adds the fix its own loader calls for.
pub fn unreadable_finding(
    code: &'static Code,
    effect: Effect,
    cx: &Context,
    path: &Path,
    state: &FileState,
    consequence: &str,
) -> Diagnostic {
    Diagnostic::new(
        code,
        effect,
        format!(
            "{} {}: {consequence}",
            cx.display_path(path),
            state.describe()
        ),
    )
    .file(path)
}

/// A file that starts with a BOM: fatal for JSON.parse, and safely fixed by stripping it (the
/// content behind it is diagnosed as if it were not there).
pub fn bom_finding(
    code: &'static Code,
    cx: &Context,
    path: &Path,
    consequence: &str,
) -> Diagnostic {
    Diagnostic::new(
        code,
        Effect::Fatal,
        format!(
            "{} starts with a UTF-8 byte order mark, which JSON.parse rejects",
            cx.display_path(path)
        ),
    )
    .file(path)
    .at(0..BOM.len(), "byte order mark")
    .pointer("")
    .help(consequence)
    .fix(Some(Fix::safe(
        "strip the byte order mark",
        vec![Change::Edit {
            file: path.to_path_buf().into(),
            span: 0..BOM.len(),
            replacement: Box::default(),
        }],
    )))
}

/// A file JSON.parse rejects, pointing at the exact place; the caller adds the fix it can offer.
pub fn parse_error_finding(
    code: &'static Code,
    cx: &Context,
    path: &Path,
    err: &ParseError,
    consequence: &str,
) -> Diagnostic {
    Diagnostic::new(
        code,
        Effect::Fatal,
        format!(
            "{} is not valid JSON: {}",
            cx.display_path(path),
            err.message
        ),
    )
    .file(path)
    .at(err.span.clone(), parse_error_label(err.kind))
    .help(consequence)
}

/// The label under the snippet of a parse error.
pub fn parse_error_label(kind: ErrorKind) -> &'static str {
    match kind {
        ErrorKind::Empty => "the file is empty",
        ErrorKind::UnexpectedEnd => "the file ends here",
        ErrorKind::TrailingComma => "trailing comma",
        ErrorKind::Comment => "comment",
        ErrorKind::NonFinite => "not a JSON value",
        ErrorKind::SingleQuote => "single quote",
        ErrorKind::ConflictMarker => "merge-conflict marker",
        ErrorKind::BadWhitespace => "not JSON whitespace",
        ErrorKind::ControlChar => "raw control character",
        ErrorKind::BadEscape => "invalid escape",
        ErrorKind::InvalidNumber => "invalid number",
        ErrorKind::TrailingContent => "content after the JSON value",
        ErrorKind::Utf16 => "UTF-16 byte order mark",
        ErrorKind::TooLarge => "too large",
        ErrorKind::UnexpectedChar => "unexpected here",
    }
}

/// A key repeated in one object: JSON.parse keeps the last value. `subject` prefixes the message
/// ("job 3: "). The fix removes the earlier, overridden member, which changes nothing instar sees.
pub fn duplicate_key_finding(
    code: &'static Code,
    path: &Path,
    root: Value<'_>,
    dup: &Duplicate,
    subject: &str,
) -> Diagnostic {
    let src = root.tape().source();
    let key = String::from_utf8_lossy(src.get(dup.second.clone()).unwrap_or_default()).into_owned();
    let fix = json_edit::member_removal(root, &dup.first).map(|span| {
        Fix::unsafe_(
            format!("remove the earlier, overridden {key} member"),
            vec![Change::Edit {
                file: path.to_path_buf().into(),
                span,
                replacement: String::new().into(),
            }],
        )
    });
    Diagnostic::new(
        code,
        Effect::Silent,
        format!("{subject}key {key} appears twice in one object; JSON.parse keeps the last"),
    )
    .file(path)
    .at(dup.second.clone(), "this value wins")
    .secondary(Label {
        file: path.to_path_buf(),
        span: Some(dup.first.clone()),
        message: "this one is silently ignored".into(),
    })
    .fix(fix)
}

/// Binary garbage can hold thousands of invalid sequences; a few findings tell the story.
pub const MAX_UTF8_FINDINGS: usize = 5;

/// Invalid UTF-8 inside JSON strings, adjacent sequences merged (`\xFF\xFE` is two for a
/// decoder), at most `MAX_UTF8_FINDINGS`.
pub fn invalid_utf8_findings(
    code: &'static Code,
    path: &Path,
    spans: &[Span],
    subject: &str,
) -> Vec<Diagnostic> {
    let mut runs: Vec<Span> = Vec::new();
    for span in spans {
        match runs.last_mut() {
            Some(last) if last.end == span.start => last.end = span.end,
            _ => runs.push(span.clone()),
        }
    }
    runs.into_iter()
        .take(MAX_UTF8_FINDINGS)
        .map(|span| {
            Diagnostic::new(
                code,
                Effect::Silent,
                format!(
                    "{subject}{} byte(s) that are not UTF-8; Node reads each invalid sequence as U+FFFD",
                    span.len()
                ),
            )
            .file(path)
            .at(span, "not UTF-8")
            .help("re-save the file as UTF-8")
        })
        .collect()
}

/// Duplicate keys and invalid UTF-8 anywhere in a parsed file: the hygiene findings every JSON
/// state file gets, under its own area's codes.
pub fn hygiene_findings(
    duplicate_key: &'static Code,
    invalid_utf8: &'static Code,
    path: &Path,
    tape: &crate::json::Tape<'_>,
    sink: &mut crate::diag::Sink,
) {
    for dup in tape.duplicates() {
        sink.push(duplicate_key_finding(
            duplicate_key,
            path,
            tape.root(),
            dup,
            "",
        ));
    }
    sink.extend(invalid_utf8_findings(
        invalid_utf8,
        path,
        tape.invalid_utf8(),
        "",
    ));
}

/// The two sides of a file left with git conflict markers (diff3 base sections dropped), each
/// with the lines outside the conflicts; `None` without markers or with an unclosed conflict.
pub fn conflict_sides(text: &str) -> Option<(String, String)> {
    #[derive(PartialEq)]
    enum In {
        Both,
        Ours,
        Base,
        Theirs,
    }
    let mut state = In::Both;
    let (mut ours, mut theirs) = (String::new(), String::new());
    let mut seen = false;
    for line in text.split_inclusive('\n') {
        if line.starts_with("<<<<<<<") && state == In::Both {
            state = In::Ours;
            seen = true;
        } else if line.starts_with("|||||||") && state == In::Ours {
            state = In::Base;
        } else if line.starts_with("=======") && matches!(state, In::Ours | In::Base) {
            state = In::Theirs;
        } else if line.starts_with(">>>>>>>") && state == In::Theirs {
            state = In::Both;
        } else {
            match state {
                In::Both => {
                    ours.push_str(line);
                    theirs.push_str(line);
                }
                In::Ours => ours.push_str(line),
                In::Theirs => theirs.push_str(line),
                In::Base => {}
            }
        }
    }
    (seen && state == In::Both).then_some((ours, theirs))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conflict_sides_keep_shared_lines_and_drop_the_base() {
        let text = "{\n<<<<<<< HEAD\n\"a\": 1\n||||||| base\n\"a\": 0\n=======\n\"a\": 2\n>>>>>>> other\n}\n";
        let (ours, theirs) = conflict_sides(text).unwrap();
        assert_eq!(ours, "{\n\"a\": 1\n}\n");
        assert_eq!(theirs, "{\n\"a\": 2\n}\n");
        assert_eq!(conflict_sides("{}\n"), None);
        assert_eq!(
            conflict_sides("<<<<<<< a\nx\n"),
            None,
            "an unclosed conflict"
        );
    }
}

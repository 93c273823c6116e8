//! The unified diff of what a fix would change, computed from the planned contents so that a
//! preview is exactly what a write would produce. Secrets are redacted on both sides, with ranges
//! computed over each whole file.

use std::collections::BTreeMap;
use std::path::PathBuf;

use super::human::HumanOptions;
use super::Sources;
use crate::diag::{Diagnostic, Span};
use crate::engine::{Context, Report};
use crate::fix::{apply_edits, Applicability, Change, Fix};
use crate::redact;

/// Lines of context around each change, as `diff -u`.
const CONTEXT: usize = 3;

/// The diff of one fix against the files as they are now.
pub fn fix_diff(cx: &Context, fix: &Fix) -> String {
    let mut edits: BTreeMap<PathBuf, Vec<(std::ops::Range<usize>, &str)>> = BTreeMap::new();
    let mut out = String::new();
    for change in &fix.changes {
        match change {
            Change::Edit {
                file,
                span,
                replacement,
            } => edits
                .entry(file.clone())
                .or_default()
                .push((span.clone(), replacement.as_str())),
            Change::Write { file, contents } => {
                let old = cx.bytes_of(file).map(|b| b.to_vec()).unwrap_or_default();
                out.push_str(&unified(cx, file, &old, contents));
            }
            Change::SetMode { file, mode } => {
                out.push_str(&format!("chmod {mode:o} {}\n", cx.display_path(file)));
            }
            Change::Quarantine { file } => {
                out.push_str(&format!(
                    "move {} to .instar/doctor/quarantine/<run>/\n",
                    cx.display_path(file)
                ));
            }
            Change::Rename { from, to } => {
                out.push_str(&format!(
                    "rename {} to {}\n",
                    cx.display_path(from),
                    cx.display_path(to)
                ));
            }
            Change::QuarantineData { name, contents } => {
                out.push_str(&format!(
                    "save {} bytes to .instar/doctor/quarantine/<run>/{name}\n",
                    contents.len()
                ));
            }
        }
    }
    for (file, file_edits) in edits {
        let old = cx.bytes_of(&file).map(|b| b.to_vec()).unwrap_or_default();
        match apply_edits(&old, &file_edits) {
            Ok(new) => out.push_str(&unified(cx, &file, &old, &new)),
            Err(err) => out.push_str(&format!("{}: {err}\n", cx.display_path(&file))),
        }
    }
    out
}

/// A unified diff of the changed region only: the common prefix and suffix are cut first so that
/// a one-line change in a 60 MB file costs no more than in a small one.
///
/// Lines are compared as they are and shown redacted, with each side's secret ranges computed
/// over that whole side (design §8): a value whose key is lines above the hunk is still hidden,
/// and a change inside a secret still shows as a changed line. A hunk that shows `[redacted]`
/// for a secret carries a marker line that says so, which also makes `git apply` and `patch`
/// refuse it: applied, it would write the word `[redacted]` where the secret was.
pub fn unified(cx: &Context, file: &std::path::Path, old: &[u8], new: &[u8]) -> String {
    let name = cx.display_path(file);
    if old == new {
        return String::new();
    }
    let old_secrets = redact::file_secret_spans(file, old);
    let new_secrets = redact::file_secret_spans(file, new);
    let prefix_lines = common_prefix_lines(old, new);
    let prefix_bytes = nth_line_start(old, prefix_lines);
    let suffix = common_suffix_len(&old[prefix_bytes..], &new[prefix_bytes..]);
    // Keep whole lines in the suffix we cut, and a few for context on each side.
    let start_line = prefix_lines.saturating_sub(CONTEXT);
    let start = nth_line_start(old, start_line);
    let old_end = extend_lines(old, old.len() - suffix, CONTEXT);
    let new_end = extend_lines(new, new.len() - suffix, CONTEXT);
    let old_lines = split_lines(old, start..old_end);
    let new_lines = split_lines(new, start..new_end);
    let old_keys: Vec<&[u8]> = old_lines.iter().map(|l| &old[l.clone()]).collect();
    let new_keys: Vec<&[u8]> = new_lines.iter().map(|l| &new[l.clone()]).collect();
    let ops = similar::capture_diff_slices(similar::Algorithm::Myers, &old_keys, &new_keys);
    let mut out = format!("--- a/{name}\n+++ b/{name}\n");
    for group in similar::group_diff_ops(ops, CONTEXT) {
        let (Some(first), Some(last)) = (group.first(), group.last()) else {
            continue;
        };
        let old_from = first.old_range().start;
        let old_to = last.old_range().end;
        let new_from = first.new_range().start;
        let new_to = last.new_range().end;
        let mut body = String::new();
        let mut redacted = false;
        let mut escaped = false;
        let mut line = |sign: char, bytes: &[u8], secrets: &[Span], span: &Span| {
            let (text, hid) = redact::redact_window(bytes, secrets, span.clone());
            redacted |= hid;
            // A control character from the file is shown escaped, never sent to the terminal;
            // the hunk then no longer says the file's bytes, so it is marked like a redaction.
            let text = match super::escape::escape_controls(&text) {
                std::borrow::Cow::Borrowed(_) => text,
                std::borrow::Cow::Owned(shown) => {
                    escaped = true;
                    shown
                }
            };
            body.push(sign);
            body.push_str(&text);
            if !text.ends_with('\n') {
                body.push_str("\n\\ No newline at end of file\n");
            }
        };
        for op in &group {
            let (tag, old_range, new_range) = op.as_tag_tuple();
            match tag {
                similar::DiffTag::Equal => {
                    for l in &old_lines[old_range] {
                        line(' ', old, &old_secrets, l);
                    }
                }
                similar::DiffTag::Delete => {
                    for l in &old_lines[old_range] {
                        line('-', old, &old_secrets, l);
                    }
                }
                similar::DiffTag::Insert => {
                    for l in &new_lines[new_range] {
                        line('+', new, &new_secrets, l);
                    }
                }
                similar::DiffTag::Replace => {
                    for l in &old_lines[old_range] {
                        line('-', old, &old_secrets, l);
                    }
                    for l in &new_lines[new_range] {
                        line('+', new, &new_secrets, l);
                    }
                }
            }
        }
        out.push_str(&format!(
            "@@ -{} +{} @@\n",
            range_header(start_line + old_from, old_to - old_from),
            range_header(start_line + new_from, new_to - new_from)
        ));
        if redacted {
            out.push_str(REDACTED_HUNK);
        }
        if escaped {
            out.push_str(ESCAPED_HUNK);
        }
        out.push_str(&body);
    }
    out
}

/// The line that marks a hunk whose control characters are shown escaped (render::escape).
/// Like the redaction marker, it makes `git apply` refuse the hunk rather than write `\u{1b}`.
pub const ESCAPED_HUNK: &str =
    "~ control characters in this hunk are shown escaped (\\u{..}): it is for reading, not for `git apply`\n";

/// The line that marks a redacted hunk. It starts with none of ` `, `-`, `+`, `\\`, so
/// `git apply` reports a corrupt patch and `patch` a malformed one instead of applying it.
pub const REDACTED_HUNK: &str =
    "~ secrets in this hunk are shown as [redacted]: it is for reading, not for `git apply`\n";

/// The lines of `range`, each with its newline.
fn split_lines(bytes: &[u8], range: Span) -> Vec<Span> {
    let mut lines = Vec::new();
    let mut from = range.start;
    while from < range.end {
        let to = bytes[from..range.end]
            .iter()
            .position(|b| *b == b'\n')
            .map_or(range.end, |p| from + p + 1);
        lines.push(from..to);
        from = to;
    }
    lines
}

fn range_header(start0: usize, len: usize) -> String {
    if len == 0 {
        format!("{start0},0")
    } else if len == 1 {
        format!("{}", start0 + 1)
    } else {
        format!("{},{len}", start0 + 1)
    }
}

fn common_prefix_lines(a: &[u8], b: &[u8]) -> usize {
    let common = a.iter().zip(b).take_while(|(x, y)| x == y).count();
    a[..common].iter().filter(|c| **c == b'\n').count()
}

fn common_suffix_len(a: &[u8], b: &[u8]) -> usize {
    a.iter()
        .rev()
        .zip(b.iter().rev())
        .take_while(|(x, y)| x == y)
        .count()
}

fn nth_line_start(bytes: &[u8], line: usize) -> usize {
    if line == 0 {
        return 0;
    }
    bytes
        .iter()
        .enumerate()
        .filter(|(_, b)| **b == b'\n')
        .nth(line - 1)
        .map_or(bytes.len(), |(i, _)| i + 1)
}

/// The end of the line containing `offset`, then `more` further lines.
fn extend_lines(bytes: &[u8], offset: usize, more: usize) -> usize {
    let mut end = offset;
    for _ in 0..=more {
        match bytes[end.min(bytes.len())..]
            .iter()
            .position(|b| *b == b'\n')
        {
            Some(p) => end = end + p + 1,
            None => return bytes.len(),
        }
    }
    end.min(bytes.len())
}

/// The body of `--diff`: one header line and the diff per fix that `--fix` (with `unsafe_fixes`,
/// also `--unsafe-fixes`) would apply, each fix once; and how many fixes it shows.
pub fn report_diff(cx: &Context, report: &Report, unsafe_fixes: bool) -> (String, usize) {
    let mut sources = Sources::default();
    let mut out = String::new();
    let mut shown = 0;
    let mut seen: Vec<&Fix> = Vec::new();
    for d in &report.diagnostics {
        let Some(fix) = &d.fix else { continue };
        // Several findings of one entry share its quarantine fix: show it once.
        if seen.contains(&fix) {
            continue;
        }
        seen.push(fix);
        let wanted = match fix.applicability {
            Applicability::Safe => true,
            Applicability::Unsafe => unsafe_fixes,
            Applicability::Manual => false,
        };
        if !wanted || fix.changes.is_empty() {
            continue;
        }
        shown += 1;
        out.push_str(&sources.scrub(
            cx,
            d,
            &format!(
                "# {} ({}): {}\n",
                d.code.id,
                fix.applicability.as_str(),
                fix.title
            ),
            true,
        ));
        out.push_str(&fix_diff(cx, fix));
        out.push('\n');
    }
    (out, shown)
}

/// What `-i` shows before it asks about a finding: the diagnostic with its snippet, then the
/// diff of its fix; both cut from text redacted over whole files.
pub fn preview(cx: &Context, d: &Diagnostic, opts: &HumanOptions) -> String {
    let mut sources = Sources::default();
    let mut out = super::human::render_diagnostic(cx, &mut sources, d, opts);
    if let Some(fix) = &d.fix {
        out.push_str(&fix_diff(cx, fix));
    }
    out
}

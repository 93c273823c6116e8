//! The unified diff of what a fix would change, computed from the planned contents so that a
//! preview is exactly what a write would produce. Secrets are redacted on both sides, with ranges
//! computed over each whole file.

use std::collections::{BTreeMap, HashSet};
use std::path::PathBuf;

use super::human::HumanOptions;
use super::Sources;
use crate::diag::{Diagnostic, Span};
use crate::engine::{Context, Report};
use crate::fix::{apply_edits, Applicability, Change, Fix};
use crate::line_index::LineIndex;
use crate::redact;

/// Lines of context around each change, as `diff -u`.
const CONTEXT: usize = 3;

/// The diff of one fix against the files as they are now.
pub fn fix_diff(cx: &Context, fix: &Fix) -> String {
    fix_diff_in(cx, &mut Sources::default(), fix)
}

/// `fix_diff` with the render's cache of bytes, secrets and line indexes.
fn fix_diff_in(cx: &Context, sources: &mut Sources, fix: &Fix) -> String {
    let mut edits: BTreeMap<PathBuf, Vec<(std::ops::Range<usize>, &str)>> = BTreeMap::new();
    let mut out = String::new();
    for change in fix.changes() {
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
                out.push_str(&saved(name, contents));
            }
        }
    }
    for (file, mut file_edits) in edits {
        out.push_str(&edits_diff(cx, sources, &file, &mut file_edits));
    }
    out
}

/// The line that says what a fix saves to the run's quarantine folder.
fn saved(name: &str, contents: &[u8]) -> String {
    format!(
        "save {} bytes to .instar/doctor/quarantine/<run>/{name}\n",
        contents.len()
    )
}

/// One side of a diff: a whole file's bytes, its secrets and its line index.
struct Side<'a> {
    bytes: &'a [u8],
    secrets: &'a [Span],
    lines: &'a LineIndex,
}

/// The unified diff of `edits` (spans into the file as it is now) applied in one pass. The
/// edits are cut into clusters far enough apart to never share a hunk, and each cluster is
/// diffed on its own lines only: N edits in one file cost the file once plus their own lines,
/// never N times the file (issue #11). A single edit gives exactly `unified`'s diff.
fn edits_diff(
    cx: &Context,
    sources: &mut Sources,
    file: &std::path::Path,
    edits: &mut [(Span, &str)],
) -> String {
    let (bytes, secrets, lines) = match (sources.get(cx, file), sources.lines(cx, file)) {
        (Some((bytes, secrets)), Some(lines)) => (bytes, secrets, lines),
        _ => (
            crate::source::Bytes::default(),
            std::sync::Arc::default(),
            std::sync::Arc::new(LineIndex::new(b"")),
        ),
    };
    let old = Side {
        bytes: &bytes,
        secrets: &secrets,
        lines: &lines,
    };
    // The order `apply_edits` applies them in.
    edits.sort_by_key(|(span, _)| (span.start, span.end));
    let new_bytes = match apply_edits(old.bytes, edits) {
        Ok(new) => new,
        Err(err) => return format!("{}: {err}\n", cx.display_path(file)),
    };
    if old.bytes == new_bytes.as_slice() {
        return String::new();
    }
    // Over the whole new file, once (design §8).
    let new_secrets = redact::file_secret_spans(file, &new_bytes);
    let new_lines = LineIndex::new(&new_bytes);
    let new = Side {
        bytes: &new_bytes,
        secrets: &new_secrets,
        lines: &new_lines,
    };
    // (old bytes, new bytes, last old line) of each cluster.
    let mut clusters: Vec<(Span, Span, usize)> = Vec::new();
    let mut shift: isize = 0;
    for (span, replacement) in edits.iter() {
        let new_start = span.start.saturating_add_signed(shift);
        let new_span = new_start..new_start + replacement.len();
        shift += replacement.len() as isize - span.len() as isize;
        let first = old.lines.line_of(span.start);
        let last = old.lines.line_of(span.end);
        match clusters.last_mut() {
            // Closer than two contexts (and a margin): their hunks may touch, diff them together.
            Some(c) if first <= c.2 + 2 * CONTEXT + 2 => {
                c.0.end = c.0.end.max(span.end);
                c.1.end = c.1.end.max(new_span.end);
                c.2 = c.2.max(last);
            }
            _ => clusters.push((span.clone(), new_span, last)),
        }
    }
    let name = cx.display_path(file);
    let mut out = format!("--- a/{name}\n+++ b/{name}\n");
    for (i, (old_span, new_span, _)) in clusters.iter().enumerate() {
        // Between the neighbouring clusters both files hold the same bytes, shifted.
        let (old_lo, new_lo) = match i.checked_sub(1).map(|p| &clusters[p]) {
            Some(prev) => (prev.0.end, prev.1.end),
            None => (0, 0),
        };
        let (old_hi, new_hi) = clusters
            .get(i + 1)
            .map_or((old.bytes.len(), new.bytes.len()), |next| {
                (next.0.start, next.1.start)
            });
        debug_assert!(old_lo <= old_span.start && new_lo <= new_span.start);
        segment_hunks(&mut out, &old, &new, old_lo..old_hi, new_lo..new_hi);
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
    let old_lines = LineIndex::new(old);
    let new_lines = LineIndex::new(new);
    let mut out = format!("--- a/{name}\n+++ b/{name}\n");
    segment_hunks(
        &mut out,
        &Side {
            bytes: old,
            secrets: &old_secrets,
            lines: &old_lines,
        },
        &Side {
            bytes: new,
            secrets: &new_secrets,
            lines: &new_lines,
        },
        0..old.len(),
        0..new.len(),
    );
    out
}

/// Appends the hunks of `old[old_seg]` against `new[new_seg]`: two stretches that start and end
/// on the same bytes (whole files, or the bytes between two clusters of edits) and hold every
/// difference nearby. Costs the segments' length and a few bisections of the line indexes.
fn segment_hunks(out: &mut String, old: &Side, new: &Side, old_seg: Span, new_seg: Span) {
    let (o, n) = (old.bytes, new.bytes);
    let common = common_prefix_len(&o[old_seg.clone()], &n[new_seg.clone()]);
    if common == old_seg.len() && common == new_seg.len() {
        return;
    }
    // Whole lines of the common prefix; both sides agree up to there, shifted by the same.
    let prefix_line = old.lines.line_of(old_seg.start + common);
    let prefix_old = old.lines.start_of(prefix_line).max(old_seg.start);
    let prefix_new = prefix_old - old_seg.start + new_seg.start;
    let suffix = common_suffix_len(&o[prefix_old..old_seg.end], &n[prefix_new..new_seg.end]);
    // Keep whole lines in the suffix we cut, and a few for context on each side.
    let start_line = prefix_line.saturating_sub(CONTEXT);
    let start = old.lines.start_of(start_line).max(old_seg.start);
    let start_new = start - old_seg.start + new_seg.start;
    let new_start_line = new.lines.line_of(start_new);
    let old_end = extend_lines(old.lines, old_seg.end - suffix, CONTEXT);
    let new_end = extend_lines(new.lines, new_seg.end - suffix, CONTEXT);
    let old_lines = split_lines(o, start..old_end);
    let new_lines = split_lines(n, start_new..new_end);
    let old_keys: Vec<&[u8]> = old_lines.iter().map(|l| &o[l.clone()]).collect();
    let new_keys: Vec<&[u8]> = new_lines.iter().map(|l| &n[l.clone()]).collect();
    let ops = similar::capture_diff_slices(similar::Algorithm::Myers, &old_keys, &new_keys);
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
        let mut line = |sign: char, side: &Side, span: &Span| {
            let (text, hid) = redact::redact_window(side.bytes, side.secrets, span.clone());
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
                        line(' ', old, l);
                    }
                }
                similar::DiffTag::Delete => {
                    for l in &old_lines[old_range] {
                        line('-', old, l);
                    }
                }
                similar::DiffTag::Insert => {
                    for l in &new_lines[new_range] {
                        line('+', new, l);
                    }
                }
                similar::DiffTag::Replace => {
                    for l in &old_lines[old_range] {
                        line('-', old, l);
                    }
                    for l in &new_lines[new_range] {
                        line('+', new, l);
                    }
                }
            }
        }
        out.push_str(&format!(
            "@@ -{} +{} @@\n",
            range_header(start_line + old_from, old_to - old_from),
            range_header(new_start_line + new_from, new_to - new_from)
        ));
        if redacted {
            out.push_str(REDACTED_HUNK);
        }
        if escaped {
            out.push_str(ESCAPED_HUNK);
        }
        out.push_str(&body);
    }
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

fn common_prefix_len(a: &[u8], b: &[u8]) -> usize {
    a.iter().zip(b).take_while(|(x, y)| x == y).count()
}

fn common_suffix_len(a: &[u8], b: &[u8]) -> usize {
    a.iter()
        .rev()
        .zip(b.iter().rev())
        .take_while(|(x, y)| x == y)
        .count()
}

/// The end of the line containing `offset` (past its newline), then `more` further lines.
fn extend_lines(lines: &LineIndex, offset: usize, more: usize) -> usize {
    lines.start_of(lines.line_of(offset) + 1 + more)
}

/// The body of `--diff`: one header line and the diff per fix that `--fix` (with `unsafe_fixes`,
/// also `--unsafe-fixes`) would apply, each fix once; and how many fixes it shows.
///
/// Each file's bytes, secrets and line index come from one `Sources` for the whole body, and the
/// fixes are told apart by hashing, not by comparing each with every other (issue #11).
pub fn report_diff(cx: &Context, report: &Report, unsafe_fixes: bool) -> (String, usize) {
    let mut sources = Sources::default();
    let mut out = String::new();
    let mut shown = 0;
    let mut seen: HashSet<&Fix> = HashSet::new();
    for d in &report.diagnostics {
        let Some(fix) = &d.fix else { continue };
        // Several findings of one entry share its quarantine fix: show it once.
        if !seen.insert(fix) {
            continue;
        }
        let wanted = match fix.applicability() {
            Applicability::Safe => true,
            Applicability::Unsafe => unsafe_fixes,
            Applicability::Manual => false,
        };
        if !wanted || fix.changes().is_empty() {
            continue;
        }
        shown += 1;
        out.push_str(&sources.scrub(
            cx,
            d,
            &format!(
                "# {} ({}): {}\n",
                d.code.id,
                fix.applicability().as_str(),
                fix.title()
            ),
            true,
        ));
        out.push_str(&fix_diff_in(cx, &mut sources, fix));
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

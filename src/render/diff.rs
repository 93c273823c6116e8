//! The unified diff of what a fix would change, computed from the planned contents so that a
//! preview is exactly what a write would produce. Secrets in context lines are redacted.

use std::collections::BTreeMap;
use std::path::PathBuf;

use similar::TextDiff;

use crate::engine::Context;
use crate::fix::{apply_edits, Change, Fix};
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
pub fn unified(cx: &Context, file: &std::path::Path, old: &[u8], new: &[u8]) -> String {
    let name = cx.display_path(file);
    if old == new {
        return String::new();
    }
    let prefix_lines = common_prefix_lines(old, new);
    let prefix_bytes = nth_line_start(old, prefix_lines);
    let suffix = common_suffix_len(&old[prefix_bytes..], &new[prefix_bytes..]);
    // Keep whole lines in the suffix we cut, and a few for context on each side.
    let start_line = prefix_lines.saturating_sub(CONTEXT);
    let start = nth_line_start(old, start_line);
    let old_end = extend_lines(old, old.len() - suffix, CONTEXT);
    let new_end = extend_lines(new, new.len() - suffix, CONTEXT);
    let old_text = redact::redact_text(&String::from_utf8_lossy(&old[start..old_end]));
    let new_text = redact::redact_text(&String::from_utf8_lossy(&new[start..new_end]));
    let diff = TextDiff::from_lines(&old_text, &new_text);
    let mut out = format!("--- a/{name}\n+++ b/{name}\n");
    for hunk in diff.unified_diff().context_radius(CONTEXT).iter_hunks() {
        let ops = hunk.ops();
        let (Some(first), Some(last)) = (ops.first(), ops.last()) else {
            continue;
        };
        let old_from = first.old_range().start;
        let old_to = last.old_range().end;
        let new_from = first.new_range().start;
        let new_to = last.new_range().end;
        out.push_str(&format!(
            "@@ -{} +{} @@\n",
            range_header(start_line + old_from, old_to - old_from),
            range_header(start_line + new_from, new_to - new_from)
        ));
        for change in hunk.iter_changes() {
            let sign = match change.tag() {
                similar::ChangeTag::Delete => '-',
                similar::ChangeTag::Insert => '+',
                similar::ChangeTag::Equal => ' ',
            };
            out.push(sign);
            out.push_str(change.value());
            if change.missing_newline() {
                out.push_str("\n\\ No newline at end of file\n");
            }
        }
    }
    out
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

//! The unified diff of what a fix would change, computed from the planned contents so that a
//! preview is exactly what a write would produce. Secrets are redacted on both sides, with ranges
//! computed over each whole file.

use std::collections::{HashMap, HashSet};
use std::io::{self, Write};
use std::path::Path;

use super::human::HumanOptions;
use super::Sources;
use crate::diag::{Diagnostic, Span};
use crate::engine::{Context, Report};
use crate::fix::{Applicability, Change, Claims, Edited, Fix, Replacement};
use crate::line_index::SparseLines;
use crate::redact;

/// Lines of context around each change, as `diff -u`.
const CONTEXT: usize = 3;

/// The diff of one fix against the files as they are now (the `-i` prompt's preview). The
/// file's secrets come from the run's `Context`, lexed once however many questions are asked.
pub fn fix_diff(cx: &Context, fix: &Fix) -> String {
    let mut plan = Plan::default();
    plan.add(cx, None, fix);
    kept(|out| plan.render(cx, &mut Sources::default(), "", out))
}

/// What `write` writes, kept as text (the prompt's preview, a whole-file diff, tests).
fn kept(write: impl FnOnce(&mut dyn Write) -> io::Result<()>) -> String {
    let mut out = Vec::new();
    // Writing into memory cannot fail.
    let _ = write(&mut out);
    // Every piece written is a `str`: the bytes are UTF-8.
    String::from_utf8(out).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
}

/// What a set of fixes changes, gathered per file: all of a file's edits or its whole-file
/// write, so that each file is read, lexed for secrets and diffed once however many fixes touch
/// it (issue #11). A fix's moves, modes and quarantine saves go, in its own order, with the
/// first file it touches (its home): the three renames of a swap stay together.
#[derive(Default)]
struct Plan<'a> {
    /// Files in the order the fixes first touch them; `None` holds what concerns no file.
    order: Vec<Option<&'a Path>>,
    sections: HashMap<Option<&'a Path>, Section<'a>>,
}

#[derive(Default)]
struct Section<'a> {
    /// The header line of the fixes that touch the file (`--diff` only), each distinct line
    /// once with how many fixes it stands for: 100,000 quarantines of one kind are one line.
    headers: Vec<(String, usize)>,
    header_at: HashMap<String, usize>,
    /// The file's edits (each a `Change::Edit`), by reference: 100,000 of them were 3.2 MB of
    /// the `--diff` peak as spans and texts (issue #11).
    edits: Vec<&'a Change>,
    write: Option<&'a [u8]>,
    /// `chmod`, `move` and `rename` lines.
    actions: Vec<String>,
    /// Quarantine files by name: bytes and entries saved into each.
    saved: Vec<(&'a str, usize, usize)>,
}

impl<'a> Plan<'a> {
    fn section(&mut self, file: Option<&'a Path>) -> &mut Section<'a> {
        if !self.sections.contains_key(&file) {
            self.order.push(file);
        }
        self.sections.entry(file).or_default()
    }

    /// Adds every change of `fix`; `header` goes once into each section it touches.
    fn add(&mut self, cx: &Context, header: Option<&str>, fix: &'a Fix) {
        // Data the fix saves goes with the first file it touches.
        let home = fix.changes().iter().find_map(|c| c.file());
        let mut headed: Vec<Option<&Path>> = Vec::new();
        for change in fix.changes() {
            let file = match change {
                Change::Edit { file, .. } => Some(&**file),
                Change::Write { file, .. } => Some(file.as_path()),
                _ => home,
            };
            let section = self.section(file);
            if let Some(header) = header.filter(|_| !headed.contains(&file)) {
                headed.push(file);
                match section.header_at.get(header) {
                    Some(&at) => section.headers[at].1 += 1,
                    None => {
                        section
                            .header_at
                            .insert(header.to_string(), section.headers.len());
                        section.headers.push((header.to_string(), 1));
                    }
                }
            }
            match change {
                Change::Edit { .. } => section.edits.push(change),
                Change::Write { contents, .. } => section.write = Some(contents),
                Change::SetMode { file, mode } => section
                    .actions
                    .push(format!("chmod {mode:o} {}\n", cx.display_path(file))),
                Change::Quarantine { file } => section.actions.push(format!(
                    "move {} to .instar/doctor/quarantine/<run>/\n",
                    cx.display_path(file)
                )),
                Change::Rename { from, to } => section.actions.push(format!(
                    "rename {} to {}\n",
                    cx.display_path(from),
                    cx.display_path(to)
                )),
                Change::QuarantineData { name, contents } => {
                    match section.saved.iter_mut().find(|(n, _, _)| n == name) {
                        Some((_, bytes, entries)) => {
                            *bytes += contents.len();
                            *entries += 1;
                        }
                        None => section.saved.push((name, contents.len(), 1)),
                    }
                }
            }
        }
    }

    /// Each section: its fixes' headers, the file's diff, then its other changes; `gap` after
    /// each. Written as it is made: a diff removing 100,000 jobs is the file's size (issue #11).
    fn render(
        self,
        cx: &Context,
        sources: &mut Sources,
        gap: &str,
        out: &mut dyn Write,
    ) -> io::Result<()> {
        let Plan {
            order,
            mut sections,
        } = self;
        for file in order {
            let Some(section) = sections.remove(&file) else {
                continue;
            };
            write_section(cx, sources, file, section, out)?;
            out.write_all(gap.as_bytes())?;
        }
        Ok(())
    }
}

/// One file's section of a plan: its fixes' headers, its diff, then its other changes.
fn write_section(
    cx: &Context,
    sources: &mut Sources,
    file: Option<&Path>,
    mut section: Section<'_>,
    out: &mut dyn Write,
) -> io::Result<()> {
    for (header, fixes) in &section.headers {
        out.write_all(header.as_bytes())?;
        if *fixes > 1 {
            write!(out, " ({fixes} fixes)")?;
        }
        out.write_all(b"\n")?;
    }
    if let Some(file) = file {
        if let Some(contents) = section.write {
            let old = cx.bytes_of(file).unwrap_or_default();
            out.write_all(unified(cx, file, &old, contents).as_bytes())?;
        }
        if !section.edits.is_empty() {
            write_edits_diff(out, cx, sources, file, std::mem::take(&mut section.edits))?;
        }
    }
    for action in &section.actions {
        out.write_all(action.as_bytes())?;
    }
    for (name, bytes, entries) in section.saved {
        let count = match entries {
            1 => String::new(),
            n => format!(" ({n} entries)"),
        };
        writeln!(
            out,
            "save {bytes} bytes{count} to .instar/doctor/quarantine/<run>/{name}"
        )?;
    }
    Ok(())
}

/// One side of a diff: a whole file's bytes, its secrets and its lines.
struct Side<'a> {
    bytes: &'a [u8],
    secrets: &'a [Span],
    lines: SparseLines<'a>,
}

impl<'a> Side<'a> {
    fn new(bytes: &'a [u8], secrets: &'a [Span]) -> Self {
        Side {
            bytes,
            secrets,
            lines: SparseLines::new(bytes),
        }
    }
}

impl Side<'_> {
    /// How many lines a diff counts: a final newline ends the last line, it starts none.
    fn line_count(&self) -> usize {
        if self.bytes.is_empty() {
            0
        } else {
            self.lines.newlines() + usize::from(self.bytes.last() != Some(&b'\n'))
        }
    }

    /// The bytes of 0-based `line`, its newline included. Its end is found from its start, so
    /// that a walk through the lines, forwards or backwards, moves one line at a time.
    fn line(&self, line: usize) -> Span {
        let start = self.lines.start_of(line);
        start..self.lines.end_of_line(start)
    }

    fn text(&self, line: usize) -> &[u8] {
        &self.bytes[self.line(line)]
    }

    /// Whether `lines` (0-based, end exclusive) touch no secret and hold no byte that can
    /// start a character `escape_controls` escapes: such lines are shown as they are.
    fn is_plain(&self, lines: Span) -> bool {
        if lines.is_empty() {
            return true;
        }
        let bytes = self.lines.start_of(lines.start)..self.lines.start_of(lines.end);
        let first = self.secrets.partition_point(|s| s.end <= bytes.start);
        let touches_secret = self.secrets.get(first).is_some_and(|s| s.start < bytes.end);
        // Counted without an early exit, which lets the loop run on whole vectors of bytes.
        let suspicious = self.bytes[bytes].iter().fold(false, |any, &b| {
            any | ((b < 0x20 && b != b'\n' && b != b'\t') | (b == 0x7F) | (b == 0xC2) | (b == 0xE2))
        });
        !touches_secret && !suspicious
    }
}

/// One step of a line diff, in absolute 0-based line numbers of each side.
#[derive(Debug, Clone)]
struct Op {
    tag: similar::DiffTag,
    old: Span,
    new: Span,
}

impl Op {
    fn equal(old: Span, new: Span) -> Op {
        debug_assert_eq!(old.len(), new.len());
        Op {
            tag: similar::DiffTag::Equal,
            old,
            new,
        }
    }
}

/// Above this many lines (both sides together), the changed lines of one block are shown as
/// removed and added whole instead of being aligned by Myers' algorithm, whose cost grows with
/// the square of the lines that differ: removing 100,000 adjacent jobs is one block of millions
/// of lines, and its minimal diff is that anyway.
const ALIGN_MAX_LINES: usize = 2_000;

/// The unified diff of `edits` (spans into the file as it is now) applied in one pass, with
/// one read of the file, its secrets and line index from `sources`, and one lexing and one
/// index of the result. The changed lines come from the edits themselves (`edit_ops`): N edits
/// cost the file once plus their own lines, never N times the file (issue #11). Written to
/// `out` as it is made, never held: a diff removing 100,000 jobs is about the file's size.
fn write_edits_diff(
    out: &mut dyn Write,
    cx: &Context,
    sources: &mut Sources,
    file: &std::path::Path,
    edits: Vec<impl Replacement>,
) -> io::Result<()> {
    let (bytes, secrets) = sources.get(cx, file).unwrap_or_default();
    let old = Side::new(&bytes, &secrets);
    // Put in the order a fix run applies them in, and applied as it applies them.
    let edited = match Edited::new(old.bytes, edits) {
        Ok(edited) => edited,
        Err(err) => return writeln!(out, "{}: {err}", sources.display(cx, file)),
    };
    let mut new_bytes = Vec::with_capacity(edited.size());
    let filled: Result<(), std::convert::Infallible> = edited.pieces(&mut |piece| {
        new_bytes.extend_from_slice(piece);
        Ok(())
    });
    let Ok(()) = filled;
    let edits = edited.edits();
    if old.bytes == new_bytes.as_slice() {
        return Ok(());
    }
    // Over the whole new file, once (design §8).
    let new_secrets = redact::file_secret_spans(file, &new_bytes);
    let new = Side::new(&new_bytes, &new_secrets);
    let ops = edit_ops(&old, &new, edits);
    let name = sources.display(cx, file);
    write!(out, "--- a/{name}\n+++ b/{name}\n")?;
    hunks(out, &old, &new, &ops)
}

/// The lines each edit touches on each side, merged where they share a line. Bytes outside
/// the edits are the same on both sides, so the lines between two blocks are equal and as
/// many on each side.
fn edit_blocks(old: &Side, new: &Side, edits: &[impl Replacement]) -> Vec<(Span, Span)> {
    let (old_count, new_count) = (old.line_count(), new.line_count());
    let mut blocks: Vec<(Span, Span)> = Vec::new();
    let mut shift: isize = 0;
    for edit in edits {
        let (span, replacement) = (edit.span(), edit.text());
        let new_start = span.start.saturating_add_signed(shift);
        let new_end = new_start + replacement.len();
        shift += replacement.len() as isize - span.len() as isize;
        let old_lines =
            old.lines.line_of(span.start)..(old.lines.line_of(span.end) + 1).min(old_count);
        let new_lines =
            new.lines.line_of(new_start)..(new.lines.line_of(new_end) + 1).min(new_count);
        match blocks.last_mut() {
            // Sharing a line on either side: one block.
            Some((o, n)) if old_lines.start < o.end || new_lines.start < n.end => {
                o.end = o.end.max(old_lines.end);
                n.end = n.end.max(new_lines.end);
            }
            _ => blocks.push((old_lines, new_lines)),
        }
    }
    blocks
}

/// The whole file's ops for `edits` (sorted): equal stretches between the edits' blocks, and
/// each block aligned on its own (`block_ops`).
fn edit_ops(old: &Side, new: &Side, edits: &[impl Replacement]) -> Vec<Op> {
    let (old_count, new_count) = (old.line_count(), new.line_count());
    let mut ops = Vec::new();
    let (mut old_at, mut new_at) = (0, 0);
    for (o, n) in edit_blocks(old, new, edits) {
        // A block that starts inside the previous one (an insertion at its end) joins it.
        let o = o.start.max(old_at)..o.end.max(old_at);
        let n = n.start.max(new_at)..n.end.max(new_at);
        if o.start > old_at {
            ops.push(Op::equal(old_at..o.start, new_at..n.start));
        }
        block_ops(old, new, o.clone(), n.clone(), &mut ops);
        (old_at, new_at) = (o.end, n.end);
    }
    if old_at < old_count {
        ops.push(Op::equal(old_at..old_count, new_at..new_count));
    }
    ops
}

/// The unified diff of `edits` (see `write_edits_diff`) as a string of its own.
#[cfg(test)]
fn edits_diff(
    cx: &Context,
    sources: &mut Sources,
    file: &std::path::Path,
    edits: &mut [(Span, &str)],
) -> String {
    let edits = edits.iter().map(|(s, r)| (s, *r)).collect();
    kept(|out| write_edits_diff(out, cx, sources, file, edits))
}

/// A unified diff of two whole texts of `file` (a whole-file write): the lines they share at
/// each end are cut first, so that a one-line change in a 60 MB file costs no more than in a
/// small one.
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
    let old = Side::new(old, &old_secrets);
    let new = Side::new(new, &new_secrets);
    let mut ops = Vec::new();
    block_ops(
        &old,
        &new,
        0..old.line_count(),
        0..new.line_count(),
        &mut ops,
    );
    kept(|out| {
        write!(out, "--- a/{name}\n+++ b/{name}\n")?;
        hunks(out, &old, &new, &ops)
    })
}

/// The ops of one block of lines: the lines both ends share are equal; what is left is aligned
/// by Myers' algorithm when it is small, else removed and added whole (`ALIGN_MAX_LINES`).
fn block_ops(old: &Side, new: &Side, o: Span, n: Span, ops: &mut Vec<Op>) {
    let prefix = o
        .clone()
        .zip(n.clone())
        .take_while(|(a, b)| old.text(*a) == new.text(*b))
        .count();
    let (o_mid, n_mid) = (o.start + prefix..o.end, n.start + prefix..n.end);
    let suffix = o_mid
        .clone()
        .rev()
        .zip(n_mid.clone().rev())
        .take_while(|(a, b)| old.text(*a) == new.text(*b))
        .count();
    let (o_mid, n_mid) = (
        o_mid.start..o_mid.end - suffix,
        n_mid.start..n_mid.end - suffix,
    );
    if prefix > 0 {
        ops.push(Op::equal(o.start..o_mid.start, n.start..n_mid.start));
    }
    if o_mid.len() + n_mid.len() <= ALIGN_MAX_LINES {
        let old_keys: Vec<&[u8]> = o_mid.clone().map(|l| old.text(l)).collect();
        let new_keys: Vec<&[u8]> = n_mid.clone().map(|l| new.text(l)).collect();
        for op in similar::capture_diff_slices(similar::Algorithm::Myers, &old_keys, &new_keys) {
            let (tag, a, b) = op.as_tag_tuple();
            ops.push(Op {
                tag,
                old: a.start + o_mid.start..a.end + o_mid.start,
                new: b.start + n_mid.start..b.end + n_mid.start,
            });
        }
    } else {
        let tag = match (o_mid.is_empty(), n_mid.is_empty()) {
            (false, false) => similar::DiffTag::Replace,
            (false, true) => similar::DiffTag::Delete,
            (true, _) => similar::DiffTag::Insert,
        };
        ops.push(Op {
            tag,
            old: o_mid.clone(),
            new: n_mid.clone(),
        });
    }
    if suffix > 0 {
        ops.push(Op::equal(o_mid.end..o.end, n_mid.end..n.end));
    }
}

/// Groups `ops` (the whole file's, in order) into hunks with `CONTEXT` lines around each
/// change, as `diff -u` and difflib do, and writes them.
fn hunks(out: &mut dyn Write, old: &Side, new: &Side, ops: &[Op]) -> io::Result<()> {
    for group in hunk_groups(&joined(ops)) {
        write_hunk(out, old, new, &group)?;
    }
    Ok(())
}

/// `ops` with empty steps dropped and neighbouring equal stretches joined, so that every
/// equal step stands between two changes (or at an end).
fn joined(ops: &[Op]) -> Vec<Op> {
    let mut joined: Vec<Op> = Vec::with_capacity(ops.len());
    for op in ops
        .iter()
        .filter(|op| !op.old.is_empty() || !op.new.is_empty())
    {
        match joined.last_mut() {
            Some(prev)
                if prev.tag == similar::DiffTag::Equal && op.tag == similar::DiffTag::Equal =>
            {
                prev.old.end = op.old.end;
                prev.new.end = op.new.end;
            }
            _ => joined.push(op.clone()),
        }
    }
    joined
}

/// The hunks of `ops` (joined): each change with up to `CONTEXT` equal lines on each side,
/// changes closer than twice that in one hunk.
fn hunk_groups(ops: &[Op]) -> Vec<Vec<Op>> {
    let mut groups: Vec<Vec<Op>> = Vec::new();
    let mut group: Vec<Op> = Vec::new();
    let last = ops.len().saturating_sub(1);
    for (i, op) in ops.iter().enumerate() {
        if op.tag != similar::DiffTag::Equal {
            group.push(op.clone());
            continue;
        }
        let len = op.old.len();
        // Context after the previous change, and before the next.
        let after = if group.is_empty() {
            0
        } else {
            len.min(CONTEXT)
        };
        let before = if i == last { 0 } else { len.min(CONTEXT) };
        if after + before >= len && !group.is_empty() && i != last {
            group.push(op.clone());
            continue;
        }
        if after > 0 {
            group.push(Op::equal(
                op.old.start..op.old.start + after,
                op.new.start..op.new.start + after,
            ));
        }
        if !group.is_empty() {
            groups.push(std::mem::take(&mut group));
        }
        if before > 0 {
            group.push(Op::equal(
                op.old.end - before..op.old.end,
                op.new.end - before..op.new.end,
            ));
        }
    }
    if group.iter().any(|op| op.tag != similar::DiffTag::Equal) {
        groups.push(group);
    }
    groups
}

/// One hunk: its header, its marker lines, then its lines, each written as it is cut from
/// the redacted text. The markers depend on what the lines hold, and come first: they are
/// found before the lines are written (`hunk_marks`), so the hunk is never held (a hunk
/// removing 100,000 jobs is the file's size; issue #11).
fn write_hunk(out: &mut dyn Write, old: &Side, new: &Side, group: &[Op]) -> io::Result<()> {
    let (Some(first), Some(last)) = (group.first(), group.last()) else {
        return Ok(());
    };
    let (old_from, old_to) = (first.old.start, last.old.end);
    let (new_from, new_to) = (first.new.start, last.new.end);
    writeln!(
        out,
        "@@ -{} +{} @@",
        range_header(old_from, old_to - old_from),
        range_header(new_from, new_to - new_from)
    )?;
    let (redacted, escaped) = hunk_marks(old, new, group);
    if redacted {
        out.write_all(REDACTED_HUNK.as_bytes())?;
    }
    if escaped {
        out.write_all(ESCAPED_HUNK.as_bytes())?;
    }
    for (sign, on_new, at) in shown_lines(group) {
        let (text, _, _) = shown_line(if on_new { new } else { old }, at);
        out.write_all(&[sign])?;
        out.write_all(text.as_bytes())?;
        if !text.ends_with('\n') {
            out.write_all(b"\n\\ No newline at end of file\n")?;
        }
    }
    Ok(())
}

/// The lines a hunk shows, in order: its sign, whether it is on the new side, its number.
fn shown_lines(group: &[Op]) -> impl Iterator<Item = (u8, bool, usize)> + '_ {
    group.iter().flat_map(|op| {
        let (sign, added) = match op.tag {
            similar::DiffTag::Equal => (b' ', 0..0),
            _ => (b'-', op.new.clone()),
        };
        let removed = op.old.clone().map(move |l| (sign, false, l));
        removed.chain(added.map(|l| (b'+', true, l)))
    })
}

/// A line as shown: redacted (design §8), and with a control character from the file shown
/// escaped, never sent to the terminal; and whether either happened.
fn shown_line(side: &Side, at: usize) -> (String, bool, bool) {
    let (text, hid) = redact::redact_window(side.bytes, side.secrets, side.line(at));
    match super::escape::escape_controls(&text) {
        std::borrow::Cow::Borrowed(_) => (text, hid, false),
        std::borrow::Cow::Owned(shown) => (shown, hid, true),
    }
}

/// Whether the hunk shows a redacted secret, and whether it shows an escaped character. A
/// hunk whose bytes touch no secret and hold no byte a control character is made of (C0, DEL;
/// 0xC2 and 0xE2 lead the C1 controls and the bidirectional overrides) has neither, known
/// from one look at its bytes; any other hunk is asked line by line, as it will be shown.
fn hunk_marks(old: &Side, new: &Side, group: &[Op]) -> (bool, bool) {
    let changed = |op: &&Op| op.tag != similar::DiffTag::Equal;
    let plain = group.iter().all(|op| old.is_plain(op.old.clone()))
        && group
            .iter()
            .filter(changed)
            .all(|op| new.is_plain(op.new.clone()));
    if plain {
        return (false, false);
    }
    shown_lines(group).fold((false, false), |(redacted, escaped), (_, on_new, at)| {
        let (_, hid, esc) = shown_line(if on_new { new } else { old }, at);
        (redacted | hid, escaped | esc)
    })
}

/// The line that marks a hunk whose control characters are shown escaped (render::escape).
/// Like the redaction marker, it makes `git apply` refuse the hunk rather than write `\u{1b}`.
pub const ESCAPED_HUNK: &str =
    "~ control characters in this hunk are shown escaped (\\u{..}): it is for reading, not for `git apply`\n";

/// The line that marks a redacted hunk. It starts with none of ` `, `-`, `+`, `\\`, so
/// `git apply` reports a corrupt patch and `patch` a malformed one instead of applying it.
pub const REDACTED_HUNK: &str =
    "~ secrets in this hunk are shown as [redacted]: it is for reading, not for `git apply`\n";

fn range_header(start0: usize, len: usize) -> String {
    if len == 0 {
        format!("{start0},0")
    } else if len == 1 {
        format!("{}", start0 + 1)
    } else {
        format!("{},{len}", start0 + 1)
    }
}

/// The body of `--diff`: for each file, one header line per fix that `--fix` (with
/// `unsafe_fixes`, also `--unsafe-fixes`) would apply to it, then one diff with all of them
/// applied, as ruff's `--diff`; and how many fixes it shows.
pub fn report_diff(cx: &Context, report: &Report, unsafe_fixes: bool) -> (String, usize) {
    let diff = ReportDiff::plan(cx, report, unsafe_fixes);
    let shown = diff.shown();
    (kept(|out| diff.write(cx, out)), shown)
}

/// `--diff`, planned: the fixes it shows, gathered per file, ready to be written as the
/// diffs are made (`write`), never held whole.
///
/// The fixes are those the first pass of `--fix` applies (`Claims`); a fix that overlaps one of
/// them is counted in a closing line, since `--fix` re-checks before offering it again. Fixes
/// shared by several findings are told apart by hashing, never by comparing each with every
/// other, and each file is read, lexed and indexed once (issue #11).
pub struct ReportDiff<'a> {
    plan: Plan<'a>,
    sources: Sources,
    shown: usize,
    overlapping: usize,
}

impl<'a> ReportDiff<'a> {
    pub fn plan(cx: &Context, report: &'a Report, unsafe_fixes: bool) -> Self {
        let threshold = if unsafe_fixes {
            Applicability::Unsafe
        } else {
            Applicability::Safe
        };
        let sources = Sources::default();
        let mut seen: HashSet<&Fix> = HashSet::new();
        let mut claims = Claims::default();
        let mut plan = Plan::default();
        let (mut shown, mut overlapping) = (0, 0);
        for d in &report.diagnostics {
            let Some(fix) = &d.fix else { continue };
            // Several findings of one entry share its quarantine fix: show it once.
            if !fix.applies(threshold) || !seen.insert(fix) {
                continue;
            }
            if !claims.try_claim(fix) {
                overlapping += 1;
                continue;
            }
            shown += 1;
            let header = format!(
                "# {} ({}): {}",
                d.code.id,
                fix.applicability().as_str(),
                fix.title()
            );
            // The title was scrubbed with the rest of the finding when it was collected
            // (`engine::scrub_findings`); the code and the applicability are ours.
            plan.add(cx, Some(&header), fix);
        }
        ReportDiff {
            plan,
            sources,
            shown,
            overlapping,
        }
    }

    /// How many fixes the diff shows.
    pub fn shown(&self) -> usize {
        self.shown
    }

    /// Writes the diffs, then the line counting the overlapping fixes.
    pub fn write(mut self, cx: &Context, out: &mut dyn Write) -> io::Result<()> {
        self.plan.render(cx, &mut self.sources, "\n", out)?;
        if self.overlapping > 0 {
            let (n, them) = match self.overlapping {
                1 => ("1 more fix overlaps".to_string(), "it"),
                n => (format!("{n} more fixes overlap"), "them"),
            };
            writeln!(
                out,
                "# {n} the fixes above: `--fix` applies these first, checks again, and offers {them} if still needed"
            )?;
        }
        Ok(())
    }
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fix::apply_edits;
    use crate::version::NEWEST_KNOWN;

    /// A context of `project` that has read `file` (a diff reads files through the run's cache).
    fn context_holding(project: &std::path::Path, file: &std::path::Path) -> Context {
        let cx = Context::at_version(project.to_path_buf(), NEWEST_KNOWN, 0);
        cx.file(file);
        cx
    }

    /// Applies a unified diff (ours: no secrets, no escapes) to `old`, checking every context
    /// and removed line against it, as `patch` would.
    fn patch(old: &[u8], diff: &str) -> Vec<u8> {
        let lines: Vec<&[u8]> = old.split_inclusive(|b| *b == b'\n').collect();
        let mut out: Vec<u8> = Vec::new();
        let mut at = 0;
        let mut body = diff.split_inclusive('\n').skip(2).peekable();
        while let Some(header) = body.next() {
            let old_start: usize = header
                .trim_start_matches("@@ -")
                .split([',', ' '])
                .next()
                .unwrap()
                .parse()
                .unwrap();
            let len_given = header.trim_start_matches("@@ -").split(' ').next().unwrap();
            let from = if len_given.ends_with(",0") {
                old_start
            } else {
                old_start - 1
            };
            assert!(from >= at, "hunks out of order: {header}");
            lines[at..from]
                .iter()
                .for_each(|l| out.extend_from_slice(l));
            at = from;
            while let Some(line) = body.next_if(|l| !l.starts_with("@@")) {
                let text = &line.as_bytes()[1..];
                let no_newline = body.next_if(|l| l.starts_with("\\ No newline")).is_some();
                let text = if no_newline {
                    &text[..text.len() - 1]
                } else {
                    text
                };
                match line.as_bytes()[0] {
                    b' ' | b'-' => {
                        assert_eq!(lines[at], text, "{header}");
                        if line.starts_with(' ') {
                            out.extend_from_slice(text);
                        }
                        at += 1;
                    }
                    b'+' => out.extend_from_slice(text),
                    other => panic!("unexpected line {:?}", other as char),
                }
            }
        }
        lines[at..].iter().for_each(|l| out.extend_from_slice(l));
        out
    }

    /// Many edits in one file, near and far from each other, on shared lines, at both ends and
    /// without a final newline: the one diff of them all turns the file into exactly what
    /// `apply_edits` writes, with at most `CONTEXT` lines of context around each change.
    #[test]
    fn one_diff_per_file_applies_to_exactly_the_planned_contents() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("notes.txt");
        for (case, text) in [
            "".to_string(),
            "one line, no newline".to_string(),
            (0..60).map(|i| format!("line {i}\n")).collect::<String>(),
            (0..60).map(|i| format!("line {i}\n")).collect::<String>() + "tail",
        ]
        .into_iter()
        .enumerate()
        {
            std::fs::write(&file, &text).unwrap();
            // A context reads each file once: a new one for each text.
            let cx = context_holding(dir.path(), &file);
            let len = text.len();
            // Deterministic scattered edits: (start, length, replacement) chosen by a small LCG.
            for seed in 0..40u64 {
                let mut state = seed
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(case as u64);
                let mut next = |m: usize| {
                    state = state
                        .wrapping_mul(6364136223846793005)
                        .wrapping_add(1442695040888963407);
                    ((state >> 33) as usize) % m.max(1)
                };
                let mut edits: Vec<(Span, String)> = Vec::new();
                let mut cursor = 0;
                while cursor < len && edits.len() < 12 {
                    let start = cursor + next(len.saturating_sub(cursor).min(90) + 1);
                    if start > len {
                        break;
                    }
                    let end = (start + next(30)).min(len);
                    let replacement = ["", "X", "new\n", "a\nb\n", "\n"][next(5)].to_string();
                    edits.push((start..end, replacement));
                    // Keep them disjoint (touching allowed for non-empty ones).
                    cursor = end + 1;
                }
                if edits.is_empty() {
                    edits.push((len..len, "appended\n".to_string()));
                }
                let mut borrowed: Vec<(Span, &str)> =
                    edits.iter().map(|(s, r)| (s.clone(), r.as_str())).collect();
                let planned = apply_edits(text.as_bytes(), &borrowed).unwrap();
                let diff = edits_diff(&cx, &mut Sources::default(), &file, &mut borrowed);
                if planned == text.as_bytes() {
                    assert_eq!(diff, "");
                    continue;
                }
                assert!(
                    diff.starts_with("--- a/notes.txt\n+++ b/notes.txt\n"),
                    "{diff}"
                );
                assert_eq!(
                    String::from_utf8(patch(text.as_bytes(), &diff)).unwrap(),
                    String::from_utf8(planned.clone()).unwrap(),
                    "case {case} seed {seed}: {edits:?}\n{diff}"
                );
                // Never more context than diff -u: at most CONTEXT equal lines in a row at a
                // hunk's ends, at most 2 * CONTEXT between two changes.
                for hunk in diff.split("\n@@").skip(1) {
                    let mut run = 0;
                    for line in hunk.lines().skip(1) {
                        run = if line.starts_with(' ') { run + 1 } else { 0 };
                        assert!(run <= 2 * CONTEXT, "{diff}");
                    }
                    assert!(run <= CONTEXT, "{diff}");
                }
            }
        }
    }

    /// The quick look at a hunk's bytes (`Side::is_plain`) never misses a marker that its
    /// lines, as shown, need: every kind of control character, a secret, or neither.
    #[test]
    fn hunk_marks_agree_with_the_lines_shown() {
        let samples: [&[u8]; 13] = [
            b"plain\n",
            "caf\u{e9}\n".as_bytes(),
            b"esc \x1b[31m\n",
            b"crlf\r\n",
            b"cr\ralone\n",
            "bidi \u{202E}x\n".as_bytes(),
            "c1 \u{85}\n".as_bytes(),
            "nbsp\u{a0} and \u{2014}\n".as_bytes(),
            b"bad \xff\xfe\n",
            "emoji \u{1F389}\n".as_bytes(),
            b"tab\there\n",
            "\u{2066}isolate\n".as_bytes(),
            b"del \x7f\n",
        ];
        let filler: Vec<u8> = (0..12)
            .flat_map(|i| format!("line {i}\n").into_bytes())
            .collect();
        for (i, sample) in samples.iter().enumerate() {
            // The sample removed from the middle of the file, with a secret or without.
            let old = [&filler[..], sample, &filler[..]].concat();
            let new = [&filler[..], &filler[..]].concat();
            let at = filler.len();
            // No secret, one inside the removed line, one outside the hunk.
            let inside: Vec<Span> = std::iter::once(at + 1..at + 3).collect();
            let outside: Vec<Span> = std::iter::once(0..2).collect();
            for secrets in [Vec::new(), inside, outside] {
                let old_side = Side::new(&old, &secrets);
                let new_side = Side::new(&new, &[]);
                let mut ops = Vec::new();
                let (o, n) = (0..old_side.line_count(), 0..new_side.line_count());
                block_ops(&old_side, &new_side, o, n, &mut ops);
                let groups = hunk_groups(&joined(&ops));
                assert!(!groups.is_empty(), "sample {i}");
                for group in groups {
                    let exact =
                        shown_lines(&group).fold((false, false), |(r, e), (_, on_new, at)| {
                            let side = if on_new { &new_side } else { &old_side };
                            let (_, hid, esc) = shown_line(side, at);
                            (r | hid, e | esc)
                        });
                    assert_eq!(
                        hunk_marks(&old_side, &new_side, &group),
                        exact,
                        "sample {i} {secrets:?}"
                    );
                }
            }
        }
    }

    /// A block too large to align (every line of the file removed) is shown removed whole, in
    /// time linear in its lines.
    #[test]
    fn a_block_too_large_to_align_is_removed_whole() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("big.txt");
        let text: String = (0..3 * ALIGN_MAX_LINES).map(|i| format!("{i}\n")).collect();
        std::fs::write(&file, &text).unwrap();
        let cx = context_holding(dir.path(), &file);
        // Remove every line but the first, edit by edit: the edits touch, so one block.
        let mut edits: Vec<(Span, &str)> = Vec::new();
        let mut offset = 0;
        for (i, line) in text.split_inclusive('\n').enumerate() {
            if i > 0 {
                edits.push((offset..offset + line.len(), ""));
            }
            offset += line.len();
        }
        let planned = apply_edits(text.as_bytes(), &edits).unwrap();
        let diff = edits_diff(&cx, &mut Sources::default(), &file, &mut edits);
        let patched = String::from_utf8(patch(text.as_bytes(), &diff)).unwrap();
        let planned = String::from_utf8(planned).unwrap();
        assert!(patched == planned, "{}", &diff[..diff.len().min(400)]);
        assert!(
            diff.contains("\n@@ -1,6000 +1 @@\n 0\n-1\n"),
            "{}",
            &diff[..diff.len().min(400)]
        );
        assert_eq!(diff.matches("@@ -").count(), 1);
    }
}

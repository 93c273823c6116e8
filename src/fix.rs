//! Fixes: what a finding proposes to change, as concrete changes.
//!
//! Ruff's model: a fix has a title, an applicability and a list of changes. Nothing here touches
//! the disk; `planned_contents` computes what a file would look like after the edits, which the
//! diff renderer and (later) the writer both use, so a preview is exactly what would be written.

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::hash::{Hash, Hasher};
use std::ops::Deref;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::packed_spans::PackedSpans;
use crate::thin::Thin;

/// A byte range in a file, end exclusive. BOM bytes are included in offsets. Defined here, below
/// the findings (`diag` re-exports it), so that findings depend on fixes and never the reverse.
pub type Span = std::ops::Range<usize>;

/// How far a fix may be trusted to run unattended, ordered by trust as ruff orders it:
/// `Manual < Unsafe < Safe`, so "applies at this threshold" is one comparison
/// (`Fix::applies`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Applicability {
    /// Instructions only; nothing can execute it.
    Manual,
    /// May drop or change data; needs `--unsafe-fixes` or a yes at the prompt.
    Unsafe,
    /// Cannot lose data or change meaning; `--fix` applies it.
    Safe,
}

impl Applicability {
    pub fn as_str(self) -> &'static str {
        match self {
            Applicability::Safe => "safe",
            Applicability::Unsafe => "unsafe",
            Applicability::Manual => "manual",
        }
    }
}

/// One concrete change on disk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// Replace the bytes `span` of `file` with `replacement`.
    Edit {
        /// Shared, not a copy per edit: the jobs check's 100,000 quarantine fixes point at one
        /// path (issue #11).
        file: Arc<Path>,
        span: Span,
        replacement: Box<str>,
    },
    /// Write (create or replace) a whole file.
    Write { file: PathBuf, contents: Vec<u8> },
    /// Change a file's permission bits.
    SetMode { file: PathBuf, mode: u32 },
    /// Move a file into the run's quarantine folder (our "delete").
    Quarantine { file: PathBuf },
    /// Save data (e.g. invalid jobs entries) into a named file in the run's quarantine folder.
    /// The name is most often a constant: borrowed then, not a copy per fix (100,000 of them
    /// for a broken jobs.json, issue #11).
    QuarantineData {
        name: Cow<'static, str>,
        contents: SharedBytes,
    },
    /// Rename a file within the project (promote a temp file, swap two key files back). The
    /// bytes move unchanged: this is how a fix relocates a PEM without rewriting it.
    Rename { from: PathBuf, to: PathBuf },
}

impl Change {
    /// The project file this change modifies, if any.
    pub fn file(&self) -> Option<&Path> {
        match self {
            Change::Edit { file, .. } => Some(file),
            Change::Write { file, .. }
            | Change::SetMode { file, .. }
            | Change::Quarantine { file }
            | Change::Rename { from: file, .. } => Some(file),
            Change::QuarantineData { .. } => None,
        }
    }
}

/// Hashes what tells changes apart cheaply: the kind, the file's name (never the whole path:
/// `Path`'s hash walks its components, and a fix run hashes every fix of a 100,000-finding file;
/// issue #11), the span and the lengths of what is written. Equal changes hash alike, so `Eq`
/// stays consistent; the rare changes that collide are told apart by `Eq`.
impl Hash for Change {
    fn hash<H: Hasher>(&self, state: &mut H) {
        std::mem::discriminant(self).hash(state);
        fn name(path: &Path) -> Option<&[u8]> {
            path.file_name().map(std::ffi::OsStr::as_encoded_bytes)
        }
        match self {
            Change::Edit {
                file,
                span,
                replacement,
            } => {
                name(file).hash(state);
                (span.start, span.end, replacement.len()).hash(state);
            }
            Change::Write { file, contents } => {
                name(file).hash(state);
                contents.len().hash(state);
            }
            Change::SetMode { file, mode } => {
                name(file).hash(state);
                mode.hash(state);
            }
            Change::Quarantine { file } => name(file).hash(state),
            Change::QuarantineData { name, contents } => {
                name.hash(state);
                contents.hash(state);
            }
            Change::Rename { from, to } => {
                name(from).hash(state);
                name(to).hash(state);
            }
        }
    }
}

/// Bytes a change carries, possibly a range of a file's bytes as the `Context` read them: a
/// fix that quarantines an entry refers to the entry where it lies instead of copying it, so
/// 100,000 quarantined entries are not the file a second time (issue #11). Compared and
/// hashed by the bytes it holds, wherever they live.
#[derive(Debug, Clone)]
pub struct SharedBytes {
    bytes: Arc<Vec<u8>>,
    range: std::ops::Range<usize>,
}

impl SharedBytes {
    /// `range` of `bytes`, cut to what `bytes` holds (an empty run when it lies outside).
    pub fn range_of(bytes: Arc<Vec<u8>>, range: Span) -> Self {
        let end = range.end.min(bytes.len());
        let start = range.start.min(end);
        SharedBytes {
            bytes,
            range: start..end,
        }
    }

    /// The buffer these bytes lie in, and where: a holder of many ranges of one file keeps
    /// the buffer once (the fix run's quarantine queue; issue #11).
    pub fn parts(&self) -> (&Arc<Vec<u8>>, Span) {
        (&self.bytes, self.range.clone())
    }

    /// The same bytes in a buffer of their own: the one they shared can go.
    pub fn detach(&mut self) {
        *self = SharedBytes::from(self.to_vec());
    }

    /// Whether bytes that use `used` of a buffer of `len` should rather be copied out of it
    /// once it is otherwise done with: they are less than half of it. Most of it (every entry
    /// of a file quarantined) stays shared, where a copy would only double it (issue #11).
    pub fn leave_buffer(used: usize, len: usize) -> bool {
        used.saturating_mul(2) < len
    }
}

impl From<Vec<u8>> for SharedBytes {
    fn from(bytes: Vec<u8>) -> Self {
        let range = 0..bytes.len();
        SharedBytes {
            bytes: Arc::new(bytes),
            range,
        }
    }
}

impl Deref for SharedBytes {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        &self.bytes[self.range.clone()]
    }
}

impl PartialEq for SharedBytes {
    fn eq(&self, other: &Self) -> bool {
        // The same range of the same buffer (a fix shared by two findings) is equal unread.
        (Arc::ptr_eq(&self.bytes, &other.bytes) && self.range == other.range) || **self == **other
    }
}

impl Eq for SharedBytes {}

/// Hashes the length only: equal bytes have equal lengths, so `Eq` stays consistent, and a fix
/// run's maps of fixes (keyed by the whole fix, issue #11) no longer hash every quarantined
/// entry's bytes; the entry's span in the fix's edit tells fixes apart.
impl Hash for SharedBytes {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.len().hash(state);
    }
}

/// Built only by `safe`, `unsafe_` and `manual`, so a manual fix never carries a change.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Fix {
    applicability: Applicability,
    /// Shared like a finding's help (`diag::Shared`): a code's fixes often have one title.
    /// Thin: eight bytes less on each of 200,000 findings than an `Arc<str>` (issue #11).
    title: Thin<str>,
    /// Boxed, not a vector: a fix's changes never grow, and every finding carries room for
    /// a fix (eight bytes fewer on each of 200,000 findings; issue #11).
    changes: Box<[Change]>,
}

impl Fix {
    pub fn applicability(&self) -> Applicability {
        self.applicability
    }

    pub fn title(&self) -> &str {
        &self.title
    }

    /// The title itself, shared: a fix run's record of 100,000 fixes keeps no copy of it.
    pub fn shared_title(&self) -> Arc<str> {
        self.title.shared()
    }

    pub fn changes(&self) -> &[Change] {
        &self.changes
    }

    /// The bytes this fix saves into the quarantine (`Change::QuarantineData`), to be let go
    /// of once it has been applied (`repair`).
    pub fn saved_data_mut(&mut self) -> impl Iterator<Item = &mut SharedBytes> {
        self.changes.iter_mut().filter_map(|change| match change {
            Change::QuarantineData { contents, .. } => Some(contents),
            _ => None,
        })
    }

    /// Replaces the title, for the redaction pass that hides what it quotes
    /// (`redact::sources`).
    pub fn set_title(&mut self, title: String) {
        self.title = Thin::from(title);
    }

    /// Lets `diag::Shared` point the title at an equal one's buffer.
    pub fn share_title(&mut self, share: impl FnOnce(&mut Thin<str>)) {
        share(&mut self.title);
    }

    /// Whether a run that applies fixes down to `threshold` (`Safe` for `--fix`, `Unsafe` for
    /// `--unsafe-fixes` and the prompt) applies this one: it must have something to execute.
    /// The one place that decides it, for the fix run, `--diff`, the reports and `scan`.
    pub fn applies(&self, threshold: Applicability) -> bool {
        self.applicability >= threshold
            && self.applicability != Applicability::Manual
            && !self.changes.is_empty()
    }

    pub fn safe(title: impl Into<String>, changes: Vec<Change>) -> Self {
        Fix {
            applicability: Applicability::Safe,
            title: Thin::from(title.into()),
            changes: changes.into_boxed_slice(),
        }
    }

    pub fn unsafe_(title: impl Into<String>, changes: Vec<Change>) -> Self {
        Fix {
            applicability: Applicability::Unsafe,
            title: Thin::from(title.into()),
            changes: changes.into_boxed_slice(),
        }
    }

    /// Instructions only: no change can be executed.
    pub fn manual(title: impl Into<String>) -> Self {
        Fix {
            applicability: Applicability::Manual,
            title: Thin::from(title.into()),
            changes: Box::default(),
        }
    }
}

/// The byte ranges and whole files claimed by the fixes chosen so far for one pass: the fix run
/// and `--diff` choose the same way, so a diff shows what the first pass of `--fix` writes.
///
/// No new span is compared with every claimed span (issue #11): see `Spans`.
#[derive(Default)]
pub struct Claims {
    edits: HashMap<Arc<Path>, Spans>,
    whole: HashSet<PathBuf>,
}

/// A file's claimed spans, pairwise disjoint.
///
/// Claimed in order (each starting at or after the last one's start: findings come in file
/// order), a new span can only touch the last one: every earlier span ends before the last
/// starts. They are then kept packed (`PackedSpans`, a few bytes each: a map of 100,000
/// quarantine spans was about 3 MB of a fix run's peak). The first span claimed out of order
/// turns them into a map by start, where a new span is checked against its few neighbours
/// (a logarithmic lookup).
enum Spans {
    InOrder { packed: PackedSpans, last: Span },
    ByStart(BTreeMap<usize, usize>),
}

impl Spans {
    fn of(span: &Span) -> Self {
        let mut packed = PackedSpans::default();
        packed.push(span.clone());
        Spans::InOrder {
            packed,
            last: span.clone(),
        }
    }

    /// Makes ready to be asked about `span`: spans asked about out of order are kept by start
    /// from then on, so no question walks every span.
    fn ready_for(&mut self, span: &Span) {
        if let Spans::InOrder { packed, last } = self {
            if span.start < last.start {
                *self = Spans::ByStart(packed.iter().map(|s| (s.start, s.end)).collect());
            }
        }
    }

    /// Whether `span` is disjoint from every claimed span (after `ready_for`).
    fn fits(&self, span: &Span) -> bool {
        match self {
            Spans::InOrder { last, .. } => disjoint(span, last),
            Spans::ByStart(taken) => fits(taken, span),
        }
    }

    /// Adds a span that fits.
    fn claim(&mut self, span: &Span) {
        self.ready_for(span);
        match self {
            Spans::InOrder { packed, last } => {
                packed.push(span.clone());
                *last = span.clone();
            }
            Spans::ByStart(taken) => {
                taken.insert(span.start, span.end);
            }
        }
    }
}

impl Claims {
    /// Claims the fix's changes unless one overlaps a change already claimed; an overlapping fix
    /// waits for the next pass, where it is re-diagnosed against the new text.
    pub fn try_claim(&mut self, fix: &Fix) -> bool {
        for change in &fix.changes {
            if let Change::Edit { file, span, .. } = change {
                if let Some(taken) = self.edits.get_mut(&**file) {
                    taken.ready_for(span);
                }
            }
        }
        let edits = &self.edits;
        let whole = &self.whole;
        let edited = |file: &Path| edits.contains_key(file);
        let free = fix.changes.iter().all(|change| match change {
            Change::Edit { file, span, .. } => {
                !whole.contains(&**file) && edits.get(&**file).is_none_or(|taken| taken.fits(span))
            }
            Change::Write { file, .. } | Change::Quarantine { file } => {
                !whole.contains(file) && !edited(file)
            }
            Change::Rename { from, to } => {
                [from, to].iter().all(|f| !whole.contains(*f) && !edited(f))
            }
            Change::SetMode { .. } | Change::QuarantineData { .. } => true,
        });
        if !free {
            return false;
        }
        for change in &fix.changes {
            match change {
                Change::Edit { file, span, .. } => match self.edits.get_mut(&**file) {
                    Some(taken) => taken.claim(span),
                    // The key shares the edit's path (`Arc<Path>`): no copy per edit.
                    None => {
                        self.edits.insert(Arc::clone(file), Spans::of(span));
                    }
                },
                Change::Write { file, .. } | Change::Quarantine { file } => {
                    self.whole.insert(file.clone());
                }
                Change::Rename { from, to } => {
                    self.whole.insert(from.clone());
                    self.whole.insert(to.clone());
                }
                Change::SetMode { .. } | Change::QuarantineData { .. } => {}
            }
        }
        true
    }
}

/// Whether `span` is disjoint from every span of `taken` (start → end, pairwise disjoint).
/// Only the claimed spans that start at or before `span`'s end and end at or after its start
/// can touch it; walking back from the last that starts in time, the first that ends too early
/// proves every earlier one does too.
fn fits(taken: &BTreeMap<usize, usize>, span: &Span) -> bool {
    for (&start, &end) in taken.range(..=span.end).rev() {
        if end < span.start {
            return true;
        }
        if !disjoint(span, &(start..end)) {
            return false;
        }
    }
    true
}

/// Edits may touch end to start (adjacent entries removed in one pass) but not overlap; an
/// insertion is kept apart from everything at its offset, where the order would be a guess.
fn disjoint(a: &Span, b: &Span) -> bool {
    if a.is_empty() || b.is_empty() {
        a.end < b.start || a.start > b.end
    } else {
        a.end <= b.start || a.start >= b.end
    }
}

/// Error from applying edits that cannot be combined.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PlanError {
    #[error("edits overlap at bytes {0}..{1}")]
    Overlap(usize, usize),
    #[error("an edit reaches past the end of the file ({0} > {1})")]
    OutOfBounds(usize, usize),
}

/// An edit as `Edited` applies it: the bytes it replaces and what goes there.
pub trait Replacement {
    fn span(&self) -> &Span;
    fn text(&self) -> &str;
}

impl Replacement for (&Span, &str) {
    fn span(&self) -> &Span {
        self.0
    }
    fn text(&self) -> &str {
        self.1
    }
}

/// A `Change::Edit` by reference: eight bytes where a borrowed span and text are 32, for each
/// of a file's 100,000 edits (issue #11). Any other change edits no bytes: it is the empty
/// edit at the file's start, which changes nothing (callers hand over edits only).
impl Replacement for &Change {
    fn span(&self) -> &Span {
        static NOTHING: Span = 0..0;
        match self {
            Change::Edit { span, .. } => span,
            _ => &NOTHING,
        }
    }
    fn text(&self) -> &str {
        match self {
            Change::Edit { replacement, .. } => replacement,
            _ => "",
        }
    }
}

/// A file's edits put in the order they apply and checked against the file: what
/// `apply_edits` makes, as pieces handed out one after the other, so that a fix run hashes and
/// writes an edited file without a copy of it (issue #11).
pub struct Edited<'a, E> {
    original: &'a [u8],
    edits: Vec<E>,
}

impl<'a, E: Replacement> Edited<'a, E> {
    /// Edits are applied in span order; overlapping edits are refused rather than guessed at.
    pub fn new(original: &'a [u8], mut edits: Vec<E>) -> Result<Self, PlanError> {
        // Findings come in report order, so their edits mostly do: a sorted list is left as it
        // is (a stable sort takes a buffer of half of it even then).
        let key = |e: &E| (e.span().start, e.span().end);
        if !edits.is_sorted_by_key(key) {
            edits.sort_by_key(key);
        }
        check_in_order(original.len(), edits.iter().map(|e| e.span()))?;
        Ok(Edited { original, edits })
    }

    /// The edits, in the order they apply.
    pub fn edits(&self) -> &[E] {
        &self.edits
    }

    /// Hands each piece of the edited file to `out`, in order.
    pub fn pieces<X>(&self, out: &mut dyn FnMut(&[u8]) -> Result<(), X>) -> Result<(), X> {
        let edits = self.edits.iter().map(|e| (e.span(), e.text()));
        edited_pieces(self.original, edits, out)
    }

    /// The edited file's length in bytes.
    pub fn size(&self) -> usize {
        self.edits.iter().fold(self.original.len(), |len, edit| {
            len - edit.span().len() + edit.text().len()
        })
    }
}

/// Whether edits in the order they apply (by span) fit a file of `len` bytes: none reaches
/// past its end, none overlaps the one before. A caller whose edits come in order checks them
/// here without a list of them (the fix run's 100,000 quarantine edits; issue #11).
pub fn check_in_order<'s>(
    len: usize,
    spans: impl Iterator<Item = &'s Span>,
) -> Result<(), PlanError> {
    let mut cursor = 0;
    for span in spans {
        if span.end > len || span.start > span.end {
            return Err(PlanError::OutOfBounds(span.end, len));
        }
        if span.start < cursor {
            return Err(PlanError::Overlap(span.start, cursor));
        }
        cursor = span.end;
    }
    Ok(())
}

/// Hands each piece of `original` with `edits` applied to `out`, in order; the edits come in
/// the order they apply and fit the file (`check_in_order`).
pub fn edited_pieces<'e, E>(
    original: &[u8],
    edits: impl Iterator<Item = (&'e Span, &'e str)>,
    out: &mut dyn FnMut(&[u8]) -> Result<(), E>,
) -> Result<(), E> {
    let mut cursor = 0;
    for (span, replacement) in edits {
        out(&original[cursor..span.start])?;
        out(replacement.as_bytes())?;
        cursor = span.end;
    }
    out(&original[cursor..])
}

/// The contents `original` would have after applying `edits` (spans into `original`).
/// Edits are applied in span order; overlapping edits are refused rather than guessed at.
pub fn apply_edits(original: &[u8], edits: &[(Span, &str)]) -> Result<Vec<u8>, PlanError> {
    let edited = Edited::new(original, edits.iter().map(|(s, r)| (s, *r)).collect())?;
    let mut out = Vec::with_capacity(edited.size());
    let filled: Result<(), std::convert::Infallible> = edited.pieces(&mut |piece| {
        out.extend_from_slice(piece);
        Ok(())
    });
    let Ok(()) = filled;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `Hash` is hand-written to skip what is slow to hash; equal changes must still hash
    /// alike, whatever the spelling of their paths (`Path` compares by components) and wherever
    /// their bytes live (a shared range of the file, or a copy).
    #[test]
    fn equal_changes_hash_alike() {
        let state = std::collections::hash_map::RandomState::new();
        let hash = |c: &Change| {
            use std::hash::BuildHasher;
            state.hash_one(c)
        };
        let spellings = [
            "/a/b/jobs.json",
            "/a//b/jobs.json",
            "/a/./b/jobs.json",
            "/a/b/jobs.json/",
        ];
        for one in spellings {
            for other in spellings {
                let (x, y) = (
                    Change::Edit {
                        file: Path::new(one).into(),
                        span: 3..9,
                        replacement: "x".into(),
                    },
                    Change::Edit {
                        file: Path::new(other).into(),
                        span: 3..9,
                        replacement: "x".into(),
                    },
                );
                assert_eq!(x, y);
                assert_eq!(hash(&x), hash(&y), "{one} {other}");
                let (x, y) = (
                    Change::Rename {
                        from: one.into(),
                        to: other.into(),
                    },
                    Change::Rename {
                        from: other.into(),
                        to: one.into(),
                    },
                );
                assert_eq!(x, y);
                assert_eq!(hash(&x), hash(&y), "{one} {other}");
            }
        }
        let file = Arc::new(b"[{\"slug\": \"a\"}, {\"slug\": \"a\"}]".to_vec());
        let shared = Change::QuarantineData {
            name: "jobs.invalid.json".into(),
            contents: SharedBytes::range_of(Arc::clone(&file), 1..14),
        };
        let copied = Change::QuarantineData {
            name: Cow::Owned("jobs.invalid.json".to_string()),
            contents: SharedBytes::from(file[16..29].to_vec()),
        };
        assert_eq!(shared, copied);
        assert_eq!(hash(&shared), hash(&copied));
    }

    #[test]
    fn edits_apply_in_order_regardless_of_input_order() {
        let out = apply_edits(b"abcdef", &[(4..5, "E"), (0..1, "")]).unwrap();
        assert_eq!(out, b"bcdEf");
    }

    /// A fix run hashes and writes an edited file from its pieces (`Edited`): they are what
    /// `apply_edits` makes, byte for byte, and as long as `size` says.
    #[test]
    fn edited_pieces_are_the_edited_file() {
        let original = b"[{\"a\":1},{\"b\":2},{\"c\":3}]";
        let cases: Vec<Vec<(Span, &str)>> = vec![
            vec![],
            vec![(1..9, ""), (9..17, "")],
            vec![(17..24, "X"), (0..0, "pre"), (25..25, "post")],
            vec![(1..24, "{}")],
        ];
        for edits in cases {
            let edited =
                Edited::new(original, edits.iter().map(|(s, r)| (s, *r)).collect()).unwrap();
            let mut pieces = Vec::new();
            let _ = edited.pieces::<()>(&mut |p| {
                pieces.extend_from_slice(p);
                Ok(())
            });
            let whole = apply_edits(original, &edits).unwrap();
            assert_eq!(pieces, whole, "{edits:?}");
            assert_eq!(edited.size(), whole.len(), "{edits:?}");
        }
    }

    /// Edits handed over as the changes themselves (`&Change`, as `--diff` plans them) make
    /// the file the spans and texts make; a change that is not an edit edits nothing.
    #[test]
    fn edits_by_change_are_edits_by_span_and_text() {
        let original = b"[{\"a\":1},{\"b\":2},{\"c\":3}]";
        let file: Arc<Path> = Arc::from(Path::new("/a/jobs.json"));
        let edit = |span: Span, text: &str| Change::Edit {
            file: Arc::clone(&file),
            span,
            replacement: text.into(),
        };
        let changes = [
            edit(17..24, "X"),
            edit(0..0, "pre"),
            Change::QuarantineData {
                name: "jobs.invalid.json".into(),
                contents: SharedBytes::from(b"{}".to_vec()),
            },
            edit(1..9, ""),
        ];
        let by_change = Edited::new(original, changes.iter().collect()).unwrap();
        let mut pieces = Vec::new();
        let _ = by_change.pieces::<()>(&mut |p| {
            pieces.extend_from_slice(p);
            Ok(())
        });
        let whole = apply_edits(original, &[(17..24, "X"), (0..0, "pre"), (1..9, "")]).unwrap();
        assert_eq!(
            String::from_utf8(pieces).unwrap(),
            String::from_utf8(whole.clone()).unwrap()
        );
        assert_eq!(by_change.size(), whole.len());
        let overlapping = [edit(1..9, ""), edit(5..12, "y")];
        assert!(Edited::new(original, overlapping.iter().collect()).is_err());
    }

    #[test]
    fn overlapping_edits_are_refused() {
        assert_eq!(
            apply_edits(b"abcdef", &[(0..3, "x"), (2..4, "y")]),
            Err(PlanError::Overlap(2, 3))
        );
    }

    fn edit(span: Span) -> Change {
        Change::Edit {
            file: PathBuf::from("f").into(),
            span,
            replacement: Box::default(),
        }
    }

    #[test]
    fn claims_refuse_overlaps_and_allow_touching_edits() {
        let mut claims = Claims::default();
        assert!(claims.try_claim(&Fix::safe("a", vec![edit(10..20)])));
        assert!(claims.try_claim(&Fix::safe("b", vec![edit(20..30)])));
        assert!(claims.try_claim(&Fix::safe("c", vec![edit(0..10)])));
        assert!(!claims.try_claim(&Fix::safe("d", vec![edit(15..16)])));
        assert!(!claims.try_claim(&Fix::safe("e", vec![edit(5..25)])));
        assert!(!claims.try_claim(&Fix::safe("f", vec![edit(29..40)])));
        // An insertion is kept apart from everything at its offset.
        assert!(!claims.try_claim(&Fix::safe("g", vec![edit(30..30)])));
        assert!(claims.try_claim(&Fix::safe("h", vec![edit(31..31)])));
        assert!(!claims.try_claim(&Fix::safe("i", vec![edit(31..31)])));
        assert!(claims.try_claim(&Fix::safe("j", vec![edit(32..40)])));
        // A fix refused whole claims nothing: its free edit stays free for the next one.
        assert!(!claims.try_claim(&Fix::safe("k", vec![edit(50..60), edit(35..36)])));
        assert!(claims.try_claim(&Fix::safe("l", vec![edit(50..60)])));
        // A whole-file change needs the file to itself.
        assert!(!claims.try_claim(&Fix::safe(
            "n",
            vec![Change::Quarantine {
                file: PathBuf::from("f")
            }]
        )));
    }

    /// Claims `order` one span a fix, checking each answer against comparing with every span
    /// claimed before it.
    fn claimed_as_pairwise(order: Vec<Span>) -> Claims {
        let mut claims = Claims::default();
        let mut taken: Vec<Span> = Vec::new();
        for span in order {
            let expected = taken.iter().all(|t| disjoint(&span, t));
            assert_eq!(
                claims.try_claim(&Fix::safe("x", vec![edit(span.clone())])),
                expected,
                "{span:?} against {taken:?}"
            );
            if expected {
                taken.push(span);
            }
        }
        claims
    }

    /// Every span over a small range.
    fn small_spans() -> Vec<Span> {
        let mut spans = Vec::new();
        for start in 0..12 {
            for end in start..12 {
                spans.push(start..end);
            }
        }
        spans
    }

    #[test]
    fn claims_agree_with_pairwise_comparison() {
        // Claimed in a scrambled order: the map's neighbour lookup must accept exactly what
        // comparing with every claimed span accepts.
        let spans = small_spans();
        for seed in 0..20usize {
            let mut order = spans.clone();
            let n = order.len();
            for i in 0..n {
                order.swap(i, (i * 7 + seed * 13 + i * i * seed) % n);
            }
            claimed_as_pairwise(order);
        }
    }

    /// In file order, as findings come, only the last claimed span is asked about, and the
    /// spans stay packed; one span out of order then moves them into the map, and the answers
    /// stay those of comparing with every span.
    #[test]
    fn claims_in_file_order_agree_with_pairwise_comparison() {
        let mut in_order = small_spans();
        in_order.sort_by_key(|s| (s.start, s.end));
        let claims = claimed_as_pairwise(in_order.clone());
        assert!(matches!(
            claims.edits.values().next(),
            Some(Spans::InOrder { .. })
        ));
        for late in [0, 3, 40, 77] {
            let mut order = in_order.clone();
            let span = order.remove(late);
            order.insert(order.len() / 2, span.clone());
            order.push(span);
            claimed_as_pairwise(order);
        }
    }

    #[test]
    fn applies_follows_the_threshold_and_needs_a_change() {
        let safe = Fix::safe("s", vec![edit(0..1)]);
        let unsafe_ = Fix::unsafe_("u", vec![edit(0..1)]);
        assert!(safe.applies(Applicability::Safe) && safe.applies(Applicability::Unsafe));
        assert!(!unsafe_.applies(Applicability::Safe) && unsafe_.applies(Applicability::Unsafe));
        assert!(!Fix::manual("m").applies(Applicability::Manual));
        assert!(!Fix::safe("nothing to do", vec![]).applies(Applicability::Safe));
        assert!(Applicability::Manual < Applicability::Unsafe);
        assert!(Applicability::Unsafe < Applicability::Safe);
    }

    #[test]
    fn out_of_bounds_edit_is_refused() {
        assert!(apply_edits(b"ab", &[(1..5, "x")]).is_err());
    }

    /// A fix run holds two changes for each of 100,000 broken jobs entries (issue #11): a
    /// change that grows past this is felt in every fix.
    #[test]
    fn a_change_stays_small() {
        assert!(std::mem::size_of::<Change>() <= 56);
    }

    #[test]
    fn shared_bytes_are_their_range_and_compare_by_content() {
        use std::collections::hash_map::DefaultHasher;
        let file = Arc::new(b"[{\"a\":1},{\"b\":2}]".to_vec());
        let shared = SharedBytes::range_of(file.clone(), 1..8);
        assert_eq!(&*shared, b"{\"a\":1}");
        let owned = SharedBytes::from(b"{\"a\":1}".to_vec());
        assert_eq!(shared, owned);
        let hash = |b: &SharedBytes| {
            let mut h = DefaultHasher::new();
            b.hash(&mut h);
            h.finish()
        };
        assert_eq!(hash(&shared), hash(&owned));
        assert_ne!(shared, SharedBytes::range_of(file.clone(), 9..16));
        assert_eq!(&*SharedBytes::range_of(file.clone(), 16..99), b"]");
        assert!(SharedBytes::range_of(file, 40..50).is_empty());
    }
}

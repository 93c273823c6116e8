//! The vocabulary every check speaks: codes, severities, effects, labels and diagnostics.
//!
//! Checks build `Diagnostic`s and push them into a `Sink`; they never print. Renderers turn
//! them into text. Nothing here knows how a finding is displayed.

use std::collections::HashSet;
use std::fmt;
use std::path::{Path, PathBuf};

pub use crate::fix::Span;
use crate::fix::{Applicability, Fix};

mod heads;
mod pointer;
mod text;
pub use crate::thin::Thin;
pub use heads::{Head, Heads};
pub use pointer::Pointer;
pub use text::Text;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Severity {
    Info,
    Warning,
    Error,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::Error => "error",
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What the area's own instar loader does with the file alone, at the version in use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Effect {
    /// The loader throws: the command or boot that loads the file aborts.
    Fatal,
    /// The loader drops the entry and goes on.
    Skipped,
    /// The loader accepts it and the runtime misbehaves.
    Silent,
    /// No effect on the runtime (hygiene).
    None,
}

impl Effect {
    pub fn as_str(self) -> &'static str {
        match self {
            Effect::Fatal => "fatal",
            Effect::Skipped => "skipped",
            Effect::Silent => "silent",
            Effect::None => "none",
        }
    }
}

/// A stable finding code, `area/kebab-name`, with its documentation.
///
/// Codes are declared as statics in each check's `codes` module so that `list`, `explain` and the
/// snapshot of all codes read one table.
#[derive(Debug)]
pub struct Code {
    /// `area/kebab-name`; never renamed once released.
    pub id: &'static str,
    /// The usual severity (a finding may differ, e.g. an absence that is healthy on one machine).
    pub severity: Severity,
    /// The usual fix safety; `None` for findings that propose nothing.
    pub fix: Option<Applicability>,
    /// One line for `list`.
    pub summary: &'static str,
    /// `explain`: what it checks · why it matters · what instar does at each version · the fix.
    pub explain: &'static str,
}

impl Code {
    /// The check id: the part before the slash.
    pub fn check(&self) -> &'static str {
        self.id.split('/').next().unwrap_or(self.id)
    }
}

impl PartialEq for Code {
    fn eq(&self, other: &Self) -> bool {
        self.id == other.id
    }
}

/// A secondary location, possibly in another file.
#[derive(Debug, Clone)]
pub struct Label {
    pub file: PathBuf,
    pub span: Option<Span>,
    pub message: String,
}

#[derive(Debug, Clone)]
pub struct Diagnostic {
    pub code: &'static Code,
    pub severity: Severity,
    pub effect: Effect,
    /// One buffer, or parts shared with other findings (`Text`; issue #11).
    pub message: Text,
    /// Shared, not owned: a code's help repeats word for word on each of its findings (100,000
    /// times in a broken jobs.json, issue #11), so `Shared` hands every equal text one buffer,
    /// behind a thin pointer.
    pub help: Option<Thin<str>>,
    /// Absolute path of the file the finding is about (the file a fix must change); shared
    /// between the findings of one file, as the help is.
    pub file: Option<Thin<Path>>,
    /// The primary span in `file`; `None` for a finding about a file as a whole.
    pub span: Option<Span>,
    /// Text for the primary label under the snippet; shared like the help.
    pub label: Option<Thin<str>>,
    /// JSON Pointer of the value in `file`, when it is a JSON value; an entry's index and a
    /// shared member path for the findings of a large array (`Pointer::element`).
    pub pointer: Option<Pointer>,
    pub secondary: Labels,
    pub fix: Option<Fix>,
    /// What became of the fix in a fix run.
    pub fix_status: FixStatus,
}

/// A finding's secondary labels: a pointer's size where there is none, as for almost every
/// finding (a vector's three words on each of 200,000 findings was 3 MB of nothing; issue
/// #11). Reads as a slice of labels.
///
/// A thin pointer on purpose: a boxed slice would be two words on every finding; the extra
/// allocation is paid only by the few findings that have labels.
#[derive(Debug, Clone, Default)]
#[allow(clippy::box_collection)]
pub struct Labels(Option<Box<Vec<Label>>>);

impl Labels {
    pub fn push(&mut self, label: Label) {
        self.0.get_or_insert_with(Box::default).push(label);
    }
}

impl std::ops::Deref for Labels {
    type Target = [Label];
    fn deref(&self) -> &[Label] {
        self.0.as_deref().map_or(&[], Vec::as_slice)
    }
}

impl std::ops::DerefMut for Labels {
    fn deref_mut(&mut self) -> &mut [Label] {
        match self.0.as_deref_mut() {
            Some(labels) => labels.as_mut_slice(),
            None => &mut [],
        }
    }
}

impl<'a> IntoIterator for &'a Labels {
    type Item = &'a Label;
    type IntoIter = std::slice::Iter<'a, Label>;
    fn into_iter(self) -> Self::IntoIter {
        self.iter()
    }
}

impl<'a> IntoIterator for &'a mut Labels {
    type Item = &'a mut Label;
    type IntoIter = std::slice::IterMut<'a, Label>;
    fn into_iter(self) -> Self::IntoIter {
        self.iter_mut()
    }
}

/// What became of a finding's fix (`fix.status` in the JSON output).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum FixStatus {
    #[default]
    Proposed,
    Applied,
    Failed,
    Declined,
}

impl FixStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            FixStatus::Proposed => "proposed",
            FixStatus::Applied => "applied",
            FixStatus::Failed => "failed",
            FixStatus::Declined => "declined",
        }
    }
}

impl Diagnostic {
    /// A finding with the code's default severity and no location yet.
    pub fn new(code: &'static Code, effect: Effect, message: impl Into<Text>) -> Self {
        Diagnostic {
            code,
            severity: code.severity,
            effect,
            message: message.into(),
            help: None,
            file: None,
            span: None,
            label: None,
            pointer: None,
            secondary: Labels::default(),
            fix: None,
            fix_status: FixStatus::Proposed,
        }
    }

    pub fn severity(mut self, severity: Severity) -> Self {
        self.severity = severity;
        self
    }

    pub fn file(mut self, file: impl AsRef<Path>) -> Self {
        self.file = Some(Thin::from(file.as_ref()));
        self
    }

    pub fn at(mut self, span: Span, label: impl Into<String>) -> Self {
        self.span = Some(span);
        self.label = Some(Thin::from(label.into()));
        self
    }

    pub fn pointer(mut self, pointer: impl Into<Pointer>) -> Self {
        self.pointer = Some(pointer.into());
        self
    }

    pub fn help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(Thin::from(help.into()));
        self
    }

    /// Appends a paragraph to the help text.
    pub fn add_help(mut self, more: impl AsRef<str>) -> Self {
        let more = more.as_ref();
        self.help = Some(match self.help.take() {
            Some(h) => Thin::from(format!("{h}\n{more}")),
            None => Thin::from(more),
        });
        self
    }

    pub fn secondary(mut self, label: Label) -> Self {
        self.secondary.push(label);
        self
    }

    pub fn fix(mut self, fix: Option<Fix>) -> Self {
        self.fix = fix;
        self
    }
}

/// `into` followed by `more`, in order. The larger buffer is kept and the fewer findings are
/// moved into it, so the peak is one list of findings, not the list twice (as `extend` into an
/// empty or small vector would allocate, then copy every finding).
pub fn append_keeping_larger(into: &mut Vec<Diagnostic>, mut more: Vec<Diagnostic>) {
    if more.len() > into.len() {
        let earlier = std::mem::take(into);
        more.splice(0..0, earlier);
        *into = more;
    } else {
        into.append(&mut more);
    }
}

/// Hands equal texts and paths of findings one shared buffer: the help of a code, its fix's
/// title and the file repeat on every finding, and a broken jobs.json has 100,000 of them
/// (issue #11). Bounded: it forgets everything when full, so texts that never repeat cost a
/// bounded amount of bookkeeping; what it has shared stays shared.
#[derive(Debug, Default)]
pub struct Shared {
    /// Helps, labels, fixes' titles and the shared parts of messages and pointers (`Text`,
    /// `Pointer`).
    texts: HashSet<Thin<str>>,
    paths: HashSet<Thin<Path>>,
    /// The heads of messages (`Text`): one entry's name each, written into shared buffers.
    heads: Heads,
}

/// How many distinct texts (and paths) `Shared` remembers.
const SHARED_MEMO: usize = 1024;

impl Shared {
    /// Points the finding's help, label, fix title and file at the buffers of equal ones seen before.
    pub fn share(&mut self, d: &mut Diagnostic) {
        if let Some(help) = d.help.as_mut() {
            self.text(help);
        }
        if let Some(label) = d.label.as_mut() {
            self.text(label);
        }
        if let Some(fix) = d.fix.as_mut() {
            self.share_fix(fix);
        }
        if let Some(file) = d.file.as_mut() {
            remember(&mut self.paths, file);
        }
    }

    /// Points a fix's title at the buffer of an equal one seen before: for a fix given to a
    /// finding already shared, whose other texts need no second look.
    pub fn share_fix(&mut self, fix: &mut Fix) {
        fix.share_title(|title| self.text(title));
    }

    /// The shared buffer of a text equal to `text`, made if none is known: for the parts of
    /// findings' messages and pointers that repeat (`Text`), looked up before any copy.
    pub fn intern(&mut self, text: &str) -> Thin<str> {
        if let Some(known) = self.texts.get(text) {
            return known.clone();
        }
        let mut made = Thin::from(text);
        self.text(&mut made);
        made
    }

    /// `text`, the head of the messages of one entry's findings, written with the other
    /// heads into a shared buffer (`Heads`): the findings must stay with their check until
    /// `seal_heads` (or the drop of this `Shared`).
    pub fn head(&mut self, text: &str) -> Head {
        self.heads.add(text)
    }

    /// Completes every head handed out so far (`head`).
    pub fn seal_heads(&mut self) {
        self.heads.seal();
    }

    fn text(&mut self, text: &mut Thin<str>) {
        remember(&mut self.texts, text);
    }
}

/// Points `item` at the buffer of an equal one in `memo`, or remembers it; the memo forgets
/// everything when full (`SHARED_MEMO`).
fn remember<T: std::hash::Hash + Eq + Clone>(memo: &mut HashSet<T>, item: &mut T) {
    if let Some(known) = memo.get(item) {
        *item = known.clone();
    } else {
        if memo.len() >= SHARED_MEMO {
            memo.clear();
        }
        memo.insert(item.clone());
    }
}

/// Where checks put their findings. Collecting in a plain vector keeps checks free of I/O.
#[derive(Debug, Default)]
pub struct Sink {
    diagnostics: Vec<Diagnostic>,
    shared: Shared,
}

impl Sink {
    pub fn push(&mut self, mut diagnostic: Diagnostic) {
        self.shared.share(&mut diagnostic);
        self.diagnostics.push(diagnostic);
    }

    pub fn len(&self) -> usize {
        self.diagnostics.len()
    }

    pub fn extend(&mut self, diagnostics: impl IntoIterator<Item = Diagnostic>) {
        for diagnostic in diagnostics {
            self.push(diagnostic);
        }
    }

    /// Adds a check's collected findings after those already here, in order, without holding
    /// two copies of the larger list at once (issue #11: 100,000 findings). The caller shares
    /// their texts as it collects them (`Shared`), before they pile up: they are not hashed a
    /// second time here.
    pub fn append(&mut self, diagnostics: Vec<Diagnostic>) {
        append_keeping_larger(&mut self.diagnostics, diagnostics);
    }

    pub fn is_empty(&self) -> bool {
        self.diagnostics.is_empty()
    }

    pub fn into_vec(self) -> Vec<Diagnostic> {
        self.diagnostics
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    static CODE: Code = Code {
        id: "test/order",
        severity: Severity::Warning,
        fix: None,
        summary: "",
        explain: "",
    };

    fn messages(list: &[Diagnostic]) -> Vec<String> {
        list.iter().map(|d| d.message.to_string()).collect()
    }

    fn found(names: &[&str]) -> Vec<Diagnostic> {
        names
            .iter()
            .map(|n| Diagnostic::new(&CODE, Effect::None, *n))
            .collect()
    }

    /// A report of 200,000 findings holds 200,000 of these (issue #11): the struct stays
    /// small, its rare parts (secondary labels, a fix's changes) behind one pointer each.
    #[test]
    fn a_finding_stays_small() {
        assert!(
            std::mem::size_of::<Diagnostic>() <= 144,
            "{} bytes",
            std::mem::size_of::<Diagnostic>()
        );
        let mut labels = Labels::default();
        assert!(labels.is_empty());
        labels.push(Label {
            file: PathBuf::from("a"),
            span: None,
            message: "first".into(),
        });
        assert_eq!(
            labels
                .iter()
                .map(|l| l.message.as_str())
                .collect::<Vec<_>>(),
            ["first"]
        );
        labels.push(Label {
            file: PathBuf::from("b"),
            span: Some(1..2),
            message: "second".into(),
        });
        let spans: Vec<_> = (&labels).into_iter().map(|l| l.span.clone()).collect();
        assert_eq!(spans, [None, Some(1..2)]);
    }

    #[test]
    fn appending_keeps_order_whichever_list_is_larger() {
        let mut sink = Sink::default();
        sink.push(Diagnostic::new(&CODE, Effect::None, "first"));
        sink.append(found(&["a", "b", "c"]));
        sink.append(found(&["d"]));
        sink.append(Vec::new());
        assert_eq!(messages(&sink.into_vec()), ["first", "a", "b", "c", "d"]);
    }

    #[test]
    fn equal_helps_titles_and_paths_share_one_buffer() {
        let finding = |n: usize| {
            Diagnostic::new(&CODE, Effect::None, format!("job #{n}"))
                .file(PathBuf::from("/agent/.instar/jobs.json"))
                .help(format!("instar {} skips this job", "0.28.64"))
                .at(n..n + 1, format!("not {}", "allowed"))
                .fix(Some(Fix::manual(format!("remove job #{}", n % 2))))
        };
        let mut sink = Sink::default();
        sink.push(finding(1));
        sink.extend(vec![finding(2), finding(3)]);
        let found = sink.into_vec();
        let help = |d: &Diagnostic| d.help.clone().unwrap();
        let file = |d: &Diagnostic| d.file.clone().unwrap();
        assert!(Thin::ptr_eq(&help(&found[0]), &help(&found[2])));
        assert!(Thin::ptr_eq(&file(&found[0]), &file(&found[1])));
        let label = |d: &Diagnostic| d.label.clone().unwrap();
        assert!(Thin::ptr_eq(&label(&found[1]), &label(&found[2])));
        let title = |d: &Diagnostic| d.fix.as_ref().unwrap().title().as_ptr();
        let record = |d: &Diagnostic| d.fix.as_ref().unwrap().shared_title();
        assert!(
            Arc::ptr_eq(&record(&found[0]), &record(&found[2])),
            "a fix run's record of a title shares the finding's buffer"
        );
        assert_eq!(title(&found[0]), title(&found[2]), "same title: one buffer");
        assert_ne!(title(&found[0]), title(&found[1]), "another title");
        assert_eq!(found[1].fix.as_ref().unwrap().title(), "remove job #0");
        assert_eq!(messages(&found), ["job #1", "job #2", "job #3"]);
    }
}

//! The vocabulary every check speaks: codes, severities, effects, labels and diagnostics.
//!
//! Checks build `Diagnostic`s and push them into a `Sink`; they never print. Renderers turn
//! them into text. Nothing here knows how a finding is displayed.

use std::fmt;
use std::path::PathBuf;

pub use crate::fix::Span;
use crate::fix::{Applicability, Fix};

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
    pub message: String,
    pub help: Option<String>,
    /// Absolute path of the file the finding is about (the file a fix must change).
    pub file: Option<PathBuf>,
    /// The primary span in `file`; `None` for a finding about a file as a whole.
    pub span: Option<Span>,
    /// Text for the primary label under the snippet.
    pub label: Option<String>,
    /// JSON Pointer of the value in `file`, when it is a JSON value.
    pub pointer: Option<String>,
    pub secondary: Vec<Label>,
    pub fix: Option<Fix>,
    /// What became of the fix in a fix run.
    pub fix_status: FixStatus,
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
    pub fn new(code: &'static Code, effect: Effect, message: impl Into<String>) -> Self {
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
            secondary: Vec::new(),
            fix: None,
            fix_status: FixStatus::Proposed,
        }
    }

    pub fn severity(mut self, severity: Severity) -> Self {
        self.severity = severity;
        self
    }

    pub fn file(mut self, file: impl Into<PathBuf>) -> Self {
        self.file = Some(file.into());
        self
    }

    pub fn at(mut self, span: Span, label: impl Into<String>) -> Self {
        self.span = Some(span);
        self.label = Some(label.into());
        self
    }

    pub fn pointer(mut self, pointer: impl Into<String>) -> Self {
        self.pointer = Some(pointer.into());
        self
    }

    pub fn help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

    /// Appends a paragraph to the help text.
    pub fn add_help(mut self, more: impl AsRef<str>) -> Self {
        let more = more.as_ref();
        self.help = Some(match self.help.take() {
            Some(h) => format!("{h}\n{more}"),
            None => more.to_string(),
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

/// Where checks put their findings. Collecting in a plain vector keeps checks free of I/O.
#[derive(Debug, Default)]
pub struct Sink {
    diagnostics: Vec<Diagnostic>,
}

impl Sink {
    pub fn push(&mut self, diagnostic: Diagnostic) {
        self.diagnostics.push(diagnostic);
    }

    pub fn len(&self) -> usize {
        self.diagnostics.len()
    }

    pub fn extend(&mut self, diagnostics: impl IntoIterator<Item = Diagnostic>) {
        self.diagnostics.extend(diagnostics);
    }

    /// Adds a check's collected findings after those already here, in order, without holding
    /// two copies of the larger list at once (issue #11: 100,000 findings).
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

    static CODE: Code = Code {
        id: "test/order",
        severity: Severity::Warning,
        fix: None,
        summary: "",
        explain: "",
    };

    fn messages(list: &[Diagnostic]) -> Vec<&str> {
        list.iter().map(|d| d.message.as_str()).collect()
    }

    fn found(names: &[&str]) -> Vec<Diagnostic> {
        names
            .iter()
            .map(|n| Diagnostic::new(&CODE, Effect::None, *n))
            .collect()
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
}

//! `--format json`: the instar-doctor/v1 document (design.md §3, schema in schema/).

use std::io::Write;
use std::path::Path;

use serde::ser::{SerializeSeq, Serializer};
use serde::Serialize;

use crate::diag::{Diagnostic, Pointer, Severity, Text};
use crate::engine::{Context, Report};
use crate::json::line_col;
use crate::line_index::LineFinder;

pub const SCHEMA_ID: &str = "instar-doctor/v1";

#[derive(Serialize)]
pub struct Document<'a> {
    pub schema: &'static str,
    pub version: &'static str,
    pub project_dir: Option<String>,
    pub instar_version: Option<String>,
    pub instar_version_source: Option<&'static str>,
    pub checks: Vec<CheckOut>,
    pub diagnostics: Findings<'a>,
    pub summary: Summary,
    pub exit_code: u8,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<ErrorOut>,
}

#[derive(Serialize)]
pub struct CheckOut {
    pub id: &'static str,
    pub status: &'static str,
    pub duration_ms: f64,
}

#[derive(Serialize)]
pub struct SpanOut {
    pub start: usize,
    pub end: usize,
}

#[derive(Serialize)]
pub struct Pos {
    pub line: usize,
    pub column: usize,
}

#[derive(Serialize)]
pub struct FixOut<'o> {
    pub applicability: &'static str,
    pub title: &'o str,
    pub status: &'static str,
}

/// A finding in its v1 shape. It borrows the finding's texts, which were scrubbed when the
/// finding was collected (`engine::scrub_findings`): nothing is copied per finding.
#[derive(Serialize)]
pub struct DiagnosticOut<'o> {
    pub code: &'static str,
    pub check: &'static str,
    pub severity: &'static str,
    pub message: &'o Text,
    pub help: Option<&'o str>,
    pub file: Option<&'o str>,
    pub span: Option<SpanOut>,
    pub start: Option<Pos>,
    pub end: Option<Pos>,
    pub pointer: Option<&'o Pointer>,
    pub instar_effect: &'static str,
    pub fix: Option<FixOut<'o>>,
}

#[derive(Serialize, Default)]
pub struct Summary {
    pub errors: usize,
    pub warnings: usize,
    pub infos: usize,
    pub fixed: usize,
}

#[derive(Serialize)]
pub struct ErrorOut {
    pub message: String,
}

pub fn document<'a>(cx: &'a Context, report: &'a Report, exit_code: u8) -> Document<'a> {
    document_after_fix(cx, report, &[], exit_code)
}

/// The document of a fix run: what remains after the final re-check, then each handled finding
/// with its `fix.status` (applied, declined, failed). `summary.fixed` counts the applied ones.
pub fn document_after_fix<'a>(
    cx: &'a Context,
    report: &'a Report,
    handled: &'a [Diagnostic],
    exit_code: u8,
) -> Document<'a> {
    Document {
        schema: SCHEMA_ID,
        version: env!("CARGO_PKG_VERSION"),
        project_dir: Some(cx.project_dir.to_string_lossy().into_owned()),
        instar_version: Some(cx.version.to_string()),
        instar_version_source: Some(cx.version_source.as_str()),
        checks: report
            .checks
            .iter()
            .map(|c| CheckOut {
                id: c.id,
                status: c.status.as_str(),
                duration_ms: (c.duration_ms * 1000.0).round() / 1000.0,
            })
            .collect(),
        diagnostics: Findings::new(cx, &report.diagnostics, handled),
        summary: Summary {
            errors: report.count(Severity::Error),
            warnings: report.count(Severity::Warning),
            infos: report.count(Severity::Info),
            fixed: handled
                .iter()
                .filter(|d| d.fix_status == crate::diag::FixStatus::Applied)
                .count(),
        },
        exit_code,
        error: crashed_message(report),
    }
}

/// A document's findings, turned into their v1 shape one at a time as a renderer writes them:
/// a report of 100,000 findings never exists twice in memory (issue #11). Serialises as the
/// `diagnostics` array.
pub struct Findings<'a> {
    run: Option<FindingsOf<'a>>,
}

struct FindingsOf<'a> {
    cx: &'a Context,
    /// What remains: spans and positions point into the files as they are now.
    placed: &'a [Diagnostic],
    /// Handled by a fix run: their files changed since, so no span or position.
    unplaced: &'a [Diagnostic],
}

impl<'a> Findings<'a> {
    pub fn new(cx: &'a Context, placed: &'a [Diagnostic], unplaced: &'a [Diagnostic]) -> Self {
        Findings {
            run: Some(FindingsOf {
                cx,
                placed,
                unplaced,
            }),
        }
    }

    /// No findings (a run that gave no answer).
    pub fn none() -> Self {
        Findings { run: None }
    }

    pub fn len(&self) -> usize {
        self.run
            .as_ref()
            .map_or(0, |r| r.placed.len() + r.unplaced.len())
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The run's context, when there was a run.
    pub fn context(&self) -> Option<&'a Context> {
        self.run.as_ref().map(|r| r.cx)
    }

    /// The findings as the checks gave them, in document order (cheap: nothing is rendered).
    pub fn raw(&self) -> impl Iterator<Item = &'a Diagnostic> + '_ {
        self.run
            .iter()
            .flat_map(|r| r.placed.iter().chain(r.unplaced.iter()))
    }

    /// Calls `f` with each finding kept by `keep` and its v1 shape, in document order, until
    /// `f` fails.
    pub fn try_for_each<E>(
        &self,
        keep: impl Fn(&Diagnostic) -> bool,
        mut f: impl FnMut(&'a Diagnostic, DiagnosticOut<'_>) -> Result<(), E>,
    ) -> Result<(), E> {
        let Some(run) = &self.run else {
            return Ok(());
        };
        // Findings come file by file: what a file needs is found when the file changes.
        let mut file: Option<FileView<'a>> = None;
        let placed = run.placed.iter().map(|d| (d, true));
        let unplaced = run.unplaced.iter().map(|d| (d, false));
        for (d, placed) in placed.chain(unplaced).filter(|(d, _)| keep(d)) {
            let view = match d.file.as_deref() {
                Some(path) => {
                    if file.as_ref().is_none_or(|v| !v.is(path)) {
                        file = Some(FileView::new(run.cx, path));
                    }
                    file.as_mut()
                }
                None => None,
            };
            f(d, diagnostic(d, view, placed))?;
        }
        Ok(())
    }
}

/// The file of the findings being written: its path as shown, and its bytes for their
/// positions, whose lines a `LineFinder` finds near the last ones asked (the findings come in
/// file order), with no index of the whole file unless they do not.
struct FileView<'a> {
    path: &'a Path,
    shown: String,
    bytes: Option<crate::source::Bytes>,
    lines: LineFinder,
}

impl<'a> FileView<'a> {
    fn new(cx: &Context, path: &'a Path) -> Self {
        FileView {
            path,
            shown: cx.display_path(path),
            bytes: cx.bytes_of(path),
            lines: LineFinder::default(),
        }
    }

    fn is(&self, path: &Path) -> bool {
        self.path.as_os_str() == path.as_os_str()
    }

    /// 1-based line and column (Unicode scalar values, U+FFFD per invalid sequence, BOM not
    /// counted) of each end of a span: the line by the finder, the column by `json::line_col`
    /// on that line's own bytes.
    fn positions(&mut self, span: &std::ops::Range<usize>) -> (Option<Pos>, Option<Pos>) {
        let Some(bytes) = &self.bytes else {
            return (None, None);
        };
        let lines = &mut self.lines;
        let mut pos = |offset: usize| {
            let line = lines.line_of(bytes, offset);
            position(bytes, line, lines.line_start(bytes, offset), offset)
        };
        (Some(pos(span.start)), Some(pos(span.end)))
    }
}

/// The position of `offset` (cut to the file's length) on `line`, which starts at
/// `line_start`.
fn position(bytes: &[u8], line: usize, line_start: usize, offset: usize) -> Pos {
    let offset = offset.min(bytes.len());
    let column = if line_start == 0 {
        line_col(bytes, offset).1
    } else {
        line_col(&bytes[line_start..], offset - line_start).1
    };
    Pos {
        line: line + 1,
        column,
    }
}

impl Serialize for Findings<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut seq = serializer.serialize_seq(Some(self.len()))?;
        self.try_for_each(|_| true, |_, out| seq.serialize_element(&out))?;
        seq.end()
    }
}

/// A crashed check means no answer (exit 2): say which, so the document explains the code.
fn crashed_message(report: &Report) -> Option<ErrorOut> {
    let crashed: Vec<&str> = report
        .checks
        .iter()
        .filter(|c| c.status == crate::engine::CheckStatus::Crashed)
        .map(|c| c.id)
        .collect();
    (!crashed.is_empty()).then(|| ErrorOut {
        message: format!(
            "the {} check crashed (a doctor bug); its findings are incomplete",
            crashed.join(", ")
        ),
    })
}

/// A finding in its v1 shape. `placed`: its span still points into its file as it is now;
/// a finding handled by a fix run (its file changed since) gets no span and no position.
fn diagnostic<'o>(
    d: &'o Diagnostic,
    mut file: Option<&'o mut FileView<'_>>,
    placed: bool,
) -> DiagnosticOut<'o> {
    let (start, end) = match (file.as_deref_mut(), &d.span) {
        (Some(file), Some(span)) if placed => file.positions(span),
        _ => (None, None),
    };
    DiagnosticOut {
        code: d.code.id,
        check: d.code.check(),
        severity: d.severity.as_str(),
        message: &d.message,
        help: d.help.as_deref(),
        file: file.map(|f| f.shown.as_str()),
        span: d.span.as_ref().filter(|_| placed).map(|s| SpanOut {
            start: s.start,
            end: s.end,
        }),
        start,
        end,
        pointer: d.pointer.as_ref(),
        instar_effect: d.effect.as_str(),
        fix: d.fix.as_ref().map(|f| FixOut {
            applicability: f.applicability().as_str(),
            title: f.title(),
            status: d.fix_status.as_str(),
        }),
    }
}

/// The document for a run that could not give an answer (exit 2).
pub fn failure(message: &str, project_dir: Option<&Path>) -> Document<'static> {
    Document {
        schema: SCHEMA_ID,
        version: env!("CARGO_PKG_VERSION"),
        project_dir: project_dir.map(|p| p.to_string_lossy().into_owned()),
        instar_version: None,
        instar_version_source: None,
        checks: Vec::new(),
        diagnostics: Findings::none(),
        summary: Summary::default(),
        exit_code: crate::exit::FAILURE,
        error: Some(ErrorOut {
            message: message.to_string(),
        }),
    }
}

/// Writes the document to `out` as it is rendered, one finding at a time.
pub fn write(doc: &Document, out: &mut dyn Write) -> std::io::Result<()> {
    super::stream::write_pretty(doc, out)
}

pub fn to_string(doc: &Document) -> String {
    super::stream::written(|text| write(doc, text))
}

//! `--format json`: the instar-doctor/v1 document (design.md §3, schema in schema/).

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use serde::Serialize;

use super::Sources;
use crate::diag::{Diagnostic, Severity};
use crate::engine::{Context, Report};
use crate::json::line_col;

pub const SCHEMA_ID: &str = "instar-doctor/v1";

#[derive(Serialize)]
pub struct Document {
    pub schema: &'static str,
    pub version: &'static str,
    pub project_dir: Option<String>,
    pub instar_version: Option<String>,
    pub instar_version_source: Option<&'static str>,
    pub checks: Vec<CheckOut>,
    pub diagnostics: Vec<DiagnosticOut>,
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
pub struct FixOut {
    pub applicability: &'static str,
    pub title: String,
    pub status: &'static str,
}

#[derive(Serialize)]
pub struct DiagnosticOut {
    pub code: &'static str,
    pub check: &'static str,
    pub severity: &'static str,
    pub message: String,
    pub help: Option<String>,
    pub file: Option<String>,
    pub span: Option<SpanOut>,
    pub start: Option<Pos>,
    pub end: Option<Pos>,
    pub pointer: Option<String>,
    pub instar_effect: &'static str,
    pub fix: Option<FixOut>,
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

/// Newline offsets of a file, computed once so that many findings in a large file stay cheap.
struct LineIndex {
    newlines: Vec<usize>,
}

impl LineIndex {
    fn new(bytes: &[u8]) -> Self {
        LineIndex {
            newlines: bytes
                .iter()
                .enumerate()
                .filter(|(_, b)| **b == b'\n')
                .map(|(i, _)| i)
                .collect(),
        }
    }

    /// 1-based line and column (Unicode scalar values, U+FFFD per invalid sequence, BOM not
    /// counted), by delegating the column to `json::line_col` on the line's own bytes.
    fn position(&self, bytes: &[u8], offset: usize) -> Pos {
        let offset = offset.min(bytes.len());
        let line_index = self.newlines.partition_point(|nl| *nl < offset);
        let line_start = if line_index == 0 {
            0
        } else {
            self.newlines[line_index - 1] + 1
        };
        let column = if line_start == 0 {
            line_col(bytes, offset).1
        } else {
            line_col(&bytes[line_start..], offset - line_start).1
        };
        Pos {
            line: line_index + 1,
            column,
        }
    }
}

pub fn document(cx: &Context, report: &Report, exit_code: u8) -> Document {
    document_after_fix(cx, report, &[], exit_code)
}

/// The document of a fix run: what remains after the final re-check, then each handled finding
/// with its `fix.status` (applied, declined, failed). `summary.fixed` counts the applied ones.
pub fn document_after_fix(
    cx: &Context,
    report: &Report,
    handled: &[Diagnostic],
    exit_code: u8,
) -> Document {
    let mut indexes: HashMap<PathBuf, LineIndex> = HashMap::new();
    let mut sources = Sources::default();
    let mut diagnostics: Vec<DiagnosticOut> = report
        .diagnostics
        .iter()
        .map(|d| diagnostic(cx, d, &mut indexes, &mut sources))
        .collect();
    diagnostics.extend(
        handled
            .iter()
            .map(|d| diagnostic_unplaced(cx, d, &mut sources)),
    );
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
        diagnostics,
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

/// A handled finding: its file has changed since, so its old span and position are not given.
fn diagnostic_unplaced(cx: &Context, d: &Diagnostic, sources: &mut Sources) -> DiagnosticOut {
    let mut out = diagnostic_at(cx, d, (None, None), sources, false);
    out.span = None;
    out
}

fn diagnostic(
    cx: &Context,
    d: &Diagnostic,
    indexes: &mut HashMap<PathBuf, LineIndex>,
    sources: &mut Sources,
) -> DiagnosticOut {
    let positions = match (&d.file, &d.span) {
        (Some(file), Some(span)) => positions(cx, file, span, indexes),
        _ => (None, None),
    };
    diagnostic_at(cx, d, positions, sources, true)
}

/// `placed`: the finding's spans point into the file as it is now (see `Sources::scrub`).
fn diagnostic_at(
    cx: &Context,
    d: &Diagnostic,
    (start, end): (Option<Pos>, Option<Pos>),
    sources: &mut Sources,
    placed: bool,
) -> DiagnosticOut {
    DiagnosticOut {
        code: d.code.id,
        check: d.code.check(),
        severity: d.severity.as_str(),
        message: sources.scrub(cx, d, &d.message, placed),
        help: d.help.as_ref().map(|h| sources.scrub(cx, d, h, placed)),
        file: d.file.as_ref().map(|f| sources.display(cx, f)),
        span: d.span.as_ref().map(|s| SpanOut {
            start: s.start,
            end: s.end,
        }),
        start,
        end,
        pointer: d.pointer.clone(),
        instar_effect: d.effect.as_str(),
        fix: d.fix.as_ref().map(|f| FixOut {
            applicability: f.applicability().as_str(),
            title: sources.scrub(cx, d, f.title(), placed),
            status: d.fix_status.as_str(),
        }),
    }
}

fn positions(
    cx: &Context,
    file: &Path,
    span: &std::ops::Range<usize>,
    indexes: &mut HashMap<PathBuf, LineIndex>,
) -> (Option<Pos>, Option<Pos>) {
    let Some(bytes) = cx.bytes_of(file) else {
        return (None, None);
    };
    let index = indexes
        .entry(file.to_path_buf())
        .or_insert_with(|| LineIndex::new(&bytes));
    (
        Some(index.position(&bytes, span.start)),
        Some(index.position(&bytes, span.end)),
    )
}

/// The document for a run that could not give an answer (exit 2).
pub fn failure(message: &str, project_dir: Option<&Path>) -> Document {
    Document {
        schema: SCHEMA_ID,
        version: env!("CARGO_PKG_VERSION"),
        project_dir: project_dir.map(|p| p.to_string_lossy().into_owned()),
        instar_version: None,
        instar_version_source: None,
        checks: Vec::new(),
        diagnostics: Vec::new(),
        summary: Summary::default(),
        exit_code: crate::exit::FAILURE,
        error: Some(ErrorOut {
            message: message.to_string(),
        }),
    }
}

pub fn to_string(doc: &Document) -> String {
    let mut text = serde_json::to_string_pretty(doc).unwrap_or_else(|e| {
        format!("{{\"schema\":\"{SCHEMA_ID}\",\"error\":{{\"message\":\"serialisation failed: {e}\"}}}}")
    });
    text.push('\n');
    text
}

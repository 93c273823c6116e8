//! The two compact views of a report (issue #11, as ruff and eslint offer them):
//! `--format concise`, one line per finding (`path:line:col: error[code] message`), which
//! editors and `grep` read; and `--statistics`, one line per code with how many findings each
//! fix level clears. Both end with the same summary lines as the full report; concise with
//! `-q` prints the findings that fail the run and the command that clears them.

use crate::diag::{Diagnostic, Severity};
use crate::engine::{Context, Report};
use crate::fix::Applicability;

use super::human::{self, HumanOptions};
use super::Sources;

/// Every finding on one line, errors first, then the summary (unless `-q`).
pub fn render(cx: &Context, report: &Report, opts: &HumanOptions) -> String {
    let mut sources = Sources::default();
    let paths = opts.human_paths(cx);
    let mut out = String::new();
    for severity in [Severity::Error, Severity::Warning, Severity::Info] {
        if opts.quiet && severity < opts.threshold {
            continue;
        }
        for d in report.diagnostics.iter().filter(|d| d.severity == severity) {
            out.push_str(&line(cx, &mut sources, d, &paths));
            out.push('\n');
        }
    }
    if opts.quiet {
        // Quiet still names the command that clears what fails the run: the pre-push hook
        // shows exactly this.
        let command = opts
            .command
            .clone()
            .unwrap_or_else(|| super::fix_summary::command(paths.dir_argument().as_deref()));
        if let Some(hint) = super::fix_summary::hint(&report.diagnostics, opts.threshold, &command)
        {
            if report
                .diagnostics
                .iter()
                .any(|d| d.severity >= opts.threshold)
            {
                out.push_str(&hint);
                out.push('\n');
            }
        }
    } else {
        out.push_str(&human::closing(cx, report, opts));
    }
    out
}

fn line(
    cx: &Context,
    sources: &mut Sources,
    d: &Diagnostic,
    paths: &super::paths::HumanPaths,
) -> String {
    let place = human::location(cx, sources, d, paths).unwrap_or_else(|| paths.project());
    let message = paths.text(&d.message.as_cow());
    // One finding, one line: a message that spans lines is joined.
    let message = super::escape::escape_controls(&message.replace('\n', " ")).into_owned();
    format!("{place}: {}[{}] {message}", d.severity.as_str(), d.code.id)
}

/// One line per code, most frequent first: how many, the severity, and how many of them
/// `--fix`, `--unsafe-fixes` and a manual step clear (`none`: no fix at all).
pub fn statistics(cx: &Context, report: &Report, opts: &HumanOptions) -> String {
    #[derive(Default)]
    struct Row {
        count: usize,
        severity: Option<Severity>,
        safe: usize,
        unsafe_: usize,
        manual: usize,
        none: usize,
    }
    let mut rows: Vec<(&'static str, Row)> = Vec::new();
    let mut at = std::collections::HashMap::new();
    for d in &report.diagnostics {
        if opts.quiet && d.severity < opts.threshold {
            continue;
        }
        let i = *at.entry(d.code.id).or_insert_with(|| {
            rows.push((d.code.id, Row::default()));
            rows.len() - 1
        });
        let row = &mut rows[i].1;
        row.count += 1;
        row.severity = row.severity.max(Some(d.severity));
        match d.fix.as_ref().map(|f| f.applicability()) {
            Some(Applicability::Safe) => row.safe += 1,
            Some(Applicability::Unsafe) => row.unsafe_ += 1,
            Some(Applicability::Manual) => row.manual += 1,
            None => row.none += 1,
        }
    }
    // Stable: equal counts keep report order (areas in table order).
    rows.sort_by(|a, b| {
        b.1.severity
            .cmp(&a.1.severity)
            .then(b.1.count.cmp(&a.1.count))
    });
    let code_width = rows.iter().map(|(c, _)| c.len()).max().unwrap_or(4).max(4);
    let mut out = format!(
        "{:>5}  {:<8} {:<code_width$}  {:>5}  {:>14}  {:>6}  {:>4}\n",
        "count", "severity", "code", "--fix", "--unsafe-fixes", "manual", "none"
    );
    for (code, row) in &rows {
        out.push_str(&format!(
            "{:>5}  {:<8} {:<code_width$}  {:>5}  {:>14}  {:>6}  {:>4}\n",
            row.count,
            row.severity.map(Severity::as_str).unwrap_or_default(),
            code,
            row.safe,
            row.unsafe_,
            row.manual,
            row.none
        ));
    }
    if !opts.quiet {
        out.push('\n');
        out.push_str(&human::closing(cx, report, opts));
    }
    out
}

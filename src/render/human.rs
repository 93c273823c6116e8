//! The human report: rustc-style diagnostics drawn by miette, then a one-line summary.

use std::fmt;

use miette::{GraphicalReportHandler, GraphicalTheme, LabeledSpan, SourceCode};
use owo_colors::OwoColorize;

use crate::diag::{Diagnostic, Severity};
use crate::engine::{Context, Report};
use crate::fix::Applicability;

use super::snippet::Snippet;
use super::Sources;

pub struct HumanOptions {
    pub color: bool,
    pub width: usize,
    /// Only findings at or above the threshold, no summary.
    pub quiet: bool,
    /// Also passing checks and timings.
    pub verbose: bool,
    pub threshold: Severity,
    /// On a terminal: end with the hint naming --diff, --fix and -i.
    pub hint: bool,
}

/// A diagnostic as miette wants to see it, with its window of source.
struct View {
    message: String,
    code: String,
    severity: miette::Severity,
    help: Option<String>,
    snippet: Option<Snippet>,
    labels: Vec<LabeledSpan>,
    related: Vec<View>,
}

impl fmt::Debug for View {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl fmt::Display for View {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for View {}

impl miette::Diagnostic for View {
    fn code<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        (!self.code.is_empty()).then(|| Box::new(&self.code) as Box<dyn fmt::Display>)
    }

    fn severity(&self) -> Option<miette::Severity> {
        Some(self.severity)
    }

    fn help<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        self.help
            .as_ref()
            .map(|h| Box::new(h) as Box<dyn fmt::Display>)
    }

    fn source_code(&self) -> Option<&dyn SourceCode> {
        self.snippet.as_ref().map(|s| s as &dyn SourceCode)
    }

    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        if self.labels.is_empty() {
            None
        } else {
            Some(Box::new(self.labels.iter().cloned()))
        }
    }

    fn related<'a>(&'a self) -> Option<Box<dyn Iterator<Item = &'a dyn miette::Diagnostic> + 'a>> {
        if self.related.is_empty() {
            None
        } else {
            Some(Box::new(
                self.related.iter().map(|r| r as &dyn miette::Diagnostic),
            ))
        }
    }
}

fn miette_severity(severity: Severity) -> miette::Severity {
    match severity {
        Severity::Error => miette::Severity::Error,
        Severity::Warning => miette::Severity::Warning,
        Severity::Info => miette::Severity::Advice,
    }
}

/// Help text plus the proposed fix, as shown under the snippet. Secrets are scrubbed here too:
/// help and messages may quote values.
fn help_text(d: &Diagnostic) -> Option<String> {
    let mut parts = Vec::new();
    if let Some(help) = &d.help {
        parts.push(help.clone());
    }
    if let Some(fix) = &d.fix {
        let how = match fix.applicability {
            Applicability::Safe => "fix (safe, --fix)",
            Applicability::Unsafe => "fix (unsafe, --fix --unsafe-fixes)",
            Applicability::Manual => "fix (manual)",
        };
        parts.push(format!("{how}: {}", fix.title));
    }
    (!parts.is_empty()).then(|| parts.join("\n"))
}

fn view(cx: &Context, sources: &mut Sources, d: &Diagnostic) -> View {
    let mut labels = Vec::new();
    let mut related = Vec::new();
    let mut snippet = None;
    if let (Some(file), Some(span)) = (&d.file, &d.span) {
        if let Some((bytes, secrets)) = sources.get(cx, file) {
            let same_file: Vec<_> = d
                .secondary
                .iter()
                .filter(|l| &l.file == file && l.span.is_some())
                .collect();
            let mut focus = vec![span.clone()];
            focus.extend(same_file.iter().filter_map(|l| l.span.clone()));
            let snip = Snippet::build(cx.display_path(file), &bytes, &secrets, &focus);
            labels.push(LabeledSpan::new_primary_with_span(
                d.label.as_ref().map(|l| sources.scrub(cx, d, l, true)),
                snip.map_span(span),
            ));
            for label in same_file {
                if let Some(s) = &label.span {
                    labels.push(LabeledSpan::new_with_span(
                        Some(sources.scrub(cx, d, &label.message, true)),
                        snip.map_span(s),
                    ));
                }
            }
            snippet = Some(snip);
        }
    }
    for label in d
        .secondary
        .iter()
        .filter(|l| Some(&l.file) != d.file.as_ref())
    {
        // miette heads a related report with its severity ("Advice:") and code: the file name
        // reads well there, the label's text below it.
        let mut rel = View {
            message: sources.scrub(cx, d, &label.message, true),
            code: format!("also in {}", cx.display_path(&label.file)),
            severity: miette::Severity::Advice,
            help: None,
            snippet: None,
            labels: Vec::new(),
            related: Vec::new(),
        };
        if let (Some(span), Some((bytes, secrets))) = (&label.span, sources.get(cx, &label.file)) {
            let snip = Snippet::build(
                cx.display_path(&label.file),
                &bytes,
                &secrets,
                std::slice::from_ref(span),
            );
            rel.labels.push(LabeledSpan::new_primary_with_span(
                Some(rel.message.clone()),
                snip.map_span(span),
            ));
            rel.snippet = Some(snip);
        }
        related.push(rel);
    }
    let message = match (&d.file, &d.span) {
        (Some(file), None) if !d.message.contains(&cx.display_path(file)) => {
            format!("{} ({})", d.message, cx.display_path(file))
        }
        _ => d.message.clone(),
    };
    View {
        message: sources.scrub(cx, d, &message, true),
        code: d.code.id.to_string(),
        severity: miette_severity(d.severity),
        help: help_text(d).map(|h| sources.scrub(cx, d, &h, true)),
        snippet,
        labels,
        related,
    }
}

/// Renders one diagnostic (used by the snapshot tests as well as the report).
pub fn render_diagnostic(
    cx: &Context,
    sources: &mut Sources,
    d: &Diagnostic,
    opts: &HumanOptions,
) -> String {
    let theme = if opts.color {
        GraphicalTheme::unicode()
    } else {
        GraphicalTheme::unicode_nocolor()
    };
    let handler = GraphicalReportHandler::new_themed(theme)
        .with_width(opts.width)
        .with_context_lines(2)
        .with_links(false);
    let view = view(cx, sources, d);
    let mut out = String::new();
    if handler.render_report(&mut out, &view).is_err() {
        out = format!("{}: {} [{}]\n", d.severity, view.message, d.code.id);
    }
    out
}

/// The findings a fix run handled, one line each, and how to undo the run.
pub fn render_fixed(cx: &Context, handled: &[Diagnostic], run_id: Option<&str>) -> String {
    let mut sources = Sources::default();
    let mut out = String::new();
    for d in handled {
        let mark = match d.fix_status {
            crate::diag::FixStatus::Applied => "fixed",
            crate::diag::FixStatus::Declined => "declined",
            crate::diag::FixStatus::Failed => "failed",
            crate::diag::FixStatus::Proposed => continue,
        };
        let title = d.fix.as_ref().map(|f| f.title.as_str()).unwrap_or_default();
        let file = d
            .file
            .as_deref()
            .map(|f| cx.display_path(f))
            .unwrap_or_default();
        // The file has changed since the finding: any of its secrets may be the one quoted.
        out.push_str(&sources.scrub(
            cx,
            d,
            &format!("{mark}: {} {file}: {title}\n", d.code.id),
            false,
        ));
    }
    if let Some(run) = run_id {
        out.push_str(&format!(
            "backups in .instar/doctor/runs/{run}/ — `instar-doctor undo` restores them\n\n"
        ));
    }
    out
}

pub fn render(cx: &Context, report: &Report, opts: &HumanOptions) -> String {
    let mut sources = Sources::default();
    let mut out = String::new();
    for d in &report.diagnostics {
        if opts.quiet && d.severity < opts.threshold {
            continue;
        }
        out.push_str(&render_diagnostic(cx, &mut sources, d, opts));
        out.push('\n');
    }
    if opts.quiet {
        return out;
    }
    if opts.verbose {
        for check in &report.checks {
            out.push_str(&format!(
                "check {:<10} {:<8} {:.2} ms\n",
                check.id,
                check.status.as_str(),
                check.duration_ms
            ));
        }
    }
    out.push_str(&summary_line(cx, report, opts.color));
    out.push('\n');
    let fixable = report.diagnostics.iter().any(|d| {
        d.fix
            .as_ref()
            .is_some_and(|f| f.applicability != Applicability::Manual)
    });
    if opts.hint && fixable {
        out.push_str("hint: `instar-doctor --diff` previews the fixes, `--fix` applies the safe ones, `-i` asks for each\n");
    }
    out
}

fn summary_line(cx: &Context, report: &Report, color: bool) -> String {
    let errors = report.count(Severity::Error);
    let warnings = report.count(Severity::Warning);
    let infos = report.count(Severity::Info);
    let plural = |n: usize, word: &str| format!("{n} {word}{}", if n == 1 { "" } else { "s" });
    let counts = format!(
        "{}, {}, {}",
        plural(errors, "error"),
        plural(warnings, "warning"),
        plural(infos, "info")
    );
    let verdict = if errors > 0 {
        if color {
            "✗ unhealthy".red().bold().to_string()
        } else {
            "✗ unhealthy".to_string()
        }
    } else if warnings > 0 {
        if color {
            "! warnings".yellow().bold().to_string()
        } else {
            "! warnings".to_string()
        }
    } else if color {
        "✓ healthy".green().bold().to_string()
    } else {
        "✓ healthy".to_string()
    };
    format!(
        "{verdict}: {counts} — {} (instar {} rules, {})",
        cx.project_dir.display(),
        cx.version,
        cx.version_source.as_str()
    )
}

//! The human report: rustc-style diagnostics drawn by miette, then a one-line summary.

use std::fmt;
use std::path::PathBuf;

use miette::{GraphicalReportHandler, GraphicalTheme, LabeledSpan, SourceCode};
use owo_colors::OwoColorize;

use crate::diag::{Diagnostic, Label, Severity};
use crate::engine::{Context, Report};
use crate::fix::Applicability;

use super::paths::HumanPaths;
use super::snippet::Snippet;
use super::Sources;

#[derive(Clone)]
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
    /// The working directory paths are shown relative to (design §8); `None` shows them as the
    /// report holds them.
    pub cwd: Option<PathBuf>,
    /// The command that checks this again, which the hint extends with `--fix`; `None`:
    /// `instar-doctor`, with `--dir` when the agent is not the working directory.
    pub command: Option<String>,
}

impl HumanOptions {
    fn paths(&self, cx: &Context) -> HumanPaths {
        HumanPaths::new(self.cwd.clone(), &cx.project_dir)
    }

    pub fn human_paths(&self, cx: &Context) -> HumanPaths {
        self.paths(cx)
    }
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

/// Text a finding carries may quote its file: control characters are shown escaped, never sent
/// to the terminal (render::escape).
fn shown(text: String) -> String {
    match super::escape::escape_controls(&text) {
        std::borrow::Cow::Borrowed(_) => text,
        std::borrow::Cow::Owned(escaped) => escaped,
    }
}

/// Help text plus the proposed fix, as shown under the snippet.
fn help_text(d: &Diagnostic) -> Option<String> {
    let mut parts: Vec<String> = Vec::new();
    if let Some(help) = &d.help {
        parts.push(help.to_string());
    }
    if let Some(fix) = &d.fix {
        let how = match fix.applicability() {
            Applicability::Safe => "fix (safe, --fix)",
            Applicability::Unsafe => "fix (unsafe, --fix --unsafe-fixes)",
            Applicability::Manual => "fix (manual)",
        };
        parts.push(format!("{how}: {}", fix.title()));
    }
    (!parts.is_empty()).then(|| parts.join("\n"))
}

/// A finding as miette draws it: its message and help (texts scrubbed when the finding was
/// collected, control characters shown escaped), its snippet with its labels in its own file,
/// and one related report per label in another file.
fn view(cx: &Context, sources: &mut Sources, d: &Diagnostic, paths: &HumanPaths) -> View {
    let (snippet, labels) = match primary(cx, sources, d, paths) {
        Some((snippet, labels)) => (Some(snippet), labels),
        None => (None, Vec::new()),
    };
    let related = d
        .secondary
        .iter()
        .filter(|l| Some(l.file.as_path()) != d.file.as_deref())
        .map(|label| related(cx, sources, label, paths))
        .collect();
    let message = match (&d.file, &d.span) {
        (Some(file), None) if !d.message.contains(&cx.display_path(file)) => {
            format!("{} ({})", d.message, paths.path(file))
        }
        _ => d.message.to_string(),
    };
    View {
        message: shown(paths.text(&message)),
        code: format!("{}[{}]", d.severity.as_str(), d.code.id),
        severity: miette_severity(d.severity),
        help: help_text(d).map(|h| shown(paths.text(&h))),
        snippet,
        labels,
        related,
    }
}

/// The window of the finding's own file around its span and its labels in that file, with
/// those labels mapped into it; `None` for a finding without a span, or whose file was not read.
fn primary(
    cx: &Context,
    sources: &mut Sources,
    d: &Diagnostic,
    paths: &HumanPaths,
) -> Option<(Snippet, Vec<LabeledSpan>)> {
    let (file, span) = (d.file.as_ref()?, d.span.as_ref()?);
    let ((bytes, secrets), lines) = sources.finder(cx, file)?;
    let same_file: Vec<_> = d
        .secondary
        .iter()
        .filter(|l| *l.file == **file && l.span.is_some())
        .collect();
    let mut focus = vec![span.clone()];
    focus.extend(same_file.iter().filter_map(|l| l.span.clone()));
    let snip = Snippet::build(paths.path(file), &bytes, lines, &secrets, &focus);
    let mut labels = vec![LabeledSpan::new_primary_with_span(
        d.label.as_ref().map(|l| shown(l.to_string())),
        snip.map_span(span),
    )];
    for label in same_file {
        if let Some(s) = &label.span {
            labels.push(LabeledSpan::new_with_span(
                Some(shown(label.message.clone())),
                snip.map_span(s),
            ));
        }
    }
    Some((snip, labels))
}

/// A label in another file, as a related report: miette heads it with its severity
/// ("Advice:") and code, where the file name reads well, and the label's text below it, with
/// its own window when it has a span.
fn related(cx: &Context, sources: &mut Sources, label: &Label, paths: &HumanPaths) -> View {
    let mut rel = View {
        message: shown(label.message.clone()),
        code: format!("also in {}", paths.path(&label.file)),
        severity: miette::Severity::Advice,
        help: None,
        snippet: None,
        labels: Vec::new(),
        related: Vec::new(),
    };
    if let (Some(span), Some(((bytes, secrets), lines))) =
        (&label.span, sources.finder(cx, &label.file))
    {
        let snip = Snippet::build(
            paths.path(&label.file),
            &bytes,
            lines,
            &secrets,
            std::slice::from_ref(span),
        );
        rel.labels.push(LabeledSpan::new_primary_with_span(
            Some(rel.message.clone()),
            snip.map_span(span),
        ));
        rel.snippet = Some(snip);
    }
    rel
}

/// Renders one diagnostic (used by the snapshot tests, the `-i` prompt and `--diff`'s
/// preview); the report draws its findings through one `Drawer` instead.
pub fn render_diagnostic(
    cx: &Context,
    sources: &mut Sources,
    d: &Diagnostic,
    opts: &HumanOptions,
) -> String {
    let mut drawer = Drawer::new(cx, opts);
    drawer.draw(cx, sources, d);
    std::mem::take(&mut drawer.out)
}

/// miette's handler as the report configures it.
fn handler(opts: &HumanOptions) -> GraphicalReportHandler {
    let theme = if opts.color {
        GraphicalTheme::unicode()
    } else {
        GraphicalTheme::unicode_nocolor()
    };
    // Lines break at spaces only: a path, a command or a code is never cut (textwrap's default
    // splitter breaks at hyphens, `--unsafe-fixes` included); in a pipe nothing wraps.
    GraphicalReportHandler::new_themed(theme)
        .with_width(opts.width)
        .with_wrap_lines(opts.width < super::width::UNWRAPPED)
        .with_break_words(false)
        .with_word_separator(textwrap::WordSeparator::AsciiSpace)
        .with_word_splitter(textwrap::WordSplitter::NoHyphenation)
        .with_context_lines(2)
        .with_links(false)
}

/// Draws findings one after another with what they share made once: miette's handler and
/// theme, the paths' rules, and the buffer each diagnostic is drawn into before it is written
/// (`-v` draws 300,000 of them on a broken 100,000-job file: issue #11).
struct Drawer {
    handler: GraphicalReportHandler,
    paths: HumanPaths,
    /// The diagnostic just drawn; cleared before the next.
    out: String,
}

impl Drawer {
    fn new(cx: &Context, opts: &HumanOptions) -> Self {
        Drawer {
            handler: handler(opts),
            paths: opts.paths(cx),
            out: String::new(),
        }
    }

    /// Draws `d` into `self.out`, replacing what was there.
    fn draw(&mut self, cx: &Context, sources: &mut Sources, d: &Diagnostic) -> &str {
        self.out.clear();
        let view = view(cx, sources, d, &self.paths);
        if self.handler.render_report(&mut self.out, &view).is_err() {
            self.out.clear();
            self.out.push_str(&format!(
                "{}: {} [{}]\n",
                d.severity, view.message, d.code.id
            ));
        }
        &self.out
    }
}

/// The findings a fix run handled, one line each, and how to undo the run. After a few of one
/// code in one file with the same outcome, the rest are counted on one line (all of them with
/// `-v`, through `render_fixed_all`).
pub fn render_fixed(cx: &Context, handled: &[Diagnostic], run_id: Option<&str>) -> String {
    render_fixed_lines(cx, handled, run_id, false)
}

/// `render_fixed` with every line, for `-v`.
pub fn render_fixed_all(cx: &Context, handled: &[Diagnostic], run_id: Option<&str>) -> String {
    render_fixed_lines(cx, handled, run_id, true)
}

fn render_fixed_lines(
    cx: &Context,
    handled: &[Diagnostic],
    run_id: Option<&str>,
    all: bool,
) -> String {
    let mut out = String::new();
    type Group<'a> = (
        &'static str,
        Option<&'a std::path::Path>,
        crate::diag::FixStatus,
    );
    let mut totals: std::collections::HashMap<Group, usize> = std::collections::HashMap::new();
    for d in handled {
        *totals
            .entry((d.code.id, d.file.as_deref(), d.fix_status))
            .or_insert(0) += 1;
    }
    let mut seen: std::collections::HashMap<Group, usize> = std::collections::HashMap::new();
    for d in handled {
        let key = (d.code.id, d.file.as_deref(), d.fix_status);
        let total = totals[&key];
        let nth = seen.entry(key).or_insert(0);
        *nth += 1;
        let collapsible = d.fix_status != crate::diag::FixStatus::Proposed;
        if collapsible
            && !all
            && total > SHOWN_PER_CODE_AND_FILE + 1
            && *nth > SHOWN_PER_CODE_AND_FILE
        {
            if *nth == total {
                out.push_str(&format!(
                    "… {} more {} the same way ({} in {}; `-v` lists them)\n",
                    total - SHOWN_PER_CODE_AND_FILE,
                    d.code.id,
                    d.fix_status.as_str(),
                    d.file
                        .as_deref()
                        .map(|f| cx.display_path(f))
                        .unwrap_or_default()
                ));
            }
            continue;
        }
        let mark = match d.fix_status {
            crate::diag::FixStatus::Applied => "fixed",
            crate::diag::FixStatus::Declined => "declined",
            crate::diag::FixStatus::Failed => "failed",
            crate::diag::FixStatus::Proposed => continue,
        };
        let title = d.fix.as_ref().map(|f| f.title()).unwrap_or_default();
        let file = d
            .file
            .as_deref()
            .map(|f| cx.display_path(f))
            .unwrap_or_default();
        // The title was scrubbed when the finding was collected, while its spans still
        // pointed into the file (`engine::scrub_findings`).
        out.push_str(&shown(format!("{mark}: {} {file}: {title}\n", d.code.id)));
    }
    if let Some(run) = run_id {
        // A run recorded in the per-user instar home (not an agent's .instar/) is undone by
        // `undo --machine`, which takes instar's locks on those files.
        let machine = cx.instar_home().is_some_and(|home| home == cx.state_dir);
        let runs = cx.state_dir.join(crate::paths::DOCTOR_DIR).join("runs");
        out.push_str(&format!(
            "backups in {}/ — `instar-doctor undo{}` restores them\n\n",
            cx.display_path(&runs.join(run)),
            if machine { " --machine" } else { "" }
        ));
    }
    out
}

/// After this many findings of one code in one file, the rest collapse into one line (all of
/// them with `-v`): a jobs.json with 10,000 broken entries stays a report one can read.
pub const SHOWN_PER_CODE_AND_FILE: usize = 3;

/// The report as one string: `write` into memory (the snapshot tests, `scan`'s agents).
pub fn render(cx: &Context, report: &Report, opts: &HumanOptions) -> String {
    let mut out = Vec::new();
    write(cx, report, opts, &mut out).expect("writing to memory cannot fail");
    String::from_utf8(out).expect("the report is UTF-8: each piece is a &str")
}

/// The report: the overview (one line per area), then the errors, the warnings, the infos one
/// line each (in full with `-v`), then the summary, what the fixes would clear and, on a
/// terminal, the command that clears what fails the run (design §8 "The human report").
///
/// Written to `out` as it is drawn, one finding at a time: `-v` on 100,000 broken jobs is
/// over 500 MB of text, which was built whole before a byte was shown (issue #11). A failed
/// write (a closed pipe) stops the drawing.
pub fn write(
    cx: &Context,
    report: &Report,
    opts: &HumanOptions,
    out: &mut dyn std::io::Write,
) -> std::io::Result<()> {
    let mut sources = Sources::default();
    let mut drawer = Drawer::new(cx, opts);
    if opts.quiet {
        for severity in [Severity::Error, Severity::Warning, Severity::Info] {
            if severity < opts.threshold {
                continue;
            }
            for d in report.diagnostics.iter().filter(|d| d.severity == severity) {
                out.write_all(drawer.draw(cx, &mut sources, d).as_bytes())?;
                out.write_all(b"\n")?;
            }
        }
        return Ok(());
    }
    out.write_all(
        super::overview::render(
            report,
            opts.color,
            opts.width,
            cx.areas_run_once,
            cx.only_areas,
        )
        .as_bytes(),
    )?;
    out.write_all(b"\n")?;
    write_findings(cx, report, opts, &mut drawer, &mut sources, out)?;
    if opts.verbose {
        for check in &report.checks {
            writeln!(
                out,
                "check {:<10} {:<8} {:.2} ms",
                check.id,
                check.status.as_str(),
                check.duration_ms
            )?;
        }
    }
    out.write_all(closing(cx, report, opts).as_bytes())
}

/// The errors, then the warnings, drawn in full or collapsed; then the infos, one line each
/// unless `-v`.
fn write_findings(
    cx: &Context,
    report: &Report,
    opts: &HumanOptions,
    drawer: &mut Drawer,
    sources: &mut Sources,
    out: &mut dyn std::io::Write,
) -> std::io::Result<()> {
    let paths = opts.paths(cx);
    let mut collapse = Collapse::new(&report.diagnostics, opts.verbose);
    for severity in [Severity::Error, Severity::Warning] {
        for d in report.diagnostics.iter().filter(|d| d.severity == severity) {
            match collapse.next(d) {
                Shown::Full => {
                    out.write_all(drawer.draw(cx, sources, d).as_bytes())?;
                    out.write_all(b"\n")?;
                }
                Shown::Last(hidden) => {
                    out.write_all(drawer.draw(cx, sources, d).as_bytes())?;
                    out.write_all(collapsed_line(d, hidden, &paths, opts).as_bytes())?;
                    out.write_all(b"\n\n")?;
                }
                Shown::Hidden => {}
            }
        }
    }
    let mut infos = false;
    for d in report
        .diagnostics
        .iter()
        .filter(|d| d.severity == Severity::Info)
    {
        if opts.verbose {
            out.write_all(drawer.draw(cx, sources, d).as_bytes())?;
            out.write_all(b"\n")?;
            continue;
        }
        match collapse.next(d) {
            Shown::Full => out.write_all(one_line(cx, sources, d, &paths, opts).as_bytes())?,
            Shown::Last(hidden) => {
                out.write_all(one_line(cx, sources, d, &paths, opts).as_bytes())?;
                out.write_all(collapsed_line(d, hidden, &paths, opts).as_bytes())?;
                out.write_all(b"\n")?;
            }
            Shown::Hidden => {}
        }
        infos = true;
    }
    if infos {
        out.write_all(b"\n")?;
    }
    Ok(())
}

/// The lines every view ends with: the verdict and counts, what `--fix` and `--unsafe-fixes`
/// would clear, and on a terminal the command that clears what fails the run.
pub fn closing(cx: &Context, report: &Report, opts: &HumanOptions) -> String {
    let paths = opts.paths(cx);
    let mut out = super::width::wrap(&summary_line(cx, report, opts), opts.width, "", "  ");
    out.push('\n');
    let counts = super::fix_summary::FixCounts::of(&report.diagnostics);
    if let Some(line) = super::fix_summary::fixable_line(&counts, false) {
        out.push_str(&super::width::wrap(&line, opts.width, "", "  "));
        out.push('\n');
    }
    if opts.hint {
        let command = opts
            .command
            .clone()
            .unwrap_or_else(|| super::fix_summary::command(paths.dir_argument().as_deref()));
        if let Some(hint) = super::fix_summary::hint(&report.diagnostics, opts.threshold, &command)
        {
            out.push_str(&super::width::wrap(&hint, opts.width, "", "      "));
            out.push('\n');
        }
    }
    out
}

/// Whether a finding is drawn in full, drawn and followed by the line that stands for the rest
/// of its code in its file, or left to that line.
enum Shown {
    Full,
    Last(usize),
    Hidden,
}

/// Counts findings per code and file in one pass, so each group knows its size when its last
/// shown finding is drawn. Linear in the findings.
struct Collapse<'a> {
    totals: std::collections::HashMap<(&'static str, Option<&'a std::path::Path>), usize>,
    seen: std::collections::HashMap<(&'static str, Option<&'a std::path::Path>), usize>,
    all: bool,
}

impl<'a> Collapse<'a> {
    fn new(findings: &'a [Diagnostic], all: bool) -> Self {
        let mut totals = std::collections::HashMap::new();
        for d in findings {
            *totals.entry((d.code.id, d.file.as_deref())).or_insert(0) += 1;
        }
        Collapse {
            totals,
            seen: std::collections::HashMap::new(),
            all,
        }
    }

    fn next(&mut self, d: &'a Diagnostic) -> Shown {
        let key = (d.code.id, d.file.as_deref());
        let total = self.totals.get(&key).copied().unwrap_or(0);
        let seen = self.seen.entry(key).or_insert(0);
        *seen += 1;
        // A line that stands for a single finding would save nothing: show it instead.
        if self.all || total <= SHOWN_PER_CODE_AND_FILE + 1 || *seen < SHOWN_PER_CODE_AND_FILE {
            Shown::Full
        } else if *seen == SHOWN_PER_CODE_AND_FILE {
            Shown::Last(total - SHOWN_PER_CODE_AND_FILE)
        } else {
            Shown::Hidden
        }
    }
}

/// "… 17 more error[jobs/invalid-priority] in .instar/jobs.json (`-v` shows them all)".
fn collapsed_line(
    d: &Diagnostic,
    hidden: usize,
    paths: &HumanPaths,
    opts: &HumanOptions,
) -> String {
    let place = d
        .file
        .as_deref()
        .map(|f| format!(" in {}", paths.path(f)))
        .unwrap_or_default();
    let line = format!(
        "… {hidden} more {}[{}]{place} (`-v` shows them all, `--statistics` counts them)",
        d.severity.as_str(),
        d.code.id
    );
    super::width::wrap(&line, opts.width, "", "  ")
}

/// A finding on one line: `info[code]: message (path:line:col)`. What infos look like unless
/// `-v`: they say something may matter, not that something is wrong (design §8).
fn one_line(
    cx: &Context,
    sources: &mut Sources,
    d: &Diagnostic,
    paths: &HumanPaths,
    opts: &HumanOptions,
) -> String {
    let message = shown(paths.text(&d.message.as_cow()));
    // A message about a file as a whole usually names it already.
    let named = d.span.is_none()
        && d.file
            .as_deref()
            .is_some_and(|f| message.contains(&cx.display_path(f)));
    let place = match location(cx, sources, d, paths) {
        Some(place) if !named => format!(" ({place})"),
        _ => String::new(),
    };
    let head = format!("{}[{}]", d.severity.as_str(), d.code.id);
    let head = if opts.color {
        match d.severity {
            Severity::Error => head.red().bold().to_string(),
            Severity::Warning => head.yellow().bold().to_string(),
            Severity::Info => head.cyan().bold().to_string(),
        }
    } else {
        head
    };
    // The head is wrapped as a placeholder of its visible width, then swapped back, so colour
    // escapes never count as columns.
    let plain_head = format!("{}[{}]", d.severity.as_str(), d.code.id);
    let text = super::width::wrap(
        &format!("{plain_head}: {message}{place}"),
        opts.width,
        "",
        "    ",
    );
    format!("{}\n", text.replacen(&plain_head, &head, 1))
}

/// `path:line:col` of a finding (just `path` for a file as a whole), relative to the working
/// directory, as terminals and editors open it.
pub fn location(
    cx: &Context,
    sources: &mut Sources,
    d: &Diagnostic,
    paths: &HumanPaths,
) -> Option<String> {
    let file = d.file.as_deref()?;
    let shown = paths.path(file);
    let Some(span) = &d.span else {
        return Some(shown);
    };
    match sources.finder(cx, file) {
        Some(((bytes, _), lines)) => {
            let offset = span.start.min(bytes.len());
            let line = lines.line_of(&bytes, offset);
            let start = lines.line_start(&bytes, offset);
            let column = if start == 0 {
                crate::json::line_col(&bytes, offset).1
            } else {
                crate::json::line_col(&bytes[start..], offset - start).1
            };
            Some(format!("{shown}:{}:{column}", line + 1))
        }
        None => Some(shown),
    }
}

/// The headline's verdict. It follows the exit code, never the bare counts: a run that exits
/// 1 (findings at the `--fail-on` threshold) or 2 (a crashed check) must not read as healthy,
/// or a CI log says "healthy" above a red step.
fn verdict(report: &Report, threshold: Severity) -> (&'static str, Option<String>) {
    let crashed: Vec<&str> = report
        .checks
        .iter()
        .filter(|c| c.status == crate::engine::CheckStatus::Crashed)
        .map(|c| c.id)
        .collect();
    if !crashed.is_empty() {
        return (
            "✗ incomplete",
            Some(format!("the {} check crashed", crashed.join(", "))),
        );
    }
    let failing = report.diagnostics.iter().any(|d| d.severity >= threshold);
    if report.count(Severity::Error) > 0 {
        ("✗ unhealthy", None)
    } else if failing {
        // Below error only --fail-on warning or info can fail the run: say why it fails.
        (
            "✗ failing",
            Some(format!("--fail-on {}", threshold.as_str())),
        )
    } else if report.count(Severity::Warning) > 0 {
        ("! warnings", None)
    } else {
        ("✓ healthy", None)
    }
}

fn summary_line(cx: &Context, report: &Report, opts: &HumanOptions) -> String {
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
    let (word, why) = verdict(report, opts.threshold);
    let mut verdict = if !opts.color {
        word.to_string()
    } else if word.starts_with('✗') {
        word.red().bold().to_string()
    } else if word.starts_with('!') {
        word.yellow().bold().to_string()
    } else {
        word.green().bold().to_string()
    };
    if let Some(why) = why {
        verdict.push_str(&format!(" ({why})"));
    }
    if cx.only_areas.is_some() {
        // A run of the per-user files: no agent, so no agent's version to speak of, and the
        // folder checked is the instar home, not the folder paths are shown from.
        let paths = opts.paths(cx);
        let checked = cx
            .instar_home()
            .map(|home| paths.path(&home))
            .unwrap_or_else(|| paths.project());
        return format!(
            "{verdict}: {counts} — {checked} (instar {} rules)",
            cx.version
        );
    }
    format!(
        "{verdict}: {counts} — {} (instar {} rules, {})",
        opts.paths(cx).project(),
        cx.version,
        version_source_words(cx)
    )
}

/// Where the rules' version came from, in words a reader can check; when the agent's version is
/// outside what the doctor knows, which version it has and which rules stand in for it.
fn version_source_words(cx: &Context) -> String {
    use crate::version::VersionSource;
    let (source, has) = match cx.version_source {
        VersionSource::Flag => (
            "as asked with --instar-version",
            "--instar-version asked for",
        ),
        VersionSource::ShadowInstall => (
            "the version of the agent's shadow install",
            "the agent's shadow install has",
        ),
        VersionSource::Default => {
            return "the newest known: the agent has no shadow install to read one from".to_string()
        }
    };
    match cx.detected_version {
        Some(detected) if detected != cx.version => {
            let side = if detected < cx.version {
                "oldest"
            } else {
                "newest"
            };
            format!("the {side} the doctor knows; {has} {detected}")
        }
        _ => source.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::{CheckOutcome, CheckStatus};

    fn report(severities: &[Severity], crashed: bool) -> Report {
        let code = crate::checks::find_code("jobs/duplicate-slug").unwrap();
        Report {
            checks: vec![CheckOutcome {
                id: "jobs",
                status: if crashed {
                    CheckStatus::Crashed
                } else {
                    CheckStatus::Ok
                },
                duration_ms: 0.0,
            }],
            diagnostics: severities
                .iter()
                .map(|s| Diagnostic::new(code, crate::diag::Effect::Silent, "m").severity(*s))
                .collect(),
        }
    }

    #[test]
    fn the_verdict_never_says_healthy_when_the_run_fails() {
        let info = report(&[Severity::Info], false);
        assert_eq!(verdict(&info, Severity::Error).0, "✓ healthy");
        assert_eq!(verdict(&info, Severity::Info).0, "✗ failing");
        let warning = report(&[Severity::Warning], false);
        assert_eq!(verdict(&warning, Severity::Error).0, "! warnings");
        assert_eq!(verdict(&warning, Severity::Warning).0, "✗ failing");
        let error = report(&[Severity::Error], false);
        assert_eq!(verdict(&error, Severity::Error).0, "✗ unhealthy");
        let crashed = report(&[], true);
        assert_eq!(verdict(&crashed, Severity::Error).0, "✗ incomplete");
    }
}

/// Issue #11: the line index of a file is built once per render, not once per finding.
#[cfg(test)]
mod scale_tests {
    use std::collections::BTreeSet;
    use std::path::{Path, PathBuf};

    use super::*;
    use crate::engine::{self, Selection};
    use crate::line_index::LineIndex;
    use crate::version::NEWEST_KNOWN;

    /// An agent whose jobs.json holds 20 jobs with an invalid priority each, and its report.
    fn twenty_broken_jobs() -> (tempfile::TempDir, Context, Report) {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join(".instar")).unwrap();
        let jobs: Vec<String> = (0..20)
            .map(|i| {
                format!(
                    "  {{\n    \"slug\": \"job-{i}\",\n    \"name\": \"Job {i}\",\n    \"schedule\": \"0 9 * * *\",\n    \"priority\": \"urgent\",\n    \"execute\": {{\"type\": \"prompt\", \"value\": \"x\"}}\n  }}"
                )
            })
            .collect();
        std::fs::write(
            dir.path().join(".instar/jobs.json"),
            format!("[\n{}\n]\n", jobs.join(",\n")),
        )
        .unwrap();
        let cx = Context::at_version(dir.path().to_path_buf(), NEWEST_KNOWN, 1_795_000_000);
        let report = engine::run(
            &cx,
            &Selection {
                select: vec!["jobs".into()],
                ignore: vec![],
            },
        );
        (dir, cx, report)
    }

    #[test]
    fn no_line_index_for_the_human_report() {
        let (_dir, cx, report) = twenty_broken_jobs();
        let placed: Vec<_> = report
            .diagnostics
            .iter()
            .filter(|d| d.span.is_some())
            .collect();
        assert!(placed.len() >= 20, "{:?}", report.diagnostics);
        let mut files: BTreeSet<PathBuf> = placed
            .iter()
            .filter_map(|d| d.file.as_deref().map(Path::to_path_buf))
            .collect();
        files.extend(
            report
                .diagnostics
                .iter()
                .flat_map(|d| &d.secondary)
                .filter(|l| l.span.is_some())
                .map(|l| l.file.clone()),
        );
        let opts = HumanOptions {
            color: false,
            width: 100,
            quiet: false,
            verbose: false,
            threshold: Severity::Error,
            hint: false,
            cwd: None,
            command: None,
        };
        // Thread-local count: other tests building indexes on their threads do not interfere.
        let before = LineIndex::builds();
        let out = render(&cx, &report, &opts);
        assert!(out.contains("urgent"));
        // Snippets and places find their lines near the last ones (`LineFinder`): no index of
        // any file is built for the report (issue #11: 5.6 MB on a 46.7 MB jobs.json).
        assert!(!files.is_empty());
        assert_eq!(LineIndex::builds() - before, 0);
        // Nor for the machine formats, which place the same findings with the same finder.
        let before = LineIndex::builds();
        let json = serde_json::to_string(&crate::render::json::document(&cx, &report, 1)).unwrap();
        assert!(json.contains("\"line\""), "{json}");
        assert_eq!(LineIndex::builds() - before, 0);
        // --diff: one diff for the file with every fix of the first pass applied (removing
        // job 1 overlaps removing job 0: it waits), its lines counted once before and once
        // after (`SparseLines`), with no index of every line (5.6 MB of the 46.7 MB file's
        // --diff peak).
        let before = LineIndex::builds();
        let sparse = crate::line_index::SparseLines::builds();
        let (diff, shown) = crate::render::diff::report_diff(&cx, &report, true);
        assert_eq!(shown, 19, "{diff}");
        assert!(
            diff.contains("# 1 more fix overlaps the fixes above"),
            "{diff}"
        );
        assert_eq!(diff.matches("--- a/").count(), 1, "{diff}");
        assert_eq!(LineIndex::builds() - before, 0);
        assert_eq!(crate::line_index::SparseLines::builds() - sparse, 2);
    }

    #[test]
    fn the_report_is_written_as_it_is_drawn() {
        let (_dir, cx, report) = twenty_broken_jobs();
        let verbose = HumanOptions {
            color: false,
            width: 100,
            quiet: false,
            verbose: true,
            threshold: Severity::Error,
            hint: false,
            cwd: None,
            command: None,
        };
        // Written as it is drawn: a writer that fails (a closed pipe) stops the drawing at
        // once instead of after every finding (-v draws each in full).
        struct ClosedPipe(usize);
        impl std::io::Write for ClosedPipe {
            fn write(&mut self, _: &[u8]) -> std::io::Result<usize> {
                self.0 += 1;
                Err(std::io::ErrorKind::BrokenPipe.into())
            }
            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }
        let mut pipe = ClosedPipe(0);
        assert!(write(&cx, &report, &verbose, &mut pipe).is_err());
        assert_eq!(pipe.0, 1);
        // And never held whole: no write carries more than a few findings' drawings.
        #[derive(Default)]
        struct Sizes(Vec<usize>);
        impl std::io::Write for Sizes {
            fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
                self.0.push(buf.len());
                Ok(buf.len())
            }
            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }
        let mut sizes = Sizes::default();
        write(&cx, &report, &verbose, &mut sizes).unwrap();
        let total: usize = sizes.0.iter().sum();
        assert!(sizes.0.len() > report.diagnostics.len(), "{:?}", sizes.0);
        assert!(sizes.0.iter().all(|n| n * 10 < total), "{:?}", sizes.0);
    }
}

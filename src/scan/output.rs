//! Writing a scan's report as it goes: the chosen format to stdout or, with `-o`, to a temp file
//! renamed over the target at the end (node_exporter's textfile collector must never read a
//! half-written file), and the human report's agent lines at once with the broken agents'
//! details spooled to an anonymous temp file and appended after the last line.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{self, IsTerminal, Seek, Write};
use std::path::{Path, PathBuf};

use crate::cli::ScanArgs;
use crate::diag::Severity;
use crate::engine::{Context, Report};
use crate::exit;
use crate::output_file::OutputFile;
use crate::render::{self, openmetrics};

use super::agent::Checked;
use super::{Outputs, ScanFormat, Settings, Totals};

pub struct Output {
    /// The chosen format's destination.
    main: Main,
    /// Where the human report's agent lines go, when there is one.
    human: Option<Human>,
    totals: Totals,
    sarif_tail: String,
    first: bool,
    progress: Option<indicatif::ProgressBar>,
}

/// The human report: lines at once, details after them.
struct Human {
    to_main: bool,
    spool: File,
    machine_details: Option<String>,
}

impl Output {
    pub fn open(args: &ScanArgs, settings: &Settings) -> Result<Output, String> {
        let main = match &args.output_file {
            // Renamed into place when whole: node_exporter's textfile collector and a CI
            // upload never read half a report (a stream such as /dev/stdout is written in place).
            Some(path) => Main::File(
                OutputFile::create(path)
                    .map_err(|e| crate::output_file::cannot_create(path, &e))?,
                path.clone(),
            ),
            None => Main::Stdout(io::BufWriter::new(io::stdout())),
        };
        let human = match settings.outputs {
            Outputs::Human => Some(true),
            Outputs::Machine { human_too: true } => Some(false),
            Outputs::Machine { human_too: false } => None,
        }
        .map(|to_main| -> Result<Human, String> {
            Ok(Human {
                to_main,
                spool: tempfile::tempfile()
                    .map_err(|e| format!("cannot create a temp file: {e}"))?,
                machine_details: None,
            })
        })
        .transpose()?;
        Ok(Output {
            main,
            human,
            totals: Totals::default(),
            sarif_tail: String::new(),
            first: true,
            progress: None,
        })
    }

    fn human_line(&mut self, line: &str) {
        if let Some(human) = &self.human {
            if human.to_main {
                let _ = self.main.write_all(line.as_bytes());
            } else {
                crate::terminal::print(line);
            }
        }
    }

    /// The machine's part, before any agent: the document's head in the chosen format, and the
    /// machine's line of the human report.
    pub fn start(
        &mut self,
        settings: &Settings,
        cx: Option<&Context>,
        machine: &Report,
        found: usize,
    ) {
        self.progress = progress_bar(found);
        for d in &machine.diagnostics {
            match d.severity {
                Severity::Error => self.totals.errors += 1,
                Severity::Warning => self.totals.warnings += 1,
                Severity::Info => self.totals.infos += 1,
            }
        }
        self.machine_head(settings, cx, machine);
        if let Some(cx) = cx {
            self.machine_line(settings, cx, machine);
        }
    }

    /// The head of the chosen format, with the machine's findings where the format holds them.
    fn machine_head(&mut self, settings: &Settings, cx: Option<&Context>, machine: &Report) {
        let machine_doc = cx.map(|cx| {
            render::json::document(cx, machine, super::agent::exit_code(machine, settings))
        });
        match settings.format {
            ScanFormat::Json => {
                let doc = machine_doc.unwrap_or_else(|| render::json::failure("", None));
                let head = render::scan::json_head(settings.instar_home.as_deref(), &doc);
                let _ = self.main.write_all(head.as_bytes());
            }
            ScanFormat::Junit => {
                let _ = self.main.write_all(render::scan::junit_head().as_bytes());
                if let (Some(cx), Some(doc)) = (cx, &machine_doc) {
                    let single = render::junit::render(doc, settings.threshold.as_str());
                    let _ = self.main.write_all(
                        render::scan::junit_suites(
                            &single,
                            &format!("machine {}", cx.project_dir.display()),
                        )
                        .as_bytes(),
                    );
                }
            }
            ScanFormat::Github => {
                if let (Some(cx), Some(doc)) = (cx, &machine_doc) {
                    let repo = render::paths::RepoPaths::rooted(&cx.project_dir, &cx.project_dir);
                    let _ = self
                        .main
                        .write_all(render::github::render(doc, Some(&repo)).as_bytes());
                }
            }
            ScanFormat::Sarif => {
                let (head, tail) = render::scan::sarif_envelope(&settings.scan_root);
                self.sarif_tail = tail;
                let _ = self.main.write_all(head.as_bytes());
                if let (Some(cx), Some(doc)) = (cx, &machine_doc) {
                    let results = render::scan::sarif_results(cx, doc, &settings.scan_root);
                    if !results.is_empty() {
                        let _ = self.main.write_all(results.as_bytes());
                        self.first = false;
                    }
                }
            }
            ScanFormat::Openmetrics => {
                let mut counts = BTreeMap::new();
                for d in &machine.diagnostics {
                    *counts
                        .entry((d.code.check(), d.severity.as_str()))
                        .or_insert(0) += 1;
                }
                let _ = self.main.write_all(openmetrics::head().as_bytes());
                let _ = self
                    .main
                    .write_all(openmetrics::findings("", &counts).as_bytes());
            }
            ScanFormat::Human => {}
        }
    }

    /// The machine's line of the human report; its details are kept for after the agents.
    fn machine_line(&mut self, settings: &Settings, cx: &Context, machine: &Report) {
        let Some(human) = &mut self.human else {
            return;
        };
        let errors = machine.count(Severity::Error);
        let warnings = machine.count(Severity::Warning);
        let mark = mark(errors, warnings, machine.crashed());
        let line = format!(
            "{mark} machine  {} — {}\n",
            counts(errors, warnings),
            settings.display(&cx.project_dir)
        );
        let show = errors + warnings > 0 || settings.human.verbose || machine.crashed();
        if show {
            human.machine_details = Some(render::human::render(cx, machine, &settings.human));
        }
        if !settings.human.quiet || show {
            self.human_line(&line);
        }
    }

    /// One agent checked: counted, written in the chosen format as it comes, and its line (and
    /// details, spooled) in the human report.
    pub fn agent(&mut self, settings: &Settings, checked: Checked) {
        if let Some(bar) = &self.progress {
            bar.inc(1);
        }
        let status = self.totals.count(&checked);
        let shown = settings.display(&checked.dir);
        self.agent_document(settings, &checked, &shown);
        if self.human.is_some() {
            self.agent_human(settings, &checked, status, &shown);
        }
    }

    /// The agent's part of the chosen machine format.
    fn agent_document(&mut self, settings: &Settings, checked: &Checked, shown: &str) {
        match settings.format {
            ScanFormat::Json | ScanFormat::Sarif => {
                let text = match (&checked.machine, &checked.crashed) {
                    (Some(text), _) => text.clone(),
                    (None, Some(why)) if settings.format == ScanFormat::Json => {
                        let mut doc = render::json::failure(why, Some(&checked.dir));
                        doc.exit_code = exit::FAILURE;
                        serde_json::to_string(&doc).unwrap_or_default()
                    }
                    _ => String::new(),
                };
                if !text.is_empty() {
                    if !self.first {
                        let _ = self.main.write_all(b",");
                    }
                    self.first = false;
                    let _ = self.main.write_all(text.as_bytes());
                }
            }
            ScanFormat::Github | ScanFormat::Junit => {
                let text = match (&checked.machine, &checked.crashed) {
                    (Some(text), _) => text.clone(),
                    (None, Some(why)) => {
                        let doc = render::json::failure(why, Some(&checked.dir));
                        if settings.format == ScanFormat::Github {
                            render::github::render(&doc, None)
                        } else {
                            render::scan::junit_suites(
                                &render::junit::render(&doc, settings.threshold.as_str()),
                                shown,
                            )
                        }
                    }
                    _ => String::new(),
                };
                let _ = self.main.write_all(text.as_bytes());
            }
            ScanFormat::Openmetrics => {
                let text = openmetrics::findings(&checked.dir.to_string_lossy(), &checked.counts);
                let _ = self.main.write_all(text.as_bytes());
            }
            ScanFormat::Human => {}
        }
    }

    /// The agent's line of the human report at once; its details spooled for after the last line.
    fn agent_human(&mut self, settings: &Settings, checked: &Checked, status: &str, shown: &str) {
        let broken = status != "healthy";
        if settings.human.quiet && checked.exit_code == exit::HEALTHY {
            return;
        }
        let mark = if let Some(_why) = &checked.crashed {
            "✗"
        } else {
            mark(checked.errors, checked.warnings, false)
        };
        let line = format!(
            "{mark} {} — {shown}\n",
            counts(checked.errors, checked.warnings)
        );
        self.human_line(&line);
        if let Some(human) = &mut self.human {
            let command = if checked.fixable {
                format!(
                    "fix: instar-doctor --dir {} --fix   (preview: --diff)",
                    quote(shown)
                )
            } else {
                format!(
                    "details: instar-doctor --dir {}   (nothing here --fix can apply)",
                    quote(shown)
                )
            };
            let mut block = String::new();
            if broken || checked.human.is_some() {
                block.push_str(&format!("\n── {shown} ──\n{command}\n"));
                if let Some(why) = &checked.crashed {
                    block.push_str(&format!("✗ incomplete: {why}\n"));
                }
                if let Some(details) = &checked.human {
                    block.push('\n');
                    block.push_str(details);
                }
            }
            let _ = human.spool.write_all(block.as_bytes());
        }
    }

    /// The end: the format's tail, the human report's details and summary, and the `-o` file
    /// renamed into place. Returns the scan's exit code.
    pub fn finish(mut self, settings: &Settings, machine_exit: u8) -> u8 {
        if let Some(bar) = self.progress.take() {
            bar.finish_and_clear();
        }
        let code = self.totals.exit_code(machine_exit);
        let error = (code == exit::FAILURE).then(|| {
            format!("{} agent(s) could not be checked completely (a doctor bug); their findings are incomplete", self.totals.crashed.max(1))
        });
        let tail = self.tail(settings, code, error.as_deref());
        let _ = self.main.write_all(tail.as_bytes());
        if let Some(human) = self.human.take() {
            self.human_summary(settings, human, code);
        }
        match self.main {
            Main::Stdout(mut out) => {
                if out.flush().is_err() {
                    return exit::FAILURE;
                }
            }
            Main::File(file, path) => {
                if let Err(err) = file.commit() {
                    eprintln!("error: cannot write -o file {}: {err}", path.display());
                    return exit::FAILURE;
                }
            }
        }
        code
    }

    /// The chosen format's tail: the summary, the exit code and the error when the scan failed.
    fn tail(&self, settings: &Settings, code: u8, error: Option<&str>) -> String {
        let t = &self.totals;
        let summary = serde_json::json!({
            "agents": t.agents,
            "healthy": t.healthy,
            "with_findings": t.with_findings,
            "crashed": t.crashed,
            "errors": t.errors,
            "warnings": t.warnings,
            "infos": t.infos,
        });
        match settings.format {
            ScanFormat::Json => render::scan::json_tail(&summary, code, error),
            ScanFormat::Sarif => render::scan::sarif_tail(&self.sarif_tail, code, error),
            ScanFormat::Junit => render::scan::junit_tail().to_string(),
            ScanFormat::Github => error
                .map(|e| {
                    format!(
                        "::error title=instar-doctor::{}\n",
                        render::github::escape_data(e)
                    )
                })
                .unwrap_or_default(),
            ScanFormat::Openmetrics => {
                openmetrics::tail(&t.by_status, code != exit::FAILURE, settings.now)
            }
            ScanFormat::Human => String::new(),
        }
    }

    /// After the last agent line: the machine's and the broken agents' details, then the
    /// one-line verdict over the whole scan.
    fn human_summary(&mut self, settings: &Settings, mut human: Human, code: u8) {
        let t = &self.totals;
        let mut details = String::new();
        if let Some(machine) = human.machine_details.take() {
            details.push_str("\n── machine ──\n\n");
            details.push_str(&machine);
        }
        let verdict = if code == exit::FAILURE {
            "✗ incomplete"
        } else if t.errors > 0 {
            "✗ unhealthy"
        } else if code == exit::FINDINGS {
            "✗ failing"
        } else if t.warnings > 0 {
            "! warnings"
        } else {
            "✓ healthy"
        };
        let summary_line = crate::render::width::wrap(
            &format!(
                "{verdict}: {} agents — {} healthy, {} with findings, {} incomplete; {}",
                t.agents,
                t.healthy,
                t.with_findings,
                t.crashed,
                counts(t.errors, t.warnings)
            ),
            settings.human.width,
            "",
            "  ",
        );
        let summary_line = if settings.human.quiet {
            String::new()
        } else {
            format!("\n{summary_line}\n")
        };
        // The spooled details are copied, never read whole: memory stays flat however many
        // agents the scan found.
        let _ = human.spool.rewind();
        if human.to_main {
            let _ = self.main.write_all(details.as_bytes());
            let _ = io::copy(&mut human.spool, &mut self.main);
            let _ = self.main.write_all(summary_line.as_bytes());
        } else {
            let mut stdout = io::BufWriter::new(io::stdout().lock());
            let _ = stdout.write_all(details.as_bytes());
            let _ = io::copy(&mut human.spool, &mut stdout);
            let _ = stdout.write_all(summary_line.as_bytes());
            let _ = stdout.flush();
        }
    }
}

impl Totals {
    /// Counts one agent in; returns its status (`healthy`, `findings`, `crashed`).
    fn count(&mut self, checked: &Checked) -> &'static str {
        self.agents += 1;
        self.errors += checked.errors;
        self.warnings += checked.warnings;
        self.infos += checked.infos;
        self.worst = if checked.exit_code == exit::FAILURE || self.worst == exit::FAILURE {
            exit::FAILURE
        } else {
            self.worst.max(checked.exit_code)
        };
        let status = if checked.crashed.is_some() {
            self.crashed += 1;
            "crashed"
        } else if checked.errors + checked.warnings > 0 || checked.exit_code != exit::HEALTHY {
            self.with_findings += 1;
            "findings"
        } else {
            self.healthy += 1;
            "healthy"
        };
        *self.by_status.entry(status).or_insert(0) += 1;
        status
    }
}

fn quote(path: &str) -> String {
    if path
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b"/._-~+".contains(&b))
    {
        path.to_string()
    } else {
        format!("'{}'", path.replace('\'', "'\\''"))
    }
}

fn mark(errors: usize, warnings: usize, crashed: bool) -> &'static str {
    if crashed || errors > 0 {
        "✗"
    } else if warnings > 0 {
        "!"
    } else {
        "✓"
    }
}

fn counts(errors: usize, warnings: usize) -> String {
    let plural = |n: usize, w: &str| format!("{n} {w}{}", if n == 1 { "" } else { "s" });
    format!(
        "{}, {}",
        plural(errors, "error"),
        plural(warnings, "warning")
    )
}

/// A progress bar of agents done / found on stderr, only on a terminal and never under CI.
fn progress_bar(found: usize) -> Option<indicatif::ProgressBar> {
    if !io::stderr().is_terminal() || std::env::var_os("CI").is_some() {
        return None;
    }
    let bar = indicatif::ProgressBar::with_draw_target(
        Some(found as u64),
        indicatif::ProgressDrawTarget::stderr(),
    );
    if let Ok(style) =
        indicatif::ProgressStyle::with_template("{bar:40} {pos}/{len} agents checked")
    {
        bar.set_style(style);
    }
    Some(bar)
}

/// Where a scan's chosen format goes: stdout (a closed pipe is no error worth reporting), or
/// the `-o` file, committed at the end.
enum Main {
    Stdout(io::BufWriter<io::Stdout>),
    File(OutputFile, PathBuf),
}

impl Write for Main {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Main::Stdout(out) => out.write(buf),
            Main::File(out, _) => out.write(buf),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            Main::Stdout(out) => out.flush(),
            Main::File(out, _) => out.flush(),
        }
    }
}

/// A whole document to the `-o` file, renamed into place.
pub fn write_whole(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let mut out = OutputFile::create(path)?;
    out.write_all(bytes)?;
    out.commit()
}

/// The document of a scan that gave no answer, in each machine format.
pub fn failure_document(format: ScanFormat, message: &str) -> Option<String> {
    let summary = serde_json::json!({"agents": 0, "healthy": 0, "with_findings": 0, "crashed": 0, "errors": 0, "warnings": 0, "infos": 0});
    let doc = render::json::failure(message, None);
    Some(match format {
        ScanFormat::Human => return None,
        ScanFormat::Json => {
            let mut text = render::scan::json_head(None, &doc);
            text.push_str(&render::scan::json_tail(
                &summary,
                exit::FAILURE,
                Some(message),
            ));
            text
        }
        ScanFormat::Sarif => {
            let (head, tail) = render::scan::sarif_envelope(Path::new("/"));
            format!(
                "{head}{}",
                render::scan::sarif_tail(&tail, exit::FAILURE, Some(message))
            )
        }
        ScanFormat::Github => render::github::render(&doc, None),
        ScanFormat::Junit => render::junit::render(&doc, "error"),
        ScanFormat::Openmetrics => {
            openmetrics::tail(&BTreeMap::new(), false, crate::clock::now().unwrap_or(0))
        }
    })
}

/// The same width as a one-agent report: `COLUMNS`, else the terminal's, else no wrapping; a
/// report written to a file (`-o`) wraps only when `COLUMNS` says so.
pub fn width(to_file: bool) -> usize {
    if to_file {
        crate::render::width::columns_for_file()
    } else {
        crate::render::width::columns()
    }
}

//! What a command line asks for, carried out: parse → discover → run → render → exit code.

use std::ffi::OsString;
use std::io::{IsTerminal, Write};
use std::path::PathBuf;

use clap::Parser;

use crate::checks;
use crate::cli::{Cli, ColorChoice, Command, FailOn, Format, HookAction};
use crate::cron;
use crate::diag::Severity;
use crate::engine::{self, Context, Report, Selection, ShadowVersion};
use crate::exit;
use crate::fix::Applicability;
use crate::render::{self, human::HumanOptions};
use crate::repair::{self, RepairOptions};
use crate::version::{self, Version, VersionSource, NEWEST_KNOWN};
use crate::write;

/// Runs the doctor with these arguments (argv[0] included) and returns the exit code.
pub fn main(args: Vec<OsString>) -> u8 {
    let cli = match Cli::try_parse_from(args) {
        Ok(cli) => cli,
        Err(err) => {
            let _ = err.print();
            return if err.use_stderr() {
                exit::FAILURE
            } else {
                exit::HEALTHY
            };
        }
    };
    match &cli.command {
        Some(Command::List) => list(),
        Some(Command::Explain { code }) => explain(code),
        Some(Command::Undo { run_id, force }) => undo(&cli, run_id.as_deref(), *force),
        Some(Command::Hook { action }) => hook(action),
        Some(Command::Completions { shell }) => {
            let mut command = <Cli as clap::CommandFactory>::command();
            let mut out = Vec::new();
            clap_complete::generate(*shell, &mut command, "instar-doctor", &mut out);
            print(&String::from_utf8_lossy(&out));
            exit::HEALTHY
        }
        None => check(&cli),
    }
}

fn list() -> u8 {
    let mut out = String::new();
    for check in checks::TABLE {
        out.push_str(&format!("{}\n", check.id()));
        for code in check.codes() {
            let fix = code.fix.map(Applicability::as_str).unwrap_or("-");
            out.push_str(&format!(
                "  {:<34} {:<8} fix:{:<7} {}\n",
                code.id,
                code.severity.as_str(),
                fix,
                code.summary
            ));
        }
    }
    print(&out);
    exit::HEALTHY
}

fn explain(id: &str) -> u8 {
    match checks::find_code(id) {
        Some(code) => {
            let fix = code.fix.map(Applicability::as_str).unwrap_or("none");
            print(&format!(
                "{}\n{}\nseverity: {} · fix: {}\n\n{}\n",
                code.id,
                code.summary,
                code.severity.as_str(),
                fix,
                code.explain
            ));
            exit::HEALTHY
        }
        None => {
            eprintln!("error: unknown code `{id}`; `instar-doctor list` shows every code");
            exit::FAILURE
        }
    }
}

/// Why a run gave no answer; rendered on stderr (and in the JSON document).
struct Failure {
    message: String,
    project_dir: Option<PathBuf>,
}

fn fail(cli: &Cli, failure: Failure) -> u8 {
    eprintln!("error: {}", failure.message);
    if cli.format == Format::Json {
        let doc = render::json::failure(&failure.message, failure.project_dir.as_deref());
        print(&render::json::to_string(&doc));
    }
    exit::FAILURE
}

/// What every run needs before it can look at the agent: where it is, which rules, what time.
struct Setup {
    project_dir: PathBuf,
    rules: Version,
    detected: Version,
    source: VersionSource,
    now: i64,
}

impl Setup {
    fn context(&self, deep: bool) -> Context {
        Context::new(
            self.project_dir.clone(),
            self.rules,
            Some(self.detected),
            self.source,
            self.now,
            deep,
        )
    }
}

fn setup(cli: &Cli) -> Result<Setup, Failure> {
    let cwd = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("."));
    let project_dir = engine::discover(cli.dir.as_deref(), &cwd).map_err(|err| Failure {
        message: err.to_string(),
        project_dir: None,
    })?;
    let failure = |message: String| Failure {
        message,
        project_dir: Some(project_dir.clone()),
    };
    let now = now().map_err(failure)?;
    let (detected, source) = match &cli.instar_version {
        Some(text) => match text.parse::<Version>() {
            Ok(v) => (v, VersionSource::Flag),
            Err(err) => return Err(failure(format!("--instar-version: {err}"))),
        },
        None => match engine::shadow_install_version(&project_dir) {
            ShadowVersion::Found(v) => (v, VersionSource::ShadowInstall),
            _ => (NEWEST_KNOWN, VersionSource::Default),
        },
    };
    Ok(Setup {
        project_dir,
        rules: version::rules_for(detected),
        detected,
        source,
        now,
    })
}

/// Writers refuse while instar runs for this agent: its writers ignore our lock.
fn refuse_if_instar_runs(cli: &Cli, setup: &Setup) -> Result<(), Failure> {
    if cli.allow_running {
        return Ok(());
    }
    match write::instar_running(&setup.project_dir.join(engine::STATE_DIR)) {
        Some(pid) => Err(Failure {
            message: format!(
                "instar is running for this agent (lifeline pid {pid}); stop it first, or pass --allow-running"
            ),
            project_dir: Some(setup.project_dir.clone()),
        }),
        None => Ok(()),
    }
}

fn check(cli: &Cli) -> u8 {
    let setup = match setup(cli) {
        Ok(setup) => setup,
        Err(failure) => return fail(cli, failure),
    };
    if cli.fix || cli.interactive {
        return fix(cli, &setup);
    }
    let cx = setup.context(cli.deep);
    let report = engine::run(&cx, &selection(cli));
    if cli.diff {
        return diff(cli, &cx, &report);
    }
    let exit_code = exit_code(cli, &report);
    emit(cli, &cx, &report, &[], None, exit_code)
}

/// Prints the report in the chosen format (the machine format to `-o` when given, with the
/// human report on the terminal), and returns the exit code, or 2 when the file cannot be written.
fn emit(
    cli: &Cli,
    cx: &Context,
    report: &Report,
    handled: &[crate::diag::Diagnostic],
    run_id: Option<&str>,
    exit_code: u8,
) -> u8 {
    let human = || {
        let mut out = String::new();
        if cli.fix || cli.interactive {
            out.push_str(&render::human::render_fixed(cx, handled, run_id));
        }
        out.push_str(&render::human::render(cx, report, &human_options(cli)));
        out
    };
    let machine = match cli.format {
        Format::Human => None,
        format => {
            let doc = render::json::document_after_fix(cx, report, handled, exit_code);
            Some(match format {
                Format::Sarif => {
                    let all: Vec<_> = report.diagnostics.iter().chain(handled).cloned().collect();
                    render::sarif::render(cx, &doc, &all)
                }
                Format::Github => render::github::render(&doc),
                Format::Junit => render::junit::render(&doc, threshold(cli.fail_on).as_str()),
                _ => render::json::to_string(&doc),
            })
        }
    };
    match (machine, &cli.output_file) {
        (None, _) => print(&human()),
        (Some(text), None) => print(&text),
        (Some(text), Some(path)) => {
            if let Err(err) = std::fs::write(path, text) {
                eprintln!("error: cannot write {}: {err}", path.display());
                return exit::FAILURE;
            }
            print(&human());
        }
    }
    exit_code
}

fn selection(cli: &Cli) -> Selection {
    Selection {
        select: cli.select.clone(),
        ignore: cli.ignore.clone(),
    }
}

/// `--fix` and `-i`: a fix run to a fixpoint, then the report of what remains.
fn fix(cli: &Cli, setup: &Setup) -> u8 {
    if let Err(failure) = refuse_if_instar_runs(cli, setup) {
        return fail(cli, failure);
    }
    if cli.interactive && !can_prompt() {
        return fail(
            cli,
            Failure {
                message: "-i needs a terminal to ask on; run `instar-doctor --fix` (add --unsafe-fixes for the unsafe ones) instead".to_string(),
                project_dir: Some(setup.project_dir.clone()),
            },
        );
    }
    let opts = RepairOptions {
        unsafe_fixes: cli.unsafe_fixes,
        interactive: cli.interactive,
    };
    let human = human_options(cli);
    let mut ask = |cx: &Context, d: &crate::diag::Diagnostic| -> bool {
        eprint!("{}", render::diff::preview(cx, d, &human));
        dialoguer::Confirm::new()
            .with_prompt("Apply this fix?")
            .default(false)
            .interact_on(&dialoguer::console::Term::stderr())
            .unwrap_or(false)
    };
    let make_cx = || setup.context(cli.deep);
    // Ctrl-C during a fix run: finish the file being written, put everything back, exit 130.
    let _ = ctrlc::set_handler(|| {
        repair::INTERRUPTED.store(true, std::sync::atomic::Ordering::SeqCst);
    });
    match repair::repair(&make_cx, &selection(cli), &opts, &mut ask) {
        Ok(outcome) => {
            let cx = &outcome.cx;
            let code = if outcome.report.crashed() {
                exit::FAILURE
            } else {
                exit_code(cli, &outcome.report)
            };
            emit(
                cli,
                cx,
                &outcome.report,
                &outcome.handled,
                outcome.run_id.as_deref(),
                code,
            )
        }
        Err(repair::RepairError::Interrupted) => {
            eprintln!("interrupted: {}", repair::RepairError::Interrupted);
            exit::INTERRUPTED
        }
        Err(err) => fail(
            cli,
            Failure {
                message: err.to_string(),
                project_dir: Some(setup.project_dir.clone()),
            },
        ),
    }
}

fn undo(cli: &Cli, run_id: Option<&str>, force: bool) -> u8 {
    let setup = match setup(cli) {
        Ok(setup) => setup,
        Err(failure) => return fail(cli, failure),
    };
    if let Err(failure) = refuse_if_instar_runs(cli, &setup) {
        return fail(cli, failure);
    }
    let state = setup.project_dir.join(engine::STATE_DIR);
    match write::undo(&setup.project_dir, &state, run_id, force) {
        Ok(done) => {
            print(&format!(
                "undid run {}: restored {}\n",
                done.run_id,
                done.restored.join(", ")
            ));
            exit::HEALTHY
        }
        Err(err) => fail(
            cli,
            Failure {
                message: err.to_string(),
                project_dir: Some(setup.project_dir.clone()),
            },
        ),
    }
}

fn hook(action: &HookAction) -> u8 {
    let cwd = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("."));
    let result = match action {
        HookAction::Install => crate::hook::install(&cwd),
        HookAction::Uninstall => crate::hook::uninstall(&cwd),
    };
    match result {
        Ok(message) => {
            print(&format!("{message}\n"));
            exit::HEALTHY
        }
        Err(err) => {
            eprintln!("error: {err}");
            exit::FAILURE
        }
    }
}

/// Prompts only with a person at both ends: stdin and stderr terminals, and not under CI.
fn can_prompt() -> bool {
    std::io::stdin().is_terminal()
        && std::io::stderr().is_terminal()
        && std::env::var_os("CI").is_none()
}

fn threshold(fail_on: FailOn) -> Severity {
    match fail_on {
        FailOn::Error => Severity::Error,
        FailOn::Warning => Severity::Warning,
        FailOn::Info => Severity::Info,
    }
}

fn exit_code(cli: &Cli, report: &Report) -> u8 {
    if report.crashed() {
        return exit::FAILURE;
    }
    let threshold = threshold(cli.fail_on);
    let failing = report.diagnostics.iter().any(|d| d.severity >= threshold);
    if failing && !cli.exit_zero {
        exit::FINDINGS
    } else {
        exit::HEALTHY
    }
}

/// `--diff`: the diffs of the fixes `--fix` would apply. Exit 1 when there is any.
fn diff(cli: &Cli, cx: &Context, report: &Report) -> u8 {
    let (out, shown) = render::diff::report_diff(cx, report, cli.unsafe_fixes);
    if report.crashed() {
        eprint!("{out}");
        return exit::FAILURE;
    }
    print(&out);
    if shown > 0 && !cli.exit_zero {
        exit::FINDINGS
    } else {
        exit::HEALTHY
    }
}

fn color_enabled(choice: ColorChoice) -> bool {
    match choice {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => {
            let env_set = |name: &str| std::env::var_os(name).is_some_and(|v| !v.is_empty());
            if env_set("NO_COLOR") {
                false
            } else if std::env::var_os("CLICOLOR_FORCE").is_some_and(|v| !v.is_empty() && v != "0")
            {
                true
            } else {
                std::io::stdout().is_terminal()
            }
        }
    }
}

fn interactive_terminal() -> bool {
    std::io::stdout().is_terminal() && std::env::var_os("CI").is_none()
}

fn human_options(cli: &Cli) -> HumanOptions {
    let width = std::env::var("COLUMNS")
        .ok()
        .and_then(|c| c.parse().ok())
        .filter(|w| *w >= 40)
        .unwrap_or(if std::io::stdout().is_terminal() {
            100
        } else {
            80
        });
    HumanOptions {
        color: color_enabled(cli.color),
        width,
        quiet: cli.quiet,
        verbose: cli.verbose,
        threshold: threshold(cli.fail_on),
        hint: interactive_terminal(),
    }
}

/// "Now", from INSTAR_DOCTOR_NOW (RFC 3339) when set, so tests are reproducible.
fn now() -> Result<i64, String> {
    match std::env::var("INSTAR_DOCTOR_NOW") {
        Ok(text) => cron::parse_rfc3339(&text)
            .ok_or_else(|| format!("INSTAR_DOCTOR_NOW={text:?} is not an RFC 3339 timestamp")),
        Err(_) => Ok(std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs() as i64)
            .unwrap_or(0)),
    }
}

/// Writes to stdout; a closed pipe (`| head`) is not an error worth a panic.
fn print(text: &str) {
    let mut stdout = std::io::stdout().lock();
    let _ = stdout.write_all(text.as_bytes());
    let _ = stdout.flush();
}

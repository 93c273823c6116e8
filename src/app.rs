//! What a command line asks for, carried out: parse → discover → run → render → exit code.

use std::ffi::OsString;
use std::io::{IsTerminal, Write};
use std::path::PathBuf;

use crate::checks;
use crate::cli::{Cli, ColorChoice, Command, FailOn, Format, HookAction};
use crate::cron;
use crate::diag::Severity;
use crate::engine::{self, Context, Report, Selection, ShadowVersion};
use crate::exit;
use crate::fix::Applicability;
use crate::instar_runtime;
use crate::machine_run;
use crate::prompt;
use crate::render::{self, human::HumanOptions};
use crate::repair::{self, RepairOptions};
use crate::version::{self, Version, VersionSource, NEWEST_KNOWN};
use crate::write;

/// Runs the doctor with these arguments (argv[0] included) and returns the exit code.
pub fn main(args: Vec<OsString>) -> u8 {
    let parsed = <Cli as clap::CommandFactory>::command()
        .try_get_matches_from(args)
        .and_then(|matches| {
            <Cli as clap::FromArgMatches>::from_arg_matches(&matches).map(|cli| (cli, matches))
        });
    let (mut cli, matches) = match parsed {
        Ok(parsed) => parsed,
        Err(err) => {
            match usage_error_text(&err) {
                Some(text) => eprint!("{text}"),
                None => {
                    let _ = err.print();
                }
            }
            return if err.use_stderr() {
                exit::FAILURE
            } else {
                exit::HEALTHY
            };
        }
    };
    // `undo` takes the few run options it uses as its own (clap refuses the others with a
    // subcommand); the shared code below reads them from the top level.
    if let Some(Command::Undo {
        dir, allow_running, ..
    }) = &cli.command
    {
        cli.dir = dir.clone().or(cli.dir.take());
        cli.allow_running |= *allow_running;
    }
    if let Some(Command::Preflight {
        dir,
        instar_version,
        ..
    }) = &cli.command
    {
        cli.dir = dir.clone().or(cli.dir.take());
        cli.instar_version = instar_version.clone().or(cli.instar_version.take());
    }
    if let Some(Command::Hook {
        action: HookAction::Install { dir, .. },
    }) = &cli.command
    {
        cli.dir = dir.clone().or(cli.dir.take());
    }
    if let Some(Command::Scan(args)) = &cli.command {
        return crate::scan::main(&cli, &matches, args);
    }
    // `machine` has its own copy of the run options it takes (clap refuses them before it);
    // the shared report and diff code below reads them from the top level.
    if let Some(Command::Machine(args)) = &cli.command {
        cli.instar_home = args.instar_home.clone();
        cli.instar_version = args.instar_version.clone();
        cli.format = args.format;
        cli.diff = args.diff;
        cli.fix = args.fix;
        cli.interactive = args.interactive;
        cli.unsafe_fixes = args.unsafe_fixes;
        cli.select = args.select.clone();
        cli.ignore = args.ignore.clone();
        cli.fail_on = args.fail_on;
        cli.exit_zero = args.exit_zero;
        cli.color = args.color;
        cli.verbose = args.verbose;
        cli.quiet = args.quiet;
    }
    if let Some(Command::Undo {
        machine: true,
        instar_home,
        ..
    }) = &cli.command
    {
        cli.instar_home = instar_home.clone();
    }
    let usage = crate::usage::refuse_run_options(&cli, &matches)
        .and_then(|()| crate::usage::validate(&cli));
    if let Err(message) = usage {
        return fail(
            &cli,
            Failure {
                message,
                project_dir: None,
            },
        );
    }
    match &cli.command {
        Some(Command::List) => list(),
        Some(Command::Explain { code }) => explain(code),
        Some(Command::Undo {
            run_id,
            force,
            machine: true,
            ..
        }) => machine_undo(&cli, run_id.as_deref(), *force),
        Some(Command::Undo { run_id, force, .. }) => undo(&cli, run_id.as_deref(), *force),
        Some(Command::Machine(_)) => machine(&cli),
        Some(Command::Hook { action }) => hook(&cli, action),
        Some(Command::Preflight { strict, .. }) => preflight(&cli, *strict),
        Some(Command::Completions { shell }) => {
            print(&completions(*shell));
            exit::HEALTHY
        }
        Some(Command::Scan(_)) => unreachable!("scan is dispatched above"),
        None => check(&cli),
    }
}

/// Why the `-o` file could not be written, in words: "cannot create -o file out/r.json: the
/// folder out does not exist".
fn cannot_create(path: &std::path::Path, err: &std::io::Error) -> String {
    let why = match err.kind() {
        std::io::ErrorKind::NotFound => match path.parent().filter(|p| !p.as_os_str().is_empty()) {
            Some(parent) => format!("the folder {} does not exist", parent.display()),
            None => err.to_string(),
        },
        std::io::ErrorKind::PermissionDenied => "permission denied".to_string(),
        std::io::ErrorKind::IsADirectory => "it is a directory".to_string(),
        std::io::ErrorKind::NotADirectory => "a part of its path is not a directory".to_string(),
        _ => err.to_string(),
    };
    format!("cannot create -o file {}: {why}", path.display())
}

/// Clap's message for an unknown argument, without its tip to pass it as a value after `--`
/// (no command here takes a value starting with a dash, so that tip only misleads) and, for a
/// check option given after a subcommand, with where it belongs. `None`: clap's text as it is.
fn usage_error_text(err: &clap::Error) -> Option<String> {
    use clap::error::{ContextKind, ContextValue, ErrorKind};
    if err.kind() != ErrorKind::UnknownArgument {
        return None;
    }
    let text = err.render().to_string();
    if !text.contains("as a value, use '--") {
        return None;
    }
    let arg = match err.get(ContextKind::InvalidArg) {
        Some(ContextValue::String(arg)) => arg.clone(),
        _ => String::new(),
    };
    let name = arg.split('=').next().unwrap_or_default();
    let top = <Cli as clap::CommandFactory>::command();
    let of_the_check = top.get_arguments().any(|a| {
        a.get_long().is_some_and(|l| name == format!("--{l}"))
            || a.get_short().is_some_and(|s| name == format!("-{s}"))
    });
    let mut out = String::new();
    for line in text.lines() {
        if line.contains("as a value, use '--") {
            if of_the_check {
                out.push_str(&format!(
                    "  tip: {name} is an option of the check itself: `instar-doctor {name}`\n"
                ));
            } else {
                out.push_str("  tip: `--help` lists the options this command takes\n");
            }
            continue;
        }
        out.push_str(line);
        out.push('\n');
    }
    Some(out)
}

/// Shell completions. For the script only, `explain`, `--select` and `--ignore` are given the
/// codes and check ids as their possible values (parsing keeps its own checks and suggestions).
/// clap_complete's bash script names each subcommand's `case` arm differently from the value
/// its loop assigns when the binary name has a hyphen (`instar__subcmd__doctor__subcmd__list`
/// against `instar__doctor__subcmd__list`), so no subcommand completed: the arms are renamed.
pub fn completions(shell: clap_complete::Shell) -> String {
    let codes: Vec<&'static str> = checks::all_codes().map(|c| c.id).collect();
    let mut names: Vec<&'static str> = checks::TABLE.iter().map(|c| c.id()).collect();
    names.extend(codes.iter().copied());
    let values = |list: &[&'static str]| clap::builder::PossibleValuesParser::new(list.to_vec());
    let mut command = <Cli as clap::CommandFactory>::command()
        .mut_arg("select", |a| a.value_parser(values(&names)))
        .mut_arg("ignore", |a| a.value_parser(values(&names)))
        .mut_subcommand("explain", |sub| {
            sub.mut_arg("code", |a| a.value_parser(values(&codes)))
        })
        .mut_subcommand("scan", |sub| {
            sub.mut_arg("select", |a| a.value_parser(values(&names)))
                .mut_arg("ignore", |a| a.value_parser(values(&names)))
        });
    let mut out = Vec::new();
    clap_complete::generate(shell, &mut command, "instar-doctor", &mut out);
    let script = String::from_utf8_lossy(&out).into_owned();
    match shell {
        clap_complete::Shell::Bash => {
            script.replace("instar__subcmd__doctor__", "instar__doctor__")
        }
        _ => script,
    }
}

fn list() -> u8 {
    let width = render::width::columns();
    let mut out = String::new();
    for check in checks::TABLE {
        out.push_str(&format!("{}\n", check.id()));
        for code in check.codes() {
            let fix = code.fix.map(Applicability::as_str).unwrap_or("-");
            let head = format!(
                "  {:<34} {:<8} fix:{:<7} ",
                code.id,
                code.severity.as_str(),
                fix
            );
            // The summary wraps under itself when there is room, else under the code.
            let indent = if width.saturating_sub(head.len()) >= 30 {
                " ".repeat(head.len())
            } else {
                " ".repeat(6)
            };
            out.push_str(&render::width::wrap(
                &format!("{head}{}", code.summary),
                width,
                "",
                &indent,
            ));
            out.push('\n');
        }
    }
    print(&out);
    exit::HEALTHY
}

fn explain(id: &str) -> u8 {
    match checks::find_code(id) {
        Some(code) => {
            let fix = code.fix.map(Applicability::as_str).unwrap_or("none");
            let width = render::width::columns();
            let explain: Vec<String> = code
                .explain
                .lines()
                .map(|line| render::width::wrap(line, width, "", "  "))
                .collect();
            print(&format!(
                "{}\n{}\nseverity: {} · fix: {}\n\n{}\n",
                code.id,
                render::width::wrap(code.summary, width, "", ""),
                code.severity.as_str(),
                fix,
                explain.join("\n")
            ));
            exit::HEALTHY
        }
        None => {
            eprintln!(
                "error: unknown code `{id}`{} (`instar-doctor list` shows every code)",
                crate::suggest::did_you_mean(id)
            );
            exit::FAILURE
        }
    }
}

/// Why a run gave no answer; rendered on stderr (and in the JSON document).
struct Failure {
    message: String,
    project_dir: Option<PathBuf>,
}

/// Exit 2 with the reason on stderr — and, in a machine format, a document that says the doctor
/// failed, on stdout or in the `-o` file, so a CI step that uploads it never finds a missing or
/// empty file and never reads the failure as a clean run.
fn fail(cli: &Cli, failure: Failure) -> u8 {
    eprintln!("error: {}", failure.message);
    let doc = render::json::failure(&failure.message, failure.project_dir.as_deref());
    let repo = failure
        .project_dir
        .as_deref()
        .map(|dir| render::paths::RepoPaths::discover(dir, github_workspace().as_deref()));
    // The human format has no failure document: stderr says it all, and a refused command
    // creates nothing.
    if !cli.format.is_machine() {
        return exit::FAILURE;
    }
    let written = write_report(cli.output_file.as_deref(), |out| {
        render::write_machine(cli.format, &doc, repo.as_ref(), threshold(cli.fail_on), out)
    });
    if let Err(message) = written {
        eprintln!("error: {message}");
    }
    exit::FAILURE
}

/// Writes a report to the `-o` file (created, or emptied) or to stdout, through a buffer, as it
/// is rendered: a machine document of 100,000 findings is never held whole (issue #11).
fn write_report(
    path: Option<&std::path::Path>,
    write: impl FnOnce(&mut dyn Write) -> std::io::Result<()>,
) -> Result<(), String> {
    match path {
        Some(path) => {
            // Renamed into place when whole (a stream such as /dev/stdout is written in place).
            let mut out = crate::output_file::OutputFile::create(path)
                .map_err(|err| cannot_create(path, &err))?;
            write(&mut out)
                .and_then(|()| out.commit())
                .map_err(|err| format!("cannot write -o file {}: {err}", path.display()))
        }
        None => {
            let mut out = std::io::BufWriter::new(std::io::stdout().lock());
            // A closed pipe (`| head`) is not an error worth reporting.
            let _ = write(&mut out).and_then(|()| out.flush());
            Ok(())
        }
    }
}

fn github_workspace() -> Option<PathBuf> {
    std::env::var_os("GITHUB_WORKSPACE").map(PathBuf::from)
}

/// What every run needs before it can look at the agent: where it is, which rules, what time.
struct Setup {
    project_dir: PathBuf,
    rules: Version,
    detected: Version,
    source: VersionSource,
    now: i64,
    /// `--instar-home`, for the machine area's view of this agent.
    instar_home: Option<PathBuf>,
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
        .with_instar_home(self.instar_home.clone())
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
        instar_home: cli
            .instar_home
            .as_ref()
            .map(|home| engine::normalize(&cwd.join(home))),
    })
}

/// Writers refuse while instar runs for this agent: its writers ignore our lock.
fn refuse_if_instar_runs(cli: &Cli, setup: &Setup) -> Result<(), Failure> {
    if cli.allow_running {
        return Ok(());
    }
    match instar_runtime::instar_running(
        &setup.project_dir.join(engine::STATE_DIR),
        &crate::host::SystemHost,
    ) {
        Some(holder) => Err(Failure {
            message: format!(
                "instar is running for this agent ({holder}); stop it first, or pass --allow-running"
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
    let progress = crate::progress::Progress::start(
        crate::progress::wanted_here(cli.format == Format::Human, false),
        "checking",
    );
    let report = engine::run(&cx, &selection(cli));
    drop(progress);
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
    // To a file the human report goes without colour and without the terminal's hint.
    let human = |to_file: bool| {
        let mut opts = human_options(cli);
        if to_file {
            opts.color = false;
            opts.hint = false;
            opts.width = render::width::columns_for_file();
        }
        let mut out = String::new();
        if cli.fix || cli.interactive {
            out.push_str(&if cli.verbose {
                render::human::render_fixed_all(cx, handled, run_id)
            } else {
                render::human::render_fixed(cx, handled, run_id)
            });
        }
        if cli.statistics {
            out.push_str(&render::concise::statistics(cx, report, &opts));
        } else if cli.format == Format::Concise {
            out.push_str(&render::concise::render(cx, report, &opts));
        } else {
            out.push_str(&render::human::render(cx, report, &opts));
        }
        out
    };
    let write_machine = |out: &mut dyn Write| {
        let doc = render::json::document_after_fix(cx, report, handled, exit_code);
        let repo =
            render::paths::RepoPaths::discover(&cx.project_dir, github_workspace().as_deref());
        render::write_machine(cli.format, &doc, Some(&repo), threshold(cli.fail_on), out)
    };
    let output_file = cli.output_file.as_deref();
    let written = match (cli.format.is_machine(), output_file) {
        (false, None) => {
            print(&human(false));
            Ok(())
        }
        // Like ruff's --output-file: the report goes to the file, nothing to the terminal.
        (false, Some(_)) => write_report(output_file, |out| out.write_all(human(true).as_bytes())),
        (true, None) => write_report(None, write_machine),
        (true, Some(_)) => write_report(output_file, write_machine).map(|()| print(&human(false))),
    };
    if let Err(message) = written {
        eprintln!("error: {message}");
        return exit::FAILURE;
    }
    exit_code
}

fn selection(cli: &Cli) -> Selection {
    crate::selection::from_options(&cli.select, &cli.ignore)
        .expect("validated by usage::validate before any run")
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
    let state = setup.project_dir.join(engine::STATE_DIR);
    // A run a killed doctor left half-applied is rolled back before anything else.
    match write::recover_interrupted(&setup.project_dir, &state) {
        Ok(recovered) => recovered.iter().for_each(|r| eprintln!("{}", r.notice())),
        Err(err) => {
            return fail(
                cli,
                Failure {
                    message: err.to_string(),
                    project_dir: Some(setup.project_dir.clone()),
                },
            )
        }
    }
    let (opts, mut confirmer) = fix_setup(cli);
    let interrupt = &repair::INTERRUPTED;
    let make_cx = || setup.context(cli.deep);
    let selection = selection(cli);
    // Each pass re-checks every file: the spinner says which pass and what is left.
    let progress = crate::progress::Progress::start(
        crate::progress::wanted_here(cli.format == Format::Human, cli.interactive),
        "fixing: checking",
    );
    let passes = std::cell::Cell::new(0usize);
    let check = |cx: &Context| {
        passes.set(passes.get() + 1);
        progress.set(format!("fix pass {}: checking", passes.get()));
        let report = engine::run(cx, &selection);
        progress.set(format!(
            "fix pass {}: {} findings to look at",
            passes.get(),
            report.diagnostics.len()
        ));
        report
    };
    let env = repair::RepairEnv {
        new_context: &make_cx,
        check: &check,
        interrupt,
        lock_pass: None,
    };
    let outcome = repair::repair(&env, &opts, &mut confirmer);
    // Cleared before anything is printed.
    drop(progress);
    match outcome {
        // Ctrl-C after the commit: too late to roll back, and the run is whole and undoable.
        // Stop as asked (130) and say what was kept rather than print a report as if not asked.
        Ok(outcome) if interrupt.load(std::sync::atomic::Ordering::SeqCst) => {
            match &outcome.run_id {
                Some(run) => eprintln!(
                    "interrupted after fix run {run} was committed: its changes are kept (`instar-doctor undo` reverts them)"
                ),
                None => eprintln!("interrupted: the run had changed nothing"),
            }
            exit::INTERRUPTED
        }
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
        Err(err @ repair::RepairError::Interrupted(_)) => {
            eprintln!("interrupted: {err}");
            err.exit_code()
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

/// What every fix run of the command line shares: its options, Ctrl-C armed (finish the file
/// being written, put everything back, exit 130), and the prompt on stderr.
fn fix_setup(
    cli: &Cli,
) -> (
    RepairOptions,
    prompt::TerminalConfirmer<'static, std::io::Stderr>,
) {
    let _ = ctrlc::set_handler(|| {
        repair::INTERRUPTED.store(true, std::sync::atomic::Ordering::SeqCst);
    });
    let confirmer = prompt::TerminalConfirmer {
        human: HumanOptions {
            color: prompt_color(cli.color),
            ..human_options(cli)
        },
        // Only a prompt reads stdin: `--fix` leaves it alone.
        lines: if cli.interactive {
            prompt::line_reader(std::io::stdin())
        } else {
            std::sync::mpsc::channel().1
        },
        out: std::io::stderr(),
        interrupt: &repair::INTERRUPTED,
    };
    let opts = RepairOptions {
        unsafe_fixes: cli.unsafe_fixes,
        interactive: cli.interactive,
    };
    (opts, confirmer)
}

/// `machine`: the machine area alone, its report, `--diff`, or a fix run under instar's locks.
fn machine(cli: &Cli) -> u8 {
    let failure = |message: String| Failure {
        message,
        project_dir: None,
    };
    let Some(machine) = machine_setup(cli) else {
        return fail(cli, failure(NO_INSTAR_HOME.to_string()));
    };
    let machine = match machine {
        Ok(machine) => machine,
        Err(message) => return fail(cli, failure(message)),
    };
    let selection = selection(cli);
    if !(cli.fix || cli.interactive) {
        let cx = machine.context();
        let report = machine_run::check(&cx, &selection);
        if !cli.diff {
            let code = exit_code(cli, &report);
            return emit(cli, &cx, &report, &[], None, code);
        }
        // The stale lock is no file edit: its line comes before the diffs.
        let stale = machine_run::stale_lock_finding(&report).is_some();
        if stale {
            print(&machine_run::stale_lock_diff(&cx));
        }
        let rest = machine_run::without_stale_lock(report);
        let code = diff(cli, &cx, &rest);
        return if stale && !cli.exit_zero && code == exit::HEALTHY {
            exit::FINDINGS
        } else {
            code
        };
    }
    if cli.interactive && !can_prompt() {
        return fail(
            cli,
            failure("-i needs a terminal to ask on; run `instar-doctor machine --fix` (add --unsafe-fixes for the unsafe ones) instead".to_string()),
        );
    }
    let (opts, mut confirmer) = fix_setup(cli);
    let interrupt = &repair::INTERRUPTED;
    match machine_run::fix(&machine, &selection, &opts, &mut confirmer, interrupt) {
        Ok(done) => {
            for recovered in &done.recovered {
                eprintln!("{}", recovered.notice());
            }
            let code = if done.report.crashed() {
                exit::FAILURE
            } else {
                exit_code(cli, &done.report)
            };
            emit(
                cli,
                &done.cx,
                &done.report,
                &done.handled,
                done.run_id.as_deref(),
                code,
            )
        }
        Err(machine_run::MachineError::Repair(err @ repair::RepairError::Interrupted(_))) => {
            eprintln!("interrupted: {err}");
            err.exit_code()
        }
        Err(err) => {
            let code = err.exit_code();
            fail(cli, failure(err.to_string()));
            code
        }
    }
}

const NO_INSTAR_HOME: &str =
    "no home folder (HOME is unset): pass --instar-home to name the per-user instar folder";

/// Where the machine run looks: `--instar-home` (from the working folder), else `~/.instar`.
fn machine_setup(cli: &Cli) -> Option<Result<machine_run::Machine, String>> {
    let host: std::sync::Arc<dyn crate::host::Host> = std::sync::Arc::new(crate::host::SystemHost);
    let cwd = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("."));
    let home = match &cli.instar_home {
        Some(home) => engine::normalize(&cwd.join(home)),
        None => host.instar_home()?,
    };
    let now = match now() {
        Ok(now) => now,
        Err(message) => return Some(Err(message)),
    };
    let version = match cli.instar_version.as_deref().map(str::parse::<Version>) {
        Some(Ok(v)) => Some(v),
        Some(Err(err)) => return Some(Err(format!("--instar-version: {err}"))),
        None => None,
    };
    Some(Ok(machine_run::Machine::new(home, host, version, now)))
}

/// `undo --machine [RUN]`.
fn machine_undo(cli: &Cli, run_id: Option<&str>, force: bool) -> u8 {
    let failure = |message: String| Failure {
        message,
        project_dir: None,
    };
    let machine = match machine_setup(cli) {
        None => return fail(cli, failure(NO_INSTAR_HOME.to_string())),
        Some(Err(message)) => return fail(cli, failure(message)),
        Some(Ok(machine)) => machine,
    };
    match machine_run::undo(&machine, run_id, force) {
        Ok(done) => {
            for recovered in &done.recovered {
                eprintln!("{}", recovered.notice());
            }
            print(&undo_summary(&done));
            exit::HEALTHY
        }
        Err(err) => fail(cli, failure(err.to_string())),
    }
}

/// Colour for the `-i` prompt, which is written to stderr: `--color`, else `NO_COLOR`, else
/// whether stderr is a terminal.
fn prompt_color(choice: ColorChoice) -> bool {
    match choice {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => {
            std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
                && std::io::stderr().is_terminal()
        }
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
            for recovered in &done.recovered {
                eprintln!("{}", recovered.notice());
            }
            if done.recovered.iter().any(|r| r.run_id == done.run_id) {
                print(&format!(
                    "undid run {} (it had been interrupted): restored {}\n",
                    done.run_id,
                    done.restored.join(", ")
                ));
                return exit::HEALTHY;
            }
            print(&undo_summary(&done));
            if let Some(saved) = &done.saved_as {
                print(&format!(
                    "your later edits to {} were backed up as run {saved}; `instar-doctor undo {saved}` brings them back\n",
                    done.overwritten.join(", ")
                ));
            }
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

/// `preflight`: in front of every boot. Quiet when instar can start; one screen on stderr when it
/// cannot; a doctor failure lets instar start unless `--strict`.
fn preflight(cli: &Cli, strict: bool) -> u8 {
    let setup = match setup(cli) {
        Ok(setup) => setup,
        Err(failure) => {
            eprintln!(
                "instar-doctor preflight could not check the agent: {}{}",
                failure.message,
                if strict {
                    ""
                } else {
                    "; starting instar anyway"
                }
            );
            return if strict { exit::FAILURE } else { exit::HEALTHY };
        }
    };
    let state = setup.project_dir.join(engine::STATE_DIR);
    let instar_pid =
        instar_runtime::instar_running(&state, &crate::host::SystemHost).map(|holder| holder.pid);
    let make_cx = || setup.context(false);
    let arm_interrupt = || {
        let _ = ctrlc::set_handler(|| {
            repair::INTERRUPTED.store(true, std::sync::atomic::Ordering::SeqCst);
        });
    };
    let run = crate::preflight::Preflight {
        project_dir: &setup.project_dir,
        new_context: &make_cx,
        instar_pid,
        now: setup.now,
        before_writing: &arm_interrupt,
    };
    let outcome = run.run(&repair::INTERRUPTED);
    // The record is a write like any other: never while instar holds the agent.
    if instar_pid.is_none() {
        if let Err(err) = crate::preflight::write_record(&setup.project_dir, &outcome.record) {
            eprintln!("instar-doctor preflight: could not write its record: {err}");
        }
    }
    crate::preflight::render(&setup.project_dir, &outcome, strict, &mut std::io::stderr());
    crate::preflight::exit_code(&outcome, strict)
}

fn hook(cli: &Cli, action: &HookAction) -> u8 {
    match action {
        HookAction::Install {
            preflight: true,
            yes,
            ..
        } => {
            let setup = match setup(cli) {
                Ok(setup) => setup,
                Err(failure) => return fail(cli, failure),
            };
            return crate::preflight::install::install_command(
                &setup.context(false),
                *yes,
                can_prompt(),
            );
        }
        HookAction::Uninstall { preflight: true } => {
            // Machine-wide: the run lives under ~/.instar/doctor, whatever the working folder.
            use crate::host::Host;
            let host = crate::host::SystemHost;
            let instar_home = cli.instar_home.clone().or_else(|| host.instar_home());
            return crate::preflight::install::uninstall_command(host.home_dir(), instar_home);
        }
        _ => {}
    }
    let cwd = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("."));
    let result = match action {
        HookAction::Install { .. } => crate::hook::install(&cwd),
        HookAction::Uninstall { .. } => crate::hook::uninstall(&cwd),
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

/// What an undo did, file by file: restored, or (a file the run had created) moved to the
/// doctor's quarantine, where it stays until removed by hand.
fn undo_summary(done: &write::UndoOutcome) -> String {
    let mut parts = Vec::new();
    if !done.restored.is_empty() {
        parts.push(format!("restored {}", done.restored.join(", ")));
    }
    if !done.quarantined.is_empty() {
        parts.push(format!(
            "moved to quarantine (.instar/doctor/quarantine/), as the run had created {}: {}",
            if done.quarantined.len() == 1 {
                "it"
            } else {
                "them"
            },
            done.quarantined.join(", ")
        ));
    }
    if parts.is_empty() {
        parts.push("nothing to put back".to_string());
    }
    format!("undid run {}: {}\n", done.run_id, parts.join("; "))
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
    // Coloured after the fact, line by line, on a terminal (or --color always): the patch
    // itself is built the same way either way.
    let out = if color_enabled(cli.color) {
        crate::prompt::colour_diff(&out)
    } else {
        out
    };
    if report.crashed() {
        eprint!("{out}");
        return exit::FAILURE;
    }
    print(&out);
    if let Some(line) = render::fix_summary::diff_summary(&report.diagnostics, cli.unsafe_fixes) {
        eprintln!("{line}");
    }
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
    let width = render::width::columns();
    HumanOptions {
        color: color_enabled(cli.color),
        width,
        quiet: cli.quiet,
        verbose: cli.verbose,
        threshold: threshold(cli.fail_on),
        hint: interactive_terminal(),
        cwd: std::env::current_dir().ok(),
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

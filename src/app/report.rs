//! The check command: the report in the chosen format, `--diff`, and the exit code.

use std::io::Write;

use super::output::{fail, github_workspace, write_report};
use super::setup::{selection, setup};
use crate::cli::{Cli, Format};
use crate::engine::{self, Context, Report};
use crate::exit;
use crate::render::{self, human::HumanOptions};

pub(super) fn check(cli: &Cli) -> u8 {
    let setup = match setup(cli) {
        Ok(setup) => setup,
        Err(failure) => return fail(cli, failure),
    };
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
pub(super) fn emit(
    cli: &Cli,
    cx: &Context,
    report: &Report,
    handled: &[crate::diag::Diagnostic],
    run_id: Option<&str>,
    exit_code: u8,
) -> u8 {
    // To a file the human report goes without colour and without the terminal's hint. It is
    // written as it is drawn: `-v` on 100,000 broken jobs is over 500 MB (issue #11).
    let human = |to_file: bool, out: &mut dyn Write| -> std::io::Result<()> {
        let mut opts = human_options(cli);
        if to_file {
            opts.color = false;
            opts.hint = false;
            opts.width = render::width::columns_for_file();
        }
        if cli.fix || cli.interactive {
            out.write_all(
                if cli.verbose {
                    render::human::render_fixed_all(cx, handled, run_id)
                } else {
                    render::human::render_fixed(cx, handled, run_id)
                }
                .as_bytes(),
            )?;
        }
        if cli.statistics {
            out.write_all(render::concise::statistics(cx, report, &opts).as_bytes())
        } else if cli.format == Format::Concise {
            out.write_all(render::concise::render(cx, report, &opts).as_bytes())
        } else {
            render::human::write(cx, report, &opts, out)
        }
    };
    let write_machine = |out: &mut dyn Write| {
        let doc = render::json::document_after_fix(cx, report, handled, exit_code);
        let repo =
            render::paths::RepoPaths::discover(&cx.project_dir, github_workspace().as_deref());
        render::write_machine(cli.format, &doc, Some(&repo), cli.fail_on.threshold(), out)
    };
    let output_file = cli.output_file.as_deref();
    let written = match (cli.format.is_machine(), output_file) {
        (false, None) => write_report(None, |out| human(false, out)),
        // Like ruff's --output-file: the report goes to the file, nothing to the terminal.
        (false, Some(_)) => write_report(output_file, |out| human(true, out)),
        (true, None) => write_report(None, write_machine),
        (true, Some(_)) => write_report(output_file, write_machine)
            .and_then(|()| write_report(None, |out| human(false, out))),
    };
    if let Err(message) = written {
        eprintln!("error: {message}");
        return exit::FAILURE;
    }
    exit_code
}

/// `--diff`: the diffs of the fixes `--fix` would apply. Exit 1 when there is any.
pub(super) fn diff(cli: &Cli, cx: &Context, report: &Report) -> u8 {
    let diff = render::diff::ReportDiff::plan(cx, report, cli.unsafe_fixes);
    let shown = diff.shown();
    // A crashed run's partial diff goes to stderr: stdout stays empty for `git apply`.
    let mut stdout;
    let mut stderr;
    let to: &mut dyn Write = if report.crashed() {
        stderr = std::io::stderr().lock();
        &mut stderr
    } else {
        stdout = std::io::stdout().lock();
        &mut stdout
    };
    if crate::terminal::stdout_color(cli.color) {
        // Coloured after the fact, line by line, on a terminal (or --color always): the
        // patch itself is built the same way either way.
        let mut plain = Vec::new();
        let _ = diff.write(cx, &mut plain);
        let coloured = crate::prompt::colour_diff(&String::from_utf8_lossy(&plain));
        let _ = to.write_all(coloured.as_bytes());
    } else {
        // Written as it is made: a diff removing 100,000 jobs is the file's size (issue
        // #11). A closed pipe (`| head`) stops it, and is not an error worth a word.
        let mut out = std::io::BufWriter::new(to);
        let _ = diff.write(cx, &mut out).and_then(|()| out.flush());
    }
    if report.crashed() {
        return exit::FAILURE;
    }
    if let Some(line) = render::fix_summary::diff_summary(&report.diagnostics, cli.unsafe_fixes) {
        eprintln!("{line}");
    }
    if shown > 0 && !cli.exit_zero {
        exit::FINDINGS
    } else {
        exit::HEALTHY
    }
}

pub(super) fn exit_code(cli: &Cli, report: &Report) -> u8 {
    if report.crashed() {
        return exit::FAILURE;
    }
    let threshold = cli.fail_on.threshold();
    let failing = report.diagnostics.iter().any(|d| d.severity >= threshold);
    if failing && !cli.exit_zero {
        exit::FINDINGS
    } else {
        exit::HEALTHY
    }
}

pub(super) fn human_options(cli: &Cli) -> HumanOptions {
    let width = render::width::columns();
    HumanOptions {
        color: crate::terminal::stdout_color(cli.color),
        width,
        quiet: cli.quiet,
        verbose: cli.verbose,
        threshold: cli.fail_on.threshold(),
        hint: crate::terminal::person_reads_stdout(),
        cwd: std::env::current_dir().ok(),
        command: rerun_command(cli),
    }
}

/// For `machine`, the command that checks the per-user files again (`--instar-home` kept when
/// it was given); `None` for an agent's run, whose command the renderer builds from `--dir`.
fn rerun_command(cli: &Cli) -> Option<String> {
    if !matches!(cli.command, Some(crate::cli::Command::Machine(_))) {
        return None;
    }
    Some(match &cli.instar_home {
        Some(home) => format!(
            "instar-doctor machine --instar-home {}",
            render::fix_summary::shell_word(&home.display().to_string())
        ),
        None => "instar-doctor machine".to_string(),
    })
}

//! `--fix` and `-i` on an agent: a fix run to a fixpoint, then the report of what remains.

use super::output::{fail, Failure};
use super::report::{emit, exit_code, human_options};
use super::setup::{refuse_if_instar_runs, selection, setup, Setup};
use crate::cli::{Cli, Format};
use crate::engine::{self, Context};
use crate::exit;
use crate::prompt;
use crate::render::human::HumanOptions;
use crate::repair::{self, RepairError, RepairOptions, RepairOutcome};
use crate::write;

/// `--fix` and `-i`: a fix run to a fixpoint, then the report of what remains.
pub(super) fn fix(cli: &Cli) -> u8 {
    let setup = &match setup(cli) {
        Ok(setup) => setup,
        Err(failure) => return fail(cli, failure),
    };
    if let Err(failure) = ready_to_write(cli, setup) {
        return fail(cli, failure);
    }
    let outcome = run_passes(cli, setup);
    finish(cli, setup, outcome)
}

/// Whether this run may write at all: instar not running, a terminal for `-i`, and no run a
/// killed doctor left half-applied (it is rolled back before anything else).
fn ready_to_write(cli: &Cli, setup: &Setup) -> Result<(), Failure> {
    let failure = |message: String| Failure {
        message,
        project_dir: Some(setup.project_dir.clone()),
    };
    refuse_if_instar_runs(cli, setup)?;
    if cli.interactive && !crate::terminal::can_prompt() {
        return Err(failure("-i needs a terminal to ask on; run `instar-doctor --fix` (add --unsafe-fixes for the unsafe ones) instead".to_string()));
    }
    let state = setup.project_dir.join(engine::STATE_DIR);
    let recovered = write::recover_interrupted(&setup.project_dir, &state)
        .map_err(|err| failure(err.to_string()))?;
    recovered.iter().for_each(|r| eprintln!("{}", r.notice()));
    Ok(())
}

/// The fix passes to a fixpoint, with a spinner that says which pass and what is left (each pass
/// re-checks every file).
fn run_passes(cli: &Cli, setup: &Setup) -> Result<RepairOutcome, RepairError> {
    let (opts, mut confirmer) = fix_setup(cli);
    let make_cx = || setup.context(cli.deep);
    let selection = selection(cli);
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
        interrupt: &repair::INTERRUPTED,
        lock_pass: None,
    };
    let outcome = repair::repair(&env, &opts, &mut confirmer);
    // Cleared before anything is printed.
    drop(progress);
    outcome
}

/// What a fix run ends with: the report of what remains, or why it stopped.
fn finish(cli: &Cli, setup: &Setup, outcome: Result<RepairOutcome, RepairError>) -> u8 {
    match outcome {
        // Ctrl-C after the commit: too late to roll back, and the run is whole and undoable.
        // Stop as asked (130) and say what was kept rather than print a report as if not asked.
        Ok(outcome) if repair::INTERRUPTED.load(std::sync::atomic::Ordering::SeqCst) => {
            match &outcome.run_id {
                Some(run) => eprintln!(
                    "interrupted after fix run {run} was committed: its changes are kept (`instar-doctor undo` reverts them)"
                ),
                None => eprintln!("interrupted: the run had changed nothing"),
            }
            exit::INTERRUPTED
        }
        Ok(outcome) => {
            // A crashed check makes it exit 2 (`exit_code`).
            let code = exit_code(cli, &outcome.report);
            emit(
                cli,
                &outcome.cx,
                &outcome.report,
                &outcome.handled,
                outcome.run_id.as_deref(),
                code,
            )
        }
        Err(err @ RepairError::Interrupted(_)) => {
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
pub(super) fn fix_setup(
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
            color: crate::terminal::stderr_color(cli.color),
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

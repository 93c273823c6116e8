//! `machine` and `undo --machine`: the per-user files, checked, diffed, fixed or put back.

use std::path::PathBuf;

use super::fix::fix_setup;
use super::output::{fail, Failure};
use super::report::{diff, emit, exit_code};
use super::setup::selection;
use super::undo::undo_summary;
use crate::cli::Cli;
use crate::engine;
use crate::exit;
use crate::machine_run;
use crate::repair;
use crate::terminal::print;
use crate::version::Version;

/// `machine`: the machine area alone, its report, `--diff`, or a fix run under instar's locks.
pub(super) fn machine(cli: &Cli) -> u8 {
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
    if cli.interactive && !crate::terminal::can_prompt() {
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
            // A crashed check makes it exit 2 (`exit_code`).
            let code = exit_code(cli, &done.report);
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
    let now = match crate::clock::now() {
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
pub(super) fn machine_undo(cli: &Cli, run_id: Option<&str>, force: bool) -> u8 {
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

//! The commands that stand in front of something else: `preflight` before instar boots, and the
//! hooks (`hook install|uninstall`, the git pre-push hook or the boot preflight).

use std::path::PathBuf;

use super::output::fail;
use super::setup::setup;
use crate::cli::{Cli, HookAction};
use crate::engine;
use crate::exit;
use crate::instar_runtime;
use crate::repair;
use crate::terminal::print;

/// `preflight`: in front of every boot. Quiet when instar can start; one screen on stderr when it
/// cannot; a doctor failure lets instar start unless `--strict`.
pub(super) fn preflight(cli: &Cli, strict: bool) -> u8 {
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

pub(super) fn hook(cli: &Cli, action: &HookAction) -> u8 {
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
                crate::terminal::can_prompt(),
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

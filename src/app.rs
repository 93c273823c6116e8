//! What a command line asks for, carried out: parse → discover → run → render → exit code.
//!
//! This file turns the arguments into one command and hands it to the module that carries it out;
//! each command's flow lives in its own file under `src/app/`.

mod catalogue;
mod fix;
mod gates;
mod machine;
mod output;
mod report;
mod setup;
mod undo;
mod usage_error;

use std::ffi::OsString;

use crate::cli::{Cli, Command, HookAction};
use crate::exit;
use crate::terminal::print;
use output::{fail, Failure};

pub use catalogue::completions;

/// Runs the doctor with these arguments (argv[0] included) and returns the exit code.
pub fn main(args: Vec<OsString>) -> u8 {
    let (mut cli, matches) = match parse(args) {
        Ok(parsed) => parsed,
        Err(code) => return code,
    };
    if let Some(Command::Scan(args)) = &cli.command {
        return crate::scan::main(&cli, &matches, args);
    }
    lift_subcommand_options(&mut cli);
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
    dispatch(&cli)
}

/// The parsed command line, or the exit code of clap's answer (an error, or `--help`/`--version`
/// printed).
fn parse(args: Vec<OsString>) -> Result<(Cli, clap::ArgMatches), u8> {
    let parsed = <Cli as clap::CommandFactory>::command()
        .try_get_matches_from(args)
        .and_then(|matches| {
            <Cli as clap::FromArgMatches>::from_arg_matches(&matches).map(|cli| (cli, matches))
        });
    parsed.map_err(|err| {
        match usage_error::usage_error_text(&err) {
            Some(text) => eprint!("{text}"),
            None => {
                let _ = err.print();
            }
        }
        if err.use_stderr() {
            exit::FAILURE
        } else {
            exit::HEALTHY
        }
    })
}

/// Subcommands take the few run options they use as their own (clap refuses the others after a
/// subcommand); the shared code reads them from the top level, so they are lifted there.
fn lift_subcommand_options(cli: &mut Cli) {
    match &cli.command {
        Some(Command::Undo {
            dir,
            allow_running,
            machine,
            instar_home,
            ..
        }) => {
            cli.dir = dir.clone().or(cli.dir.take());
            cli.allow_running |= *allow_running;
            if *machine {
                cli.instar_home = instar_home.clone();
            }
        }
        Some(Command::Preflight {
            dir,
            instar_version,
            ..
        }) => {
            cli.dir = dir.clone().or(cli.dir.take());
            cli.instar_version = instar_version.clone().or(cli.instar_version.take());
        }
        Some(Command::Hook {
            action: HookAction::Install { dir, .. },
        }) => {
            cli.dir = dir.clone().or(cli.dir.take());
        }
        // `machine` has its own copy of the run options it takes (clap refuses them before it);
        // the shared report and diff code reads them from the top level.
        Some(Command::Machine(args)) => {
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
        _ => {}
    }
}

/// The command, carried out by the module whose job it is.
fn dispatch(cli: &Cli) -> u8 {
    match &cli.command {
        Some(Command::List) => catalogue::list(),
        Some(Command::Explain { code }) => catalogue::explain(code),
        Some(Command::Undo {
            run_id,
            force,
            machine: true,
            ..
        }) => machine::machine_undo(cli, run_id.as_deref(), *force),
        Some(Command::Undo { run_id, force, .. }) => undo::undo(cli, run_id.as_deref(), *force),
        Some(Command::Machine(_)) => machine::machine(cli),
        Some(Command::Hook { action }) => gates::hook(cli, action),
        Some(Command::Preflight { strict, .. }) => gates::preflight(cli, *strict),
        Some(Command::Completions { shell }) => {
            print(&completions(*shell));
            exit::HEALTHY
        }
        Some(Command::Scan(_)) => unreachable!("scan is dispatched before the options are lifted"),
        None if cli.fix || cli.interactive => fix::fix(cli),
        None => report::check(cli),
    }
}

//! Options that do not apply are refused, never silently ignored (design §8 "Nothing passes by
//! mistake"). Clap refuses what no command takes; this is the rest: combinations that parse
//! but would drop an option on the floor, and `--select`/`--ignore` entries that name nothing.
//! Each refusal is one line saying what to do instead.

use clap::parser::ValueSource;
use clap::ArgMatches;

use crate::cli::{Cli, Command, Format};
use crate::engine::Selection;
use crate::selection;

fn format_name(format: Format) -> &'static str {
    match format {
        Format::Human => "human",
        Format::Concise => "concise",
        Format::Json => "json",
        Format::Sarif => "sarif",
        Format::Github => "github",
        Format::Junit => "junit",
    }
}

/// Options of the check run given before a subcommand (`instar-doctor --format json list`):
/// clap accepts them there, and the subcommand would ignore them, so they are refused — except
/// what `undo` uses. Only options typed on the command line count, not defaults.
pub fn refuse_run_options(cli: &Cli, matches: &ArgMatches) -> Result<(), String> {
    let Some(command) = &cli.command else {
        return Ok(());
    };
    let (name, takes): (&str, &[&str]) = match command {
        Command::List => ("list", &[]),
        Command::Explain { .. } => ("explain", &[]),
        Command::Hook { .. } => ("hook", &[]),
        Command::Completions { .. } => ("completions", &[]),
        Command::Undo { .. } => ("undo", &["dir", "allow_running"]),
        Command::Preflight { .. } => ("preflight", &["dir", "instar_version"]),
        Command::Scan(_) => ("scan", &[]),
        Command::Machine(_) => ("machine", &[]),
    };
    let definition = <Cli as clap::CommandFactory>::command();
    for arg in definition.get_arguments() {
        let id = arg.get_id().as_str();
        if takes.contains(&id) || matches.value_source(id) != Some(ValueSource::CommandLine) {
            continue;
        }
        let flag = match (arg.get_long(), arg.get_short()) {
            (Some(long), _) => format!("--{long}"),
            (None, Some(short)) => format!("-{short}"),
            (None, None) => id.to_string(),
        };
        // `scan` has its own copy of the options that apply to it: say where they go.
        if name == "scan" && crate::scan::takes(id) {
            return Err(format!(
                "{flag} goes after `scan`: `instar-doctor scan {flag} …`"
            ));
        }
        return Err(format!(
            "{flag} does not apply to `{name}`; see `instar-doctor {name} --help`"
        ));
    }
    Ok(())
}

/// Checks a parsed command line of the check or fix run; returns what it selects.
pub fn validate(cli: &Cli) -> Result<Selection, String> {
    if cli.command.is_none() {
        let machine = cli.format.is_machine();
        if cli.statistics && (cli.format != Format::Human || cli.diff || cli.quiet) {
            return Err(
                "--statistics is a view of the human report; drop --format, --diff or -q"
                    .to_string(),
            );
        }
        if cli.diff && cli.format == Format::Concise {
            return Err(
                "--diff prints a unified diff, not --format concise; drop one of them".to_string(),
            );
        }
        if cli.diff && machine {
            return Err(format!(
                "--diff prints a unified diff, not --format {}; drop one of them",
                format_name(cli.format)
            ));
        }
        if cli.interactive && machine {
            return Err(format!(
                "-i asks on the terminal and cannot write --format {}; use --fix (with --unsafe-fixes if wanted) instead",
                format_name(cli.format)
            ));
        }
        if cli.unsafe_fixes && !(cli.fix || cli.diff || cli.interactive) {
            return Err(
                "--unsafe-fixes only applies with --fix, --diff or -i; a check never changes anything"
                    .to_string(),
            );
        }
        if cli.diff && cli.output_file.is_some() {
            return Err(
                "-o does not apply to --diff, which prints to stdout; redirect it to a file instead"
                    .to_string(),
            );
        }
    }
    if let Some(Command::Scan(args)) = &cli.command {
        return selection::from_options(&args.select, &args.ignore);
    }
    selection::from_options(&cli.select, &cli.ignore)
}

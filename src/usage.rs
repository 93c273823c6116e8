//! Options that do not apply are refused, never silently ignored (design §8 "Nothing passes by
//! mistake"). Clap refuses what no command takes; this is the rest: combinations that parse
//! but would drop an option on the floor, and `--select`/`--ignore` entries that name nothing.
//! Each refusal is one line saying what to do instead.

use crate::cli::{Cli, Format};
use crate::engine::Selection;
use crate::selection;

fn format_name(format: Format) -> &'static str {
    match format {
        Format::Human => "human",
        Format::Json => "json",
        Format::Sarif => "sarif",
        Format::Github => "github",
        Format::Junit => "junit",
    }
}

/// Checks a parsed command line of the check or fix run; returns what it selects.
pub fn validate(cli: &Cli) -> Result<Selection, String> {
    if cli.command.is_none() {
        let machine = cli.format != Format::Human;
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
    selection::from_options(&cli.select, &cli.ignore)
}

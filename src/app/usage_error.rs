//! Clap's usage errors, reworded where its own tip would mislead.

use crate::cli::Cli;

/// Clap's message for an unknown argument, without its tip to pass it as a value after `--`
/// (no command here takes a value starting with a dash, so that tip only misleads) and, for a
/// check option given after a subcommand, with where it belongs. `None`: clap's text as it is.
pub(super) fn usage_error_text(err: &clap::Error) -> Option<String> {
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

//! What the terminal around the process says, asked in one place for every command: whether
//! stdout or stderr wants colour, whether a person is there to be asked, and writing to stdout
//! where a closed pipe (`| head`) is no error worth a panic.

use std::io::{IsTerminal, Write};

use crate::cli::ColorChoice;

/// Colour on stdout: `--color`, else `NO_COLOR`, else `CLICOLOR_FORCE`, else whether stdout is
/// a terminal.
pub fn stdout_color(choice: ColorChoice) -> bool {
    match choice {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => {
            let set = |name: &str| std::env::var_os(name).is_some_and(|v| !v.is_empty());
            if set("NO_COLOR") {
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

/// Colour for the `-i` prompt, which is written to stderr: `--color`, else `NO_COLOR`, else
/// whether stderr is a terminal.
pub fn stderr_color(choice: ColorChoice) -> bool {
    match choice {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => {
            std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
                && std::io::stderr().is_terminal()
        }
    }
}

/// Prompts only with a person at both ends: stdin and stderr terminals, and not under CI.
pub fn can_prompt() -> bool {
    std::io::stdin().is_terminal()
        && std::io::stderr().is_terminal()
        && std::env::var_os("CI").is_none()
}

/// A person reads stdout (a terminal, not under CI): the report may end with a hint.
pub fn person_reads_stdout() -> bool {
    std::io::stdout().is_terminal() && std::env::var_os("CI").is_none()
}

/// Writes to stdout; a closed pipe (`| head`) is not an error worth a panic.
pub fn print(text: &str) {
    let mut stdout = std::io::stdout().lock();
    let _ = stdout.write_all(text.as_bytes());
    let _ = stdout.flush();
}

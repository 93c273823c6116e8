//! How wide the human report (and `list`, `explain`) may be, and wrapping that never breaks a
//! path, a command or a code.
//!
//! `COLUMNS` wins when set (the tests set it, so nothing depends on the terminal they run in);
//! else the terminal's real width when stdout is one; else — a pipe or a file — no wrapping at
//! all, so `grep` and editors see each message on one line.

use std::io::IsTerminal;

/// The width used when nothing should wrap (a pipe, a file).
pub const UNWRAPPED: usize = 1 << 16;

/// Narrower than this, nothing reads well; a smaller `COLUMNS` is ignored.
const MIN: usize = 40;

pub fn columns() -> usize {
    decide(
        std::env::var("COLUMNS").ok().as_deref(),
        std::io::stdout()
            .is_terminal()
            .then(|| terminal_size::terminal_size().map(|(w, _)| w.0 as usize))
            .flatten(),
        std::io::stdout().is_terminal(),
    )
}

/// For a report written to a file (`-o`): like a pipe, unwrapped unless `COLUMNS` says otherwise.
pub fn columns_for_file() -> usize {
    decide(std::env::var("COLUMNS").ok().as_deref(), None, false)
}

/// The decision, apart from the environment it reads (tested below).
fn decide(columns_var: Option<&str>, terminal: Option<usize>, is_terminal: bool) -> usize {
    if let Some(w) = columns_var
        .and_then(|c| c.trim().parse::<usize>().ok())
        .filter(|w| *w >= MIN)
    {
        return w;
    }
    match (is_terminal, terminal) {
        (true, Some(w)) => w.max(MIN),
        // A terminal that will not say its size: the classic 80.
        (true, None) => 80,
        (false, _) => UNWRAPPED,
    }
}

/// `text` wrapped at `width` with `indent` before every line after the first. Words are split
/// only at spaces: a path, a command or a code (`jobs/invalid-cron`, `--unsafe-fixes`) is never
/// cut, even when it is longer than the line.
pub fn wrap(text: &str, width: usize, first_indent: &str, indent: &str) -> String {
    if width >= UNWRAPPED {
        return format!("{first_indent}{text}");
    }
    let options = textwrap::Options::new(width)
        .initial_indent(first_indent)
        .subsequent_indent(indent)
        .break_words(false)
        .word_separator(textwrap::WordSeparator::AsciiSpace)
        .word_splitter(textwrap::WordSplitter::NoHyphenation);
    // A `command in backticks` is one word to the wrapper: its spaces become no-break spaces
    // (which the ASCII-space separator never splits at) and are put back after.
    let mut protected = String::with_capacity(text.len());
    let mut quoted = false;
    for c in text.chars() {
        if c == '`' {
            quoted = !quoted;
        }
        protected.push(if quoted && c == ' ' { NBSP } else { c });
    }
    textwrap::fill(&protected, options).replace(NBSP, " ")
}

const NBSP: char = '\u{a0}';

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_wins_then_the_terminal_then_no_wrapping() {
        assert_eq!(decide(Some("120"), Some(90), true), 120);
        assert_eq!(decide(Some("12"), Some(90), true), 90);
        assert_eq!(decide(None, Some(132), true), 132);
        assert_eq!(decide(None, None, true), 80);
        assert_eq!(decide(None, None, false), UNWRAPPED);
        assert_eq!(decide(Some("80"), None, false), 80);
    }

    #[test]
    fn wrapping_never_cuts_a_path_or_a_flag() {
        let text = "run instar-doctor --fix --unsafe-fixes on /very/long/path/to/an/agent/.instar/jobs.json now";
        let wrapped = wrap(text, 20, "", "  ");
        for word in text.split(' ') {
            assert!(
                wrapped
                    .lines()
                    .any(|l| l.trim() == word || l.split(' ').any(|w| w == word)),
                "{word:?} was cut:\n{wrapped}"
            );
        }
        assert_eq!(wrap(text, UNWRAPPED, "", "  "), text);
        let hint = "hint: `instar-doctor --fix --unsafe-fixes` clears it";
        assert!(wrap(hint, 20, "", "").contains("`instar-doctor --fix --unsafe-fixes`"));
    }
}

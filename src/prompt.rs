//! The `-i` question, asked the way `git add -p` asks: one fix at a time with its diff, a
//! counter, and `y n a q d ?`.
//!
//! The fix loop asks through the `Confirmer` trait, so it is tested with a scripted confirmer
//! and the terminal is only one implementation. The terminal one reads lines itself (on a helper
//! thread) instead of blocking in a library call: a Ctrl-C at the prompt must stop the run at
//! once, and a blocked read would wait for Enter first.

use std::collections::VecDeque;
use std::io::{BufRead, BufReader, Read, Write};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::time::Duration;

use owo_colors::OwoColorize;

use crate::diag::Diagnostic;
use crate::engine::Context;
use crate::render::{self, human::HumanOptions};

/// What the person said about one fix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Answer {
    /// `y`: apply this fix.
    Yes,
    /// `n`: do not apply this fix.
    No,
    /// `a`: apply this fix and every remaining one of the same code without asking again.
    All,
    /// `q`: do not apply this fix nor any remaining one; those already accepted are applied.
    Quit,
    /// `d`: do not apply this fix nor any later fix in the same file.
    SkipFile,
    /// Ctrl-C: roll back the whole run and exit 130.
    Interrupt,
}

/// One question: the finding whose fix is offered, and where it stands in this pass ("3/9").
pub struct Offer<'a> {
    pub cx: &'a Context,
    pub diagnostic: &'a Diagnostic,
    /// 1-based.
    pub index: usize,
    pub total: usize,
}

pub trait Confirmer {
    fn confirm(&mut self, offer: &Offer<'_>) -> Answer;
}

pub const HELP: &str = "\
y - apply this fix
n - do not apply this fix
a - apply this fix and every remaining fix of the same code
q - quit; do not apply this fix or any remaining ones (fixes already accepted are applied)
d - do not apply this fix or any later fix in this file
? - print help
Ctrl-C - stop now: put back every file this run changed
";

/// A typed reply: an answer, or a request for help (`?`, and anything not understood).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reply {
    Answer(Answer),
    Help,
}

/// Parses one line the way git does: the first letter counts, case-insensitively; an empty line
/// or anything else shows the help (never a silent default for a write).
pub fn parse_reply(line: &str) -> Reply {
    match line.trim().chars().next().map(|c| c.to_ascii_lowercase()) {
        Some('y') => Reply::Answer(Answer::Yes),
        Some('n') => Reply::Answer(Answer::No),
        Some('a') => Reply::Answer(Answer::All),
        Some('q') => Reply::Answer(Answer::Quit),
        Some('d') => Reply::Answer(Answer::SkipFile),
        _ => Reply::Help,
    }
}

/// Colours a unified diff for a terminal: removals red, additions green, hunk headers cyan.
pub fn colour_diff(diff: &str) -> String {
    let mut out = String::with_capacity(diff.len());
    for line in diff.split_inclusive('\n') {
        let (body, newline) = match line.strip_suffix('\n') {
            Some(body) => (body, "\n"),
            None => (line, ""),
        };
        let coloured = if body.starts_with("+++") || body.starts_with("---") {
            body.bold().to_string()
        } else if body.starts_with('+') {
            body.green().to_string()
        } else if body.starts_with('-') {
            body.red().to_string()
        } else if body.starts_with("@@") {
            body.cyan().to_string()
        } else {
            body.to_string()
        };
        out.push_str(&coloured);
        out.push_str(newline);
    }
    out
}

/// Lines read from `input` on a helper thread; `None` at end of input.
pub fn line_reader(input: impl Read + Send + 'static) -> Receiver<Option<String>> {
    let (send, receive) = mpsc::channel();
    std::thread::spawn(move || {
        let mut input = BufReader::new(input);
        loop {
            let mut line = String::new();
            let read = input.read_line(&mut line);
            let end = !matches!(read, Ok(n) if n > 0);
            if send.send((!end).then_some(line)).is_err() || end {
                return;
            }
        }
    });
    receive
}

/// Asks on a terminal: the finding and its diff on stderr, a line from stdin.
pub struct TerminalConfirmer<'a, W: Write> {
    pub human: HumanOptions,
    pub lines: Receiver<Option<String>>,
    pub out: W,
    pub interrupt: &'a AtomicBool,
}

impl<W: Write> TerminalConfirmer<'_, W> {
    /// Waits for a line, giving up at once when Ctrl-C sets the flag.
    fn read_reply(&mut self) -> Option<Reply> {
        loop {
            if self.interrupt.load(Ordering::SeqCst) {
                return Some(Reply::Answer(Answer::Interrupt));
            }
            match self.lines.recv_timeout(Duration::from_millis(50)) {
                Ok(Some(line)) => return Some(parse_reply(&line)),
                // End of input (Ctrl-D) is a quit, as in git.
                Ok(None) | Err(RecvTimeoutError::Disconnected) => return None,
                Err(RecvTimeoutError::Timeout) => continue,
            }
        }
    }
}

impl<W: Write> Confirmer for TerminalConfirmer<'_, W> {
    fn confirm(&mut self, offer: &Offer<'_>) -> Answer {
        let d = offer.diagnostic;
        // The finding and its fix's diff, both redacted over whole files (render::diff), as in
        // `render::diff::preview`; only the diff is coloured.
        let mut sources = render::Sources::default();
        let mut text = render::human::render_diagnostic(offer.cx, &mut sources, d, &self.human);
        if let Some(fix) = &d.fix {
            let diff = render::diff::fix_diff(offer.cx, fix);
            text.push_str(&if self.human.color {
                colour_diff(&diff)
            } else {
                diff
            });
        }
        let _ = write!(self.out, "{text}");
        loop {
            let question = format!(
                "({}/{}) Apply this fix [y,n,a,q,d,?]? ",
                offer.index, offer.total
            );
            let question = if self.human.color {
                question.blue().bold().to_string()
            } else {
                question
            };
            let _ = write!(self.out, "{question}");
            let _ = self.out.flush();
            match self.read_reply() {
                Some(Reply::Answer(answer)) => {
                    if answer == Answer::Interrupt {
                        let _ = writeln!(self.out);
                    }
                    return answer;
                }
                Some(Reply::Help) => {
                    let _ = write!(self.out, "{HELP}");
                }
                None => {
                    let _ = writeln!(self.out);
                    return Answer::Quit;
                }
            }
        }
    }
}

/// Answers from a script, for tests; records each question as (code, index, total) and panics
/// when asked more than scripted, so a test also proves what was not asked.
#[derive(Default)]
pub struct Scripted {
    pub answers: VecDeque<Answer>,
    pub asked: Vec<(String, usize, usize)>,
}

impl Scripted {
    pub fn new(answers: &[Answer]) -> Self {
        Scripted {
            answers: answers.iter().copied().collect(),
            asked: Vec::new(),
        }
    }
}

impl Confirmer for Scripted {
    fn confirm(&mut self, offer: &Offer<'_>) -> Answer {
        self.asked.push((
            offer.diagnostic.code.id.to_string(),
            offer.index,
            offer.total,
        ));
        self.answers
            .pop_front()
            .unwrap_or_else(|| panic!("asked more than scripted: {:?}", self.asked))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replies_follow_git_add_p() {
        let cases = [
            ("y\n", Reply::Answer(Answer::Yes)),
            ("Yes\n", Reply::Answer(Answer::Yes)),
            ("n\n", Reply::Answer(Answer::No)),
            ("a\n", Reply::Answer(Answer::All)),
            ("q\n", Reply::Answer(Answer::Quit)),
            ("d\n", Reply::Answer(Answer::SkipFile)),
            ("?\n", Reply::Help),
            ("\n", Reply::Help),
            ("x\n", Reply::Help),
        ];
        for (line, reply) in cases {
            assert_eq!(parse_reply(line), reply, "{line:?}");
        }
    }

    #[test]
    fn diffs_are_coloured_only_where_they_change() {
        let diff = "--- a/x\n+++ b/x\n@@ -1 +1 @@\n-old\n+new\n same\n";
        let coloured = colour_diff(diff);
        assert!(
            coloured.contains("\u{1b}[31m-old\u{1b}[39m"),
            "{coloured:?}"
        );
        assert!(
            coloured.contains("\u{1b}[32m+new\u{1b}[39m"),
            "{coloured:?}"
        );
        assert!(coloured.ends_with(" same\n"));
    }

    fn agent_cx() -> (tempfile::TempDir, Context) {
        let dir = tempfile::tempdir().unwrap();
        let cx = Context::at_version(dir.path().to_path_buf(), crate::version::NEWEST_KNOWN, 0);
        (dir, cx)
    }

    fn terminal<'a>(input: &str, interrupt: &'a AtomicBool) -> TerminalConfirmer<'a, Vec<u8>> {
        TerminalConfirmer {
            human: HumanOptions {
                color: false,
                width: 80,
                quiet: false,
                verbose: false,
                threshold: crate::diag::Severity::Info,
                hint: false,
                cwd: None,
                command: None,
            },
            lines: line_reader(std::io::Cursor::new(input.as_bytes().to_vec())),
            out: Vec::new(),
            interrupt,
        }
    }

    fn finding() -> Diagnostic {
        Diagnostic::new(
            &crate::checks::doctor::INTERRUPTED_RUN,
            crate::diag::Effect::None,
            "x",
        )
    }

    #[test]
    fn the_terminal_prompt_counts_helps_and_reads_answers() {
        let (_d, cx) = agent_cx();
        let flag = AtomicBool::new(false);
        let mut term = terminal("?\nd\n", &flag);
        let d = finding();
        let offer = Offer {
            cx: &cx,
            diagnostic: &d,
            index: 3,
            total: 9,
        };
        assert_eq!(term.confirm(&offer), Answer::SkipFile);
        let shown = String::from_utf8(term.out).unwrap();
        assert_eq!(
            shown
                .matches("(3/9) Apply this fix [y,n,a,q,d,?]? ")
                .count(),
            2
        );
        assert!(shown.contains("d - do not apply this fix or any later fix in this file"));
        // End of input is a quit, never a yes.
        let mut term = terminal("", &flag);
        assert_eq!(term.confirm(&offer), Answer::Quit);
    }

    /// Ctrl-C while the prompt waits for a line: the answer is an interrupt at once, without
    /// waiting for Enter (the old prompt took it as "no" and asked the next question).
    #[test]
    fn ctrl_c_at_the_prompt_interrupts_without_waiting_for_a_line() {
        let (_d, cx) = agent_cx();
        let flag = AtomicBool::new(false);
        let (reader, _writer) = std::io::pipe().unwrap(); // never written: the read blocks
        let mut term = terminal("", &flag);
        term.lines = line_reader(reader);
        let d = finding();
        let offer = Offer {
            cx: &cx,
            diagnostic: &d,
            index: 1,
            total: 1,
        };
        std::thread::scope(|s| {
            s.spawn(|| {
                std::thread::sleep(Duration::from_millis(100));
                flag.store(true, Ordering::SeqCst);
            });
            let started = std::time::Instant::now();
            assert_eq!(term.confirm(&offer), Answer::Interrupt);
            assert!(started.elapsed() < Duration::from_secs(5));
        });
    }
}

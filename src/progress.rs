//! Progress on stderr for work that takes more than about a second (issue #11): a spinner with
//! what is being done, drawn only on a terminal, never under CI, never beside a machine format
//! or a prompt, and only once the work has lasted a second, so quick runs print nothing extra.

use std::io::IsTerminal;
use std::time::Duration;

/// How long work runs before its progress is shown.
const SHOW_AFTER: Duration = Duration::from_secs(1);

/// Whether progress may be drawn: stderr is a terminal, `CI` is not set, the report is the human
/// one (a machine format's reader wants nothing else) and no prompt shares the terminal.
pub fn wanted(stderr_is_terminal: bool, ci: bool, human_format: bool, prompting: bool) -> bool {
    stderr_is_terminal && !ci && human_format && !prompting
}

/// `wanted` for this process.
pub fn wanted_here(human_format: bool, prompting: bool) -> bool {
    wanted(
        std::io::stderr().is_terminal(),
        std::env::var_os("CI").is_some(),
        human_format,
        prompting,
    )
}

/// A spinner that stays hidden for its first second; dropped, it clears its line.
pub struct Progress {
    bar: Option<indicatif::ProgressBar>,
}

impl Progress {
    /// Starts the work's progress with `message`; `enabled` comes from `wanted`.
    pub fn start(enabled: bool, message: &str) -> Progress {
        if !enabled {
            return Progress { bar: None };
        }
        let bar =
            indicatif::ProgressBar::with_draw_target(None, indicatif::ProgressDrawTarget::hidden());
        if let Ok(style) = indicatif::ProgressStyle::with_template("{spinner} {msg} ({elapsed})") {
            bar.set_style(style);
        }
        bar.set_message(message.to_string());
        let shown = bar.clone();
        std::thread::spawn(move || {
            std::thread::sleep(SHOW_AFTER);
            if !shown.is_finished() {
                shown.set_draw_target(indicatif::ProgressDrawTarget::stderr());
                shown.enable_steady_tick(Duration::from_millis(120));
            }
        });
        Progress { bar: Some(bar) }
    }

    pub fn set(&self, message: String) {
        if let Some(bar) = &self.bar {
            bar.set_message(message);
        }
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        if let Some(bar) = self.bar.take() {
            bar.finish_and_clear();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_terminal_outside_ci_with_the_human_report_and_no_prompt() {
        assert!(wanted(true, false, true, false));
        assert!(!wanted(false, false, true, false), "a pipe");
        assert!(!wanted(true, true, true, false), "CI");
        assert!(!wanted(true, false, false, false), "a machine format");
        assert!(
            !wanted(true, false, true, true),
            "-i asks on the same terminal"
        );
    }

    #[test]
    fn disabled_progress_draws_nothing_and_drops_quietly() {
        let progress = Progress::start(false, "checking");
        assert!(progress.bar.is_none());
        progress.set("still checking".to_string());
    }
}

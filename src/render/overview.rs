//! The report's first screen, flutter doctor style: one line per area of the check table with
//! a mark (✓ healthy, ! warnings, ✗ errors or a crash, - not run) and what was found, so an
//! operator sees at a glance which parts of the agent are broken (design §8 "The human report").
//! Every area of the table gets its line: one that did not run says so instead of vanishing.

use owo_colors::OwoColorize;

use crate::diag::Severity;
use crate::engine::{CheckStatus, Report};

/// "2 errors, 1 warning": the non-zero counts, in severity order.
pub fn counts(errors: usize, warnings: usize, infos: usize) -> String {
    let parts: Vec<String> = [(errors, "error"), (warnings, "warning"), (infos, "info")]
        .into_iter()
        .filter(|(n, _)| *n > 0)
        .map(|(n, word)| plural(n, word))
        .collect();
    parts.join(", ")
}

pub fn plural(n: usize, word: &str) -> String {
    format!("{n} {word}{}", if n == 1 { "" } else { "s" })
}

/// One line per area of the table, in table order.
/// `run_once` are areas the caller ran once for many agents (a scan's machine area): their line
/// says so instead of "not run".
/// `only` limits the lines to the areas a kind of run covers (`instar-doctor machine`).
pub fn render(
    report: &Report,
    color: bool,
    width: usize,
    run_once: &[&str],
    only: Option<&[&str]>,
) -> String {
    let mut out = String::new();
    let catalogue = crate::engine::catalogue();
    for &id in catalogue.areas() {
        if only.is_some_and(|only| !only.contains(&id)) {
            continue;
        }
        let words = catalogue.about(id);
        let outcome = report.checks.iter().find(|c| c.id == id);
        let count = |severity: Severity| {
            report
                .diagnostics
                .iter()
                .filter(|d| d.severity == severity && d.code.check() == id)
                .count()
        };
        let (mark, detail) = match outcome {
            None if run_once.contains(&id) => (
                "-",
                format!("{words}: checked once for every agent (the scan's first line)"),
            ),
            None => (
                "-",
                format!("{words}: not run (left out by --select/--ignore)"),
            ),
            Some(o) if o.status == CheckStatus::Crashed => (
                "✗",
                format!("{words}: the check crashed (a doctor bug; the other areas ran)"),
            ),
            Some(_) => {
                let (e, w, i) = (
                    count(Severity::Error),
                    count(Severity::Warning),
                    count(Severity::Info),
                );
                let mark = if e > 0 {
                    "✗"
                } else if w > 0 {
                    "!"
                } else {
                    "✓"
                };
                let found = counts(e, w, i);
                if found.is_empty() {
                    (mark, words.to_string())
                } else {
                    (mark, format!("{words}: {found}"))
                }
            }
        };
        let mark = match (color, mark) {
            (false, _) => mark.to_string(),
            (true, "✗") => mark.red().bold().to_string(),
            (true, "!") => mark.yellow().bold().to_string(),
            (true, "✓") => mark.green().bold().to_string(),
            (true, _) => mark.dimmed().to_string(),
        };
        // Wrapped past the area's name, so the marks and names stay a column of their own. The
        // mark is measured bare: colour codes take no room on the screen.
        let plain = format!("x {id:<8}  {detail}");
        let wrapped = super::width::wrap(&plain, width, "", &" ".repeat(12));
        out.push_str(&mark);
        out.push_str(&wrapped[1..]);
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diag::{Diagnostic, Effect};
    use crate::engine::CheckOutcome;

    #[test]
    fn every_area_has_a_line_that_says_what_happened() {
        let code = crate::checks::find_code("config/permissions").unwrap();
        let report = Report {
            checks: vec![
                CheckOutcome {
                    id: "jobs",
                    status: CheckStatus::Crashed,
                    duration_ms: 0.0,
                },
                CheckOutcome {
                    id: "config",
                    status: CheckStatus::Error,
                    duration_ms: 0.0,
                },
            ],
            diagnostics: vec![
                Diagnostic::new(code, Effect::Silent, "a").severity(Severity::Error),
                Diagnostic::new(code, Effect::Silent, "b").severity(Severity::Error),
                Diagnostic::new(code, Effect::Silent, "c").severity(Severity::Warning),
            ],
        };
        let text = render(&report, false, super::super::width::UNWRAPPED, &[], None);
        assert_eq!(text.lines().count(), crate::checks::TABLE.len());
        assert!(text.contains("✗ jobs      jobs.json and its schedules: the check crashed"));
        assert!(text.contains("✗ config    config.json: 2 errors, 1 warning\n"));
        assert!(text.contains("- keys      the private and public key files: not run"));
    }
}

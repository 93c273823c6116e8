//! `--format junit`: JUnit XML for CI systems that show test results.
//!
//! Shaped the way JUnit readers (junitparser, xunitparser, Jenkins, GitLab) expect it: one
//! `<testsuite>` per check, one `<testcase>` per finding, and the `tests`/`failures`/`errors`
//! attributes counted from the elements actually written — readers check them against each
//! other, and `tests="7" failures="13"` made xunitparser crash. A finding at or above the
//! `--fail-on` threshold is a failure; one below it (or one a fix run fixed) is a passing case
//! with its message as output. A check without findings is one passing case, so a report
//! shows every check that ran. A crashed check, or a run with no answer (exit 2), is an
//! errored case: the gate must not read it as green.

use std::io::{self, Write};

use super::json::{DiagnosticOut, Document};
use crate::diag::{Diagnostic, FixStatus};

/// Text for an element's content: XML's five entities, and the characters XML 1.0 cannot
/// carry at all replaced by U+FFFD.
fn escape(text: &str) -> String {
    escape_with(text, false)
}

/// An attribute value: as `escape`, plus line breaks and tabs as character references, which
/// a reader's attribute normalisation would otherwise turn into spaces.
pub(crate) fn escape_attr(text: &str) -> String {
    escape_with(text, true)
}

fn escape_with(text: &str, attribute: bool) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\n' if attribute => out.push_str("&#10;"),
            '\r' if attribute => out.push_str("&#13;"),
            '\t' if attribute => out.push_str("&#9;"),
            c if (c as u32) < 0x20 && !matches!(c, '\t' | '\n' | '\r') => out.push('\u{FFFD}'),
            '\u{FFFE}' | '\u{FFFF}' => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
    out
}

fn rank(severity: &str) -> u8 {
    match severity {
        "error" => 2,
        "warning" => 1,
        _ => 0,
    }
}

/// What a test case found.
enum Outcome {
    Passed(Option<String>),
    Failed {
        kind: String,
        message: String,
        body: String,
    },
    Errored {
        message: String,
    },
}

struct Case {
    name: String,
    time: Option<f64>,
    outcome: Outcome,
}

fn location(d: &DiagnosticOut) -> String {
    match (&d.file, &d.start) {
        (Some(file), Some(start)) => format!("{file}:{}:{}", start.line, start.column),
        (Some(file), None) => file.clone(),
        _ => String::new(),
    }
}

fn finding_case(d: &DiagnosticOut, min: u8) -> Case {
    let place = location(d);
    let name = if place.is_empty() {
        d.code.to_string()
    } else {
        format!("{} at {place}", d.code)
    };
    let mut body = format!("{place}\n{}", d.message);
    if let Some(help) = &d.help {
        body.push('\n');
        body.push_str(help);
    }
    let fixed = d.fix.as_ref().is_some_and(|f| f.status == "applied");
    let outcome = if rank(d.severity) >= min && !fixed {
        Outcome::Failed {
            kind: d.code.to_string(),
            message: d.message.clone(),
            body,
        }
    } else {
        Outcome::Passed(Some(format!("{}: {body}", d.severity)))
    };
    Case {
        name,
        time: None,
        outcome,
    }
}

#[derive(Default, Clone, Copy)]
struct Counts {
    tests: usize,
    failures: usize,
    errors: usize,
}

impl Counts {
    fn add(&mut self, other: Counts) {
        self.tests += other.tests;
        self.failures += other.failures;
        self.errors += other.errors;
    }
}

/// Whether a finding fails the gate: at or above the threshold, and not fixed by this run.
fn fails(d: &Diagnostic, min: u8) -> bool {
    let fixed = d.fix.is_some() && d.fix_status == FixStatus::Applied;
    rank(d.severity.as_str()) >= min && !fixed
}

/// A check's suite, counted before it is written (its attributes come first): a crashed
/// check's errored case, its findings, or one passing case when it has neither.
fn suite_counts(doc: &Document, id: &str, crashed: bool, min: u8) -> Counts {
    let mut counts = Counts {
        tests: usize::from(crashed),
        errors: usize::from(crashed),
        ..Counts::default()
    };
    for d in doc.diagnostics.raw().filter(|d| d.code.check() == id) {
        counts.tests += 1;
        counts.failures += usize::from(fails(d, min));
    }
    counts.tests = counts.tests.max(1);
    counts
}

fn write_suite_head(out: &mut dyn Write, name: &str, c: Counts, time: f64) -> io::Result<()> {
    writeln!(
        out,
        "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{}\" errors=\"{}\" skipped=\"0\" time=\"{:.6}\">",
        escape_attr(name),
        c.tests,
        c.failures,
        c.errors,
        time
    )
}

fn write_case(out: &mut dyn Write, suite: &str, case: &Case) -> io::Result<()> {
    let time = case
        .time
        .map(|t| format!(" time=\"{t:.6}\""))
        .unwrap_or_default();
    write!(
        out,
        "    <testcase classname=\"instar-doctor.{}\" name=\"{}\"{time}",
        escape_attr(suite),
        escape_attr(&case.name)
    )?;
    match &case.outcome {
        Outcome::Passed(None) => out.write_all(b"/>\n"),
        Outcome::Passed(Some(text)) => writeln!(
            out,
            ">\n      <system-out>{}</system-out>\n    </testcase>",
            escape(text)
        ),
        Outcome::Failed {
            kind,
            message,
            body,
        } => writeln!(
            out,
            ">\n      <failure type=\"{}\" message=\"{}\">{}</failure>\n    </testcase>",
            escape_attr(kind),
            escape_attr(message),
            escape(body)
        ),
        Outcome::Errored { message } => writeln!(
            out,
            ">\n      <error type=\"instar-doctor\" message=\"{}\">{}</error>\n    </testcase>",
            escape_attr(message),
            escape(message)
        ),
    }
}

/// The report, written to `out` one test case at a time: the counts every `<testsuite>` and
/// the `<testsuites>` carry are taken first from the findings as they are (cheap), then each
/// case is rendered as it is written (issue #11).
pub fn write(doc: &Document, threshold: &str, out: &mut dyn Write) -> io::Result<()> {
    let min = rank(threshold);
    let suites: Vec<Counts> = doc
        .checks
        .iter()
        .map(|check| suite_counts(doc, check.id, check.status == "crashed", min))
        .collect();
    // No answer at all (exit 2 before any check ran): one errored case carrying the reason, so
    // the report exists, parses, and is red.
    let failure = doc.error.as_ref().filter(|_| doc.checks.is_empty());
    let mut total = Counts::default();
    suites.iter().for_each(|c| total.add(*c));
    if failure.is_some() {
        total.add(Counts {
            tests: 1,
            failures: 0,
            errors: 1,
        });
    }
    // Folded from +0.0: an empty `sum` of floats is -0.0, which would print as "-0.000000".
    let total_time = doc
        .checks
        .iter()
        .fold(0.0, |sum, c| sum + c.duration_ms / 1000.0);
    write!(
        out,
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites name=\"instar-doctor\" tests=\"{}\" failures=\"{}\" errors=\"{}\" time=\"{total_time:.6}\">\n",
        total.tests, total.failures, total.errors
    )?;
    for (check, counts) in doc.checks.iter().zip(&suites) {
        let time = check.duration_ms / 1000.0;
        write_suite_head(out, check.id, *counts, time)?;
        let mut cases = 0;
        if check.status == "crashed" {
            cases += 1;
            let case = Case {
                name: format!("{} crashed", check.id),
                time: None,
                outcome: Outcome::Errored {
                    message: format!(
                        "the {} check crashed (a doctor bug); its findings are incomplete",
                        check.id
                    ),
                },
            };
            write_case(out, check.id, &case)?;
        }
        doc.diagnostics.try_for_each(
            |d| d.code.check() == check.id,
            |_, d| {
                cases += 1;
                write_case(out, check.id, &finding_case(&d, min))
            },
        )?;
        if cases == 0 {
            let case = Case {
                name: format!("{}: no findings", check.id),
                time: Some(time),
                outcome: Outcome::Passed(None),
            };
            write_case(out, check.id, &case)?;
        }
        out.write_all(b"  </testsuite>\n")?;
    }
    if let Some(error) = failure {
        write_suite_head(
            out,
            "instar-doctor",
            Counts {
                tests: 1,
                failures: 0,
                errors: 1,
            },
            0.0,
        )?;
        let case = Case {
            name: "instar-doctor".to_string(),
            time: None,
            outcome: Outcome::Errored {
                message: error.message.clone(),
            },
        };
        write_case(out, "instar-doctor", &case)?;
        out.write_all(b"  </testsuite>\n")?;
    }
    out.write_all(b"</testsuites>\n")
}

/// The report as text (for `scan`, which nests each agent's suites in its own document).
pub fn render(doc: &Document, threshold: &str) -> String {
    let mut text = Vec::new();
    // Writing to memory cannot fail.
    let _ = write(doc, threshold, &mut text);
    String::from_utf8_lossy(&text).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn xml_special_characters_and_controls_are_escaped() {
        assert_eq!(
            escape("a<b & \"c\"\u{1}"),
            "a&lt;b &amp; &quot;c&quot;\u{FFFD}"
        );
        assert_eq!(escape_attr("a\nb"), "a&#10;b");
    }

    #[test]
    fn a_failure_document_is_one_errored_case_with_matching_counts() {
        let doc = super::super::json::failure("no instar agent found", None);
        let xml = render(&doc, "error");
        assert!(
            xml.contains("tests=\"1\" failures=\"0\" errors=\"1\""),
            "{xml}"
        );
        assert_eq!(xml.matches("<testcase ").count(), 1);
        // Not "-0.000000", which an empty float sum would give.
        assert!(xml.contains("errors=\"1\" time=\"0.000000\">"), "{xml}");
        assert!(xml.contains("<error type=\"instar-doctor\" message=\"no instar agent found\">"));
    }
}

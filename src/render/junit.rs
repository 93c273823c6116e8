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

use std::fmt::Write as _;

use super::json::{DiagnosticOut, Document};

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

struct Suite {
    name: String,
    time: f64,
    cases: Vec<Case>,
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

fn suites(doc: &Document, min: u8) -> Vec<Suite> {
    let mut suites = Vec::new();
    for check in &doc.checks {
        let mut cases = Vec::new();
        if check.status == "crashed" {
            cases.push(Case {
                name: format!("{} crashed", check.id),
                time: None,
                outcome: Outcome::Errored {
                    message: format!(
                        "the {} check crashed (a doctor bug); its findings are incomplete",
                        check.id
                    ),
                },
            });
        }
        cases.extend(
            doc.diagnostics
                .iter()
                .filter(|d| d.check == check.id)
                .map(|d| finding_case(d, min)),
        );
        if cases.is_empty() {
            cases.push(Case {
                name: format!("{}: no findings", check.id),
                time: Some(check.duration_ms / 1000.0),
                outcome: Outcome::Passed(None),
            });
        }
        suites.push(Suite {
            name: check.id.to_string(),
            time: check.duration_ms / 1000.0,
            cases,
        });
    }
    // No answer at all (exit 2 before any check ran): one errored case carrying the reason, so
    // the report exists, parses, and is red.
    if let Some(error) = doc.error.as_ref().filter(|_| doc.checks.is_empty()) {
        suites.push(Suite {
            name: "instar-doctor".to_string(),
            time: 0.0,
            cases: vec![Case {
                name: "instar-doctor".to_string(),
                time: None,
                outcome: Outcome::Errored {
                    message: error.message.clone(),
                },
            }],
        });
    }
    suites
}

#[derive(Default, Clone, Copy)]
struct Counts {
    tests: usize,
    failures: usize,
    errors: usize,
}

fn counts(cases: &[Case]) -> Counts {
    let mut counts = Counts {
        tests: cases.len(),
        ..Counts::default()
    };
    for case in cases {
        match case.outcome {
            Outcome::Failed { .. } => counts.failures += 1,
            Outcome::Errored { .. } => counts.errors += 1,
            Outcome::Passed(_) => {}
        }
    }
    counts
}

fn write_case(out: &mut String, suite: &str, case: &Case) {
    let time = case
        .time
        .map(|t| format!(" time=\"{t:.6}\""))
        .unwrap_or_default();
    let _ = write!(
        out,
        "    <testcase classname=\"instar-doctor.{}\" name=\"{}\"{time}",
        escape_attr(suite),
        escape_attr(&case.name)
    );
    match &case.outcome {
        Outcome::Passed(None) => out.push_str("/>\n"),
        Outcome::Passed(Some(text)) => {
            let _ = writeln!(
                out,
                ">\n      <system-out>{}</system-out>\n    </testcase>",
                escape(text)
            );
        }
        Outcome::Failed {
            kind,
            message,
            body,
        } => {
            let _ = writeln!(
                out,
                ">\n      <failure type=\"{}\" message=\"{}\">{}</failure>\n    </testcase>",
                escape_attr(kind),
                escape_attr(message),
                escape(body)
            );
        }
        Outcome::Errored { message } => {
            let _ = writeln!(
                out,
                ">\n      <error type=\"instar-doctor\" message=\"{}\">{}</error>\n    </testcase>",
                escape_attr(message),
                escape(message)
            );
        }
    }
}

pub fn render(doc: &Document, threshold: &str) -> String {
    let min = rank(threshold);
    let suites = suites(doc, min);
    let mut total = Counts::default();
    let mut total_time = 0.0;
    let mut body = String::new();
    for suite in &suites {
        let c = counts(&suite.cases);
        total.tests += c.tests;
        total.failures += c.failures;
        total.errors += c.errors;
        total_time += suite.time;
        let _ = writeln!(
            body,
            "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{}\" errors=\"{}\" skipped=\"0\" time=\"{:.6}\">",
            escape_attr(&suite.name),
            c.tests,
            c.failures,
            c.errors,
            suite.time
        );
        for case in &suite.cases {
            write_case(&mut body, &suite.name, case);
        }
        body.push_str("  </testsuite>\n");
    }
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites name=\"instar-doctor\" tests=\"{}\" failures=\"{}\" errors=\"{}\" time=\"{total_time:.6}\">\n{body}</testsuites>\n",
        total.tests, total.failures, total.errors
    )
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
        assert!(xml.contains("<error type=\"instar-doctor\" message=\"no instar agent found\">"));
    }
}

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
use super::stream::{write_usize, Chunked};
use crate::diag::{Diagnostic, FixStatus};

/// Text for an element's content: XML's five entities, and the characters XML 1.0 cannot
/// carry at all replaced by U+FFFD.
#[cfg(test)]
fn escape(text: &str) -> String {
    escaped(text, false)
}

/// An attribute value: as `escape`, plus line breaks and tabs as character references, which
/// a reader's attribute normalisation would otherwise turn into spaces.
pub(crate) fn escape_attr(text: &str) -> String {
    escaped(text, true)
}

fn escaped(text: &str, attribute: bool) -> String {
    super::stream::written(|out| write_escaped(out, text, attribute))
}

/// `text` escaped for XML (`escape`, or `escape_attr` when `attribute`), written as it is
/// escaped. Each character is escaped on its own: the escape of two texts joined is the two
/// escapes joined.
fn write_escaped(w: &mut impl Write, text: &str, attribute: bool) -> io::Result<()> {
    const REPLACEMENT: &[u8] = "\u{FFFD}".as_bytes();
    let bytes = text.as_bytes();
    let (mut i, mut plain) = (0, 0);
    while i < bytes.len() {
        let (special, len): (Option<&[u8]>, usize) = match bytes[i] {
            b'&' => (Some(b"&amp;"), 1),
            b'<' => (Some(b"&lt;"), 1),
            b'>' => (Some(b"&gt;"), 1),
            b'"' => (Some(b"&quot;"), 1),
            b'\'' => (Some(b"&apos;"), 1),
            b'\n' if attribute => (Some(b"&#10;"), 1),
            b'\r' if attribute => (Some(b"&#13;"), 1),
            b'\t' if attribute => (Some(b"&#9;"), 1),
            b'\t' | b'\n' | b'\r' => (None, 1),
            b if b < 0x20 => (Some(REPLACEMENT), 1),
            // U+FFFE and U+FFFF, which XML cannot carry.
            0xEF if matches!(bytes.get(i + 1..i + 3), Some([0xBF, 0xBE | 0xBF])) => {
                (Some(REPLACEMENT), 3)
            }
            _ => (None, 1),
        };
        if let Some(special) = special {
            w.write_all(&bytes[plain..i])?;
            w.write_all(special)?;
            plain = i + len;
        }
        i += len;
    }
    w.write_all(&bytes[plain..])
}

fn rank(severity: &str) -> u8 {
    match severity {
        "error" => 2,
        "warning" => 1,
        _ => 0,
    }
}

/// What a test case that is not a finding found.
enum Outcome {
    Passed,
    Errored { message: String },
}

/// A test case that is not a finding: a crashed check, a check without findings, a run with no
/// answer.
struct Case {
    name: String,
    time: Option<f64>,
    outcome: Outcome,
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

fn write_suite_head(out: &mut impl Write, name: &str, c: Counts, time: f64) -> io::Result<()> {
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

/// `<testcase classname="instar-doctor.SUITE" name="`, the start of every case.
fn write_case_head(out: &mut impl Write, suite: &str) -> io::Result<()> {
    out.write_all(b"    <testcase classname=\"instar-doctor.")?;
    write_escaped(out, suite, true)?;
    out.write_all(b"\" name=\"")
}

fn write_case(out: &mut impl Write, suite: &str, case: &Case) -> io::Result<()> {
    write_case_head(out, suite)?;
    write_escaped(out, &case.name, true)?;
    out.write_all(b"\"")?;
    if let Some(t) = case.time {
        write!(out, " time=\"{t:.6}\"")?;
    }
    match &case.outcome {
        Outcome::Passed => out.write_all(b"/>\n"),
        Outcome::Errored { message } => {
            out.write_all(b">\n      <error type=\"instar-doctor\" message=\"")?;
            write_escaped(out, message, true)?;
            out.write_all(b"\">")?;
            write_escaped(out, message, false)?;
            out.write_all(b"</error>\n    </testcase>\n")
        }
    }
}

/// Where a finding is, as its case names it (`file:line:col`, `file`, or nothing), escaped for
/// an attribute or for content: the file is escaped, the numbers need not be.
fn write_place(out: &mut impl Write, d: &DiagnosticOut, attribute: bool) -> io::Result<()> {
    if let Some(file) = d.file {
        write_escaped(out, file, attribute)?;
        if let Some(start) = &d.start {
            out.write_all(b":")?;
            write_usize(out, start.line)?;
            out.write_all(b":")?;
            write_usize(out, start.column)?;
        }
    }
    Ok(())
}

/// A finding's case, written as it is escaped: named `code at place`; a failure when it fails
/// the gate (at or above the threshold, not fixed by this run), else a passing case with its
/// severity and text as output. The text: the place, the message, and the help.
fn write_finding(out: &mut impl Write, suite: &str, d: &DiagnosticOut, min: u8) -> io::Result<()> {
    write_case_head(out, suite)?;
    write_escaped(out, d.code, true)?;
    // Named by its place unless it has none (no file, or an empty one without a position).
    if d.file.is_some_and(|f| !f.is_empty() || d.start.is_some()) {
        out.write_all(b" at ")?;
        write_place(out, d, true)?;
    }
    let fixed = d.fix.as_ref().is_some_and(|f| f.status == "applied");
    let failed = rank(d.severity) >= min && !fixed;
    if failed {
        out.write_all(b"\">\n      <failure type=\"")?;
        write_escaped(out, d.code, true)?;
        out.write_all(b"\" message=\"")?;
        d.message
            .for_each_piece(|piece| write_escaped(out, piece, true))?;
        out.write_all(b"\">")?;
    } else {
        out.write_all(b"\">\n      <system-out>")?;
        write_escaped(out, d.severity, false)?;
        out.write_all(b": ")?;
    }
    write_place(out, d, false)?;
    out.write_all(b"\n")?;
    d.message
        .for_each_piece(|piece| write_escaped(out, piece, false))?;
    if let Some(help) = d.help {
        out.write_all(b"\n")?;
        write_escaped(out, help, false)?;
    }
    out.write_all(if failed {
        b"</failure>\n    </testcase>\n"
    } else {
        b"</system-out>\n    </testcase>\n"
    })
}

/// The report, written to `out` one test case at a time: the counts every `<testsuite>` and
/// the `<testsuites>` carry are taken first from the findings as they are (cheap), then each
/// case is rendered as it is written (issue #11).
pub fn write(doc: &Document, threshold: &str, out: &mut dyn Write) -> io::Result<()> {
    let mut out = Chunked::new(out);
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
        total.add(ONE_ERROR);
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
        write_suite(&mut out, doc, check, *counts, min)?;
    }
    if let Some(error) = failure {
        write_suite_head(&mut out, "instar-doctor", ONE_ERROR, 0.0)?;
        let case = Case {
            name: "instar-doctor".to_string(),
            time: None,
            outcome: Outcome::Errored {
                message: error.message.clone(),
            },
        };
        write_case(&mut out, "instar-doctor", &case)?;
        out.write_all(b"  </testsuite>\n")?;
    }
    out.write_all(b"</testsuites>\n")?;
    out.finish()
}

/// The counts of a suite of one errored case.
const ONE_ERROR: Counts = Counts {
    tests: 1,
    failures: 0,
    errors: 1,
};

/// One check's `<testsuite>`: an errored case when it crashed, a case per finding, or one
/// passing case when it has neither.
fn write_suite(
    out: &mut impl Write,
    doc: &Document,
    check: &super::json::CheckOut,
    counts: Counts,
    min: u8,
) -> io::Result<()> {
    let time = check.duration_ms / 1000.0;
    write_suite_head(out, check.id, counts, time)?;
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
            write_finding(out, check.id, &d, min)
        },
    )?;
    if cases == 0 {
        let case = Case {
            name: format!("{}: no findings", check.id),
            time: Some(time),
            outcome: Outcome::Passed,
        };
        write_case(out, check.id, &case)?;
    }
    out.write_all(b"  </testsuite>\n")
}

/// The report as text (for `scan`, which nests each agent's suites in its own document).
pub fn render(doc: &Document, threshold: &str) -> String {
    super::stream::written(|text| write(doc, threshold, text))
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

    /// The escaper that writes as it goes agrees with XML's rule applied character by
    /// character, on every pairing of awkward pieces.
    #[test]
    fn streamed_escaping_is_the_per_character_rule() {
        fn reference(text: &str, attribute: bool) -> String {
            text.chars()
                .map(|c| match c {
                    '&' => "&amp;".to_string(),
                    '<' => "&lt;".to_string(),
                    '>' => "&gt;".to_string(),
                    '"' => "&quot;".to_string(),
                    '\'' => "&apos;".to_string(),
                    '\n' if attribute => "&#10;".to_string(),
                    '\r' if attribute => "&#13;".to_string(),
                    '\t' if attribute => "&#9;".to_string(),
                    c if (c as u32) < 0x20 && !matches!(c, '\t' | '\n' | '\r') => "\u{FFFD}".into(),
                    '\u{FFFE}' | '\u{FFFF}' => "\u{FFFD}".to_string(),
                    c => c.to_string(),
                })
                .collect()
        }
        let pieces = [
            "",
            "plain",
            "a<b>&\"'",
            "\t\n\r",
            "\u{0}\u{1f}\u{7f}",
            "\u{FFFE}\u{FFFF}\u{FFFD}",
            "\u{EFFF}\u{F000}",
            "é€😀\u{9b}",
            "\u{202e}x",
        ];
        for a in pieces {
            for b in pieces {
                let text = format!("{a}{b}");
                for attribute in [false, true] {
                    assert_eq!(
                        escaped(&text, attribute),
                        reference(&text, attribute),
                        "{text:?}"
                    );
                }
            }
        }
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

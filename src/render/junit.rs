//! `--format junit`: one test case per check, one failure per finding at or above the
//! `--fail-on` threshold, for CI systems that read JUnit XML.

use super::json::Document;

fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            // XML 1.0 cannot carry most control characters at all.
            c if (c as u32) < 0x20 && !matches!(c, '\t' | '\n' | '\r') => out.push('\u{FFFD}'),
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

pub fn render(doc: &Document, threshold: &str) -> String {
    let min = rank(threshold);
    let mut cases = String::new();
    let mut tests = 0;
    let mut failures = 0;
    for check in &doc.checks {
        tests += 1;
        let failing: Vec<_> = doc
            .diagnostics
            .iter()
            .filter(|d| d.check == check.id && rank(d.severity) >= min)
            .collect();
        failures += failing.len();
        let time = check.duration_ms / 1000.0;
        cases.push_str(&format!(
            "    <testcase classname=\"instar-doctor\" name=\"{}\" time=\"{time:.6}\">\n",
            escape(check.id)
        ));
        if check.status == "crashed" {
            cases.push_str("      <error message=\"the check crashed\"/>\n");
        }
        for d in failing {
            let location = match (&d.file, &d.start) {
                (Some(file), Some(start)) => format!("{file}:{}:{}", start.line, start.column),
                (Some(file), None) => file.clone(),
                _ => String::new(),
            };
            let mut body = format!("{location}\n{}", d.message);
            if let Some(help) = &d.help {
                body.push('\n');
                body.push_str(help);
            }
            cases.push_str(&format!(
                "      <failure type=\"{}\" message=\"{}\">{}</failure>\n",
                escape(d.code),
                escape(&d.message),
                escape(&body)
            ));
        }
        cases.push_str("    </testcase>\n");
    }
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites name=\"instar-doctor\" tests=\"{tests}\" failures=\"{failures}\">\n  <testsuite name=\"instar-doctor\" tests=\"{tests}\" failures=\"{failures}\" errors=\"0\">\n{cases}  </testsuite>\n</testsuites>\n"
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
    }
}

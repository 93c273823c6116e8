//! `--format github`: GitHub Actions workflow commands, one per finding, so findings show up as
//! annotations on the run and the pull request.

use std::io::{self, Write};

use super::json::Document;
use super::paths::RepoPaths;

/// Escaping of a workflow command's message (GitHub's `escapeData`). Other control characters
/// from a state file are shown escaped first: the run log interprets ANSI sequences.
pub fn escape_data(text: &str) -> String {
    let text = text
        .replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A");
    super::escape::escape_controls(&text).into_owned()
}

/// Escaping of a workflow command's property values (GitHub's `escapeProperty`).
pub fn escape_property(text: &str) -> String {
    escape_data(text).replace(':', "%3A").replace(',', "%2C")
}

/// The annotations, written to `out` one finding at a time, with files relative to the
/// repository root when `repo` is known (GitHub resolves `file=` against the workspace, not the
/// agent's folder). A run with no answer, or with a crashed check, ends with one `::error::`
/// line saying so: the log must never show a clean run for a doctor that failed.
pub fn write(doc: &Document, repo: Option<&RepoPaths>, out: &mut dyn Write) -> io::Result<()> {
    doc.diagnostics.try_for_each(
        |_| true,
        |_, d| {
            let command = match d.severity {
                "error" => "error",
                "warning" => "warning",
                _ => "notice",
            };
            let mut props = Vec::new();
            if let Some(file) = &d.file {
                let file = repo.map(|r| r.file(file)).unwrap_or_else(|| file.clone());
                props.push(format!("file={}", escape_property(&file)));
            }
            if let (Some(start), Some(end)) = (&d.start, &d.end) {
                props.push(format!("line={}", start.line));
                props.push(format!("col={}", start.column));
                props.push(format!("endLine={}", end.line));
                props.push(format!("endColumn={}", end.column));
            }
            props.push(format!("title={}", escape_property(d.code)));
            let mut message = d.message;
            if let Some(help) = &d.help {
                message.push('\n');
                message.push_str(help);
            }
            writeln!(
                out,
                "::{command} {}::{}",
                props.join(","),
                escape_data(&message)
            )
        },
    )?;
    if let Some(error) = &doc.error {
        writeln!(
            out,
            "::error title=instar-doctor::{}",
            escape_data(&error.message)
        )?;
    }
    Ok(())
}

/// The annotations as text (for `scan`).
pub fn render(doc: &Document, repo: Option<&RepoPaths>) -> String {
    let mut text = Vec::new();
    // Writing to memory cannot fail.
    let _ = write(doc, repo, &mut text);
    String::from_utf8_lossy(&text).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_are_shown_escaped_in_the_run_log() {
        assert_eq!(escape_data("a\u{1b}[2Jb%\n"), "a\\u{1b}[2Jb%25%0A");
    }

    #[test]
    fn escapes_like_the_actions_toolkit() {
        assert_eq!(escape_data("50%\r\nnext"), "50%25%0D%0Anext");
        assert_eq!(escape_property("a:b,c%"), "a%3Ab%2Cc%25");
    }
}

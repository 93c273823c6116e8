//! `--format github`: GitHub Actions workflow commands, one per finding, so findings show up as
//! annotations on the run and the pull request.

use std::io::{self, Write};

use super::json::{DiagnosticOut, Document};
use super::paths::{LastFile, RepoPaths};
use super::stream::{write_usize, Chunked};

/// Escaping of a workflow command's message (GitHub's `escapeData`). Other control characters
/// from a state file are shown escaped first: the run log interprets ANSI sequences.
pub fn escape_data(text: &str) -> String {
    escaped(text, false)
}

/// Escaping of a workflow command's property values (GitHub's `escapeProperty`).
pub fn escape_property(text: &str) -> String {
    escaped(text, true)
}

fn escaped(text: &str, property: bool) -> String {
    super::stream::written(|out| write_escaped(out, text, property))
}

/// `text` escaped for a workflow command, written as it is escaped: `%`, CR and LF as GitHub's
/// toolkit writes them (and `:` and `,` in a property), other control characters as Rust-style
/// escapes (`render::escape`). Each character is escaped on its own, so the escape of two texts
/// joined is the two escapes joined.
fn write_escaped(w: &mut impl Write, text: &str, property: bool) -> io::Result<()> {
    let bytes = text.as_bytes();
    let (mut i, mut plain) = (0, 0);
    while i < bytes.len() {
        let b = bytes[i];
        let special: Option<&[u8]> = match b {
            b'%' => Some(b"%25"),
            b'\r' => Some(b"%0D"),
            b'\n' => Some(b"%0A"),
            b':' if property => Some(b"%3A"),
            b',' if property => Some(b"%2C"),
            _ => None,
        };
        if let Some(special) = special {
            w.write_all(&bytes[plain..i])?;
            w.write_all(special)?;
            i += 1;
            plain = i;
            continue;
        }
        // Printable ASCII, the common case, needs no decoding.
        if (0x20..0x7f).contains(&b) {
            i += 1;
            continue;
        }
        let c = text[i..].chars().next().unwrap_or('\u{FFFD}');
        if super::escape::always_escaped(c) {
            w.write_all(&bytes[plain..i])?;
            w.write_all(super::escape::escape_char(c).as_bytes())?;
            plain = i + c.len_utf8();
        }
        i += c.len_utf8();
    }
    w.write_all(&bytes[plain..])
}

/// The annotations, written to `out` one finding at a time, with files relative to the
/// repository root when `repo` is known (GitHub resolves `file=` against the workspace, not the
/// agent's folder). A run with no answer, or with a crashed check, ends with one `::error::`
/// line saying so: the log must never show a clean run for a doctor that failed.
pub fn write(doc: &Document, repo: Option<&RepoPaths>, out: &mut dyn Write) -> io::Result<()> {
    let mut w = Chunked::new(out);
    // The `file=` property of each file, escaped, made once per run of its findings.
    let mut files = LastFile::new(|file: &str| {
        escape_property(
            &repo
                .map(|r| r.file(file))
                .unwrap_or_else(|| file.to_string()),
        )
    });
    doc.diagnostics.try_for_each(
        |_| true,
        |_, d| annotation(&mut w, &d, d.file.map(|f| files.get(f))),
    )?;
    if let Some(error) = &doc.error {
        w.write_all(b"::error title=instar-doctor::")?;
        write_escaped(&mut w, &error.message, false)?;
        w.write_all(b"\n")?;
    }
    w.finish()
}

/// One finding's workflow command: `::error file=…,line=…,col=…,endLine=…,endColumn=…,
/// title=code::message%0Ahelp`. `file`: the finding's `file=` value, already escaped.
fn annotation(w: &mut impl Write, d: &DiagnosticOut, file: Option<&str>) -> io::Result<()> {
    w.write_all(match d.severity {
        "error" => b"::error ",
        "warning" => b"::warning ",
        _ => b"::notice ",
    })?;
    if let Some(file) = file {
        w.write_all(b"file=")?;
        w.write_all(file.as_bytes())?;
        w.write_all(b",")?;
    }
    if let (Some(start), Some(end)) = (&d.start, &d.end) {
        for (name, n) in [
            (&b"line="[..], start.line),
            (b",col=", start.column),
            (b",endLine=", end.line),
            (b",endColumn=", end.column),
        ] {
            w.write_all(name)?;
            write_usize(w, n)?;
        }
        w.write_all(b",")?;
    }
    w.write_all(b"title=")?;
    write_escaped(w, d.code, true)?;
    w.write_all(b"::")?;
    d.message
        .for_each_piece(|piece| write_escaped(w, piece, false))?;
    if let Some(help) = d.help {
        w.write_all(b"%0A")?;
        write_escaped(w, help, false)?;
    }
    w.write_all(b"\n")
}

/// The annotations as text (for `scan`).
pub fn render(doc: &Document, repo: Option<&RepoPaths>) -> String {
    super::stream::written(|text| write(doc, repo, text))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_are_shown_escaped_in_the_run_log() {
        assert_eq!(escape_data("a\u{1b}[2Jb%\n"), "a\\u{1b}[2Jb%25%0A");
    }

    /// The escaper that writes as it goes agrees with the toolkit's replacements followed by
    /// the control-character escapes, on every pairing of awkward pieces.
    #[test]
    fn streamed_escaping_is_the_replacements_then_the_control_escapes() {
        fn reference(text: &str, property: bool) -> String {
            let text = text
                .replace('%', "%25")
                .replace('\r', "%0D")
                .replace('\n', "%0A");
            let text = crate::render::escape::escape_controls(&text).into_owned();
            if property {
                text.replace(':', "%3A").replace(',', "%2C")
            } else {
                text
            }
        }
        let pieces = [
            "",
            "plain",
            "50%",
            "a:b,c",
            "\r\n",
            "\r",
            "\t",
            "\u{1b}[2J",
            "\u{7f}\u{9b}",
            "\u{202e}\u{2066}",
            "é€😀",
            "%0A",
        ];
        for a in pieces {
            for b in pieces {
                let text = format!("{a}{b}");
                for property in [false, true] {
                    assert_eq!(
                        escaped(&text, property),
                        reference(&text, property),
                        "{text:?}"
                    );
                }
            }
        }
    }

    #[test]
    fn escapes_like_the_actions_toolkit() {
        assert_eq!(escape_data("50%\r\nnext"), "50%25%0D%0Anext");
        assert_eq!(escape_property("a:b,c%"), "a%3Ab%2Cc%25");
    }
}

//! Which bytes of a file are secrets, so that no output ever shows them (design.md §3, §8).
//!
//! Redaction never depends on a parse: the secret ranges of a file are found once, over its
//! whole bytes, by passes that survive any damage, and every window an output shows (a snippet,
//! a diff hunk, a prompt's preview) is cut from the file with those ranges already applied.
//! Redacting a window on its own would miss a value whose key lies outside it.
//!
//! - `names`: which key names are secret;
//! - `lexical`: values under secret keys and inside secret-store placeholders, by structure;
//! - `keyword`: values after a secret name and a colon, by bytes alone (a second net for
//!   files whose quoting is broken);
//! - `echo`: every other occurrence, anywhere in the file, of a value found secret;
//! - `pem`: key files whole, and PEM blocks inside other files;
//! - `quoted`: a message that quotes a secret from its file;
//! - `sources`: each file's secret ranges, computed once, and the scrubbing of findings.

mod echo;
mod keyword;
mod lexical;
mod names;
mod pem;
mod quoted;
pub mod sources;

use std::path::Path;

use crate::diag::Span;

pub use names::is_secret_key;
pub use pem::is_key_file;
pub use quoted::scrub as scrub_quoted;
pub use sources::Sources;

/// What replaces every secret in every output.
pub const REDACTED: &str = "[redacted]";

/// The secret ranges of a file, over its whole bytes: all of it for a key file (and temp or
/// backup copies of one), else what the passes find. Sorted, disjoint.
///
/// A JSON file (by its name, or by its first byte) gets the strict reading, where a value
/// where no value belongs is hidden too; other files (the boot wrappers, a plist) are read as
/// text, where only a quoted secret key before a colon makes a value secret: in a shell script
/// almost every word is a "stray value".
pub fn file_secret_spans(path: &Path, bytes: &[u8]) -> Vec<Span> {
    if pem::is_key_file(path, bytes) {
        return std::iter::once(0..bytes.len())
            .filter(|all| !all.is_empty())
            .collect();
    }
    let json_name = path
        .file_name()
        .is_some_and(|n| n.to_string_lossy().to_ascii_lowercase().contains(".json"));
    let text = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let json_start = text
        .iter()
        .find(|b| !b.is_ascii_whitespace())
        .is_some_and(|b| matches!(b, b'{' | b'['));
    spans_of(
        bytes,
        if json_name || json_start {
            Mode::Json
        } else {
            Mode::Text
        },
    )
}

/// The secret ranges of a JSON file's bytes, sorted and disjoint. String values cover their
/// contents (the quotes stay visible); other scalars the whole token.
pub fn secret_spans(bytes: &[u8]) -> Vec<Span> {
    spans_of(bytes, Mode::Json)
}

/// How strictly bytes are read (see `lexical`).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// A JSON state file, however damaged.
    Json,
    /// Another file: a script, a plist.
    Text,
    /// A message, a help, a title.
    Prose,
}

fn spans_of(bytes: &[u8], mode: Mode) -> Vec<Span> {
    let mut spans = Vec::new();
    pem::blocks(bytes, &mut spans);
    let irregular = lexical::spans(bytes, mode == Mode::Json, &mut spans);
    keyword::spans(bytes, &mut spans);
    let mut spans = merge(spans);
    if mode != Mode::Prose {
        let echoes = echo::spans(bytes, &spans, irregular);
        if !echoes.is_empty() {
            spans.extend(echoes);
            spans = merge(spans);
        }
    }
    spans
}

fn merge(mut spans: Vec<Span>) -> Vec<Span> {
    spans.retain(|s| !s.is_empty());
    spans.sort_by_key(|s| (s.start, s.end));
    let mut merged: Vec<Span> = Vec::with_capacity(spans.len());
    for span in spans {
        match merged.last_mut() {
            Some(last) if span.start <= last.end => last.end = last.end.max(span.end),
            _ => merged.push(span),
        }
    }
    merged
}

/// Replaces every secret of a piece of text (a message, a help, a fix title) with `[redacted]`.
/// Only quoted keys count here: "no authToken: the agent…" is a sentence.
pub fn redact_text(text: &str) -> String {
    redact_prose(text).unwrap_or_else(|| text.to_string())
}

/// `redact_text`, or `None` when it would change nothing: the common case, answered without
/// copying the text (every finding's texts are scrubbed; issue #11).
pub fn redact_prose(text: &str) -> Option<String> {
    let spans = spans_of(text.as_bytes(), Mode::Prose);
    if spans.is_empty() {
        return None;
    }
    let (clean, _) = redact_window(text.as_bytes(), &spans, 0..text.len());
    (clean != text).then_some(clean)
}

/// The text of `window` (file offsets) with the file's secret ranges (computed over the whole
/// file) replaced, lossily decoded; and whether anything in it was replaced. A secret that
/// begins before the window or ends after it is cut at its edges and still replaced.
pub fn redact_window(bytes: &[u8], secrets: &[Span], window: Span) -> (String, bool) {
    let window = window.start.min(bytes.len())..window.end.min(bytes.len());
    let mut out = String::with_capacity(window.len());
    let mut cursor = window.start;
    let mut redacted = false;
    let first = secrets.partition_point(|s| s.end <= window.start);
    for secret in &secrets[first..] {
        if secret.start >= window.end {
            break;
        }
        let from = secret.start.max(cursor);
        out.push_str(&String::from_utf8_lossy(&bytes[cursor..from]));
        out.push_str(REDACTED);
        redacted = true;
        cursor = secret.end.min(window.end);
    }
    out.push_str(&String::from_utf8_lossy(&bytes[cursor..window.end]));
    (out, redacted)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redacts_named_and_pattern_keys_anywhere() {
        let text = r#"{"authToken": "s3cr3t", "port": 4040, "telegram": {"chatId": -100123, "botToken": "b0t"}, "myPassword": "pw", "name": "agent"}"#;
        let out = redact_text(text);
        for secret in ["s3cr3t", "-100123", "b0t", "\"pw\""] {
            assert!(!out.contains(secret), "{secret} leaked: {out}");
        }
        assert!(out.contains("\"agent\"") && out.contains("4040"));
    }

    #[test]
    fn prose_with_nothing_to_hide_is_not_copied() {
        for text in [
            "job \"job-1\" (#2): bad priority",
            "",
            "no authToken: the agent is open",
        ] {
            assert_eq!(redact_prose(text), None, "{text}");
            assert_eq!(redact_text(text), text);
        }
        let secret = "set \"authToken\": \"sk-live-0123456789abcdef\" again";
        let clean = redact_prose(secret).unwrap();
        assert!(!clean.contains("0123456789abcdef"), "{clean}");
        assert_eq!(redact_text(secret), clean);
        // Already redacted: hidden again, and the same text.
        assert_eq!(redact_prose("\"authToken\": \"[redacted]\""), None);
    }

    /// The issue's example: a syntax error next to the secret must not expose it.
    #[test]
    fn a_syntax_error_next_to_a_secret_hides_it_still() {
        let out = redact_text("{\n  \"projectName\": \"x\",\n  \"dashboardPin\",: \"482913\",\n}");
        assert!(!out.contains("482913"), "{out}");
        assert!(out.contains("\"x\""), "{out}");
    }

    #[test]
    fn works_on_truncated_files_and_pem_blocks() {
        let out = redact_text("{\"authToken\": \"abc");
        assert!(!out.contains("abc"));
        let pem = "-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEI\n-----END PRIVATE KEY-----\n";
        let out = redact_text(pem);
        assert!(!out.contains("MC4CAQ"), "{out}");
    }

    #[test]
    fn key_files_are_secret_whole() {
        let bytes = b"-----BEGIN PRIVATE KEY-----\nMC4\n-----END PRIVATE KEY-----\n";
        let path = Path::new(".instar/machine/signing-key.pem.tmp.77");
        assert_eq!(file_secret_spans(path, bytes), vec![0..bytes.len()]);
        // The same bytes in a file of another name are hidden by their content.
        assert_eq!(
            file_secret_spans(Path::new("copy"), bytes),
            vec![0..bytes.len()]
        );
    }

    /// A window cut from the middle of a file: the key is outside it, the value inside.
    #[test]
    fn a_window_is_cut_from_the_redacted_file() {
        let bytes = b"{\n  \"authToken\":\n    \"abcdef\",\n  \"port\": 1\n}\n";
        let spans = secret_spans(bytes);
        let line3 = 18..bytes.len();
        let (text, redacted) = redact_window(bytes, &spans, line3.clone());
        assert!(redacted && !text.contains("abcdef"), "{text}");
        // The window alone, redacted on its own, would have shown it.
        let alone = redact_text(&String::from_utf8_lossy(&bytes[line3]));
        assert!(alone.contains("abcdef"));
    }

    #[test]
    fn invalid_utf8_inside_a_secret() {
        let bytes = b"{\"authToken\": \"ab\xFF\xFEcd\", \"x\": \"\xFF\"}";
        let spans = secret_spans(bytes);
        let (text, _) = redact_window(bytes, &spans, 0..bytes.len());
        assert_eq!(text, "{\"authToken\": \"[redacted]\", \"x\": \"\u{FFFD}\"}");
    }
}

//! Which bytes of a state file are secrets, so that no output ever shows them.
//!
//! A lexical scan rather than a parse: it must also work on files that do not parse (a truncated
//! config.json still holds its authToken). A value is secret when its key is one the design names
//! or contains `token`, `secret`, `password`, `apikey` or `privatekey`; containers under such a
//! key are secret throughout. PEM private-key blocks are secret wherever they appear.

use crate::diag::Span;

/// What replaces every secret in every output.
pub const REDACTED: &str = "[redacted]";

const SECRET_KEYS: &[&str] = &[
    "authtoken",
    "dashboardpin",
    "contextsigningkey",
    "anthropicapikey",
    "token",
    "chatid",
    "bottoken",
    "apptoken",
    "sharedsecret",
];
const SECRET_KEY_PARTS: &[&str] = &["token", "secret", "password", "apikey", "privatekey"];

/// Whether a JSON key names a secret value.
pub fn is_secret_key(key: &str) -> bool {
    let lower = key.to_ascii_lowercase();
    SECRET_KEYS.contains(&lower.as_str()) || SECRET_KEY_PARTS.iter().any(|p| lower.contains(p))
}

/// Byte ranges of secret values in `bytes`, sorted and disjoint. String values cover their
/// contents (the quotes stay visible); other scalars cover the whole token.
pub fn secret_spans(bytes: &[u8]) -> Vec<Span> {
    let mut spans = pem_blocks(bytes);
    let mut scanner = Scanner {
        bytes,
        pos: 0,
        spans: Vec::new(),
    };
    scanner.run();
    spans.extend(scanner.spans);
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

/// Replaces every secret span of `text` (offsets into `text`) with `[redacted]`.
pub fn redact_text(text: &str) -> String {
    let spans = secret_spans(text.as_bytes());
    let mut out = String::with_capacity(text.len());
    let mut cursor = 0;
    for span in spans {
        if span.start < cursor
            || !text.is_char_boundary(span.start)
            || !text.is_char_boundary(span.end)
        {
            continue;
        }
        out.push_str(&text[cursor..span.start]);
        out.push_str(REDACTED);
        cursor = span.end;
    }
    out.push_str(&text[cursor..]);
    out
}

fn pem_blocks(bytes: &[u8]) -> Vec<Span> {
    const BEGIN: &[u8] = b"-----BEGIN ";
    const END: &[u8] = b"-----END ";
    let mut out = Vec::new();
    let mut from = 0;
    while let Some(start) = find(bytes, BEGIN, from) {
        let header_end = find(bytes, b"-----", start + BEGIN.len()).map(|p| p + 5);
        let Some(header_end) = header_end else { break };
        let is_private = bytes[start..header_end].windows(7).any(|w| w == b"PRIVATE");
        let end = find(bytes, END, header_end)
            .and_then(|e| find(bytes, b"-----", e + END.len()).map(|p| p + 5))
            .unwrap_or(bytes.len());
        if is_private {
            out.push(header_end..end.max(header_end));
        }
        from = end.max(start + 1);
    }
    out
}

fn find(haystack: &[u8], needle: &[u8], from: usize) -> Option<usize> {
    haystack
        .get(from..)?
        .windows(needle.len())
        .position(|w| w == needle)
        .map(|p| p + from)
}

struct Scanner<'a> {
    bytes: &'a [u8],
    pos: usize,
    spans: Vec<Span>,
}

impl Scanner<'_> {
    fn run(&mut self) {
        // Depth of containers opened under a secret key: everything inside is secret.
        let mut depth = 0usize;
        let mut secret_depth: Option<usize> = None;
        let mut pending_key: Option<Span> = None;
        let mut value_is_secret = false;
        while self.pos < self.bytes.len() {
            let b = self.bytes[self.pos];
            match b {
                b'"' => {
                    let start = self.pos;
                    let end = self.skip_string();
                    let content = start + 1..end.saturating_sub(1).max(start + 1);
                    if self.next_significant() == Some(b':') {
                        pending_key = Some(content);
                        continue;
                    }
                    if value_is_secret || secret_depth.is_some() {
                        self.spans.push(content);
                    }
                    value_is_secret = false;
                }
                b':' => {
                    self.pos += 1;
                    if let Some(key) = pending_key.take() {
                        let name = String::from_utf8_lossy(&self.bytes[key]);
                        value_is_secret = is_secret_key(&name);
                    }
                }
                b'{' | b'[' => {
                    depth += 1;
                    if value_is_secret && secret_depth.is_none() {
                        secret_depth = Some(depth);
                    }
                    value_is_secret = false;
                    self.pos += 1;
                }
                b'}' | b']' => {
                    if secret_depth == Some(depth) {
                        secret_depth = None;
                    }
                    depth = depth.saturating_sub(1);
                    value_is_secret = false;
                    self.pos += 1;
                }
                b',' => {
                    value_is_secret = false;
                    self.pos += 1;
                }
                b' ' | b'\t' | b'\n' | b'\r' => self.pos += 1,
                _ => {
                    let start = self.pos;
                    while self.pos < self.bytes.len()
                        && !matches!(
                            self.bytes[self.pos],
                            b',' | b'}' | b']' | b' ' | b'\t' | b'\n' | b'\r' | b'"' | b':'
                        )
                    {
                        self.pos += 1;
                    }
                    if value_is_secret || secret_depth.is_some() {
                        self.spans.push(start..self.pos);
                    }
                    value_is_secret = false;
                }
            }
        }
    }

    /// Moves past a string starting at `pos`; returns the offset after its closing quote (or the
    /// end of the line for an unterminated string).
    fn skip_string(&mut self) -> usize {
        self.pos += 1;
        while self.pos < self.bytes.len() {
            match self.bytes[self.pos] {
                b'\\' => self.pos += 2,
                b'"' => {
                    self.pos += 1;
                    return self.pos;
                }
                b'\n' => return self.pos + 1,
                _ => self.pos += 1,
            }
        }
        self.pos = self.bytes.len();
        self.pos + 1
    }

    fn next_significant(&self) -> Option<u8> {
        self.bytes
            .get(self.pos..)?
            .iter()
            .copied()
            .find(|b| !matches!(b, b' ' | b'\t' | b'\n' | b'\r'))
    }
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
    fn containers_under_secret_keys_are_secret_throughout() {
        let out = redact_text(r#"{"secrets": {"a": "x1", "b": ["y2", 3]}, "keep": "z"}"#);
        assert!(!out.contains("x1") && !out.contains("y2") && !out.contains(" 3"));
        assert!(out.contains("\"z\""));
    }

    #[test]
    fn works_on_truncated_files_and_pem_blocks() {
        let out = redact_text("{\"authToken\": \"abc");
        assert!(!out.contains("abc"));
        let pem = "-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEI\n-----END PRIVATE KEY-----\n";
        let out = redact_text(pem);
        assert!(!out.contains("MC4CAQ"), "{out}");
    }
}

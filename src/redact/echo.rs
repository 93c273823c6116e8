//! Echoes: a secret value found once is secret wherever else it appears in the same file.
//!
//! A duplicated line can carry a value away from the key or the `"secret": true` marker that
//! made it secret (a bad merge copies `"value": "…"` into the parent object). The value is the
//! same bytes, so every string or bare token equal to one already found is hidden too.

use std::collections::HashSet;

use super::lexical::scan_string;
use crate::diag::Span;

/// Shorter values (`true`, a port) are too common to say anything.
const MIN_LEN: usize = 6;

/// The tokens of `bytes` equal to a value inside one of `secrets` and not already covered.
pub fn spans(bytes: &[u8], secrets: &[Span]) -> Vec<Span> {
    let known: HashSet<&[u8]> = secrets
        .iter()
        .map(|s| &bytes[s.clone()])
        .filter(|v| v.len() >= MIN_LEN)
        .collect();
    if known.is_empty() {
        return Vec::new();
    }
    let covered = |span: &Span| {
        let i = secrets.partition_point(|s| s.end <= span.start);
        secrets
            .get(i)
            .is_some_and(|s| s.start <= span.start && span.end <= s.end)
    };
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let token = if bytes[i] == b'"' {
            let (content, terminated) = scan_string(bytes, i);
            i = content.end + usize::from(terminated);
            content
        } else if is_delimiter(bytes[i]) {
            i += 1;
            continue;
        } else {
            let start = i;
            while i < bytes.len() && !is_delimiter(bytes[i]) {
                i += 1;
            }
            start..i
        };
        if token.len() >= MIN_LEN && known.contains(&bytes[token.clone()]) && !covered(&token) {
            out.push(token);
        }
    }
    out
}

fn is_delimiter(b: u8) -> bool {
    b.is_ascii_whitespace() || matches!(b, b',' | b':' | b'"' | b'{' | b'}' | b'[' | b']')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_secret_value_is_hidden_wherever_it_is_repeated() {
        let text =
            br#"{"authToken": "abcdef12", "copy": "abcdef12", "bare": abcdef12, "x": "abc"}"#;
        let first = 15..23;
        assert_eq!(&text[first.clone()], b"abcdef12");
        let found = spans(text, std::slice::from_ref(&first));
        let shown: Vec<&[u8]> = found.iter().map(|s| &text[s.clone()]).collect();
        assert_eq!(shown, [&b"abcdef12"[..], b"abcdef12"]);
    }
}

//! Echoes: a secret value found once is secret wherever else it appears in the same file.
//!
//! A duplicated line can carry a value away from the key or the `"secret": true` marker that
//! made it secret (a bad merge copies `"value": "…"` into the parent object). The value is the
//! same bytes, so every string or bare token equal to one already found is hidden too. In a
//! file the lexer found irregular, where the copy may itself be damaged, a token that shares
//! ten bytes in a row with a secret is hidden as well.

use std::collections::HashSet;

use super::lexical::scan_string;
use crate::diag::Span;

/// Shorter values (`true`, a port) are too common to say anything.
const MIN_LEN: usize = 6;

/// A run this long shared with a secret makes a token in a damaged file an echo.
const FUZZY_RUN: usize = 10;

/// The tokens of `bytes` equal to a value inside one of `secrets` (or, when `damaged`, sharing
/// a ten-byte run with one) and not already covered.
pub fn spans(bytes: &[u8], secrets: &[Span], damaged: bool) -> Vec<Span> {
    let known: HashSet<&[u8]> = secrets
        .iter()
        .map(|s| &bytes[s.clone()])
        .filter(|v| v.len() >= MIN_LEN)
        .collect();
    if known.is_empty() {
        return Vec::new();
    }
    let runs: HashSet<&[u8]> = if damaged {
        known.iter().flat_map(|v| v.windows(FUZZY_RUN)).collect()
    } else {
        HashSet::new()
    };
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
        let value = &bytes[token.clone()];
        let echo = token.len() >= MIN_LEN
            && (known.contains(value) || value.windows(FUZZY_RUN).any(|w| runs.contains(w)));
        if echo && !covered(&token) {
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
        let found = spans(text, std::slice::from_ref(&first), false);
        let shown: Vec<&[u8]> = found.iter().map(|s| &text[s.clone()]).collect();
        assert_eq!(shown, [&b"abcdef12"[..], b"abcdef12"]);
    }

    #[test]
    fn in_a_damaged_file_a_damaged_copy_too() {
        let text = br#"{"authToken": "abcdefghijkl", "copy": "abcdefghij,l"}"#;
        let first = 15..27;
        assert_eq!(&text[first.clone()], b"abcdefghijkl");
        assert!(spans(text, std::slice::from_ref(&first), false).is_empty());
        assert_eq!(spans(text, std::slice::from_ref(&first), true).len(), 1);
    }
}

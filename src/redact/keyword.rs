//! The keyword pass: a second look that does not trust the structure at all.
//!
//! A stray quote earlier on a line flips which bytes the structural pass takes for strings, and
//! a key can then hide inside what it thinks is a string value. This pass looks at the bytes
//! alone: a secret name, its closing quote, then a colon (possibly among junk
//! such as `,:`), then a value: the value is secret. It also catches JSON quoted inside a string
//! (`"{\"authToken\": \"x\"}"`). Requiring the colon keeps it from hiding ordinary words: a
//! prompt that says "rotate the token, then…" shows as written.

use super::lexical::scan_string;
use super::names::is_secret_name;
use crate::diag::Span;

/// Appends the ranges of values that follow a secret name and a colon.
///
/// Only a word that ends right before a quote or a backslash can be such a name
/// (`value_after_name`), so the pass jumps from one of these to the next and reads the word
/// before it backwards, never stepping through a prompt's text (issue #11). The words are those
/// a left-to-right reading finds: runs of name bytes, none starting before `from` (the end of
/// the last value hidden).
pub fn spans(bytes: &[u8], out: &mut Vec<Span>) {
    let mut from = 0;
    let mut next = 0;
    while let Some(p) = bytes
        .get(next..)
        .and_then(|rest| memchr::memchr2(b'"', b'\\', rest))
    {
        let end = next + p;
        next = end + 1;
        let start = bytes[from..end]
            .iter()
            .rposition(|&b| !is_name_byte(b))
            .map_or(from, |q| from + q + 1);
        if start == end {
            continue;
        }
        // The cheap test first: most words of a file (prompt text) are not followed by a
        // quote and a colon, and are then never read as names (issue #11).
        let Some(value) = value_after_name(bytes, end) else {
            continue;
        };
        if is_secret_name(&bytes[start..end]) {
            from = value.end.max(end);
            next = next.max(from);
            out.push(value);
        }
    }
}

/// Bytes a key name is made of; non-ASCII bytes count, so invalid UTF-8 does not split a name.
fn is_name_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.' | b'$') || b >= 0x80
}

fn value_after_name(bytes: &[u8], name_end: usize) -> Option<Span> {
    // The name must end a quoted key (`authToken"`, or `authToken\"` quoted inside a string):
    // a bare "authToken: " is more often a sentence than a key.
    // A backslash alone also ends it: a key's closing quote damaged into one (`"token\: x`).
    let mut i = name_end;
    match (bytes.get(i), bytes.get(i + 1)) {
        (Some(b'\\'), Some(b'"')) => i += 2,
        (Some(b'\\' | b'"'), _) => i += 1,
        _ => return None,
    }
    let mut colon = false;
    while let Some(&b) = bytes.get(i) {
        match b {
            b':' => colon = true,
            // A doubled quote before the colon (`"pin"": 1`) is junk too; after it, a quote
            // opens the value.
            b'"' if !colon => {}
            b',' | b';' | b'=' | b'}' | b']' => {}
            b if b.is_ascii_whitespace() => {}
            _ => break,
        }
        i += 1;
    }
    if !colon {
        return None;
    }
    // JSON quoted inside a string escapes its quotes.
    if bytes.get(i) == Some(&b'\\') && bytes.get(i + 1) == Some(&b'"') {
        i += 1;
    }
    match bytes.get(i)? {
        b'"' => {
            let (content, terminated) = scan_string(bytes, i);
            let end = if terminated {
                content.end
            } else {
                // Unclosed on its line: up to the next quote, as the structural pass does.
                bytes[content.end..]
                    .iter()
                    .position(|b| *b == b'"')
                    .map_or(bytes.len(), |p| content.end + p)
            };
            Some(content.start..end)
        }
        // Containers are the structural pass's business.
        b'{' | b'[' => None,
        _ => {
            let end = bytes[i..]
                .iter()
                .position(|b| {
                    b.is_ascii_whitespace() || matches!(b, b',' | b'}' | b']' | b'"' | b'\\')
                })
                .map_or(bytes.len(), |p| i + p);
            (end > i).then_some(i..end)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hidden(text: &[u8]) -> Vec<String> {
        let mut out = Vec::new();
        spans(text, &mut out);
        out.iter()
            .map(|s| String::from_utf8_lossy(&text[s.clone()]).into_owned())
            .collect()
    }

    #[test]
    fn finds_values_after_a_secret_name_and_a_colon() {
        // A stray quote before the key: the structure is off, the bytes are not.
        assert_eq!(
            hidden(br#"{"x": "a"b", "authToken": "SECRET"}"#),
            ["SECRET"]
        );
        assert_eq!(hidden(br#""dashboardPin",: "482913""#), ["482913"]);
        assert_eq!(hidden(br#""chatId": -100123,"#), ["-100123"]);
        assert_eq!(hidden(br#"authToken":} abc"#), ["abc"]);
        assert_eq!(hidden(br#""authToken\: abc,"#), ["abc"]);
        assert_eq!(hidden(br#""dashboardPin"": abc,"#), ["abc"]);
        let quoted = hidden(br#"{"note": "{\"authToken\": \"abc\"}"}"#);
        assert!(
            quoted.len() == 1 && quoted[0].starts_with("abc"),
            "{quoted:?}"
        );
    }

    /// The jumping pass finds what a byte-by-byte reading finds, on bytes made of the
    /// characters that matter (names, quotes, backslashes, colons, junk, newlines).
    #[test]
    fn jumping_agrees_with_reading_every_byte() {
        fn stepping(bytes: &[u8], out: &mut Vec<Span>) {
            let mut i = 0;
            while i < bytes.len() {
                if !is_name_byte(bytes[i]) {
                    i += 1;
                    continue;
                }
                let start = i;
                while i < bytes.len() && is_name_byte(bytes[i]) {
                    i += 1;
                }
                let Some(value) = value_after_name(bytes, i) else {
                    continue;
                };
                if is_secret_name(&bytes[start..i]) {
                    i = value.end.max(i);
                    out.push(value);
                }
            }
        }
        let pieces: &[&[u8]] = &[
            b"authToken",
            b"token",
            b"pin",
            b"x",
            b"\"",
            b"\\",
            b":",
            b": ",
            b",",
            b" ",
            b"\n",
            b"{",
            b"}",
            b"]",
            b"-1",
            b"abc",
            b"\xC3\xA9",
            b"chatId",
            b"\\\"",
            b";",
        ];
        let mut seed = 0x9E37_79B9_7F4A_7C15u64;
        for _ in 0..20_000 {
            let mut bytes = Vec::new();
            for _ in 0..(seed % 24) {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                bytes.extend_from_slice(pieces[(seed % pieces.len() as u64) as usize]);
            }
            let (mut ours, mut theirs) = (Vec::new(), Vec::new());
            spans(&bytes, &mut ours);
            stepping(&bytes, &mut theirs);
            assert_eq!(ours, theirs, "{:?}", String::from_utf8_lossy(&bytes));
        }
    }

    #[test]
    fn leaves_prose_and_containers_alone() {
        assert!(hidden(br#""rotate the token, then report""#).is_empty());
        assert!(hidden(b"no authToken: the agent is open").is_empty());
        assert!(hidden(br#""type": "token", "x": 1"#).is_empty());
        assert!(hidden(br#""authToken": {"x": 1}"#).is_empty());
    }
}

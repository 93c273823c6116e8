//! The structural pass: a JSON-shaped lexer that never fails. It follows keys, values and
//! containers well enough to know which values sit under a secret key, and it keeps going
//! through anything a damaged file holds.
//!
//! It does not validate and it never gives up: every byte is a string, a bare token, or
//! punctuation. Strings end at their closing quote or at the end of their line (JSON strings
//! never span lines, so a stray quote confuses one line at most). Where the file is broken it
//! errs on the side of hiding:
//! - a secret key's value is the next string or bare token, whatever junk (`,:`, `;`, a stray
//!   `}`) or missing colon lies between them;
//! - a secret string that does not close on its line is hidden up to the next quote in the file
//!   (or its end): a newline inside a token must not show its second half;
//! - junk glued to a secret string's closing quote (`"ab"cd",`) is hidden up to the next
//!   delimiter;
//! - a container under a secret key is secret throughout, and so is an object holding a
//!   `"secret": true` member, before and after the marker, to its close or the end of the file.

use super::names::{is_secret_marker, is_secret_name};
use crate::diag::Span;

/// Appends the secret ranges `bytes` holds, by its structure.
/// `unquoted_keys`: whether a bare word before a colon is a key (`{authToken: "x"}`, hand-edited
/// JSON5 in a state file). Off for prose such as a message, where "no authToken: the agent…" is
/// a sentence.
pub fn spans(bytes: &[u8], unquoted_keys: bool, out: &mut Vec<Span>) {
    let mut lexer = Lexer::new(bytes, 0);
    lexer.unquoted_keys = unquoted_keys;
    lexer.run(out);
}

struct Frame {
    object: bool,
    /// Offset of the opening bracket.
    open: usize,
    /// Opened as a secret key's value: every scalar inside is secret.
    secret: bool,
    /// Holds a `"secret": <not false>` member: every scalar inside is secret, rescanned at close.
    marked: bool,
    /// In an object: the next string is a key.
    expect_key: bool,
}

struct Lexer<'a> {
    bytes: &'a [u8],
    pos: usize,
    stack: Vec<Frame>,
    /// Frames on the stack with `secret` set (or 1 for a rescan of a marked object).
    secret_depth: usize,
    /// A secret key was seen and its value has not come yet.
    pending: bool,
    /// The last key was `secret`: a value other than `false`/`null` marks its object.
    marker_key: bool,
    unquoted_keys: bool,
}

impl<'a> Lexer<'a> {
    fn new(bytes: &'a [u8], secret_depth: usize) -> Self {
        Lexer {
            bytes,
            pos: 0,
            stack: Vec::new(),
            secret_depth,
            pending: false,
            marker_key: false,
            unquoted_keys: true,
        }
    }

    fn hiding(&self) -> bool {
        self.pending || self.secret_depth > 0
    }

    fn run(mut self, out: &mut Vec<Span>) {
        while self.pos < self.bytes.len() {
            match self.bytes[self.pos] {
                b'"' => self.string(out),
                b'{' | b'[' => self.open(),
                b'}' | b']' => self.close(out),
                b':' => {
                    if let Some(top) = self.stack.last_mut() {
                        top.expect_key = false;
                    }
                    self.pos += 1;
                }
                b',' => {
                    if let Some(top) = self.stack.last_mut() {
                        top.expect_key = top.object;
                    }
                    self.pos += 1;
                }
                b if b.is_ascii_whitespace() => self.pos += 1,
                _ => self.bare(out),
            }
        }
        // A truncated file: the objects still open end with it.
        while !self.stack.is_empty() {
            self.pop(self.bytes.len(), out);
        }
    }

    fn string(&mut self, out: &mut Vec<Span>) {
        let open = self.pos;
        let (content, terminated) = scan_string(self.bytes, open);
        self.pos = if terminated {
            content.end + 1
        } else {
            content.end
        };
        let in_key_slot = self
            .stack
            .last()
            .is_some_and(|f| f.object && f.expect_key);
        let is_key = self.next_significant() == Some(b':') || (in_key_slot && !self.pending);
        if is_key {
            // A key where a secret value was due may be that value with junk after it.
            if self.pending {
                out.push(content.clone());
            }
            let name = unescape(&self.bytes[content]);
            self.key(&name);
            return;
        }
        if self.hiding() {
            let end = if terminated {
                self.trailing_junk(content.end + 1)
            } else {
                // The token may go on past a newline flipped into it: hide up to the next quote.
                self.bytes[content.end..]
                    .iter()
                    .position(|b| *b == b'"')
                    .map_or(self.bytes.len(), |p| content.end + p)
            };
            out.push(content.start..end.max(content.end));
            if terminated && end > content.end + 1 {
                self.pos = end;
            }
        }
        self.value(true);
    }

    /// After a secret string's closing quote: the end of junk glued to it (`"ab"cd",`), which is
    /// more of the damaged value; or just the quote when a delimiter follows.
    fn trailing_junk(&self, after_quote: usize) -> usize {
        let rest = &self.bytes[after_quote..];
        match rest.first() {
            None => after_quote - 1,
            Some(b) if b.is_ascii_whitespace() || matches!(b, b',' | b'}' | b']' | b':') => {
                after_quote - 1
            }
            Some(_) => {
                after_quote
                    + rest
                        .iter()
                        .position(|b| matches!(b, b',' | b'}' | b']' | b':' | b'\n'))
                        .unwrap_or(rest.len())
            }
        }
    }

    fn bare(&mut self, out: &mut Vec<Span>) {
        let start = self.pos;
        while self.pos < self.bytes.len() && !is_delimiter(self.bytes[self.pos]) {
            self.pos += 1;
        }
        let token = &self.bytes[start..self.pos];
        if self.unquoted_keys && self.next_significant() == Some(b':') {
            // An unquoted key (`authToken: "x"`): not JSON, but still a name.
            if self.pending {
                out.push(start..self.pos);
            }
            self.key(token);
            return;
        }
        if self.hiding() {
            out.push(start..self.pos);
        }
        // Punctuation between a secret key and its value (`"pin";"4829"`) is junk, not the value.
        if self.pending && !token.iter().any(u8::is_ascii_alphanumeric) {
            return;
        }
        self.value(token != b"false" && token != b"null");
    }

    fn key(&mut self, name: &[u8]) {
        if let Some(top) = self.stack.last_mut() {
            top.expect_key = false;
        }
        if is_secret_name(name) {
            self.pending = true;
        }
        self.marker_key = is_secret_marker(name);
    }

    /// A scalar value was consumed; `truthy` says whether it can mark a placeholder object.
    fn value(&mut self, truthy: bool) {
        self.pending = false;
        if self.marker_key && truthy {
            if let Some(top) = self.stack.iter_mut().rev().find(|f| f.object) {
                top.marked = true;
            }
        }
        self.marker_key = false;
    }

    fn open(&mut self) {
        let object = self.bytes[self.pos] == b'{';
        let secret = self.pending;
        if secret {
            self.secret_depth += 1;
        }
        self.value(true);
        self.stack.push(Frame {
            object,
            open: self.pos,
            secret,
            marked: false,
            expect_key: object,
        });
        self.pos += 1;
    }

    fn close(&mut self, out: &mut Vec<Span>) {
        self.pos += 1;
        if !self.stack.is_empty() {
            self.pop(self.pos, out);
        }
        // A missing secret value (`"authToken"}`) stays due: the next value may be it.
        self.marker_key = false;
    }

    fn pop(&mut self, end: usize, out: &mut Vec<Span>) {
        let Some(frame) = self.stack.pop() else {
            return;
        };
        if frame.secret {
            self.secret_depth -= 1;
        }
        // The marker may come after the value it protects: hide the whole object now.
        if frame.marked && self.secret_depth == 0 && !frame.secret {
            let inner = &self.bytes[frame.open + 1..end];
            let mut hidden = Vec::new();
            Lexer::new(inner, 1).run(&mut hidden);
            out.extend(
                hidden
                    .into_iter()
                    .map(|s| s.start + frame.open + 1..s.end + frame.open + 1),
            );
        }
        if let Some(parent) = self.stack.last_mut() {
            parent.expect_key = false;
        }
    }

    fn next_significant(&self) -> Option<u8> {
        self.bytes[self.pos..]
            .iter()
            .copied()
            .find(|b| !b.is_ascii_whitespace())
    }
}

fn is_delimiter(b: u8) -> bool {
    b.is_ascii_whitespace() || matches!(b, b',' | b':' | b'"' | b'{' | b'}' | b'[' | b']')
}

/// The content of the string opening at `open`, and whether it closed: it ends at the closing
/// quote, or unterminated at the end of its line or of the file.
pub fn scan_string(bytes: &[u8], open: usize) -> (Span, bool) {
    let mut i = open + 1;
    while i < bytes.len() {
        match bytes[i] {
            b'"' => return (open + 1..i, true),
            b'\n' => return (open + 1..i, false),
            // An escape never swallows a newline: the line still ends the string.
            b'\\' if bytes.get(i + 1) != Some(&b'\n') => i += 2,
            _ => i += 1,
        }
    }
    (open + 1..bytes.len(), false)
}

/// A key's name with its escapes resolved, so `"auth\u0054oken"` is still `authToken`.
pub fn unescape(raw: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(raw.len());
    let mut i = 0;
    while i < raw.len() {
        if raw[i] == b'\\' && i + 1 < raw.len() {
            if raw[i + 1] == b'u' {
                let hex = raw.get(i + 2..i + 6).and_then(|h| std::str::from_utf8(h).ok());
                if let Some(c) = hex
                    .and_then(|h| u32::from_str_radix(h, 16).ok())
                    .and_then(char::from_u32)
                {
                    let mut buf = [0u8; 4];
                    out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
                    i += 6;
                    continue;
                }
            }
            out.push(raw[i + 1]);
            i += 2;
        } else {
            out.push(raw[i]);
            i += 1;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hidden(text: &[u8]) -> Vec<String> {
        let mut out = Vec::new();
        spans(text, true, &mut out);
        out.iter()
            .map(|s| String::from_utf8_lossy(&text[s.clone()]).into_owned())
            .collect()
    }

    #[test]
    fn values_under_secret_keys_only() {
        let h = hidden(br#"{"authToken": "s3", "port": 4040, "tg": {"chatId": -100, "x": "y"}}"#);
        assert_eq!(h, ["s3", "-100"]);
    }

    #[test]
    fn junk_between_key_and_value() {
        assert_eq!(hidden(br#"{"a": 1, "dashboardPin",: "482913"}"#), ["482913"]);
        assert_eq!(hidden(br#"{"a": 1, "dashboardPin" "482913"}"#), ["482913"]);
        assert_eq!(hidden(br#"{"a": 1, "dashboardPin"; "482913"}"#), [";", "482913"]);
        assert_eq!(hidden(br#"{"dashboardPin"} "482913""#), ["482913"]);
        assert_eq!(hidden(b"{\"authToken\":\n\n   \"abc\"}"), ["abc"]);
    }

    #[test]
    fn unquoted_keys_in_files_not_in_prose() {
        assert_eq!(hidden(br#"{authToken: "abc"}"#), ["abc"]);
        let mut out = Vec::new();
        spans(b"no authToken: the agent is open", false, &mut out);
        assert!(out.is_empty());
    }

    #[test]
    fn duplicated_keys_both_hidden() {
        assert_eq!(hidden(br#"{"authToken": "one", "authToken": "two"}"#), ["one", "two"]);
    }

    #[test]
    fn damaged_strings() {
        // Truncated inside the value.
        assert_eq!(hidden(br#"{"authToken": "abc"#), ["abc"]);
        // A newline flipped into the token: hidden up to the next quote.
        assert_eq!(hidden(b"{\"authToken\": \"ab\ncd\", \"x\": 1}"), ["ab\ncd"]);
        // A quote flipped into the token: the glued rest is hidden to the delimiter.
        assert_eq!(hidden(br#"{"authToken": "ab"cd", "x": "y"}"#), ["ab\"cd\""]);
        // Invalid UTF-8 is just bytes.
        assert_eq!(hidden(b"{\"authToken\": \"a\xFF\xFEb\"}").len(), 1);
        // An escaped key name.
        assert_eq!(hidden(br#"{"auth\u0054oken": "abc"}"#), ["abc"]);
    }

    #[test]
    fn placeholder_objects_hide_members_on_both_sides_of_the_marker() {
        let text = br#"{"db": {"value": "v1", "note": "n", "secret": true, "more": ["v2"]}, "k": "keep"}"#;
        let h = hidden(text);
        for v in ["v1", "n", "true", "v2"] {
            assert!(h.iter().any(|s| s == v), "{v} not in {h:?}");
        }
        assert!(!h.iter().any(|s| s == "keep" || s == "value"));
        // Unterminated: the object ends with the file.
        let h = hidden(br#"{"db": {"value": "v1", "secret": true"#);
        assert!(h.iter().any(|s| s == "v1"), "{h:?}");
        // `"secret": false` marks nothing.
        let h = hidden(br#"{"db": {"value": "v1", "secret": false}}"#);
        assert!(!h.iter().any(|s| s == "v1"), "{h:?}");
    }

    #[test]
    fn containers_under_secret_keys_are_secret_throughout() {
        let h = hidden(br#"{"secrets": {"a": "x1", "b": ["y2", 3]}, "keep": "z"}"#);
        assert_eq!(h, ["x1", "y2", "3"]);
    }
}

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
//!   `"secret": true` member, before and after the marker, to its close or the end of the file
//!   (and its parent too when the brackets do not balance: a lost or gained bracket may have
//!   pushed the marker one object down);
//! - in a JSON file, a word glued to a quote (`store5": {`) is a string that lost its opening
//!   quote, a bracket glued to a word (`ab}cd`) is part of the word, and a key that lost its
//!   closing quote (`"secret_: true`) is split at its colon: each keeps the line's parity;
//! - in a JSON file (not in prose, not in a script), a string where no value belongs is hidden:
//!   one right after another value, a key without a colon that is no secret name, a value
//!   after a colon with no key, a string outside any container. Valid JSON has none of these;
//!   a damaged file has them where a key was lost (a duplicated line of a split member), and
//!   such a value may well have been a secret. So is a bare word glued by junk to a secret just
//!   hidden (a comma flipped into a bare token). Other bare words are left alone: in a damaged
//!   file they are comments, conflict markers and literals.

use super::names::{is_secret_marker, is_secret_name};
use crate::diag::Span;

/// Appends the secret ranges `bytes` holds, by its structure. `file`: `bytes` are a state file,
/// so a bare word before a colon is a key (`{authToken: "x"}`, hand-edited JSON5) and stray
/// values are hidden; off for prose such as a message, where "no authToken: the agent…" is a
/// sentence. Returns whether the bytes were irregular (anything valid JSON never has).
pub fn spans(bytes: &[u8], file: bool, out: &mut Vec<Span>) -> bool {
    let mut lexer = Lexer::new(bytes, 0);
    lexer.file = file;
    let mut found = Vec::new();
    let (unbalanced, irregular) = lexer.run(&mut found);
    if unbalanced {
        // Brackets that do not balance: a bracket lost or gained (a flipped byte, a duplicated
        // `"key": {` line) may have put a placeholder's marker one object below its value.
        // Read again with each marked object's parent marked too.
        found.clear();
        let mut lexer = Lexer::new(bytes, 0);
        lexer.file = file;
        lexer.propagate = true;
        lexer.run(&mut found);
    }
    out.extend(found);
    irregular
}

/// Where the lexer stands in its container: what may come next.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Slot {
    /// In an object, after `{` or `,`.
    Key,
    /// After a key.
    Colon,
    /// After a colon that followed a key, after `[` or an array's `,`, or at the top.
    Value,
    /// After a colon that followed no key.
    KeylessValue,
    /// After a value.
    After,
}

struct Frame {
    object: bool,
    /// Offset of the opening bracket.
    open: usize,
    /// Opened as a secret key's value: every scalar inside is secret.
    secret: bool,
    /// `secret` members seen (less those whose value was `false` or `null`): when any, every
    /// scalar inside is secret, found by a rescan at close. Counted at the key, not the value,
    /// so damage between the two cannot unmark the object.
    marks: usize,
}

struct Lexer<'a> {
    bytes: &'a [u8],
    pos: usize,
    stack: Vec<Frame>,
    /// Where we stand in the innermost container (or at the top).
    slot: Slot,
    /// Frames on the stack with `secret` set (or 1 for a rescan of a marked object).
    secret_depth: usize,
    /// A secret key was seen and its value has not come yet.
    pending: bool,
    /// The last key was `secret` (see `Frame::marks`).
    marker_key: bool,
    file: bool,
    /// A marked object also marks its parent (see `spans`).
    propagate: bool,
    /// A closer without its opener, or of the other kind, was met.
    unbalanced: bool,
    /// Where the last hidden token ended (its closing quote included).
    hidden_end: Option<usize>,
    /// Something valid JSON never has was met (a stray, junk, a key without its comma…).
    irregular: bool,
}

impl<'a> Lexer<'a> {
    fn new(bytes: &'a [u8], secret_depth: usize) -> Self {
        Lexer {
            bytes,
            pos: 0,
            stack: Vec::new(),
            slot: Slot::Value,
            secret_depth,
            pending: false,
            marker_key: false,
            file: true,
            propagate: false,
            unbalanced: false,
            hidden_end: None,
            irregular: false,
        }
    }

    fn hiding(&self) -> bool {
        self.pending || self.secret_depth > 0
    }

    fn in_object(&self) -> bool {
        self.stack.last().is_some_and(|f| f.object)
    }

    /// Returns whether the brackets were unbalanced, and whether anything was irregular.
    fn run(mut self, out: &mut Vec<Span>) -> (bool, bool) {
        while self.pos < self.bytes.len() {
            match self.bytes[self.pos] {
                b'"' => self.string(out),
                // A bracket glued to a word (`F9}IEBJ`, `ab{cd`) never delimits JSON: it is a
                // byte flipped into a bare token, read as part of it.
                b'{' | b'[' | b'}' | b']' if self.glued_bracket() => {
                    self.irregular = true;
                    self.bare(out)
                }
                b'{' | b'[' => self.open(),
                b'}' | b']' => self.close(out),
                b':' => {
                    self.slot = match self.slot {
                        Slot::Colon => Slot::Value,
                        Slot::Value if !self.in_object() => Slot::Value,
                        _ => Slot::KeylessValue,
                    };
                    self.pos += 1;
                }
                b',' => {
                    self.slot = if self.in_object() {
                        Slot::Key
                    } else {
                        Slot::Value
                    };
                    self.pos += 1;
                }
                b if b.is_ascii_whitespace() => self.pos += 1,
                _ => self.bare(out),
            }
        }
        // A truncated file: the objects still open end with it.
        let unbalanced = self.unbalanced || !self.stack.is_empty();
        while !self.stack.is_empty() {
            self.pop(self.bytes.len(), out);
        }
        (unbalanced, unbalanced || self.irregular)
    }

    /// Whether a string met now, not followed by a colon, is a stray value (see the module doc).
    fn stray(&self, name_is_secret: bool) -> bool {
        // A state file is an object or an array: a scalar outside any is a lost line.
        if self.stack.is_empty() {
            return self.file;
        }
        self.file
            && match self.slot {
                Slot::Key => !name_is_secret,
                Slot::Colon | Slot::After | Slot::KeylessValue => true,
                Slot::Value => false,
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
        self.quoted(content, terminated, out);
    }

    /// A string's content, `self.pos` already past it: a key, a value, or a stray.
    fn quoted(&mut self, content: Span, terminated: bool, out: &mut Vec<Span>) {
        if !terminated && self.slot == Slot::Key && self.member_in_string(&content, out) {
            return;
        }
        // Whether the file was already damaged before this string (read before this string's
        // own damage is counted below).
        let damaged_before = self.irregular;
        let colon = self.next_significant() == Some(b':');
        // The string's text as a name matters only in a key's place or before a colon: a 60 MB
        // file's prompt values are neither unescaped nor read as names (issue #11).
        let as_name = self.slot == Slot::Key || colon;
        let name = if as_name {
            unescape(&self.bytes[content.clone()])
        } else {
            std::borrow::Cow::Borrowed(&b""[..])
        };
        let secret_name = self.slot == Slot::Key && is_secret_name(&name);
        // In a key's place, a secret name without a colon is still a key; so is a string cut off
        // by the end of its line or file (a truncated `"machi`).
        let missing_colon_key =
            self.slot == Slot::Key && !self.pending && (secret_name || !terminated);
        self.irregular |= !terminated
            || missing_colon_key
            || (colon && self.slot != Slot::Key && !self.stack.is_empty());
        if colon || missing_colon_key || (!self.file && self.slot == Slot::Key && !self.pending) {
            // A key where a secret value was due may be that value with junk after it.
            // And in a file already damaged, the last string of a truncated file may be a
            // secret value whose key line was lost or moved: cut off by the end of the file, it
            // is hidden whatever slot it stands in. (A file only truncated keeps its last key
            // shown: `{"version": 1, "machi` says where it was cut.)
            let cut_by_eof = !terminated
                && damaged_before
                && self.file
                && self.bytes[content.end..]
                    .iter()
                    .all(|b| b.is_ascii_whitespace());
            if self.pending || cut_by_eof {
                out.push(content);
            }
            // Already read as a name in a key's place: not read twice.
            let known = (self.slot == Slot::Key).then_some(secret_name);
            self.key_read(&name, known);
            return;
        }
        let stray = self.stray(secret_name);
        self.irregular |= stray;
        if self.hiding() || stray {
            // Only a secret's own damage is followed past its quotes; a stray's neighbours are
            // read for what they are (the next may be the marker that makes an object secret).
            let end = if terminated && self.hiding() {
                self.trailing_junk(content.end + 1)
            } else if terminated {
                content.end
            } else if self.hiding() {
                // A secret may go on past a newline flipped into it: hide up to the next quote.
                // The lexer itself still resumes at the newline, where the structure is sound.
                self.bytes[content.end..]
                    .iter()
                    .position(|b| *b == b'"')
                    .map_or(self.bytes.len(), |p| content.end + p)
            } else {
                content.end
            };
            out.push(content.start..end.max(content.end));
            if terminated && end > content.end + 1 {
                self.pos = end;
            }
            self.hidden_end = Some(self.pos);
        }
        self.value(true);
    }

    /// A key whose closing quote was lost swallows its member to the end of the line
    /// (`"authToken_: "abc",`): split it at its first colon, and treat the two halves as the key
    /// and its value. Returns whether the string was such a member.
    fn member_in_string(&mut self, content: &Span, out: &mut Vec<Span>) -> bool {
        let bytes = &self.bytes[content.clone()];
        let Some(colon) = bytes.iter().position(|b| *b == b':') else {
            return false;
        };
        self.irregular = true;
        let name = &bytes[..colon];
        let value_from = content.start + colon + 1;
        let value = self.bytes[value_from..content.end].trim_ascii();
        if is_secret_name(name) || self.hiding() {
            out.push(value_from..content.end);
        }
        if is_secret_marker(name) && value != b"false" && value != b"null" {
            if let Some(object) = self.stack.iter_mut().rev().find(|f| f.object) {
                object.marks += 1;
            }
        }
        self.pending = false;
        self.marker_key = false;
        self.slot = Slot::After;
        true
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

    fn glued_bracket(&self) -> bool {
        let word = |b: Option<&u8>| b.is_some_and(u8::is_ascii_alphanumeric);
        let before = self.pos.checked_sub(1).and_then(|i| self.bytes.get(i));
        let after = self.bytes.get(self.pos + 1);
        self.file
            && match self.bytes[self.pos] {
                b'}' | b']' => word(after),
                b'{' | b'[' => word(before),
                _ => false,
            }
    }

    fn bare(&mut self, out: &mut Vec<Span>) {
        let start = self.pos;
        // The first byte may be a glued bracket (see `run`).
        self.pos += 1;
        while self.pos < self.bytes.len()
            && (!is_delimiter(self.bytes[self.pos]) || self.glued_bracket())
        {
            self.pos += 1;
        }
        // A word glued to a quote (`store5": {`) is a string that lost its opening quote: read
        // it as one, closed by that quote, so the rest of the line keeps its parity.
        if self.file && self.bytes.get(self.pos) == Some(&b'"') {
            self.irregular = true;
            let content = start..self.pos;
            self.pos += 1;
            self.quoted(content, true, out);
            return;
        }
        let token = &self.bytes[start..self.pos];
        let next = self.next_significant();
        // A bare word is stray only when glued by junk to a secret just hidden (`ab,cd` after a
        // comma flipped into a bare token; `cd` at the start of the line after a newline
        // flipped in; `ab cd` after a space), and only a word: a damaged file's other bare words are its comments,
        // conflict markers and literals (`=======`, `<<<<<<< HEAD`, `null`), never secrets.
        let glued = self.file
            && token.iter().any(u8::is_ascii_alphanumeric)
            && self.hidden_end.is_some_and(|end| {
                let between = &self.bytes[end.min(start)..start];
                end <= start
                    && (between
                        .iter()
                        .all(|b| matches!(b, b',' | b':' | b';' | b'\n' | b'\r'))
                        // A space flipped into it: the next word comes right after the value.
                        || (self.slot == Slot::After
                            && between
                                .iter()
                                .all(|b| b.is_ascii_whitespace() && *b != b'\n')))
            });
        self.irregular |= glued;
        if self.file && next == Some(b':') {
            self.irregular = true;
            // An unquoted key (`authToken: "x"`): not JSON, but still a name. Inside a secret
            // container it may as well be a value with a colon flipped in: hidden.
            if self.hiding() || glued {
                out.push(start..self.pos);
                self.hidden_end = Some(self.pos);
            }
            self.key(token);
            return;
        }
        if self.hiding() || glued {
            out.push(start..self.pos);
            self.hidden_end = Some(self.pos);
        }
        // Punctuation between a secret key and its value (`"pin";"4829"`) is junk, not the value;
        // so is a word glued before a string (`"pin"x "4829"`): no value is followed by a quote.
        if self.pending && (!token.iter().any(u8::is_ascii_alphanumeric) || next == Some(b'"')) {
            self.irregular = true;
            return;
        }
        self.value(token != b"false" && token != b"null");
    }

    fn key(&mut self, name: &[u8]) {
        self.key_read(name, None);
    }

    /// `key`, with whether `name` is secret when the caller already knows.
    fn key_read(&mut self, name: &[u8], secret: Option<bool>) {
        self.slot = Slot::Colon;
        if secret.unwrap_or_else(|| is_secret_name(name)) {
            self.pending = true;
        }
        self.marker_key = is_secret_marker(name);
        if self.marker_key {
            // The nearest object: a bracket flipped in before the marker must not lose it.
            if let Some(object) = self.stack.iter_mut().rev().find(|f| f.object) {
                object.marks += 1;
            }
        }
    }

    /// A value was consumed; a `false` or `null` one (`truthy` unset) after a `secret` key
    /// takes back the mark that key made.
    fn value(&mut self, truthy: bool) {
        self.pending = false;
        self.slot = Slot::After;
        if self.marker_key && !truthy {
            if let Some(object) = self.stack.iter_mut().rev().find(|f| f.object) {
                object.marks = object.marks.saturating_sub(1);
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
            marks: 0,
        });
        self.slot = if object { Slot::Key } else { Slot::Value };
        self.pos += 1;
    }

    fn close(&mut self, out: &mut Vec<Span>) {
        let object = self.bytes[self.pos] == b'}';
        self.pos += 1;
        match self.stack.last() {
            Some(top) => {
                self.unbalanced |= top.object != object;
                self.pop(self.pos, out);
            }
            None => self.unbalanced = true,
        }
        self.slot = Slot::After;
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
        if self.propagate && frame.marks > 0 {
            if let Some(parent) = self.stack.iter_mut().rev().find(|f| f.object) {
                parent.marks += 1;
            }
        }
        // The marker may come after the value it protects: hide the whole object now.
        if frame.marks > 0 && self.secret_depth == 0 && !frame.secret {
            let inner = &self.bytes[frame.open + 1..end];
            let mut hidden = Vec::new();
            let mut rescan = Lexer::new(inner, 1);
            rescan.file = self.file;
            rescan.slot = Slot::Key;
            rescan.run(&mut hidden);
            out.extend(
                hidden
                    .into_iter()
                    .map(|s| s.start + frame.open + 1..s.end + frame.open + 1),
            );
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
    // From one quote, newline or backslash to the next: a prompt's text is skipped, not
    // stepped through (issue #11).
    while let Some(p) = bytes
        .get(i..)
        .and_then(|rest| memchr::memchr3(b'"', b'\n', b'\\', rest))
    {
        let at = i + p;
        match bytes[at] {
            b'"' => return (open + 1..at, true),
            b'\n' => return (open + 1..at, false),
            // An escape never swallows a newline: the line still ends the string.
            _ if bytes.get(at + 1) != Some(&b'\n') => i = at + 2,
            _ => i = at + 1,
        }
    }
    (open + 1..bytes.len(), false)
}

/// A key's name with its escapes resolved, so `"auth\u0054oken"` is still `authToken`. Borrowed
/// when there is nothing to resolve: this runs on every string of a 60 MB file.
pub fn unescape(raw: &[u8]) -> std::borrow::Cow<'_, [u8]> {
    if !raw.contains(&b'\\') {
        return std::borrow::Cow::Borrowed(raw);
    }
    let mut out = Vec::with_capacity(raw.len());
    let mut i = 0;
    while i < raw.len() {
        if raw[i] == b'\\' && i + 1 < raw.len() {
            if raw[i + 1] == b'u' {
                let hex = raw
                    .get(i + 2..i + 6)
                    .and_then(|h| std::str::from_utf8(h).ok());
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
    std::borrow::Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Jumping to the next quote, newline or backslash ends a string where stepping through
    /// it byte by byte does.
    #[test]
    fn scan_string_agrees_with_stepping() {
        fn stepping(bytes: &[u8], open: usize) -> (Span, bool) {
            let mut i = open + 1;
            while i < bytes.len() {
                match bytes[i] {
                    b'"' => return (open + 1..i, true),
                    b'\n' => return (open + 1..i, false),
                    b'\\' if bytes.get(i + 1) != Some(&b'\n') => i += 2,
                    _ => i += 1,
                }
            }
            (open + 1..bytes.len(), false)
        }
        let pieces: &[&[u8]] = &[b"\"", b"\\", b"\n", b"a", b"bc", b"\\\"", b"\\\n", b"\\\\"];
        let mut seed = 0x2545_F491_4F6C_DD1Du64;
        for _ in 0..20_000 {
            let mut bytes = b"\"".to_vec();
            for _ in 0..(seed % 12) {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                bytes.extend_from_slice(pieces[(seed % pieces.len() as u64) as usize]);
            }
            assert_eq!(scan_string(&bytes, 0), stepping(&bytes, 0), "{bytes:?}");
        }
    }

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
        assert_eq!(
            hidden(br#"{"a": 1, "dashboardPin",: "482913"}"#),
            ["482913"]
        );
        assert_eq!(hidden(br#"{"a": 1, "dashboardPin" "482913"}"#), ["482913"]);
        assert_eq!(
            hidden(br#"{"a": 1, "dashboardPin"; "482913"}"#),
            [";", "482913"]
        );
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
    fn stray_values_where_keys_belong() {
        // A split member's value line, duplicated without its key.
        let h = hidden(b"{\"authToken\":\n  \"tok1\",\n  \"tok1\",\n  \"port\": 1}");
        assert_eq!(h, ["tok1", "tok1"]);
        // A bare value split by a comma.
        assert_eq!(hidden(br#"{"chatId": ab,cd, "port": 1}"#), ["ab", "cd"]);
        assert_eq!(hidden(b"{\"chatId\": ab\ncd, \"port\": 1}"), ["ab", "cd"]);
        assert_eq!(hidden(b"{\"chatId\": ab cd, \"port\": 1}"), ["ab", "cd"]);
        // A word glued between a secret key and its value.
        assert_eq!(hidden(br#"{"authToken"x "abc"}"#), ["x", "abc"]);
    }

    #[test]
    fn a_key_that_lost_its_closing_quote() {
        // The value's opening quote closes the key: the value is then a bare word.
        assert!(hidden(b"{\"authToken_: \"abc\",\n \"x\": 1}").contains(&"abc".to_string()));
        assert_eq!(hidden(b"{\"authToken_: abc,\n \"x\": 1}"), [" abc,"]);
        let h = hidden(b"{\"db\": {\"value\": \"v1\",\n \"secret_: true\n}}");
        assert!(h.iter().any(|s| s == "v1"), "{h:?}");
    }

    #[test]
    fn a_string_that_lost_its_opening_quote() {
        let h = hidden(br#"{"a": 1, :store5": {"secret": true, "value": "v1v1"}}"#);
        assert!(h.iter().any(|s| s == "v1v1"), "{h:?}");
    }

    #[test]
    fn bytes_flipped_into_a_bare_secret() {
        for text in [
            &br#"{"apiKey": ab}cd, "x": 1}"#[..],
            br#"{"apiKey": ab{cd, "x": 1}"#,
            br#"{"apiKey": ab:cd, "x": 1}"#,
            br#"{"apiKey": ab"cd, "x": 1}"#,
            br#"{"db": {"secret": true, "value": ]ab:cd"}}"#,
        ] {
            let h = hidden(text).concat();
            assert!(h.contains("ab") && h.contains("cd"), "{h:?}");
        }
    }

    #[test]
    fn duplicated_keys_both_hidden() {
        assert_eq!(
            hidden(br#"{"authToken": "one", "authToken": "two"}"#),
            ["one", "two"]
        );
    }

    #[test]
    fn damaged_strings() {
        // Truncated inside the value.
        assert_eq!(hidden(br#"{"authToken": "abc"#), ["abc"]);
        // A newline flipped into the token: hidden up to the next quote.
        let h = hidden(b"{\"authToken\": \"ab\ncd\", \"x\": 1}");
        assert_eq!(h[0], "ab\ncd", "{h:?}");
        // A quote flipped into the token: the glued rest is hidden to the delimiter.
        assert_eq!(hidden(br#"{"authToken": "ab"cd", "x": "y"}"#), ["ab\"cd\""]);
        // Invalid UTF-8 is just bytes.
        assert_eq!(hidden(b"{\"authToken\": \"a\xFF\xFEb\"}").len(), 1);
        // An escaped key name.
        assert_eq!(hidden(br#"{"auth\u0054oken": "abc"}"#), ["abc"]);
    }

    #[test]
    fn placeholder_objects_hide_members_on_both_sides_of_the_marker() {
        let text =
            br#"{"db": {"value": "v1", "note": "n", "secret": true, "more": ["v2"]}, "k": "keep"}"#;
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
    fn a_marker_pushed_one_object_down_by_a_lost_bracket() {
        // `"database": {` duplicated below the value: the marker lands in the copy.
        let text = b"{\"database\": {\n \"value\": \"v1v1v1\",\n \"database\": {\n \"secret\": true\n }\n}\n";
        let h = hidden(text);
        assert!(h.iter().any(|s| s == "v1v1v1"), "{h:?}");
        // Balanced, the parent of a placeholder is not hidden.
        let h = hidden(br#"{"keep": "k1k1k1", "db": {"secret": true}}"#);
        assert!(!h.iter().any(|s| s == "k1k1k1"), "{h:?}");
    }

    #[test]
    fn containers_under_secret_keys_are_secret_throughout() {
        let h = hidden(br#"{"secrets": {"a": "x1", "b": ["y2", 3]}, "keep": "z"}"#);
        assert_eq!(h, ["x1", "y2", "3"]);
    }

    #[test]
    fn the_last_string_of_a_truncated_file_is_hidden_in_any_slot() {
        // Found by the redaction property test: a secret's key line duplicated away from its
        // value, then the file cut inside the value, which then stands where a key belongs.
        let text = b"{\n  \"contextSigningKey\":\n  \"encryptionPublicKey\": \"MCow\",\n    \"zqgpefQiLKw2";
        let mut found = Vec::new();
        super::spans(text, true, &mut found);
        let hidden: Vec<&[u8]> = found.iter().map(|s| &text[s.clone()]).collect();
        assert!(
            hidden.iter().any(|h| h.starts_with(b"zqgpef")),
            "{:?}",
            hidden
                .iter()
                .map(|h| String::from_utf8_lossy(h))
                .collect::<Vec<_>>()
        );
    }
}

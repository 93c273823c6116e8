//! Decoding string bodies (lazily, only when asked), mapping decoded offsets
//! back to source bytes, and text positions the way a JavaScript user sees them.

use std::ops::Range;

const REPLACEMENT: char = '\u{FFFD}';
const UTF8_BOM: &[u8] = b"\xEF\xBB\xBF";

/// The bytes between the quotes of the string token `start..end`.
pub(super) fn string_body(src: &[u8], start: u32, end: u32) -> &[u8] {
    let (start, end) = (start as usize, end as usize);
    if end < start + 2 {
        return &[];
    }
    src.get(start + 1..end - 1).unwrap_or_default()
}

/// One decoded piece of a string body and the source bytes it came from.
#[derive(Clone, Copy)]
pub(super) enum Text<'a> {
    /// Valid UTF-8 copied as is: decoded and source offsets correspond 1:1.
    Str(&'a str),
    /// An escape or an invalid UTF-8 sequence: indivisible.
    Char(char),
}

impl Text<'_> {
    fn len(self) -> usize {
        match self {
            Text::Str(s) => s.len(),
            Text::Char(c) => c.len_utf8(),
        }
    }
}

/// Decoded pieces of a string body, in order. Works on any bytes; malformed
/// escapes (which the scanner never lets through) become U+FFFD.
pub(super) struct Pieces<'a> {
    body: &'a [u8],
    pos: usize,
    /// End of the current escape-free run, cached so that a long run full of
    /// invalid bytes is not searched again for every piece.
    run_end: usize,
}

impl<'a> Pieces<'a> {
    pub(super) fn new(body: &'a [u8]) -> Self {
        Pieces {
            body,
            pos: 0,
            run_end: 0,
        }
    }
}

impl<'a> Iterator for Pieces<'a> {
    type Item = (Range<usize>, Text<'a>);

    fn next(&mut self) -> Option<Self::Item> {
        let start = self.pos;
        let rest = self.body.get(start..).filter(|r| !r.is_empty())?;
        if rest.first() == Some(&b'\\') {
            let (len, c) = escape(rest);
            self.pos += len;
            return Some((start..self.pos, Text::Char(c)));
        }
        if self.run_end <= start {
            self.run_end = start + rest.iter().position(|&b| b == b'\\').unwrap_or(rest.len());
        }
        let run = self.body.get(start..self.run_end).unwrap_or_default();
        let chunk = run.utf8_chunks().next()?;
        let text = if chunk.valid().is_empty() {
            self.pos += chunk.invalid().len();
            Text::Char(REPLACEMENT)
        } else {
            self.pos += chunk.valid().len();
            Text::Str(chunk.valid())
        };
        (self.pos > start).then_some((start..self.pos, text))
    }
}

/// Decodes the escape at the start of `rest` (which begins with `\`).
fn escape(rest: &[u8]) -> (usize, char) {
    let c = match rest.get(1) {
        Some(b'"') => '"',
        Some(b'\\') => '\\',
        Some(b'/') => '/',
        Some(b'b') => '\u{8}',
        Some(b'f') => '\u{c}',
        Some(b'n') => '\n',
        Some(b'r') => '\r',
        Some(b't') => '\t',
        Some(b'u') => return unicode_escape(rest),
        Some(_) => return (2, REPLACEMENT),
        None => return (1, REPLACEMENT),
    };
    (2, c)
}

/// `\uXXXX`, joining a surrogate pair written as two escapes. A lone
/// surrogate is valid for JSON.parse but has no `char`: it becomes U+FFFD.
fn unicode_escape(rest: &[u8]) -> (usize, char) {
    let Some(high) = hex4(rest.get(2..6)) else {
        return (2, REPLACEMENT);
    };
    if (0xD800..0xDC00).contains(&high) {
        let low = match rest.get(6..8) {
            Some(b"\\u") => hex4(rest.get(8..12)),
            _ => None,
        };
        if let Some(low @ 0xDC00..=0xDFFF) = low {
            let code = 0x10000 + ((high - 0xD800) << 10) + (low - 0xDC00);
            return (12, char::from_u32(code).unwrap_or(REPLACEMENT));
        }
        return (6, REPLACEMENT);
    }
    (6, char::from_u32(high).unwrap_or(REPLACEMENT))
}

fn hex4(bytes: Option<&[u8]>) -> Option<u32> {
    let bytes = bytes?;
    if bytes.len() != 4 {
        return None;
    }
    bytes.iter().try_fold(0u32, |acc, &b| {
        let digit = char::from(b).to_digit(16)?;
        Some(acc * 16 + digit)
    })
}

/// The decoded text of a string body (escapes resolved, invalid UTF-8 and
/// lone surrogates as U+FFFD).
///
/// Same result as collecting [`Pieces`], but whole escape-free runs are
/// copied at once: this is the hot path of `as_str` on long prompt strings.
pub(super) fn decode(body: &[u8]) -> String {
    let mut out = String::with_capacity(body.len());
    let mut rest = body;
    while !rest.is_empty() {
        let run_len = find_byte(rest, b'\\').unwrap_or(rest.len());
        let (run, tail) = rest.split_at(run_len);
        push_lossy(&mut out, run);
        rest = tail;
        if !rest.is_empty() {
            let (len, c) = escape(rest);
            out.push(c);
            rest = rest.get(len..).unwrap_or_default();
        }
    }
    out
}

/// Position of the first `needle`, eight bytes at a time (std has no memchr).
fn find_byte(hay: &[u8], needle: u8) -> Option<usize> {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let pattern = ONES * u64::from(needle);
    let mut chunks = hay.chunks_exact(8);
    let mut base = 0;
    for chunk in &mut chunks {
        let Ok(bytes) = <[u8; 8]>::try_from(chunk) else {
            break;
        };
        let x = u64::from_le_bytes(bytes) ^ pattern;
        // The lowest flagged byte is exact: borrows only propagate upwards.
        let found = x.wrapping_sub(ONES) & !x & HIGH;
        if found != 0 {
            return Some(base + (found.trailing_zeros() / 8) as usize);
        }
        base += 8;
    }
    let tail = chunks.remainder().iter().position(|&b| b == needle);
    tail.map(|i| base + i)
}

fn push_lossy(out: &mut String, bytes: &[u8]) {
    match std::str::from_utf8(bytes) {
        Ok(s) => out.push_str(s),
        Err(_) => {
            for chunk in bytes.utf8_chunks() {
                out.push_str(chunk.valid());
                if !chunk.invalid().is_empty() {
                    out.push(REPLACEMENT);
                }
            }
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Side {
    Start,
    End,
}

/// Maps a decoded byte range to a range of `body`. An offset inside an
/// indivisible piece widens to the whole piece, so a label never splits an
/// escape. Offsets past the end clamp to the end of the body.
pub(super) fn source_range(body: &[u8], decoded: Range<usize>) -> Range<usize> {
    let (d0, d1) = (decoded.start, decoded.end.max(decoded.start));
    let mut start = None;
    let mut seen = 0;
    for (src, text) in Pieces::new(body) {
        let len = text.len();
        if start.is_none() {
            start = locate(d0, seen, len, &src, text, Side::Start);
        }
        if let Some(s) = start {
            if let Some(e) = locate(d1, seen, len, &src, text, Side::End) {
                return s..e;
            }
        }
        seen += len;
    }
    start.unwrap_or(body.len())..body.len()
}

/// Where decoded offset `d` lands in a piece that starts at decoded offset
/// `seen`; `None` when it lies beyond the piece.
fn locate(
    d: usize,
    seen: usize,
    len: usize,
    src: &Range<usize>,
    text: Text,
    side: Side,
) -> Option<usize> {
    if d <= seen {
        return Some(src.start);
    }
    if d >= seen + len {
        return None;
    }
    Some(match (text, side) {
        (Text::Str(_), _) => src.start + (d - seen),
        (Text::Char(_), Side::Start) => src.start,
        (Text::Char(_), Side::End) => src.end,
    })
}

/// 1-based line and column of a byte offset, as an editor showing the file
/// decoded by readFileSync would: lines end at `\n`; a column is one Unicode
/// scalar value, each invalid UTF-8 sequence is one U+FFFD; a leading BOM is
/// not a column. An offset inside a character gets that character's column.
pub fn line_col(src: &[u8], offset: usize) -> (usize, usize) {
    let offset = offset.min(src.len());
    let before = src.get(..offset).unwrap_or_default();
    let line = 1 + before.iter().filter(|&&b| b == b'\n').count();
    let mut line_start = before
        .iter()
        .rposition(|&b| b == b'\n')
        .map_or(0, |i| i + 1);
    if line_start == 0 && src.starts_with(UTF8_BOM) {
        if offset < UTF8_BOM.len() {
            return (line, 1);
        }
        line_start = UTF8_BOM.len();
    }
    // A sequence starting before `offset` is at most 4 bytes long, so this
    // window decodes everything before `offset` exactly as the whole file would.
    let window = src
        .get(line_start..src.len().min(offset + 4))
        .unwrap_or_default();
    let target = offset - line_start;
    (line, 1 + units_ending_by(window, target))
}

/// How many decoded units (chars or invalid sequences) of `bytes` end at or
/// before byte `limit`.
fn units_ending_by(bytes: &[u8], limit: usize) -> usize {
    let mut at = 0;
    let mut count = 0;
    for chunk in bytes.utf8_chunks() {
        for c in chunk.valid().chars() {
            at += c.len_utf8();
            if at > limit {
                return count;
            }
            count += 1;
        }
        if !chunk.invalid().is_empty() {
            at += chunk.invalid().len();
            if at > limit {
                return count;
            }
            count += 1;
        }
    }
    count
}

/// JavaScript's `String.prototype.trim` whitespace (WhiteSpace and
/// LineTerminator in ECMA-262). Unlike `char::is_whitespace` it includes
/// U+FEFF and excludes U+0085 and U+001C..U+001F.
pub fn is_js_whitespace(c: char) -> bool {
    matches!(
        c,
        '\u{9}'..='\u{d}'
            | ' '
            | '\u{a0}'
            | '\u{1680}'
            | '\u{2000}'..='\u{200a}'
            | '\u{2028}'
            | '\u{2029}'
            | '\u{202f}'
            | '\u{205f}'
            | '\u{3000}'
            | '\u{feff}'
    )
}

/// `String.prototype.trim`.
pub fn js_trim(s: &str) -> &str {
    s.trim_matches(is_js_whitespace)
}

//! Turning "this byte is wrong" into the error a person needs: which kind,
//! which span, and a message in our words (not V8's).

use super::{is_js_whitespace, ErrorKind, ParseError, ParseOutcome, Span};

const UTF8_BOM: &[u8] = b"\xEF\xBB\xBF";

/// What the scanner was looking for when it met an unexpected byte.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Expect {
    Value,
    FirstKey,
    Key,
    Colon,
    CommaOrBrace,
    CommaOrBracket,
    /// Only whitespace may follow the root value.
    End,
}

impl Expect {
    fn describe(self) -> &'static str {
        match self {
            Expect::Value => "a value",
            Expect::FirstKey => "a double-quoted key or '}'",
            Expect::Key => "a double-quoted key",
            Expect::Colon => "':' after the key",
            Expect::CommaOrBrace => "',' or '}'",
            Expect::CommaOrBracket => "',' or ']'",
            Expect::End => "the end of the input",
        }
    }
}

fn error(kind: ErrorKind, span: Span, message: String) -> ParseError {
    ParseError {
        kind,
        span,
        message,
    }
}

/// Checks what comes before any token: size, byte-order marks.
/// Returns where the content starts.
pub(super) fn prelude(src: &[u8]) -> Result<(usize, ParseOutcome), ParseError> {
    check_len(src.len())?;
    if src.starts_with(b"\xFF\xFE") || src.starts_with(b"\xFE\xFF") {
        return Err(error(
            ErrorKind::Utf16,
            0..2,
            "the file is UTF-16 (it starts with a UTF-16 byte-order mark); \
             it is read as UTF-8, so JSON.parse fails"
                .into(),
        ));
    }
    let bom = src.starts_with(UTF8_BOM);
    Ok((if bom { 3 } else { 0 }, ParseOutcome { bom }))
}

/// Spans are stored as u32 and u32::MAX marks "no key".
pub(super) fn check_len(len: usize) -> Result<(), ParseError> {
    if len >= u32::MAX as usize {
        return Err(error(
            ErrorKind::TooLarge,
            0..0,
            "the file is 4 GiB or larger: too large to check".into(),
        ));
    }
    Ok(())
}

pub(super) fn empty(len: usize) -> ParseError {
    error(
        ErrorKind::Empty,
        len..len,
        "the file is empty: there is no JSON value in it".into(),
    )
}

pub(super) fn unexpected_end(len: usize) -> ParseError {
    error(
        ErrorKind::UnexpectedEnd,
        len..len,
        "unexpected end of input: the JSON is truncated".into(),
    )
}

pub(super) fn trailing_comma(comma: usize) -> ParseError {
    error(
        ErrorKind::TrailingComma,
        comma..comma + 1,
        "trailing comma: JSON does not allow a ',' before ']' or '}'".into(),
    )
}

pub(super) fn control_char(pos: usize, b: u8) -> ParseError {
    error(
        ErrorKind::ControlChar,
        pos..pos + 1,
        format!(
            "raw control character {} inside a string: JSON requires it to be escaped",
            describe_char(char::from(b))
        ),
    )
}

pub(super) fn bad_escape(src: &[u8], backslash: usize, bad: usize) -> ParseError {
    let span = backslash..bad + char_len(src, bad);
    let text = String::from_utf8_lossy(src.get(span.clone()).unwrap_or_default());
    error(
        ErrorKind::BadEscape,
        span,
        format!(
            "invalid escape {:?} in a string: JSON only allows \\\" \\\\ \\/ \\b \\f \\n \\r \\t \
             and \\u followed by 4 hex digits",
            text
        ),
    )
}

/// Bytes that continue a malformed number or a bare word, so a span covers
/// the whole token (`0x1F`, `1.5.3`, `undefined`).
pub(super) fn is_word_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'_' | b'$' | b'.' | b'+' | b'-')
}

fn word_end(src: &[u8], start: usize) -> usize {
    let rest = src.get(start..).unwrap_or_default();
    start + rest.iter().take_while(|&&b| is_word_byte(b)).count()
}

pub(super) fn invalid_number(src: &[u8], start: usize) -> ParseError {
    let end = word_end(src, start).max(start + 1).min(src.len());
    let token = String::from_utf8_lossy(src.get(start..end).unwrap_or_default()).into_owned();
    let why = number_problem(&token);
    error(
        ErrorKind::InvalidNumber,
        start..end,
        format!("invalid number '{token}': {why}"),
    )
}

fn number_problem(token: &str) -> &'static str {
    let unsigned = token.strip_prefix('-').unwrap_or(token);
    let b = unsigned.as_bytes();
    if token.starts_with('+') {
        "JSON numbers cannot start with '+'"
    } else if unsigned.starts_with('.') {
        "JSON numbers need a digit before the '.'"
    } else if unsigned.starts_with("0x") || unsigned.starts_with("0X") {
        "hexadecimal numbers are not JSON"
    } else if b.first() == Some(&b'0') && b.get(1).is_some_and(u8::is_ascii_digit) {
        "leading zeros are not allowed"
    } else if token.ends_with('.') || token.contains(".e") || token.contains(".E") {
        "a '.' must be followed by digits"
    } else if token.ends_with(['e', 'E', '+', '-']) {
        "an exponent needs digits"
    } else if b.first().is_some_and(u8::is_ascii_digit) {
        "a number must end before this"
    } else {
        "a '-' must be followed by digits"
    }
}

/// The error for an unexpected byte at `pos`, classified as precisely as we can.
pub(super) fn unexpected(src: &[u8], pos: usize, expect: Expect) -> ParseError {
    if pos >= src.len() {
        return unexpected_end(src.len());
    }
    if let Some(e) = known_mistake(src, pos, expect) {
        return e;
    }
    let span = token_span(src, pos);
    let found = describe_token(src, span.clone());
    if expect == Expect::End {
        return error(
            ErrorKind::TrailingContent,
            span,
            format!("unexpected {found} after the JSON value: only one value is allowed"),
        );
    }
    let hint = match (expect, src.get(pos)) {
        (Expect::FirstKey | Expect::Key, Some(b)) if b.is_ascii_alphabetic() => {
            " (JSON object keys must be double-quoted)"
        }
        _ => "",
    };
    error(
        ErrorKind::UnexpectedChar,
        span,
        format!("unexpected {found}; expected {}{hint}", expect.describe()),
    )
}

/// Mistakes with a kind of their own: comments, single quotes, Unicode
/// whitespace, JavaScript-only literals, numbers written the JavaScript way.
fn known_mistake(src: &[u8], pos: usize, expect: Expect) -> Option<ParseError> {
    let b = *src.get(pos)?;
    let next = src.get(pos + 1).copied();
    match b {
        b'/' if matches!(next, Some(b'/' | b'*')) => Some(comment(src, pos)),
        b'\'' if expect != Expect::End => Some(single_quote(src, pos)),
        0x0b | 0x0c | 0x80.. => bad_whitespace(src, pos),
        b'+' | b'.' if expect == Expect::Value && next.is_some_and(|n| n.is_ascii_digit()) => {
            Some(invalid_number(src, pos))
        }
        b'N' | b'I' | b'u' | b'-' if expect != Expect::End => non_finite(src, pos),
        _ => None,
    }
}

fn comment(src: &[u8], pos: usize) -> ParseError {
    let rest = src.get(pos..).unwrap_or_default();
    let len = if rest.starts_with(b"//") {
        let line = rest.iter().position(|&b| b == b'\n').unwrap_or(rest.len());
        let line_bytes = rest.get(..line).unwrap_or_default();
        line - usize::from(line_bytes.ends_with(b"\r"))
    } else {
        // An unterminated block comment gets only its opener: a label over
        // the rest of the file helps nobody.
        rest.windows(2)
            .skip(2)
            .position(|w| w == b"*/")
            .map_or(2, |i| i + 4)
    };
    error(
        ErrorKind::Comment,
        pos..pos + len,
        "a comment: JSON does not allow comments".into(),
    )
}

fn single_quote(src: &[u8], pos: usize) -> ParseError {
    let rest = src.get(pos + 1..).unwrap_or_default();
    let mut escaped = false;
    let mut len = 1;
    for (i, &b) in rest.iter().enumerate() {
        match b {
            b'\n' => break,
            b'\\' => escaped = !escaped,
            b'\'' if !escaped => {
                len = i + 2;
                break;
            }
            _ => escaped = false,
        }
    }
    error(
        ErrorKind::SingleQuote,
        pos..pos + len,
        "a single-quoted string: JSON strings use double quotes".into(),
    )
}

fn bad_whitespace(src: &[u8], pos: usize) -> Option<ParseError> {
    let c = char_at(src, pos)?;
    if !is_js_whitespace(c) && c != '\u{85}' {
        return None;
    }
    Some(error(
        ErrorKind::BadWhitespace,
        pos..pos + c.len_utf8(),
        format!(
            "{} is not whitespace in JSON: only space, tab, LF and CR are allowed between tokens",
            describe_char(c)
        ),
    ))
}

fn non_finite(src: &[u8], pos: usize) -> Option<ParseError> {
    let end = word_end(src, pos);
    let word = src.get(pos..end)?;
    let known: &[&[u8]] = &[b"NaN", b"Infinity", b"-Infinity", b"undefined"];
    if !known.contains(&word) {
        return None;
    }
    let word = String::from_utf8_lossy(word);
    Some(error(
        ErrorKind::NonFinite,
        pos..end,
        format!("'{word}' is JavaScript, not JSON: JSON has no NaN, Infinity or undefined"),
    ))
}

/// The span of the token starting at `pos`: a whole string, a whole word, or
/// one character (an invalid UTF-8 sequence counts as one).
fn token_span(src: &[u8], pos: usize) -> Span {
    let Some(&b) = src.get(pos) else {
        return pos..pos;
    };
    let end = if b == b'"' {
        string_token_end(src, pos)
    } else if is_word_byte(b) {
        word_end(src, pos)
    } else {
        pos + char_len(src, pos)
    };
    pos..end.min(src.len())
}

/// The end of a string token, or of its line when it is not closed there.
fn string_token_end(src: &[u8], pos: usize) -> usize {
    let rest = src.get(pos + 1..).unwrap_or_default();
    let mut escaped = false;
    for (i, &b) in rest.iter().enumerate() {
        match b {
            b'\n' => return pos + 1 + i,
            b'\\' => escaped = !escaped,
            b'"' if !escaped => return pos + 2 + i,
            _ => escaped = false,
        }
    }
    src.len()
}

fn describe_token(src: &[u8], span: Span) -> String {
    let bytes = src.get(span.clone()).unwrap_or_default();
    if let Some(&b) = bytes.first() {
        if std::str::from_utf8(bytes).is_err() && bytes.len() <= 3 {
            return format!("invalid UTF-8 byte 0x{b:02X} outside a string");
        }
    }
    match char_at(src, span.start) {
        Some(c) if span.len() == c.len_utf8() => format!("character {}", describe_char(c)),
        _ => {
            let text = String::from_utf8_lossy(bytes);
            let mut shown: String = text.chars().take(40).collect();
            if shown.len() < text.len() {
                shown.push('…');
            }
            format!("'{shown}'")
        }
    }
}

/// A character as shown in messages: printable ones quoted, others by code point.
fn describe_char(c: char) -> String {
    let name = match c {
        '\0' => "NUL",
        '\t' => "tab",
        '\n' => "line feed",
        '\r' => "carriage return",
        '\u{0b}' => "vertical tab",
        '\u{0c}' => "form feed",
        '\u{85}' => "next line",
        '\u{a0}' => "no-break space",
        '\u{2028}' => "line separator",
        '\u{2029}' => "paragraph separator",
        '\u{feff}' => "byte-order mark",
        c if c.is_control() || is_js_whitespace(c) => "",
        c => return format!("'{c}'"),
    };
    let code = format!("U+{:04X}", u32::from(c));
    if name.is_empty() {
        code
    } else {
        format!("{code} ({name})")
    }
}

/// The character at `pos`, if the bytes there are valid UTF-8.
fn char_at(src: &[u8], pos: usize) -> Option<char> {
    let window = src.get(pos..src.len().min(pos + 4))?;
    let chunk = window.utf8_chunks().next()?;
    chunk.valid().chars().next()
}

/// Length of the character at `pos`; an invalid sequence is its maximal
/// subpart (one U+FFFD), at least one byte.
fn char_len(src: &[u8], pos: usize) -> usize {
    let window = src.get(pos..src.len().min(pos + 4)).unwrap_or_default();
    match window.utf8_chunks().next() {
        Some(chunk) => match chunk.valid().chars().next() {
            Some(c) => c.len_utf8(),
            None => chunk.invalid().len().max(1),
        },
        None => 0,
    }
}

/// After any failure, a merge-conflict marker explains it better than
/// whatever token tripped first.
pub(super) fn prefer_conflict_marker(src: &[u8], e: ParseError) -> ParseError {
    if matches!(e.kind, ErrorKind::Utf16 | ErrorKind::TooLarge) {
        return e;
    }
    match conflict_marker(src) {
        Some(span) => error(
            ErrorKind::ConflictMarker,
            span,
            "a git merge-conflict marker: the file was left in the middle of a merge".into(),
        ),
        None => e,
    }
}

/// The first line that starts with `<<<<<<<`, `=======` or `>>>>>>>` followed
/// by a space, a line end or the end of input; without its line ending.
fn conflict_marker(src: &[u8]) -> Option<Span> {
    let mut start = if src.starts_with(UTF8_BOM) { 3 } else { 0 };
    let body = src.get(start..)?;
    for line in body.split(|&b| b == b'\n') {
        let marker = [b"<<<<<<<", b"=======", b">>>>>>>"]
            .iter()
            .any(|m| line.starts_with(*m));
        let after = line.get(7).copied();
        if marker && matches!(after, None | Some(b' ' | b'\r')) {
            let len = line.len() - usize::from(line.ends_with(b"\r"));
            return Some(start..start + len);
        }
        start += line.len() + 1;
    }
    None
}

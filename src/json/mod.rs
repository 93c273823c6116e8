//! A strict, iterative JSON scanner with the verdicts of Node's
//! `JSON.parse(fs.readFileSync(path, 'utf-8'))`.
//!
//! instar loads every state file that way, so a file is "broken" exactly when
//! JSON.parse says so; serde_json disagrees in several places (depth limit,
//! `1e400`, lone surrogates, invalid UTF-8). Besides the verdict we need a byte
//! span for every key and value (diagnostic labels), and a 60 MB `jobs.json`
//! must be checked faster than serde_json builds a `Value` from it. Hence:
//!
//! * no recursion: nesting depth is bounded only by memory;
//! * no DOM of a whole large file: a root array can be streamed one element
//!   at a time into a reusable [`Tape`] (a flat, pre-order list of nodes);
//! * no allocation per string: nodes hold spans, strings are decoded lazily.
//!
//! Spans are byte offsets into the source. Internally they are stored as
//! `u32` to keep a node at 32 bytes, which is why inputs of 4 GiB or more are
//! refused with [`ErrorKind::TooLarge`].

mod errors;
mod scan;
mod text;
mod value;

#[cfg(test)]
mod tests;

use std::fmt;

pub use text::{is_js_whitespace, js_trim, line_col};
pub use value::{Duplicate, Members, Tape, Value};

use scan::Scanner;

/// A byte range in the source.
pub type Span = std::ops::Range<usize>;

/// Why a document is not something JSON.parse accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    /// Nothing but whitespace (or nothing at all).
    Empty,
    /// The input stops in the middle of a value: the file is truncated.
    UnexpectedEnd,
    /// A character that cannot appear here.
    UnexpectedChar,
    /// A `,` directly before `]` or `}`.
    TrailingComma,
    /// A `//` or `/* */` comment.
    Comment,
    /// `NaN`, `Infinity`, `-Infinity` or `undefined`.
    NonFinite,
    /// A `'single-quoted'` string.
    SingleQuote,
    /// A git merge-conflict marker line (the file was left mid-merge).
    ConflictMarker,
    /// Unicode whitespace that JSON does not allow (VT, FF, NBSP, U+2028, a BOM...).
    BadWhitespace,
    /// A raw control character (U+0000..U+001F) inside a string.
    ControlChar,
    /// A backslash escape JSON does not define.
    BadEscape,
    /// A malformed number (`01`, `+1`, `.5`, `1.`, `0x1F`...).
    InvalidNumber,
    /// Something after the root value.
    TrailingContent,
    /// The file starts with a UTF-16 byte-order mark.
    Utf16,
    /// 4 GiB or more: beyond what spans are stored in.
    TooLarge,
}

/// A parse failure, with a span for the label and a message written for people.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    pub kind: ErrorKind,
    pub span: Span,
    pub message: String,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for ParseError {}

/// The type of a JSON value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    Null,
    Bool,
    Number,
    String,
    Array,
    Object,
}

/// What a successful parse noticed without failing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ParseOutcome {
    /// The input starts with a UTF-8 BOM. JSON.parse rejects that, but the
    /// content behind it was parsed so the rest can still be diagnosed.
    pub bom: bool,
}

/// The shape of the document seen by [`stream_root_array`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RootShape {
    /// The root is an array of `len` elements spanning `span`.
    Array { len: usize, span: Span },
    /// The root is not an array; the whole document is in the tape.
    NotArray,
}

/// Parses a whole document into `tape` (cleared first; its allocations are reused).
///
/// On error the tape holds whatever was parsed before the error; its root
/// may be incomplete.
pub fn parse<'s>(src: &'s [u8], tape: &mut Tape<'s>) -> Result<ParseOutcome, ParseError> {
    tape.reset(src);
    parse_document(src, tape).map_err(|e| errors::prefer_conflict_marker(src, e))
}

fn parse_document<'s>(src: &'s [u8], tape: &mut Tape<'s>) -> Result<ParseOutcome, ParseError> {
    let (start, outcome) = errors::prelude(src)?;
    let mut sc = Scanner::new(src, start, tape);
    sc.expect_non_empty()?;
    sc.value()?;
    sc.expect_end()?;
    sc.finish();
    Ok(outcome)
}

/// Streams the elements of a root array.
///
/// If the root is an array, `each(index, element)` is called for every
/// element, each parsed into the reused `tape` (the element is
/// `tape.root()`, so [`Value::pointer`] is relative to it: callers prefix
/// `/<index>`). Spans are absolute offsets into `src`. Duplicates and invalid
/// UTF-8 spans are per element; the root array's own level has none.
///
/// If the root is not an array, the whole document is parsed into `tape` and
/// [`RootShape::NotArray`] is returned.
///
/// A syntax error anywhere returns `Err`; elements before it may already have
/// been delivered, so callers that care must buffer their findings.
///
/// Inside `each`, [`Value::tape`] gives the element's tape (its duplicates and
/// invalid UTF-8). Afterwards `tape` holds the last element parsed.
pub fn stream_root_array<'s>(
    src: &'s [u8],
    tape: &mut Tape<'s>,
    each: impl FnMut(usize, Value<'_>),
) -> Result<(ParseOutcome, RootShape), ParseError> {
    tape.reset(src);
    stream_document(src, tape, each).map_err(|e| errors::prefer_conflict_marker(src, e))
}

fn stream_document<'s>(
    src: &'s [u8],
    tape: &mut Tape<'s>,
    mut each: impl FnMut(usize, Value<'_>),
) -> Result<(ParseOutcome, RootShape), ParseError> {
    let (start, outcome) = errors::prelude(src)?;
    let mut sc = Scanner::new(src, start, tape);
    sc.expect_non_empty()?;
    let Some(open) = sc.open_root_array() else {
        sc.value()?;
        sc.expect_end()?;
        sc.finish();
        return Ok((outcome, RootShape::NotArray));
    };
    let mut len = 0;
    if !sc.close_root_array() {
        loop {
            sc.clear_tape();
            sc.value()?;
            sc.finish();
            each(len, sc.tape().root());
            len += 1;
            if !sc.root_array_continues()? {
                break;
            }
        }
    }
    let close = sc.position();
    sc.expect_end()?;
    Ok((
        outcome,
        RootShape::Array {
            len,
            span: open..close,
        },
    ))
}

//! A window of a source file, ready for miette: lossily decoded, secrets replaced, a BOM dropped,
//! long lines clipped, and spans mapped from file offsets into the window.
//!
//! Building a window instead of handing miette the whole file keeps rendering cheap on a 60 MB
//! jobs.json, and is the one place where secrets are removed from what the human report shows.

use miette::{MietteError, MietteSpanContents, SourceCode, SourceSpan, SpanContents};

use crate::diag::Span;
use crate::line_index::LineFinder;
use crate::redact::REDACTED;

use super::escape;

/// Lines longer than this are clipped around the labels (minified JSON is one long line).
const MAX_LINE_BYTES: usize = 240;
const CLIP_MARGIN: usize = 60;
const CONTEXT_LINES: usize = 2;

pub struct Snippet {
    name: String,
    text: String,
    /// 0-based line number of the window's first line in the file.
    first_line: usize,
    /// (file offset, window offset) breakpoints, ascending in both.
    map: Vec<(usize, usize)>,
}

impl Snippet {
    /// A window covering `focus` (the label spans, file offsets) with a few lines of context.
    /// `lines` finds lines near the last ones asked (`Sources::finder`): a window costs its own
    /// size and a short scan, whatever the file's size, with no index of the whole file
    /// (issue #11).
    pub fn build(
        name: String,
        bytes: &[u8],
        lines: &mut LineFinder,
        secrets: &[Span],
        focus: &[Span],
    ) -> Snippet {
        let lo = focus
            .iter()
            .map(|s| s.start)
            .min()
            .unwrap_or(0)
            .min(bytes.len());
        let hi = focus
            .iter()
            .map(|s| s.end)
            .max()
            .unwrap_or(0)
            .min(bytes.len());
        let mut start = lines.line_start(bytes, lo);
        for _ in 0..CONTEXT_LINES {
            if start == 0 {
                break;
            }
            start = lines.line_start(bytes, start - 1);
        }
        let mut end = lines.line_end(bytes, hi);
        for _ in 0..CONTEXT_LINES {
            if end >= bytes.len() {
                break;
            }
            end = lines.line_end(bytes, end + 1);
        }
        let first_line = lines.line_of(bytes, start);
        let mut builder = Builder::default();
        let mut line_from = start;
        while line_from <= end {
            let line_to = lines.line_end(bytes, line_from).min(end);
            builder.line(bytes, line_from..line_to, secrets, focus);
            if line_to >= end {
                break;
            }
            builder.push_raw(line_to, "\n");
            line_from = line_to + 1;
        }
        builder.map.push((end, builder.text.len()));
        Snippet {
            name,
            text: builder.text,
            first_line,
            map: builder.map,
        }
    }

    /// Maps a file offset into the window.
    pub fn map_offset(&self, offset: usize) -> usize {
        match self.map.binary_search_by_key(&offset, |(file, _)| *file) {
            Ok(i) => self.map[i].1,
            Err(0) => 0,
            Err(i) => {
                let (file, window) = self.map[i - 1];
                // Inside a replaced run (a redaction, a U+FFFD, a clip): clamp to its start.
                let next_window = self.map.get(i).map_or(self.text.len(), |m| m.1);
                (window + (offset - file)).min(next_window)
            }
        }
    }

    pub fn map_span(&self, span: &Span) -> SourceSpan {
        let start = self.map_offset(span.start);
        let end = self.map_offset(span.end).max(start);
        SourceSpan::new(start.into(), end - start)
    }

    pub fn text(&self) -> &str {
        &self.text
    }
}

#[derive(Default)]
struct Builder {
    text: String,
    map: Vec<(usize, usize)>,
}

impl Builder {
    fn push_raw(&mut self, file_offset: usize, text: &str) {
        self.map.push((file_offset, self.text.len()));
        self.text.push_str(text);
    }

    /// Appends one line (no newline), clipping it when long and replacing secrets.
    ///
    /// A long line keeps a window around each end of each label that touches it, with an
    /// ellipsis for every stretch left out: two labels 70,000 columns apart on one line of
    /// minified JSON become two short windows, never a 70,000-column line (miette cannot draw a
    /// label past column 65,535, and nobody can read one).
    fn line(&mut self, bytes: &[u8], line: Span, secrets: &[Span], focus: &[Span]) {
        let mut from = line.start;
        let to = line.end;
        // A BOM is not part of the text a reader sees.
        if from == 0 && bytes.starts_with(&[0xEF, 0xBB, 0xBF]) {
            self.map.push((0, self.text.len()));
            from = 3.min(to);
        }
        if to - from <= MAX_LINE_BYTES {
            self.segment(bytes, from..to, secrets);
            return;
        }
        let mut windows: Vec<Span> = Vec::new();
        for f in focus {
            for point in [f.start, f.end] {
                if (from..=to).contains(&point) {
                    let start = snap_back(bytes, point.saturating_sub(CLIP_MARGIN).max(from));
                    let end = snap_forward(bytes, (point + CLIP_MARGIN).min(to), to);
                    windows.push(start..end);
                }
            }
        }
        if windows.is_empty() {
            // A context line: its beginning is enough.
            windows.push(from..snap_forward(bytes, (from + 2 * CLIP_MARGIN).min(to), to));
        }
        windows.sort_by_key(|w| w.start);
        let mut merged: Vec<Span> = Vec::new();
        for w in windows {
            match merged.last_mut() {
                // Windows closer than an ellipsis is worth are joined.
                Some(last) if w.start <= last.end + 8 => last.end = last.end.max(w.end),
                _ => merged.push(w),
            }
        }
        let mut cursor = from;
        for w in merged {
            if w.start > cursor {
                self.push_raw(cursor, "…");
            }
            self.segment(bytes, w.start.max(cursor)..w.end, secrets);
            cursor = cursor.max(w.end);
        }
        if cursor < to {
            self.push_raw(cursor, "…");
        }
        // The rest of the line maps onto the last ellipsis.
        self.map.push((to, self.text.len()));
    }

    fn segment(&mut self, bytes: &[u8], range: Span, secrets: &[Span]) {
        let mut cursor = range.start;
        // Secret spans are sorted by start but may nest (a `{"secret": true}` object and its
        // members): a bisection on their ends could skip an enclosing span that began earlier
        // and show what it hides, so every span is looked at.
        for secret in secrets {
            if secret.end <= cursor || secret.start >= range.end {
                continue;
            }
            let s = secret.start.max(cursor);
            self.decode(bytes, cursor..s);
            self.push_raw(s, REDACTED);
            cursor = secret.end.min(range.end);
            self.map.push((cursor, self.text.len()));
        }
        self.decode(bytes, cursor..range.end);
    }

    /// Lossy UTF-8 decoding with a breakpoint after each replacement and each escaped control
    /// character, so offsets stay exact.
    fn decode(&mut self, bytes: &[u8], range: Span) {
        if range.is_empty() {
            return;
        }
        // A carriage return that ends a CRLF line is layout, not content: kept as it is.
        let crlf = range.end > range.start
            && bytes[range.end - 1] == b'\r'
            && bytes.get(range.end) == Some(&b'\n');
        let body = if crlf {
            range.start..range.end - 1
        } else {
            range.clone()
        };
        self.map.push((body.start, self.text.len()));
        let mut offset = body.start;
        // Valid text (nearly every window) is checked at once: the chunked decoding below
        // walks it a byte at a time, and costs more than the rest of the window (issue #11).
        if let Ok(valid) = std::str::from_utf8(&bytes[body.clone()]) {
            self.valid(offset, valid);
        } else {
            for chunk in bytes[body].utf8_chunks() {
                let valid = chunk.valid();
                self.valid(offset, valid);
                offset += valid.len();
                if !chunk.invalid().is_empty() {
                    self.map.push((offset, self.text.len()));
                    self.text.push('\u{FFFD}');
                    offset += chunk.invalid().len();
                    self.map.push((offset, self.text.len()));
                }
            }
        }
        if crlf {
            self.push_raw(range.end - 1, "\r");
        }
    }

    /// Appends valid text that starts at file offset `base`, control characters escaped.
    fn valid(&mut self, base: usize, valid: &str) {
        escape::for_each_piece(valid, |at, piece| {
            self.map.push((base + at, self.text.len()));
            match piece {
                escape::Piece::Plain(text) => self.text.push_str(text),
                escape::Piece::Escaped(c) => {
                    self.text.push_str(&escape::escape_char(c));
                    self.map.push((base + at + c.len_utf8(), self.text.len()));
                }
            }
        });
    }
}

/// Moves a window's start back to the first byte of its character.
fn snap_back(bytes: &[u8], mut at: usize) -> usize {
    while at > 0 && at < bytes.len() && bytes[at] & 0xC0 == 0x80 {
        at -= 1;
    }
    at
}

/// Moves a window's end forward past the rest of its character, never beyond `limit`.
fn snap_forward(bytes: &[u8], mut at: usize, limit: usize) -> usize {
    while at < limit && bytes[at] & 0xC0 == 0x80 {
        at += 1;
    }
    at
}

impl SourceCode for Snippet {
    fn read_span<'a>(
        &'a self,
        span: &SourceSpan,
        context_lines_before: usize,
        context_lines_after: usize,
    ) -> Result<Box<dyn SpanContents<'a> + 'a>, MietteError> {
        let inner = context(
            self.text.as_bytes(),
            span,
            context_lines_before,
            context_lines_after,
        )?;
        Ok(Box::new(MietteSpanContents::new_named(
            self.name.clone(),
            inner.data(),
            *inner.span(),
            inner.line() + self.first_line,
            inner.column(),
            inner.line_count(),
        )))
    }
}

/// What miette's own `SourceCode for [u8]` answers (the window's bytes, its span, the first
/// line's number, the column and the count of line breaks seen), computed the same way but a
/// run of plain bytes at a time instead of a byte at a time: miette asks three times per
/// finding, and `-v` on 300,000 findings spent a seventh of its time in that loop (issue #11).
///
/// It is miette's algorithm step for step, with each stretch between line breaks taken whole:
/// in such a stretch a byte can only count towards the column (before the span) or mark the
/// span as passed (at or after its last byte), so the first byte that does the latter is the
/// only one that matters. `same_answers_as_miettes_own_reader` holds it to miette's answers.
fn context<'a>(
    input: &'a [u8],
    span: &SourceSpan,
    context_lines_before: usize,
    context_lines_after: usize,
) -> Result<MietteSpanContents<'a>, MietteError> {
    let mut reader = Reader {
        start: span.offset(),
        break_after_span: span.offset() + span.len().saturating_sub(1),
        byte_after_span: (span.offset() + span.len()).saturating_sub(1),
        before: context_lines_before,
        after: context_lines_after,
        offset: 0,
        line_count: 0,
        start_line: 0,
        start_column: 0,
        before_lines_starts: std::collections::VecDeque::new(),
        current_line_start: 0,
        end_lines: 0,
        post_span: false,
        post_span_got_newline: false,
    };
    while !reader.plain_run(input) && reader.offset < input.len() && !reader.line_break(input) {}
    let offset = reader.offset;
    if offset < reader.byte_after_span {
        return Err(MietteError::OutOfBounds);
    }
    let starting_offset = reader.before_lines_starts.front().copied().unwrap_or({
        if context_lines_before == 0 {
            reader.start
        } else {
            0
        }
    });
    if starting_offset > offset {
        // An empty span past the end with no context before it: miette's own reader panics on
        // the slice. A window's spans never lie there (`map_span` clamps); if one did, the
        // report says it could not read the label instead of crashing.
        return Err(MietteError::OutOfBounds);
    }
    Ok(MietteSpanContents::new(
        &input[starting_offset..offset],
        (starting_offset, offset - starting_offset).into(),
        reader.start_line,
        if context_lines_before == 0 {
            reader.start_column
        } else {
            0
        },
        reader.line_count,
    ))
}

/// The state of miette's reading loop, named as miette names it.
struct Reader {
    start: usize,
    /// Where a line break stops counting as before the span, and where a byte marks the span
    /// passed: miette's two thresholds, which differ by one for an empty span.
    break_after_span: usize,
    byte_after_span: usize,
    before: usize,
    after: usize,
    offset: usize,
    line_count: usize,
    start_line: usize,
    start_column: usize,
    before_lines_starts: std::collections::VecDeque<usize>,
    current_line_start: usize,
    end_lines: usize,
    post_span: bool,
    post_span_got_newline: bool,
}

impl Reader {
    /// Takes the bytes up to the next line break (or the end) at once; true when reading stops.
    fn plain_run(&mut self, input: &[u8]) -> bool {
        let offset = self.offset;
        let run_end =
            memchr::memchr2(b'\r', b'\n', &input[offset..]).map_or(input.len(), |i| offset + i);
        if offset < run_end {
            if offset < self.start {
                self.start_column += run_end.min(self.start) - offset;
            }
            if run_end > self.byte_after_span {
                self.post_span = true;
                if self.end_lines >= self.after {
                    self.offset = offset.max(self.byte_after_span) + 1;
                    return true;
                }
            }
            self.offset = run_end;
        }
        false
    }

    /// Takes the line break at `offset` (`\r\n` is one, as miette takes it); true when reading
    /// stops.
    fn line_break(&mut self, input: &[u8]) -> bool {
        self.line_count += 1;
        if input[self.offset] == b'\r' && input.get(self.offset + 1) == Some(&b'\n') {
            self.offset += 1;
        }
        if self.offset < self.start {
            self.start_column = 0;
            self.before_lines_starts.push_back(self.current_line_start);
            if self.before_lines_starts.len() > self.before {
                self.start_line += 1;
                self.before_lines_starts.pop_front();
            }
        } else if self.offset >= self.break_after_span && self.post_span {
            self.start_column = 0;
            if self.post_span_got_newline {
                self.end_lines += 1;
            } else {
                self.post_span_got_newline = true;
            }
            if self.end_lines >= self.after {
                self.offset += 1;
                return true;
            }
        }
        self.current_line_start = self.offset + 1;
        if self.offset >= self.byte_after_span {
            self.post_span = true;
            if self.end_lines >= self.after {
                self.offset += 1;
                return true;
            }
        }
        self.offset += 1;
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn maps_spans_across_bom_redactions_and_invalid_bytes() {
        let bytes = b"\xEF\xBB\xBF{\"authToken\": \"abc\", \"x\": \"\xFF!\"}";
        let secrets = crate::redact::secret_spans(bytes);
        let snip = Snippet::build(
            "f".into(),
            bytes,
            &mut LineFinder::default(),
            &secrets,
            std::slice::from_ref(&(0..bytes.len())),
        );
        assert_eq!(
            snip.text(),
            "{\"authToken\": \"[redacted]\", \"x\": \"\u{FFFD}!\"}"
        );
        // The '!' after the invalid byte.
        let bang = bytes.iter().position(|b| *b == b'!').unwrap();
        let mapped = snip.map_offset(bang);
        assert_eq!(&snip.text()[mapped..mapped + 1], "!");
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(4096))]
        /// `context` is a faster copy of miette's own reader: it must answer exactly as miette
        /// does for any text, span and context, line breaks of every kind included.
        #[test]
        fn same_answers_as_miettes_own_reader(
            pieces in proptest::collection::vec(
                proptest::sample::select(vec!["a", "bc", "\n", "\r", "\r\n", "\u{e9}", "\n\n"]),
                0..24,
            ),
            start in 0usize..64,
            len in 0usize..16,
            before in 0usize..4,
            after in 0usize..4,
        ) {
            let text: String = pieces.concat();
            let span = SourceSpan::new(start.into(), len);
            let ours = context(text.as_bytes(), &span, before, after);
            // miette panics on an empty span past the end with no context before it: ours
            // must refuse it instead.
            let Ok(miettes) = std::panic::catch_unwind(|| {
                text.as_bytes().read_span(&span, before, after)
            }) else {
                proptest::prop_assert!(ours.is_err());
                return Ok(());
            };
            match (ours, miettes) {
                (Ok(ours), Ok(miettes)) => {
                    proptest::prop_assert_eq!(ours.data(), miettes.data());
                    proptest::prop_assert_eq!(ours.span(), miettes.span());
                    proptest::prop_assert_eq!(ours.line(), miettes.line());
                    proptest::prop_assert_eq!(ours.column(), miettes.column());
                    proptest::prop_assert_eq!(ours.line_count(), miettes.line_count());
                }
                (Err(_), Err(_)) => {}
                (ours, miettes) => proptest::prop_assert!(
                    false,
                    "ours {:?}, miette's {:?}",
                    ours.is_ok(),
                    miettes.is_ok()
                ),
            };
        }
    }

    #[test]
    fn an_empty_span_past_the_end_is_refused_not_a_panic() {
        // miette's own reader panics here (found by the property test above).
        let span = SourceSpan::new(9.into(), 0);
        assert!(context(b"bc\r\n\r\nbc", &span, 0, 0).is_err());
        assert!(context(b"bc\r\n\r\nbc", &span, 1, 0).is_ok());
    }

    #[test]
    fn long_lines_are_clipped_around_the_focus() {
        let mut bytes = vec![b'a'; 10_000];
        bytes[5000] = b'X';
        let snip = Snippet::build(
            "f".into(),
            &bytes,
            &mut LineFinder::default(),
            &[],
            std::slice::from_ref(&(5000..5001)),
        );
        assert!(snip.text().len() < 400);
        let at = snip.map_offset(5000);
        assert_eq!(&snip.text()[at..at + 1], "X");
    }

    #[test]
    fn a_secret_that_encloses_later_ones_is_hidden_on_every_line_it_covers() {
        // Secret spans are sorted by start but nest: a `{"secret": true}` object (20..200) holds
        // member spans after it. A bisection on span ends skipped the enclosing span for a
        // window that starts past its nested members, and showed what it hides.
        let mut bytes = Vec::new();
        for line in 0..6 {
            bytes.extend_from_slice(format!("line {line} {}\n", "a".repeat(40)).as_bytes());
        }
        let at = bytes.len() / 2;
        bytes[at..at + 9].copy_from_slice(b"SECRETXYZ");
        let secrets = [20..200, 30..40, 50..60, 70..80];
        let focus = at..at + 1;
        let snip = Snippet::build(
            "f".into(),
            &bytes,
            &mut LineFinder::default(),
            &secrets,
            std::slice::from_ref(&focus),
        );
        assert!(!snip.text().contains("SECRETXYZ"), "{}", snip.text());
        assert!(snip.text().contains(REDACTED));
    }
}

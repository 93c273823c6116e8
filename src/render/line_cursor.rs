//! Lines of offsets asked in rising order, found by counting newlines forward from the last
//! offset asked, with no index of the file.
//!
//! The machine formats place a file's findings in report order, by span start: a line index
//! of a 46.7 MB jobs.json (1.4 million four-byte line starts, 5.6 MB) was held for the whole
//! render only to answer questions that come in file order (issue #11). A cursor answers
//! them with one pass over the file; an offset before the last one asked is left to an index.

/// Where the last offset asked lies: its line (0-based) and that line's first byte.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct LineCursor {
    offset: usize,
    line: usize,
    line_start: usize,
}

impl LineCursor {
    /// The line of `offset` (cut to the file's length) and that line's first byte, moving the
    /// cursor there; `None`, and the cursor unmoved, when `offset` lies before it.
    pub fn advance(&mut self, bytes: &[u8], offset: usize) -> Option<(usize, usize)> {
        let offset = offset.min(bytes.len());
        if offset < self.offset {
            return None;
        }
        *self = self.ahead(bytes, offset);
        Some((self.line, self.line_start))
    }

    /// The line of `offset` (at or after the cursor) and its first byte, the cursor unmoved:
    /// for the end of a span whose start was just asked.
    pub fn peek(&self, bytes: &[u8], offset: usize) -> Option<(usize, usize)> {
        let offset = offset.min(bytes.len());
        (offset >= self.offset).then(|| {
            let at = self.ahead(bytes, offset);
            (at.line, at.line_start)
        })
    }

    fn ahead(&self, bytes: &[u8], offset: usize) -> LineCursor {
        let mut at = LineCursor { offset, ..*self };
        for newline in memchr::memchr_iter(b'\n', &bytes[self.offset..offset]) {
            at.line += 1;
            at.line_start = self.offset + newline + 1;
        }
        at
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::line_index::LineIndex;

    /// Asked in rising order, the cursor gives the index's answer for every offset, and for
    /// every end peeked from there; an offset behind it is refused, not answered wrongly.
    #[test]
    fn agrees_with_the_line_index() {
        for text in [
            &b""[..],
            b"a",
            b"\n",
            b"ab\ncd\n",
            b"\n\nx\n\ny",
            b"a\r\nb",
            b"\xEF\xBB\xBF[\n  1\n]\n",
        ] {
            let index = LineIndex::new(text);
            let mut cursor = LineCursor::default();
            for offset in 0..=text.len() + 2 {
                let clamped = offset.min(text.len());
                let expected = |o: usize| (index.line_of(o), index.line_start(o));
                for end in offset..=text.len() + 1 {
                    let peeked = cursor.peek(text, end);
                    if end >= cursor.offset {
                        assert_eq!(peeked, Some(expected(end.min(text.len()))));
                    }
                }
                assert_eq!(cursor.advance(text, offset), Some(expected(clamped)));
                if clamped > 0 {
                    assert_eq!(
                        cursor.advance(text, clamped - 1),
                        None,
                        "{text:?} @{offset}"
                    );
                    assert_eq!(cursor.peek(text, clamped - 1), None);
                }
            }
        }
    }
}

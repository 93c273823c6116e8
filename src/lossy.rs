//! Text decoded from bytes that may not be UTF-8, with a way back from offsets in the text to
//! offsets in the file.
//!
//! Checks that read a file as text (boot wrappers, plists) decode it as `String::from_utf8_lossy`
//! does: each run of invalid bytes becomes one U+FFFD, three bytes long. A span found in that
//! text is not a span of the file — it can run past the file's end — so every span goes through
//! `to_source` before it is reported.

use std::borrow::Cow;
use std::ops::Range;

/// One stretch of the decoded text and where it came from.
#[derive(Debug, Clone, Copy)]
struct Segment {
    text_start: usize,
    source_start: usize,
    source_len: usize,
    /// A U+FFFD standing for `source_len` invalid bytes (else text copied byte for byte).
    replacement: bool,
}

#[derive(Debug)]
pub struct LossyText<'a> {
    text: Cow<'a, str>,
    /// Empty when the bytes were valid UTF-8: offsets then map to themselves.
    segments: Vec<Segment>,
}

impl<'a> LossyText<'a> {
    pub fn new(bytes: &'a [u8]) -> Self {
        if let Ok(text) = std::str::from_utf8(bytes) {
            return LossyText {
                text: Cow::Borrowed(text),
                segments: Vec::new(),
            };
        }
        let mut text = String::with_capacity(bytes.len() + 8);
        let mut segments = Vec::new();
        let mut source = 0;
        for chunk in bytes.utf8_chunks() {
            let valid = chunk.valid();
            if !valid.is_empty() {
                segments.push(Segment {
                    text_start: text.len(),
                    source_start: source,
                    source_len: valid.len(),
                    replacement: false,
                });
                text.push_str(valid);
                source += valid.len();
            }
            let invalid = chunk.invalid();
            if !invalid.is_empty() {
                segments.push(Segment {
                    text_start: text.len(),
                    source_start: source,
                    source_len: invalid.len(),
                    replacement: true,
                });
                text.push(char::REPLACEMENT_CHARACTER);
                source += invalid.len();
            }
        }
        LossyText {
            text: Cow::Owned(text),
            segments,
        }
    }

    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The file offset of a text offset. Inside a replacement character, the start of the
    /// invalid bytes; at its end, their end.
    pub fn to_source(&self, offset: usize) -> usize {
        if self.segments.is_empty() {
            return offset;
        }
        let at = self
            .segments
            .partition_point(|s| s.text_start <= offset)
            .saturating_sub(1);
        let segment = self.segments[at];
        let into = offset.saturating_sub(segment.text_start);
        if segment.replacement {
            if into >= char::REPLACEMENT_CHARACTER.len_utf8() {
                segment.source_start + segment.source_len
            } else {
                segment.source_start
            }
        } else {
            segment.source_start + into.min(segment.source_len)
        }
    }

    /// A span of the text as a span of the file.
    pub fn span_to_source(&self, span: Range<usize>) -> Range<usize> {
        let start = self.to_source(span.start);
        let end = self.to_source(span.end).max(start);
        start..end
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn valid_text_maps_to_itself() {
        let lossy = LossyText::new(b"exec node /p/.instar/x");
        assert_eq!(lossy.as_str(), "exec node /p/.instar/x");
        assert_eq!(lossy.span_to_source(5..9), 5..9);
    }

    #[test]
    fn spans_after_invalid_bytes_land_on_the_files_bytes() {
        // Six invalid bytes become two U+FFFD here (0xF0 starts a 4-byte sequence; each lone
        // one is its own invalid run), then "[a".
        let bytes = b"\xf0\xf0\xf0\xf0\xf0\xf0[a";
        let lossy = LossyText::new(bytes);
        let text = lossy.as_str();
        let bracket = text.find('[').unwrap();
        assert_eq!(lossy.span_to_source(bracket..text.len()), 6..8);
        assert_eq!(lossy.span_to_source(0..text.len()), 0..8);
        assert_eq!(lossy.to_source(1), 0, "inside a replacement: its start");
    }

    proptest::proptest! {
        #[test]
        fn every_text_span_maps_inside_the_file(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..64)) {
            let lossy = LossyText::new(&bytes);
            let len = lossy.as_str().len();
            for start in 0..=len {
                let span = lossy.span_to_source(start..len);
                proptest::prop_assert!(span.start <= span.end && span.end <= bytes.len());
            }
            proptest::prop_assert_eq!(lossy.to_source(len), bytes.len());
        }
    }
}

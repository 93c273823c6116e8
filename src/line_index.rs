//! The start offset of every line of a file, built once per file per render and
//! binary-searched: a line number or a line's bounds cost O(log lines) instead of a scan from
//! byte 0, which made a report of N findings on one big file cost N times the file (issue #11).

use std::cell::Cell;

thread_local! {
    /// How many indexes this thread built: lets tests prove one build per file per render.
    static BUILDS: Cell<usize> = const { Cell::new(0) };
}

/// Line starts of one file (0-based lines; a line ends before its `\n`).
#[derive(Debug)]
pub struct LineIndex {
    /// Ascending; `starts[0] == 0`, then one past every `\n`.
    starts: Vec<usize>,
    len: usize,
}

impl LineIndex {
    pub fn new(bytes: &[u8]) -> LineIndex {
        BUILDS.with(|b| b.set(b.get() + 1));
        let mut starts = vec![0];
        starts.extend(newlines(bytes).map(|i| i + 1));
        LineIndex {
            starts,
            len: bytes.len(),
        }
    }

    /// Indexes built on this thread so far (for tests).
    pub fn builds() -> usize {
        BUILDS.with(Cell::get)
    }

    /// The 0-based line holding `offset` (an offset just after a `\n` starts the next line).
    pub fn line_of(&self, offset: usize) -> usize {
        let offset = offset.min(self.len);
        self.starts.partition_point(|s| *s <= offset) - 1
    }

    /// The first byte of the line holding `offset`.
    pub fn line_start(&self, offset: usize) -> usize {
        self.starts[self.line_of(offset)]
    }

    /// The offset of the `\n` ending the line holding `offset`, or the file's length.
    pub fn line_end(&self, offset: usize) -> usize {
        self.starts
            .get(self.line_of(offset) + 1)
            .map_or(self.len, |next| next - 1)
    }

    /// The first byte of 0-based `line`, or the file's length past the last line.
    pub fn start_of(&self, line: usize) -> usize {
        self.starts
            .get(line)
            .copied()
            .unwrap_or(self.len)
            .min(self.len)
    }
}

fn newlines(bytes: &[u8]) -> impl Iterator<Item = usize> + '_ {
    bytes
        .iter()
        .enumerate()
        .filter(|(_, b)| **b == b'\n')
        .map(|(i, _)| i)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The index agrees with the scans it replaces at every offset.
    #[test]
    fn agrees_with_a_scan() {
        for text in [&b""[..], b"a", b"\n", b"ab\ncd\n", b"\n\nx\n\ny", b"a\r\nb"] {
            let index = LineIndex::new(text);
            for offset in 0..=text.len() {
                let start = text[..offset]
                    .iter()
                    .rposition(|b| *b == b'\n')
                    .map_or(0, |p| p + 1);
                let end = text[offset..]
                    .iter()
                    .position(|b| *b == b'\n')
                    .map_or(text.len(), |p| offset + p);
                let line = text[..start].iter().filter(|b| **b == b'\n').count();
                assert_eq!(index.line_start(offset), start, "{text:?} @{offset}");
                assert_eq!(index.line_end(offset), end, "{text:?} @{offset}");
                assert_eq!(index.line_of(offset), line, "{text:?} @{offset}");
                assert_eq!(index.start_of(line), start);
            }
        }
    }
}

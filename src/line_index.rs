//! The start offset of every line of a file, built once per file per render and
//! binary-searched: a line number or a line's bounds cost O(log lines) instead of a scan from
//! byte 0, which made a report of N findings on one big file cost N times the file (issue #11).

use std::cell::Cell;

thread_local! {
    /// How many indexes this thread built: lets tests prove one build per file per render.
    static BUILDS: Cell<usize> = const { Cell::new(0) };
    /// The same for `SparseLines`.
    static SPARSE_BUILDS: Cell<usize> = const { Cell::new(0) };
}

/// Line starts of one file (0-based lines; a line ends before its `\n`).
#[derive(Debug)]
pub struct LineIndex {
    /// Ascending; `starts[0] == 0`, then one past every `\n`.
    starts: Starts,
    len: usize,
}

/// The line starts, four bytes each where the file allows it: a 47 MB jobs.json has 1.4
/// million lines, whose index took 11 MB at eight bytes (16 MB as it grew; issue #11).
/// Files over 4 GiB (past V8's string limit, so judged before any parse) keep eight.
#[derive(Debug)]
enum Starts {
    Narrow(Vec<u32>),
    Wide(Vec<usize>),
}

impl Starts {
    /// One past every `\n` of `bytes`, after 0, in a vector of exactly that many.
    fn of(bytes: &[u8]) -> Starts {
        let lines = 1 + bytes.iter().filter(|b| **b == b'\n').count();
        match u32::try_from(bytes.len()) {
            Ok(_) => {
                let mut starts = Vec::with_capacity(lines);
                starts.push(0);
                // In range: every offset is at most the length, which fits.
                starts.extend(newlines(bytes).map(|i| (i + 1) as u32));
                Starts::Narrow(starts)
            }
            Err(_) => {
                let mut starts = Vec::with_capacity(lines);
                starts.push(0);
                starts.extend(newlines(bytes).map(|i| i + 1));
                Starts::Wide(starts)
            }
        }
    }

    fn get(&self, line: usize) -> Option<usize> {
        match self {
            Starts::Narrow(starts) => starts.get(line).map(|s| *s as usize),
            Starts::Wide(starts) => starts.get(line).copied(),
        }
    }

    /// How many lines start at or before `offset`.
    fn at_or_before(&self, offset: usize) -> usize {
        match self {
            Starts::Narrow(starts) => starts.partition_point(|s| *s as usize <= offset),
            Starts::Wide(starts) => starts.partition_point(|s| *s <= offset),
        }
    }
}

impl LineIndex {
    pub fn new(bytes: &[u8]) -> LineIndex {
        BUILDS.with(|b| b.set(b.get() + 1));
        LineIndex {
            starts: Starts::of(bytes),
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
        self.starts.at_or_before(offset) - 1
    }

    /// The first byte of the line holding `offset`.
    pub fn line_start(&self, offset: usize) -> usize {
        self.start_of(self.line_of(offset))
    }

    /// The offset of the `\n` ending the line holding `offset`, or the file's length.
    pub fn line_end(&self, offset: usize) -> usize {
        self.starts
            .get(self.line_of(offset) + 1)
            .map_or(self.len, |next| next - 1)
    }

    /// The first byte of 0-based `line`, or the file's length past the last line.
    pub fn start_of(&self, line: usize) -> usize {
        self.starts.get(line).unwrap_or(self.len).min(self.len)
    }
}

/// How far a `LineFinder` scans from a known point before it builds the whole index instead.
const NEAR: usize = 64 * 1024;

/// The line questions a snippet or a place asks, answered by scanning near a forward cursor
/// (the last offset asked and its line number): the human report asks them in file order for a
/// few findings per code and file, and a whole-file index of a 46.7 MB jobs.json (5.6 MB of
/// line starts) was built only to answer them (issue #11). An offset far behind the cursor,
/// or a line longer than `NEAR`, falls back to a `LineIndex`, built once; answers are the
/// index's either way.
#[derive(Debug, Default)]
pub struct LineFinder {
    /// Offset and 0-based line of the cursor: `line` newlines lie before `offset`.
    offset: usize,
    line: usize,
    index: Option<LineIndex>,
}

impl LineFinder {
    fn index(&mut self, bytes: &[u8]) -> &LineIndex {
        self.index.get_or_insert_with(|| LineIndex::new(bytes))
    }

    /// The 0-based line holding `offset` (see `LineIndex::line_of`).
    pub fn line_of(&mut self, bytes: &[u8], offset: usize) -> usize {
        let offset = offset.min(bytes.len());
        if let Some(index) = &self.index {
            return index.line_of(offset);
        }
        if offset >= self.offset {
            self.line += memchr::memchr_iter(b'\n', &bytes[self.offset..offset]).count();
            self.offset = offset;
            self.line
        } else if self.offset - offset <= NEAR {
            self.line - memchr::memchr_iter(b'\n', &bytes[offset..self.offset]).count()
        } else {
            self.index(bytes).line_of(offset)
        }
    }

    /// The first byte of the line holding `offset` (see `LineIndex::line_start`).
    pub fn line_start(&mut self, bytes: &[u8], offset: usize) -> usize {
        let offset = offset.min(bytes.len());
        if self.index.is_none() {
            let from = offset.saturating_sub(NEAR);
            match memchr::memrchr(b'\n', &bytes[from..offset]) {
                Some(at) => return from + at + 1,
                None if from == 0 => return 0,
                None => {}
            }
        }
        self.index(bytes).line_start(offset)
    }

    /// The offset of the `\n` ending the line holding `offset`, or the file's length (see
    /// `LineIndex::line_end`).
    pub fn line_end(&mut self, bytes: &[u8], offset: usize) -> usize {
        let offset = offset.min(bytes.len());
        if self.index.is_none() {
            let to = offset.saturating_add(NEAR).min(bytes.len());
            match memchr::memchr(b'\n', &bytes[offset..to]) {
                Some(at) => return offset + at,
                None if to == bytes.len() => return to,
                None => {}
            }
        }
        self.index(bytes).line_end(offset)
    }
}

/// Bytes per block of a `SparseLines`: no question scans more than this.
const BLOCK: usize = 512;

/// Line questions about one file for a diff, answered from how many newlines precede each
/// `BLOCK`-byte block instead of every line's start: a diff asks lines by number, all over a
/// 46.7 MB jobs.json, and its 1.4 million line starts were 5.6 MB of the `--diff` peak (issue
/// #11); these are 0.7 MB. A question scans at most one block, or from the last line asked to
/// the next, as a diff's hunks ask them in order. Answers are `LineIndex`'s.
#[derive(Debug)]
pub struct SparseLines<'a> {
    bytes: &'a [u8],
    /// `before[i]`: the newlines in `bytes[..i * BLOCK]`.
    before: Vec<usize>,
    newlines: usize,
    /// The last line whose start was asked, and its start.
    last: Cell<(usize, usize)>,
}

impl<'a> SparseLines<'a> {
    pub fn new(bytes: &'a [u8]) -> Self {
        SPARSE_BUILDS.with(|b| b.set(b.get() + 1));
        let mut before = Vec::with_capacity(bytes.len() / BLOCK + 1);
        let mut newlines = 0;
        for block in bytes.chunks(BLOCK) {
            before.push(newlines);
            newlines += memchr::memchr_iter(b'\n', block).count();
        }
        SparseLines {
            bytes,
            before,
            newlines,
            last: Cell::new((0, 0)),
        }
    }

    /// How many this thread built so far (for tests).
    pub fn builds() -> usize {
        SPARSE_BUILDS.with(Cell::get)
    }

    /// How many `\n` the file holds.
    pub fn newlines(&self) -> usize {
        self.newlines
    }

    /// The 0-based line holding `offset` (see `LineIndex::line_of`).
    pub fn line_of(&self, offset: usize) -> usize {
        let offset = offset.min(self.bytes.len());
        let block = offset / BLOCK;
        let Some(&before) = self.before.get(block) else {
            // At the very end of a file whose length is a multiple of a block.
            return self.newlines;
        };
        before + memchr::memchr_iter(b'\n', &self.bytes[block * BLOCK..offset]).count()
    }

    /// One past the end of the line that starts at `start`, its newline included: the start
    /// of the next line, or the file's length after the last one.
    pub fn end_of_line(&self, start: usize) -> usize {
        let start = start.min(self.bytes.len());
        memchr::memchr(b'\n', &self.bytes[start..]).map_or(self.bytes.len(), |i| start + i + 1)
    }

    /// The first byte of 0-based `line`, or the file's length past the last line (see
    /// `LineIndex::start_of`).
    pub fn start_of(&self, line: usize) -> usize {
        if line == 0 {
            return 0;
        }
        if line > self.newlines {
            return self.bytes.len();
        }
        let (last_line, last_start) = self.last.get();
        let start = if last_line == line {
            last_start
        } else if last_line + 1 == line {
            // The next line: it starts after the newline that ends the last one.
            self.end_of_line(last_start)
        } else if line + 1 == last_line {
            // The line before (a diff's common suffix is walked backwards): it starts after
            // the newline before the one that ends it, at `last_start - 1`.
            memchr::memrchr(b'\n', &self.bytes[..last_start - 1]).map_or(0, |i| i + 1)
        } else {
            // The block holding the line's newline: the last one with fewer before it.
            let block = self.before.partition_point(|&n| n < line) - 1;
            let from = block * BLOCK;
            let skip = line - 1 - self.before[block];
            memchr::memchr_iter(b'\n', &self.bytes[from..])
                .nth(skip)
                .map_or(self.bytes.len(), |i| from + i + 1)
        };
        self.last.set((line, start));
        start
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

    /// The wide form (files over 4 GiB) answers as the narrow one does.
    #[test]
    fn wide_starts_agree_with_narrow_ones() {
        let text = b"\n\nab\ncd\n\ny";
        let Starts::Narrow(narrow) = Starts::of(text) else {
            panic!("a small file has narrow starts");
        };
        let wide = Starts::Wide(narrow.iter().map(|s| *s as usize).collect());
        let narrow = Starts::Narrow(narrow);
        for offset in 0..=text.len() + 1 {
            assert_eq!(wide.at_or_before(offset), narrow.at_or_before(offset));
        }
        for line in 0..8 {
            assert_eq!(wide.get(line), narrow.get(line));
        }
    }

    /// The finder gives the index's answers in any order of questions, near the cursor or
    /// far behind it, and with lines longer than its scanning reach.
    #[test]
    fn finder_agrees_with_the_index() {
        let long = format!("a\n{}\nb\n\nc", "x".repeat(NEAR * 2 + 3));
        let texts: Vec<Vec<u8>> = [
            &b""[..],
            b"a",
            b"\n",
            b"ab\ncd\n",
            b"\n\nx\n\ny",
            b"a\r\nb",
            b"\xEF\xBB\xBF[\n  1\n]\n",
            long.as_bytes(),
        ]
        .iter()
        .map(|t| t.to_vec())
        .collect();
        for text in &texts {
            let index = LineIndex::new(text);
            let step = (text.len() / 50).max(1);
            let offsets: Vec<usize> = (0..=text.len() + 1)
                .step_by(step)
                .chain([text.len()])
                .collect();
            let mut finder = LineFinder::default();
            for order in [offsets.clone(), offsets.iter().rev().copied().collect()] {
                for &offset in &order {
                    let o = offset.min(text.len());
                    assert_eq!(finder.line_of(text, offset), index.line_of(o), "@{offset}");
                    assert_eq!(
                        finder.line_start(text, offset),
                        index.line_start(o),
                        "@{offset}"
                    );
                    assert_eq!(
                        finder.line_end(text, offset),
                        index.line_end(o),
                        "@{offset}"
                    );
                }
            }
        }
        // Short lines asked forward never build the index.
        let text = b"ab\ncd\n\nef\n";
        let before = LineIndex::builds();
        let mut finder = LineFinder::default();
        for offset in 0..=text.len() {
            finder.line_of(text, offset);
            finder.line_start(text, offset);
            finder.line_end(text, offset);
        }
        assert_eq!(LineIndex::builds(), before);
    }

    /// The sparse lines give the index's answers, whatever the order of the questions: lines
    /// in order (a hunk), at random (the edits' blocks), past the end; with lines shorter and
    /// longer than a block, and files ending on a block's edge or not.
    #[test]
    fn sparse_lines_agree_with_the_index() {
        use proptest::prelude::*;
        let line = prop_oneof![
            4 => "[a-z ]{0,40}",
            1 => "[a-z]{500,1500}",
            1 => Just(String::new()),
        ];
        let text = proptest::collection::vec((line, any::<bool>()), 0..60).prop_map(|lines| {
            lines
                .into_iter()
                .map(|(l, crlf)| l + if crlf { "\r\n" } else { "\n" })
                .collect::<String>()
        });
        let questions = proptest::collection::vec(any::<prop::sample::Index>(), 0..80);
        let config = ProptestConfig::with_cases(300);
        proptest!(config, |(text in text, cut in any::<prop::sample::Index>(), questions in questions)| {
            // Cut anywhere: a file need not end with a newline.
            let text = &text.as_bytes()[..cut.index(text.len() + 1)];
            let index = LineIndex::new(text);
            let sparse = SparseLines::new(text);
            let newlines = text.iter().filter(|b| **b == b'\n').count();
            prop_assert_eq!(sparse.newlines(), newlines);
            for line in (0..newlines + 3).chain((0..newlines + 3).rev()) {
                prop_assert_eq!(sparse.start_of(line), index.start_of(line), "line {}", line);
                prop_assert_eq!(
                    sparse.end_of_line(index.start_of(line)),
                    index.start_of(line + 1),
                    "line {}",
                    line
                );
            }
            for offset in 0..=text.len() + 2 {
                prop_assert_eq!(sparse.line_of(offset), index.line_of(offset.min(text.len())));
            }
            for q in &questions {
                let line = q.index(newlines + 3);
                prop_assert_eq!(sparse.start_of(line), index.start_of(line), "line {}", line);
                let offset = q.index(text.len() + 1);
                prop_assert_eq!(sparse.line_of(offset), index.line_of(offset));
            }
        });
    }

    /// A file whose length is a whole number of blocks: its end is on no block.
    #[test]
    fn sparse_lines_at_the_end_of_a_whole_block() {
        let text = format!("{}\n", "x".repeat(BLOCK - 1)).repeat(2);
        let sparse = SparseLines::new(text.as_bytes());
        assert_eq!(sparse.line_of(text.len()), 2);
        assert_eq!(sparse.start_of(2), text.len());
        assert_eq!(sparse.start_of(1), BLOCK);
        assert_eq!(SparseLines::new(b"").line_of(0), 0);
        assert_eq!(SparseLines::new(b"").start_of(1), 0);
    }
}

//! How the machine formats put their bytes out: gathered in large chunks before they reach the
//! real writer, and pretty JSON whose indentation costs one write per line.
//!
//! A document of 100,000 findings is millions of small pieces (a key, a quote, two spaces of
//! indentation per level). Through `&mut dyn Write` each piece was a virtual call into a
//! `BufWriter`, and serde_json's pretty printer wrote each level of indentation as a piece of
//! its own: most of the SARIF render's time (issue #11). The output is byte for byte what
//! `serde_json::to_writer_pretty` writes.

use std::io::{self, Write};

use serde::Serialize;
use serde_json::ser::Formatter;

/// How many bytes are gathered before they are handed on.
const CHUNK: usize = 64 * 1024;

/// A writer that gathers bytes in memory and hands them to `out` a chunk at a time. A concrete
/// type, so that the formats' many small writes are inlined appends. `finish` hands on the rest:
/// dropped without it, the last chunk is lost.
pub struct Chunked<'w> {
    buf: Vec<u8>,
    out: &'w mut dyn Write,
}

impl<'w> Chunked<'w> {
    pub fn new(out: &'w mut dyn Write) -> Self {
        Chunked {
            buf: Vec::with_capacity(CHUNK + CHUNK / 4),
            out,
        }
    }

    /// Hands on what is gathered (flushing `out` is left to its owner, as before).
    pub fn finish(mut self) -> io::Result<()> {
        self.spill()
    }

    fn spill(&mut self) -> io::Result<()> {
        if !self.buf.is_empty() {
            self.out.write_all(&self.buf)?;
            self.buf.clear();
        }
        Ok(())
    }

    /// Hands on the gathered whole lines, keeping a last partial line for the next chunk.
    ///
    /// Stdout is line-buffered (Rust's stdout is a `LineWriter`, whatever it is connected to):
    /// a chunk that ends mid-line was written as its lines, then the partial line was held back
    /// and written on its own before the next chunk's lines, two or three `write` calls per
    /// chunk, each waking the reader of a pipe (issue #11: SARIF's 325 MB went out in 10,000
    /// writes instead of 5,000). A chunk that ends at a line break is one `write`. A chunk
    /// with no line break at all (a very long line) is handed on whole.
    fn spill_lines(&mut self) -> io::Result<()> {
        match memchr::memrchr(b'\n', &self.buf) {
            Some(at) if at + 1 < self.buf.len() => {
                self.out.write_all(&self.buf[..=at])?;
                self.buf.drain(..=at);
                Ok(())
            }
            _ => self.spill(),
        }
    }
}

impl Write for Chunked<'_> {
    #[inline]
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        self.write_all(bytes)?;
        Ok(bytes.len())
    }

    #[inline]
    fn write_all(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.buf.extend_from_slice(bytes);
        if self.buf.len() >= CHUNK {
            self.spill_lines()?;
        }
        Ok(())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.spill()?;
        self.out.flush()
    }
}

/// What `write` writes to memory, as text: for the callers that want a format as a string
/// (`scan` cuts documents apart) and for the escapers. Writing to memory fails only if
/// serialisation does, which our types never do.
pub fn written(write: impl FnOnce(&mut Vec<u8>) -> io::Result<()>) -> String {
    let mut text = Vec::new();
    let _ = write(&mut text);
    String::from_utf8(text).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
}

/// `n` in decimal, without going through `fmt`.
pub fn write_usize(w: &mut impl Write, n: usize) -> io::Result<()> {
    w.write_all(crate::decimal::digits(n, &mut [0; 20]).as_bytes())
}

/// serde_json's `PrettyFormatter` with its two-space indentation, writing a line break and its
/// indentation as one piece.
#[derive(Default)]
pub struct Pretty {
    level: usize,
    has_value: bool,
}

/// A line break followed by enough spaces for any level our documents reach; deeper levels (a
/// value from a state file quoted whole) are written in several pieces.
const BREAK: &[u8] = b"\n                                                                ";

impl Pretty {
    fn line<W: ?Sized + Write>(&self, w: &mut W) -> io::Result<()> {
        let mut spaces = self.level * 2;
        let first = spaces.min(BREAK.len() - 1);
        w.write_all(&BREAK[..1 + first])?;
        spaces -= first;
        while spaces > 0 {
            let more = spaces.min(BREAK.len() - 1);
            w.write_all(&BREAK[1..1 + more])?;
            spaces -= more;
        }
        Ok(())
    }

    fn close<W: ?Sized + Write>(&mut self, w: &mut W, bracket: &[u8]) -> io::Result<()> {
        self.level -= 1;
        if self.has_value {
            self.line(w)?;
        }
        w.write_all(bracket)
    }

    fn item<W: ?Sized + Write>(&mut self, w: &mut W, first: bool) -> io::Result<()> {
        if !first {
            w.write_all(b",")?;
        }
        self.line(w)
    }
}

impl Formatter for Pretty {
    #[inline]
    fn begin_array<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.level += 1;
        self.has_value = false;
        w.write_all(b"[")
    }

    #[inline]
    fn end_array<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.close(w, b"]")
    }

    #[inline]
    fn begin_array_value<W: ?Sized + Write>(&mut self, w: &mut W, first: bool) -> io::Result<()> {
        self.item(w, first)
    }

    #[inline]
    fn end_array_value<W: ?Sized + Write>(&mut self, _w: &mut W) -> io::Result<()> {
        self.has_value = true;
        Ok(())
    }

    #[inline]
    fn begin_object<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.level += 1;
        self.has_value = false;
        w.write_all(b"{")
    }

    #[inline]
    fn end_object<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.close(w, b"}")
    }

    #[inline]
    fn begin_object_key<W: ?Sized + Write>(&mut self, w: &mut W, first: bool) -> io::Result<()> {
        self.item(w, first)
    }

    #[inline]
    fn begin_object_value<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        w.write_all(b": ")
    }

    #[inline]
    fn end_object_value<W: ?Sized + Write>(&mut self, _w: &mut W) -> io::Result<()> {
        self.has_value = true;
        Ok(())
    }
}

/// `value` as pretty JSON followed by a line break, written to `out` as it is serialised.
pub fn write_pretty<T: Serialize + ?Sized>(value: &T, out: &mut dyn Write) -> io::Result<()> {
    let mut chunked = Chunked::new(out);
    let mut serializer = serde_json::Serializer::with_formatter(&mut chunked, Pretty::default());
    value.serialize(&mut serializer)?;
    chunked.write_all(b"\n")?;
    chunked.finish()
}

/// `value` as pretty JSON inside a document being written by hand: laid out as if it stood
/// `level` levels deep in a `write_pretty` document (its closing bracket on a line of its own at
/// that level's indentation).
pub fn write_pretty_in<T: Serialize + ?Sized>(
    value: &T,
    out: &mut Chunked<'_>,
    level: usize,
) -> io::Result<()> {
    let formatter = Pretty {
        level,
        has_value: false,
    };
    let mut serializer = serde_json::Serializer::with_formatter(out, formatter);
    value.serialize(&mut serializer).map_err(io::Error::from)
}

/// `text` as a JSON string, quotes included, escaped byte for byte as serde_json escapes it: `"`
/// and `\` with a backslash; backspace, tab, line feed, form feed and carriage return as `\b`,
/// `\t`, `\n`, `\f`, `\r`; the other C0 controls as `\u00xx` in lowercase hex; everything else
/// (DEL, non-ASCII, U+2028) as itself.
pub fn write_json_str(w: &mut impl Write, text: &str) -> io::Result<()> {
    w.write_all(b"\"")?;
    write_json_str_body(w, text)?;
    w.write_all(b"\"")
}

/// `write_json_str` without the quotes. Every escape stands for one byte, so a text written in
/// pieces (`diag::Text`) is escaped exactly as the whole would be.
fn write_json_str_body(w: &mut (impl Write + ?Sized), text: &str) -> io::Result<()> {
    let bytes = text.as_bytes();
    // Most texts need no escape at all: one check over the bytes, one copy.
    if !bytes.iter().any(|&b| needs_escape(b)) {
        return w.write_all(bytes);
    }
    let mut run = 0;
    for (at, &b) in bytes.iter().enumerate() {
        if !needs_escape(b) {
            continue;
        }
        w.write_all(&bytes[run..at])?;
        run = at + 1;
        match b {
            b'"' => w.write_all(b"\\\"")?,
            b'\\' => w.write_all(b"\\\\")?,
            0x08 => w.write_all(b"\\b")?,
            b'\t' => w.write_all(b"\\t")?,
            b'\n' => w.write_all(b"\\n")?,
            0x0c => w.write_all(b"\\f")?,
            b'\r' => w.write_all(b"\\r")?,
            _ => {
                const HEX: &[u8; 16] = b"0123456789abcdef";
                let (high, low) = (HEX[usize::from(b >> 4)], HEX[usize::from(b & 15)]);
                w.write_all(&[b'\\', b'u', b'0', b'0', high, low])?
            }
        }
    }
    w.write_all(&bytes[run..])
}

#[inline]
fn needs_escape(b: u8) -> bool {
    b < 0x20 || b == b'"' || b == b'\\'
}

/// Pretty JSON written by hand, laid out byte for byte as `write_pretty` lays it out: for a
/// format's per-finding part, whose keys are known text that needs no escaping and whose
/// serde path (a key escaped byte by byte, each piece a call of its own) was most of a large
/// report's render (issue #11).
///
/// The first write error is kept and every later write skipped; `status` gives it back, so a
/// writer checks once per finding rather than after each piece.
pub struct Hand<'c, 'w> {
    out: &'c mut Chunked<'w>,
    /// Levels of nesting opened and not yet closed.
    level: usize,
    /// Whether the innermost open container has no member yet.
    empty: bool,
    error: Option<io::Error>,
}

impl<'c, 'w> Hand<'c, 'w> {
    pub fn new(out: &'c mut Chunked<'w>) -> Self {
        Hand {
            out,
            level: 0,
            empty: false,
            error: None,
        }
    }

    /// The first write error so far (taken: the writer stops at it).
    pub fn status(&mut self) -> io::Result<()> {
        self.error.take().map_or(Ok(()), Err)
    }

    fn put(&mut self, bytes: &[u8]) {
        if self.error.is_none() {
            if let Err(e) = self.out.write_all(bytes) {
                self.error = Some(e);
            }
        }
    }

    /// A line break and this level's indentation, in one piece (as `Pretty::line`).
    fn line(&mut self) {
        let spaces = self.level * 2;
        if spaces < BREAK.len() {
            self.put(&BREAK[..1 + spaces]);
        } else {
            let pretty = Pretty {
                level: self.level,
                has_value: false,
            };
            if let Err(e) = pretty.line(self.out) {
                self.error.get_or_insert(e);
            }
        }
    }

    /// The next member of the open container: a comma after the one before, then its line.
    fn member(&mut self) {
        if !self.empty {
            self.put(b",");
        }
        self.empty = false;
        self.line();
    }

    fn open(&mut self, bracket: &[u8]) {
        self.put(bracket);
        self.level += 1;
        self.empty = true;
    }

    fn close(&mut self, bracket: &[u8]) {
        self.level -= 1;
        if !self.empty {
            self.line();
        }
        self.put(bracket);
        // The container just closed is a member of the one around it.
        self.empty = false;
    }

    pub fn open_object(&mut self) {
        self.open(b"{");
    }

    pub fn close_object(&mut self) {
        self.close(b"}");
    }

    pub fn open_array(&mut self) {
        self.open(b"[");
    }

    pub fn close_array(&mut self) {
        self.close(b"]");
    }

    /// The next element of the open array (its value follows).
    pub fn element(&mut self) {
        self.member();
    }

    /// The next key of the open object (its value follows). `key` is known text: it is written
    /// as it is, unescaped.
    pub fn key(&mut self, key: &str) {
        debug_assert!(!key.bytes().any(needs_escape), "a key that needs escaping");
        self.member();
        self.put(b"\"");
        self.put(key.as_bytes());
        self.put(b"\": ");
    }

    pub fn str(&mut self, text: &str) {
        if self.error.is_none() {
            if let Err(e) = write_json_str(self.out, text) {
                self.error = Some(e);
            }
        }
    }

    /// Known text that needs no escaping (hex digits, a URI), written as it is.
    pub fn plain_str(&mut self, text: &str) {
        debug_assert!(
            !text.bytes().any(needs_escape),
            "a plain string that needs escaping"
        );
        self.put(b"\"");
        self.put(text.as_bytes());
        self.put(b"\"");
    }

    /// One JSON string given in pieces (`diag::Text`, `diag::Pointer`: `for_each_piece`),
    /// escaped piece by piece with no copy of the whole.
    pub fn pieces(
        &mut self,
        each_piece: impl FnOnce(&mut dyn FnMut(&str) -> io::Result<()>) -> io::Result<()>,
    ) {
        if self.error.is_some() {
            return;
        }
        let out = &mut *self.out;
        let written = out
            .write_all(b"\"")
            .and_then(|()| each_piece(&mut |piece| write_json_str_body(&mut *out, piece)))
            .and_then(|()| out.write_all(b"\""));
        if let Err(e) = written {
            self.error = Some(e);
        }
    }

    pub fn null(&mut self) {
        self.put(b"null");
    }

    pub fn opt_str(&mut self, text: Option<&str>) {
        match text {
            Some(text) => self.str(text),
            None => self.put(b"null"),
        }
    }

    pub fn usize(&mut self, n: usize) {
        if self.error.is_none() {
            if let Err(e) = write_usize(self.out, n) {
                self.error = Some(e);
            }
        }
    }

    pub fn opt_usize(&mut self, n: Option<usize>) {
        match n {
            Some(n) => self.usize(n),
            None => self.put(b"null"),
        }
    }

    /// `value` through serde, laid out at this depth: for the parts written once per document.
    pub fn value<T: Serialize + ?Sized>(&mut self, value: &T) {
        if self.error.is_none() {
            if let Err(e) = write_pretty_in(value, self.out, self.level) {
                self.error = Some(e);
            }
        }
    }

    /// `"key": "text"`, the most common member.
    pub fn key_str(&mut self, key: &str, text: &str) {
        self.key(key);
        self.str(text);
    }

    pub fn key_usize(&mut self, key: &str, n: usize) {
        self.key(key);
        self.usize(n);
    }

    /// The document's closing line break (as `write_pretty` ends), and the first write error.
    pub fn end(mut self) -> io::Result<()> {
        self.put(b"\n");
        self.status()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Byte for byte serde_json's pretty printer, at every depth (past the one-piece
    /// indentation too), with empty containers and strings that need escaping.
    #[test]
    fn pretty_is_serde_jsons_pretty() {
        let mut deep = serde_json::json!({"leaf": [1, "two\n\"", null, {}, []]});
        for depth in 0..45 {
            deep = serde_json::json!({ format!("k{depth}"): [deep, depth, {"e": []}] });
        }
        for value in [
            serde_json::json!(null),
            serde_json::json!([]),
            serde_json::json!({}),
            serde_json::json!({"a": {}, "b": [[]], "c": 1.5, "d": "\u{1b}é"}),
            deep,
        ] {
            let mut ours = Vec::new();
            write_pretty(&value, &mut ours).unwrap();
            let mut theirs = serde_json::to_vec_pretty(&value).unwrap();
            theirs.push(b'\n');
            assert_eq!(
                String::from_utf8(ours).unwrap(),
                String::from_utf8(theirs).unwrap()
            );
        }
    }

    proptest::proptest! {
        /// Any text, as a JSON string: byte for byte serde_json's (quotes, backslashes, every
        /// control character, DEL, non-ASCII, U+2028 and U+2029).
        #[test]
        fn json_strings_are_serde_jsons(text in json_str_text()) {
            let mut ours = Vec::new();
            write_json_str(&mut ours, &text).unwrap();
            proptest::prop_assert_eq!(
                String::from_utf8(ours).unwrap(),
                serde_json::to_string(&text).unwrap()
            );
        }
    }

    /// Texts dense in what a JSON string escapes, and what it must not.
    fn json_str_text() -> impl proptest::strategy::Strategy<Value = String> {
        use proptest::prelude::*;
        let tricky = prop::sample::select(vec![
            '"', '\\', '/', '\u{0}', '\u{8}', '\t', '\n', '\u{b}', '\u{c}', '\r', '\u{1b}',
            '\u{1f}', ' ', '\u{7f}', '\u{80}', 'é', '\u{2028}', '\u{2029}', '\u{feff}', '😀',
        ]);
        prop::collection::vec(prop_oneof![tricky, any::<char>()], 0..48)
            .prop_map(|chars| chars.into_iter().collect())
    }

    #[test]
    fn json_strings_escape_every_control() {
        for b in 0u8..=0x7f {
            let text = format!("a{}b", b as char);
            let mut ours = Vec::new();
            write_json_str(&mut ours, &text).unwrap();
            assert_eq!(
                String::from_utf8(ours).unwrap(),
                serde_json::to_string(&text).unwrap(),
                "byte {b:#x}"
            );
        }
    }

    /// A document written by hand is laid out as `write_pretty` lays out the same value: empty
    /// containers, nesting, nulls, serde values at depth, keys past the one-piece indentation.
    #[test]
    fn hand_written_is_serde_jsons_pretty() {
        let inner = serde_json::json!({"x": [1, {}, []], "y": {"z": null}});
        let mut expected = serde_json::json!({
            "a": "q\"\u{1}\u{2028}",
            "empty_object": {},
            "empty_array": [],
            "list": [{"n": null, "m": 7}, "s", inner.clone(), []],
        });
        let mut deep = serde_json::json!("leaf");
        for depth in (0..40).rev() {
            deep = serde_json::json!({ format!("k{depth}"): [deep] });
        }
        expected["deep"] = deep;

        let mut ours = Vec::new();
        let mut out = Chunked::new(&mut ours);
        let mut j = Hand::new(&mut out);
        j.open_object();
        j.key_str("a", "q\"\u{1}\u{2028}");
        j.key("empty_object");
        j.open_object();
        j.close_object();
        j.key("empty_array");
        j.open_array();
        j.close_array();
        j.key("list");
        j.open_array();
        j.element();
        j.open_object();
        j.key("n");
        j.opt_str(None);
        j.key_usize("m", 7);
        j.close_object();
        j.element();
        j.plain_str("s");
        j.element();
        j.value(&inner);
        j.element();
        j.open_array();
        j.close_array();
        j.close_array();
        j.key("deep");
        for depth in 0..40 {
            j.open_object();
            j.key(&format!("k{depth}"));
            j.open_array();
            j.element();
        }
        j.str("leaf");
        for _ in 0..40 {
            j.close_array();
            j.close_object();
        }
        j.close_object();
        j.end().unwrap();
        out.finish().unwrap();

        let mut theirs = Vec::new();
        write_pretty(&expected, &mut theirs).unwrap();
        assert_eq!(
            String::from_utf8(ours).unwrap(),
            String::from_utf8(theirs).unwrap()
        );
    }

    /// A write error stops the writing and comes back from `status`.
    #[test]
    fn hand_keeps_the_first_write_error() {
        struct Broken;
        impl Write for Broken {
            fn write(&mut self, _: &[u8]) -> io::Result<usize> {
                Err(io::Error::new(io::ErrorKind::BrokenPipe, "closed"))
            }
            fn flush(&mut self) -> io::Result<()> {
                Ok(())
            }
        }
        let mut broken = Broken;
        let mut out = Chunked::new(&mut broken);
        let mut j = Hand::new(&mut out);
        j.open_array();
        let long = "x".repeat(CHUNK);
        j.element();
        j.str(&long);
        let error = j.status().unwrap_err();
        assert_eq!(error.kind(), io::ErrorKind::BrokenPipe);
    }

    #[test]
    fn numbers_in_decimal() {
        for n in [0, 7, 10, 99, 12_345, usize::MAX] {
            let mut out = Vec::new();
            write_usize(&mut out, n).unwrap();
            assert_eq!(String::from_utf8(out).unwrap(), n.to_string());
        }
    }

    /// Each chunk handed on ends at a line break when it holds one (one `write` through
    /// stdout's line buffering, not three); a line longer than a chunk still goes out, whole
    /// and in order.
    #[test]
    fn chunks_end_at_line_breaks() {
        struct Writes(Vec<Vec<u8>>);
        impl Write for Writes {
            fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
                self.0.push(bytes.to_vec());
                Ok(bytes.len())
            }
            fn flush(&mut self) -> io::Result<()> {
                Ok(())
            }
        }
        let mut expected = Vec::new();
        let mut writes = Writes(Vec::new());
        let mut chunked = Chunked::new(&mut writes);
        let long_line = vec![b'x'; 3 * CHUNK];
        for i in 0..20_000usize {
            let piece: &[u8] = match i {
                7_000 => &long_line,
                _ if i % 3 == 0 => b"\n        ",
                _ => b"\"key\": \"value\"",
            };
            chunked.write_all(piece).unwrap();
            expected.extend_from_slice(piece);
        }
        chunked.finish().unwrap();
        let Writes(writes) = writes;
        assert!(writes.len() > 3, "{} writes", writes.len());
        let (last, handed) = writes.split_last().unwrap();
        assert!(!last.is_empty());
        for write in handed {
            assert!(
                write.ends_with(b"\n") || !write.contains(&b'\n'),
                "a chunk of {} bytes ends mid-line",
                write.len()
            );
        }
        assert!(writes.concat() == expected);
    }

    /// Whatever the sizes of the writes, the bytes arrive whole and in order, and `finish`
    /// hands on the last chunk.
    #[test]
    fn chunks_arrive_whole_and_in_order() {
        let mut expected = Vec::new();
        let mut out = Vec::new();
        let mut chunked = Chunked::new(&mut out);
        for i in 0..50_000usize {
            let piece = vec![b'a' + (i % 26) as u8; i % 300];
            chunked.write_all(&piece).unwrap();
            expected.extend_from_slice(&piece);
        }
        chunked.finish().unwrap();
        assert_eq!(out.len(), expected.len());
        assert!(out == expected);
    }
}

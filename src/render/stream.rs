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
            self.spill()?;
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

    #[test]
    fn numbers_in_decimal() {
        for n in [0, 7, 10, 99, 12_345, usize::MAX] {
            let mut out = Vec::new();
            write_usize(&mut out, n).unwrap();
            assert_eq!(String::from_utf8(out).unwrap(), n.to_string());
        }
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

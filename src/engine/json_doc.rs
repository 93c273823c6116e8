//! A JSON file read once and parsed once per run, shared by every check that reads it.

use crate::json::{self, ParseError, ParseOutcome, Tape};

/// A JSON file read once and parsed once, with JSON.parse's verdict on it, shared by every
/// check that reads it (config.json alone is asked for by half a dozen checks).
///
/// The tape borrows the bytes, so the two are kept together in one self-referential cell; the
/// files that several checks share (config.json, the registry, identity.json) are small, and the
/// large jobs.json is streamed by its own check instead.
pub struct JsonDoc {
    parsed_doc: ParsedDoc,
    pub parsed: Result<ParseOutcome, ParseError>,
}

/// The parse's tape when the file parses; `None` on a syntax error.
type MaybeTape<'src> = Option<Tape<'src>>;

self_cell::self_cell!(
    struct ParsedDoc {
        owner: crate::source::Bytes,
        #[covariant]
        dependent: MaybeTape,
    }
);

impl JsonDoc {
    /// Parses `bytes` once; the verdict and the tape are kept for every later reader.
    pub fn parse(bytes: crate::source::Bytes) -> Self {
        let mut parsed = None;
        let parsed_doc = ParsedDoc::new(bytes, |bytes| {
            let mut tape = Tape::new();
            let verdict = json::parse(bytes, &mut tape);
            let ok = verdict.is_ok();
            parsed = Some(verdict);
            ok.then_some(tape)
        });
        JsonDoc {
            parsed_doc,
            parsed: parsed.expect("the builder ran"),
        }
    }

    /// The file's bytes, as read.
    pub fn bytes(&self) -> &crate::source::Bytes {
        self.parsed_doc.borrow_owner()
    }

    /// The parsed document when the file parses (a BOM alone still yields the content behind
    /// it: check `parsed` for that); `None` on a syntax error.
    pub fn tape(&self) -> Option<&Tape<'_>> {
        self.parsed_doc.borrow_dependent().as_ref()
    }
}

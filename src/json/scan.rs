//! The byte-level scanner: one pass, no recursion, no allocation per token.
//!
//! Open containers are not kept on a separate stack: every node records its
//! parent, so the chain of parents *is* the stack and depth costs nothing
//! beyond the nodes themselves.

use std::borrow::Cow;

use super::errors::{self, Expect};
use super::text;
use super::value::{Node, Tape, F_DECODE, F_KEY_DECODE, NONE};
use super::{Duplicate, Kind, ParseError};

/// Objects up to this many members are checked for duplicate keys pairwise;
/// bigger ones are sorted, so a huge object never costs O(n²).
const PAIRWISE_MAX: usize = 16;

#[derive(Clone, Copy)]
enum State {
    /// A value must come next.
    Value,
    /// Just after `{`: a key or `}`.
    ObjectStart,
    /// Just after `[`: a value or `]`.
    ArrayStart,
    /// Just after a `,` in an object: a key.
    Key,
    /// A value just ended: `,`, a closer, or (at depth 0) done.
    After,
}

/// The key read for the member whose value comes next.
#[derive(Clone, Copy)]
struct PendingKey {
    start: u32,
    end: u32,
    decode: bool,
}

impl PendingKey {
    const NONE: PendingKey = PendingKey {
        start: NONE,
        end: NONE,
        decode: false,
    };
}

pub(super) struct Scanner<'s, 't> {
    src: &'s [u8],
    pos: usize,
    tape: &'t mut Tape<'s>,
    key: PendingKey,
}

/// Offsets are stored as u32; `errors::prelude` has already refused inputs
/// whose length does not fit, so this never truncates.
fn off(p: usize) -> u32 {
    p as u32
}

impl<'s, 't> Scanner<'s, 't> {
    pub(super) fn new(src: &'s [u8], pos: usize, tape: &'t mut Tape<'s>) -> Self {
        Scanner {
            src,
            pos,
            tape,
            key: PendingKey::NONE,
        }
    }

    pub(super) fn tape(&self) -> &Tape<'s> {
        self.tape
    }

    pub(super) fn position(&self) -> usize {
        self.pos
    }

    pub(super) fn clear_tape(&mut self) {
        self.tape.reset(self.src);
    }

    /// Puts the per-parse results in document order.
    pub(super) fn finish(&mut self) {
        let dups = &mut self.tape.duplicates;
        if dups.len() > 1 {
            dups.sort_by_key(|d| d.second.start);
        }
    }

    fn peek(&self) -> Option<u8> {
        self.src.get(self.pos).copied()
    }

    fn skip_ws(&mut self) {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.peek() {
            self.pos += 1;
        }
    }

    fn unexpected(&self, expect: Expect) -> ParseError {
        errors::unexpected(self.src, self.pos, expect)
    }

    pub(super) fn expect_non_empty(&mut self) -> Result<(), ParseError> {
        self.skip_ws();
        match self.peek() {
            Some(_) => Ok(()),
            None => Err(errors::empty(self.src.len())),
        }
    }

    /// After the root value only whitespace may follow.
    pub(super) fn expect_end(&mut self) -> Result<(), ParseError> {
        self.skip_ws();
        match self.peek() {
            None => Ok(()),
            Some(_) => Err(self.unexpected(Expect::End)),
        }
    }

    /// Consumes a root `[` and returns its offset, or leaves a non-array root alone.
    pub(super) fn open_root_array(&mut self) -> Option<usize> {
        self.skip_ws();
        (self.peek() == Some(b'[')).then(|| {
            self.pos += 1;
            self.pos - 1
        })
    }

    /// Consumes the `]` of an empty root array.
    pub(super) fn close_root_array(&mut self) -> bool {
        self.skip_ws();
        let empty = self.peek() == Some(b']');
        if empty {
            self.pos += 1;
        }
        empty
    }

    /// After a root element: `,` (true) or the closing `]` (false, consumed).
    pub(super) fn root_array_continues(&mut self) -> Result<bool, ParseError> {
        self.skip_ws();
        match self.peek() {
            Some(b',') => self.comma().map(|()| true),
            Some(b']') => {
                self.pos += 1;
                Ok(false)
            }
            _ => Err(self.unexpected(Expect::CommaOrBracket)),
        }
    }

    /// Consumes a `,` and refuses a closer right after it.
    fn comma(&mut self) -> Result<(), ParseError> {
        let comma = self.pos;
        self.pos += 1;
        self.skip_ws();
        match self.peek() {
            Some(b']' | b'}') => Err(errors::trailing_comma(comma)),
            _ => Ok(()),
        }
    }

    /// Parses exactly one complete value (of any depth) at the next token.
    pub(super) fn value(&mut self) -> Result<(), ParseError> {
        let mut cur = NONE;
        let mut state = State::Value;
        loop {
            state = match state {
                State::Value => self.value_token(&mut cur)?,
                State::ObjectStart => self.object_start(&mut cur)?,
                State::ArrayStart => self.array_start(&mut cur),
                State::Key => {
                    self.key(Expect::Key)?;
                    State::Value
                }
                State::After if cur == NONE => return Ok(()),
                State::After => self.after_value(&mut cur)?,
            };
        }
    }

    fn value_token(&mut self, cur: &mut u32) -> Result<State, ParseError> {
        self.skip_ws();
        let start = self.pos;
        let (kind, flags) = match self.peek() {
            Some(b'{') => {
                *cur = self.push(Kind::Object, start, start, *cur, 0);
                self.pos += 1;
                return Ok(State::ObjectStart);
            }
            Some(b'[') => {
                *cur = self.push(Kind::Array, start, start, *cur, 0);
                self.pos += 1;
                return Ok(State::ArrayStart);
            }
            Some(b'"') => {
                let decode = self.string()?;
                (Kind::String, if decode { F_DECODE } else { 0 })
            }
            Some(b'-' | b'0'..=b'9') => {
                self.number()?;
                (Kind::Number, 0)
            }
            Some(b't') => {
                self.literal(b"true")?;
                (Kind::Bool, 0)
            }
            Some(b'f') => {
                self.literal(b"false")?;
                (Kind::Bool, 0)
            }
            Some(b'n') => {
                self.literal(b"null")?;
                (Kind::Null, 0)
            }
            _ => return Err(self.unexpected(Expect::Value)),
        };
        self.push(kind, start, self.pos, *cur, flags);
        Ok(State::After)
    }

    fn object_start(&mut self, cur: &mut u32) -> Result<State, ParseError> {
        self.skip_ws();
        if self.peek() == Some(b'}') {
            self.close(cur);
            return Ok(State::After);
        }
        self.key(Expect::FirstKey)?;
        Ok(State::Value)
    }

    fn array_start(&mut self, cur: &mut u32) -> State {
        self.skip_ws();
        if self.peek() == Some(b']') {
            self.close(cur);
            return State::After;
        }
        State::Value
    }

    fn after_value(&mut self, cur: &mut u32) -> Result<State, ParseError> {
        self.skip_ws();
        let object = self.tape.nodes.get(*cur as usize).map(|n| n.kind) == Some(Kind::Object);
        match (self.peek(), object) {
            (Some(b','), true) => self.comma().map(|()| State::Key),
            (Some(b','), false) => self.comma().map(|()| State::Value),
            (Some(b'}'), true) | (Some(b']'), false) => {
                self.close(cur);
                Ok(State::After)
            }
            (_, true) => Err(self.unexpected(Expect::CommaOrBrace)),
            (_, false) => Err(self.unexpected(Expect::CommaOrBracket)),
        }
    }

    /// Reads `"key"` and the `:` after it.
    fn key(&mut self, expect: Expect) -> Result<(), ParseError> {
        self.skip_ws();
        if self.peek() != Some(b'"') {
            return Err(self.unexpected(expect));
        }
        let start = self.pos;
        let decode = self.string()?;
        self.key = PendingKey {
            start: off(start),
            end: off(self.pos),
            decode,
        };
        self.skip_ws();
        if self.peek() != Some(b':') {
            return Err(self.unexpected(Expect::Colon));
        }
        self.pos += 1;
        Ok(())
    }

    /// Appends a node, attaching the pending key (if any) and counting it in
    /// its parent. Containers get their end and `next` when they close.
    fn push(&mut self, kind: Kind, start: usize, end: usize, parent: u32, flags: u8) -> u32 {
        let key = std::mem::replace(&mut self.key, PendingKey::NONE);
        let nodes = &mut self.tape.nodes;
        let idx = off(nodes.len());
        if let Some(p) = nodes.get_mut(parent as usize) {
            p.count += 1;
        }
        nodes.push(Node {
            start: off(start),
            end: off(end),
            key_start: key.start,
            key_end: key.end,
            parent,
            next: idx + 1,
            count: 0,
            kind,
            flags: flags | if key.decode { F_KEY_DECODE } else { 0 },
        });
        idx
    }

    /// Closes the container `cur` at the current `}`/`]` and moves up.
    fn close(&mut self, cur: &mut u32) {
        self.pos += 1;
        let len = off(self.tape.nodes.len());
        let Some(node) = self.tape.nodes.get_mut(*cur as usize) else {
            // Cannot happen (cur is always an open container); ending the
            // value keeps the state machine terminating regardless.
            *cur = NONE;
            return;
        };
        node.end = off(self.pos);
        node.next = len;
        let (kind, count, parent) = (node.kind, node.count, node.parent);
        if kind == Kind::Object && count > 1 {
            self.find_duplicates(*cur, count as usize);
        }
        *cur = parent;
    }

    // ---- strings ----------------------------------------------------------

    /// Scans a string at the opening quote. Returns whether decoding it needs
    /// more than borrowing (escapes or invalid UTF-8).
    fn string(&mut self) -> Result<bool, ParseError> {
        self.pos += 1;
        let mut decode = false;
        loop {
            self.skip_plain();
            match self.peek() {
                Some(b'"') => {
                    self.pos += 1;
                    return Ok(decode);
                }
                Some(b'\\') => {
                    self.escape()?;
                    decode = true;
                }
                Some(b @ 0x00..=0x1f) => return Err(errors::control_char(self.pos, b)),
                Some(0x80..) => decode |= self.non_ascii(),
                // skip_plain only stops at the bytes above; never spin.
                Some(_) => self.pos += 1,
                None => return Err(errors::unexpected_end(self.src.len())),
            }
        }
    }

    /// Skips bytes that need no attention: printable ASCII other than `"` and
    /// `\`. Eight bytes at a time while possible (long prompt strings dominate
    /// large jobs files), then byte by byte.
    fn skip_plain(&mut self) {
        // Sixteen bytes a step while they last: one bounds check and one branch
        // for two words (a 200-byte prompt is a dozen steps).
        let rest = self.src.get(self.pos..).unwrap_or_default();
        let mut skipped = 0;
        for pair in rest.chunks_exact(16) {
            let (low, high) = pair.split_at(8);
            let low = special_bytes(u64::from_le_bytes(low.try_into().unwrap_or_default()));
            let high = special_bytes(u64::from_le_bytes(high.try_into().unwrap_or_default()));
            if low | high != 0 {
                // The lowest flagged byte is exact (borrows only propagate
                // upwards), so it is the first byte needing attention.
                let first = if low != 0 {
                    low.trailing_zeros() / 8
                } else {
                    8 + high.trailing_zeros() / 8
                };
                self.pos += skipped + first as usize;
                return;
            }
            skipped += 16;
        }
        self.pos += skipped;
        while let Some(chunk) = self.src.get(self.pos..self.pos.saturating_add(8)) {
            let Ok(bytes) = <[u8; 8]>::try_from(chunk) else {
                break;
            };
            let special = special_bytes(u64::from_le_bytes(bytes));
            if special != 0 {
                self.pos += (special.trailing_zeros() / 8) as usize;
                return;
            }
            self.pos += 8;
        }
        while let Some(&b) = self.src.get(self.pos) {
            if !is_plain(b) {
                break;
            }
            self.pos += 1;
        }
    }

    /// Validates one escape sequence at a backslash.
    fn escape(&mut self) -> Result<(), ParseError> {
        let start = self.pos;
        match self.src.get(start + 1) {
            Some(b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't') => {
                self.pos += 2;
                Ok(())
            }
            Some(b'u') => {
                for p in start + 2..start + 6 {
                    match self.src.get(p) {
                        Some(h) if h.is_ascii_hexdigit() => {}
                        Some(_) => return Err(errors::bad_escape(self.src, start, p)),
                        None => return Err(errors::unexpected_end(self.src.len())),
                    }
                }
                self.pos += 6;
                Ok(())
            }
            Some(_) => Err(errors::bad_escape(self.src, start, start + 1)),
            None => Err(errors::unexpected_end(self.src.len())),
        }
    }

    /// Consumes a run of non-ASCII bytes inside a string. Invalid sequences
    /// are accepted (readFileSync turns them into U+FFFD) but recorded.
    /// Returns whether the run had any.
    fn non_ascii(&mut self) -> bool {
        let start = self.pos;
        let rest = self.src.get(start..).unwrap_or_default();
        let run_len = rest.iter().take_while(|&&b| b >= 0x80).count();
        let run = rest.get(..run_len).unwrap_or_default();
        self.pos += run_len;
        // ASCII bytes end every UTF-8 sequence, so judging the run alone
        // gives the same maximal subparts as decoding the whole file.
        if std::str::from_utf8(run).is_ok() {
            return false;
        }
        let mut at = start;
        for chunk in run.utf8_chunks() {
            at += chunk.valid().len();
            let bad = chunk.invalid().len();
            if bad > 0 {
                self.tape.invalid_utf8.push(at..at + bad);
                at += bad;
            }
        }
        true
    }

    // ---- numbers and literals -------------------------------------------

    /// Validates `-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?`.
    fn number(&mut self) -> Result<(), ParseError> {
        let start = self.pos;
        if self.peek() == Some(b'-') {
            self.pos += 1;
        }
        match self.peek() {
            Some(b'0') => self.pos += 1,
            Some(b'1'..=b'9') => self.digits(),
            _ => return Err(self.number_error(start)),
        }
        if self.peek() == Some(b'.') {
            self.pos += 1;
            self.require_digit(start)?;
            self.digits();
        }
        if let Some(b'e' | b'E') = self.peek() {
            self.pos += 1;
            if let Some(b'+' | b'-') = self.peek() {
                self.pos += 1;
            }
            self.require_digit(start)?;
            self.digits();
        }
        // `01`, `0x1F`, `1.5.3`: report the whole malformed token rather
        // than "unexpected character" at its second half.
        match self.peek() {
            Some(b) if errors::is_word_byte(b) => Err(errors::invalid_number(self.src, start)),
            _ => Ok(()),
        }
    }

    fn digits(&mut self) {
        while let Some(b'0'..=b'9') = self.peek() {
            self.pos += 1;
        }
    }

    fn require_digit(&self, start: usize) -> Result<(), ParseError> {
        match self.peek() {
            Some(b'0'..=b'9') => Ok(()),
            _ => Err(self.number_error(start)),
        }
    }

    /// A number that stops where a digit is required: truncated at the end of
    /// input, `-Infinity`, or malformed.
    fn number_error(&self, start: usize) -> ParseError {
        match self.peek() {
            None => errors::unexpected_end(self.src.len()),
            Some(b'I') if self.pos == start + 1 => {
                errors::unexpected(self.src, start, Expect::Value)
            }
            Some(_) => errors::invalid_number(self.src, start),
        }
    }

    fn literal(&mut self, word: &'static [u8]) -> Result<(), ParseError> {
        let start = self.pos;
        for (i, &w) in word.iter().enumerate() {
            match self.src.get(start + i) {
                Some(&b) if b == w => {}
                Some(_) => return Err(errors::unexpected(self.src, start, Expect::Value)),
                None => return Err(errors::unexpected_end(self.src.len())),
            }
        }
        self.pos = start + word.len();
        match self.peek() {
            // `trueish`, `nullable`: one wrong word, not a literal plus junk.
            Some(b) if b.is_ascii_alphanumeric() || b == b'_' => {
                Err(errors::unexpected(self.src, start, Expect::Value))
            }
            _ => Ok(()),
        }
    }

    // ---- duplicate keys -------------------------------------------------

    fn find_duplicates(&mut self, obj: u32, count: usize) {
        let mut members = Vec::new();
        let mut child = obj + 1;
        let mut small = [0u32; PAIRWISE_MAX];
        for i in 0..count {
            if count <= PAIRWISE_MAX {
                if let Some(slot) = small.get_mut(i) {
                    *slot = child;
                }
            } else {
                members.push(child);
            }
            child = self.node(child).next;
        }
        if count <= PAIRWISE_MAX {
            self.duplicates_pairwise(small.get(..count).unwrap_or_default());
        } else {
            self.duplicates_sorted(&members);
        }
    }

    fn node(&self, idx: u32) -> Node {
        self.tape
            .nodes
            .get(idx as usize)
            .copied()
            .unwrap_or(Node::MISSING)
    }

    /// Quadratic but tiny: most objects in state files have a dozen keys, and
    /// a cheap fingerprint of the decoded key rejects nearly every pair
    /// before any bytes are compared.
    fn duplicates_pairwise(&mut self, members: &[u32]) {
        let n = members.len().min(PAIRWISE_MAX);
        let mut prints = [0u64; PAIRWISE_MAX];
        for (print, &m) in prints.iter_mut().zip(members) {
            *print = fingerprint(&self.key_bytes(m));
        }
        let (members, prints) = (&members[..n], &prints[..n]);
        // One bit per fingerprint seen: a key whose bit is still clear has no earlier twin, and
        // that is nearly every key (a dozen keys per entry, 100,000 entries in a large file).
        let mut seen = 0u64;
        for j in 0..n {
            let (later, pj) = (members[j], prints[j]);
            let bit = 1u64 << (pj.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 58);
            let maybe_twin = seen & bit != 0;
            seen |= bit;
            if !maybe_twin {
                continue;
            }
            for i in 0..j {
                if prints[i] == pj && self.same_key(members[i], later) {
                    self.record_duplicate(members[i], later);
                    break;
                }
            }
        }
    }

    /// Sorting by decoded key groups equal keys; the earliest member of each
    /// group is the one every later occurrence duplicates.
    fn duplicates_sorted(&mut self, members: &[u32]) {
        let mut keyed: Vec<(Cow<'s, [u8]>, u32)> =
            members.iter().map(|&m| (self.key_bytes(m), m)).collect();
        keyed.sort_unstable();
        let mut first = None;
        let mut pairs = Vec::new();
        for (i, (key, m)) in keyed.iter().enumerate() {
            let same_as_prev = i > 0 && keyed.get(i - 1).is_some_and(|(k, _)| k == key);
            if same_as_prev {
                if let Some(f) = first {
                    pairs.push((f, *m));
                }
            } else {
                first = Some(*m);
            }
        }
        for (f, m) in pairs {
            self.record_duplicate(f, m);
        }
    }

    fn same_key(&self, a: u32, b: u32) -> bool {
        self.key_bytes(a) == self.key_bytes(b)
    }

    /// The decoded key as bytes; borrowed when the raw bytes already are it.
    fn key_bytes(&self, m: u32) -> Cow<'s, [u8]> {
        let n = self.node(m);
        let raw = text::string_body(self.src, n.key_start, n.key_end);
        if n.flags & F_KEY_DECODE == 0 {
            Cow::Borrowed(raw)
        } else {
            Cow::Owned(text::decode(raw).into_bytes())
        }
    }

    fn record_duplicate(&mut self, first: u32, second: u32) {
        let (f, s) = (self.node(first), self.node(second));
        self.tape.duplicates.push(Duplicate {
            first: f.key_start as usize..f.key_end as usize,
            second: s.key_start as usize..s.key_end as usize,
        });
    }
}

/// Flags (high bit of each byte) every byte that ends a fast string skip:
/// `"`, `\`, control characters and non-ASCII.
fn special_bytes(v: u64) -> u64 {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let has_zero = |x: u64| x.wrapping_sub(ONES) & !x & HIGH;
    let quote = has_zero(v ^ (ONES * b'"' as u64));
    let backslash = has_zero(v ^ (ONES * b'\\' as u64));
    let control = v.wrapping_sub(ONES * 0x20) & !v & HIGH;
    quote | backslash | control | (v & HIGH)
}

/// Length and outer bytes of a key: distinct for nearly all distinct keys.
fn fingerprint(key: &[u8]) -> u64 {
    let first = u64::from(key.first().copied().unwrap_or(0));
    let last = u64::from(key.last().copied().unwrap_or(0));
    ((key.len() as u64) << 16) | (first << 8) | last
}

fn is_plain(b: u8) -> bool {
    (0x20..0x80).contains(&b) && b != b'"' && b != b'\\'
}

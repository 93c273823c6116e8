//! The tape (flat pre-order nodes) and read-only views into it.

use std::borrow::Cow;
use std::ops::Range;

use super::text;
use super::{Kind, Span};

/// "No such node / no key": offsets never reach it (inputs are < u32::MAX bytes).
pub(super) const NONE: u32 = u32::MAX;
/// The string value needs decoding (escapes or invalid UTF-8).
pub(super) const F_DECODE: u8 = 1;
/// The member's key needs decoding.
pub(super) const F_KEY_DECODE: u8 = 2;

/// One value. Children follow their parent directly; `next` skips a whole
/// subtree, so siblings are a linked list with no extra storage.
#[derive(Debug, Clone, Copy)]
pub(super) struct Node {
    pub(super) start: u32,
    pub(super) end: u32,
    /// The key token (with quotes) when this is an object member, else `NONE`.
    pub(super) key_start: u32,
    pub(super) key_end: u32,
    pub(super) parent: u32,
    /// Index of the first node after this subtree.
    pub(super) next: u32,
    /// Members or elements (duplicates counted).
    pub(super) count: u32,
    pub(super) kind: Kind,
    pub(super) flags: u8,
}

const _: () = assert!(std::mem::size_of::<Node>() <= 32);

impl Node {
    /// Stands in for an index that is not on the tape, so views never panic.
    pub(super) const MISSING: Node = Node {
        start: 0,
        end: 0,
        key_start: NONE,
        key_end: NONE,
        parent: NONE,
        next: NONE,
        count: 0,
        kind: Kind::Null,
        flags: 0,
    };

    fn span(&self) -> Span {
        self.start as usize..self.end as usize
    }

    fn key_span(&self) -> Option<Span> {
        (self.key_start != NONE).then_some(self.key_start as usize..self.key_end as usize)
    }
}

/// A key that occurs again in the same object. JSON.parse keeps the last.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Duplicate {
    /// The first occurrence's key token, quotes included.
    pub first: Span,
    /// A later occurrence's key token. A key seen three times gives two
    /// entries, both with the same `first`.
    pub second: Span,
}

/// Parsed nodes in document order (pre-order), flat, no recursion.
///
/// A tape borrows the source it was parsed from (`'src`), because nodes hold
/// only spans. Reuse one tape for many parses of the same source (that is
/// what streaming does); [`Tape::recycle`] moves its allocations to a tape for
/// another source.
#[derive(Default)]
pub struct Tape<'src> {
    pub(super) src: &'src [u8],
    pub(super) nodes: Vec<Node>,
    pub(super) invalid_utf8: Vec<Span>,
    pub(super) duplicates: Vec<Duplicate>,
}

/// Counts only: the source may be hundreds of megabytes.
impl std::fmt::Debug for Tape<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tape")
            .field("source_len", &self.src.len())
            .field("nodes", &self.nodes.len())
            .field("invalid_utf8", &self.invalid_utf8.len())
            .field("duplicates", &self.duplicates.len())
            .finish()
    }
}

impl<'src> Tape<'src> {
    pub fn new() -> Self {
        Self::default()
    }

    /// An empty tape for another source that keeps this one's allocations.
    pub fn recycle<'b>(self) -> Tape<'b> {
        let mut tape = Tape {
            src: &[],
            nodes: self.nodes,
            invalid_utf8: self.invalid_utf8,
            duplicates: self.duplicates,
        };
        tape.reset(&[]);
        tape
    }

    pub(super) fn reset(&mut self, src: &'src [u8]) {
        self.src = src;
        self.nodes.clear();
        self.invalid_utf8.clear();
        self.duplicates.clear();
    }

    /// The source the tape was parsed from.
    pub fn source(&self) -> &'src [u8] {
        self.src
    }

    /// The root value. On a tape that holds nothing (never parsed) this is a
    /// null with an empty span rather than a panic.
    pub fn root(&self) -> Value<'_> {
        Value { tape: self, idx: 0 }
    }

    /// Byte spans of invalid UTF-8 sequences inside strings (each one becomes
    /// one U+FFFD when instar reads the file).
    pub fn invalid_utf8(&self) -> &[Span] {
        &self.invalid_utf8
    }

    /// Repeated keys, ordered by the later occurrence.
    pub fn duplicates(&self) -> &[Duplicate] {
        &self.duplicates
    }

    /// Resolves an RFC 6901 pointer (`~0` is `~`, `~1` is `/`); `""` is the
    /// root. Object steps take the last occurrence of a key, as JSON.parse
    /// does; array steps accept only canonical indices (`0`, `17`, not `01`).
    pub fn pointer(&self, ptr: &str) -> Option<Value<'_>> {
        if self.nodes.is_empty() {
            return None;
        }
        let mut value = self.root();
        if ptr.is_empty() {
            return Some(value);
        }
        for token in ptr.strip_prefix('/')?.split('/') {
            let token = unescape_token(token)?;
            value = match value.kind() {
                Kind::Object => value.get(&token)?,
                Kind::Array => value.elements().nth(array_index(&token)?)?,
                _ => return None,
            };
        }
        Some(value)
    }

    /// Node count.
    pub fn len(&self) -> usize {
        self.nodes.len()
    }

    pub fn is_empty(&self) -> bool {
        self.nodes.is_empty()
    }
}

fn unescape_token(token: &str) -> Option<Cow<'_, str>> {
    if !token.contains('~') {
        return Some(Cow::Borrowed(token));
    }
    let mut out = String::with_capacity(token.len());
    let mut chars = token.chars();
    while let Some(c) = chars.next() {
        match c {
            '~' => match chars.next() {
                Some('0') => out.push('~'),
                Some('1') => out.push('/'),
                _ => return None,
            },
            c => out.push(c),
        }
    }
    Some(Cow::Owned(out))
}

fn array_index(token: &str) -> Option<usize> {
    let canonical = token == "0"
        || (!token.starts_with('0')
            && !token.is_empty()
            && token.bytes().all(|b| b.is_ascii_digit()));
    canonical.then(|| token.parse().ok()).flatten()
}

fn escape_token(key: &str) -> Cow<'_, str> {
    if key.contains(['~', '/']) {
        Cow::Owned(key.replace('~', "~0").replace('/', "~1"))
    } else {
        Cow::Borrowed(key)
    }
}

/// A view of one node. Copy. Borrows the tape and the source bytes.
#[derive(Clone, Copy)]
pub struct Value<'a> {
    tape: &'a Tape<'a>,
    idx: u32,
}

impl std::fmt::Debug for Value<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Value")
            .field("kind", &self.kind())
            .field("span", &self.span())
            .field("raw", &String::from_utf8_lossy(self.raw()))
            .finish()
    }
}

impl<'a> Value<'a> {
    fn node(&self) -> &'a Node {
        self.tape
            .nodes
            .get(self.idx as usize)
            .unwrap_or(&Node::MISSING)
    }

    /// The tape this value lives on: inside a [`super::stream_root_array`]
    /// callback, the way to the element's duplicates and invalid UTF-8.
    pub fn tape(&self) -> &'a Tape<'a> {
        self.tape
    }

    fn at(&self, idx: u32) -> Value<'a> {
        Value { idx, ..*self }
    }

    pub fn kind(&self) -> Kind {
        self.node().kind
    }

    /// The value's bytes; a string's include its quotes.
    pub fn span(&self) -> Span {
        self.node().span()
    }

    /// When this value is an object member: its key token, quotes included.
    pub fn key_span(&self) -> Option<Span> {
        self.node().key_span()
    }

    /// When this value is an object member: its decoded key.
    pub fn key(&self) -> Option<Cow<'a, str>> {
        let node = self.node();
        (node.key_start != NONE).then(|| {
            let body = text::string_body(self.tape.src, node.key_start, node.key_end);
            decode_str(body, node.flags & F_KEY_DECODE != 0)
        })
    }

    /// RFC 6901 pointer from the tape's root, e.g. `/3/schedule`.
    pub fn pointer(&self) -> String {
        let mut tokens = Vec::new();
        let mut idx = self.idx;
        while let Some(node) = self.tape.nodes.get(idx as usize) {
            let Some(parent) = self.tape.nodes.get(node.parent as usize) else {
                break;
            };
            let token = match parent.kind {
                Kind::Object => escape_token(&self.at(idx).key().unwrap_or_default()).into_owned(),
                _ => self.at(node.parent).index_of(idx).to_string(),
            };
            tokens.push(token);
            idx = node.parent;
        }
        tokens.iter().rev().fold(String::new(), |mut out, t| {
            out.push('/');
            out.push_str(t);
            out
        })
    }

    /// Position of child `child` among this container's children.
    fn index_of(&self, child: u32) -> usize {
        self.children().take_while(|v| v.idx != child).count()
    }

    pub fn as_bool(&self) -> Option<bool> {
        (self.kind() == Kind::Bool).then(|| self.raw() == b"true")
    }

    /// Rust's f64 parse of the literal: the nearest double, `1e400` is infinity.
    pub fn as_f64(&self) -> Option<f64> {
        if self.kind() != Kind::Number {
            return None;
        }
        std::str::from_utf8(self.raw()).ok()?.parse().ok()
    }

    /// The source bytes of the value.
    pub fn raw(&self) -> &'a [u8] {
        self.tape.src.get(self.span()).unwrap_or_default()
    }

    /// The decoded string: escapes resolved, invalid UTF-8 and lone
    /// surrogates as U+FFFD. Borrowed when the source bytes already are it.
    pub fn as_str(&self) -> Option<Cow<'a, str>> {
        let node = self.node();
        (node.kind == Kind::String).then(|| {
            let body = text::string_body(self.tape.src, node.start, node.end);
            decode_str(body, node.flags & F_DECODE != 0)
        })
    }

    /// Whether this is a string that JavaScript's `trim()` leaves non-empty. Most strings start
    /// with a plain ASCII character and are answered without decoding (a long prompt with
    /// escapes would otherwise be copied just to look at its first letter).
    pub fn is_nonblank_string(&self) -> bool {
        let node = self.node();
        if node.kind != Kind::String {
            return false;
        }
        let body = text::string_body(self.tape.src, node.start, node.end);
        match body.first() {
            Some(&b) if b > b' ' && b < 0x80 && b != b'\\' => true,
            _ => !text::js_trim(&decode_str(body, node.flags & F_DECODE != 0)).is_empty(),
        }
    }

    pub fn is_null(&self) -> bool {
        self.kind() == Kind::Null
    }

    /// An object member by decoded key; the LAST occurrence wins, as in JSON.parse.
    pub fn get(&self, key: &str) -> Option<Value<'a>> {
        if self.kind() != Kind::Object {
            return None;
        }
        self.children().filter(|v| v.key_is(key)).last()
    }

    fn key_is(&self, key: &str) -> bool {
        let node = self.node();
        if node.flags & F_KEY_DECODE == 0
            && (node.key_end.wrapping_sub(node.key_start) as usize) != key.len() + 2
        {
            return false; // a plain key token is its text and two quotes
        }
        let body = text::string_body(self.tape.src, node.key_start, node.key_end);
        if node.flags & F_KEY_DECODE == 0 {
            body == key.as_bytes()
        } else {
            text::decode(body) == key
        }
    }

    /// Object members in order, duplicates included. Empty for non-objects.
    pub fn members(&self) -> Members<'a> {
        Members {
            children: self.children_if(Kind::Object),
        }
    }

    /// Object members in order, duplicates included, each with its decoded key as UTF-8 bytes:
    /// the source's own bytes when the key has no escape (the scan flags invalid UTF-8 too), so
    /// no key is validated again. Empty for non-objects.
    pub fn member_key_bytes(&self) -> impl Iterator<Item = (Cow<'a, [u8]>, Value<'a>)> {
        let src = self.tape.src;
        self.children_if(Kind::Object).map(move |value| {
            let node = value.node();
            let body = text::string_body(src, node.key_start, node.key_end);
            let key = if node.flags & F_KEY_DECODE == 0 {
                Cow::Borrowed(body)
            } else {
                Cow::Owned(text::decode(body).into_bytes())
            };
            (key, value)
        })
    }

    /// Array elements in order. Empty for non-arrays.
    pub fn elements(&self) -> impl Iterator<Item = Value<'a>> {
        self.children_if(Kind::Array)
    }

    /// Members or elements (duplicates counted); 0 for scalars.
    pub fn len(&self) -> usize {
        self.node().count as usize
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The source span of the decoded byte range `decoded` of this string
    /// (as produced by [`Value::as_str`]), e.g. to label one cron field in a
    /// string that contains escapes. An offset inside an escape or an invalid
    /// sequence widens to all of it. For a non-string returns `self.span()`.
    pub fn source_range(&self, decoded: Range<usize>) -> Span {
        let node = self.node();
        if node.kind != Kind::String {
            return self.span();
        }
        let body = text::string_body(self.tape.src, node.start, node.end);
        let base = node.start as usize + 1;
        let r = text::source_range(body, decoded);
        base + r.start..base + r.end
    }

    fn children(&self) -> Children<'a> {
        Children {
            value: self.at(self.idx.wrapping_add(1)),
            left: self.node().count,
        }
    }

    fn children_if(&self, kind: Kind) -> Children<'a> {
        let mut children = self.children();
        if self.kind() != kind {
            children.left = 0;
        }
        children
    }
}

fn decode_str(body: &[u8], needs_decode: bool) -> Cow<'_, str> {
    if !needs_decode {
        if let Ok(s) = std::str::from_utf8(body) {
            return Cow::Borrowed(s);
        }
    }
    Cow::Owned(text::decode(body))
}

/// Walks siblings through `next` links; bounded by the parent's count.
#[derive(Clone)]
struct Children<'a> {
    value: Value<'a>,
    left: u32,
}

impl<'a> Iterator for Children<'a> {
    type Item = Value<'a>;

    fn next(&mut self) -> Option<Value<'a>> {
        if self.left == 0 {
            return None;
        }
        self.left -= 1;
        let current = self.value;
        self.value = current.at(current.node().next);
        Some(current)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.left as usize, Some(self.left as usize))
    }
}

/// Iterator over `(decoded key, value)` of an object's members.
#[derive(Clone)]
pub struct Members<'a> {
    children: Children<'a>,
}

impl<'a> Iterator for Members<'a> {
    type Item = (Cow<'a, str>, Value<'a>);

    fn next(&mut self) -> Option<Self::Item> {
        let value = self.children.next()?;
        Some((value.key().unwrap_or_default(), value))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.children.size_hint()
    }
}

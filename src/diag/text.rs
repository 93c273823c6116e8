//! A finding's message, held so that the parts many findings repeat are one buffer.
//!
//! A jobs.json where every job is broken has 200,000 findings whose messages are the entry's
//! name followed by one of a few sentences, and whose pointers are the entry's index followed
//! by one of a few member paths (issue #11). As one `String` each, they were 400,000 heap
//! buffers (24 MB and the allocator's overhead). Here a text is one buffer, or a head shared
//! by the findings of one entry (`Heads`) and a tail shared by every equal one
//! (`diag::Shared`); the pointers are `Pointer`s.
//!
//! A text reads as the `String` it replaces: `Display`, `Serialize`, comparisons and
//! `as_cow` give exactly its characters; `for_each_piece` hands its pieces in order to writers
//! that escape character by character.

use std::borrow::Cow;
use std::fmt;

use super::{Head, Thin};

#[derive(Clone)]
pub enum Text {
    /// The whole text in one buffer of its exact size.
    Whole(Box<str>),
    /// `head` then `tail`, each shared with other findings. The head, one entry's name, is a
    /// range of a buffer of many entries' names (`Heads`); the tail, one of a few sentences
    /// that every equal finding shares, is thin. Twenty-four bytes in all.
    Joined { head: Head, tail: Thin<str> },
}

impl Text {
    /// `head` followed by `tail`.
    pub fn joined(head: Head, tail: Thin<str>) -> Self {
        Text::Joined { head, tail }
    }

    /// Calls `each` with the text's pieces in order; their concatenation is the text.
    pub fn for_each_piece<E>(&self, mut each: impl FnMut(&str) -> Result<(), E>) -> Result<(), E> {
        match self {
            Text::Whole(text) => each(text),
            Text::Joined { head, tail } => {
                each(head.as_str())?;
                each(tail)
            }
        }
    }

    /// The text as one string: borrowed when it is one buffer.
    pub fn as_cow(&self) -> Cow<'_, str> {
        match self {
            Text::Whole(text) => Cow::Borrowed(text),
            _ => Cow::Owned(self.to_string()),
        }
    }

    pub fn len(&self) -> usize {
        let mut len = 0;
        let _ = self.for_each_piece(|piece| {
            len += piece.len();
            Ok::<(), ()>(())
        });
        len
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn contains(&self, needle: &str) -> bool {
        self.as_cow().contains(needle)
    }

    pub fn starts_with(&self, prefix: &str) -> bool {
        self.as_cow().starts_with(prefix)
    }
}

impl Default for Text {
    fn default() -> Self {
        Text::Whole(Box::default())
    }
}

impl From<String> for Text {
    fn from(text: String) -> Self {
        Text::Whole(text.into_boxed_str())
    }
}

impl From<&str> for Text {
    fn from(text: &str) -> Self {
        Text::Whole(Box::from(text))
    }
}

impl From<&String> for Text {
    fn from(text: &String) -> Self {
        Text::from(text.as_str())
    }
}

impl From<Cow<'_, str>> for Text {
    fn from(text: Cow<'_, str>) -> Self {
        Text::from(text.into_owned())
    }
}

impl fmt::Display for Text {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.for_each_piece(|piece| f.write_str(piece))
    }
}

impl fmt::Debug for Text {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&*self.as_cow(), f)
    }
}

/// Compared by characters, however each side is held.
impl PartialEq for Text {
    fn eq(&self, other: &Self) -> bool {
        match (self, other) {
            (Text::Whole(a), Text::Whole(b)) => a == b,
            _ => self.as_cow() == other.as_cow(),
        }
    }
}

impl Eq for Text {}

impl PartialEq<str> for Text {
    fn eq(&self, other: &str) -> bool {
        self.as_cow() == other
    }
}

impl PartialEq<&str> for Text {
    fn eq(&self, other: &&str) -> bool {
        self.as_cow() == *other
    }
}

impl PartialEq<String> for Text {
    fn eq(&self, other: &String) -> bool {
        self.as_cow() == other.as_str()
    }
}

/// Written as one JSON string; a text in pieces is escaped piece by piece, with no copy.
impl serde::Serialize for Text {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Text::Whole(text) => serializer.serialize_str(text),
            _ => serializer.collect_str(self),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shared(text: &str) -> Head {
        Head::alone(text)
    }

    fn thin(text: &str) -> Thin<str> {
        Thin::from(text)
    }

    fn each_form() -> Vec<(Text, &'static str)> {
        vec![
            (Text::from("job #1: no schedule"), "job #1: no schedule"),
            (
                Text::joined(shared("job \"a\" (#1): "), thin("no schedule")),
                "job \"a\" (#1): no schedule",
            ),
            (Text::default(), ""),
        ]
    }

    /// Every way a text is read gives the characters of the string it replaces.
    #[test]
    fn a_text_reads_as_its_string() {
        assert!(
            std::mem::size_of::<Text>() <= 24,
            "two shared buffers at most, one of them thin"
        );
        for (text, string) in each_form() {
            assert_eq!(text.to_string(), string);
            assert_eq!(text.as_cow(), string);
            assert_eq!(format!("{text:?}"), format!("{string:?}"));
            assert_eq!(text.len(), string.len());
            assert_eq!(text.is_empty(), string.is_empty());
            assert_eq!(text, string);
            assert_eq!(text, Text::from(string));
            assert_eq!(
                serde_json::to_string(&text).unwrap(),
                serde_json::to_string(string).unwrap()
            );
            let mut pieces = String::new();
            text.for_each_piece(|p| {
                pieces.push_str(p);
                Ok::<(), ()>(())
            })
            .unwrap();
            assert_eq!(pieces, string);
        }
    }

    #[test]
    fn texts_in_pieces_escape_as_one_string() {
        let text = Text::joined(shared("job \"q\\\"\" (#1):\n"), thin("tab\there \u{1b}"));
        let whole = "job \"q\\\"\" (#1):\ntab\there \u{1b}";
        assert_eq!(
            serde_json::to_string_pretty(&text).unwrap(),
            serde_json::to_string_pretty(whole).unwrap()
        );
        assert!(
            text.contains("):\ntab"),
            "the search sees across the pieces"
        );
        assert!(text.starts_with("job \"q"));
        assert_ne!(text, Text::from("job"));
    }
}

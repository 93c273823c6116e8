//! A finding's JSON Pointer, held without a buffer of its own where it points into an element
//! of a large array: an entry's index and a member path shared by every equal one.
//!
//! A jobs.json where every job is broken has 200,000 findings whose pointers are `/{index}`
//! followed by one of a few member paths (`/priority`, `/slug`): one `String` each was 200,000
//! heap buffers (issue #11). A pointer reads as the string it replaces.

use std::fmt;

use super::Thin;

#[derive(Clone, PartialEq, Eq)]
pub struct Pointer {
    /// The member path inside the element (empty or starting with a slash), or the whole
    /// pointer when there is no `index`. Thin: eight bytes less on each of 200,000 findings
    /// than an `Arc<str>`, and the `None` of an `Option<Pointer>` fits in its null.
    tail: Thin<str>,
    /// Four bytes: an array of more than four billion elements is not read whole; such an
    /// index is written into `tail` instead.
    index: Option<u32>,
}

impl Pointer {
    /// `/{index}{member}`: `member` (empty or starting with a slash) in element `index`.
    pub fn element(index: usize, member: Thin<str>) -> Self {
        match u32::try_from(index) {
            Ok(index) => Pointer {
                tail: member,
                index: Some(index),
            },
            Err(_) => Pointer::from(format!("/{index}{member}")),
        }
    }

    /// Calls `each` with the pointer's pieces in order; their concatenation is the pointer.
    pub fn for_each_piece<E>(&self, mut each: impl FnMut(&str) -> Result<(), E>) -> Result<(), E> {
        if let Some(index) = self.index {
            each("/")?;
            each(crate::decimal::digits(index as usize, &mut [0; 20]))?;
        }
        each(&self.tail)
    }
}

impl From<String> for Pointer {
    fn from(pointer: String) -> Self {
        Pointer {
            tail: Thin::from(pointer),
            index: None,
        }
    }
}

impl From<&str> for Pointer {
    fn from(pointer: &str) -> Self {
        Pointer {
            tail: Thin::from(pointer),
            index: None,
        }
    }
}

impl fmt::Display for Pointer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.for_each_piece(|piece| f.write_str(piece))
    }
}

impl fmt::Debug for Pointer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.to_string(), f)
    }
}

impl PartialEq<&str> for Pointer {
    fn eq(&self, other: &&str) -> bool {
        let mut rest = *other;
        self.for_each_piece(|piece| match rest.strip_prefix(piece) {
            Some(after) => {
                rest = after;
                Ok(())
            }
            None => Err(()),
        })
        .is_ok()
            && rest.is_empty()
    }
}

/// Written as one JSON string, piece by piece, with no copy.
impl serde::Serialize for Pointer {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self.index {
            None => serializer.serialize_str(&self.tail),
            Some(_) => serializer.collect_str(self),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every way a pointer is read gives the characters of the string it replaces.
    #[test]
    fn a_pointer_reads_as_its_string() {
        assert!(std::mem::size_of::<Option<Pointer>>() <= 16);
        let member = |m: &str| Thin::<str>::from(m);
        for (pointer, string) in [
            (Pointer::element(0, member("/priority")), "/0/priority"),
            (Pointer::element(1234567, member("")), "/1234567"),
            (
                Pointer::element(u32::MAX as usize, member("/a~1b")),
                "/4294967295/a~1b",
            ),
            (
                Pointer::element(u32::MAX as usize + 1, member("/x")),
                "/4294967296/x",
            ),
            (Pointer::from("/entries/3/port"), "/entries/3/port"),
            (Pointer::from(""), ""),
        ] {
            assert_eq!(pointer.to_string(), string);
            assert_eq!(format!("{pointer:?}"), format!("{string:?}"));
            assert_eq!(pointer, string);
            assert_eq!(
                serde_json::to_string(&pointer).unwrap(),
                serde_json::to_string(string).unwrap()
            );
        }
        assert_ne!(Pointer::element(1, member("")), "/10");
    }
}

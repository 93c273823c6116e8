//! The heads of findings' messages, written one after another into a few shared buffers.
//!
//! A jobs.json where every job is broken names each entry at the head of its findings'
//! messages (`job "slug" (#n): `; `diag::Text`). As one `Arc<str>` per entry, 100,000 entries
//! were 100,000 heap blocks of 64 bytes for about 28 bytes of text: the allocator's header,
//! its rounding and the counts were most of it (issue #11). Here the heads are written into
//! one buffer after another, and a finding holds its buffer and where its head lies in it.
//!
//! A buffer is filled before it is shared, so a head is handed out before its buffer is
//! complete: its buffer is sealed when the next one starts, when `Heads::seal` is called and
//! at the latest when the `Heads` is dropped, which is before any finding leaves the check
//! that made it.

use std::sync::{Arc, OnceLock};

/// How many bytes of heads one buffer holds (a head longer than this gets a buffer of its
/// own): about 2,300 entry names, so 100,000 of them are 44 blocks.
const BUFFER: usize = 64 * 1024;

/// A buffer of heads: set once, when it is full.
type Buffer = Arc<OnceLock<Box<str>>>;

/// One head: a range of a shared buffer. Sixteen bytes, one pointer and two offsets.
#[derive(Clone)]
pub struct Head {
    buffer: Buffer,
    at: u32,
    /// `WHOLE` for a buffer of its own too long to measure in four bytes.
    len: u32,
}

const WHOLE: u32 = u32::MAX;

impl Head {
    /// A head of its own, in a buffer of its exact size.
    pub fn alone(text: &str) -> Self {
        let len = u32::try_from(text.len()).unwrap_or(WHOLE);
        Head {
            buffer: Arc::new(OnceLock::from(Box::from(text))),
            at: 0,
            len,
        }
    }

    /// The head's characters. Empty only for a head whose buffer was never sealed, which
    /// `Heads` rules out before any finding leaves its check.
    pub fn as_str(&self) -> &str {
        let Some(buffer) = self.buffer.get() else {
            debug_assert!(
                false,
                "a finding's head was read before its buffer was sealed"
            );
            return "";
        };
        if self.len == WHOLE {
            return buffer;
        }
        let at = self.at as usize;
        buffer.get(at..at + self.len as usize).unwrap_or_default()
    }
}

/// Writes heads one after another into shared buffers (see the module's note).
#[derive(Default)]
pub struct Heads {
    /// The buffer being filled, shared already by the heads written into it.
    open: Option<Buffer>,
    text: String,
}

impl std::fmt::Debug for Heads {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Heads")
            .field("open", &self.text.len())
            .finish()
    }
}

impl Heads {
    /// Writes `text` into the open buffer (a new one when it would not fit) and hands out
    /// where it lies.
    pub fn add(&mut self, text: &str) -> Head {
        if self.text.len() + text.len() > BUFFER {
            self.seal();
        }
        let (Ok(at), Ok(len)) = (u32::try_from(self.text.len()), u32::try_from(text.len())) else {
            return Head::alone(text);
        };
        if len == WHOLE {
            return Head::alone(text);
        }
        if self.text.capacity() == 0 {
            self.text.reserve_exact(BUFFER.max(text.len()));
        }
        self.text.push_str(text);
        let buffer = self.open.get_or_insert_with(Buffer::default);
        Head {
            buffer: Arc::clone(buffer),
            at,
            len,
        }
    }

    /// Completes the open buffer: every head handed out so far reads as its text.
    pub fn seal(&mut self) {
        if let Some(buffer) = self.open.take() {
            let text = std::mem::take(&mut self.text).into_boxed_str();
            let _ = buffer.set(text);
        }
    }
}

impl Drop for Heads {
    fn drop(&mut self) {
        self.seal();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn heads_read_as_written_across_buffers_once_sealed() {
        assert_eq!(std::mem::size_of::<Head>(), 16);
        let mut heads = Heads::default();
        let names: Vec<String> = (0..10_000)
            .map(|n| format!("job \"job-{n:06}\" (#{}): ", n + 1))
            .collect();
        let mut handed: Vec<Head> = names.iter().map(|n| heads.add(n)).collect();
        // One longer than a buffer, between others.
        let long = "x".repeat(BUFFER + 1);
        handed.push(heads.add(&long));
        handed.push(heads.add("after: "));
        handed.push(heads.add(""));
        heads.seal();
        let after_seal = heads.add("job #3: ");
        drop(heads);
        for (head, name) in handed.iter().zip(&names) {
            assert_eq!(head.as_str(), name);
        }
        let n = names.len();
        assert_eq!(handed[n].as_str(), long);
        assert_eq!(handed[n + 1].as_str(), "after: ");
        assert_eq!(handed[n + 2].as_str(), "");
        assert_eq!(after_seal.as_str(), "job #3: ", "sealed when dropped");
        let buffers: std::collections::HashSet<*const OnceLock<Box<str>>> =
            handed.iter().map(|h| Arc::as_ptr(&h.buffer)).collect();
        assert!(buffers.len() < 10, "{} buffers", buffers.len());
        assert_eq!(Head::alone("job #1: ").as_str(), "job #1: ");
    }
}

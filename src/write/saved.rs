//! The data a run saves into its quarantine (`Change::QuarantineData`), held until the run
//! commits and writes each named file as a JSON array.
//!
//! The items are most often ranges of the one file the checks read (a broken jobs.json's
//! entries): each run of items from one buffer keeps that buffer once and its ranges packed
//! as variable-length numbers, a few bytes an item. A `SharedBytes` per item was 24 bytes, and
//! 100,000 quarantined entries made 3 MB of a fix run's peak (issue #11).

use std::sync::Arc;

use crate::fix::SharedBytes;
use crate::packed_spans::PackedSpans;

/// Every named file's items, in the order they were first saved.
#[derive(Default)]
pub(super) struct Saved {
    files: Vec<SavedFile>,
}

/// One quarantine file's items, in the order they were saved.
pub(super) struct SavedFile {
    pub(super) name: String,
    segments: Vec<Segment>,
}

/// Consecutive items that lie in one buffer: the buffer, and their ranges.
struct Segment {
    bytes: Arc<Vec<u8>>,
    ranges: PackedSpans,
}

impl Saved {
    /// Adds `item` to the file `name`, after the items saved there before.
    pub(super) fn push(&mut self, name: &str, item: &SharedBytes) {
        let at = match self.files.iter().position(|f| f.name == name) {
            Some(at) => at,
            None => {
                self.files.push(SavedFile {
                    name: name.to_string(),
                    segments: Vec::new(),
                });
                self.files.len() - 1
            }
        };
        let (bytes, range) = item.parts();
        let segments = &mut self.files[at].segments;
        match segments.last_mut() {
            Some(last) if Arc::ptr_eq(&last.bytes, bytes) => last.ranges.push(range),
            _ => {
                let mut ranges = PackedSpans::default();
                ranges.push(range);
                segments.push(Segment {
                    bytes: Arc::clone(bytes),
                    ranges,
                });
            }
        }
    }

    pub(super) fn is_empty(&self) -> bool {
        self.files.is_empty()
    }

    /// Copies out the items of each buffer they use less than half of, so that the buffer,
    /// most often the file as a pass's checks read it, can go before the next pass reads the
    /// file again: a run that quarantines a few of a big file's entries in each of several
    /// passes held every pass's copy of it to the end (issue #11). A buffer the items mostly
    /// fill (every entry quarantined) stays shared: a copy would only double it.
    pub(super) fn let_go_of_sparse_buffers(&mut self) {
        for segment in self.files.iter_mut().flat_map(|f| f.segments.iter_mut()) {
            let used: usize = segment.ranges.iter().map(|r| r.len()).sum();
            if !SharedBytes::leave_buffer(used, segment.bytes.len()) {
                continue;
            }
            let mut own = Vec::with_capacity(used);
            let mut ranges = PackedSpans::default();
            for range in segment.ranges.iter() {
                let start = own.len();
                own.extend_from_slice(&segment.bytes[range]);
                ranges.push(start..own.len());
            }
            *segment = Segment {
                bytes: Arc::new(own),
                ranges,
            };
        }
    }

    /// The files, handed over for writing.
    pub(super) fn take(&mut self) -> Vec<SavedFile> {
        std::mem::take(&mut self.files)
    }
}

impl SavedFile {
    /// Each item's bytes, in the order saved.
    pub(super) fn items(&self) -> impl Iterator<Item = &[u8]> + '_ {
        self.segments
            .iter()
            .flat_map(|segment| segment.ranges.iter().map(|range| &segment.bytes[range]))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fix::Span;

    fn items_of(saved: &mut Saved) -> Vec<(String, Vec<Vec<u8>>)> {
        saved
            .take()
            .iter()
            .map(|f| (f.name.clone(), f.items().map(<[u8]>::to_vec).collect()))
            .collect()
    }

    /// Whatever the order and the buffers of the items, each file gives them back as saved.
    #[test]
    fn items_come_back_in_the_order_saved() {
        let file = Arc::new((0..=255u8).cycle().take(100_000).collect::<Vec<u8>>());
        let other = Arc::new(b"[{\"a\":1}]".to_vec());
        let ranges: Vec<Span> = vec![
            10..20,
            24..24,
            30..99_000,
            5..9,
            0..1,
            99_999..100_000,
            100_000..100_000,
            50..60,
        ];
        let mut saved = Saved::default();
        let mut expected: Vec<Vec<u8>> = Vec::new();
        let mut elsewhere: Vec<Vec<u8>> = Vec::new();
        for (n, range) in ranges.iter().enumerate() {
            let item = SharedBytes::range_of(Arc::clone(&file), range.clone());
            saved.push("jobs.invalid.json", &item);
            expected.push(file[range.clone()].to_vec());
            if n % 3 == 0 {
                // Another buffer in between, and an owned copy: new segments.
                let owned = SharedBytes::from(format!("{{\"n\":{n}}}").into_bytes());
                saved.push("jobs.invalid.json", &owned);
                expected.push(owned.to_vec());
                let in_other = SharedBytes::range_of(Arc::clone(&other), 1..8);
                saved.push("other.json", &in_other);
                elsewhere.push(b"{\"a\":1}".to_vec());
            }
        }
        assert!(!saved.is_empty());
        assert_eq!(
            items_of(&mut saved),
            vec![
                ("jobs.invalid.json".to_string(), expected),
                ("other.json".to_string(), elsewhere),
            ]
        );
        assert!(saved.is_empty());
    }

    /// Items that use little of their buffer are copied out of it, and read as before; items
    /// that fill most of theirs keep sharing it.
    #[test]
    fn sparse_buffers_are_let_go() {
        let big = Arc::new((0..=255u8).cycle().take(10_000).collect::<Vec<u8>>());
        let full = Arc::new(b"[{\"a\":1},{\"b\":2}]".to_vec());
        let mut saved = Saved::default();
        for range in [10..20, 30..31, 9_000..9_100] {
            saved.push(
                "jobs.invalid.json",
                &SharedBytes::range_of(Arc::clone(&big), range),
            );
        }
        for range in [1..8, 9..16] {
            saved.push(
                "jobs.invalid.json",
                &SharedBytes::range_of(Arc::clone(&full), range),
            );
        }
        let before: Vec<Vec<u8>> = saved.files[0].items().map(<[u8]>::to_vec).collect();
        saved.let_go_of_sparse_buffers();
        assert_eq!(Arc::strong_count(&big), 1, "the sparse buffer is let go");
        assert_eq!(Arc::strong_count(&full), 2, "the full one is still shared");
        let after: Vec<Vec<u8>> = saved.files[0].items().map(<[u8]>::to_vec).collect();
        assert_eq!(after, before);
    }
}

//! The data a run saves into its quarantine (`Change::QuarantineData`), held until the run
//! commits and writes each named file as a JSON array.
//!
//! The items are most often ranges of the one file the checks read (a broken jobs.json's
//! entries): each run of items from one buffer keeps that buffer once and its ranges packed
//! as variable-length numbers, a few bytes an item. A `SharedBytes` per item was 24 bytes, and
//! 100,000 quarantined entries made 3 MB of a fix run's peak (issue #11).

use std::sync::Arc;

use crate::fix::{SharedBytes, Span};

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
    ranges: PackedRanges,
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
                let mut ranges = PackedRanges::default();
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

/// Ranges kept as the distance of each start from the previous end (zigzag, so a range before
/// the previous one costs a few bytes more, not a wrong answer) and each length, both LEB128:
/// neighbouring entries of one file take two to four bytes, not sixteen.
#[derive(Default)]
struct PackedRanges {
    packed: Vec<u8>,
    last_end: usize,
}

impl PackedRanges {
    fn push(&mut self, range: Span) {
        let gap = range.start as i128 - self.last_end as i128;
        // Zigzag: 0, -1, 1, -2, … as 0, 1, 2, 3, …
        let zigzag = if gap < 0 {
            (-gap * 2 - 1) as u128
        } else {
            (gap * 2) as u128
        };
        put_varint(&mut self.packed, zigzag);
        put_varint(&mut self.packed, range.len() as u128);
        self.last_end = range.end;
    }

    fn iter(&self) -> impl Iterator<Item = Span> + '_ {
        let mut at = 0;
        let mut last_end = 0usize;
        std::iter::from_fn(move || {
            if at >= self.packed.len() {
                return None;
            }
            let zigzag = get_varint(&self.packed, &mut at);
            let len = get_varint(&self.packed, &mut at);
            let gap = if zigzag % 2 == 1 {
                -((zigzag / 2) as i128) - 1
            } else {
                (zigzag / 2) as i128
            };
            let start = (last_end as i128 + gap) as usize;
            let end = start + len as usize;
            last_end = end;
            Some(start..end)
        })
    }
}

fn put_varint(out: &mut Vec<u8>, mut n: u128) {
    loop {
        let low = (n & 0x7f) as u8;
        n >>= 7;
        if n == 0 {
            out.push(low);
            return;
        }
        out.push(low | 0x80);
    }
}

/// The number at `at` (written by `put_varint`), moving `at` past it.
fn get_varint(packed: &[u8], at: &mut usize) -> u128 {
    let mut n = 0u128;
    let mut shift = 0;
    while let Some(&byte) = packed.get(*at) {
        *at += 1;
        n |= u128::from(byte & 0x7f) << shift;
        if byte & 0x80 == 0 {
            break;
        }
        shift += 7;
    }
    n
}

#[cfg(test)]
mod tests {
    use super::*;

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

    /// Ranges far apart, backwards and at the ends of `usize` survive the packing.
    #[test]
    fn ranges_survive_packing() {
        let spans: Vec<Span> = vec![
            0..0,
            usize::MAX - 5..usize::MAX,
            0..usize::MAX,
            7..8,
            3..3,
            1 << 40..(1 << 40) + 127,
            128..256,
        ];
        let mut packed = PackedRanges::default();
        spans.iter().cloned().for_each(|s| packed.push(s));
        assert_eq!(packed.iter().collect::<Vec<_>>(), spans);
    }

    /// Neighbouring entries of one file, the usual case, take a few bytes each.
    #[test]
    fn neighbouring_ranges_take_a_few_bytes() {
        let mut packed = PackedRanges::default();
        let mut at = 2;
        for _ in 0..100_000 {
            packed.push(at..at + 460);
            at += 464;
        }
        assert!(
            packed.packed.len() <= 3 * 100_000,
            "{}",
            packed.packed.len()
        );
    }
}

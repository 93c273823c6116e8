//! Byte ranges of one file packed a few bytes each, in the order given: the fix run's queue of
//! quarantined entries (`write::saved`) and the spans a pass has claimed (`fix::Claims`) hold
//! 100,000 of them for a broken jobs.json, where a `Range<usize>` is 16 bytes (issue #11).

/// A byte range, end exclusive (`fix::Span`, named here without depending on `fix`, which
/// depends on this leaf).
type Span = std::ops::Range<usize>;

/// Ranges kept as the distance of each start from the previous end (zigzag, so a range before
/// the previous one costs a few bytes more, not a wrong answer) and each length, both LEB128:
/// neighbouring entries of one file take two to four bytes, not sixteen.
#[derive(Default)]
pub(crate) struct PackedSpans {
    packed: Vec<u8>,
    last_end: usize,
}

impl PackedSpans {
    pub(crate) fn push(&mut self, range: Span) {
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

    pub(crate) fn iter(&self) -> impl Iterator<Item = Span> + '_ {
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
        let mut packed = PackedSpans::default();
        spans.iter().cloned().for_each(|s| packed.push(s));
        assert_eq!(packed.iter().collect::<Vec<_>>(), spans);
    }

    /// Neighbouring entries of one file, the usual case, take a few bytes each.
    #[test]
    fn neighbouring_ranges_take_a_few_bytes() {
        let mut packed = PackedSpans::default();
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

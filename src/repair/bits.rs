//! A set of findings by their place in a report, a bit each: what a pass chose, declined or
//! wrote is 12 KiB for 100,000 findings, not a list of eight-byte places (issue #11).

#[derive(Debug, Default, Clone)]
pub(super) struct Bits {
    words: Vec<u64>,
}

impl Bits {
    /// An empty set with room for the places `0..len`.
    pub(super) fn with_len(len: usize) -> Self {
        Bits {
            words: vec![0; len.div_ceil(64)],
        }
    }

    pub(super) fn insert(&mut self, at: usize) {
        let word = at / 64;
        if word >= self.words.len() {
            self.words.resize(word + 1, 0);
        }
        self.words[word] |= 1 << (at % 64);
    }

    pub(super) fn contains(&self, at: usize) -> bool {
        self.words
            .get(at / 64)
            .is_some_and(|word| word >> (at % 64) & 1 == 1)
    }

    /// How many places the set holds.
    pub(super) fn len(&self) -> usize {
        self.words
            .iter()
            .map(|word| word.count_ones() as usize)
            .sum()
    }

    /// The places in the set, ascending.
    pub(super) fn iter(&self) -> impl Iterator<Item = usize> + Clone + '_ {
        self.iter_within(0..=usize::MAX)
    }

    /// The places in the set within `places`, ascending, reading only the words that hold
    /// them: a pass asks for each edited file's stretch of the report, and a walk from the
    /// start for each of thousands of files would be quadratic.
    pub(super) fn iter_within(
        &self,
        places: std::ops::RangeInclusive<usize>,
    ) -> impl Iterator<Item = usize> + Clone + '_ {
        let (first, last) = (*places.start(), *places.end());
        let from = (first / 64).min(self.words.len());
        let to = (last / 64).saturating_add(1).clamp(from, self.words.len());
        self.words[from..to]
            .iter()
            .enumerate()
            .flat_map(move |(n, &word)| {
                let mut left = word;
                std::iter::from_fn(move || {
                    if left == 0 {
                        return None;
                    }
                    let bit = left.trailing_zeros() as usize;
                    left &= left - 1;
                    Some((from + n) * 64 + bit)
                })
            })
            .filter(move |at| (first..=last).contains(at))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn holds_what_was_inserted_in_order() {
        let places = [0, 1, 63, 64, 65, 127, 128, 1000, 4095];
        let mut bits = Bits::with_len(100);
        for &at in places.iter().rev() {
            bits.insert(at);
        }
        bits.insert(64);
        assert_eq!(bits.iter().collect::<Vec<_>>(), places);
        assert_eq!(bits.len(), places.len());
        for at in 0..5000 {
            assert_eq!(bits.contains(at), places.contains(&at), "{at}");
        }
        assert_eq!(Bits::default().iter().count(), 0);
        for (first, last) in [
            (0, 0),
            (1, 64),
            (63, 65),
            (66, 1000),
            (129, 4095),
            (5000, 9000),
        ] {
            let within: Vec<usize> = bits.iter_within(first..=last).collect();
            let expected: Vec<usize> = places
                .iter()
                .copied()
                .filter(|at| (first..=last).contains(at))
                .collect();
            assert_eq!(within, expected, "{first}..={last}");
        }
        assert!(!Bits::default().contains(0));
    }
}

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
        self.words.iter().enumerate().flat_map(|(n, &word)| {
            let mut left = word;
            std::iter::from_fn(move || {
                if left == 0 {
                    return None;
                }
                let bit = left.trailing_zeros() as usize;
                left &= left - 1;
                Some(n * 64 + bit)
            })
        })
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
        assert!(!Bits::default().contains(0));
    }
}

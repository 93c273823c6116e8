//! Which findings of a pass share a fix: several findings can share one (an entry's problems
//! and its quarantine), which a pass offers and applies once.
//!
//! Each candidate's fix is hashed once, into a table of findings' places (four bytes each,
//! compared by the fixes where the report holds them), never compared with every other fix.
//! A map keyed by the fix (its reference and its hash) was 24 bytes a fix, 3 MB of a
//! 100,000-fix pass (issue #11).

use std::hash::{BuildHasher, RandomState};

use hashbrown::HashTable;

use super::bits::Bits;
use crate::diag::Diagnostic;

/// For each candidate, by its place in the report, the place of the first candidate whose fix
/// equals its own (its own place, for the first).
pub(super) struct Firsts {
    first: Vec<u32>,
}

impl Firsts {
    pub(super) fn of(diagnostics: &[Diagnostic], candidates: &Bits) -> Self {
        // A report of 2^32 findings would be hundreds of gigabytes; were there one, its fixes
        // would each stand alone (`first` answers a place it does not hold with itself).
        let Ok(len) = u32::try_from(diagnostics.len()) else {
            return Firsts { first: Vec::new() };
        };
        let fix_at = |at: u32| diagnostics.get(at as usize).and_then(|d| d.fix.as_ref());
        let state = RandomState::new();
        let mut table: HashTable<u32> = HashTable::with_capacity(candidates.len());
        let mut first: Vec<u32> = (0..len).collect();
        for at in candidates.iter() {
            let place = at as u32;
            let Some(fix) = fix_at(place) else { continue };
            let entry = table.entry(
                state.hash_one(fix),
                |&other| fix_at(other) == Some(fix),
                // Only findings with a fix are in the table.
                |&other| fix_at(other).map_or(0, |f| state.hash_one(f)),
            );
            first[at] = *entry.or_insert(place).get();
        }
        Firsts { first }
    }

    /// The place of the first candidate whose fix equals that of the candidate at `at`.
    pub(super) fn first(&self, at: usize) -> usize {
        self.first.get(at).map_or(at, |&first| first as usize)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diag::{Code, Effect, Severity};
    use crate::fix::{Change, Fix};

    static CODE: Code = Code {
        id: "test/same",
        severity: Severity::Error,
        fix: None,
        summary: "same",
        explain: "",
    };

    fn with_fix(title: &str, span: std::ops::Range<usize>) -> Diagnostic {
        Diagnostic::new(&CODE, Effect::Silent, "m".to_string()).fix(Some(Fix::safe(
            title,
            vec![Change::Edit {
                file: std::path::Path::new("f").into(),
                span,
                replacement: "x".into(),
            }],
        )))
    }

    #[test]
    fn equal_fixes_point_at_their_first_candidate() {
        let diagnostics = vec![
            with_fix("a", 0..1),
            with_fix("b", 0..1),
            Diagnostic::new(&CODE, Effect::Silent, "no fix".to_string()),
            with_fix("a", 0..1),
            with_fix("a", 2..3),
            with_fix("b", 0..1),
            with_fix("a", 0..1),
        ];
        let mut candidates = Bits::default();
        // The first and the fifth are no candidates (settled before): their equals do not
        // point at them.
        for at in [1, 2, 3, 5, 6] {
            candidates.insert(at);
        }
        let firsts = Firsts::of(&diagnostics, &candidates);
        let found: Vec<usize> = (0..diagnostics.len()).map(|at| firsts.first(at)).collect();
        assert_eq!(found, [0, 1, 2, 3, 4, 1, 3]);
        assert_eq!(firsts.first(99), 99);
    }
}

//! Which earlier finding of a pass has a fix equal to this one's: several findings can share a
//! fix (an entry's problems and its quarantine), which a pass offers and applies once.
//!
//! A table of findings by their place in the report, four bytes each, hashed and compared by
//! their fixes where the report holds them: a map keyed by the fix (its reference and its
//! hash) and the place was 24 bytes a fix, 3 MB of a 100,000-fix pass (issue #11). Each fix is
//! hashed once when it is looked up, never compared with every other.

use std::hash::{BuildHasher, RandomState};

use hashbrown::HashTable;

use crate::diag::Diagnostic;
use crate::fix::Fix;

pub(super) struct SameFixes<'r> {
    diagnostics: &'r [Diagnostic],
    state: RandomState,
    /// Each distinct fix once, as the place of the finding that stands for it.
    table: HashTable<u32>,
}

impl<'r> SameFixes<'r> {
    /// A table with room for `fixes` distinct fixes: growing it would hash every fix in it
    /// again.
    pub(super) fn with_capacity(diagnostics: &'r [Diagnostic], fixes: usize) -> Self {
        SameFixes {
            diagnostics,
            state: RandomState::new(),
            table: HashTable::with_capacity(fixes),
        }
    }

    fn fix_at(diagnostics: &[Diagnostic], at: u32) -> Option<&Fix> {
        diagnostics.get(at as usize).and_then(|d| d.fix.as_ref())
    }

    /// The finding that stands for the fix of the finding at `at`: the one recorded for an
    /// equal fix, or `at` itself, recorded now, when no equal fix came before.
    pub(super) fn first(&mut self, at: usize) -> usize {
        // A report of 2^32 findings would be hundreds of gigabytes: each place fits in 32 bits.
        let Ok(place) = u32::try_from(at) else {
            return at;
        };
        let Some(fix) = Self::fix_at(self.diagnostics, place) else {
            return at;
        };
        let (diagnostics, state) = (self.diagnostics, &self.state);
        let hash = state.hash_one(fix);
        let entry = self.table.entry(
            hash,
            |&other| Self::fix_at(diagnostics, other) == Some(fix),
            // Only findings with a fix are recorded.
            |&other| Self::fix_at(diagnostics, other).map_or(0, |f| state.hash_one(f)),
        );
        *entry.or_insert(place).get() as usize
    }

    /// From now on the finding at `at` stands for its fix (a pass decided it, and the findings
    /// that share the fix follow that decision).
    pub(super) fn stand_for(&mut self, at: usize) {
        let Ok(place) = u32::try_from(at) else {
            return;
        };
        let Some(fix) = Self::fix_at(self.diagnostics, place) else {
            return;
        };
        let diagnostics = self.diagnostics;
        let hash = self.state.hash_one(fix);
        if let Some(slot) = self
            .table
            .find_mut(hash, |&other| Self::fix_at(diagnostics, other) == Some(fix))
        {
            *slot = place;
        }
    }
}

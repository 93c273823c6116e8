//! The code catalogue as renderers see it: every code the check table can report, in table
//! order, with its documentation. The engine builds it from `checks/` once per process and hands
//! it out, so that rendering knows findings and their codes, never the areas behind them.

use std::collections::HashMap;
use std::sync::OnceLock;

use crate::diag::Code;

/// Every code, in report order, and where each sits in that order.
pub struct Catalogue {
    areas: Vec<&'static str>,
    abouts: Vec<&'static str>,
    codes: Vec<&'static Code>,
    index: HashMap<&'static str, usize>,
}

impl Catalogue {
    pub fn new(
        areas: impl IntoIterator<Item = (&'static str, &'static str)>,
        codes: impl IntoIterator<Item = &'static Code>,
    ) -> Self {
        let (areas, abouts) = areas.into_iter().unzip();
        let codes: Vec<&'static Code> = codes.into_iter().collect();
        let mut index = HashMap::with_capacity(codes.len());
        for (at, code) in codes.iter().enumerate() {
            // The first declaration wins, as a search in table order would find it.
            index.entry(code.id).or_insert(at);
        }
        Catalogue {
            areas,
            abouts,
            codes,
            index,
        }
    }

    /// Every area (check id), in table order: the report's order.
    pub fn areas(&self) -> &[&'static str] {
        &self.areas
    }

    /// What an area covers, in a few words (empty for an id the table does not have).
    pub fn about(&self, area: &str) -> &'static str {
        self.areas
            .iter()
            .position(|&id| id == area)
            .map_or("", |at| self.abouts[at])
    }

    /// Every code, in table order.
    pub fn codes(&self) -> &[&'static Code] {
        &self.codes
    }

    /// Where a code sits in table order (SARIF's `ruleIndex`).
    pub fn index_of(&self, id: &str) -> Option<usize> {
        self.index.get(id).copied()
    }

    /// The code with this id (`jobs/invalid-cron`).
    pub fn find(&self, id: &str) -> Option<&'static Code> {
        self.index_of(id).map(|at| self.codes[at])
    }
}

/// The catalogue of this build's check table.
pub fn catalogue() -> &'static Catalogue {
    static CATALOGUE: OnceLock<Catalogue> = OnceLock::new();
    CATALOGUE.get_or_init(|| {
        Catalogue::new(
            crate::checks::TABLE
                .iter()
                .map(|check| (check.id(), check.about())),
            crate::checks::all_codes(),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The overview names every area in a few words; each check declares its own.
    #[test]
    fn every_area_says_what_it_covers() {
        for &area in catalogue().areas() {
            assert!(!catalogue().about(area).is_empty(), "{area} has no words");
        }
        assert_eq!(catalogue().about("jobs"), "jobs.json and its schedules");
        assert_eq!(catalogue().about("no-such-area"), "");
    }

    #[test]
    fn the_catalogue_is_the_table_in_order() {
        let table: Vec<&str> = crate::checks::all_codes().map(|c| c.id).collect();
        let listed: Vec<&str> = catalogue().codes().iter().map(|c| c.id).collect();
        assert_eq!(listed, table);
        for (at, id) in table.iter().enumerate() {
            assert_eq!(catalogue().index_of(id), table.iter().position(|t| t == id));
            assert!(catalogue().find(id).is_some(), "{id} at {at}");
        }
        assert_eq!(catalogue().index_of("jobs/no-such-code"), None);
        let areas: Vec<&str> = crate::checks::TABLE.iter().map(|c| c.id()).collect();
        assert_eq!(catalogue().areas(), areas.as_slice());
    }
}

//! The plugin table: one static list of checks, in report order.
//!
//! Each area is one module with a zero-sized struct implementing `Check`, its codes declared in
//! its own `codes` module. Adding an area means adding it here; `list`, `explain`, selection and
//! the codes snapshot all read this table.

use crate::diag::{Code, Sink};
use crate::engine::Context;

/// Declares a documented `Code` static: `code!(NAME, "area/kebab-name", Severity, fix, summary,
/// explain)`. Defined before the area modules so every `codes.rs` shares this one definition.
macro_rules! code {
    ($name:ident, $id:literal, $sev:ident, $fix:expr, $summary:literal, $explain:literal) => {
        pub static $name: $crate::diag::Code = $crate::diag::Code {
            id: $id,
            severity: $crate::diag::Severity::$sev,
            fix: $fix,
            summary: $summary,
            explain: $explain,
        };
    };
}

/// The two hygiene codes every JSON state file's area declares, `DUPLICATE_KEY` and
/// `INVALID_UTF8`, documented once: `json_hygiene_codes!("registry", "loadRegistry")`.
macro_rules! json_hygiene_codes {
    ($area:literal, $loader:literal) => {
        pub static DUPLICATE_KEY: $crate::diag::Code = $crate::diag::Code {
            id: concat!($area, "/duplicate-key"),
            severity: $crate::diag::Severity::Warning,
            fix: Some($crate::fix::Applicability::Unsafe),
            summary: concat!("an object in the ", $area, " file has the same key twice; the last one wins"),
            explain: concat!(
                "What it checks: repeated keys inside one JSON object of the file.\n",
                "Why it matters: JSON.parse silently keeps the last value; the earlier one is dead and ",
                "misleads whoever edits (or merges) the file.\n",
                "What instar does: ", $loader, " uses the last value, at every version.\n",
                "Fix (unsafe): remove the earlier, overridden member (what instar sees does not change)."
            ),
        };
        pub static INVALID_UTF8: $crate::diag::Code = $crate::diag::Code {
            id: concat!($area, "/invalid-utf8"),
            severity: $crate::diag::Severity::Warning,
            fix: None,
            summary: concat!("bytes that are not UTF-8 inside a value of the ", $area, " file"),
            explain: concat!(
                "What it checks: invalid UTF-8 inside JSON strings of the file.\n",
                "Why it matters: Node decodes them to U+FFFD, silently changing names and ids.\n",
                "What instar does: ", $loader, " loads the replaced text.\n",
                "Fix: none; re-save the file as UTF-8."
            ),
        };
    };
}

pub mod boot;
pub mod config;
pub mod doctor;
pub mod hooks;
pub mod identity;
pub mod jobs;
pub mod keys;
pub mod machine;
pub mod machine_state;
pub mod ports;
pub mod registry;
pub mod runtime;
pub mod shared;
pub mod state;

/// One area's diagnosis. Implementations read files only through `Context`, never print, never
/// write, and never spawn a process unless `cx.deep` is set.
pub trait Check: Sync {
    /// The check id, the prefix of its codes (`jobs` for `jobs/invalid-cron`).
    fn id(&self) -> &'static str;
    /// A few words on what the area covers, for the report's overview (`jobs.json and its
    /// schedules`).
    fn about(&self) -> &'static str;
    /// Every code this check can emit, in documentation order.
    fn codes(&self) -> &'static [&'static Code];
    /// Diagnose the agent in `cx`, pushing findings into `sink`.
    fn run(&self, cx: &Context, sink: &mut Sink);
}

/// The table, in report order. `doctor` comes first: it says which rules the others applied.
pub static TABLE: &[&dyn Check] = &[
    &doctor::DoctorCheck,
    &jobs::JobsCheck,
    &registry::RegistryCheck,
    &identity::IdentityCheck,
    &keys::KeysCheck,
    &config::ConfigCheck,
    &boot::BootCheck,
    &machine::MachineCheck,
    &hooks::HooksCheck,
    &runtime::RuntimeCheck,
    &state::StateCheck,
];

/// Every code of every check, in table order.
pub fn all_codes() -> impl Iterator<Item = &'static Code> {
    TABLE.iter().flat_map(|check| check.codes().iter().copied())
}

/// Finds a code by its id (`jobs/invalid-cron`).
pub fn find_code(id: &str) -> Option<&'static Code> {
    all_codes().find(|code| code.id == id)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn codes_are_unique_well_formed_and_owned_by_their_check() {
        let mut seen = HashSet::new();
        for check in TABLE {
            for code in check.codes() {
                assert!(seen.insert(code.id), "duplicate code {}", code.id);
                assert_eq!(
                    code.check(),
                    check.id(),
                    "{} is in the wrong table",
                    code.id
                );
                let (_, name) = code.id.split_once('/').expect("area/name");
                assert!(
                    !name.is_empty()
                        && name.split('-').all(|part| !part.is_empty()
                            && part
                                .bytes()
                                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())),
                    "{} is not kebab-case",
                    code.id
                );
                assert!(!code.summary.is_empty() && !code.explain.is_empty());
            }
        }
    }

    /// An explanation that names an instar version names a switch point of the one rules table
    /// (or the oldest or newest version known), so `explain` cannot drift from the rules applied.
    #[test]
    fn versions_in_explanations_are_rule_boundaries() {
        use crate::version::{Version, NEWEST_KNOWN, OLDEST_KNOWN, RULES};
        let known = |v: Version| {
            v == OLDEST_KNOWN || v == NEWEST_KNOWN || RULES.iter().any(|r| r.first == v)
        };
        for code in all_codes() {
            let text = format!("{} {}", code.summary, code.explain);
            let words = text.split(|c: char| !(c.is_ascii_digit() || c == '.'));
            for word in words.map(|w| w.trim_matches('.')) {
                let Ok(version) = word.parse::<Version>() else {
                    continue;
                };
                // croner 8.1.2 and loopback addresses are not instar versions; history before
                // the oldest known version (v0.28.41 threw on a missing jobs.json) is no rule.
                if version.major > 1 || word.split('.').count() != 3 || version < OLDEST_KNOWN {
                    continue;
                }
                assert!(
                    known(version),
                    "{} names {version}, which is no rule boundary",
                    code.id
                );
            }
        }
    }

    /// A code is a public contract: renaming or dropping one must show up in review.
    #[test]
    fn code_catalogue_snapshot() {
        let listing: Vec<String> = all_codes()
            .map(|c| {
                let fix = c.fix.map(|f| f.as_str()).unwrap_or("none");
                format!("{:<36} {:<8} fix:{fix}", c.id, c.severity.as_str())
            })
            .collect();
        insta::assert_snapshot!(listing.join("\n"));
    }
}

//! The check run: the selected checks of the table, in table order, their findings collected
//! into a `Report`. Nothing here prints.
//!
//! Its parts, one job each: `context` (what a check may know, its only door to files and the
//! host), `disk` (what a check may ask the disk besides a file's contents), `json_doc` (a JSON
//! file parsed once per run), `discovery` (which agent to check), `shadow` (the version the
//! shadow install carries). This file keeps the run itself.

mod context;
mod discovery;
mod disk;
mod json_doc;
mod shadow;

use std::collections::HashMap;
use std::panic::{self, AssertUnwindSafe};
use std::time::Instant;

pub use crate::catalogue::catalogue;
use crate::checks;
use crate::diag::{Diagnostic, Severity, Sink};
pub use crate::host::HostOs;
pub use crate::paths::{display_path, normalize, STATE_DIR};
pub use context::Context;
pub use discovery::{discover, looks_like_agent, DiscoveryError};
pub use json_doc::JsonDoc;
pub use shadow::{shadow_install_version, shadow_version_of, ShadowVersion, SHADOW_PACKAGE};

/// Which checks and codes to run.
#[derive(Debug, Default, Clone)]
pub struct Selection {
    pub select: Vec<String>,
    pub ignore: Vec<String>,
}

impl Selection {
    fn matches(pattern: &str, check: &str, code: Option<&str>) -> bool {
        pattern == check || code == Some(pattern)
    }

    pub fn runs_check(&self, check: &str) -> bool {
        let selected = self.select.is_empty()
            || self
                .select
                .iter()
                .any(|p| p == check || p.split('/').next() == Some(check));
        selected && !self.ignore.iter().any(|p| p == check)
    }

    pub fn keeps(&self, check: &str, code: &str) -> bool {
        let selected = self.select.is_empty()
            || self
                .select
                .iter()
                .any(|p| Self::matches(p, check, Some(code)));
        selected
            && !self
                .ignore
                .iter()
                .any(|p| Self::matches(p, check, Some(code)))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CheckStatus {
    Ok,
    Warning,
    Error,
    Crashed,
}

impl CheckStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            CheckStatus::Ok => "ok",
            CheckStatus::Warning => "warning",
            CheckStatus::Error => "error",
            CheckStatus::Crashed => "crashed",
        }
    }
}

#[derive(Debug, Clone)]
pub struct CheckOutcome {
    pub id: &'static str,
    pub status: CheckStatus,
    pub duration_ms: f64,
}

/// The result of one run: per-check outcomes and every finding, in report order.
pub struct Report {
    pub checks: Vec<CheckOutcome>,
    pub diagnostics: Vec<Diagnostic>,
}

impl Report {
    pub fn crashed(&self) -> bool {
        self.checks.iter().any(|c| c.status == CheckStatus::Crashed)
    }

    pub fn count(&self, severity: Severity) -> usize {
        self.diagnostics
            .iter()
            .filter(|d| d.severity == severity)
            .count()
    }
}

/// Runs every selected check of the table, in table order. A check that panics is reported as
/// crashed; the others still run.
pub fn run(cx: &Context, selection: &Selection) -> Report {
    let mut outcomes = Vec::new();
    let mut diagnostics = Vec::new();
    for check in checks::TABLE {
        if !selection.runs_check(check.id()) {
            continue;
        }
        let started = Instant::now();
        let mut sink = Sink::default();
        let result = panic::catch_unwind(AssertUnwindSafe(|| {
            crate::failpoint::panic_in(check.id(), &cx.project_dir);
            check.run(cx, &mut sink)
        }));
        let duration_ms = started.elapsed().as_secs_f64() * 1000.0;
        let mut found: Vec<Diagnostic> = sink
            .into_vec()
            .into_iter()
            .filter(|d| selection.keeps(check.id(), d.code.id))
            .collect();
        sort_for_report(cx, &mut found);
        let status = match result {
            Err(_) => CheckStatus::Crashed,
            Ok(()) => status_of(&found),
        };
        outcomes.push(CheckOutcome {
            id: check.id(),
            status,
            duration_ms,
        });
        crate::diag::append_keeping_larger(&mut diagnostics, found);
    }
    scrub_findings(cx, &mut diagnostics);
    Report {
        checks: outcomes,
        diagnostics,
    }
}

/// Hides the secrets of every text of `findings` (`Sources::scrub_diagnostic`): what a
/// finding spells out or quotes from its file. Every way findings are collected into a report
/// (`run`, the machine area's own runs) calls this once, before anything renders or records
/// them: the renderers write the texts as they find them (design §3, issue #11).
pub fn scrub_findings(cx: &Context, findings: &mut [Diagnostic]) {
    let mut sources = crate::redact::Sources::default();
    for d in findings {
        sources.scrub_diagnostic(cx, d);
    }
}

fn status_of(found: &[Diagnostic]) -> CheckStatus {
    match found.iter().map(|d| d.severity).max() {
        Some(Severity::Error) => CheckStatus::Error,
        Some(Severity::Warning) => CheckStatus::Warning,
        _ => CheckStatus::Ok,
    }
}

/// Within a check: by file, findings without a span first, then by span start.
fn sort_for_report(cx: &Context, found: &mut [Diagnostic]) {
    // Each file's shown path built once, not twice per comparison (issue #11), and ranked
    // once: the key of each finding is two numbers, not a copy of its path (100,000 copies
    // for a broken jobs.json). The sort is stable, as before: findings of one place keep the
    // check's order.
    let mut shown: HashMap<&std::path::Path, String> = HashMap::new();
    for d in found.iter() {
        if let Some(p) = d.file.as_deref() {
            shown.entry(p).or_insert_with(|| cx.display_path(p));
        }
    }
    // Ranked by the shown path, as the findings were sorted by it (two paths shown alike
    // share a rank and keep the check's order).
    let mut names: Vec<&String> = shown.values().collect();
    names.sort();
    names.dedup();
    let rank_of = |p: &std::path::Path| shown.get(p).and_then(|s| names.binary_search(&s).ok());
    // The findings of a file share its path (`diag::Shared`): its rank is looked up once per
    // run of them, not once per finding.
    let mut last: Option<(*const std::path::Path, Option<usize>)> = None;
    let mut key = |d: &Diagnostic| {
        let file = d.file.as_deref().and_then(|p| match last {
            Some((q, rank)) if std::ptr::eq(q, p) => rank,
            _ => {
                let rank = rank_of(p);
                last = Some((p, rank));
                rank
            }
        });
        (file, d.span.as_ref().map(|s| s.start))
    };
    // A check that pushes its findings in report order (the jobs check, entry by entry)
    // costs no keys and no permutation: 10 MB for 200,000 findings (issue #11).
    let mut previous = None;
    let in_order = found.iter().all(|d| {
        let this = key(d);
        let ordered = previous.is_none_or(|p| p <= this);
        previous = Some(this);
        ordered
    });
    if in_order {
        return;
    }
    let keys: Vec<(Option<usize>, Option<usize>)> = found.iter().map(key).collect();
    let mut order: Vec<usize> = (0..found.len()).collect();
    order.sort_by_key(|&i| keys[i]);
    drop(keys);
    permute(found, &mut order);
}

/// Puts `items` in `order` (`order[k]` is the index of the item that goes to position `k`),
/// by swaps along each cycle: the findings move once, never copied (issue #11). `order` is
/// used up (left as `0, 1, 2…`).
pub(crate) fn permute<T>(items: &mut [T], order: &mut [usize]) {
    for start in 0..items.len() {
        let mut at = start;
        loop {
            let next = order[at];
            order[at] = at;
            if next == start || next == at {
                break;
            }
            items.swap(at, next);
            at = next;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn permute_moves_each_item_to_its_place() {
        for order in [
            vec![],
            vec![0],
            vec![2, 0, 1],
            vec![1, 0, 3, 2, 4],
            vec![4, 3, 2, 1, 0],
            vec![3, 0, 4, 1, 2, 5],
        ] {
            let mut items: Vec<usize> = (0..order.len()).map(|i| i * 10).collect();
            let expected: Vec<usize> = order.iter().map(|&i| i * 10).collect();
            permute(&mut items, &mut order.clone());
            assert_eq!(items, expected);
        }
    }

    #[test]
    fn selection_by_check_and_by_code() {
        let sel = Selection {
            select: vec!["jobs/invalid-cron".into()],
            ignore: vec![],
        };
        assert!(sel.runs_check("jobs"));
        assert!(!sel.runs_check("doctor"));
        assert!(sel.keeps("jobs", "jobs/invalid-cron"));
        assert!(!sel.keeps("jobs", "jobs/duplicate-slug"));

        let sel = Selection {
            select: vec![],
            ignore: vec!["jobs/ungrounded".into()],
        };
        assert!(sel.runs_check("jobs"));
        assert!(!sel.keeps("jobs", "jobs/ungrounded"));
        assert!(sel.keeps("jobs", "jobs/invalid-cron"));
    }
}

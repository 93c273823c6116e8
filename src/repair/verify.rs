//! The re-check after a pass: did every applied fix remove its finding, and did no touched file
//! get worse? A pass that fails it is rolled back whole.

use std::collections::{HashMap, HashSet};
use std::path::Path;

use crate::diag::{Diagnostic, Effect};
use crate::engine::Report;

/// How many findings of each (code, file) a report holds, and how many fatal ones each file
/// has: counted in one pass, so verifying a pass costs the findings once (issue #11).
#[derive(Default)]
struct Tally<'a> {
    by_code: HashMap<(&'a str, Option<&'a Path>), usize>,
    fatal: HashMap<&'a Path, usize>,
}

impl<'a> Tally<'a> {
    fn of(report: &'a Report) -> Self {
        let mut tally = Tally::default();
        for d in &report.diagnostics {
            *tally
                .by_code
                .entry((d.code.id, d.file.as_deref()))
                .or_default() += 1;
            if let (Effect::Fatal, Some(file)) = (d.effect, d.file.as_deref()) {
                *tally.fatal.entry(file).or_default() += 1;
            }
        }
        tally
    }

    fn count(&self, code: &str, file: Option<&Path>) -> usize {
        self.by_code.get(&(code, file)).copied().unwrap_or(0)
    }

    fn fatal_in(&self, file: &Path) -> usize {
        self.fatal.get(file).copied().unwrap_or(0)
    }
}

/// A pass is good when every applied fix removed its finding and no touched file gained a fatal
/// finding (a file that stopped parsing included). Findings a fixed problem had masked are new
/// but not fatal-by-the-fix, and are left for the next pass.
pub(super) fn verify<'a>(
    before: &Report,
    after: &Report,
    applied: impl Iterator<Item = &'a Diagnostic> + Clone,
) -> Result<(), String> {
    let (before, after) = (Tally::of(before), Tally::of(after));
    let mut expected: HashMap<(&str, Option<&Path>), usize> = HashMap::new();
    for d in applied.clone() {
        *expected.entry((d.code.id, d.file.as_deref())).or_default() += 1;
    }
    for ((code, file), fixed) in expected {
        let was = before.count(code, file);
        let now = after.count(code, file);
        if now + fixed > was {
            return Err(format!(
                "{code} is still reported for {} after its fix",
                file.map(|f| f.display().to_string()).unwrap_or_default()
            ));
        }
    }
    let touched: HashSet<&Path> = applied
        .filter_map(|d| d.fix.as_ref())
        .flat_map(|f| f.changes().iter().filter_map(|c| c.file()))
        .collect();
    for file in touched {
        if after.fatal_in(file) > before.fatal_in(file) {
            return Err(format!(
                "a fix made {} fail to load in instar",
                file.display()
            ));
        }
    }
    Ok(())
}

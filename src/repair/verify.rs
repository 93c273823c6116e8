//! The re-check after a pass: did every applied fix remove its finding, and did no touched file
//! get worse? A pass that fails it is rolled back whole.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

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

/// What a pass's re-check is judged against, taken from the pass's report before it goes:
/// per (code, file) of the applied fixes, how many findings there were and how many the fixes
/// should remove; per file they touched, how many fatal findings it had. Owned and small, so
/// the report and the files it was checked from are let go before the re-check reads the new
/// ones: a pass that fixed 10 of 100,000 findings held two reports and two copies of a 46.7 MB
/// file at once, 4.2x the file (issue #11).
pub(super) struct Expected {
    /// (code, file) → (findings before, findings the pass's fixes remove).
    by_code: HashMap<(&'static str, Option<PathBuf>), (usize, usize)>,
    /// Touched file → its fatal findings before.
    fatal: HashMap<PathBuf, usize>,
}

impl Expected {
    pub(super) fn of<'a>(
        before: &'a Report,
        applied: impl Iterator<Item = &'a Diagnostic>,
    ) -> Self {
        // Counted borrowed, a run of equal keys at a time (a pass's fixes are most often of one
        // code in one file), then owned: a copy per key, not per fix.
        let mut fixed: HashMap<(&'static str, Option<&Path>), usize> = HashMap::new();
        let mut touched: HashSet<&Path> = HashSet::new();
        let mut run: Option<((&'static str, Option<&Path>), usize)> = None;
        let mut last_touched: Option<&Path> = None;
        for d in applied {
            let key = (d.code.id, d.file.as_deref());
            match &mut run {
                Some((k, n)) if *k == key => *n += 1,
                _ => {
                    if let Some((k, n)) = run.replace((key, 1)) {
                        *fixed.entry(k).or_default() += n;
                    }
                }
            }
            let files = d
                .fix
                .iter()
                .flat_map(|f| f.changes().iter().filter_map(|c| c.file()));
            for file in files {
                if last_touched != Some(file) {
                    touched.insert(file);
                    last_touched = Some(file);
                }
            }
        }
        if let Some((k, n)) = run {
            *fixed.entry(k).or_default() += n;
        }
        let tally = Tally::of(before);
        Expected {
            by_code: fixed
                .into_iter()
                .map(|((code, file), n)| {
                    let was = tally.count(code, file);
                    ((code, file.map(Path::to_path_buf)), (was, n))
                })
                .collect(),
            fatal: touched
                .into_iter()
                .map(|file| (file.to_path_buf(), tally.fatal_in(file)))
                .collect(),
        }
    }

    /// A pass is good when every applied fix removed its finding and no touched file gained a
    /// fatal finding (a file that stopped parsing included). Findings a fixed problem had masked
    /// are new but not fatal-by-the-fix, and are left for the next pass.
    pub(super) fn verify(&self, after: &Report) -> Result<(), String> {
        let after = Tally::of(after);
        let mut by_code: Vec<_> = self.by_code.iter().collect();
        // The first failure named is the same whatever the map's order.
        by_code.sort_by(|a, b| a.0.cmp(b.0));
        for ((code, file), (was, fixed)) in by_code {
            let now = after.count(code, file.as_deref());
            if now + fixed > *was {
                return Err(format!(
                    "{code} is still reported for {} after its fix",
                    file.as_ref()
                        .map(|f| f.display().to_string())
                        .unwrap_or_default()
                ));
            }
        }
        for (file, was) in &self.fatal {
            if after.fatal_in(file) > *was {
                return Err(format!(
                    "a fix made {} fail to load in instar",
                    file.display()
                ));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diag::{Code, Severity};
    use crate::fix::{Change, Fix};
    use std::sync::Arc;

    static CODE: Code = Code {
        id: "test/code",
        severity: Severity::Error,
        fix: None,
        summary: "",
        explain: "",
    };
    static OTHER: Code = Code {
        id: "test/other",
        severity: Severity::Error,
        fix: None,
        summary: "",
        explain: "",
    };

    fn finding(code: &'static Code, file: &str, effect: Effect) -> Diagnostic {
        let path: Arc<Path> = Arc::from(Path::new(file));
        Diagnostic::new(code, effect, "x")
            .file(Path::new(file))
            .fix(Some(Fix::safe(
                "fix it",
                vec![Change::Edit {
                    file: path,
                    span: 0..1,
                    replacement: "y".into(),
                }],
            )))
    }

    fn report(findings: Vec<Diagnostic>) -> Report {
        Report {
            checks: Vec::new(),
            diagnostics: findings,
        }
    }

    /// Judged from what was taken of the pass's report, with the report gone: a finding left
    /// after its fix, and a touched file that gained a fatal finding, refute the pass; fewer
    /// findings, and new ones of other codes that are not fatal, do not.
    #[test]
    fn a_pass_is_judged_without_its_report() {
        let before = report(vec![
            finding(&CODE, "/a/x.json", Effect::Silent),
            finding(&CODE, "/a/x.json", Effect::Silent),
            finding(&CODE, "/a/y.json", Effect::Silent),
            finding(&OTHER, "/a/x.json", Effect::Fatal),
        ]);
        // Both findings of test/code in x.json fixed.
        let expected = Expected::of(&before, before.diagnostics[..2].iter());
        drop(before);
        let fixed = report(vec![finding(&OTHER, "/a/x.json", Effect::Fatal)]);
        assert_eq!(expected.verify(&fixed), Ok(()));
        let masked = report(vec![
            finding(&OTHER, "/a/x.json", Effect::Fatal),
            finding(&OTHER, "/a/y.json", Effect::Silent),
            finding(&CODE, "/a/y.json", Effect::Silent),
        ]);
        assert_eq!(expected.verify(&masked), Ok(()));
        let one_left = report(vec![finding(&CODE, "/a/x.json", Effect::Silent)]);
        assert_eq!(
            expected.verify(&one_left),
            Err("test/code is still reported for /a/x.json after its fix".to_string())
        );
        let broke = report(vec![
            finding(&OTHER, "/a/x.json", Effect::Fatal),
            finding(&OTHER, "/a/x.json", Effect::Fatal),
        ]);
        assert_eq!(
            expected.verify(&broke),
            Err("a fix made /a/x.json fail to load in instar".to_string())
        );
    }
}

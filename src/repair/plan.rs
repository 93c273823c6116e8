//! Pass planning: which findings' fixes a pass applies. The wanted fixes not yet declined or
//! failed, offered once each even when several findings share one, asked about in `-i`, and
//! claimed so that no two chosen fixes touch the same bytes.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

use crate::diag::{Diagnostic, FixStatus};
use crate::engine::{Context, Report};
use crate::fix::{Applicability, Change, Claims, Fix};
use crate::prompt::{Answer, Confirmer, Offer};

use super::env::RepairOptions;
use super::rollback::Stop;

/// Identifies a declined or failed fix across passes, so it is not offered again: spans move as
/// files change, but the code, file, title and the bytes the finding points at do not.
type FixKey = (String, Option<String>, String, Vec<u8>);

fn key_of(cx: &Context, d: &Diagnostic) -> FixKey {
    let pointed = match (&d.file, &d.span) {
        (Some(file), Some(span)) => cx
            .bytes_of(file)
            .and_then(|b| b.get(span.clone()).map(<[u8]>::to_vec))
            .unwrap_or_default(),
        _ => Vec::new(),
    };
    (
        d.code.id.to_string(),
        d.file.as_ref().map(|f| f.display().to_string()),
        d.fix
            .as_ref()
            .map(|f| f.title().to_string())
            .unwrap_or_default(),
        pointed,
    )
}

fn wanted(fix: &Fix, opts: &RepairOptions) -> bool {
    fix.applies(if opts.unsafe_fixes || opts.interactive {
        Applicability::Unsafe
    } else {
        Applicability::Safe
    })
}

/// The files the wanted fixes of `report` would change.
pub(super) fn planned_files(report: &Report, opts: &RepairOptions) -> Vec<PathBuf> {
    report
        .diagnostics
        .iter()
        .filter_map(|d| d.fix.as_ref())
        .filter(|fix| wanted(fix, opts))
        .flat_map(|fix| fix.changes())
        .flat_map(|change| match change {
            Change::Rename { from, to } => vec![from.clone(), to.clone()],
            other => other.file().cloned().into_iter().collect(),
        })
        .collect()
}

/// The answers that outlive one question: `a` (every fix of a code), `q` (quit) and `d`
/// (files skipped).
#[derive(Default)]
struct Asked {
    all_of: HashSet<&'static str>,
    quit: bool,
    skipped_files: HashSet<PathBuf>,
}

/// The files a finding's fix would touch, and the finding's own file: what `d` skips.
fn files_of(d: &Diagnostic, fix: &Fix) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = fix
        .changes()
        .iter()
        .filter_map(Change::file)
        .cloned()
        .collect();
    files.extend(d.file.as_deref().map(Path::to_path_buf));
    files
}

/// Each distinct fix of a pass and its place among the pass's offers (1-based), found by
/// hashing, never by comparing each fix with every other (issue #11).
struct Offers<'r> {
    number: HashMap<&'r Fix, usize>,
}

impl<'r> Offers<'r> {
    fn of(report: &'r Report, candidates: &[usize]) -> Self {
        let mut number: HashMap<&Fix, usize> = HashMap::new();
        for &i in candidates {
            if let Some(fix) = &report.diagnostics[i].fix {
                let next = number.len() + 1;
                number.entry(fix).or_insert(next);
            }
        }
        Offers { number }
    }

    fn total(&self) -> usize {
        self.number.len()
    }
}

/// What the passes of one run remember: the options, the fixes settled (declined or failed:
/// never offered again) and the answers that outlive a question.
pub(super) struct Planner<'o> {
    opts: &'o RepairOptions,
    settled: HashSet<FixKey>,
    asked: Asked,
}

impl<'o> Planner<'o> {
    pub(super) fn new(opts: &'o RepairOptions) -> Self {
        Planner {
            opts,
            settled: HashSet::new(),
            asked: Asked::default(),
        }
    }

    /// The findings (indexes into `report`, ascending) whose fixes this pass applies; the ones
    /// declined are pushed to `handled`. `Stop::Interrupted` for Ctrl-C at the prompt.
    pub(super) fn pass(
        &mut self,
        cx: &Context,
        report: &Report,
        confirm: &mut dyn Confirmer,
        handled: &mut Vec<Diagnostic>,
    ) -> Result<Vec<usize>, Stop> {
        let candidates = self.candidates(cx, report);
        let offers = Offers::of(report, &candidates);
        let mut claims = Claims::default();
        let mut chosen: Vec<usize> = Vec::new();
        // What this pass decided for each fix: chosen (true) or declined (false).
        let mut decided: HashMap<&Fix, bool> = HashMap::new();
        for &i in &candidates {
            let d = &report.diagnostics[i];
            let Some(fix) = &d.fix else { continue };
            // A finding sharing a fix already decided in this pass follows that decision.
            match decided.get(fix) {
                Some(true) => {
                    chosen.push(i);
                    continue;
                }
                Some(false) => {
                    self.decline(cx, d, handled);
                    continue;
                }
                None => {}
            }
            if self.opts.interactive && !self.ask(cx, d, fix, &offers, confirm)? {
                decided.insert(fix, false);
                self.decline(cx, d, handled);
                continue;
            }
            if claims.try_claim(fix) {
                decided.insert(fix, true);
                chosen.push(i);
            }
        }
        Ok(chosen)
    }

    /// The findings whose fix this pass can offer, in report order. Several findings can share
    /// one fix (an entry's problems and its quarantine): it is offered once.
    fn candidates(&self, cx: &Context, report: &Report) -> Vec<usize> {
        report
            .diagnostics
            .iter()
            .enumerate()
            .filter(|(_, d)| {
                d.fix.as_ref().is_some_and(|fix| wanted(fix, self.opts))
                    && (self.settled.is_empty() || !self.settled.contains(&key_of(cx, d)))
            })
            .map(|(i, _)| i)
            .collect()
    }

    /// Whether the person accepts the fix of `d` (`-i`), or an earlier `a`, `q` or `d` decides it
    /// without a question.
    fn ask(
        &mut self,
        cx: &Context,
        d: &Diagnostic,
        fix: &Fix,
        offers: &Offers<'_>,
        confirm: &mut dyn Confirmer,
    ) -> Result<bool, Stop> {
        // Its place among this pass's offers, counted even where no question is needed, so the
        // counter is the same whatever was answered before.
        let number = offers.number.get(fix).copied().unwrap_or(offers.total());
        let files = files_of(d, fix);
        let asked = &mut self.asked;
        let answer = if asked.quit || files.iter().any(|f| asked.skipped_files.contains(f)) {
            Answer::No
        } else if asked.all_of.contains(d.code.id) {
            Answer::Yes
        } else {
            confirm.confirm(&Offer {
                cx,
                diagnostic: d,
                index: number,
                total: offers.total(),
            })
        };
        Ok(match answer {
            Answer::Yes => true,
            Answer::All => {
                asked.all_of.insert(d.code.id);
                true
            }
            Answer::No => false,
            Answer::Quit => {
                asked.quit = true;
                false
            }
            Answer::SkipFile => {
                asked.skipped_files.extend(files);
                false
            }
            Answer::Interrupt => return Err(Stop::Interrupted),
        })
    }

    /// `d`'s fix was declined: never offered again, and reported as declined.
    fn decline(&mut self, cx: &Context, d: &Diagnostic, handled: &mut Vec<Diagnostic>) {
        self.settle(cx, d);
        let mut declined = d.clone();
        declined.fix_status = FixStatus::Declined;
        handled.push(declined);
    }

    /// `d`'s fix is not to be offered again (declined, or it failed).
    pub(super) fn settle(&mut self, cx: &Context, d: &Diagnostic) {
        self.settled.insert(key_of(cx, d));
    }
}

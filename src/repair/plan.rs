//! Pass planning: which findings' fixes a pass applies. The wanted fixes not yet declined or
//! failed, offered once each even when several findings share one, asked about in `-i`, and
//! claimed so that no two chosen fixes touch the same bytes.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

use crate::diag::{Diagnostic, FixStatus};
use crate::engine::{Context, Report};
use crate::fix::{Applicability, Change, Claims, Fix};
use crate::prompt::{Answer, Confirmer, Offer};

use super::bits::Bits;
use super::env::RepairOptions;
use super::rollback::Stop;
use super::same_fix::Firsts;

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

/// The files the wanted fixes of `report` would change, each once: 100,000 fixes of one file
/// are one path for the preflight to resolve, not 100,000 (issue #11).
pub(super) fn planned_files(report: &Report, opts: &RepairOptions) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = Vec::new();
    let mut seen: HashSet<&Path> = HashSet::new();
    let changes = report
        .diagnostics
        .iter()
        .filter_map(|d| d.fix.as_ref())
        .filter(|fix| wanted(fix, opts))
        .flat_map(|fix| fix.changes());
    for change in changes {
        let paths = match change {
            Change::Rename { from, to } => [Some(from.as_path()), Some(to.as_path())],
            other => [other.file(), None],
        };
        for path in paths.into_iter().flatten() {
            // The same file as the last one is the usual case: no hash for it.
            if files.last().is_some_and(|last| last == path) || !seen.insert(path) {
                continue;
            }
            files.push(path.to_path_buf());
        }
    }
    files
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
        .map(Path::to_path_buf)
        .collect();
    files.extend(d.file.as_deref().map(Path::to_path_buf));
    files
}

/// Each distinct fix of a pass numbered (1-based) in the order it is offered, for the prompt's
/// counter, by the finding that first carries it. Only `-i` counts them.
struct Offers {
    number: HashMap<usize, usize>,
    total: usize,
}

impl Offers {
    fn of(firsts: &Firsts, candidates: &Bits) -> Self {
        let mut offers = Offers {
            number: HashMap::new(),
            total: 0,
        };
        for at in candidates.iter().filter(|&at| firsts.first(at) == at) {
            offers.total += 1;
            offers.number.insert(at, offers.total);
        }
        offers
    }

    /// The number of the fix of the finding at `at`: its place among the pass's offers.
    fn number_of(&self, firsts: &Firsts, at: usize) -> usize {
        let first = firsts.first(at);
        self.number.get(&first).copied().unwrap_or(0)
    }
}

/// What a pass applies: the findings whose fixes it applies, by their place in the report, and
/// for a finding whose fix equals an earlier chosen one's, that earlier finding (its fix's
/// owner), which applies the fix for both. A finding is its own owner most often: only the
/// others are listed.
#[derive(Debug, Default)]
pub(super) struct Chosen {
    picked: Bits,
    count: usize,
    follows: HashMap<usize, usize>,
}

impl Chosen {
    fn new(len: usize) -> Self {
        Chosen {
            picked: Bits::with_len(len),
            ..Chosen::default()
        }
    }

    /// The findings at `places` chosen, each owning its fix.
    #[cfg(test)]
    pub(super) fn of(places: &[usize]) -> Self {
        let mut chosen = Chosen::default();
        places.iter().for_each(|&at| chosen.pick(at));
        chosen
    }

    fn pick(&mut self, at: usize) {
        self.picked.insert(at);
        self.count += 1;
    }

    fn follow(&mut self, at: usize, owner: usize) {
        self.pick(at);
        self.follows.insert(at, owner);
    }

    pub(super) fn is_empty(&self) -> bool {
        self.count == 0
    }

    pub(super) fn contains(&self, at: usize) -> bool {
        self.picked.contains(at)
    }

    /// The chosen findings' places, ascending.
    pub(super) fn findings(&self) -> impl Iterator<Item = usize> + Clone + '_ {
        self.picked.iter()
    }

    /// The chosen findings within `places`, in report order.
    pub(super) fn findings_within(
        &self,
        places: std::ops::RangeInclusive<usize>,
    ) -> impl Iterator<Item = usize> + Clone + '_ {
        self.picked.iter_within(places)
    }

    /// The finding that applies the fix of the chosen finding at `at`.
    pub(super) fn owner(&self, at: usize) -> usize {
        self.follows.get(&at).copied().unwrap_or(at)
    }

    /// Each chosen finding whose fix another one applies, with that one.
    pub(super) fn followers(&self) -> impl Iterator<Item = (usize, usize)> + '_ {
        self.follows.iter().map(|(&at, &owner)| (at, owner))
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

    /// The findings whose fixes this pass applies (`Chosen`); the ones declined are pushed to
    /// `handled`. `Stop::Interrupted` for Ctrl-C at the prompt.
    pub(super) fn pass(
        &mut self,
        cx: &Context,
        report: &Report,
        confirm: &mut dyn Confirmer,
        handled: &mut Vec<Diagnostic>,
    ) -> Result<Chosen, Stop> {
        let candidates = self.candidates(cx, report);
        let firsts = Firsts::of(&report.diagnostics, &candidates);
        // Only a prompt shows the counter.
        let offers = self
            .opts
            .interactive
            .then(|| Offers::of(&firsts, &candidates));
        let mut claims = Claims::default();
        let mut chosen = Chosen::new(report.diagnostics.len());
        // The findings whose fix this pass declined; the ones it chose are in `chosen`. A fix
        // shared by several findings is decided by its first finding, or by the later one
        // that decided it (`decided_by`, keyed by the first: rare, a first is most often
        // decided itself).
        let mut declined = Bits::default();
        let mut decided_by: HashMap<usize, usize> = HashMap::new();
        for at in candidates.iter() {
            let d = &report.diagnostics[at];
            let Some(fix) = &d.fix else { continue };
            let first = firsts.first(at);
            let decider = decided_by.get(&first).copied().unwrap_or(first);
            // A finding sharing a fix already decided in this pass follows that decision.
            if decider != at {
                if chosen.contains(decider) {
                    chosen.follow(at, decider);
                    continue;
                }
                if declined.contains(decider) {
                    self.decline(cx, d, handled);
                    continue;
                }
            }
            if let Some(offers) = &offers {
                let number = offers.number_of(&firsts, at);
                if !self.ask(cx, d, fix, (number, offers.total), confirm)? {
                    declined.insert(at);
                    if first != at {
                        decided_by.insert(first, at);
                    }
                    self.decline(cx, d, handled);
                    continue;
                }
            }
            if claims.try_claim(fix) {
                chosen.pick(at);
                if first != at {
                    decided_by.insert(first, at);
                }
            }
        }
        Ok(chosen)
    }

    /// The findings whose fix this pass can offer, as the pass starts (a fix declined during the
    /// pass still decides the findings that share it). Several findings can share one fix (an
    /// entry's problems and its quarantine): it is offered once.
    fn candidates(&self, cx: &Context, report: &Report) -> Bits {
        let mut candidates = Bits::with_len(report.diagnostics.len());
        for (at, d) in report.diagnostics.iter().enumerate() {
            if d.fix.as_ref().is_some_and(|fix| wanted(fix, self.opts))
                && (self.settled.is_empty() || !self.settled.contains(&key_of(cx, d)))
            {
                candidates.insert(at);
            }
        }
        candidates
    }

    /// Whether the person accepts the fix of `d` (`-i`), or an earlier `a`, `q` or `d` decides it
    /// without a question.
    fn ask(
        &mut self,
        cx: &Context,
        d: &Diagnostic,
        fix: &Fix,
        (number, total): (usize, usize),
        confirm: &mut dyn Confirmer,
    ) -> Result<bool, Stop> {
        // `number` is its place among this pass's offers, counted even where no question is
        // needed, so the counter is the same whatever was answered before.
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
                total,
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

//! Pass planning: which findings' fixes a pass applies. The wanted fixes not yet declined or
//! failed, offered once each even when several findings share one, asked about in `-i`, and
//! claimed so that no two chosen fixes touch the same bytes.

use std::collections::{HashMap, HashSet};
use std::hash::{BuildHasher, BuildHasherDefault, Hash, Hasher, RandomState};
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

/// A fix with its hash, computed once: a pass tells equal fixes apart by hashing each once,
/// never by comparing each fix with every other, nor by hashing it again at every lookup
/// (a fix hashes its title and each change; issue #11).
struct Hashed<'r> {
    hash: u64,
    fix: &'r Fix,
}

impl Hash for Hashed<'_> {
    fn hash<H: Hasher>(&self, state: &mut H) {
        state.write_u64(self.hash);
    }
}

impl PartialEq for Hashed<'_> {
    fn eq(&self, other: &Self) -> bool {
        self.hash == other.hash && self.fix == other.fix
    }
}

impl Eq for Hashed<'_> {}

/// Hands a `Hashed`'s hash, already computed, to the map as it is.
#[derive(Default)]
struct Prehashed(u64);

impl Hasher for Prehashed {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        // Only `write_u64` is ever called (`Hashed::hash`); anything else is still folded in.
        for &b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(b);
        }
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
}

/// For each candidate (by its place in `candidates`), the place of the first candidate whose
/// fix equals its own (itself, for the first): several findings can share one fix (an entry's
/// problems and its quarantine), which a pass offers and applies once.
fn firsts(report: &Report, candidates: &[usize]) -> Vec<usize> {
    let state = RandomState::new();
    let mut first: HashMap<Hashed<'_>, usize, BuildHasherDefault<Prehashed>> = HashMap::default();
    let mut out = Vec::with_capacity(candidates.len());
    for (at, &i) in candidates.iter().enumerate() {
        let Some(fix) = &report.diagnostics[i].fix else {
            out.push(at);
            continue;
        };
        let key = Hashed {
            hash: state.hash_one(fix),
            fix,
        };
        out.push(*first.entry(key).or_insert(at));
    }
    out
}

/// Each distinct fix of a pass's candidates numbered (1-based) in the order they are offered,
/// for the prompt's counter: `number[at]` for the candidate at `at`.
struct Offers {
    number: Vec<usize>,
    total: usize,
}

impl Offers {
    fn of(firsts: &[usize]) -> Self {
        let mut number = Vec::with_capacity(firsts.len());
        let mut total = 0;
        for (at, &first) in firsts.iter().enumerate() {
            if first == at {
                total += 1;
                number.push(total);
            } else {
                number.push(number[first]);
            }
        }
        Offers { number, total }
    }
}

/// What a pass applies: the findings whose fixes it applies (indexes into the report,
/// ascending), and for each, its fix's owner: the place in `findings` of the first finding
/// chosen for an equal fix, which applies it for all of them (itself, most often).
#[derive(Debug, Default)]
pub(super) struct Chosen {
    pub(super) findings: Vec<usize>,
    pub(super) owner: Vec<usize>,
}

impl Chosen {
    pub(super) fn is_empty(&self) -> bool {
        self.findings.is_empty()
    }
}

/// What a pass decided for a fix.
#[derive(Clone, Copy)]
enum Decision {
    /// Chosen: applied by the finding at this place in `Chosen`.
    Chosen(usize),
    Declined,
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
        let firsts = firsts(report, &candidates);
        // Only a prompt shows the counter.
        let offers = self.opts.interactive.then(|| Offers::of(&firsts));
        let mut claims = Claims::default();
        let mut chosen = Chosen {
            findings: Vec::with_capacity(candidates.len()),
            owner: Vec::with_capacity(candidates.len()),
        };
        // What this pass decided for each fix, by the place of its first candidate: chosen
        // (with its place in `chosen`) or declined.
        let mut decided: Vec<Option<Decision>> = vec![None; candidates.len()];
        for (at, &i) in candidates.iter().enumerate() {
            let d = &report.diagnostics[i];
            let Some(fix) = &d.fix else { continue };
            // A finding sharing a fix already decided in this pass follows that decision.
            match decided[firsts[at]] {
                Some(Decision::Chosen(owner)) => {
                    chosen.owner.push(owner);
                    chosen.findings.push(i);
                    continue;
                }
                Some(Decision::Declined) => {
                    self.decline(cx, d, handled);
                    continue;
                }
                None => {}
            }
            if let Some(offers) = &offers {
                if !self.ask(cx, d, fix, (offers.number[at], offers.total), confirm)? {
                    decided[firsts[at]] = Some(Decision::Declined);
                    self.decline(cx, d, handled);
                    continue;
                }
            }
            if claims.try_claim(fix) {
                decided[firsts[at]] = Some(Decision::Chosen(chosen.findings.len()));
                chosen.owner.push(chosen.findings.len());
                chosen.findings.push(i);
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

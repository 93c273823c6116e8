//! Fix runs: apply the selected fixes through a `Transaction`, re-check, and repeat until nothing
//! applicable is left (design.md §4). Rolled back whole when a fix does not do what it promised.
//!
//! The model is ruff's `lint_fix`: apply non-overlapping fixes, re-run every check on the result,
//! and loop to a fixpoint with a cap, because one fix can expose the next (or make another moot).

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};

use crate::diag::{Diagnostic, Effect, FixStatus, Span};
use std::sync::atomic::{AtomicBool, Ordering};

use crate::engine::{Context, Report};
use crate::fix::{apply_edits, Applicability, Change, Claims, Fix};
use crate::prompt::{Answer, Confirmer, Offer};
use crate::write::{Transaction, WriteError};

/// A fixpoint that is not reached in this many passes is a doctor bug.
pub const MAX_PASSES: usize = 10;

pub struct RepairOptions {
    pub unsafe_fixes: bool,
    /// Ask before each fix; safe and unsafe fixes are both offered.
    pub interactive: bool,
}

pub struct RepairOutcome {
    /// The context of the final re-check (its files are the ones on disk now).
    pub cx: Context,
    /// The final re-check.
    pub report: Report,
    /// Findings whose fix was applied, declined or failed, with `fix_status` set.
    pub handled: Vec<Diagnostic>,
    /// The recorded run, when anything changed.
    pub run_id: Option<String>,
}

impl RepairOutcome {
    pub fn fixed(&self) -> usize {
        self.handled
            .iter()
            .filter(|d| d.fix_status == FixStatus::Applied)
            .count()
    }
}

/// Set by the SIGINT handler. A fix run checks it at the prompt, between passes, after each
/// pass's writes and right before its commit, and rolls back what it wrote before exiting 130.
pub static INTERRUPTED: AtomicBool = AtomicBool::new(false);

/// Every error of a run that had begun says what was left on disk, and how to finish (the
/// rollback's own description).
#[derive(Debug, thiserror::Error)]
pub enum RepairError {
    #[error("interrupted; {0}")]
    Interrupted(String),
    /// Before the run began: nothing was written.
    #[error("{0}; nothing was changed")]
    Write(#[from] WriteError),
    /// A write failed mid-run (a full disk…): the run was rolled back.
    #[error("{0}")]
    Aborted(String),
    #[error("rolled back: {0}")]
    RolledBack(String),
    #[error("the fixes did not converge after {MAX_PASSES} passes (a doctor bug); {0}")]
    NotConverged(String),
}

impl RepairError {
    /// 130 for an interrupt; 2 (no answer) for everything else, rollbacks included.
    pub fn exit_code(&self) -> u8 {
        match self {
            RepairError::Interrupted(_) => crate::exit::INTERRUPTED,
            _ => crate::exit::FAILURE,
        }
    }
}

/// What a fix run works with: fresh contexts, the checks, and the interrupt flag. The checks are
/// a function so that tests can drive the loop with findings of their own.
pub struct RepairEnv<'a> {
    /// Builds a fresh context (files re-read) for each pass.
    pub new_context: &'a dyn Fn() -> Context,
    /// Runs the selected checks on a context.
    pub check: &'a dyn Fn(&Context) -> Report,
    /// Set by Ctrl-C.
    pub interrupt: &'a AtomicBool,
    /// Locks other programs' writers out while a pass writes and while a run is rolled back
    /// (the `machine` run takes instar's own registry lock); `None` for an agent's files,
    /// which the run lock and the running-instar refusal already guard.
    pub lock_pass: Option<LockPass<'a>>,
}

/// A lock of another program's protocol, held from a pass's first write to its last.
pub trait PassLock {
    /// Whether it was held throughout: nobody removed or replaced it meanwhile.
    fn intact(&self) -> bool;
}

/// Takes a `PassLock` for the findings whose fixes a pass applies (`None`: every file a
/// rollback may restore), or says why it cannot be taken now. Holding it, the taker may judge
/// the findings again and refuse when they no longer stand as they were diagnosed.
pub type LockPass<'a> = &'a dyn Fn(Option<&[&Diagnostic]>) -> Result<Box<dyn PassLock>, String>;

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

/// Rolls the run back and says what that left: the tail of every error of a begun run. Under
/// the pass lock when there is one: a rollback writes the same files. When it cannot be taken,
/// the run is left in progress for the next doctor, which rolls it back under the lock.
fn roll_back(env: &RepairEnv<'_>, tx: Transaction) -> String {
    let id = tx.run_id().to_string();
    // A run that backed nothing up has nothing to put back: no lock to wait for.
    let lock_pass = env.lock_pass.filter(|_| !tx.is_empty());
    let _held = match lock_pass.map(|take| take(None)).transpose() {
        Ok(held) => held,
        Err(why) => {
            return format!(
                "run {id} could not be rolled back yet ({why}); the next `instar-doctor machine --fix` or `instar-doctor undo --machine` rolls it back"
            )
        }
    };
    match tx.rollback() {
        Ok(done) => done.describe(&id),
        Err(err) => format!(
            "the rollback of run {id} stopped ({err}): the next `instar-doctor --fix` or `instar-doctor undo` finishes it"
        ),
    }
}

/// A write of the run failed: roll back, and say why and what was left, in one line.
fn aborted(env: &RepairEnv<'_>, tx: Transaction, err: WriteError) -> RepairError {
    let why = if err.is_no_space() {
        format!("no space left on the disk ({err})")
    } else {
        err.to_string()
    };
    RepairError::Aborted(format!("{why}; {}", roll_back(env, tx)))
}

/// The files the wanted fixes of `report` would change.
fn planned_files(report: &Report, opts: &RepairOptions) -> Vec<PathBuf> {
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

/// Runs fixes to a fixpoint; in interactive mode `confirm` is asked before each fix.
pub fn repair(
    env: &RepairEnv<'_>,
    opts: &RepairOptions,
    confirm: &mut dyn Confirmer,
) -> Result<RepairOutcome, RepairError> {
    let interrupted = || env.interrupt.load(Ordering::SeqCst);
    let cx = (env.new_context)();
    let mut report = (env.check)(&cx);
    // A folder the fixes would write into that is a link, or not a folder, refuses the run
    // before anything (the lock, the doctor's folder) is created.
    crate::write::preflight(
        &cx.project_dir,
        &cx.state_dir,
        &planned_files(&report, opts),
    )?;
    let mut tx = Transaction::begin(&cx.project_dir, &cx.state_dir)?;
    if let Err(err) = tx.sweep_own_temp_files() {
        return Err(aborted(env, tx, err));
    }
    let mut handled: Vec<Diagnostic> = Vec::new();
    let mut settled: HashSet<FixKey> = HashSet::new();
    let mut asked = Asked::default();
    let mut cx = cx;

    for _pass in 0..MAX_PASSES {
        if interrupted() {
            return Err(RepairError::Interrupted(roll_back(env, tx)));
        }
        // The findings whose fix this pass can offer, in report order. Several findings can
        // share one fix (an entry's problems and its quarantine): it is offered once, and its
        // identity is its place among the offers, found by hashing, never by comparing each
        // fix with every other (issue #11).
        let candidates: Vec<usize> = report
            .diagnostics
            .iter()
            .enumerate()
            .filter(|(_, d)| {
                d.fix.as_ref().is_some_and(|fix| wanted(fix, opts))
                    && (settled.is_empty() || !settled.contains(&key_of(&cx, d)))
            })
            .map(|(i, _)| i)
            .collect();
        let mut offer_number: HashMap<&Fix, usize> = HashMap::new();
        for &i in &candidates {
            if let Some(fix) = &report.diagnostics[i].fix {
                let next = offer_number.len() + 1;
                offer_number.entry(fix).or_insert(next);
            }
        }
        let total = offer_number.len();
        let mut claims = Claims::default();
        let mut chosen: Vec<usize> = Vec::new();
        // What this pass decided for each fix: chosen (true) or declined (false).
        let mut decided: HashMap<&Fix, bool> = HashMap::new();
        for &i in &candidates {
            let d = &report.diagnostics[i];
            let Some(fix) = &d.fix else { continue };
            let decline = |handled: &mut Vec<Diagnostic>, settled: &mut HashSet<FixKey>| {
                settled.insert(key_of(&cx, d));
                let mut declined = d.clone();
                declined.fix_status = FixStatus::Declined;
                handled.push(declined);
            };
            // A finding sharing a fix already decided in this pass follows that decision.
            match decided.get(fix) {
                Some(true) => {
                    chosen.push(i);
                    continue;
                }
                Some(false) => {
                    decline(&mut handled, &mut settled);
                    continue;
                }
                None => {}
            }
            if opts.interactive {
                // Its place among this pass's offers, counted even where no question is needed,
                // so the counter is the same whatever was answered before.
                let number = offer_number.get(fix).copied().unwrap_or(total);
                let files = files_of(d, fix);
                let answer = if asked.quit || files.iter().any(|f| asked.skipped_files.contains(f))
                {
                    Answer::No
                } else if asked.all_of.contains(d.code.id) {
                    Answer::Yes
                } else {
                    confirm.confirm(&Offer {
                        cx: &cx,
                        diagnostic: d,
                        index: number,
                        total,
                    })
                };
                let accept = match answer {
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
                    Answer::Interrupt => {
                        return Err(RepairError::Interrupted(roll_back(env, tx)));
                    }
                };
                if !accept {
                    decided.insert(fix, false);
                    decline(&mut handled, &mut settled);
                    continue;
                }
            }
            if claims.try_claim(fix) {
                decided.insert(fix, true);
                chosen.push(i);
            }
        }
        if chosen.is_empty() {
            // The last pass's re-check found nothing left to apply. A Ctrl-C that came during
            // it is still honoured: the commit below is the point of no return.
            if interrupted() {
                return Err(RepairError::Interrupted(roll_back(env, tx)));
            }
            let run_id = match tx.commit() {
                Ok(run_id) => run_id,
                Err(err) => return Err(aborted(env, tx, err)),
            };
            return Ok(RepairOutcome {
                cx,
                report,
                handled,
                run_id,
            });
        }

        let pass: Vec<&Diagnostic> = chosen.iter().map(|&i| &report.diagnostics[i]).collect();
        let held = match env.lock_pass.map(|take| take(Some(&pass))).transpose() {
            Ok(held) => held,
            Err(why) => {
                return Err(RepairError::Aborted(format!(
                    "{why}; {}",
                    roll_back(env, tx)
                )))
            }
        };
        let applied = apply(&cx, &mut tx, &report, &chosen);
        // A lock broken while held: another writer may have written in between, so nothing of
        // this pass can be trusted; the lock is let go before the rollback takes it again.
        let broken = held.as_ref().is_some_and(|h| !h.intact());
        drop(held);
        let applied = match applied {
            Ok(applied) => applied,
            Err(err) => return Err(aborted(env, tx, err)),
        };
        if broken {
            return Err(RepairError::Aborted(format!(
                "another process broke the lock while the doctor wrote; {}",
                roll_back(env, tx)
            )));
        }
        if interrupted() {
            return Err(RepairError::Interrupted(roll_back(env, tx)));
        }
        for (i, outcome) in chosen.iter().zip(&applied) {
            let d = &report.diagnostics[*i];
            match outcome {
                Ok(()) => {
                    if let Some(fix) = &d.fix {
                        tx.record_fix(d.code.id, fix.title());
                    }
                }
                Err(_) => {
                    settled.insert(key_of(&cx, d));
                }
            }
        }

        let next_cx = (env.new_context)();
        let next = (env.check)(&next_cx);
        let applied_here: Vec<&Diagnostic> = chosen
            .iter()
            .zip(&applied)
            .filter(|(_, ok)| ok.is_ok())
            .map(|(i, _)| &report.diagnostics[*i])
            .collect();
        if let Err(reason) = verify(&report, &next, &applied_here) {
            return Err(RepairError::RolledBack(format!(
                "{reason}; {}",
                roll_back(env, tx)
            )));
        }
        drop(applied_here);
        // The pass's findings are moved out of its report, which is done with, rather than
        // copied while it lives: 100,000 fixed findings are one list, not two (issue #11).
        handled.extend(take_handled(
            std::mem::take(&mut report.diagnostics),
            &chosen,
            applied,
        ));
        cx = next_cx;
        report = next;
    }
    Err(RepairError::NotConverged(roll_back(env, tx)))
}

/// The `chosen` findings of `diagnostics` (indexes in ascending order), each marked with what
/// became of its fix (`outcomes`, one per chosen finding), in that order.
fn take_handled(
    diagnostics: Vec<Diagnostic>,
    chosen: &[usize],
    outcomes: Vec<Result<(), String>>,
) -> Vec<Diagnostic> {
    debug_assert!(chosen.windows(2).all(|w| w[0] < w[1]));
    let mut picks = chosen.iter().zip(outcomes).peekable();
    // Collected in the report's own buffer (an in-place collect), then cut to size: a second
    // buffer for 100,000 fixed findings was 18 MB at the fix run's peak (issue #11).
    let mut handled: Vec<Diagnostic> = diagnostics
        .into_iter()
        .enumerate()
        .filter_map(|(i, mut d)| {
            let (_, outcome) = picks.next_if(|(&at, _)| at == i)?;
            match outcome {
                Ok(()) => d.fix_status = FixStatus::Applied,
                Err(reason) => {
                    d.fix_status = FixStatus::Failed;
                    d = d.add_help(format!("the fix was not applied: {reason}"));
                }
            }
            Some(d)
        })
        .collect();
    handled.shrink_to_fit();
    handled
}

/// Applies the chosen findings' fixes; one result per chosen finding. A fix that cannot be
/// applied safely (a symlink leaving the project, a file another writer changed since it was
/// diagnosed: see `WriteError::refuses_one_file`) fails alone, with the reason, and the run goes
/// on; anything else (a full disk, a linked folder) aborts the run.
///
/// A file changed under us is skipped, not retried: the final re-check reports it as it is now
/// (exit 1 when findings remain, 0 when the other writer fixed it), and its fix reads `failed`
/// with "changed while the doctor was fixing it". Retrying would race the other writer again.
fn apply(
    cx: &Context,
    tx: &mut Transaction,
    report: &Report,
    chosen: &[usize],
) -> Result<Vec<Result<(), String>>, WriteError> {
    let mut results: Vec<Result<(), String>> = vec![Ok(()); chosen.len()];
    // Which fixes have had a change land (a later refusal then rolls the run back).
    let mut touched = vec![false; chosen.len()];
    // Each shared fix is applied once, by the first finding chosen for it (its owner).
    let mut owner: HashMap<&Fix, usize> = HashMap::new();
    let mut edits: BTreeMap<PathBuf, Vec<(Span, &str, usize)>> = BTreeMap::new();
    let mut later: Vec<(&Change, usize)> = Vec::new();
    for (slot, &i) in chosen.iter().enumerate() {
        let Some(fix) = &report.diagnostics[i].fix else {
            continue;
        };
        if owner.contains_key(fix) {
            continue;
        }
        owner.insert(fix, slot);
        for change in fix.changes() {
            match change {
                Change::Edit {
                    file,
                    span,
                    replacement,
                } => edits.entry(file.clone()).or_default().push((
                    span.clone(),
                    replacement.as_str(),
                    slot,
                )),
                other => later.push((other, slot)),
            }
        }
    }
    // Every file of the pass is backed up and named in the in-progress manifest before the
    // first of them changes.
    let mut paths: Vec<PathBuf> = edits.keys().cloned().collect();
    for (change, _) in &later {
        match change {
            Change::Rename { from, to } => paths.extend([from.clone(), to.clone()]),
            other => paths.extend(other.file().cloned()),
        }
    }
    // The bytes the checks read: a file is backed up and changed only while it still holds them.
    for file in edits.keys() {
        tx.expect_diagnosed(file, cx.bytes_of(file).as_deref().map(Vec::as_slice));
    }
    for (change, _) in &later {
        if let Change::Write { file, .. } = change {
            tx.expect_diagnosed(file, cx.bytes_of(file).as_deref().map(Vec::as_slice));
        }
    }
    tx.prepare(&paths)?;
    // A file written and chmod-ed in the same pass is written with its final mode, so it never
    // appears with a mode it has neither before nor after the run (a wrapper without its exec bit).
    let final_modes: HashMap<&Path, u32> = later
        .iter()
        .filter_map(|(change, _)| match change {
            Change::SetMode { file, mode } => Some((file.as_path(), *mode)),
            _ => None,
        })
        .collect();
    for (file, file_edits) in &edits {
        crate::failpoint::hit("between-files");
        let diagnosed = cx.bytes_of(file);
        let original = diagnosed.as_deref().map(Vec::as_slice).unwrap_or_default();
        let plain: Vec<(Span, &str)> = file_edits.iter().map(|(s, r, _)| (s.clone(), *r)).collect();
        let slots = file_edits.iter().map(|e| e.2);
        let new = match apply_edits(original, &plain) {
            Ok(new) => new,
            Err(err) => {
                mark(&mut results, slots, err.to_string());
                continue;
            }
        };
        let slots: Vec<usize> = slots.collect();
        match tx.write_with_mode(file, &new, final_modes.get(file.as_path()).copied()) {
            Ok(()) => slots.iter().for_each(|&s| touched[s] = true),
            // A fix refused after some of its changes landed would stay half-applied (one key
            // of a swap moved): the whole run is rolled back instead.
            Err(err) if err.refuses_one_file() && !slots.iter().any(|&s| touched[s]) => {
                mark(&mut results, slots.into_iter(), err.to_string())
            }
            Err(other) => return Err(other),
        }
    }
    // Contents first, then renames (in each fix's own order: the sort is stable), then modes and
    // moves, so a chmod applies to the file that ends up at its path.
    later.sort_by_key(|(change, _)| match change {
        Change::Write { .. } => 0,
        Change::Rename { .. } => 1,
        Change::SetMode { .. } => 2,
        Change::QuarantineData { .. } => 3,
        Change::Quarantine { .. } | Change::Edit { .. } => 4,
    });
    for (change, slot) in later {
        // A fix that failed already makes no further change.
        if results[slot].is_err() {
            continue;
        }
        crate::failpoint::hit("between-files");
        let outcome = match change {
            Change::Write { file, contents } => {
                tx.write_with_mode(file, contents, final_modes.get(file.as_path()).copied())
            }
            Change::SetMode { file, mode } => tx.set_mode(file, *mode),
            Change::Rename { from, to } => tx.rename(from, to),
            Change::Quarantine { file } => tx.quarantine(file),
            Change::QuarantineData { name, contents } => {
                tx.save_to_quarantine(name, contents);
                Ok(())
            }
            Change::Edit { .. } => Ok(()),
        };
        match outcome {
            Ok(()) => touched[slot] = true,
            Err(err) if err.refuses_one_file() && !touched[slot] => {
                results[slot] = Err(err.to_string())
            }
            Err(other) => return Err(other),
        }
    }
    // Every finding chosen for a shared fix gets the shared fix's result.
    for (slot, &i) in chosen.iter().enumerate() {
        let owned_by = report.diagnostics[i]
            .fix
            .as_ref()
            .and_then(|fix| owner.get(fix).copied());
        if let Some(owned_by) = owned_by.filter(|&o| o != slot) {
            results[slot] = results[owned_by].clone();
        }
    }
    Ok(results)
}

fn mark(results: &mut [Result<(), String>], slots: impl Iterator<Item = usize>, reason: String) {
    for slot in slots {
        results[slot] = Err(reason.clone());
    }
}

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
fn verify(before: &Report, after: &Report, applied: &[&Diagnostic]) -> Result<(), String> {
    let (before, after) = (Tally::of(before), Tally::of(after));
    let mut expected: HashMap<(&str, Option<&Path>), usize> = HashMap::new();
    for d in applied {
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
        .iter()
        .filter_map(|d| d.fix.as_ref())
        .flat_map(|f| {
            f.changes()
                .iter()
                .filter_map(|c| c.file().map(PathBuf::as_path))
        })
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

#[cfg(test)]
mod tests;

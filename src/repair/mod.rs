//! Fix runs: apply the selected fixes through a `Transaction`, re-check, and repeat until nothing
//! applicable is left (design.md §4). Rolled back whole when a fix does not do what it promised.
//!
//! The model is ruff's `lint_fix`: apply non-overlapping fixes, re-run every check on the result,
//! and loop to a fixpoint with a cap, because one fix can expose the next (or make another moot).
//!
//! - `env`: what a run is given, and its errors;
//! - `plan`: which findings' fixes a pass applies (asking in `-i`);
//! - `apply`: writing them through the run's transaction, and what became of each;
//! - `verify`: the re-check that accepts or refutes a pass;
//! - `rollback`: every way a begun run stops before its commit, rolled back in one place.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use crate::diag::{Diagnostic, FixStatus};
use crate::engine::{Context, Report};
use crate::fix::Fix;
use crate::prompt::Confirmer;
use crate::write::Transaction;

mod apply;
mod bits;
mod env;
mod plan;
mod rollback;
mod same_fix;
mod verify;

use apply::{apply, take_handled, Outcomes};
use plan::{planned_files, Chosen, Planner};
use rollback::{aborted, Stop};
use verify::Expected;

pub use env::{LockPass, PassLock, RepairEnv, RepairError, RepairOptions, MAX_PASSES};

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

/// Runs fixes to a fixpoint; in interactive mode `confirm` is asked before each fix.
pub fn repair(
    env: &RepairEnv<'_>,
    opts: &RepairOptions,
    confirm: &mut dyn Confirmer,
) -> Result<RepairOutcome, RepairError> {
    let cx = (env.new_context)();
    let report = (env.check)(&cx);
    let mut tx = begin(env, opts, &cx, &report)?;
    match run_passes(env, opts, confirm, &mut tx, cx, report) {
        Ok(outcome) => Ok(outcome),
        Err(stop) => Err(stop.roll_back(env, tx)),
    }
}

/// Takes the run lock and starts the run's record. A folder the fixes would write into that is
/// a link, or not a folder, refuses the run before anything (the lock, the doctor's folder) is
/// created.
fn begin(
    env: &RepairEnv<'_>,
    opts: &RepairOptions,
    cx: &Context,
    report: &Report,
) -> Result<Transaction, RepairError> {
    crate::write::preflight(&cx.project_dir, &cx.state_dir, &planned_files(report, opts))?;
    let mut tx = Transaction::begin(&cx.project_dir, &cx.state_dir)?;
    if let Err(err) = tx.sweep_own_temp_files() {
        return Err(aborted(env, tx, err));
    }
    Ok(tx)
}

/// A Ctrl-C is honoured at each step of a pass that can stop cleanly.
fn stop_if_interrupted(env: &RepairEnv<'_>) -> Result<(), Stop> {
    if env.interrupt.load(Ordering::SeqCst) {
        Err(Stop::Interrupted)
    } else {
        Ok(())
    }
}

/// The passes of a begun run, up to its commit: plan, apply, re-check, until a pass has
/// nothing left to apply. Any `Stop` is rolled back by the caller.
fn run_passes(
    env: &RepairEnv<'_>,
    opts: &RepairOptions,
    confirm: &mut dyn Confirmer,
    tx: &mut Transaction,
    mut cx: Context,
    mut report: Report,
) -> Result<RepairOutcome, Stop> {
    let mut planner = Planner::new(opts);
    let mut handled: Vec<Diagnostic> = Vec::new();
    for _pass in 0..MAX_PASSES {
        stop_if_interrupted(env)?;
        let chosen = planner.pass(&cx, &report, confirm, &mut handled)?;
        if chosen.is_empty() {
            // The last pass's re-check found nothing left to apply. A Ctrl-C that came during
            // it is still honoured: the commit below is the point of no return.
            stop_if_interrupted(env)?;
            let run_id = tx.commit().map_err(Stop::Write)?;
            return Ok(RepairOutcome {
                cx,
                report,
                handled,
                run_id,
            });
        }
        let applied = apply_locked(env, tx, &cx, &report, &chosen)?;
        stop_if_interrupted(env)?;
        record(tx, &mut planner, &cx, &report, &chosen, &applied);
        let applied_here = chosen
            .findings()
            .filter(|&at| applied.is_ok(at))
            .map(|at| &report.diagnostics[at]);
        let expected = Expected::of(&report, applied_here);
        let from = handled.len();
        // The pass's findings are moved out of its report, which is done with, rather than
        // copied while it lives: 100,000 fixed findings are one list, not two (issue #11).
        handled.extend(take_handled(
            std::mem::take(&mut report.diagnostics),
            &chosen,
            applied,
        ));
        // The report and the files it was checked from go before the re-check reads the new
        // ones (`Expected`), unless what was saved from them keeps them.
        detach_sparse_saves(&mut handled[from..]);
        tx.let_go_of_sparse_buffers();
        drop(report);
        drop(cx);
        let next_cx = (env.new_context)();
        let next = (env.check)(&next_cx);
        expected.verify(&next).map_err(Stop::RolledBack)?;
        cx = next_cx;
        report = next;
    }
    Err(Stop::NotConverged)
}

/// The data a pass's fixes saved into the quarantine are ranges of the files as its checks
/// read them, held by the fixed findings and by the run's queue until it commits. Where they
/// are little of a file, they are copied out so that the file can go before the re-check
/// reads it again: a run that quarantined a few entries of a 46.7 MB file in each of two passes
/// held three copies of it (issue #11). Where they are most of it (every entry quarantined),
/// it stays shared: a copy would only double it. The run's queue does the same
/// (`Transaction::let_go_of_sparse_buffers`).
fn detach_sparse_saves(found: &mut [Diagnostic]) {
    let buffer = |saved: &crate::fix::SharedBytes| Arc::as_ptr(saved.parts().0);
    let mut used: HashMap<*const Vec<u8>, (usize, usize)> = HashMap::new();
    for saved in found
        .iter_mut()
        .flat_map(|d| d.fix.iter_mut().flat_map(Fix::saved_data_mut))
    {
        let (bytes, range) = saved.parts();
        used.entry(Arc::as_ptr(bytes)).or_insert((0, bytes.len())).0 += range.len();
    }
    let sparse = |(used, len): (usize, usize)| crate::fix::SharedBytes::leave_buffer(used, len);
    if used.values().any(|u| sparse(*u)) {
        for saved in found
            .iter_mut()
            .flat_map(|d| d.fix.iter_mut().flat_map(Fix::saved_data_mut))
        {
            if used.get(&buffer(saved)).is_some_and(|u| sparse(*u)) {
                saved.detach();
            }
        }
    }
}

/// Applies a pass under the pass lock, when there is one. A lock broken while held: another
/// writer may have written in between, so nothing of this pass can be trusted; the lock is let
/// go before the rollback takes it again.
fn apply_locked(
    env: &RepairEnv<'_>,
    tx: &mut Transaction,
    cx: &Context,
    report: &Report,
    chosen: &Chosen,
) -> Result<Outcomes, Stop> {
    // The pass's findings are listed only for a lock that judges them (not for 100,000 fixes
    // of an agent's own files; issue #11).
    let held = env
        .lock_pass
        .map(|take| {
            let pass: Vec<&Diagnostic> = chosen
                .findings()
                .map(|at| &report.diagnostics[at])
                .collect();
            take(Some(&pass))
        })
        .transpose()
        .map_err(Stop::Aborted)?;
    let applied = apply(cx, tx, report, chosen);
    let broken = held.as_ref().is_some_and(|h| !h.intact());
    drop(held);
    let applied = applied.map_err(Stop::Write)?;
    if broken {
        return Err(Stop::Aborted(
            "another process broke the lock while the doctor wrote".to_string(),
        ));
    }
    Ok(applied)
}

/// Records each applied fix in the run's manifest; a failed one is not offered again.
fn record(
    tx: &mut Transaction,
    planner: &mut Planner<'_>,
    cx: &Context,
    report: &Report,
    chosen: &Chosen,
    applied: &Outcomes,
) {
    for at in chosen.findings() {
        let d = &report.diagnostics[at];
        if applied.is_ok(at) {
            if let Some(fix) = &d.fix {
                tx.record_fix(d.code.id, fix.shared_title());
            }
        } else {
            planner.settle(cx, d);
        }
    }
}

#[cfg(test)]
mod tests;

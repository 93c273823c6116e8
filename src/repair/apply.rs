//! Applying a pass: the chosen findings' fixes written through the run's `Transaction`, each
//! shared fix once, every file backed up before the first of them changes; then each finding
//! marked with what became of its fix.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use crate::diag::{Diagnostic, FixStatus, Span};
use crate::engine::{Context, Report};
use crate::fix::{Change, Edited};
use crate::write::{Transaction, WriteError};

use super::plan::Chosen;

/// What became of each chosen finding's fix, by its slot (its place in `Chosen`): applied,
/// unless a reason why not is kept for it. Only failures are kept: a pass that applies
/// 100,000 fixes holds an empty map, not 100,000 results (issue #11).
#[derive(Debug, Default)]
pub(super) struct Outcomes {
    failed: BTreeMap<usize, String>,
}

impl Outcomes {
    /// Outcomes where the given slots failed, with their reasons.
    #[cfg(test)]
    pub(super) fn failed(reasons: impl IntoIterator<Item = (usize, String)>) -> Self {
        Outcomes {
            failed: reasons.into_iter().collect(),
        }
    }

    pub(super) fn is_ok(&self, slot: usize) -> bool {
        !self.failed.contains_key(&slot)
    }

    fn fail(&mut self, slot: usize, reason: String) {
        self.failed.insert(slot, reason);
    }

    /// The outcome of `slot`, taken out.
    fn take(&mut self, slot: usize) -> Result<(), String> {
        self.failed.remove(&slot).map_or(Ok(()), Err)
    }
}

/// The changes of a pass, grouped for writing: every edit of a file together (applied to its
/// diagnosed bytes in one write), the other changes after, each with the slot (the place in
/// `chosen`) of the finding that owns its fix.
struct Grouped<'r> {
    edits: BTreeMap<&'r Path, Vec<(&'r Change, usize)>>,
    later: Vec<(&'r Change, usize)>,
}

impl<'r> Grouped<'r> {
    /// Each shared fix is applied once, by its owner (`Chosen::owner`).
    fn of(report: &'r Report, chosen: &Chosen) -> Self {
        let mut grouped = Grouped {
            edits: BTreeMap::new(),
            later: Vec::new(),
        };
        for (slot, &i) in chosen.findings.iter().enumerate() {
            let Some(fix) = &report.diagnostics[i].fix else {
                continue;
            };
            if chosen.owner[slot] != slot {
                continue;
            }
            for change in fix.changes() {
                match change {
                    Change::Edit { file, .. } => grouped
                        .edits
                        .entry(&**file)
                        .or_default()
                        .push((change, slot)),
                    other => grouped.later.push((other, slot)),
                }
            }
        }
        grouped
    }

    /// Every file the pass may change (both ends of a rename).
    fn paths(&self) -> Vec<PathBuf> {
        let mut paths: Vec<PathBuf> = self.edits.keys().map(|f| f.to_path_buf()).collect();
        for (change, _) in &self.later {
            match change {
                Change::Rename { from, to } => paths.extend([from.clone(), to.clone()]),
                other => paths.extend(other.file().map(Path::to_path_buf)),
            }
        }
        paths
    }

    /// A file written and chmod-ed in the same pass is written with its final mode, so it never
    /// appears with a mode it has neither before nor after the run (a wrapper without its exec
    /// bit).
    fn final_modes(&self) -> HashMap<&'r Path, u32> {
        self.later
            .iter()
            .filter_map(|(change, _)| match *change {
                Change::SetMode { file, mode } => Some((file.as_path(), *mode)),
                _ => None,
            })
            .collect()
    }
}

/// Each chosen finding's result so far, and whether any change of its fix has landed (a later
/// refusal then rolls the run back rather than leave the fix half-applied).
struct Progress {
    results: Outcomes,
    touched: Vec<bool>,
}

impl Progress {
    fn fail(&mut self, slots: impl Iterator<Item = usize>, reason: String) {
        for slot in slots {
            self.results.fail(slot, reason.clone());
        }
    }

    /// A change of the fixes in `slots` was written, or refused: a refusal of the file alone
    /// fails those fixes (when none of their changes landed yet); anything else stops the run.
    fn landed(
        &mut self,
        slots: impl Iterator<Item = usize> + Clone,
        written: Result<(), WriteError>,
    ) -> Result<(), WriteError> {
        match written {
            Ok(()) => slots.for_each(|s| self.touched[s] = true),
            // A fix refused after some of its changes landed would stay half-applied (one key
            // of a swap moved): the whole run is rolled back instead.
            Err(err) if err.refuses_one_file() && !slots.clone().any(|s| self.touched[s]) => {
                self.fail(slots, err.to_string())
            }
            Err(other) => return Err(other),
        }
        Ok(())
    }
}

/// Applies the chosen findings' fixes; one result per chosen finding. A fix that cannot be
/// applied safely (a symlink leaving the project, a file another writer changed since it was
/// diagnosed: see `WriteError::refuses_one_file`) fails alone, with the reason, and the run goes
/// on; anything else (a full disk, a linked folder) aborts the run.
///
/// A file changed under us is skipped, not retried: the final re-check reports it as it is now
/// (exit 1 when findings remain, 0 when the other writer fixed it), and its fix reads `failed`
/// with "changed while the doctor was fixing it". Retrying would race the other writer again.
pub(super) fn apply(
    cx: &Context,
    tx: &mut Transaction,
    report: &Report,
    chosen: &Chosen,
) -> Result<Outcomes, WriteError> {
    let mut grouped = Grouped::of(report, chosen);
    back_up(cx, tx, &grouped)?;
    let final_modes = grouped.final_modes();
    let mut progress = Progress {
        results: Outcomes::default(),
        touched: vec![false; chosen.findings.len()],
    };
    write_edits(cx, tx, &grouped, &final_modes, &mut progress)?;
    // Contents first, then renames (in each fix's own order: the sort is stable), then modes and
    // moves, so a chmod applies to the file that ends up at its path.
    grouped.later.sort_by_key(|(change, _)| match change {
        Change::Write { .. } => 0,
        Change::Rename { .. } => 1,
        Change::SetMode { .. } => 2,
        Change::QuarantineData { .. } => 3,
        Change::Quarantine { .. } | Change::Edit { .. } => 4,
    });
    for &(change, slot) in &grouped.later {
        // A fix that failed already makes no further change.
        if !progress.results.is_ok(slot) {
            continue;
        }
        crate::failpoint::hit("between-files");
        let written = make_change(tx, change, &final_modes);
        progress.landed(std::iter::once(slot), written)?;
    }
    Ok(share_results(&chosen.owner, progress.results))
}

/// Every file of the pass is backed up and named in the in-progress manifest before the first
/// of them changes, each known by the bytes the checks read: a file is backed up and changed
/// only while it still holds them.
fn back_up(cx: &Context, tx: &mut Transaction, grouped: &Grouped<'_>) -> Result<(), WriteError> {
    for file in grouped.edits.keys() {
        tx.expect_diagnosed_bytes(file, cx.bytes_of(file));
    }
    for (change, _) in &grouped.later {
        if let Change::Write { file, .. } = change {
            tx.expect_diagnosed_bytes(file, cx.bytes_of(file));
        }
    }
    tx.prepare(&grouped.paths())
}

/// Each edited file, written once with all its edits applied to the bytes the checks read.
fn write_edits(
    cx: &Context,
    tx: &mut Transaction,
    grouped: &Grouped<'_>,
    final_modes: &HashMap<&Path, u32>,
    progress: &mut Progress,
) -> Result<(), WriteError> {
    for (&file, file_edits) in &grouped.edits {
        crate::failpoint::hit("between-files");
        let diagnosed = cx.bytes_of(file);
        let original = diagnosed.as_deref().map(Vec::as_slice).unwrap_or_default();
        let mut edits: Vec<(&Span, &str)> = Vec::with_capacity(file_edits.len());
        for (change, _) in file_edits {
            if let Change::Edit {
                span, replacement, ..
            } = change
            {
                edits.push((span, &**replacement));
            }
        }
        let slots = || file_edits.iter().map(|e| e.1);
        let edited = match Edited::new(original, edits) {
            Ok(edited) => edited,
            Err(err) => {
                progress.fail(slots(), err.to_string());
                continue;
            }
        };
        let written = tx.write_pieces(
            file,
            &|out| edited.pieces(out),
            final_modes.get(file).copied(),
        );
        progress.landed(slots(), written)?;
    }
    Ok(())
}

/// One change other than an edit, through the transaction.
fn make_change(
    tx: &mut Transaction,
    change: &Change,
    final_modes: &HashMap<&Path, u32>,
) -> Result<(), WriteError> {
    match change {
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
    }
}

/// Every finding chosen for a shared fix gets the shared fix's result (its owner's).
fn share_results(owner: &[usize], mut results: Outcomes) -> Outcomes {
    for (slot, &owned_by) in owner.iter().enumerate() {
        if owned_by != slot {
            if let Some(reason) = results.failed.get(&owned_by).cloned() {
                results.fail(slot, reason);
            }
        }
    }
    results
}

/// The `chosen` findings of `diagnostics` (indexes in ascending order), each marked with what
/// became of its fix (`outcomes`, one per chosen finding), in that order.
pub(super) fn take_handled(
    diagnostics: Vec<Diagnostic>,
    chosen: &[usize],
    mut outcomes: Outcomes,
) -> Vec<Diagnostic> {
    debug_assert!(chosen.windows(2).all(|w| w[0] < w[1]));
    let mut picks = chosen
        .iter()
        .enumerate()
        .map(|(slot, at)| (at, outcomes.take(slot)))
        .peekable();
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
                    // Findings are scrubbed when collected; this text comes later, so it is
                    // scrubbed here (a write error names paths, but nothing may slip through).
                    let reason = crate::redact::redact_text(&reason);
                    d = d.add_help(format!("the fix was not applied: {reason}"));
                }
            }
            Some(d)
        })
        .collect();
    handled.shrink_to_fit();
    handled
}

//! Applying a pass: the chosen findings' fixes written through the run's `Transaction`, each
//! shared fix once, every file backed up before the first of them changes; then each finding
//! marked with what became of its fix.

use std::collections::{BTreeMap, HashMap};
use std::ops::RangeInclusive;
use std::path::{Path, PathBuf};

use crate::diag::{Diagnostic, FixStatus, Span};
use crate::engine::{Context, Report};
use crate::fix::{check_in_order, edited_pieces, Change, Edited};
use crate::write::{Transaction, WriteError};

use super::bits::Bits;
use super::plan::Chosen;

/// What became of each chosen finding's fix, by its place in the report: applied, unless a
/// reason why not is kept for it. Only failures are kept: a pass that applies 100,000 fixes
/// holds an empty map, not 100,000 results (issue #11).
#[derive(Debug, Default)]
pub(super) struct Outcomes {
    failed: BTreeMap<usize, String>,
}

impl Outcomes {
    /// Outcomes where the findings at the given places failed, with their reasons.
    #[cfg(test)]
    pub(super) fn failed(reasons: impl IntoIterator<Item = (usize, String)>) -> Self {
        Outcomes {
            failed: reasons.into_iter().collect(),
        }
    }

    pub(super) fn is_ok(&self, at: usize) -> bool {
        !self.failed.contains_key(&at)
    }

    fn fail(&mut self, at: usize, reason: String) {
        self.failed.insert(at, reason);
    }

    /// The outcome of the finding at `at`, taken out.
    fn take(&mut self, at: usize) -> Result<(), String> {
        self.failed.remove(&at).map_or(Ok(()), Err)
    }
}

/// The changes of a pass, read where the chosen findings hold them, each shared fix once (by
/// its owner, `Chosen::owner`), with the place of the finding that owns it.
///
/// Edits and saved data, which come by the hundred thousand (a broken jobs.json's quarantine
/// fixes), are walked again where they are needed rather than listed: 100,000 of them made two
/// lists of 16 bytes a change and a third of 24 bytes an edit (issue #11). One walk notes the
/// rest: the files edited, whether any data is saved, and the whole-file changes (a file's
/// write, rename, mode or move: one a file).
struct Pass<'r> {
    report: &'r Report,
    chosen: &'r Chosen,
    /// The files the pass edits, each once, in path order: every edit of a file is applied to
    /// its diagnosed bytes in one write. With each, the stretch of the report where its edits
    /// are (the first and last owner's place): its edits are walked there, not over the whole
    /// pass, which for thousands of edited files would be quadratic.
    edited: BTreeMap<&'r Path, RangeInclusive<usize>>,
    saves_data: bool,
    /// The changes other than edits and saved data, in fix order.
    whole: Vec<(&'r Change, usize)>,
}

impl<'r> Pass<'r> {
    fn of(report: &'r Report, chosen: &'r Chosen) -> Self {
        let mut pass = Pass {
            report,
            chosen,
            edited: BTreeMap::new(),
            saves_data: false,
            whole: Vec::new(),
        };
        // The file of the last edit and its places so far: the same file as the last edit's is
        // the usual case, with no lookup for it.
        let mut last: Option<(&Path, RangeInclusive<usize>)> = None;
        for (change, at) in changes(report, chosen, 0..=usize::MAX) {
            match change {
                Change::Edit { file, .. } => match &mut last {
                    Some((same, places)) if same_path(same, file) => *places = *places.start()..=at,
                    _ => {
                        if let Some((file, places)) = last.replace((file, at..=at)) {
                            pass.note_edits(file, places);
                        }
                    }
                },
                Change::QuarantineData { .. } => pass.saves_data = true,
                other => pass.whole.push((other, at)),
            }
        }
        if let Some((file, places)) = last {
            pass.note_edits(file, places);
        }
        pass
    }

    /// Notes that `file` has edits at `places` (ascending), besides any noted before.
    fn note_edits(&mut self, file: &'r Path, places: RangeInclusive<usize>) {
        self.edited
            .entry(file)
            .and_modify(|known| *known = *known.start()..=*places.end())
            .or_insert(places);
    }

    /// The edits of `file`, each with its owner's place, in fix order, from its stretch of the
    /// report (`places`, as `edited` holds it).
    fn edits_of<'p>(
        &'p self,
        file: &'p Path,
        places: RangeInclusive<usize>,
    ) -> impl Iterator<Item = ((&'r Span, &'r str), usize)> + Clone + 'p {
        changes(self.report, self.chosen, places).filter_map(move |(change, at)| match change {
            Change::Edit {
                file: edited,
                span,
                replacement,
            } if same_path(edited, file) => Some(((span, &**replacement), at)),
            _ => None,
        })
    }

    /// The changes other than edits, in the order they are made: contents first, then renames
    /// (each fix's in its own order), then modes, saved data and moves, so a chmod applies to
    /// the file that ends up at its path.
    fn later(&self) -> impl Iterator<Item = (&'r Change, usize)> + '_ {
        let step = |change: &Change| match change {
            Change::Write { .. } => 0,
            Change::Rename { .. } => 1,
            Change::SetMode { .. } => 2,
            Change::QuarantineData { .. } => 3,
            Change::Quarantine { .. } | Change::Edit { .. } => 4,
        };
        let whole_at = move |n| {
            self.whole
                .iter()
                .copied()
                .filter(move |(change, _)| step(change) == n)
        };
        let data = self
            .saves_data
            .then(|| {
                changes(self.report, self.chosen, 0..=usize::MAX)
                    .filter(|(change, _)| matches!(change, Change::QuarantineData { .. }))
            })
            .into_iter()
            .flatten();
        (0..3).flat_map(whole_at).chain(data).chain(whole_at(4))
    }

    /// Every file the pass may change (both ends of a rename): the edited files, then the
    /// others in fix order.
    fn paths(&self) -> Vec<PathBuf> {
        let mut paths: Vec<PathBuf> = self.edited.keys().map(|f| f.to_path_buf()).collect();
        for (change, _) in &self.whole {
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
        self.whole
            .iter()
            .filter_map(|(change, _)| match change {
                Change::SetMode { file, mode } => Some((file.as_path(), *mode)),
                _ => None,
            })
            .collect()
    }
}

/// The changes of the chosen findings' fixes within `places`, each shared fix once (by its
/// owner), with the place of the finding that owns it.
fn changes<'r>(
    report: &'r Report,
    chosen: &'r Chosen,
    places: RangeInclusive<usize>,
) -> impl Iterator<Item = (&'r Change, usize)> + Clone + 'r {
    chosen
        .findings_within(places)
        .filter(|&at| chosen.owner(at) == at)
        .filter_map(move |at| report.diagnostics[at].fix.as_ref().map(|fix| (at, fix)))
        .flat_map(|(at, fix)| fix.changes().iter().map(move |change| (change, at)))
}

/// Whether two paths are the same: an edit's path is most often the very one the set of edited
/// files holds (a file's edits share one `Arc<Path>`), known without reading it.
fn same_path(a: &Path, b: &Path) -> bool {
    std::ptr::eq(a, b) || a == b
}

/// Each chosen finding's result so far, and whether any change of its fix has landed (a later
/// refusal then rolls the run back rather than leave the fix half-applied).
struct Progress {
    results: Outcomes,
    touched: Bits,
}

impl Progress {
    fn fail(&mut self, owners: impl Iterator<Item = usize>, reason: String) {
        for at in owners {
            self.results.fail(at, reason.clone());
        }
    }

    /// A change of the fixes owned by `owners` was written, or refused: a refusal of the file
    /// alone fails those fixes (when none of their changes landed yet); anything else stops the
    /// run.
    fn landed(
        &mut self,
        owners: impl Iterator<Item = usize> + Clone,
        written: Result<(), WriteError>,
    ) -> Result<(), WriteError> {
        match written {
            Ok(()) => owners.for_each(|at| self.touched.insert(at)),
            // A fix refused after some of its changes landed would stay half-applied (one key
            // of a swap moved): the whole run is rolled back instead.
            Err(err)
                if err.refuses_one_file()
                    && !owners.clone().any(|at| self.touched.contains(at)) =>
            {
                self.fail(owners, err.to_string())
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
    let pass = Pass::of(report, chosen);
    back_up(cx, tx, &pass)?;
    let final_modes = pass.final_modes();
    let mut progress = Progress {
        results: Outcomes::default(),
        touched: Bits::default(),
    };
    write_edits(cx, tx, &pass, &final_modes, &mut progress)?;
    for (change, at) in pass.later() {
        // A fix that failed already makes no further change.
        if !progress.results.is_ok(at) {
            continue;
        }
        crate::failpoint::hit("between-files");
        let written = make_change(tx, change, &final_modes);
        progress.landed(std::iter::once(at), written)?;
    }
    Ok(share_results(chosen, progress.results))
}

/// Every file of the pass is backed up and named in the in-progress manifest before the first
/// of them changes, each known by the bytes the checks read: a file is backed up and changed
/// only while it still holds them.
fn back_up(cx: &Context, tx: &mut Transaction, pass: &Pass<'_>) -> Result<(), WriteError> {
    for file in pass.edited.keys() {
        tx.expect_diagnosed_bytes(file, cx.bytes_of(file));
    }
    for (change, _) in &pass.whole {
        if let Change::Write { file, .. } = change {
            tx.expect_diagnosed_bytes(file, cx.bytes_of(file));
        }
    }
    tx.prepare(&pass.paths())
}

/// Each edited file, written once with all its edits applied to the bytes the checks read:
/// from where the findings hold them when they come in order (the usual case), else sorted.
fn write_edits(
    cx: &Context,
    tx: &mut Transaction,
    pass: &Pass<'_>,
    final_modes: &HashMap<&Path, u32>,
    progress: &mut Progress,
) -> Result<(), WriteError> {
    for (&file, places) in &pass.edited {
        crate::failpoint::hit("between-files");
        let diagnosed = cx.bytes_of(file);
        let original = diagnosed.as_deref().map(Vec::as_slice).unwrap_or_default();
        let edits = pass.edits_of(file, places.clone());
        let owners = || edits.clone().map(|(_, at)| at);
        let in_order = edits
            .clone()
            .is_sorted_by_key(|((span, _), _)| (span.start, span.end));
        // Edits in file order are checked and written as they come; others are sorted into
        // a list first (`Edited`).
        let checked = if in_order {
            check_in_order(original.len(), edits.clone().map(|((span, _), _)| span)).map(|()| None)
        } else {
            Edited::new(original, edits.clone().map(|(edit, _)| edit).collect()).map(Some)
        };
        let sorted = match checked {
            Ok(sorted) => sorted,
            Err(err) => {
                progress.fail(owners(), err.to_string());
                continue;
            }
        };
        let pieces = |out: &mut dyn FnMut(&[u8]) -> std::io::Result<()>| match &sorted {
            Some(edited) => edited.pieces(out),
            None => edited_pieces(original, edits.clone().map(|(edit, _)| edit), out),
        };
        let written = tx.write_pieces(file, &pieces, final_modes.get(file).copied());
        progress.landed(owners(), written)?;
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
fn share_results(chosen: &Chosen, mut results: Outcomes) -> Outcomes {
    for (at, owner) in chosen.followers() {
        if let Some(reason) = results.failed.get(&owner).cloned() {
            results.fail(at, reason);
        }
    }
    results
}

/// The `chosen` findings of `diagnostics`, each marked with what became of its fix
/// (`outcomes`), in report order.
pub(super) fn take_handled(
    diagnostics: Vec<Diagnostic>,
    chosen: &Chosen,
    mut outcomes: Outcomes,
) -> Vec<Diagnostic> {
    // Collected in the report's own buffer (an in-place collect), then cut to size: a second
    // buffer for 100,000 fixed findings was 18 MB at the fix run's peak (issue #11).
    let mut handled: Vec<Diagnostic> = diagnostics
        .into_iter()
        .enumerate()
        .filter(|(at, _)| chosen.contains(*at))
        .map(|(at, mut d)| {
            match outcomes.take(at) {
                Ok(()) => d.fix_status = FixStatus::Applied,
                Err(reason) => {
                    d.fix_status = FixStatus::Failed;
                    // Findings are scrubbed when collected; this text comes later, so it is
                    // scrubbed here (a write error names paths, but nothing may slip through).
                    let reason = crate::redact::redact_text(&reason);
                    d = d.add_help(format!("the fix was not applied: {reason}"));
                }
            }
            d
        })
        .collect();
    handled.shrink_to_fit();
    handled
}

//! `undo`: put a run's files back, itself as a transaction.
//!
//! The restore is a run of its own (`undoes` names the run it undoes): its backups are the files
//! as they were just before the undo, so a crash during the undo is rolled back like any
//! interrupted run, and the edits `--force` overwrites are kept and can be brought back with
//! `undo <that run>`.

use std::fs;
use std::path::Path;

use super::confine::{check_dir, manifest_path, resolve_target};
use super::manifest::write_manifest;
use super::probe::{hash_now, now, Now};
use super::recover::{recover_locked, Recovered};
use super::transaction::{recorded_mode, Transaction};
use super::{lock, WriteError};
use crate::runs::{self, is_undone, Manifest, RunStatus};

#[derive(Debug)]
pub struct UndoOutcome {
    pub run_id: String,
    pub restored: Vec<String>,
    /// Files the run had created: moved to the doctor's quarantine, never deleted.
    pub quarantined: Vec<String>,
    /// Interrupted runs rolled back before anything else.
    pub recovered: Vec<Recovered>,
    /// With `--force`: the files that had changed since the run, and the run that saved them.
    pub overwritten: Vec<String>,
    pub saved_as: Option<String>,
}

fn refused(message: String) -> WriteError {
    WriteError::Refused(message)
}

/// Restores the files of run `run_id` (default: the newest committed run that is not an undo).
pub fn undo(
    project_dir: &Path,
    state_dir: &Path,
    run_id: Option<&str>,
    force: bool,
) -> Result<UndoOutcome, WriteError> {
    // A refused undo creates nothing: look before taking the lock, which creates the doctor's
    // folder and its lock file.
    refuse_unknown_run(state_dir, run_id)?;
    let held = lock(state_dir)?;
    let recovered = recover_locked(project_dir, state_dir, &held)?;
    // Undoing an interrupted run is rolling it back, which is done: no hash to match, no --force.
    // An interrupted undo is different: rolling it back only undid the undo, so the run it was
    // undoing is still to undo, and is found below as usual.
    let rolled_back_now = match run_id {
        Some(id) => recovered.iter().find(|r| r.run_id == id),
        None => recovered.iter().find(|r| r.undoes.is_none()),
    };
    if let Some(done) = rolled_back_now {
        return Ok(UndoOutcome {
            run_id: done.run_id.clone(),
            restored: done.restored.clone(),
            quarantined: Vec::new(),
            recovered: recovered.clone(),
            overwritten: Vec::new(),
            saved_as: None,
        });
    }
    let target = target_run(state_dir, run_id)?;
    let overwritten = changed_since(project_dir, state_dir, &target)?;
    if let (Some(first), false) = (overwritten.first(), force) {
        return Err(refused(format!(
            "{first} changed after run {}; nothing was restored (use --force to restore anyway: the later edits are backed up as a run of their own)",
            target.run_id
        )));
    }
    let tx = Transaction::begin_locked(project_dir, state_dir, held)?.undoing(&target.run_id);
    let undo_run = restore_run(tx, project_dir, state_dir, &target)?;
    mark_undone(state_dir, &target);
    Ok(UndoOutcome {
        run_id: target.run_id.clone(),
        restored: restored_paths(&target),
        quarantined: target
            .files
            .iter()
            .filter(|f| !f.existed)
            .map(|f| f.path.clone())
            .collect(),
        recovered,
        saved_as: if overwritten.is_empty() {
            None
        } else {
            undo_run
        },
        overwritten,
    })
}

/// No run at all, or no run `run_id`: refused before anything is created.
fn refuse_unknown_run(state_dir: &Path, run_id: Option<&str>) -> Result<(), WriteError> {
    let listed = runs::all(state_dir);
    if listed.is_empty() {
        return Err(refused("no fix run to undo".to_string()));
    }
    match run_id {
        Some(id) if !listed.iter().any(|m| m.run_id == id) => Err(refused(format!(
            "no fix run {id} under .instar/doctor/runs/"
        ))),
        _ => Ok(()),
    }
}

/// The run to undo, read again under the lock (a recovery may have changed the list): `run_id`,
/// or the newest committed run that is not an undo and was not undone. Refused when it was
/// already undone or rolled back.
fn target_run(state_dir: &Path, run_id: Option<&str>) -> Result<Manifest, WriteError> {
    let all = runs::all(state_dir);
    let target: Manifest = match run_id {
        Some(id) => all
            .iter()
            .find(|m| m.run_id == id)
            .cloned()
            .ok_or_else(|| refused(format!("no fix run {id} under .instar/doctor/runs/")))?,
        None => all
            .iter()
            .find(|m| m.status == RunStatus::Committed && m.undoes.is_none() && !is_undone(m, &all))
            .cloned()
            .ok_or_else(|| refused("no fix run to undo".to_string()))?,
    };
    if is_undone(&target, &all) {
        return Err(refused(format!("run {} was already undone", target.run_id)));
    }
    if target.status == RunStatus::RolledBack {
        return Err(refused(format!(
            "run {} was rolled back: none of its changes are left to undo",
            target.run_id
        )));
    }
    Ok(target)
}

/// The files of `target` that changed after it (what `--force` overwrites). Every path the run
/// names is confined to the project and checked before anything is restored (a run folder can
/// be planted), and then read without ever blocking on a FIFO.
fn changed_since(
    project_dir: &Path,
    state_dir: &Path,
    target: &Manifest,
) -> Result<Vec<String>, WriteError> {
    let mut overwritten = Vec::new();
    for record in &target.files {
        let path = manifest_path(project_dir, &record.path)?;
        let real = resolve_target(project_dir, &path)?;
        if hash_now(&real) != record.sha256_after {
            overwritten.push(record.path.clone());
        }
    }
    for q in &target.quarantined {
        manifest_path(state_dir, &q.to)?;
        let to = manifest_path(project_dir, &q.from)?;
        check_dir(project_dir, to.parent().unwrap_or(project_dir))?;
    }
    Ok(overwritten)
}

/// Puts `target`'s files back as the undo run `tx`, and commits it (its id, when it changed
/// anything); a failure rolls the undo run back and says what that left.
fn restore_run(
    mut tx: Transaction,
    project_dir: &Path,
    state_dir: &Path,
    target: &Manifest,
) -> Result<Option<String>, WriteError> {
    let result = (|| {
        let mut paths: Vec<_> = target
            .files
            .iter()
            .map(|r| project_dir.join(&r.path))
            .collect();
        paths.extend(target.quarantined.iter().map(|q| state_dir.join(&q.to)));
        tx.prepare(&paths)?;
        return_quarantined(&mut tx, project_dir, state_dir, target)?;
        restore_files(&mut tx, project_dir, state_dir, target)
    })();
    match result.and_then(|()| tx.commit()) {
        Ok(id) => Ok(id),
        Err(err) => {
            let undo_run = tx.run_id().to_string();
            let outcome = tx.rollback()?;
            Err(refused(format!(
                "{err}; undo of run {} stopped: {}",
                target.run_id,
                outcome.describe(&undo_run)
            )))
        }
    }
}

/// Moves what the run quarantined back to where it was, newest first, when nothing stands there.
fn return_quarantined(
    tx: &mut Transaction,
    project_dir: &Path,
    state_dir: &Path,
    target: &Manifest,
) -> Result<(), WriteError> {
    for q in target.quarantined.iter().rev() {
        let from = state_dir.join(&q.to);
        let to = project_dir.join(&q.from);
        match fs::symlink_metadata(&from) {
            Ok(meta) if meta.is_file() && fs::symlink_metadata(&to).is_err() => {
                // The quarantine holds it at 0600: its own mode comes back before it reappears.
                if let Some(mode) = recorded_mode(target, &q.from) {
                    tx.set_mode(&from, mode)?;
                }
                tx.rename(&from, &to)?;
            }
            // A link or FIFO (a planted temp name) carries no bytes: moved back as it is,
            // never followed, into the folder checked above.
            Ok(_) if fs::symlink_metadata(&to).is_err() => {
                fs_err::rename(&from, &to)?;
            }
            _ => {}
        }
    }
    Ok(())
}

/// Writes each backed-up file back (bytes and mode together); a file the run created is the
/// user's now too: quarantined, not deleted.
fn restore_files(
    tx: &mut Transaction,
    project_dir: &Path,
    state_dir: &Path,
    target: &Manifest,
) -> Result<(), WriteError> {
    let run_dir = runs::run_dir(state_dir, &target.run_id);
    for record in &target.files {
        let path = project_dir.join(&record.path);
        match (&record.backup, record.existed) {
            (Some(backup), true) => {
                let backup = manifest_path(&run_dir, backup)?;
                let Now::File { bytes, .. } = now(&backup)? else {
                    return Err(refused(format!(
                        "the backup of {} in run {} is missing; nothing was restored",
                        record.path, target.run_id
                    )));
                };
                // Bytes and mode land together: the file is never new bytes at the old mode or
                // the reverse.
                tx.write_with_mode(&path, &bytes, record.mode)?;
            }
            _ => {
                if fs::symlink_metadata(&path).is_ok() {
                    tx.quarantine(&path)?;
                }
            }
        }
    }
    Ok(())
}

/// Marks `target` undone. The undo run's commit is the undo; this mark is for readers (and
/// older doctors). Not marking it (a full disk) loses nothing: `is_undone` also reads the undo
/// run's `undoes`, committed before.
fn mark_undone(state_dir: &Path, target: &Manifest) {
    let run_dir = runs::run_dir(state_dir, &target.run_id);
    let mut done = target.clone();
    done.status = RunStatus::Undone;
    let _ = write_manifest(state_dir, &run_dir, &done);
}

/// Every path an undo put back, each once: a file the run moved to quarantine was also backed
/// up before the move, so it is in both of the run's lists.
fn restored_paths(target: &Manifest) -> Vec<String> {
    let mut seen = std::collections::HashSet::new();
    target
        .files
        .iter()
        .filter(|f| f.existed)
        .map(|f| f.path.clone())
        .chain(target.quarantined.iter().map(|q| q.from.clone()))
        .filter(|path| seen.insert(path.clone()))
        .collect()
}

//! How a begun run ends when it cannot commit: rolled back, with one line saying what that left.
//! Every stop of a run (Ctrl-C, a failed write, a broken lock, a failed re-check, no fixpoint)
//! comes here, so the rollback is written once.

use crate::write::{Transaction, WriteError};

use super::env::{RepairEnv, RepairError};

/// Why a begun run stops before its commit. Each is rolled back by `Stop::roll_back`.
pub(super) enum Stop {
    /// Ctrl-C (at the prompt, between passes, after a pass's writes or before the commit).
    Interrupted,
    /// A write failed (a full disk, a linked folder).
    Write(WriteError),
    /// The pass lock could not be taken, or was broken while held: the reason.
    Aborted(String),
    /// A pass's re-check refuted a fix: the reason.
    RolledBack(String),
    /// No fixpoint within `MAX_PASSES`.
    NotConverged,
}

impl Stop {
    /// Rolls the run back and turns the stop into the error that says why and what was left.
    pub(super) fn roll_back(self, env: &RepairEnv<'_>, tx: Transaction) -> RepairError {
        match self {
            Stop::Interrupted => RepairError::Interrupted(roll_back(env, tx)),
            Stop::Write(err) => aborted(env, tx, err),
            Stop::Aborted(why) => RepairError::Aborted(format!("{why}; {}", roll_back(env, tx))),
            Stop::RolledBack(reason) => {
                RepairError::RolledBack(format!("{reason}; {}", roll_back(env, tx)))
            }
            Stop::NotConverged => RepairError::NotConverged(roll_back(env, tx)),
        }
    }
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
pub(super) fn aborted(env: &RepairEnv<'_>, tx: Transaction, err: WriteError) -> RepairError {
    let why = if err.is_no_space() {
        format!("no space left on the disk ({err})")
    } else {
        err.to_string()
    };
    RepairError::Aborted(format!("{why}; {}", roll_back(env, tx)))
}

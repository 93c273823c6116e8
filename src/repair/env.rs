//! What a fix run is given (its options, fresh contexts, the checks, the interrupt flag, the
//! pass lock) and how it fails: what every step of the run shares, kept apart from the steps so
//! that each names it without naming the loop that drives them.

use std::sync::atomic::AtomicBool;

use crate::diag::Diagnostic;
use crate::engine::{Context, Report};
use crate::write::WriteError;

/// A fixpoint that is not reached in this many passes is a doctor bug.
pub const MAX_PASSES: usize = 10;

pub struct RepairOptions {
    pub unsafe_fixes: bool,
    /// Ask before each fix; safe and unsafe fixes are both offered.
    pub interactive: bool,
}

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

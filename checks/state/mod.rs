//! The state check: instar's locks and socket, and the agent repository's git state (hazards
//! #9a, #17, #18, #29, #30). Only fixed paths are looked at; nothing is listed or read whole
//! beyond a small lock file.

pub mod codes;
mod locks;

use crate::diag::{Code, Diagnostic, Effect, Sink};
use crate::engine::Context;
use crate::fix::Fix;

use super::Check;
use codes::*;

pub struct StateCheck;

impl Check for StateCheck {
    fn id(&self) -> &'static str {
        "state"
    }

    fn codes(&self) -> &'static [&'static Code] {
        codes::ALL
    }

    fn run(&self, cx: &Context, sink: &mut Sink) {
        locks::instance_lock(cx, sink);
        locks::lifeline_lock(cx, sink);
        locks::socket(cx, sink);
        rebase(cx, sink);
    }
}

/// A rebase left half-done in the project's repository (a plain `.git` folder only: a linked
/// worktree's state lives elsewhere and is its own repository's business).
fn rebase(cx: &Context, sink: &mut Sink) {
    for name in ["rebase-merge", "rebase-apply"] {
        let dir = cx.project_dir.join(".git").join(name);
        if !dir.is_dir() {
            continue;
        }
        sink.push(
            Diagnostic::new(
                &REBASE_STUCK,
                Effect::Silent,
                format!(".git/{name}/ exists: the repository is stuck mid-rebase, so git sync and updates that commit are blocked"),
            )
            .file(&dir)
            .fix(Some(Fix::manual("git rebase --abort (or finish the rebase) in the project"))),
        );
        return;
    }
}

//! The state check: instar's locks and socket, the agent repository's git state, large
//! append-only files, memory quarantines, the resume queue, session records, leftover keys, pool
//! config homes and Telegram ids (hazards #9a, #17, #18, #29, #30, #28, #16, #35, #36, #37, #25,
//! #24, #34). Fixed paths and bounded listings only; large files are judged by size, never read.

pub mod codes;
mod identity_git;
mod locks;
mod memory;
mod pool;
mod queue;
mod sessions;
mod sizes;
mod telegram;
mod threadline;

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
    fn about(&self) -> &'static str {
        "locks, queues and logs"
    }

    fn codes(&self) -> &'static [&'static Code] {
        codes::ALL
    }

    fn run(&self, cx: &Context, sink: &mut Sink) {
        locks::instance_lock(cx, sink);
        locks::lifeline_lock(cx, sink);
        locks::socket(cx, sink);
        rebase(cx, sink);
        sizes::oversized(cx, sink);
        memory::quarantine(cx, sink);
        queue::paused(cx, sink);
        sessions::ghosts(cx, sink);
        threadline::orphan(cx, sink);
        pool::homes(cx, sink);
        identity_git::tracked(cx, sink);
        telegram::string_ids(cx, sink);
    }
}

/// A rebase left half-done in the project's repository (a plain `.git` folder only: a linked
/// worktree's state lives elsewhere and is its own repository's business).
fn rebase(cx: &Context, sink: &mut Sink) {
    for name in ["rebase-merge", "rebase-apply"] {
        let dir = cx.project_dir.join(".git").join(name);
        if !cx.is_dir(&dir) {
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

//! The hooks check: `.claude/settings.json`, the hook files under `.instar/hooks/` and
//! `.claude/hooks/`, relay scripts, skills and the port literals they carry (hazards #2, #3,
//! #5, #14, #15). Every guardrail instar installs runs through these files; when they are
//! broken Claude Code carries on without a word.
//!
//! Reads are bounded (files.rs); nothing is spawned unless `--deep` (`node --check`).

pub mod codes;
mod esm;
mod files;
mod ports;
mod relay;
mod settings;
mod wiring;

pub use esm::bare_require;
pub use wiring::GUARDRAILS;

use crate::diag::{Code, Sink};
use crate::engine::Context;

use super::Check;

pub struct HooksCheck;

impl Check for HooksCheck {
    fn id(&self) -> &'static str {
        "hooks"
    }
    fn about(&self) -> &'static str {
        "Claude hooks, scripts and skills"
    }

    fn codes(&self) -> &'static [&'static Code] {
        codes::ALL
    }

    fn run(&self, cx: &Context, sink: &mut Sink) {
        let hooks = files::hook_files(cx);
        if let Some(wiring) = settings::check(cx, sink) {
            wiring::check(cx, &wiring, sink);
        }
        esm::check(cx, &hooks, sink);
        esm::deep_check(cx, &hooks, sink);
        relay::check(cx, sink);
        ports::check(cx, &hooks, sink);
    }
}

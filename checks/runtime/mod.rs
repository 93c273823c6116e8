//! The runtime check: the shadow install, the node behind `.instar/bin/node`, native modules
//! and update state (hazards #1, #12, #13, #23, #27, #31). Only fixed paths are looked at (no
//! walk of node_modules); the native module is scanned in chunks, never loaded or run.

pub mod codes;
mod native;
mod node;
mod update;

use crate::diag::{Code, Sink};
use crate::engine::Context;

use super::Check;

pub struct RuntimeCheck;

impl Check for RuntimeCheck {
    fn id(&self) -> &'static str {
        "runtime"
    }
    fn about(&self) -> &'static str {
        "the shadow install and node"
    }

    fn codes(&self) -> &'static [&'static Code] {
        codes::ALL
    }

    fn run(&self, cx: &Context, sink: &mut Sink) {
        native::check(cx, sink);
        node::check(cx, sink);
        update::check(cx, sink);
    }
}

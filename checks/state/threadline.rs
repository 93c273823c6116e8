//! The orphan threadline keypair (#37): `.instar/threadline/identity-keys.json`, inert from the
//! version that stopped minting it. Only its existence is looked at: it holds a private key.

use crate::diag::{Diagnostic, Effect, Sink};
use crate::engine::Context;
use crate::fix::Fix;
use crate::version::boundary;

use super::codes::THREADLINE_ORPHAN_KEYPAIR;

pub const KEYPAIR: &str = "threadline/identity-keys.json";

pub fn orphan(cx: &Context, sink: &mut Sink) {
    // Before the boundary instar still mints and uses the file: it is no orphan there.
    if cx.version < boundary::THREADLINE_KEYPAIR_NOT_MINTED {
        return;
    }
    let path = cx.state_path(KEYPAIR);
    if cx.file_len(&path).is_none() {
        return;
    }
    sink.push(
        Diagnostic::new(
            &THREADLINE_ORPHAN_KEYPAIR,
            Effect::None,
            format!(
                "{} is an orphan keypair instar {} no longer uses; on the relay its key was a dead twin of the agent that swallowed messages",
                cx.display_path(&path),
                cx.version
            ),
        )
        .file(&path)
        .fix(Some(Fix::manual(format!(
            "move {} out of the project once the relay no longer lists its key (it holds a private key)",
            cx.display_path(&path)
        )))),
    );
}

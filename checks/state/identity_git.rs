//! The agent's private identity tracked by git (#24): `.git/index` read directly, never git.
//!
//! The index is read only when a candidate file is on disk with key material in the clear, so
//! the typical agent (no such file) pays nothing for this rule.

use crate::diag::{Diagnostic, Effect, Sink};
use crate::engine::Context;
use crate::fix::Fix;

use super::codes::IDENTITY_TRACKED_BY_GIT;
use super::threadline::KEYPAIR;

/// identity.json is a small JSON document; past this it is not instar's and is not read.
const MAX_IDENTITY: u64 = 1 << 20;

pub fn tracked(cx: &Context, sink: &mut Sink) {
    let mut candidates = Vec::new();
    let identity = cx.state_path("identity.json");
    if plaintext_identity(cx, &identity) {
        candidates.push(identity);
    }
    let keypair = cx.state_path(KEYPAIR);
    if cx.file_len(&keypair).is_some() {
        candidates.push(keypair);
    }
    if candidates.is_empty() {
        return;
    }
    let Some(paths) = cx.git_tracked() else {
        return;
    };
    for file in candidates {
        let rel = cx.display_path(&file);
        if !paths.contains(&rel) {
            continue;
        }
        sink.push(
            Diagnostic::new(
                &IDENTITY_TRACKED_BY_GIT,
                Effect::None,
                format!("{rel} is tracked by git and holds the agent's private key in the clear"),
            )
            .file(&file)
            .help("treat the key as leaked: anyone with a clone can act as this agent")
            .fix(Some(Fix::manual(format!(
                "git rm --cached {rel}, add it to .gitignore, then rotate the agent identity"
            )))),
        );
    }
}

/// Whether `.instar/identity.json` stores its private key unencrypted
/// (`privateKeyEncryption: "none"`). Only that one field is looked at; the key is never quoted.
fn plaintext_identity(cx: &Context, path: &std::path::Path) -> bool {
    if cx.file_len(path).is_none_or(|len| len > MAX_IDENTITY) {
        return false;
    }
    let Some(doc) = cx.json(path) else {
        return false;
    };
    let Some(tape) = doc.tape() else { return false };
    let root = tape.root();
    root.get("privateKeyEncryption")
        .and_then(|v| v.as_str())
        .is_some_and(|v| v == "none")
}

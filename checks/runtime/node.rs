//! `.instar/bin/node` pointing into an install that a package manager will delete (hazard #23).
//! A missing, dangling or looping link is boot/node-link; this is the link that works today.

use std::path::Path;

use crate::diag::{Diagnostic, Effect, Sink};
use crate::engine::Context;
use crate::fix::Fix;

use super::codes::*;

/// Path pieces of installs that disappear on upgrade or uninstall.
const VERSIONED: &[(&str, &str)] = &[
    ("/Cellar/node/", "a Homebrew Cellar version folder"),
    ("/Cellar/node@", "a Homebrew Cellar version folder"),
    ("/opt/node@", "a versioned Homebrew keg"),
    ("/.nvm/versions/node/", "an nvm install"),
    ("/.asdf/installs/nodejs/", "an asdf install"),
    ("/mise/installs/node/", "a mise install"),
];

pub fn check(cx: &Context, sink: &mut Sink) {
    let link = cx.state_path("bin/node");
    let Some(target) = cx.read_link(&link) else {
        return; // not a link (or absent): boot/node-link's business
    };
    // The link must work today; a dangling one is boot/node-link.
    let Some(real) = cx.canonicalize(&link) else {
        return;
    };
    let Some(kind) = versioned(&target).or_else(|| versioned(&real)) else {
        return;
    };
    sink.push(
        Diagnostic::new(
            &NODE_LINK_VERSIONED,
            Effect::Silent,
            format!(
                ".instar/bin/node points into {kind} ({}): the package manager deletes it on upgrade or uninstall, and launchd then cannot start the agent",
                target.display()
            ),
        )
        .file(&link)
        .help("instar's wrapper re-links to a stable node only when one exists; without one, install node at a stable path first")
        .fix(Some(Fix::manual(
            "ln -sfn /opt/homebrew/bin/node .instar/bin/node (or /usr/local/bin/node), keeping the same Node major version",
        ))),
    );
}

fn versioned(path: &Path) -> Option<&'static str> {
    let text = path.to_string_lossy();
    VERSIONED
        .iter()
        .find(|(piece, _)| text.contains(piece))
        .map(|(_, kind)| *kind)
}

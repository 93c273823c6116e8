//! The keys and git: `.gitignore` coverage (instar's own doctor check, spec §6.6 K-GITIGNORE)
//! and key files tracked in `.git/index` (K-TRACKED), without spawning git.

use crate::diag::{Diagnostic, Effect, Sink};
use crate::engine::Context;
use crate::fix::{Change, Fix};
use crate::source::FileState;

use super::super::machine_state as state;
use super::codes::*;

/// The lines instar's ensureGitignore adds (spec §6.6), the only lines the doctor ever adds.
const BLOCK: &str = "# Machine secrets (NEVER commit)\n.instar/machine/signing-key.pem\n.instar/machine/encryption-key.pem\n.instar/secrets/\n.instar/pairing/\n";

pub fn check(cx: &Context, sink: &mut Sink) {
    if !state::any_key_file(cx) && !state::identity(cx).exists {
        return;
    }
    // Like instar's own doctor, .gitignore is checked in a repository and wherever one exists.
    let git = cx.project_has_git();
    if git || cx.entry_exists(&cx.project_dir.join(".gitignore")) {
        gitignore(cx, sink);
    }
    if git {
        tracked(cx, sink);
    }
}

/// Whether a `.gitignore` line ignores a key file of `names` (instar's substring test, plus the
/// broader patterns that also ignore it).
fn covers(text: &str, names: &[&str]) -> bool {
    text.lines().map(str::trim).any(|line| {
        if line.is_empty() || line.starts_with('#') || line.starts_with('!') {
            return false;
        }
        names.iter().any(|n| line.contains(n))
            || matches!(
                line.trim_start_matches('/').trim_end_matches('*'),
                "*.pem" | ".instar/" | ".instar" | ".instar/machine/" | ".instar/machine" | "."
            )
            || line == "*.pem"
    })
}

fn gitignore(cx: &Context, sink: &mut Sink) {
    let path = cx.project_dir.join(".gitignore");
    let file = cx.file(&path);
    let text = match &*file {
        FileState::Present(loaded) => String::from_utf8_lossy(&loaded.bytes).into_owned(),
        FileState::Missing => String::new(),
        _ => return,
    };
    let signing = covers(&text, &["signing-key.pem", "signing-private.pem"]);
    let encryption = covers(&text, &["encryption-key.pem", "encryption-private.pem"]);
    if signing && encryption {
        return;
    }
    let missing = match (signing, encryption) {
        (false, false) => "the signing and the encryption key",
        (false, true) => "the signing key",
        _ => "the encryption key",
    };
    let change = match &*file {
        FileState::Present(loaded) => {
            let len = loaded.bytes.len();
            let lead = if len == 0 || loaded.bytes.ends_with(b"\n") {
                "\n"
            } else {
                "\n\n"
            };
            let lead = if len == 0 { "" } else { lead };
            Change::Edit {
                file: path.clone().into(),
                span: len..len,
                replacement: format!("{lead}{BLOCK}").into(),
            }
        }
        _ => Change::Write {
            file: path.clone(),
            contents: BLOCK.as_bytes().to_vec(),
        },
    };
    sink.push(
        Diagnostic::new(
            &GITIGNORE,
            Effect::None,
            format!(".gitignore does not cover {missing} in .instar/machine/"),
        )
        .file(&path)
        .help("identity.json and the registry are committed; a `git add .` would commit the private keys too")
        .fix(Some(Fix::safe("append instar's machine-secrets block to .gitignore", vec![change]))),
    );
}

fn tracked(cx: &Context, sink: &mut Sink) {
    let Some(paths) = cx.git_tracked() else {
        return;
    };
    for key in super::key_paths(cx) {
        let rel = cx.display_path(&key);
        let temp_prefix = format!("{rel}.tmp.");
        for tracked in paths
            .iter()
            .filter(|p| **p == rel || p.starts_with(&temp_prefix))
        {
            sink.push(
                Diagnostic::new(
                    &TRACKED_BY_GIT,
                    Effect::None,
                    format!("{tracked} is tracked by git: the private key is in the repository"),
                )
                .file(cx.project_dir.join(tracked))
                .help("treat the key as leaked: anyone with a clone can impersonate this machine")
                .fix(Some(Fix::manual(format!(
                    "git rm --cached {tracked}, then rotate the key (re-key, re-pair, revoke the old entry)"
                )))),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::covers;

    #[test]
    fn coverage_accepts_names_and_broader_patterns() {
        let names = ["signing-key.pem", "signing-private.pem"];
        assert!(covers(".instar/machine/signing-key.pem\n", &names));
        assert!(covers("signing-private.pem", &names));
        assert!(covers("*.pem\n", &names));
        assert!(covers(".instar/\n", &names));
        assert!(!covers("# signing-key.pem\n", &names));
        assert!(!covers("!.instar/machine/signing-key.pem\n", &names));
        assert!(!covers("node_modules/\n", &names));
    }
}

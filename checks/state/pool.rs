//! Subscription-pool config homes that are not interactive-ready (#25): each claude-code
//! account's `<configHome>/.claude.json` must carry the three onboarding flags instar seeds.
//! The homes live outside the project, so they are only read, never written.

use std::path::PathBuf;

use crate::diag::{Diagnostic, Effect, Severity, Sink};
use crate::engine::Context;
use crate::fix::Fix;
use crate::version::boundary;

use super::codes::POOL_HOME_NOT_READY;

/// instar's list (INTERACTIVE_ONBOARDING_FLAGS): each must be exactly `true`.
const FLAGS: [&str; 3] = [
    "hasCompletedOnboarding",
    "bypassPermissionsModeAccepted",
    "hasTrustDialogAccepted",
];
/// Claude Code's `.claude.json` keeps per-project history and grows to megabytes; past this the
/// file is not read and nothing is said about it.
const MAX_CLAUDE_JSON: u64 = 32 << 20;
const MAX_POOL: u64 = 4 << 20;

pub fn homes(cx: &Context, sink: &mut Sink) {
    let pool = cx.state_path("subscription-pool.json");
    if cx.file_len(&pool).is_none_or(|len| len > MAX_POOL) {
        return;
    }
    let Some(doc) = cx.json(&pool) else { return };
    let Some(tape) = doc.tape() else { return };
    let Some(accounts) = tape.root().get("accounts") else {
        return;
    };
    for account in accounts.elements() {
        if account.get("framework").and_then(|f| f.as_str()).as_deref() != Some("claude-code") {
            continue;
        }
        let Some(config_home) = account
            .get("configHome")
            .and_then(|h| h.as_str())
            .map(|h| h.trim().to_string())
            .filter(|h| !h.is_empty())
        else {
            continue;
        };
        let Some(home) = expand(cx, &config_home) else {
            continue;
        };
        let Some((problem, home_missing)) = readiness(cx, &home) else {
            continue;
        };
        let id = account
            .get("id")
            .and_then(|i| i.as_str())
            .map(|i| i.into_owned())
            .unwrap_or_else(|| "?".to_string());
        // A missing home has no credentials either: no version's seeding makes it usable.
        let healed = cx.version >= boundary::POOL_HOMES_INTERACTIVE_READY && !home_missing;
        let (severity, effect, consequence) = if healed {
            (
                Severity::Info,
                Effect::None,
                format!(
                    "instar {} sets the flags at the next pinned or swapped launch",
                    cx.version
                ),
            )
        } else {
            (
                Severity::Warning,
                Effect::Silent,
                "a session pinned or swapped to it stops at Claude's first-run screens".to_string(),
            )
        };
        sink.push(
            Diagnostic::new(
                &POOL_HOME_NOT_READY,
                effect,
                format!("pool account {id:?}: {problem}: {consequence}"),
            )
            .severity(severity)
            .file(&pool)
            .at(account.span(), "this account")
            .pointer(account.pointer())
            .fix(Some(Fix::manual(format!(
                "CLAUDE_CONFIG_DIR={config_home} claude (finish onboarding once), or update instar"
            )))),
        );
    }
}

/// `~` means the user's home, as instar expands it; `None` when the home is unknown.
fn expand(cx: &Context, home: &str) -> Option<PathBuf> {
    match home.strip_prefix('~') {
        Some(rest) => Some(cx.home_dir()?.join(rest.trim_start_matches('/'))),
        None => Some(PathBuf::from(home)),
    }
}

/// Why the home is not ready and whether the home itself is missing, or `None` when it is ready
/// (or cannot be judged).
fn readiness(cx: &Context, home: &std::path::Path) -> Option<(String, bool)> {
    if !cx.exists(home) {
        return Some((
            format!("its config home {} does not exist", home.display()),
            true,
        ));
    }
    let file = home.join(".claude.json");
    if !cx.exists(&file) {
        return Some((format!("{} is missing", file.display()), false));
    }
    if cx.file_len(&file)? > MAX_CLAUDE_JSON {
        return None;
    }
    let doc = cx.json(&file)?;
    // An unparseable file is refused by instar too; it is Claude's to report, not a flag gap.
    let tape = doc.tape()?;
    let root = tape.root();
    let missing: Vec<&str> = FLAGS
        .iter()
        .copied()
        .filter(|flag| root.get(flag).and_then(|v| v.as_bool()) != Some(true))
        .collect();
    (!missing.is_empty()).then(|| {
        let what = format!("{} lacks {}", file.display(), missing.join(", "));
        (what, false)
    })
}

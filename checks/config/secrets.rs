//! The config's secrets: unresolvable `{secret:true}` placeholders (C-SECRETS), plaintext secrets
//! readable by others (C-PERM) or tracked by git (C-GIT), a network-facing host without a token
//! (C-HOST) and the context signing key (C-CSK). No message ever holds a secret's value.

use std::path::Path;

use crate::diag::{Diagnostic, Effect, Severity, Sink};
use crate::engine::HostOs;
use crate::fix::{Change, Fix};
use crate::json::{Kind, Value};
use crate::redact;
use crate::version::boundary;

use super::codes::*;
use super::members::{is_placeholder, string};
use super::schema::dotted;
use super::Config;

pub fn check(cfg: &Config<'_>, sink: &mut Sink) {
    placeholders(cfg, sink);
    if holds_plaintext_secret(&cfg.root) {
        permissions(cfg, sink);
        tracked_by_git(cfg, sink);
    }
    host_without_auth(cfg, sink);
    context_signing_key(cfg, sink);
}

/// Every value of the document, depth first, with its pointer computed lazily by the caller.
fn walk<'a>(root: Value<'a>, mut each: impl FnMut(Value<'a>) -> bool) {
    let mut stack = vec![root];
    while let Some(value) = stack.pop() {
        if !each(value) {
            continue;
        }
        match value.kind() {
            Kind::Object => stack.extend(value.members().map(|(_, v)| v)),
            Kind::Array => stack.extend(value.elements()),
            _ => {}
        }
    }
}

pub fn is_loopback(host: Option<&str>) -> bool {
    matches!(host, None | Some("127.0.0.1" | "localhost" | "::1"))
}

/// Why no secret can be resolved, if none can: the store or its master key is missing.
fn unresolvable_reason(cfg: &Config<'_>) -> Option<String> {
    let cx = cfg.cx;
    let store = cx.state_path("secrets/config.secrets.enc");
    if !cx.file(&store).exists_for_instar() {
        return Some("there is no secret store (.instar/secrets/config.secrets.enc)".into());
    }
    let key = cx.state_path("machine/secrets-master.key");
    let force_file_key = cfg
        .root
        .get("secrets")
        .and_then(|s| s.get("forceFileKey"))
        .and_then(|v| v.as_bool())
        == Some(true);
    // The OS keychain is macOS's; reading it would mean spawning `security`, so on macOS a
    // missing key file is not proof of anything unless the file key is forced.
    let keychain_possible = cx.host_os() == HostOs::MacOs && !force_file_key;
    if !cx.file(&key).exists_for_instar() && !keychain_possible {
        return Some(
            "the store's master key is missing (.instar/machine/secrets-master.key, and no keychain)"
                .into(),
        );
    }
    None
}

/// The boot-critical field a placeholder at `pointer` fills, per HEAD's
/// `assertNoCriticalSecretPlaceholders`.
fn critical_field(root: &Value<'_>, pointer: &str) -> bool {
    if pointer == "/authToken" {
        let host = string(root.get("host"));
        return !is_loopback(host.as_deref());
    }
    let parts: Vec<&str> = pointer.split('/').skip(1).collect();
    let ["messaging", index, "config", field] = parts[..] else {
        return false;
    };
    let Some(adapter) = root
        .get("messaging")
        .and_then(|m| m.elements().nth(index.parse().ok()?))
    else {
        return false;
    };
    // An adapter without `enabled` counts as enabled.
    if adapter.get("enabled").and_then(|e| e.as_bool()) == Some(false) {
        return false;
    }
    match string(adapter.get("type")).as_deref() {
        Some("telegram") => matches!(field, "token" | "chatId"),
        Some("slack") => matches!(field, "botToken" | "appToken"),
        _ => false,
    }
}

fn placeholders(cfg: &Config<'_>, sink: &mut Sink) {
    let mut found = Vec::new();
    walk(cfg.root, |value| {
        if is_placeholder(&value) {
            found.push(value);
            return false;
        }
        true
    });
    if found.is_empty() {
        return;
    }
    let Some(reason) = unresolvable_reason(cfg) else {
        return;
    };
    let version = cfg.cx.version;
    let fails_fast = version >= boundary::SECRET_PLACEHOLDERS_FAIL_FAST;
    found.sort_by_key(|v| v.span().start);
    for value in found {
        let pointer = value.pointer();
        let field = dotted(&pointer);
        let critical = critical_field(&cfg.root, &pointer);
        let (effect, severity, consequence) = match (critical, fails_fast) {
            (true, true) => (
                Effect::Fatal,
                Severity::Error,
                format!("instar {version} refuses to boot (\"Secrets cannot be resolved for boot-critical config fields\")"),
            ),
            (true, false) => (
                Effect::Silent,
                Severity::Error,
                format!("instar {version} swallows the error and uses the placeholder object as the value, so this boot-critical field is certainly broken"),
            ),
            (false, true) => (
                Effect::Silent,
                Severity::Warning,
                format!("instar {version} reports a degradation and runs with the placeholder object as the value"),
            ),
            (false, false) => (
                Effect::Silent,
                Severity::Warning,
                format!("instar {version} silently uses the placeholder object as the value"),
            ),
        };
        sink.push(
            Diagnostic::new(
                &UNRESOLVED_SECRET,
                effect,
                format!("{field} is a secret-store placeholder, but {reason}: {consequence}"),
            )
            .severity(severity)
            .file(cfg.path)
            .at(value.span(), "unresolvable placeholder")
            .pointer(pointer)
            .fix(Some(Fix::manual(
                "restore the secret store and its master key from this machine's backup, re-pair with `instar pair`, or enter the value again",
            ))),
        );
    }
}

/// Whether any value under a secret key is a non-empty plaintext string.
pub fn holds_plaintext_secret(root: &Value<'_>) -> bool {
    let mut found = false;
    walk(*root, |value| {
        if found {
            return false;
        }
        if let Some(key) = value.key() {
            if redact::is_secret_key(&key)
                && value.kind() == Kind::String
                && !value.as_str().unwrap_or_default().is_empty()
            {
                found = true;
            }
        }
        true
    });
    found
}

fn permissions(cfg: &Config<'_>, sink: &mut Sink) {
    if cfg.mode & 0o077 == 0 {
        return;
    }
    let agent_uid = cfg.cx.agent_uid();
    let tightened = cfg.mode & !0o077;
    let fix = if agent_uid == Some(cfg.uid) {
        Fix::safe(
            format!("chmod {tightened:o} .instar/config.json"),
            vec![Change::SetMode {
                file: cfg.path.clone(),
                mode: tightened,
            }],
        )
    } else {
        Fix::manual(format!(
            "config.json is not owned by the agent user (the owner of .instar/): chown it, then chmod {tightened:o}"
        ))
    };
    sink.push(
        Diagnostic::new(
            &PERMISSIONS,
            Effect::Silent,
            format!(
                "config.json holds plaintext secrets and has mode {:04o}: other local users can read them",
                cfg.mode
            ),
        )
        .file(cfg.path)
        .help("init writes 0600, but every tmp+rename rewrite by instar (migrator, LiveConfig) leaves 0644")
        .fix(Some(fix)),
    );
}

fn tracked_by_git(cfg: &Config<'_>, sink: &mut Sink) {
    // A project-bound agent's repository is the project folder itself (instar finds P by its
    // .git); a repository further up is someone else's business and would make the verdict
    // depend on where the folder happens to live.
    let repo = &cfg.cx.project_dir;
    if !cfg.cx.project_has_git() {
        return;
    }
    let relative = ".instar/config.json";
    let Some(paths) = cfg.cx.git_tracked() else {
        return;
    };
    if paths.iter().any(|p| p == relative) {
        sink.push(
            Diagnostic::new(
                &SECRET_TRACKED,
                Effect::None,
                format!("{relative} is tracked by git and holds plaintext secrets: they are in the history of every clone"),
            )
            .file(cfg.path)
            .help(format!("read from {}", display_index(repo)))
            .fix(Some(Fix::manual(format!(
                "git rm --cached {relative}, add it to .gitignore, and rotate every token it held"
            )))),
        );
    }
}

fn display_index(repo: &Path) -> String {
    let _ = repo;
    ".git/index".to_string()
}

fn host_without_auth(cfg: &Config<'_>, sink: &mut Sink) {
    let Some(host_value) = cfg.root.get("host").filter(|h| h.kind() == Kind::String) else {
        return;
    };
    let host = host_value.as_str().unwrap_or_default();
    if is_loopback(Some(&host)) {
        return;
    }
    let token = cfg.root.get("authToken");
    let has_token = token.is_some_and(|t| {
        is_placeholder(&t)
            || (t.kind() == Kind::String && !t.as_str().unwrap_or_default().is_empty())
    });
    if has_token {
        return;
    }
    sink.push(
        Diagnostic::new(
            &HOST_WITHOUT_AUTH,
            Effect::Silent,
            format!("host is {host:?} but there is no authToken: the agent's API is open to the network"),
        )
        .file(cfg.path)
        .at(host_value.span(), "not a loopback address")
        .pointer("/host")
        .help("instar only logs \"exposes the API without authentication\" and starts anyway")
        .fix(Some(Fix::manual(
            "set an authToken (a random UUID, as init writes), or bind host to 127.0.0.1",
        ))),
    );
}

fn context_signing_key(cfg: &Config<'_>, sink: &mut Sink) {
    match cfg.root.get("contextSigningKey") {
        None => sink.push(
            Diagnostic::new(
                &CONTEXT_SIGNING_KEY,
                Effect::None,
                "contextSigningKey is not set yet: the next instar command or server start generates it and rewrites config.json in place",
            )
            .file(cfg.path)
            .help("this is normal for a config that has never been loaded; leave it to instar"),
        ),
        Some(key) => {
            let well_formed = key.kind() == Kind::String
                && key.as_str().is_some_and(|k| {
                    k.len() == 64 && k.bytes().all(|b| b.is_ascii_hexdigit())
                });
            if !well_formed {
                sink.push(
                    Diagnostic::new(
                        &CONTEXT_SIGNING_KEY,
                        Effect::None,
                        "contextSigningKey is not 64 hex digits: instar did not write it",
                    )
                    .severity(Severity::Warning)
                    .file(cfg.path)
                    .at(key.span(), "not 64 hex digits")
                    .pointer("/contextSigningKey")
                    .help("it still works as an HMAC key; changing it would invalidate every signed context file, so it is only reported"),
                );
            }
        }
    }
}

//! The keys check: the private-key PEMs under their canonical and legacy names (spec §6): format,
//! algorithm, the match with identity.json, permissions and owner, temp files, `.gitignore`
//! coverage and git tracking. Owns the identity↔key mismatch and `.gitignore` (design §3).

pub mod codes;
mod git;

use std::path::{Path, PathBuf};

use crate::diag::{Code, Diagnostic, Effect, Label, Severity, Sink};
use crate::engine::Context;
use crate::fix::{Change, Fix};
use crate::machine::{fingerprint, parse_private_pem, KeyAlg, PemProblem, PrivateKeyInfo};
use crate::source::FileState;

use super::machine_state::{self as state, IdentityView, KeyFile};
use super::Check;
use codes::*;

pub struct KeysCheck;

impl Check for KeysCheck {
    fn id(&self) -> &'static str {
        "keys"
    }
    fn about(&self) -> &'static str {
        "the private and public key files"
    }

    fn codes(&self) -> &'static [&'static Code] {
        codes::ALL
    }

    fn run(&self, cx: &Context, sink: &mut Sink) {
        let identity = state::identity(cx);
        let agent = state::agent_uid(cx);
        for alg in [KeyAlg::Ed25519, KeyAlg::X25519] {
            check_algorithm(cx, &identity, alg, agent, sink);
        }
        swapped(cx, &identity, sink);
        for alg in [KeyAlg::Ed25519, KeyAlg::X25519] {
            temp_files(cx, &identity, alg, sink);
        }
        git::check(cx, sink);
    }
}

fn kind(alg: KeyAlg) -> &'static str {
    match alg {
        KeyAlg::Ed25519 => "signing",
        KeyAlg::X25519 => "encryption",
    }
}

fn check_algorithm(
    cx: &Context,
    identity: &IdentityView,
    alg: KeyAlg,
    agent: Option<u32>,
    sink: &mut Sink,
) {
    let any = standing_files(cx, alg, agent, sink);
    let files = state::key_files(cx, alg);
    let swapped = is_swapped(cx);
    for file in &files {
        match &file.parsed {
            Err(problem) => sink.push(invalid_pem(cx, file, problem)),
            Ok(info) => {
                if info.crlf {
                    sink.push(crlf(cx, file, info));
                }
                if info.alg != alg {
                    if !swapped {
                        sink.push(wrong_algorithm(cx, file, info, alg));
                    }
                    continue;
                }
                mismatch(cx, identity, alg, file, info, sink);
            }
        }
    }
    names_differ(cx, identity, alg, &files, sink);
    legacy_only(cx, alg, sink);
    if !any && identity.exists {
        sink.push(missing_key(cx, identity, alg));
    }
}

/// The key's files under either name, as files: each one there has its permissions checked, and
/// one that cannot be read is reported. Returns whether any stands there.
fn standing_files(cx: &Context, alg: KeyAlg, agent: Option<u32>, sink: &mut Sink) -> bool {
    let mut any = false;
    for name in state::key_names(alg) {
        let path = cx.state_path(&format!("machine/{name}"));
        let file = cx.file(&path);
        match &*file {
            FileState::Missing => continue,
            FileState::Present(loaded) => {
                any = true;
                permissions(cx, &path, loaded.mode, loaded.uid, agent, sink);
            }
            other => {
                any = true;
                // Built here rather than with the shared unreadable finding: the preflight tells the
                // checks that can stop a boot by their use of the shared (fatal) findings.
                sink.push(
                    Diagnostic::new(
                        &UNREADABLE,
                        Effect::Silent,
                        format!(
                            "{} {}: instar cannot load this {} key",
                            cx.display_path(&path),
                            other.describe(),
                            kind(alg)
                        ),
                    )
                    .file(&path)
                    .fix(Some(Fix::manual(
                        "put the real key file back from your backup",
                    ))),
                );
            }
        }
    }
    any
}

/// A key file that is no PEM instar can load.
fn invalid_pem(cx: &Context, file: &KeyFile, problem: &PemProblem) -> Diagnostic {
    Diagnostic::new(
        &INVALID_PEM,
        Effect::Silent,
        format!("{} {}", cx.display_path(&file.path), problem.describe()),
    )
    .file(&file.path)
    .help("instar cannot load this key; the doctor never rewrites a PEM")
    .fix(Some(Fix::manual(
        "restore the key from your backup, or re-key (new identity, re-pair, revoke the old entry)",
    )))
}

/// CRLF line endings: Node loads the key, but they must stay (the raw text keys an HMAC).
fn crlf(cx: &Context, file: &KeyFile, info: &PrivateKeyInfo) -> Diagnostic {
    Diagnostic::new(
        &CRLF,
        Effect::None,
        format!(
            "{} has CRLF line endings (key {})",
            cx.display_path(&file.path),
            fingerprint(&info.public)
        ),
    )
    .file(&file.path)
    .help("Node still loads it; at HEAD the raw PEM text keys an HMAC, so do not convert it")
}

/// A key of the other algorithm under this key's name.
fn wrong_algorithm(cx: &Context, file: &KeyFile, info: &PrivateKeyInfo, alg: KeyAlg) -> Diagnostic {
    Diagnostic::new(
        &WRONG_ALGORITHM,
        Effect::Silent,
        format!(
            "{} holds an {} key ({}), but the {} key must be {}",
            cx.display_path(&file.path),
            info.alg.name(),
            fingerprint(&info.public),
            kind(alg),
            alg.name()
        ),
    )
    .file(&file.path)
    .fix(Some(Fix::manual(
        "restore the right key from your backup, or re-key",
    )))
}

/// An identity whose key has no file under either name.
fn missing_key(cx: &Context, identity: &IdentityView, alg: KeyAlg) -> Diagnostic {
    let [canonical, legacy] = state::key_names(alg);
    Diagnostic::new(
        &MISSING,
        Effect::Silent,
        format!(
            "this machine has an identity but no {} key: neither .instar/machine/{canonical} nor {legacy} exists",
            kind(alg)
        ),
    )
    .file(cx.state_path(&format!("machine/{canonical}")))
    .secondary(Label {
        file: identity.path.clone(),
        span: identity.key_span(alg),
        message: "the public half is here".into(),
    })
    .help("a private key cannot be recovered locally; the doctor never generates keys")
    .fix(Some(Fix::manual(
        "restore the key from your backup, or re-key (new identity, re-pair, revoke the old entry)",
    )))
}

/// The versions where server start reads this key through MachineIdentityManager, which then
/// knew only the canonical name: from the first boot-time reader to the legacy fallback.
fn canonical_only_range(alg: KeyAlg) -> std::ops::Range<crate::version::Version> {
    use crate::version::boundary::*;
    match alg {
        KeyAlg::Ed25519 => SIGNING_KEY_READ_AT_BOOT..SIGNING_KEY_LEGACY_FALLBACK,
        KeyAlg::X25519 => ENCRYPTION_KEY_READ_AT_BOOT..ENCRYPTION_KEY_LEGACY_FALLBACK,
    }
}

/// A key present only under its legacy name (what `instar join` wrote before v1.3.1047) where
/// the version's loader reads only the canonical one (spec §3.9, probed at v1.3.150/v1.3.151).
fn legacy_only(cx: &Context, alg: KeyAlg, sink: &mut Sink) {
    if !canonical_only_range(alg).contains(&cx.version) {
        return;
    }
    let [canonical, legacy] = state::key_names(alg);
    let canonical_path = cx.state_path(&format!("machine/{canonical}"));
    let legacy_path = cx.state_path(&format!("machine/{legacy}"));
    if cx.file(&canonical_path).exists_for_instar() || !cx.file(&legacy_path).exists_for_instar() {
        return;
    }
    let what = match alg {
        KeyAlg::Ed25519 => {
            "reading the signing key fails (ENOENT): the lease and machine requests go unsigned"
        }
        KeyAlg::X25519 => {
            "reading the encryption key fails (ENOENT): what peers encrypt to this machine cannot be read"
        }
    };
    sink.push(
        Diagnostic::new(
            &LEGACY_NAME_ONLY,
            Effect::Silent,
            format!(
                "the {} key exists only as {legacy}; instar {} reads only {canonical}: {what}",
                kind(alg),
                cx.version
            ),
        )
        .file(&legacy_path)
        .help("server start catches the error and boots without it; from the legacy fallback on, instar reads this name too")
        .fix(Some(Fix::manual(format!(
            "copy .instar/machine/{legacy} to .instar/machine/{canonical} (keep the mode 0600), or update instar"
        )))),
    );
}

fn mismatch(
    cx: &Context,
    identity: &IdentityView,
    alg: KeyAlg,
    file: &KeyFile,
    info: &PrivateKeyInfo,
    sink: &mut Sink,
) {
    let Some(expected) = identity.key(alg) else {
        return;
    };
    if expected == info.public {
        return;
    }
    let field = state::public_key_field(alg);
    sink.push(
        Diagnostic::new(
            &PUBLIC_KEY_MISMATCH,
            Effect::Silent,
            format!(
                "{} does not match identity.json: its public key is {}, identity.json's {field} is {}",
                cx.display_path(&file.path),
                fingerprint(&info.public),
                fingerprint(&expected)
            ),
        )
        .file(&file.path)
        .secondary(Label {
            file: identity.path.clone(),
            span: identity.key_span(alg),
            message: format!("{field} ({})", fingerprint(&expected)),
        })
        .help(match alg {
            KeyAlg::Ed25519 => "peers reject everything this machine signs (requests, handoffs, the lease)",
            KeyAlg::X25519 => "what peers encrypt to this machine cannot be decrypted",
        })
        .fix(Some(Fix::manual(
            "restore the matching private key from your backup, or re-key (new identity, re-pair, revoke the old entry)",
        ))),
    );
}

fn names_differ(
    cx: &Context,
    identity: &IdentityView,
    alg: KeyAlg,
    files: &[KeyFile],
    sink: &mut Sink,
) {
    let [Some(canonical), Some(legacy)] = [files.first(), files.get(1)] else {
        return;
    };
    let (Ok(a), Ok(b)) = (&canonical.parsed, &legacy.parsed) else {
        return;
    };
    if a.public == b.public && a.alg == b.alg {
        return;
    }
    let matching =
        identity.key(alg).map(
            |expected| match (a.public == expected, b.public == expected) {
                (true, _) => format!("{} matches identity.json", cx.display_path(&canonical.path)),
                (_, true) => format!("{} matches identity.json", cx.display_path(&legacy.path)),
                _ => "neither matches identity.json".to_string(),
            },
        );
    sink.push(
        Diagnostic::new(
            &NAMES_DIFFER,
            Effect::Silent,
            format!(
                "{} ({}) and {} ({}) hold different {} keys",
                cx.display_path(&canonical.path),
                fingerprint(&a.public),
                cx.display_path(&legacy.path),
                fingerprint(&b.public),
                kind(alg)
            ),
        )
        .file(&legacy.path)
        .secondary(Label {
            file: canonical.path.clone(),
            span: None,
            message: "the canonical name".into(),
        })
        .help(matching.unwrap_or_else(|| "there is no identity.json to tell which is right".into()))
        .fix(Some(Fix::manual(
            "keep the file that matches identity.json and move the other aside yourself",
        ))),
    );
}

fn permissions(
    cx: &Context,
    path: &Path,
    mode: u32,
    uid: u32,
    agent: Option<u32>,
    sink: &mut Sink,
) {
    let shown = cx.display_path(path);
    if let Some(agent) = agent.filter(|a| *a != uid) {
        sink.push(
            Diagnostic::new(
                &OWNER,
                Effect::Silent,
                format!("{shown} is owned by uid {uid}, not by the agent user (uid {agent}, the owner of .instar/)"),
            )
            .file(path)
            .fix(Some(Fix::manual("sudo chown -R $(whoami) .instar/machine/"))),
        );
    }
    if mode & 0o077 == 0 {
        return;
    }
    let world = mode & 0o004 != 0;
    let fix = if agent.is_none_or(|a| a == uid) {
        Fix::safe(
            "restrict the key to its owner (chmod 600)",
            vec![Change::SetMode {
                file: path.to_path_buf(),
                mode: 0o600,
            }],
        )
    } else {
        Fix::manual("chmod 600 as the file's owner")
    };
    sink.push(
        Diagnostic::new(
            &PERMISSIONS,
            Effect::None,
            format!(
                "{shown} has mode {mode:04o}: {} can read this private key",
                if world { "every user" } else { "its group" }
            ),
        )
        .severity(if world {
            Severity::Error
        } else {
            Severity::Warning
        })
        .file(path)
        .fix(Some(fix)),
    );
}

/// Both canonical files hold the other algorithm's key.
fn is_swapped(cx: &Context) -> bool {
    let alg_of = |name: &str| {
        let path = cx.state_path(&format!("machine/{name}"));
        let file = cx.file(&path);
        file.loaded()
            .and_then(|l| parse_private_pem(&l.bytes).ok())
            .map(|i| i.alg)
    };
    alg_of("signing-key.pem") == Some(KeyAlg::X25519)
        && alg_of("encryption-key.pem") == Some(KeyAlg::Ed25519)
}

fn swapped(cx: &Context, identity: &IdentityView, sink: &mut Sink) {
    if !is_swapped(cx) {
        return;
    }
    let signing = cx.state_path("machine/signing-key.pem");
    let encryption = cx.state_path("machine/encryption-key.pem");
    let public = |path: &Path| {
        cx.file(path)
            .loaded()
            .and_then(|l| parse_private_pem(&l.bytes).ok())
            .map(|i| i.public)
    };
    let (in_signing, in_encryption) = (public(&signing), public(&encryption));
    let both_match = identity.signing.is_some()
        && identity.signing == in_encryption
        && identity.encryption.is_some()
        && identity.encryption == in_signing;
    let fix = if both_match {
        let parking = cx.state_path("machine/.signing-key.pem.instar-doctor-swap");
        Fix::unsafe_(
            "swap signing-key.pem and encryption-key.pem back (renames only; no byte changes)",
            vec![
                Change::Rename {
                    from: signing.clone(),
                    to: parking.clone(),
                },
                Change::Rename {
                    from: encryption.clone(),
                    to: signing.clone(),
                },
                Change::Rename {
                    from: parking,
                    to: encryption.clone(),
                },
            ],
        )
    } else {
        Fix::manual("swap the two files back by hand after checking them against identity.json")
    };
    sink.push(
        Diagnostic::new(
            &SWAPPED,
            Effect::Silent,
            "signing-key.pem holds the X25519 (encryption) key and encryption-key.pem the Ed25519 (signing) key",
        )
        .file(&signing)
        .secondary(Label {
            file: encryption,
            span: None,
            message: "holds the signing key".into(),
        })
        .help(if both_match {
            "swapped back, both keys match identity.json"
        } else {
            "swapped back, they would still not both match identity.json"
        })
        .fix(Some(fix)),
    );
}

fn temp_files(cx: &Context, identity: &IdentityView, alg: KeyAlg, sink: &mut Sink) {
    let dir = cx.state_path("machine");
    let [canonical, _] = state::key_names(alg);
    let main = dir.join(canonical);
    for tmp in state::pid_temp_files(cx, &dir, canonical) {
        if state::writer_alive(cx, &tmp) {
            continue;
        }
        let tmp_key = cx
            .file(&tmp)
            .loaded()
            .and_then(|l| parse_private_pem(&l.bytes).ok())
            .filter(|i| i.alg == alg);
        let main_key = cx
            .file(&main)
            .loaded()
            .and_then(|l| parse_private_pem(&l.bytes).ok())
            .filter(|i| i.alg == alg);
        let expected = identity.key(alg);
        let matches = |k: &Option<PrivateKeyInfo>| match (k, expected) {
            (Some(k), Some(e)) => k.public == e,
            _ => false,
        };
        let main_exists = cx.file(&main).exists_for_instar();
        let (fix, help) = if matches(&main_key) {
            (
                Fix::safe(
                    "move the temp file to the doctor's quarantine",
                    vec![Change::Quarantine { file: tmp.clone() }],
                ),
                "the main file matches identity.json, so this copy is redundant",
            )
        } else if !main_exists && matches(&tmp_key) {
            (
                Fix::unsafe_(
                    format!("promote it to {canonical} by rename"),
                    vec![Change::Rename {
                        from: tmp.clone(),
                        to: main.clone(),
                    }],
                ),
                "the main file is missing and this temp file matches identity.json: it is the key",
            )
        } else {
            (
                Fix::manual("compare it with your backup before removing it"),
                "neither this file nor the main file is known to match identity.json",
            )
        };
        let what = match &tmp_key {
            Some(k) => format!("an {} key ({})", k.alg.name(), fingerprint(&k.public)),
            None => "no loadable key".to_string(),
        };
        sink.push(
            Diagnostic::new(
                &STRAY_TEMP_FILE,
                Effect::None,
                format!(
                    "{} is left over from an interrupted key write and holds {what}",
                    cx.display_path(&tmp)
                ),
            )
            .file(&tmp)
            .help(help)
            .fix(Some(fix)),
        );
    }
}

/// Paths of every key file name, for the git checks.
pub fn key_paths(cx: &Context) -> Vec<PathBuf> {
    [KeyAlg::Ed25519, KeyAlg::X25519]
        .iter()
        .flat_map(|alg| state::key_names(*alg))
        .map(|name| cx.state_path(&format!("machine/{name}")))
        .collect()
}

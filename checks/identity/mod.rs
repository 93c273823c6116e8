//! The identity check: `.instar/machine/identity.json` (spec §5) with loadIdentity's exact
//! verdicts, the silent hazards (a missing identity on a mesh, `{}` registering "undefined"), and
//! the shape of §5.1 with spans. The key↔identity match belongs to `keys`, the registry's
//! "undefined" entry to `registry` (design §3).

pub mod codes;

use std::path::Path;

use crate::diag::{Code, Diagnostic, Effect, Label, Sink};
use crate::engine::Context;
use crate::fix::{Change, Fix};
use crate::json::{Kind, Value};
use crate::json_edit;
use crate::machine::{self, fingerprint, KeyAlg};
use crate::source::FileState;

use super::machine_state as state;
use super::shared::{self, Member};
use super::Check;
use codes::*;

pub struct IdentityCheck;

impl Check for IdentityCheck {
    fn id(&self) -> &'static str {
        "identity"
    }
    fn about(&self) -> &'static str {
        "this machine's identity"
    }

    fn codes(&self) -> &'static [&'static Code] {
        codes::ALL
    }

    fn run(&self, cx: &Context, sink: &mut Sink) {
        let path = cx.state_path(state::IDENTITY);
        let file = cx.file(&path);
        match &*file {
            FileState::Missing | FileState::Dangling { .. } | FileState::SymlinkLoop => {
                missing(cx, &path, &file, sink)
            }
            FileState::Present(loaded) => present(cx, &path, &loaded.bytes, sink),
            other => {
                let fix = match other {
                    FileState::Unreadable { .. } => Fix::safe(
                        "make it readable (chmod 644: identity.json is public data)",
                        vec![Change::SetMode {
                            file: path.clone(),
                            mode: 0o644,
                        }],
                    ),
                    _ => Fix::manual("put the real identity.json there (from git history)"),
                };
                sink.push(
                    shared::unreadable_finding(
                        &UNREADABLE,
                        Effect::Fatal,
                        cx,
                        &path,
                        other,
                        "instar sees that identity.json exists, then cannot read it, and server start aborts",
                    )
                    .fix(Some(fix)),
                );
            }
        }
    }
}

/// A remote copy to restore identity.json from: the one whose keys are the PEMs' keys.
fn restore_fix(cx: &Context, path: &Path) -> Option<Fix> {
    let (Some(signing), Some(encryption)) = state::derived_keys(cx) else {
        return None;
    };
    let (source, bytes) = state::matching_remote_copy(cx, signing, encryption)?;
    Some(Fix::unsafe_(
        format!(
            "copy {} back (its public keys are exactly the PEMs' keys)",
            cx.display_path(&source)
        ),
        vec![Change::Write {
            file: path.to_path_buf(),
            contents: bytes,
        }],
    ))
}

fn manual_restore(cx: &Context, path: &Path) -> Fix {
    Fix::manual(format!(
        "restore it from git history (git show HEAD:{}) or a backup",
        cx.display_path(path)
    ))
}

fn missing(cx: &Context, path: &Path, file: &FileState, sink: &mut Sink) {
    let has_keys = state::any_key_file(cx);
    let registry = state::registry_ids(cx).unwrap_or_default();
    if !has_keys && registry.is_empty() {
        // I-MISSING: a single machine; healthy (design §7).
        return;
    }
    let mut evidence = Vec::new();
    if has_keys {
        evidence.push("private keys exist in .instar/machine/".to_string());
    }
    if !registry.is_empty() {
        evidence.push(format!("the registry lists {} machine(s)", registry.len()));
    }
    let how = match file {
        FileState::Missing => "does not exist".to_string(),
        other => format!("{} (instar sees no file)", other.describe()),
    };
    // Certainly broken when this machine had keys or the mesh has peers; a lone registry entry
    // with no keys may be a leftover of a single machine.
    let severity = if has_keys || registry.len() > 1 {
        crate::diag::Severity::Error
    } else {
        crate::diag::Severity::Warning
    };
    let mut diagnostic = Diagnostic::new(
        &MISSING_ON_MESH,
        Effect::Silent,
        format!(
            "{} {how}, but {}: instar silently turns multi-machine off and this machine acts awake",
            cx.display_path(path),
            evidence.join(" and ")
        ),
    )
    .severity(severity)
    .file(path)
    .help("on a mesh this machine then runs alongside the real awake machine (split brain)");
    if !registry.is_empty() {
        diagnostic = diagnostic.secondary(Label {
            file: cx.state_path(state::REGISTRY),
            span: None,
            message: "this registry makes it a mesh member".into(),
        });
    }
    let fix = restore_fix(cx, path).unwrap_or_else(|| manual_restore(cx, path));
    sink.push(diagnostic.fix(Some(fix)));
}

/// The fix for an identity.json instar cannot use: a matching remote copy, else by hand.
fn restore(cx: &Context, path: &Path) -> Fix {
    restore_fix(cx, path).unwrap_or_else(|| manual_restore(cx, path))
}

fn present(cx: &Context, path: &Path, bytes: &[u8], sink: &mut Sink) {
    let Some(doc) = cx.json(path) else { return };
    match &doc.parsed {
        Err(err) => {
            sink.push(
                shared::parse_error_finding(
                    &PARSE_ERROR,
                    cx,
                    path,
                    err,
                    "instar parses identity.json without catching errors: a raw SyntaxError aborts server start at every version",
                )
                .fix(Some(restore(cx, path))),
            );
            return;
        }
        Ok(outcome) if outcome.bom => sink.push(shared::bom_finding(
            &PARSE_ERROR,
            cx,
            path,
            "server start aborts with a SyntaxError; the content behind the mark is diagnosed below",
        )),
        Ok(_) => {}
    }
    let Some(tape) = doc.tape() else { return };
    let root = tape.root();
    shared::hygiene_findings(&DUPLICATE_KEY, &INVALID_UTF8, path, tape, sink);
    if root.is_null() {
        sink.push(
            Diagnostic::new(
                &PARSE_ERROR,
                Effect::Fatal,
                format!(
                    "{} is `null`: instar throws a TypeError reading it",
                    cx.display_path(path)
                ),
            )
            .file(path)
            .at(root.span(), "null root")
            .pointer("")
            .fix(Some(restore(cx, path))),
        );
        return;
    }
    if let Some(finding) = no_machine_id(cx, path, root) {
        sink.push(finding.fix(Some(restore(cx, path))));
        if root.kind() != Kind::Object || root.is_empty() {
            return;
        }
    }
    fields(cx, path, bytes, root, sink);
}

/// A root that is no object with a `machineId` string: instar registers "undefined".
fn no_machine_id(cx: &Context, path: &Path, root: Value<'_>) -> Option<Diagnostic> {
    let machine_id = root.get("machineId");
    if root.kind() == Kind::Object && machine_id.is_some_and(|v| v.kind() == Kind::String) {
        return None;
    }
    let undefined_registered = state::registry_ids(cx)
        .unwrap_or_default()
        .iter()
        .any(|id| id == "undefined");
    let what = match root.kind() {
        Kind::Object if machine_id.is_some() => "machineId is not a string",
        Kind::Object => "it has no machineId",
        Kind::Array => "its root is an array",
        _ => "its root is not an object",
    };
    let mut diagnostic = Diagnostic::new(
        &NO_MACHINE_ID,
        Effect::Silent,
        format!(
            "{}: {what}, so instar registers this machine under the key \"undefined\"",
            cx.display_path(path)
        ),
    )
    .file(path)
    .at(
        machine_id.map_or(root.span(), |v| v.span()),
        "no machineId string",
    )
    .pointer(if machine_id.is_some() { "/machineId" } else { "" })
    .help("instar does not validate identity.json; at server start it registers this machine under identity.machineId");
    if undefined_registered {
        diagnostic = diagnostic.secondary(Label {
            file: cx.state_path(state::REGISTRY),
            span: None,
            message: "the \"undefined\" entry it produced".into(),
        });
    }
    Some(diagnostic)
}

/// The fields of §5.1, each where instar reads it.
fn fields(cx: &Context, path: &Path, bytes: &[u8], root: Value<'_>, sink: &mut Sink) {
    if let Some(finding) = machine_id_format(path, root) {
        sink.push(finding);
    }
    let (derived_signing, derived_encryption) = state::derived_keys(cx);
    for (alg, derived) in [
        (KeyAlg::Ed25519, derived_signing),
        (KeyAlg::X25519, derived_encryption),
    ] {
        public_key(path, bytes, root, alg, derived, sink);
    }
    // The crash replaces the plain wrong-type finding for that field: one finding, the worst.
    let crashed = nickname_crash(cx, path, root).map(|(field, d)| {
        sink.push(d);
        field
    });
    for field in ["name", "platform", "createdAt"] {
        if crashed != Some(field) {
            if let Some(finding) = string_field(path, root, field) {
                sink.push(finding);
            }
        }
    }
    capabilities(path, root, sink);
}

/// A `machineId` string that is not `m_` and 32 lowercase hex digits.
fn machine_id_format(path: &Path, root: Value<'_>) -> Option<Diagnostic> {
    let id = root.get("machineId").filter(|v| v.kind() == Kind::String)?;
    let text = id.as_str().unwrap_or_default();
    if machine::is_machine_id(&text) {
        return None;
    }
    Some(
        Diagnostic::new(
            &INVALID_MACHINE_ID,
            Effect::Silent,
            format!("machineId {text:?} is not m_ followed by 32 lowercase hex digits"),
        )
        .file(path)
        .at(id.span(), "not ^m_[0-9a-f]{32}$")
        .pointer("/machineId")
        .fix(Some(Fix::manual(
            "the machineId is the identity: re-pair as a new machine and revoke the old entry",
        ))),
    )
}

/// `name`, `platform` or `createdAt`: present, a string, and (createdAt) a timestamp or (name)
/// in the form init writes.
fn string_field(path: &Path, root: Value<'_>, field: &str) -> Option<Diagnostic> {
    match shared::member(root, field, Kind::String) {
        Member::Missing => Some(field_problem(
            path,
            shared::opening(root),
            field,
            format!("identity.json has no {field}"),
            "missing",
        )),
        Member::WrongKind(v) => Some(field_problem(
            path,
            v.span(),
            field,
            format!("{field} is not a string"),
            "not a string",
        )),
        Member::Found(v)
            if field == "createdAt"
                && crate::cron::parse_rfc3339(&v.as_str().unwrap_or_default()).is_none() =>
        {
            Some(field_problem(
                path,
                v.span(),
                field,
                "createdAt is not an ISO-8601 timestamp".into(),
                "not an ISO timestamp",
            ))
        }
        Member::Found(v) if field == "name" => unsanitized_name(path, v),
        Member::Found(_) => None,
    }
}

/// A machine name instar's init would not have written (a raw hostname): cosmetic.
fn unsanitized_name(path: &Path, value: Value<'_>) -> Option<Diagnostic> {
    let name = value.as_str().unwrap_or_default();
    let sanitized = !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    if sanitized {
        return None;
    }
    Some(
        Diagnostic::new(
            &UNSANITIZED_NAME,
            Effect::None,
            format!("the machine name {name:?} is not in the form instar's init writes (^[a-z0-9-]+$)"),
        )
        .file(path)
        .at(value.span(), "raw hostname")
        .pointer("/name")
        .help("cosmetic; leave it: the registry and jobs' machines lists may refer to it by this name"),
    )
}

/// `capabilities`: an array of strings.
fn capabilities(path: &Path, root: Value<'_>, sink: &mut Sink) {
    match shared::member(root, "capabilities", Kind::Array) {
        Member::Missing => sink.push(field_problem(
            path,
            shared::opening(root),
            "capabilities",
            "identity.json has no capabilities".into(),
            "missing",
        )),
        Member::WrongKind(v) => sink.push(field_problem(
            path,
            v.span(),
            "capabilities",
            "capabilities is not an array".into(),
            "not an array",
        )),
        Member::Found(v) => {
            for (i, item) in v.elements().enumerate() {
                if item.kind() != Kind::String {
                    sink.push(field_problem(
                        path,
                        item.span(),
                        &format!("capabilities/{i}"),
                        format!("capabilities[{i}] is not a string"),
                        "not a string",
                    ));
                }
            }
        }
    }
}

/// JavaScript truthiness of a JSON value (`null`, `false`, `0` and `""` are falsy).
fn truthy(value: Option<Value<'_>>) -> bool {
    match value {
        None => false,
        Some(v) => match v.kind() {
            Kind::Null => false,
            Kind::Bool => v.as_bool() == Some(true),
            Kind::Number => v.as_f64().is_some_and(|n| n != 0.0),
            Kind::String => v.as_str().is_some_and(|t| !t.is_empty()),
            _ => true,
        },
    }
}

/// From v1.3.92 self-registration derives a nickname from `(name || '')`, or, when that is
/// empty, from `(platform || '')`, with string methods: a truthy non-string there is a
/// TypeError. It runs at boot when this machine is not in the registry (spec §3.9, probed).
fn nickname_crash(
    cx: &Context,
    path: &Path,
    root: Value<'_>,
) -> Option<(&'static str, Diagnostic)> {
    if cx.version < crate::version::boundary::IDENTITY_NAME_CRASHES_SELF_REGISTRATION {
        return None;
    }
    let id = root.get("machineId").and_then(|v| v.as_str())?;
    let registered = match state::registry_ids(cx) {
        Some(ids) => ids.iter().any(|known| *known == *id),
        // A missing registry loads as empty; a broken one is the registry check's finding.
        None => cx.file(&cx.state_path(state::REGISTRY)).exists_for_instar(),
    };
    if registered {
        return None;
    }
    let name = root.get("name");
    let field = if truthy(name) { "name" } else { "platform" };
    let value = root.get(field).filter(|v| truthy(Some(*v)))?;
    if value.kind() == Kind::String {
        return None;
    }
    Some((
        field,
        Diagnostic::new(
            &INVALID_FIELD,
            Effect::Fatal,
            format!(
                "{field} is {}, not a string: this machine is not in the registry, and instar {} throws a TypeError deriving its nickname when it registers it at boot",
                js_kind(&value),
                cx.version
            ),
        )
        .severity(crate::diag::Severity::Error)
        .file(path)
        .at(value.span(), "not a string")
        .pointer(format!("/{field}"))
        .help("server start aborts; write the machine's name (and platform) as strings"),
    ))
}

fn js_kind(value: &Value<'_>) -> &'static str {
    match value.kind() {
        Kind::Number => "a number",
        Kind::Bool => "a boolean",
        Kind::Array => "an array",
        Kind::Object => "an object",
        _ => "not a string",
    }
}

fn field_problem(
    path: &Path,
    span: crate::diag::Span,
    field: &str,
    message: String,
    label: &str,
) -> Diagnostic {
    Diagnostic::new(&INVALID_FIELD, Effect::Silent, message)
        .file(path)
        .at(span, label)
        .pointer(format!("/{field}"))
        .help("instar does not validate it; it is copied into the registry and sent to peers at pairing")
}

fn public_key(
    path: &Path,
    bytes: &[u8],
    root: Value<'_>,
    alg: KeyAlg,
    derived: Option<[u8; 32]>,
    sink: &mut Sink,
) {
    let field = state::public_key_field(alg);
    let value = root.get(field);
    let problem = match value {
        None => format!("identity.json has no {field}"),
        Some(v) if v.kind() != Kind::String => format!("{field} is not a string"),
        Some(v) => match machine::decode_spki(&v.as_str().unwrap_or_default(), alg) {
            Ok(_) => return,
            Err(err) => format!("{field} {}", err.describe(alg)),
        },
    };
    let pem_name = state::key_names(alg)[0];
    let fix = derived.map(|raw| {
        let text = json_edit::string_literal(&machine::spki_base64(alg, &raw));
        let change = match value {
            Some(v) => Change::Edit {
                file: path.to_path_buf().into(),
                span: v.span(),
                replacement: text.into(),
            },
            None => {
                let members = shared::member_spans(root);
                let (span, replacement) =
                    json_edit::insert_member(bytes, &root.span(), &members, field, &text);
                Change::Edit {
                    file: path.to_path_buf().into(),
                    span,
                    replacement: replacement.into(),
                }
            }
        };
        Fix::unsafe_(
            format!(
                "set {field} to the public key derived from {pem_name} ({})",
                fingerprint(&raw)
            ),
            vec![change],
        )
    });
    let fix = fix.unwrap_or_else(|| {
        Fix::manual(format!(
            "restore identity.json from git history; without a valid {pem_name} the key cannot be re-derived"
        ))
    });
    let (span, label) = match value {
        Some(v) => (v.span(), "not a valid SPKI public key"),
        None => (shared::opening(root), "missing"),
    };
    sink.push(
        Diagnostic::new(&INVALID_PUBLIC_KEY, Effect::Silent, problem)
            .file(path)
            .at(span, label)
            .pointer(format!("/{field}"))
            .help("instar loads it; signature checks with it fail (peer routes, git allowed-signers, the lease)")
            .fix(Some(fix)),
    );
}

//! The registry check: `.instar/machines/registry.json` with loadRegistry's exact verdicts (spec
//! §4.2), its entries, this machine's own entry, awake counts, the HEAD lease (§4.4), the remote
//! identity copies, the heartbeat (the offline part of instar's own doctor, §9.4) and temp files.

pub mod codes;
mod entries;
mod heartbeat;
mod lease;
mod merge;

use std::path::Path;

use crate::diag::{Code, Diagnostic, Effect, Label, Sink};
use crate::engine::Context;
use crate::fix::{Change, Fix};
use crate::json::{Kind, Value};
use crate::json_edit;
use crate::machine;
use crate::source::FileState;

use super::machine_state::{self as state, IdentityView};
use super::shared::{self, member_spans};
use super::Check;
use codes::*;

pub struct RegistryCheck;

impl Check for RegistryCheck {
    fn id(&self) -> &'static str {
        "registry"
    }
    fn about(&self) -> &'static str {
        "the machine registry"
    }

    fn codes(&self) -> &'static [&'static Code] {
        codes::ALL
    }

    fn run(&self, cx: &Context, sink: &mut Sink) {
        let identity = state::identity(cx);
        let path = cx.state_path(state::REGISTRY);
        let file = cx.file(&path);
        let mut parses = false;
        let mut holders = heartbeat::Holders::default();
        match &*file {
            FileState::Missing => {
                if identity.exists {
                    sink.push(
                        Diagnostic::new(
                            &MISSING,
                            Effect::None,
                            format!(
                                "{} does not exist: instar re-registers this machine as standby at its next start",
                                cx.display_path(&path)
                            ),
                        )
                        .file(&path)
                        .help(format!(
                            "on a mesh, peers, revocations and the lease are recoverable only from git history (git show HEAD:{})",
                            cx.display_path(&path)
                        )),
                    );
                }
            }
            FileState::Present(loaded) => {
                parses = diagnose(cx, &path, &loaded.bytes, &identity, &mut holders, sink);
            }
            FileState::Dangling { .. } | FileState::SymlinkLoop => sink.push(
                shared::unreadable_finding(
                    &UNREADABLE,
                    Effect::Silent,
                    cx,
                    &path,
                    &file,
                    "instar sees no registry and silently starts an empty one",
                )
                .severity(crate::diag::Severity::Warning)
                .fix(Some(Fix::manual(
                    "restore the link's target or replace the link with the real file",
                ))),
            ),
            other => {
                let fix = match other {
                    FileState::Unreadable { .. } => Fix::safe(
                        "make it readable and writable by its owner (chmod 644)",
                        vec![Change::SetMode {
                            file: path.clone(),
                            mode: 0o644,
                        }],
                    ),
                    _ => Fix::manual("put the real registry.json there (from git history)"),
                };
                sink.push(
                    shared::unreadable_finding(
                        &UNREADABLE,
                        Effect::Fatal,
                        cx,
                        &path,
                        other,
                        "instar cannot load the registry and server start aborts",
                    )
                    .fix(Some(fix)),
                );
            }
        }
        temp_files(cx, &path, parses, sink);
        remote_identities(cx, &identity, sink);
        heartbeat::check(cx, &identity, &holders, sink);
    }
}

/// Diagnoses the registry's bytes; returns whether JSON.parse accepts them.
fn diagnose(
    cx: &Context,
    path: &Path,
    bytes: &[u8],
    identity: &IdentityView,
    holders: &mut heartbeat::Holders,
    sink: &mut Sink,
) -> bool {
    let Some(doc) = cx.json(path) else {
        return false;
    };
    let mut parses = true;
    match &doc.parsed {
        Err(err) => {
            let fix = if err.kind == crate::json::ErrorKind::ConflictMarker {
                merge::merge_fix(path, bytes)
            } else {
                None
            };
            let fix = fix.unwrap_or_else(|| {
                Fix::manual(format!(
                    "repair the JSON by hand, or restore it from git history (git show HEAD:{})",
                    cx.display_path(path)
                ))
            });
            sink.push(
                shared::parse_error_finding(
                    &PARSE_ERROR,
                    cx,
                    path,
                    err,
                    "every version throws \"Machine registry is corrupted\"; server start aborts on a machine with an identity",
                )
                .fix(Some(fix)),
            );
            return false;
        }
        Ok(outcome) if outcome.bom => {
            parses = false;
            sink.push(shared::bom_finding(
                &PARSE_ERROR,
                cx,
                path,
                "every version throws \"Machine registry is corrupted\"; the content behind the mark is diagnosed below",
            ));
        }
        Ok(_) => {}
    }
    let Some(tape) = doc.tape() else {
        return false;
    };
    let root = tape.root();
    shared::hygiene_findings(&DUPLICATE_KEY, &INVALID_UTF8, path, tape, sink);
    if !shape(cx, path, bytes, root, sink) {
        return parses;
    }
    let Some(machines) = root.get("machines") else {
        return parses;
    };
    if machines.kind() == Kind::Object {
        entries::check(
            entries::RegistryFile { cx, path, bytes },
            root,
            machines,
            identity,
            holders,
            sink,
        );
    }
    parses
}

/// loadRegistry's own verdict on the root (spec §4.2). Returns whether the entries can be looked
/// at (the root is an object).
fn shape(cx: &Context, path: &Path, bytes: &[u8], root: Value<'_>, sink: &mut Sink) -> bool {
    let shown = cx.display_path(path);
    if let Some(finding) = root_finding(path, &shown, root) {
        sink.push(finding);
        return false;
    }
    let members: Vec<_> = member_spans(root);
    if let Some(finding) = version_finding(path, &shown, bytes, root, &members) {
        sink.push(finding);
    }
    if let Some(finding) = machines_finding(cx, path, &shown, bytes, root, &members) {
        sink.push(finding);
    }
    true
}

/// A root that is not an object: null (a raw TypeError) or anything else (corrupted).
fn root_finding(path: &Path, shown: &str, root: Value<'_>) -> Option<Diagnostic> {
    let restore = || {
        Some(Fix::manual(format!(
            "restore it from git history (git show HEAD:{shown})"
        )))
    };
    if root.is_null() {
        return Some(
            Diagnostic::new(
                &INVALID_SHAPE,
                Effect::Fatal,
                format!("{shown} is `null`: loading the registry throws a raw TypeError (\"Cannot read properties of null\")"),
            )
            .file(path)
            .at(root.span(), "null root")
            .pointer("")
            .fix(restore()),
        );
    }
    if root.kind() != Kind::Object {
        return Some(
            Diagnostic::new(
                &INVALID_SHAPE,
                Effect::Fatal,
                format!("{shown}'s root is not an object with version and machines"),
            )
            .file(path)
            .at(root.span(), "expected {\"version\": 1, \"machines\": {…}}")
            .pointer("")
            .help(CORRUPT)
            .fix(restore()),
        );
    }
    None
}

/// `machines` missing, null, an array or not an object.
fn machines_finding(
    cx: &Context,
    path: &Path,
    shown: &str,
    bytes: &[u8],
    root: Value<'_>,
    members: &[crate::diag::Span],
) -> Option<Diagnostic> {
    let edit = |span, replacement| Change::Edit {
        file: path.to_path_buf().into(),
        span,
        replacement,
    };
    match root.get("machines") {
        None => {
            let (span, replacement) =
                json_edit::insert_member(bytes, &root.span(), members, "machines", "{}");
            Some(
                Diagnostic::new(
                    &INVALID_SHAPE,
                    Effect::Fatal,
                    format!("{shown}: `machines` is missing"),
                )
                .file(path)
                .at(shared::opening(root), "no machines")
                .pointer("/machines")
                .help(CORRUPT)
                .fix(Some(Fix::unsafe_(
                    "add an empty machines object",
                    vec![edit(span, replacement.into())],
                ))),
            )
        }
        Some(m) if m.kind() == Kind::Null || m.kind() == Kind::Array => {
            Some(machines_not_object(cx, path, shown, m))
        }
        Some(m) if m.kind() != Kind::Object => Some(
            Diagnostic::new(
                &INVALID_SHAPE,
                Effect::Fatal,
                format!("{shown}: `machines` is not an object"),
            )
            .file(path)
            .at(m.span(), "expected an object keyed by machine id")
            .pointer("/machines")
            .help(CORRUPT)
            .fix(Some(Fix::unsafe_(
                "replace it with {}",
                vec![edit(m.span(), "{}".into())],
            ))),
        ),
        Some(_) => None,
    }
}

/// loadRegistry's verdict on a registry whose root is no object with `version` and `machines`.
const CORRUPT: &str =
    "loading the registry throws \"Machine registry is corrupted\" at every version; server start aborts";

/// `version` missing or not a number: loadRegistry calls the registry corrupted.
fn version_finding(
    path: &Path,
    shown: &str,
    bytes: &[u8],
    root: Value<'_>,
    members: &[crate::diag::Span],
) -> Option<Diagnostic> {
    match root.get("version") {
        Some(v) if v.kind() == Kind::Number => None,
        found => {
            let (span, label, change, what) = match found {
                Some(v) => (
                    v.span(),
                    "not a number",
                    Change::Edit {
                        file: path.to_path_buf().into(),
                        span: v.span(),
                        replacement: "1".into(),
                    },
                    "`version` is not a number",
                ),
                None => {
                    let (span, replacement) =
                        json_edit::insert_member(bytes, &root.span(), members, "version", "1");
                    (
                        shared::opening(root),
                        "no version",
                        Change::Edit {
                            file: path.to_path_buf().into(),
                            span,
                            replacement: replacement.into(),
                        },
                        "`version` is missing",
                    )
                }
            };
            Some(
                Diagnostic::new(&INVALID_SHAPE, Effect::Fatal, format!("{shown}: {what}"))
                    .file(path)
                    .at(span, label)
                    .pointer("/version")
                    .help(CORRUPT)
                    .fix(Some(Fix::unsafe_("set version to 1", vec![change]))),
            )
        }
    }
}

/// `machines` null or an array: it loads, and breaks later (at server start, or when this machine
/// registers itself).
fn machines_not_object(cx: &Context, path: &Path, shown: &str, m: Value<'_>) -> Diagnostic {
    // In independent coordination mode boot itself calls updateRole, so the lost
    // self-registration is a throw at start, at every version (spec §3.9, probed).
    let independent = state::multi_machine_config(cx).independent;
    let (effect, what) = if m.kind() == Kind::Null {
        (
            Effect::Fatal,
            "`machines` is null: the registry loads, then server start throws a TypeError when it looks up or registers this machine",
        )
    } else if independent {
        (
            Effect::Fatal,
            "`machines` is an array: the entry server start adds for this machine is an array property JSON.stringify drops, and in independent coordination mode server start throws \"not found in registry\"",
        )
    } else {
        (
            Effect::Silent,
            "`machines` is an array: it loads, but the entry server start adds for this machine is an array property JSON.stringify drops, so this machine is never persisted and its next role change throws \"not found in registry\"",
        )
    };
    let dropped = if m.kind() == Kind::Array && !m.is_empty() {
        format!(" (drops {} array element(s) instar never used)", m.len())
    } else {
        String::new()
    };
    Diagnostic::new(&MACHINES_NOT_OBJECT, effect, format!("{shown}: {what}"))
        .file(path)
        .at(m.span(), "expected an object keyed by machine id")
        .pointer("/machines")
        .fix(Some(Fix::unsafe_(
            format!("replace it with {{}}{dropped}"),
            vec![Change::Edit {
                file: path.to_path_buf().into(),
                span: m.span(),
                replacement: "{}".into(),
            }],
        )))
}

fn temp_files(cx: &Context, path: &Path, parses: bool, sink: &mut Sink) {
    let dir = cx.state_path("machines");
    for tmp in state::pid_temp_files(cx, &dir, "registry.json") {
        if state::writer_alive(cx, &tmp) {
            continue;
        }
        let tmp_valid = cx.json(&tmp).is_some_and(|doc| {
            shared::clean_tape(&doc).is_some_and(|t| {
                let root = t.root();
                root.get("version")
                    .is_some_and(|v| v.kind() == Kind::Number)
                    && root
                        .get("machines")
                        .is_some_and(|m| m.kind() == Kind::Object)
            })
        });
        let (fix, help) = if parses {
            (
                Some(Fix::safe(
                    "move the temp file to the doctor's quarantine",
                    vec![Change::Quarantine { file: tmp.clone() }],
                )),
                "registry.json parses, so this leftover is redundant",
            )
        } else if tmp_valid {
            (
                Some(Fix::unsafe_(
                    "promote it to registry.json by rename (it is a valid registry)",
                    vec![Change::Rename {
                        from: tmp.clone(),
                        to: path.to_path_buf(),
                    }],
                )),
                "registry.json is broken and this temp file is a valid registry: it may be the good copy",
            )
        } else {
            (
                None,
                "neither this file nor registry.json is a valid registry",
            )
        };
        sink.push(
            Diagnostic::new(
                &STRAY_TEMP_FILE,
                Effect::None,
                format!(
                    "{} is left over from an interrupted registry write",
                    cx.display_path(&tmp)
                ),
            )
            .file(&tmp)
            .help(help)
            .fix(fix),
        );
    }
}

/// The identity copies of other machines (`machines/<id>/identity.json`): each must load, name
/// its own folder, carry valid public keys (this machine's own copy: the keys of identity.json),
/// and belong to a registry entry.
fn remote_identities(cx: &Context, identity: &IdentityView, sink: &mut Sink) {
    let registered = state::registry_ids(cx);
    for name in state::remote_identity_dirs(cx) {
        let copy = RemoteCopy {
            path: cx.state_path(&format!("machines/{name}/identity.json")),
            name: &name,
        };
        if matches!(*cx.file(&copy.path), FileState::Missing) {
            continue;
        }
        let Some(doc) = copy.loadable(cx, sink) else {
            continue;
        };
        let Some(root) = shared::clean_tape(&doc).map(|tape| tape.root()) else {
            continue;
        };
        copy.machine_id(root, sink);
        for alg in [machine::KeyAlg::Ed25519, machine::KeyAlg::X25519] {
            copy.public_key(identity, root, alg, sink);
        }
        if registered.as_ref().is_some_and(|ids| !ids.contains(&name)) {
            sink.push(copy.orphan());
        }
    }
}

/// One machine's identity copy under `machines/<name>/`.
struct RemoteCopy<'n> {
    path: std::path::PathBuf,
    name: &'n str,
}

impl RemoteCopy<'_> {
    /// A `registry/remote-identity` finding on this copy.
    fn finding(&self, message: String, span: Option<(crate::diag::Span, &str)>) -> Diagnostic {
        let mut d = Diagnostic::new(&REMOTE_IDENTITY, Effect::Silent, message)
            .file(&self.path)
            .help("peers' signatures, git allowed-signers and lease verification read this copy");
        if let Some((span, label)) = span {
            d = d.at(span, label.to_string());
        }
        d
    }

    /// The copy when JSON.parse accepts it; otherwise reports why not.
    fn loadable(
        &self,
        cx: &Context,
        sink: &mut Sink,
    ) -> Option<std::rc::Rc<crate::engine::JsonDoc>> {
        let shown = cx.display_path(&self.path);
        let Some(doc) = cx.json(&self.path) else {
            let what = cx.file(&self.path).describe();
            sink.push(self.finding(format!("{shown} {what}"), None));
            return None;
        };
        if shared::clean_tape(&doc).is_none() {
            sink.push(self.finding(
                format!("{shown} is not valid JSON: instar's lease check fails for this machine"),
                None,
            ));
            return None;
        }
        Some(doc)
    }

    /// `machineId` must be the folder's name.
    fn machine_id(&self, root: Value<'_>, sink: &mut Sink) {
        let name = self.name;
        let id = root.get("machineId");
        match id.and_then(|v| v.as_str()) {
            Some(text) if text == name => {}
            Some(text) => sink.push(self.finding(
                format!("the identity copy in machines/{name}/ has machineId {text:?}"),
                id.map(|v| (v.span(), "differs from the folder name")),
            )),
            None => sink.push(self.finding(
                format!("the identity copy in machines/{name}/ has no machineId string"),
                None,
            )),
        }
    }

    /// One public key: present, a valid SPKI key, and on this machine's own copy the key of
    /// identity.json.
    fn public_key(
        &self,
        identity: &IdentityView,
        root: Value<'_>,
        alg: machine::KeyAlg,
        sink: &mut Sink,
    ) {
        let name = self.name;
        let field = state::public_key_field(alg);
        let value = root.get(field);
        let decoded = value
            .and_then(|v| v.as_str())
            .map(|t| machine::decode_spki(&t, alg));
        match decoded {
            Some(Ok(raw)) => {
                if identity.id.as_deref() == Some(name) {
                    if let Some(own) = identity.key(alg).filter(|own| *own != raw) {
                        sink.push(self.own_key_differs(identity, alg, value, &raw, &own));
                    }
                }
            }
            Some(Err(err)) => sink.push(self.finding(
                format!(
                    "machines/{name}/identity.json: {field} {}",
                    err.describe(alg)
                ),
                value.map(|v| (v.span(), "not a valid SPKI public key")),
            )),
            None => sink.push(self.finding(
                format!("machines/{name}/identity.json has no {field} string"),
                None,
            )),
        }
    }

    /// This machine's own copy holds another key than identity.json.
    fn own_key_differs(
        &self,
        identity: &IdentityView,
        alg: machine::KeyAlg,
        value: Option<Value<'_>>,
        raw: &[u8; 32],
        own: &[u8; 32],
    ) -> Diagnostic {
        let field = state::public_key_field(alg);
        let mut d = Diagnostic::new(
            &REMOTE_IDENTITY,
            Effect::Silent,
            format!(
                "this machine's own copy in machines/{}/ has {field} {}, identity.json has {}",
                self.name,
                machine::fingerprint(raw),
                machine::fingerprint(own)
            ),
        )
        .file(&self.path)
        .secondary(Label {
            file: identity.path.clone(),
            span: identity.key_span(alg),
            message: "this machine's key".into(),
        });
        if let Some(v) = value {
            d = d
                .at(v.span(), "differs from identity.json")
                .pointer(format!("/{field}"));
        }
        d
    }

    /// A copy no registry entry owns.
    fn orphan(&self) -> Diagnostic {
        Diagnostic::new(
            &REMOTE_IDENTITY,
            Effect::None,
            format!(
                "machines/{}/identity.json belongs to no registry entry",
                self.name
            ),
        )
        .severity(crate::diag::Severity::Info)
        .file(&self.path)
        .help("a leftover of a machine removed from the registry by hand, or of a bad merge")
    }
}

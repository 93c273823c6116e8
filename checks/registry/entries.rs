//! The registry's entries: their shape (§4.1), this machine's own entry (R-SELF, R-REVOKED-SELF),
//! the "undefined" key (§5.2), awake counts (§4.3) and nicknames.

use std::collections::HashMap;
use std::path::Path;

use crate::diag::{Diagnostic, Effect, Label, Severity, Sink, Span};
use crate::engine::Context;
use crate::fix::{Change, Fix};
use crate::json::{js_trim, Kind, Value};
use crate::json_edit;
use crate::machine;
use crate::version::boundary;

use super::super::machine_state::{self as state, IdentityView};
use super::super::shared::{self, member_spans, Member};
use super::codes::*;
use super::heartbeat::{self, Holders};
use super::lease;

/// The registry file being judged: where it is, as read, in the run it is judged in.
#[derive(Clone, Copy)]
pub struct RegistryFile<'a> {
    pub cx: &'a Context,
    pub path: &'a Path,
    pub bytes: &'a [u8],
}

pub fn check(
    file: RegistryFile<'_>,
    root: Value<'_>,
    machines: Value<'_>,
    identity: &IdentityView,
    holders: &mut Holders,
    sink: &mut Sink,
) {
    let RegistryFile { cx, path, .. } = file;
    holders.ids = Some(machines.members().map(|(k, _)| k.into_owned()).collect());
    let entries = Entries {
        file,
        machines,
        spans: member_spans(machines),
        identity,
        self_missing: identity
            .id
            .as_ref()
            .is_some_and(|id| machines.get(id).is_none()),
    };
    let mut tally = Tally::default();
    for (index, (key, entry)) in machines.members().enumerate() {
        entries.entry(index, &key, entry, &mut tally, sink);
    }

    let lease = if cx.version >= boundary::REGISTRY_LEASE {
        lease::check(cx, path, root, machines, identity, sink)
    } else {
        lease::Verdict::default()
    };

    if let Some(id) = identity.id.as_ref().filter(|id| machine::is_machine_id(id)) {
        if entries.self_missing {
            self_missing_finding(file, machines, &entries.spans, id, identity, sink);
        }
    }

    let config = state::multi_machine_config(cx);
    if tally.awake.len() > 1 && !config.independent {
        split_brain(cx, path, &tally.awake, &lease, sink);
    }
    if tally.active > 0 && tally.awake.is_empty() {
        sink.push(no_awake(path, machines, tally.active));
    }
}

/// The `machines` object being walked, and what every entry's findings need to know.
struct Entries<'a, 't> {
    file: RegistryFile<'a>,
    machines: Value<'t>,
    /// Each entry's full span, for removing one.
    spans: Vec<Span>,
    identity: &'a IdentityView,
    /// This machine has an identity but no entry.
    self_missing: bool,
}

/// What the walk over the entries counts for the findings about all of them.
#[derive(Default)]
struct Tally {
    /// Active machines whose role is awake, with the span of that role.
    awake: Vec<(String, Span)>,
    active: usize,
    /// Nicknames seen so far, lowercased: the entry that took each, and where.
    nicknames: HashMap<String, (String, Span)>,
}

impl Entries<'_, '_> {
    /// One entry: its key, its shape, its fields, its standing and its nickname.
    fn entry(&self, index: usize, key: &str, entry: Value<'_>, tally: &mut Tally, sink: &mut Sink) {
        let RegistryFile { cx, path, .. } = self.file;
        let key_span = entry.key_span().unwrap_or(entry.span());
        if key == "undefined" {
            sink.push(
                undefined_entry(path, key_span, self.identity).fix(Some(self.removal(index, key))),
            );
            return;
        }
        let pointer = format!("/machines/{}", key.replace('~', "~0").replace('/', "~1"));
        if !machine::is_machine_id(key) {
            sink.push(
                Diagnostic::new(
                    &INVALID_ENTRY,
                    Effect::Silent,
                    format!("registry key {key:?} is not m_ followed by 32 lowercase hex digits"),
                )
                .file(path)
                .at(key_span.clone(), "not a machine id")
                .pointer(pointer.clone()),
            );
        }
        if entry.kind() != Kind::Object {
            let crashes = entry.is_null()
                && self.self_missing
                && cx.version >= boundary::NULL_ENTRY_CRASHES_SELF_REGISTRATION;
            sink.push(
                not_an_object(cx, path, key, entry, pointer, crashes)
                    .fix(Some(self.removal(index, key))),
            );
            return;
        }
        fields(path, entry, &pointer, key, sink);
        self.standing(key, entry, key_span, &pointer, tally, sink);
        if cx.version >= boundary::REGISTRY_NICKNAMES {
            if let Some(nick) = entry.get("nickname") {
                nickname(path, key, nick, &pointer, &mut tally.nicknames, sink);
            }
        }
    }

    /// Counts the entry as active and awake; reports a revoked machine still awake, and this
    /// machine revoked.
    fn standing(
        &self,
        key: &str,
        entry: Value<'_>,
        key_span: Span,
        pointer: &str,
        tally: &mut Tally,
        sink: &mut Sink,
    ) {
        let path = self.file.path;
        let status = entry.get("status").and_then(|v| v.as_str());
        let role = entry.get("role").and_then(|v| v.as_str());
        let is_awake = role.as_deref() == Some("awake");
        if status.as_deref() == Some("active") {
            tally.active += 1;
            if is_awake {
                let at = entry
                    .get("role")
                    .map(|r| r.span())
                    .unwrap_or(key_span.clone());
                tally.awake.push((key.to_string(), at));
            }
        }
        if status.as_deref() == Some("revoked") && is_awake {
            let role_value = entry.get("role").expect("role is awake");
            sink.push(revoked_awake(path, key, role_value, pointer));
        }
        if self.identity.id.as_deref() == Some(key) && status.as_deref() == Some("revoked") {
            let at = entry.get("status").map_or(key_span, |v| v.span());
            sink.push(self_revoked(path, key, at, pointer));
        }
    }

    /// Removing the entry at `index` (an unsafe fix: the entry's data goes).
    fn removal(&self, index: usize, key: &str) -> Fix {
        Fix::unsafe_(
            format!("remove the {key:?} entry"),
            vec![Change::Edit {
                file: self.file.path.to_path_buf().into(),
                span: json_edit::removal_span(&self.machines.span(), &self.spans, index),
                replacement: Box::default(),
            }],
        )
    }
}

/// An entry under the key "undefined": written from an identity.json without a machineId.
fn undefined_entry(path: &Path, key_span: Span, identity: &IdentityView) -> Diagnostic {
    let mut d = Diagnostic::new(
        &UNDEFINED_ENTRY,
        Effect::Silent,
        "the registry has an entry under the key \"undefined\": it was written from an identity.json without a machineId",
    )
    .file(path)
    .at(key_span, "not a machine id")
    .pointer("/machines/undefined")
    .help("repair identity.json too, or instar writes it again at the next start");
    if identity.exists && identity.id.is_none() {
        d = d.secondary(Label {
            file: identity.path.clone(),
            span: None,
            message: "this identity.json has no machineId".into(),
        });
    }
    d
}

/// An entry that is not an object: ignored by instar's filters, or (`crashes`) fatal to this
/// machine's self-registration.
fn not_an_object(
    cx: &Context,
    path: &Path,
    key: &str,
    entry: Value<'_>,
    pointer: String,
    crashes: bool,
) -> Diagnostic {
    let (effect, severity, why) = if crashes {
        (
            Effect::Fatal,
            Severity::Error,
            format!("instar {} crashes registering this machine (it reads every entry's nickname), so server start aborts", cx.version),
        )
    } else {
        (
            Effect::Silent,
            Severity::Warning,
            "instar's awake and active filters ignore it".to_string(),
        )
    };
    Diagnostic::new(
        &INVALID_ENTRY,
        effect,
        format!("registry entry {key:?} is not an object: {why}"),
    )
    .severity(severity)
    .file(path)
    .at(entry.span(), "expected an entry object")
    .pointer(pointer)
}

/// A revoked machine still marked awake.
fn revoked_awake(path: &Path, key: &str, role_value: Value<'_>, pointer: &str) -> Diagnostic {
    Diagnostic::new(
        &REVOKED_AWAKE,
        Effect::Silent,
        format!("machine {key} is revoked but still marked awake"),
    )
    .file(path)
    .at(role_value.span(), "revoked machines are always standby")
    .pointer(format!("{pointer}/role"))
    .fix(Some(Fix::unsafe_(
        "set its role to \"standby\" (what revokeMachine does)",
        vec![Change::Edit {
            file: path.to_path_buf().into(),
            span: role_value.span(),
            replacement: "\"standby\"".into(),
        }],
    )))
}

/// This machine's own entry is revoked.
fn self_revoked(path: &Path, key: &str, at: Span, pointer: &str) -> Diagnostic {
    Diagnostic::new(
        &SELF_REVOKED,
        Effect::Silent,
        format!("this machine ({key}) is revoked in the registry"),
    )
    .file(path)
    .at(at, "this machine")
    .pointer(format!("{pointer}/status"))
    .help("instar's start leaves an existing entry alone: it stays revoked")
    .fix(Some(Fix::manual(
        "only an operator can restore a revoked machine: re-pair it, or re-key and pair as a new machine",
    )))
}

/// Active machines, none of them awake.
fn no_awake(path: &Path, machines: Value<'_>, active: usize) -> Diagnostic {
    Diagnostic::new(
        &NO_AWAKE,
        Effect::Silent,
        format!("{active} active machine(s), none of them awake"),
    )
    .file(path)
    .at(
        machines.key_span().unwrap_or(machines.span()),
        "no awake entry",
    )
    .pointer("/machines")
    .help("no machine runs jobs until a standby fails over")
    .fix(Some(Fix::manual(
        "run `instar wakeup` on the machine that should be awake",
    )))
}

/// The fields instar's awake and active filters compare, each of the type and form they expect.
fn fields(path: &Path, entry: Value<'_>, pointer: &str, key: &str, sink: &mut Sink) {
    let mut report = FieldProblems {
        path,
        key,
        pointer,
        sink,
    };
    for name in ["name", "status", "role", "pairedAt", "lastSeen"] {
        match shared::member(entry, name, Kind::String) {
            Member::Missing => report.push(
                shared::opening(entry),
                "",
                format!("{name} is missing"),
                "incomplete entry",
            ),
            Member::WrongKind(v) => report.push(
                v.span(),
                &format!("/{name}"),
                format!("{name} is not a string"),
                "not a string",
            ),
            Member::Found(_) => {}
        }
    }
    enumerations(entry, &mut report);
    timestamps(entry, &mut report);
    if let Some(v) = entry
        .get("lastKnownUrl")
        .filter(|v| v.kind() != Kind::String)
    {
        report.push(
            v.span(),
            "/lastKnownUrl",
            "lastKnownUrl is not a string".into(),
            "not a string",
        );
    }
    let revoked = string_member(entry, "status")
        .and_then(|v| v.as_str())
        .as_deref()
        == Some("revoked");
    if let Some(v) = entry.get("revokedAt").filter(|_| !revoked) {
        report.push(
            v.key_span().unwrap_or(v.span()),
            "/revokedAt",
            "revokedAt is set but status is not revoked: instar's newest registration code treats it as revoked while the lists of active machines do not".into(),
            "revocation without status",
        );
    }
}

/// A string member, when it is one.
fn string_member<'t>(entry: Value<'t>, name: &str) -> Option<Value<'t>> {
    entry.get(name).filter(|v| v.kind() == Kind::String)
}

/// `status` and `role` outside the values instar knows.
fn enumerations(entry: Value<'_>, report: &mut FieldProblems<'_>) {
    if let Some(v) = string_member(entry, "status") {
        let s = v.as_str().unwrap_or_default();
        if !matches!(&*s, "active" | "revoked" | "pending") {
            report.push(
                v.span(),
                "/status",
                format!("status {s:?} is not active, revoked or pending"),
                "unknown status",
            );
        }
    }
    if let Some(v) = string_member(entry, "role") {
        let s = v.as_str().unwrap_or_default();
        if !matches!(&*s, "awake" | "standby") {
            report.push(
                v.span(),
                "/role",
                format!("role {s:?} is not awake or standby"),
                "unknown role",
            );
        }
    }
}

/// `pairedAt`, `lastSeen` and `revokedAt`: ISO-8601 strings (`revokedAt` may be absent).
fn timestamps(entry: Value<'_>, report: &mut FieldProblems<'_>) {
    for name in ["pairedAt", "lastSeen", "revokedAt"] {
        if let Some(v) = string_member(entry, name) {
            if crate::cron::parse_rfc3339(&v.as_str().unwrap_or_default()).is_none() {
                report.push(
                    v.span(),
                    &format!("/{name}"),
                    format!("{name} is not an ISO-8601 timestamp"),
                    "not an ISO timestamp",
                );
            }
        } else if let Some(v) = entry.get(name).filter(|_| name == "revokedAt") {
            report.push(
                v.span(),
                "/revokedAt",
                "revokedAt is not a string".into(),
                "not a string",
            );
        }
    }
}

/// Where the field findings of one entry go, each under the entry's pointer.
struct FieldProblems<'a> {
    path: &'a Path,
    key: &'a str,
    pointer: &'a str,
    sink: &'a mut Sink,
}

impl FieldProblems<'_> {
    fn push(&mut self, span: Span, field: &str, message: String, label: &str) {
        self.sink.push(
            Diagnostic::new(
                &INVALID_ENTRY,
                Effect::Silent,
                format!("machine {}: {message}", self.key),
            )
            .file(self.path)
            .at(span, label.to_string())
            .pointer(format!("{}{field}", self.pointer))
            .help("instar loads it; its awake and active filters compare these fields exactly"),
        );
    }
}

/// A nickname: a string, of the form instar's validator accepts, and not one an earlier entry
/// took (compared without case).
fn nickname(
    path: &Path,
    key: &str,
    nick: Value<'_>,
    pointer: &str,
    seen: &mut HashMap<String, (String, Span)>,
    sink: &mut Sink,
) {
    let finding = |message: String, label: &str| {
        Diagnostic::new(
            &NICKNAME,
            Effect::Silent,
            format!("machine {key}: {message}"),
        )
        .file(path)
        .at(nick.span(), label.to_string())
        .pointer(format!("{pointer}/nickname"))
    };
    let Some(text) = nick.as_str().filter(|_| nick.kind() == Kind::String) else {
        sink.push(finding("nickname is not a string".into(), "not a string"));
        return;
    };
    let trimmed = js_trim(&text);
    if !valid_nickname(trimmed) {
        sink.push(
            finding(
                format!("nickname {text:?} does not match ^[\\w][\\w \\-]{{0,40}}$"),
                "invalid nickname",
            )
            .fix(Some(Fix::manual(
                "choose a nickname of letters, digits, _, spaces and -",
            ))),
        );
        return;
    }
    let lower = trimmed.to_lowercase();
    let Some((first_key, first_span)) = seen.get(&lower) else {
        seen.insert(lower, (key.to_string(), nick.span()));
        return;
    };
    let renamed = (2..)
        .map(|n| format!("{trimmed} {n}"))
        .find(|c| !seen.contains_key(&c.to_lowercase()))
        .unwrap_or_default();
    sink.push(
        finding(
            format!("nickname {text:?} is already used by {first_key}"),
            "duplicate nickname",
        )
        .secondary(Label {
            file: path.to_path_buf(),
            span: Some(first_span.clone()),
            message: "first used here".into(),
        })
        .fix(Some(Fix::unsafe_(
            format!("rename it to {renamed:?}"),
            vec![Change::Edit {
                file: path.to_path_buf().into(),
                span: nick.span(),
                replacement: json_edit::string_literal(&renamed).into(),
            }],
        ))),
    );
    seen.insert(renamed.to_lowercase(), (key.to_string(), nick.span()));
}

/// instar's `^[\w][\w \-]{0,40}$` on the trimmed nickname.
fn valid_nickname(trimmed: &str) -> bool {
    let mut chars = trimmed.chars();
    let word = |c: char| c.is_ascii_alphanumeric() || c == '_';
    chars.next().is_some_and(word)
        && trimmed.chars().count() <= 41
        && chars.all(|c| word(c) || c == ' ' || c == '-')
}

fn self_missing_finding(
    file: RegistryFile<'_>,
    machines: Value<'_>,
    spans: &[Span],
    id: &str,
    identity: &IdentityView,
    sink: &mut Sink,
) {
    let RegistryFile { cx, path, bytes } = file;
    let now = machine::iso_millis(cx.now);
    let name = identity.name.clone().unwrap_or_default();
    let entry = serde_json::json!({
        "name": name,
        "status": "active",
        "role": "standby",
        "pairedAt": now,
        "lastSeen": now,
    });
    let pretty = serde_json::to_string_pretty(&entry).unwrap_or_default();
    let (span, replacement) = json_edit::insert_member(bytes, &machines.span(), spans, id, &pretty);
    sink.push(
        Diagnostic::new(
            &SELF_MISSING,
            Effect::None,
            format!("this machine ({id}) is missing from the registry"),
        )
        .file(path)
        .at(
            machines.key_span().unwrap_or(machines.span()),
            "no entry for this machine",
        )
        .pointer("/machines")
        .secondary(Label {
            file: identity.path.clone(),
            span: None,
            message: "this machine's identity".into(),
        })
        .help("instar re-adds it as standby at its next start; until then peers do not see it")
        .fix(Some(Fix::safe(
            "register this machine as standby, exactly as instar's self-heal does",
            vec![Change::Edit {
                file: path.to_path_buf().into(),
                span,
                replacement: replacement.into(),
            }],
        ))),
    );
}

fn split_brain(
    cx: &Context,
    path: &Path,
    awake: &[(String, Span)],
    lease: &lease::Verdict,
    sink: &mut Sink,
) {
    let ids: Vec<&str> = awake.iter().map(|(id, _)| id.as_str()).collect();
    let keeper = lease
        .verified_holder
        .clone()
        .filter(|h| ids.contains(&h.as_str()))
        .map(|h| (h, "the verified lease holder"))
        .or_else(|| {
            heartbeat::live_holder(cx)
                .filter(|h| ids.contains(&h.as_str()))
                .map(|h| (h, "the live heartbeat holder"))
        });
    let contradicted = lease
        .verified_holder
        .as_ref()
        .is_some_and(|h| ids.iter().any(|id| id != h));
    let fix = match &keeper {
        Some((keep, why)) => Fix::unsafe_(
            format!("demote every awake machine except {keep} ({why}) to standby"),
            awake
                .iter()
                .filter(|(id, _)| id != keep)
                .map(|(_, span)| Change::Edit {
                    file: path.to_path_buf().into(),
                    span: span.clone(),
                    replacement: "\"standby\"".into(),
                })
                .collect(),
        ),
        None => Fix::manual("run `instar wakeup` on the machine that should be awake"),
    };
    let mut d = Diagnostic::new(
        &SPLIT_BRAIN,
        Effect::Silent,
        format!(
            "{} active machines claim awake (split brain?): {}",
            awake.len(),
            ids.join(", ")
        ),
    )
    .severity(if contradicted {
        Severity::Error
    } else {
        Severity::Warning
    })
    .file(path)
    .at(awake[0].1.clone(), "awake")
    .pointer(format!("/machines/{}/role", awake[0].0))
    .help(if cx.version >= boundary::REGISTRY_LEASE {
        "at this version the signed lease is the authority and registry roles may lag"
    } else {
        "both machines run jobs and answer messages; set multiMachine.coordinationMode to \"independent\" if that is intended"
    });
    for (_, span) in &awake[1..] {
        d = d.secondary(Label {
            file: path.to_path_buf(),
            span: Some(span.clone()),
            message: "also awake".into(),
        });
    }
    sink.push(d.fix(Some(fix)));
}

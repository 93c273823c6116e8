//! The HEAD lease record `registry.lease` (spec §4.4): its shape, its Ed25519 signature against
//! the holder's identity, its holder's standing and its expiry.

use std::path::Path;

use crate::diag::{Diagnostic, Effect, Label, Sink};
use crate::engine::Context;
use crate::json::{Kind, Value};
use crate::json_edit;
use crate::machine::{self, KeyAlg, SignatureVerdict};

use super::super::machine_state::{self as state, IdentityView};
use super::codes::*;

/// What the lease says, for the awake checks.
#[derive(Default)]
pub struct Verdict {
    /// The holder of a lease whose signature verifies and that has not expired.
    pub verified_holder: Option<String>,
}

pub fn check(
    cx: &Context,
    path: &Path,
    root: Value<'_>,
    machines: Value<'_>,
    identity: &IdentityView,
    sink: &mut Sink,
) -> Verdict {
    let mut verdict = Verdict::default();
    let Some(lease) = root.get("lease") else {
        return verdict;
    };
    let record = match Record::read(lease) {
        Ok(record) => record,
        Err(finding) => {
            sink.push(invalid(path, finding.0, lease, finding.1));
            return verdict;
        }
    };
    let holder_id = record.holder.as_str().unwrap_or_default().into_owned();
    let released = lease.get("released").and_then(|v| v.as_bool()) == Some(true);
    let canonical = record.canonical(&holder_id, released);

    let verified = verified(
        cx,
        path,
        identity,
        &holder_id,
        &canonical,
        record.signature,
        sink,
    );

    let entry = machines.get(&holder_id);
    let standing = standing(entry);
    if let Some(standing) = standing {
        sink.push(holder_standing(
            path,
            &holder_id,
            record.holder,
            standing,
            verified,
        ));
    }

    let expired = expiry(cx, path, &record, &holder_id, sink);
    if verified && !expired && !released && standing.is_none() {
        if let Some(finding) = role_lag(path, &holder_id, record.holder, entry) {
            sink.push(finding);
        }
        verdict.verified_holder = Some(holder_id);
    }
    verdict
}

/// The fields verifyLease needs, each of the type it needs, in the order it lists them.
const FIELDS: [(&str, Kind); 6] = [
    ("holder", Kind::String),
    ("epoch", Kind::Number),
    ("acquiredAt", Kind::String),
    ("expiresAt", Kind::String),
    ("nonce", Kind::Number),
    ("signature", Kind::String),
];

/// A lease record with every field verifyLease needs, well typed.
struct Record<'t> {
    holder: Value<'t>,
    epoch: Value<'t>,
    acquired: Value<'t>,
    expires: Value<'t>,
    nonce: Value<'t>,
    signature: Value<'t>,
}

impl<'t> Record<'t> {
    /// The record, or the message and label of the `lease-invalid` finding on it.
    fn read(lease: Value<'t>) -> Result<Record<'t>, (String, &'static str)> {
        if lease.kind() != Kind::Object {
            return Err((
                "registry.lease is not an object".into(),
                "not a lease record",
            ));
        }
        let field = |name: &str, kind: Kind| lease.get(name).filter(|v| v.kind() == kind);
        let [holder, epoch, acquired, expires, nonce, signature] =
            FIELDS.map(|(name, kind)| field(name, kind));
        let (
            Some(holder),
            Some(epoch),
            Some(acquired),
            Some(expires),
            Some(nonce),
            Some(signature),
        ) = (holder, epoch, acquired, expires, nonce, signature)
        else {
            let missing: Vec<&str> = FIELDS
                .iter()
                .filter(|(n, k)| field(n, *k).is_none())
                .map(|(n, _)| *n)
                .collect();
            return Err((
                format!("registry.lease lacks a well-typed {}", missing.join(", ")),
                "malformed lease",
            ));
        };
        Ok(Record {
            holder,
            epoch,
            acquired,
            expires,
            nonce,
            signature,
        })
    }

    /// The text the holder signed: a JSON array of the fields, numbers as JavaScript prints them.
    fn canonical(&self, holder_id: &str, released: bool) -> String {
        format!(
            "[{},{},{},{},{}{}]",
            json_edit::string_literal(holder_id),
            machine::js_number(self.epoch.as_f64().unwrap_or(f64::NAN)),
            json_edit::string_literal(&self.acquired.as_str().unwrap_or_default()),
            json_edit::string_literal(&self.expires.as_str().unwrap_or_default()),
            machine::js_number(self.nonce.as_f64().unwrap_or(f64::NAN)),
            if released { ",true" } else { "" }
        )
    }
}

/// Reports a lease expired past the failover grace; returns whether it has expired at all (an
/// unreadable expiry counts as expired).
fn expiry(
    cx: &Context,
    path: &Path,
    record: &Record<'_>,
    holder_id: &str,
    sink: &mut Sink,
) -> bool {
    let expiry = crate::cron::parse_rfc3339(&record.expires.as_str().unwrap_or_default());
    let grace = (state::multi_machine_config(cx).failover_timeout_minutes * 60.0) as i64;
    if let Some(at) = expiry.filter(|at| at + grace < cx.now) {
        let hours = (cx.now - at) / 3600;
        sink.push(
            Diagnostic::new(
                &LEASE_EXPIRED,
                Effect::None,
                format!("the lease of {holder_id} expired {hours} hour(s) ago"),
            )
            .file(path)
            .at(record.expires.span(), "expired")
            .pointer("/lease/expiresAt")
            .help(
                "normal when the mesh is stopped; the next machine to start acquires a new lease",
            ),
        );
    }
    expiry.is_none_or(|at| at < cx.now)
}

/// A verified, live lease whose holder's registry role is not `awake` yet.
fn role_lag(
    path: &Path,
    holder_id: &str,
    holder: Value<'_>,
    entry: Option<Value<'_>>,
) -> Option<Diagnostic> {
    let role = entry.and_then(|e| e.get("role"));
    if role.and_then(|r| r.as_str()).as_deref() == Some("awake") {
        return None;
    }
    let d = Diagnostic::new(
        &LEASE_ROLE_LAG,
        Effect::Silent,
        format!("{holder_id} holds the lease but its registry role is not awake"),
    )
    .file(path)
    .help("registry roles may lag the lease; it catches up at the holder's next write");
    Some(match role {
        Some(r) => d
            .at(r.span(), "not awake")
            .pointer(format!("/machines/{holder_id}/role")),
        None => d.at(holder.span(), "lease holder").pointer("/lease/holder"),
    })
}

/// The finding for a lease verifyLease rejects.
fn invalid(path: &Path, message: String, value: Value<'_>, label: &str) -> Diagnostic {
    Diagnostic::new(&LEASE_INVALID, Effect::Silent, message)
        .file(path)
        .at(value.span(), label.to_string())
        .pointer(value.pointer())
        .help("the registry still loads (the lease is not read then), but instar's lease check rejects it, so no machine is the authority")
}

/// Whether the lease's signature verifies with the holder's key, as verifyLease checks it; the
/// finding that says why not otherwise.
fn verified(
    cx: &Context,
    path: &Path,
    identity: &IdentityView,
    holder_id: &str,
    canonical: &str,
    signature: Value<'_>,
    sink: &mut Sink,
) -> bool {
    let invalid =
        |message: String, value: Value<'_>, label: &str| invalid(path, message, value, label);
    // The holder's key: this machine's identity.json, else machines/<holder>/identity.json.
    let (key, key_file) = if identity.id.as_deref() == Some(holder_id) {
        (identity.key(KeyAlg::Ed25519), identity.path.clone())
    } else {
        let copy = cx.state_path(&format!("machines/{holder_id}/identity.json"));
        let key = cx.json(&copy).and_then(|doc| {
            let tape = doc.tape()?;
            let text = tape.root().get("signingPublicKey")?.as_str()?.into_owned();
            machine::decode_spki(&text, KeyAlg::Ed25519).ok()
        });
        (key, copy)
    };
    let sig_text = signature.as_str().unwrap_or_default();
    match key {
        None => {
            sink.push(
                invalid(
                    format!(
                        "the lease of {holder_id} cannot be verified: no valid signingPublicKey in {}",
                        cx.display_path(&key_file)
                    ),
                    signature,
                    "unverifiable signature",
                )
                .secondary(Label {
                    file: key_file,
                    span: None,
                    message: "the holder's identity".into(),
                }),
            );
            false
        }
        Some(public) => match machine::verify_ed25519(&public, canonical.as_bytes(), &sig_text) {
            SignatureVerdict::Valid => true,
            other => {
                let why = match other {
                    SignatureVerdict::Malformed => "is not a base64 Ed25519 signature",
                    SignatureVerdict::BadKey => {
                        "cannot be checked: the holder's key is not a valid Ed25519 point"
                    }
                    _ => "does not verify",
                };
                sink.push(
                    invalid(
                        format!(
                            "the lease signature {why} with {holder_id}'s key ({})",
                            machine::fingerprint(&public)
                        ),
                        signature,
                        "bad signature",
                    )
                    .secondary(Label {
                        file: key_file,
                        span: None,
                        message: "the holder's signingPublicKey".into(),
                    }),
                );
                false
            }
        },
    }
}

/// Why verifyLease's caller should not trust the holder, by its registry entry: `None` when it
/// is an active member.
fn standing(entry: Option<Value<'_>>) -> Option<&'static str> {
    let status = entry
        .and_then(|e| e.get("status"))
        .and_then(|v| v.as_str())
        .map(|s| s.into_owned());
    let revoked_at = entry.and_then(|e| e.get("revokedAt")).is_some();
    match (&entry, status.as_deref()) {
        (None, _) => Some("is not in the registry"),
        (Some(_), Some("revoked")) => Some("is revoked"),
        (Some(_), _) if revoked_at => Some("has a revokedAt"),
        (Some(_), Some("active")) => None,
        _ => Some("is not active"),
    }
}

/// The finding for a lease held by a machine that is not an active member.
fn holder_standing(
    path: &Path,
    holder_id: &str,
    holder: Value<'_>,
    standing: &str,
    verified: bool,
) -> Diagnostic {
    Diagnostic::new(
        &LEASE_HOLDER_UNKNOWN,
        Effect::Silent,
        format!("the lease holder {holder_id} {standing}"),
    )
    .file(path)
    .at(holder.span(), "lease holder")
    .pointer("/lease/holder")
    .help(if verified {
        "instar's lease check never looks at the holder's standing: this signed lease is still honoured"
    } else {
        "the lease does not verify either"
    })
}

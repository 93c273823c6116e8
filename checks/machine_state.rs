//! What the three machine checks (registry, identity, keys) need to know about each other's
//! files, read through `Context` so each file is still read once per run. Each check reports only
//! on the files it owns (design §3); this module only reads.

use std::path::PathBuf;

use crate::diag::Span;
use crate::engine::Context;
use crate::json::Kind;
use crate::machine::{self, KeyAlg, PemProblem, PrivateKeyInfo};
use crate::source::FileState;

pub const IDENTITY: &str = "machine/identity.json";
pub const REGISTRY: &str = "machines/registry.json";
pub const HEARTBEAT: &str = "state/heartbeat.json";

/// This machine's identity.json as far as the other checks need it.
#[derive(Debug, Default)]
pub struct IdentityView {
    pub path: PathBuf,
    /// `existsSync` says yes (instar's `hasIdentity`).
    pub exists: bool,
    /// JSON.parse accepts it (no BOM).
    pub parses: bool,
    /// `machineId` when it is a string (valid or not).
    pub id: Option<String>,
    pub name: Option<String>,
    /// The raw public keys, when the values are well-formed SPKI of the right algorithm.
    pub signing: Option<[u8; 32]>,
    pub encryption: Option<[u8; 32]>,
    /// Where the key values are, for secondary labels.
    pub signing_span: Option<Span>,
    pub encryption_span: Option<Span>,
}

impl IdentityView {
    pub fn key(&self, alg: KeyAlg) -> Option<[u8; 32]> {
        match alg {
            KeyAlg::Ed25519 => self.signing,
            KeyAlg::X25519 => self.encryption,
        }
    }

    pub fn key_span(&self, alg: KeyAlg) -> Option<Span> {
        match alg {
            KeyAlg::Ed25519 => self.signing_span.clone(),
            KeyAlg::X25519 => self.encryption_span.clone(),
        }
    }
}

pub fn identity(cx: &Context) -> IdentityView {
    let path = cx.state_path(IDENTITY);
    let state = cx.file(&path);
    let mut view = IdentityView {
        path: path.clone(),
        exists: state.exists_for_instar(),
        ..IdentityView::default()
    };
    let Some(doc) = cx.json(&path) else {
        return view;
    };
    view.parses = matches!(&doc.parsed, Ok(outcome) if !outcome.bom);
    let Some(tape) = doc.tape() else {
        return view;
    };
    let root = tape.root();
    view.id = root
        .get("machineId")
        .and_then(|v| v.as_str())
        .map(|s| s.into_owned());
    view.name = root
        .get("name")
        .and_then(|v| v.as_str())
        .map(|s| s.into_owned());
    for alg in [KeyAlg::Ed25519, KeyAlg::X25519] {
        let field = public_key_field(alg);
        if let Some(value) = root.get(field) {
            let raw = value
                .as_str()
                .and_then(|text| machine::decode_spki(&text, alg).ok());
            match alg {
                KeyAlg::Ed25519 => {
                    view.signing = raw;
                    view.signing_span = Some(value.span());
                }
                KeyAlg::X25519 => {
                    view.encryption = raw;
                    view.encryption_span = Some(value.span());
                }
            }
        }
    }
    view
}

/// identity.json's field for an algorithm's public key.
pub fn public_key_field(alg: KeyAlg) -> &'static str {
    match alg {
        KeyAlg::Ed25519 => "signingPublicKey",
        KeyAlg::X25519 => "encryptionPublicKey",
    }
}

/// The canonical and the legacy file name of a private key (spec §6.2).
pub fn key_names(alg: KeyAlg) -> [&'static str; 2] {
    match alg {
        KeyAlg::Ed25519 => ["signing-key.pem", "signing-private.pem"],
        KeyAlg::X25519 => ["encryption-key.pem", "encryption-private.pem"],
    }
}

/// A private-key file that is present and readable, parsed.
pub struct KeyFile {
    pub path: PathBuf,
    pub parsed: Result<PrivateKeyInfo, PemProblem>,
}

/// The readable key files for an algorithm, canonical name first.
pub fn key_files(cx: &Context, alg: KeyAlg) -> Vec<KeyFile> {
    key_names(alg)
        .iter()
        .filter_map(|name| {
            let path = cx.state_path(&format!("machine/{name}"));
            let state = cx.file(&path);
            let loaded = state.loaded()?;
            Some(KeyFile {
                parsed: machine::parse_private_pem(&loaded.bytes),
                path,
            })
        })
        .collect()
}

/// Whether any private-key file exists under any name (readable or not).
pub fn any_key_file(cx: &Context) -> bool {
    [KeyAlg::Ed25519, KeyAlg::X25519].iter().any(|alg| {
        key_names(*alg).iter().any(|name| {
            !matches!(
                *cx.file(&cx.state_path(&format!("machine/{name}"))),
                FileState::Missing
            )
        })
    })
}

/// The public keys derived from the readable, valid PEMs (the first valid name wins).
pub fn derived_keys(cx: &Context) -> (Option<[u8; 32]>, Option<[u8; 32]>) {
    let derive = |alg: KeyAlg| {
        key_files(cx, alg)
            .into_iter()
            .find_map(|file| match file.parsed {
                Ok(info) if info.alg == alg => Some(info.public),
                _ => None,
            })
    };
    (derive(KeyAlg::Ed25519), derive(KeyAlg::X25519))
}

/// Remote identity copies `.instar/machines/<id>/identity.json`, by directory name.
pub fn remote_identity_dirs(cx: &Context) -> Vec<String> {
    let dir = cx.state_path("machines");
    cx.list_dir(&dir)
        .into_iter()
        .filter(|name| cx.is_dir(&dir.join(name)))
        .collect()
}

/// A remote identity copy whose two public keys are exactly `signing` and `encryption`: the
/// source for reconstructing a lost identity.json.
pub fn matching_remote_copy(
    cx: &Context,
    signing: [u8; 32],
    encryption: [u8; 32],
) -> Option<(PathBuf, Vec<u8>)> {
    for name in remote_identity_dirs(cx) {
        let path = cx.state_path(&format!("machines/{name}/identity.json"));
        let Some(doc) = cx.json(&path) else { continue };
        let Some(tape) = doc.tape() else { continue };
        let root = tape.root();
        let key = |field: &str, alg| {
            root.get(field)
                .and_then(|v| v.as_str())
                .and_then(|t| machine::decode_spki(&t, alg).ok())
        };
        let id_ok = root
            .get("machineId")
            .and_then(|v| v.as_str())
            .is_some_and(|id| machine::is_machine_id(&id));
        if doc.parsed.as_ref().is_ok_and(|o| !o.bom)
            && id_ok
            && key("signingPublicKey", KeyAlg::Ed25519) == Some(signing)
            && key("encryptionPublicKey", KeyAlg::X25519) == Some(encryption)
        {
            return Some((path, doc.bytes().to_vec()));
        }
    }
    None
}

/// The registry's machine ids and whether it has any entry at all (`None` when it does not
/// load as an object with an object `machines`).
pub fn registry_ids(cx: &Context) -> Option<Vec<String>> {
    let doc = cx.json(&cx.state_path(REGISTRY))?;
    let tape = doc.tape()?;
    let machines = tape.root().get("machines")?;
    (machines.kind() == Kind::Object)
        .then(|| machines.members().map(|(k, _)| k.into_owned()).collect())
}

/// config.json's `multiMachine` settings that change the registry's verdicts.
pub struct MultiMachineConfig {
    pub independent: bool,
    pub failover_timeout_minutes: f64,
}

pub fn multi_machine_config(cx: &Context) -> MultiMachineConfig {
    let mut out = MultiMachineConfig {
        independent: false,
        failover_timeout_minutes: 15.0,
    };
    let Some(doc) = cx.json(&cx.state_path("config.json")) else {
        return out;
    };
    let Some(tape) = doc.tape() else { return out };
    let Some(mm) = tape.root().get("multiMachine") else {
        return out;
    };
    out.independent = mm
        .get("coordinationMode")
        .and_then(|v| v.as_str())
        .is_some_and(|m| m == "independent");
    if let Some(minutes) = mm
        .get("failoverTimeoutMinutes")
        .and_then(|v| v.as_f64())
        .filter(|m| m.is_finite() && *m > 0.0)
    {
        out.failover_timeout_minutes = minutes;
    }
    out
}

/// The agent user: the owner of `.instar/` (design §2).
pub fn agent_uid(cx: &Context) -> Option<u32> {
    cx.agent_uid()
}

/// Temp files `<base>.tmp.<pid>` in `dir` (instar's per-module atomic writes, spec §2.3).
pub fn pid_temp_files(cx: &Context, dir: &std::path::Path, base: &str) -> Vec<PathBuf> {
    let prefix = format!("{base}.tmp.");
    cx.list_dir(dir)
        .into_iter()
        .filter(|name| {
            name.strip_prefix(&prefix)
                .is_some_and(|pid| !pid.is_empty() && pid.bytes().all(|b| b.is_ascii_digit()))
        })
        .map(|name| dir.join(name))
        .collect()
}

/// Whether the writer of a `<file>.tmp.<pid>` is still alive (design §7: `kill(pid, 0)` through
/// the host, never `/proc`, which macOS does not have).
pub fn writer_alive(cx: &Context, path: &std::path::Path) -> bool {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    name.rsplit_once(".tmp.")
        .and_then(|(_, pid)| pid.parse::<u32>().ok())
        .is_some_and(|pid| cx.process_alive(pid))
}

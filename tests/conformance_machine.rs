//! Spec §11.2 (machine-identity.test.ts and the spec's probes of loadRegistry and loadIdentity),
//! checked against the doctor through the library API, plus the rule that no private-key byte
//! ever reaches any output.

mod common;

use std::fs;
use std::path::Path;

use instar_doctor::diag::Severity;
use instar_doctor::engine::{self, Context, Selection};
use instar_doctor::machine;
use instar_doctor::version::Version;

const OLD: Version = Version::new(0, 28, 44);
const HEAD: Version = Version::new(1, 3, 1186);
const NOW: i64 = 1_795_000_000;

// Spec §6.5: published throwaway test vectors, not anyone's keys.
const SIGNING_PEM: &str = "-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEIJzufkNno/3DuEXQUdjVk8fS5j8DuoIRIjGg2S0T+fI3\n-----END PRIVATE KEY-----\n";
const ENCRYPTION_PEM: &str = "-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VuBCIEIDBEW00gyVveQo8f4PI44iPtRFrZ70XJM4b26hzNV2Rt\n-----END PRIVATE KEY-----\n";
const SELF: &str = "m_3f9a0c2e7b1d4e6fa8c05b9d2e4f6a71";
const PEER: &str = "m_9c1d7e02aa4b4f3c8d6e5f4a3b2c1d0e";

fn identity() -> serde_json::Value {
    serde_json::json!({
        "machineId": SELF,
        "signingPublicKey": "MCowBQYDK2VwAyEAGZZDi+T5ZvWOOj267mwbWGnqQCocNxpj0Qb6I/2CrnA=",
        "encryptionPublicKey": "MCowBQYDK2VuAyEAl+vGf+WUEusq8I8BO+LTGvwoXpk6NngAKrP7p7IDpGY=",
        "name": "studio-mini", "platform": "darwin-arm64",
        "createdAt": "2026-04-10T08:12:44.101Z",
        "capabilities": ["sessions", "jobs", "telegram", "tunnel"]
    })
}

fn entry(role: &str) -> serde_json::Value {
    serde_json::json!({"name": "studio-mini", "status": "active", "role": role,
        "pairedAt": "2026-04-10T08:12:44.120Z", "lastSeen": "2026-04-15T17:03:09.551Z"})
}

/// A healthy single machine of spec §4.5/§5.3/§6.5, with `files` overriding (None removes).
struct Agent {
    dir: tempfile::TempDir,
}

impl Agent {
    fn new() -> Agent {
        let dir = tempfile::tempdir().unwrap();
        let agent = Agent { dir };
        agent.write("machine/identity.json", &identity().to_string());
        agent.write("machine/signing-key.pem", SIGNING_PEM);
        agent.write("machine/encryption-key.pem", ENCRYPTION_PEM);
        agent.write(
            "machines/registry.json",
            &serde_json::json!({"version": 1, "machines": {SELF: entry("awake")}}).to_string(),
        );
        agent
    }

    fn path(&self, rel: &str) -> std::path::PathBuf {
        self.dir.path().join(".instar").join(rel)
    }

    fn write(&self, rel: &str, text: &str) {
        let path = self.path(rel);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(&path, text).unwrap();
        if rel.ends_with(".pem") {
            use std::os::unix::fs::PermissionsExt;
            fs::set_permissions(&path, fs::Permissions::from_mode(0o600)).unwrap();
        }
    }

    fn remove(&self, rel: &str) {
        fs::remove_file(self.path(rel)).unwrap();
    }

    /// (code, severity, effect, fix applicability) of every warning or error at `version`.
    fn findings(&self, version: Version) -> Vec<(String, String, String, String)> {
        let cx = Context::at_version(self.dir.path().to_path_buf(), version, NOW);
        let selection = Selection {
            select: vec!["registry".into(), "identity".into(), "keys".into()],
            ignore: vec![],
        };
        engine::run(&cx, &selection)
            .diagnostics
            .iter()
            .filter(|d| d.severity >= Severity::Warning)
            .map(|d| {
                (
                    d.code.id.to_string(),
                    d.severity.as_str().to_string(),
                    d.effect.as_str().to_string(),
                    d.fix
                        .as_ref()
                        .map_or("none", |f| f.applicability().as_str())
                        .to_string(),
                )
            })
            .collect()
    }

    fn codes(&self, version: Version) -> Vec<String> {
        self.findings(version).into_iter().map(|f| f.0).collect()
    }

    fn assert_healthy(&self) {
        for v in [OLD, HEAD] {
            assert_eq!(self.findings(v), vec![], "at {v}");
        }
    }

    fn assert_finds(&self, code: &str, severity: &str, effect: &str, fix: &str) {
        for v in [OLD, HEAD] {
            let found = self.findings(v);
            assert!(
                found.contains(&(code.into(), severity.into(), effect.into(), fix.into())),
                "at {v}: expected {code} {severity} {effect} fix={fix}, got {found:?}"
            );
        }
    }
}

#[test]
fn a_generated_identity_with_both_pems_at_0600_is_healthy() {
    Agent::new().assert_healthy();
}

#[test]
fn legacy_key_names_alone_are_healthy_at_both_versions() {
    let agent = Agent::new();
    agent.remove("machine/signing-key.pem");
    agent.remove("machine/encryption-key.pem");
    agent.write("machine/signing-private.pem", SIGNING_PEM);
    agent.write("machine/encryption-private.pem", ENCRYPTION_PEM);
    agent.assert_healthy();
}

#[test]
fn a_signature_made_with_the_signing_pem_verifies_with_the_identity_key() {
    // The key-match test of §11.2, through the doctor's own derivation.
    let info = machine::parse_private_pem(SIGNING_PEM.as_bytes()).unwrap();
    let id = identity();
    let expected = machine::decode_spki(
        id["signingPublicKey"].as_str().unwrap(),
        machine::KeyAlg::Ed25519,
    )
    .unwrap();
    assert_eq!(info.public, expected);
    let sig =
        "jYO0vbOh0Ug1sh94lox4Utf9aA5C4SjLEnyZs2bHtM4CCL1XKJ8KcyOUY4bCid1HxwJHO1StzbKWU5GdvWLxCw==";
    assert_eq!(
        machine::verify_ed25519(&expected, b"instar-doctor", sig),
        machine::SignatureVerdict::Valid
    );
    // Tampered data and a wrong key do not verify.
    assert_eq!(
        machine::verify_ed25519(&expected, b"instar-doctor!", sig),
        machine::SignatureVerdict::Invalid
    );
    let other = ed25519_other_public();
    assert_eq!(
        machine::verify_ed25519(&other, b"instar-doctor", sig),
        machine::SignatureVerdict::Invalid
    );
}

/// The public key of another Ed25519 key generated here (all-zero seed, RFC 8032 derivation).
fn ed25519_other_public() -> [u8; 32] {
    machine::parse_private_pem(zero_seed_pem().as_bytes())
        .unwrap()
        .public
}

fn zero_seed_pem() -> String {
    use base64::Engine as _;
    let mut der = hex("302e020100300506032b657004220420");
    der.extend_from_slice(&[0u8; 32]);
    format!(
        "-----BEGIN PRIVATE KEY-----\n{}\n-----END PRIVATE KEY-----\n",
        base64::engine::general_purpose::STANDARD.encode(der)
    )
}

fn hex(text: &str) -> Vec<u8> {
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&text[i..i + 2], 16).unwrap())
        .collect()
}

#[test]
fn a_key_that_does_not_match_identity_is_one_manual_error_owned_by_keys() {
    let agent = Agent::new();
    agent.write("machine/signing-key.pem", &zero_seed_pem());
    let found = agent.findings(HEAD);
    assert_eq!(
        found,
        vec![(
            "keys/public-key-mismatch".into(),
            "error".into(),
            "silent".into(),
            "manual".into()
        )],
        "reported once, by keys"
    );
}

#[test]
fn swapped_wrong_algorithm_and_unsupported_pems() {
    let agent = Agent::new();
    agent.write("machine/signing-key.pem", ENCRYPTION_PEM);
    agent.write("machine/encryption-key.pem", SIGNING_PEM);
    agent.assert_finds("keys/swapped", "error", "silent", "unsafe");
    assert!(!agent
        .codes(HEAD)
        .contains(&"keys/wrong-algorithm".to_string()));

    let agent = Agent::new();
    agent.write("machine/encryption-key.pem", SIGNING_PEM);
    agent.assert_finds("keys/wrong-algorithm", "error", "silent", "manual");

    for body in [
        "-----BEGIN ENCRYPTED PRIVATE KEY-----\nAAAA\n-----END ENCRYPTED PRIVATE KEY-----\n",
        "-----BEGIN OPENSSH PRIVATE KEY-----\nAAAA\n-----END OPENSSH PRIVATE KEY-----\n",
        "-----BEGIN RSA PRIVATE KEY-----\nAAAA\n-----END RSA PRIVATE KEY-----\n",
        &SIGNING_PEM[..50],
        "",
    ] {
        let agent = Agent::new();
        agent.write("machine/signing-key.pem", body);
        agent.assert_finds("keys/invalid-pem", "error", "silent", "manual");
    }
}

#[test]
fn missing_keys_both_names_differing_and_permissions() {
    let agent = Agent::new();
    agent.remove("machine/signing-key.pem");
    agent.assert_finds("keys/missing", "error", "silent", "manual");

    let agent = Agent::new();
    agent.write("machine/signing-private.pem", &zero_seed_pem());
    agent.assert_finds("keys/names-differ", "warning", "silent", "manual");

    use std::os::unix::fs::PermissionsExt;
    let agent = Agent::new();
    let key = agent.path("machine/signing-key.pem");
    fs::set_permissions(&key, fs::Permissions::from_mode(0o644)).unwrap();
    agent.assert_finds("keys/permissions", "error", "none", "safe");
    fs::set_permissions(&key, fs::Permissions::from_mode(0o640)).unwrap();
    agent.assert_finds("keys/permissions", "warning", "none", "safe");
}

#[test]
fn key_temp_files_are_quarantined_or_promoted() {
    let agent = Agent::new();
    agent.write("machine/signing-key.pem.tmp.999999999", SIGNING_PEM);
    let cx_codes = all_codes(&agent, HEAD);
    assert!(cx_codes.contains(&("keys/stray-temp-file".into(), "safe".into())));

    agent.remove("machine/signing-key.pem");
    let cx_codes = all_codes(&agent, HEAD);
    assert!(cx_codes.contains(&("keys/stray-temp-file".into(), "unsafe".into())));
}

fn all_codes(agent: &Agent, version: Version) -> Vec<(String, String)> {
    let cx = Context::at_version(agent.dir.path().to_path_buf(), version, NOW);
    engine::run(&cx, &Selection::default())
        .diagnostics
        .iter()
        .map(|d| {
            (
                d.code.id.to_string(),
                d.fix
                    .as_ref()
                    .map_or("none", |f| f.applicability().as_str())
                    .to_string(),
            )
        })
        .collect()
}

#[test]
fn pems_tracked_by_git_are_found_in_the_index_without_git() {
    let agent = Agent::new();
    let root = agent.dir.path();
    fs::create_dir_all(root.join(".git")).unwrap();
    fs::write(
        root.join(".gitignore"),
        ".instar/machine/signing-key.pem\n.instar/machine/encryption-key.pem\n",
    )
    .unwrap();
    fs::write(
        root.join(".git/index"),
        index(&[".instar/machine/identity.json"]),
    )
    .unwrap();
    agent.assert_healthy();
    fs::write(
        root.join(".git/index"),
        index(&[
            ".instar/machine/identity.json",
            ".instar/machine/signing-key.pem",
        ]),
    )
    .unwrap();
    agent.assert_finds("keys/tracked-by-git", "error", "none", "manual");
    fs::write(root.join(".gitignore"), "node_modules/\n").unwrap();
    agent.assert_finds("keys/gitignore", "warning", "none", "safe");
}

/// A version-2 index as git writes it.
fn index(paths: &[&str]) -> Vec<u8> {
    let mut out = b"DIRC".to_vec();
    out.extend_from_slice(&2u32.to_be_bytes());
    out.extend_from_slice(&(paths.len() as u32).to_be_bytes());
    for path in paths {
        let start = out.len();
        out.extend_from_slice(&[0u8; 40]);
        out.extend_from_slice(&[0xab; 20]);
        out.extend_from_slice(&(path.len() as u16).to_be_bytes());
        out.extend_from_slice(path.as_bytes());
        let len = out.len() - start;
        out.resize(start + ((len + 8) & !7), 0);
    }
    out.extend_from_slice(&[0u8; 20]);
    out
}

// ---- loadRegistry (§4.2, probed) ----

fn registry_agent(text: &str) -> Agent {
    let agent = Agent::new();
    agent.write("machines/registry.json", text);
    agent
}

#[test]
fn a_missing_registry_is_not_an_error() {
    let agent = Agent::new();
    agent.remove("machines/registry.json");
    agent.assert_healthy();
}

#[test]
fn registry_inputs_loadregistry_throws_on_are_fatal_errors() {
    for text in [
        "not json",
        "",
        "{\"foo\":\"bar\"}",
        "[]",
        "null",
        "{\"version\":\"1\",\"machines\":{}}",
        "{\"version\":1,\"machines\":\"x\"}",
        "{\"machines\":{}}",
        "<<<<<<< HEAD\n{}\n=======\n{}\n>>>>>>> x\n",
    ] {
        let agent = registry_agent(text);
        for v in [OLD, HEAD] {
            let found = agent.findings(v);
            assert!(
                found.iter().any(|(c, s, e, _)| (c == "registry/parse-error"
                    || c == "registry/invalid-shape")
                    && s == "error"
                    && e == "fatal"),
                "{text:?} at {v}: {found:?}"
            );
        }
    }
}

#[test]
fn registry_inputs_loadregistry_accepts_but_mishandles() {
    // machines: [] loads; the self-entry is silently never persisted.
    registry_agent("{\"version\":1,\"machines\":[]}").assert_finds(
        "registry/machines-not-object",
        "error",
        "silent",
        "unsafe",
    );
    // machines: null loads; ensureSelfRegistered then throws a TypeError at start.
    registry_agent("{\"version\":1,\"machines\":null}").assert_finds(
        "registry/machines-not-object",
        "error",
        "fatal",
        "unsafe",
    );
    // version 2 loads normally.
    let two = serde_json::json!({"version": 2, "machines": {SELF: entry("awake")}});
    registry_agent(&two.to_string()).assert_healthy();
    // Entries of the wrong type load and are ignored.
    let wrong = serde_json::json!({"version": 1, "machines": {SELF: entry("awake"), PEER: 5}});
    registry_agent(&wrong.to_string()).assert_finds(
        "registry/invalid-entry",
        "warning",
        "silent",
        "unsafe",
    );
}

#[test]
fn this_machine_missing_is_re_registered_as_standby_never_awake() {
    let agent = registry_agent(
        &serde_json::json!({"version": 1, "machines": {PEER: entry("awake")}}).to_string(),
    );
    agent.assert_finds("registry/self-missing", "warning", "none", "safe");
    let cx = Context::at_version(agent.dir.path().to_path_buf(), HEAD, NOW);
    let report = engine::run(&cx, &Selection::default());
    let fix = report
        .diagnostics
        .iter()
        .find(|d| d.code.id == "registry/self-missing")
        .and_then(|d| d.fix.clone())
        .unwrap();
    let instar_doctor::fix::Change::Edit {
        span, replacement, ..
    } = &fix.changes()[0]
    else {
        panic!("an edit")
    };
    let original = fs::read(agent.path("machines/registry.json")).unwrap();
    let new =
        instar_doctor::fix::apply_edits(&original, &[(span.clone(), &**replacement)]).unwrap();
    let parsed: serde_json::Value = serde_json::from_slice(&new).unwrap();
    let me = &parsed["machines"][SELF];
    assert_eq!(me["role"], "standby");
    assert_eq!(me["status"], "active");
    assert_eq!(me["name"], "studio-mini");
    assert!(me.get("nickname").is_none());
    // After the fix the registry is healthy but for the (pre-existing) peer.
    agent.write("machines/registry.json", std::str::from_utf8(&new).unwrap());
    assert!(!agent
        .codes(HEAD)
        .contains(&"registry/self-missing".to_string()));
}

#[test]
fn revoked_split_brain_no_awake_and_independent_mode() {
    let revoked = serde_json::json!({"version": 1, "machines": {
        SELF: {"name": "a", "status": "revoked", "role": "awake", "pairedAt": "2026-04-10T08:12:44.120Z",
               "lastSeen": "2026-04-15T17:03:09.551Z", "revokedAt": "2026-06-07T14:22:10.000Z"},
        PEER: entry("awake")}});
    let agent = registry_agent(&revoked.to_string());
    agent.assert_finds("registry/revoked-awake", "warning", "silent", "unsafe");
    agent.assert_finds("registry/self-revoked", "warning", "silent", "manual");

    let split =
        serde_json::json!({"version": 1, "machines": {SELF: entry("awake"), PEER: entry("awake")}});
    let agent = registry_agent(&split.to_string());
    agent.assert_finds("registry/split-brain", "warning", "silent", "manual");
    agent.write(
        "config.json",
        "{\"multiMachine\": {\"coordinationMode\": \"independent\"}}",
    );
    agent.assert_healthy();

    let none = serde_json::json!({"version": 1, "machines": {SELF: entry("standby")}});
    registry_agent(&none.to_string()).assert_finds(
        "registry/no-awake",
        "warning",
        "silent",
        "manual",
    );
}

#[test]
fn the_spec_lease_vector_verifies_and_a_forged_one_does_not() {
    let lease = serde_json::json!({"holder": SELF, "epoch": 3,
        "acquiredAt": "2026-08-20T10:00:00.000Z", "expiresAt": "2026-08-20T10:05:00.000Z",
        "nonce": 42, "signature": "cdChCa34/NBEGSq1uxY5FSQoQd1xZXvgEeX4Qsow0cm4WnrKuWArk82iDR7gTZFR7i98nm6v1g1Xp5GpRxYTDA=="});
    let reg = serde_json::json!({"version": 1, "machines": {SELF: entry("awake")}, "lease": lease});
    let agent = registry_agent(&reg.to_string());
    assert_eq!(agent.findings(HEAD), vec![], "the §4.4 vector verifies");
    let mut forged = reg.clone();
    forged["lease"]["epoch"] = serde_json::json!(4);
    let agent = registry_agent(&forged.to_string());
    assert!(agent
        .codes(HEAD)
        .contains(&"registry/lease-invalid".to_string()));
    // Before 1.3.19 the lease does not exist: nothing is said about it.
    assert!(!agent
        .codes(OLD)
        .contains(&"registry/lease-invalid".to_string()));
    // The tombstone variant signs with `,true`.
    let mut tomb = reg.clone();
    tomb["lease"]["released"] = serde_json::json!(true);
    tomb["lease"]["signature"] = serde_json::json!(
        "J93YFOuPZE1RjcCDNRykV27W7yWltsiYrWC7DDj0s/9pzCKBRTwgrZ2415IBa2N/TdAx/rxLEvj4ssXRfOagDw=="
    );
    assert!(!registry_agent(&tomb.to_string())
        .codes(HEAD)
        .contains(&"registry/lease-invalid".to_string()));
    // "3" as epoch fails before any signature check.
    let mut text_epoch = reg;
    text_epoch["lease"]["epoch"] = serde_json::json!("3");
    assert!(registry_agent(&text_epoch.to_string())
        .codes(HEAD)
        .contains(&"registry/lease-invalid".to_string()));
}

// ---- loadIdentity (§5.2, probed) ----

#[test]
fn identity_verdicts_match_loadidentity() {
    for (text, code, effect) in [
        ("{\"machineId\":", "identity/parse-error", "fatal"),
        ("null", "identity/parse-error", "fatal"),
        ("{}", "identity/no-machine-id", "silent"),
        ("[]", "identity/no-machine-id", "silent"),
    ] {
        let agent = Agent::new();
        agent.write("machine/identity.json", text);
        for v in [OLD, HEAD] {
            let found = agent.findings(v);
            assert!(
                found
                    .iter()
                    .any(|(c, s, e, _)| c == code && s == "error" && e == effect),
                "{text:?} at {v}: {found:?}"
            );
        }
    }
}

#[test]
fn an_undefined_registry_entry_is_reported_by_registry() {
    let agent = Agent::new();
    agent.write("machine/identity.json", "{}");
    agent.write(
        "machines/registry.json",
        &serde_json::json!({"version": 1, "machines": {"undefined": entry("standby")}}).to_string(),
    );
    agent.assert_finds("registry/undefined-entry", "warning", "silent", "unsafe");
    agent.assert_finds("identity/no-machine-id", "error", "silent", "manual");
}

#[test]
fn a_missing_identity_on_a_mesh_member_is_a_silent_error_and_alone_is_healthy() {
    let agent = Agent::new();
    agent.remove("machine/identity.json");
    agent.assert_finds("identity/missing-on-mesh", "error", "silent", "manual");
    // With the exact remote copy of this machine, it can be copied back.
    agent.write(
        &format!("machines/{SELF}/identity.json"),
        &identity().to_string(),
    );
    agent.assert_finds("identity/missing-on-mesh", "error", "silent", "unsafe");

    let single = tempfile::tempdir().unwrap();
    fs::create_dir_all(single.path().join(".instar")).unwrap();
    let cx = Context::at_version(single.path().to_path_buf(), HEAD, NOW);
    // The machine checks alone: a missing config.json is the config check's (warning) business.
    let machine_checks = Selection {
        select: vec!["registry".into(), "identity".into(), "keys".into()],
        ignore: vec![],
    };
    let report = engine::run(&cx, &machine_checks);
    assert!(report
        .diagnostics
        .iter()
        .all(|d| d.severity == Severity::Info));
}

#[test]
fn identity_fields_are_checked_and_keys_re_derived() {
    let agent = Agent::new();
    let mut id = identity();
    id["machineId"] = serde_json::json!("m_studio");
    id.as_object_mut().unwrap().remove("encryptionPublicKey");
    id["signingPublicKey"] = serde_json::json!("MCowBQ==");
    id["capabilities"] = serde_json::json!("sessions");
    agent.write(
        "machine/identity.json",
        &serde_json::to_string_pretty(&id).unwrap(),
    );
    agent.assert_finds("identity/invalid-machine-id", "warning", "silent", "manual");
    agent.assert_finds("identity/invalid-public-key", "error", "silent", "unsafe");
    agent.assert_finds("identity/invalid-field", "warning", "silent", "none");
}

// ---- no key material in any output ----

/// Every base64 body line of every PEM (or PEM temp file) under `fixtures/`.
fn pem_body_lines(dir: &Path, out: &mut Vec<String>) {
    for entry in fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        let meta = fs::symlink_metadata(&path).unwrap();
        if meta.is_dir() {
            pem_body_lines(&path, out);
            continue;
        }
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if !(name.ends_with(".pem") || name.contains(".pem.tmp.")) {
            continue;
        }
        let text = String::from_utf8_lossy(&fs::read(&path).unwrap()).into_owned();
        for line in text.lines().map(str::trim) {
            if line.len() >= 8 && !line.starts_with("-----") {
                out.push(line.to_string());
            }
        }
    }
}

#[test]
fn no_fixture_private_key_line_reaches_any_output_format() {
    let mut secrets = Vec::new();
    pem_body_lines(&common::fixtures(), &mut secrets);
    assert!(secrets.len() >= 10, "the PEM fixtures went missing");
    // The vectors' seeds and scalars in hex never appear either.
    secrets.push("9cee7e4367a3fdc3b845d051d8d593c7d2e63f03ba82112231a0d92d13f9f237".into());
    for area in ["keys", "identity", "registry"] {
        for case in fs::read_dir(common::fixtures().join(area))
            .unwrap()
            .flatten()
        {
            let dir = case.path();
            let dir = dir.to_str().unwrap();
            for extra in [
                &[][..],
                &["-v"][..],
                &["--format", "json"][..],
                &["--diff"][..],
                &["--diff", "--unsafe-fixes"][..],
            ] {
                let mut args = vec!["--dir", dir];
                args.extend_from_slice(extra);
                let out = common::run(&args);
                for secret in &secrets {
                    assert!(
                        !out.stdout.contains(secret.as_str())
                            && !out.stderr.contains(secret.as_str()),
                        "key material leaked for {dir} {extra:?}"
                    );
                }
            }
        }
    }
}

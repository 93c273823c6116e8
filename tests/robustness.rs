//! Bad input never crashes a check: every state file the doctor reads is replaced by arbitrary
//! bytes and by mutations of a valid file, and every check of the table must still finish.

use std::fs;

use instar_doctor::engine::{self, CheckStatus, Context, Selection};
use instar_doctor::version::{Version, NEWEST_KNOWN};
use proptest::prelude::*;

/// The files the checks read, each with a valid example to mutate.
const FILES: &[(&str, &str)] = &[
    ("jobs.json", r#"[{"slug": "a", "name": "A", "description": "d", "schedule": "0 * * * *", "priority": "low", "enabled": true, "execute": {"type": "prompt", "value": "v"}, "machines": ["m"], "grounding": {"requiresIdentity": true, "contextFiles": ["x.md"]}}]"#),
    ("config.json", r#"{"projectName": "t", "port": 4040, "authToken": "t", "scheduler": {"enabled": true, "jobsFile": "/nowhere/jobs.json"}, "messaging": [{"type": "telegram", "config": {"token": {"secret": true}}}], "sessions": {"tmuxPath": "/nope"}}"#),
    ("machines/registry.json", r#"{"version": 1, "machines": {"m_0123456789abcdef0123456789abcdef": {"name": "a", "status": "active", "role": "awake", "pairedAt": "2026-01-01T00:00:00Z", "lastSeen": "2026-01-01T00:00:00Z"}}, "lease": {"holder": "m_0123456789abcdef0123456789abcdef", "epoch": 1, "acquiredAt": "x", "expiresAt": "y", "signature": "zz"}}"#),
    ("machine/identity.json", r#"{"machineId": "m_0123456789abcdef0123456789abcdef", "signingPublicKey": "MCowBQYDK2VwAyEAGZZDi+T5ZvWOOj267mwbWGnqQCocNxpj0Qb6I/2CrnA=", "encryptionPublicKey": "MCowBQYDK2VuAyEAl+vGf+WUEusq8I8BO+LTGvwoXpk6NngAKrP7p7IDpGY=", "name": "a", "platform": "linux", "createdAt": "2026-01-01T00:00:00Z", "capabilities": ["jobs"]}"#),
    ("machine/signing-key.pem", "-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEIJzufkNno/3DuEXQUdjVk8fS5j8DuoIRIjGg2S0T+fI3\n-----END PRIVATE KEY-----\n"),
    ("state/heartbeat.json", r#"{"machineId": "m_0123456789abcdef0123456789abcdef", "timestamp": "2026-01-01T00:00:00Z"}"#),
    ("instar-boot.sh", "#!/bin/bash\nexec node \"/p/.instar/shadow-install/node_modules/instar/dist/cli.js\" lifeline start\n"),
    ("shadow-install/node_modules/instar/package.json", r#"{"name": "instar", "version": "0.28.44"}"#),
];

fn check_all(files: &[(&str, Vec<u8>)], version: Version) {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join(".instar");
    for (rel, bytes) in files {
        let path = state.join(rel);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(&path, bytes).unwrap();
    }
    let cx = Context::at_version(dir.path().to_path_buf(), version, 1_795_000_000);
    let report = engine::run(&cx, &Selection::default());
    let crashed: Vec<&str> = report
        .checks
        .iter()
        .filter(|c| c.status == CheckStatus::Crashed)
        .map(|c| c.id)
        .collect();
    assert!(
        crashed.is_empty(),
        "crashed: {crashed:?} on {:?}",
        files
            .iter()
            .map(|(r, b)| (r, String::from_utf8_lossy(b)))
            .collect::<Vec<_>>()
    );
    // Rendering every finding must not panic either.
    let doc = instar_doctor::render::json::document(&cx, &report, 0);
    let _ = instar_doctor::render::json::to_string(&doc);
    let repo = instar_doctor::render::paths::RepoPaths::discover(&cx.project_dir, None);
    let _ = instar_doctor::render::sarif::render(&doc, Some(&repo));
    let opts = instar_doctor::render::human::HumanOptions {
        color: false,
        width: 80,
        quiet: false,
        verbose: true,
        threshold: instar_doctor::diag::Severity::Info,
        hint: false,
        cwd: None,
        command: None,
    };
    let _ = instar_doctor::render::human::render(&cx, &report, &opts);
}

/// One mutation of a valid file: cut it, splice bytes in, or flip one byte.
fn mutate(valid: &str) -> impl Strategy<Value = Vec<u8>> {
    let len = valid.len();
    let bytes = valid.as_bytes().to_vec();
    prop_oneof![
        (0..=len).prop_map({
            let b = bytes.clone();
            move |cut| b[..cut].to_vec()
        }),
        (0..=len, proptest::collection::vec(any::<u8>(), 0..8)).prop_map({
            let b = bytes.clone();
            move |(at, extra)| {
                let mut out = b[..at].to_vec();
                out.extend(extra);
                out.extend_from_slice(&b[at..]);
                out
            }
        }),
        (0..len.max(1), any::<u8>()).prop_map(move |(at, byte)| {
            let mut out = bytes.clone();
            if let Some(slot) = out.get_mut(at) {
                *slot = byte;
            }
            out
        }),
    ]
}

fn any_file() -> impl Strategy<Value = (usize, Vec<u8>)> {
    (0..FILES.len()).prop_flat_map(|i| {
        prop_oneof![
            3 => mutate(FILES[i].1),
            1 => proptest::collection::vec(any::<u8>(), 0..64),
        ]
        .prop_map(move |bytes| (i, bytes))
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(96))]

    #[test]
    fn no_check_crashes_on_a_damaged_state_file((which, bytes) in any_file(), old in any::<bool>()) {
        let mut files: Vec<(&str, Vec<u8>)> = FILES.iter().map(|(r, t)| (*r, t.as_bytes().to_vec())).collect();
        files[which].1 = bytes;
        let version = if old { Version::new(0, 28, 44) } else { NEWEST_KNOWN };
        check_all(&files, version);
    }
}

#[test]
fn the_valid_examples_are_checked_without_crashing() {
    let files: Vec<(&str, Vec<u8>)> = FILES
        .iter()
        .map(|(r, t)| (*r, t.as_bytes().to_vec()))
        .collect();
    check_all(&files, NEWEST_KNOWN);
}

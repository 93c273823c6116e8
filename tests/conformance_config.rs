//! Spec §11.3: the verdicts of instar's config tests and of the spec's loadConfig probes,
//! checked against the doctor. "loads" means no fatal finding; a finding's effect says what the
//! loader does (fatal: it throws; silent: it loads and misbehaves).

mod common;

use std::fs;
use std::path::Path;

use instar_doctor::diag::{Diagnostic, Severity};
use instar_doctor::engine::{self, Context, Selection};
use instar_doctor::host::FakeHost;
use instar_doctor::version::Version;

const OLD: Version = Version::new(0, 28, 44);
const HEAD: Version = Version::new(1, 3, 1186);

fn agent(config: &[u8]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    fs::create_dir_all(dir.path().join(".instar")).unwrap();
    fs::write(dir.path().join(".instar/config.json"), config).unwrap();
    dir
}

fn context(dir: &Path, version: Version) -> Context {
    Context::at_version(dir.to_path_buf(), version, 1_795_000_000).with_host(FakeHost::linux())
}

fn findings_in(dir: &Path, version: Version) -> Vec<Diagnostic> {
    let cx = context(dir, version);
    let selection = Selection {
        select: vec!["config".into()],
        ignore: vec![],
    };
    engine::run(&cx, &selection).diagnostics
}

/// (code, severity, effect) of every config finding for these bytes.
fn findings(config: &str, version: Version) -> Vec<(String, Severity, String)> {
    let dir = agent(config.as_bytes());
    findings_in(dir.path(), version)
        .into_iter()
        .map(|d| {
            (
                d.code.id.to_string(),
                d.severity,
                d.effect.as_str().to_string(),
            )
        })
        .collect()
}

fn has(found: &[(String, Severity, String)], code: &str, severity: Severity, effect: &str) -> bool {
    found
        .iter()
        .any(|(c, s, e)| c == code && *s == severity && e == effect)
}

fn loads(config: &str) {
    for version in [OLD, HEAD] {
        let found = findings(config, version);
        assert!(
            found.iter().all(|(_, _, e)| e != "fatal"),
            "{config} should load at {version}: {found:?}"
        );
    }
}

fn throws(config: &str, code: &str) {
    for version in [OLD, HEAD] {
        let found = findings(config, version);
        assert!(
            has(&found, code, Severity::Error, "fatal"),
            "{config:?} at {version}: expected {code} fatal, got {found:?}"
        );
    }
}

#[test]
fn config_loadconfig_test_cases() {
    throws("{invalid json!!!}", "config/parse-error");
    throws(
        "{\"projectName\": \"test\", \"port\": ",
        "config/parse-error",
    );
    loads(
        r#"{"safety": {"level": 2, "alwaysBlock": ["rm -rf /"]}, "agentAutonomy": {"x": 1}, "autonomyProfile": "collaborative"}"#,
    );
    // maxSessions and maxParallelJobs use ??, so 0 is kept and is not a finding.
    let found = findings(
        r#"{"sessions": {"maxSessions": 0}, "scheduler": {"enabled": true, "maxParallelJobs": 0}}"#,
        HEAD,
    );
    assert!(
        found.iter().all(|(_, s, _)| *s == Severity::Info),
        "{found:?}"
    );
}

#[test]
fn probe_table_of_loadconfig() {
    // {} loads; the scheduler default is reported per version, and the missing key as info.
    let old = findings("{}", OLD);
    let head = findings("{}", HEAD);
    for found in [&old, &head] {
        assert!(
            found.iter().all(|(_, s, _)| *s == Severity::Info),
            "{found:?}"
        );
        assert!(has(
            found,
            "config/scheduler-default",
            Severity::Info,
            "none"
        ));
        assert!(has(
            found,
            "config/context-signing-key",
            Severity::Info,
            "none"
        ));
    }
    // null: TypeError at both versions.
    throws("null", "config/root-not-object");
    // [], "abc", 42, true: load as an empty config (silent, and certainly broken: error).
    for root in ["[]", "\"abc\"", "42", "true"] {
        loads(root);
        for version in [OLD, HEAD] {
            assert!(has(
                &findings(root, version),
                "config/root-not-object",
                Severity::Error,
                "silent"
            ));
        }
    }
    // BOM, comments, NaN, trailing comma, merge markers, empty: "Failed to parse".
    for bad in [
        "\u{feff}{}",
        "{\"a\": 1 // c\n}",
        "{\"port\": NaN}",
        "{\"port\": 4040,}",
        "{\n<<<<<<< HEAD\n\"port\": 1\n=======\n\"port\": 2\n>>>>>>> x\n}",
        "",
    ] {
        throws(bad, "config/parse-error");
    }
    // port coercions.
    for (config, code, severity) in [
        (
            r#"{"port":"4042"}"#,
            "config/port-coerced",
            Severity::Warning,
        ),
        (r#"{"port":0}"#, "config/port-coerced", Severity::Warning),
        (r#"{"port":-1}"#, "config/invalid-port", Severity::Error),
        (r#"{"port":1e400}"#, "config/invalid-port", Severity::Error),
        // Listens fine, but node's fetch refuses it (#11).
        (
            r#"{"port":4045}"#,
            "config/fetch-blocked-port",
            Severity::Error,
        ),
        (
            r#"{"port":"6000"}"#,
            "config/fetch-blocked-port",
            Severity::Error,
        ),
    ] {
        loads(config);
        assert!(
            has(&findings(config, HEAD), code, severity, "silent"),
            "{config}"
        );
    }
    // Duplicate keys: the last wins (4050 is a fine port).
    let found = findings(r#"{"port":1,"port":4050}"#, HEAD);
    assert!(has(
        &found,
        "config/duplicate-key",
        Severity::Warning,
        "silent"
    ));
    assert!(
        !found.iter().any(|(c, _, _)| c.contains("port")),
        "{found:?}"
    );
    // sessions "x" / null and a messaging object all load.
    loads(r#"{"sessions":"x"}"#);
    loads(r#"{"sessions":null}"#);
    loads(r#"{"messaging":{"type":"telegram","config":{}}}"#);
    assert!(has(
        &findings(r#"{"messaging":{"type":"telegram","config":{}}}"#, OLD),
        "config/wrong-type",
        Severity::Error,
        "silent"
    ));
    // Legacy maxSessions: ignored at load; the HEAD migrator moves it.
    assert!(has(
        &findings(r#"{"maxSessions":3}"#, HEAD),
        "config/deprecated",
        Severity::Warning,
        "silent"
    ));
    assert!(!findings(r#"{"maxSessions":3}"#, OLD)
        .iter()
        .any(|(c, _, _)| c == "config/deprecated"));
    // ConfigDefaults' type mismatch (monitoring: true) never throws.
    loads(r#"{"monitoring": true}"#);
}

const TELEGRAM_PLACEHOLDERS: &str = r#"{"messaging":[{"type":"telegram","enabled":true,"config":{"token":{"secret":true},"chatId":{"secret":true}}}]}"#;

#[test]
fn critical_secret_placeholders() {
    // Passes through silently at v0.28.44 (but the adapter is certainly broken); throws at HEAD.
    let old = findings(TELEGRAM_PLACEHOLDERS, OLD);
    assert_eq!(
        old.iter()
            .filter(|f| f.0 == "config/unresolved-secret"
                && f.1 == Severity::Error
                && f.2 == "silent")
            .count(),
        2,
        "{old:?}"
    );
    let head = findings(TELEGRAM_PLACEHOLDERS, HEAD);
    assert_eq!(
        head.iter()
            .filter(|f| f.0 == "config/unresolved-secret" && f.2 == "fatal")
            .count(),
        2,
        "{head:?}"
    );
    // An adapter without `enabled` counts as enabled.
    let implicit = TELEGRAM_PLACEHOLDERS.replace("\"enabled\":true,", "");
    assert!(has(
        &findings(&implicit, HEAD),
        "config/unresolved-secret",
        Severity::Error,
        "fatal"
    ));
    // Disabled adapters never block boot.
    let disabled = TELEGRAM_PLACEHOLDERS.replace("\"enabled\":true", "\"enabled\":false");
    loads(&disabled);
    // authToken blocks only off loopback; 127.0.0.2 is not loopback.
    loads(r#"{"authToken":{"secret":true}}"#);
    loads(r#"{"authToken":{"secret":true},"host":"::1"}"#);
    assert!(has(
        &findings(r#"{"authToken":{"secret":true},"host":"127.0.0.2"}"#, HEAD),
        "config/unresolved-secret",
        Severity::Error,
        "fatal"
    ));
    // No placeholders: the check never trips.
    assert!(!findings(r#"{"authToken":"x"}"#, HEAD)
        .iter()
        .any(|f| f.0 == "config/unresolved-secret"));
}

#[test]
fn a_store_without_its_master_key_still_throws_and_a_complete_one_does_not() {
    let dir = agent(TELEGRAM_PLACEHOLDERS.as_bytes());
    fs::create_dir_all(dir.path().join(".instar/secrets")).unwrap();
    fs::write(
        dir.path().join(".instar/secrets/config.secrets.enc"),
        b"opaque",
    )
    .unwrap();
    let found = findings_in(dir.path(), HEAD);
    assert!(found
        .iter()
        .any(|d| d.code.id == "config/unresolved-secret" && d.effect.as_str() == "fatal"));
    fs::create_dir_all(dir.path().join(".instar/machine")).unwrap();
    fs::write(dir.path().join(".instar/machine/secrets-master.key"), b"k").unwrap();
    let found = findings_in(dir.path(), HEAD);
    assert!(
        !found
            .iter()
            .any(|d| d.code.id == "config/unresolved-secret"),
        "cannot be verified offline: not reported"
    );
}

#[test]
fn configured_binary_paths() {
    let dir = tempfile::tempdir().unwrap();
    let tmux = dir.path().join("tmux");
    fs::write(&tmux, b"#!/bin/sh\n").unwrap();
    // An existing configured path is honoured; a missing absolute one is a finding at both
    // versions (never existence-checked by instar).
    let ok = format!(
        r#"{{"sessions":{{"tmuxPath":{:?},"claudePath":"claude"}}}}"#,
        tmux.display().to_string()
    );
    assert!(!findings(&ok, HEAD)
        .iter()
        .any(|f| f.0 == "config/missing-binary"));
    for version in [OLD, HEAD] {
        assert!(has(
            &findings(
                r#"{"sessions":{"claudePath":"/nonexistent/claude"}}"#,
                version
            ),
            "config/missing-binary",
            Severity::Error,
            "silent"
        ));
    }
    // HEAD: a frameworkBinaryPaths entry that provably does not exist is dropped (warning); a
    // bare command is never treated as missing; an existing path is honoured.
    let paths = format!(
        r#"{{"sessions":{{"frameworkBinaryPaths":{{"codex-cli":"/nonexistent/codex","gemini-cli":"gemini","pi-cli":{:?}}}}}}}"#,
        tmux.display().to_string()
    );
    let found = findings(&paths, HEAD);
    assert_eq!(
        found
            .iter()
            .filter(|f| f.0 == "config/missing-binary")
            .count(),
        1,
        "{found:?}"
    );
    assert!(has(
        &found,
        "config/missing-binary",
        Severity::Warning,
        "silent"
    ));
}

#[test]
fn stale_paths_but_not_the_jobs_file_the_jobs_check_owns() {
    let found = findings(
        r#"{"relationships":{"relationshipsDir":"/old/place/.instar/relationships"},"scheduler":{"jobsFile":"/old/place/.instar/jobs.json"}}"#,
        HEAD,
    );
    assert_eq!(
        found.iter().filter(|f| f.0 == "config/stale-path").count(),
        1,
        "{found:?}"
    );
}

#[test]
fn plaintext_config_tracked_by_git_is_found_from_the_index() {
    let dir = agent(br#"{"authToken": "tok-FIXTURE-SECRET-git"}"#);
    // A hand-made DIRC v2 index listing .instar/config.json.
    let name = b".instar/config.json";
    let mut entry = vec![0u8; 60];
    entry.extend_from_slice(&(name.len() as u16).to_be_bytes());
    entry.extend_from_slice(name);
    let len = entry.len();
    entry.resize((len + 8) / 8 * 8, 0);
    let mut index = b"DIRC\0\0\0\x02\0\0\0\x01".to_vec();
    index.extend_from_slice(&entry);
    fs::create_dir_all(dir.path().join(".git")).unwrap();
    fs::write(dir.path().join(".git/index"), &index).unwrap();
    let found = findings_in(dir.path(), HEAD);
    assert!(
        found
            .iter()
            .any(|d| d.code.id == "config/secret-tracked-by-git"),
        "{found:?}"
    );
}

#[test]
fn permission_drift_is_a_safe_chmod() {
    use std::os::unix::fs::PermissionsExt;
    let dir = agent(br#"{"authToken": "tok-FIXTURE-SECRET-perm"}"#);
    let path = dir.path().join(".instar/config.json");
    fs::set_permissions(&path, fs::Permissions::from_mode(0o644)).unwrap();
    let found = findings_in(dir.path(), HEAD);
    let d = found
        .iter()
        .find(|d| d.code.id == "config/permissions")
        .expect("reported");
    assert_eq!(d.severity, Severity::Warning);
    assert_eq!(d.fix.as_ref().unwrap().applicability().as_str(), "safe");
    fs::set_permissions(&path, fs::Permissions::from_mode(0o600)).unwrap();
    assert!(!findings_in(dir.path(), HEAD)
        .iter()
        .any(|d| d.code.id == "config/permissions"));
}

#[test]
fn no_secret_reaches_any_output_in_any_format() {
    let config = r#"{
  "authToken": "tok-FIXTURE-SECRET-a",
  "dashboardPin": "FIXTURE-SECRET-pin",
  "contextSigningKey": "FIXTURE-SECRET-csk",
  "anthropicApiKey": "FIXTURE-SECRET-api",
  "host": "0.0.0.0",
  "port": "FIXTURE-SECRET-port-is-not-secret-but-odd",
  "tunnel": {"enabled": true, "token": "FIXTURE-SECRET-tunnel"},
  "feedback": {"sharedSecret": "FIXTURE-SECRET-shared"},
  "messaging": {"type": "telegram", "config": {"token": "FIXTURE-SECRET-tg", "chatId": "FIXTURE-SECRET-chat", "botToken": "FIXTURE-SECRET-bot", "appToken": "FIXTURE-SECRET-app", "password": "FIXTURE-SECRET-pw"}},
  "sessions": {"tmuxPath": "/nonexistent/tmux"},
  "maxSessions": 3,
  "port": 1,
  "port": 0,
  "trailing": [1,]
}"#;
    let dir = agent(config.replace("[1,]", "[1]").as_bytes());
    let broken = agent(config.as_bytes());
    for d in [&dir, &broken] {
        let path = d.path().to_str().unwrap();
        for extra in [
            &[][..],
            &["--format", "json"][..],
            &["--diff", "--unsafe-fixes"][..],
            &["-v", "--deep"][..],
        ] {
            let mut args = vec!["--dir", path];
            args.extend_from_slice(extra);
            let out = common::run(&args);
            let all = format!("{}{}", out.stdout, out.stderr);
            for (i, _) in all.match_indices("FIXTURE-SECRET") {
                let context = &all[i.saturating_sub(40)..(i + 40).min(all.len())];
                assert!(
                    context.contains("port-is-not-secret"),
                    "a secret leaked with {extra:?}: …{context}…"
                );
            }
        }
    }
}

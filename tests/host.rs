//! Findings that depend on the host rather than on file contents: `--deep` probes (interpreters
//! present or absent), ownership (needs root to give a file away) and file times. Each runs the
//! real binary; a test whose precondition this machine cannot meet says so and skips.

mod common;

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Command;

use common::*;

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}

fn has(program: &str) -> bool {
    Command::new(program).arg("--version").output().is_ok()
}

/// An agent with the doctor's own wrappers, written by its own fix.
fn agent_with_wrappers() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join(".instar");
    fs::create_dir_all(state.join("shadow-install/node_modules/instar/dist")).unwrap();
    fs::write(
        state.join("shadow-install/node_modules/instar/dist/cli.js"),
        "",
    )
    .unwrap();
    fs::write(state.join("config.json"), r#"{"projectName": "t"}"#).unwrap();
    let fix = run(&[
        "--dir",
        dir.path().to_str().unwrap(),
        "--fix",
        "--unsafe-fixes",
        "--select",
        "boot",
    ]);
    assert_ne!(fix.code, 2, "{}", fix.stderr);
    assert!(
        state.join("instar-boot.sh").exists(),
        "the doctor wrote its wrapper"
    );
    dir
}

#[test]
fn deep_finds_a_wrapper_bash_rejects() {
    if !has("bash") {
        eprintln!("skipped: bash is not installed");
        return;
    }
    let agent = agent_with_wrappers();
    let sh = agent.path().join(".instar/instar-boot.sh");
    let mut text = fs::read_to_string(&sh).unwrap();
    text.push_str("\nif then fi (\n");
    fs::write(&sh, text).unwrap();
    let dir = agent.path().to_str().unwrap();
    let plain = codes_of(&run(&["--dir", dir, "--format", "json"]));
    assert!(
        !plain.contains(&"boot/syntax-error".to_string()),
        "nothing is spawned without --deep"
    );
    let deep = codes_of(&run(&["--dir", dir, "--format", "json", "--deep"]));
    assert!(deep.contains(&"boot/syntax-error".to_string()), "{deep:?}");
}

#[test]
fn deep_says_what_it_skipped_when_interpreters_are_absent() {
    let agent = agent_with_wrappers();
    let empty = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_instar-doctor"))
        .args([
            "--dir",
            agent.path().to_str().unwrap(),
            "--format",
            "json",
            "--deep",
        ])
        .env("PATH", empty.path())
        .env("INSTAR_DOCTOR_NOW", NOW)
        .env("CI", "true")
        .output()
        .unwrap();
    let out = Output::from(out);
    assert!(
        codes_of(&out).contains(&"boot/deep-skipped".to_string()),
        "{}",
        out.stdout
    );
}

fn give_away(path: &Path) {
    // 65534 is `nobody` on Debian; any uid other than the owner of .instar/ will do.
    let status = Command::new("chown")
        .arg("65534")
        .arg(path)
        .status()
        .unwrap();
    assert!(status.success());
}

#[test]
fn files_owned_by_another_user_are_reported() {
    if !is_root() {
        eprintln!("skipped: giving a file to another user needs root");
        return;
    }
    let agent = agent_with_wrappers();
    give_away(&agent.path().join(".instar/instar-boot.sh"));
    let machine = fixtures().join("keys/healthy/.instar/machine");
    let keys = agent.path().join(".instar/machine");
    fs::create_dir_all(&keys).unwrap();
    for name in ["identity.json", "signing-key.pem", "encryption-key.pem"] {
        fs::copy(machine.join(name), keys.join(name)).unwrap();
    }
    for name in ["signing-key.pem", "encryption-key.pem"] {
        fs::set_permissions(keys.join(name), fs::Permissions::from_mode(0o600)).unwrap();
    }
    give_away(&keys.join("signing-key.pem"));
    let found = codes_of(&run(&[
        "--dir",
        agent.path().to_str().unwrap(),
        "--format",
        "json",
    ]));
    assert!(found.contains(&"boot/not-owned".to_string()), "{found:?}");
    assert!(found.contains(&"keys/owner".to_string()), "{found:?}");
}

#[test]
fn a_backup_newer_than_config_is_reported() {
    let agent = tempfile::tempdir().unwrap();
    let state = agent.path().join(".instar");
    fs::create_dir_all(&state).unwrap();
    fs::write(state.join("config.json"), r#"{"projectName": "t"}"#).unwrap();
    fs::write(
        state.join("config.json.bak"),
        r#"{"projectName": "t", "port": 4041}"#,
    )
    .unwrap();
    let an_hour_ago = std::time::SystemTime::now() - std::time::Duration::from_secs(3600);
    fs::File::options()
        .write(true)
        .open(state.join("config.json"))
        .unwrap()
        .set_modified(an_hour_ago)
        .unwrap();
    let found = codes_of(&run(&[
        "--dir",
        agent.path().to_str().unwrap(),
        "--format",
        "json",
    ]));
    assert!(
        found.contains(&"config/backup-newer".to_string()),
        "{found:?}"
    );
}

/// Inside the lease's window (the clock is set to it), a holder whose registry role is not awake
/// is the HEAD "roles may lag" case.
#[test]
fn a_live_lease_whose_holder_is_not_awake_is_role_lag() {
    let agent = copy_fixture_agent("registry/healthy-head");
    let registry = agent.path().join(".instar/machines/registry.json");
    let text = fs::read_to_string(&registry).unwrap();
    // Swap the roles of the holder (studio-mini) and the laptop; the lease itself is unchanged,
    // so its signature still verifies.
    let text = text
        .replacen("\"role\": \"awake\"", "\"role\": \"@@\"", 1)
        .replacen("\"role\": \"standby\"", "\"role\": \"awake\"", 1)
        .replacen("\"role\": \"@@\"", "\"role\": \"standby\"", 1);
    fs::write(&registry, text).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_instar-doctor"))
        .args(["--dir", agent.path().to_str().unwrap(), "--format", "json"])
        .env("INSTAR_DOCTOR_NOW", "2026-08-20T10:02:00Z")
        .env("CI", "true")
        .output()
        .unwrap();
    let out = Output::from(out);
    let found = codes_of(&out);
    assert!(
        found.contains(&"registry/lease-role-lag".to_string()),
        "{found:?}"
    );
    assert!(
        !found.contains(&"registry/lease-expired".to_string()),
        "{found:?}"
    );
}

//! Fixture trees, one per finding: each `fixtures/<area>/<case>/` is a project with a `.instar/`.
//! For each, and for each line of its optional `args` file (extra arguments, one variant a line),
//! the rendered human report, the JSON document and the `--diff --unsafe-fixes` output are
//! snapshotted, and the JSON is validated against the published schema.

mod common;

use std::path::Path;

use common::*;

/// The snapshot text of one case, run from `root` (the folder holding `fixtures/`), so the human
/// report names it `fixtures/<area>/<case>` wherever the tree lives.
fn snapshot_for(root: &Path, case: &Path, extra: &[String]) -> String {
    let run = |args: &[&str]| run_in(root, args);
    let dir = case.to_str().unwrap();
    let mut base: Vec<&str> = vec!["--dir", dir];
    base.extend(extra.iter().map(String::as_str));

    let human = run(&base);
    let mut json_args = base.clone();
    json_args.extend(["--format", "json"]);
    let json = run(&json_args);
    let doc = assert_valid_json_output(&json.stdout);
    assert_eq!(
        doc["exit_code"].as_i64(),
        Some(json.code as i64),
        "the JSON's exit_code is what the process returns"
    );
    assert_eq!(human.code, json.code, "formats agree on the exit code");
    for d in doc["diagnostics"].as_array().unwrap() {
        assert_severity_follows_effect(d);
    }
    let mut diff_args = base.clone();
    diff_args.extend(["--diff", "--unsafe-fixes"]);
    let diff = run(&diff_args);

    let mut out = String::new();
    out.push_str(&format!("args: {}\n", extra.join(" ")));
    out.push_str(&format!("exit: {}\n", human.code));
    out.push_str("---- human ----\n");
    out.push_str(&human.stdout);
    if !human.stderr.is_empty() {
        out.push_str("---- stderr ----\n");
        out.push_str(&human.stderr);
    }
    out.push_str("---- json diagnostics ----\n");
    for d in doc["diagnostics"].as_array().unwrap() {
        out.push_str(&format!(
            "{} {} {} {} {} {} fix={}\n",
            d["code"].as_str().unwrap(),
            d["severity"].as_str().unwrap(),
            d["instar_effect"].as_str().unwrap(),
            d["file"].as_str().unwrap_or("-"),
            d["pointer"].as_str().unwrap_or("-"),
            match (&d["start"], &d["end"]) {
                (serde_json::Value::Object(s), serde_json::Value::Object(e)) => format!(
                    "{}:{}-{}:{}",
                    s["line"], s["column"], e["line"], e["column"]
                ),
                _ => "-".to_string(),
            },
            d["fix"]["applicability"].as_str().unwrap_or("none"),
        ));
    }
    out.push_str(&format!("---- diff (exit {}) ----\n", diff.code));
    out.push_str(&diff.stdout);
    normalize_under(&out, case, &root.join("fixtures"))
}

/// Design §3: `fatal` and `skipped` are errors, `silent` a warning or an error, `none` an info or
/// a warning — except a private key readable by others, an error by ruling.
fn assert_severity_follows_effect(d: &serde_json::Value) {
    let (effect, severity) = (
        d["instar_effect"].as_str().unwrap(),
        d["severity"].as_str().unwrap(),
    );
    let ok = match effect {
        "fatal" | "skipped" => severity == "error",
        "silent" => matches!(severity, "warning" | "error"),
        "none" => matches!(severity, "info" | "warning") || d["code"] == "keys/permissions",
        _ => false,
    };
    assert!(ok, "{} is {severity} with effect {effect}", d["code"]);
}

#[test]
fn every_fixture_matches_its_snapshot() {
    let cases = fixture_cases();
    assert!(
        cases.len() >= 30,
        "fixture corpus went missing: {}",
        cases.len()
    );
    assert_snapshots(&repo_root(), &cases);
}

/// The snapshots must not depend on where the checkout lives: a long path used to wrap inside a
/// message at 80 columns, where the path filter no longer found it. The same fixtures, copied
/// under a 150-character path and run from there, give the very same snapshots.
#[test]
fn fixtures_render_the_same_from_a_150_character_path() {
    let tmp = tempfile::tempdir().unwrap();
    let mut root = tmp.path().to_path_buf();
    while root.as_os_str().len() < 150 {
        root.push("a-rather-long-folder-name");
    }
    assert!(root.as_os_str().len() >= 150);
    copy_tree(&fixtures(), &root.join("fixtures"));
    let cases: Vec<_> = fixture_cases()
        .iter()
        .map(|case| root.join(case.strip_prefix(repo_root()).unwrap()))
        .collect();
    assert!(cases.len() >= 30);
    assert_snapshots(&root, &cases);
}

/// Copies a tree, keeping symlinks as links (some fixtures are dangling links) and file modes.
fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let (src, dst) = (entry.path(), to.join(entry.file_name()));
        let meta = std::fs::symlink_metadata(&src).unwrap();
        if meta.file_type().is_symlink() {
            std::os::unix::fs::symlink(std::fs::read_link(&src).unwrap(), &dst).unwrap();
        } else if meta.is_dir() {
            copy_tree(&src, &dst);
            std::fs::set_permissions(&dst, meta.permissions()).unwrap();
        } else {
            std::fs::copy(&src, &dst).unwrap();
        }
    }
}

/// Each case of `cases` (fixture trees under `root/fixtures`) against its stored snapshot.
fn assert_snapshots(root: &Path, cases: &[std::path::PathBuf]) {
    for case in cases {
        let case = case.as_path();
        let rel = case
            .strip_prefix(root.join("fixtures"))
            .unwrap()
            .to_string_lossy()
            .replace('/', "__");
        for (n, extra) in variants(case).iter().enumerate() {
            let name = if n == 0 {
                rel.clone()
            } else {
                format!("{rel}@{n}")
            };
            let text = snapshot_for(root, case, extra);
            insta::with_settings!({
                snapshot_path => repo_root().join("tests/snapshots/fixtures"),
                prepend_module_to_snapshot => false,
                omit_expression => true,
            }, {
                insta::assert_snapshot!(name, text);
            });
        }
    }
}

/// Secret values planted in fixtures: config tokens and the body lines of every PEM file.
fn planted_secrets() -> Vec<String> {
    let mut secrets = vec!["FIXTURE-SECRET".to_string(), "EXAMPLE-SECRET".to_string()];
    let mut stack = vec![fixtures()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap().flatten() {
            let path = entry.path();
            let Ok(meta) = std::fs::symlink_metadata(&path) else {
                continue;
            };
            if meta.is_dir() {
                stack.push(path);
            } else if meta.is_file() && path.to_string_lossy().contains(".pem") {
                let text = String::from_utf8_lossy(&std::fs::read(&path).unwrap()).into_owned();
                secrets.extend(
                    text.lines()
                        .filter(|l| !l.starts_with("-----") && l.trim().len() >= 16)
                        .map(|l| l.trim().to_string()),
                );
            }
        }
    }
    secrets
}

/// No fixture's secret may reach any output, in any format, fixes and diffs included.
#[test]
fn fixture_secrets_never_reach_any_output() {
    let secrets = planted_secrets();
    let formats: &[&[&str]] = &[
        &[],
        &["-v"],
        &["--format", "json"],
        &["--format", "sarif"],
        &["--format", "github"],
        &["--format", "junit"],
        &["--diff", "--unsafe-fixes"],
    ];
    for case in fixture_cases() {
        let dir = case.to_str().unwrap();
        for extra in formats {
            let mut args = vec!["--dir", dir];
            args.extend_from_slice(extra);
            let out = run(&args);
            for secret in &secrets {
                assert!(
                    !out.stdout.contains(secret.as_str()) && !out.stderr.contains(secret.as_str()),
                    "{secret} leaked for {dir} {extra:?}:\n{}",
                    out.stdout
                );
            }
        }
    }
}

/// Codes that no fixture tree can show, and the test that covers each instead.
const COVERED_ELSEWHERE: &[(&str, &str)] = &[
    (
        "boot/deep-skipped",
        "tests/host.rs (needs a host without the interpreters)",
    ),
    ("boot/syntax-error", "tests/host.rs (needs --deep and bash)"),
    (
        "boot/not-owned",
        "tests/host.rs (needs root to give a file away)",
    ),
    (
        "keys/owner",
        "tests/host.rs (needs root to give a file away)",
    ),
    (
        "config/backup-newer",
        "tests/host.rs (file times do not survive a checkout)",
    ),
    (
        "registry/lease-role-lag",
        "tests/host.rs (needs the clock inside the lease)",
    ),
    (
        "boot/extension-drift",
        "tests/conformance_boot.rs (macOS rule)",
    ),
    ("boot/plist", "tests/conformance_boot.rs (macOS only)"),
    (
        "config/secret-tracked-by-git",
        "tests/conformance_config.rs (git stores no .git folder)",
    ),
    (
        "keys/tracked-by-git",
        "tests/conformance_machine.rs (git stores no .git folder)",
    ),
    (
        "hooks/syntax-error",
        "tests/areas.rs deep_node_check_reports_a_hook_that_does_not_parse (needs --deep and node)",
    ),
    (
        "runtime/lifeline-stale",
        "tests/areas.rs a_live_lifeline_on_older_code_is_stale_and_a_dead_one_is_not (needs a live pid)",
    ),
    (
        "runtime/quarantine-xattr",
        "tests/areas.rs the_quarantine_attribute_on_the_cli_is_reported_on_macos_only (macOS xattr)",
    ),
    (
        "state/stale-socket",
        "tests/areas.rs a_leftover_listener_socket_is_fatal_only_where_instar_cannot_bind_over_it (git stores no socket)",
    ),
    (
        "state/rebase-stuck",
        "tests/areas.rs a_repository_stuck_mid_rebase_is_reported (git stores no .git folder)",
    ),
    (
        "state/oversized-log",
        "tests/areas.rs oversized_logs_warn_only_before_instar_reads_them_in_pieces (a fixture may not hold a 10 MB file)",
    ),
    (
        "state/identity-tracked-by-git",
        "tests/areas.rs a_plaintext_agent_identity_tracked_by_git_is_an_error (git stores no .git folder)",
    ),
    (
        "doctor/interrupted-run",
        "tests/fix.rs a_fix_run_killed_at_any_step_is_recovered_and_undone_exactly (needs a killed run)",
    ),
    (
        "machine/registry-zombie",
        "tests/machine_area.rs registry_zombies_blocked_ports_and_a_stale_lock (absolute paths)",
    ),
    (
        "machine/registry-lock-stale",
        "tests/machine_area.rs registry_zombies_blocked_ports_and_a_stale_lock (needs the lock's mtime)",
    ),
    (
        "machine/fetch-blocked-port",
        "tests/machine_area.rs registry_zombies_blocked_ports_and_a_stale_lock (absolute paths)",
    ),
    (
        "machine/unregistered",
        "tests/machine_area.rs (needs a live pid on a fake host)",
    ),
    (
        "machine/launchd-orphan",
        "tests/machine_area.rs (macOS, fake host)",
    ),
    (
        "machine/process-ceiling",
        "tests/machine_area.rs (macOS, fake host)",
    ),
    (
        "machine/watchdog-broken",
        "tests/machine_area.rs (macOS, fake host)",
    ),
    (
        "machine/tcc-protected",
        "tests/machine_area.rs (macOS, fake host)",
    ),
    (
        "machine/foreign-spawn-holder",
        "tests/machine_area.rs (needs this host's name)",
    ),
    (
        "machine/path-needs-encoding",
        "tests/machine_area.rs (a folder name git checkouts mangle)",
    ),
];

/// Every code has a fixture tree whose snapshot shows it, or a named test where no tree can.
#[test]
fn every_code_has_a_fixture_or_a_named_test() {
    let mut shown = std::collections::HashSet::new();
    for entry in std::fs::read_dir(repo_root().join("tests/snapshots/fixtures")).unwrap() {
        let text = std::fs::read_to_string(entry.unwrap().path()).unwrap();
        let json = text
            .split("---- json diagnostics ----")
            .nth(1)
            .unwrap_or("");
        for line in json.lines() {
            if let Some(code) = line.split_whitespace().next() {
                shown.insert(code.to_string());
            }
        }
    }
    let missing: Vec<&str> = instar_doctor::checks::all_codes()
        .map(|c| c.id)
        .filter(|id| !shown.contains(*id) && !COVERED_ELSEWHERE.iter().any(|(c, _)| c == id))
        .collect();
    assert!(missing.is_empty(), "codes with no fixture: {missing:?}");
    for (code, _) in COVERED_ELSEWHERE {
        assert!(
            !shown.contains(*code),
            "{code} has a fixture now: drop it from the list"
        );
        assert!(
            instar_doctor::checks::find_code(code).is_some(),
            "{code} is not a code"
        );
    }
}

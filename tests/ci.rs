//! The CI gate and the pre-push hook: machine formats (SARIF against the official schema, GitHub
//! workflow commands, JUnit), `-o`, completions, the man page, and a real `git push` through the
//! installed hook.

mod common;

use std::fs;
use std::path::Path;
use std::process::Command;

use common::*;

fn broken() -> String {
    fixtures()
        .join("examples/broken-agent")
        .display()
        .to_string()
}

fn sarif_validator() -> jsonschema::Validator {
    let mut schema: serde_json::Value = serde_json::from_str(
        &fs::read_to_string(repo_root().join("tests/schemas/sarif-2.1.0-rtm.5.json")).unwrap(),
    )
    .unwrap();
    // The official schema's `language` patterns end in a stray `]`, which ECMAScript reads as a
    // literal but Rust's regex rejects; escape it in memory (same meaning), keep the file as
    // published.
    let fixed = escape_stray_brackets(&mut schema);
    assert!(fixed >= 2, "the schema changed: {fixed} patterns fixed");
    jsonschema::options()
        .with_draft(jsonschema::Draft::Draft4)
        .build(&schema)
        .expect("the SARIF schema compiles")
}

fn escape_stray_brackets(value: &mut serde_json::Value) -> usize {
    const STRAY: &str = "^[a-zA-Z]{2}|^[a-zA-Z]{2}-[a-zA-Z]{2}]?$";
    match value {
        serde_json::Value::Object(map) => {
            let mut n = 0;
            for (key, v) in map.iter_mut() {
                if key == "pattern" && v == STRAY {
                    *v = serde_json::json!("^[a-zA-Z]{2}|^[a-zA-Z]{2}-[a-zA-Z]{2}\\]?$");
                    n += 1;
                } else {
                    n += escape_stray_brackets(v);
                }
            }
            n
        }
        serde_json::Value::Array(items) => items.iter_mut().map(escape_stray_brackets).sum(),
        _ => 0,
    }
}

#[test]
fn sarif_passes_the_official_schema_for_every_fixture() {
    let validator = sarif_validator();
    let mut checked = 0;
    for case in fixture_cases() {
        let out = run(&["--dir", case.to_str().unwrap(), "--format", "sarif"]);
        let doc: serde_json::Value = serde_json::from_str(&out.stdout)
            .unwrap_or_else(|e| panic!("{}: not one JSON document: {e}", case.display()));
        let errors: Vec<String> = validator
            .iter_errors(&doc)
            .map(|e| format!("{e} at {}", e.instance_path()))
            .collect();
        assert!(errors.is_empty(), "{}: {errors:#?}", case.display());
        checked += 1;
    }
    assert!(checked > 30);
}

#[test]
fn sarif_has_rules_regions_fingerprints_and_fixes() {
    let out = run(&["--dir", &broken(), "--format", "sarif"]);
    assert_eq!(out.code, 1);
    let doc: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    let run = &doc["runs"][0];
    let rules = run["tool"]["driver"]["rules"].as_array().unwrap();
    assert!(rules.iter().any(|r| r["id"] == "jobs/invalid-cron"
        && r["help"]["text"].as_str().unwrap().contains("croner")));
    let results = run["results"].as_array().unwrap();
    let cron = results
        .iter()
        .find(|r| r["ruleId"] == "jobs/invalid-cron")
        .unwrap();
    let region = &cron["locations"][0]["physicalLocation"]["region"];
    assert_eq!(region["startLine"], 20);
    assert_eq!(
        cron["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
        ".instar/jobs.json"
    );
    let replacement = &cron["fixes"][0]["artifactChanges"][0]["replacements"][0];
    assert_eq!(replacement["insertedContent"]["text"], "\"30 22 * * *\"");
    // Fingerprints are stable from run to run.
    let again: serde_json::Value = serde_json::from_str(&run_again()).unwrap();
    let fingerprints = |d: &serde_json::Value| -> Vec<String> {
        d["runs"][0]["results"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| {
                r["partialFingerprints"]["instarDoctor/v1"]
                    .as_str()
                    .unwrap()
                    .to_string()
            })
            .collect()
    };
    assert_eq!(fingerprints(&doc), fingerprints(&again));
    let unique: std::collections::HashSet<_> = fingerprints(&doc).into_iter().collect();
    assert_eq!(unique.len(), results.len(), "one fingerprint per finding");
}

fn run_again() -> String {
    run(&["--dir", &broken(), "--format", "sarif"]).stdout
}

#[test]
fn github_format_is_one_escaped_workflow_command_per_finding() {
    let out = run(&["--dir", &broken(), "--format", "github"]);
    assert_eq!(out.code, 1);
    let lines: Vec<&str> = out.stdout.lines().collect();
    let json = assert_valid_json_output(&run(&["--dir", &broken(), "--format", "json"]).stdout);
    assert_eq!(lines.len(), json["diagnostics"].as_array().unwrap().len());
    let cron = lines
        .iter()
        .find(|l| l.contains("title=jobs/invalid-cron"))
        .unwrap();
    assert!(cron.starts_with("::error file=.instar/jobs.json,line=20,col=29,endLine=20,endColumn=30,title=jobs/invalid-cron::"), "{cron}");
    assert!(lines.iter().any(|l| l.starts_with("::warning ")));
    assert!(lines.iter().any(|l| l.starts_with("::notice ")));
    // Multi-line messages are escaped onto one line.
    assert!(out.stdout.contains("%0A"));
}

#[test]
fn junit_has_one_testcase_per_check_and_one_failure_per_finding() {
    let out = run(&["--dir", &broken(), "--format", "junit"]);
    assert_eq!(out.code, 1);
    let xml = out.stdout;
    assert!(xml.starts_with("<?xml"));
    let json = assert_valid_json_output(&run(&["--dir", &broken(), "--format", "json"]).stdout);
    let checks = json["checks"].as_array().unwrap().len();
    let errors = json["summary"]["errors"].as_u64().unwrap() as usize;
    assert_eq!(xml.matches("<testcase ").count(), checks);
    assert_eq!(
        xml.matches("<failure ").count(),
        errors,
        "only findings at the threshold fail"
    );
    let warnings = run(&[
        "--dir",
        &broken(),
        "--format",
        "junit",
        "--fail-on",
        "warning",
    ])
    .stdout;
    assert!(warnings.matches("<failure ").count() > errors);
}

#[test]
fn output_file_gets_the_machine_format_and_the_terminal_the_report() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("doctor.sarif");
    let out = run(&[
        "--dir",
        &broken(),
        "--format",
        "sarif",
        "-o",
        file.to_str().unwrap(),
    ]);
    assert_eq!(out.code, 1);
    assert!(out.stdout.contains("jobs/invalid-cron") && out.stdout.contains("unhealthy"));
    let doc: serde_json::Value = serde_json::from_str(&fs::read_to_string(&file).unwrap()).unwrap();
    assert_eq!(doc["version"], "2.1.0");
}

#[test]
fn completions_for_each_shell() {
    for shell in ["bash", "zsh", "fish"] {
        let out = run(&["completions", shell]);
        assert_eq!(out.code, 0);
        assert!(
            out.stdout.contains("instar-doctor") && out.stdout.contains("unsafe-fixes"),
            "{shell}"
        );
    }
}

/// The man page in man/ is generated from the clap definition; regenerate with UPDATE_MAN=1.
#[test]
fn man_page_is_current() {
    let command = <instar_doctor::cli::Cli as clap::CommandFactory>::command();
    let mut page = Vec::new();
    clap_mangen::Man::new(command).render(&mut page).unwrap();
    let path = repo_root().join("man/instar-doctor.1");
    if std::env::var_os("UPDATE_MAN").is_some() {
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(&path, &page).unwrap();
    }
    let committed =
        fs::read(&path).expect("man/instar-doctor.1 exists (UPDATE_MAN=1 cargo test --test ci)");
    assert!(
        committed == page,
        "man/instar-doctor.1 is stale: UPDATE_MAN=1 cargo test --test ci man_page"
    );
}

fn git(dir: &Path, args: &[&str]) -> std::process::Output {
    Command::new("git")
        .args([
            "-c",
            "user.name=Test",
            "-c",
            "user.email=test@example.invalid",
            "-c",
            "init.defaultBranch=main",
            "-c",
            "commit.gpgsign=false",
        ])
        .args(args)
        .current_dir(dir)
        .env("CI", "true")
        .env("NO_COLOR", "1")
        .env("INSTAR_DOCTOR_NOW", NOW)
        .output()
        .expect("git runs")
}

#[test]
fn a_real_push_is_blocked_while_the_state_is_broken_and_allowed_after_fix() {
    if Command::new("git").arg("--version").output().is_err() {
        eprintln!("skipped: git is not installed");
        return;
    }
    let root = tempfile::tempdir().unwrap();
    let remote = root.path().join("remote.git");
    let work = root.path().join("work");
    fs::create_dir_all(&work).unwrap();
    assert!(
        git(root.path(), &["init", "--bare", remote.to_str().unwrap()])
            .status
            .success()
    );
    assert!(git(&work, &["init"]).status.success());
    assert!(git(
        &work,
        &["remote", "add", "origin", remote.to_str().unwrap()]
    )
    .status
    .success());

    // An existing hook of the team's own: it must keep running, first.
    let hooks = work.join(".git/hooks");
    fs::create_dir_all(&hooks).unwrap();
    let marker = root.path().join("team-hook-ran");
    fs::write(
        hooks.join("pre-push"),
        format!("#!/bin/sh\ncat > /dev/null\ntouch '{}'\n", marker.display()),
    )
    .unwrap();
    fs::set_permissions(
        hooks.join("pre-push"),
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .unwrap();

    // No agent state yet: the hook passes silently.
    let install = Command::new(env!("CARGO_BIN_EXE_instar-doctor"))
        .args(["hook", "install"])
        .current_dir(&work)
        .output()
        .unwrap();
    assert!(
        install.status.success(),
        "{}",
        String::from_utf8_lossy(&install.stderr)
    );
    fs::write(work.join("README"), "hello\n").unwrap();
    git(&work, &["add", "."]);
    git(&work, &["commit", "-m", "first"]);
    let push = git(&work, &["push", "origin", "HEAD:main"]);
    assert!(
        push.status.success(),
        "{}",
        String::from_utf8_lossy(&push.stderr)
    );
    assert!(marker.exists(), "the chained team hook ran");

    // A BOM and a trailing space: errors with safe fixes.
    fs::create_dir_all(work.join(".instar")).unwrap();
    fs::write(
        work.join(".instar/jobs.json"),
        "\u{feff}[{\"slug\": \"a\", \"name\": \"A\", \"description\": \"d\", \"schedule\": \"0 * * * * \", \"priority\": \"low\", \"enabled\": true, \"execute\": {\"type\": \"prompt\", \"value\": \"v\"}, \"grounding\": {\"requiresIdentity\": false}}]\n",
    )
    .unwrap();
    fs::write(work.join(".gitignore"), ".instar/doctor/\n").unwrap();
    git(&work, &["add", "."]);
    git(&work, &["commit", "-m", "broken state"]);
    let push = git(&work, &["push", "origin", "HEAD:main"]);
    assert!(!push.status.success(), "the push must be refused");
    let stderr = String::from_utf8_lossy(&push.stderr);
    assert!(stderr.contains("instar-doctor --fix"), "{stderr}");

    let fix = run_in(&work, &["--fix"]);
    assert_eq!(fix.code, 0, "{}{}", fix.stdout, fix.stderr);
    git(&work, &["commit", "-am", "fixed state"]);
    let push = git(&work, &["push", "origin", "HEAD:main"]);
    assert!(
        push.status.success(),
        "{}",
        String::from_utf8_lossy(&push.stderr)
    );

    // Uninstall puts the team's hook back.
    let uninstall = Command::new(env!("CARGO_BIN_EXE_instar-doctor"))
        .args(["hook", "uninstall"])
        .current_dir(&work)
        .output()
        .unwrap();
    assert!(uninstall.status.success());
    assert!(fs::read_to_string(hooks.join("pre-push"))
        .unwrap()
        .contains("team-hook-ran"));
    assert!(!hooks.join("pre-push.instar-doctor-chained").exists());
}

#[test]
fn hook_install_outside_a_repository_fails_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    let out = run_in(dir.path(), &["hook", "install"]);
    assert_eq!(out.code, 2);
    assert!(out.stderr.contains("git"));
}

//! The command-line contract: exit codes, formats, selection, discovery and hostile inputs.

mod common;

use std::fs;
use std::path::Path;

use common::*;

fn agent_with_jobs(jobs: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    fs::create_dir_all(dir.path().join(".instar")).unwrap();
    fs::write(dir.path().join(".instar/jobs.json"), jobs).unwrap();
    fs::write(
        dir.path().join(".instar/config.json"),
        r#"{"projectName": "t", "scheduler": {"enabled": true}}"#,
    )
    .unwrap();
    dir
}

const VALID_JOB: &str = r#"{"slug": "a", "name": "A", "description": "d", "schedule": "0 * * * *",
 "priority": "low", "enabled": true, "execute": {"type": "prompt", "value": "v"},
 "grounding": {"requiresIdentity": false}}"#;

fn dir_arg(dir: &Path) -> String {
    dir.display().to_string()
}

#[test]
fn exit_codes_follow_the_frozen_table() {
    let healthy = fixtures().join("examples/healthy-agent");
    assert_eq!(run(&["--dir", healthy.to_str().unwrap()]).code, 0);
    let broken = fixtures().join("examples/broken-agent");
    assert_eq!(run(&["--dir", broken.to_str().unwrap()]).code, 1);
    assert_eq!(
        run(&["--dir", broken.to_str().unwrap(), "--exit-zero"]).code,
        0
    );
    let nowhere = tempfile::tempdir().unwrap();
    assert_eq!(run(&["--dir", nowhere.path().to_str().unwrap()]).code, 2);
    assert_eq!(run(&["--no-such-flag"]).code, 2);
    assert_eq!(
        run(&[
            "--dir",
            healthy.to_str().unwrap(),
            "--instar-version",
            "one.two"
        ])
        .code,
        2
    );
}

#[test]
fn fail_on_lowers_the_threshold() {
    // Only a warning: a case-insensitive duplicate slug.
    let jobs = format!(
        "[{}, {}]",
        VALID_JOB,
        VALID_JOB.replace("\"slug\": \"a\"", "\"slug\": \"A\"")
    );
    let agent = agent_with_jobs(&jobs);
    let dir = dir_arg(agent.path());
    assert_eq!(run(&["--dir", &dir]).code, 0);
    assert_eq!(run(&["--dir", &dir, "--fail-on", "warning"]).code, 1);
    assert_eq!(
        run(&[
            "--dir",
            &dir,
            "--fail-on",
            "warning",
            "--ignore",
            "jobs/duplicate-slug"
        ])
        .code,
        0
    );
}

#[test]
fn no_agent_gives_exit_2_and_a_json_error_document() {
    let nowhere = tempfile::tempdir().unwrap();
    let out = run_in(nowhere.path(), &["--format", "json"]);
    assert_eq!(out.code, 2);
    let doc = assert_valid_json_output(&out.stdout);
    assert_eq!(doc["exit_code"], 2);
    assert!(doc["error"]["message"]
        .as_str()
        .unwrap()
        .contains("no instar agent"));
}

#[test]
fn discovery_walks_up_and_accepts_a_dot_instar_path_and_a_doctor_word() {
    let agent = agent_with_jobs("[]");
    let nested = agent.path().join("src/deep");
    fs::create_dir_all(&nested).unwrap();
    let out = run_in(&nested, &["--format", "json"]);
    assert_eq!(out.code, 0, "{}", out.stdout);
    let doc = assert_valid_json_output(&out.stdout);
    assert_eq!(doc["project_dir"], agent.path().display().to_string());

    let dot = agent.path().join(".instar");
    let out = run(&["doctor", "--dir", dot.to_str().unwrap(), "--format", "json"]);
    assert_eq!(out.code, 0);
    assert_eq!(
        assert_valid_json_output(&out.stdout)["project_dir"],
        agent.path().display().to_string()
    );
}

#[test]
fn select_and_ignore_by_check_and_code() {
    let broken = fixtures().join("examples/broken-agent");
    let dir = broken.to_str().unwrap();
    let codes = |extra: &[&str]| -> Vec<String> {
        let mut args = vec!["--dir", dir, "--format", "json"];
        args.extend_from_slice(extra);
        codes_of(&run(&args))
    };
    let all = codes(&[]);
    assert!(all.iter().any(|c| c == "jobs/invalid-cron"));
    let only = codes(&["--select", "jobs/invalid-cron"]);
    assert!(!only.is_empty() && only.iter().all(|c| c == "jobs/invalid-cron"));
    let without = codes(&["--ignore", "jobs/invalid-cron,jobs/duplicate-slug"]);
    assert!(without
        .iter()
        .all(|c| c != "jobs/invalid-cron" && c != "jobs/duplicate-slug"));
    // Ignoring a check drops all of its codes and nothing else.
    let without_jobs = codes(&["--ignore", "jobs"]);
    assert!(without_jobs.iter().all(|c| !c.starts_with("jobs/")));
    assert_eq!(
        without_jobs.len(),
        all.iter().filter(|c| !c.starts_with("jobs/")).count()
    );
}

#[test]
fn list_and_explain() {
    let out = run(&["list"]);
    assert_eq!(out.code, 0);
    assert!(out.stdout.contains("jobs/invalid-cron"));
    let out = run(&["explain", "jobs/invalid-cron"]);
    assert_eq!(out.code, 0);
    assert!(out.stdout.contains("croner 8.1.2"));
    let out = run(&["explain", "jobs/nope"]);
    assert_eq!(out.code, 2);
    assert!(out.stderr.contains("unknown code"));
}

#[test]
fn no_ansi_escapes_unless_asked_for() {
    let broken = fixtures().join("examples/broken-agent");
    let dir = broken.to_str().unwrap();
    let plain = run(&["--dir", dir]);
    assert!(!plain.stdout.contains('\u{1b}'));
    let plain = run(&["--dir", dir, "--color", "never"]);
    assert!(!plain.stdout.contains('\u{1b}'));
    let coloured = run(&["--dir", dir, "--color", "always"]);
    assert!(coloured.stdout.contains('\u{1b}'));
}

#[test]
fn quiet_prints_only_findings_at_the_threshold() {
    let broken = fixtures().join("examples/broken-agent");
    let out = run(&["--dir", broken.to_str().unwrap(), "-q"]);
    assert!(!out.stdout.contains("unhealthy"), "no summary with -q");
    assert!(
        !out.stdout.contains("jobs/cron-last-weekday-trap"),
        "warnings are below the threshold"
    );
    assert!(out.stdout.contains("jobs/invalid-cron"));
    let healthy = fixtures().join("examples/healthy-agent");
    assert_eq!(run(&["--dir", healthy.to_str().unwrap(), "-q"]).stdout, "");
}

#[test]
fn a_fifo_jobs_file_is_a_finding_not_a_hang() {
    let agent = agent_with_jobs("[]");
    let jobs = agent.path().join(".instar/jobs.json");
    fs::remove_file(&jobs).unwrap();
    let made = std::process::Command::new("mkfifo").arg(&jobs).status();
    if !matches!(made, Ok(s) if s.success()) {
        eprintln!("skipped: mkfifo is not available");
        return;
    }
    let out = run(&["--dir", &dir_arg(agent.path()), "--format", "json"]);
    assert_eq!(out.code, 1);
    let doc = assert_valid_json_output(&out.stdout);
    assert_eq!(doc["diagnostics"][0]["code"], "jobs/unreadable");
    assert_eq!(doc["diagnostics"][0]["instar_effect"], "fatal");
}

#[test]
fn a_symlink_loop_is_reported_like_a_dangling_link() {
    let agent = agent_with_jobs("[]");
    let jobs = agent.path().join(".instar/jobs.json");
    fs::remove_file(&jobs).unwrap();
    std::os::unix::fs::symlink(agent.path().join(".instar/other.json"), &jobs).unwrap();
    std::os::unix::fs::symlink(&jobs, agent.path().join(".instar/other.json")).unwrap();
    let doc = assert_valid_json_output(
        &run(&["--dir", &dir_arg(agent.path()), "--format", "json"]).stdout,
    );
    assert_eq!(doc["diagnostics"][0]["code"], "jobs/dangling-symlink");
}

#[test]
fn a_file_too_large_for_node_is_fatal_without_being_read() {
    let agent = agent_with_jobs("[]");
    let jobs = fs::OpenOptions::new()
        .write(true)
        .open(agent.path().join(".instar/jobs.json"))
        .unwrap();
    // Sparse: no disk is used, and the doctor must not try to read it.
    jobs.set_len(600 * 1024 * 1024).unwrap();
    let doc = assert_valid_json_output(
        &run(&["--dir", &dir_arg(agent.path()), "--format", "json"]).stdout,
    );
    assert_eq!(doc["diagnostics"][0]["code"], "jobs/unreadable");
    assert!(doc["diagnostics"][0]["message"]
        .as_str()
        .unwrap()
        .contains("larger than Node"));
}

#[test]
fn deep_nesting_inside_an_unknown_field_is_accepted() {
    let depth = 100_000;
    let nested = format!("{}{}", "[".repeat(depth), "]".repeat(depth));
    let job = VALID_JOB.replacen('{', &format!("{{\"extra\": {nested}, "), 1);
    let agent = agent_with_jobs(&format!("[{job}]"));
    let out = run(&["--dir", &dir_arg(agent.path()), "--format", "json"]);
    assert_eq!(out.code, 0, "{}", out.stdout);
    // And a truncated deep file is a parse error, not a stack overflow.
    let agent = agent_with_jobs(&"[".repeat(depth));
    let doc = assert_valid_json_output(
        &run(&["--dir", &dir_arg(agent.path()), "--format", "json"]).stdout,
    );
    assert_eq!(doc["diagnostics"][0]["code"], "jobs/parse-error");
}

#[test]
fn unreadable_jobs_file() {
    // Root reads everything: emulating the error is done in source.rs's unit tests.
    if unsafe_is_root() {
        eprintln!("skipped: running as root, permission bits do not stop reads");
        return;
    }
    use std::os::unix::fs::PermissionsExt;
    let agent = agent_with_jobs("[]");
    let jobs = agent.path().join(".instar/jobs.json");
    fs::set_permissions(&jobs, fs::Permissions::from_mode(0o000)).unwrap();
    let doc = assert_valid_json_output(
        &run(&["--dir", &dir_arg(agent.path()), "--format", "json"]).stdout,
    );
    assert_eq!(doc["diagnostics"][0]["code"], "jobs/unreadable");
    assert_eq!(doc["diagnostics"][0]["fix"]["applicability"], "safe");
}

fn unsafe_is_root() -> bool {
    std::process::Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}

#[test]
fn version_rules_switch_at_0_28_65() {
    let jobs = format!(
        "[{}, {}]",
        VALID_JOB,
        VALID_JOB.replace("\"low\"", "\"urgent\"")
    );
    let agent = agent_with_jobs(&jobs);
    let dir = dir_arg(agent.path());
    let effect = |version: &str| {
        let doc = assert_valid_json_output(
            &run(&[
                "--dir",
                &dir,
                "--format",
                "json",
                "--instar-version",
                version,
            ])
            .stdout,
        );
        let d = doc["diagnostics"]
            .as_array()
            .unwrap()
            .iter()
            .find(|d| d["code"] == "jobs/invalid-priority")
            .cloned()
            .unwrap();
        (
            d["instar_effect"].as_str().unwrap().to_string(),
            doc["instar_version"].clone(),
        )
    };
    assert_eq!(effect("0.28.44").0, "fatal");
    assert_eq!(effect("v0.28.64").0, "fatal");
    assert_eq!(effect("0.28.65").0, "skipped");
    assert_eq!(effect("1.3.1186").0, "skipped");
    // Outside the known range the nearest known rules apply.
    assert_eq!(
        effect("0.20.0"),
        ("fatal".to_string(), serde_json::json!("0.28.44"))
    );
}

#[test]
fn a_large_jobs_file_is_checked_entry_by_entry() {
    let mut jobs = String::from("[\n");
    for i in 0..20_000 {
        if i > 0 {
            jobs.push_str(",\n");
        }
        jobs.push_str(&VALID_JOB.replace("\"slug\": \"a\"", &format!("\"slug\": \"job-{i}\"")));
    }
    jobs.push_str("\n]");
    // One bad entry near the end, found with its exact pointer.
    let jobs = jobs.replacen(
        "\"slug\": \"job-19990\", \"name\": \"A\"",
        "\"slug\": \"job-19990\", \"name\": \"\"",
        1,
    );
    let agent = agent_with_jobs(&jobs);
    let doc = assert_valid_json_output(
        &run(&[
            "--dir",
            &dir_arg(agent.path()),
            "--format",
            "json",
            "--select",
            "jobs",
        ])
        .stdout,
    );
    let diags = doc["diagnostics"].as_array().unwrap();
    assert_eq!(diags.len(), 1, "{diags:#?}");
    assert_eq!(diags[0]["pointer"], "/19990/name");
}

#[test]
fn piped_output_has_no_colour_even_without_no_color_and_clicolor_force_turns_it_on() {
    let broken = fixtures().join("examples/broken-agent");
    let run_env = |vars: &[(&str, &str)]| {
        let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_instar-doctor"));
        command
            .args(["--dir", broken.to_str().unwrap()])
            .env_remove("NO_COLOR")
            .env_remove("CLICOLOR_FORCE")
            .env("INSTAR_DOCTOR_NOW", NOW);
        for (k, v) in vars {
            command.env(k, v);
        }
        String::from_utf8(command.output().unwrap().stdout).unwrap()
    };
    assert!(!run_env(&[]).contains('\u{1b}'), "a pipe is not a terminal");
    assert!(run_env(&[("CLICOLOR_FORCE", "1")]).contains('\u{1b}'));
    assert!(!run_env(&[("CLICOLOR_FORCE", "1"), ("NO_COLOR", "1")]).contains('\u{1b}'));
    for format in ["json", "sarif", "github", "junit"] {
        let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_instar-doctor"));
        let out = command
            .args([
                "--dir",
                broken.to_str().unwrap(),
                "--format",
                format,
                "--color",
                "always",
            ])
            .output()
            .unwrap();
        assert!(
            !String::from_utf8_lossy(&out.stdout).contains('\u{1b}'),
            "{format} is a machine format: never coloured"
        );
    }
}

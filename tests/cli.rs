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
    assert_eq!(effect("v0.28.63").0, "fatal");
    assert_eq!(effect("0.28.64").0, "skipped");
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
        command.env("COLUMNS", "80");
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
        command.env("COLUMNS", "80");
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

/// A typo in a CI gate's `--select` or `--ignore` used to select nothing and pass: every
/// unknown name, empty entry or malformed list is now a usage error, in one line, with the
/// nearest names.
#[test]
fn unknown_or_empty_selections_are_usage_errors_with_a_suggestion() {
    let broken = fixtures().join("examples/broken-agent");
    let dir = broken.to_str().unwrap();
    let cases: &[(&[&str], &str)] = &[
        (
            &["--select", "jbos"],
            "unknown check `jbos`; did you mean `jobs`?",
        ),
        (
            &["--select", "jobs/invalid-crn"],
            "unknown code `jobs/invalid-crn`; did you mean `jobs/invalid-cron`?",
        ),
        (&["--ignore", "confg"], "did you mean `config`?"),
        (
            &["--ignore", "invalid-cron"],
            "did you mean `jobs/invalid-cron`?",
        ),
        (&["--select", ""], "empty entry"),
        (&["--select", "jobs,,config"], "empty entry"),
        (&["--ignore", "jobs,"], "empty entry"),
        (&["--select", "jobs", "--select", ","], "empty entry"),
        (&["--select", "jobs/"], "area/kebab-name"),
        (&["--select", "zzzzzzzz"], "unknown check `zzzzzzzz`"),
    ];
    for (extra, expected) in cases {
        let mut args = vec!["--dir", dir];
        args.extend_from_slice(extra);
        let out = run(&args);
        assert_eq!(out.code, 2, "{extra:?}: {}", out.stdout);
        assert!(
            out.stdout.is_empty(),
            "{extra:?}: no report: {}",
            out.stdout
        );
        assert_eq!(out.stderr.lines().count(), 1, "{extra:?}: {}", out.stderr);
        assert!(
            out.stderr.starts_with("error: ") && out.stderr.contains(expected),
            "{extra:?}: {}",
            out.stderr
        );
    }
    // Spaces around entries are forgiven, and a list may be given twice.
    let spaced = codes_of(&run(&[
        "--dir",
        dir,
        "--format",
        "json",
        "--select",
        "jobs, config",
    ]));
    let plain = codes_of(&run(&[
        "--dir",
        dir,
        "--format",
        "json",
        "--select",
        "jobs,config",
    ]));
    let twice = codes_of(&run(&[
        "--dir", dir, "--format", "json", "--select", "jobs", "--select", " config",
    ]));
    assert!(!plain.is_empty());
    assert_eq!(spaced, plain);
    assert_eq!(twice, plain);
}

#[test]
fn explain_suggests_the_nearest_codes() {
    let out = run(&["explain", "jobs/invalid-crn"]);
    assert_eq!(out.code, 2);
    assert!(
        out.stderr.contains("did you mean `jobs/invalid-cron`?"),
        "{}",
        out.stderr
    );
    let out = run(&["explain", "invalid-cron"]);
    assert!(out.stderr.contains("`jobs/invalid-cron`"), "{}", out.stderr);
}

/// An option the command or format would ignore is refused (exit 2), naming the option.
#[test]
fn options_that_do_not_apply_are_refused() {
    let healthy = fixtures().join("examples/healthy-agent");
    let dir = healthy.to_str().unwrap();
    let out_dir = tempfile::tempdir().unwrap();
    let patch = out_dir.path().join("x.patch").display().to_string();
    let cases: &[(&[&str], &str)] = &[
        (&["--dir", dir, "--diff", "--format", "json"], "--diff"),
        (&["--dir", dir, "--diff", "--format", "sarif"], "--diff"),
        (&["--dir", dir, "-i", "--format", "junit"], "-i"),
        (&["--dir", dir, "-i", "--format", "github"], "-i"),
        (&["--dir", dir, "--unsafe-fixes"], "--unsafe-fixes"),
        (&["--dir", dir, "--diff", "-o", &patch], "-o"),
        (&["list", "--format", "json"], "--format"),
        (&["--format", "json", "list"], "--format"),
        (&["explain", "jobs/invalid-cron", "--dir", "foo"], "--dir"),
        (&["--dir", dir, "explain", "jobs/invalid-cron"], "--dir"),
        (&["completions", "bash", "--fix"], "--fix"),
        (&["--fix", "completions", "bash"], "--fix"),
        (&["hook", "install", "--select", "jobs"], "--select"),
        (&["undo", "--format", "json"], "--format"),
        (&["undo", "--select", "jobs"], "--select"),
    ];
    for (args, option) in cases {
        let out = run(args);
        assert_eq!(out.code, 2, "{args:?}: {}{}", out.stdout, out.stderr);
        let first = out.stderr.lines().next().unwrap_or("");
        assert!(
            first.starts_with("error: ") && first.contains(option),
            "{args:?}: {}",
            out.stderr
        );
    }
    assert!(
        !Path::new(&patch).exists(),
        "a refused command creates nothing"
    );
    // What does apply still works.
    assert_eq!(run(&["--dir", dir, "--diff", "--unsafe-fixes"]).code, 0);
    assert_eq!(run(&["list"]).code, 0);
}

/// Each subcommand's help lists only the options it takes.
#[test]
fn subcommand_help_lists_only_what_applies() {
    let run_options = [
        "--format",
        "--select",
        "--fail-on",
        "--unsafe-fixes",
        "--deep",
    ];
    for sub in [
        &["list"][..],
        &["explain"],
        &["completions"],
        &["hook"],
        &["undo"],
    ] {
        let mut args = sub.to_vec();
        args.push("--help");
        let out = run(&args);
        assert_eq!(out.code, 0, "{sub:?}");
        for option in run_options {
            assert!(
                !out.stdout.contains(option),
                "{sub:?} --help lists {option}:\n{}",
                out.stdout
            );
        }
    }
    let undo = run(&["undo", "--help"]).stdout;
    for option in ["--dir", "--force", "--allow-running"] {
        assert!(undo.contains(option), "undo takes {option}:\n{undo}");
    }
    let top = run(&["--help"]).stdout;
    for option in run_options {
        assert!(top.contains(option), "{option}");
    }
}

/// `-o` with the human format writes the report to the file, without colour (as ruff's
/// --output-file does); it used to write nothing at all.
#[test]
fn output_file_with_the_human_format_gets_the_report_without_colour() {
    let broken = fixtures().join("examples/broken-agent");
    let out_dir = tempfile::tempdir().unwrap();
    let file = out_dir.path().join("report.txt");
    let out = run(&[
        "--dir",
        broken.to_str().unwrap(),
        "--color",
        "always",
        "-o",
        file.to_str().unwrap(),
    ]);
    assert_eq!(out.code, 1);
    assert!(
        out.stdout.is_empty(),
        "the report goes to the file: {}",
        out.stdout
    );
    let written = fs::read_to_string(&file).unwrap();
    assert!(written.contains("jobs/invalid-cron") && written.contains("✗ unhealthy"));
    assert!(!written.contains('\u{1b}'), "no colour in a file");
    let plain = run(&["--dir", broken.to_str().unwrap()]);
    assert_eq!(written, plain.stdout);
}

/// `-o` names a stream (a FIFO, as `/dev/stdout` is a character device): the report is written
/// into it, never renamed over it. A regular file behind a symlink is replaced and the link
/// kept; either way no temporary file is left beside it.
#[test]
fn output_file_streams_into_a_fifo_and_keeps_a_symlink() {
    let broken = fixtures().join("examples/broken-agent");
    let out_dir = tempfile::tempdir().unwrap();
    let fifo = out_dir.path().join("pipe");
    let reader = fifo_reader(&fifo);
    let args = ["--dir", broken.to_str().unwrap(), "--format", "json", "-o"];
    let out = run(&[&args[..], &[fifo.to_str().unwrap()]].concat());
    assert_eq!(out.code, 1, "{}", out.stderr);
    let doc: serde_json::Value = serde_json::from_str(&reader.join().unwrap()).unwrap();
    assert_eq!(doc["summary"]["errors"], 4, "{doc}");
    let kind = fs::symlink_metadata(&fifo).unwrap().file_type();
    assert!(
        std::os::unix::fs::FileTypeExt::is_fifo(&kind),
        "still a FIFO"
    );

    let real = out_dir.path().join("real.json");
    fs::write(&real, "old").unwrap();
    let link = out_dir.path().join("link.json");
    std::os::unix::fs::symlink("real.json", &link).unwrap();
    let out = run(&[&args[..], &[link.to_str().unwrap()]].concat());
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(fs::symlink_metadata(&link).unwrap().is_symlink());
    assert!(fs::read_to_string(&real).unwrap().contains("\"schema\""));
    let mut left: Vec<_> = fs::read_dir(out_dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    left.sort();
    assert_eq!(left, ["link.json", "pipe", "real.json"]);
}

/// The headline follows --fail-on: a run that exits 1 never says healthy.
#[test]
fn the_headline_follows_fail_on() {
    // The healthy example has info findings only.
    let healthy = fixtures().join("examples/healthy-agent");
    let dir = healthy.to_str().unwrap();
    // The verdict line: the one with the counts, after the overview and the findings.
    let headline = |out: &Output| {
        out.stdout
            .lines()
            .find(|l| l.contains(" error, ") || l.contains(" errors, "))
            .unwrap_or("")
            .to_string()
    };
    let ok = run(&["--dir", dir]);
    assert_eq!(ok.code, 0);
    assert!(headline(&ok).starts_with("✓ healthy"), "{}", ok.stdout);
    let failing = run(&["--dir", dir, "--fail-on", "info"]);
    assert_eq!(failing.code, 1);
    assert!(
        headline(&failing).starts_with("✗ failing (--fail-on info)"),
        "{}",
        failing.stdout
    );
    // Only a warning: a case-insensitive duplicate slug.
    let jobs = format!(
        "[{}, {}]",
        VALID_JOB,
        VALID_JOB.replace("\"slug\": \"a\"", "\"slug\": \"A\"")
    );
    let agent = agent_with_jobs(&jobs);
    let dir = dir_arg(agent.path());
    let warned = run(&["--dir", &dir]);
    assert_eq!(warned.code, 0);
    assert!(
        headline(&warned).starts_with("! warnings"),
        "{}",
        warned.stdout
    );
    let failing = run(&["--dir", &dir, "--fail-on", "warning"]);
    assert_eq!(failing.code, 1);
    assert!(
        headline(&failing).starts_with("✗ failing (--fail-on warning)"),
        "{}",
        failing.stdout
    );
}

/// `undo` uses `--dir` and `--allow-running` whether they come before or after the word; any
/// other run option before it is refused like after it.
#[test]
fn undo_takes_dir_before_or_after_the_word_and_refuses_the_rest() {
    let agent = agent_with_jobs("[]");
    let dir = dir_arg(agent.path());
    for args in [
        &["--dir", &dir, "undo"][..],
        &["undo", "--dir", &dir],
        &["--dir", &dir, "--allow-running", "undo"],
    ] {
        let out = run(args);
        assert_eq!(out.code, 2, "{args:?}: nothing to undo yet");
        assert!(
            out.stderr.contains("undo") && !out.stderr.contains("no instar agent"),
            "{args:?}: {}",
            out.stderr
        );
        assert!(
            !out.stderr.contains("does not apply"),
            "{args:?}: {}",
            out.stderr
        );
    }
    let out = run(&["--dir", &dir, "--instar-version", "1.3.1186", "undo"]);
    assert_eq!(out.code, 2);
    assert!(
        out.stderr
            .starts_with("error: --instar-version does not apply to `undo`"),
        "{}",
        out.stderr
    );
}

/// Progress goes to a terminal only: through pipes, with `CI` unset, a check and a fix run long
/// enough for the spinner to be due (10,000 broken jobs take seconds in a debug build) print
/// nothing but their report, and nothing at all on stderr.
#[test]
fn no_progress_in_pipes() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join(".instar")).unwrap();
    let jobs: Vec<String> = (0..10_000)
        .map(|i| {
            format!(
                "  {{\"slug\": \"job-{i}\", \"name\": \"Job {i}\", \"description\": \"d\", \"schedule\": \"0 9 * * *\", \"priority\": \"High\", \"expectedDurationMinutes\": 3, \"model\": \"haiku\", \"enabled\": true, \"execute\": {{\"type\": \"prompt\", \"value\": \"x\"}}}}"
            )
        })
        .collect();
    std::fs::write(
        dir.path().join(".instar/jobs.json"),
        format!("[\n{}\n]\n", jobs.join(",\n")),
    )
    .unwrap();
    let project = dir.path().to_str().unwrap();
    for args in [
        &["--dir", project, "--select", "jobs"][..],
        &[
            "--dir",
            project,
            "--select",
            "jobs",
            "--fix",
            "--unsafe-fixes",
        ][..],
    ] {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_instar-doctor"))
            .args(args)
            .env_remove("CI")
            .env("NO_COLOR", "1")
            .env("HOME", common::repo_root().join("tests/no-such-home"))
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.is_empty(), "{args:?} wrote to stderr: {stderr}");
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            !stdout.contains("checking") && !stdout.contains('\r'),
            "{stdout}"
        );
    }
}

//! `instar-doctor scan` end to end: discovery, the human report's shape, exit codes over all
//! agents, the scan-v1 document against its published schema, the metrics against a real
//! Prometheus/OpenMetrics parser, SARIF against the official schema, and what it refuses.

mod common;

use std::fs;
use std::path::{Path, PathBuf};

use common::*;

/// A root holding two healthy agents and one broken one, and an empty per-user folder.
struct Tree {
    _tmp: tempfile::TempDir,
    root: PathBuf,
    home: PathBuf,
}

fn healthy(dir: &Path, name: &str, port: u32) {
    fs::create_dir_all(dir.join(".instar")).unwrap();
    fs::write(
        dir.join(".instar/config.json"),
        format!(
            "{{\"projectName\": \"{name}\", \"port\": {port}, \"scheduler\": {{\"enabled\": true}}}}\n"
        ),
    )
    .unwrap();
    fs::write(dir.join(".instar/jobs.json"), "[]\n").unwrap();
}

fn tree() -> Tree {
    let tmp = tempfile::tempdir().unwrap();
    let root = fs::canonicalize(tmp.path()).unwrap().join("agents");
    healthy(&root.join("alpha"), "alpha", 4040);
    healthy(&root.join("beta"), "beta", 4041);
    healthy(&root.join("gamma"), "gamma", 4042);
    // gamma's jobs.json does not parse: an error.
    fs::write(root.join("gamma/.instar/jobs.json"), "[{,]\n").unwrap();
    let home = root.parent().unwrap().join("home/.instar");
    fs::create_dir_all(&home).unwrap();
    Tree {
        _tmp: tmp,
        root,
        home,
    }
}

fn scan(t: &Tree, extra: &[&str]) -> Output {
    scan_with_env(t, extra, &[])
}

/// `scan ROOT --instar-home HOME` for the tree.
fn scan_args(t: &Tree) -> Vec<&str> {
    vec![
        "scan",
        t.root.to_str().unwrap(),
        "--instar-home",
        t.home.to_str().unwrap(),
    ]
}

fn scan_with_env(t: &Tree, extra: &[&str], vars: &[(&str, &str)]) -> Output {
    let mut args = scan_args(t);
    args.extend_from_slice(extra);
    run_with_env(t.root.parent().unwrap(), &args, vars)
}

fn scan_schema_validator() -> jsonschema::Validator {
    // The published scan schema refers to doctor-v1.schema.json by file name; inline it here.
    let scan = fs::read_to_string(repo_root().join("schema/scan-v1.schema.json")).unwrap();
    let scan = scan
        .replace("\"doctor-v1.schema.json#/", "\"#/$defs/doctor/")
        .replace("\"doctor-v1.schema.json\"", "\"#/$defs/doctor\"");
    let mut scan: serde_json::Value = serde_json::from_str(&scan).unwrap();
    let mut doctor: serde_json::Value = serde_json::from_str(
        &fs::read_to_string(repo_root().join("schema/doctor-v1.schema.json")).unwrap(),
    )
    .unwrap();
    let defs = doctor.as_object_mut().unwrap().remove("$defs").unwrap();
    doctor.as_object_mut().unwrap().remove("$schema");
    let mut all = defs.as_object().unwrap().clone();
    all.insert("doctor".into(), doctor);
    scan["$defs"] = serde_json::Value::Object(all);
    jsonschema::validator_for(&scan).expect("the scan schema compiles")
}

fn valid_scan_json(text: &str) -> serde_json::Value {
    let doc: serde_json::Value = serde_json::from_str(text).expect("one JSON document");
    let validator = scan_schema_validator();
    let errors: Vec<String> = validator
        .iter_errors(&doc)
        .map(|e| format!("{e} at {}", e.instance_path()))
        .collect();
    assert!(errors.is_empty(), "schema violations: {errors:#?}\n{text}");
    doc
}

#[test]
fn the_human_report_lists_every_agent_then_the_broken_ones_with_their_fix_command() {
    let t = tree();
    let out = scan(&t, &[]);
    assert_eq!(out.code, 1, "{}{}", out.stdout, out.stderr);
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert!(lines[0].starts_with("✓ machine"), "{}", out.stdout);
    assert_eq!(lines[1], "✓ 0 errors, 0 warnings — agents/alpha");
    assert_eq!(lines[2], "✓ 0 errors, 0 warnings — agents/beta");
    assert!(
        lines[3].starts_with("✗ 1 error") && lines[3].ends_with("— agents/gamma"),
        "{}",
        lines[3]
    );
    assert!(out.stdout.contains("── agents/gamma ──"));
    assert!(
        out.stdout.contains("instar-doctor --dir agents/gamma"),
        "{}",
        out.stdout
    );
    assert!(
        !out.stdout.contains("── agents/alpha ──"),
        "healthy agents have no details"
    );
    assert!(
        out.stdout.contains("3 agents — 2 healthy, 1 with findings"),
        "{}",
        out.stdout
    );
    assert!(
        out.stderr.is_empty(),
        "no progress bar without a terminal: {}",
        out.stderr
    );
}

/// The scan's report is as wide as a one-agent report: `COLUMNS` when set, and in a pipe
/// without it nothing wraps (it used to wrap at 80 there, a width no terminal had asked for).
#[test]
fn the_scan_report_wraps_like_a_one_agent_report() {
    let t = tree();
    // A command is never broken, however narrow the terminal: its line may be longer.
    let longest = |out: &Output| {
        out.stdout
            .lines()
            .filter(|l| !l.contains("instar-doctor --dir"))
            .map(|l| l.chars().count())
            .max()
            .unwrap()
    };
    let narrow = scan_with_env(&t, &[], &[("COLUMNS", "60")]);
    assert!(longest(&narrow) <= 60, "{}", narrow.stdout);
    let piped = scan_with_env(&t, &[], &[("COLUMNS", "")]);
    assert!(longest(&piped) > 80, "{}", piped.stdout);
    assert_eq!(narrow.code, piped.code);
}

#[test]
fn healthy_agents_on_a_healthy_machine_exit_zero() {
    let t = tree();
    fs::write(t.root.join("gamma/.instar/jobs.json"), "[]\n").unwrap();
    let out = scan(&t, &[]);
    assert_eq!(out.code, 0, "{}", out.stdout);
    assert!(out.stdout.contains("✓ healthy: 3 agents"), "{}", out.stdout);
    assert!(
        !out.stdout.contains('!'),
        "no warning anywhere: {}",
        out.stdout
    );
}

#[test]
fn json_is_one_scan_v1_document_with_a_v1_report_per_agent() {
    let t = tree();
    let out = scan(&t, &["--format", "json"]);
    let doc = valid_scan_json(&out.stdout);
    assert_eq!(doc["exit_code"].as_i64(), Some(out.code as i64));
    assert_eq!(out.code, 1);
    let agents = doc["agents"].as_array().unwrap();
    let dirs: Vec<&str> = agents
        .iter()
        .map(|a| a["project_dir"].as_str().unwrap())
        .collect();
    assert_eq!(dirs.len(), 3);
    assert!(dirs[0].ends_with("/alpha") && dirs[2].ends_with("/gamma"));
    assert_eq!(agents[2]["exit_code"], 1);
    assert_eq!(doc["summary"]["agents"], 3);
    assert_eq!(doc["summary"]["healthy"], 2);
    // Each agent's report is a valid single-agent document too.
    for agent in agents {
        assert_valid_json_output(&agent.to_string());
        let checks: Vec<&str> = agent["checks"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["id"].as_str().unwrap())
            .collect();
        assert!(
            !checks.contains(&"machine"),
            "the machine area runs once, not per agent"
        );
    }
}

#[test]
fn the_machine_findings_come_once_and_count_in_the_exit_code() {
    let t = tree();
    fs::write(t.root.join("gamma/.instar/jobs.json"), "[]\n").unwrap();
    // beta now shares alpha's port: a machine error, no agent error.
    healthy(&t.root.join("beta"), "beta", 4040);
    let out = scan(&t, &["--format", "json"]);
    let doc = valid_scan_json(&out.stdout);
    assert_eq!(out.code, 1);
    let codes: Vec<&str> = doc["machine"]["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["code"].as_str().unwrap())
        .collect();
    assert_eq!(codes, ["machine/port-collision"]);
    for agent in doc["agents"].as_array().unwrap() {
        assert_eq!(agent["exit_code"], 0);
    }
}

/// The human report's machine section is the machine area's alone: the agents' areas are
/// reported per agent above it, not listed as "left out by --select/--ignore".
#[test]
fn the_machine_section_names_only_the_machine_area() {
    let t = tree();
    healthy(&t.root.join("beta"), "beta", 4040);
    let out = scan(&t, &[]);
    assert_eq!(out.code, 1, "{}{}", out.stdout, out.stderr);
    let section = out
        .stdout
        .split("── machine ──")
        .nth(1)
        .unwrap_or_else(|| panic!("no machine section:\n{}", out.stdout));
    assert!(section.contains("machine/port-collision"), "{section}");
    assert!(!section.contains("left out"), "{section}");
    for area in ["jobs", "config", "boot"] {
        assert!(
            !section
                .lines()
                .any(|l| l.starts_with(&format!("- {area} "))),
            "{area} is listed in the machine section:\n{section}"
        );
    }
}

#[test]
fn without_a_root_the_per_user_registry_and_agents_folder_are_scanned() {
    let t = tree();
    healthy(&t.home.join("agents/solo"), "solo", 4050);
    fs::write(
        t.home.join("registry.json"),
        format!(
            "{{\"version\": 1, \"entries\": [{{\"name\": \"alpha\", \"path\": \"{}\", \"port\": 4040}}, {{\"name\": \"x\", \"path\": \"/nonexistent/agent\", \"port\": 4070}}]}}",
            t.root.join("alpha").display()
        ),
    )
    .unwrap();
    let out = run_in(
        t.root.parent().unwrap(),
        &[
            "scan",
            "--instar-home",
            t.home.to_str().unwrap(),
            "--format",
            "json",
        ],
    );
    let doc = valid_scan_json(&out.stdout);
    let dirs: Vec<&str> = doc["agents"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["project_dir"].as_str().unwrap())
        .collect();
    assert_eq!(dirs.len(), 2, "{dirs:?}");
    assert!(
        dirs.iter().any(|d| d.ends_with("/alpha"))
            && dirs.iter().any(|d| d.ends_with("/agents/solo"))
    );
    let codes: Vec<&str> = doc["machine"]["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["code"].as_str().unwrap())
        .collect();
    assert_eq!(codes, ["machine/registry-zombie"]);
}

#[test]
fn no_agent_is_exit_2_with_a_document_that_says_why() {
    let tmp = tempfile::tempdir().unwrap();
    let out = run_in(
        tmp.path(),
        &["scan", ".", "--instar-home", "home", "--format", "json"],
    );
    assert_eq!(out.code, 2);
    let doc = valid_scan_json(&out.stdout);
    assert!(doc["error"]["message"]
        .as_str()
        .unwrap()
        .contains("no instar agent"));
}

#[test]
fn scan_refuses_what_only_a_single_agent_run_does() {
    let t = tree();
    for extra in [
        &["--fix"][..],
        &["--diff"],
        &["-i"],
        &["--dir", "x"],
        &["--unsafe-fixes"],
    ] {
        let out = scan(&t, extra);
        assert_eq!(out.code, 2, "{extra:?}: {}", out.stderr);
    }
    let out = run_in(&t.root, &["--format", "json", "scan", "."]);
    assert_eq!(out.code, 2);
    assert!(
        out.stderr.contains("--format goes after `scan`"),
        "{}",
        out.stderr
    );
    let out = run_in(&t.root, &["--fix", "scan", "."]);
    assert_eq!(out.code, 2);
    assert!(
        out.stderr.contains("--fix does not apply to `scan`"),
        "{}",
        out.stderr
    );
    let out = scan(&t, &["--select", "nope"]);
    assert_eq!(out.code, 2);
}

#[test]
fn exit_zero_and_fail_on_apply_over_all_agents() {
    let t = tree();
    assert_eq!(scan(&t, &["--exit-zero"]).code, 0);
    fs::write(t.root.join("gamma/.instar/jobs.json"), "[]\n").unwrap();
    assert_eq!(
        scan(&t, &["--fail-on", "info"]).code,
        1,
        "every agent has info findings"
    );
}

/// An `-o` file that cannot be created is worded as for one agent: what is wrong, in words.
#[test]
fn a_scan_o_file_in_a_missing_folder_says_so() {
    let t = tree();
    let target = t.root.parent().unwrap().join("no-such-folder/out.json");
    let out = scan(&t, &["--format", "json", "-o", target.to_str().unwrap()]);
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(
        out.stderr.contains(&format!(
            "cannot create -o file {}: the folder {} does not exist",
            target.display(),
            target.parent().unwrap().display()
        )),
        "{}",
        out.stderr
    );
}

/// `-o` naming a stream (a FIFO, as `/dev/stdout` is a character device) gets the document
/// written into it; the scan used to write a temporary file beside it and rename that over the
/// FIFO, so the reader got nothing and the FIFO was gone.
#[test]
fn a_scan_streams_into_a_fifo_instead_of_replacing_it() {
    let t = tree();
    let fifo = t.root.parent().unwrap().join("metrics.pipe");
    let reader = fifo_reader(&fifo);
    let out = scan(&t, &["--format", "json", "-o", fifo.to_str().unwrap()]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    // Asked before the reader is joined: a FIFO renamed over would leave it waiting forever.
    let kind = fs::symlink_metadata(&fifo).unwrap().file_type();
    assert!(
        std::os::unix::fs::FileTypeExt::is_fifo(&kind),
        "still a FIFO"
    );
    let doc = valid_scan_json(&reader.join().unwrap());
    assert_eq!(doc["agents"].as_array().unwrap().len(), 3, "{doc}");
}

#[test]
fn metrics_go_to_a_file_atomically_and_parse_as_prometheus_and_openmetrics() {
    let t = tree();
    let file = t.root.parent().unwrap().join("doctor.prom");
    let out = scan(
        &t,
        &["--format", "openmetrics", "-o", file.to_str().unwrap()],
    );
    assert_eq!(out.code, 1);
    // With -o the human report still goes to the terminal.
    assert!(out.stdout.contains("agents/gamma"), "{}", out.stdout);
    let text = fs::read_to_string(&file).unwrap();
    let leftovers: Vec<_> = fs::read_dir(file.parent().unwrap())
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().ends_with(".tmp"))
        .collect();
    assert!(leftovers.is_empty(), "no temp file is left behind");
    assert!(
        text.contains("area=\"jobs\",severity=\"error\"} 1"),
        "{text}"
    );
    assert!(text.contains("instar_doctor_up 1"));
    assert!(
        text.contains("instar_doctor_last_run_timestamp_seconds 1795521600"),
        "{text}"
    );
    assert!(text.ends_with("# EOF\n"));
    parse_with_prometheus_client(&text);
}

/// prometheus_client's two parsers read the file: the Prometheus text format (what node_exporter's
/// textfile collector reads) and OpenMetrics. Optional where the module is absent, unless
/// INSTAR_DOCTOR_REQUIRE_PROM_PARSER is set (.ci/run installs it and sets it).
fn parse_with_prometheus_client(text: &str) {
    let script = r#"
import sys
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.openmetrics.parser import text_string_to_metric_families as om
text = sys.stdin.read()
names = sorted(f.name for f in text_string_to_metric_families(text))
om_names = sorted(f.name for f in om(text))
print(",".join(names)); print(",".join(om_names))
"#;
    let child = std::process::Command::new("python3")
        .args(["-c", script])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn();
    let required = std::env::var_os("INSTAR_DOCTOR_REQUIRE_PROM_PARSER").is_some();
    let Ok(mut child) = child else {
        assert!(!required, "python3 is needed to validate the metrics");
        return;
    };
    use std::io::Write;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    if !out.status.success() && stderr.contains("No module named 'prometheus_client'") && !required
    {
        eprintln!("prometheus_client is not installed: metrics not parsed");
        return;
    }
    assert!(
        out.status.success(),
        "the parsers reject the metrics: {stderr}\n{text}"
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    for line in stdout.lines() {
        assert_eq!(
            line,
            "instar_doctor_agents,instar_doctor_findings,instar_doctor_last_run_timestamp_seconds,instar_doctor_up"
        );
    }
}

#[test]
fn sarif_is_one_run_relative_to_the_scan_root_and_junit_one_suite_set() {
    let t = tree();
    let out = scan(&t, &["--format", "sarif"]);
    let log: serde_json::Value = serde_json::from_str(&out.stdout).expect("SARIF is JSON");
    let errors: Vec<String> = sarif_validator()
        .iter_errors(&log)
        .map(|e| format!("{e} at {}", e.instance_path()))
        .collect();
    assert!(
        errors.is_empty(),
        "SARIF 2.1.0 violations: {errors:#?}\n{}",
        out.stdout
    );
    assert_eq!(log["runs"].as_array().unwrap().len(), 1);
    assert_eq!(log["runs"][0]["invocations"][0]["exitCode"], 1);
    let uris: Vec<&str> = log["runs"][0]["results"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|r| r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"].as_str())
        .collect();
    assert!(uris.contains(&"gamma/.instar/jobs.json"), "{uris:?}");
    let out = scan(&t, &["--format", "junit"]);
    let xml = roxmltree::Document::parse(&out.stdout).expect("JUnit is XML");
    let suites: Vec<&str> = xml
        .descendants()
        .filter(|n| n.has_tag_name("testsuite"))
        .filter_map(|n| n.attribute("name"))
        .collect();
    assert!(
        suites.iter().any(|s| s.starts_with("agents/gamma: ")),
        "{suites:?}"
    );
    let out = scan(&t, &["--format", "github"]);
    assert!(
        out.stdout
            .lines()
            .any(|l| l.starts_with("::error file=") && l.contains("jobs.json")),
        "{}",
        out.stdout
    );
}

/// `scan` with the test builds' panic failpoint aimed at one agent (`<place>@<folder name>`).
fn scan_with_panic(t: &Tree, panic_in: &str, extra: &[&str]) -> Output {
    scan_with_env(t, extra, &[("INSTAR_DOCTOR_PANIC_IN", panic_in)])
}

#[test]
fn a_crash_on_one_agent_is_reported_for_it_and_the_others_are_checked() {
    let t = tree();
    // A check that panics (the engine catches it per check) and a panic outside every check,
    // in the agent's rendering (the scan's pool catches it per agent).
    for (place, reported) in [
        ("jobs", "the jobs check crashed (a doctor bug)"),
        (
            "render",
            "checking it crashed (a doctor bug): failpoint: a deliberate panic in render for beta",
        ),
    ] {
        let spec = format!("{place}@beta");
        let out = scan_with_panic(&t, &spec, &[]);
        assert_eq!(out.code, 2, "{place}: a crash is exit 2\n{}", out.stdout);
        let lines: Vec<&str> = out.stdout.lines().collect();
        assert_eq!(lines[1], "✓ 0 errors, 0 warnings — agents/alpha", "{place}");
        assert!(
            lines[2].starts_with('✗') && lines[2].ends_with("— agents/beta"),
            "{place}: {}",
            lines[2]
        );
        assert!(
            lines[3].starts_with("✗ 1 error") && lines[3].ends_with("— agents/gamma"),
            "{place}: {}",
            out.stdout
        );
        assert!(
            out.stdout.contains(&format!("✗ incomplete: {reported}")),
            "{place}:\n{}",
            out.stdout
        );
        // gamma, after the crash, is still checked in full.
        assert!(
            out.stdout.contains("── agents/gamma ──") && out.stdout.contains("jobs/parse-error"),
            "{place}:\n{}",
            out.stdout
        );

        let out = scan_with_panic(&t, &spec, &["--format", "json"]);
        assert_eq!(out.code, 2, "{place}");
        let doc = valid_scan_json(&out.stdout);
        let agents = doc["agents"].as_array().unwrap();
        assert_eq!(agents.len(), 3, "{place}: every agent has its report");
        let exits: Vec<i64> = agents
            .iter()
            .map(|a| a["exit_code"].as_i64().unwrap())
            .collect();
        assert_eq!(exits, [0, 2, 1], "{place}");
        assert_eq!(doc["exit_code"], 2);

        // SARIF says the run was incomplete, and stays valid.
        let out = scan_with_panic(&t, &spec, &["--format", "sarif"]);
        let log: serde_json::Value = serde_json::from_str(&out.stdout).expect("SARIF is JSON");
        assert!(sarif_validator().is_valid(&log), "{place}: {}", out.stdout);
        let invocation = &log["runs"][0]["invocations"][0];
        assert_eq!(invocation["executionSuccessful"], false, "{place}");
        assert_eq!(invocation["exitCode"], 2, "{place}");
    }
    // Without the variable nothing panics: the failpoint is what crashed, not the agent.
    assert_eq!(scan(&t, &[]).code, 1);
}

/// Runs `scan` with stderr on a pseudo-terminal (100 columns), stdin and stdout elsewhere;
/// returns what the terminal received. None when python3 is missing.
fn scan_on_a_terminal(t: &Tree, ci: bool) -> Option<String> {
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_instar-doctor"));
    command
        .args(scan_args(t))
        .current_dir(t.root.parent().unwrap())
        .env("INSTAR_DOCTOR_NOW", NOW)
        .env("NO_COLOR", "1")
        .env("HOME", repo_root().join("tests/no-such-home"))
        .env_remove("CI");
    if ci {
        command.env("CI", "true");
    }
    let terminal = Terminal {
        columns: Some(100),
        ..Terminal::default()
    };
    Some(on_a_terminal(&command, &terminal)?.text)
}

#[test]
fn the_progress_bar_shows_on_a_terminal_only() {
    let t = tree();
    let Some(terminal) = scan_on_a_terminal(&t, false) else {
        eprintln!("python3 is not installed: the progress bar was not driven on a pty");
        return;
    };
    assert!(
        terminal.contains("/3 agents checked"),
        "the bar counts agents done / found on the terminal: {terminal:?}"
    );
    let under_ci = scan_on_a_terminal(&t, true).unwrap();
    assert!(
        !under_ci.contains("agents checked"),
        "never under CI: {under_ci:?}"
    );
    // Stderr to a pipe, CI unset: no bar either.
    let piped = std::process::Command::new(env!("CARGO_BIN_EXE_instar-doctor"))
        .args(scan_args(&t))
        .current_dir(t.root.parent().unwrap())
        .env("HOME", repo_root().join("tests/no-such-home"))
        .env_remove("CI")
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&piped.stderr),
        "",
        "never in a pipe"
    );
}

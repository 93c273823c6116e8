//! `instar-doctor preflight`, in front of every boot: it repairs what is safe and boot-fatal,
//! exits 1 with one screen when instar still cannot start, writes nothing while instar runs,
//! and never holds a boot hostage to its own failure.

mod common;

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use common::*;

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

fn preflight(dir: &Path, extra: &[&str]) -> Run {
    let out = Command::new(env!("CARGO_BIN_EXE_instar-doctor"))
        .arg("preflight")
        .arg("--dir")
        .arg(dir)
        .args(extra)
        .env("INSTAR_DOCTOR_NOW", NOW)
        .env("NO_COLOR", "1")
        .env("CI", "true")
        .output()
        .expect("the binary runs");
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// Every file under `.instar/` except the doctor's own folder: (bytes, mode).
fn tree(root: &Path) -> BTreeMap<PathBuf, (Vec<u8>, u32)> {
    use std::os::unix::fs::PermissionsExt;
    let mut out = BTreeMap::new();
    let mut stack = vec![root.join(".instar")];
    while let Some(dir) = stack.pop() {
        for entry in fs::read_dir(&dir).unwrap().flatten() {
            let path = entry.path();
            if path.file_name().is_some_and(|n| n == "doctor") {
                continue;
            }
            let meta = fs::symlink_metadata(&path).unwrap();
            if meta.is_dir() {
                stack.push(path);
            } else {
                let bytes = fs::read(&path).unwrap_or_default();
                out.insert(path, (bytes, meta.permissions().mode()));
            }
        }
    }
    out
}

fn record(dir: &Path) -> serde_json::Value {
    let text = fs::read_to_string(dir.join(".instar/doctor/preflight.json"))
        .expect("the preflight leaves its record");
    let record: serde_json::Value = serde_json::from_str(&text).unwrap();
    let schema: serde_json::Value = serde_json::from_str(
        &fs::read_to_string(repo_root().join("schema/preflight-v1.schema.json")).unwrap(),
    )
    .unwrap();
    let validator = jsonschema::validator_for(&schema).expect("the schema compiles");
    let errors: Vec<String> = validator
        .iter_errors(&record)
        .map(|e| e.to_string())
        .collect();
    assert!(errors.is_empty(), "{errors:#?}\n{text}");
    record
}

/// The check's verdict on the agent now: no finding that stops instar's boot.
fn boots(dir: &Path, version: &str) -> bool {
    let out = run(&[
        "--dir",
        dir.to_str().unwrap(),
        "--instar-version",
        version,
        "--format",
        "json",
    ]);
    let doc: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    !doc["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .any(|d| d["instar_effect"] == "fatal")
}

#[test]
fn boot_fatal_files_with_a_safe_fix_are_repaired_and_the_boot_goes_on() {
    for (case, version, code) in [
        ("preflight/jobs-bom", "1.3.1186", "jobs/parse-error"),
        ("preflight/config-bom", "1.3.1186", "config/parse-error"),
        ("preflight/cron-whitespace", "0.28.44", "jobs/invalid-cron"),
    ] {
        let agent = copy_fixture_agent(case);
        let before = tree(agent.path());
        assert!(!boots(agent.path(), version), "{case} starts out broken");

        let out = preflight(agent.path(), &["--instar-version", version]);
        assert_eq!(out.code, 0, "{case}: {}", out.stderr);
        assert!(out.stdout.is_empty(), "nothing on stdout: {}", out.stdout);
        assert_eq!(
            out.stderr.lines().count(),
            1,
            "{case}: one line says what was fixed: {}",
            out.stderr
        );
        assert!(out.stderr.contains("undo"), "{}", out.stderr);
        assert!(
            boots(agent.path(), version),
            "{case} boots after the preflight"
        );

        let record = record(agent.path());
        assert_eq!(record["status"], "fixed");
        assert_eq!(record["fixed"][0]["code"], code);
        assert_eq!(record["blocking"], serde_json::json!([]));
        assert_eq!(record["instar_version"], version);

        // An ordinary fix run: `undo` puts the agent back exactly.
        let undo = run(&["undo", "--dir", agent.path().to_str().unwrap()]);
        assert_eq!(undo.code, 0, "{}", undo.stderr);
        assert_eq!(
            tree(agent.path()),
            before,
            "{case}: undo restores every byte"
        );
    }
}

#[test]
fn what_cannot_be_fixed_safely_exits_1_with_one_screen() {
    for (case, version) in [
        ("preflight/identity-truncated", "1.3.1186"),
        ("preflight/secret-unresolvable", "1.3.281"),
    ] {
        let agent = copy_fixture_agent(case);
        let before = tree(agent.path());
        let out = preflight(agent.path(), &["--instar-version", version]);
        assert_eq!(out.code, 1, "{case}: {}", out.stderr);
        assert!(out.stdout.is_empty());
        assert!(
            out.stderr.lines().count() <= 24,
            "one screen:\n{}",
            out.stderr
        );
        assert_eq!(
            tree(agent.path()),
            before,
            "{case}: nothing unsafe was touched"
        );
        let shown = out
            .stderr
            .replace(&agent.path().display().to_string(), "[AGENT]");
        insta::assert_snapshot!(case.replace('/', "__"), shown);
        let record = record(agent.path());
        assert_eq!(record["status"], "blocked");
        assert!(!record["blocking"].as_array().unwrap().is_empty());
    }
}

#[test]
fn secrets_never_reach_the_screen_or_the_record() {
    let agent = copy_fixture_agent("preflight/secret-unresolvable");
    let config = agent.path().join(".instar/config.json");
    let text = fs::read_to_string(&config).unwrap().replace(
        "\"host\": \"127.0.0.1\"",
        "\"host\": \"127.0.0.1\", \"dashboardPin\": \"PIN-731904\"",
    );
    fs::write(&config, text).unwrap();
    let out = preflight(agent.path(), &["--instar-version", "1.3.281"]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    let record = fs::read_to_string(agent.path().join(".instar/doctor/preflight.json")).unwrap();
    for text in [&out.stderr, &out.stdout, &record] {
        assert!(!text.contains("PIN-731904"), "{text}");
    }
}

#[test]
fn a_healthy_agent_gets_silence_and_an_ok_record() {
    let agent = copy_fixture_agent("examples/healthy-agent");
    let out = preflight(agent.path(), &[]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stdout.is_empty() && out.stderr.is_empty(),
        "{}",
        out.stderr
    );
    let record = record(agent.path());
    assert_eq!(record["status"], "ok");
    assert_eq!(record["run_id"], serde_json::Value::Null);
    // The record replaces itself: a second run leaves one record and no temp file.
    assert_eq!(preflight(agent.path(), &[]).code, 0);
    let names: Vec<String> = fs::read_dir(agent.path().join(".instar/doctor"))
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains("preflight"))
        .collect();
    assert_eq!(names, ["preflight.json"]);
}

#[test]
fn while_instar_runs_it_only_reports() {
    let agent = copy_fixture_agent("preflight/config-bom");
    // This test process is alive for as long as the preflight runs: it plays instar's lifeline,
    // whose lock is .instar/lifeline.lock.
    fs::write(
        agent.path().join(".instar/lifeline.lock"),
        format!("{{\"pid\": {}}}", std::process::id()),
    )
    .unwrap();
    let before = tree(agent.path());
    let out = preflight(agent.path(), &[]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(out.stderr.contains("instar is running"), "{}", out.stderr);
    assert_eq!(tree(agent.path()), before, "nothing was written");
    assert!(
        !agent.path().join(".instar/doctor").exists(),
        "not even the record"
    );
}

#[test]
fn a_doctor_failure_lets_instar_start_unless_strict() {
    let agent = copy_fixture_agent("preflight/config-bom");
    let out = preflight(agent.path(), &["--instar-version", "not-a-version"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stderr.contains("starting instar anyway"),
        "{}",
        out.stderr
    );
    let strict = preflight(
        agent.path(),
        &["--instar-version", "not-a-version", "--strict"],
    );
    assert_eq!(strict.code, 2, "{}", strict.stderr);
    assert!(!strict.stderr.contains("anyway"), "{}", strict.stderr);

    let empty = tempfile::tempdir().unwrap();
    let nothing = preflight(empty.path(), &[]);
    assert_eq!(nothing.code, 0, "{}", nothing.stderr);
    assert!(
        nothing.stderr.contains("could not check"),
        "{}",
        nothing.stderr
    );
}

#[test]
fn options_of_the_check_run_are_refused() {
    let agent = copy_fixture_agent("preflight/config-bom");
    let dir = agent.path().to_str().unwrap();
    for extra in [&["--fix"][..], &["--format", "json"], &["--unsafe-fixes"]] {
        let mut args = vec!["preflight", "--dir", dir];
        args.extend_from_slice(extra);
        let out = run(&args);
        assert_eq!(out.code, 2, "{extra:?}: {}", out.stderr);
    }
    assert!(!agent.path().join(".instar/doctor").exists());
}

/// The lines of the README's code block whose first line starts with `first`.
fn readme_block(first: &str) -> String {
    let readme = fs::read_to_string(repo_root().join("README.md")).unwrap();
    let start = readme
        .find(&format!("\n{first}"))
        .unwrap_or_else(|| panic!("the README has a block starting {first:?}"));
    let body = &readme[start + 1..];
    body[..body.find("\n```").expect("the block ends")].to_string()
}

/// A home folder holding `agents/echo`, a copy of a fixture agent whose boot wrapper
/// (`instar-boot.sh`) and node link (`bin/node`) are recording stand-ins.
fn home_with_echo(case: &str) -> (tempfile::TempDir, PathBuf) {
    let home = tempfile::tempdir().unwrap();
    let echo = fs::canonicalize(home.path()).unwrap().join("agents/echo");
    fs::create_dir_all(&echo).unwrap();
    let status = Command::new("cp")
        .arg("-a")
        .arg(fixtures().join(case).join(".instar"))
        .arg(&echo)
        .status()
        .unwrap();
    assert!(status.success());
    let state = echo.join(".instar");
    recording_program(&state.join("instar-boot.sh"), &state.join("booted"));
    fs::create_dir_all(state.join("bin")).unwrap();
    recording_program(&state.join("bin/node"), &state.join("booted"));
    (home, echo)
}

#[test]
fn the_readme_launchd_arguments_are_what_hook_install_writes_and_they_preflight_then_exec() {
    const DOCTOR: &str = "/usr/local/bin/instar-doctor";
    const ECHO: &str = "/Users/you/agents/echo";
    let block = readme_block("<!-- launchd:");
    let array = &block[block.find("<array>").unwrap()..];
    // The snippet is ProgramArguments' value: inside a whole plist, it must be a valid one.
    let plist = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<plist version=\"1.0\"><dict><key>Label</key><string>ai.instar.echo</string><key>ProgramArguments</key>{array}</dict></plist>\n"
    );
    let xml = roxmltree::Document::parse(&plist).expect("the plist is XML");
    let args: Vec<String> = xml
        .descendants()
        .filter(|n| n.has_tag_name("string"))
        .skip(1) // the Label
        .map(|n| n.text().unwrap_or_default().to_string())
        .collect();
    if let Ok(out) = Command::new("python3")
        .args(["-c", "import plistlib, sys, json; print(json.dumps(plistlib.loads(sys.stdin.buffer.read())['ProgramArguments']))"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .and_then(|mut child| {
            use std::io::Write;
            child.stdin.take().unwrap().write_all(plist.as_bytes())?;
            child.wait_with_output()
        })
    {
        assert!(out.status.success(), "plistlib rejects it: {}", String::from_utf8_lossy(&out.stderr));
        let parsed: Vec<String> = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(parsed, args, "plistlib reads the same arguments");
    }
    // Exactly what `hook install --preflight` writes for that doctor and agent.
    let instar = args[3..].to_vec();
    assert_eq!(
        args,
        instar_doctor::preflight::launchd::wrap(Path::new(DOCTOR), Path::new(ECHO), &instar)
    );

    // A repairable agent: the preflight fixes it, then node replaces the shell.
    let (home, echo) = home_with_echo("preflight/jobs-bom");
    let here = |a: &String| {
        a.replace(DOCTOR, env!("CARGO_BIN_EXE_instar-doctor"))
            .replace(ECHO, echo.to_str().unwrap())
    };
    let args: Vec<String> = args.iter().map(here).collect();
    let (pid, out) = launch(&args, home.path());
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let booted = fs::read_to_string(echo.join(".instar/booted")).expect("node ran");
    let mut booted = booted.lines();
    assert_eq!(
        booted.next().unwrap(),
        pid.to_string(),
        "exec: node is launchd's process"
    );
    let expected: Vec<String> = instar[1..].iter().map(here).collect();
    assert_eq!(
        booted.collect::<Vec<_>>(),
        expected,
        "with instar's arguments"
    );
    assert_eq!(record(&echo)["status"], "fixed");

    // One the preflight cannot repair: node never starts, launchd sees exit 1.
    let (home, echo) = home_with_echo("preflight/identity-truncated");
    let args: Vec<String> = args
        .iter()
        .map(|a| a.replace(&args[args.len() - 1], echo.to_str().unwrap()))
        .collect();
    let out = Command::new(&args[0])
        .args(&args[1..])
        .env("HOME", home.path())
        .env("INSTAR_DOCTOR_NOW", NOW)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(!echo.join(".instar/booted").exists());
}

#[test]
fn the_readme_systemd_unit_verifies_and_its_preflight_line_runs() {
    let block = readme_block("# systemd:");
    let (_home, echo) = home_with_echo("preflight/jobs-bom");
    let unit = block
        .replace(
            "/usr/local/bin/instar-doctor",
            env!("CARGO_BIN_EXE_instar-doctor"),
        )
        .replace("/srv/agents/echo", echo.to_str().unwrap());
    let pre = unit
        .lines()
        .find_map(|l| l.strip_prefix("ExecStartPre="))
        .expect("an ExecStartPre line");
    let start = unit
        .lines()
        .find_map(|l| l.strip_prefix("ExecStart="))
        .expect("an ExecStart line");
    assert!(unit.lines().any(|l| l == "[Service]"), "{unit}");
    // systemd runs ExecStartPre's words as a command (no shell): so does the test.
    let out = run_unit_command(pre);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(record(&echo)["status"], "fixed");
    assert!(
        Path::new(start).is_file(),
        "ExecStart names the boot wrapper"
    );

    // systemd's own parser, where it is installed.
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("instar-echo.service");
    fs::write(&file, &unit).unwrap();
    match systemd_verify(&file) {
        Some(complaints) => assert!(complaints.is_empty(), "{complaints:#?}"),
        None => eprintln!("systemd-analyze is not installed: the unit was checked by hand only"),
    }
}

#[test]
fn the_readme_boot_wrapper_line_stops_a_blocked_boot() {
    let line = readme_block("In a boot wrapper you maintain yourself")
        .split('`')
        .nth(1)
        .expect("the line is quoted")
        .to_string();
    let bin_dir = Path::new(env!("CARGO_BIN_EXE_instar-doctor"))
        .parent()
        .unwrap();
    let path = format!("{}:/usr/bin:/bin", bin_dir.display());
    for (case, code, starts) in [
        ("preflight/jobs-bom", 0, true),
        ("preflight/identity-truncated", 1, false),
    ] {
        let (_home, echo) = home_with_echo(case);
        let wrapper = format!("{line}\nexec \"$PROJECT_DIR/.instar/instar-boot.sh\"\n");
        let out = Command::new("/bin/sh")
            .args(["-c", &wrapper])
            .env("PATH", &path)
            .env("PROJECT_DIR", &echo)
            .env("INSTAR_DOCTOR_NOW", NOW)
            .output()
            .unwrap();
        assert_eq!(
            out.status.code(),
            Some(code),
            "{case}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(echo.join(".instar/booted").exists(), starts, "{case}");
    }
}

//! Helpers shared by the CLI tests: run the real binary with a fixed clock and no colour, and
//! make its output independent of where the checkout lives.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;

/// The clock every test runs at, so that one-shot dates and `?` are reproducible.
pub const NOW: &str = "2026-11-24T12:00:00Z";

pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub fn fixtures() -> PathBuf {
    repo_root().join("fixtures")
}

pub struct Output {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl From<std::process::Output> for Output {
    fn from(output: std::process::Output) -> Self {
        Output {
            code: output.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        }
    }
}

/// Every fixture case, `fixtures/<area>/<case>/` holding a `.instar/`, in a stable order.
pub fn fixture_cases() -> Vec<PathBuf> {
    let mut cases = Vec::new();
    for group in sorted_dirs(&fixtures()) {
        for case in sorted_dirs(&group) {
            if case.join(".instar").symlink_metadata().is_ok() {
                cases.push(case);
            }
        }
    }
    cases
}

fn sorted_dirs(dir: &Path) -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| p.is_dir())
        .collect();
    dirs.sort();
    dirs
}

/// A case's argument variants: one per line of its `args` file, else one without arguments.
pub fn variants(case: &Path) -> Vec<Vec<String>> {
    match std::fs::read_to_string(case.join("args")) {
        Ok(text) => text
            .lines()
            .map(|l| l.split_whitespace().map(str::to_string).collect())
            .collect(),
        Err(_) => vec![Vec::new()],
    }
}

/// The codes of a `--format json` run's findings (the document is validated on the way).
pub fn codes_of(out: &Output) -> Vec<String> {
    let doc = assert_valid_json_output(&out.stdout);
    doc["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["code"].as_str().unwrap().to_string())
        .collect()
}

/// A jobs.json of `count` valid jobs behind a BOM (its one safe fix), each prompt `value_len`
/// bytes long: large enough that a fix run can be caught mid-way.
pub fn jobs_with_bom(count: usize, value_len: usize) -> Vec<u8> {
    let mut jobs = String::from("\u{feff}[\n");
    for i in 0..count {
        if i > 0 {
            jobs.push_str(",\n");
        }
        jobs.push_str(&format!(
            "  {{\"slug\": \"job-{i}\", \"name\": \"J\", \"description\": \"d\", \"schedule\": \"0 * * * *\", \"priority\": \"low\", \"enabled\": true, \"execute\": {{\"type\": \"prompt\", \"value\": \"{}\"}}, \"grounding\": {{\"requiresIdentity\": false}}}}",
            "x".repeat(value_len)
        ));
    }
    jobs.push_str("\n]\n");
    jobs.into_bytes()
}

/// Runs `instar-doctor` with `args` in `cwd`, in CI-like conditions (no terminal, no colour, a
/// fixed width so nothing depends on the terminal the tests run in).
pub fn run_in(cwd: &Path, args: &[&str]) -> Output {
    run_with_env(cwd, args, &[])
}

/// `run_in` with extra environment variables. `GITHUB_WORKSPACE` is cleared unless given: the
/// suite may itself run under GitHub Actions, and the variable moves every GitHub and SARIF
/// location.
pub fn run_with_env(cwd: &Path, args: &[&str], vars: &[(&str, &str)]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_instar-doctor"));
    command
        .args(args)
        .current_dir(cwd)
        .env("INSTAR_DOCTOR_NOW", NOW)
        .env("NO_COLOR", "1")
        .env("COLUMNS", "80")
        .env("CI", "true")
        // The machine area reads ~/.instar: never the real one of whoever runs the tests.
        .env("HOME", repo_root().join("tests/no-such-home"))
        .env_remove("CLICOLOR_FORCE")
        .env_remove("GITHUB_WORKSPACE");
    for (key, value) in vars {
        command.env(key, value);
    }
    command.output().expect("the binary runs").into()
}

pub fn run(args: &[&str]) -> Output {
    run_in(&repo_root(), args)
}

/// Replaces machine-specific paths with stable placeholders.
pub fn normalize(text: &str, case_dir: &Path) -> String {
    normalize_under(text, case_dir, &fixtures())
}

/// `normalize` for a copy of the fixtures elsewhere.
pub fn normalize_under(text: &str, case_dir: &Path, fixtures_dir: &Path) -> String {
    text.replace(&case_dir.display().to_string(), "[CASE]")
        .replace(&fixtures_dir.display().to_string(), "[FIXTURES]")
}

/// Validates a JSON document against the published instar-doctor/v1 schema.
pub fn assert_valid_json_output(text: &str) -> serde_json::Value {
    let doc: serde_json::Value = serde_json::from_str(text).expect("stdout is one JSON document");
    let schema: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(repo_root().join("schema/doctor-v1.schema.json")).unwrap(),
    )
    .unwrap();
    let validator = jsonschema::validator_for(&schema).expect("the schema compiles");
    let errors: Vec<String> = validator
        .iter_errors(&doc)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect();
    assert!(errors.is_empty(), "schema violations: {errors:#?}\n{text}");
    doc
}

/// A private copy of a fixture agent's `.instar/` (modes kept), for runs that may write.
pub fn copy_fixture_agent(case: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    copy_state(&fixtures().join(case), dir.path());
    dir
}

/// Puts a copy of the project `from`'s `.instar/` (modes, links and times kept: `cp -a`) into the
/// project folder `to`, replacing the one there.
pub fn copy_state(from: &Path, to: &Path) {
    let _ = std::fs::remove_dir_all(to.join(".instar"));
    let status = Command::new("cp")
        .arg("-a")
        .arg(from.join(".instar"))
        .arg(to)
        .status()
        .unwrap();
    assert!(status.success(), "cp -a of {}/.instar", from.display());
}

/// The official SARIF 2.1.0 schema (vendored under tests/schemas), compiled.
pub fn sarif_validator() -> jsonschema::Validator {
    let mut schema: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(repo_root().join("tests/schemas/sarif-2.1.0-rtm.5.json")).unwrap(),
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

pub fn escape_stray_brackets(value: &mut serde_json::Value) -> usize {
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

/// A program that writes its pid and then each argument, one a line, to `record`: a test sees
/// that it ran, with what, and whether it replaced the process that started it (`exec`).
pub fn recording_program(path: &Path, record: &Path) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::write(
        path,
        format!(
            "#!/bin/sh\n{{ echo \"$$\"; for a in \"$@\"; do echo \"$a\"; done; }} > '{}'\n",
            record.display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).unwrap();
}

/// Runs a systemd `ExecStartPre=`/`ExecStart=` value the way systemd does: its words, no shell
/// (the tests' values hold no quoted word).
pub fn run_unit_command(value: &str) -> std::process::Output {
    let words: Vec<&str> = value.split_whitespace().collect();
    Command::new(words[0])
        .args(&words[1..])
        .env("INSTAR_DOCTOR_NOW", NOW)
        .output()
        .unwrap()
}

/// What `systemd-analyze verify` says about this unit file itself (complaints about the host's
/// other units left out); `None` when systemd-analyze is not installed.
pub fn systemd_verify(unit: &Path) -> Option<Vec<String>> {
    let out = Command::new("systemd-analyze")
        .args(["verify", "--man=no"])
        .arg(unit)
        .output()
        .ok()?;
    let name = unit.file_name()?.to_string_lossy().into_owned();
    Some(
        String::from_utf8_lossy(&out.stderr)
            .lines()
            .filter(|l| l.contains(&name))
            .map(str::to_string)
            .collect(),
    )
}

/// Runs launchd `ProgramArguments` as launchd does (argv as given, no shell) with this HOME;
/// returns the pid it started and how it ended.
pub fn launch(args: &[String], home: &Path) -> (u32, std::process::Output) {
    let child = Command::new(&args[0])
        .args(&args[1..])
        .env("HOME", home)
        .env("INSTAR_DOCTOR_NOW", NOW)
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id();
    (pid, child.wait_with_output().unwrap())
}

/// How a command meets the pseudo-terminal `on_a_terminal` runs it in; its stderr is always
/// there.
#[derive(Default)]
pub struct Terminal<'a> {
    /// stdin on the terminal (else /dev/null).
    pub stdin: bool,
    /// stdout on the terminal (else /dev/null).
    pub stdout: bool,
    /// The width the terminal reports (else none).
    pub columns: Option<u16>,
    /// Typed ahead, before the command reads anything.
    pub typed: &'a str,
    /// Typed, each with a newline, at each `Apply this fix [y,n,a,q,d,?]?` prompt in turn; a
    /// prompt more fails the test.
    pub answers: &'a [&'a str],
    /// The screen as a person reads it: escape sequences removed, CRLF made LF.
    pub plain: bool,
}

/// What a command did on the terminal.
pub struct Screen {
    pub code: i32,
    /// Every byte the terminal received (as text).
    pub text: String,
}

/// Runs `command` (its program, arguments, environment and working directory) in a real
/// pseudo-terminal, driven by tests/testdata/pty_session.py through python3's `pty`; None when
/// python3 is missing. The driver kills a command that hangs (60 s), so this never waits forever.
pub fn on_a_terminal(command: &Command, terminal: &Terminal) -> Option<Screen> {
    let mut driver = Command::new("python3");
    driver.arg(repo_root().join("tests/testdata/pty_session.py"));
    if !terminal.stdin {
        driver.args(["--stdin", "null"]);
    }
    if !terminal.stdout {
        driver.args(["--stdout", "null"]);
    }
    if let Some(columns) = terminal.columns {
        driver.arg("--columns").arg(columns.to_string());
    }
    if !terminal.typed.is_empty() {
        driver.args(["--type", terminal.typed]);
    }
    for answer in terminal.answers {
        driver.args(["--answer", answer]);
    }
    if terminal.plain {
        driver.arg("--plain");
    }
    driver
        .arg("--")
        .arg(command.get_program())
        .args(command.get_args());
    for (key, value) in command.get_envs() {
        match value {
            Some(value) => driver.env(key, value),
            None => driver.env_remove(key),
        };
    }
    if let Some(dir) = command.get_current_dir() {
        driver.current_dir(dir);
    }
    let out = match driver.output() {
        Ok(out) => out,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => return None,
        Err(err) => panic!("python3: {err}"),
    };
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.stderr.is_empty(),
        "the pty driver failed: {}\nthe terminal showed:\n{text}",
        String::from_utf8_lossy(&out.stderr)
    );
    Some(Screen {
        code: out.status.code().unwrap_or(-1),
        text,
    })
}

/// Makes a FIFO at `path` and starts a reader of everything written into it, as a pipe's
/// consumer would (`-o` naming a stream).
pub fn fifo_reader(path: &Path) -> std::thread::JoinHandle<String> {
    let made = Command::new("mkfifo").arg(path).status().unwrap();
    assert!(made.success(), "mkfifo {}", path.display());
    let path = path.to_path_buf();
    std::thread::spawn(move || std::fs::read_to_string(path).unwrap())
}

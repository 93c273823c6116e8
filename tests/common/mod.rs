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

/// Runs `instar-doctor` with `args` in `cwd`, in CI-like conditions (no terminal, no colour).
pub fn run_in(cwd: &Path, args: &[&str]) -> Output {
    let output = Command::new(env!("CARGO_BIN_EXE_instar-doctor"))
        .args(args)
        .current_dir(cwd)
        .env("INSTAR_DOCTOR_NOW", NOW)
        .env("NO_COLOR", "1")
        .env("COLUMNS", "80")
        .env("CI", "true")
        .env_remove("CLICOLOR_FORCE")
        .output()
        .expect("the binary runs");
    Output {
        code: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

pub fn run(args: &[&str]) -> Output {
    run_in(&repo_root(), args)
}

/// Replaces machine-specific paths with stable placeholders.
pub fn normalize(text: &str, case_dir: &Path) -> String {
    text.replace(&case_dir.display().to_string(), "[CASE]")
        .replace(&fixtures().display().to_string(), "[FIXTURES]")
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

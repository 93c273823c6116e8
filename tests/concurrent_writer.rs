//! Another writer's data is never lost (issue 10). instar may run beside a fix run
//! (`--allow-running`) and rewrite jobs.json or config.json at any moment. Whatever the moment,
//! the file ends up whole and holding the other writer's newest bytes (or our fix of exactly
//! those bytes): never an older version over a newer edit.
//!
//! The moments are made deterministic with the failpoints: `INSTAR_DOCTOR_RACE_AT=<n>` lands the
//! other writer's edit at the n-th step of the run, for every step in turn; and disk-full at the
//! commit forces a rollback after that edit, which must keep it.

mod common;

use std::fs;
use std::path::Path;
use std::process::Command;

use common::*;

struct Run {
    code: Option<i32>,
    stderr: String,
}

/// A fix run of the failpoint build with extra environment variables.
fn fix_run(project: &Path, vars: &[(&str, &str)]) -> Run {
    let mut command = Command::new(env!("CARGO_BIN_EXE_instar-doctor"));
    command
        .arg("--dir")
        .arg(project)
        .args(["--fix", "--allow-running", "-q"])
        .env("CI", "true")
        .env("NO_COLOR", "1")
        .env("INSTAR_DOCTOR_NOW", NOW);
    for (key, value) in vars {
        command.env(key, value);
    }
    let out = command.output().unwrap();
    Run {
        code: out.status.code(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// How many failpoints and data writes a clean run goes through.
fn steps_of(project: &Path) -> (usize, usize) {
    let dir = tempfile::tempdir().unwrap();
    let steps = dir.path().join("steps");
    let writes = dir.path().join("writes");
    let run = fix_run(
        project,
        &[
            ("INSTAR_DOCTOR_FAILPOINT_LOG", steps.to_str().unwrap()),
            ("INSTAR_DOCTOR_SPACE_LOG", writes.to_str().unwrap()),
        ],
    );
    assert!(matches!(run.code, Some(0 | 1)), "{}", run.stderr);
    let count = |p: &Path| fs::read_to_string(p).unwrap_or_default().lines().count();
    (count(&steps), count(&writes))
}

/// The two files instar rewrites while running, each with a BOM (a safe fix strips it) and the
/// newer bytes another writer puts there mid-run (valid, without a BOM).
fn setups() -> Vec<(&'static str, Vec<u8>, Vec<u8>)> {
    let jobs = jobs_with_bom(3, 10);
    let newer_jobs = String::from_utf8(jobs[3..].to_vec())
        .unwrap()
        .replace("job-1", "job-renamed-by-instar")
        .into_bytes();
    let config = b"\xEF\xBB\xBF{\n  \"projectName\": \"a\"\n}\n".to_vec();
    let newer_config = b"{\n  \"projectName\": \"edited by instar\"\n}\n".to_vec();
    vec![
        ("jobs.json", jobs, newer_jobs),
        ("config.json", config, newer_config),
    ]
}

fn agent(name: &str, bytes: &[u8]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    fs::create_dir_all(dir.path().join(".instar")).unwrap();
    fs::write(dir.path().join(".instar").join(name), bytes).unwrap();
    // The run touches only this file: a config.json is there for jobs.json's sake, 0600.
    if name != "config.json" {
        fs::write(dir.path().join(".instar/config.json"), b"{}\n").unwrap();
    }
    let config = dir.path().join(".instar/config.json");
    let mut perms = fs::metadata(&config).unwrap().permissions();
    std::os::unix::fs::PermissionsExt::set_mode(&mut perms, 0o600);
    fs::set_permissions(&config, perms).unwrap();
    dir
}

fn assert_parses(bytes: &[u8], context: &str) {
    let text = std::str::from_utf8(bytes).unwrap_or_else(|_| panic!("{context}: not UTF-8"));
    serde_json::from_str::<serde_json::Value>(text.trim_start_matches('\u{feff}'))
        .unwrap_or_else(|e| panic!("{context}: does not parse ({e}): {text}"));
}

/// The other writer's edit lands at each step of the run in turn: the file always ends up with
/// exactly the other writer's bytes (its edit was the newest, and needs no fix), whole.
#[test]
fn an_edit_landing_at_any_step_of_a_fix_run_is_never_overwritten() {
    for (name, old, newer) in setups() {
        let template = agent(name, &old);
        let (steps, _) = steps_of(template.path());
        assert!(
            steps >= 6,
            "{name}: {steps} steps: is the failpoints feature on?"
        );
        let newer_file = tempfile::NamedTempFile::new().unwrap();
        fs::write(newer_file.path(), &newer).unwrap();
        for race_at in 1..=steps {
            let context = format!("{name}, other writer at step {race_at}");
            let dir = agent(name, &old);
            let target = dir.path().join(".instar").join(name);
            let at = race_at.to_string();
            let run = fix_run(
                dir.path(),
                &[
                    ("INSTAR_DOCTOR_RACE_AT", &at),
                    (
                        "INSTAR_DOCTOR_RACE_FROM",
                        newer_file.path().to_str().unwrap(),
                    ),
                    ("INSTAR_DOCTOR_RACE_TO", target.to_str().unwrap()),
                ],
            );
            assert!(run.code.is_some(), "{context}: the doctor died");
            let now = fs::read(&target).unwrap();
            assert_parses(&now, &context);
            assert!(
                now == newer,
                "{context}: the other writer's edit was lost (exit {:?}): {}\n{}",
                run.code,
                String::from_utf8_lossy(&now),
                run.stderr
            );
            // Said, whenever the run could not finish: one line, never a silent exit 2.
            if run.code == Some(2) {
                assert_eq!(run.stderr.lines().count(), 1, "{context}: {}", run.stderr);
            }
        }
    }
}

/// The other writer's edit lands after our rename, then the disk fills up at the commit, so the
/// run rolls back: the rollback keeps the other writer's file (it no longer holds what we
/// wrote), says so, and keeps our copy of the old bytes in the run folder.
#[test]
fn a_rollback_keeps_an_edit_made_after_the_run_wrote() {
    for (name, old, newer) in setups() {
        let template = agent(name, &old);
        let (steps, writes) = steps_of(template.path());
        let newer_file = tempfile::NamedTempFile::new().unwrap();
        fs::write(newer_file.path(), &newer).unwrap();
        let mut kept_seen = false;
        for race_at in 1..=steps {
            let context = format!("{name}, other writer at step {race_at}, disk full at commit");
            let dir = agent(name, &old);
            let target = dir.path().join(".instar").join(name);
            let at = race_at.to_string();
            // The last write of a clean run is the committed manifest.
            let full = writes.to_string();
            let log = dir.path().join("steps");
            let run = fix_run(
                dir.path(),
                &[
                    ("INSTAR_DOCTOR_FAILPOINT_LOG", log.to_str().unwrap()),
                    ("INSTAR_DOCTOR_RACE_AT", &at),
                    (
                        "INSTAR_DOCTOR_RACE_FROM",
                        newer_file.path().to_str().unwrap(),
                    ),
                    ("INSTAR_DOCTOR_RACE_TO", target.to_str().unwrap()),
                    ("INSTAR_DOCTOR_ENOSPC_AT", &full),
                ],
            );
            let now = fs::read(&target).unwrap();
            assert_parses(&now, &context);
            assert!(run.code.is_some(), "{context}: the doctor died");
            // A failed commit changes the steps: the race may fall past the last one.
            let reached = fs::read_to_string(&log).unwrap().lines().count() >= race_at;
            let expected = if reached { &newer } else { &old };
            assert!(
                now == *expected,
                "{context} (reached: {reached}): neither the other writer's edit nor the old bytes: {}",
                run.stderr
            );
            if run.stderr.contains("kept as another writer left it") {
                kept_seen = true;
                assert_eq!(run.code, Some(2), "{context}");
                // Our copy of the old bytes is named, and is there.
                let copy = run
                    .stderr
                    .split("its bytes from before the run are in ")
                    .nth(1)
                    .and_then(|rest| rest.split(')').next())
                    .unwrap_or_else(|| panic!("{context}: no copy named: {}", run.stderr));
                assert_eq!(fs::read(dir.path().join(copy)).unwrap(), old, "{context}");
            }
        }
        assert!(
            kept_seen,
            "{name}: no step fell between our write and the commit"
        );
    }
}

/// Free-running: a thread rewrites jobs.json (with a BOM, so there is always a fix to make)
/// while fix runs follow one another. After each run the file parses and is one of the other
/// writer's versions or our fix of one; a run that had to roll back says what it kept.
#[test]
fn fix_runs_beside_a_busy_writer_never_leave_a_broken_or_foreign_file() {
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::Arc;
    let dir = agent("jobs.json", &jobs_with_bom(3, 10));
    let target = dir.path().join(".instar/jobs.json");
    let version = |k: usize| {
        String::from_utf8(jobs_with_bom(3, 10))
            .unwrap()
            .replace("job-1", &format!("job-version-{k}"))
            .into_bytes()
    };
    let stop = Arc::new(AtomicBool::new(false));
    let writer = {
        let (stop, target) = (stop.clone(), target.clone());
        std::thread::spawn(move || {
            let mut k = 0;
            while !stop.load(Ordering::Relaxed) {
                k += 1;
                let temp = target.with_extension("instar-writer");
                fs::write(&temp, version(k)).unwrap();
                fs::rename(&temp, &target).unwrap();
                std::thread::sleep(std::time::Duration::from_millis(3));
            }
            k
        })
    };
    for round in 0..12 {
        let run = fix_run(dir.path(), &[]);
        let now = fs::read(&target).unwrap();
        assert_parses(&now, &format!("round {round}"));
        let text = String::from_utf8(now).unwrap();
        assert!(
            text.contains("job-version-") || text.contains("job-1"),
            "round {round}: {text}"
        );
        if run.code == Some(2) {
            assert_eq!(
                run.stderr.lines().count(),
                1,
                "round {round}: {}",
                run.stderr
            );
        }
    }
    stop.store(true, Ordering::Relaxed);
    let last = writer.join().unwrap();
    // Once the writer stopped, a last run fixes its newest version and nothing older.
    let run = fix_run(dir.path(), &[]);
    assert!(matches!(run.code, Some(0 | 1)), "{}", run.stderr);
    assert_eq!(fs::read(&target).unwrap(), version(last)[3..].to_vec());
}

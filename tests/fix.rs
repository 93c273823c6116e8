//! Fix runs end to end: every fixture fixed, fixed again (no change), and undone (byte-identical,
//! modes included); locking, refusals, and a crash-injection test.

mod common;

use std::collections::BTreeMap;
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Command;

use common::*;

/// Every file under `.instar/` except the doctor's own folder: bytes (or link target) and mode.
fn tree(project: &Path) -> BTreeMap<String, (Vec<u8>, u32)> {
    let mut out = BTreeMap::new();
    let mut stack = vec![project.join(".instar")];
    while let Some(dir) = stack.pop() {
        let Ok(entries) = fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            let rel = path.strip_prefix(project).unwrap().display().to_string();
            if rel == ".instar/doctor" {
                continue;
            }
            let meta = fs::symlink_metadata(&path).unwrap();
            if meta.file_type().is_symlink() {
                let target = fs::read_link(&path).unwrap();
                out.insert(rel, (target.display().to_string().into_bytes(), 0));
            } else if meta.is_dir() {
                stack.push(path);
            } else {
                out.insert(
                    rel,
                    (fs::read(&path).unwrap(), meta.permissions().mode() & 0o7777),
                );
            }
        }
    }
    out
}

fn copy_fixture(case: &Path) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let status = Command::new("cp")
        .arg("-a")
        .arg(case.join(".instar"))
        .arg(dir.path())
        .status()
        .unwrap();
    assert!(status.success());
    dir
}

fn doctor(project: &Path, extra: &[String], args: &[&str]) -> Output {
    let dir = project.to_str().unwrap().to_string();
    let mut all: Vec<&str> = vec!["--dir", &dir];
    // A case's extra arguments (`--instar-version …`) are check-run options: `undo` refuses them.
    if args.first() != Some(&"undo") {
        all.extend(extra.iter().map(String::as_str));
    }
    all.extend_from_slice(args);
    run(&all)
}

fn codes(project: &Path, extra: &[String]) -> Vec<String> {
    codes_of(&doctor(project, extra, &["--format", "json"]))
}

/// For every fixture: --fix (safe, then with unsafe fixes) removes what it applied, a second run
/// changes no byte, and undo restores the original tree exactly.
#[test]
fn every_fixture_fixes_idempotently_and_undoes_exactly() {
    for case in fixture_cases() {
        let extra = variants(&case).into_iter().next().unwrap_or_default();
        for unsafe_fixes in [false, true] {
            let agent = copy_fixture(&case);
            let project = agent.path();
            let original = tree(project);
            let before =
                assert_valid_json_output(&doctor(project, &extra, &["--format", "json"]).stdout);
            // When every finding at the default threshold has a safe fix, --fix leaves none.
            let all_safe = before["diagnostics"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|d| d["severity"] == "error")
                .all(|d| d["fix"]["applicability"] == "safe");
            let mut args = vec!["--fix", "--format", "json"];
            if unsafe_fixes {
                args.push("--unsafe-fixes");
            }
            let first = doctor(project, &extra, &args);
            assert_ne!(
                first.code,
                2,
                "{} failed: {}{}",
                case.display(),
                first.stdout,
                first.stderr
            );
            let doc = assert_valid_json_output(&first.stdout);
            let applied: Vec<String> = doc["diagnostics"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|d| d["fix"]["status"] == "applied")
                .map(|d| d["code"].as_str().unwrap().to_string())
                .collect();
            assert_eq!(
                doc["summary"]["fixed"].as_u64().unwrap() as usize,
                applied.len()
            );
            if all_safe && !unsafe_fixes {
                assert_eq!(
                    first.code,
                    0,
                    "{}: every error had a safe fix",
                    case.display()
                );
            }
            // A fixpoint: nothing this run could apply is left proposed. (Findings a fix had masked,
            // like this machine's entry behind `machines: []`, may appear and be fixed too.)
            let applicable = |d: &serde_json::Value| {
                d["fix"]["status"] == "proposed"
                    && (d["fix"]["applicability"] == "safe"
                        || (unsafe_fixes && d["fix"]["applicability"] == "unsafe"))
            };
            let left: Vec<&serde_json::Value> = doc["diagnostics"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|d| applicable(d) && applied.iter().any(|c| d["code"] == c.as_str()))
                .collect();
            assert!(
                left.is_empty(),
                "{}: applicable fixes left: {left:#?}",
                case.display()
            );
            let fixed = tree(project);

            let second = doctor(project, &extra, &args);
            assert_ne!(second.code, 2, "{}", second.stderr);
            assert_eq!(
                tree(project),
                fixed,
                "a second --fix changed {}",
                case.display()
            );
            let doc = assert_valid_json_output(&second.stdout);
            assert_eq!(doc["summary"]["fixed"], 0, "{}", case.display());

            if applied.is_empty() {
                assert_eq!(
                    fixed,
                    original,
                    "nothing applied, nothing changed: {}",
                    case.display()
                );
                let undo = doctor(project, &extra, &["undo"]);
                assert_eq!(
                    undo.code,
                    2,
                    "{}: a run was recorded though nothing was applied: {}",
                    case.display(),
                    first.stdout
                );
                continue;
            }
            let undo = doctor(project, &extra, &["undo"]);
            assert_eq!(undo.code, 0, "{}: {}", case.display(), undo.stderr);
            assert_eq!(
                tree(project),
                original,
                "undo of {} is not exact",
                case.display()
            );
        }
    }
}

#[test]
fn safe_fixes_of_the_broken_example_leave_the_rest_byte_identical() {
    let agent = copy_fixture(&fixtures().join("examples/broken-agent"));
    let project = agent.path();
    let jobs = project.join(".instar/jobs.json");
    let before = fs::read_to_string(&jobs).unwrap();
    assert_eq!(
        doctor(project, &[], &["--fix"]).code,
        1,
        "unsafe findings remain"
    );
    let after = fs::read_to_string(&jobs).unwrap();
    // The only change: the trailing space of one schedule.
    assert_eq!(
        after,
        before.replacen("\"30 22 * * * \"", "\"30 22 * * *\"", 1)
    );
    let left = codes(project, &[]);
    assert!(!left.contains(&"jobs/invalid-cron".to_string()));
    assert!(!left.contains(&"jobs/stray-temp-file".to_string()));
    let quarantined = project.join(".instar/doctor/quarantine");
    assert!(quarantined.exists());
    let gitignore = fs::read_to_string(project.join(".instar/doctor/.gitignore")).unwrap();
    assert_eq!(gitignore, "*\n");
}

#[test]
fn a_second_doctor_is_locked_out() {
    let agent = copy_fixture(&fixtures().join("examples/broken-agent"));
    let project = agent.path();
    fs::create_dir_all(project.join(".instar/doctor")).unwrap();
    let held = fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(project.join(".instar/doctor/lock"))
        .unwrap();
    held.lock().unwrap();
    let before = tree(project);
    let out = doctor(project, &[], &["--fix"]);
    assert_eq!(out.code, 2);
    assert!(out.stderr.contains("lock"), "{}", out.stderr);
    assert_eq!(tree(project), before, "a locked-out doctor writes nothing");
    // A plain check does not take the lock.
    assert_eq!(doctor(project, &[], &[]).code, 1);
}

#[test]
fn fixes_refuse_while_instar_runs_unless_allowed() {
    let agent = copy_fixture(&fixtures().join("examples/broken-agent"));
    let project = agent.path();
    fs::create_dir_all(project.join(".instar/state")).unwrap();
    // This test process is alive: it stands in for instar's lifeline.
    fs::write(
        project.join(".instar/state/lifeline.lock"),
        format!("{{\"pid\": {}}}", std::process::id()),
    )
    .unwrap();
    let before = tree(project);
    let out = doctor(project, &[], &["--fix"]);
    assert_eq!(out.code, 2);
    assert!(out.stderr.contains("instar is running"));
    assert_eq!(tree(project), before);
    assert_eq!(doctor(project, &[], &["undo"]).code, 2);
    assert_ne!(doctor(project, &[], &["--fix", "--allow-running"]).code, 2);
}

#[test]
fn interactive_without_a_terminal_never_waits() {
    let agent = copy_fixture(&fixtures().join("examples/broken-agent"));
    let out = doctor(agent.path(), &[], &["-i"]);
    assert_eq!(out.code, 2);
    assert!(out.stderr.contains("--fix"), "{}", out.stderr);
}

#[test]
fn undo_refuses_after_later_edits_unless_forced() {
    let agent = copy_fixture(&fixtures().join("examples/broken-agent"));
    let project = agent.path();
    let original = tree(project);
    assert_eq!(doctor(project, &[], &["--fix"]).code, 1);
    let jobs = project.join(".instar/jobs.json");
    let mut edited = fs::read(&jobs).unwrap();
    edited.push(b'\n');
    fs::write(&jobs, &edited).unwrap();
    let out = doctor(project, &[], &["undo"]);
    assert_eq!(out.code, 2);
    assert_eq!(
        fs::read(&jobs).unwrap(),
        edited,
        "a refused undo changes nothing"
    );
    assert_eq!(doctor(project, &[], &["undo", "--force"]).code, 0);
    assert_eq!(tree(project), original);
}

#[test]
fn symlinks_that_leave_the_project_are_not_written_through() {
    let outside = tempfile::tempdir().unwrap();
    let target = outside.path().join("jobs.json");
    fs::write(&target, b"\xEF\xBB\xBF[]").unwrap();
    let agent = tempfile::tempdir().unwrap();
    fs::create_dir_all(agent.path().join(".instar")).unwrap();
    std::os::unix::fs::symlink(&target, agent.path().join(".instar/jobs.json")).unwrap();
    let out = doctor(agent.path(), &[], &["--fix", "--format", "json"]);
    let doc = assert_valid_json_output(&out.stdout);
    assert!(doc["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .any(|d| d["fix"]["status"] == "failed"));
    assert_eq!(fs::read(&target).unwrap(), b"\xEF\xBB\xBF[]");
}

/// kill -9 at random moments of a fix of a large jobs.json: the file is always either the old or
/// the new version, never a mix, and always parses as one or the other.
#[test]
fn a_killed_fix_never_leaves_a_half_written_file() {
    let old = jobs_with_bom(30_000, 200);
    let new = old[3..].to_vec();
    let mut seed: u64 = 0x5eed;
    for round in 0..8 {
        let agent = tempfile::tempdir().unwrap();
        let state = agent.path().join(".instar");
        fs::create_dir_all(&state).unwrap();
        fs::write(state.join("jobs.json"), &old).unwrap();
        seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        let delay_ms = (seed >> 33) % 400;
        let mut child = Command::new(env!("CARGO_BIN_EXE_instar-doctor"))
            .args(["--dir", agent.path().to_str().unwrap(), "--fix", "-q"])
            .env("CI", "true")
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(std::time::Duration::from_millis(delay_ms));
        let _ = child.kill(); // SIGKILL
        let _ = child.wait();
        let now = fs::read(state.join("jobs.json")).unwrap();
        assert!(
            now == old || now == new,
            "round {round} (kill after {delay_ms} ms): jobs.json is neither the old nor the new version"
        );
        // Whatever was left, a later run finishes the job and the file parses; a temp file the
        // killed run left behind is swept into the quarantine.
        let out = run(&["--dir", agent.path().to_str().unwrap(), "--fix", "-q"]);
        assert_ne!(out.code, 2, "{}", out.stderr);
        assert_eq!(fs::read(state.join("jobs.json")).unwrap(), new);
        let leftovers: Vec<_> = fs::read_dir(&state)
            .unwrap()
            .flatten()
            .filter(|e| e.file_name().to_string_lossy().contains(".instar-doctor."))
            .collect();
        assert!(leftovers.is_empty(), "round {round}: {leftovers:?}");
    }
}

/// Ctrl-C during a fix run: the run puts back what it wrote and exits 130; if the signal comes
/// too late, the run has finished. Never anything in between.
#[test]
fn an_interrupted_fix_rolls_back_and_exits_130() {
    let old = jobs_with_bom(30_000, 100);
    let new = old[3..].to_vec();
    let mut seen_interrupt = false;
    for delay_ms in [50u64, 150, 300, 450, 600, 900] {
        let agent = tempfile::tempdir().unwrap();
        let state = agent.path().join(".instar");
        fs::create_dir_all(&state).unwrap();
        fs::write(state.join("jobs.json"), &old).unwrap();
        let child = Command::new(env!("CARGO_BIN_EXE_instar-doctor"))
            .args([
                "--dir",
                agent.path().to_str().unwrap(),
                "--fix",
                "-q",
                "--select",
                "jobs",
            ])
            .env("CI", "true")
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(std::time::Duration::from_millis(delay_ms));
        let _ = Command::new("kill")
            .args(["-INT", &child.id().to_string()])
            .status();
        let status = child.wait_with_output().unwrap().status;
        let now = fs::read(state.join("jobs.json")).unwrap();
        match status.code() {
            Some(130) => {
                seen_interrupt = true;
                assert!(
                    now == old,
                    "after {delay_ms} ms: an interrupted run must put the file back"
                );
                let runs = state.join("doctor/runs");
                let recorded = fs::read_dir(&runs).map(|d| d.count()).unwrap_or(0);
                assert_eq!(recorded, 0, "an interrupted run records nothing");
            }
            Some(0) | Some(1) => assert!(
                now == new,
                "after {delay_ms} ms: a finished run leaves the new file"
            ),
            // Killed by the signal before the handler was installed: nothing was written yet.
            None => assert!(now == old, "after {delay_ms} ms: killed before writing"),
            other => panic!("after {delay_ms} ms: unexpected exit {other:?}"),
        }
    }
    assert!(
        seen_interrupt,
        "no delay caught the run in progress: make the corpus larger"
    );
}

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
    copy_state(case, dir.path());
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
    // This test process is alive: it stands in for instar's lifeline, which holds
    // .instar/lifeline.lock (not state/lifeline.lock, a path only instar's supervisor deletes).
    fs::write(
        project.join(".instar/lifeline.lock"),
        format!("{{\"pid\": {}}}", std::process::id()),
    )
    .unwrap();
    let before = tree(project);
    let out = doctor(project, &[], &["--fix"]);
    assert_eq!(out.code, 2);
    assert!(
        out.stderr.contains("instar is running") && out.stderr.contains(".instar/lifeline.lock"),
        "{}",
        out.stderr
    );
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
    // --force restores the run's originals and keeps the later edit as a run of its own.
    let forced = doctor(project, &[], &["undo", "--force"]);
    assert_eq!(forced.code, 0, "{}", forced.stderr);
    assert_eq!(tree(project), original);
    let saved = forced
        .stdout
        .split("`instar-doctor undo ")
        .nth(1)
        .and_then(|rest| rest.split('`').next())
        .unwrap_or_else(|| panic!("no saved run named: {}", forced.stdout))
        .to_string();
    assert_eq!(doctor(project, &[], &["undo", &saved]).code, 0);
    assert_eq!(fs::read(&jobs).unwrap(), edited, "the later edit is back");
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

/// Files under `.instar/` that are not temp files of a doctor write (those are judged apart:
/// a killed write may leave one, and the next run sweeps it).
fn agent_files(project: &Path) -> BTreeMap<String, (Vec<u8>, u32)> {
    let mut files = tree(project);
    files.retain(|path, _| !path.contains(".instar-doctor."));
    files
}

/// Paths of doctor temp files anywhere under `.instar/`, the doctor's own folder included.
fn leftover_temp_files(project: &Path) -> Vec<String> {
    let mut found = Vec::new();
    let mut stack = vec![project.join(".instar")];
    while let Some(dir) = stack.pop() {
        for entry in fs::read_dir(&dir).into_iter().flatten().flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if entry.file_type().unwrap().is_dir() {
                stack.push(entry.path());
            } else if name.contains(".instar-doctor.") {
                found.push(entry.path().display().to_string());
            }
        }
    }
    found
}

/// The statuses of the recorded runs, from their manifests.
fn run_statuses(project: &Path) -> Vec<String> {
    let mut statuses = Vec::new();
    for entry in fs::read_dir(project.join(".instar/doctor/runs"))
        .into_iter()
        .flatten()
        .flatten()
    {
        if let Ok(bytes) = fs::read(entry.path().join("manifest.json")) {
            let m: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
            statuses.push(m["status"].as_str().unwrap_or("committed").to_string());
        }
    }
    statuses
}

/// Runs the doctor built with the `failpoints` feature, aborting at the `crash_at`-th step
/// (0: never), and returns the exit code (`None` when it died) and the steps it reached.
fn doctor_crashing(project: &Path, args: &[&str], crash_at: usize) -> (Option<i32>, Vec<String>) {
    let log = project.join("failpoints.log");
    let _ = fs::remove_file(&log);
    let status = Command::new(env!("CARGO_BIN_EXE_instar-doctor"))
        .arg("--dir")
        .arg(project)
        .args(args)
        .env("CI", "true")
        .env("INSTAR_DOCTOR_NOW", NOW)
        .env("INSTAR_DOCTOR_FAILPOINT_LOG", &log)
        .env("INSTAR_DOCTOR_CRASH_AT", crash_at.to_string())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .unwrap();
    let steps = fs::read_to_string(&log)
        .unwrap_or_default()
        .lines()
        .map(str::to_string)
        .collect();
    let _ = fs::remove_file(&log);
    (status.code(), steps)
}

/// Replaces `project`'s `.instar/` with a fresh copy of the case's, at the same path (fixes
/// write the project's absolute path into files, so trees compare only at one path).
fn refresh(project: &Path, case: &Path) {
    copy_state(case, project);
}

/// The paths where two trees differ (bytes or mode): a readable assertion message.
fn differing(
    a: &BTreeMap<String, (Vec<u8>, u32)>,
    b: &BTreeMap<String, (Vec<u8>, u32)>,
) -> Vec<String> {
    let paths: std::collections::BTreeSet<&String> = a.keys().chain(b.keys()).collect();
    paths
        .into_iter()
        .filter(|p| a.get(*p) != b.get(*p))
        .cloned()
        .collect()
}

/// Each file is whole, and either what it was before the run or what the run makes of it.
fn assert_each_file_old_or_new(
    now: &BTreeMap<String, (Vec<u8>, u32)>,
    old: &BTreeMap<String, (Vec<u8>, u32)>,
    new: &BTreeMap<String, (Vec<u8>, u32)>,
    context: &str,
) {
    let paths: std::collections::BTreeSet<&String> =
        now.keys().chain(old.keys()).chain(new.keys()).collect();
    for path in paths {
        let bytes = |t: &BTreeMap<String, (Vec<u8>, u32)>| t.get(path).map(|e| e.0.clone());
        let mode = |t: &BTreeMap<String, (Vec<u8>, u32)>| t.get(path).map(|e| e.1);
        assert!(
            bytes(now) == bytes(old) || bytes(now) == bytes(new),
            "{context}: {path} is neither its old nor its new content"
        );
        assert!(
            mode(now) == mode(old) || mode(now) == mode(new),
            "{context}: {path} has neither its old nor its new mode"
        );
    }
}

/// Deterministic crash injection: a fix run of a multi-file agent (edits of two files, a mode
/// change, a quarantined temp file, two files created) is aborted at each of its steps in turn
/// (backups, each temp write, each rename, between files, before and after the commit, inside
/// every manifest write). After each crash every file is old or new; a plain check reports
/// `doctor/interrupted-run` whenever the run had begun changing files and had not committed;
/// `--fix` rolls it back (saying so) and fixes again; `undo` gives back the original tree,
/// modes included.
#[test]
fn a_fix_run_killed_at_any_step_is_recovered_and_undone_exactly() {
    let case = fixtures().join("examples/broken-agent");
    let fix = ["--fix", "--unsafe-fixes", "-q"];
    let agent = tempfile::tempdir().unwrap();
    let project = agent.path();
    // A clean run: the old and new trees, and the steps it goes through.
    refresh(project, &case);
    let old = agent_files(project);
    let (code, steps) = doctor_crashing(project, &fix, 0);
    assert!(
        matches!(code, Some(0 | 1)),
        "the clean run finishes: {code:?}"
    );
    let new = agent_files(project);
    assert_ne!(old, new);
    for step in [
        "after-backups",
        "temp-written",
        "renamed",
        "between-files",
        "mode-set",
        "quarantined",
        "before-commit",
        "committed",
    ] {
        assert!(
            steps.iter().any(|s| s == step),
            "no {step} failpoint in {steps:?}: is the failpoints feature on?"
        );
    }
    // The commit is the rename of the committed manifest: "before-commit", then that write's
    // "temp-written" and "renamed" steps.
    let before_commit = steps.iter().position(|s| s == "before-commit").unwrap();
    assert_eq!(steps[before_commit + 2], "renamed");
    let committed_at = before_commit + 3;

    for crash_at in 1..=steps.len() {
        let context = format!("crash at step {crash_at} ({})", steps[crash_at - 1]);
        refresh(project, &case);
        let (code, _) = doctor_crashing(project, &fix, crash_at);
        assert_eq!(code, None, "{context}: the doctor was not killed");
        let after_crash = agent_files(project);
        assert_each_file_old_or_new(&after_crash, &old, &new, &context);

        let statuses = run_statuses(project);
        let committed = statuses.iter().any(|s| s == "committed");
        assert_eq!(
            committed,
            crash_at >= committed_at,
            "{context}: {statuses:?}"
        );
        let reported = codes(project, &[]).contains(&"doctor/interrupted-run".to_string());
        assert_eq!(
            reported,
            statuses.iter().any(|s| s == "in-progress"),
            "{context}: {statuses:?}"
        );
        if !committed {
            assert!(
                after_crash == old || reported,
                "{context}: files changed and nothing reports it"
            );
        }

        let recovery = doctor(project, &[], &["--fix", "--unsafe-fixes", "-q"]);
        assert_ne!(recovery.code, 2, "{context}: {}", recovery.stderr);
        assert_eq!(
            recovery.stderr.contains("rolled back fix run"),
            reported,
            "{context}: {}",
            recovery.stderr
        );
        assert!(
            agent_files(project) == new,
            "{context}: --fix did not finish: {:?}",
            differing(&agent_files(project), &new)
        );
        assert_eq!(
            leftover_temp_files(project),
            Vec::<String>::new(),
            "{context}"
        );
        assert!(!codes(project, &[]).contains(&"doctor/interrupted-run".to_string()));

        let undo = doctor(project, &[], &["undo"]);
        assert_eq!(undo.code, 0, "{context}: {}", undo.stderr);
        assert!(
            tree(project) == old,
            "{context}: undo is not exact: {:?}",
            differing(&tree(project), &old)
        );
    }
}

/// `undo` is a transaction too: killed at any of its steps, the next `undo` finishes the job.
#[test]
fn an_undo_killed_at_any_step_is_recovered_and_finished() {
    let case = fixtures().join("examples/broken-agent");
    let fix = ["--fix", "--unsafe-fixes", "-q"];
    let agent = tempfile::tempdir().unwrap();
    let project = agent.path();
    refresh(project, &case);
    let old = agent_files(project);
    assert_ne!(doctor(project, &[], &fix).code, 2);
    let new = agent_files(project);
    let (code, steps) = doctor_crashing(project, &["undo"], 0);
    assert_eq!(code, Some(0));
    assert!(
        tree(project) == old,
        "{:?}",
        differing(&tree(project), &old)
    );
    for crash_at in 1..=steps.len() {
        let context = format!("undo crash at step {crash_at} ({})", steps[crash_at - 1]);
        refresh(project, &case);
        assert_ne!(doctor(project, &[], &fix).code, 2);
        let (code, _) = doctor_crashing(project, &["undo"], crash_at);
        assert_eq!(code, None, "{context}: the doctor was not killed");
        assert_each_file_old_or_new(&agent_files(project), &new, &old, &context);
        let again = doctor(project, &[], &["undo"]);
        // Killed after its commit, the undo is done and a second one goes further back.
        if again.code == 2 {
            assert!(
                again.stderr.contains("no fix run to undo"),
                "{context}: {}",
                again.stderr
            );
        }
        assert!(
            tree(project) == old,
            "{context}: {}{:?}",
            again.stderr,
            differing(&tree(project), &old)
        );
        assert_eq!(
            leftover_temp_files(project),
            Vec::<String>::new(),
            "{context}"
        );
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
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        std::thread::sleep(std::time::Duration::from_millis(delay_ms));
        let _ = Command::new("kill")
            .args(["-INT", &child.id().to_string()])
            .status();
        let output = child.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        let now = fs::read(state.join("jobs.json")).unwrap();
        let statuses = run_statuses(agent.path());
        match output.status.code() {
            // Interrupted before the commit: everything put back, no committed run.
            Some(130) if now == old => {
                seen_interrupt = true;
                assert!(
                    !statuses.iter().any(|s| s == "committed"),
                    "after {delay_ms} ms: {statuses:?}"
                );
            }
            // Interrupted after the commit: still 130, the run kept, and said so.
            Some(130) => {
                seen_interrupt = true;
                assert!(now == new, "after {delay_ms} ms: neither old nor new");
                assert_eq!(statuses, ["committed"], "after {delay_ms} ms");
                assert!(stderr.contains("its changes are kept"), "{stderr}");
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

/// Every folder the doctor creates is 0700 and every file in it 0600, whatever the umask: a fix
/// run, an `undo --force` (which records a run of its own) and their quarantine, under the usual
/// 022 and under 000.
#[test]
fn the_doctor_folder_is_private_whatever_the_umask() {
    for umask in ["022", "000"] {
        let agent = copy_fixture(&fixtures().join("examples/broken-agent"));
        let project = agent.path();
        let run = |args: &str| {
            let status = Command::new("sh")
                .arg("-c")
                .arg(format!(
                    "umask {umask} && exec \"$0\" --dir \"$1\" {args} >/dev/null 2>&1"
                ))
                .arg(env!("CARGO_BIN_EXE_instar-doctor"))
                .arg(project)
                .env("CI", "true")
                .env("INSTAR_DOCTOR_NOW", NOW)
                .status()
                .unwrap();
            status.code()
        };
        assert_ne!(run("--fix --unsafe-fixes"), Some(2));
        let jobs = project.join(".instar/jobs.json");
        let mut edited = fs::read(&jobs).unwrap();
        edited.push(b'\n');
        fs::write(&jobs, &edited).unwrap();
        assert_eq!(run("undo --force"), Some(0));
        let mut stack = vec![project.join(".instar/doctor")];
        let mut seen = 0;
        while let Some(dir) = stack.pop() {
            let mode = fs::metadata(&dir).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o700, "umask {umask}: {}", dir.display());
            for entry in fs::read_dir(&dir).unwrap().flatten() {
                let meta = fs::symlink_metadata(entry.path()).unwrap();
                if meta.is_dir() {
                    stack.push(entry.path());
                } else {
                    seen += 1;
                    let mode = meta.permissions().mode() & 0o777;
                    assert_eq!(mode, 0o600, "umask {umask}: {}", entry.path().display());
                }
            }
        }
        assert!(seen > 5, "umask {umask}: the runs and quarantine are there");
    }
}

/// A refused command creates nothing: `undo` with no run to undo leaves no `.instar/doctor/`.
#[test]
fn a_refused_undo_creates_nothing() {
    let agent = copy_fixture(&fixtures().join("examples/broken-agent"));
    let project = agent.path();
    let out = doctor(project, &[], &["undo"]);
    assert_eq!(out.code, 2);
    assert!(out.stderr.contains("no fix run to undo"), "{}", out.stderr);
    assert!(!project.join(".instar/doctor").exists());
    let out = doctor(project, &[], &["undo", "20260101T000000Z-0001"]);
    assert_eq!(out.code, 2);
    assert!(!project.join(".instar/doctor").exists());
}

/// `--diff` shows one diff per file with all its fixes applied, and that diff is a real patch:
/// `git apply` on a copy of the agent writes exactly what `--fix --unsafe-fixes` writes (the
/// fixes here share no bytes, so one pass of `--fix` applies them all).
#[test]
fn the_diff_of_many_fixes_in_one_file_applies_like_the_fix_run() {
    let Ok(git) = Command::new("git").arg("--version").output() else {
        eprintln!("skipped: git is not installed");
        return;
    };
    assert!(git.status.success());
    let job = |i: usize, priority: &str, schedule: &str, enabled: &str| {
        format!(
            "  {{\n    \"slug\": \"job-{i}\",\n    \"name\": \"Job {i}\",\n    \"description\": \"Runs job {i}.\",\n    \"schedule\": \"{schedule}\",\n    \"priority\": \"{priority}\",\n    \"expectedDurationMinutes\": 3,\n    \"model\": \"haiku\",\n    \"enabled\": {enabled},\n    \"execute\": {{\n      \"type\": \"prompt\",\n      \"value\": \"Do job {i}.\"\n    }}\n  }}"
        )
    };
    // Problems close together (one hunk) and far apart (separate hunks), three kinds of fix.
    let jobs: Vec<String> = (0..40)
        .map(|i| match i % 7 {
            0 => job(i, "High", "0 9 * * *", "true"),
            1 => job(i, "low", "0 9 * * * ", "true"),
            3 => job(i, "low", "0 9 * * *", "\"true\""),
            _ => job(i, "low", "0 9 * * *", "true"),
        })
        .collect();
    let original = format!("[\n{}\n]\n", jobs.join(",\n"));
    let with_diff = tempfile::tempdir().unwrap();
    let with_fix = tempfile::tempdir().unwrap();
    for dir in [&with_diff, &with_fix] {
        fs::create_dir_all(dir.path().join(".instar")).unwrap();
        fs::write(dir.path().join(".instar/jobs.json"), &original).unwrap();
    }
    let select = ["--select", "jobs", "--unsafe-fixes"];
    let diff = doctor(with_diff.path(), &[], &[&select[..], &["--diff"]].concat());
    assert_eq!(diff.code, 1, "{}", diff.stderr);
    assert_eq!(
        diff.stdout.matches("--- a/.instar/jobs.json").count(),
        1,
        "{}",
        diff.stdout
    );
    assert!(diff.stdout.contains("(6 fixes)"), "{}", diff.stdout);
    assert!(!diff.stdout.contains("[redacted]"), "{}", diff.stdout);
    let patch = with_diff.path().join("fix.patch");
    fs::write(&patch, &diff.stdout).unwrap();
    let applied = Command::new("git")
        .args(["apply", "--unsafe-paths"])
        .arg(&patch)
        .current_dir(with_diff.path())
        .output()
        .unwrap();
    assert!(
        applied.status.success(),
        "git apply refused the diff: {}\n{}",
        String::from_utf8_lossy(&applied.stderr),
        diff.stdout
    );
    let fixed = doctor(with_fix.path(), &[], &[&select[..], &["--fix"]].concat());
    assert_eq!(fixed.code, 0, "{}{}", fixed.stdout, fixed.stderr);
    let after_fix = fs::read_to_string(with_fix.path().join(".instar/jobs.json")).unwrap();
    let after_patch = fs::read_to_string(with_diff.path().join(".instar/jobs.json")).unwrap();
    assert_ne!(after_fix, original);
    assert_eq!(after_patch, after_fix);
}

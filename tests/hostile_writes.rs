//! A tree someone else wrote cannot make a fix run or `undo` write outside the project, write
//! through a link, or hang (issue 10, "Writes go only where they should" and the write-path part
//! of "Nothing hangs"). Every set-up plants its trap in a fresh copy of a fixture and keeps a
//! sentinel file outside the project whose bytes and mtime must not change, and whose folder must
//! not gain an entry.

mod common;

use std::fs;
use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant, SystemTime};

use common::*;

/// A folder outside the project holding one file; `assert_untouched` proves nothing was written
/// there (not the file, not a new entry).
struct Outside {
    dir: tempfile::TempDir,
    bytes: Vec<u8>,
    mtime: SystemTime,
}

impl Outside {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let bytes = b"\xEF\xBB\xBF[]\n".to_vec();
        fs::write(dir.path().join("sentinel"), &bytes).unwrap();
        // An mtime in the past, so a rewrite within the same second is still seen.
        let old = SystemTime::now() - Duration::from_secs(3600);
        let file = fs::File::options()
            .write(true)
            .open(dir.path().join("sentinel"))
            .unwrap();
        file.set_modified(old).unwrap();
        let mtime = fs::metadata(dir.path().join("sentinel"))
            .unwrap()
            .modified()
            .unwrap();
        Outside { dir, bytes, mtime }
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    fn sentinel(&self) -> PathBuf {
        self.dir.path().join("sentinel")
    }

    fn entries(&self) -> Vec<String> {
        let mut names: Vec<String> = fs::read_dir(self.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    fn assert_untouched(&self, context: &str, expected_entries: &[&str]) {
        let meta = fs::symlink_metadata(self.sentinel()).unwrap();
        assert!(meta.is_file(), "{context}: the sentinel is still a file");
        assert_eq!(
            fs::read(self.sentinel()).unwrap(),
            self.bytes,
            "{context}: the sentinel's bytes changed"
        );
        assert_eq!(
            meta.modified().unwrap(),
            self.mtime,
            "{context}: the sentinel was rewritten"
        );
        assert_eq!(
            self.entries(),
            expected_entries,
            "{context}: something was created outside the project"
        );
    }
}

/// Every entry under `root` (links not followed): path, kind and bytes or link target.
fn snapshot(root: &Path) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in fs::read_dir(&dir).into_iter().flatten().flatten() {
            let path = entry.path();
            let rel = path.strip_prefix(root).unwrap().display().to_string();
            let kind = entry.file_type().unwrap();
            let what = if kind.is_symlink() {
                format!("link {}", fs::read_link(&path).unwrap().display())
            } else if kind.is_dir() {
                stack.push(path);
                "dir".to_string()
            } else if kind.is_file() {
                // A digest keeps assertion messages readable.
                let bytes = fs::read(&path).unwrap();
                let digest = bytes.iter().fold(0xcbf29ce484222325u64, |h, b| {
                    (h ^ u64::from(*b)).wrapping_mul(0x100000001b3)
                });
                format!("file {} bytes {digest:016x}", bytes.len())
            } else {
                "special".to_string()
            };
            out.push((rel, what));
        }
    }
    out.sort();
    out
}

/// Runs the doctor, killing it (and failing) if it has not finished in 30 s: a FIFO opened
/// without O_NONBLOCK would block it forever.
fn doctor(project: &Path, args: &[&str]) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_instar-doctor"))
        .arg("--dir")
        .arg(project)
        .args(args)
        .env("CI", "true")
        .env("NO_COLOR", "1")
        .env("INSTAR_DOCTOR_NOW", NOW)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let start = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if start.elapsed() > Duration::from_secs(30) {
            let _ = child.kill();
            let _ = child.wait();
            panic!("instar-doctor {args:?} hung for 30 s");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    child.wait_with_output().unwrap().into()
}

/// A refusal: exit 2, one line on stderr naming the place.
fn assert_refused(out: &Output, context: &str, names: &str) {
    assert_eq!(out.code, 2, "{context}: {}{}", out.stdout, out.stderr);
    let lines: Vec<&str> = out.stderr.lines().collect();
    assert_eq!(lines.len(), 1, "{context}: one line: {}", out.stderr);
    assert!(lines[0].contains(names), "{context}: {}", out.stderr);
}

/// Folders of ours or of the agent replaced by a link to a folder outside: `--fix` refuses,
/// exit 2 with one line, and writes nothing anywhere (the project's tree is as it was).
#[test]
fn linked_folders_refuse_the_fix_run_and_nothing_is_written() {
    // (fixture, folder replaced by a link, the fix that would write into it)
    let cases = [
        ("examples/broken-agent", ".instar/doctor"),
        ("examples/broken-agent", ".instar/doctor/runs"),
        ("examples/broken-agent", ".instar/doctor/quarantine"),
        ("identity/bom", ".instar/machine"),
        ("registry/self-missing", ".instar/machines"),
    ];
    for (case, linked) in cases {
        let context = format!("{case} with {linked} linked outside");
        let agent = copy_fixture_agent(case);
        let project = agent.path();
        let outside = Outside::new();
        let place = project.join(linked);
        // The agent's own folder moves outside whole (its files are what the fix would edit);
        // one of ours is created there by the tree, empty.
        let mut expected = vec!["sentinel".to_string()];
        if place.exists() {
            let moved = outside.path().join("moved");
            let status = Command::new("cp")
                .arg("-a")
                .arg(&place)
                .arg(&moved)
                .status()
                .unwrap();
            assert!(status.success());
            fs::remove_dir_all(&place).unwrap();
            symlink(&moved, &place).unwrap();
            expected.push("moved".to_string());
        } else {
            fs::create_dir_all(place.parent().unwrap()).unwrap();
            symlink(outside.path(), &place).unwrap();
        }
        let moved_before = snapshot(outside.path());
        let before = snapshot(project);
        let out = doctor(
            project,
            &["--fix", "--unsafe-fixes", "--ignore", "keys/permissions"],
        );
        assert_refused(&out, &context, linked.trim_start_matches(".instar/"));
        assert_eq!(snapshot(project), before, "{context}: the project changed");
        assert_eq!(snapshot(outside.path()), moved_before, "{context}");
        expected.sort();
        let expected: Vec<&str> = expected.iter().map(String::as_str).collect();
        outside.assert_untouched(&context, &expected);
    }
}

/// A dangling `doctor/lock` pointing outside: a plain `open(O_CREAT)` would create its target.
#[test]
fn a_dangling_lock_link_is_refused_and_its_target_never_created() {
    for command in [&["--fix"][..], &["undo"][..]] {
        let agent = copy_fixture_agent("examples/broken-agent");
        let project = agent.path();
        let outside = Outside::new();
        if command == ["undo"] {
            assert_ne!(doctor(project, &["--fix"]).code, 2);
            fs::remove_file(project.join(".instar/doctor/lock")).unwrap();
        } else {
            fs::create_dir_all(project.join(".instar/doctor")).unwrap();
        }
        symlink(
            outside.path().join("made-by-doctor"),
            project.join(".instar/doctor/lock"),
        )
        .unwrap();
        let before = snapshot(project);
        let out = doctor(project, command);
        assert_refused(&out, &format!("{command:?}"), "lock");
        assert_eq!(snapshot(project), before, "{command:?}");
        outside.assert_untouched(&format!("{command:?}"), &["sentinel"]);
    }
}

/// A symlink planted under the name of our temp file, pointing outside. The doctor's pid is the
/// shell's (`exec`), so the link sits exactly at the first name the doctor would try. The sweep
/// moves the link itself into the quarantine; the write then goes through a fresh file.
#[test]
fn a_link_under_our_temp_name_is_quarantined_never_followed() {
    let agent = copy_fixture_agent("examples/broken-agent");
    let project = agent.path();
    let outside = Outside::new();
    let state = project.join(".instar");
    let status = Command::new("sh")
        .arg("-c")
        .arg("ln -s \"$2\" \"$1/.instar/.jobs.json.instar-doctor.$$.tmp\" && exec \"$0\" --dir \"$1\" --fix -q >/dev/null 2>&1")
        .arg(env!("CARGO_BIN_EXE_instar-doctor"))
        .arg(project)
        .arg(outside.sentinel())
        .env("CI", "true")
        .env("INSTAR_DOCTOR_NOW", NOW)
        .status()
        .unwrap();
    assert_eq!(
        status.code(),
        Some(1),
        "the fix run went on (unsafe findings remain)"
    );
    outside.assert_untouched("planted temp link", &["sentinel"]);
    let jobs = fs::symlink_metadata(state.join("jobs.json")).unwrap();
    assert!(jobs.is_file(), "jobs.json is a file, not the planted link");
    // The link was moved as a link into the quarantine.
    let quarantined: Vec<(String, String)> = snapshot(&state.join("doctor/quarantine"))
        .into_iter()
        .filter(|(path, _)| path.contains(".instar-doctor."))
        .collect();
    assert_eq!(quarantined.len(), 1, "{quarantined:?}");
    assert_eq!(
        quarantined[0].1,
        format!("link {}", outside.sentinel().display())
    );
    let left: Vec<(String, String)> = snapshot(&state)
        .into_iter()
        .filter(|(path, _)| path.contains(".instar-doctor.") && !path.starts_with("doctor/"))
        .collect();
    assert!(left.is_empty(), "{left:?}");
    // `undo` puts the link back as it was, still without following it.
    let undo = doctor(project, &["undo"]);
    assert_eq!(undo.code, 0, "{}", undo.stderr);
    outside.assert_untouched("undo of the quarantined link", &["sentinel"]);
    let back: Vec<(String, String)> = snapshot(&state)
        .into_iter()
        .filter(|(path, _)| path.contains(".instar-doctor."))
        .collect();
    assert_eq!(back.len(), 1, "{back:?}");
    assert!(!back[0].0.starts_with("doctor/"), "{back:?}");
    assert_eq!(back[0].1, format!("link {}", outside.sentinel().display()));
}

/// `undo` into a file that became a link to a file outside with the very bytes the run left
/// (so no `--force` is needed), or into a folder that became a link: refused, without and with
/// `--force`, nothing written outside.
#[test]
fn undo_never_restores_through_a_link() {
    for force in [false, true] {
        for linked in [".instar/jobs.json", ".instar/machine"] {
            let context = format!("undo (force: {force}) with {linked} linked outside");
            let case = if linked == ".instar/machine" {
                "identity/bom"
            } else {
                "examples/broken-agent"
            };
            let agent = copy_fixture_agent(case);
            let project = agent.path();
            let fixed = doctor(project, &["--fix"]);
            assert_ne!(fixed.code, 2, "{context}: {}", fixed.stderr);
            let outside = Outside::new();
            let place = project.join(linked);
            let moved = outside.path().join("moved");
            let status = Command::new("cp")
                .arg("-a")
                .arg(&place)
                .arg(&moved)
                .status()
                .unwrap();
            assert!(status.success());
            if place.is_dir() {
                fs::remove_dir_all(&place).unwrap();
            } else {
                fs::remove_file(&place).unwrap();
            }
            symlink(&moved, &place).unwrap();
            let outside_before = snapshot(outside.path());
            let args: &[&str] = if force {
                &["undo", "--force"]
            } else {
                &["undo"]
            };
            let out = doctor(project, args);
            assert_refused(&out, &context, linked);
            assert_eq!(snapshot(outside.path()), outside_before, "{context}");
            outside.assert_untouched(&context, &["moved", "sentinel"]);
        }
    }
}

/// A run folder planted by the tree as an interrupted run, naming files outside the project (an
/// absolute path, a `..` path) with "backups" to restore there: `--fix` and `undo` refuse to
/// restore it and write nothing outside.
#[test]
fn a_planted_interrupted_run_cannot_restore_outside_the_project() {
    let outside = Outside::new();
    let escapes = [
        outside.sentinel().display().to_string(),
        format!(
            "../{}/sentinel",
            outside.path().file_name().unwrap().to_string_lossy()
        ),
    ];
    for escape in escapes {
        for command in [&["--fix"][..], &["undo"][..]] {
            let context = format!("{command:?} of a run naming {escape}");
            // The project sits next to the outside folder, so `../<name>/sentinel` reaches it.
            let agent = tempfile::tempdir_in(outside.path().parent().unwrap()).unwrap();
            let project = agent.path();
            let status = Command::new("cp")
                .arg("-a")
                .arg(fixtures().join("examples/broken-agent/.instar"))
                .arg(project)
                .status()
                .unwrap();
            assert!(status.success());
            let run = project.join(".instar/doctor/runs/20260101T000000Z-0001");
            fs::create_dir_all(run.join("files")).unwrap();
            fs::write(run.join("files/0"), b"owned").unwrap();
            let manifest = serde_json::json!({
                "run_id": "20260101T000000Z-0001",
                "doctor_version": "0.1.0",
                "status": "in-progress",
                "records_writes": false,
                "files": [{
                    "path": escape, "existed": true, "mode": 0o644,
                    "sha256_before": "0", "sha256_after": null,
                    "backup": "files/0", "symlink_target": null
                }],
                "quarantined": [], "saved": [], "fixes": []
            });
            fs::write(run.join("manifest.json"), manifest.to_string()).unwrap();
            let out = doctor(project, command);
            assert_eq!(out.code, 2, "{context}: {}", out.stderr);
            assert_eq!(out.stderr.lines().count(), 1, "{context}: {}", out.stderr);
            outside.assert_untouched(&context, &["sentinel"]);
        }
    }
}

fn mkfifo(path: &Path) {
    let c_path = std::ffi::CString::new(path.as_os_str().as_encoded_bytes()).unwrap();
    // SAFETY: a valid NUL-terminated path.
    assert_eq!(unsafe { libc::mkfifo(c_path.as_ptr(), 0o600) }, 0);
}

/// FIFOs where the write path opens files: none of them may block `--fix` or `undo` (the
/// helper fails the test after 30 s). The lock and a run's manifest refuse or are skipped;
/// a FIFO under our temp-file name is swept into the quarantine like any leftover.
#[test]
fn fifos_in_the_write_path_never_hang_fix_or_undo() {
    // The lock: refused, for both commands.
    for command in [&["--fix"][..], &["undo"][..]] {
        let agent = copy_fixture_agent("examples/broken-agent");
        let project = agent.path();
        if command == ["undo"] {
            assert_ne!(doctor(project, &["--fix"]).code, 2);
            fs::remove_file(project.join(".instar/doctor/lock")).unwrap();
        } else {
            fs::create_dir_all(project.join(".instar/doctor")).unwrap();
        }
        mkfifo(&project.join(".instar/doctor/lock"));
        let out = doctor(project, command);
        assert_refused(&out, &format!("FIFO lock, {command:?}"), "lock");
    }
    // A run's manifest: that run is not one of ours; the rest works.
    let agent = copy_fixture_agent("examples/broken-agent");
    let project = agent.path();
    let fifo_run = project.join(".instar/doctor/runs/20200101T000000Z-0001");
    fs::create_dir_all(&fifo_run).unwrap();
    mkfifo(&fifo_run.join("manifest.json"));
    assert_eq!(doctor(project, &[]).code, 1, "a plain check");
    assert_eq!(doctor(project, &["--fix"]).code, 1);
    assert_eq!(doctor(project, &["undo"]).code, 0);
    // A FIFO under our temp name (and at instar's two locks, read by every fix run).
    let agent = copy_fixture_agent("examples/broken-agent");
    let project = agent.path();
    mkfifo(&project.join(".instar/.jobs.json.instar-doctor.1.tmp"));
    fs::create_dir_all(project.join(".instar/local")).unwrap();
    mkfifo(&project.join(".instar/lifeline.lock"));
    mkfifo(&project.join(".instar/local/server-instance.lock"));
    assert_eq!(doctor(project, &["--fix"]).code, 1);
    assert!(fs::symlink_metadata(project.join(".instar/.jobs.json.instar-doctor.1.tmp")).is_err());
    assert_eq!(doctor(project, &["undo"]).code, 0);
    assert!(fs::symlink_metadata(project.join(".instar/.jobs.json.instar-doctor.1.tmp")).is_ok());
}

//! A full disk is survived (issue 10): a fix run that runs out of space at any of its writes
//! leaves every agent file as it was, says in one line what happened, what was left and how to
//! finish, and the next run (with space again) recovers and fixes; `undo` then gives back the
//! original tree exactly.
//!
//! The disk is filled two ways: deterministically through the failpoints
//! (`INSTAR_DOCTOR_ENOSPC_AT=<n>`: the n-th write of file data and every later one fail with
//! ENOSPC, the way a full disk stays full), at every write of a run in turn; and for real, on a
//! small tmpfs, where mounting one is permitted (root on Linux; skipped with a reason elsewhere).

mod common;

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;
use std::process::Command;

use common::*;

/// Every file under `.instar/` but the doctor's own folder: bytes and mode.
fn agent_files(project: &Path) -> BTreeMap<String, (Vec<u8>, u32)> {
    use std::os::unix::fs::PermissionsExt;
    let mut out = BTreeMap::new();
    let mut stack = vec![project.join(".instar")];
    while let Some(dir) = stack.pop() {
        for entry in fs::read_dir(&dir).into_iter().flatten().flatten() {
            let path = entry.path();
            let rel = path.strip_prefix(project).unwrap().display().to_string();
            if rel == ".instar/doctor" {
                continue;
            }
            let meta = fs::symlink_metadata(&path).unwrap();
            if meta.is_dir() {
                stack.push(path);
            } else {
                out.insert(
                    rel,
                    (
                        fs::read(&path).unwrap_or_default(),
                        meta.permissions().mode() & 0o7777,
                    ),
                );
            }
        }
    }
    out
}

fn temp_files_left(project: &Path) -> Vec<String> {
    let mut found = Vec::new();
    let mut stack = vec![project.join(".instar")];
    while let Some(dir) = stack.pop() {
        for entry in fs::read_dir(&dir).into_iter().flatten().flatten() {
            let path = entry.path();
            if path.ends_with(".instar/doctor/quarantine") {
                continue;
            }
            if entry.file_type().unwrap().is_dir() {
                stack.push(path);
            } else if entry
                .file_name()
                .to_string_lossy()
                .contains(".instar-doctor.")
            {
                found.push(path.display().to_string());
            }
        }
    }
    found
}

fn copy_agent(into: &Path) {
    copy_state(&fixtures().join("examples/broken-agent"), into);
}

fn doctor(project: &Path, args: &[&str], vars: &[(&str, &str)]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_instar-doctor"));
    command
        .arg("--dir")
        .arg(project)
        .args(args)
        .env("CI", "true")
        .env("NO_COLOR", "1")
        .env("INSTAR_DOCTOR_NOW", NOW);
    for (key, value) in vars {
        command.env(key, value);
    }
    command.output().unwrap().into()
}

const FIX: [&str; 3] = ["--fix", "--unsafe-fixes", "-q"];

/// What a run that ran out of space must leave and say; then a run with space finishes the job
/// and `undo` is exact.
fn assert_survived(
    project: &Path,
    out: &Output,
    old: &BTreeMap<String, (Vec<u8>, u32)>,
    new: &BTreeMap<String, (Vec<u8>, u32)>,
    context: &str,
) {
    assert_eq!(out.code, 2, "{context}: {}", out.stderr);
    let lines: Vec<&str> = out.stderr.lines().collect();
    assert_eq!(lines.len(), 1, "{context}: one line: {}", out.stderr);
    let line = lines[0];
    assert!(
        line.to_lowercase().contains("no space left"),
        "{context}: {line}"
    );
    // What was left, in words.
    assert!(
        line.contains("nothing was changed") || line.contains("was put back"),
        "{context}: {line}"
    );
    assert!(
        agent_files(project) == *old,
        "{context}: a file was left changed: {line}"
    );
    assert_eq!(temp_files_left(project), Vec::<String>::new(), "{context}");
    let interrupted = doctor(project, &["--format", "json"], &[]);
    let reported = codes_of(&interrupted).contains(&"doctor/interrupted-run".to_string());
    // A run left in progress (its rolled-back mark could not be written) is announced, with the
    // command that finishes it; otherwise nothing is left to finish.
    assert_eq!(reported, line.contains("finishes it"), "{context}: {line}");
    // With space again: the next run recovers what is left and fixes; undo is exact.
    let again = doctor(project, &FIX, &[]);
    assert_ne!(again.code, 2, "{context}: {}", again.stderr);
    assert!(
        agent_files(project) == *new,
        "{context}: the next --fix did not finish"
    );
    let undo = doctor(project, &["undo"], &[]);
    assert_eq!(undo.code, 0, "{context}: {}", undo.stderr);
    assert!(agent_files(project) == *old, "{context}: undo is not exact");
}

/// The disk fills up at each write of a multi-file fix run in turn (backups, the in-progress
/// manifest, each file's temp copy, the quarantine's saved data, the commit).
#[test]
fn a_fix_run_that_runs_out_of_space_at_any_write_changes_nothing() {
    let agent = tempfile::tempdir().unwrap();
    let project = agent.path();
    copy_agent(project);
    let old = agent_files(project);
    let log = tempfile::NamedTempFile::new().unwrap();
    let clean = doctor(
        project,
        &FIX,
        &[("INSTAR_DOCTOR_SPACE_LOG", log.path().to_str().unwrap())],
    );
    assert_ne!(clean.code, 2, "{}", clean.stderr);
    let new = agent_files(project);
    assert_ne!(old, new);
    let writes = fs::read_to_string(log.path()).unwrap().lines().count();
    assert!(
        writes >= 8,
        "{writes} writes: is the failpoints feature on?"
    );
    let mut before_first_change = 0;
    for full_at in 1..=writes {
        let context = format!("disk full from write {full_at} of {writes}");
        copy_agent(project);
        let at = full_at.to_string();
        let out = doctor(project, &FIX, &[("INSTAR_DOCTOR_ENOSPC_AT", &at)]);
        if out.stderr.contains("nothing was changed") {
            before_first_change += 1;
            // Aborted before its first change: no run is left on record.
            assert!(
                !project.join(".instar/doctor/runs").exists()
                    || fs::read_dir(project.join(".instar/doctor/runs"))
                        .unwrap()
                        .next()
                        .is_none(),
                "{context}: a run folder was left"
            );
        }
        assert_survived(project, &out, &old, &new, &context);
    }
    assert!(
        before_first_change > 0,
        "no write came before the first change"
    );
    assert!(
        before_first_change < writes,
        "no write came after the first change"
    );
}

/// `undo` on a full disk: refused or rolled back, the files as they were, and a later `undo`
/// with space finishes it.
#[test]
fn an_undo_that_runs_out_of_space_changes_nothing() {
    let agent = tempfile::tempdir().unwrap();
    let project = agent.path();
    copy_agent(project);
    let old = agent_files(project);
    assert_ne!(doctor(project, &FIX, &[]).code, 2);
    let new = agent_files(project);
    let fixed_state = tempfile::tempdir().unwrap();
    copy_state(project, fixed_state.path());
    let log = tempfile::NamedTempFile::new().unwrap();
    let clean = doctor(
        project,
        &["undo"],
        &[("INSTAR_DOCTOR_SPACE_LOG", log.path().to_str().unwrap())],
    );
    assert_eq!(clean.code, 0, "{}", clean.stderr);
    let writes = fs::read_to_string(log.path()).unwrap().lines().count();
    assert!(writes >= 3, "{writes}");
    for full_at in 1..=writes {
        let context = format!("undo, disk full from write {full_at} of {writes}");
        copy_state(fixed_state.path(), project);
        let at = full_at.to_string();
        let out = doctor(project, &["undo"], &[("INSTAR_DOCTOR_ENOSPC_AT", &at)]);
        if out.code == 0 {
            // Only the last mark (the undone run's status) may fail unnoticed: it is redundant.
            assert!(agent_files(project) == old, "{context}");
            continue;
        }
        assert_eq!(out.code, 2, "{context}: {}", out.stderr);
        assert_eq!(out.stderr.lines().count(), 1, "{context}: {}", out.stderr);
        assert!(
            out.stderr.to_lowercase().contains("no space left"),
            "{context}: {}",
            out.stderr
        );
        assert!(agent_files(project) == new, "{context}: {}", out.stderr);
        let again = doctor(project, &["undo"], &[]);
        assert_eq!(again.code, 0, "{context}: {}", again.stderr);
        assert!(
            agent_files(project) == old,
            "{context}: the later undo did not finish"
        );
    }
}

/// A real full disk: the agent on a small tmpfs, filled so that only `free` bytes are left.
/// Needs permission to mount (root on Linux); elsewhere the test says why it did nothing.
#[test]
fn a_real_full_disk_is_survived() {
    let mount = tempfile::tempdir().unwrap();
    let mounted = Command::new("mount")
        .args(["-t", "tmpfs", "-o", "size=2m", "tmpfs"])
        .arg(mount.path())
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !mounted {
        eprintln!("skipped: cannot mount a tmpfs here (not root, or not Linux); the failpoint tests cover every write");
        return;
    }
    struct Unmount<'a>(&'a Path);
    impl Drop for Unmount<'_> {
        fn drop(&mut self) {
            let _ = Command::new("umount").arg(self.0).status();
        }
    }
    let _unmount = Unmount(mount.path());
    let project = mount.path().join("agent");
    fs::create_dir(&project).unwrap();
    copy_agent(&project);
    let old = agent_files(&project);
    assert_ne!(doctor(&project, &FIX, &[]).code, 2);
    let new = agent_files(&project);
    let mut failed = 0;
    for free in [0u64, 4 << 10, 16 << 10, 64 << 10, 160 << 10] {
        let context = format!("{free} bytes free");
        copy_agent(&project);
        let _ = fs::remove_file(mount.path().join("filler"));
        fill(&mount.path().join("filler"), free);
        let out = doctor(&project, &FIX, &[]);
        fs::remove_file(mount.path().join("filler")).unwrap();
        if out.code == 2 {
            failed += 1;
            assert_survived(&project, &out, &old, &new, &context);
        } else {
            assert!(agent_files(&project) == new, "{context}: {}", out.stderr);
        }
    }
    assert!(failed > 0, "the disk was never full enough to matter");
}

/// Writes `path` until the file system has at most `free` bytes left.
fn fill(path: &Path, free: u64) {
    use std::io::Write;
    let mut file = fs::File::create(path).unwrap();
    let chunk = vec![0u8; 4096];
    loop {
        let stat = nix_free(path.parent().unwrap());
        if stat <= free {
            break;
        }
        let n = usize::try_from((stat - free).min(4096)).unwrap();
        if file.write_all(&chunk[..n]).is_err() {
            break;
        }
        let _ = file.sync_all();
    }
}

/// Bytes available on the file system holding `dir`.
// The field types differ by platform (u32 block counts on macOS): the conversions are needed there.
#[allow(clippy::useless_conversion)]
fn nix_free(dir: &Path) -> u64 {
    let c_path = std::ffi::CString::new(dir.as_os_str().as_encoded_bytes()).unwrap();
    // SAFETY: a valid NUL-terminated path and a zeroed statvfs the call fills.
    unsafe {
        let mut stat: libc::statvfs = std::mem::zeroed();
        assert_eq!(libc::statvfs(c_path.as_ptr(), &mut stat), 0);
        u64::from(stat.f_bavail) * u64::from(stat.f_frsize)
    }
}

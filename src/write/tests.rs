use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;

use super::*;
use crate::digest::sha256_hex;
use crate::runs::{self, RunStatus};

fn agent() -> (tempfile::TempDir, PathBuf, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let project = dir.path().to_path_buf();
    let state = project.join(".instar");
    fs::create_dir_all(&state).unwrap();
    (dir, project, state)
}

fn mode(path: &std::path::Path) -> u32 {
    fs::metadata(path).unwrap().permissions().mode() & 0o7777
}

#[test]
fn atomic_write_keeps_the_mode_and_leaves_no_temp_file() {
    let (_d, _p, state) = agent();
    let file = state.join("config.json");
    write_atomic(&file, b"{}", 0o600).unwrap();
    assert_eq!(mode(&file), 0o600);
    let names: Vec<_> = fs::read_dir(&state)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names.len(), 1, "{names:?}");
}

/// The preflight's record is replaced like any file (old or new bytes, its mode, no temp left),
/// only without the folder sync.
#[test]
fn a_record_write_replaces_whole_and_leaves_no_temp_file() {
    let (_d, _p, state) = agent();
    let file = state.join("preflight.json");
    write_atomic_record(&file, b"{\"old\": true}\n", 0o600).unwrap();
    write_atomic_record(&file, b"{\"new\": true}\n", 0o600).unwrap();
    assert_eq!(fs::read(&file).unwrap(), b"{\"new\": true}\n");
    assert_eq!(mode(&file), 0o600);
    let names: Vec<_> = fs::read_dir(&state)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names.len(), 1, "{names:?}");
}

#[test]
fn a_second_writer_is_locked_out() {
    let (_d, _p, state) = agent();
    let first = lock(&state).unwrap();
    assert!(matches!(lock(&state), Err(WriteError::Locked(_))));
    drop(first);
    assert!(lock(&state).is_ok());
}

#[test]
fn rollback_restores_bytes_modes_and_quarantined_files() {
    let (_d, project, state) = agent();
    let jobs = state.join("jobs.json");
    let temp = state.join("jobs.json.1.a.tmp");
    fs::write(&jobs, b"[1]").unwrap();
    fs::set_permissions(&jobs, fs::Permissions::from_mode(0o640)).unwrap();
    fs::write(&temp, b"x").unwrap();
    let mut tx = Transaction::begin(&project, &state).unwrap();
    tx.write(&jobs, b"[]").unwrap();
    tx.set_mode(&jobs, 0o600).unwrap();
    tx.quarantine(&temp).unwrap();
    tx.write(&state.join("new.json"), b"{}").unwrap();
    let id = tx.run_id().to_string();
    tx.rollback().unwrap();
    assert_eq!(fs::read(&jobs).unwrap(), b"[1]");
    assert_eq!(mode(&jobs), 0o640);
    assert_eq!(fs::read(&temp).unwrap(), b"x");
    assert!(!state.join("new.json").exists());
    // The run stays on record, marked rolled back, and is not something to undo.
    let all = runs::all(&state);
    assert_eq!(all.len(), 1);
    assert_eq!(
        (all[0].run_id.as_str(), all[0].status),
        (id.as_str(), RunStatus::RolledBack)
    );
    assert!(matches!(
        undo(&project, &state, None, false),
        Err(WriteError::Refused(_))
    ));
}

/// The manifest is on disk, in progress, naming every file with its old hash and backup, before
/// the first byte of any of them changes.
#[test]
fn the_manifest_names_every_file_before_the_first_change() {
    let (_d, project, state) = agent();
    let a = state.join("a.json");
    let b = state.join("b.json");
    fs::write(&a, b"[1]").unwrap();
    let mut tx = Transaction::begin(&project, &state).unwrap();
    tx.prepare(&[a.clone(), b.clone()]).unwrap();
    let recorded = runs::all(&state);
    assert_eq!(recorded.len(), 1);
    let m = &recorded[0];
    assert_eq!(m.status, RunStatus::InProgress);
    assert_eq!(m.pid, Some(std::process::id()));
    let paths: Vec<(&str, bool)> = m
        .files
        .iter()
        .map(|f| (f.path.as_str(), f.existed))
        .collect();
    assert_eq!(paths, [(".instar/a.json", true), (".instar/b.json", false)]);
    assert_eq!(
        m.files[0].sha256_before.as_deref(),
        Some(sha256_hex(b"[1]").as_str())
    );
    assert_eq!(fs::read(&a).unwrap(), b"[1]", "nothing changed yet");
    assert!(!b.exists());
    tx.write(&a, b"[]").unwrap();
    tx.write(&b, b"{}").unwrap();
    tx.commit().unwrap();
    drop(tx);
    assert_eq!(runs::all(&state)[0].status, RunStatus::Committed);
}

#[test]
fn commit_then_undo_round_trips_and_refuses_after_later_edits() {
    let (_d, project, state) = agent();
    let jobs = state.join("jobs.json");
    fs::write(&jobs, b"[1]").unwrap();
    let mut tx = Transaction::begin(&project, &state).unwrap();
    tx.write(&jobs, b"[]").unwrap();
    let id = tx.commit().unwrap().expect("a run that wrote is recorded");
    drop(tx);
    assert!(id.ends_with("-0001"), "{id}");
    assert_eq!(
        fs::read_to_string(state.join("doctor/.gitignore")).unwrap(),
        "*\n"
    );
    for dir in ["doctor", "doctor/runs", &format!("doctor/runs/{id}")] {
        assert_eq!(mode(&state.join(dir)), 0o700, "{dir}");
    }

    fs::write(&jobs, b"[2]").unwrap();
    assert!(matches!(
        undo(&project, &state, None, false),
        Err(WriteError::Refused(_))
    ));
    assert_eq!(
        fs::read(&jobs).unwrap(),
        b"[2]",
        "a refused undo changes nothing"
    );
    let done = undo(&project, &state, None, true).unwrap();
    assert_eq!(done.run_id, id);
    assert_eq!(fs::read(&jobs).unwrap(), b"[1]");
    assert_eq!(done.overwritten, [".instar/jobs.json"]);
    // The edit --force overwrote was saved as a run of its own: undoing it brings it back.
    let saved = done.saved_as.expect("the later edit was backed up");
    assert!(matches!(
        undo(&project, &state, None, false),
        Err(WriteError::Refused(_))
    ));
    undo(&project, &state, Some(&saved), false).unwrap();
    assert_eq!(fs::read(&jobs).unwrap(), b"[2]");
}

/// Manifests written before runs had statuses (`"applied"`, or no status at all) stay undoable.
#[test]
fn manifests_of_the_older_format_are_undoable() {
    for status in [Some("applied"), None] {
        let (_d, project, state) = agent();
        let jobs = state.join("jobs.json");
        fs::write(&jobs, b"[]").unwrap();
        let run = state.join("doctor/runs/20260101T000000Z-0001");
        fs::create_dir_all(run.join("files")).unwrap();
        fs::write(run.join("files/0"), b"[1]").unwrap();
        let mut manifest = serde_json::json!({
            "run_id": "20260101T000000Z-0001",
            "doctor_version": "0.1.0",
            "files": [{
                "path": ".instar/jobs.json", "existed": true, "mode": 0o600,
                "sha256_before": sha256_hex(b"[1]"), "sha256_after": sha256_hex(b"[]"),
                "backup": "files/0", "symlink_target": null
            }],
            "quarantined": [], "saved": [], "fixes": []
        });
        if let Some(status) = status {
            manifest["status"] = status.into();
        }
        fs::write(run.join("manifest.json"), manifest.to_string()).unwrap();
        let done = undo(&project, &state, None, false).unwrap();
        assert_eq!(done.run_id, "20260101T000000Z-0001", "{status:?}");
        assert_eq!(fs::read(&jobs).unwrap(), b"[1]");
        assert_eq!(mode(&jobs), 0o600);
    }
}

/// What a killed run leaves: a manifest in progress naming a changed file and one it created.
fn killed_run(project: &std::path::Path, state: &std::path::Path) -> (PathBuf, PathBuf) {
    let jobs = state.join("jobs.json");
    let created = state.join("created.json");
    fs::write(&jobs, b"[1]").unwrap();
    fs::set_permissions(&jobs, fs::Permissions::from_mode(0o640)).unwrap();
    let mut tx = Transaction::begin(project, state).unwrap();
    tx.prepare(&[jobs.clone(), created.clone()]).unwrap();
    tx.write(&jobs, b"[]").unwrap();
    tx.set_mode(&jobs, 0o600).unwrap();
    tx.write(&created, b"{}").unwrap();
    // The dead writer never committed: its in-progress record stays, and the lock is released.
    drop(tx);
    (jobs, created)
}

#[test]
fn an_in_progress_run_is_interrupted_only_when_its_lock_is_free() {
    let (_d, project, state) = agent();
    let (jobs, created) = killed_run(&project, &state);
    let held = lock(&state).unwrap();
    assert!(
        runs::interrupted(&state).is_empty(),
        "a live writer's run is not interrupted"
    );
    drop(held);
    let found = runs::interrupted(&state);
    assert_eq!(found.len(), 1);
    let recovered = recover_interrupted(&project, &state).unwrap();
    assert_eq!(recovered.len(), 1);
    assert_eq!(recovered[0].run_id, found[0].run_id);
    assert_eq!(fs::read(&jobs).unwrap(), b"[1]");
    assert_eq!(mode(&jobs), 0o640);
    assert!(!created.exists());
    assert!(runs::interrupted(&state).is_empty());
    assert_eq!(runs::all(&state)[0].status, RunStatus::RolledBack);
}

#[test]
fn undo_of_an_interrupted_run_rolls_it_back_without_force() {
    let (_d, project, state) = agent();
    let (jobs, created) = killed_run(&project, &state);
    let done = undo(&project, &state, None, false).unwrap();
    assert_eq!(done.recovered.len(), 1);
    assert_eq!(done.run_id, done.recovered[0].run_id);
    assert_eq!(fs::read(&jobs).unwrap(), b"[1]");
    assert_eq!(mode(&jobs), 0o640);
    assert!(!created.exists());
}

#[test]
fn a_refused_undo_creates_nothing() {
    let (_d, project, state) = agent();
    assert!(matches!(
        undo(&project, &state, None, false),
        Err(WriteError::Refused(_))
    ));
    assert!(!state.join("doctor").exists());
}

#[test]
fn a_run_that_changed_nothing_records_nothing() {
    let (_d, project, state) = agent();
    let mut tx = Transaction::begin(&project, &state).unwrap();
    assert_eq!(tx.commit().unwrap(), None);
    assert!(runs::all(&state).is_empty());
}

#[test]
fn symlinks_leaving_the_project_are_not_written_through() {
    let (_d, project, state) = agent();
    let outside = tempfile::tempdir().unwrap();
    let target = outside.path().join("jobs.json");
    fs::write(&target, b"[]").unwrap();
    std::os::unix::fs::symlink(&target, state.join("jobs.json")).unwrap();
    let mut tx = Transaction::begin(&project, &state).unwrap();
    assert!(matches!(
        tx.write(&state.join("jobs.json"), b"[1]"),
        Err(WriteError::SymlinkLeavesProject(_))
    ));
    assert_eq!(fs::read(&target).unwrap(), b"[]");
}

/// `fs_err` keeps an error's kind but not its errno: a full disk must still read as one
/// (the run then says "no space left on the disk" before what it rolled back).
#[test]
fn a_full_disk_is_recognised_through_fs_err() {
    use std::io::{Error, ErrorKind};
    for kind in [ErrorKind::StorageFull, ErrorKind::QuotaExceeded] {
        // What `fs_err` returns: the kind of the original error, no raw errno.
        let wrapped = WriteError::Fs(Error::new(kind, "failed to write to file `x`"));
        assert!(wrapped.is_no_space(), "{kind:?}");
    }
    let raw = WriteError::Io {
        step: "write to file",
        path: PathBuf::from("x"),
        source: Error::from_raw_os_error(libc::ENOSPC),
    };
    assert!(raw.is_no_space());
    let denied = WriteError::Fs(Error::new(ErrorKind::PermissionDenied, "x"));
    assert!(!denied.is_no_space());
}

/// An error names the step that failed and the file, in `fs_err`'s words whichever made it.
#[test]
fn a_failed_write_names_its_step_and_its_file() {
    let (_d, _p, state) = agent();
    let missing = state.join("no-such-folder").join("jobs.json");
    let err = write_atomic(&missing, b"[]", 0o644)
        .unwrap_err()
        .to_string();
    assert!(err.starts_with("failed to create file `"), "{err}");
    assert!(
        err.contains("no-such-folder/.jobs.json.instar-doctor."),
        "{err}"
    );
    let from = state.join("gone.json");
    let err = WriteError::from(fs_err::rename(&from, state.join("x")).unwrap_err()).to_string();
    assert!(
        err.starts_with(&format!("failed to rename file from `{}`", from.display())),
        "{err}"
    );
}

/// The backup is streamed from the file as it is hashed: a file that is no longer what the
/// checks read is neither backed up nor changed, and the copy streamed from it is not left in
/// the run folder; a file that is gets a backup of exactly its bytes.
#[test]
fn a_backup_is_kept_only_when_it_is_what_the_checks_read() {
    let (_d, project, state) = agent();
    let changed = state.join("jobs.json");
    let same = state.join("config.json");
    fs::write(&changed, b"[1, 2]").unwrap();
    fs::write(&same, b"{\"port\": 4040}").unwrap();
    let mut tx = Transaction::begin(&project, &state).unwrap();
    tx.expect_diagnosed(&changed, Some(b"[1]"));
    tx.expect_diagnosed(&same, Some(b"{\"port\": 4040}"));
    let run_dir = state.join("doctor/runs").join(tx.run_id());
    let backups = || -> Vec<Vec<u8>> {
        fs::read_dir(run_dir.join("files"))
            .map(|dir| dir.map(|e| fs::read(e.unwrap().path()).unwrap()).collect())
            .unwrap_or_default()
    };
    tx.prepare(std::slice::from_ref(&changed)).unwrap();
    assert!(backups().is_empty(), "a copy of a changed file was left");
    tx.prepare(std::slice::from_ref(&same)).unwrap();
    assert!(matches!(
        tx.write(&changed, b"[]"),
        Err(WriteError::ChangedSinceDiagnosed(_))
    ));
    assert_eq!(fs::read(&changed).unwrap(), b"[1, 2]");
    tx.write(&same, b"{\"port\": 4041}").unwrap();
    assert_eq!(backups(), [b"{\"port\": 4040}".to_vec()]);
    assert_eq!(mode(&run_dir.join("files/0")), 0o600);
    tx.commit().unwrap();
}

//! Everything that writes: the run lock, backups with a manifest, atomic writes, quarantine,
//! rollback and undo (design.md §4). Checks and renderers never write; only this module does.
//!
//! A run's promise: every file it touches is copied under `.instar/doctor/runs/<run-id>/` before
//! the first write, every write is a rename of a fully written, fsynced temp file, and anything
//! "deleted" is moved to `.instar/doctor/quarantine/<run-id>/`. So at any instant each file is
//! either its old or its new version, and `undo` can put the old one back.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use crate::host::Host as _;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// The doctor's own folder inside `.instar/`.
pub const DOCTOR_DIR: &str = "doctor";
const PRIVATE_DIR_MODE: u32 = 0o700;
const PRIVATE_FILE_MODE: u32 = 0o600;
/// Mode for files a run creates where nothing stood before (instar's writers use 0644).
const NEW_FILE_MODE: u32 = 0o644;

#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    #[error("another instar-doctor holds the lock {0}: wait for it to finish")]
    Locked(String),
    #[error("{path}: {source}")]
    Io {
        path: String,
        #[source]
        source: io::Error,
    },
    #[error("{0} changed since it was diagnosed; run the doctor again")]
    ChangedSinceDiagnosed(String),
    #[error("{0} is a symlink that leaves the project; the doctor does not write through it")]
    SymlinkLeavesProject(String),
    #[error("{0}")]
    Refused(String),
}

fn io_err(path: &Path) -> impl FnOnce(io::Error) -> WriteError + '_ {
    move |source| WriteError::Io {
        path: path.display().to_string(),
        source,
    }
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Creates `dir` (and parents) and sets it to 0700.
fn private_dir(dir: &Path) -> Result<(), WriteError> {
    fs::create_dir_all(dir).map_err(io_err(dir))?;
    fs::set_permissions(dir, fs::Permissions::from_mode(PRIVATE_DIR_MODE)).map_err(io_err(dir))
}

/// `.instar/doctor/`, private, with a `.gitignore` of `*` so nothing in it is ever committed
/// (backups and quarantine can hold key material). The user's own .gitignore is never touched.
pub fn doctor_dir(state_dir: &Path) -> Result<PathBuf, WriteError> {
    let dir = state_dir.join(DOCTOR_DIR);
    private_dir(&dir)?;
    let ignore = dir.join(".gitignore");
    if !ignore.exists() {
        write_atomic(&ignore, b"*\n", PRIVATE_FILE_MODE)?;
    }
    Ok(dir)
}

/// The advisory lock held by writers (`--fix`, `-i`, `undo`). Released when dropped or when the
/// process dies, so a crashed doctor never blocks the next one.
pub struct RunLock {
    _file: File,
}

pub fn lock(state_dir: &Path) -> Result<RunLock, WriteError> {
    let dir = doctor_dir(state_dir)?;
    let path = dir.join("lock");
    let file = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .mode(PRIVATE_FILE_MODE)
        .open(&path)
        .map_err(io_err(&path))?;
    match file.try_lock() {
        Ok(()) => Ok(RunLock { _file: file }),
        Err(fs::TryLockError::WouldBlock) => Err(WriteError::Locked(path.display().to_string())),
        Err(fs::TryLockError::Error(err)) => Err(io_err(&path)(err)),
    }
}

/// Writes `bytes` to `path` atomically: a temp file in the same folder with `mode`, fsync,
/// rename over the target, fsync the folder.
pub fn write_atomic(path: &Path, bytes: &[u8], mode: u32) -> Result<(), WriteError> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let temp = dir.join(format!(".{name}.instar-doctor.{}.tmp", std::process::id()));
    let result = (|| {
        let mut file = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(mode)
            .open(&temp)
            .map_err(io_err(&temp))?;
        // The umask may have narrowed the creation mode: set it exactly.
        file.set_permissions(fs::Permissions::from_mode(mode))
            .map_err(io_err(&temp))?;
        file.write_all(bytes).map_err(io_err(&temp))?;
        file.sync_all().map_err(io_err(&temp))?;
        fs::rename(&temp, path).map_err(io_err(path))?;
        sync_dir(dir)
    })();
    if result.is_err() {
        let _ = fs::remove_file(&temp);
    }
    result
}

fn sync_dir(dir: &Path) -> Result<(), WriteError> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(io_err(dir))
}

/// One file a run touched.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct FileRecord {
    /// Path relative to the project (or absolute outside it).
    pub path: String,
    pub existed: bool,
    pub mode: Option<u32>,
    pub sha256_before: Option<String>,
    pub sha256_after: Option<String>,
    /// The copy under the run folder, relative to it.
    pub backup: Option<String>,
    pub symlink_target: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct QuarantineRecord {
    pub from: String,
    /// Relative to the state folder.
    pub to: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct FixRecord {
    pub code: String,
    pub title: String,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum RunStatus {
    Applied,
    Undone,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Manifest {
    pub run_id: String,
    pub doctor_version: String,
    pub status: RunStatus,
    pub files: Vec<FileRecord>,
    pub quarantined: Vec<QuarantineRecord>,
    /// Files of data saved into the quarantine (e.g. jobs.invalid.json), relative to the state folder.
    pub saved: Vec<String>,
    pub fixes: Vec<FixRecord>,
}

/// A fix run in progress.
pub struct Transaction {
    project_dir: PathBuf,
    state_dir: PathBuf,
    run_dir: PathBuf,
    quarantine_dir: PathBuf,
    manifest: Manifest,
    /// Data saved into the quarantine, by file name, written when the run finishes.
    saved: Vec<(String, Vec<Vec<u8>>)>,
    _lock: RunLock,
}

/// A run id that sorts in run order: the wall-clock second (never INSTAR_DOCTOR_NOW, which tests
/// freeze) and a sequence number past every run already recorded, e.g. `20261124T120000Z-0003`.
pub fn new_run_id(state_dir: &Path) -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0);
    let days = now.div_euclid(86_400);
    let secs = now.rem_euclid(86_400);
    let (y, m, d) = crate::cron::civil_from_days(days);
    let stamp = format!(
        "{y:04}{m:02}{d:02}T{:02}{:02}{:02}Z",
        secs / 3600,
        secs / 60 % 60,
        secs % 60
    );
    let last = runs(state_dir)
        .iter()
        .filter_map(|m| m.run_id.rsplit('-').next()?.parse::<u32>().ok())
        .max()
        .unwrap_or(0);
    format!("{stamp}-{:04}", last + 1)
}

impl Transaction {
    /// Takes the lock, then names the run (under the lock, so two runs never share a name).
    pub fn begin(project_dir: &Path, state_dir: &Path) -> Result<Self, WriteError> {
        let lock = lock(state_dir)?;
        let doctor = doctor_dir(state_dir)?;
        let run_id = new_run_id(state_dir);
        Ok(Transaction {
            project_dir: project_dir.to_path_buf(),
            state_dir: state_dir.to_path_buf(),
            run_dir: doctor.join("runs").join(&run_id),
            quarantine_dir: doctor.join("quarantine").join(&run_id),
            manifest: Manifest {
                run_id,
                doctor_version: env!("CARGO_PKG_VERSION").to_string(),
                status: RunStatus::Applied,
                files: Vec::new(),
                quarantined: Vec::new(),
                saved: Vec::new(),
                fixes: Vec::new(),
            },
            saved: Vec::new(),
            _lock: lock,
        })
    }

    /// Quarantines temp files an earlier doctor left when it was killed mid-write (their writer
    /// is dead); the file they were meant to replace is intact, old or new.
    pub fn sweep_own_temp_files(&mut self) -> Result<(), WriteError> {
        let mut stack = vec![(self.state_dir.clone(), 0)];
        let mut found = Vec::new();
        while let Some((dir, depth)) = stack.pop() {
            let Ok(entries) = fs::read_dir(&dir) else {
                continue;
            };
            for entry in entries.flatten() {
                let path = entry.path();
                let name = entry.file_name().to_string_lossy().into_owned();
                let Ok(kind) = entry.file_type() else {
                    continue;
                };
                if kind.is_dir() && depth < 3 && name != DOCTOR_DIR {
                    stack.push((path, depth + 1));
                } else if kind.is_file() && own_temp_writer_dead(&name) {
                    found.push(path);
                }
            }
        }
        found.sort();
        for path in found {
            self.quarantine(&path)?;
        }
        Ok(())
    }

    pub fn run_id(&self) -> &str {
        &self.manifest.run_id
    }

    pub fn record_fix(&mut self, code: &str, title: &str) {
        self.manifest.fixes.push(FixRecord {
            code: code.to_string(),
            title: title.to_string(),
        });
    }

    fn display(&self, path: &Path) -> String {
        crate::engine::display_path(&self.project_dir, path)
    }

    /// Where a write to `path` really lands: symlinks are followed, but only inside the project.
    fn resolve(&self, path: &Path) -> Result<PathBuf, WriteError> {
        let Ok(meta) = fs::symlink_metadata(path) else {
            return Ok(path.to_path_buf());
        };
        if !meta.file_type().is_symlink() {
            return Ok(path.to_path_buf());
        }
        let target = fs::canonicalize(path).map_err(io_err(path))?;
        let project = fs::canonicalize(&self.project_dir).map_err(io_err(&self.project_dir))?;
        if target.starts_with(&project) {
            Ok(target)
        } else {
            Err(WriteError::SymlinkLeavesProject(self.display(path)))
        }
    }

    /// Copies `path` into the run folder the first time the run touches it.
    fn backup(&mut self, path: &Path) -> Result<(), WriteError> {
        let shown = self.display(path);
        if self.manifest.files.iter().any(|f| f.path == shown) {
            return Ok(());
        }
        private_dir(&self.run_dir.join("files"))?;
        let symlink_target = fs::read_link(path).ok().map(|t| t.display().to_string());
        let record = match fs::metadata(path) {
            Ok(meta) => {
                let bytes = fs::read(path).map_err(io_err(path))?;
                let backup = format!("files/{}", self.manifest.files.len());
                write_atomic(&self.run_dir.join(&backup), &bytes, PRIVATE_FILE_MODE)?;
                FileRecord {
                    path: shown,
                    existed: true,
                    mode: Some(meta.permissions().mode() & 0o7777),
                    sha256_before: Some(sha256_hex(&bytes)),
                    sha256_after: None,
                    backup: Some(backup),
                    symlink_target,
                }
            }
            Err(err) if err.kind() == io::ErrorKind::NotFound => FileRecord {
                path: shown,
                existed: false,
                mode: None,
                sha256_before: None,
                sha256_after: None,
                backup: None,
                symlink_target,
            },
            Err(err) => return Err(io_err(path)(err)),
        };
        self.manifest.files.push(record);
        // The manifest is kept current, so a crash mid-run still leaves what undo needs.
        self.write_manifest()
    }

    /// Refuses when the file on disk is not the one that was diagnosed.
    pub fn expect_unchanged(
        &self,
        path: &Path,
        diagnosed: Option<&[u8]>,
    ) -> Result<(), WriteError> {
        let now = fs::read(path).ok();
        if now.as_deref() != diagnosed {
            return Err(WriteError::ChangedSinceDiagnosed(self.display(path)));
        }
        Ok(())
    }

    pub fn write(&mut self, path: &Path, bytes: &[u8]) -> Result<(), WriteError> {
        let real = self.resolve(path)?;
        self.backup(path)?;
        let mode = fs::metadata(&real)
            .map(|m| m.permissions().mode() & 0o7777)
            .unwrap_or(NEW_FILE_MODE);
        write_atomic(&real, bytes, mode)
    }

    pub fn set_mode(&mut self, path: &Path, mode: u32) -> Result<(), WriteError> {
        let real = self.resolve(path)?;
        self.backup(path)?;
        fs::set_permissions(&real, fs::Permissions::from_mode(mode)).map_err(io_err(&real))
    }

    /// Moves `from` to `to` inside the project; the bytes move unchanged (a PEM is never
    /// rewritten). Both paths are backed up first, so undo can put each back, including a file
    /// the rename replaces (promoting a temp file over a broken main file).
    pub fn rename(&mut self, from: &Path, to: &Path) -> Result<(), WriteError> {
        let real_from = self.resolve(from)?;
        let real_to = self.resolve(to)?;
        self.backup(from)?;
        self.backup(to)?;
        fs::rename(&real_from, &real_to).map_err(io_err(&real_from))?;
        sync_dir(real_to.parent().unwrap_or(Path::new(".")))
    }

    /// Moves `path` into the run's quarantine (the doctor's only way to "delete").
    pub fn quarantine(&mut self, path: &Path) -> Result<(), WriteError> {
        self.backup(path)?;
        let rel = path
            .strip_prefix(&self.state_dir)
            .map(Path::to_path_buf)
            .unwrap_or_else(|_| PathBuf::from(path.file_name().unwrap_or_default()));
        let to = self.quarantine_dir.join(&rel);
        if let Some(parent) = to.parent() {
            private_dir(parent)?;
        }
        fs::rename(path, &to).map_err(io_err(path))?;
        if let Ok(meta) = fs::symlink_metadata(&to) {
            if meta.is_file() {
                let keep = meta.permissions().mode() & 0o7777 & PRIVATE_FILE_MODE;
                let _ = fs::set_permissions(&to, fs::Permissions::from_mode(keep.max(0o400)));
            }
        }
        self.manifest.quarantined.push(QuarantineRecord {
            from: self.display(path),
            to: crate::engine::display_path(&self.state_dir, &to),
        });
        self.write_manifest()
    }

    /// Saves data (a JSON value's bytes) into a named JSON-array file in the quarantine.
    pub fn save_to_quarantine(&mut self, name: &str, item: &[u8]) {
        match self.saved.iter_mut().find(|(n, _)| n == name) {
            Some((_, items)) => items.push(item.to_vec()),
            None => self.saved.push((name.to_string(), vec![item.to_vec()])),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.manifest.files.is_empty() && self.saved.is_empty()
    }

    fn write_manifest(&self) -> Result<(), WriteError> {
        private_dir(&self.run_dir)?;
        let text = serde_json::to_string_pretty(&self.manifest).unwrap_or_default();
        write_atomic(
            &self.run_dir.join("manifest.json"),
            text.as_bytes(),
            PRIVATE_FILE_MODE,
        )
    }

    /// Seals the run: records each file's new hash. A run that changed nothing leaves nothing.
    pub fn commit(mut self) -> Result<Option<String>, WriteError> {
        for (name, items) in std::mem::take(&mut self.saved) {
            private_dir(&self.quarantine_dir)?;
            let body: Vec<String> = items
                .iter()
                .map(|i| String::from_utf8_lossy(i).into_owned())
                .collect();
            let text = format!("[\n  {}\n]\n", body.join(",\n  "));
            let path = self.quarantine_dir.join(&name);
            write_atomic(&path, text.as_bytes(), PRIVATE_FILE_MODE)?;
            self.manifest
                .saved
                .push(crate::engine::display_path(&self.state_dir, &path));
        }
        if self.manifest.files.is_empty() && self.manifest.saved.is_empty() {
            let _ = fs::remove_dir_all(&self.run_dir);
            return Ok(None);
        }
        for record in &mut self.manifest.files {
            let path = absolute(&self.project_dir, &record.path);
            record.sha256_after = fs::read(&path).ok().map(|b| sha256_hex(&b));
        }
        // A file backed up for a fix that then failed is unchanged: not part of the run.
        let project_dir = self.project_dir.clone();
        self.manifest.files.retain(|r| {
            let mode_now = fs::metadata(absolute(&project_dir, &r.path))
                .ok()
                .map(|m| m.permissions().mode() & 0o7777);
            r.sha256_after != r.sha256_before || mode_now != r.mode
        });
        if self.manifest.files.is_empty()
            && self.manifest.saved.is_empty()
            && self.manifest.quarantined.is_empty()
        {
            let _ = fs::remove_dir_all(&self.run_dir);
            return Ok(None);
        }
        self.write_manifest()?;
        Ok(Some(self.manifest.run_id.clone()))
    }

    /// Puts every touched file back as it was and forgets the run.
    pub fn rollback(self) -> Result<(), WriteError> {
        restore(
            &self.project_dir,
            &self.state_dir,
            &self.run_dir,
            &self.manifest,
        )?;
        let _ = fs::remove_dir_all(&self.run_dir);
        let _ = fs::remove_dir_all(&self.quarantine_dir);
        Ok(())
    }
}

/// `.<name>.instar-doctor.<pid>.tmp` whose pid no longer runs.
fn own_temp_writer_dead(name: &str) -> bool {
    let Some(rest) = name.strip_suffix(".tmp") else {
        return false;
    };
    let Some((_, pid)) = rest.rsplit_once(".instar-doctor.") else {
        return false;
    };
    name.starts_with('.')
        && pid.parse::<u32>().is_ok_and(|pid| {
            pid != std::process::id() && !crate::host::SystemHost.process_alive(pid)
        })
}

fn absolute(project_dir: &Path, shown: &str) -> PathBuf {
    let path = Path::new(shown);
    if path.is_absolute() {
        path.to_path_buf()
    } else {
        project_dir.join(path)
    }
}

/// Restores the files of `manifest` from `run_dir`: quarantined files move back, backed-up files
/// are rewritten with their mode, files the run created are moved to `created_to` (or removed on
/// rollback, where nothing of the user's is in them).
fn restore(
    project_dir: &Path,
    state_dir: &Path,
    run_dir: &Path,
    manifest: &Manifest,
) -> Result<(), WriteError> {
    for q in manifest.quarantined.iter().rev() {
        let from = state_dir.join(&q.to);
        let to = absolute(project_dir, &q.from);
        if from.exists() && !to.exists() {
            fs::rename(&from, &to).map_err(io_err(&from))?;
        }
    }
    for record in &manifest.files {
        let path = absolute(project_dir, &record.path);
        match (&record.backup, record.existed) {
            (Some(backup), true) => {
                let bytes =
                    fs::read(run_dir.join(backup)).map_err(io_err(&run_dir.join(backup)))?;
                let real = fs::canonicalize(&path).unwrap_or(path.clone());
                write_atomic(&real, &bytes, record.mode.unwrap_or(NEW_FILE_MODE))?;
            }
            _ => {
                if fs::symlink_metadata(&path).is_ok() {
                    fs::remove_file(&path).map_err(io_err(&path))?;
                }
            }
        }
    }
    Ok(())
}

/// Runs recorded under `.instar/doctor/runs/`, newest first.
pub fn runs(state_dir: &Path) -> Vec<Manifest> {
    let dir = state_dir.join(DOCTOR_DIR).join("runs");
    let mut manifests: Vec<Manifest> = fs::read_dir(&dir)
        .into_iter()
        .flatten()
        .filter_map(|e| e.ok())
        .filter_map(|e| fs::read(e.path().join("manifest.json")).ok())
        .filter_map(|bytes| serde_json::from_slice(&bytes).ok())
        .collect();
    manifests.sort_by(|a, b| b.run_id.cmp(&a.run_id));
    manifests
}

#[derive(Debug)]
pub struct UndoOutcome {
    pub run_id: String,
    pub restored: Vec<String>,
}

/// Restores the files of run `run_id` (default: the newest not yet undone).
pub fn undo(
    project_dir: &Path,
    state_dir: &Path,
    run_id: Option<&str>,
    force: bool,
) -> Result<UndoOutcome, WriteError> {
    let _lock = lock(state_dir)?;
    let all = runs(state_dir);
    let manifest = match run_id {
        Some(id) => all.into_iter().find(|m| m.run_id == id).ok_or_else(|| {
            WriteError::Refused(format!("no fix run {id} under .instar/doctor/runs/"))
        })?,
        None => all
            .into_iter()
            .find(|m| m.status == RunStatus::Applied)
            .ok_or_else(|| WriteError::Refused("no fix run to undo".to_string()))?,
    };
    if manifest.status == RunStatus::Undone {
        return Err(WriteError::Refused(format!(
            "run {} was already undone",
            manifest.run_id
        )));
    }
    if !force {
        for record in &manifest.files {
            let now = fs::read(absolute(project_dir, &record.path))
                .ok()
                .map(|b| sha256_hex(&b));
            if now != record.sha256_after {
                return Err(WriteError::Refused(format!(
                    "{} changed after run {}; nothing was restored (use --force to restore anyway)",
                    record.path, manifest.run_id
                )));
            }
        }
    }
    let run_dir = state_dir
        .join(DOCTOR_DIR)
        .join("runs")
        .join(&manifest.run_id);
    // Files the run created are the user's now too: keep them in quarantine rather than delete.
    let undo_quarantine = state_dir
        .join(DOCTOR_DIR)
        .join("quarantine")
        .join(format!("{}-undo", manifest.run_id));
    for record in manifest.files.iter().filter(|r| !r.existed) {
        let path = absolute(project_dir, &record.path);
        if path.exists() {
            private_dir(&undo_quarantine)?;
            let name = path.file_name().unwrap_or_default();
            fs::rename(&path, undo_quarantine.join(name)).map_err(io_err(&path))?;
        }
    }
    restore(project_dir, state_dir, &run_dir, &manifest)?;
    let mut done = manifest.clone();
    done.status = RunStatus::Undone;
    let text = serde_json::to_string_pretty(&done).unwrap_or_default();
    write_atomic(
        &run_dir.join("manifest.json"),
        text.as_bytes(),
        PRIVATE_FILE_MODE,
    )?;
    Ok(UndoOutcome {
        run_id: manifest.run_id,
        restored: manifest.files.iter().map(|f| f.path.clone()).collect(),
    })
}

/// Whether instar itself appears to run for this agent: its lifeline holds
/// `state/lifeline.lock` (`{"pid": …}`) while alive. instar's writers ignore our lock, so fix runs
/// refuse while it runs.
pub fn instar_running(state_dir: &Path, host: &dyn crate::host::Host) -> Option<u32> {
    let bytes = fs::read(state_dir.join("state/lifeline.lock")).ok()?;
    let value: serde_json::Value = serde_json::from_slice(&bytes).ok()?;
    let pid = value.get("pid")?.as_u64()? as u32;
    host.process_alive(pid).then_some(pid)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn agent() -> (tempfile::TempDir, PathBuf, PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let project = dir.path().to_path_buf();
        let state = project.join(".instar");
        fs::create_dir_all(&state).unwrap();
        (dir, project, state)
    }

    #[test]
    fn atomic_write_keeps_the_mode_and_leaves_no_temp_file() {
        let (_d, _p, state) = agent();
        let file = state.join("config.json");
        write_atomic(&file, b"{}", 0o600).unwrap();
        assert_eq!(
            fs::metadata(&file).unwrap().permissions().mode() & 0o777,
            0o600
        );
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
        let run_dir = state.join("doctor/runs").join(tx.run_id());
        tx.rollback().unwrap();
        assert_eq!(fs::read(&jobs).unwrap(), b"[1]");
        assert_eq!(
            fs::metadata(&jobs).unwrap().permissions().mode() & 0o777,
            0o640
        );
        assert_eq!(fs::read(&temp).unwrap(), b"x");
        assert!(!state.join("new.json").exists());
        assert!(!run_dir.exists());
    }

    #[test]
    fn commit_then_undo_round_trips_and_refuses_after_later_edits() {
        let (_d, project, state) = agent();
        let jobs = state.join("jobs.json");
        fs::write(&jobs, b"[1]").unwrap();
        let mut tx = Transaction::begin(&project, &state).unwrap();
        tx.write(&jobs, b"[]").unwrap();
        let id = tx.commit().unwrap().expect("a run that wrote is recorded");
        assert!(id.ends_with("-0001"), "{id}");
        assert_eq!(
            fs::read_to_string(state.join("doctor/.gitignore")).unwrap(),
            "*\n"
        );
        let run_mode = fs::metadata(state.join("doctor/runs").join(&id))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(run_mode & 0o777, 0o700);

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
        assert!(matches!(
            undo(&project, &state, None, false),
            Err(WriteError::Refused(_))
        ));
    }

    #[test]
    fn a_run_that_changed_nothing_records_nothing() {
        let (_d, project, state) = agent();
        let tx = Transaction::begin(&project, &state).unwrap();
        assert_eq!(tx.commit().unwrap(), None);
        assert!(runs(&state).is_empty());
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
}

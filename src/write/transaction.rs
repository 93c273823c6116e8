//! A fix run: backups and an in-progress manifest before any change, atomic changes, then a
//! commit, or a rollback to the backed-up bytes.

use std::fs;
use std::io;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use super::atomic::PRIVATE_FILE_MODE;
use super::atomic::{private_dir, remove_empty_dirs, sync_dir, temp_writer, write_atomic};
use super::failpoint;
use super::manifest::{
    self, new_run_id, write_manifest, FileRecord, FixRecord, Manifest, QuarantineRecord, RunStatus,
};
use super::{doctor_dir, io_err, lock, sha256_hex, RunLock, WriteError, DOCTOR_DIR};

/// Mode for files a run creates where nothing stood before (instar's writers use 0644).
pub(crate) const NEW_FILE_MODE: u32 = 0o644;

/// A fix run in progress. Dropping it without `commit` or `rollback` (a panic) leaves its
/// manifest in progress: the next doctor rolls it back.
pub struct Transaction {
    project_dir: PathBuf,
    state_dir: PathBuf,
    run_dir: PathBuf,
    quarantine_dir: PathBuf,
    manifest: Manifest,
    /// Whether the in-progress manifest is on disk (written before the first change).
    recorded: bool,
    /// Data saved into the quarantine, by file name, written when the run finishes.
    saved: Vec<(String, Vec<Vec<u8>>)>,
    _lock: RunLock,
}

impl Transaction {
    /// Takes the lock, then names the run (under the lock, so two runs never share a name).
    pub fn begin(project_dir: &Path, state_dir: &Path) -> Result<Self, WriteError> {
        let lock = lock(state_dir)?;
        Self::begin_locked(project_dir, state_dir, lock)
    }

    /// Starts a run under a lock the caller already holds.
    pub fn begin_locked(
        project_dir: &Path,
        state_dir: &Path,
        lock: RunLock,
    ) -> Result<Self, WriteError> {
        doctor_dir(state_dir)?;
        let run_id = new_run_id(state_dir);
        Ok(Transaction {
            project_dir: project_dir.to_path_buf(),
            state_dir: state_dir.to_path_buf(),
            run_dir: manifest::run_dir(state_dir, &run_id),
            quarantine_dir: manifest::quarantine_dir(state_dir, &run_id),
            manifest: Manifest {
                run_id,
                doctor_version: env!("CARGO_PKG_VERSION").to_string(),
                status: RunStatus::InProgress,
                pid: Some(std::process::id()),
                undoes: None,
                files: Vec::new(),
                quarantined: Vec::new(),
                saved: Vec::new(),
                fixes: Vec::new(),
            },
            recorded: false,
            saved: Vec::new(),
            _lock: lock,
        })
    }

    /// Marks this run as the one `undo` makes to undo `run_id`.
    pub fn undoing(mut self, run_id: &str) -> Self {
        self.manifest.undoes = Some(run_id.to_string());
        self
    }

    /// Quarantines temp files an earlier doctor left when it was killed mid-write. We hold the
    /// lock, and only a lock holder writes, so every temp file not named with our pid is an
    /// orphan: no pid liveness test, which a reused pid would fool.
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
                } else if kind.is_file()
                    && temp_writer(&name).is_some_and(|pid| pid != std::process::id())
                {
                    found.push(path);
                }
            }
        }
        found.sort();
        self.prepare(&found)?;
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

    /// Backs up every path a step is about to touch and records them all in the in-progress
    /// manifest (fsynced) before the step changes anything: whichever change a crash
    /// interrupts, the manifest already names its file, old hash and backup.
    pub fn prepare(&mut self, paths: &[PathBuf]) -> Result<(), WriteError> {
        let before = self.manifest.files.len();
        for path in paths {
            // A symlink leaving the project is refused by the change itself; nothing to copy.
            if self.resolve(path).is_ok() {
                self.copy_backup(path)?;
            }
        }
        if self.manifest.files.len() != before || !self.recorded {
            if self.manifest.files.is_empty() {
                return Ok(());
            }
            self.write_manifest()?;
            self.recorded = true;
        }
        failpoint::hit("after-backups");
        Ok(())
    }

    /// Backs up `path` unless `prepare` already did (every change goes through here, so nothing
    /// is changed unrecorded even when a caller forgot to prepare).
    fn backup(&mut self, path: &Path) -> Result<(), WriteError> {
        let shown = self.display(path);
        if self.recorded && self.manifest.files.iter().any(|f| f.path == shown) {
            return Ok(());
        }
        self.prepare(&[path.to_path_buf()])
    }

    /// Copies `path` into the run folder the first time the run touches it.
    fn copy_backup(&mut self, path: &Path) -> Result<(), WriteError> {
        let shown = self.display(path);
        if self.manifest.files.iter().any(|f| f.path == shown) {
            return Ok(());
        }
        let symlink_target = fs::read_link(path).ok().map(|t| t.display().to_string());
        let record = match fs::metadata(path) {
            Ok(meta) => {
                let bytes = fs::read(path).map_err(io_err(path))?;
                let backup = format!("files/{}", self.manifest.files.len());
                private_dir(&self.run_dir.join("files"))?;
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
        Ok(())
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
        self.write_with_mode(path, bytes, None)
    }

    /// Writes `bytes` with `mode`, or the file's current mode (a new file's default).
    pub fn write_with_mode(
        &mut self,
        path: &Path,
        bytes: &[u8],
        mode: Option<u32>,
    ) -> Result<(), WriteError> {
        let real = self.resolve(path)?;
        self.backup(path)?;
        let mode = mode.unwrap_or_else(|| {
            fs::metadata(&real)
                .map(|m| m.permissions().mode() & 0o7777)
                .unwrap_or(NEW_FILE_MODE)
        });
        write_atomic(&real, bytes, mode)
    }

    pub fn set_mode(&mut self, path: &Path, mode: u32) -> Result<(), WriteError> {
        let real = self.resolve(path)?;
        self.backup(path)?;
        fs::set_permissions(&real, fs::Permissions::from_mode(mode)).map_err(io_err(&real))?;
        failpoint::hit("mode-set");
        Ok(())
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
        sync_dir(real_to.parent().unwrap_or(Path::new(".")))?;
        failpoint::hit("renamed");
        Ok(())
    }

    /// Moves `path` into the run's quarantine (the doctor's only way to "delete"). The move is
    /// recorded before it is made, so a crash right after it still finds the file.
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
        self.manifest.quarantined.push(QuarantineRecord {
            from: self.display(path),
            to: crate::engine::display_path(&self.state_dir, &to),
        });
        self.write_manifest()?;
        fs::rename(path, &to).map_err(io_err(path))?;
        if let Ok(meta) = fs::symlink_metadata(&to) {
            if meta.is_file() {
                // The doctor's folder holds only private files; the mode to restore is recorded.
                let _ = fs::set_permissions(&to, fs::Permissions::from_mode(PRIVATE_FILE_MODE));
            }
        }
        failpoint::hit("quarantined");
        Ok(())
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
        write_manifest(&self.run_dir, &self.manifest)
    }

    /// Forgets a run folder that recorded nothing worth keeping: the manifest goes first, so a
    /// crash halfway never leaves a manifest without its backups.
    fn forget(&self) {
        let _ = fs::remove_file(self.run_dir.join("manifest.json"));
        let _ = fs::remove_dir_all(&self.run_dir);
        remove_empty_dirs(&self.quarantine_dir);
    }

    /// Seals the run: records each file's new hash and marks it committed (the commit point:
    /// one atomic manifest write). A run that changed nothing leaves nothing.
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
            self.forget();
            return Ok(None);
        }
        failpoint::hit("before-commit");
        self.manifest.status = RunStatus::Committed;
        self.write_manifest()?;
        failpoint::hit("committed");
        Ok(Some(self.manifest.run_id.clone()))
    }

    /// Puts every touched file back as it was. The run's folder stays, marked rolled back, with
    /// the backups, unless the run had recorded nothing.
    pub fn rollback(mut self) -> Result<(), WriteError> {
        if !self.recorded {
            self.forget();
            return Ok(());
        }
        restore(
            &self.project_dir,
            &self.state_dir,
            &self.run_dir,
            &self.manifest,
        )?;
        self.manifest.status = RunStatus::RolledBack;
        self.write_manifest()?;
        remove_empty_dirs(&self.quarantine_dir);
        Ok(())
    }
}

pub(crate) fn absolute(project_dir: &Path, shown: &str) -> PathBuf {
    let path = Path::new(shown);
    if path.is_absolute() {
        path.to_path_buf()
    } else {
        project_dir.join(path)
    }
}

/// The mode `path` had before the run, for a regular file the run backed up.
pub(crate) fn recorded_mode(manifest: &Manifest, path: &str) -> Option<u32> {
    manifest
        .files
        .iter()
        .find(|r| r.path == path && r.symlink_target.is_none())
        .and_then(|r| r.mode)
}

/// Restores the files of `manifest` from `run_dir`: quarantined files move back, backed-up files
/// are rewritten with their mode, files the run created are removed (nothing of the user's is in
/// them). Idempotent, so a rollback that is itself interrupted is simply done again.
pub(crate) fn restore(
    project_dir: &Path,
    state_dir: &Path,
    run_dir: &Path,
    manifest: &Manifest,
) -> Result<(), WriteError> {
    for q in manifest.quarantined.iter().rev() {
        let from = state_dir.join(&q.to);
        let to = absolute(project_dir, &q.from);
        if fs::symlink_metadata(&from).is_ok() && fs::symlink_metadata(&to).is_err() {
            // The quarantine holds it at 0600: its own mode comes back before it reappears.
            if let Some(mode) = recorded_mode(manifest, &q.from) {
                fs::set_permissions(&from, fs::Permissions::from_mode(mode))
                    .map_err(io_err(&from))?;
            }
            fs::rename(&from, &to).map_err(io_err(&from))?;
        }
    }
    for record in &manifest.files {
        failpoint::hit("restoring");
        let path = absolute(project_dir, &record.path);
        match (&record.backup, record.existed) {
            (Some(backup), true) => {
                let bytes =
                    fs::read(run_dir.join(backup)).map_err(io_err(&run_dir.join(backup)))?;
                let real = fs::canonicalize(&path).unwrap_or(path.clone());
                let mode = record.mode.unwrap_or(NEW_FILE_MODE);
                let same = fs::read(&real).is_ok_and(|now| now == bytes)
                    && fs::metadata(&real).is_ok_and(|m| m.permissions().mode() & 0o7777 == mode);
                if !same {
                    write_atomic(&real, &bytes, mode)?;
                }
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

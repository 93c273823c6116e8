//! A fix run: backups and an in-progress manifest before any change, atomic changes, then a
//! commit, or a rollback to the backed-up bytes.
//!
//! Another writer (instar itself, under `--allow-running`) may change a file while we work on
//! it. Three rules keep its data: the backup is the very bytes that were diagnosed (read once and
//! compared by hash with what the checks read; a file that differs is refused); each write
//! compares the file with what we last knew of it right before its rename, and leaves it alone
//! if it changed; and a rollback puts a backup back only over the bytes the run itself wrote.

use std::cell::RefCell;
use std::collections::{HashMap, HashSet};
use std::fs;
use std::path::{Path, PathBuf};

use crate::fix::SharedBytes;
use crate::source::Bytes;

use super::atomic::{
    remove_empty_dirs, set_mode_nofollow, sync_dir, temp_parts, write_atomic,
    write_atomic_streamed, write_atomic_streamed_if, PRIVATE_FILE_MODE,
};
use super::confine::{check_dir, manifest_path, own_dir, resolve_target};
use super::manifest::{new_run_id, write_manifest};
use super::probe::{digest_now, hash_now, holds, mode_now, now, stream_now, Digest, Now, Same};
use super::saved::Saved;
use super::{doctor_dir, lock, RunLock, WriteError};
use crate::digest::{hex_of_digest, sha256_hex};
use crate::failpoint;
use crate::paths::DOCTOR_DIR;
use crate::runs::{self, FileRecord, FixRecord, Manifest, QuarantineRecord, RunStatus};
use sha2::{Digest as _, Sha256};

/// A file's bytes as pieces: handed in order to the sink it is given.
pub type Pieces<'a> =
    dyn Fn(&mut dyn FnMut(&[u8]) -> std::io::Result<()>) -> std::io::Result<()> + 'a;

/// Why `stream_backup` drops the copy it streamed (never shown: the caller reads the digest).
const BACKUP_NOT_KEPT: &str = "the backup is not the file the checks read";

/// Mode for files a run creates where nothing stood before (instar's writers use 0644).
pub(crate) const NEW_FILE_MODE: u32 = 0o644;

/// A file a rollback did not put back because someone else changed it after the run did: both
/// versions are kept, the current one in place and the run's copy of the old one in its folder.
#[derive(Debug, Clone, PartialEq)]
pub struct Kept {
    /// The file, relative to the project.
    pub path: String,
    /// Where the run's copy of its old bytes is, relative to the project (`None`: the run had
    /// created the file, so there is no older version).
    pub backup: Option<String>,
}

impl Kept {
    pub fn describe(list: &[Kept]) -> String {
        list.iter()
            .map(|k| match &k.backup {
                Some(b) => format!(
                    "{} (kept as another writer left it; its bytes from before the run are in {b})",
                    k.path
                ),
                None => format!("{} (kept as another writer left it)", k.path),
            })
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// What a rollback did.
#[derive(Debug)]
pub struct RolledBack {
    /// False when no file had changed (the run stopped before its first change): then the run
    /// left no record at all.
    pub changed: bool,
    pub kept: Vec<Kept>,
    /// The rollback is done but its record could not be marked so (a full disk): the run still
    /// reads "in progress", and the next fix run or `undo` finishes it (a no-op on the files).
    pub unrecorded: Option<WriteError>,
}

impl RolledBack {
    /// The end of the one-line error of a run that was aborted, saying what was left.
    pub fn describe(&self, run_id: &str) -> String {
        let mut text = if !self.changed {
            "the run stopped before its first change: nothing was changed".to_string()
        } else if self.kept.is_empty() {
            "every file the run had changed was put back".to_string()
        } else {
            format!(
                "every file the run had changed was put back except {}",
                Kept::describe(&self.kept)
            )
        };
        if let Some(err) = &self.unrecorded {
            text.push_str(&format!(
                "; run {run_id} could not be marked rolled back ({err}): the next `instar-doctor --fix` or `instar-doctor undo` finishes it"
            ));
        }
        text
    }
}

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
    /// Data saved into the quarantine, by file name, written when the run finishes. Shared
    /// with the fixes that carry it (often ranges of the file the checks read), not copied,
    /// and kept as ranges of those bytes (`saved`).
    saved: Saved,
    /// What the checks read (`None`: absent), for files not backed up yet: shared with the
    /// checks' context, not copied, and compared with the file as its backup streams.
    diagnosed: HashMap<String, Option<Bytes>>,
    /// Files found changed by someone else since they were diagnosed: not touched again.
    changed_under_us: HashSet<String>,
    /// What each file holds after this run's own changes (`None`: absent, e.g. renamed away).
    known: HashMap<String, Option<String>>,
    /// The bytes of each file backed up as the checks read them, until the run changes it: its
    /// compare-and-swap compares them with the file instead of hashing the file again (a 47 MB
    /// jobs.json was hashed three times per run; issue #11).
    known_bytes: HashMap<String, Bytes>,
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
            run_dir: runs::run_dir(state_dir, &run_id),
            quarantine_dir: runs::quarantine_dir(state_dir, &run_id),
            manifest: Manifest {
                run_id,
                doctor_version: env!("CARGO_PKG_VERSION").to_string(),
                status: RunStatus::InProgress,
                pid: Some(std::process::id()),
                undoes: None,
                files: Vec::new(),
                records_writes: true,
                quarantined: Vec::new(),
                saved: Vec::new(),
                fixes: Default::default(),
            },
            recorded: false,
            saved: Saved::default(),
            diagnosed: HashMap::new(),
            changed_under_us: HashSet::new(),
            known: HashMap::new(),
            known_bytes: HashMap::new(),
            _lock: lock,
        })
    }

    /// Marks this run as the one `undo` makes to undo `run_id`.
    pub fn undoing(mut self, run_id: &str) -> Self {
        self.manifest.undoes = Some(run_id.to_string());
        self
    }

    /// Quarantines temp files an earlier doctor left when it was killed mid-write. We hold the
    /// lock and have written nothing yet, so every name of ours found is an orphan (no pid
    /// liveness test, which a reused pid would fool) — or was planted by the tree: a symlink or
    /// FIFO under our name is moved as it is (the link itself, never its target).
    pub fn sweep_own_temp_files(&mut self) -> Result<(), WriteError> {
        // Four levels below the state folder (instar's files live in its first two), not the
        // doctor's own folder. Each entry's own type (lstat): a linked folder is not walked into,
        // and an unreadable one is passed over.
        let walk = walkdir::WalkDir::new(&self.state_dir)
            .min_depth(1)
            .max_depth(4)
            .into_iter()
            .filter_entry(|e| !(e.file_type().is_dir() && e.file_name() == DOCTOR_DIR));
        let mut found: Vec<PathBuf> = walk
            .flatten()
            .filter(|e| !e.file_type().is_dir())
            .filter(|e| temp_parts(&e.file_name().to_string_lossy()).is_some())
            .map(walkdir::DirEntry::into_path)
            .collect();
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

    /// Records a fix applied; a title the finding shares (`Fix::shared_title`) is not copied.
    pub fn record_fix(&mut self, code: &'static str, title: impl Into<std::sync::Arc<str>>) {
        self.manifest.fixes.push(FixRecord {
            code: code.into(),
            title: title.into(),
        });
    }

    fn display(&self, path: &Path) -> String {
        crate::paths::display_path(&self.project_dir, path)
    }

    fn record(&self, shown: &str) -> Option<&FileRecord> {
        self.manifest.files.iter().find(|f| f.path == shown)
    }

    /// What the file should hold now as far as this run knows: what its own changes left
    /// there, else what it backed up (`None`: absent).
    fn last_known(&self, shown: &str) -> Option<String> {
        match self.known.get(shown) {
            Some(known) => known.clone(),
            None => self.record(shown).and_then(|r| r.sha256_before.clone()),
        }
    }

    /// Declares the bytes the checks read from `path` (`None`: it was absent). The run backs up
    /// and changes the file only while it still holds them.
    pub fn expect_diagnosed(&mut self, path: &Path, diagnosed: Option<&[u8]>) {
        self.expect_diagnosed_bytes(path, diagnosed.map(|b| Bytes::new(b.to_vec())));
    }

    /// `expect_diagnosed` of bytes the checks' context holds, shared rather than copied.
    pub fn expect_diagnosed_bytes(&mut self, path: &Path, diagnosed: Option<Bytes>) {
        let shown = self.display(path);
        if self.record(&shown).is_some() {
            // Backed up by an earlier pass: what the run left there is known by its hash.
            if self.last_known(&shown) != diagnosed.as_deref().map(|b| sha256_hex(b)) {
                self.changed_under_us.insert(shown);
            }
        } else {
            self.diagnosed.insert(shown, diagnosed);
        }
    }

    /// Whether `real` (the file shown as `shown`) still holds what the run last knew of it:
    /// the bytes the checks read while the run has not changed it, else what the run's own
    /// last change left (or, for a file backed up but not changed, its hash from then).
    fn holds_known(&self, shown: &str, real: &Path) -> bool {
        match (self.known.get(shown), self.known_bytes.get(shown)) {
            (None, Some(bytes)) => holds(real, bytes),
            _ => hash_now(real) == self.last_known(shown),
        }
    }

    /// The run changes what stands at `shown`: from now on it is known by its hash.
    fn now_knows(&mut self, shown: String, hash: Option<String>) {
        self.known_bytes.remove(&shown);
        self.known.insert(shown, hash);
    }

    /// Backs up every path a step is about to touch and records them all in the in-progress
    /// manifest (fsynced) before the step changes anything: whichever change a crash
    /// interrupts, the manifest already names its file, old hash and backup. A folder on the
    /// way that is a link refuses the whole run here, before anything changed.
    pub fn prepare(&mut self, paths: &[PathBuf]) -> Result<(), WriteError> {
        let before = self.manifest.files.len();
        for path in paths {
            match resolve_target(&self.project_dir, path) {
                Ok(_) => self.copy_backup(path)?,
                // A file leaving the project is refused by its change, and only that one; there
                // is nothing of the project's to copy.
                Err(err) if err.refuses_one_file() => {}
                Err(err) => return Err(err),
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
        if self.recorded && self.record(&shown).is_some() {
            return Ok(());
        }
        self.prepare(&[path.to_path_buf()])
    }

    /// Copies `path` into the run folder the first time the run touches it: one read, compared
    /// with what the checks read. A link or a FIFO is recorded as it stands (a quarantine moves
    /// it whole); a link to a file inside the project is backed up by its target's bytes.
    fn copy_backup(&mut self, path: &Path) -> Result<(), WriteError> {
        let shown = self.display(path);
        if self.record(&shown).is_some() || self.changed_under_us.contains(&shown) {
            return Ok(());
        }
        let link = fs::symlink_metadata(path).ok();
        let symlink_target = link
            .as_ref()
            .filter(|m| m.file_type().is_symlink())
            .and_then(|_| fs::read_link(path).ok())
            .map(|t| t.display().to_string());
        let backup = format!("files/{}", self.manifest.files.len());
        let expected = self.diagnosed.remove(&shown);
        let (state, same) = match (&link, resolve_target(&self.project_dir, path)) {
            (None, _) => (Digest::Missing, false),
            (Some(_), Ok(real)) => self.stream_backup(&real, &backup, expected.as_ref())?,
            (Some(_), Err(_)) => (Digest::Other, false),
        };
        // The file must stand as the checks saw it: absent if they found nothing, else a
        // regular file holding the very bytes they read (compared as the backup streamed).
        if let Some(expected) = &expected {
            let agrees = match (expected, &state) {
                (None, Digest::Missing) => true,
                (Some(_), Digest::File { .. }) => same,
                _ => false,
            };
            if !agrees {
                self.changed_under_us.insert(shown);
                return Ok(());
            }
        }
        if let (Some(Some(bytes)), Digest::File { .. }) = (expected, &state) {
            self.known_bytes.insert(shown.clone(), bytes);
        }
        let record = match state {
            Digest::File { sha256, mode } => FileRecord {
                path: shown,
                existed: true,
                mode: Some(mode),
                sha256_before: Some(sha256),
                sha256_after: None,
                sha256_written: None,
                backup: Some(backup),
                symlink_target,
            },
            Digest::Missing => FileRecord {
                path: shown,
                existed: false,
                mode: None,
                sha256_before: None,
                sha256_after: None,
                sha256_written: None,
                backup: None,
                symlink_target,
            },
            Digest::Other => FileRecord {
                path: shown,
                existed: true,
                mode: None,
                sha256_before: None,
                sha256_after: None,
                sha256_written: None,
                backup: None,
                symlink_target,
            },
        };
        self.manifest.files.push(record);
        Ok(())
    }

    /// Copies the regular file at `real` to the run's `backup` as it reads and hashes it: one
    /// read, never held whole (a 47 MB jobs.json was read into memory for its backup, issue
    /// #11), and compared on the way with the bytes the checks read, when they read the file
    /// (`expected`): the digest, and whether the file was those bytes. The copy lands only
    /// when it is a regular file's and, if the checks read the file, the bytes they read;
    /// otherwise it is dropped and the digest says why.
    fn stream_backup(
        &self,
        real: &Path,
        backup: &str,
        expected: Option<&Option<Bytes>>,
    ) -> Result<(Digest, bool), WriteError> {
        let regular = fs::metadata(real).map(|m| m.is_file()).unwrap_or(false);
        if !regular {
            // Nothing to copy: a folder, a FIFO, a link to nowhere (said without reading).
            return Ok((digest_now(real)?, false));
        }
        own_dir(&self.state_dir, &self.run_dir.join("files"))?;
        let state: RefCell<Result<Digest, WriteError>> = RefCell::new(Ok(Digest::Other));
        let same = std::cell::Cell::new(false);
        let landed = write_atomic_streamed_if(
            &self.run_dir.join(backup),
            PRIVATE_FILE_MODE,
            |out| {
                let diagnosed = expected.and_then(Option::as_deref);
                let mut copy = Same::new(out, diagnosed.map_or(&[][..], Vec::as_slice));
                *state.borrow_mut() = stream_now(real, &mut copy)?;
                same.set(diagnosed.is_some() && copy.whole());
                Ok(())
            },
            || match &*state.borrow() {
                Ok(Digest::File { .. }) if expected.is_none() || same.get() => Ok(()),
                // Not kept; the caller learns why from the digest.
                _ => Err(WriteError::Refused(BACKUP_NOT_KEPT.to_string())),
            },
        );
        let state = state.into_inner()?;
        match landed {
            Ok(()) => {}
            // Refused just above: the digest says what stands there instead.
            Err(WriteError::Refused(why)) if why == BACKUP_NOT_KEPT => {}
            Err(err) => return Err(err),
        }
        Ok((state, same.get()))
    }

    /// Refuses when the file was found changed since it was diagnosed.
    fn refuse_if_changed(&self, path: &Path) -> Result<(), WriteError> {
        let shown = self.display(path);
        if self.changed_under_us.contains(&shown) {
            return Err(WriteError::ChangedSinceDiagnosed(shown));
        }
        Ok(())
    }

    /// Records, before a change, what the change will leave at `path` (see `FileRecord`).
    fn record_written(&mut self, path: &Path, hash: Option<String>) -> Result<(), WriteError> {
        let shown = self.display(path);
        let Some(record) = self.manifest.files.iter_mut().find(|f| f.path == shown) else {
            return Ok(());
        };
        if record.sha256_written != hash {
            record.sha256_written = hash;
            self.write_manifest()?;
        }
        Ok(())
    }

    /// The compare of the compare-and-swap: `real` must still hold what the run last knew.
    fn still_as_known(&self, path: &Path, real: &Path) -> Result<(), WriteError> {
        let shown = self.display(path);
        if self.holds_known(&shown, real) {
            Ok(())
        } else {
            Err(WriteError::ChangedSinceDiagnosed(shown))
        }
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
        self.write_pieces(path, &|out| out(bytes), mode)
    }

    /// `write_with_mode` of the bytes `pieces` hands to its sink one after the other (it is
    /// called twice: to hash them, then to write them): an edited file is written from the
    /// file the checks read and its edits, never held whole (issue #11).
    pub fn write_pieces(
        &mut self,
        path: &Path,
        pieces: &Pieces<'_>,
        mode: Option<u32>,
    ) -> Result<(), WriteError> {
        self.refuse_if_changed(path)?;
        let real = resolve_target(&self.project_dir, path)?;
        self.backup(path)?;
        self.refuse_if_changed(path)?;
        let mode = mode.unwrap_or_else(|| mode_now(&real).unwrap_or(NEW_FILE_MODE));
        let shown = self.display(path);
        let previous = self.record(&shown).and_then(|r| r.sha256_written.clone());
        let mut hasher = Sha256::new();
        // Hashing cannot fail.
        let _ = pieces(&mut |piece| {
            hasher.update(piece);
            Ok(())
        });
        let new_hash = hex_of_digest(hasher.finalize());
        self.record_written(path, Some(new_hash.clone()))?;
        // The record now names the new bytes: compare against what was there before them.
        let result = write_atomic_streamed_if(
            &real,
            mode,
            |out| pieces(&mut |piece| out.write_all(piece)),
            || {
                if self.holds_known(&shown, &real) {
                    Ok(())
                } else {
                    Err(WriteError::ChangedSinceDiagnosed(shown.clone()))
                }
            },
        );
        if let Err(WriteError::ChangedSinceDiagnosed(_)) = &result {
            // Nothing of ours landed; the manifest's note of the bytes we meant to write is
            // harmless (a rollback compares with them and finds another writer's bytes).
            if let Some(record) = self.manifest.files.iter_mut().find(|f| f.path == shown) {
                record.sha256_written = previous;
            }
            self.changed_under_us.insert(shown);
        } else if result.is_ok() {
            self.now_knows(shown, Some(new_hash));
        }
        result
    }

    pub fn set_mode(&mut self, path: &Path, mode: u32) -> Result<(), WriteError> {
        let real = resolve_target(&self.project_dir, path)?;
        self.backup(path)?;
        set_mode_nofollow(&real, mode)?;
        failpoint::hit("mode-set");
        Ok(())
    }

    /// Moves `from` to `to` inside the project; the bytes move unchanged (a PEM is never
    /// rewritten). Both paths are backed up first, so undo can put each back, including a file
    /// the rename replaces (promoting a temp file over a broken main file).
    pub fn rename(&mut self, from: &Path, to: &Path) -> Result<(), WriteError> {
        self.refuse_if_changed(from)?;
        self.refuse_if_changed(to)?;
        let real_from = resolve_target(&self.project_dir, from)?;
        let real_to = resolve_target(&self.project_dir, to)?;
        self.backup(from)?;
        self.backup(to)?;
        self.refuse_if_changed(from)?;
        self.refuse_if_changed(to)?;
        self.still_as_known(from, &real_from)?;
        self.still_as_known(to, &real_to)?;
        let moving = self.last_known(&self.display(from));
        self.record_written(to, moving.clone())?;
        fs_err::rename(&real_from, &real_to)?;
        self.now_knows(self.display(from), None);
        self.now_knows(self.display(to), moving);
        sync_dir(real_to.parent().unwrap_or(Path::new(".")))?;
        failpoint::hit("renamed");
        Ok(())
    }

    /// Moves `path` into the run's quarantine (the doctor's only way to "delete"). The move is
    /// recorded before it is made, so a crash right after it still finds the file. A link is
    /// moved as a link: it is never followed.
    pub fn quarantine(&mut self, path: &Path) -> Result<(), WriteError> {
        check_dir(&self.project_dir, path.parent().unwrap_or(path))?;
        // A link leaving the project (planted under our temp name) has no bytes of the
        // project's to back up: the quarantine record below is all a rollback needs.
        if resolve_target(&self.project_dir, path).is_ok() {
            self.backup(path)?;
        }
        let rel = path
            .strip_prefix(&self.state_dir)
            .map(Path::to_path_buf)
            .unwrap_or_else(|_| PathBuf::from(path.file_name().unwrap_or_default()));
        let to = self.quarantine_dir.join(&rel);
        if let Some(parent) = to.parent() {
            own_dir(&self.state_dir, parent)?;
        }
        self.manifest.quarantined.push(QuarantineRecord {
            from: self.display(path),
            to: crate::paths::display_path(&self.state_dir, &to),
        });
        self.write_manifest()?;
        self.recorded = true;
        fs_err::rename(path, &to)?;
        if fs::symlink_metadata(&to).is_ok_and(|m| m.is_file()) {
            // The doctor's folder holds only private files; the mode to restore is recorded.
            let _ = set_mode_nofollow(&to, PRIVATE_FILE_MODE);
        }
        failpoint::hit("quarantined");
        Ok(())
    }

    /// Saves data (a JSON value's bytes) into a named JSON-array file in the quarantine.
    pub fn save_to_quarantine(&mut self, name: &str, item: &SharedBytes) {
        self.saved.push(name, item);
    }

    /// Lets go of the buffers the queued data uses little of (`Saved::let_go_of_sparse_buffers`).
    pub fn let_go_of_sparse_buffers(&mut self) {
        self.saved.let_go_of_sparse_buffers();
    }

    pub fn is_empty(&self) -> bool {
        self.manifest.files.is_empty() && self.saved.is_empty()
    }

    fn write_manifest(&self) -> Result<(), WriteError> {
        write_manifest(&self.state_dir, &self.run_dir, &self.manifest)
    }

    /// Forgets a run folder that recorded nothing worth keeping: the manifest goes first, so a
    /// crash halfway never leaves a manifest without its backups.
    fn forget(&self) {
        let _ = fs::remove_file(self.run_dir.join("manifest.json"));
        let _ = fs::remove_dir_all(&self.run_dir);
        remove_empty_dirs(&self.quarantine_dir);
    }

    /// Seals the run: records each file's new hash and marks it committed (the commit point:
    /// one atomic manifest write). A run that changed nothing leaves nothing. On an error the
    /// run is still in progress: the caller rolls it back.
    pub fn commit(&mut self) -> Result<Option<String>, WriteError> {
        for file in self.saved.take() {
            own_dir(&self.state_dir, &self.quarantine_dir)?;
            let path = self.quarantine_dir.join(&file.name);
            write_atomic_streamed(&path, PRIVATE_FILE_MODE, |out| {
                write_quarantine_file(file.items(), out)
            })?;
            self.manifest
                .saved
                .push(crate::paths::display_path(&self.state_dir, &path));
        }
        let project_dir = self.project_dir.clone();
        let now_of = |shown: &str| {
            let path = absolute(&project_dir, shown);
            let real = resolve_target(&project_dir, &path).unwrap_or(path);
            digest_now(&real).unwrap_or(Digest::Other)
        };
        let mut modes_now = Vec::new();
        for record in &mut self.manifest.files {
            let state = now_of(&record.path);
            record.sha256_after = state.hash().map(str::to_string);
            modes_now.push(state.mode());
        }
        // A file backed up for a fix that then failed is unchanged: not part of the run.
        let mut modes_now = modes_now.into_iter();
        self.manifest.files.retain(|r| {
            let mode_now = modes_now.next().flatten();
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
        if let Err(err) = self.write_manifest() {
            self.manifest.status = RunStatus::InProgress;
            return Err(err);
        }
        failpoint::hit("committed");
        Ok(Some(self.manifest.run_id.clone()))
    }

    /// Puts every touched file back as it was, by renaming the backups into place (no new
    /// space needed: it works on a full disk), except a file another writer changed since the
    /// run wrote it, which is kept. The run's folder stays, marked rolled back, holding the
    /// copies of the kept files; a run that had changed nothing leaves no folder at all.
    pub fn rollback(mut self) -> Result<RolledBack, WriteError> {
        let nothing = RolledBack {
            changed: false,
            kept: Vec::new(),
            unrecorded: None,
        };
        if !self.recorded {
            self.forget();
            return Ok(nothing);
        }
        let restored = restore(
            &self.project_dir,
            &self.state_dir,
            &self.run_dir,
            &self.manifest,
        )?;
        if restored.touched == 0 && restored.kept.is_empty() {
            self.forget();
            return Ok(nothing);
        }
        self.manifest.status = RunStatus::RolledBack;
        let unrecorded = self.write_manifest().err();
        remove_empty_dirs(&self.quarantine_dir);
        Ok(RolledBack {
            changed: true,
            kept: restored.kept,
            unrecorded,
        })
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

/// What `restore` did.
#[derive(Debug, Default)]
pub(crate) struct Restored {
    /// Files (and quarantined entries) it had to put back.
    pub touched: usize,
    pub kept: Vec<Kept>,
}

/// Restores the files of `manifest` from `run_dir`: quarantined entries move back, backed-up
/// files are renamed back into place with their mode, files the run created are removed. A file
/// holding neither its old bytes nor the run's is another writer's: kept, with its backup.
/// Idempotent, so a rollback that is itself interrupted is simply done again. The manifest may
/// come from a hostile tree: every path it names is confined to the project first.
pub(crate) fn restore(
    project_dir: &Path,
    state_dir: &Path,
    run_dir: &Path,
    manifest: &Manifest,
) -> Result<Restored, WriteError> {
    let mut done = Restored::default();
    let shown = |path: &Path| crate::paths::display_path(project_dir, path);
    for q in manifest.quarantined.iter().rev() {
        let from = manifest_path(state_dir, &q.to)?;
        let to = manifest_path(project_dir, &q.from)?;
        check_dir(project_dir, to.parent().unwrap_or(project_dir))?;
        let there = fs::symlink_metadata(&to).is_ok();
        match fs::symlink_metadata(&from) {
            Ok(meta) if !there => {
                // The quarantine holds it at 0600: its own mode comes back before it reappears.
                if let (true, Some(mode)) = (meta.is_file(), recorded_mode(manifest, &q.from)) {
                    set_mode_nofollow(&from, mode)?;
                }
                fs_err::rename(&from, &to)?;
                done.touched += 1;
            }
            Ok(_) => done.kept.push(Kept {
                path: q.from.clone(),
                backup: Some(shown(&from)),
            }),
            Err(_) => {}
        }
    }
    for record in &manifest.files {
        failpoint::hit("restoring");
        let path = manifest_path(project_dir, &record.path)?;
        let real = resolve_target(project_dir, &path)?;
        let state = digest_now(&real)?;
        let ours = |state: &Digest| {
            !manifest.records_writes
                || (state.hash().is_some() && state.hash() == record.sha256_written.as_deref())
        };
        match (&record.backup, record.existed) {
            (Some(backup), true) => {
                let mode = record.mode.unwrap_or(NEW_FILE_MODE);
                if state.hash().is_some() && state.hash() == record.sha256_before.as_deref() {
                    if state.mode() != Some(mode) {
                        set_mode_nofollow(&real, mode)?;
                        done.touched += 1;
                    }
                    continue;
                }
                let copy = manifest_path(run_dir, backup)?;
                if !(state == Digest::Missing || ours(&state)) {
                    done.kept.push(Kept {
                        path: record.path.clone(),
                        backup: Some(shown(&copy)),
                    });
                    continue;
                }
                put_back(&copy, &real, mode)?;
                done.touched += 1;
            }
            // A link or FIFO the run moved: the quarantine loop above put it back.
            (None, true) => {}
            (_, false) => match state {
                Digest::Missing => {}
                _ if ours(&state) => {
                    fs_err::remove_file(&path)?;
                    done.touched += 1;
                }
                _ => done.kept.push(Kept {
                    path: record.path.clone(),
                    backup: None,
                }),
            },
        }
    }
    Ok(done)
}

/// Puts a backup copy back at `real` with `mode`: by rename, which needs no new space; a copy
/// only when the two are on different file systems.
fn put_back(copy: &Path, real: &Path, mode: u32) -> Result<(), WriteError> {
    set_mode_nofollow(copy, mode)?;
    match fs_err::rename(copy, real) {
        Ok(()) => sync_dir(real.parent().unwrap_or(Path::new("."))),
        Err(err) if err.kind() == std::io::ErrorKind::CrossesDevices => {
            let bytes = match now(copy)? {
                Now::File { bytes, .. } => bytes,
                _ => return Err(err.into()),
            };
            write_atomic(real, &bytes, mode)
        }
        Err(err) => Err(err.into()),
    }
}

/// The JSON array a quarantine file holds: each saved item as an element, one per line,
/// written as it goes (100,000 quarantined jobs used to be copied three times over on their
/// way to the disk: issue #11).
fn write_quarantine_file<'i>(
    items: impl Iterator<Item = &'i [u8]>,
    out: &mut dyn std::io::Write,
) -> std::io::Result<()> {
    out.write_all(b"[\n  ")?;
    for (n, item) in items.enumerate() {
        if n > 0 {
            out.write_all(b",\n  ")?;
        }
        out.write_all(String::from_utf8_lossy(item).as_bytes())?;
    }
    out.write_all(b"\n]\n")
}

#[cfg(test)]
mod quarantine_file_tests {
    use super::*;

    /// The text every earlier run wrote: `undo` and users read these files.
    fn as_before(items: &[&[u8]]) -> String {
        let body: Vec<String> = items
            .iter()
            .map(|i| String::from_utf8_lossy(i).into_owned())
            .collect();
        format!("[\n  {}\n]\n", body.join(",\n  "))
    }

    #[test]
    fn the_quarantine_file_is_the_array_it_always_was() {
        let file = std::sync::Arc::new(b"[{\"a\":1},{\"b\":\"\xff\"}]".to_vec());
        let cases: Vec<Vec<SharedBytes>> = vec![
            vec![],
            vec![SharedBytes::range_of(file.clone(), 1..8)],
            vec![
                SharedBytes::range_of(file.clone(), 1..8),
                SharedBytes::range_of(file.clone(), 9..18),
                SharedBytes::from(b"{}".to_vec()),
            ],
        ];
        for items in cases {
            let plain: Vec<&[u8]> = items.iter().map(|i| &**i).collect();
            let mut written = Vec::new();
            write_quarantine_file(plain.iter().copied(), &mut written).unwrap();
            assert_eq!(String::from_utf8(written).unwrap(), as_before(&plain));
        }
    }
}

//! The doctor's record of its fix runs, read side: where the records live under
//! `.instar/doctor/`, what a run's `manifest.json` says, and which runs a killed doctor left in
//! progress. Reads only: the engine asks it for the `doctor` check (through `Context`), writing
//! and the commands for the runs to recover or undo; `src/write/` alone writes records.
//!
//! A run's `status` is its commit protocol: `in-progress` is written (fsynced) before the run's
//! first change and names every file the run is about to touch with its old hash, mode and
//! backup, so a run killed at any step can be rolled back exactly; `committed` is written only
//! after the final re-check. Manifests written before statuses existed say `applied` (or nothing)
//! and count as committed, so their runs stay undoable.
//!
//! "Is its writer gone?" is answered by the run lock, not by the recorded pid: a writer holds
//! `.instar/doctor/lock` for its whole run and the kernel releases it when the process dies, so
//! if the lock can be taken, no writer is alive. A pid can be reused; a released lock cannot lie.

use std::fs::{self, OpenOptions};
use std::io;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::paths::DOCTOR_DIR;
use crate::safe_read::read_regular;

/// One file a run touched (or is about to touch).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct FileRecord {
    /// Path relative to the project (or absolute outside it).
    pub path: String,
    /// False for a file the run creates: a rollback removes it.
    pub existed: bool,
    pub mode: Option<u32>,
    pub sha256_before: Option<String>,
    /// Set when the run commits; `None` while it is in progress.
    pub sha256_after: Option<String>,
    /// What the run wrote (or is about to write) there, recorded before each change: a rollback
    /// puts the backup back only over these bytes, so another writer's later edit is never lost.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sha256_written: Option<String>,
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

/// A fix a run applied. Its code is one of ours and its title is shared with the finding that
/// proposed it: a run of 100,000 fixes keeps no copy of either (issue #11).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct FixRecord {
    pub code: std::borrow::Cow<'static, str>,
    pub title: std::sync::Arc<str>,
}

impl FixRecord {
    /// The same fix as `other`: a shared title is the same without reading it.
    fn same_as(&self, other: &FixRecord) -> bool {
        self.code == other.code
            && (std::sync::Arc::ptr_eq(&self.title, &other.title) || self.title == other.title)
    }
}

/// The fixes a run applied, in order, kept as runs of equal records: 100,000 fixes of one code
/// with one title are one record and a count in memory (40 bytes each made 5 MB of a fix run's
/// peak; issue #11), and still 100,000 records in `manifest.json`, one per fix as always.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Fixes {
    runs: Vec<(FixRecord, usize)>,
}

impl Fixes {
    /// Records one more fix, after the others.
    pub fn push(&mut self, record: FixRecord) {
        match self.runs.last_mut() {
            Some((last, count)) if last.same_as(&record) => *count += 1,
            _ => self.runs.push((record, 1)),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.runs.is_empty()
    }

    /// How many fixes are recorded.
    pub fn len(&self) -> usize {
        self.runs.iter().map(|(_, count)| count).sum()
    }

    /// Every fix in the order recorded, each as often as it was applied.
    pub fn iter(&self) -> impl Iterator<Item = &FixRecord> + '_ {
        self.runs
            .iter()
            .flat_map(|(record, count)| std::iter::repeat_n(record, *count))
    }
}

impl FromIterator<FixRecord> for Fixes {
    fn from_iter<I: IntoIterator<Item = FixRecord>>(records: I) -> Self {
        let mut fixes = Fixes::default();
        records.into_iter().for_each(|record| fixes.push(record));
        fixes
    }
}

/// One element per fix, as the list of records it always was.
impl Serialize for Fixes {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(self.iter())
    }
}

/// Read one record at a time into runs: a large run's record is never a list of its fixes.
impl<'de> Deserialize<'de> for Fixes {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Records;
        impl<'de> serde::de::Visitor<'de> for Records {
            type Value = Fixes;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a list of fixes")
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                mut seq: A,
            ) -> Result<Fixes, A::Error> {
                let mut fixes = Fixes::default();
                while let Some(record) = seq.next_element::<FixRecord>()? {
                    fixes.push(record);
                }
                Ok(fixes)
            }
        }
        deserializer.deserialize_seq(Records)
    }
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq, Default)]
#[serde(rename_all = "kebab-case")]
pub enum RunStatus {
    /// Recorded before the first change; a run found in this state with no live writer was
    /// interrupted and is rolled back.
    InProgress,
    /// Done and re-checked. `applied` is what manifests said before statuses existed, and a
    /// manifest with no status at all is one of those.
    #[default]
    #[serde(alias = "applied")]
    Committed,
    /// Put back by the run itself (a failed verification, Ctrl-C) or by the next doctor.
    RolledBack,
    /// Put back by `undo`.
    Undone,
}

impl RunStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            RunStatus::InProgress => "in-progress",
            RunStatus::Committed => "committed",
            RunStatus::RolledBack => "rolled-back",
            RunStatus::Undone => "undone",
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Manifest {
    pub run_id: String,
    pub doctor_version: String,
    #[serde(default)]
    pub status: RunStatus,
    /// The writer's process id: names the temp files it may have left next to its targets.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pid: Option<u32>,
    /// For the run an `undo` made: the run it undid. Its backups are the files `undo`
    /// overwrote, so undoing it brings them back.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub undoes: Option<String>,
    pub files: Vec<FileRecord>,
    /// Whether each change's `sha256_written` is recorded before the change (every run since
    /// they existed). When it is, a file holding neither its old nor its written bytes was
    /// changed by someone else and a rollback keeps it; older manifests are restored as before.
    #[serde(default)]
    pub records_writes: bool,
    #[serde(default)]
    pub quarantined: Vec<QuarantineRecord>,
    /// Files of data saved into the quarantine (e.g. jobs.invalid.json), relative to the state folder.
    #[serde(default)]
    pub saved: Vec<String>,
    #[serde(default)]
    pub fixes: Fixes,
}

pub fn runs_dir(state_dir: &Path) -> PathBuf {
    state_dir.join(DOCTOR_DIR).join("runs")
}

pub fn run_dir(state_dir: &Path, run_id: &str) -> PathBuf {
    runs_dir(state_dir).join(run_id)
}

pub fn quarantine_dir(state_dir: &Path, run_id: &str) -> PathBuf {
    state_dir.join(DOCTOR_DIR).join("quarantine").join(run_id)
}

/// The record of run `run_id`.
pub fn manifest_file(state_dir: &Path, run_id: &str) -> PathBuf {
    run_dir(state_dir, run_id).join("manifest.json")
}

/// The run lock every writer holds for its whole run.
pub fn lock_file(state_dir: &Path) -> PathBuf {
    state_dir.join(DOCTOR_DIR).join("lock")
}

/// A manifest is a few lines per file touched and per fix (about 130 bytes a fix); anything
/// larger is not one of ours: the writer never writes one (`write::manifest`).
pub const MANIFEST_CAP: u64 = 64 << 20;

/// Runs recorded under `.instar/doctor/runs/`, newest first. Reads only, and never blocks: a
/// FIFO or a link planted as a run folder or manifest is skipped.
pub fn all(state_dir: &Path) -> Vec<Manifest> {
    let mut manifests: Vec<Manifest> = manifest_paths(state_dir)
        .filter_map(|path| read_manifest(&path))
        .collect();
    manifests.sort_by(|a, b| b.run_id.cmp(&a.run_id));
    manifests
}

/// Each run folder's `manifest.json` that is a regular file, not a link.
fn manifest_paths(state_dir: &Path) -> impl Iterator<Item = PathBuf> {
    fs::read_dir(runs_dir(state_dir))
        .into_iter()
        .flatten()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
        .map(|e| e.path().join("manifest.json"))
        .filter(|path| fs::symlink_metadata(path).is_ok_and(|m| m.is_file()))
}

fn read_manifest(path: &Path) -> Option<Manifest> {
    let (bytes, _) = read_regular(path, MANIFEST_CAP).ok()?;
    serde_json::from_slice(&bytes).ok()
}

/// Whether the record at `path` says `in-progress`, read only as far as its status: every
/// doctor start asks this of every past run, and a run of 100,000 fixes records 13 MB, which
/// held and parsed whole cost each later check of the agent 35 MB and a tenth of a second
/// (issue #11). The writer puts the status before the files and fixes, so this reads one
/// buffer of it. A record that cannot be read or parsed is no run, as in `all`; one without a
/// status (written before statuses existed) is read to its end and is committed.
fn says_in_progress(path: &Path) -> bool {
    let Ok((file, meta)) = crate::safe_read::open_regular(path) else {
        return false;
    };
    if meta.len() > MANIFEST_CAP {
        return false;
    }
    // One byte past the cap is enough to make the parse fail on a record that grew since.
    let reader = io::BufReader::new(io::Read::take(file, MANIFEST_CAP + 1));
    let found = std::cell::Cell::new(None);
    // Once the status is read the parse ends in an error (`StatusSeed`): the cell tells.
    let _ = serde::de::DeserializeSeed::deserialize(
        StatusSeed(&found),
        &mut serde_json::Deserializer::from_reader(reader),
    );
    // No status read: not a record, or one from before statuses, which is committed.
    found.get() == Some(RunStatus::InProgress)
}

/// Reads a record's members up to its `status` and keeps it in the cell. It then stops the
/// parse with an error, the one way serde_json has to leave the rest of a document unread;
/// the caller reads the cell, not the error.
struct StatusSeed<'a>(&'a std::cell::Cell<Option<RunStatus>>);

impl<'de> serde::de::DeserializeSeed<'de> for StatusSeed<'_> {
    type Value = ();
    fn deserialize<D: serde::Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_map(self)
    }
}

impl<'de> serde::de::Visitor<'de> for StatusSeed<'_> {
    type Value = ();
    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a run record")
    }
    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        while let Some(key) = map.next_key::<std::borrow::Cow<'de, str>>()? {
            if key == "status" {
                self.0.set(Some(map.next_value()?));
                return Err(serde::de::Error::custom("the status is all that is asked"));
            }
            map.next_value::<serde::de::IgnoredAny>()?;
        }
        Ok(())
    }
}

/// Whether `run` was undone: marked so, or undone by a committed undo run whose mark on `run`
/// did not reach the disk (the undo run's commit is the point where the undo happened).
pub fn is_undone(run: &Manifest, all: &[Manifest]) -> bool {
    run.status == RunStatus::Undone
        || all.iter().any(|other| {
            other.status == RunStatus::Committed && other.undoes.as_deref() == Some(&run.run_id)
        })
}

/// Runs left in progress by a writer that is gone, newest first. Reads only (a check asks, through
/// `Context`). From inside a fix run the lock is ours and held, so its own run is never reported.
pub fn interrupted(state_dir: &Path) -> Vec<Manifest> {
    // Only a record that says it is in progress is read whole.
    let mut in_progress: Vec<Manifest> = manifest_paths(state_dir)
        .filter(|path| says_in_progress(path))
        .filter_map(|path| read_manifest(&path))
        .filter(|m| m.status == RunStatus::InProgress)
        .collect();
    in_progress.sort_by(|a, b| b.run_id.cmp(&a.run_id));
    if in_progress.is_empty() || !lock_is_free(state_dir) {
        return Vec::new();
    }
    in_progress
}

/// Whether no doctor holds the run lock now. Opens the lock file read-only and creates nothing;
/// a missing lock file means no writer ever started or all have ended. Anything else standing
/// there (a link, a FIFO: never followed, never waited on) cannot tell: `false`, so a live run is
/// never reported as interrupted.
fn lock_is_free(state_dir: &Path) -> bool {
    let opened = OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK | libc::O_CLOEXEC)
        .open(lock_file(state_dir));
    match opened {
        Ok(file) => file.metadata().is_ok_and(|m| m.is_file()) && file.try_lock_shared().is_ok(),
        Err(err) => err.kind() == io::ErrorKind::NotFound,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    fn fix_record(code: &'static str, title: &Arc<str>) -> FixRecord {
        FixRecord {
            code: code.into(),
            title: Arc::clone(title),
        }
    }

    /// Kept as runs, the fixes are still written one record per fix, in order, as the list
    /// they always were, and read back the same.
    #[test]
    fn fixes_are_written_and_read_one_record_per_fix() {
        let quarantine: Arc<str> = Arc::from("move this entry to the quarantine");
        // Equal to `quarantine` but not shared with it: still the same fix.
        let equal: Arc<str> = Arc::from("move this entry to the quarantine");
        let other: Arc<str> = Arc::from("set the mode");
        let records = vec![
            fix_record("jobs/invalid-priority", &quarantine),
            fix_record("jobs/invalid-priority", &quarantine),
            fix_record("jobs/invalid-priority", &equal),
            fix_record("jobs/bad-cron", &quarantine),
            fix_record("jobs/invalid-priority", &other),
            fix_record("jobs/invalid-priority", &quarantine),
        ];
        let fixes: Fixes = records.iter().cloned().collect();
        assert_eq!(fixes.len(), 6);
        assert_eq!(fixes.runs.len(), 4, "equal neighbours are one run");
        assert!(fixes.iter().eq(records.iter()));
        let written = serde_json::to_string_pretty(&fixes).unwrap();
        assert_eq!(written, serde_json::to_string_pretty(&records).unwrap());
        let read: Fixes = serde_json::from_str(&written).unwrap();
        assert_eq!(read, fixes);
        assert!(read.iter().eq(records.iter()));
        assert!(Fixes::default().is_empty());
        assert_eq!(serde_json::to_string(&Fixes::default()).unwrap(), "[]");
    }

    /// A manifest without fixes (older runs) reads as none.
    #[test]
    fn a_manifest_without_fixes_has_none() {
        let manifest: Manifest =
            serde_json::from_str(r#"{"run_id": "r", "doctor_version": "0", "files": []}"#).unwrap();
        assert!(manifest.fixes.is_empty());
    }

    fn record(state: &Path, run_id: &str, text: &str) -> PathBuf {
        let path = manifest_file(state, run_id);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(&path, text).unwrap();
        path
    }

    fn header(run_id: &str, status: &str) -> String {
        format!(r#"{{"run_id":"{run_id}","doctor_version":"0.1.0","status":"{status}","#)
    }

    /// The status is read where it stands and nothing after it: a record cut short after its
    /// status is still known by it (a whole parse would fail), and only a record that says
    /// `in-progress` is read whole.
    #[test]
    fn the_status_is_read_without_the_rest() {
        let dir = tempfile::tempdir().unwrap();
        let cut = record(
            dir.path(),
            "1",
            &(header("1", "in-progress") + r#""files":[{"pa"#),
        );
        assert!(says_in_progress(&cut));
        let committed = record(
            dir.path(),
            "2",
            &(header("2", "committed") + r#""files":[{"#),
        );
        assert!(!says_in_progress(&committed));
        // A cut record is no run: `interrupted` reads whole what says it is in progress.
        assert!(interrupted(dir.path()).is_empty());
    }

    /// What `interrupted` reports is what it reported when it read every record whole: in
    /// progress and well formed, wherever the status stands, newest first.
    #[test]
    fn interrupted_runs_are_the_whole_records_in_progress() {
        let dir = tempfile::tempdir().unwrap();
        let state = dir.path();
        let body = r#""files":[],"fixes":[{"code":"jobs/x","title":"t"}]}"#;
        record(
            state,
            "20260101T000000Z-0001",
            &(header("20260101T000000Z-0001", "in-progress") + body),
        );
        record(
            state,
            "20260101T000000Z-0002",
            &(header("20260101T000000Z-0002", "committed") + body),
        );
        // The status last, after the fixes.
        record(
            state,
            "20260101T000000Z-0003",
            r#"{"run_id":"20260101T000000Z-0003","doctor_version":"0.1.0","files":[],"fixes":[],"status":"in-progress"}"#,
        );
        // No status: written before statuses existed, committed.
        record(
            state,
            "20260101T000000Z-0004",
            r#"{"run_id":"20260101T000000Z-0004","doctor_version":"0.1.0","files":[]}"#,
        );
        // In progress, but not a record: a member of the wrong type after the status.
        record(
            state,
            "20260101T000000Z-0005",
            &(header("20260101T000000Z-0005", "in-progress") + r#""files":7}"#),
        );
        record(state, "20260101T000000Z-0006", "not json");
        let found: Vec<String> = interrupted(state).into_iter().map(|m| m.run_id).collect();
        assert_eq!(found, ["20260101T000000Z-0003", "20260101T000000Z-0001"]);
        let whole: Vec<String> = all(state)
            .into_iter()
            .filter(|m| m.status == RunStatus::InProgress)
            .map(|m| m.run_id)
            .collect();
        assert_eq!(found, whole);
    }
}

//! Writing the record of a fix run (`crate::runs` reads it): the manifest, fsynced into its run
//! folder, and the id of a new run.

use std::fs;
use std::io::{self, Write};
use std::path::Path;

use super::atomic::{write_atomic_streamed, PRIVATE_FILE_MODE};
use super::confine::own_dir;
use super::WriteError;
use crate::runs::{runs_dir, Manifest, MANIFEST_CAP};

/// Writes (atomically, fsynced) the manifest into its run folder, as it is serialized: the
/// record of 100,000 fixes is 13 MB of text, never held whole (issue #11).
///
/// A record larger than `runs` reads is never written: `undo` and the recovery of an
/// interrupted run would not see it, and would act on an older run instead. The write fails,
/// so the run rolls back and nothing is changed.
pub fn write_manifest(
    state_dir: &Path,
    run_dir: &Path,
    manifest: &Manifest,
) -> Result<(), WriteError> {
    write_manifest_capped(state_dir, run_dir, manifest, MANIFEST_CAP)
}

fn write_manifest_capped(
    state_dir: &Path,
    run_dir: &Path,
    manifest: &Manifest,
    cap: u64,
) -> Result<(), WriteError> {
    own_dir(state_dir, run_dir)?;
    write_atomic_streamed(&run_dir.join("manifest.json"), PRIVATE_FILE_MODE, |out| {
        let mut capped = Capped {
            out,
            left: cap,
            cap,
        };
        serde_json::to_writer_pretty(&mut capped, manifest)?;
        Ok(())
    })
}

/// A writer that refuses to go past `cap` bytes in all.
struct Capped<'a> {
    out: &'a mut dyn Write,
    left: u64,
    cap: u64,
}

impl Write for Capped<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let len = buf.len() as u64;
        if len > self.left {
            return Err(io::Error::other(format!(
                "the record of this fix run would be over {} MiB, more than `undo` reads; \
                 nothing was changed: fix fewer findings at once (`--select CODE`)",
                self.cap >> 20
            )));
        }
        self.left -= len;
        self.out.write_all(buf)?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }
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
    // Folders without a manifest count too: a run killed before its first manifest write left one.
    let last = fs::read_dir(runs_dir(state_dir))
        .into_iter()
        .flatten()
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            e.file_name()
                .to_str()?
                .rsplit('-')
                .next()?
                .parse::<u32>()
                .ok()
        })
        .max()
        .unwrap_or(0);
    format!("{stamp}-{:04}", last + 1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runs::RunStatus;

    fn manifest(run_id: &str) -> Manifest {
        Manifest {
            run_id: run_id.to_string(),
            doctor_version: "0.0.0".to_string(),
            status: RunStatus::Committed,
            pid: None,
            undoes: None,
            files: Vec::new(),
            records_writes: true,
            quarantined: Vec::new(),
            saved: (0..200).map(|i| format!("jobs.invalid.{i}.json")).collect(),
            fixes: Default::default(),
        }
    }

    /// A record over the cap would be skipped by every reader (`undo` would act on an older
    /// run): the write fails instead, and the record already there stays as it was.
    #[test]
    fn a_record_over_the_cap_is_never_written() {
        let dir = tempfile::tempdir().unwrap();
        let state = dir.path().join(".instar");
        let run_dir = runs_dir(&state).join("20261204T120000Z-0001");
        fs::create_dir_all(&run_dir).unwrap();
        let small = Manifest {
            saved: Vec::new(),
            ..manifest("20261204T120000Z-0001")
        };
        write_manifest_capped(&state, &run_dir, &small, 4096).unwrap();
        let before = fs::read(run_dir.join("manifest.json")).unwrap();
        assert!((before.len() as u64) < 4096);

        let large = manifest("20261204T120000Z-0001");
        let err = write_manifest_capped(&state, &run_dir, &large, 4096).unwrap_err();
        assert!(err.to_string().contains("more than `undo` reads"), "{err}");
        assert_eq!(fs::read(run_dir.join("manifest.json")).unwrap(), before);
        let names: Vec<_> = fs::read_dir(&run_dir)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names.len(), 1, "no temp file is left: {names:?}");

        // Within the cap, the same record is written whole and read back.
        write_manifest_capped(&state, &run_dir, &large, 1 << 20).unwrap();
        assert_eq!(crate::runs::all(&state), vec![large]);
    }
}

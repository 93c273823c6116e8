//! Writing the record of a fix run (`crate::runs` reads it): the manifest, fsynced into its run
//! folder, and the id of a new run.

use std::fs;
use std::path::Path;

use super::atomic::{write_atomic_streamed, PRIVATE_FILE_MODE};
use super::confine::own_dir;
use super::WriteError;
use crate::runs::{runs_dir, Manifest};

/// Writes (atomically, fsynced) the manifest into its run folder, as it is serialized: the
/// record of 100,000 fixes is 13 MB of text, never held whole (issue #11).
pub fn write_manifest(
    state_dir: &Path,
    run_dir: &Path,
    manifest: &Manifest,
) -> Result<(), WriteError> {
    own_dir(state_dir, run_dir)?;
    write_atomic_streamed(&run_dir.join("manifest.json"), PRIVATE_FILE_MODE, |out| {
        Ok(serde_json::to_writer_pretty(out, manifest)?)
    })
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

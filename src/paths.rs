//! Paths as the doctor shows and compares them: pure functions on path text, no disk.
//!
//! A leaf every layer may use (the engine, rendering, writing), so that showing a path never ties
//! one layer to another.

use std::path::{Path, PathBuf};

/// The folder name instar keeps its state in.
pub const STATE_DIR: &str = ".instar";

/// The doctor's own folder inside the state folder: its run lock, its runs' records and backups,
/// its quarantine.
pub const DOCTOR_DIR: &str = "doctor";

/// The path relative to `project_dir` with `/` separators, or absolute when outside it.
pub fn display_path(project_dir: &Path, path: &Path) -> String {
    match path.strip_prefix(project_dir) {
        Ok(rel) => rel
            .components()
            .map(|c| c.as_os_str().to_string_lossy())
            .collect::<Vec<_>>()
            .join("/"),
        Err(_) => path.to_string_lossy().into_owned(),
    }
}

/// Removes `.` and `..` lexically so that displayed paths are stable; symlinks are kept as given.
pub fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for component in path.components() {
        match component {
            std::path::Component::CurDir => {}
            std::path::Component::ParentDir => {
                out.pop();
            }
            other => out.push(other.as_os_str()),
        }
    }
    out
}

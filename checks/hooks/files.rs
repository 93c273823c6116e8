//! Which hook, script and skill files the hooks check reads, bounded: at most `DIR_CAP` names a
//! folder and files up to `FILE_CAP` bytes (judged from metadata before any read).

use std::path::{Path, PathBuf};

use crate::engine::Context;
use crate::source::Bytes;

/// Names read from one folder. Real agents have a few dozen hooks or skills.
pub const DIR_CAP: usize = 256;
/// Hooks and skills are small text files; anything larger is not read.
pub const FILE_CAP: u64 = 1 << 20;

/// A hook file found on disk.
pub struct HookFile {
    pub path: PathBuf,
    /// Under `.instar/hooks/instar/`: written and rewritten by instar itself.
    pub builtin: bool,
}

impl HookFile {
    /// The file's bytes when it is a regular file of at most `FILE_CAP` bytes.
    pub fn bytes(&self, cx: &Context) -> Option<Bytes> {
        small_file(cx, &self.path)
    }
}

/// A regular file's bytes, read through the run's cache, only when its size allows.
pub fn small_file(cx: &Context, path: &Path) -> Option<Bytes> {
    if cx.file_len(path)? > FILE_CAP {
        return None;
    }
    cx.file(path).loaded().map(|l| l.bytes.clone())
}

/// Regular files directly inside `dir` (symlinks followed), sorted, bounded.
pub fn files_in(cx: &Context, dir: &Path) -> Vec<PathBuf> {
    let (names, _) = cx.list_dir_capped(dir, DIR_CAP);
    names
        .into_iter()
        .map(|n| dir.join(n))
        .filter(|p| cx.is_file(p))
        .collect()
}

/// Folders directly inside `dir`, sorted, bounded.
pub fn dirs_in(cx: &Context, dir: &Path) -> Vec<PathBuf> {
    let (names, _) = cx.list_dir_capped(dir, DIR_CAP);
    names
        .into_iter()
        .map(|n| dir.join(n))
        .filter(|p| cx.is_dir(p))
        .collect()
}

/// Every hook file: `.instar/hooks/` (the `instar/` folder is instar's own, other folders and
/// loose files are custom) and `.claude/hooks/`, one folder level deep.
pub fn hook_files(cx: &Context) -> Vec<HookFile> {
    let mut out = Vec::new();
    let builtin_dir = cx.state_path("hooks/instar");
    for root in [cx.state_path("hooks"), cx.project_dir.join(".claude/hooks")] {
        for path in files_in(cx, &root) {
            out.push(HookFile {
                path,
                builtin: false,
            });
        }
        for dir in dirs_in(cx, &root) {
            let builtin = dir == builtin_dir;
            for path in files_in(cx, &dir) {
                out.push(HookFile { path, builtin });
            }
        }
    }
    out
}

//! What a check may ask about the disk besides a file's contents: whether something stands at a
//! path, what kind of thing it is, what a folder holds, how large a file is, where a link leads,
//! who owns it, when it changed, which paths git tracks, and which of the doctor's own runs were
//! interrupted. Contents go through `Context::file` / `Context::json` (read once, through
//! `safe_read`); everything else goes through here, so that no check touches `std::fs` itself
//! and the whole of what a run looks at is in one place.
//!
//! None of these answers is cached except the git index and the shadow install's version, which
//! several checks share and which cost a read and a parse each: metadata is cheap, and a check
//! that asks twice expects the disk's answer of the moment.

use std::fs::Metadata;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::rc::Rc;
use std::time::SystemTime;

use super::context::Context;
use super::shadow::{shadow_version_of, ShadowVersion, SHADOW_PACKAGE};

impl Context {
    /// Names of the entries of a directory, sorted; empty when it cannot be listed.
    pub fn list_dir(&self, dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = match std::fs::read_dir(dir) {
            Ok(entries) => entries
                .filter_map(|e| e.ok())
                .filter_map(|e| e.file_name().into_string().ok())
                .collect(),
            Err(_) => Vec::new(),
        };
        names.sort();
        names
    }

    /// At most `cap` entry names of a directory, sorted: areas that look into folders instar
    /// lets grow (sessions, scripts, skills) stay bounded on agents with thousands of entries.
    /// The second value says whether the listing was cut.
    pub fn list_dir_capped(&self, dir: &Path, cap: usize) -> (Vec<String>, bool) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return (Vec::new(), false);
        };
        let mut names = Vec::new();
        let mut cut = false;
        for entry in entries.filter_map(|e| e.ok()) {
            if names.len() == cap {
                cut = true;
                break;
            }
            if let Ok(name) = entry.file_name().into_string() {
                names.push(name);
            }
        }
        names.sort();
        (names, cut)
    }

    /// The size of a regular file (symlinks followed) from its metadata, without opening it:
    /// how large append-only files are judged, and how a scan decides a file is too big to read.
    pub fn file_len(&self, path: &Path) -> Option<u64> {
        std::fs::metadata(path)
            .ok()
            .filter(|m| m.is_file())
            .map(|m| m.len())
    }

    /// Metadata with symlinks followed; `None` when nothing usable stands there.
    pub fn metadata(&self, path: &Path) -> Option<Metadata> {
        std::fs::metadata(path).ok()
    }

    /// Metadata of the path itself (a symlink is described, not followed).
    pub fn symlink_metadata(&self, path: &Path) -> Option<Metadata> {
        std::fs::symlink_metadata(path).ok()
    }

    /// Whether a path exists as instar's `existsSync` sees it (symlinks followed).
    pub fn exists(&self, path: &Path) -> bool {
        path.exists()
    }

    /// Whether anything stands at `path`, a dangling symlink included (`lstat` succeeds).
    pub fn entry_exists(&self, path: &Path) -> bool {
        self.symlink_metadata(path).is_some()
    }

    /// A regular file, symlinks followed.
    pub fn is_file(&self, path: &Path) -> bool {
        self.metadata(path).is_some_and(|m| m.is_file())
    }

    /// A folder, symlinks followed.
    pub fn is_dir(&self, path: &Path) -> bool {
        self.metadata(path).is_some_and(|m| m.is_dir())
    }

    /// A symlink itself (working or dangling).
    pub fn is_symlink(&self, path: &Path) -> bool {
        self.symlink_metadata(path)
            .is_some_and(|m| m.file_type().is_symlink())
    }

    /// A regular file with an execute bit (symlinks followed), as `execvp` would accept.
    pub fn is_executable_file(&self, path: &Path) -> bool {
        self.metadata(path)
            .is_some_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
    }

    /// What a symlink says, unresolved; `None` when `path` is not a symlink.
    pub fn read_link(&self, path: &Path) -> Option<PathBuf> {
        std::fs::read_link(path).ok()
    }

    /// The path with every symlink resolved; `None` when it leads nowhere (or loops).
    pub fn canonicalize(&self, path: &Path) -> Option<PathBuf> {
        std::fs::canonicalize(path).ok()
    }

    /// The last modification time, symlinks followed.
    pub fn modified(&self, path: &Path) -> Option<SystemTime> {
        self.metadata(path)?.modified().ok()
    }

    /// The owner's uid, symlinks followed.
    pub fn owner_uid(&self, path: &Path) -> Option<u32> {
        self.metadata(path).map(|m| m.uid())
    }

    /// The agent user: the owner of `.instar/` (design §2).
    pub fn agent_uid(&self) -> Option<u32> {
        self.owner_uid(&self.state_dir)
    }

    /// Whether the project folder is a git work tree of its own (a `.git` folder, or the `.git`
    /// file of a linked worktree or submodule). A repository further up is someone else's.
    pub fn project_has_git(&self) -> bool {
        self.entry_exists(&self.project_dir.join(".git"))
    }

    /// The paths git tracks in the project's own repository, read from `.git/index` once per run
    /// (several areas ask); `None` when there is no index we can read.
    pub fn git_tracked(&self) -> Option<Rc<[String]>> {
        self.git_tracked
            .get_or_init(|| crate::git_index::tracked_paths(&self.project_dir).map(Rc::from))
            .clone()
    }

    /// The version in the shadow install's `package.json`, read and judged once per run (the
    /// version detection, `doctor` and `runtime` all ask).
    pub fn shadow_version(&self) -> &ShadowVersion {
        self.shadow.get_or_init(|| {
            let path = self.state_path(SHADOW_PACKAGE);
            shadow_version_of(path.clone(), &self.file(&path))
        })
    }

    /// Fix runs a killed doctor left in progress (their writer gone: the run lock is free),
    /// newest first. Reads the runs' records and probes the run lock read-only (never creating
    /// it); the `doctor` check reports each, and `--fix`, `-i` and `undo` roll them back.
    pub fn interrupted_runs(&self) -> Vec<crate::runs::Manifest> {
        crate::runs::interrupted(&self.state_dir)
    }
}

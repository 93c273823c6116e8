//! Which agents a scan checks: every agent under the ROOT folders, or with none, every agent of
//! the per-user registry plus `<instar-home>/agents/*` (design §8 "scan [ROOT...]").
//!
//! The walk is our own rather than a crate's because its rules are few and exact: children in
//! byte order (so the report order is stable across machines), never a symbolic link (a link can
//! lead out of the root or back into it; an agent reached only through a link is not under the
//! root), and never into `.git`, `node_modules` or `shadow-install`, which hold thousands of
//! folders and no agent.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use crate::engine::{self, STATE_DIR};

/// Folders never entered: large, and never an agent's home.
const SKIPPED: &[&str] = &[".git", "node_modules", "shadow-install"];

/// Why a scan could not start.
#[derive(Debug, thiserror::Error)]
pub enum ScanRootError {
    #[error("{0} is not a folder that can be read: {1}")]
    Unreadable(String, String),
}

/// Every agent under `roots`, sorted and without duplicates.
pub fn under_roots(roots: &[PathBuf], cwd: &Path) -> Result<Vec<PathBuf>, ScanRootError> {
    let mut found = BTreeSet::new();
    for root in roots {
        let root = engine::normalize(&if root.is_absolute() {
            root.clone()
        } else {
            cwd.join(root)
        });
        // The root itself may be a link (`~/agents` → a volume); what is under it may not.
        if let Err(err) = std::fs::read_dir(&root) {
            return Err(ScanRootError::Unreadable(
                root.display().to_string(),
                err.to_string(),
            ));
        }
        walk(&root, &mut found);
    }
    Ok(found.into_iter().collect())
}

/// Depth-first, children in byte order. An explicit stack instead of recursion: a deep tree
/// cannot overflow ours.
fn walk(root: &Path, found: &mut BTreeSet<PathBuf>) {
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let is_agent = engine::looks_like_agent(&dir.join(STATE_DIR));
        if is_agent {
            found.insert(dir.clone());
        }
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        let mut children: Vec<(std::ffi::OsString, PathBuf)> = entries
            .filter_map(Result::ok)
            // file_type() does not follow links: a link to a folder is not a folder here.
            .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
            .map(|e| (e.file_name(), e.path()))
            .filter(|(name, _)| !SKIPPED.iter().any(|s| name == *s))
            // An agent's own state folder holds no agent; the per-user ~/.instar does.
            .filter(|(name, _)| !(is_agent && name == STATE_DIR))
            .collect();
        children.sort();
        // Reversed onto the stack, so the smallest name is visited first.
        stack.extend(children.into_iter().rev().map(|(_, path)| path));
    }
}

/// What the per-user folder knows: the paths its registry lists (not the lifeline's synthetic
/// `<dir>-lifeline` entries) that hold an agent, and `agents/*` that hold one. Entries whose
/// folder is gone are the machine check's business (zombies), not agents to check.
pub fn from_instar_home(home: &Path, registry_paths: &[PathBuf]) -> Vec<PathBuf> {
    let mut found = BTreeSet::new();
    for path in registry_paths {
        if engine::looks_like_agent(&path.join(STATE_DIR)) {
            found.insert(engine::normalize(path));
        }
    }
    if let Ok(entries) = std::fs::read_dir(home.join("agents")) {
        for entry in entries.filter_map(Result::ok) {
            let path = entry.path();
            if entry.file_type().is_ok_and(|t| t.is_dir())
                && engine::looks_like_agent(&path.join(STATE_DIR))
            {
                found.insert(path);
            }
        }
    }
    // A registry path and an agents/ folder may name one agent through a link: keep one.
    let mut seen = BTreeSet::new();
    found
        .into_iter()
        .filter(|p| seen.insert(std::fs::canonicalize(p).unwrap_or_else(|_| p.clone())))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    fn agent(dir: &Path, marker: &str) {
        fs::create_dir_all(dir.join(".instar")).unwrap();
        if marker.ends_with('/') {
            fs::create_dir_all(dir.join(".instar").join(marker)).unwrap();
        } else {
            fs::write(dir.join(".instar").join(marker), "{}").unwrap();
        }
    }

    #[test]
    fn finds_agents_sorted_skipping_heavy_folders_and_links() {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().join("root");
        agent(&root.join("b"), "config.json");
        agent(&root.join("a"), "jobs.json");
        agent(&root.join("a/nested"), "machine/");
        agent(&root.join("c/deeper/d"), "machines/");
        agent(&root.join("x/node_modules/pkg"), "config.json");
        agent(&root.join("x/.git/modules/m"), "config.json");
        agent(&root.join("b/.instar/shadow-install/y"), "config.json");
        // A bare .instar/ (the per-user folder's shape) is no agent.
        fs::create_dir_all(root.join("e/.instar")).unwrap();
        fs::write(root.join("e/.instar/registry.json"), "{}").unwrap();
        // A link out of the root leads to an agent that is not under it.
        let outside = tmp.path().join("outside");
        agent(&outside, "config.json");
        std::os::unix::fs::symlink(&outside, root.join("link")).unwrap();
        let found = under_roots(std::slice::from_ref(&root), tmp.path()).unwrap();
        let names: Vec<String> = found
            .iter()
            .map(|p| p.strip_prefix(&root).unwrap().display().to_string())
            .collect();
        assert_eq!(names, ["a", "a/nested", "b", "c/deeper/d"]);
    }

    #[test]
    fn a_root_that_cannot_be_read_is_an_error() {
        let tmp = tempfile::tempdir().unwrap();
        let err = under_roots(&[tmp.path().join("missing")], tmp.path()).unwrap_err();
        assert!(err.to_string().contains("missing"), "{err}");
    }

    #[test]
    fn the_instar_home_gives_registry_agents_and_standalone_agents_once() {
        let tmp = tempfile::tempdir().unwrap();
        let home = tmp.path().join(".instar");
        agent(&home.join("agents/solo"), "config.json");
        agent(&tmp.path().join("proj"), "config.json");
        let found = from_instar_home(
            &home,
            &[
                tmp.path().join("proj"),
                tmp.path().join("gone"),
                home.join("agents/solo"),
            ],
        );
        assert_eq!(found, [home.join("agents/solo"), tmp.path().join("proj")]);
    }
}

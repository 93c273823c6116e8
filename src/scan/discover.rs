//! Which agents a scan checks: every agent under the ROOT folders, or with none, every agent of
//! the per-user registry plus `<instar-home>/agents/*` (design §8 "scan [ROOT...]").
//!
//! The walk's rules are few and exact: children in byte order (so the report order is stable
//! across machines), never through a symbolic link below the root (a link can lead out of the
//! root or back into it; an agent reached only through a link is not under the root), and never
//! into `.git`, `node_modules` or `shadow-install`, which hold thousands of folders and no agent.

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

/// Depth-first, children in byte order. `walkdir` keeps its own stack (a deep tree cannot
/// overflow ours), follows the root when it is a link and nothing below it, and leaves out what
/// `entered` refuses without reading inside it.
fn walk(root: &Path, found: &mut BTreeSet<PathBuf>) {
    let folders = walkdir::WalkDir::new(root)
        .follow_links(false)
        .sort_by_file_name()
        .into_iter()
        .filter_entry(entered)
        // A folder that cannot be listed holds no agent we can see; the walk goes on.
        .filter_map(Result::ok);
    for folder in folders {
        if engine::looks_like_agent(&folder.path().join(STATE_DIR)) {
            found.insert(folder.into_path());
        }
    }
}

/// Whether the walk goes into this entry: a folder (a link to one is not a folder here), not one
/// of the heavy folders, and not an agent's own state folder, which holds no agent (the per-user
/// `~/.instar`, which does, does not look like an agent's).
fn entered(entry: &walkdir::DirEntry) -> bool {
    let name = entry.file_name();
    entry.file_type().is_dir()
        && (entry.depth() == 0 || !SKIPPED.iter().any(|s| name == *s))
        && !(entry.depth() > 0 && name == STATE_DIR && engine::looks_like_agent(entry.path()))
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
    fn a_root_that_is_a_link_is_walked_and_its_own_name_never_skips_it() {
        let tmp = tempfile::tempdir().unwrap();
        // Named like a skipped folder, and reached through a link: both are the user's choice.
        let real = tmp.path().join("node_modules");
        agent(&real.join("a"), "config.json");
        let link = tmp.path().join("agents");
        std::os::unix::fs::symlink(&real, &link).unwrap();
        assert_eq!(
            under_roots(std::slice::from_ref(&link), tmp.path()).unwrap(),
            [link.join("a")]
        );
        assert_eq!(
            under_roots(std::slice::from_ref(&real), tmp.path()).unwrap(),
            [real.join("a")]
        );
    }

    #[test]
    fn an_agents_state_folder_is_not_walked_but_the_per_user_one_is() {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().join("home");
        // The per-user folder's shape: no agent itself, agents under it.
        agent(&root.join(".instar/agents/solo"), "config.json");
        // An agent's state folder: whatever looks like an agent inside it is not one.
        agent(&root.join("proj"), "config.json");
        agent(&root.join("proj/.instar/inner"), "jobs.json");
        let found = under_roots(std::slice::from_ref(&root), tmp.path()).unwrap();
        assert_eq!(found, [root.join(".instar/agents/solo"), root.join("proj")]);
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

//! Finding the agent to check: `--dir`, or the nearest folder above the working one whose
//! `.instar/` looks like an agent's.

use std::path::{Path, PathBuf};

use crate::paths::{normalize, STATE_DIR};

/// Why no agent could be checked.
#[derive(Debug, thiserror::Error)]
pub enum DiscoveryError {
    #[error("no instar agent found: {0} has no .instar/ folder")]
    NoStateDir(String),
    #[error("--dir {0} does not exist")]
    DirMissing(String),
    #[error("--dir {0} is not a directory")]
    NotADirectory(String),
    #[error("no instar agent found in {0} or any parent folder (looked for .instar/ holding config.json, jobs.json, machine/ or machines/)")]
    NotFound(String),
    #[error(".instar/ in {0} cannot be read: {1}")]
    Unreadable(String, String),
}

/// Resolves `--dir` (a path ending in `.instar` means its parent) or walks up from `cwd`.
pub fn discover(dir: Option<&Path>, cwd: &Path) -> Result<PathBuf, DiscoveryError> {
    match dir {
        Some(dir) => {
            let dir = if dir.is_absolute() {
                dir.to_path_buf()
            } else {
                cwd.join(dir)
            };
            let project = if dir.file_name().is_some_and(|n| n == STATE_DIR) {
                dir.parent().map(Path::to_path_buf).unwrap_or(dir)
            } else {
                dir
            };
            let project = normalize(&project);
            let state = project.join(STATE_DIR);
            match std::fs::read_dir(&state) {
                Ok(_) => Ok(project),
                Err(err) if state.is_dir() => Err(DiscoveryError::Unreadable(
                    project.display().to_string(),
                    err.to_string(),
                )),
                // Say what is wrong with the folder itself before blaming a missing .instar/.
                Err(_) => Err(match std::fs::metadata(&project) {
                    Err(_) => DiscoveryError::DirMissing(project.display().to_string()),
                    Ok(meta) if !meta.is_dir() => {
                        DiscoveryError::NotADirectory(project.display().to_string())
                    }
                    Ok(_) => DiscoveryError::NoStateDir(project.display().to_string()),
                }),
            }
        }
        None => {
            let start = normalize(cwd);
            let mut here = Some(start.as_path());
            while let Some(folder) = here {
                if looks_like_agent(&folder.join(STATE_DIR)) {
                    return Ok(folder.to_path_buf());
                }
                here = folder.parent();
            }
            Err(DiscoveryError::NotFound(start.display().to_string()))
        }
    }
}

/// The per-user `~/.instar/` (agent registry, `agents/`) holds none of these, so it never counts.
pub fn looks_like_agent(state: &Path) -> bool {
    ["config.json", "jobs.json", "machine", "machines"]
        .iter()
        .any(|name| std::fs::symlink_metadata(state.join(name)).is_ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn discovery_walks_up_to_an_agent_and_ignores_bare_instar_dirs() {
        let dir = tempfile::tempdir().unwrap();
        let project = dir.path().join("agent");
        std::fs::create_dir_all(project.join(".instar")).unwrap();
        std::fs::write(project.join(".instar/jobs.json"), "[]").unwrap();
        let nested = project.join("src/deep");
        std::fs::create_dir_all(&nested).unwrap();
        // A bare .instar/ in between (like the per-user registry) does not stop the walk.
        std::fs::create_dir_all(project.join("src/.instar")).unwrap();
        std::fs::write(project.join("src/.instar/registry.json"), "{}").unwrap();
        assert_eq!(discover(None, &nested).unwrap(), project);
        assert_eq!(
            discover(Some(&project.join(".instar")), dir.path()).unwrap(),
            project
        );
        assert!(matches!(
            discover(Some(Path::new("nope")), dir.path()),
            Err(DiscoveryError::DirMissing(_))
        ));
        assert!(matches!(
            discover(Some(Path::new("agent/.instar/jobs.json")), dir.path()),
            Err(DiscoveryError::NotADirectory(_))
        ));
        assert!(matches!(
            discover(Some(Path::new("agent/src/deep")), dir.path()),
            Err(DiscoveryError::NoStateDir(_))
        ));
    }
}

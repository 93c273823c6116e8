//! Where a run may write: real folders inside the project, never through a symlink.
//!
//! `.instar/` is committed to git, so a cloned tree can hold a symlink where one of our folders
//! or one of the agent's folders should be (`.instar/doctor -> ~`, `.instar/machine -> /etc`).
//! Every folder a run writes into is checked from the project folder down, one component at a
//! time with `lstat`: each must be a real directory, never a link, whatever the link points at.
//! The project folder itself is taken as given (on macOS temp folders live under `/var`, itself a
//! link, and a user may reach a checkout through a link of their own).
//!
//! Checking and writing are two steps, so a local process racing the doctor could swap a folder
//! in between; the threat here is a tree planted in advance (a clone), which the check defeats.
//! (An `openat` walk would close that race too, at the cost of expressing every write in terms of
//! directory descriptors.)

use std::fs::{self, DirBuilder, OpenOptions};
use std::io;
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Component, Path, PathBuf};

use super::{failed, WriteError};

pub(crate) const PRIVATE_DIR_MODE: u32 = 0o700;

/// The components of `path` below `root`, when `path` is `root` or lies lexically inside it and
/// names no `..` (which could climb back out through a link).
fn below<'a>(root: &Path, path: &'a Path) -> Option<Vec<Component<'a>>> {
    let rest = path.strip_prefix(root).ok()?;
    let parts: Vec<Component<'a>> = rest.components().collect();
    parts
        .iter()
        .all(|c| matches!(c, Component::Normal(_)))
        .then_some(parts)
}

fn unsafe_dir(project: &Path, dir: &Path, what: String) -> WriteError {
    WriteError::UnsafeDir {
        path: crate::paths::display_path(project, dir),
        what,
    }
}

/// What stands at `path`, for the one-line refusal.
fn describe_link(path: &Path) -> String {
    match fs::read_link(path) {
        Ok(target) => format!("a symlink (to {})", target.display()),
        Err(_) => "a symlink".to_string(),
    }
}

/// Checks that every existing component of `dir` below `project` is a real directory. A missing
/// component is fine: nothing can be followed through it, and a write into it fails by itself.
pub fn check_dir(project: &Path, dir: &Path) -> Result<(), WriteError> {
    let Some(parts) = below(project, dir) else {
        return Err(WriteError::OutsideProject(dir.display().to_string()));
    };
    let mut here = project.to_path_buf();
    for part in parts {
        here.push(part);
        match fs_err::symlink_metadata(&here) {
            Ok(meta) if meta.file_type().is_dir() => {}
            Ok(meta) if meta.file_type().is_symlink() => {
                return Err(unsafe_dir(project, &here, describe_link(&here)))
            }
            Ok(_) => return Err(unsafe_dir(project, &here, "not a folder".to_string())),
            Err(err) if err.kind() == io::ErrorKind::NotFound => return Ok(()),
            Err(err) => return Err(err.into()),
        }
    }
    Ok(())
}

/// Where a change of the file `path` really lands. Its folders must be real directories inside
/// the project (else the run is refused); the file itself may be a symlink that stays inside the
/// project, and then its target is what is written.
pub fn resolve_target(project: &Path, path: &Path) -> Result<PathBuf, WriteError> {
    let shown = || crate::paths::display_path(project, path);
    let parent = path.parent().unwrap_or(project);
    match check_dir(project, parent) {
        Err(WriteError::OutsideProject(_)) => return Err(WriteError::OutsideProject(shown())),
        other => other?,
    }
    match fs::symlink_metadata(path) {
        Ok(meta) if meta.file_type().is_symlink() => {
            let leaves = || WriteError::SymlinkLeavesProject(shown());
            let target = fs::canonicalize(path).map_err(|_| leaves())?;
            let root = fs_err::canonicalize(project)?;
            // The canonical path has no link left in it, so lying under the project is enough.
            if below(&root, &target).is_some_and(|parts| !parts.is_empty()) {
                Ok(target)
            } else {
                Err(leaves())
            }
        }
        _ => Ok(path.to_path_buf()),
    }
}

/// A path a manifest names (relative to the project, `/`-separated), as a path in the project.
/// A manifest comes from the tree, which may be hostile: an absolute path or a `..` is refused,
/// so restoring a planted "interrupted run" can never write outside the project.
pub fn manifest_path(project: &Path, shown: &str) -> Result<PathBuf, WriteError> {
    let rel = Path::new(shown);
    let plain = !shown.is_empty() && rel.components().all(|c| matches!(c, Component::Normal(_)));
    if plain {
        Ok(project.join(rel))
    } else {
        Err(WriteError::OutsideProject(shown.to_string()))
    }
}

/// Creates (0700) or checks the doctor's own folder `dir` and every folder between `state_dir`
/// and it. `state_dir` must be a real folder of the project; each folder below it is made with
/// `mkdir`, which fails rather than follow a link standing in its place, and is then opened with
/// `O_DIRECTORY | O_NOFOLLOW` and checked on the descriptor: a directory, owned by us or by the
/// agent's user (the owner of `.instar/`), made exactly 0700 whatever the umask.
pub fn own_dir(state_dir: &Path, dir: &Path) -> Result<(), WriteError> {
    let project = state_dir.parent().unwrap_or(Path::new("/"));
    check_dir(project, state_dir)?;
    let state_meta = fs_err::symlink_metadata(state_dir)?;
    let Some(parts) = below(state_dir, dir) else {
        return Err(WriteError::OutsideProject(dir.display().to_string()));
    };
    // SAFETY: geteuid cannot fail and touches no memory.
    let me = unsafe { libc::geteuid() };
    let mut here = state_dir.to_path_buf();
    for part in parts {
        here.push(part);
        match DirBuilder::new().mode(PRIVATE_DIR_MODE).create(&here) {
            Ok(()) => {}
            // Something stands there already: a folder we made earlier, or a planted link or
            // file, which the check below turns away.
            Err(err) if err.kind() == io::ErrorKind::AlreadyExists => {}
            Err(err) => return Err(failed("create directory", &here)(err)),
        }
        // Opened by `std`, whose error keeps the errno that tells a file from a folder.
        let opened = OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_DIRECTORY | libc::O_NOFOLLOW | libc::O_CLOEXEC)
            .open(&here);
        let folder = match opened {
            Ok(folder) => folder,
            Err(_) if fs::symlink_metadata(&here).is_ok_and(|m| m.file_type().is_symlink()) => {
                return Err(unsafe_dir(project, &here, describe_link(&here)))
            }
            Err(err) if err.raw_os_error() == Some(libc::ENOTDIR) => {
                return Err(unsafe_dir(project, &here, "not a folder".to_string()))
            }
            Err(err) => return Err(failed("open directory", &here)(err)),
        };
        let folder = fs_err::File::from_parts(folder, &here);
        let meta = folder.metadata()?;
        if !meta.is_dir() {
            return Err(unsafe_dir(project, &here, "not a folder".to_string()));
        }
        if meta.uid() != me && meta.uid() != state_meta.uid() {
            return Err(unsafe_dir(
                project,
                &here,
                format!(
                    "owned by uid {}, neither us nor the agent's user",
                    meta.uid()
                ),
            ));
        }
        if meta.permissions().mode() & 0o7777 != PRIVATE_DIR_MODE {
            folder.set_permissions(fs::Permissions::from_mode(PRIVATE_DIR_MODE))?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::symlink;

    #[test]
    fn a_linked_folder_anywhere_on_the_way_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let project = dir.path();
        let outside = tempfile::tempdir().unwrap();
        fs::create_dir_all(project.join(".instar/state")).unwrap();
        symlink(outside.path(), project.join(".instar/machine")).unwrap();
        assert!(check_dir(project, &project.join(".instar/state")).is_ok());
        assert!(check_dir(project, &project.join(".instar/missing/deeper")).is_ok());
        for dir in [".instar/machine", ".instar/machine/sub"] {
            assert!(
                matches!(
                    check_dir(project, &project.join(dir)),
                    Err(WriteError::UnsafeDir { .. })
                ),
                "{dir}"
            );
        }
        assert!(matches!(
            check_dir(project, outside.path()),
            Err(WriteError::OutsideProject(_))
        ));
        assert!(matches!(
            check_dir(project, &project.join(".instar/../..")),
            Err(WriteError::OutsideProject(_))
        ));
    }

    #[test]
    fn own_folders_are_never_made_through_a_link() {
        let dir = tempfile::tempdir().unwrap();
        let state = dir.path().join(".instar");
        fs::create_dir(&state).unwrap();
        let outside = tempfile::tempdir().unwrap();
        // A dangling link: `create_dir_all` would happily make its target outside.
        symlink(outside.path().join("made"), state.join("doctor")).unwrap();
        assert!(matches!(
            own_dir(&state, &state.join("doctor/runs")),
            Err(WriteError::UnsafeDir { .. })
        ));
        assert!(!outside.path().join("made").exists());
        fs::remove_file(state.join("doctor")).unwrap();
        own_dir(&state, &state.join("doctor/runs")).unwrap();
        let mode = fs::metadata(state.join("doctor/runs"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o700);
    }

    #[test]
    fn manifest_paths_stay_inside_the_project() {
        let project = Path::new("/p");
        assert_eq!(
            manifest_path(project, ".instar/jobs.json").unwrap(),
            Path::new("/p/.instar/jobs.json")
        );
        for bad in ["/etc/passwd", "../x", ".instar/../../x", ""] {
            assert!(manifest_path(project, bad).is_err(), "{bad}");
        }
    }
}

//! How each output names a file (design §8 "Paths").
//!
//! - The human report speaks to someone in a shell: paths relative to the working directory
//!   (as ruff and rustc print them), absolute when the file is not below it. This also keeps
//!   the report independent of where the agent lives on disk, which is what lets the fixture
//!   snapshots pass from a clone at any path: an absolute path inside a wrapped message used
//!   to be cut at the terminal width, at a place that depended on the path's length.
//! - GitHub annotations and SARIF locations are read against the repository: relative to its
//!   root (`GITHUB_WORKSPACE`, else the nearest folder above the agent holding `.git`, else the
//!   project folder), so an agent in a subfolder is annotated on the right file.
//! - JSON keeps `file` relative to the project folder (the v1 contract); see `render::json`.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

/// A path below `base` as `a/b/c`, or `None` when it is not strictly below it.
fn below(base: &Path, path: &Path) -> Option<String> {
    let rel = path.strip_prefix(base).ok()?;
    let parts: Vec<_> = rel
        .components()
        .map(|c| c.as_os_str().to_string_lossy())
        .collect();
    (!parts.is_empty()).then(|| parts.join("/"))
}

/// Paths as the human report shows them.
pub struct HumanPaths {
    cwd: Option<PathBuf>,
    project_dir: PathBuf,
    /// The last path shown and how: a full report names one file for thousands of findings
    /// in a row, and working it out walked both paths' components each time (issue #11).
    last: std::cell::RefCell<Option<(PathBuf, String)>>,
}

impl HumanPaths {
    pub fn new(cwd: Option<PathBuf>, project_dir: &Path) -> Self {
        HumanPaths {
            cwd,
            project_dir: project_dir.to_path_buf(),
            last: std::cell::RefCell::new(None),
        }
    }

    /// Any path: relative to the working directory when below it, else as given.
    pub fn path(&self, path: &Path) -> String {
        if let Some((last, shown)) = &*self.last.borrow() {
            // The same bytes: the same path (a component-wise compare would cost the walk).
            if last.as_os_str() == path.as_os_str() {
                return shown.clone();
            }
        }
        let shown = self
            .cwd
            .as_deref()
            .and_then(|cwd| below(cwd, path))
            .unwrap_or_else(|| path.to_string_lossy().into_owned());
        *self.last.borrow_mut() = Some((path.to_path_buf(), shown.clone()));
        shown
    }

    /// The project folder: relative when it is below the working directory; absolute when it is
    /// the working directory itself (a bare `.` would tell the reader nothing) or elsewhere.
    pub fn project(&self) -> String {
        self.path(&self.project_dir)
    }

    /// What `--dir` needs in a command the reader runs from here: nothing when the agent is the
    /// working directory.
    pub fn dir_argument(&self) -> Option<String> {
        (self.cwd.as_deref() != Some(self.project_dir.as_path())).then(|| self.project())
    }

    /// Free text (a message, a help, a fix title) with every mention of the project folder's
    /// absolute path shown as `project()`. A mention must end at a path boundary, so
    /// `/a/echo-old` is not taken for the project `/a/echo`.
    pub fn text(&self, text: &str) -> String {
        let absolute = self.project_dir.to_string_lossy();
        let shown = self.project();
        if absolute.is_empty() || shown == absolute || !text.contains(absolute.as_ref()) {
            return text.to_string();
        }
        let mut out = String::with_capacity(text.len());
        let mut rest = text;
        while let Some(at) = rest.find(absolute.as_ref()) {
            let after = &rest[at + absolute.len()..];
            let boundary = after
                .chars()
                .next()
                .is_none_or(|c| !(c.is_alphanumeric() || matches!(c, '-' | '_' | '.')));
            out.push_str(&rest[..at]);
            out.push_str(if boundary { &shown } else { &absolute });
            rest = after;
        }
        out.push_str(rest);
        out
    }
}

/// Where the repository that holds the agent starts, for GitHub and SARIF locations.
#[derive(Debug, Clone)]
pub struct RepoPaths {
    root: PathBuf,
    project_dir: PathBuf,
    /// `file`'s answers: a report names few files, often many times each (issue #11).
    shown: Arc<Mutex<HashMap<String, String>>>,
}

impl RepoPaths {
    /// `workspace` is `GITHUB_WORKSPACE` when set; it is used only when the agent is inside it
    /// (a workspace elsewhere says nothing about this agent's repository). Otherwise the
    /// nearest folder at or above the agent holding `.git` (a folder, or the file of a
    /// worktree or submodule) — found by looking, never by running git, since a check spawns
    /// nothing — else the project folder itself.
    pub fn discover(project_dir: &Path, workspace: Option<&Path>) -> Self {
        let root = workspace
            .filter(|w| !w.as_os_str().is_empty())
            .and_then(|w| containing(w, project_dir))
            .or_else(|| {
                project_dir
                    .ancestors()
                    .find(|dir| dir.join(".git").symlink_metadata().is_ok())
                    .map(Path::to_path_buf)
            })
            .unwrap_or_else(|| project_dir.to_path_buf());
        RepoPaths {
            root,
            project_dir: project_dir.to_path_buf(),
            shown: Arc::default(),
        }
    }

    /// Paths of `project_dir` relative to a root chosen by the caller: `scan`'s SARIF run puts
    /// every agent's locations under the one scan root.
    pub fn rooted(root: &Path, project_dir: &Path) -> Self {
        RepoPaths {
            root: root.to_path_buf(),
            project_dir: project_dir.to_path_buf(),
            shown: Arc::default(),
        }
    }

    /// The root, for SARIF's `%SRCROOT%`.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// A report's `file` (relative to the project, or absolute outside it) relative to the
    /// repository root; absolute when the file is outside the repository.
    pub fn file(&self, file: &str) -> String {
        let mut shown = self.shown.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(path) = shown.get(file) {
            return path.clone();
        }
        let path = self.file_uncached(file);
        shown.insert(file.to_string(), path.clone());
        path
    }

    fn file_uncached(&self, file: &str) -> String {
        let path = Path::new(file);
        let absolute = if path.is_absolute() {
            path.to_path_buf()
        } else {
            self.project_dir.join(path)
        };
        below(&self.root, &absolute).unwrap_or_else(|| file.to_string())
    }
}

/// Something a renderer derives from a finding's file (its path from the repository root, as a
/// URI…), kept for the last file only: findings come file by file, so each file's answer is
/// made once per run of its findings, without hashing the path for every finding (issue #11).
pub struct LastFile<F> {
    make: F,
    last: Option<(String, String)>,
}

impl<F: FnMut(&str) -> String> LastFile<F> {
    pub fn new(make: F) -> Self {
        LastFile { make, last: None }
    }

    pub fn get(&mut self, file: &str) -> &str {
        let (key, value) = match self.last.take() {
            Some((key, value)) if key == file => (key, value),
            _ => (file.to_string(), (self.make)(file)),
        };
        &self.last.insert((key, value)).1
    }
}

/// `workspace` as a prefix of `project_dir`, comparing real paths when the spellings differ
/// (a workspace given through a symlink, or with `..`).
fn containing(workspace: &Path, project_dir: &Path) -> Option<PathBuf> {
    if project_dir.starts_with(workspace) {
        return Some(workspace.to_path_buf());
    }
    let real_workspace = workspace.canonicalize().ok()?;
    let real_project = project_dir.canonicalize().ok()?;
    let rel = real_project.strip_prefix(&real_workspace).ok()?;
    // Keep the project's own spelling: the report's other paths are built from it.
    let mut root = project_dir.to_path_buf();
    for _ in rel.components() {
        root.pop();
    }
    Some(root)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn human_paths_are_relative_to_the_working_directory_when_below_it() {
        let paths = HumanPaths::new(Some("/home/u".into()), Path::new("/home/u/agents/echo"));
        assert_eq!(
            paths.path(Path::new("/home/u/agents/echo/.instar/jobs.json")),
            "agents/echo/.instar/jobs.json"
        );
        assert_eq!(paths.project(), "agents/echo");
        assert_eq!(paths.path(Path::new("/etc/x")), "/etc/x");
        let inside = HumanPaths::new(
            Some("/home/u/agents/echo".into()),
            Path::new("/home/u/agents/echo"),
        );
        assert_eq!(inside.project(), "/home/u/agents/echo");
        assert_eq!(
            inside.path(Path::new("/home/u/agents/echo/.instar/jobs.json")),
            ".instar/jobs.json"
        );
    }

    #[test]
    fn mentions_of_the_project_in_text_stop_at_a_path_boundary() {
        let paths = HumanPaths::new(Some("/w".into()), Path::new("/w/echo"));
        assert_eq!(
            paths.text("now at /w/echo, was /w/echo-old and /w/echo/.instar"),
            "now at echo, was /w/echo-old and echo/.instar"
        );
    }

    #[test]
    fn repository_root_is_the_workspace_else_the_nearest_git_else_the_project() {
        let tmp = tempfile::tempdir().unwrap();
        let repo = tmp.path().join("repo");
        let agent = repo.join("agents/echo");
        std::fs::create_dir_all(&agent).unwrap();
        assert_eq!(RepoPaths::discover(&agent, None).root(), agent);
        // A worktree or submodule has a `.git` file, not a folder.
        std::fs::write(repo.join(".git"), "gitdir: elsewhere\n").unwrap();
        let paths = RepoPaths::discover(&agent, None);
        assert_eq!(paths.root(), repo);
        assert_eq!(
            paths.file(".instar/jobs.json"),
            "agents/echo/.instar/jobs.json"
        );
        assert_eq!(paths.file("/etc/plist"), "/etc/plist");
        assert_eq!(
            RepoPaths::discover(&agent, Some(tmp.path())).root(),
            tmp.path()
        );
        // A workspace that does not hold the agent is not its repository.
        let other = tempfile::tempdir().unwrap();
        assert_eq!(RepoPaths::discover(&agent, Some(other.path())).root(), repo);
    }
}

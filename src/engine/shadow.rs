//! The version the agent's shadow install carries: how the version is detected before a run.

use std::path::{Path, PathBuf};

use crate::json::{self, Tape};
use crate::paths::STATE_DIR;
use crate::source::{self, FileState};
use crate::version::Version;

/// The version in `.instar/shadow-install/node_modules/instar/package.json`, if it can be read.
pub enum ShadowVersion {
    Absent,
    Found(Version),
    Broken { path: PathBuf, reason: String },
}

/// Where the shadow install keeps instar's own `package.json`, under the state folder.
pub const SHADOW_PACKAGE: &str = "shadow-install/node_modules/instar/package.json";

/// The shadow install's version of the agent in `project_dir`, for callers that decide the
/// version before a `Context` exists (checks ask `Context::shadow_version`, read once).
pub fn shadow_install_version(project_dir: &Path) -> ShadowVersion {
    let path = project_dir.join(STATE_DIR).join(SHADOW_PACKAGE);
    let state = source::read(&path);
    shadow_version_of(path, &state)
}

/// The version a read of the shadow install's `package.json` gives.
pub fn shadow_version_of(path: PathBuf, state: &FileState) -> ShadowVersion {
    let loaded = match state {
        FileState::Missing => return ShadowVersion::Absent,
        FileState::Present(loaded) => loaded,
        other => {
            return ShadowVersion::Broken {
                path,
                reason: other.describe(),
            }
        }
    };
    let mut tape = Tape::new();
    let broken = |reason: String| ShadowVersion::Broken {
        path: path.clone(),
        reason,
    };
    match json::parse(&loaded.bytes, &mut tape) {
        Err(err) => broken(err.message),
        Ok(_) => {
            let root = tape.root();
            match root.get("version").and_then(|v| v.as_str()) {
                Some(text) => match text.parse() {
                    Ok(version) => ShadowVersion::Found(version),
                    Err(err) => broken(format!("{err}")),
                },
                None => broken("it has no \"version\" string".to_string()),
            }
        }
    }
}

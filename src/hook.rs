//! `hook install|uninstall`: the git pre-push hook that runs the check before each push.
//!
//! The hook blocks a push on exit 1 (errors in the agent's state) with a one-line hint, lets it
//! through on exit 2 (a broken doctor must not hold a team hostage) and passes silently where the
//! repository has no `.instar/`. An existing hook is chained, never overwritten, and put back on
//! uninstall. This is the one command that runs git: to find the hooks folder as git sees it
//! (worktrees and `core.hooksPath` included).

use std::path::{Path, PathBuf};
use std::process::Command;

const HOOK: &str = "pre-push";
const CHAINED: &str = "pre-push.instar-doctor-chained";
/// Marks a hook as ours, so uninstall never removes someone else's.
const MARKER: &str = "# installed by instar-doctor (hook install)";

#[derive(Debug, thiserror::Error)]
pub enum HookError {
    #[error("not inside a git repository (git rev-parse failed: {0})")]
    NotARepository(String),
    /// An I/O error that names its path (fs-err).
    #[error("{0}")]
    Io(#[from] std::io::Error),
    #[error("{0}: a chained hook is already there; remove it first")]
    ChainedExists(String),
    #[error("{0}: {1}")]
    Write(String, String),
    #[error("{0} is not instar-doctor's hook; nothing was removed")]
    NotOurs(String),
}

fn git(cwd: &Path, args: &[&str]) -> Result<String, HookError> {
    let out = Command::new("git")
        .args(args)
        .current_dir(cwd)
        .output()
        .map_err(|e| HookError::NotARepository(e.to_string()))?;
    if !out.status.success() {
        return Err(HookError::NotARepository(
            String::from_utf8_lossy(&out.stderr).trim().to_string(),
        ));
    }
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
}

fn hooks_dir(cwd: &Path) -> Result<PathBuf, HookError> {
    let dir = PathBuf::from(git(cwd, &["rev-parse", "--git-path", "hooks"])?);
    Ok(if dir.is_absolute() {
        dir
    } else {
        cwd.join(dir)
    })
}

/// Single-quotes a path for sh.
fn sh_quote(text: &str) -> String {
    format!("'{}'", text.replace('\'', "'\\''"))
}

/// The hook script. The doctor's path at install time is tried first, then PATH.
fn script(doctor: &Path) -> String {
    format!(
        r#"#!/bin/sh
{MARKER}
# Checks the instar agent's state before a push; `instar-doctor hook uninstall` removes it.
hook_dir=$(dirname "$0")
input=$(cat)
if [ -x "$hook_dir/{CHAINED}" ]; then
  printf '%s\n' "$input" | "$hook_dir/{CHAINED}" "$@" || exit $?
fi
root=$(git rev-parse --show-toplevel 2>/dev/null) || exit 0
[ -d "$root/.instar" ] || exit 0
doctor={doctor}
[ -x "$doctor" ] || doctor=$(command -v instar-doctor) || exit 0
"$doctor" --dir "$root" --format concise --quiet --color never >&2
status=$?
case $status in
  0) exit 0 ;;
  1) echo "instar-doctor: the push is blocked by the errors above; the hint names the command that clears them" >&2
     exit 1 ;;
  *) echo "instar-doctor could not check the agent (exit $status); letting the push through" >&2
     exit 0 ;;
esac
"#,
        doctor = sh_quote(&doctor.display().to_string())
    )
}

/// Whether the hook at `path` is the one we installed. Read without blocking and capped: a FIFO
/// or a huge file at the hook's path is simply not ours.
fn is_ours(path: &Path) -> bool {
    crate::safe_read::read_regular(path, 1 << 20)
        .is_ok_and(|(bytes, _)| String::from_utf8_lossy(&bytes).contains(MARKER))
}

pub fn install(cwd: &Path) -> Result<String, HookError> {
    let dir = hooks_dir(cwd)?;
    fs_err::create_dir_all(&dir)?;
    let hook = dir.join(HOOK);
    let chained = dir.join(CHAINED);
    let mut note = String::new();
    if hook.exists() && !is_ours(&hook) {
        if chained.exists() {
            return Err(HookError::ChainedExists(chained.display().to_string()));
        }
        fs_err::rename(&hook, &chained)?;
        note = format!(" (the existing hook now runs first, from {CHAINED})");
    }
    let doctor = std::env::current_exe().unwrap_or_else(|_| PathBuf::from("instar-doctor"));
    // The hooks folder may be committed (`core.hooksPath`): a planted link named like a temp
    // file must never be written through, so this goes through the fix runs' atomic write
    // (O_CREAT|O_EXCL|O_NOFOLLOW temp file, fsync, rename).
    crate::write::write_atomic(&hook, script(&doctor).as_bytes(), 0o755)
        .map_err(|e| HookError::Write(hook.display().to_string(), e.to_string()))?;
    Ok(format!("installed {}{note}", hook.display()))
}

pub fn uninstall(cwd: &Path) -> Result<String, HookError> {
    let dir = hooks_dir(cwd)?;
    let hook = dir.join(HOOK);
    let chained = dir.join(CHAINED);
    if !hook.exists() {
        return Ok("no pre-push hook was installed".to_string());
    }
    if !is_ours(&hook) {
        return Err(HookError::NotOurs(hook.display().to_string()));
    }
    if chained.exists() {
        fs_err::rename(&chained, &hook)?;
        Ok(format!(
            "removed; the previous hook is back at {}",
            hook.display()
        ))
    } else {
        fs_err::remove_file(&hook)?;
        Ok(format!("removed {}", hook.display()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_are_quoted_for_sh() {
        assert_eq!(sh_quote("/a b/it's"), r"'/a b/it'\''s'");
    }

    /// A hooks folder that cannot be made says which path failed.
    #[test]
    fn a_hooks_folder_that_cannot_be_made_is_named() {
        let tmp = tempfile::tempdir().unwrap();
        let git = |args: &[&str]| {
            let ok = Command::new("git")
                .args(args)
                .current_dir(tmp.path())
                .output()
                .is_ok_and(|o| o.status.success());
            assert!(ok, "git {args:?}");
        };
        git(&["init", "-q"]);
        std::fs::write(tmp.path().join("not-a-folder"), "").unwrap();
        git(&["config", "core.hooksPath", "not-a-folder/hooks"]);
        let err = install(tmp.path()).unwrap_err().to_string();
        assert!(err.contains("not-a-folder"), "{err}");
    }

    #[test]
    fn the_script_is_marked_and_chains() {
        let text = script(Path::new("/bin/instar-doctor"));
        assert!(text.starts_with("#!/bin/sh\n"));
        assert!(text.contains(MARKER) && text.contains(CHAINED));
    }
}

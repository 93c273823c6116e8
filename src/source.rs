//! Reading state files once, and saying exactly why a file could not be read.
//!
//! instar reads its files with `readFileSync`, guarded by `existsSync`. `existsSync` follows
//! symlinks, so a dangling or looping link looks like an absent file to instar, while a directory
//! or an unreadable file makes `readFileSync` throw. A FIFO would block instar (and us) forever,
//! so nothing here ever opens a file that is not a regular file.

use std::fs;
use std::io;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::safe_read::{self, ReadError};

/// Above this size V8 cannot hold the file as one string (`readFileSync(…, 'utf-8')` throws
/// ERR_STRING_TOO_LONG at 2^29 - 24 UTF-16 units), so instar cannot load it at all. Counting bytes
/// is conservative: multi-byte characters only make the string shorter.
pub const V8_MAX_STRING_BYTES: u64 = (1 << 29) - 24;

pub use crate::safe_read::NotAFile;

/// A file's bytes, shared without copying. (`Arc<[u8]>` from a `Vec` would copy the whole file
/// once more, doubling peak memory on a large jobs.json.)
pub type Bytes = Arc<Vec<u8>>;

/// The bytes of a regular file and what we learnt about it on the way.
#[derive(Debug, Clone)]
pub struct Loaded {
    pub bytes: Bytes,
    /// Permission bits (`st_mode & 0o7777`).
    pub mode: u32,
    pub uid: u32,
    /// Where the path's symlink pointed, when the path was a symlink to a regular file.
    pub symlink_target: Option<PathBuf>,
}

#[derive(Debug, Clone)]
pub enum FileState {
    Missing,
    /// A symlink whose target does not exist.
    Dangling {
        target: PathBuf,
    },
    /// A symlink chain that never ends (ELOOP).
    SymlinkLoop,
    NotAFile(NotAFile),
    /// Exists but cannot be read (permissions, I/O error).
    Unreadable {
        reason: String,
    },
    /// Too large for instar to load as a string (see `V8_MAX_STRING_BYTES`).
    TooLarge {
        len: u64,
    },
    Present(Loaded),
}

impl FileState {
    pub fn loaded(&self) -> Option<&Loaded> {
        match self {
            FileState::Present(loaded) => Some(loaded),
            _ => None,
        }
    }

    /// A phrase for messages: "is a directory", "cannot be read (permission denied)"…
    pub fn describe(&self) -> String {
        match self {
            FileState::Missing => "does not exist".to_string(),
            FileState::Dangling { target } => {
                format!("is a symlink to {}, which does not exist", target.display())
            }
            FileState::SymlinkLoop => "is a symlink loop".to_string(),
            FileState::NotAFile(what) => format!("is {}", what.describe()),
            FileState::Unreadable { reason } => format!("cannot be read ({reason})"),
            FileState::TooLarge { len } => format!("is too large ({len} bytes)"),
            FileState::Present(_) => "is readable".to_string(),
        }
    }

    /// How instar's `existsSync` answers for this path.
    pub fn exists_for_instar(&self) -> bool {
        !matches!(
            self,
            FileState::Missing | FileState::Dangling { .. } | FileState::SymlinkLoop
        )
    }
}

/// Reads `path` if it is a regular file (following symlinks), classifying every other case.
pub fn read(path: &Path) -> FileState {
    let link_meta = match fs::symlink_metadata(path) {
        Ok(meta) => meta,
        Err(err) => return classify_error(&err),
    };
    let symlink_target = if link_meta.file_type().is_symlink() {
        Some(fs::read_link(path).unwrap_or_default())
    } else {
        None
    };
    let meta = match fs::metadata(path) {
        Ok(meta) => meta,
        Err(err) => {
            return match (&symlink_target, err.kind()) {
                (Some(target), io::ErrorKind::NotFound) => FileState::Dangling {
                    target: target.clone(),
                },
                _ => classify_error(&err),
            }
        }
    };
    // Classify from the stat first (no open at all for the common "directory" case), then
    // again from the descriptor: the path may have been swapped between the two.
    if let Some(what) = safe_read::not_a_file(meta.file_type()) {
        return FileState::NotAFile(what);
    }
    if meta.len() > V8_MAX_STRING_BYTES {
        return FileState::TooLarge { len: meta.len() };
    }
    match safe_read::read_regular(path, V8_MAX_STRING_BYTES) {
        Ok((bytes, meta)) => FileState::Present(Loaded {
            bytes: Arc::new(bytes),
            mode: meta.mode() & 0o7777,
            uid: meta.uid(),
            symlink_target,
        }),
        Err(ReadError::NotAFile(what)) => FileState::NotAFile(what),
        Err(ReadError::TooLarge { len }) => FileState::TooLarge { len },
        Err(ReadError::Io(err)) => classify_error(&err),
    }
}

/// Maps an I/O error to the state it reveals. ELOOP has no stable `ErrorKind` on our MSRV, so it
/// is recognised by its raw OS code, taken from libc: it is 40 on Linux and 62 on macOS.
pub fn classify_error(err: &io::Error) -> FileState {
    match err.kind() {
        io::ErrorKind::NotFound => FileState::Missing,
        _ if err.raw_os_error() == Some(libc::ELOOP) => FileState::SymlinkLoop,
        io::ErrorKind::PermissionDenied => FileState::Unreadable {
            reason: "permission denied".to_string(),
        },
        _ => FileState::Unreadable {
            reason: err.to_string(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::symlink;

    #[test]
    fn classifies_every_kind_of_path() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        fs::write(root.join("file"), b"[]").unwrap();
        fs::create_dir(root.join("dir")).unwrap();
        symlink(root.join("nowhere"), root.join("dangling")).unwrap();
        symlink(root.join("loop-b"), root.join("loop-a")).unwrap();
        symlink(root.join("loop-a"), root.join("loop-b")).unwrap();
        symlink(root.join("file"), root.join("link")).unwrap();

        assert!(matches!(read(&root.join("absent")), FileState::Missing));
        assert!(matches!(
            read(&root.join("dir")),
            FileState::NotAFile(NotAFile::Directory)
        ));
        assert!(matches!(
            read(&root.join("dangling")),
            FileState::Dangling { .. }
        ));
        assert!(matches!(read(&root.join("loop-a")), FileState::SymlinkLoop));
        let linked = read(&root.join("link"));
        let loaded = linked.loaded().expect("a link to a file reads the file");
        assert_eq!(&*loaded.bytes, b"[]");
        assert_eq!(loaded.symlink_target.as_deref(), Some(&*root.join("file")));
    }

    #[test]
    fn a_fifo_is_classified_without_opening_it() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("fifo");
        let status = std::process::Command::new("mkfifo").arg(&fifo).status();
        if !matches!(status, Ok(s) if s.success()) {
            eprintln!("skipped: mkfifo is not available");
            return;
        }
        // Opening a FIFO for reading would block this test forever; classification must not.
        assert!(matches!(read(&fifo), FileState::NotAFile(NotAFile::Fifo)));
    }

    #[test]
    fn permission_errors_are_unreadable_not_missing() {
        // Root reads everything, so the error itself is emulated.
        let err = io::Error::from(io::ErrorKind::PermissionDenied);
        assert!(matches!(classify_error(&err), FileState::Unreadable { .. }));
        let eloop = io::Error::from_raw_os_error(libc::ELOOP);
        assert!(matches!(classify_error(&eloop), FileState::SymlinkLoop));
    }
}

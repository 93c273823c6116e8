//! What stands at a path right now, for backups, compare-and-swap and rollbacks. Never blocks:
//! a FIFO planted where a file should be is reported as one, not opened for reading (see
//! `crate::safe_read`), and the read is capped by the bytes read, not by an earlier `stat`.

use std::io;
use std::os::unix::fs::MetadataExt;
use std::path::Path;

use crate::safe_read::{read_regular, ReadError};
use crate::source::V8_MAX_STRING_BYTES;

use super::{failed, WriteError};
use crate::digest::sha256_hex;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Now {
    Missing,
    /// A regular file (reached through a symlink, if the path is one).
    File {
        bytes: Vec<u8>,
        mode: u32,
    },
    /// Anything else: a FIFO, a socket, a device, a folder, a dangling or looping link.
    Other,
}

impl Now {
    pub fn hash(&self) -> Option<String> {
        match self {
            Now::File { bytes, .. } => Some(sha256_hex(bytes)),
            _ => None,
        }
    }

    pub fn mode(&self) -> Option<u32> {
        match self {
            Now::File { mode, .. } => Some(*mode),
            _ => None,
        }
    }
}

/// Reads what is at `path` now, following a final symlink (a target the caller resolved).
pub fn now(path: &Path) -> Result<Now, WriteError> {
    match fs_err::symlink_metadata(path) {
        Err(err) if err.kind() == io::ErrorKind::NotFound => return Ok(Now::Missing),
        Err(err) => return Err(err.into()),
        Ok(_) => {}
    }
    match read_regular(path, V8_MAX_STRING_BYTES) {
        Ok((bytes, meta)) => Ok(Now::File {
            bytes,
            mode: meta.mode() & 0o7777,
        }),
        Err(ReadError::Io(err)) if err.kind() == io::ErrorKind::NotFound => Ok(Now::Other),
        Err(ReadError::Io(err)) if err.raw_os_error() == Some(libc::ELOOP) => Ok(Now::Other),
        Err(ReadError::NotAFile(_)) => Ok(Now::Other),
        Err(ReadError::TooLarge { .. }) => Ok(Now::Other),
        Err(ReadError::Io(err)) => Err(failed("read file", path)(err)),
    }
}

/// The hash of the regular file at `path` now; `None` when there is none (or something else).
pub fn hash_now(path: &Path) -> Option<String> {
    now(path).ok().and_then(|n| n.hash())
}

//! What stands at a path right now, for backups, compare-and-swap and rollbacks. Never blocks:
//! a FIFO planted where a file should be is reported as one, not opened for reading (see
//! `crate::safe_read`), and the read is capped by the bytes read, not by an earlier `stat`.

use std::io::{self, Read, Write};
use std::os::unix::fs::MetadataExt;
use std::path::Path;

use sha2::{Digest as _, Sha256};

use crate::safe_read::{open_regular, read_regular, ReadError};
use crate::source::V8_MAX_STRING_BYTES;

use super::{failed, WriteError};
use crate::digest::hex_of_digest;

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
/// Streamed: a fix run compares a file before each write, and a 47 MB jobs.json was read
/// whole each time (issue #11).
pub fn hash_now(path: &Path) -> Option<String> {
    digest_now(path)
        .ok()
        .and_then(|d| d.hash().map(str::to_string))
}

/// The permission bits of the regular file at `path` now (`None`: none there, or something
/// else, as `Now::mode`), from its open descriptor, without reading it.
pub fn mode_now(path: &Path) -> Option<u32> {
    std::fs::symlink_metadata(path).ok()?;
    let (_, meta) = open_regular(path).ok()?;
    (meta.len() <= V8_MAX_STRING_BYTES).then_some(meta.mode() & 0o7777)
}

/// What stands at a path now, as `Now` says, with a regular file's hash instead of its bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Digest {
    Missing,
    File { sha256: String, mode: u32 },
    Other,
}

impl Digest {
    pub fn hash(&self) -> Option<&str> {
        match self {
            Digest::File { sha256, .. } => Some(sha256),
            _ => None,
        }
    }

    pub fn mode(&self) -> Option<u32> {
        match self {
            Digest::File { mode, .. } => Some(*mode),
            _ => None,
        }
    }
}

/// `now`, hashed as it is read and never held whole: what the compares of a fix run need.
pub fn digest_now(path: &Path) -> Result<Digest, WriteError> {
    // Writing to a sink cannot fail.
    stream_now(path, &mut io::sink()).unwrap_or_else(|err| Err(failed("read file", path)(err)))
}

/// `digest_now` that also copies the file's bytes into `copy` as they are read (a backup
/// taken and hashed in one read). What `copy` received is the file only when this returns
/// `Digest::File`; for anything else it may hold part of a file, or nothing. The outer error
/// is `copy`'s (the caller knows where it writes), the inner one the file's.
pub fn stream_now(path: &Path, copy: &mut dyn Write) -> io::Result<Result<Digest, WriteError>> {
    let mut hasher = Sha256::new();
    let read = read_into(path, &mut |chunk| {
        hasher.update(chunk);
        copy.write_all(chunk)
    });
    Ok(match read {
        Ok(Found::File { mode }) => Ok(Digest::File {
            sha256: hex_of_digest(hasher.finalize()),
            mode,
        }),
        Ok(Found::Missing) => Ok(Digest::Missing),
        Ok(Found::Other) => Ok(Digest::Other),
        Err(Failed::Copy(err)) => return Err(err),
        Err(Failed::Read(err)) => Err(err),
    })
}

/// Whether the regular file at `path` holds exactly `expected` now: what comparing its hash
/// with `expected`'s says (`hash_now(path) == Some(sha256_hex(expected))`), by comparing the
/// bytes as they are read instead of hashing them. A fix run's compare-and-swap before each
/// write knows the bytes the checks read, and hashing 47 MB again cost more than reading them
/// (issue #11).
pub fn holds(path: &Path, expected: &[u8]) -> bool {
    let mut same = Same::new(io::sink(), expected);
    matches!(
        read_into(path, &mut |chunk| same.write_all(chunk)),
        Ok(Found::File { .. })
    ) && same.whole()
}

/// A copy that compares what passes through it with `expected` on its way to `out`: a backup
/// streamed from a file learns in the same read whether it is the file the checks read.
pub struct Same<'e, W> {
    out: W,
    expected: &'e [u8],
    at: usize,
    differs: bool,
}

impl<'e, W: Write> Same<'e, W> {
    pub fn new(out: W, expected: &'e [u8]) -> Self {
        Same {
            out,
            expected,
            at: 0,
            differs: false,
        }
    }

    /// Whether everything written so far is `expected`, whole.
    pub fn whole(&self) -> bool {
        !self.differs && self.at == self.expected.len()
    }
}

impl<W: Write> Write for Same<'_, W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.out.write(buf)?;
        let end = self.at.saturating_add(n);
        self.differs |= self.expected.get(self.at..end) != Some(&buf[..n]);
        self.at = end;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }
}

/// What `read_into` found at a path.
enum Found {
    Missing,
    /// A regular file, every byte of it handed to the reader's sink.
    File {
        mode: u32,
    },
    Other,
}

/// Why `read_into` stopped: the sink (writing a copy), or reading the file.
enum Failed {
    Copy(io::Error),
    Read(WriteError),
}

impl From<WriteError> for Failed {
    fn from(err: WriteError) -> Self {
        Failed::Read(err)
    }
}

/// Reads the regular file at `path` (as `now` judges it) 64 KB at a time into `sink`.
fn read_into(path: &Path, sink: &mut dyn FnMut(&[u8]) -> io::Result<()>) -> Result<Found, Failed> {
    match fs_err::symlink_metadata(path) {
        Err(err) if err.kind() == io::ErrorKind::NotFound => return Ok(Found::Missing),
        Err(err) => return Err(WriteError::from(err).into()),
        Ok(_) => {}
    }
    let (file, meta) = match open_regular(path) {
        Ok(opened) => opened,
        Err(ReadError::Io(err)) if err.kind() == io::ErrorKind::NotFound => {
            return Ok(Found::Other)
        }
        Err(ReadError::Io(err)) if err.raw_os_error() == Some(libc::ELOOP) => {
            return Ok(Found::Other)
        }
        Err(ReadError::NotAFile(_)) | Err(ReadError::TooLarge { .. }) => return Ok(Found::Other),
        Err(ReadError::Io(err)) => return Err(failed("read file", path)(err).into()),
    };
    if meta.len() > V8_MAX_STRING_BYTES {
        return Ok(Found::Other);
    }
    // As `read_regular`: the cap is judged by the bytes read, one past it is enough to know.
    let mut reader = file.take(V8_MAX_STRING_BYTES + 1);
    let mut buf = vec![0u8; 64 * 1024];
    let mut read: u64 = 0;
    loop {
        let n = match reader.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(err) if err.kind() == io::ErrorKind::Interrupted => continue,
            Err(err) => return Err(failed("read file", path)(err).into()),
        };
        read += n as u64;
        if read > V8_MAX_STRING_BYTES {
            return Ok(Found::Other);
        }
        sink(&buf[..n]).map_err(Failed::Copy)?;
    }
    Ok(Found::File {
        mode: meta.mode() & 0o7777,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::digest::sha256_hex;
    use std::path::PathBuf;

    /// `jobs.json` in `dir`, `len` bytes of a pattern, and a link to it.
    fn a_file_and_a_link_to_it(dir: &Path, len: u32) -> (PathBuf, Vec<u8>, PathBuf) {
        let file = dir.join("jobs.json");
        let bytes: Vec<u8> = (0..len).map(|i| (i % 251) as u8).collect();
        std::fs::write(&file, &bytes).unwrap();
        let link = dir.join("link");
        std::os::unix::fs::symlink(&file, &link).unwrap();
        (file, bytes, link)
    }

    /// The streamed probe says what the whole read says, for every kind of thing at a path.
    #[test]
    fn a_digest_agrees_with_the_whole_read() {
        let dir = tempfile::tempdir().unwrap();
        // Larger than one read buffer, so the hash spans several reads.
        let (file, bytes, link) = a_file_and_a_link_to_it(dir.path(), 200_000);
        let dangling = dir.path().join("dangling");
        std::os::unix::fs::symlink(dir.path().join("gone"), &dangling).unwrap();
        for path in [
            &file,
            &link,
            &dangling,
            &dir.path().join("missing"),
            &dir.path().to_path_buf(),
        ] {
            let whole = now(path).unwrap();
            let (hash, mode) = match &whole {
                Now::File { bytes, mode } => (Some(sha256_hex(bytes)), Some(*mode)),
                _ => (None, None),
            };
            let mut copy = Vec::new();
            let streamed = stream_now(path, &mut copy).unwrap().unwrap();
            assert_eq!(streamed.hash().map(str::to_string), hash, "{path:?}");
            assert_eq!(streamed.mode(), mode, "{path:?}");
            assert_eq!(mode_now(path), mode, "{path:?}");
            assert_eq!(
                streamed == Digest::Missing,
                whole == Now::Missing,
                "{path:?}"
            );
            if let Now::File { bytes: read, .. } = whole {
                assert_eq!(copy, read, "{path:?}: the copy is the file");
            }
        }
        assert_eq!(hash_now(&file), Some(sha256_hex(&bytes)));
        assert_eq!(hash_now(&dir.path().join("missing")), None);
    }

    /// `holds` answers what comparing hashes answered before it (the compare-and-swap of a
    /// fix run), for every kind of thing at a path and every way bytes can differ.
    #[test]
    fn holding_bytes_is_having_their_hash() {
        let dir = tempfile::tempdir().unwrap();
        // Over two read buffers: a difference in a later read counts too.
        let (file, bytes, link) = a_file_and_a_link_to_it(dir.path(), 150_000);
        let mut late = bytes.clone();
        late[140_000] ^= 1;
        let mut early = bytes.clone();
        early[0] ^= 1;
        let expectations: Vec<Vec<u8>> = vec![
            bytes.clone(),
            late,
            early,
            bytes[..bytes.len() - 1].to_vec(),
            [bytes.as_slice(), b"x"].concat(),
            bytes[..65_536].to_vec(),
            Vec::new(),
        ];
        let empty = dir.path().join("empty");
        std::fs::write(&empty, b"").unwrap();
        for path in [
            &file,
            &link,
            &empty,
            &dir.path().join("missing"),
            &dir.path().to_path_buf(),
        ] {
            for expected in &expectations {
                assert_eq!(
                    holds(path, expected),
                    hash_now(path) == Some(sha256_hex(expected)),
                    "{path:?}, {} bytes expected",
                    expected.len()
                );
            }
        }
        assert!(holds(&file, &bytes) && holds(&empty, b""));
    }

    /// A copy through `Same` is the copy, and says whether it was `expected`, as comparing
    /// the copy's hash with `expected`'s would.
    #[test]
    fn a_compared_copy_knows_whether_it_was_expected() {
        let bytes: Vec<u8> = (0..100_000u32).map(|i| (i % 7) as u8).collect();
        for (expected, same) in [
            (bytes.clone(), true),
            (bytes[1..].to_vec(), false),
            ([bytes.as_slice(), b"!"].concat(), false),
            (Vec::new(), false),
        ] {
            let mut copy = Vec::new();
            let mut through = Same::new(&mut copy, &expected);
            // Written in uneven pieces, as reads and partial writes cut it.
            for piece in bytes.chunks(9_999) {
                through.write_all(piece).unwrap();
            }
            assert_eq!(through.whole(), same);
            assert_eq!(sha256_hex(&copy) == sha256_hex(&expected), same);
            assert_eq!(copy, bytes);
        }
    }
}

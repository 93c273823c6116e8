//! Opening a file only once we know, from the open file itself, that it is a regular file, and
//! reading it with a cap enforced by the read rather than by an earlier `stat`.
//!
//! A `stat` followed by `open` is a race: between the two, a file can be replaced by a FIFO (the
//! `open` then blocks forever) or keep growing (a read sized by the `stat` runs on to gigabytes).
//! So the file is opened with `O_NONBLOCK` — which makes opening a FIFO return at once — and then
//! judged by `fstat` on the descriptor we hold, and the read stops one byte past the cap.

use std::fs::{File, Metadata, OpenOptions};
use std::io::{self, Read};
use std::os::unix::fs::{FileTypeExt, OpenOptionsExt};
use std::path::Path;

/// What stands where a file should be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NotAFile {
    Directory,
    Fifo,
    Socket,
    Device,
}

impl NotAFile {
    pub fn describe(self) -> &'static str {
        match self {
            NotAFile::Directory => "a directory",
            NotAFile::Fifo => "a FIFO (named pipe)",
            NotAFile::Socket => "a socket",
            NotAFile::Device => "a device node",
        }
    }
}

/// Why a regular file's bytes could not be had.
#[derive(Debug)]
pub enum ReadError {
    /// Something other than a regular file stands there (checked on the open descriptor).
    NotAFile(NotAFile),
    /// Larger than the cap: `len` is at least the cap plus one (the file may still be growing).
    TooLarge {
        len: u64,
    },
    Io(io::Error),
}

impl From<io::Error> for ReadError {
    fn from(err: io::Error) -> Self {
        ReadError::Io(err)
    }
}

impl std::fmt::Display for ReadError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ReadError::NotAFile(what) => write!(f, "is {}", what.describe()),
            ReadError::TooLarge { len } => write!(f, "is too large ({len} bytes or more)"),
            ReadError::Io(err) => write!(f, "{err}"),
        }
    }
}

/// What kind of non-file a file type is, or `None` for a regular file.
pub fn not_a_file(kind: std::fs::FileType) -> Option<NotAFile> {
    if kind.is_file() {
        None
    } else if kind.is_dir() {
        Some(NotAFile::Directory)
    } else if kind.is_fifo() {
        Some(NotAFile::Fifo)
    } else if kind.is_socket() {
        Some(NotAFile::Socket)
    } else {
        // Block and character devices, and anything a future kernel invents.
        Some(NotAFile::Device)
    }
}

/// Opens `path` for reading (following symlinks) without ever blocking, and returns it only if
/// the descriptor is a regular file.
pub fn open_regular(path: &Path) -> Result<(File, Metadata), ReadError> {
    let file = OpenOptions::new()
        .read(true)
        // A FIFO opened for reading would wait for a writer; with O_NONBLOCK it opens at once,
        // and fstat below turns it away. On a regular file the flag changes nothing.
        .custom_flags(libc::O_NONBLOCK | libc::O_CLOEXEC)
        .open(path)?;
    let meta = file.metadata()?;
    match not_a_file(meta.file_type()) {
        Some(what) => Err(ReadError::NotAFile(what)),
        None => Ok((file, meta)),
    }
}

/// Reads a regular file whole, refusing anything but a regular file and anything over `cap`
/// bytes — judged by the bytes actually read, so a file growing under us is still refused.
pub fn read_regular(path: &Path, cap: u64) -> Result<(Vec<u8>, Metadata), ReadError> {
    let (file, meta) = open_regular(path)?;
    if meta.len() > cap {
        return Err(ReadError::TooLarge { len: meta.len() });
    }
    let bytes = read_capped(file, meta.len(), cap)?;
    Ok((bytes, meta))
}

/// Reads at most `cap + 1` bytes: one byte past the cap is enough to know the file is too large.
fn read_capped(file: File, expected: u64, cap: u64) -> Result<Vec<u8>, ReadError> {
    // The stat's size is a hint for the allocation only, never a limit or a promise.
    let hint = usize::try_from(expected.min(cap)).unwrap_or(0);
    let mut bytes = Vec::with_capacity(hint.saturating_add(1));
    file.take(cap.saturating_add(1)).read_to_end(&mut bytes)?;
    let read = bytes.len() as u64;
    if read > cap {
        return Err(ReadError::TooLarge { len: read });
    }
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn a_fifo_is_refused_without_blocking() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("lock");
        let c_path = std::ffi::CString::new(fifo.as_os_str().as_encoded_bytes()).unwrap();
        // SAFETY: a valid NUL-terminated path.
        assert_eq!(unsafe { libc::mkfifo(c_path.as_ptr(), 0o600) }, 0);
        // Without O_NONBLOCK this open would wait forever for a writer.
        assert!(matches!(
            read_regular(&fifo, 1024),
            Err(ReadError::NotAFile(NotAFile::Fifo))
        ));
    }

    #[test]
    fn directories_and_devices_are_not_files() {
        let dir = tempfile::tempdir().unwrap();
        assert!(matches!(
            read_regular(dir.path(), 1024),
            Err(ReadError::NotAFile(NotAFile::Directory))
        ));
        assert!(matches!(
            read_regular(Path::new("/dev/null"), 1024),
            Err(ReadError::NotAFile(NotAFile::Device))
        ));
    }

    #[test]
    fn the_cap_is_enforced_by_the_read_not_the_stat() {
        // /dev/zero-like growth is emulated by a stat that says "small" and a stream that is
        // not: read_capped is handed an expected length of 4 and a file of 10 bytes.
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("grows");
        std::fs::File::create(&path)
            .unwrap()
            .write_all(b"0123456789")
            .unwrap();
        let file = File::open(&path).unwrap();
        assert!(matches!(
            read_capped(file, 4, 8),
            Err(ReadError::TooLarge { len: 9 })
        ));
        let file = File::open(&path).unwrap();
        assert_eq!(read_capped(file, 4, 10).unwrap(), b"0123456789");
    }

    #[test]
    fn a_file_growing_while_it_is_read_stops_at_the_cap() {
        // A writer keeps appending; the read must stop at cap + 1 bytes whatever the stat said.
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("growing");
        std::fs::write(&path, b"x").unwrap();
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let writer = {
            let (path, stop) = (path.clone(), stop.clone());
            std::thread::spawn(move || {
                let mut f = OpenOptions::new().append(true).open(path).unwrap();
                let chunk = vec![b'y'; 1 << 16];
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    if f.write_all(&chunk).is_err() {
                        break;
                    }
                }
            })
        };
        let cap = 4 << 20;
        // Whether the stat or the read catches it, the answer is "too large", never more than
        // cap + 1 bytes in memory.
        let mut refused = false;
        for _ in 0..200 {
            if let Err(ReadError::TooLarge { .. }) = read_regular(&path, cap) {
                refused = true;
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        writer.join().unwrap();
        assert!(refused);
    }

    #[test]
    fn a_regular_file_reads_whole() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        std::fs::write(&path, b"{}").unwrap();
        let (bytes, meta) = read_regular(&path, 2).unwrap();
        assert_eq!(bytes, b"{}");
        assert!(meta.is_file());
    }
}

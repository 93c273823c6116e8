//! The `-o FILE` of a report. A regular file (or a new one) is written beside itself and renamed
//! into place once the report is whole, so a crash, a full disk or a killed CI step never leaves
//! half a report where a code-scanning upload or node_exporter's textfile collector reads it.
//! Anything else the user names (`/dev/stdout`, a FIFO, a terminal) is a stream: it is written in
//! place, and never replaced by a rename.

use std::fs::{self, File, OpenOptions};
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

/// A report file being written; `commit` puts it in place, dropping it uncommitted leaves the
/// target as it was.
pub struct OutputFile {
    out: BufWriter<File>,
    /// The first write that failed (a full disk): callers that write many pieces and check only
    /// the end still never commit a truncated report.
    failed: Option<io::Error>,
    /// `(temporary file, the file it becomes)`; `None` for a stream written in place.
    rename: Option<(PathBuf, PathBuf)>,
}

impl OutputFile {
    /// Opens `path` for a report. Errors are the operating system's, for the caller to word
    /// ("cannot create -o file …"): a missing folder, a directory, no permission.
    pub fn create(path: &Path) -> io::Result<OutputFile> {
        match fs::metadata(path) {
            // A stream, or something that is not a file at all (a directory): opening it says
            // which, and a directory fails here as it did before.
            Ok(meta) if !meta.is_file() => Ok(OutputFile {
                out: BufWriter::new(File::create(path)?),
                failed: None,
                rename: None,
            }),
            Ok(meta) => {
                // Through a symlink the file it points to is replaced, and the link kept.
                let target = fs::canonicalize(path)?;
                let (file, temp) = create_temp(&target)?;
                // The report keeps the mode the user gave the file (a world-readable dashboard
                // file stays readable).
                if let Err(err) = file.set_permissions(meta.permissions()) {
                    let _ = fs::remove_file(&temp);
                    return Err(err);
                }
                Ok(OutputFile {
                    out: BufWriter::new(file),
                    failed: None,
                    rename: Some((temp, target)),
                })
            }
            Err(err) if err.kind() == io::ErrorKind::NotFound => {
                let (file, temp) = create_temp(path)?;
                Ok(OutputFile {
                    out: BufWriter::new(file),
                    failed: None,
                    rename: Some((temp, path.to_path_buf())),
                })
            }
            Err(err) => Err(err),
        }
    }

    /// Flushes the report and, for a file, makes it durable and renames it over the target: a
    /// reader sees the old file or the whole new one.
    pub fn commit(mut self) -> io::Result<()> {
        if let Some(err) = self.failed.take() {
            return Err(err);
        }
        self.flush()?;
        let Some((temp, target)) = self.rename.take() else {
            return Ok(());
        };
        let result = self
            .out
            .get_ref()
            .sync_all()
            .and_then(|()| fs::rename(&temp, &target));
        if result.is_err() {
            let _ = fs::remove_file(&temp);
        }
        result?;
        if let Some(dir) = target.parent().filter(|d| !d.as_os_str().is_empty()) {
            // Best effort: the rename is what matters to a reader; a folder that cannot be
            // opened for syncing (some network file systems) does not undo it.
            let _ = File::open(dir).and_then(|d| d.sync_all());
        }
        Ok(())
    }
}

impl OutputFile {
    fn remember<T>(&mut self, result: io::Result<T>) -> io::Result<T> {
        result.map_err(|err| {
            let again = io::Error::new(err.kind(), err.to_string());
            self.failed.get_or_insert(err);
            again
        })
    }
}

impl Write for OutputFile {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let result = self.out.write(buf);
        self.remember(result)
    }

    fn flush(&mut self) -> io::Result<()> {
        let result = self.out.flush();
        self.remember(result)
    }
}

impl Drop for OutputFile {
    fn drop(&mut self) {
        // Not committed: an error part-way, or a panic. The target keeps its old bytes.
        if let Some((temp, _)) = self.rename.take() {
            let _ = fs::remove_file(temp);
        }
    }
}

/// Why the `-o` file could not be written, in words: "cannot create -o file out/r.json: the
/// folder out does not exist".
pub fn cannot_create(path: &std::path::Path, err: &std::io::Error) -> String {
    let why = match err.kind() {
        std::io::ErrorKind::NotFound => match path.parent().filter(|p| !p.as_os_str().is_empty()) {
            Some(parent) => format!("the folder {} does not exist", parent.display()),
            None => err.to_string(),
        },
        std::io::ErrorKind::PermissionDenied => "permission denied".to_string(),
        std::io::ErrorKind::IsADirectory => "it is a directory".to_string(),
        std::io::ErrorKind::NotADirectory => "a part of its path is not a directory".to_string(),
        _ => err.to_string(),
    };
    format!("cannot create -o file {}: {why}", path.display())
}

/// `.<name>.instar-doctor.<pid>.tmp` beside `target` (one file system, so the rename is
/// atomic), created exclusively: a file or link already there is never written through. One left
/// by an earlier crashed run of the same pid is removed and the name tried once more.
fn create_temp(target: &Path) -> io::Result<(File, PathBuf)> {
    let name = target
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let temp = target.with_file_name(format!(".{name}.instar-doctor.{}.tmp", std::process::id()));
    let open = || OpenOptions::new().write(true).create_new(true).open(&temp);
    let file = match open() {
        Err(err) if err.kind() == io::ErrorKind::AlreadyExists => {
            fs::remove_file(&temp)?;
            open()?
        }
        other => other?,
    };
    Ok((file, temp))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn names(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    #[test]
    fn a_new_file_appears_only_when_committed() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("report.sarif");
        let mut out = OutputFile::create(&path).unwrap();
        out.write_all(b"{\"half\":").unwrap();
        out.flush().unwrap();
        assert!(!path.exists(), "nothing at the target before the commit");
        out.write_all(b"true}").unwrap();
        out.commit().unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"{\"half\":true}");
        assert_eq!(names(dir.path()), ["report.sarif"]);
    }

    #[test]
    fn an_uncommitted_report_leaves_the_old_file_whole_and_no_temp_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("doctor.prom");
        fs::write(&path, "old 1\n").unwrap();
        let mut out = OutputFile::create(&path).unwrap();
        out.write_all(b"new ").unwrap();
        out.flush().unwrap();
        drop(out);
        assert_eq!(fs::read_to_string(&path).unwrap(), "old 1\n");
        assert_eq!(names(dir.path()), ["doctor.prom"]);
    }

    #[test]
    fn a_replaced_file_keeps_its_mode_and_a_symlink_stays_a_symlink() {
        let dir = tempfile::tempdir().unwrap();
        let real = dir.path().join("real.json");
        fs::write(&real, "old").unwrap();
        fs::set_permissions(&real, fs::Permissions::from_mode(0o640)).unwrap();
        let link = dir.path().join("link.json");
        std::os::unix::fs::symlink("real.json", &link).unwrap();
        let mut out = OutputFile::create(&link).unwrap();
        out.write_all(b"new").unwrap();
        out.commit().unwrap();
        assert!(fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink());
        assert_eq!(fs::read_to_string(&real).unwrap(), "new");
        let mode = fs::metadata(&real).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o640);
    }

    #[test]
    fn a_fifo_is_written_in_place_never_renamed_over() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("pipe");
        let made = std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap();
        assert!(made.success());
        let reader = {
            let fifo = fifo.clone();
            std::thread::spawn(move || fs::read_to_string(fifo).unwrap())
        };
        let mut out = OutputFile::create(&fifo).unwrap();
        out.write_all(b"streamed\n").unwrap();
        out.commit().unwrap();
        assert_eq!(reader.join().unwrap(), "streamed\n");
        let kind = fs::symlink_metadata(&fifo).unwrap().file_type();
        assert!(
            std::os::unix::fs::FileTypeExt::is_fifo(&kind),
            "still a FIFO"
        );
        assert_eq!(names(dir.path()), ["pipe"]);
    }

    #[test]
    fn a_stale_temp_file_of_this_pid_is_replaced_not_written_through() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out.xml");
        let elsewhere = dir.path().join("elsewhere");
        fs::write(&elsewhere, "keep").unwrap();
        let stale = dir
            .path()
            .join(format!(".out.xml.instar-doctor.{}.tmp", std::process::id()));
        std::os::unix::fs::symlink(&elsewhere, &stale).unwrap();
        let mut out = OutputFile::create(&path).unwrap();
        out.write_all(b"<x/>").unwrap();
        out.commit().unwrap();
        assert_eq!(fs::read_to_string(&elsewhere).unwrap(), "keep");
        assert_eq!(fs::read_to_string(&path).unwrap(), "<x/>");
    }

    /// A write that failed part-way (here: /dev/full, a disk that is always full, reached
    /// through a link so the report is renamed into place) is never committed, even when the
    /// caller ignored that write's error.
    #[test]
    fn a_failed_write_is_never_committed_even_if_ignored() {
        if !Path::new("/dev/full").exists() {
            return; // macOS has no /dev/full; the logic is the same on every host.
        }
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("report.json");
        fs::write(&path, "old").unwrap();
        let mut out = OutputFile::create(&path).unwrap();
        // Swap the buffered file for /dev/full: every flush fails with ENOSPC.
        out.out = BufWriter::with_capacity(4, File::create("/dev/full").unwrap());
        let _ = out.write_all(b"a report longer than the buffer");
        let err = out.commit().unwrap_err();
        assert_eq!(err.raw_os_error(), Some(libc::ENOSPC));
        assert_eq!(fs::read_to_string(&path).unwrap(), "old");
        assert_eq!(names(dir.path()), ["report.json"]);
    }

    #[test]
    fn a_directory_or_a_missing_folder_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        assert!(OutputFile::create(dir.path()).is_err());
        assert!(OutputFile::create(&dir.path().join("no/such/file")).is_err());
        assert_eq!(names(dir.path()), Vec::<String>::new());
    }
}

//! Which paths git tracks, read from `.git/index` directly (the DIRC format, versions 2–4), so
//! that no git process is ever spawned. Only the paths are decoded; extensions are ignored.
//!
//! What it does not support, each of which makes it answer `None` or miss paths (the checks then
//! stay silent rather than guess):
//! - a split index (`core.splitIndex`): the entries in `sharedindex.<hash>` are not read;
//! - a sparse index (`index.sparse`): a collapsed directory is one entry, its files are not listed;
//! - SHA-256 repositories (`extensions.objectFormat = sha256`): entries are laid out for 20-byte
//!   SHA-1 names;
//! - `GIT_DIR`, `GIT_INDEX_FILE`, `core.worktree` and a `commondir` file: only `<project>/.git`
//!   (a folder, or a `gitdir:` file) is followed;
//! - the checksum at the end of the file is not verified.

use std::path::Path;

use crate::safe_read::read_regular;

/// A `.git` file holds one `gitdir:` line.
const GITDIR_FILE_CAP: u64 = 64 * 1024;
/// Far above any real index (a million paths is about 100 MB), small enough to stay in memory.
const INDEX_CAP: u64 = 1 << 30;

/// Reads the tracked paths of the repository whose work tree is `project_dir`; `None` when there
/// is no readable index (not a repository, a worktree's `.git` file, or a format we do not know).
pub fn tracked_paths(project_dir: &Path) -> Option<Vec<String>> {
    let git = project_dir.join(".git");
    let index = if git.is_dir() {
        git.join("index")
    } else {
        // A linked worktree or submodule: `.git` is a file "gitdir: <path>".
        let (bytes, _) = read_regular(&git, GITDIR_FILE_CAP).ok()?;
        let text = String::from_utf8(bytes).ok()?;
        let dir = text.strip_prefix("gitdir:")?.trim();
        let dir = Path::new(dir);
        let dir = if dir.is_absolute() {
            dir.to_path_buf()
        } else {
            project_dir.join(dir)
        };
        dir.join("index")
    };
    // Never a plain read: a FIFO planted at `.git` or `.git/index` would block it forever.
    let (bytes, _) = read_regular(&index, INDEX_CAP).ok()?;
    parse(&bytes)
}

/// Parses the entries of an index file; `None` on anything malformed.
pub fn parse(bytes: &[u8]) -> Option<Vec<String>> {
    if bytes.get(0..4)? != b"DIRC" {
        return None;
    }
    let u32_at = |at: usize| -> Option<u32> {
        Some(u32::from_be_bytes(bytes.get(at..at + 4)?.try_into().ok()?))
    };
    let version = u32_at(4)?;
    if !(2..=4).contains(&version) {
        return None;
    }
    let count = u32_at(8)? as usize;
    let mut pos = 12;
    let mut paths = Vec::with_capacity(count.min(1 << 16));
    let mut previous: Vec<u8> = Vec::new();
    // ctime, mtime, dev, ino, mode, uid, gid, size (40 bytes) + SHA-1 (20) + flags (2).
    const FIXED: usize = 62;
    for _ in 0..count {
        let flags = u16::from_be_bytes(bytes.get(pos + 60..pos + 62)?.try_into().ok()?);
        let extended = version >= 3 && flags & 0x4000 != 0;
        let name_start = pos + FIXED + if extended { 2 } else { 0 };
        if version == 4 {
            let (strip, after) = varint(bytes, name_start)?;
            let nul = after + bytes.get(after..)?.iter().position(|b| *b == 0)?;
            let keep = previous.len().checked_sub(strip)?;
            previous.truncate(keep);
            previous.extend_from_slice(&bytes[after..nul]);
            paths.push(String::from_utf8_lossy(&previous).into_owned());
            pos = nul + 1;
        } else {
            let nul = name_start + bytes.get(name_start..)?.iter().position(|b| *b == 0)?;
            paths.push(String::from_utf8_lossy(&bytes[name_start..nul]).into_owned());
            let entry_len = nul - pos;
            // Padded with 1–8 NULs to a multiple of 8.
            pos += (entry_len + 8) & !7;
        }
    }
    Some(paths)
}

/// git's offset varint (each continuation adds one before shifting).
fn varint(bytes: &[u8], mut pos: usize) -> Option<(usize, usize)> {
    let mut byte = *bytes.get(pos)?;
    pos += 1;
    let mut value = usize::from(byte & 0x7f);
    while byte & 0x80 != 0 {
        byte = *bytes.get(pos)?;
        pos += 1;
        value = value.checked_add(1)?.checked_shl(7)? | usize::from(byte & 0x7f);
    }
    Some((value, pos))
}

#[cfg(test)]
pub mod tests {
    use super::*;

    /// Builds an index of `version` holding `paths` (sorted by the caller), as git writes it.
    pub fn build(version: u32, paths: &[&str]) -> Vec<u8> {
        let mut out = b"DIRC".to_vec();
        out.extend_from_slice(&version.to_be_bytes());
        out.extend_from_slice(&(paths.len() as u32).to_be_bytes());
        let mut previous = "";
        for path in paths {
            let start = out.len();
            out.extend_from_slice(&[0u8; 40]);
            out.extend_from_slice(&[0xab; 20]);
            out.extend_from_slice(&(path.len().min(0xfff) as u16).to_be_bytes());
            if version == 4 {
                let common = previous
                    .bytes()
                    .zip(path.bytes())
                    .take_while(|(a, b)| a == b)
                    .count();
                let strip = previous.len() - common;
                assert!(strip < 0x80, "test helper encodes one-byte varints");
                out.push(strip as u8);
                out.extend_from_slice(&path.as_bytes()[common..]);
                out.push(0);
            } else {
                out.extend_from_slice(path.as_bytes());
                let len = out.len() - start;
                let padded = (len + 8) & !7;
                out.resize(start + padded, 0);
            }
            previous = path;
        }
        out.extend_from_slice(&[0u8; 20]);
        out
    }

    #[test]
    fn reads_every_version() {
        let paths = [
            ".gitignore",
            ".instar/machine/identity.json",
            ".instar/machine/signing-key.pem",
            "src/main.rs",
        ];
        for version in 2..=4 {
            let parsed = parse(&build(version, &paths)).unwrap();
            assert_eq!(parsed, paths, "version {version}");
        }
    }

    #[test]
    fn malformed_indexes_are_refused_not_panicked_on() {
        assert_eq!(parse(b""), None);
        assert_eq!(parse(b"DIRC\0\0\0\x05\0\0\0\0"), None);
        let good = build(2, &["a", "b"]);
        for cut in 0..good.len() - 20 {
            let _ = parse(&good[..cut]);
        }
    }

    #[test]
    fn varints_follow_gits_offset_encoding() {
        assert_eq!(varint(&[0x05], 0), Some((5, 1)));
        // 0x80 0x00 encodes (0 + 1) << 7 = 128.
        assert_eq!(varint(&[0x80, 0x00], 0), Some((128, 2)));
    }
}

//! Which files git tracks, read from `.git/index` directly (the DIRC format, versions 2 to 4):
//! the doctor never spawns git. Only paths are extracted; a damaged or unknown index yields
//! `None`, which callers treat as "cannot tell".

use std::path::{Path, PathBuf};

/// The tracked paths of the repository whose work tree is `work_tree` (slash-separated,
/// relative to it), or `None` when there is no readable index.
pub fn tracked_paths(work_tree: &Path) -> Option<Vec<String>> {
    let index = index_path(work_tree)?;
    let bytes = std::fs::read(index).ok()?;
    parse(&bytes)
}

/// `.git/index`, following a `.git` file (`gitdir: …`, worktrees and submodules).
fn index_path(work_tree: &Path) -> Option<PathBuf> {
    let dot_git = work_tree.join(".git");
    let meta = std::fs::metadata(&dot_git).ok()?;
    let git_dir = if meta.is_dir() {
        dot_git
    } else {
        let text = std::fs::read_to_string(&dot_git).ok()?;
        let target = text.lines().next()?.strip_prefix("gitdir:")?.trim();
        let target = PathBuf::from(target);
        if target.is_absolute() {
            target
        } else {
            work_tree.join(target)
        }
    };
    Some(git_dir.join("index"))
}

fn be32(bytes: &[u8], at: usize) -> Option<u32> {
    let b = bytes.get(at..at + 4)?;
    Some(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
}

/// The entry paths of a DIRC index (v2, v3 or v4 with prefix-compressed names).
pub fn parse(bytes: &[u8]) -> Option<Vec<String>> {
    if bytes.get(0..4)? != b"DIRC" {
        return None;
    }
    let version = be32(bytes, 4)?;
    if !(2..=4).contains(&version) {
        return None;
    }
    let count = be32(bytes, 8)? as usize;
    let mut pos = 12;
    let mut paths = Vec::with_capacity(count.min(1 << 16));
    let mut previous: Vec<u8> = Vec::new();
    for _ in 0..count {
        let start = pos;
        // ctime, mtime (8 each), dev, ino, mode, uid, gid, size (4 each), sha1 (20): 62 bytes.
        let flags = u16::from_be_bytes([*bytes.get(start + 60)?, *bytes.get(start + 61)?]);
        pos = start + 62;
        if flags & 0x4000 != 0 {
            if version < 3 {
                return None;
            }
            pos += 2; // extended flags
        }
        let name_len = (flags & 0x0fff) as usize;
        if version == 4 {
            // A varint: how many bytes of the previous name to drop, then the suffix, NUL-ended.
            let (strip, used) = varint(bytes.get(pos..)?)?;
            pos += used;
            let end = pos + bytes.get(pos..)?.iter().position(|b| *b == 0)?;
            let keep = previous.len().checked_sub(strip)?;
            previous.truncate(keep);
            previous.extend_from_slice(&bytes[pos..end]);
            pos = end + 1;
        } else {
            let end = if name_len < 0x0fff {
                pos + name_len
            } else {
                pos + bytes.get(pos..)?.iter().position(|b| *b == 0)?
            };
            previous = bytes.get(pos..end)?.to_vec();
            // Entries are padded with 1 to 8 NULs to a multiple of 8 bytes from their start.
            let entry_len = end - start;
            pos = start + (entry_len + 8) / 8 * 8;
        }
        paths.push(String::from_utf8_lossy(&previous).into_owned());
    }
    Some(paths)
}

/// Git's offset varint (as in pack files' OFS_DELTA): 7 bits a byte, with +1 per continuation.
fn varint(bytes: &[u8]) -> Option<(usize, usize)> {
    let mut i = 0;
    let mut byte = *bytes.first()?;
    let mut value = (byte & 0x7f) as usize;
    while byte & 0x80 != 0 {
        i += 1;
        byte = *bytes.get(i)?;
        value = ((value + 1) << 7) | (byte & 0x7f) as usize;
    }
    Some((value, i + 1))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry_v2(name: &str) -> Vec<u8> {
        let mut e = vec![0u8; 60];
        e.extend_from_slice(&(name.len() as u16).to_be_bytes());
        e.extend_from_slice(name.as_bytes());
        let len = e.len();
        e.resize((len + 8) / 8 * 8, 0);
        e
    }

    fn index(version: u32, entries: &[Vec<u8>]) -> Vec<u8> {
        let mut out = b"DIRC".to_vec();
        out.extend_from_slice(&version.to_be_bytes());
        out.extend_from_slice(&(entries.len() as u32).to_be_bytes());
        for e in entries {
            out.extend_from_slice(e);
        }
        out.extend_from_slice(&[0u8; 20]);
        out
    }

    #[test]
    fn reads_v2_entries_with_padding() {
        let bytes = index(2, &[entry_v2(".instar/config.json"), entry_v2("README.md")]);
        assert_eq!(
            parse(&bytes).unwrap(),
            vec![".instar/config.json", "README.md"]
        );
    }

    #[test]
    fn reads_v4_prefix_compressed_names() {
        let mut a = vec![0u8; 60];
        a.extend_from_slice(&0u16.to_be_bytes());
        a.push(0);
        a.extend_from_slice(b".instar/config.json\0");
        let mut b = vec![0u8; 60];
        b.extend_from_slice(&0u16.to_be_bytes());
        b.push(11); // drop "config.json"
        b.extend_from_slice(b"jobs.json\0");
        assert_eq!(
            parse(&index(4, &[a, b])).unwrap(),
            vec![".instar/config.json", ".instar/jobs.json"]
        );
    }

    #[test]
    fn garbage_is_not_an_index() {
        assert!(parse(b"").is_none());
        assert!(parse(b"DIRC\0\0\0\x09\0\0\0\0").is_none());
        // A count larger than the data: no panic, no answer.
        assert!(parse(b"DIRC\0\0\0\x02\0\0\0\x05").is_none());
    }

    #[test]
    fn reads_a_real_index_when_git_is_around() {
        // Our own checkout, when the tests run inside one.
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        if let Some(paths) = tracked_paths(root) {
            assert!(paths.iter().any(|p| p == "Cargo.toml"), "{paths:?}");
        }
    }
}

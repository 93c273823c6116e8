//! better-sqlite3's native module against the node that runs the agent (hazard #1).
//!
//! The module's ABI is the `node_register_module_v<N>` symbol every Node addon exports; the
//! node's ABI is `NODE_MODULE_VERSION` in the header every Node distribution ships beside its
//! binary. The `.node` file (a few MB) is scanned in chunks and never held whole.

use std::io::Read;
use std::path::{Path, PathBuf};

use crate::diag::{Diagnostic, Effect, Sink};
use crate::engine::Context;
use crate::fix::{Change, Fix};
use crate::safe_read;

use super::codes::*;

const SYMBOL: &[u8] = b"node_register_module_v";
/// No real addon is this large; a bigger file is not scanned.
const SCAN_CAP: u64 = 256 << 20;

/// Node major version → NODE_MODULE_VERSION, for nodes installed without their headers.
const ABI_BY_MAJOR: &[(u32, u32)] = &[
    (16, 93),
    (17, 102),
    (18, 108),
    (19, 111),
    (20, 115),
    (21, 120),
    (22, 127),
    (23, 131),
    (24, 137),
    (25, 141),
];

/// The ABI of the node `.instar/bin/node` resolves to, and how we know it.
pub struct NodeAbi {
    pub abi: u32,
    pub source: String,
}

pub fn node_abi(cx: &Context) -> Option<NodeAbi> {
    let node = cx.canonicalize(&cx.state_path("bin/node"))?;
    let prefix = node.parent()?.parent()?;
    let header = prefix.join("include/node/node_version.h");
    if cx.file_len(&header).is_some_and(|len| len < 1 << 20) {
        if let Some(loaded) = cx.file(&header).loaded() {
            if let Some(abi) = header_abi(&String::from_utf8_lossy(&loaded.bytes)) {
                return Some(NodeAbi {
                    abi,
                    source: format!("NODE_MODULE_VERSION in {}", cx.display_path(&header)),
                });
            }
        }
    }
    let major = major_in_path(&node)?;
    let abi = ABI_BY_MAJOR.iter().find(|(m, _)| *m == major)?.1;
    Some(NodeAbi {
        abi,
        source: format!("Node {major} (from the path {})", cx.display_path(&node)),
    })
}

/// `#define NODE_MODULE_VERSION 127` (optionally followed by a comment).
fn header_abi(text: &str) -> Option<u32> {
    text.lines().find_map(|line| {
        let rest = line.trim().strip_prefix("#define")?.trim_start();
        let rest = rest.strip_prefix("NODE_MODULE_VERSION")?;
        rest.split_whitespace().next()?.parse().ok()
    })
}

/// The Node major version in an install path: `…/node/22.3.0/…`, `…/v22.3.0/…`, `node@22`.
pub fn major_in_path(path: &Path) -> Option<u32> {
    let text = path.to_string_lossy();
    for part in text.split('/') {
        let digits = part
            .strip_prefix("node@")
            .or_else(|| part.strip_prefix('v'))
            .unwrap_or(part);
        let mut pieces = digits.split('.');
        let (Some(major), Some(_minor)) = (pieces.next(), pieces.next()) else {
            if part.starts_with("node@") {
                return digits.parse().ok();
            }
            continue;
        };
        if let Ok(major) = major.parse::<u32>() {
            if (10..100).contains(&major) {
                return Some(major);
            }
        }
    }
    None
}

/// The better-sqlite3 package folders of the shadow install: hoisted, and nested under instar.
fn packages(cx: &Context) -> Vec<PathBuf> {
    [
        "shadow-install/node_modules/better-sqlite3",
        "shadow-install/node_modules/instar/node_modules/better-sqlite3",
    ]
    .iter()
    .map(|rel| cx.state_path(rel))
    .filter(|p| cx.is_dir(p))
    .collect()
}

pub fn check(cx: &Context, sink: &mut Sink) {
    let packages = packages(cx);
    if packages.is_empty() {
        return;
    }
    let node = node_abi(cx);
    for package in &packages {
        let binary = package.join("build/Release/better_sqlite3.node");
        if let (Some(node), Some(built)) = (&node, module_abi(&binary)) {
            if built != node.abi {
                sink.push(
                    Diagnostic::new(
                        &SQLITE_ABI_MISMATCH,
                        Effect::Silent,
                        format!(
                            "{} was built for Node ABI {built}, but .instar/bin/node has ABI {} ({}): SQLite-backed memory cannot load",
                            cx.display_path(&binary),
                            node.abi,
                            node.source
                        ),
                    )
                    .file(&binary)
                    .help("instar's own heal retries at each start, but fails without a prebuilt binary or a compiler")
                    .fix(Some(Fix::manual(
                        "npm rebuild better-sqlite3 --prefix .instar/shadow-install (with .instar/bin/node's node first on PATH; needs the network)",
                    ))),
                );
            }
        }
        gave_up(cx, package, node.as_ref(), sink);
    }
}

/// `.instar-fix-state.json` recording `source-failed` for the ABI in use (or any ABI, when the
/// node's is unknown): instar's fix script will not try again.
fn gave_up(cx: &Context, package: &Path, node: Option<&NodeAbi>, sink: &mut Sink) {
    let path = package.join(".instar-fix-state.json");
    if cx.file_len(&path).is_none_or(|len| len > 1 << 20) {
        return;
    }
    let Some(doc) = cx.json(&path) else { return };
    let Some(tape) = doc.tape() else { return };
    let root = tape.root();
    if root.get("lastResult").and_then(|v| v.as_str()).as_deref() != Some("source-failed") {
        return;
    }
    let key = root
        .get("key")
        .and_then(|v| v.as_str())
        .map(|k| k.into_owned())
        .unwrap_or_default();
    let key_abi = key.split('|').nth(1).and_then(|a| a.parse::<u32>().ok());
    if let (Some(node), Some(key_abi)) = (node, key_abi) {
        if node.abi != key_abi {
            return; // a give-up for another node: instar's key no longer matches, it retries
        }
    }
    sink.push(
        Diagnostic::new(
            &SQLITE_HEAL_GAVE_UP,
            Effect::Silent,
            format!(
                "instar's better-sqlite3 heal gave up (\"source-failed\" for {key:?}): it will not try again while {} exists",
                cx.display_path(&path)
            ),
        )
        .file(&path)
        .help("the heal runs again at the next server start once the file is gone")
        .fix(Some(Fix::safe(
            "move the heal's state file to quarantine, re-arming instar's own heal",
            vec![Change::Quarantine { file: path.clone() }],
        ))),
    );
}

/// The ABI in a `.node` file's `node_register_module_v<N>` symbol, scanned in 64 KiB chunks.
pub fn module_abi(path: &Path) -> Option<u32> {
    let (mut file, meta) = safe_read::open_regular(path).ok()?;
    if meta.len() > SCAN_CAP {
        return None;
    }
    let mut buf = vec![0u8; 64 * 1024];
    // Keep the tail of the previous chunk so a symbol cut in two is still found.
    let keep = SYMBOL.len() + 8;
    let mut window: Vec<u8> = Vec::with_capacity(buf.len() + keep);
    loop {
        let n = file.read(&mut buf).ok()?;
        if n == 0 {
            return None;
        }
        window.extend_from_slice(&buf[..n]);
        if let Some(abi) = find_symbol(&window) {
            return Some(abi);
        }
        let cut = window.len().saturating_sub(keep);
        window.drain(..cut);
    }
}

fn find_symbol(bytes: &[u8]) -> Option<u32> {
    let mut from = 0;
    while let Some(at) = bytes[from..]
        .windows(SYMBOL.len())
        .position(|w| w == SYMBOL)
    {
        let start = from + at + SYMBOL.len();
        let digits = bytes[start..]
            .iter()
            .take_while(|b| b.is_ascii_digit())
            .count();
        // A digit run that reaches the end of the window may continue in the next chunk.
        if digits > 0 && start + digits < bytes.len() {
            return std::str::from_utf8(&bytes[start..start + digits])
                .ok()?
                .parse()
                .ok();
        }
        from = start;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_and_path_give_the_abi() {
        assert_eq!(
            header_abi(
                "#define NODE_MINOR_VERSION 3\n#define NODE_MODULE_VERSION 127 /* Node 22 */\n"
            ),
            Some(127)
        );
        assert_eq!(
            major_in_path(Path::new("/opt/homebrew/Cellar/node/25.6.1/bin/node")),
            Some(25)
        );
        assert_eq!(
            major_in_path(Path::new("/home/u/.nvm/versions/node/v20.11.1/bin/node")),
            Some(20)
        );
        assert_eq!(
            major_in_path(Path::new("/opt/homebrew/opt/node@22/bin/node")),
            Some(22)
        );
        assert_eq!(major_in_path(Path::new("/usr/bin/node")), None);
    }

    #[test]
    fn the_symbol_is_found_across_a_chunk_boundary() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("m.node");
        let mut bytes = vec![0u8; 64 * 1024 - 10];
        bytes.extend_from_slice(b"node_register_module_v115\0tail");
        std::fs::write(&path, &bytes).unwrap();
        assert_eq!(module_abi(&path), Some(115));
        std::fs::write(&path, b"no symbol here").unwrap();
        assert_eq!(module_abi(&path), None);
    }
}

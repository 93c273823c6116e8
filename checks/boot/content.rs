//! Recognising a boot wrapper by what it does (spec §8.2), not by its bytes: required markers,
//! truncation found from the text itself (unbalanced brackets, quotes, if/fi), the absolute paths
//! baked into it, and HEAD's "is the wrapper current?" markers (§8.3).

use std::path::{Path, PathBuf};

use crate::diag::Span;
use crate::version::{boundary, Version};

/// HEAD's three markers, each with the version that introduced it.
pub const MARKERS: &[(&str, Version)] = &[
    (
        "cannot load better-sqlite3 (ABI drift)",
        boundary::BOOT_MARKER_ABI_DRIFT,
    ),
    (
        "version-managed node candidates",
        boundary::BOOT_MARKER_NODE_CANDIDATES,
    ),
    (
        "npm_config_scripts_prepend_node_path",
        boundary::BOOT_MARKER_PREPEND_NODE_PATH,
    ),
];

/// The markers a Node wrapper of `version` lacks.
pub fn missing_markers(text: &str, version: Version) -> Vec<&'static str> {
    MARKERS
        .iter()
        .filter(|(marker, since)| version >= *since && !text.contains(marker))
        .map(|(marker, _)| *marker)
        .collect()
}

/// Something wrong found in the text, with where.
#[derive(Debug, Clone, PartialEq)]
pub struct Damage {
    pub message: String,
    pub span: Span,
}

impl Damage {
    fn new(message: impl Into<String>, span: Span) -> Damage {
        Damage {
            message: message.into(),
            span,
        }
    }
}

fn damage(message: impl Into<String>, span: Span) -> Option<Damage> {
    Some(Damage::new(message, span))
}

/// The first of `needles` the text never mentions, as "not a working boot wrapper" at its end:
/// a whole file that lacks one of them is something else than a wrapper.
fn lacks_any(text: &str, needles: &[(&str, &str)]) -> Option<Damage> {
    let (_, why) = needles.iter().find(|(needle, _)| !text.contains(needle))?;
    damage(
        format!("{why}: this is not a working boot wrapper"),
        text.len()..text.len(),
    )
}

/// Damage any wrapper can show from an interrupted or corrupted write: nothing in it, or NULs.
fn write_damage(text: &str) -> Option<Damage> {
    if text.trim().is_empty() {
        return damage("the file is empty", 0..0);
    }
    let at = text.find('\0')?;
    damage(
        "it holds NUL bytes (a partial or corrupted write)",
        at..at + 1,
    )
}

/// The first thing that makes a Node wrapper unusable, judged from its text.
pub fn node_damage(text: &str) -> Option<Damage> {
    let len = text.len();
    if let Some(found) = write_damage(text) {
        return Some(found);
    }
    if !text.starts_with("#!/usr/bin/env node") {
        let end = text.find('\n').unwrap_or(len);
        return damage("it does not start with #!/usr/bin/env node", 0..end);
    }
    if let Some(d) = js_balance(text) {
        return Some(d);
    }
    lacks_any(
        text,
        &[
            (
                "require(",
                "it does not use require (the wrapper must be CommonJS)",
            ),
            ("shadow-install", "it never names the shadow install"),
            ("cli.js", "it never names the shadow install's cli.js"),
            ("boot-crashes", "it has no crash-loop file"),
            ("spawn", "it never spawns the shadow CLI"),
        ],
    )
}

/// Brackets, strings, template literals and comments of JavaScript, enough to tell a file cut
/// off mid-write from a whole one.
fn js_balance(text: &str) -> Option<Damage> {
    js_scan(text).err()
}

/// What may stand before a `/` that starts a regular expression rather than a division.
const REGEX_MAY_FOLLOW: &[u8] = b"(,=:[!&|?{};+-*%<>~^";

/// Walks the text token by token (each step gives the index after the token), keeping the open
/// brackets; the first damage stops it.
fn js_scan(text: &str) -> Result<(), Damage> {
    let bytes = text.as_bytes();
    let mut stack: Vec<(u8, usize)> = Vec::new();
    let mut i = if text.starts_with("#!") {
        text.find('\n').unwrap_or(bytes.len())
    } else {
        0
    };
    let mut last_significant = b';';
    while i < bytes.len() {
        let b = bytes[i];
        let next = bytes.get(i + 1).copied();
        i = match b {
            b'/' if next == Some(b'/') => text[i..].find('\n').map_or(bytes.len(), |p| i + p),
            b'/' if next == Some(b'*') => block_comment_end(text, i)?,
            b'/' if REGEX_MAY_FOLLOW.contains(&last_significant) => {
                last_significant = b'/';
                regex_end(bytes, i)?
            }
            b'\'' | b'"' | b'`' => {
                last_significant = b'"';
                string_end(bytes, i)?
            }
            b'(' | b'[' | b'{' => {
                stack.push((b, i));
                last_significant = b;
                i + 1
            }
            b')' | b']' | b'}' => {
                close_bracket(&mut stack, b, i)?;
                last_significant = b;
                i + 1
            }
            b' ' | b'\t' | b'\n' | b'\r' => i + 1,
            _ => {
                last_significant = b;
                i + 1
            }
        };
    }
    match stack.last() {
        Some((open, at)) => Err(Damage::new(
            format!("`{}` is never closed: the file is cut off", *open as char),
            *at..*at + 1,
        )),
        None => Ok(()),
    }
}

/// The index after the `*/` of the comment opening at `start`.
fn block_comment_end(text: &str, start: usize) -> Result<usize, Damage> {
    match text[start + 2..].find("*/") {
        Some(p) => Ok(start + 2 + p + 2),
        None => Err(Damage::new(
            "a comment is never closed: the file is cut off",
            start..text.len(),
        )),
    }
}

/// The index after the regular expression literal opening at `start` (a literal may not span
/// lines; a `/` inside a class `[...]` does not close it).
fn regex_end(bytes: &[u8], start: usize) -> Result<usize, Damage> {
    let mut i = start + 1;
    let mut class = false;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' => i += 1,
            b'[' => class = true,
            b']' => class = false,
            b'/' if !class => break,
            b'\n' => {
                return Err(Damage::new(
                    "a regular expression is never closed",
                    start..i,
                ))
            }
            _ => {}
        }
        i += 1;
    }
    Ok(i + 1)
}

/// The index after the string or template literal opening at `start` (only a template literal
/// may span lines).
fn string_end(bytes: &[u8], start: usize) -> Result<usize, Damage> {
    let quote = bytes[start];
    let mut i = start + 1;
    while i < bytes.len() && bytes[i] != quote {
        if bytes[i] == b'\\' {
            i += 1;
        } else if bytes[i] == b'\n' && quote != b'`' {
            return Err(Damage::new("a string is never closed", start..i));
        }
        i += 1;
    }
    if i >= bytes.len() {
        return Err(Damage::new(
            "a string is never closed: the file is cut off",
            start..bytes.len(),
        ));
    }
    Ok(i + 1)
}

/// Closes the innermost bracket with `close` (at `at`), which must match it.
fn close_bracket(stack: &mut Vec<(u8, usize)>, close: u8, at: usize) -> Result<(), Damage> {
    let want = match close {
        b')' => b'(',
        b']' => b'[',
        _ => b'{',
    };
    match stack.pop() {
        Some((open, _)) if open == want => Ok(()),
        _ => Err(Damage::new(
            format!("an unmatched `{}`", close as char),
            at..at + 1,
        )),
    }
}

/// The first thing that makes the bash wrapper unusable, judged from its text.
pub fn sh_damage(text: &str) -> Option<Damage> {
    if let Some(found) = write_damage(text) {
        return Some(found);
    }
    let first = text.lines().next().unwrap_or_default();
    if !(first.starts_with("#!/bin/bash") || first.starts_with("#!/usr/bin/env bash")) {
        return damage("it does not start with #!/bin/bash", 0..first.len());
    }
    if let Err(found) = sh_balance(text) {
        return Some(found);
    }
    lacks_any(
        text,
        &[
            ("shadow-install", "it never names the shadow install"),
            ("boot-crashes", "it has no crash-loop file"),
            ("node", "it never runs node"),
        ],
    )
}

/// Quotes and if/fi, case/esac, do/done, line by line outside comments.
fn sh_balance(text: &str) -> Result<(), Damage> {
    let mut opens: Vec<(&str, usize)> = Vec::new();
    let mut offset = 0;
    let mut quote: Option<(u8, usize)> = None;
    for line in text.split_inclusive('\n') {
        let code_end = sh_code_end(line, offset, &mut quote);
        if quote.is_none() {
            sh_keywords(&line[..code_end], offset..offset + line.len(), &mut opens)?;
        }
        offset += line.len();
    }
    if let Some((_, at)) = quote {
        return Err(Damage::new(
            "a quoted string is never closed: the file is cut off",
            at..text.len(),
        ));
    }
    match opens.last() {
        Some((open, at)) => Err(Damage::new(
            format!("`{open}` is never closed: the file is cut off"),
            *at..*at + open.len(),
        )),
        None => Ok(()),
    }
}

/// Follows the quotes of one line (`line` starts at `offset`; `quote` is the quote still open,
/// carried from line to line); returns where its code ends (a comment starts).
fn sh_code_end(line: &str, offset: usize, quote: &mut Option<(u8, usize)>) -> usize {
    let bytes = line.as_bytes();
    let mut j = 0;
    while j < bytes.len() {
        let b = bytes[j];
        match *quote {
            Some((q, _)) => {
                if b == b'\\' && q == b'"' {
                    j += 1;
                } else if b == q {
                    *quote = None;
                }
            }
            None => match b {
                b'\\' => j += 1,
                b'\'' | b'"' => *quote = Some((b, offset + j)),
                b'#' if j == 0 || bytes[j - 1].is_ascii_whitespace() => return j,
                _ => {}
            },
        }
        j += 1;
    }
    bytes.len()
}

/// Matches the block keywords of one line's code against the ones still open; `line` is the
/// whole line's span, where an unmatched closer is reported.
fn sh_keywords<'t>(
    code: &'t str,
    line: Span,
    opens: &mut Vec<(&'t str, usize)>,
) -> Result<(), Damage> {
    let words = code
        .split(|c: char| c.is_whitespace() || c == ';')
        .filter(|w| !w.is_empty());
    for word in words {
        let want = match word {
            "if" | "case" | "do" => {
                opens.push((word, line.start));
                continue;
            }
            "fi" => "if",
            "esac" => "case",
            "done" => "do",
            _ => continue,
        };
        match opens.pop() {
            Some((open, _)) if open == want => {}
            _ => return Err(Damage::new(format!("an unmatched `{word}`"), line)),
        }
    }
    Ok(())
}

/// Absolute paths baked into the text that lead into a `.instar` folder of another project than
/// `project`: (span of the path, the other project).
pub fn foreign_paths(text: &str, project: &Path) -> Vec<(Span, PathBuf)> {
    let mut out = Vec::new();
    let needle = "/.instar";
    let mut from = 0;
    while let Some(pos) = text[from..].find(needle) {
        let at = from + pos;
        from = at + needle.len();
        // Walk back to the start of the path: a quote, whitespace or `=`. The path starts after
        // that character, whose width may be more than one byte (U+00A0, U+3000 are whitespace).
        let start = text[..at]
            .char_indices()
            .rev()
            .find(|&(_, c)| c == '"' || c == '\'' || c == '`' || c.is_whitespace() || c == '=')
            .map(|(p, c)| p + c.len_utf8())
            .unwrap_or(0);
        let prefix = &text[start..at];
        if !prefix.starts_with('/') {
            continue; // relative (the __dirname / $SCRIPT_DIR variant): healthy
        }
        let end = text[at..]
            .find(|c: char| c == '"' || c == '\'' || c == '`' || c.is_whitespace())
            .map(|p| at + p)
            .unwrap_or(text.len());
        if Path::new(prefix) != project
            && !out.iter().any(|(s, _): &(Span, PathBuf)| s.start == start)
        {
            out.push((start..end, PathBuf::from(prefix)));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::version::NEWEST_KNOWN;

    fn generated(version: Version) -> (String, String) {
        let state = Path::new("/p/.instar");
        (
            super::super::template::node_wrapper(state, version),
            super::super::template::sh_wrapper(state, version),
        )
    }

    #[test]
    fn our_own_wrappers_are_healthy_at_every_version() {
        for version in [Version::new(0, 28, 44), Version::new(1, 2, 0), NEWEST_KNOWN] {
            let (js, sh) = generated(version);
            assert_eq!(node_damage(&js), None, "{version}");
            assert_eq!(sh_damage(&sh), None, "{version}");
            assert!(missing_markers(&js, version).is_empty(), "{version}");
            assert!(foreign_paths(&js, Path::new("/p")).is_empty());
            assert!(foreign_paths(&sh, Path::new("/p")).is_empty());
        }
    }

    #[test]
    fn truncation_is_found_from_the_text() {
        let (js, sh) = generated(NEWEST_KNOWN);
        for cut in [js.len() / 3, js.len() / 2, js.len() - 40] {
            assert!(node_damage(&js[..cut]).is_some(), "cut at {cut}");
        }
        for cut in [sh.len() / 2, sh.len() - 30] {
            assert!(sh_damage(&sh[..cut]).is_some(), "cut at {cut}");
        }
    }

    #[test]
    fn the_dirname_variant_is_recognised_and_has_no_foreign_paths() {
        let js = "#!/usr/bin/env node\nconst path = require('path');\nconst SHADOW = path.join(__dirname, 'shadow-install', 'node_modules', 'instar', 'dist', 'cli.js');\nconst CRASH_FILE = path.join(__dirname, 'state', 'boot-crashes.txt');\nconst r = require('child_process').spawnSync(process.execPath, [SHADOW], { stdio: 'inherit' });\nif (/^x$/.test('y')) {}\nprocess.exit(r.status);\n";
        assert_eq!(node_damage(js), None);
        assert!(foreign_paths(js, Path::new("/p")).is_empty());
        assert_eq!(missing_markers(js, NEWEST_KNOWN).len(), 3);
    }

    #[test]
    fn baked_paths_of_another_project_are_found() {
        let (js, _) = generated(NEWEST_KNOWN);
        let found = foreign_paths(&js, Path::new("/elsewhere"));
        assert!(!found.is_empty());
        assert!(found.iter().all(|(_, p)| p == Path::new("/p")));
    }

    #[test]
    fn a_wide_space_before_an_absolute_path_is_a_boundary_not_a_panic() {
        // Each of these is whitespace to Rust and more than one byte in UTF-8.
        for space in ['\u{a0}', '\u{85}', '\u{2029}', '\u{3000}'] {
            let text = format!("exec node{space}/other/.instar/shadow-install/cli.js");
            let found = foreign_paths(&text, Path::new("/p"));
            assert_eq!(found.len(), 1, "{space:?}");
            assert_eq!(
                &text[found[0].0.clone()],
                "/other/.instar/shadow-install/cli.js"
            );
            assert_eq!(found[0].1, PathBuf::from("/other"));
        }
    }

    proptest::proptest! {
        #[test]
        fn foreign_paths_never_slices_inside_a_character(
            before in "\\PC{0,12}", after in "\\PC{0,12}"
        ) {
            let text = format!("{before}/.instar{after}");
            for (span, _) in foreign_paths(&text, Path::new("/p")) {
                proptest::prop_assert!(text.get(span).is_some());
            }
        }
    }
}

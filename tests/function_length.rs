//! Shape guard over the crate (`src/` and `checks/`): no function longer than 80 lines, so that
//! each reads as one job and a newcomer can extend a part by copying a neighbour (issue 13). A
//! long function is split by what it does; the ones listed in `LONG_FUNCTIONS` are known debt,
//! and the test fails as soon as one of them is short enough to leave the list.
//!
//! Test modules of their own (files named `tests.rs`) are not measured: their tables of cases
//! (`src/json/tests.rs` holds JSON.parse's verdict on a hundred inputs, one a line) read best
//! whole, and cutting a table in two names nothing. Tests written inline in a production file
//! are measured with it.

use std::path::{Path, PathBuf};

/// The most lines a function may take, from its `fn` line to its closing brace, both included.
const MAX_LINES: usize = 80;

/// Known debt: (file under the crate root, function). None left.
const LONG_FUNCTIONS: &[(&str, &str)] = &[];

/// The folders measured, under the crate root.
const MEASURED: &[&str] = &["checks", "src"];

/// The source with comments, string literals and character literals blanked out (newlines
/// kept), so that only the code's own braces, parentheses and `fn`s are left.
fn code_only(src: &str) -> Vec<u8> {
    let b = src.as_bytes();
    let mut out = b.to_vec();
    let blank = |out: &mut Vec<u8>, from: usize, to: usize| {
        for byte in &mut out[from..to.min(b.len())] {
            if *byte != b'\n' {
                *byte = b' ';
            }
        }
    };
    let ident = |i: usize| i > 0 && (b[i - 1].is_ascii_alphanumeric() || b[i - 1] == b'_');
    let mut i = 0;
    while i < b.len() {
        let end = if b[i..].starts_with(b"//") {
            b[i..]
                .iter()
                .position(|&c| c == b'\n')
                .map_or(b.len(), |p| i + p)
        } else if b[i..].starts_with(b"/*") {
            // Block comments nest in Rust.
            let (mut depth, mut j) = (0usize, i);
            while j < b.len() {
                if b[j..].starts_with(b"/*") {
                    depth += 1;
                    j += 2;
                } else if b[j..].starts_with(b"*/") {
                    depth -= 1;
                    j += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    j += 1;
                }
            }
            j
        } else if let Some(end) = raw_string_end(b, i).filter(|_| !ident(i)) {
            end
        } else if b[i] == b'"' {
            let mut j = i + 1;
            while j < b.len() && b[j] != b'"' {
                j += if b[j] == b'\\' { 2 } else { 1 };
            }
            j + 1
        } else if b[i] == b'\'' {
            char_literal_end(src, i).unwrap_or(i + 1)
        } else {
            i + 1
        };
        if end > i + 1 {
            blank(&mut out, i, end);
        }
        i = end;
    }
    out
}

/// The end of a raw string literal (`r"…"`, `r#"…"#`, `br"…"`) starting at `i`.
fn raw_string_end(b: &[u8], i: usize) -> Option<usize> {
    let start = if b[i..].starts_with(b"br") {
        i + 2
    } else if b[i] == b'r' {
        i + 1
    } else {
        return None;
    };
    let hashes = b[start..].iter().take_while(|&&c| c == b'#').count();
    if b.get(start + hashes) != Some(&b'"') {
        return None;
    }
    let mut close = vec![b'"'];
    close.extend(std::iter::repeat_n(b'#', hashes));
    let body = start + hashes + 1;
    let at = b[body..].windows(close.len()).position(|w| w == close)?;
    Some(body + at + close.len())
}

/// The end of a character literal (`'x'`, `'\n'`, `'\u{1F600}'`) at `i`; `None` for a lifetime.
fn char_literal_end(src: &str, i: usize) -> Option<usize> {
    let rest = &src[i + 1..];
    if let Some(escaped) = rest.strip_prefix('\\') {
        let first = escaped.chars().next()?.len_utf8();
        let close = escaped[first..].find('\'')?;
        return Some(i + 2 + first + close + 1);
    }
    let c = rest.chars().next()?;
    rest[c.len_utf8()..]
        .starts_with('\'')
        .then(|| i + 1 + c.len_utf8() + 1)
}

/// `(name, lines)` of every function with a body in `src`.
fn functions(src: &str) -> Vec<(String, usize)> {
    let code = code_only(src);
    let line_of = |at: usize| code[..at].iter().filter(|&&c| c == b'\n').count();
    let mut found = Vec::new();
    let mut i = 0;
    while let Some(p) = code[i..].windows(3).position(|w| w == b"fn ") {
        let at = i + p;
        i = at + 3;
        if at > 0 && (code[at - 1].is_ascii_alphanumeric() || code[at - 1] == b'_') {
            continue;
        }
        let name: String = code[i..]
            .iter()
            .take_while(|c| c.is_ascii_alphanumeric() || **c == b'_')
            .map(|&c| c as char)
            .collect();
        if name.is_empty() {
            continue;
        }
        // The body's brace; a `;` outside parentheses and brackets first means no body.
        let mut depth = 0i32;
        let mut j = i;
        let open = loop {
            match code.get(j) {
                None => break None,
                Some(b'(' | b'[') => depth += 1,
                Some(b')' | b']') => depth -= 1,
                Some(b';') if depth == 0 => break None,
                Some(b'{') if depth == 0 => break Some(j),
                _ => {}
            }
            j += 1;
        };
        let Some(open) = open else { continue };
        let mut braces = 0i32;
        let close = (open..code.len()).find(|&k| {
            match code[k] {
                b'{' => braces += 1,
                b'}' => braces -= 1,
                _ => {}
            }
            braces == 0
        });
        let close = close.unwrap_or_else(|| panic!("fn {name}: no closing brace"));
        found.push((name, line_of(close) - line_of(at) + 1));
    }
    found
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs")
            && path.file_name().is_some_and(|n| n != "tests.rs")
        {
            out.push(path);
        }
    }
}

#[test]
fn no_function_is_longer_than_80_lines() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    for dir in MEASURED {
        rust_files(&root.join(dir), &mut files);
    }
    files.sort();
    assert!(files.len() > 150, "the scan found too few files: {files:?}");
    let mut long = Vec::new();
    let mut measured = 0;
    for file in &files {
        let shown = file
            .strip_prefix(root)
            .unwrap()
            .to_string_lossy()
            .replace('\\', "/");
        for (name, lines) in functions(&std::fs::read_to_string(file).unwrap()) {
            measured += 1;
            if lines > MAX_LINES {
                long.push((shown.clone(), name, lines));
            }
        }
    }
    assert!(measured > 1500, "too few functions measured: {measured}");
    let new: Vec<String> = long
        .iter()
        .filter(|(file, name, _)| !LONG_FUNCTIONS.contains(&(file.as_str(), name.as_str())))
        .map(|(file, name, lines)| format!("{file}: fn {name} has {lines} lines"))
        .collect();
    assert!(
        new.is_empty(),
        "split these by what they do (at most {MAX_LINES} lines each):\n{}",
        new.join("\n")
    );
    let paid: Vec<String> = LONG_FUNCTIONS
        .iter()
        .filter(|(file, name)| !long.iter().any(|(f, n, _)| f == file && n == name))
        .map(|(file, name)| format!("{file}: fn {name}"))
        .collect();
    assert!(
        paid.is_empty(),
        "no longer over {MAX_LINES} lines (or gone): remove them from LONG_FUNCTIONS:\n{}",
        paid.join("\n")
    );
}

/// The measure itself: comments, strings, raw strings and character literals do not count as
/// code, trait declarations have no body, and a function's lines include both braces' lines.
#[test]
fn the_measure_counts_only_code_braces() {
    let src = r##"
fn short() {
    let s = "}}}";
    let c = '}';
    let q = '\'';
    let r = r#"{ "}" "#;
    // }
    /* { /* } */ } */
    let l: &'static str = "x";
}
trait T {
    fn declared(&self) -> [u8; 4];
}
fn pointer(f: fn(u8) -> u8) -> u8 { f(1) }
"##;
    assert_eq!(
        functions(src),
        vec![("short".to_string(), 9), ("pointer".to_string(), 1)]
    );
}

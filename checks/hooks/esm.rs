//! Hook files that crash where Node loads them as ES modules (hazard #2): a `.js` file in a
//! project whose nearest package.json says `"type": "module"` that calls `require(`.
//!
//! The scan is lexical, like instar's own regression test: comments and string literals are
//! skipped, and a file that defines `require` itself (createRequire, a guard on `typeof
//! require`) is trusted. Nothing is run; `--deep` adds `node --check` (hooks/syntax-error).

use std::ffi::OsStr;
use std::path::Path;

use crate::diag::{Diagnostic, Effect, Sink, Span};
use crate::engine::Context;
use crate::fix::Fix;

use super::codes::*;
use super::files::HookFile;

/// Whether Node treats `.js` files in `dir` as ES modules: the `type` of the nearest
/// package.json, looking no higher than the project folder (instar's agent homes are the
/// project). A package.json that does not parse counts as absent, as Node then fails anyway.
fn module_scope(cx: &Context, dir: &Path) -> bool {
    let mut here = Some(dir);
    while let Some(folder) = here {
        let candidate = folder.join("package.json");
        if let Some(doc) = cx.json(&candidate) {
            return doc
                .tape()
                .and_then(|t| {
                    t.root()
                        .get("type")
                        .and_then(|v| v.as_str())
                        .map(|s| s == "module")
                })
                .unwrap_or(false);
        }
        if folder == cx.project_dir {
            break;
        }
        here = folder.parent();
    }
    false
}

pub fn check(cx: &Context, files: &[HookFile], sink: &mut Sink) {
    for file in files {
        if file.path.extension() != Some(OsStr::new("js")) {
            continue;
        }
        let Some(dir) = file.path.parent() else {
            continue;
        };
        if !module_scope(cx, dir) {
            continue;
        }
        let Some(bytes) = file.bytes(cx) else {
            continue;
        };
        let Some(span) = bare_require(&bytes) else {
            continue;
        };
        let fix = if file.builtin {
            Fix::manual("run `instar migrate` (or update instar): it rewrites the built-in hooks with dynamic import()")
        } else {
            Fix::manual("rewrite the hook with `await import(...)`, or rename it to .cjs and update its entry in .claude/settings.json")
        };
        sink.push(
            Diagnostic::new(
                &ESM_REQUIRE,
                Effect::Silent,
                format!(
                    "{} calls require( but Node loads it as an ES module (\"type\": \"module\"): it throws on every run and Claude Code carries on without the hook",
                    cx.display_path(&file.path)
                ),
            )
            .file(&file.path)
            .at(span, "require is not defined in ES module scope")
            .help(if file.builtin {
                "a built-in hook: instar rewrites these on update with dynamic import() (from v1.3.28)"
            } else {
                "a custom hook: instar never touches it"
            })
            .fix(Some(fix)),
        );
    }
}

/// `node --check` on the built-in hooks (`--deep` only: it spawns node once per file).
pub fn deep_check(cx: &Context, files: &[HookFile], sink: &mut Sink) {
    if !cx.deep {
        return;
    }
    for file in files.iter().filter(|f| f.builtin) {
        let ext = file.path.extension().and_then(OsStr::to_str);
        if !matches!(ext, Some("js" | "cjs" | "mjs")) {
            continue;
        }
        let Some(out) = cx
            .host()
            .run("node", &[OsStr::new("--check"), file.path.as_os_str()])
        else {
            return; // no node on this host: nothing to ask
        };
        if out.status.success() {
            continue;
        }
        let why = String::from_utf8_lossy(&out.stderr);
        let first = why
            .lines()
            .find(|l| l.contains("Error"))
            .unwrap_or("node --check failed")
            .trim()
            .to_string();
        sink.push(
            Diagnostic::new(
                &SYNTAX_ERROR,
                Effect::Silent,
                format!("{} does not parse: {first}", cx.display_path(&file.path)),
            )
            .file(&file.path)
            .fix(Some(Fix::manual(
                "run `instar migrate` (or update instar) to regenerate the built-in hooks",
            ))),
        );
    }
}

/// Where a bare `require(` call sits outside comments and strings, unless the file defines
/// `require` itself.
pub fn bare_require(src: &[u8]) -> Option<Span> {
    let code = code_mask(src);
    let word_at = |i: usize, w: &[u8]| {
        src[i..].starts_with(w)
            && code[i]
            && (i == 0 || !is_ident(src[i - 1]))
            && src.get(i + w.len()).is_none_or(|&b| !is_ident(b))
    };
    let mut found = None;
    for i in 0..src.len() {
        if !word_at(i, b"require") {
            continue;
        }
        // `typeof require`, `createRequire(...)` bound to `require`, `function require`,
        // `require =`: the file guards or defines it, so it knows what it is doing.
        let before = trim_end(&src[..i]);
        if before.ends_with(b"typeof") || before.ends_with(b"function") {
            return None;
        }
        let after = trim_start(&src[i + 7..]);
        if after.starts_with(b"=") && !after.starts_with(b"==") {
            return None;
        }
        if before.ends_with(b".") || before.ends_with(b"?.") {
            continue; // module.require, obj.require: a member, not the global
        }
        if (before.ends_with(b"const") || before.ends_with(b"let") || before.ends_with(b"var"))
            && after.starts_with(b"=")
        {
            return None;
        }
        if after.starts_with(b"(") && found.is_none() {
            found = Some(i..i + 7);
        }
    }
    found
}

fn is_ident(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_' || b == b'$'
}

fn trim_end(s: &[u8]) -> &[u8] {
    let end = s
        .iter()
        .rposition(|b| !b.is_ascii_whitespace())
        .map_or(0, |i| i + 1);
    &s[..end]
}

fn trim_start(s: &[u8]) -> &[u8] {
    let start = s
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .unwrap_or(s.len());
    &s[start..]
}

/// For each byte, whether it is code (not inside a comment or a string literal). Template
/// literals count as strings as a whole, `${…}` included: a require there is rare, and
/// skipping it errs towards silence. Regular-expression literals are not recognised.
fn code_mask(src: &[u8]) -> Vec<bool> {
    #[derive(PartialEq)]
    enum S {
        Code,
        Line,
        Block,
        Str(u8),
    }
    let mut mask = vec![false; src.len()];
    let mut state = S::Code;
    let mut i = 0;
    if src.starts_with(b"#!") {
        state = S::Line;
    }
    while i < src.len() {
        let b = src[i];
        match state {
            S::Code => {
                if b == b'/' && src.get(i + 1) == Some(&b'/') {
                    state = S::Line;
                    i += 2;
                    continue;
                }
                if b == b'/' && src.get(i + 1) == Some(&b'*') {
                    state = S::Block;
                    i += 2;
                    continue;
                }
                if matches!(b, b'\'' | b'"' | b'`') {
                    state = S::Str(b);
                } else {
                    mask[i] = true;
                }
            }
            S::Line => {
                if b == b'\n' {
                    state = S::Code;
                }
            }
            S::Block => {
                if b == b'*' && src.get(i + 1) == Some(&b'/') {
                    state = S::Code;
                    i += 2;
                    continue;
                }
            }
            S::Str(q) => {
                if b == b'\\' {
                    i += 2;
                    continue;
                }
                if b == q || (b == b'\n' && q != b'`') {
                    state = S::Code;
                }
            }
        }
        i += 1;
    }
    mask
}

#[cfg(test)]
mod tests {
    use super::bare_require;

    #[test]
    fn a_top_level_require_is_found() {
        let src = b"#!/usr/bin/env node\nconst fs = require('fs');\n";
        let span = bare_require(src).unwrap();
        assert_eq!(&src[span], b"require");
    }

    #[test]
    fn a_require_inside_a_function_crashes_too() {
        // In ES module scope `require` is undefined everywhere, not only at the top level.
        assert!(
            bare_require(b"process.stdin.on('end', () => { const x = require('x'); });").is_some()
        );
    }

    #[test]
    fn comments_strings_and_members_are_not_calls() {
        let src = b"// Uses `await import('node:http')` instead of `require('http')`\n\
/* require('x') */\nconst s = \"require('y')\";\nconst t = `require(z)`;\nmodule.require('q');\n\
const { request } = await import('node:http');\n";
        assert_eq!(bare_require(src), None);
    }

    #[test]
    fn files_that_define_or_guard_require_are_trusted() {
        let defined = b"import { createRequire } from 'node:module';\nconst require = createRequire(import.meta.url);\nconst fs = require('fs');\n";
        assert_eq!(bare_require(defined), None);
        let guarded = b"const fs = typeof require !== 'undefined' ? require('fs') : null;\n";
        assert_eq!(bare_require(guarded), None);
    }

    #[test]
    fn an_identifier_ending_in_require_is_not_require() {
        assert_eq!(bare_require(b"myrequire('x'); requireAll('y');"), None);
    }
}

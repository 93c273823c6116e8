//! Port literals that disagree with config.json (hazard #5): `localhost:NNNN` in scripts,
//! skills, custom hooks and jobs.json, where NNNN is in instar's range and not this agent's port.
//!
//! Only instar's range (4040-4099) counts: a skill that talks about a web app on port 3000 is
//! not about instar. Built-in hooks (`.instar/hooks/instar/`) are instar's to rewrite on update,
//! and some carry a 4040 fallback behind an environment variable instar always sets.

use std::path::{Path, PathBuf};

use crate::diag::{Diagnostic, Effect, Sink, Span};
use crate::engine::Context;
use crate::fix::{Change, Fix};

use super::codes::*;
use super::files::{dirs_in, files_in, small_file, HookFile};

/// instar allocates agent ports from this range.
const RANGE: std::ops::RangeInclusive<u32> = 4040..=4099;
/// instar's default when config.json has no port.
const DEFAULT_PORT: u32 = 4040;

/// config.json's port, or the default when it has none; `None` when config.json cannot be read
/// (the config check reports that) or its port is not a plain number.
fn configured_port(cx: &Context) -> Option<u32> {
    let doc = cx.json(&cx.state_path("config.json"))?;
    let tape = doc.tape()?;
    let root = tape.root();
    match root.get("port") {
        None => Some(DEFAULT_PORT),
        Some(value) => {
            let port = value.as_f64()?;
            (port.fract() == 0.0 && (1.0..=65535.0).contains(&port)).then_some(port as u32)
        }
    }
}

pub fn check(cx: &Context, hooks: &[HookFile], sink: &mut Sink) {
    let Some(port) = configured_port(cx) else {
        return;
    };
    for path in candidates(cx, hooks) {
        let Some(bytes) = small_file(cx, &path) else {
            continue;
        };
        for (span, found) in stale_literals(&bytes, port) {
            sink.push(
                Diagnostic::new(
                    &STALE_PORT,
                    Effect::Silent,
                    format!(
                        "{} names port {found}, but this agent listens on {port} (config.json)",
                        cx.display_path(&path)
                    ),
                )
                .file(&path)
                .at(span.clone(), format!("not this agent's port ({port})"))
                .help("instar repairs its own built-in jobs, skills and scripts on update, never custom ones; if this port is another agent's, this file talks to that agent with this agent's token")
                .fix(Some(Fix::unsafe_(
                    format!("replace {found} with {port}"),
                    vec![Change::Edit {
                        file: path.clone().into(),
                        span,
                        replacement: port.to_string().into(),
                    }],
                ))),
            );
        }
    }
}

/// The files read: skills, scripts, custom hooks and jobs.json.
fn candidates(cx: &Context, hooks: &[HookFile]) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for skill in dirs_in(cx, &cx.project_dir.join(".claude/skills")) {
        let file = skill.join("SKILL.md");
        if cx.is_file(&file) {
            out.push(file);
        }
    }
    out.extend(files_in(cx, &cx.project_dir.join(".claude/scripts")));
    out.extend(files_in(cx, &cx.state_path("scripts")));
    out.extend(hooks.iter().filter(|h| !h.builtin).map(|h| h.path.clone()));
    let jobs = cx.state_path("jobs.json");
    if cx.is_file(&jobs) {
        out.push(jobs);
    }
    out.retain(|p| !is_candidate_backup(p));
    out
}

/// `.new` candidates and backups are not run; hooks/relay-stranded covers `.new` scripts.
fn is_candidate_backup(path: &Path) -> bool {
    path.extension()
        .is_some_and(|e| e == "new" || e == "bak" || e == "orig")
}

/// Each `localhost:NNNN` / `127.0.0.1:NNNN` whose port is in instar's range and is not `port`:
/// the span of the digits and the number.
pub fn stale_literals(src: &[u8], port: u32) -> Vec<(Span, u32)> {
    let mut out = Vec::new();
    for host in [&b"localhost:"[..], b"127.0.0.1:"] {
        let mut from = 0;
        while let Some(found) = find(&src[from..], host) {
            let start = from + found + host.len();
            let digits = src[start..]
                .iter()
                .take_while(|b| b.is_ascii_digit())
                .count();
            from = start;
            if !(4..=5).contains(&digits) {
                continue;
            }
            let text = std::str::from_utf8(&src[start..start + digits]).unwrap_or("0");
            let Ok(number) = text.parse::<u32>() else {
                continue;
            };
            if RANGE.contains(&number) && number != port {
                out.push((start..start + digits, number));
            }
        }
    }
    out.sort_by_key(|(span, _)| span.start);
    out
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::stale_literals;

    #[test]
    fn only_other_ports_in_instars_range_are_stale() {
        let src = b"curl http://localhost:4040/health; curl 127.0.0.1:4041/x; open localhost:3000; localhost:${INSTAR_PORT:-4040}";
        let found = stale_literals(src, 4041);
        assert_eq!(found.len(), 1);
        assert_eq!(&src[found[0].0.clone()], b"4040");
        assert_eq!(found[0].1, 4040);
    }

    #[test]
    fn a_longer_number_is_not_a_port_in_range() {
        assert!(stale_literals(b"localhost:404099", 4041).is_empty());
        assert!(stale_literals(b"localhost:40", 4041).is_empty());
    }
}

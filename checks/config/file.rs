//! Findings about config.json as a whole: whether it exists, reads and parses (loadConfig steps
//! 1–3), its root, duplicate keys, invalid UTF-8, temp files and the migrator's `.bak`.

use std::path::{Path, PathBuf};

use crate::diag::{Diagnostic, Effect, Sink};
use crate::engine::Context;
use crate::fix::{Change, Fix};
use crate::json::{self, ErrorKind, Kind, ParseError, Tape, Value};
use crate::source::FileState;

use super::codes::*;
use crate::checks::shared;

/// `config.json.bak` when it parses (no BOM) to an object: instar's one-generation backup.
fn usable_backup(cx: &Context, path: &Path) -> Option<(PathBuf, Vec<u8>)> {
    let bak = path.with_file_name("config.json.bak");
    let doc = cx.json(&bak)?;
    let outcome = doc.parsed.as_ref().ok()?;
    if outcome.bom || doc.tape()?.root().kind() != Kind::Object {
        return None;
    }
    Some((bak, doc.bytes().to_vec()))
}

fn restore_fix(cx: &Context, path: &Path, bak: &Path, contents: Vec<u8>) -> Fix {
    Fix::unsafe_(
        format!(
            "restore config.json from {} (the diff shows what would be lost)",
            cx.display_path(bak)
        ),
        vec![Change::Write {
            file: path.to_path_buf(),
            contents,
        }],
    )
}

pub fn missing(cx: &Context, path: &Path, state: &FileState) -> Diagnostic {
    let how = match state {
        FileState::Missing => "does not exist".to_string(),
        other => format!("{} (instar's existsSync sees no file)", other.describe()),
    };
    let diagnostic = Diagnostic::new(
        &MISSING,
        Effect::Silent,
        format!(
            "{} {how}: instar runs on defaults (port 4040, no authToken, no messaging)",
            cx.display_path(path)
        ),
    )
    .file(path);
    match usable_backup(cx, path) {
        Some((bak, contents)) => diagnostic
            .help("config.json.bak is the copy PostUpdateMigrator made before its last rewrite")
            .fix(Some(restore_fix(cx, path, &bak, contents))),
        None => diagnostic.fix(Some(Fix::manual(
            "re-run `instar init`, or restore .instar/config.json from git history or another machine",
        ))),
    }
}

pub fn unreadable(cx: &Context, path: &Path, state: &FileState) -> Diagnostic {
    shared::unreadable_finding(
        &UNREADABLE,
        Effect::Fatal,
        cx,
        path,
        state,
        "instar cannot read it, so every instar command that loads the config aborts",
    )
    .fix(Some(Fix::manual(
        "move it aside and put the real config.json back (or give the owner read permission)",
    )))
}

pub fn bom(cx: &Context, path: &Path) -> Diagnostic {
    shared::bom_finding(
        &PARSE_ERROR,
        cx,
        path,
        "every version throws \"Failed to parse\" before anything starts; the content behind the mark is diagnosed as if it were not there",
    )
}

pub fn parse_error(cx: &Context, path: &Path, bytes: &[u8], err: &ParseError) -> Diagnostic {
    let diagnostic = shared::parse_error_finding(
        &PARSE_ERROR,
        cx,
        path,
        err,
        "every version throws \"Failed to parse\" before any component starts, and even `instar backup restore` refuses to run; the doctor never replaces it with {}",
    );
    if err.kind == ErrorKind::ConflictMarker {
        if let Some((ours, theirs_parses)) = conflict_sides(bytes) {
            let other = if theirs_parses {
                "the other side also parses: to keep it instead, resolve the conflict by hand"
            } else {
                "the other side does not parse"
            };
            return diagnostic.add_help(other).fix(Some(Fix::unsafe_(
                "keep our side of the merge conflict",
                vec![Change::Write {
                    file: path.to_path_buf(),
                    contents: ours,
                }],
            )));
        }
    }
    match usable_backup(cx, path) {
        Some((bak, contents)) => diagnostic.fix(Some(restore_fix(cx, path, &bak, contents))),
        None => diagnostic.fix(Some(Fix::manual(format!(
            "repair the JSON by hand, or restore it from git history or another machine ({})",
            cx.display_path(path)
        )))),
    }
}

/// Our side of a git conflict when it parses to an object, and whether theirs does too.
fn conflict_sides(bytes: &[u8]) -> Option<(Vec<u8>, bool)> {
    let text = std::str::from_utf8(bytes).ok()?;
    let (ours, theirs) = shared::conflict_sides(text)?;
    let is_object = |text: &str| {
        let mut tape = Tape::new();
        matches!(json::parse(text.as_bytes(), &mut tape), Ok(o) if !o.bom)
            && tape.root().kind() == Kind::Object
    };
    is_object(&ours).then(|| (ours.clone().into_bytes(), is_object(&theirs)))
}

pub fn root_not_object(cx: &Context, path: &Path, root: Value<'_>) -> Diagnostic {
    let (effect, what, consequence) = match root.kind() {
        Kind::Null => (
            Effect::Fatal,
            "null",
            "every instar command that loads the config crashes with an uncaught TypeError, at every version",
        ),
        Kind::Array => (
            Effect::Silent,
            "an array",
            "it silently loads as an empty config: no authToken, no messaging, port 4040",
        ),
        Kind::String => (
            Effect::Silent,
            "a string",
            "it silently loads as an empty config: no authToken, no messaging, port 4040",
        ),
        Kind::Number => (
            Effect::Silent,
            "a number",
            "it silently loads as an empty config: no authToken, no messaging, port 4040",
        ),
        Kind::Bool => (
            Effect::Silent,
            "a boolean",
            "it silently loads as an empty config: no authToken, no messaging, port 4040",
        ),
        Kind::Object => unreachable!("only called for non-objects"),
    };
    let diagnostic = Diagnostic::new(
        &ROOT_NOT_OBJECT,
        effect,
        format!(
            "the root of {} is {what}: {consequence}",
            cx.display_path(path)
        ),
    )
    .file(path)
    .at(root.span(), "expected an object")
    .pointer("");
    match usable_backup(cx, path) {
        Some((bak, contents)) => diagnostic.fix(Some(restore_fix(cx, path, &bak, contents))),
        None => diagnostic.fix(Some(Fix::manual(
            "restore config.json from git history or another machine, or re-run `instar init`",
        ))),
    }
}

pub fn duplicates_and_utf8(path: &Path, tape: &Tape<'_>, sink: &mut Sink) {
    shared::hygiene_findings(&DUPLICATE_KEY, &INVALID_UTF8, path, tape, sink);
}

/// The temp-file names instar's config writers use, with the writer's pid when the name has one.
fn temp_file_pid(entry: &str) -> Option<Option<u32>> {
    if entry == "config.json.tmp" {
        return Some(None);
    }
    if let Some(pid) = entry
        .strip_prefix("config.json.")
        .and_then(|r| r.strip_suffix(".tmp"))
    {
        return pid.parse().ok().map(Some);
    }
    let rest = entry.strip_prefix(".config.json.")?.strip_suffix(".tmp")?;
    let (pid, ms) = rest.split_once('.')?;
    if ms.is_empty() || !ms.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    pid.parse().ok().map(Some)
}

pub fn stray_temp_files(cx: &Context, path: &Path, main_parses: bool, sink: &mut Sink) {
    let Some(dir) = path.parent() else { return };
    for entry in cx.list_dir(dir) {
        let Some(pid) = temp_file_pid(&entry) else {
            continue;
        };
        let temp = dir.join(&entry);
        let alive = pid.is_some_and(|pid| cx.process_alive(pid));
        let diagnostic = Diagnostic::new(
            &STRAY_TEMP_FILE,
            Effect::None,
            format!(
                "{} is a leftover temp file of an interrupted config write",
                cx.display_path(&temp)
            ),
        )
        .file(&temp);
        sink.push(if alive {
            diagnostic.help(format!(
                "process {} still runs: it may be writing the file right now",
                pid.unwrap_or_default()
            ))
        } else if !main_parses {
            diagnostic.help("config.json itself does not load: this temp file may be the only good copy; compare before removing")
        } else {
            diagnostic.fix(Some(Fix::safe(
                "move the temp file to the doctor's quarantine",
                vec![Change::Quarantine { file: temp }],
            )))
        });
    }
}

pub fn backup_newer(cx: &Context, path: &Path, sink: &mut Sink) {
    let bak = path.with_file_name("config.json.bak");
    let modified = |p: &Path| cx.modified(p);
    if let (Some(main), Some(backup)) = (modified(path), modified(&bak)) {
        // A minute of slack: a checkout or copy writes both files within moments.
        let newer = backup
            .duration_since(main)
            .is_ok_and(|d| d > std::time::Duration::from_secs(60));
        if newer {
            sink.push(
                Diagnostic::new(
                    &BACKUP_NEWER,
                    Effect::None,
                    format!(
                        "{} is newer than config.json: the migrator's last rewrite may not have landed",
                        cx.display_path(&bak)
                    ),
                )
                .file(&bak)
                .help("compare the two files; config.json is what instar loads"),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn temp_file_names_of_every_writer() {
        assert_eq!(temp_file_pid("config.json.tmp"), Some(None));
        assert_eq!(temp_file_pid("config.json.4242.tmp"), Some(Some(4242)));
        assert_eq!(
            temp_file_pid(".config.json.77.1763980000000.tmp"),
            Some(Some(77))
        );
        assert_eq!(temp_file_pid("config.json.bak"), None);
        assert_eq!(temp_file_pid("config.json.x.tmp"), None);
        assert_eq!(temp_file_pid(".config.json.77.x.tmp"), None);
    }

    #[test]
    fn conflict_keeps_ours_when_it_parses() {
        let text =
            "{\n<<<<<<< HEAD\n  \"port\": 4041\n=======\n  \"port\": 4042\n>>>>>>> theirs\n}\n";
        let (ours, theirs) = conflict_sides(text.as_bytes()).unwrap();
        assert_eq!(String::from_utf8(ours).unwrap(), "{\n  \"port\": 4041\n}\n");
        assert!(theirs);
    }
}

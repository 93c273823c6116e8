//! Findings about the jobs file as a whole: where it is, whether it reads and parses, its temp
//! files, and what could restore it.

use std::path::{Path, PathBuf};

use crate::diag::{Diagnostic, Effect, Severity, Sink};
use crate::engine::Context;
use crate::fix::{Change, Fix};
use crate::json::{self, ErrorKind, Kind, ParseError, Tape, Value};
use crate::json_edit;
use crate::source::FileState;

use super::codes::*;
use super::sources::{JobsFileSetting, SchedulerConfig};
use crate::checks::shared::{self, BOM};

pub fn stale_jobs_file(
    cx: &Context,
    scheduler: &SchedulerConfig,
    setting: &JobsFileSetting,
    default_path: &Path,
) -> Diagnostic {
    let default_exists = cx.file(default_path).exists_for_instar();
    // Relative to the project (instar runs in the project folder, and the doctor resolves
    // relative paths against it): the next move of the project does not make it stale again.
    let target = cx.display_path(default_path);
    let fix = if default_exists {
        Fix::unsafe_(
            format!(
                "repoint scheduler.jobsFile at {}",
                cx.display_path(default_path)
            ),
            vec![Change::Edit {
                file: scheduler.config_path.clone().into(),
                span: setting.span.clone(),
                replacement: json_edit::string_literal(&target).into(),
            }],
        )
    } else {
        Fix::manual(
            "restore the jobs file at the configured path, or repoint scheduler.jobsFile at the real one",
        )
    };
    Diagnostic::new(
        &STALE_JOBS_FILE,
        Effect::Silent,
        format!(
            "scheduler.jobsFile points at {}, which does not exist: instar silently runs no jobs",
            setting.value
        ),
    )
    .file(&scheduler.config_path)
    .at(setting.span.clone(), "no file at this path")
    .pointer("/scheduler/jobsFile")
    .help(if default_exists {
        "the project was probably moved or renamed; .instar/jobs.json exists and is diagnosed below"
    } else {
        "the project was probably moved or renamed"
    })
    .fix(Some(fix))
}

pub fn missing(cx: &Context, path: &Path) -> Diagnostic {
    let diagnostic = Diagnostic::new(
        &MISSING,
        Effect::None,
        format!(
            "{} does not exist: instar runs no jobs",
            cx.display_path(path)
        ),
    )
    .file(path)
    .help("this is healthy when the agent has no scheduled jobs");
    diagnostic.fix(restore_fix(cx, path))
}

/// Restoring the newest parseable backup (unsafe: it brings back whatever the backup holds).
fn restore_fix(cx: &Context, path: &Path) -> Option<Fix> {
    let (backup, contents) = newest_backup(cx, path)?;
    Some(Fix::unsafe_(
        format!("restore it from {}", cx.display_path(&backup)),
        vec![Change::Write {
            file: path.to_path_buf(),
            contents,
        }],
    ))
}

pub fn not_loadable(cx: &Context, path: &Path, state: &FileState, effect: Effect) -> Diagnostic {
    let shown = cx.display_path(path);
    match state {
        FileState::Dangling { target } => Diagnostic::new(
            &DANGLING_SYMLINK,
            Effect::Silent,
            format!(
                "{shown} is a symlink to {}, which does not exist: instar sees no jobs file and runs no jobs",
                target.display()
            ),
        )
        .file(path)
        .fix(Some(Fix::manual("restore the link's target or replace the link with the real file"))),
        FileState::SymlinkLoop => Diagnostic::new(
            &DANGLING_SYMLINK,
            Effect::Silent,
            format!("{shown} is a symlink loop: instar sees no jobs file and runs no jobs"),
        )
        .file(path)
        .fix(Some(Fix::manual("replace the link with the real file"))),
        FileState::NotAFile(what) => Diagnostic::new(
            &UNREADABLE,
            effect,
            format!(
                "{shown} is {}, not a file: instar's read of it fails (or, for a FIFO, blocks) and the scheduler cannot start",
                what.describe()
            ),
        )
        .file(path)
        .fix(Some(Fix::manual(format!(
            "move {} aside and put the jobs file there",
            what.describe()
        )))),
        FileState::Unreadable { reason } => Diagnostic::new(
            &UNREADABLE,
            effect,
            format!("{shown} cannot be read ({reason}): instar's load throws"),
        )
        .file(path)
        .fix(Some(Fix::safe(
            "give the owner read and write permission (chmod u+rw)",
            vec![Change::SetMode {
                file: path.to_path_buf(),
                mode: 0o644,
            }],
        ))),
        FileState::TooLarge { len } => Diagnostic::new(
            &UNREADABLE,
            effect,
            format!(
                "{shown} is {len} bytes: larger than Node can read into one string, so instar's load throws"
            ),
        )
        .file(path)
        .fix(Some(Fix::manual("restore a jobs file of a sane size from a backup"))),
        FileState::Missing | FileState::Present(_) => missing(cx, path),
    }
}

pub fn bom(cx: &Context, path: &Path) -> Diagnostic {
    shared::bom_finding(
        &PARSE_ERROR,
        cx,
        path,
        "every version throws \"Failed to parse jobs file\"; the content behind the mark is diagnosed as if it were not there",
    )
}

pub fn parse_error(cx: &Context, path: &Path, bytes: &[u8], err: &ParseError) -> Diagnostic {
    let diagnostic = shared::parse_error_finding(
        &PARSE_ERROR,
        cx,
        path,
        err,
        "every version throws \"Failed to parse jobs file\" and loses every job; the doctor never truncates the file to []",
    );
    if err.kind == ErrorKind::ConflictMarker {
        if let Some(merged) = merge_conflict(bytes) {
            return diagnostic.fix(Some(Fix::unsafe_(
                "merge both sides of the conflict by slug (ours first, then their new jobs)",
                vec![Change::Write {
                    file: path.to_path_buf(),
                    contents: merged,
                }],
            )));
        }
    }
    match restore_fix(cx, path) {
        Some(fix) => diagnostic.fix(Some(fix)),
        None => diagnostic.fix(Some(Fix::manual(format!(
            "repair the JSON by hand, or restore it from git history (git show HEAD:{})",
            cx.display_path(path)
        )))),
    }
}

pub fn not_an_array(cx: &Context, path: &Path, bytes: &[u8], root: Value<'_>) -> Diagnostic {
    let type_name = match root.kind() {
        Kind::Object | Kind::Null | Kind::Array => "object",
        Kind::String => "string",
        Kind::Number => "number",
        Kind::Bool => "boolean",
    };
    let span = match root.kind() {
        Kind::Object => shared::opening(root),
        _ => root.span(),
    };
    let diagnostic = Diagnostic::new(
        &NOT_AN_ARRAY,
        Effect::Fatal,
        format!(
            "{} must contain a JSON array of jobs, got {type_name}",
            cx.display_path(path)
        ),
    )
    .file(path)
    .at(span, "expected `[`")
    .pointer("")
    .help("every version throws \"Jobs file must contain a JSON array\" and loses every job");
    let wrapped = root.get("jobs").filter(|jobs| jobs.kind() == Kind::Array);
    match wrapped {
        Some(jobs) => {
            let inner = String::from_utf8_lossy(bytes.get(jobs.span()).unwrap_or_default());
            let mut contents = json_edit::dedent(&inner, 1).into_bytes();
            if bytes.ends_with(b"\n") {
                contents.push(b'\n');
            }
            let other_keys = root.members().filter(|(k, _)| k != "jobs").count();
            let title = if other_keys == 0 {
                "unwrap {\"jobs\": [...]} to its array".to_string()
            } else {
                format!("unwrap {{\"jobs\": [...]}} to its array (drops {other_keys} other top-level key(s))")
            };
            diagnostic.fix(Some(Fix::unsafe_(
                title,
                vec![Change::Write {
                    file: path.to_path_buf(),
                    contents,
                }],
            )))
        }
        None => diagnostic.fix(Some(Fix::manual(
            "rewrite the file as an array of job objects",
        ))),
    }
}

/// The newest backup of the jobs file that parses as an array: jobMigrate's pre-migrate copies
/// and BackupManager snapshots, newest name first (both names embed a sortable timestamp).
fn newest_backup(cx: &Context, path: &Path) -> Option<(PathBuf, Vec<u8>)> {
    let dir = path.parent()?;
    let name = path.file_name()?.to_string_lossy().into_owned();
    let mut candidates: Vec<(String, PathBuf)> = Vec::new();
    let prefix = format!("{name}.pre-migrate-");
    for entry in cx.list_dir(dir) {
        if let Some(stamp) = entry.strip_prefix(&prefix) {
            candidates.push((stamp.to_string(), dir.join(&entry)));
        }
    }
    let backups = cx.state_path("backups");
    for snapshot in cx.list_dir(&backups) {
        candidates.push((snapshot.clone(), backups.join(&snapshot).join("jobs.json")));
    }
    candidates.sort();
    candidates.into_iter().rev().find_map(|(_, candidate)| {
        let state = cx.file(&candidate);
        let bytes = state.loaded()?.bytes.clone();
        let mut tape = Tape::new();
        json::parse(&bytes, &mut tape).ok()?;
        let is_array = tape.root().kind() == Kind::Array;
        (is_array && !bytes.starts_with(BOM)).then(|| (candidate.clone(), bytes.to_vec()))
    })
}

/// Both sides of a git conflict, merged by slug: every job of ours, then theirs' jobs whose slug
/// ours lacks. `None` when either side does not parse as an array.
fn merge_conflict(bytes: &[u8]) -> Option<Vec<u8>> {
    let text = std::str::from_utf8(bytes).ok()?;
    let (ours, theirs) = shared::conflict_sides(text)?;
    let ours_entries = array_entries(ours.as_bytes())?;
    let theirs_entries = array_entries(theirs.as_bytes())?;
    let mut seen: std::collections::HashSet<String> = ours_entries
        .iter()
        .filter_map(|(slug, _)| slug.clone())
        .collect();
    let mut merged: Vec<String> = ours_entries.into_iter().map(|(_, raw)| raw).collect();
    for (slug, raw) in theirs_entries {
        let new = slug.as_ref().is_none_or(|s| seen.insert(s.clone()));
        if new && !merged.contains(&raw) {
            merged.push(raw);
        }
    }
    let mut out = if merged.is_empty() {
        "[]".to_string()
    } else {
        format!("[\n  {}\n]", merged.join(",\n  "))
    };
    if text.ends_with('\n') {
        out.push('\n');
    }
    Some(out.into_bytes())
}

/// (slug, raw text) of each element of a JSON array document.
fn array_entries(bytes: &[u8]) -> Option<Vec<(Option<String>, String)>> {
    let mut tape = Tape::new();
    json::parse(bytes, &mut tape).ok()?;
    let root = tape.root();
    if root.kind() != Kind::Array {
        return None;
    }
    Some(
        root.elements()
            .map(|e| {
                let slug = e
                    .get("slug")
                    .and_then(|s| s.as_str())
                    .map(|s| s.into_owned());
                (slug, String::from_utf8_lossy(e.raw()).into_owned())
            })
            .collect(),
    )
}

/// `jobs.json.<pid>.<random>.tmp` files left by an interrupted `instar job add`.
/// `main_parses`: whether JSON.parse accepts the jobs file itself (only then is a temp file
/// certainly not the last good copy).
pub fn stray_temp_files(cx: &Context, path: &Path, main_parses: bool, sink: &mut Sink) {
    let (Some(dir), Some(name)) = (path.parent(), path.file_name()) else {
        return;
    };
    let name = name.to_string_lossy();
    for entry in cx.list_dir(dir) {
        let Some(pid) = temp_file_pid(&name, &entry) else {
            continue;
        };
        let temp = dir.join(&entry);
        let alive = cx.process_alive(pid);
        let mut diagnostic = Diagnostic::new(
            &STRAY_TEMP_FILE,
            Effect::None,
            format!(
                "{} is a leftover temp file of an interrupted jobs write",
                cx.display_path(&temp)
            ),
        )
        .severity(Severity::Info)
        .file(&temp);
        diagnostic = if alive {
            diagnostic.help(format!(
                "process {pid} still runs: it may be writing the file right now"
            ))
        } else if !main_parses {
            diagnostic.help("the jobs file itself does not parse: this temp file may be the only good copy; compare before removing")
        } else {
            diagnostic.fix(Some(Fix::safe(
                "move the temp file to the doctor's quarantine",
                vec![Change::Quarantine { file: temp }],
            )))
        };
        sink.push(diagnostic);
    }
}

/// The writer's pid when `entry` is `<name>.<pid>.<random>.tmp`.
fn temp_file_pid(name: &str, entry: &str) -> Option<u32> {
    let rest = entry.strip_prefix(name)?.strip_prefix('.')?;
    let rest = rest.strip_suffix(".tmp")?;
    let (pid, random) = rest.split_once('.')?;
    if random.is_empty() || random.contains('.') {
        return None;
    }
    pid.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn temp_file_names() {
        assert_eq!(
            temp_file_pid("jobs.json", "jobs.json.123.abc.tmp"),
            Some(123)
        );
        assert_eq!(temp_file_pid("jobs.json", "jobs.json.tmp"), None);
        assert_eq!(temp_file_pid("jobs.json", "jobs.json.x.abc.tmp"), None);
        assert_eq!(temp_file_pid("jobs.json", "other.json.1.a.tmp"), None);
    }

    #[test]
    fn conflict_merge_keeps_ours_and_adds_their_new_jobs() {
        let text = "[\n<<<<<<< HEAD\n  {\"slug\": \"a\", \"v\": 1},\n  {\"slug\": \"b\"}\n=======\n  {\"slug\": \"a\", \"v\": 2},\n  {\"slug\": \"c\"}\n>>>>>>> theirs\n]\n";
        let merged = String::from_utf8(merge_conflict(text.as_bytes()).unwrap()).unwrap();
        assert_eq!(
            merged,
            "[\n  {\"slug\": \"a\", \"v\": 1},\n  {\"slug\": \"b\"},\n  {\"slug\": \"c\"}\n]\n"
        );
    }
}

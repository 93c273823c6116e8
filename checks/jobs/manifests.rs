//! HEAD's per-slug manifests, `jobs/schedule/<slug>.json` next to the jobs file (spec §3.8),
//! loaded from instar 0.28.98 on.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use crate::cron;
use crate::diag::{Diagnostic, Effect, Sink};
use crate::engine::Context;
use crate::fix::{Change, Fix};
use crate::json::{self, Kind, Value};
use crate::version::boundary;

use super::codes::*;
use super::entry::{js_type, shown};

const ORIGINS: &[&str] = &["instar", "user"];
const PRIORITIES: &[&str] = &["critical", "high", "medium", "low"];
const MANIFEST_EXECUTE_TYPES: &[&str] = &["skill", "prompt", "script", "agentmd"];
/// jobMigrate's defaults for the fields the early manifests lacked.
const DEFAULT_PRIORITY: &str = "medium";
const DEFAULT_DURATION_MINUTES: u32 = 5;

fn schedule_dir(jobs_path: &Path) -> Option<PathBuf> {
    Some(jobs_path.parent()?.join("jobs").join("schedule"))
}

fn manifest_files(cx: &Context, jobs_path: &Path) -> Vec<PathBuf> {
    if cx.version < boundary::JOB_MANIFESTS {
        return Vec::new();
    }
    let Some(dir) = schedule_dir(jobs_path) else {
        return Vec::new();
    };
    cx.list_dir(&dir)
        .into_iter()
        .filter(|name| name.ends_with(".json") && !name.starts_with('.'))
        .map(|name| dir.join(name))
        .collect()
}

/// What the manifests mean for jobs.json.
#[derive(Default)]
pub struct Manifests {
    /// The version loads manifests and some exist (a missing jobs.json is then no news).
    pub present: bool,
    /// Slugs of the manifests instar would load: they shadow jobs.json entries of the same slug.
    pub valid_slugs: HashSet<String>,
}

/// Diagnoses every manifest. Runs before the jobs.json pass, which reports the entries the
/// valid ones shadow, so jobs.json is parsed once.
pub fn check(cx: &Context, jobs_path: &Path, sink: &mut Sink) -> Manifests {
    let files = manifest_files(cx, jobs_path);
    Manifests {
        present: !files.is_empty(),
        valid_slugs: files
            .into_iter()
            .filter_map(|path| check_one(cx, jobs_path, &path, sink))
            .collect(),
    }
}

/// Diagnoses one manifest; returns its slug when instar would load it.
fn check_one(cx: &Context, jobs_path: &Path, path: &Path, sink: &mut Sink) -> Option<String> {
    let doc = cx.json(path)?;
    let tape = doc.tape();
    let root = match (&doc.parsed, tape.as_ref().map(|t| t.root())) {
        (Ok(outcome), Some(root)) if !outcome.bom => root,
        (Ok(_), _) => {
            sink.push(invalid(
                path,
                "starts with a byte order mark, which JSON.parse rejects".into(),
                0..3,
            ));
            return None;
        }
        (Err(err), _) => {
            sink.push(invalid(
                path,
                format!("is not valid JSON: {}", err.message),
                err.span.clone(),
            ));
            return None;
        }
    };
    if root.kind() != Kind::Object {
        sink.push(invalid(
            path,
            format!("must be an object; got {}", js_type(&root)),
            root.span(),
        ));
        return None;
    }
    let mut problems: Vec<(String, std::ops::Range<usize>)> = Vec::new();
    let opening = root.span().start..root.span().start + 1;
    let mut require =
        |field: &str, ok: &dyn Fn(&Value<'_>) -> bool, rule: &str| match root.get(field) {
            None => problems.push((format!("\"{field}\" is required ({rule})"), opening.clone())),
            Some(v) if !ok(&v) => problems.push((
                format!("\"{field}\" must be {rule}; got {}", shown(&v)),
                v.span(),
            )),
            Some(_) => {}
        };
    let slug_ok = |v: &Value<'_>| {
        v.as_str().is_some_and(|s| {
            (1..=100).contains(&s.len())
                && s.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
        })
    };
    let now = cron::now_from_epoch(cx.now);
    let cron_ok = |v: &Value<'_>| v.as_str().is_some_and(|s| cron::parse(&s, &now).is_ok());
    let one_of = |allowed: &'static [&'static str]| {
        move |v: &Value<'_>| {
            v.kind() == Kind::String && v.as_str().is_some_and(|s| allowed.contains(&&*s))
        }
    };
    require("slug", &slug_ok, "a slug matching ^[a-zA-Z0-9_-]{1,100}$");
    require("schedule", &cron_ok, "a croner 8.1.2 pattern");
    require("origin", &one_of(ORIGINS), "instar or user");
    require(
        "priority",
        &one_of(PRIORITIES),
        "critical, high, medium or low",
    );
    require(
        "expectedDurationMinutes",
        &|v: &Value<'_>| v.as_f64().is_some_and(|n| n.is_finite() && n > 0.0),
        "a finite number above 0",
    );
    require(
        "enabled",
        &|v: &Value<'_>| v.kind() == Kind::Bool,
        "a boolean",
    );
    require(
        "execute",
        &|v: &Value<'_>| v.kind() == Kind::Object,
        "an object",
    );
    if let Some(execute) = root.get("execute").filter(|e| e.kind() == Kind::Object) {
        let kind = execute
            .get("type")
            .and_then(|t| t.as_str())
            .map(|t| t.into_owned());
        match kind.as_deref() {
            Some(t) if MANIFEST_EXECUTE_TYPES.contains(&t) => {
                let value = execute.get("value");
                if t == "agentmd" {
                    if let Some(v) = value {
                        problems.push(("execute.value must be absent for agentmd (the body lives in the .md file)".into(), v.span()));
                    }
                } else if !value.is_some_and(|v| {
                    v.kind() == Kind::String
                        && !json::js_trim(&v.as_str().unwrap_or_default()).is_empty()
                }) {
                    problems.push(("execute.value is required".into(), execute.span()));
                }
            }
            _ => problems.push((
                format!(
                    "execute.type must be one of {}",
                    MANIFEST_EXECUTE_TYPES.join(", ")
                ),
                execute
                    .get("type")
                    .map(|t| t.span())
                    .unwrap_or(execute.span()),
            )),
        }
    }
    if let Some(version) = root.get("manifestVersion") {
        let ok = version
            .as_f64()
            .is_some_and(|n| n >= 0.0 && n.fract() == 0.0);
        if !ok {
            problems.push((
                "manifestVersion must be an integer >= 0".into(),
                version.span(),
            ));
        }
    }

    let missing_defaults =
        root.get("priority").is_none() || root.get("expectedDurationMinutes").is_none();
    let count = problems.len();
    for (message, span) in problems {
        let mut diagnostic = invalid(path, message, span);
        if missing_defaults && count <= 2 {
            diagnostic = diagnostic.fix(add_defaults_fix(path, &doc.bytes, root));
        }
        sink.push(diagnostic);
    }
    if count > 0 {
        return None;
    }

    let slug = root.get("slug")?.as_str()?.into_owned();
    let origin = root.get("origin")?.as_str()?.into_owned();
    let is_agentmd = root
        .get("execute")
        .and_then(|e| e.get("type"))
        .is_some_and(|t| t.raw() == b"\"agentmd\"");
    if is_agentmd {
        let body = jobs_path
            .parent()?
            .join("jobs")
            .join(&origin)
            .join(format!("{slug}.md"));
        let body_ok = std::fs::symlink_metadata(&body).is_ok_and(|m| m.file_type().is_file());
        if !body_ok {
            sink.push(
                Diagnostic::new(
                    &MANIFEST_BODY_MISSING,
                    Effect::Skipped,
                    format!(
                        "manifest {slug:?} is an agentmd job but {} is missing (or a symlink)",
                        cx.display_path(&body)
                    ),
                )
                .file(path)
                .fix(Some(Fix::manual("regenerate it with `instar job migrate`"))),
            );
            return None;
        }
    }
    Some(slug)
}

fn invalid(path: &Path, message: String, span: std::ops::Range<usize>) -> Diagnostic {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    Diagnostic::new(
        &MANIFEST_INVALID,
        Effect::Skipped,
        format!("manifest {name}: {message}"),
    )
    .file(path)
    .at(span, "rejected by validateManifest")
    .help("instar logs a manifest-invalid problem and skips this job")
}

/// Inserts jobMigrate's defaults for the missing fields after the last member, in the file's own
/// indentation.
fn add_defaults_fix(path: &Path, bytes: &[u8], root: Value<'_>) -> Option<Fix> {
    let last = root.members().last()?.1;
    let indent = last
        .key_span()
        .and_then(|k| {
            let line_start = bytes[..k.start]
                .iter()
                .rposition(|b| *b == b'\n')
                .map_or(0, |p| p + 1);
            std::str::from_utf8(&bytes[line_start..k.start])
                .ok()
                .map(str::to_string)
        })
        .unwrap_or_else(|| "  ".into());
    let mut insertion = String::new();
    if root.get("priority").is_none() {
        insertion.push_str(&format!(",\n{indent}\"priority\": \"{DEFAULT_PRIORITY}\""));
    }
    if root.get("expectedDurationMinutes").is_none() {
        insertion.push_str(&format!(
            ",\n{indent}\"expectedDurationMinutes\": {DEFAULT_DURATION_MINUTES}"
        ));
    }
    let at = last.span().end;
    Some(Fix::unsafe_(
        "add jobMigrate's defaults (priority medium, expectedDurationMinutes 5)",
        vec![Change::Edit {
            file: path.to_path_buf(),
            span: at..at,
            replacement: insertion,
        }],
    ))
}

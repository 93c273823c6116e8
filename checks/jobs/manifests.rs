//! Per-slug manifests, `jobs/schedule/<slug>.json` next to the jobs file, and the markdown bodies
//! of agentmd ones (spec §3.8, §3.9), loaded from instar 0.28.98 on. Each version-dependent rule
//! asks its boundary in `crate::version`.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

use crate::cron;
use crate::diag::{Diagnostic, Effect, Label, Sink};
use crate::engine::{Context, JsonDoc};
use crate::fix::{Change, Fix};
use crate::json::{self, Kind, Value};
use crate::source::FileState;
use crate::version::boundary;

use super::super::shared;
use super::agentmd;
use super::codes::*;
use super::entry::{js_type, shown};

const ORIGINS: &[&str] = &["instar", "user"];
const PRIORITIES: &[&str] = &["critical", "high", "medium", "low"];
const MANIFEST_EXECUTE_TYPES: &[&str] = &["skill", "prompt", "script", "agentmd"];
const MODELS: &[&str] = &["opus", "sonnet", "haiku"];
const MCP_ACCESS: &[&str] = &["project", "none"];
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
    // instar keeps every directory entry whose name ends in `.json`: dotfiles (`.draft.json`) and
    // directories too (spec §3.9, probed); reading a directory fails and skips that one entry.
    cx.list_dir(&dir)
        .into_iter()
        .filter(|name| name.ends_with(".json"))
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
    let valid: Vec<Valid> = files
        .iter()
        .filter_map(|path| check_one(cx, path, sink))
        .collect();
    // instar's order: validate every file, settle slug collisions among the valid ones, then load
    // the bodies of the survivors; only a job that loads replaces a jobs.json entry.
    let valid_slugs = resolve_collisions(valid, sink)
        .into_iter()
        .filter(|m| body_loads(cx, jobs_path, m, sink))
        .map(|m| m.slug)
        .collect();
    Manifests {
        present: !files.is_empty(),
        valid_slugs,
    }
}

/// A manifest validateManifest accepts.
struct Valid {
    path: PathBuf,
    slug: String,
    slug_span: std::ops::Range<usize>,
    origin: String,
    enabled: bool,
    agentmd: bool,
}

/// Groups valid manifests by case-folded slug. A group of one loads; in a larger group, a single
/// `origin:"instar"` manifest among user ones wins and the rest are skipped; any other group is
/// skipped whole (spec §3.9, probed).
fn resolve_collisions(valid: Vec<Valid>, sink: &mut Sink) -> Vec<Valid> {
    let mut survivors = Vec::new();
    for mut group in group_by_slug(valid) {
        if group.len() == 1 {
            survivors.extend(group);
            continue;
        }
        let instar = group.iter().filter(|m| m.origin == "instar").count();
        let winner = (instar == 1).then(|| {
            let at = group.iter().position(|m| m.origin == "instar").unwrap_or(0);
            group.remove(at)
        });
        for loser in &group {
            sink.push(collision(loser, winner.as_ref(), &group));
        }
        survivors.extend(winner);
    }
    survivors
}

/// The manifests in groups of one case-folded slug, in the order each slug first appears.
fn group_by_slug(valid: Vec<Valid>) -> Vec<Vec<Valid>> {
    let mut groups: Vec<Vec<Valid>> = Vec::new();
    let mut index: HashMap<String, usize> = HashMap::new();
    for manifest in valid {
        let key = manifest.slug.to_lowercase();
        match index.get(&key) {
            Some(&at) => groups[at].push(manifest),
            None => {
                index.insert(key, groups.len());
                groups.push(vec![manifest]);
            }
        }
    }
    groups
}

/// The finding on a manifest instar skips: its slug collides with the others of its group
/// (`losers`, which holds it) and, when there is one, the instar manifest that wins.
fn collision(loser: &Valid, winner: Option<&Valid>, losers: &[Valid]) -> Diagnostic {
    let others: Vec<&Valid> = winner
        .into_iter()
        .chain(losers.iter())
        .filter(|m| m.path != loser.path)
        .collect();
    let exact = others.iter().any(|m| m.slug == loser.slug);
    let message = format!(
        "manifest {}: slug {:?} {} {}",
        file_name(&loser.path),
        loser.slug,
        if exact {
            "is also declared by"
        } else {
            "collides, ignoring case, with"
        },
        others
            .iter()
            .map(|m| format!("{} ({:?})", file_name(&m.path), m.slug))
            .collect::<Vec<_>>()
            .join(", ")
    );
    let help = match winner {
        Some(w) => format!(
            "instar loads {} (origin \"instar\" wins over origin \"user\") and skips this one",
            file_name(&w.path)
        ),
        None => {
            let names: Vec<String> = losers.iter().map(|m| file_name(&m.path)).collect();
            format!(
                "no single origin:\"instar\" manifest wins, so instar skips all of {}",
                names.join(", ")
            )
        }
    };
    let mut diagnostic = Diagnostic::new(&MANIFEST_SLUG_COLLISION, Effect::Skipped, message)
        .file(&loser.path)
        .at(loser.slug_span.clone(), "colliding slug")
        .pointer("/slug")
        .help(help)
        .fix(Some(Fix::manual(
            "rename the slug in all but one manifest (and its .md body), or delete the copy",
        )));
    for other in others {
        diagnostic = diagnostic.secondary(Label {
            file: other.path.clone(),
            span: Some(other.slug_span.clone()),
            message: "same slug here".into(),
        });
    }
    diagnostic
}

fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// Whether a surviving manifest becomes a job: an agentmd one needs its markdown body, unless it
/// is disabled at a version that loads disabled manifests without it.
fn body_loads(cx: &Context, jobs_path: &Path, m: &Valid, sink: &mut Sink) -> bool {
    if !m.agentmd || (!m.enabled && cx.version >= boundary::AGENTMD_DISABLED_WITHOUT_BODY) {
        return true;
    }
    let Some(root) = jobs_path.parent() else {
        return false;
    };
    let body = root
        .join("jobs")
        .join(&m.origin)
        .join(format!("{}.md", m.slug));
    let missing = |why: &str| {
        Diagnostic::new(
            &MANIFEST_BODY_MISSING,
            Effect::Skipped,
            format!(
                "manifest {:?} is an agentmd job but {} {why}",
                m.slug,
                cx.display_path(&body)
            ),
        )
        .file(&m.path)
        .fix(Some(Fix::manual("regenerate it with `instar job migrate`")))
    };
    if cx.is_symlink(&body) {
        sink.push(missing("is a symlink, which instar refuses to read"));
        return false;
    }
    let state = cx.file(&body);
    let loaded = match &*state {
        FileState::Present(loaded) => loaded,
        FileState::Missing => {
            sink.push(missing("is missing"));
            return false;
        }
        other => {
            sink.push(missing(&other.describe()));
            return false;
        }
    };
    match agentmd::verdict(&loaded.bytes, cx.version) {
        None => true,
        Some(refusal) => {
            let mut diagnostic = Diagnostic::new(
                &MANIFEST_BODY_INVALID,
                Effect::Skipped,
                format!("agentmd body of {:?} {}", m.slug, refusal.message),
            )
            .file(&body)
            .help(format!(
                "instar {} logs an agentmd problem and skips this job",
                cx.version
            ))
            .secondary(Label {
                file: m.path.clone(),
                span: Some(m.slug_span.clone()),
                message: "the manifest of this body".into(),
            })
            .fix(Some(Fix::manual(
                "edit the frontmatter; the manifest, not the frontmatter, carries the schedule",
            )));
            if let Some(span) = refusal.span {
                diagnostic = diagnostic.at(span, "refused by the agentmd loader");
            }
            sink.push(diagnostic);
            false
        }
    }
}

/// Diagnoses one manifest; returns it when validateManifest accepts it.
fn check_one(cx: &Context, path: &Path, sink: &mut Sink) -> Option<Valid> {
    let state = cx.file(path);
    if state.loaded().is_none() {
        // readFileSync throws (EISDIR for a directory named *.json); instar skips the entry.
        sink.push(
            Diagnostic::new(
                &MANIFEST_INVALID,
                Effect::Skipped,
                format!("manifest {}: {}", file_name(path), state.describe()),
            )
            .file(path)
            .help("instar fails to read it, logs a manifest-invalid problem and skips it"),
        );
        return None;
    }
    let doc = cx.json(path)?;
    let root = object_root(&doc, path, sink)?;
    let mut problems = Vec::new();
    required_fields(cx, root, &mut problems);
    optional_fields(cx, root, &mut problems);

    let missing_defaults =
        root.get("priority").is_none() || root.get("expectedDurationMinutes").is_none();
    let count = problems.len();
    for (message, span) in problems {
        let mut diagnostic = invalid(path, message, span);
        if missing_defaults && count <= 2 {
            diagnostic = diagnostic.fix(add_defaults_fix(path, doc.bytes(), root));
        }
        sink.push(diagnostic);
    }
    if count > 0 {
        return None;
    }
    valid(path, root)
}

/// What validateManifest refuses in one manifest: a message and where it points.
type Problems = Vec<(String, std::ops::Range<usize>)>;

/// The manifest's root when JSON.parse accepts the file and it is an object; otherwise the
/// finding that says why not.
fn object_root<'d>(doc: &'d JsonDoc, path: &Path, sink: &mut Sink) -> Option<Value<'d>> {
    let root = match (&doc.parsed, doc.tape().map(|t| t.root())) {
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
    Some(root)
}

/// A string among `allowed` (and nothing else: no number, no boxed string).
fn one_of(allowed: &'static [&'static str]) -> impl Fn(&Value<'_>) -> bool {
    move |v: &Value<'_>| {
        v.kind() == Kind::String && v.as_str().is_some_and(|s| allowed.contains(&&*s))
    }
}

/// The fields every manifest must have, in validateManifest's order, and its `execute` rules.
fn required_fields(cx: &Context, root: Value<'_>, problems: &mut Problems) {
    let opening = shared::opening(root);
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
        execute_fields(execute, problems);
    }
}

/// `execute`: a known type, a value unless the body lives in an .md file, string args.
fn execute_fields(execute: Value<'_>, problems: &mut Problems) {
    let kind = execute
        .get("type")
        .and_then(|t| t.as_str())
        .map(|t| t.into_owned());
    match kind.as_deref() {
        Some(t) if MANIFEST_EXECUTE_TYPES.contains(&t) => {
            let value = execute.get("value");
            if t == "agentmd" {
                if let Some(v) = value {
                    problems.push((
                        "execute.value must be absent for agentmd (the body lives in the .md file)"
                            .into(),
                        v.span(),
                    ));
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
    if let Some(args) = execute.get("args").filter(|a| a.kind() != Kind::String) {
        problems.push(("execute.args must be a string".into(), args.span()));
    }
}

/// The fields a manifest may have, each checked only when present (and only at the versions
/// that validate it).
fn optional_fields(cx: &Context, root: Value<'_>, problems: &mut Problems) {
    let mut optional = |field: &str, ok: &dyn Fn(&Value<'_>) -> bool, rule: &str| {
        if let Some(v) = root.get(field).filter(|v| !ok(v)) {
            problems.push((
                format!("\"{field}\" must be {rule}; got {}", shown(&v)),
                v.span(),
            ));
        }
    };
    let is_string = |v: &Value<'_>| v.kind() == Kind::String;
    let is_bool = |v: &Value<'_>| v.kind() == Kind::Bool;
    optional("model", &one_of(MODELS), "opus, sonnet or haiku");
    optional("unrestrictedTools", &is_bool, "a boolean");
    optional(
        "tags",
        &|v: &Value<'_>| v.kind() == Kind::Array && v.elements().all(|t| t.kind() == Kind::String),
        "an array of strings",
    );
    // JSON.parse turns 1e999 into Infinity, which Number.isFinite refuses.
    optional(
        "topicId",
        &|v: &Value<'_>| v.as_f64().is_some_and(f64::is_finite),
        "a finite number",
    );
    optional(
        "telegramNotify",
        &|v: &Value<'_>| v.kind() == Kind::Bool || v.raw() == b"\"on-alert\"",
        "true, false or \"on-alert\"",
    );
    optional(
        "machines",
        &|v: &Value<'_>| {
            v.kind() == Kind::Array
                && v.elements().all(|m| {
                    m.kind() == Kind::String
                        && !json::js_trim(&m.as_str().unwrap_or_default()).is_empty()
                })
        },
        "an array of non-empty strings",
    );
    optional("gate", &is_string, "a string (a shell command)");
    // A fraction loads at v0.28.98 and v0.28.99 (spec §3.9, probed).
    if cx.version >= boundary::MANIFEST_VERSION_VALIDATED {
        optional(
            "manifestVersion",
            &|v: &Value<'_>| {
                v.as_f64()
                    .is_some_and(|n| n.is_finite() && n >= 0.0 && n.fract() == 0.0)
            },
            "a non-negative integer",
        );
    }
    if cx.version >= boundary::MANIFEST_MCP_ACCESS_VALIDATED {
        optional("mcpAccess", &one_of(MCP_ACCESS), "project or none");
    }
}

/// The manifest as the rest of the check needs it, once validateManifest accepts it.
fn valid(path: &Path, root: Value<'_>) -> Option<Valid> {
    let slug_value = root.get("slug")?;
    let is_agentmd = root
        .get("execute")
        .and_then(|e| e.get("type"))
        .is_some_and(|t| t.raw() == b"\"agentmd\"");
    Some(Valid {
        path: path.to_path_buf(),
        slug: slug_value.as_str()?.into_owned(),
        slug_span: slug_value.span(),
        origin: root.get("origin")?.as_str()?.into_owned(),
        enabled: root.get("enabled")?.as_bool()?,
        agentmd: is_agentmd,
    })
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
    .at(span, "rejected by instar's manifest check")
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
            file: path.to_path_buf().into(),
            span: at..at,
            replacement: insertion.into(),
        }],
    ))
}

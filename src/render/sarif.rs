//! `--format sarif`: SARIF 2.1.0 for GitHub code scanning and other SARIF consumers.
//!
//! Rules come from the code catalogue (so a rule's help is its `explain` text), results carry
//! regions from our spans, fingerprints that survive unrelated edits, and fixes as
//! artifactChanges where a fix is a set of byte-range edits.

use serde_json::{json, Value};

use crate::diag::{Diagnostic, Severity};
use crate::engine::{self, Context};
use crate::fix::Change;
use crate::redact;
use crate::write::sha256_hex;

use super::json::{DiagnosticOut, Document};
use super::paths::RepoPaths;
use super::Sources;

const SARIF_SCHEMA: &str = "https://json.schemastore.org/sarif-2.1.0.json";
const SRCROOT: &str = "%SRCROOT%";

fn level(severity: &str) -> &'static str {
    match severity {
        "error" => "error",
        "warning" => "warning",
        _ => "note",
    }
}

fn level_of(severity: Severity) -> &'static str {
    level(severity.as_str())
}

/// Stable across runs and unrelated edits: the code, the file and where in the JSON the finding
/// is (or its message when it has no pointer), never line numbers.
fn fingerprint(d: &DiagnosticOut) -> String {
    let anchor = d.pointer.clone().unwrap_or_else(|| d.message.clone());
    let text = format!(
        "{}\u{0}{}\u{0}{}",
        d.code,
        d.file.as_deref().unwrap_or(""),
        anchor
    );
    sha256_hex(text.as_bytes())[..32].to_string()
}

fn rules() -> Vec<Value> {
    engine::catalogue()
        .codes()
        .iter()
        .map(|code| {
            json!({
                "id": code.id,
                "name": code.id.replace('/', "-"),
                "shortDescription": { "text": code.summary },
                "fullDescription": { "text": code.summary },
                "help": { "text": code.explain },
                "defaultConfiguration": { "level": level_of(code.severity) },
                "properties": {
                    "fix": code.fix.map(|f| f.as_str()).unwrap_or("none"),
                    "tags": [code.check()],
                },
            })
        })
        .collect()
}

/// The fix as SARIF artifactChanges, when it is made of edits whose text can be shown (no
/// secret would be revealed by the inserted text).
fn sarif_fix(
    cx: &Context,
    d: &Diagnostic,
    repo: &RepoPaths,
    sources: &mut Sources,
) -> Option<Value> {
    let fix = d.fix.as_ref()?;
    if fix.changes().is_empty() {
        return None;
    }
    let mut changes = Vec::new();
    for change in fix.changes() {
        match change {
            Change::Edit {
                file,
                span,
                replacement,
            } => {
                // An edit inside or against a secret would show it as its deleted region's
                // replacement, whatever the replacement text itself says.
                let touches_secret = sources.get(cx, file).is_some_and(|(_, secrets)| {
                    secrets
                        .iter()
                        .any(|s| s.start <= span.end && span.start <= s.end)
                });
                if touches_secret || redact::redact_text(replacement) != *replacement {
                    return None;
                }
                changes.push(json!({
                    "artifactLocation": { "uri": uri_path(&repo.file(&cx.display_path(file))), "uriBaseId": SRCROOT },
                    "replacements": [{
                        "deletedRegion": { "byteOffset": span.start, "byteLength": span.len() },
                        "insertedContent": { "text": replacement },
                    }],
                }));
            }
            Change::QuarantineData { .. } => {}
            _ => return None,
        }
    }
    (!changes.is_empty()).then(|| {
        json!([{
            "description": { "text": sources.scrub(cx, d, fix.title(), true) },
            "artifactChanges": changes,
        }])
    })
}

/// A path as a URI path: every byte but unreserved characters and `/` percent-encoded, so a
/// folder with a space or a `#` still makes a valid URI.
fn uri_path(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    for b in path.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~' | b'/') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Each finding's fix as SARIF, in the document's order (`render` takes them precomputed so that
/// a run with no answer, which has no `Context`, renders through the same code).
pub fn fixes(cx: &Context, diagnostics: &[Diagnostic], repo: &RepoPaths) -> Vec<Option<Value>> {
    let mut sources = Sources::default();
    diagnostics
        .iter()
        .map(|d| sarif_fix(cx, d, repo, &mut sources))
        .collect()
}

/// The run's invocation: whether the doctor gave an answer, and if not why. Consumers (code
/// scanning among them) read `executionSuccessful: false` as "this run proves nothing" rather
/// than as "no results, all clear".
fn invocation(doc: &Document) -> Value {
    let mut invocation = json!({
        "executionSuccessful": doc.error.is_none(),
        "exitCode": doc.exit_code,
    });
    if let Some(error) = &doc.error {
        invocation["toolExecutionNotifications"] = json!([{
            "level": "error",
            "message": { "text": error.message },
            "descriptor": { "id": "instar-doctor/failure" },
        }]);
    }
    invocation
}

/// The SARIF log. Locations are relative to the repository root (`repo`, which is `None` only
/// for a run that stopped before finding an agent, and so has no results).
pub fn render(doc: &Document, fixes: &[Option<Value>], repo: Option<&RepoPaths>) -> String {
    let catalogue = engine::catalogue();
    let results: Vec<Value> = doc
        .diagnostics
        .iter()
        .zip(fixes.iter().chain(std::iter::repeat(&None)))
        .map(|(out, fix)| {
            let mut result = json!({
                "ruleId": out.code,
                "ruleIndex": catalogue.index_of(out.code),
                "level": level(out.severity),
                "message": { "text": out.message },
                "partialFingerprints": { "instarDoctor/v1": fingerprint(out) },
                "properties": {
                    "instar_effect": out.instar_effect,
                    "pointer": out.pointer,
                },
            });
            if let Some(file) = &out.file {
                let uri = uri_path(&repo.map(|r| r.file(file)).unwrap_or_else(|| file.clone()));
                let mut physical = json!({
                    "artifactLocation": { "uri": uri, "uriBaseId": SRCROOT },
                });
                if let (Some(start), Some(end), Some(span)) = (&out.start, &out.end, &out.span) {
                    physical["region"] = json!({
                        "startLine": start.line,
                        "startColumn": start.column,
                        "endLine": end.line,
                        "endColumn": end.column.max(if end.line == start.line { start.column } else { 1 }),
                        "byteOffset": span.start,
                        "byteLength": span.end - span.start,
                    });
                }
                result["locations"] = json!([{ "physicalLocation": physical }]);
            }
            if let Some(help) = &out.help {
                result["properties"]["help"] = json!(help);
            }
            if let Some(fixes) = fix {
                result["fixes"] = fixes.clone();
            }
            result
        })
        .collect();
    let mut sarif = json!({
        "$schema": SARIF_SCHEMA,
        "version": "2.1.0",
        "runs": [{
            "tool": { "driver": {
                "name": "instar-doctor",
                "version": env!("CARGO_PKG_VERSION"),
                "semanticVersion": env!("CARGO_PKG_VERSION"),
                "informationUri": "https://github.com/JKHeadley/instar",
                "rules": rules(),
            }},
            "invocations": [invocation(doc)],
            "columnKind": "unicodeCodePoints",
            "results": results,
            "properties": {
                "instar_version": doc.instar_version,
                "exit_code": doc.exit_code,
            },
        }],
    });
    if let Some(repo) = repo {
        let root = repo.root().to_string_lossy();
        let root = format!("file://{}/", uri_path(root.trim_end_matches('/')));
        sarif["runs"][0]["originalUriBaseIds"] = json!({ SRCROOT: { "uri": root } });
    }
    let mut text = serde_json::to_string_pretty(&sarif).unwrap_or_default();
    text.push('\n');
    text
}

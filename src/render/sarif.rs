//! `--format sarif`: SARIF 2.1.0 for GitHub code scanning and other SARIF consumers.
//!
//! Rules come from the code catalogue (so a rule's help is its `explain` text), results carry
//! regions from our spans, fingerprints that survive unrelated edits, and fixes as
//! artifactChanges where a fix is a set of byte-range edits.

use std::cell::RefCell;
use std::io::{self, Write};

use serde::ser::{SerializeSeq, Serializer};
use serde::Serialize;
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
    let anchor = d.pointer.as_deref().unwrap_or(&d.message);
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
                // The secrets are sorted and disjoint: the first that does not end before the
                // edit is the only one that may touch it, found by bisection rather than by
                // reading every secret of the file for every fix (issue #11).
                let touches_secret = sources.get(cx, file).is_some_and(|(_, secrets)| {
                    let first = secrets.partition_point(|s| s.end < span.start);
                    secrets.get(first).is_some_and(|s| s.start <= span.end)
                });
                if touches_secret || redact::redact_text(replacement) != *replacement {
                    return None;
                }
                changes.push(json!({
                    "artifactLocation": { "uri": uri_path(&repo.file(&sources.display(cx, file))), "uriBaseId": SRCROOT },
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
            "description": { "text": fix.title() },
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

/// The SARIF log, written field by field in the order consumers and snapshots know; its
/// results are rendered one finding at a time as they are written (issue #11).
#[derive(Serialize)]
struct Log<'d> {
    #[serde(rename = "$schema")]
    schema: &'static str,
    version: &'static str,
    runs: [Run<'d>; 1],
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Run<'d> {
    tool: Value,
    invocations: [Value; 1],
    column_kind: &'static str,
    results: Results<'d>,
    properties: RunProperties<'d>,
    #[serde(skip_serializing_if = "Option::is_none")]
    original_uri_base_ids: Option<Value>,
}

#[derive(Serialize)]
struct RunProperties<'d> {
    instar_version: &'d Option<String>,
    exit_code: u8,
}

/// The document's findings as SARIF results, with their fixes when the run is known.
struct Results<'d> {
    doc: &'d Document<'d>,
    repo: Option<&'d RepoPaths>,
    /// For the fixes' redaction, computed once per file per render.
    sources: RefCell<Sources>,
}

#[derive(Serialize)]
struct Text<'o> {
    text: &'o str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct SarifResult<'o> {
    rule_id: &'static str,
    rule_index: Option<usize>,
    level: &'static str,
    message: Text<'o>,
    partial_fingerprints: Fingerprints,
    properties: ResultProperties<'o>,
    #[serde(skip_serializing_if = "Option::is_none")]
    locations: Option<[Location; 1]>,
    #[serde(skip_serializing_if = "Option::is_none")]
    fixes: Option<Value>,
}

#[derive(Serialize)]
struct Fingerprints {
    #[serde(rename = "instarDoctor/v1")]
    v1: String,
}

#[derive(Serialize)]
struct ResultProperties<'o> {
    instar_effect: &'static str,
    pointer: &'o Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    help: Option<&'o str>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Location {
    physical_location: PhysicalLocation,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct PhysicalLocation {
    artifact_location: ArtifactLocation,
    #[serde(skip_serializing_if = "Option::is_none")]
    region: Option<Region>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ArtifactLocation {
    uri: String,
    uri_base_id: &'static str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Region {
    start_line: usize,
    start_column: usize,
    end_line: usize,
    end_column: usize,
    byte_offset: usize,
    byte_length: usize,
}

fn location(out: &DiagnosticOut, repo: Option<&RepoPaths>) -> Option<[Location; 1]> {
    let file = out.file.as_ref()?;
    let uri = uri_path(&repo.map(|r| r.file(file)).unwrap_or_else(|| file.clone()));
    let region = match (&out.start, &out.end, &out.span) {
        (Some(start), Some(end), Some(span)) => Some(Region {
            start_line: start.line,
            start_column: start.column,
            end_line: end.line,
            end_column: end.column.max(if end.line == start.line {
                start.column
            } else {
                1
            }),
            byte_offset: span.start,
            byte_length: span.end - span.start,
        }),
        _ => None,
    };
    Some([Location {
        physical_location: PhysicalLocation {
            artifact_location: ArtifactLocation {
                uri,
                uri_base_id: SRCROOT,
            },
            region,
        },
    }])
}

impl Serialize for Results<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let catalogue = engine::catalogue();
        let cx = self.doc.diagnostics.context();
        let mut sources = self.sources.borrow_mut();
        let mut seq = serializer.serialize_seq(Some(self.doc.diagnostics.len()))?;
        self.doc.diagnostics.try_for_each(
            |_| true,
            |d, out| {
                let fixes = match (cx, self.repo) {
                    (Some(cx), Some(repo)) => sarif_fix(cx, d, repo, &mut sources),
                    _ => None,
                };
                seq.serialize_element(&SarifResult {
                    rule_id: out.code,
                    rule_index: catalogue.index_of(out.code),
                    level: level(out.severity),
                    message: Text { text: &out.message },
                    partial_fingerprints: Fingerprints {
                        v1: fingerprint(&out),
                    },
                    properties: ResultProperties {
                        instar_effect: out.instar_effect,
                        pointer: &out.pointer,
                        help: out.help.as_deref(),
                    },
                    locations: location(&out, self.repo),
                    fixes,
                })
            },
        )?;
        seq.end()
    }
}

/// The SARIF log, written to `out` as it is rendered. Locations are relative to the repository
/// root (`repo`, which is `None` only for a run that stopped before finding an agent, and so
/// has no results); fixes are given when the document has its run.
pub fn write(doc: &Document, repo: Option<&RepoPaths>, out: &mut dyn Write) -> io::Result<()> {
    let original_uri_base_ids = repo.map(|repo| {
        let root = repo.root().to_string_lossy();
        let root = format!("file://{}/", uri_path(root.trim_end_matches('/')));
        json!({ SRCROOT: { "uri": root } })
    });
    let log = Log {
        schema: SARIF_SCHEMA,
        version: "2.1.0",
        runs: [Run {
            tool: json!({ "driver": {
                "name": "instar-doctor",
                "version": env!("CARGO_PKG_VERSION"),
                "semanticVersion": env!("CARGO_PKG_VERSION"),
                "informationUri": "https://github.com/JKHeadley/instar",
                "rules": rules(),
            }}),
            invocations: [invocation(doc)],
            column_kind: "unicodeCodePoints",
            results: Results {
                doc,
                repo,
                sources: RefCell::new(Sources::default()),
            },
            properties: RunProperties {
                instar_version: &doc.instar_version,
                exit_code: doc.exit_code,
            },
            original_uri_base_ids,
        }],
    };
    serde_json::to_writer_pretty(&mut *out, &log)?;
    out.write_all(b"\n")
}

/// The SARIF log as text (for `scan`, which cuts it apart).
pub fn render(doc: &Document, repo: Option<&RepoPaths>) -> String {
    let mut text = Vec::new();
    // Writing to memory fails only if serialisation does, which these types never do.
    let _ = write(doc, repo, &mut text);
    String::from_utf8_lossy(&text).into_owned()
}

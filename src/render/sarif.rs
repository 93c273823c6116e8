//! `--format sarif`: SARIF 2.1.0 for GitHub code scanning and other SARIF consumers.
//!
//! Rules come from the code catalogue (so a rule's help is its `explain` text), results carry
//! regions from our spans, fingerprints that survive unrelated edits, and fixes as
//! artifactChanges where a fix is a set of byte-range edits.

use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::ser::{SerializeSeq, Serializer};
use serde::Serialize;
use serde_json::{json, Value};

use crate::diag::{self, Diagnostic, Severity, Span};
use crate::engine::{self, Context};
use crate::fix::Change;
use crate::redact;
use sha2::{Digest, Sha256};

use super::json::{DiagnosticOut, Document};
use super::paths::{LastFile, RepoPaths};

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
/// is (or its message when it has no pointer), never line numbers. The first 128 bits of the
/// SHA-256 of `code \0 file \0 anchor`, in lowercase hex.
fn fingerprint(d: &DiagnosticOut) -> Fingerprint {
    let mut hasher = Sha256::new()
        .chain_update(d.code.as_bytes())
        .chain_update([0])
        .chain_update(d.file.unwrap_or("").as_bytes())
        .chain_update([0]);
    let mut hash = |piece: &str| {
        hasher.update(piece.as_bytes());
        Ok::<(), ()>(())
    };
    let _ = match d.pointer {
        Some(pointer) => pointer.for_each_piece(&mut hash),
        None => d.message.for_each_piece(&mut hash),
    };
    let digest = hasher.finalize();
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut hex = [0u8; 32];
    for (i, b) in digest.iter().take(16).enumerate() {
        hex[2 * i] = HEX[usize::from(b >> 4)];
        hex[2 * i + 1] = HEX[usize::from(b & 15)];
    }
    Fingerprint(hex)
}

/// A fingerprint's 32 hex digits, kept on the stack.
struct Fingerprint([u8; 32]);

impl Serialize for Fingerprint {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        // Hex digits are ASCII.
        serializer.serialize_str(std::str::from_utf8(&self.0).unwrap_or_default())
    }
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
fn sarif_fix<'d>(
    cx: &Context,
    d: &'d Diagnostic,
    repo: &RepoPaths,
    files: &mut FixFiles,
) -> Option<[SarifFix<'d>; 1]> {
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
                let (uri, secrets) = files.get(cx, repo, file);
                // An edit inside or against a secret would show it as its deleted region's
                // replacement, whatever the replacement text itself says.
                // The secrets are sorted and disjoint: the first that does not end before the
                // edit is the only one that may touch it, found by bisection rather than by
                // reading every secret of the file for every fix (issue #11).
                let touches_secret = secrets.is_some_and(|secrets| {
                    let first = secrets.partition_point(|s| s.end < span.start);
                    secrets.get(first).is_some_and(|s| s.start <= span.end)
                });
                if touches_secret
                    || (!replacement.is_empty() && redact::redact_text(replacement) != *replacement)
                {
                    return None;
                }
                changes.push(ArtifactChange {
                    artifact_location: ArtifactLocation {
                        uri: uri.to_string(),
                        uri_base_id: SRCROOT,
                    },
                    replacements: [Replacement {
                        deleted_region: DeletedRegion {
                            byte_offset: span.start,
                            byte_length: span.len(),
                        },
                        inserted_content: Text { text: replacement },
                    }],
                });
            }
            Change::QuarantineData { .. } => {}
            _ => return None,
        }
    }
    (!changes.is_empty()).then(|| {
        [SarifFix {
            description: Text { text: fix.title() },
            artifact_changes: changes,
        }]
    })
}

/// For the files a fix edits: the file's URI from the repository root and its secrets, kept
/// for the last file (a report's fixes come file by file).
#[derive(Default)]
struct FixFiles {
    last: Option<FixFile>,
}

/// A file's path, its URI from the repository root, and its secrets.
type FixFile = (PathBuf, String, Option<Arc<Vec<Span>>>);

impl FixFiles {
    fn get(&mut self, cx: &Context, repo: &RepoPaths, file: &Path) -> (&str, Option<&[Span]>) {
        let known = matches!(&self.last, Some((last, ..)) if last.as_os_str() == file.as_os_str());
        if !known {
            let uri = uri_path(&repo.file(&cx.display_path(file)));
            self.last = Some((file.to_path_buf(), uri, cx.secret_spans(file)));
        }
        match &self.last {
            Some((_, uri, secrets)) => (uri, secrets.as_deref().map(Vec::as_slice)),
            None => ("", None),
        }
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct SarifFix<'d> {
    description: Text<'d>,
    artifact_changes: Vec<ArtifactChange<'d>>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ArtifactChange<'d> {
    artifact_location: ArtifactLocation<String>,
    replacements: [Replacement<'d>; 1],
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Replacement<'d> {
    deleted_region: DeletedRegion,
    inserted_content: Text<'d>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct DeletedRegion {
    byte_offset: usize,
    byte_length: usize,
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
}

#[derive(Serialize)]
struct Text<'o> {
    text: &'o str,
}

/// SARIF's message object around a finding's message, written in its pieces (`diag::Text`).
#[derive(Serialize)]
struct Message<'o> {
    text: &'o diag::Text,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct SarifResult<'o> {
    rule_id: &'static str,
    rule_index: Option<usize>,
    level: &'static str,
    message: Message<'o>,
    partial_fingerprints: Fingerprints,
    properties: ResultProperties<'o>,
    #[serde(skip_serializing_if = "Option::is_none")]
    locations: Option<[Location<'o>; 1]>,
    #[serde(skip_serializing_if = "Option::is_none")]
    fixes: Option<[SarifFix<'o>; 1]>,
}

#[derive(Serialize)]
struct Fingerprints {
    #[serde(rename = "instarDoctor/v1")]
    v1: Fingerprint,
}

#[derive(Serialize)]
struct ResultProperties<'o> {
    instar_effect: &'static str,
    pointer: Option<&'o diag::Pointer>,
    #[serde(skip_serializing_if = "Option::is_none")]
    help: Option<&'o str>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Location<'o> {
    physical_location: PhysicalLocation<'o>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct PhysicalLocation<'o> {
    artifact_location: ArtifactLocation<&'o str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    region: Option<Region>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ArtifactLocation<U> {
    uri: U,
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

/// Where a result is: `uri`, the finding's file from the repository root as a URI, and its
/// region when it has a span.
fn location<'o>(out: &DiagnosticOut, uri: &'o str) -> [Location<'o>; 1] {
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
    [Location {
        physical_location: PhysicalLocation {
            artifact_location: ArtifactLocation {
                uri,
                uri_base_id: SRCROOT,
            },
            region,
        },
    }]
}

impl Serialize for Results<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let catalogue = engine::catalogue();
        let cx = self.doc.diagnostics.context();
        let mut fix_files = FixFiles::default();
        // Each file's URI from the repository root, made once per run of its findings.
        let mut uris = LastFile::new(|file: &str| {
            uri_path(
                &self
                    .repo
                    .map(|r| r.file(file))
                    .unwrap_or_else(|| file.to_string()),
            )
        });
        let mut seq = serializer.serialize_seq(Some(self.doc.diagnostics.len()))?;
        self.doc.diagnostics.try_for_each(
            |_| true,
            |d, out| {
                let fixes = match (cx, self.repo) {
                    (Some(cx), Some(repo)) => sarif_fix(cx, d, repo, &mut fix_files),
                    _ => None,
                };
                seq.serialize_element(&SarifResult {
                    rule_id: out.code,
                    rule_index: catalogue.index_of(out.code),
                    level: level(out.severity),
                    message: Message { text: out.message },
                    partial_fingerprints: Fingerprints {
                        v1: fingerprint(&out),
                    },
                    properties: ResultProperties {
                        instar_effect: out.instar_effect,
                        pointer: out.pointer,
                        help: out.help,
                    },
                    locations: out.file.map(|file| location(&out, uris.get(file))),
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
            results: Results { doc, repo },
            properties: RunProperties {
                instar_version: &doc.instar_version,
                exit_code: doc.exit_code,
            },
            original_uri_base_ids,
        }],
    };
    super::stream::write_pretty(&log, out)
}

/// The SARIF log as text (for `scan`, which cuts it apart).
pub fn render(doc: &Document, repo: Option<&RepoPaths>) -> String {
    super::stream::written(|text| write(doc, repo, text))
}

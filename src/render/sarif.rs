//! `--format sarif`: SARIF 2.1.0 for GitHub code scanning and other SARIF consumers.
//!
//! Rules come from the code catalogue (so a rule's help is its `explain` text), results carry
//! regions from our spans, fingerprints that survive unrelated edits, and fixes as
//! artifactChanges where a fix is a set of byte-range edits.

use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::Serialize;
use serde_json::{json, Value};

use crate::diag::{Diagnostic, Severity, Span};
use crate::engine::{self, Context};
use crate::fix::Change;
use crate::redact;
use sha2::{Digest, Sha256};

use super::json::{DiagnosticOut, Document};
use super::paths::{LastFile, RepoPaths};
use super::stream::{Chunked, Hand};

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

impl Fingerprint {
    fn as_str(&self) -> &str {
        // Hex digits are ASCII.
        std::str::from_utf8(&self.0).unwrap_or_default()
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
) -> Option<SarifFix<'d>> {
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
                    || (!replacement.is_empty()
                        && *redact::redact_text(replacement) != **replacement)
                {
                    return None;
                }
                changes.push(ArtifactChange {
                    uri: uri.to_string(),
                    byte_offset: span.start,
                    byte_length: span.len(),
                    inserted: replacement,
                });
            }
            Change::QuarantineData { .. } => {}
            _ => return None,
        }
    }
    (!changes.is_empty()).then(|| SarifFix {
        description: fix.title(),
        changes,
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

/// A fix that SARIF can carry: its title and its edits.
struct SarifFix<'d> {
    description: &'d str,
    changes: Vec<ArtifactChange<'d>>,
}

/// One edit of a fix: in the file at `uri`, `byte_length` bytes from `byte_offset` replaced by
/// `inserted`.
struct ArtifactChange<'d> {
    uri: String,
    byte_offset: usize,
    byte_length: usize,
    inserted: &'d str,
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

#[derive(Serialize)]
struct RunProperties<'d> {
    instar_version: &'d Option<String>,
    exit_code: u8,
}

/// Where a finding is, as SARIF's region: 1-based lines and columns (an empty span's end column
/// never before its start), and the byte range.
fn write_region(j: &mut Hand, out: &DiagnosticOut) {
    let (Some(start), Some(end), Some(span)) = (&out.start, &out.end, &out.span) else {
        return;
    };
    let end_column = end.column.max(if end.line == start.line {
        start.column
    } else {
        1
    });
    j.key("region");
    j.open_object();
    j.key_usize("startLine", start.line);
    j.key_usize("startColumn", start.column);
    j.key_usize("endLine", end.line);
    j.key_usize("endColumn", end_column);
    j.key_usize("byteOffset", span.start);
    j.key_usize("byteLength", span.end - span.start);
    j.close_object();
}

/// `"artifactLocation": {"uri": …, "uriBaseId": "%SRCROOT%"}`. `uri` is percent-encoded
/// (`uri_path`): nothing in it needs escaping.
fn write_artifact_location(j: &mut Hand, uri: &str) {
    j.key("artifactLocation");
    j.open_object();
    j.key("uri");
    j.plain_str(uri);
    j.key("uriBaseId");
    j.plain_str(SRCROOT);
    j.close_object();
}

/// `"key": {"text": …}`, SARIF's message shape.
fn write_text(j: &mut Hand, key: &str, text: &str) {
    j.key(key);
    j.open_object();
    j.key_str("text", text);
    j.close_object();
}

fn write_fix(j: &mut Hand, fix: &SarifFix) {
    j.key("fixes");
    j.open_array();
    j.element();
    j.open_object();
    write_text(j, "description", fix.description);
    j.key("artifactChanges");
    j.open_array();
    for change in &fix.changes {
        j.element();
        j.open_object();
        write_artifact_location(j, &change.uri);
        j.key("replacements");
        j.open_array();
        j.element();
        j.open_object();
        j.key("deletedRegion");
        j.open_object();
        j.key_usize("byteOffset", change.byte_offset);
        j.key_usize("byteLength", change.byte_length);
        j.close_object();
        write_text(j, "insertedContent", change.inserted);
        j.close_object();
        j.close_array();
        j.close_object();
    }
    j.close_array();
    j.close_object();
    j.close_array();
}

/// One finding as a SARIF result. `uri`: its file from the repository root, when it has one.
fn write_result(
    j: &mut Hand,
    out: &DiagnosticOut,
    rule_index: Option<usize>,
    uri: Option<&str>,
    fix: Option<&SarifFix>,
) {
    j.open_object();
    j.key("ruleId");
    j.plain_str(out.code);
    j.key("ruleIndex");
    j.opt_usize(rule_index);
    j.key("level");
    j.plain_str(level(out.severity));
    j.key("message");
    j.open_object();
    j.key("text");
    j.pieces(|put| out.message.for_each_piece(put));
    j.close_object();
    j.key("partialFingerprints");
    j.open_object();
    j.key("instarDoctor/v1");
    j.plain_str(fingerprint(out).as_str());
    j.close_object();
    j.key("properties");
    j.open_object();
    j.key("instar_effect");
    j.plain_str(out.instar_effect);
    j.key("pointer");
    match out.pointer {
        Some(pointer) => j.pieces(|put| pointer.for_each_piece(put)),
        None => j.null(),
    }
    if let Some(help) = out.help {
        j.key_str("help", help);
    }
    j.close_object();
    if let Some(uri) = uri {
        j.key("locations");
        j.open_array();
        j.element();
        j.open_object();
        j.key("physicalLocation");
        j.open_object();
        write_artifact_location(j, uri);
        write_region(j, out);
        j.close_object();
        j.close_object();
        j.close_array();
    }
    if let Some(fix) = fix {
        write_fix(j, fix);
    }
    j.close_object();
}

/// The document's findings as SARIF results, one at a time as they are written, with their
/// fixes when the run is known.
fn write_results(j: &mut Hand, doc: &Document, repo: Option<&RepoPaths>) -> io::Result<()> {
    let catalogue = engine::catalogue();
    let cx = doc.diagnostics.context();
    let mut fix_files = FixFiles::default();
    // Each file's URI from the repository root, made once per run of its findings.
    let mut uris = LastFile::new(|file: &str| {
        uri_path(
            &repo
                .map(|r| r.file(file))
                .unwrap_or_else(|| file.to_string()),
        )
    });
    // Findings come in runs of one code: its rule index is looked up once per run.
    let mut rule: Option<(&'static str, Option<usize>)> = None;
    doc.diagnostics.try_for_each(
        |_| true,
        |d, out| {
            let fix = match (cx, repo) {
                (Some(cx), Some(repo)) => sarif_fix(cx, d, repo, &mut fix_files),
                _ => None,
            };
            let rule_index = match rule {
                Some((code, index)) if code == out.code => index,
                _ => rule.insert((out.code, catalogue.index_of(out.code))).1,
            };
            j.element();
            let uri = out.file.map(|file| uris.get(file));
            write_result(j, &out, rule_index, uri, fix.as_ref());
            j.status()
        },
    )
}

/// The SARIF log, written to `out` as it is rendered (its results one finding at a time, issue
/// #11), laid out as serde_json's pretty printer would, field by field in the order consumers
/// and snapshots know. Locations are relative to the repository root (`repo`, which is `None`
/// only for a run that stopped before finding an agent, and so has no results); fixes are given
/// when the document has its run.
pub fn write(doc: &Document, repo: Option<&RepoPaths>, out: &mut dyn Write) -> io::Result<()> {
    let mut out = Chunked::new(out);
    let mut j = Hand::new(&mut out);
    j.open_object();
    j.key_str("$schema", SARIF_SCHEMA);
    j.key_str("version", "2.1.0");
    j.key("runs");
    j.open_array();
    j.element();
    j.open_object();
    j.key("tool");
    j.value(&json!({ "driver": {
        "name": "instar-doctor",
        "version": env!("CARGO_PKG_VERSION"),
        "semanticVersion": env!("CARGO_PKG_VERSION"),
        "informationUri": "https://github.com/JKHeadley/instar",
        "rules": rules(),
    }}));
    j.key("invocations");
    j.open_array();
    j.element();
    j.value(&invocation(doc));
    j.close_array();
    j.key_str("columnKind", "unicodeCodePoints");
    j.key("results");
    j.open_array();
    j.status()?;
    write_results(&mut j, doc, repo)?;
    j.close_array();
    j.key("properties");
    j.value(&RunProperties {
        instar_version: &doc.instar_version,
        exit_code: doc.exit_code,
    });
    if let Some(repo) = repo {
        let root = repo.root().to_string_lossy();
        let root = format!("file://{}/", uri_path(root.trim_end_matches('/')));
        j.key("originalUriBaseIds");
        j.value(&json!({ SRCROOT: { "uri": root } }));
    }
    j.close_object();
    j.close_array();
    j.close_object();
    j.end()?;
    out.finish()
}

/// The SARIF log as text (for `scan`, which cuts it apart).
pub fn render(doc: &Document, repo: Option<&RepoPaths>) -> String {
    super::stream::written(|text| write(doc, repo, text))
}

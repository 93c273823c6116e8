//! The parts of `scan`'s reports that are not a single agent's: the per-agent line of the human
//! report, and the envelopes that gather per-agent documents into one (scan-v1 JSON, one SARIF
//! run, one JUnit file). Each agent's part is produced by the single-agent renderers, so an
//! agent reads the same in a scan as on its own.

use std::path::Path;

use serde_json::Value;

use super::json::Document;
use super::paths::RepoPaths;
use crate::engine::Context;

pub const SCHEMA_ID: &str = "instar-doctor/scan-v1";

/// The head of the scan-v1 document, up to the opening of `agents`; agents follow one by one.
pub fn json_head(instar_home: Option<&Path>, machine: &Document) -> String {
    let head = serde_json::json!({
        "schema": SCHEMA_ID,
        "version": env!("CARGO_PKG_VERSION"),
        "instar_home": instar_home.map(|p| p.to_string_lossy()),
        "machine": { "checks": machine.checks, "diagnostics": machine.diagnostics },
    });
    let text = serde_json::to_string(&head).unwrap_or_default();
    // Reopen the object to append `agents` after the members above.
    format!("{},\"agents\":[", text.strip_suffix('}').unwrap_or(&text))
}

/// The tail of the scan-v1 document.
pub fn json_tail(summary: &Value, exit_code: u8, error: Option<&str>) -> String {
    let mut tail = format!("],\"summary\":{summary},\"exit_code\":{exit_code}");
    if let Some(message) = error {
        tail.push_str(&format!(
            ",\"error\":{}",
            serde_json::json!({ "message": message })
        ));
    }
    tail.push_str("}\n");
    tail
}

/// The `<testsuite>` elements of a single-agent JUnit file, each named after the agent too, so
/// several agents fit in one `<testsuites>`.
pub fn junit_suites(single: &str, agent: &str) -> String {
    let agent = super::junit::escape_attr(agent);
    single
        .lines()
        .filter(|l| {
            !l.starts_with("<?xml") && !l.starts_with("<testsuites") && *l != "</testsuites>"
        })
        .map(|l| {
            let l = l.replacen(
                "<testsuite name=\"",
                &format!("<testsuite name=\"{agent}: "),
                1,
            );
            l.replacen("classname=\"", &format!("classname=\"{agent}: "), 1) + "\n"
        })
        .collect()
}

pub fn junit_head() -> &'static str {
    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites name=\"instar-doctor scan\">\n"
}

pub fn junit_tail() -> &'static str {
    "</testsuites>\n"
}

/// One agent's SARIF results (or the machine findings', whose files are under the instar home
/// or absolute) with locations relative to the scan root, as JSON text without the surrounding
/// brackets (empty when it has none).
pub fn sarif_results(cx: &Context, doc: &Document, root: &Path) -> String {
    let repo = RepoPaths::rooted(root, &cx.project_dir);
    results_of(doc, &repo)
}

fn results_of(doc: &Document, repo: &RepoPaths) -> String {
    let log: Value =
        serde_json::from_str(&super::sarif::render(doc, Some(repo))).unwrap_or_default();
    match log["runs"][0]["results"].as_array() {
        Some(results) => results
            .iter()
            .map(|r| serde_json::to_string(r).unwrap_or_default())
            .collect::<Vec<_>>()
            .join(","),
        None => String::new(),
    }
}

const RESULTS: &str = "@@instar-doctor-results@@";
const INVOCATION: &str = "@@instar-doctor-invocation@@";

/// The SARIF log around the results: `(head, tail)`; `tail` still holds the invocation
/// placeholder that [`sarif_tail`] fills once every agent is done.
pub fn sarif_envelope(root: &Path) -> (String, String) {
    let empty = super::json::failure("", None);
    let repo = RepoPaths::rooted(root, root);
    let mut log: Value =
        serde_json::from_str(&super::sarif::render(&empty, Some(&repo))).unwrap_or_default();
    if let Some(run) = log["runs"][0].as_object_mut() {
        // Results are written as agents finish, the invocation (exit code) after them.
        run.remove("invocations");
        run.remove("properties");
        run.insert("results".into(), Value::String(RESULTS.into()));
        run.insert("invocations".into(), Value::String(INVOCATION.into()));
    }
    let text = serde_json::to_string(&log).unwrap_or_default();
    let (head, tail) = text
        .split_once(&format!("\"{RESULTS}\""))
        .unwrap_or((&text, ""));
    (format!("{head}["), format!("]{tail}\n"))
}

pub fn sarif_tail(tail: &str, exit_code: u8, error: Option<&str>) -> String {
    let mut invocation = serde_json::json!({
        "executionSuccessful": error.is_none(),
        "exitCode": exit_code,
    });
    if let Some(message) = error {
        invocation["toolExecutionNotifications"] = serde_json::json!([{
            "level": "error",
            "message": { "text": message },
            "descriptor": { "id": "instar-doctor/failure" },
        }]);
    }
    tail.replace(&format!("\"{INVOCATION}\""), &format!("[{invocation}]"))
}

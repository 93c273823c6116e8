//! Semantic-memory quarantine churn and the skipped rebuild (#16): counted from the names instar
//! gives the files beside `.instar/semantic.db`; none of them is opened.

use crate::diag::{Diagnostic, Effect, Severity, Sink};
use crate::engine::Context;
use crate::fix::Fix;
use crate::version::boundary;

use super::codes::SEMANTIC_QUARANTINE;

/// `.instar/` holds a few dozen entries on a typical agent; the cap keeps a folder flooded with
/// quarantines (or anything else) from costing more than one bounded listing.
const LISTING_CAP: usize = 4096;

pub fn quarantine(cx: &Context, sink: &mut Sink) {
    let (names, _cut) = cx.list_dir_capped(&cx.state_dir, LISTING_CAP);
    let quarantined = names
        .iter()
        .filter(|n| {
            n.strip_prefix("semantic.db.corrupt.")
                .is_some_and(|ts| !ts.is_empty() && ts.bytes().all(|b| b.is_ascii_digit()))
        })
        .count();
    let skipped: Vec<&String> = names
        .iter()
        .filter(|n| n.starts_with("semantic.db.skipped-rebuild.") && n.ends_with(".marker.json"))
        .collect();
    let db = cx.state_path("semantic.db");
    let fix = || {
        Some(Fix::manual(
            "with the agent stopped, import the JSONL log into semantic.db (SemanticMemory.importFromJsonl), then move the marker and old semantic.db.corrupt.* copies out of .instar/",
        ))
    };
    if let Some(marker) = skipped.last() {
        sink.push(
            Diagnostic::new(
                &SEMANTIC_QUARANTINE,
                Effect::Silent,
                format!(
                    ".instar/{marker} says the semantic memory started empty: its JSONL log was too large to rebuild from"
                ),
            )
            .file(cx.state_path(marker))
            .help("until someone imports the log, the agent's knowledge graph is missing; move the marker away once it is imported")
            .fix(fix()),
        );
    }
    if quarantined == 0 {
        return;
    }
    let churn = quarantined >= 2;
    let looping = churn && cx.version < boundary::SEMANTIC_VEC0_NOT_CORRUPTION;
    let message = if looping {
        format!("{quarantined} quarantined copies of semantic.db: instar {} mistakes a missing vec0 module for corruption and rebuilds the database on every boot", cx.version)
    } else if churn {
        format!("{quarantined} quarantined copies of semantic.db: the semantic memory was thrown away and rebuilt more than once")
    } else {
        "one quarantined copy of semantic.db: the database was rebuilt once".to_string()
    };
    let (severity, effect) = if churn {
        (Severity::Warning, Effect::Silent)
    } else {
        (Severity::Info, Effect::None)
    };
    sink.push(
        Diagnostic::new(&SEMANTIC_QUARANTINE, effect, message)
            .severity(severity)
            .file(&db)
            .fix(fix()),
    );
}

//! Turning a `Report` into text. Every format reads the same report; none of them decides
//! anything about the agent.

pub mod concise;
pub mod diff;
pub mod escape;
pub mod fix_summary;
pub mod github;
pub mod human;
pub mod json;
pub mod junit;
pub mod openmetrics;
pub mod overview;
pub mod paths;
pub mod sarif;
pub mod scan;
pub mod snippet;
pub mod width;

/// Source bytes and their secret spans: kept in `redact`, re-exported for the renderers.
pub use crate::redact::sources::{RedactedSource, Sources};

use crate::engine::Context;

/// One machine-format document, the same way for a full report and for a run that gave no
/// answer (`cx` is `None` then): every exit-2 path after argument parsing still writes a
/// document a CI step can read (design §8).
pub fn machine(
    format: crate::cli::Format,
    doc: &json::Document,
    run: Option<(&Context, &[crate::diag::Diagnostic])>,
    repo: Option<&paths::RepoPaths>,
    threshold: crate::diag::Severity,
) -> Option<String> {
    use crate::cli::Format;
    Some(match format {
        Format::Human | Format::Concise => return None,
        Format::Json => json::to_string(doc),
        Format::Sarif => {
            let fixes = match (run, repo) {
                (Some((cx, diagnostics)), Some(repo)) => sarif::fixes(cx, diagnostics, repo),
                _ => Vec::new(),
            };
            sarif::render(doc, &fixes, repo)
        }
        Format::Github => github::render(doc, repo),
        Format::Junit => junit::render(doc, threshold.as_str()),
    })
}

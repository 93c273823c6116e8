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
pub mod stream;
pub mod width;

/// Source bytes and their secret spans: kept in `redact`, re-exported for the renderers.
pub use crate::redact::sources::{RedactedSource, Sources};

/// Writes one machine-format document to `out` as it is rendered, the same way for a full
/// report and for a run that gave no answer: every exit-2 path after argument parsing still
/// writes a document a CI step can read (design §8). The human formats write nothing here.
pub fn write_machine(
    format: crate::cli::Format,
    doc: &json::Document,
    repo: Option<&paths::RepoPaths>,
    threshold: crate::diag::Severity,
    out: &mut dyn std::io::Write,
) -> std::io::Result<()> {
    use crate::cli::Format;
    match format {
        Format::Human | Format::Concise => Ok(()),
        Format::Json => json::write(doc, out),
        Format::Sarif => sarif::write(doc, repo, out),
        Format::Github => github::write(doc, repo, out),
        Format::Junit => junit::write(doc, threshold.as_str(), out),
    }
}

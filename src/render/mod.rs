//! Turning a `Report` into text. Every format reads the same report; none of them decides
//! anything about the agent.

pub mod diff;
pub mod github;
pub mod human;
pub mod json;
pub mod junit;
pub mod openmetrics;
pub mod paths;
pub mod sarif;
pub mod scan;
pub mod snippet;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::diag::Span;
use crate::engine::Context;
use crate::redact;

/// A file's bytes and the spans of its secrets.
pub type RedactedSource = (crate::source::Bytes, Arc<Vec<Span>>);

/// Source bytes and their secret spans, computed once per file per render.
#[derive(Default)]
pub struct Sources {
    cache: HashMap<PathBuf, Option<RedactedSource>>,
}

impl Sources {
    pub fn get(&mut self, cx: &Context, path: &Path) -> Option<RedactedSource> {
        self.cache
            .entry(path.to_path_buf())
            .or_insert_with(|| {
                let bytes = cx.bytes_of(path)?;
                let secrets = if is_private_key_file(path) {
                    // Nothing of a key file is ever shown, not even its armour.
                    std::iter::once(0..bytes.len()).collect()
                } else {
                    redact::secret_spans(&bytes)
                };
                Some((bytes, Arc::new(secrets)))
            })
            .clone()
    }
}

fn is_private_key_file(path: &Path) -> bool {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy())
        .unwrap_or_default();
    name.ends_with(".pem") || name.contains(".pem.tmp.") || name.ends_with(".key")
}

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
        Format::Human => return None,
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

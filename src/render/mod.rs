//! Turning a `Report` into text. Every format reads the same report; none of them decides
//! anything about the agent.

pub mod diff;
pub mod github;
pub mod human;
pub mod json;
pub mod junit;
pub mod sarif;
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
                // Over the whole file, once: every window is cut from these (design §8).
                let secrets = redact::file_secret_spans(path, &bytes);
                Some((bytes, Arc::new(secrets)))
            })
            .clone()
    }
}

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

use crate::diag::{Diagnostic, Span};
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

    /// A finding's text (message, help, fix title) with its secrets hidden: those it spells out
    /// with their key, and those it quotes from its file (a parse error quotes the token it
    /// met). `placed`: the finding's spans still point into the file as it is now; otherwise
    /// (a finding handled by a fix run) any secret of the file may be the one quoted.
    pub fn scrub(&mut self, cx: &Context, d: &Diagnostic, text: &str, placed: bool) -> String {
        let text = redact::redact_text(text);
        let Some(file) = &d.file else { return text };
        let Some((bytes, secrets)) = self.get(cx, file) else {
            return text;
        };
        // Key files are secret whole, their armour included; their findings quote no key bytes.
        if redact::is_key_file(file, &bytes) {
            return text;
        }
        let mut near: Vec<&Span> = d.span.iter().collect();
        near.extend(
            d.secondary
                .iter()
                .filter(|l| &l.file == file)
                .filter_map(|l| l.span.as_ref()),
        );
        let quoted: Vec<String> = secrets
            .iter()
            .filter(|s| !placed || near.is_empty() || near.iter().any(|n| n.start <= s.end && s.start <= n.end))
            .map(|s| String::from_utf8_lossy(&bytes[s.clone()]).into_owned())
            .collect();
        redact::scrub_quoted(&text, &quoted)
    }
}

//! Each file's bytes with its secret ranges, computed once per file (and per render or run),
//! and the scrubbing of findings' texts that may quote them.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super as redact;
use crate::diag::{Diagnostic, Span};
use crate::engine::Context;
use crate::line_index::LineIndex;

/// A file's bytes and the spans of its secrets.
pub type RedactedSource = (crate::source::Bytes, Arc<Vec<Span>>);

/// Source bytes, their secret spans and line index, computed once per file per render.
#[derive(Default)]
pub struct Sources {
    cache: HashMap<PathBuf, Option<RedactedSource>>,
    lines: HashMap<PathBuf, Arc<LineIndex>>,
    shown: HashMap<PathBuf, String>,
    /// `redact_text` of texts met before: a code's findings repeat their help and fix title
    /// word for word, 100,000 times in a broken jobs.json (issue #11). Emptied when full, so
    /// texts that never repeat (messages naming their job) cost a bounded amount of memory.
    prose: HashMap<String, String>,
    /// The last file asked about and its source: a report's findings come file by file, and
    /// hashing a path walks its components (issue #11: 100,000 findings in one file).
    last: Option<(PathBuf, Option<RedactedSource>)>,
    /// Whether the last file scrubbed for is a key file (`redact::is_key_file`), asked once
    /// per finding's text otherwise.
    last_key_file: Option<(PathBuf, bool)>,
}

/// How many distinct texts `Sources::prose` keeps.
const PROSE_MEMO: usize = 256;

impl Sources {
    pub fn get(&mut self, cx: &Context, path: &Path) -> Option<RedactedSource> {
        if let Some((last, source)) = &self.last {
            if last.as_os_str() == path.as_os_str() {
                return source.clone();
            }
        }
        let source = self
            .cache
            .entry(path.to_path_buf())
            .or_insert_with(|| {
                let bytes = cx.bytes_of(path)?;
                // Over the whole file, once per run: every window is cut from these (design §8).
                let secrets = cx.secret_spans(path)?;
                Some((bytes, secrets))
            })
            .clone();
        self.last = Some((path.to_path_buf(), source.clone()));
        source
    }

    /// The file's path as the reports show it (`Context::display_path`), built once per file:
    /// a report of 100,000 findings in one file would otherwise split the path 100,000 times.
    pub fn display(&mut self, cx: &Context, path: &Path) -> String {
        if let Some(shown) = self.shown.get(path) {
            return shown.clone();
        }
        let shown = cx.display_path(path);
        self.shown.insert(path.to_path_buf(), shown.clone());
        shown
    }

    /// The file's line index, built on first use: every snippet and diff hunk of a render finds
    /// its lines by bisection instead of scanning from byte 0 (issue #11).
    pub fn lines(&mut self, cx: &Context, path: &Path) -> Option<Arc<LineIndex>> {
        if let Some(index) = self.lines.get(path) {
            return Some(index.clone());
        }
        let (bytes, _) = self.get(cx, path)?;
        let index = Arc::new(LineIndex::new(&bytes));
        self.lines.insert(path.to_path_buf(), index.clone());
        Some(index)
    }

    /// A finding's text (message, help, fix title) with its secrets hidden: those it spells out
    /// with their key, and those it quotes from its file (a parse error quotes the token it
    /// met). `placed`: the finding's spans still point into the file as it is now; otherwise
    /// (a finding handled by a fix run) any secret of the file may be the one quoted.
    pub fn scrub(&mut self, cx: &Context, d: &Diagnostic, text: &str, placed: bool) -> String {
        let near = near_spans(d);
        self.scrub_near(cx, d.file.as_deref(), &near, text, placed)
    }

    /// `scrub` for a finding in `file` whose spans there are `near`.
    fn scrub_near(
        &mut self,
        cx: &Context,
        file: Option<&Path>,
        near: &[Span],
        text: &str,
        placed: bool,
    ) -> String {
        let text = self.redact_prose(text);
        let Some(file) = file else { return text };
        let Some((bytes, secrets)) = self.get(cx, file) else {
            return text;
        };
        // A key file is secret whole, but its findings name its armour ("a `PRIVATE KEY`
        // block"): what they must not quote is its body, base64 runs. A damaged header can
        // carry body bytes into the label a finding quotes.
        let key_file = match &self.last_key_file {
            Some((last, known)) if last.as_os_str() == file.as_os_str() => *known,
            _ => {
                let known = redact::is_key_file(file, &bytes);
                self.last_key_file = Some((file.to_path_buf(), known));
                known
            }
        };
        if key_file {
            let runs: Vec<String> = bytes
                .split(|b| !(b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'=')))
                .filter(|run| run.len() >= 16)
                .map(|run| String::from_utf8_lossy(run).into_owned())
                .collect();
            return redact::scrub_quoted(&text, &runs);
        }
        let text_of = |s: &Span| String::from_utf8_lossy(&bytes[s.clone()]).into_owned();
        let quoted: Vec<String> = if !placed || near.is_empty() {
            secrets.iter().map(text_of).collect()
        } else {
            // The secrets touching the finding's spans, found by bisection: a file may hold
            // thousands, and so may its findings.
            near.iter()
                .flat_map(|n| {
                    let from = secrets.partition_point(|s| s.end < n.start);
                    secrets[from..].iter().take_while(|s| s.start <= n.end)
                })
                .map(text_of)
                .collect()
        };
        redact::scrub_quoted(&text, &quoted)
    }

    /// `redact::redact_text`, remembered for texts that repeat.
    fn redact_prose(&mut self, text: &str) -> String {
        if let Some(done) = self.prose.get(text) {
            return done.clone();
        }
        let done = redact::redact_text(text);
        if self.prose.len() >= PROSE_MEMO {
            self.prose.clear();
        }
        self.prose.insert(text.to_string(), done.clone());
        done
    }

    /// Scrubs, in place, every text of a finding: message, help, labels and the fix's title.
    /// Run once on each finding as the checks produce it (`engine::scrub_findings`), before
    /// anything renders or records it: the renderers write these texts as they are, so this is
    /// the only pass (issue #11: every text was scrubbed here and again by each format).
    /// Secrets spelled out with their key or as a PEM block are hidden, and so are those the
    /// text quotes from its file. A text is replaced only when scrubbing changed it: a help or
    /// title shared by many findings (`diag::Shared`) stays one buffer.
    pub fn scrub_diagnostic(&mut self, cx: &Context, d: &mut Diagnostic) {
        // Where the finding is, taken apart from it (not a clone of the whole finding, whose
        // fix may carry a quarantined entry's bytes) so that its texts can change in place.
        let file = d.file.clone();
        let near = near_spans(d);
        let mut scrubbed = |t: &str| -> Option<String> {
            let clean = self.scrub_near(cx, file.as_deref(), &near, t, true);
            (clean != t).then_some(clean)
        };
        if let Some(clean) = scrubbed(&d.message) {
            d.message = clean;
        }
        if let Some(clean) = d.help.as_deref().and_then(&mut scrubbed) {
            d.help = Some(Arc::from(clean));
        }
        if let Some(clean) = d.label.as_deref().and_then(&mut scrubbed) {
            d.label = Some(Arc::from(clean));
        }
        for l in &mut d.secondary {
            if let Some(clean) = scrubbed(&l.message) {
                l.message = clean;
            }
        }
        if let Some(f) = d.fix.as_mut() {
            if let Some(clean) = scrubbed(f.title()) {
                f.set_title(clean);
            }
        }
    }
}

/// A finding's spans in its own file: its span and its secondary locations' there.
fn near_spans(d: &Diagnostic) -> Vec<Span> {
    let mut near: Vec<Span> = d.span.iter().cloned().collect();
    near.extend(
        d.secondary
            .iter()
            .filter(|l| Some(l.file.as_path()) == d.file.as_deref())
            .filter_map(|l| l.span.clone()),
    );
    near
}

#[cfg(test)]
mod prose_memo_tests {
    use super::*;

    #[test]
    fn a_remembered_text_is_redacted_the_same_and_the_memo_stays_bounded() {
        let mut sources = Sources::default();
        let secret = "set \"authToken\": \"sk-live-0123456789abcdef0123456789\" again";
        let first = sources.redact_prose(secret);
        assert_eq!(first, redact::redact_text(secret));
        assert!(!first.contains("0123456789abcdef"), "{first}");
        assert_eq!(sources.redact_prose(secret), first, "from the memo");
        for i in 0..PROSE_MEMO * 3 {
            sources.redact_prose(&format!("job \"job-{i}\" is broken"));
            assert!(sources.prose.len() <= PROSE_MEMO);
        }
        assert_eq!(
            sources.redact_prose(secret),
            first,
            "after the memo was emptied"
        );
    }
}

#[cfg(test)]
mod once_tests {
    use super::*;
    use crate::diag::{Code, Effect, Label, Severity};
    use crate::fix::Fix;

    const CODE: Code = Code {
        id: "config/parse-error",
        severity: Severity::Error,
        fix: None,
        summary: "",
        explain: "",
    };

    /// The renderers write a finding's texts as collected (issue #11), so the collection must
    /// scrub every text, not only those with a quote mark: a PEM block or a secret marker needs
    /// none. Before, such texts were left to a second pass in each format.
    #[test]
    fn texts_without_a_quote_mark_are_scrubbed_when_collected() {
        let dir = tempfile::tempdir().unwrap();
        let cx = Context::at_version(dir.path().to_path_buf(), crate::version::NEWEST_KNOWN, 0);
        let body = "MC4CAQAwBQYDK2VwBCIEIJzufkNno3DuEXQUdjVk8fS5j8Du";
        let pem = format!("-----BEGIN PRIVATE KEY-----\n{body}\n-----END PRIVATE KEY-----");
        let mut d = Diagnostic::new(&CODE, Effect::Fatal, format!("key material: {pem}"))
            .help(format!("remove {pem}"))
            .file(dir.path().join("not-read.json"))
            .at(0..1, format!("here {pem}"))
            .secondary(Label {
                file: dir.path().join("other"),
                span: None,
                message: format!("also {pem}"),
            })
            .fix(Some(Fix::manual(format!("drop {pem}"))));
        for text in [&d.message, d.help.as_deref().unwrap()] {
            assert!(
                !text.contains(['"', '\'', '`', '…']),
                "no quote mark: {text}"
            );
        }
        Sources::default().scrub_diagnostic(&cx, &mut d);
        let texts = [
            d.message.as_str(),
            d.help.as_deref().unwrap(),
            d.label.as_deref().unwrap(),
            d.secondary[0].message.as_str(),
            d.fix.as_ref().unwrap().title(),
        ];
        for text in texts {
            assert!(!text.contains(body), "{text}");
            assert!(text.contains(redact::REDACTED), "{text}");
        }
    }
}

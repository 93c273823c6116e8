//! Each file's bytes with its secret ranges, computed once per file (and per render or run),
//! and the scrubbing of findings' texts that may quote them.

use std::borrow::Cow;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super as redact;
use crate::diag::{Diagnostic, Span, Thin};
use crate::engine::Context;
use crate::line_index::LineFinder;

/// A file's bytes and the spans of its secrets.
pub type RedactedSource = (crate::source::Bytes, Arc<Vec<Span>>);

/// Source bytes, their secret spans and line finder, computed once per file per render.
#[derive(Default)]
pub struct Sources {
    cache: HashMap<PathBuf, Option<RedactedSource>>,
    finders: HashMap<PathBuf, LineFinder>,
    shown: HashMap<PathBuf, String>,
    /// Shared texts (helps, labels, fix titles: all `diag::Thin`) scrubbed, by buffer
    /// (`scrub_shared`), the oldest dropped when full.
    shared: Vec<(Thin<str>, Option<Thin<str>>)>,
    /// The last file asked about and its source: a report's findings come file by file, and
    /// hashing a path walks its components (issue #11: 100,000 findings in one file).
    last: Option<(PathBuf, Option<RedactedSource>)>,
    /// Whether the last file scrubbed for is a key file (`redact::is_key_file`), asked once
    /// per finding's text otherwise.
    last_key_file: Option<(PathBuf, bool)>,
}

/// How many shared texts `Sources::shared` keeps: a few codes' helps, labels and titles at a
/// time.
const SHARED_MEMO: usize = 32;

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

    /// The file's bytes, secrets and a `LineFinder` over them: the human report's snippets and
    /// places find their lines near where the last one was, without indexing the whole file.
    pub fn finder(
        &mut self,
        cx: &Context,
        path: &Path,
    ) -> Option<(RedactedSource, &mut LineFinder)> {
        let source = self.get(cx, path)?;
        // Asked once per snippet and place (300,000 times for `-v` on a broken jobs.json):
        // the path is copied only the first time.
        if !self.finders.contains_key(path) {
            self.finders
                .insert(path.to_path_buf(), LineFinder::default());
        }
        let finder = self.finders.get_mut(path)?;
        Some((source, finder))
    }

    /// `text` with its spelled-out secrets hidden (`redact_text`) and then the `quoted` ones
    /// (`quotable`); borrowed when nothing was hidden.
    fn scrub_with<'t>(&mut self, text: &'t str, quoted: &[String]) -> Cow<'t, str> {
        let text = redact::redact_prose(text).map_or(Cow::Borrowed(text), Cow::Owned);
        if quoted.iter().all(|q| q.len() < 2) {
            // Nothing `scrub_quoted` would look for.
            return text;
        }
        Cow::Owned(redact::scrub_quoted(&text, quoted))
    }

    /// The secrets of `file` a finding there may quote: in a key file its base64 runs (a key
    /// file is secret whole, but its findings name its armour, "a `PRIVATE KEY` block", and a
    /// damaged header can carry body bytes into the label a finding quotes); elsewhere the
    /// secrets touching the finding's spans `near` (which point into the file as read: findings
    /// are scrubbed when collected), or every secret of the file when it has none. Empty when
    /// the file was not read.
    fn quotable(&mut self, cx: &Context, file: Option<&Path>, near: &[Span]) -> Vec<String> {
        let Some(file) = file else {
            return Vec::new();
        };
        let Some((bytes, secrets)) = self.get(cx, file) else {
            return Vec::new();
        };
        let key_file = match &self.last_key_file {
            Some((last, known)) if last.as_os_str() == file.as_os_str() => *known,
            _ => {
                let known = redact::is_key_file(file, &bytes);
                self.last_key_file = Some((file.to_path_buf(), known));
                known
            }
        };
        if key_file {
            return bytes
                .split(|b| !(b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'=')))
                .filter(|run| run.len() >= 16)
                .map(|run| String::from_utf8_lossy(run).into_owned())
                .collect();
        }
        let text_of = |s: &Span| String::from_utf8_lossy(&bytes[s.clone()]).into_owned();
        if near.is_empty() {
            return secrets.iter().map(text_of).collect();
        }
        // The secrets touching the finding's spans, found by bisection: a file may hold
        // thousands, and so may its findings.
        near.iter()
            .flat_map(|n| {
                let from = secrets.partition_point(|s| s.end < n.start);
                secrets[from..].iter().take_while(|s| s.start <= n.end)
            })
            .map(text_of)
            .collect()
    }

    /// A shared text (help, label, fix title) scrubbed, remembered by its buffer while nothing
    /// from the file may be quoted: a code's findings share these word for word (100,000 times
    /// in a broken jobs.json), so each is scrubbed once and its scrubbed form stays shared.
    /// `None`: unchanged.
    fn scrub_shared(&mut self, text: &Thin<str>, quoted: &[String]) -> Option<Thin<str>> {
        if !quoted.is_empty() {
            let clean = self.scrub_with(text, quoted);
            return matches!(clean, Cow::Owned(_)).then(|| Thin::from(clean.as_ref()));
        }
        if let Some((_, done)) = self.shared.iter().find(|(t, _)| Thin::ptr_eq(t, text)) {
            return done.clone();
        }
        let done = match self.scrub_with(text, quoted) {
            Cow::Borrowed(_) => None,
            Cow::Owned(clean) => Some(Thin::from(clean.as_str())),
        };
        let memo = &mut self.shared;
        if memo.len() >= SHARED_MEMO {
            memo.remove(0);
        }
        // The memo holds the text's buffer, so its address cannot be reused by another.
        memo.push((text.clone(), done.clone()));
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
        // What the finding's texts may quote from its file, found once for all of them.
        let near = near_spans(d);
        let quoted = self.quotable(cx, d.file.as_deref(), &near);
        // A message in shared pieces is scrubbed whole: a secret could straddle them.
        if let Cow::Owned(clean) = self.scrub_with(&d.message.as_cow(), &quoted) {
            d.message = clean.into();
        }
        if let Some(clean) = d.help.as_ref().and_then(|h| self.scrub_shared(h, &quoted)) {
            d.help = Some(clean);
        }
        if let Some(clean) = d.label.as_ref().and_then(|l| self.scrub_shared(l, &quoted)) {
            d.label = Some(clean);
        }
        for l in &mut d.secondary {
            if let Cow::Owned(clean) = self.scrub_with(&l.message, &quoted) {
                l.message = clean;
            }
        }
        if let Some(f) = d.fix.as_mut() {
            f.share_title(|t| {
                if let Some(clean) = self.scrub_shared(t, &quoted) {
                    *t = clean;
                }
            });
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
        let message = d.message.to_string();
        for text in [message.as_str(), d.help.as_deref().unwrap()] {
            assert!(
                !text.contains(['"', '\'', '`', '…']),
                "no quote mark: {text}"
            );
        }
        Sources::default().scrub_diagnostic(&cx, &mut d);
        let message = d.message.to_string();
        let texts = [
            message.as_str(),
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

    /// A message held in shared pieces (`diag::Text`, issue #11) is scrubbed as the string it
    /// reads as: a secret whose key ends one piece and whose value starts the next is hidden,
    /// and a clean message keeps its shared pieces.
    #[test]
    fn a_message_in_pieces_is_scrubbed_as_one_string() {
        let dir = tempfile::tempdir().unwrap();
        let cx = Context::at_version(dir.path().to_path_buf(), crate::version::NEWEST_KNOWN, 0);
        let straddling = crate::diag::Text::joined(
            crate::diag::Head::alone("job #1: \"authToken\": "),
            Thin::from("\"tok-0123456789abcdef\" is set here"),
        );
        let whole = straddling.to_string();
        let mut pieces = Diagnostic::new(&CODE, Effect::Fatal, straddling);
        let mut one = Diagnostic::new(&CODE, Effect::Fatal, whole);
        let mut sources = Sources::default();
        sources.scrub_diagnostic(&cx, &mut pieces);
        sources.scrub_diagnostic(&cx, &mut one);
        assert!(!pieces.message.contains("tok-0123"), "{}", pieces.message);
        assert!(
            pieces.message.contains(redact::REDACTED),
            "{}",
            pieces.message
        );
        assert_eq!(pieces.message, one.message);

        let clean = crate::diag::Text::joined(
            crate::diag::Head::alone("job #2: "),
            Thin::from("no schedule"),
        );
        let mut d = Diagnostic::new(&CODE, Effect::Fatal, clean);
        sources.scrub_diagnostic(&cx, &mut d);
        assert!(matches!(d.message, crate::diag::Text::Joined { .. }));
        assert_eq!(d.message, "job #2: no schedule");
    }

    /// A help shared by many findings is scrubbed once, and its findings keep sharing one
    /// scrubbed buffer; a finding whose file holds secrets it may quote is not served from
    /// that memory.
    #[test]
    fn a_shared_text_is_scrubbed_once_and_stays_shared() {
        let dir = tempfile::tempdir().unwrap();
        let cx = Context::at_version(dir.path().to_path_buf(), crate::version::NEWEST_KNOWN, 0);
        let help: Thin<str> = Thin::from("set \"authToken\": \"tok-0123456789abcdef\" again");
        let mut findings: Vec<Diagnostic> = (0..3)
            .map(|i| {
                let mut d = Diagnostic::new(&CODE, Effect::Fatal, format!("finding {i}"));
                d.help = Some(help.clone());
                d
            })
            .collect();
        let mut sources = Sources::default();
        for d in &mut findings {
            sources.scrub_diagnostic(&cx, d);
        }
        let first = findings[0].help.clone().unwrap();
        assert!(!first.contains("tok-0123456789abcdef"), "{first}");
        for d in &findings {
            assert!(Thin::ptr_eq(d.help.as_ref().unwrap(), &first));
        }
        // With something to look for from the file, the memory is not used.
        let quoted = vec!["again".to_string()];
        let clean = sources.scrub_shared(&help, &quoted).unwrap();
        assert!(
            !clean.contains("again") && !clean.contains("tok-0"),
            "{clean}"
        );
    }
}

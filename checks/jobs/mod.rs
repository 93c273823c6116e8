//! The jobs check: `.instar/jobs.json` (or `scheduler.jobsFile`), with the exact verdicts of
//! instar's JobLoader at the version in use, plus the hazards it misses (spec §3).

mod agentmd;
pub mod codes;
mod entry;
mod file_findings;
mod hazards;
mod manifests;
mod sources;

use std::collections::hash_map::Entry;
use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::cron;
use crate::diag::{Code, Diagnostic, Effect, Head, Label, Pointer, Shared, Sink, Span, Text};
use crate::engine::Context;
use crate::fix::{Change, Fix, SharedBytes};
use crate::json::{self, RootShape, Tape, Value};
use crate::json_edit;
use crate::source::{Bytes, FileState};
use crate::version::boundary;

use super::shared;
use super::Check;
use codes::*;
use entry::Remedy;
use hazards::{HazardContext, KnownMachines};
use sources::SchedulerConfig;

pub struct JobsCheck;

impl Check for JobsCheck {
    fn id(&self) -> &'static str {
        "jobs"
    }
    fn about(&self) -> &'static str {
        "jobs.json and its schedules"
    }

    fn codes(&self) -> &'static [&'static Code] {
        codes::ALL
    }

    fn run(&self, cx: &Context, sink: &mut Sink) {
        let scheduler = sources::scheduler_config(cx);
        let default_path = cx.state_path("jobs.json");
        let mut path = scheduler
            .jobs_file
            .as_ref()
            .map(|setting| setting.resolved.clone())
            .unwrap_or_else(|| default_path.clone());

        let state = cx.file(&path);
        if let Some(setting) = &scheduler.jobs_file {
            if !state.exists_for_instar() && setting.resolved != default_path {
                sink.push(file_findings::stale_jobs_file(
                    cx,
                    &scheduler,
                    setting,
                    &default_path,
                ));
                // The fix repoints instar at .instar/jobs.json, so that is the file to diagnose.
                if !cx.file(&default_path).exists_for_instar() {
                    return;
                }
                path = default_path.clone();
            }
        }

        let manifests = manifests::check(cx, &path, sink);
        let run = JobsRun::new(cx, &scheduler, path.clone(), manifests.valid_slugs);
        let state = cx.file(&path);
        let mut parses = false;
        match &*state {
            FileState::Present(loaded) => parses = run.diagnose_bytes(&loaded.bytes, sink),
            FileState::Missing => {
                if !manifests.present {
                    sink.push(file_findings::missing(cx, &path));
                }
            }
            other => sink.push(file_findings::not_loadable(
                cx,
                &path,
                other,
                run.effect_of_throw(),
            )),
        }
        file_findings::stray_temp_files(cx, &path, parses, sink);
    }
}

/// Per-run knowledge shared by every entry.
struct JobsRun<'a> {
    cx: &'a Context,
    path: PathBuf,
    /// The path once more, shared by every fix's edit: one copy, not one per broken entry.
    shared_path: Arc<Path>,
    /// What an invalid entry does at this version.
    entry_effect: Effect,
    dormant: Option<String>,
    /// Slugs of valid per-slug manifests, which replace jobs.json entries of the same slug.
    shadowing: HashSet<String>,
    now: cron::Now,
    machines: KnownMachines,
}

/// An entry that will be moved to quarantine, once its neighbours are known.
struct PendingQuarantine {
    diagnostic: usize,
    entry: usize,
}

/// What the pass over one jobs file accumulates, entry by entry.
#[derive(Default)]
struct EntryPass {
    found: Vec<Diagnostic>,
    /// Every entry's span, to compute removal edits once the whole array is known.
    entries: Vec<Span>,
    pending: Vec<PendingQuarantine>,
    slugs: SlugIndex,
    crons: entry::CronCache,
    exists_cache: HashMap<PathBuf, bool>,
    gate_programs: HashMap<String, bool>,
    /// Every entry's findings repeat their help, fix title and path: shared as they come, so
    /// a file where every job is broken holds each text once (issue #11).
    shared: Shared,
    /// The order an entry's findings are put in (`settle`), kept from entry to entry.
    order: Vec<usize>,
}

impl EntryPass {
    fn push(&mut self, mut diagnostic: Diagnostic) {
        self.shared.share(&mut diagnostic);
        self.found.push(diagnostic);
    }

    /// Puts the findings pushed since `from` (one entry's) in report order, by span start
    /// and stably, as the report sorts them: entries are disjoint and come in file order, so
    /// a file's findings then need no sort of their own (`engine::sort_for_report` checks).
    /// A quarantine waiting for one of them follows it.
    fn settle(&mut self, from: usize) {
        let start = |d: &Diagnostic| d.span.as_ref().map(|s| s.start);
        let entry = &self.found[from..];
        if entry
            .windows(2)
            .all(|pair| start(&pair[0]) <= start(&pair[1]))
        {
            return;
        }
        // A handful of findings: a stable sort of their indexes, in a buffer kept for the
        // next entry, then each finding moved once.
        let order = &mut self.order;
        order.clear();
        order.extend(0..entry.len());
        order.sort_by_key(|&i| start(&entry[i]));
        for pending in self.pending.iter_mut().rev() {
            if pending.diagnostic < from {
                break;
            }
            let was = pending.diagnostic - from;
            pending.diagnostic = from + order.iter().position(|&i| i == was).unwrap_or(was);
        }
        crate::engine::permute(&mut self.found[from..], order);
    }

    /// Drops what was kept to judge the entries (slugs, caches): the findings and the entry
    /// spans their quarantine edits need are all that is left to use.
    fn forget_entries(&mut self) {
        self.slugs = SlugIndex::default();
        self.crons = entry::CronCache::default();
        self.exists_cache = HashMap::new();
        self.gate_programs = HashMap::new();
    }
}

impl<'a> JobsRun<'a> {
    fn new(
        cx: &'a Context,
        scheduler: &SchedulerConfig,
        path: PathBuf,
        shadowing: HashSet<String>,
    ) -> Self {
        let entry_effect = if cx.version >= boundary::JOBS_SKIP_INVALID_ENTRIES {
            Effect::Skipped
        } else {
            Effect::Fatal
        };
        JobsRun {
            cx,
            shared_path: Arc::from(path.as_path()),
            path,
            entry_effect,
            dormant: sources::dormant_reason(cx, scheduler),
            shadowing,
            now: cron::now_from_epoch(cx.now),
            machines: sources::known_machines(cx),
        }
    }

    /// A whole-file failure is fatal at every version.
    fn effect_of_throw(&self) -> Effect {
        Effect::Fatal
    }

    fn with_dormancy(&self, diagnostic: Diagnostic) -> Diagnostic {
        match (&self.dormant, diagnostic.effect) {
            (Some(reason), Effect::Fatal) => diagnostic.add_help(reason),
            _ => diagnostic,
        }
    }

    /// Diagnoses the file's bytes; returns whether JSON.parse accepts them.
    fn diagnose_bytes(&self, file: &Bytes, sink: &mut Sink) -> bool {
        let bytes: &[u8] = file;
        if bytes.starts_with(&[0xEF, 0xBB, 0xBF]) {
            sink.push(self.with_dormancy(file_findings::bom(self.cx, &self.path)));
        }
        let mut tape = Tape::new();
        let mut pass = EntryPass::default();
        let result = json::stream_root_array(bytes, &mut tape, |index, value| {
            pass.entries.push(value.span());
            self.diagnose_entry(index, value, &mut pass);
        });

        match result {
            Err(err) => {
                // The file does not load at all: entry findings would only be noise.
                sink.push(
                    self.with_dormancy(file_findings::parse_error(
                        self.cx, &self.path, bytes, &err,
                    )),
                );
                false
            }
            Ok((_, RootShape::NotArray)) => {
                let root = tape.root();
                sink.push(self.with_dormancy(file_findings::not_an_array(
                    self.cx, &self.path, bytes, root,
                )));
                !bytes.starts_with(&[0xEF, 0xBB, 0xBF])
            }
            Ok((
                _,
                RootShape::Array {
                    span: array_span, ..
                },
            )) => {
                for duplicate in pass.slugs.duplicates(&self.path) {
                    pass.push(duplicate);
                }
                // What only the entries needed goes before the fixes come: their memory is
                // theirs to reuse (100,000 slugs are about 15 MB; issue #11).
                pass.forget_entries();
                for item in &pass.pending {
                    let removal = json_edit::removal_span(&array_span, &pass.entries, item.entry);
                    let entry_span = pass.entries[item.entry].clone();
                    let mut fix = self.quarantine_fix(file, entry_span, removal);
                    // The finding was shared when it was pushed; only its new fix is not.
                    pass.shared.share_fix(&mut fix);
                    pass.found[item.diagnostic].fix = Some(fix);
                }
                // The findings leave the check: their messages' heads must read whole.
                pass.shared.seal_heads();
                sink.append(pass.found);
                !bytes.starts_with(&[0xEF, 0xBB, 0xBF])
            }
        }
    }

    fn diagnose_entry(&self, index: usize, entry: Value<'_>, pass: &mut EntryPass) {
        let from = pass.found.len();
        self.diagnose_fields(index, entry, pass);
        pass.settle(from);
    }

    /// Every finding of one entry, in the order its rules run.
    fn diagnose_fields(&self, index: usize, entry: Value<'_>, pass: &mut EntryPass) {
        let fields = entry::Fields::of(&entry);
        let problems = entry::validate(entry, &fields, &mut pass.crons, &self.now);
        let hazards = self.entry_hazards(&entry, &fields, pass);
        let slug_value = fields.get("slug");
        let slug_text = slug_value.and_then(|s| s.as_str());
        let who = Who::new(slug_text.as_deref(), index);
        for (nth, problem) in problems.into_iter().enumerate() {
            self.push_problem(&who, nth, problem, pass);
        }
        for hazard in hazards {
            self.push_hazard(&who, hazard, pass);
        }
        self.push_tape_findings(index, entry, pass);
        if let (Some(value), Some(slug)) = (slug_value, &slug_text) {
            if self.shadowing.contains(slug.as_ref()) {
                let message = who.message(
                    "replaced by its per-slug manifest; this entry is not loaded",
                    &mut pass.shared,
                );
                let pointer = who.pointer("/slug", &mut pass.shared);
                pass.push(
                    Diagnostic::new(&SHADOWED_BY_MANIFEST, Effect::None, message)
                        .file(&self.path)
                        .at(value.span(), "shadowed")
                        .pointer(pointer),
                );
            }
            pass.slugs.record(slug, value.span(), index);
        }
    }

    /// The hazards of one entry: what instar loads but the runtime gets wrong.
    fn entry_hazards(
        &self,
        entry: &Value<'_>,
        fields: &entry::Fields<'_>,
        pass: &mut EntryPass,
    ) -> Vec<hazards::Hazard> {
        let mut hazard_cx = HazardContext {
            version: self.cx.version,
            now: &self.now,
            now_epoch: self.cx.now,
            machines: &self.machines,
            state_dir: &self.cx.state_dir,
            exists_cache: &mut pass.exists_cache,
            disk: self.cx,
            gate_programs: self.cx.deep.then_some(&mut pass.gate_programs),
            project_dir: &self.cx.project_dir,
            host: self.cx.host(),
        };
        hazards::check_entry(entry, fields, &mut pass.crons, &mut hazard_cx)
    }

    /// What instar does with the entry's `nth` error: only the first is its verdict.
    fn problem_note(&self, nth: usize) -> String {
        if nth > 0 {
            "instar reports only the first error of an entry; this one comes after it".to_string()
        } else if self.entry_effect == Effect::Fatal {
            format!(
                "instar {} stops at this error and the whole jobs file fails to load",
                self.cx.version
            )
        } else {
            format!(
                "instar {} skips this job and logs this error",
                self.cx.version
            )
        }
    }

    /// A rule of instar's loader the entry breaks, with its fix: a replacement of the value,
    /// or the entry's quarantine, made once the whole array is known.
    fn push_problem(&self, who: &Who, nth: usize, problem: entry::Problem, pass: &mut EntryPass) {
        let index = who.index;
        let mut diagnostic = Diagnostic::new(
            problem.code,
            self.entry_effect,
            who.message(&problem.message, &mut pass.shared),
        )
        .file(&self.path)
        .at(problem.span, problem.label)
        .pointer(who.pointer(&problem.pointer, &mut pass.shared))
        .help(self.problem_note(nth));
        match problem.remedy {
            Remedy::Replace {
                span,
                text,
                title,
                safe,
            } => {
                let change = Change::Edit {
                    file: self.shared_path.clone(),
                    span,
                    replacement: text.into(),
                };
                let fix = if safe {
                    Fix::safe(title, vec![change])
                } else {
                    Fix::unsafe_(title, vec![change])
                };
                diagnostic = diagnostic.fix(Some(fix)).add_help(
                    "alternatively, move the entry to the doctor's quarantine (jobs.invalid.json)",
                );
            }
            Remedy::Quarantine => pass.pending.push(PendingQuarantine {
                diagnostic: pass.found.len(),
                entry: index,
            }),
        }
        pass.push(self.with_dormancy(diagnostic));
    }

    /// A hazard the loader misses, with its coercion when there is one.
    fn push_hazard(&self, who: &Who, hazard: hazards::Hazard, pass: &mut EntryPass) {
        // Design §3: a `silent` finding is a warning or an error; an info (the grounding
        // audit, a list that cannot be verified) has no effect on the runtime.
        let effect = if hazard.severity == crate::diag::Severity::Info {
            Effect::None
        } else {
            Effect::Silent
        };
        let mut diagnostic = Diagnostic::new(
            hazard.code,
            effect,
            who.message(&hazard.message, &mut pass.shared),
        )
        .severity(hazard.severity)
        .file(&self.path)
        .at(hazard.span, hazard.label)
        .pointer(who.pointer(&hazard.pointer, &mut pass.shared));
        if let Some(help) = hazard.help {
            diagnostic = diagnostic.help(help);
        }
        if let Some((span, text)) = hazard.coerce {
            diagnostic = diagnostic.fix(Some(Fix::unsafe_(
                format!("replace the string with the number {text}"),
                vec![Change::Edit {
                    file: self.shared_path.clone(),
                    span,
                    replacement: text.into(),
                }],
            )));
        }
        pass.push(diagnostic);
    }

    /// Duplicate keys and invalid UTF-8 inside the entry, as its scan found them.
    fn push_tape_findings(&self, index: usize, entry: Value<'_>, pass: &mut EntryPass) {
        let tape = entry.tape();
        if tape.duplicates().is_empty() && tape.invalid_utf8().is_empty() {
            return; // the usual case: no subject to build
        }
        let subject = format!("job #{}: ", index + 1);
        for dup in tape.duplicates() {
            pass.push(shared::duplicate_key_finding(
                &DUPLICATE_KEY,
                &self.path,
                entry,
                dup,
                &subject,
            ));
        }
        for finding in
            shared::invalid_utf8_findings(&INVALID_UTF8, &self.path, tape.invalid_utf8(), &subject)
        {
            pass.push(finding);
        }
    }

    /// The entry's bytes are referred to where the file holds them, not copied.
    fn quarantine_fix(&self, file: &Bytes, entry: Span, removal: Span) -> Fix {
        let raw = SharedBytes::range_of(file.clone(), entry);
        Fix::unsafe_(
            "move this entry to the doctor's quarantine (jobs.invalid.json)",
            vec![
                Change::Edit {
                    file: self.shared_path.clone(),
                    span: removal,
                    replacement: Box::default(),
                },
                Change::QuarantineData {
                    name: "jobs.invalid.json".into(),
                    contents: raw,
                },
            ],
        )
    }
}

/// An entry as a person finds it: by slug, and by 1-based position in the file. Its name is
/// built only for entries that have something to say, once, and shared by their findings.
struct Who<'s> {
    slug: Option<&'s str>,
    index: usize,
    /// `job "slug" (#n): `, the head of each of the entry's messages (`diag::Text`).
    head: std::cell::OnceCell<Head>,
}

impl<'s> Who<'s> {
    fn new(slug: Option<&'s str>, index: usize) -> Self {
        Who {
            slug,
            index,
            head: std::cell::OnceCell::new(),
        }
    }

    fn head(&self, shared: &mut Shared) -> Head {
        let head = self.head.get_or_init(|| {
            shared.head(&match self.slug {
                Some(slug) => format!("job {slug:?} (#{}): ", self.index + 1),
                None => format!("job #{}: ", self.index + 1),
            })
        });
        head.clone()
    }

    /// `job "slug" (#n): {says}`: the entry's name shared by its findings, what it says by
    /// every finding that says the same (issue #11: no buffer of its own per finding).
    fn message(&self, says: &str, shared: &mut Shared) -> Text {
        Text::joined(self.head(shared), shared.intern(says))
    }

    /// `/{index}{member}`, the JSON Pointer of `member` (empty: the entry) in this entry.
    fn pointer(&self, member: &str, shared: &mut Shared) -> Pointer {
        Pointer::element(self.index, shared.intern(member))
    }
}

/// Slugs seen so far, to find exact and case-insensitive repeats.
#[derive(Default)]
struct SlugIndex {
    /// lowercased slug → its first occurrence. Boxed, exact-size keys, and the slug as
    /// written only where it is not the key: with every entry in it, a 100,000-job file's
    /// index was the largest thing held beside the file and its findings (issue #11).
    first: HashMap<Box<str>, FirstUse>,
    repeats: Vec<(String, Span, usize, String, Span, usize)>,
    /// Names handed out by renames, so two renames never collide.
    renamed: std::collections::HashSet<String>,
}

/// Where a slug was first used.
struct FirstUse {
    /// The slug as written; `None` when it is its lowercased key, as most slugs are.
    written: Option<Box<str>>,
    span: Span,
    index: usize,
}

impl SlugIndex {
    fn record(&mut self, slug: &str, span: Span, index: usize) {
        // Valid slugs are ASCII, where lowercasing needs no Unicode tables.
        let key: Box<str> = if slug.is_ascii() {
            slug.to_ascii_lowercase().into()
        } else {
            slug.to_lowercase().into()
        };
        match self.first.entry(key) {
            Entry::Occupied(first) => {
                let (key, first) = (first.key(), first.get());
                self.repeats.push((
                    slug.to_string(),
                    span,
                    index,
                    first.written.as_deref().unwrap_or(key).to_string(),
                    first.span.clone(),
                    first.index,
                ))
            }
            Entry::Vacant(slot) => {
                let written = (**slot.key() != *slug).then(|| Box::from(slug));
                slot.insert(FirstUse {
                    written,
                    span,
                    index,
                });
            }
        }
    }

    fn duplicates(&mut self, path: &Path) -> Vec<Diagnostic> {
        let mut out = Vec::new();
        let repeats = std::mem::take(&mut self.repeats);
        for (slug, span, index, first_slug, first_span, first_index) in repeats {
            let exact = slug == first_slug;
            let message = if exact {
                format!(
                    "job #{}: slug {slug:?} is already used by job #{}",
                    index + 1,
                    first_index + 1
                )
            } else {
                format!(
                    "job #{}: slug {slug:?} differs only in case from job #{}'s {first_slug:?}",
                    index + 1,
                    first_index + 1
                )
            };
            let renamed = self.free_name(&slug);
            self.renamed.insert(renamed.to_lowercase());
            let fix = Fix::unsafe_(
                format!("rename this job's slug to {renamed:?}"),
                vec![Change::Edit {
                    file: path.to_path_buf().into(),
                    span: span.clone(),
                    replacement: json_edit::string_literal(&renamed).into(),
                }],
            );
            let help = if exact {
                "both jobs load; the scheduler keeps one handle per slug, so the first keeps firing untracked and their state files collide"
            } else {
                "both jobs load; their per-slug state files collide on case-insensitive file systems (macOS)"
            };
            out.push(
                Diagnostic::new(&DUPLICATE_SLUG, Effect::Silent, message)
                    .file(path)
                    .at(span, "repeated slug")
                    .pointer(format!("/{index}/slug"))
                    .secondary(Label {
                        file: path.to_path_buf(),
                        span: Some(first_span),
                        message: "first used here".into(),
                    })
                    .help(help)
                    .fix(Some(fix)),
            );
        }
        out
    }

    fn free_name(&self, slug: &str) -> String {
        (2..)
            .map(|n| format!("{slug}-{n}"))
            .find(|candidate| {
                let key = candidate.to_lowercase();
                !self.first.contains_key(key.as_str()) && !self.renamed.contains(&key)
            })
            .unwrap_or_else(|| format!("{slug}-copy"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::version::Version;

    /// The index keeps a slug as written only where it is not its lowercased key: a repeat
    /// still names the first use as it was written, whichever of the two has capitals.
    #[test]
    fn repeated_slugs_name_the_first_use_as_written() {
        let mut slugs = SlugIndex::default();
        slugs.record("Daily-Run", 10..21, 0);
        slugs.record("daily-run", 40..51, 1);
        slugs.record("weekly", 70..78, 2);
        slugs.record("Weekly", 90..98, 3);
        slugs.record("Daily-Run", 110..121, 4);
        let found = slugs.duplicates(Path::new("/a/.instar/jobs.json"));
        let said: Vec<String> = found.iter().map(|d| d.message.to_string()).collect();
        assert_eq!(
            said,
            [
                "job #2: slug \"daily-run\" differs only in case from job #1's \"Daily-Run\"",
                "job #4: slug \"Weekly\" differs only in case from job #3's \"weekly\"",
                "job #5: slug \"Daily-Run\" is already used by job #1",
            ]
        );
        let firsts: Vec<_> = found.iter().map(|d| d.secondary[0].span.clone()).collect();
        assert_eq!(firsts, [Some(10..21), Some(70..78), Some(10..21)]);
        let titles: Vec<&str> = found
            .iter()
            .map(|d| d.fix.as_ref().unwrap().title())
            .collect();
        assert_eq!(
            titles,
            [
                "rename this job's slug to \"daily-run-2\"",
                "rename this job's slug to \"Weekly-2\"",
                "rename this job's slug to \"Daily-Run-3\"",
            ]
        );
    }

    /// Entries whose findings come out of order (an invalid priority is found before the
    /// slug's grounding audit, which points earlier): the check still pushes them by span, so
    /// the report needs no sort of its own, and each quarantine fix stays with its finding.
    #[test]
    fn findings_come_in_report_order_with_their_fixes() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join(".instar")).unwrap();
        let job = |slug: &str, priority: &str| {
            format!(
                r#"{{"slug": "{slug}", "name": "n", "description": "d", "schedule": "0 9 * * *", "priority": "{priority}", "expectedDurationMinutes": 1, "model": "haiku", "enabled": true, "execute": {{"type": "prompt", "value": "v"}}}}"#
            )
        };
        let text = format!(
            "[\n{},\n{},\n{}\n]\n",
            job("a", "urgent"),
            job("b", "high"),
            job("c", "soon")
        );
        std::fs::write(dir.path().join(".instar/jobs.json"), &text).unwrap();
        let version: Version = "0.28.44".parse().unwrap();
        let cx = Context::at_version(dir.path().to_path_buf(), version, 0);
        let mut sink = Sink::default();
        JobsCheck.run(&cx, &mut sink);
        let found = sink.into_vec();
        let starts: Vec<usize> = found
            .iter()
            .filter_map(|d| d.span.clone())
            .map(|s| s.start)
            .collect();
        assert!(found.len() >= 4, "{found:#?}");
        assert!(starts.windows(2).all(|w| w[0] <= w[1]), "{starts:?}");
        for d in &found {
            let quarantined = d
                .fix
                .as_ref()
                .is_some_and(|f| f.title().contains("quarantine"));
            assert_eq!(quarantined, d.code.id == "jobs/invalid-priority", "{d:#?}");
            if let Some(fix) = d.fix.as_ref().filter(|_| quarantined) {
                // The entry it moves holds the finding.
                let moved = fix.changes().iter().find_map(|c| match c {
                    Change::QuarantineData { contents, .. } => Some(contents.to_vec()),
                    _ => None,
                });
                let moved = String::from_utf8(moved.unwrap()).unwrap();
                let at = d.span.clone().unwrap();
                assert!(moved.contains(&text[at]), "{moved}");
                assert!(
                    moved.contains("\"priority\": \"urgent\"")
                        || moved.contains("\"priority\": \"soon\"")
                );
            }
        }
    }
}

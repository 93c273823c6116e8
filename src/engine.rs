//! The check loop: find the agent, decide which instar rules apply, run the selected checks, and
//! collect their findings into a `Report`. Nothing here prints.

use std::cell::RefCell;
use std::collections::HashMap;
use std::panic::{self, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::rc::Rc;
use std::sync::Arc;
use std::time::Instant;

pub use crate::catalogue::catalogue;
use crate::checks;
use crate::diag::{Diagnostic, Severity, Sink};
pub use crate::host::HostOs;
use crate::host::{Host, SystemHost};
use crate::json::{self, ParseError, ParseOutcome, Tape};
use crate::source::{self, FileState};
use crate::version::{Version, VersionSource};

/// The folder name instar keeps its state in.
pub const STATE_DIR: &str = ".instar";

/// Everything a check may know about the run, and the only way it reads files.
pub struct Context {
    pub project_dir: PathBuf,
    pub state_dir: PathBuf,
    /// The version whose rules are applied (clamped into the known range).
    pub version: Version,
    /// The version as detected or given, before clamping.
    pub detected_version: Option<Version>,
    pub version_source: VersionSource,
    /// "Now" as seconds since the Unix epoch (`INSTAR_DOCTOR_NOW` fixes it for tests).
    pub now: i64,
    /// Also run the checks that spawn processes or probe the host.
    pub deep: bool,
    /// The machine: OS, liveness, PATH, probes. Tests replace it with a `FakeHost`.
    host: Arc<dyn Host>,
    /// `--instar-home`: the per-user folder, when given (else the host's `~/.instar`).
    instar_home: Option<PathBuf>,
    /// Under `scan` the machine area runs once for the whole machine, so each agent's own run
    /// leaves it out (see `checks/machine`).
    pub machine_scanned: bool,
    /// Areas the caller runs once for many agents (a scan's machine area): left out of this
    /// agent's run, and its report says where they went instead of "not run".
    pub areas_run_once: &'static [&'static str],
    /// The only areas this kind of run covers (`instar-doctor machine`: the per-user files, no
    /// agent); `None` for an agent's run. The report names no other area and no agent.
    pub only_areas: Option<&'static [&'static str]>,
    /// Only findings that stop instar's boot are wanted (the preflight): a check may skip work
    /// that can only yield other findings.
    pub fatal_only: bool,
    files: RefCell<HashMap<PathBuf, Rc<FileState>>>,
    docs: RefCell<HashMap<PathBuf, Rc<JsonDoc>>>,
    /// The paths git tracks, read once when first asked (src/context_disk.rs).
    pub(crate) git_tracked: std::cell::OnceCell<Option<Rc<[String]>>>,
    /// The shadow install's version, read once when first asked (src/context_disk.rs).
    pub(crate) shadow: std::cell::OnceCell<ShadowVersion>,
    /// Each read file's secret ranges, lexed once per run (see `secret_spans`).
    secrets: RefCell<HashMap<PathBuf, Arc<Vec<crate::diag::Span>>>>,
}

/// A JSON file read once and parsed once, with JSON.parse's verdict on it, shared by every
/// check that reads it (config.json alone is asked for by half a dozen checks).
///
/// The tape borrows the bytes, so the two are kept together in one self-referential cell; the
/// files that several checks share (config.json, the registry, identity.json) are small, and the
/// large jobs.json is streamed by its own check instead.
pub struct JsonDoc {
    parsed_doc: ParsedDoc,
    pub parsed: Result<ParseOutcome, ParseError>,
}

/// The parse's tape when the file parses; `None` on a syntax error.
type MaybeTape<'src> = Option<Tape<'src>>;

self_cell::self_cell!(
    struct ParsedDoc {
        owner: crate::source::Bytes,
        #[covariant]
        dependent: MaybeTape,
    }
);

impl JsonDoc {
    /// Parses `bytes` once; the verdict and the tape are kept for every later reader.
    pub fn parse(bytes: crate::source::Bytes) -> Self {
        let mut parsed = None;
        let parsed_doc = ParsedDoc::new(bytes, |bytes| {
            let mut tape = Tape::new();
            let verdict = json::parse(bytes, &mut tape);
            let ok = verdict.is_ok();
            parsed = Some(verdict);
            ok.then_some(tape)
        });
        JsonDoc {
            parsed_doc,
            parsed: parsed.expect("the builder ran"),
        }
    }

    /// The file's bytes, as read.
    pub fn bytes(&self) -> &crate::source::Bytes {
        self.parsed_doc.borrow_owner()
    }

    /// The parsed document when the file parses (a BOM alone still yields the content behind
    /// it: check `parsed` for that); `None` on a syntax error.
    pub fn tape(&self) -> Option<&Tape<'_>> {
        self.parsed_doc.borrow_dependent().as_ref()
    }
}

impl Context {
    pub fn new(
        project_dir: PathBuf,
        version: Version,
        detected_version: Option<Version>,
        version_source: VersionSource,
        now: i64,
        deep: bool,
    ) -> Self {
        let state_dir = project_dir.join(STATE_DIR);
        Context {
            project_dir,
            state_dir,
            version,
            detected_version,
            version_source,
            now,
            deep,
            host: Arc::new(SystemHost),
            instar_home: None,
            machine_scanned: false,
            areas_run_once: &[],
            only_areas: None,
            fatal_only: false,
            files: RefCell::default(),
            docs: RefCell::default(),
            git_tracked: Default::default(),
            shadow: Default::default(),
            secrets: RefCell::default(),
        }
    }

    /// A run at the version given, as `--instar-version` gives it, without `--deep`: how tests,
    /// benches and fuzz targets set up a run.
    pub fn at_version(project_dir: PathBuf, version: Version, now: i64) -> Self {
        Context::new(
            project_dir,
            version,
            Some(version),
            VersionSource::Flag,
            now,
            false,
        )
    }

    /// The same run with or without the checks that spawn processes or probe the host.
    pub fn with_deep(mut self, deep: bool) -> Self {
        self.deep = deep;
        self
    }

    /// The same run on another host (tests: a fake macOS or Linux machine).
    pub fn with_host(mut self, host: impl Host + 'static) -> Self {
        self.host = Arc::new(host);
        self
    }

    /// `--instar-home`: the per-user folder to read instead of `~/.instar`.
    pub fn with_instar_home(mut self, home: Option<PathBuf>) -> Self {
        self.instar_home = home;
        self
    }

    /// The per-user instar folder (`--instar-home`, else the host's `~/.instar`).
    pub fn instar_home(&self) -> Option<PathBuf> {
        self.instar_home.clone().or_else(|| self.host.instar_home())
    }

    /// The same run on a host shared with other contexts (`scan` checks many agents of one
    /// machine, each in its own context).
    pub fn with_shared_host(mut self, host: Arc<dyn Host>) -> Self {
        self.host = host;
        self
    }

    /// The machine the agent runs on; every question to it goes through here.
    pub fn host(&self) -> &dyn Host {
        &*self.host
    }

    /// The host's operating system: platform rules (launchd, B-LINUX) key on it.
    pub fn host_os(&self) -> HostOs {
        self.host.os()
    }

    /// The home folder (`~/Library/LaunchAgents` lives there); `None` when unknown.
    pub fn home_dir(&self) -> Option<PathBuf> {
        self.host.home_dir()
    }

    /// Whether the process with this pid runs (`kill(pid, 0)`; EPERM counts as alive).
    pub fn process_alive(&self, pid: u32) -> bool {
        self.host.process_alive(pid)
    }

    /// A path inside `.instar/`.
    pub fn state_path(&self, relative: &str) -> PathBuf {
        self.state_dir.join(relative)
    }

    /// Reads a file once per run; later calls share the first read.
    pub fn file(&self, path: &Path) -> Rc<FileState> {
        if let Some(state) = self.files.borrow().get(path) {
            return Rc::clone(state);
        }
        let state = Rc::new(source::read(path));
        self.files
            .borrow_mut()
            .insert(path.to_path_buf(), Rc::clone(&state));
        state
    }

    /// Reads and parses a JSON file once per run; `None` when it is not a readable file.
    pub fn json(&self, path: &Path) -> Option<Rc<JsonDoc>> {
        if let Some(doc) = self.docs.borrow().get(path) {
            return Some(Rc::clone(doc));
        }
        let state = self.file(path);
        let loaded = state.loaded()?;
        let doc = Rc::new(JsonDoc::parse(loaded.bytes.clone()));
        self.docs
            .borrow_mut()
            .insert(path.to_path_buf(), Rc::clone(&doc));
        Some(doc)
    }

    /// Bytes of a file already read this run (for rendering snippets).
    pub fn bytes_of(&self, path: &Path) -> Option<crate::source::Bytes> {
        self.files
            .borrow()
            .get(path)
            .and_then(|state| state.loaded().map(|l| l.bytes.clone()))
    }

    /// The secret ranges of a file read this run, over its whole bytes (`redact`), lexed on
    /// first use and kept for the run: the redaction of the findings as the checks make them
    /// and every render after it share one lexing of a 60 MB file, not one each (issue #11).
    pub fn secret_spans(&self, path: &Path) -> Option<Arc<Vec<crate::diag::Span>>> {
        if let Some(spans) = self.secrets.borrow().get(path) {
            return Some(spans.clone());
        }
        let bytes = self.bytes_of(path)?;
        let spans = Arc::new(crate::redact::file_secret_spans(path, &bytes));
        self.secrets
            .borrow_mut()
            .insert(path.to_path_buf(), spans.clone());
        Some(spans)
    }

    /// Names of the entries of a directory, sorted; empty when it cannot be listed.
    pub fn list_dir(&self, dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = match std::fs::read_dir(dir) {
            Ok(entries) => entries
                .filter_map(|e| e.ok())
                .filter_map(|e| e.file_name().into_string().ok())
                .collect(),
            Err(_) => Vec::new(),
        };
        names.sort();
        names
    }

    /// At most `cap` entry names of a directory, sorted: areas that look into folders instar
    /// lets grow (sessions, scripts, skills) stay bounded on agents with thousands of entries.
    /// The second value says whether the listing was cut.
    pub fn list_dir_capped(&self, dir: &Path, cap: usize) -> (Vec<String>, bool) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return (Vec::new(), false);
        };
        let mut names = Vec::new();
        let mut cut = false;
        for entry in entries.filter_map(|e| e.ok()) {
            if names.len() == cap {
                cut = true;
                break;
            }
            if let Ok(name) = entry.file_name().into_string() {
                names.push(name);
            }
        }
        names.sort();
        (names, cut)
    }

    /// The size of a regular file (symlinks followed) from its metadata, without opening it:
    /// how large append-only files are judged, and how a scan decides a file is too big to read.
    pub fn file_len(&self, path: &Path) -> Option<u64> {
        std::fs::metadata(path)
            .ok()
            .filter(|m| m.is_file())
            .map(|m| m.len())
    }

    /// Whether `path` carries the extended attribute `name` (through the host seam).
    pub fn has_xattr(&self, path: &Path, name: &str) -> bool {
        self.host.has_xattr(path, name)
    }

    /// Whether a path exists as instar's `existsSync` sees it (symlinks followed).
    pub fn exists(&self, path: &Path) -> bool {
        path.exists()
    }

    /// The path relative to the project with `/` separators, or absolute when outside it.
    pub fn display_path(&self, path: &Path) -> String {
        display_path(&self.project_dir, path)
    }
}

pub fn display_path(project_dir: &Path, path: &Path) -> String {
    match path.strip_prefix(project_dir) {
        Ok(rel) => rel
            .components()
            .map(|c| c.as_os_str().to_string_lossy())
            .collect::<Vec<_>>()
            .join("/"),
        Err(_) => path.to_string_lossy().into_owned(),
    }
}

/// Which checks and codes to run.
#[derive(Debug, Default, Clone)]
pub struct Selection {
    pub select: Vec<String>,
    pub ignore: Vec<String>,
}

impl Selection {
    fn matches(pattern: &str, check: &str, code: Option<&str>) -> bool {
        pattern == check || code == Some(pattern)
    }

    pub fn runs_check(&self, check: &str) -> bool {
        let selected = self.select.is_empty()
            || self
                .select
                .iter()
                .any(|p| p == check || p.split('/').next() == Some(check));
        selected && !self.ignore.iter().any(|p| p == check)
    }

    pub fn keeps(&self, check: &str, code: &str) -> bool {
        let selected = self.select.is_empty()
            || self
                .select
                .iter()
                .any(|p| Self::matches(p, check, Some(code)));
        selected
            && !self
                .ignore
                .iter()
                .any(|p| Self::matches(p, check, Some(code)))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CheckStatus {
    Ok,
    Warning,
    Error,
    Crashed,
}

impl CheckStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            CheckStatus::Ok => "ok",
            CheckStatus::Warning => "warning",
            CheckStatus::Error => "error",
            CheckStatus::Crashed => "crashed",
        }
    }
}

#[derive(Debug, Clone)]
pub struct CheckOutcome {
    pub id: &'static str,
    pub status: CheckStatus,
    pub duration_ms: f64,
}

/// The result of one run: per-check outcomes and every finding, in report order.
pub struct Report {
    pub checks: Vec<CheckOutcome>,
    pub diagnostics: Vec<Diagnostic>,
}

impl Report {
    pub fn crashed(&self) -> bool {
        self.checks.iter().any(|c| c.status == CheckStatus::Crashed)
    }

    pub fn count(&self, severity: Severity) -> usize {
        self.diagnostics
            .iter()
            .filter(|d| d.severity == severity)
            .count()
    }
}

/// Runs every selected check of the table, in table order. A check that panics is reported as
/// crashed; the others still run.
pub fn run(cx: &Context, selection: &Selection) -> Report {
    let mut outcomes = Vec::new();
    let mut diagnostics = Vec::new();
    for check in checks::TABLE {
        if !selection.runs_check(check.id()) {
            continue;
        }
        let started = Instant::now();
        let mut sink = Sink::default();
        let result = panic::catch_unwind(AssertUnwindSafe(|| {
            crate::write::panic_failpoint(check.id(), &cx.project_dir);
            check.run(cx, &mut sink)
        }));
        let duration_ms = started.elapsed().as_secs_f64() * 1000.0;
        let mut found: Vec<Diagnostic> = sink
            .into_vec()
            .into_iter()
            .filter(|d| selection.keeps(check.id(), d.code.id))
            .collect();
        sort_for_report(cx, &mut found);
        let status = match result {
            Err(_) => CheckStatus::Crashed,
            Ok(()) => status_of(&found),
        };
        outcomes.push(CheckOutcome {
            id: check.id(),
            status,
            duration_ms,
        });
        crate::diag::append_keeping_larger(&mut diagnostics, found);
    }
    // A message may quote the bytes it points at; a secret among them is hidden here, once,
    // before anything renders or records the finding (design §3).
    let mut sources = crate::redact::Sources::default();
    for d in &mut diagnostics {
        sources.scrub_diagnostic(cx, d);
    }
    Report {
        checks: outcomes,
        diagnostics,
    }
}

fn status_of(found: &[Diagnostic]) -> CheckStatus {
    match found.iter().map(|d| d.severity).max() {
        Some(Severity::Error) => CheckStatus::Error,
        Some(Severity::Warning) => CheckStatus::Warning,
        _ => CheckStatus::Ok,
    }
}

/// Within a check: by file, findings without a span first, then by span start.
fn sort_for_report(cx: &Context, found: &mut [Diagnostic]) {
    // Each file's shown path built once, not twice per comparison (issue #11), and ranked
    // once: the key of each finding is two numbers, not a copy of its path (100,000 copies
    // for a broken jobs.json). The sort is stable, as before: findings of one place keep the
    // check's order.
    let mut shown: HashMap<&std::path::Path, String> = HashMap::new();
    for d in found.iter() {
        if let Some(p) = d.file.as_deref() {
            shown.entry(p).or_insert_with(|| cx.display_path(p));
        }
    }
    // Ranked by the shown path, as the findings were sorted by it (two paths shown alike
    // share a rank and keep the check's order).
    let mut names: Vec<&String> = shown.values().collect();
    names.sort();
    names.dedup();
    let rank_of = |p: &std::path::Path| shown.get(p).and_then(|s| names.binary_search(&s).ok());
    let keys: Vec<(Option<usize>, Option<usize>)> = found
        .iter()
        .map(|d| {
            let file = d.file.as_deref().and_then(rank_of);
            (file, d.span.as_ref().map(|s| s.start))
        })
        .collect();
    let mut order: Vec<usize> = (0..found.len()).collect();
    order.sort_by_key(|&i| keys[i]);
    drop(keys);
    permute(found, order);
}

/// Puts `items` in `order` (`order[k]` is the index of the item that goes to position `k`),
/// by swaps along each cycle: the findings move once, never copied (issue #11).
fn permute<T>(items: &mut [T], mut order: Vec<usize>) {
    for start in 0..items.len() {
        let mut at = start;
        loop {
            let next = order[at];
            order[at] = at;
            if next == start || next == at {
                break;
            }
            items.swap(at, next);
            at = next;
        }
    }
}

/// Why no agent could be checked.
#[derive(Debug, thiserror::Error)]
pub enum DiscoveryError {
    #[error("no instar agent found: {0} has no .instar/ folder")]
    NoStateDir(String),
    #[error("--dir {0} does not exist")]
    DirMissing(String),
    #[error("--dir {0} is not a directory")]
    NotADirectory(String),
    #[error("no instar agent found in {0} or any parent folder (looked for .instar/ holding config.json, jobs.json, machine/ or machines/)")]
    NotFound(String),
    #[error(".instar/ in {0} cannot be read: {1}")]
    Unreadable(String, String),
}

/// Resolves `--dir` (a path ending in `.instar` means its parent) or walks up from `cwd`.
pub fn discover(dir: Option<&Path>, cwd: &Path) -> Result<PathBuf, DiscoveryError> {
    match dir {
        Some(dir) => {
            let dir = if dir.is_absolute() {
                dir.to_path_buf()
            } else {
                cwd.join(dir)
            };
            let project = if dir.file_name().is_some_and(|n| n == STATE_DIR) {
                dir.parent().map(Path::to_path_buf).unwrap_or(dir)
            } else {
                dir
            };
            let project = normalize(&project);
            let state = project.join(STATE_DIR);
            match std::fs::read_dir(&state) {
                Ok(_) => Ok(project),
                Err(err) if state.is_dir() => Err(DiscoveryError::Unreadable(
                    project.display().to_string(),
                    err.to_string(),
                )),
                // Say what is wrong with the folder itself before blaming a missing .instar/.
                Err(_) => Err(match std::fs::metadata(&project) {
                    Err(_) => DiscoveryError::DirMissing(project.display().to_string()),
                    Ok(meta) if !meta.is_dir() => {
                        DiscoveryError::NotADirectory(project.display().to_string())
                    }
                    Ok(_) => DiscoveryError::NoStateDir(project.display().to_string()),
                }),
            }
        }
        None => {
            let start = normalize(cwd);
            let mut here = Some(start.as_path());
            while let Some(folder) = here {
                if looks_like_agent(&folder.join(STATE_DIR)) {
                    return Ok(folder.to_path_buf());
                }
                here = folder.parent();
            }
            Err(DiscoveryError::NotFound(start.display().to_string()))
        }
    }
}

/// The per-user `~/.instar/` (agent registry, `agents/`) holds none of these, so it never counts.
pub fn looks_like_agent(state: &Path) -> bool {
    ["config.json", "jobs.json", "machine", "machines"]
        .iter()
        .any(|name| std::fs::symlink_metadata(state.join(name)).is_ok())
}

/// Removes `.` and `..` lexically so that displayed paths are stable; symlinks are kept as given.
pub fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for component in path.components() {
        match component {
            std::path::Component::CurDir => {}
            std::path::Component::ParentDir => {
                out.pop();
            }
            other => out.push(other.as_os_str()),
        }
    }
    out
}

/// The version in `.instar/shadow-install/node_modules/instar/package.json`, if it can be read.
pub enum ShadowVersion {
    Absent,
    Found(Version),
    Broken { path: PathBuf, reason: String },
}

/// Where the shadow install keeps instar's own `package.json`, under the state folder.
pub const SHADOW_PACKAGE: &str = "shadow-install/node_modules/instar/package.json";

/// The shadow install's version of the agent in `project_dir`, for callers that decide the
/// version before a `Context` exists (checks ask `Context::shadow_version`, read once).
pub fn shadow_install_version(project_dir: &Path) -> ShadowVersion {
    let path = project_dir.join(STATE_DIR).join(SHADOW_PACKAGE);
    let state = source::read(&path);
    shadow_version_of(path, &state)
}

/// The version a read of the shadow install's `package.json` gives.
pub fn shadow_version_of(path: PathBuf, state: &FileState) -> ShadowVersion {
    let loaded = match state {
        FileState::Missing => return ShadowVersion::Absent,
        FileState::Present(loaded) => loaded,
        other => {
            return ShadowVersion::Broken {
                path,
                reason: other.describe(),
            }
        }
    };
    let mut tape = Tape::new();
    let broken = |reason: String| ShadowVersion::Broken {
        path: path.clone(),
        reason,
    };
    match json::parse(&loaded.bytes, &mut tape) {
        Err(err) => broken(err.message),
        Ok(_) => {
            let root = tape.root();
            match root.get("version").and_then(|v| v.as_str()) {
                Some(text) => match text.parse() {
                    Ok(version) => ShadowVersion::Found(version),
                    Err(err) => broken(format!("{err}")),
                },
                None => broken("it has no \"version\" string".to_string()),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn permute_moves_each_item_to_its_place() {
        for order in [
            vec![],
            vec![0],
            vec![2, 0, 1],
            vec![1, 0, 3, 2, 4],
            vec![4, 3, 2, 1, 0],
            vec![3, 0, 4, 1, 2, 5],
        ] {
            let mut items: Vec<usize> = (0..order.len()).map(|i| i * 10).collect();
            let expected: Vec<usize> = order.iter().map(|&i| i * 10).collect();
            permute(&mut items, order);
            assert_eq!(items, expected);
        }
    }

    #[test]
    fn selection_by_check_and_by_code() {
        let sel = Selection {
            select: vec!["jobs/invalid-cron".into()],
            ignore: vec![],
        };
        assert!(sel.runs_check("jobs"));
        assert!(!sel.runs_check("doctor"));
        assert!(sel.keeps("jobs", "jobs/invalid-cron"));
        assert!(!sel.keeps("jobs", "jobs/duplicate-slug"));

        let sel = Selection {
            select: vec![],
            ignore: vec!["jobs/ungrounded".into()],
        };
        assert!(sel.runs_check("jobs"));
        assert!(!sel.keeps("jobs", "jobs/ungrounded"));
        assert!(sel.keeps("jobs", "jobs/invalid-cron"));
    }

    #[test]
    fn discovery_walks_up_to_an_agent_and_ignores_bare_instar_dirs() {
        let dir = tempfile::tempdir().unwrap();
        let project = dir.path().join("agent");
        std::fs::create_dir_all(project.join(".instar")).unwrap();
        std::fs::write(project.join(".instar/jobs.json"), "[]").unwrap();
        let nested = project.join("src/deep");
        std::fs::create_dir_all(&nested).unwrap();
        // A bare .instar/ in between (like the per-user registry) does not stop the walk.
        std::fs::create_dir_all(project.join("src/.instar")).unwrap();
        std::fs::write(project.join("src/.instar/registry.json"), "{}").unwrap();
        assert_eq!(discover(None, &nested).unwrap(), project);
        assert_eq!(
            discover(Some(&project.join(".instar")), dir.path()).unwrap(),
            project
        );
        assert!(matches!(
            discover(Some(Path::new("nope")), dir.path()),
            Err(DiscoveryError::DirMissing(_))
        ));
        assert!(matches!(
            discover(Some(Path::new("agent/.instar/jobs.json")), dir.path()),
            Err(DiscoveryError::NotADirectory(_))
        ));
        assert!(matches!(
            discover(Some(Path::new("agent/src/deep")), dir.path()),
            Err(DiscoveryError::NoStateDir(_))
        ));
    }
}

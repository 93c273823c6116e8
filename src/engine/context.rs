//! `Context`: everything a check may know about the run, and its only door to the files and the
//! machine. What it asks the disk besides contents is in `disk.rs` beside it.

use std::cell::RefCell;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::rc::Rc;
use std::sync::Arc;

use super::json_doc::JsonDoc;
use super::shadow::ShadowVersion;
use crate::host::{Host, HostOs, SystemHost};
use crate::paths::{display_path, STATE_DIR};
use crate::source::{self, FileState};
use crate::version::{Version, VersionSource};

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
    /// The paths git tracks, read once when first asked (disk.rs).
    pub(crate) git_tracked: std::cell::OnceCell<Option<Rc<[String]>>>,
    /// The shadow install's version, read once when first asked (disk.rs).
    pub(crate) shadow: std::cell::OnceCell<ShadowVersion>,
    /// Each read file's secret ranges, lexed once per run (see `secret_spans`).
    secrets: RefCell<HashMap<PathBuf, Arc<Vec<crate::diag::Span>>>>,
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

    /// Whether `path` carries the extended attribute `name` (through the host seam).
    pub fn has_xattr(&self, path: &Path, name: &str) -> bool {
        self.host.has_xattr(path, name)
    }

    /// The path relative to the project with `/` separators, or absolute when outside it.
    pub fn display_path(&self, path: &Path) -> String {
        display_path(&self.project_dir, path)
    }
}

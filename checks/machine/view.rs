//! What the machine knows, gathered once: the per-user registry, the agents it and
//! `<instar-home>/agents/*` (and, under `scan`, the scan roots) name, and facts about each agent
//! that other agents can collide with. Only reads, through `Context`.

use std::path::{Path, PathBuf};

use crate::diag::Span;
use crate::engine::{self, Context, ShadowVersion, STATE_DIR};
use crate::source::FileState;
use crate::version::{self, Version};

/// `~/.instar/registry.json` as instar's `loadRegistry` sees it.
pub enum RegistryFile {
    /// No file: instar starts an empty registry (healthy on a fresh machine).
    Missing,
    /// Not loadable as instar loads it; `span` marks the spot when there is one.
    Corrupt {
        reason: String,
        span: Option<Span>,
        label: &'static str,
    },
    Loaded(Vec<Entry>),
}

/// One registry entry, as far as its fields have the types instar writes.
#[derive(Debug, Clone)]
pub struct Entry {
    pub index: usize,
    pub span: Span,
    pub name: Option<String>,
    pub path: Option<String>,
    pub port: Option<f64>,
    pub port_span: Option<Span>,
}

impl Entry {
    /// The lifeline registers `<projectDir>-lifeline` with port+1000: no agent of its own.
    pub fn is_lifeline(&self) -> bool {
        self.path
            .as_deref()
            .is_some_and(|p| p.ends_with("-lifeline"))
            || self
                .name
                .as_deref()
                .is_some_and(|n| n.ends_with("-lifeline"))
    }
}

/// An agent home and what others can collide with.
#[derive(Debug, Clone)]
pub struct Agent {
    pub dir: PathBuf,
    /// `realpath(dir)`, what instar registers (falls back to `dir`).
    pub real: PathBuf,
    pub name: String,
    /// Where config.json spells `projectName` (none when instar falls back to the folder name).
    pub name_span: Option<Span>,
    pub port: Option<f64>,
    pub port_span: Option<Span>,
    /// The rules that apply to it (its shadow install's version, else the run's).
    pub version: Version,
}

pub struct Machine {
    pub home: PathBuf,
    pub registry_path: PathBuf,
    pub registry: RegistryFile,
    /// The `entries` array's own span (brackets included), when it is one: the fixes edit it.
    pub entries_span: Option<Span>,
    pub agents: Vec<Agent>,
}

pub const REGISTRY: &str = "registry.json";

impl Machine {
    /// The machine as seen from `cx`: its instar home, plus `extra` agent homes (this agent, or
    /// everything a scan found). `None` when there is no home folder to look at.
    pub fn gather(cx: &Context, extra: &[PathBuf]) -> Option<Machine> {
        let home = cx.instar_home()?;
        let registry_path = home.join(REGISTRY);
        let (registry, entries_span) = read_registry(cx, &registry_path);
        let mut dirs: Vec<PathBuf> = extra.to_vec();
        if let RegistryFile::Loaded(entries) = &registry {
            dirs.extend(
                entries
                    .iter()
                    .filter(|e| !e.is_lifeline())
                    .filter_map(|e| e.path.as_deref().map(PathBuf::from)),
            );
        }
        dirs.extend(
            cx.list_dir(&home.join("agents"))
                .into_iter()
                .map(|name| home.join("agents").join(name)),
        );
        let mut agents: Vec<Agent> = Vec::new();
        for dir in dirs {
            if !engine::looks_like_agent(&dir.join(STATE_DIR)) {
                continue;
            }
            let real = cx.canonicalize(&dir).unwrap_or_else(|| dir.clone());
            if agents.iter().any(|a| a.real == real) {
                continue;
            }
            agents.push(agent_facts(cx, dir, real));
        }
        agents.sort_by(|a, b| a.dir.cmp(&b.dir));
        Some(Machine {
            home,
            registry_path,
            registry,
            entries_span,
            agents,
        })
    }

    pub fn entries(&self) -> &[Entry] {
        match &self.registry {
            RegistryFile::Loaded(entries) => entries,
            _ => &[],
        }
    }

    /// The paths the registry lists (lifeline entries left out), for `scan`'s discovery.
    pub fn registry_paths(&self) -> Vec<PathBuf> {
        self.entries()
            .iter()
            .filter(|e| !e.is_lifeline())
            .filter_map(|e| e.path.as_deref().map(PathBuf::from))
            .collect()
    }
}

fn agent_facts(cx: &Context, dir: PathBuf, real: PathBuf) -> Agent {
    let config = dir.join(STATE_DIR).join("config.json");
    let (mut name, mut port) = (None, None);
    if let Some(doc) = cx.json(&config) {
        if let Some(tape) = doc.tape() {
            let root = tape.root();
            name = root
                .get("projectName")
                .and_then(|v| Some((v.as_str()?.into_owned(), v.span())));
            port = root.get("port").and_then(|v| Some((v.as_f64()?, v.span())));
        }
    }
    let (port, port_span) = port.unzip();
    let (name, name_span) = name.unzip();
    // instar names an agent after its folder when the config has no projectName.
    let name = name.unwrap_or_else(|| {
        dir.file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default()
    });
    let version = if dir == cx.project_dir || cx.version_source == version::VersionSource::Flag {
        cx.version
    } else {
        match engine::shadow_install_version(&dir) {
            ShadowVersion::Found(v) => version::rules_for(v),
            _ => cx.version,
        }
    };
    Agent {
        dir,
        real,
        name,
        name_span,
        port,
        port_span,
        version,
    }
}

fn read_registry(cx: &Context, path: &Path) -> (RegistryFile, Option<Span>) {
    let file = read_registry_file(cx, path);
    let span = match &file {
        RegistryFile::Loaded(_) => cx
            .json(path)
            .and_then(|doc| Some(doc.tape()?.root().get("entries")?.span())),
        _ => None,
    };
    (file, span)
}

fn read_registry_file(cx: &Context, path: &Path) -> RegistryFile {
    let state = cx.file(path);
    match &*state {
        FileState::Missing => return RegistryFile::Missing,
        FileState::Present(_) => {}
        other => {
            return RegistryFile::Corrupt {
                reason: format!("it {}", other.describe()),
                span: None,
                label: "",
            }
        }
    }
    let Some(doc) = cx.json(path) else {
        return RegistryFile::Missing;
    };
    match &doc.parsed {
        Err(err) => {
            return RegistryFile::Corrupt {
                reason: format!("JSON.parse rejects it: {}", err.message),
                span: Some(err.span.clone()),
                label: "JSON.parse fails here",
            }
        }
        Ok(outcome) if outcome.bom => {
            return RegistryFile::Corrupt {
                reason: "it starts with a byte-order mark, which JSON.parse rejects".to_string(),
                span: Some(0..3),
                label: "a byte-order mark",
            }
        }
        Ok(_) => {}
    }
    let Some(tape) = doc.tape() else {
        return RegistryFile::Missing;
    };
    let root = tape.root();
    if root.kind() != crate::json::Kind::Object {
        return RegistryFile::Corrupt {
            reason: "its root is not an object, so instar finds no `entries`".to_string(),
            span: Some(root.span()),
            label: "not an object",
        };
    }
    let entries = root.get("entries");
    // No `entries` at all loses nothing: instar starts the list.
    if entries.is_none() {
        return RegistryFile::Loaded(Vec::new());
    }
    let Some(entries) = entries.filter(|e| e.kind() == crate::json::Kind::Array) else {
        let span = entries.map(|e| e.span()).unwrap_or_else(|| root.span());
        return RegistryFile::Corrupt {
            reason: "its `entries` is not an array".to_string(),
            span: Some(span),
            label: "not an array",
        };
    };
    RegistryFile::Loaded(
        entries
            .elements()
            .enumerate()
            .map(|(index, e)| Entry {
                index,
                span: e.span(),
                name: e
                    .get("name")
                    .and_then(|v| v.as_str())
                    .map(|s| s.into_owned()),
                path: e
                    .get("path")
                    .and_then(|v| v.as_str())
                    .map(|s| s.into_owned()),
                port: e.get("port").and_then(|v| v.as_f64()),
                port_span: e.get("port").map(|v| v.span()),
            })
            .collect(),
    )
}

//! `instar-doctor scan [ROOT...]` (design §8): every agent under the roots, or every agent the
//! per-user folder knows, checked in parallel and read-only, plus the machine area once for all
//! of them. Reports stream: each agent's part is written as soon as it and the agents before it
//! are done, so memory does not grow with the number of agents.

mod agent;
pub mod discover;
mod output;
pub mod pool;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use clap::parser::ValueSource;
use clap::ArgMatches;

use crate::checks;
pub use crate::cli::ScanFormat;
use crate::cli::{Cli, ScanArgs};
use crate::diag::{Severity, Sink};
use crate::engine::{Context, Report, Selection};
use crate::exit;
use crate::host::{Host, SystemHost};
use crate::render::human::HumanOptions;
use crate::version::{Version, VersionSource, NEWEST_KNOWN};

use output::Output;

/// The option ids `scan` has its own copy of (for the message that says they go after it).
pub fn takes(id: &str) -> bool {
    matches!(
        id,
        "format"
            | "output_file"
            | "select"
            | "ignore"
            | "fail_on"
            | "exit_zero"
            | "deep"
            | "color"
            | "verbose"
            | "quiet"
            | "instar_version"
            | "instar_home"
    )
}

/// Where the report goes: the human report only, or a machine format (with the human report
/// beside it on the terminal when the machine format goes to `-o`).
#[derive(Debug, Clone, Copy)]
pub enum Outputs {
    Human,
    Machine { human_too: bool },
}

/// Everything a worker needs to check and render one agent.
pub struct Settings {
    pub format: ScanFormat,
    pub outputs: Outputs,
    pub instar_version: Option<Version>,
    pub instar_home: Option<PathBuf>,
    pub selection: Selection,
    pub threshold: Severity,
    pub exit_zero: bool,
    pub deep: bool,
    pub now: i64,
    pub human: HumanOptions,
    pub workspace: Option<PathBuf>,
    /// SARIF locations are relative to this folder.
    pub scan_root: PathBuf,
    pub cwd: PathBuf,
}

impl Settings {
    /// A path as the human report shows it: relative to the working directory when below it.
    pub fn display(&self, path: &Path) -> String {
        match path.strip_prefix(&self.cwd) {
            Ok(rel) if rel.as_os_str().is_empty() => ".".to_string(),
            Ok(rel) => rel.display().to_string(),
            Err(_) => path.display().to_string(),
        }
    }
}

/// Runs `scan`; returns the exit code.
pub fn main(cli: &Cli, matches: &ArgMatches, args: &ScanArgs) -> u8 {
    main_on(cli, matches, args, Arc::new(SystemHost))
}

/// `main` on a given host (tests: a fake macOS machine).
pub fn main_on(cli: &Cli, matches: &ArgMatches, args: &ScanArgs, host: Arc<dyn Host>) -> u8 {
    let cwd = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("."));
    let settings = match settings(cli, matches, args, &cwd, &*host) {
        Ok(settings) => settings,
        Err(message) => return fail(args, &message),
    };
    let home = settings.instar_home.clone();
    let machine_cx = home.as_ref().map(|home| {
        let mut cx = Context::new(
            home.clone(),
            settings
                .instar_version
                .map(crate::version::rules_for)
                .unwrap_or(NEWEST_KNOWN),
            settings.instar_version,
            if settings.instar_version.is_some() {
                VersionSource::Flag
            } else {
                VersionSource::Default
            },
            settings.now,
            settings.deep,
        )
        .with_shared_host(Arc::clone(&host))
        .with_instar_home(Some(home.clone()));
        // Its report is the machine area's alone: the agents' areas are reported per agent,
        // not "left out" here.
        cx.only_areas = Some(&["machine"]);
        cx
    });
    let agents = match discover_agents(args, &cwd, machine_cx.as_ref()) {
        Ok(agents) => agents,
        Err(message) => return fail(args, &message),
    };
    if agents.is_empty() {
        return fail(args, &no_agents_message(args, home.as_deref()));
    }
    let settings = Settings {
        scan_root: scan_root(args, &cwd, &agents),
        ..settings
    };
    let machine = machine_report(machine_cx.as_ref(), &agents, &settings.selection);
    let mut out = match Output::open(args, &settings) {
        Ok(out) => out,
        Err(message) => return fail(args, &message),
    };
    out.start(&settings, machine_cx.as_ref(), &machine, agents.len());
    let threads = args
        .jobs
        .map(usize::from)
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    pool::ordered_map(
        &agents,
        threads,
        |dir| agent::check(dir, &settings, &host),
        |dir, why| agent::crashed(dir, why),
        |_, checked| out.agent(&settings, checked),
    );
    let machine_exit = agent::exit_code(&machine, &settings);
    out.finish(&settings, machine_exit)
}

fn settings(
    cli: &Cli,
    matches: &ArgMatches,
    args: &ScanArgs,
    cwd: &Path,
    host: &dyn Host,
) -> Result<Settings, String> {
    // Options of the single-agent run typed before `scan` would be dropped: refuse them.
    if let Some(id) = matches
        .ids()
        .map(|id| id.as_str())
        .find(|id| matches.value_source(id) == Some(ValueSource::CommandLine))
    {
        let definition = <Cli as clap::CommandFactory>::command();
        let flag = definition
            .get_arguments()
            .find(|a| a.get_id() == id)
            .and_then(|a| a.get_long())
            .map(|l| format!("--{l}"))
            .unwrap_or_else(|| id.to_string());
        return Err(if takes(id) {
            format!("{flag} goes after `scan`: `instar-doctor scan {flag} …`")
        } else {
            format!("{flag} does not apply to `scan`, which only reads; fix each agent with `instar-doctor --dir PROJECT --fix`")
        });
    }
    let _ = cli;
    let selection = crate::selection::from_options(&args.select, &args.ignore)?;
    let instar_version = args
        .instar_version
        .as_deref()
        .map(agent::parse_version)
        .transpose()?;
    let now = crate::clock::now()?;
    let threshold = args.fail_on.threshold();
    let instar_home = match &args.instar_home {
        Some(home) => Some(crate::engine::normalize(&cwd.join(home))),
        None => host.instar_home(),
    };
    let machine_format = args.format != ScanFormat::Human;
    let outputs = if machine_format {
        Outputs::Machine {
            human_too: args.output_file.is_some(),
        }
    } else {
        Outputs::Human
    };
    // The human report to a file has no colour, like the single-agent run's.
    let color = args.output_file.is_none() || machine_format;
    let human = HumanOptions {
        color: color && crate::terminal::stdout_color(args.color),
        width: output::width(args.output_file.is_some() && !machine_format),
        quiet: args.quiet,
        verbose: args.verbose,
        threshold,
        hint: false,
        cwd: Some(cwd.to_path_buf()),
        command: None,
    };
    Ok(Settings {
        format: args.format,
        outputs,
        instar_version,
        instar_home,
        selection,
        threshold,
        exit_zero: args.exit_zero,
        deep: args.deep,
        now,
        human,
        workspace: std::env::var_os("GITHUB_WORKSPACE").map(PathBuf::from),
        scan_root: cwd.to_path_buf(),
        cwd: cwd.to_path_buf(),
    })
}

fn discover_agents(
    args: &ScanArgs,
    cwd: &Path,
    machine_cx: Option<&Context>,
) -> Result<Vec<PathBuf>, String> {
    if !args.roots.is_empty() {
        return discover::under_roots(&args.roots, cwd).map_err(|e| e.to_string());
    }
    let Some(cx) = machine_cx else {
        return Err(
            "no ROOT given and no home folder to find ~/.instar in; pass ROOT or --instar-home"
                .to_string(),
        );
    };
    let machine = checks::machine::view::Machine::gather(cx, &[]);
    let registry = machine.map(|m| m.registry_paths()).unwrap_or_default();
    Ok(discover::from_instar_home(&cx.project_dir, &registry))
}

fn no_agents_message(args: &ScanArgs, home: Option<&Path>) -> String {
    if args.roots.is_empty() {
        format!(
            "no instar agent found: {} lists none and has no agents/ folder holding one",
            home.map(|h| h.join("registry.json").display().to_string())
                .unwrap_or_else(|| "~/.instar/registry.json".to_string())
        )
    } else {
        "no instar agent found under the given folders (looked for .instar/ holding config.json, jobs.json, machine/ or machines/)".to_string()
    }
}

/// SARIF's `%SRCROOT%`: the one ROOT given, else the deepest folder holding every agent.
fn scan_root(args: &ScanArgs, cwd: &Path, agents: &[PathBuf]) -> PathBuf {
    if let [root] = args.roots.as_slice() {
        return crate::engine::normalize(&cwd.join(root));
    }
    let mut common = agents
        .first()
        .cloned()
        .unwrap_or_else(|| PathBuf::from("/"));
    for agent in agents {
        while !agent.starts_with(&common) {
            if !common.pop() {
                break;
            }
        }
    }
    common
}

/// The machine area, once, over every agent found.
fn machine_report(cx: Option<&Context>, agents: &[PathBuf], selection: &Selection) -> Report {
    let Some(cx) = cx else {
        return Report {
            checks: Vec::new(),
            diagnostics: Vec::new(),
        };
    };
    if !selection.runs_check("machine") {
        return Report {
            checks: Vec::new(),
            diagnostics: Vec::new(),
        };
    }
    let started = std::time::Instant::now();
    let mut sink = Sink::default();
    let crashed = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        checks::machine::run_machine(cx, agents, &mut sink)
    }))
    .is_err();
    let mut diagnostics: Vec<_> = sink
        .into_vec()
        .into_iter()
        .filter(|d| selection.keeps("machine", d.code.id))
        .collect();
    crate::engine::scrub_findings(cx, &mut diagnostics);
    let status = if crashed {
        crate::engine::CheckStatus::Crashed
    } else {
        match diagnostics.iter().map(|d| d.severity).max() {
            Some(Severity::Error) => crate::engine::CheckStatus::Error,
            Some(Severity::Warning) => crate::engine::CheckStatus::Warning,
            _ => crate::engine::CheckStatus::Ok,
        }
    };
    Report {
        checks: vec![crate::engine::CheckOutcome {
            id: "machine",
            status,
            duration_ms: started.elapsed().as_secs_f64() * 1000.0,
        }],
        diagnostics,
    }
}

/// Exit 2 with the reason on stderr and, in a machine format, a document that says so.
fn fail(args: &ScanArgs, message: &str) -> u8 {
    eprintln!("error: {message}");
    let text = output::failure_document(args.format, message);
    if let Some(text) = text {
        match &args.output_file {
            Some(path) => {
                if let Err(err) = output::write_whole(path, text.as_bytes()) {
                    eprintln!("error: cannot write {}: {err}", path.display());
                }
            }
            None => crate::terminal::print(&text),
        }
    }
    exit::FAILURE
}

/// Counts over the whole scan, for the summaries.
#[derive(Default)]
pub struct Totals {
    pub agents: usize,
    pub healthy: usize,
    pub with_findings: usize,
    pub crashed: usize,
    pub errors: usize,
    pub warnings: usize,
    pub infos: usize,
    pub worst: u8,
    pub by_status: BTreeMap<&'static str, usize>,
}

impl Totals {
    pub fn exit_code(&self, machine_exit: u8) -> u8 {
        if self.worst == exit::FAILURE || machine_exit == exit::FAILURE {
            exit::FAILURE
        } else {
            self.worst.max(machine_exit)
        }
    }
}

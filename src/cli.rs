//! The command line (design.md §2), as clap derive definitions. Parsing only: `main.rs` acts.

use std::path::PathBuf;

use clap::{Parser, Subcommand, ValueEnum};

#[derive(Debug, Parser)]
#[command(
    name = "instar-doctor",
    version,
    about = "Diagnose (and, on request, repair) the on-disk state of an instar agent",
    long_about = "Diagnose the on-disk state of an instar agent: jobs.json, the machine registry and \
identity, the key PEMs, config.json, the boot wrappers, Claude hooks and scripts, the runtime (shadow \
install, node) and its locks, queues and logs, and this agent in the per-user registry. Checking is \
read-only and creates nothing.\n\n\
Exit codes: 0 healthy at the --fail-on threshold · 1 findings remain (or --diff has changes) · \
2 the doctor could not answer · 130 interrupted."
)]
// The options here belong to the check and fix run and are not `global`: each subcommand's
// --help lists only its own, clap refuses them after a subcommand (`list --format json`), and
// `usage::refuse_run_options` refuses them before one (`--fix completions bash`), except the
// `--dir` and `--allow-running` that `undo` uses.
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,

    /// The project folder holding .instar/ (a path ending in .instar is accepted).
    /// Default: walk up from the working directory.
    #[arg(short = 'd', long = "dir", value_name = "PROJECT")]
    pub dir: Option<PathBuf>,

    /// Apply the rules of this instar version (X.Y.Z, a leading v is accepted).
    #[arg(long, value_name = "X.Y.Z")]
    pub instar_version: Option<String>,

    /// Output format: the full report (human), one line per finding (concise), or a machine
    /// format.
    #[arg(long, value_enum, default_value_t = Format::Human)]
    pub format: Format,

    /// One line per code instead of each finding: how many, the severity, and how many each
    /// fix level (--fix, --unsafe-fixes, manual) clears.
    #[arg(long)]
    pub statistics: bool,

    /// Write the report to this file: the machine format (the human report still goes to the
    /// terminal), or with --format human the human report, without colour.
    #[arg(short = 'o', long, value_name = "PATH")]
    pub output_file: Option<PathBuf>,

    /// Print the unified diff of every change --fix would make; writes nothing.
    #[arg(long)]
    pub diff: bool,

    /// Apply the safe fixes (with a backup; `undo` reverts the run).
    #[arg(long, conflicts_with_all = ["diff", "interactive"])]
    pub fix: bool,

    /// Ask before each fix, showing its diff (terminal only).
    #[arg(short = 'i', long, conflicts_with = "diff")]
    pub interactive: bool,

    /// With --fix or --diff: include unsafe fixes (they may drop or change data).
    #[arg(long)]
    pub unsafe_fixes: bool,

    /// Fix even though instar itself appears to be running for this agent.
    #[arg(long)]
    pub allow_running: bool,

    /// Only these checks or codes (comma-separated, e.g. `jobs` or `jobs/invalid-cron`; may
    /// repeat). An unknown name or an empty entry is an error.
    // Kept as typed, not split by clap: `selection.rs` reads the entries strictly.
    #[arg(long, value_name = "LIST", action = clap::ArgAction::Append)]
    pub select: Vec<String>,

    /// Skip these checks or codes (comma-separated; may repeat).
    #[arg(long, value_name = "LIST", action = clap::ArgAction::Append)]
    pub ignore: Vec<String>,

    /// The lowest severity that makes the exit code 1.
    #[arg(long, value_enum, default_value_t = FailOn::Error)]
    pub fail_on: FailOn,

    /// Exit 0 instead of 1 when findings remain (2 stays 2).
    #[arg(long)]
    pub exit_zero: bool,

    /// Also run the checks that spawn processes or probe the host.
    #[arg(long)]
    pub deep: bool,

    /// When to colour the output (NO_COLOR and CLICOLOR_FORCE are honoured with auto).
    #[arg(long, value_enum, default_value_t = ColorChoice::Auto)]
    pub color: ColorChoice,

    /// Also list passing checks and timings.
    #[arg(short, long, conflicts_with = "quiet")]
    pub verbose: bool,

    /// Print only findings at or above the threshold, no summary.
    #[arg(short, long)]
    pub quiet: bool,

    /// The per-user instar folder (registry.json, agents/) the machine checks read.
    /// Default: ~/.instar.
    #[arg(long, value_name = "PATH")]
    pub instar_home: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Every check and code, with severity and fix safety.
    List,
    /// The documentation of one code (e.g. jobs/invalid-cron).
    Explain {
        /// The code, `area/kebab-name`.
        code: String,
    },
    /// Install or remove the git pre-push hook that runs the check before each push.
    Hook {
        #[command(subcommand)]
        action: HookAction,
    },
    /// Print shell completions.
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
    },
    /// Before instar boots: fix what would stop it (safe fixes only) and say what still does.
    ///
    /// Checks only the findings that stop instar's boot at the version in use, applies their
    /// safe fixes without asking (backed up; `undo` reverts them), records the outcome in
    /// .instar/doctor/preflight.json and exits 0 when instar can start, 1 when it cannot. If the
    /// doctor itself fails it says so and exits 0, so the supervisor still starts instar (unless
    /// --strict). While instar runs for this agent it only reports.
    Preflight {
        /// The project folder holding .instar/ (a path ending in .instar is accepted).
        /// Default: walk up from the working directory.
        #[arg(short = 'd', long = "dir", value_name = "PROJECT")]
        dir: Option<PathBuf>,
        /// Apply the rules of this instar version (X.Y.Z, a leading v is accepted).
        #[arg(long, value_name = "X.Y.Z")]
        instar_version: Option<String>,
        /// Exit 2 when the doctor itself fails, instead of letting instar start.
        #[arg(long)]
        strict: bool,
    },
    /// Check every agent under the ROOT folders (default: every agent of the per-user registry
    /// and ~/.instar/agents/*), in parallel, and what they share on this machine. Read-only.
    Scan(ScanArgs),
    /// Check what the agents of this machine share (the per-user registry, its lock, the
    /// host-wide spawn holders) and, with --fix, --unsafe-fixes or -i, repair it under instar's
    /// own locks. `undo --machine` puts a run back.
    Machine(MachineArgs),
    /// Restore the files of a fix run (default: the newest not yet undone).
    Undo {
        /// The run id (a folder name under .instar/doctor/runs/).
        run_id: Option<String>,
        /// Restore even files that changed after the run.
        #[arg(long)]
        force: bool,
        /// The project folder holding .instar/ (a path ending in .instar is accepted).
        /// Default: walk up from the working directory.
        #[arg(short = 'd', long = "dir", value_name = "PROJECT")]
        dir: Option<PathBuf>,
        /// Undo even though instar itself appears to be running for this agent.
        #[arg(long)]
        allow_running: bool,
        /// Undo a `machine` fix run (recorded under the instar home) instead of an agent's.
        #[arg(long, conflicts_with_all = ["dir", "allow_running"])]
        machine: bool,
        /// With --machine: the per-user instar folder. Default: ~/.instar.
        #[arg(long, value_name = "PATH", requires = "machine")]
        instar_home: Option<PathBuf>,
    },
}

/// `scan`'s own options: the check run's options that apply to many agents. Fixing stays per
/// agent (`--dir … --fix`), so --fix, --diff, -i, --unsafe-fixes and --dir are not here and
/// clap refuses them.
#[derive(Debug, clap::Args)]
pub struct ScanArgs {
    /// Folders to search for agents (walked in name order; links are not followed; .git,
    /// node_modules and shadow-install are skipped). Default: the agents the per-user registry
    /// lists, plus <instar-home>/agents/*.
    #[arg(value_name = "ROOT")]
    pub roots: Vec<PathBuf>,

    /// The per-user instar folder (registry.json, agents/). Default: ~/.instar.
    #[arg(long, value_name = "PATH")]
    pub instar_home: Option<PathBuf>,

    /// Apply the rules of this instar version to every agent (default: each agent's own).
    #[arg(long, value_name = "X.Y.Z")]
    pub instar_version: Option<String>,

    /// Output format.
    #[arg(long, value_enum, default_value_t = ScanFormat::Human)]
    pub format: ScanFormat,

    /// Write the report to this file (atomically); with a machine format the human report
    /// still goes to the terminal.
    #[arg(short = 'o', long, value_name = "PATH")]
    pub output_file: Option<PathBuf>,

    /// Only these checks or codes (comma-separated; may repeat).
    #[arg(long, value_name = "LIST", action = clap::ArgAction::Append)]
    pub select: Vec<String>,

    /// Skip these checks or codes (comma-separated; may repeat).
    #[arg(long, value_name = "LIST", action = clap::ArgAction::Append)]
    pub ignore: Vec<String>,

    /// The lowest severity that makes the exit code 1.
    #[arg(long, value_enum, default_value_t = FailOn::Error)]
    pub fail_on: FailOn,

    /// Exit 0 instead of 1 when findings remain (2 stays 2).
    #[arg(long)]
    pub exit_zero: bool,

    /// Also run the checks that spawn processes or probe the host.
    #[arg(long)]
    pub deep: bool,

    /// When to colour the output.
    #[arg(long, value_enum, default_value_t = ColorChoice::Auto)]
    pub color: ColorChoice,

    /// Also list every finding of every agent (infos included) and timings.
    #[arg(short, long, conflicts_with = "quiet")]
    pub verbose: bool,

    /// Print only the agents with findings at or above the threshold, no summary.
    #[arg(short, long)]
    pub quiet: bool,

    /// Worker threads (default: one per core).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..))]
    pub jobs: Option<u16>,
}

/// The formats of `scan`: the single-agent ones plus the Prometheus text format.
#[derive(Debug, clap::Args)]
pub struct MachineArgs {
    /// The per-user instar folder. Default: ~/.instar.
    #[arg(long, value_name = "PATH")]
    pub instar_home: Option<PathBuf>,

    /// Judge by the rules of this instar version instead of the newest known.
    #[arg(long, value_name = "X.Y.Z")]
    pub instar_version: Option<String>,

    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Human)]
    pub format: Format,

    /// Show the changes --fix would make, as a diff, without writing anything.
    #[arg(long)]
    pub diff: bool,

    /// Apply the safe fixes (the stale registry lock), under instar's own locks.
    #[arg(long, conflicts_with_all = ["diff", "interactive"])]
    pub fix: bool,

    /// Ask before each fix, safe or unsafe (needs a terminal).
    #[arg(short = 'i', long, conflicts_with = "diff")]
    pub interactive: bool,

    /// With --fix or --diff: the unsafe fixes too (zombie registry entries, foreign spawn
    /// holders).
    #[arg(long)]
    pub unsafe_fixes: bool,

    /// Only these codes or areas (comma-separated).
    #[arg(long, value_name = "LIST", action = clap::ArgAction::Append)]
    pub select: Vec<String>,

    /// Leave out these codes or areas (comma-separated).
    #[arg(long, value_name = "LIST", action = clap::ArgAction::Append)]
    pub ignore: Vec<String>,

    /// The lowest severity that makes the exit code 1.
    #[arg(long, value_enum, default_value_t = FailOn::Error)]
    pub fail_on: FailOn,

    /// Exit 0 even when findings remain.
    #[arg(long)]
    pub exit_zero: bool,

    /// Colour: auto (a terminal without NO_COLOR), always or never.
    #[arg(long, value_enum, default_value_t = ColorChoice::Auto)]
    pub color: ColorChoice,

    /// Show every finding in full.
    #[arg(short, long, conflicts_with = "quiet")]
    pub verbose: bool,

    /// Only the findings, no summary.
    #[arg(short, long)]
    pub quiet: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ScanFormat {
    Human,
    Json,
    Sarif,
    Github,
    Junit,
    /// The Prometheus text format (also valid OpenMetrics), for node_exporter's textfile collector.
    Openmetrics,
}

#[derive(Debug, Subcommand)]
pub enum HookAction {
    /// Install the pre-push hook in the current repository (an existing hook is chained).
    ///
    /// With --preflight: run `instar-doctor preflight` before the agent's launchd job instead,
    /// by editing ~/Library/LaunchAgents/ai.instar.<projectName>.plist, or where there is none
    /// ~/.config/systemd/user/instar-<projectName>.service (instar's files). The diff is shown
    /// first and applied on confirmation or with --yes, backed up, and undone by
    /// `hook uninstall --preflight`.
    Install {
        /// Put the preflight in front of the agent's launchd job or systemd unit (not the git
        /// hook).
        #[arg(long)]
        preflight: bool,
        /// Apply the shown diff without asking (with --preflight).
        #[arg(long, requires = "preflight")]
        yes: bool,
        /// The project folder holding .instar/ (with --preflight). Default: walk up from the
        /// working directory.
        #[arg(
            short = 'd',
            long = "dir",
            value_name = "PROJECT",
            requires = "preflight"
        )]
        dir: Option<PathBuf>,
    },
    /// Remove the hook (a chained hook is put back).
    ///
    /// With --preflight: undo the newest `hook install --preflight`, restoring the file's bytes
    /// (refused when it changed since).
    Uninstall {
        /// Undo `hook install --preflight` (not the git hook).
        #[arg(long)]
        preflight: bool,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Human,
    /// One line per finding: `path:line:col: severity[code] message`.
    Concise,
    Json,
    Sarif,
    Github,
    Junit,
}

impl Format {
    /// A machine-readable document (JSON, SARIF, GitHub, JUnit), as opposed to text for people.
    pub fn is_machine(self) -> bool {
        !matches!(self, Format::Human | Format::Concise)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FailOn {
    Error,
    Warning,
    Info,
}

impl FailOn {
    /// The least severity that fails the run (exit 1).
    pub fn threshold(self) -> crate::diag::Severity {
        use crate::diag::Severity;
        match self {
            FailOn::Error => Severity::Error,
            FailOn::Warning => Severity::Warning,
            FailOn::Info => Severity::Info,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ColorChoice {
    Auto,
    Always,
    Never,
}

/// The arguments without a leading `doctor` word, so `instar doctor …` can delegate to us the
/// way git and cargo run external subcommands.
pub fn normalize_args(mut args: Vec<std::ffi::OsString>) -> Vec<std::ffi::OsString> {
    if args.get(1).is_some_and(|a| a == "doctor") {
        args.remove(1);
    }
    args
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn cli_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn a_leading_doctor_word_is_dropped() {
        let args = normalize_args(vec!["instar-doctor".into(), "doctor".into(), "list".into()]);
        assert_eq!(args, vec!["instar-doctor", "list"]);
        let args = normalize_args(vec![
            "instar-doctor".into(),
            "--dir".into(),
            "doctor".into(),
        ]);
        assert_eq!(args.len(), 3);
    }
}

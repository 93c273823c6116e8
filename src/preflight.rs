//! `instar-doctor preflight`: what instar's planned StartupPreflight would have done, run in
//! front of every boot by the supervisor (launchd, systemd, the boot wrapper).
//!
//! Only what stops the boot counts: findings whose `instar_effect` is `fatal` at the version in
//! use. Their safe fixes are applied without asking, in an ordinary fix run (lock, backups,
//! atomic writes, re-check, `undo`); unsafe and manual fixes are only named. The preflight never
//! makes a boot worse: when the doctor itself cannot answer it says so and lets instar start
//! (exit 0) unless `--strict`; while a live instar holds the agent it writes nothing.

pub mod install;
pub mod launchd;
pub mod systemd;

use std::io::Write;
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::diag::{Diagnostic, Effect};
use crate::engine::{self, Context, Report, Selection};
use crate::exit;
use crate::fix::Applicability;
use crate::prompt::{Answer, Confirmer, Offer};
use crate::render::escape::escape_controls;
use crate::repair::{self, RepairEnv, RepairError, RepairOptions};
use crate::write;

/// The record's name under `.instar/doctor/`, and its schema id.
pub const RECORD_FILE: &str = "preflight.json";
pub const RECORD_SCHEMA: &str = "instar-doctor/preflight-v1";

/// What the preflight needs from the command line, already resolved.
pub struct Preflight<'a> {
    pub project_dir: &'a Path,
    /// Builds a fresh context for each pass (files re-read).
    pub new_context: &'a dyn Fn() -> Context,
    /// Whether instar itself runs for this agent (its lifeline pid), from the host seam.
    pub instar_pid: Option<u32>,
    /// "Now", for the record.
    pub now: i64,
    /// Called once, just before the first write: installs the Ctrl-C handler. A healthy boot
    /// never gets there, and so never pays for the handler's thread.
    pub before_writing: &'a dyn Fn(),
}

/// How a preflight ended; `exit_code` is what the process returns.
#[derive(Debug)]
pub struct Outcome {
    pub exit_code: u8,
    pub record: Record,
}

/// `.instar/doctor/preflight.json`: what a dashboard or an operator reads after a boot.
/// Messages come from findings, which the engine has already scrubbed of secrets.
#[derive(Debug, Clone, Serialize)]
pub struct Record {
    pub schema: &'static str,
    pub version: &'static str,
    pub time: String,
    pub instar_version: String,
    pub instar_version_source: &'static str,
    /// `ok` (instar can boot), `blocked` (a fatal finding remains), `fixed` (it can boot after
    /// the preflight's own fixes), `doctor-failed` (no answer; instar is started anyway unless
    /// `--strict`).
    pub status: &'static str,
    /// The fix run that applied `fixed` (`instar-doctor undo <run>` reverts it).
    pub run_id: Option<String>,
    /// True when a live instar held the agent, so nothing was fixed.
    pub instar_running: bool,
    pub fixed: Vec<RecordFinding>,
    pub blocking: Vec<RecordFinding>,
    pub error: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct RecordFinding {
    pub code: &'static str,
    pub file: Option<String>,
    pub message: String,
    /// What clears it: the fix's title, and the command that applies it when one can.
    pub fix: Option<String>,
    pub command: Option<String>,
}

/// Never asked: the preflight runs non-interactively, and an offer reaching it means the repair
/// loop was given interactive options by mistake, so it declines.
struct NoPrompt;

impl Confirmer for NoPrompt {
    fn confirm(&mut self, _offer: &Offer<'_>) -> Answer {
        Answer::No
    }
}

/// The checks that can report a finding that stops instar's boot (`Effect::Fatal`). The others
/// (the doctor's note on the rules applied, keys, the machine area, the runtime) never do, and
/// the preflight keeps only fatal findings, so it does not run them: they are most of a healthy
/// agent's check time (key pairs verified, the shadow install and the per-user folder read).
/// A test holds this list to the checks' source.
pub const CAN_STOP_BOOT: &[&str] = &[
    "jobs", "registry", "identity", "config", "boot", "hooks", "state",
];

fn boot_checks() -> Selection {
    Selection {
        select: CAN_STOP_BOOT.iter().map(|id| id.to_string()).collect(),
        ignore: Vec::new(),
    }
}

fn fatal_only(mut report: Report) -> Report {
    report.diagnostics.retain(|d| d.effect == Effect::Fatal);
    report
}

/// The command that clears a finding, for the screen and the record.
fn command_for(project_dir: &Path, d: &Diagnostic) -> Option<String> {
    let fix = d.fix.as_ref()?;
    let dir = shell_word(&project_dir.display().to_string());
    match fix.applicability() {
        Applicability::Safe => Some(format!("instar-doctor --dir {dir} --fix")),
        Applicability::Unsafe => Some(format!(
            "instar-doctor --dir {dir} -i   (or --fix --unsafe-fixes --select {})",
            d.code.id
        )),
        Applicability::Manual => None,
    }
}

/// Quotes a word for a POSIX shell when it needs it.
fn shell_word(word: &str) -> String {
    let plain = !word.is_empty()
        && word
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"/._-+:@%".contains(&b));
    if plain {
        word.to_string()
    } else {
        format!("'{}'", word.replace('\'', r"'\''"))
    }
}

fn record_finding(project_dir: &Path, d: &Diagnostic) -> RecordFinding {
    RecordFinding {
        code: d.code.id,
        file: d
            .file
            .as_deref()
            .map(|f| engine::display_path(project_dir, f)),
        message: d.message.to_string(),
        fix: d.fix.as_ref().map(|f| f.title().to_string()),
        command: command_for(project_dir, d),
    }
}

impl Preflight<'_> {
    /// Checks, fixes what is safe, and says whether instar can boot.
    pub fn run(&self, interrupt: &std::sync::atomic::AtomicBool) -> Outcome {
        let cx = self.context();
        let mut record = self.new_record(&cx);
        let report = engine::run(&cx, &boot_checks());
        if report.crashed() {
            return self.doctor_failed(record, "a check crashed (a doctor bug)".to_string());
        }
        let fatal = fatal_only(report);
        let safe_fix_pending = fatal.diagnostics.iter().any(|d| {
            d.fix
                .as_ref()
                .is_some_and(|f| f.applicability() == Applicability::Safe)
        });
        let remaining = if safe_fix_pending && self.instar_pid.is_none() {
            match self.fix_safe(record, interrupt) {
                Ok((fixed, remaining)) => {
                    record = fixed;
                    remaining
                }
                Err(outcome) => return *outcome,
            }
        } else {
            fatal
        };
        self.conclude(record, &remaining)
    }

    /// A context for the preflight: only findings that stop the boot are wanted.
    fn context(&self) -> Context {
        let mut cx = (self.new_context)();
        cx.fatal_only = true;
        cx
    }

    /// The record of this preflight before anything is found or fixed.
    fn new_record(&self, cx: &Context) -> Record {
        Record {
            schema: RECORD_SCHEMA,
            version: env!("CARGO_PKG_VERSION"),
            time: crate::machine::iso_seconds(self.now),
            instar_version: cx.version.to_string(),
            instar_version_source: cx.version_source.as_str(),
            status: "ok",
            run_id: None,
            instar_running: self.instar_pid.is_some(),
            fixed: Vec::new(),
            blocking: Vec::new(),
            error: None,
        }
    }

    /// Applies the safe fixes of the findings that stop the boot, as a fix run of its own, and
    /// returns the record with what was fixed and what still stops the boot; `Err` is the outcome
    /// of a run that could not finish.
    fn fix_safe(
        &self,
        mut record: Record,
        interrupt: &std::sync::atomic::AtomicBool,
    ) -> Result<(Record, Report), Box<Outcome>> {
        (self.before_writing)();
        let state = self.project_dir.join(engine::STATE_DIR);
        if let Err(err) = write::recover_interrupted(self.project_dir, &state) {
            return Err(Box::new(self.doctor_failed(record, err.to_string())));
        }
        let selection = boot_checks();
        let new_context = || self.context();
        let check = |cx: &Context| fatal_only(engine::run(cx, &selection));
        let env = RepairEnv {
            new_context: &new_context,
            check: &check,
            interrupt,
            lock_pass: None,
        };
        let opts = RepairOptions {
            unsafe_fixes: false,
            interactive: false,
        };
        match repair::repair(&env, &opts, &mut NoPrompt) {
            Ok(outcome) => {
                record.fixed = outcome
                    .handled
                    .iter()
                    .filter(|d| d.fix_status == crate::diag::FixStatus::Applied)
                    .map(|d| record_finding(self.project_dir, d))
                    .collect();
                record.run_id = outcome.run_id.clone();
                if outcome.report.crashed() {
                    return Err(Box::new(
                        self.doctor_failed(record, "a check crashed".to_string()),
                    ));
                }
                Ok((record, outcome.report))
            }
            Err(err @ RepairError::Interrupted(_)) => {
                record.error = Some(err.to_string());
                record.status = "doctor-failed";
                Err(Box::new(Outcome {
                    exit_code: exit::INTERRUPTED,
                    record,
                }))
            }
            Err(err) => Err(Box::new(self.doctor_failed(record, err.to_string()))),
        }
    }

    /// The verdict: blocked by what remains, fixed, or ok.
    fn conclude(&self, mut record: Record, remaining: &Report) -> Outcome {
        record.blocking = remaining
            .diagnostics
            .iter()
            .map(|d| record_finding(self.project_dir, d))
            .collect();
        record.status = match (record.blocking.is_empty(), record.fixed.is_empty()) {
            (false, _) => "blocked",
            (true, true) => "ok",
            (true, false) => "fixed",
        };
        Outcome {
            exit_code: if record.blocking.is_empty() {
                exit::HEALTHY
            } else {
                exit::FINDINGS
            },
            record,
        }
    }

    fn doctor_failed(&self, mut record: Record, message: String) -> Outcome {
        record.status = "doctor-failed";
        record.error = Some(message);
        Outcome {
            exit_code: exit::FAILURE,
            record,
        }
    }
}

/// Replaces `.instar/doctor/preflight.json` atomically (never while instar runs: the caller
/// checks). The doctor's folder is created private and confined, as for any fix run.
pub fn write_record(project_dir: &Path, record: &Record) -> Result<PathBuf, write::WriteError> {
    let dir = write::doctor_dir(&project_dir.join(engine::STATE_DIR))?;
    let path = dir.join(RECORD_FILE);
    let mut text = serde_json::to_string_pretty(record).unwrap_or_default();
    text.push('\n');
    write::write_atomic_record(&path, text.as_bytes(), write::PRIVATE_FILE_MODE)?;
    Ok(path)
}

/// The one screen printed on stderr when instar cannot boot (or one line when it can after a
/// fix). Nothing when all is well.
pub fn render(project_dir: &Path, outcome: &Outcome, strict: bool, out: &mut dyn Write) {
    let record = &outcome.record;
    let _ = match record.status {
        "ok" => Ok(()),
        "fixed" => writeln!(
            out,
            "instar-doctor preflight: fixed {} problem{} that would have stopped instar from starting (undo: instar-doctor --dir {} undo {})",
            record.fixed.len(),
            if record.fixed.len() == 1 { "" } else { "s" },
            shell_word(&project_dir.display().to_string()),
            record.run_id.as_deref().unwrap_or_default()
        ),
        "doctor-failed" => writeln!(
            out,
            "instar-doctor preflight could not check the agent: {}{}",
            record.error.as_deref().unwrap_or("unknown error"),
            if strict || outcome.exit_code == exit::INTERRUPTED {
                ""
            } else {
                "; starting instar anyway"
            }
        ),
        _ => render_blocked(project_dir, record, out),
    };
}

fn render_blocked(project_dir: &Path, record: &Record, out: &mut dyn Write) -> std::io::Result<()> {
    let count = record.blocking.len();
    writeln!(
        out,
        "instar {} cannot start: {count} problem{} in {} stop{} its boot.",
        record.instar_version,
        if count == 1 { "" } else { "s" },
        shell_word(&project_dir.join(engine::STATE_DIR).display().to_string()),
        if count == 1 { "s" } else { "" },
    )?;
    if record.instar_running {
        writeln!(
            out,
            "(instar is running for this agent, so the preflight changed nothing.)"
        )?;
    }
    if !record.fixed.is_empty() {
        writeln!(
            out,
            "The preflight fixed {} other problem{} first (run {}).",
            record.fixed.len(),
            if record.fixed.len() == 1 { "" } else { "s" },
            record.run_id.as_deref().unwrap_or_default()
        )?;
    }
    for (n, finding) in record.blocking.iter().enumerate() {
        writeln!(out)?;
        // Messages may quote a state file: its control characters are shown, never sent.
        let finding = &RecordFinding {
            message: escape_controls(&finding.message).into_owned(),
            fix: finding
                .fix
                .as_deref()
                .map(|f| escape_controls(f).into_owned()),
            ..finding.clone()
        };
        // Most messages already start with their file; say it once.
        match finding.file.as_deref() {
            Some(place) if !finding.message.starts_with(place) => {
                writeln!(out, "{}. {place}: {}", n + 1, finding.message)?
            }
            _ => writeln!(out, "{}. {}", n + 1, finding.message)?,
        }
        match (&finding.command, &finding.fix) {
            (Some(command), Some(fix)) => writeln!(out, "   fix: {fix}\n   run: {command}")?,
            (None, Some(fix)) => writeln!(out, "   by hand: {fix}")?,
            _ => writeln!(
                out,
                "   no automatic fix: `instar-doctor explain {}` says what to do",
                finding.code
            )?,
        }
    }
    writeln!(out)?;
    writeln!(
        out,
        "The full report: instar-doctor --dir {}",
        shell_word(&project_dir.display().to_string())
    )
}

/// The process exit code: a doctor failure lets instar start unless `--strict`.
pub fn exit_code(outcome: &Outcome, strict: bool) -> u8 {
    match outcome.exit_code {
        exit::FAILURE if !strict => exit::HEALTHY,
        code => code,
    }
}

#[cfg(test)]
mod tests {
    /// Every check whose source can build a fatal finding (directly, or through the shared
    /// BOM/parse-error findings, which are fatal) runs in the preflight, and no other.
    #[test]
    fn the_preflight_runs_exactly_the_checks_that_can_stop_the_boot() {
        /// Every `.rs` file at or under `path` (none when it does not exist), in name order.
        fn source(path: &Path, out: &mut String) {
            let files = walkdir::WalkDir::new(path)
                .sort_by_file_name()
                .into_iter()
                .filter_map(Result::ok)
                .filter(|e| e.file_type().is_file() && e.path().extension() == Some("rs".as_ref()));
            for file in files {
                out.push_str(&std::fs::read_to_string(file.path()).unwrap());
            }
        }
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("checks");
        for check in crate::checks::TABLE {
            let mut text = String::new();
            source(&root.join(check.id()), &mut text);
            source(&root.join(format!("{}.rs", check.id())), &mut text);
            assert!(!text.is_empty(), "no source found for {}", check.id());
            let can_stop = text.contains("Fatal") || text.contains("shared::");
            assert_eq!(
                can_stop,
                CAN_STOP_BOOT.contains(&check.id()),
                "{}: update CAN_STOP_BOOT",
                check.id()
            );
        }
        // What `fatal_only` skips must never be fatal.
        let skipped = std::fs::read_to_string(root.join("config/schema.rs")).unwrap();
        assert!(
            !skipped.contains("Fatal"),
            "config's schema check is skipped by the preflight"
        );
    }

    use super::*;

    #[test]
    fn record_times_are_rfc3339_utc_to_the_second() {
        use crate::machine::iso_seconds;
        assert_eq!(iso_seconds(0), "1970-01-01T00:00:00Z");
        assert_eq!(iso_seconds(1_893_456_000), "2030-01-01T00:00:00Z");
        assert_eq!(iso_seconds(1_795_000_061), "2026-11-18T11:07:41Z");
        assert_eq!(
            crate::machine::iso_millis(1_795_000_061),
            "2026-11-18T11:07:41.000Z"
        );
    }

    #[test]
    fn shell_words_are_quoted_only_when_needed() {
        assert_eq!(shell_word("/srv/agents/echo"), "/srv/agents/echo");
        assert_eq!(shell_word("/tmp/my agent"), "'/tmp/my agent'");
        assert_eq!(shell_word("/tmp/it's"), r"'/tmp/it'\''s'");
    }

    #[test]
    fn a_doctor_failure_lets_instar_start_unless_strict() {
        let outcome = |code| Outcome {
            exit_code: code,
            record: Record {
                schema: RECORD_SCHEMA,
                version: "0",
                time: String::new(),
                instar_version: String::new(),
                instar_version_source: "default",
                status: "doctor-failed",
                run_id: None,
                instar_running: false,
                fixed: vec![],
                blocking: vec![],
                error: None,
            },
        };
        assert_eq!(exit_code(&outcome(exit::FAILURE), false), exit::HEALTHY);
        assert_eq!(exit_code(&outcome(exit::FAILURE), true), exit::FAILURE);
        assert_eq!(exit_code(&outcome(exit::FINDINGS), false), exit::FINDINGS);
        assert_eq!(
            exit_code(&outcome(exit::INTERRUPTED), false),
            exit::INTERRUPTED
        );
    }
}

//! The `doctor` pseudo-check: findings about the run itself, chiefly which instar rules apply.

use crate::diag::{Code, Diagnostic, Effect, Severity, Sink};
use crate::engine::{Context, ShadowVersion};
use crate::fix::{Applicability, Fix};
use crate::version::{VersionSource, NEWEST_KNOWN, OLDEST_KNOWN};

use super::Check;

pub struct DoctorCheck;

pub static VERSION_BELOW_KNOWN: Code = Code {
    id: "doctor/version-below-known",
    severity: Severity::Info,
    fix: None,
    summary: "the instar version is older than the oldest whose rules the doctor knows",
    explain: "What it checks: whether the instar version in use (from --instar-version or the \
shadow install) is older than 0.28.44, the oldest version the doctor models.\n\
Why it matters: older loaders differ (v0.28.41 threw on a missing jobs.json), so verdicts may \
not match the runtime exactly.\n\
What instar does: nothing; this is about the doctor.\n\
Fix: none; the 0.28.44 rules are applied. Upgrade instar to get verdicts that match exactly.",
};

pub static VERSION_ABOVE_KNOWN: Code = Code {
    id: "doctor/version-above-known",
    severity: Severity::Info,
    fix: None,
    summary: "the instar version is newer than the newest whose rules the doctor knows",
    explain: "What it checks: whether the instar version in use is newer than 1.3.1186, the \
newest version the doctor models.\n\
Why it matters: rules introduced later are unknown to this doctor.\n\
What instar does: nothing; this is about the doctor.\n\
Fix: none; the 1.3.1186 rules are applied. Update instar-doctor.",
};

pub static SHADOW_INSTALL_UNREADABLE: Code = Code {
    id: "doctor/shadow-install-unreadable",
    severity: Severity::Warning,
    fix: None,
    summary: "the shadow install's package.json cannot tell the instar version",
    explain: "What it checks: .instar/shadow-install/node_modules/instar/package.json, where the \
doctor reads the instar version the agent runs.\n\
Why it matters: without it the doctor applies the newest rules it knows, which may not be the \
agent's.\n\
What instar does: the boot wrapper runs the shadow install; a broken one is diagnosed by the \
boot check.\n\
Fix: pass --instar-version X.Y.Z, or repair the shadow install (npm install in \
.instar/shadow-install).",
};

pub static INTERRUPTED_RUN: Code = Code {
    id: "doctor/interrupted-run",
    severity: Severity::Error,
    fix: Some(Applicability::Safe),
    summary: "a fix run was killed before it finished: some files hold its changes, some do not",
    explain: "What it checks: .instar/doctor/runs/*/manifest.json for a run still marked \
\"in-progress\" while no doctor holds the run lock .instar/doctor/lock (a writer holds it for its \
whole run and the system releases it when the process dies, so a free lock means the writer is \
gone, whatever became of its pid).\n\
Why it matters: the run was killed (power loss, SIGKILL, a crash) between its first change and \
its commit. Each file is whole, old or new, but the set is half-applied, and the run's re-check \
never ran on it.\n\
What instar does: nothing; this is about the doctor's own record.\n\
Fix (safe): roll the run back: every file it recorded goes back to its backed-up bytes and mode, \
files it created are removed, and files it quarantined return. `instar-doctor --fix`, `-i` and \
`undo` do this before anything else and say so; the backups stay in the run's folder, which is \
then marked \"rolled-back\".",
};

static CODES: &[&Code] = &[
    &VERSION_BELOW_KNOWN,
    &VERSION_ABOVE_KNOWN,
    &SHADOW_INSTALL_UNREADABLE,
    &INTERRUPTED_RUN,
];

impl Check for DoctorCheck {
    fn id(&self) -> &'static str {
        "doctor"
    }
    fn about(&self) -> &'static str {
        "the doctor's own run"
    }

    fn codes(&self) -> &'static [&'static Code] {
        CODES
    }

    fn run(&self, cx: &Context, sink: &mut Sink) {
        interrupted_runs(cx, sink);
        if let Some(detected) = cx.detected_version {
            let origin = match cx.version_source {
                VersionSource::Flag => "given with --instar-version",
                VersionSource::ShadowInstall => "of the shadow install",
                VersionSource::Default => "assumed",
            };
            if detected < OLDEST_KNOWN {
                sink.push(Diagnostic::new(
                    &VERSION_BELOW_KNOWN,
                    Effect::None,
                    format!("instar {detected} ({origin}) is older than {OLDEST_KNOWN}: the {OLDEST_KNOWN} rules were applied"),
                ));
            } else if detected > NEWEST_KNOWN {
                sink.push(Diagnostic::new(
                    &VERSION_ABOVE_KNOWN,
                    Effect::None,
                    format!("instar {detected} ({origin}) is newer than {NEWEST_KNOWN}: the {NEWEST_KNOWN} rules were applied"),
                ));
            }
        }
        if cx.version_source == VersionSource::Default {
            if let ShadowVersion::Broken { path, reason } = cx.shadow_version() {
                sink.push(
                    Diagnostic::new(
                        &SHADOW_INSTALL_UNREADABLE,
                        Effect::None,
                        format!(
                            "cannot read the instar version from the shadow install: {reason}; the {NEWEST_KNOWN} rules were applied"
                        ),
                    )
                    .file(path)
                    .help("pass --instar-version X.Y.Z to choose the rules explicitly"),
                );
            }
        }
    }
}

/// Runs a killed doctor left half-applied, as `Context` finds them.
fn interrupted_runs(cx: &Context, sink: &mut Sink) {
    for run in cx.interrupted_runs() {
        let changed: Vec<&str> = run.files.iter().map(|f| f.path.as_str()).collect();
        let manifest = crate::runs::manifest_file(&cx.state_dir, &run.run_id);
        sink.push(
            Diagnostic::new(
                &INTERRUPTED_RUN,
                Effect::None,
                format!(
                    "fix run {} was interrupted before it finished; it may have changed {}",
                    run.run_id,
                    changed.join(", ")
                ),
            )
            .file(manifest)
            .help("`instar-doctor --fix` (or `undo`) rolls it back to the backed-up bytes first")
            // Applied by `--fix`, `-i` and `undo` before any other fix, not by the fix loop
            // (which holds the lock, so it never sees this finding): no change to list.
            .fix(Some(Fix::safe(
                format!("roll back the interrupted run {}", run.run_id),
                Vec::new(),
            ))),
        );
    }
}

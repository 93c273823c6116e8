//! `undo`: a fix run put back, file by file.

use super::output::{fail, Failure};
use super::setup::{refuse_if_instar_runs, setup};
use crate::cli::Cli;
use crate::engine;
use crate::exit;
use crate::terminal::print;
use crate::write;

pub(super) fn undo(cli: &Cli, run_id: Option<&str>, force: bool) -> u8 {
    let setup = match setup(cli) {
        Ok(setup) => setup,
        Err(failure) => return fail(cli, failure),
    };
    if let Err(failure) = refuse_if_instar_runs(cli, &setup) {
        return fail(cli, failure);
    }
    let state = setup.project_dir.join(engine::STATE_DIR);
    match write::undo(&setup.project_dir, &state, run_id, force) {
        Ok(done) => {
            for recovered in &done.recovered {
                eprintln!("{}", recovered.notice());
            }
            if done.recovered.iter().any(|r| r.run_id == done.run_id) {
                print(&format!(
                    "undid run {} (it had been interrupted): restored {}\n",
                    done.run_id,
                    done.restored.join(", ")
                ));
                return exit::HEALTHY;
            }
            print(&undo_summary(&done));
            if let Some(saved) = &done.saved_as {
                print(&format!(
                    "your later edits to {} were backed up as run {saved}; `instar-doctor undo {saved}` brings them back\n",
                    done.overwritten.join(", ")
                ));
            }
            exit::HEALTHY
        }
        Err(err) => fail(
            cli,
            Failure {
                message: err.to_string(),
                project_dir: Some(setup.project_dir.clone()),
            },
        ),
    }
}

/// What an undo did, file by file: restored, or (a file the run had created) moved to the
/// doctor's quarantine, where it stays until removed by hand.
pub(super) fn undo_summary(done: &write::UndoOutcome) -> String {
    let mut parts = Vec::new();
    if !done.restored.is_empty() {
        parts.push(format!("restored {}", done.restored.join(", ")));
    }
    if !done.quarantined.is_empty() {
        parts.push(format!(
            "moved to quarantine (.instar/doctor/quarantine/), as the run had created {}: {}",
            if done.quarantined.len() == 1 {
                "it"
            } else {
                "them"
            },
            done.quarantined.join(", ")
        ));
    }
    if parts.is_empty() {
        parts.push("nothing to put back".to_string());
    }
    format!("undid run {}: {}\n", done.run_id, parts.join("; "))
}

//! The machine area (design §8 "New areas"): the per-user registry `~/.instar/registry.json`,
//! collisions between the agents of one machine, launchd jobs and host-wide locks
//! (spec/hazards.md #4, #6–#11, #19–#22, #26, #33).
//!
//! It runs once per machine: `scan` calls [`run_machine`] with every agent it found and leaves
//! the area out of each agent's own run. A single-agent check runs [`MachineCheck`], which keeps
//! only what concerns that agent (its collisions, its launchd job, the registry every agent
//! writes), so one agent's report never carries another agent's problems.
//!
//! Everything about the host (home, host name, OS version, launchd folder, pids) is asked of
//! `Context`, so the macOS rules are tested with a fake host.

pub mod codes;
mod collide;
mod launchd;
mod locks;
mod registry;
pub mod view;

use std::path::PathBuf;

use crate::diag::{Code, Diagnostic, Sink};
use crate::engine::Context;

use super::Check;
use view::Machine;

pub struct MachineCheck;

/// Whom a machine finding is about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Concern {
    /// A shared file every agent depends on (the registry): every agent's report shows it.
    Everyone,
    /// These agent homes.
    Agents(Vec<PathBuf>),
    /// The machine alone (a stale registry entry, the fleet watchdog): only `scan` shows it.
    MachineOnly,
}

/// A machine finding and whom it concerns.
pub struct Finding {
    pub diagnostic: Diagnostic,
    pub concern: Concern,
}

impl Finding {
    fn new(diagnostic: Diagnostic, concern: Concern) -> Self {
        Finding {
            diagnostic,
            concern,
        }
    }
}

/// Every machine finding, in rule order.
pub fn findings(cx: &Context, machine: &Machine) -> Vec<Finding> {
    let mut out = Vec::new();
    registry::check(cx, machine, &mut out);
    collide::check(cx, machine, &mut out);
    launchd::check(cx, machine, &mut out);
    locks::check(cx, machine, &mut out);
    out
}

/// `scan`: the whole machine, with `agents` (everything the scan found) besides what the
/// per-user folder names. `cx` is a context of the instar home. `scan` is read-only and an
/// agent's `--fix` must not write the per-user files, so fixes are named, not offered.
pub fn run_machine(cx: &Context, agents: &[PathBuf], sink: &mut Sink) {
    let Some(machine) = Machine::gather(cx, agents) else {
        return;
    };
    for finding in findings(cx, &machine) {
        sink.push(pointing_to_machine_run(finding.diagnostic));
    }
}

/// The fix run of the machine area itself (`instar-doctor machine`): every finding with its
/// executable fix.
pub fn run_machine_fixable(cx: &Context, sink: &mut Sink) {
    let Some(machine) = Machine::gather(cx, &[]) else {
        return;
    };
    for finding in findings(cx, &machine) {
        sink.push(finding.diagnostic);
    }
}

/// An executable fix turned into the instruction to run `instar-doctor machine`, which alone
/// takes instar's locks on these files.
fn pointing_to_machine_run(mut d: Diagnostic) -> Diagnostic {
    if let Some(fix) = d.fix.as_ref().filter(|f| !f.changes().is_empty()) {
        let flags = match fix.applicability() {
            crate::fix::Applicability::Unsafe => " --unsafe-fixes",
            _ => "",
        };
        d.fix = Some(crate::fix::Fix::manual(format!(
            "{} (`instar-doctor machine --fix{flags}` applies it)",
            fix.title()
        )));
    }
    d
}

impl Check for MachineCheck {
    fn id(&self) -> &'static str {
        "machine"
    }
    fn about(&self) -> &'static str {
        "the per-user registry and what agents share"
    }

    fn codes(&self) -> &'static [&'static Code] {
        codes::ALL
    }

    fn run(&self, cx: &Context, sink: &mut Sink) {
        if cx.machine_scanned {
            return;
        }
        let this = cx.project_dir.clone();
        let Some(machine) = Machine::gather(cx, std::slice::from_ref(&this)) else {
            return;
        };
        let real = cx.canonicalize(&this).unwrap_or_else(|| this.clone());
        for finding in findings(cx, &machine) {
            let keep = match &finding.concern {
                Concern::Everyone => true,
                Concern::Agents(dirs) => dirs.iter().any(|d| *d == this || *d == real),
                Concern::MachineOnly => false,
            };
            if keep {
                sink.push(pointing_to_machine_run(finding.diagnostic));
            }
        }
    }
}

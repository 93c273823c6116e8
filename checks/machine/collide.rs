//! Agents of one machine that collide: one port (#6), one projectName (#7), and registry
//! reservations on a port fetch refuses (#11).

use std::collections::BTreeMap;
use std::path::PathBuf;

use crate::diag::{Diagnostic, Effect, Label, Span};
use crate::engine::{Context, STATE_DIR};
use crate::fix::Fix;

use super::codes::*;
use super::view::Machine;
use super::{Concern, Finding};

use crate::checks::ports::is_fetch_blocked;

pub fn check(cx: &Context, machine: &Machine, out: &mut Vec<Finding>) {
    ports(machine, out);
    names(machine, out);
    blocked_reservations(cx, machine, out);
}

fn config_of(dir: &std::path::Path) -> PathBuf {
    dir.join(STATE_DIR).join("config.json")
}

/// An agent holding a value others share, and where its config.json spells it (none when the
/// value is instar's default, such as the folder name standing in for `projectName`).
struct Holder {
    dir: PathBuf,
    span: Option<Span>,
}

/// One finding per group of two or more agents sharing a value, on the first agent's config,
/// pointing at the value there and, as secondary labels, in each other agent's config.
fn report_groups(
    groups: BTreeMap<String, Vec<Holder>>,
    out: &mut Vec<Finding>,
    describe: impl Fn(&str, &[PathBuf]) -> (Diagnostic, &'static str),
) {
    for (value, holders) in groups {
        if holders.len() < 2 {
            continue;
        }
        let dirs: Vec<PathBuf> = holders.iter().map(|h| h.dir.clone()).collect();
        let (d, label) = describe(&value, &dirs);
        let mut d = d.file(config_of(&dirs[0]));
        if let Some(span) = &holders[0].span {
            d = d.at(span.clone(), label);
        }
        for other in &holders[1..] {
            d = d.secondary(Label {
                file: config_of(&other.dir),
                span: other.span.clone(),
                message: "the same value here".to_string(),
            });
        }
        out.push(Finding::new(d, Concern::Agents(dirs)));
    }
}

fn ports(machine: &Machine, out: &mut Vec<Finding>) {
    let mut groups: BTreeMap<String, Vec<Holder>> = BTreeMap::new();
    for agent in &machine.agents {
        if let Some(port) = agent.port {
            groups.entry(port.to_string()).or_default().push(Holder {
                dir: agent.dir.clone(),
                span: agent.port_span.clone(),
            });
        }
    }
    report_groups(groups, out, |port, dirs| {
        let d = Diagnostic::new(
            &PORT_COLLISION,
            Effect::Silent,
            format!(
                "{} agents are configured with port {port}: {}; only one server can listen, the others exit at boot",
                dirs.len(),
                list(dirs)
            ),
        )
        .fix(Some(Fix::manual("give all but one of them a free port in config.json, then restart them")));
        (d, "this agent's port")
    });
}

fn names(machine: &Machine, out: &mut Vec<Finding>) {
    let mut groups: BTreeMap<String, Vec<Holder>> = BTreeMap::new();
    for agent in &machine.agents {
        groups.entry(agent.name.clone()).or_default().push(Holder {
            dir: agent.dir.clone(),
            span: agent.name_span.clone(),
        });
    }
    report_groups(groups, out, |name, dirs| {
        let d = Diagnostic::new(
            &NAME_COLLISION,
            Effect::Silent,
            format!(
                "{} agents are named {name:?}: {}; they share the launchd label ai.instar.{name}, the tmux session {name}-server and the token file agent-tokens/{name}.token",
                dirs.len(),
                list(dirs)
            ),
        )
        .fix(Some(Fix::manual("rename all but one of them (projectName in config.json), then re-run their setup")));
        (d, "this agent's name")
    });
}

/// Registry reservations of a blocked port that no agent config carries (an agent's own
/// config.json port is reported by the config check, where the fix belongs).
fn blocked_reservations(cx: &Context, machine: &Machine, out: &mut Vec<Finding>) {
    for entry in machine.entries() {
        let Some(port) = entry.port.filter(|p| is_fetch_blocked(*p)) else {
            continue;
        };
        let path = entry.path.as_deref().map(PathBuf::from);
        let owner = path.as_ref().and_then(|p| {
            let real = cx.canonicalize(p).unwrap_or_else(|| p.clone());
            machine
                .agents
                .iter()
                .find(|a| a.real == real || a.dir == *p)
        });
        if owner.is_some_and(|a| a.port == Some(port)) {
            continue;
        }
        let mut d = Diagnostic::new(
            &FETCH_BLOCKED_PORT,
            Effect::Silent,
            format!(
                "registry entry {} reserves port {port}, which node's fetch refuses (WHATWG bad port): the mesh and the lifeline cannot reach it",
                entry.index
            ),
        )
        .file(&machine.registry_path)
        .pointer(format!("/entries/{}/port", entry.index))
        .fix(Some(Fix::manual("re-port the agent, then restart it")));
        if let Some(span) = &entry.port_span {
            d = d.at(span.clone(), "a blocked port");
        }
        let concern = match owner {
            Some(agent) => Concern::Agents(vec![agent.dir.clone()]),
            None => Concern::MachineOnly,
        };
        out.push(Finding::new(d, concern));
    }
}

fn list(dirs: &[PathBuf]) -> String {
    dirs.iter()
        .map(|d| d.display().to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

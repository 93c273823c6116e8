//! The per-user registry itself: does it load (#19), does each entry still name an agent (#20),
//! is every running agent in it (#21), and is its lock stale (#22).

use std::path::{Path, PathBuf};

use crate::diag::{Diagnostic, Effect, Severity};
use crate::engine::{Context, STATE_DIR};
use crate::fix::{Change, Fix};
use crate::version::boundary;

use super::codes::*;
use super::view::{Agent, Machine, RegistryFile};
use super::{Concern, Finding};

/// proper-lockfile's `stale` option in AgentRegistry: a held lock is refreshed more often.
const LOCK_STALE_SECS: i64 = 10;

pub fn check(cx: &Context, machine: &Machine, out: &mut Vec<Finding>) {
    corrupt(machine, out);
    zombies(cx, machine, out);
    unregistered(cx, machine, out);
    stale_lock(cx, machine, out);
}

fn corrupt(machine: &Machine, out: &mut Vec<Finding>) {
    let RegistryFile::Corrupt {
        reason,
        span,
        label,
    } = &machine.registry
    else {
        return;
    };
    let mut d = Diagnostic::new(
        &REGISTRY_CORRUPT,
        Effect::Silent,
        format!(
            "{} does not load ({reason}): instar reads it as an empty registry, and its next write erases every agent's entry and port",
            machine.registry_path.display()
        ),
    )
    .file(&machine.registry_path)
    .help("copy the file aside, then rebuild it from the agents' configs, or restart each agent so it registers again")
    .fix(Some(Fix::manual("rebuild ~/.instar/registry.json from the agents' configs")));
    if let Some(span) = span {
        d = d.at(span.clone(), *label);
    }
    out.push(Finding::new(d, Concern::Everyone));
}

fn zombies(cx: &Context, machine: &Machine, out: &mut Vec<Finding>) {
    for entry in machine.entries() {
        if entry.is_lifeline() {
            continue;
        }
        let Some(path) = entry.path.as_deref() else {
            continue;
        };
        let dir = Path::new(path);
        let why = if cx.metadata(dir).is_none() {
            "does not exist"
        } else if cx
            .metadata(&dir.join(STATE_DIR).join("config.json"))
            .is_none()
        {
            "holds no .instar/config.json"
        } else {
            continue;
        };
        let port = entry
            .port
            .map(|p| format!(" and keeps port {p} reserved"))
            .unwrap_or_default();
        out.push(Finding::new(
            Diagnostic::new(
                &REGISTRY_ZOMBIE,
                Effect::Silent,
                format!(
                    "registry entry {} names {path}, which {why}; instar never prunes it{port}",
                    entry.index
                ),
            )
            .file(&machine.registry_path)
            .at(entry.span.clone(), "this entry")
            .pointer(format!("/entries/{}", entry.index))
            .fix(removal(machine, entry.index)),
            Concern::MachineOnly,
        ));
    }
}

/// Unsafe: a folder on a drive that is not mounted looks gone, and the entry is the agent's
/// port reservation and name. The edit removes the entry's bytes and one separator, nothing
/// else, so every other entry keeps its bytes; the machine run writes it under instar's lock.
fn removal(machine: &Machine, index: usize) -> Option<Fix> {
    let container = machine.entries_span.as_ref()?;
    let siblings: Vec<_> = machine.entries().iter().map(|e| e.span.clone()).collect();
    Some(Fix::unsafe_(
        "remove this entry from the registry",
        vec![Change::Edit {
            file: machine.registry_path.clone().into(),
            span: crate::json_edit::removal_span(container, &siblings, index),
            replacement: Box::default(),
        }],
    ))
}

/// `.instar/local/server-instance.lock` of an agent: `{pid, hostname, heartbeat}`.
fn running_pid(cx: &Context, dir: &Path) -> Option<u32> {
    let lock = dir.join(STATE_DIR).join("local/server-instance.lock");
    let doc = cx.json(&lock)?;
    let tape = doc.tape()?;
    let root = tape.root();
    let pid = root.get("pid")?.as_f64()?;
    let host = root.get("hostname").and_then(|v| v.as_str());
    // A lock from another host says nothing about a process here.
    if let (Some(host), Some(here)) = (host, cx.host().hostname()) {
        if *host != here {
            return None;
        }
    }
    let pid = (pid.fract() == 0.0 && pid > 0.0 && pid <= u32::MAX as f64).then_some(pid as u32)?;
    cx.process_alive(pid).then_some(pid)
}

fn unregistered(cx: &Context, machine: &Machine, out: &mut Vec<Finding>) {
    // A registry that does not load is reported as such; "missing from it" would be noise.
    if matches!(machine.registry, RegistryFile::Corrupt { .. }) {
        return;
    }
    let registered: Vec<PathBuf> = machine
        .entries()
        .iter()
        .filter_map(|e| e.path.as_deref())
        .flat_map(|p| {
            let p = PathBuf::from(p);
            let real = cx.canonicalize(&p);
            std::iter::once(p).chain(real)
        })
        .collect();
    for agent in &machine.agents {
        if registered.contains(&agent.real) || registered.contains(&agent.dir) {
            continue;
        }
        let Some(pid) = running_pid(cx, &agent.dir) else {
            continue;
        };
        let heals = agent.version >= boundary::REGISTRY_HEARTBEAT_REREGISTERS;
        let (severity, effect, tail) = if heals {
            (
                Severity::Info,
                Effect::None,
                format!(
                    "instar {} re-registers it at its next heartbeat",
                    agent.version
                ),
            )
        } else {
            (
                Severity::Warning,
                Effect::Silent,
                format!(
                    "instar {} does not put it back until it restarts",
                    agent.version
                ),
            )
        };
        out.push(Finding::new(
            Diagnostic::new(
                &UNREGISTERED,
                effect,
                format!(
                    "{} runs (pid {pid}) but {} has no entry for it; {tail}",
                    agent.real.display(),
                    machine.registry_path.display()
                ),
            )
            .severity(severity)
            .file(agent.dir.join(STATE_DIR).join("local/server-instance.lock"))
            .fix(Some(registration(cx, machine, agent, pid).unwrap_or_else(
                || Fix::manual("restart the agent so it registers"),
            ))),
            Concern::Agents(vec![agent.dir.clone()]),
        ));
    }
}

/// Unsafe: the entry instar's `registerAgent` would write for the running agent, appended to
/// `entries` (every other byte kept). Only where that is what instar would do: a registry that
/// loads and an integer port no entry reserves (registerAgent refuses a port another running
/// entry holds); otherwise restarting the agent is the fix.
fn registration(cx: &Context, machine: &Machine, agent: &Agent, pid: u32) -> Option<Fix> {
    let array = machine.entries_span.as_ref()?;
    let port = agent
        .port
        .filter(|p| p.fract() == 0.0 && *p > 0.0 && *p < 65536.0)?;
    if machine.entries().iter().any(|e| e.port == Some(port)) {
        return None;
    }
    let src = cx.bytes_of(&machine.registry_path)?;
    let standalone = agent.dir.starts_with(machine.home.join("agents"));
    let now = crate::machine::iso_millis(cx.now);
    let entry = serde_json::json!({
        "name": agent.name,
        "type": if standalone { "standalone" } else { "project-bound" },
        "path": agent.real.to_string_lossy(),
        "port": port as u32,
        "pid": pid,
        "status": "running",
        "createdAt": now,
        "lastHeartbeat": now,
    });
    let pretty = serde_json::to_string_pretty(&entry).ok()?;
    let elements: Vec<_> = machine.entries().iter().map(|e| e.span.clone()).collect();
    let (span, replacement) = crate::json_edit::insert_element(&src[..], array, &elements, &pretty);
    Some(Fix::unsafe_(
        "add the agent's entry to the registry",
        vec![Change::Edit {
            file: machine.registry_path.clone().into(),
            span,
            replacement: replacement.into(),
        }],
    ))
}

fn stale_lock(cx: &Context, machine: &Machine, out: &mut Vec<Finding>) {
    let lock = machine.home.join("registry.json.lock");
    let Some(meta) = cx.symlink_metadata(&lock) else {
        return;
    };
    let mtime = meta
        .modified()
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0);
    let age = cx.now - mtime;
    if age <= LOCK_STALE_SECS {
        return;
    }
    out.push(Finding::new(
        Diagnostic::new(
            &REGISTRY_LOCK_STALE,
            Effect::None,
            format!(
                "{} was last refreshed {age} s ago, so no live process holds it; instar removes it itself after its retries",
                lock.display()
            ),
        )
        .file(&lock)
        // Safe: a lock no live holder refreshes for 10 s is one proper-lockfile itself would
        // take over. The machine run removes it while taking the lock (re-checked then), so
        // the change is never executed as a quarantine; it names what goes.
        .fix(Some(Fix::safe(
            "remove the stale lock folder",
            vec![Change::Quarantine { file: lock.clone() }],
        ))),
        Concern::Everyone,
    ));
}

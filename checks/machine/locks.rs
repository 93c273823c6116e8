//! Host-wide state stamped with a host name (#9: spawn-cap holders left by an old host name, on
//! a local file system only)
//! and agent paths that instar before v0.28.79 could not use (#33).

use crate::diag::{Diagnostic, Effect};
use crate::engine::Context;
use crate::fix::{Change, Fix};
use crate::version::boundary;

use super::codes::*;
use super::view::Machine;
use super::{Concern, Finding};

/// hostSpawnSemaphore's heartbeat staleness window.
const HOLDER_STALE_MS: f64 = 5.0 * 60.0 * 1000.0;

pub fn check(cx: &Context, machine: &Machine, out: &mut Vec<Finding>) {
    holders(cx, machine, out);
    paths(machine, out);
}

fn holders(cx: &Context, machine: &Machine, out: &mut Vec<Finding>) {
    let path = machine.home.join("host-spawn-holders.json");
    let Some(doc) = cx.json(&path) else { return };
    let Some(tape) = doc.tape() else { return };
    let Some(here) = cx.host().hostname() else {
        return;
    };
    // On a shared (network) home another host's holder may be alive, and its pid means nothing
    // here: only a local file is judged (#9).
    if cx.host().local_filesystem(&path) == Some(false) {
        return;
    }
    let Some(list) = tape.root().get("holders") else {
        return;
    };
    let now_ms = cx.now as f64 * 1000.0;
    let siblings: Vec<_> = list.elements().map(|h| h.span()).collect();
    for (i, holder) in list.elements().enumerate() {
        let Some(host) = holder.get("hostname").and_then(|v| v.as_str()) else {
            continue;
        };
        if *host == here {
            continue;
        }
        let pid = holder.get("pid").and_then(|v| v.as_f64()).unwrap_or(0.0);
        let alive = pid > 0.0
            && pid.fract() == 0.0
            && pid <= u32::MAX as f64
            && cx.process_alive(pid as u32);
        let heartbeat = holder
            .get("heartbeat")
            .and_then(|v| v.as_f64())
            .unwrap_or(0.0);
        if alive || now_ms - heartbeat <= HOLDER_STALE_MS {
            continue;
        }
        out.push(Finding::new(
            Diagnostic::new(
                &FOREIGN_SPAWN_HOLDER,
                Effect::Silent,
                format!(
                    "spawn-cap holder {i} is stamped {host:?}, not this host ({here}), its pid {pid} is not alive and its heartbeat is stale: instar never prunes it, so it holds a slot for good"
                ),
            )
            .file(&path)
            .at(holder.span(), "a foreign holder")
            .pointer(format!("/holders/{i}"))
            // Unsafe: it drops a record of another host. The machine run writes under
            // hostSpawnSemaphore's own lock and only while the file still holds the bytes
            // judged here, so the stamp, the dead pid and the old heartbeat still hold (time
            // only makes a heartbeat older).
            .fix(Some(Fix::unsafe_(
                "drop this holder",
                vec![Change::Edit {
                    file: path.clone().into(),
                    span: crate::json_edit::removal_span(&list.span(), &siblings, i),
                    replacement: Box::default(),
                }],
            ))),
            Concern::MachineOnly,
        ));
    }
}

/// What `new URL(import.meta.url).pathname` keeps percent-encoded.
fn needs_encoding(path: &str) -> bool {
    path.chars()
        .any(|c| matches!(c, ' ' | '%' | '#' | '?') || !c.is_ascii())
}

fn paths(machine: &Machine, out: &mut Vec<Finding>) {
    for agent in &machine.agents {
        if agent.version >= boundary::PROJECT_PATH_DECODED {
            continue;
        }
        let text = agent.real.to_string_lossy();
        if !needs_encoding(&text) {
            continue;
        }
        out.push(Finding::new(
            Diagnostic::new(
                &PATH_NEEDS_ENCODING,
                Effect::Silent,
                format!(
                    "{text} needs percent-encoding in a URL, and instar {} reads its own files through one: templates and hooks fail to install",
                    agent.version
                ),
            )
            .fix(Some(Fix::manual("update instar, or move the agent to a path of plain characters"))),
            Concern::Agents(vec![agent.dir.clone()]),
        ));
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn paths_that_urls_encode() {
        assert!(super::needs_encoding("/Users/a b/agent"));
        assert!(super::needs_encoding("/Users/a/100%"));
        assert!(super::needs_encoding("/Users/a/#1"));
        assert!(super::needs_encoding("/Users/zoë/agent"));
        assert!(!super::needs_encoding("/Users/a/my-agent_2"));
    }
}

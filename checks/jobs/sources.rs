//! Where the jobs come from and whether the scheduler will load them (spec §3.1, §3.5).

use std::collections::HashSet;
use std::path::PathBuf;

use crate::engine::Context;
use crate::json::Kind;
use crate::version::boundary;

use super::hazards::KnownMachines;

/// config.json's `scheduler.jobsFile`, with where it sits in config.json.
pub struct JobsFileSetting {
    pub value: String,
    pub span: std::ops::Range<usize>,
    pub resolved: PathBuf,
}

/// What config.json says about the scheduler (defaults when it is missing or broken).
pub struct SchedulerConfig {
    pub config_path: PathBuf,
    pub jobs_file: Option<JobsFileSetting>,
    /// `scheduler.enabled`, or the version's default when absent or not a boolean.
    pub enabled: bool,
    pub enabled_is_default: bool,
    /// The JSON text of a `scheduler.enabled` that is not a boolean (`"yes"`, `0`).
    pub enabled_raw: Option<String>,
}

/// JavaScript truthiness of a JSON value.
fn js_truthy(value: &crate::json::Value<'_>) -> bool {
    match value.kind() {
        Kind::Null => false,
        Kind::Bool => value.as_bool() == Some(true),
        Kind::Number => value.as_f64().is_some_and(|n| n != 0.0),
        Kind::String => value.as_str().is_some_and(|t| !t.is_empty()),
        _ => true,
    }
}

pub fn scheduler_config(cx: &Context) -> SchedulerConfig {
    let config_path = cx.state_path("config.json");
    let default_enabled = cx.version >= boundary::SCHEDULER_ENABLED_BY_DEFAULT;
    let mut out = SchedulerConfig {
        config_path: config_path.clone(),
        jobs_file: None,
        enabled: default_enabled,
        enabled_is_default: true,
        enabled_raw: None,
    };
    let Some(doc) = cx.json(&config_path) else {
        return out;
    };
    let Some(tape) = doc.tape() else {
        return out;
    };
    let Some(scheduler) = tape.root().get("scheduler") else {
        return out;
    };
    // loadConfig takes `scheduler?.enabled ?? default` and server start tests it for
    // truthiness (spec §3.9, probed): `null` means the default, `"yes"` runs the scheduler and
    // `0` or `""` do not, on both sides of v1.2.53.
    if let Some(value) = scheduler.get("enabled").filter(|v| v.kind() != Kind::Null) {
        out.enabled = js_truthy(&value);
        out.enabled_is_default = false;
        if value.kind() != Kind::Bool {
            out.enabled_raw = Some(String::from_utf8_lossy(value.raw()).into_owned());
        }
    }
    if let Some(value) = scheduler.get("jobsFile") {
        // instar uses the setting when it is a non-empty string, verbatim.
        if let Some(text) = value
            .as_str()
            .filter(|t| value.kind() == Kind::String && !t.is_empty())
        {
            let path = PathBuf::from(&*text);
            let resolved = if path.is_absolute() {
                path
            } else {
                cx.project_dir.join(path)
            };
            out.jobs_file = Some(JobsFileSetting {
                value: text.into_owned(),
                span: value.span(),
                resolved,
            });
        }
    }
    out
}

/// This machine's registry role, from identity.json's machineId and registry.json.
pub fn this_machine_role(cx: &Context) -> Option<String> {
    let identity = cx.json(&cx.state_path("machine/identity.json"))?;
    let identity = identity.tape()?;
    let id = identity.root().get("machineId")?.as_str()?.into_owned();
    let registry = cx.json(&cx.state_path("machines/registry.json"))?;
    let registry = registry.tape()?;
    let entry = registry.root().get("machines")?.get(&id)?;
    Some(entry.get("role")?.as_str()?.into_owned())
}

/// Registry machine ids and names, lowercased, as instar matches a job's `machines` list.
pub fn known_machines(cx: &Context) -> KnownMachines {
    let Some(registry) = cx.json(&cx.state_path("machines/registry.json")) else {
        return KnownMachines::Unknown;
    };
    let Some(tape) = registry.tape() else {
        return KnownMachines::Unknown;
    };
    let Some(machines) = tape.root().get("machines") else {
        return KnownMachines::Unknown;
    };
    if machines.kind() != Kind::Object {
        return KnownMachines::Unknown;
    }
    let mut known = HashSet::new();
    for (id, entry) in machines.members() {
        known.insert(id.to_lowercase());
        if let Some(name) = entry.get("name").and_then(|n| n.as_str()) {
            known.insert(name.to_lowercase());
        }
    }
    KnownMachines::Known(known)
}

/// Why a loader failure would not bite today, if it would not (spec §3.5).
pub fn dormant_reason(cx: &Context, scheduler: &SchedulerConfig) -> Option<String> {
    if !scheduler.enabled {
        let why = if scheduler.enabled_is_default {
            format!(
                "scheduler.enabled is unset and defaults to false at instar {}",
                cx.version
            )
        } else if let Some(raw) = &scheduler.enabled_raw {
            format!("scheduler.enabled is {raw}, which instar reads as off")
        } else {
            "scheduler.enabled is false".to_string()
        };
        return Some(format!(
            "dormant: {why}, so the scheduler does not load this file yet; it fails as soon as the scheduler runs"
        ));
    }
    if this_machine_role(cx).as_deref() == Some("standby") {
        return Some(
            "dormant: this machine is standby, so the scheduler does not load this file yet; it fails as soon as the machine is awake"
                .to_string(),
        );
    }
    None
}

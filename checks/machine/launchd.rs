//! macOS launchd jobs of instar: orphan, shared or mislabelled jobs (#8), a process ceiling below
//! the idle floor (#10), the fleet watchdog (#26), and agents in TCC-protected folders (#4).
//! Plists are read as XML text (a binary plist would need plutil, i.e. a spawn).

use std::path::{Path, PathBuf};

use crate::checks::boot::plist::program_arguments;
use crate::diag::{Diagnostic, Effect, Severity};
use crate::engine::{Context, HostOs};
use crate::fix::Fix;

use super::codes::*;
use super::view::Machine;
use super::{Concern, Finding};

/// instar's floor for NumberOfProcesses; below `CEILING_ERROR` an idle Mac is already over it.
const CEILING_FLOOR: i64 = 2048;
const CEILING_ERROR: i64 = 600;
const WATCHDOG: &str = "ai.instar.watchdog.plist";

/// One `ai.instar.*.plist`, as far as the doctor reads it.
struct Job {
    path: PathBuf,
    label: String,
    dir: Option<PathBuf>,
    text: String,
}

pub fn check(cx: &Context, machine: &Machine, out: &mut Vec<Finding>) {
    if cx.host_os() != HostOs::MacOs {
        return;
    }
    let Some(folder) = cx.host().launch_agents_dir() else {
        return;
    };
    let mut jobs = Vec::new();
    for name in cx.list_dir(&folder) {
        if !name.starts_with("ai.instar.") || !name.ends_with(".plist") {
            continue;
        }
        let path = folder.join(&name);
        let Some(text) = cx
            .file(&path)
            .loaded()
            .map(|l| String::from_utf8_lossy(&l.bytes).into_owned())
        else {
            continue;
        };
        if name == WATCHDOG {
            watchdog(cx, &path, &text, cx.home_dir().as_deref(), out);
            continue;
        }
        let dir = program_arguments(&text).and_then(|args| {
            let at = args.iter().position(|a| a == "--dir")?;
            args.get(at + 1).map(PathBuf::from)
        });
        jobs.push(Job {
            label: name.trim_end_matches(".plist").to_string(),
            path,
            dir,
            text,
        });
    }
    orphans(cx, machine, &jobs, out);
    for job in &jobs {
        ceiling(cx, machine, job, out);
    }
    tcc(cx, machine, &folder, out);
}

fn concern_for(cx: &Context, machine: &Machine, dir: &Path) -> Concern {
    let real = cx.canonicalize(dir).unwrap_or_else(|| dir.to_path_buf());
    match machine
        .agents
        .iter()
        .find(|a| a.real == real || a.dir == dir)
    {
        Some(agent) => Concern::Agents(vec![agent.dir.clone()]),
        None => Concern::MachineOnly,
    }
}

fn orphans(cx: &Context, machine: &Machine, jobs: &[Job], out: &mut Vec<Finding>) {
    for (i, job) in jobs.iter().enumerate() {
        let Some(dir) = &job.dir else { continue };
        let finding = |severity: Severity, message: String, concern: Concern| {
            Finding::new(
                Diagnostic::new(&LAUNCHD_ORPHAN, Effect::Silent, message)
                    .severity(severity)
                    .file(&job.path)
                    .fix(Some(Fix::manual(format!(
                        "launchctl bootout gui/$UID {}, then remove or rename it",
                        job.path.display()
                    )))),
                concern,
            )
        };
        if cx.metadata(dir).is_none() {
            out.push(finding(
                Severity::Warning,
                format!(
                    "launchd job {} runs instar for {}, which does not exist",
                    job.label,
                    dir.display()
                ),
                Concern::MachineOnly,
            ));
            continue;
        }
        // A shared folder is reported once, on the first job of the pair.
        if let Some(other) = jobs[i + 1..].iter().find(|o| o.dir.as_ref() == Some(dir)) {
            out.push(finding(
                Severity::Error,
                format!(
                    "launchd jobs {} and {} both run instar for {}: two servers race for its port and socket",
                    job.label,
                    other.label,
                    dir.display()
                ),
                concern_for(cx, machine, dir),
            ));
            continue;
        }
        let real = cx.canonicalize(dir).unwrap_or_else(|| dir.clone());
        if let Some(agent) = machine
            .agents
            .iter()
            .find(|a| a.real == real || a.dir == *dir)
        {
            let expected = format!("ai.instar.{}", agent.name);
            if job.label != expected {
                out.push(finding(
                    Severity::Warning,
                    format!(
                        "launchd job {} runs instar for {}, whose projectName {:?} gives the label {expected}: a leftover job from an earlier name",
                        job.label,
                        dir.display(),
                        agent.name
                    ),
                    Concern::Agents(vec![agent.dir.clone()]),
                ));
            }
        }
    }
}

/// `<key>NumberOfProcesses</key><integer>N</integer>` anywhere (soft or hard limits).
fn process_limits(text: &str) -> Vec<i64> {
    let mut found = Vec::new();
    let mut rest = text;
    while let Some(at) = rest.find("<key>NumberOfProcesses</key>") {
        rest = &rest[at + 28..];
        let trimmed = rest.trim_start();
        if let Some(body) = trimmed.strip_prefix("<integer>") {
            if let Some(end) = body.find("</integer>") {
                if let Ok(n) = body[..end].trim().parse() {
                    found.push(n);
                }
            }
        }
    }
    found
}

fn ceiling(cx: &Context, machine: &Machine, job: &Job, out: &mut Vec<Finding>) {
    let Some(lowest) = process_limits(&job.text).into_iter().min() else {
        return;
    };
    if lowest >= CEILING_FLOOR {
        return;
    }
    let severity = if lowest < CEILING_ERROR {
        Severity::Error
    } else {
        Severity::Warning
    };
    let concern = match &job.dir {
        Some(dir) => concern_for(cx, machine, dir),
        None => Concern::MachineOnly,
    };
    out.push(Finding::new(
        Diagnostic::new(
            &PROCESS_CEILING,
            Effect::Silent,
            format!(
                "launchd job {} limits NumberOfProcesses to {lowest}, below {CEILING_FLOOR}: the limit counts every process of the user, and an idle Mac runs about 530",
                job.label
            ),
        )
        .severity(severity)
        .file(&job.path)
        .fix(Some(Fix::manual("update instar (or set 2048 in the plist), then restart the job"))),
        concern,
    ));
}

/// A path under a temporary folder, which the system cleans (the home folder never counts,
/// wherever it lives).
fn is_temporary(path: &Path, home: Option<&Path>) -> bool {
    if home.is_some_and(|h| path.starts_with(h)) {
        return false;
    }
    let text = path.to_string_lossy();
    [
        "/tmp/",
        "/private/tmp/",
        "/var/folders/",
        "/private/var/folders/",
    ]
    .iter()
    .any(|p| text.starts_with(p))
}

fn watchdog(cx: &Context, path: &Path, text: &str, home: Option<&Path>, out: &mut Vec<Finding>) {
    let script = program_arguments(text).and_then(|a| a.get(1).cloned());
    let problem = match &script {
        None => Some("names no script".to_string()),
        Some(s) if is_temporary(Path::new(s), home) => {
            Some(format!("runs {s}, under a temporary folder"))
        }
        Some(s) if cx.metadata(Path::new(s)).is_none() => {
            Some(format!("runs {s}, which does not exist"))
        }
        Some(_) if !has_path_variable(text) => Some(
            "sets no EnvironmentVariables/PATH, so its npm repair fails under launchd's empty PATH"
                .to_string(),
        ),
        Some(_) => None,
    };
    let Some(problem) = problem else { return };
    out.push(Finding::new(
        Diagnostic::new(
            &WATCHDOG_BROKEN,
            Effect::Silent,
            format!("the fleet watchdog's launchd job {problem}: the watchdog is silently dead"),
        )
        .file(path)
        .fix(Some(Fix::manual(
            "re-run `instar update` or setup, which rewrites the watchdog",
        ))),
        Concern::MachineOnly,
    ));
}

fn has_path_variable(text: &str) -> bool {
    text.find("<key>EnvironmentVariables</key>")
        .is_some_and(|at| text[at..].contains("<key>PATH</key>"))
}

/// macOS's major version from the Darwin kernel release: Darwin 20–24 are macOS 11–15, and
/// Darwin 25 is macOS 26 (the year-based numbering).
pub fn macos_major(darwin_release: &str) -> Option<u32> {
    let darwin: u32 = darwin_release.split('.').next()?.parse().ok()?;
    match darwin {
        0..=19 => None,
        20..=24 => Some(darwin - 9),
        _ => Some(darwin + 1),
    }
}

fn tcc(cx: &Context, machine: &Machine, folder: &Path, out: &mut Vec<Finding>) {
    let Some(home) = cx.home_dir() else { return };
    let protected = [
        "Documents",
        "Desktop",
        "Downloads",
        "Library/Mobile Documents",
    ];
    let macos = cx.host().os_version().as_deref().and_then(macos_major);
    for agent in &machine.agents {
        let Some(place) = protected
            .iter()
            .find(|p| agent.real.starts_with(home.join(p)) || agent.dir.starts_with(home.join(p)))
        else {
            continue;
        };
        let plist = folder.join(format!("ai.instar.{}.plist", agent.name));
        if !cx.file(&plist).exists_for_instar() {
            continue;
        }
        let (severity, consequence) = if macos.is_some_and(|v| v >= 26) {
            (
                Severity::Error,
                "on macOS 26 launchd cannot start it there (EPERM, exit 78, empty logs)",
            )
        } else {
            (Severity::Warning, "launchd-started processes get EPERM on reads there at times, and macOS 26 refuses to start it")
        };
        out.push(Finding::new(
            Diagnostic::new(
                &TCC_PROTECTED,
                Effect::Silent,
                format!(
                    "{} lies under ~/{place}, a TCC-protected folder, and launchd runs it ({}): {consequence}",
                    agent.real.display(),
                    plist.display()
                ),
            )
            .severity(severity)
            .file(&plist)
            .fix(Some(Fix::manual("move the agent, e.g. under ~/.instar/agents/, then re-run its setup"))),
            Concern::Agents(vec![agent.dir.clone()]),
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn darwin_releases_map_to_macos_versions() {
        assert_eq!(macos_major("23.4.0"), Some(14));
        assert_eq!(macos_major("24.6.0"), Some(15));
        assert_eq!(macos_major("25.0.0"), Some(26));
        assert_eq!(macos_major("junk"), None);
    }

    #[test]
    fn process_limits_are_read_from_soft_and_hard_dicts() {
        let text = "<key>SoftResourceLimits</key><dict><key>NumberOfProcesses</key>\n  <integer>512</integer></dict>\
                    <key>HardResourceLimits</key><dict><key>NumberOfProcesses</key><integer>2048</integer></dict>";
        assert_eq!(process_limits(text), [512, 2048]);
    }
}

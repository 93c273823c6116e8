//! What the wrappers depend on: their modes and owner, the node symlink, the shadow install and
//! its heal marker, the crash file, and the --deep probes (the only place this check spawns).

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use crate::diag::{Diagnostic, Effect, Severity, Sink};
use crate::fix::{Change, Fix};
use crate::source::Loaded;
use crate::version::boundary;

use super::codes::*;
use super::{Boot, WrapperKind};

pub fn permissions(
    boot: &Boot<'_>,
    path: &Path,
    loaded: &Loaded,
    kind: WrapperKind,
    sink: &mut Sink,
) {
    let shown = boot.cx.display_path(path);
    if boot.agent_uid.is_some_and(|uid| uid != loaded.uid) {
        sink.push(
            Diagnostic::new(
                &NOT_OWNED,
                Effect::None,
                format!(
                    "{shown} is owned by uid {}, not by the agent user (the owner of .instar/)",
                    loaded.uid
                ),
            )
            .file(path)
            .fix(Some(Fix::manual(format!(
                "chown it to the agent user: chown <agent-user> {shown}"
            )))),
        );
    }
    if loaded.mode & 0o111 == 0 {
        let severity = match kind {
            WrapperKind::Sh => Severity::Warning,
            WrapperKind::Node => Severity::Info,
        };
        sink.push(
            Diagnostic::new(
                &NOT_EXECUTABLE,
                Effect::None,
                format!("{shown} has mode {:04o}: it cannot be run directly", loaded.mode),
            )
            .severity(severity)
            .file(path)
            .help("instar sets 0755 only when it creates the file; a regenerated wrapper keeps a lost exec bit")
            .fix(Some(Fix::safe(
                format!("chmod 755 {shown}"),
                vec![Change::SetMode {
                    file: path.to_path_buf(),
                    mode: 0o755,
                }],
            ))),
        );
    }
}

fn deep_skipped(boot: &Boot<'_>, what: &str, interpreter: &str, sink: &mut Sink) {
    sink.push(
        Diagnostic::new(
            &DEEP_SKIPPED,
            Effect::None,
            format!("--deep: {what} skipped: {interpreter} is not installed on this host"),
        )
        .file(boot.cx.state_path("")),
    );
}

/// `node --check` / `bash -n`, only under --deep.
pub fn deep_syntax(boot: &Boot<'_>, path: &Path, kind: WrapperKind, sink: &mut Sink) {
    if !boot.cx.deep {
        return;
    }
    let (program, flag) = match kind {
        WrapperKind::Node => ("node", "--check"),
        WrapperKind::Sh => ("bash", "-n"),
    };
    let Some(output) = boot
        .cx
        .host()
        .run(program, &[flag.as_ref(), path.as_os_str()])
    else {
        return deep_skipped(boot, &format!("{program} {flag}"), program, sink);
    };
    if output.status.success() {
        return;
    }
    let stderr = String::from_utf8_lossy(&output.stderr);
    let first = stderr
        .lines()
        .find(|l| l.contains("Error") || l.contains("error"))
        .or_else(|| stderr.lines().next())
        .unwrap_or("it failed")
        .trim()
        .to_string();
    let shown = boot.cx.display_path(path);
    sink.push(
        Diagnostic::new(
            &SYNTAX_ERROR,
            if boot.macos() && kind == WrapperKind::Node {
                Effect::Fatal
            } else {
                Effect::Silent
            },
            format!("`{program} {flag}` rejects {shown}: {first}"),
        )
        .file(path)
        .fix(Some(boot.write_fix(
            path,
            kind,
            false,
            &format!(
                "write the doctor's own wrapper for instar {} over it",
                boot.cx.version
            ),
        ))),
    );
}

pub fn node_link(boot: &Boot<'_>, sink: &mut Sink) {
    let cx = boot.cx;
    let link = cx.state_path("bin/node");
    let (effect, severity) = if boot.macos() {
        (Effect::Fatal, Severity::Error)
    } else {
        (Effect::None, Severity::Info)
    };
    let consequence = if boot.macos() {
        "launchd runs it as ProgramArguments[0], so the agent cannot start"
    } else {
        "only the wrapper's self-heal uses it on this platform, and re-links it"
    };
    let problem = match cx.symlink_metadata(&link) {
        None => Some("does not exist".to_string()),
        Some(_) => match cx.metadata(&link) {
            None => Some(format!(
                "is a symlink to {}, which does not exist",
                cx.read_link(&link).unwrap_or_default().display()
            )),
            Some(meta) if !meta.is_file() => Some("does not lead to a file".to_string()),
            Some(meta) if meta.permissions().mode() & 0o111 == 0 => {
                Some("leads to a file that is not executable".to_string())
            }
            Some(_) => None,
        },
    };
    let shown = cx.display_path(&link);
    if let Some(problem) = problem {
        sink.push(
            Diagnostic::new(&NODE_LINK, effect, format!("{shown} {problem}: {consequence}"))
                .severity(severity)
                .file(&link)
                .fix(Some(Fix::manual(
                    "re-link it to a node of the same major version as the shadow install's native modules: ln -sfn \"$(command -v node)\" .instar/bin/node",
                ))),
        );
        return;
    }
    if cx.deep {
        match cx.host().run(&link.to_string_lossy(), &["--version".as_ref()]) {
            Some(out) if out.status.success() => {}
            Some(_) | None => sink.push(
                Diagnostic::new(
                    &NODE_LINK,
                    effect,
                    format!("{shown} does not run `--version`: {consequence}"),
                )
                .severity(severity)
                .file(&link)
                .help("found with --deep, by running it")
                .fix(Some(Fix::manual(
                    "re-link it to a working node of the same major version as the shadow install's native modules",
                ))),
            ),
        }
    }
}

pub fn shadow(boot: &Boot<'_>, sink: &mut Sink) {
    let cx = boot.cx;
    if boot.shadow_exists {
        return;
    }
    let reinstalls = cx.version >= boundary::BOOT_WRAPPER_SELF_REINSTALL;
    let (effect, severity, consequence) = if reinstalls {
        (
            Effect::Silent,
            Severity::Warning,
            format!("instar {}'s wrapper tries one `npm install` (debounced 5 minutes), which needs the network", cx.version),
        )
    } else {
        (
            Effect::Fatal,
            Severity::Error,
            format!(
                "instar {}'s wrapper prints \"Shadow install not found\" and exits 1",
                cx.version
            ),
        )
    };
    sink.push(
        Diagnostic::new(
            &SHADOW_MISSING,
            effect,
            format!("{} is missing: {consequence}", cx.display_path(&boot.shadow_cli)),
        )
        .severity(severity)
        .file(&boot.shadow_cli)
        .fix(Some(Fix::manual(
            "npm install instar --prefix .instar/shadow-install (the doctor never uses the network)",
        ))),
    );
    if reinstalls {
        heal_marker(boot, sink);
    }
}

fn heal_marker(boot: &Boot<'_>, sink: &mut Sink) {
    let cx = boot.cx;
    let marker = cx.state_path("shadow-install.heal-attempted");
    let state = cx.file(&marker);
    let Some(loaded) = state.loaded() else { return };
    let text = String::from_utf8_lossy(&loaded.bytes);
    let Ok(mut stamp) = text.trim().parse::<i64>() else {
        return;
    };
    if stamp > 1_000_000_000_000 {
        stamp /= 1000; // epoch milliseconds
    }
    let age = cx.now - stamp;
    if !(0..300).contains(&age) {
        return;
    }
    sink.push(
        Diagnostic::new(
            &HEAL_MARKER,
            Effect::Silent,
            format!("a shadow-install reinstall was attempted {age} s ago and the install is still missing: the wrapper will not retry for {} s", 300 - age),
        )
        .file(&marker)
        .fix(Some(Fix::unsafe_(
            "move the heal marker to quarantine so that the next start retries at once",
            vec![Change::Quarantine { file: marker.clone() }],
        ))),
    );
}

pub fn crash_loop(boot: &Boot<'_>, sink: &mut Sink) {
    let cx = boot.cx;
    let path = cx.state_path("state/boot-crashes.txt");
    let state = cx.file(&path);
    let Some(loaded) = state.loaded() else { return };
    let text = String::from_utf8_lossy(&loaded.bytes);
    let recent = text
        .lines()
        .filter_map(|l| l.trim().parse::<i64>().ok())
        .filter(|t| (0..=120).contains(&(cx.now - t)))
        .count();
    if recent >= 3 {
        sink.push(
            Diagnostic::new(
                &CRASH_LOOP,
                Effect::None,
                format!("{recent} boot crashes in the last 120 seconds: the agent is in a crash loop"),
            )
            .file(&path)
            .help("read .instar/logs/*-launchd.err for the cause; the wrapper sleeps up to 120 s between attempts"),
        );
    }
}

//! The boot check: `instar-boot.sh` and the Node wrapper (`instar-boot.js`/`.cjs`), the node
//! symlink, the shadow install, the crash file and, on macOS, the launchd plist (spec §8).
//!
//! Nothing is spawned unless `--deep`: wrappers are judged from their content, the symlink from
//! the file system. A regenerated wrapper is our own (template.rs), written through the fix
//! engine as a `Change::Write`.

pub mod codes;
mod content;
mod host;
pub(crate) mod plist;
pub mod template;

use std::path::{Path, PathBuf};

use crate::diag::{Code, Diagnostic, Effect, Severity, Sink};
use crate::engine::{Context, HostOs};
use crate::fix::{Change, Fix};
use crate::source::FileState;
use crate::version::boundary;

use super::Check;
use codes::*;

pub struct BootCheck;

/// Which wrapper files the version's extension rule expects (spec §8.1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    /// `instar-boot.js` or `instar-boot.cjs`.
    pub node_name: &'static str,
    /// Why: for messages.
    pub reason: String,
}

/// The extension rule: `.cjs` from v1.1.2; before it `.cjs` only when the project's package.json
/// parses and has `"type": "module"`.
pub fn extension_rule(cx: &Context) -> Rule {
    if cx.version >= boundary::BOOT_WRAPPER_ALWAYS_CJS {
        return Rule {
            node_name: "instar-boot.cjs",
            reason: format!("instar {} always uses instar-boot.cjs", cx.version),
        };
    }
    let package = cx.project_dir.join("package.json");
    let module = cx
        .json(&package)
        .and_then(|doc| {
            let tape = doc.tape()?;
            let kind = tape.root().get("type")?.as_str()?.into_owned();
            Some(kind == "module")
        })
        .unwrap_or(false);
    if module {
        Rule {
            node_name: "instar-boot.cjs",
            reason: format!(
                "package.json has \"type\": \"module\", so instar {} uses instar-boot.cjs",
                cx.version
            ),
        }
    } else {
        Rule {
            node_name: "instar-boot.js",
            reason: format!(
                "package.json has no \"type\": \"module\", so instar {} uses instar-boot.js",
                cx.version
            ),
        }
    }
}

/// Facts shared by every rule of one run.
pub struct Boot<'a> {
    pub cx: &'a Context,
    pub rule: Rule,
    pub shadow_cli: PathBuf,
    pub shadow_exists: bool,
    pub plist: Option<plist::Plist>,
    pub plist_path: Option<PathBuf>,
    /// The owner of `.instar/`: the agent user.
    pub agent_uid: Option<u32>,
}

impl Check for BootCheck {
    fn id(&self) -> &'static str {
        "boot"
    }
    fn about(&self) -> &'static str {
        "the boot wrappers"
    }

    fn codes(&self) -> &'static [&'static Code] {
        codes::ALL
    }

    fn run(&self, cx: &Context, sink: &mut Sink) {
        let shadow_cli = cx.state_path("shadow-install/node_modules/instar/dist/cli.js");
        let plist_path = (cx.host_os() == HostOs::MacOs)
            .then(|| plist::plist_path(cx))
            .flatten();
        let boot = Boot {
            cx,
            rule: extension_rule(cx),
            shadow_exists: cx.file(&shadow_cli).exists_for_instar(),
            shadow_cli,
            plist: plist_path.as_deref().and_then(|p| plist::read(cx, p)),
            plist_path,
            agent_uid: cx.agent_uid(),
        };
        let node_path = cx.state_path(boot.rule.node_name);
        let sh_path = cx.state_path("instar-boot.sh");
        let node_state = cx.file(&node_path);
        let sh_state = cx.file(&sh_path);
        let anything = node_state.exists_for_instar()
            || sh_state.exists_for_instar()
            || cx.entry_exists(&cx.state_path("instar-boot.js"))
            || cx.entry_exists(&cx.state_path("instar-boot.cjs"))
            || cx.entry_exists(&cx.state_path("bin/node"))
            || cx.exists(&cx.state_path("shadow-install"))
            || boot.plist_path.as_ref().is_some_and(|p| cx.exists(p));

        if !anything {
            // Design §7: no boot wrapper on Linux is a healthy absence. On macOS too when there
            // is no launchd job either: `instar init` writes neither; the first `server start`
            // (or `instar autostart`) installs both, so a fresh agent has nothing here (§8).
            let message = if cx.host_os() == HostOs::MacOs {
                "no boot wrapper and no launchd job: this agent is not set up to start at login yet (instar installs both at its first server start)"
            } else {
                "no boot wrapper: healthy on this platform, where systemd runs node and the instar CLI directly"
            };
            sink.push(
                Diagnostic::new(&MISSING, Effect::None, message)
                    .severity(Severity::Info)
                    .file(&sh_path),
            );
            return;
        }

        let drift = plist::extension_drift(&boot, sink);
        if !drift {
            wrapper(&boot, &node_path, &node_state, WrapperKind::Node, sink);
        }
        wrapper(&boot, &sh_path, &sh_state, WrapperKind::Sh, sink);
        host::node_link(&boot, sink);
        host::shadow(&boot, sink);
        host::crash_loop(&boot, sink);
        plist::check(&boot, sink);
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WrapperKind {
    Node,
    Sh,
}

impl<'a> Boot<'a> {
    /// Our own wrapper for this file, as the bytes a fix writes.
    pub fn generated(&self, kind: WrapperKind) -> Vec<u8> {
        match kind {
            WrapperKind::Node => template::node_wrapper(&self.cx.state_dir, self.cx.version),
            WrapperKind::Sh => template::sh_wrapper(&self.cx.state_dir, self.cx.version),
        }
        .into_bytes()
    }

    /// Writing our wrapper over an existing file (unsafe, design §7) or creating it.
    pub fn write_fix(&self, path: &Path, kind: WrapperKind, safe: bool, title: &str) -> Fix {
        let changes = vec![
            Change::Write {
                file: path.to_path_buf(),
                contents: self.generated(kind),
            },
            Change::SetMode {
                file: path.to_path_buf(),
                mode: 0o755,
            },
        ];
        if safe {
            Fix::safe(title, changes)
        } else {
            Fix::unsafe_(title, changes)
        }
    }

    fn macos(&self) -> bool {
        self.cx.host_os() == HostOs::MacOs
    }
}

fn wrapper(boot: &Boot<'_>, path: &Path, state: &FileState, kind: WrapperKind, sink: &mut Sink) {
    let cx = boot.cx;
    let shown = cx.display_path(path);
    match state {
        FileState::Present(loaded) => present(boot, path, loaded, kind, sink),
        FileState::Missing | FileState::Dangling { .. } | FileState::SymlinkLoop => {
            missing(boot, path, state, kind, sink)
        }
        other => sink.push(
            Diagnostic::new(
                &UNREADABLE,
                if boot.macos() && kind == WrapperKind::Node {
                    Effect::Fatal
                } else {
                    Effect::Silent
                },
                format!("{shown} {}", other.describe()),
            )
            .file(path)
            .fix(Some(Fix::manual(
                "move it aside; the doctor then offers to write the wrapper",
            ))),
        ),
    }
}

/// A wrapper that is there: damaged, or else checked for what it runs; its mode either way.
fn present(
    boot: &Boot<'_>,
    path: &Path,
    loaded: &crate::source::Loaded,
    kind: WrapperKind,
    sink: &mut Sink,
) {
    let cx = boot.cx;
    let shown = cx.display_path(path);
    // Spans are found in the decoded text and reported in the file's bytes.
    let lossy = crate::lossy::LossyText::new(&loaded.bytes);
    let text = lossy.as_str();
    let damage = match kind {
        WrapperKind::Node => content::node_damage(text),
        WrapperKind::Sh => content::sh_damage(text),
    };
    let effect = if boot.macos() && kind == WrapperKind::Node {
        Effect::Fatal
    } else {
        Effect::Silent
    };
    if let Some(damage) = damage {
        sink.push(
            Diagnostic::new(
                &DAMAGED,
                effect,
                format!("{shown} is damaged: {}", damage.message),
            )
            .file(path)
            .at(lossy.span_to_source(damage.span), "here")
            .help("instar writes its wrappers in place, not atomically, and at start only checks that they exist")
            .fix(Some(boot.write_fix(
                path,
                kind,
                false,
                &format!("write the doctor's own wrapper for instar {} over it", cx.version),
            ))),
        );
    } else {
        undamaged(boot, path, &lossy, kind, effect, sink);
    }
    host::permissions(boot, path, loaded, kind, sink);
}

/// An intact wrapper: baked-in paths of another project, markers of an older instar, and (with
/// `--deep`) its syntax.
fn undamaged(
    boot: &Boot<'_>,
    path: &Path,
    lossy: &crate::lossy::LossyText,
    kind: WrapperKind,
    effect: Effect,
    sink: &mut Sink,
) {
    let cx = boot.cx;
    let shown = cx.display_path(path);
    let text = lossy.as_str();
    if let Some((span, other)) = content::foreign_paths(text, &cx.project_dir)
        .into_iter()
        .next()
    {
        sink.push(
            Diagnostic::new(
                &STALE_PATH,
                effect,
                format!(
                    "{shown} runs files of another project folder, {}: the project was moved or copied",
                    other.display()
                ),
            )
            .file(path)
            .at(lossy.span_to_source(span), "baked-in path of another project")
            .help("the launchd plist needs regenerating too (`instar setup`)")
            .fix(Some(boot.write_fix(
                path,
                kind,
                false,
                "write the doctor's own wrapper with this project's paths",
            ))),
        );
    }
    if kind == WrapperKind::Node {
        let missing = content::missing_markers(text, cx.version);
        if !missing.is_empty() {
            sink.push(
                Diagnostic::new(
                    &STALE_MARKERS,
                    Effect::Silent,
                    format!(
                        "{shown} lacks {} of instar {}'s wrapper: {}",
                        if missing.len() == 1 {
                            "a marker"
                        } else {
                            "markers"
                        },
                        cx.version,
                        missing
                            .iter()
                            .map(|m| format!("\"{m}\""))
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                )
                .file(path)
                .help("on macOS instar's next update regenerates it")
                .fix(Some(boot.write_fix(
                    path,
                    kind,
                    false,
                    &format!("write the doctor's own wrapper for instar {}", cx.version),
                ))),
            );
        }
    }
    host::deep_syntax(boot, path, kind, sink);
}

/// A wrapper that is not there (or a link that leads nowhere): how much that matters on this
/// host, and the wrapper the doctor would write.
fn missing(boot: &Boot<'_>, path: &Path, state: &FileState, kind: WrapperKind, sink: &mut Sink) {
    let cx = boot.cx;
    let shown = cx.display_path(path);
    let plist_agrees = boot
        .plist
        .as_ref()
        .and_then(|p| p.wrapper())
        .is_none_or(|w| kind == WrapperKind::Sh || w == path);
    let safe = boot.shadow_exists && plist_agrees;
    let (effect, severity) = if boot.macos() && kind == WrapperKind::Node {
        (Effect::Fatal, Severity::Error)
    } else if boot.macos() {
        (Effect::Silent, Severity::Warning)
    } else {
        (Effect::None, Severity::Info)
    };
    let why = match kind {
        WrapperKind::Node => format!("{}; ", boot.rule.reason),
        WrapperKind::Sh => String::new(),
    };
    let consequence = if boot.macos() && kind == WrapperKind::Node {
        "launchd cannot start the agent"
    } else if boot.macos() {
        "it is only used by hand"
    } else {
        "low severity on Linux, where systemd does not use it"
    };
    let mut diagnostic = Diagnostic::new(
        &MISSING,
        effect,
        format!("{shown} {}: {why}{consequence}", state.describe()),
    )
    .severity(severity)
    .file(path)
    .help("instar's lifeline regenerates missing wrappers when it starts, on macOS only; `instar autostart install` rewrites them (on macOS) as the manual alternative");
    if kind == WrapperKind::Node
        && boot.rule.node_name == "instar-boot.cjs"
        && cx.exists(&cx.state_path("instar-boot.js"))
    {
        diagnostic =
            diagnostic.add_help("a leftover instar-boot.js does not count at this version");
    }
    if !boot.shadow_exists {
        diagnostic = diagnostic.add_help("the shadow install is missing too, so the wrapper would have nothing to run (see boot/shadow-missing)");
    }
    sink.push(diagnostic.fix(Some(boot.write_fix(
        path,
        kind,
        safe,
        &format!("create the doctor's own wrapper for instar {}", cx.version),
    ))));
}

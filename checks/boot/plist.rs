//! macOS: the launchd plist `~/Library/LaunchAgents/ai.instar.<projectName>.plist`, parsed
//! (XML; a binary plist would need plutil, i.e. a spawn) and its ProgramArguments checked
//! (B-PLIST), and the v0.28.x extension drift between the plist and the files (B-EXT-DRIFT).

use std::path::{Path, PathBuf};

use crate::diag::{Diagnostic, Effect, Sink};
use crate::engine::Context;
use crate::fix::Fix;

use super::codes::*;
use super::{Boot, WrapperKind};

/// What the plist says, as far as it could be read.
#[derive(Debug, Clone)]
pub struct Plist {
    pub path: PathBuf,
    /// `None` when the file does not parse as an XML plist with ProgramArguments.
    pub program_arguments: Option<Vec<String>>,
}

impl Plist {
    /// ProgramArguments[1]: the wrapper launchd runs.
    pub fn wrapper(&self) -> Option<PathBuf> {
        self.program_arguments
            .as_ref()
            .and_then(|a| a.get(1))
            .map(PathBuf::from)
    }
}

/// `projectName` from config.json (when it is a string), else the project folder's name.
pub fn project_name(cx: &Context) -> String {
    cx.json(&cx.state_path("config.json"))
        .and_then(|doc| {
            let tape = doc.tape()?;
            let name = tape.root().get("projectName")?.as_str()?.into_owned();
            Some(name)
        })
        .unwrap_or_else(|| {
            cx.project_dir
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default()
        })
}

pub fn plist_path(cx: &Context) -> Option<PathBuf> {
    let home = cx.home_dir()?;
    Some(
        home.join("Library/LaunchAgents")
            .join(format!("ai.instar.{}.plist", project_name(cx))),
    )
}

pub fn read(cx: &Context, path: &Path) -> Option<Plist> {
    let state = cx.file(path);
    let loaded = state.loaded()?;
    let text = String::from_utf8_lossy(&loaded.bytes);
    Some(Plist {
        path: path.to_path_buf(),
        // Behind `hook install --preflight`, instar's own arguments are what launchd runs.
        program_arguments: program_arguments(&text).map(crate::preflight::launchd::unwrap),
    })
}

fn unescape(text: &str) -> String {
    text.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&apos;", "'")
        .replace("&amp;", "&")
}

/// The strings of the array after `<key>ProgramArguments</key>`.
pub fn program_arguments(text: &str) -> Option<Vec<String>> {
    if !text.trim_start().starts_with("<?xml") && !text.contains("<plist") {
        return None;
    }
    let after = &text[text.find("<key>ProgramArguments</key>")? + 27..];
    let start = after.find("<array>")?;
    if after[..start].trim() != "" {
        return None;
    }
    let body = &after[start + 7..after.find("</array>")?];
    let mut out = Vec::new();
    let mut rest = body;
    while let Some(open) = rest.find("<string>") {
        let close = rest[open..].find("</string>")? + open;
        out.push(unescape(&rest[open + 8..close]));
        rest = &rest[close + 9..];
    }
    Some(out)
}

/// v0.28.x: the plist runs a wrapper the extension rule does not keep (or that is gone).
/// Returns whether it reported, in which case the Node wrapper's own checks are skipped.
pub fn extension_drift(boot: &Boot<'_>, sink: &mut Sink) -> bool {
    let cx = boot.cx;
    let Some(plist) = &boot.plist else {
        return false;
    };
    let Some(referenced) = plist.wrapper() else {
        return false;
    };
    let name = referenced
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    if !matches!(name.as_str(), "instar-boot.js" | "instar-boot.cjs")
        || referenced.parent() != Some(cx.state_dir.as_path())
    {
        return false;
    }
    let exists = cx.file(&referenced).exists_for_instar();
    let ruled = name == boot.rule.node_name;
    let message = match (exists, ruled) {
        (true, true) => return false,
        (false, true) => return false, // a plain boot/missing, with the plist agreeing
        (false, false) => format!(
            "the launchd plist runs {}, which is missing: {} (the other extension was deleted when instar last wrote its boot wrappers)",
            cx.display_path(&referenced),
            boot.rule.reason
        ),
        (true, false) => {
            if cx.version >= crate::version::boundary::BOOT_WRAPPER_ALWAYS_CJS {
                format!(
                    "the launchd plist still runs {}: {}, and the migrator rewrites such plists on the next update",
                    cx.display_path(&referenced),
                    boot.rule.reason
                )
            } else {
                format!(
                    "the launchd plist runs {}, but {}: the next time instar writes its boot wrappers (`instar autostart install`, an update) it deletes it, and under \"type\": \"module\" its require() fails",
                    cx.display_path(&referenced),
                    boot.rule.reason
                )
            }
        }
    };
    let fix = if exists {
        Fix::manual(
            "regenerate the plist with `instar setup` so that it runs the wrapper the rule keeps, then launchctl bootout and bootstrap",
        )
    } else {
        boot.write_fix(
            &referenced,
            WrapperKind::Node,
            false,
            "write the wrapper the plist references (the doctor's own); re-pointing the plist stays manual",
        )
    };
    sink.push(
        Diagnostic::new(&EXTENSION_DRIFT, Effect::Fatal, message)
            .file(&referenced)
            .help(format!("plist: {}", plist.path.display()))
            .fix(Some(fix)),
    );
    true
}

/// B-PLIST: missing, unreadable, or ProgramArguments that do not lead to this agent.
pub fn check(boot: &Boot<'_>, sink: &mut Sink) {
    let cx = boot.cx;
    let Some(path) = &boot.plist_path else { return };
    let manual = || {
        Some(Fix::manual(
            "run `instar setup`, then launchctl bootout and bootstrap the agent",
        ))
    };
    let Some(plist) = &boot.plist else {
        sink.push(
            Diagnostic::new(
                &PLIST,
                Effect::Fatal,
                format!(
                    "{} {}: launchd does not start this agent",
                    path.display(),
                    cx.file(path).describe()
                ),
            )
            .file(path)
            .fix(manual()),
        );
        return;
    };
    let Some(args) = &plist.program_arguments else {
        sink.push(
            Diagnostic::new(
                &PLIST,
                Effect::Fatal,
                format!("{} is not an XML plist with ProgramArguments (a binary plist needs `plutil -convert xml1` to be checked)", path.display()),
            )
            .file(path)
            .fix(manual()),
        );
        return;
    };
    let node = cx.state_path("bin/node");
    let mut problems = Vec::new();
    if args.first().map(PathBuf::from) != Some(node.clone()) {
        problems.push(format!("ProgramArguments[0] is not {}", node.display()));
    }
    match args.get(1) {
        Some(wrapper) if !cx.exists(Path::new(wrapper)) => {
            problems.push(format!("ProgramArguments[1] ({wrapper}) does not exist"))
        }
        None => problems.push("ProgramArguments has no wrapper".to_string()),
        _ => {}
    }
    let dir = args
        .iter()
        .position(|a| a == "--dir")
        .and_then(|i| args.get(i + 1));
    if dir.map(PathBuf::from) != Some(cx.project_dir.clone()) {
        problems.push(format!("--dir is not {}", cx.project_dir.display()));
    }
    if !problems.is_empty() {
        sink.push(
            Diagnostic::new(
                &PLIST,
                Effect::Fatal,
                format!(
                    "the launchd plist does not start this agent: {}",
                    problems.join("; ")
                ),
            )
            .file(path)
            .fix(manual()),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_program_arguments_from_xml() {
        let xml = r#"<?xml version="1.0" encoding="UTF-8"?>
<plist version="1.0"><dict>
  <key>Label</key><string>ai.instar.a</string>
  <key>ProgramArguments</key>
  <array>
    <string>/p/.instar/bin/node</string>
    <string>/p/.instar/instar-boot.js</string>
    <string>server</string><string>start</string><string>--foreground</string>
    <string>--dir</string><string>/p &amp; q</string>
  </array>
</dict></plist>"#;
        let args = program_arguments(xml).unwrap();
        assert_eq!(args[1], "/p/.instar/instar-boot.js");
        assert_eq!(args.last().unwrap(), "/p & q");
        assert_eq!(program_arguments("bplist00\u{0}garbage"), None);
    }
}

//! Paths in config.json: absolute paths baked in by init that point into another project folder
//! (C-PATHS), and configured binaries that do not exist (C-BINARIES; PATH only under --deep).

use std::path::{Path, PathBuf};

use crate::diag::{Diagnostic, Effect, Severity, Sink};
use crate::fix::{Change, Fix};
use crate::json::{Kind, Value};
use crate::json_edit;
use crate::version::{boundary, Version};

use super::codes::*;
use super::members::{removal, string};
use super::Config;

pub fn check(cfg: &Config<'_>, sink: &mut Sink) {
    stale_paths(cfg, sink);
    binaries(cfg, sink);
}

/// The project folder a baked path belongs to: the part before `/.instar`, or the path itself
/// for `sessions.projectDir`.
pub fn owning_project(value: &str, is_project_dir: bool) -> Option<PathBuf> {
    if is_project_dir {
        return Some(PathBuf::from(value.trim_end_matches('/')));
    }
    let at = value.find("/.instar/").or_else(|| {
        value
            .ends_with("/.instar")
            .then(|| value.len() - "/.instar".len())
    })?;
    Some(PathBuf::from(&value[..at]))
}

fn stale_paths(cfg: &Config<'_>, sink: &mut Sink) {
    let project = &cfg.cx.project_dir;
    let settings: [(&str, &str, &str); 5] = [
        (
            "relationships",
            "relationshipsDir",
            "relationships are read from and written to",
        ),
        ("feedback", "feedbackFile", "feedback is recorded in"),
        ("dispatches", "dispatchFile", "dispatches are recorded in"),
        (
            "sessions",
            "projectDir",
            "(ignored: instar overrides it with the real folder when it loads the config)",
        ),
        ("scheduler", "jobsFile", "jobs are loaded from"),
    ];
    for (section, key, consequence) in settings {
        let Some(value) = cfg.root.get(section).and_then(|s| s.get(key)) else {
            continue;
        };
        let Some(text) = string(Some(value)) else {
            continue;
        };
        if !text.starts_with('/') {
            continue;
        }
        let is_project_dir = key == "projectDir";
        let Some(old) = owning_project(&text, is_project_dir) else {
            continue;
        };
        if old == *project {
            continue;
        }
        if key == "jobsFile" && !cfg.cx.exists(Path::new(&text)) {
            continue; // jobs/stale-jobs-file owns a jobsFile that leads nowhere
        }
        let old_text = old.to_string_lossy().into_owned();
        let new_text = format!("{}{}", project.display(), &text[old_text.len()..]);
        let (effect, severity) = if is_project_dir {
            (Effect::None, Severity::Info)
        } else {
            (Effect::Silent, Severity::Warning)
        };
        let message = if is_project_dir {
            format!("{section}.{key} names another project folder, {old_text} {consequence}")
        } else {
            format!(
                "{section}.{key} points into another project folder, {old_text}: {consequence} the old place"
            )
        };
        sink.push(
            Diagnostic::new(&STALE_PATH, effect, message)
                .severity(severity)
                .file(cfg.path)
                .at(value.span(), "baked in before the project moved")
                .pointer(format!("/{section}/{key}"))
                .help(format!("this project is now at {}", project.display()))
                .fix(Some(Fix::unsafe_(
                    format!("rewrite the prefix {old_text} to {}", project.display()),
                    vec![Change::Edit {
                        file: cfg.path.clone().into(),
                        span: value.span(),
                        replacement: json_edit::string_literal(&new_text).into(),
                    }],
                ))),
        );
    }
}

/// The binary a framework id needs, for the ids loadConfig knows at `version`: an id it does not
/// know yet is ignored there, like any unknown value.
pub fn framework_binary(framework: &str, version: Version) -> Option<&'static str> {
    let (binary, since) = match framework {
        "claude-code" => ("claude", boundary::FRAMEWORK_PREREQUISITE),
        "codex-cli" => ("codex", boundary::FRAMEWORK_PREREQUISITE),
        "gemini-cli" => ("gemini", boundary::FRAMEWORK_GEMINI_CLI),
        "pi-cli" => ("pi", boundary::FRAMEWORK_PI_CLI),
        "grok-build" => ("grok", boundary::FRAMEWORK_GROK_BUILD),
        _ => return None,
    };
    (version >= since).then_some(binary)
}

/// loadConfig's framework resolution from [`boundary::FRAMEWORK_PREREQUISITE`] on:
/// `sessions.framework` (exact ids), then `INSTAR_FRAMEWORK`, then (from
/// [`boundary::FRAMEWORK_FROM_ENABLED_FRAMEWORKS`]) the first of `enabledFrameworks`, else
/// claude-code.
fn selected_framework(cfg: &Config<'_>) -> String {
    let version = cfg.cx.version;
    let exact = |v: Option<String>| v.filter(|f| framework_binary(f, version).is_some());
    exact(string(
        cfg.root.get("sessions").and_then(|s| s.get("framework")),
    ))
    .or_else(|| {
        cfg.cx
            .host()
            .env_var("INSTAR_FRAMEWORK")
            .and_then(|f| f.into_string().ok())
            .map(|f| match f.as_str() {
                "claude" => "claude-code".to_string(),
                "codex" => "codex-cli".to_string(),
                "gemini" => "gemini-cli".to_string(),
                "pi" => "pi-cli".to_string(),
                "grok" => "grok-build".to_string(),
                _ => f,
            })
    })
    .filter(|f| framework_binary(f, version).is_some())
    .or_else(|| {
        if version < boundary::FRAMEWORK_FROM_ENABLED_FRAMEWORKS {
            return None;
        }
        exact(string(
            cfg.root
                .get("enabledFrameworks")
                .and_then(|f| f.elements().next()),
        ))
    })
    .unwrap_or_else(|| "claude-code".to_string())
}

fn missing_configured(
    cfg: &Config<'_>,
    object: &Value<'_>,
    key: &str,
    value: &Value<'_>,
    pointer: String,
    effect: Effect,
    consequence: &str,
) -> Diagnostic {
    let fix = removal(object, key).map(|span| {
        Fix::unsafe_(
            format!(
                "remove {} so that instar auto-detects the binary",
                super::schema::dotted(&pointer)
            ),
            vec![Change::Edit {
                file: cfg.path.clone().into(),
                span,
                replacement: String::new().into(),
            }],
        )
    });
    Diagnostic::new(
        &MISSING_BINARY,
        effect,
        format!(
            "{} is {}, which does not exist: {consequence}",
            super::schema::dotted(&pointer),
            string(Some(*value)).unwrap_or_default()
        ),
    )
    .file(cfg.path)
    .at(value.span(), "no file here")
    .pointer(pointer)
    .fix(fix)
}

fn binaries(cfg: &Config<'_>, sink: &mut Sink) {
    let Some(sessions) = cfg
        .root
        .get("sessions")
        .filter(|s| s.kind() == Kind::Object)
    else {
        return deep_lookups(cfg, None, sink);
    };
    for key in ["tmuxPath", "claudePath"] {
        let Some(value) = sessions.get(key) else {
            continue;
        };
        let Some(text) = string(Some(value)).filter(|t| t.starts_with('/')) else {
            continue;
        };
        if !cfg.cx.exists(Path::new(&text)) {
            sink.push(
                missing_configured(
                    cfg,
                    &sessions,
                    key,
                    &value,
                    format!("/sessions/{key}"),
                    Effect::Silent,
                    "instar never checks a configured path, so every session spawn fails",
                )
                .severity(Severity::Error),
            );
        }
    }
    if cfg.cx.version >= boundary::FRAMEWORK_BINARY_PATHS_HONOURED {
        if let Some(paths) = sessions
            .get("frameworkBinaryPaths")
            .filter(|p| p.kind() == Kind::Object)
        {
            for (framework, value) in paths.members() {
                let Some(text) = string(Some(value)).filter(|t| t.starts_with('/')) else {
                    continue; // a bare command is never checked by instar
                };
                if !cfg.cx.exists(Path::new(&text)) {
                    sink.push(
                        missing_configured(
                            cfg,
                            &paths,
                            &framework,
                            &value,
                            format!("/sessions/frameworkBinaryPaths/{framework}"),
                            Effect::Silent,
                            "instar drops it with a warning and looks the binary up on PATH (checked with --deep)",
                        )
                        .severity(Severity::Warning),
                    );
                }
            }
        }
    }
    deep_lookups(cfg, Some(sessions), sink);
}

/// Under --deep only: what instar finds on PATH when nothing (usable) is configured. A binary
/// found nowhere makes loadConfig throw (`tmux not found`, the framework prerequisite).
fn deep_lookups(cfg: &Config<'_>, sessions: Option<Value<'_>>, sink: &mut Sink) {
    if !cfg.cx.deep {
        return;
    }
    let configured =
        |key: &str| string(sessions.and_then(|s| s.get(key))).filter(|t| !t.is_empty());
    let usable = |text: &str| {
        if text.contains('/') {
            cfg.cx.exists(Path::new(text))
        } else {
            cfg.cx.host().find_on_path(text).is_some()
        }
    };
    let mut needed: Vec<(String, String)> = Vec::new(); // (binary, what configures it)
    if configured("tmuxPath").is_none() {
        needed.push(("tmux".into(), "sessions.tmuxPath".into()));
    }
    let framework = if cfg.cx.version >= boundary::FRAMEWORK_PREREQUISITE {
        selected_framework(cfg)
    } else {
        "claude-code".to_string()
    };
    let binary = framework_binary(&framework, cfg.cx.version).unwrap_or("claude");
    let framework_path = if cfg.cx.version >= boundary::FRAMEWORK_BINARY_PATHS_HONOURED {
        string(
            sessions
                .and_then(|s| s.get("frameworkBinaryPaths"))
                .and_then(|p| p.get(&framework)),
        )
    } else {
        None
    };
    let claude_path = (binary == "claude")
        .then(|| configured("claudePath"))
        .flatten();
    let framework_ok = framework_path.as_deref().is_some_and(usable) || claude_path.is_some();
    if !framework_ok {
        let home_claude = cfg
            .cx
            .home_dir()
            .map(|h| h.join(".claude/local/claude"))
            .filter(|p| binary == "claude" && cfg.cx.exists(p));
        if home_claude.is_none() {
            needed.push((binary.to_string(), format!("the {framework} framework")));
        }
    }
    for (binary, what) in needed {
        if cfg.cx.host().find_on_path(&binary).is_some() {
            continue;
        }
        sink.push(
            Diagnostic::new(
                &MISSING_BINARY,
                Effect::Fatal,
                format!("{binary} is not on PATH and not configured ({what}): instar refuses to load the config and nothing starts"),
            )
            .file(cfg.path)
            .help("found with --deep, by looking the binary up on PATH as instar does")
            .fix(Some(Fix::manual(format!(
                "install {binary}, or configure its absolute path in config.json"
            )))),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A framework id counts only from the version whose loadConfig knows it; before that it is an
    /// unknown value, which instar ignores (and then requires another framework's binary).
    #[test]
    fn framework_ids_count_from_their_rule_on() {
        use crate::version::boundary::*;
        let cases = [
            ("claude-code", FRAMEWORK_PREREQUISITE, "claude"),
            ("codex-cli", FRAMEWORK_PREREQUISITE, "codex"),
            ("gemini-cli", FRAMEWORK_GEMINI_CLI, "gemini"),
            ("pi-cli", FRAMEWORK_PI_CLI, "pi"),
            ("grok-build", FRAMEWORK_GROK_BUILD, "grok"),
        ];
        for (id, first, binary) in cases {
            let before = Version::new(first.major, first.minor, first.patch - 1);
            assert_eq!(framework_binary(id, before), None, "{id} at {before}");
            assert_eq!(framework_binary(id, first), Some(binary), "{id} at {first}");
        }
        assert_eq!(
            framework_binary("cursor", crate::version::NEWEST_KNOWN),
            None
        );
    }

    #[test]
    fn the_owning_project_is_the_part_before_dot_instar() {
        assert_eq!(
            owning_project("/Users/sam/a/.instar/relationships", false),
            Some(PathBuf::from("/Users/sam/a"))
        );
        assert_eq!(owning_project("/var/data/feedback.json", false), None);
        assert_eq!(
            owning_project("/Users/sam/a/", true),
            Some(PathBuf::from("/Users/sam/a"))
        );
    }
}

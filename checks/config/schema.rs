//! C-TYPE: config.json against our JSON Schema of what `loadConfig` reads (spec §7.2), with each
//! validation error mapped to the bytes it is about, and `port`'s own coercions.
//!
//! The schema is the contract of types; the loader verdict (does it parse, what the root is)
//! always comes from our own scanner, never from serde_json, which disagrees with JSON.parse on
//! `1e400`, lone surrogates and depth.

use std::sync::{Mutex, OnceLock};

use jsonschema::error::ValidationErrorKind;

use crate::diag::{Diagnostic, Effect, Severity, Sink};
use crate::fix::{Change, Fix};
use crate::json::{Kind, Value};
use crate::version::{rule, Rule, Version};

use super::codes::*;
use super::members::to_serde;
use super::Config;
use crate::checks::ports::is_fetch_blocked;

/// Our schema of every key loadConfig reads at some version; keys instar reads only from a given
/// version carry `"x-since": "<rule name>"`, a row of the one rules table.
const SCHEMA: &str = include_str!("config.schema.json");

struct Compiled {
    schema: serde_json::Value,
    validator: jsonschema::Validator,
}

/// The whole schema, parsed once.
fn full_schema() -> &'static serde_json::Value {
    static FULL: OnceLock<serde_json::Value> = OnceLock::new();
    FULL.get_or_init(|| serde_json::from_str(SCHEMA).expect("the embedded schema is JSON"))
}

/// The `x-since` rule names in the schema, each with its first version.
fn since_rules(schema: &serde_json::Value, out: &mut Vec<&'static Rule>) {
    match schema {
        serde_json::Value::Object(map) => {
            if let Some(name) = map.get("x-since").and_then(|n| n.as_str()) {
                out.push(rule(name).unwrap_or_else(|| panic!("x-since names no rule: {name}")));
            }
            map.values().for_each(|v| since_rules(v, out));
        }
        serde_json::Value::Array(items) => items.iter().for_each(|v| since_rules(v, out)),
        _ => {}
    }
}

/// The schema as instar reads config.json at `version`: every property whose `x-since` rule
/// starts later is removed (instar does not read that key yet, so any value is harmless).
fn schema_at(schema: &serde_json::Value, version: Version) -> serde_json::Value {
    let later = |v: &serde_json::Value| {
        v.get("x-since")
            .and_then(|n| n.as_str())
            .and_then(rule)
            .is_some_and(|r| version < r.first)
    };
    match schema {
        serde_json::Value::Object(map) => serde_json::Value::Object(
            map.iter()
                .map(|(k, v)| {
                    let v = match (k.as_str(), v) {
                        ("properties", serde_json::Value::Object(props)) => {
                            serde_json::Value::Object(
                                props
                                    .iter()
                                    .filter(|(_, p)| !later(p))
                                    .map(|(name, p)| (name.clone(), p.clone()))
                                    .collect(),
                            )
                        }
                        _ => v.clone(),
                    };
                    (k.clone(), schema_at(&v, version))
                })
                .collect(),
        ),
        serde_json::Value::Array(items) => {
            serde_json::Value::Array(items.iter().map(|v| schema_at(v, version)).collect())
        }
        other => other.clone(),
    }
}

/// The compiled schema for `version`, one per set of `x-since` rules in force (a handful).
fn compiled(version: Version) -> &'static Compiled {
    static CACHE: Mutex<Vec<(Vec<&'static str>, &'static Compiled)>> = Mutex::new(Vec::new());
    let mut rules = Vec::new();
    since_rules(full_schema(), &mut rules);
    let mut key: Vec<&'static str> = rules
        .iter()
        .filter(|r| version >= r.first)
        .map(|r| r.name)
        .collect();
    key.sort_unstable();
    key.dedup();
    let mut cache = CACHE.lock().unwrap_or_else(|e| e.into_inner());
    if let Some((_, compiled)) = cache.iter().find(|(k, _)| *k == key) {
        return compiled;
    }
    let schema = schema_at(full_schema(), version);
    let validator = jsonschema::validator_for(&schema).expect("the embedded schema compiles");
    let compiled: &'static Compiled = Box::leak(Box::new(Compiled { schema, validator }));
    cache.push((key, compiled));
    compiled
}

/// `/messaging/0/type` → `messaging[0].type`, the way people name config keys.
pub fn dotted(pointer: &str) -> String {
    let mut out = String::new();
    for token in pointer.split('/').skip(1) {
        let token = token.replace("~1", "/").replace("~0", "~");
        if !token.is_empty() && token.bytes().all(|b| b.is_ascii_digit()) {
            out.push_str(&format!("[{token}]"));
        } else {
            if !out.is_empty() {
                out.push('.');
            }
            out.push_str(&token);
        }
    }
    out
}

pub fn check(cfg: &Config<'_>, sink: &mut Sink) {
    let compiled = compiled(cfg.cx.version);
    let instance = to_serde(&cfg.root, 0);
    let tape = cfg.root.tape();
    let (errors, missing) = validate(compiled, &instance);
    for error in errors {
        let pointer = error.instance_path().as_str().to_string();
        if pointer.is_empty() {
            continue; // the root's type is config/root-not-object's business
        }
        let (description, severity) = schema_rule(compiled, &error);
        let Some(value) = tape.pointer(&pointer) else {
            continue;
        };
        let (span, label, extra) = target(error.kind(), value, &pointer, &missing);
        let diagnostic = Diagnostic::new(
            &WRONG_TYPE,
            Effect::Silent,
            format!("{} {description}{extra}", dotted(&pointer)),
        )
        .severity(severity)
        .file(cfg.path)
        .at(span, label)
        .pointer(pointer.clone())
        .help("instar checks no types when it loads the config: the file loads and the value misbehaves later")
        .fix(Some(type_fix(cfg, &pointer, value)));
        sink.push(diagnostic);
    }
}

/// The members each object lacks, by the object's pointer: several make one finding.
type Missing = Vec<(String, Vec<String>)>;

/// The schema's errors on the instance, one per object for all its missing members.
fn validate<'i>(
    compiled: &'i Compiled,
    instance: &'i serde_json::Value,
) -> (Vec<jsonschema::ValidationError<'i>>, Missing) {
    let mut missing: Missing = Vec::new();
    let mut errors = Vec::new();
    for error in compiled.validator.iter_errors(instance) {
        if let ValidationErrorKind::Required { property } = error.kind() {
            let pointer = error.instance_path().as_str().to_string();
            let name = property.as_str().unwrap_or("?").to_string();
            match missing.iter_mut().find(|(p, _)| *p == pointer) {
                Some((_, names)) => {
                    names.push(name);
                    continue;
                }
                None => missing.push((pointer, vec![name])),
            }
        }
        errors.push(error);
    }
    (errors, missing)
}

/// What the failed rule of our schema says about itself: its description and its severity
/// (`x-severity`, else a warning).
fn schema_rule(
    compiled: &'static Compiled,
    error: &jsonschema::ValidationError<'_>,
) -> (&'static str, Severity) {
    let schema_path = error.schema_path().as_str().to_string();
    let keyword_parent = schema_path
        .rsplit_once('/')
        .map(|(p, _)| p)
        .unwrap_or_default();
    let rule = compiled.schema.pointer(keyword_parent);
    let description = rule
        .and_then(|r| r.get("description"))
        .and_then(|d| d.as_str())
        .unwrap_or("has the wrong type");
    let severity = match rule
        .and_then(|r| r.get("x-severity"))
        .and_then(|s| s.as_str())
    {
        Some("error") => Severity::Error,
        _ => Severity::Warning,
    };
    (description, severity)
}

/// Points at the bytes the error is about, taplo-style: the value for a type error, the
/// object's key for a missing member. Gives the span, its label and what the message adds.
fn target(
    kind: &ValidationErrorKind,
    value: Value<'_>,
    pointer: &str,
    missing: &Missing,
) -> (crate::diag::Span, String, String) {
    match kind {
        ValidationErrorKind::Required { .. } => {
            let names = missing
                .iter()
                .find(|(p, _)| *p == pointer)
                .map(|(_, n)| n.join("\", \""))
                .unwrap_or_default();
            (
                value.key_span().unwrap_or_else(|| value.span()),
                "incomplete object".to_string(),
                format!(" (\"{names}\" missing)"),
            )
        }
        ValidationErrorKind::Enum { .. } => (
            value.span(),
            "not one of the allowed values".into(),
            String::new(),
        ),
        _ => (
            value.span(),
            format!("this is {}", kind_name(&value)),
            String::new(),
        ),
    }
}

/// A single messaging adapter wrapped in the array instar expects; any other type by hand.
fn type_fix(cfg: &Config<'_>, pointer: &str, value: Value<'_>) -> Fix {
    if pointer == "/messaging" && value.kind() == Kind::Object {
        let whole = value.span();
        return Fix::unsafe_(
            "wrap the single messaging adapter in an array",
            vec![
                Change::Edit {
                    file: cfg.path.clone().into(),
                    span: whole.start..whole.start,
                    replacement: "[".into(),
                },
                Change::Edit {
                    file: cfg.path.clone().into(),
                    span: whole.end..whole.end,
                    replacement: "]".into(),
                },
            ],
        );
    }
    Fix::manual(format!("give {} the type instar expects", dotted(pointer)))
}

fn kind_name(value: &Value<'_>) -> &'static str {
    match value.kind() {
        Kind::Null => "null",
        Kind::Bool => "a boolean",
        Kind::Number => "a number",
        Kind::String => "a string",
        Kind::Array => "an array",
        Kind::Object => "an object",
    }
}

/// What `port || 4040` and the server's listen() make of the value.
#[derive(Debug, PartialEq)]
pub enum PortVerdict {
    Fine,
    /// Falsy: silently 4040.
    Falsy,
    /// A numeric string in range: kept as a string.
    NumericString(u16),
    /// listen() throws or binds a pipe instead of a port.
    Invalid(&'static str),
}

pub fn port_verdict(value: &Value<'_>) -> PortVerdict {
    match value.kind() {
        Kind::Null => PortVerdict::Falsy,
        Kind::Bool if value.as_bool() == Some(false) => PortVerdict::Falsy,
        Kind::Bool => PortVerdict::Invalid("true is not a port"),
        Kind::Number => {
            let n = value.as_f64().unwrap_or(f64::NAN);
            if n == 0.0 {
                PortVerdict::Falsy
            } else if !n.is_finite() {
                PortVerdict::Invalid("beyond f64 it is Infinity, which listen() rejects (and the next writeback turns it into null)")
            } else if n.fract() != 0.0 || !(1.0..=65535.0).contains(&n) {
                PortVerdict::Invalid("listen() accepts only integers 0..=65535")
            } else {
                PortVerdict::Fine
            }
        }
        Kind::String => {
            let text = value.as_str().unwrap_or_default();
            if text.is_empty() {
                PortVerdict::Falsy
            } else if let Ok(n) = text.parse::<u16>() {
                if n == 0 || text.starts_with('+') {
                    PortVerdict::Invalid("not a port number")
                } else {
                    PortVerdict::NumericString(n)
                }
            } else {
                PortVerdict::Invalid("Node takes a non-numeric string as a pipe name, not a port")
            }
        }
        Kind::Array | Kind::Object => PortVerdict::Invalid("not a port number"),
    }
}

pub fn port(cfg: &Config<'_>, sink: &mut Sink) {
    let Some(value) = cfg.root.get("port") else {
        return;
    };
    let edit = |replacement: String| Change::Edit {
        file: cfg.path.clone().into(),
        span: value.span(),
        replacement: replacement.into(),
    };
    let diagnostic = match port_verdict(&value) {
        PortVerdict::Fine => match value.as_f64() {
            Some(n) if is_fetch_blocked(n) => blocked_port(n as u32, &value),
            _ => return,
        },
        PortVerdict::Falsy => Diagnostic::new(
            &PORT_COERCED,
            Effect::Silent,
            format!(
                "port is {}: `port || 4040` silently makes it 4040",
                String::from_utf8_lossy(value.raw())
            ),
        )
        .at(value.span(), "used as 4040")
        .fix(Some(Fix::unsafe_(
            "write 4040, the port instar already uses",
            vec![edit("4040".into())],
        ))),
        PortVerdict::NumericString(n) if is_fetch_blocked(f64::from(n)) => {
            blocked_port(u32::from(n), &value)
        }
        PortVerdict::NumericString(n) => Diagnostic::new(
            &PORT_COERCED,
            Effect::Silent,
            format!("port is the string \"{n}\": instar keeps it a string"),
        )
        .at(value.span(), "a string, not a number")
        .fix(Some(Fix::unsafe_(
            format!("replace the string with the number {n}"),
            vec![edit(n.to_string())],
        ))),
        PortVerdict::Invalid(why) => Diagnostic::new(
            &INVALID_PORT,
            Effect::Silent,
            format!("port cannot be listened on: {why}; the agent's API never comes up"),
        )
        .at(value.span(), "not a usable port")
        .fix(Some(Fix::manual(
            "set port to a free port number (init allocates 4040 and up)",
        ))),
    };
    sink.push(diagnostic.file(cfg.path).pointer("/port"));
}

/// A port the server can listen on but node's fetch refuses (#11): the mesh, the lifeline's
/// health probe and its forwarding to the server all fail, while curl works.
fn blocked_port(port: u32, value: &Value<'_>) -> Diagnostic {
    Diagnostic::new(
        &FETCH_BLOCKED_PORT,
        Effect::Silent,
        format!(
            "port {port} is on the WHATWG fetch bad-ports list: node's fetch refuses it, so the mesh, the lifeline's health probe and its forwarding to the server fail"
        ),
    )
    .at(value.span(), "fetch refuses this port")
    .fix(Some(Fix::manual(
        "choose a free port off the list (4040-4044 or 4046 and up), update the registry entry, and restart the agent",
    )))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::json::{parse, Tape};

    fn verdict(text: &str) -> PortVerdict {
        let mut tape = Tape::new();
        parse(text.as_bytes(), &mut tape).unwrap();
        port_verdict(&tape.root())
    }

    #[test]
    fn port_verdicts_follow_port_or_4040_and_listen() {
        assert_eq!(verdict("4041"), PortVerdict::Fine);
        for falsy in ["0", "-0", "null", "false", "\"\""] {
            assert_eq!(verdict(falsy), PortVerdict::Falsy, "{falsy}");
        }
        assert_eq!(verdict("\"4042\""), PortVerdict::NumericString(4042));
        for bad in ["-1", "70000", "1.5", "1e400", "true", "\"abc\"", "[]", "{}"] {
            assert!(matches!(verdict(bad), PortVerdict::Invalid(_)), "{bad}");
        }
    }

    #[test]
    fn the_schema_compiles_at_every_boundary_and_accepts_an_empty_config() {
        let versions = crate::version::RULES
            .iter()
            .map(|r| r.first)
            .chain([crate::version::OLDEST_KNOWN]);
        for version in versions {
            let c = compiled(version);
            assert!(c.validator.is_valid(&serde_json::json!({})));
            assert!(c
                .validator
                .is_valid(&serde_json::json!({"agentName": "x", "unknown": [1]})));
            assert!(!c.validator.is_valid(&serde_json::json!({"messaging": {}})));
        }
    }

    /// Each versioned key is typed exactly from its rule's version: before it, instar ignores the
    /// key, so no value there is wrong.
    #[test]
    fn versioned_keys_are_typed_from_their_rule_on() {
        use crate::version::boundary;
        let cases = [
            (
                serde_json::json!({"sessions": {"framework": 7}}),
                boundary::FRAMEWORK_PREREQUISITE,
            ),
            (
                serde_json::json!({"enabledFrameworks": "codex-cli"}),
                boundary::FRAMEWORK_FROM_ENABLED_FRAMEWORKS,
            ),
            (
                serde_json::json!({"secrets": {"forceFileKey": "yes"}}),
                boundary::CONFIG_SECRETS_FORCE_FILE_KEY,
            ),
            (
                serde_json::json!({"sessions": {"frameworkBinaryPaths": {"codex-cli": 1}}}),
                boundary::FRAMEWORK_BINARY_PATHS_HONOURED,
            ),
        ];
        for (config, first) in cases {
            let before = Version::new(first.major, first.minor, first.patch - 1);
            assert!(
                compiled(before).validator.is_valid(&config),
                "{config} at {before}"
            );
            assert!(
                !compiled(first).validator.is_valid(&config),
                "{config} at {first}"
            );
        }
    }

    #[test]
    fn pointers_read_as_config_keys() {
        assert_eq!(dotted("/messaging/0/config"), "messaging[0].config");
        assert_eq!(dotted("/scheduler/enabled"), "scheduler.enabled");
    }
}

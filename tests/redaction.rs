//! Issue 9, "No secret is ever printed": secrets in damaged files, in diff hunks whose window
//! does not hold the secret's key, and in the `-i` preview. Each case here printed its secret
//! before redaction stopped depending on a parse and on the window.

mod common;

use std::fs;
use std::path::Path;

use instar_doctor::engine::{self, Context, Selection};
use instar_doctor::render;
use instar_doctor::version::{VersionSource, NEWEST_KNOWN};

fn agent(config: &[u8]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    fs::create_dir_all(dir.path().join(".instar")).unwrap();
    fs::write(dir.path().join(".instar/config.json"), config).unwrap();
    dir
}

fn outputs(dir: &Path, extra: &[&[&str]]) -> Vec<(String, String)> {
    let path = dir.to_str().unwrap();
    extra
        .iter()
        .map(|args| {
            let mut all = vec!["--dir", path];
            all.extend_from_slice(args);
            let out = common::run(&all);
            (args.join(" "), format!("{}{}", out.stdout, out.stderr))
        })
        .collect()
}

fn assert_hidden(what: &str, config: &[u8], secrets: &[&str], shown: &str) {
    let dir = agent(config);
    for (args, out) in outputs(dir.path(), &[&[], &["-v"], &["--diff", "--unsafe-fixes"]]) {
        for secret in secrets {
            assert!(
                !out.contains(secret),
                "{what}: {secret} leaked with [{args}]:\n{out}"
            );
        }
        if args.is_empty() {
            // The snippet is still there: redaction hid the value, not the report.
            assert!(
                out.contains(shown),
                "{what}: the snippet is missing:\n{out}"
            );
        }
    }
}

/// The issue's report: a syntax error right next to the PIN put the PIN in the snippet.
#[test]
fn a_syntax_error_next_to_a_secret_does_not_show_it() {
    assert_hidden(
        "junk between key and value",
        b"{\n  \"projectName\": \"x\",\n  \"dashboardPin\",: \"482913\",\n  \"port\": 4040\n}\n",
        &["482913"],
        "\"dashboardPin\",: \"[redacted]\"",
    );
}

/// Every shape of damage the lexical pass must survive, each next to a parse error so the
/// snippet shows the line.
#[test]
fn damaged_files_do_not_show_their_secrets() {
    let cases: &[(&str, &[u8], &[&str])] = &[
        (
            "missing colon",
            b"{\n  \"authToken\" \"tok-MISSING-COLON\",\n  \"port\": 4040\n}\n",
            &["tok-MISSING-COLON"],
        ),
        (
            "duplicated key, both values",
            b"{\n  \"authToken\": \"tok-DUP-ONE\",\n  \"authToken\": \"tok-DUP-TWO\",\n  \"port\": 40 40\n}\n",
            &["tok-DUP-ONE", "tok-DUP-TWO"],
        ),
        (
            "invalid UTF-8 inside the value",
            b"{\n  \"authToken\": \"tok-UTF8-\xFF\xFE-TAIL\",\n  \"port\": ,\n}\n",
            &["tok-UTF8", "TAIL"],
        ),
        (
            "truncated inside the value",
            b"{\n  \"projectName\": \"x\",\n  \"authToken\": \"tok-TRUNCATED-VAL",
            &["tok-TRUNCATED-VAL"],
        ),
        (
            "a newline inside the value",
            b"{\n  \"authToken\": \"tok-FIRST-HALF\nSECOND-HALF-tok\",\n  \"port\": 4040\n}\n",
            &["tok-FIRST-HALF", "SECOND-HALF-tok"],
        ),
        (
            "a stray quote before the key",
            b"{\n  \"projectName\": \"a\"b\", \"authToken\": \"tok-STRAY-QUOTE\"\n}\n",
            &["tok-STRAY-QUOTE"],
        ),
        (
            "a placeholder object whose marker comes after its value",
            b"{\n  \"database\": {\n    \"value\": \"tok-BEFORE-MARKER\",\n    \"secret\": true\n  },\n  \"port\": ,\n}\n",
            &["tok-BEFORE-MARKER"],
        ),
        (
            "an unquoted key",
            b"{\n  authToken: \"tok-UNQUOTED-KEY\",\n  \"port\": 4040\n}\n",
            &["tok-UNQUOTED-KEY"],
        ),
        (
            "an escaped key name",
            b"{\n  \"auth\\u0054oken\": \"tok-ESCAPED-NAME\",\n  \"port\": ,\n}\n",
            &["tok-ESCAPED-NAME"],
        ),
    ];
    for (what, config, secrets) in cases {
        assert_hidden(what, config, secrets, "[redacted]");
    }
}

/// A config whose secrets sit at the edges of a diff's window. The one unsafe fix wraps the
/// messaging object in an array, changing lines 9 and 13, so the hunk shows lines 6 to 16: the
/// token on line 6 without its key (line 5), and a placeholder's value on line 15 without its
/// marker (line 17). `secrets: false` gives the same shape with nothing secret in it.
fn split_config(secrets: bool) -> String {
    let config = r#"{
  "projectName": "echo-demo",
  "users": {},
  "port": 4040,
  "authToken":
    "tok-SPLIT-OVER-LINES",
  "host": "127.0.0.1",
  "sessions": {},
  "messaging": {
    "type": "telegram",
    "enabled": true,
    "config": {"token": {"secret": true}, "chatId": {"secret": true}}
  },
  "database": {
    "value": "tok-MARKER-BELOW",
    "pool": 4,
    "secret": true
  }
}
"#;
    if secrets {
        return config.to_string();
    }
    config
        .replace(
            "\"authToken\":\n    \"tok-SPLIT-OVER-LINES\"",
            "\"name\":\n    \"n\"",
        )
        .replace("\"value\": \"tok-MARKER-BELOW\"", "\"value\": \"v\"")
        .replace("\"secret\": true\n", "\"size\": 1\n")
        .replace(
            "{\"token\": {\"secret\": true}, \"chatId\": {\"secret\": true}}",
            "{}",
        )
}

const SPLIT_SECRETS: &[&str] = &["tok-SPLIT-OVER-LINES", "tok-MARKER-BELOW"];

#[test]
fn diff_hunks_hide_secrets_whose_key_is_outside_the_window() {
    let dir = agent(split_config(true).as_bytes());
    let out = common::run(&[
        "--dir",
        dir.path().to_str().unwrap(),
        "--diff",
        "--unsafe-fixes",
    ]);
    assert!(
        out.stdout.contains("wrap the single messaging adapter"),
        "the fix this test relies on is gone:\n{}",
        out.stdout
    );
    for secret in SPLIT_SECRETS {
        assert!(
            !out.stdout.contains(secret),
            "{secret} leaked:\n{}",
            out.stdout
        );
    }
    // Both sit in the hunk, redacted.
    assert!(
        out.stdout.contains("+    \"[redacted]\",") || out.stdout.contains("     \"[redacted]\","),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains("\"value\": \"[redacted]\""),
        "{}",
        out.stdout
    );
}

fn context_of(dir: &Path) -> Context {
    let mut cx = Context::at_version(dir.to_path_buf(), NEWEST_KNOWN, 0);
    // No --instar-version, as a plain run: the shadow install's version is read too.
    cx.version_source = VersionSource::Default;
    cx
}

/// `-i` needs a terminal, so its preview (what it prints before asking) is called directly: it
/// must hide the same secrets as `--diff`, for every finding it would ask about.
#[test]
fn the_interactive_preview_hides_secrets_outside_its_window() {
    let dir = agent(split_config(true).as_bytes());
    let cx = context_of(dir.path());
    let report = engine::run(&cx, &Selection::default());
    let opts = render::human::HumanOptions {
        color: false,
        width: 80,
        quiet: false,
        verbose: true,
        threshold: instar_doctor::diag::Severity::Info,
        hint: false,
        cwd: None,
        command: None,
    };
    let mut previews = 0;
    for d in report.diagnostics.iter().filter(|d| d.fix.is_some()) {
        let text = render::diff::preview(&cx, d, &opts);
        for secret in SPLIT_SECRETS {
            assert!(!text.contains(secret), "{secret} leaked in -i:\n{text}");
        }
        previews += text.contains("+++ b/.instar/config.json") as usize;
    }
    assert!(previews > 0, "no preview showed a diff");
}

/// A hunk that shows `[redacted]` says so and cannot be applied: `git apply` would otherwise
/// write the word `[redacted]` where the token was. A hunk without secrets still applies.
#[test]
fn redacted_hunks_are_refused_by_git_apply() {
    let Ok(git) = std::process::Command::new("git").arg("--version").output() else {
        eprintln!("skipped: git is not installed");
        return;
    };
    assert!(git.status.success());
    let dir = agent(split_config(true).as_bytes());
    let path = dir.path().to_str().unwrap();
    let out = common::run(&["--dir", path, "--diff", "--unsafe-fixes"]);
    let patch = dir.path().join("fix.patch");
    fs::write(&patch, &out.stdout).unwrap();
    let apply = |patch: &Path| {
        std::process::Command::new("git")
            .args(["apply", "--check", "--unsafe-paths"])
            .arg(patch)
            .current_dir(dir.path())
            .output()
            .unwrap()
    };
    assert!(
        out.stdout
            .lines()
            .any(|l| l.starts_with("~ ") && l.contains("[redacted]")),
        "no line says the hunk was redacted:\n{}",
        out.stdout
    );
    let refused = apply(&patch);
    assert!(
        !refused.status.success(),
        "git apply accepted a redacted hunk"
    );

    // The same fix on a config without secrets: no marker, and git applies it.
    let plain = split_config(false);
    fs::write(dir.path().join(".instar/config.json"), &plain).unwrap();
    let out = common::run(&["--dir", path, "--diff", "--unsafe-fixes"]);
    assert!(!out.stdout.contains("[redacted]"), "{}", out.stdout);
    fs::write(&patch, &out.stdout).unwrap();
    let applied = apply(&patch);
    assert!(
        applied.status.success(),
        "{}\n{}",
        String::from_utf8_lossy(&applied.stderr),
        out.stdout
    );
}

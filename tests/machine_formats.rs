//! The machine formats, byte for byte: every format is written as it is rendered, one finding
//! at a time (issue #11), and these snapshots pin the bytes that streaming must keep — a rich
//! report (several areas, redacted secrets, SARIF fixes as artifactChanges), a fix run's
//! document (handled findings without positions), and the exit-2 document of a run that gave
//! no answer — on stdout, and the same bytes with `-o FILE`.
//!
//! Only what differs from run to run or clone to clone is replaced: check durations, the
//! agent's and the repository's paths, and SARIF's rule catalogue (the code list's own text,
//! pinned by `list` and `explain`; a snapshot of it here would churn with every new code).

mod common;

use std::path::Path;

use common::{copy_fixture_agent, fixtures, repo_root, run_in};

const FORMATS: [&str; 4] = ["json", "sarif", "junit", "github"];

/// A path as the SARIF renderer writes it into a URI (unreserved characters and `/` kept).
fn uri_path(path: &str) -> String {
    path.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~' | b'/') {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// Replaces each line's run-dependent value after `key` up to `end` with `with`.
fn replace_values(text: &str, key: &str, end: char, with: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find(key) {
        let value = &rest[at + key.len()..];
        let stop = value.find(end).unwrap_or(value.len());
        out.push_str(&rest[..at + key.len()]);
        out.push_str(with);
        rest = &value[stop..];
    }
    out.push_str(rest);
    out
}

/// SARIF's `rules` array, cut at its closing bracket (same indentation as its key).
fn without_rules(text: &str) -> String {
    let key = "\"rules\": [";
    let Some(at) = text.find(key) else {
        return text.to_string();
    };
    let line_start = text[..at].rfind('\n').map_or(0, |i| i + 1);
    let indent = &text[line_start..at];
    let close = format!("\n{indent}]");
    let body = &text[at + key.len()..];
    let Some(end) = body.find(&close) else {
        panic!("no end to the rules array:\n{text}");
    };
    format!(
        "{}{key}\"[RULES]\"]{}",
        &text[..at],
        &body[end + close.len()..]
    )
}

fn normalize(text: &str, dirs: &[&Path]) -> String {
    let mut text = replace_values(text, "\"duration_ms\": ", '\n', "[ms]");
    text = replace_values(&text, " time=\"", '"', "[s]");
    text = without_rules(&text);
    for dir in dirs {
        for form in [dir.to_path_buf(), dir.canonicalize().unwrap()] {
            let shown = form.display().to_string();
            let shown = shown.trim_end_matches('/');
            text = text
                .replace(&uri_path(shown), "[DIR]")
                .replace(shown, "[DIR]");
        }
    }
    text
}

/// The format's output on stdout, checked to be the very bytes `-o` writes.
fn output(cwd: &Path, args: &[&str], format: &str, expected_code: i32) -> String {
    let mut on_stdout = args.to_vec();
    on_stdout.extend(["--format", format]);
    let out = run_in(cwd, &on_stdout);
    assert_eq!(out.code, expected_code, "{format} {args:?}: {}", out.stderr);
    out.stdout
}

/// `-o` writes the same bytes as stdout gets (durations aside); the terminal then shows the
/// human report, or nothing for a run with no answer (`quiet`).
fn same_with_output_file(cwd: &Path, args: &[&str], format: &str, stdout: &str, quiet: bool) {
    let file = tempfile::NamedTempFile::new().unwrap();
    let mut to_file = args.to_vec();
    to_file.extend(["--format", format, "-o", file.path().to_str().unwrap()]);
    let out = run_in(cwd, &to_file);
    if quiet {
        assert!(
            out.stdout.is_empty(),
            "-o takes the document: {}",
            out.stdout
        );
    } else {
        assert!(
            out.stdout.contains("jobs.json and its schedules"),
            "{}",
            out.stdout
        );
    }
    let written = std::fs::read_to_string(file.path()).unwrap();
    // Durations differ between the two runs; everything else is the same bytes.
    assert_eq!(normalize(&written, &[]), normalize(stdout, &[]), "{format}");
}

#[test]
fn every_machine_format_of_a_broken_agent() {
    let root = repo_root();
    let agent = fixtures().join("examples/broken-agent");
    let dir = agent.to_str().unwrap();
    let args = ["--dir", dir, "--instar-version", "0.28.44"];
    for format in FORMATS {
        let stdout = output(&root, &args, format, 1);
        same_with_output_file(&root, &args, format, &stdout, false);
        insta::assert_snapshot!(
            format!("broken_agent_{format}"),
            normalize(&stdout, &[&root])
        );
    }
}

#[test]
fn every_machine_format_of_a_fix_run() {
    for format in FORMATS {
        // A copy per format: the fix run writes.
        let agent = copy_fixture_agent("examples/broken-agent");
        let dir = agent.path().to_str().unwrap();
        let args = [
            "--dir",
            dir,
            "--instar-version",
            "0.28.44",
            "--fix",
            "--unsafe-fixes",
        ];
        let stdout = output(agent.path(), &args, format, 0);
        insta::assert_snapshot!(
            format!("fix_run_{format}"),
            normalize(&stdout, &[agent.path()])
        );
    }
}

#[test]
fn every_machine_format_of_a_run_with_no_answer() {
    let nowhere = tempfile::tempdir().unwrap();
    let args = ["--dir", "no-such-agent"];
    for format in FORMATS {
        let stdout = output(nowhere.path(), &args, format, 2);
        same_with_output_file(nowhere.path(), &args, format, &stdout, true);
        insta::assert_snapshot!(
            format!("no_answer_{format}"),
            normalize(&stdout, &[nowhere.path()])
        );
    }
}

/// SARIF's results are written by hand (issue #11): the log must be laid out exactly as
/// serde_json's pretty printer lays out the same value, escapes included, for findings whose
/// texts hold quotes, backslashes, control characters, non-ASCII and U+2028, in a folder whose
/// URI needs percent-encoding.
#[test]
fn sarif_is_laid_out_as_serde_json_would() {
    let root = tempfile::tempdir().unwrap();
    let agent = root.path().join("an agent #1");
    std::fs::create_dir_all(agent.join(".instar")).unwrap();
    let names = [
        r#"q\"uote"#,
        r"back\\slash",
        r"ctl\u0001\u001f\b\f\t",
        "non-ascii é 😀",
        r"sep\u2028\u2029",
        "del\u{7f}",
    ];
    let jobs: Vec<String> = names
        .iter()
        .enumerate()
        .map(|(i, name)| {
            format!(
                r#"  {{"slug": "{name}-{i}", "name": "{name}", "schedule": "*/5 * * * *", "priority": "{name}", "enabled": true, "execute": {{"type": "prompt", "value": "x"}}}}"#
            )
        })
        .collect();
    std::fs::write(
        agent.join(".instar/jobs.json"),
        format!("[\n{}\n]\n", jobs.join(",\n")),
    )
    .unwrap();
    let dir = agent.to_str().unwrap();
    let args = [
        "--dir",
        dir,
        "--select",
        "jobs",
        "--instar-version",
        "0.28.44",
    ];
    let stdout = output(root.path(), &args, "sarif", 1);
    let value: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    let results = value["runs"][0]["results"].as_array().unwrap();
    assert!(results.len() >= names.len(), "{stdout}");
    assert!(
        results.iter().any(|r| r.get("fixes").is_some()),
        "a result with a fix: {stdout}"
    );
    assert!(stdout.contains("an%20agent%20%231"), "{stdout}");
    let relaid = serde_json::to_string_pretty(&value).unwrap() + "\n";
    assert_eq!(stdout, relaid);
}

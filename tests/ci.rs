//! The CI gate and the pre-push hook: machine formats (SARIF against the official schema, GitHub
//! workflow commands, JUnit), `-o`, completions, the man page, and a real `git push` through the
//! installed hook.

mod common;

use std::fs;
use std::path::Path;
use std::process::Command;

use common::*;

fn broken() -> String {
    fixtures()
        .join("examples/broken-agent")
        .display()
        .to_string()
}

/// A run whose repository root is the agent itself (`GITHUB_WORKSPACE` naming it), so its GitHub
/// and SARIF paths are those of the agent folder wherever the checkout lives.
fn run_at_agent_root(args: &[&str]) -> Output {
    run_with_env(&repo_root(), args, &[("GITHUB_WORKSPACE", &broken())])
}

#[test]
fn sarif_passes_the_official_schema_for_every_fixture() {
    let validator = sarif_validator();
    let mut checked = 0;
    for case in fixture_cases() {
        let out = run(&["--dir", case.to_str().unwrap(), "--format", "sarif"]);
        let doc: serde_json::Value = serde_json::from_str(&out.stdout)
            .unwrap_or_else(|e| panic!("{}: not one JSON document: {e}", case.display()));
        let errors: Vec<String> = validator
            .iter_errors(&doc)
            .map(|e| format!("{e} at {}", e.instance_path()))
            .collect();
        assert!(errors.is_empty(), "{}: {errors:#?}", case.display());
        checked += 1;
    }
    assert!(checked > 30);
}

#[test]
fn sarif_has_rules_regions_fingerprints_and_fixes() {
    let out = run_at_agent_root(&["--dir", &broken(), "--format", "sarif"]);
    assert_eq!(out.code, 1);
    let doc: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    let run = &doc["runs"][0];
    let rules = run["tool"]["driver"]["rules"].as_array().unwrap();
    assert!(rules.iter().any(|r| r["id"] == "jobs/invalid-cron"
        && r["help"]["text"].as_str().unwrap().contains("croner")));
    let results = run["results"].as_array().unwrap();
    let cron = results
        .iter()
        .find(|r| r["ruleId"] == "jobs/invalid-cron")
        .unwrap();
    let region = &cron["locations"][0]["physicalLocation"]["region"];
    assert_eq!(region["startLine"], 20);
    assert_eq!(
        cron["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
        ".instar/jobs.json"
    );
    let replacement = &cron["fixes"][0]["artifactChanges"][0]["replacements"][0];
    assert_eq!(replacement["insertedContent"]["text"], "\"30 22 * * *\"");
    // Fingerprints are stable from run to run.
    let again: serde_json::Value = serde_json::from_str(&run_again()).unwrap();
    let fingerprints = |d: &serde_json::Value| -> Vec<String> {
        d["runs"][0]["results"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| {
                r["partialFingerprints"]["instarDoctor/v1"]
                    .as_str()
                    .unwrap()
                    .to_string()
            })
            .collect()
    };
    assert_eq!(fingerprints(&doc), fingerprints(&again));
    let unique: std::collections::HashSet<_> = fingerprints(&doc).into_iter().collect();
    assert_eq!(unique.len(), results.len(), "one fingerprint per finding");
}

fn run_again() -> String {
    run_at_agent_root(&["--dir", &broken(), "--format", "sarif"]).stdout
}

#[test]
fn github_format_is_one_escaped_workflow_command_per_finding() {
    let out = run_at_agent_root(&["--dir", &broken(), "--format", "github"]);
    assert_eq!(out.code, 1);
    let lines: Vec<&str> = out.stdout.lines().collect();
    let json = assert_valid_json_output(&run(&["--dir", &broken(), "--format", "json"]).stdout);
    assert_eq!(lines.len(), json["diagnostics"].as_array().unwrap().len());
    let cron = lines
        .iter()
        .find(|l| l.contains("title=jobs/invalid-cron"))
        .unwrap();
    assert!(cron.starts_with("::error file=.instar/jobs.json,line=20,col=29,endLine=20,endColumn=30,title=jobs/invalid-cron::"), "{cron}");
    assert!(lines.iter().any(|l| l.starts_with("::warning ")));
    assert!(lines.iter().any(|l| l.starts_with("::notice ")));
    // Multi-line messages are escaped onto one line.
    assert!(out.stdout.contains("%0A"));
}

#[test]
fn junit_has_one_testcase_per_finding_and_one_suite_per_check() {
    let out = run(&["--dir", &broken(), "--format", "junit"]);
    assert_eq!(out.code, 1);
    let xml = out.stdout;
    let json = assert_valid_json_output(&run(&["--dir", &broken(), "--format", "json"]).stdout);
    let checks = json["checks"].as_array().unwrap().len();
    let findings = json["diagnostics"].as_array().unwrap().len();
    let errors = json["summary"]["errors"].as_u64().unwrap() as usize;
    let counts = junit::assert_well_formed(&xml, &json, "error");
    assert_eq!(counts.suites, checks);
    assert!(counts.tests >= findings, "one case per finding");
    assert_eq!(
        counts.failures, errors,
        "only findings at the threshold fail"
    );
    let warnings = run(&[
        "--dir",
        &broken(),
        "--format",
        "junit",
        "--fail-on",
        "warning",
    ])
    .stdout;
    assert!(junit::assert_well_formed(&warnings, &json, "warning").failures > errors);
}

/// Every fixture's JUnit report (at each threshold) and the report of a run with no answer read
/// by a strict XML parser with the structure checked, then by two real JUnit readers.
#[test]
fn junit_parses_in_real_junit_readers() {
    let dir = tempfile::tempdir().unwrap();
    let mut expected = Vec::new();
    let mut cases: Vec<(String, Vec<String>)> = fixture_cases()
        .iter()
        .map(|case| (case.display().to_string(), Vec::new()))
        .collect();
    for fail_on in ["warning", "info"] {
        cases.push((broken(), vec!["--fail-on".into(), fail_on.into()]));
    }
    for (n, (case, extra)) in cases.iter().enumerate() {
        let mut args = vec!["--dir", case.as_str()];
        args.extend(extra.iter().map(String::as_str));
        let mut junit_args = args.clone();
        junit_args.extend(["--format", "junit"]);
        let xml = run(&junit_args).stdout;
        args.extend(["--format", "json"]);
        let json = assert_valid_json_output(&run(&args).stdout);
        let threshold = extra.get(1).map(String::as_str).unwrap_or("error");
        let counts = junit::assert_well_formed(&xml, &json, threshold);
        let file = dir.path().join(format!("{n}.xml"));
        fs::write(&file, &xml).unwrap();
        expected.push((file, counts));
    }
    // A run with no answer: one errored case.
    let nowhere = tempfile::tempdir().unwrap();
    let out = run_in(nowhere.path(), &["--format", "junit"]);
    assert_eq!(out.code, 2);
    let counts = junit::assert_well_formed(
        &out.stdout,
        &serde_json::json!({"checks": [], "diagnostics": []}),
        "error",
    );
    assert_eq!((counts.tests, counts.errors), (1, 1));
    let file = dir.path().join("failure.xml");
    fs::write(&file, &out.stdout).unwrap();
    expected.push((file, counts));

    junit::assert_real_readers_agree(&expected);
}

mod junit {
    use std::path::PathBuf;
    use std::process::Command;

    #[derive(Debug, Clone, Copy, PartialEq)]
    pub struct Counts {
        pub suites: usize,
        pub tests: usize,
        pub failures: usize,
        pub errors: usize,
    }

    fn count_attr(node: roxmltree::Node, name: &str) -> usize {
        node.attribute(name)
            .unwrap_or_else(|| panic!("<{}> has no {name}", node.tag_name().name()))
            .parse()
            .unwrap()
    }

    /// Parses with a strict XML parser and checks the JUnit structure readers rely on: a
    /// `testsuites` root of `testsuite`s of `testcase`s, each case with a name and a class name
    /// and at most one `failure` or `error`; every `tests`/`failures`/`errors` attribute equal to
    /// the elements it counts, at both levels; one suite per check that ran, one case per
    /// finding (or one passing case for a check without findings); failures exactly the
    /// findings at the threshold.
    pub fn assert_well_formed(xml: &str, json: &serde_json::Value, threshold: &str) -> Counts {
        let doc = roxmltree::Document::parse(xml).unwrap_or_else(|e| panic!("{e}\n{xml}"));
        let root = doc.root_element();
        assert_eq!(root.tag_name().name(), "testsuites");
        let mut total = Counts {
            suites: 0,
            tests: 0,
            failures: 0,
            errors: 0,
        };
        for suite in root.children().filter(|n| n.is_element()) {
            assert_eq!(suite.tag_name().name(), "testsuite");
            let mut here = Counts {
                suites: 1,
                tests: 0,
                failures: 0,
                errors: 0,
            };
            for case in suite.children().filter(|n| n.is_element()) {
                assert_eq!(case.tag_name().name(), "testcase");
                assert!(!case.attribute("name").unwrap_or("").is_empty());
                assert!(case.attribute("classname").is_some());
                let results: Vec<_> = case
                    .children()
                    .filter(|n| matches!(n.tag_name().name(), "failure" | "error" | "skipped"))
                    .collect();
                assert!(results.len() <= 1, "one result per case: {xml}");
                here.tests += 1;
                match results.first().map(|n| n.tag_name().name()) {
                    Some("failure") => here.failures += 1,
                    Some("error") => here.errors += 1,
                    _ => {}
                }
            }
            assert_eq!(
                (
                    count_attr(suite, "tests"),
                    count_attr(suite, "failures"),
                    count_attr(suite, "errors")
                ),
                (here.tests, here.failures, here.errors),
                "suite {:?} counts its own elements",
                suite.attribute("name")
            );
            let id = suite.attribute("name").unwrap();
            if let Some(check) = json["checks"]
                .as_array()
                .unwrap()
                .iter()
                .find(|c| c["id"] == id)
            {
                let findings = json["diagnostics"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .filter(|d| d["check"] == id)
                    .count();
                let crashed = usize::from(check["status"] == "crashed");
                assert_eq!(
                    here.tests,
                    (findings + crashed).max(1),
                    "suite {id}: one case per finding"
                );
            }
            total.suites += 1;
            total.tests += here.tests;
            total.failures += here.failures;
            total.errors += here.errors;
        }
        assert_eq!(
            (
                count_attr(root, "tests"),
                count_attr(root, "failures"),
                count_attr(root, "errors")
            ),
            (total.tests, total.failures, total.errors),
            "the root counts every element"
        );
        let rank = |s: &str| match s {
            "error" => 2,
            "warning" => 1,
            _ => 0,
        };
        let checks = json["checks"].as_array().unwrap();
        assert_eq!(total.suites, checks.len().max(1));
        let at_threshold = json["diagnostics"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|d| rank(d["severity"].as_str().unwrap()) >= rank(threshold))
            .count();
        assert_eq!(
            total.failures, at_threshold,
            "failures are the findings at --fail-on {threshold}"
        );
        total
    }

    const READERS: &str = r#"
import json, sys
import junitparser, xunitparser
from junitparser import JUnitXml, Failure, Error
out = []
for path in sys.argv[1:]:
    xml = JUnitXml.fromfile(path)
    cases = failures = errors = 0
    for suite in xml:
        for case in suite:
            cases += 1
            failures += sum(isinstance(r, Failure) for r in case.result)
            errors += sum(isinstance(r, Error) for r in case.result)
    with open(path) as f:
        _, result = xunitparser.parse(f)
    out.append({"junitparser": [cases, failures, errors, xml.tests, xml.failures, xml.errors],
                "xunitparser": [result.testsRun, len(result.failures), len(result.errors)]})
print(json.dumps(out))
"#;

    /// junitparser and xunitparser (installed by .ci/run) must read every report, and count the
    /// same tests, failures and errors as the structural check. xunitparser is the stricter:
    /// it crashed on the old `tests="7" failures="13"`.
    pub fn assert_real_readers_agree(expected: &[(PathBuf, Counts)]) {
        // `cargo test` on a fresh machine needs no set-up beyond Rust, so the readers are
        // optional there; .ci/run installs them and sets INSTAR_DOCTOR_REQUIRE_JUNIT_READERS,
        // so in CI their absence is a failure, never a silent pass.
        let required = std::env::var_os("INSTAR_DOCTOR_REQUIRE_JUNIT_READERS").is_some();
        let importable = Command::new("python3")
            .args(["-c", "import junitparser, xunitparser"])
            .output()
            .is_ok_and(|o| o.status.success());
        if !importable {
            assert!(
                !required,
                "INSTAR_DOCTOR_REQUIRE_JUNIT_READERS is set but python3 cannot import junitparser and xunitparser"
            );
            eprintln!("skipped the real JUnit readers: python3 with junitparser and xunitparser is not available (the Rust structural check ran); `python3 -m pip install junitparser xunitparser` enables them");
            return;
        }
        let out = Command::new("python3")
            .arg("-c")
            .arg(READERS)
            .args(expected.iter().map(|(p, _)| p))
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "the JUnit readers failed (they come from `python3 -m pip install junitparser xunitparser`, as .ci/run does):\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let read: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).unwrap();
        for ((path, counts), got) in expected.iter().zip(&read) {
            let want = [counts.tests, counts.failures, counts.errors];
            let junitparser: Vec<usize> =
                serde_json::from_value(got["junitparser"].clone()).unwrap();
            let xunitparser: Vec<usize> =
                serde_json::from_value(got["xunitparser"].clone()).unwrap();
            assert_eq!(
                &junitparser[..3],
                &want,
                "junitparser's elements in {}",
                path.display()
            );
            assert_eq!(
                &junitparser[3..],
                &want,
                "junitparser's attributes in {}",
                path.display()
            );
            assert_eq!(xunitparser, want, "xunitparser in {}", path.display());
        }
    }
}

#[test]
fn output_file_gets_the_machine_format_and_the_terminal_the_report() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("doctor.sarif");
    let out = run(&[
        "--dir",
        &broken(),
        "--format",
        "sarif",
        "-o",
        file.to_str().unwrap(),
    ]);
    assert_eq!(out.code, 1);
    assert!(out.stdout.contains("jobs/invalid-cron") && out.stdout.contains("unhealthy"));
    let doc: serde_json::Value = serde_json::from_str(&fs::read_to_string(&file).unwrap()).unwrap();
    assert_eq!(doc["version"], "2.1.0");
}

#[test]
fn completions_for_each_shell() {
    for shell in ["bash", "zsh", "fish"] {
        let out = run(&["completions", shell]);
        assert_eq!(out.code, 0);
        assert!(
            out.stdout.contains("instar-doctor") && out.stdout.contains("unsafe-fixes"),
            "{shell}"
        );
    }
}

/// The man page in man/ is generated from the clap definition plus the sections clap_mangen
/// does not write (EXAMPLES, EXIT STATUS, ENVIRONMENT); regenerate with UPDATE_MAN=1. Its
/// subcommands are listed as commands, not as links to instar-doctor-list(1) and the like:
/// no such pages exist.
#[test]
fn man_page_is_current() {
    let page = man_page();
    let path = repo_root().join("man/instar-doctor.1");
    if std::env::var_os("UPDATE_MAN").is_some() {
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(&path, &page).unwrap();
    }
    let committed =
        fs::read(&path).expect("man/instar-doctor.1 exists (UPDATE_MAN=1 cargo test --test ci)");
    assert!(
        committed == page,
        "man/instar-doctor.1 is stale: UPDATE_MAN=1 cargo test --test ci man_page"
    );
    let text = String::from_utf8(page).unwrap();
    for section in [".SH EXAMPLES", ".SH \"EXIT STATUS\"", ".SH ENVIRONMENT"] {
        assert!(text.contains(section), "{section}");
    }
    // Every page it names exists: ours is the only one, and man(1) pages of the system.
    for link in text
        .split(|c: char| c.is_whitespace())
        .filter(|w| w.contains("(1)"))
    {
        assert!(
            !link.contains("instar\\-doctor\\-"),
            "links a page that does not exist: {link}"
        );
    }
}

fn man_page() -> Vec<u8> {
    let command = <instar_doctor::cli::Cli as clap::CommandFactory>::command();
    let man = clap_mangen::Man::new(command.clone());
    let mut page = Vec::new();
    man.render_title(&mut page).unwrap();
    man.render_name_section(&mut page).unwrap();
    man.render_synopsis_section(&mut page).unwrap();
    man.render_description_section(&mut page).unwrap();
    man.render_options_section(&mut page).unwrap();
    let roff = |text: &str| text.replace('\\', "\\\\").replace('-', "\\-");
    let mut extra = String::from(".SH SUBCOMMANDS\n");
    for sub in command.get_subcommands() {
        extra.push_str(&format!(
            ".TP\n\\fBinstar\\-doctor {}\\fR\n{}\n",
            roff(sub.get_name()),
            roff(&sub.get_about().map(|a| a.to_string()).unwrap_or_default())
        ));
    }
    extra.push_str(".SH EXAMPLES\n");
    for (what, example) in [
        ("Check the agent above the working directory (read-only):", "instar-doctor"),
        ("Check another agent, one line per finding:", "instar-doctor --dir ~/agents/echo --format concise"),
        ("How many findings of each code, and what each fix level clears:", "instar-doctor --statistics"),
        ("Preview every change, the unsafe ones included, then apply them:", "instar-doctor --diff --unsafe-fixes\ninstar-doctor --fix --unsafe-fixes"),
        ("Ask before each fix, then take the run back:", "instar-doctor -i\ninstar-doctor undo"),
        ("In CI, annotate the pull request and keep a SARIF file:", "instar-doctor --format github\ninstar-doctor --format sarif -o doctor.sarif --exit-zero"),
        ("Before every boot (a systemd ExecStartPre line):", "instar-doctor preflight --dir /srv/agents/echo"),
        ("Every agent of this machine, as Prometheus metrics:", "instar-doctor scan --format openmetrics -o doctor.prom"),
    ] {
        extra.push_str(&format!(".PP\n{}\n.PP\n.nf\n.RS 4\n{}\n.RE\n.fi\n", roff(what), roff(example)));
    }
    extra.push_str(".SH \"EXIT STATUS\"\n");
    for (code, meaning) in [
        ("0", "Healthy at the --fail-on threshold; after --fix, everything that needed fixing was fixed and re-verified; --diff with nothing to change."),
        ("1", "Findings at or above the threshold remain; --diff with changes pending."),
        ("2", "The doctor could not give an answer: bad usage, no agent found, .instar/ unreadable, another doctor holds the lock, a check crashed, a fix was rolled back, undo refused."),
        ("130", "Interrupted; no file is ever left half-written."),
    ] {
        extra.push_str(&format!(".TP\n\\fB{code}\\fR\n{}\n", roff(meaning)));
    }
    extra.push_str(".SH ENVIRONMENT\n");
    for (name, meaning) in [
        ("COLUMNS", "The width the report wraps at. Without it: the terminal's width, and no wrapping when stdout is not a terminal."),
        ("NO_COLOR", "Set and not empty: no colour with --color auto."),
        ("CLICOLOR_FORCE", "Set and not 0: colour with --color auto even when stdout is not a terminal."),
        ("CI", "Set: never prompt (-i refuses) and no closing hint."),
        ("GITHUB_WORKSPACE", "The repository root GitHub annotations and SARIF locations are relative to."),
        ("INSTAR_DOCTOR_NOW", "An RFC 3339 time used as now (reproducible tests)."),
        ("HOME", "Where the per-user ~/.instar folder is, unless --instar-home."),
    ] {
        extra.push_str(&format!(".TP\n\\fB{}\\fR\n{}\n", roff(name), roff(meaning)));
    }
    page.extend_from_slice(extra.as_bytes());
    man.render_version_section(&mut page).unwrap();
    page
}

fn git(dir: &Path, args: &[&str]) -> std::process::Output {
    Command::new("git")
        .args([
            "-c",
            "user.name=Test",
            "-c",
            "user.email=test@example.invalid",
            "-c",
            "init.defaultBranch=main",
            "-c",
            "commit.gpgsign=false",
        ])
        .args(args)
        .current_dir(dir)
        .env("CI", "true")
        .env("NO_COLOR", "1")
        .env("INSTAR_DOCTOR_NOW", NOW)
        .output()
        .expect("git runs")
}

#[test]
fn a_real_push_is_blocked_while_the_state_is_broken_and_allowed_after_fix() {
    if Command::new("git").arg("--version").output().is_err() {
        eprintln!("skipped: git is not installed");
        return;
    }
    let root = tempfile::tempdir().unwrap();
    let remote = root.path().join("remote.git");
    let work = root.path().join("work");
    fs::create_dir_all(&work).unwrap();
    assert!(
        git(root.path(), &["init", "--bare", remote.to_str().unwrap()])
            .status
            .success()
    );
    assert!(git(&work, &["init"]).status.success());
    assert!(git(
        &work,
        &["remote", "add", "origin", remote.to_str().unwrap()]
    )
    .status
    .success());

    // An existing hook of the team's own: it must keep running, first.
    let hooks = work.join(".git/hooks");
    fs::create_dir_all(&hooks).unwrap();
    let marker = root.path().join("team-hook-ran");
    fs::write(
        hooks.join("pre-push"),
        format!("#!/bin/sh\ncat > /dev/null\ntouch '{}'\n", marker.display()),
    )
    .unwrap();
    fs::set_permissions(
        hooks.join("pre-push"),
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .unwrap();

    // No agent state yet: the hook passes silently.
    let install = Command::new(env!("CARGO_BIN_EXE_instar-doctor"))
        .args(["hook", "install"])
        .current_dir(&work)
        .output()
        .unwrap();
    assert!(
        install.status.success(),
        "{}",
        String::from_utf8_lossy(&install.stderr)
    );
    fs::write(work.join("README"), "hello\n").unwrap();
    git(&work, &["add", "."]);
    git(&work, &["commit", "-m", "first"]);
    let push = git(&work, &["push", "origin", "HEAD:main"]);
    assert!(
        push.status.success(),
        "{}",
        String::from_utf8_lossy(&push.stderr)
    );
    assert!(marker.exists(), "the chained team hook ran");

    // A BOM and a trailing space: errors with safe fixes.
    fs::create_dir_all(work.join(".instar")).unwrap();
    fs::write(
        work.join(".instar/jobs.json"),
        "\u{feff}[{\"slug\": \"a\", \"name\": \"A\", \"description\": \"d\", \"schedule\": \"0 * * * * \", \"priority\": \"low\", \"enabled\": true, \"execute\": {\"type\": \"prompt\", \"value\": \"v\"}, \"grounding\": {\"requiresIdentity\": false}}]\n",
    )
    .unwrap();
    fs::write(work.join(".gitignore"), ".instar/doctor/\n").unwrap();
    git(&work, &["add", "."]);
    git(&work, &["commit", "-m", "broken state"]);
    let push = git(&work, &["push", "origin", "HEAD:main"]);
    assert!(!push.status.success(), "the push must be refused");
    let stderr = String::from_utf8_lossy(&push.stderr);
    assert!(stderr.contains("instar-doctor --fix"), "{stderr}");

    let fix = run_in(&work, &["--fix"]);
    assert_eq!(fix.code, 0, "{}{}", fix.stdout, fix.stderr);
    git(&work, &["commit", "-am", "fixed state"]);
    let push = git(&work, &["push", "origin", "HEAD:main"]);
    assert!(
        push.status.success(),
        "{}",
        String::from_utf8_lossy(&push.stderr)
    );

    // Uninstall puts the team's hook back.
    let uninstall = Command::new(env!("CARGO_BIN_EXE_instar-doctor"))
        .args(["hook", "uninstall"])
        .current_dir(&work)
        .output()
        .unwrap();
    assert!(uninstall.status.success());
    assert!(fs::read_to_string(hooks.join("pre-push"))
        .unwrap()
        .contains("team-hook-ran"));
    assert!(!hooks.join("pre-push.instar-doctor-chained").exists());
}

#[test]
fn hook_install_outside_a_repository_fails_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    let out = run_in(dir.path(), &["hook", "install"]);
    assert_eq!(out.code, 2);
    assert!(out.stderr.contains("git"));
}

/// Every way a run can end in exit 2 after its arguments parsed still writes, in each machine
/// format, a document that parses and says the doctor failed — to stdout, or to `-o` — so a CI
/// upload step never finds a missing or empty file, nor a clean-looking one.
#[test]
fn exit_2_still_writes_a_failure_document_in_every_machine_format() {
    let nowhere = tempfile::tempdir().unwrap();
    let healthy = fixtures().join("examples/healthy-agent");
    let healthy = healthy.to_str().unwrap();
    let failures: &[(&str, &[&str])] = &[
        ("no instar agent", &[]),
        (
            "--instar-version",
            &["--dir", healthy, "--instar-version", "one.two"],
        ),
        (
            "unknown check `jbos`",
            &["--dir", healthy, "--select", "jbos"],
        ),
        ("--unsafe-fixes", &["--dir", healthy, "--unsafe-fixes"]),
    ];
    let validator = sarif_validator();
    let out_dir = tempfile::tempdir().unwrap();
    for format in ["json", "sarif", "github", "junit"] {
        for (n, (reason, args)) in failures.iter().enumerate() {
            let file = out_dir.path().join(format!("{format}-{n}"));
            let mut with_format = args.to_vec();
            with_format.extend(["--format", format]);
            let mut to_file = with_format.clone();
            to_file.extend(["-o", file.to_str().unwrap()]);
            let on_stdout = run_in(nowhere.path(), &with_format);
            let on_file = run_in(nowhere.path(), &to_file);
            assert_eq!((on_stdout.code, on_file.code), (2, 2), "{format} {args:?}");
            assert!(
                on_stdout.stderr.starts_with("error: "),
                "{}",
                on_stdout.stderr
            );
            assert!(
                on_file.stdout.is_empty(),
                "-o takes the document: {}",
                on_file.stdout
            );
            let written = fs::read_to_string(&file).unwrap();
            assert_eq!(
                written, on_stdout.stdout,
                "{format} {args:?}: the same document"
            );
            let text = on_stdout.stdout;
            match format {
                "json" => {
                    let doc = assert_valid_json_output(&text);
                    assert!(doc["error"]["message"].as_str().unwrap().contains(reason));
                }
                "sarif" => {
                    let doc: serde_json::Value = serde_json::from_str(&text).unwrap();
                    let errors: Vec<String> =
                        validator.iter_errors(&doc).map(|e| e.to_string()).collect();
                    assert!(errors.is_empty(), "{errors:?}");
                    let invocation = &doc["runs"][0]["invocations"][0];
                    assert_eq!(invocation["executionSuccessful"], false, "{text}");
                    assert!(
                        invocation["toolExecutionNotifications"][0]["message"]["text"]
                            .as_str()
                            .unwrap()
                            .contains(reason)
                    );
                }
                "github" => {
                    let line = text.lines().find(|l| l.starts_with("::error ")).unwrap();
                    assert!(line.contains(reason), "{text}");
                }
                _ => {
                    let doc = roxmltree::Document::parse(&text).unwrap();
                    let errors: Vec<_> = doc
                        .descendants()
                        .filter(|n| n.has_tag_name("error"))
                        .collect();
                    assert_eq!(errors.len(), 1, "{text}");
                    assert!(errors[0].attribute("message").unwrap().contains(reason));
                    assert_eq!(doc.root_element().attribute("errors"), Some("1"));
                }
            }
        }
    }
}

/// A run that answered says so in SARIF too, so consumers can tell it from a failed one.
#[test]
fn sarif_says_the_run_succeeded_when_it_answered() {
    let out = run(&["--dir", &broken(), "--format", "sarif"]);
    let doc: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    let invocation = &doc["runs"][0]["invocations"][0];
    assert_eq!(invocation["executionSuccessful"], true);
    assert_eq!(invocation["exitCode"], 1);
}

/// Copies a tree, keeping symlinks as links and file modes.
fn copy_tree(from: &Path, to: &Path) {
    fs::create_dir_all(to).unwrap();
    for entry in fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let (src, dst) = (entry.path(), to.join(entry.file_name()));
        let meta = fs::symlink_metadata(&src).unwrap();
        if meta.file_type().is_symlink() {
            std::os::unix::fs::symlink(fs::read_link(&src).unwrap(), &dst).unwrap();
        } else if meta.is_dir() {
            copy_tree(&src, &dst);
        } else {
            fs::copy(&src, &dst).unwrap();
        }
    }
}

/// An agent in a subfolder of a repository is annotated on the repository's paths: GitHub and
/// SARIF resolve them against the workspace, not the agent folder. JSON keeps the v1 contract
/// (relative to the project).
#[test]
fn github_and_sarif_locations_are_relative_to_the_repository_root() {
    let tmp = tempfile::tempdir().unwrap();
    let repo = tmp.path().join("repo");
    let agent = repo.join("ops/agents/echo");
    copy_tree(&fixtures().join("examples/broken-agent"), &agent);
    fs::create_dir_all(repo.join(".git")).unwrap();
    let dir = agent.to_str().unwrap();
    let elsewhere = tempfile::tempdir().unwrap();
    let cron_file = |out: &Output, format: &str| -> String {
        match format {
            "github" => {
                let line = out
                    .stdout
                    .lines()
                    .find(|l| l.contains("title=jobs/invalid-cron"))
                    .unwrap()
                    .to_string();
                line.split("file=")
                    .nth(1)
                    .unwrap()
                    .split(',')
                    .next()
                    .unwrap()
                    .to_string()
            }
            "sarif" => {
                let doc: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
                let result = doc["runs"][0]["results"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .find(|r| r["ruleId"] == "jobs/invalid-cron")
                    .unwrap()
                    .clone();
                let base = &doc["runs"][0]["originalUriBaseIds"]["%SRCROOT%"]["uri"];
                format!(
                    "{}|{}",
                    base.as_str().unwrap(),
                    result["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
                        .as_str()
                        .unwrap()
                )
            }
            _ => {
                let doc = assert_valid_json_output(&out.stdout);
                doc["diagnostics"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .find(|d| d["code"] == "jobs/invalid-cron")
                    .unwrap()["file"]
                    .as_str()
                    .unwrap()
                    .to_string()
            }
        }
    };
    let at = |vars: &[(&str, &str)], format: &str| {
        cron_file(
            &run_with_env(elsewhere.path(), &["--dir", dir, "--format", format], vars),
            format,
        )
    };
    // The nearest `.git` above the agent.
    assert_eq!(at(&[], "github"), "ops/agents/echo/.instar/jobs.json");
    assert_eq!(
        at(&[], "sarif"),
        format!(
            "file://{}/|ops/agents/echo/.instar/jobs.json",
            repo.display()
        )
    );
    assert_eq!(at(&[], "json"), ".instar/jobs.json");
    // GITHUB_WORKSPACE wins when it holds the agent…
    let workspace = tmp.path().to_str().unwrap();
    let vars = [("GITHUB_WORKSPACE", workspace)];
    assert_eq!(
        at(&vars, "github"),
        "repo/ops/agents/echo/.instar/jobs.json"
    );
    assert_eq!(at(&vars, "json"), ".instar/jobs.json");
    // …and is ignored when it does not.
    let vars = [("GITHUB_WORKSPACE", elsewhere.path().to_str().unwrap())];
    assert_eq!(at(&vars, "github"), "ops/agents/echo/.instar/jobs.json");
    // A worktree's `.git` is a file; without any, the project folder is the root.
    fs::remove_dir(repo.join(".git")).unwrap();
    fs::write(repo.join(".git"), "gitdir: /elsewhere\n").unwrap();
    assert_eq!(at(&[], "github"), "ops/agents/echo/.instar/jobs.json");
    fs::remove_file(repo.join(".git")).unwrap();
    assert_eq!(at(&[], "github"), ".instar/jobs.json");
}

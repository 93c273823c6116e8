//! The report at a glance (issue 14) and its compact views (issue 11): the overview, the
//! summary lines, `--statistics`, `--format concise`, collapsing, and the width, snapshotted at
//! 80 and 120 columns and checked unwrapped in a pipe.

mod common;

use common::*;

fn broken() -> String {
    fixtures()
        .join("examples/broken-agent")
        .to_str()
        .unwrap()
        .to_string()
}

fn at_width(columns: &str, args: &[&str]) -> Output {
    run_with_env(&repo_root(), args, &[("COLUMNS", columns)])
}

#[test]
fn the_report_at_80_and_120_columns() {
    for columns in ["80", "120"] {
        let out = at_width(columns, &["--dir", &broken()]);
        assert_eq!(out.code, 1);
        let width: usize = columns.parse().unwrap();
        for line in out.stdout.lines() {
            // miette draws source lines as they are; everything else fits.
            if !line.contains('│') && !line.contains('·') {
                assert!(
                    line.chars().count() <= width,
                    "{line:?} is wider than {width}"
                );
            }
        }
        insta::assert_snapshot!(format!("broken_agent_at_{columns}"), out.stdout);
    }
}

#[test]
fn errors_come_before_warnings_and_infos_are_one_line() {
    let out = run(&["--dir", &broken()]);
    let first = |word: &'static str| out.stdout.find(word).unwrap();
    assert!(first("error[") < first("warning["));
    assert!(first("warning[") < first("info["));
    // An info is one line (here two, wrapped at 80), never a drawn snippet.
    let info = &out.stdout[first("info[")..];
    assert!(!info.contains("╭─["), "{info}");
    let verbose = run(&["--dir", &broken(), "-v"]);
    let info = &verbose.stdout[verbose.stdout.find("info[").unwrap()..];
    assert!(info.contains("help:"), "-v shows infos in full:\n{info}");
}

#[test]
fn the_overview_names_every_area_and_those_that_did_not_run() {
    let out = run(&["--dir", &broken(), "--select", "jobs"]);
    let overview: Vec<&str> = out.stdout.lines().take_while(|l| !l.is_empty()).collect();
    insta::assert_snapshot!("overview_with_select", overview.join("\n"));
    assert!(overview
        .iter()
        .any(|l| l.starts_with("- config ") && l.contains("not run")));
}

#[test]
fn a_pipe_gets_unwrapped_lines() {
    let out: Output = std::process::Command::new(env!("CARGO_BIN_EXE_instar-doctor"))
        .args(["--dir", &broken()])
        .current_dir(repo_root())
        .env("INSTAR_DOCTOR_NOW", NOW)
        .env("NO_COLOR", "1")
        .env("HOME", repo_root().join("tests/no-such-home"))
        .env_remove("COLUMNS")
        .output()
        .unwrap()
        .into();
    let headline = out
        .stdout
        .lines()
        .find(|l| l.starts_with("✗ unhealthy"))
        .unwrap();
    assert!(
        headline.ends_with("the version of the agent's shadow install)"),
        "{headline}"
    );
    assert!(out
        .stdout
        .lines()
        .any(|l| l.starts_with("info[") && l.len() > 100));
}

#[test]
fn statistics_and_concise() {
    let stats = run(&["--dir", &broken(), "--statistics"]);
    assert_eq!(stats.code, 1);
    insta::assert_snapshot!("statistics", stats.stdout);
    let concise = run(&["--dir", &broken(), "--format", "concise"]);
    assert_eq!(concise.code, 1);
    insta::assert_snapshot!("concise", concise.stdout);
    // One line per finding, each `path:line:col: severity[code] message` or `path: …`.
    let findings: Vec<&str> = concise
        .stdout
        .lines()
        .take_while(|l| l.starts_with("fixtures/"))
        .collect();
    assert_eq!(findings.len(), 13, "{}", concise.stdout);
    let refused = run(&["--dir", &broken(), "--statistics", "--format", "json"]);
    assert_eq!(refused.code, 2);
    assert!(
        refused.stderr.contains("--statistics"),
        "{}",
        refused.stderr
    );
}

/// An agent whose jobs.json holds `count` jobs with this schedule and priority.
fn agent_with_jobs(count: usize, schedule: &str, priority: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join(".instar")).unwrap();
    let jobs: Vec<String> = (0..count)
        .map(|i| {
            format!(
                r#"{{"slug": "j{i}", "name": "J", "description": "d", "schedule": "{schedule}", "priority": "{priority}", "enabled": true, "execute": {{"type": "prompt", "value": "x"}}}}"#
            )
        })
        .collect();
    std::fs::write(
        dir.path().join(".instar/jobs.json"),
        format!("[\n{}\n]\n", jobs.join(",\n")),
    )
    .unwrap();
    dir
}

#[test]
fn many_findings_of_one_code_collapse_into_one_line() {
    let dir = agent_with_jobs(12, "0 9 * * *", "urgent");
    let out = run_in(dir.path(), &["--select", "jobs/invalid-priority"]);
    assert_eq!(
        out.stdout.matches("error[jobs/invalid-priority]").count(),
        4,
        "{}",
        out.stdout
    );
    assert!(
        out.stdout
            .contains("… 9 more error[jobs/invalid-priority] in .instar/jobs.json"),
        "{}",
        out.stdout
    );
    let all = run_in(dir.path(), &["--select", "jobs/invalid-priority", "-v"]);
    assert_eq!(
        all.stdout.matches("error[jobs/invalid-priority]").count(),
        12
    );
    let stats = run_in(
        dir.path(),
        &["--select", "jobs/invalid-priority", "--statistics"],
    );
    assert!(
        stats
            .stdout
            .contains("   12  error    jobs/invalid-priority"),
        "{}",
        stats.stdout
    );
}

#[test]
fn diff_ends_with_what_it_left_out() {
    let out = run(&["--dir", &broken(), "--diff"]);
    assert_eq!(out.code, 1);
    assert!(
        out.stderr.contains(
            "instar-doctor --diff: 5 fixable with --fix (4 hidden fixes can be enabled with --unsafe-fixes)"
        ),
        "{}",
        out.stderr
    );
    assert!(!out.stdout.contains("fixable"), "the patch stays a patch");
}

/// The terminal's closing lines (summary, fixable, hint) at 80 and 120 columns: the hint names
/// the command that clears what fails the run, with `--dir` when the agent is elsewhere, and
/// never wraps inside a command.
#[test]
fn the_hint_names_the_clearing_command_at_80_and_120_columns() {
    use instar_doctor::engine::{self, Context, Selection};
    use instar_doctor::version::{rules_for, Version, VersionSource};
    let project = fixtures().join("examples/broken-agent");
    let version: Version = "0.28.44".parse().unwrap();
    let now = instar_doctor::cron::parse_rfc3339(NOW).unwrap();
    let mut cx = Context::at_version(project.clone(), rules_for(version), now);
    // The summary names where the version came from: here, as if the shadow install said it.
    cx.version_source = VersionSource::ShadowInstall;
    let report = engine::run(&cx, &Selection::default());
    for width in [80usize, 120] {
        let opts = instar_doctor::render::human::HumanOptions {
            color: false,
            width,
            quiet: false,
            verbose: false,
            threshold: instar_doctor::diag::Severity::Error,
            hint: true,
            cwd: Some(repo_root()),
            command: None,
        };
        let closing = instar_doctor::render::human::closing(&cx, &report, &opts);
        assert!(
            closing.contains(
                "`instar-doctor --dir fixtures/examples/broken-agent --fix --unsafe-fixes`"
            ),
            "{closing}"
        );
        insta::assert_snapshot!(format!("closing_at_{width}"), closing);
        // From inside the agent the command needs no --dir.
        let inside = instar_doctor::render::human::HumanOptions {
            cwd: Some(project.clone()),
            command: None,
            ..opts
        };
        let closing = instar_doctor::render::human::closing(&cx, &report, &inside);
        assert!(
            closing.contains("`instar-doctor --fix --unsafe-fixes`"),
            "{closing}"
        );
    }
}

/// What the pre-push hook shows: the findings that fail the run, one line each, and the command
/// that clears them (the hook runs `--format concise --quiet`).
#[test]
fn concise_quiet_ends_with_the_clearing_command() {
    let out = run(&["--dir", &broken(), "--format", "concise", "--quiet"]);
    assert_eq!(out.code, 1);
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert_eq!(lines.len(), 5, "{}", out.stdout);
    assert!(lines[..4].iter().all(|l| l.contains(": error[")));
    assert_eq!(
        lines[4],
        "hint: `instar-doctor --dir fixtures/examples/broken-agent --fix --unsafe-fixes` clears all 4 findings that fail the run (to preview: `--diff --unsafe-fixes`; one by one: `-i`)"
    );
}

/// `undo` says what it did with a file the run had created: moved to quarantine, not "restored".
#[test]
fn undo_says_a_created_file_was_moved_to_quarantine() {
    let dir = copy_fixture_agent("boot/missing-wrappers");
    let fixed = run_in(dir.path(), &["--fix"]);
    assert!(
        dir.path().join(".instar/instar-boot.sh").exists(),
        "{}{}",
        fixed.stdout,
        fixed.stderr
    );
    let undo = run_in(dir.path(), &["undo"]);
    assert_eq!(undo.code, 0, "{}", undo.stderr);
    assert!(
        undo.stdout.contains(
            "moved to quarantine (.instar/doctor/quarantine/), as the run had created them: "
        ) && undo.stdout.contains(".instar/instar-boot.sh"),
        "{}",
        undo.stdout
    );
    assert!(!undo.stdout.contains("restored"), "{}", undo.stdout);
}

/// A file the run moved to quarantine (a stray temp file) is named once by `undo`, not once
/// for its backup and again for its quarantine move.
#[test]
fn undo_names_each_restored_file_once() {
    let dir = copy_fixture_agent("examples/broken-agent");
    let fixed = run_in(dir.path(), &["--fix"]);
    assert!(
        fixed.stdout.contains("fixed: jobs/stray-temp-file"),
        "{}{}",
        fixed.stdout,
        fixed.stderr
    );
    let undo = run_in(dir.path(), &["undo"]);
    assert_eq!(undo.code, 0, "{}", undo.stderr);
    let temp = ".instar/jobs.json.999999997.a1b2.tmp";
    assert_eq!(undo.stdout.matches(temp).count(), 1, "{}", undo.stdout);
    assert!(dir.path().join(temp).exists(), "the temp file is back");
}

/// The stale `scheduler.jobsFile` fix writes a path relative to the project, so moving the
/// project again does not make it stale again.
#[test]
fn the_stale_jobs_file_fix_writes_a_relative_path() {
    let dir = copy_fixture_agent("examples/broken-agent");
    let out = run_in(
        dir.path(),
        &[
            "--fix",
            "--unsafe-fixes",
            "--select",
            "jobs/stale-jobs-file",
        ],
    );
    let config = std::fs::read_to_string(dir.path().join(".instar/config.json")).unwrap();
    assert!(
        config.contains(r#""jobsFile": ".instar/jobs.json""#),
        "{config}\n{}{}",
        out.stdout,
        out.stderr
    );
    // And the doctor agrees the relative path is right.
    let again = run_in(dir.path(), &["--select", "jobs/stale-jobs-file"]);
    assert!(
        !again.stdout.contains("error[jobs/stale-jobs-file]"),
        "{}",
        again.stdout
    );
}

/// Plain words: `list` and `explain` never show design-document ids (`C-MISSING`, `spec §8.2`)
/// nor an instar function where a command exists.
#[test]
fn code_documentation_has_no_design_document_ids() {
    let id = regex_like_design_id;
    for code in instar_doctor::checks::all_codes() {
        for text in [code.summary, code.explain] {
            assert!(!text.contains('§'), "{}: {text}", code.id);
            assert!(!text.contains("installBootWrapper"), "{}: {text}", code.id);
            assert!(!id(text), "{}: {text}", code.id);
            assert!(!hazard_number(text), "{}: {text}", code.id);
        }
    }
}

/// Plain words in the reports: no finding, help or label names one of instar's internal
/// functions (the reader has a command or a file to act on, not instar's source). Read over every
/// rendered report the suite pins: the fixture snapshots in every format. Explain texts may cite
/// them for those who read instar's code; the boot wrapper's own JavaScript in a diff is code.
#[test]
fn reports_name_no_instar_internal_function() {
    const INTERNALS: &[&str] = &[
        "loadConfig",
        "loadRegistry",
        "loadIdentity",
        "hasIdentity",
        "ensureSelfRegistered",
        "registerMachine",
        "getAwakeMachine",
        "updateRole",
        "verifyLease",
        "loadSigningKey",
        "loadEncryptionKey",
        "validateManifest",
        "validateJob",
        "ensureBootWrapper",
        "installBootWrapper",
        "installAutoStart",
        "migrateBootWrapperAbiCheck",
    ];
    let mut seen = 0;
    let mut stack = vec![repo_root().join("tests/snapshots")];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
                continue;
            }
            let text = std::fs::read_to_string(&path).unwrap();
            seen += 1;
            for name in INTERNALS {
                assert!(
                    !text.contains(name),
                    "{} names instar's {name}",
                    path.display()
                );
            }
        }
    }
    assert!(seen > 100, "only {seen} snapshots read");
}

/// `(#19)`: a row number of the design's hazard table, which reads like an issue number.
fn hazard_number(text: &str) -> bool {
    text.match_indices("(#").any(|(at, _)| {
        let rest = &text[at + 2..];
        let digits = rest.chars().take_while(char::is_ascii_digit).count();
        digits > 0 && rest[digits..].starts_with(')')
    })
}

/// `C-MISSING`, `K-DUP-NAMES`: one or two capitals, a dash, three or more capitals.
fn regex_like_design_id(text: &str) -> bool {
    text.split(|c: char| !(c.is_ascii_uppercase() || c == '-'))
        .any(|word| {
            let mut parts = word.splitn(2, '-');
            let head = parts.next().unwrap_or("");
            let tail = parts.next().unwrap_or("");
            (1..=2).contains(&head.len())
                && tail.len() >= 3
                && tail.chars().next().is_some_and(|c| c.is_ascii_uppercase())
        })
}

/// Errors say what is wrong, and clap's "use -- --fix" never reaches a user.
#[test]
fn errors_say_what_is_wrong() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("nope");
    let out = run(&["--dir", missing.to_str().unwrap()]);
    assert_eq!(out.code, 2);
    assert!(out.stderr.contains("does not exist"), "{}", out.stderr);
    let file = dir.path().join("file");
    std::fs::write(&file, "").unwrap();
    let out = run(&["--dir", file.to_str().unwrap()]);
    assert!(out.stderr.contains("is not a directory"), "{}", out.stderr);
    let target = missing.join("report.txt");
    let out = run(&["--dir", &broken(), "-o", target.to_str().unwrap()]);
    assert_eq!(out.code, 2);
    assert!(
        out.stderr.contains(&format!(
            "cannot create -o file {}: the folder {} does not exist",
            target.display(),
            missing.display()
        )),
        "{}",
        out.stderr
    );
    for args in [
        &["explain", "--fix"][..],
        &["undo", "--unsafe-fixes"],
        &["list", "--nope"],
    ] {
        let out = run(args);
        assert_eq!(out.code, 2);
        assert!(!out.stderr.contains("use '--"), "{args:?}: {}", out.stderr);
    }
    let out = run(&["explain", "--fix"]);
    assert!(
        out.stderr
            .contains("--fix is an option of the check itself: `instar-doctor --fix`"),
        "{}",
        out.stderr
    );
}

/// Bash completion, asked the way bash asks it: the script sourced, COMP_WORDS and COMP_CWORD
/// set, the completion function called. Subcommands complete under the hyphenated binary name,
/// and `explain`, `--select` and `--ignore` complete codes and check ids.
#[test]
fn bash_completes_subcommands_codes_and_check_ids() {
    if std::process::Command::new("bash")
        .arg("--version")
        .output()
        .is_err()
    {
        eprintln!("skipped: no bash");
        return;
    }
    let script = run(&["completions", "bash"]).stdout;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("instar-doctor.bash");
    std::fs::write(&path, script).unwrap();
    let complete = |words: &[&str]| -> Vec<String> {
        let driver = format!(
            r#"source {path:?}
COMP_WORDS=({words}); COMP_CWORD=$(( ${{#COMP_WORDS[@]}} - 1 ))
_instar__doctor "${{COMP_WORDS[0]}}" "${{COMP_WORDS[COMP_CWORD]}}" "${{COMP_WORDS[COMP_CWORD-1]}}"
printf '%s\n' "${{COMPREPLY[@]}}""#,
            words = words
                .iter()
                .map(|w| format!("'{w}'"))
                .collect::<Vec<_>>()
                .join(" ")
        );
        let out = std::process::Command::new("bash")
            .args(["--norc", "-c", &driver])
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter(|l| !l.is_empty())
            .map(str::to_string)
            .collect()
    };
    assert_eq!(complete(&["instar-doctor", "hook", "ins"]), ["install"]);
    assert!(complete(&["instar-doctor", "undo", "--"]).contains(&"--force".to_string()));
    let codes = complete(&["instar-doctor", "explain", "jobs/invalid-cr"]);
    assert_eq!(codes, ["jobs/invalid-cron"]);
    let select = complete(&["instar-doctor", "--select", "regi"]);
    assert!(select.contains(&"registry".to_string()), "{select:?}");
    let ignore = complete(&["instar-doctor", "--ignore", "keys/inv"]);
    assert!(
        !ignore.is_empty() && ignore.iter().all(|c| c.starts_with("keys/inv")),
        "{ignore:?}"
    );
}

/// `list` and `explain` wrap at the width too (and never inside a code or a path).
#[test]
fn list_and_explain_wrap() {
    let cases: [(&[&str], &str); 5] = [
        (&["list"], "100"),
        (&["list"], "120"),
        (&["explain", "jobs/invalid-cron"], "60"),
        (&["explain", "boot/missing"], "80"),
        (&["explain", "keys/invalid-pem"], "120"),
    ];
    for (args, columns) in cases {
        let out = at_width(columns, args);
        assert_eq!(out.code, 0);
        let width: usize = columns.parse().unwrap();
        for line in out.stdout.lines() {
            assert!(
                line.chars().count() <= width,
                "{args:?} at {columns}: {line:?}"
            );
        }
    }
}

/// One terminal session end to end, in a real pseudo-terminal (python3's `pty`): a check with
/// its hint, `-i` answered `y n q`, `-i` again answered `a q` (`a` takes every remaining fix of
/// that code, `q` stops at the next code), then `undo` of that last run. The driver gives every
/// session a deadline, so a doctor that waits forever fails instead of hanging CI.
#[test]
fn a_terminal_session_check_interactive_undo() {
    let dir = copy_fixture_agent("examples/broken-agent");
    // Each session's transcript, headed by its name and exit code.
    let session = |name: &str, args: &[&str], answers: &[&str]| {
        let mut doctor = std::process::Command::new(env!("CARGO_BIN_EXE_instar-doctor"));
        doctor
            .args(args)
            .current_dir(dir.path())
            .env("INSTAR_DOCTOR_NOW", NOW)
            .env("HOME", repo_root().join("tests/no-such-home"))
            .env("COLUMNS", "100")
            .env_remove("CI")
            .env_remove("NO_COLOR");
        let terminal = Terminal {
            stdin: true,
            stdout: true,
            answers,
            plain: true,
            ..Terminal::default()
        };
        let screen = on_a_terminal(&doctor, &terminal)?;
        Some(format!(
            "==== {name} (exit {}) ====\n{}\n",
            screen.code, screen.text
        ))
    };
    let Some(check) = session("check", &[], &[]) else {
        eprintln!("skipped: no python3 to drive a pseudo-terminal");
        return;
    };
    let part = |name: &str, args: &[&str], answers: &[&str]| session(name, args, answers).unwrap();
    assert!(check.contains("(exit 1)"), "{check}");
    assert!(
        check.starts_with("==== check (exit 1) ====\n✓ doctor"),
        "{check}"
    );
    assert!(
        check.contains(
            "hint: `instar-doctor --fix --unsafe-fixes` clears all 4 findings that fail the run"
        ),
        "on a terminal the hint names the command, without --dir inside the agent:\n{check}"
    );
    let first = part("interactive 1", &["-i"], &["y", "n", "q"]);
    assert_eq!(
        first.matches("Apply this fix [y,n,a,q,d,?]? ").count(),
        3,
        "y, n, then q stops asking:\n{first}"
    );
    assert!(
        first.contains("(3/9) Apply this fix [y,n,a,q,d,?]? q"),
        "{first}"
    );
    assert!(first.contains("fixed: jobs/stale-jobs-file"), "{first}");
    assert!(first.contains("declined: jobs/invalid-cron"), "{first}");
    assert!(
        first.contains("`instar-doctor undo` restores them"),
        "{first}"
    );
    let second = part("interactive 2", &["-i"], &["a", "q"]);
    assert_eq!(
        second.matches("Apply this fix [y,n,a,q,d,?]? ").count(),
        2,
        "a applies the rest of that code without asking again, q stops at the next:\n{second}"
    );
    assert!(second.contains("fixed: jobs/invalid-cron"), "{second}");
    assert!(!second.contains("fixed: jobs/invalid-priority"), "{second}");
    let undo = part("undo", &["undo"], &[]);
    assert!(
        undo.contains("(exit 0)") && undo.contains("undid run "),
        "{undo}"
    );
}

/// `--diff` is coloured on a terminal (here forced) and plain in a pipe.
#[test]
fn diffs_are_coloured_only_when_colour_is_on() {
    let coloured = run(&["--dir", &broken(), "--diff", "--color", "always"]);
    assert!(
        coloured.stdout.contains("\u{1b}[32m+"),
        "{}",
        coloured.stdout
    );
    assert!(
        coloured.stdout.contains("\u{1b}[31m-"),
        "{}",
        coloured.stdout
    );
    let plain = run(&["--dir", &broken(), "--diff"]);
    assert!(!plain.stdout.contains('\u{1b}'));
}

/// A fix run's list of what it did collapses the same way as the report (all of it with `-v`).
#[test]
fn many_fixes_of_one_code_collapse_into_one_line() {
    let dir = agent_with_jobs(10, "0 9 * * * ", "low");
    let out = run_in(dir.path(), &["--fix", "--select", "jobs/invalid-cron"]);
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    assert_eq!(
        out.stdout.matches("fixed: jobs/invalid-cron").count(),
        3,
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains("… 7 more jobs/invalid-cron the same way (applied in .instar/jobs.json; `-v` lists them)"),
        "{}",
        out.stdout
    );
}

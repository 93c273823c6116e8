//! `hook install --preflight`: the diff of instar's launchd plist first, applied only with
//! `--yes` (or a "y" at a terminal), through the write layer; the wrapped job runs the preflight
//! and then execs instar's own arguments; instar's plist self-heal would leave it alone; and
//! `hook uninstall --preflight` gives the plist's bytes back.

mod common;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use common::*;

struct Machine {
    _tmp: tempfile::TempDir,
    home: PathBuf,
    agent: PathBuf,
    plist: PathBuf,
}

/// A home with `~/.instar`, an agent (a copy of a fixture whose jobs.json has a BOM) and its
/// launchd plist as instar writes it: node link, boot wrapper, `lifeline start --dir`.
fn machine() -> Machine {
    let tmp = tempfile::tempdir().unwrap();
    let home = fs::canonicalize(tmp.path()).unwrap();
    fs::create_dir_all(home.join(".instar")).unwrap();
    fs::create_dir_all(home.join("Library/LaunchAgents")).unwrap();
    let agent = home.join("agents/preflight-demo");
    fs::create_dir_all(&agent).unwrap();
    let status = Command::new("cp")
        .arg("-a")
        .arg(fixtures().join("preflight/jobs-bom/.instar"))
        .arg(&agent)
        .status()
        .unwrap();
    assert!(status.success());
    let plist = home.join("Library/LaunchAgents/ai.instar.preflight-demo.plist");
    fs::write(
        &plist,
        format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<!DOCTYPE plist PUBLIC \"-//Apple//DTD PLIST 1.0//EN\" \"http://www.apple.com/DTDs/PropertyList-1.0.dtd\">\n<plist version=\"1.0\">\n<dict>\n    <key>Label</key>\n    <string>ai.instar.preflight-demo</string>\n    <key>ProgramArguments</key>\n    <array>\n        <string>{a}/.instar/bin/node</string>\n        <string>{a}/.instar/instar-boot.cjs</string>\n        <string>lifeline</string>\n        <string>start</string>\n        <string>--dir</string>\n        <string>{a}</string>\n    </array>\n    <key>KeepAlive</key>\n    <true/>\n</dict>\n</plist>\n",
            a = agent.display()
        ),
    )
    .unwrap();
    Machine {
        _tmp: tmp,
        home,
        agent,
        plist,
    }
}

fn doctor(m: &Machine, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_instar-doctor"))
        .args(args)
        .current_dir(&m.home)
        .env("HOME", &m.home)
        .env("INSTAR_DOCTOR_NOW", NOW)
        .env("NO_COLOR", "1")
        .env("CI", "true")
        .output()
        .unwrap()
        .into()
}

/// `hook install --preflight` for the machine's agent, with `--yes` or without.
fn install(m: &Machine, yes: bool) -> Output {
    let mut args = vec!["hook", "install", "--preflight"];
    if yes {
        args.push("--yes");
    }
    args.extend(["--dir", m.agent.to_str().unwrap()]);
    doctor(m, &args)
}

/// The text of each `<string>` of the plist, in order.
fn strings(text: &str) -> Vec<String> {
    let options = roxmltree::ParsingOptions {
        allow_dtd: true,
        ..roxmltree::ParsingOptions::default()
    };
    let xml = roxmltree::Document::parse_with_options(text, options).expect("the plist is XML");
    xml.descendants()
        .filter(|n| n.has_tag_name("string"))
        .map(|n| n.text().unwrap_or_default().to_string())
        .collect()
}

#[test]
fn the_diff_comes_first_and_nothing_changes_without_yes() {
    let m = machine();
    let before = fs::read(&m.plist).unwrap();
    let out = install(&m, false);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(out.stderr.contains("rerun with --yes"), "{}", out.stderr);
    let diff = out
        .stdout
        .replace(&m.home.display().to_string(), "[HOME]")
        .replace(env!("CARGO_BIN_EXE_instar-doctor"), "[DOCTOR]")
        .replace(
            &fs::canonicalize(env!("CARGO_BIN_EXE_instar-doctor"))
                .unwrap()
                .display()
                .to_string(),
            "[DOCTOR]",
        );
    insta::assert_snapshot!(diff);
    assert_eq!(
        fs::read(&m.plist).unwrap(),
        before,
        "the plist is untouched"
    );
    assert!(
        !m.home.join(".instar/doctor").exists(),
        "a refused command creates nothing"
    );
}

#[test]
fn installed_the_job_runs_the_preflight_then_execs_instar_and_uninstall_restores_the_bytes() {
    let m = machine();
    let before = fs::read(&m.plist).unwrap();
    let instar_args = strings(&String::from_utf8_lossy(&before))[1..].to_vec();
    let out = install(&m, true);
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    assert!(out.stdout.contains("installed (run "), "{}", out.stdout);
    let text = fs::read_to_string(&m.plist).unwrap();
    let args = strings(&text)[1..].to_vec();
    assert_eq!(args[..2], ["/bin/sh", "-c"]);
    assert_eq!(
        args[3..],
        instar_args[..],
        "instar's arguments stay, unchanged"
    );

    // instar's lifeline regenerates a plist (TelegramLifeline selfHealPlist) that lacks the
    // .js/.cjs wrapper or the node link, or whose first absolute string naming node, or first
    // string naming the wrapper, does not exist. Stage both files and check all four.
    let node = m.agent.join(".instar/bin/node");
    let wrapper = m.agent.join(".instar/instar-boot.cjs");
    fs::create_dir_all(node.parent().unwrap()).unwrap();
    recording_program(&node, &m.agent.join(".instar/node-ran"));
    fs::write(&wrapper, "// the boot wrapper\n").unwrap();
    assert!(text.contains("instar-boot.cjs") && text.contains(".instar/bin/node"));
    let first_node = strings(&text)
        .into_iter()
        .find(|s| s.starts_with('/') && s.contains("node"))
        .unwrap();
    assert_eq!(Path::new(&first_node), node);
    let first_wrapper = strings(&text)
        .into_iter()
        .find(|s| s.ends_with("instar-boot.cjs") || s.ends_with("instar-boot.js"))
        .unwrap();
    assert_eq!(Path::new(&first_wrapper), wrapper);

    // What launchd runs: the preflight repairs jobs.json, then node replaces the shell.
    let (pid, run) = launch(&args, &m.home);
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let ran = fs::read_to_string(m.agent.join(".instar/node-ran")).expect("node was exec'd");
    let mut ran = ran.lines();
    assert_eq!(ran.next().unwrap(), pid.to_string(), "exec: same process");
    assert_eq!(
        ran.collect::<Vec<_>>(),
        instar_args[1..],
        "with instar's arguments"
    );
    assert!(fs::read(m.agent.join(".instar/jobs.json")).unwrap()[..3] != [0xEF, 0xBB, 0xBF]);
    assert!(m.agent.join(".instar/doctor/preflight.json").exists());

    // Installing twice changes nothing.
    let again = install(&m, true);
    assert_eq!(again.code, 0);
    assert!(
        again.stdout.contains("already runs the preflight"),
        "{}",
        again.stdout
    );
    assert_eq!(fs::read_to_string(&m.plist).unwrap(), text);

    let undo = doctor(&m, &["hook", "uninstall", "--preflight"]);
    assert_eq!(undo.code, 0, "{}", undo.stderr);
    assert_eq!(
        fs::read(&m.plist).unwrap(),
        before,
        "the exact bytes are back"
    );
}

#[test]
fn uninstall_refuses_when_the_plist_changed_since() {
    let m = machine();
    let out = install(&m, true);
    assert_eq!(out.code, 0, "{}", out.stderr);
    // instar regenerated it meanwhile (installAutoStart).
    fs::write(
        &m.plist,
        "<?xml version=\"1.0\"?><plist version=\"1.0\"><dict/></plist>\n",
    )
    .unwrap();
    let undo = doctor(&m, &["hook", "uninstall", "--preflight"]);
    assert_eq!(undo.code, 2, "{}", undo.stdout);
    assert!(undo.stderr.contains("changed"), "{}", undo.stderr);
    assert!(fs::read_to_string(&m.plist).unwrap().contains("<dict/>"));
}

#[test]
fn no_plist_is_a_clear_error() {
    let m = machine();
    fs::remove_file(&m.plist).unwrap();
    let out = install(&m, true);
    assert_eq!(out.code, 2);
    assert!(
        out.stderr.contains("ai.instar.preflight-demo.plist"),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains("instar setup"), "{}", out.stderr);
}

#[test]
fn the_doctors_own_launchd_checks_read_instars_arguments_behind_the_wrapper() {
    use instar_doctor::engine::{self, Context, Selection};
    use instar_doctor::host::FakeHost;
    use instar_doctor::version::Version;
    let m = machine();
    let node = m.agent.join(".instar/bin/node");
    fs::create_dir_all(node.parent().unwrap()).unwrap();
    recording_program(&node, &m.agent.join(".instar/node-ran"));
    fs::write(m.agent.join(".instar/instar-boot.cjs"), "// wrapper\n").unwrap();
    let launchd_findings = || {
        let version = Version::new(1, 3, 1186);
        let cx = Context::at_version(m.agent.clone(), version, 1_795_000_000)
            .with_host(FakeHost::macos().with_home(&m.home));
        let selection = Selection {
            select: vec!["boot".into(), "machine".into()],
            ..Selection::default()
        };
        engine::run(&cx, &selection)
            .diagnostics
            .iter()
            .filter(|d| d.code.id.contains("plist") || d.code.id.contains("launchd"))
            .map(|d| format!("{}: {}", d.code.id, d.message))
            .collect::<Vec<_>>()
    };
    let before = launchd_findings();
    let out = install(&m, true);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(
        launchd_findings(),
        before,
        "the wrapped job reads as instar's own"
    );
    assert!(before.is_empty(), "{before:?}");
}

#[test]
fn without_a_plist_the_systemd_unit_gets_an_exec_start_pre_line() {
    let m = machine();
    fs::remove_file(&m.plist).unwrap();
    let node = m.agent.join(".instar/bin/node");
    fs::create_dir_all(node.parent().unwrap()).unwrap();
    recording_program(&node, &m.agent.join(".instar/node-ran"));
    let unit = m
        .home
        .join(".config/systemd/user/instar-preflight-demo.service");
    fs::create_dir_all(unit.parent().unwrap()).unwrap();
    let text = format!(
        "[Unit]\nDescription=instar agent preflight-demo\nAfter=network.target\n\n[Service]\nType=simple\nExecStart={node} {a}/cli.js lifeline start --dir {a}\nRestart=always\nRestartSec=10\n\n[Install]\nWantedBy=default.target\n",
        node = node.display(),
        a = m.agent.display()
    );
    fs::write(&unit, &text).unwrap();
    let out = install(&m, true);
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    assert!(
        out.stdout.contains("+ExecStartPre="),
        "the diff: {}",
        out.stdout
    );
    assert!(
        out.stdout.contains("systemctl --user daemon-reload"),
        "{}",
        out.stdout
    );
    let after = fs::read_to_string(&unit).unwrap();
    let pre = after
        .lines()
        .find_map(|l| l.strip_prefix("ExecStartPre="))
        .expect("the line is there");
    assert!(after.find("ExecStartPre=") < after.find("ExecStart="));

    // systemd runs the line's words (no shell): the preflight repairs jobs.json.
    let run = run_unit_command(pre);
    assert_eq!(
        run.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    assert!(m.agent.join(".instar/doctor/preflight.json").exists());

    // systemd's own parser, where it is installed.
    if let Some(complaints) = systemd_verify(&unit) {
        assert!(complaints.is_empty(), "{complaints:#?}");
    }

    let again = install(&m, true);
    assert!(
        again.stdout.contains("already runs the preflight"),
        "{}",
        again.stdout
    );
    let undo = doctor(&m, &["hook", "uninstall", "--preflight"]);
    assert_eq!(undo.code, 0, "{}", undo.stderr);
    assert_eq!(
        fs::read_to_string(&unit).unwrap(),
        text,
        "the exact bytes are back"
    );
}

/// `hook install --preflight` with stdin and stderr on a pseudo-terminal (python3's `pty`),
/// `answer` typed ahead; returns the exit code, or None when python3 is missing.
fn install_at_a_terminal(m: &Machine, answer: &str) -> Option<i32> {
    let mut command = Command::new(env!("CARGO_BIN_EXE_instar-doctor"));
    command
        .args(["hook", "install", "--preflight", "--dir"])
        .arg(&m.agent)
        .env("HOME", &m.home)
        .env("NO_COLOR", "1")
        .env_remove("CI");
    let terminal = Terminal {
        stdin: true,
        typed: answer,
        ..Terminal::default()
    };
    Some(on_a_terminal(&command, &terminal)?.code)
}

#[test]
fn at_a_terminal_only_a_yes_applies_the_diff() {
    let m = machine();
    let before = fs::read(&m.plist).unwrap();
    let Some(code) = install_at_a_terminal(&m, "n\n") else {
        eprintln!("python3 is not installed: the prompt was not driven on a pty");
        return;
    };
    assert_eq!(code, 1, "no: not applied");
    assert_eq!(fs::read(&m.plist).unwrap(), before);
    assert_eq!(
        install_at_a_terminal(&m, "\n"),
        Some(1),
        "Enter alone is no"
    );
    assert_eq!(fs::read(&m.plist).unwrap(), before);
    assert_eq!(install_at_a_terminal(&m, "y\n"), Some(0));
    let args = strings(&fs::read_to_string(&m.plist).unwrap());
    assert_eq!(args[1..3], ["/bin/sh", "-c"], "applied: {args:?}");
}

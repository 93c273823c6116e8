//! A tree someone else wrote (`.instar/` is committed to git) must not hang or crash the doctor:
//! FIFOs where files belong, characters wider than a byte where paths are parsed.

mod common;

use std::fs;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::*;

/// Runs the doctor, killing it if it has not answered within `limit`: a hang fails the test
/// instead of hanging the suite.
fn run_with_deadline(args: &[&str], limit: Duration) -> Option<Output> {
    let mut child = Command::new(env!("CARGO_BIN_EXE_instar-doctor"))
        .args(args)
        .env("INSTAR_DOCTOR_NOW", NOW)
        .env("NO_COLOR", "1")
        .env("CI", "true")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the binary runs");
    let started = Instant::now();
    loop {
        if child.try_wait().unwrap().is_some() {
            return Some(child.wait_with_output().unwrap().into());
        }
        if started.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            return None;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn mkfifo(path: &Path) {
    let c_path = std::ffi::CString::new(path.as_os_str().as_encoded_bytes()).unwrap();
    // SAFETY: a valid NUL-terminated path.
    assert_eq!(unsafe { libc::mkfifo(c_path.as_ptr(), 0o644) }, 0, "mkfifo");
}

fn copy_tree(from: &Path, to: &Path) {
    fs::create_dir_all(to).unwrap();
    for entry in fs::read_dir(from).unwrap().flatten() {
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_tree(&entry.path(), &target);
        } else {
            fs::copy(entry.path(), &target).unwrap();
        }
    }
}

/// An agent with keys (so the keys check asks git's index) and a config with a secret.
fn agent_with_keys() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    copy_tree(
        &fixtures().join("keys/healthy/.instar"),
        &dir.path().join(".instar"),
    );
    fs::write(
        dir.path().join(".instar/config.json"),
        r#"{"projectName": "t", "authToken": "tok-1"}"#,
    )
    .unwrap();
    dir
}

#[test]
fn a_fifo_at_dot_git_does_not_hang_a_check() {
    let agent = agent_with_keys();
    mkfifo(&agent.path().join(".git"));
    let dir = agent.path().to_str().unwrap();
    let out = run_with_deadline(&["--dir", dir, "--format", "json"], Duration::from_secs(60))
        .expect("the check answered instead of waiting on the FIFO");
    assert!(out.code == 0 || out.code == 1, "{}", out.stderr);
    assert_valid_json_output(&out.stdout);
}

#[test]
fn a_fifo_at_the_git_index_does_not_hang_a_check() {
    let agent = agent_with_keys();
    fs::create_dir_all(agent.path().join(".git")).unwrap();
    mkfifo(&agent.path().join(".git/index"));
    let dir = agent.path().to_str().unwrap();
    let out = run_with_deadline(&["--dir", dir], Duration::from_secs(60))
        .expect("the check answered instead of waiting on the FIFO");
    assert!(out.code == 0 || out.code == 1, "{}", out.stderr);
}

#[test]
fn a_fifo_where_a_state_file_belongs_is_a_finding() {
    let agent = agent_with_keys();
    let config = agent.path().join(".instar/config.json");
    fs::remove_file(&config).unwrap();
    mkfifo(&config);
    let dir = agent.path().to_str().unwrap();
    let out = run_with_deadline(&["--dir", dir, "--format", "json"], Duration::from_secs(60))
        .expect("the check answered instead of waiting on the FIFO");
    let doc = assert_valid_json_output(&out.stdout);
    let about_config: Vec<_> = doc["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["file"] == ".instar/config.json")
        .collect();
    assert!(
        about_config
            .iter()
            .any(|d| d["message"].as_str().unwrap().contains("FIFO")),
        "{about_config:?}"
    );
}

#[test]
fn a_wide_space_in_a_boot_wrapper_is_read_not_panicked_on() {
    let agent = agent_with_keys();
    fs::write(
        agent.path().join(".instar/instar-boot.sh"),
        "#!/bin/bash\nexec node\u{3000}/elsewhere/.instar/shadow-install/node_modules/instar/dist/cli.js\n",
    )
    .unwrap();
    let dir = agent.path().to_str().unwrap();
    let out = run_with_deadline(&["--dir", dir, "--format", "json"], Duration::from_secs(60))
        .expect("answered");
    assert_ne!(out.code, 101, "panicked: {}", out.stderr);
    assert!(out.code == 0 || out.code == 1, "{}", out.stderr);
    assert_valid_json_output(&out.stdout);
}

/// Found by `fuzz/fuzz_targets/checks.rs`: a wrapper with invalid UTF-8 was diagnosed on its
/// lossily decoded text, and the damage span (0..20) ran past the 8-byte file.
#[test]
fn spans_in_a_wrapper_with_invalid_utf8_stay_inside_the_file() {
    let agent = agent_with_keys();
    let bytes: &[u8] = b"\xf0\xf0\xf0\xf0\xf0\xf0[a";
    for name in ["instar-boot.js", "instar-boot.sh"] {
        fs::write(agent.path().join(".instar").join(name), bytes).unwrap();
    }
    let dir = agent.path().to_str().unwrap();
    let out = run_with_deadline(&["--dir", dir, "--format", "json"], Duration::from_secs(60))
        .expect("answered");
    let doc = assert_valid_json_output(&out.stdout);
    let mut wrapper_spans = 0;
    for d in doc["diagnostics"].as_array().unwrap() {
        let file = d["file"].as_str().unwrap_or_default();
        if !file.starts_with(".instar/instar-boot.") || d["span"].is_null() {
            continue;
        }
        wrapper_spans += 1;
        let end = d["span"]["end"].as_u64().unwrap() as usize;
        assert!(end <= bytes.len(), "{d}");
    }
    assert!(wrapper_spans > 0, "the damage is reported with a span");
    // And the human report, which cuts snippets from those spans, renders.
    let human = run_with_deadline(&["--dir", dir], Duration::from_secs(60)).expect("answered");
    assert!(human.code == 0 || human.code == 1, "{}", human.stderr);
}

/// `hook install` used to write `.pre-push.instar-doctor.tmp` with a plain write: a link planted
/// under that name (a committed `core.hooksPath` folder) was written through.
#[test]
fn hook_install_never_writes_through_a_planted_temp_link() {
    if Command::new("git").arg("--version").output().is_err() {
        eprintln!("skipped: git is not installed");
        return;
    }
    let root = tempfile::tempdir().unwrap();
    let work = root.path().join("work");
    fs::create_dir_all(&work).unwrap();
    let git = |args: &[&str]| {
        assert!(Command::new("git")
            .args(args)
            .current_dir(&work)
            .output()
            .unwrap()
            .status
            .success());
    };
    git(&["init", "-q"]);
    let hooks = work.join(".git/hooks");
    fs::create_dir_all(&hooks).unwrap();
    let sentinel = root.path().join("outside.txt");
    fs::write(&sentinel, "keep me").unwrap();
    let before = fs::metadata(&sentinel).unwrap().modified().unwrap();
    std::os::unix::fs::symlink(&sentinel, hooks.join(".pre-push.instar-doctor.tmp")).unwrap();

    let out = run_in(&work, &["hook", "install"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(fs::read_to_string(&sentinel).unwrap(), "keep me");
    assert_eq!(fs::metadata(&sentinel).unwrap().modified().unwrap(), before);
    let hook = fs::read_to_string(hooks.join("pre-push")).unwrap();
    assert!(hook.contains("instar-doctor"), "{hook}");
    assert!(!fs::symlink_metadata(hooks.join("pre-push"))
        .unwrap()
        .file_type()
        .is_symlink());
}

/// Two duplicate keys 70,000 columns apart on one line: miette could not draw a label past
/// column 65,535 and panicked (exit 101). Each label now gets its own short window.
#[test]
fn labels_far_apart_on_one_long_line_render() {
    let agent = agent_with_keys();
    let long = "x".repeat(70_000);
    fs::write(
        agent.path().join(".instar/config.json"),
        format!(r#"{{"projectName": "t", "port": 4040, "note": "{long}", "port": 4041}}"#),
    )
    .unwrap();
    let dir = agent.path().to_str().unwrap();
    for args in [&["--dir", dir][..], &["--dir", dir, "-v"]] {
        let out = run_with_deadline(args, Duration::from_secs(60)).expect("answered");
        assert_ne!(out.code, 101, "panicked: {}", out.stderr);
        assert_eq!(out.code, 1, "{}", out.stderr);
        assert!(out.stdout.contains("duplicate"), "{}", out.stdout);
        let widest = out.stdout.lines().map(|l| l.chars().count()).max().unwrap();
        assert!(widest < 400, "a {widest}-column line was printed");
    }
}

/// Raw ESC bytes from a state file reached the terminal in snippets (`ESC[2J` clears the
/// screen, an OSC sequence retitles the window). Every human channel shows them escaped.
#[test]
fn control_characters_from_a_file_never_reach_the_terminal() {
    let agent = agent_with_keys();
    let evil = "\u{1b}[2J\u{1b}]0;pwned\u{7}\u{9b}31m";
    fs::write(
        agent.path().join(".instar/jobs.json"),
        format!(
            "\u{feff}[{{\"slug\": \"a{evil}\", \"name\": \"n{evil}\", \"schedule\": \"0 9 * * * \", \"priority\": \"low\", \"enabled\": true}}]"
        ),
    )
    .unwrap();
    let dir = agent.path().to_str().unwrap();
    let runs: [&[&str]; 4] = [
        &["--dir", dir],
        &["--dir", dir, "-v"],
        &["--dir", dir, "--diff", "--unsafe-fixes"],
        &["--dir", dir, "--diff"],
    ];
    for args in runs {
        let out = run_with_deadline(args, Duration::from_secs(60)).expect("answered");
        assert_ne!(out.code, 101, "{args:?} panicked: {}", out.stderr);
        for (stream, text) in [("stdout", &out.stdout), ("stderr", &out.stderr)] {
            assert!(
                !text.contains('\u{1b}') && !text.contains('\u{7}') && !text.contains('\u{9b}'),
                "{args:?}: a raw control character on {stream}:\n{text}"
            );
        }
        assert!(
            out.stdout.contains("\\u{1b}"),
            "{args:?}: shown escaped:\n{}",
            out.stdout
        );
    }
}

//! `instar-doctor machine`: the fix run of the per-user files (issue 15), end to end on a
//! temporary instar home (`--instar-home`, HOME pointed at the same temp folder): input tree →
//! output tree per fix, the `--diff` snapshot, `undo --machine` byte for byte, the refusal
//! while a live instar holds the registry lock, and crashes at every write step.

mod common;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, SystemTime};

use common::NOW;

/// A temp home with `.instar/`, one live agent folder, a registry naming it and a folder that
/// is gone, a stale registry lock and two holders of a host that no longer exists.
struct Home {
    _tmp: tempfile::TempDir,
    root: PathBuf,
}

const HOLDERS: &str = r#"{"holders": [{"id": "x", "pid": 999999, "hostname": "old-host.invalid", "heartbeat": 1000}, {"id": "y", "pid": 999998, "hostname": "old-host.invalid", "heartbeat": 2000}]}
"#;

impl Home {
    fn new() -> Self {
        let tmp = tempfile::tempdir().unwrap();
        let root = fs::canonicalize(tmp.path()).unwrap();
        fs::create_dir_all(root.join(".instar")).unwrap();
        fs::create_dir_all(root.join("agentA/.instar")).unwrap();
        fs::write(
            root.join("agentA/.instar/config.json"),
            r#"{"projectName": "a", "port": 4040}"#,
        )
        .unwrap();
        let home = Home { _tmp: tmp, root };
        fs::write(home.registry(), home.registry_before()).unwrap();
        fs::write(home.holders(), HOLDERS).unwrap();
        home.lock_aged(Duration::from_secs(3600));
        home
    }

    fn instar(&self) -> PathBuf {
        self.root.join(".instar")
    }

    fn registry(&self) -> PathBuf {
        self.instar().join("registry.json")
    }

    fn holders(&self) -> PathBuf {
        self.instar().join("host-spawn-holders.json")
    }

    fn lock(&self) -> PathBuf {
        self.instar().join("registry.json.lock")
    }

    fn entry(&self, name: &str, folder: &str, port: u32) -> String {
        format!(
            "    {{\n      \"name\": \"{name}\",\n      \"type\": \"project-bound\",\n      \"path\": \"{}\",\n      \"port\": {port},\n      \"pid\": 1,\n      \"status\": \"stopped\"\n    }}",
            self.root.join(folder).display()
        )
    }

    fn registry_before(&self) -> String {
        format!(
            "{{\n  \"version\": 1,\n  \"entries\": [\n{},\n{}\n  ]\n}}",
            self.entry("a", "agentA", 4040),
            self.entry("gone", "gone", 4041)
        )
    }

    fn registry_after(&self) -> String {
        format!(
            "{{\n  \"version\": 1,\n  \"entries\": [\n{}\n  ]\n}}",
            self.entry("a", "agentA", 4040)
        )
    }

    /// A registry lock folder last refreshed `age` before the run's "now" (the checks judge by
    /// INSTAR_DOCTOR_NOW, the lock protocol by the real clock, which is later still).
    fn lock_aged(&self, age: Duration) {
        let _ = fs::create_dir(self.lock());
        let now = instar_doctor::cron::parse_rfc3339(NOW).unwrap() as u64;
        let when = SystemTime::UNIX_EPOCH + Duration::from_secs(now) - age;
        fs::File::open(self.lock())
            .unwrap()
            .set_modified(when)
            .unwrap();
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_instar-doctor"));
        command
            .args(args)
            .arg("--instar-home")
            .arg(self.instar())
            .current_dir(&self.root)
            .env("HOME", &self.root)
            .env("INSTAR_DOCTOR_NOW", NOW)
            .env("NO_COLOR", "1")
            .env("COLUMNS", "100")
            .env("CI", "true")
            .env_remove("CLICOLOR_FORCE")
            .env_remove("GITHUB_WORKSPACE");
        command
    }

    fn run(&self, args: &[&str]) -> (i32, String, String) {
        let out = self.command(args).output().unwrap();
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stdout)
                .replace(&self.root.display().to_string(), "[HOME]"),
            String::from_utf8_lossy(&out.stderr)
                .replace(&self.root.display().to_string(), "[HOME]"),
        )
    }
}

fn read(path: &Path) -> String {
    fs::read_to_string(path).unwrap()
}

#[test]
fn the_report_alone_changes_nothing_and_names_every_machine_finding() {
    let home = Home::new();
    let (code, out, _) = home.run(&["machine"]);
    assert_eq!(code, 0, "warnings do not fail at --fail-on error: {out}");
    for id in [
        "machine/registry-zombie",
        "machine/foreign-spawn-holder",
        "machine/registry-lock-stale",
    ] {
        assert!(out.contains(id), "{id} missing from {out}");
    }
    assert_eq!(read(&home.registry()), home.registry_before());
    assert!(home.lock().is_dir() && !home.instar().join("doctor").exists());
    // The overview names the one area such a run covers, and the summary no agent's version.
    let overview: Vec<&str> = out.lines().take_while(|l| !l.is_empty()).collect();
    assert_eq!(overview.len(), 1, "{out}");
    assert!(overview[0].contains("machine"), "{out}");
    assert!(!out.contains("not run"), "{out}");
    assert!(!out.contains("shadow install"), "{out}");
    // It names the folder it checked: the instar home (shown from the working directory),
    // not the folder paths are shown from.
    let summary = out.lines().rfind(|l| l.contains(" — ")).unwrap_or_default();
    assert!(summary.contains(" — .instar (instar "), "{summary}");
}

#[test]
fn fix_removes_only_the_stale_lock() {
    let home = Home::new();
    let (code, out, err) = home.run(&["machine", "--fix"]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(!home.lock().exists(), "the stale lock is gone");
    assert!(out.contains("fixed: machine/registry-lock-stale"), "{out}");
    // The unsafe fixes wait for --unsafe-fixes.
    assert_eq!(read(&home.registry()), home.registry_before());
    assert_eq!(read(&home.holders()), HOLDERS);
    assert!(out.contains("machine/registry-zombie"), "{out}");
}

#[test]
fn unsafe_fixes_remove_the_zombie_entry_and_the_foreign_holders_keeping_every_other_byte() {
    let home = Home::new();
    let (code, out, err) = home.run(&["machine", "--fix", "--unsafe-fixes"]);
    assert_eq!(code, 0, "{out}{err}");
    assert_eq!(read(&home.registry()), home.registry_after());
    assert_eq!(read(&home.holders()), "{\"holders\": []}\n");
    assert!(
        out.contains("backups in .instar/doctor/runs/")
            && out.contains("`instar-doctor undo --machine` restores them"),
        "{out}"
    );
    let parsed: serde_json::Value = serde_json::from_str(&read(&home.registry())).unwrap();
    assert_eq!(parsed["entries"].as_array().unwrap().len(), 1);
    // Neither instar lock is left behind.
    assert!(!home.lock().exists());
    assert!(!home.instar().join("host-spawn-holders.json.lock").exists());
    // The re-check is clean.
    let (code, out, _) = home.run(&["machine", "--fail-on", "info"]);
    assert_eq!(code, 0, "{out}");
}

#[test]
fn the_diff_shows_what_fix_would_do() {
    let home = Home::new();
    let (code, out, err) = home.run(&["machine", "--diff", "--unsafe-fixes"]);
    assert_eq!(code, 1, "{err}");
    insta::assert_snapshot!(out);
    assert_eq!(read(&home.registry()), home.registry_before());
    assert!(home.lock().is_dir(), "--diff writes nothing");
}

#[test]
fn undo_machine_restores_the_bytes_exactly() {
    let home = Home::new();
    let (code, out, err) = home.run(&["machine", "--fix", "--unsafe-fixes"]);
    assert_eq!(code, 0, "{out}{err}");
    assert_ne!(read(&home.registry()), home.registry_before());
    let (code, out, err) = home.run(&["undo", "--machine"]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("restored"), "{out}");
    assert_eq!(read(&home.registry()), home.registry_before());
    assert_eq!(read(&home.holders()), HOLDERS);
    // Nothing left to undo, and the agent-side undo is a different record.
    let (code, _, err) = home.run(&["undo", "--machine"]);
    assert_eq!(code, 2);
    assert!(err.contains("no machine fix run to undo"), "{err}");
}

#[test]
fn a_fresh_registry_lock_refuses_the_run_and_changes_nothing() {
    let home = Home::new();
    // A live instar writer's lock: refreshed just now.
    fs::remove_dir(home.lock()).unwrap();
    fs::create_dir(home.lock()).unwrap();
    let (code, out, err) = home.run(&["machine", "--fix", "--unsafe-fixes"]);
    assert_eq!(code, 2, "{out}");
    assert!(err.contains("held by a running instar process"), "{err}");
    assert_eq!(read(&home.registry()), home.registry_before());
    assert_eq!(read(&home.holders()), HOLDERS);
    assert!(
        home.lock().is_dir(),
        "a live holder's lock is never removed"
    );
    assert!(
        !home.instar().join("doctor").exists(),
        "nothing was created"
    );
}

#[test]
fn a_held_spawn_lock_stops_the_pass_before_any_write() {
    let home = Home::new();
    fs::write(
        home.instar().join("host-spawn-holders.json.lock"),
        r#"{"pid":1,"at":0}"#,
    )
    .unwrap();
    let (code, out, err) = home.run(&["machine", "--fix", "--unsafe-fixes"]);
    assert_eq!(code, 2, "{out}");
    assert!(err.contains("host-spawn-holders.json.lock"), "{err}");
    // The pass writes both files, so it stops before its first write: both are as they were.
    assert_eq!(read(&home.registry()), home.registry_before());
    assert_eq!(read(&home.holders()), HOLDERS);
    assert!(
        !home.lock().exists(),
        "the stale registry lock was still removed"
    );
}

#[test]
fn a_spawn_lock_left_by_a_dead_process_holds_back_only_the_holders_fix() {
    let home = Home::new();
    let lock = home.instar().join("host-spawn-holders.json.lock");
    let left = r#"{"pid":999997,"at":0}"#;
    fs::write(&lock, left).unwrap();
    let (code, out, err) = home.run(&["machine", "--fix", "--unsafe-fixes", "--format", "json"]);
    // The registry's fixes went ahead (a run that stopped would exit 2); the holder findings
    // remain, warnings under the default --fail-on error, each saying why.
    assert_eq!(code, 0, "{out}{err}");
    assert_eq!(read(&home.registry()), home.registry_after());
    assert_eq!(read(&home.holders()), HOLDERS);
    assert_eq!(read(&lock), left, "instar's lock is never taken over");
    let doc: serde_json::Value = serde_json::from_str(&out).unwrap();
    let holders: Vec<_> = doc["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["code"] == "machine/foreign-spawn-holder")
        .collect();
    assert_eq!(holders.len(), 2, "{out}");
    for d in holders {
        let help = d["help"].as_str().unwrap_or_default();
        assert!(
            help.contains("was left by pid 999997, which is not running"),
            "{d}"
        );
    }
    // Once instar has taken its lock back, the next run finishes the job.
    fs::remove_file(&lock).unwrap();
    let (code, out, err) = home.run(&["machine", "--fix", "--unsafe-fixes"]);
    assert_eq!(code, 0, "{out}{err}");
    assert_eq!(read(&home.holders()), "{\"holders\": []}\n");
}

/// A run killed at each write step leaves registry.json whole (its old or its new bytes, JSON
/// that parses) and the next run, once the dead run's lock has gone stale, recovers and
/// finishes the job.
#[test]
fn a_crash_at_any_step_leaves_the_registry_whole_and_recoverable() {
    let mut step = 1;
    loop {
        let home = Home::new();
        let log = home.root.join("failpoints.log");
        let status = home
            .command(&["machine", "--fix", "--unsafe-fixes"])
            .env("INSTAR_DOCTOR_FAILPOINT_LOG", &log)
            .env("INSTAR_DOCTOR_CRASH_AT", step.to_string())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .status()
            .unwrap();
        let text = read(&home.registry());
        assert!(
            text == home.registry_before() || text == home.registry_after(),
            "step {step}: registry.json is neither its old nor its new version: {text}"
        );
        serde_json::from_str::<serde_json::Value>(&text).unwrap();
        if status.code() == Some(0) {
            assert!(step > 3, "the run went through too few steps to test");
            break;
        }
        // The dead run's own registry lock goes stale as instar would see it after 10 s.
        if home.lock().exists() {
            home.lock_aged(Duration::from_secs(60));
        }
        let _ = fs::remove_file(home.instar().join("host-spawn-holders.json.lock"));
        let (code, out, err) = home.run(&["machine", "--fix", "--unsafe-fixes"]);
        assert_eq!(code, 0, "step {step}: {out}{err}");
        assert_eq!(read(&home.registry()), home.registry_after(), "step {step}");
        assert_eq!(read(&home.holders()), "{\"holders\": []}\n", "step {step}");
        step += 1;
        assert!(step < 60, "the run never finished");
    }
}

#[test]
fn agent_and_scan_reports_name_the_machine_command_instead_of_fixing() {
    let home = Home::new();
    let (_, out, _) = home.run(&["scan", "--format", "json"]);
    assert!(
        out.contains("`instar-doctor machine --fix --unsafe-fixes` applies it"),
        "{out}"
    );
}

#[test]
fn unsafe_fixes_register_a_running_agent_the_registry_lost() {
    let home = Home::new();
    fs::remove_dir(home.lock()).unwrap();
    fs::remove_file(home.holders()).unwrap();
    let registry = format!(
        "{{\n  \"version\": 1,\n  \"entries\": [\n{}\n  ]\n}}\n",
        home.entry("a", "agentA", 4040)
    );
    fs::write(home.registry(), &registry).unwrap();
    // A standalone agent whose server runs (this test's own pid is alive) but is not listed.
    let agent = home.instar().join("agents/b");
    fs::create_dir_all(agent.join(".instar/local")).unwrap();
    fs::write(
        agent.join(".instar/config.json"),
        r#"{"projectName": "b", "port": 4050}"#,
    )
    .unwrap();
    fs::write(
        agent.join(".instar/local/server-instance.lock"),
        format!(r#"{{"pid": {}}}"#, std::process::id()),
    )
    .unwrap();
    let (code, out, err) = home.run(&["machine", "--fix"]);
    assert_eq!(code, 0, "{out}{err}");
    assert_eq!(
        read(&home.registry()),
        registry,
        "unsafe: not without --unsafe-fixes"
    );
    let (code, out, err) = home.run(&["machine", "--fix", "--unsafe-fixes"]);
    assert_eq!(code, 0, "{out}{err}");
    let expected = format!(
        "{{\n  \"version\": 1,\n  \"entries\": [\n{},\n    {{\n      \"name\": \"b\",\n      \"type\": \"standalone\",\n      \"path\": \"{}\",\n      \"port\": 4050,\n      \"pid\": {},\n      \"status\": \"running\",\n      \"createdAt\": \"2026-11-24T12:00:00.000Z\",\n      \"lastHeartbeat\": \"2026-11-24T12:00:00.000Z\"\n    }}\n  ]\n}}\n",
        home.entry("a", "agentA", 4040),
        agent.display(),
        std::process::id()
    );
    assert_eq!(read(&home.registry()), expected);
    let (code, out, _) = home.run(&["machine", "--fail-on", "info"]);
    assert_eq!(code, 0, "{out}");
}

#[test]
fn an_instar_home_outside_the_home_folder_is_reported_but_never_fixed() {
    let home = Home::new();
    let elsewhere = tempfile::tempdir().unwrap();
    let out = home
        .command(&["machine", "--fix", "--unsafe-fixes"])
        .env("HOME", elsewhere.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("is not inside the home folder"), "{err}");
    assert_eq!(read(&home.registry()), home.registry_before());
    assert!(home.lock().is_dir() && !home.instar().join("doctor").exists());
    // The report alone still works.
    let out = home
        .command(&["machine"])
        .env("HOME", elsewhere.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
}

/// `machine -i` on a terminal: asked fix by fix, `y` applies the zombie entry's removal and `n`
/// keeps each of the two foreign holders; the report that follows names the machine command (with the
/// instar home given) for what is left, and `undo --machine` puts everything back.
#[test]
fn machine_interactive_on_a_terminal_asks_fix_by_fix() {
    let home = Home::new();
    let mut doctor = home.command(&["machine", "-i"]);
    doctor.env_remove("CI");
    let terminal = common::Terminal {
        stdin: true,
        stdout: true,
        answers: &["y", "n", "n"],
        plain: true,
        ..common::Terminal::default()
    };
    let Some(screen) = common::on_a_terminal(&doctor, &terminal) else {
        eprintln!("skipped: no python3 to drive a pseudo-terminal");
        return;
    };
    let text = screen
        .text
        .replace(&home.root.display().to_string(), "[HOME]");
    assert_eq!(screen.code, 0, "warnings do not fail the run:\n{text}");
    assert_eq!(
        text.matches("Apply this fix [y,n,a,q,d,?]? ").count(),
        3,
        "{text}"
    );
    assert!(
        text.contains("fixed: machine/registry-zombie")
            && text.contains("declined: machine/foreign-spawn-holder"),
        "{text}"
    );
    assert_eq!(read(&home.registry()), home.registry_after());
    assert_eq!(
        read(&home.holders()),
        HOLDERS,
        "the declined fix wrote nothing"
    );
    let hint = text
        .lines()
        .skip_while(|l| !l.starts_with("hint: "))
        .flat_map(str::split_whitespace)
        .collect::<Vec<_>>()
        .join(" ");
    assert!(
        hint.starts_with(
            "hint: `instar-doctor machine --instar-home [HOME]/.instar --fix --unsafe-fixes` applies the unsafe fixes"
        ),
        "{text}"
    );
    let (code, out, err) = home.run(&["undo", "--machine"]);
    assert_eq!(code, 0, "{out}{err}");
    assert_eq!(read(&home.registry()), home.registry_before());
}

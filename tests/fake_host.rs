//! The host is one seam (design §8): liveness, PATH, OS, home and the `--deep` probes are asked
//! of `Context::host()`, so a macOS machine, a live writer or a missing interpreter can be
//! staged here on a Linux runner without touching the real machine.

use std::fs;
use std::path::Path;

use instar_doctor::diag::Diagnostic;
use instar_doctor::engine::{self, Context, Selection};
use instar_doctor::host::{FakeHost, HostOs, SystemHost};
use instar_doctor::instar_runtime;
use instar_doctor::version::Version;

const HEAD: Version = Version::new(1, 3, 1186);
/// A pid no process on this machine has (beyond Linux's pid_max and macOS's 99999), so only
/// the fake host can call it alive.
const FAKE_PID: u32 = 9_000_001;

fn context(dir: &Path, host: FakeHost, deep: bool) -> Context {
    Context::at_version(dir.to_path_buf(), HEAD, 1_795_000_000)
        .with_deep(deep)
        .with_host(host)
}

fn findings(cx: &Context, check: &str) -> Vec<Diagnostic> {
    let selection = Selection {
        select: vec![check.into()],
        ..Selection::default()
    };
    engine::run(cx, &selection).diagnostics
}

fn codes(found: &[Diagnostic]) -> Vec<&'static str> {
    found.iter().map(|d| d.code.id).collect()
}

fn agent() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    fs::create_dir_all(dir.path().join(".instar/state")).unwrap();
    fs::write(
        dir.path().join(".instar/config.json"),
        r#"{"projectName": "t", "port": 4040}"#,
    )
    .unwrap();
    dir
}

#[test]
fn a_temp_file_is_left_alone_while_the_host_says_its_writer_runs() {
    // The registry's `<file>.tmp.<pid>`: a live writer may be mid-rename, so it is not reported.
    let dir = agent();
    let machines = dir.path().join(".instar/machines");
    fs::create_dir_all(&machines).unwrap();
    fs::write(
        machines.join("registry.json"),
        r#"{"version": 1, "machines": {}}"#,
    )
    .unwrap();
    fs::write(machines.join(format!("registry.json.tmp.{FAKE_PID}")), "{").unwrap();

    let writer_alive = context(dir.path(), FakeHost::macos().with_live_pid(FAKE_PID), false);
    let found = findings(&writer_alive, "registry");
    assert!(
        !codes(&found).contains(&"registry/stray-temp-file"),
        "{:?}",
        codes(&found)
    );

    let writer_gone = context(dir.path(), FakeHost::macos(), false);
    let found = findings(&writer_gone, "registry");
    assert!(
        codes(&found).contains(&"registry/stray-temp-file"),
        "{:?}",
        codes(&found)
    );
}

#[test]
fn a_config_temp_file_of_a_live_writer_is_said_to_be_in_use() {
    let dir = agent();
    let temp = dir
        .path()
        .join(format!(".instar/config.json.{FAKE_PID}.tmp"));
    fs::write(&temp, "{}").unwrap();
    let render = |host: FakeHost| {
        findings(&context(dir.path(), host, false), "config")
            .into_iter()
            .filter(|d| d.code.id == "config/stray-temp-file")
            .map(|d| format!("{} {:?}", d.message, d.help))
            .collect::<Vec<_>>()
            .join("\n")
    };
    let alive = render(FakeHost::macos().with_live_pid(FAKE_PID));
    let gone = render(FakeHost::macos());
    assert!(
        !alive.is_empty() && !gone.is_empty(),
        "{alive:?} / {gone:?}"
    );
    assert_ne!(alive, gone, "liveness must change what is said");
}

#[test]
fn fix_runs_see_instar_running_on_any_host() {
    // instar's lifeline holds .instar/lifeline.lock with its pid; on macOS nothing under /proc
    // could ever tell us it runs.
    let dir = agent();
    let state = dir.path().join(".instar");
    fs::write(
        state.join("lifeline.lock"),
        format!(r#"{{"pid": {FAKE_PID}}}"#),
    )
    .unwrap();
    let mac = FakeHost::macos().with_live_pid(FAKE_PID);
    assert_eq!(
        instar_runtime::instar_running(&state, &mac).map(|h| h.pid),
        Some(FAKE_PID)
    );
    assert_eq!(
        instar_runtime::instar_running(&state, &FakeHost::macos()),
        None
    );
    // And the real host: our own pid is alive, a pid nobody has is not.
    fs::write(
        state.join("lifeline.lock"),
        format!(r#"{{"pid": {}}}"#, std::process::id()),
    )
    .unwrap();
    assert_eq!(
        instar_runtime::instar_running(&state, &SystemHost).map(|h| h.pid),
        Some(std::process::id())
    );
    fs::write(
        state.join("lifeline.lock"),
        format!(r#"{{"pid": {FAKE_PID}}}"#),
    )
    .unwrap();
    assert_eq!(instar_runtime::instar_running(&state, &SystemHost), None);
}

#[test]
fn deep_gate_programs_are_looked_up_on_the_hosts_path() {
    let dir = agent();
    fs::write(
        dir.path().join(".instar/jobs.json"),
        r#"[{"slug": "check-mail", "name": "Check mail", "schedule": "0 9 * * *",
             "priority": "medium", "enabled": true, "execute": {"type": "prompt", "value": "hi"},
             "gate": "instar-fake-gate --quiet"}]"#,
    )
    .unwrap();
    let missing = findings(&context(dir.path(), FakeHost::macos(), true), "jobs");
    assert!(
        codes(&missing).contains(&"jobs/gate-program-missing"),
        "{:?}",
        codes(&missing)
    );
    let installed = FakeHost::macos().with_program("instar-fake-gate", "/opt/homebrew/bin/x");
    let found = findings(&context(dir.path(), installed, true), "jobs");
    assert!(
        !codes(&found).contains(&"jobs/gate-program-missing"),
        "{:?}",
        codes(&found)
    );
}

#[test]
fn deep_probes_run_through_the_host() {
    // A node link that exists but whose `--version` fails is fatal on macOS (launchd runs it).
    let dir = agent();
    let bin = dir.path().join(".instar/bin");
    fs::create_dir_all(&bin).unwrap();
    fs::write(bin.join("real-node"), "#!/bin/sh\n").unwrap();
    use std::os::unix::fs::PermissionsExt;
    fs::set_permissions(bin.join("real-node"), fs::Permissions::from_mode(0o755)).unwrap();
    std::os::unix::fs::symlink("real-node", bin.join("node")).unwrap();
    let link = bin.join("node").to_string_lossy().into_owned();

    let broken = FakeHost::macos().with_probe(&link, 1, b"", b"dyld: Library not loaded");
    let found = findings(&context(dir.path(), broken, true), "boot");
    let node_link: Vec<_> = found
        .iter()
        .filter(|d| d.code.id == "boot/node-link" && d.message.contains("--version"))
        .collect();
    assert_eq!(node_link.len(), 1, "{:?}", codes(&found));
    assert_eq!(node_link[0].effect.as_str(), "fatal");

    let working = FakeHost::macos().with_probe(&link, 0, b"v20.11.1\n", b"");
    let found = findings(&context(dir.path(), working, true), "boot");
    assert!(
        !found
            .iter()
            .any(|d| d.code.id == "boot/node-link" && d.message.contains("--version")),
        "{:?}",
        codes(&found)
    );
}

#[test]
fn the_platform_rules_follow_the_hosts_os() {
    let dir = agent();
    // A wrapper: an agent with no boot files at all is a healthy absence on both OSes.
    fs::write(dir.path().join(".instar/instar-boot.sh"), "#!/bin/sh\n").unwrap();
    let mac = context(dir.path(), FakeHost::macos(), false);
    let linux = context(dir.path(), FakeHost::linux(), false);
    assert_eq!(mac.host_os(), HostOs::MacOs);
    assert_eq!(linux.host_os(), HostOs::Linux);
    assert_eq!(
        mac.home_dir().as_deref(),
        Some(Path::new("/Users/operator"))
    );
    assert_eq!(mac.host().uid(), 501);
    // The same agent, judged under each OS's rules: the launchd plist only matters on macOS.
    let mac_codes = codes(&findings(&mac, "boot"));
    let linux_codes = codes(&findings(&linux, "boot"));
    assert_ne!(mac_codes, linux_codes, "{mac_codes:?}");
}

//! The machine area on a fake host (design §8 "The host is one seam"): launchd jobs, TCC
//! folders and live pids staged as a macOS machine on any runner, plus the per-user registry
//! cases no fixture tree can hold (absolute paths, lock ages, non-ASCII folder names).

use std::fs;
use std::path::{Path, PathBuf};

use instar_doctor::checks::machine;
use instar_doctor::diag::{Diagnostic, Severity, Sink};
use instar_doctor::engine::{self, Context, Selection};
use instar_doctor::host::FakeHost;
use instar_doctor::version::Version;

const HEAD: Version = Version::new(1, 3, 1186);
/// 2096: far after any file the test writes, so every lock and heartbeat looks old.
const NOW: i64 = 4_000_000_000;

/// A fake macOS home with `~/.instar` and `~/Library/LaunchAgents`.
struct Home {
    _tmp: tempfile::TempDir,
    home: PathBuf,
}

impl Home {
    fn new() -> Self {
        let tmp = tempfile::tempdir().unwrap();
        let home = fs::canonicalize(tmp.path()).unwrap();
        fs::create_dir_all(home.join(".instar/agents")).unwrap();
        fs::create_dir_all(home.join("Library/LaunchAgents")).unwrap();
        Home { _tmp: tmp, home }
    }

    fn agent(&self, rel: &str, name: &str, port: u32) -> PathBuf {
        let dir = self.home.join(rel);
        fs::create_dir_all(dir.join(".instar")).unwrap();
        fs::write(
            dir.join(".instar/config.json"),
            format!(r#"{{"projectName": "{name}", "port": {port}}}"#),
        )
        .unwrap();
        dir
    }

    fn plist(&self, label: &str, body: &str) {
        fs::write(
            self.home.join(format!("Library/LaunchAgents/{label}.plist")),
            format!("<?xml version=\"1.0\"?>\n<plist version=\"1.0\"><dict><key>Label</key><string>{label}</string>{body}</dict></plist>\n"),
        )
        .unwrap();
    }

    fn agent_plist(&self, label: &str, dir: &Path, ceiling: u32) {
        self.plist(
            label,
            &format!(
                "<key>ProgramArguments</key><array><string>/n</string><string>/w.cjs</string><string>server</string><string>--dir</string><string>{}</string></array><key>HardResourceLimits</key><dict><key>NumberOfProcesses</key><integer>{ceiling}</integer></dict>",
                dir.display()
            ),
        );
    }

    fn registry(&self, text: &str) {
        fs::write(self.home.join(".instar/registry.json"), text).unwrap();
    }

    fn host(&self) -> FakeHost {
        FakeHost::macos().with_home(&self.home)
    }

    fn cx(&self, dir: &Path, host: FakeHost, version: Version) -> Context {
        Context::at_version(dir.to_path_buf(), version, NOW).with_host(host)
    }

    /// `scan`'s view: every finding of the machine.
    fn scan(&self, host: FakeHost, agents: &[PathBuf]) -> Vec<Diagnostic> {
        let cx = self.cx(&self.home.join(".instar"), host, HEAD);
        let mut sink = Sink::default();
        machine::run_machine(&cx, agents, &mut sink);
        sink.into_vec()
    }

    /// One agent's check: only what concerns it.
    fn single(&self, host: FakeHost, dir: &Path) -> Vec<Diagnostic> {
        let cx = self.cx(dir, host, HEAD);
        let sel = Selection {
            select: vec!["machine".into()],
            ..Selection::default()
        };
        engine::run(&cx, &sel).diagnostics
    }
}

fn codes(found: &[Diagnostic]) -> Vec<(&'static str, Severity)> {
    found.iter().map(|d| (d.code.id, d.severity)).collect()
}

#[test]
fn a_healthy_machine_with_healthy_agents_has_no_finding() {
    let h = Home::new();
    let a = h.agent("projects/a", "a", 4040);
    let b = h.agent(".instar/agents/b", "b", 4041);
    h.registry(&format!(
        r#"{{"version": 1, "entries": [{{"name": "a", "path": "{}", "port": 4040}}, {{"name": "b", "path": "{}", "port": 4041}}, {{"name": "a-lifeline", "path": "{}-lifeline", "port": 5040}}]}}"#,
        a.display(), b.display(), a.display()
    ));
    h.agent_plist("ai.instar.a", &a, 2048);
    h.plist("ai.instar.watchdog", &format!(
        "<key>ProgramArguments</key><array><string>/bin/bash</string><string>{}</string></array><key>EnvironmentVariables</key><dict><key>PATH</key><string>/usr/bin</string></dict>",
        h.home.join(".instar/agents").display()
    ));
    assert_eq!(codes(&h.scan(h.host(), &[a.clone(), b])), []);
    assert_eq!(codes(&h.single(h.host(), &a)), []);
}

#[test]
fn launchd_jobs_orphaned_shared_mislabelled_or_capped() {
    let h = Home::new();
    let a = h.agent("projects/a", "a", 4040);
    h.agent_plist("ai.instar.gone", &h.home.join("projects/gone"), 2048);
    h.agent_plist("ai.instar.a", &a, 512);
    h.agent_plist("ai.instar.old-a", &a, 1024);
    let found = h.scan(h.host(), std::slice::from_ref(&a));
    let got = codes(&found);
    assert!(
        got.contains(&("machine/launchd-orphan", Severity::Warning)),
        "{got:?}"
    ); // gone
    assert!(
        got.contains(&("machine/launchd-orphan", Severity::Error)),
        "{got:?}"
    ); // shared
    assert!(
        got.contains(&("machine/process-ceiling", Severity::Error)),
        "{got:?}"
    ); // 512
    assert!(
        got.contains(&("machine/process-ceiling", Severity::Warning)),
        "{got:?}"
    ); // 1024
       // On Linux there is no launchd: nothing of this is looked at.
    let linux = FakeHost::linux().with_home(&h.home);
    assert_eq!(codes(&h.scan(linux, &[a])), []);
}

#[test]
fn a_label_that_is_not_the_agents_name_is_a_leftover() {
    let h = Home::new();
    let a = h.agent("projects/a", "renamed", 4040);
    h.agent_plist("ai.instar.a", &a, 2048);
    let found = h.scan(h.host(), std::slice::from_ref(&a));
    assert_eq!(
        codes(&found),
        [("machine/launchd-orphan", Severity::Warning)]
    );
    assert!(
        found[0].message.contains("ai.instar.renamed"),
        "{}",
        found[0].message
    );
}

#[test]
fn a_watchdog_on_a_temp_script_or_without_path_is_broken() {
    let h = Home::new();
    h.plist("ai.instar.watchdog", "<key>ProgramArguments</key><array><string>/bin/bash</string><string>/private/var/folders/x/instar-watchdog.sh</string></array>");
    assert_eq!(
        codes(&h.scan(h.host(), &[])),
        [("machine/watchdog-broken", Severity::Warning)]
    );
    let script = h.home.join(".instar/instar-watchdog.sh");
    fs::write(&script, "#!/bin/bash\n").unwrap();
    h.plist("ai.instar.watchdog", &format!("<key>ProgramArguments</key><array><string>/bin/bash</string><string>{}</string></array>", script.display()));
    let found = h.scan(h.host(), &[]);
    assert_eq!(
        codes(&found),
        [("machine/watchdog-broken", Severity::Warning)]
    );
    assert!(found[0].message.contains("PATH"));
}

#[test]
fn an_agent_under_documents_with_a_launchd_job_is_an_error_from_macos_26() {
    let h = Home::new();
    let a = h.agent("Documents/agent", "docs", 4040);
    h.agent_plist("ai.instar.docs", &a, 2048);
    let mut tahoe = h.host();
    tahoe.os_version = Some("25.1.0".into());
    assert_eq!(
        codes(&h.single(tahoe, &a)),
        [("machine/tcc-protected", Severity::Error)]
    );
    // macOS 14 (Darwin 23): a warning.
    assert_eq!(
        codes(&h.single(h.host(), &a)),
        [("machine/tcc-protected", Severity::Warning)]
    );
    // Without a launchd job nothing is spawned by launchd there.
    fs::remove_file(h.home.join("Library/LaunchAgents/ai.instar.docs.plist")).unwrap();
    assert_eq!(codes(&h.single(h.host(), &a)), []);
}

#[test]
fn registry_zombies_blocked_ports_and_a_stale_lock() {
    let h = Home::new();
    let a = h.agent("projects/a", "a", 4040);
    h.registry(&format!(
        r#"{{"version": 1, "entries": [{{"name": "a", "path": "{}", "port": 4040}}, {{"name": "old", "path": "{}", "port": 4045}}]}}"#,
        a.display(),
        h.home.join("projects/deleted").display()
    ));
    fs::create_dir_all(h.home.join(".instar/registry.json.lock")).unwrap();
    let found = h.scan(h.host(), std::slice::from_ref(&a));
    assert_eq!(
        codes(&found),
        [
            ("machine/registry-zombie", Severity::Warning),
            ("machine/registry-lock-stale", Severity::Info),
            ("machine/fetch-blocked-port", Severity::Error),
        ]
    );
    // Agent a's own check: the zombie and the foreign reservation are not its business, the
    // registry lock it writes through is.
    assert_eq!(
        codes(&h.single(h.host(), &a)),
        [("machine/registry-lock-stale", Severity::Info)]
    );
}

#[test]
fn a_running_agent_missing_from_the_registry_depends_on_the_version() {
    let h = Home::new();
    let a = h.agent("projects/a", "a", 4040);
    h.registry(r#"{"version": 1, "entries": []}"#);
    fs::create_dir_all(a.join(".instar/local")).unwrap();
    fs::write(
        a.join(".instar/local/server-instance.lock"),
        r#"{"pid": 9000001, "hostname": "Operators-MacBook-Pro.local", "heartbeat": 1}"#,
    )
    .unwrap();
    // Not alive: nothing to say.
    assert_eq!(codes(&h.single(h.host(), &a)), []);
    let live = h.host().with_live_pid(9_000_001);
    let old = Version::new(1, 3, 200);
    let cx = h.cx(&a, live.clone(), old);
    let sel = Selection {
        select: vec!["machine".into()],
        ..Selection::default()
    };
    assert_eq!(
        codes(&engine::run(&cx, &sel).diagnostics),
        [("machine/unregistered", Severity::Warning)]
    );
    assert_eq!(
        codes(&h.single(live, &a)),
        [("machine/unregistered", Severity::Info)]
    );
}

#[test]
fn foreign_spawn_holders_with_a_dead_pid_and_an_old_heartbeat() {
    let h = Home::new();
    fs::write(
        h.home.join(".instar/host-spawn-holders.json"),
        r#"{"version": 1, "holders": [
            {"id": "x", "pid": 9000002, "hostname": "mac.lan", "heartbeat": 1000},
            {"id": "y", "pid": 9000003, "hostname": "Operators-MacBook-Pro.local", "heartbeat": 1000},
            {"id": "z", "pid": 9000004, "hostname": "mac.lan", "heartbeat": 3999999990000}
        ]}"#,
    )
    .unwrap();
    let found = h.scan(h.host(), &[]);
    assert_eq!(
        codes(&found),
        [("machine/foreign-spawn-holder", Severity::Warning)]
    );
    assert_eq!(found[0].pointer, Some("/holders/0".into()));
    // The same file on a network home: another host's holder may be alive, so nothing is said.
    let shared = h.host().with_remote(&h.home);
    assert_eq!(codes(&h.scan(shared, &[])), []);
}

#[test]
fn a_path_with_a_space_breaks_only_old_instar() {
    let h = Home::new();
    let a = h.agent("my projects/zoë", "a", 4040);
    let old = h.cx(&a, h.host(), Version::new(0, 28, 44));
    let sel = Selection {
        select: vec!["machine".into()],
        ..Selection::default()
    };
    assert_eq!(
        codes(&engine::run(&old, &sel).diagnostics),
        [("machine/path-needs-encoding", Severity::Warning)]
    );
    assert_eq!(codes(&h.single(h.host(), &a)), []);
}

#[test]
fn a_registry_that_does_not_parse_concerns_every_agent() {
    let h = Home::new();
    let a = h.agent("projects/a", "a", 4040);
    h.registry("{\"version\": 1, \"entries\": [");
    assert_eq!(
        codes(&h.single(h.host(), &a)),
        [("machine/registry-corrupt", Severity::Error)]
    );
}

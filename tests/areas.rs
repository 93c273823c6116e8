//! Named tests for the hooks, runtime and state areas: what no fixture tree can show (a fake
//! host: live pids, xattrs, `--deep` probes) and the "healthy is true" rule for the files a
//! fresh agent carries in these areas.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use instar_doctor::engine::{self, Context, Selection};
use instar_doctor::host::FakeHost;
use instar_doctor::version::Version;

const HEAD: Version = Version::new(1, 3, 1186);
const NOW: i64 = 1_795_000_000;

fn write(path: &Path, text: &str) {
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    fs::write(path, text).unwrap();
}

fn context(project: &Path, version: Version, deep: bool, host: FakeHost) -> Context {
    Context::at_version(project.to_path_buf(), version, NOW)
        .with_deep(deep)
        .with_host(host)
}

/// "code severity effect" of every finding of one area.
fn findings(cx: &Context, area: &str) -> Vec<String> {
    let selection = Selection {
        select: vec![area.to_string()],
        ignore: vec![],
    };
    engine::run(cx, &selection)
        .diagnostics
        .iter()
        .map(|d| format!("{} {} {}", d.code.id, d.severity, d.effect.as_str()))
        .collect()
}

fn agent(dir: &Path) -> std::path::PathBuf {
    let project = dir.join("agent");
    write(
        &project.join(".instar/config.json"),
        "{\"projectName\": \"agent\", \"port\": 4041}",
    );
    project
}

/// The hooks part of what `instar init` leaves at 1.3.1186, in our own words: a `"type":
/// "module"` project, every canonical guardrail on disk and wired, ESM-safe hook bodies, and
/// skills that name the port through `${INSTAR_PORT:-<port>}`.
fn fresh_hooks(project: &Path) {
    write(
        &project.join("package.json"),
        "{\"name\": \"agent\", \"type\": \"module\"}",
    );
    let mut entries = Vec::new();
    for name in instar_doctor::checks::hooks::GUARDRAILS {
        let body = if name.ends_with(".sh") {
            "#!/bin/bash\nexit 0\n"
        } else {
            "(async () => {\n  const fs = await import('node:fs');\n  process.exit(fs ? 0 : 1);\n})();\n"
        };
        write(&project.join(format!(".instar/hooks/instar/{name}")), body);
        let runner = if name.ends_with(".sh") {
            "bash"
        } else {
            "node"
        };
        entries.push(serde_json::json!({
            "type": "command",
            "command": format!("{runner} ${{CLAUDE_PROJECT_DIR}}/.instar/hooks/instar/{name}"),
        }));
    }
    let settings = serde_json::json!({
        "hooks": {"PreToolUse": [{"matcher": "Bash", "hooks": entries}]}
    });
    write(
        &project.join(".claude/settings.json"),
        &serde_json::to_string_pretty(&settings).unwrap(),
    );
    write(
        &project.join(".claude/skills/status/SKILL.md"),
        "curl http://localhost:${INSTAR_PORT:-4041}/health\n",
    );
    fs::create_dir_all(project.join(".instar/hooks/custom")).unwrap();
    fs::create_dir_all(project.join(".claude/scripts")).unwrap();
}

#[test]
fn a_fresh_agents_hooks_are_healthy() {
    let dir = tempfile::tempdir().unwrap();
    let project = agent(dir.path());
    fresh_hooks(&project);
    let cx = context(&project, HEAD, false, FakeHost::linux());
    assert_eq!(findings(&cx, "hooks"), Vec::<String>::new());
}

/// hooks/syntax-error needs `--deep` and a node that rejects the file: a fake host's probe.
#[test]
fn deep_node_check_reports_a_hook_that_does_not_parse() {
    let dir = tempfile::tempdir().unwrap();
    let project = agent(dir.path());
    write(
        &project.join(".instar/hooks/instar/stop-gate.js"),
        "(async () => {\n})();\n})();\n",
    );
    let rejecting = FakeHost::linux().with_probe(
        "node",
        1,
        b"",
        b"stop-gate.js:3\n})();\n^\n\nSyntaxError: Unexpected token '}'\n",
    );
    // Not without --deep: nothing is spawned.
    let cx = context(&project, HEAD, false, rejecting.clone());
    assert_eq!(findings(&cx, "hooks"), Vec::<String>::new());
    let cx = context(&project, HEAD, true, rejecting);
    assert_eq!(findings(&cx, "hooks"), ["hooks/syntax-error error silent"]);
    // A host without node answers nothing, and nothing is reported.
    let cx = context(&project, HEAD, true, FakeHost::linux());
    assert_eq!(findings(&cx, "hooks"), Vec::<String>::new());
}

#[allow(dead_code)]
fn make_executable(path: &Path) {
    fs::set_permissions(path, fs::Permissions::from_mode(0o755)).unwrap();
}

/// A shadow install of `version` with its CLI.
fn shadow(project: &Path, version: &str) {
    let dir = project.join(".instar/shadow-install/node_modules/instar");
    write(
        &dir.join("package.json"),
        &format!("{{\"name\": \"instar\", \"version\": \"{version}\"}}"),
    );
    write(&dir.join("dist/cli.js"), "// stand-in\n");
}

/// runtime/lifeline-stale needs a live pid: only a fake host has one to order.
#[test]
fn a_live_lifeline_on_older_code_is_stale_and_a_dead_one_is_not() {
    let dir = tempfile::tempdir().unwrap();
    let project = agent(dir.path());
    shadow(&project, "1.3.1186");
    write(
        &project.join(".instar/lifeline-started-at.json"),
        "{\"startedAt\": \"2026-08-20T10:00:00.000Z\", \"pid\": 4242, \"version\": \"1.2.30\"}",
    );
    let live = FakeHost::linux().with_live_pid(4242);
    let cx = context(&project, HEAD, false, live.clone());
    assert_eq!(
        findings(&cx, "runtime"),
        ["runtime/lifeline-stale warning silent"]
    );
    let cx = context(&project, HEAD, false, FakeHost::linux());
    assert_eq!(findings(&cx, "runtime"), Vec::<String>::new());
    // Same major.minor, another patch: the server accepts its forwards.
    write(
        &project.join(".instar/lifeline-started-at.json"),
        "{\"pid\": 4242, \"version\": \"1.3.1100\"}",
    );
    let cx = context(&project, HEAD, false, live);
    assert_eq!(findings(&cx, "runtime"), Vec::<String>::new());
}

/// runtime/quarantine-xattr is a macOS rule read through the host's xattr seam.
#[test]
fn the_quarantine_attribute_on_the_cli_is_reported_on_macos_only() {
    let dir = tempfile::tempdir().unwrap();
    let project = agent(dir.path());
    shadow(&project, "1.3.1186");
    let cli = project.join(".instar/shadow-install/node_modules/instar/dist/cli.js");
    let mac = FakeHost::macos().with_xattr(&cli, "com.apple.quarantine");
    let cx = context(&project, HEAD, false, mac);
    assert_eq!(
        findings(&cx, "runtime"),
        ["runtime/quarantine-xattr warning silent"]
    );
    let mut linux = FakeHost::linux().with_xattr(&cli, "com.apple.quarantine");
    linux.home_dir = None;
    let cx = context(&project, HEAD, false, linux);
    assert_eq!(findings(&cx, "runtime"), Vec::<String>::new());
    let cx = context(&project, HEAD, false, FakeHost::macos());
    assert_eq!(findings(&cx, "runtime"), Vec::<String>::new());
}

/// state/stale-socket: git cannot store a socket, so one is bound here. Fatal on the versions
/// that could not bind over it, info before and after, and nothing while a server is alive.
#[test]
fn a_leftover_listener_socket_is_fatal_only_where_instar_cannot_bind_over_it() {
    let dir = tempfile::tempdir().unwrap();
    let project = agent(dir.path());
    let _socket =
        std::os::unix::net::UnixListener::bind(project.join(".instar/listener.sock")).unwrap();
    let at = |v: Version, host: FakeHost| findings(&context(&project, v, false, host), "state");
    assert_eq!(
        at(Version::new(1, 2, 4), FakeHost::linux()),
        ["state/stale-socket error fatal"]
    );
    assert_eq!(
        at(Version::new(1, 3, 95), FakeHost::linux()),
        ["state/stale-socket error fatal"]
    );
    assert_eq!(
        at(HEAD, FakeHost::linux()),
        ["state/stale-socket info none"]
    );
    assert_eq!(
        at(Version::new(1, 2, 3), FakeHost::linux()),
        ["state/stale-socket info none"]
    );
    write(
        &project.join(".instar/local/server-instance.lock"),
        "{\"pid\": 777, \"hostname\": \"build-01\", \"heartbeat\": 1795000000000}",
    );
    assert_eq!(
        at(Version::new(1, 2, 4), FakeHost::linux().with_live_pid(777)),
        Vec::<String>::new()
    );
}

/// state/rebase-stuck: fixtures cannot carry a `.git` folder.
#[test]
fn a_repository_stuck_mid_rebase_is_reported() {
    let dir = tempfile::tempdir().unwrap();
    let project = agent(dir.path());
    fs::create_dir_all(project.join(".git")).unwrap();
    let cx = context(&project, HEAD, false, FakeHost::linux());
    assert_eq!(findings(&cx, "state"), Vec::<String>::new());
    fs::create_dir_all(project.join(".git/rebase-merge")).unwrap();
    assert_eq!(
        findings(&cx, "state"),
        ["state/rebase-stuck warning silent"]
    );
}

/// The foreign-host rule never fires for a live pid, a fresh heartbeat or this host's name.
#[test]
fn a_foreign_host_lock_is_left_alone_while_anything_says_it_may_be_live() {
    let dir = tempfile::tempdir().unwrap();
    let project = agent(dir.path());
    let lock = project.join(".instar/local/server-instance.lock");
    let old = (NOW - 3600) * 1000;
    write(
        &lock,
        &format!("{{\"pid\": 4242, \"hostname\": \"old.lan\", \"heartbeat\": {old}}}"),
    );
    let run = |host: FakeHost| findings(&context(&project, HEAD, false, host), "state");
    assert_eq!(
        run(FakeHost::linux()),
        ["state/instance-lock-foreign-host error fatal"]
    );
    assert_eq!(
        run(FakeHost::linux().with_live_pid(4242)),
        Vec::<String>::new()
    );
    let fresh = (NOW - 60) * 1000;
    write(
        &lock,
        &format!("{{\"pid\": 4242, \"hostname\": \"old.lan\", \"heartbeat\": {fresh}}}"),
    );
    assert_eq!(run(FakeHost::linux()), Vec::<String>::new());
    write(
        &lock,
        &format!("{{\"pid\": 4242, \"hostname\": \"build-01\", \"heartbeat\": {old}}}"),
    );
    assert_eq!(run(FakeHost::linux()), Vec::<String>::new());
}

/// A lifeline lock without startedAt whose pid is alive: a warning, never a removal.
#[test]
fn a_legacy_lifeline_lock_held_by_a_live_pid_is_a_warning() {
    let dir = tempfile::tempdir().unwrap();
    let project = agent(dir.path());
    write(&project.join(".instar/lifeline.lock"), "{\"pid\": 4242}");
    let cx = context(&project, HEAD, false, FakeHost::linux().with_live_pid(4242));
    assert_eq!(
        findings(&cx, "state"),
        ["state/lifeline-lock warning silent"]
    );
    let cx = context(&project, HEAD, false, FakeHost::linux());
    assert_eq!(findings(&cx, "state"), Vec::<String>::new());
}

/// state/oversized-log: a file's size comes from its metadata (a sparse file costs no disk and
/// is never read); a warning only below the version that stopped reading it whole.
#[test]
fn oversized_logs_warn_only_before_instar_reads_them_in_pieces() {
    let dir = tempfile::tempdir().unwrap();
    let project = agent(dir.path());
    let runs = project.join(".instar/ledger/job-runs.jsonl");
    write(&runs, "");
    let file = fs::OpenOptions::new().write(true).open(&runs).unwrap();
    file.set_len(9 << 20).unwrap();
    let at = |v: Version| findings(&context(&project, v, false, FakeHost::linux()), "state");
    assert_eq!(at(Version::new(1, 3, 645)), Vec::<String>::new());
    file.set_len(11 << 20).unwrap();
    assert_eq!(
        at(Version::new(1, 3, 645)),
        ["state/oversized-log warning silent"]
    );
    assert_eq!(
        at(Version::new(1, 3, 646)),
        ["state/oversized-log info none"]
    );
    assert_eq!(at(HEAD), ["state/oversized-log info none"]);
}

/// A version-2 git index listing `paths`, as git writes it (fixtures cannot carry `.git`).
fn git_index(paths: &[&str]) -> Vec<u8> {
    let mut out = b"DIRC".to_vec();
    out.extend_from_slice(&2u32.to_be_bytes());
    out.extend_from_slice(&(paths.len() as u32).to_be_bytes());
    for path in paths {
        let start = out.len();
        out.extend_from_slice(&[0u8; 40]);
        out.extend_from_slice(&[0xab; 20]);
        out.extend_from_slice(&(path.len() as u16).to_be_bytes());
        out.extend_from_slice(path.as_bytes());
        let len = out.len() - start;
        out.resize(start + ((len + 8) & !7), 0);
    }
    out.extend_from_slice(&[0u8; 20]);
    out
}

/// state/identity-tracked-by-git: only a tracked file with the key in the clear is an error; an
/// encrypted identity or an untracked one is not, and the key never reaches the message.
#[test]
fn a_plaintext_agent_identity_tracked_by_git_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let project = agent(dir.path());
    let identity = project.join(".instar/identity.json");
    let plaintext = "{\"publicKey\": \"abc\", \"privateKey\": \"PLAINTEXT-KEY-BYTES\", \"privateKeyEncryption\": \"none\"}";
    write(&identity, plaintext);
    fs::create_dir_all(project.join(".git")).unwrap();
    fs::write(project.join(".git/index"), git_index(&["README.md"])).unwrap();
    let cx = || context(&project, HEAD, false, FakeHost::linux());
    assert_eq!(findings(&cx(), "state"), Vec::<String>::new());
    fs::write(
        project.join(".git/index"),
        git_index(&[".instar/identity.json", "README.md"]),
    )
    .unwrap();
    assert_eq!(
        findings(&cx(), "state"),
        ["state/identity-tracked-by-git error none"]
    );
    let report = engine::run(&cx(), &Selection::default());
    assert!(report
        .diagnostics
        .iter()
        .all(|d| !d.message.contains("PLAINTEXT-KEY-BYTES")));
    write(
        &identity,
        "{\"publicKey\": \"abc\", \"privateKey\": \"c2VhbGVk\", \"privateKeyEncryption\": \"keychain\"}",
    );
    assert_eq!(findings(&cx(), "state"), Vec::<String>::new());
}

/// state/pool-home-not-ready: the three flags are read from the home's .claude.json (`~` is the
/// host's home); a warning before instar seeds them, info after, nothing once all are true.
#[test]
fn pool_homes_without_onboarding_flags_are_reported_by_version() {
    let dir = tempfile::tempdir().unwrap();
    let project = agent(dir.path());
    let home = dir.path().join("home");
    write(
        &project.join(".instar/subscription-pool.json"),
        "{\"version\": 1, \"accounts\": [{\"id\": \"a\", \"framework\": \"claude-code\", \"configHome\": \"~/.claude-a\"}]}",
    );
    let claude = home.join(".claude-a/.claude.json");
    write(
        &claude,
        "{\"hasCompletedOnboarding\": true, \"bypassPermissionsModeAccepted\": true, \"oauthAccount\": {}}",
    );
    let mut host = FakeHost::linux();
    host.home_dir = Some(home.clone());
    let at = |v: Version| findings(&context(&project, v, false, host.clone()), "state");
    assert_eq!(
        at(Version::new(1, 3, 466)),
        ["state/pool-home-not-ready warning silent"]
    );
    assert_eq!(at(HEAD), ["state/pool-home-not-ready info none"]);
    write(
        &claude,
        "{\"hasCompletedOnboarding\": true, \"bypassPermissionsModeAccepted\": true, \"hasTrustDialogAccepted\": true}",
    );
    assert_eq!(at(Version::new(1, 3, 466)), Vec::<String>::new());
    // A home that is gone has no credentials either: a warning at every version.
    fs::remove_dir_all(home.join(".claude-a")).unwrap();
    assert_eq!(at(HEAD), ["state/pool-home-not-ready warning silent"]);
}

/// state/semantic-quarantine: one old quarantine is info; a second makes it churn (warning).
#[test]
fn one_semantic_quarantine_is_info_and_two_are_churn() {
    let dir = tempfile::tempdir().unwrap();
    let project = agent(dir.path());
    write(&project.join(".instar/semantic.db"), "");
    write(
        &project.join(".instar/semantic.db.corrupt.1781000000000"),
        "",
    );
    let cx = || context(&project, HEAD, false, FakeHost::linux());
    assert_eq!(
        findings(&cx(), "state"),
        ["state/semantic-quarantine info none"]
    );
    write(
        &project.join(".instar/semantic.db.corrupt.1781000600000"),
        "",
    );
    assert_eq!(
        findings(&cx(), "state"),
        ["state/semantic-quarantine warning silent"]
    );
}

/// state/resume-queue-paused: a recent pause, or one with nothing waiting, is an operator's stop.
#[test]
fn a_recent_or_empty_paused_resume_queue_is_left_alone() {
    let dir = tempfile::tempdir().unwrap();
    let project = agent(dir.path());
    let queue = project.join(".instar/state/resume-queue.json");
    let v = Version::new(1, 3, 500);
    let run = || findings(&context(&project, v, false, FakeHost::linux()), "state");
    // NOW - 30 min.
    let recent = instar_doctor::machine::iso_seconds(NOW - 1800);
    write(
        &queue,
        &format!("{{\"version\": 1, \"paused\": true, \"pausedAt\": \"{recent}\", \"entries\": [{{\"status\": \"queued\"}}]}}"),
    );
    assert_eq!(run(), Vec::<String>::new());
    let old = instar_doctor::machine::iso_seconds(NOW - 7200);
    write(
        &queue,
        &format!("{{\"version\": 1, \"paused\": true, \"pausedAt\": \"{old}\", \"entries\": [{{\"status\": \"done\"}}]}}"),
    );
    assert_eq!(run(), Vec::<String>::new());
    write(
        &queue,
        &format!("{{\"version\": 1, \"paused\": true, \"pausedAt\": \"{old}\", \"entries\": [{{\"status\": \"starting\"}}]}}"),
    );
    assert_eq!(run(), ["state/resume-queue-paused warning silent"]);
}

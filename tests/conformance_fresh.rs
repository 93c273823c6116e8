//! "A fresh agent is healthy" (design §8): agents shaped like what instar 1.3.1186's own
//! `instar init` writes — a new project, `--standalone`, inside an existing repository, and a
//! project after `instar pair` — load cleanly in instar, so the doctor reports no error and no
//! warning on them, except the one true positive: standalone init writes config.json with the
//! default mode (0644 under umask 022) and a plaintext authToken.
//!
//! The trees are our own files, written from reading init.ts, MachineIdentity.ts,
//! InstallBuiltinJobs.ts, ContextHierarchy.ts, SecretMigrator.ts and PairingSessionStore.ts at
//! v1.3.1186: the same paths, modes and shapes, our own text. The default jobs come from
//! tests/testdata/init-1.3.1186-default-jobs.json. Absolute paths (init bakes the project folder
//! into config.json) and the binaries init detected are made real in a temporary folder.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use instar_doctor::diag::Severity;
use instar_doctor::engine::{self, Context, Selection};
use instar_doctor::host::FakeHost;
use instar_doctor::version::Version;

const HEAD: Version = Version::new(1, 3, 1186);
/// 2026-11-18: after every timestamp the trees hold.
const NOW: i64 = 1_795_000_000;

/// spec §6.5's throwaway test vectors (not anyone's keys), with their identity values.
const SIGNING_PEM: &str = "-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEIJzufkNno/3DuEXQUdjVk8fS5j8DuoIRIjGg2S0T+fI3\n-----END PRIVATE KEY-----\n";
const SIGNING_PUBLIC: &str = "MCowBQYDK2VwAyEAGZZDi+T5ZvWOOj267mwbWGnqQCocNxpj0Qb6I/2CrnA=";
const ENCRYPTION_PEM: &str = "-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VuBCIEIDBEW00gyVveQo8f4PI44iPtRFrZ70XJM4b26hzNV2Rt\n-----END PRIVATE KEY-----\n";
const ENCRYPTION_PUBLIC: &str = "MCowBQYDK2VuAyEAl+vGf+WUEusq8I8BO+LTGvwoXpk6NngAKrP7p7IDpGY=";
const MACHINE_ID: &str = "m_5d0c3b1a29f84e7d9c6b5a4f3e2d1c0b";

#[derive(Clone, Copy, PartialEq, Debug)]
enum Shape {
    /// `instar init my-agent`: initFreshProject.
    Project,
    /// `instar init --standalone my-agent`: initStandaloneAgent.
    Standalone,
    /// `instar init` inside an existing git repository: initExistingProject.
    ExistingRepo,
    /// `instar init my-agent`, then `instar pair` (startPairing: migrateSecrets + the session).
    Paired,
}

fn write(path: &Path, text: &str, mode: u32) {
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    fs::write(path, text).unwrap();
    fs::set_permissions(path, fs::Permissions::from_mode(mode)).unwrap();
}

fn json(value: &serde_json::Value) -> String {
    // init writes JSON.stringify(value, null, 2), without a final newline.
    serde_json::to_string_pretty(value).unwrap()
}

fn default_jobs() -> serde_json::Value {
    let text = fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/testdata/init-1.3.1186-default-jobs.json"),
    )
    .unwrap();
    let doc: serde_json::Value = serde_json::from_str(&text).unwrap();
    doc["jobs"].clone()
}

/// Builds the tree `shape` leaves in `project` (umask 022: files 0644 unless init says otherwise).
fn build(shape: Shape, project: &Path) {
    let state = project.join(".instar");
    let bin = project.join("bin");
    // The binaries init detected (ensurePrerequisites) exist on the machine it ran on.
    for tool in ["tmux", "claude"] {
        write(&bin.join(tool), "#!/bin/sh\n", 0o755);
    }
    let name = "my-agent";
    let port = 4041;
    let p = |rel: &str| state.join(rel).to_string_lossy().into_owned();

    if shape == Shape::ExistingRepo {
        // The user's repository, before init.
        write(&project.join(".gitignore"), "node_modules/\ndist/\n", 0o644);
        write(&project.join("README.md"), "# an existing project\n", 0o644);
    }

    for (file, text) in [
        ("AGENT.md", "# my-agent\n\nOur stand-in identity file.\n"),
        ("USER.md", "# User\n"),
        ("MEMORY.md", "# Memory\n"),
        ("soul.md", "# Soul\n"),
        ("state/soul.init.md", "# Soul\n"),
    ] {
        if shape != Shape::ExistingRepo || !file.ends_with("soul.md") {
            write(&state.join(file), text, 0o644);
        }
    }

    let sessions = serde_json::json!({
        "projectName": name,
        "tmuxPath": bin.join("tmux"),
        "claudePath": bin.join("claude"),
        "projectDir": project,
        "maxSessions": 10,
        "protectedSessions": [format!("{name}-server")],
        "completionPatterns": ["has been automatically paused", "Session ended", "Interrupted by user"]
    });
    let trust = |floor: &str, elevate: bool| {
        serde_json::json!({
            "enabled": true, "sentinel": {"enabled": true}, "services": {}, "readOnlyServices": [],
            "trust": {"floor": floor, "autoElevateEnabled": elevate, "elevationThreshold": 5}
        })
    };
    let project_config = |scheduler_on: bool, floor: &str, elevate: bool| {
        serde_json::json!({
            "projectName": name,
            "port": port,
            "sessions": sessions,
            "scheduler": {
                "jobsFile": p("jobs.json"), "enabled": scheduler_on, "maxParallelJobs": 2,
                "quotaThresholds": {"normal": 50, "elevated": 70, "critical": 85, "shutdown": 95}
            },
            "users": [],
            "messaging": [],
            "monitoring": {"quotaTracking": false, "memoryMonitoring": true, "healthCheckIntervalMs": 30000},
            "authToken": "FIXTURE-SECRET-3b9e4c1a-7d2f-4e8a-9c6b-1f0e2d3c4b5a",
            "relationships": {"relationshipsDir": p("relationships"), "maxRecentInteractions": 20},
            "feedback": {
                "enabled": true,
                "webhookUrl": "https://feedback.dawn-tunnel.dev/api/feedback",
                "feedbackFile": p("feedback.json"),
                "sharedSecret": "FIXTURE-SECRET-shared"
            },
            "dispatches": {
                "enabled": true,
                "dispatchUrl": "https://dawn.bot-me.ai/api/instar/dispatches",
                "dispatchFile": p("state/dispatches.json"),
                "autoApply": false
            },
            "updates": {"autoApply": true},
            "safety": {"level": 1, "alwaysBlock": ["rm -rf /", "rm -rf ~"]},
            "externalOperations": trust(floor, elevate),
            "tunnel": {"enabled": true, "type": "quick"},
            "threadline": {"relayEnabled": false, "visibility": "public", "capabilities": ["chat"]},
            "enabledFrameworks": ["claude-code"]
        })
    };

    match shape {
        Shape::Project | Shape::Paired => {
            // Fresh projects run the scheduler (enabled: true) and write config.json 0600.
            let config = project_config(true, "collaborative", true);
            write(&state.join("config.json"), &json(&config), 0o600);
        }
        Shape::ExistingRepo => {
            // Existing projects start with the scheduler off and a supervised trust floor.
            let config = project_config(false, "supervised", false);
            write(&state.join("config.json"), &json(&config), 0o600);
        }
        Shape::Standalone => {
            let config = serde_json::json!({
                "projectName": name,
                "projectDir": project,
                "port": port,
                "agentType": "standalone",
                "sessions": {
                    "tmuxPath": bin.join("tmux"),
                    "claudePath": bin.join("claude"),
                    "maxSessions": 10,
                    "protectedSessions": [format!("{name}-server")]
                },
                "scheduler": {"enabled": true, "maxParallelJobs": 2},
                "messaging": [],
                "monitoring": {"quotaTracking": true, "memoryMonitoring": true, "healthCheckIntervalMs": 30000},
                "authToken": "FIXTURE-SECRET-8c1d2e3f-4a5b-4c6d-8e7f-9a0b1c2d3e4f",
                "externalOperations": trust("collaborative", true),
                "tunnel": {"enabled": true, "type": "quick"},
                "enabledFrameworks": ["claude-code"]
            });
            // No mode: 0644. The one true positive of a fresh agent.
            write(&state.join("config.json"), &json(&config), 0o644);
        }
    }

    let jobs = if shape == Shape::Standalone {
        serde_json::json!([])
    } else {
        default_jobs()
    };
    write(&state.join("jobs.json"), &json(&jobs), 0o644);
    write(&state.join("users.json"), "[]", 0o644);
    // ManifestIntegrity.ensureKey (a local HMAC key) and the version marker.
    write(&state.join("state/manifest-signing.key"), "00", 0o600);
    write(
        &state.join("state/last-migrated-version.json"),
        "{\"version\":\"1.3.1186\",\"migratedAt\":\"2026-08-23T09:00:00.000Z\"}",
        0o644,
    );

    if shape != Shape::Standalone {
        // ContextHierarchy.initialize: the segment files and the dispatch table.
        for segment in [
            "identity",
            "safety",
            "project",
            "session",
            "relationships",
            "development",
            "deployment",
            "communication",
            "architecture",
            "research-navigation",
            "conversational-actions",
        ] {
            write(
                &state.join(format!("context/{segment}.md")),
                "# segment\n",
                0o644,
            );
        }
        write(
            &state.join("context/DISPATCH.md"),
            "# Context Dispatch Table\n",
            0o644,
        );
    }

    if matches!(shape, Shape::Project | Shape::Paired) {
        // installBuiltinJobs: agentmd bodies under jobs/instar/ and their per-slug manifests.
        for (slug, schedule, priority, minutes) in [
            ("health-check", "*/5 * * * *", "critical", 1),
            ("identity-review", "0 3 * * *", "medium", 5),
        ] {
            write(
                &state.join(format!("jobs/instar/{slug}.md")),
                &format!("---\nexpectedDurationMinutes: {minutes}\nmodel: haiku\n---\n\nOur stand-in body for {slug}.\n"),
                0o644,
            );
            let manifest = serde_json::json!({
                "slug": slug, "origin": "instar", "schedule": schedule, "priority": priority,
                "expectedDurationMinutes": minutes, "enabled": true,
                "execute": {"type": "agentmd"}, "manifestVersion": 1, "model": "haiku"
            });
            write(
                &state.join(format!("jobs/schedule/{slug}.json")),
                &json(&manifest),
                0o644,
            );
        }
    }

    // .gitignore, then ensureGitignore's block (standalone passes the state dir to it).
    let machine_block = "\n# Machine secrets (NEVER commit)\n.instar/machine/signing-key.pem\n.instar/machine/encryption-key.pem\n.instar/secrets/\n.instar/pairing/\n# Sandbox-safe worktrees (per-machine; multi-GB foreign-repo contents)\n.worktrees/\n# Judgment-call provenance rows (machine-local decision context — never commit)\nstate/judgment-provenance/\n";
    match shape {
        Shape::Project | Shape::Paired => write(
            &project.join(".gitignore"),
            &format!(".instar/state/\n.instar/logs/\n.instar/config.json\n\n.instar/cartographer/\n\nnode_modules/\n{machine_block}"),
            0o644,
        ),
        Shape::ExistingRepo => write(
            &project.join(".gitignore"),
            &format!("node_modules/\ndist/\n\n# Instar per-machine state (sessions, logs, secrets)\n.instar/state/\n.instar/logs/\n.instar/config.json\n{machine_block}"),
            0o644,
        ),
        Shape::Standalone => {
            write(
                &project.join(".gitignore"),
                "# Runtime state\n.instar/state/\n.instar/logs/\n.instar/*.tmp\n\n# Secrets\n.instar/config.json\n.instar/machine/\n.instar/secrets/\n\n# Backups (local only)\n.instar/backups/\n\n# Derived data\n.instar/memory.db\n.instar/memory.db-*\n\n# Claude Code\n.claude/projects/\n.claude/todos/\n",
                0o644,
            );
            write(&state.join(".gitignore"), machine_block.trim_start(), 0o644);
        }
    }

    // generateIdentity: keys 0600 (writeSecureFile), identity.json and registry.json 0644, this
    // machine registered awake with a nickname (v1.3.92 on).
    write(&state.join("machine/signing-key.pem"), SIGNING_PEM, 0o600);
    write(
        &state.join("machine/encryption-key.pem"),
        ENCRYPTION_PEM,
        0o600,
    );
    let identity = serde_json::json!({
        "machineId": MACHINE_ID,
        "signingPublicKey": SIGNING_PUBLIC,
        "encryptionPublicKey": ENCRYPTION_PUBLIC,
        "name": "build-host",
        "platform": "linux-x64",
        "createdAt": "2026-08-23T09:00:00.000Z",
        "capabilities": ["sessions", "jobs", "telegram", "tunnel"]
    });
    write(
        &state.join("machine/identity.json"),
        &json(&identity),
        0o644,
    );
    let registry = serde_json::json!({
        "version": 1,
        "machines": {
            MACHINE_ID: {
                "name": "build-host", "nickname": "Build Host", "status": "active",
                "role": "awake", "pairedAt": "2026-08-23T09:00:00.001Z",
                "lastSeen": "2026-08-23T09:00:00.001Z"
            }
        }
    });
    write(
        &state.join("machines/registry.json"),
        &json(&registry),
        0o644,
    );

    if shape == Shape::Paired {
        // migrateSecrets moves authToken into the encrypted store and leaves a placeholder
        // (config.json keeps its 0600); the store's master key is a file on Linux.
        let path = state.join("config.json");
        let mut config: serde_json::Value =
            serde_json::from_str(&fs::read_to_string(&path).unwrap()).unwrap();
        config["authToken"] = serde_json::json!({"secret": true});
        write(&path, &(json(&config) + "\n"), 0o600);
        write(&state.join("secrets/config.secrets.enc"), "opaque", 0o600);
        write(&state.join("machine/secrets-master.key"), "00", 0o600);
        write(
            &state.join("machine/pairing-session.json"),
            "{\n  \"code\": \"FIXTURE-SECRET-CODE\",\n  \"createdAt\": 1787475600000,\n  \"failedAttempts\": 0,\n  \"maxAttempts\": 5,\n  \"expiryMs\": 600000,\n  \"consumed\": false\n}",
            0o600,
        );
    }
}

/// Every finding at warning or above, as "severity code message".
fn alarms(shape: Shape) -> Vec<String> {
    alarms_on(shape, None)
}

/// The same, on the given host (a fake macOS machine), or on this one.
fn alarms_on(shape: Shape, host: Option<FakeHost>) -> Vec<String> {
    let dir = tempfile::tempdir().unwrap();
    let project = dir.path().join("my-agent");
    build(shape, &project);
    let mut cx = Context::at_version(project.clone(), HEAD, NOW);
    if let Some(host) = host {
        cx = cx.with_host(host);
    }
    let report = engine::run(&cx, &Selection::default());
    report
        .diagnostics
        .iter()
        .filter(|d| d.severity >= Severity::Warning)
        .map(|d| format!("{} {} {}", d.severity.as_str(), d.code.id, d.message))
        .collect()
}

#[test]
fn a_fresh_project_is_healthy() {
    assert_eq!(alarms(Shape::Project), Vec::<String>::new());
}

#[test]
fn a_fresh_agent_inside_an_existing_repository_is_healthy() {
    assert_eq!(alarms(Shape::ExistingRepo), Vec::<String>::new());
}

#[test]
fn a_fresh_project_after_instar_pair_is_healthy() {
    assert_eq!(alarms(Shape::Paired), Vec::<String>::new());
}

/// The one true positive: standalone init leaves the plaintext authToken readable by others.
#[test]
fn a_fresh_standalone_agent_has_only_the_config_permission_warning() {
    let found = alarms(Shape::Standalone);
    assert_eq!(found.len(), 1, "{found:#?}");
    assert!(found[0].starts_with("warning config/"), "{found:#?}");
    assert!(
        found[0].contains("0644") || found[0].contains("644"),
        "{found:#?}"
    );
}

/// init writes no boot wrapper and no launchd job on macOS either (the server and `instar
/// autostart` do, later): an agent never set up to start at login is not broken.
#[test]
fn a_fresh_project_on_macos_is_healthy() {
    for shape in [Shape::Project, Shape::ExistingRepo, Shape::Paired] {
        assert_eq!(
            alarms_on(shape, Some(FakeHost::macos())),
            Vec::<String>::new(),
            "{shape:?}"
        );
    }
}

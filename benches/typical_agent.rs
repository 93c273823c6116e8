//! Benchmark: a full check (every check of the table) of a typical agent — about 30 jobs shaped
//! like a real agent's, machine identity and keys, a registry, a full config.json and the boot
//! wrappers — against Node's bare start-up time (`node -e 0`).
//!
//! Target (issue #4): the full check takes at most a tenth of `node -e 0`. The agent is our own
//! fixture, built here in a temporary folder (nothing is copied from instar's samples).
//!
//! Run: `cargo bench --bench typical_agent` (add `-- --quick` for fewer rounds).

use std::path::Path;
use std::process::Command;
use std::time::Instant;

use instar_doctor::checks::boot::template;
use instar_doctor::engine::{self, Context, Selection};
use instar_doctor::version::{VersionSource, NEWEST_KNOWN};

fn job(i: usize) -> String {
    let schedule = [
        "*/15 * * * *",
        "0 */4 * * *",
        "0 9 * * MON-FRI",
        "30 22 * * *",
        "0 1,7,13,19 * * *",
        "@daily",
    ][i % 6];
    let priority = ["critical", "high", "medium", "low"][i % 4];
    let model = ["haiku", "sonnet", "opus"][i % 3];
    format!(
        r#"  {{
    "slug": "routine-{i:02}",
    "name": "Routine number {i}",
    "description": "Reviews the agent's state and reports anything unusual (part {i}).",
    "schedule": "{schedule}",
    "priority": "{priority}",
    "expectedDurationMinutes": {duration},
    "model": "{model}",
    "enabled": {enabled},
    "execute": {{
      "type": "prompt",
      "value": "Check the health of the agent.\nLook at the logs, the queue and the last sessions; summarise in three lines and escalate \"only\" real problems."
    }},
    "grounding": {{
      "requiresIdentity": true,
      "processesExternalInput": false,
      "contextFiles": ["AGENT.md", "MEMORY.md"],
      "questions": ["What changed since the last run?"]
    }},
    "tags": ["health", "routine"],
    "telegramNotify": "on-alert"
  }}"#,
        duration = 5 + i % 20,
        enabled = !i.is_multiple_of(7),
    )
}

const SIGNING_PEM: &str = "-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEIJzufkNno/3DuEXQUdjVk8fS5j8DuoIRIjGg2S0T+fI3\n-----END PRIVATE KEY-----\n";
const ENCRYPTION_PEM: &str = "-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VuBCIEIDBEW00gyVveQo8f4PI44iPtRFrZ70XJM4b26hzNV2Rt\n-----END PRIVATE KEY-----\n";

fn write(path: &Path, text: &str) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

fn build_agent(project: &Path) {
    let s = project.join(".instar");
    let jobs: Vec<String> = (0..30).map(job).collect();
    write(&s.join("jobs.json"), &format!("[\n{}\n]", jobs.join(",\n")));
    let id = "m_0123456789abcdef0123456789abcdef";
    write(
        &s.join("machine/identity.json"),
        &format!(
            r#"{{
  "machineId": "{id}",
  "signingPublicKey": "MCowBQYDK2VwAyEAGZZDi+T5ZvWOOj267mwbWGnqQCocNxpj0Qb6I/2CrnA=",
  "encryptionPublicKey": "MCowBQYDK2VuAyEAl+vGf+WUEusq8I8BO+LTGvwoXpk6NngAKrP7p7IDpGY=",
  "name": "bench-mac",
  "platform": "darwin-arm64",
  "createdAt": "2026-05-01T10:00:00.000Z",
  "capabilities": ["sessions", "jobs", "telegram"]
}}"#
        ),
    );
    write(&s.join("machine/signing-key.pem"), SIGNING_PEM);
    write(&s.join("machine/encryption-key.pem"), ENCRYPTION_PEM);
    write(
        &s.join("machines/registry.json"),
        &format!(
            r#"{{
  "version": 1,
  "machines": {{
    "{id}": {{"name": "bench-mac", "status": "active", "role": "awake", "pairedAt": "2026-05-01T10:00:00.000Z", "lastSeen": "2026-11-24T11:59:00.000Z"}}
  }}
}}"#
        ),
    );
    let p = project.display();
    write(
        &s.join("config.json"),
        &format!(
            r#"{{
  "projectName": "bench-agent",
  "port": 4041,
  "sessions": {{
    "tmuxPath": "/bin/sh",
    "claudePath": "/bin/sh",
    "projectDir": "{p}",
    "maxSessions": 10,
    "protectedSessions": ["bench-agent-server"],
    "completionPatterns": ["has been automatically paused", "Session ended", "Interrupted by user"]
  }},
  "scheduler": {{
    "jobsFile": "{p}/.instar/jobs.json",
    "enabled": true,
    "maxParallelJobs": 2,
    "quotaThresholds": {{ "normal": 50, "elevated": 70, "critical": 85, "shutdown": 95 }}
  }},
  "users": [],
  "messaging": [
    {{ "type": "telegram", "enabled": true, "config": {{ "token": "123456:BENCH-SECRET", "chatId": "-1001234567890", "authorizedUserIds": [11223344], "lifelineTopicId": 2 }} }}
  ],
  "monitoring": {{ "quotaTracking": false, "memoryMonitoring": true, "healthCheckIntervalMs": 30000, "watchdog": {{ "enabled": true }} }},
  "authToken": "6f1c2b0e-3d4a-4f7e-9b8c-2a1d0e9f7c55",
  "dashboardPin": "482913",
  "relationships": {{ "relationshipsDir": "{p}/.instar/relationships", "maxRecentInteractions": 20 }},
  "feedback": {{ "enabled": true, "webhookUrl": "https://feedback.dawn-tunnel.dev/api/feedback", "feedbackFile": "{p}/.instar/feedback.json", "sharedSecret": "bench" }},
  "updates": {{ "autoApply": true }},
  "safety": {{ "level": 1, "alwaysBlock": ["rm -rf /"] }},
  "tunnel": {{ "enabled": true, "type": "quick" }},
  "multiMachine": {{ "enabled": true, "autoFailover": true, "failoverTimeoutMinutes": 15, "coordinationMode": "primary-standby" }},
  "contextSigningKey": "9d2f6c1e0b7a4d3c8e5f1a2b3c4d5e6f7a8b9c0d1e2f3a4b5c6d7e8f9a0b1c2d",
  "_instar_migrations": ["defaults-unknown-2026-04-12T03:10:44.210Z"]
}}"#
        ),
    );
    write(
        &s.join("instar-boot.cjs"),
        &template::node_wrapper(&s, NEWEST_KNOWN),
    );
    write(
        &s.join("instar-boot.sh"),
        &template::sh_wrapper(&s, NEWEST_KNOWN),
    );
    write(
        &s.join("shadow-install/node_modules/instar/dist/cli.js"),
        "",
    );
    std::fs::create_dir_all(s.join("bin")).unwrap();
    std::os::unix::fs::symlink("/bin/sh", s.join("bin/node")).unwrap();
    write(&s.join("AGENT.md"), "# Bench agent\n");
    write(&s.join("MEMORY.md"), "# Memory\n");
    // The modes instar's own writers leave on a healthy agent.
    use std::os::unix::fs::PermissionsExt;
    for (name, mode) in [
        ("machine/signing-key.pem", 0o600),
        ("machine/encryption-key.pem", 0o600),
        ("config.json", 0o600),
        ("instar-boot.cjs", 0o755),
        ("instar-boot.sh", 0o755),
    ] {
        std::fs::set_permissions(s.join(name), std::fs::Permissions::from_mode(mode)).unwrap();
    }
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    v[v.len() / 2]
}

/// A context on the agent with nothing read yet.
fn fresh_context(dir: &Path) -> Context {
    let mut cx = Context::at_version(dir.to_path_buf(), NEWEST_KNOWN, 1_795_000_000);
    // No --instar-version, as a plain run: the shadow install's version is read too.
    cx.version_source = VersionSource::Default;
    cx
}

fn main() {
    let quick = std::env::args().any(|a| a == "--quick");
    let rounds = if quick { 20 } else { 200 };
    let dir = tempfile::tempdir().unwrap();
    build_agent(dir.path());

    let mut doctor = Vec::with_capacity(rounds);
    let mut per_check = std::collections::BTreeMap::<&str, Vec<f64>>::new();
    let mut findings = 0;
    let mut codes = std::collections::BTreeMap::<&str, usize>::new();
    for _ in 0..rounds {
        let started = Instant::now();
        // A fresh context each round: every file is read and parsed again.
        let cx = fresh_context(dir.path());
        let report = engine::run(&cx, &Selection::default());
        doctor.push(started.elapsed().as_secs_f64() * 1000.0);
        for check in &report.checks {
            per_check
                .entry(check.id)
                .or_default()
                .push(check.duration_ms);
        }
        findings = report.diagnostics.len();
        codes.clear();
        for d in &report.diagnostics {
            *codes.entry(d.code.id).or_default() += 1;
        }
    }
    let doctor_ms = median(doctor);
    // The checks the preflight runs (those that can stop instar's boot), in process.
    let boot_checks = Selection {
        select: instar_doctor::preflight::CAN_STOP_BOOT
            .iter()
            .map(|id| id.to_string())
            .collect(),
        ignore: Vec::new(),
    };
    let mut boot_only = Vec::with_capacity(rounds);
    for _ in 0..rounds {
        let started = Instant::now();
        let mut cx = fresh_context(dir.path());
        cx.fatal_only = true;
        engine::run(&cx, &boot_checks);
        boot_only.push(started.elapsed().as_secs_f64() * 1000.0);
    }
    let boot_only_ms = median(boot_only);
    println!("full check of a typical agent: {doctor_ms:.3} ms (median of {rounds}; {findings} findings)");
    for (code, n) in &codes {
        println!("  {n:>3} {code}");
    }
    println!("the preflight's checks only (in process): {boot_only_ms:.3} ms (median of {rounds})");
    println!("per check (median ms):");
    for (id, times) in per_check {
        println!("  {id:<9} {:.3}", median(times));
    }

    let mut node = Vec::new();
    for _ in 0..if quick { 3 } else { 10 } {
        let started = Instant::now();
        match Command::new("node").args(["-e", "0"]).status() {
            Ok(status) if status.success() => node.push(started.elapsed().as_secs_f64() * 1000.0),
            _ => break,
        }
    }
    if node.is_empty() {
        println!("node is not installed: the comparison with `node -e 0` is skipped");
        return;
    }
    let node_ms = median(node);
    let ratio = doctor_ms / node_ms;
    println!("node -e 0: {node_ms:.3} ms (median)");
    println!(
        "ratio: {ratio:.3} of node's start-up (target: at most 0.100) — {}",
        if ratio <= 0.1 { "met" } else { "NOT MET" }
    );

    // `preflight` sits in front of every boot, so it is timed as the supervisor sees it: a whole
    // process, record write (fsynced) included. Target: under 5 ms. The floor, timed in turn
    // with it, is the same binary doing nothing (`--version`): process start-up and exit.
    let mut preflight = Vec::new();
    let mut floor = Vec::new();
    for _ in 0..if quick { 10 } else { 50 } {
        let started = Instant::now();
        let status = Command::new(env!("CARGO_BIN_EXE_instar-doctor"))
            .arg("--version")
            .stdout(std::process::Stdio::null())
            .status()
            .expect("the doctor runs");
        assert!(status.success());
        floor.push(started.elapsed().as_secs_f64() * 1000.0);
        let started = Instant::now();
        let status = Command::new(env!("CARGO_BIN_EXE_instar-doctor"))
            .args(["preflight", "--dir"])
            .arg(dir.path())
            .env("INSTAR_DOCTOR_NOW", "2026-11-18T10:00:00Z")
            .status()
            .expect("the doctor runs");
        assert!(status.success(), "a healthy agent passes the preflight");
        preflight.push(started.elapsed().as_secs_f64() * 1000.0);
    }
    let preflight_ms = median(preflight);
    let floor_ms = median(floor);
    println!(
        "preflight (whole process): {preflight_ms:.3} ms (median); {:.3} of node -e 0; target under 5 ms — {}",
        preflight_ms / node_ms,
        if preflight_ms < 5.0 { "met" } else { "NOT MET" }
    );
    println!(
        "floor, instar-doctor --version (whole process): {floor_ms:.3} ms (median); the preflight's own work: {:.3} ms",
        preflight_ms - floor_ms
    );
    // Of that work, the record: the same bytes replaced the same way (temp file, data ordered
    // before the rename, no folder sync), in process. It is bound by the disk, not by the doctor.
    let record = dir.path().join(".instar/doctor/preflight.json");
    let bytes = std::fs::read(&record).expect("the preflight left its record");
    let mut writes = Vec::new();
    for _ in 0..if quick { 10 } else { 50 } {
        let started = Instant::now();
        instar_doctor::write::write_atomic_record(
            &record, &bytes, 0o600, // the record is private, as write::PRIVATE_FILE_MODE
        )
        .expect("the record is written");
        writes.push(started.elapsed().as_secs_f64() * 1000.0);
    }
    println!(
        "of which the record write (data ordered, in process): {:.3} ms (median)",
        median(writes)
    );
}

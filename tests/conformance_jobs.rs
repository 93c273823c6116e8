//! Spec §11.1: every verdict of instar's JobLoader tests (and the spec's probes), checked against
//! the doctor. "accept" means no error finding; "reject" means an error finding whose code names
//! the rule, with the effect the loader has at that version.

use std::fs;

use instar_doctor::diag::Severity;
use instar_doctor::engine::{self, Context, Selection};
use instar_doctor::version::Version;

const OLD: Version = Version::new(0, 28, 44);
const HEAD: Version = Version::new(1, 3, 1186);

/// The base valid job of JobLoader.test.ts.
fn base() -> serde_json::Value {
    serde_json::json!({
        "slug": "test-job", "name": "Test Job", "description": "A test job",
        "schedule": "0 */4 * * *", "priority": "medium", "expectedDurationMinutes": 5,
        "model": "sonnet", "enabled": true, "execute": {"type": "skill", "value": "scan"}
    })
}

/// Error findings (code, effect) for a jobs.json with these bytes at `version`.
fn errors(jobs: &str, version: Version) -> Vec<(String, String)> {
    let dir = tempfile::tempdir().unwrap();
    fs::create_dir_all(dir.path().join(".instar")).unwrap();
    fs::write(dir.path().join(".instar/jobs.json"), jobs).unwrap();
    let cx = Context::at_version(dir.path().to_path_buf(), version, 1_795_000_000);
    let report = engine::run(&cx, &Selection::default());
    report
        .diagnostics
        .iter()
        .filter(|d| d.severity == Severity::Error)
        .map(|d| (d.code.id.to_string(), d.effect.as_str().to_string()))
        .collect()
}

fn with(edit: impl FnOnce(&mut serde_json::Map<String, serde_json::Value>)) -> String {
    let mut job = base();
    edit(job.as_object_mut().unwrap());
    serde_json::to_string(&serde_json::json!([job])).unwrap()
}

fn set(key: &str, value: serde_json::Value) -> String {
    with(|m| {
        m.insert(key.to_string(), value);
    })
}

fn remove(key: &str) -> String {
    with(|m| {
        m.remove(key);
    })
}

fn assert_accepts(jobs: &str) {
    for version in [OLD, HEAD] {
        let found = errors(jobs, version);
        assert!(
            found.is_empty(),
            "{jobs} should load at {version}: {found:?}"
        );
    }
}

fn assert_rejects(jobs: &str, code: &str) {
    for (version, effect) in [(OLD, "fatal"), (HEAD, "skipped")] {
        let found = errors(jobs, version);
        assert!(
            found.first() == Some(&(code.to_string(), effect.to_string())),
            "{jobs} at {version}: expected {code} ({effect}) first, got {found:?}"
        );
    }
}

#[test]
fn load_jobs_cases() {
    assert_accepts(&format!("[{}]", base()));
    assert_accepts("[]");
    assert_accepts(&format!(
        "[{}, {}]",
        base(),
        set("slug", "second".into()).trim_matches(['[', ']'])
    ));
    assert_accepts(&set("enabled", false.into()));
    // Missing file: empty list, an info at most.
    let dir = tempfile::tempdir().unwrap();
    fs::create_dir_all(dir.path().join(".instar")).unwrap();
    let cx = Context::at_version(dir.path().to_path_buf(), OLD, 0);
    // Only the jobs check: a missing config.json is the config check's (warning) business.
    let selection = Selection {
        select: vec!["jobs".into()],
        ignore: vec![],
    };
    let report = engine::run(&cx, &selection);
    assert!(report
        .diagnostics
        .iter()
        .all(|d| d.severity == Severity::Info));
    assert!(report
        .diagnostics
        .iter()
        .any(|d| d.code.id == "jobs/missing"));
}

#[test]
fn whole_file_failures_are_fatal_at_every_version() {
    for (jobs, code) in [
        ("{\"jobs\":[]}", "jobs/not-an-array"),
        ("null", "jobs/not-an-array"),
        ("\"text\"", "jobs/not-an-array"),
        ("", "jobs/parse-error"),
        ("\u{feff}[]", "jobs/parse-error"),
        ("[{\"slug\": ", "jobs/parse-error"),
    ] {
        for version in [OLD, HEAD] {
            let found = errors(jobs, version);
            assert_eq!(
                found.first(),
                Some(&(code.to_string(), "fatal".to_string())),
                "{jobs:?}"
            );
        }
    }
}

#[test]
fn one_invalid_entry_among_valid_ones() {
    let broken = serde_json::json!({"slug": "broken-job", "description": "d", "schedule": "0 * * * *", "enabled": true, "execute": {"type": "bash"}});
    let jobs = serde_json::to_string(&serde_json::json!([base(), broken, {"slug": "v2"}])).unwrap();
    let old = errors(&jobs, OLD);
    assert!(old.iter().all(|(_, e)| e == "fatal") && !old.is_empty());
    let head = errors(&jobs, HEAD);
    assert!(head.iter().all(|(_, e)| e == "skipped") && !head.is_empty());
}

#[test]
fn validate_job_rejections() {
    let cases: Vec<(String, &str)> = vec![
        ("[null]".into(), "jobs/entry-not-object"),
        ("[\"x\"]".into(), "jobs/entry-not-object"),
        ("[[]]".into(), "jobs/missing-field"),
        (remove("slug"), "jobs/missing-field"),
        (set("slug", "  ".into()), "jobs/missing-field"),
        (remove("name"), "jobs/missing-field"),
        (set("name", "".into()), "jobs/missing-field"),
        (remove("description"), "jobs/missing-field"),
        (remove("schedule"), "jobs/missing-field"),
        (set("slug", 5.into()), "jobs/missing-field"),
        (set("slug", "a.b".into()), "jobs/invalid-slug"),
        (set("slug", "a b".into()), "jobs/invalid-slug"),
        (set("slug", "x".repeat(101).into()), "jobs/invalid-slug"),
        (set("slug", "café".into()), "jobs/invalid-slug"),
        (set("slug", " a ".into()), "jobs/invalid-slug"),
        (set("priority", "urgent".into()), "jobs/invalid-priority"),
        (set("priority", "High".into()), "jobs/invalid-priority"),
        (remove("priority"), "jobs/invalid-priority"),
        (set("model", serde_json::Value::Null), "jobs/invalid-model"),
        (set("model", "gpt-4".into()), "jobs/invalid-model"),
        (set("model", "Opus".into()), "jobs/invalid-model"),
        (set("schedule", "not a cron".into()), "jobs/invalid-cron"),
        (set("schedule", " 0 * * * *".into()), "jobs/invalid-cron"),
        (
            set("schedule", "0 0 0 1 1 * 2030".into()),
            "jobs/invalid-cron",
        ),
        (set("enabled", "yes".into()), "jobs/invalid-enabled"),
        (set("enabled", "true".into()), "jobs/invalid-enabled"),
        (set("enabled", 1.into()), "jobs/invalid-enabled"),
        (remove("execute"), "jobs/invalid-execute"),
        (set("execute", "scan".into()), "jobs/invalid-execute"),
        (
            set("execute", serde_json::json!([])),
            "jobs/invalid-execute",
        ),
        (
            set(
                "execute",
                serde_json::json!({"type": "unknown", "value": "x"}),
            ),
            "jobs/invalid-execute",
        ),
        (
            set("execute", serde_json::json!({"type": "bash", "value": "x"})),
            "jobs/invalid-execute",
        ),
        (
            set(
                "execute",
                serde_json::json!({"type": "agentmd", "value": "x"}),
            ),
            "jobs/invalid-execute",
        ),
        (
            set("execute", serde_json::json!({"type": "skill", "value": ""})),
            "jobs/invalid-execute",
        ),
        (
            set(
                "execute",
                serde_json::json!({"type": "skill", "value": "  "}),
            ),
            "jobs/invalid-execute",
        ),
        (
            set("execute", serde_json::json!({"type": "skill"})),
            "jobs/invalid-execute",
        ),
        (
            set(
                "execute",
                serde_json::json!({"type": "skill", "value": "x", "args": 3}),
            ),
            "jobs/invalid-execute",
        ),
        (set("gate", 1.into()), "jobs/invalid-gate"),
        (
            set("telegramNotify", "always".into()),
            "jobs/invalid-telegram-notify",
        ),
        (
            set("telegramNotify", serde_json::Value::Null),
            "jobs/invalid-telegram-notify",
        ),
        (set("machines", "m_abc123".into()), "jobs/invalid-machines"),
        (
            set("machines", serde_json::json!(["m_abc123", ""])),
            "jobs/invalid-machines",
        ),
        (
            set("machines", serde_json::json!([123])),
            "jobs/invalid-machines",
        ),
        (set("grounding", "yes".into()), "jobs/invalid-grounding"),
        (
            set("grounding", serde_json::Value::Null),
            "jobs/invalid-grounding",
        ),
        (
            set("grounding", serde_json::json!({})),
            "jobs/invalid-grounding",
        ),
        (
            set("grounding", serde_json::json!({"requiresIdentity": "yes"})),
            "jobs/invalid-grounding",
        ),
        (
            set(
                "grounding",
                serde_json::json!({"requiresIdentity": true, "processesExternalInput": "true"}),
            ),
            "jobs/invalid-grounding",
        ),
        (
            set(
                "grounding",
                serde_json::json!({"requiresIdentity": true, "contextFiles": "file.md"}),
            ),
            "jobs/invalid-grounding",
        ),
        (
            set(
                "grounding",
                serde_json::json!({"requiresIdentity": true, "contextFiles": ["valid.md", ""]}),
            ),
            "jobs/invalid-grounding",
        ),
        (
            set(
                "grounding",
                serde_json::json!({"requiresIdentity": true, "contextFiles": [" "]}),
            ),
            "jobs/invalid-grounding",
        ),
        (
            set(
                "grounding",
                serde_json::json!({"requiresIdentity": true, "questions": "x"}),
            ),
            "jobs/invalid-grounding",
        ),
        (
            set(
                "grounding",
                serde_json::json!({"requiresIdentity": true, "questions": ["valid?", "  "]}),
            ),
            "jobs/invalid-grounding",
        ),
        (
            set("commonBlockers", serde_json::json!([])),
            "jobs/invalid-common-blockers",
        ),
        (
            set(
                "commonBlockers",
                serde_json::Value::Object(
                    (0..21)
                        .map(|i| {
                            (
                                format!("b{i}"),
                                serde_json::json!({"description": "d", "resolution": "r"}),
                            )
                        })
                        .collect(),
                ),
            ),
            "jobs/invalid-common-blockers",
        ),
        (
            set(
                "commonBlockers",
                serde_json::json!({"x": {"description": "d"}}),
            ),
            "jobs/invalid-common-blockers",
        ),
        (
            set(
                "commonBlockers",
                serde_json::json!({"x": {"description": "d", "resolution": "r", "status": "done"}}),
            ),
            "jobs/invalid-common-blockers",
        ),
        (
            set(
                "commonBlockers",
                serde_json::json!({"x": {"description": "d", "resolution": "r", "credentials": 1}}),
            ),
            "jobs/invalid-common-blockers",
        ),
        (
            set(
                "commonBlockers",
                serde_json::json!({"x": {"description": "d", "resolution": "r", "successCount": "1"}}),
            ),
            "jobs/invalid-common-blockers",
        ),
    ];
    for (jobs, code) in cases {
        assert_rejects(&jobs, code);
    }
}

#[test]
fn validate_job_acceptances() {
    let cases: Vec<String> = vec![
        set("slug", "x".repeat(100).into()),
        remove("model"),
        set("schedule", "0 0 0 * * *".into()),
        set("schedule", "@daily".into()),
        set("schedule", "2030-01-01T00:00:00".into()),
        set(
            "execute",
            serde_json::json!({"type": "skill", "value": "x", "args": "--a"}),
        ),
        remove("expectedDurationMinutes"),
        set("gate", "test -f x".into()),
        set("telegramNotify", "on-alert".into()),
        set("telegramNotify", true.into()),
        set(
            "machines",
            serde_json::json!(["m_abc123", "justins-macbook"]),
        ),
        set("machines", serde_json::json!([])),
        set("grounding", serde_json::json!({"requiresIdentity": false})),
        set(
            "grounding",
            serde_json::json!({"requiresIdentity": true, "processesExternalInput": true, "contextFiles": ["a.md"], "questions": ["Who?"]}),
        ),
        set(
            "commonBlockers",
            serde_json::json!({"x": {"description": "d", "resolution": "r", "status": "confirmed", "toolsNeeded": ["t"], "credentials": "C", "addedFrom": "a", "addedAt": "b", "confirmedAt": "c", "expiresAt": "d", "lastUsedAt": "e", "successCount": 1}}),
        ),
        // Not validated by instar (warnings at most).
        set("expectedDurationMinutes", "5".into()),
        set("expectedDurationMinutes", (-1).into()),
        set("tags", "x".into()),
        set("topicId", "12".into()),
        set("supervision", "tier9".into()),
        set("unknownKey", serde_json::json!({"anything": [1, 2]})),
    ];
    for jobs in cases {
        assert_accepts(&jobs);
    }
}

#[test]
fn duplicate_slugs_load_but_are_reported() {
    let jobs = format!("[{}, {}]", base(), base());
    assert!(errors(&jobs, HEAD).is_empty());
    let dir = tempfile::tempdir().unwrap();
    fs::create_dir_all(dir.path().join(".instar")).unwrap();
    fs::write(dir.path().join(".instar/jobs.json"), &jobs).unwrap();
    let cx = Context::at_version(dir.path().to_path_buf(), HEAD, 0);
    let report = engine::run(&cx, &Selection::default());
    assert!(report
        .diagnostics
        .iter()
        .any(|d| d.code.id == "jobs/duplicate-slug" && d.severity == Severity::Warning));
}

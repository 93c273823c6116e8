//! Differential cases: instar's verdict on our own agents at the tags on both sides of each rule
//! change, recorded in tests/testdata/instar-verdicts.json (read from instar's source at each
//! tag and from spec §3.9's probes of the real loaders). For each case the doctor must find the
//! recorded codes with the recorded `instar_effect`, none of the codes recorded absent, and call
//! a fatal jobs finding dormant exactly when instar's scheduler would not run.

use std::fs;
use std::path::Path;

use instar_doctor::engine::{self, Context, Selection};
use instar_doctor::version::Version;

fn cases() -> Vec<serde_json::Value> {
    let text = fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/testdata/instar-verdicts.json"),
    )
    .unwrap();
    let doc: serde_json::Value = serde_json::from_str(&text).unwrap();
    doc["cases"].as_array().unwrap().clone()
}

#[test]
fn the_doctor_agrees_with_instar_at_every_recorded_boundary() {
    let cases = cases();
    assert!(cases.len() >= 20, "the verdict table went missing");
    let mut disagreements = Vec::new();
    for case in &cases {
        let dir = tempfile::tempdir().unwrap();
        for (rel, content) in case["files"].as_object().unwrap() {
            let path = dir.path().join(rel);
            fs::create_dir_all(path.parent().unwrap()).unwrap();
            let text = match content {
                serde_json::Value::String(text) => text.clone(),
                other => serde_json::to_string_pretty(other).unwrap(),
            };
            fs::write(&path, text).unwrap();
        }
        let version: Version = case["instar"].as_str().unwrap().parse().unwrap();
        let cx = Context::at_version(dir.path().to_path_buf(), version, 1_795_000_000);
        let report = engine::run(&cx, &Selection::default());
        let mut found: Vec<(String, String)> = report
            .diagnostics
            .iter()
            .map(|d| (d.code.id.to_string(), d.effect.as_str().to_string()))
            .collect();
        let label = format!("{} at {}", case["name"].as_str().unwrap(), version);
        for want in case["expect"].as_array().unwrap() {
            let want = (
                want["code"].as_str().unwrap().to_string(),
                want["effect"].as_str().unwrap().to_string(),
            );
            match found.iter().position(|f| *f == want) {
                Some(at) => {
                    found.remove(at);
                }
                None => disagreements.push(format!("{label}: expected {want:?}, got {found:?}")),
            }
        }
        for code in case["absent"].as_array().unwrap() {
            if found.iter().any(|(c, _)| c == code.as_str().unwrap()) {
                disagreements.push(format!("{label}: {code} must not be reported"));
            }
        }
        if let Some(dormant) = case["dormant"].as_bool() {
            let said = report
                .diagnostics
                .iter()
                .filter(|d| d.code.id.starts_with("jobs/") && d.effect.as_str() == "fatal")
                .any(|d| d.help.iter().any(|h| h.contains("dormant")));
            if said != dormant {
                disagreements.push(format!("{label}: dormant should be {dormant}"));
            }
        }
    }
    assert!(disagreements.is_empty(), "{disagreements:#?}");
}

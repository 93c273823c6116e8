//! Every check over an agent whose state files come from the fuzzer: the first byte picks the
//! file, the rest is its content, on top of a small healthy agent. No check may crash (the
//! engine would report `crashed`, which is a doctor bug), and every span must lie inside its
//! file and on character boundaries where the file is text.
#![no_main]

use std::fs;

use instar_doctor::engine::{self, CheckStatus, Context, Selection};
use instar_doctor::version::Version;
use libfuzzer_sys::fuzz_target;

const FILES: &[&str] = &[
    "config.json",
    "jobs.json",
    "machine/identity.json",
    "machines/registry.json",
    "machine/signing-key.pem",
    "machine/encryption-key.pem",
    "instar-boot.sh",
    "instar-boot.js",
    "state/heartbeat.json",
    "state/lifeline.lock",
    "shadow-install/node_modules/instar/package.json",
    "machines/lease.json",
];

const VERSIONS: &[Version] = &[
    Version::new(0, 28, 44),
    Version::new(0, 28, 98),
    Version::new(1, 3, 92),
    Version::new(1, 3, 1186),
];

fuzz_target!(|data: &[u8]| {
    let Some((&pick, content)) = data.split_first() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join(".instar");
    fs::create_dir_all(state.join("machine")).unwrap();
    fs::create_dir_all(state.join("machines")).unwrap();
    fs::create_dir_all(state.join("state")).unwrap();
    fs::create_dir_all(state.join("shadow-install/node_modules/instar")).unwrap();
    fs::write(state.join("config.json"), br#"{"projectName": "fuzz", "port": 4040}"#).unwrap();
    fs::write(state.join("jobs.json"), b"[]").unwrap();
    let file = FILES[usize::from(pick) % FILES.len()];
    fs::write(state.join(file), content).unwrap();
    let version = VERSIONS[usize::from(pick / 16) % VERSIONS.len()];
    let cx = Context::at_version(dir.path().to_path_buf(), version, 1_795_000_000);
    let report = engine::run(&cx, &Selection::default());
    for check in &report.checks {
        assert_ne!(check.status, CheckStatus::Crashed, "{} crashed", check.id);
    }
    for d in &report.diagnostics {
        let (Some(span), Some(path)) = (&d.span, &d.file) else {
            continue;
        };
        if let Some(bytes) = cx.bytes_of(path) {
            assert!(span.start <= span.end && span.end <= bytes.len(), "{}: {span:?}", d.code.id);
        }
    }
});

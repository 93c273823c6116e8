//! The human report of whatever the checks find in a fuzzed state file, at a fuzzed width: never
//! a panic (labels far apart on one long line, control bytes, invalid UTF-8, a BOM).
#![no_main]

use std::fs;

use instar_doctor::diag::Severity;
use instar_doctor::engine::{self, Context, Selection};
use instar_doctor::render::human::{self, HumanOptions};
use instar_doctor::version::Version;
use libfuzzer_sys::fuzz_target;

const FILES: &[&str] = &["config.json", "jobs.json", "instar-boot.sh", "machines/registry.json"];

fuzz_target!(|data: &[u8]| {
    let Some((&pick, content)) = data.split_first() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join(".instar");
    fs::create_dir_all(state.join("machines")).unwrap();
    let file = FILES[usize::from(pick) % FILES.len()];
    fs::write(state.join(file), content).unwrap();
    let version = Version::new(1, 3, 1186);
    let cx = Context::at_version(dir.path().to_path_buf(), version, 1_795_000_000);
    let report = engine::run(&cx, &Selection::default());
    for (width, verbose) in [(usize::from(pick / 4) + 1, false), (100, true)] {
        let opts = HumanOptions {
            color: pick & 1 == 1,
            width,
            quiet: false,
            verbose,
            threshold: Severity::Info,
            hint: false,
            cwd: None,
            command: None,
        };
        let text = human::render(&cx, &report, &opts);
        // No raw escape byte from the file may reach the terminal.
        assert!(!text.contains('\u{1b}') || opts.color, "raw ESC in the report");
    }
});

//! Benchmark: the cost of findings. A jobs.json where every job has a finding (an invalid
//! `priority`, which carries an unsafe fix) at 1,000 and 10,000 jobs (and 100,000 with
//! `--full`); times the human report and `--diff --unsafe-fixes`, in process, against a floor
//! measured in the same run: a bare `serde_json::from_slice` into a `serde_json::Value` of the
//! same file.
//!
//! A linear renderer has a flat ms-per-finding column and a flat ratio to the floor; a
//! quadratic one (a line count from byte 0 per finding, a whole-file diff per fix) grows with
//! the size (issue #11).
//!
//! Run: `cargo bench --bench findings_scale` (`-- --quick` for 1,000 and 3,000 only, `-- --full`
//! to add 100,000). The corpora live in a temporary directory that is removed at the end.

use std::io::Write;
use std::path::Path;
use std::time::Instant;

use instar_doctor::diag::Severity;
use instar_doctor::engine::{self, Context, Selection};
use instar_doctor::render;
use instar_doctor::render::human::HumanOptions;
use instar_doctor::version::{VersionSource, NEWEST_KNOWN};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let sizes: &[usize] = if args.iter().any(|a| a == "--quick") {
        &[1_000, 3_000]
    } else if args.iter().any(|a| a == "--full") {
        &[1_000, 10_000, 100_000]
    } else {
        &[1_000, 10_000]
    };
    let dir = tempfile::tempdir().unwrap();
    for &jobs in sizes {
        let project = dir.path().join(format!("agent-{jobs}"));
        std::fs::create_dir_all(project.join(".instar")).unwrap();
        let path = project.join(".instar/jobs.json");
        write_corpus(&path, jobs);
        run(&project, &path, jobs);
        // Keep the shared disk clean as we go.
        std::fs::remove_dir_all(&project).unwrap();
    }
}

/// A job shaped like a real agent's (as in `jobs_large`), with a priority instar refuses.
fn job(i: usize) -> String {
    format!(
        r#"  {{
    "slug": "job-{i:06}",
    "name": "Job number {i}",
    "description": "Monitor the agent's health, part {i}.",
    "schedule": "*/15 * * * *",
    "priority": "urgent",
    "expectedDurationMinutes": {duration},
    "model": "haiku",
    "enabled": true,
    "execute": {{
      "type": "prompt",
      "value": "Check that the server responds (curl http://localhost:4042/health) and report issues plainly. Job {i}."
    }},
    "tags": ["cat:ops", "bench"]
  }}"#,
        duration = 1 + i % 9
    )
}

fn write_corpus(path: &Path, jobs: usize) {
    let mut out = std::io::BufWriter::new(std::fs::File::create(path).unwrap());
    out.write_all(b"[\n").unwrap();
    for i in 0..jobs {
        if i > 0 {
            out.write_all(b",\n").unwrap();
        }
        out.write_all(job(i).as_bytes()).unwrap();
    }
    out.write_all(b"\n]\n").unwrap();
}

/// Best of three for the cheap floor; the renders run once (they are the slow part).
fn run(project: &Path, path: &Path, jobs: usize) {
    let size = std::fs::metadata(path).unwrap().len();
    let floor = (0..3)
        .map(|_| {
            let started = Instant::now();
            let bytes = std::fs::read(path).unwrap();
            let value: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
            std::hint::black_box(&value);
            started.elapsed().as_secs_f64()
        })
        .fold(f64::MAX, f64::min);
    let cx = Context::new(
        project.to_path_buf(),
        NEWEST_KNOWN,
        Some(NEWEST_KNOWN),
        VersionSource::Flag,
        1_795_000_000,
        false,
    );
    let report = engine::run(
        &cx,
        &Selection {
            select: vec!["jobs".into()],
            ignore: vec![],
        },
    );
    let findings = report.diagnostics.len();
    let opts = HumanOptions {
        color: false,
        width: 100,
        quiet: false,
        verbose: false,
        threshold: Severity::Error,
        hint: false,
        cwd: None,
    };
    let started = Instant::now();
    let human = render::human::render(&cx, &report, &opts);
    let human_s = started.elapsed().as_secs_f64();
    std::hint::black_box(&human);
    let started = Instant::now();
    let (diff, shown) = render::diff::report_diff(&cx, &report, true);
    let diff_s = started.elapsed().as_secs_f64();
    std::hint::black_box(&diff);
    let per = |s: f64| s * 1e3 / findings.max(1) as f64;
    println!(
        "{jobs} jobs, {:.1} MB, {findings} findings | floor {:.0} ms | human {:.0} ms = {:.3} ms/finding ({:.1}x floor) | --diff ({shown} fixes) {:.0} ms = {:.3} ms/finding ({:.1}x floor)",
        size as f64 / 1e6,
        floor * 1e3,
        human_s * 1e3,
        per(human_s),
        human_s / floor,
        diff_s * 1e3,
        per(diff_s),
        diff_s / floor,
    );
}

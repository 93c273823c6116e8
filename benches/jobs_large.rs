//! Benchmark: the full jobs check of a 100,000-job jobs.json (about 75 MB) against a bare
//! `serde_json::from_slice::<serde_json::Value>` of the same bytes.
//!
//! Targets (issue #2): the doctor takes no longer than the bare parse, and its peak memory stays
//! under 2x the file's size. Each measurement runs in a fresh child process whose peak RSS the
//! driver reads from `wait4` as it reaps it (no `/proc`: the same on macOS and Linux).
//!
//! Run: `cargo bench --bench jobs_large` (add `-- --quick` for one round).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

#[path = "common/child.rs"]
mod child;

use instar_doctor::engine::{self, Context, Selection};
use instar_doctor::render;
use instar_doctor::version::NEWEST_KNOWN;

const JOBS: usize = 100_000;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    match args.get(1).map(String::as_str) {
        Some("child-serde") => child_serde(Path::new(&args[2])),
        Some("child-doctor") => child_doctor(Path::new(&args[2])),
        // Writes a corpus for profiling: `write PROJECT_DIR`.
        Some("write") => {
            let project = Path::new(&args[2]);
            std::fs::create_dir_all(project.join(".instar")).unwrap();
            write_corpus(&project.join(".instar/jobs.json"), Some(100));
        }
        _ => driver(args.iter().any(|a| a == "--quick")),
    }
}

/// A job shaped like a real agent's: long prompt with escapes, grounding, tags, a gate.
fn job(i: usize, invalid: bool) -> String {
    let priority = if invalid {
        "urgent"
    } else {
        ["critical", "high", "medium", "low"][i % 4]
    };
    let schedule = [
        "*/15 * * * *",
        "0 */4 * * *",
        "0 9 * * MON-FRI",
        "30 22 * * *",
        "0 1,7,13,19 * * *",
    ][i % 5];
    format!(
        r#"  {{
    "slug": "job-{i:06}",
    "name": "Job number {i}",
    "description": "Monitor the agent's health, part {i}.",
    "schedule": "{schedule}",
    "priority": "{priority}",
    "expectedDurationMinutes": {duration},
    "model": "haiku",
    "enabled": true,
    "execute": {{
      "type": "prompt",
      "value": "[NOTIFICATION PROTOCOL: quiet mode. Include \"[ATTENTION] reason\" only when actionable.]\n\nCheck that the server responds (curl http://localhost:4042/health) and report issues plainly. Job {i}."
    }},
    "gate": "test -f .instar/state/ready",
    "tags": ["cat:ops", "bench"],
    "telegramNotify": "on-alert",
    "grounding": {{
      "requiresIdentity": true,
      "questions": ["What does healthy look like?"]
    }}
  }}"#,
        duration = 1 + i % 9
    )
}

fn write_corpus(path: &Path, invalid_every: Option<usize>) {
    let mut out = std::io::BufWriter::new(std::fs::File::create(path).unwrap());
    out.write_all(b"[\n").unwrap();
    for i in 0..JOBS {
        if i > 0 {
            out.write_all(b",\n").unwrap();
        }
        let invalid = invalid_every.is_some_and(|n| i % n == n - 1);
        out.write_all(job(i, invalid).as_bytes()).unwrap();
    }
    out.write_all(b"\n]\n").unwrap();
}

fn child_serde(path: &Path) {
    let started = Instant::now();
    let bytes = std::fs::read(path).unwrap();
    let value: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
    let elapsed = started.elapsed().as_secs_f64();
    std::hint::black_box(&value);
    println!("{elapsed}");
}

fn child_doctor(project: &Path) {
    let started = Instant::now();
    let cx = Context::at_version(project.to_path_buf(), NEWEST_KNOWN, 1_795_000_000);
    let report = engine::run(
        &cx,
        &Selection {
            select: vec!["jobs".into()],
            ignore: vec![],
        },
    );
    let doc = render::json::document(&cx, &report, 0);
    let mut sink = std::io::BufWriter::new(std::io::sink());
    render::json::write(&doc, &mut sink).unwrap();
    sink.flush().unwrap();
    drop(sink);
    let elapsed = started.elapsed().as_secs_f64();
    println!("{elapsed} {}", report.diagnostics.len());
}

fn measure(mode: &str, arg: &Path, rounds: usize) -> (f64, u64, String) {
    let exe = std::env::current_exe().unwrap();
    let mut best = f64::MAX;
    let mut peak = 0;
    let mut extra = String::new();
    for _ in 0..rounds {
        let out = child::measure(Command::new(&exe).arg(mode).arg(arg));
        let mut parts = out.stdout.split_whitespace();
        let secs: f64 = parts
            .next()
            .and_then(|s| s.parse().ok())
            .expect("child reports its time");
        let rss = out.peak;
        extra = parts.next().unwrap_or("").to_string();
        best = best.min(secs);
        peak = peak.max(rss);
    }
    (best, peak, extra)
}

fn driver(quick: bool) {
    let rounds = if quick { 1 } else { 5 };
    let dir = tempfile::tempdir().unwrap();
    for (label, invalid_every) in [("valid", None), ("1% invalid", Some(100))] {
        let project: PathBuf = dir.path().join(label.replace(['%', ' '], "_"));
        std::fs::create_dir_all(project.join(".instar")).unwrap();
        let jobs = project.join(".instar/jobs.json");
        write_corpus(&jobs, invalid_every);
        let size = std::fs::metadata(&jobs).unwrap().len();
        let (serde_s, serde_rss, _) = measure("child-serde", &jobs, rounds);
        let (doc_s, doc_rss, findings) = measure("child-doctor", &project, rounds);
        println!(
            "{label}: {JOBS} jobs, {:.1} MB | serde_json::Value {:.0} ms, peak {:.0} MB ({:.1}x file) | doctor {:.0} ms, peak {:.0} MB ({:.2}x file), {findings} findings | doctor/serde time {:.2}",
            size as f64 / 1e6,
            serde_s * 1e3,
            serde_rss as f64 / 1e6,
            serde_rss as f64 / size as f64,
            doc_s * 1e3,
            doc_rss as f64 / 1e6,
            doc_rss as f64 / size as f64,
            doc_s / serde_s,
        );
        // The preflight sits in front of every boot: on the large agent it must stay within the
        // healthy check's budget. Both as whole processes, best of the rounds.
        if invalid_every.is_none() {
            let time_it = |args: &[&std::ffi::OsStr]| {
                (0..rounds)
                    .map(|_| {
                        let started = std::time::Instant::now();
                        Command::new(env!("CARGO_BIN_EXE_instar-doctor"))
                            .args(args)
                            .stdout(std::process::Stdio::null())
                            .stderr(std::process::Stdio::null())
                            .status()
                            .unwrap();
                        started.elapsed().as_secs_f64()
                    })
                    .fold(f64::MAX, f64::min)
            };
            let dir_arg = project.as_os_str();
            let check = time_it(&[
                "--dir".as_ref(),
                dir_arg,
                "--format".as_ref(),
                "json".as_ref(),
            ]);
            let preflight = time_it(&["preflight".as_ref(), "--dir".as_ref(), dir_arg]);
            println!(
                "{label}: preflight {:.0} ms vs the full check {:.0} ms (whole processes): {:.2}x",
                preflight * 1e3,
                check * 1e3,
                preflight / check
            );
        }
    }
}

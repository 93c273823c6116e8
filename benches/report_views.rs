//! Benchmark: the human views of a report with many findings (issues #11 and #14). A jobs.json
//! where every job has two findings (an invalid `priority` and a schedule with a trailing
//! space), at 10,000 and 100,000 jobs; times, in process, the default report (findings
//! collapsed after three per code and file), the full report (`-v`: as one string, and
//! written to a sink a finding at a time as the command writes it to stdout), `--format
//! concise` and `--statistics`, against a floor measured in the same run: a bare
//! `serde_json::from_slice` into a `serde_json::Value` of the same file.
//!
//! Run: `cargo bench --bench report_views` (`-- --quick` for 10,000 only). The corpora live in
//! a temporary directory that is removed as it goes.

use std::io::Write;
use std::path::Path;
use std::time::Instant;

use instar_doctor::diag::Severity;
use instar_doctor::engine::{self, Context, Selection};
use instar_doctor::render;
use instar_doctor::render::human::HumanOptions;
use instar_doctor::version::NEWEST_KNOWN;

fn main() {
    let quick = std::env::args().any(|a| a == "--quick");
    let sizes: &[usize] = if quick { &[10_000] } else { &[10_000, 100_000] };
    let dir = tempfile::tempdir().unwrap();
    for &jobs in sizes {
        let project = dir.path().join(format!("agent-{jobs}"));
        std::fs::create_dir_all(project.join(".instar")).unwrap();
        let path = project.join(".instar/jobs.json");
        write_corpus(&path, jobs);
        run(&project, &path, jobs);
        std::fs::remove_dir_all(&project).unwrap();
    }
}

fn write_corpus(path: &Path, jobs: usize) {
    let mut out = std::io::BufWriter::new(std::fs::File::create(path).unwrap());
    out.write_all(b"[\n").unwrap();
    for i in 0..jobs {
        if i > 0 {
            out.write_all(b",\n").unwrap();
        }
        write!(
            out,
            r#"  {{"slug": "job-{i:06}", "name": "Job {i}", "description": "Part {i}.", "schedule": "*/15 * * * * ", "priority": "urgent", "enabled": true, "execute": {{"type": "prompt", "value": "Check the health endpoint and report. Job {i}."}}}}"#
        )
        .unwrap();
    }
    out.write_all(b"\n]\n").unwrap();
}

fn time<T>(f: impl FnOnce() -> T) -> f64 {
    let started = Instant::now();
    std::hint::black_box(f());
    started.elapsed().as_secs_f64()
}

fn run(project: &Path, path: &Path, jobs: usize) {
    let size = std::fs::metadata(path).unwrap().len();
    let floor = (0..3)
        .map(|_| {
            time(|| {
                let bytes = std::fs::read(path).unwrap();
                serde_json::from_slice::<serde_json::Value>(&bytes).unwrap()
            })
        })
        .fold(f64::MAX, f64::min);
    let cx = Context::at_version(project.to_path_buf(), NEWEST_KNOWN, 1_795_000_000);
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
        command: None,
    };
    let verbose = HumanOptions {
        verbose: true,
        ..opts.clone()
    };
    let collapsed = time(|| render::human::render(&cx, &report, &opts));
    let full = time(|| render::human::render(&cx, &report, &verbose));
    // What the command does with it: written as it is drawn (here to a sink), never held whole.
    let streamed = time(|| render::human::write(&cx, &report, &verbose, &mut std::io::sink()));
    let concise = time(|| render::concise::render(&cx, &report, &opts));
    let statistics = time(|| render::concise::statistics(&cx, &report, &opts));
    let show = |name: &str, s: f64| {
        format!(
            "{name} {:.0} ms ({:.2}x floor, {:.4} ms/finding)",
            s * 1e3,
            s / floor,
            s * 1e3 / findings.max(1) as f64
        )
    };
    println!(
        "{jobs} jobs, {:.1} MB, {findings} findings | floor {:.0} ms | {} | {} | {} | {} | {}",
        size as f64 / 1e6,
        floor * 1e3,
        show("report", collapsed),
        show("report -v", full),
        show("report -v streamed", streamed),
        show("concise", concise),
        show("statistics", statistics),
    );
}

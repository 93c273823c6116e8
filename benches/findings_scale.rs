//! Benchmark: the cost of findings. A jobs.json where every job is broken (an invalid
//! `priority`: an error and an info finding per job, and an unsafe quarantine fix) at 1,000
//! and 10,000 jobs (and 100,000, about 47 MB, with `--full`). Each output runs as its own
//! `instar-doctor` process (the release binary): the human report, `--format json`, `sarif`,
//! `junit` and `github`, `--diff --unsafe-fixes`, and `--fix --unsafe-fixes` on a fresh copy;
//! each with its wall time and its own peak RSS (from `wait4`, so no `/proc`), against a floor
//! measured in the same run: a bare `serde_json::from_slice` of the same file into a
//! `serde_json::Value`, in a process of its own too.
//!
//! Issue #11's targets at 100,000 findings: every output within 3x the floor's time, and peak
//! memory under 2.5x the file's size. A linear output has a flat ms-per-finding column.
//!
//! Run: `cargo bench --bench findings_scale` (`-- --quick` for 1,000 only, `-- --full` to add
//! 100,000; `FINDINGS_SCALE_JOBS=100000` for given sizes, `FINDINGS_SCALE_ONLY=sarif,json` for
//! the outputs whose names hold one of these words). `-i --unsafe-fixes` runs in a
//! pseudo-terminal (python3's `pty`, skipped without python3) answering `a` at its first
//! question, so every quarantine is applied after one preview.
//! `INSTAR_DOCTOR_BIN=path/to/instar-doctor` times another build (an older one, for a before-and-after). The corpora live in a temporary
//! directory, removed as the run goes.

use std::io::Write;
use std::path::Path;
use std::process::Command;

#[path = "common/child.rs"]
mod child;

/// The binary under test: this build's, unless `INSTAR_DOCTOR_BIN` names another.
fn doctor() -> String {
    std::env::var("INSTAR_DOCTOR_BIN")
        .unwrap_or_else(|_| env!("CARGO_BIN_EXE_instar-doctor").to_string())
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) == Some("child-serde") {
        let bytes = std::fs::read(&args[2]).unwrap();
        let value: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
        std::hint::black_box(&value);
        return;
    }
    let sizes: Vec<usize> = if let Ok(list) = std::env::var("FINDINGS_SCALE_JOBS") {
        list.split(',')
            .map(|n| {
                n.trim()
                    .parse()
                    .expect("FINDINGS_SCALE_JOBS: job counts, comma-separated")
            })
            .collect()
    } else if args.iter().any(|a| a == "--quick") {
        vec![1_000]
    } else if args.iter().any(|a| a == "--full") {
        vec![1_000, 10_000, 100_000]
    } else {
        vec![1_000, 10_000]
    };
    let dir = tempfile::tempdir().unwrap();
    for jobs in sizes {
        let project = dir.path().join(format!("agent-{jobs}"));
        std::fs::create_dir_all(project.join(".instar")).unwrap();
        let path = project.join(".instar/jobs.json");
        write_corpus(&path, jobs, jobs);
        run(dir.path(), &project, &path, jobs);
        // Keep the shared disk clean as we go.
        std::fs::remove_dir_all(&project).unwrap();
    }
}

/// A job shaped like a real agent's (as in `jobs_large`), with a priority instar refuses.
/// Job `i`, with an invalid priority when `broken` (an error with an unsafe quarantine fix);
/// every job also has an info finding (its prompt names nothing it can be grounded on).
fn job(i: usize, broken: bool) -> String {
    format!(
        r#"  {{
    "slug": "job-{i:06}",
    "name": "Job number {i}",
    "description": "Monitor the agent's health, part {i}.",
    "schedule": "*/15 * * * *",
    "priority": "{priority}",
    "expectedDurationMinutes": {duration},
    "model": "haiku",
    "enabled": true,
    "execute": {{
      "type": "prompt",
      "value": "Check that the server responds (curl http://localhost:4042/health) and report issues plainly. Job {i}."
    }},
    "tags": ["cat:ops", "bench"]
  }}"#,
        duration = 1 + i % 9,
        priority = if broken { "urgent" } else { "high" },
    )
}

/// `jobs` jobs, the first `broken` of them with an invalid priority.
fn write_corpus(path: &Path, jobs: usize, broken: usize) {
    let mut out = std::io::BufWriter::new(std::fs::File::create(path).unwrap());
    out.write_all(b"[\n").unwrap();
    for i in 0..jobs {
        if i > 0 {
            out.write_all(b",\n").unwrap();
        }
        out.write_all(job(i, i < broken).as_bytes()).unwrap();
    }
    out.write_all(b"\n]\n").unwrap();
}

/// Wall seconds, CPU seconds, peak RSS in bytes and exit code of one process, its output thrown
/// away.
fn measure(program: &str, args: &[&str]) -> (f64, f64, u64, i32) {
    let mut command = Command::new(program);
    command.args(args).env("NO_COLOR", "1").env("CI", "1");
    // Thrown away as it comes: a driver that held a report would count in the next child's
    // peak (`child::measure_discarding`).
    let m = child::measure_discarding(&mut command);
    (m.seconds, m.cpu, m.peak, m.code)
}

fn run(scratch: &Path, project: &Path, path: &Path, jobs: usize) {
    let size = std::fs::metadata(path).unwrap().len();
    let me = std::env::current_exe().unwrap();
    let me = me.to_str().unwrap();
    let file = path.to_str().unwrap();
    // Best of three for the cheap floor.
    let (floor, floor_cpu, floor_peak, _) = (0..3)
        .map(|_| measure(me, &["child-serde", file]))
        .min_by(|a, b| a.0.total_cmp(&b.0))
        .unwrap();
    let dir = project.to_str().unwrap();
    let check = |extra: &[&str]| {
        let mut args = vec![
            "--dir",
            dir,
            "--select",
            "jobs",
            "--instar-version",
            "0.28.44",
        ];
        args.extend_from_slice(extra);
        args.iter().map(|s| s.to_string()).collect::<Vec<_>>()
    };
    let mb = |bytes: u64| bytes as f64 / 1e6;
    println!(
        "{jobs} jobs, {:.1} MB | floor (serde_json::Value) {:.0} ms ({:.0} ms CPU), peak {:.0} MB ({:.1}x file)",
        mb(size),
        floor * 1e3,
        floor_cpu * 1e3,
        mb(floor_peak),
        floor_peak as f64 / size as f64
    );
    let mut cases: Vec<(&str, Vec<String>)> = vec![
        ("human report", check(&[])),
        ("--format json", check(&["--format", "json"])),
        ("--format sarif", check(&["--format", "sarif"])),
        ("--format junit", check(&["--format", "junit"])),
        ("--format github", check(&["--format", "github"])),
        (
            "--diff --unsafe-fixes",
            check(&["--diff", "--unsafe-fixes"]),
        ),
    ];
    // The fix run writes: it gets its own copy of the agent, made before it starts.
    let copy = scratch.join(format!("fix-{jobs}"));
    std::fs::create_dir_all(copy.join(".instar")).unwrap();
    std::fs::copy(path, copy.join(".instar/jobs.json")).unwrap();
    // The same arguments, on another agent: `args[1]` is the agent's folder.
    let on = |agent: &Path, extra: &[&str]| {
        let mut args = check(extra);
        args[1] = agent.to_str().unwrap().to_string();
        args
    };
    cases.push((
        "--fix --unsafe-fixes",
        on(&copy, &["--fix", "--unsafe-fixes"]),
    ));
    // A fix run that fixes few of many findings: 10 entries quarantined (in two passes, as the
    // first two are neighbours) while every job's info finding stays. Each pass is re-checked
    // against the one before, which once held both reports and every pass's copy of the file.
    let few = scratch.join(format!("fix-few-{jobs}"));
    std::fs::create_dir_all(few.join(".instar")).unwrap();
    write_corpus(&few.join(".instar/jobs.json"), jobs, 10.min(jobs));
    cases.push(("--fix, 10 fixable", on(&few, &["--fix", "--unsafe-fixes"])));
    // `FINDINGS_SCALE_ONLY=sarif,json`: only the outputs whose name holds one of these words.
    let only = std::env::var("FINDINGS_SCALE_ONLY").ok();
    let wanted = |name: &str| {
        only.as_deref()
            .is_none_or(|words| words.split(',').any(|w| name.contains(w.trim())))
    };
    // `-i` in a pseudo-terminal, answering `a` (every fix of the code) at its first question:
    // one preview, then every quarantine applied. On its own fresh copy.
    let asked = scratch.join(format!("interactive-{jobs}"));
    std::fs::create_dir_all(asked.join(".instar")).unwrap();
    std::fs::copy(path, asked.join(".instar/jobs.json")).unwrap();
    cases.push((
        "-i --unsafe-fixes, a",
        on(&asked, &["-i", "--unsafe-fixes"]),
    ));
    for (name, args) in cases.into_iter().filter(|(name, _)| wanted(name)) {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let measured = if name.starts_with("-i") {
            on_a_terminal(&args)
        } else {
            Some(measure(&doctor(), &args))
        };
        let Some((seconds, cpu, peak, code)) = measured else {
            println!("  {name:<22} skipped: no python3 to drive a pseudo-terminal");
            continue;
        };
        println!(
            "  {name:<22} {:>8.0} ms = {:>6.3} ms/job = {:>5.2}x floor | CPU {:>5.2}x floor's | peak {:>6.0} MB = {:.2}x file | exit {code}",
            seconds * 1e3,
            seconds * 1e3 / jobs as f64,
            seconds / floor,
            cpu / floor_cpu,
            mb(peak),
            peak as f64 / size as f64,
        );
    }
    std::fs::remove_dir_all(&copy).unwrap();
    std::fs::remove_dir_all(&asked).unwrap();
}

/// `measure` for a run that asks questions: the doctor in a pseudo-terminal driven by
/// `common/answer_all.py`, which answers `a` at every prompt and reports the doctor's own wall
/// time, CPU time, peak RSS (`wait4`) and exit code. `None` without python3.
fn on_a_terminal(args: &[&str]) -> Option<(f64, f64, u64, i32)> {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("benches/common/answer_all.py");
    let out = match Command::new("python3")
        .arg(script)
        .arg("--")
        .arg(doctor())
        .args(args)
        .env("NO_COLOR", "1")
        .env_remove("CI")
        .output()
    {
        Ok(out) => out,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => return None,
        Err(err) => panic!("python3: {err}"),
    };
    let line = String::from_utf8_lossy(&out.stdout);
    let field = |key: &str| -> f64 {
        line.split_whitespace()
            .find_map(|kv| kv.strip_prefix(key)?.strip_prefix('=')?.parse().ok())
            .unwrap_or_else(|| panic!("answer_all.py gave no {key}: {line}"))
    };
    assert!(
        field("prompts") >= 1.0,
        "the doctor asked nothing on a terminal: {line}"
    );
    Some((
        field("wall"),
        field("cpu"),
        field("peak") as u64,
        field("exit") as i32,
    ))
}

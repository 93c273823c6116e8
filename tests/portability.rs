//! Most instar agents run on macOS under launchd. These guards keep Linux-only assumptions out of
//! the tree: no `/proc`, no errno numbers typed in by hand (they differ between the two kernels:
//! ELOOP is 40 on Linux and 62 on macOS), and no Linux-only code without a branch for the rest.

use std::path::{Path, PathBuf};

const SCANNED: &[&str] = &["src", "checks", "tests", "benches"];

fn rust_files() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    let mut stack: Vec<PathBuf> = SCANNED.iter().map(|d| root.join(d)).collect();
    while let Some(dir) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                files.push(path);
            }
        }
    }
    files.sort();
    assert!(files.len() > 50, "the scan found too few files: {files:?}");
    files
}

/// `(file:line, text)` of every line where `bad` says a rule is broken.
fn offending_lines(bad: impl Fn(&str) -> bool) -> Vec<String> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut found = Vec::new();
    for file in rust_files() {
        let text = std::fs::read_to_string(&file).unwrap();
        for (n, line) in text.lines().enumerate() {
            if bad(line) {
                let shown = file.strip_prefix(root).unwrap_or(&file).display();
                found.push(format!("{shown}:{}: {}", n + 1, line.trim()));
            }
        }
    }
    found
}

/// The patterns are assembled at run time so this file does not match itself.
fn proc_fs() -> String {
    ["/pr", "oc"].concat()
}

/// A line of code that names a path under `/proc` (comments may say why we never do).
fn reads_proc(line: &str) -> bool {
    let proc_fs = proc_fs();
    let code = !line.trim_start().starts_with("//");
    code && (line.contains(&format!("\"{proc_fs}")) || line.contains(&format!("{proc_fs}/")))
}

/// A line that builds or compares an OS error from a number typed in by hand.
fn hardcodes_errno(line: &str) -> bool {
    let calls = [
        ["from_raw_os", "_error("].concat(),
        ["raw_os_error() == ", "Some("].concat(),
    ];
    calls.iter().any(|call| {
        line.split(call.as_str())
            .skip(1)
            .any(|rest| rest.trim_start().starts_with(|c: char| c.is_ascii_digit()))
    })
}

#[test]
fn nothing_reads_the_linux_proc_filesystem() {
    let proc_fs = proc_fs();
    let found = offending_lines(reads_proc);
    assert!(
        found.is_empty(),
        "macOS has no {proc_fs}: ask the host seam (src/host.rs) instead:\n{}",
        found.join("\n")
    );
}

#[test]
fn errno_values_come_from_libc() {
    let found = offending_lines(hardcodes_errno);
    assert!(
        found.is_empty(),
        "errno numbers differ between macOS and Linux: use libc's constants:\n{}",
        found.join("\n")
    );
}

#[test]
fn linux_only_code_has_a_branch_for_other_systems() {
    let linux = ["target_os = ", "\"linux\""].concat();
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut found = Vec::new();
    for file in rust_files() {
        let text = std::fs::read_to_string(&file).unwrap();
        let shown = file
            .strip_prefix(root)
            .unwrap_or(&file)
            .display()
            .to_string();
        let attribute = format!("#[cfg({linux})]");
        let negated = format!("#[cfg(not({linux}))]");
        if text.contains(&attribute) && !text.contains(&negated) {
            found.push(format!("{shown}: {attribute} without {negated}"));
        }
        // `cfg!(…linux…)` must sit in an if/else chain that goes on to other systems.
        let lines: Vec<&str> = text.lines().collect();
        for (n, line) in lines.iter().enumerate() {
            if line.contains(&format!("cfg!({linux})")) {
                let window = lines[n..lines.len().min(n + 6)].join("\n");
                if !window.contains("else") {
                    found.push(format!("{shown}:{}: cfg! on Linux with no else", n + 1));
                }
            }
        }
    }
    assert!(
        found.is_empty(),
        "Linux-only code needs a non-Linux branch:\n{}",
        found.join("\n")
    );
}

#[test]
fn the_guards_catch_what_they_are_for() {
    // The rules above must be able to fail: feed them the lines main had before they existed.
    let proc_fs = proc_fs();
    assert!(reads_proc(&format!(
        "    let alive = Path::new(\"{proc_fs}\").join(pid.to_string()).exists();"
    )));
    assert!(reads_proc(&format!(
        "    std::fs::read_to_string(\"{proc_fs}/self/status\")"
    )));
    assert!(!reads_proc(&format!(
        "/// never `{proc_fs}`: macOS has none"
    )));
    assert!(hardcodes_errno(
        &["let e = io::Error::from_raw_os", "_error(40);"].concat()
    ));
    assert!(hardcodes_errno(
        &["_ if err.raw_os_error() == ", "Some(40) => x,"].concat()
    ));
    assert!(!hardcodes_errno(
        &["err.raw_os_error() == ", "Some(libc::ELOOP)"].concat()
    ));
}

//! Grep guards over the tree.
//!
//! Portability: most instar agents run on macOS under launchd, so no `/proc`, no errno numbers
//! typed in by hand (they differ between the two kernels: ELOOP is 40 on Linux and 62 on macOS),
//! and no Linux-only code without a branch for the rest.
//!
//! Architecture (ARCHITECTURE.md): checks touch the disk and the host only through `Context`, and
//! rendering and writing know findings and files, never the areas that produce them.

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

/// Text that names a disk or process API a check must reach through `Context` instead. The
/// patterns are assembled at run time so this file does not match itself.
fn bypasses_context(line: &str) -> bool {
    let code = line.trim_start();
    if code.starts_with("//") {
        return false;
    }
    let banned = [
        ["std::", "fs"].concat(),
        ["std::", "process"].concat(),
        // Path's own disk questions: `Context` answers them (src/engine/disk.rs).
        [".exi", "sts()"].concat(),
        [".try_exi", "sts()"].concat(),
        [".meta", "data()"].concat(),
        [".symlink_meta", "data()"].concat(),
        [".read_", "dir()"].concat(),
        [".read_", "link()"].concat(),
        [".canon", "icalize()"].concat(),
        // The doctor's run records: `Context::interrupted_runs` reads them.
        ["runs::", "all("].concat(),
        ["runs::", "interrupted("].concat(),
    ];
    banned.iter().any(|b| code.contains(b.as_str())) || reads_proc(line)
}

/// The production lines of a source file: everything above its `#[cfg(test)]` module (tests may
/// build fixtures on disk).
fn production_lines(text: &str) -> impl Iterator<Item = (usize, &str)> {
    text.lines()
        .enumerate()
        .take_while(|(_, line)| line.trim() != "#[cfg(test)]")
}

/// `file: text` of every production line under `dir` where `bad` says a rule is broken.
fn offending_in(dir: &str, bad: impl Fn(&str) -> bool) -> Vec<String> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut found = Vec::new();
    for file in rust_files() {
        let shown = file
            .strip_prefix(root)
            .unwrap_or(&file)
            .to_string_lossy()
            .into_owned();
        if !(shown == dir || shown.starts_with(&format!("{dir}/"))) {
            continue;
        }
        let text = std::fs::read_to_string(&file).unwrap();
        for (_, line) in production_lines(&text) {
            if bad(line) {
                found.push(format!("{shown}: {}", line.trim()));
            }
        }
    }
    found
}

#[test]
fn checks_reach_disk_and_host_only_through_context() {
    let found: Vec<String> = offending_in("checks", bypasses_context);
    assert!(
        found.is_empty(),
        "checks read the disk and ask the host through Context (src/engine.rs, \
         src/engine/disk.rs, src/host.rs), never directly:\n{}",
        found.join("\n")
    );
}

/// A line that reaches into the checks (their code tables, their areas).
fn knows_areas(line: &str) -> bool {
    let code = line.trim_start();
    let names = [
        ["crate::", "checks"].concat(),
        ["checks::", "all_codes"].concat(),
    ];
    !code.starts_with("//") && names.iter().any(|n| code.contains(n.as_str()))
}

/// Checks find, they never fix: nothing under `checks/` names the writer (what they need of the
/// doctor's own records comes through `Context`).
#[test]
fn checks_never_name_writing() {
    let found = offending_in("checks", |l| names_module(l, &["write"]));
    assert!(
        found.is_empty(),
        "checks ask Context (src/engine/disk.rs), never the writer:\n{}",
        found.join("\n")
    );
}

#[test]
fn rendering_and_writing_know_findings_and_files_not_areas() {
    let mut found = offending_in("src/render", knows_areas);
    found.extend(offending_in("src/write", knows_areas));
    found.extend(offending_in("src/write.rs", knows_areas));
    assert!(
        found.is_empty(),
        "renderers get the code catalogue from the engine, writers get files and changes:\n{}",
        found.join("\n")
    );
}

/// A line that names one of `modules` (`crate::<module>`), outside a comment.
fn names_module(line: &str, modules: &[&str]) -> bool {
    let code = line.trim_start();
    !code.starts_with("//")
        && modules.iter().any(|m| {
            let name = ["crate::", m].concat();
            code.match_indices(name.as_str()).any(|(at, _)| {
                // `crate::write` names write, `crate::write_x` does not.
                !code[at + name.len()..].starts_with(|c: char| c.is_alphanumeric() || c == '_')
            })
        })
}

/// The data path runs one way (ARCHITECTURE.md): files → Context → checks → findings → render |
/// fix → write. A layer never names one further along the path, so no two modules import each
/// other in a loop through it.
#[test]
fn the_data_path_runs_one_way() {
    let after_findings = ["write", "repair", "render", "prompt", "app", "scan"];
    let mut found = Vec::new();
    for place in ["src/engine.rs", "src/engine", "src/diag.rs", "src/fix.rs"] {
        found.extend(offending_in(place, |l| names_module(l, &after_findings)));
    }
    // A fix is part of a finding: findings name fixes, never the reverse.
    found.extend(offending_in("src/fix.rs", |l| names_module(l, &["diag"])));
    // Writing knows files: not the run that found them, nor the fix run that drives it.
    let above_writing = ["engine", "repair", "render", "prompt", "app", "scan"];
    for place in [
        "src/write.rs",
        "src/write",
        "src/failpoint.rs",
        "src/paths.rs",
        "src/runs.rs",
    ] {
        found.extend(offending_in(place, |l| names_module(l, &above_writing)));
    }
    // Rendering knows findings, not how they are written: what both need (a digest, the
    // doctor's folder name) lives in a leaf.
    found.extend(offending_in("src/render", |l| names_module(l, &["write"])));
    // The leaves every layer may use name no other part of the crate.
    for leaf in ["src/paths.rs", "src/digest.rs"] {
        found.extend(offending_in(leaf, |l| {
            !l.trim_start().starts_with("//") && l.contains("crate::")
        }));
    }
    assert!(
        found.is_empty(),
        "a layer names one further along the data path (see ARCHITECTURE.md):\n{}",
        found.join("\n")
    );
}

#[test]
fn the_architecture_guards_catch_what_they_are_for() {
    let fs = ["std::", "fs"].concat();
    assert!(bypasses_context(&format!(
        "    let meta = {fs}::metadata(&path);"
    )));
    assert!(bypasses_context(
        &["    if cx.state_path(\"x\").exi", "sts() {"].concat()
    ));
    assert!(bypasses_context(&format!(
        "    let out = {}::Command::new(\"git\");",
        ["std::", "process"].concat()
    )));
    assert!(!bypasses_context("    if cx.exists(&path) {"));
    assert!(bypasses_context(
        &[
            "    for run in crate::runs::inter",
            "rupted(&cx.state_dir) {"
        ]
        .concat()
    ));
    assert!(!bypasses_context("    for run in cx.interrupted_runs() {"));
    assert!(!bypasses_context(&format!("    // never {fs} here")));
    assert!(knows_areas(&["use crate::", "checks;"].concat()));
    assert!(knows_areas(
        &["    for c in checks::", "all_codes() {"].concat()
    ));
    assert!(!knows_areas("    for c in catalogue.codes() {"));
    let write = ["crate::", "write"].concat();
    assert!(names_module(
        &format!("    {write}::panic_in(id);"),
        &["write"]
    ));
    assert!(names_module(
        &format!("use {write}::{{self, Kept}};"),
        &["write"]
    ));
    assert!(!names_module(&format!("    {write}_x::go();"), &["write"]));
    assert!(!names_module(
        &format!("    // never {write} here"),
        &["write"]
    ));
    let text = "fn a() {}\n#[cfg(test)]\nmod tests { fn b() {} }\n";
    assert_eq!(production_lines(text).count(), 1);
}

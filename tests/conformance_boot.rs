//! Spec §11.4: instar's boot-wrapper tests, checked against the doctor's rules and against the
//! behaviour of the wrappers the doctor writes (run with node and bash when they are installed).

use std::fs;
use std::path::Path;
use std::process::Command;

use instar_doctor::checks::boot::{extension_rule, template};
use instar_doctor::diag::Diagnostic;
use instar_doctor::engine::{self, Context, HostOs, Selection};
use instar_doctor::host::FakeHost;
use instar_doctor::version::Version;

const OLD: Version = Version::new(0, 28, 44);
const HEAD: Version = Version::new(1, 3, 1186);

fn context(dir: &Path, version: Version, os: HostOs) -> Context {
    let host = match os {
        HostOs::MacOs => FakeHost::macos(),
        _ => FakeHost::linux(),
    };
    Context::at_version(dir.to_path_buf(), version, 1_795_000_000)
        .with_host(host.with_home(dir.join("home")))
}

fn boot_findings(cx: &Context) -> Vec<Diagnostic> {
    let selection = Selection {
        select: vec!["boot".into()],
        ignore: vec![],
    };
    engine::run(cx, &selection).diagnostics
}

fn codes(found: &[Diagnostic]) -> Vec<&'static str> {
    found.iter().map(|d| d.code.id).collect()
}

#[test]
fn extension_rule_per_version() {
    let dir = tempfile::tempdir().unwrap();
    fs::create_dir_all(dir.path().join(".instar")).unwrap();
    for (package, old_name) in [
        (None, "instar-boot.js"),
        (Some(r#"{"type":"commonjs"}"#), "instar-boot.js"),
        (Some(r#"{"type":"module"}"#), "instar-boot.cjs"),
    ] {
        let pkg = dir.path().join("package.json");
        match package {
            Some(text) => fs::write(&pkg, text).unwrap(),
            None => {
                let _ = fs::remove_file(&pkg);
            }
        }
        let old = extension_rule(&context(dir.path(), OLD, HostOs::Linux));
        let head = extension_rule(&context(dir.path(), HEAD, HostOs::Linux));
        assert_eq!(old.node_name, old_name, "{package:?}");
        // HEAD: .cjs for a module package, a commonjs package and no package.json.
        assert_eq!(head.node_name, "instar-boot.cjs", "{package:?}");
    }
}

/// A project with a shadow install, a working node link and the doctor's own wrappers.
fn healthy(version: Version) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join(".instar");
    fs::create_dir_all(state.join("shadow-install/node_modules/instar/dist")).unwrap();
    fs::write(
        state.join("shadow-install/node_modules/instar/dist/cli.js"),
        "",
    )
    .unwrap();
    fs::create_dir_all(state.join("bin")).unwrap();
    std::os::unix::fs::symlink("/bin/sh", state.join("bin/node")).unwrap();
    let rule = extension_rule(&context(dir.path(), version, HostOs::Linux));
    fs::write(
        state.join(rule.node_name),
        template::node_wrapper(&state, version),
    )
    .unwrap();
    fs::write(
        state.join("instar-boot.sh"),
        template::sh_wrapper(&state, version),
    )
    .unwrap();
    for name in [rule.node_name, "instar-boot.sh"] {
        use std::os::unix::fs::PermissionsExt;
        fs::set_permissions(state.join(name), fs::Permissions::from_mode(0o755)).unwrap();
    }
    dir
}

#[test]
fn our_wrappers_are_healthy_and_a_stale_js_alone_is_not_enough_at_head() {
    for version in [OLD, HEAD] {
        let dir = healthy(version);
        let found = boot_findings(&context(dir.path(), version, HostOs::Linux));
        assert!(found.is_empty(), "{version}: {:?}", codes(&found));
    }
    // HEAD: only a .js (a leftover) and the .sh: the .cjs is missing.
    let dir = healthy(OLD);
    let found = boot_findings(&context(dir.path(), HEAD, HostOs::Linux));
    let missing = found
        .iter()
        .find(|d| d.code.id == "boot/missing")
        .expect("the .cjs is missing");
    assert!(missing.file.as_ref().unwrap().ends_with("instar-boot.cjs"));
    // The fix creates a file and never deletes the .js (rollback stays safe).
    let fix = missing.fix.as_ref().unwrap();
    assert!(fix.changes().iter().all(|c| matches!(
        c,
        instar_doctor::fix::Change::Write { .. } | instar_doctor::fix::Change::SetMode { .. }
    )));
}

#[test]
fn markers_decide_staleness_at_head() {
    let dir = healthy(HEAD);
    let cjs = dir.path().join(".instar/instar-boot.cjs");
    let text = fs::read_to_string(&cjs).unwrap();
    for marker in [
        "cannot load better-sqlite3 (ABI drift)",
        "version-managed node candidates",
        "npm_config_scripts_prepend_node_path",
    ] {
        assert!(text.contains(marker));
        fs::write(&cjs, text.replace(marker, "x")).unwrap();
        let found = boot_findings(&context(dir.path(), HEAD, HostOs::Linux));
        assert_eq!(codes(&found), vec!["boot/stale-markers"], "{marker}");
    }
    // The .sh exports PATH with scripts_prepend.
    let sh = fs::read_to_string(dir.path().join(".instar/instar-boot.sh")).unwrap();
    assert!(sh.contains("npm_config_scripts_prepend_node_path") && sh.contains("export PATH"));
}

#[test]
fn plist_coherence_on_macos() {
    // v0.28.x: the project turned "type": "module", the plist still runs instar-boot.js.
    let dir = healthy(OLD);
    fs::write(dir.path().join("package.json"), r#"{"type":"module"}"#).unwrap();
    let agents = dir.path().join("home/Library/LaunchAgents");
    fs::create_dir_all(&agents).unwrap();
    let name = dir
        .path()
        .file_name()
        .unwrap()
        .to_string_lossy()
        .into_owned();
    let plist = |wrapper: &str| {
        format!(
            "<?xml version=\"1.0\"?>\n<plist version=\"1.0\"><dict><key>ProgramArguments</key><array><string>{0}/.instar/bin/node</string><string>{0}/.instar/{wrapper}</string><string>server</string><string>start</string><string>--foreground</string><string>--dir</string><string>{0}</string></array></dict></plist>\n",
            dir.path().display()
        )
    };
    let plist_path = agents.join(format!("ai.instar.{name}.plist"));
    fs::write(&plist_path, plist("instar-boot.js")).unwrap();
    let found = boot_findings(&context(dir.path(), OLD, HostOs::MacOs));
    assert!(
        codes(&found).contains(&"boot/extension-drift"),
        "{:?}",
        codes(&found)
    );
    // HEAD: a plist already on .cjs with the .cjs present is healthy.
    let dir = healthy(HEAD);
    let agents = dir.path().join("home/Library/LaunchAgents");
    fs::create_dir_all(&agents).unwrap();
    let name = dir
        .path()
        .file_name()
        .unwrap()
        .to_string_lossy()
        .into_owned();
    let text = format!(
        "<?xml version=\"1.0\"?>\n<plist version=\"1.0\"><dict><key>ProgramArguments</key><array><string>{0}/.instar/bin/node</string><string>{0}/.instar/instar-boot.cjs</string><string>lifeline</string><string>start</string><string>--dir</string><string>{0}</string></array></dict></plist>\n",
        dir.path().display()
    );
    fs::write(agents.join(format!("ai.instar.{name}.plist")), &text).unwrap();
    let found = boot_findings(&context(dir.path(), HEAD, HostOs::MacOs));
    assert!(found.is_empty(), "{:?}", codes(&found));
    // A plist whose --dir is another project.
    fs::write(
        agents.join(format!("ai.instar.{name}.plist")),
        text.replace(
            "<string>--dir</string><string>",
            "<string>--dir</string><string>/elsewhere",
        ),
    )
    .unwrap();
    let found = boot_findings(&context(dir.path(), HEAD, HostOs::MacOs));
    assert_eq!(codes(&found), vec!["boot/plist"]);
    // No plist at all on macOS, with wrappers present.
    fs::remove_file(agents.join(format!("ai.instar.{name}.plist"))).unwrap();
    let found = boot_findings(&context(dir.path(), HEAD, HostOs::MacOs));
    assert_eq!(codes(&found), vec!["boot/plist"]);
}

/// Runs a wrapper with `fake` as the shadow CLI; returns (exit code, stderr).
fn run_wrapper(program: &str, wrapper: &Path, args: &[&str]) -> Option<(i32, String)> {
    let out = Command::new(program)
        .arg(wrapper)
        .args(args)
        .output()
        .ok()?;
    Some((
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    ))
}

#[test]
fn our_wrappers_behave_like_instars() {
    if Command::new("node").arg("--version").output().is_err() {
        eprintln!("skipped: node is not installed");
        return;
    }
    for version in [OLD, HEAD] {
        let dir = healthy(version);
        let state = dir.path().join(".instar");
        let cli = state.join("shadow-install/node_modules/instar/dist/cli.js");
        fs::write(&cli, "process.exit(process.argv[2] === 'ok' ? 0 : 3);\n").unwrap();
        let crash = state.join("state/boot-crashes.txt");
        let rule = extension_rule(&context(dir.path(), version, HostOs::Linux));
        for (program, wrapper) in [
            ("node", state.join(rule.node_name)),
            ("bash", state.join("instar-boot.sh")),
        ] {
            // It runs the shadow CLI with the supervisor's arguments; a failure records a time.
            let Some((code, _)) = run_wrapper(program, &wrapper, &["fail"]) else {
                continue;
            };
            assert_eq!(code, 3, "{program} {version}");
            let times = fs::read_to_string(&crash).unwrap();
            let last: f64 = times.lines().last().unwrap().parse().unwrap();
            assert!(last > 1.7e9, "{program}");
            // A clean exit clears the history.
            assert_eq!(run_wrapper(program, &wrapper, &["ok"]).unwrap().0, 0);
            assert!(!crash.exists(), "{program}");
            // The file is trimmed to 20 entries (old entries: no back-off sleep).
            fs::create_dir_all(crash.parent().unwrap()).unwrap();
            fs::write(
                &crash,
                (0..30)
                    .map(|i| format!("{}\n", 1_000_000_000 + i))
                    .collect::<String>(),
            )
            .unwrap();
            assert_eq!(run_wrapper(program, &wrapper, &["fail"]).unwrap().0, 3);
            assert!(
                fs::read_to_string(&crash).unwrap().lines().count() <= 20,
                "{program}"
            );
            fs::remove_file(&crash).unwrap();
        }
        // Without the shadow install it fails with "Shadow install not found". At HEAD a fresh
        // heal marker debounces the reinstall, so no npm (and no network) is involved.
        fs::remove_file(&cli).unwrap();
        let now_ms = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_millis();
        fs::write(
            state.join("shadow-install.heal-attempted"),
            now_ms.to_string(),
        )
        .unwrap();
        let (code, stderr) = run_wrapper("node", &state.join(rule.node_name), &[]).unwrap();
        assert_eq!(code, 1);
        assert!(stderr.contains("Shadow install not found"), "{stderr}");
    }
}

//! Our own boot wrappers, written from the behaviour spec §8.2 describes (never a copy of
//! instar's template): the constants with this project's paths baked in, the node self-heal, the
//! shadow check (with the debounced reinstall from v0.28.113), xattr stripping on macOS, the
//! spawn of the shadow CLI and the crash-loop back-off. The markers HEAD's migrator looks for are
//! included from the version that introduced each.

use std::path::Path;

use crate::json_edit::string_literal;
use crate::version::{boundary, Version};

fn js_str(path: &Path) -> String {
    string_literal(&path.to_string_lossy())
}

/// The Node wrapper (`instar-boot.js` / `.cjs`): CommonJS, so it loads under either package type
/// when named `.cjs`.
pub fn node_wrapper(state_dir: &Path, version: Version) -> String {
    let mut out = String::new();
    node_header(&mut out, state_dir);
    out.push_str(NODE_PROBES);
    node_self_heal(&mut out, version);
    node_ensure_shadow(&mut out, version);
    out.push_str(NODE_MAIN);
    out
}

/// The shebang, the modules and the absolute paths of this agent the wrapper works with.
fn node_header(out: &mut String, state_dir: &Path) {
    let s = |rel: &str| js_str(&state_dir.join(rel));
    out.push_str("#!/usr/bin/env node\n");
    out.push_str(
        "// instar boot wrapper, written by instar-doctor for this project. It runs the\n",
    );
    out.push_str(
        "// shadow install's CLI with the supervisor's arguments and backs off on crash loops.\n",
    );
    out.push_str("'use strict';\n");
    out.push_str("const fs = require('fs');\nconst path = require('path');\nconst { spawnSync, execFileSync } = require('child_process');\n\n");
    out.push_str(&format!(
        "const SHADOW = {};\n",
        s("shadow-install/node_modules/instar/dist/cli.js")
    ));
    out.push_str(&format!("const SHADOW_DIR = {};\n", s("shadow-install")));
    out.push_str(&format!(
        "const CRASH_FILE = {};\n",
        s("state/boot-crashes.txt")
    ));
    out.push_str(&format!("const NODE_SYMLINK = {};\n", s("bin/node")));
    out.push_str(&format!(
        "const NODE_CANDIDATES_FILE = {};\n",
        s("bin/node-candidates.json")
    ));
    out.push_str(&format!(
        "const NATIVE_MODULE = {};\n",
        s("shadow-install/node_modules/better-sqlite3/build/Release/better_sqlite3.node")
    ));
    out.push_str(&format!(
        "const HEAL_MARKER = {};\n\n",
        s("shadow-install.heal-attempted")
    ));
}

/// Whether a node runs, and whether it loads the native module.
const NODE_PROBES: &str = r#"function runs(node, args) {
  try {
    execFileSync(node, args, { stdio: 'ignore', timeout: 10000 });
    return true;
  } catch (_) {
    return false;
  }
}

function loadsNative(node) {
  if (!fs.existsSync(NATIVE_MODULE)) return true;
  return runs(node, ['-e', 'process.dlopen({ exports: {} }, ' + JSON.stringify(NATIVE_MODULE) + ')']);
}

"#;

/// Re-links `.instar/bin/node` to a usable node when the current one does not run or (from
/// the ABI-drift marker's version) cannot load better-sqlite3; from the node-candidates
/// marker's version, whatever `which node` finds is a candidate too.
fn node_self_heal(out: &mut String, version: Version) {
    out.push_str(
        r#"function selfHealNodeSymlink() {
  try {
    if (runs(NODE_SYMLINK, ['--version'])) {
"#,
    );
    if version >= boundary::BOOT_MARKER_ABI_DRIFT {
        out.push_str(
            r#"      if (loadsNative(NODE_SYMLINK)) return;
      console.error('[instar-boot] node at ' + NODE_SYMLINK + ' cannot load better-sqlite3 (ABI drift); re-linking');
"#,
        );
    } else {
        out.push_str("      return;\n");
    }
    out.push_str(
        r#"    }
    const candidates = [process.execPath, '/opt/homebrew/bin/node', '/usr/local/bin/node', '/usr/bin/node'];
"#,
    );
    if version >= boundary::BOOT_MARKER_NODE_CANDIDATES {
        out.push_str(
            r#"    // version-managed node candidates (asdf, nvm): whatever `which node` finds
    try {
      const found = execFileSync('which', ['node'], { encoding: 'utf8', timeout: 5000 }).trim();
      if (found) candidates.push(found);
    } catch (_) {}
"#,
        );
    }
    out.push_str(
        r#"    const usable = candidates.filter((c, i) => candidates.indexOf(c) === i && fs.existsSync(c) && runs(c, ['--version']));
    const durable = usable.filter((c) => !/\/(\.nvm|\.asdf|versions)\//.test(c));
    const chosen = usable.find(loadsNative) || durable[0] || usable[0];
    if (!chosen) return;
    fs.mkdirSync(path.dirname(NODE_SYMLINK), { recursive: true });
    try { fs.unlinkSync(NODE_SYMLINK); } catch (_) {}
    fs.symlinkSync(chosen, NODE_SYMLINK);
    fs.writeFileSync(NODE_CANDIDATES_FILE, JSON.stringify({ primary: chosen, candidates: usable, updatedAt: new Date().toISOString(), updatedBy: 'instar-boot.js' }, null, 2));
  } catch (_) {
    // best effort: never fatal
  }
}

"#,
    );
}

/// Stops with instructions when the shadow install is missing; from the self-reinstall version
/// it first runs `npm install` itself, at most every five minutes.
fn node_ensure_shadow(out: &mut String, version: Version) {
    out.push_str(
        r#"function ensureShadow() {
  if (fs.existsSync(SHADOW)) return;
"#,
    );
    if version >= boundary::BOOT_WRAPPER_SELF_REINSTALL {
        out.push_str(
            r#"  let last = 0;
  try { last = Number(fs.readFileSync(HEAL_MARKER, 'utf8').trim()) || 0; } catch (_) {}
  if (last > 0 && last < 1e12) last *= 1000;
  if (Date.now() - last > 5 * 60 * 1000) {
    fs.writeFileSync(HEAL_MARKER, String(Date.now()));
    const pkg = path.join(SHADOW_DIR, 'package.json');
    fs.mkdirSync(SHADOW_DIR, { recursive: true });
    if (!fs.existsSync(pkg)) {
      fs.writeFileSync(pkg, JSON.stringify({ name: 'instar-shadow', private: true, dependencies: { instar: 'latest' } }, null, 2));
    }
    const env = Object.assign({}, process.env);
"#,
        );
        if version >= boundary::BOOT_MARKER_PREPEND_NODE_PATH {
            out.push_str(
                r#"    env.PATH = path.dirname(process.execPath) + path.delimiter + (env.PATH || '');
    env.npm_config_scripts_prepend_node_path = 'true';
"#,
            );
        }
        out.push_str(
            r#"    spawnSync('npm', ['install', '--prefix', SHADOW_DIR], { stdio: 'inherit', env });
  }
  if (fs.existsSync(SHADOW)) return;
"#,
        );
    }
    out.push_str(
        r#"  console.error('ERROR: Shadow install not found at ' + SHADOW);
  console.error('Run: npm install instar --prefix ' + SHADOW_DIR);
  process.exit(1);
}

"#,
    );
}

/// Clears quarantine attributes, runs the shadow CLI, and backs off on a crash loop.
const NODE_MAIN: &str = r#"function stripQuarantine() {
  if (process.platform !== 'darwin') return;
  for (const attr of ['com.apple.quarantine', 'com.apple.provenance']) {
    try { execFileSync('xattr', ['-rd', attr, SHADOW_DIR], { stdio: 'ignore' }); } catch (_) {}
  }
}

function recordCrash() {
  const now = Math.floor(Date.now() / 1000);
  let times = [];
  try { times = fs.readFileSync(CRASH_FILE, 'utf8').split('\n').map(Number).filter((n) => n > 0); } catch (_) {}
  times.push(now);
  const recent = times.filter((t) => now - t <= 120).length;
  fs.writeFileSync(CRASH_FILE, times.slice(-20).join('\n') + '\n');
  if (recent >= 3) {
    const seconds = Math.min(recent * 10, 120);
    spawnSync('sleep', [String(seconds)], { stdio: 'ignore' });
  }
}

selfHealNodeSymlink();
ensureShadow();
stripQuarantine();
fs.mkdirSync(path.dirname(CRASH_FILE), { recursive: true });
const child = spawnSync(process.execPath, [SHADOW, ...process.argv.slice(2)], { stdio: 'inherit', env: process.env });
const code = child.status === null ? 1 : child.status;
if (code !== 0) {
  recordCrash();
} else {
  try { fs.unlinkSync(CRASH_FILE); } catch (_) {}
}
process.exit(code);
"#;

fn sh_str(path: &Path) -> String {
    format!("'{}'", path.to_string_lossy().replace('\'', "'\\''"))
}

/// The bash wrapper (`instar-boot.sh`), for manual use and systemd units.
pub fn sh_wrapper(state_dir: &Path, version: Version) -> String {
    let s = |rel: &str| sh_str(&state_dir.join(rel));
    let reinstall = version >= boundary::BOOT_WRAPPER_SELF_REINSTALL;
    let prepend = version >= boundary::BOOT_MARKER_PREPEND_NODE_PATH;
    let mut out = String::new();
    out.push_str("#!/bin/bash\n");
    out.push_str("# instar boot wrapper, written by instar-doctor for this project.\n");
    out.push_str(&format!(
        "SHADOW={}\n",
        s("shadow-install/node_modules/instar/dist/cli.js")
    ));
    out.push_str(&format!("SHADOW_DIR={}\n", s("shadow-install")));
    out.push_str(&format!("CRASH_FILE={}\n", s("state/boot-crashes.txt")));
    out.push_str(&format!(
        "HEAL_MARKER={}\n\n",
        s("shadow-install.heal-attempted")
    ));
    out.push_str("if [ ! -f \"$SHADOW\" ]; then\n");
    if reinstall {
        out.push_str(
            r#"  now=$(date +%s)
  last=$(cat "$HEAL_MARKER" 2>/dev/null || echo 0)
  if [ "${#last}" -gt 10 ]; then last=$((last / 1000)); fi
  if [ $((now - last)) -gt 300 ]; then
    echo "$now" > "$HEAL_MARKER"
    mkdir -p "$SHADOW_DIR"
    if [ ! -f "$SHADOW_DIR/package.json" ]; then
      echo '{"name":"instar-shadow","private":true,"dependencies":{"instar":"latest"}}' > "$SHADOW_DIR/package.json"
    fi
"#,
        );
        if prepend {
            out.push_str(
                r#"    export PATH="$(dirname "$(command -v node)"):$PATH"
    export npm_config_scripts_prepend_node_path=true
"#,
            );
        }
        out.push_str(
            "    npm install --prefix \"$SHADOW_DIR\"\n  fi\nfi\nif [ ! -f \"$SHADOW\" ]; then\n",
        );
    }
    out.push_str(
        r#"  echo "ERROR: Shadow install not found at $SHADOW" >&2
  echo "Run: npm install instar --prefix $SHADOW_DIR" >&2
  exit 1
fi

if [ "$(uname)" = "Darwin" ]; then
  xattr -rd com.apple.quarantine "$SHADOW_DIR" 2>/dev/null
  xattr -rd com.apple.provenance "$SHADOW_DIR" 2>/dev/null
fi

mkdir -p "$(dirname "$CRASH_FILE")"
node "$SHADOW" "$@"
code=$?
if [ "$code" -ne 0 ]; then
  now=$(date +%s)
  echo "$now" >> "$CRASH_FILE"
  recent=$(awk -v now="$now" 'now - $1 <= 120 { n++ } END { print n + 0 }' "$CRASH_FILE")
  tail -n 20 "$CRASH_FILE" > "$CRASH_FILE.tmp" && mv "$CRASH_FILE.tmp" "$CRASH_FILE"
  if [ "$recent" -ge 3 ]; then
    delay=$((recent * 10))
    if [ "$delay" -gt 120 ]; then delay=120; fi
    sleep "$delay"
  fi
else
  rm -f "$CRASH_FILE"
fi
exit "$code"
"#,
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::version::NEWEST_KNOWN;

    /// The interpreters' own verdict on our wrappers, when they are installed.
    #[test]
    fn node_and_bash_accept_our_wrappers() {
        let dir = tempfile::tempdir().unwrap();
        for version in [Version::new(0, 28, 44), NEWEST_KNOWN] {
            let state = Path::new("/p q/'quoted'/.instar");
            let js = dir.path().join("w.cjs");
            let sh = dir.path().join("w.sh");
            std::fs::write(&js, node_wrapper(state, version)).unwrap();
            std::fs::write(&sh, sh_wrapper(state, version)).unwrap();
            for (program, flag, file) in [("node", "--check", &js), ("bash", "-n", &sh)] {
                match std::process::Command::new(program)
                    .arg(flag)
                    .arg(file)
                    .output()
                {
                    Ok(out) => assert!(
                        out.status.success(),
                        "{program} {flag} at {version}: {}",
                        String::from_utf8_lossy(&out.stderr)
                    ),
                    Err(_) => eprintln!("skipped: {program} is not installed"),
                }
            }
        }
    }
}

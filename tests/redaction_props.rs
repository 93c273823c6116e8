//! Property: no planted secret and no PEM body line ever reaches any output (design §3, §8).
//!
//! Each case builds an agent from the healthy registry fixture, plants distinctive random
//! tokens under secret keys of config.json, the machine identity and the registry (string and
//! bare values, keys split from their values across lines, secret-store placeholder objects
//! with the marker before or after the value, duplicated members), writes PEM keys and temp
//! copies of them with random bodies, then damages every file at random (truncation, flipped
//! bytes, inserted `,` and `:`, duplicated members). It renders everything the doctor prints, in
//! process for speed: the human report (plain, `-v`, `-q`), json, sarif, github, junit,
//! `--diff` with and without `--unsafe-fixes`, the `-i` preview of every fixable finding,
//! `explain` of every code found, and a fix run driven by a scripted confirmer, with what it
//! prints after (handled findings, the report, the JSON document), its manifest and `undo`.
//!
//! A token whose key *name* the damage altered is no longer under a secret key, and nothing
//! can tell it from ordinary data: those are not checked. Everything else is, including the
//! halves of a token split by a flipped quote or newline (any 10-character run of it).
//!
//! CI runs 64 cases; `PROPTEST_CASES=2000 cargo test --test redaction_props` runs more.

use std::fs;
use std::path::{Path, PathBuf};

use proptest::prelude::*;

use instar_doctor::checks;
use instar_doctor::diag::Severity;
use instar_doctor::engine::{self, Context, Selection};
use instar_doctor::prompt;
use instar_doctor::render::{self, human::HumanOptions};
use instar_doctor::repair::{self, RepairOptions};
use instar_doctor::version::{Version, NEWEST_KNOWN};
use instar_doctor::write;

/// A small deterministic generator: proptest picks the seed, the case is a function of it.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        // xorshift64*
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn chance(&mut self, percent: usize) -> bool {
        self.below(100) < percent
    }
    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
    fn token(&mut self) -> String {
        const ALNUM: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
        let mut t = String::from("zq");
        for _ in 0..22 {
            t.push(*self.pick(ALNUM) as char);
        }
        t
    }
}

/// A file under construction: its bytes and, per byte, which planted secret's key name it
/// belongs to (0: none), so damage can tell which secrets lost their key.
#[derive(Default, Clone)]
struct Doc {
    bytes: Vec<u8>,
    names: Vec<usize>,
}

impl Doc {
    fn push(&mut self, text: &str) {
        self.bytes.extend_from_slice(text.as_bytes());
        self.names.extend(std::iter::repeat_n(0, text.len()));
    }
    /// Appends `"name"` tagged as the key of secret `id`.
    fn key(&mut self, name: &str, id: usize) {
        self.push("\"");
        self.bytes.extend_from_slice(name.as_bytes());
        self.names.extend(std::iter::repeat_n(id, name.len()));
        self.push("\"");
    }
    fn insert(&mut self, at: usize, bytes: &[u8], names: &[usize]) {
        self.bytes.splice(at..at, bytes.iter().copied());
        self.names.splice(at..at, names.iter().copied());
    }
}

struct Planted {
    tokens: Vec<String>,
    /// Secrets whose key name was damaged: no longer recognisably secret.
    exempt: Vec<bool>,
    pem_lines: Vec<String>,
}

impl Planted {
    fn plant(&mut self, rng: &mut Rng) -> (usize, String) {
        let token = rng.token();
        self.tokens.push(token.clone());
        self.exempt.push(false);
        (self.tokens.len(), token)
    }
}

const SECRET_KEYS: &[&str] = &[
    "authToken",
    "dashboardPin",
    "contextSigningKey",
    "anthropicApiKey",
    "botToken",
    "appToken",
    "chatId",
    "token",
    "dbPassword",
    "openai_api_key",
    "webhookSecret",
];

/// A secret member: `"key": value` in one of the shapes that exist in the wild.
fn secret_member(doc: &mut Doc, rng: &mut Rng, planted: &mut Planted, indent: &str) {
    let (id, token) = planted.plant(rng);
    match rng.below(7) {
        // "key": "token" / "key": token (a bare value, as a chatId number is)
        0 | 1 => {
            doc.key(rng.pick::<&str>(SECRET_KEYS), id);
            if rng.chance(50) {
                doc.push(&format!(": \"{token}\""));
            } else {
                doc.push(&format!(": {token}"));
            }
        }
        // The value on the line after its key.
        2 => {
            doc.key(rng.pick::<&str>(SECRET_KEYS), id);
            doc.push(&format!(":\n{indent}    \"{token}\""));
        }
        // Nested the way instar nests them.
        3 => {
            let (outer, inner) = *rng.pick(&[
                ("tunnel", "token"),
                ("feedback", "sharedSecret"),
                ("telegram", "chatId"),
                ("slack", "appToken"),
            ]);
            doc.push(&format!("\"{outer}\": {{\"enabled\": true, "));
            doc.key(inner, id);
            doc.push(&format!(": \"{token}\"}}"));
        }
        // A placeholder object, its marker after the value, lines away.
        4 => {
            doc.push(&format!("\"database{id}\": {{\n{indent}    "));
            doc.key("value", 0);
            doc.push(&format!(": \"{token}\",\n"));
            for i in 0..rng.below(6) {
                doc.push(&format!("{indent}    \"filler{i}\": {i},\n"));
            }
            doc.push(&format!("{indent}    "));
            doc.key("secret", id);
            doc.push(&format!(": true\n{indent}  }}"));
        }
        // A placeholder object, its marker first.
        5 => {
            doc.push(&format!("\"store{id}\": {{"));
            doc.key("secret", id);
            doc.push(&format!(": true, \"value\": \"{token}\"}}"));
        }
        // A private key inline, as the old S/identity.json holds it.
        _ => {
            doc.key("privateKey", id);
            doc.push(&format!(
                ": \"-----BEGIN PRIVATE KEY-----\\n{token}\\n-----END PRIVATE KEY-----\\n\""
            ));
        }
    }
}

const PLAIN: &[&str] = &[
    "\"projectName\": \"echo-demo\"",
    "\"port\": 4040",
    "\"host\": \"127.0.0.1\"",
    "\"scheduler\": {\"enabled\": true}",
    "\"sessions\": {\"maxSessions\": 3}",
    "\"messaging\": {\"type\": \"telegram\", \"enabled\": true, \"config\": {\"token\": {\"secret\": true}}}",
    "\"note\": \"rotate the token: then report\"",
];

/// A JSON object of plain and secret members; `head` are members of the original file kept.
fn object(rng: &mut Rng, planted: &mut Planted, head: &[String]) -> Doc {
    let mut doc = Doc::default();
    doc.push("{\n");
    let mut members: Vec<Option<String>> = head.iter().cloned().map(Some).collect();
    for _ in 0..1 + rng.below(4) {
        members.insert(rng.below(members.len() + 1), None);
    }
    for _ in 0..rng.below(4) {
        members.insert(
            rng.below(members.len() + 1),
            Some(rng.pick(PLAIN).to_string()),
        );
    }
    for (i, member) in members.iter().enumerate() {
        doc.push("  ");
        match member {
            Some(text) => doc.push(text),
            None => secret_member(&mut doc, rng, planted, ""),
        }
        doc.push(if i + 1 < members.len() { ",\n" } else { "\n" });
    }
    doc.push("}\n");
    doc
}

/// The members of a fixture's JSON object, one per top-level entry, as text.
fn members_of(path: &Path) -> Vec<String> {
    let value: serde_json::Value = serde_json::from_slice(&fs::read(path).unwrap()).unwrap();
    value
        .as_object()
        .unwrap()
        .iter()
        .map(|(k, v)| format!("{}: {}", serde_json::to_string(k).unwrap(), v))
        .collect()
}

/// Random damage: what a crash, a bad merge or a careless edit leaves behind.
fn damage(doc: &mut Doc, rng: &mut Rng, planted: &mut Planted) {
    for _ in 0..rng.below(4) {
        if doc.bytes.is_empty() {
            return;
        }
        match rng.below(5) {
            0 => {
                // A placeholder's marker can come after its value: cut off, the value left
                // behind is ordinary data.
                let at = rng.below(doc.bytes.len() + 1);
                for &id in doc.names[at..].iter().filter(|id| **id != 0) {
                    planted.exempt[id - 1] = true;
                }
                doc.bytes.truncate(at);
                doc.names.truncate(at);
            }
            1 => {
                let at = rng.below(doc.bytes.len());
                let byte = if rng.chance(50) {
                    *rng.pick(b"\"\n:,{}[]\\ ")
                } else {
                    rng.below(256) as u8
                };
                doc.bytes[at] = byte;
                if doc.names[at] != 0 {
                    planted.exempt[doc.names[at] - 1] = true;
                }
            }
            2 => {
                let at = rng.below(doc.bytes.len() + 1);
                let junk: &[u8] = rng.pick::<&[u8]>(&[b",", b":", b",:", b"\""]);
                // Inside a key name it is damage to that name.
                if at > 0 && at < doc.names.len() && doc.names[at - 1] != 0 && doc.names[at] != 0 {
                    planted.exempt[doc.names[at] - 1] = true;
                }
                doc.insert(at, junk, &vec![0; junk.len()]);
            }
            _ => {
                // Duplicate a member's line (one that holds a quote: a key, a value, both) at
                // another line start. A bare bracket line moved elsewhere can carry a value
                // out of its placeholder object into a sibling's place with the brackets still
                // balanced, which no reading of the bytes can tell from intent.
                let starts: Vec<usize> = std::iter::once(0)
                    .chain(
                        doc.bytes
                            .iter()
                            .enumerate()
                            .filter(|(_, b)| **b == b'\n')
                            .map(|(i, _)| i + 1),
                    )
                    .filter(|&i| i < doc.bytes.len())
                    .collect();
                let holds_quote = |from: usize| {
                    doc.bytes[from..]
                        .iter()
                        .take_while(|b| **b != b'\n')
                        .any(|b| *b == b'"')
                };
                let members: Vec<usize> =
                    starts.iter().copied().filter(|&i| holds_quote(i)).collect();
                if members.is_empty() {
                    continue;
                }
                let from = *rng.pick(&members);
                let to = doc.bytes[from..]
                    .iter()
                    .position(|b| *b == b'\n')
                    .map_or(doc.bytes.len(), |p| from + p + 1);
                let bytes = doc.bytes[from..to].to_vec();
                let names = doc.names[from..to].to_vec();
                let at = *rng.pick(&starts);
                doc.insert(at, &bytes, &names);
            }
        }
    }
}

fn pem(rng: &mut Rng, planted: &mut Planted, label: &str) -> Vec<u8> {
    const B64: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut text = format!("-----BEGIN {label}-----\n");
    for _ in 0..1 + rng.below(3) {
        let line: String = (0..64).map(|_| *rng.pick(B64) as char).collect();
        planted.pem_lines.push(line.clone());
        text.push_str(&line);
        text.push('\n');
    }
    text.push_str(&format!("-----END {label}-----\n"));
    let mut doc = Doc::default();
    doc.push(&text);
    let mut ignored = Planted {
        tokens: Vec::new(),
        exempt: Vec::new(),
        pem_lines: Vec::new(),
    };
    damage(&mut doc, rng, &mut ignored);
    doc.bytes
}

fn copy_tree(from: &Path, to: &Path) {
    for entry in fs::read_dir(from).unwrap().flatten() {
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            fs::create_dir_all(&target).unwrap();
            copy_tree(&entry.path(), &target);
        } else {
            fs::copy(entry.path(), &target).unwrap();
        }
    }
}

/// Builds a damaged agent with planted secrets under `dir`.
fn build(dir: &Path, rng: &mut Rng) -> Planted {
    let base = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fixtures/registry/healthy-head");
    copy_tree(&base, dir);
    let state = dir.join(".instar");
    let mut planted = Planted {
        tokens: Vec::new(),
        exempt: Vec::new(),
        pem_lines: Vec::new(),
    };
    for rel in [
        "config.json",
        "machine/identity.json",
        "machines/registry.json",
    ] {
        let path = state.join(rel);
        let head = members_of(&path);
        let mut doc = object(rng, &mut planted, &head);
        damage(&mut doc, rng, &mut planted);
        fs::write(&path, &doc.bytes).unwrap();
    }
    let machine = state.join("machine");
    if rng.chance(50) {
        fs::write(
            machine.join("signing-key.pem"),
            pem(rng, &mut planted, "PRIVATE KEY"),
        )
        .unwrap();
    }
    if rng.chance(50) {
        let body = pem(rng, &mut planted, "PRIVATE KEY");
        fs::write(machine.join("encryption-key.pem"), body).unwrap();
    }
    // Temp copies a killed writer left: instar's and the doctor's own.
    if rng.chance(50) {
        let body = pem(rng, &mut planted, "PRIVATE KEY");
        fs::write(machine.join("signing-key.pem.tmp.999999"), body).unwrap();
    }
    if rng.chance(30) {
        let body = pem(rng, &mut planted, "PRIVATE KEY");
        fs::write(
            machine.join(".encryption-key.pem.instar-doctor.999999.tmp"),
            body,
        )
        .unwrap();
    }
    planted
}

fn assert_clean(planted: &Planted, what: &str, text: &str) {
    for (token, exempt) in planted.tokens.iter().zip(&planted.exempt) {
        if *exempt {
            continue;
        }
        for i in 0..=token.len() - 10 {
            let run = &token[i..i + 10];
            if let Some(at) = text.find(run) {
                let from = text[..at]
                    .rfind('\n')
                    .map_or(0, |p| text[..p].rfind('\n').map_or(0, |q| q + 1));
                let to = text[at..].find('\n').map_or(text.len(), |p| at + p);
                panic!(
                    "{what}: planted secret {token} leaked ({run}):\n{}",
                    &text[from..to]
                );
            }
        }
    }
    for line in &planted.pem_lines {
        for i in (0..=line.len() - 16).step_by(8) {
            let run = &line[i..i + 16];
            assert!(
                !text.contains(run),
                "{what}: a PEM body line leaked ({run}):\n{text}"
            );
        }
    }
}

fn context(dir: &Path, version: Version) -> Context {
    Context::at_version(dir.to_path_buf(), version, 1_795_000_000)
}

fn human(verbose: bool, quiet: bool) -> HumanOptions {
    HumanOptions {
        color: false,
        width: 80,
        quiet,
        verbose,
        threshold: Severity::Info,
        hint: true,
        cwd: None,
        command: None,
    }
}

/// Every output of a check run, and of a fix run on the same tree.
fn every_output(dir: &Path, version: Version, rng: &mut Rng, planted: &Planted) {
    let cx = context(dir, version);
    let report = engine::run(&cx, &Selection::default());
    let check = |what: &str, text: &str| assert_clean(planted, what, text);

    check(
        "human",
        &render::human::render(&cx, &report, &human(false, false)),
    );
    check(
        "human -v",
        &render::human::render(&cx, &report, &human(true, false)),
    );
    check(
        "human -q",
        &render::human::render(&cx, &report, &human(false, true)),
    );
    let doc = render::json::document(&cx, &report, 1);
    check("json", &render::json::to_string(&doc));
    let repo = render::paths::RepoPaths::discover(dir, None);
    check("sarif", &render::sarif::render(&doc, Some(&repo)));
    check("github", &render::github::render(&doc, Some(&repo)));
    check("junit", &render::junit::render(&doc, "error"));
    check("--diff", &render::diff::report_diff(&cx, &report, false).0);
    check(
        "--diff --unsafe-fixes",
        &render::diff::report_diff(&cx, &report, true).0,
    );
    for d in &report.diagnostics {
        if d.fix.is_some() {
            check(
                "-i preview",
                &render::diff::preview(&cx, d, &human(false, false)),
            );
        }
        let code = checks::find_code(d.code.id).expect("a known code");
        check(
            "explain",
            &format!("{}\n{}\n{}", code.id, code.summary, code.explain),
        );
    }

    // A fix run answered through the real prompt, fed a script of yes and no from the case's
    // generator: everything `-i` prints before each question is checked.
    let script: String = (0..64)
        .map(|_| if rng.chance(60) { "y\n" } else { "n\n" })
        .collect();
    let interrupt = std::sync::atomic::AtomicBool::new(false);
    let mut confirmer = prompt::TerminalConfirmer {
        human: human(false, false),
        lines: prompt::line_reader(std::io::Cursor::new(script.into_bytes())),
        out: Vec::new(),
        interrupt: &interrupt,
    };
    let make = || context(dir, version);
    let run_checks = |cx: &Context| engine::run(cx, &Selection::default());
    let env = repair::RepairEnv {
        new_context: &make,
        check: &run_checks,
        interrupt: &interrupt,
        lock_pass: None,
    };
    let opts = RepairOptions {
        unsafe_fixes: true,
        interactive: true,
    };
    let result = repair::repair(&env, &opts, &mut confirmer);
    check("-i prompt", &String::from_utf8_lossy(&confirmer.out));
    match result {
        Ok(outcome) => {
            let cx = &outcome.cx;
            let run = outcome.run_id.as_deref();
            check(
                "fix: handled",
                &render::human::render_fixed(cx, &outcome.handled, run),
            );
            check(
                "fix: report",
                &render::human::render(cx, &outcome.report, &human(false, false)),
            );
            let doc = render::json::document_after_fix(cx, &outcome.report, &outcome.handled, 1);
            check("fix: json", &render::json::to_string(&doc));
            if let Some(run) = run {
                let manifest = dir
                    .join(".instar/doctor/runs")
                    .join(run)
                    .join("manifest.json");
                check(
                    "fix: manifest",
                    &String::from_utf8_lossy(&fs::read(manifest).unwrap()),
                );
                let state = dir.join(".instar");
                match write::undo(dir, &state, None, false) {
                    Ok(done) => check(
                        "undo",
                        &format!(
                            "undid run {}: restored {}",
                            done.run_id,
                            done.restored.join(", ")
                        ),
                    ),
                    Err(err) => check("undo refused", &err.to_string()),
                }
            }
        }
        Err(err) => check("fix failed", &err.to_string()),
    }
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: std::env::var("PROPTEST_CASES").ok().and_then(|c| c.parse().ok()).unwrap_or(64),
        failure_persistence: None,
        // CI explores the same cases every run, so the suite never passes or fails by chance;
        // PROPTEST_RNG_SEED=<n> (with PROPTEST_CASES) explores others.
        rng_seed: match std::env::var("PROPTEST_RNG_SEED").ok().and_then(|s| s.parse().ok()) {
            Some(seed) => proptest::test_runner::RngSeed::Fixed(seed),
            None => proptest::test_runner::RngSeed::Fixed(0x1d0c_70a5_5eed),
        },
        ..ProptestConfig::default()
    })]

    #[test]
    fn no_planted_secret_reaches_any_output(seed in any::<u64>(), old_rules in any::<bool>()) {
        let mut rng = Rng(seed | 1);
        let dir = tempfile::tempdir().unwrap();
        let planted = build(dir.path(), &mut rng);
        // Debugging aid: REDACTION_PROPS_KEEP=<dir> keeps a copy of every case's tree there.
        if let Ok(keep) = std::env::var("REDACTION_PROPS_KEEP") {
            let to = Path::new(&keep).join(seed.to_string());
            fs::create_dir_all(&to).unwrap();
            copy_tree(dir.path(), &to);
        }
        let version = if old_rules { "0.28.44".parse().unwrap() } else { NEWEST_KNOWN };
        every_output(dir.path(), version, &mut rng, &planted);
    }
}

/// Replays one case, keeping its tree: `REDACTION_PROPS_SEED=<seed> REDACTION_PROPS_KEEP=<dir>
/// cargo test --test redaction_props replay -- --ignored` (`old_rules` from
/// `REDACTION_PROPS_OLD_RULES=1`).
#[test]
#[ignore = "a debugging aid for a failing seed"]
fn replay() {
    let seed: u64 = std::env::var("REDACTION_PROPS_SEED")
        .expect("REDACTION_PROPS_SEED")
        .parse()
        .unwrap();
    let old_rules = std::env::var_os("REDACTION_PROPS_OLD_RULES").is_some();
    let mut rng = Rng(seed | 1);
    let dir = tempfile::tempdir().unwrap();
    let planted = build(dir.path(), &mut rng);
    if let Ok(keep) = std::env::var("REDACTION_PROPS_KEEP") {
        let to = Path::new(&keep).join(seed.to_string());
        fs::create_dir_all(&to).unwrap();
        copy_tree(dir.path(), &to);
    }
    let version = if old_rules {
        "0.28.44".parse().unwrap()
    } else {
        NEWEST_KNOWN
    };
    every_output(dir.path(), version, &mut rng, &planted);
}

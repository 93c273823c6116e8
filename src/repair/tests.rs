//! The fix loop driven by a scripted confirmer and findings of the tests' own: each word "bad"
//! in a file is a finding whose safe fix turns it into "good". Special words make fixes that
//! fail their verification or never converge.

use std::cell::Cell;
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;

use super::*;
use crate::diag::{Code, Effect, Severity};
use crate::engine::CheckOutcome;
use crate::fix::{Applicability, Change, Fix};
use crate::prompt::{Answer, Scripted};
use crate::runs::{self, RunStatus};

static BAD: Code = Code {
    id: "test/bad",
    severity: Severity::Error,
    fix: Some(Applicability::Safe),
    summary: "bad",
    explain: "",
};
static WORSE: Code = Code {
    id: "test/worse",
    severity: Severity::Error,
    fix: Some(Applicability::Safe),
    summary: "worse",
    explain: "",
};
static EVEN: Code = Code {
    id: "test/even",
    severity: Severity::Error,
    fix: Some(Applicability::Safe),
    summary: "even",
    explain: "",
};
static ODD: Code = Code {
    id: "test/odd",
    severity: Severity::Error,
    fix: Some(Applicability::Safe),
    summary: "odd",
    explain: "",
};

struct Agent {
    _dir: tempfile::TempDir,
    project: PathBuf,
    state: PathBuf,
}

impl Agent {
    fn new(files: &[(&str, &str)]) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let project = dir.path().to_path_buf();
        let state = project.join(".instar");
        fs::create_dir_all(&state).unwrap();
        for (name, text) in files {
            fs::write(state.join(name), text).unwrap();
        }
        Agent {
            _dir: dir,
            project,
            state,
        }
    }

    fn read(&self, name: &str) -> String {
        fs::read_to_string(self.state.join(name)).unwrap()
    }

    fn context(&self) -> Context {
        Context::at_version(self.project.clone(), crate::version::NEWEST_KNOWN, 0)
    }
}

/// The test checks: in every `*.txt` of `.instar/`, each "bad" is a finding fixed to "good";
/// "stuck" is a finding whose fix leaves it in place (verification fails); "grow" reports
/// `test/even` or `test/odd` by the file's length, fixed by adding a byte (never converges).
fn check(cx: &Context) -> Report {
    let mut diagnostics = Vec::new();
    let mut names = cx.list_dir(&cx.state_dir);
    names.retain(|n| n.ends_with(".txt"));
    for name in names {
        let path = cx.state_dir.join(&name);
        let Some(bytes) = cx.file(&path).loaded().map(|l| l.bytes.clone()) else {
            continue;
        };
        let text = String::from_utf8_lossy(&bytes).into_owned();
        let mut edit = |code: &'static Code, span: std::ops::Range<usize>, to: &str| {
            diagnostics.push(
                Diagnostic::new(code, Effect::Silent, format!("{} in {name}", code.id))
                    .file(&path)
                    .at(span.clone(), "here")
                    .fix(Some(Fix::safe(
                        format!("fix {}", code.id),
                        vec![Change::Edit {
                            file: path.clone().into(),
                            span,
                            replacement: to.into(),
                        }],
                    ))),
            );
        };
        for (at, _) in text.match_indices("bad") {
            edit(&BAD, at..at + 3, "good");
        }
        for (at, _) in text.match_indices("worse") {
            edit(&WORSE, at..at + 5, "fine");
        }
        for (at, _) in text.match_indices("stuck") {
            edit(&BAD, at..at + 5, "stuck ");
        }
        if text.contains("grow") {
            let code = if text.len().is_multiple_of(2) {
                &EVEN
            } else {
                &ODD
            };
            edit(code, text.len()..text.len(), "+");
        }
    }
    Report {
        checks: vec![CheckOutcome {
            id: "test",
            status: crate::engine::CheckStatus::Ok,
            duration_ms: 0.0,
        }],
        diagnostics,
    }
}

fn run_with(
    agent: &Agent,
    interactive: bool,
    confirm: &mut dyn Confirmer,
    check: &dyn Fn(&Context) -> Report,
    interrupt: &AtomicBool,
) -> Result<RepairOutcome, RepairError> {
    let new_context = || agent.context();
    let env = RepairEnv {
        new_context: &new_context,
        check,
        interrupt,
        lock_pass: None,
    };
    let opts = RepairOptions {
        unsafe_fixes: false,
        interactive,
    };
    repair(&env, &opts, confirm)
}

fn run(agent: &Agent, answers: &[Answer]) -> (Result<RepairOutcome, RepairError>, Scripted) {
    let mut script = Scripted::new(answers);
    let flag = AtomicBool::new(false);
    let result = run_with(agent, true, &mut script, &check, &flag);
    (result, script)
}

fn statuses(outcome: &RepairOutcome) -> Vec<FixStatus> {
    outcome.handled.iter().map(|d| d.fix_status).collect()
}

fn committed(state: &Path) -> usize {
    runs::all(state)
        .iter()
        .filter(|m| m.status == RunStatus::Committed)
        .count()
}

#[test]
fn accepted_fixes_are_applied_and_committed() {
    let agent = Agent::new(&[("a.txt", "bad bad")]);
    let (result, script) = run(&agent, &[Answer::Yes, Answer::Yes]);
    let outcome = result.unwrap();
    assert_eq!(agent.read("a.txt"), "good good");
    assert_eq!(statuses(&outcome), [FixStatus::Applied, FixStatus::Applied]);
    // Both fixes are offered in one pass: a counter over that pass.
    let counters: Vec<(usize, usize)> = script.asked.iter().map(|a| (a.1, a.2)).collect();
    assert_eq!(counters, [(1, 2), (2, 2)]);
    assert!(outcome.run_id.is_some());
    assert_eq!(committed(&agent.state), 1);
}

#[test]
fn declined_fixes_change_nothing_and_are_not_asked_again() {
    let agent = Agent::new(&[("a.txt", "bad")]);
    let (result, script) = run(&agent, &[Answer::No]);
    let outcome = result.unwrap();
    assert_eq!(agent.read("a.txt"), "bad");
    assert_eq!(statuses(&outcome), [FixStatus::Declined]);
    assert_eq!(script.asked.len(), 1);
    assert_eq!(outcome.run_id, None);
    assert!(
        runs::all(&agent.state).is_empty(),
        "a run that changed nothing leaves nothing"
    );
}

#[test]
fn quit_applies_what_was_accepted_and_asks_nothing_more() {
    let agent = Agent::new(&[("a.txt", "bad bad"), ("b.txt", "bad")]);
    let (result, script) = run(&agent, &[Answer::Yes, Answer::Quit]);
    let outcome = result.unwrap();
    assert_eq!(agent.read("a.txt"), "good bad");
    assert_eq!(agent.read("b.txt"), "bad");
    assert_eq!(script.asked.len(), 2);
    assert_eq!(
        statuses(&outcome),
        [FixStatus::Declined, FixStatus::Declined, FixStatus::Applied]
    );
}

#[test]
fn all_applies_every_remaining_fix_of_the_same_code_without_asking() {
    let agent = Agent::new(&[("a.txt", "bad bad"), ("b.txt", "bad")]);
    let (result, script) = run(&agent, &[Answer::All]);
    result.unwrap();
    assert_eq!(agent.read("a.txt"), "good good");
    assert_eq!(agent.read("b.txt"), "good");
    assert_eq!(script.asked.len(), 1);

    // Thousands of fixes stay usable: `a` answers for its own code, and the others are still
    // asked about (issue #11).
    let agent = Agent::new(&[("a.txt", "bad worse bad"), ("b.txt", "worse bad")]);
    let (result, script) = run(&agent, &[Answer::All, Answer::No, Answer::Yes]);
    result.unwrap();
    assert_eq!(agent.read("a.txt"), "good worse good");
    assert_eq!(agent.read("b.txt"), "fine good");
    assert_eq!(script.asked.len(), 3);
}

#[test]
fn skip_file_declines_the_rest_of_that_file_only() {
    let agent = Agent::new(&[("a.txt", "bad bad bad"), ("b.txt", "bad")]);
    let (result, script) = run(&agent, &[Answer::Yes, Answer::SkipFile, Answer::Yes]);
    result.unwrap();
    assert_eq!(agent.read("a.txt"), "good bad bad");
    assert_eq!(agent.read("b.txt"), "good");
    let files: Vec<(usize, usize)> = script.asked.iter().map(|a| (a.1, a.2)).collect();
    // The third fix of a.txt (3/4) was not asked; b.txt's is 4/4.
    assert_eq!(files, [(1, 4), (2, 4), (4, 4)]);
}

#[test]
fn an_interrupt_at_the_prompt_rolls_back_and_exits_130() {
    let agent = Agent::new(&[("a.txt", "bad"), ("b.txt", "bad bad")]);
    // The first file's fix is accepted and (in a later pass after `b`'s) would be written; the
    // interrupt comes at the second question.
    let (result, script) = run(&agent, &[Answer::Yes, Answer::Interrupt]);
    let err = result.err().expect("interrupted");
    assert!(matches!(err, RepairError::Interrupted(_)));
    assert_eq!(err.exit_code(), 130);
    assert_eq!(script.asked.len(), 2, "nothing is asked after Ctrl-C");
    assert_eq!(agent.read("a.txt"), "bad");
    assert_eq!(agent.read("b.txt"), "bad bad");
    assert_eq!(committed(&agent.state), 0);
}

/// Ctrl-C while the final re-check runs: the run is rolled back, not committed.
#[test]
fn an_interrupt_during_the_final_recheck_is_honoured() {
    let agent = Agent::new(&[("a.txt", "bad")]);
    let flag = AtomicBool::new(false);
    let calls = Cell::new(0);
    let checking = |cx: &Context| {
        calls.set(calls.get() + 1);
        if calls.get() == 2 {
            // The re-check after the only pass's writes.
            flag.store(true, Ordering::SeqCst);
        }
        check(cx)
    };
    let mut script = Scripted::new(&[]);
    let result = run_with(&agent, false, &mut script, &checking, &flag);
    assert!(matches!(result, Err(RepairError::Interrupted(_))));
    assert_eq!(agent.read("a.txt"), "bad");
    assert_eq!(committed(&agent.state), 0);
    assert_eq!(runs::all(&agent.state)[0].status, RunStatus::RolledBack);
}

#[test]
fn a_fix_that_fails_verification_rolls_the_run_back() {
    let agent = Agent::new(&[("a.txt", "bad"), ("b.txt", "stuck")]);
    let mut script = Scripted::new(&[]);
    let flag = AtomicBool::new(false);
    let result = run_with(&agent, false, &mut script, &check, &flag);
    let err = result.err().expect("rolled back");
    assert!(matches!(err, RepairError::RolledBack(_)), "{err}");
    assert_eq!(err.exit_code(), 2);
    assert_eq!(agent.read("a.txt"), "bad", "the whole run is rolled back");
    assert_eq!(agent.read("b.txt"), "stuck");
    assert_eq!(committed(&agent.state), 0);
}

#[test]
fn a_loop_that_does_not_converge_is_rolled_back_at_the_cap() {
    let agent = Agent::new(&[("a.txt", "grow")]);
    let mut script = Scripted::new(&[]);
    let flag = AtomicBool::new(false);
    let result = run_with(&agent, false, &mut script, &check, &flag);
    let err = result.err().expect("not converged");
    assert!(matches!(err, RepairError::NotConverged(_)), "{err}");
    assert_eq!(err.exit_code(), 2);
    assert_eq!(agent.read("a.txt"), "grow");
    assert_eq!(committed(&agent.state), 0);
}

/// A pass lock of the tests' own: records each take, and reports itself broken when asked.
struct TestLock {
    broken: bool,
}

impl PassLock for TestLock {
    fn intact(&self) -> bool {
        !self.broken
    }
}

fn run_locked(agent: &Agent, lock_pass: LockPass<'_>) -> Result<RepairOutcome, RepairError> {
    let new_context = || agent.context();
    let flag = AtomicBool::new(false);
    let env = RepairEnv {
        new_context: &new_context,
        check: &check,
        interrupt: &flag,
        lock_pass: Some(lock_pass),
    };
    let opts = RepairOptions {
        unsafe_fixes: false,
        interactive: false,
    };
    repair(&env, &opts, &mut Scripted::new(&[]))
}

#[test]
fn each_pass_writes_under_the_pass_lock_taken_for_its_findings() {
    let agent = Agent::new(&[("a.txt", "bad")]);
    let takes: std::cell::RefCell<Vec<Option<Vec<&'static str>>>> = Default::default();
    let lock = |pass: Option<&[&Diagnostic]>| {
        takes
            .borrow_mut()
            .push(pass.map(|p| p.iter().map(|d| d.code.id).collect()));
        Ok(Box::new(TestLock { broken: false }) as Box<dyn PassLock>)
    };
    let outcome = run_locked(&agent, &lock).unwrap();
    assert_eq!(outcome.fixed(), 1);
    assert_eq!(agent.read("a.txt"), "good");
    assert_eq!(*takes.borrow(), vec![Some(vec!["test/bad"])]);
}

#[test]
fn a_lock_broken_during_the_writes_rolls_the_pass_back_under_the_lock() {
    let agent = Agent::new(&[("a.txt", "bad")]);
    let takes = Cell::new(0);
    let lock = |_: Option<&[&Diagnostic]>| {
        takes.set(takes.get() + 1);
        // The first take (the pass) is broken meanwhile; the second (the rollback) holds.
        Ok(Box::new(TestLock {
            broken: takes.get() == 1,
        }) as Box<dyn PassLock>)
    };
    let err = run_locked(&agent, &lock)
        .err()
        .expect("the run is rolled back");
    assert!(err.to_string().contains("broke the lock"), "{err}");
    assert_eq!(agent.read("a.txt"), "bad");
    assert_eq!(takes.get(), 2, "the rollback took the lock again");
}

#[test]
fn a_lock_that_cannot_be_taken_writes_nothing() {
    let agent = Agent::new(&[("a.txt", "bad")]);
    let lock = |_: Option<&[&Diagnostic]>| Err("held by another writer".to_string());
    let err = run_locked(&agent, &lock).err().expect("refused");
    assert!(err.to_string().contains("held by another writer"), "{err}");
    assert_eq!(agent.read("a.txt"), "bad");
}

#[test]
fn a_failed_fix_reason_is_scrubbed_before_it_joins_the_help() {
    // Findings are scrubbed when collected; the failure reason is added after, so it must be
    // scrubbed on its own.
    let d = Diagnostic::new(&BAD, Effect::Fatal, "bad".to_string());
    let reason = r#"the file now reads {"authToken": "s3cr3t-t0ken-value"}"#.to_string();
    let handled = apply::take_handled(
        vec![d],
        &plan::Chosen::of(&[0]),
        apply::Outcomes::failed([(0, reason)]),
    );
    assert_eq!(handled[0].fix_status, FixStatus::Failed);
    let help = handled[0].help.as_deref().unwrap();
    assert!(help.starts_with("the fix was not applied: "), "{help}");
    assert!(!help.contains("s3cr3t-t0ken-value"), "{help}");
}

/// `check`, and in every `*.txt` each "twin" is two findings (`test/bad` and `test/worse`)
/// that share one fix, to "pair": an entry's problems and its quarantine share one so.
fn check_twins(cx: &Context) -> Report {
    let mut report = check(cx);
    for name in cx.list_dir(&cx.state_dir) {
        let path = cx.state_dir.join(&name);
        let Some(bytes) = cx.file(&path).loaded().map(|l| l.bytes.clone()) else {
            continue;
        };
        let text = String::from_utf8_lossy(&bytes).into_owned();
        for (at, _) in text.match_indices("twin") {
            let fix = Fix::safe(
                "fix the twins",
                vec![Change::Edit {
                    file: path.clone().into(),
                    span: at..at + 4,
                    replacement: "pair".into(),
                }],
            );
            for code in [&BAD, &WORSE] {
                report.diagnostics.push(
                    Diagnostic::new(code, Effect::Silent, format!("{} twin", code.id))
                        .file(&path)
                        .at(at..at + 4, "here")
                        .fix(Some(fix.clone())),
                );
            }
        }
    }
    report
        .diagnostics
        .sort_by_key(|d| d.span.as_ref().map(|s| s.start));
    report
}

fn run_twins(agent: &Agent, answers: &[Answer]) -> (RepairOutcome, Scripted) {
    let mut script = Scripted::new(answers);
    let flag = AtomicBool::new(false);
    let interactive = !answers.is_empty();
    let outcome = run_with(agent, interactive, &mut script, &check_twins, &flag).unwrap();
    (outcome, script)
}

#[test]
fn a_fix_shared_by_findings_is_offered_and_applied_once_for_all_of_them() {
    let agent = Agent::new(&[("a.txt", "twin bad twin")]);
    let (outcome, script) = run_twins(&agent, &[]);
    assert_eq!(agent.read("a.txt"), "pair good pair");
    assert!(script.asked.is_empty());
    assert_eq!(statuses(&outcome), [FixStatus::Applied; 5]);
    let run = &runs::all(&agent.state)[0];
    // Each finding's fix is recorded, the shared ones too, as before.
    assert_eq!(run.fixes.len(), 5);

    // Asked: the first twin's fix (and its partner follows), "bad", the second twin's fix.
    let agent = Agent::new(&[("a.txt", "twin bad twin")]);
    let (outcome, script) = run_twins(&agent, &[Answer::Yes, Answer::No, Answer::No]);
    assert_eq!(agent.read("a.txt"), "pair bad twin");
    let counters: Vec<(usize, usize)> = script.asked.iter().map(|a| (a.1, a.2)).collect();
    assert_eq!(counters, [(1, 3), (2, 3), (3, 3)]);
    // Declined as they are decided, then the applied ones in report order.
    assert_eq!(
        statuses(&outcome),
        [
            FixStatus::Declined,
            FixStatus::Declined,
            FixStatus::Declined,
            FixStatus::Applied,
            FixStatus::Applied
        ]
    );
}

/// Edits that come in file order are written as they come; the others are sorted first.
/// Both write the same file.
#[test]
fn edits_out_of_file_order_are_written_in_order() {
    let reversed = |cx: &Context| {
        let mut report = check(cx);
        report.diagnostics.reverse();
        report
    };
    for check in [&check as &dyn Fn(&Context) -> Report, &reversed] {
        let agent = Agent::new(&[("a.txt", "bad, bad and bad")]);
        let flag = AtomicBool::new(false);
        let mut script = Scripted::new(&[]);
        let outcome = run_with(&agent, false, &mut script, check, &flag).unwrap();
        assert_eq!(agent.read("a.txt"), "good, good and good");
        assert_eq!(statuses(&outcome), [FixStatus::Applied; 3]);
    }
}

/// The data fixed findings saved is copied out of a file it uses little of, so that the file
/// can go before the re-check; what fills most of its file keeps sharing it.
#[test]
fn saved_data_lets_go_of_a_file_it_uses_little_of() {
    let saving = |bytes: &std::sync::Arc<Vec<u8>>, range: std::ops::Range<usize>| {
        let mut d = Diagnostic::new(&BAD, Effect::None, "saved");
        d.fix = Some(Fix::unsafe_(
            "quarantine",
            vec![Change::QuarantineData {
                name: "jobs.invalid.json".into(),
                contents: crate::fix::SharedBytes::range_of(bytes.clone(), range),
            }],
        ));
        d
    };
    let big = std::sync::Arc::new(vec![b'x'; 10_000]);
    let small = std::sync::Arc::new(b"[{\"a\":1},{\"b\":2}]".to_vec());
    let mut found = vec![
        saving(&big, 10..20),
        saving(&small, 1..8),
        saving(&big, 500..600),
        saving(&small, 9..16),
    ];
    detach_sparse_saves(&mut found);
    assert_eq!(
        std::sync::Arc::strong_count(&big),
        1,
        "the big file is let go"
    );
    assert_eq!(
        std::sync::Arc::strong_count(&small),
        3,
        "the small one is still shared"
    );
    let saved: Vec<Vec<u8>> = found
        .iter_mut()
        .flat_map(|d| d.fix.iter_mut().flat_map(Fix::saved_data_mut))
        .map(|s| s.to_vec())
        .collect();
    assert_eq!(
        saved,
        [
            vec![b'x'; 10],
            b"{\"a\":1}".to_vec(),
            vec![b'x'; 100],
            b"{\"b\":2}".to_vec()
        ]
    );
}

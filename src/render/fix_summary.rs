//! What the fixes would do, in ruff's words: how many findings `--fix` clears, how many more
//! `--unsafe-fixes` would, and the one command that clears the findings that fail the run.
//! Shared by the human report, the concise format and `--diff`'s closing line, so the three
//! never disagree.

use crate::diag::{Diagnostic, FixStatus, Severity};
use crate::fix::Applicability;

/// Findings by the fix that would clear them.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct FixCounts {
    pub safe: usize,
    pub unsafe_: usize,
    /// A fix exists but only as instructions.
    pub manual: usize,
    /// No fix at all.
    pub none: usize,
}

impl FixCounts {
    /// Counts the findings still open (a fix run's applied or declined ones are not).
    pub fn of<'a>(findings: impl IntoIterator<Item = &'a Diagnostic>) -> FixCounts {
        let mut counts = FixCounts::default();
        for d in findings {
            if d.fix_status != FixStatus::Proposed {
                continue;
            }
            match d.fix.as_ref().map(|f| f.applicability()) {
                Some(Applicability::Safe) => counts.safe += 1,
                Some(Applicability::Unsafe) => counts.unsafe_ += 1,
                Some(Applicability::Manual) => counts.manual += 1,
                None => counts.none += 1,
            }
        }
        counts
    }

    pub fn total(&self) -> usize {
        self.safe + self.unsafe_ + self.manual + self.none
    }
}

/// "3 fixable with --fix (4 hidden fixes can be enabled with --unsafe-fixes)"; with unsafe
/// fixes already enabled (`--diff --unsafe-fixes`) both count as fixable. `None` when nothing
/// can be fixed by the doctor.
pub fn fixable_line(counts: &FixCounts, unsafe_enabled: bool) -> Option<String> {
    let mut line = match (unsafe_enabled, counts.safe, counts.unsafe_) {
        (_, 0, 0) => return None,
        (true, safe, unsafe_) => format!("{} fixable with --fix --unsafe-fixes", safe + unsafe_),
        (false, safe, 0) => format!("{safe} fixable with --fix"),
        (false, 0, unsafe_) => format!(
            "no fix is safe; {} can be enabled with --unsafe-fixes",
            plural_fix(unsafe_)
        ),
        (false, safe, unsafe_) => format!(
            "{safe} fixable with --fix ({} can be enabled with --unsafe-fixes)",
            plural_fix(unsafe_)
        ),
    };
    if counts.manual > 0 {
        line.push_str(&format!(
            "; {} a manual step (each one's help says which)",
            if counts.manual == 1 {
                "1 needs".to_string()
            } else {
                format!("{} need", counts.manual)
            }
        ));
    }
    Some(line)
}

/// The line `--diff` ends with (on stderr, so the patch on stdout stays one `git apply` reads):
/// how many findings the shown changes clear and what the diff left out.
pub fn diff_summary(findings: &[Diagnostic], unsafe_enabled: bool) -> Option<String> {
    fixable_line(&FixCounts::of(findings), unsafe_enabled)
        .map(|line| format!("instar-doctor --diff: {line}"))
}

fn plural_fix(n: usize) -> String {
    if n == 1 {
        "1 hidden fix".to_string()
    } else {
        format!("{n} hidden fixes")
    }
}

/// The command a person runs: `instar-doctor`, with `--dir` when the agent is not the working
/// directory, quoted for a POSIX shell when it has to be.
pub fn command(dir: Option<&str>) -> String {
    match dir {
        Some(dir) => format!("instar-doctor --dir {}", shell_word(dir)),
        None => "instar-doctor".to_string(),
    }
}

pub fn shell_word(word: &str) -> String {
    let plain = !word.is_empty()
        && word.chars().all(|c| {
            c.is_ascii_alphanumeric() || matches!(c, '/' | '.' | '_' | '-' | '~' | ':' | '+' | ',')
        });
    if plain {
        word.to_string()
    } else {
        format!("'{}'", word.replace('\'', r"'\''"))
    }
}

/// The terminal's closing hint: the command that really clears the findings that fail the run
/// (those at or above `threshold`), or, when none fail, how to look at the fixes that remain.
/// `None` when there is nothing the doctor can fix.
pub fn hint(findings: &[Diagnostic], threshold: Severity, command: &str) -> Option<String> {
    let all = FixCounts::of(findings);
    let blocking = FixCounts::of(findings.iter().filter(|d| d.severity >= threshold));
    if all.safe + all.unsafe_ == 0 {
        return (blocking.total() > 0).then(|| {
            format!(
                "hint: the doctor cannot fix {} itself; each one's help says what to do",
                if blocking.total() == 1 {
                    "this finding".to_string()
                } else {
                    format!("these {} findings", blocking.total())
                }
            )
        });
    }
    if blocking.safe + blocking.unsafe_ == 0 {
        let left = if blocking.total() > 0 {
            format!(
                "; none of the {} that fail the run can be fixed by the doctor (see each one's help)",
                blocking.total()
            )
        } else {
            String::new()
        };
        // Name the flags that apply something: with no safe fix, `--fix` alone does nothing.
        return Some(if all.safe > 0 {
            format!(
                "hint: `{command} --fix` applies the safe fixes (to preview: `--diff`; one by one: `-i`){left}"
            )
        } else {
            format!(
                "hint: `{command} --fix --unsafe-fixes` applies the unsafe {} (to preview: `--diff --unsafe-fixes`; one by one: `-i`){left}",
                if all.unsafe_ == 1 { "fix" } else { "fixes" }
            )
        });
    }
    let flags = if blocking.unsafe_ > 0 {
        "--fix --unsafe-fixes"
    } else {
        "--fix"
    };
    let cleared = blocking.safe + blocking.unsafe_;
    let what = if cleared == blocking.total() {
        format!(
            "clears {}",
            if cleared == 1 {
                "the finding that fails the run".to_string()
            } else {
                format!("all {cleared} findings that fail the run")
            }
        )
    } else {
        format!(
            "clears {cleared} of the {} findings that fail the run (the others need the step their help names)",
            blocking.total()
        )
    };
    let preview = if blocking.unsafe_ > 0 {
        "--diff --unsafe-fixes"
    } else {
        "--diff"
    };
    Some(format!(
        "hint: `{command} {flags}` {what} (to preview: `{preview}`; one by one: `-i`)"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_fixable_line_says_what_each_level_clears() {
        let c = |safe, unsafe_, manual| FixCounts {
            safe,
            unsafe_,
            manual,
            none: 0,
        };
        assert_eq!(fixable_line(&c(0, 0, 0), false), None);
        assert_eq!(
            fixable_line(&c(3, 4, 0), false).unwrap(),
            "3 fixable with --fix (4 hidden fixes can be enabled with --unsafe-fixes)"
        );
        assert_eq!(
            fixable_line(&c(3, 4, 0), true).unwrap(),
            "7 fixable with --fix --unsafe-fixes"
        );
        assert_eq!(
            fixable_line(&c(1, 0, 2), false).unwrap(),
            "1 fixable with --fix; 2 need a manual step (each one's help says which)"
        );
        assert_eq!(
            fixable_line(&c(0, 1, 0), false).unwrap(),
            "no fix is safe; 1 hidden fix can be enabled with --unsafe-fixes"
        );
    }

    static WARNING: crate::diag::Code = crate::diag::Code {
        id: "test/warning",
        severity: Severity::Warning,
        fix: None,
        summary: "",
        explain: "",
    };

    fn warning_with(fix: crate::fix::Fix) -> Diagnostic {
        Diagnostic::new(&WARNING, crate::diag::Effect::None, "w").fix(Some(fix))
    }

    /// Nothing fails the run: the hint names the flags that apply something. With unsafe fixes
    /// only, `--fix` alone would do nothing (it used to be the command named).
    #[test]
    fn the_hint_names_flags_that_apply_something_when_nothing_fails() {
        let unsafe_only = [warning_with(crate::fix::Fix::unsafe_("u", Vec::new()))];
        assert_eq!(
            hint(&unsafe_only, Severity::Error, "instar-doctor machine").unwrap(),
            "hint: `instar-doctor machine --fix --unsafe-fixes` applies the unsafe fix (to preview: `--diff --unsafe-fixes`; one by one: `-i`)"
        );
        let both = [
            warning_with(crate::fix::Fix::safe("s", Vec::new())),
            warning_with(crate::fix::Fix::unsafe_("u", Vec::new())),
        ];
        assert_eq!(
            hint(&both, Severity::Error, "instar-doctor").unwrap(),
            "hint: `instar-doctor --fix` applies the safe fixes (to preview: `--diff`; one by one: `-i`)"
        );
    }

    #[test]
    fn commands_quote_what_a_shell_would_split() {
        assert_eq!(command(None), "instar-doctor");
        assert_eq!(
            command(Some("agents/echo")),
            "instar-doctor --dir agents/echo"
        );
        assert_eq!(
            command(Some("/tmp/my agent's")),
            r"instar-doctor --dir '/tmp/my agent'\''s'"
        );
    }
}

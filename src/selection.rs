//! `--select` and `--ignore`, read strictly.
//!
//! A CI gate configured with `--select jbos` used to run nothing and print "healthy": the typo
//! turned the gate off without a word. So every entry must name a check or a code from the
//! table, an empty entry is an error rather than "nothing", and spaces around entries are
//! forgiven (`--select 'jobs, config'`). Errors are one line, with the nearest names.

use crate::checks;
use crate::engine::Selection;
use crate::suggest;

/// Parses the values of one option (`--select` or `--ignore`; each occurrence may hold a
/// comma-separated list) into the names it selects.
pub fn parse_list(option: &str, values: &[String]) -> Result<Vec<String>, String> {
    let mut names = Vec::new();
    for value in values {
        for entry in value.split(',') {
            let name = entry.trim();
            if name.is_empty() {
                return Err(format!(
                    "{option} {value:?}: empty entry; give comma-separated check ids or codes, like `jobs,config/parse-error`"
                ));
            }
            check_name(option, name)?;
            names.push(name.to_string());
        }
    }
    Ok(names)
}

/// A name is a check id (`jobs`) or a code (`jobs/invalid-cron`) that exists.
fn check_name(option: &str, name: &str) -> Result<(), String> {
    let known = match name.split_once('/') {
        None => checks::TABLE.iter().any(|c| c.id() == name),
        Some(_) => checks::find_code(name).is_some(),
    };
    if known {
        return Ok(());
    }
    let what = match name.split_once('/') {
        None => "check",
        Some((area, tail)) if !area.is_empty() && !tail.is_empty() && !tail.contains('/') => "code",
        Some(_) => "name (a check is `area`, a code `area/kebab-name`)",
    };
    Err(format!(
        "{option}: unknown {what} `{name}`{} (`instar-doctor list` shows them all)",
        suggest::did_you_mean(name)
    ))
}

/// Both options, validated.
pub fn from_options(select: &[String], ignore: &[String]) -> Result<Selection, String> {
    Ok(Selection {
        select: parse_list("--select", select)?,
        ignore: parse_list("--ignore", ignore)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(values: &[&str]) -> Vec<String> {
        values.iter().map(|v| v.to_string()).collect()
    }

    #[test]
    fn entries_are_trimmed_and_lists_may_repeat() {
        let names = parse_list(
            "--select",
            &strings(&["jobs, config", " keys/permissions "]),
        );
        assert_eq!(names.unwrap(), ["jobs", "config", "keys/permissions"]);
    }

    #[test]
    fn empty_entries_are_refused() {
        for bad in ["", ",", "jobs,,config", "jobs,", " , jobs"] {
            let err = parse_list("--select", &strings(&[bad])).unwrap_err();
            assert!(err.contains("empty entry"), "{bad:?}: {err}");
        }
    }

    #[test]
    fn unknown_names_are_refused_with_the_nearest_one() {
        let err = parse_list("--select", &strings(&["jbos"])).unwrap_err();
        assert!(
            err.contains("unknown check `jbos`; did you mean `jobs`?"),
            "{err}"
        );
        let err = parse_list("--ignore", &strings(&["jobs/invalid-crn"])).unwrap_err();
        assert!(
            err.contains("unknown code") && err.contains("`jobs/invalid-cron`"),
            "{err}"
        );
        let err = parse_list("--select", &strings(&["jobs/"])).unwrap_err();
        assert!(err.contains("area/kebab-name"), "{err}");
        assert!(!err.contains('\n'), "one line: {err}");
    }
}

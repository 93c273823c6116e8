//! The preflight in front of instar's systemd user unit (Linux:
//! `~/.config/systemd/user/instar-<projectName>.service`, whose `ExecStart=` runs node and the
//! instar CLI directly): one `ExecStartPre=` line right after `[Service]`. systemd runs it before
//! `ExecStart=` and does not start the agent when it exits non-zero.

use std::path::Path;

/// A word as systemd's command-line syntax reads it: `%` is a specifier and `$` a variable,
/// both doubled; a word with blanks, quotes or backslashes goes in double quotes.
fn word(text: &str) -> String {
    let text = text.replace('%', "%%").replace('$', "$$");
    if text.is_empty() || text.contains([' ', '\t', '"', '\'', '\\']) {
        format!("\"{}\"", text.replace('\\', "\\\\").replace('"', "\\\""))
    } else {
        text
    }
}

/// The line: `ExecStartPre=DOCTOR preflight --dir PROJECT`.
pub fn line(doctor: &Path, project_dir: &Path) -> String {
    format!(
        "ExecStartPre={} preflight --dir {}",
        word(&doctor.display().to_string()),
        word(&project_dir.display().to_string())
    )
}

/// Whether the unit already runs a preflight before it starts.
pub fn is_installed(unit: &str) -> bool {
    unit.lines()
        .any(|l| l.trim_start().starts_with("ExecStartPre=") && l.contains(" preflight --dir "))
}

/// The unit with `line` right after its `[Service]` header; `None` without one.
pub fn with_preflight(unit: &str, line: &str) -> Option<String> {
    let mut out = String::with_capacity(unit.len() + line.len() + 1);
    let mut done = false;
    for piece in unit.split_inclusive('\n') {
        out.push_str(piece);
        if !done && piece.trim() == "[Service]" {
            if !piece.ends_with('\n') {
                out.push('\n');
            }
            out.push_str(line);
            out.push('\n');
            done = true;
        }
    }
    done.then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_are_quoted_and_specifiers_escaped() {
        assert_eq!(word("/usr/bin/instar-doctor"), "/usr/bin/instar-doctor");
        assert_eq!(word("/home/a b/x"), "\"/home/a b/x\"");
        assert_eq!(word("/srv/100%/$HOME"), "/srv/100%%/$$HOME");
        assert_eq!(word("/a\"b"), "\"/a\\\"b\"");
    }

    #[test]
    fn the_line_goes_right_after_the_service_header_once() {
        let unit = "[Unit]\nDescription=instar echo\n\n[Service]\nExecStart=/n /cli.js lifeline start --dir /srv/echo\nRestart=always\n";
        let pre = line(Path::new("/usr/bin/instar-doctor"), Path::new("/srv/echo"));
        let after = with_preflight(unit, &pre).unwrap();
        assert_eq!(
            after,
            "[Unit]\nDescription=instar echo\n\n[Service]\nExecStartPre=/usr/bin/instar-doctor preflight --dir /srv/echo\nExecStart=/n /cli.js lifeline start --dir /srv/echo\nRestart=always\n"
        );
        assert!(is_installed(&after) && !is_installed(unit));
        assert_eq!(with_preflight("[Unit]\n", &pre), None);
    }
}

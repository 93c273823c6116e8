//! The preflight in front of a launchd job: ProgramArguments that run `instar-doctor preflight`
//! and then `exec` instar's own arguments, unchanged and each still its own string.
//!
//! ```text
//! /bin/sh -c 'd=DOCTOR; "$d" preflight --dir PROJECT && exec "$0" "$@"' NODE WRAPPER ARGS...
//! ```
//!
//! The shape is chosen so that instar's lifeline, whose plist self-heal (TelegramLifeline
//! `selfHealPlist`) regenerates a plist that does not mention the .js/.cjs boot wrapper or the
//! `.instar/bin/node` link, or whose first `<string>` starting with `/` and naming node does not
//! exist, leaves it alone: the node link and the wrapper keep their own strings, and the script
//! string starts with `d=`, not `/`. With `exec`, launchd's process becomes instar's, as before.

use std::path::Path;

const SHELL: &str = "/bin/sh";
const TAIL: &str = r#"&& exec "$0" "$@""#;

/// Single-quotes a word for sh.
fn sh_quote(text: &str) -> String {
    format!("'{}'", text.replace('\'', "'\\''"))
}

/// The `-c` script: the preflight, then instar's own arguments.
pub fn script(doctor: &Path, project_dir: &Path) -> String {
    format!(
        r#"d={}; "$d" preflight --dir {} {TAIL}"#,
        sh_quote(&doctor.display().to_string()),
        sh_quote(&project_dir.display().to_string())
    )
}

/// Whether these ProgramArguments are instar's behind our preflight.
pub fn is_wrapped(args: &[String]) -> bool {
    args.len() > 3
        && args[0] == SHELL
        && args[1] == "-c"
        && args[2].starts_with("d=")
        && args[2].contains(r#""$d" preflight --dir "#)
        && args[2].ends_with(TAIL)
}

/// instar's own arguments: those behind the preflight, or all of them.
pub fn unwrap(args: Vec<String>) -> Vec<String> {
    if is_wrapped(&args) {
        args[3..].to_vec()
    } else {
        args
    }
}

/// instar's arguments behind the preflight of `doctor` for `project_dir`.
pub fn wrap(doctor: &Path, project_dir: &Path, instar: &[String]) -> Vec<String> {
    let mut args = vec![
        SHELL.to_string(),
        "-c".to_string(),
        script(doctor, project_dir),
    ];
    args.extend_from_slice(instar);
    args
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// The plist text with ProgramArguments' array replaced by `args`, everything else byte for
/// byte, each string on its own line at the indentation of the array's first one. `None` when
/// the text has no `<key>ProgramArguments</key>` followed by an `<array>`.
pub fn with_program_arguments(text: &str, args: &[String]) -> Option<String> {
    const KEY: &str = "<key>ProgramArguments</key>";
    let key = text.find(KEY)? + KEY.len();
    let open = key + text[key..].find("<array>")?;
    if !text[key..open].trim().is_empty() {
        return None;
    }
    let body_start = open + "<array>".len();
    let close = body_start + text[body_start..].find("</array>")?;
    let body = &text[body_start..close];
    // The indentation of the array's first string and of `</array>`, as the file has them.
    let inner = body
        .find("<string>")
        .map(|i| &body[..i])
        .and_then(|lead| lead.rsplit('\n').next().filter(|_| lead.contains('\n')))
        .unwrap_or("\t\t");
    let outer = body
        .rsplit('\n')
        .next()
        .filter(|tail| body.contains('\n') && tail.trim().is_empty())
        .unwrap_or("\t");
    let mut out = String::with_capacity(text.len() + 256);
    out.push_str(&text[..body_start]);
    for arg in args {
        out.push('\n');
        out.push_str(inner);
        out.push_str(&format!("<string>{}</string>", escape(arg)));
    }
    out.push('\n');
    out.push_str(outer);
    out.push_str(&text[close..]);
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::boot::plist::program_arguments;

    const PLIST: &str = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<plist version=\"1.0\">\n<dict>\n\t<key>Label</key>\n\t<string>ai.instar.echo</string>\n\t<key>ProgramArguments</key>\n\t<array>\n\t\t<string>/Users/o/echo/.instar/bin/node</string>\n\t\t<string>/Users/o/echo/.instar/instar-boot.cjs</string>\n\t\t<string>lifeline</string>\n\t\t<string>start</string>\n\t\t<string>--dir</string>\n\t\t<string>/Users/o/echo</string>\n\t</array>\n\t<key>KeepAlive</key>\n\t<true/>\n</dict>\n</plist>\n";

    fn instar() -> Vec<String> {
        program_arguments(PLIST).unwrap()
    }

    #[test]
    fn wrapping_keeps_instars_arguments_and_unwrapping_gives_them_back() {
        let doctor = Path::new("/opt/it's/instar-doctor");
        let wrapped = wrap(doctor, Path::new("/Users/o/echo"), &instar());
        assert!(is_wrapped(&wrapped));
        assert!(!is_wrapped(&instar()));
        assert_eq!(
            wrapped[2],
            r#"d='/opt/it'\''s/instar-doctor'; "$d" preflight --dir '/Users/o/echo' && exec "$0" "$@""#
        );
        assert_eq!(unwrap(wrapped), instar());
        assert_eq!(unwrap(instar()), instar());
    }

    #[test]
    fn the_rewritten_plist_changes_only_the_array_and_reads_back() {
        let wrapped = wrap(Path::new("/d"), Path::new("/Users/o/echo"), &instar());
        let text = with_program_arguments(PLIST, &wrapped).unwrap();
        assert_eq!(program_arguments(&text).unwrap(), wrapped);
        assert!(text.contains("&amp;&amp; exec"), "{text}");
        let back = with_program_arguments(&text, &instar()).unwrap();
        assert_eq!(back, PLIST, "unwrapping restores the bytes");
        assert_eq!(with_program_arguments("<plist/>", &wrapped), None);
    }
}

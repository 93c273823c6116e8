//! The commands that print the code catalogue: `list`, `explain`, `completions`.

use crate::checks;
use crate::cli::Cli;
use crate::exit;
use crate::fix::Applicability;
use crate::render;
use crate::terminal::print;

/// Shell completions. For the script only, `explain`, `--select` and `--ignore` are given the
/// codes and check ids as their possible values (parsing keeps its own checks and suggestions).
/// clap_complete's bash script names each subcommand's `case` arm differently from the value
/// its loop assigns when the binary name has a hyphen (`instar__subcmd__doctor__subcmd__list`
/// against `instar__doctor__subcmd__list`), so no subcommand completed: the arms are renamed.
pub fn completions(shell: clap_complete::Shell) -> String {
    let codes: Vec<&'static str> = checks::all_codes().map(|c| c.id).collect();
    let mut names: Vec<&'static str> = checks::TABLE.iter().map(|c| c.id()).collect();
    names.extend(codes.iter().copied());
    let values = |list: &[&'static str]| clap::builder::PossibleValuesParser::new(list.to_vec());
    let mut command = <Cli as clap::CommandFactory>::command()
        .mut_arg("select", |a| a.value_parser(values(&names)))
        .mut_arg("ignore", |a| a.value_parser(values(&names)))
        .mut_subcommand("explain", |sub| {
            sub.mut_arg("code", |a| a.value_parser(values(&codes)))
        })
        .mut_subcommand("scan", |sub| {
            sub.mut_arg("select", |a| a.value_parser(values(&names)))
                .mut_arg("ignore", |a| a.value_parser(values(&names)))
        });
    let mut out = Vec::new();
    clap_complete::generate(shell, &mut command, "instar-doctor", &mut out);
    let script = String::from_utf8_lossy(&out).into_owned();
    match shell {
        clap_complete::Shell::Bash => {
            script.replace("instar__subcmd__doctor__", "instar__doctor__")
        }
        _ => script,
    }
}

pub(super) fn list() -> u8 {
    let width = render::width::columns();
    let mut out = String::new();
    for check in checks::TABLE {
        out.push_str(&format!("{}\n", check.id()));
        for code in check.codes() {
            let fix = code.fix.map(Applicability::as_str).unwrap_or("-");
            let head = format!(
                "  {:<34} {:<8} fix:{:<7} ",
                code.id,
                code.severity.as_str(),
                fix
            );
            // The summary wraps under itself when there is room, else under the code.
            let indent = if width.saturating_sub(head.len()) >= 30 {
                " ".repeat(head.len())
            } else {
                " ".repeat(6)
            };
            out.push_str(&render::width::wrap(
                &format!("{head}{}", code.summary),
                width,
                "",
                &indent,
            ));
            out.push('\n');
        }
    }
    print(&out);
    exit::HEALTHY
}

pub(super) fn explain(id: &str) -> u8 {
    match checks::find_code(id) {
        Some(code) => {
            let fix = code.fix.map(Applicability::as_str).unwrap_or("none");
            let width = render::width::columns();
            let explain: Vec<String> = code
                .explain
                .lines()
                .map(|line| render::width::wrap(line, width, "", "  "))
                .collect();
            print(&format!(
                "{}\n{}\nseverity: {} · fix: {}\n\n{}\n",
                code.id,
                render::width::wrap(code.summary, width, "", ""),
                code.severity.as_str(),
                fix,
                explain.join("\n")
            ));
            exit::HEALTHY
        }
        None => {
            eprintln!(
                "error: unknown code `{id}`{} (`instar-doctor list` shows every code)",
                crate::suggest::did_you_mean(id)
            );
            exit::FAILURE
        }
    }
}

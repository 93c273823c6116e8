//! Where a command's answer goes: stdout, the `-o` file, and the failure document of exit 2.

use std::io::Write;
use std::path::PathBuf;

use crate::cli::Cli;
use crate::exit;
use crate::render;

/// Why a run gave no answer; rendered on stderr (and in the JSON document).
pub(super) struct Failure {
    pub(super) message: String,
    pub(super) project_dir: Option<PathBuf>,
}

/// Exit 2 with the reason on stderr — and, in a machine format, a document that says the doctor
/// failed, on stdout or in the `-o` file, so a CI step that uploads it never finds a missing or
/// empty file and never reads the failure as a clean run.
pub(super) fn fail(cli: &Cli, failure: Failure) -> u8 {
    eprintln!("error: {}", failure.message);
    let doc = render::json::failure(&failure.message, failure.project_dir.as_deref());
    let repo = failure
        .project_dir
        .as_deref()
        .map(|dir| render::paths::RepoPaths::discover(dir, github_workspace().as_deref()));
    // The human format has no failure document: stderr says it all, and a refused command
    // creates nothing.
    if !cli.format.is_machine() {
        return exit::FAILURE;
    }
    let written = write_report(cli.output_file.as_deref(), |out| {
        render::write_machine(
            cli.format,
            &doc,
            repo.as_ref(),
            cli.fail_on.threshold(),
            out,
        )
    });
    if let Err(message) = written {
        eprintln!("error: {message}");
    }
    exit::FAILURE
}

/// Writes a report to the `-o` file (created, or emptied) or to stdout, through a buffer, as it
/// is rendered: a machine document of 100,000 findings is never held whole (issue #11).
pub(super) fn write_report(
    path: Option<&std::path::Path>,
    write: impl FnOnce(&mut dyn Write) -> std::io::Result<()>,
) -> Result<(), String> {
    match path {
        Some(path) => {
            // Renamed into place when whole (a stream such as /dev/stdout is written in place).
            let mut out = crate::output_file::OutputFile::create(path)
                .map_err(|err| crate::output_file::cannot_create(path, &err))?;
            write(&mut out)
                .and_then(|()| out.commit())
                .map_err(|err| format!("cannot write -o file {}: {err}", path.display()))
        }
        None => {
            let mut out = std::io::BufWriter::new(std::io::stdout().lock());
            // A closed pipe (`| head`) is not an error worth reporting.
            let _ = write(&mut out).and_then(|()| out.flush());
            Ok(())
        }
    }
}

pub(super) fn github_workspace() -> Option<PathBuf> {
    std::env::var_os("GITHUB_WORKSPACE").map(PathBuf::from)
}

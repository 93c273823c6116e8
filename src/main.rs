use std::process::ExitCode;

fn main() -> ExitCode {
    let args = instar_doctor::cli::normalize_args(std::env::args_os().collect());
    ExitCode::from(instar_doctor::app::main(args))
}

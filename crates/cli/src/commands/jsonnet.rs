//! `tack jsonnet`: go-jsonnet's `jsonnet` command line (same flags, byte-identical output, same exit codes),
//! evaluated by tack-jsonnet. Its arguments are go-jsonnet's, not tack's: `-o` is the output file, `-J` a
//! library path; `tack jsonnet --help` lists them.

use std::process::ExitCode;

use clap::Args;

/// The arguments, passed to go-jsonnet's command line parser as they are.
#[derive(Debug, Args)]
#[command(disable_help_flag = true)]
pub struct JsonnetArgs {
    /// go-jsonnet's options and the file (or code with -e); see `tack jsonnet --help`
    #[arg(trailing_var_arg = true, allow_hyphen_values = true, num_args = 0.., value_name = "ARGS")]
    pub args: Vec<String>,
}

/// Runs `tack jsonnet ARGS...` when the command line starts with it (before tack's own parser, whose global
/// flags `-o` and `-n` mean other things); `None` for every other command.
pub fn run_direct() -> Option<ExitCode> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) != Some("jsonnet") {
        return None;
    }
    Some(run(&JsonnetArgs {
        args: args[1..].to_vec(),
    }))
}

/// Evaluates as go-jsonnet's `jsonnet` command does.
pub fn run(args: &JsonnetArgs) -> ExitCode {
    let code = tack_jsonnet::cli::run(&args.args, &mut std::io::stdout().lock(), &mut std::io::stderr());
    ExitCode::from(u8::try_from(code).unwrap_or(1))
}

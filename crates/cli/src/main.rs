//! The `tack` binary.

mod allocator;
mod args;
mod commands;
mod config;
mod table;

use std::io::IsTerminal;
use std::process::ExitCode;

use clap::Parser;

use crate::args::{Cli, Command};
use crate::commands::demo::log::LogTarget;

fn main() -> ExitCode {
    quiet_on_closed_pipe();
    if let Some(code) = commands::jsonnet::run_direct() {
        return code;
    }
    let cli = Cli::parse();
    if matches!(cli.command, Command::Controller(_) | Command::Dashboard(_)) {
        allocator::for_long_lived();
    }
    let env = |k: &str| std::env::var(k).ok();
    let settings = match config::load(cli.global.config.as_deref(), &env, &cli.global.values()) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    // `tack demo` keeps its narrative alone on stdout and stderr: the log lines go to a file it names.
    let log_target = match &cli.command {
        Command::Demo(args) => commands::demo::log::target(args.log_to_stderr),
        _ => LogTarget::Stderr,
    };
    let log_target = init_logging(settings.log_level, log_target);
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async {
        match cli.command {
            Command::Version => commands::version::run(&settings),
            Command::Dev(args) => commands::dev::run(args, &settings).await,
            Command::Demo(args) => commands::demo::run(&args, &log_target, &settings).await,
            Command::Render(args) => commands::render::run(&args, &settings).await,
            Command::Diff(args) => commands::diff::run(&args, &settings).await,
            Command::Sync(args) => commands::sync::run(&args, &settings).await,
            Command::Controller(args) => commands::controller::run(&args, &settings).await,
            Command::App(cmd) => commands::app::run(cmd, &settings).await,
            Command::Cluster(cmd) => commands::cluster::run(cmd, &settings).await,
            Command::Rollout(cmd) => commands::rollout::run(cmd, &settings).await,
            Command::Env(cmd) => commands::env::run(cmd, &settings).await,
            Command::Dashboard(args) => commands::dashboard::run(&args, &settings).await,
            Command::Install(args) => commands::install::run(&args, &settings).await,
            Command::Jsonnet(args) => Ok(commands::jsonnet::run(&args)),
        }
    });
    // A blocking task still running (a Git fetch on a silent server) must not hold the exit up.
    runtime.shutdown_timeout(std::time::Duration::from_secs(2));
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// Output piped into a command that stops reading early (`tack app get NAME | head`) ends tack quietly with
/// status 141, as a closed pipe ends other command-line tools, instead of a panic message.
fn quiet_on_closed_pipe() {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let payload = info.payload();
        let message = payload
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| payload.downcast_ref::<&str>().copied())
            .unwrap_or_default();
        if message.starts_with("failed printing to stdout") && message.contains("Broken pipe") {
            std::process::exit(141);
        }
        default(info);
    }));
}

/// Logs go to stderr, coloured only on a terminal, or to the file `target` names (without colour; stderr when
/// the file cannot be written). Returns where they go. The Kubernetes client's own line per failed request is
/// left out (unless `TACK_LOG` asks for it): tack reports failures itself, once.
fn init_logging(level: config::LogLevel, target: LogTarget) -> LogTarget {
    let filter = tracing_subscriber::EnvFilter::try_from_env("TACK_LOG").unwrap_or_else(|_| {
        tracing_subscriber::EnvFilter::new(format!("{},kube_client::client::builder=off", level.as_filter()))
    });
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_target(false);
    if let LogTarget::File(path) = &target {
        match commands::demo::log::open(path) {
            Ok(file) => {
                builder
                    .with_ansi(false)
                    .with_writer(std::sync::Mutex::new(file))
                    .init();
                return target;
            }
            Err(e) => eprintln!(
                "warning: cannot write the log file {}: {e}; the log lines go to standard error",
                path.display()
            ),
        }
    }
    builder
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(std::io::stderr)
        .init();
    LogTarget::Stderr
}

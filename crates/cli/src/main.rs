//! The `tack` binary.

mod args;
mod commands;
mod config;

use std::process::ExitCode;

use clap::Parser;

use crate::args::{Cli, Command};

fn main() -> ExitCode {
    if let Some(code) = commands::jsonnet::run_direct() {
        return code;
    }
    let cli = Cli::parse();
    let env = |k: &str| std::env::var(k).ok();
    let settings = match config::load(cli.global.config.as_deref(), &env, &cli.global.values()) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    init_logging(settings.log_level);
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
            Command::Dev(cmd) => commands::dev::run(cmd, &settings).await,
            Command::Demo => commands::demo::run(&settings).await,
            Command::Render(args) => commands::render::run(&args, &settings).await,
            Command::Diff(args) => commands::diff::run(&args, &settings).await,
            Command::Sync(args) => commands::sync::run(&args, &settings).await,
            Command::Controller(args) => commands::controller::run(&args, &settings).await,
            Command::App(cmd) => commands::app::run(cmd, &settings).await,
            Command::Rollout(cmd) => commands::rollout::run(cmd, &settings).await,
            Command::Install(args) => commands::install::run(&args, &settings).await,
            Command::Jsonnet(args) => Ok(commands::jsonnet::run(&args)),
        }
    });
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn init_logging(level: config::LogLevel) {
    let filter = tracing_subscriber::EnvFilter::try_from_env("TACK_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(level.as_filter()));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false)
        .init();
}

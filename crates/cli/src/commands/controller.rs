//! `tack controller`: runs the GitOpsConfig controller until SIGINT or SIGTERM.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;
use tack_controller::ControllerConfig;

use crate::config::Settings;

#[derive(Debug, Args)]
pub struct ControllerArgs {
    /// Serve Prometheus metrics on this address (not served yet)
    #[arg(long, value_name = "A")]
    pub metrics_addr: Option<String>,
    /// Where Git mirrors and checked-out trees are kept [default: ${XDG_CACHE_HOME:-~/.cache}/tack/sources]
    #[arg(long, value_name = "DIR", env = "TACK_CACHE_DIR")]
    pub cache_dir: Option<PathBuf>,
    /// Watch only GitOpsConfigs of the namespace given by -n/--namespace
    #[arg(long)]
    pub single_namespace: bool,
    /// Applications reconciled at once
    #[arg(long, default_value_t = 4, value_name = "N")]
    pub concurrency: u16,
}

pub async fn run(args: &ControllerArgs, settings: &Settings) -> anyhow::Result<ExitCode> {
    if let Some(addr) = &args.metrics_addr {
        tracing::warn!("--metrics-addr {addr}: metrics are not served yet; continuing without them");
    }
    let cluster = super::sync::connect(settings).await?;
    let namespace = if args.single_namespace {
        Some(
            settings
                .namespace
                .clone()
                .unwrap_or_else(|| cluster.default_namespace().to_string()),
        )
    } else {
        None
    };
    let config = ControllerConfig {
        cache_dir: args
            .cache_dir
            .clone()
            .unwrap_or_else(tack_controller::default_cache_dir),
        namespace,
        concurrency: args.concurrency.max(1),
    };
    tracing::info!(
        cache = %config.cache_dir.display(),
        namespace = config.namespace.as_deref().unwrap_or("(all)"),
        "starting the GitOpsConfig controller"
    );
    tack_controller::run(cluster.client().clone(), config, shutdown_signal()).await;
    Ok(ExitCode::SUCCESS)
}

/// Completes on the first SIGINT or SIGTERM.
async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(e) = tokio::signal::ctrl_c().await {
            tracing::warn!("cannot listen for SIGINT: {e}");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(e) => {
                tracing::warn!("cannot listen for SIGTERM: {e}");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => tracing::info!("SIGINT: finishing reconciles in flight, then stopping"),
        () = term => tracing::info!("SIGTERM: finishing reconciles in flight, then stopping"),
    }
}

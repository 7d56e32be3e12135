//! `tack dashboard`: the web dashboard and HTTP API on 127.0.0.1, acting with the kubeconfig's credentials
//! (docs/dashboard.md). It prints the URL and opens nothing by itself.

use std::net::{Ipv4Addr, SocketAddr};
use std::process::ExitCode;

use anyhow::Context;
use clap::Args;

use crate::config::Settings;

#[derive(Debug, Args)]
pub struct DashboardArgs {
    /// Port on 127.0.0.1 (0: any free port)
    #[arg(long, default_value_t = 8080, value_name = "P")]
    pub port: u16,
    /// Show only applications and rollouts of the namespace given by -n/--namespace
    #[arg(long)]
    pub single_namespace: bool,
    /// Refuse every action (sync, rollback, promote, …): reads only
    #[arg(long)]
    pub read_only: bool,
}

pub async fn run(args: &DashboardArgs, settings: &Settings) -> anyhow::Result<ExitCode> {
    let cluster = settings.connect().await?;
    let client = cluster.client().clone();
    client
        .apiserver_version()
        .await
        .context("reaching the API server; check --kubeconfig/--context, or start one with `tack dev up`")?;
    let namespace = args.single_namespace.then(|| {
        settings
            .namespace
            .clone()
            .unwrap_or_else(|| cluster.default_namespace().to_string())
    });
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, args.port));
    let listener = tokio::net::TcpListener::bind(addr).await.with_context(|| {
        format!(
            "--port {}: cannot listen on {addr}; choose another with --port",
            args.port
        )
    })?;
    let local = listener.local_addr().unwrap_or(addr);
    let stores = tack_api::Stores::start(&client, namespace.as_deref());
    let options = tack_api::Options {
        mode: tack_api::Mode::Kubeconfig,
        read_only: args.read_only,
        gitops: tack_gitops::ControllerConfig::default(),
    };
    let router = tack_api::router(client, stores, options);
    println!("tack dashboard: http://{local}/  (Ctrl-C to stop)");
    let stop = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    tack_gitops::metrics::serve(listener, router, stop)
        .await
        .context("serving the dashboard")?;
    Ok(ExitCode::SUCCESS)
}

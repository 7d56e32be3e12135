//! `tack demo`: a guided tour on the local control plane, one chapter after the other. The narrative goes to
//! standard output; the log lines of the controllers it runs in this process go to a file ([`log`]).

mod canary;
mod gitops;
pub mod log;
mod promotion;
mod repo;

use std::process::ExitCode;

use std::future::Future;
use std::pin::Pin;

use anyhow::Context;
use tack_cluster::{Cluster, ConnectOptions};
use tack_controlplane::LocalCluster;

use self::log::LogTarget;
use crate::args::DevUpArgs;
use crate::config::Settings;

/// Flags of `tack demo`.
#[derive(Debug, clap::Args)]
pub struct DemoArgs {
    /// Write the log lines of the controllers the demo runs to standard error (without colour codes when it
    /// is not a terminal) instead of the file ${XDG_STATE_HOME:-~/.local/state}/tack/demo.log
    #[arg(long)]
    pub log_to_stderr: bool,
    /// At the end, keep the demo's applications, Rollout and controllers running and serve the web dashboard on
    /// 127.0.0.1 (a free port, printed) over them until Ctrl-C; then clean up as without it
    #[arg(long)]
    pub keep: bool,
}

/// What a chapter left running under `--keep`, and removes when awaited.
pub type Cleanup = Pin<Box<dyn Future<Output = ()> + Send>>;

/// The guided demo: the local control plane (started when needed), then the GitOps chapter
/// ([`gitops::run`]), the canary chapter ([`canary::run`]) and the promotion chapter ([`promotion::run`]), then
/// hints to go further. `logs` is where the
/// in-process controllers' log lines go.
pub async fn run(args: &DemoArgs, logs: &LogTarget, _settings: &Settings) -> anyhow::Result<ExitCode> {
    println!("tack demo: a real Kubernetes control plane on this machine");
    println!("  etcd, kube-apiserver, kube-controller-manager and kube-scheduler run on 127.0.0.1;");
    println!("  KWOK plays the nodes and kubelets, so pods become Running and Ready without containers.");
    println!(
        "  The first run builds the binaries from Go modules (many minutes); later runs take seconds.\n"
    );
    let logs_where = match logs {
        LogTarget::File(path) => {
            println!(
                "  The controllers this demo runs write their log lines to {}",
                path.display()
            );
            println!(
                "  (`tail -f` it in another terminal; `tack demo --log-to-stderr` prints them on standard error).\n"
            );
            format!("to {}", path.display())
        }
        LogTarget::Stderr => "to standard error".to_string(),
    };
    let cluster = LocalCluster::from_env()?;
    let up = DevUpArgs {
        apiserver_port: None,
        nodes: 3,
        timeout: std::time::Duration::from_secs(180),
    };
    let report = super::dev::up(&cluster, &up).await?;
    let kubeconfig = cluster.layout().kubeconfig();
    println!();
    if report.already_running {
        println!(
            "The local control plane was already running at {}.",
            report.state.server
        );
    } else {
        println!(
            "The local control plane is up at {} ({:.1} s).",
            report.state.server,
            report.elapsed.as_secs_f64()
        );
    }
    let client = Cluster::connect(&ConnectOptions {
        kubeconfig: Some(kubeconfig.clone()),
        context: None,
    })
    .await
    .with_context(|| {
        format!(
            "connecting to the local control plane with {}",
            kubeconfig.display()
        )
    })?;
    let mut kept: Vec<Cleanup> = gitops::run(&client, &logs_where, args.keep)
        .await?
        .into_iter()
        .collect();
    match canary::run(&client, args.keep).await {
        Ok(left) => kept.extend(left),
        Err(e) => {
            for clean in kept {
                clean.await;
            }
            return Err(e);
        }
    }
    if let Err(e) = promotion::run(&client).await {
        for clean in kept {
            clean.await;
        }
        return Err(e);
    }
    println!("\nTry it yourself:");
    println!("  export KUBECONFIG={}", kubeconfig.display());
    println!("  kubectl get nodes                      # three KWOK nodes, Ready");
    println!("  kubectl create deployment web --image=nginx --replicas=3");
    println!("  kubectl get pods -o wide               # Running on kwok-node-*");
    println!("  # a pod template labelled tack.dev/simulate: crash (or never-ready) makes its pods fail");
    println!("\n  tack sync DIR --name guestbook -n guestbook-qa --create-namespace --wait");
    println!(
        "                                         # server-side apply a folder (plain, Kustomize or a Helm chart)"
    );
    println!("  tack diff DIR -n guestbook-qa          # live vs Git, Secret values masked");
    println!("\n  tack dev status                        # components, pids, ports, health");
    println!("  tack dev down                          # stop everything");
    if args.keep {
        let served = keep_dashboard(&client).await;
        println!("\nCleaning up the demo's applications and Rollout.");
        for clean in kept {
            clean.await;
        }
        served?;
    } else {
        println!("\n  tack dashboard                         # the web dashboard (or `tack demo --keep`)");
    }
    Ok(ExitCode::SUCCESS)
}

/// `--keep`: the dashboard on a free port of 127.0.0.1, with the local control plane's admin rights, until
/// Ctrl-C, over the applications and the Rollout the chapters left running.
async fn keep_dashboard(client: &Cluster) -> anyhow::Result<()> {
    let listener = tokio::net::TcpListener::bind((std::net::Ipv4Addr::LOCALHOST, 0))
        .await
        .context("listening on 127.0.0.1 for the dashboard")?;
    let addr = listener.local_addr().context("the dashboard's address")?;
    let kube = client.client().clone();
    let stores = tack_api::Stores::start(&kube, None);
    let options = tack_api::Options {
        mode: tack_api::Mode::Kubeconfig,
        read_only: false,
        gitops: tack_gitops::ControllerConfig::default(),
    };
    println!(
        "\nThe dashboard: http://{addr}/  (the demo's applications in namespace {}, its Rollout in {}; their \
         controllers keep running here; Ctrl-C to stop and clean up)",
        gitops::DEMO_NAMESPACE,
        canary::NS
    );
    let stop = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    tack_gitops::metrics::serve(listener, tack_api::router(kube, stores, options), stop)
        .await
        .context("serving the dashboard")
}

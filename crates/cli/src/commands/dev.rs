//! `tack dev up|down|status|env`: the local control plane for development and tests.

use std::process::ExitCode;

use anyhow::Context;
use serde_json::json;
use tack_controlplane::{LocalCluster, ProgressDisplay, Status, UpOptions, UpReport};

use crate::args::{DevArgs, DevCommand, DevUpArgs};
use crate::config::{Output, Settings};

pub async fn run(args: DevArgs, settings: &Settings) -> anyhow::Result<ExitCode> {
    let name = args.name.as_deref();
    let cluster = LocalCluster::named(name)?;
    // What to type to act on this control plane again.
    let named = name.map(|n| format!(" --name {n}")).unwrap_or_default();
    match args.command {
        DevCommand::Up(args) => {
            let report = up(&cluster, &args).await?;
            print_up(&cluster, &report, settings.output, &named)?;
            Ok(ExitCode::SUCCESS)
        }
        DevCommand::Down(args) => {
            let stopped = cluster.down(args.keep_state)?;
            if stopped.is_empty() {
                println!("no local control plane process was running");
            }
            for (c, pid) in &stopped {
                println!("stopped {c} (pid {pid})");
            }
            if args.keep_state {
                println!("state kept in {}", cluster.layout().state.display());
            } else {
                println!("removed {}", cluster.layout().state.display());
            }
            Ok(ExitCode::SUCCESS)
        }
        DevCommand::Status => status(&cluster, settings.output, &named).await,
        DevCommand::Env => {
            let kubeconfig = cluster.layout().kubeconfig();
            if !kubeconfig.exists() {
                eprintln!(
                    "warning: the local control plane is not running; start it with `tack dev up{named}`"
                );
            }
            println!("export KUBECONFIG={}", kubeconfig.display());
            Ok(ExitCode::SUCCESS)
        }
    }
}

pub async fn up(cluster: &LocalCluster, args: &DevUpArgs) -> anyhow::Result<UpReport> {
    let opts = UpOptions {
        apiserver_port: args.apiserver_port,
        nodes: args.nodes,
        timeout: args.timeout,
    };
    // The first-time build shows on one line that updates (plain lines when stderr is not a terminal).
    let display = ProgressDisplay::stderr();
    cluster
        .up(&opts, &mut |line| display.report(line))
        .await
        .context("could not bring the local control plane up")
}

fn print_up(cluster: &LocalCluster, report: &UpReport, output: Output, named: &str) -> anyhow::Result<()> {
    let kubeconfig = cluster.layout().kubeconfig();
    if output == Output::Json {
        let v = json!({
            "server": report.state.server,
            "kubeconfig": kubeconfig,
            "alreadyRunning": report.already_running,
            "seconds": report.elapsed.as_secs_f64(),
        });
        println!("{}", serde_json::to_string_pretty(&v)?);
        return Ok(());
    }
    if report.already_running {
        println!(
            "the local control plane is already running at {}",
            report.state.server
        );
    } else {
        println!(
            "local control plane ready at {} in {:.1} s{}",
            report.state.server,
            report.elapsed.as_secs_f64(),
            if report.built { " (binaries built)" } else { "" }
        );
    }
    println!("kubeconfig: {}", kubeconfig.display());
    println!("logs:       {}", cluster.layout().state.display());
    println!(
        "use it:     export KUBECONFIG={}   (or: eval \"$(tack dev env{named})\")",
        kubeconfig.display()
    );
    println!("stop it:    tack dev down{named}");
    Ok(())
}

async fn status(cluster: &LocalCluster, output: Output, named: &str) -> anyhow::Result<ExitCode> {
    let status = cluster.status().await?;
    let healthy = status.is_healthy();
    match (&status, output) {
        (Status::Down, Output::Json) => println!("{}", json!({"running": false})),
        (Status::Down, _) => {
            println!("the local control plane is not running (start it with `tack dev up{named}`)")
        }
        (Status::Recorded { state, components }, Output::Json) => {
            let items: Vec<_> = components
                .iter()
                .map(|c| json!({"component": c.component, "pid": c.pid, "port": c.port, "running": c.running, "healthy": c.healthy, "log": c.log}))
                .collect();
            let v = json!({"running": healthy, "server": state.server, "kubeconfig": state.kubeconfig, "components": items});
            println!("{}", serde_json::to_string_pretty(&v)?);
        }
        (Status::Recorded { state, components }, _) => {
            println!("server:     {}", state.server);
            println!("kubeconfig: {}", state.kubeconfig.display());
            println!(
                "{:<25} {:>8} {:>6}  {:<8} LOG",
                "COMPONENT", "PID", "PORT", "STATE"
            );
            for c in components {
                let st = match (c.running, c.healthy) {
                    (true, true) => "healthy",
                    (true, false) => "unhealthy",
                    _ => "stopped",
                };
                println!(
                    "{:<25} {:>8} {:>6}  {:<8} {}",
                    c.component.to_string(),
                    c.pid,
                    c.port,
                    st,
                    c.log.display()
                );
            }
            if !healthy {
                println!("not every component is healthy: `tack dev up{named}` cleans up and starts again");
            }
        }
    }
    Ok(if healthy {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(3)
    })
}

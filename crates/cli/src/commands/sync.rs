//! `tack sync`: one-shot sync of a directory or Git source into the cluster.

use std::io::Write;
use std::process::ExitCode;
use std::time::Instant;

use anyhow::Context;
use tack_apply::{Action, SyncOptions};

use crate::args::SyncArgs;
use crate::config::{Output, Settings};

pub async fn run(args: &SyncArgs, settings: &Settings) -> anyhow::Result<ExitCode> {
    let started = Instant::now();
    let progress = |line: &str| {
        // Progress must never abort a sync half-way (a closed pipe, `| head`): write errors are ignored.
        let mut err = std::io::stderr().lock();
        let _ = writeln!(err, "[{:>5.1}s] {line}", started.elapsed().as_secs_f64());
        let _ = err.flush();
    };
    let rendered = super::render::load(&args.source, settings.namespace.as_deref()).await?;
    progress(&format!(
        "rendered {} objects ({}{})",
        rendered.manifests.len(),
        rendered.engine,
        rendered
            .revision
            .as_deref()
            .map(|r| format!(", commit {r}"))
            .unwrap_or_default()
    ));
    let cluster = settings.connect().await?;
    let namespace = settings
        .namespace
        .clone()
        .unwrap_or_else(|| cluster.default_namespace().to_string());
    let mut opts = SyncOptions::new(&args.name, &namespace);
    opts.prune = args.prune;
    opts.create_namespace = args.create_namespace;
    opts.force = args.force;
    opts.dry_run = args.dry_run;
    opts.concurrency = args.concurrency.max(1);
    opts.confirm = args.confirm;
    opts.max_prune_share = f64::from(args.max_prune_percent) / 100.0;
    opts.wave_timeout = args.timeout;
    opts.propagation = match args.prune_propagation.as_str() {
        "foreground" => tack_apply::Propagation::Foreground,
        "orphan" => tack_apply::Propagation::Orphan,
        _ => tack_apply::Propagation::Background,
    };
    let report = tack_apply::sync(&cluster, rendered.manifests, &opts, &progress)
        .await
        .with_context(|| format!("sync of {} into namespace {namespace} failed", args.name))?;
    if args.wait && !args.dry_run {
        let objects: Vec<_> = report
            .results
            .iter()
            .filter(|r| matches!(r.action, Action::Created | Action::Configured | Action::Unchanged))
            .map(|r| (r.id.clone(), r.api_version.clone()))
            .collect();
        tack_apply::wait_healthy(&cluster, &objects, args.timeout, &progress).await?;
    }
    let elapsed = started.elapsed().as_secs_f64();
    match settings.output {
        Output::Json => {
            let objects: Vec<serde_json::Value> = report
                .results
                .iter()
                .map(|r| serde_json::json!({"object": r.id.to_string(), "origin": r.origin.as_ref().map(ToString::to_string), "action": format!("{:?}", r.action)}))
                .collect();
            let hooks: Vec<serde_json::Value> = report
                .hooks
                .iter()
                .map(|h| serde_json::json!({"phase": h.phase.as_str(), "object": h.id.to_string(), "origin": h.origin.to_string(), "failure": h.failure, "deleted": h.deleted}))
                .collect();
            let v = serde_json::json!({
                "app": args.name, "namespace": namespace, "dryRun": report.dry_run, "seconds": elapsed,
                "created": report.count(Action::Created), "configured": report.count(Action::Configured),
                "unchanged": report.count(Action::Unchanged), "pruned": report.count(Action::Pruned),
                "kept": report.count(Action::Kept), "notInGit": report.count(Action::PruneSkipped),
                "held": report.count(Action::PruneHeld), "extraneous": report.count(Action::Extraneous),
                "objects": objects, "hooks": hooks,
            });
            println!("{}", serde_json::to_string_pretty(&v)?);
        }
        _ => {
            let prefix = if report.dry_run {
                "dry run (nothing written): would be "
            } else {
                ""
            };
            println!("{}: {prefix}{} in {elapsed:.1} s", args.name, report.summary());
        }
    }
    Ok(ExitCode::SUCCESS)
}

//! `tack env`: promotion pipelines (Pipeline resources): list, status, promote, approve, history, rollback.
//!
//! Promote, approve and rollback record the request as an annotation on the Pipeline; the controller writes
//! the Git commit (docs/environments.md).

use std::process::ExitCode;

use anyhow::Context;
use clap::{Args, Subcommand};
use kube::ResourceExt;
use kube::api::{Api, ListParams, Patch, PatchParams};
use serde_json::json;
use tack_model::Pipeline;
use tack_promotion::request;

use crate::config::{Output, Settings};
use crate::table::print_table;

#[derive(Debug, Subcommand)]
pub enum EnvCommand {
    /// List the pipelines of the namespace (-A for all namespaces) with each stage's release.
    List(ListArgs),
    /// Show a pipeline: per stage the release, since when, sync, health, gates and what waits to enter it.
    Status(PipelineArg),
    /// Ask the controller to promote a release into a stage (a Git commit to the stage's configuration).
    Promote(PromoteArgs),
    /// Approve the release waiting to enter a stage that requires approval.
    Approve(ApproveArgs),
    /// Show the promotions into the stages (release, time, commit, source, who decided), newest first.
    History(HistoryArgs),
    /// Promote an earlier release into a stage again (a Git commit, like any promotion).
    Rollback(RollbackArgs),
}

#[derive(Debug, Args)]
pub struct ListArgs {
    /// List the pipelines of every namespace
    #[arg(short = 'A', long)]
    pub all_namespaces: bool,
}

#[derive(Debug, Args)]
pub struct PipelineArg {
    /// The pipeline name
    pub pipeline: String,
}

#[derive(Debug, Args)]
pub struct PromoteArgs {
    /// The pipeline name
    pub pipeline: String,
    /// The stage to promote into
    #[arg(long, value_name = "STAGE")]
    pub to: String,
    /// The release: a version for a pipeline of one image, chart or base, else NAME:VERSION,... (gb-frontend:v6,chart/web:0.2.0,base/platform:v2) [default: the release of the previous stage]
    #[arg(long, value_name = "R")]
    pub release: Option<String>,
}

#[derive(Debug, Args)]
pub struct ApproveArgs {
    /// The pipeline name
    pub pipeline: String,
    /// The stage whose incoming promotion is approved
    pub stage: String,
    /// The release approved [default: the release waiting to enter the stage]
    #[arg(long, value_name = "R")]
    pub release: Option<String>,
}

#[derive(Debug, Args)]
pub struct HistoryArgs {
    /// The pipeline name
    pub pipeline: String,
    /// Only this stage
    pub stage: Option<String>,
}

#[derive(Debug, Args)]
pub struct RollbackArgs {
    /// The pipeline name
    pub pipeline: String,
    /// The stage to roll back
    pub stage: String,
    /// The release to go back to [default: the release the last promotion into the stage replaced]
    #[arg(long, value_name = "R")]
    pub to: Option<String>,
}

pub async fn run(cmd: EnvCommand, settings: &Settings) -> anyhow::Result<ExitCode> {
    let cluster = settings.connect().await?;
    let namespace = settings
        .namespace
        .clone()
        .unwrap_or_else(|| cluster.default_namespace().to_string());
    let client = cluster.client().clone();
    let api: Api<Pipeline> = Api::namespaced(client.clone(), &namespace);
    match cmd {
        EnvCommand::List(a) => {
            let list = if a.all_namespaces {
                Api::<Pipeline>::all(client).list(&ListParams::default()).await?
            } else {
                api.list(&ListParams::default()).await?
            };
            list_pipelines(&list.items, settings)
        }
        EnvCommand::Status(a) => status(&get(&api, &a.pipeline, &namespace).await?, settings),
        EnvCommand::Promote(a) => {
            let p = get(&api, &a.pipeline, &namespace).await?;
            let r = request::promote(&p, &a.to, a.release).map_err(|e| hint(e, "--release"))?;
            send(&api, &a.pipeline, &r).await?;
            println!(
                "requested: promote {} to {} (pipeline {}/{})",
                r.release, a.to, namespace, a.pipeline
            );
            Ok(ExitCode::SUCCESS)
        }
        EnvCommand::Approve(a) => {
            let p = get(&api, &a.pipeline, &namespace).await?;
            let r = request::approve(&p, &a.stage, a.release).map_err(|e| hint(e, "--release"))?;
            send(&api, &a.pipeline, &r).await?;
            println!("approved: {} may enter {}", r.release, a.stage);
            Ok(ExitCode::SUCCESS)
        }
        EnvCommand::History(a) => history(
            &get(&api, &a.pipeline, &namespace).await?,
            a.stage.as_deref(),
            settings,
        ),
        EnvCommand::Rollback(a) => {
            let p = get(&api, &a.pipeline, &namespace).await?;
            let r = request::rollback(&p, &a.stage, a.to).map_err(|e| hint(e, "--to"))?;
            send(&api, &a.pipeline, &r).await?;
            println!("requested: roll {} back to {} (a Git commit)", a.stage, r.release);
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// A refused request, with the flag that supplies what is missing.
fn hint(e: request::RequestError, flag: &str) -> anyhow::Error {
    anyhow::anyhow!("{e} (with {flag})")
}

/// Records the request on the Pipeline: the controller writes the commit.
async fn send(api: &Api<Pipeline>, name: &str, r: &request::Request) -> anyhow::Result<()> {
    api.patch(name, &PatchParams::default(), &Patch::Merge(&r.patch()))
        .await
        .with_context(|| format!("recording the request on pipeline {name}"))?;
    Ok(())
}

async fn get(api: &Api<Pipeline>, name: &str, namespace: &str) -> anyhow::Result<Pipeline> {
    api.get_opt(name)
        .await?
        .with_context(|| format!("pipeline {namespace}/{name} not found; list them with `tack env list`"))
}

fn list_pipelines(items: &[Pipeline], settings: &Settings) -> anyhow::Result<ExitCode> {
    if settings.output == Output::Json {
        println!("{}", serde_json::to_string_pretty(items)?);
        return Ok(ExitCode::SUCCESS);
    }
    if items.is_empty() {
        println!("no pipelines; see docs/environments.md");
        return Ok(ExitCode::SUCCESS);
    }
    let rows: Vec<[String; 4]> = items
        .iter()
        .map(|p| {
            let s = p.status.clone().unwrap_or_default();
            let ready = s.conditions.iter().find(|c| c.type_ == "Ready");
            [
                p.namespace().unwrap_or_default(),
                p.name_any(),
                s.summary.unwrap_or_default(),
                ready
                    .map(|c| format!("{} {}", c.status, c.reason))
                    .unwrap_or_default(),
            ]
        })
        .collect();
    print_table(&["NAMESPACE", "NAME", "STAGES", "READY"], &rows);
    Ok(ExitCode::SUCCESS)
}

fn status(p: &Pipeline, settings: &Settings) -> anyhow::Result<ExitCode> {
    if settings.output == Output::Json {
        println!("{}", serde_json::to_string_pretty(p)?);
        return Ok(ExitCode::SUCCESS);
    }
    let st = p.status.clone().unwrap_or_default();
    let rows: Vec<[String; 7]> = p
        .spec
        .stages
        .iter()
        .map(|stage| {
            let s = st
                .stages
                .iter()
                .find(|s| s.name == stage.name)
                .cloned()
                .unwrap_or_default();
            let gates: Vec<String> = s
                .gates
                .iter()
                .map(|g| format!("{}:{}", g.name, g.phase))
                .collect();
            [
                stage.name.clone(),
                s.release.unwrap_or_else(|| "-".into()),
                s.since.unwrap_or_else(|| "-".into()),
                s.sync.unwrap_or_else(|| "-".into()),
                s.health.unwrap_or_else(|| "-".into()),
                if s.verified {
                    "Verified".into()
                } else {
                    gates.join(" ")
                },
                s.pending
                    .map(|x| format!("{}: {}", x.release, x.reason))
                    .unwrap_or_default(),
            ]
        })
        .collect();
    print_table(
        &[
            "STAGE",
            "RELEASE",
            "SINCE",
            "SYNC",
            "HEALTH",
            "GATES",
            "WAITING TO ENTER",
        ],
        &rows,
    );
    for s in &st.stages {
        for g in s.gates.iter().filter(|g| g.phase != "Passed") {
            println!("{}: {} {}: {}", s.name, g.name, g.phase, g.message);
        }
    }
    for c in st.conditions.iter().filter(|c| c.status != "True") {
        println!("{} {}: {} {}", c.type_, c.status, c.reason, c.message);
    }
    Ok(ExitCode::SUCCESS)
}

fn history(p: &Pipeline, stage: Option<&str>, settings: &Settings) -> anyhow::Result<ExitCode> {
    if let Some(s) = stage {
        request::stage_index(p, s).map_err(|e| anyhow::anyhow!("{e}"))?;
    }
    let st = p.status.clone().unwrap_or_default();
    let mut records: Vec<(String, tack_model::PromotionRecord)> = st
        .stages
        .iter()
        .filter(|s| stage.is_none_or(|n| n == s.name))
        .flat_map(|s| s.history.iter().map(|h| (s.name.clone(), h.clone())))
        .collect();
    records.sort_by(|a, b| b.1.time.cmp(&a.1.time));
    if settings.output == Output::Json {
        let v: Vec<_> = records
            .iter()
            .map(|(s, h)| json!({"stage": s, "promotion": h}))
            .collect();
        println!("{}", serde_json::to_string_pretty(&v)?);
        return Ok(ExitCode::SUCCESS);
    }
    let rows: Vec<[String; 6]> = records
        .into_iter()
        .map(|(s, h)| {
            [
                s,
                h.release,
                h.time,
                h.commit.chars().take(12).collect(),
                h.from.unwrap_or_else(|| "-".into()),
                match h.review_branch {
                    Some(b) => format!("{} (review {b})", h.by),
                    None => h.by,
                },
            ]
        })
        .collect();
    print_table(&["STAGE", "RELEASE", "TIME", "COMMIT", "FROM", "BY"], &rows);
    Ok(ExitCode::SUCCESS)
}

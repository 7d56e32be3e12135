//! `tack install`: the GitOpsConfig CustomResourceDefinition.

use std::process::ExitCode;

use anyhow::Context;
use clap::Args;
use kube::CustomResourceExt;
use kube::api::{Api, Patch, PatchParams};
use tack_model::GitOpsConfig;

use crate::config::Settings;

#[derive(Debug, Args)]
pub struct InstallArgs {
    /// Print the manifests instead of applying them
    #[arg(long)]
    pub print: bool,
}

pub async fn run(args: &InstallArgs, settings: &Settings) -> anyhow::Result<ExitCode> {
    let crd = GitOpsConfig::crd();
    if args.print {
        let value = serde_json::to_value(&crd)?;
        print!("{}", tack_yaml::to_yaml_stream(std::iter::once(&value)));
        return Ok(ExitCode::SUCCESS);
    }
    let cluster = super::sync::connect(settings).await?;
    let api: Api<
        k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition,
    > = Api::all(cluster.client().clone());
    let name = crd.metadata.name.clone().unwrap_or_default();
    api.patch(&name, &PatchParams::apply("tack").force(), &Patch::Apply(&crd))
        .await
        .with_context(|| format!("applying the CustomResourceDefinition {name}"))?;
    cluster
        .wait_crd_established(&name, std::time::Duration::from_secs(60))
        .await?;
    println!("customresourcedefinition/{name} applied and established");
    println!("next: run `tack controller`, then `tack app create NAME --repo URL`");
    Ok(ExitCode::SUCCESS)
}

//! `tack cluster add|list|remove`: the clusters applications may be deployed to (`spec.destination.cluster`),
//! registered as Secrets `tack-cluster-<name>` of the controller's namespace, labelled
//! `tack.dev/secret-type: cluster`, holding a self-contained kubeconfig (docs/clusters.md).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, bail};
use base64::Engine;
use clap::{Args, Subcommand};
use k8s_openapi::ByteString;
use k8s_openapi::api::core::v1::Secret;
use kube::ResourceExt;
use kube::api::{Api, DeleteParams, ListParams, Patch, PatchParams};
use kube::config::Kubeconfig;
use serde_json::json;
use tack_gitops::destination::{
    self, CLUSTER_NAME_LABEL, DEFAULT_CLUSTERS_NAMESPACE, SECRET_TYPE_CLUSTER, SECRET_TYPE_LABEL,
};
use tack_model::GitOpsConfig;

use crate::config::{Output, Settings};

#[derive(Debug, Subcommand)]
pub enum ClusterCommand {
    /// Register a cluster as a destination: a Secret holding the chosen context of a kubeconfig, made
    /// self-contained (files it names are embedded; exec and auth-provider plugins are refused).
    Add(AddArgs),
    /// List the registered clusters: name, API server, whether it answers now, applications using it.
    List(NamespaceArg),
    /// Remove a registered cluster (refused while applications use it, unless --force).
    Remove(RemoveArgs),
}

#[derive(Debug, Args)]
pub struct NamespaceArg {
    /// The namespace of the cluster Secrets (the controller's --clusters-namespace)
    #[arg(long, value_name = "NS", default_value = DEFAULT_CLUSTERS_NAMESPACE)]
    pub clusters_namespace: String,
}

#[derive(Debug, Args)]
pub struct AddArgs {
    /// The cluster's name, as applications write it in spec.destination.cluster (lowercase letters, digits
    /// and '-', at most 50 characters; not `in-cluster`)
    pub name: String,
    /// The kubeconfig that reaches the cluster (the global --kubeconfig/--context reach the cluster the
    /// controller runs in, where the Secret is written)
    #[arg(long, value_name = "FILE")]
    pub cluster_kubeconfig: PathBuf,
    /// The context of --cluster-kubeconfig to use [default: its current context]
    #[arg(long, value_name = "NAME")]
    pub cluster_context: Option<String>,
    #[command(flatten)]
    pub namespace: NamespaceArg,
}

#[derive(Debug, Args)]
pub struct RemoveArgs {
    /// The cluster's name
    pub name: String,
    /// Remove it even while applications use it (they then fail with ClusterInvalid until it is added again)
    #[arg(long)]
    pub force: bool,
    #[command(flatten)]
    pub namespace: NamespaceArg,
}

pub async fn run(cmd: ClusterCommand, settings: &Settings) -> anyhow::Result<ExitCode> {
    let client = settings.connect().await?.client().clone();
    match cmd {
        ClusterCommand::Add(args) => add(&client, &args).await,
        ClusterCommand::List(args) => list(&client, &args.clusters_namespace, settings.output).await,
        ClusterCommand::Remove(args) => remove(&client, &args).await,
    }
}

fn check_name(name: &str) -> anyhow::Result<()> {
    if !destination::valid_cluster_name(name) {
        bail!(
            "`{name}` is not a cluster name: use 1-50 lowercase letters, digits and '-' (`in-cluster` is the \
             cluster the controller runs in)"
        );
    }
    Ok(())
}

/// `tack cluster add`.
async fn add(client: &kube::Client, args: &AddArgs) -> anyhow::Result<ExitCode> {
    check_name(&args.name)?;
    let path = &args.cluster_kubeconfig;
    let config =
        Kubeconfig::read_from(path).with_context(|| format!("cannot read kubeconfig {}", path.display()))?;
    let base = path.parent().unwrap_or(Path::new("."));
    let minimal = self_contained(config, args.cluster_context.as_deref(), base)
        .with_context(|| format!("kubeconfig {}", path.display()))?;
    let text = serde_json::to_string_pretty(&minimal)?;
    let data = BTreeMap::from([("kubeconfig".to_string(), text.clone().into_bytes())]);
    // The controller reads it the same way: refused here if it would be refused there.
    let cluster = destination::client_of(&data)
        .await
        .with_context(|| format!("kubeconfig {}", path.display()))?;
    let server = destination::server_of(&minimal, None).unwrap_or_default();
    let ns = &args.namespace.clusters_namespace;
    ensure_namespace(client, ns).await?;
    let secrets: Api<Secret> = Api::namespaced(client.clone(), ns);
    let name = destination::secret_name(&args.name);
    let existed = secrets.get_opt(&name).await?.is_some();
    let secret = json!({
        "apiVersion": "v1", "kind": "Secret", "type": "Opaque",
        "metadata": {"name": name, "namespace": ns, "labels": {
            SECRET_TYPE_LABEL: SECRET_TYPE_CLUSTER, CLUSTER_NAME_LABEL: args.name,
        }},
        "stringData": {"kubeconfig": text},
    });
    secrets
        .patch(&name, &PatchParams::apply("tack").force(), &Patch::Apply(&secret))
        .await
        .with_context(|| format!("writing Secret {ns}/{name}"))?;
    let verb = if existed { "updated" } else { "registered" };
    println!("cluster {} {verb}: {server} (Secret {ns}/{name})", args.name);
    if let Err(e) = destination::probe(&cluster).await {
        eprintln!(
            "warning: cluster {} does not answer now ({e}); its applications wait until it does",
            args.name
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// The context `context` (default: the current one) of `config` alone, with the files it names embedded.
fn self_contained(config: Kubeconfig, context: Option<&str>, base: &Path) -> anyhow::Result<Kubeconfig> {
    let name = context
        .map(str::to_string)
        .or(config.current_context.clone())
        .context("it has no current context; choose one with --cluster-context")?;
    let named = config
        .contexts
        .iter()
        .find(|c| c.name == name)
        .with_context(|| format!("it has no context {name}"))?;
    let ctx = named
        .context
        .clone()
        .with_context(|| format!("context {name} is empty"))?;
    let mut cluster = config
        .clusters
        .iter()
        .find(|c| c.name == ctx.cluster)
        .cloned()
        .with_context(|| {
            format!(
                "context {name} names cluster {}, which it does not hold",
                ctx.cluster
            )
        })?;
    let b64 = |path: &str| -> anyhow::Result<String> {
        let full = base.join(path);
        let bytes = std::fs::read(&full).with_context(|| format!("cannot read {}", full.display()))?;
        Ok(base64::engine::general_purpose::STANDARD.encode(bytes))
    };
    if let Some(c) = cluster.cluster.as_mut()
        && let Some(file) = c.certificate_authority.take()
    {
        c.certificate_authority_data = Some(b64(&file)?);
    }
    let mut users = Vec::new();
    if let Some(user) = &ctx.user {
        let mut named_user = config
            .auth_infos
            .iter()
            .find(|u| &u.name == user)
            .cloned()
            .with_context(|| format!("context {name} names user {user}, which it does not hold"))?;
        if let Some(u) = named_user.auth_info.as_mut() {
            if u.exec.is_some() || u.auth_provider.is_some() {
                bail!(
                    "user {user} authenticates through a plugin (exec or auth-provider), which the controller \
                     cannot run: use a kubeconfig with a token or a client certificate (for instance the token of \
                     a ServiceAccount of that cluster)"
                );
            }
            if let Some(file) = u.client_certificate.take() {
                u.client_certificate_data = Some(b64(&file)?);
            }
            if let Some(file) = u.client_key.take() {
                u.client_key_data = Some(b64(&file)?.into());
            }
            if let Some(file) = u.token_file.take() {
                let full = base.join(&file);
                let token = std::fs::read_to_string(&full)
                    .with_context(|| format!("cannot read {}", full.display()))?;
                u.token = Some(token.trim().to_string().into());
            }
        }
        users.push(named_user);
    }
    let mut context = named.clone();
    if let Some(c) = context.context.as_mut() {
        // Who the controller is there is the kubeconfig's user, never an impersonation it names.
        c.namespace = None;
    }
    Ok(Kubeconfig {
        current_context: Some(name),
        clusters: vec![cluster],
        auth_infos: users,
        contexts: vec![context],
        api_version: Some("v1".into()),
        kind: Some("Config".into()),
        ..Default::default()
    })
}

async fn ensure_namespace(client: &kube::Client, ns: &str) -> anyhow::Result<()> {
    let namespaces: Api<k8s_openapi::api::core::v1::Namespace> = Api::all(client.clone());
    if namespaces.get_opt(ns).await?.is_none() {
        let object = json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}});
        namespaces
            .patch(ns, &PatchParams::apply("tack"), &Patch::Apply(&object))
            .await
            .with_context(|| format!("creating namespace {ns}"))?;
    }
    Ok(())
}

/// The applications (`namespace/name`) of every namespace deployed to cluster `name`.
async fn users_of(client: &kube::Client) -> anyhow::Result<BTreeMap<String, Vec<String>>> {
    let apps: Api<GitOpsConfig> = Api::all(client.clone());
    let mut by_cluster: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let list = match apps.list(&ListParams::default()).await {
        Ok(l) => l.items,
        // The GitOpsConfig CRD is not installed: no application uses anything.
        Err(kube::Error::Api(s)) if s.code == 404 => Vec::new(),
        Err(e) => return Err(e).context("listing GitOpsConfigs"),
    };
    for app in &list {
        if let Some(c) = destination::cluster_of(app) {
            by_cluster.entry(c.to_string()).or_default().push(format!(
                "{}/{}",
                app.namespace().unwrap_or_default(),
                app.name_any()
            ));
        }
    }
    Ok(by_cluster)
}

/// One registered cluster, as `tack cluster list` shows it.
struct Row {
    name: String,
    server: String,
    reachable: Result<(), String>,
    apps: Vec<String>,
}

async fn row(secret: &Secret, users: &BTreeMap<String, Vec<String>>) -> Row {
    let name = secret
        .labels()
        .get(CLUSTER_NAME_LABEL)
        .cloned()
        .unwrap_or_else(|| secret.name_any().trim_start_matches("tack-cluster-").to_string());
    let data: BTreeMap<String, Vec<u8>> = secret
        .data
        .clone()
        .unwrap_or_default()
        .into_iter()
        .map(|(k, ByteString(v))| (k, v))
        .collect();
    let server = destination::kubeconfig_of(&data)
        .ok()
        .and_then(|(c, ctx)| destination::server_of(&c, ctx.as_deref()))
        .unwrap_or_default();
    let reachable = match destination::client_of(&data).await {
        Ok(cluster) => destination::probe(&cluster).await,
        Err(e) => Err(e.to_string()),
    };
    Row {
        apps: users.get(&name).cloned().unwrap_or_default(),
        name,
        server,
        reachable,
    }
}

/// `tack cluster list`.
async fn list(client: &kube::Client, ns: &str, output: Output) -> anyhow::Result<ExitCode> {
    let secrets: Api<Secret> = Api::namespaced(client.clone(), ns);
    let selector = format!("{SECRET_TYPE_LABEL}={SECRET_TYPE_CLUSTER}");
    let found = secrets
        .list(&ListParams::default().labels(&selector))
        .await
        .with_context(|| format!("listing the cluster Secrets of namespace {ns}"))?;
    let users = users_of(client).await?;
    let rows = futures::future::join_all(found.items.iter().map(|s| row(s, &users))).await;
    if output == Output::Json {
        let items: Vec<_> = rows
            .iter()
            .map(|r| {
                json!({"name": r.name, "server": r.server, "reachable": r.reachable.is_ok(),
                       "error": r.reachable.as_ref().err(), "applications": r.apps})
            })
            .collect();
        println!("{}", serde_json::to_string_pretty(&items)?);
        return Ok(ExitCode::SUCCESS);
    }
    if rows.is_empty() {
        println!("no cluster registered in namespace {ns} (register one with `tack cluster add`)");
        return Ok(ExitCode::SUCCESS);
    }
    println!("{:<20} {:<32} {:<10} APPS", "NAME", "SERVER", "REACHABLE");
    for r in &rows {
        let reachable = if r.reachable.is_ok() { "yes" } else { "no" };
        let apps = if r.apps.is_empty() {
            "-".to_string()
        } else {
            r.apps.join(",")
        };
        println!("{:<20} {:<32} {:<10} {apps}", r.name, r.server, reachable);
    }
    for r in &rows {
        if let Err(e) = &r.reachable {
            println!("{}: {e}", r.name);
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// `tack cluster remove`.
async fn remove(client: &kube::Client, args: &RemoveArgs) -> anyhow::Result<ExitCode> {
    check_name(&args.name)?;
    let ns = &args.namespace.clusters_namespace;
    let secrets: Api<Secret> = Api::namespaced(client.clone(), ns);
    let name = destination::secret_name(&args.name);
    if secrets.get_opt(&name).await?.is_none() {
        bail!("cluster {} is not registered (no Secret {ns}/{name})", args.name);
    }
    let users = users_of(client).await?.remove(&args.name).unwrap_or_default();
    if !users.is_empty() && !args.force {
        bail!(
            "cluster {} is used by {} application(s): {}; move them first, or remove it anyway with --force",
            args.name,
            users.len(),
            users.join(", ")
        );
    }
    secrets
        .delete(&name, &DeleteParams::default())
        .await
        .with_context(|| format!("deleting Secret {ns}/{name}"))?;
    println!("cluster {} removed (Secret {ns}/{name} deleted)", args.name);
    if !users.is_empty() {
        eprintln!(
            "warning: {} application(s) still name it and fail until it is added again: {}",
            users.len(),
            users.join(", ")
        );
    }
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn files_are_embedded_and_plugins_refused() {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(dir.path().join("ca.crt"), "CA").expect("write");
        std::fs::write(dir.path().join("token"), "tok\n").expect("write");
        let yaml = "apiVersion: v1\nkind: Config\nclusters:\n- name: a\n  cluster:\n    server: https://a\n    \
                    certificate-authority: ca.crt\n- name: b\n  cluster:\n    server: https://b\nusers:\n- name: u\n  \
                    user:\n    tokenFile: token\n- name: p\n  user:\n    exec:\n      apiVersion: \
                    client.authentication.k8s.io/v1\n      command: aws\ncontexts:\n- name: a\n  context: {cluster: a, \
                    user: u, namespace: x}\n- name: b\n  context: {cluster: b, user: p}\ncurrent-context: a\n";
        let config = Kubeconfig::from_yaml(yaml).expect("kubeconfig");
        let out = self_contained(config.clone(), None, dir.path()).expect("self-contained");
        assert_eq!(out.clusters.len(), 1);
        let c = out.clusters[0].cluster.as_ref().expect("cluster");
        assert_eq!(c.certificate_authority, None);
        assert_eq!(c.certificate_authority_data.as_deref(), Some("Q0E="));
        let text = serde_json::to_string(&out).expect("json");
        let data = BTreeMap::from([("kubeconfig".to_string(), text.into_bytes())]);
        let (back, _) = destination::kubeconfig_of(&data).expect("accepted by the controller");
        assert_eq!(destination::server_of(&back, None).as_deref(), Some("https://a"));
        let err = self_contained(config, Some("b"), dir.path())
            .err()
            .map(|e| e.to_string());
        assert!(err.unwrap_or_default().contains("plugin"));
    }
}

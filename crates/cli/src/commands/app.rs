//! `tack app`: GitOpsConfig resources (create, list, get, sync, history, rollback, suspend, resume, delete).

use std::process::ExitCode;

use anyhow::{Context, bail};
use clap::{Args, Subcommand};
use kube::ResourceExt;
use kube::api::{Api, DeleteParams, ListParams, Patch, PatchParams};
use tack_model::{
    Automated, DependencyRef, Destination, GitOpsConfig, GitOpsConfigSpec, Source, SyncPolicy, SyncResult,
};

use crate::config::{Output, Settings};
use crate::table::print_table;

#[derive(Debug, Subcommand)]
pub enum AppCommand {
    /// Create (or update) an application: a GitOpsConfig that the controller keeps synced from Git.
    Create(Box<CreateArgs>),
    /// List the applications of the namespace (-A for all namespaces).
    List(ListArgs),
    /// Show an application: sync and health status, revision, resources, history, conditions.
    Get(NameArg),
    /// Sync an application now: apply Git once, also without automated sync or when drift was left alone.
    Sync(SyncArgs),
    /// Show the last syncs of an application (ID, revision, time, outcome), newest first.
    History(NameArg),
    /// Sync an earlier revision from the history and suspend automated sync until `tack app resume`.
    Rollback(RollbackArgs),
    /// Stop reconciling an application (its objects stay as they are).
    Suspend(NameArg),
    /// Reconcile a suspended or rolled-back application again, following Git.
    Resume(NameArg),
    /// Delete an application (its objects stay in the cluster).
    Delete(NameArg),
}

#[derive(Debug, Args)]
pub struct NameArg {
    /// The application (GitOpsConfig) name
    pub name: String,
}

#[derive(Debug, Args)]
pub struct SyncArgs {
    /// The application (GitOpsConfig) name
    pub name: String,
    /// Also delete objects that left Git (automated applications with prune always do)
    #[arg(long)]
    pub prune: bool,
    /// With --prune: also prune what only a confirmed sync may (Namespaces, CRDs, Prune=confirm, a large share of the application)
    #[arg(long, requires = "prune")]
    pub confirm: bool,
}

#[derive(Debug, Args)]
pub struct RollbackArgs {
    /// The application (GitOpsConfig) name
    pub name: String,
    /// The history ID to roll back to (see `tack app history`) [default: the latest successful sync of
    /// another revision than the current one]
    pub id: Option<i64>,
}

#[derive(Debug, Args)]
pub struct ListArgs {
    /// List the applications of every namespace
    #[arg(short = 'A', long)]
    pub all_namespaces: bool,
}

#[derive(Debug, Args)]
pub struct CreateArgs {
    /// The application (GitOpsConfig) name: 1-48 lowercase letters, digits and '-'
    pub name: String,
    /// Git repository URL (https://, http://, git:// or file://)
    #[arg(long, value_name = "URL")]
    pub repo: String,
    /// Branch, tag or commit [default: the remote's default branch]
    #[arg(long, value_name = "R")]
    pub revision: Option<String>,
    /// Directory inside the repository [default: the repository root]
    #[arg(long, value_name = "P")]
    pub path: Option<String>,
    /// Namespace the objects go to [default: the application's namespace]
    #[arg(long, value_name = "NS")]
    pub dest_namespace: Option<String>,
    /// Cluster the objects go to: one registered with `tack cluster add` (spec.destination.cluster)
    /// [default: the cluster the controller runs in]
    #[arg(long, value_name = "NAME")]
    pub dest_cluster: Option<String>,
    /// Delete objects that leave Git
    #[arg(long)]
    pub prune: bool,
    /// Revert changes made to managed objects outside Git
    #[arg(long)]
    pub self_heal: bool,
    /// Do not sync automatically: only report whether the cluster differs from Git
    #[arg(long, conflicts_with_all = ["prune", "self_heal"])]
    pub manual: bool,
    /// Create the destination namespace when it does not exist
    #[arg(long)]
    pub create_namespace: bool,
    /// How often Git is polled (e.g. 30s, 3m)
    #[arg(long, value_name = "D", value_parser = check_interval)]
    pub interval: Option<String>,
    /// Wait until this application is Ready and Healthy before syncing (repeatable; NS/NAME for another
    /// namespace)
    #[arg(long, value_name = "[NS/]NAME")]
    pub depends_on: Vec<String>,
    /// Decrypt SOPS-encrypted files with the age keys of this Secret in the application's namespace (entries
    /// ending in .agekey): spec.decryption {provider: sops, secretRef: {name: NAME}}
    #[arg(long, value_name = "NAME")]
    pub decryption_secret: Option<String>,
    /// Apply as this ServiceAccount of the application's namespace (spec.serviceAccountName; impersonation,
    /// docs/tenancy.md)
    #[arg(long, value_name = "NAME")]
    pub service_account: Option<String>,
    #[command(flatten)]
    pub helm: Box<super::app_helm::AppHelmArgs>,
    /// spec.source.jsonnet, for a path holding *.jsonnet files (--jpath: library paths relative to the
    /// repository root)
    #[command(flatten)]
    pub jsonnet: Box<crate::args::JsonnetSourceArgs>,
}

fn check_interval(s: &str) -> Result<String, String> {
    tack_gitops::parse_interval(s)
        .map(|_| s.to_string())
        .map_err(|e| e.to_string())
}

fn check_name(s: &str) -> anyhow::Result<()> {
    let ok = !s.is_empty()
        && s.len() <= 48
        && s.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && !s.starts_with('-')
        && !s.ends_with('-');
    if !ok {
        bail!("`{s}` is not a valid application name: use 1-48 lowercase letters, digits and '-'");
    }
    Ok(())
}

pub async fn run(cmd: AppCommand, settings: &Settings) -> anyhow::Result<ExitCode> {
    let cluster = settings.connect().await?;
    let namespace = settings
        .namespace
        .clone()
        .unwrap_or_else(|| cluster.default_namespace().to_string());
    let client = cluster.client().clone();
    let apps = Apps {
        api: Api::namespaced(client.clone(), &namespace),
        client,
        namespace,
        settings,
    };
    match cmd {
        AppCommand::Create(args) => create(&apps, &args).await,
        AppCommand::List(list) => list_apps(&apps, &list).await,
        AppCommand::Get(n) => get(&apps, &n).await,
        AppCommand::Sync(n) => request_sync(&apps, &n).await,
        AppCommand::History(n) => history(&apps, &n).await,
        AppCommand::Rollback(r) => rollback(&apps, &r).await,
        AppCommand::Suspend(n) => {
            set_suspend(&apps.api, &n.name, true, &apps.not_found(&n.name)).await?;
            Ok(ExitCode::SUCCESS)
        }
        AppCommand::Resume(n) => {
            set_suspend(&apps.api, &n.name, false, &apps.not_found(&n.name)).await?;
            Ok(ExitCode::SUCCESS)
        }
        AppCommand::Delete(n) => delete(&apps, &n).await,
    }
}

/// The applications of one namespace, and what every subcommand needs.
struct Apps<'a> {
    api: Api<GitOpsConfig>,
    client: kube::Client,
    namespace: String,
    settings: &'a Settings,
}

impl Apps<'_> {
    /// The application `name`, or an error that says how to list them.
    async fn fetch(&self, name: &str) -> anyhow::Result<GitOpsConfig> {
        self.api
            .get_opt(name)
            .await?
            .with_context(|| self.not_found(name))
    }

    fn not_found(&self, name: &str) -> String {
        format!(
            "application {name} not found in namespace {}; list them with `tack app list`",
            self.namespace
        )
    }
}

/// `tack app create`: the GitOpsConfig from the flags, server-side applied.
async fn create(apps: &Apps<'_>, args: &CreateArgs) -> anyhow::Result<ExitCode> {
    let api = &apps.api;
    let namespace = apps.namespace.as_str();
    check_name(&args.name)?;
    if let Some(cluster) = args.dest_cluster.as_deref()
        && cluster != "in-cluster"
        && !tack_gitops::destination::valid_cluster_name(cluster)
    {
        bail!("--dest-cluster: `{cluster}` is not a cluster name (lowercase letters, digits and '-')");
    }
    if let Some(path) = &args.path {
        tack_gitops::check_source_path(path).map_err(|e| anyhow::anyhow!("--path: {e}"))?;
    }
    let spec = GitOpsConfigSpec {
        source: Source {
            repo_url: args.repo.clone(),
            revision: args.revision.clone(),
            path: args.path.clone(),
            helm: args.helm.options()?,
            jsonnet: super::jsonnet::source_spec(&args.jsonnet)?,
            ..Default::default()
        },
        destination: Destination {
            namespace: args.dest_namespace.clone(),
            cluster: args.dest_cluster.clone(),
        },
        sync_policy: Some(SyncPolicy {
            interval: args.interval.clone(),
            automated: (!args.manual).then_some(Automated {
                prune: args.prune,
                self_heal: args.self_heal,
            }),
            create_namespace: args.create_namespace,
            retry: None,
            sync_options: Vec::new(),
        }),
        depends_on: args
            .depends_on
            .iter()
            .map(|d| match d.split_once('/') {
                Some((ns, name)) => DependencyRef {
                    name: name.to_string(),
                    namespace: Some(ns.to_string()),
                },
                None => DependencyRef {
                    name: d.clone(),
                    namespace: None,
                },
            })
            .collect(),
        decryption: args
            .decryption_secret
            .as_ref()
            .map(|name| tack_model::Decryption {
                provider: tack_model::DECRYPTION_PROVIDER_SOPS.to_string(),
                secret_ref: tack_model::LocalObjectReference { name: name.clone() },
            }),
        service_account_name: args.service_account.clone(),
        ..Default::default()
    };
    if let Some(sa) = &args.service_account
        && !tack_gitops::valid_service_account_name(sa)
    {
        anyhow::bail!(
            "--service-account {sa:?} is not a ServiceAccount name (lowercase letters, digits, '-' and '.')"
        );
    }
    if spec.source.jsonnet.is_some() {
        // The controller's own check of spec.source.jsonnet (glob syntax, library paths, extract).
        tack_gitops::SourceRender::of(&args.name, namespace, &spec.source)
            .map_err(|e| anyhow::anyhow!("{e}"))?;
    }
    let mut app = GitOpsConfig::new(&args.name, spec);
    app.metadata.namespace = Some(namespace.to_string());
    let mut value = serde_json::to_value(&app)?;
    if let Some(obj) = value.as_object_mut() {
        obj.remove("status");
    }
    api.patch(
        &args.name,
        &PatchParams::apply(tack_cluster::FIELD_MANAGER).force(),
        &Patch::Apply(&value),
    )
    .await
    .with_context(|| {
        format!(
            "creating application {} in namespace {namespace} (is the CRD installed? `tack install`)",
            args.name
        )
    })?;
    println!(
        "application {} created in namespace {namespace}: {} → namespace {}{}{}",
        args.name,
        args.repo,
        args.dest_namespace.as_deref().unwrap_or(namespace),
        args.dest_cluster
            .as_deref()
            .map(|c| format!(" of cluster {c}"))
            .unwrap_or_default(),
        if args.manual {
            " (manual: differences are reported, not applied)"
        } else {
            ""
        }
    );
    println!(
        "the controller (`tack controller`) syncs it; watch it with `tack app get {}`",
        args.name
    );
    Ok(ExitCode::SUCCESS)
}

/// `tack app list`: one row per application.
async fn list_apps(ctx: &Apps<'_>, list: &ListArgs) -> anyhow::Result<ExitCode> {
    let (api, settings) = (&ctx.api, ctx.settings);
    let apps = if list.all_namespaces {
        Api::<GitOpsConfig>::all(ctx.client.clone())
            .list(&ListParams::default())
            .await?
    } else {
        api.list(&ListParams::default()).await?
    };
    if settings.output == Output::Json {
        println!("{}", serde_json::to_string_pretty(&apps.items)?);
        return Ok(ExitCode::SUCCESS);
    }
    if apps.items.is_empty() {
        println!("no applications; create one with `tack app create NAME --repo URL`");
        return Ok(ExitCode::SUCCESS);
    }
    let rows: Vec<[String; 6]> = apps
        .items
        .iter()
        .map(|a| {
            let s = a.status.clone().unwrap_or_default();
            [
                a.namespace().unwrap_or_default(),
                a.name_any(),
                if a.spec.suspend {
                    "Suspended".to_string()
                } else {
                    let sync = s
                        .sync
                        .as_ref()
                        .map(|x| format!("{:?}", x.status))
                        .unwrap_or_else(|| "Unknown".into());
                    if a.spec.rollback.is_some() {
                        format!("{sync} (rolled back)")
                    } else {
                        sync
                    }
                },
                s.health
                    .as_ref()
                    .map(|h| h.status.clone())
                    .unwrap_or_else(|| "Unknown".into()),
                s.sync
                    .as_ref()
                    .and_then(|x| x.revision.as_deref())
                    .map(|r| r.chars().take(12).collect())
                    .unwrap_or_default(),
                a.spec.source.repo_url.clone(),
            ]
        })
        .collect();
    print_table(
        &["NAMESPACE", "NAME", "SYNC", "HEALTH", "REVISION", "REPO"],
        &rows,
    );
    Ok(ExitCode::SUCCESS)
}

/// `tack app get`: the application and its status.
async fn get(apps: &Apps<'_>, n: &NameArg) -> anyhow::Result<ExitCode> {
    let settings = apps.settings;
    let app = apps.fetch(&n.name).await?;
    if settings.output == Output::Json {
        println!("{}", serde_json::to_string_pretty(&app)?);
        return Ok(ExitCode::SUCCESS);
    }
    print_app(&app);
    Ok(ExitCode::SUCCESS)
}

/// `tack app sync`: asks the controller to apply Git now (the sync annotation).
async fn request_sync(apps: &Apps<'_>, n: &SyncArgs) -> anyhow::Result<ExitCode> {
    let api = &apps.api;
    let now = humantime::format_rfc3339_millis(std::time::SystemTime::now()).to_string();
    let patch = tack_api::actions::sync(&now, n.prune, n.confirm);
    apps.fetch(&n.name).await?;
    api.patch(&n.name, &PatchParams::default(), &Patch::Merge(&patch))
        .await?;
    println!(
        "application {}: sync requested{}; the controller applies Git now (see `tack app get {}`)",
        n.name,
        if n.prune { " with prune" } else { "" },
        n.name
    );
    Ok(ExitCode::SUCCESS)
}

/// `tack app history`: the recorded syncs, newest first.
async fn history(apps: &Apps<'_>, n: &NameArg) -> anyhow::Result<ExitCode> {
    let settings = apps.settings;
    let app = apps.fetch(&n.name).await?;
    let s = app.status.clone().unwrap_or_default();
    if settings.output == Output::Json {
        println!("{}", serde_json::to_string_pretty(&s.history)?);
        return Ok(ExitCode::SUCCESS);
    }
    if s.history.is_empty() {
        println!("application {}: no sync yet", n.name);
        return Ok(ExitCode::SUCCESS);
    }
    let current = s.sync.as_ref().and_then(|x| x.revision.clone());
    let pinned = app.spec.rollback.as_ref().map(|r| r.revision.clone());
    let rows: Vec<[String; 4]> = s
        .history
        .iter()
        .rev()
        .map(|h| {
            let mut outcome = format!("{:?}", h.result);
            if pinned.as_deref() == Some(h.revision.as_str()) {
                outcome.push_str(" (rolled back to)");
            } else if current.as_deref() == Some(h.revision.as_str()) && h.result == SyncResult::Succeeded {
                outcome.push_str(" (current)");
            }
            [h.id.to_string(), h.revision.clone(), h.time.clone(), outcome]
        })
        .collect();
    print_table(&["ID", "REVISION", "TIME", "OUTCOME"], &rows);
    Ok(ExitCode::SUCCESS)
}

/// `tack app rollback`: pins a revision of the history and suspends automated sync.
async fn rollback(apps: &Apps<'_>, r: &RollbackArgs) -> anyhow::Result<ExitCode> {
    let api = &apps.api;
    let app = apps.fetch(&r.name).await?;
    let s = app.status.clone().unwrap_or_default();
    let target =
        tack_api::actions::rollback_target(&s, r.id).with_context(|| format!("application {}", r.name))?;
    let patch = tack_api::actions::rollback(&target);
    api.patch(&r.name, &PatchParams::default(), &Patch::Merge(&patch))
        .await?;
    println!(
        "application {}: rolling back to {} (history ID {}, synced {})",
        r.name, target.revision, target.id, target.time
    );
    println!(
        "automated sync is suspended: new commits are not applied until `tack app resume {}`",
        r.name
    );
    Ok(ExitCode::SUCCESS)
}

/// `tack app delete`: removes the GitOpsConfig; the objects it applied stay.
async fn delete(apps: &Apps<'_>, n: &NameArg) -> anyhow::Result<ExitCode> {
    let api = &apps.api;
    apps.fetch(&n.name).await?;
    api.delete(&n.name, &DeleteParams::default()).await?;
    println!(
        "application {} deleted; the objects it applied stay in the cluster",
        n.name
    );
    Ok(ExitCode::SUCCESS)
}

async fn set_suspend(
    api: &Api<GitOpsConfig>,
    name: &str,
    suspend: bool,
    not_found: &str,
) -> anyhow::Result<()> {
    let app = api.get_opt(name).await?.with_context(|| not_found.to_string())?;
    // Resume also ends a rollback.
    let patch = tack_api::actions::suspend(suspend);
    api.patch(name, &PatchParams::default(), &Patch::Merge(&patch))
        .await?;
    if suspend {
        println!(
            "application {name} suspended: the controller leaves it alone until `tack app resume {name}`"
        );
    } else if let Some(r) = &app.spec.rollback {
        println!(
            "application {name} resumed: the rollback to {} ended; the controller syncs {} again",
            r.revision,
            app.spec
                .source
                .revision
                .as_deref()
                .unwrap_or("the default branch")
        );
    } else {
        println!("application {name} resumed: the controller reconciles it now");
    }
    Ok(())
}

fn print_app(app: &GitOpsConfig) {
    let s = app.status.clone().unwrap_or_default();
    let spec = &app.spec;
    println!("Name:         {}", app.name_any());
    println!("Namespace:    {}", app.namespace().unwrap_or_default());
    println!(
        "Source:       {} (revision {}, path {})",
        spec.source.repo_url,
        spec.source.revision.as_deref().unwrap_or("default branch"),
        spec.source
            .path
            .as_deref()
            .filter(|p| !p.is_empty())
            .unwrap_or("/")
    );
    println!(
        "Destination:  namespace {}{}",
        spec.destination
            .namespace
            .clone()
            .or_else(|| app.namespace())
            .unwrap_or_default(),
        tack_gitops::destination::cluster_of(app)
            .map(|c| format!(" of cluster {c}"))
            .unwrap_or_default()
    );
    let policy = spec.sync_policy.clone().unwrap_or_default();
    let mode = match &policy.automated {
        Some(a) => format!("automated (prune {}, selfHeal {})", a.prune, a.self_heal),
        None => "manual".to_string(),
    };
    println!(
        "Sync policy:  {mode}, every {}{}",
        policy.interval.as_deref().unwrap_or("3m"),
        if spec.suspend { ", SUSPENDED" } else { "" }
    );
    if !spec.depends_on.is_empty() {
        let deps: Vec<String> = spec
            .depends_on
            .iter()
            .map(|d| match &d.namespace {
                Some(ns) => format!("{ns}/{}", d.name),
                None => d.name.clone(),
            })
            .collect();
        println!("Depends on:   {}", deps.join(", "));
    }
    if let Some(sa) = &spec.service_account_name {
        println!("Acts as:      ServiceAccount {sa} (impersonated)");
    }
    if let Some(d) = &spec.decryption {
        println!(
            "Decryption:   {} with the age keys of Secret {}",
            d.provider, d.secret_ref.name
        );
    }
    if let Some(r) = &spec.rollback {
        println!(
            "Rollback:     pinned to {}; automated sync suspended until `tack app resume {}`",
            r.revision,
            app.name_any()
        );
    }
    match &s.sync {
        Some(sync) => println!(
            "Sync:         {:?} at {}",
            sync.status,
            sync.revision.as_deref().unwrap_or("(no revision)")
        ),
        None => println!("Sync:         Unknown (not reconciled yet; is `tack controller` running?)"),
    }
    if let Some(h) = &s.health {
        match &h.message {
            Some(m) => println!("Health:       {} ({m})", h.status),
            None => println!("Health:       {}", h.status),
        }
    }
    if let Some(op) = &s.last_operation {
        println!(
            "Last sync:    {:?} {} {}",
            op.phase,
            op.finished_at.as_deref().unwrap_or(""),
            op.message.as_deref().unwrap_or("")
        );
    }
    if !s.conditions.is_empty() {
        println!("\nConditions:");
        for c in &s.conditions {
            println!(
                "  {:<12} {:<5} {:<14} {}",
                c.type_,
                c.status,
                c.reason,
                c.message.replace('\n', "\n      ")
            );
        }
    }
    if !s.resources.is_empty() {
        println!("\nResources:");
        let rows: Vec<[String; 6]> = s
            .resources
            .iter()
            .map(|r| {
                [
                    r.kind.clone(),
                    r.namespace.clone().unwrap_or_default(),
                    r.name.clone(),
                    r.status.map(|x| format!("{x:?}")).unwrap_or_default(),
                    r.health.as_ref().map(|h| h.status.clone()).unwrap_or_default(),
                    r.health
                        .as_ref()
                        .and_then(|h| h.message.clone())
                        .unwrap_or_default(),
                ]
            })
            .collect();
        print_table(&["KIND", "NAMESPACE", "NAME", "SYNC", "HEALTH", "MESSAGE"], &rows);
    }
    if !s.history.is_empty() {
        println!("\nHistory:");
        for h in s.history.iter().rev() {
            println!("  {:>3}  {}  {:<9?}  {}", h.id, h.time, h.result, h.revision);
        }
    }
}

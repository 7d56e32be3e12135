//! `tack controller`: runs the controllers until SIGINT or SIGTERM, with Prometheus metrics, health endpoints,
//! the Git push webhook receiver and optional leader election (docs/controller.md).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, bail};
use clap::Args;
use tack_gitops::ControllerConfig;
use tack_gitops::lease::{self, LeaderElector, LeaseConfig, LeaseTimings, StopSignal};
use tack_gitops::metrics::{self, Metrics, Readiness};
use tack_gitops::shard::members::{self, MemberConfig, Ownership};
use tack_gitops::webhook::{self, WebhookSecret};
use tokio::sync::watch;

use crate::config::Settings;

/// Where metrics and health are served unless `--metrics-addr` says otherwise.
const DEFAULT_METRICS_ADDR: &str = "127.0.0.1:9090";

#[derive(Debug, Args)]
pub struct ControllerArgs {
    /// Serve /metrics (Prometheus), /healthz and /readyz on this address; `off` to serve nothing
    /// [default: 127.0.0.1:9090, skipped with a warning when that port is taken]
    #[arg(long, value_name = "ADDR")]
    pub metrics_addr: Option<String>,
    /// Receive Git push webhooks (POST /webhook/github, /webhook/gitlab, /webhook/gitea, /webhook) on this
    /// address; may equal --metrics-addr [default: off]
    #[arg(long, value_name = "ADDR")]
    pub webhook_addr: Option<String>,
    /// File holding the webhook secret (GitHub/Gitea HMAC key, GitLab token); else $TACK_WEBHOOK_SECRET.
    /// Required with --webhook-addr
    #[arg(long, value_name = "FILE")]
    pub webhook_secret_file: Option<PathBuf>,
    /// Serve the HTTP API and web dashboard on this address (docs/api.md): callers send a Kubernetes bearer
    /// token, verified with a TokenReview; each read and action is authorized with a SubjectAccessReview
    /// [default: off]
    #[arg(long, value_name = "ADDR")]
    pub api_addr: Option<String>,
    /// With --api-addr: refuse every action (sync, rollback, promote, …); reads only
    #[arg(long, requires = "api_addr")]
    pub api_read_only: bool,
    /// Run the controllers only while holding a coordination.k8s.io Lease, so that one of several replicas
    /// reconciles (15 s lease, renewed every 5 s, released on shutdown; see --lease-duration)
    #[arg(long)]
    pub leader_elect: bool,
    /// How long a Lease (leader, or shard member with --shards auto) that is not renewed stays held: after it,
    /// another replica takes over. Whole seconds; more than --lease-renew-deadline
    #[arg(long, value_name = "DURATION", default_value = "15s", value_parser = parse_duration)]
    pub lease_duration: Duration,
    /// A replica that could not renew its Lease for this long stops its controllers (before another may take
    /// over); more than --lease-renew-period and --lease-retry-period
    #[arg(long, value_name = "DURATION", default_value = "10s", value_parser = parse_duration)]
    pub lease_renew_deadline: Duration,
    /// How often a replica renews the Lease it holds
    #[arg(long, value_name = "DURATION", default_value = "5s", value_parser = parse_duration)]
    pub lease_renew_period: Duration,
    /// How often a waiting replica looks at the leader Lease, a shard member reads its group's Leases, and a
    /// failed renewal is retried
    #[arg(long, value_name = "DURATION", default_value = "1s", value_parser = parse_duration)]
    pub lease_retry_period: Duration,
    /// Name of the leader-election Lease
    #[arg(long, value_name = "NAME", default_value = lease::DEFAULT_LEASE_NAME)]
    pub lease_name: String,
    /// Namespace of the leader-election Lease [default: $POD_NAMESPACE, else -n/--namespace, else the
    /// kubeconfig context's namespace or, in a pod, its service account's]
    #[arg(long, value_name = "NS")]
    pub lease_namespace: Option<String>,
    /// Where Git mirrors and checked-out trees are kept [default: ${XDG_CACHE_HOME:-~/.cache}/tack/sources]
    #[arg(long, value_name = "DIR", env = "TACK_CACHE_DIR")]
    pub cache_dir: Option<PathBuf>,
    /// Watch only GitOpsConfigs of the namespace given by -n/--namespace
    #[arg(long)]
    pub single_namespace: bool,
    /// Applications reconciled at once
    #[arg(long, default_value_t = 4, value_name = "N")]
    pub concurrency: u16,
    /// Impersonate this ServiceAccount (of the application's own namespace) for every application that sets no
    /// spec.serviceAccountName, instead of applying with the controller's rights, also for what Pipelines create
    /// for its stage (docs/tenancy.md, docs/environments.md)
    #[arg(long, value_name = "NAME")]
    pub default_service_account: Option<String>,
    /// Refuse references into other namespaces: spec.dependsOn entries and ClusterAnalysisTemplates
    /// (clusterScope: true) of rendered Rollouts must stay in the application's namespace (docs/tenancy.md)
    #[arg(long)]
    pub no_cross_namespace_refs: bool,
    /// Refuse Kustomize remote bases (resources that are Git URLs) in applications' sources (docs/tenancy.md)
    #[arg(long)]
    pub no_remote_bases: bool,
    /// Where the Secrets of registered clusters (`tack cluster add`, spec.destination.cluster) are read
    /// (docs/clusters.md)
    #[arg(long, value_name = "NS", default_value = tack_gitops::destination::DEFAULT_CLUSTERS_NAMESPACE)]
    pub clusters_namespace: String,
    /// Where the ConfigMap and Secret `tack-notifications` are read (docs/notifications.md) [default: as
    /// --lease-namespace]
    #[arg(long, value_name = "NS")]
    pub notifications_namespace: Option<String>,
    /// Split the GitOpsConfigs between controllers. `N` (static sharding, with --shard-index): this one
    /// reconciles only those whose stable hash of namespace/name falls in its --shard-index; run one controller
    /// per index 0..N-1, all with the same N; Rollouts, Experiments, AnalysisRuns and Pipelines are reconciled by
    /// shard 0; with --leader-elect each shard elects its own leader (Lease <lease-name>-shard-<index>). `auto`
    /// (with --leader-elect): every replica holds a member Lease <lease-name>-member-<identity>, and the live
    /// replicas split the applications by rendezvous hashing, handing them over when one joins or dies without
    /// ever reconciling one twice at once; Rollouts, AnalysisRuns, Pipelines and notifications stay with the
    /// leader. See docs/controller.md
    #[arg(long, value_name = "N|auto", value_parser = parse_shards)]
    pub shards: Option<Shards>,
    /// This controller's shard, 0 to --shards minus 1
    #[arg(long, value_name = "I", requires = "shards")]
    pub shard_index: Option<u32>,
}

/// `--shards`: a number of static shards, or automatic sharding.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Shards {
    /// `--shards N`.
    Static(u32),
    /// `--shards auto`.
    Auto,
}

fn parse_shards(text: &str) -> Result<Shards, String> {
    match text.trim() {
        "auto" => Ok(Shards::Auto),
        n => n.parse().map(Shards::Static).map_err(|_| {
            format!("{text:?} is neither a number of shards nor `auto`; write --shards 3 (with --shard-index) or --shards auto")
        }),
    }
}

fn parse_duration(text: &str) -> Result<Duration, String> {
    humantime::parse_duration(text.trim())
        .map_err(|e| format!("{text:?}: {e}; write a duration like 15s, 500ms or 1m"))
}

/// The Lease timings the flags ask for, checked.
fn lease_timings(args: &ControllerArgs) -> anyhow::Result<LeaseTimings> {
    let timings = LeaseTimings {
        lease_duration: args.lease_duration,
        renew_every: args.lease_renew_period,
        renew_deadline: args.lease_renew_deadline,
        retry_every: args.lease_retry_period,
    };
    timings.validate()?;
    Ok(timings)
}

/// The sharding the flags ask for: static (`Some` shard), automatic (`true`), or none.
fn sharding(args: &ControllerArgs) -> anyhow::Result<(Option<tack_gitops::Shard>, bool)> {
    match (args.shards, args.shard_index) {
        (Some(Shards::Static(count)), Some(index)) => {
            Ok((Some(tack_gitops::Shard::new(count, index)?), false))
        }
        (Some(Shards::Static(count)), None) => bail!(
            "--shards {count} needs --shard-index I (0 to {}): the shard this controller reconciles; or use \
             --shards auto to let the replicas split the applications between them",
            count.max(1) - 1
        ),
        (Some(Shards::Auto), Some(_)) => bail!(
            "--shard-index is for static sharding (--shards N); with --shards auto the replicas find each other \
             through Leases and split the applications between them"
        ),
        (Some(Shards::Auto), None) if !args.leader_elect => bail!(
            "--shards auto needs --leader-elect: Rollouts, AnalysisRuns, Pipelines and notifications are run by \
             one replica, the leader, while the applications are split between all"
        ),
        (Some(Shards::Auto), None) => Ok((None, true)),
        (None, _) => Ok((None, false)),
    }
}

/// Every controller this process runs, joined here. Leader election covers all of them: they start when the
/// Lease is won, stop gracefully together on `stop` (each waits on `stop.clone().wait()`), and are aborted
/// together when the Lease is lost.
/// How long the controllers may take to finish their reconciles in flight after a stop request before they are
/// dropped (below Kubernetes' default 30 s termination grace period).
const STOP_GRACE: Duration = Duration::from_secs(25);

async fn run_controllers(
    client: kube::Client,
    config: ControllerConfig,
    metrics: Arc<Metrics>,
    notify: tack_notify::NotifyConfig,
    stop: StopSignal,
    gitops: bool,
) {
    let delivery = tack_delivery::DeliveryConfig {
        namespace: config.namespace.clone(),
        ..Default::default()
    };
    let promotion = tack_promotion::controller::ControllerConfig {
        namespace: config.namespace.clone(),
        cache_dir: config.cache_dir.join("promotion"),
        default_service_account: config.lockdown.default_service_account.clone(),
        ..Default::default()
    };
    // With static sharding, Rollouts, Experiments, AnalysisRuns and Pipelines are reconciled by shard 0 alone.
    let delivers = config.shard.is_none_or(|s| s.index() == 0);
    let deadline = {
        let stop = stop.clone();
        async move {
            stop.wait().await;
            tokio::time::sleep(STOP_GRACE).await;
        }
    };
    let own = {
        let (client, stop) = (client.clone(), stop.clone());
        async move {
            if gitops {
                tack_gitops::run_with_metrics(client, config, metrics, stop.wait()).await;
            }
        }
    };
    let all = async move {
        tokio::join!(own, async move {
            if delivers {
                tokio::join!(
                    tack_delivery::run(client.clone(), delivery, stop.clone().wait()),
                    tack_promotion::controller::run(client.clone(), promotion, stop.clone().wait()),
                    tack_notify::run(client, notify, stop.wait()),
                );
            }
        },)
    };
    within_grace(all, deadline).await;
}

/// `work`, or nothing more once `deadline` (the stop request plus [`STOP_GRACE`]) has passed.
async fn within_grace(work: impl std::future::Future, deadline: impl std::future::Future<Output = ()>) {
    tokio::select! {
        _ = work => {}
        () = deadline => tracing::warn!(
            "the controllers had not stopped {} s after the stop request (a watch that never completed its first \
             list, e.g. of a CRD that is not installed, waits forever): stopping without them",
            STOP_GRACE.as_secs()
        ),
    }
}

fn parse_addr(flag: &str, text: &str) -> anyhow::Result<SocketAddr> {
    text.trim().parse().with_context(|| {
        format!("{flag} {text:?} is not an address; write it like 127.0.0.1:9090 or 0.0.0.0:9090")
    })
}

fn webhook_secret(file: Option<&PathBuf>) -> anyhow::Result<WebhookSecret> {
    let (bytes, origin) = match file {
        Some(path) => (
            std::fs::read(path)
                .with_context(|| format!("reading --webhook-secret-file {}", path.display()))?,
            format!("--webhook-secret-file {}", path.display()),
        ),
        None => match std::env::var_os("TACK_WEBHOOK_SECRET") {
            Some(v) => (v.into_encoded_bytes(), "TACK_WEBHOOK_SECRET".to_string()),
            None => bail!(
                "--webhook-addr needs the webhook secret: give --webhook-secret-file FILE or set \
                 TACK_WEBHOOK_SECRET (the same secret as in the Git server's webhook settings)"
            ),
        },
    };
    WebhookSecret::new(&bytes).with_context(|| format!("{origin} is empty; put the webhook secret in it"))
}

/// `tack controller`: wiring (flags → servers, leader election, controllers, shutdown); each part lives in its
/// own module.
pub async fn run(args: &ControllerArgs, settings: &Settings) -> anyhow::Result<ExitCode> {
    let metrics_addr = match args.metrics_addr.as_deref().map(str::trim) {
        Some("off") => None,
        Some(text) => Some((parse_addr("--metrics-addr", text)?, true)),
        None => Some((parse_addr("--metrics-addr", DEFAULT_METRICS_ADDR)?, false)),
    };
    let webhook = match &args.webhook_addr {
        Some(text) => Some((
            parse_addr("--webhook-addr", text)?,
            webhook_secret(args.webhook_secret_file.as_ref())?,
        )),
        None => None,
    };
    let (shard, auto_shards) = sharding(args)?;
    let timings = lease_timings(args)?;
    if let Some(name) = &args.default_service_account
        && !tack_gitops::valid_service_account_name(name)
    {
        bail!(
            "--default-service-account {name:?} is not a ServiceAccount name (lowercase letters, digits, '-' and '.')"
        );
    }
    let cluster = settings.connect().await?;
    let client = cluster.client().clone();
    client
        .apiserver_version()
        .await
        .context("reaching the API server; check --kubeconfig/--context, or start one with `tack dev up`")?;
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
            .unwrap_or_else(tack_gitops::default_cache_dir),
        namespace: namespace.clone(),
        concurrency: args.concurrency.max(1),
        lockdown: tack_gitops::Lockdown {
            default_service_account: args.default_service_account.clone(),
            no_cross_namespace_refs: args.no_cross_namespace_refs,
            no_remote_bases: args.no_remote_bases,
        },
        clusters_namespace: args.clusters_namespace.clone(),
        shard,
    };
    let metrics = Metrics::global();
    // The promotion and notification metrics join the same registry (once per process).
    static MORE_METRICS: std::sync::Once = std::sync::Once::new();
    MORE_METRICS.call_once(|| {
        metrics.register_more(|r| {
            tack_promotion::metrics::PromotionMetrics::global().register(r);
            tack_notify::metrics::register(r);
        });
    });
    let readiness = Readiness::default();

    // SIGINT/SIGTERM → `signalled`; the HTTP servers stop on `servers_stop`, after the controllers and the Lease.
    let (signal_tx, signal_rx) = watch::channel(false);
    let (servers_tx, servers_rx) = watch::channel(false);
    let signalled = move || wait_true(signal_rx.clone());
    tokio::spawn(async move {
        shutdown_signal().await;
        let _ = signal_tx.send(true);
    });
    {
        let readiness = readiness.clone();
        let signalled = signalled.clone();
        tokio::spawn(async move {
            signalled().await;
            readiness.set(false);
        });
    }

    let mut servers = Vec::new();
    let webhook_router = webhook
        .as_ref()
        .map(|(_, secret)| webhook::router(client.clone(), namespace.clone(), secret.clone()));
    if let Some((addr, mut explicit)) = metrics_addr {
        let mut router = metrics::router(metrics.clone(), readiness.clone());
        let mut flag = "--metrics-addr";
        let mut what = "metrics at /metrics, health at /healthz and /readyz".to_string();
        if let (Some((waddr, _)), Some(w)) = (&webhook, &webhook_router)
            && *waddr == addr
        {
            router = router.merge(w.clone());
            what.push_str(", webhooks at /webhook/{github,gitlab,gitea}");
            // Webhooks asked for: failing to listen is an error even on the default metrics address.
            explicit = true;
            flag = "--webhook-addr";
        }
        match tokio::net::TcpListener::bind(addr).await {
            Ok(listener) => {
                tracing::info!(
                    "serving {what} on http://{}",
                    listener.local_addr().unwrap_or(addr)
                );
                servers.push(tokio::spawn(metrics::serve(
                    listener,
                    router,
                    wait_true(servers_rx.clone()),
                )));
            }
            Err(e) if !explicit => tracing::warn!(
                "cannot serve metrics on the default address {addr}: {e}; continuing without them \
                 (choose a free one with --metrics-addr)"
            ),
            Err(e) => return Err(e).with_context(|| format!("{flag} {addr}: cannot listen")),
        }
    }
    if let (Some((addr, _)), Some(router)) = (&webhook, webhook_router)
        && metrics_addr.map(|(a, _)| a) != Some(*addr)
    {
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .with_context(|| format!("--webhook-addr {addr}: cannot listen"))?;
        tracing::info!(
            "receiving Git webhooks on http://{}/webhook/{{github,gitlab,gitea}}",
            listener.local_addr().unwrap_or(*addr)
        );
        servers.push(tokio::spawn(metrics::serve(
            listener,
            router,
            wait_true(servers_rx.clone()),
        )));
    }
    if let Some(text) = &args.api_addr {
        let addr = parse_addr("--api-addr", text)?;
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .with_context(|| format!("--api-addr {addr}: cannot listen"))?;
        let stores = tack_api::Stores::start(&client, namespace.as_deref());
        let options = tack_api::Options {
            mode: tack_api::Mode::Token,
            read_only: args.api_read_only,
            gitops: config.clone(),
        };
        tracing::info!(
            "serving the HTTP API and dashboard on http://{}{}",
            listener.local_addr().unwrap_or(addr),
            if args.api_read_only { " (read-only)" } else { "" }
        );
        servers.push(tokio::spawn(metrics::serve(
            listener,
            tack_api::router(client.clone(), stores, options),
            wait_true(servers_rx.clone()),
        )));
    }
    readiness.set(true);

    tracing::info!(
        cache = %config.cache_dir.display(),
        namespace = config.namespace.as_deref().unwrap_or("(all)"),
        leader_elect = args.leader_elect,
        shard = ?config.shard.map(|s| s.to_string()),
        auto_shards,
        "starting the controllers"
    );
    let notify = tack_notify::NotifyConfig {
        watch_namespace: namespace.clone(),
        ..tack_notify::NotifyConfig::new(
            (args
                .notifications_namespace
                .clone()
                .or(args.lease_namespace.clone()))
            .or_else(|| std::env::var("POD_NAMESPACE").ok().filter(|n| !n.is_empty()))
            .or_else(|| settings.namespace.clone())
            .unwrap_or_else(|| cluster.default_namespace().to_string()),
        )
    };
    let work = {
        let client = client.clone();
        let metrics = metrics.clone();
        let config = config.clone();
        // With automatic sharding the GitOps controller runs in every replica, outside leader election.
        move |stop: StopSignal| {
            run_controllers(
                client.clone(),
                config.clone(),
                metrics.clone(),
                notify.clone(),
                stop,
                !auto_shards,
            )
        }
    };
    let lease_namespace = args
        .lease_namespace
        .clone()
        .or_else(|| std::env::var("POD_NAMESPACE").ok().filter(|n| !n.is_empty()))
        .or_else(|| settings.namespace.clone())
        .unwrap_or_else(|| cluster.default_namespace().to_string());
    if auto_shards {
        let member = MemberConfig {
            timings,
            ..MemberConfig::new(
                &args.lease_name,
                lease_namespace.clone(),
                lease::default_identity(),
            )
        };
        let lease_config = LeaseConfig {
            timings,
            ..LeaseConfig::new(&args.lease_name, lease_namespace, lease::default_identity())
        };
        tracing::info!(
            group = %format!("{}/{}", member.namespace, member.group),
            identity = %member.identity,
            "automatic sharding on; Rollouts, AnalysisRuns, Pipelines and notifications run on the leader"
        );
        let gitops = {
            let (client, metrics) = (client.clone(), metrics.clone());
            move |ownership: Ownership, stop: StopSignal| {
                let deadline = {
                    let stop = stop.clone();
                    async move {
                        stop.wait().await;
                        tokio::time::sleep(STOP_GRACE).await;
                    }
                };
                let run = tack_gitops::run_member(
                    client.clone(),
                    config.clone(),
                    metrics.clone(),
                    ownership,
                    stop.wait(),
                );
                within_grace(run, deadline)
            }
        };
        let elector = LeaderElector::new(client.clone(), lease_config);
        tokio::join!(
            members::run_member(client.clone(), member, metrics.clone(), gitops, signalled()),
            lease::run_elected(elector, metrics.clone(), work, signalled()),
        );
    } else if args.leader_elect {
        // Each shard has its own leader.
        let lease_name = match args.shard_index.filter(|_| shard.is_some()) {
            Some(index) => format!("{}-shard-{index}", args.lease_name),
            None => args.lease_name.clone(),
        };
        let lease_config = LeaseConfig {
            timings,
            ..LeaseConfig::new(&lease_name, lease_namespace, lease::default_identity())
        };
        tracing::info!(
            lease = %format!("{}/{}", lease_config.namespace, lease_config.name),
            identity = %lease_config.identity,
            "leader election on"
        );
        let elector = LeaderElector::new(client.clone(), lease_config);
        lease::run_elected(elector, metrics.clone(), work, signalled()).await;
    } else {
        metrics.set_leader(true);
        let (stop, signal) = StopSignal::new();
        let controllers = tokio::spawn(work(signal));
        signalled().await;
        tracing::info!("finishing reconciles in flight, then stopping");
        let _ = stop.send(true);
        if let Err(e) = controllers.await {
            tracing::warn!("the controllers ended abnormally: {e}");
        }
        metrics.set_leader(false);
    }
    readiness.set(false);
    let _ = servers_tx.send(true);
    for server in servers {
        match tokio::time::timeout(Duration::from_secs(5), server).await {
            Ok(Ok(Ok(()))) => {}
            Ok(Ok(Err(e))) => tracing::warn!("HTTP server: {e}"),
            Ok(Err(e)) => tracing::warn!("HTTP server task: {e}"),
            Err(_) => tracing::warn!("an HTTP server did not stop within 5 s"),
        }
    }
    tracing::info!("stopped");
    Ok(ExitCode::SUCCESS)
}

/// Completes once the channel holds `true` (or its sender is gone).
async fn wait_true(mut rx: watch::Receiver<bool>) {
    let _ = rx.wait_for(|v| *v).await;
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
        () = ctrl_c => tracing::info!("SIGINT received"),
        () = term => tracing::info!("SIGTERM received"),
    }
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;

    #[derive(Debug, Parser)]
    struct Cli {
        #[command(flatten)]
        args: ControllerArgs,
    }

    fn timings(flags: &[&str]) -> Result<LeaseTimings, String> {
        let cli = Cli::try_parse_from(std::iter::once("tack").chain(flags.iter().copied()))
            .map_err(|e| e.to_string())?;
        lease_timings(&cli.args).map_err(|e| e.to_string())
    }

    #[test]
    fn lease_timings_come_from_the_flags_and_are_checked() {
        assert_eq!(timings(&[]), Ok(LeaseTimings::default()));
        assert_eq!(
            timings(&[
                "--lease-duration",
                "5s",
                "--lease-renew-deadline",
                "4s",
                "--lease-renew-period",
                "1s",
                "--lease-retry-period",
                "500ms"
            ]),
            Ok(LeaseTimings {
                lease_duration: Duration::from_secs(5),
                renew_every: Duration::from_secs(1),
                renew_deadline: Duration::from_secs(4),
                retry_every: Duration::from_millis(500),
            })
        );
        assert_eq!(
            timings(&["--lease-duration", "8s"]),
            Err("--lease-renew-deadline 10s must be less than --lease-duration 8s: a holder that cannot renew must \
                 stop before another replica may take over"
                .into())
        );
        let bad = timings(&["--lease-duration", "soon"]).expect_err("refused");
        assert!(bad.contains("write a duration like 15s, 500ms or 1m"), "{bad}");
    }
}

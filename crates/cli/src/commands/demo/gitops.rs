//! The GitOps chapter of `tack demo`: a local Git repository with the guestbook, the controller running in
//! this process, two environments syncing and becoming healthy, a commit rolled out, a manual change reverted.
//! Everything it creates is removed at the end (and on Ctrl-C).

use std::path::{Path, PathBuf};
use std::time::SystemTime;
use std::time::{Duration, Instant};

use super::repo::{git, say};
use anyhow::{Context, bail};
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::Namespace;
use kube::api::{Api, DeleteParams, Patch, PatchParams};
use serde_json::json;
use tack_cluster::{ApplyOptions, Cluster};
use tack_gitops::ControllerConfig;
use tack_model::{GitOpsConfig, SyncState};

/// Where the demo's GitOpsConfigs live (the controller of the demo watches only this namespace).
pub(super) const DEMO_NAMESPACE: &str = "tack-demo";

/// The environments: application name = destination namespace.
const ENVIRONMENTS: [&str; 2] = ["guestbook-qa", "guestbook-e2e"];

/// The guestbook and the NetworkPolicy that isolates each environment (`examples/guestbook`, `examples/network`),
/// built into the binary.
const FILES: [(&str, &str); 7] = [
    (
        "frontend-deployment.yaml",
        include_str!("../../../../../examples/guestbook/frontend-deployment.yaml"),
    ),
    (
        "frontend-service.yaml",
        include_str!("../../../../../examples/guestbook/frontend-service.yaml"),
    ),
    (
        "redis-leader-deployment.yaml",
        include_str!("../../../../../examples/guestbook/redis-leader-deployment.yaml"),
    ),
    (
        "redis-leader-service.yaml",
        include_str!("../../../../../examples/guestbook/redis-leader-service.yaml"),
    ),
    (
        "redis-follower-deployment.yaml",
        include_str!("../../../../../examples/guestbook/redis-follower-deployment.yaml"),
    ),
    (
        "redis-follower-service.yaml",
        include_str!("../../../../../examples/guestbook/redis-follower-service.yaml"),
    ),
    (
        "block-other-namespace.yaml",
        include_str!("../../../../../examples/network/block-other-namespace.yaml"),
    ),
];

/// How long each wait of the demo lasts at most.
const STEP_TIMEOUT: Duration = Duration::from_secs(120);

fn commit(work: &Path, message: &str) -> anyhow::Result<String> {
    git(work, &["add", "-A"])?;
    git(work, &["commit", "--quiet", "-m", message])?;
    git(work, &["rev-parse", "HEAD"])
}

/// Runs the chapter, then removes what it created (also when a step fails or on Ctrl-C). With `keep`, a chapter
/// that succeeded leaves its applications and controller running and returns their clean-up for later.
/// `logs_where` says where the controller's log lines go (`to FILE`, `to standard error`).
pub async fn run(cluster: &Cluster, logs_where: &str, keep: bool) -> anyhow::Result<Option<super::Cleanup>> {
    let stamp = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.as_millis())
        .unwrap_or_default();
    let root: PathBuf = std::env::temp_dir().join(format!("tack-demo-{}-{stamp}", std::process::id()));
    let cache = root.join("cache");
    let work = root.join("repo");
    // Namespaces that exist already (say, from your own `tack sync`) are left in place at the end.
    let created = namespaces_to_create(cluster).await?;
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let mut controller = None;
    let (outcome, interrupted) = tokio::select! {
        r = chapter(cluster, &work, &cache, logs_where, &mut controller, stopped) => (r, false),
        _ = tokio::signal::ctrl_c() => {
            say("\nInterrupted: cleaning up.");
            (Ok(()), true)
        }
    };
    let cluster = cluster.clone();
    let clean = async move {
        let _ = stop.send(());
        if let Some(handle) = controller.take() {
            let _ = tokio::time::timeout(Duration::from_secs(30), handle).await;
        }
        cleanup(&cluster, &created).await;
        let _ = std::fs::remove_dir_all(&root);
    };
    if keep && !interrupted && outcome.is_ok() {
        return Ok(Some(Box::pin(clean)));
    }
    clean.await;
    outcome.map(|()| None)
}

/// The demo's namespaces that do not exist yet (after waiting for those a previous run is still deleting).
async fn namespaces_to_create(cluster: &Cluster) -> anyhow::Result<Vec<String>> {
    let namespaces: Api<Namespace> = Api::all(cluster.client().clone());
    let mut out = Vec::new();
    for name in ENVIRONMENTS.iter().chain([&DEMO_NAMESPACE]) {
        let deadline = Instant::now() + STEP_TIMEOUT;
        loop {
            match namespaces.get_opt(name).await? {
                None => {
                    out.push(name.to_string());
                    break;
                }
                Some(ns) if ns.metadata.deletion_timestamp.is_some() => {
                    if Instant::now() > deadline {
                        bail!(
                            "namespace {name} is still being deleted after {STEP_TIMEOUT:?}; try again later"
                        );
                    }
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
                Some(_) => break,
            }
        }
    }
    Ok(out)
}

/// The chapter's narrative, step after step (wiring: each step calls into the product and prints what it did).
async fn chapter(
    cluster: &Cluster,
    work: &Path,
    cache: &Path,
    logs_where: &str,
    controller: &mut Option<tokio::task::JoinHandle<()>>,
    stopped: tokio::sync::oneshot::Receiver<()>,
) -> anyhow::Result<()> {
    let client = cluster.client().clone();
    let started = Instant::now();
    say("\ntack demo: GitOps — the cluster follows a Git repository");

    say("\n1. Install the GitOpsConfig resource type (a CustomResourceDefinition).");
    for crd in super::super::install::crds()? {
        let kind = cluster
            .resolve("apiextensions.k8s.io/v1", "CustomResourceDefinition")
            .await?
            .context("the cluster serves no CustomResourceDefinitions")?;
        cluster
            .apply(
                &kind,
                &crd,
                ApplyOptions {
                    dry_run: false,
                    force: true,
                },
            )
            .await?;
        let name = crd
            .pointer("/metadata/name")
            .and_then(|v| v.as_str())
            .unwrap_or_default();
        cluster
            .wait_crd_established(name, Duration::from_secs(60))
            .await?;
    }
    say(
        "   done: `kubectl get gitopsconfigs` works now (`tack install` does this plus the in-cluster controller).",
    );

    say("\n2. Create a Git repository holding the guestbook: 3 Deployments, 3 Services and a NetworkPolicy.");
    let dir = work.join("guestbook");
    std::fs::create_dir_all(&dir)?;
    for (name, text) in FILES {
        std::fs::write(dir.join(name), text)?;
    }
    git(work, &["init", "--quiet", "-b", "main"])?;
    let first = commit(work, "guestbook")?;
    let url = format!("file://{}", work.display());
    say(&format!("   {url} at commit {}", short(&first)));

    say(&format!(
        "\n3. Start the GitOps controller in this process, watching GitOpsConfigs of namespace {DEMO_NAMESPACE}."
    ));
    let ns = json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": DEMO_NAMESPACE}});
    Api::<Namespace>::all(client.clone())
        .patch(
            DEMO_NAMESPACE,
            &PatchParams::apply(tack_cluster::FIELD_MANAGER).force(),
            &Patch::Apply(&ns),
        )
        .await?;
    let config = ControllerConfig {
        cache_dir: cache.to_path_buf(),
        namespace: Some(DEMO_NAMESPACE.to_string()),
        concurrency: 2,
        lockdown: Default::default(),
        ..Default::default()
    };
    *controller = Some(tokio::spawn(tack_gitops::run(
        client.clone(),
        config,
        async move {
            let _ = stopped.await;
        },
    )));
    say(
        "   (in a cluster it runs as the Deployment tack-controller in namespace tack-system; here its log lines",
    );
    say(&format!("   go {logs_where})"));

    say("\n4. Declare two environments, each syncing the repository into its own namespace:");
    let apps: Api<GitOpsConfig> = Api::namespaced(client.clone(), DEMO_NAMESPACE);
    for env in ENVIRONMENTS {
        say(&format!(
            "   tack app create {env} -n {DEMO_NAMESPACE} --repo {url} --path guestbook --dest-namespace {env} \
             --create-namespace --prune --self-heal"
        ));
        let app = json!({
            "apiVersion": "gitops.tack.dev/v1alpha1",
            "kind": "GitOpsConfig",
            "metadata": {"name": env, "namespace": DEMO_NAMESPACE},
            "spec": {
                "source": {"repoURL": url, "revision": "main", "path": "guestbook"},
                "destination": {"namespace": env},
                "syncPolicy": {"automated": {"prune": true, "selfHeal": true}, "createNamespace": true},
            },
        });
        apps.patch(
            env,
            &PatchParams::apply(tack_cluster::FIELD_MANAGER).force(),
            &Patch::Apply(&app),
        )
        .await
        .with_context(|| format!("creating GitOpsConfig {env}"))?;
    }
    say(
        "   The controller fetches the commit, applies every object with server-side apply, then waits for health:",
    );
    wait_apps(&apps, &first, started).await?;

    say("\n5. A developer commits a change: 5 frontend replicas and image gb-frontend:v6.");
    let file = dir.join("frontend-deployment.yaml");
    let text = std::fs::read_to_string(&file)?;
    std::fs::write(
        &file,
        text.replace("replicas: 3", "replicas: 5")
            .replace("gb-frontend:v5", "gb-frontend:v6"),
    )?;
    let second = commit(work, "frontend: v6, 5 replicas")?;
    say(&format!(
        "   commit {}; a Git webhook (or the next poll, every 3m) tells the controller — here `tack app sync`:",
        short(&second)
    ));
    let now = humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string();
    let refresh = json!({"metadata": {"annotations": {tack_gitops::REFRESH_ANNOTATION: now}}});
    for env in ENVIRONMENTS {
        apps.patch(env, &PatchParams::default(), &Patch::Merge(&refresh))
            .await?;
    }
    wait_apps(&apps, &second, started).await?;
    for env in ENVIRONMENTS {
        let d = Api::<Deployment>::namespaced(client.clone(), env)
            .get("frontend")
            .await?;
        let spec = d.spec.unwrap_or_default();
        let image = spec
            .template
            .spec
            .and_then(|p| p.containers.first().and_then(|c| c.image.clone()))
            .unwrap_or_default();
        say(&format!(
            "   {env}: frontend runs {} replicas of {}",
            spec.replicas.unwrap_or(1),
            image.rsplit('/').next().unwrap_or(&image)
        ));
    }

    say(
        "\n6. Someone changes the cluster by hand: `kubectl scale deployment frontend --replicas=1 -n guestbook-qa`.",
    );
    let deployments: Api<Deployment> = Api::namespaced(client.clone(), "guestbook-qa");
    let by_hand = PatchParams {
        field_manager: Some("kubectl-scale".into()),
        ..Default::default()
    };
    let edited = Instant::now();
    deployments
        .patch(
            "frontend",
            &by_hand,
            &Patch::Merge(&json!({"spec": {"replicas": 1}})),
        )
        .await?;
    say("   The controller watches every object it applied; with selfHeal on, Git wins:");
    let deadline = Instant::now() + STEP_TIMEOUT;
    let mut seen_one = false;
    loop {
        let r = deployments
            .get("frontend")
            .await?
            .spec
            .and_then(|s| s.replicas)
            .unwrap_or(1);
        if r == 1 && !seen_one {
            seen_one = true;
            say("   guestbook-qa: frontend has 1 replica (drifted from Git)");
        }
        if r == 5 {
            say(&format!(
                "   guestbook-qa: drift reverted after {:.1} s: frontend has 5 replicas again, as Git says",
                edited.elapsed().as_secs_f64()
            ));
            break;
        }
        if Instant::now() > deadline {
            bail!("the drift of guestbook-qa/frontend was not reverted within {STEP_TIMEOUT:?}");
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    say(&format!(
        "\nThe GitOps chapter took {:.0} s. Without selfHeal the controller reports OutOfSync instead, naming \
         the object; `tack app history` and `tack app rollback` go back to an earlier commit.",
        started.elapsed().as_secs_f64()
    ));
    Ok(())
}

/// Prints each environment's state when it changes, until all are Synced and Healthy at `revision`.
async fn wait_apps(apps: &Api<GitOpsConfig>, revision: &str, started: Instant) -> anyhow::Result<()> {
    let deadline = Instant::now() + STEP_TIMEOUT;
    let mut last: Vec<String> = vec![String::new(); ENVIRONMENTS.len()];
    loop {
        let mut done = 0;
        for (i, env) in ENVIRONMENTS.iter().enumerate() {
            let status = apps.get(env).await?.status.unwrap_or_default();
            let sync = status.sync.clone().unwrap_or_default();
            let at = sync.revision.as_deref() == Some(revision);
            let health = status.health.clone().unwrap_or_default();
            let ready = status.conditions.iter().find(|c| c.type_ == "Ready");
            let line = if at && sync.status == SyncState::Synced && health.status == "Healthy" {
                done += 1;
                format!(
                    "{env}: Synced and Healthy at {} ({} objects)",
                    short(revision),
                    status.inventory.len()
                )
            } else if let Some(r) = ready.filter(|r| r.status == "False" && at) {
                format!("{env}: {} — {}", r.reason, first_line(&r.message))
            } else if at {
                format!(
                    "{env}: {:?}, {}{}",
                    sync.status,
                    if health.status.is_empty() {
                        "Unknown"
                    } else {
                        &health.status
                    },
                    health
                        .message
                        .map(|m| format!(" ({})", first_line(&m)))
                        .unwrap_or_default()
                )
            } else {
                format!("{env}: syncing {}", short(revision))
            };
            if line != last[i] {
                say(&format!("   [{:>5.1}s] {line}", started.elapsed().as_secs_f64()));
                last[i] = line;
            }
        }
        if done == ENVIRONMENTS.len() {
            return Ok(());
        }
        if Instant::now() > deadline {
            bail!(
                "the environments did not become Synced and Healthy within {STEP_TIMEOUT:?}; see `tack app get`"
            );
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

/// Deletes the demo's applications and the namespaces it created.
async fn cleanup(cluster: &Cluster, created: &[String]) {
    let client = cluster.client().clone();
    let apps: Api<GitOpsConfig> = Api::namespaced(client.clone(), DEMO_NAMESPACE);
    for env in ENVIRONMENTS {
        let _ = apps.delete(env, &DeleteParams::default()).await;
    }
    let namespaces: Api<Namespace> = Api::all(client);
    for ns in created {
        let _ = namespaces.delete(ns, &DeleteParams::default()).await;
    }
    let which = if created.is_empty() {
        "no namespace (they existed before the demo)".to_string()
    } else {
        format!("the namespaces {}", created.join(", "))
    };
    say(&format!(
        "\nCleaned up: deleted the demo's GitOpsConfigs, {which} and the temporary repository."
    ));
}

fn short(revision: &str) -> &str {
    revision.get(..12).unwrap_or(revision)
}

fn first_line(text: &str) -> &str {
    text.lines().next().unwrap_or("")
}

//! Faults and bad input against the GitOps controller on the local control plane: a Git server that accepts and
//! never answers, a path that leaves the repository, a series of syncs and failures (their Events), and an
//! application too large for its status (`TACK_CONTROLLER_BULK` ConfigMaps, default 3 000).

use std::net::TcpListener;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use k8s_openapi::api::core::v1::ConfigMap;
use k8s_openapi::api::events::v1::Event;
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::CustomResourceExt;
use kube::api::{Api, ListParams, Patch, PatchParams};
use serde_json::json;
use tack_gitops::{ControllerConfig, GitOpsConfig, Metrics};
use tack_model::GitOpsConfigStatus;
use tack_source::Deadlines;
use tack_testkit::{GitRepo, TestNamespace, eventually};

async fn install_crd(client: &kube::Client) -> Result<()> {
    let crds: Api<CustomResourceDefinition> = Api::all(client.clone());
    let crd = GitOpsConfig::crd();
    let name = crd.metadata.name.clone().context("CRD name")?;
    crds.patch(&name, &PatchParams::apply("tack").force(), &Patch::Apply(&crd))
        .await?;
    tack_cluster::Cluster::from_client(client.clone(), "default")
        .wait_crd_established(&name, Duration::from_secs(60))
        .await?;
    Ok(())
}

struct Running {
    stop: tokio::sync::oneshot::Sender<()>,
    handle: tokio::task::JoinHandle<()>,
}

fn start(client: &kube::Client, ns: &str, cache: &Path, deadlines: Deadlines) -> Running {
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let config = ControllerConfig {
        cache_dir: cache.to_path_buf(),
        namespace: Some(ns.to_string()),
        concurrency: 2,
        lockdown: Default::default(),
        ..Default::default()
    };
    let handle = tokio::spawn(tack_gitops::run_with_deadlines(
        client.clone(),
        config,
        Arc::new(Metrics::new()),
        deadlines,
        async move {
            let _ = stopped.await;
        },
    ));
    Running { stop, handle }
}

impl Running {
    /// Stops the controller; how long it took to return.
    async fn stop(self) -> Result<Duration> {
        let started = Instant::now();
        let _ = self.stop.send(());
        tokio::time::timeout(Duration::from_secs(30), self.handle)
            .await
            .context("the controller did not stop within 30 s")??;
        Ok(started.elapsed())
    }
}

async fn apply_app(api: &Api<GitOpsConfig>, name: &str, spec: serde_json::Value) -> Result<()> {
    let app = json!({"apiVersion": "gitops.tack.dev/v1alpha1", "kind": "GitOpsConfig",
        "metadata": {"name": name}, "spec": spec});
    api.patch(
        name,
        &PatchParams::apply("tack-test").force(),
        &Patch::Apply(&app),
    )
    .await?;
    Ok(())
}

fn ready(s: &GitOpsConfigStatus) -> Option<&tack_model::Condition> {
    s.conditions.iter().find(|c| c.type_ == "Ready")
}

async fn status(api: &Api<GitOpsConfig>, name: &str) -> Result<GitOpsConfigStatus> {
    Ok(api.get(name).await?.status.unwrap_or_default())
}

/// A TCP server on 127.0.0.1 that accepts connections and never answers; the number of connections accepted.
fn silent_server() -> Result<(u16, Arc<std::sync::atomic::AtomicUsize>)> {
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let port = listener.local_addr()?.port();
    let accepted = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let count = accepted.clone();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for conn in listener.incoming().flatten() {
            count.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            held.push(conn);
        }
    });
    Ok((port, accepted))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the local control plane"]
async fn a_silent_git_server_is_a_condition_within_the_deadline_and_shutdown_does_not_wait() -> Result<()> {
    tack_cluster::install_crypto_provider();
    let client = tack_testkit::client().await?;
    install_crd(&client).await?;
    let ns = TestNamespace::new(&client, "silent-git").await?;
    let cache = tempfile::tempdir()?;
    let apps: Api<GitOpsConfig> = Api::namespaced(client.clone(), ns.name());
    let (port, accepted) = silent_server()?;
    let idle = Duration::from_secs(3);
    let short = Deadlines {
        connect: Duration::from_secs(3),
        idle,
        total: Duration::from_secs(30),
    };
    let controller = start(&client, ns.name(), cache.path(), short);
    let started = Instant::now();
    apply_app(
        &apps,
        "silent",
        json!({"source": {"repoURL": format!("git://127.0.0.1:{port}/repo.git")},
               "syncPolicy": {"automated": {}}}),
    )
    .await?;
    let condition = eventually(Duration::from_secs(30), "a stalled condition", || async {
        let s = status(&apps, "silent").await?;
        Ok(ready(&s).filter(|c| c.status == "False").cloned())
    })
    .await?;
    let took = started.elapsed();
    eprintln!(
        "condition after {took:?}: {}: {}",
        condition.reason, condition.message
    );
    assert_eq!(condition.reason, "FetchFailed");
    assert!(
        condition
            .message
            .contains("stalled while waiting for data from the server"),
        "{}",
        condition.message
    );
    assert!(took < idle + Duration::from_secs(10), "{took:?}");
    controller.stop().await?;

    // A fetch hanging with the default deadlines (60 s without data): shutdown returns at once.
    let controller = start(&client, ns.name(), cache.path(), Deadlines::default());
    let before = accepted.load(std::sync::atomic::Ordering::SeqCst);
    eventually(Duration::from_secs(30), "a fetch in flight", || async {
        Ok((accepted.load(std::sync::atomic::Ordering::SeqCst) > before).then_some(()))
    })
    .await?;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let stopping = controller.stop().await?;
    eprintln!("shutdown with a fetch in flight took {stopping:?}");
    assert!(stopping < Duration::from_secs(10), "{stopping:?}");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the local control plane"]
async fn a_path_leaving_the_repository_is_an_invalid_spec_not_a_fetch_failure() -> Result<()> {
    tack_cluster::install_crypto_provider();
    let client = tack_testkit::client().await?;
    install_crd(&client).await?;
    let ns = TestNamespace::new(&client, "escape").await?;
    let cache = tempfile::tempdir()?;
    let repo = GitRepo::new()?;
    std::fs::write(
        repo.work().join("cm.yaml"),
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n",
    )?;
    repo.commit("main", "one")?;
    let apps: Api<GitOpsConfig> = Api::namespaced(client.clone(), ns.name());
    let controller = start(&client, ns.name(), cache.path(), Deadlines::default());
    apply_app(
        &apps,
        "escape",
        json!({"source": {"repoURL": repo.url(), "path": "../.."}, "syncPolicy": {"automated": {}}}),
    )
    .await?;
    let s = eventually(Duration::from_secs(30), "Stalled", || async {
        let s = status(&apps, "escape").await?;
        Ok(s.conditions
            .iter()
            .any(|c| c.type_ == "Stalled" && c.status == "True")
            .then_some(s))
    })
    .await?;
    let stalled = s
        .conditions
        .iter()
        .find(|c| c.type_ == "Stalled")
        .context("Stalled")?;
    assert_eq!(stalled.reason, "InvalidSpec");
    assert!(
        stalled.message.contains("spec.source.path \"../..\""),
        "{}",
        stalled.message
    );
    let reconciling = s
        .conditions
        .iter()
        .find(|c| c.type_ == "Reconciling")
        .context("Reconciling")?;
    assert_eq!(reconciling.status, "False", "not retried as a fetch failure");
    controller.stop().await?;
    Ok(())
}

/// The notes of the Events of `name`, oldest first, with `reason`.
async fn notes(client: &kube::Client, ns: &str, name: &str, reason: &str) -> Result<Vec<String>> {
    let events: Api<Event> = Api::namespaced(client.clone(), ns);
    let mut list: Vec<Event> = events
        .list(&ListParams::default())
        .await?
        .items
        .into_iter()
        .filter(|e| e.regarding.as_ref().and_then(|r| r.name.as_deref()) == Some(name))
        .filter(|e| e.reason.as_deref() == Some(reason))
        .collect();
    list.sort_by_key(|e| e.event_time.as_ref().map(|t| t.0));
    Ok(list.into_iter().filter_map(|e| e.note).collect())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the local control plane"]
async fn the_events_of_a_series_of_syncs_and_failures_carry_their_own_messages() -> Result<()> {
    tack_cluster::install_crypto_provider();
    let client = tack_testkit::client().await?;
    install_crd(&client).await?;
    let ns = TestNamespace::new(&client, "events").await?;
    let cache = tempfile::tempdir()?;
    let repo = GitRepo::new()?;
    let apps: Api<GitOpsConfig> = Api::namespaced(client.clone(), ns.name());
    let controller = start(&client, ns.name(), cache.path(), Deadlines::default());
    let mut commits = Vec::new();
    for i in 0..3 {
        std::fs::write(
            repo.work().join("cm.yaml"),
            format!("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\ndata:\n  version: \"{i}\"\n"),
        )?;
        let commit = repo.commit("main", &format!("version {i}"))?;
        if i == 0 {
            apply_app(
                &apps,
                "events",
                json!({"source": {"repoURL": repo.url()}, "syncPolicy": {"interval": "1s", "automated": {}}}),
            )
            .await?;
        }
        eventually(Duration::from_secs(30), "synced", || async {
            let s = status(&apps, "events").await?;
            Ok((s.sync.and_then(|x| x.revision).as_deref() == Some(commit.as_str())).then_some(()))
        })
        .await?;
        commits.push(commit);
    }
    let synced = eventually(Duration::from_secs(15), "three Synced Events", || async {
        let n = notes(&client, ns.name(), "events", "Synced").await?;
        Ok((n.len() >= 3).then_some(n))
    })
    .await?;
    for (commit, note) in commits.iter().zip(&synced) {
        assert!(note.starts_with(&commit[..12]), "{note} names {commit}");
    }
    for (i, broken) in ["a: [", "b: {"].iter().enumerate() {
        std::fs::write(repo.work().join("cm.yaml"), format!("{broken}\n# broken {i}\n"))?;
        repo.commit("main", &format!("broken {i}"))?;
        let wanted = i + 1;
        let failures = eventually(
            Duration::from_secs(30),
            "a RenderFailed Event per error",
            || async {
                let n = notes(&client, ns.name(), "events", "RenderFailed").await?;
                let distinct: std::collections::BTreeSet<String> = n.into_iter().collect();
                Ok((distinct.len() >= wanted).then_some(distinct))
            },
        )
        .await?;
        assert_eq!(failures.len(), wanted, "{failures:?}");
    }
    // The same failure again (the controller retries) extends the series of its Event: no new Event per repeat.
    let events: Api<Event> = Api::namespaced(client.clone(), ns.name());
    let repeated = eventually(Duration::from_secs(60), "a RenderFailed series", || async {
        let failed: Vec<Event> = events
            .list(&Default::default())
            .await?
            .items
            .into_iter()
            .filter(|e| e.reason.as_deref() == Some("RenderFailed"))
            .collect();
        let count = |e: &Event| e.series.as_ref().map_or(1, |s| s.count);
        Ok(failed.iter().any(|e| count(e) >= 2).then_some(failed))
    })
    .await?;
    assert_eq!(
        repeated.len(),
        2,
        "one Event per distinct failure, repeats in its series"
    );
    controller.stop().await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the local control plane"]
async fn a_large_application_keeps_its_inventory_outside_the_status_and_prunes() -> Result<()> {
    let count: usize = std::env::var("TACK_CONTROLLER_BULK")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(3000);
    tack_cluster::install_crypto_provider();
    let client = tack_testkit::client().await?;
    install_crd(&client).await?;
    let ns = TestNamespace::new(&client, "large").await?;
    let cache = tempfile::tempdir()?;
    let repo = GitRepo::new()?;
    let write = |n: usize| -> Result<()> {
        for f in std::fs::read_dir(repo.work())? {
            let f = f?;
            if f.file_name().to_string_lossy().ends_with(".yaml") {
                std::fs::remove_file(f.path())?;
            }
        }
        for chunk in 0..n.div_ceil(500) {
            let text: String = (chunk * 500..((chunk + 1) * 500).min(n))
                .map(|i| format!("---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm-{i:05}\n"))
                .collect();
            std::fs::write(repo.work().join(format!("part-{chunk:03}.yaml")), text)?;
        }
        Ok(())
    };
    write(count)?;
    let first = repo.commit("main", "all")?;
    let apps: Api<GitOpsConfig> = Api::namespaced(client.clone(), ns.name());
    let configmaps: Api<ConfigMap> = Api::namespaced(client.clone(), ns.name());
    let controller = start(&client, ns.name(), cache.path(), Deadlines::default());
    let started = Instant::now();
    apply_app(
        &apps,
        "large",
        json!({"source": {"repoURL": repo.url()},
               "syncPolicy": {"interval": "2s", "automated": {"prune": true}}}),
    )
    .await?;
    let managed = |n: usize, commit: String| {
        let (apps, configmaps) = (apps.clone(), configmaps.clone());
        async move {
            eventually(Duration::from_secs(600), "synced and pruned", || async {
                let s = status(&apps, "large").await?;
                let at = s.sync.as_ref().and_then(|x| x.revision.as_deref()) == Some(commit.as_str());
                let ready = ready(&s).is_some_and(|c| c.status == "True");
                if !(at && ready) {
                    return Ok(None);
                }
                let list = configmaps.list_metadata(&ListParams::default()).await?;
                let cms = list
                    .items
                    .iter()
                    .filter(|m| m.metadata.name.as_deref().is_some_and(|n| n.starts_with("cm-")))
                    .count();
                Ok((cms == n).then_some(s))
            })
            .await
        }
    };
    let s = managed(count, first).await?;
    eprintln!("{count} objects synced in {:?}", started.elapsed());
    assert!(
        s.inventory.is_empty(),
        "more than 1 000 ids: the status does not list them"
    );
    assert!(s.resources.len() <= 1000);
    let inventory = configmaps
        .get_opt("tack-gitops-inventory-large")
        .await?
        .context("the inventory ConfigMap")?;
    let lines = inventory
        .data
        .as_ref()
        .and_then(|d| d.get("objects"))
        .map(|t| t.lines().count())
        .unwrap_or(0);
    assert_eq!(lines, count);

    write(count / 2)?;
    let half = repo.commit("main", "half")?;
    let started = Instant::now();
    managed(count / 2, half).await?;
    eprintln!("pruned to {} in {:?}", count / 2, started.elapsed());
    controller.stop().await?;
    Ok(())
}

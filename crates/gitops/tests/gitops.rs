//! The GitOpsConfig controller on the local control plane, with a real Git repository over file://: the
//! guestbook syncs and becomes healthy; a new commit is applied; a file removed from Git is pruned; drift is
//! reported without selfHeal and reverted with it; the Git server gone and back; a commit
//! with broken YAML leaves the cluster untouched and sets Ready=False naming the file and line; shutdown is
//! graceful.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, Result};
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::Service;
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::CustomResourceExt;
use kube::api::{Api, Patch, PatchParams};
use serde_json::json;
use tack_gitops::ControllerConfig;
use tack_model::{GitOpsConfig, GitOpsConfigStatus, SyncResult, SyncState};
use tack_testkit::{TestNamespace, eventually, git};

use tack_testkit::gitserver;
#[path = "gitops/clusters.rs"]
mod clusters;
#[path = "gitops/drift.rs"]
mod drift;
#[path = "gitops/helm.rs"]
mod helm;
#[path = "gitops/jsonnet.rs"]
mod jsonnet;
#[path = "gitops/lease.rs"]
mod lease;
#[path = "gitops/metrics.rs"]
mod metrics;
#[path = "gitops/phases.rs"]
mod phases;
#[path = "gitops/shards.rs"]
mod shards;
#[path = "gitops/sops.rs"]
mod sops;
#[path = "gitops/takeover.rs"]
mod takeover;
#[path = "gitops/tenancy.rs"]
mod tenancy;
#[path = "gitops/webhook.rs"]
mod webhook;

const GUESTBOOK: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples/guestbook");
const SEEDS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples");

/// A working tree that pushes to a bare repository served over file://.
struct GitRepo {
    repo: tack_testkit::GitRepo,
    work: PathBuf,
    bare: PathBuf,
}

impl GitRepo {
    fn new(seed: &Path) -> Result<GitRepo> {
        let repo = tack_testkit::GitRepo::new()?;
        let work = repo.work().to_path_buf();
        std::fs::create_dir_all(work.join("guestbook"))?;
        for e in std::fs::read_dir(seed)? {
            let e = e?;
            std::fs::copy(e.path(), work.join("guestbook").join(e.file_name()))?;
        }
        let repo = GitRepo {
            bare: repo.bare().to_path_buf(),
            work,
            repo,
        };
        repo.commit("guestbook")?;
        Ok(repo)
    }

    fn url(&self) -> String {
        self.repo.url()
    }

    /// Commits everything in the working tree, pushes, and returns the commit.
    fn commit(&self, message: &str) -> Result<String> {
        self.repo.commit("main", message)
    }

    fn file(&self, name: &str) -> PathBuf {
        self.work.join("guestbook").join(name)
    }
}

async fn install_crd(client: &kube::Client) -> Result<()> {
    let crds: Api<CustomResourceDefinition> = Api::all(client.clone());
    let crd = GitOpsConfig::crd();
    let name = crd.metadata.name.clone().context("CRD name")?;
    crds.patch(&name, &PatchParams::apply("tack").force(), &Patch::Apply(&crd))
        .await?;
    let cluster = tack_cluster::Cluster::from_client(client.clone(), "default");
    cluster
        .wait_crd_established(&name, Duration::from_secs(60))
        .await?;
    Ok(())
}

async fn status(api: &Api<GitOpsConfig>, name: &str) -> Result<GitOpsConfigStatus> {
    Ok(api.get(name).await?.status.unwrap_or_default())
}

fn condition<'a>(s: &'a GitOpsConfigStatus, type_: &str) -> Option<&'a tack_model::Condition> {
    s.conditions.iter().find(|c| c.type_ == type_)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the local control plane"]
async fn guestbook_follows_git_commits_prune_drift_and_broken_yaml() -> Result<()> {
    tack_cluster::install_crypto_provider();
    let client = tack_testkit::client().await?;
    install_crd(&client).await?;
    let ns = TestNamespace::new(&client, "controller").await?;
    let repo = GitRepo::new(Path::new(GUESTBOOK))?;
    let cache = tempfile::tempdir()?;

    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let config = ControllerConfig {
        cache_dir: cache.path().to_path_buf(),
        namespace: Some(ns.name().to_string()),
        concurrency: 2,
        lockdown: Default::default(),
        ..Default::default()
    };
    let controller = tokio::spawn(tack_gitops::run(client.clone(), config, async move {
        let _ = stopped.await;
    }));

    let apps: Api<GitOpsConfig> = Api::namespaced(client.clone(), ns.name());
    let app = json!({
        "apiVersion": "gitops.tack.dev/v1alpha1",
        "kind": "GitOpsConfig",
        "metadata": {"name": "guestbook", "namespace": ns.name()},
        "spec": {
            "source": {"repoURL": repo.url(), "revision": "main", "path": "guestbook"},
            "destination": {"namespace": ns.name()},
            "syncPolicy": {"interval": "2s", "automated": {"prune": true}},
        },
    });
    apps.patch("guestbook", &PatchParams::apply("tack-test"), &Patch::Apply(&app))
        .await?;

    // 1. Synced and Healthy within 60 s, with the Deployments in the destination namespace.
    let first = git(&repo.work, &["rev-parse", "HEAD"])?.trim().to_string();
    let s = eventually(
        Duration::from_secs(60),
        "guestbook Synced and Healthy",
        || async {
            let s = status(&apps, "guestbook").await?;
            let ok = s.sync.as_ref().is_some_and(|x| x.status == SyncState::Synced)
                && s.health.as_ref().is_some_and(|h| h.status == "Healthy");
            Ok(ok.then_some(s))
        },
    )
    .await?;
    assert_eq!(
        s.sync.as_ref().and_then(|x| x.revision.clone()),
        Some(first.clone())
    );
    assert_eq!(s.observed_generation, Some(1));
    assert_eq!(
        condition(&s, "Ready").map(|c| c.status.as_str()),
        Some("True"),
        "{s:#?}"
    );
    assert_eq!(condition(&s, "Stalled").map(|c| c.status.as_str()), Some("False"));
    assert_eq!(s.inventory.len(), 6, "{:?}", s.inventory);
    assert_eq!(s.resources.len(), 6);
    assert_eq!(s.history.len(), 1);
    assert_eq!(s.history[0].result, SyncResult::Succeeded);
    assert_eq!(s.history[0].revision, first);
    let deployments: Api<Deployment> = Api::namespaced(client.clone(), ns.name());
    for name in ["frontend", "redis-leader", "redis-follower"] {
        assert!(
            deployments.get_opt(name).await?.is_some(),
            "Deployment {name} missing"
        );
    }

    // 2. A new commit (replicas 3 → 5) is applied after a refresh.
    let path = repo.file("frontend-deployment.yaml");
    let text = std::fs::read_to_string(&path)?;
    assert!(text.contains("replicas: 3"));
    std::fs::write(&path, text.replace("replicas: 3", "replicas: 5"))?;
    let second = repo.commit("frontend: 5 replicas")?;
    eventually(
        Duration::from_secs(30),
        "frontend scaled to 5 from Git",
        || async {
            let d = deployments.get("frontend").await?;
            let s = status(&apps, "guestbook").await?;
            let applied = d.spec.and_then(|s| s.replicas) == Some(5);
            let recorded = s.sync.as_ref().and_then(|x| x.revision.as_deref()) == Some(second.as_str());
            Ok((applied && recorded).then_some(()))
        },
    )
    .await?;

    // 3. A file removed from Git is pruned.
    std::fs::remove_file(repo.file("redis-follower-service.yaml"))?;
    let third = repo.commit("drop the redis-follower Service")?;
    let services: Api<Service> = Api::namespaced(client.clone(), ns.name());
    eventually(
        Duration::from_secs(30),
        "redis-follower Service pruned",
        || async {
            let gone = services.get_opt("redis-follower").await?.is_none();
            let s = status(&apps, "guestbook").await?;
            let recorded = s.sync.as_ref().and_then(|x| x.revision.as_deref()) == Some(third.as_str());
            Ok((gone && recorded).then_some(s))
        },
    )
    .await
    .and_then(|s| {
        anyhow::ensure!(s.inventory.len() == 5, "inventory after prune: {:?}", s.inventory);
        anyhow::ensure!(!s.inventory.iter().any(|i| i.contains("redis-follower__Service")));
        Ok(())
    })?;
    assert!(
        services.get_opt("frontend").await?.is_some(),
        "only the removed Service is pruned"
    );

    // 4. Drift with selfHeal off is reported OutOfSync and left alone; turning selfHeal on reverts it.
    let drift = json!({"spec": {"replicas": 2}});
    deployments
        .patch("frontend", &PatchParams::default(), &Patch::Merge(&drift))
        .await?;
    let s = eventually(Duration::from_secs(30), "drift reported OutOfSync", || async {
        let s = status(&apps, "guestbook").await?;
        let out = s.sync.as_ref().is_some_and(|x| x.status == SyncState::OutOfSync);
        Ok(out.then_some(s))
    })
    .await?;
    assert!(
        s.last_operation
            .as_ref()
            .and_then(|o| o.message.as_deref())
            .is_some_and(|m| m.contains("1 of 5 objects differ")),
        "{:?}",
        s.last_operation
    );
    let d = deployments.get("frontend").await?;
    assert_eq!(
        d.spec.and_then(|s| s.replicas),
        Some(2),
        "selfHeal off: drift not reverted"
    );
    let heal = json!({"spec": {"syncPolicy": {"automated": {"prune": true, "selfHeal": true}}}});
    apps.patch("guestbook", &PatchParams::default(), &Patch::Merge(&heal))
        .await?;
    eventually(Duration::from_secs(30), "selfHeal reverts the drift", || async {
        let d = deployments.get("frontend").await?;
        let s = status(&apps, "guestbook").await?;
        let healed = d.spec.and_then(|s| s.replicas) == Some(5)
            && s.sync.as_ref().is_some_and(|x| x.status == SyncState::Synced)
            && s.observed_generation == Some(2);
        Ok(healed.then_some(()))
    })
    .await?;

    // 5. Git server gone: FetchFailed, retried (not Stalled), the cluster as it was; recovery when it returns.
    let away = repo.bare.with_extension("away");
    std::fs::rename(&repo.bare, &away)?;
    let s = eventually(
        Duration::from_secs(30),
        "Ready=False with FetchFailed",
        || async {
            let s = status(&apps, "guestbook").await?;
            let failed =
                condition(&s, "Ready").is_some_and(|c| c.status == "False" && c.reason == "FetchFailed");
            Ok(failed.then_some(s))
        },
    )
    .await?;
    assert_eq!(condition(&s, "Stalled").map(|c| c.status.as_str()), Some("False"));
    assert_eq!(
        condition(&s, "Reconciling").map(|c| c.status.as_str()),
        Some("True")
    );
    assert!(
        deployments.get_opt("frontend").await?.is_some(),
        "the last applied state stays"
    );
    std::fs::rename(&away, &repo.bare)?;
    eventually(
        Duration::from_secs(45),
        "recovered after the Git server returned",
        || async {
            let s = status(&apps, "guestbook").await?;
            Ok(condition(&s, "Ready")
                .is_some_and(|c| c.status == "True")
                .then_some(()))
        },
    )
    .await?;

    // 6. Broken YAML: Ready=False naming file:line, Stalled, the cluster untouched.
    std::fs::write(
        repo.file("broken.yaml"),
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: [oops\n",
    )?;
    let text = std::fs::read_to_string(&path)?;
    std::fs::write(&path, text.replace("replicas: 5", "replicas: 1"))?;
    let fourth = repo.commit("broken")?;
    let s = eventually(
        Duration::from_secs(30),
        "Ready=False with RenderFailed",
        || async {
            let s = status(&apps, "guestbook").await?;
            let failed =
                condition(&s, "Ready").is_some_and(|c| c.status == "False" && c.reason == "RenderFailed");
            Ok(failed.then_some(s))
        },
    )
    .await?;
    let ready = condition(&s, "Ready").context("Ready")?;
    assert!(ready.message.contains("broken.yaml:"), "{}", ready.message);
    assert_eq!(condition(&s, "Stalled").map(|c| c.status.as_str()), Some("True"));
    assert_eq!(
        s.sync.as_ref().and_then(|x| x.revision.clone()),
        Some(third.clone()),
        "last synced revision kept"
    );
    assert_eq!(
        s.history.last().map(|h| (h.revision.as_str(), h.result)),
        Some((fourth.as_str(), SyncResult::Failed))
    );
    let d = deployments.get("frontend").await?;
    assert_eq!(
        d.spec.and_then(|s| s.replicas),
        Some(5),
        "nothing applied from the broken commit"
    );
    let revisions: Vec<&str> = s.history.iter().map(|h| h.revision.as_str()).collect();
    assert_eq!(
        revisions,
        vec![first.as_str(), second.as_str(), third.as_str(), fourth.as_str()]
    );

    // Kubernetes Events on the GitOpsConfig: syncs and failures.
    let events: Api<k8s_openapi::api::events::v1::Event> = Api::namespaced(client.clone(), ns.name());
    eventually(
        Duration::from_secs(15),
        "Synced and RenderFailed events",
        || async {
            let list = events.list(&Default::default()).await?;
            let reasons: Vec<(String, String)> = list
                .items
                .iter()
                .filter(|e| e.regarding.as_ref().and_then(|r| r.name.as_deref()) == Some("guestbook"))
                .map(|e| {
                    (
                        e.type_.clone().unwrap_or_default(),
                        e.reason.clone().unwrap_or_default(),
                    )
                })
                .collect();
            let has = |t: &str, r: &str| reasons.iter().any(|(a, b)| a == t && b == r);
            Ok(
                (has("Normal", "Synced") && has("Warning", "RenderFailed") && has("Warning", "FetchFailed"))
                    .then_some(()),
            )
        },
    )
    .await?;

    // Graceful shutdown.
    let _ = stop.send(());
    tokio::time::timeout(Duration::from_secs(30), controller)
        .await
        .context("controller did not stop within 30 s")??;
    Ok(())
}

/// A controller scoped to `ns`, stopped when the returned sender is sent to or dropped.
fn start_controller(
    client: &kube::Client,
    ns: &str,
    cache: &Path,
) -> (tokio::sync::oneshot::Sender<()>, tokio::task::JoinHandle<()>) {
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let config = ControllerConfig {
        cache_dir: cache.to_path_buf(),
        namespace: Some(ns.to_string()),
        concurrency: 2,
        lockdown: Default::default(),
        ..Default::default()
    };
    let handle = tokio::spawn(tack_gitops::run(client.clone(), config, async move {
        let _ = stopped.await;
    }));
    (stop, handle)
}

async fn stop_controller(
    stop: tokio::sync::oneshot::Sender<()>,
    handle: tokio::task::JoinHandle<()>,
) -> Result<()> {
    let _ = stop.send(());
    tokio::time::timeout(Duration::from_secs(30), handle)
        .await
        .context("controller did not stop within 30 s")??;
    Ok(())
}

/// Waits until `name` is Synced and Healthy at generation `generation`, and returns its status.
async fn wait_synced_healthy(
    apps: &Api<GitOpsConfig>,
    name: &str,
    generation: i64,
    within: Duration,
) -> Result<GitOpsConfigStatus> {
    eventually(within, &format!("{name} Synced and Healthy"), || async {
        let s = status(apps, name).await?;
        let ok = s.sync.as_ref().is_some_and(|x| x.status == SyncState::Synced)
            && s.health.as_ref().is_some_and(|h| h.status == "Healthy")
            && s.observed_generation == Some(generation)
            && condition(&s, "Ready").is_some_and(|c| c.status == "True");
        Ok(ok.then_some(s))
    })
    .await
}

async fn replicas(deployments: &Api<Deployment>, name: &str) -> Result<Option<i32>> {
    Ok(deployments.get(name).await?.spec.and_then(|s| s.replicas))
}

/// Drift detection by watches (interval 10 m, so no periodic re-sync can hide it): an edit by another field
/// manager is reverted with selfHeal, a deleted object is recreated, and without selfHeal the drift is
/// reported OutOfSync naming the object. Before that, the inventory ConfigMap of an earlier one-shot
/// `tack sync` of the same name is adopted into `status.inventory` (its extra object pruned, nothing else).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the local control plane"]
async fn drift_is_detected_by_watches_and_the_inventory_lives_in_the_status() -> Result<()> {
    tack_cluster::install_crypto_provider();
    let client = tack_testkit::client().await?;
    install_crd(&client).await?;
    let ns = TestNamespace::new(&client, "drift").await?;
    let repo = GitRepo::new(Path::new(GUESTBOOK))?;
    let cache = tempfile::tempdir()?;
    let cluster = tack_cluster::Cluster::from_client(client.clone(), "default");
    let configmaps: Api<k8s_openapi::api::core::v1::ConfigMap> = Api::namespaced(client.clone(), ns.name());

    // An earlier one-shot sync of "gb": the guestbook plus a ConfigMap that is not in Git any more.
    let legacy = tempfile::tempdir()?;
    for e in std::fs::read_dir(GUESTBOOK)? {
        let e = e?;
        std::fs::copy(e.path(), legacy.path().join(e.file_name()))?;
    }
    std::fs::write(
        legacy.path().join("legacy.yaml"),
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: legacy\ndata:\n  a: \"1\"\n",
    )?;
    let (_, manifests) = tack_gitops::render_dir(legacy.path(), legacy.path())?;
    let progress = |_: &str| {};
    tack_apply::sync(
        &cluster,
        manifests,
        &tack_apply::SyncOptions::new("gb", ns.name()),
        &progress,
    )
    .await?;
    assert!(configmaps.get_opt("tack-inventory-gb").await?.is_some());
    // Not managed by tack at all: must survive every prune.
    let bystander = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "bystander"}});
    configmaps
        .patch(
            "bystander",
            &PatchParams::apply("someone-else"),
            &Patch::Apply(&bystander),
        )
        .await?;

    let (stop, handle) = start_controller(&client, ns.name(), cache.path());
    let apps: Api<GitOpsConfig> = Api::namespaced(client.clone(), ns.name());
    let app = json!({
        "apiVersion": "gitops.tack.dev/v1alpha1",
        "kind": "GitOpsConfig",
        "metadata": {"name": "gb", "namespace": ns.name()},
        "spec": {
            "source": {"repoURL": repo.url(), "path": "guestbook"},
            "syncPolicy": {"interval": "10m", "automated": {"prune": true, "selfHeal": true}},
        },
    });
    apps.patch("gb", &PatchParams::apply("tack-test"), &Patch::Apply(&app))
        .await?;
    let s = wait_synced_healthy(&apps, "gb", 1, Duration::from_secs(60)).await?;

    // Adopted: the legacy ConfigMap pruned, nothing else; the inventory ConfigMap gone; 6 ids in the status.
    assert_eq!(s.inventory.len(), 6, "{:?}", s.inventory);
    assert!(
        s.inventory
            .contains(&format!("{}_frontend_apps_Deployment", ns.name()))
    );
    eventually(
        Duration::from_secs(15),
        "legacy pruned, inventory ConfigMap deleted",
        || async {
            let legacy_gone = configmaps.get_opt("legacy").await?.is_none();
            let cm_gone = configmaps.get_opt("tack-inventory-gb").await?.is_none();
            Ok((legacy_gone && cm_gone).then_some(()))
        },
    )
    .await?;
    assert!(
        configmaps.get_opt("bystander").await?.is_some(),
        "an unmanaged object was pruned"
    );
    let deployments: Api<Deployment> = Api::namespaced(client.clone(), ns.name());
    let services: Api<Service> = Api::namespaced(client.clone(), ns.name());
    assert_eq!(replicas(&deployments, "frontend").await?, Some(3));

    // 1. selfHeal on: a kubectl-style edit of a managed field (another field manager) is reverted in 10 s.
    let edit = PatchParams {
        field_manager: Some("kubectl-edit".into()),
        ..Default::default()
    };
    deployments
        .patch(
            "frontend",
            &edit,
            &Patch::Merge(&json!({"spec": {"replicas": 1}})),
        )
        .await?;
    eventually(Duration::from_secs(10), "edit reverted by selfHeal", || async {
        Ok((replicas(&deployments, "frontend").await? == Some(3)).then_some(()))
    })
    .await?;

    // 2. A deleted managed object is recreated in 10 s.
    let uid = services.get("frontend").await?.metadata.uid;
    services.delete("frontend", &Default::default()).await?;
    eventually(Duration::from_secs(10), "deleted Service recreated", || async {
        let now = services.get_opt("frontend").await?.and_then(|s| s.metadata.uid);
        Ok((now.is_some() && now != uid).then_some(()))
    })
    .await?;

    // 3. selfHeal off: the drift is reported OutOfSync within 10 s, naming the object, and left alone.
    let off = json!({"spec": {"syncPolicy": {"automated": {"prune": true, "selfHeal": false}}}});
    apps.patch("gb", &PatchParams::default(), &Patch::Merge(&off))
        .await?;
    wait_synced_healthy(&apps, "gb", 2, Duration::from_secs(30)).await?;
    deployments
        .patch(
            "frontend",
            &edit,
            &Patch::Merge(&json!({"spec": {"replicas": 2}})),
        )
        .await?;
    let s = eventually(Duration::from_secs(10), "drift reported OutOfSync", || async {
        let s = status(&apps, "gb").await?;
        Ok(s.sync
            .as_ref()
            .is_some_and(|x| x.status == SyncState::OutOfSync)
            .then_some(s))
    })
    .await?;
    let ready = condition(&s, "Ready").context("Ready")?;
    assert_eq!(ready.status, "False");
    assert_eq!(ready.reason, "OutOfSync");
    assert!(
        ready.message.contains("Deployment.apps/frontend"),
        "{}",
        ready.message
    );
    let drifted: Vec<&str> = s
        .resources
        .iter()
        .filter(|r| r.status == Some(SyncState::OutOfSync))
        .map(|r| r.name.as_str())
        .collect();
    assert_eq!(drifted, vec!["frontend"], "{:?}", s.resources);
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(
        replicas(&deployments, "frontend").await?,
        Some(2),
        "selfHeal off: not reverted"
    );

    stop_controller(stop, handle).await
}

/// Rollback: commit A, commit B, `spec.rollback` to A (what `tack app rollback` sets) → the cluster equals A and
/// stays there after a new commit C; removing it (`tack app resume`) → C.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the local control plane"]
async fn rollback_pins_a_revision_until_resume() -> Result<()> {
    tack_cluster::install_crypto_provider();
    let client = tack_testkit::client().await?;
    install_crd(&client).await?;
    let ns = TestNamespace::new(&client, "rollback").await?;
    let repo = GitRepo::new(Path::new(GUESTBOOK))?;
    let a = git(&repo.work, &["rev-parse", "HEAD"])?.trim().to_string();
    let cache = tempfile::tempdir()?;
    let (stop, handle) = start_controller(&client, ns.name(), cache.path());
    let apps: Api<GitOpsConfig> = Api::namespaced(client.clone(), ns.name());
    let app = json!({
        "apiVersion": "gitops.tack.dev/v1alpha1",
        "kind": "GitOpsConfig",
        "metadata": {"name": "gb", "namespace": ns.name()},
        "spec": {
            "source": {"repoURL": repo.url(), "revision": "main", "path": "guestbook"},
            "syncPolicy": {"interval": "2s", "automated": {"prune": true, "selfHeal": true}},
        },
    });
    apps.patch("gb", &PatchParams::apply("tack-test"), &Patch::Apply(&app))
        .await?;
    wait_synced_healthy(&apps, "gb", 1, Duration::from_secs(60)).await?;
    let deployments: Api<Deployment> = Api::namespaced(client.clone(), ns.name());
    let services: Api<Service> = Api::namespaced(client.clone(), ns.name());

    // B: 5 replicas and no redis-follower Service.
    let path = repo.file("frontend-deployment.yaml");
    let text_a = std::fs::read_to_string(&path)?;
    std::fs::write(&path, text_a.replace("replicas: 3", "replicas: 5"))?;
    std::fs::remove_file(repo.file("redis-follower-service.yaml"))?;
    let b = repo.commit("B")?;
    let s = eventually(Duration::from_secs(30), "B applied", || async {
        let s = status(&apps, "gb").await?;
        let at_b = s.sync.as_ref().and_then(|x| x.revision.as_deref()) == Some(b.as_str());
        let applied = replicas(&deployments, "frontend").await? == Some(5)
            && services.get_opt("redis-follower").await?.is_none();
        Ok((at_b && applied).then_some(s))
    })
    .await?;
    let entry_a = s
        .history
        .iter()
        .find(|h| h.revision == a)
        .context("A in the history")?;
    assert_eq!(entry_a.result, SyncResult::Succeeded);

    // Roll back to A.
    let rollback = json!({"spec": {"rollback": {"revision": a, "historyId": entry_a.id}}});
    apps.patch("gb", &PatchParams::default(), &Patch::Merge(&rollback))
        .await?;
    let s = eventually(Duration::from_secs(30), "rolled back to A", || async {
        let s = status(&apps, "gb").await?;
        let at_a = s.sync.as_ref().and_then(|x| x.revision.as_deref()) == Some(a.as_str())
            && s.observed_generation == Some(2);
        let applied = replicas(&deployments, "frontend").await? == Some(3)
            && services.get_opt("redis-follower").await?.is_some();
        Ok((at_a && applied).then_some(s))
    })
    .await?;
    let s = if condition(&s, "Ready").is_some_and(|c| c.reason == "RolledBack") {
        s
    } else {
        wait_synced_healthy(&apps, "gb", 2, Duration::from_secs(30)).await?
    };
    let ready = condition(&s, "Ready").context("Ready")?;
    assert_eq!(ready.reason, "RolledBack", "{ready:?}");
    assert!(
        ready
            .message
            .contains("automated sync suspended after rollback to")
            && ready.message.contains("tack app resume gb"),
        "{}",
        ready.message
    );

    // C: a new commit is not applied while the rollback holds.
    std::fs::write(&path, text_a.replace("replicas: 3", "replicas: 7"))?;
    let c = repo.commit("C")?;
    tokio::time::sleep(Duration::from_secs(8)).await;
    let s = status(&apps, "gb").await?;
    assert_eq!(s.sync.as_ref().and_then(|x| x.revision.clone()), Some(a.clone()));
    assert_eq!(
        replicas(&deployments, "frontend").await?,
        Some(3),
        "C applied during rollback"
    );

    // Resume: C.
    let resume = json!({"spec": {"suspend": false, "rollback": null}});
    apps.patch("gb", &PatchParams::default(), &Patch::Merge(&resume))
        .await?;
    let s = eventually(Duration::from_secs(30), "C applied after resume", || async {
        let s = status(&apps, "gb").await?;
        let at_c = s.sync.as_ref().and_then(|x| x.revision.as_deref()) == Some(c.as_str());
        Ok((at_c && replicas(&deployments, "frontend").await? == Some(7)).then_some(s))
    })
    .await?;
    let revisions: Vec<&str> = s.history.iter().map(|h| h.revision.as_str()).collect();
    assert_eq!(revisions, vec![a.as_str(), b.as_str(), a.as_str(), c.as_str()]);
    stop_controller(stop, handle).await
}

/// dependsOn: "app" waits (Ready=False, DependencyNotReady naming "infra") until "infra" is Ready and Healthy.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the local control plane"]
async fn depends_on_waits_for_the_dependency() -> Result<()> {
    tack_cluster::install_crypto_provider();
    let client = tack_testkit::client().await?;
    install_crd(&client).await?;
    let ns = TestNamespace::new(&client, "depends").await?;
    let repo = GitRepo::new(Path::new(GUESTBOOK))?;
    let cache = tempfile::tempdir()?;
    let (stop, handle) = start_controller(&client, ns.name(), cache.path());
    let apps: Api<GitOpsConfig> = Api::namespaced(client.clone(), ns.name());
    let dependent = json!({
        "apiVersion": "gitops.tack.dev/v1alpha1",
        "kind": "GitOpsConfig",
        "metadata": {"name": "app", "namespace": ns.name()},
        "spec": {
            "source": {"repoURL": repo.url(), "path": "guestbook"},
            "destination": {"namespace": format!("{}-app", ns.name())},
            "dependsOn": [{"name": "infra"}],
            "syncPolicy": {"automated": {"prune": true}, "createNamespace": true},
        },
    });
    apps.patch("app", &PatchParams::apply("tack-test"), &Patch::Apply(&dependent))
        .await?;
    let s = eventually(Duration::from_secs(30), "app waits for infra", || async {
        let s = status(&apps, "app").await?;
        Ok(condition(&s, "Ready")
            .is_some_and(|c| c.status == "False" && c.reason == "DependencyNotReady")
            .then_some(s))
    })
    .await?;
    let ready = condition(&s, "Ready").context("Ready")?;
    assert!(
        ready.message.contains(&format!("{}/infra", ns.name())),
        "{}",
        ready.message
    );
    assert!(s.inventory.is_empty(), "nothing applied while waiting");
    let deployments: Api<Deployment> = Api::namespaced(client.clone(), &format!("{}-app", ns.name()));
    assert!(deployments.get_opt("frontend").await?.is_none());

    let infra = json!({
        "apiVersion": "gitops.tack.dev/v1alpha1",
        "kind": "GitOpsConfig",
        "metadata": {"name": "infra", "namespace": ns.name()},
        "spec": {
            "source": {"repoURL": repo.url(), "path": "guestbook"},
            "syncPolicy": {"automated": {"prune": true}},
        },
    });
    apps.patch("infra", &PatchParams::apply("tack-test"), &Patch::Apply(&infra))
        .await?;
    let infra_ready = wait_synced_healthy(&apps, "infra", 1, Duration::from_secs(60)).await?;
    let app_ready = wait_synced_healthy(&apps, "app", 1, Duration::from_secs(60)).await?;
    assert!(deployments.get_opt("frontend").await?.is_some());
    // The dependent synced only after the dependency was Ready.
    let t = |s: &GitOpsConfigStatus| s.history.first().map(|h| h.time.clone()).unwrap_or_default();
    assert!(
        t(&app_ready) >= t(&infra_ready),
        "{} < {}",
        t(&app_ready),
        t(&infra_ready)
    );
    // A cycle is refused (Stalled), naming the applications.
    for (name, dep) in [("x", "y"), ("y", "x")] {
        let app = json!({
            "apiVersion": "gitops.tack.dev/v1alpha1",
            "kind": "GitOpsConfig",
            "metadata": {"name": name, "namespace": ns.name()},
            "spec": {"source": {"repoURL": repo.url(), "path": "guestbook"}, "dependsOn": [{"name": dep}]},
        });
        apps.patch(name, &PatchParams::apply("tack-test"), &Patch::Apply(&app))
            .await?;
    }
    let s = eventually(Duration::from_secs(30), "cycle refused", || async {
        let s = status(&apps, "x").await?;
        Ok(condition(&s, "Stalled")
            .is_some_and(|c| c.status == "True" && c.reason == "InvalidSpec")
            .then_some(s))
    })
    .await?;
    let ready = condition(&s, "Ready").context("Ready")?;
    let (x, y) = (format!("{}/x", ns.name()), format!("{}/y", ns.name()));
    assert!(
        ready.message.contains(&format!("{x} → {y} → {x}")),
        "{}",
        ready.message
    );
    let cleanup: Api<k8s_openapi::api::core::v1::Namespace> = Api::all(client.clone());
    let _ = cleanup
        .delete(&format!("{}-app", ns.name()), &Default::default())
        .await;
    stop_controller(stop, handle).await
}

/// The seed files of `folders` (relative to the seed examples) as (path in the repository, content).
fn seed_files(folders: &[(&str, &str)]) -> Result<Vec<(String, String)>> {
    let mut out = Vec::new();
    for (from, to) in folders {
        for e in std::fs::read_dir(Path::new(SEEDS).join(from))? {
            let e = e?;
            let name = e.file_name().to_string_lossy().to_string();
            out.push((format!("{to}/{name}"), std::fs::read_to_string(e.path())?));
        }
    }
    Ok(out)
}

/// The guestbook environments end to end over git:// and smart HTTP: guestbook-qa (git daemon) and
/// guestbook-e2e (git http-backend) each sync the guestbook plus the NetworkPolicy into their own namespace
/// (created with createNamespace), both Synced and Healthy; a commit changing replicas and image is applied to
/// both; a commit with an object the API server refuses leaves the cluster untouched and sets Ready=False
/// naming the file and line; the operator example (a CRD and its custom resource) applies in one sync.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the local control plane"]
async fn guestbook_environments_over_git_daemon_and_smart_http() -> Result<()> {
    tack_cluster::install_crypto_provider();
    let client = tack_testkit::client().await?;
    install_crd(&client).await?;
    let ns = TestNamespace::new(&client, "envs").await?;
    let qa = format!("{}-qa", ns.name());
    let e2e = format!("{}-e2e", ns.name());
    let servers = tempfile::tempdir()?;
    let scratch = tempfile::tempdir()?;
    let repo = gitserver::GitRepo::create(servers.path(), scratch.path(), "envs");
    let files = seed_files(&[
        ("guestbook", "guestbook"),
        ("network", "guestbook"),
        ("operator", "operator"),
    ])?;
    let refs: Vec<(&str, &str)> = files.iter().map(|(p, c)| (p.as_str(), c.as_str())).collect();
    repo.commit(&refs, "guestbook, network policy, operator");
    let daemon = gitserver::GitDaemon::start(servers.path());
    let http = gitserver::HttpGitServer::start(servers.path(), None);

    let cache = tempfile::tempdir()?;
    let (stop, handle) = start_controller(&client, ns.name(), cache.path());
    let apps: Api<GitOpsConfig> = Api::namespaced(client.clone(), ns.name());
    let env_app = |name: &str, url: String, dest: &str, path: &str| {
        json!({
            "apiVersion": "gitops.tack.dev/v1alpha1",
            "kind": "GitOpsConfig",
            "metadata": {"name": name, "namespace": ns.name()},
            "spec": {
                "source": {"repoURL": url, "revision": "main", "path": path},
                "destination": {"namespace": dest},
                "syncPolicy": {"interval": "2s", "automated": {"prune": true, "selfHeal": true},
                               "createNamespace": true},
            },
        })
    };
    for (name, app) in [
        (
            "guestbook-qa",
            env_app("guestbook-qa", daemon.url("envs"), &qa, "guestbook"),
        ),
        (
            "guestbook-e2e",
            env_app("guestbook-e2e", http.url("envs"), &e2e, "guestbook"),
        ),
        (
            "operator",
            env_app("operator", http.url("envs"), ns.name(), "operator"),
        ),
    ] {
        apps.patch(name, &PatchParams::apply("tack-test"), &Patch::Apply(&app))
            .await?;
    }
    for name in ["guestbook-qa", "guestbook-e2e", "operator"] {
        let s = wait_synced_healthy(&apps, name, 1, Duration::from_secs(90)).await?;
        let expected = if name == "operator" { 2 } else { 7 };
        assert_eq!(s.inventory.len(), expected, "{name}: {:?}", s.inventory);
    }
    let policies: Api<k8s_openapi::api::networking::v1::NetworkPolicy> = Api::namespaced(client.clone(), &qa);
    assert!(policies.get_opt("block-other-namespace").await?.is_some());
    let policies: Api<k8s_openapi::api::networking::v1::NetworkPolicy> =
        Api::namespaced(client.clone(), &e2e);
    assert!(policies.get_opt("block-other-namespace").await?.is_some());
    let custom = kube::api::ApiResource {
        group: "example.com".into(),
        version: "v1".into(),
        api_version: "example.com/v1".into(),
        kind: "NginxConfig".into(),
        plural: "nginxconfigs".into(),
    };
    let nginx: Api<kube::api::DynamicObject> = Api::namespaced_with(client.clone(), ns.name(), &custom);
    assert!(
        nginx.get_opt("my-nginx").await?.is_some(),
        "custom resource applied with its CRD"
    );
    // Custom resources are watched for drift too: with a 10 m interval, a deleted one is recreated at once.
    let slow = json!({"spec": {"syncPolicy": {"interval": "10m"}}});
    apps.patch("operator", &PatchParams::default(), &Patch::Merge(&slow))
        .await?;
    wait_synced_healthy(&apps, "operator", 2, Duration::from_secs(30)).await?;
    nginx.delete("my-nginx", &Default::default()).await?;
    eventually(Duration::from_secs(15), "my-nginx recreated", || async {
        Ok(nginx.get_opt("my-nginx").await?.map(|_| ()))
    })
    .await?;

    // A commit changing replicas and image reaches both environments.
    let deployment = repo.work.join("guestbook/frontend-deployment.yaml");
    let text = std::fs::read_to_string(&deployment)?;
    let changed = text
        .replace("replicas: 3", "replicas: 5")
        .replace("gb-frontend:v5", "gb-frontend:v6");
    let second = repo.commit(
        &[("guestbook/frontend-deployment.yaml", &changed)],
        "frontend v6, 5 replicas",
    );
    for dest in [&qa, &e2e] {
        let deployments: Api<Deployment> = Api::namespaced(client.clone(), dest);
        eventually(Duration::from_secs(45), &format!("v6 in {dest}"), || async {
            let d = deployments.get("frontend").await?;
            let spec = d.spec.context("spec")?;
            let image = spec
                .template
                .spec
                .and_then(|p| p.containers.first().and_then(|c| c.image.clone()))
                .unwrap_or_default();
            Ok((spec.replicas == Some(5) && image.ends_with("gb-frontend:v6")).then_some(()))
        })
        .await?;
    }
    // The objects change before the status does: wait for the status of the new revision.
    for name in ["guestbook-qa", "guestbook-e2e"] {
        eventually(
            Duration::from_secs(60),
            &format!("{name} Synced and Healthy at {second}"),
            || async {
                let s = wait_synced_healthy(&apps, name, 1, Duration::from_secs(60)).await?;
                Ok(
                    (s.sync.as_ref().and_then(|x| x.revision.as_deref()) == Some(second.as_str()))
                        .then_some(()),
                )
            },
        )
        .await?;
    }

    // An object the API server refuses: nothing of the commit is applied, Ready=False names file and line.
    let bad = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: fine\n---\napiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: invalid\nspec:\n  replicas: -3\n  selector:\n    matchLabels: {app: x}\n  template:\n    metadata:\n      labels: {app: x}\n    spec:\n      containers: [{name: x, image: x}]\n";
    let scaled = changed.replace("replicas: 5", "replicas: 1");
    let third = repo.commit(
        &[
            ("guestbook/invalid.yaml", bad),
            ("guestbook/frontend-deployment.yaml", &scaled),
        ],
        "an invalid Deployment",
    );
    for name in ["guestbook-qa", "guestbook-e2e"] {
        let s = eventually(Duration::from_secs(45), &format!("{name} SyncFailed"), || async {
            let s = status(&apps, name).await?;
            let failed =
                condition(&s, "Ready").is_some_and(|c| c.status == "False" && c.reason == "SyncFailed");
            let at_third = s.history.last().is_some_and(|h| h.revision == third);
            Ok((failed && at_third).then_some(s))
        })
        .await?;
        let ready = condition(&s, "Ready").context("Ready")?;
        assert!(
            ready.message.contains("guestbook/invalid.yaml:6"),
            "{}",
            ready.message
        );
        assert!(ready.message.contains("nothing was applied"), "{}", ready.message);
    }
    for dest in [&qa, &e2e] {
        let deployments: Api<Deployment> = Api::namespaced(client.clone(), dest);
        assert_eq!(
            replicas(&deployments, "frontend").await?,
            Some(5),
            "{dest} touched"
        );
        assert!(deployments.get_opt("invalid").await?.is_none());
        let cms: Api<k8s_openapi::api::core::v1::ConfigMap> = Api::namespaced(client.clone(), dest);
        assert!(
            cms.get_opt("fine").await?.is_none(),
            "{dest}: part of a refused commit applied"
        );
    }

    stop_controller(stop, handle).await?;
    let namespaces: Api<k8s_openapi::api::core::v1::Namespace> = Api::all(client.clone());
    for dest in [&qa, &e2e] {
        let _ = namespaces.delete(dest, &Default::default()).await;
    }
    Ok(())
}

/// Without automated sync nothing is applied until a sync request (`tack app sync`, the annotation
/// `tack.dev/sync-requested-at`): then Git is applied once; `,prune` also prunes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the local control plane"]
async fn manual_applications_sync_on_request() -> Result<()> {
    tack_cluster::install_crypto_provider();
    let client = tack_testkit::client().await?;
    install_crd(&client).await?;
    let ns = TestNamespace::new(&client, "manual").await?;
    let repo = GitRepo::new(Path::new(GUESTBOOK))?;
    let cache = tempfile::tempdir()?;
    let (stop, handle) = start_controller(&client, ns.name(), cache.path());
    let apps: Api<GitOpsConfig> = Api::namespaced(client.clone(), ns.name());
    let app = json!({
        "apiVersion": "gitops.tack.dev/v1alpha1",
        "kind": "GitOpsConfig",
        "metadata": {"name": "gb", "namespace": ns.name()},
        "spec": {"source": {"repoURL": repo.url(), "path": "guestbook"}, "syncPolicy": {"interval": "10m"}},
    });
    apps.patch("gb", &PatchParams::apply("tack-test"), &Patch::Apply(&app))
        .await?;
    eventually(Duration::from_secs(30), "manual app OutOfSync", || async {
        let s = status(&apps, "gb").await?;
        Ok(s.sync
            .as_ref()
            .is_some_and(|x| x.status == SyncState::OutOfSync)
            .then_some(()))
    })
    .await?;
    let deployments: Api<Deployment> = Api::namespaced(client.clone(), ns.name());
    assert!(
        deployments.get_opt("frontend").await?.is_none(),
        "applied without a request"
    );

    let request = |value: &str| json!({"metadata": {"annotations": {"tack.dev/sync-requested-at": value}}});
    apps.patch(
        "gb",
        &PatchParams::default(),
        &Patch::Merge(&request("2026-01-01T00:00:00.001Z")),
    )
    .await?;
    let s = wait_synced_healthy(&apps, "gb", 1, Duration::from_secs(60)).await?;
    assert_eq!(
        s.last_handled_sync_at.as_deref(),
        Some("2026-01-01T00:00:00.001Z")
    );
    assert_eq!(s.inventory.len(), 6);
    assert_eq!(s.history.len(), 1);

    // A file leaves Git: reported, not pruned, until a sync request with prune.
    std::fs::remove_file(repo.file("redis-follower-service.yaml"))?;
    let second = repo.commit("drop the redis-follower Service")?;
    apps.patch(
        "gb",
        &PatchParams::default(),
        &Patch::Merge(&json!({"metadata": {"annotations": {"tack.dev/refresh": "1"}}})),
    )
    .await?;
    eventually(Duration::from_secs(30), "removal reported", || async {
        let s = status(&apps, "gb").await?;
        let at = s.sync.as_ref().and_then(|x| x.revision.as_deref()) == Some(second.as_str());
        Ok((at && s.sync.as_ref().is_some_and(|x| x.status == SyncState::OutOfSync)).then_some(()))
    })
    .await?;
    let services: Api<Service> = Api::namespaced(client.clone(), ns.name());
    assert!(services.get_opt("redis-follower").await?.is_some());
    apps.patch(
        "gb",
        &PatchParams::default(),
        &Patch::Merge(&request("2026-01-01T00:00:01.000Z,prune")),
    )
    .await?;
    eventually(Duration::from_secs(30), "pruned on request", || async {
        let s = status(&apps, "gb").await?;
        let handled = s.last_handled_sync_at.as_deref() == Some("2026-01-01T00:00:01.000Z,prune");
        Ok((handled && services.get_opt("redis-follower").await?.is_none()).then_some(()))
    })
    .await?;
    assert!(services.get_opt("frontend").await?.is_some());
    stop_controller(stop, handle).await
}

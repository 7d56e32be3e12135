//! Sharding on the local control plane. Static: two controllers, shards 0 and 1 of 2, in one namespace with 30
//! applications of one repository: every application is synced, each by exactly the shard its hash names
//! (asserted from each controller's own metrics: only the owner reports objects managed for it; and from the
//! cluster: its status written by the field manager `tack-controller/shard-<index>`), so the split is disjoint
//! and complete. Automatic: replicas of a shard group killed and joining, see the second test.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::Result;
use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::api::core::v1::ConfigMap;
use kube::ResourceExt;
use kube::api::{Api, Patch, PatchParams};
use serde_json::json;
use tack_gitops::lease::{LeaseTimings, StopSignal};
use tack_gitops::shard::handover::View;
use tack_gitops::shard::members::{self, MemberConfig, Ownership, Span};
use tack_gitops::shard::writers;
use tack_gitops::{ControllerConfig, Metrics, Shard};
use tack_model::{GitOpsConfig, SyncState};
use tack_testkit::{TestNamespace, eventually};

use super::install_crd;

const APPS: usize = 30;
const SHARDS: u32 = 2;

pub(crate) fn sample(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' ')?.trim().parse().ok())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the local control plane"]
async fn every_application_is_reconciled_by_exactly_its_shard() -> Result<()> {
    tack_cluster::install_crypto_provider();
    let client = tack_testkit::client().await?;
    install_crd(&client).await?;
    let ns = TestNamespace::new(&client, "shards").await?;
    let repo = tack_testkit::GitRepo::new()?;
    for i in 0..APPS {
        let dir = repo.work().join(format!("app-{i}"));
        std::fs::create_dir_all(&dir)?;
        std::fs::write(
            dir.join("configmap.yaml"),
            format!("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm-{i}\ndata:\n  app: \"{i}\"\n"),
        )?;
    }
    repo.commit("main", "thirty applications")?;

    let cache = tempfile::tempdir()?;
    let mut running = Vec::new();
    for index in 0..SHARDS {
        let metrics = Arc::new(Metrics::new());
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let config = ControllerConfig {
            cache_dir: cache.path().to_path_buf(),
            namespace: Some(ns.name().to_string()),
            concurrency: 2,
            shard: Some(Shard::new(SHARDS, index)?),
            ..Default::default()
        };
        let handle = tokio::spawn(tack_gitops::run_with_metrics(
            client.clone(),
            config,
            metrics.clone(),
            async move {
                let _ = stopped.await;
            },
        ));
        running.push((metrics, stop, handle));
    }

    let apps: Api<GitOpsConfig> = Api::namespaced(client.clone(), ns.name());
    for i in 0..APPS {
        let app = json!({
            "apiVersion": "gitops.tack.dev/v1alpha1",
            "kind": "GitOpsConfig",
            "metadata": {"name": format!("app-{i}"), "namespace": ns.name()},
            "spec": {
                "source": {"repoURL": repo.url(), "revision": "main", "path": format!("app-{i}")},
                "destination": {"namespace": ns.name()},
                "syncPolicy": {"interval": "10m", "automated": {"prune": true}},
            },
        });
        apps.patch(
            &format!("app-{i}"),
            &PatchParams::apply("tack-test"),
            &Patch::Apply(&app),
        )
        .await?;
    }

    // Every application synced: its ConfigMap exists and its status says Synced.
    let cms: Api<ConfigMap> = Api::namespaced(client.clone(), ns.name());
    eventually(Duration::from_secs(90), "every application Synced", || async {
        for i in 0..APPS {
            let synced = apps
                .get_opt(&format!("app-{i}"))
                .await?
                .and_then(|a| a.status)
                .and_then(|s| s.sync)
                .is_some_and(|s| s.status == SyncState::Synced);
            if !synced || cms.get_opt(&format!("cm-{i}")).await?.is_none() {
                return Ok(None);
            }
        }
        Ok(Some(()))
    })
    .await?;

    // Each application is reported by its owner alone.
    let texts: Vec<String> = running.iter().map(|(m, _, _)| m.encode()).collect();
    let mut owned = [0usize; SHARDS as usize];
    for i in 0..APPS {
        let name = format!("app-{i}");
        let series = format!("tack_objects_managed{{app=\"{}/{name}\"}}", ns.name());
        let reporters: Vec<usize> = (0..texts.len())
            .filter(|&s| sample(&texts[s], &series).is_some())
            .collect();
        let owner = Shard::of(SHARDS, ns.name(), &name) as usize;
        assert_eq!(reporters, vec![owner], "{name}: reported by shards {reporters:?}");
        owned[owner] += 1;
        // Its status written by that shard, under its own field manager.
        let app = apps.get(&name).await?;
        assert_eq!(
            writers::last_writer(app.managed_fields()).map(|(m, _)| m),
            Some(writers::static_shard_manager(owner as u32)),
            "{name}"
        );
    }
    assert_eq!(owned.iter().sum::<usize>(), APPS, "{owned:?}");

    for (_, stop, handle) in running {
        let _ = stop.send(());
        tokio::time::timeout(Duration::from_secs(30), handle).await??;
    }
    Ok(())
}

/// A replica of an automatic shard group, in this process: `run_member` around the GitOps controller.
pub(crate) struct Replica {
    pub(crate) name: &'static str,
    pub(crate) metrics: Arc<Metrics>,
    /// The ownerships of its memberships (a new one each time it joins again).
    ownerships: Arc<Mutex<Vec<Ownership>>>,
    pub(crate) stop: Option<tokio::sync::oneshot::Sender<()>>,
    pub(crate) task: tokio::task::JoinHandle<()>,
}

impl Replica {
    fn start(client: &kube::Client, ns: &str, cache: &std::path::Path, name: &'static str) -> Replica {
        Replica::start_with(client, ns, cache, name, LeaseTimings::default(), 4)
    }

    /// A replica with these Lease timings, reconciling `concurrency` applications at once.
    pub(crate) fn start_with(
        client: &kube::Client,
        ns: &str,
        cache: &std::path::Path,
        name: &'static str,
        timings: LeaseTimings,
        concurrency: u16,
    ) -> Replica {
        let metrics = Arc::new(Metrics::new());
        let ownerships: Arc<Mutex<Vec<Ownership>>> = Arc::default();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let member = MemberConfig {
            record_spans: true,
            timings,
            ..MemberConfig::new("tack-controller", ns, name)
        };
        let config = ControllerConfig {
            cache_dir: cache.join(name),
            namespace: Some(ns.to_string()),
            concurrency,
            ..Default::default()
        };
        let work = {
            let (client, metrics, ownerships) = (client.clone(), metrics.clone(), ownerships.clone());
            move |ownership: Ownership, stop: StopSignal| {
                ownerships.lock().expect("lock").push(ownership.clone());
                tack_gitops::run_member(
                    client.clone(),
                    config.clone(),
                    metrics.clone(),
                    ownership,
                    stop.wait(),
                )
            }
        };
        let task = tokio::spawn(members::run_member(
            client.clone(),
            member,
            metrics.clone(),
            work,
            async move {
                let _ = stopped.await;
            },
        ));
        Replica {
            name,
            metrics,
            ownerships,
            stop: Some(stop),
            task,
        }
    }

    pub(crate) fn spans(&self) -> Vec<Span> {
        let ownerships = self.ownerships.lock().expect("lock");
        ownerships.iter().flat_map(Ownership::spans).collect()
    }

    pub(crate) fn deferrals(&self) -> Vec<members::Deferral> {
        let ownerships = self.ownerships.lock().expect("lock");
        ownerships.iter().flat_map(Ownership::deferrals).collect()
    }

    /// Whether it reconciled `app` (a reconcile that ended) after `since`.
    fn reconciled_after(&self, app: &str, since: Instant) -> bool {
        self.spans()
            .iter()
            .any(|s| s.name == app && s.started >= since && s.ended.is_some())
    }
}

/// Three replicas of an automatic shard group and 45 applications: each synced by its rendezvous owner alone;
/// one replica killed (its task dropped: no more renewals, reconciles in flight dropped, as `kill -9`) -> its
/// applications taken over by the two others within 30 s (15 s Leases); a fourth replica joins and takes its
/// share. Applications are refreshed every 2 s meanwhile, so that handovers happen with reconciles in flight;
/// no application is ever reconciled by two replicas at once (the start and end of every reconcile, recorded
/// by each replica's gate, never overlap between replicas), and at the end each application is reported in
/// `tack_objects_managed` by its owner alone.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the local control plane"]
async fn automatic_shards_hand_applications_over_without_reconciling_one_twice() -> Result<()> {
    const AUTO_APPS: usize = 45;
    // TACK_TEST_LOG=tack_gitops::shard=info shows the handovers.
    if let Ok(filter) = std::env::var("TACK_TEST_LOG") {
        let _ = tracing_subscriber::fmt()
            .with_env_filter(filter)
            .with_ansi(false)
            .try_init();
    }
    tack_cluster::install_crypto_provider();
    let client = tack_testkit::client().await?;
    install_crd(&client).await?;
    let ns = TestNamespace::new(&client, "autoshard").await?;
    let repo = tack_testkit::GitRepo::new()?;
    for i in 0..AUTO_APPS {
        let dir = repo.work().join(format!("app-{i}"));
        std::fs::create_dir_all(&dir)?;
        std::fs::write(
            dir.join("configmap.yaml"),
            format!("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm-{i}\ndata:\n  app: \"{i}\"\n"),
        )?;
    }
    repo.commit("main", "applications")?;
    let cache = tempfile::tempdir()?;
    let mut replicas: Vec<Replica> = ["tack-a", "tack-b", "tack-c"]
        .into_iter()
        .map(|n| Replica::start(&client, ns.name(), cache.path(), n))
        .collect();

    let apps: Api<GitOpsConfig> = Api::namespaced(client.clone(), ns.name());
    let names: Vec<String> = (0..AUTO_APPS).map(|i| format!("app-{i}")).collect();
    for (i, name) in names.iter().enumerate() {
        let app = json!({
            "apiVersion": "gitops.tack.dev/v1alpha1",
            "kind": "GitOpsConfig",
            "metadata": {"name": name, "namespace": ns.name()},
            "spec": {
                "source": {"repoURL": repo.url(), "revision": "main", "path": format!("app-{i}")},
                "destination": {"namespace": ns.name()},
                "syncPolicy": {"interval": "10m", "automated": {"prune": true, "selfHeal": true}},
            },
        });
        apps.patch(name, &PatchParams::apply("tack-test"), &Patch::Apply(&app))
            .await?;
    }
    let cms: Api<ConfigMap> = Api::namespaced(client.clone(), ns.name());
    let all_synced = || async {
        for (i, name) in names.iter().enumerate() {
            let synced = apps
                .get_opt(name)
                .await?
                .and_then(|a| a.status)
                .and_then(|s| s.sync)
                .is_some_and(|s| s.status == SyncState::Synced);
            if !synced || cms.get_opt(&format!("cm-{i}")).await?.is_none() {
                return Ok(None);
            }
        }
        Ok(Some(()))
    };
    let started = Instant::now();
    eventually(Duration::from_secs(120), "every application Synced", all_synced).await?;
    eprintln!(
        "three replicas: {AUTO_APPS} applications Synced in {:?}",
        started.elapsed()
    );

    // Each application reconciled by its owner in [a, b, c] alone.
    let three = View::new(["tack-a", "tack-b", "tack-c"]);
    for name in &names {
        let by: Vec<&str> = replicas
            .iter()
            .filter(|r| r.spans().iter().any(|s| &s.name == name))
            .map(|r| r.name)
            .collect();
        assert_eq!(by, vec![three.owner(ns.name(), name).expect("owner")], "{name}");
    }

    // Refreshes every 2 s from now on: reconciles are in flight when ownership moves.
    let refresher = {
        let (apps, names) = (apps.clone(), names.clone());
        tokio::spawn(async move {
            for round in 0u32.. {
                for name in &names {
                    let patch = json!({"metadata": {"annotations": {"tack.dev/refresh": round.to_string()}}});
                    let _ = apps
                        .patch(name, &PatchParams::default(), &Patch::Merge(&patch))
                        .await;
                }
                tokio::time::sleep(Duration::from_secs(2)).await;
            }
        })
    };
    tokio::time::sleep(Duration::from_secs(3)).await;

    // Kill b: its applications' ConfigMaps are deleted at once, and must come back from their new owners.
    let b_apps: Vec<String> = names
        .iter()
        .filter(|n| three.owner(ns.name(), n) == Some("tack-b"))
        .cloned()
        .collect();
    assert!(!b_apps.is_empty());
    let mut b = replicas.remove(1);
    b.task.abort();
    let _ = (&mut b.task).await;
    let killed = Instant::now();
    let two = View::new(["tack-a", "tack-c"]);
    for name in &b_apps {
        let cm = name.replace("app-", "cm-");
        let _ = cms.delete(&cm, &Default::default()).await;
    }
    eventually(
        Duration::from_secs(40),
        "b's applications taken over by a and c",
        || async {
            for name in &b_apps {
                let owner = two.owner(ns.name(), name).expect("owner");
                let replica = replicas.iter().find(|r| r.name == owner).expect("replica");
                let cm = name.replace("app-", "cm-");
                if !replica.reconciled_after(name, killed) || cms.get_opt(&cm).await?.is_none() {
                    return Ok(None);
                }
            }
            Ok(Some(()))
        },
    )
    .await?;
    let takeover = killed.elapsed();
    eprintln!(
        "kill -> {} applications of the killed replica re-applied by their new owners: {takeover:?}",
        b_apps.len()
    );
    assert!(takeover < Duration::from_secs(30), "takeover took {takeover:?}");

    // d joins and takes its share of [a, c, d].
    let joined = Instant::now();
    replicas.push(Replica::start(&client, ns.name(), cache.path(), "tack-d"));
    let three_again = View::new(["tack-a", "tack-c", "tack-d"]);
    let d_apps: Vec<String> = names
        .iter()
        .filter(|n| three_again.owner(ns.name(), n) == Some("tack-d"))
        .cloned()
        .collect();
    assert!(!d_apps.is_empty());
    eventually(Duration::from_secs(40), "d reconciles its share", || async {
        let d = replicas.last().expect("d");
        Ok(d_apps.iter().all(|n| d.reconciled_after(n, joined)).then_some(()))
    })
    .await?;
    let join = joined.elapsed();
    eprintln!(
        "join -> d reconciled its {} applications in {join:?}",
        d_apps.len()
    );
    // b's Lease, renewed long ago, does not hold d's view up.
    assert!(join < Duration::from_secs(10), "join took {join:?}");
    refresher.abort();
    eventually(
        Duration::from_secs(60),
        "every application Synced at the end",
        all_synced,
    )
    .await?;

    // No application ever ran on two replicas at once (b's reconciles end where it was killed).
    let mut spans: Vec<(&str, Span)> = replicas
        .iter()
        .chain([&b])
        .flat_map(|r| r.spans().into_iter().map(move |s| (r.name, s)))
        .collect();
    spans.sort_by_key(|(_, s)| s.started);
    let mut total = 0;
    for name in &names {
        let of: Vec<&(&str, Span)> = spans.iter().filter(|(_, s)| &s.name == name).collect();
        total += of.len();
        for (i, (ra, a)) in of.iter().enumerate() {
            for (rb, later) in &of[i + 1..] {
                let end = a.ended.unwrap_or_else(Instant::now);
                assert!(
                    ra == rb || end <= later.started,
                    "{name}: reconciled by {ra} and {rb} at the same time"
                );
            }
        }
    }
    eprintln!("{total} reconciles checked for overlap");

    // Each application is reported by its final owner alone.
    let texts: Vec<(&str, String)> = replicas.iter().map(|r| (r.name, r.metrics.encode())).collect();
    for name in &names {
        let series = format!("tack_objects_managed{{app=\"{}/{name}\"}}", ns.name());
        let reporters: Vec<&str> = texts
            .iter()
            .filter(|(_, t)| sample(t, &series).is_some())
            .map(|(n, _)| *n)
            .collect();
        assert_eq!(
            reporters,
            vec![three_again.owner(ns.name(), name).expect("owner")],
            "{name}"
        );
    }

    // Each replica says it is one of three, settled.
    for (name, text) in &texts {
        assert_eq!(sample(text, "tack_shard_members"), Some(3.0), "{name}");
        assert_eq!(sample(text, "tack_shard_settled"), Some(1.0), "{name}");
    }

    // A graceful stop deletes each member Lease; only the killed replica's may remain (until it goes stale).
    for mut r in replicas {
        if let Some(stop) = r.stop.take() {
            let _ = stop.send(());
        }
        tokio::time::timeout(Duration::from_secs(30), r.task).await??;
    }
    let leases: Api<Lease> = Api::namespaced(client.clone(), ns.name());
    let left: Vec<String> = leases
        .list(&Default::default())
        .await?
        .items
        .iter()
        .map(|l| l.name_any())
        .collect();
    assert!(
        left.iter().all(|l| l == "tack-controller-member-tack-b"),
        "{left:?}"
    );
    Ok(())
}

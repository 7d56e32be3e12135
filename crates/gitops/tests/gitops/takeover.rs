//! Automatic sharding at scale on the local control plane: three replicas (in this process, short Leases), 300
//! applications of one repository (one ConfigMap each), all Synced; one replica killed (its task aborted, as
//! `kill -9`: no more renewals, its Lease left to expire). Asserted from what the cluster recorded — each
//! replica writes the status with its own field manager `tack-controller/<identity>`, watched here write by
//! write — and from the replicas' metrics and gates: no application is ever reconciled by two replicas at
//! overlapping times, and all are Synced again, their ConfigMaps re-created, within 30 s of the kill. Figures are
//! printed: time to the first sync, takeover time, how many applications that kept their owner had to wait.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use futures::StreamExt;
use k8s_openapi::api::core::v1::ConfigMap;
use kube::ResourceExt;
use kube::api::{Api, ListParams, Patch, PatchParams};
use kube::runtime::watcher;
use serde_json::json;
use tack_gitops::lease::LeaseTimings;
use tack_gitops::shard::handover::View;
use tack_gitops::shard::writers::{last_writer, status_manager};
use tack_model::{GitOpsConfig, SyncState};
use tack_testkit::{TestNamespace, eventually};

use super::install_crd;
use super::shards::{Replica, sample};

const APPS: usize = 300;
const REPLICAS: [&str; 3] = ["tack-a", "tack-b", "tack-c"];
const KILLED: &str = "tack-b";

/// One status write seen by the watch: the application, the manager that last changed the status and the time
/// the API server recorded, and when the watch delivered it.
#[derive(Clone, Debug)]
struct Write {
    app: String,
    manager: String,
    time: String,
    seen: Instant,
}

/// Watches the namespace's GitOpsConfigs and records every change of their last status writer.
fn record_writes(api: Api<GitOpsConfig>) -> (Arc<Mutex<Vec<Write>>>, tokio::task::JoinHandle<()>) {
    let writes: Arc<Mutex<Vec<Write>>> = Arc::default();
    let task = {
        let writes = writes.clone();
        tokio::spawn(async move {
            let mut events = std::pin::pin!(watcher(api, watcher::Config::default()));
            while let Some(event) = events.next().await {
                let app = match event {
                    Ok(watcher::Event::Apply(app) | watcher::Event::InitApply(app)) => app,
                    _ => continue,
                };
                if let Some((manager, time)) = last_writer(app.managed_fields()) {
                    writes.lock().expect("lock").push(Write {
                        app: app.name_any(),
                        manager,
                        time,
                        seen: Instant::now(),
                    });
                }
            }
        })
    };
    (writes, task)
}

/// Whether every application is Synced with its ConfigMap present (two lists).
async fn all_synced(apps: &Api<GitOpsConfig>, cms: &Api<ConfigMap>) -> Result<bool> {
    let synced = apps
        .list(&ListParams::default())
        .await?
        .items
        .iter()
        .filter(|a| {
            a.status
                .as_ref()
                .and_then(|s| s.sync.as_ref())
                .is_some_and(|s| s.status == SyncState::Synced)
        })
        .count();
    let present = cms
        .list(&ListParams::default())
        .await?
        .items
        .iter()
        .filter(|c| c.name_any().starts_with("cm-"))
        .count();
    Ok(synced == APPS && present == APPS)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the local control plane"]
async fn a_killed_replicas_300_applications_are_taken_over_without_reconciling_one_twice() -> Result<()> {
    let began = Instant::now();
    if let Ok(filter) = std::env::var("TACK_TEST_LOG") {
        let _ = tracing_subscriber::fmt()
            .with_env_filter(filter)
            .with_ansi(false)
            .try_init();
    }
    tack_cluster::install_crypto_provider();
    let client = tack_testkit::client().await?;
    install_crd(&client).await?;
    let ns = TestNamespace::new(&client, "takeover").await?;
    let repo = tack_testkit::GitRepo::new()?;
    for i in 0..APPS {
        let dir = repo.work().join(format!("app-{i}"));
        std::fs::create_dir_all(&dir)?;
        std::fs::write(
            dir.join("configmap.yaml"),
            format!("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm-{i}\ndata:\n  app: \"{i}\"\n"),
        )?;
    }
    repo.commit("main", "applications")?;
    let apps: Api<GitOpsConfig> = Api::namespaced(client.clone(), ns.name());
    let cms: Api<ConfigMap> = Api::namespaced(client.clone(), ns.name());
    let (writes, recorder) = record_writes(apps.clone());

    // Short Leases: a dead member is noticed after 5 s.
    let timings = LeaseTimings {
        lease_duration: Duration::from_secs(5),
        renew_every: Duration::from_secs(1),
        renew_deadline: Duration::from_secs(4),
        retry_every: Duration::from_millis(500),
    };
    timings.validate()?;
    let cache = tempfile::tempdir()?;
    let mut replicas: Vec<Replica> = REPLICAS
        .into_iter()
        .map(|n| Replica::start_with(&client, ns.name(), cache.path(), n, timings, 8))
        .collect();

    let names: Vec<String> = (0..APPS).map(|i| format!("app-{i}")).collect();
    let created = Instant::now();
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
    eventually(Duration::from_secs(120), "300 applications Synced", || async {
        Ok(all_synced(&apps, &cms).await?.then_some(()))
    })
    .await?;
    eprintln!(
        "three replicas: {APPS} applications created and Synced in {:?}",
        created.elapsed()
    );

    let three = View::new(REPLICAS);
    let two = View::new(REPLICAS.into_iter().filter(|r| *r != KILLED));
    let owner = |view: &View, name: &str| view.owner(ns.name(), name).expect("owner").to_string();
    let moved: BTreeSet<String> = names
        .iter()
        .filter(|n| owner(&three, n) == KILLED)
        .cloned()
        .collect();
    assert!(
        (60..=140).contains(&moved.len()),
        "{} of {APPS} owned by {KILLED}",
        moved.len()
    );
    // Every status so far written by its owner, under its own field manager.
    eventually(
        Duration::from_secs(10),
        "each status written by its owner",
        || async {
            let list = apps.list(&ListParams::default()).await?;
            Ok(list
                .items
                .iter()
                .all(|a| {
                    last_writer(a.managed_fields()).map(|(m, _)| m)
                        == Some(status_manager(&owner(&three, &a.name_any())))
                })
                .then_some(()))
        },
    )
    .await?;

    // Applications that keep their owner, refreshed every second through the handover: do they wait?
    let probes: Vec<String> = names
        .iter()
        .filter(|n| !moved.contains(*n))
        .take(20)
        .cloned()
        .collect();
    let refresher = {
        let (apps, probes) = (apps.clone(), probes.clone());
        tokio::spawn(async move {
            for round in 0u32.. {
                for name in &probes {
                    let patch = json!({"metadata": {"annotations": {"tack.dev/refresh": round.to_string()}}});
                    let _ = apps
                        .patch(name, &PatchParams::default(), &Patch::Merge(&patch))
                        .await;
                }
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        })
    };
    tokio::time::sleep(Duration::from_secs(2)).await;

    // Kill b; delete its applications' ConfigMaps: they must come back from the new owners.
    let index = replicas
        .iter()
        .position(|r| r.name == KILLED)
        .context("killed replica")?;
    let mut b = replicas.remove(index);
    b.task.abort();
    let _ = (&mut b.task).await;
    let killed = Instant::now();
    let killed_at = k8s_openapi::jiff::Timestamp::now();
    for name in &moved {
        let _ = cms
            .delete(&name.replace("app-", "cm-"), &Default::default())
            .await;
    }
    let new_manager: BTreeMap<&String, String> = moved
        .iter()
        .map(|n| (n, status_manager(&owner(&two, n))))
        .collect();
    eventually(
        Duration::from_secs(40),
        "every application Synced again, the killed replica's by their new owners",
        || async {
            let (rewritten, first): (BTreeSet<String>, Option<Instant>) = {
                let writes = writes.lock().expect("lock");
                let new: Vec<&Write> = writes
                    .iter()
                    .filter(|w| w.seen > killed && new_manager.get(&w.app) == Some(&w.manager))
                    .collect();
                (
                    new.iter().map(|w| w.app.clone()).collect(),
                    new.iter().map(|w| w.seen).min(),
                )
            };
            // The handover settled before the first write of a new owner: the refreshes have shown whether
            // applications that keep their owner wait; they would only slow the takeover down from here.
            if first.is_some_and(|t| t.elapsed() > Duration::from_secs(1)) {
                refresher.abort();
            }
            Ok((rewritten.len() == moved.len() && all_synced(&apps, &cms).await?).then_some(()))
        },
    )
    .await?;
    let takeover = killed.elapsed();
    refresher.abort();
    let first_rewrite = writes
        .lock()
        .expect("lock")
        .iter()
        .filter(|w| w.seen > killed && new_manager.get(&w.app) == Some(&w.manager))
        .map(|w| w.seen - killed)
        .min()
        .unwrap_or_default();
    eprintln!("kill -> first status written by a new owner: {first_rewrite:?}");
    eprintln!(
        "kill -> the {} applications of {KILLED} re-applied by their new owners and all {APPS} Synced: {takeover:?} \
         (Lease duration {:?})",
        moved.len(),
        timings.lease_duration
    );

    // From the cluster's records: each application's status written by one replica, then (the killed replica's
    // applications only) by its new owner, never back and forth.
    let writes = writes.lock().expect("lock").clone();
    recorder.abort();
    let mut by_app: BTreeMap<&str, Vec<&Write>> = BTreeMap::new();
    for w in &writes {
        by_app.entry(w.app.as_str()).or_default().push(w);
    }
    for name in &names {
        let seq = by_app.get(name.as_str()).context("no write seen")?;
        let mut writers: Vec<&str> = seq.iter().map(|w| w.manager.as_str()).collect();
        writers.dedup();
        let before = status_manager(&owner(&three, name));
        if moved.contains(name) {
            let after = status_manager(&owner(&two, name));
            assert_eq!(writers, vec![before.as_str(), after.as_str()], "{name}");
            // The API server's times (whole seconds): the old owner's last write before the kill, the new
            // owner's first after it.
            let last_old = seq.iter().rfind(|w| w.manager == before).context("old")?;
            let first_new = seq.iter().find(|w| w.manager == after).context("new")?;
            let (old_t, new_t): (k8s_openapi::jiff::Timestamp, k8s_openapi::jiff::Timestamp) =
                (last_old.time.parse()?, first_new.time.parse()?);
            assert!(
                old_t <= killed_at && new_t >= old_t && first_new.seen > killed,
                "{name}: {} at {}, {} at {}",
                last_old.manager,
                last_old.time,
                first_new.manager,
                first_new.time
            );
        } else {
            assert_eq!(writers, vec![before.as_str()], "{name}");
        }
    }
    // Now: the status of each is owned by its current owner alone (the killed replica's fields taken over).
    for app in apps.list(&ListParams::default()).await?.items {
        // (An Apply entry, and an Update one when a sync phase was reported.)
        let tack: BTreeSet<&str> = app
            .managed_fields()
            .iter()
            .filter(|m| m.subresource.as_deref() == Some("status"))
            .filter_map(|m| m.manager.as_deref())
            .filter(|m| m.starts_with("tack-controller"))
            .collect();
        assert_eq!(
            tack,
            BTreeSet::from([status_manager(&owner(&two, &app.name_any())).as_str()]),
            "{}",
            app.name_any()
        );
    }

    // From the replicas' gates: no application ever ran on two replicas at once.
    let mut total = 0;
    let spans: Vec<(&str, tack_gitops::shard::members::Span)> = replicas
        .iter()
        .chain([&b])
        .flat_map(|r| r.spans().into_iter().map(move |s| (r.name, s)))
        .collect();
    let mut of_app: BTreeMap<&str, Vec<&(&str, tack_gitops::shard::members::Span)>> = BTreeMap::new();
    for s in &spans {
        of_app.entry(s.1.name.as_str()).or_default().push(s);
    }
    for (name, mut list) in of_app {
        list.sort_by_key(|(_, s)| s.started);
        total += list.len();
        for pair in list.windows(2) {
            let ((ra, a), (rb, later)) = (pair[0], pair[1]);
            let end = a.ended.unwrap_or(killed);
            assert!(
                ra == rb || end <= later.started,
                "{name}: reconciled by {ra} and {rb} at the same time"
            );
        }
    }
    // From the replicas' metrics: each application reported by its owner alone; each survivor one of two,
    // settled.
    let texts: Vec<(&str, String)> = replicas.iter().map(|r| (r.name, r.metrics.encode())).collect();
    for name in &names {
        let series = format!("tack_objects_managed{{app=\"{}/{name}\"}}", ns.name());
        let reporters: Vec<&str> = texts
            .iter()
            .filter(|(_, t)| sample(t, &series).is_some())
            .map(|(n, _)| *n)
            .collect();
        assert_eq!(reporters, vec![owner(&two, name).as_str()], "{name}");
    }
    for (name, text) in &texts {
        assert_eq!(sample(text, "tack_shard_members"), Some(2.0), "{name}");
        assert_eq!(sample(text, "tack_shard_settled"), Some(1.0), "{name}");
    }

    // Applications that kept their owner: put off during the handover, and for how long.
    let mut waits: Vec<Duration> = Vec::new();
    let mut waited: BTreeSet<String> = BTreeSet::new();
    for r in &replicas {
        let spans = r.spans();
        for d in r
            .deferrals()
            .iter()
            .filter(|d| d.at >= killed && probes.contains(&d.name))
        {
            let next = spans
                .iter()
                .filter(|s| s.name == d.name && s.started >= d.at)
                .map(|s| s.started)
                .min();
            waits.push(next.map_or(Duration::MAX, |t| t - d.at));
            waited.insert(d.name.clone());
        }
    }
    eprintln!(
        "{} reconciles checked for overlap; {} of the {} refreshed applications that kept their owner were put \
         off during the handover (longest wait {:?})",
        total,
        waited.len(),
        probes.len(),
        waits.iter().max().copied().unwrap_or_default()
    );
    assert!(
        takeover < Duration::from_secs(30),
        "Synced again {takeover:?} after the kill"
    );

    for mut r in replicas {
        if let Some(stop) = r.stop.take() {
            let _ = stop.send(());
        }
        tokio::time::timeout(Duration::from_secs(30), r.task).await??;
    }
    eprintln!("test wall time {:?}", began.elapsed());
    Ok(())
}

//! Static sharding on the local control plane: three controllers, shards 0, 1 and 2 of 3, in one namespace with
//! nine applications of one repository. Every application is synced, each by exactly the shard its hash names
//! (asserted from each controller's own metrics: only the owner reports objects managed for it).

use std::sync::Arc;
use std::time::Duration;

use anyhow::Result;
use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::{Api, Patch, PatchParams};
use serde_json::json;
use tack_gitops::{ControllerConfig, Metrics, Shard};
use tack_model::{GitOpsConfig, SyncState};
use tack_testkit::{TestNamespace, eventually};

use super::install_crd;

const APPS: usize = 9;
const SHARDS: u32 = 3;

fn sample(text: &str, series: &str) -> Option<f64> {
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
    repo.commit("main", "nine applications")?;

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
    }
    assert_eq!(owned.iter().sum::<usize>(), APPS, "{owned:?}");

    for (_, stop, handle) in running {
        let _ = stop.send(());
        tokio::time::timeout(Duration::from_secs(30), handle).await??;
    }
    Ok(())
}

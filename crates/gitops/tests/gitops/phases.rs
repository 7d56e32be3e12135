//! Sync phases in the controller, with a folder written for Argo CD in the style of argocd-example-apps'
//! `sync-waves` and `pre-post-sync` examples: PreSync schema upgrade, backend (wave 1), a maintenance-page Sync
//! hook (wave 2), frontend (wave 3), a Sync hook taking the page down (wave 4), a PostSync smoke test. It deploys
//! in the order Argo CD documents (asserted from the controller's Events and the API server's revisions); then a
//! failing PreSync hook leaves the Deployments unchanged, runs the SyncFail hook, and names the Job and the
//! reason in the status and a Warning Event.

use std::time::Duration;

use anyhow::{Context, Result};
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::events::v1::Event;
use kube::api::{Api, Patch, PatchParams};
use serde_json::json;
use tack_model::GitOpsConfig;
use tack_testkit::{TestNamespace, eventually};

use super::{condition, install_crd, start_controller, status, stop_controller, wait_synced_healthy};

fn job(name: &str, annotations: &str, labels: &str) -> String {
    format!(
        "apiVersion: batch/v1\nkind: Job\nmetadata:\n  name: {name}\n  annotations:\n{annotations}spec:\n  backoffLimit: 0\n  \
         template:\n    metadata:\n      labels:\n        job: {name}\n{labels}    spec:\n      restartPolicy: Never\n      \
         containers:\n      - name: c\n        image: busybox\n"
    )
}

fn deployment(name: &str, wave: &str, image: &str) -> String {
    format!(
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: {name}\n  annotations:\n    \
         argocd.argoproj.io/sync-wave: \"{wave}\"\nspec:\n  replicas: 1\n  selector:\n    matchLabels:\n      app: {name}\n  \
         template:\n    metadata:\n      labels:\n        app: {name}\n    spec:\n      containers:\n      - name: c\n        \
         image: {image}\n"
    )
}

fn files(image: &str, migrate_fails: bool) -> Vec<(String, String)> {
    let hook = |phase: &str, extra: &str| format!("    argocd.argoproj.io/hook: {phase}\n{extra}");
    let succeeded = "    argocd.argoproj.io/hook-delete-policy: HookSucceeded\n";
    let crash = if migrate_fails {
        "        tack.dev/simulate: crash\n"
    } else {
        ""
    };
    vec![
        (
            "app/upgrade-sql-schema.yaml".into(),
            job("upgrade-sql-schema", &hook("PreSync", succeeded), crash),
        ),
        ("app/backend.yaml".into(), deployment("backend", "1", image)),
        (
            "app/maint-page-up.yaml".into(),
            job(
                "maint-page-up",
                &hook(
                    "Sync",
                    &format!("{succeeded}    argocd.argoproj.io/sync-wave: \"2\"\n"),
                ),
                "",
            ),
        ),
        ("app/frontend.yaml".into(), deployment("frontend", "3", image)),
        (
            "app/maint-page-down.yaml".into(),
            job(
                "maint-page-down",
                &hook(
                    "Sync",
                    &format!("{succeeded}    argocd.argoproj.io/sync-wave: \"4\"\n"),
                ),
                "",
            ),
        ),
        (
            "app/smoke-test.yaml".into(),
            job("smoke-test", &hook("PostSync", succeeded), ""),
        ),
        (
            "app/notify-failure.yaml".into(),
            job("notify-failure", &hook("SyncFail", ""), ""),
        ),
    ]
}

/// The messages of the Events about `app`, oldest first.
async fn event_messages(events: &Api<Event>, app: &str) -> Result<Vec<(String, String)>> {
    let mut list: Vec<Event> = events
        .list(&Default::default())
        .await?
        .items
        .into_iter()
        .filter(|e| e.regarding.as_ref().and_then(|r| r.name.as_deref()) == Some(app))
        .collect();
    list.sort_by(|a, b| {
        a.event_time
            .as_ref()
            .map(|t| t.0)
            .cmp(&b.event_time.as_ref().map(|t| t.0))
    });
    Ok(list
        .into_iter()
        .map(|e| (e.type_.unwrap_or_default(), e.note.unwrap_or_default()))
        .collect())
}

fn image(d: &Deployment) -> String {
    d.spec
        .as_ref()
        .and_then(|s| s.template.spec.as_ref())
        .and_then(|p| p.containers.first())
        .and_then(|c| c.image.clone())
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the local control plane"]
async fn an_argo_cd_folder_with_waves_and_hooks_deploys_in_argo_cd_order() -> Result<()> {
    tack_cluster::install_crypto_provider();
    let client = tack_testkit::client().await?;
    install_crd(&client).await?;
    let ns = TestNamespace::new(&client, "phases").await?;
    let repo = tack_testkit::GitRepo::new()?;
    let write = |files: &[(String, String)]| -> Result<String> {
        for (path, text) in files {
            let p = repo.work().join(path);
            std::fs::create_dir_all(p.parent().context("parent")?)?;
            std::fs::write(p, text)?;
        }
        repo.commit("main", "app")
    };
    write(&files("nginx:1", false))?;
    let cache = tempfile::tempdir()?;
    let (stop, handle) = start_controller(&client, ns.name(), cache.path());
    let apps: Api<GitOpsConfig> = Api::namespaced(client.clone(), ns.name());
    let app = json!({
        "apiVersion": "gitops.tack.dev/v1alpha1",
        "kind": "GitOpsConfig",
        "metadata": {"name": "shop", "namespace": ns.name()},
        "spec": {
            "source": {"repoURL": repo.url(), "revision": "main", "path": "app"},
            "syncPolicy": {"interval": "1h", "automated": {"prune": true}},
        },
    });
    apps.patch("shop", &PatchParams::apply("tack-test"), &Patch::Apply(&app))
        .await?;
    wait_synced_healthy(&apps, "shop", 1, Duration::from_secs(120)).await?;

    let events: Api<Event> = Api::namespaced(client.clone(), ns.name());
    let notes = event_messages(&events, "shop").await?;
    let expected = [
        "PreSync hook Job.batch/upgrade-sql-schema",
        "wave 1, namespaced objects: applying 1 objects",
        "Sync hook Job.batch/maint-page-up",
        "wave 3, namespaced objects: applying 1 objects",
        "Sync hook Job.batch/maint-page-down",
        "PostSync hook Job.batch/smoke-test",
    ];
    let at: Vec<usize> = expected
        .iter()
        .map(|x| {
            notes
                .iter()
                .position(|(_, n)| n.starts_with(x))
                .with_context(|| format!("no event `{x}` in {notes:#?}"))
        })
        .collect::<Result<_>>()?;
    assert!(at.windows(2).all(|w| w[0] < w[1]), "{notes:#?}");
    assert!(
        notes
            .iter()
            .all(|(_, n)| !n.contains(" hook ") || n.contains("succeeded (deleted)")),
        "{notes:#?}"
    );
    // The Deployments: backend was healthy before frontend was created.
    let deployments: Api<Deployment> = Api::namespaced(client.clone(), ns.name());
    let (backend, frontend) = (
        deployments.get("backend").await?,
        deployments.get("frontend").await?,
    );
    let rv = |d: &Deployment| {
        d.metadata
            .resource_version
            .as_deref()
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(0)
    };
    assert!(
        rv(&backend) < rv(&frontend),
        "backend {} frontend {}",
        rv(&backend),
        rv(&frontend)
    );
    let jobs: Api<Job> = Api::namespaced(client.clone(), ns.name());
    for name in [
        "upgrade-sql-schema",
        "maint-page-up",
        "maint-page-down",
        "smoke-test",
        "notify-failure",
    ] {
        assert!(
            jobs.get_opt(name).await?.is_none(),
            "{name} left behind (or a SyncFail hook ran)"
        );
    }
    let s = status(&apps, "shop").await?;
    assert!(
        s.inventory.iter().all(|id| !id.ends_with("_batch_Job")),
        "{:?}",
        s.inventory
    );

    // A schema upgrade that fails: nothing changes, the SyncFail hook runs, the status names the Job.
    write(&files("nginx:2", true))?;
    apps.patch(
        "shop",
        &PatchParams::default(),
        &Patch::Merge(json!({"metadata": {"annotations": {"tack.dev/refresh": "now"}}})),
    )
    .await?;
    let s = eventually(
        Duration::from_secs(90),
        "the failed PreSync hook reported",
        || async {
            let s = status(&apps, "shop").await?;
            Ok(condition(&s, "Ready")
                .is_some_and(|c| c.status == "False" && c.message.contains("upgrade-sql-schema"))
                .then_some(s))
        },
    )
    .await?;
    let ready = condition(&s, "Ready").context("Ready")?;
    assert_eq!(ready.reason, "SyncFailed", "{ready:?}");
    assert!(
        ready
            .message
            .contains("PreSync hook Job.batch/upgrade-sql-schema"),
        "{}",
        ready.message
    );
    assert!(
        ready.message.contains("BackoffLimitExceeded"),
        "{}",
        ready.message
    );
    assert!(
        ready.message.contains("SyncFail hook Job.batch/notify-failure"),
        "{}",
        ready.message
    );
    for name in ["backend", "frontend"] {
        assert_eq!(image(&deployments.get(name).await?), "nginx:1", "{name} changed");
    }
    assert!(
        jobs.get_opt("notify-failure").await?.is_some(),
        "the SyncFail hook did not run"
    );
    let notes = event_messages(&events, "shop").await?;
    assert!(
        notes
            .iter()
            .any(|(t, n)| t == "Warning" && n.contains("upgrade-sql-schema") && n.contains("failed")),
        "{notes:#?}"
    );
    stop_controller(stop, handle).await
}

//! One-shot sync against the local control plane: apply, no-op re-sync, prune, prune opt-out, dry run
//! before the first write, CRD + custom resource in one sync, field-manager conflicts, diff.

use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use kube::api::{Api, DynamicObject, Patch, PatchParams};
use serde_json::{Value, json};
use tack_apply::{Action, Detail, DiffOptions, SAMPLE, SyncError, SyncOptions, diff, sync, wait_healthy};
use tack_cluster::Cluster;
use tack_render::{PlainRenderer, RenderOptions, Renderer};
use tack_testkit::TestNamespace;

#[path = "sync/options.rs"]
mod options;
#[path = "sync/phases.rs"]
mod phases;

const GUESTBOOK: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples/guestbook");
const OPERATOR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples/operator");

fn render(dir: &Path) -> Result<Vec<tack_render::Manifest>> {
    Ok(PlainRenderer.render(dir, &RenderOptions::default())?)
}

async fn setup(prefix: &str) -> Result<(Cluster, TestNamespace)> {
    tack_cluster::install_crypto_provider();
    let client = tack_testkit::client().await?;
    let ns = TestNamespace::new(&client, prefix).await?;
    Ok((Cluster::from_client(client, "default"), ns))
}

fn copy_dir(from: &Path) -> Result<tempfile::TempDir> {
    let dir = tempfile::tempdir()?;
    for e in std::fs::read_dir(from)? {
        let e = e?;
        std::fs::copy(e.path(), dir.path().join(e.file_name()))?;
    }
    Ok(dir)
}

fn quiet(_: &str) {}

async fn configmap(cluster: &Cluster, ns: &str, name: &str) -> Result<Option<Value>> {
    let kind = cluster
        .resolve("v1", "ConfigMap")
        .await?
        .context("ConfigMap kind")?;
    Ok(cluster.get(&kind, ns, name).await?)
}

#[tokio::test]
#[ignore = "needs the local control plane"]
async fn guestbook_syncs_becomes_healthy_and_resync_is_a_noop() -> Result<()> {
    let (cluster, ns) = setup("sync-guestbook").await?;
    let opts = SyncOptions::new("guestbook", ns.name());
    let report = sync(&cluster, render(Path::new(GUESTBOOK))?, &opts, &quiet).await?;
    assert_eq!(report.count(Action::Created), 6, "{report:#?}");
    let objects: Vec<_> = report
        .results
        .iter()
        .map(|r| (r.id.clone(), r.api_version.clone()))
        .collect();
    wait_healthy(&cluster, &objects, Duration::from_secs(90), &quiet).await?;

    let inv = configmap(&cluster, ns.name(), "tack-inventory-guestbook")
        .await?
        .context("inventory")?;
    let lines: Vec<&str> = inv["data"]["objects"].as_str().unwrap_or("").lines().collect();
    assert_eq!(lines.len(), 6);
    assert!(
        lines.contains(&format!("{}_frontend_apps_Deployment", ns.name()).as_str()),
        "{lines:?}"
    );
    let mut sorted = lines.clone();
    sorted.sort();
    assert_eq!(lines, sorted);

    let t = Instant::now();
    let again = sync(&cluster, render(Path::new(GUESTBOOK))?, &opts, &quiet).await?;
    assert_eq!(again.count(Action::Unchanged), 6, "{again:#?}");
    assert!(
        t.elapsed() < Duration::from_secs(5),
        "no-op re-sync took {:?}",
        t.elapsed()
    );

    let d = diff(
        &cluster,
        render(Path::new(GUESTBOOK))?,
        &DiffOptions {
            namespace: ns.name().into(),
            ..Default::default()
        },
    )
    .await?;
    assert!(d.entries.is_empty(), "{:#?}", d.entries);
    Ok(())
}

#[tokio::test]
#[ignore = "needs the local control plane"]
async fn removed_files_are_pruned_except_when_disabled() -> Result<()> {
    let (cluster, ns) = setup("sync-prune").await?;
    let dir = copy_dir(Path::new(GUESTBOOK))?;
    let mut opts = SyncOptions::new("gb", ns.name());
    sync(&cluster, render(dir.path())?, &opts, &quiet).await?;

    // Opt one object out of pruning, in the cluster.
    let svc: Api<DynamicObject> = Api::namespaced_with(
        cluster.client().clone(),
        ns.name(),
        &cluster
            .resolve("v1", "Service")
            .await?
            .context("Service")?
            .resource,
    );
    svc.patch(
        "redis-follower",
        &PatchParams::default(),
        &Patch::Merge(json!({"metadata": {"annotations": {"tack.dev/prune": "disabled"}}})),
    )
    .await?;
    std::fs::remove_file(dir.path().join("redis-follower-service.yaml"))?;
    std::fs::remove_file(dir.path().join("redis-follower-deployment.yaml"))?;

    // Without --prune nothing is deleted, and the inventory keeps them.
    let r = sync(&cluster, render(dir.path())?, &opts, &quiet).await?;
    assert_eq!(r.count(Action::PruneSkipped), 2, "{r:#?}");
    opts.prune = true;
    let r = sync(&cluster, render(dir.path())?, &opts, &quiet).await?;
    assert_eq!(r.count(Action::Pruned), 1, "{r:#?}");
    assert_eq!(r.count(Action::Kept), 1, "{r:#?}");
    assert_eq!(r.count(Action::Unchanged), 4, "{r:#?}");

    let deploy = cluster
        .resolve("apps/v1", "Deployment")
        .await?
        .context("Deployment")?;
    assert!(
        cluster.get(&deploy, ns.name(), "redis-follower").await?.is_none(),
        "pruned deployment still there"
    );
    assert!(
        cluster.get(&deploy, ns.name(), "frontend").await?.is_some(),
        "frontend was deleted"
    );
    let service = cluster.resolve("v1", "Service").await?.context("Service")?;
    assert!(
        cluster
            .get(&service, ns.name(), "redis-follower")
            .await?
            .is_some(),
        "prune-disabled service was deleted"
    );
    let inv = configmap(&cluster, ns.name(), "tack-inventory-gb")
        .await?
        .context("inventory")?;
    assert_eq!(inv["data"]["objects"].as_str().unwrap_or("").lines().count(), 4);

    // Another application's objects in the same namespace are never touched.
    let other = copy_dir(Path::new(GUESTBOOK))?;
    std::fs::remove_file(other.path().join("frontend-service.yaml"))?;
    let r = sync(
        &cluster,
        render(other.path())?,
        &SyncOptions {
            prune: true,
            ..SyncOptions::new("other", ns.name())
        },
        &quiet,
    )
    .await?;
    assert_eq!(r.count(Action::Pruned), 0);
    Ok(())
}

#[tokio::test]
#[ignore = "needs the local control plane"]
async fn an_invalid_object_means_nothing_is_applied() -> Result<()> {
    let (cluster, ns) = setup("sync-invalid").await?;
    let dir = tempfile::tempdir()?;
    std::fs::write(
        dir.path().join("a-config.yaml"),
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: good\ndata:\n  k: v\n",
    )?;
    std::fs::write(
        dir.path().join("b-app.yaml"),
        "# a comment\napiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: broken\nspec:\n  replicas: \"three\"\n  selector:\n    matchLabels: {app: x}\n  template:\n    metadata:\n      labels: {app: x}\n    spec:\n      containers:\n      - name: x\n        image: nginx\n",
    )?;
    let err = sync(
        &cluster,
        render(dir.path())?,
        &SyncOptions::new("bad", ns.name()),
        &quiet,
    )
    .await
    .expect_err("must fail");
    let text = err.to_string();
    assert!(matches!(err, SyncError::DryRun { .. }), "{text}");
    assert!(text.contains("nothing was applied"), "{text}");
    assert!(
        text.contains("b-app.yaml:2") && text.contains("Deployment/broken"),
        "{text}"
    );
    assert!(
        configmap(&cluster, ns.name(), "good").await?.is_none(),
        "the valid object was applied"
    );
    assert!(
        configmap(&cluster, ns.name(), "tack-inventory-bad")
            .await?
            .is_none()
    );
    Ok(())
}

#[tokio::test]
#[ignore = "needs the local control plane"]
async fn crd_and_custom_resource_in_one_sync() -> Result<()> {
    let (cluster, ns) = setup("sync-operator").await?;
    let opts = SyncOptions::new("operator", ns.name());
    let r = sync(&cluster, render(Path::new(OPERATOR))?, &opts, &quiet).await?;
    assert_eq!(
        r.count(Action::Created) + r.count(Action::Configured) + r.count(Action::Unchanged),
        2,
        "{r:#?}"
    );
    let kind = cluster
        .resolve("example.com/v1", "NginxConfig")
        .await?
        .context("NginxConfig served")?;
    let cr = cluster
        .get(&kind, ns.name(), "my-nginx")
        .await?
        .context("custom resource")?;
    assert_eq!(cr["spec"]["staticContent"], "Welcome to Nginx!");
    let again = sync(&cluster, render(Path::new(OPERATOR))?, &opts, &quiet).await?;
    assert_eq!(again.count(Action::Unchanged), 2, "{again:#?}");
    Ok(())
}

#[tokio::test]
#[ignore = "needs the local control plane"]
async fn conflicts_with_other_field_managers_are_reported_and_force_takes_over() -> Result<()> {
    let (cluster, ns) = setup("sync-conflict").await?;
    let dir = tempfile::tempdir()?;
    let file = dir.path().join("cm.yaml");
    std::fs::write(
        &file,
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\ndata:\n  mode: blue\n",
    )?;
    let mut opts = SyncOptions::new("conflict", ns.name());
    sync(&cluster, render(dir.path())?, &opts, &quiet).await?;
    // Someone else takes the field over.
    let api: Api<DynamicObject> = Api::namespaced_with(
        cluster.client().clone(),
        ns.name(),
        &cluster
            .resolve("v1", "ConfigMap")
            .await?
            .context("ConfigMap")?
            .resource,
    );
    api.patch(
        "settings",
        &PatchParams::apply("ops-team").force(),
        &Patch::Apply(json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "settings"}, "data": {"mode": "red"}})),
    )
    .await?;
    std::fs::write(
        &file,
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\ndata:\n  mode: green\n",
    )?;
    let err = sync(&cluster, render(dir.path())?, &opts, &quiet)
        .await
        .expect_err("conflict");
    let text = err.to_string();
    assert!(
        text.contains("\"ops-team\"") && text.contains(".data.mode") && text.contains("--force"),
        "{text}"
    );
    assert!(text.contains("cm.yaml:1"), "{text}");
    opts.force = true;
    sync(&cluster, render(dir.path())?, &opts, &quiet).await?;
    let cm = configmap(&cluster, ns.name(), "settings")
        .await?
        .context("configmap")?;
    assert_eq!(cm["data"]["mode"], "green");
    Ok(())
}

#[tokio::test]
#[ignore = "needs the local control plane"]
async fn diff_shows_changes_and_masks_secrets() -> Result<()> {
    let (cluster, ns) = setup("sync-diff").await?;
    let dir = tempfile::tempdir()?;
    let secret = |v: &str| {
        format!("apiVersion: v1\nkind: Secret\nmetadata:\n  name: creds\nstringData:\n  password: {v}\n")
    };
    std::fs::write(dir.path().join("secret.yaml"), secret("correct-horse-battery"))?;
    std::fs::write(
        dir.path().join("cm.yaml"),
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\ndata:\n  a: \"1\"\n",
    )?;
    let dopts = DiffOptions {
        namespace: ns.name().into(),
        app: Some("d".into()),
        ..Default::default()
    };
    let before = diff(&cluster, render(dir.path())?, &dopts).await?;
    assert_eq!(before.entries.len(), 2);
    sync(
        &cluster,
        render(dir.path())?,
        &SyncOptions::new("d", ns.name()),
        &quiet,
    )
    .await?;
    assert!(
        diff(&cluster, render(dir.path())?, &dopts)
            .await?
            .entries
            .is_empty()
    );

    std::fs::write(dir.path().join("secret.yaml"), secret("staple-new-value"))?;
    std::fs::write(
        dir.path().join("cm.yaml"),
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\ndata:\n  a: \"2\"\n",
    )?;
    let after = diff(&cluster, render(dir.path())?, &dopts).await?;
    assert_eq!(after.entries.len(), 2);
    let all: String = after.entries.iter().map(|e| e.text.clone()).collect();
    for leaked in [
        "correct-horse",
        "staple-new",
        "Y29ycmVjdC1ob3JzZS1iYXR0ZXJ5",
        "c3RhcGxlLW5ldy12YWx1ZQ==",
    ] {
        assert!(!all.contains(leaked), "diff leaks {leaked}:\n{all}");
    }
    assert!(all.contains("++++++++"), "{all}");
    assert!(all.contains("-  a: \"1\"\n+  a: \"2\""), "{all}");

    // A file removed shows as a deletion when the application is named.
    std::fs::remove_file(dir.path().join("cm.yaml"))?;
    let gone = diff(&cluster, render(dir.path())?, &dopts).await?;
    assert!(
        gone.entries
            .iter()
            .any(|e| e.id.name == "c" && e.origin.is_none()),
        "{:#?}",
        gone.entries
    );
    Ok(())
}

#[tokio::test]
#[ignore = "needs the local control plane"]
async fn many_objects_of_one_kind_are_read_with_a_list_and_resync_is_a_noop() -> Result<()> {
    let (cluster, ns) = setup("sync-many").await?;
    let dir = tempfile::tempdir()?;
    for i in 0..40 {
        std::fs::write(
            dir.path().join(format!("cm-{i:02}.yaml")),
            format!("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm-{i}\ndata:\n  i: \"{i}\"\n"),
        )?;
    }
    let opts = SyncOptions {
        prune: true,
        ..SyncOptions::new("many", ns.name())
    };
    let first = sync(&cluster, render(dir.path())?, &opts, &quiet).await?;
    assert_eq!(first.count(Action::Created), 40);
    let again = sync(&cluster, render(dir.path())?, &opts, &quiet).await?;
    assert_eq!(again.count(Action::Unchanged), 40, "{again:#?}");
    std::fs::write(
        dir.path().join("cm-07.yaml"),
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm-7\ndata:\n  i: \"seven\"\n",
    )?;
    std::fs::remove_file(dir.path().join("cm-08.yaml"))?;
    let changed = sync(&cluster, render(dir.path())?, &opts, &quiet).await?;
    assert_eq!(
        (
            changed.count(Action::Configured),
            changed.count(Action::Unchanged),
            changed.count(Action::Pruned)
        ),
        (1, 38, 1),
        "{changed:#?}"
    );
    Ok(())
}

/// What a controller keeps of a sync of a large application: counts, the objects in Git as id and apiVersion
/// (for their health), and results only for a bounded sample of what changed, not one per object.
#[tokio::test]
#[ignore = "needs the local control plane"]
async fn a_sampled_report_of_a_large_sync_keeps_counts_not_a_result_per_object() -> Result<()> {
    let (cluster, ns) = setup("sync-sample").await?;
    let dir = tempfile::tempdir()?;
    let n = 3_000;
    let file = |f: usize, value: &str| {
        (f * 100..(f + 1) * 100)
            .map(|i| {
                format!(
                    "---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm-{i}\ndata:\n  v: {value}\n"
                )
            })
            .collect::<String>()
    };
    for f in 0..n / 100 {
        std::fs::write(dir.path().join(format!("cm-{f:02}.yaml")), file(f, "first"))?;
    }
    let opts = SyncOptions {
        prune: true,
        concurrency: 32,
        detail: Detail::Sample,
        ..SyncOptions::new("sample", ns.name())
    };
    let mut first = sync(&cluster, render(dir.path())?, &opts, &quiet).await?;
    assert_eq!(first.count(Action::Created), n);
    assert_eq!(first.results.len(), SAMPLE, "a bounded sample, not {n} results");
    assert_eq!(first.take_objects().len(), n);
    assert_eq!(first.inventory.len(), n);

    // A commit that changes 10 objects (in the second file) and drops 100 (the last file).
    let changed = file(1, "first").replacen("v: first", "v: second", 10);
    std::fs::write(dir.path().join("cm-01.yaml"), changed)?;
    std::fs::remove_file(dir.path().join(format!("cm-{:02}.yaml", n / 100 - 1)))?;
    let mut second = sync(&cluster, render(dir.path())?, &opts, &quiet).await?;
    let counts = (
        second.count(Action::Configured),
        second.count(Action::Unchanged),
        second.count(Action::Pruned),
    );
    assert_eq!(counts, (10, n - 110, 100), "{}", second.summary());
    // Exactly what changed is kept: 10 configured and 90 of the 100 pruned fill the sample.
    assert_eq!(second.results.len(), SAMPLE);
    let configured: Vec<&str> = second
        .results
        .iter()
        .filter(|r| r.action == Action::Configured)
        .map(|r| r.id.name.as_str())
        .collect();
    assert_eq!(
        configured,
        (100..110).map(|i| format!("cm-{i}")).collect::<Vec<_>>()
    );
    assert!(second.results.iter().all(|r| r.action != Action::Unchanged));
    assert_eq!(second.take_objects().len(), n - 100);

    // `tack sync` keeps every result.
    let every = sync(
        &cluster,
        render(dir.path())?,
        &SyncOptions {
            detail: Detail::Every,
            ..opts.clone()
        },
        &quiet,
    )
    .await?;
    assert_eq!(every.results.len(), n - 100);
    assert_eq!(every.count(Action::Unchanged), n - 100);
    Ok(())
}

#[tokio::test]
#[ignore = "needs the local control plane"]
async fn invalid_object_into_a_namespace_to_be_created_creates_nothing() -> Result<()> {
    tack_cluster::install_crypto_provider();
    let cluster = Cluster::from_client(tack_testkit::client().await?, "default");
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)?
        .subsec_nanos();
    let namespace = format!("tack-test-newns-{}-{nanos:x}", std::process::id());
    let dir = tempfile::tempdir()?;
    std::fs::write(
        dir.path().join("ok.yaml"),
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ok\n",
    )?;
    std::fs::write(
        dir.path().join("svc.yaml"),
        "apiVersion: v1\nkind: Service\nmetadata:\n  name: broken\nspec:\n  ports:\n  - port: 99999\n",
    )?;
    let opts = SyncOptions {
        create_namespace: true,
        ..SyncOptions::new("newns", &namespace)
    };
    let err = sync(&cluster, render(dir.path())?, &opts, &quiet)
        .await
        .expect_err("invalid port");
    let text = err.to_string();
    assert!(matches!(err, SyncError::DryRun { .. }), "{text}");
    assert!(
        text.contains("svc.yaml:1") && text.contains(&format!("in namespace {namespace}")),
        "{text}"
    );
    let ns_kind = cluster.resolve("v1", "Namespace").await?.context("Namespace")?;
    assert!(
        cluster.get(&ns_kind, "", &namespace).await?.is_none(),
        "the namespace was created"
    );
    Ok(())
}

//! Drift watches of a deleted application, on the local control plane: an application of many ConfigMaps and
//! two Secrets syncs (two watches start: ConfigMaps and Secrets of its namespace); then either the application
//! (while a reconcile of it is in flight) and its namespace are deleted, or only its namespace (which deletes the
//! application and its objects in any order). The watches stop within 10 s and stay stopped past the
//! controller's clean-up interval, and the deletion of every object causes no storm: a few reconciles at most
//! (not one per object), at most two `drift: …; reconciling` lines, and no `not found in local store` warning.

use std::io::Write;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use anyhow::{Context, Result};
use k8s_openapi::api::core::v1::{ConfigMap, Namespace};
use kube::api::{Api, DeleteParams, Patch, PatchParams};
use serde_json::json;
use tack_gitops::{ControllerConfig, Metrics};
use tack_model::GitOpsConfig;
use tack_testkit::{TestNamespace, eventually};

use super::install_crd;

/// The ConfigMaps of the application.
const CONFIGMAPS: usize = 60;

/// Every log line of the test process (INFO and above), kept for the assertions (of the SOPS test too).
pub(super) fn log() -> &'static Arc<Mutex<Vec<u8>>> {
    static LOG: OnceLock<Arc<Mutex<Vec<u8>>>> = OnceLock::new();
    LOG.get_or_init(|| {
        let buffer = Arc::new(Mutex::new(Vec::new()));
        let sink = buffer.clone();
        let _ = tracing_subscriber::fmt()
            .with_ansi(false)
            .with_max_level(tracing::Level::INFO)
            .with_writer(move || Sink(sink.clone()))
            .try_init();
        buffer
    })
}

struct Sink(Arc<Mutex<Vec<u8>>>);

impl Write for Sink {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if let Ok(mut b) = self.0.lock() {
            b.extend_from_slice(buf);
        }
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// The length of the log so far.
fn log_len() -> usize {
    log().lock().map(|b| b.len()).unwrap_or_default()
}

/// The log lines from byte `from` on that mention `needle` and `what`.
fn lines_with(from: usize, needle: &str, what: &str) -> Vec<String> {
    let text = log()
        .lock()
        .map(|b| String::from_utf8_lossy(b.get(from..).unwrap_or_default()).into_owned())
        .unwrap_or_default();
    text.lines()
        .filter(|l| l.contains(needle) && l.contains(what))
        .map(str::to_string)
        .collect()
}

/// The value of the sample `series` in the OpenMetrics text.
fn sample(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' ')?.trim().parse().ok())
}

fn watches(metrics: &Metrics) -> Option<f64> {
    sample(&metrics.encode(), "tack_drift_watches")
}

fn reconciles(metrics: &Metrics) -> f64 {
    let text = metrics.encode();
    ["success", "failure"]
        .iter()
        .filter_map(|o| {
            sample(
                &text,
                &format!("tack_reconcile_duration_seconds_count{{outcome=\"{o}\"}}"),
            )
        })
        .sum()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the local control plane"]
async fn drift_watches_of_a_deleted_application_stop_without_a_storm() -> Result<()> {
    deleted_without_a_storm(Deletion::AppThenNamespace).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the local control plane"]
async fn drift_watches_stop_when_the_namespace_of_an_application_is_deleted() -> Result<()> {
    deleted_without_a_storm(Deletion::Namespace).await
}

#[derive(Clone, Copy, PartialEq)]
enum Deletion {
    /// `tack app delete` while a reconcile runs, then the namespace.
    AppThenNamespace,
    /// Only the namespace: the application and its objects go in any order.
    Namespace,
}

async fn deleted_without_a_storm(how: Deletion) -> Result<()> {
    log();
    tack_cluster::install_crypto_provider();
    let client = tack_testkit::client().await?;
    install_crd(&client).await?;
    let ns = TestNamespace::new(&client, "drift-stop").await?;
    let repo = tack_testkit::GitRepo::new()?;
    let dir = repo.work().join("app");
    std::fs::create_dir_all(&dir)?;
    for i in 0..CONFIGMAPS {
        std::fs::write(
            dir.join(format!("cm-{i}.yaml")),
            format!("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm-{i}\ndata:\n  n: \"{i}\"\n"),
        )?;
    }
    for i in 0..2 {
        std::fs::write(
            dir.join(format!("secret-{i}.yaml")),
            format!("apiVersion: v1\nkind: Secret\nmetadata:\n  name: secret-{i}\nstringData:\n  k: v\n"),
        )?;
    }
    repo.commit("main", "objects")?;
    let cache = tempfile::tempdir()?;
    let metrics = Arc::new(Metrics::new());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let config = ControllerConfig {
        cache_dir: cache.path().to_path_buf(),
        namespace: Some(ns.name().to_string()),
        concurrency: 2,
        lockdown: Default::default(),
        ..Default::default()
    };
    let controller = tokio::spawn(tack_gitops::run_with_metrics(
        client.clone(),
        config,
        metrics.clone(),
        async move {
            let _ = stopped.await;
        },
    ));
    let apps: Api<GitOpsConfig> = Api::namespaced(client.clone(), ns.name());
    let app = json!({
        "apiVersion": "gitops.tack.dev/v1alpha1",
        "kind": "GitOpsConfig",
        "metadata": {"name": "many", "namespace": ns.name()},
        "spec": {
            "source": {"repoURL": repo.url(), "revision": "main", "path": "app"},
            "destination": {"namespace": ns.name()},
            "syncPolicy": {"interval": "10m", "automated": {"prune": true, "selfHeal": true}},
        },
    });
    apps.patch("many", &PatchParams::apply("tack-test"), &Patch::Apply(&app))
        .await?;

    // Synced: one watch for the ConfigMaps, one for the Secrets of the namespace.
    eventually(Duration::from_secs(60), "two drift watches", || async {
        Ok((watches(&metrics) == Some(2.0)).then_some(()))
    })
    .await?;

    // The application (while it reconciles), then its namespace (and every object in it), deleted.
    let before = reconciles(&metrics);
    let logged = log_len();
    if how == Deletion::AppThenNamespace {
        let refresh = json!({"metadata": {"annotations": {tack_gitops::REFRESH_ANNOTATION: "now"}}});
        apps.patch("many", &PatchParams::default(), &Patch::Merge(&refresh))
            .await?;
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let deleted_at = std::time::Instant::now();
    if how == Deletion::AppThenNamespace {
        apps.delete("many", &DeleteParams::default()).await?;
    }
    let namespaces: Api<Namespace> = Api::all(client.clone());
    namespaces.delete(ns.name(), &DeleteParams::background()).await?;
    eventually(Duration::from_secs(10), "the drift watches stopped", || async {
        Ok((watches(&metrics) == Some(0.0)).then_some(()))
    })
    .await
    .context("drift watches of the deleted application still running")?;
    let stopped_in = deleted_at.elapsed();
    // Deleted by `tack app delete`, its watches stop at once (a reconcile in flight does not start them again);
    // with its namespace, when the namespace controller deletes it.
    if how == Deletion::AppThenNamespace {
        assert!(
            stopped_in < Duration::from_secs(3),
            "stopped after {stopped_in:?}"
        );
    }
    // Until the namespace is gone, then past the clean-up interval (10 s): nothing starts them again (a
    // reconcile in flight at the deletion, or drift of the objects being deleted).
    let mut gone_at = None;
    let watch_until = std::time::Instant::now() + Duration::from_secs(120);
    loop {
        let running = watches(&metrics);
        assert_eq!(
            running,
            Some(0.0),
            "drift watches started again\n{}",
            metrics.encode()
        );
        if gone_at.is_none() && namespaces.get_opt(ns.name()).await?.is_none() {
            gone_at = Some(std::time::Instant::now());
        }
        if gone_at.is_some_and(|t| t.elapsed() > Duration::from_secs(12)) {
            break;
        }
        assert!(
            std::time::Instant::now() < watch_until,
            "the namespace was not deleted within 120 s"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // Deleting only the namespace, the application lives until the namespace controller reaches it, and the
    // deletion of its objects is drift meanwhile: a few reconciles (folded while one runs, failing on the
    // terminating namespace), never one per object.
    let after = reconciles(&metrics);
    let bound = match how {
        Deletion::AppThenNamespace => 3.0,
        Deletion::Namespace => 10.0,
    };
    assert!(
        after - before <= bound,
        "{} reconciles after the deletion",
        after - before
    );
    // The sync was logged (the capture works); then the drift lines of the application, named `…/many.<ns>`.
    assert!(
        !lines_with(0, ns.name(), "").is_empty(),
        "the log capture sees no line of the application"
    );
    let storm = lines_with(logged, ns.name(), "drift: ");
    assert!(
        storm.len() <= 2,
        "drift lines after deletion:\n{}",
        storm.join("\n")
    );
    let missing = lines_with(logged, ns.name(), "not found in local store");
    assert!(missing.is_empty(), "{}", missing.join("\n"));
    eprintln!(
        "drift watches stopped {stopped_in:?} after the deletion; {} reconciles, {} drift lines",
        after - before,
        storm.len()
    );

    let _ = stop.send(());
    tokio::time::timeout(Duration::from_secs(30), controller)
        .await
        .context("controller did not stop within 30 s")??;
    Ok(())
}

/// Namespaces the application's objects are spread over: one more than the controller watches one by one.
const SPREAD: usize = 17;

/// Seventeen applications, each with one ConfigMap in its own namespace: the ConfigMaps are watched with one
/// watch across all namespaces (not seventeen), and a ConfigMap deleted by hand in one of them is put back
/// (selfHeal; the interval is 10 minutes, so only drift can do it).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the local control plane"]
async fn a_kind_in_many_namespaces_is_watched_once_and_its_drift_heals() -> Result<()> {
    tack_cluster::install_crypto_provider();
    let client = tack_testkit::client().await?;
    install_crd(&client).await?;
    let ns = TestNamespace::new(&client, "drift-wide").await?;
    let mut destinations = Vec::new();
    for _ in 0..SPREAD {
        destinations.push(TestNamespace::new(&client, "drift-wide-dest").await?);
    }
    let repo = tack_testkit::GitRepo::new()?;
    std::fs::create_dir_all(repo.work().join("app"))?;
    std::fs::write(
        repo.work().join("app/cm.yaml"),
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: spread\ndata:\n  k: v\n",
    )?;
    repo.commit("main", "one ConfigMap")?;
    let cache = tempfile::tempdir()?;
    let metrics = Arc::new(Metrics::new());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let config = ControllerConfig {
        cache_dir: cache.path().to_path_buf(),
        namespace: Some(ns.name().to_string()),
        concurrency: 4,
        ..Default::default()
    };
    let controller = tokio::spawn(tack_gitops::run_with_metrics(
        client.clone(),
        config,
        metrics.clone(),
        async move {
            let _ = stopped.await;
        },
    ));
    let apps: Api<GitOpsConfig> = Api::namespaced(client.clone(), ns.name());
    for (i, dest) in destinations.iter().enumerate() {
        let app = json!({
            "apiVersion": "gitops.tack.dev/v1alpha1",
            "kind": "GitOpsConfig",
            "metadata": {"name": format!("app-{i}"), "namespace": ns.name()},
            "spec": {
                "source": {"repoURL": repo.url(), "revision": "main", "path": "app"},
                "destination": {"namespace": dest.name()},
                "syncPolicy": {"interval": "10m", "automated": {"prune": true, "selfHeal": true}},
            },
        });
        apps.patch(
            &format!("app-{i}"),
            &PatchParams::apply("tack-test"),
            &Patch::Apply(&app),
        )
        .await?;
    }
    let cms = |dest: &TestNamespace| Api::<ConfigMap>::namespaced(client.clone(), dest.name());
    eventually(Duration::from_secs(90), "every ConfigMap applied", || async {
        for dest in &destinations {
            if cms(dest).get_opt("spread").await?.is_none() {
                return Ok(None);
            }
        }
        Ok(Some(()))
    })
    .await?;
    eventually(Duration::from_secs(30), "one drift watch", || async {
        Ok((watches(&metrics) == Some(1.0)).then_some(()))
    })
    .await?;

    // Drift in one namespace of the wide watch: put back.
    let victim = cms(&destinations[5]);
    victim.delete("spread", &DeleteParams::default()).await?;
    eventually(
        Duration::from_secs(30),
        "the deleted ConfigMap put back",
        || async { Ok(victim.get_opt("spread").await?.map(|_| ())) },
    )
    .await?;
    assert_eq!(watches(&metrics), Some(1.0));

    let _ = stop.send(());
    tokio::time::timeout(Duration::from_secs(30), controller).await??;
    Ok(())
}

//! `/metrics`, `/healthz` and `/readyz` scraped over HTTP while the controller reconciles on the local control
//! plane: the reconcile histogram, the sync counter and the managed-objects gauge move after a sync; a
//! repository that does not exist moves the fetch-error counter and the failure series; a deleted
//! application's series goes away.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};
use kube::api::Api;
use tack_gitops::metrics::Readiness;
use tack_gitops::{ControllerConfig, Metrics};
use tack_model::GitOpsConfig;
use tack_testkit::{TestNamespace, eventually};

use super::install_crd;
use super::webhook::{ConfigRepo, create_app, http, wait_color};

/// The value of the sample `series` (name with labels, exactly as exposed), if present.
fn sample(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' ')?.trim().parse().ok())
}

async fn scrape(addr: SocketAddr) -> Result<String> {
    let (status, body) = http(addr, "GET", "/metrics", &[], b"").await?;
    anyhow::ensure!(status == 200, "GET /metrics: {status} {body}");
    Ok(body)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the local control plane"]
async fn metrics_move_with_reconciles_and_fetch_errors() -> Result<()> {
    tack_cluster::install_crypto_provider();
    let client = tack_testkit::client().await?;
    install_crd(&client).await?;
    let ns = TestNamespace::new(&client, "metrics").await?;
    let repo = ConfigRepo::new("blue")?;
    let cache = tempfile::tempdir()?;
    let metrics = Arc::new(Metrics::new());
    let readiness = Readiness::default();

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let router = tack_gitops::metrics::router(metrics.clone(), readiness.clone());
    let (server_stop, server_stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(tack_gitops::metrics::serve(listener, router, async move {
        let _ = server_stopped.await;
    }));

    // Health: alive at once, ready only when told.
    assert_eq!(http(addr, "GET", "/healthz", &[], b"").await?.0, 200);
    let (status, text) = http(addr, "GET", "/readyz", &[], b"").await?;
    assert_eq!(status, 503, "{text}");
    readiness.set(true);
    assert_eq!(http(addr, "GET", "/readyz", &[], b"").await?.0, 200);

    let before = scrape(addr).await?;
    let app_series = format!("tack_objects_managed{{app=\"{}/app\"}}", ns.name());
    assert_eq!(sample(&before, &app_series), None, "{before}");
    assert_eq!(
        sample(&before, "tack_git_fetch_errors_total"),
        Some(0.0),
        "{before}"
    );
    assert_eq!(sample(&before, "tack_sync_total{outcome=\"succeeded\"}"), None);

    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let config = ControllerConfig {
        cache_dir: cache.path().to_path_buf(),
        namespace: Some(ns.name().to_string()),
        concurrency: 2,
        lockdown: Default::default(),
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
    create_app(&apps, ns.name(), "app", &repo.url()).await?;
    wait_color(&client, ns.name(), "blue", Duration::from_secs(60)).await?;

    let after = eventually(Duration::from_secs(20), "metrics of the sync", || async {
        let text = scrape(addr).await?;
        Ok((sample(&text, &app_series) == Some(1.0)).then_some(text))
    })
    .await?;
    let succeeded = sample(&after, "tack_sync_total{outcome=\"succeeded\"}").context("sync_total")?;
    assert!(succeeded >= 1.0, "{after}");
    let count = sample(
        &after,
        "tack_reconcile_duration_seconds_count{outcome=\"success\"}",
    )
    .context("reconcile duration count")?;
    assert!(count >= 1.0, "{after}");
    let sum = sample(&after, "tack_reconcile_duration_seconds_sum{outcome=\"success\"}").context("sum")?;
    assert!(sum > 0.0 && sum < 60.0 * count, "{after}");
    let inf = sample(
        &after,
        "tack_reconcile_duration_seconds_bucket{le=\"+Inf\",outcome=\"success\"}",
    )
    .context("+Inf bucket")?;
    assert_eq!(inf, count, "{after}");
    assert_eq!(sample(&after, "tack_git_fetch_errors_total"), Some(0.0));

    // A repository that does not exist: fetch errors and failed syncs are counted.
    create_app(&apps, ns.name(), "missing", "file:///nonexistent/tack/repo.git").await?;
    let failed = eventually(Duration::from_secs(30), "a fetch error counted", || async {
        let text = scrape(addr).await?;
        Ok(sample(&text, "tack_git_fetch_errors_total")
            .is_some_and(|v| v >= 1.0)
            .then_some(text))
    })
    .await?;
    assert!(
        sample(&failed, "tack_sync_total{outcome=\"failed\"}").is_some_and(|v| v >= 1.0),
        "{failed}"
    );
    assert!(
        sample(
            &failed,
            "tack_reconcile_duration_seconds_count{outcome=\"failure\"}"
        )
        .is_some_and(|v| v >= 1.0),
        "{failed}"
    );
    assert!(
        failed.trim_end().ends_with("# EOF"),
        "OpenMetrics text ends with # EOF"
    );

    // A deleted application leaves tack_objects_managed.
    apps.delete("app", &Default::default()).await?;
    eventually(
        Duration::from_secs(30),
        "the deleted application's series gone",
        || async {
            let text = scrape(addr).await?;
            Ok(sample(&text, &app_series).is_none().then_some(()))
        },
    )
    .await?;

    let _ = stop.send(());
    tokio::time::timeout(Duration::from_secs(30), controller)
        .await
        .context("controller did not stop within 30 s")??;
    let _ = server_stop.send(());
    server.await??;
    Ok(())
}

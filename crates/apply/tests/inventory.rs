//! The inventory cannot be lost: a large application is pruned down to half, then to nothing, with nothing
//! left behind (its inventory split over several ConfigMaps); a sync cut off by the API server half-way leaves an
//! inventory from which a later sync prunes what it had created, and reports the cut once.
//!
//! An inventory missing one of its parts stops the sync before anything is pruned.
//!
//! The large test takes `TACK_BULK_OBJECTS` ConfigMaps (default 20 000).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use kube::api::{Api, ListParams};
use kube::config::{KubeConfigOptions, Kubeconfig};
use serde_json::json;
use tack_apply::{Action, InventoryRef, SyncError, SyncOptions, read_at, sync};
use tack_cluster::Cluster;
use tack_render::{Manifest, Origin};
use tack_testkit::TestNamespace;
use tokio::net::{TcpListener, TcpStream};

fn quiet(_: &str) {}

/// ConfigMaps `cm-<i>` for every i in `range`, one small key each.
fn configmaps(range: std::ops::Range<usize>) -> Vec<Manifest> {
    range
        .map(|i| Manifest {
            object: json!({"apiVersion": "v1", "kind": "ConfigMap",
                "metadata": {"name": format!("cm-{i:05}")}, "data": {"i": i.to_string()}}),
            origin: Origin::new("bulk.yaml", (i * 6 + 1) as u64),
        })
        .collect()
}

/// The names of the ConfigMaps in `ns`, without the inventory's.
async fn names(client: &kube::Client, ns: &str) -> Result<Vec<String>> {
    let api: Api<k8s_openapi::api::core::v1::ConfigMap> = Api::namespaced(client.clone(), ns);
    let mut out = Vec::new();
    let mut lp = ListParams::default().limit(2000);
    loop {
        let page = api.list_metadata(&lp).await?;
        out.extend(
            page.items
                .iter()
                .filter_map(|m| m.metadata.name.clone())
                .filter(|n| n.starts_with("cm-")),
        );
        match page.metadata.continue_.filter(|c| !c.is_empty()) {
            Some(c) => lp = lp.continue_token(&c),
            None => return Ok(out),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the local control plane"]
async fn a_large_application_is_pruned_to_half_then_to_nothing() -> Result<()> {
    let count: usize = std::env::var("TACK_BULK_OBJECTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(20_000);
    tack_cluster::install_crypto_provider();
    let client = tack_testkit::client().await?;
    let ns = TestNamespace::new(&client, "bulk").await?;
    let cluster = Cluster::from_client(client.clone(), "default");
    let mut opts = SyncOptions::new("bulk", ns.name());
    opts.prune = true;
    opts.concurrency = 32;
    let at = InventoryRef::one_shot("bulk", ns.name());

    for (step, keep) in [count, count / 2, 0].into_iter().enumerate() {
        let started = Instant::now();
        let report = sync(&cluster, configmaps(0..keep), &opts, &quiet)
            .await
            .with_context(|| format!("sync to {keep} objects"))?;
        let seconds = started.elapsed().as_secs_f64();
        eprintln!(
            "step {step}: {keep} objects, {} in {seconds:.1} s",
            report.summary()
        );
        let inventory = read_at(&cluster, &at).await?.context("inventory written")?;
        assert_eq!(
            inventory.ids.len(),
            keep,
            "the inventory lists exactly the desired objects"
        );
        assert_eq!(report.inventory.len(), keep);
        let left = names(&client, ns.name()).await?;
        assert_eq!(left.len(), keep, "nothing left behind after the sync to {keep}");
        if step > 0 {
            assert_eq!(
                report.count(Action::Pruned),
                if step == 1 { count - count / 2 } else { count / 2 }
            );
        }
    }
    Ok(())
}

/// A TCP proxy to the API server that can be cut: every connection dropped and new ones refused.
struct Proxy {
    port: u16,
    cut: Arc<AtomicBool>,
}

impl Proxy {
    async fn start(target: String) -> Result<Proxy> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let port = listener.local_addr()?.port();
        let cut = Arc::new(AtomicBool::new(false));
        let flag = cut.clone();
        tokio::spawn(async move {
            while let Ok((mut inbound, _)) = listener.accept().await {
                if flag.load(Ordering::Relaxed) {
                    continue;
                }
                let (target, flag) = (target.clone(), flag.clone());
                tokio::spawn(async move {
                    let Ok(mut outbound) = TcpStream::connect(target).await else {
                        return;
                    };
                    let copy = tokio::io::copy_bidirectional(&mut inbound, &mut outbound);
                    let cut = async {
                        while !flag.load(Ordering::Relaxed) {
                            tokio::time::sleep(Duration::from_millis(10)).await;
                        }
                    };
                    tokio::select! {
                        _ = copy => {}
                        () = cut => {}
                    }
                });
            }
        });
        Ok(Proxy { port, cut })
    }
}

/// A cluster client that goes through `proxy`.
async fn through(proxy: &Proxy) -> Result<Cluster> {
    let path = tokio::task::spawn_blocking(tack_testkit::kubeconfig).await??;
    let mut config =
        kube::Config::from_custom_kubeconfig(Kubeconfig::read_from(&path)?, &KubeConfigOptions::default())
            .await?;
    config.cluster_url = format!("https://127.0.0.1:{}", proxy.port).parse()?;
    Ok(Cluster::from_client(kube::Client::try_from(config)?, "default"))
}

/// `host:port` of the API server.
async fn apiserver_address() -> Result<String> {
    let path = tokio::task::spawn_blocking(tack_testkit::kubeconfig).await??;
    let config =
        kube::Config::from_custom_kubeconfig(Kubeconfig::read_from(&path)?, &KubeConfigOptions::default())
            .await?;
    let host = config.cluster_url.host().context("API server host")?.to_string();
    let port = config.cluster_url.port_u16().unwrap_or(443);
    Ok(format!("{host}:{port}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the local control plane"]
async fn a_sync_cut_off_half_way_leaves_an_inventory_that_later_prunes() -> Result<()> {
    const TOTAL: usize = 1000;
    const DROPPED: usize = 100;
    tack_cluster::install_crypto_provider();
    let client = tack_testkit::client().await?;
    let ns = TestNamespace::new(&client, "cut").await?;
    let direct = Cluster::from_client(client.clone(), "default");
    let proxy = Proxy::start(apiserver_address().await?).await?;
    let cut_off = through(&proxy).await?;

    // Cut the API server off once a quarter of the objects exist.
    let watcher = {
        let (client, ns, cut) = (client.clone(), ns.name().to_string(), proxy.cut.clone());
        tokio::spawn(async move {
            let deadline = Instant::now() + Duration::from_secs(120);
            while Instant::now() < deadline {
                if names(&client, &ns).await.map(|n| n.len()).unwrap_or(0) >= TOTAL / 4 {
                    cut.store(true, Ordering::Relaxed);
                    return true;
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            false
        })
    };
    let mut opts = SyncOptions::new("cut", ns.name());
    opts.prune = true;
    opts.concurrency = 4;
    let err = match sync(&cut_off, configmaps(0..TOTAL), &opts, &quiet).await {
        Ok(report) => bail!("the sync was not cut off: {}", report.summary()),
        Err(e) => e,
    };
    assert!(watcher.await?, "the proxy was cut");
    let text = err.to_string();
    eprintln!("{text}");
    let SyncError::Apply {
        failures,
        unreachable,
        unconfirmed,
        not_sent,
        applied,
        ..
    } = &err
    else {
        bail!("not an apply failure: {text}");
    };
    assert!(failures.is_empty(), "nothing was refused: {failures:?}");
    assert!(unreachable.is_some());
    assert!(
        text.lines().count() <= 2,
        "one summary, not a line per object:\n{text}"
    );
    assert!(!text.contains("could not be applied"), "{text}");
    assert_eq!(applied + unconfirmed + not_sent, TOTAL, "{text}");
    let created = names(&client, ns.name()).await?;
    assert!(
        created.len() >= TOTAL / 4 && created.len() < TOTAL,
        "{} created",
        created.len()
    );
    assert!(created.len() >= *applied, "every object reported applied exists");

    // A later commit drops the first hundred objects: those created before the cut are pruned.
    let report = sync(&direct, configmaps(DROPPED..TOTAL), &opts, &quiet).await?;
    eprintln!("after the cut: {}", report.summary());
    let left = names(&client, ns.name()).await?;
    assert_eq!(left.len(), TOTAL - DROPPED, "nothing left behind");
    assert!(
        left.iter().all(|n| n.as_str() >= "cm-00100"),
        "the dropped objects are gone"
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the local control plane"]
async fn a_missing_part_of_the_inventory_stops_the_sync_before_any_prune() -> Result<()> {
    tack_cluster::install_crypto_provider();
    let client = tack_testkit::client().await?;
    let ns = TestNamespace::new(&client, "parts").await?;
    let cluster = Cluster::from_client(client.clone(), "default");
    let at = InventoryRef::one_shot("parts", ns.name());
    let mut opts = SyncOptions::new("parts", ns.name());
    opts.prune = true;
    // One object applied by tack; then an inventory listing it among enough long ids to need two ConfigMaps.
    sync(&cluster, configmaps(0..1), &opts, &quiet).await?;
    let mut ids = read_at(&cluster, &at).await?.context("inventory written")?.ids;
    ids.extend((0..12_000).map(|i| {
        tack_plan::ObjectId::new(
            "",
            "ConfigMap",
            ns.name(),
            &format!("a-rather-long-configmap-name-to-fill-the-inventory-{i:05}"),
        )
    }));
    tack_apply::write_at(&cluster, &at, &ids).await?;
    let api: Api<k8s_openapi::api::core::v1::ConfigMap> = Api::namespaced(client.clone(), ns.name());
    let part = format!("{}.1", at.name);
    api.get(&part)
        .await
        .context("the inventory was split over several ConfigMaps")?;
    assert_eq!(
        read_at(&cluster, &at)
            .await?
            .context("inventory written")?
            .ids
            .len(),
        ids.len()
    );
    api.delete(&part, &Default::default()).await?;

    let err = read_at(&cluster, &at)
        .await
        .expect_err("half an inventory is not an inventory");
    assert!(
        err.to_string().contains("part 1 of the inventory") && err.to_string().contains("missing"),
        "{err}"
    );
    let err = match sync(&cluster, Vec::new(), &opts, &quiet).await {
        Ok(report) => bail!("a sync pruned from half an inventory: {}", report.summary()),
        Err(e) => e,
    };
    assert!(err.to_string().contains("missing"), "{err}");
    assert_eq!(
        names(&client, ns.name()).await?,
        vec!["cm-00000".to_string()],
        "nothing was pruned"
    );
    Ok(())
}

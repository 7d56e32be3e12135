//! The canary chapter of `tack demo`: a new image goes to 20 % of the traffic, pauses, is promoted to 50 % and
//! then fully; a bad image fails its analysis (its error rate, served by this process on 127.0.0.1 as the
//! application's metrics would be) and is rolled back automatically; its pods also crash, which is the second
//! guard. Runs the Rollout and AnalysisRun controllers in this process, scoped to the namespace
//! `tack-demo-canary`, which is deleted at the end.

use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use k8s_openapi::api::apps::v1::ReplicaSet;
use k8s_openapi::api::core::v1::Namespace;
use k8s_openapi::api::networking::v1::Ingress;
use kube::api::{Api, DeleteParams, Patch, PatchParams};
use serde_json::{Value, json};
use tack_cluster::Cluster;
use tack_delivery::rollout::commands;

pub(super) const NS: &str = "tack-demo-canary";
const NAME: &str = "web";
/// The image whose error rate is bad.
const BAD_IMAGE: &str = "web:3.0";

fn rollout(image: &str, crash: bool) -> Value {
    let mut labels = json!({"app": "web"});
    if crash {
        // The local control plane makes the containers of pods with this label exit at once.
        labels["tack.dev/simulate"] = json!("crash");
    }
    json!({
        "apiVersion": "argoproj.io/v1alpha1", "kind": "Rollout",
        "metadata": {"name": NAME, "namespace": NS},
        "spec": {
            "replicas": 5,
            // A pod counts as available after 5 s Ready: a pod that crashes right after starting never does.
            "minReadySeconds": 5,
            "progressDeadlineSeconds": 10,
            "progressDeadlineAbort": true,
            "selector": {"matchLabels": {"app": "web"}},
            "template": {"metadata": {"labels": labels},
                         "spec": {"containers": [{"name": "web", "image": image}]}},
            "strategy": {"canary": {
                "canaryService": "web-canary", "stableService": "web-stable",
                "abortScaleDownDelaySeconds": 0,
                "scaleDownDelaySeconds": 5,
                "trafficRouting": {"nginx": {"stableIngress": "web"}},
                // Background analysis: the canary's error rate, measured every 2 s while the update runs.
                "analysis": {"templates": [{"templateName": "error-rate"}],
                             "args": [{"name": "hash", "valueFrom": {"podTemplateHashValue": "Latest"}}]},
                "steps": [{"setWeight": 20}, {"pause": {}}, {"setWeight": 50}, {"pause": {}}]
            }}
        }
    })
}

fn analysis_template(metrics_url: &str) -> Value {
    json!({
        "apiVersion": "argoproj.io/v1alpha1", "kind": "AnalysisTemplate",
        "metadata": {"name": "error-rate", "namespace": NS},
        "spec": {
            "args": [{"name": "hash"}],
            "metrics": [{
                "name": "error-rate", "interval": "2s", "failureLimit": 0,
                "successCondition": "result <= 0.05",
                "provider": {"web": {"url": format!("{metrics_url}/error-rate?hash={{{{args.hash}}}}"),
                                     "jsonPath": "{$.errorRate}"}}
            }]
        }
    })
}

/// The demo application's metrics: the error rate of the version running in ReplicaSet `web-<hash>` (35 % for
/// [`BAD_IMAGE`], 0.2 % for the others), served on 127.0.0.1 for the analysis. Returns its base URL.
async fn serve_metrics(client: kube::Client) -> anyhow::Result<(String, tokio::task::JoinHandle<()>)> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .context("binding the demo's metrics endpoint on 127.0.0.1")?;
    let url = format!("http://{}", listener.local_addr()?);
    let task = tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                return;
            };
            let client = client.clone();
            tokio::spawn(async move {
                let _ = answer_metrics(stream, &client).await;
            });
        }
    });
    Ok((url, task))
}

async fn answer_metrics(mut stream: tokio::net::TcpStream, client: &kube::Client) -> std::io::Result<()> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut buf = Vec::new();
    let mut chunk = [0u8; 1024];
    while !buf.windows(4).any(|w| w == b"\r\n\r\n") && buf.len() < 16 * 1024 {
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            break;
        }
        buf.extend_from_slice(&chunk[..n]);
    }
    let head = String::from_utf8_lossy(&buf);
    let path = head.split_whitespace().nth(1).unwrap_or_default();
    let hash = path
        .split_once("hash=")
        .map(|(_, h)| h.split('&').next().unwrap_or_default())
        .unwrap_or_default();
    let api: Api<ReplicaSet> = Api::namespaced(client.clone(), NS);
    let image = match api.get_opt(&format!("{NAME}-{hash}")).await {
        Ok(Some(rs)) => rs
            .spec
            .and_then(|s| s.template)
            .and_then(|t| t.spec)
            .and_then(|s| s.containers.into_iter().next())
            .and_then(|c| c.image),
        _ => None,
    };
    let (status, body) = match image {
        Some(image) => {
            let rate = if image == BAD_IMAGE { 0.35 } else { 0.002 };
            ("200 OK", json!({"version": image, "errorRate": rate}).to_string())
        }
        None => (
            "404 Not Found",
            json!({"error": format!("no ReplicaSet {NAME}-{hash} in {NS}")}).to_string(),
        ),
    };
    let reply = format!(
        "HTTP/1.1 {status}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(reply.as_bytes()).await?;
    stream.shutdown().await
}

fn others() -> Vec<Value> {
    let svc = |name: &str| {
        json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": name, "namespace": NS},
               "spec": {"selector": {"app": "web"}, "ports": [{"port": 80, "targetPort": 8080}]}})
    };
    vec![
        svc("web-stable"),
        svc("web-canary"),
        json!({"apiVersion": "networking.k8s.io/v1", "kind": "Ingress", "metadata": {"name": "web", "namespace": NS},
               "spec": {"rules": [{"host": "web.example", "http": {"paths": [{"path": "/", "pathType": "Prefix",
                   "backend": {"service": {"name": "web-stable", "port": {"number": 80}}}}]}}]}}),
    ]
}

async fn apply(cluster: &Cluster, v: &Value) -> anyhow::Result<()> {
    let api_version = v["apiVersion"].as_str().unwrap_or_default();
    let kind = v["kind"].as_str().unwrap_or_default();
    let k = cluster
        .resolve(api_version, kind)
        .await?
        .with_context(|| format!("{api_version} {kind} is not served"))?;
    cluster
        .apply(
            &k,
            v,
            tack_cluster::ApplyOptions {
                force: true,
                ..Default::default()
            },
        )
        .await?;
    Ok(())
}

async fn wait_for(
    client: &kube::Client,
    what: &str,
    within: Duration,
    check: impl Fn(&Value) -> bool,
) -> anyhow::Result<Value> {
    let api = tack_delivery::rollout::rollouts(client, NS);
    let deadline = Instant::now() + within;
    loop {
        let r = serde_json::to_value(api.get(NAME).await?)?;
        if check(&r) {
            return Ok(r);
        }
        if Instant::now() > deadline {
            bail!(
                "the demo Rollout did not reach {what} within {within:?}; its status: {}",
                r["status"]
            );
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
}

async fn ingress_weight(client: &kube::Client) -> String {
    let api: Api<Ingress> = Api::namespaced(client.clone(), NS);
    api.get_opt("web-web-canary")
        .await
        .ok()
        .flatten()
        .and_then(|i| i.metadata.annotations)
        .and_then(|a| a.get("nginx.ingress.kubernetes.io/canary-weight").cloned())
        .unwrap_or_else(|| "-".into())
}

async fn pods(client: &kube::Client) -> String {
    match commands::inspect(client, NS, NAME).await {
        Ok(info) => info
            .replica_sets
            .iter()
            .filter_map(|rs| {
                let image = rs
                    .spec
                    .as_ref()?
                    .template
                    .as_ref()?
                    .spec
                    .as_ref()?
                    .containers
                    .first()?
                    .image
                    .clone()?;
                let ready = rs.status.as_ref().and_then(|s| s.ready_replicas).unwrap_or(0);
                let want = rs.spec.as_ref().and_then(|s| s.replicas).unwrap_or(0);
                (want > 0 || ready > 0).then(|| format!("{image}: {ready}/{want} ready"))
            })
            .collect::<Vec<_>>()
            .join(", "),
        Err(e) => format!("({e})"),
    }
}

async fn show(client: &kube::Client, r: &Value) {
    let w = &r["status"]["canary"]["weights"];
    println!(
        "    traffic: canary {} %, stable {} %   (canary Ingress weight annotation: {})",
        w["canary"]["weight"],
        w["stable"]["weight"],
        ingress_weight(client).await
    );
    println!("    pods:    {}", pods(client).await);
}

async fn delete_namespace(client: &kube::Client) {
    let api: Api<Namespace> = Api::all(client.clone());
    let _ = api.delete(NS, &DeleteParams::background()).await;
}

/// Runs the chapter, then removes its namespace. With `keep`, a chapter that succeeded leaves its Rollout and
/// controller running and returns their clean-up for later.
pub async fn run(cluster: &Cluster, keep: bool) -> anyhow::Result<Option<super::Cleanup>> {
    let client = cluster.client().clone();
    println!("\nChapter: a canary release with automatic rollback");
    println!(
        "  A Rollout (the Argo Rollouts resource) replaces a Deployment: new versions get a share of the"
    );
    println!("  traffic step by step, and a version that does not become healthy is rolled back by itself.");
    tack_delivery::install_crds(&client)
        .await
        .context("installing the argoproj.io CRDs")?;
    // They are served now; this client's discovery cache must know them too.
    cluster.refresh_discovery().await?;
    let namespaces: Api<Namespace> = Api::all(client.clone());
    if namespaces.get_opt(NS).await?.is_some() {
        delete_namespace(&client).await;
        let deadline = Instant::now() + Duration::from_secs(60);
        while namespaces.get_opt(NS).await?.is_some() {
            if Instant::now() > deadline {
                bail!(
                    "the namespace {NS} from an earlier demo is still being deleted; try again in a minute"
                );
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    }
    let ns: Namespace = serde_json::from_value(json!({"metadata": {"name": NS}}))?;
    namespaces
        .patch(
            NS,
            &PatchParams::apply(tack_cluster::FIELD_MANAGER).force(),
            &Patch::Apply(&ns),
        )
        .await?;
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let controller = tokio::spawn(tack_delivery::run(
        client.clone(),
        tack_delivery::DeliveryConfig {
            namespace: Some(NS.into()),
            ..Default::default()
        },
        async move {
            let _ = stopped.await;
        },
    ));
    let (metrics_url, metrics) = serve_metrics(client.clone()).await?;
    let result = chapter(cluster, &client, &metrics_url).await;
    let clean = async move {
        metrics.abort();
        let _ = stop.send(());
        let _ = tokio::time::timeout(Duration::from_secs(10), controller).await;
        delete_namespace(&client).await;
    };
    if keep && result.is_ok() {
        return Ok(Some(Box::pin(clean)));
    }
    clean.await;
    result.map(|()| None)
}

/// The chapter's narrative, step after step (wiring: each step calls into the product and prints what it did).
async fn chapter(cluster: &Cluster, client: &kube::Client, metrics_url: &str) -> anyhow::Result<()> {
    let minute = Duration::from_secs(60);
    for v in others() {
        apply(cluster, &v).await?;
    }
    apply(cluster, &analysis_template(metrics_url)).await?;
    apply(cluster, &rollout("web:1.0", false)).await?;
    println!(
        "\n  1. Rollout `web` with 5 pods of web:1.0, Services web-stable and web-canary, and an NGINX Ingress."
    );
    println!(
        "     Steps: 20 % of the traffic, pause, 50 %, pause, then everything. A pod counts once it has been"
    );
    println!("     Ready for 5 s (minReadySeconds); a release that makes no progress for 10 s is aborted.");
    println!(
        "     While a release runs, a background analysis (AnalysisTemplate error-rate) reads the new version's"
    );
    println!("     error rate every 2 s from the application's metrics ({metrics_url}) and fails above 5 %.");
    let r = wait_for(client, "Healthy", minute, |r| {
        r["status"]["phase"] == "Healthy" && r["status"]["availableReplicas"] == 5
    })
    .await?;
    println!("     The first version becomes stable at once:");
    show(client, &r).await;

    println!("\n  2. tack rollout set-image web web=web:2.0");
    commands::set_image(client, NS, NAME, "web", "web:2.0").await?;
    let r = wait_for(client, "Paused at 20 %", minute, |r| {
        r["status"]["phase"] == "Paused" && r["status"]["canary"]["weights"]["canary"]["weight"] == 20
    })
    .await?;
    println!(
        "     One canary pod starts; once it is Ready, 20 % of the traffic goes to it and the Rollout pauses"
    );
    println!("     for a person to look at the new version:");
    show(client, &r).await;

    println!("\n  3. tack rollout promote web");
    commands::promote(client, NS, NAME).await?;
    let r = wait_for(client, "Paused at 50 %", minute, |r| {
        r["status"]["phase"] == "Paused" && r["status"]["canary"]["weights"]["canary"]["weight"] == 50
    })
    .await?;
    println!("     Three canary pods, half of the traffic:");
    show(client, &r).await;

    println!("\n  4. tack rollout promote web --full");
    commands::promote_full(client, NS, NAME).await?;
    let r = wait_for(client, "Healthy on web:2.0", minute, |r| {
        r["status"]["phase"] == "Healthy" && r["status"]["stableRS"] == r["status"]["currentPodHash"]
    })
    .await?;
    println!(
        "     web:2.0 is the new stable version; the old pods go away after scaleDownDelaySeconds (5 s):"
    );
    show(client, &r).await;

    println!(
        "\n  5. A bad release: {BAD_IMAGE}. Its error rate is 35 %, and its pods crash (label tack.dev/simulate: crash)."
    );
    apply(cluster, &rollout(BAD_IMAGE, true)).await?;
    let started = Instant::now();
    let r = wait_for(client, "rolled back", minute, |r| {
        r["status"]["phase"] == "Degraded" && r["status"]["abort"] == true
    })
    .await?;
    let message = r["status"]["message"].as_str().unwrap_or_default();
    let secs = started.elapsed().as_secs_f64();
    if message.contains("AnalysisRun") {
        println!(
            "     The background analysis measured the canary's error rate, 35 %, and failed: tack aborted the"
        );
        println!(
            "     release by itself {secs:.0} s after the change: all traffic back on web:2.0, canary scaled down."
        );
    } else if message.contains("canary pod") {
        println!(
            "     A canary pod crashed before the analysis had its first measurement: tack aborted the release by"
        );
        println!("     itself {secs:.0} s after the change (crashed canary pods are the second guard).");
    } else {
        println!(
            "     The canary made no progress: tack aborted the release by itself {secs:.0} s after the change."
        );
    }
    println!(
        "    status:  {} — {message}",
        r["status"]["phase"].as_str().unwrap_or_default(),
    );
    tokio::time::sleep(Duration::from_secs(2)).await;
    let r = wait_for(client, "stable again", minute, |_| true).await?;
    show(client, &r).await;
    println!(
        "     Users kept being served by web:2.0 the whole time. Fix the image and apply it again, or run"
    );
    println!("     `tack rollout retry web` to try the same version once more.");
    println!(
        "\n  Try it yourself: tack rollout get NAME --watch, promote, abort, retry, undo (docs/rollouts.md)."
    );
    Ok(())
}

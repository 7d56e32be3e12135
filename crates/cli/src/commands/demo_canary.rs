//! The canary chapter of `tack demo`: a new image goes to 20 % of the traffic, pauses, is promoted to 50 % and
//! then fully; a bad image (its pods crash) is rolled back automatically. Runs the Rollout controller in this
//! process, scoped to the namespace `tack-demo-canary`, which is deleted at the end.

use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use k8s_openapi::api::core::v1::Namespace;
use k8s_openapi::api::networking::v1::Ingress;
use kube::api::{Api, DeleteParams, Patch, PatchParams};
use serde_json::{Value, json};
use tack_cluster::Cluster;
use tack_delivery::rollout::commands;

const NS: &str = "tack-demo-canary";
const NAME: &str = "web";

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
                "steps": [{"setWeight": 20}, {"pause": {}}, {"setWeight": 50}, {"pause": {}}]
            }}
        }
    })
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

/// Runs the chapter.
pub async fn run(cluster: &Cluster) -> anyhow::Result<()> {
    let client = cluster.client().clone();
    println!("\nChapter: a canary release with automatic rollback");
    println!(
        "  A Rollout (the Argo Rollouts resource) replaces a Deployment: new versions get a share of the"
    );
    println!("  traffic step by step, and a version that does not become healthy is rolled back by itself.");
    tack_delivery::install_crds(&client)
        .await
        .context("installing the argoproj.io CRDs")?;
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
        .patch(NS, &PatchParams::apply("tack").force(), &Patch::Apply(&ns))
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
    let result = chapter(cluster, &client).await;
    let _ = stop.send(());
    let _ = tokio::time::timeout(Duration::from_secs(10), controller).await;
    delete_namespace(&client).await;
    result
}

async fn chapter(cluster: &Cluster, client: &kube::Client) -> anyhow::Result<()> {
    let minute = Duration::from_secs(60);
    for v in others() {
        apply(cluster, &v).await?;
    }
    apply(cluster, &rollout("web:1.0", false)).await?;
    println!(
        "\n  1. Rollout `web` with 5 pods of web:1.0, Services web-stable and web-canary, and an NGINX Ingress."
    );
    println!(
        "     Steps: 20 % of the traffic, pause, 50 %, pause, then everything. A pod counts once it has been"
    );
    println!("     Ready for 5 s (minReadySeconds); a release that makes no progress for 10 s is aborted.");
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

    println!("\n  5. A bad release: web:3.0, whose pods crash (label tack.dev/simulate: crash).");
    apply(cluster, &rollout("web:3.0", true)).await?;
    let started = Instant::now();
    let r = wait_for(client, "rolled back", minute, |r| {
        r["status"]["phase"] == "Degraded" && r["status"]["abort"] == true
    })
    .await?;
    println!(
        "     The canary pods crash right after starting and never become available, so no traffic was sent to them."
    );
    println!(
        "     After progressDeadlineSeconds (10 s) without progress tack aborted the release by itself ({:.0} s after the change):",
        started.elapsed().as_secs_f64()
    );
    println!(
        "    status:  {} — {}",
        r["status"]["phase"].as_str().unwrap_or_default(),
        r["status"]["message"].as_str().unwrap_or_default()
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

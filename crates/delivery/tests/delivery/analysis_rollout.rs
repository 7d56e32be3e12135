//! End to end: a canary Rollout with an analysis step measured against a real Prometheus. Good metrics promote the
//! canary; bad metrics abort it within one interval plus 5 s, traffic goes back to 100 % stable, and the
//! AnalysisRun is Failed with the measured value in its message.

use std::time::{Duration, Instant};

use anyhow::{Result, ensure};
use kube::api::{Api, DynamicObject, ListParams};
use serde_json::Value;
use tack_delivery::rollout::commands;

use crate::analysis_support::{Exporter, Prometheus, metric_result};
use crate::rollout_support::{Env, MINUTE, current_hash, stable_hash, step};

const SERVICES: [&str; 2] = [
    "apiVersion: v1\nkind: Service\nmetadata: {name: shop-stable}\nspec: {selector: {app: shop}, ports: [{port: 80}]}\n",
    "apiVersion: v1\nkind: Service\nmetadata: {name: shop-canary}\nspec: {selector: {app: shop}, ports: [{port: 80}]}\n",
];

const INGRESS: &str = r#"
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: shop}
spec:
  rules:
  - host: shop.example
    http:
      paths:
      - {path: /, pathType: Prefix, backend: {service: {name: shop-stable, port: {number: 80}}}}
"#;

const TEMPLATE: &str = r#"
apiVersion: argoproj.io/v1alpha1
kind: AnalysisTemplate
metadata: {name: success-rate}
spec:
  args:
  - name: prometheus
  - name: job
    value: exporter
  metrics:
  - name: success-rate
    interval: 5s
    count: 3
    successCondition: result[0] >= 0.95
    provider:
      prometheus:
        address: "{{args.prometheus}}"
        query: http_success_rate{job="{{args.job}}"}
"#;

fn rollout(prometheus: &str) -> String {
    format!(
        r#"
apiVersion: argoproj.io/v1alpha1
kind: Rollout
metadata: {{name: shop}}
spec:
  replicas: 2
  selector: {{matchLabels: {{app: shop}}}}
  template:
    metadata: {{labels: {{app: shop}}}}
    spec: {{containers: [{{name: shop, image: "shop:1"}}]}}
  strategy:
    canary:
      canaryService: shop-canary
      stableService: shop-stable
      abortScaleDownDelaySeconds: 2
      trafficRouting:
        nginx: {{stableIngress: shop}}
      steps:
      - setWeight: 20
      - analysis:
          templates: [{{templateName: success-rate}}]
          args: [{{name: prometheus, value: "{prometheus}"}}]
"#
    )
}

async fn canary_weight(env: &Env) -> Result<Option<String>> {
    Ok(env
        .get("networking.k8s.io/v1", "Ingress", "shop-shop-canary")
        .await?
        .and_then(|i| {
            i.pointer("/metadata/annotations/nginx.ingress.kubernetes.io~1canary-weight")
                .and_then(Value::as_str)
                .map(str::to_string)
        }))
}

/// The AnalysisRun created for the ReplicaSet `hash`.
async fn run_for(env: &Env, hash: &str) -> Result<Option<DynamicObject>> {
    let api: Api<DynamicObject> = Api::namespaced_with(
        env.client.clone(),
        env.name(),
        &tack_delivery::analysis_run::resource(),
    );
    let list = api
        .list(&ListParams::default().labels(&format!("rollouts-pod-template-hash={hash}")))
        .await?;
    Ok(list.items.into_iter().next())
}

fn status(o: &DynamicObject) -> Value {
    o.data.get("status").cloned().unwrap_or(Value::Null)
}

#[tokio::test]
#[ignore = "needs the local control plane"]
async fn canary_analysis_promotes_on_good_metrics_and_aborts_on_bad_ones() -> Result<()> {
    let env = Env::new("an-rollout").await?;
    let ns = env.name().to_string();
    let exporter = Exporter::start().await?;
    exporter.set("http_success_rate", 0.99);
    let prom = Prometheus::start(exporter.addr).await?;
    prom.wait_for("http_success_rate", 0.99).await?;
    for s in SERVICES {
        env.apply_yaml(s).await?;
    }
    env.apply_yaml(INGRESS).await?;
    env.apply_yaml(TEMPLATE).await?;
    env.apply_yaml(&rollout(&prom.url)).await?;
    let r = env
        .wait_phase("shop", "Healthy", MINUTE, |r| {
            r["status"]["availableReplicas"] == 2
        })
        .await?;
    let v1 = stable_hash(&r);

    // Good metrics: the analysis step passes (3 measurements, 5 s apart) and the canary is promoted.
    commands::set_image(&env.client, &ns, "shop", "shop", "shop:2").await?;
    let r = env
        .wait_rollout("shop", "analysis step", MINUTE, |r| step(r) == 1)
        .await?;
    let v2 = current_hash(&r);
    ensure!(v2 != v1, "a new ReplicaSet");
    env.wait_phase("shop", "Healthy", Duration::from_secs(90), |r| {
        r["status"]["stableRS"] == v2.as_str()
    })
    .await?;
    let run = run_for(&env, &v2)
        .await?
        .ok_or_else(|| anyhow::anyhow!("no AnalysisRun for {v2}"))?;
    let st = status(&run);
    ensure!(st["phase"] == "Successful", "{st:#}");
    ensure!(
        metric_result(&st, "success-rate").is_some_and(|m| m["count"] == 3 && m["successful"] == 3),
        "{st:#}"
    );

    // Bad metrics: once the analysis has measured, the rate drops; the run fails at the next measurement and the
    // Rollout aborts, sending all traffic back to stable.
    commands::set_image(&env.client, &ns, "shop", "shop", "shop:3").await?;
    let r = env
        .wait_rollout("shop", "analysis step of v3", MINUTE, |r| {
            step(r) == 1 && current_hash(r) != v2
        })
        .await?;
    let v3 = current_hash(&r);
    tack_testkit::eventually(MINUTE, "first measurement of the v3 analysis", || async {
        let n = run_for(&env, &v3)
            .await?
            .map(|o| status(&o))
            .and_then(|st| metric_result(&st, "success-rate").map(|m| m["count"].as_i64().unwrap_or(0)))
            .unwrap_or(0);
        Ok((n >= 1).then_some(()))
    })
    .await?;
    ensure!(
        canary_weight(&env).await?.as_deref() == Some("20"),
        "canary at 20 % during the analysis"
    );
    exporter.set("http_success_rate", 0.42);
    let changed = Instant::now();
    tack_testkit::eventually(Duration::from_secs(30), "traffic back to stable", || async {
        Ok((canary_weight(&env).await?.as_deref() == Some("0")).then_some(()))
    })
    .await?;
    let took = changed.elapsed();
    ensure!(
        took <= Duration::from_secs(10),
        "aborted {took:?} after the metric went bad (interval 5 s + 5 s allowed)"
    );
    let r = env
        .wait_phase("shop", "Degraded", MINUTE, |r| r["status"]["abort"] == true)
        .await?;
    ensure!(stable_hash(&r) == v2, "v2 stays stable");
    let run = run_for(&env, &v3)
        .await?
        .ok_or_else(|| anyhow::anyhow!("no AnalysisRun for {v3}"))?;
    let st = status(&run);
    ensure!(st["phase"] == "Failed", "{st:#}");
    let msg = st["message"].as_str().unwrap_or_default();
    ensure!(
        msg == "Metric \"success-rate\" assessed Failed due to failed (1) > failureLimit (0): last result [0.42]",
        "AnalysisRun message: {msg}"
    );
    let rollout_msg = r["status"]["message"].as_str().unwrap_or_default();
    ensure!(
        rollout_msg.contains("RolloutAborted") && rollout_msg.contains("last result [0.42]"),
        "the Rollout says why: {rollout_msg}"
    );
    let svc = env.get("v1", "Service", "shop-stable").await?.unwrap_or_default();
    ensure!(
        svc["spec"]["selector"]["rollouts-pod-template-hash"] == v2.as_str(),
        "the stable Service still selects v2"
    );
    Ok(())
}

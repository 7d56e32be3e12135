//! Experiments on the local control plane: a standalone Experiment runs its templates as ReplicaSets, starts its
//! analyses once they are available, ends Successful (or Failed with the failing analysis), and scales its
//! ReplicaSets to zero; a canary `experiment` step waits for its Experiment and a failed Experiment aborts the
//! Rollout. The analyses measure a web endpoint served on 127.0.0.1.

use std::time::Duration;

use anyhow::{Result, bail};
use k8s_openapi::api::apps::v1::ReplicaSet;
use k8s_openapi::api::core::v1::Service;
use kube::api::Api;
use serde_json::{Value, json};
use tack_delivery::rollout::commands;

use crate::analysis_support::Exporter;
use crate::rollout_support::{Env, MINUTE, current_hash, step};

const TEMPLATE: &str = r#"
apiVersion: argoproj.io/v1alpha1
kind: AnalysisTemplate
metadata: {name: success-rate}
spec:
  args:
  - {name: url}
  - {name: hash}
  metrics:
  - name: success-rate
    interval: 1s
    count: 2
    successCondition: result >= 0.95
    failureLimit: 0
    provider:
      web: {url: "{{args.url}}?hash={{args.hash}}", jsonPath: "{$.rate}"}
"#;

fn experiment(url: &str, duration: &str) -> String {
    format!(
        r#"
apiVersion: argoproj.io/v1alpha1
kind: Experiment
metadata: {{name: compare}}
spec:
  duration: {duration}
  progressDeadlineSeconds: 60
  templates:
  - name: baseline
    replicas: 2
    selector: {{matchLabels: {{app: shop, role: baseline}}}}
    template:
      metadata: {{labels: {{app: shop, role: baseline}}}}
      spec: {{containers: [{{name: shop, image: "shop:1", ports: [{{name: http, containerPort: 8080}}]}}]}}
    service: {{}}
  - name: canary
    selector: {{matchLabels: {{app: shop, role: canary}}}}
    template:
      metadata: {{labels: {{app: shop, role: canary}}}}
      spec: {{containers: [{{name: shop, image: "shop:2"}}]}}
  analyses:
  - name: rate
    templateName: success-rate
    args:
    - {{name: url, value: "{url}"}}
    - {{name: hash, value: "{{{{templates.canary.podTemplateHash}}}}"}}
"#
    )
}

async fn wait_experiment(
    env: &Env,
    name: &str,
    within: Duration,
    check: impl Fn(&Value) -> bool,
) -> Result<Value> {
    let deadline = tokio::time::Instant::now() + within;
    loop {
        let x = env.get("argoproj.io/v1alpha1", "Experiment", name).await?;
        if let Some(x) = &x
            && check(x)
        {
            return Ok(x.clone());
        }
        if tokio::time::Instant::now() > deadline {
            bail!(
                "Experiment {name}: not reached within {within:?}; status: {}",
                serde_json::to_string_pretty(&x.map(|x| x["status"].clone())).unwrap_or_default()
            );
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

async fn spec_replicas(env: &Env, name: &str) -> Result<i32> {
    let api: Api<ReplicaSet> = Api::namespaced(env.client.clone(), env.name());
    Ok(api.get(name).await?.spec.and_then(|s| s.replicas).unwrap_or(-1))
}

#[tokio::test]
#[ignore = "needs the local control plane"]
async fn experiment_with_a_passing_analysis_succeeds_and_scales_down() -> Result<()> {
    let env = Env::new("exp-ok").await?;
    let exporter = Exporter::start().await?;
    exporter.set_json(json!({"rate": 0.99}));
    env.apply_yaml(TEMPLATE).await?;
    env.apply_yaml(&experiment(&exporter.url("/json"), "6s")).await?;

    // Running once both templates are available; the template with `service` has its Service.
    let x = wait_experiment(&env, "compare", MINUTE, |x| x["status"]["phase"] == "Running").await?;
    assert!(x["status"]["availableAt"].is_string(), "{x}");
    let statuses = x["status"]["templateStatuses"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert_eq!(statuses.len(), 2, "{x}");
    assert_eq!(statuses[0]["status"], "Running");
    assert_eq!(statuses[0]["availableReplicas"], 2);
    assert_eq!(statuses[0]["serviceName"], "compare-baseline");
    let svc: Api<Service> = Api::namespaced(env.client.clone(), env.name());
    let s = svc.get("compare-baseline").await?;
    let hash = statuses[0]["podTemplateHash"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert_eq!(
        s.spec
            .and_then(|s| s.selector)
            .and_then(|m| m.get("rollouts-pod-template-hash").cloned()),
        Some(hash)
    );
    assert_eq!(spec_replicas(&env, "compare-baseline").await?, 2);
    assert_eq!(spec_replicas(&env, "compare-canary").await?, 1);

    // The analysis passes; after the duration the Experiment is Successful and its ReplicaSets go to zero.
    let x = wait_experiment(&env, "compare", MINUTE, |x| x["status"]["phase"] == "Successful").await?;
    let runs = x["status"]["analysisRuns"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert_eq!(runs.len(), 1, "{x}");
    assert_eq!(runs[0]["analysisRun"], "compare-rate");
    assert_eq!(runs[0]["phase"], "Successful");
    let run = env
        .get("argoproj.io/v1alpha1", "AnalysisRun", "compare-rate")
        .await?
        .unwrap_or_default();
    assert_eq!(run["metadata"]["ownerReferences"][0]["kind"], "Experiment");
    let canary_hash = x["status"]["templateStatuses"][1]["podTemplateHash"].clone();
    assert_eq!(
        run["spec"]["args"]
            .as_array()
            .and_then(|a| a.iter().find(|a| a["name"] == "hash"))
            .map(|a| a["value"].clone()),
        Some(canary_hash),
        "{{{{templates.canary.podTemplateHash}}}} resolved"
    );
    let deadline = tokio::time::Instant::now() + MINUTE;
    while spec_replicas(&env, "compare-baseline").await? != 0
        || spec_replicas(&env, "compare-canary").await? != 0
    {
        if tokio::time::Instant::now() > deadline {
            bail!("the Experiment's ReplicaSets were not scaled to zero");
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    // Ended and scaled down, the status is a fixed point: nothing is written any more.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let version = |x: &Value| x["metadata"]["resourceVersion"].clone();
    let before = env
        .get("argoproj.io/v1alpha1", "Experiment", "compare")
        .await?
        .unwrap_or_default();
    tokio::time::sleep(Duration::from_secs(3)).await;
    let after = env
        .get("argoproj.io/v1alpha1", "Experiment", "compare")
        .await?
        .unwrap_or_default();
    assert_eq!(version(&before), version(&after), "{}", after["status"]);
    assert!(
        svc.get_opt("compare-baseline").await?.is_none(),
        "the template Service is deleted"
    );
    Ok(())
}

#[tokio::test]
#[ignore = "needs the local control plane"]
async fn experiment_with_a_failing_analysis_fails() -> Result<()> {
    let env = Env::new("exp-fail").await?;
    let exporter = Exporter::start().await?;
    exporter.set_json(json!({"rate": 0.5}));
    env.apply_yaml(TEMPLATE).await?;
    // Without the failure it would run for an hour.
    env.apply_yaml(&experiment(&exporter.url("/json"), "1h")).await?;
    let x = wait_experiment(&env, "compare", MINUTE, |x| x["status"]["phase"] == "Failed").await?;
    let message = x["status"]["message"].as_str().unwrap_or_default();
    assert!(message.contains("success-rate"), "{message}");
    assert_eq!(x["status"]["analysisRuns"][0]["phase"], "Failed");
    let deadline = tokio::time::Instant::now() + MINUTE;
    while spec_replicas(&env, "compare-baseline").await? != 0 {
        if tokio::time::Instant::now() > deadline {
            bail!("the failed Experiment's ReplicaSets were not scaled to zero");
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    Ok(())
}

fn rollout(url: &str) -> String {
    format!(
        r#"
apiVersion: argoproj.io/v1alpha1
kind: Rollout
metadata: {{name: web}}
spec:
  replicas: 2
  selector: {{matchLabels: {{app: web}}}}
  template:
    metadata: {{labels: {{app: web}}}}
    spec: {{containers: [{{name: web, image: "web:1"}}]}}
  strategy:
    canary:
      steps:
      - setWeight: 50
      - experiment:
          templates:
          - {{name: baseline, specRef: stable}}
          - {{name: canary, specRef: canary}}
          analyses:
          - name: rate
            templateName: success-rate
            requiredForCompletion: true
            args:
            - {{name: url, value: "{url}"}}
            - {{name: hash, value: "{{{{templates.canary.podTemplateHash}}}}"}}
      - pause: {{}}
"#
    )
}

#[tokio::test]
#[ignore = "needs the local control plane"]
async fn experiment_step_gates_the_rollout_and_a_failed_experiment_aborts_it() -> Result<()> {
    let env = Env::new("ro-exp").await?;
    let ns = env.name().to_string();
    let exporter = Exporter::start().await?;
    exporter.set_json(json!({"rate": 0.99}));
    env.apply_yaml(TEMPLATE).await?;
    env.apply_yaml(&rollout(&exporter.url("/json"))).await?;
    env.wait_phase("web", "Healthy", MINUTE, |r| {
        r["status"]["availableReplicas"] == 2
    })
    .await?;

    // The experiment step runs baseline (stable pod template) and canary; its required analysis passes and the
    // Rollout moves on to the pause.
    commands::set_image(&env.client, &ns, "web", "web", "web:2").await?;
    let r = env.wait_phase("web", "Paused", MINUTE, |r| step(r) == 2).await?;
    let v2 = current_hash(&r);
    let name = format!("web-{v2}-2-1");
    let x = env
        .get("argoproj.io/v1alpha1", "Experiment", &name)
        .await?
        .unwrap_or_default();
    assert_eq!(x["status"]["phase"], "Successful", "{x}");
    assert_eq!(x["metadata"]["ownerReferences"][0]["kind"], "Rollout");
    let images: Vec<Value> = x["spec"]["templates"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|t| t["template"]["spec"]["containers"][0]["image"].clone())
        .collect();
    assert_eq!(
        images,
        [json!("web:1"), json!("web:2")],
        "specRef stable and canary"
    );
    let info = commands::inspect(&env.client, &ns, "web").await?;
    assert_eq!(info.experiments.len(), 1);

    // Promote to the end; then an update whose experiment analysis fails aborts.
    commands::promote(&env.client, &ns, "web").await?;
    env.wait_phase("web", "Healthy", MINUTE, |r| {
        r["status"]["stableRS"] == v2.as_str()
    })
    .await?;
    exporter.set_json(json!({"rate": 0.2}));
    commands::set_image(&env.client, &ns, "web", "web", "web:3").await?;
    let r = env
        .wait_phase("web", "Degraded", MINUTE, |r| r["status"]["abort"] == true)
        .await?;
    let message = r["status"]["message"].as_str().unwrap_or_default();
    assert!(
        message.starts_with("RolloutAborted: Experiment \"web-") && message.contains("Failed"),
        "{message}"
    );
    assert_eq!(r["status"]["stableRS"], v2.as_str(), "the stable stays");
    Ok(())
}

//! A canary gated by an analysis step: the Rollout controller creates the AnalysisRun from an AnalysisTemplate
//! with the Rollout's args, the AnalysisRun controller measures a web endpoint, and the Rollout continues on
//! success and aborts (traffic and replicas back to stable) on failure.

use std::time::Duration;

use anyhow::Result;
use serde_json::json;
use tack_delivery::rollout::commands;

use crate::analysis_support::Exporter;
use crate::rollout_support::{Env, MINUTE, current_hash, stable_hash, step};

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
      - analysis:
          templates: [{{templateName: success-rate}}]
          args:
          - {{name: url, value: "{url}"}}
          - {{name: hash, valueFrom: {{podTemplateHashValue: Latest}}}}
      - pause: {{}}
"#
    )
}

#[tokio::test]
#[ignore = "needs the local control plane"]
async fn analysis_step_passes_on_good_values_and_aborts_on_bad_ones() -> Result<()> {
    let env = Env::new("ro-analysis").await?;
    let ns = env.name().to_string();
    let exporter = Exporter::start().await?;
    exporter.set_json(json!({"rate": 0.99}));
    env.apply_yaml(TEMPLATE).await?;
    env.apply_yaml(&rollout(&exporter.url("/json"))).await?;
    let r = env
        .wait_phase("web", "Healthy", MINUTE, |r| {
            r["status"]["availableReplicas"] == 2
        })
        .await?;
    let v1 = stable_hash(&r);

    // Good values: the analysis step passes and the rollout pauses at step 2.
    commands::set_image(&env.client, &ns, "web", "web", "web:2").await?;
    let r = env.wait_phase("web", "Paused", MINUTE, |r| step(r) == 2).await?;
    let v2 = current_hash(&r);
    let run_ref = &r["status"]["canary"]["currentStepAnalysisRunStatus"];
    let info = commands::inspect(&env.client, &ns, "web").await?;
    assert_eq!(info.analysis_runs.len(), 1, "{run_ref}");
    let run = &info.analysis_runs[0];
    assert_eq!(run["status"]["phase"], "Successful", "{run:#}");
    assert_eq!(
        run["metadata"]["labels"]["rollouts-pod-template-hash"],
        v2.as_str()
    );
    assert_eq!(run["metadata"]["labels"]["rollout-type"], "Step");
    assert_eq!(run["metadata"]["labels"]["step-index"], "1");
    assert_eq!(run["metadata"]["ownerReferences"][0]["name"], "web");
    // The Rollout's args were resolved into the run: the Latest hash and the URL.
    let args = run["spec"]["args"].as_array().cloned().unwrap_or_default();
    assert!(
        args.iter()
            .any(|a| a["name"] == "hash" && a["value"] == v2.as_str()),
        "{args:?}"
    );
    assert!(
        args.iter()
            .any(|a| a["name"] == "url" && a["value"] == exporter.url("/json")),
        "{args:?}"
    );
    assert!(
        !exporter.json_requests().is_empty(),
        "the endpoint was never called"
    );
    commands::promote(&env.client, &ns, "web").await?;
    env.wait_phase("web", "Healthy", MINUTE, |r| {
        r["status"]["stableRS"] == v2.as_str()
    })
    .await?;

    // Bad values: the analysis fails and the update is aborted back to v2.
    exporter.set_json(json!({"rate": 0.5}));
    commands::set_image(&env.client, &ns, "web", "web", "web:3").await?;
    let r = env
        .wait_phase("web", "Degraded", MINUTE, |r| r["status"]["abort"] == true)
        .await?;
    let v3 = current_hash(&r);
    assert_ne!(v3, v2);
    assert_ne!(v3, v1);
    let msg = r["status"]["message"].as_str().unwrap_or_default();
    assert!(msg.contains("RolloutAborted"), "{msg}");
    assert_eq!(
        r["status"]["canary"]["currentStepAnalysisRunStatus"]["status"], "Failed",
        "{:#}",
        r["status"]
    );
    tack_testkit::eventually(MINUTE, "canary scaled down", || async {
        Ok((env.replicas_of(&v3).await?.0 == 0).then_some(()))
    })
    .await?;
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(env.replicas_of(&v2).await?, (2, 2));
    Ok(())
}

/// `spec.analysis.successfulRunHistoryLimit`: completed runs of older revisions beyond the limit are deleted,
/// the newest kept.
#[tokio::test]
#[ignore = "needs the local control plane"]
async fn completed_runs_beyond_the_history_limit_are_deleted() -> Result<()> {
    let env = Env::new("ro-history").await?;
    let ns = env.name().to_string();
    let exporter = Exporter::start().await?;
    exporter.set_json(json!({"rate": 0.99}));
    env.apply_yaml(TEMPLATE).await?;
    // Each update passes its analysis step and completes by itself.
    let text = rollout(&exporter.url("/json"))
        .replace("      - pause: {}\n", "")
        .replace(
            "  replicas: 2\n",
            "  replicas: 2\n  analysis: {successfulRunHistoryLimit: 1}\n",
        );
    env.apply_yaml(&text).await?;
    env.wait_phase("web", "Healthy", MINUTE, |r| {
        r["status"]["availableReplicas"] == 2
    })
    .await?;
    let runs: kube::Api<kube::api::DynamicObject> =
        kube::Api::namespaced_with(env.client.clone(), &ns, &tack_delivery::analysis_run::resource());
    let mut last = String::new();
    for image in ["web:2", "web:3", "web:4"] {
        commands::set_image(&env.client, &ns, "web", "web", image).await?;
        let r = env
            .wait_phase("web", "Healthy", 2 * MINUTE, |r| {
                r["status"]["stableRS"] == r["status"]["currentPodHash"]
                    && r["status"]["currentPodHash"] != last.as_str()
            })
            .await?;
        last = stable_hash(&r);
    }
    let left = tack_testkit::eventually(MINUTE, "one run left", || async {
        let items = runs.list(&Default::default()).await?.items;
        Ok((items.len() == 1).then_some(items))
    })
    .await?;
    assert_eq!(
        left[0]
            .metadata
            .labels
            .as_ref()
            .and_then(|l| l.get("rollouts-pod-template-hash")),
        Some(&last),
        "the newest revision's run is the one kept"
    );
    Ok(())
}

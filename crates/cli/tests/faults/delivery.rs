//! `tack controller` SIGKILLed in the middle of a canary step and of an analysis: a new process resumes the
//! Rollout at the same step with the same ReplicaSets (no new one, none rescaled while paused), and the analysis
//! ends with exactly its count of measurements, the metric endpoint called once per measurement.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::TcpListener;
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::Result;
use k8s_openapi::api::apps::v1::ReplicaSet;
use kube::api::{Api, ApiResource, DynamicObject, ListParams, Patch, PatchParams, PostParams};
use serde_json::{Value, json};
use tack_testkit::{TestNamespace, eventually};

use super::{Controller, poll_until, scratch};

fn resource(kind: &str, plural: &str) -> ApiResource {
    ApiResource {
        group: "argoproj.io".into(),
        version: "v1alpha1".into(),
        api_version: "argoproj.io/v1alpha1".into(),
        kind: kind.into(),
        plural: plural.into(),
    }
}

const ROLLOUT: &str = r#"{
  "apiVersion": "argoproj.io/v1alpha1", "kind": "Rollout", "metadata": {"name": "web"},
  "spec": {
    "replicas": 4,
    "selector": {"matchLabels": {"app": "web"}},
    "template": {"metadata": {"labels": {"app": "web"}},
                 "spec": {"containers": [{"name": "web", "image": "web:1"}]}},
    "strategy": {"canary": {"steps": [{"setWeight": 25}, {"pause": {}}, {"setWeight": 50}, {"pause": {}}]}}
  }
}"#;

/// The Rollout's ReplicaSets: uid → (pod-template hash, spec.replicas).
async fn replica_sets(client: &kube::Client, ns: &str) -> Result<BTreeMap<String, (String, i32)>> {
    let api: Api<ReplicaSet> = Api::namespaced(client.clone(), ns);
    Ok(api
        .list(&ListParams::default().labels("app=web"))
        .await?
        .items
        .into_iter()
        .map(|rs| {
            let hash = rs
                .metadata
                .labels
                .as_ref()
                .and_then(|l| l.get("rollouts-pod-template-hash").cloned())
                .unwrap_or_default();
            let replicas = rs.spec.and_then(|s| s.replicas).unwrap_or_default();
            (rs.metadata.uid.unwrap_or_default(), (hash, replicas))
        })
        .collect())
}

async fn rollout(api: &Api<DynamicObject>) -> Result<Value> {
    Ok(serde_json::to_value(api.get("web").await?)?)
}

fn step(r: &Value) -> i64 {
    r["status"]["currentStepIndex"].as_i64().unwrap_or(-1)
}

fn phase(r: &Value) -> &str {
    r["status"]["phase"].as_str().unwrap_or("")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the local control plane"]
async fn controller_killed_mid_step_resumes_the_rollout_at_the_same_step_with_the_same_replica_sets()
-> Result<()> {
    tack_cluster::install_crypto_provider();
    let client = tack_testkit::client().await?;
    let kubeconfig = tack_testkit::kubeconfig()?;
    super::install_crds(&kubeconfig)?;
    let ns = TestNamespace::new(&client, "fault-rollout").await?;
    let ns = ns.name().to_string();
    let rollouts: Api<DynamicObject> =
        Api::namespaced_with(client.clone(), &ns, &resource("Rollout", "rollouts"));
    rollouts
        .create(&PostParams::default(), &serde_json::from_str(ROLLOUT)?)
        .await?;
    let work = scratch()?;
    let (cache, log) = (work.path().join("cache"), work.path().join("log"));
    let mut controller = Controller::start(&kubeconfig, &ns, &cache, &log)?;
    eventually(Duration::from_secs(60), "web Healthy with 4 pods", || async {
        let r = rollout(&rollouts).await?;
        Ok((phase(&r) == "Healthy" && r["status"]["availableReplicas"] == 4).then_some(()))
    })
    .await?;

    // 1. A new image; killed as soon as the canary ReplicaSet exists (step 0 under way).
    rollouts
        .patch(
            "web",
            &PatchParams::default(),
            &Patch::Merge(
                json!({"spec": {"template": {"spec": {"containers": [{"name": "web", "image": "web:2"}]}}}}),
            ),
        )
        .await?;
    poll_until(Duration::from_secs(60), "the canary ReplicaSet", || async {
        Ok(replica_sets(&client, &ns).await?.len() == 2)
    })
    .await?;
    controller.kill()?;
    let at_kill = replica_sets(&client, &ns).await?;
    let killed_at = step(&rollout(&rollouts).await?);
    let mut controller = Controller::start(&kubeconfig, &ns, &cache, &log)?;
    let resumed = Instant::now();
    let r = eventually(Duration::from_secs(60), "web Paused at step 1", || async {
        let r = rollout(&rollouts).await?;
        Ok((phase(&r) == "Paused" && step(&r) == 1 && r["status"]["updatedReplicas"] == 1).then_some(r))
    })
    .await;
    let r = match r {
        Ok(r) => r,
        Err(e) => {
            let now = rollout(&rollouts).await?;
            let sets = replica_sets(&client, &ns).await?;
            return Err(e.context(format!("{:#}\n{sets:?}\n{}", now["status"], controller.log())));
        }
    };
    eprintln!(
        "controller killed at step {killed_at} (canary ReplicaSet just created): Paused at step 1 {:?} after the restart",
        resumed.elapsed()
    );
    let paused = replica_sets(&client, &ns).await?;
    let uids = |m: &BTreeMap<String, (String, i32)>| m.keys().cloned().collect::<Vec<_>>();
    assert_eq!(
        uids(&paused),
        uids(&at_kill),
        "the same ReplicaSets: {at_kill:?} then {paused:?}"
    );

    // 2. Killed while paused at step 1: the next process changes nothing for 6 s.
    let canary_before = r["status"]["canary"].clone();
    controller.kill()?;
    let controller = Controller::start(&kubeconfig, &ns, &cache, &log)?;
    let until = Instant::now() + Duration::from_secs(6);
    while Instant::now() < until {
        let r = rollout(&rollouts).await?;
        assert_eq!(step(&r), 1, "{}", controller.log());
        assert_eq!(
            replica_sets(&client, &ns).await?,
            paused,
            "ReplicaSets changed while paused"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let r = rollout(&rollouts).await?;
    assert_eq!(r["status"]["canary"], canary_before);
    assert_eq!(phase(&r), "Paused");

    // 3. It still follows: promote → step 3, with the same two ReplicaSets.
    let out = Command::new(env!("CARGO_BIN_EXE_tack"))
        .args(["rollout", "promote", "web", "-n", &ns])
        .env("KUBECONFIG", &kubeconfig)
        .env_remove("TACK_CONFIG")
        .output()?;
    anyhow::ensure!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    eventually(Duration::from_secs(60), "web Paused at step 3", || async {
        let r = rollout(&rollouts).await?;
        Ok((phase(&r) == "Paused" && step(&r) == 3).then_some(()))
    })
    .await
    .map_err(|e| e.context(controller.log()))?;
    assert_eq!(uids(&replica_sets(&client, &ns).await?), uids(&at_kill));
    Ok(())
}

/// An HTTP server on 127.0.0.1 answering `{"ok": true}` to every request and counting them.
fn metric_endpoint() -> Result<(String, Arc<AtomicUsize>)> {
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let url = format!("http://{}/ok", listener.local_addr()?);
    let count = Arc::new(AtomicUsize::new(0));
    let counted = count.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut s) = stream else { continue };
            let _ = s.set_read_timeout(Some(Duration::from_secs(2)));
            let mut buf = [0u8; 4096];
            let _ = s.read(&mut buf);
            counted.fetch_add(1, Ordering::SeqCst);
            let body = r#"{"ok": true}"#;
            let _ = write!(
                s,
                "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    Ok((url, count))
}

fn measurements(run: &Value) -> Vec<Value> {
    run["status"]["metricResults"]
        .as_array()
        .and_then(|m| m.iter().find(|r| r["name"] == "ok"))
        .and_then(|r| r["measurements"].as_array().cloned())
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the local control plane"]
async fn controller_killed_mid_analysis_takes_no_measurement_twice() -> Result<()> {
    tack_cluster::install_crypto_provider();
    let client = tack_testkit::client().await?;
    let kubeconfig = tack_testkit::kubeconfig()?;
    super::install_crds(&kubeconfig)?;
    let ns = TestNamespace::new(&client, "fault-analysis").await?;
    let ns = ns.name().to_string();
    let (url, calls) = metric_endpoint()?;
    let runs: Api<DynamicObject> =
        Api::namespaced_with(client.clone(), &ns, &resource("AnalysisRun", "analysisruns"));
    let run: DynamicObject = serde_json::from_value(json!({
        "apiVersion": "argoproj.io/v1alpha1", "kind": "AnalysisRun", "metadata": {"name": "steady"},
        "spec": {"metrics": [{"name": "ok", "interval": "3s", "count": 4, "successCondition": "result == true",
            "provider": {"web": {"url": url, "jsonPath": "{$.ok}"}}}]},
    }))?;
    runs.create(&PostParams::default(), &run).await?;
    let work = scratch()?;
    let (cache, log) = (work.path().join("cache"), work.path().join("log"));
    let mut controller = Controller::start(&kubeconfig, &ns, &cache, &log)?;
    poll_until(Duration::from_secs(60), "2 measurements", || async {
        Ok(measurements(&serde_json::to_value(runs.get("steady").await?)?).len() >= 2)
    })
    .await?;
    controller.kill()?;
    let before = calls.load(Ordering::SeqCst);
    let controller = Controller::start(&kubeconfig, &ns, &cache, &log)?;
    let run = eventually(Duration::from_secs(60), "the run completed", || async {
        let r = serde_json::to_value(runs.get("steady").await?)?;
        let done = ["Successful", "Failed", "Error", "Inconclusive"].contains(&phase(&r));
        Ok(done.then_some(r))
    })
    .await
    .map_err(|e| e.context(controller.log()))?;
    assert_eq!(phase(&run), "Successful", "{run:#}");
    let ms = measurements(&run);
    assert_eq!(ms.len(), 4, "exactly count measurements: {ms:#?}");
    let started: Vec<&str> = ms.iter().filter_map(|m| m["startedAt"].as_str()).collect();
    let mut unique = started.clone();
    unique.dedup();
    assert_eq!(unique.len(), 4, "a measurement repeated: {started:?}");
    let total = calls.load(Ordering::SeqCst);
    eprintln!("analysis killed after {before} calls: {total} calls in all for 4 measurements");
    assert_eq!(total, 4, "the endpoint was called once per measurement");
    Ok(())
}

//! The AnalysisRun controller against a real Prometheus scraping an exporter run by the test, a web endpoint,
//! and Jobs on the local control plane.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures::StreamExt;
use kube::runtime::WatchStreamExt;

use anyhow::{Result, ensure};
use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::Secret;
use kube::api::{Api, ListParams, PostParams};
use serde_json::{Value, json};

use crate::analysis_support::{AnalysisEnv, Exporter, Prometheus, metric_result};

const RATE: &str = "http_success_rate";

fn prometheus_metric(name: &str, extra: Value) -> Value {
    let mut m = json!({
        "name": name,
        "successCondition": "result[0] >= 0.95",
        "provider": {"prometheus": {
            "address": "{{args.prometheus}}",
            "query": "http_success_rate{job=\"{{args.job}}\"}"
        }}
    });
    if let (Some(o), Some(e)) = (m.as_object_mut(), extra.as_object()) {
        o.extend(e.clone());
    }
    m
}

fn args(prom: &Prometheus) -> Value {
    json!([{"name": "prometheus", "value": prom.url}, {"name": "job", "value": "exporter"}])
}

fn measurements(st: &Value, metric: &str) -> Vec<Value> {
    metric_result(st, metric)
        .and_then(|r| r["measurements"].as_array().cloned())
        .unwrap_or_default()
}

fn ts(v: &Value) -> Option<jiff::Timestamp> {
    v.as_str()?.parse().ok()
}

#[tokio::test]
#[ignore = "needs the local control plane"]
async fn prometheus_good_values_succeed_and_bad_values_fail_within_one_interval() -> Result<()> {
    let env = AnalysisEnv::new("an-prom").await?;
    let exporter = Exporter::start().await?;
    exporter.set(RATE, 0.99);
    let prom = Prometheus::start(exporter.addr).await?;
    prom.wait_for(RATE, 0.99).await?;

    // Good values: three measurements one second apart, Successful.
    env.create_run(
        "good",
        json!({"args": args(&prom), "metrics": [prometheus_metric("success-rate", json!({"interval": "1s", "count": 3}))]}),
    )
    .await?;
    let st = env.wait_final("good", Duration::from_secs(60)).await?;
    ensure!(st["phase"] == "Successful", "good values: {st:#}");
    let r = metric_result(&st, "success-rate").cloned().unwrap_or_default();
    ensure!(
        r["count"] == 3 && r["successful"] == 3 && r["phase"] == "Successful",
        "{r:#}"
    );
    let ms = measurements(&st, "success-rate");
    ensure!(
        ms.iter()
            .all(|m| m["value"] == "[0.99]" && m["phase"] == "Successful"),
        "{ms:#?}"
    );
    for pair in ms.windows(2) {
        let (Some(f), Some(s)) = (ts(&pair[0]["finishedAt"]), ts(&pair[1]["startedAt"])) else {
            anyhow::bail!("timestamps missing: {pair:?}");
        };
        let gap = f.duration_until(s).as_secs_f64();
        ensure!(
            (0.95..2.5).contains(&gap),
            "next measurement {gap} s after the last one finished (interval 1s)"
        );
    }
    ensure!(
        st["startedAt"].is_string() && st["runSummary"]["successful"] == 1,
        "{st:#}"
    );

    // Bad values: an unlimited run measuring every 5 s fails within one interval plus 5 s of the change.
    env.create_run(
        "bad",
        json!({"args": args(&prom), "metrics": [prometheus_metric("success-rate", json!({"interval": "5s"}))]}),
    )
    .await?;
    env.wait_measurements("bad", "success-rate", 1, Duration::from_secs(30))
        .await?;
    exporter.set(RATE, 0.42);
    let changed = Instant::now();
    let st = env.wait_final("bad", Duration::from_secs(30)).await?;
    let took = changed.elapsed();
    ensure!(
        took <= Duration::from_secs(10),
        "Failed after {took:?} (interval 5 s + 5 s allowed)"
    );
    ensure!(st["phase"] == "Failed", "{st:#}");
    let msg = st["message"].as_str().unwrap_or_default();
    ensure!(
        msg == "Metric \"success-rate\" assessed Failed due to failed (1) > failureLimit (0): last result [0.42]",
        "message: {msg}"
    );
    let r = metric_result(&st, "success-rate").cloned().unwrap_or_default();
    ensure!(r["failed"] == 1 && r["phase"] == "Failed", "{r:#}");
    ensure!(st["completedAt"].is_string(), "{st:#}");
    let events: Api<k8s_openapi::api::events::v1::Event> = Api::namespaced(env.client.clone(), env.name());
    tack_testkit::eventually(Duration::from_secs(10), "AnalysisRunFailed event", || async {
        let list = events.list(&ListParams::default()).await?;
        Ok(list
            .items
            .iter()
            .any(|e| {
                e.reason.as_deref() == Some("AnalysisRunFailed")
                    && e.type_.as_deref() == Some("Warning")
                    && e.regarding.as_ref().and_then(|r| r.name.as_deref()) == Some("bad")
                    && e.note.as_deref().is_some_and(|n| n.contains("[0.42]"))
            })
            .then_some(()))
    })
    .await?;
    Ok(())
}

#[tokio::test]
#[ignore = "needs the local control plane"]
async fn prometheus_inconclusive_dry_run_and_consecutive_errors() -> Result<()> {
    let env = AnalysisEnv::new("an-inc").await?;
    let exporter = Exporter::start().await?;
    exporter.set(RATE, 0.7);
    exporter.set("http_latency_seconds", 3.0);
    let mut prom = Prometheus::start(exporter.addr).await?;
    prom.wait_for(RATE, 0.7).await?;
    prom.wait_for("http_latency_seconds", 3.0).await?;

    // 0.7 is neither a success (>= 0.95) nor a failure (< 0.5): Inconclusive. The failing latency metric is a dry
    // run and does not decide.
    env.create_run(
        "inconclusive",
        json!({
            "args": args(&prom),
            "dryRun": [{"metricName": "latency"}],
            "metrics": [
                prometheus_metric("success-rate", json!({"failureCondition": "result[0] < 0.5"})),
                {"name": "latency", "failureCondition": "result[0] > 1",
                 "provider": {"prometheus": {"address": "{{args.prometheus}}", "query": "http_latency_seconds"}}}
            ]
        }),
    )
    .await?;
    let st = env.wait_final("inconclusive", Duration::from_secs(60)).await?;
    ensure!(st["phase"] == "Inconclusive", "{st:#}");
    ensure!(
        st["message"].as_str().unwrap_or_default().starts_with(
            "Metric \"success-rate\" assessed Inconclusive due to inconclusive (1) > inconclusiveLimit (0)"
        ),
        "{st:#}"
    );
    let lat = metric_result(&st, "latency").cloned().unwrap_or_default();
    ensure!(lat["phase"] == "Failed" && lat["dryRun"] == true, "{lat:#}");
    ensure!(st["dryRunSummary"]["failed"] == 1, "{st:#}");

    // Only the dry-run metric fails: the run is Successful.
    env.create_run(
        "dry",
        json!({
            "args": args(&prom),
            "dryRun": [{"metricName": "latency"}],
            "metrics": [
                {"name": "latency", "failureCondition": "result[0] > 1",
                 "provider": {"prometheus": {"address": "{{args.prometheus}}", "query": "http_latency_seconds"}}}
            ]
        }),
    )
    .await?;
    let st = env.wait_final("dry", Duration::from_secs(60)).await?;
    ensure!(
        st["phase"] == "Successful",
        "a failing dry-run metric never fails the run: {st:#}"
    );

    // Prometheus gone: errors, retried after 10 s, Error after consecutiveErrorLimit (1) is exceeded.
    prom.stop().await;
    let stopped = Instant::now();
    env.create_run(
        "errors",
        json!({"args": args(&prom), "metrics": [prometheus_metric("success-rate",
            json!({"interval": "1s", "consecutiveErrorLimit": 1}))]}),
    )
    .await?;
    let st = env.wait_final("errors", Duration::from_secs(60)).await?;
    ensure!(st["phase"] == "Error", "{st:#}");
    let r = metric_result(&st, "success-rate").cloned().unwrap_or_default();
    ensure!(
        r["error"] == 2 && r["consecutiveError"] == 2 && r["count"] == 0,
        "{r:#}"
    );
    let msg = st["message"].as_str().unwrap_or_default();
    ensure!(
        msg.starts_with(
            "Metric \"success-rate\" assessed Error due to consecutiveErrors (2) > consecutiveErrorLimit (1)"
        ) && msg.contains("Error Message: prometheus"),
        "message: {msg}"
    );
    let took = stopped.elapsed();
    ensure!(
        took >= Duration::from_secs(9),
        "errors are retried after 10 s (took {took:?})"
    );
    Ok(())
}

#[tokio::test]
#[ignore = "needs the local control plane"]
async fn web_provider_with_a_secret_header_terminate_and_ttl() -> Result<()> {
    let env = AnalysisEnv::new("an-web").await?;
    let exporter = Exporter::start().await?;
    exporter.set_json(json!({"data": {"ok": true, "rate": 0.97}}));
    let secret_value = "s3cr3t-t0ken-value";
    let secrets: Api<Secret> = Api::namespaced(env.client.clone(), env.name());
    let secret: Secret = serde_json::from_value(json!({
        "metadata": {"name": "web-token"},
        "stringData": {"token": secret_value}
    }))?;
    secrets.create(&PostParams::default(), &secret).await?;

    env.create_run(
        "web",
        json!({
            "args": [
                {"name": "url", "value": exporter.url("/json")},
                {"name": "token", "valueFrom": {"secretKeyRef": {"name": "web-token", "key": "token"}}}
            ],
            "metrics": [
                {"name": "rate", "successCondition": "result >= 0.95",
                 "provider": {"web": {"url": "{{args.url}}", "jsonPath": "{$.data.rate}",
                     "headers": [{"key": "Authorization", "value": "Bearer {{args.token}}"}]}}},
                {"name": "ok", "successCondition": "result == true",
                 "provider": {"web": {"url": "{{args.url}}?t={{args.token}}", "method": "POST",
                     "jsonBody": {"check": "ok"}, "jsonPath": "{$.data.ok}"}}}
            ]
        }),
    )
    .await?;
    let st = env.wait_final("web", Duration::from_secs(60)).await?;
    ensure!(st["phase"] == "Successful", "{st:#}");
    ensure!(measurements(&st, "rate")[0]["value"] == "0.97", "{st:#}");
    ensure!(measurements(&st, "ok")[0]["value"] == "true", "{st:#}");
    let reqs = exporter.json_requests();
    ensure!(
        reqs.iter()
            .any(|(m, auth, _)| m == "GET" && auth == &format!("Bearer {secret_value}")),
        "the secret reached the endpoint: {reqs:?}"
    );
    ensure!(
        reqs.iter()
            .any(|(m, _, body)| m == "POST" && body == r#"{"check":"ok"}"#),
        "POST with the JSON body: {reqs:?}"
    );
    let whole = env.runs().get("web").await?;
    ensure!(
        !serde_json::to_string(&whole)?.contains(secret_value),
        "the secret value never appears in the AnalysisRun"
    );

    // OAuth2 client credentials: a token from the token endpoint, the client secret from a Secret.
    env.create_run(
        "oauth2",
        json!({
            "args": [{"name": "client-secret", "valueFrom": {"secretKeyRef": {"name": "web-token", "key": "token"}}}],
            "metrics": [{"name": "rate", "successCondition": "result >= 0.95",
                "provider": {"web": {"url": exporter.url("/json?oauth2"), "jsonPath": "{$.data.rate}",
                    "authentication": {"oauth2": {"tokenUrl": exporter.url("/token"), "clientId": "tack",
                        "clientSecret": "{{args.client-secret}}", "scopes": ["metrics:read", "other"]}}}}}]
        }),
    )
    .await?;
    let st = env.wait_final("oauth2", Duration::from_secs(60)).await?;
    ensure!(st["phase"] == "Successful", "{st:#}");
    ensure!(
        !serde_json::to_string(&env.runs().get("oauth2").await?)?.contains(secret_value),
        "the client secret never appears in the AnalysisRun"
    );
    let tokens = exporter.token_requests();
    ensure!(
        tokens.iter().any(|b| b
            == &format!(
                "grant_type=client_credentials&client_id=tack&client_secret={secret_value}&scope=metrics%3Aread+other"
            )),
        "token request: {tokens:?}"
    );
    ensure!(
        exporter
            .json_requests()
            .iter()
            .any(|(_, auth, _)| auth == "Bearer tok-123"),
        "the token is sent: {:?}",
        exporter.json_requests()
    );

    // A failing call whose error names the URL (with the secret in it) is redacted.
    exporter.set_json(json!({"data": {}}));
    env.create_run(
        "redacted",
        json!({
            "args": [
                {"name": "url", "value": exporter.url("/json")},
                {"name": "token", "valueFrom": {"secretKeyRef": {"name": "web-token", "key": "token"}}}
            ],
            "metrics": [{"name": "ok", "consecutiveErrorLimit": 0,
                "provider": {"web": {"url": "{{args.url}}?t={{args.token}}", "jsonPath": "{$.data.ok}"}}}]
        }),
    )
    .await?;
    let st = env.wait_final("redacted", Duration::from_secs(60)).await?;
    let text = serde_json::to_string(&st)?;
    ensure!(
        st["phase"] == "Error" && text.contains("*****") && !text.contains(secret_value),
        "{st:#}"
    );

    // terminate: an unlimited run ends Successful with Argo's message.
    exporter.set_json(json!({"data": {"ok": true, "rate": 0.97}}));
    env.create_run(
        "forever",
        json!({"ttlStrategy": {"secondsAfterSuccess": 3},
            "metrics": [{"name": "ok", "interval": "2s", "successCondition": "result == true",
            "provider": {"web": {"url": exporter.url("/json"), "jsonPath": "{$.data.ok}"}}}]}),
    )
    .await?;
    env.wait_measurements("forever", "ok", 2, Duration::from_secs(30))
        .await?;
    env.terminate("forever").await?;
    let st = env.wait_final("forever", Duration::from_secs(20)).await?;
    ensure!(
        st["phase"] == "Successful" && st["message"] == "Run Terminated",
        "{st:#}"
    );
    // ttlStrategy: deleted 3 s after completion.
    let completed = ts(&st["completedAt"]).ok_or_else(|| anyhow::anyhow!("completedAt: {st:#}"))?;
    tack_testkit::eventually(
        Duration::from_secs(20),
        "run deleted by its ttlStrategy",
        || async { Ok(env.runs().get_opt("forever").await?.is_none().then_some(())) },
    )
    .await?;
    let after = completed.duration_until(jiff::Timestamp::now()).as_secs_f64();
    ensure!(after >= 2.9, "deleted {after} s after completion (ttl 3 s)");
    Ok(())
}

#[tokio::test]
#[ignore = "needs the local control plane"]
async fn measurements_are_not_repeated_after_a_controller_restart() -> Result<()> {
    let mut env = AnalysisEnv::new("an-restart").await?;
    let exporter = Exporter::start().await?;
    exporter.set_json(json!({"ok": true}));
    env.create_run(
        "steady",
        json!({"metrics": [{"name": "ok", "interval": "3s", "count": 4, "successCondition": "result == true",
            "provider": {"web": {"url": exporter.url("/json"), "jsonPath": "{$.ok}"}}}]}),
    )
    .await?;
    env.wait_measurements("steady", "ok", 2, Duration::from_secs(30))
        .await?;
    env.stop_controller().await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    env.start_controller();
    let st = env.wait_final("steady", Duration::from_secs(60)).await?;
    ensure!(st["phase"] == "Successful", "{st:#}");
    let ms = measurements(&st, "ok");
    ensure!(ms.len() == 4, "exactly count measurements: {ms:#?}");
    for pair in ms.windows(2) {
        let (Some(f), Some(s)) = (ts(&pair[0]["finishedAt"]), ts(&pair[1]["startedAt"])) else {
            anyhow::bail!("timestamps missing: {pair:?}");
        };
        let gap = f.duration_until(s).as_secs_f64();
        ensure!(
            gap >= 2.95,
            "a measurement {gap} s after the previous one (interval 3 s)"
        );
    }
    ensure!(
        exporter.json_requests().len() == 4,
        "the endpoint was called once per measurement"
    );
    Ok(())
}

fn job_metric(name: &str, simulate: &str) -> Value {
    json!({"name": name, "provider": {"job": {
        "metadata": {"labels": {"smoke": name}},
        "spec": {"backoffLimit": 0, "template": {
            "metadata": {"labels": {"tack.dev/simulate": simulate}},
            "spec": {"restartPolicy": "Never", "containers": [{"name": "check", "image": "busybox:1.36"}]}
        }}
    }}})
}

#[tokio::test]
#[ignore = "needs the local control plane"]
async fn job_provider_succeeds_and_fails_with_the_job() -> Result<()> {
    let env = AnalysisEnv::new("an-job").await?;
    let versions: Arc<Mutex<BTreeMap<String, BTreeSet<String>>>> = Arc::default();
    let seen = versions.clone();
    let watch = tokio::spawn(
        kube::runtime::watcher(env.runs(), kube::runtime::watcher::Config::default())
            .applied_objects()
            .for_each(move |o| {
                if let (Ok(o), Ok(mut v)) = (o, seen.lock()) {
                    v.entry(o.metadata.name.clone().unwrap_or_default())
                        .or_default()
                        .insert(o.metadata.resource_version.clone().unwrap_or_default());
                }
                std::future::ready(())
            }),
    );
    // KWOK's stock pod-complete stage completes pods owned by a Job; the `crash` stage fails them.
    env.create_run("job-ok", json!({"metrics": [job_metric("smoke", "succeed")]}))
        .await?;
    env.create_run("job-bad", json!({"metrics": [job_metric("smoke", "crash")]}))
        .await?;
    let ok = env.wait_final("job-ok", Duration::from_secs(90)).await?;
    ensure!(ok["phase"] == "Successful", "{ok:#}");
    let m = &measurements(&ok, "smoke")[0];
    let job_name = m["metadata"]["job-name"].as_str().unwrap_or_default().to_string();
    ensure!(m["metadata"]["job-namespace"] == env.name(), "{m:#}");
    let jobs: Api<Job> = Api::namespaced(env.client.clone(), env.name());
    let job = jobs.get(&job_name).await?;
    let owner = job
        .metadata
        .owner_references
        .unwrap_or_default()
        .into_iter()
        .next()
        .map(|o| (o.kind, o.name));
    ensure!(
        owner == Some(("AnalysisRun".into(), "job-ok".into())),
        "{owner:?}"
    );
    ensure!(
        job.metadata
            .labels
            .unwrap_or_default()
            .get("smoke")
            .map(String::as_str)
            == Some("smoke"),
        "labels from the metric's job metadata"
    );

    let bad = env.wait_final("job-bad", Duration::from_secs(90)).await?;
    ensure!(bad["phase"] == "Failed", "{bad:#}");
    let msg = bad["message"].as_str().unwrap_or_default();
    ensure!(
        msg.starts_with("Metric \"smoke\" assessed Failed due to failed (1) > failureLimit (0)")
            && msg.contains("job failed"),
        "message: {msg}"
    );
    let labelled = jobs
        .list(&ListParams::default().labels("analysisrun.argoproj.io/name=job-bad"))
        .await?;
    ensure!(labelled.items.len() == 1, "one Job per measurement");
    // While the Job runs the run is not rewritten on every look: creation, the Running measurement, the result.
    tokio::time::sleep(Duration::from_secs(2)).await;
    watch.abort();
    let n = versions
        .lock()
        .map_err(|_| anyhow::anyhow!("poisoned"))?
        .get("job-ok")
        .map_or(0, BTreeSet::len);
    ensure!((2..=4).contains(&n), "job-ok: {n} versions");
    Ok(())
}

fn proc_status_kib(field: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(field))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
        })
        .unwrap_or(0)
}

/// Scheduling of many concurrent runs: `TACK_BENCH_RUNS` runs (default 10) of one web metric measured every 2 s,
/// 10 times each, in one controller. Checks that every measurement starts within 1 s of its due time and prints
/// the lateness distribution and the process's memory (benchmark: `TACK_BENCH_RUNS=100`, see
/// docs/benchmarks.md).
#[tokio::test]
#[ignore = "needs the local control plane"]
async fn many_concurrent_runs_are_measured_on_time() -> Result<()> {
    let runs: usize = std::env::var("TACK_BENCH_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10);
    let env = AnalysisEnv::new("an-many").await?;
    let exporter = Exporter::start().await?;
    exporter.set_json(json!({"ok": true}));
    // Every version of every run, to count the controller's writes.
    let versions: Arc<Mutex<BTreeMap<String, BTreeSet<String>>>> = Arc::default();
    let seen = versions.clone();
    let watch = tokio::spawn(
        kube::runtime::watcher(env.runs(), kube::runtime::watcher::Config::default())
            .applied_objects()
            .for_each(move |o| {
                if let (Ok(o), Ok(mut v)) = (o, seen.lock()) {
                    v.entry(o.metadata.name.clone().unwrap_or_default())
                        .or_default()
                        .insert(o.metadata.resource_version.clone().unwrap_or_default());
                }
                std::future::ready(())
            }),
    );
    tokio::time::sleep(Duration::from_secs(2)).await;
    let idle_rss = proc_status_kib("VmRSS:");
    let started = Instant::now();
    for i in 0..runs {
        env.create_run(
            &format!("run-{i}"),
            json!({"metrics": [{"name": "ok", "interval": "2s", "count": 10, "successCondition": "result == true",
                "provider": {"web": {"url": exporter.url(&format!("/json?run={i}")), "jsonPath": "{$.ok}"}}}]}),
        )
        .await?;
    }
    let created = started.elapsed();
    let mut busy_rss = 0;
    let mut lateness = Vec::new();
    for i in 0..runs {
        let name = format!("run-{i}");
        let st = env.wait_final(&name, Duration::from_secs(120)).await?;
        busy_rss = busy_rss.max(proc_status_kib("VmRSS:"));
        ensure!(st["phase"] == "Successful", "{name}: {st:#}");
        let ms = measurements(&st, "ok");
        ensure!(ms.len() == 10, "{name}: {} measurements", ms.len());
        for pair in ms.windows(2) {
            let (Some(f), Some(s)) = (ts(&pair[0]["finishedAt"]), ts(&pair[1]["startedAt"])) else {
                anyhow::bail!("timestamps missing: {pair:?}");
            };
            lateness.push(f.duration_until(s).as_secs_f64() - 2.0);
        }
    }
    let total = started.elapsed();
    lateness.sort_by(f64::total_cmp);
    let pct = |p: f64| lateness[((lateness.len() - 1) as f64 * p) as usize] * 1000.0;
    println!(
        "bench: {runs} runs x 10 measurements (interval 2 s) in {total:.1?} (created in {created:.1?}); \
         lateness ms: min {:.0} p50 {:.0} p99 {:.0} max {:.0}; RSS idle {} MiB, busy {} MiB, peak {} MiB; \
         endpoint calls {}",
        pct(0.0),
        pct(0.5),
        pct(0.99),
        pct(1.0),
        idle_rss / 1024,
        busy_rss / 1024,
        proc_status_kib("VmHWM:") / 1024,
        exporter.json_requests().len()
    );
    ensure!(pct(0.0) >= -1.0, "a measurement started before its time");
    ensure!(
        pct(1.0) <= 1000.0,
        "a measurement started {:.0} ms late",
        pct(1.0)
    );
    let calls = exporter.json_queries();
    for i in 0..runs {
        let mine: Vec<_> = calls
            .iter()
            .filter(|(q, _)| q == &format!("run={i}"))
            .map(|(_, t)| t.duration_since(started).as_millis())
            .collect();
        ensure!(
            mine.len() == 10,
            "run-{i}: the endpoint was called at {mine:?} ms"
        );
    }
    // No write without a measurement: the creation plus at most one status write per measurement (and the first
    // one that records startedAt), and nothing once the runs are done.
    tokio::time::sleep(Duration::from_secs(3)).await;
    watch.abort();
    let v = versions.lock().map_err(|_| anyhow::anyhow!("poisoned"))?;
    for i in 0..runs {
        let n = v.get(&format!("run-{i}")).map_or(0, BTreeSet::len);
        ensure!(
            (11..=12).contains(&n),
            "run-{i}: {n} versions (creation + writes) for 10 measurements"
        );
    }
    Ok(())
}

#[tokio::test]
#[ignore = "needs the local control plane"]
async fn initial_delay_is_waited_from_the_start_of_the_run() -> Result<()> {
    let env = AnalysisEnv::new("an-delay").await?;
    let exporter = Exporter::start().await?;
    exporter.set_json(json!({"ok": true}));
    env.create_run(
        "delayed",
        json!({"metrics": [{"name": "ok", "initialDelay": "3s", "successCondition": "result == true",
            "provider": {"web": {"url": exporter.url("/json"), "jsonPath": "{$.ok}"}}}]}),
    )
    .await?;
    let running = tack_testkit::eventually(Duration::from_secs(10), "run started", || async {
        let st = env.status("delayed").await?;
        Ok((st["phase"] == "Running" && st["startedAt"].is_string()).then_some(st))
    })
    .await?;
    ensure!(
        measurements(&running, "ok").is_empty() && exporter.json_requests().is_empty(),
        "nothing measured during the initial delay: {running:#}"
    );
    let st = env.wait_final("delayed", Duration::from_secs(20)).await?;
    ensure!(st["phase"] == "Successful", "{st:#}");
    let (Some(started), Some(first)) = (ts(&st["startedAt"]), ts(&measurements(&st, "ok")[0]["startedAt"]))
    else {
        anyhow::bail!("timestamps missing: {st:#}");
    };
    let delay = started.duration_until(first).as_secs_f64();
    ensure!(
        (3.0..4.5).contains(&delay),
        "first measurement {delay} s after the run started (initialDelay 3s)"
    );
    Ok(())
}

//! Rollout controller benchmark on the local control plane (run by `scripts/bench-rollouts.sh`).
//!
//! Starts `$TACK_BIN controller --single-namespace` for a fresh namespace, creates `$ROLLOUTS` canary Rollouts
//! (1 replica, steps `setWeight: 50`, `pause: {}`), then:
//! 1. updates `$SEQUENTIAL` of them one after the other (an idle controller),
//! 2. updates all of them at once,
//!
//! and reports the reaction latency from "the canary ReplicaSet has its pod Ready" to "the Rollout is at the next
//! step" (both seen through watches by this process), p50 and p99 per phase, plus the controller's resident
//! memory and CPU time, measured from /proc.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use futures::StreamExt;
use k8s_openapi::api::apps::v1::ReplicaSet;
use kube::api::{Api, DynamicObject, Patch, PatchParams};
use kube::runtime::{WatchStreamExt, watcher};
use serde_json::{Value, json};

#[derive(Default)]
struct Seen {
    /// ReplicaSet name → first time it had a Ready pod.
    rs_ready: BTreeMap<String, Instant>,
    /// (Rollout, pod hash) → first time its status was at step 1 for that hash.
    at_step1: BTreeMap<(String, String), Instant>,
}

fn proc_stat(pid: u32) -> Result<(u64, f64)> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    let rss_kb = status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse::<u64>().ok())
        .unwrap_or(0);
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))?;
    let after = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or_default();
    let f: Vec<&str> = after.split_whitespace().collect();
    // Fields 14 and 15 (utime, stime) are at 11 and 12 after the command name.
    let ticks: u64 = f.get(11).and_then(|v| v.parse().ok()).unwrap_or(0)
        + f.get(12).and_then(|v| v.parse().ok()).unwrap_or(0);
    Ok((rss_kb / 1024, ticks as f64 / 100.0))
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let idx = ((p / 100.0) * (sorted.len() as f64 - 1.0)).round() as usize;
    sorted[idx.min(sorted.len() - 1)]
}

fn rollout(name: &str, image: &str) -> Value {
    json!({
        "apiVersion": "argoproj.io/v1alpha1", "kind": "Rollout",
        "metadata": {"name": name},
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": {"app": name}},
            "template": {"metadata": {"labels": {"app": name}},
                         "spec": {"containers": [{"name": "app", "image": image}]}},
            "strategy": {"canary": {"steps": [{"setWeight": 50}, {"pause": {}}]}}
        }
    })
}

async fn wait_all(
    api: &Api<DynamicObject>,
    names: &[String],
    what: &str,
    check: impl Fn(&Value) -> bool,
) -> Result<Duration> {
    let start = Instant::now();
    let deadline = start + Duration::from_secs(600);
    loop {
        let list = api.list(&Default::default()).await?;
        let ok = list
            .items
            .iter()
            .filter(|o| names.iter().any(|n| Some(n) == o.metadata.name.as_ref()))
            .filter(|o| check(&serde_json::to_value(o).unwrap_or(Value::Null)))
            .count();
        if ok == names.len() {
            return Ok(start.elapsed());
        }
        if Instant::now() > deadline {
            bail!("{what}: only {ok} of {} after 600 s", names.len());
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// The benchmark's script: set-up, each measured step in order, the table (wiring, long by nature: one
/// step after the other, as the numbers it prints are read).
#[tokio::main]
async fn main() -> Result<()> {
    let bin = std::env::var("TACK_BIN").context("set TACK_BIN to the tack binary")?;
    let n: usize = std::env::var("ROLLOUTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100);
    let sequential: usize = std::env::var("SEQUENTIAL")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(20)
        .min(n);
    let client = tack_testkit::client().await?;
    tack_delivery::install_crds(&client).await?;
    let ns = tack_testkit::TestNamespace::new(&client, "bench-rollouts").await?;
    let kubeconfig = tack_testkit::kubeconfig()?;
    let mut ctl = tokio::process::Command::new(&bin)
        .args([
            "controller",
            "--single-namespace",
            "-n",
            ns.name(),
            "--metrics-addr",
            "off",
        ])
        .env("KUBECONFIG", &kubeconfig)
        .env("TACK_LOG", "warn")
        .kill_on_drop(true)
        .spawn()
        .with_context(|| format!("starting {bin} controller"))?;
    let pid = ctl.id().context("controller pid")?;

    let seen: Arc<Mutex<Seen>> = Arc::default();
    let rs_api: Api<ReplicaSet> = Api::namespaced(client.clone(), ns.name());
    let ro_api = tack_delivery::rollout::rollouts(&client, ns.name());
    {
        let seen = seen.clone();
        let s = watcher(rs_api.clone(), watcher::Config::default()).applied_objects();
        tokio::spawn(async move {
            futures::pin_mut!(s);
            while let Some(Ok(rs)) = s.next().await {
                let ready = rs.status.as_ref().and_then(|s| s.ready_replicas).unwrap_or(0);
                if ready >= 1
                    && let (Some(name), Ok(mut g)) = (rs.metadata.name.clone(), seen.lock())
                {
                    g.rs_ready.entry(name).or_insert_with(Instant::now);
                }
            }
        });
    }
    {
        let seen = seen.clone();
        let s = watcher(ro_api.clone(), watcher::Config::default()).applied_objects();
        tokio::spawn(async move {
            futures::pin_mut!(s);
            while let Some(Ok(r)) = s.next().await {
                let v = serde_json::to_value(&r).unwrap_or(Value::Null);
                let st = &v["status"];
                if st["currentStepIndex"] == 1
                    && st["stableRS"] != st["currentPodHash"]
                    && let (Some(name), Some(hash), Ok(mut g)) = (
                        r.metadata.name.clone(),
                        st["currentPodHash"].as_str(),
                        seen.lock(),
                    )
                {
                    g.at_step1
                        .entry((name, hash.to_string()))
                        .or_insert_with(Instant::now);
                }
            }
        });
    }

    let names: Vec<String> = (0..n).map(|i| format!("bench-{i}")).collect();
    let pp = PatchParams::apply("tack-bench").force();
    let (_, cpu0) = proc_stat(pid)?;
    for name in &names {
        ro_api
            .patch(name, &pp, &Patch::Apply(rollout(name, "app:1")))
            .await?;
    }
    let healthy = wait_all(&ro_api, &names, "Healthy", |r| r["status"]["phase"] == "Healthy").await?;
    let (rss_healthy, cpu1) = proc_stat(pid)?;

    let latency = |seen: &Seen, which: &[String], image_hashes: &BTreeMap<String, String>| -> Vec<f64> {
        let mut out: Vec<f64> = which
            .iter()
            .filter_map(|name| {
                let hash = image_hashes.get(name)?;
                let ready = seen.rs_ready.get(&format!("{name}-{hash}"))?;
                let step = seen.at_step1.get(&(name.clone(), hash.clone()))?;
                Some(step.saturating_duration_since(*ready).as_secs_f64() * 1000.0)
            })
            .collect();
        out.sort_by(|a, b| a.total_cmp(b));
        out
    };
    let hashes = |image: &str| -> BTreeMap<String, String> {
        names
            .iter()
            .map(|n| {
                let t = rollout(n, image);
                (n.clone(), tack_rollout::pod_template_hash(&t["spec"]["template"]))
            })
            .collect()
    };

    // 1. One update at a time.
    let seq_names: Vec<String> = names[..sequential].to_vec();
    for name in &seq_names {
        ro_api
            .patch(name, &pp, &Patch::Apply(rollout(name, "app:2")))
            .await?;
        wait_all(&ro_api, std::slice::from_ref(name), "Paused", |r| {
            r["status"]["phase"] == "Paused" && r["status"]["currentStepIndex"] == 1
        })
        .await?;
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    let seq = {
        let g = seen.lock().map_err(|_| anyhow::anyhow!("lock"))?;
        latency(&g, &seq_names, &hashes("app:2"))
    };

    // 2. All at once.
    let (_, cpu2) = proc_stat(pid)?;
    let t = Instant::now();
    for name in &names {
        ro_api
            .patch(name, &pp, &Patch::Apply(rollout(name, "app:3")))
            .await?;
    }
    let paused = wait_all(&ro_api, &names, "Paused at step 1", |r| {
        r["status"]["phase"] == "Paused" && r["status"]["currentStepIndex"] == 1
    })
    .await?
    .max(t.elapsed());
    tokio::time::sleep(Duration::from_secs(1)).await;
    let (rss_busy, cpu3) = proc_stat(pid)?;
    let all = {
        let g = seen.lock().map_err(|_| anyhow::anyhow!("lock"))?;
        latency(&g, &names, &hashes("app:3"))
    };

    // Idle: 30 s with every Rollout paused.
    tokio::time::sleep(Duration::from_secs(30)).await;
    let (rss_idle, cpu4) = proc_stat(pid)?;
    let hwm = std::fs::read_to_string(format!("/proc/{pid}/status"))?
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse::<u64>().ok())
        .unwrap_or(0)
        / 1024;
    let _ = ctl.kill().await;

    println!("binary: {bin}");
    println!(
        "rollouts: {n}; all Healthy {:.1} s after creation (controller CPU {:.1} s)",
        healthy.as_secs_f64(),
        cpu1 - cpu0
    );
    println!(
        "| phase | samples | canary Ready → next step p50 | p99 | max |\n|---|---:|---:|---:|---:|\n| one update at a time | {} | {:.0} ms | {:.0} ms | {:.0} ms |\n| {n} updates at once | {} | {:.0} ms | {:.0} ms | {:.0} ms |",
        seq.len(),
        percentile(&seq, 50.0),
        percentile(&seq, 99.0),
        seq.last().copied().unwrap_or(f64::NAN),
        all.len(),
        percentile(&all, 50.0),
        percentile(&all, 99.0),
        all.last().copied().unwrap_or(f64::NAN),
    );
    println!(
        "{n} updates at once: all Paused at step 1 after {:.1} s, controller CPU {:.1} s",
        paused.as_secs_f64(),
        cpu3 - cpu2
    );
    println!(
        "controller RSS: {rss_healthy} MiB after creation, {rss_busy} MiB after the burst, {rss_idle} MiB idle, peak {hwm} MiB; idle CPU {:.2} s over 30 s",
        cpu4 - cpu3
    );
    Ok(())
}

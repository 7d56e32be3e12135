//! The analysis gate on the local control plane: an AnalysisTemplate with a `web` metric against a server on
//! 127.0.0.1, measured by the AnalysisRun controller. A failing analysis in qa blocks e2e with the reason; a
//! new release whose analysis succeeds is promoted, the evidence in the commit. Also checked here: the
//! Events and Prometheus metrics of promotions, and the ResourceQuota and LimitRange of a stage namespace.

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{Result, ensure};
use k8s_openapi::api::core::v1::{LimitRange, ResourceQuota};
use kube::api::{Api, DynamicObject, Patch, PatchParams};
use serde_json::json;
use tack_testkit::eventually;
use tack_testkit::gitserver::{GitRepo, git};

use crate::harness::{FRONTEND, Harness, PromotionOptions, frontend, stage_of};

/// A JSON endpoint on 127.0.0.1: answers every request with `body`, records the request lines.
struct Endpoint {
    port: u16,
    body: Arc<Mutex<String>>,
    seen: Arc<Mutex<Vec<String>>>,
}

impl Endpoint {
    fn start(body: &str) -> Endpoint {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = listener.local_addr().expect("addr").port();
        let body = Arc::new(Mutex::new(body.to_string()));
        let seen = Arc::new(Mutex::new(Vec::new()));
        let (b, s) = (body.clone(), seen.clone());
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { continue };
                let mut reader = BufReader::new(stream.try_clone().expect("clone"));
                let mut line = String::new();
                let _ = reader.read_line(&mut line);
                s.lock().expect("lock").push(line.trim().to_string());
                loop {
                    let mut h = String::new();
                    if reader.read_line(&mut h).unwrap_or(0) == 0 || h == "\r\n" {
                        break;
                    }
                }
                let body = b.lock().expect("lock").clone();
                let _ = write!(
                    stream,
                    "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                );
            }
        });
        Endpoint { port, body, seen }
    }

    fn set(&self, body: &str) {
        *self.body.lock().expect("lock") = body.to_string();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the local control plane"]
async fn analysis_gate_with_a_web_metric() -> Result<()> {
    let mut h = Harness::start(&["qa", "e2e"]).await?;
    h.analysis_runs().await?;
    let (qa, e2e) = (
        h.stage_namespace("qa").to_string(),
        h.stage_namespace("e2e").to_string(),
    );
    let endpoint = Endpoint::start(r#"{"ok": false}"#);
    let repo = GitRepo::create(&h.path("srv"), &h.path("work"), "config");
    let qa_kustomization = |tag: &str| {
        format!("resources:\n- ../../base\nnamespace: {qa}\nimages:\n- name: {FRONTEND}\n  newTag: {tag}\n")
    };
    repo.commit(
        &[
            ("base/frontend.yaml", &frontend()),
            ("base/kustomization.yaml", "resources:\n- frontend.yaml\n"),
            ("envs/qa/kustomization.yaml", &qa_kustomization("v6")),
            (
                "envs/e2e/kustomization.yaml",
                &format!("resources:\n- ../../base\nnamespace: {e2e}\n"),
            ),
        ],
        "config",
    );
    let url = format!("file://{}", repo.bare.display());

    let templates: Api<DynamicObject> = Api::namespaced_with(
        h.client.clone(),
        h.namespace(),
        &tack_delivery::rollout::analysis_template_resource(),
    );
    let template = json!({
        "apiVersion": "argoproj.io/v1alpha1", "kind": "AnalysisTemplate",
        "metadata": {"name": "smoke", "namespace": h.namespace()},
        "spec": {
            "args": [{"name": "url"}, {"name": "release"}],
            "metrics": [{"name": "ok", "successCondition": "result == true",
                         "provider": {"web": {"url": "{{args.url}}?release={{args.release}}", "jsonPath": "{$.ok}"}}}],
        },
    });
    templates
        .patch(
            "smoke",
            &PatchParams::apply("tack-test"),
            &Patch::Apply(&template),
        )
        .await?;

    h.promotion(PromotionOptions::default());
    for stage in ["qa", "e2e"] {
        h.app(stage, &url, "main", &format!("envs/{stage}"), json!({}))
            .await?;
    }
    let pipelines = h.pipelines();
    h.pipeline(
        "guestbook",
        json!({
            "images": [{"name": FRONTEND}],
            "stages": [
                {"name": "qa", "application": {"name": "guestbook-qa"},
                 "gates": {"soakTime": "1s", "analysis": {
                     "templates": [{"templateName": "smoke"}],
                     "args": [{"name": "url", "value": format!("http://127.0.0.1:{}/health", endpoint.port)}]}}},
                {"name": "e2e", "application": {"name": "guestbook-e2e"}, "autoPromote": true,
                 "isolation": {"resourceQuota": {"hard": {"pods": "20"}},
                               "limitRange": {"limits": [{"type": "Container", "default": {"cpu": "200m"}}]}}},
            ],
        }),
    )
    .await?;

    // 1. The analysis of v6 fails: e2e waits, the reason names the run.
    let before = git(&repo.bare, &["rev-parse", "main"]);
    let reason = eventually(Duration::from_secs(150), "blocked by the analysis", || async {
        let p = pipelines.get("guestbook").await?;
        Ok(stage_of(&p, "e2e")
            .and_then(|s| s.pending.clone())
            .map(|x| x.reason)
            .filter(|r| r.contains("Analysis failed in qa")))
    })
    .await?;
    ensure!(reason.contains("guestbook-qa-analysis-"), "{reason}");
    ensure!(reason.contains("Failed"), "{reason}");
    assert_eq!(git(&repo.bare, &["rev-parse", "main"]), before, "nothing written");
    let seen = endpoint.seen.lock().expect("lock").clone();
    ensure!(
        seen.iter().any(|l| l.starts_with("GET /health?release=v6 ")),
        "the run got the stage's arguments: {seen:?}"
    );

    // 2. The endpoint recovers and v7 enters qa: its analysis passes, e2e gets v7.
    endpoint.set(r#"{"ok": true}"#);
    repo.commit(
        &[("envs/qa/kustomization.yaml", &qa_kustomization("v7"))],
        "qa: v7",
    );
    let record = eventually(Duration::from_secs(150), "v7 promoted", || async {
        let p = pipelines.get("guestbook").await?;
        Ok(stage_of(&p, "e2e")
            .and_then(|s| s.history.last().cloned())
            .filter(|h| h.release == "v7"))
    })
    .await?;
    let message = git(&repo.bare, &["log", "-1", "--format=%B", &record.commit]);
    ensure!(
        message.contains("Gate: Analysis Passed: AnalysisRun guestbook-qa-analysis-"),
        "{message}"
    );

    // 3. Events, metrics and the stage namespace's quota and limits.
    let events: Api<k8s_openapi::api::events::v1::Event> = Api::namespaced(h.client.clone(), h.namespace());
    eventually(Duration::from_secs(30), "a Promoted event", || async {
        let list = events.list(&Default::default()).await?;
        Ok(list.items.into_iter().find(|e| {
            e.reason.as_deref() == Some("Promoted") && e.note.as_deref().is_some_and(|n| n.contains("v7"))
        }))
    })
    .await?;
    let mut registry = prometheus_client::registry::Registry::default();
    tack_promotion::metrics::PromotionMetrics::global().register(&mut registry);
    let mut text = String::new();
    prometheus_client::encoding::text::encode(&mut text, &registry)?;
    let series = format!(
        "tack_promotions_total{{pipeline=\"{}/guestbook\",stage=\"e2e\",outcome=\"promoted\"}} 1",
        h.namespace()
    );
    ensure!(text.contains(&series), "{text}");
    let quotas: Api<ResourceQuota> = Api::namespaced(h.client.clone(), &e2e);
    let quota = eventually(Duration::from_secs(30), "ResourceQuota", || async {
        Ok(quotas.get_opt("tack-stage").await?)
    })
    .await?;
    ensure!(
        quota
            .spec
            .and_then(|s| s.hard)
            .and_then(|h| h.get("pods").cloned())
            .map(|q| q.0)
            == Some("20".into())
    );
    let limits: Api<LimitRange> = Api::namespaced(h.client.clone(), &e2e);
    eventually(Duration::from_secs(30), "LimitRange", || async {
        Ok(limits.get_opt("tack-stage").await?)
    })
    .await?;

    h.stop().await;
    Ok(())
}

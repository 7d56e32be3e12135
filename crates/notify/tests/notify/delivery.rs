//! The notifier against local receivers: triggers, deduplication, retries, and Secret values kept out of logs.

use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{Value as Json, json};
use tack_notify::notifier::Notifier;
use tack_notify::secret::Secrets;
use tack_notify::trigger::Kind;
use tokio::task::JoinHandle;

use crate::receiver::Receiver;

const TOKEN: &str = "tok-8f3a91c2-secret";

fn app(sync: &str, rev: &str, health: &str, ready: (&str, &str)) -> Json {
    json!({
        "apiVersion": "gitops.tack.dev/v1alpha1", "kind": "GitOpsConfig",
        "metadata": {"name": "shop", "namespace": "team-a", "labels": {"team": "a"}},
        "spec": {"source": {"repoURL": "https://git.example/org/shop.git"}},
        "status": {
            "sync": {"status": sync, "revision": rev},
            "health": {"status": health},
            "conditions": [{"type": "Ready", "status": ready.0, "reason": ready.1}],
        },
    })
}

fn rollout(phase: &str, step: i64, abort: bool) -> Json {
    json!({"metadata": {"name": "web", "namespace": "team-a"},
           "status": {"phase": phase, "currentStepIndex": step, "abort": abort}})
}

fn config(hook: &Receiver, forge: &Receiver) -> String {
    format!(
        r#"
services:
  - name: hook
    type: webhook
    url: {hook}/hook
    headers: {{Authorization: "Bearer $token", Content-Type: application/json}}
    body: '{{"object": "{{{{.namespace}}}}/{{{{.name}}}}", "trigger": "{{{{.trigger}}}}", "revision": "{{{{.revision}}}}"}}'
  - {{name: slack, type: slack, url: "{hook}/slack"}}
  - {{name: github, type: github, api: "{forge}", token: $token}}
  - {{name: gitlab, type: gitlab, api: "{forge}", token: $token}}
  - {{name: gitea, type: gitea, api: "{forge}", token: $token}}
subscriptions:
  - triggers: [sync-succeeded, sync-failed, health-degraded]
    services: [hook, github, gitlab, gitea]
    selector: {{team: a}}
  - triggers: [rollout-paused, rollout-aborted, rollout-completed, analysis-failed]
    services: [hook, slack]
    namespaces: [team-a]
"#,
        hook = hook.url,
        forge = forge.url
    )
}

async fn settle(handles: Vec<JoinHandle<bool>>) -> Vec<bool> {
    let mut out = Vec::new();
    for h in handles {
        out.push(h.await.expect("delivery task"));
    }
    out
}

fn notifier(yaml: &str) -> Notifier {
    captured_logs();
    let mut n = Notifier::new(Duration::from_millis(20));
    n.load(
        "test/tack-notifications",
        Some(Some(yaml)),
        Secrets::from_pairs([("token", TOKEN)]),
    )
    .expect("valid configuration");
    n
}

#[tokio::test]
async fn each_trigger_fires_once_per_state_change() {
    let (hook, forge) = (Receiver::start(0).await, Receiver::start(0).await);
    let mut n = notifier(&config(&hook, &forge));
    let ok = ("True", "Synced");
    // First sight: states that already exist are not notified.
    assert!(
        n.observe(
            Kind::Application,
            app("Synced", "aaa1", "Degraded", ("False", "SyncFailed")),
            0
        )
        .is_empty()
    );
    assert!(
        n.observe(Kind::Application, app("Synced", "aaa1", "Healthy", ok), 1)
            .is_empty()
    );
    let steps = [
        (app("Synced", "bbb2", "Healthy", ok), 4),
        (app("Synced", "bbb2", "Healthy", ok), 0),
        (app("Synced", "bbb2", "Degraded", ok), 4),
        (app("Synced", "bbb2", "Degraded", ok), 0),
        (app("OutOfSync", "ccc3", "Healthy", ("False", "SyncFailed")), 4),
        (app("OutOfSync", "ccc3", "Healthy", ("False", "SyncFailed")), 0),
    ];
    for (object, want) in steps {
        let delivered = settle(n.observe(Kind::Application, object, 2)).await;
        assert_eq!(delivered, vec![true; want]);
    }
    let hooks = hook.requests();
    let bodies: Vec<Json> = hooks.iter().map(|r| r.json()).collect();
    assert_eq!(
        bodies,
        [
            json!({"object": "team-a/shop", "trigger": "sync-succeeded", "revision": "bbb2"}),
            json!({"object": "team-a/shop", "trigger": "health-degraded", "revision": "bbb2"}),
            json!({"object": "team-a/shop", "trigger": "sync-failed", "revision": "ccc3"}),
        ]
    );
    assert!(
        hooks
            .iter()
            .all(|r| r.path == "/hook" && r.header("authorization") == Some(&*format!("Bearer {TOKEN}")))
    );
    let mut statuses: Vec<(String, String, String)> = forge
        .requests()
        .iter()
        .map(|r| {
            (
                r.path.clone(),
                r.json()["state"].as_str().unwrap_or("").to_string(),
                r.method.clone(),
            )
        })
        .collect();
    statuses.sort();
    let want = |p: &str, s: &str| (p.to_string(), s.to_string(), "POST".to_string());
    assert_eq!(
        statuses,
        [
            want("/api/v1/repos/org/shop/statuses/bbb2", "failure"),
            want("/api/v1/repos/org/shop/statuses/bbb2", "success"),
            want("/api/v1/repos/org/shop/statuses/ccc3", "failure"),
            want("/api/v4/projects/org%2Fshop/statuses/bbb2", "failed"),
            want("/api/v4/projects/org%2Fshop/statuses/bbb2", "success"),
            want("/api/v4/projects/org%2Fshop/statuses/ccc3", "failed"),
            want("/repos/org/shop/statuses/bbb2", "failure"),
            want("/repos/org/shop/statuses/bbb2", "success"),
            want("/repos/org/shop/statuses/ccc3", "failure"),
        ]
    );

    // Rollouts and AnalysisRuns go to the webhook and Slack.
    let before = hook.requests().len();
    n.observe(Kind::Rollout, rollout("Healthy", 0, false), 0);
    let mut sent = 0;
    for (phase, step, abort, want) in [
        ("Progressing", 0, false, 0),
        ("Paused", 1, false, 2),
        ("Paused", 1, false, 0),
        ("Paused", 2, false, 2),
        ("Healthy", 3, false, 2),
        ("Progressing", 0, false, 0),
        ("Degraded", 0, true, 2),
        ("Degraded", 0, true, 0),
    ] {
        let delivered = settle(n.observe(Kind::Rollout, rollout(phase, step, abort), 3)).await;
        assert_eq!(delivered.len(), want, "{phase} {step}");
        sent += want;
    }
    let run =
        |phase: &str| json!({"metadata": {"name": "run", "namespace": "team-a"}, "status": {"phase": phase}});
    n.observe(Kind::AnalysisRun, run("Running"), 0);
    assert_eq!(
        settle(n.observe(Kind::AnalysisRun, run("Failed"), 1)).await.len(),
        2
    );
    assert!(n.observe(Kind::AnalysisRun, run("Failed"), 2).is_empty());
    sent += 2;
    let slack: Vec<String> = hook.requests()[before..]
        .iter()
        .filter(|r| r.path == "/slack")
        .map(|r| r.json()["text"].as_str().unwrap_or("").to_string())
        .collect();
    assert_eq!(hook.requests().len() - before, sent);
    assert_eq!(
        slack,
        [
            "Rollout team-a/web: rollout-paused",
            "Rollout team-a/web: rollout-paused",
            "Rollout team-a/web: rollout-completed",
            "Rollout team-a/web: rollout-aborted",
            "AnalysisRun team-a/run: analysis-failed",
        ]
    );
}

#[tokio::test]
async fn retried_after_a_500_not_after_a_4xx_and_out_of_sync_after_its_duration() {
    let hook = Receiver::start(1).await;
    let yaml = format!(
        "services: [{{name: s, type: slack, url: \"{}/s\"}}]\nsubscriptions:\n  - {{triggers: [sync-succeeded, out-of-sync], services: [s], outOfSyncAfter: 60s}}\n",
        hook.url
    );
    let mut n = notifier(&yaml);
    let ok = ("True", "Synced");
    n.observe(Kind::Application, app("Synced", "aaa1", "Healthy", ok), 0);
    assert_eq!(
        settle(n.observe(Kind::Application, app("Synced", "bbb2", "Healthy", ok), 1)).await,
        [true]
    );
    assert_eq!(hook.requests().len(), 2, "one 500, then delivered");
    assert_eq!(hook.requests()[0].body, hook.requests()[1].body);

    n.observe(Kind::Application, app("OutOfSync", "bbb2", "Healthy", ok), 100);
    assert!(n.tick(159).is_empty());
    assert_eq!(settle(n.tick(160)).await, [true]);
    assert!(n.tick(500).is_empty());
    let last = hook.requests().pop().expect("a request");
    assert_eq!(
        last.json()["text"],
        "GitOpsConfig team-a/shop: out-of-sync at bbb2"
    );
    assert_eq!(hook.requests().len(), 3);

    // A 4xx is not retried.
    hook.fail_next_with(1, "404 Not Found");
    assert_eq!(
        settle(n.observe(Kind::Application, app("Synced", "ccc3", "Healthy", ok), 600)).await,
        [false]
    );
    assert_eq!(hook.requests().len(), 4);
}

/// A `MakeWriter` appending to a shared buffer.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().expect("lock").extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// The logs of this test binary: one global subscriber (tracing caches each call site's interest globally, so
/// a subscriber scoped to one test thread misses events first seen on another).
fn captured_logs() -> Captured {
    static LOGS: std::sync::OnceLock<Captured> = std::sync::OnceLock::new();
    LOGS.get_or_init(|| {
        let captured = Captured::default();
        let writer = captured.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_writer(move || writer.clone())
            .with_max_level(tracing::Level::DEBUG)
            .with_ansi(false)
            .finish();
        tracing::subscriber::set_global_default(subscriber).expect("one global subscriber");
        captured
    })
    .clone()
}

impl Captured {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().expect("lock")).to_string()
    }
}

#[tokio::test]
async fn secret_values_never_reach_the_logs() {
    let captured = captured_logs();

    // The receiver always fails; its URL path is itself a Secret value, as Slack's are.
    let hook = Receiver::start(100).await;
    let secret_url = format!("{}/services/T0/B0/{TOKEN}", hook.url);
    let secrets = || Secrets::from_pairs([("token", TOKEN), ("url", secret_url.as_str())]);
    let yaml = "services:\n  - {name: s, type: slack, url: $url}\n  - {name: w, type: webhook, url: $url, headers: {X-Token: $token}, body: '{{.nope'}\nsubscriptions:\n  - {triggers: [sync-succeeded], services: [s, w]}\n";
    let mut n = Notifier::new(Duration::from_millis(10));
    n.load("ns/tack-notifications", Some(Some(yaml)), secrets())
        .expect("valid");
    let ok = ("True", "Synced");
    n.observe(Kind::Application, app("Synced", "aaa1", "Healthy", ok), 0);
    assert_eq!(
        settle(n.observe(Kind::Application, app("Synced", "bbb2", "Healthy", ok), 1)).await,
        [false]
    );
    assert_eq!(hook.requests().len(), 3, "3 attempts after 500s");

    // A connection refused is retried and reported without the URL.
    let closed = format!("http://127.0.0.1:{}/{TOKEN}", tack_testkit::charts::free_port());
    let yaml2 = "services: [{name: s, type: slack, url: $url}]\nsubscriptions: [{triggers: [sync-succeeded], services: [s]}]\n";
    n.load(
        "ns/tack-notifications",
        Some(Some(yaml2)),
        Secrets::from_pairs([("url", closed.as_str())]),
    )
    .expect("valid");
    assert_eq!(
        settle(n.observe(Kind::Application, app("Synced", "ccc3", "Healthy", ok), 2)).await,
        [false]
    );

    // An invalid configuration whose error would quote a value.
    let bad = "services: [{name: s, type: slack, url: \"ftp://$token\"}]\n";
    let e = n
        .load("ns/tack-notifications", Some(Some(bad)), secrets())
        .expect_err("invalid");
    assert!(e.contains("does not start with http"), "{e}");
    assert!(!e.contains(TOKEN));

    let logs = captured.text();
    assert!(logs.contains("sync-succeeded of GitOpsConfig team-a/shop to s failed: the receiver answered 500 after 3 attempt(s)"), "{logs}");
    assert!(logs.contains("to w not sent: service \"w\": template"), "{logs}");
    assert!(
        logs.contains("cannot connect to the receiver after 3 attempt(s)"),
        "{logs}"
    );
    assert!(logs.contains("does not start with http"), "{logs}");
    assert!(!logs.contains(TOKEN), "a Secret value reached the logs:\n{logs}");
}

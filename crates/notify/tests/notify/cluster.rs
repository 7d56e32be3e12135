//! The notifications controller on the local control plane: a GitOpsConfig's status change reaches a webhook
//! and a GitHub-style commit-status receiver exactly once; a Pipeline's promotion and its failed gate reach a
//! webhook once each.

use std::time::Duration;

use anyhow::{Context, Result, ensure};
use k8s_openapi::ByteString;
use k8s_openapi::api::core::v1::{ConfigMap, Secret};
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::CustomResourceExt;
use kube::api::{Api, ObjectMeta, Patch, PatchParams, PostParams};
use serde_json::json;
use tack_model::GitOpsConfig;
use tack_notify::NotifyConfig;
use tack_testkit::TestNamespace;

use crate::receiver::Receiver;

const TOKEN: &str = "gh-token-5d2e77-secret";

async fn install_crd(client: &kube::Client) -> Result<()> {
    let crds: Api<CustomResourceDefinition> = Api::all(client.clone());
    let crd = GitOpsConfig::crd();
    let name = crd.metadata.name.clone().context("CRD name")?;
    crds.patch(&name, &PatchParams::apply("tack").force(), &Patch::Apply(&crd))
        .await?;
    let pipelines = tack_model::Pipeline::crd();
    let name = pipelines.metadata.name.clone().context("CRD name")?;
    crds.patch(
        &name,
        &PatchParams::apply("tack").force(),
        &Patch::Apply(&pipelines),
    )
    .await?;
    let apps: Api<GitOpsConfig> = Api::all(client.clone());
    let all_pipelines: Api<tack_model::Pipeline> = Api::all(client.clone());
    tack_testkit::eventually(
        Duration::from_secs(60),
        "the GitOpsConfig and Pipeline CRDs to serve",
        || {
            let (apps, pipelines) = (apps.clone(), all_pipelines.clone());
            async move {
                let served = apps.list(&Default::default()).await.is_ok()
                    && pipelines.list(&Default::default()).await.is_ok();
                Ok(served.then_some(()))
            }
        },
    )
    .await
}

/// The status of Pipeline `web`: stage qa promoted to `shop:v1`, e2e to the releases listed, and qa's test
/// gate failed with `failure` when given.
async fn set_stages(
    pipelines: &Api<tack_model::Pipeline>,
    e2e: &[&str],
    failure: Option<&str>,
) -> Result<()> {
    let entry = |release: &str, n: usize| json!({"release": release, "time": format!("2026-12-05T10:0{n}:00Z"), "commit": format!("c{n}"), "by": "auto"});
    let e2e_history: Vec<_> = e2e.iter().enumerate().map(|(n, r)| entry(r, n + 1)).collect();
    let gates: Vec<_> = failure
        .map(|m| json!({"name": "testJob", "phase": "Failed", "message": m}))
        .into_iter()
        .collect();
    let status = json!({"status": {"stages": [
        {"name": "qa", "release": "shop:v1", "history": [entry("shop:v1", 0)], "gates": gates},
        {"name": "e2e", "release": e2e.last(), "history": e2e_history},
    ]}});
    pipelines
        .patch_status("web", &PatchParams::default(), &Patch::Merge(&status))
        .await?;
    Ok(())
}

async fn set_revision(apps: &Api<GitOpsConfig>, revision: &str) -> Result<()> {
    let status = json!({"status": {
        "sync": {"status": "Synced", "revision": revision},
        "health": {"status": "Healthy"},
        "conditions": [{"type": "Ready", "status": "True", "reason": "Synced", "message": ""}],
    }});
    apps.patch_status("shop", &PatchParams::default(), &Patch::Merge(&status))
        .await?;
    Ok(())
}

#[tokio::test]
#[ignore = "needs the local control plane"]
async fn a_status_change_sends_one_webhook_and_one_commit_status() -> Result<()> {
    let client = tack_testkit::client().await?;
    install_crd(&client).await?;
    let ns = TestNamespace::new(&client, "notify").await?;
    let (hook, forge) = (Receiver::start(0).await, Receiver::start(0).await);
    let promo = Receiver::start(0).await;
    let config = format!(
        "services:\n  - {{name: hook, type: webhook, url: \"{}/hook\", body: '{{{{.trigger}}}} {{{{.revision}}}}'}}\n  - {{name: gh, type: github, api: \"{}\", token: $token}}\n  - {{name: promo, type: webhook, url: \"{}/promo\", body: '{{{{.trigger}}}} {{{{.promotion.stage}}}} {{{{.promotion.release}}}} {{{{.blocked}}}}'}}\nsubscriptions:\n  - {{triggers: [sync-succeeded], services: [hook, gh]}}\n  - {{triggers: [promotion-done, promotion-blocked], services: [promo]}}\n",
        hook.url, forge.url, promo.url
    );
    let meta = |name: &str| ObjectMeta {
        name: Some(name.into()),
        namespace: Some(ns.name().into()),
        ..Default::default()
    };
    Api::<ConfigMap>::namespaced(client.clone(), ns.name())
        .create(
            &PostParams::default(),
            &ConfigMap {
                metadata: meta("tack-notifications"),
                data: Some([("config.yaml".to_string(), config)].into()),
                ..Default::default()
            },
        )
        .await?;
    Api::<Secret>::namespaced(client.clone(), ns.name())
        .create(
            &PostParams::default(),
            &Secret {
                metadata: meta("tack-notifications"),
                data: Some([("token".to_string(), ByteString(TOKEN.as_bytes().to_vec()))].into()),
                ..Default::default()
            },
        )
        .await?;
    let apps: Api<GitOpsConfig> = Api::namespaced(client.clone(), ns.name());
    let app: GitOpsConfig = serde_json::from_value(json!({
        "apiVersion": "gitops.tack.dev/v1alpha1", "kind": "GitOpsConfig",
        "metadata": {"name": "shop", "namespace": ns.name()},
        "spec": {"source": {"repoURL": "https://github.com/org/shop.git"}, "destination": {}},
    }))?;
    apps.create(&PostParams::default(), &app).await?;
    set_revision(&apps, "aaa1").await?;
    let pipelines: Api<tack_model::Pipeline> = Api::namespaced(client.clone(), ns.name());
    let pipeline: tack_model::Pipeline = serde_json::from_value(json!({
        "apiVersion": "gitops.tack.dev/v1alpha1", "kind": "Pipeline",
        "metadata": {"name": "web", "namespace": ns.name()},
        "spec": {"images": [{"name": "shop"}], "stages": [
            {"name": "qa", "application": {"name": "shop"}},
            {"name": "e2e", "application": {"name": "shop-e2e"}}
        ]}
    }))?;
    pipelines.create(&PostParams::default(), &pipeline).await?;
    set_stages(&pipelines, &[], None).await?;

    let cfg = NotifyConfig {
        watch_namespace: Some(ns.name().to_string()),
        backoff: Duration::from_millis(100),
        ..NotifyConfig::new(ns.name())
    };
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let controller = tokio::spawn(tack_notify::run(client.clone(), cfg, async {
        let _ = stop_rx.await;
    }));
    // The state present at start (aaa1) is not notified; the controller must have seen it first.
    tokio::time::sleep(Duration::from_secs(3)).await;
    ensure!(
        hook.requests().is_empty() && forge.requests().is_empty(),
        "a state present at start was notified"
    );
    set_revision(&apps, "bbb2").await?;
    tack_testkit::eventually(
        Duration::from_secs(30),
        "one webhook and one commit status",
        || {
            let n = (hook.requests().len(), forge.requests().len());
            async move { Ok((n == (1, 1)).then_some(())) }
        },
    )
    .await?;
    // A status write that changes nothing notified (same revision) sends nothing more.
    set_revision(&apps, "bbb2").await?;
    // The Pipeline: a promotion to e2e, then qa's test gate fails; each told once.
    set_stages(&pipelines, &["shop:v1"], None).await?;
    tack_testkit::eventually(Duration::from_secs(30), "the promotion's webhook", || {
        let n = promo.requests().len();
        async move { Ok((n == 1).then_some(())) }
    })
    .await?;
    set_stages(&pipelines, &["shop:v1"], Some("2 tests failed")).await?;
    tack_testkit::eventually(Duration::from_secs(30), "the blocked promotion's webhook", || {
        let n = promo.requests().len();
        async move { Ok((n == 2).then_some(())) }
    })
    .await?;
    set_stages(&pipelines, &["shop:v1"], Some("2 tests failed")).await?;
    tokio::time::sleep(Duration::from_secs(3)).await;
    let _ = stop_tx.send(());
    controller.await?;

    let (hooks, statuses) = (hook.requests(), forge.requests());
    ensure!(
        hooks.len() == 1 && statuses.len() == 1,
        "{} webhooks, {} statuses",
        hooks.len(),
        statuses.len()
    );
    ensure!(
        hooks[0].body == "sync-succeeded bbb2",
        "webhook body {:?}",
        hooks[0].body
    );
    ensure!(
        statuses[0].path == "/repos/org/shop/statuses/bbb2",
        "status path {}",
        statuses[0].path
    );
    ensure!(statuses[0].header("authorization") == Some(&*format!("Bearer {TOKEN}")));
    ensure!(statuses[0].json()["state"] == "success");
    let promotions: Vec<String> = promo.requests().into_iter().map(|r| r.body).collect();
    ensure!(
        promotions
            == [
                "promotion-done e2e shop:v1 ",
                "promotion-blocked e2e shop:v1 qa: testJob: 2 tests failed"
            ],
        "{promotions:?}"
    );
    Ok(())
}

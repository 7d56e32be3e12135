//! A release made of a Helm chart's version and a remote Kustomize base's reference (no image): qa runs chart
//! `web` 0.2.0 from a chart repository and the shared base `platform` at tag v2; e2e runs 0.1.0 and v1. The
//! Pipeline promotes both into e2e by one commit to e2e's kustomization (`helmCharts[].version` and the
//! base's `?ref=`), and e2e then runs them.

use std::time::Duration;

use anyhow::{Context, Result};
use k8s_openapi::api::apps::v1::Deployment;
use kube::api::Api;
use serde_json::json;
use tack_testkit::eventually;
use tack_testkit::gitserver::{GitRepo, git};

use crate::harness::{Harness, PromotionOptions, frontend, stage_of};

fn kustomization(ns: &str, platform: &str, reference: &str, charts: &str, version: &str) -> String {
    format!(
        "# {ns}: the shared platform base and the web chart\nresources:\n- {platform}//guestbook?ref={reference} # shared\nhelmCharts:\n- name: web\n  repo: {charts}\n  version: {version} # pinned\n  releaseName: web\nnamespace: {ns}\n"
    )
}

async fn deployment(client: &kube::Client, ns: &str, name: &str) -> Result<Option<Deployment>> {
    let deployments: Api<Deployment> = Api::namespaced(client.clone(), ns);
    Ok(deployments.get_opt(name).await?)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the local control plane"]
async fn a_chart_version_and_a_base_reference_are_promoted_together() -> Result<()> {
    let mut h = Harness::start(&["qa", "e2e"]).await?;
    let (qa_ns, e2e_ns) = (
        h.stage_namespace("qa").to_string(),
        h.stage_namespace("e2e").to_string(),
    );
    let charts = tack_testkit::charts::repository_server();
    let charts_url = charts.url("/repo");

    // The shared base: v1 runs one replica, v2 two.
    let root = h.path("srv");
    let work = h.path("work");
    let platform = GitRepo::create(&root, &work, "platform");
    platform.commit(
        &[
            ("guestbook/frontend.yaml", &frontend()),
            ("guestbook/kustomization.yaml", "resources:\n- frontend.yaml\n"),
        ],
        "platform v1",
    );
    platform.tag("v1", false);
    platform.commit(
        &[(
            "guestbook/frontend.yaml",
            &frontend().replace("replicas: 1", "replicas: 2"),
        )],
        "platform v2",
    );
    platform.tag("v2", true);
    let platform_url = format!("file://{}", platform.bare.display());

    let config = GitRepo::create(&root, &work, "config");
    config.commit(
        &[
            (
                "envs/qa/kustomization.yaml",
                &kustomization(&qa_ns, &platform_url, "v2", &charts_url, "0.2.0"),
            ),
            (
                "envs/e2e/kustomization.yaml",
                &kustomization(&e2e_ns, &platform_url, "v1", &charts_url, "0.1.0"),
            ),
        ],
        "config",
    );
    let before = git(&config.bare, &["rev-parse", "main"]);
    let url = format!("file://{}", config.bare.display());
    h.promotion(PromotionOptions::default());
    for stage in ["qa", "e2e"] {
        h.app(stage, &url, "main", &format!("envs/{stage}"), json!({}))
            .await?;
    }
    h.pipeline(
        "platform",
        json!({
            "charts": [{"name": "web"}],
            "bases": [{"repo": platform_url}],
            "stages": [
                {"name": "qa", "application": {"name": "guestbook-qa"}, "gates": {"soakTime": "1s"}},
                {"name": "e2e", "application": {"name": "guestbook-e2e"}, "autoPromote": true},
            ],
        }),
    )
    .await?;

    let pipelines = h.pipelines();
    let record = eventually(
        Duration::from_secs(240),
        "0.2.0 and v2 promoted to e2e",
        || async {
            let p = pipelines.get("platform").await?;
            Ok(stage_of(&p, "e2e").and_then(|s| s.history.last().cloned()))
        },
    )
    .await?;
    assert_eq!(record.release, "chart/web:0.2.0,base/platform:v2");
    assert_eq!(
        record.replaced.as_deref(),
        Some("chart/web:0.1.0,base/platform:v1")
    );
    assert_eq!(record.charts, vec!["web:0.2.0".to_string()]);
    assert_eq!(record.bases, vec![format!("{platform_url}?ref=v2")]);

    // One commit, changing e2e's kustomization only in the two values.
    assert_eq!(
        git(&config.bare, &["rev-list", "--count", &format!("{before}..main")]),
        "1"
    );
    assert_eq!(
        git(&config.bare, &["show", "main:envs/e2e/kustomization.yaml"]),
        kustomization(&e2e_ns, &platform_url, "v2", &charts_url, "0.2.0").trim_end()
    );
    assert_eq!(
        git(&config.bare, &["diff", "--name-only", &before, "main"]),
        "envs/e2e/kustomization.yaml"
    );
    let message = git(&config.bare, &["log", "-1", "--format=%B", "main"]);
    assert!(
        message.starts_with("promote chart/web:0.2.0,base/platform:v2 to e2e from qa\n"),
        "{message}"
    );
    assert!(message.contains("\nChart: web:0.2.0\n"), "{message}");
    assert!(
        message.contains(&format!("\nBase: {platform_url}?ref=v2\n")),
        "{message}"
    );

    // e2e runs the chart's 0.2.0 and the base's v2.
    eventually(
        Duration::from_secs(120),
        "e2e runs web 0.2.0 and platform v2",
        || async {
            let web = deployment(&h.client, &e2e_ns, "web").await?;
            let chart = web
                .and_then(|d| d.metadata.labels)
                .and_then(|l| l.get("helm.sh/chart").cloned());
            let replicas = deployment(&h.client, &e2e_ns, "frontend")
                .await?
                .and_then(|d| d.spec)
                .and_then(|s| s.replicas);
            Ok((chart.as_deref() == Some("web-0.2.0") && replicas == Some(2)).then_some(()))
        },
    )
    .await
    .context("e2e after the promotion")?;
    // The status follows at the Pipeline controller's next reconcile: the parts of the release e2e runs.
    let e2e = eventually(
        Duration::from_secs(60),
        "e2e's status on the new release",
        || async {
            let p = pipelines.get("platform").await?;
            Ok(stage_of(&p, "e2e")
                .filter(|s| s.release.as_deref() == Some("chart/web:0.2.0,base/platform:v2"))
                .cloned())
        },
    )
    .await?;
    assert_eq!(e2e.charts, vec!["web:0.2.0".to_string()]);
    assert_eq!(e2e.bases, vec![format!("{platform_url}?ref=v2")]);
    assert!(e2e.images.is_empty(), "{:?}", e2e.images);
    h.stop().await;
    Ok(())
}

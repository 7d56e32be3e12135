//! A release discovered in a registry (the CNCF Distribution registry, with authentication): the first
//! stage's image has `discover: {semver: "<1.0.0"}`; the registry holds 0.1.0, 0.2.0 and 1.0.0. The Pipeline
//! controller finds 0.2.0, commits it into qa (by "discovered web 0.2.0", with the registry's credentials from
//! a Secret), qa runs it, its gates pass and it is promoted into e2e. A constraint nothing satisfies is
//! reported in the Ready condition, and nothing is written. Also a chart's new version found in a chart
//! repository's index (Kustomize `helmCharts`), the newest stable one in `^1`.

use std::collections::BTreeMap;
use std::time::Duration;

use anyhow::Result;
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::Secret;
use kube::api::{Api, Patch, PatchParams, PostParams};
use serde_json::json;
use tack_testkit::charts::Registry;
use tack_testkit::eventually;
use tack_testkit::gitserver::{GitRepo, git};

use crate::harness::{FRONTEND, Harness, PromotionOptions, frontend, not_ready, stage_of};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the local control plane"]
async fn a_newer_tag_in_the_registry_enters_the_first_stage_and_moves_on() -> Result<()> {
    let registry = Registry::start(true);
    for chart in ["web-0.1.0.tgz", "web-0.2.0.tgz", "web-1.0.0.tgz"] {
        registry.push(chart, Some(("tack", "chart-secret")));
    }
    let image = format!("{}/charts/web", registry.addr);

    let mut h = Harness::start(&["qa", "e2e"]).await?;
    let secrets: Api<Secret> = Api::namespaced(h.client.clone(), h.namespace());
    let mut secret = Secret::default();
    secret.metadata.name = Some("registry".into());
    secret.string_data = Some(BTreeMap::from([
        ("username".to_string(), "tack".to_string()),
        ("password".to_string(), "chart-secret".to_string()),
    ]));
    secrets.create(&PostParams::default(), &secret).await?;

    let repo = GitRepo::create(&h.path("srv"), &h.path("work"), "config");
    let mut files = vec![
        (
            "base/frontend.yaml".to_string(),
            frontend().replace(&format!("{FRONTEND}:v5"), &format!("{image}:0.1.0")),
        ),
        (
            "base/kustomization.yaml".to_string(),
            "resources:\n- frontend.yaml\n".to_string(),
        ),
    ];
    for stage in ["qa", "e2e"] {
        files.push((
            format!("envs/{stage}/kustomization.yaml"),
            format!(
                "resources:\n- ../../base\nnamespace: {}\n",
                h.stage_namespace(stage)
            ),
        ));
    }
    let refs: Vec<(&str, &str)> = files.iter().map(|(a, b)| (a.as_str(), b.as_str())).collect();
    repo.commit(&refs, "config");
    let before = git(&repo.bare, &["rev-parse", "main"]);
    let url = format!("file://{}", repo.bare.display());
    h.promotion(PromotionOptions::default());
    for stage in ["qa", "e2e"] {
        h.app(stage, &url, "main", &format!("envs/{stage}"), json!({}))
            .await?;
    }
    let spec = |semver: &str| {
        json!({
            "images": [{"name": image, "discover": {"semver": semver, "interval": "10s",
                                                   "credentialsSecret": {"name": "registry"}}}],
            "stages": [
                {"name": "qa", "application": {"name": "guestbook-qa"}, "gates": {"soakTime": "1s"}},
                {"name": "e2e", "application": {"name": "guestbook-e2e"}, "autoPromote": true},
            ],
        })
    };
    h.pipeline("web", spec("<1.0.0")).await?;

    let pipelines = h.pipelines();
    let e2e_record = eventually(
        Duration::from_secs(240),
        "0.2.0 discovered and promoted to e2e",
        || async {
            let p = pipelines.get("web").await?;
            Ok(stage_of(&p, "e2e")
                .and_then(|s| s.history.last().cloned())
                .filter(|r| r.release == "0.2.0"))
        },
    )
    .await?;
    assert_eq!(e2e_record.from.as_deref(), Some("qa"));
    let p = pipelines.get("web").await?;
    let qa_record = stage_of(&p, "qa")
        .and_then(|s| s.history.last().cloned())
        .expect("qa's history");
    assert_eq!(qa_record.release, "0.2.0");
    assert_eq!(qa_record.by, "discovered web 0.2.0");
    assert_eq!(qa_record.from, None);
    assert_eq!(qa_record.replaced.as_deref(), Some("0.1.0"));

    // Two commits: qa's (the discovery), then e2e's (the promotion); 1.0.0 is outside the constraint.
    assert_eq!(
        git(&repo.bare, &["rev-list", "--count", &format!("{before}..main")]),
        "2"
    );
    let message = git(&repo.bare, &["log", "-1", "--format=%B", &qa_record.commit]);
    assert!(message.starts_with("promote 0.2.0 to qa\n"), "{message}");
    assert!(
        message.contains("Promoted-By: discovered web 0.2.0\n"),
        "{message}"
    );
    assert_eq!(
        git(
            &repo.bare,
            &[
                "show",
                &format!("{}:envs/qa/kustomization.yaml", qa_record.commit)
            ]
        ),
        format!(
            "resources:\n- ../../base\nnamespace: {}\nimages:\n- name: {image}\n  newTag: 0.2.0",
            h.stage_namespace("qa")
        )
    );
    let deployments: Api<Deployment> = Api::namespaced(h.client.clone(), h.stage_namespace("e2e"));
    eventually(Duration::from_secs(120), "e2e runs 0.2.0", || async {
        let d = deployments.get_opt("frontend").await?;
        let running = d
            .and_then(|d| d.spec)
            .and_then(|s| s.template.spec)
            .and_then(|s| s.containers.first().and_then(|c| c.image.clone()));
        Ok((running == Some(format!("{image}:0.2.0"))).then_some(()))
    })
    .await?;

    // A constraint nothing satisfies: Ready False naming the image and the versions there are; no commit.
    let head = git(&repo.bare, &["rev-parse", "main"]);
    pipelines
        .patch(
            "web",
            &PatchParams::apply("tack-test"),
            &Patch::Apply(&json!({
                "apiVersion": "gitops.tack.dev/v1alpha1", "kind": "Pipeline",
                "metadata": {"name": "web", "namespace": h.namespace()}, "spec": spec("^5"),
            })),
        )
        .await?;
    let (reason, message) = eventually(Duration::from_secs(60), "Ready False", || async {
        let p = pipelines.get("web").await?;
        Ok(not_ready(&p).filter(|(_, m)| m.contains("discovering new versions of")))
    })
    .await?;
    assert_eq!(reason, "StageError");
    assert!(
        message.contains(&format!("discovering new versions of image {image}: oci://{image}: no version satisfies \"^5\" (nearest: 1.0.0, 0.2.0, 0.1.0)")),
        "{message}"
    );
    assert_eq!(git(&repo.bare, &["rev-parse", "main"]), head);
    h.stop().await;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the local control plane"]
async fn a_newer_chart_version_in_the_repository_enters_the_first_stage_and_moves_on() -> Result<()> {
    let charts = tack_testkit::charts::repository_server();
    let repo_url = charts.url("/repo");
    let mut h = Harness::start(&["qa", "e2e"]).await?;
    let namespaces = [
        ("qa", h.stage_namespace("qa").to_string()),
        ("e2e", h.stage_namespace("e2e").to_string()),
    ];
    let kustomization = |stage: &str, version: &str| {
        let ns = namespaces
            .iter()
            .find(|(s, _)| *s == stage)
            .map(|(_, n)| n.as_str())
            .unwrap_or_default();
        format!(
            "helmCharts:\n- name: web\n  repo: {repo_url}\n  version: {version}\n  releaseName: web\nnamespace: {ns}\n"
        )
    };
    let repo = GitRepo::create(&h.path("srv"), &h.path("work"), "config");
    let (qa, e2e) = (kustomization("qa", "1.0.0"), kustomization("e2e", "1.0.0"));
    repo.commit(
        &[
            ("envs/qa/kustomization.yaml", &qa),
            ("envs/e2e/kustomization.yaml", &e2e),
        ],
        "config",
    );
    let url = format!("file://{}", repo.bare.display());
    h.promotion(PromotionOptions::default());
    for stage in ["qa", "e2e"] {
        h.app(stage, &url, "main", &format!("envs/{stage}"), json!({}))
            .await?;
    }
    h.pipeline(
        "web",
        json!({
            "charts": [{"name": "web", "discover": {"repoURL": repo_url, "semver": "^1", "interval": "10s"}}],
            "stages": [
                {"name": "qa", "application": {"name": "guestbook-qa"}, "gates": {"soakTime": "1s"}},
                {"name": "e2e", "application": {"name": "guestbook-e2e"}, "autoPromote": true},
            ],
        }),
    )
    .await?;
    let pipelines = h.pipelines();
    eventually(
        Duration::from_secs(240),
        "1.1.0 discovered and promoted to e2e",
        || async {
            let p = pipelines.get("web").await?;
            Ok(stage_of(&p, "e2e")
                .and_then(|s| s.history.last().cloned())
                .filter(|r| r.release == "1.1.0"))
        },
    )
    .await?;
    let p = pipelines.get("web").await?;
    let qa_record = stage_of(&p, "qa")
        .and_then(|s| s.history.last().cloned())
        .expect("qa's history");
    assert_eq!(qa_record.by, "discovered chart/web 1.1.0");
    assert_eq!(qa_record.charts, vec!["web:1.1.0".to_string()]);
    assert_eq!(
        git(
            &repo.bare,
            &[
                "show",
                &format!("{}:envs/qa/kustomization.yaml", qa_record.commit)
            ]
        ),
        kustomization("qa", "1.1.0").trim_end()
    );
    let deployments: Api<Deployment> = Api::namespaced(h.client.clone(), &namespaces[1].1);
    eventually(Duration::from_secs(120), "e2e runs web 1.1.0", || async {
        let chart = deployments
            .get_opt("web")
            .await?
            .and_then(|d| d.metadata.labels)
            .and_then(|l| l.get("helm.sh/chart").cloned());
        Ok((chart.as_deref() == Some("web-1.1.0")).then_some(()))
    })
    .await?;
    h.stop().await;
    Ok(())
}

//! Racing promotions through the controller: two pipelines whose stages live in folders of one branch promote
//! at the same moment (two Pipeline controllers, each with its own Git cache, start once both pipelines are
//! verified, with no soak time, and each reconciles both concurrently). Both commits land, one on top of the
//! other, each changing only its own stage, and neither is written twice.

use std::time::Duration;

use anyhow::{Result, ensure};
use kube::api::Api;
use serde_json::json;
use tack_model::GitOpsConfig;
use tack_testkit::eventually;
use tack_testkit::gitserver::{GitRepo, git};

use crate::harness::{FRONTEND, Harness, PromotionOptions, frontend, stage_of};

const STAGES: [&str; 4] = ["qa-a", "e2e-a", "qa-b", "e2e-b"];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the local control plane"]
async fn two_pipelines_promoting_into_one_branch_at_once_both_land() -> Result<()> {
    let mut h = Harness::start(&STAGES).await?;
    let repo = GitRepo::create(&h.path("srv"), &h.path("work"), "config");
    let mut files = vec![
        ("base/frontend.yaml".to_string(), frontend()),
        (
            "base/kustomization.yaml".to_string(),
            "resources:\n- frontend.yaml\n".to_string(),
        ),
    ];
    for stage in STAGES {
        let ns = h.stage_namespace(stage);
        let mut k = format!("resources:\n- ../../base\nnamespace: {ns}\n");
        if stage.starts_with("qa") {
            k.push_str(&format!("images:\n- name: {FRONTEND}\n  newTag: v6\n"));
        }
        files.push((format!("envs/{stage}/kustomization.yaml"), k));
    }
    let refs: Vec<(&str, &str)> = files.iter().map(|(a, b)| (a.as_str(), b.as_str())).collect();
    repo.commit(&refs, "two pipelines, one branch");
    let url = format!("file://{}", repo.bare.display());
    let base = git(&repo.bare, &["rev-parse", "main"]);
    for stage in STAGES {
        h.app(stage, &url, "main", &format!("envs/{stage}"), json!({}))
            .await?;
    }
    for p in ["a", "b"] {
        h.pipeline(
            p,
            json!({
                "images": [{"name": FRONTEND}],
                "stages": [
                    {"name": format!("qa-{p}"), "application": {"name": format!("guestbook-qa-{p}")}},
                    {"name": format!("e2e-{p}"), "application": {"name": format!("guestbook-e2e-{p}")},
                     "autoPromote": true},
                ],
            }),
        )
        .await?;
    }
    // Both sources Synced and Healthy before the controller starts: its first reconciles of the two
    // pipelines (run concurrently) both promote.
    let apps: Api<GitOpsConfig> = Api::namespaced(h.client.clone(), h.namespace());
    for p in ["a", "b"] {
        let name = format!("guestbook-qa-{p}");
        eventually(Duration::from_secs(120), "qa synced and healthy", || async {
            let status = apps.get(&name).await?.status.unwrap_or_default();
            let synced = status.sync.is_some_and(|s| format!("{:?}", s.status) == "Synced");
            let healthy = status.health.is_some_and(|s| s.status == "Healthy");
            Ok((synced && healthy).then_some(()))
        })
        .await?;
    }
    // Two controllers with caches of their own (as two replicas during a hand-over): each reconciles both
    // pipelines, so each promotion is attempted twice as well, from two mirrors.
    for cache in ["promotion-cache-1", "promotion-cache-2"] {
        h.promotion(PromotionOptions {
            cache: Some(cache),
            ..Default::default()
        });
    }

    let pipelines = h.pipelines();
    let mut commits = Vec::new();
    for p in ["a", "b"] {
        let stage = format!("e2e-{p}");
        let record = eventually(Duration::from_secs(120), "v6 promoted", || async {
            let pipeline = pipelines.get(p).await?;
            Ok(stage_of(&pipeline, &stage)
                .and_then(|s| s.history.last().cloned())
                .filter(|r| r.release == "v6"))
        })
        .await?;
        let changed = git(
            &repo.bare,
            &[
                "diff",
                "--name-only",
                &format!("{}^", record.commit),
                &record.commit,
            ],
        );
        ensure!(changed == format!("envs/{stage}/kustomization.yaml"), "{changed}");
        commits.push(record.commit);
    }
    // Exactly the two promotion commits, one on top of the other, and both edits at the head.
    let log = git(&repo.bare, &["rev-list", &format!("{base}..main")]);
    let mut landed: Vec<&str> = log.lines().collect();
    landed.sort();
    commits.sort();
    ensure!(landed == commits, "{log} vs {commits:?}");
    for stage in ["e2e-a", "e2e-b"] {
        let k = git(
            &repo.bare,
            &["show", &format!("main:envs/{stage}/kustomization.yaml")],
        );
        ensure!(k.contains("newTag: v6"), "{stage}: {k}");
    }
    tokio::time::sleep(Duration::from_secs(3)).await;
    ensure!(
        git(&repo.bare, &["rev-list", "--count", &format!("{base}..main")]) == "2",
        "no further commit"
    );
    h.stop().await;
    Ok(())
}

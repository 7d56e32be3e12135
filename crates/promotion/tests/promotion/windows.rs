//! Promotion windows on the local control plane: a deny window open now holds an automatic promotion, the
//! window named in the stage's status and nothing written; a person's `tack env promote` is not held. Also:
//! the `tack_promotions_waiting` series of a deleted pipeline goes, and a promotion reaches a stage whose
//! application looks at Git only every 10 minutes at once (the promotion asks it to refresh).

use std::time::Duration;

use anyhow::{Result, ensure};
use k8s_openapi::api::apps::v1::Deployment;
use kube::Api;
use kube::api::{DeleteParams, Patch, PatchParams};
use serde_json::json;
use tack_model::GitOpsConfig;
use tack_testkit::eventually;
use tack_testkit::gitserver::{GitRepo, git};

use crate::harness::{FRONTEND, Harness, PromotionOptions, frontend, metrics_text, stage_of};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the local control plane"]
async fn a_deny_window_holds_automatic_promotions_not_a_persons() -> Result<()> {
    let mut h = Harness::start(&["qa", "e2e"]).await?;
    let (qa, e2e) = (
        h.stage_namespace("qa").to_string(),
        h.stage_namespace("e2e").to_string(),
    );
    let repo = GitRepo::create(&h.path("srv"), &h.path("work"), "config");
    repo.commit(
        &[
            ("base/frontend.yaml", &frontend()),
            ("base/kustomization.yaml", "resources:\n- frontend.yaml\n"),
            (
                "envs/qa/kustomization.yaml",
                &format!(
                    "resources:\n- ../../base\nnamespace: {qa}\nimages:\n- name: {FRONTEND}\n  newTag: v6\n"
                ),
            ),
            (
                "envs/e2e/kustomization.yaml",
                &format!("resources:\n- ../../base\nnamespace: {e2e}\n"),
            ),
        ],
        "guestbook config",
    );
    let url = format!("file://{}", repo.bare.display());
    h.promotion(PromotionOptions::default());
    h.app("qa", &url, "main", "envs/qa", json!({})).await?;
    // e2e looks at Git every 10 minutes only: the promotion itself asks it to refresh.
    let slow = json!({"syncPolicy": {"interval": "10m", "automated": {"prune": true}}});
    h.app("e2e", &url, "main", "envs/e2e", slow).await?;
    h.pipeline(
        "guestbook",
        json!({
            "images": [{"name": FRONTEND}],
            "stages": [
                {"name": "qa", "application": {"name": "guestbook-qa"}, "gates": {"soakTime": "1s"}},
                {"name": "e2e", "application": {"name": "guestbook-e2e"}, "autoPromote": true,
                 "promotionWindows": [{"kind": "deny", "schedule": "* * * * *", "duration": "1h"}]},
            ],
        }),
    )
    .await?;
    let pipelines = h.pipelines();
    let before = git(&repo.bare, &["rev-parse", "main"]);

    // 1. v6 is verified in qa, and held out of e2e by the window, named with its end.
    let reason = eventually(Duration::from_secs(120), "held by the deny window", || async {
        let p = pipelines.get("guestbook").await?;
        Ok(stage_of(&p, "e2e")
            .and_then(|s| s.pending.clone())
            .filter(|x| x.release == "v6")
            .map(|x| x.reason)
            .filter(|r| !r.starts_with("blocked")))
    })
    .await?;
    ensure!(
        reason.starts_with("held by the promotion window deny * * * * * for 1h (UTC) until "),
        "{reason}"
    );
    let p = pipelines.get("guestbook").await?;
    ensure!(stage_of(&p, "qa").is_some_and(|s| s.verified), "qa verified");
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(git(&repo.bare, &["rev-parse", "main"]), before, "nothing written");
    let series = format!(
        "tack_promotions_waiting{{pipeline=\"{}/guestbook\"}}",
        h.namespace()
    );
    let text = metrics_text()?;
    ensure!(text.contains(&format!("{series} 1")), "{text}");

    // 2. `tack env promote guestbook --to e2e` (the annotation it writes): promoted inside the window.
    let request = json!({"metadata": {"annotations": {"promote.gitops.tack.dev/e2e": "v6"}}});
    pipelines
        .patch("guestbook", &PatchParams::default(), &Patch::Merge(&request))
        .await?;
    let record = eventually(Duration::from_secs(60), "v6 promoted by request", || async {
        let p = pipelines.get("guestbook").await?;
        Ok(stage_of(&p, "e2e")
            .and_then(|s| s.history.last().cloned())
            .filter(|r| r.release == "v6"))
    })
    .await?;
    ensure!(record.by == "tack env promote", "{record:?}");
    assert_eq!(git(&repo.bare, &["rev-parse", "main"]), record.commit);
    assert_eq!(git(&repo.bare, &["rev-parse", "main^"]), before);
    // The promotion asked e2e to refresh, so v6 runs there long before e2e's 10-minute interval.
    let apps: Api<GitOpsConfig> = Api::namespaced(h.client.clone(), h.namespace());
    let asked = apps
        .get("guestbook-e2e")
        .await?
        .metadata
        .annotations
        .and_then(|a| a.get(tack_gitops::REFRESH_ANNOTATION).cloned());
    ensure!(
        asked.as_deref() == Some(format!("promoted {}", record.commit).as_str()),
        "refresh annotation {asked:?}"
    );
    let deployments: Api<Deployment> = Api::namespaced(h.client.clone(), &e2e);
    eventually(Duration::from_secs(30), "v6 running in e2e", || async {
        let d = deployments.get("frontend").await?;
        let image = d
            .spec
            .and_then(|s| s.template.spec)
            .and_then(|s| s.containers.first().and_then(|c| c.image.clone()));
        Ok((image == Some(format!("{FRONTEND}:v6"))).then_some(()))
    })
    .await?;

    // 3. The pipeline deleted: its waiting series goes.
    ensure!(
        metrics_text()?.contains(&format!("{series} 0")),
        "nothing waits now"
    );
    pipelines.delete("guestbook", &DeleteParams::default()).await?;
    eventually(Duration::from_secs(30), "the series dropped", || async {
        Ok((!metrics_text()?.contains(&series)).then_some(()))
    })
    .await?;
    h.stop().await;
    Ok(())
}

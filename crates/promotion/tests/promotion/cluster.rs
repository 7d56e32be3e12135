//! The guestbook in qa → e2e on the local control plane, with a real Git repository: a failing test Job in
//! qa blocks the promotion with the reason in the status; a new release whose test passes is promoted to e2e
//! by a commit whose content and message are checked, and e2e then runs it.

use std::time::Duration;

use anyhow::{Context, Result};
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::networking::v1::NetworkPolicy;
use kube::api::{Api, Patch, PatchParams};
use serde_json::json;
use tack_testkit::eventually;
use tack_testkit::gitserver::{GitRepo, git};

use crate::harness::{FRONTEND, Harness, PromotionOptions, frontend, not_ready, stage_of, test_job};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the local control plane"]
async fn guestbook_qa_to_e2e_gated_by_a_test_job() -> Result<()> {
    let mut h = Harness::start(&["qa", "e2e"]).await?;
    let qa_ns = h.stage_namespace("qa").to_string();
    let e2e_ns = h.stage_namespace("e2e").to_string();
    let repo = GitRepo::create(&h.path("srv"), &h.path("work"), "config");
    let qa_kustomization = |tag: &str| {
        format!(
            "resources:\n- ../../base\nnamespace: {qa_ns}\nimages:\n- name: {FRONTEND}\n  newTag: {tag}\n"
        )
    };
    let e2e_kustomization = format!("# e2e\nresources:\n- ../../base\nnamespace: {e2e_ns}\n");
    repo.commit(
        &[
            ("base/frontend.yaml", &frontend()),
            ("base/kustomization.yaml", "resources:\n- frontend.yaml\n"),
            ("envs/qa/kustomization.yaml", &qa_kustomization("v6")),
            ("envs/e2e/kustomization.yaml", &e2e_kustomization),
        ],
        "guestbook config",
    );
    let url = format!("file://{}", repo.bare.display());
    h.promotion(PromotionOptions::default());
    for stage in ["qa", "e2e"] {
        h.app(stage, &url, "main", &format!("envs/{stage}"), json!({}))
            .await?;
    }
    let pipelines = h.pipelines();
    let spec = |crash: bool| {
        json!({
            "images": [{"name": FRONTEND}],
            "stages": [
                {"name": "qa", "application": {"name": "guestbook-qa"},
                 "gates": {"soakTime": "1s", "testJob": test_job(crash)}},
                {"name": "e2e", "application": {"name": "guestbook-e2e"}, "autoPromote": true},
            ],
        })
    };
    h.pipeline("guestbook", spec(true)).await?;

    // 1. The test Job of v6 fails in qa: e2e waits, and the status says why.
    let before = git(&repo.bare, &["rev-parse", "main"]);
    let reason = eventually(
        Duration::from_secs(120),
        "promotion blocked by the failing test Job",
        || async {
            let p = pipelines.get("guestbook").await?;
            let reason = stage_of(&p, "e2e")
                .and_then(|s| s.pending.clone())
                .map(|x| x.reason);
            Ok(reason.filter(|r| r.contains("TestJob failed in qa")))
        },
    )
    .await?;
    assert!(reason.contains("failed"), "{reason}");
    let p = pipelines.get("guestbook").await?;
    assert_eq!(
        stage_of(&p, "qa").and_then(|s| s.release.clone()).as_deref(),
        Some("v6")
    );
    assert_eq!(
        stage_of(&p, "e2e").and_then(|s| s.release.clone()).as_deref(),
        Some("v5")
    );
    assert_eq!(
        git(&repo.bare, &["rev-parse", "main"]),
        before,
        "nothing written while blocked"
    );

    // 2. Isolation: the seeds' NetworkPolicy in both stage namespaces.
    for n in [&qa_ns, &e2e_ns] {
        let policies: Api<NetworkPolicy> = Api::namespaced(h.client.clone(), n);
        eventually(Duration::from_secs(30), "NetworkPolicy", || async {
            Ok(policies.get_opt("block-other-namespace").await?.map(|_| ()))
        })
        .await?;
    }

    // 3. A fixed test and a new release v7 in qa (as CI would commit it): promoted to e2e by a commit.
    h.pipeline("guestbook", spec(false)).await?;
    repo.commit(
        &[("envs/qa/kustomization.yaml", &qa_kustomization("v7"))],
        "qa: v7",
    );
    let promoted = eventually(Duration::from_secs(180), "v7 promoted to e2e", || async {
        let p = pipelines.get("guestbook").await?;
        Ok(stage_of(&p, "e2e")
            .and_then(|s| s.history.last().cloned())
            .filter(|h| h.release == "v7"))
    })
    .await?;
    assert_eq!(promoted.from.as_deref(), Some("qa"));
    assert_eq!(promoted.by, "auto");
    let head = git(&repo.bare, &["rev-parse", "main"]);
    assert_eq!(promoted.commit, head);
    assert_eq!(
        git(&repo.bare, &["show", "main:envs/e2e/kustomization.yaml"]),
        format!("{}images:\n- name: {FRONTEND}\n  newTag: v7", e2e_kustomization)
    );
    let message = git(&repo.bare, &["log", "-1", "--format=%B"]);
    assert!(message.starts_with("promote v7 to e2e from qa\n"), "{message}");
    assert!(message.contains(&format!("Image: {FRONTEND}:v7")), "{message}");
    assert!(message.contains("Gate: TestJob Passed: Job "), "{message}");
    assert!(message.contains("Gate: Soak Passed"), "{message}");
    assert_eq!(
        git(&repo.bare, &["diff", "--name-only", "main^", "main"]),
        "envs/e2e/kustomization.yaml"
    );

    // 4. e2e syncs it: the Deployment runs v7.
    let deployments: Api<Deployment> = Api::namespaced(h.client.clone(), &e2e_ns);
    eventually(Duration::from_secs(120), "e2e runs v7", || async {
        let d = deployments.get_opt("frontend").await?;
        let image = d
            .and_then(|d| d.spec)
            .and_then(|s| s.template.spec)
            .and_then(|s| s.containers.first().and_then(|c| c.image.clone()));
        Ok(image.filter(|i| i.ends_with(":v7")).map(|_| ()))
    })
    .await?;
    eventually(Duration::from_secs(60), "e2e status shows v7", || async {
        let p = pipelines.get("guestbook").await?;
        Ok(stage_of(&p, "e2e")
            .and_then(|s| s.release.clone())
            .filter(|r| r == "v7")
            .map(|_| ()))
    })
    .await?;

    h.stop().await;
    Ok(())
}

/// Branch per environment with plain manifests: a promotion into e2e waits for approval, the approval
/// releases it, a rollback is a new commit and is not undone by auto-promotion; a pipeline naming a missing
/// application reports it in its Ready condition.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the local control plane"]
async fn approval_rollback_and_missing_application() -> Result<()> {
    let mut h = Harness::start(&["qa", "e2e"]).await?;
    let repo = GitRepo::create(&h.path("srv"), &h.path("work"), "config");
    repo.commit(&[("guestbook/frontend.yaml", &frontend())], "v5");
    repo.push_branch("env/e2e");
    repo.commit(
        &[("guestbook/frontend.yaml", &frontend().replace(":v5", ":v6"))],
        "v6",
    );
    repo.push_branch("env/qa");
    let url = format!("file://{}", repo.bare.display());
    h.promotion(PromotionOptions::default());
    for stage in ["qa", "e2e"] {
        h.app(stage, &url, &format!("env/{stage}"), "guestbook", json!({}))
            .await?;
    }
    let pipelines = h.pipelines();
    let spec = |e2e_app: &str| {
        json!({
            "images": [{"name": FRONTEND}],
            "stages": [
                {"name": "qa", "application": {"name": "guestbook-qa"}},
                {"name": "e2e", "application": {"name": e2e_app}, "autoPromote": true, "requireApproval": true},
            ],
        })
    };
    h.pipeline("guestbook", spec("guestbook-e2e")).await?;

    // 1. Held for approval; nothing written.
    let before = git(&repo.bare, &["rev-parse", "env/e2e"]);
    eventually(Duration::from_secs(90), "waiting for approval", || async {
        let p = pipelines.get("guestbook").await?;
        let pending = stage_of(&p, "e2e").and_then(|s| s.pending.clone());
        Ok(pending
            .filter(|x| x.release == "v6" && x.reason.contains("waiting for approval"))
            .map(|_| ()))
    })
    .await?;
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(git(&repo.bare, &["rev-parse", "env/e2e"]), before);

    // 2. Approved (what `tack env approve guestbook e2e` writes): promoted.
    let approve = json!({"metadata": {"annotations": {"approve.gitops.tack.dev/e2e": "v6"}}});
    pipelines
        .patch("guestbook", &PatchParams::default(), &Patch::Merge(&approve))
        .await?;
    let first = eventually(Duration::from_secs(60), "v6 promoted after approval", || async {
        let p = pipelines.get("guestbook").await?;
        Ok(stage_of(&p, "e2e")
            .and_then(|s| s.history.last().cloned())
            .filter(|h| h.release == "v6"))
    })
    .await?;
    assert_eq!(first.by, "auto, approved");
    assert_eq!(first.replaced.as_deref(), Some("v5"));
    assert_eq!(git(&repo.bare, &["rev-parse", "env/e2e"]), first.commit);
    assert!(
        git(&repo.bare, &["show", "env/e2e:guestbook/frontend.yaml"]).contains(&format!("{FRONTEND}:v6"))
    );

    // 3. Rollback (what `tack env rollback guestbook e2e` writes): a new commit back to v5, kept.
    let rollback = json!({"metadata": {"annotations": {"promote.gitops.tack.dev/e2e": "v5"}}});
    pipelines
        .patch("guestbook", &PatchParams::default(), &Patch::Merge(&rollback))
        .await?;
    let back = eventually(Duration::from_secs(60), "rolled back to v5", || async {
        let p = pipelines.get("guestbook").await?;
        Ok(stage_of(&p, "e2e")
            .and_then(|s| s.history.last().cloned())
            .filter(|h| h.release == "v5"))
    })
    .await?;
    assert_eq!(back.by, "tack env promote");
    assert_eq!(back.replaced.as_deref(), Some("v6"));
    assert_eq!(git(&repo.bare, &["rev-parse", "env/e2e^"]), first.commit);
    assert_eq!(git(&repo.bare, &["rev-parse", "env/e2e"]), back.commit);
    assert!(
        git(&repo.bare, &["show", "env/e2e:guestbook/frontend.yaml"]).contains(&format!("{FRONTEND}:v5"))
    );
    eventually(Duration::from_secs(30), "request annotation removed", || async {
        let p = pipelines.get("guestbook").await?;
        let a = p.metadata.annotations.unwrap_or_default();
        Ok((!a.contains_key("promote.gitops.tack.dev/e2e")).then_some(()))
    })
    .await?;
    tokio::time::sleep(Duration::from_secs(4)).await;
    assert_eq!(
        git(&repo.bare, &["rev-parse", "env/e2e"]),
        back.commit,
        "the rollback stays"
    );
    let p = pipelines.get("guestbook").await?;
    let pending = stage_of(&p, "e2e")
        .and_then(|s| s.pending.clone())
        .context("pending")?;
    assert!(pending.reason.contains("rollback"), "{pending:?}");

    // 4. A pipeline naming a missing application: Ready False, with the name.
    h.pipeline("broken", spec("guestbook-missing")).await?;
    let message = eventually(Duration::from_secs(30), "broken pipeline reported", || async {
        Ok(not_ready(&pipelines.get("broken").await?).map(|(_, m)| m))
    })
    .await?;
    assert!(message.contains("guestbook-missing not found"), "{message}");

    h.stop().await;
    Ok(())
}

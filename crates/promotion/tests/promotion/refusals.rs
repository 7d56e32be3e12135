//! Promotions that cannot be written, through the controller and a smart-HTTP Git server: a stage whose
//! configuration does not contain the promoted image (unknown image), and a push the server's pre-receive hook
//! rejects. Each is reported in the stage's status, the Ready condition and a `PromotionFailed` Event, and
//! nothing is written to Git (no branch moved, no branch created).

use std::time::Duration;

use anyhow::{Result, ensure};
use k8s_openapi::api::events::v1::Event;
use kube::api::Api;
use serde_json::json;
use tack_testkit::eventually;
use tack_testkit::gitserver::{GitRepo, HttpGitServer, git};

use crate::harness::{FRONTEND, Harness, PromotionOptions, frontend, not_ready, stage_of};

/// A plain manifest of the frontend Deployment in `ns` running `image`.
fn manifest(ns: &str, image: &str) -> String {
    frontend().replace(&format!("{FRONTEND}:v5"), image).replace(
        "  name: frontend\n",
        &format!("  name: frontend\n  namespace: {ns}\n"),
    )
}

/// Refuses every update of `refs/heads/env/prod`.
const HOOK: &str = "#!/bin/sh\nwhile read old new ref; do\n  if [ \"$ref\" = refs/heads/env/prod ]; then\n    \
                    echo 'env/prod is frozen for the release' >&2\n    exit 1\n  fi\ndone\nexit 0\n";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the local control plane"]
async fn an_unknown_image_and_a_rejected_push_fail_clearly_and_write_nothing() -> Result<()> {
    let mut h = Harness::start(&["qa", "e2e", "prod"]).await?;
    let root = h.path("srv");
    let repo = GitRepo::create(&root, &h.path("work"), "config");
    git(&repo.bare, &["config", "http.receivepack", "true"]);
    // Branch per environment: qa runs v6; e2e runs another image only; prod runs v5 and is frozen.
    let ns = |s: &str| h.stage_namespace(s).to_string();
    let branches = [
        ("e2e", manifest(&ns("e2e"), "registry.example.com/other/app:1.0")),
        ("prod", manifest(&ns("prod"), &format!("{FRONTEND}:v5"))),
        ("qa", manifest(&ns("qa"), &format!("{FRONTEND}:v6"))),
    ];
    for (stage, m) in &branches {
        repo.commit(&[("guestbook/frontend.yaml", m)], &format!("{stage} config"));
        repo.push_branch(&format!("env/{stage}"));
    }
    let hook = repo.bare.join("hooks/pre-receive");
    std::fs::write(&hook, HOOK)?;
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&hook, std::fs::Permissions::from_mode(0o755))?;
    }
    let server = HttpGitServer::start(&root, None);
    let url = server.url("config");
    let refs_before = git(&repo.bare, &["for-each-ref", "--format=%(refname) %(objectname)"]);

    h.promotion(PromotionOptions::default());
    for stage in ["qa", "e2e", "prod"] {
        h.app(stage, &url, &format!("env/{stage}"), "guestbook", json!({}))
            .await?;
    }
    for (name, target) in [("unknown", "e2e"), ("frozen", "prod")] {
        h.pipeline(
            name,
            json!({
                "images": [{"name": FRONTEND}],
                "stages": [
                    {"name": "qa", "application": {"name": "guestbook-qa"}},
                    {"name": target, "application": {"name": format!("guestbook-{target}")}, "autoPromote": true},
                ],
            }),
        )
        .await?;
    }
    let pipelines = h.pipelines();
    let expected = [
        (
            "unknown",
            "e2e",
            format!(
                "image \"{FRONTEND}\" does not appear in the configuration at \"guestbook\"; nothing was written"
            ),
        ),
        (
            "frozen",
            "prod",
            "the server rejected the push to env/prod".to_string(),
        ),
    ];
    let events: Api<Event> = Api::namespaced(h.client.clone(), h.namespace());
    for (name, stage, words) in &expected {
        let pending = eventually(Duration::from_secs(150), "the promotion failed", || async {
            let p = pipelines.get(name).await?;
            Ok(stage_of(&p, stage)
                .and_then(|s| s.pending.clone())
                .filter(|x| x.reason.starts_with("promotion failed: ")))
        })
        .await?;
        ensure!(pending.release == "v6", "{pending:?}");
        ensure!(pending.reason.contains(words.as_str()), "{name}: {pending:?}");
        let (_, ready) = not_ready(&pipelines.get(name).await?).ok_or_else(|| anyhow::anyhow!("Ready"))?;
        ensure!(ready.contains(words.as_str()), "{name}: {ready}");
        let note = eventually(Duration::from_secs(30), "a PromotionFailed Event", || async {
            let list = events.list(&Default::default()).await?;
            Ok(list
                .items
                .into_iter()
                .filter(|e| e.reason.as_deref() == Some("PromotionFailed"))
                .filter(|e| e.regarding.as_ref().and_then(|r| r.name.as_deref()) == Some(*name))
                .find_map(|e| e.note))
        })
        .await?;
        ensure!(note.contains(words.as_str()), "{name}: {note}");
        if *name == "frozen" {
            ensure!(
                note.contains("frozen for the release"),
                "the server's words: {note}"
            );
        }
    }
    // Nothing half-written: every branch where it was, none created.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let refs_after = git(&repo.bare, &["for-each-ref", "--format=%(refname) %(objectname)"]);
    ensure!(refs_after == refs_before, "{refs_before}\n---\n{refs_after}");
    h.stop().await;
    drop(server);
    Ok(())
}

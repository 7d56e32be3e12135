//! What a Pipeline creates for a stage is written as the stage's application's ServiceAccount: a
//! ServiceAccount that may deploy the application but not create Jobs blocks the test gate with the API
//! server's denial, and no Job exists; once a Role grants `create` on Jobs, the test Job runs and the release is
//! promoted.

use std::time::Duration;

use anyhow::{Result, ensure};
use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::ServiceAccount;
use k8s_openapi::api::rbac::v1::{Role, RoleBinding};
use kube::api::{Api, ListParams, Patch, PatchParams};
use serde_json::{Value, json};
use tack_testkit::eventually;
use tack_testkit::gitserver::{GitRepo, git};

use crate::harness::{FRONTEND, Harness, PromotionOptions, frontend, not_ready, stage_of, test_job};

/// Grants `sa` (of `sa_ns`) `rules` in `ns` through the Role and RoleBinding `name`.
async fn grant(
    client: &kube::Client,
    ns: &str,
    name: &str,
    sa_ns: &str,
    sa: &str,
    rules: Value,
) -> Result<()> {
    let pp = PatchParams::apply("tack-test");
    let role = json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role",
                      "metadata": {"name": name, "namespace": ns}, "rules": rules});
    Api::<Role>::namespaced(client.clone(), ns)
        .patch(name, &pp, &Patch::Apply(&role))
        .await?;
    let binding = json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
                         "metadata": {"name": name, "namespace": ns},
                         "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": name},
                         "subjects": [{"kind": "ServiceAccount", "name": sa, "namespace": sa_ns}]});
    Api::<RoleBinding>::namespaced(client.clone(), ns)
        .patch(name, &pp, &Patch::Apply(&binding))
        .await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the local control plane"]
async fn a_stage_service_account_without_create_jobs_blocks_the_test_gate_until_a_role_grants_it()
-> Result<()> {
    let mut h = Harness::start(&["qa", "e2e"]).await?;
    let (ns, qa) = (h.namespace().to_string(), h.stage_namespace("qa").to_string());
    let e2e = h.stage_namespace("e2e").to_string();
    // The ServiceAccount qa's application acts as: it may deploy the guestbook (and its NetworkPolicy) in
    // qa's namespace, and nothing of the batch group.
    let sa = json!({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "deployer", "namespace": ns}});
    Api::<ServiceAccount>::namespaced(h.client.clone(), &ns)
        .patch("deployer", &PatchParams::apply("tack-test"), &Patch::Apply(&sa))
        .await?;
    let deploy =
        json!([{"apiGroups": ["", "apps", "networking.k8s.io"], "resources": ["*"], "verbs": ["*"]}]);
    grant(&h.client, &qa, "deploy", &ns, "deployer", deploy).await?;

    let repo = GitRepo::create(&h.path("srv"), &h.path("work"), "config");
    let kustomization = |ns: &str, tag: Option<&str>| {
        let images = tag
            .map(|t| format!("images:\n- name: {FRONTEND}\n  newTag: {t}\n"))
            .unwrap_or_default();
        format!("resources:\n- ../../base\nnamespace: {ns}\n{images}")
    };
    repo.commit(
        &[
            ("base/frontend.yaml", &frontend()),
            ("base/kustomization.yaml", "resources:\n- frontend.yaml\n"),
            ("envs/qa/kustomization.yaml", &kustomization(&qa, Some("v6"))),
            ("envs/e2e/kustomization.yaml", &kustomization(&e2e, None)),
        ],
        "guestbook config",
    );
    let url = format!("file://{}", repo.bare.display());
    h.promotion(PromotionOptions::default());
    h.app(
        "qa",
        &url,
        "main",
        "envs/qa",
        json!({"serviceAccountName": "deployer"}),
    )
    .await?;
    h.app("e2e", &url, "main", "envs/e2e", json!({})).await?;
    h.pipeline(
        "guestbook",
        json!({
            "images": [{"name": FRONTEND}],
            "stages": [
                {"name": "qa", "application": {"name": "guestbook-qa"},
                 "gates": {"soakTime": "1s", "testJob": test_job(false)}},
                {"name": "e2e", "application": {"name": "guestbook-e2e"}, "autoPromote": true},
            ],
        }),
    )
    .await?;
    let pipelines = h.pipelines();
    let before = git(&repo.bare, &["rev-parse", "main"]);

    // 1. qa is deployed by its ServiceAccount, which may not create the test Job: the gate says so.
    let reason = eventually(Duration::from_secs(150), "the test gate refused", || async {
        let p = pipelines.get("guestbook").await?;
        Ok(stage_of(&p, "e2e")
            .and_then(|s| s.pending.clone())
            .map(|x| x.reason)
            .filter(|r| r.contains("TestJob failed in qa")))
    })
    .await?;
    ensure!(
        reason.contains(&format!(
            "ServiceAccount {ns}/deployer may not create the test Job"
        )),
        "{reason}"
    );
    ensure!(
        reason.contains(&format!(
            "User \"system:serviceaccount:{ns}:deployer\" cannot create resource \"jobs\""
        )),
        "{reason}"
    );
    let p = pipelines.get("guestbook").await?;
    let gate = stage_of(&p, "qa")
        .and_then(|s| s.gates.iter().find(|g| g.name == "TestJob").cloned())
        .ok_or_else(|| anyhow::anyhow!("no TestJob gate"))?;
    ensure!(gate.phase == "Failed", "{gate:?}");
    let (_, ready) = not_ready(&p).ok_or_else(|| anyhow::anyhow!("Ready is not False"))?;
    ensure!(ready.contains("may not create the test Job"), "{ready}");
    let jobs: Api<Job> = Api::namespaced(h.client.clone(), &qa);
    let selector = ListParams::default().labels("gitops.tack.dev/pipeline=guestbook");
    ensure!(jobs.list(&selector).await?.items.is_empty(), "no Job was created");
    // Still refused a few reconciles later (the controller itself could create it: the refusal is the
    // ServiceAccount's), and nothing promoted.
    tokio::time::sleep(Duration::from_secs(3)).await;
    ensure!(jobs.list(&selector).await?.items.is_empty(), "no Job was created");
    assert_eq!(git(&repo.bare, &["rev-parse", "main"]), before, "nothing written");

    // 2. A Role granting Jobs: the test Job runs (as the ServiceAccount) and v6 is promoted to e2e.
    let run = json!([{"apiGroups": ["batch"], "resources": ["jobs"], "verbs": ["create"]}]);
    grant(&h.client, &qa, "run-tests", &ns, "deployer", run).await?;
    let record = eventually(Duration::from_secs(150), "v6 promoted to e2e", || async {
        let p = pipelines.get("guestbook").await?;
        Ok(stage_of(&p, "e2e")
            .and_then(|s| s.history.last().cloned())
            .filter(|r| r.release == "v6"))
    })
    .await?;
    let made = jobs.list(&selector).await?.items;
    ensure!(made.len() == 1, "one test Job: {made:?}");
    let message = git(&repo.bare, &["log", "-1", "--format=%B", &record.commit]);
    ensure!(message.contains("Gate: TestJob Passed: Job "), "{message}");
    h.stop().await;
    Ok(())
}

//! The seed guestbook (all six manifests of examples/guestbook) in three stages (qa → e2e → prod) on the local control plane, for each repository
//! layout: folder per environment on one branch (Kustomize, file://), branch per environment (plain
//! manifests, file://) and repository per environment (Kustomize, three repositories over smart HTTP). A
//! release in qa reaches prod by two commits whose content and message are checked, and prod then runs it.
//! Also: a controller stopped between a push and its status write resumes without a duplicate or lost
//! commit; a pipeline whose stages share one configuration (a cycle) is refused with a clear condition.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result, ensure};
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::networking::v1::NetworkPolicy;
use kube::api::Api;
use serde_json::{Value, json};
use tack_model::Pipeline;
use tack_testkit::eventually;
use tack_testkit::gitserver::{GitRepo, HttpGitServer, git};

use crate::harness::{
    FRONTEND, Harness, PromotionOptions, guestbook, guestbook_resources, not_ready, stage_of,
};

const STAGES: [&str; 3] = ["qa", "e2e", "prod"];

/// Where one stage's configuration lives, and how to read it back with `git`.
struct StageRepo {
    url: String,
    branch: String,
    path: String,
    /// The bare repository holding the branch.
    bare: PathBuf,
    /// The file that holds the tag, relative to `path`.
    file: &'static str,
}

/// The three layouts of the seeds: a folder, a branch or a repository per environment.
#[derive(Clone, Copy, Debug)]
enum Layout {
    Folder,
    Branch,
    Repository,
}

fn kustomization(ns: &str, tag: Option<&str>, base: &str) -> String {
    let mut k = format!("# managed by the team\nresources:\n- {base}\nnamespace: {ns}\n");
    if let Some(tag) = tag {
        k.push_str(&format!("images:\n- name: {FRONTEND}\n  newTag: {tag}\n"));
    }
    k
}

/// Creates the repositories of `layout`: qa holds v6, e2e and prod hold v5 (the base's tag).
fn layout_repos(
    layout: Layout,
    tmp: &std::path::Path,
    namespaces: &[String; 3],
    server: &mut Option<HttpGitServer>,
) -> Vec<StageRepo> {
    let root = tmp.join("srv");
    let work = tmp.join("work");
    match layout {
        Layout::Folder => {
            let repo = GitRepo::create(&root, &work, "config");
            let mut files: Vec<(String, String)> = guestbook()
                .iter()
                .map(|(f, text)| (format!("base/{f}"), text.to_string()))
                .collect();
            files.push(("base/kustomization.yaml".to_string(), guestbook_resources()));
            for (stage, ns) in STAGES.iter().zip(namespaces) {
                let tag = (*stage == "qa").then_some("v6");
                files.push((
                    format!("envs/{stage}/kustomization.yaml"),
                    kustomization(ns, tag, "../../base"),
                ));
            }
            let refs: Vec<(&str, &str)> = files.iter().map(|(a, b)| (a.as_str(), b.as_str())).collect();
            repo.commit(&refs, "guestbook config");
            let url = format!("file://{}", repo.bare.display());
            STAGES
                .iter()
                .map(|s| StageRepo {
                    url: url.clone(),
                    branch: "main".into(),
                    path: format!("envs/{s}"),
                    bare: repo.bare.clone(),
                    file: "kustomization.yaml",
                })
                .collect()
        }
        Layout::Branch => {
            let repo = GitRepo::create(&root, &work, "config");
            let mut out = Vec::new();
            for (stage, ns) in STAGES.iter().zip(namespaces).rev() {
                let tag = if *stage == "qa" { ":v6" } else { ":v5" };
                let files: Vec<(String, String)> = guestbook()
                    .iter()
                    .map(|(f, text)| {
                        let mut text =
                            text.replacen("metadata:\n", &format!("metadata:\n  namespace: {ns}\n"), 1);
                        if *f == "frontend-deployment.yaml" {
                            text = text.replace(":v5", tag);
                        }
                        (format!("guestbook/{f}"), text)
                    })
                    .collect();
                let refs: Vec<(&str, &str)> = files.iter().map(|(a, b)| (a.as_str(), b.as_str())).collect();
                repo.commit(&refs, &format!("{stage} config"));
                repo.push_branch(&format!("env/{stage}"));
                out.push(StageRepo {
                    url: format!("file://{}", repo.bare.display()),
                    branch: format!("env/{stage}"),
                    path: "guestbook".into(),
                    bare: repo.bare.clone(),
                    file: "frontend-deployment.yaml",
                });
            }
            out.reverse();
            out
        }
        Layout::Repository => {
            let http = HttpGitServer::start(&root, None);
            let mut out = Vec::new();
            for (stage, ns) in STAGES.iter().zip(namespaces) {
                let repo = GitRepo::create(&root, &work, &format!("guestbook-{stage}"));
                git(&repo.bare, &["config", "http.receivepack", "true"]);
                let tag = (*stage == "qa").then_some("v6");
                let resources: Vec<&str> = guestbook().iter().map(|(f, _)| *f).collect();
                let mut files: Vec<(String, String)> = guestbook()
                    .iter()
                    .map(|(f, text)| (format!("deploy/{f}"), text.to_string()))
                    .collect();
                files.push((
                    "deploy/kustomization.yaml".to_string(),
                    kustomization(ns, tag, &resources.join("\n- ")),
                ));
                let refs: Vec<(&str, &str)> = files.iter().map(|(a, b)| (a.as_str(), b.as_str())).collect();
                repo.commit(&refs, &format!("{stage} config"));
                out.push(StageRepo {
                    url: http.url(&format!("guestbook-{stage}")),
                    branch: "main".into(),
                    path: "deploy".into(),
                    bare: repo.bare.clone(),
                    file: "kustomization.yaml",
                });
            }
            *server = Some(http);
            out
        }
    }
}

/// The GitOpsConfigs of the stages of `repos` (in [`STAGES`] order).
async fn apply_apps(h: &Harness, repos: &[StageRepo]) -> Result<()> {
    for (stage, r) in STAGES.iter().zip(repos) {
        h.app(stage, &r.url, &r.branch, &r.path, json!({})).await?;
    }
    Ok(())
}

/// The namespaces of [`STAGES`].
fn stage_namespaces(h: &Harness) -> [String; 3] {
    STAGES.map(|s| h.stage_namespace(s).to_string())
}

/// The spec of a pipeline over `stages`: soak 1 s each, automatic promotion after the first.
fn three_stage_pipeline(stages: &[&str]) -> Value {
    let stage = |s: &str| {
        let mut v = json!({"name": s, "application": {"name": format!("guestbook-{s}")},
                           "gates": {"soakTime": "1s"}});
        if s != "qa" {
            v["autoPromote"] = json!(true);
        }
        v
    };
    json!({"images": [{"name": FRONTEND}], "stages": stages.iter().map(|s| stage(s)).collect::<Vec<_>>()})
}

async fn image_of(client: &kube::Client, ns: &str) -> Result<Option<String>> {
    let deployments: Api<Deployment> = Api::namespaced(client.clone(), ns);
    Ok(deployments
        .get_opt("frontend")
        .await?
        .and_then(|d| d.spec)
        .and_then(|s| s.template.spec)
        .and_then(|s| s.containers.first().and_then(|c| c.image.clone())))
}

async fn three_stages(layout: Layout) -> Result<()> {
    let mut h = Harness::start(&STAGES).await?;
    let namespaces = stage_namespaces(&h);
    let mut server = None;
    let repos = layout_repos(layout, h.tmp.path(), &namespaces, &mut server);
    let before: Vec<String> = repos
        .iter()
        .map(|r| git(&r.bare, &["rev-parse", &r.branch]))
        .collect();
    h.promotion(PromotionOptions::default());
    apply_apps(&h, &repos).await?;
    let pipelines = h.pipelines();
    h.pipeline("guestbook", three_stage_pipeline(&STAGES)).await?;

    // v6 goes qa → e2e → prod: two commits, each recorded in the stage's history.
    let prod_record = eventually(Duration::from_secs(240), "v6 promoted to prod", || async {
        let p = pipelines.get("guestbook").await?;
        Ok(stage_of(&p, "prod")
            .and_then(|s| s.history.last().cloned())
            .filter(|h| h.release == "v6"))
    })
    .await
    .with_context(|| format!("{layout:?}"))?;
    let p = pipelines.get("guestbook").await?;
    let e2e_record = stage_of(&p, "e2e")
        .and_then(|s| s.history.last().cloned())
        .context("e2e history")?;
    assert_eq!(e2e_record.release, "v6");
    assert_eq!(e2e_record.from.as_deref(), Some("qa"));
    assert_eq!(e2e_record.replaced.as_deref(), Some("v5"));
    assert_eq!(prod_record.from.as_deref(), Some("e2e"));
    assert_eq!(prod_record.by, "auto");

    for (i, (stage, record)) in [("e2e", &e2e_record), ("prod", &prod_record)]
        .into_iter()
        .enumerate()
    {
        let r = &repos[i + 1];
        let file = format!("{}/{}", r.path, r.file);
        // The commit is on the stage's branch, its parent held v5, it changes only the stage's file.
        git(
            &r.bare,
            &["merge-base", "--is-ancestor", &record.commit, &r.branch],
        );
        let content = git(&r.bare, &["show", &format!("{}:{file}", record.commit)]);
        assert!(content.contains("v6"), "{layout:?} {stage}: {content}");
        let parent = git(&r.bare, &["show", &format!("{}^:{file}", record.commit)]);
        assert!(!parent.contains("v6"), "{layout:?} {stage}: {parent}");
        assert_eq!(
            git(
                &r.bare,
                &[
                    "diff",
                    "--name-only",
                    &format!("{}^", record.commit),
                    &record.commit
                ]
            ),
            file
        );
        let message = git(&r.bare, &["log", "-1", "--format=%B", &record.commit]);
        let from = STAGES[i];
        assert!(
            message.starts_with(&format!("promote v6 to {stage} from {from}\n")),
            "{message}"
        );
        assert!(message.contains(&format!("Image: {FRONTEND}:v6")), "{message}");
        assert!(message.contains("Gate: Soak Passed"), "{message}");
        assert!(message.contains("Replaced: v5"), "{message}");
        assert_eq!(
            git(&r.bare, &["log", "-1", "--format=%an", &record.commit]),
            "tack"
        );
    }
    match layout {
        Layout::Folder => {
            // One branch: exactly the two promotion commits on top of the initial one.
            let r = &repos[0];
            assert_eq!(
                git(&r.bare, &["rev-list", "--count", &format!("{}..main", before[0])]),
                "2"
            );
            assert_eq!(
                git(&r.bare, &["show", "main:envs/prod/kustomization.yaml"]),
                format!(
                    "{}images:\n- name: {FRONTEND}\n  newTag: v6",
                    kustomization(&namespaces[2], None, "../../base")
                )
            );
        }
        Layout::Branch | Layout::Repository => {
            // qa's branch untouched; one commit on each of e2e's and prod's.
            assert_eq!(git(&repos[0].bare, &["rev-parse", &repos[0].branch]), before[0]);
            for i in 1..3 {
                let r = &repos[i];
                assert_eq!(
                    git(
                        &r.bare,
                        &["rev-list", "--count", &format!("{}..{}", before[i], r.branch)]
                    ),
                    "1"
                );
            }
        }
    }

    // prod syncs it; every stage namespace has its NetworkPolicy.
    eventually(Duration::from_secs(120), "prod runs v6", || async {
        Ok(image_of(&h.client, &namespaces[2])
            .await?
            .filter(|i| i == &format!("{FRONTEND}:v6"))
            .map(|_| ()))
    })
    .await?;
    // The whole seed guestbook runs in every stage.
    for n in &namespaces {
        let deployments: Api<Deployment> = Api::namespaced(h.client.clone(), n);
        let names: Vec<String> = deployments
            .list(&Default::default())
            .await?
            .items
            .into_iter()
            .filter_map(|d| d.metadata.name)
            .collect();
        assert_eq!(
            names,
            ["frontend", "redis-follower", "redis-leader"],
            "{layout:?} {n}"
        );
        let services: Api<k8s_openapi::api::core::v1::Service> = Api::namespaced(h.client.clone(), n);
        for s in ["frontend", "redis-follower", "redis-leader"] {
            ensure!(
                services.get_opt(s).await?.is_some(),
                "{layout:?}: no Service {s} in {n}"
            );
        }
    }
    for n in &namespaces {
        let policies: Api<NetworkPolicy> = Api::namespaced(h.client.clone(), n);
        eventually(Duration::from_secs(30), "NetworkPolicy", || async {
            Ok(policies.get_opt("block-other-namespace").await?.map(|_| ()))
        })
        .await?;
    }
    h.stop().await;
    drop(server);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the local control plane"]
async fn three_stages_folder_per_environment() -> Result<()> {
    three_stages(Layout::Folder).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the local control plane"]
async fn three_stages_branch_per_environment() -> Result<()> {
    three_stages(Layout::Branch).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the local control plane"]
async fn three_stages_repository_per_environment() -> Result<()> {
    three_stages(Layout::Repository).await
}

/// The Pipeline controller stops right after pushing a promotion, before writing the status (the test hook
/// hangs its reconcile, then the task is aborted). A new controller with an empty cache records the commit
/// in the history once, and writes no second commit. Then: stages sharing one configuration are refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the local control plane"]
async fn killed_mid_promotion_resumes_without_duplicate_or_lost_commit() -> Result<()> {
    let mut h = Harness::start(&STAGES).await?;
    let namespaces = stage_namespaces(&h);
    let repos = layout_repos(Layout::Folder, h.tmp.path(), &namespaces, &mut None);
    let bare = repos[0].bare.clone();
    let base = git(&bare, &["rev-parse", "main"]);
    let pushed = Arc::new(tokio::sync::Notify::new());
    let first = h.promotion(PromotionOptions {
        cache: Some("promotion-cache-1"),
        after_push: Some(pushed.clone()),
        ..Default::default()
    });
    apply_apps(&h, &repos).await?;
    let pipelines = h.pipelines();
    h.pipeline("guestbook", three_stage_pipeline(&["qa", "e2e"]))
        .await?;
    tokio::time::timeout(Duration::from_secs(180), pushed.notified())
        .await
        .context("the promotion was never pushed")?;
    first.abort();
    let commit = git(&bare, &["rev-parse", "main"]);
    assert_eq!(
        git(&bare, &["rev-list", "--count", &format!("{base}..main")]),
        "1"
    );
    assert!(git(&bare, &["log", "-1", "--format=%s"]).starts_with("promote v6 to e2e from qa"));
    let p = pipelines.get("guestbook").await?;
    assert!(
        stage_of(&p, "e2e").is_none_or(|s| s.history.iter().all(|h| h.commit != commit)),
        "the stopped controller did not record the promotion"
    );

    // A new controller, with nothing cached: the commit is found and recorded, once.
    h.promotion(PromotionOptions {
        cache: Some("promotion-cache-2"),
        ..Default::default()
    });
    let record = eventually(Duration::from_secs(60), "the promotion recorded", || async {
        let p = pipelines.get("guestbook").await?;
        Ok(stage_of(&p, "e2e").and_then(|s| s.history.iter().find(|h| h.commit == commit).cloned()))
    })
    .await?;
    assert_eq!(record.release, "v6");
    assert_eq!(record.from.as_deref(), Some("qa"));
    assert_eq!(record.by, "auto");
    eventually(Duration::from_secs(120), "e2e runs v6", || async {
        Ok(image_of(&h.client, &namespaces[1])
            .await?
            .filter(|i| i.ends_with(":v6"))
            .map(|_| ()))
    })
    .await?;
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(git(&bare, &["rev-parse", "main"]), commit, "no second commit");
    let p = pipelines.get("guestbook").await?;
    let history = &stage_of(&p, "e2e").context("e2e")?.history;
    assert_eq!(
        history.iter().filter(|h| h.release == "v6").count(),
        1,
        "{history:?}"
    );

    // Two stages writing into one configuration: a cycle, refused before anything is written.
    let mut looped = three_stage_pipeline(&["qa", "e2e"]);
    looped["stages"][1]["config"] = json!({"repoURL": repos[0].url, "branch": "main", "path": "envs/qa/"});
    h.pipeline("looped", looped).await?;
    let message = ready_false(&pipelines, "looped").await?;
    ensure!(message.contains("a cycle"), "{message}");
    ensure!(
        message.contains("stages qa and e2e share one configuration"),
        "{message}"
    );
    // A window that does not parse.
    let mut windowed = three_stage_pipeline(&["qa", "e2e"]);
    windowed["stages"][1]["promotionWindows"] = json!([{"schedule": "0 25 * * *", "duration": "1h"}]);
    h.pipeline("windowed", windowed).await?;
    let message = ready_false(&pipelines, "windowed").await?;
    ensure!(
        message.contains("hour: \"25\" is not a number from 0 to 23"),
        "{message}"
    );
    assert_eq!(git(&bare, &["rev-parse", "main"]), commit, "nothing written");
    h.stop().await;
    Ok(())
}

async fn ready_false(pipelines: &Api<Pipeline>, name: &str) -> Result<String> {
    eventually(Duration::from_secs(30), "Ready False", || async {
        let p = pipelines.get(name).await?;
        Ok(not_ready(&p)
            .filter(|(reason, _)| reason == "InvalidSpec")
            .map(|(_, m)| m))
    })
    .await
}

//! The promotion chapter of `tack demo`: the guestbook in three environments (qa → e2e → prod) of one Git
//! repository, a Pipeline whose promotions are Git commits written by the Pipeline controller once each
//! stage's gates pass (soak time, a test Job), and a release whose e2e test fails stopping before prod, with
//! the reason. Everything it creates is removed at the end (and on Ctrl-C).

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime};

use super::repo::{git, say};
use anyhow::bail;
use k8s_openapi::api::core::v1::Namespace;
use kube::api::{Api, DeleteParams, Patch, PatchParams};
use serde_json::{Value, json};
use tack_cluster::Cluster;
use tack_model::{GitOpsConfig, Pipeline};

/// Where the chapter's GitOpsConfigs and Pipeline live.
const DEMO_NAMESPACE: &str = "tack-demo-pipeline";
/// The stages; each deploys into the namespace `pipeline-<stage>`.
const STAGES: [&str; 3] = ["qa", "e2e", "prod"];
const FRONTEND: &str = "us-docker.pkg.dev/google-samples/containers/gke/gb-frontend";
const STEP_TIMEOUT: Duration = Duration::from_secs(120);

const DEPLOYMENT: &str = include_str!("../../../../../examples/guestbook/frontend-deployment.yaml");
const SERVICE: &str = include_str!("../../../../../examples/guestbook/frontend-service.yaml");

fn stage_namespace(stage: &str) -> String {
    format!("pipeline-{stage}")
}

fn kustomization(stage: &str, tag: Option<&str>) -> String {
    let mut k = format!(
        "resources:\n- ../../base\nnamespace: {}\n",
        stage_namespace(stage)
    );
    if let Some(tag) = tag {
        k.push_str(&format!("images:\n- name: {FRONTEND}\n  newTag: {tag}\n"));
    }
    k
}

/// A test Job that requests the stage's frontend; `fails` labels its pod so that KWOK makes it fail (a test
/// that catches a bug).
fn test_job(fails: bool) -> Value {
    let labels = if fails {
        json!({"tack.dev/simulate": "crash"})
    } else {
        json!({})
    };
    json!({"spec": {"backoffLimit": 0, "template": {
        "metadata": {"labels": labels},
        "spec": {"restartPolicy": "Never", "containers": [{"name": "test", "image": "curlimages/curl:8.10.1",
                 "args": ["-fsS", "http://frontend/"]}]}}}})
}

fn pipeline(e2e_test_fails: bool) -> Value {
    json!({
        "apiVersion": "gitops.tack.dev/v1alpha1", "kind": "Pipeline",
        "metadata": {"name": "guestbook", "namespace": DEMO_NAMESPACE},
        "spec": {
            "images": [{"name": FRONTEND}],
            "stages": [
                {"name": "qa", "application": {"name": "guestbook-qa"}, "gates": {"soakTime": "1s"}},
                {"name": "e2e", "application": {"name": "guestbook-e2e"}, "autoPromote": true,
                 "gates": {"soakTime": "1s", "testJob": test_job(e2e_test_fails)}},
                {"name": "prod", "application": {"name": "guestbook-prod"}, "autoPromote": true},
            ],
        },
    })
}

/// Runs the chapter, then removes what it created (also when a step fails or on Ctrl-C).
pub async fn run(cluster: &Cluster) -> anyhow::Result<()> {
    let stamp = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.as_millis())
        .unwrap_or_default();
    let root: PathBuf =
        std::env::temp_dir().join(format!("tack-demo-pipeline-{}-{stamp}", std::process::id()));
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let mut tasks = Vec::new();
    let outcome = tokio::select! {
        r = chapter(cluster, &root, &mut tasks, stopped) => r,
        _ = tokio::signal::ctrl_c() => {
            say("\nInterrupted: cleaning up.");
            Ok(())
        }
    };
    let _ = stop.send(());
    for t in tasks {
        let _ = tokio::time::timeout(Duration::from_secs(30), t).await;
    }
    cleanup(cluster).await;
    let _ = std::fs::remove_dir_all(&root);
    outcome
}

async fn chapter(
    cluster: &Cluster,
    root: &Path,
    tasks: &mut Vec<tokio::task::JoinHandle<()>>,
    stopped: tokio::sync::oneshot::Receiver<()>,
) -> anyhow::Result<()> {
    let client = cluster.client().clone();
    let started = Instant::now();
    say("\nChapter: environments — a release promoted qa → e2e → prod by Git commits");
    wait_namespaces_gone(&client).await?;

    say("\n1. One configuration repository, a folder per environment (Kustomize overlays of one base):");
    say("   qa runs gb-frontend:v6 (CI just committed it), e2e and prod run v5.");
    let bare = root.join("config.git");
    let work = root.join("work");
    std::fs::create_dir_all(&bare)?;
    std::fs::create_dir_all(work.join("base"))?;
    git(&bare, &["init", "--quiet", "--bare", "-b", "main"])?;
    git(&work, &["init", "--quiet", "-b", "main"])?;
    std::fs::write(work.join("base/frontend-deployment.yaml"), DEPLOYMENT)?;
    std::fs::write(work.join("base/frontend-service.yaml"), SERVICE)?;
    std::fs::write(
        work.join("base/kustomization.yaml"),
        "resources:\n- frontend-deployment.yaml\n- frontend-service.yaml\n",
    )?;
    for stage in STAGES {
        std::fs::create_dir_all(work.join("envs").join(stage))?;
        let tag = (stage == "qa").then_some("v6");
        std::fs::write(
            work.join("envs").join(stage).join("kustomization.yaml"),
            kustomization(stage, tag),
        )?;
    }
    git(&work, &["add", "-A"])?;
    git(
        &work,
        &["commit", "--quiet", "-m", "guestbook: qa v6, e2e and prod v5"],
    )?;
    let url = format!("file://{}", bare.display());
    git(&work, &["push", "--quiet", &url, "HEAD:refs/heads/main"])?;
    say(&format!("   {url}: envs/qa, envs/e2e, envs/prod"));

    say("\n2. Three GitOpsConfigs (one per environment) and a Pipeline ordering them:");
    for ns in [DEMO_NAMESPACE.to_string()]
        .into_iter()
        .chain(STAGES.iter().map(|s| stage_namespace(s)))
    {
        let obj = json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}});
        Api::<Namespace>::all(client.clone())
            .patch(
                &ns,
                &PatchParams::apply(tack_cluster::FIELD_MANAGER).force(),
                &Patch::Apply(&obj),
            )
            .await?;
    }
    let apps: Api<GitOpsConfig> = Api::namespaced(client.clone(), DEMO_NAMESPACE);
    for stage in STAGES {
        let name = format!("guestbook-{stage}");
        let app = json!({
            "apiVersion": "gitops.tack.dev/v1alpha1", "kind": "GitOpsConfig",
            "metadata": {"name": name, "namespace": DEMO_NAMESPACE},
            "spec": {
                "source": {"repoURL": url, "revision": "main", "path": format!("envs/{stage}")},
                "destination": {"namespace": stage_namespace(stage)},
                "syncPolicy": {"interval": "1s", "automated": {"prune": true}},
            },
        });
        apps.patch(
            &name,
            &PatchParams::apply(tack_cluster::FIELD_MANAGER).force(),
            &Patch::Apply(&app),
        )
        .await?;
    }
    say("   qa:   gates: Synced and Healthy for 1s (soakTime)");
    say("   e2e:  autoPromote; gates: soakTime 1s + a test Job (curl http://frontend/ in the e2e namespace)");
    say("   prod: autoPromote");
    let pipelines: Api<Pipeline> = Api::namespaced(client.clone(), DEMO_NAMESPACE);
    pipelines
        .patch(
            "guestbook",
            &PatchParams::apply(tack_cluster::FIELD_MANAGER).force(),
            &Patch::Apply(&pipeline(false)),
        )
        .await?;
    start_controllers(&client, root, tasks, stopped);
    say("   The GitOps and Pipeline controllers run in this process (in a cluster: `tack controller`).");

    say("\n3. v6 is verified in qa, committed into e2e, verified there, committed into prod:");
    let mut shown = Shown::default();
    watch(&pipelines, started, &mut shown, |p| {
        stage_release(p, "prod").as_deref() == Some("v6")
    })
    .await?;
    for line in git(&bare, &["log", "--format=%h %s", "-3"])?.lines() {
        say(&format!("   git log: {line}"));
    }
    let message = git(&bare, &["log", "-1", "--format=%b"])?;
    for line in message.lines().filter(|l| l.starts_with("Gate: ")) {
        say(&format!("            {line}"));
    }

    say(
        "\n4. CI commits v7 into qa. v7 has a bug that only the e2e test catches (here KWOK makes the e2e test",
    );
    say("   Job's pod fail, as a failing test would):");
    pipelines
        .patch(
            "guestbook",
            &PatchParams::apply(tack_cluster::FIELD_MANAGER).force(),
            &Patch::Apply(&pipeline(true)),
        )
        .await?;
    git(&work, &["pull", "--quiet", "--rebase", &url, "main"])?;
    std::fs::write(
        work.join("envs/qa/kustomization.yaml"),
        kustomization("qa", Some("v7")),
    )?;
    git(&work, &["commit", "--quiet", "-am", "qa: gb-frontend v7"])?;
    git(&work, &["push", "--quiet", &url, "HEAD:refs/heads/main"])?;
    let blocked = watch(&pipelines, started, &mut shown, |p| {
        stage_release(p, "e2e").as_deref() == Some("v7")
            && pending(p, "prod").is_some_and(|r| r.contains("TestJob failed in e2e"))
    })
    .await?;
    let reason = pending(&blocked, "prod").unwrap_or_default();
    say(&format!("   prod waits: {reason}"));
    say(&format!(
        "   prod still runs {}; nothing was committed into envs/prod (`tack env status guestbook` shows this).",
        stage_release(&blocked, "prod").unwrap_or_default()
    ));
    say(&format!(
        "\nThe promotion chapter took {:.0} s. A fixed release (v8) would go through the same way; `tack env \
         rollback guestbook e2e` commits v6 back into e2e. See docs/environments.md.",
        started.elapsed().as_secs_f64()
    ));
    Ok(())
}

fn start_controllers(
    client: &kube::Client,
    root: &Path,
    tasks: &mut Vec<tokio::task::JoinHandle<()>>,
    stopped: tokio::sync::oneshot::Receiver<()>,
) {
    let (stop_gitops, gitops_stopped) = tokio::sync::watch::channel(false);
    let mut promotion_stopped = stop_gitops.subscribe();
    let mut g = gitops_stopped;
    tasks.push(tokio::spawn(tack_gitops::run(
        client.clone(),
        tack_gitops::ControllerConfig {
            cache_dir: root.join("cache"),
            namespace: Some(DEMO_NAMESPACE.to_string()),
            concurrency: 3,
            ..Default::default()
        },
        async move {
            let _ = g.wait_for(|s| *s).await;
        },
    )));
    tasks.push(tokio::spawn(tack_promotion::controller::run(
        client.clone(),
        tack_promotion::controller::ControllerConfig {
            namespace: Some(DEMO_NAMESPACE.to_string()),
            cache_dir: root.join("promotion-cache"),
            interval: Duration::from_secs(1),
            ..Default::default()
        },
        async move {
            let _ = promotion_stopped.wait_for(|s| *s).await;
        },
    )));
    tasks.push(tokio::spawn(async move {
        let _ = stopped.await;
        let _ = stop_gitops.send(true);
    }));
}

fn stage_release(p: &Pipeline, stage: &str) -> Option<String> {
    p.status
        .as_ref()?
        .stages
        .iter()
        .find(|s| s.name == stage)?
        .release
        .clone()
}

fn pending(p: &Pipeline, stage: &str) -> Option<String> {
    p.status
        .as_ref()?
        .stages
        .iter()
        .find(|s| s.name == stage)?
        .pending
        .as_ref()
        .map(|x| x.reason.clone())
}

/// What [`watch`] printed already: the summary, the promotion commits.
#[derive(Default)]
struct Shown {
    summary: String,
    commits: Vec<String>,
}

/// Prints the pipeline's summary and each new promotion until `done` holds; returns the pipeline then.
async fn watch(
    pipelines: &Api<Pipeline>,
    started: Instant,
    shown: &mut Shown,
    done: impl Fn(&Pipeline) -> bool,
) -> anyhow::Result<Pipeline> {
    let deadline = Instant::now() + STEP_TIMEOUT;
    loop {
        let p = pipelines.get("guestbook").await?;
        let status = p.status.clone().unwrap_or_default();
        for s in &status.stages {
            for h in &s.history {
                if !shown.commits.contains(&h.commit) {
                    shown.commits.push(h.commit.clone());
                    say(&format!(
                        "   [{:>5.1}s] commit {}: promote {} to {} from {}",
                        started.elapsed().as_secs_f64(),
                        h.commit.get(..12).unwrap_or(&h.commit),
                        h.release,
                        s.name,
                        h.from.as_deref().unwrap_or("-")
                    ));
                }
            }
        }
        let summary = status.summary.clone().unwrap_or_default();
        if !summary.is_empty() && summary != shown.summary {
            say(&format!(
                "   [{:>5.1}s] running: {summary}",
                started.elapsed().as_secs_f64()
            ));
            shown.summary = summary;
        }
        if done(&p) {
            return Ok(p);
        }
        if Instant::now() > deadline {
            bail!(
                "the pipeline did not get there within {STEP_TIMEOUT:?}; see `tack env status guestbook -n {DEMO_NAMESPACE}`"
            );
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

/// Waits for the namespaces of an earlier run that are still being deleted.
async fn wait_namespaces_gone(client: &kube::Client) -> anyhow::Result<()> {
    let namespaces: Api<Namespace> = Api::all(client.clone());
    let deadline = Instant::now() + STEP_TIMEOUT;
    for ns in [DEMO_NAMESPACE.to_string()]
        .into_iter()
        .chain(STAGES.iter().map(|s| stage_namespace(s)))
    {
        while namespaces
            .get_opt(&ns)
            .await?
            .is_some_and(|n| n.metadata.deletion_timestamp.is_some())
        {
            if Instant::now() > deadline {
                bail!("namespace {ns} is still being deleted after {STEP_TIMEOUT:?}; try again later");
            }
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
    }
    Ok(())
}

/// Deletes the chapter's Pipeline, applications and namespaces.
async fn cleanup(cluster: &Cluster) {
    let client = cluster.client().clone();
    let _ = Api::<Pipeline>::namespaced(client.clone(), DEMO_NAMESPACE)
        .delete("guestbook", &DeleteParams::default())
        .await;
    let apps: Api<GitOpsConfig> = Api::namespaced(client.clone(), DEMO_NAMESPACE);
    for stage in STAGES {
        let _ = apps
            .delete(&format!("guestbook-{stage}"), &DeleteParams::default())
            .await;
    }
    let namespaces: Api<Namespace> = Api::all(client);
    for ns in [DEMO_NAMESPACE.to_string()]
        .into_iter()
        .chain(STAGES.iter().map(|s| stage_namespace(s)))
    {
        let _ = namespaces.delete(&ns, &DeleteParams::default()).await;
    }
    say(
        "\nCleaned up: deleted the Pipeline, its GitOpsConfigs, their namespaces and the temporary repository.",
    );
}

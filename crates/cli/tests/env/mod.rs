//! `tack env` as a person runs it, against `tack controller` (the built binary) on the local control plane:
//! the seed guestbook in qa and e2e (folder per environment, one file:// repository), applications created
//! with `tack app create`, a Pipeline whose e2e stage requires approval. `tack env status` shows the release
//! waiting, `tack env approve` lets it in (a commit), `tack env history` lists it, `tack env rollback` and
//! `tack env promote` are commits too, and `tack env list` summarises; requests that cannot be made say why.

use std::fs::File;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use anyhow::{Context, Result, ensure};
use kube::api::{Api, Patch, PatchParams};
use serde_json::json;
use tack_model::Pipeline;
use tack_testkit::gitserver::{GitRepo, git};
use tack_testkit::{TestNamespace, eventually};

use crate::{GUESTBOOK, tack, text};

const FRONTEND: &str = "us-docker.pkg.dev/google-samples/containers/gke/gb-frontend";

/// The `tack controller` process of the test; killed when dropped.
struct Controller(Child);

impl Drop for Controller {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn overlay(ns: &str, tag: Option<&str>) -> String {
    let mut k = format!("resources:\n- ../../base\nnamespace: {ns}\n");
    if let Some(tag) = tag {
        k.push_str(&format!("images:\n- name: {FRONTEND}\n  newTag: {tag}\n"));
    }
    k
}

/// Runs `tack ARGS -n NS`, expecting success; its output.
fn run(ns: &str, args: &[&str]) -> Result<String> {
    let mut all = args.to_vec();
    all.extend(["-n", ns]);
    let out = tack(&all)?;
    ensure!(out.status.success(), "tack {}: {}", all.join(" "), text(&out));
    Ok(text(&out))
}

/// The row of `stage` in `tack env status`'s table.
fn status_row(ns: &str, stage: &str) -> Result<String> {
    let out = run(ns, &["env", "status", "guestbook"])?;
    Ok(out
        .lines()
        .find(|l| l.split_whitespace().next() == Some(stage))
        .unwrap_or_default()
        .to_string())
}

/// Waits until `tack env status` shows `release` running in e2e.
async fn e2e_runs(ns: &str, release: &str, log: &std::path::Path) -> Result<()> {
    eventually(
        Duration::from_secs(120),
        &format!("e2e runs {release}"),
        || async {
            Ok(status_row(ns, "e2e")?
                .split_whitespace()
                .nth(1)
                .filter(|r| *r == release)
                .map(|_| ()))
        },
    )
    .await
    .with_context(|| std::fs::read_to_string(log).unwrap_or_default())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the local control plane"]
async fn env_commands_drive_a_pipeline_through_the_controller() -> Result<()> {
    tack_cluster::install_crypto_provider();
    let client = tack_testkit::client().await?;
    let out = tack(&["install", "--crds-only"])?;
    ensure!(out.status.success(), "{}", text(&out));
    let ns = TestNamespace::new(&client, "env").await?;
    let qa = TestNamespace::new(&client, "env-qa").await?;
    let e2e = TestNamespace::new(&client, "env-e2e").await?;
    let n = ns.name().to_string();

    // The configuration repository: the seed guestbook as the base, qa at v6, e2e at the base's v5.
    let tmp = tempfile::tempdir()?;
    let repo = GitRepo::create(&tmp.path().join("srv"), &tmp.path().join("work"), "config");
    let mut files: Vec<(String, String)> = Vec::new();
    let mut resources = String::from("resources:\n");
    for entry in std::fs::read_dir(GUESTBOOK)? {
        let name = entry?.file_name().to_string_lossy().to_string();
        files.push((
            format!("base/{name}"),
            std::fs::read_to_string(format!("{GUESTBOOK}/{name}"))?,
        ));
        resources.push_str(&format!("- {name}\n"));
    }
    files.push(("base/kustomization.yaml".into(), resources));
    files.push((
        "envs/qa/kustomization.yaml".into(),
        overlay(qa.name(), Some("v6")),
    ));
    files.push(("envs/e2e/kustomization.yaml".into(), overlay(e2e.name(), None)));
    let refs: Vec<(&str, &str)> = files.iter().map(|(a, b)| (a.as_str(), b.as_str())).collect();
    repo.commit(&refs, "guestbook config");
    let url = format!("file://{}", repo.bare.display());

    for (stage, dest) in [("qa", qa.name()), ("e2e", e2e.name())] {
        run(
            &n,
            &[
                "app",
                "create",
                &format!("guestbook-{stage}"),
                "--repo",
                &url,
                "--path",
                &format!("envs/{stage}"),
                "--dest-namespace",
                dest,
                "--prune",
                "--interval",
                "1m",
            ],
        )?;
    }
    let pipeline = json!({
        "apiVersion": "gitops.tack.dev/v1alpha1", "kind": "Pipeline",
        "metadata": {"name": "guestbook", "namespace": n},
        "spec": {
            "images": [{"name": FRONTEND}],
            "stages": [
                {"name": "qa", "application": {"name": "guestbook-qa"}, "gates": {"soakTime": "1s"}},
                {"name": "e2e", "application": {"name": "guestbook-e2e"}, "autoPromote": true,
                 "requireApproval": true},
            ],
        },
    });
    let pipelines: Api<Pipeline> = Api::namespaced(client.clone(), &n);
    pipelines
        .patch(
            "guestbook",
            &PatchParams::apply("tack-test"),
            &Patch::Apply(&pipeline),
        )
        .await?;

    let log = tmp.path().join("controller.log");
    let _controller = Controller(
        Command::new(env!("CARGO_BIN_EXE_tack"))
            .args([
                "controller",
                "--single-namespace",
                "-n",
                &n,
                "--metrics-addr",
                "off",
            ])
            .arg("--cache-dir")
            .arg(tmp.path().join("cache"))
            .env("KUBECONFIG", tack_testkit::kubeconfig()?)
            .env("NO_COLOR", "1")
            .env_remove("TACK_NAMESPACE")
            .env_remove("TACK_CONFIG")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(File::create(&log)?)
            .spawn()
            .context("starting tack controller")?,
    );
    let controller_log = || std::fs::read_to_string(&log).unwrap_or_default();

    // v6 is verified in qa and waits for approval to enter e2e.
    let row = eventually(Duration::from_secs(180), "e2e waiting for approval", || async {
        let row = status_row(&n, "e2e")?;
        Ok(row.contains("v6: waiting for approval").then_some(row))
    })
    .await
    .with_context(controller_log)?;
    assert!(row.split_whitespace().nth(1) == Some("v5"), "{row}");
    let qa_row = status_row(&n, "qa")?;
    assert!(qa_row.contains("v6") && qa_row.contains("Verified"), "{qa_row}");
    let listed = run(&n, &["env", "list"])?;
    assert!(
        listed.contains("guestbook") && listed.contains("qa=v6 e2e=v5"),
        "{listed}"
    );
    let before = git(&repo.bare, &["rev-parse", "main"]);
    assert_eq!(
        git(&repo.bare, &["rev-list", "--count", "main"]),
        "1",
        "nothing is committed before the approval"
    );

    // Approved: one commit, e2e runs v6, the history names it.
    let out = run(&n, &["env", "approve", "guestbook", "e2e"])?;
    assert!(out.contains("approved: v6 may enter e2e"), "{out}");
    e2e_runs(&n, "v6", &log).await?;
    let approved = git(&repo.bare, &["rev-parse", "main"]);
    assert_eq!(git(&repo.bare, &["rev-parse", "main^"]), before);
    let message = git(&repo.bare, &["log", "-1", "--format=%B", "main"]);
    assert!(message.starts_with("promote v6 to e2e from qa\n"), "{message}");
    assert!(message.contains("Promoted-By: auto, approved"), "{message}");
    let history = eventually(Duration::from_secs(60), "history of e2e", || async {
        let out = run(&n, &["env", "history", "guestbook", "e2e"])?;
        Ok(out.contains(&approved[..12]).then_some(out))
    })
    .await?;
    assert!(history.contains("v6") && history.contains("qa"), "{history}");

    // Rolled back: a new commit back to v5.
    let out = run(&n, &["env", "rollback", "guestbook", "e2e"])?;
    assert!(out.contains("requested: roll e2e back to v5"), "{out}");
    e2e_runs(&n, "v5", &log).await?;
    assert_eq!(git(&repo.bare, &["rev-parse", "main^"]), approved);
    let e2e_file = git(&repo.bare, &["show", "main:envs/e2e/kustomization.yaml"]);
    assert!(e2e_file.contains("newTag: v5"), "{e2e_file}");

    // Promoted again by a person, with the release named.
    let out = run(
        &n,
        &["env", "promote", "guestbook", "--to", "e2e", "--release", "v6"],
    )?;
    assert!(out.contains("requested: promote v6 to e2e"), "{out}");
    e2e_runs(&n, "v6", &log).await?;
    assert_eq!(git(&repo.bare, &["rev-list", "--count", "main"]), "4");

    // Requests that cannot be made say why, and change nothing.
    for (args, words) in [
        (vec!["env", "promote", "nope", "--to", "e2e"], "pipeline"),
        (vec!["env", "promote", "guestbook", "--to", "prod"], "prod"),
        (vec!["env", "promote", "guestbook", "--to", "qa"], "first stage"),
        (
            vec![
                "env",
                "promote",
                "guestbook",
                "--to",
                "e2e",
                "--release",
                "nginx:1",
            ],
            "nginx",
        ),
    ] {
        let mut all = args.clone();
        all.extend(["-n", &n]);
        let out = tack(&all)?;
        ensure!(!out.status.success(), "tack {} succeeded", all.join(" "));
        ensure!(
            text(&out).contains(words),
            "tack {}: {}",
            all.join(" "),
            text(&out)
        );
    }
    assert_eq!(git(&repo.bare, &["rev-list", "--count", "main"]), "4");

    // A release given to the first stage is written into its configuration, then waits for approval at e2e.
    let out = run(
        &n,
        &["env", "promote", "guestbook", "--to", "qa", "--release", "v7"],
    )?;
    assert!(out.contains("requested: promote v7 to qa"), "{out}");
    eventually(Duration::from_secs(120), "v7 waiting to enter e2e", || async {
        let row = status_row(&n, "e2e")?;
        Ok(row.contains("v7: waiting for approval").then_some(()))
    })
    .await
    .with_context(|| std::fs::read_to_string(&log).unwrap_or_default())?;
    let qa_file = git(&repo.bare, &["show", "main:envs/qa/kustomization.yaml"]);
    assert!(qa_file.contains("newTag: v7"), "{qa_file}");
    assert_eq!(git(&repo.bare, &["rev-list", "--count", "main"]), "5");
    Ok(())
}

//! `tack install` and `tack app` as a user runs them (`tack demo`: tests/demo.rs, on a control plane of its own).

use std::process::Command;

use anyhow::{Context, Result};
use serde_json::Value;

use super::{tack, text};
use tack_testkit::git;

/// `tack install --print` parses (kubectl reads it too), and the server-side dry run of every object on the
/// local control plane accepts it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the local control plane"]
async fn install_print_is_accepted_by_the_api_server() -> Result<()> {
    let out = tack(&["install", "--print", "--image", "example.test/tack:dev"])?;
    assert!(out.status.success(), "{}", text(&out));
    let dir = tempfile::tempdir()?;
    let file = dir.path().join("install.yaml");
    std::fs::write(&file, &out.stdout)?;

    // kubectl's own parser reads every document.
    let kubeconfig = tack_testkit::kubeconfig()?;
    let parsed = Command::new("kubectl")
        .args(["apply", "--dry-run=client", "-o", "name", "-f"])
        .arg(&file)
        .env("KUBECONFIG", &kubeconfig)
        .output()
        .context("running kubectl")?;
    assert!(
        parsed.status.success(),
        "{}",
        String::from_utf8_lossy(&parsed.stderr)
    );
    let names = String::from_utf8_lossy(&parsed.stdout).to_string();
    for expected in [
        "customresourcedefinition.apiextensions.k8s.io/gitopsconfigs.gitops.tack.dev",
        "customresourcedefinition.apiextensions.k8s.io/tenantpolicies.gitops.tack.dev",
        "namespace/tack-system",
        "serviceaccount/tack-controller",
        "clusterrole.rbac.authorization.k8s.io/tack-controller",
        "clusterrole.rbac.authorization.k8s.io/tack-controller-apply",
        "clusterrolebinding.rbac.authorization.k8s.io/tack-controller",
        "role.rbac.authorization.k8s.io/tack-controller-leader-election",
        "deployment.apps/tack-controller",
        "service/tack-controller",
    ] {
        assert!(
            names.lines().any(|l| l == expected),
            "{expected} missing from:\n{names}"
        );
    }

    // The locked-down variant parses too.
    let locked = tack(&["install", "--print", "--locked-down"])?;
    assert!(locked.status.success(), "{}", text(&locked));
    let locked_file = dir.path().join("locked.yaml");
    std::fs::write(&locked_file, &locked.stdout)?;
    let parsed = Command::new("kubectl")
        .args(["apply", "--dry-run=client", "-o", "name", "-f"])
        .arg(&locked_file)
        .env("KUBECONFIG", &kubeconfig)
        .output()
        .context("running kubectl")?;
    assert!(
        parsed.status.success(),
        "{}",
        String::from_utf8_lossy(&parsed.stderr)
    );
    std::fs::remove_file(&locked_file)?;

    // Our server-side dry run (objects of tack-system are validated in a stand-in namespace when it does not
    // exist yet): every object accepted, nothing written.
    tack_cluster::install_crypto_provider();
    let client = tack_testkit::client().await?;
    let cluster = tack_cluster::Cluster::from_client(client, "default");
    let (_, manifests) = tack_gitops::render_dir(dir.path(), dir.path())?;
    let mut opts = tack_apply::SyncOptions::new("tack-install", "tack-system");
    opts.dry_run = true;
    opts.inventory = tack_apply::InventoryStore::Caller(Default::default());
    let progress = |_: &str| {};
    let report = tack_apply::sync(&cluster, manifests, &opts, &progress).await?;
    assert_eq!(report.unvalidated, 0, "{report:#?}");
    assert_eq!(report.results.len(), names.lines().count());

    // The CRD's schema covers the spec and status fields users write and read.
    let crd: Value = serde_json::to_value(<tack_model::GitOpsConfig as kube::CustomResourceExt>::crd())?;
    let schema = &crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"];
    for pointer in [
        "/spec/properties/source/properties/repoURL",
        "/spec/properties/syncPolicy/properties/automated/properties/selfHeal",
        "/spec/properties/dependsOn/items/properties/name",
        "/spec/properties/rollback/properties/revision",
        "/status/properties/inventory",
        "/status/properties/history/items/properties/id",
    ] {
        assert!(
            schema.pointer(pointer).is_some(),
            "{pointer} missing from the CRD schema"
        );
    }
    Ok(())
}

/// `deploy/install.yaml` is what `tack install --print` prints with the default image.
#[test]
fn deploy_install_yaml_is_current() -> Result<()> {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_tack"))
        .args(["install", "--print"])
        .output()?;
    assert!(out.status.success(), "{}", text(&out));
    let file = concat!(env!("CARGO_MANIFEST_DIR"), "/../../deploy/install.yaml");
    let committed = std::fs::read_to_string(file)?;
    assert!(
        committed == String::from_utf8_lossy(&out.stdout),
        "deploy/install.yaml is stale: regenerate it with `tack install --print > deploy/install.yaml`"
    );
    Ok(())
}

/// Commits a ConfigMap `web` with `version` and returns the commit.
fn commit_version(work: &std::path::Path, version: &str) -> Result<String> {
    std::fs::create_dir_all(work.join("app"))?;
    std::fs::write(
        work.join("app/web.yaml"),
        format!("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: web\ndata:\n  version: {version}\n"),
    )?;
    git(work, &["add", "-A"])?;
    git(work, &["commit", "-q", "-m", version])?;
    Ok(git(work, &["rev-parse", "HEAD"])?.trim().to_string())
}

/// `tack app history`, `tack app rollback` and `tack app resume` as a user runs them, with the controller
/// running: commit A, commit B, rollback → A, and A stays after commit C; resume → C.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the local control plane"]
async fn app_history_rollback_and_resume() -> Result<()> {
    use kube::api::Api;
    tack_cluster::install_crypto_provider();
    let client = tack_testkit::client().await?;
    let out = tack(&["install", "--crds-only"])?;
    assert!(out.status.success(), "{}", text(&out));
    let ns = tack_testkit::TestNamespace::new(&client, "cli-rollback").await?;
    let repo = tempfile::tempdir()?;
    let work = repo.path();
    git(work, &["init", "-q", "-b", "main"])?;
    let a = commit_version(work, "a")?;
    let cache = tempfile::tempdir()?;
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let config = tack_gitops::ControllerConfig {
        cache_dir: cache.path().to_path_buf(),
        namespace: Some(ns.name().to_string()),
        concurrency: 2,
        lockdown: Default::default(),
    };
    let controller = tokio::spawn(tack_gitops::run(client.clone(), config, async move {
        let _ = stopped.await;
    }));

    let url = format!("file://{}", work.display());
    let out = tack(&[
        "app",
        "create",
        "web",
        "-n",
        ns.name(),
        "--repo",
        &url,
        "--path",
        "app",
        "--prune",
        "--self-heal",
        "--interval",
        "2s",
    ])?;
    assert!(out.status.success(), "{}", text(&out));
    let cms: Api<k8s_openapi::api::core::v1::ConfigMap> = Api::namespaced(client.clone(), ns.name());
    let apps: Api<tack_model::GitOpsConfig> = Api::namespaced(client.clone(), ns.name());
    wait_version(&cms, &apps, "a", &a).await?;
    let b = commit_version(work, "b")?;
    wait_version(&cms, &apps, "b", &b).await?;

    let out = tack(&["app", "history", "web", "-n", ns.name()])?;
    let history = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(out.status.success(), "{}", text(&out));
    assert!(history.starts_with("ID"), "{history}");
    assert!(history.contains(&a) && history.contains(&b), "{history}");
    assert!(history.contains("Succeeded (current)"), "{history}");

    let out = tack(&["app", "rollback", "web", "-n", ns.name()])?;
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stdout).contains(&a),
        "{}",
        text(&out)
    );
    wait_version(&cms, &apps, "a", &a).await?;
    let out = tack(&["app", "get", "web", "-n", ns.name()])?;
    let get = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(
        get.contains("RolledBack") && get.contains("tack app resume web"),
        "{get}"
    );

    let c = commit_version(work, "c")?;
    tokio::time::sleep(std::time::Duration::from_secs(6)).await;
    assert_eq!(
        version(&cms).await?.as_deref(),
        Some("a"),
        "commit C applied during the rollback"
    );

    let out = tack(&["app", "resume", "web", "-n", ns.name()])?;
    assert!(out.status.success(), "{}", text(&out));
    wait_version(&cms, &apps, "c", &c).await?;

    let _ = stop.send(());
    tokio::time::timeout(std::time::Duration::from_secs(30), controller).await??;
    Ok(())
}

async fn version(cms: &kube::Api<k8s_openapi::api::core::v1::ConfigMap>) -> Result<Option<String>> {
    Ok(cms
        .get_opt("web")
        .await?
        .and_then(|c| c.data)
        .and_then(|d| d.get("version").cloned()))
}

/// Waits until the ConfigMap holds `want` and the application is synced at `revision`.
async fn wait_version(
    cms: &kube::Api<k8s_openapi::api::core::v1::ConfigMap>,
    apps: &kube::Api<tack_model::GitOpsConfig>,
    want: &str,
    revision: &str,
) -> Result<()> {
    let what = format!("version {want} at {revision}");
    tack_testkit::eventually(std::time::Duration::from_secs(30), &what, || async {
        let s = apps.get("web").await?.status.unwrap_or_default();
        let at = s.sync.and_then(|x| x.revision).as_deref() == Some(revision);
        Ok((at && version(cms).await?.as_deref() == Some(want)).then_some(()))
    })
    .await
}

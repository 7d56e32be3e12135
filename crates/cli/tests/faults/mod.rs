//! The fault suite: `tack controller` (the built binary) is interrupted mid-work — its API server or etcd killed,
//! its Git server stopped, flapping or answering garbage, the controller itself SIGKILLed, its cache deleted,
//! corrupted or full — and each test checks what must hold afterwards (docs/reliability.md, Faults). Tests that
//! kill a control-plane component start a control plane of their own; the others use the shared test cluster
//! and a namespace of their own. Every process a test starts is killed when the test ends, also on failure.

mod cache;
mod control_plane;
mod controller;
mod delivery;
mod git;

use std::collections::BTreeSet;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use k8s_openapi::api::core::v1::{ConfigMap, Namespace};
use kube::api::{Api, ListParams, Patch, PatchParams, PostParams};
use serde_json::json;
use tack_model::{GitOpsConfig, SyncState};
use tack_testkit::eventually;

/// Label every ConfigMap of the generated applications carries (the inventory's own ConfigMaps do not).
const GENERATED: &str = "tack.dev/fault-test";

/// Writes `app/cms-NN.yaml`: ConfigMaps `cm-0000` … for the indexes in `indexes`, 100 per file, each with
/// `data.v = value`, and commits everything; returns the commit.
fn commit_config_maps(
    repo: &tack_testkit::GitRepo,
    indexes: std::ops::Range<usize>,
    value: &str,
) -> Result<String> {
    let dir = repo.work().join("app");
    if dir.exists() {
        std::fs::remove_dir_all(&dir)?;
    }
    std::fs::create_dir_all(&dir)?;
    let mut files: std::collections::BTreeMap<usize, String> = Default::default();
    for i in indexes {
        files.entry(i / 100).or_default().push_str(&format!(
            "---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm-{i:04}\n  labels:\n    {GENERATED}: \"true\"\n\
             data:\n  v: \"{value}\"\n"
        ));
    }
    for (n, text) in files {
        std::fs::write(dir.join(format!("cms-{n:02}.yaml")), text)?;
    }
    repo.commit("main", value)
}

/// The GitOpsConfig `name` in `ns` for `repo_url`'s `app` directory: automated with prune, a short interval
/// and a short backoff (1 s doubling up to 4 s), so that recoveries are quick to observe.
async fn apply_app(client: &kube::Client, ns: &str, name: &str, repo_url: &str) -> Result<()> {
    let apps: Api<GitOpsConfig> = Api::namespaced(client.clone(), ns);
    let app = json!({
        "apiVersion": "gitops.tack.dev/v1alpha1",
        "kind": "GitOpsConfig",
        "metadata": {"name": name, "namespace": ns},
        "spec": {
            "source": {"repoURL": repo_url, "revision": "main", "path": "app"},
            "destination": {"namespace": ns},
            "syncPolicy": {
                "interval": "3s",
                "automated": {"prune": true},
                "retry": {"backoff": {"duration": "1s", "factor": 2, "maxDuration": "4s"}},
            },
        },
    });
    apps.patch(name, &PatchParams::apply("tack-test"), &Patch::Apply(&app))
        .await?;
    Ok(())
}

/// The application's status, `None` before the controller wrote one.
async fn status(
    client: &kube::Client,
    ns: &str,
    name: &str,
) -> Result<Option<tack_model::GitOpsConfigStatus>> {
    let apps: Api<GitOpsConfig> = Api::namespaced(client.clone(), ns);
    Ok(apps.get_opt(name).await?.and_then(|a| a.status))
}

/// `(status, reason, message)` of the Ready condition.
fn ready(s: &tack_model::GitOpsConfigStatus) -> Option<(String, String, String)> {
    s.conditions
        .iter()
        .find(|c| c.type_ == "Ready")
        .map(|c| (c.status.clone(), c.reason.clone(), c.message.clone()))
}

/// Waits until the application is Synced at `commit` and Ready.
async fn wait_synced(
    client: &kube::Client,
    ns: &str,
    name: &str,
    commit: &str,
    within: Duration,
) -> Result<Duration> {
    let started = Instant::now();
    eventually(within, &format!("{name} Synced at {commit}"), || async {
        let Some(s) = status(client, ns, name).await? else {
            return Ok(None);
        };
        let synced = s
            .sync
            .as_ref()
            .is_some_and(|y| y.status == SyncState::Synced && y.revision.as_deref() == Some(commit));
        let is_ready = ready(&s).is_some_and(|(status, _, _)| status == "True");
        Ok((synced && is_ready).then_some(()))
    })
    .await?;
    Ok(started.elapsed())
}

/// The generated ConfigMaps in `ns`: name → (uid, data.v).
async fn generated(
    client: &kube::Client,
    ns: &str,
) -> Result<std::collections::BTreeMap<String, (String, String)>> {
    let cms: Api<ConfigMap> = Api::namespaced(client.clone(), ns);
    let list = cms
        .list(&ListParams::default().labels(&format!("{GENERATED}=true")))
        .await?;
    Ok(list
        .items
        .into_iter()
        .map(|c| {
            let v = c
                .data
                .as_ref()
                .and_then(|d| d.get("v").cloned())
                .unwrap_or_default();
            (
                c.metadata.name.unwrap_or_default(),
                (c.metadata.uid.unwrap_or_default(), v),
            )
        })
        .collect())
}

/// How many generated ConfigMaps exist (metadata only: cheap enough to poll).
async fn count_generated(client: &kube::Client, ns: &str) -> Result<usize> {
    let cms: Api<ConfigMap> = Api::namespaced(client.clone(), ns);
    Ok(cms
        .list_metadata(&ListParams::default().labels(&format!("{GENERATED}=true")))
        .await?
        .items
        .len())
}

/// The names of the ConfigMaps the application's inventory lists (read from its ConfigMaps
/// `tack-gitops-inventory-NAME`, `.1`, … in the documented format: one `<namespace>_<name>_<group>_<kind>` per
/// line).
async fn inventory_config_maps(client: &kube::Client, ns: &str, app: &str) -> Result<BTreeSet<String>> {
    let cms: Api<ConfigMap> = Api::namespaced(client.clone(), ns);
    let head = format!("tack-gitops-inventory-{app}");
    let mut names = BTreeSet::new();
    for cm in cms.list(&ListParams::default()).await?.items {
        let name = cm.metadata.name.clone().unwrap_or_default();
        if name != head && !name.starts_with(&format!("{head}.")) {
            continue;
        }
        let text = cm
            .data
            .as_ref()
            .and_then(|d| d.get("objects").cloned())
            .unwrap_or_default();
        for line in text.lines().map(str::trim).filter(|l| !l.is_empty()) {
            let Some(rest) = line.strip_prefix(&format!("{ns}_")) else {
                bail!("inventory line of another namespace: {line}");
            };
            let Some(object) = rest.strip_suffix("__ConfigMap") else {
                bail!("inventory line that is not a ConfigMap: {line}");
            };
            names.insert(object.to_string());
        }
    }
    Ok(names)
}

/// Everything must hold after a fault: exactly the ConfigMaps of `indexes` exist, each once with `value`, and the
/// inventory lists exactly them.
async fn assert_exactly(
    client: &kube::Client,
    ns: &str,
    app: &str,
    indexes: std::ops::Range<usize>,
    value: &str,
) -> Result<()> {
    let live = generated(client, ns).await?;
    let want: BTreeSet<String> = indexes.map(|i| format!("cm-{i:04}")).collect();
    let have: BTreeSet<String> = live.keys().cloned().collect();
    let missing: Vec<_> = want.difference(&have).collect();
    let extra: Vec<_> = have.difference(&want).collect();
    anyhow::ensure!(
        missing.is_empty() && extra.is_empty(),
        "ConfigMaps missing: {missing:?}; left behind: {extra:?}"
    );
    let stale: Vec<_> = live
        .iter()
        .filter(|(_, (_, v))| v != value)
        .map(|(n, _)| n)
        .collect();
    anyhow::ensure!(stale.is_empty(), "ConfigMaps without v={value}: {stale:?}");
    let inventory = inventory_config_maps(client, ns, app).await?;
    anyhow::ensure!(
        inventory == want,
        "inventory differs from the objects: {} listed, {} expected; not listed: {:?}; listed but not in Git: {:?}",
        inventory.len(),
        want.len(),
        want.difference(&inventory).take(10).collect::<Vec<_>>(),
        inventory.difference(&want).take(10).collect::<Vec<_>>()
    );
    Ok(())
}

/// `tack install --crds-only` against `kubeconfig`.
fn install_crds(kubeconfig: &Path) -> Result<()> {
    let out = Command::new(env!("CARGO_BIN_EXE_tack"))
        .args(["install", "--crds-only"])
        .env("KUBECONFIG", kubeconfig)
        .env_remove("TACK_CONFIG")
        .output()?;
    anyhow::ensure!(
        out.status.success(),
        "tack install --crds-only: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    Ok(())
}

/// Creates namespace `name` (on a control plane of the test's own).
async fn create_namespace(client: &kube::Client, name: &str) -> Result<()> {
    let api: Api<Namespace> = Api::all(client.clone());
    let ns: Namespace = serde_json::from_value(json!({"metadata": {"name": name}}))?;
    api.create(&PostParams::default(), &ns).await?;
    Ok(())
}

/// One `tack controller --single-namespace` process, its log in a file; killed when dropped.
struct Controller {
    child: Child,
    log: PathBuf,
}

impl Controller {
    /// Starts `tack controller` for namespace `ns` with `cache` as its cache directory.
    fn start(kubeconfig: &Path, ns: &str, cache: &Path, log: &Path) -> Result<Controller> {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_tack"));
        cmd.args([
            "controller",
            "--single-namespace",
            "-n",
            ns,
            "--metrics-addr",
            "off",
        ])
        .arg("--cache-dir")
        .arg(cache);
        Controller::spawn(cmd, kubeconfig, log)
    }

    /// Starts `command` (a `tack controller` command line, maybe wrapped) with its output in `log` (appended).
    fn spawn(mut command: Command, kubeconfig: &Path, log: &Path) -> Result<Controller> {
        let file = File::options().create(true).append(true).open(log)?;
        let child = command
            .env("KUBECONFIG", kubeconfig)
            .env("NO_COLOR", "1")
            .env_remove("TACK_NAMESPACE")
            .env_remove("TACK_CONFIG")
            .env_remove("TACK_LOG")
            .env_remove("TACK_CACHE_DIR")
            .env_remove("POD_NAMESPACE")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(file)
            .spawn()
            .context("starting tack controller")?;
        Ok(Controller {
            child,
            log: log.to_path_buf(),
        })
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// `kill -9`, then waits for the process to be gone.
    fn kill(&mut self) -> Result<()> {
        self.child.kill()?;
        self.child.wait()?;
        Ok(())
    }
}

impl Drop for Controller {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// Polls `check` every 20 ms until it is true (for catching a process mid-work), failing after `within`.
async fn poll_until<F, Fut>(within: Duration, what: &str, mut check: F) -> Result<()>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<bool>>,
{
    let deadline = Instant::now() + within;
    loop {
        if let Ok(true) = check().await {
            return Ok(());
        }
        if Instant::now() > deadline {
            bail!("{what}: not reached within {within:?}");
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// A scratch directory under the system's temporary directory, for caches and logs.
fn scratch() -> Result<tempfile::TempDir> {
    Ok(tempfile::tempdir()?)
}

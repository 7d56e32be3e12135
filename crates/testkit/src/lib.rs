//! Test fixtures for tests that need a real Kubernetes API server.
//!
//! [`kubeconfig`] finds the cluster once per test process: when `KUBECONFIG` points at a reachable
//! cluster (for example one started by `tack dev up` or by `scripts/test.sh`) it is reused; otherwise
//! the default local control plane is started (like `tack dev up`, and left running for the next test
//! binary; `tack dev down` stops it). [`client`] gives each test its own client (clients are bound to the
//! runtime that made them, and every `#[tokio::test]` has its own runtime). [`TestNamespace`] creates a
//! fresh namespace and deletes it when dropped, even when the test panics.
//!
//! Cluster tests are marked `#[ignore = "needs the local control plane"]` and run with
//! `cargo test -- --include-ignored` (scripts/test.sh does).

#![warn(missing_docs)]

pub mod charts;
pub mod gitserver;

use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use k8s_openapi::api::core::v1::{Namespace, ServiceAccount};
use kube::api::{Api, DeleteParams, ObjectMeta, PostParams};
use kube::config::{KubeConfigOptions, Kubeconfig};
use tack_controlplane::{LocalCluster, UpOptions};

static KUBECONFIG: OnceLock<std::result::Result<PathBuf, String>> = OnceLock::new();

/// The kubeconfig of the cluster the tests of this process use, starting the local control plane if
/// `KUBECONFIG` names no reachable cluster.
pub fn kubeconfig() -> Result<PathBuf> {
    let found = KUBECONFIG.get_or_init(|| {
        // A fresh thread with its own runtime: this may be called from inside any test's runtime.
        std::thread::spawn(|| {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(|e| e.to_string())?;
            rt.block_on(find_or_start()).map_err(|e| format!("{e:#}"))
        })
        .join()
        .unwrap_or_else(|_| Err("the thread starting the control plane panicked".to_string()))
    });
    match found {
        Ok(p) => Ok(p.clone()),
        Err(e) => bail!("no cluster for the tests: {e}"),
    }
}

async fn find_or_start() -> Result<PathBuf> {
    install_crypto_provider();
    if let Some(path) = std::env::var_os("KUBECONFIG")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
    {
        let path = first_path(&path);
        if path.exists() && reachable(&path).await {
            return Ok(path);
        }
        eprintln!(
            "testkit: KUBECONFIG={} names no reachable cluster; starting the local control plane",
            path.display()
        );
    }
    let cluster = LocalCluster::from_env()?;
    let report = cluster
        .up(&UpOptions::default(), &mut |line| eprintln!("testkit: {line}"))
        .await
        .context("starting the local control plane for the tests")?;
    Ok(report.state.kubeconfig)
}

/// `KUBECONFIG` may hold a list; the first entry holds the cluster.
fn first_path(value: &Path) -> PathBuf {
    std::env::split_paths(value.as_os_str())
        .next()
        .unwrap_or_else(|| value.to_path_buf())
}

async fn reachable(path: &Path) -> bool {
    match client_from(path).await {
        Ok(c) => tokio::time::timeout(Duration::from_secs(5), c.apiserver_version())
            .await
            .is_ok_and(|r| r.is_ok()),
        Err(_) => false,
    }
}

fn install_crypto_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

async fn client_from(path: &Path) -> Result<kube::Client> {
    let kc = Kubeconfig::read_from(path).with_context(|| format!("reading {}", path.display()))?;
    let config = kube::Config::from_custom_kubeconfig(kc, &KubeConfigOptions::default()).await?;
    Ok(kube::Client::try_from(config)?)
}

/// A client on the test cluster, bound to the calling test's runtime.
pub async fn client() -> Result<kube::Client> {
    let path = tokio::task::spawn_blocking(kubeconfig).await??;
    client_from(&path).await
}

/// A namespace created for one test and deleted when dropped.
pub struct TestNamespace {
    name: String,
    kubeconfig: PathBuf,
}

impl TestNamespace {
    /// Creates `tack-test-<prefix>-<random>` and waits for its `default` ServiceAccount (pods created
    /// directly are refused until it exists).
    pub async fn new(client: &kube::Client, prefix: &str) -> Result<Self> {
        let suffix = unique_suffix();
        let name = format!("tack-test-{prefix}-{suffix}");
        let kubeconfig = tokio::task::spawn_blocking(kubeconfig).await??;
        let namespaces: Api<Namespace> = Api::all(client.clone());
        let ns = Namespace {
            metadata: ObjectMeta {
                name: Some(name.clone()),
                labels: Some([("tack.dev/test".to_string(), "true".to_string())].into()),
                ..Default::default()
            },
            ..Default::default()
        };
        namespaces
            .create(&PostParams::default(), &ns)
            .await
            .with_context(|| format!("creating namespace {name}"))?;
        let this = TestNamespace { name, kubeconfig };
        let accounts: Api<ServiceAccount> = Api::namespaced(client.clone(), &this.name);
        let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
        while accounts.get_opt("default").await?.is_none() {
            if tokio::time::Instant::now() > deadline {
                bail!(
                    "namespace {}: the default ServiceAccount did not appear within 30 s",
                    this.name
                );
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        Ok(this)
    }

    /// The namespace's name.
    pub fn name(&self) -> &str {
        &self.name
    }
}

impl Drop for TestNamespace {
    fn drop(&mut self) {
        let name = self.name.clone();
        let path = self.kubeconfig.clone();
        // Deleting needs async calls; do them on a thread of their own so this works inside and
        // outside a runtime, and after a panic.
        let _ = std::thread::spawn(move || {
            let Ok(rt) = tokio::runtime::Builder::new_current_thread().enable_all().build() else {
                return;
            };
            rt.block_on(async move {
                if let Ok(client) = client_from(&path).await {
                    let api: Api<Namespace> = Api::all(client);
                    if let Err(e) = api.delete(&name, &DeleteParams::background()).await {
                        eprintln!("testkit: could not delete namespace {name}: {e}");
                    }
                }
            });
        })
        .join();
    }
}

fn unique_suffix() -> String {
    use std::sync::atomic::{AtomicU32, Ordering};
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    format!("{:x}{:x}{n}", std::process::id() % 0xfff, nanos % 0xfffff)
}

/// Polls `check` every 250 ms until it returns `Some`, or fails after `within` with `what` in the error.
pub async fn eventually<T, F, Fut>(within: Duration, what: &str, mut check: F) -> Result<T>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<Option<T>>>,
{
    let deadline = tokio::time::Instant::now() + within;
    let mut last_err = None;
    loop {
        match check().await {
            Ok(Some(v)) => return Ok(v),
            Ok(None) => {}
            Err(e) => last_err = Some(e),
        }
        if tokio::time::Instant::now() > deadline {
            match last_err {
                Some(e) => bail!("{what}: not reached within {within:?} (last error: {e:#})"),
                None => bail!("{what}: not reached within {within:?}"),
            }
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// Runs `git ARGS` in `dir` with a configuration of its own (no system or global configuration, a fixed author
/// and committer) and returns its standard output; a failure carries git's standard error.
pub fn git(dir: &Path, args: &[&str]) -> Result<String> {
    let out = std::process::Command::new("git")
        .args(args)
        .current_dir(dir)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("HOME", dir)
        .env("GIT_AUTHOR_NAME", "tack test")
        .env("GIT_AUTHOR_EMAIL", "test@tack.invalid")
        .env("GIT_COMMITTER_NAME", "tack test")
        .env("GIT_COMMITTER_EMAIL", "test@tack.invalid")
        .output()
        .context("running git")?;
    if !out.status.success() {
        bail!("git {}: {}", args.join(" "), String::from_utf8_lossy(&out.stderr));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// A Git repository for tests: a bare repository (what the code under test fetches, as `file://`) and a working
/// tree that commits and pushes to it. Both live in a temporary directory removed on drop.
pub struct GitRepo {
    _dir: tempfile::TempDir,
    work: PathBuf,
    bare: PathBuf,
}

impl GitRepo {
    /// An empty bare repository whose default branch is `main`, and an empty working tree.
    pub fn new() -> Result<GitRepo> {
        let dir = tempfile::tempdir()?;
        let work = dir.path().join("work");
        let bare = dir.path().join("repo.git");
        std::fs::create_dir_all(&work)?;
        git(
            dir.path(),
            &["init", "--quiet", "--bare", "-b", "main", "repo.git"],
        )?;
        git(&work, &["init", "--quiet", "-b", "main"])?;
        Ok(GitRepo {
            _dir: dir,
            work,
            bare,
        })
    }

    /// The working tree: write files here, then [`GitRepo::commit`].
    pub fn work(&self) -> &Path {
        &self.work
    }

    /// The bare repository.
    pub fn bare(&self) -> &Path {
        &self.bare
    }

    /// `file://` URL of the bare repository.
    pub fn url(&self) -> String {
        format!("file://{}", self.bare.display())
    }

    /// Commits everything in the working tree (an empty commit when nothing changed), pushes it to `branch` of
    /// the bare repository and returns the commit.
    pub fn commit(&self, branch: &str, message: &str) -> Result<String> {
        git(&self.work, &["add", "-A"])?;
        git(&self.work, &["commit", "--quiet", "--allow-empty", "-m", message])?;
        let bare = self.bare.display().to_string();
        git(
            &self.work,
            &["push", "--quiet", &bare, &format!("HEAD:refs/heads/{branch}")],
        )?;
        Ok(git(&self.work, &["rev-parse", "HEAD"])?.trim().to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suffixes_are_unique_and_dns_safe() {
        let a = unique_suffix();
        let b = unique_suffix();
        assert_ne!(a, b);
        assert!(a.chars().all(|c| c.is_ascii_hexdigit() || c.is_ascii_digit()));
    }

    #[test]
    fn first_entry_of_a_kubeconfig_list() {
        assert_eq!(first_path(Path::new("/a:/b")), PathBuf::from("/a"));
        assert_eq!(first_path(Path::new("/a")), PathBuf::from("/a"));
    }
}

//! kube-apiserver and etcd killed (`kill -9`) in the middle of a 1 000-object sync by `tack controller`, on a
//! control plane created for this test alone (the shared test cluster is never touched): the killed component is
//! started again on its data, and the sync resumes and ends Synced with every object exactly once and the
//! inventory equal to the objects.

use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use tack_controlplane::{Component, Layout, LocalCluster, State, UpOptions, Versions};

use super::{
    Controller, apply_app, assert_exactly, commit_config_maps, count_generated, create_namespace,
    install_crds, poll_until, scratch, wait_synced,
};

/// A control plane in a directory of its own, stopped and removed when dropped.
struct OwnControlPlane {
    cluster: LocalCluster,
    _dir: tempfile::TempDir,
}

impl OwnControlPlane {
    async fn start() -> Result<OwnControlPlane> {
        let dir = scratch()?;
        let cache = Layout::default_for(&Versions::pinned())?.cache;
        let cluster = LocalCluster::new(Layout::new(cache, dir.path().join("state")));
        let opts = UpOptions {
            nodes: 1,
            ..UpOptions::default()
        };
        cluster
            .up(&opts, &mut |line| eprintln!("own control plane: {line}"))
            .await
            .context("starting a control plane for the test")?;
        Ok(OwnControlPlane { cluster, _dir: dir })
    }

    /// `kill -9` of `component`, as a crash would.
    fn kill(&self, component: Component) -> Result<u32> {
        let state = State::load(&self.cluster.layout().state_file())?.context("no state recorded")?;
        let pid = state
            .record(component)
            .with_context(|| format!("{component:?} not recorded"))?
            .pid;
        let ok = std::process::Command::new("kill")
            .args(["-KILL", &pid.to_string()])
            .status()?
            .success();
        anyhow::ensure!(ok, "kill -9 {pid} ({component:?})");
        Ok(pid)
    }

    /// Starts the dead components again (same ports, same data).
    async fn restart(&self) -> Result<Duration> {
        let started = Instant::now();
        let report = self
            .cluster
            .up(&UpOptions::default(), &mut |line| {
                eprintln!("own control plane: {line}")
            })
            .await
            .context("restarting the killed component")?;
        anyhow::ensure!(!report.restarted.is_empty(), "nothing was restarted");
        Ok(started.elapsed())
    }
}

impl Drop for OwnControlPlane {
    fn drop(&mut self) {
        if let Err(e) = self.cluster.down(false) {
            eprintln!("cannot stop the test's control plane: {e}");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the local control plane"]
async fn apiserver_and_etcd_killed_mid_sync_the_sync_resumes_and_nothing_is_lost_or_duplicated() -> Result<()>
{
    tack_cluster::install_crypto_provider();
    let plane = OwnControlPlane::start().await?;
    let kubeconfig = plane.cluster.layout().kubeconfig();
    let client = plane.cluster.client().await?;
    install_crds(&kubeconfig)?;
    let ns = "faults";
    create_namespace(&client, ns).await?;
    let repo = tack_testkit::GitRepo::new()?;
    let first = commit_config_maps(&repo, 0..1000, "one")?;
    let work = scratch()?;
    let _controller = Controller::start(
        &kubeconfig,
        ns,
        &work.path().join("cache"),
        &work.path().join("log"),
    )?;
    apply_app(&client, ns, "bulk", &repo.url()).await?;

    // 1. kube-apiserver killed once 200 of the 1 000 objects exist.
    poll_until(Duration::from_secs(240), "200 objects created", || async {
        Ok(count_generated(&client, ns).await? >= 200)
    })
    .await?;
    let at = count_generated(&client, ns).await?;
    plane.kill(Component::KubeApiserver)?;
    let killed = Instant::now();
    assert!(at < 1000, "the sync had ended before the kill ({at} objects)");
    tokio::time::sleep(Duration::from_secs(2)).await;
    let restart = plane.restart().await?;
    let synced = wait_synced(&client, ns, "bulk", &first, Duration::from_secs(180)).await;
    let log = std::fs::read_to_string(work.path().join("log")).unwrap_or_default();
    synced.with_context(|| format!("controller log:\n{}", tail(&log)))?;
    eprintln!(
        "kube-apiserver killed at {at}/1000 objects: restarted in {restart:?}, Synced {:?} after the kill",
        killed.elapsed()
    );
    assert_exactly(&client, ns, "bulk", 0..1000, "one").await?;

    // 2. etcd killed during a commit that creates 500 objects, changes 500 and prunes 500: once 100 of the new
    //    ones exist.
    let second = commit_config_maps(&repo, 500..1500, "two")?;
    poll_until(Duration::from_secs(240), "100 new objects created", || async {
        Ok(count_generated(&client, ns).await? >= 1100)
    })
    .await?;
    let at = count_generated(&client, ns).await?;
    plane.kill(Component::Etcd)?;
    let killed = Instant::now();
    assert!(at < 1500, "the sync had ended before the kill ({at} objects)");
    tokio::time::sleep(Duration::from_secs(2)).await;
    let restart = plane.restart().await?;
    let synced = wait_synced(&client, ns, "bulk", &second, Duration::from_secs(180)).await;
    let log = std::fs::read_to_string(work.path().join("log")).unwrap_or_default();
    synced.with_context(|| format!("controller log:\n{}", tail(&log)))?;
    eprintln!(
        "etcd killed at {at}/1500 objects (1 000 before the commit): restarted in {restart:?}, Synced {:?} after the kill",
        killed.elapsed()
    );
    assert_exactly(&client, ns, "bulk", 500..1500, "two").await?;
    Ok(())
}

/// The last 60 lines of a log.
fn tail(log: &str) -> String {
    let lines: Vec<&str> = log.lines().collect();
    lines[lines.len().saturating_sub(60)..].join("\n")
}

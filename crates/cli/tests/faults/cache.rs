//! The cache directory of `tack controller` deleted and corrupted while it runs (the next commit is fetched
//! again and applied), and its disk full (a tmpfs of 1 MiB in a mount namespace of the controller's own): the
//! error is the application's condition, the last good state stays in the cluster, and nothing half-written
//! stays behind: once the commit fits again it is applied.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use tack_testkit::TestNamespace;

use super::{Controller, apply_app, assert_exactly, commit_config_maps, ready, scratch, status, wait_synced};

/// Overwrites every file under `dir` with bytes that are no Git data (keeping the directories).
fn corrupt(dir: &Path) -> Result<usize> {
    let mut count = 0;
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            count += corrupt(&path)?;
        } else {
            std::fs::write(&path, b"\x00garbage\xff not git\n")?;
            count += 1;
        }
    }
    Ok(count)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the local control plane"]
async fn cache_deleted_or_corrupted_while_running_is_fetched_again() -> Result<()> {
    tack_cluster::install_crypto_provider();
    let client = tack_testkit::client().await?;
    let kubeconfig = tack_testkit::kubeconfig()?;
    super::install_crds(&kubeconfig)?;
    let ns = TestNamespace::new(&client, "fault-cache").await?;
    let ns = ns.name().to_string();
    let repo = tack_testkit::GitRepo::new()?;
    let first = commit_config_maps(&repo, 0..3, "one")?;
    let work = scratch()?;
    let cache = work.path().join("cache");
    let controller = Controller::start(&kubeconfig, &ns, &cache, &work.path().join("log"))?;
    apply_app(&client, &ns, "app", &repo.url()).await?;
    wait_synced(&client, &ns, "app", &first, Duration::from_secs(60)).await?;

    // 1. The whole cache directory deleted.
    std::fs::remove_dir_all(&cache)?;
    let second = commit_config_maps(&repo, 0..3, "two")?;
    let started = Instant::now();
    let synced = wait_synced(&client, &ns, "app", &second, Duration::from_secs(30)).await;
    synced.map_err(|e| e.context(controller.log()))?;
    eprintln!(
        "cache deleted: the next commit Synced after {:?}",
        started.elapsed()
    );
    assert_exactly(&client, &ns, "app", 0..3, "two").await?;
    anyhow::ensure!(cache.join("mirrors").is_dir(), "the mirror was not fetched again");

    // 2. Every file of the Git mirror overwritten with garbage.
    let files = corrupt(&cache.join("mirrors"))?;
    let third = commit_config_maps(&repo, 0..3, "three")?;
    let started = Instant::now();
    let synced = wait_synced(&client, &ns, "app", &third, Duration::from_secs(30)).await;
    synced.map_err(|e| e.context(controller.log()))?;
    eprintln!(
        "mirror corrupted ({files} files): the next commit Synced after {:?}",
        started.elapsed()
    );
    assert_exactly(&client, &ns, "app", 0..3, "three").await?;
    Ok(())
}

/// `tack controller` with its cache on a tmpfs of `size` mounted in a mount namespace of its own (a user
/// namespace too, so no privilege is needed where unprivileged user namespaces are allowed).
fn controller_on_tmpfs(
    kubeconfig: &Path,
    ns: &str,
    cache: &Path,
    log: &Path,
    size: &str,
) -> Result<Controller> {
    let mut cmd = Command::new("unshare");
    cmd.args(["--user", "--map-root-user", "--mount", "sh", "-c"])
        .arg(format!(
            "mount -t tmpfs -o size={size} tmpfs \"$1\" && shift && exec \"$@\""
        ))
        .arg("sh")
        .arg(cache)
        .arg(env!("CARGO_BIN_EXE_tack"))
        .args([
            "controller",
            "--single-namespace",
            "-n",
            ns,
            "--metrics-addr",
            "off",
            "--cache-dir",
        ])
        .arg(cache);
    Controller::spawn(cmd, kubeconfig, log)
}

/// Writes `size` bytes of incompressible data to `path` (a Git blob the pack cannot shrink).
fn random_file(path: &Path, size: usize) -> Result<()> {
    let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
    let bytes: Vec<u8> = (0..size)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state >> 24) as u8
        })
        .collect();
    std::fs::create_dir_all(path.parent().context("no parent")?)?;
    std::fs::write(path, bytes)?;
    Ok(())
}

/// Waits until Ready is False with a message containing one of `needles` and other than `unlike`; returns the
/// message.
async fn wait_failure(
    client: &kube::Client,
    ns: &str,
    app: &str,
    needles: &[&str],
    unlike: &str,
) -> Result<String> {
    tack_testkit::eventually(
        Duration::from_secs(60),
        "Ready=False naming the full disk",
        || async {
            let Some(s) = status(client, ns, app).await? else {
                return Ok(None);
            };
            Ok(ready(&s)
                .filter(|(st, _, m)| st == "False" && m != unlike && needles.iter().any(|n| m.contains(n)))
                .map(|(_, _, m)| m))
        },
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the local control plane"]
async fn a_full_cache_disk_is_a_condition_and_leaves_nothing_half_written() -> Result<()> {
    tack_cluster::install_crypto_provider();
    let usable = Command::new("unshare")
        .args(["--user", "--map-root-user", "--mount", "true"])
        .status()
        .is_ok_and(|s| s.success());
    anyhow::ensure!(
        usable,
        "`unshare --user --map-root-user --mount` is refused here: the full-disk test needs a mount namespace"
    );
    let client = tack_testkit::client().await?;
    let kubeconfig = tack_testkit::kubeconfig()?;
    super::install_crds(&kubeconfig)?;
    let ns = TestNamespace::new(&client, "fault-disk").await?;
    let ns = ns.name().to_string();
    let repo = tack_testkit::GitRepo::new()?;
    let first = commit_config_maps(&repo, 0..3, "one")?;
    let work = scratch()?;
    let cache = work.path().join("cache");
    std::fs::create_dir_all(&cache)?;
    let controller = controller_on_tmpfs(&kubeconfig, &ns, &cache, &work.path().join("log"), "1m")?;
    apply_app(&client, &ns, "app", &repo.url()).await?;
    let synced = wait_synced(&client, &ns, "app", &first, Duration::from_secs(60)).await;
    synced.map_err(|e| e.context(controller.log()))?;
    let full = ["No space left on device", "no space left on device"];

    // 1. A commit whose pack does not fit (2 MiB of random bytes beside the application).
    random_file(&repo.work().join("blob/random.bin"), 2 << 20)?;
    commit_config_maps(&repo, 0..3, "two")?;
    let fetching = wait_failure(&client, &ns, "app", &full, "").await?;
    eprintln!("cache disk full while fetching: {fetching}");
    assert_exactly(&client, &ns, "app", 0..3, "one").await?;

    // 2. A commit whose pack fits but whose checkout does not (3 MiB that compress to almost nothing).
    std::fs::remove_dir_all(repo.work().join("blob"))?;
    std::fs::create_dir_all(repo.work().join("blob"))?;
    std::fs::write(repo.work().join("blob/zeros.txt"), vec![b'0'; 3 << 20])?;
    commit_config_maps(&repo, 0..3, "three")?;
    let message = wait_failure(&client, &ns, "app", &full, &fetching).await?;
    eprintln!("cache disk full while checking out: {message}");
    assert_exactly(&client, &ns, "app", 0..3, "one").await?;

    // 3. The next commit fits: applied, so nothing of the failed fetch and checkout was left filling the disk.
    std::fs::remove_dir_all(repo.work().join("blob"))?;
    let fourth = commit_config_maps(&repo, 0..3, "four")?;
    let synced = wait_synced(&client, &ns, "app", &fourth, Duration::from_secs(60)).await;
    synced.map_err(|e| e.context(controller.log()))?;
    assert_exactly(&client, &ns, "app", 0..3, "four").await?;
    Ok(())
}

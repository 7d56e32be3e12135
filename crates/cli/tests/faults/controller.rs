//! `tack controller` SIGKILLed in the middle of a 1 000-object sync and in the middle of pruning 400 of them: a
//! new process on the same cache ends Synced with exactly the objects of Git, the inventory equal to them, and
//! none of the objects Git still has deleted (their uids are unchanged).

use std::time::{Duration, Instant};

use anyhow::Result;
use tack_testkit::TestNamespace;

use super::{
    Controller, apply_app, assert_exactly, commit_config_maps, count_generated, generated, poll_until,
    scratch, wait_synced,
};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the local control plane"]
async fn controller_killed_mid_sync_and_mid_prune_ends_synced_with_nothing_left_behind() -> Result<()> {
    tack_cluster::install_crypto_provider();
    let client = tack_testkit::client().await?;
    let kubeconfig = tack_testkit::kubeconfig()?;
    super::install_crds(&kubeconfig)?;
    let ns = TestNamespace::new(&client, "fault-kill").await?;
    let ns = ns.name().to_string();
    let repo = tack_testkit::GitRepo::new()?;
    let first = commit_config_maps(&repo, 0..1000, "one")?;
    let work = scratch()?;
    let (cache, log) = (work.path().join("cache"), work.path().join("log"));
    let mut controller = Controller::start(&kubeconfig, &ns, &cache, &log)?;
    apply_app(&client, &ns, "bulk", &repo.url()).await?;

    // 1. Killed once 200 of the 1 000 objects exist.
    poll_until(Duration::from_secs(240), "200 objects created", || async {
        Ok(count_generated(&client, &ns).await? >= 200)
    })
    .await?;
    controller.kill()?;
    let killed = Instant::now();
    let at = count_generated(&client, &ns).await?;
    assert!(at < 1000, "the sync had ended before the kill ({at} objects)");
    let controller = Controller::start(&kubeconfig, &ns, &cache, &log)?;
    let synced = wait_synced(&client, &ns, "bulk", &first, Duration::from_secs(240)).await;
    synced.map_err(|e| e.context(controller.log()))?;
    eprintln!(
        "controller killed at {at}/1000 objects: the next one Synced {:?} after the kill",
        killed.elapsed()
    );
    assert_exactly(&client, &ns, "bulk", 0..1000, "one").await?;
    let before = generated(&client, &ns).await?;

    // 2. A commit keeps 600 of them (pruning more than half at once needs a confirmation); killed once 50 of
    //    the 400 are pruned.
    let second = commit_config_maps(&repo, 0..600, "one")?;
    let mut controller = controller;
    poll_until(Duration::from_secs(240), "50 objects pruned", || async {
        Ok(count_generated(&client, &ns).await? <= 950)
    })
    .await
    .map_err(|e| e.context(controller.log()))?;
    controller.kill()?;
    let killed = Instant::now();
    let at = count_generated(&client, &ns).await?;
    assert!(at > 600, "the prune had ended before the kill ({at} objects)");
    let controller = Controller::start(&kubeconfig, &ns, &cache, &log)?;
    let synced = wait_synced(&client, &ns, "bulk", &second, Duration::from_secs(240)).await;
    synced.map_err(|e| e.context(controller.log()))?;
    eprintln!(
        "controller killed mid-prune at {at} objects (600 kept): the next one Synced {:?} after the kill",
        killed.elapsed()
    );
    assert_exactly(&client, &ns, "bulk", 0..600, "one").await?;
    let after = generated(&client, &ns).await?;
    for (name, (uid, _)) in &after {
        assert_eq!(
            Some(uid),
            before.get(name).map(|(u, _)| u),
            "{name} was deleted and created again"
        );
    }
    Ok(())
}

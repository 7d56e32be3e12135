//! Leader election on a real Lease (local control plane), with short durations: replicas racing for a free
//! Lease (one wins through the resourceVersion), an expired Lease taken over, a released one taken at once,
//! and `run_elected` running the work in exactly one of two replicas, handing over on shutdown, and stopping
//! the work at once when the Lease is taken away.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use k8s_openapi::api::coordination::v1::Lease;
use kube::api::Api;
use tack_gitops::Metrics;
use tack_gitops::lease::{Attempt, LeaderElector, LeaseConfig, LeaseTimings, run_elected};
use tack_testkit::{TestNamespace, eventually};

/// Decrements the count of running work when dropped.
struct Running(Arc<AtomicUsize>);

impl Drop for Running {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

fn short(name: &str, ns: &str, identity: &str) -> LeaseConfig {
    let mut c = LeaseConfig::new(name, ns, identity);
    c.timings = LeaseTimings {
        lease_duration: Duration::from_secs(3),
        renew_every: Duration::from_millis(500),
        renew_deadline: Duration::from_secs(2),
        retry_every: Duration::from_millis(200),
    };
    c
}

async fn holder(leases: &Api<Lease>, name: &str) -> Result<Option<String>> {
    Ok(leases
        .get(name)
        .await?
        .spec
        .and_then(|s| s.holder_identity)
        .filter(|h| !h.is_empty()))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the local control plane"]
async fn one_holder_expiry_release_and_handover() -> Result<()> {
    tack_cluster::install_crypto_provider();
    let client = tack_testkit::client().await?;
    let ns = TestNamespace::new(&client, "lease").await?;
    let leases: Api<Lease> = Api::namespaced(client.clone(), ns.name());

    // 1. Racing for a Lease that does not exist yet, then for a released one: exactly one wins each time.
    for round in 0..3 {
        let name = format!("race-{round}");
        let mut a = LeaderElector::new(client.clone(), short(&name, ns.name(), "a"));
        let mut b = LeaderElector::new(client.clone(), short(&name, ns.name(), "b"));
        let (ra, rb) = tokio::join!(a.try_acquire_or_renew(), b.try_acquire_or_renew());
        let (ra, rb) = (ra?, rb?);
        let held = [&ra, &rb].iter().filter(|r| ***r == Attempt::Held).count();
        assert_eq!(held, 1, "round {round}: {ra:?} {rb:?}");
        let (winner, loser) = if ra == Attempt::Held {
            (&mut a, &mut b)
        } else {
            (&mut b, &mut a)
        };
        assert!(winner.release().await?, "released");
        let (rw, rl) = tokio::join!(winner.try_acquire_or_renew(), loser.try_acquire_or_renew());
        let held = [rw?, rl?].iter().filter(|r| **r == Attempt::Held).count();
        assert_eq!(held, 1, "round {round} after release");
    }

    // 2. A holder that stops renewing loses the Lease after its duration, measured by the candidate.
    let mut a = LeaderElector::new(client.clone(), short("expiry", ns.name(), "a"));
    let mut b = LeaderElector::new(client.clone(), short("expiry", ns.name(), "b"));
    assert_eq!(a.try_acquire_or_renew().await?, Attempt::Held);
    assert_eq!(a.try_acquire_or_renew().await?, Attempt::Held, "renewal");
    let started = Instant::now();
    loop {
        match b.try_acquire_or_renew().await? {
            Attempt::Held => break,
            Attempt::Busy { holder } => assert_eq!(holder, "a"),
        }
        anyhow::ensure!(started.elapsed() < Duration::from_secs(10), "never taken over");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let took = started.elapsed();
    assert!(took >= Duration::from_secs(3), "taken before expiry: {took:?}");
    let lease = leases.get("expiry").await?;
    let spec = lease.spec.context("spec")?;
    assert_eq!(spec.holder_identity.as_deref(), Some("b"));
    assert_eq!(spec.lease_transitions, Some(1));
    assert_eq!(spec.lease_duration_seconds, Some(3));
    assert_eq!(
        a.try_acquire_or_renew().await?,
        Attempt::Busy { holder: "b".into() },
        "the old holder sees it lost"
    );
    assert!(!a.release().await?, "a cannot release what b holds");
    assert_eq!(holder(&leases, "expiry").await?.as_deref(), Some("b"));

    // 3. run_elected: the work runs in exactly one replica; shutting the leader down hands over at once.
    let running = Arc::new(AtomicUsize::new(0));
    let starts = Arc::new(AtomicUsize::new(0));
    let replica = |identity: &'static str| {
        let client = client.clone();
        let running = running.clone();
        let starts = starts.clone();
        let ns = ns.name().to_string();
        let metrics = Arc::new(Metrics::new());
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let m = metrics.clone();
        let task = tokio::spawn(async move {
            let elector = LeaderElector::new(client, short("elected", &ns, identity));
            let work = move |signal: tack_gitops::lease::StopSignal| {
                let running = running.clone();
                let starts = starts.clone();
                async move {
                    starts.fetch_add(1, Ordering::SeqCst);
                    running.fetch_add(1, Ordering::SeqCst);
                    // Counted down when the work ends or is aborted (dropped).
                    let _running = Running(running);
                    signal.wait().await;
                }
            };
            run_elected(elector, m, work, async move {
                let _ = stopped.await;
            })
            .await;
        });
        (stop, task, metrics)
    };
    let (stop_a, task_a, metrics_a) = replica("ra");
    let (stop_b, task_b, metrics_b) = replica("rb");
    let first = eventually(Duration::from_secs(10), "a leader", || async {
        holder(&leases, "elected").await
    })
    .await?;
    eventually(Duration::from_secs(5), "the work started once", || async {
        Ok((running.load(Ordering::SeqCst) == 1).then_some(()))
    })
    .await?;
    // Several renewals later, still one runs and the same one leads.
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(running.load(Ordering::SeqCst), 1);
    assert_eq!(starts.load(Ordering::SeqCst), 1);
    assert_eq!(holder(&leases, "elected").await?.as_deref(), Some(first.as_str()));
    let leader_gauge = |m: &Metrics| m.encode().lines().any(|l| l == "tack_leader 1");
    let (stop_leader, task_leader, stop_other, task_other, other, m_leader, m_other) = if first == "ra" {
        (stop_a, task_a, stop_b, task_b, "rb", metrics_a, metrics_b)
    } else {
        (stop_b, task_b, stop_a, task_a, "ra", metrics_b, metrics_a)
    };
    assert!(leader_gauge(&m_leader) && !leader_gauge(&m_other));

    let handover = Instant::now();
    let _ = stop_leader.send(());
    tokio::time::timeout(Duration::from_secs(10), task_leader)
        .await
        .context("leader stopping")??;
    eventually(Duration::from_secs(5), "the other replica leads", || async {
        let now = holder(&leases, "elected").await?;
        Ok((now.as_deref() == Some(other) && running.load(Ordering::SeqCst) == 1).then_some(()))
    })
    .await?;
    assert!(
        handover.elapsed() < Duration::from_secs(3),
        "handover took {:?}",
        handover.elapsed()
    );
    assert_eq!(starts.load(Ordering::SeqCst), 2);
    assert!(!leader_gauge(&m_leader) && leader_gauge(&m_other));

    // 4. The Lease taken away (another holder written over it, and renewed): the leader stops its work at
    //    once and waits; when the intruder stops renewing, the replica leads again after the expiry.
    let mut lease = leases.get("elected").await?;
    if let Some(spec) = lease.spec.as_mut() {
        spec.holder_identity = Some("intruder".into());
        spec.renew_time = Some(k8s_openapi::apimachinery::pkg::apis::meta::v1::MicroTime(
            k8s_openapi::jiff::Timestamp::now(),
        ));
    }
    leases.replace("elected", &Default::default(), &lease).await?;
    let taken = Instant::now();
    let mut intruder = LeaderElector::new(client.clone(), short("elected", ns.name(), "intruder"));
    loop {
        assert_eq!(intruder.try_acquire_or_renew().await?, Attempt::Held);
        if running.load(Ordering::SeqCst) == 0 {
            break;
        }
        anyhow::ensure!(
            taken.elapsed() < Duration::from_secs(3),
            "the leader kept working"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(!leader_gauge(&m_other), "tack_leader 0 after losing the Lease");
    eventually(
        Duration::from_secs(10),
        "leading again after the intruder's expiry",
        || async {
            let now = holder(&leases, "elected").await?;
            Ok((now.as_deref() == Some(other) && running.load(Ordering::SeqCst) == 1).then_some(()))
        },
    )
    .await?;
    assert_eq!(starts.load(Ordering::SeqCst), 3);

    let _ = stop_other.send(());
    tokio::time::timeout(Duration::from_secs(10), task_other)
        .await
        .context("other stopping")??;
    assert_eq!(running.load(Ordering::SeqCst), 0);
    assert_eq!(holder(&leases, "elected").await?, None, "released on shutdown");
    Ok(())
}

//! `tack controller --leader-elect` as an operator runs it: replicas of the built binary on the local control
//! plane, scoped to a test namespace (the Lease lives there too). Exactly one reconciles; `kill -9` of the
//! leader hands over within the lease duration; SIGTERM finishes, releases the Lease and hands over at once.

use std::fs::File;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::api::core::v1::ConfigMap;
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::CustomResourceExt;
use kube::api::{Api, Patch, PatchParams};
use serde_json::json;
use tack_model::GitOpsConfig;
use tack_testkit::{TestNamespace, eventually, git};

/// Commits `app/configmap.yaml` (ConfigMap `settings`, `data.color`) and pushes it to the bare repository.
fn commit_color(work: &Path, bare: &Path, color: &str) -> Result<()> {
    std::fs::create_dir_all(work.join("app"))?;
    std::fs::write(
        work.join("app/configmap.yaml"),
        format!("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\ndata:\n  color: {color}\n"),
    )?;
    git(work, &["add", "-A"])?;
    git(
        work,
        &[
            "-c",
            "user.name=tack test",
            "-c",
            "user.email=test@tack.invalid",
            "commit",
            "--quiet",
            "-m",
            color,
        ],
    )?;
    git(
        work,
        &[
            "push",
            "--quiet",
            &bare.display().to_string(),
            "HEAD:refs/heads/main",
        ],
    )?;
    Ok(())
}

/// One `tack controller --leader-elect` process; killed if still running when dropped.
struct Replica {
    name: &'static str,
    child: Child,
    log: PathBuf,
    metrics: SocketAddr,
}

impl Replica {
    fn start(name: &'static str, ns: &str, dir: &Path) -> Result<Replica> {
        let metrics = {
            let l = std::net::TcpListener::bind("127.0.0.1:0")?;
            l.local_addr()?
        };
        let log = dir.join(format!("{name}.log"));
        let child = Command::new(env!("CARGO_BIN_EXE_tack"))
            .args(["controller", "--leader-elect", "--single-namespace", "-n", ns])
            .arg("--metrics-addr")
            .arg(metrics.to_string())
            .arg("--cache-dir")
            .arg(dir.join(format!("{name}-cache")))
            .env("KUBECONFIG", tack_testkit::kubeconfig()?)
            .env("POD_NAME", name)
            .env("NO_COLOR", "1")
            .env_remove("POD_NAMESPACE")
            .env_remove("TACK_NAMESPACE")
            .env_remove("TACK_CONFIG")
            .env_remove("TACK_LOG")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(File::create(&log)?)
            .spawn()
            .context("starting tack controller")?;
        Ok(Replica {
            name,
            child,
            log,
            metrics,
        })
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Log lines of reconciles of `app` (the controller logs one per reconcile).
    fn reconciles(&self, app: &str) -> usize {
        self.log()
            .lines()
            .filter(|l| l.contains(&format!("app={app}")) && l.contains(" revision="))
            .count()
    }

    fn signal(&self, signal: &str) -> Result<()> {
        let status = Command::new("kill")
            .arg(format!("-{signal}"))
            .arg(self.child.id().to_string())
            .status()?;
        anyhow::ensure!(status.success(), "kill -{signal} {}", self.child.id());
        Ok(())
    }

    /// Waits for the process to exit; its exit status.
    fn wait(&mut self, within: Duration) -> Result<std::process::ExitStatus> {
        let deadline = Instant::now() + within;
        loop {
            if let Some(status) = self.child.try_wait()? {
                return Ok(status);
            }
            if Instant::now() > deadline {
                bail!("{} did not exit within {within:?}:\n{}", self.name, self.log());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// `tack_leader` and `tack_sync_total{outcome="succeeded"}` from /metrics.
    async fn scrape(&self) -> Result<(Option<f64>, Option<f64>)> {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let mut s = tokio::net::TcpStream::connect(self.metrics).await?;
        s.write_all(b"GET /metrics HTTP/1.1\r\nHost: tack\r\nConnection: close\r\n\r\n")
            .await?;
        let mut text = String::new();
        s.read_to_string(&mut text).await?;
        let value = |series: &str| {
            text.lines()
                .find_map(|l| l.strip_prefix(series)?.strip_prefix(' ')?.trim().parse().ok())
        };
        Ok((
            value("tack_leader"),
            value("tack_sync_total{outcome=\"succeeded\"}"),
        ))
    }
}

impl Drop for Replica {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

async fn holder(leases: &Api<Lease>) -> Result<Option<String>> {
    Ok(leases
        .get_opt("tack-controller")
        .await?
        .and_then(|l| l.spec)
        .and_then(|s| s.holder_identity)
        .filter(|h| !h.is_empty()))
}

async fn renew_time(leases: &Api<Lease>) -> Result<Option<String>> {
    Ok(leases
        .get_opt("tack-controller")
        .await?
        .and_then(|l| l.spec)
        .and_then(|s| s.renew_time)
        .map(|t| t.0.to_string()))
}

async fn wait_color(cms: &Api<ConfigMap>, color: &str, within: Duration) -> Result<()> {
    eventually(within, &format!("ConfigMap settings color {color}"), || async {
        let now = cms
            .get_opt("settings")
            .await?
            .and_then(|c| c.data)
            .and_then(|d| d.get("color").cloned());
        Ok((now.as_deref() == Some(color)).then_some(()))
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the local control plane"]
async fn leader_election_one_reconciles_kill_and_sigterm_hand_over() -> Result<()> {
    tack_cluster::install_crypto_provider();
    let client = tack_testkit::client().await?;
    let crds: Api<CustomResourceDefinition> = Api::all(client.clone());
    let crd = GitOpsConfig::crd();
    let crd_name = crd.metadata.name.clone().context("CRD name")?;
    crds.patch(
        &crd_name,
        &PatchParams::apply("tack").force(),
        &Patch::Apply(&crd),
    )
    .await?;
    tack_cluster::Cluster::from_client(client.clone(), "default")
        .wait_crd_established(&crd_name, Duration::from_secs(60))
        .await?;
    let ns = TestNamespace::new(&client, "cli-leader").await?;
    let dir = tempfile::tempdir()?;
    let work = dir.path().join("work");
    let bare = dir.path().join("repo.git");
    std::fs::create_dir_all(&work)?;
    git(
        dir.path(),
        &["init", "--quiet", "--bare", "-b", "main", "repo.git"],
    )?;
    git(&work, &["init", "--quiet", "-b", "main"])?;
    commit_color(&work, &bare, "blue")?;

    let leases: Api<Lease> = Api::namespaced(client.clone(), ns.name());
    let cms: Api<ConfigMap> = Api::namespaced(client.clone(), ns.name());
    let apps: Api<GitOpsConfig> = Api::namespaced(client.clone(), ns.name());
    let app = json!({
        "apiVersion": "gitops.tack.dev/v1alpha1",
        "kind": "GitOpsConfig",
        "metadata": {"name": "app", "namespace": ns.name()},
        "spec": {
            "source": {"repoURL": format!("file://{}", bare.display()), "revision": "main", "path": "app"},
            "destination": {"namespace": ns.name()},
            "syncPolicy": {"interval": "2s", "automated": {"prune": true}},
        },
    });
    apps.patch("app", &PatchParams::apply("tack-test"), &Patch::Apply(&app))
        .await?;
    let key = format!("{}/app", ns.name());

    // 1. Two replicas: exactly one holds the Lease and reconciles; the other waits and does nothing.
    let mut a = Replica::start("replica-a", ns.name(), dir.path())?;
    let mut b = Replica::start("replica-b", ns.name(), dir.path())?;
    let first = eventually(Duration::from_secs(20), "a Lease holder", || async {
        holder(&leases).await
    })
    .await?;
    wait_color(&cms, "blue", Duration::from_secs(30)).await?;
    // Several reconciles (interval 2 s) and Lease renewals (every 5 s) later, still only the leader acts.
    tokio::time::sleep(Duration::from_secs(6)).await;
    assert_eq!(
        holder(&leases).await?.as_deref(),
        Some(first.as_str()),
        "no flapping"
    );
    let (leader, follower) = if first == a.name {
        (&mut a, &mut b)
    } else {
        (&mut b, &mut a)
    };
    assert!(leader.reconciles(&key) >= 2, "leader log:\n{}", leader.log());
    assert_eq!(follower.reconciles(&key), 0, "follower log:\n{}", follower.log());
    assert!(
        follower
            .log()
            .contains(&format!("waiting for the lease, held by {}", leader.name)),
        "{}",
        follower.log()
    );
    let (lead_gauge, lead_syncs) = leader.scrape().await?;
    let (follow_gauge, follow_syncs) = follower.scrape().await?;
    assert_eq!((lead_gauge, follow_gauge), (Some(1.0), Some(0.0)));
    assert!(lead_syncs.is_some_and(|v| v >= 2.0), "{lead_syncs:?}");
    assert_eq!(follow_syncs, None, "the follower synced nothing");

    // 2. kill -9 of the leader: the follower takes over and applies the next commit within 20 s. The kill
    //    comes mid-way between two renewals (the typical case; right after one, the takeover takes up to
    //    2.5 s longer, see docs/controller.md).
    let renewed = renew_time(&leases).await?;
    eventually(Duration::from_secs(10), "a renewal", || async {
        Ok((renew_time(&leases).await? != renewed).then_some(()))
    })
    .await?;
    tokio::time::sleep(Duration::from_millis(2500)).await;
    leader.signal("KILL")?;
    let killed = Instant::now();
    leader.wait(Duration::from_secs(5))?;
    let follower_name = follower.name;
    let took_lease = eventually(
        Duration::from_secs(20),
        "the follower holds the Lease",
        || async { Ok((holder(&leases).await?.as_deref() == Some(follower_name)).then(|| killed.elapsed())) },
    )
    .await?;
    eprintln!("kill -9 of the leader to the Lease held by the follower: {took_lease:?}");
    assert!(
        took_lease < Duration::from_secs(15),
        "the follower took the Lease {took_lease:?} after the kill"
    );
    commit_color(&work, &bare, "green")?;
    wait_color(&cms, "green", Duration::from_secs(25)).await?;
    let took = killed.elapsed();
    assert_eq!(holder(&leases).await?.as_deref(), Some(follower.name));
    eprintln!("kill -9 of the leader to the next commit applied by the new one: {took:?}");
    assert!(
        took < Duration::from_secs(20),
        "takeover after kill -9 took {took:?}"
    );
    assert!(follower.reconciles(&key) >= 1, "{}", follower.log());
    let new_leader_name = follower.name;

    // 3. A third replica waits; SIGTERM of the leader: it finishes, releases, exits 0; the third takes over
    //    within a few seconds and reconciles.
    let mut c = Replica::start("replica-c", ns.name(), dir.path())?;
    eventually(Duration::from_secs(20), "replica-c waiting", || async {
        Ok(c.log()
            .contains(&format!("waiting for the lease, held by {new_leader_name}"))
            .then_some(()))
    })
    .await?;
    follower.signal("TERM")?;
    let termed = Instant::now();
    let status = follower.wait(Duration::from_secs(30))?;
    assert!(status.success(), "exit {status}:\n{}", follower.log());
    let log = follower.log();
    assert!(log.contains("released the lease"), "{log}");
    assert!(log.contains("controller stopped"), "{log}");
    eventually(Duration::from_secs(5), "replica-c leads", || async {
        Ok((holder(&leases).await?.as_deref() == Some("replica-c")).then_some(()))
    })
    .await?;
    let handover = termed.elapsed();
    eprintln!("SIGTERM of the leader to the Lease held by the next: {handover:?}");
    assert!(
        handover < Duration::from_secs(5),
        "handover after SIGTERM took {handover:?}"
    );
    commit_color(&work, &bare, "orange")?;
    wait_color(&cms, "orange", Duration::from_secs(20)).await?;
    assert!(c.reconciles(&key) >= 1, "{}", c.log());

    // 4. The last replica stops cleanly and leaves the Lease free.
    c.signal("TERM")?;
    let status = c.wait(Duration::from_secs(30))?;
    assert!(status.success(), "{}", c.log());
    assert_eq!(holder(&leases).await?, None, "released");
    Ok(())
}

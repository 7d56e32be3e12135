//! Proves the local control plane is a real Kubernetes: controllers, scheduler, KWOK pod lifecycles
//! and the failure stages.

use std::time::Duration;

use anyhow::{Context, Result};
use k8s_openapi::api::apps::v1::{Deployment, ReplicaSet};
use k8s_openapi::api::core::v1::{Node, Pod};
use kube::Client;
use kube::api::{Api, ListParams, Patch, PatchParams, PostParams};
use tack_testkit::{TestNamespace, eventually};

const SEED_DEPLOYMENT: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../examples/kustomize-nginx/base/deployment.yaml"
);

fn seed_deployment() -> Result<Deployment> {
    let text =
        std::fs::read_to_string(SEED_DEPLOYMENT).with_context(|| format!("reading {SEED_DEPLOYMENT}"))?;
    Ok(serde_saphyr::from_str(&text)?)
}

fn ready_replicas(d: &Deployment) -> i32 {
    d.status.as_ref().and_then(|s| s.ready_replicas).unwrap_or(0)
}

fn is_ready(p: &Pod) -> bool {
    p.status
        .as_ref()
        .and_then(|s| s.conditions.as_ref())
        .is_some_and(|cs| cs.iter().any(|c| c.type_ == "Ready" && c.status == "True"))
}

fn phase(p: &Pod) -> &str {
    p.status.as_ref().and_then(|s| s.phase.as_deref()).unwrap_or("")
}

#[tokio::test]
#[ignore = "needs the local control plane"]
async fn nodes_are_three_ready_kwok_nodes() -> Result<()> {
    let client = tack_testkit::client().await?;
    let nodes: Api<Node> = Api::all(client.clone());
    let list = nodes.list(&ListParams::default().labels("type=kwok")).await?;
    assert!(
        list.items.len() >= 3,
        "expected 3 KWOK nodes, got {}",
        list.items.len()
    );
    let version = client.apiserver_version().await?;
    assert_eq!(version.minor, "36", "server version {version:?}");
    Ok(())
}

#[tokio::test]
#[ignore = "needs the local control plane"]
async fn deployment_becomes_ready_and_scales() -> Result<()> {
    let client = tack_testkit::client().await?;
    let ns = TestNamespace::new(&client, "deploy").await?;
    let deployments: Api<Deployment> = Api::namespaced(client.clone(), ns.name());
    let mut d = seed_deployment()?;
    d.metadata.namespace = Some(ns.name().to_string());
    let name = d.metadata.name.clone().context("seed deployment has a name")?;
    assert_eq!(
        d.spec.as_ref().and_then(|s| s.replicas),
        Some(2),
        "the seed asks for 2 replicas"
    );
    deployments.create(&PostParams::default(), &d).await?;

    eventually(Duration::from_secs(60), "2/2 ready replicas", || async {
        Ok((ready_replicas(&deployments.get(&name).await?) == 2).then_some(()))
    })
    .await?;

    let replicasets: Api<ReplicaSet> = Api::namespaced(client.clone(), ns.name());
    let rs = replicasets.list(&ListParams::default()).await?;
    assert_eq!(rs.items.len(), 1, "one ReplicaSet");
    let owner = rs.items[0]
        .metadata
        .owner_references
        .as_ref()
        .and_then(|o| o.first())
        .map(|o| o.name.clone());
    assert_eq!(
        owner.as_deref(),
        Some(name.as_str()),
        "the ReplicaSet is owned by the Deployment"
    );

    let pods: Api<Pod> = Api::namespaced(client.clone(), ns.name());
    let list = pods.list(&ListParams::default()).await?;
    assert_eq!(list.items.len(), 2);
    for p in &list.items {
        let node = p
            .spec
            .as_ref()
            .and_then(|s| s.node_name.clone())
            .unwrap_or_default();
        assert!(
            node.starts_with("kwok-node-"),
            "pod scheduled onto a KWOK node, got `{node}`"
        );
        assert_eq!(phase(p), "Running");
        assert!(is_ready(p));
    }

    deployments
        .patch(
            &name,
            &PatchParams::default(),
            &Patch::Merge(serde_json::json!({"spec": {"replicas": 5}})),
        )
        .await?;
    eventually(Duration::from_secs(60), "5/5 ready replicas", || async {
        Ok((ready_replicas(&deployments.get(&name).await?) == 5).then_some(()))
    })
    .await?;
    Ok(())
}

async fn create_pod(client: &Client, ns: &str, name: &str, simulate: &str) -> Result<Api<Pod>> {
    let pods: Api<Pod> = Api::namespaced(client.clone(), ns);
    let pod: Pod = serde_json::from_value(serde_json::json!({
        "metadata": {"name": name, "labels": {"tack.dev/simulate": simulate}},
        "spec": {"containers": [{"name": "app", "image": "nginx:1.27"}]}
    }))?;
    pods.create(&PostParams::default(), &pod).await?;
    Ok(pods)
}

#[tokio::test]
#[ignore = "needs the local control plane"]
async fn crash_stage_fails_the_pod() -> Result<()> {
    let client = tack_testkit::client().await?;
    let ns = TestNamespace::new(&client, "crash").await?;
    let pods = create_pod(&client, ns.name(), "crasher", "crash").await?;
    let pod = eventually(Duration::from_secs(30), "pod Failed", || async {
        let p = pods.get("crasher").await?;
        Ok((phase(&p) == "Failed").then_some(p))
    })
    .await?;
    assert!(!is_ready(&pod));
    let exit = pod
        .status
        .and_then(|s| s.container_statuses)
        .and_then(|cs| cs.into_iter().next())
        .and_then(|c| c.state)
        .and_then(|s| s.terminated)
        .map(|t| t.exit_code);
    assert_eq!(exit, Some(1), "the container terminated with exit code 1");
    Ok(())
}

#[tokio::test]
#[ignore = "needs the local control plane"]
async fn never_ready_stage_keeps_the_pod_unready() -> Result<()> {
    let client = tack_testkit::client().await?;
    let ns = TestNamespace::new(&client, "never-ready").await?;
    let pods = create_pod(&client, ns.name(), "sleepy", "never-ready").await?;
    // A control pod without the label becomes Ready, so the cluster is not simply slow.
    let control = create_pod(&client, ns.name(), "control", "none").await?;
    eventually(Duration::from_secs(30), "control pod Ready", || async {
        Ok(is_ready(&control.get("control").await?).then_some(()))
    })
    .await?;
    eventually(Duration::from_secs(30), "pod Running", || async {
        Ok((phase(&pods.get("sleepy").await?) == "Running").then_some(()))
    })
    .await?;
    // It stays Running and not Ready.
    for _ in 0..10 {
        let p = pods.get("sleepy").await?;
        assert_eq!(phase(&p), "Running");
        assert!(!is_ready(&p), "a never-ready pod became Ready");
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    Ok(())
}

// ---- lifecycle of a control plane of its own (temporary state, shared binary cache) -----------------

mod lifecycle {
    use std::path::Path;
    use std::time::Duration;

    use anyhow::{Context, Result};
    use tack_controlplane::{Component, Error, Layout, LocalCluster, State, UpOptions, Versions};

    fn cache() -> Result<std::path::PathBuf> {
        Ok(Layout::default_for(&Versions::pinned())?.cache)
    }

    fn opts() -> UpOptions {
        UpOptions {
            nodes: 1,
            ..UpOptions::default()
        }
    }

    fn alive(pid: u32) -> bool {
        std::fs::read_to_string(format!("/proc/{pid}/stat"))
            .ok()
            .and_then(|s| {
                s.rsplit_once(')')
                    .map(|(_, r)| r.trim_start().starts_with(['Z', 'X']))
            })
            .is_some_and(|zombie| !zombie)
    }

    fn port_free(port: u16) -> bool {
        std::net::TcpListener::bind(("127.0.0.1", port)).is_ok()
    }

    #[tokio::test]
    #[ignore = "needs the local control plane binaries"]
    async fn up_is_idempotent_and_down_leaves_nothing_behind() -> Result<()> {
        let state = tempfile::tempdir()?;
        let cluster = LocalCluster::new(Layout::new(cache()?, state.path().join("dev")));
        let first = cluster.up(&opts(), &mut |_| {}).await?;
        assert!(!first.already_running);
        assert!(first.state.kubeconfig.exists());
        for c in Component::ALL {
            assert!(
                first.state.components.iter().any(|r| r.component == c),
                "{c} recorded"
            );
            assert!(
                cluster.layout().log(c.binary()).exists(),
                "{c} has a log beside the kubeconfig"
            );
        }
        let second = cluster.up(&opts(), &mut |_| {}).await?;
        assert!(
            second.already_running,
            "a second up reports the running control plane"
        );
        assert_eq!(second.state, first.state);
        assert!(cluster.status().await?.is_healthy());

        let stopped = cluster.down(false)?;
        assert_eq!(stopped.len(), Component::ALL.len());
        for r in &first.state.components {
            assert!(
                !alive(r.pid),
                "{} (pid {}) still alive after down",
                r.component,
                r.pid
            );
            assert!(
                port_free(r.port),
                "{} port {} still bound after down",
                r.component,
                r.port
            );
        }
        assert!(!cluster.layout().state.exists(), "state removed");
        Ok(())
    }

    #[tokio::test]
    #[ignore = "needs the local control plane binaries"]
    async fn a_killed_component_is_restarted_by_up_on_the_existing_data() -> Result<()> {
        let state = tempfile::tempdir()?;
        let cluster = LocalCluster::new(Layout::new(cache()?, state.path().join("dev")));
        let first = cluster.up(&opts(), &mut |_| {}).await?;
        // Something to keep: a namespace.
        let client = cluster.client().await?;
        let namespaces: kube::Api<k8s_openapi::api::core::v1::Namespace> = kube::Api::all(client);
        let ns: k8s_openapi::api::core::v1::Namespace =
            serde_json::from_value(serde_json::json!({"metadata": {"name": "kept-across-restart"}}))?;
        namespaces.create(&Default::default(), &ns).await?;
        let api = first
            .state
            .record(Component::KubeApiserver)
            .context("apiserver recorded")?
            .pid;
        std::process::Command::new("kill")
            .args(["-9", &api.to_string()])
            .status()?;
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert!(!cluster.status().await?.is_healthy());
        let mut lines = Vec::new();
        let second = cluster.up(&opts(), &mut |l| lines.push(l.to_string())).await?;
        assert_eq!(
            second.restarted,
            vec![Component::KubeApiserver],
            "progress: {lines:?}"
        );
        assert!(!second.cleaned_stale, "progress: {lines:?}");
        for r in &first.state.components {
            let now = second.state.record(r.component).context("recorded")?;
            assert_eq!(now.port, r.port, "{} keeps its port", r.component);
            if r.component != Component::KubeApiserver {
                assert_eq!(now.pid, r.pid, "{} was left running", r.component);
            }
        }
        assert!(cluster.status().await?.is_healthy());
        let client = cluster.client().await?;
        let namespaces: kube::Api<k8s_openapi::api::core::v1::Namespace> = kube::Api::all(client);
        assert!(
            namespaces.get_opt("kept-across-restart").await?.is_some(),
            "the data survived the restart"
        );
        cluster.down(false)?;
        Ok(())
    }

    #[tokio::test]
    #[ignore = "needs the local control plane binaries"]
    async fn a_port_in_use_is_refused_before_anything_starts() -> Result<()> {
        let state = tempfile::tempdir()?;
        let cluster = LocalCluster::new(Layout::new(cache()?, state.path().join("dev")));
        let busy = std::net::TcpListener::bind(("127.0.0.1", 0))?;
        let port = busy.local_addr()?.port();
        let opts = UpOptions {
            apiserver_port: Some(port),
            ..opts()
        };
        let err = cluster.up(&opts, &mut |_| {}).await.expect_err("port in use");
        assert!(
            matches!(err, Error::PortInUse { component: Component::KubeApiserver, port: p } if p == port),
            "{err}"
        );
        assert!(
            State::load(&cluster.layout().state_file())?.is_none(),
            "nothing recorded, nothing started"
        );
        Ok(())
    }

    /// A cache whose kube-scheduler fails at start (but answers --version): `up` must name it and its
    /// log, and stop the components it had already started.
    #[tokio::test]
    #[ignore = "needs the local control plane binaries"]
    async fn a_component_crashing_at_start_is_named_and_nothing_is_left_running() -> Result<()> {
        let dir = tempfile::tempdir()?;
        let fake_cache = cache_without_scheduler(dir.path())?;
        let fake = fake_cache.join("bin/kube-scheduler");
        std::fs::write(
            &fake,
            "#!/bin/sh\n[ \"$1\" = --version ] && { echo v1; exit 0; }\necho 'simulated start failure' >&2\nexit 7\n",
        )?;
        std::process::Command::new("chmod")
            .arg("+x")
            .arg(&fake)
            .status()?;

        let cluster = LocalCluster::new(Layout::new(&fake_cache, dir.path().join("state")));
        let err = cluster
            .up(&opts(), &mut |_| {})
            .await
            .expect_err("scheduler crashes");
        let msg = err.to_string();
        assert!(
            matches!(
                err,
                Error::Crashed {
                    component: Component::KubeScheduler,
                    ..
                }
            ),
            "{msg}"
        );
        assert!(
            msg.contains("kube-scheduler.log") && msg.contains("simulated start failure"),
            "{msg}"
        );
        // No orphans: every process this run started is gone.
        let pids = started_pids(&cluster.layout().state);
        assert!(
            pids.is_empty() || pids.iter().all(|p| !alive(*p)),
            "orphans: {pids:?}"
        );
        Ok(())
    }

    /// A cache whose kube-scheduler binary is garbage: `ensure_binaries` must notice and rebuild it.
    #[test]
    #[ignore = "needs Go and the module cache (rebuilds one binary)"]
    fn a_corrupted_binary_is_rebuilt() -> Result<()> {
        let dir = tempfile::tempdir()?;
        let copy = cache_without_scheduler(dir.path())?;
        let broken = copy.join("bin/kube-scheduler");
        std::fs::write(&broken, b"\x7fELF truncated")?;
        std::process::Command::new("chmod")
            .arg("+x")
            .arg(&broken)
            .status()?;
        let layout = Layout::new(&copy, dir.path().join("state"));
        let mut lines = Vec::new();
        let outcome = tack_controlplane::ensure_binaries(&layout, &mut |l| lines.push(l.to_string()))?;
        assert!(
            matches!(outcome, tack_controlplane::BuildOutcome::Built(_)),
            "{outcome:?} {lines:?}"
        );
        assert!(
            lines.iter().any(|l| {
                tack_controlplane::BuildStep::parse(l)
                    .is_some_and(|s| s.component == "kube-scheduler" && (s.index, s.total) == (1, 1))
            }),
            "{lines:?}"
        );
        let out = std::process::Command::new(&broken).arg("--version").output()?;
        assert!(out.status.success(), "rebuilt kube-scheduler runs");
        assert!(String::from_utf8_lossy(&out.stdout).contains(&Versions::pinned().kubernetes));
        // A second call finds everything in place.
        let again = tack_controlplane::ensure_binaries(&layout, &mut |_| {})?;
        assert!(
            matches!(again, tack_controlplane::BuildOutcome::Cached(_)),
            "{again:?}"
        );
        Ok(())
    }

    /// A cache under `dir` sharing every binary of the real one (hard links: the build script replaces
    /// files by rename, never in place) except kube-scheduler, which the caller provides.
    fn cache_without_scheduler(dir: &Path) -> Result<std::path::PathBuf> {
        let real = cache()?;
        let copy = dir.join("cache");
        std::fs::create_dir_all(copy.join("bin"))?;
        for c in Component::ALL
            .iter()
            .map(|c| c.binary())
            .chain(["kubectl", ".complete"])
        {
            if c != "kube-scheduler" {
                std::fs::hard_link(real.join("bin").join(c), copy.join("bin").join(c))?;
            }
        }
        std::os::unix::fs::symlink(real.join("stages"), copy.join("stages"))?;
        Ok(copy)
    }

    fn started_pids(state_dir: &Path) -> Vec<u32> {
        // The state file is removed on failure; fall back to scanning /proc for binaries of this cache.
        let mut pids = Vec::new();
        if let Ok(entries) = std::fs::read_dir("/proc") {
            for e in entries.flatten() {
                if let Ok(pid) = e.file_name().to_string_lossy().parse::<u32>() {
                    let cmd = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
                    if String::from_utf8_lossy(&cmd).contains(&state_dir.display().to_string()) {
                        pids.push(pid);
                    }
                }
            }
        }
        pids
    }
}

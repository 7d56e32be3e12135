//! `LocalCluster`: bringing the local control plane up (certificates, etcd, kube-apiserver, controller-manager,
//! scheduler, KWOK for simulated nodes and pods), reporting its status and taking it down again.

mod restart;

use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use k8s_openapi::api::core::v1::Node;
use kube::api::{Api, ObjectMeta, PostParams};
use kube::config::{KubeConfigOptions, Kubeconfig};

use crate::component::{self, Paths, Ports};
use crate::layout::{tail, write_file};
use crate::{
    BuildOutcome, Component, ComponentRecord, Error, Layout, Result, State, Versions, ensure_binaries,
};

/// How to bring the control plane up.
#[derive(Debug, Clone)]
pub struct UpOptions {
    /// A fixed API server port; `None` picks a free one.
    pub apiserver_port: Option<u16>,
    /// How many KWOK nodes to create.
    pub nodes: usize,
    /// How long to wait for everything to be ready (after the binaries exist).
    pub timeout: Duration,
}

impl Default for UpOptions {
    fn default() -> Self {
        UpOptions {
            apiserver_port: None,
            nodes: 3,
            timeout: Duration::from_secs(120),
        }
    }
}

/// The outcome of [`LocalCluster::up`].
#[derive(Debug, Clone)]
pub struct UpReport {
    /// What is running now.
    pub state: State,
    /// True when a healthy control plane was already running and nothing was started.
    pub already_running: bool,
    /// True when a partial earlier run was found and cleaned up first.
    pub cleaned_stale: bool,
    /// The components of an earlier run that had died and were restarted on the existing data.
    pub restarted: Vec<Component>,
    /// Whether binaries were built by this call.
    pub built: bool,
    /// Time from the call to ready (including any build).
    pub elapsed: Duration,
}

/// One line of `tack dev status`.
#[derive(Debug, Clone)]
pub struct ComponentStatus {
    /// Which component.
    pub component: Component,
    /// Its process id.
    pub pid: u32,
    /// Its port.
    pub port: u16,
    /// The process exists and runs the recorded binary.
    pub running: bool,
    /// Its health endpoint answered 200.
    pub healthy: bool,
    /// Its log file.
    pub log: PathBuf,
}

/// The state of the local control plane.
#[derive(Debug, Clone)]
pub enum Status {
    /// Nothing recorded.
    Down,
    /// A recorded run, with each component's liveness and health.
    Recorded {
        /// What `dev up` recorded: the API server URL, the kubeconfig and each started process.
        state: State,
        /// Each component's liveness and health, as inspected now.
        components: Vec<ComponentStatus>,
    },
}

impl Status {
    /// True when every component runs and is healthy.
    pub fn is_healthy(&self) -> bool {
        match self {
            Status::Down => false,
            Status::Recorded { components, .. } => {
                components.len() == Component::ALL.len() && components.iter().all(|c| c.running && c.healthy)
            }
        }
    }
}

/// The local control plane described by a [`Layout`].
#[derive(Debug, Clone)]
pub struct LocalCluster {
    layout: Layout,
}

impl LocalCluster {
    /// A control plane at the default XDG locations for the pinned versions.
    pub fn from_env() -> Result<Self> {
        Ok(LocalCluster {
            layout: Layout::default_for(&Versions::pinned())?,
        })
    }

    /// The control plane called `name` (`tack dev up --name`): its own state directory, ports and processes.
    /// `None` is the default one ([`LocalCluster::from_env`]).
    pub fn named(name: Option<&str>) -> Result<Self> {
        Ok(LocalCluster {
            layout: Layout::named(&Versions::pinned(), name)?,
        })
    }

    /// A control plane at explicit locations.
    pub fn new(layout: Layout) -> Self {
        LocalCluster { layout }
    }

    /// Its locations.
    pub fn layout(&self) -> &Layout {
        &self.layout
    }

    /// Builds the binaries if needed, starts every component, creates the KWOK nodes and waits until
    /// they are Ready and untainted. Idempotent: a healthy running control plane is reported, not
    /// restarted; components of an earlier run that died are restarted on the existing data (etcd, CRDs and
    /// objects kept); a partial earlier run (a component never recorded) is cleaned first. On failure every process started by
    /// this call is stopped again and the error names the component and its log.
    pub async fn up(&self, opts: &UpOptions, progress: &mut dyn FnMut(&str)) -> Result<UpReport> {
        let started_at = Instant::now();
        install_crypto_provider();
        // One `up` at a time per state directory (parallel test processes share one control plane).
        let _lock = self.lock()?;
        let mut cleaned_stale = false;
        if let Some(state) = State::load(&self.layout.state_file())? {
            let status = self.status().await?;
            if status.is_healthy() {
                return Ok(UpReport {
                    state,
                    already_running: true,
                    cleaned_stale: false,
                    restarted: Vec::new(),
                    built: false,
                    elapsed: started_at.elapsed(),
                });
            }
            if let Some(report) = self.restart_dead(state, &status, opts, progress).await? {
                return Ok(report);
            }
            progress("found a partial control plane from an earlier run; cleaning it up");
            self.down(false)?;
            cleaned_stale = true;
        } else if self.layout.state.exists() {
            // A run killed before it recorded anything: nothing to stop, only files to remove.
            remove_dir(&self.layout.state)?;
        }

        if let Some(port) = opts.apiserver_port
            && crate::process::port_in_use(port)
        {
            return Err(Error::PortInUse {
                component: Component::KubeApiserver,
                port,
            });
        }
        let build = ensure_binaries(&self.layout, &mut |line| progress(line))?;
        let built = matches!(build, BuildOutcome::Built(_));

        let ports = pick_ports(opts.apiserver_port)
            .map_err(Error::io("choosing free ports on", PathBuf::from("127.0.0.1")))?;
        let server = format!("https://127.0.0.1:{}", ports.apiserver);
        progress("generating certificates and kubeconfig");
        let pki = crate::pki::generate(&self.layout.pki())?;
        let kubeconfig = self.layout.kubeconfig();
        write_file(&kubeconfig, crate::kubeconfig::render(&server, &pki))?;
        let run = self.layout.run();
        let scheduler_config = run.join("kube-scheduler.yaml");
        write_file(&scheduler_config, component::scheduler_config(&kubeconfig))?;
        let kwok_stages = run.join("kwok-stages.yaml");
        write_file(
            &kwok_stages,
            crate::stages::assemble(&self.layout.stock_stages())?,
        )?;

        let mut state = State {
            server: server.clone(),
            kubeconfig: kubeconfig.clone(),
            components: Vec::new(),
        };
        let mut children: Vec<(Component, Child)> = Vec::new();
        let deadline = Instant::now() + opts.timeout;
        let pki_dir = self.layout.pki();
        let paths = Paths {
            pki: &pki_dir,
            run: &run,
            kubeconfig: &kubeconfig,
            kwok_stages: &kwok_stages,
            scheduler_config: &scheduler_config,
        };
        let result = async {
            for c in Component::ALL {
                progress(&format!("starting {c}"));
                let child = self.spawn(c, &ports, &paths, &mut state)?;
                children.push((c, child));
                self.wait_healthy(c, ports.of(c), deadline, opts.timeout, &mut children)
                    .await?;
            }
            progress(&format!(
                "creating {} KWOK nodes and waiting until they are Ready",
                opts.nodes
            ));
            self.create_nodes(&kubeconfig, opts.nodes, deadline, opts.timeout)
                .await
        }
        .await;
        if let Err(e) = result {
            for (_, child) in children.iter_mut().rev() {
                crate::process::stop(child.id(), Duration::from_secs(5));
                let _ = child.wait();
            }
            let _ = std::fs::remove_file(self.layout.state_file());
            return Err(e);
        }
        Ok(UpReport {
            state,
            already_running: false,
            cleaned_stale,
            restarted: Vec::new(),
            built,
            elapsed: started_at.elapsed(),
        })
    }

    fn lock(&self) -> Result<nix::fcntl::Flock<std::fs::File>> {
        let path = self.layout.state.with_extension("lock");
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(Error::io("creating", dir))?;
        }
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(Error::io("opening lock", &path))?;
        nix::fcntl::Flock::lock(file, nix::fcntl::FlockArg::LockExclusive)
            .map_err(|(_, errno)| Error::io("locking", &path)(std::io::Error::from(errno)))
    }

    fn spawn(&self, c: Component, ports: &Ports, paths: &Paths<'_>, state: &mut State) -> Result<Child> {
        let binary = self.layout.binary(c.binary());
        let log = self.layout.log(c.binary());
        let out = std::fs::File::create(&log).map_err(Error::io("creating log", &log))?;
        let err = out.try_clone().map_err(Error::io("creating log", &log))?;
        let child = Command::new(&binary)
            .args(component::args(c, ports, paths))
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .current_dir(paths.run)
            // Its own process group: the control plane outlives the terminal's Ctrl-C after `up` returns.
            .process_group(0)
            .spawn()
            .map_err(|source| Error::Spawn {
                component: c,
                binary: binary.clone(),
                source,
            })?;
        // Recorded at once, so a run killed half-way leaves a state file the next `up` cleans.
        state.components.push(ComponentRecord {
            component: c,
            pid: child.id(),
            port: ports.of(c),
            binary,
            log,
        });
        state.save(&self.layout.state_file())?;
        Ok(child)
    }

    async fn wait_healthy(
        &self,
        c: Component,
        port: u16,
        deadline: Instant,
        timeout: Duration,
        children: &mut [(Component, Child)],
    ) -> Result<()> {
        let client = probe_client();
        let url = c.health_url(port);
        let log = self.layout.log(c.binary());
        loop {
            for (which, child) in children.iter_mut() {
                if let Ok(Some(status)) = child.try_wait() {
                    let log = self.layout.log(which.binary());
                    return Err(Error::Crashed {
                        component: *which,
                        status: status.to_string(),
                        tail: tail(&log, 12),
                        log,
                    });
                }
            }
            if probe(&client, &url).await {
                return Ok(());
            }
            if Instant::now() >= deadline {
                return Err(Error::NotReady {
                    component: c,
                    seconds: timeout.as_secs(),
                    tail: tail(&log, 12),
                    log,
                });
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    async fn create_nodes(
        &self,
        kubeconfig: &std::path::Path,
        count: usize,
        deadline: Instant,
        timeout: Duration,
    ) -> Result<()> {
        let client = client_for(kubeconfig).await?;
        let nodes: Api<Node> = Api::all(client);
        for i in 0..count {
            let name = format!("kwok-node-{i}");
            let node = fake_node(&name);
            match nodes.create(&PostParams::default(), &node).await {
                Ok(_) => {}
                Err(kube::Error::Api(s)) if s.code == 409 => {}
                Err(e) => return Err(e.into()),
            }
        }
        loop {
            let list = nodes.list(&Default::default()).await?;
            let ready = list.items.iter().filter(|n| node_ready(n)).count();
            if ready >= count {
                return Ok(());
            }
            if Instant::now() >= deadline {
                return Err(Error::NodesNotReady {
                    seconds: timeout.as_secs(),
                    detail: format!("{ready} of {count} Ready and untainted"),
                    logs: self.layout.state.clone(),
                });
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    /// Each recorded component's pid, port, liveness and health.
    pub async fn status(&self) -> Result<Status> {
        install_crypto_provider();
        let Some(state) = State::load(&self.layout.state_file())? else {
            return Ok(Status::Down);
        };
        let client = probe_client();
        let mut components = Vec::new();
        for r in &state.components {
            let running = crate::process::is_ours(r.pid, &r.binary);
            let healthy = running && probe(&client, &r.component.health_url(r.port)).await;
            components.push(ComponentStatus {
                component: r.component,
                pid: r.pid,
                port: r.port,
                running,
                healthy,
                log: r.log.clone(),
            });
        }
        Ok(Status::Recorded { state, components })
    }

    /// Stops exactly the recorded processes (newest first) and, unless `keep_state`, removes the state
    /// directory. Returns what was stopped.
    pub fn down(&self, keep_state: bool) -> Result<Vec<(Component, u32)>> {
        let mut stopped = Vec::new();
        let state = match State::load(&self.layout.state_file()) {
            Ok(s) => s,
            // A corrupt record cannot name processes; the files are still removed below.
            Err(Error::State { .. }) => None,
            Err(e) => return Err(e),
        };
        if let Some(state) = state {
            for r in state.components.iter().rev() {
                if crate::process::is_ours(r.pid, &r.binary) {
                    if !crate::process::stop(r.pid, Duration::from_secs(10)) {
                        return Err(Error::Unstoppable {
                            component: r.component,
                            pid: r.pid,
                        });
                    }
                    stopped.push((r.component, r.pid));
                }
            }
        }
        if keep_state {
            let _ = std::fs::remove_file(self.layout.state_file());
        } else if self.layout.state.exists() {
            remove_dir(&self.layout.state)?;
        }
        Ok(stopped)
    }

    /// A client for the running control plane.
    pub async fn client(&self) -> Result<kube::Client> {
        client_for(&self.layout.kubeconfig()).await
    }
}

fn remove_dir(dir: &std::path::Path) -> Result<()> {
    std::fs::remove_dir_all(dir).map_err(Error::io("removing", dir))
}

fn pick_ports(apiserver: Option<u16>) -> std::io::Result<Ports> {
    let mut taken: Vec<u16> = apiserver.into_iter().collect();
    let mut next = || -> std::io::Result<u16> {
        let p = crate::process::free_port(&taken)?;
        taken.push(p);
        Ok(p)
    };
    let apiserver = match apiserver {
        Some(p) => p,
        None => next()?,
    };
    Ok(Ports {
        etcd_client: next()?,
        etcd_peer: next()?,
        apiserver,
        controller_manager: next()?,
        scheduler: next()?,
        kwok: next()?,
    })
}

fn install_crypto_provider() {
    // Ignore the error: another part of the process may have installed it already.
    let _ = rustls::crypto::ring::default_provider().install_default();
}

fn probe_client() -> reqwest::Client {
    // Health endpoints of KCM and the scheduler use self-signed serving certificates; only loopback
    // addresses are probed.
    reqwest::Client::builder()
        .danger_accept_invalid_certs(true)
        .timeout(Duration::from_secs(2))
        .build()
        .unwrap_or_default()
}

async fn probe(client: &reqwest::Client, url: &str) -> bool {
    client
        .get(url)
        .send()
        .await
        .is_ok_and(|r| r.status().is_success())
}

async fn client_for(kubeconfig: &std::path::Path) -> Result<kube::Client> {
    let err = |detail: String| Error::Kubeconfig {
        path: kubeconfig.to_path_buf(),
        detail,
    };
    let kc = Kubeconfig::read_from(kubeconfig).map_err(|e| err(e.to_string()))?;
    let config = kube::Config::from_custom_kubeconfig(kc, &KubeConfigOptions::default())
        .await
        .map_err(|e| err(e.to_string()))?;
    Ok(kube::Client::try_from(config)?)
}

fn fake_node(name: &str) -> Node {
    let labels = [
        ("kubernetes.io/arch", "amd64"),
        ("kubernetes.io/os", "linux"),
        ("kubernetes.io/hostname", name),
        ("type", "kwok"),
    ];
    let annotations = [
        ("node.alpha.kubernetes.io/ttl", "0"),
        ("kwok.x-k8s.io/node", "fake"),
    ];
    Node {
        metadata: ObjectMeta {
            name: Some(name.to_string()),
            labels: Some(
                labels
                    .iter()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect(),
            ),
            annotations: Some(
                annotations
                    .iter()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect(),
            ),
            ..Default::default()
        },
        ..Default::default()
    }
}

/// Ready=True and free of the not-ready / unreachable taints, so pods schedule onto it.
pub(crate) fn node_ready(node: &Node) -> bool {
    let ready = node
        .status
        .as_ref()
        .and_then(|s| s.conditions.as_ref())
        .is_some_and(|cs| cs.iter().any(|c| c.type_ == "Ready" && c.status == "True"));
    let tainted = node
        .spec
        .as_ref()
        .and_then(|s| s.taints.as_ref())
        .is_some_and(|ts| {
            ts.iter()
                .any(|t| t.key == "node.kubernetes.io/not-ready" || t.key == "node.kubernetes.io/unreachable")
        });
    ready && !tainted
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ports_are_distinct_and_honour_a_fixed_apiserver_port() {
        let p = pick_ports(Some(6999)).expect("ports");
        assert_eq!(p.apiserver, 6999);
        let all = [
            p.etcd_client,
            p.etcd_peer,
            p.apiserver,
            p.controller_manager,
            p.scheduler,
            p.kwok,
        ];
        let mut dedup = all.to_vec();
        dedup.sort_unstable();
        dedup.dedup();
        assert_eq!(dedup.len(), all.len());
    }

    #[test]
    fn node_readiness_needs_condition_and_no_taint() {
        let mut n: Node = serde_json::from_value(serde_json::json!({
            "metadata": {"name": "n"},
            "status": {"conditions": [{"type": "Ready", "status": "True"}]}
        }))
        .expect("node");
        assert!(node_ready(&n));
        n.spec = Some(
            serde_json::from_value(serde_json::json!({"taints": [{"key": "node.kubernetes.io/not-ready", "effect": "NoSchedule"}]}))
                .expect("spec"),
        );
        assert!(!node_ready(&n));
    }

    #[tokio::test]
    async fn status_of_nothing_is_down_and_down_is_a_no_op() {
        let dir = tempfile::tempdir().expect("tempdir");
        let cluster = LocalCluster::new(Layout::new(dir.path().join("cache"), dir.path().join("state")));
        assert!(matches!(cluster.status().await.expect("status"), Status::Down));
        assert!(cluster.down(false).expect("down").is_empty());
    }
}

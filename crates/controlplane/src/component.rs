//! The processes of the local control plane (etcd, kube-apiserver, kube-controller-manager, kube-scheduler,
//! KWOK): start order, command lines, health endpoints and generated configuration.

use std::fmt;
use std::path::Path;

use serde::{Deserialize, Serialize};

/// One process of the local control plane, in start order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Component {
    /// The key-value store.
    Etcd,
    /// The Kubernetes API server.
    KubeApiserver,
    /// The controller manager (Deployments, ReplicaSets, garbage collection, node lifecycle, …).
    KubeControllerManager,
    /// The scheduler.
    KubeScheduler,
    /// KWOK: simulated nodes and pod lifecycles.
    Kwok,
}

impl Component {
    /// Every component, in start order.
    pub const ALL: [Component; 5] = [
        Component::Etcd,
        Component::KubeApiserver,
        Component::KubeControllerManager,
        Component::KubeScheduler,
        Component::Kwok,
    ];

    /// The binary name (also the log file's stem).
    pub fn binary(self) -> &'static str {
        match self {
            Component::Etcd => "etcd",
            Component::KubeApiserver => "kube-apiserver",
            Component::KubeControllerManager => "kube-controller-manager",
            Component::KubeScheduler => "kube-scheduler",
            Component::Kwok => "kwok",
        }
    }

    /// The URL that answers 200 when the component is ready.
    pub(crate) fn health_url(self, port: u16) -> String {
        match self {
            Component::Etcd => format!("http://127.0.0.1:{port}/readyz"),
            Component::KubeApiserver => format!("https://127.0.0.1:{port}/readyz"),
            Component::KubeControllerManager | Component::KubeScheduler => {
                format!("https://127.0.0.1:{port}/healthz")
            }
            Component::Kwok => format!("http://127.0.0.1:{port}/healthz"),
        }
    }
}

impl fmt::Display for Component {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.binary())
    }
}

/// The ports of one control plane.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Ports {
    pub etcd_client: u16,
    pub etcd_peer: u16,
    pub apiserver: u16,
    pub controller_manager: u16,
    pub scheduler: u16,
    pub kwok: u16,
}

impl Ports {
    pub(crate) fn of(&self, c: Component) -> u16 {
        match c {
            Component::Etcd => self.etcd_client,
            Component::KubeApiserver => self.apiserver,
            Component::KubeControllerManager => self.controller_manager,
            Component::KubeScheduler => self.scheduler,
            Component::Kwok => self.kwok,
        }
    }
}

/// Directories and files the component arguments refer to.
pub(crate) struct Paths<'a> {
    pub pki: &'a Path,
    pub run: &'a Path,
    pub kubeconfig: &'a Path,
    pub kwok_stages: &'a Path,
    pub scheduler_config: &'a Path,
}

/// The command-line arguments of a component; every listener is bound to 127.0.0.1.
pub(crate) fn args(c: Component, ports: &Ports, p: &Paths<'_>) -> Vec<String> {
    let pki = |f: &str| p.pki.join(f).display().to_string();
    let kubeconfig = p.kubeconfig.display().to_string();
    match c {
        Component::Etcd => {
            let client = format!("http://127.0.0.1:{}", ports.etcd_client);
            let peer = format!("http://127.0.0.1:{}", ports.etcd_peer);
            vec![
                "--name=tack-dev".into(),
                format!("--data-dir={}", p.run.join("etcd").display()),
                format!("--listen-client-urls={client}"),
                format!("--advertise-client-urls={client}"),
                format!("--listen-peer-urls={peer}"),
                format!("--initial-advertise-peer-urls={peer}"),
                format!("--initial-cluster=tack-dev={peer}"),
                "--listen-metrics-urls=".into(),
                "--unsafe-no-fsync=true".into(),
                format!("--quota-backend-bytes={}", 2u64 * 1024 * 1024 * 1024),
                "--auto-compaction-retention=1".into(),
                "--log-level=warn".into(),
            ]
        }
        Component::KubeApiserver => vec![
            format!("--etcd-servers=http://127.0.0.1:{}", ports.etcd_client),
            "--bind-address=127.0.0.1".into(),
            format!("--secure-port={}", ports.apiserver),
            "--advertise-address=127.0.0.1".into(),
            "--endpoint-reconciler-type=none".into(),
            format!("--tls-cert-file={}", pki("apiserver.crt")),
            format!("--tls-private-key-file={}", pki("apiserver.key")),
            format!("--client-ca-file={}", pki("ca.crt")),
            "--service-account-issuer=https://kubernetes.default.svc.cluster.local".into(),
            format!("--service-account-key-file={}", pki("sa.pub")),
            format!("--service-account-signing-key-file={}", pki("sa.key")),
            "--service-cluster-ip-range=10.96.0.0/16".into(),
            "--authorization-mode=RBAC".into(),
            "--allow-privileged=true".into(),
            format!("--cert-dir={}", p.run.join("apiserver-certs").display()),
        ],
        Component::KubeControllerManager => vec![
            format!("--kubeconfig={kubeconfig}"),
            "--bind-address=127.0.0.1".into(),
            format!("--secure-port={}", ports.controller_manager),
            format!("--cert-dir={}", p.run.join("controller-manager-certs").display()),
            "--leader-elect=false".into(),
            format!("--service-account-private-key-file={}", pki("sa.key")),
            format!("--root-ca-file={}", pki("ca.crt")),
            "--controllers=*".into(),
        ],
        Component::KubeScheduler => vec![
            format!("--config={}", p.scheduler_config.display()),
            "--bind-address=127.0.0.1".into(),
            format!("--secure-port={}", ports.scheduler),
            format!("--cert-dir={}", p.run.join("scheduler-certs").display()),
        ],
        Component::Kwok => vec![
            format!("--kubeconfig={kubeconfig}"),
            format!("--config={}", p.kwok_stages.display()),
            "--manage-all-nodes=true".into(),
            "--cidr=10.244.0.0/16".into(),
            "--node-ip=10.255.0.1".into(),
            "--node-lease-duration-seconds=0".into(),
            format!("--server-address=127.0.0.1:{}", ports.kwok),
        ],
    }
}

/// The scheduler's configuration file (its `--kubeconfig` flag is deprecated).
pub(crate) fn scheduler_config(kubeconfig: &Path) -> String {
    format!(
        "apiVersion: kubescheduler.config.k8s.io/v1\nkind: KubeSchedulerConfiguration\nclientConnection:\n  kubeconfig: {}\nleaderElection:\n  leaderElect: false\n",
        kubeconfig.display()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ports() -> Ports {
        Ports {
            etcd_client: 1,
            etcd_peer: 2,
            apiserver: 3,
            controller_manager: 4,
            scheduler: 5,
            kwok: 6,
        }
    }

    #[test]
    fn every_listener_is_loopback_only() {
        let dir = Path::new("/x");
        let paths = Paths {
            pki: dir,
            run: dir,
            kubeconfig: dir,
            kwok_stages: dir,
            scheduler_config: dir,
        };
        for c in Component::ALL {
            let a = args(c, &ports(), &paths);
            for arg in &a {
                assert!(!arg.contains("0.0.0.0"), "{c}: {arg}");
                if arg.starts_with("--bind-address")
                    || arg.starts_with("--listen")
                    || arg.starts_with("--server-address")
                {
                    assert!(arg.ends_with('=') || arg.contains("127.0.0.1"), "{c}: {arg}");
                }
            }
        }
    }

    #[test]
    fn names_are_the_binaries() {
        assert_eq!(Component::KubeApiserver.to_string(), "kube-apiserver");
        assert_eq!(
            serde_json::to_string(&Component::KubeControllerManager).expect("json"),
            "\"kube-controller-manager\""
        );
    }
}

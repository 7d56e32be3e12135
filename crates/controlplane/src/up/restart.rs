//! Restarting the components of a recorded control plane that died, on their existing data (etcd's data
//! directory, certificates, kubeconfig and ports are kept), instead of throwing the cluster away.

use std::time::{Duration, Instant};

use super::{UpOptions, UpReport, pick_ports};
use crate::component::{Component, Paths, Ports};
use crate::{Error, LocalCluster, Result, State, Status};

/// The ports of a recorded run (etcd's peer port is not recorded: a free one is taken, which a single-member
/// etcd accepts on its existing data).
fn recorded_ports(state: &State) -> Option<Ports> {
    let port = |c: Component| state.record(c).map(|r| r.port);
    let fresh = pick_ports(None).ok()?;
    Some(Ports {
        etcd_client: port(Component::Etcd)?,
        etcd_peer: fresh.etcd_peer,
        apiserver: port(Component::KubeApiserver)?,
        controller_manager: port(Component::KubeControllerManager)?,
        scheduler: port(Component::KubeScheduler)?,
        kwok: port(Component::Kwok)?,
    })
}

impl LocalCluster {
    /// Restarts the dead components of the recorded run `state`, in start order, each on its recorded port,
    /// and waits until every component is healthy. `Ok(None)` when the run cannot be resumed (a component was
    /// never recorded, or its files are gone): the caller then starts afresh.
    pub(super) async fn restart_dead(
        &self,
        mut state: State,
        status: &Status,
        opts: &UpOptions,
        progress: &mut dyn FnMut(&str),
    ) -> Result<Option<UpReport>> {
        let started_at = Instant::now();
        let Status::Recorded { components, .. } = status else {
            return Ok(None);
        };
        let run = self.layout.run();
        let (pki, kubeconfig) = (self.layout.pki(), self.layout.kubeconfig());
        let scheduler_config = run.join("kube-scheduler.yaml");
        let kwok_stages = run.join("kwok-stages.yaml");
        let files = [
            &pki,
            &kubeconfig,
            &scheduler_config,
            &kwok_stages,
            &run.join("etcd"),
        ];
        let complete = components.len() == Component::ALL.len() && files.iter().all(|f| f.exists());
        let Some(ports) = recorded_ports(&state).filter(|_| complete) else {
            return Ok(None);
        };
        let paths = Paths {
            pki: &pki,
            run: &run,
            kubeconfig: &kubeconfig,
            kwok_stages: &kwok_stages,
            scheduler_config: &scheduler_config,
        };
        let deadline = Instant::now() + opts.timeout;
        let mut children = Vec::new();
        let mut restarted = Vec::new();
        for c in Component::ALL {
            let alive = components.iter().any(|s| s.component == c && s.running);
            if alive {
                continue;
            }
            progress(&format!("{c} is not running; restarting it on the existing data"));
            state.components.retain(|r| r.component != c);
            let child = self.spawn(c, &ports, &paths, &mut state)?;
            children.push((c, child));
            restarted.push(c);
            self.wait_healthy(c, ports.of(c), deadline, opts.timeout, &mut children)
                .await?;
        }
        state
            .components
            .sort_by_key(|r| Component::ALL.iter().position(|c| *c == r.component));
        state.save(&self.layout.state_file())?;
        // Components that were alive but unhealthy (waiting for the API server) recover by themselves.
        loop {
            if self.status().await?.is_healthy() {
                break;
            }
            if Instant::now() >= deadline {
                return Err(Error::NotReady {
                    component: Component::KubeApiserver,
                    seconds: opts.timeout.as_secs(),
                    tail:
                        "the restarted control plane did not become healthy; its data is kept: inspect the \
                           logs, or start afresh with `tack dev down` then `tack dev up`"
                            .into(),
                    log: self.layout.log(Component::KubeApiserver.binary()),
                });
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        Ok(Some(UpReport {
            state,
            already_running: false,
            cleaned_stale: false,
            restarted,
            built: false,
            elapsed: started_at.elapsed(),
        }))
    }
}

//! Remote clusters on two real control planes: a second local control plane is started for this test alone and
//! registered as a cluster Secret on the first; an application deployed there (`spec.destination.cluster`)
//! syncs there (status, Events and inventory stay on the first; also through a cluster Secret holding `server`,
//! a ServiceAccount `token` and `caData`), heals drift there, acts there as its
//! ServiceAccount of the second cluster when it names one (a ClusterRole it may not write refuses the commit
//! naming that ServiceAccount), is reported
//! ClusterUnreachable with health Unknown while the second's API server is stopped (an application of the first
//! cluster keeps syncing meanwhile), and recovers when it is started again (its drift watches too).

use std::time::Duration;

use anyhow::{Context, Result};
use base64::Engine;
use k8s_openapi::api::authentication::v1::{TokenRequest, TokenRequestSpec};
use k8s_openapi::api::core::v1::{ConfigMap, Secret, ServiceAccount};
use kube::api::{Api, Patch, PatchParams, PostParams};
use kube::config::Kubeconfig;
use serde_json::json;
use tack_controlplane::{Component, Layout, LocalCluster, State, UpOptions, Versions};
use tack_gitops::ControllerConfig;
use tack_model::GitOpsConfig;
use tack_testkit::{TestNamespace, eventually};

use super::{install_crd, status, stop_controller};

/// A second control plane in a directory of its own, stopped (and its files removed) when dropped.
struct SecondCluster {
    cluster: LocalCluster,
    _dir: tempfile::TempDir,
}

impl SecondCluster {
    async fn start() -> Result<SecondCluster> {
        let dir = tempfile::tempdir()?;
        let cache = Layout::default_for(&Versions::pinned())?.cache;
        let cluster = LocalCluster::new(Layout::new(cache, dir.path().join("state")));
        let opts = UpOptions {
            nodes: 1,
            ..UpOptions::default()
        };
        cluster
            .up(&opts, &mut |line| eprintln!("second control plane: {line}"))
            .await
            .context("starting the second control plane")?;
        Ok(SecondCluster { cluster, _dir: dir })
    }

    /// Kills its API server, as a crash or a lost machine would (a graceful stop drains for minutes); etcd and
    /// the data stay, and `resume` starts it again on the same port.
    fn stop_apiserver(&self) -> Result<()> {
        let state = State::load(&self.cluster.layout().state_file())?.context("no state recorded")?;
        let pid = state
            .record(Component::KubeApiserver)
            .context("no kube-apiserver recorded")?
            .pid;
        let ok = std::process::Command::new("kill")
            .args(["-KILL", &pid.to_string()])
            .status()?
            .success();
        anyhow::ensure!(ok, "cannot stop kube-apiserver (pid {pid})");
        // SIGKILL is immediate (a zombie of this process is dead to the control plane, which restarts it).
        std::thread::sleep(Duration::from_millis(500));
        Ok(())
    }

    async fn resume(&self) -> Result<()> {
        self.cluster
            .up(&UpOptions::default(), &mut |line| {
                eprintln!("second control plane: {line}")
            })
            .await
            .context("restarting the second control plane")?;
        Ok(())
    }
}

impl Drop for SecondCluster {
    fn drop(&mut self) {
        if let Err(e) = self.cluster.down(false) {
            eprintln!("cannot stop the second control plane: {e}");
        }
    }
}

/// Applies `objects` on `cluster` with the test's (administrator) identity.
async fn apply_all(cluster: &tack_cluster::Cluster, objects: &[serde_json::Value]) -> Result<()> {
    for o in objects {
        let text = |p: &str| {
            o.pointer(p)
                .and_then(serde_json::Value::as_str)
                .unwrap_or("")
                .to_string()
        };
        let kind = cluster
            .resolve(&text("/apiVersion"), &text("/kind"))
            .await?
            .context("kind not served")?;
        let opts = tack_cluster::ApplyOptions {
            dry_run: false,
            force: true,
        };
        cluster.apply(&kind, o, opts).await?;
    }
    Ok(())
}

fn config_map(name: &str, value: &str) -> String {
    format!("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name}\ndata:\n  k: {value}\n")
}

async fn value(api: &Api<ConfigMap>, name: &str) -> Result<Option<String>> {
    Ok(api
        .get_opt(name)
        .await?
        .and_then(|c| c.data)
        .and_then(|d| d.get("k").cloned()))
}

/// The Ready condition's status and reason, and the health, of application `name`.
async fn ready(apps: &Api<GitOpsConfig>, name: &str) -> Result<(String, String, String, String)> {
    let s = status(apps, name).await?;
    let c = s.conditions.iter().find(|c| c.type_ == "Ready").cloned();
    let health = s.health.map(|h| h.status).unwrap_or_default();
    Ok(c.map(|c| (c.status, c.reason, c.message, health))
        .unwrap_or_default())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the local control plane"]
async fn an_application_on_a_second_cluster_syncs_heals_and_waits_for_it_alone() -> Result<()> {
    tack_cluster::install_crypto_provider();
    let client = tack_testkit::client().await?;
    install_crd(&client).await?;
    let test_ns = TestNamespace::new(&client, "clusters").await?;
    let ns = test_ns.name().to_string();
    let second = SecondCluster::start().await?;
    let remote = second.cluster.client().await?;

    // The second cluster registered as `tack cluster add` does, in the test's namespace.
    let kubeconfig = std::fs::read_to_string(second.cluster.layout().kubeconfig())?;
    let secret = json!({
        "apiVersion": "v1", "kind": "Secret",
        "metadata": {"name": "tack-cluster-second", "namespace": ns,
                     "labels": {"tack.dev/secret-type": "cluster", "tack.dev/cluster-name": "second"}},
        "stringData": {"kubeconfig": kubeconfig},
    });
    let secrets: Api<Secret> = Api::namespaced(client.clone(), &ns);
    secrets
        .patch(
            "tack-cluster-second",
            &PatchParams::apply("tack-test"),
            &Patch::Apply(&secret),
        )
        .await?;

    let repo = tack_testkit::GitRepo::new()?;
    for (dir, name, v) in [("far", "far-cm", "one"), ("near", "near-cm", "one")] {
        std::fs::create_dir_all(repo.work().join(dir))?;
        std::fs::write(repo.work().join(dir).join("cm.yaml"), config_map(name, v))?;
    }
    std::fs::create_dir_all(repo.work().join("token"))?;
    std::fs::write(repo.work().join("token/cm.yaml"), config_map("token-cm", "one"))?;
    std::fs::create_dir_all(repo.work().join("confined"))?;
    std::fs::write(
        repo.work().join("confined/cm.yaml"),
        config_map("confined-cm", "one"),
    )?;
    std::fs::write(
        repo.work().join("confined/role.yaml"),
        format!(
            "apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata:\n  name: {ns}-confined\nrules: []\n"
        ),
    )?;
    repo.commit("main", "three applications")?;

    let cache = tempfile::tempdir()?;
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let config = ControllerConfig {
        cache_dir: cache.path().to_path_buf(),
        namespace: Some(ns.clone()),
        concurrency: 2,
        clusters_namespace: ns.clone(),
        ..Default::default()
    };
    let handle = tokio::spawn(tack_gitops::run(client.clone(), config, async move {
        let _ = stopped.await;
    }));

    let apps: Api<GitOpsConfig> = Api::namespaced(client.clone(), &ns);
    // `far` is compared only when its objects drift or it is retried: a revert proves the drift watch there.
    let far = json!({"apiVersion": "gitops.tack.dev/v1alpha1", "kind": "GitOpsConfig",
        "metadata": {"name": "far", "namespace": ns},
        "spec": {"source": {"repoURL": repo.url(), "revision": "main", "path": "far"},
                 "destination": {"namespace": ns, "cluster": "second"},
                 "syncPolicy": {"interval": "1h", "createNamespace": true,
                                "automated": {"prune": true, "selfHeal": true},
                                "retry": {"limit": -1, "backoff": {"duration": "1s", "maxDuration": "2s"}}}}});
    let near = json!({"apiVersion": "gitops.tack.dev/v1alpha1", "kind": "GitOpsConfig",
        "metadata": {"name": "near", "namespace": ns},
        "spec": {"source": {"repoURL": repo.url(), "revision": "main", "path": "near"},
                 "destination": {"namespace": ns},
                 "syncPolicy": {"interval": "2s", "automated": {"prune": true, "selfHeal": true}}}});
    for (name, app) in [("far", &far), ("near", &near)] {
        apps.patch(name, &PatchParams::apply("tack-test"), &Patch::Apply(app))
            .await?;
    }

    // Synced there, not here; the inventory stays here.
    let remote_cms: Api<ConfigMap> = Api::namespaced(remote.clone(), &ns);
    let local_cms: Api<ConfigMap> = Api::namespaced(client.clone(), &ns);
    eventually(
        Duration::from_secs(60),
        "far-cm on the second cluster",
        || async { Ok(value(&remote_cms, "far-cm").await?.filter(|v| v == "one")) },
    )
    .await?;
    eventually(Duration::from_secs(60), "far Ready", || async {
        let (s, reason, message, health) = ready(&apps, "far").await?;
        Ok((s == "True" && health == "Healthy").then_some((reason, message)))
    })
    .await?;
    assert!(
        local_cms.get_opt("far-cm").await?.is_none(),
        "far-cm went to the first cluster"
    );
    assert!(
        local_cms.get_opt("tack-gitops-inventory-far").await?.is_some(),
        "the inventory stays on the first cluster"
    );
    assert!(
        remote_cms.get_opt("tack-gitops-inventory-far").await?.is_none(),
        "no inventory on the second cluster"
    );
    eventually(
        Duration::from_secs(60),
        "near-cm on the first cluster",
        || async { Ok(value(&local_cms, "near-cm").await?.filter(|v| v == "one")) },
    )
    .await?;
    assert!(
        remote_cms.get_opt("near-cm").await?.is_none(),
        "near-cm went to the second cluster"
    );

    // A cluster Secret holding server + token + caData: a token of a ServiceAccount of the second cluster.
    let on_second = tack_cluster::Cluster::from_client(remote.clone(), "default");
    apply_all(
        &on_second,
        &[
            json!({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "tack-remote", "namespace": ns}}),
            json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
                   "metadata": {"name": format!("{ns}-tack-remote")},
                   "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "cluster-admin"},
                   "subjects": [{"kind": "ServiceAccount", "name": "tack-remote", "namespace": ns}]}),
        ],
    )
    .await?;
    let request = TokenRequest {
        spec: Some(TokenRequestSpec {
            expiration_seconds: Some(3600),
            ..Default::default()
        }),
        ..Default::default()
    };
    let accounts: Api<ServiceAccount> = Api::namespaced(remote.clone(), &ns);
    let token = accounts
        .create_token_request("tack-remote", &PostParams::default(), &request)
        .await?
        .status
        .context("no token")?
        .token;
    let parsed = Kubeconfig::read_from(second.cluster.layout().kubeconfig())?;
    let named = parsed
        .clusters
        .first()
        .and_then(|c| c.cluster.clone())
        .context("no cluster")?;
    let ca = named.certificate_authority_data.context("no CA data")?;
    let ca = String::from_utf8(base64::engine::general_purpose::STANDARD.decode(ca)?)?;
    let server = named.server.context("no server")?;
    let secret = json!({
        "apiVersion": "v1", "kind": "Secret",
        "metadata": {"name": "tack-cluster-second-token", "namespace": ns,
                     "labels": {"tack.dev/secret-type": "cluster"}},
        "stringData": {"server": server, "token": token, "caData": ca},
    });
    secrets
        .patch(
            "tack-cluster-second-token",
            &PatchParams::apply("tack-test"),
            &Patch::Apply(&secret),
        )
        .await?;
    let by_token = json!({"apiVersion": "gitops.tack.dev/v1alpha1", "kind": "GitOpsConfig",
        "metadata": {"name": "token", "namespace": ns},
        "spec": {"source": {"repoURL": repo.url(), "revision": "main", "path": "token"},
                 "destination": {"namespace": ns, "cluster": "second-token"},
                 "syncPolicy": {"interval": "2s", "automated": {"prune": true}}}});
    apps.patch(
        "token",
        &PatchParams::apply("tack-test"),
        &Patch::Apply(&by_token),
    )
    .await?;
    eventually(
        Duration::from_secs(60),
        "token-cm on the second cluster",
        || async { Ok(value(&remote_cms, "token-cm").await?.filter(|v| v == "one")) },
    )
    .await?;
    eventually(Duration::from_secs(60), "token Ready", || async {
        let (s, _, _, health) = ready(&apps, "token").await?;
        Ok((s == "True" && health == "Healthy").then_some(()))
    })
    .await?;
    apps.delete("token", &Default::default()).await?;

    // Drift there is reverted.
    let edit = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "far-cm"}, "data": {"k": "edited"}});
    remote_cms
        .patch(
            "far-cm",
            &PatchParams::apply("kubectl-edit").force(),
            &Patch::Apply(&edit),
        )
        .await?;
    eventually(Duration::from_secs(30), "the edit of far-cm reverted", || async {
        Ok(value(&remote_cms, "far-cm").await?.filter(|v| v == "one"))
    })
    .await?;

    // Impersonation happens there: `deployer` of the second cluster may write ConfigMaps of the namespace only.
    let rbac = [
        json!({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "deployer", "namespace": ns}}),
        json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role",
               "metadata": {"name": "deployer", "namespace": ns},
               "rules": [{"apiGroups": [""], "resources": ["configmaps"], "verbs": ["*"]}]}),
        json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
               "metadata": {"name": "deployer", "namespace": ns},
               "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "deployer"},
               "subjects": [{"kind": "ServiceAccount", "name": "deployer", "namespace": ns}]}),
    ];
    apply_all(&on_second, &rbac).await?;
    let confined = json!({"apiVersion": "gitops.tack.dev/v1alpha1", "kind": "GitOpsConfig",
        "metadata": {"name": "confined", "namespace": ns},
        "spec": {"source": {"repoURL": repo.url(), "revision": "main", "path": "confined"},
                 "destination": {"namespace": ns, "cluster": "second"}, "serviceAccountName": "deployer",
                 "syncPolicy": {"interval": "2s", "automated": {"prune": true}}}});
    apps.patch(
        "confined",
        &PatchParams::apply("tack-test"),
        &Patch::Apply(&confined),
    )
    .await?;
    let message = eventually(Duration::from_secs(60), "confined refused", || async {
        let (s, reason, message, _) = ready(&apps, "confined").await?;
        Ok((s == "False" && reason == "SyncFailed").then_some(message))
    })
    .await?;
    assert!(
        message.contains(&format!("system:serviceaccount:{ns}:deployer")) && message.contains("ClusterRole"),
        "{message}"
    );
    assert!(
        remote_cms.get_opt("confined-cm").await?.is_none(),
        "a refused commit applied something"
    );
    apps.delete("confined", &Default::default()).await?;

    // The second cluster stops answering: only `far` is told so; `near` goes on syncing new commits.
    second.stop_apiserver()?;
    let unreachable = eventually(Duration::from_secs(60), "far ClusterUnreachable", || async {
        let (s, reason, message, health) = ready(&apps, "far").await?;
        Ok((s == "False" && reason == "ClusterUnreachable").then_some((message, health)))
    })
    .await;
    let (message, health) = match unreachable {
        Ok(found) => found,
        Err(e) => {
            let seen = ready(&apps, "far").await?;
            return Err(e.context(format!("far is {seen:?}")));
        }
    };
    assert!(
        message.contains("destination cluster second is unreachable"),
        "{message}"
    );
    assert_eq!(health, "Unknown");
    std::fs::write(repo.work().join("near/cm.yaml"), config_map("near-cm", "two"))?;
    repo.commit("main", "near: two")?;
    eventually(Duration::from_secs(60), "near-cm updated meanwhile", || async {
        Ok(value(&local_cms, "near-cm").await?.filter(|v| v == "two"))
    })
    .await?;
    let (s, reason, _, _) = ready(&apps, "far").await?;
    assert_eq!((s.as_str(), reason.as_str()), ("False", "ClusterUnreachable"));

    // Back: `far` recovers, and its drift watch works again.
    second.resume().await?;
    eventually(Duration::from_secs(90), "far Ready again", || async {
        let (s, _, _, health) = ready(&apps, "far").await?;
        Ok((s == "True" && health == "Healthy").then_some(()))
    })
    .await?;
    let remote = second.cluster.client().await?;
    let remote_cms: Api<ConfigMap> = Api::namespaced(remote, &ns);
    remote_cms
        .patch(
            "far-cm",
            &PatchParams::apply("kubectl-edit").force(),
            &Patch::Apply(&edit),
        )
        .await?;
    eventually(
        Duration::from_secs(60),
        "the edit after the outage reverted",
        || async { Ok(value(&remote_cms, "far-cm").await?.filter(|v| v == "one")) },
    )
    .await?;

    stop_controller(stop, handle).await?;
    Ok(())
}

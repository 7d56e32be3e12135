//! Shared fixtures of the Rollout tests: a namespace, the CRDs, a controller scoped to the namespace (that can be
//! stopped and started again), apply helpers and waits.

use std::time::Duration;

use anyhow::{Context, Result, bail};
use k8s_openapi::api::apps::v1::ReplicaSet;
use kube::api::{Api, DynamicObject, GroupVersionKind, ListParams, Patch, PatchParams};
use serde_json::Value;
use tack_testkit::TestNamespace;

pub const SEED: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples/rollouts");

pub struct Env {
    pub client: kube::Client,
    pub ns: TestNamespace,
    controller: Option<(tokio::sync::oneshot::Sender<()>, tokio::task::JoinHandle<()>)>,
}

impl Env {
    /// A fresh namespace, the argoproj.io CRDs, and a Rollout controller scoped to the namespace.
    pub async fn new(prefix: &str) -> Result<Env> {
        let client = tack_testkit::client().await?;
        tack_delivery::install_crds(&client).await?;
        let ns = TestNamespace::new(&client, prefix).await?;
        let mut env = Env {
            client,
            ns,
            controller: None,
        };
        env.start_controller();
        Ok(env)
    }

    pub fn name(&self) -> &str {
        self.ns.name()
    }

    pub fn start_controller(&mut self) {
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let config = tack_delivery::DeliveryConfig {
            namespace: Some(self.ns.name().to_string()),
            concurrency: 4,
        };
        let client = self.client.clone();
        let handle = tokio::spawn(async move {
            tack_delivery::run(client, config, async move {
                let _ = rx.await;
            })
            .await;
        });
        self.controller = Some((tx, handle));
    }

    pub async fn stop_controller(&mut self) {
        if let Some((tx, handle)) = self.controller.take() {
            let _ = tx.send(());
            let _ = tokio::time::timeout(Duration::from_secs(30), handle).await;
        }
    }

    /// Server-side apply of one manifest into the namespace.
    pub async fn apply(&self, mut v: Value) -> Result<()> {
        let api_version = v["apiVersion"].as_str().context("apiVersion")?.to_string();
        let kind = v["kind"].as_str().context("kind")?.to_string();
        let name = v["metadata"]["name"].as_str().context("name")?.to_string();
        let (group, version) = api_version.split_once('/').unwrap_or(("", api_version.as_str()));
        let gvk = GroupVersionKind::gvk(group, version, &kind);
        let (ar, _) = kube::discovery::pinned_kind(&self.client, &gvk)
            .await
            .with_context(|| format!("discovering {api_version} {kind}"))?;
        v["metadata"]["namespace"] = Value::String(self.name().to_string());
        let api: Api<DynamicObject> = Api::namespaced_with(self.client.clone(), self.name(), &ar);
        api.patch(&name, &PatchParams::apply("tack-test").force(), &Patch::Apply(&v))
            .await
            .with_context(|| format!("applying {kind} {name}"))?;
        Ok(())
    }

    /// Applies a seed file (one document).
    pub async fn apply_seed(&self, path: &str) -> Result<()> {
        let text = std::fs::read_to_string(format!("{SEED}/{path}")).with_context(|| path.to_string())?;
        let v: Value = serde_saphyr::from_str(&text).with_context(|| path.to_string())?;
        self.apply(v).await
    }

    /// Applies a YAML document given inline.
    pub async fn apply_yaml(&self, text: &str) -> Result<()> {
        let v: Value = serde_saphyr::from_str(text)?;
        self.apply(v).await
    }

    pub async fn rollout(&self, name: &str) -> Result<Value> {
        let api = tack_delivery::rollout::rollouts(&self.client, self.name());
        Ok(serde_json::to_value(api.get(name).await?)?)
    }

    /// `(hash, spec.replicas, readyReplicas)` of the Rollout's ReplicaSets.
    pub async fn replica_sets(&self) -> Result<Vec<(String, i32, i32)>> {
        let api: Api<ReplicaSet> = Api::namespaced(self.client.clone(), self.name());
        let list = api
            .list(&ListParams::default().labels("rollouts-pod-template-hash"))
            .await?;
        Ok(list
            .items
            .iter()
            .map(|rs| {
                (
                    rs.metadata
                        .labels
                        .as_ref()
                        .and_then(|l| l.get("rollouts-pod-template-hash"))
                        .cloned()
                        .unwrap_or_default(),
                    rs.spec.as_ref().and_then(|s| s.replicas).unwrap_or(0),
                    rs.status.as_ref().and_then(|s| s.ready_replicas).unwrap_or(0),
                )
            })
            .collect())
    }

    pub async fn replicas_of(&self, hash: &str) -> Result<(i32, i32)> {
        Ok(self
            .replica_sets()
            .await?
            .into_iter()
            .find(|(h, _, _)| h == hash)
            .map_or((0, 0), |(_, r, ready)| (r, ready)))
    }

    /// Waits until `check` holds for the Rollout; returns it.
    pub async fn wait_rollout(
        &self,
        name: &str,
        what: &str,
        within: Duration,
        check: impl Fn(&Value) -> bool,
    ) -> Result<Value> {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            let r = self.rollout(name).await?;
            if check(&r) {
                return Ok(r);
            }
            if tokio::time::Instant::now() > deadline {
                bail!(
                    "{what}: not reached within {within:?}; status: {}; replica sets: {:?}",
                    serde_json::to_string_pretty(&r["status"]).unwrap_or_default(),
                    self.replica_sets().await.unwrap_or_default()
                );
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    /// Waits until the Rollout's phase is `phase` and `check` holds.
    pub async fn wait_phase(
        &self,
        name: &str,
        phase: &str,
        within: Duration,
        check: impl Fn(&Value) -> bool,
    ) -> Result<Value> {
        self.wait_rollout(name, &format!("Rollout {name} {phase}"), within, |r| {
            r["status"]["phase"] == phase && check(r)
        })
        .await
    }

    pub async fn get(&self, api_version: &str, kind: &str, name: &str) -> Result<Option<Value>> {
        let (group, version) = api_version.split_once('/').unwrap_or(("", api_version));
        let (ar, _) =
            kube::discovery::pinned_kind(&self.client, &GroupVersionKind::gvk(group, version, kind)).await?;
        let api: Api<DynamicObject> = Api::namespaced_with(self.client.clone(), self.name(), &ar);
        Ok(api
            .get_opt(name)
            .await?
            .map(|o| serde_json::to_value(o).unwrap_or(Value::Null)))
    }
}

impl Drop for Env {
    fn drop(&mut self) {
        if let Some((tx, handle)) = self.controller.take() {
            let _ = tx.send(());
            handle.abort();
        }
    }
}

/// The Rollout's current pod hash.
pub fn current_hash(r: &Value) -> String {
    r["status"]["currentPodHash"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

/// The Rollout's stable hash.
pub fn stable_hash(r: &Value) -> String {
    r["status"]["stableRS"].as_str().unwrap_or_default().to_string()
}

pub fn step(r: &Value) -> i64 {
    r["status"]["currentStepIndex"].as_i64().unwrap_or(-1)
}

pub const MINUTE: Duration = Duration::from_secs(60);

/// Installs a CRD whose schema preserves unknown fields (for third-party routers in tests); idempotent.
pub async fn install_open_crd(
    client: &kube::Client,
    group: &str,
    version: &str,
    kind: &str,
    plural: &str,
) -> Result<()> {
    use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
    let name = format!("{plural}.{group}");
    let crd: CustomResourceDefinition = serde_json::from_value(serde_json::json!({
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        // Groups under k8s.io need the approval annotation; the Gateway API CRDs carry this one.
        "metadata": {"name": name, "annotations": {
            "api-approved.kubernetes.io": "https://github.com/kubernetes-sigs/gateway-api/pull/2466"}},
        "spec": {
            "group": group,
            "names": {"kind": kind, "listKind": format!("{kind}List"), "plural": plural,
                      "singular": kind.to_lowercase()},
            "scope": "Namespaced",
            "versions": [{"name": version, "served": true, "storage": true,
                          "schema": {"openAPIV3Schema": {"type": "object",
                                                         "x-kubernetes-preserve-unknown-fields": true}}}]
        }
    }))?;
    let api: Api<CustomResourceDefinition> = Api::all(client.clone());
    api.patch(
        &name,
        &PatchParams::apply("tack-test").force(),
        &Patch::Apply(&crd),
    )
    .await
    .with_context(|| format!("installing CRD {name}"))?;
    // Established and served by discovery (which lags behind the condition).
    tack_cluster::Cluster::from_client(client.clone(), "default")
        .wait_crd_established(&name, MINUTE)
        .await?;
    Ok(())
}

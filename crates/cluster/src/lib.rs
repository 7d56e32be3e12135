//! Kind-agnostic access to the Kubernetes API server: what the sync engine needs on objects it knows only as
//! `serde_json::Value`.
//!
//! [`Cluster`] wraps a `kube::Client` with a discovery cache (refreshed on demand, for instance after a
//! CustomResourceDefinition was applied) and the verbs tack needs on any kind of object: server-side apply
//! (field manager [`FIELD_MANAGER`], optionally dry-run and forced), get, list, delete with a propagation
//! policy, and waiting for CRDs to be Established and served by discovery. Errors name the object and, for
//! apply conflicts, the other field manager and the field.
//!
//! It is not the only way to the API server: the controllers (the GitOps controller, the Rollout and
//! AnalysisRun controllers in `tack-delivery`), leader election and the CLI's commands on tack's own resources
//! use typed `kube::Api`s and kube-runtime's watches directly, on the client that [`Cluster::client`] hands
//! out. Every write still uses [`FIELD_MANAGER`].

#![warn(missing_docs)]

mod error;

use std::path::PathBuf;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{
    Api, DeleteParams, DynamicObject, GroupVersionKind, ListParams, Patch, PatchParams, PropagationPolicy,
};
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::discovery::{ApiResource, Discovery, Scope};
use serde_json::Value;

pub use error::{ClusterError, Conflict};

/// The field manager tack applies with.
pub const FIELD_MANAGER: &str = "tack";

/// How to reach the cluster. Empty options mean the usual inference: `$KUBECONFIG`, `~/.kube/config`,
/// then the in-cluster service account.
#[derive(Clone, Debug, Default)]
pub struct ConnectOptions {
    /// The kubeconfig file to read instead of `$KUBECONFIG` / `~/.kube/config`.
    pub kubeconfig: Option<PathBuf>,
    /// The kubeconfig context to use instead of its current context.
    pub context: Option<String>,
}

/// A resolved kind: how to address it and whether it is namespaced.
#[derive(Clone, Debug)]
pub struct Kind {
    /// Group, version, kind and plural resource name, as discovery reports them.
    pub resource: ApiResource,
    /// Whether objects of the kind live in a namespace.
    pub namespaced: bool,
}

/// One kind the cluster serves (for scope tables).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServedKind {
    /// The API group (empty for the core group).
    pub group: String,
    /// The kind (`Deployment`).
    pub kind: String,
    /// Whether objects of the kind live in a namespace.
    pub namespaced: bool,
}

/// Options of [`Cluster::apply`].
#[derive(Clone, Copy, Debug, Default)]
pub struct ApplyOptions {
    /// Server-side dry run: validated and defaulted by the API server, nothing stored.
    pub dry_run: bool,
    /// Take over fields owned by other field managers.
    pub force: bool,
}

/// A client with a discovery cache.
#[derive(Clone)]
pub struct Cluster {
    client: kube::Client,
    default_namespace: String,
    discovery: Arc<RwLock<Option<Arc<Discovery>>>>,
}

impl std::fmt::Debug for Cluster {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Cluster")
            .field("default_namespace", &self.default_namespace)
            .finish_non_exhaustive()
    }
}

/// Installs the rustls crypto provider (ring) once per process; safe to call many times.
pub fn install_crypto_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

impl Cluster {
    /// Connects using `opts` (see [`ConnectOptions`]).
    pub async fn connect(opts: &ConnectOptions) -> Result<Cluster, ClusterError> {
        install_crypto_provider();
        let kc_opts = KubeConfigOptions {
            context: opts.context.clone(),
            ..Default::default()
        };
        let config = match &opts.kubeconfig {
            Some(path) => {
                let kc = Kubeconfig::read_from(path).map_err(|e| ClusterError::Config {
                    message: format!("cannot read kubeconfig {}: {e}", path.display()),
                })?;
                kube::Config::from_custom_kubeconfig(kc, &kc_opts)
                    .await
                    .map_err(|e| ClusterError::Config {
                        message: format!("kubeconfig {}: {e}", path.display()),
                    })?
            }
            None if opts.context.is_some() => {
                kube::Config::from_kubeconfig(&kc_opts)
                    .await
                    .map_err(|e| ClusterError::Config {
                        message: format!("kubeconfig: {e}"),
                    })?
            }
            None => kube::Config::infer().await.map_err(|e| ClusterError::Config {
                message: format!("no cluster configuration found ({e})"),
            })?,
        };
        let default_namespace = config.default_namespace.clone();
        let client = kube::Client::try_from(config).map_err(|e| ClusterError::Config {
            message: format!("cannot build a client: {e}"),
        })?;
        Ok(Cluster::from_client(client, default_namespace))
    }

    /// Wraps an existing client.
    pub fn from_client(client: kube::Client, default_namespace: impl Into<String>) -> Cluster {
        Cluster {
            client,
            default_namespace: default_namespace.into(),
            discovery: Arc::new(RwLock::new(None)),
        }
    }

    /// The underlying client.
    pub fn client(&self) -> &kube::Client {
        &self.client
    }

    /// The kubeconfig context's namespace (`default` when it sets none).
    pub fn default_namespace(&self) -> &str {
        &self.default_namespace
    }

    /// Runs discovery again (after CRDs were applied or deleted).
    pub async fn refresh_discovery(&self) -> Result<Arc<Discovery>, ClusterError> {
        let d = Discovery::new(self.client.clone())
            .run_aggregated()
            .await
            .map_err(ClusterError::discovery)?;
        let d = Arc::new(d);
        if let Ok(mut slot) = self.discovery.write() {
            *slot = Some(d.clone());
        }
        Ok(d)
    }

    async fn discovery(&self) -> Result<Arc<Discovery>, ClusterError> {
        // The guard must not live across an await (it is not Send).
        let cached = self.discovery.read().ok().and_then(|slot| slot.clone());
        if let Some(d) = cached {
            return Ok(d);
        }
        self.refresh_discovery().await
    }

    /// Every kind the cluster serves, with its scope (preferred versions).
    pub async fn served_kinds(&self) -> Result<Vec<ServedKind>, ClusterError> {
        let d = self.discovery().await?;
        let mut out = Vec::new();
        for g in d.groups() {
            for (ar, caps) in g.recommended_resources() {
                out.push(ServedKind {
                    group: ar.group.clone(),
                    kind: ar.kind.clone(),
                    namespaced: caps.scope == Scope::Namespaced,
                });
            }
        }
        Ok(out)
    }

    /// Resolves `apiVersion` + `kind`; `None` when the cluster does not serve it.
    pub async fn resolve(&self, api_version: &str, kind: &str) -> Result<Option<Kind>, ClusterError> {
        let (group, version) = match api_version.rsplit_once('/') {
            Some((g, v)) => (g, v),
            None => ("", api_version),
        };
        let gvk = GroupVersionKind::gvk(group, version, kind);
        let d = self.discovery().await?;
        Ok(d.resolve_gvk(&gvk).map(|(resource, caps)| Kind {
            resource,
            namespaced: caps.scope == Scope::Namespaced,
        }))
    }

    /// Resolves `group` + `kind` to the group's preferred version; `None` when not served.
    pub async fn resolve_group_kind(&self, group: &str, kind: &str) -> Result<Option<Kind>, ClusterError> {
        let d = self.discovery().await?;
        Ok(d.get(group)
            .and_then(|g| g.recommended_kind(kind))
            .map(|(resource, caps)| Kind {
                resource,
                namespaced: caps.scope == Scope::Namespaced,
            }))
    }

    fn api(&self, kind: &Kind, namespace: &str) -> Api<DynamicObject> {
        if kind.namespaced {
            Api::namespaced_with(self.client.clone(), namespace, &kind.resource)
        } else {
            Api::all_with(self.client.clone(), &kind.resource)
        }
    }

    /// Server-side apply of `object` (which must carry apiVersion, kind, metadata.name and, for namespaced
    /// kinds, metadata.namespace) with field manager [`FIELD_MANAGER`] and strict field validation.
    /// Returns the object as the API server stored it (or would store it, for a dry run).
    pub async fn apply(
        &self,
        kind: &Kind,
        object: &Value,
        opts: ApplyOptions,
    ) -> Result<Value, ClusterError> {
        let (namespace, name) = ns_name(object);
        let what = describe(object);
        let mut pp = PatchParams::apply(FIELD_MANAGER).validation_strict();
        if opts.force {
            pp = pp.force();
        }
        if opts.dry_run {
            pp = pp.dry_run();
        }
        let api = self.api(kind, &namespace);
        let applied = api
            .patch(&name, &pp, &Patch::Apply(object))
            .await
            .map_err(|e| ClusterError::from_kube(e, &what, is_secret(object)))?;
        serde_json::to_value(applied).map_err(|e| ClusterError::Decode {
            what,
            message: e.to_string(),
        })
    }

    /// The live object, or `None` when it does not exist.
    pub async fn get(&self, kind: &Kind, namespace: &str, name: &str) -> Result<Option<Value>, ClusterError> {
        let api = self.api(kind, namespace);
        let what = format!("{}/{name}", kind.resource.kind);
        match api.get_opt(name).await {
            Ok(Some(o)) => serde_json::to_value(o)
                .map(Some)
                .map_err(|e| ClusterError::Decode {
                    what,
                    message: e.to_string(),
                }),
            Ok(None) => Ok(None),
            Err(e) => Err(ClusterError::from_kube(e, &what, kind.resource.kind == "Secret")),
        }
    }

    /// Every object of `kind` in `namespace` (all namespaces when `None`; ignored for cluster-scoped kinds),
    /// paged by 500.
    pub async fn list(&self, kind: &Kind, namespace: Option<&str>) -> Result<Vec<Value>, ClusterError> {
        let mut out = Vec::new();
        self.list_each(kind, namespace, |o| out.push(o)).await?;
        Ok(out)
    }

    /// [`Cluster::list`], handing each object to `each` as its page arrives: a caller that keeps only some
    /// objects never holds more than one page (500 objects) of the others.
    pub async fn list_each(
        &self,
        kind: &Kind,
        namespace: Option<&str>,
        mut each: impl FnMut(Value),
    ) -> Result<(), ClusterError> {
        let api: Api<DynamicObject> = match (kind.namespaced, namespace) {
            (true, Some(ns)) => Api::namespaced_with(self.client.clone(), ns, &kind.resource),
            _ => Api::all_with(self.client.clone(), &kind.resource),
        };
        let what = format!("list of {}", kind.resource.plural);
        let mut lp = ListParams::default().limit(500);
        loop {
            let page = api
                .list(&lp)
                .await
                .map_err(|e| ClusterError::from_kube(e, &what, false))?;
            let next = page.metadata.continue_.clone().filter(|c| !c.is_empty());
            for o in page.items {
                each(serde_json::to_value(o).map_err(|e| ClusterError::Decode {
                    what: what.clone(),
                    message: e.to_string(),
                })?);
            }
            match next {
                Some(token) => lp = lp.continue_token(&token),
                None => break,
            }
        }
        Ok(())
    }

    /// Deletes an object with `propagation`; `Ok(false)` when it was already gone.
    pub async fn delete(
        &self,
        kind: &Kind,
        namespace: &str,
        name: &str,
        propagation: PropagationPolicy,
    ) -> Result<bool, ClusterError> {
        let api = self.api(kind, namespace);
        let dp = DeleteParams {
            propagation_policy: Some(propagation),
            ..Default::default()
        };
        let what = format!("{}/{name}", kind.resource.kind);
        match api.delete(name, &dp).await {
            Ok(_) => Ok(true),
            Err(kube::Error::Api(s)) if s.code == 404 => Ok(false),
            Err(e) => Err(ClusterError::from_kube(e, &what, kind.resource.kind == "Secret")),
        }
    }

    /// Waits until the CustomResourceDefinition `name` is ready for use: its condition Established is True
    /// AND the API server's discovery serves its kind in every served version. Discovery lags behind the
    /// Established condition (by up to a few seconds on a fresh API server), and an object of a kind that
    /// discovery does not list yet cannot be resolved nor created. On return this client's discovery cache
    /// is fresh, so [`Cluster::resolve`] finds the kind. Call it after applying a CRD and before creating
    /// objects of it; `timeout` covers both waits.
    pub async fn wait_crd_established(&self, name: &str, timeout: Duration) -> Result<(), ClusterError> {
        let api: Api<CustomResourceDefinition> = Api::all(self.client.clone());
        let deadline = tokio::time::Instant::now() + timeout;
        let what = format!("CustomResourceDefinition/{name}");
        let crd = loop {
            let crd = api
                .get_opt(name)
                .await
                .map_err(|e| ClusterError::from_kube(e, &what, false))?;
            if let Some(crd) = crd.filter(crd_established) {
                break crd;
            }
            if tokio::time::Instant::now() >= deadline {
                return Err(ClusterError::Timeout {
                    what: format!("{what} to become Established"),
                    after: timeout,
                });
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        };
        let wanted = crd_served_kinds(&crd);
        loop {
            let discovery = self.refresh_discovery().await?;
            let missing: Vec<String> = wanted
                .iter()
                .filter(|gvk| discovery.resolve_gvk(gvk).is_none())
                .map(|gvk| format!("{}/{} {}", gvk.group, gvk.version, gvk.kind))
                .collect();
            if missing.is_empty() {
                return Ok(());
            }
            if tokio::time::Instant::now() >= deadline {
                return Err(ClusterError::Timeout {
                    what: format!(
                        "the API server's discovery to serve {} ({what} is Established)",
                        missing.join(", ")
                    ),
                    after: timeout,
                });
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
}

/// Whether the CRD's condition Established is True.
fn crd_established(crd: &CustomResourceDefinition) -> bool {
    crd.status
        .as_ref()
        .and_then(|s| s.conditions.as_ref())
        .is_some_and(|cs| cs.iter().any(|c| c.type_ == "Established" && c.status == "True"))
}

/// Group, version and kind of every version the CRD serves.
fn crd_served_kinds(crd: &CustomResourceDefinition) -> Vec<GroupVersionKind> {
    crd.spec
        .versions
        .iter()
        .filter(|v| v.served)
        .map(|v| GroupVersionKind::gvk(&crd.spec.group, &v.name, &crd.spec.names.kind))
        .collect()
}

fn ns_name(object: &Value) -> (String, String) {
    let meta = object.get("metadata");
    let s = |k: &str| {
        meta.and_then(|m| m.get(k))
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string()
    };
    (s("namespace"), s("name"))
}

fn is_secret(object: &Value) -> bool {
    object.get("kind").and_then(Value::as_str) == Some("Secret")
}

fn describe(object: &Value) -> String {
    let kind = object.get("kind").and_then(Value::as_str).unwrap_or("object");
    let (ns, name) = ns_name(object);
    if ns.is_empty() {
        format!("{kind}/{name}")
    } else {
        format!("{kind}/{name} in namespace {ns}")
    }
}

pub use kube::api::PropagationPolicy as Propagation;

#[cfg(test)]
mod tests {
    use super::*;

    fn crd(status: Value) -> CustomResourceDefinition {
        serde_json::from_value(serde_json::json!({
            "metadata": {"name": "widgets.example.test"},
            "spec": {"group": "example.test", "scope": "Namespaced",
                     "names": {"plural": "widgets", "kind": "Widget"},
                     "versions": [{"name": "v1", "served": true, "storage": true},
                                  {"name": "v1beta1", "served": false, "storage": false},
                                  {"name": "v2", "served": true, "storage": false}]},
            "status": status,
        }))
        .expect("a valid CRD")
    }

    #[test]
    fn served_versions_are_waited_for() {
        let gvks: Vec<String> = crd_served_kinds(&crd(Value::Null))
            .iter()
            .map(|g| format!("{}/{} {}", g.group, g.version, g.kind))
            .collect();
        assert_eq!(gvks, ["example.test/v1 Widget", "example.test/v2 Widget"]);
    }

    #[test]
    fn established_needs_the_condition_true() {
        assert!(!crd_established(&crd(Value::Null)));
        let condition = |status: &str| {
            serde_json::json!({"conditions": [
                {"type": "NamesAccepted", "status": "True"},
                {"type": "Established", "status": status}]})
        };
        assert!(!crd_established(&crd(condition("False"))));
        assert!(crd_established(&crd(condition("True"))));
    }
}

//! Remote clusters as destinations: `spec.destination.cluster` names a cluster registered as a Secret of the
//! controller's namespace (`tack cluster add`), labelled [`SECRET_TYPE_LABEL`]` = cluster`, holding either a
//! kubeconfig (key `kubeconfig`, optional key `context`) or `server` + `token` (+ `caData`, + `insecure`).
//!
//! [`Destinations`] reads that Secret with the controller's identity and keeps one client per cluster Secret
//! (rebuilt when the Secret's `resourceVersion` changes), with the clusters of the ServiceAccounts impersonated
//! there. Every request for the application's objects (dry run, apply, prune, health, drift watches) goes to
//! that cluster; its status, Events and inventory stay on the cluster the controller runs in. Before an
//! application is synced its cluster is asked for its version: a cluster that does not answer fails only its
//! own applications, with [`crate::Error::ClusterUnreachable`].
//!
//! Parsing a Secret into a kubeconfig ([`kubeconfig_of`]) is pure. A kubeconfig stored in a Secret may not
//! point at files or programs of the controller's machine (`tokenFile`, certificate or key paths, `exec`,
//! `auth-provider`): the controller's own files (its ServiceAccount token) must never be reachable that way.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine;
use k8s_openapi::api::core::v1::Secret;
use kube::api::Api;
use kube::config::{KubeConfigOptions, Kubeconfig};
use tack_cluster::Cluster;

use crate::Error;
use crate::impersonation::Identities;
use crate::policy::IN_CLUSTER;

/// The label that marks a Secret as a registered cluster (value [`SECRET_TYPE_CLUSTER`]).
pub const SECRET_TYPE_LABEL: &str = "tack.dev/secret-type";
/// The value of [`SECRET_TYPE_LABEL`] on cluster Secrets.
pub const SECRET_TYPE_CLUSTER: &str = "cluster";
/// The label holding the cluster's name on its Secret.
pub const CLUSTER_NAME_LABEL: &str = "tack.dev/cluster-name";
/// The namespace of the cluster Secrets unless the controller is told another (`--clusters-namespace`).
pub const DEFAULT_CLUSTERS_NAMESPACE: &str = "tack-system";

/// How long a cluster may take to answer the reachability check before a sync.
const PROBE_TIMEOUT: Duration = Duration::from_secs(10);
/// How long connecting to a remote cluster may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// The Secret of cluster `name`.
pub fn secret_name(name: &str) -> String {
    format!("tack-cluster-{name}")
}

/// Whether `name` can name a registered cluster: a DNS label of at most 50 characters (the Secret's name adds
/// a prefix), not `in-cluster` (the cluster the controller runs in).
pub fn valid_cluster_name(name: &str) -> bool {
    let edge = |c: Option<char>| c.is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit());
    name != IN_CLUSTER
        && !name.is_empty()
        && name.len() <= 50
        && edge(name.chars().next())
        && edge(name.chars().last())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
}

/// The cluster an application names (`None`: the cluster the controller runs in).
pub fn cluster_of(obj: &tack_model::GitOpsConfig) -> Option<&str> {
    match obj.spec.destination.cluster.as_deref().map(str::trim) {
        None | Some("") | Some(IN_CLUSTER) => None,
        Some(name) => Some(name),
    }
}

/// Why a cluster Secret cannot be used. Never holds a value of the Secret.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct SecretError(String);

/// The kubeconfig (and the context to use) that a cluster Secret's data describes. Pure.
pub fn kubeconfig_of(data: &BTreeMap<String, Vec<u8>>) -> Result<(Kubeconfig, Option<String>), SecretError> {
    let text = |key: &str| -> Result<Option<String>, SecretError> {
        data.get(key)
            .map(|v| {
                String::from_utf8(v.clone())
                    .map(|s| s.trim().to_string())
                    .map_err(|_| SecretError(format!("key {key} is not UTF-8 text")))
            })
            .transpose()
    };
    let context = text("context")?.filter(|c| !c.is_empty());
    let config = if let Some(yaml) = text("kubeconfig")? {
        for key in ["server", "token", "caData", "insecure"] {
            if data.contains_key(key) {
                return Err(SecretError(format!(
                    "holds both `kubeconfig` and `{key}`: give either a kubeconfig or server + token"
                )));
            }
        }
        Kubeconfig::from_yaml(&yaml)
            .map_err(|e| SecretError(format!("key kubeconfig is not a kubeconfig: {}", first_line(&e))))?
    } else {
        let server = text("server")?
            .filter(|s| !s.is_empty())
            .ok_or_else(|| SecretError("has neither `kubeconfig` nor `server` (with `token`)".into()))?;
        let token = text("token")?
            .filter(|s| !s.is_empty())
            .ok_or_else(|| SecretError("has `server` but no `token`".into()))?;
        let insecure = match text("insecure")?.as_deref() {
            None | Some("false") => false,
            Some("true") => true,
            Some(_) => return Err(SecretError("key insecure must be `true` or `false`".into())),
        };
        let ca = data.get("caData").filter(|c| !c.is_empty());
        if insecure && ca.is_some() {
            return Err(SecretError(
                "holds both `caData` and `insecure: true`: verify with the CA, or (explicitly) not at all"
                    .into(),
            ));
        }
        let mut cluster = serde_json::json!({"server": server});
        if let Some(ca) = ca {
            cluster["certificate-authority-data"] =
                base64::engine::general_purpose::STANDARD.encode(ca).into();
        }
        if insecure {
            cluster["insecure-skip-tls-verify"] = true.into();
        }
        let value = serde_json::json!({
            "apiVersion": "v1", "kind": "Config",
            "clusters": [{"name": "remote", "cluster": cluster}],
            "users": [{"name": "remote", "user": {"token": token}}],
            "contexts": [{"name": "remote", "context": {"cluster": "remote", "user": "remote"}}],
            "current-context": "remote",
        });
        serde_json::from_value(value).map_err(|e| SecretError(format!("cannot build a kubeconfig: {e}")))?
    };
    check_self_contained(&config)?;
    Ok((config, context))
}

fn first_line(e: &impl std::fmt::Display) -> String {
    e.to_string().lines().next().unwrap_or_default().to_string()
}

/// Refuses what would make the controller read its own files or run programs.
fn check_self_contained(config: &Kubeconfig) -> Result<(), SecretError> {
    for named in &config.clusters {
        let Some(c) = &named.cluster else { continue };
        if c.certificate_authority.is_some() {
            return Err(SecretError(format!(
                "cluster {} names a certificate-authority file; embed it as certificate-authority-data \
                 (`tack cluster add` does)",
                named.name
            )));
        }
    }
    for named in &config.auth_infos {
        let Some(u) = &named.auth_info else { continue };
        let refused = [
            (u.token_file.is_some(), "tokenFile"),
            (u.client_certificate.is_some(), "client-certificate (a file)"),
            (u.client_key.is_some(), "client-key (a file)"),
            (u.exec.is_some(), "exec (a credential plugin)"),
            (u.auth_provider.is_some(), "auth-provider"),
        ];
        if let Some((_, what)) = refused.iter().find(|(set, _)| *set) {
            return Err(SecretError(format!(
                "user {} uses {what}, which a cluster Secret may not: embed a token or client certificate data \
                 (`tack cluster add` does)",
                named.name
            )));
        }
    }
    Ok(())
}

/// The API server URL of the context `config` uses (for `tack cluster list`).
pub fn server_of(config: &Kubeconfig, context: Option<&str>) -> Option<String> {
    let context = context.or(config.current_context.as_deref())?;
    let cluster = config
        .contexts
        .iter()
        .find(|c| c.name == context)?
        .context
        .as_ref()?
        .cluster
        .clone();
    config
        .clusters
        .iter()
        .find(|c| c.name == cluster)?
        .cluster
        .as_ref()?
        .server
        .clone()
}

/// A client for the cluster a Secret's data describes (connect timeout [`CONNECT_TIMEOUT`]).
pub async fn client_of(data: &BTreeMap<String, Vec<u8>>) -> Result<Cluster, SecretError> {
    tack_cluster::install_crypto_provider();
    let (config, context) = kubeconfig_of(data)?;
    let opts = KubeConfigOptions {
        context,
        ..Default::default()
    };
    let mut config = kube::Config::from_custom_kubeconfig(config, &opts)
        .await
        .map_err(|e| SecretError(format!("kubeconfig: {}", first_line(&e))))?;
    config.connect_timeout = Some(CONNECT_TIMEOUT);
    let namespace = config.default_namespace.clone();
    let client = kube::Client::try_from(config)
        .map_err(|e| SecretError(format!("cannot build a client: {}", first_line(&e))))?;
    Ok(Cluster::from_client(client, namespace))
}

/// Whether `cluster` answers (its version) within [`PROBE_TIMEOUT`]; the error says why not.
pub async fn probe(cluster: &Cluster) -> Result<(), String> {
    match tokio::time::timeout(PROBE_TIMEOUT, cluster.client().apiserver_version()).await {
        Ok(Ok(_)) => Ok(()),
        Ok(Err(e)) => Err(first_line(&e)),
        Err(_) => Err(format!("no answer within {}s", PROBE_TIMEOUT.as_secs())),
    }
}

/// Where an application's objects live: the cluster the controller runs in, or a registered one.
#[derive(Clone)]
pub struct Target {
    /// The cluster's name (`in-cluster` for the controller's own).
    pub name: String,
    /// The cluster Secret's resourceVersion (empty for the controller's own cluster).
    pub version: String,
    /// The controller's (or the cluster Secret's) identity there.
    pub cluster: Cluster,
    /// The ServiceAccounts impersonated there.
    pub(crate) identities: Arc<Identities>,
}

impl Target {
    /// Whether this is a registered cluster rather than the controller's own.
    pub fn is_remote(&self) -> bool {
        self.name != IN_CLUSTER
    }
}

/// The cluster Secrets' clients, one per Secret version.
pub struct Destinations {
    client: kube::Client,
    namespace: String,
    local: Target,
    remotes: Mutex<HashMap<String, Target>>,
}

impl Destinations {
    /// Cluster Secrets are read from `namespace` through `client`; `local` is the controller's own cluster.
    pub fn new(client: kube::Client, namespace: String, local: Cluster) -> Self {
        let identities = Arc::new(Identities::new(local.client().clone()));
        Destinations {
            client,
            namespace,
            local: Target {
                name: IN_CLUSTER.to_string(),
                version: String::new(),
                cluster: local,
                identities,
            },
            remotes: Mutex::new(HashMap::new()),
        }
    }

    /// The controller's own cluster.
    pub fn local(&self) -> &Target {
        &self.local
    }

    fn remotes(&self) -> std::sync::MutexGuard<'_, HashMap<String, Target>> {
        match self.remotes.lock() {
            Ok(m) => m,
            Err(poisoned) => poisoned.into_inner(),
        }
    }

    /// The target last resolved for cluster `name` (no request made).
    pub fn cached(&self, name: Option<&str>) -> Option<Target> {
        match name {
            None => Some(self.local.clone()),
            Some(n) => self.remotes().get(n).cloned(),
        }
    }

    /// The target of `obj`, its cluster Secret read again (a new client when it changed), and checked to
    /// answer.
    pub async fn resolve(&self, obj: &tack_model::GitOpsConfig) -> Result<Target, Error> {
        let Some(name) = cluster_of(obj) else {
            return Ok(self.local.clone());
        };
        let invalid = |message: String| Error::ClusterInvalid {
            cluster: name.to_string(),
            message,
        };
        if !valid_cluster_name(name) {
            return Err(invalid(
                "spec.destination.cluster is not a cluster name (lowercase letters, digits and `-`)".into(),
            ));
        }
        let secrets: Api<Secret> = Api::namespaced(self.client.clone(), &self.namespace);
        let secret_name = secret_name(name);
        let secret = secrets.get_opt(&secret_name).await?.ok_or_else(|| {
            invalid(format!(
                "not registered: no Secret {}/{secret_name}; register it with `tack cluster add {name}`",
                self.namespace
            ))
        })?;
        let labels = secret.metadata.labels.clone().unwrap_or_default();
        if labels.get(SECRET_TYPE_LABEL).map(String::as_str) != Some(SECRET_TYPE_CLUSTER) {
            return Err(invalid(format!(
                "Secret {}/{secret_name} is not labelled {SECRET_TYPE_LABEL}={SECRET_TYPE_CLUSTER}",
                self.namespace
            )));
        }
        let version = secret.metadata.resource_version.clone().unwrap_or_default();
        let cached = self.remotes().get(name).filter(|t| t.version == version).cloned();
        let target = match cached {
            Some(t) => t,
            None => {
                let data: BTreeMap<String, Vec<u8>> = secret
                    .data
                    .unwrap_or_default()
                    .into_iter()
                    .map(|(k, v)| (k, v.0))
                    .collect();
                let cluster = client_of(&data)
                    .await
                    .map_err(|e| invalid(format!("Secret {}/{secret_name} {e}", self.namespace)))?;
                let target = Target {
                    name: name.to_string(),
                    version,
                    identities: Arc::new(Identities::new(cluster.client().clone())),
                    cluster,
                };
                self.remotes().insert(name.to_string(), target.clone());
                target
            }
        };
        probe(&target.cluster)
            .await
            .map_err(|message| Error::ClusterUnreachable {
                cluster: name.to_string(),
                message,
            })?;
        Ok(target)
    }
}

/// The status of an application whose cluster does not answer: its health is Unknown (what it was before
/// cannot be known now).
pub fn health_unknown(status: &mut tack_model::GitOpsConfigStatus, message: &str) {
    status.health = Some(tack_model::HealthStatus {
        status: "Unknown".into(),
        message: Some(message.to_string()),
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    fn data(pairs: &[(&str, &str)]) -> BTreeMap<String, Vec<u8>> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.as_bytes().to_vec()))
            .collect()
    }

    #[test]
    fn names() {
        assert!(valid_cluster_name("prod-eu-1"));
        for bad in [
            "",
            "in-cluster",
            "Prod",
            "-a",
            "a-",
            "a.b",
            "a_b",
            &"a".repeat(51),
        ] {
            assert!(!valid_cluster_name(bad), "{bad:?}");
        }
        assert_eq!(secret_name("prod"), "tack-cluster-prod");
    }

    #[test]
    fn server_and_token() {
        let (config, context) = kubeconfig_of(&data(&[
            ("server", "https://10.0.0.1:6443"),
            ("token", "abc"),
            ("caData", "-----BEGIN CERTIFICATE-----\n"),
        ]))
        .expect("valid");
        assert_eq!(context, None);
        assert_eq!(server_of(&config, None).as_deref(), Some("https://10.0.0.1:6443"));
        let cluster = config.clusters[0].cluster.as_ref().expect("cluster");
        assert!(cluster.certificate_authority_data.is_some());
        assert_eq!(cluster.insecure_skip_tls_verify, None);
        let insecure = kubeconfig_of(&data(&[
            ("server", "https://10.0.0.1:6443"),
            ("token", "abc"),
            ("insecure", "true"),
        ]))
        .expect("explicitly insecure");
        let cluster = insecure.0.clusters[0].cluster.as_ref().expect("cluster");
        assert_eq!(cluster.insecure_skip_tls_verify, Some(true));
    }

    #[test]
    fn refusals_name_the_problem_not_the_values() {
        let cases: [(&[(&str, &str)], &str); 6] = [
            (&[("token", "s3cret")], "neither `kubeconfig` nor `server`"),
            (&[("server", "https://x"), ("token", "")], "no `token`"),
            (
                &[("server", "https://x"), ("token", "s3cret"), ("insecure", "yes")],
                "insecure must be",
            ),
            (
                &[
                    ("server", "https://x"),
                    ("token", "s3cret"),
                    ("insecure", "true"),
                    ("caData", "x"),
                ],
                "both `caData` and `insecure: true`",
            ),
            (
                &[("kubeconfig", "{}"), ("token", "s3cret")],
                "both `kubeconfig` and `token`",
            ),
            (
                &[(
                    "kubeconfig",
                    "apiVersion: v1\nkind: Config\nusers:\n- name: u\n  user:\n    tokenFile: \
                     /var/run/secrets/kubernetes.io/serviceaccount/token\n",
                )],
                "uses tokenFile",
            ),
        ];
        for (pairs, expected) in cases {
            let err = kubeconfig_of(&data(pairs))
                .err()
                .map(|e| e.to_string())
                .unwrap_or_default();
            assert!(err.contains(expected), "{pairs:?}: {err}");
            assert!(!err.contains("s3cret"), "{err}");
        }
        let exec = "apiVersion: v1\nkind: Config\nusers:\n- name: u\n  user:\n    exec:\n      apiVersion: \
                    client.authentication.k8s.io/v1\n      command: /bin/sh\n";
        let err = kubeconfig_of(&data(&[("kubeconfig", exec)]))
            .err()
            .map(|e| e.to_string());
        assert!(err.unwrap_or_default().contains("exec"));
        let ca_file = "apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster:\n    server: https://x\n    \
                       certificate-authority: /etc/ca.crt\n";
        let err = kubeconfig_of(&data(&[("kubeconfig", ca_file)]))
            .err()
            .map(|e| e.to_string());
        assert!(err.unwrap_or_default().contains("certificate-authority file"));
    }

    #[test]
    fn tenant_policy_destinations_match_the_cluster_name() {
        use tack_model::{DestinationRule, TenantPolicy, TenantPolicySpec};
        let policy = TenantPolicy::new(
            "team-a",
            TenantPolicySpec {
                destinations: Some(vec![DestinationRule {
                    namespace: "team-a".into(),
                    cluster: Some("prod-*".into()),
                }]),
                ..Default::default()
            },
        );
        let policies = std::slice::from_ref(&policy);
        assert!(crate::policy::check_objects(policies, "team-a", "prod-eu", &[]).is_ok());
        let refused = crate::policy::check_objects(policies, "team-a", "staging", &[]);
        assert_eq!(refused.as_ref().err().map(|v| v.rule), Some("destinations"));
        let refused = crate::policy::check_objects(policies, "team-a", IN_CLUSTER, &[]);
        assert!(refused.is_err(), "in-cluster is not prod-*");
    }

    #[test]
    fn kubeconfig_with_a_context() {
        let yaml = "apiVersion: v1\nkind: Config\nclusters:\n- name: a\n  cluster:\n    server: https://a\n- name: b\n  \
                    cluster:\n    server: https://b\nusers:\n- name: u\n  user:\n    token: t\ncontexts:\n- name: a\n  \
                    context: {cluster: a, user: u}\n- name: b\n  context: {cluster: b, user: u}\ncurrent-context: a\n";
        let (config, context) =
            kubeconfig_of(&data(&[("kubeconfig", yaml), ("context", "b")])).expect("valid");
        assert_eq!(context.as_deref(), Some("b"));
        assert_eq!(
            server_of(&config, context.as_deref()).as_deref(),
            Some("https://b")
        );
        assert_eq!(server_of(&config, None).as_deref(), Some("https://a"));
    }
}

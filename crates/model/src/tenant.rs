//! The `TenantPolicy` custom resource: what the applications of some namespaces may deploy.

use std::collections::BTreeMap;

use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Restrictions on the GitOpsConfigs of the namespaces it selects (cluster-scoped, written by the platform
/// team): which repositories they may use, where they may deploy, which kinds they may not create. Every policy
/// selecting a namespace applies; an application must satisfy all of them.
#[derive(CustomResource, Deserialize, Serialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[kube(
    group = "gitops.tack.dev",
    version = "v1alpha1",
    kind = "TenantPolicy",
    plural = "tenantpolicies",
    singular = "tenantpolicy",
    shortname = "tp",
    category = "tack",
    derive = "PartialEq",
    derive = "Default",
    doc = "What the GitOpsConfigs of the selected namespaces may deploy: allowed source repositories, allowed destinations, denied kinds.",
    printcolumn = r#"{"name":"Namespaces","type":"string","jsonPath":".spec.namespaces"}"#,
    printcolumn = r#"{"name":"Age","type":"date","jsonPath":".metadata.creationTimestamp"}"#
)]
#[serde(rename_all = "camelCase")]
pub struct TenantPolicySpec {
    /// The namespaces whose applications this policy governs, by name (glob patterns: `*` is any run of
    /// characters, `?` one character).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub namespaces: Vec<String>,
    /// The namespaces whose applications this policy governs, by label (as a Kubernetes label selector; `{}`
    /// selects every namespace). A namespace named in `namespaces` or matched here is governed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace_selector: Option<NamespaceSelector>,
    /// Glob patterns of the repository URLs (`spec.source.repoURL`, `spec.source.helm.chart.repoURL`, and
    /// Kustomize remote bases) the
    /// applications may use, e.g. `https://git.example.com/team-a/*`. Absent: any repository; `[]`: none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_repos: Option<Vec<String>>,
    /// Where the applications may deploy: the destination namespace and the namespace of every rendered
    /// object must match one entry. Absent: anywhere; `[]`: nowhere.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub destinations: Option<Vec<DestinationRule>>,
    /// Kinds the applications may not deploy.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub denied_kinds: Vec<KindRule>,
    /// When true, the applications may deploy no cluster-scoped object (Namespaces, ClusterRoles, CRDs, ...).
    #[serde(default, skip_serializing_if = "crate::gitops::is_false")]
    pub deny_cluster_scoped: bool,
}

/// A label selector of namespaces, as Kubernetes' `LabelSelector`.
#[derive(Deserialize, Serialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct NamespaceSelector {
    /// Labels the namespace must carry with these values.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub match_labels: BTreeMap<String, String>,
    /// Further requirements, all of which must hold.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub match_expressions: Vec<LabelRequirement>,
}

/// One requirement of a [`NamespaceSelector`].
#[derive(Deserialize, Serialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct LabelRequirement {
    /// The label.
    pub key: String,
    /// `In`, `NotIn`, `Exists` or `DoesNotExist`.
    pub operator: String,
    /// The values of `In` and `NotIn`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub values: Vec<String>,
}

/// One allowed destination of a [`TenantPolicySpec`].
#[derive(Deserialize, Serialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct DestinationRule {
    /// A glob pattern of namespaces, e.g. `team-a` or `team-a-*`.
    pub namespace: String,
    /// A glob pattern of clusters. Absent: any. The cluster the controller runs in is `in-cluster`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cluster: Option<String>,
}

/// A kind, by glob patterns of its API group (`""` is the core group) and of its kind.
#[derive(Deserialize, Serialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct KindRule {
    /// The API group, e.g. `rbac.authorization.k8s.io`, `""` for the core group, `*` for any.
    #[serde(default)]
    pub group: String,
    /// The kind, e.g. `ClusterRole`, `*` for any.
    pub kind: String,
}

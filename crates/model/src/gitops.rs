//! The `GitOpsConfig` custom resource.

use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// The API group of tack's GitOps resources.
pub const GROUP: &str = "gitops.tack.dev";
/// The version of [`GitOpsConfig`].
pub const VERSION: &str = "v1alpha1";
/// How many entries `status.history` keeps.
pub const HISTORY_LIMIT: usize = 10;

/// One application: a Git source, rendered into manifests, kept equal to a destination namespace.
#[derive(CustomResource, Deserialize, Serialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[kube(
    group = "gitops.tack.dev",
    version = "v1alpha1",
    kind = "GitOpsConfig",
    plural = "gitopsconfigs",
    singular = "gitopsconfig",
    shortname = "goc",
    category = "tack",
    namespaced,
    status = "GitOpsConfigStatus",
    derive = "PartialEq",
    derive = "Default",
    doc = "An application: a Git source rendered into manifests and kept equal to a destination namespace by tack's GitOps controller.",
    printcolumn = r#"{"name":"Sync","type":"string","jsonPath":".status.sync.status"}"#,
    printcolumn = r#"{"name":"Health","type":"string","jsonPath":".status.health.status"}"#,
    printcolumn = r#"{"name":"Revision","type":"string","jsonPath":".status.sync.revision","priority":1}"#,
    printcolumn = r#"{"name":"Age","type":"date","jsonPath":".metadata.creationTimestamp"}"#
)]
#[serde(rename_all = "camelCase")]
pub struct GitOpsConfigSpec {
    /// Where the manifests come from.
    pub source: Source,
    /// Where they are applied.
    #[serde(default)]
    pub destination: Destination,
    /// When and how tack syncs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sync_policy: Option<SyncPolicy>,
    /// Decryption of SOPS-encrypted files in the source (Flux's `decryption`): age keys from a Secret.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decryption: Option<Decryption>,
    /// Other GitOpsConfigs that must be Ready before this one syncs.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub depends_on: Vec<DependencyRef>,
    /// Differences to ignore when comparing live objects with Git.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ignore_differences: Vec<IgnoreDifference>,
    /// A ServiceAccount of this namespace that every request for the application (dry run, apply, prune, hooks,
    /// comparison and health reads) is made as, through Kubernetes impersonation (like Flux's
    /// `serviceAccountName`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_account_name: Option<String>,
    /// When true, tack neither syncs nor heals this application (status is still reported).
    #[serde(default, skip_serializing_if = "is_false")]
    pub suspend: bool,
    /// A rollback in force (set by `tack app rollback`): this commit is synced instead of `source.revision`,
    /// and automated sync stays suspended until `tack app resume` removes the field.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rollback: Option<Rollback>,
}

/// `spec.decryption`: how SOPS-encrypted files in the source are decrypted while rendering.
#[derive(Deserialize, Serialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Decryption {
    /// The decryption provider: `sops` (the only one).
    #[schemars(length(min = 1))]
    pub provider: String,
    /// A Secret in this namespace whose entries ending in `.agekey` hold age identities
    /// (`AGE-SECRET-KEY-1…` lines, as `age-keygen` writes them).
    pub secret_ref: LocalObjectReference,
}

/// The only [`Decryption::provider`] tack implements.
pub const DECRYPTION_PROVIDER_SOPS: &str = "sops";

/// `spec.rollback`: the commit an application is pinned to.
#[derive(Deserialize, Serialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Rollback {
    /// The full commit SHA to sync.
    #[schemars(length(min = 1))]
    pub revision: String,
    /// The `status.history` entry it was taken from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub history_id: Option<i64>,
}

pub(crate) fn is_false(b: &bool) -> bool {
    !*b
}

/// The Git source of an application.
#[derive(Deserialize, Serialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Source {
    /// The repository URL: `https://`, `http://`, `git://`, `file://` or `ssh://`.
    #[serde(rename = "repoURL")]
    #[schemars(length(min = 1))]
    pub repo_url: String,
    /// A branch, tag or commit SHA. Default: the repository's default branch (`HEAD`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revision: Option<String>,
    /// The directory inside the repository to render. Default: the repository root.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// A Secret in this namespace with `username`/`password` (or `bearerToken`) keys for the repository.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credentials_secret: Option<LocalObjectReference>,
    /// Kustomize options (used when the path holds a kustomization).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kustomize: Option<KustomizeOptions>,
    /// Helm options (used when the path holds a chart).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub helm: Option<HelmOptions>,
    /// Jsonnet options (used when the path holds `.jsonnet` files).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jsonnet: Option<JsonnetOptions>,
}

/// A reference to an object by name in the same namespace.
#[derive(Deserialize, Serialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
pub struct LocalObjectReference {
    /// The object's name.
    pub name: String,
}

/// Kustomize options, as in Argo CD's `source.kustomize`.
#[derive(Deserialize, Serialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct KustomizeOptions {
    /// Prefix added to every resource name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name_prefix: Option<String>,
    /// Suffix added to every resource name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name_suffix: Option<String>,
    /// Image overrides, in `kustomize edit set image` form (`nginx=nginx:1.27`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub images: Vec<String>,
    /// Labels added to every resource.
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub common_labels: std::collections::BTreeMap<String, String>,
    /// Annotations added to every resource.
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub common_annotations: std::collections::BTreeMap<String, String>,
    /// `LoadRestrictionsNone` lets the kustomization read files outside its directory.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub load_restrictor: Option<String>,
}

/// Helm options, as in Argo CD's `source.helm`.
#[derive(Deserialize, Serialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct HelmOptions {
    /// The release name (`.Release.Name`). Default: the GitOpsConfig's name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub release_name: Option<String>,
    /// Values files, relative to the chart directory (paths in the Git repository; `../` may reach other
    /// folders of the same repository, never out of it), merged in order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub value_files: Vec<String>,
    /// A values file that does not exist is skipped instead of being an error.
    #[serde(default, skip_serializing_if = "is_false")]
    pub ignore_missing_value_files: bool,
    /// Inline values as a YAML string, merged after the values files.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub values: Option<String>,
    /// Inline values as an object, merged after `values`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "preserve_unknown_object")]
    pub values_object: Option<serde_json::Value>,
    /// `--set`-style parameters, applied last.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub parameters: Vec<HelmParameter>,
    /// A chart from a chart repository or an OCI registry instead of a folder of the Git repository.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chart: Option<HelmChartRef>,
    /// Kubernetes version for `.Capabilities.KubeVersion` (`--kube-version`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kube_version: Option<String>,
    /// Extra API versions for `.Capabilities.APIVersions` (`--api-versions`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub api_versions: Vec<String>,
    /// Leave the charts' `crds/` folders out (`--skip-crds`).
    #[serde(default, skip_serializing_if = "is_false")]
    pub skip_crds: bool,
    /// Leave test hooks out (`--skip-tests`).
    #[serde(default, skip_serializing_if = "is_false")]
    pub skip_tests: bool,
    /// Leave every hook out (`--no-hooks`). Until tack runs sync hooks, a chart with hooks needs it.
    #[serde(default, skip_serializing_if = "is_false")]
    pub skip_hooks: bool,
}

/// A chart in a chart repository (`https://…` with an `index.yaml`) or an OCI registry (`oci://host/path`).
#[derive(Deserialize, Serialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct HelmChartRef {
    /// The chart repository URL or `oci://` registry path.
    #[serde(rename = "repoURL")]
    pub repo_url: String,
    /// The chart's name.
    pub name: String,
    /// A version or a semver constraint (`1.2.3`, `^1.2`, `~1.2.3`, `>=1 <2`). Default: the newest.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// A Secret in this namespace with the repository's or registry's credentials: `username` + `password`
    /// (basic), or `bearerToken` (a token). Default: anonymous.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credentials_secret: Option<LocalObjectReference>,
    /// Reach an OCI registry over plain HTTP and allow credentials over plain `http://` (as `helm
    /// --plain-http`); registries on the loopback interface are always reached over HTTP. Default: false.
    #[serde(default, rename = "plainHTTP", skip_serializing_if = "is_false")]
    pub plain_http: bool,
}

pub(crate) fn preserve_unknown_object(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    schemars::json_schema!({"type": "object", "x-kubernetes-preserve-unknown-fields": true})
}

/// One Helm `--set` parameter.
#[derive(Deserialize, Serialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct HelmParameter {
    /// The dotted key, e.g. `image.tag`.
    pub name: String,
    /// The value.
    pub value: String,
    /// Treat the value as a string even if it looks like a number or boolean (`--set-string`).
    #[serde(default, skip_serializing_if = "is_false")]
    pub force_string: bool,
}

/// Jsonnet options, as in Argo CD's `source.directory.jsonnet`.
#[derive(Deserialize, Serialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct JsonnetOptions {
    /// External variables (`--ext-str`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ext_vars: Vec<JsonnetVar>,
    /// Top-level arguments (`--tla-str`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tlas: Vec<JsonnetVar>,
    /// Library search paths, relative to the repository root (`-J`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub libs: Vec<String>,
    /// Also evaluate `*.jsonnet` files in subdirectories of the path.
    #[serde(default, skip_serializing_if = "is_false")]
    pub recurse: bool,
    /// Only files whose path relative to the source path matches this glob (`{a,b}` alternatives).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub include: Option<String>,
    /// Leave out files whose path relative to the source path matches this glob.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exclude: Option<String>,
    /// `nested`: every Kubernetes object found in nested objects and arrays of the result is deployed
    /// (Tanka). Default `topLevel`: an object is one manifest, an array a list of manifests (Argo CD).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extract: Option<String>,
}

/// A Jsonnet variable.
#[derive(Deserialize, Serialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct JsonnetVar {
    /// Variable name.
    pub name: String,
    /// Value (a string, or Jsonnet code when `code` is true).
    pub value: String,
    /// Evaluate `value` as Jsonnet code (`--ext-code`/`--tla-code`).
    #[serde(default, skip_serializing_if = "is_false")]
    pub code: bool,
}

/// Where the manifests go.
#[derive(Deserialize, Serialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Destination {
    /// The namespace given to namespaced objects that do not set one. Default: the GitOpsConfig's namespace.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// The cluster the manifests go to: the name of a cluster registered with `tack cluster add` (a Secret
    /// labelled `tack.dev/secret-type: cluster` in the controller's namespace). Absent or `in-cluster`: the
    /// cluster the controller runs in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cluster: Option<String>,
}

/// When and how to sync.
#[derive(Deserialize, Serialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SyncPolicy {
    /// How often to check Git and the cluster, as a Go-style duration (`5m`, `30s`). Default `3m`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interval: Option<String>,
    /// Sync automatically when Git or the cluster changes. Absent: sync only on request (`tack app sync`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub automated: Option<Automated>,
    /// Create the destination namespace if it does not exist.
    #[serde(default, skip_serializing_if = "is_false")]
    pub create_namespace: bool,
    /// Retries of a failed sync.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry: Option<Retry>,
    /// Sync options for the whole application, as Argo CD's `syncPolicy.syncOptions`: `CreateNamespace=true`,
    /// `PrunePropagationPolicy=foreground|background|orphan`, `Replace=true` and `Force=true` (every object, as
    /// the per-object options), `ServerSideApply=true` (always so). Any other option is refused as an invalid
    /// spec.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sync_options: Vec<String>,
}

/// Automated sync options, as in Argo CD.
#[derive(Deserialize, Serialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Automated {
    /// Delete objects that left Git (objects annotated `tack.dev/prune: disabled` are kept).
    #[serde(default, skip_serializing_if = "is_false")]
    pub prune: bool,
    /// Revert changes made in the cluster to fields that Git sets.
    #[serde(default, skip_serializing_if = "is_false")]
    pub self_heal: bool,
}

/// Retry policy of failed syncs.
#[derive(Deserialize, Serialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Retry {
    /// Maximum number of retries; negative means forever. Default 5.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<i64>,
    /// Delays between retries.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backoff: Option<Backoff>,
}

/// Exponential backoff, as in Argo CD.
#[derive(Deserialize, Serialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Backoff {
    /// The first delay (`5s`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration: Option<String>,
    /// Multiplier applied after each retry (2).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub factor: Option<i64>,
    /// The largest delay (`3m`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_duration: Option<String>,
}

/// Another GitOpsConfig this one waits for (like Flux's `dependsOn`).
#[derive(Deserialize, Serialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct DependencyRef {
    /// Its name.
    pub name: String,
    /// Its namespace. Default: this GitOpsConfig's namespace.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
}

/// Fields to ignore when comparing, as in Argo CD's `ignoreDifferences`.
#[derive(Deserialize, Serialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct IgnoreDifference {
    /// API group (empty for the core group).
    #[serde(default)]
    pub group: String,
    /// Kind.
    pub kind: String,
    /// Only the object with this name. Default: every object of the kind.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Only objects in this namespace. Default: every namespace.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// RFC 6901 JSON pointers of the fields to ignore, e.g. `/spec/replicas`.
    #[serde(default)]
    pub json_pointers: Vec<String>,
}

/// What tack observed and did.
#[derive(Deserialize, Serialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct GitOpsConfigStatus {
    /// The `metadata.generation` this status describes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    /// Whether the cluster equals Git.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sync: Option<SyncStatus>,
    /// The application's aggregated health.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub health: Option<HealthStatus>,
    /// Every object of the application, with its sync and health.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub resources: Vec<ResourceStatus>,
    /// The ids of the objects the application manages (what prune compares with and what the controller
    /// watches for drift), sorted. Format: `<namespace>_<name>_<group>_<kind>` (see docs/sync.md).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub inventory: Vec<String>,
    /// The last syncs, newest last, at most [`HISTORY_LIMIT`].
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub history: Vec<HistoryEntry>,
    /// kstatus conditions: `Ready`, `Reconciling`, `Stalled`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conditions: Vec<Condition>,
    /// The last sync operation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_operation: Option<Operation>,
    /// The value of the annotation `tack.dev/sync-requested-at` (set by `tack app sync`) whose sync was done.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_handled_sync_at: Option<String>,
}

/// Sync status, as in Argo CD.
#[derive(Deserialize, Serialize, Clone, Copy, Debug, Default, PartialEq, Eq, JsonSchema)]
pub enum SyncState {
    /// Every object equals Git.
    Synced,
    /// At least one object differs from Git, or is missing, or should be pruned.
    OutOfSync,
    /// Not compared yet, or the comparison failed.
    #[default]
    Unknown,
}

/// `status.sync`.
#[derive(Deserialize, Serialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SyncStatus {
    /// Synced, OutOfSync or Unknown.
    pub status: SyncState,
    /// The commit SHA compared with.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revision: Option<String>,
}

/// `status.health` and per-resource health.
#[derive(Deserialize, Serialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct HealthStatus {
    /// Healthy, Progressing, Degraded, Suspended, Missing or Unknown.
    pub status: String,
    /// What is not healthy and why.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

/// One object of the application.
#[derive(Deserialize, Serialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ResourceStatus {
    /// API group (empty for the core group).
    #[serde(default)]
    pub group: String,
    /// API version.
    pub version: String,
    /// Kind.
    pub kind: String,
    /// Namespace (absent for cluster-scoped objects).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// Name.
    pub name: String,
    /// Synced or OutOfSync.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<SyncState>,
    /// The object's health.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub health: Option<HealthStatus>,
}

/// The outcome of a sync.
#[derive(Deserialize, Serialize, Clone, Copy, Debug, Default, PartialEq, Eq, JsonSchema)]
pub enum SyncResult {
    /// Everything was applied (and pruned).
    Succeeded,
    /// The sync stopped with an error; see the message.
    Failed,
    /// The sync is running.
    #[default]
    Running,
}

/// One past sync.
#[derive(Deserialize, Serialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct HistoryEntry {
    /// Increasing id, used by `tack app rollback NAME ID`.
    pub id: i64,
    /// The commit SHA synced.
    pub revision: String,
    /// When the sync finished (RFC 3339).
    pub time: String,
    /// Succeeded or Failed.
    pub result: SyncResult,
}

/// `status.lastOperation`.
#[derive(Deserialize, Serialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Operation {
    /// Running, Succeeded or Failed.
    pub phase: SyncResult,
    /// The revision being synced.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revision: Option<String>,
    /// What happened (counts, or the error).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// When it started (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started_at: Option<String>,
    /// When it finished (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finished_at: Option<String>,
}

/// A kstatus condition, with the fields of Kubernetes' `metav1.Condition`.
#[derive(Deserialize, Serialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Condition {
    /// `Ready`, `Reconciling` or `Stalled`.
    #[serde(rename = "type")]
    pub type_: String,
    /// `True`, `False` or `Unknown`.
    pub status: String,
    /// A CamelCase reason, e.g. `ReconciliationSucceeded`, `RenderFailed`.
    #[serde(default)]
    pub reason: String,
    /// Details for people (for render errors: the file and line).
    #[serde(default)]
    pub message: String,
    /// When the status last changed (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_transition_time: Option<String>,
    /// The generation the condition describes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
}

impl GitOpsConfigStatus {
    /// Appends a history entry with the next id, keeping the last [`HISTORY_LIMIT`].
    pub fn push_history(&mut self, revision: impl Into<String>, time: impl Into<String>, result: SyncResult) {
        let id = self.history.last().map(|h| h.id + 1).unwrap_or(1);
        self.history.push(HistoryEntry {
            id,
            revision: revision.into(),
            time: time.into(),
            result,
        });
        if self.history.len() > HISTORY_LIMIT {
            let extra = self.history.len() - HISTORY_LIMIT;
            self.history.drain(..extra);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn history_keeps_the_last_ten_with_increasing_ids() {
        let mut s = GitOpsConfigStatus::default();
        for i in 0..15 {
            s.push_history(format!("sha{i}"), "2026-01-01T00:00:00Z", SyncResult::Succeeded);
        }
        assert_eq!(s.history.len(), HISTORY_LIMIT);
        assert_eq!(s.history[0].id, 6);
        assert_eq!(s.history[9].id, 15);
        assert_eq!(s.history[9].revision, "sha14");
    }

    #[test]
    fn spec_reads_argo_style_field_names() {
        let spec: GitOpsConfigSpec = serde_json::from_value(serde_json::json!({
            "source": {"repoURL": "https://git.example/app.git", "revision": "main", "path": "deploy"},
            "destination": {"namespace": "qa"},
            "syncPolicy": {"interval": "1m", "automated": {"prune": true, "selfHeal": true}, "createNamespace": true,
                           "retry": {"limit": 3, "backoff": {"duration": "5s", "factor": 2, "maxDuration": "1m"}}},
            "ignoreDifferences": [{"group": "apps", "kind": "Deployment", "jsonPointers": ["/spec/replicas"]}],
            "dependsOn": [{"name": "infra"}],
        }))
        .expect("valid spec");
        assert_eq!(spec.source.repo_url, "https://git.example/app.git");
        let policy = spec.sync_policy.expect("policy");
        assert!(policy.automated.expect("automated").self_heal);
        assert!(policy.create_namespace);
        assert_eq!(spec.ignore_differences[0].json_pointers, vec!["/spec/replicas"]);
    }
}

//! The `Pipeline` custom resource: ordered environments (stages) through which a release is promoted by Git
//! commits.

use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::gitops::{Condition, LocalObjectReference, is_false};

/// How many entries a stage's `status.stages[].history` keeps.
pub const PIPELINE_HISTORY_LIMIT: usize = 20;

/// The prefix of the annotations `tack env approve PIPELINE STAGE` sets on a Pipeline: the key
/// `approve.gitops.tack.dev/<stage>` holds the release approved to enter that stage.
pub const APPROVE_ANNOTATION_PREFIX: &str = "approve.gitops.tack.dev/";

/// The prefix of the annotations `tack env promote` and `tack env rollback` set on a Pipeline: the key
/// `promote.gitops.tack.dev/<stage>` holds the release to write into that stage's configuration (regardless
/// of `autoPromote`, `requireApproval` and the previous stage's gates). The controller removes it once the release is there.
pub const PROMOTE_ANNOTATION_PREFIX: &str = "promote.gitops.tack.dev/";

/// A promotion pipeline: ordered stages (qa → e2e → prod), each an application (a GitOpsConfig) whose
/// configuration lives in Git. A release (image tags) seen running in the first stage is verified there by the
/// stage's gates, then written by a Git commit into the next stage's configuration, and so on.
#[derive(CustomResource, Deserialize, Serialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[kube(
    group = "gitops.tack.dev",
    version = "v1alpha1",
    kind = "Pipeline",
    plural = "pipelines",
    singular = "pipeline",
    shortname = "pl",
    category = "tack",
    namespaced,
    status = "PipelineStatus",
    derive = "PartialEq",
    derive = "Default",
    doc = "A promotion pipeline: ordered stages whose configurations live in Git; releases move from stage to stage by Git commits once the stage's gates pass.",
    printcolumn = r#"{"name":"Stages","type":"string","jsonPath":".status.summary"}"#,
    printcolumn = r#"{"name":"Ready","type":"string","jsonPath":".status.conditions[?(@.type==\"Ready\")].status"}"#,
    printcolumn = r#"{"name":"Age","type":"date","jsonPath":".metadata.creationTimestamp"}"#
)]
#[serde(rename_all = "camelCase")]
pub struct PipelineSpec {
    /// What a release is, part one: the images whose tags move from stage to stage.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub images: Vec<PromotedImage>,
    /// What a release is, part two: the Helm charts whose versions move from stage to stage (a
    /// kustomization's `helmCharts` entry, or a GitOpsConfig manifest's `spec.source.helm.chart`, of that name).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub charts: Vec<PromotedChart>,
    /// What a release is, part three: the remote Kustomize bases whose Git reference (`?ref=`) moves from
    /// stage to stage. A pipeline names at least one image, chart or base.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub bases: Vec<PromotedBase>,
    /// The stages, in promotion order. Names are unique; the first stage receives releases from outside
    /// (CI or a person commits the new tag into its configuration).
    #[schemars(length(min = 1))]
    pub stages: Vec<Stage>,
    /// When true, the controller reports status but promotes nothing.
    #[serde(default, skip_serializing_if = "is_false")]
    pub suspend: bool,
}

/// An image whose tag is part of the release.
#[derive(Deserialize, Serialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PromotedImage {
    /// The image name as the manifests reference it, without tag (e.g. `gcr.io/google-samples/gb-frontend`).
    #[schemars(length(min = 1))]
    pub name: String,
    /// For stages configured by a Helm values file: the key path (dot-separated, e.g. `frontend.image.tag`)
    /// holding this image's tag.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub helm_tag_key: Option<String>,
    /// Find new tags of this image in its registry: the newest tag satisfying the constraint, when newer than
    /// the first stage's, is committed into the first stage's configuration (a release enters the pipeline
    /// without CI writing to Git).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub discover: Option<Discovery>,
}

/// How new versions are found: an image's tags in its registry (the OCI distribution API's tag list), a
/// chart's versions in its repository's index or registry.
#[derive(Deserialize, Serialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Discovery {
    /// A semver constraint the version must satisfy (`>=1.0.0`, `^1.4`, `~2.1`, `*`); tags that are not
    /// versions (`latest`, a commit hash) are ignored, pre-releases only when the constraint names one.
    #[schemars(length(min = 1))]
    pub semver: String,
    /// How often the registry is asked (Go duration, at least `10s`). Default: `1m`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interval: Option<String>,
    /// A Secret in the pipeline's namespace with the registry's or repository's credentials: `username` +
    /// `password`, or `bearerToken`. Default: anonymous (with a registry's token exchange).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credentials_secret: Option<LocalObjectReference>,
    /// Reach an OCI registry over plain HTTP (registries on the loopback interface always are). Default: false.
    #[serde(default, rename = "plainHTTP", skip_serializing_if = "is_false")]
    pub plain_http: bool,
}

/// A Helm chart whose version is part of the release.
#[derive(Deserialize, Serialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PromotedChart {
    /// The chart's name, as a kustomization's `helmCharts[].name` or a GitOpsConfig's
    /// `spec.source.helm.chart.name` gives it (e.g. `podinfo`).
    #[schemars(length(min = 1))]
    pub name: String,
    /// Find new versions of this chart: the newest satisfying the constraint, when newer than the first
    /// stage's, is committed into the first stage's configuration.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub discover: Option<ChartDiscovery>,
}

/// Where and how new versions of a chart are found.
#[derive(Deserialize, Serialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ChartDiscovery {
    /// The chart repository (`https://…`, the folder holding `index.yaml`) or OCI registry path
    /// (`oci://host/path`, under which the chart's name is the repository).
    #[serde(rename = "repoURL")]
    #[schemars(length(min = 1))]
    pub repo_url: String,
    /// The constraint, interval and credentials.
    #[serde(flatten)]
    pub discovery: Discovery,
}

/// A remote Kustomize base (a Git repository) whose reference is part of the release.
#[derive(Deserialize, Serialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PromotedBase {
    /// The repository, in any form Kustomize accepts (`https://github.com/org/platform`,
    /// `github.com/org/platform`, `git@github.com:org/platform.git`, `file:///srv/platform.git`). Every
    /// `resources:` or `components:` entry of a stage's kustomization in this repository carries the release's
    /// reference as its `?ref=`.
    #[schemars(length(min = 1))]
    pub repo: String,
}

/// One environment of a pipeline.
#[derive(Deserialize, Serialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Stage {
    /// The stage's name (e.g. `qa`), unique in the pipeline.
    #[schemars(length(min = 1))]
    pub name: String,
    /// The GitOpsConfig (in the pipeline's namespace) that deploys this stage.
    pub application: LocalObjectReference,
    /// Where the stage's configuration lives in Git. Default: the application's `spec.source` (repoURL,
    /// revision as the branch, path, credentialsSecret).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config: Option<StageConfig>,
    /// The checks a release must pass in this stage before it may be promoted to the next stage.
    #[serde(default)]
    pub gates: Gates,
    /// When true, a release verified in the previous stage is promoted into this one without a person
    /// (subject to `requireApproval`). Default false: promotions into this stage wait for `tack env promote`.
    #[serde(default, skip_serializing_if = "is_false")]
    pub auto_promote: bool,
    /// When true, a promotion into this stage also waits for `tack env approve PIPELINE STAGE`.
    #[serde(default, skip_serializing_if = "is_false")]
    pub require_approval: bool,
    /// When automatic promotions into this stage may happen (cron schedules, as Argo CD sync windows): with
    /// an `allow` window, only while one is open; never while a `deny` window is open. Requested promotions
    /// (`tack env promote`, `rollback`) are not held.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub promotion_windows: Vec<PromotionWindow>,
    /// When true, a promotion into this stage is pushed to a new branch
    /// (`tack/promote/<pipeline>/<stage>/<release>`) for review, and counts as promoted once the stage's
    /// branch holds the release (the review branch was merged).
    #[serde(default, skip_serializing_if = "is_false")]
    pub review: bool,
    /// Isolation of the stage's namespace (the application's destination namespace).
    #[serde(default)]
    pub isolation: Isolation,
}

/// Where a stage's configuration lives: one of the three layouts (folder per environment on one branch, branch
/// per environment, repository per environment) is just a choice of these three fields.
#[derive(Deserialize, Serialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct StageConfig {
    /// The repository URL (`https://`, `http://` or `file://`; promotions push to it).
    #[serde(rename = "repoURL")]
    #[schemars(length(min = 1))]
    pub repo_url: String,
    /// The branch commits are pushed to. Default: `main`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub branch: Option<String>,
    /// The folder of the stage's configuration in the repository. Default: the root.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// A Secret in this namespace with `username`/`password` (or `token`) keys, as for GitOpsConfig sources.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credentials_secret: Option<LocalObjectReference>,
    /// For Helm configurations: the values file (relative to `path`) holding the image tags. Without it the
    /// format is detected: `kustomization.yaml` → Kustomize `images:`; otherwise plain manifests.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub helm_values_file: Option<String>,
}

/// The gates of a stage: every configured one must pass for the running release.
#[derive(Deserialize, Serialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Gates {
    /// How long the application must stay Synced and Healthy with the release (Go duration, e.g. `5m`).
    /// Synced and Healthy are always required; the default soak time is 0.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub soak_time: Option<String>,
    /// A Job run in the stage's namespace once the release is Synced and Healthy; it must succeed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub test_job: Option<TestJob>,
    /// An analysis (the AnalysisTemplates of progressive delivery) run once the release is Synced and
    /// Healthy (and soaked); its AnalysisRun must end `Successful`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub analysis: Option<StageAnalysis>,
}

/// An analysis gate: the AnalysisRun built from `templates` with `args`. The arguments `pipeline`, `stage`,
/// `namespace` (the stage's namespace) and `release` are always passed; `args` adds to or overrides them.
#[derive(Deserialize, Serialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct StageAnalysis {
    /// The AnalysisTemplates (in the pipeline's namespace) or ClusterAnalysisTemplates, merged into one run.
    #[schemars(length(min = 1))]
    pub templates: Vec<AnalysisTemplateRef>,
    /// Arguments of the run.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub args: Vec<AnalysisArgument>,
}

/// A reference to an AnalysisTemplate.
#[derive(Deserialize, Serialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct AnalysisTemplateRef {
    /// The template's name.
    #[schemars(length(min = 1))]
    pub template_name: String,
    /// True for a ClusterAnalysisTemplate.
    #[serde(default, skip_serializing_if = "is_false")]
    pub cluster_scope: bool,
}

/// A literal argument of an analysis gate.
#[derive(Deserialize, Serialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct AnalysisArgument {
    /// The argument's name, as the template declares it.
    pub name: String,
    /// Its value.
    pub value: String,
}

/// A promotion window: a cron schedule opening it, and how long it stays open.
#[derive(Deserialize, Serialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PromotionWindow {
    /// `allow` (default: automatic promotions only while an allow window is open) or `deny` (none while
    /// it is open).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// A five-field cron expression (minute hour day-of-month month day-of-week), e.g. `0 9 * * 1-5`: when
    /// the window opens.
    #[schemars(length(min = 1))]
    pub schedule: String,
    /// How long the window stays open once opened (Go duration, e.g. `8h`).
    #[schemars(length(min = 1))]
    pub duration: String,
    /// The IANA time zone of the schedule (e.g. `Europe/Paris`). Default `UTC`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_zone: Option<String>,
}

/// A test Job: `spec` is a `batch/v1` JobSpec.
#[derive(Deserialize, Serialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct TestJob {
    /// A `batch/v1` JobSpec (its `template` runs the tests against the environment).
    #[schemars(schema_with = "crate::gitops::preserve_unknown_object")]
    pub spec: serde_json::Value,
}

/// Isolation of a stage's namespace.
#[derive(Deserialize, Serialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Isolation {
    /// When true, no NetworkPolicy is created. By default the namespace gets a policy that admits traffic from
    /// its own pods only (enforced only by a CNI that implements NetworkPolicy).
    #[serde(default, skip_serializing_if = "is_false")]
    pub disable_network_policy: bool,
    /// A `ResourceQuota` spec (`hard: {...}`) applied as the ResourceQuota `tack-stage` of the namespace.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "preserve_unknown_object_opt")]
    pub resource_quota: Option<serde_json::Value>,
    /// A `LimitRange` spec (`limits: [...]`) applied as the LimitRange `tack-stage` of the namespace.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "preserve_unknown_object_opt")]
    pub limit_range: Option<serde_json::Value>,
}

/// `status` of a Pipeline.
#[derive(Deserialize, Serialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PipelineStatus {
    /// The `metadata.generation` this status describes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    /// One line: each stage's release, e.g. `qa=v5 e2e=v4 prod=v4`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub summary: Option<String>,
    /// Per stage, in pipeline order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub stages: Vec<StageStatus>,
    /// kstatus conditions: `Ready` (False with the reason when the pipeline is invalid or a promotion failed).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conditions: Vec<Condition>,
}

/// What a person asks about one stage.
#[derive(Deserialize, Serialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct StageStatus {
    /// The stage's name.
    pub name: String,
    /// The release in the stage's configuration (image tags, chart versions, base references), e.g. `v5` or
    /// `gb-frontend:v5,chart/redis:19.0.1`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub release: Option<String>,
    /// The image references of the release (`name:tag`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub images: Vec<String>,
    /// The charts of the release (`name:version`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub charts: Vec<String>,
    /// The remote bases of the release (`repository?ref=reference`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub bases: Vec<String>,
    /// Since when the release has been running (RFC 3339): first seen Synced with it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub since: Option<String>,
    /// The configuration commit the application synced.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revision: Option<String>,
    /// The application's sync status (`Synced`, `OutOfSync`, `Unknown`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sync: Option<String>,
    /// The application's health (`Healthy`, `Progressing`, `Degraded`, ...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub health: Option<String>,
    /// The gates for the running release, with their evidence.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub gates: Vec<GateStatus>,
    /// True when every gate passed: the release may go to the next stage.
    #[serde(default, skip_serializing_if = "is_false")]
    pub verified: bool,
    /// The release waiting to enter this stage and why it waits (or `None`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pending: Option<PendingPromotion>,
    /// Promotions into this stage, newest last, at most [`PIPELINE_HISTORY_LIMIT`].
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub history: Vec<PromotionRecord>,
    /// The name of the test Job run for the current release, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub test_job_name: Option<String>,
    /// The name of the AnalysisRun of the analysis gate for the current release, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub analysis_run_name: Option<String>,
}

/// One gate's result.
#[derive(Deserialize, Serialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct GateStatus {
    /// `Synced`, `Healthy`, `Soak`, `TestJob` or `Analysis`.
    pub name: String,
    /// `Passed`, `Pending` or `Failed`.
    pub phase: String,
    /// The evidence: what was observed, when.
    #[serde(default)]
    pub message: String,
}

/// A release waiting to enter a stage.
#[derive(Deserialize, Serialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PendingPromotion {
    /// The release.
    pub release: String,
    /// Why it has not been promoted yet (blocked gates, waiting for approval, manual promotion).
    pub reason: String,
}

/// A promotion into a stage.
#[derive(Deserialize, Serialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PromotionRecord {
    /// The release promoted.
    pub release: String,
    /// The image references of the release.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub images: Vec<String>,
    /// The charts of the release (`name:version`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub charts: Vec<String>,
    /// The remote bases of the release (`repository?ref=reference`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub bases: Vec<String>,
    /// When (RFC 3339).
    pub time: String,
    /// The configuration commit.
    pub commit: String,
    /// The stage it came from (absent for a rollback or a manual promotion of a given release).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<String>,
    /// Who or what decided it: `auto`, `auto, approved` or `tack env promote` (also for rollbacks).
    pub by: String,
    /// The release the stage's configuration held before (what `tack env rollback` goes back to).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replaced: Option<String>,
    /// The review branch the promotion was pushed to and merged from (stages with `review: true`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub review_branch: Option<String>,
}

/// The schema of an optional free-form object (a Kubernetes spec the API server validates when applied).
fn preserve_unknown_object_opt(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    schemars::json_schema!({"type": "object", "nullable": true, "x-kubernetes-preserve-unknown-fields": true})
}

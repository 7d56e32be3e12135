//! `AnalysisTemplate`, `ClusterAnalysisTemplate` and `AnalysisRun` (`argoproj.io/v1alpha1`) with Argo Rollouts'
//! field names, and the analysis references a `Rollout` holds (template references, arguments, dry-run and
//! retention entries: defined once here, re-exported by `tack-rollout`). Every struct is `camelCase`, every field defaults, unknown fields are ignored; providers tack does
//! not implement are kept as JSON so a template still parses.

use std::collections::BTreeMap;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// An integer or a string: `"{{args.limit}}"` before substitution, `"25%"` or `"48h"` in a Rollout
/// (Kubernetes `IntOrString`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum IntOrString {
    /// A number.
    Int(i64),
    /// A string.
    String(String),
}

/// `AnalysisTemplate` (namespaced) or `ClusterAnalysisTemplate` (same shape).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct AnalysisTemplate {
    /// `argoproj.io/v1alpha1`.
    pub api_version: String,
    /// `AnalysisTemplate` or `ClusterAnalysisTemplate`.
    pub kind: String,
    /// Metadata, kept as JSON.
    pub metadata: Value,
    /// The template.
    pub spec: AnalysisTemplateSpec,
}

/// A `ClusterAnalysisTemplate` has the same shape as an `AnalysisTemplate`.
pub type ClusterAnalysisTemplate = AnalysisTemplate;

/// `AnalysisTemplate.spec`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct AnalysisTemplateSpec {
    /// Metrics to measure.
    pub metrics: Vec<Metric>,
    /// Declared arguments (with optional defaults).
    pub args: Vec<Argument>,
    /// Metrics whose results do not decide the run.
    pub dry_run: Vec<DryRun>,
    /// Measurements kept per metric.
    pub measurement_retention: Vec<MeasurementRetention>,
    /// Template composition (read, not resolved yet).
    pub templates: Vec<AnalysisTemplateRef>,
}

/// A reference to an `AnalysisTemplate` or `ClusterAnalysisTemplate` (`templates[]` of a Rollout analysis or
/// of a template).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct AnalysisTemplateRef {
    /// Name of the AnalysisTemplate or ClusterAnalysisTemplate.
    pub template_name: String,
    /// True for a ClusterAnalysisTemplate.
    pub cluster_scope: bool,
}

/// `measurementRetention[]`: how many measurements of a metric the status keeps (Argo's default is 10).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct MeasurementRetention {
    /// Metric name, or `*` for all.
    pub metric_name: String,
    /// Measurements kept.
    pub limit: i32,
}

/// `metrics[]`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Metric {
    /// Metric name.
    pub name: String,
    /// Time between measurements (Go duration, e.g. `5m`).
    pub interval: Option<String>,
    /// Wait before the first measurement.
    pub initial_delay: Option<String>,
    /// Number of measurements (default 1 without interval, unlimited with one).
    pub count: Option<IntOrString>,
    /// Expression that must hold for a successful measurement.
    pub success_condition: Option<String>,
    /// Expression that marks a measurement failed.
    pub failure_condition: Option<String>,
    /// Failed measurements tolerated (default 0; −1 = unlimited).
    pub failure_limit: Option<IntOrString>,
    /// Inconclusive measurements tolerated (default 0; −1 = unlimited).
    pub inconclusive_limit: Option<IntOrString>,
    /// Consecutive errors tolerated (default 4; −1 = unlimited).
    pub consecutive_error_limit: Option<IntOrString>,
    /// Consecutive successes that end the metric early (kept, not interpreted yet).
    pub consecutive_success_limit: Option<IntOrString>,
    /// Where the value comes from.
    pub provider: MetricProvider,
}

/// `metrics[].provider`: one of the fields is set.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct MetricProvider {
    /// Prometheus HTTP API.
    pub prometheus: Option<PrometheusMetric>,
    /// Any HTTP JSON endpoint.
    pub web: Option<WebMetric>,
    /// A Kubernetes Job: success or failure.
    pub job: Option<JobMetric>,
    /// Datadog (kept as JSON, not implemented).
    pub datadog: Option<Value>,
    /// New Relic (kept as JSON, not implemented).
    pub new_relic: Option<Value>,
    /// Wavefront (kept as JSON, not implemented).
    pub wavefront: Option<Value>,
    /// Kayenta (kept as JSON, not implemented).
    pub kayenta: Option<Value>,
    /// CloudWatch (kept as JSON, not implemented).
    pub cloud_watch: Option<Value>,
    /// Graphite (kept as JSON, not implemented).
    pub graphite: Option<Value>,
    /// InfluxDB (kept as JSON, not implemented).
    pub influxdb: Option<Value>,
    /// SkyWalking (kept as JSON, not implemented).
    pub skywalking: Option<Value>,
    /// Metric plugin (kept as JSON, not implemented).
    pub plugin: Option<Value>,
}

/// `provider.prometheus`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct PrometheusMetric {
    /// Base URL, e.g. `http://prometheus.monitoring:9090`.
    pub address: String,
    /// PromQL.
    pub query: String,
    /// Query timeout in seconds.
    pub timeout: Option<i64>,
    /// Extra HTTP headers.
    pub headers: Vec<WebMetricHeader>,
    /// Authentication: `oauth2` (client credentials); `sigv4` is not supported.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub authentication: Option<Authentication>,
}

/// `provider.web`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct WebMetric {
    /// URL to call.
    pub url: String,
    /// HTTP method (default GET).
    pub method: Option<String>,
    /// Headers.
    pub headers: Vec<WebMetricHeader>,
    /// Request body (text).
    pub body: Option<String>,
    /// Request body as JSON (sent as `application/json`; `body` wins when both are set).
    pub json_body: Option<Value>,
    /// Path into the JSON response, e.g. `{$.data.ok}`.
    pub json_path: Option<String>,
    /// Timeout in seconds (default 10).
    pub timeout_seconds: Option<i64>,
    /// Skip TLS certificate verification (self-signed endpoints), as Argo's `insecure`.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub insecure: bool,
    /// Authentication: `oauth2` (client credentials).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub authentication: Option<Authentication>,
}

/// `provider.{prometheus,web}.authentication`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Authentication {
    /// OAuth2 client-credentials grant: a token is fetched before each measurement.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub oauth2: Option<OAuth2Config>,
    /// AWS SigV4 (kept as JSON, not implemented).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sigv4: Option<Value>,
}

/// `authentication.oauth2`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct OAuth2Config {
    /// Token endpoint.
    pub token_url: String,
    /// Client ID.
    pub client_id: String,
    /// Client secret (pass it as a `secretKeyRef` argument).
    pub client_secret: String,
    /// Scopes requested.
    pub scopes: Vec<String>,
}

/// A header `{key, value}`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct WebMetricHeader {
    /// Header name.
    pub key: String,
    /// Header value.
    pub value: String,
}

/// `provider.job`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct JobMetric {
    /// Job metadata (kept as JSON).
    pub metadata: Value,
    /// Job spec (kept as JSON).
    pub spec: Value,
}

/// `args[]` of a template, a run or a Rollout analysis.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Argument {
    /// Name used as `{{args.NAME}}`.
    pub name: String,
    /// Value (or default in a template).
    pub value: Option<String>,
    /// Indirect value (Secret key, field path, pod template hash).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value_from: Option<ValueFrom>,
}

/// `args[].valueFrom`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ValueFrom {
    /// A key of a Secret in the run's namespace (read by the AnalysisRun controller at measurement time).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secret_key_ref: Option<SecretKeyRef>,
    /// A field of the Rollout (resolved by the Rollout controller).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field_ref: Option<FieldRef>,
    /// `Stable` or `Latest` ReplicaSet hash (resolved by the Rollout controller).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pod_template_hash_value: Option<String>,
}

/// `valueFrom.secretKeyRef`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct SecretKeyRef {
    /// Secret name.
    pub name: String,
    /// Key in the Secret's data.
    pub key: String,
}

/// `valueFrom.fieldRef`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct FieldRef {
    /// Path into the Rollout, e.g. `metadata.labels['app']`.
    pub field_path: String,
}

/// `dryRun[]`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct DryRun {
    /// Metric name, or `*` for all.
    pub metric_name: String,
}

/// `AnalysisRun`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct AnalysisRun {
    /// `argoproj.io/v1alpha1`.
    pub api_version: String,
    /// `AnalysisRun`.
    pub kind: String,
    /// Metadata, kept as JSON.
    pub metadata: Value,
    /// The run.
    pub spec: AnalysisRunSpec,
    /// Its progress.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<AnalysisRunStatus>,
}

/// `AnalysisRun.spec`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct AnalysisRunSpec {
    /// Metrics (copied from the templates).
    pub metrics: Vec<Metric>,
    /// Resolved arguments.
    pub args: Vec<Argument>,
    /// Stop measuring.
    pub terminate: bool,
    /// Dry-run metrics.
    pub dry_run: Vec<DryRun>,
    /// Measurements kept per metric.
    pub measurement_retention: Vec<MeasurementRetention>,
    /// Delete the run this long after it completed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ttl_strategy: Option<TtlStrategy>,
}

/// `AnalysisRun.spec.ttlStrategy`: seconds after completion before the run is deleted.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct TtlStrategy {
    /// After any final phase (unless one of the two below applies).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub seconds_after_completion: Option<i32>,
    /// After Failed or Error.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub seconds_after_failure: Option<i32>,
    /// After Successful.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub seconds_after_success: Option<i32>,
}

/// `AnalysisRun.status`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct AnalysisRunStatus {
    /// Phase of the run.
    pub phase: Option<String>,
    /// Why.
    pub message: Option<String>,
    /// One entry per metric.
    pub metric_results: Vec<MetricResult>,
    /// When measuring began.
    pub started_at: Option<Timestamp>,
    /// When the run reached a final phase.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub completed_at: Option<Timestamp>,
    /// Counts over the metrics.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub run_summary: Option<RunSummary>,
    /// Counts over the dry-run metrics.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dry_run_summary: Option<RunSummary>,
}

/// `status.runSummary`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct RunSummary {
    /// Metrics.
    pub count: i32,
    /// Successful metrics.
    pub successful: i32,
    /// Failed metrics.
    pub failed: i32,
    /// Inconclusive metrics.
    pub inconclusive: i32,
    /// Errored metrics.
    pub error: i32,
}

/// `status.metricResults[]`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct MetricResult {
    /// Metric name.
    pub name: String,
    /// Phase of the metric.
    pub phase: String,
    /// Measurements, oldest first.
    pub measurements: Vec<Measurement>,
    /// Why.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// Measurements taken.
    pub count: i32,
    /// Successful measurements.
    pub successful: i32,
    /// Failed measurements.
    pub failed: i32,
    /// Inconclusive measurements.
    pub inconclusive: i32,
    /// Errored measurements.
    pub error: i32,
    /// Errors in a row.
    pub consecutive_error: i32,
    /// The metric is a dry run.
    pub dry_run: bool,
}

/// One measurement.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Measurement {
    /// `Successful`, `Failed`, `Inconclusive`, `Error` (or `Running` while a Job runs).
    pub phase: String,
    /// Error text or explanation.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// When it started.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub started_at: Option<Timestamp>,
    /// When it finished.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub finished_at: Option<Timestamp>,
    /// The measured value as text (e.g. `[0.97]`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    /// When to look again (a running Job).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resume_at: Option<Timestamp>,
    /// Provider details (`job-name`, `job-namespace` for the Job provider).
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub metadata: BTreeMap<String, String>,
}

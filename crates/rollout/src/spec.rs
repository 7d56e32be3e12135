//! `argoproj.io/v1alpha1` `Rollout` with Argo Rollouts' field names.
//!
//! Every struct is `camelCase`, every field defaults, and unknown fields are ignored on input, so manifests written
//! for Argo Rollouts parse unchanged. Parts tack does not interpret (pod template, selector,
//! header routes, …) are kept as [`serde_json::Value`].

use std::collections::BTreeMap;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use serde_json::Value;

pub use tack_analysis::spec::{
    AnalysisTemplateRef, Argument as AnalysisRunArgument, DryRun, IntOrString, MeasurementRetention,
};

/// A whole `Rollout` object.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Rollout {
    /// `argoproj.io/v1alpha1`.
    pub api_version: String,
    /// `Rollout`.
    pub kind: String,
    /// Object metadata, kept as JSON.
    pub metadata: Value,
    /// What the user asks for.
    pub spec: RolloutSpec,
    /// What the controller reports.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<RolloutStatus>,
}

/// `Rollout.spec`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct RolloutSpec {
    /// Desired pods; Argo's default is 1.
    pub replicas: Option<i32>,
    /// Label selector (kept as JSON).
    pub selector: Option<Value>,
    /// Pod template (kept as JSON).
    pub template: Option<Value>,
    /// A Deployment whose pod template the Rollout uses instead of `template`.
    pub workload_ref: Option<WorkloadRef>,
    /// Old ReplicaSets kept for rollback (Argo's default 10).
    pub revision_history_limit: Option<i32>,
    /// Seconds a pod must be ready before it counts as available.
    pub min_ready_seconds: i32,
    /// Seconds without progress before the Rollout is Degraded (default 600).
    pub progress_deadline_seconds: Option<i32>,
    /// Abort the update when the progress deadline passes.
    pub progress_deadline_abort: bool,
    /// Paused by the user.
    pub paused: bool,
    /// Restart all pods created before this time.
    pub restart_at: Option<Timestamp>,
    /// Canary or blue/green.
    pub strategy: RolloutStrategy,
    /// How many completed AnalysisRuns of the Rollout are kept.
    pub analysis: Option<AnalysisRunHistory>,
    /// `rollbackWindow {revisions}`: a rollback to one of the last `revisions` ReplicaSets skips the steps.
    pub rollback_window: Option<RollbackWindow>,
}

/// `strategy.canary.antiAffinity` / `strategy.blueGreen.antiAffinity`: exactly one of the two.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct AntiAffinity {
    /// A preferred rule with this weight (1-100).
    pub preferred_during_scheduling_ignored_during_execution: Option<PreferredAntiAffinity>,
    /// A required rule (an empty object).
    pub required_during_scheduling_ignored_during_execution: Option<Value>,
}

/// `antiAffinity.preferredDuringSchedulingIgnoredDuringExecution`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct PreferredAntiAffinity {
    /// Weight of the injected preferred term.
    pub weight: i32,
}

/// `Rollout.spec.rollbackWindow`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct RollbackWindow {
    /// How many revisions back a rollback skips the steps and analyses.
    pub revisions: Option<i32>,
}

/// Labels and annotations (`canaryMetadata`, `stableMetadata`, an experiment template's `metadata`, …).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ObjectMetadata {
    /// Labels.
    pub labels: BTreeMap<String, String>,
    /// Annotations.
    pub annotations: BTreeMap<String, String>,
}

/// `spec.workloadRef`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct WorkloadRef {
    /// `apps/v1`.
    pub api_version: String,
    /// `Deployment`.
    pub kind: String,
    /// Name of the referenced workload.
    pub name: String,
    /// `never`, `onsuccess` or `progressively`.
    pub scale_down: Option<String>,
}

/// `spec.analysis`: how many completed AnalysisRuns are kept, by outcome (Argo's defaults: 5 and 5).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct AnalysisRunHistory {
    /// Successful runs kept (default 5).
    pub successful_run_history_limit: Option<i32>,
    /// Failed, Error and Inconclusive runs kept (default 5).
    pub unsuccessful_run_history_limit: Option<i32>,
}

/// `spec.strategy`: exactly one of the two is expected.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct RolloutStrategy {
    /// Canary strategy.
    pub canary: Option<CanaryStrategy>,
    /// Blue/green strategy.
    pub blue_green: Option<BlueGreenStrategy>,
}

/// `spec.strategy.canary`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct CanaryStrategy {
    /// Steps, run in order.
    pub steps: Vec<CanaryStep>,
    /// Service whose selector tracks the canary ReplicaSet.
    pub canary_service: Option<String>,
    /// Service whose selector tracks the stable ReplicaSet.
    pub stable_service: Option<String>,
    /// Pods above `replicas` allowed during the update (default `25%`, rounded up).
    pub max_surge: Option<IntOrString>,
    /// Pods below `replicas` allowed during the update (default `25%`, rounded down).
    pub max_unavailable: Option<IntOrString>,
    /// Traffic routers.
    pub traffic_routing: Option<TrafficRouting>,
    /// Background analysis, running during the whole update.
    pub analysis: Option<RolloutAnalysisBackground>,
    /// Delay before the canary is scaled down after an abort (default 30).
    pub abort_scale_down_delay_seconds: Option<i32>,
    /// Delay before the old stable is scaled down after promotion (default 30 with traffic routing).
    pub scale_down_delay_seconds: Option<i32>,
    /// Limit of old ReplicaSets kept up while their scale-down delay runs.
    pub scale_down_delay_revision_limit: Option<i32>,
    /// Minimum pods per ReplicaSet with traffic routing.
    pub min_pods_per_replica_set: Option<i32>,
    /// Scale the stable down as traffic moves away from it.
    pub dynamic_stable_scale: bool,
    /// Labels and annotations of the canary pods while they are the canary (ephemeral metadata).
    pub canary_metadata: Option<ObjectMetadata>,
    /// Labels and annotations of the stable pods (ephemeral metadata).
    pub stable_metadata: Option<ObjectMetadata>,
    /// Ping-pong services (kept as JSON).
    pub ping_pong: Option<Value>,
    /// Keep the new pods off the nodes of the stable pods ([`crate::affinity`]).
    pub anti_affinity: Option<AntiAffinity>,
    /// `replicaProgressThreshold` (kept as JSON).
    pub replica_progress_threshold: Option<Value>,
}

/// One canary step: exactly one field is set.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct CanaryStep {
    /// Percentage of traffic (or of replicas without traffic routing) sent to the canary.
    pub set_weight: Option<i32>,
    /// Wait, for a duration or until promoted.
    pub pause: Option<RolloutPause>,
    /// Canary replica count independent of traffic weight (traffic routing only).
    pub set_canary_scale: Option<SetCanaryScale>,
    /// Inline analysis, blocking the step until it ends.
    pub analysis: Option<RolloutAnalysis>,
    /// Run an Experiment and wait for it.
    pub experiment: Option<RolloutExperimentStep>,
    /// Route requests with matching headers to the canary (a route named in `trafficRouting.managedRoutes`).
    pub set_header_route: Option<SetHeaderRoute>,
    /// Mirror matching requests to the canary (a route named in `trafficRouting.managedRoutes`).
    pub set_mirror_route: Option<SetMirrorRoute>,
    /// Step plugin (not interpreted yet).
    pub plugin: Option<Value>,
}

/// `steps[].experiment`: an Experiment run from the canary and stable pod templates.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct RolloutExperimentStep {
    /// The Experiment's templates.
    pub templates: Vec<RolloutExperimentTemplate>,
    /// How long it runs once available (a Go duration or seconds); absent: until its required analyses end.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub duration: Option<IntOrString>,
    /// Its analyses.
    pub analyses: Vec<crate::experiment::ExperimentAnalysis>,
    /// Metrics run in dry-run mode.
    pub dry_run: Vec<DryRun>,
    /// Measurements kept per metric.
    pub measurement_retention: Vec<MeasurementRetention>,
    /// Labels and annotations of its AnalysisRuns.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub analysis_run_metadata: Option<crate::experiment::ObjectMetadata>,
}

/// `steps[].experiment.templates[]`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct RolloutExperimentTemplate {
    /// Template name.
    pub name: String,
    /// `canary` or `stable`: whose pod template it runs.
    pub spec_ref: String,
    /// Pods (default 1).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub replicas: Option<i32>,
    /// Labels and annotations added to its pods.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub metadata: Option<crate::experiment::ObjectMetadata>,
    /// Label selector replacing the Rollout's (kept as JSON).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub selector: Option<Value>,
    /// Traffic percentage for its pods (needs the SMI or ALB router; refused by tack).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub weight: Option<i32>,
    /// Create a Service for its pods.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub service: Option<crate::experiment::TemplateService>,
}

/// `trafficRouting.managedRoutes[]`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ManagedRoute {
    /// Route name, as `setHeaderRoute.name` / `setMirrorRoute.name` give it.
    pub name: String,
}

/// A string match: exactly one of `exact`, `regex`, `prefix`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct StringMatch {
    /// The whole value.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exact: Option<String>,
    /// A regular expression (RE2 for Istio and Gateway API, PCRE for NGINX).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub regex: Option<String>,
    /// The beginning of the value.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub prefix: Option<String>,
}

impl StringMatch {
    /// The one value set, as `("exact" | "regex" | "prefix", value)`; `None` when none or several are set (Argo
    /// Rollouts' validation refuses both).
    pub fn one(&self) -> Option<(&'static str, &str)> {
        let set: Vec<(&'static str, &str)> = [
            ("exact", self.exact.as_deref()),
            ("regex", self.regex.as_deref()),
            ("prefix", self.prefix.as_deref()),
        ]
        .into_iter()
        .filter_map(|(k, v)| v.filter(|v| !v.is_empty()).map(|v| (k, v)))
        .collect();
        match set.as_slice() {
            [one] => Some(*one),
            _ => None,
        }
    }
}

/// `setHeaderRoute.match[]`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct HeaderRoutingMatch {
    /// Header name.
    pub header_name: String,
    /// How its value must match.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub header_value: Option<StringMatch>,
}

/// `steps[].setHeaderRoute`: a route sending requests whose headers match to the canary; without `match` the route
/// is removed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct SetHeaderRoute {
    /// The managed route's name.
    pub name: String,
    /// The header matches (all must match); absent or empty: remove the route.
    #[serde(rename = "match", skip_serializing_if = "Option::is_none")]
    pub matches: Option<Vec<HeaderRoutingMatch>>,
}

/// `setMirrorRoute.match[]`: method, path and headers of the requests to mirror (all that are set must match).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct RouteMatch {
    /// HTTP method.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub method: Option<StringMatch>,
    /// Request path.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path: Option<StringMatch>,
    /// Headers by name.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub headers: BTreeMap<String, StringMatch>,
}

/// `steps[].setMirrorRoute`: a route whose matching requests go where the weighed route sends them and are also
/// copied to the canary; without `match` the route is removed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct SetMirrorRoute {
    /// The managed route's name.
    pub name: String,
    /// The requests to mirror (any of the blocks); absent or empty: remove the route.
    #[serde(rename = "match", skip_serializing_if = "Option::is_none")]
    pub matches: Option<Vec<RouteMatch>>,
    /// Share of the matching requests mirrored, in percent (default 100).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub percentage: Option<i32>,
}

/// `trafficRouting.smi`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct SmiTrafficRouting {
    /// The TrafficSplit's root Service (default: `stableService`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub root_service: Option<String>,
    /// The TrafficSplit's name (default: the Rollout's).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub traffic_split_name: Option<String>,
}

/// `pause: {duration}`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct RolloutPause {
    /// Seconds (number) or a Go duration (`"48h"`, `"1h30m"`); absent = until promoted.
    pub duration: Option<IntOrString>,
}

/// `setCanaryScale`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct SetCanaryScale {
    /// Absolute canary replicas.
    pub replicas: Option<i32>,
    /// Canary replicas as a percentage of `spec.replicas`.
    pub weight: Option<i32>,
    /// Back to replicas that follow the traffic weight.
    pub match_traffic_weight: bool,
}

/// An analysis reference (step, pre/post promotion).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct RolloutAnalysis {
    /// Templates merged into one AnalysisRun.
    pub templates: Vec<AnalysisTemplateRef>,
    /// Arguments passed to the templates.
    pub args: Vec<AnalysisRunArgument>,
    /// Metrics run in dry-run mode.
    pub dry_run: Vec<DryRun>,
    /// Measurements kept per metric.
    pub measurement_retention: Vec<MeasurementRetention>,
}

/// Background analysis: an analysis plus the step it starts at.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct RolloutAnalysisBackground {
    /// The analysis (templates, args, dryRun, measurementRetention), as for a step.
    #[serde(flatten)]
    pub analysis: RolloutAnalysis,
    /// Step index at which the background analysis starts (default 0).
    pub starting_step: Option<i32>,
}

/// `trafficRouting`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct TrafficRouting {
    /// NGINX Ingress.
    pub nginx: Option<NginxTrafficRouting>,
    /// Istio VirtualService.
    pub istio: Option<IstioTrafficRouting>,
    /// Traffic router plugins, e.g. `argoproj-labs/gatewayAPI: {httpRoute, namespace}`.
    pub plugins: BTreeMap<String, Value>,
    /// Upper bound of weights (default 100).
    pub max_traffic_weight: Option<i32>,
    /// The routes `setHeaderRoute` and `setMirrorRoute` steps may create, in priority order.
    pub managed_routes: Vec<ManagedRoute>,
    /// Other routers (kept as JSON, not interpreted).
    pub alb: Option<Value>,
    /// SMI TrafficSplit.
    pub smi: Option<SmiTrafficRouting>,
    /// Traefik (kept as JSON, not interpreted).
    pub traefik: Option<Value>,
    /// Ambassador (kept as JSON, not interpreted).
    pub ambassador: Option<Value>,
    /// AWS App Mesh (kept as JSON, not interpreted).
    pub app_mesh: Option<Value>,
    /// Apache APISIX (kept as JSON, not interpreted).
    pub apisix: Option<Value>,
}

/// `trafficRouting.nginx`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct NginxTrafficRouting {
    /// The Ingress pointing at the stable Service.
    pub stable_ingress: Option<String>,
    /// Several stable Ingresses.
    pub stable_ingresses: Vec<String>,
    /// Annotation prefix (default `nginx.ingress.kubernetes.io`).
    pub annotation_prefix: Option<String>,
    /// Extra annotations on the canary Ingress (`canary-by-header`, …).
    pub additional_ingress_annotations: BTreeMap<String, String>,
    /// Annotations copied onto the canary Ingress.
    pub canary_ingress_annotations: BTreeMap<String, String>,
}

/// `trafficRouting.istio`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct IstioTrafficRouting {
    /// The VirtualService whose routes get weights.
    pub virtual_service: Option<IstioVirtualService>,
    /// Several VirtualServices.
    pub virtual_services: Vec<IstioVirtualService>,
    /// Subset-level splitting: the DestinationRule whose subsets select the canary and stable hashes.
    pub destination_rule: Option<IstioDestinationRule>,
}

/// `istio.destinationRule`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct IstioDestinationRule {
    /// DestinationRule name (in the Rollout's namespace).
    pub name: String,
    /// The subset that selects the canary ReplicaSet.
    pub canary_subset_name: String,
    /// The subset that selects the stable ReplicaSet.
    pub stable_subset_name: String,
}

/// `istio.virtualService`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct IstioVirtualService {
    /// VirtualService name.
    pub name: String,
    /// HTTP route names to update.
    pub routes: Vec<String>,
    /// TLS routes (by port and SNI hosts).
    pub tls_routes: Vec<Value>,
    /// TCP routes (by port).
    pub tcp_routes: Vec<Value>,
}

/// `spec.strategy.blueGreen`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct BlueGreenStrategy {
    /// Service that receives production traffic.
    pub active_service: String,
    /// Service that selects the new version before promotion.
    pub preview_service: Option<String>,
    /// Promote without a user action (default true).
    pub auto_promotion_enabled: Option<bool>,
    /// Seconds to wait before promoting automatically.
    pub auto_promotion_seconds: Option<i32>,
    /// Replicas of the preview ReplicaSet before promotion (default `spec.replicas`).
    pub preview_replica_count: Option<i32>,
    /// Delay before the old active ReplicaSet is scaled down (default 30).
    pub scale_down_delay_seconds: Option<i32>,
    /// Limit of old ReplicaSets kept up while their delay runs.
    pub scale_down_delay_revision_limit: Option<i32>,
    /// Delay before the preview is scaled down after an abort (default 30).
    pub abort_scale_down_delay_seconds: Option<i32>,
    /// Analysis before the active Service switches.
    pub pre_promotion_analysis: Option<RolloutAnalysis>,
    /// Analysis after the active Service switched.
    pub post_promotion_analysis: Option<RolloutAnalysis>,
    /// Unavailable pods allowed (kept for compatibility).
    pub max_unavailable: Option<IntOrString>,
    /// Labels and annotations of the active pods (ephemeral metadata).
    pub active_metadata: Option<ObjectMetadata>,
    /// Labels and annotations of the preview pods (ephemeral metadata).
    pub preview_metadata: Option<ObjectMetadata>,
    /// Keep the new pods off the nodes of the stable pods ([`crate::affinity`]).
    pub anti_affinity: Option<AntiAffinity>,
}

/// `Rollout.status`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct RolloutStatus {
    /// `Healthy`, `Progressing`, `Paused` or `Degraded`.
    pub phase: Option<String>,
    /// Why the phase is what it is.
    pub message: Option<String>,
    /// Hash of the current pod template.
    pub current_pod_hash: Option<String>,
    /// Hash of the stable ReplicaSet.
    #[serde(rename = "stableRS")]
    pub stable_rs: Option<String>,
    /// Index of the current canary step.
    pub current_step_index: Option<i32>,
    /// Hash of the canary steps (a change restarts the steps).
    pub current_step_hash: Option<String>,
    /// Why the Rollout is paused.
    pub pause_conditions: Vec<PauseCondition>,
    /// The controller paused the Rollout.
    pub controller_pause: bool,
    /// The update was aborted.
    pub abort: bool,
    /// When the update was aborted.
    pub aborted_at: Option<Timestamp>,
    /// The `spec.restartAt` whose restart is done.
    pub restarted_at: Option<Timestamp>,
    /// Skip the remaining steps.
    pub promote_full: bool,
    /// Canary status.
    pub canary: CanaryStatus,
    /// Blue/green status.
    pub blue_green: BlueGreenStatus,
    /// Pods of all ReplicaSets.
    pub replicas: i32,
    /// Pods of the current ReplicaSet.
    pub updated_replicas: i32,
    /// Ready pods.
    pub ready_replicas: i32,
    /// Available pods.
    pub available_replicas: i32,
    /// Generation observed (a string in Argo Rollouts).
    pub observed_generation: Option<String>,
    /// Conditions (`Progressing`, `Available`, `Completed`, `Paused`, …).
    pub conditions: Vec<RolloutCondition>,
    /// Label selector string for the scale subresource.
    pub selector: Option<String>,
    /// `metadata.generation` of the `workloadRef` Deployment whose template was used (a string, as in Argo).
    pub workload_observed_generation: Option<String>,
}

/// `status.pauseConditions[]`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct PauseCondition {
    /// `CanaryPauseStep`, `BlueGreenPause`, `InconclusiveAnalysisRun`, …
    pub reason: String,
    /// When the pause began.
    pub start_time: Option<Timestamp>,
}

/// `status.canary`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct CanaryStatus {
    /// Traffic weights (set with traffic routing).
    pub weights: Option<TrafficWeights>,
    /// The AnalysisRun of the current step.
    pub current_step_analysis_run_status: Option<AnalysisRunStatusRef>,
    /// The background AnalysisRun.
    pub current_background_analysis_run_status: Option<AnalysisRunStatusRef>,
    /// The Experiment of the current `experiment` step.
    pub current_experiment: Option<String>,
}

/// `status.canary.weights`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct TrafficWeights {
    /// Canary destination.
    pub canary: WeightDestination,
    /// Stable destination.
    pub stable: WeightDestination,
    /// Other destinations (experiments).
    pub additional: Vec<WeightDestination>,
    /// Whether the weights were verified in the data plane.
    pub verified: Option<bool>,
}

/// One weighted destination.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct WeightDestination {
    /// Percentage of traffic.
    pub weight: i32,
    /// Hash of the ReplicaSet behind it.
    pub pod_template_hash: Option<String>,
    /// Service name.
    pub service_name: Option<String>,
}

/// A reference to an AnalysisRun with its phase.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct AnalysisRunStatusRef {
    /// AnalysisRun name.
    pub name: String,
    /// Its phase.
    pub status: String,
    /// Its message.
    pub message: Option<String>,
}

/// `status.blueGreen`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct BlueGreenStatus {
    /// Hash selected by the active Service.
    pub active_selector: Option<String>,
    /// Hash selected by the preview Service.
    pub preview_selector: Option<String>,
    /// The preview was scaled to full size before promotion.
    pub scale_up_preview_check_point: bool,
    /// Pre-promotion AnalysisRun.
    pub pre_promotion_analysis_run_status: Option<AnalysisRunStatusRef>,
    /// Post-promotion AnalysisRun.
    pub post_promotion_analysis_run_status: Option<AnalysisRunStatusRef>,
}

/// `status.conditions[]`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct RolloutCondition {
    /// `Progressing`, `Available`, `Completed`, `Paused`, `Healthy`, …
    #[serde(rename = "type")]
    pub type_: String,
    /// `True`, `False` or `Unknown`.
    pub status: String,
    /// Machine-readable reason.
    pub reason: Option<String>,
    /// Human-readable message.
    pub message: Option<String>,
    /// Last time the condition was updated (progress for `Progressing`).
    pub last_update_time: Option<Timestamp>,
    /// Last time the status changed.
    pub last_transition_time: Option<Timestamp>,
}

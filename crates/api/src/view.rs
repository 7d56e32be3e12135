//! The JSON shapes of the API, built from the cached objects (pure): list summaries, filters and pages.

use std::collections::BTreeMap;

use kube::ResourceExt;
use kube::api::DynamicObject;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use tack_model::GitOpsConfig;

/// Items per page unless `limit` says otherwise, and the most a page holds.
pub const DEFAULT_LIMIT: usize = 500;
/// The largest `limit` accepted.
pub const MAX_LIMIT: usize = 5_000;

/// One application in a list.
#[derive(Serialize, Debug, Clone, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct AppSummary {
    /// Namespace of the GitOpsConfig.
    pub namespace: String,
    /// Name of the GitOpsConfig.
    pub name: String,
    /// `Synced`, `OutOfSync` or `Unknown`.
    pub sync: String,
    /// The revision (commit) synced or compared last.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub revision: Option<String>,
    /// `Healthy`, `Progressing`, `Degraded`, `Suspended`, `Missing` or `Unknown`.
    pub health: String,
    /// Why, when not healthy.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub health_message: Option<String>,
    /// The status of the Ready condition (`True`, `False`, `Unknown`).
    pub ready: String,
    /// The Ready condition's message.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// `spec.suspend`.
    pub suspended: bool,
    /// The revision pinned by a rollback, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rolled_back_to: Option<String>,
    /// The Git repository.
    pub repo_url: String,
    /// The folder in it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// The branch, tag or commit followed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub target_revision: Option<String>,
    /// The namespace objects go to.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub destination: Option<String>,
    /// The registered cluster objects go to (this cluster when absent).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cluster: Option<String>,
    /// How many objects the application manages.
    pub resources: usize,
    /// The GitOpsConfig's labels.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
}

/// The summary of one application.
pub fn app_summary(app: &GitOpsConfig) -> AppSummary {
    let status = app.status.clone().unwrap_or_default();
    let ready = status.conditions.iter().find(|c| c.type_ == "Ready");
    AppSummary {
        namespace: app.namespace().unwrap_or_default(),
        name: app.name_any(),
        sync: status
            .sync
            .as_ref()
            .map_or_else(|| "Unknown".to_string(), |s| format!("{:?}", s.status)),
        revision: status.sync.as_ref().and_then(|s| s.revision.clone()),
        health: status
            .health
            .as_ref()
            .map_or_else(|| "Unknown".to_string(), |h| h.status.clone()),
        health_message: status.health.as_ref().and_then(|h| h.message.clone()),
        ready: ready.map_or_else(|| "Unknown".to_string(), |c| c.status.clone()),
        message: ready.map(|c| c.message.clone()).filter(|m| !m.is_empty()),
        suspended: app.spec.suspend,
        rolled_back_to: app.spec.rollback.as_ref().map(|r| r.revision.clone()),
        repo_url: app.spec.source.repo_url.clone(),
        path: app.spec.source.path.clone(),
        target_revision: app.spec.source.revision.clone(),
        destination: app.spec.destination.namespace.clone(),
        cluster: app.spec.destination.cluster.clone(),
        resources: status.inventory.len().max(status.resources.len()),
        labels: app.labels().clone(),
    }
}

/// The query of a list: filters and the page.
#[derive(Deserialize, Debug, Default, Clone)]
#[serde(rename_all = "camelCase")]
pub struct ListQuery {
    /// Only this namespace.
    pub namespace: Option<String>,
    /// Names containing this text.
    pub name: Option<String>,
    /// Only this sync status (applications) or phase (rollouts).
    pub sync: Option<String>,
    /// Only this health status (applications) or phase (rollouts).
    pub health: Option<String>,
    /// Labels: `k=v,k2=v2,k3` (all must match; `k` alone means the label exists).
    pub label: Option<String>,
    /// Items per page (default 500, at most 5 000).
    pub limit: Option<usize>,
    /// The `continue` token of the previous page.
    #[serde(rename = "continue")]
    pub continue_: Option<String>,
}

/// A page of a list.
#[derive(Serialize, Debug, PartialEq)]
pub struct Page<T> {
    /// The items, sorted by namespace then name.
    pub items: Vec<T>,
    /// How many items matched the filters in all pages.
    pub total: usize,
    /// Give this as `continue` to get the next page; absent on the last page.
    #[serde(rename = "continue", skip_serializing_if = "Option::is_none")]
    pub continue_: Option<String>,
}

/// Whether `labels` has every label the selector `k=v,k2` asks for.
pub fn labels_match(selector: &str, labels: &BTreeMap<String, String>) -> bool {
    selector
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .all(|term| match term.split_once('=') {
            Some((k, v)) => labels.get(k.trim()).is_some_and(|l| l == v.trim()),
            None => labels.contains_key(term),
        })
}

/// Whether an application passes the filters of `q`.
pub fn app_matches(q: &ListQuery, s: &AppSummary) -> bool {
    let eq = |want: &Option<String>, have: &str| want.as_deref().is_none_or(|w| w.eq_ignore_ascii_case(have));
    q.namespace.as_deref().is_none_or(|ns| ns == s.namespace)
        && q.name.as_deref().is_none_or(|n| s.name.contains(n))
        && eq(&q.sync, &s.sync)
        && eq(&q.health, &s.health)
        && q.label.as_deref().is_none_or(|l| labels_match(l, &s.labels))
}

/// The page of `items` (namespace, name, item) the query asks for, after sorting.
pub fn page<T>(mut items: Vec<(String, String, T)>, q: &ListQuery) -> Page<T> {
    items.sort_by(|a, b| (&a.0, &a.1).cmp(&(&b.0, &b.1)));
    let total = items.len();
    let limit = q.limit.unwrap_or(DEFAULT_LIMIT).clamp(1, MAX_LIMIT);
    let after = q.continue_.as_deref().and_then(|c| c.split_once('/'));
    let start = match after {
        Some((ns, name)) => items.partition_point(|(n, m, _)| (n.as_str(), m.as_str()) <= (ns, name)),
        None => 0,
    };
    let rest: Vec<_> = items.into_iter().skip(start).collect();
    let more = rest.len() > limit;
    let mut token = None;
    let mut out = Vec::with_capacity(limit.min(rest.len()));
    for (ns, name, item) in rest.into_iter().take(limit) {
        token = Some(format!("{ns}/{name}"));
        out.push(item);
    }
    Page {
        items: out,
        total,
        continue_: if more { token } else { None },
    }
}

/// One Rollout in a list.
#[derive(Serialize, Debug, Clone, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct RolloutSummary {
    /// Namespace.
    pub namespace: String,
    /// Name.
    pub name: String,
    /// `Healthy`, `Progressing`, `Paused`, `Degraded`.
    pub phase: String,
    /// The status message.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// `canary` or `blueGreen`.
    pub strategy: String,
    /// The step the canary is at.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub current_step_index: Option<i64>,
    /// How many steps the canary has.
    pub steps: usize,
    /// The canary weight the routers apply (traffic-routed canaries).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub canary_weight: Option<i64>,
    /// Desired replicas.
    pub replicas: i64,
    /// Ready replicas.
    pub ready_replicas: i64,
    /// Updated replicas (of the newest template).
    pub updated_replicas: i64,
    /// The stable ReplicaSet's pod-template hash.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stable_hash: Option<String>,
    /// The newest ReplicaSet's pod-template hash.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub current_hash: Option<String>,
}

/// The summary of one Rollout.
pub fn rollout_summary(r: &DynamicObject) -> RolloutSummary {
    let spec = &r.data["spec"];
    let status = &r.data["status"];
    let text = |v: &Value| v.as_str().map(str::to_string);
    let int = |v: &Value| v.as_i64().unwrap_or(0);
    let strategy = if spec["strategy"]["blueGreen"].is_object() {
        "blueGreen"
    } else {
        "canary"
    };
    RolloutSummary {
        namespace: r.namespace().unwrap_or_default(),
        name: r.name_any(),
        phase: text(&status["phase"]).unwrap_or_else(|| "Progressing".into()),
        message: text(&status["message"]).filter(|m| !m.is_empty()),
        strategy: strategy.into(),
        current_step_index: status["currentStepIndex"].as_i64(),
        steps: spec["strategy"]["canary"]["steps"].as_array().map_or(0, Vec::len),
        canary_weight: status["canary"]["weights"]["canary"]["weight"]
            .as_i64()
            .or_else(|| step_weight(r)),
        replicas: spec["replicas"].as_i64().unwrap_or(1),
        ready_replicas: int(&status["readyReplicas"]),
        updated_replicas: int(&status["updatedReplicas"]),
        stable_hash: text(&status["stableRS"]),
        current_hash: text(&status["currentPodHash"]),
    }
}

/// Without traffic routing: the weight of the canary's current step (the last `setWeight` reached), while an
/// update is in progress (the newest pods are not the stable ones); `None` otherwise.
fn step_weight(r: &DynamicObject) -> Option<i64> {
    let status = &r.data["status"];
    let current = status["currentPodHash"].as_str()?;
    if status["stableRS"].as_str() == Some(current) {
        return None;
    }
    let at = status["currentStepIndex"].as_u64()? as usize;
    let steps = r.data["spec"]["strategy"]["canary"]["steps"].as_array()?;
    steps
        .iter()
        .take(at + 1)
        .filter_map(|s| s["setWeight"].as_i64())
        .next_back()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn label_selectors() {
        let l = labels(&[("team", "shop"), ("tier", "web")]);
        assert!(labels_match("team=shop", &l));
        assert!(labels_match("team=shop, tier", &l));
        assert!(!labels_match("team=shop,tier=db", &l));
        assert!(!labels_match("owner", &l));
        assert!(labels_match("", &l));
    }

    #[test]
    fn pages_continue_where_the_last_one_ended() {
        let items: Vec<_> = (0..7)
            .map(|i| (format!("ns{}", i % 2), format!("app{i}"), i))
            .collect();
        let q = ListQuery {
            limit: Some(3),
            ..Default::default()
        };
        let first = page(items.clone(), &q);
        assert_eq!(first.items, vec![0, 2, 4]);
        assert_eq!(first.total, 7);
        assert_eq!(first.continue_.as_deref(), Some("ns0/app4"));
        let second = page(
            items.clone(),
            &ListQuery {
                continue_: first.continue_,
                ..q.clone()
            },
        );
        assert_eq!(second.items, vec![6, 1, 3]);
        let third = page(
            items,
            &ListQuery {
                continue_: second.continue_,
                ..q
            },
        );
        assert_eq!(third.items, vec![5]);
        assert_eq!(third.continue_, None);
    }

    #[test]
    fn rollout_summaries_read_argo_fields() {
        let r: DynamicObject = serde_json::from_value(serde_json::json!({
            "apiVersion": "argoproj.io/v1alpha1", "kind": "Rollout",
            "metadata": {"name": "web", "namespace": "qa"},
            "spec": {"replicas": 4, "strategy": {"canary": {"steps": [{"setWeight": 20}, {"pause": {}}]}}},
            "status": {"phase": "Paused", "currentStepIndex": 1, "readyReplicas": 4, "updatedReplicas": 1,
                       "stableRS": "abc", "currentPodHash": "def",
                       "canary": {"weights": {"canary": {"weight": 20}}}}
        }))
        .unwrap();
        let s = rollout_summary(&r);
        assert_eq!(
            (s.phase.as_str(), s.steps, s.current_step_index, s.canary_weight),
            ("Paused", 2, Some(1), Some(20))
        );
        // Without traffic routing the weight is the step's, while the update runs.
        let mut plain = r.clone();
        plain.data["status"]["canary"] = serde_json::json!({});
        assert_eq!(rollout_summary(&plain).canary_weight, Some(20));
        plain.data["status"]["stableRS"] = serde_json::json!("def");
        assert_eq!(rollout_summary(&plain).canary_weight, None);
        assert_eq!(
            (s.replicas, s.ready_replicas, s.strategy.as_str()),
            (4, 4, "canary")
        );
    }
}

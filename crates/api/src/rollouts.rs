//! `/api/v1/…/rollouts`: Rollouts listed from the watch cache, one Rollout with its steps, weights,
//! ReplicaSets, AnalysisRuns and Experiments, and the actions of `tack rollout` (promote, promote full, abort,
//! retry, pause, resume, undo).

use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use k8s_openapi::api::apps::v1::ReplicaSet;
use kube::ResourceExt;
use serde::Deserialize;
use serde_json::{Value, json};
use tack_delivery::rollout::commands;

use crate::applications::visible;
use crate::auth::{Access, Caller};
use crate::view::{self, ListQuery, Page, RolloutSummary};
use crate::{ApiError, ApiState, error};

const GROUP: &str = "argoproj.io";
const RESOURCE: &str = "rollouts";

fn access<'a>(verb: &'a str, namespace: &'a str, name: &'a str) -> Access<'a> {
    Access {
        verb,
        group: GROUP,
        resource: RESOURCE,
        namespace: Some(namespace),
        name: Some(name),
    }
}

/// `GET /api/v1/rollouts?namespace=&name=&health=&label=&limit=&continue=` (`health` filters by phase).
pub async fn list(
    State(state): State<Arc<ApiState>>,
    caller: Caller,
    Query(q): Query<ListQuery>,
) -> Result<Json<Page<RolloutSummary>>, ApiError> {
    let store = state.stores.rollouts_ready().await?;
    let all = visible(
        &state,
        &caller,
        q.namespace.as_deref(),
        store.state(),
        GROUP,
        RESOURCE,
    )
    .await?;
    let items = all
        .iter()
        .filter(|r| {
            q.label
                .as_deref()
                .is_none_or(|l| view::labels_match(l, r.labels()))
        })
        .map(|r| view::rollout_summary(r))
        .filter(|s| {
            q.namespace.as_deref().is_none_or(|ns| ns == s.namespace)
                && q.name.as_deref().is_none_or(|n| s.name.contains(n))
                && q.health
                    .as_deref()
                    .is_none_or(|p| p.eq_ignore_ascii_case(&s.phase))
        })
        .map(|s| (s.namespace.clone(), s.name.clone(), s))
        .collect();
    Ok(Json(view::page(items, &q)))
}

/// `GET /api/v1/namespaces/{ns}/rollouts/{name}`: the Rollout with its ReplicaSets (newest revision first),
/// AnalysisRuns with their measurements and Experiments.
pub async fn get_one(
    State(state): State<Arc<ApiState>>,
    caller: Caller,
    Path((ns, name)): Path<(String, String)>,
) -> Result<Json<Value>, ApiError> {
    state.auth.require(&caller, &access("get", &ns, &name)).await?;
    let info = commands::inspect(&state.client, &ns, &name).await?;
    let mut raw = info.raw;
    if let Some(m) = raw.get_mut("metadata").and_then(Value::as_object_mut) {
        m.remove("managedFields");
    }
    let stable = raw["status"]["stableRS"].as_str().map(str::to_string);
    let current = raw["status"]["currentPodHash"].as_str().map(str::to_string);
    let replica_sets: Vec<Value> = info
        .replica_sets
        .iter()
        .map(|rs| replica_set(rs, stable.as_deref(), current.as_deref()))
        .collect();
    let summary = serde_json::from_value(raw.clone())
        .map(|obj| view::rollout_summary(&obj))
        .ok();
    Ok(Json(json!({
        "summary": summary,
        "rollout": raw,
        "replicaSets": replica_sets,
        "analysisRuns": info.analysis_runs,
        "experiments": info.experiments,
    })))
}

/// A ReplicaSet as the Rollout page shows it: revision, hash, role, counts and images.
fn replica_set(rs: &ReplicaSet, stable: Option<&str>, current: Option<&str>) -> Value {
    let hash = rs
        .labels()
        .get("rollouts-pod-template-hash")
        .cloned()
        .unwrap_or_default();
    let role = if Some(hash.as_str()) == stable {
        "stable"
    } else if Some(hash.as_str()) == current {
        "canary"
    } else {
        "old"
    };
    let status = rs.status.clone().unwrap_or_default();
    let images: Vec<String> = rs
        .spec
        .as_ref()
        .and_then(|s| s.template.as_ref())
        .and_then(|t| t.spec.as_ref())
        .map(|p| p.containers.iter().filter_map(|c| c.image.clone()).collect())
        .unwrap_or_default();
    json!({
        "name": rs.name_any(),
        "revision": rs.annotations().get("rollout.argoproj.io/revision"),
        "hash": hash,
        "role": role,
        "replicas": rs.spec.as_ref().and_then(|s| s.replicas).unwrap_or(0),
        "readyReplicas": status.ready_replicas.unwrap_or(0),
        "availableReplicas": status.available_replicas.unwrap_or(0),
        "images": images,
    })
}

/// The body of `promote` and `undo`.
#[derive(Deserialize, Default)]
#[serde(default, deny_unknown_fields)]
struct ActionBody {
    full: bool,
    revision: Option<i64>,
}

/// `POST /api/v1/namespaces/{ns}/rollouts/{name}/{promote|abort|retry|pause|resume|undo}`.
pub async fn act(
    State(state): State<Arc<ApiState>>,
    caller: Caller,
    Path((ns, name, action)): Path<(String, String, String)>,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    let body: ActionBody = error::action_body(
        &body,
        &action,
        r#"{"full": true} or {"revision": 2}"#,
        Some(ActionBody::default()),
    )?;
    state.auth.require(&caller, &access("patch", &ns, &name)).await?;
    let c = &state.client;
    let message = match action.as_str() {
        "promote" if body.full => {
            commands::promote_full(c, &ns, &name).await?;
            "promoted fully: the remaining steps are skipped".to_string()
        }
        "promote" => {
            commands::promote(c, &ns, &name).await?;
            "promoted: the rollout goes on to the next step".to_string()
        }
        "abort" => {
            commands::abort(c, &ns, &name).await?;
            "aborted: traffic goes back to stable".to_string()
        }
        "retry" => {
            commands::retry(c, &ns, &name).await?;
            "retried: the update starts again from the first step".to_string()
        }
        "pause" => {
            commands::pause(c, &ns, &name).await?;
            "paused".to_string()
        }
        "resume" => {
            commands::resume(c, &ns, &name).await?;
            "resumed".to_string()
        }
        "undo" => {
            let revision = commands::undo(c, &ns, &name, body.revision).await?;
            format!("rolling back to revision {revision}")
        }
        other => {
            return Err(ApiError::NotFound(format!(
                "no rollout action {other}: use promote, abort, retry, pause, resume or undo"
            )));
        }
    };
    Ok(Json(
        json!({"message": format!("rollout {ns}/{name}: {message}")}),
    ))
}

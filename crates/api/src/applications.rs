//! `/api/v1/…/applications`: GitOpsConfigs listed from the watch cache, one application with its status,
//! events and history, and the actions of `tack app` (sync, refresh, suspend, resume, rollback).

use std::collections::BTreeSet;
use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use k8s_openapi::api::events::v1::Event;
use kube::ResourceExt;
use kube::api::{Api, ListParams, Patch, PatchParams};
use kube::runtime::reflector::ObjectRef;
use serde::Deserialize;
use serde_json::{Value, json};
use tack_model::GitOpsConfig;

use crate::auth::{Access, Caller};
use crate::view::{self, AppSummary, ListQuery, Page};
use crate::{ApiError, ApiState, actions, error};

const GROUP: &str = "gitops.tack.dev";
const RESOURCE: &str = "gitopsconfigs";

fn access<'a>(verb: &'a str, namespace: Option<&'a str>, name: Option<&'a str>) -> Access<'a> {
    Access {
        verb,
        group: GROUP,
        resource: RESOURCE,
        namespace,
        name,
    }
}

fn list_access<'a>(group: &'a str, resource: &'a str, namespace: Option<&'a str>) -> Access<'a> {
    Access {
        verb: "list",
        group,
        resource,
        namespace,
        name: None,
    }
}

/// The cached objects `caller` may list: all of them when it may list everywhere, else those of the
/// namespaces where it may (`wanted` alone when the query names one). Refused (403) when it may list in none.
pub(crate) async fn visible<K: ResourceExt>(
    state: &ApiState,
    caller: &Caller,
    wanted: Option<&str>,
    items: Vec<Arc<K>>,
    group: &str,
    resource: &str,
) -> Result<Vec<Arc<K>>, ApiError> {
    let in_namespace = |o: &K, ns: &str| o.namespace().as_deref() == Some(ns);
    if let Some(ns) = wanted {
        let access = list_access(group, resource, Some(ns));
        state.auth.require(caller, &access).await?;
        return Ok(items.into_iter().filter(|o| in_namespace(o, ns)).collect());
    }
    if state
        .auth
        .allowed(caller, &list_access(group, resource, None))
        .await?
    {
        return Ok(items);
    }
    let namespaces: BTreeSet<String> = items.iter().filter_map(|o| o.namespace()).collect();
    let mut allowed = BTreeSet::new();
    for ns in namespaces {
        if state
            .auth
            .allowed(caller, &list_access(group, resource, Some(&ns)))
            .await?
        {
            allowed.insert(ns);
        }
    }
    if allowed.is_empty() {
        state
            .auth
            .require(caller, &list_access(group, resource, None))
            .await?;
    }
    Ok(items
        .into_iter()
        .filter(|o| o.namespace().is_some_and(|ns| allowed.contains(&ns)))
        .collect())
}

/// `GET /api/v1/applications?namespace=&name=&sync=&health=&label=&limit=&continue=`
pub async fn list(
    State(state): State<Arc<ApiState>>,
    caller: Caller,
    Query(q): Query<ListQuery>,
) -> Result<Json<Page<AppSummary>>, ApiError> {
    let store = state.stores.applications_ready().await?;
    let apps = visible(
        &state,
        &caller,
        q.namespace.as_deref(),
        store.state(),
        GROUP,
        RESOURCE,
    )
    .await?;
    let items = apps
        .iter()
        .map(|a| view::app_summary(a))
        .filter(|s| view::app_matches(&q, s))
        .map(|s| (s.namespace.clone(), s.name.clone(), s))
        .collect();
    Ok(Json(view::page(items, &q)))
}

/// The cached application, after checking that the caller may `get` it.
pub(crate) async fn cached(
    state: &ApiState,
    caller: &Caller,
    ns: &str,
    name: &str,
) -> Result<Arc<GitOpsConfig>, ApiError> {
    state
        .auth
        .require(caller, &access("get", Some(ns), Some(name)))
        .await?;
    let store = state.stores.applications_ready().await?;
    store
        .get(&ObjectRef::new(name).within(ns))
        .ok_or_else(|| ApiError::NotFound(format!("application {ns}/{name} not found")))
}

/// `GET /api/v1/namespaces/{ns}/applications/{name}`: the summary, spec and status.
pub async fn get_one(
    State(state): State<Arc<ApiState>>,
    caller: Caller,
    Path((ns, name)): Path<(String, String)>,
) -> Result<Json<Value>, ApiError> {
    let app = cached(&state, &caller, &ns, &name).await?;
    Ok(Json(json!({
        "summary": view::app_summary(&app),
        "metadata": {
            "labels": app.labels(),
            "generation": app.metadata.generation,
            "creationTimestamp": app.metadata.creation_timestamp,
            "uid": app.metadata.uid,
        },
        "spec": app.spec,
        "status": app.status,
    })))
}

/// `GET /api/v1/namespaces/{ns}/applications/{name}/history`: the recorded syncs, newest first.
pub async fn history(
    State(state): State<Arc<ApiState>>,
    caller: Caller,
    Path((ns, name)): Path<(String, String)>,
) -> Result<Json<Value>, ApiError> {
    let app = cached(&state, &caller, &ns, &name).await?;
    let status = app.status.clone().unwrap_or_default();
    let current = status.sync.as_ref().and_then(|s| s.revision.clone());
    let pinned = app.spec.rollback.as_ref().map(|r| r.revision.clone());
    let items: Vec<Value> = status
        .history
        .iter()
        .rev()
        .map(|h| {
            json!({
                "id": h.id, "revision": h.revision, "time": h.time, "result": h.result,
                "current": current.as_deref() == Some(h.revision.as_str()),
                "rolledBackTo": pinned.as_deref() == Some(h.revision.as_str()),
            })
        })
        .collect();
    Ok(Json(json!({"items": items})))
}

/// `GET /api/v1/namespaces/{ns}/applications/{name}/events`: the application's Events, newest first.
pub async fn events(
    State(state): State<Arc<ApiState>>,
    caller: Caller,
    Path((ns, name)): Path<(String, String)>,
) -> Result<Json<Value>, ApiError> {
    cached(&state, &caller, &ns, &name).await?;
    let read = Access {
        verb: "list",
        group: "events.k8s.io",
        resource: "events",
        namespace: Some(&ns),
        name: None,
    };
    state.auth.require(&caller, &read).await?;
    let api: Api<Event> = Api::namespaced(state.client.clone(), &ns);
    let params = ListParams::default().fields(&format!("regarding.name={name}"));
    let list = api
        .list(&params)
        .await
        .map_err(ApiError::kube(format!("listing the Events of {ns}/{name}")))?;
    let mut items: Vec<(String, Value)> = list
        .items
        .into_iter()
        .filter(|e| e.regarding.as_ref().and_then(|r| r.kind.as_deref()) == Some("GitOpsConfig"))
        .map(|e| {
            let time = event_time(&e);
            let count = e.series.as_ref().map_or(1, |s| s.count);
            let value = json!({
                "type": e.type_, "reason": e.reason, "note": e.note, "time": time, "count": count,
            });
            (time, value)
        })
        .collect();
    items.sort_by(|a, b| b.0.cmp(&a.0));
    Ok(Json(
        json!({"items": items.into_iter().map(|(_, v)| v).collect::<Vec<_>>()}),
    ))
}

/// `GET /api/v1/namespaces/{ns}/applications/{name}/tree`: the managed objects with what Kubernetes created
/// for them (ReplicaSets, Pods, Jobs) nested under them. Children are read only in namespaces where the caller
/// may list pods, replicasets and jobs, and only for applications deployed to this cluster.
pub async fn tree(
    State(state): State<Arc<ApiState>>,
    caller: Caller,
    Path((ns, name)): Path<(String, String)>,
) -> Result<Json<Value>, ApiError> {
    let app = cached(&state, &caller, &ns, &name).await?;
    let resources = app.status.clone().unwrap_or_default().resources;
    let remote = app.spec.destination.cluster.clone();
    let mut readable = BTreeSet::new();
    let mut hidden = BTreeSet::new();
    if remote.is_none() {
        let namespaces: BTreeSet<String> = resources.iter().filter_map(|r| r.namespace.clone()).collect();
        for namespace in namespaces {
            let mut may = true;
            for (group, resource) in [("", "pods"), ("apps", "replicasets"), ("batch", "jobs")] {
                may &= state
                    .auth
                    .allowed(&caller, &list_access(group, resource, Some(&namespace)))
                    .await?;
            }
            if may {
                readable.insert(namespace);
            } else {
                hidden.insert(namespace);
            }
        }
    }
    let owned = crate::tree::children(&state.client, &readable)
        .await
        .map_err(ApiError::kube(format!(
            "reading the objects created for {ns}/{name}"
        )))?;
    Ok(Json(json!({
        "nodes": crate::tree::build(&resources, &owned),
        "childrenHiddenIn": hidden,
        "remoteCluster": remote,
    })))
}

/// When an Event last happened, as RFC 3339 text (sortable).
fn event_time(e: &Event) -> String {
    let series = e.series.as_ref().map(|s| s.last_observed_time.0.to_string());
    series
        .or_else(|| e.event_time.as_ref().map(|t| t.0.to_string()))
        .or_else(|| e.deprecated_last_timestamp.as_ref().map(|t| t.0.to_string()))
        .or_else(|| e.metadata.creation_timestamp.as_ref().map(|t| t.0.to_string()))
        .unwrap_or_default()
}

/// The body of `sync` and `rollback`.
#[derive(Deserialize, Default)]
#[serde(default, deny_unknown_fields)]
struct ActionBody {
    prune: bool,
    confirm: bool,
    id: Option<i64>,
}

/// `POST /api/v1/namespaces/{ns}/applications/{name}/{sync|refresh|suspend|resume|rollback}`.
pub async fn act(
    State(state): State<Arc<ApiState>>,
    caller: Caller,
    Path((ns, name, action)): Path<(String, String, String)>,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    let body: ActionBody = error::action_body(
        &body,
        &action,
        r#"{"prune": true} or {"id": 3}"#,
        Some(ActionBody::default()),
    )?;
    state
        .auth
        .require(&caller, &access("patch", Some(&ns), Some(&name)))
        .await?;
    let app = cached(&state, &caller, &ns, &name).await?;
    let now = now();
    let (patch, message) = match action.as_str() {
        "sync" => (
            actions::sync(&now, body.prune, body.confirm),
            format!(
                "sync requested{}; the controller applies Git now",
                if body.prune { " with prune" } else { "" }
            ),
        ),
        "refresh" => (
            actions::refresh(&now),
            "refresh requested; the controller fetches and compares now".to_string(),
        ),
        "suspend" => (
            actions::suspend(true),
            "suspended: the controller leaves the application alone until resumed".to_string(),
        ),
        "resume" => (
            actions::suspend(false),
            "resumed: the controller reconciles it now".to_string(),
        ),
        "rollback" => {
            let status = app.status.clone().unwrap_or_default();
            let target = actions::rollback_target(&status, body.id)
                .map_err(|e| ApiError::BadRequest(format!("application {ns}/{name}: {e}")))?;
            (
                actions::rollback(&target),
                format!(
                    "rolling back to {} (history ID {}); automated sync is suspended until resumed",
                    target.revision, target.id
                ),
            )
        }
        other => {
            return Err(ApiError::NotFound(format!(
                "no application action {other}: use sync, refresh, suspend, resume or rollback"
            )));
        }
    };
    let api: Api<GitOpsConfig> = Api::namespaced(state.client.clone(), &ns);
    api.patch(&name, &PatchParams::default(), &Patch::Merge(&patch))
        .await
        .map_err(ApiError::kube(format!("{action} of application {ns}/{name}")))?;
    Ok(Json(
        json!({"message": format!("application {ns}/{name}: {message}")}),
    ))
}

/// The time of a request, as the CLI writes it into annotations.
pub(crate) fn now() -> String {
    humantime::format_rfc3339_millis(std::time::SystemTime::now()).to_string()
}

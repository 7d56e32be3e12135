//! `/api/v1/…/pipelines`: environments and promotion. Pipelines are read from the API server (they are few),
//! one Pipeline shows its stages (release, health, gates, what waits and why, history), and the actions of
//! `tack env` (promote, approve, rollback) record the same requests.

use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use kube::ResourceExt;
use kube::api::{Api, ListParams, Patch, PatchParams};
use serde::Deserialize;
use serde_json::{Value, json};
use tack_model::Pipeline;
use tack_promotion::request;

use crate::applications::visible;
use crate::auth::{Access, Caller};
use crate::view::ListQuery;
use crate::{ApiError, ApiState, error};

const GROUP: &str = "gitops.tack.dev";
const RESOURCE: &str = "pipelines";

fn summary(p: &Pipeline) -> Value {
    let status = p.status.clone().unwrap_or_default();
    let stages: Vec<Value> = p
        .spec
        .stages
        .iter()
        .map(|s| {
            let st = status.stages.iter().find(|x| x.name == s.name);
            json!({
                "name": s.name,
                "application": s.application.name,
                "release": st.and_then(|x| x.release.clone()),
                "health": st.and_then(|x| x.health.clone()),
                "sync": st.and_then(|x| x.sync.clone()),
                "verified": st.is_some_and(|x| x.verified),
                "pending": st.and_then(|x| x.pending.clone()),
            })
        })
        .collect();
    let ready = status.conditions.iter().find(|c| c.type_ == "Ready");
    json!({
        "namespace": p.namespace(),
        "name": p.name_any(),
        "summary": status.summary,
        "ready": ready.map(|c| c.status.clone()),
        "message": ready.map(|c| c.message.clone()),
        "stages": stages,
    })
}

/// `GET /api/v1/pipelines?namespace=`
pub async fn list(
    State(state): State<Arc<ApiState>>,
    caller: Caller,
    Query(q): Query<ListQuery>,
) -> Result<Json<Value>, ApiError> {
    let api: Api<Pipeline> = match q.namespace.as_deref() {
        Some(ns) => Api::namespaced(state.client.clone(), ns),
        None => Api::all(state.client.clone()),
    };
    let items: Vec<Arc<Pipeline>> = api
        .list(&ListParams::default())
        .await
        .map_err(ApiError::kube(
            "listing Pipelines (is the Pipeline CRD installed? `tack install`)",
        ))?
        .items
        .into_iter()
        .map(Arc::new)
        .collect();
    let mut items = visible(&state, &caller, q.namespace.as_deref(), items, GROUP, RESOURCE).await?;
    items.sort_by_key(|p| (p.namespace(), p.name_any()));
    let items: Vec<Value> = items.iter().map(|p| summary(p)).collect();
    Ok(Json(json!({"items": items, "total": items.len()})))
}

/// `GET /api/v1/namespaces/{ns}/pipelines/{name}`: the summary, the spec and the full status (gates with their
/// evidence, history).
pub async fn get_one(
    State(state): State<Arc<ApiState>>,
    caller: Caller,
    Path((ns, name)): Path<(String, String)>,
) -> Result<Json<Value>, ApiError> {
    let p = read(&state, &caller, &ns, &name).await?;
    Ok(Json(
        json!({"summary": summary(&p), "spec": p.spec, "status": p.status}),
    ))
}

async fn read(state: &ApiState, caller: &Caller, ns: &str, name: &str) -> Result<Pipeline, ApiError> {
    let access = Access {
        verb: "get",
        group: GROUP,
        resource: RESOURCE,
        namespace: Some(ns),
        name: Some(name),
    };
    state.auth.require(caller, &access).await?;
    Api::<Pipeline>::namespaced(state.client.clone(), ns)
        .get_opt(name)
        .await
        .map_err(ApiError::kube(format!("reading pipeline {ns}/{name}")))?
        .ok_or_else(|| ApiError::NotFound(format!("pipeline {ns}/{name} not found")))
}

/// The body of the actions.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ActionBody {
    stage: String,
    release: Option<String>,
}

/// `POST /api/v1/namespaces/{ns}/pipelines/{name}/{promote|approve|rollback}` with `{"stage": S, "release": R}`
/// (`release` optional: as `tack env`'s defaults).
pub async fn act(
    State(state): State<Arc<ApiState>>,
    caller: Caller,
    Path((ns, name, action)): Path<(String, String, String)>,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    let body: ActionBody = error::action_body(&body, &action, r#"{"stage": "e2e", "release": "…"}"#, None)?;
    let access = Access {
        verb: "patch",
        group: GROUP,
        resource: RESOURCE,
        namespace: Some(&ns),
        name: Some(&name),
    };
    state.auth.require(&caller, &access).await?;
    let p = read(&state, &caller, &ns, &name).await?;
    let made = match action.as_str() {
        "promote" => request::promote(&p, &body.stage, body.release),
        "approve" => request::approve(&p, &body.stage, body.release),
        "rollback" => request::rollback(&p, &body.stage, body.release),
        other => {
            return Err(ApiError::NotFound(format!(
                "no pipeline action {other}: use promote, approve or rollback"
            )));
        }
    };
    let r = made.map_err(|e| ApiError::BadRequest(format!("pipeline {ns}/{name}: {e} (as \"release\")")))?;
    Api::<Pipeline>::namespaced(state.client.clone(), &ns)
        .patch(&name, &PatchParams::default(), &Patch::Merge(&r.patch()))
        .await
        .map_err(ApiError::kube(format!("{action} on pipeline {ns}/{name}")))?;
    Ok(Json(json!({
        "message": format!("pipeline {ns}/{name}: {action} of {} at {} requested; the controller writes the Git commit", r.release, r.stage)
    })))
}

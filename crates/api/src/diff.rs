//! `GET /api/v1/namespaces/{ns}/applications/{name}/diff`: what a sync would change, computed as the controller
//! computes it ([`tack_gitops::preview`]): the same fetch, render and tenant checks, compared with the live
//! objects. Each object's diff carries every line, so the page folds unchanged runs and opens them on demand.
//! Secret values are masked before they leave the server; an object of a kind the caller may not `get` in its
//! namespace is listed without its diff.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, State};
use serde::Serialize;
use serde_json::{Value, json};
use tack_apply::DiffEntry;

use crate::auth::{Access, Caller};
use crate::{ApiError, ApiState};

/// What a sync would do to one object.
#[derive(Clone, Copy, Debug, Serialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Change {
    /// Git declares it; the cluster does not have it.
    Create,
    /// Both have it and they differ.
    Update,
    /// The application managed it and Git no longer declares it (pruned by a sync with prune).
    Delete,
}

/// Whether `entry` creates, updates or deletes its object, read from its unified diff.
pub fn change_of(entry: &DiffEntry) -> Change {
    if entry.origin.is_none() {
        return Change::Delete;
    }
    let body = entry
        .text
        .lines()
        .filter(|l| !l.starts_with("---") && !l.starts_with("+++") && !l.starts_with("@@"));
    let (mut removed, mut kept) = (false, false);
    for line in body {
        match line.as_bytes().first() {
            Some(b'-') => removed = true,
            Some(b' ') => kept = true,
            _ => {}
        }
    }
    if removed || kept {
        Change::Update
    } else {
        Change::Create
    }
}

/// The diff lines of an entry without its `---`/`+++` header (hunk headers kept).
fn body(text: &str) -> Vec<&str> {
    text.lines()
        .skip_while(|l| l.starts_with("---") || l.starts_with("+++"))
        .collect()
}

/// The handler.
pub async fn diff(
    State(state): State<Arc<ApiState>>,
    caller: Caller,
    Path((ns, name)): Path<(String, String)>,
) -> Result<Json<Value>, ApiError> {
    let app = crate::applications::cached(&state, &caller, &ns, &name).await?;
    let preview = match tack_gitops::preview::preview(&app, &state.preview).await {
        Ok(p) => p,
        Err(e) => {
            return Ok(Json(json!({
                "revision": e.revision,
                "error": {"reason": e.error.reason(), "message": e.error.to_string()},
                "objects": [],
            })));
        }
    };
    let mut objects = Vec::with_capacity(preview.report.entries.len());
    for entry in &preview.report.entries {
        let id = &entry.id;
        let mut object = json!({
            "group": id.group,
            "kind": id.kind,
            "name": id.name,
            "change": change_of(entry),
        });
        if !id.namespace.is_empty() {
            object["namespace"] = json!(id.namespace);
        }
        if let Some(origin) = &entry.origin {
            object["origin"] = json!(origin.to_string());
        }
        match readable(&state, &caller, entry).await? {
            None => object["lines"] = json!(body(&entry.text)),
            Some(refusal) => object["hidden"] = json!(refusal),
        }
        objects.push(object);
    }
    Ok(Json(json!({
        "revision": preview.revision,
        "engine": preview.engine,
        "compared": preview.report.compared,
        "objects": objects,
    })))
}

/// `None` when `caller` may see the object's content (may `get` its kind in its namespace), else why not.
async fn readable(state: &ApiState, caller: &Caller, entry: &DiffEntry) -> Result<Option<String>, ApiError> {
    let Caller::User(user) = caller else {
        return Ok(None);
    };
    let id = &entry.id;
    let kind = state
        .discovery
        .resolve_group_kind(&id.group, &id.kind)
        .await
        .map_err(|e| ApiError::Unavailable(format!("discovering the resource of {}: {e}", id.kind)))?;
    // A kind the cluster no longer serves has no live object to show: the diff is Git's side only.
    let Some(kind) = kind else {
        return Ok(None);
    };
    let access = Access {
        verb: "get",
        group: &id.group,
        resource: &kind.resource.plural,
        namespace: (!id.namespace.is_empty()).then_some(id.namespace.as_str()),
        name: None,
    };
    if state.auth.allowed(caller, &access).await? {
        return Ok(None);
    }
    Ok(Some(access.refusal(&user.username)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use tack_plan::ObjectId;
    use tack_render::Origin;

    fn entry(text: &str, origin: bool) -> DiffEntry {
        DiffEntry {
            id: ObjectId::new("", "ConfigMap", "ns", "a"),
            origin: origin.then(|| Origin {
                file: "app/cm.yaml".into(),
                line: 1,
            }),
            text: text.into(),
        }
    }

    #[test]
    fn changes_are_read_from_the_diff() {
        let create = "--- live/x\n+++ desired/x\n@@ -0,0 +1,2 @@\n+a: 1\n+b: 2\n";
        let update = "--- live/x\n+++ desired/x\n@@ -1,2 +1,2 @@\n a: 1\n-b: 2\n+b: 3\n";
        let delete = "--- live/x\n+++ desired/x\n@@ -1,1 +0,0 @@\n-a: 1\n";
        assert_eq!(change_of(&entry(create, true)), Change::Create);
        assert_eq!(change_of(&entry(update, true)), Change::Update);
        assert_eq!(change_of(&entry(delete, false)), Change::Delete);
        assert_eq!(body(update), vec!["@@ -1,2 +1,2 @@", " a: 1", "-b: 2", "+b: 3"]);
    }
}

//! User commands on a Rollout, as Argo Rollouts' kubectl plugin performs them: `promote [--full]`, `abort`,
//! `retry`, `pause`, `resume` edit `spec.paused` and the status (see [`tack_rollout::commands`]); `undo` puts an
//! older ReplicaSet's pod template back into the Rollout; `set-image` changes one container's image. The CLI and
//! the tests call these functions; the controller acts on the result.
//!
//! Status edits are merge patches guarded by `resourceVersion`: if the controller wrote in between, the command
//! reads the Rollout again and retries.

use k8s_openapi::api::apps::v1::ReplicaSet;
use kube::ResourceExt;
use kube::api::{Api, DynamicObject, ListParams, Patch};
use serde_json::{Map, Value, json};
use tack_rollout::POD_TEMPLATE_HASH_LABEL;
use tack_rollout::spec::Rollout;

use super::observe::owned_by;
use super::replicasets::{hash, revision};
use super::{analysis_run_resource, merge_params, rollouts};

/// Why a command failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CommandError {
    /// No such Rollout.
    #[error("Rollout {name} not found in namespace {namespace}")]
    NotFound {
        /// Namespace.
        namespace: String,
        /// Name.
        name: String,
    },
    /// The command does not apply to this Rollout.
    #[error("Rollout {name}: {message}")]
    Invalid {
        /// Name.
        name: String,
        /// Why, and what to do.
        message: String,
    },
    /// An API call failed.
    #[error("{what}: {source}")]
    Kube {
        /// The call.
        what: String,
        /// The API error.
        #[source]
        source: kube::Error,
    },
}

fn kube_err(what: String) -> impl FnOnce(kube::Error) -> CommandError {
    move |source| CommandError::Kube { what, source }
}

async fn read(
    api: &Api<DynamicObject>,
    namespace: &str,
    name: &str,
) -> Result<(DynamicObject, Rollout), CommandError> {
    let obj = api
        .get_opt(name)
        .await
        .map_err(kube_err(format!("reading Rollout {namespace}/{name}")))?
        .ok_or_else(|| CommandError::NotFound {
            namespace: namespace.to_string(),
            name: name.to_string(),
        })?;
    let rollout = serde_json::to_value(&obj)
        .and_then(serde_json::from_value::<Rollout>)
        .map_err(|e| CommandError::Invalid {
            name: name.to_string(),
            message: format!("cannot be read as an argoproj.io/v1alpha1 Rollout: {e}"),
        })?;
    Ok((obj, rollout))
}

/// Applies `edit` to the Rollout's spec and status and writes what changed (status first, guarded by
/// `resourceVersion`; retried on conflict).
async fn edit(
    client: &kube::Client,
    namespace: &str,
    name: &str,
    edit: impl Fn(&mut Rollout),
) -> Result<Rollout, CommandError> {
    let api = rollouts(client, namespace);
    let mut attempt = 0;
    loop {
        attempt += 1;
        let (obj, before) = read(&api, namespace, name).await?;
        let mut after = before.clone();
        edit(&mut after);
        if after.status != before.status {
            let status = serde_json::to_value(&after.status).unwrap_or(Value::Null);
            let patch =
                json!({"metadata": {"resourceVersion": obj.metadata.resource_version}, "status": status});
            match api
                .patch_status(name, &merge_params(), &Patch::Merge(&patch))
                .await
            {
                Ok(_) => {}
                Err(kube::Error::Api(s)) if s.code == 409 && attempt < 10 => continue,
                Err(e) => {
                    return Err(CommandError::Kube {
                        what: format!("writing the status of Rollout {namespace}/{name}"),
                        source: e,
                    });
                }
            }
        }
        if after.spec.paused != before.spec.paused {
            api.patch(
                name,
                &merge_params(),
                &Patch::Merge(json!({"spec": {"paused": after.spec.paused}})),
            )
            .await
            .map_err(kube_err(format!("updating Rollout {namespace}/{name}")))?;
        }
        return Ok(after);
    }
}

/// `promote`: ends the current pause, or skips the current step when nothing is paused.
pub async fn promote(client: &kube::Client, namespace: &str, name: &str) -> Result<Rollout, CommandError> {
    edit(client, namespace, name, tack_rollout::commands::promote).await
}

/// `promote --full`: skips all remaining steps and analyses.
pub async fn promote_full(
    client: &kube::Client,
    namespace: &str,
    name: &str,
) -> Result<Rollout, CommandError> {
    edit(client, namespace, name, tack_rollout::commands::promote_full).await
}

/// `abort`: all traffic back to stable, the update stopped until `retry` or a new template.
pub async fn abort(client: &kube::Client, namespace: &str, name: &str) -> Result<Rollout, CommandError> {
    edit(client, namespace, name, tack_rollout::commands::abort).await
}

/// `retry`: starts an aborted update again from the first step.
pub async fn retry(client: &kube::Client, namespace: &str, name: &str) -> Result<Rollout, CommandError> {
    edit(client, namespace, name, tack_rollout::commands::retry).await
}

/// `pause`: `spec.paused: true`.
pub async fn pause(client: &kube::Client, namespace: &str, name: &str) -> Result<Rollout, CommandError> {
    edit(client, namespace, name, tack_rollout::commands::pause).await
}

/// `resume`: `spec.paused: false`.
pub async fn resume(client: &kube::Client, namespace: &str, name: &str) -> Result<Rollout, CommandError> {
    edit(client, namespace, name, tack_rollout::commands::resume).await
}

/// A JSON merge patch turning `from` into `to` (keys missing in `to` become `null`).
pub fn merge_diff(from: &Value, to: &Value) -> Value {
    match (from, to) {
        (Value::Object(f), Value::Object(t)) => {
            let mut out = Map::new();
            for (k, tv) in t {
                match f.get(k) {
                    Some(fv) if fv == tv => {}
                    Some(fv) if fv.is_object() && tv.is_object() => {
                        out.insert(k.clone(), merge_diff(fv, tv));
                    }
                    _ => {
                        out.insert(k.clone(), tv.clone());
                    }
                }
            }
            for k in f.keys() {
                if !t.contains_key(k) {
                    out.insert(k.clone(), Value::Null);
                }
            }
            Value::Object(out)
        }
        _ => to.clone(),
    }
}

async fn set_template(
    api: &Api<DynamicObject>,
    obj: &DynamicObject,
    namespace: &str,
    template: &Value,
) -> Result<(), CommandError> {
    let name = obj.name_any();
    let current = obj.data.pointer("/spec/template").cloned().unwrap_or(json!({}));
    let patch = json!({
        "metadata": {"resourceVersion": obj.metadata.resource_version},
        "spec": {"template": merge_diff(&current, template)},
    });
    api.patch(&name, &merge_params(), &Patch::Merge(&patch))
        .await
        .map_err(kube_err(format!(
            "updating the pod template of Rollout {namespace}/{name}"
        )))?;
    Ok(())
}

/// Runs `f` again (reading the Rollout afresh) while it fails with a conflict, up to 10 times.
async fn retry_conflicts<T, Fut>(mut f: impl FnMut() -> Fut) -> Result<T, CommandError>
where
    Fut: std::future::Future<Output = Result<T, CommandError>>,
{
    let mut attempt = 0;
    loop {
        attempt += 1;
        match f().await {
            Err(CommandError::Kube {
                source: kube::Error::Api(s),
                ..
            }) if s.code == 409 && attempt < 10 => continue,
            other => return other,
        }
    }
}

/// `set-image CONTAINER=IMAGE`: changes the image of one container (or init container) of the pod template.
pub async fn set_image(
    client: &kube::Client,
    namespace: &str,
    name: &str,
    container: &str,
    image: &str,
) -> Result<(), CommandError> {
    retry_conflicts(|| set_image_once(client, namespace, name, container, image)).await
}

async fn set_image_once(
    client: &kube::Client,
    namespace: &str,
    name: &str,
    container: &str,
    image: &str,
) -> Result<(), CommandError> {
    let api = rollouts(client, namespace);
    let (obj, rollout) = read(&api, namespace, name).await?;
    let Some(mut template) = rollout.spec.template.clone() else {
        return Err(CommandError::Invalid {
            name: name.to_string(),
            message: "has no spec.template (it uses workloadRef): set the image on the referenced Deployment"
                .into(),
        });
    };
    let mut found = false;
    for list in ["containers", "initContainers"] {
        if let Some(cs) = template
            .pointer_mut(&format!("/spec/{list}"))
            .and_then(Value::as_array_mut)
        {
            for c in cs {
                if c.get("name").and_then(Value::as_str) == Some(container) {
                    c["image"] = json!(image);
                    found = true;
                }
            }
        }
    }
    if !found {
        return Err(CommandError::Invalid {
            name: name.to_string(),
            message: format!("has no container named {container:?} in spec.template"),
        });
    }
    set_template(&api, &obj, namespace, &template).await
}

/// `undo [--to-revision N]`: the pod template of revision `N` (default: the revision before the current one)
/// becomes the Rollout's template again, which starts an update to it. Returns the revision rolled back to.
pub async fn undo(
    client: &kube::Client,
    namespace: &str,
    name: &str,
    to_revision: Option<i64>,
) -> Result<i64, CommandError> {
    retry_conflicts(|| undo_once(client, namespace, name, to_revision)).await
}

async fn undo_once(
    client: &kube::Client,
    namespace: &str,
    name: &str,
    to_revision: Option<i64>,
) -> Result<i64, CommandError> {
    let api = rollouts(client, namespace);
    let (obj, rollout) = read(&api, namespace, name).await?;
    if rollout.spec.template.is_none() {
        return Err(CommandError::Invalid {
            name: name.to_string(),
            message: "uses workloadRef: roll back the referenced Deployment's template instead".into(),
        });
    }
    let uid = obj.metadata.uid.clone().unwrap_or_default();
    let owned = owned_replica_sets(client, namespace, &uid).await?;
    let current = rollout
        .spec
        .template
        .as_ref()
        .map(tack_rollout::pod_template_hash)
        .unwrap_or_default();
    let mut by_rev: Vec<&ReplicaSet> = owned
        .iter()
        .filter(|rs| hash(rs) != Some(current.as_str()))
        .collect();
    by_rev.sort_by_key(|rs| std::cmp::Reverse(revision(rs)));
    let target = match to_revision {
        Some(n) => by_rev.into_iter().find(|rs| revision(rs) == n).ok_or_else(|| CommandError::Invalid {
            name: name.to_string(),
            message: format!("has no ReplicaSet of revision {n} other than the current one (see `tack rollout get {name}`)"),
        })?,
        None => by_rev.into_iter().next().ok_or_else(|| CommandError::Invalid {
            name: name.to_string(),
            message: "has no previous revision to go back to".into(),
        })?,
    };
    let rev = revision(target);
    let recorded = target
        .metadata
        .annotations
        .as_ref()
        .and_then(|a| a.get(super::TEMPLATE_ANNOTATION))
        .and_then(|t| serde_json::from_str::<Value>(t).ok());
    let mut template = recorded.unwrap_or_else(|| {
        target
            .spec
            .as_ref()
            .and_then(|s| s.template.as_ref())
            .and_then(|t| serde_json::to_value(t).ok())
            .unwrap_or(Value::Null)
    });
    if let Some(labels) = template
        .pointer_mut("/metadata/labels")
        .and_then(Value::as_object_mut)
    {
        labels.remove(POD_TEMPLATE_HASH_LABEL);
    }
    if let Some(meta) = template.get_mut("metadata").and_then(Value::as_object_mut) {
        meta.remove("creationTimestamp");
    }
    set_template(&api, &obj, namespace, &template).await?;
    Ok(rev)
}

/// ReplicaSets owned by the Rollout with UID `uid`.
pub async fn owned_replica_sets(
    client: &kube::Client,
    namespace: &str,
    uid: &str,
) -> Result<Vec<ReplicaSet>, CommandError> {
    let api: Api<ReplicaSet> = Api::namespaced(client.clone(), namespace);
    Ok(api
        .list(&ListParams::default().labels(POD_TEMPLATE_HASH_LABEL))
        .await
        .map_err(kube_err(format!("listing ReplicaSets in {namespace}")))?
        .items
        .into_iter()
        .filter(|rs| owned_by(rs.metadata.owner_references.as_ref(), uid))
        .collect())
}

/// A Rollout with its ReplicaSets and AnalysisRuns, for display.
#[derive(Debug, Clone)]
pub struct RolloutInfo {
    /// The Rollout object as JSON.
    pub raw: Value,
    /// The Rollout, typed.
    pub rollout: Rollout,
    /// Its ReplicaSets, newest revision first.
    pub replica_sets: Vec<ReplicaSet>,
    /// Its AnalysisRuns as JSON, oldest first.
    pub analysis_runs: Vec<Value>,
    /// Its Experiments (of `experiment` steps) as JSON, oldest first.
    pub experiments: Vec<Value>,
}

/// Reads a Rollout with its ReplicaSets, AnalysisRuns and Experiments.
pub async fn inspect(
    client: &kube::Client,
    namespace: &str,
    name: &str,
) -> Result<RolloutInfo, CommandError> {
    let api = rollouts(client, namespace);
    let (obj, rollout) = read(&api, namespace, name).await?;
    let uid = obj.metadata.uid.clone().unwrap_or_default();
    let mut replica_sets = owned_replica_sets(client, namespace, &uid).await?;
    replica_sets.sort_by_key(|rs| std::cmp::Reverse(revision(rs)));
    let runs_api: Api<DynamicObject> =
        Api::namespaced_with(client.clone(), namespace, &analysis_run_resource());
    let mut runs: Vec<DynamicObject> = match runs_api.list(&ListParams::default()).await {
        Ok(l) => l.items,
        // No AnalysisRun CRD installed: nothing to show.
        Err(kube::Error::Api(s)) if s.code == 404 => Vec::new(),
        Err(e) => {
            return Err(CommandError::Kube {
                what: format!("listing AnalysisRuns in {namespace}"),
                source: e,
            });
        }
    };
    runs.retain(|r| owned_by(r.metadata.owner_references.as_ref(), &uid));
    runs.sort_by(|a, b| a.metadata.creation_timestamp.cmp(&b.metadata.creation_timestamp));
    let ex_api: Api<DynamicObject> =
        Api::namespaced_with(client.clone(), namespace, &crate::experiment::resource());
    let mut experiments: Vec<DynamicObject> = match ex_api.list(&ListParams::default()).await {
        Ok(l) => l.items,
        // An API server without the Experiment CRD yet: no Experiments.
        Err(kube::Error::Api(s)) if s.code == 404 => Vec::new(),
        Err(e) => {
            return Err(CommandError::Kube {
                what: format!("listing Experiments in {namespace}"),
                source: e,
            });
        }
    };
    experiments.retain(|x| owned_by(x.metadata.owner_references.as_ref(), &uid));
    experiments.sort_by(|a, b| a.metadata.creation_timestamp.cmp(&b.metadata.creation_timestamp));
    Ok(RolloutInfo {
        raw: serde_json::to_value(&obj).unwrap_or(Value::Null),
        rollout,
        replica_sets,
        analysis_runs: runs.iter().filter_map(|r| serde_json::to_value(r).ok()).collect(),
        experiments: experiments
            .iter()
            .filter_map(|x| serde_json::to_value(x).ok())
            .collect(),
    })
}

/// The Rollouts of a namespace (all namespaces with `None`), as JSON.
pub async fn list(client: &kube::Client, namespace: Option<&str>) -> Result<Vec<Value>, CommandError> {
    let api: Api<DynamicObject> = match namespace {
        Some(ns) => rollouts(client, ns),
        None => Api::all_with(client.clone(), &super::rollout_resource()),
    };
    let items = api
        .list(&ListParams::default())
        .await
        .map_err(kube_err("listing Rollouts".to_string()))?
        .items;
    Ok(items
        .iter()
        .filter_map(|r| serde_json::to_value(r).ok())
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merge_diff_turns_one_into_the_other() {
        let from =
            json!({"metadata": {"labels": {"a": "1", "b": "2"}}, "spec": {"containers": [{"image": "x"}]}});
        let to = json!({"metadata": {"labels": {"a": "1"}}, "spec": {"containers": [{"image": "y"}]}});
        let d = merge_diff(&from, &to);
        assert_eq!(
            d,
            json!({"metadata": {"labels": {"b": null}}, "spec": {"containers": [{"image": "y"}]}})
        );
    }
}

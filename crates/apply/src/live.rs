//! Reading the live objects of a desired set: a LIST per (kind, namespace) when many objects share it,
//! GETs otherwise, all concurrently (bounded).

use std::collections::{BTreeMap, HashMap, HashSet};

use futures::{StreamExt, TryStreamExt, stream};
use serde_json::Value;
use tack_cluster::{Cluster, ClusterError, Kind};
use tack_plan::ObjectId;

/// From this many objects of one kind in one namespace on, one LIST is cheaper than GETs.
const LIST_THRESHOLD: usize = 8;

/// Whether a live object may be dropped as soon as it is read (it equals what Git wants): only its id is kept.
pub(crate) type LetGo<'a> = &'a (dyn Fn(&ObjectId, &Value) -> bool + Send + Sync);

/// The live objects read.
#[derive(Debug, Default)]
pub(crate) struct Live {
    /// The objects kept (absent from the cluster, or of kinds it does not serve yet: not here).
    pub objects: HashMap<ObjectId, Value>,
    /// The objects found that the caller's [`LetGo`] let go.
    pub dropped: HashSet<ObjectId>,
}

/// The live state of `wanted` (objects absent from the cluster, or of kinds it does not serve yet, are
/// absent from the map).
pub(crate) async fn fetch(
    cluster: &Cluster,
    wanted: &[(ObjectId, Option<Kind>)],
    concurrency: usize,
) -> Result<HashMap<ObjectId, Value>, ClusterError> {
    Ok(fetch_dropping(cluster, wanted, concurrency, &|_, _| false)
        .await?
        .objects)
}

/// [`fetch`], letting go of each object for which `drop` says so as soon as it is read (page by page for
/// LISTs): memory proportional to what is kept, not to what is read.
pub(crate) async fn fetch_dropping(
    cluster: &Cluster,
    wanted: &[(ObjectId, Option<Kind>)],
    concurrency: usize,
    drop: LetGo<'_>,
) -> Result<Live, ClusterError> {
    let mut groups: BTreeMap<(String, String, String), (Kind, Vec<ObjectId>)> = BTreeMap::new();
    for (id, kind) in wanted {
        let Some(kind) = kind else { continue };
        groups
            .entry((id.group.clone(), id.kind.clone(), id.namespace.clone()))
            .or_insert_with(|| (kind.clone(), Vec::new()))
            .1
            .push(id.clone());
    }
    let mut jobs: Vec<Job> = Vec::new();
    for ((_, _, ns), (kind, ids)) in groups {
        if ids.len() >= LIST_THRESHOLD {
            jobs.push(Job::List {
                kind,
                namespace: ns,
                ids,
            });
        } else {
            for id in ids {
                jobs.push(Job::Get {
                    kind: kind.clone(),
                    id,
                });
            }
        }
    }
    let found: Vec<Live> = stream::iter(jobs)
        .map(|job| async move {
            let mut live = Live::default();
            let mut keep = |id: ObjectId, object: Value| {
                if drop(&id, &object) {
                    live.dropped.insert(id);
                } else {
                    live.objects.insert(id, without_managed_fields(object));
                }
            };
            match job {
                Job::Get { kind, id } => {
                    if let Some(v) = cluster.get(&kind, &id.namespace, &id.name).await? {
                        keep(id, v);
                    }
                }
                Job::List { kind, namespace, ids } => {
                    let wanted: HashSet<&str> = ids.iter().map(|i| i.name.as_str()).collect();
                    let ns = (!namespace.is_empty()).then_some(namespace.as_str());
                    // Items of a list carry no apiVersion/kind: take them from the request.
                    let api_version = kind.resource.api_version.clone();
                    cluster
                        .list_each(&kind, ns, |mut o| {
                            let Some(name) = o.pointer("/metadata/name").and_then(Value::as_str) else {
                                return;
                            };
                            if !wanted.contains(name) {
                                return;
                            }
                            let id =
                                ObjectId::new(&kind.resource.group, &kind.resource.kind, &namespace, name);
                            if let Some(obj) = o.as_object_mut() {
                                obj.insert("apiVersion".into(), Value::String(api_version.clone()));
                                obj.insert("kind".into(), Value::String(kind.resource.kind.clone()));
                                keep(id, o);
                            }
                        })
                        .await?;
                }
            }
            Ok::<_, ClusterError>(live)
        })
        .buffer_unordered(concurrency.max(1))
        .try_collect()
        .await?;
    let mut out = Live::default();
    for live in found {
        out.objects.extend(live.objects);
        out.dropped.extend(live.dropped);
    }
    Ok(out)
}

/// The live state of `objects` (id and apiVersion), read as [`fetch`] does: one LIST per kind and namespace when
/// many objects share them. Objects absent, or of kinds the cluster does not serve, are absent from the map.
pub async fn read_live(
    cluster: &Cluster,
    objects: &[(ObjectId, String)],
    concurrency: usize,
) -> Result<HashMap<ObjectId, Value>, ClusterError> {
    let mut kinds: HashMap<(String, String), Option<Kind>> = HashMap::new();
    let mut wanted = Vec::with_capacity(objects.len());
    for (id, api_version) in objects {
        let key = (api_version.clone(), id.kind.clone());
        if !kinds.contains_key(&key) {
            let kind = cluster.resolve(api_version, &id.kind).await?;
            kinds.insert(key.clone(), kind);
        }
        wanted.push((id.clone(), kinds.get(&key).cloned().flatten()));
    }
    fetch(cluster, &wanted, concurrency).await
}

/// `object` without `metadata.managedFields`: nothing that reads live objects here looks at them (comparisons
/// leave them out, health has no use for them), and they are often the largest part of a small object, so a
/// large application's live state takes much less memory without them.
fn without_managed_fields(mut object: Value) -> Value {
    if let Some(meta) = object.get_mut("metadata").and_then(Value::as_object_mut) {
        meta.remove("managedFields");
    }
    object
}

enum Job {
    Get {
        kind: Kind,
        id: ObjectId,
    },
    List {
        kind: Kind,
        namespace: String,
        ids: Vec<ObjectId>,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn managed_fields_are_dropped_and_nothing_else() {
        let live = serde_json::json!({"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "c", "annotations": {"a": "b"},
                         "managedFields": [{"manager": "tack", "operation": "Apply"}]},
            "data": {"k": "v"}});
        let kept = without_managed_fields(live.clone());
        let mut expected = live;
        if let Some(m) = expected["metadata"].as_object_mut() {
            m.remove("managedFields");
        }
        assert_eq!(kept, expected);
        assert_eq!(
            without_managed_fields(serde_json::json!("x")),
            serde_json::json!("x")
        );
    }
}

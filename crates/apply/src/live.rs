//! Reading the live objects of a desired set: a LIST per (kind, namespace) when many objects share it,
//! GETs otherwise, all concurrently (bounded).

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use futures::{StreamExt, TryStreamExt, stream};
use serde_json::Value;
use tack_cluster::{Cluster, ClusterError, Kind};
use tack_plan::ObjectId;

/// From this many objects of one kind in one namespace on, one LIST is cheaper than GETs.
const LIST_THRESHOLD: usize = 8;

/// Whether a live object may be dropped as soon as it is read (it equals what Git wants): only its position in
/// the wanted list is kept.
pub(crate) type LetGo<'a> = &'a (dyn Fn(usize, &Value) -> bool + Send + Sync);

/// An object to read: its id, and its kind (`None`: not served by the cluster, or not to be read).
pub(crate) type Wanted<'a> = (&'a ObjectId, Option<Arc<Kind>>);

/// Group, kind and namespace of objects read together.
type GroupKey<'a> = (&'a str, &'a str, &'a str);

/// The live objects read.
#[derive(Debug, Default)]
pub(crate) struct Live {
    /// The objects kept (absent from the cluster, or of kinds it does not serve yet: not here).
    pub objects: HashMap<ObjectId, Value>,
    /// The positions (in the wanted list) of the objects found that the caller's [`LetGo`] let go.
    pub dropped: Vec<usize>,
}

/// The live state of `wanted` (objects absent from the cluster, or of kinds it does not serve yet, are
/// absent from the map).
pub(crate) async fn fetch(
    cluster: &Cluster,
    wanted: &[Wanted<'_>],
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
    wanted: &[Wanted<'_>],
    concurrency: usize,
    drop: LetGo<'_>,
) -> Result<Live, ClusterError> {
    // Positions in `wanted`, by group, kind and namespace.
    let mut groups: BTreeMap<GroupKey<'_>, (&Arc<Kind>, Vec<usize>)> = BTreeMap::new();
    for (i, (id, kind)) in wanted.iter().enumerate() {
        let Some(kind) = kind else { continue };
        groups
            .entry((&id.group, &id.kind, &id.namespace))
            .or_insert_with(|| (kind, Vec::new()))
            .1
            .push(i);
    }
    let mut jobs: Vec<Job> = Vec::new();
    for ((_, _, ns), (kind, at)) in groups {
        if at.len() >= LIST_THRESHOLD {
            jobs.push(Job::List {
                kind: kind.clone(),
                namespace: ns.to_string(),
                at,
            });
        } else {
            for i in at {
                jobs.push(Job::Get {
                    kind: kind.clone(),
                    at: i,
                });
            }
        }
    }
    let found: Vec<Live> = stream::iter(jobs)
        .map(|job| read_job(cluster, wanted, job, drop))
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

/// Runs one job of [`fetch_dropping`].
async fn read_job<'a>(
    cluster: &'a Cluster,
    wanted: &'a [Wanted<'a>],
    job: Job,
    drop: LetGo<'a>,
) -> Result<Live, ClusterError> {
    let mut live = Live::default();
    let mut keep = |i: usize, object: Value| {
        if drop(i, &object) {
            live.dropped.push(i);
        } else {
            live.objects
                .insert(wanted[i].0.clone(), without_managed_fields(object));
        }
    };
    match job {
        Job::Get { kind, at } => {
            let id = wanted[at].0;
            if let Some(v) = cluster.get(&kind, &id.namespace, &id.name).await? {
                keep(at, v);
            }
        }
        Job::List { kind, namespace, at } => {
            let by_name: HashMap<&str, usize> = at.iter().map(|&i| (wanted[i].0.name.as_str(), i)).collect();
            let ns = (!namespace.is_empty()).then_some(namespace.as_str());
            // Items of a list carry no apiVersion/kind: take them from the request.
            let api_version = kind.resource.api_version.clone();
            cluster
                .list_each(&kind, ns, |mut o| {
                    let Some(name) = o.pointer("/metadata/name").and_then(Value::as_str) else {
                        return;
                    };
                    let Some(&i) = by_name.get(name) else {
                        return;
                    };
                    if let Some(obj) = o.as_object_mut() {
                        obj.insert("apiVersion".into(), Value::String(api_version.clone()));
                        obj.insert("kind".into(), Value::String(kind.resource.kind.clone()));
                        keep(i, o);
                    }
                })
                .await?;
        }
    }
    Ok(live)
}

/// The live state of `objects` (id and apiVersion), read as [`fetch`] does: one LIST per kind and namespace when
/// many objects share them. Objects absent, or of kinds the cluster does not serve, are absent from the map.
pub async fn read_live(
    cluster: &Cluster,
    objects: &[(ObjectId, String)],
    concurrency: usize,
) -> Result<HashMap<ObjectId, Value>, ClusterError> {
    let mut kinds: HashMap<(String, String), Option<Arc<Kind>>> = HashMap::new();
    for (id, api_version) in objects {
        let key = (api_version.clone(), id.kind.clone());
        if let std::collections::hash_map::Entry::Vacant(e) = kinds.entry(key) {
            let kind = cluster.resolve(api_version, &id.kind).await?;
            e.insert(kind.map(Arc::new));
        }
    }
    let wanted: Vec<Wanted<'_>> = objects
        .iter()
        .map(|(id, api_version)| {
            let kind = kinds
                .get(&(api_version.clone(), id.kind.clone()))
                .cloned()
                .flatten();
            (id, kind)
        })
        .collect();
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

/// A GET of one object, or a LIST of a kind in a namespace; `at`: positions in the wanted list.
enum Job {
    Get {
        kind: Arc<Kind>,
        at: usize,
    },
    List {
        kind: Arc<Kind>,
        namespace: String,
        at: Vec<usize>,
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

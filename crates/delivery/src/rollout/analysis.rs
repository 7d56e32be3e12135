//! AnalysisRuns created by the Rollout controller: the referenced AnalysisTemplates / ClusterAnalysisTemplates
//! merged into one run spec ([`tack_analysis::run::build_run_spec`]) with the Rollout's `args`, whose
//! `valueFrom.podTemplateHashValue` (`Stable` / `Latest`) and `valueFrom.fieldRef` (a path into the Rollout) are
//! resolved here. The AnalysisRun controller measures the run and writes its status; the Rollout controller reads
//! `status.phase` and `status.message`.

use kube::api::{Api, DynamicObject, Patch, PostParams};
use serde_json::{Value, json};
use tack_analysis::spec::{AnalysisRunSpec, AnalysisTemplate, Argument};
use tack_rollout::spec::{AnalysisRunArgument, AnalysisTemplateRef, Rollout, RolloutAnalysis};
use tack_rollout::{AnalysisKind, POD_TEMPLATE_HASH_LABEL};

use super::observe::kind_label;
use super::{
    Error, ROLLOUT_TYPE_LABEL, STEP_INDEX_LABEL, analysis_run_resource, analysis_template_resource,
    cluster_analysis_template_resource, merge_params,
};

/// Looks up a field of the Rollout by a Kubernetes field path: `metadata.name`, `spec.replicas`,
/// `metadata.labels['app']`, `metadata.annotations['x/y']`.
pub fn field_path(object: &Value, path: &str) -> Option<String> {
    let mut cur = object;
    let mut rest = path;
    while !rest.is_empty() {
        let (seg, tail) = match rest.find(['.', '[']) {
            Some(0) if rest.starts_with('[') => {
                let end = rest.find(']')?;
                let key = rest[1..end].trim_matches(|c| c == '\'' || c == '"');
                cur = cur.get(key)?;
                rest = rest[end + 1..].trim_start_matches('.');
                continue;
            }
            Some(i) => (&rest[..i], rest[i..].trim_start_matches('.')),
            None => (rest, ""),
        };
        cur = cur.get(seg)?;
        rest = tail;
    }
    match cur {
        Value::String(s) => Some(s.clone()),
        Value::Null => None,
        other => Some(other.to_string()),
    }
}

/// The Rollout's `args` as AnalysisRun arguments, with Rollout-side `valueFrom`s resolved.
pub fn resolve_rollout_args(
    rollout_json: &Value,
    rollout: &Rollout,
    args: &[AnalysisRunArgument],
    latest_hash: &str,
) -> Result<Vec<Argument>, String> {
    let stable = rollout.status.as_ref().and_then(|s| s.stable_rs.clone());
    args.iter()
        .map(|a| {
            let mut out = Argument {
                name: a.name.clone(),
                value: a.value.clone(),
                value_from: None,
            };
            if let Some(vf) = &a.value_from {
                if let Some(which) = vf.pod_template_hash_value.as_deref() {
                    out.value = Some(match which {
                        "Stable" => stable.clone().unwrap_or_else(|| latest_hash.to_string()),
                        "Latest" => latest_hash.to_string(),
                        other => {
                            return Err(format!(
                                "argument {:?}: podTemplateHashValue {other:?} is neither Stable nor Latest",
                                a.name
                            ));
                        }
                    });
                } else if let Some(path) = vf.field_ref.as_ref().map(|f| f.field_path.as_str()) {
                    out.value = Some(field_path(rollout_json, path).ok_or_else(|| {
                        format!("argument {:?}: field {path:?} of the Rollout is not set", a.name)
                    })?);
                } else {
                    out.value_from = Some(vf.clone());
                }
            }
            Ok(out)
        })
        .collect()
}

/// What one AnalysisRun is created from.
pub(crate) struct NewRun<'a> {
    pub(crate) name: &'a str,
    pub(crate) namespace: &'a str,
    pub(crate) rollout: &'a str,
    pub(crate) rollout_uid: &'a str,
    pub(crate) kind: AnalysisKind,
    pub(crate) hash: &'a str,
    pub(crate) revision: Option<&'a str>,
}

/// The AnalysisRun object (without spec).
pub(crate) fn run_object(n: &NewRun<'_>, spec: Value) -> Value {
    let mut labels = json!({
        POD_TEMPLATE_HASH_LABEL: n.hash,
        ROLLOUT_TYPE_LABEL: kind_label(n.kind),
    });
    if let AnalysisKind::Step(i) = n.kind {
        labels[STEP_INDEX_LABEL] = json!(i.to_string());
    }
    let mut meta = json!({
        "name": n.name,
        "namespace": n.namespace,
        "labels": labels,
        "ownerReferences": [tack_traffic::owner_reference(n.rollout, n.rollout_uid)],
    });
    if let Some(rev) = n.revision {
        meta["annotations"] = json!({super::REVISION_ANNOTATION: rev});
    }
    json!({
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "AnalysisRun",
        "metadata": meta,
        "spec": spec,
    })
}

/// Reads the referenced AnalysisTemplates (in `namespace`) and ClusterAnalysisTemplates; the error names a
/// missing or invalid one. Also used by the Pipeline controller's analysis gates.
pub async fn load_templates(
    client: &kube::Client,
    namespace: &str,
    refs: &[AnalysisTemplateRef],
) -> Result<Vec<AnalysisTemplate>, String> {
    let mut out = Vec::new();
    for r in refs {
        let (api, what): (Api<DynamicObject>, &str) = if r.cluster_scope {
            (
                Api::all_with(client.clone(), &cluster_analysis_template_resource()),
                "ClusterAnalysisTemplate",
            )
        } else {
            (
                Api::namespaced_with(client.clone(), namespace, &analysis_template_resource()),
                "AnalysisTemplate",
            )
        };
        let obj = api
            .get_opt(&r.template_name)
            .await
            .map_err(|e| format!("reading {what} {}: {e}", r.template_name))?
            .ok_or_else(|| format!("{what} {:?} not found", r.template_name))?;
        let value = serde_json::to_value(&obj).map_err(|e| e.to_string())?;
        out.push(serde_json::from_value(value).map_err(|e| format!("{what} {}: {e}", r.template_name))?);
    }
    Ok(out)
}

/// Creates the AnalysisRun (AlreadyExists is success). When the templates cannot be read or merged, the run is
/// created without metrics and marked `Error` with the reason, so the Rollout aborts and says why.
pub(crate) async fn create_run(
    client: &kube::Client,
    n: &NewRun<'_>,
    rollout_json: &Value,
    rollout: &Rollout,
    inputs: &RolloutAnalysis,
) -> Result<bool, Error> {
    let api: Api<DynamicObject> = Api::namespaced_with(client.clone(), n.namespace, &analysis_run_resource());
    if api
        .get_metadata_opt(n.name)
        .await
        .map_err(Error::kube(format!("reading AnalysisRun {}", n.name)))?
        .is_some()
    {
        return Ok(false);
    }
    let built = async {
        let passed = resolve_rollout_args(rollout_json, rollout, &inputs.args, n.hash)?;
        let tpls = load_templates(client, n.namespace, &inputs.templates).await?;
        let mut spec = tack_analysis::run::build_run_spec(&tpls, &passed).map_err(|e| e.to_string())?;
        add_rollout_options(&mut spec, inputs);
        Ok::<_, String>(spec)
    }
    .await;
    let (spec, failure) = match built {
        Ok(spec) => (
            serde_json::to_value(&spec).map_err(|e| Error::InvalidSpec {
                name: n.rollout.to_string(),
                message: e.to_string(),
            })?,
            None,
        ),
        Err(message) => (json!({"metrics": []}), Some(message)),
    };
    let obj: DynamicObject = serde_json::from_value(run_object(n, spec)).map_err(|e| Error::InvalidSpec {
        name: n.rollout.to_string(),
        message: e.to_string(),
    })?;
    match api.create(&PostParams::default(), &obj).await {
        Ok(_) => {}
        Err(kube::Error::Api(s)) if s.code == 409 => return Ok(false),
        Err(e) => {
            return Err(Error::Kube {
                what: format!("creating AnalysisRun {}", n.name),
                source: e,
            });
        }
    }
    if let Some(message) = failure {
        let patch = json!({"status": {"phase": "Error", "message": message}});
        api.patch_status(n.name, &merge_params(), &Patch::Merge(&patch))
            .await
            .map_err(Error::kube(format!("marking AnalysisRun {} as Error", n.name)))?;
    }
    Ok(true)
}

/// Adds the Rollout's own `dryRun` and `measurementRetention` to the run spec merged from the templates (as
/// Argo Rollouts does; an entry for a metric already listed replaces the template's).
pub(crate) fn add_rollout_options(spec: &mut AnalysisRunSpec, inputs: &RolloutAnalysis) {
    for d in &inputs.dry_run {
        if !spec.dry_run.iter().any(|x| x.metric_name == d.metric_name) {
            spec.dry_run.push(d.clone());
        }
    }
    for m in &inputs.measurement_retention {
        spec.measurement_retention
            .retain(|x| x.metric_name != m.metric_name);
        spec.measurement_retention.push(m.clone());
    }
}

/// Sets `spec.terminate: true` (the AnalysisRun controller stops measuring).
pub(crate) async fn terminate_run(client: &kube::Client, namespace: &str, name: &str) -> Result<(), Error> {
    let api: Api<DynamicObject> = Api::namespaced_with(client.clone(), namespace, &analysis_run_resource());
    let patch = json!({"spec": {"terminate": true}});
    match api.patch(name, &merge_params(), &Patch::Merge(&patch)).await {
        Ok(_) => Ok(()),
        Err(kube::Error::Api(s)) if s.code == 404 => Ok(()),
        Err(e) => Err(Error::Kube {
            what: format!("terminating AnalysisRun {name}"),
            source: e,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tack_rollout::spec::{DryRun, MeasurementRetention};

    #[test]
    fn rollout_dry_run_and_retention_are_added() {
        let mut spec = AnalysisRunSpec {
            dry_run: vec![DryRun {
                metric_name: "a".into(),
            }],
            measurement_retention: vec![MeasurementRetention {
                metric_name: "a".into(),
                limit: 5,
            }],
            ..Default::default()
        };
        let dry = [
            DryRun {
                metric_name: "a".into(),
            },
            DryRun {
                metric_name: "b".into(),
            },
        ];
        let keep = [MeasurementRetention {
            metric_name: "a".into(),
            limit: 20,
        }];
        add_rollout_options(
            &mut spec,
            &RolloutAnalysis {
                dry_run: dry.to_vec(),
                measurement_retention: keep.to_vec(),
                ..Default::default()
            },
        );
        let names: Vec<&str> = spec.dry_run.iter().map(|d| d.metric_name.as_str()).collect();
        assert_eq!(names, ["a", "b"]);
        assert_eq!(spec.measurement_retention, keep);
    }

    #[test]
    fn field_paths() {
        let r = json!({"metadata": {"name": "web", "labels": {"app.kubernetes.io/name": "x"}},
                       "spec": {"replicas": 3}});
        assert_eq!(field_path(&r, "metadata.name").as_deref(), Some("web"));
        assert_eq!(field_path(&r, "spec.replicas").as_deref(), Some("3"));
        assert_eq!(
            field_path(&r, "metadata.labels['app.kubernetes.io/name']").as_deref(),
            Some("x")
        );
        assert_eq!(field_path(&r, "metadata.namespace"), None);
    }

    #[test]
    fn args_resolve_hashes_and_fields() {
        let raw = json!({"metadata": {"name": "web"}, "spec": {},
                         "status": {"stableRS": "s1"}});
        let rollout: Rollout = serde_json::from_value(raw.clone()).expect("rollout");
        let args: Vec<AnalysisRunArgument> = serde_json::from_value(json!([
            {"name": "a", "value": "lit"},
            {"name": "b", "valueFrom": {"podTemplateHashValue": "Stable"}},
            {"name": "c", "valueFrom": {"podTemplateHashValue": "Latest"}},
            {"name": "d", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
        ]))
        .expect("args");
        let out = resolve_rollout_args(&raw, &rollout, &args, "c1").expect("resolved");
        let values: Vec<_> = out.iter().map(|a| a.value.clone().unwrap_or_default()).collect();
        assert_eq!(values, ["lit", "s1", "c1", "web"]);
    }

    #[test]
    fn run_object_labels() {
        let o = run_object(
            &NewRun {
                name: "web-h-1",
                namespace: "ns",
                rollout: "web",
                rollout_uid: "u",
                kind: AnalysisKind::Step(1),
                hash: "h",
                revision: Some("2"),
            },
            json!({"metrics": []}),
        );
        assert_eq!(o["metadata"]["labels"][STEP_INDEX_LABEL], "1");
        assert_eq!(o["metadata"]["labels"][ROLLOUT_TYPE_LABEL], "Step");
        assert_eq!(o["metadata"]["ownerReferences"][0]["uid"], "u");
    }
}

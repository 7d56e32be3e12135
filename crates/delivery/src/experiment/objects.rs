//! The objects an Experiment owns, built from its spec (pure): a ReplicaSet per template, the template's
//! Service, and the AnalysisRun object around a merged run spec.

use serde_json::{Value, json};
use tack_rollout::POD_TEMPLATE_HASH_LABEL;
use tack_rollout::experiment::{ExperimentTemplate, ObjectMetadata, replica_set_name};

/// Annotation on a template's ReplicaSet naming its Experiment (Argo's name).
pub const EXPERIMENT_NAME_ANNOTATION: &str = "experiment.argoproj.io/name";
/// Annotation on a template's ReplicaSet naming its template (Argo's name).
pub const TEMPLATE_NAME_ANNOTATION: &str = "experiment.argoproj.io/template-name";

/// Controller owner reference to the Experiment.
pub fn owner_reference(experiment: &str, uid: &str) -> Value {
    json!({
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Experiment",
        "name": experiment,
        "uid": uid,
        "controller": true,
        "blockOwnerDeletion": true,
    })
}

/// The Experiment a ReplicaSet, Service or AnalysisRun belongs to.
pub struct Owner<'a> {
    /// Experiment name.
    pub name: &'a str,
    /// Its namespace.
    pub namespace: &'a str,
    /// Its UID.
    pub uid: &'a str,
}

/// The pod template's labels with the template's `rollouts-pod-template-hash`.
fn pod_labels(t: &ExperimentTemplate, hash: &str) -> Value {
    let mut labels = t
        .template
        .as_ref()
        .and_then(|p| p.pointer("/metadata/labels"))
        .filter(|l| l.is_object())
        .cloned()
        .unwrap_or_else(|| json!({}));
    labels[POD_TEMPLATE_HASH_LABEL] = json!(hash);
    labels
}

/// The ReplicaSet `<experiment>-<template>` of template `t`: the template's labels and selector extended with
/// `hash`, owned by the Experiment, annotated with the Experiment and template names.
pub fn replica_set(owner: &Owner<'_>, t: &ExperimentTemplate, hash: &str, replicas: i32) -> Value {
    let labels = pod_labels(t, hash);
    let mut template = t.template.clone().unwrap_or_else(|| json!({}));
    if !template.get("metadata").is_some_and(Value::is_object) {
        template["metadata"] = json!({});
    }
    template["metadata"]["labels"] = labels.clone();
    let mut selector = t
        .selector
        .clone()
        .filter(Value::is_object)
        .unwrap_or_else(|| json!({"matchLabels": labels.clone()}));
    if !selector.get("matchLabels").is_some_and(Value::is_object) {
        selector["matchLabels"] = json!({});
    }
    selector["matchLabels"][POD_TEMPLATE_HASH_LABEL] = json!(hash);
    json!({
        "apiVersion": "apps/v1",
        "kind": "ReplicaSet",
        "metadata": {
            "name": replica_set_name(owner.name, &t.name),
            "namespace": owner.namespace,
            "labels": labels,
            "annotations": {EXPERIMENT_NAME_ANNOTATION: owner.name, TEMPLATE_NAME_ANNOTATION: t.name},
            "ownerReferences": [owner_reference(owner.name, owner.uid)],
        },
        "spec": {
            "replicas": replicas,
            "minReadySeconds": t.min_ready_seconds,
            "selector": selector,
            "template": template,
        }
    })
}

/// The Service `name` of template `t`: selects its pods (labels and hash) on every container port, as Argo
/// Rollouts does. `None` when the containers declare no port (Argo creates none either).
pub fn service(owner: &Owner<'_>, t: &ExperimentTemplate, hash: &str, name: &str) -> Option<Value> {
    let containers = t
        .template
        .as_ref()
        .and_then(|p| p.pointer("/spec/containers"))
        .and_then(Value::as_array)?;
    let ports: Vec<Value> = containers
        .iter()
        .flat_map(|c| {
            c.get("ports")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default()
        })
        .filter_map(|p| {
            let port = p.get("containerPort")?.as_i64()?;
            let mut sp = json!({
                "port": port,
                "targetPort": port,
                "protocol": p.get("protocol").and_then(Value::as_str).unwrap_or("TCP"),
            });
            if let Some(n) = p.get("name").and_then(Value::as_str) {
                sp["name"] = json!(n);
            }
            Some(sp)
        })
        .collect();
    if ports.is_empty() {
        return None;
    }
    Some(json!({
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {
            "name": name,
            "namespace": owner.namespace,
            "labels": pod_labels(t, hash),
            "ownerReferences": [owner_reference(owner.name, owner.uid)],
        },
        "spec": {"selector": pod_labels(t, hash), "ports": ports},
    }))
}

/// The AnalysisRun `name` of the Experiment with `spec`, carrying `analysisRunMetadata`.
pub fn analysis_run(owner: &Owner<'_>, name: &str, metadata: Option<&ObjectMetadata>, spec: Value) -> Value {
    let meta = metadata.cloned().unwrap_or_default();
    json!({
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "AnalysisRun",
        "metadata": {
            "name": name,
            "namespace": owner.namespace,
            "labels": meta.labels,
            "annotations": meta.annotations,
            "ownerReferences": [owner_reference(owner.name, owner.uid)],
        },
        "spec": spec,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn template() -> ExperimentTemplate {
        serde_json::from_value(json!({
            "name": "canary",
            "selector": {"matchLabels": {"app": "web"}},
            "template": {"metadata": {"labels": {"app": "web"}},
                         "spec": {"containers": [{"name": "a", "image": "a:1",
                                                  "ports": [{"name": "http", "containerPort": 8080}]}]}}
        }))
        .expect("template")
    }

    const OWNER: Owner<'static> = Owner {
        name: "ex",
        namespace: "ns",
        uid: "u",
    };

    #[test]
    fn replica_set_is_named_after_experiment_and_template_and_carries_the_hash() {
        let rs = replica_set(&OWNER, &template(), "h1", 2);
        assert_eq!(rs["metadata"]["name"], "ex-canary");
        assert_eq!(rs["metadata"]["ownerReferences"][0]["kind"], "Experiment");
        assert_eq!(rs["metadata"]["annotations"][TEMPLATE_NAME_ANNOTATION], "canary");
        assert_eq!(
            rs["spec"]["selector"]["matchLabels"],
            json!({"app": "web", POD_TEMPLATE_HASH_LABEL: "h1"})
        );
        assert_eq!(
            rs["spec"]["template"]["metadata"]["labels"][POD_TEMPLATE_HASH_LABEL],
            "h1"
        );
        let typed: k8s_openapi::api::apps::v1::ReplicaSet = serde_json::from_value(rs).expect("ReplicaSet");
        assert_eq!(typed.spec.and_then(|s| s.replicas), Some(2));
    }

    #[test]
    fn service_selects_the_template_pods_on_their_ports() {
        let svc = service(&OWNER, &template(), "h1", "ex-canary").expect("service");
        assert_eq!(svc["spec"]["selector"][POD_TEMPLATE_HASH_LABEL], "h1");
        assert_eq!(
            svc["spec"]["ports"],
            json!([{"name": "http", "port": 8080, "targetPort": 8080, "protocol": "TCP"}])
        );
        let mut portless = template();
        portless.template = Some(json!({"spec": {"containers": [{"name": "a", "image": "a:1"}]}}));
        assert!(service(&OWNER, &portless, "h1", "x").is_none());
    }
}

//! The `argoproj.io/v1alpha1` CustomResourceDefinitions tack serves: `Rollout`, `AnalysisTemplate`,
//! `ClusterAnalysisTemplate`, `AnalysisRun`, `Experiment`, with Argo Rollouts' names, short names, scopes, status subresource
//! and the Rollout's scale subresource, so manifests written for Argo Rollouts apply unchanged.
//!
//! Fields tack reads are typed; the parts Argo itself leaves open or that tack does not interpret (the pod
//! template, provider configs, router plugins) preserve unknown fields.

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use serde_json::{Value, json};

/// The API group.
pub const GROUP: &str = "argoproj.io";

fn open() -> Value {
    json!({"type": "object", "x-kubernetes-preserve-unknown-fields": true})
}
fn string() -> Value {
    json!({"type": "string"})
}
fn int() -> Value {
    json!({"type": "integer", "format": "int32"})
}
fn boolean() -> Value {
    json!({"type": "boolean"})
}
fn int_or_string() -> Value {
    json!({"x-kubernetes-int-or-string": true, "anyOf": [{"type": "integer"}, {"type": "string"}]})
}
fn string_map() -> Value {
    json!({"type": "object", "additionalProperties": {"type": "string"}})
}
fn array(items: Value) -> Value {
    json!({"type": "array", "items": items})
}
fn object(props: Value) -> Value {
    json!({"type": "object", "properties": props})
}

fn label_selector() -> Value {
    json!({
        "type": "object",
        "x-kubernetes-map-type": "atomic",
        "properties": {
            "matchLabels": string_map(),
            "matchExpressions": array(json!({
                "type": "object",
                "required": ["key", "operator"],
                "properties": {"key": string(), "operator": string(), "values": array(string())}
            })),
        }
    })
}

fn argument() -> Value {
    json!({
        "type": "object",
        "required": ["name"],
        "properties": {
            "name": string(),
            "value": string(),
            "valueFrom": object(json!({
                "podTemplateHashValue": string(),
                "fieldRef": object(json!({"fieldPath": string()})),
                "secretKeyRef": object(json!({"name": string(), "key": string()})),
            })),
        }
    })
}

fn rollout_analysis(background: bool) -> Value {
    let mut props = json!({
        "templates": array(object(json!({
            "templateName": string(), "clusterScope": boolean()
        }))),
        "args": array(argument()),
        "dryRun": array(object(json!({"metricName": string()}))),
        "measurementRetention": array(object(json!({"metricName": string(), "limit": int()}))),
        "analysisRunMetadata": object(json!({"labels": string_map(), "annotations": string_map()})),
    });
    if background {
        props["startingStep"] = int();
    }
    object(props)
}

fn pod_metadata() -> Value {
    object(json!({"labels": string_map(), "annotations": string_map()}))
}

fn canary_strategy() -> Value {
    let step = object(json!({
        "setWeight": int(),
        "pause": object(json!({"duration": int_or_string()})),
        "setCanaryScale": object(json!({
            "replicas": int(), "weight": int(), "matchTrafficWeight": boolean()
        })),
        "analysis": rollout_analysis(false),
        "experiment": experiment_step(),
        "setHeaderRoute": open(),
        "setMirrorRoute": open(),
        "plugin": open(),
    }));
    let traffic = object(json!({
        "nginx": object(json!({
            "stableIngress": string(),
            "stableIngresses": array(string()),
            "annotationPrefix": string(),
            "additionalIngressAnnotations": string_map(),
            "canaryIngressAnnotations": string_map(),
        })),
        "istio": object(json!({
            "virtualService": object(json!({
                "name": string(), "routes": array(string()), "tlsRoutes": array(open()), "tcpRoutes": array(open())
            })),
            "virtualServices": array(object(json!({
                "name": string(), "routes": array(string()), "tlsRoutes": array(open()), "tcpRoutes": array(open())
            }))),
            "destinationRule": object(json!({
                "name": string(), "canarySubsetName": string(), "stableSubsetName": string()
            })),
        })),
        "plugins": open(),
        "maxTrafficWeight": int(),
        "managedRoutes": array(object(json!({"name": string()}))),
        "alb": open(),
        "smi": open(),
        "traefik": open(),
        "ambassador": open(),
        "appMesh": open(),
        "apisix": open(),
    }));
    object(json!({
        "canaryService": string(),
        "stableService": string(),
        "steps": array(step),
        "maxSurge": int_or_string(),
        "maxUnavailable": int_or_string(),
        "trafficRouting": traffic,
        "analysis": rollout_analysis(true),
        "abortScaleDownDelaySeconds": int(),
        "scaleDownDelaySeconds": int(),
        "scaleDownDelayRevisionLimit": int(),
        "minPodsPerReplicaSet": int(),
        "dynamicStableScale": boolean(),
        "canaryMetadata": pod_metadata(),
        "stableMetadata": pod_metadata(),
        "pingPong": object(json!({"pingService": string(), "pongService": string()})),
        "antiAffinity": open(),
        "replicaProgressThreshold": object(json!({"type": string(), "value": int()})),
    }))
}

fn blue_green_strategy() -> Value {
    json!({
        "type": "object",
        "required": ["activeService"],
        "properties": {
            "activeService": string(),
            "previewService": string(),
            "autoPromotionEnabled": boolean(),
            "autoPromotionSeconds": int(),
            "previewReplicaCount": int(),
            "scaleDownDelaySeconds": int(),
            "scaleDownDelayRevisionLimit": int(),
            "abortScaleDownDelaySeconds": int(),
            "prePromotionAnalysis": rollout_analysis(false),
            "postPromotionAnalysis": rollout_analysis(false),
            "maxUnavailable": int_or_string(),
            "activeMetadata": pod_metadata(),
            "previewMetadata": pod_metadata(),
            "antiAffinity": open(),
        }
    })
}

fn run_ref() -> Value {
    object(json!({"name": string(), "status": string(), "message": string()}))
}

fn rollout_status() -> Value {
    let weight = object(json!({"weight": int(), "podTemplateHash": string(), "serviceName": string()}));
    json!({
        "type": "object",
        "x-kubernetes-preserve-unknown-fields": true,
        "properties": {
            "phase": string(),
            "message": string(),
            "currentPodHash": string(),
            "stableRS": string(),
            "currentStepIndex": int(),
            "currentStepHash": string(),
            "pauseConditions": array(object(json!({"reason": string(), "startTime": {"type": "string", "format": "date-time"}}))),
            "controllerPause": boolean(),
            "abort": boolean(),
            "abortedAt": {"type": "string", "format": "date-time"},
            "promoteFull": boolean(),
            "canary": object(json!({
                "weights": object(json!({
                    "canary": weight.clone(), "stable": weight.clone(), "additional": array(weight),
                    "verified": boolean()
                })),
                "currentStepAnalysisRunStatus": run_ref(),
                "currentBackgroundAnalysisRunStatus": run_ref(),
                "currentExperiment": string(),
                "stablePingPong": string(),
            })),
            "blueGreen": object(json!({
                "activeSelector": string(),
                "previewSelector": string(),
                "scaleUpPreviewCheckPoint": boolean(),
                "prePromotionAnalysisRunStatus": run_ref(),
                "postPromotionAnalysisRunStatus": run_ref(),
            })),
            "replicas": int(),
            "updatedReplicas": int(),
            "readyReplicas": int(),
            "availableReplicas": int(),
            "HPAReplicas": int(),
            "observedGeneration": string(),
            "collisionCount": int(),
            "restartedAt": {"type": "string", "format": "date-time"},
            "selector": string(),
            "workloadObservedGeneration": string(),
            "conditions": array(object(json!({
                "type": string(), "status": string(), "reason": string(), "message": string(),
                "lastUpdateTime": {"type": "string", "format": "date-time"},
                "lastTransitionTime": {"type": "string", "format": "date-time"},
            }))),
        }
    })
}

fn metadata_labels() -> Value {
    object(json!({"labels": string_map(), "annotations": string_map()}))
}

fn experiment_analysis() -> Value {
    json!({
        "type": "object",
        "required": ["name", "templateName"],
        "properties": {
            "name": string(),
            "templateName": string(),
            "clusterScope": boolean(),
            "args": array(argument()),
            "requiredForCompletion": boolean(),
        }
    })
}

fn experiment_step() -> Value {
    object(json!({
        "duration": string(),
        "templates": array(json!({
            "type": "object",
            "required": ["name", "specRef"],
            "properties": {
                "name": string(),
                "specRef": string(),
                "replicas": int(),
                "metadata": metadata_labels(),
                "selector": label_selector(),
                "weight": int(),
                "service": object(json!({"name": string()})),
            }
        })),
        "analyses": array(experiment_analysis()),
        "dryRun": array(object(json!({"metricName": string()}))),
        "measurementRetention": array(object(json!({"metricName": string(), "limit": int()}))),
        "analysisRunMetadata": metadata_labels(),
    }))
}

fn experiment_schema() -> Value {
    let time = json!({"type": "string", "format": "date-time"});
    json!({
        "type": "object",
        "properties": {
            "apiVersion": string(), "kind": string(), "metadata": {"type": "object"},
            "spec": {
                "type": "object",
                "required": ["templates"],
                "properties": {
                    "templates": array(json!({
                        "type": "object",
                        "required": ["name", "template"],
                        "properties": {
                            "name": string(),
                            "replicas": int(),
                            "minReadySeconds": int(),
                            "selector": label_selector(),
                            "template": open(),
                            "service": object(json!({"name": string()})),
                        }
                    })),
                    "duration": string(),
                    "progressDeadlineSeconds": int(),
                    "terminate": boolean(),
                    "analyses": array(experiment_analysis()),
                    "dryRun": array(object(json!({"metricName": string()}))),
                    "measurementRetention": array(object(json!({"metricName": string(), "limit": int()}))),
                    "analysisRunMetadata": metadata_labels(),
                    "scaleDownDelaySeconds": int(),
                }
            },
            "status": {
                "type": "object",
                "x-kubernetes-preserve-unknown-fields": true,
                "properties": {
                    "phase": string(),
                    "message": string(),
                    "availableAt": time.clone(),
                    "templateStatuses": array(object(json!({
                        "name": string(), "replicas": int(), "updatedReplicas": int(), "readyReplicas": int(),
                        "availableReplicas": int(), "collisionCount": int(), "status": string(),
                        "message": string(), "lastTransitionTime": time.clone(), "serviceName": string(),
                        "podTemplateHash": string(),
                    }))),
                    "analysisRuns": array(object(json!({
                        "name": string(), "analysisRun": string(), "phase": string(), "message": string(),
                    }))),
                    "conditions": array(object(json!({
                        "type": string(), "status": string(), "reason": string(), "message": string(),
                        "lastUpdateTime": time.clone(), "lastTransitionTime": time,
                    }))),
                }
            }
        }
    })
}

fn rollout_schema() -> Value {
    json!({
        "type": "object",
        "properties": {
            "apiVersion": string(),
            "kind": string(),
            "metadata": {"type": "object"},
            "spec": object(json!({
                "replicas": int(),
                "selector": label_selector(),
                "template": open(),
                "workloadRef": object(json!({
                    "apiVersion": string(), "kind": string(), "name": string(), "scaleDown": string()
                })),
                "revisionHistoryLimit": int(),
                "minReadySeconds": int(),
                "progressDeadlineSeconds": int(),
                "progressDeadlineAbort": boolean(),
                "paused": boolean(),
                "restartAt": {"type": "string", "format": "date-time"},
                "strategy": object(json!({
                    "canary": canary_strategy(),
                    "blueGreen": blue_green_strategy(),
                })),
                "analysis": object(json!({
                    "successfulRunHistoryLimit": int(), "unsuccessfulRunHistoryLimit": int()
                })),
                "rollbackWindow": object(json!({"revisions": int()})),
            })),
            "status": rollout_status(),
        }
    })
}

fn metric() -> Value {
    json!({
        "type": "object",
        "required": ["name", "provider"],
        "properties": {
            "name": string(),
            "interval": string(),
            "initialDelay": string(),
            "count": int_or_string(),
            "successCondition": string(),
            "failureCondition": string(),
            "failureLimit": int_or_string(),
            "inconclusiveLimit": int_or_string(),
            "consecutiveErrorLimit": int_or_string(),
            "consecutiveSuccessLimit": int_or_string(),
            "provider": open(),
        }
    })
}

fn template_spec() -> Value {
    json!({
        "type": "object",
        "required": ["metrics"],
        "properties": {
            "args": array(argument()),
            "metrics": array(metric()),
            "dryRun": array(object(json!({"metricName": string()}))),
            "measurementRetention": array(object(json!({"metricName": string(), "limit": int()}))),
        }
    })
}

fn template_schema() -> Value {
    json!({
        "type": "object",
        "properties": {
            "apiVersion": string(), "kind": string(), "metadata": {"type": "object"},
            "spec": template_spec(),
        }
    })
}

fn analysis_run_schema() -> Value {
    let mut spec = template_spec();
    spec["properties"]["terminate"] = boolean();
    spec["properties"]["ttlStrategy"] = object(json!({
        "secondsAfterCompletion": int(), "secondsAfterFailure": int(), "secondsAfterSuccess": int()
    }));
    json!({
        "type": "object",
        "properties": {
            "apiVersion": string(), "kind": string(), "metadata": {"type": "object"},
            "spec": spec,
            "status": {
                "type": "object",
                "x-kubernetes-preserve-unknown-fields": true,
                "properties": {
                    "phase": string(),
                    "message": string(),
                    "startedAt": {"type": "string", "format": "date-time"},
                    "completedAt": {"type": "string", "format": "date-time"},
                    "metricResults": array(open()),
                    "runSummary": open(),
                    "dryRunSummary": open(),
                }
            }
        }
    })
}

fn crd(
    kind: &str,
    plural: &str,
    short: &[&str],
    scope: &str,
    schema: Value,
    subresources: Value,
    columns: Value,
) -> Value {
    json!({
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {
            "name": format!("{plural}.{GROUP}"),
            "labels": {"app.kubernetes.io/part-of": "tack"},
        },
        "spec": {
            "group": GROUP,
            "names": {
                "kind": kind,
                "listKind": format!("{kind}List"),
                "plural": plural,
                "singular": kind.to_lowercase(),
                "shortNames": short,
            },
            "scope": scope,
            "versions": [{
                "name": "v1alpha1",
                "served": true,
                "storage": true,
                "schema": {"openAPIV3Schema": schema},
                "subresources": subresources,
                "additionalPrinterColumns": columns,
            }],
        }
    })
}

/// The five CustomResourceDefinitions as JSON, in install order.
pub fn crd_values() -> Vec<Value> {
    let age = json!({"name": "Age", "type": "date", "jsonPath": ".metadata.creationTimestamp"});
    vec![
        crd(
            "Rollout",
            "rollouts",
            &["ro"],
            "Namespaced",
            rollout_schema(),
            json!({"status": {}, "scale": {
                "specReplicasPath": ".spec.replicas",
                "statusReplicasPath": ".status.HPAReplicas",
                "labelSelectorPath": ".status.selector",
            }}),
            json!([
                {"name": "Desired", "type": "integer", "jsonPath": ".spec.replicas", "description": "Number of desired pods"},
                {"name": "Current", "type": "integer", "jsonPath": ".status.replicas", "description": "Total number of non-terminated pods"},
                {"name": "Up-to-date", "type": "integer", "jsonPath": ".status.updatedReplicas", "description": "Pods of the current template"},
                {"name": "Available", "type": "integer", "jsonPath": ".status.availableReplicas", "description": "Available pods"},
                {"name": "Phase", "type": "string", "jsonPath": ".status.phase", "description": "Healthy, Progressing, Paused or Degraded"},
                age.clone(),
            ]),
        ),
        crd(
            "AnalysisTemplate",
            "analysistemplates",
            &["at"],
            "Namespaced",
            template_schema(),
            json!({}),
            json!([age.clone()]),
        ),
        crd(
            "ClusterAnalysisTemplate",
            "clusteranalysistemplates",
            &["cat"],
            "Cluster",
            template_schema(),
            json!({}),
            json!([age.clone()]),
        ),
        crd(
            "AnalysisRun",
            "analysisruns",
            &["ar"],
            "Namespaced",
            analysis_run_schema(),
            json!({"status": {}}),
            json!([
                {"name": "Status", "type": "string", "jsonPath": ".status.phase", "description": "AnalysisRun phase"},
                age.clone(),
            ]),
        ),
        crd(
            "Experiment",
            "experiments",
            &["exp"],
            "Namespaced",
            experiment_schema(),
            json!({"status": {}}),
            json!([
                {"name": "Status", "type": "string", "jsonPath": ".status.phase", "description": "Experiment status"},
                age,
            ]),
        ),
    ]
}

/// The five CustomResourceDefinitions, typed.
pub fn crds() -> Result<Vec<CustomResourceDefinition>, serde_json::Error> {
    crd_values().into_iter().map(serde_json::from_value).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn five_crds_with_argo_names() {
        let crds = crds().expect("typed CRDs");
        let names: Vec<_> = crds.iter().filter_map(|c| c.metadata.name.clone()).collect();
        assert_eq!(
            names,
            [
                "rollouts.argoproj.io",
                "analysistemplates.argoproj.io",
                "clusteranalysistemplates.argoproj.io",
                "analysisruns.argoproj.io",
                "experiments.argoproj.io"
            ]
        );
        let ro = &crds[0].spec.versions[0];
        let scale = ro
            .subresources
            .as_ref()
            .and_then(|s| s.scale.as_ref())
            .expect("scale");
        assert_eq!(scale.spec_replicas_path, ".spec.replicas");
        assert_eq!(crds[2].spec.scope, "Cluster");
    }
}

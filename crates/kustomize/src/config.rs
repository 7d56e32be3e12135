//! Built-in transformer configuration: the field specs Kustomize's transformers act on, and
//! the name-reference table (which fields of which kinds refer to which kinds by name).

use std::sync::{Arc, LazyLock};

use crate::resource::{FieldSpec, Gvk};

/// Kustomize's built-in transformer configuration, built once.
static BUILTIN: LazyLock<Arc<TransformerConfig>> = LazyLock::new(|| Arc::new(TransformerConfig::builtin()));

/// One referenced kind and the fields that refer to it.
#[derive(Debug, Clone)]
pub struct NameRef {
    pub target: Gvk,
    pub referrers: Vec<FieldSpec>,
}

/// Field specs per transformer, built-in plus `configurations:`.
#[derive(Debug, Clone, Default)]
pub struct TransformerConfig {
    pub name_prefix: Vec<FieldSpec>,
    pub common_labels: Vec<FieldSpec>,
    pub template_labels: Vec<FieldSpec>,
    pub common_annotations: Vec<FieldSpec>,
    pub images: Vec<FieldSpec>,
    pub replicas: Vec<FieldSpec>,
    pub name_reference: Vec<NameRef>,
    pub var_reference: Vec<FieldSpec>,
}

const POD_KINDS: &[(&str, &str)] = &[
    ("Pod", "spec/"),
    ("PodTemplate", "template/spec/"),
    ("Deployment", "spec/template/spec/"),
    ("ReplicaSet", "spec/template/spec/"),
    ("DaemonSet", "spec/template/spec/"),
    ("StatefulSet", "spec/template/spec/"),
    ("Job", "spec/template/spec/"),
    ("CronJob", "spec/jobTemplate/spec/template/spec/"),
];

fn fs(kind: &str, path: &str) -> FieldSpec {
    FieldSpec::new("", "", kind, path, false)
}

fn fsg(group: &str, kind: &str, path: &str) -> FieldSpec {
    FieldSpec::new(group, "", kind, path, false)
}

fn fsc(group: &str, version: &str, kind: &str, path: &str) -> FieldSpec {
    FieldSpec::new(group, version, kind, path, true)
}

fn pod_refs(rel: &[&str]) -> Vec<FieldSpec> {
    let mut v = Vec::new();
    for (kind, prefix) in POD_KINDS {
        for r in rel {
            v.push(fs(kind, &format!("{prefix}{r}")));
        }
    }
    v
}

fn gvk(group: &str, version: &str, kind: &str) -> Gvk {
    Gvk {
        group: group.into(),
        version: version.into(),
        kind: kind.into(),
    }
}

impl TransformerConfig {
    /// Kustomize's built-in configuration. A data table transcribed from Kustomize's
    /// `builtinpluginconsts`, long by nature, not logic.
    pub fn builtin() -> TransformerConfig {
        let mut c = TransformerConfig {
            name_prefix: vec![fs("", "metadata/name")],
            ..Default::default()
        };

        // Labels on templates (also part of commonLabels).
        let template = vec![
            fsc("", "v1", "ReplicationController", "spec/template/metadata/labels"),
            fsc("", "", "Deployment", "spec/template/metadata/labels"),
            fsc("", "", "ReplicaSet", "spec/template/metadata/labels"),
            fsc("", "", "DaemonSet", "spec/template/metadata/labels"),
            fsc("apps", "", "StatefulSet", "spec/template/metadata/labels"),
            fsc(
                "apps",
                "",
                "StatefulSet",
                "spec/volumeClaimTemplates[]/metadata/labels",
            ),
            fsc("batch", "", "Job", "spec/template/metadata/labels"),
            fsc("batch", "", "CronJob", "spec/jobTemplate/metadata/labels"),
            fsc(
                "batch",
                "",
                "CronJob",
                "spec/jobTemplate/spec/template/metadata/labels",
            ),
        ];
        let mut common = vec![
            fsc("", "v1", "Service", "spec/selector"),
            fsc("", "v1", "ReplicationController", "spec/selector"),
            fsc("", "", "Deployment", "spec/selector/matchLabels"),
        ];
        let affinity = [
            "spec/template/spec/affinity/podAffinity/preferredDuringSchedulingIgnoredDuringExecution/podAffinityTerm/labelSelector/matchLabels",
            "spec/template/spec/affinity/podAffinity/requiredDuringSchedulingIgnoredDuringExecution/labelSelector/matchLabels",
            "spec/template/spec/affinity/podAntiAffinity/preferredDuringSchedulingIgnoredDuringExecution/podAffinityTerm/labelSelector/matchLabels",
            "spec/template/spec/affinity/podAntiAffinity/requiredDuringSchedulingIgnoredDuringExecution/labelSelector/matchLabels",
            "spec/template/spec/topologySpreadConstraints/labelSelector/matchLabels",
        ];
        for p in affinity {
            common.push(fsg("apps", "Deployment", p));
        }
        common.push(fsc("", "", "ReplicaSet", "spec/selector/matchLabels"));
        common.push(fsc("", "", "DaemonSet", "spec/selector/matchLabels"));
        common.push(fsc("apps", "", "StatefulSet", "spec/selector/matchLabels"));
        for p in affinity {
            common.push(fsg("apps", "StatefulSet", p));
        }
        common.push(fsg("batch", "Job", "spec/selector/matchLabels"));
        common.push(fsg(
            "batch",
            "CronJob",
            "spec/jobTemplate/spec/selector/matchLabels",
        ));
        common.push(fsg("policy", "PodDisruptionBudget", "spec/selector/matchLabels"));
        common.push(fsg(
            "networking.k8s.io",
            "NetworkPolicy",
            "spec/podSelector/matchLabels",
        ));
        common.push(fsg(
            "networking.k8s.io",
            "NetworkPolicy",
            "spec/ingress/from/podSelector/matchLabels",
        ));
        common.push(fsg(
            "networking.k8s.io",
            "NetworkPolicy",
            "spec/egress/to/podSelector/matchLabels",
        ));
        common.push(fsc("", "", "", "metadata/labels"));
        common.extend(template.iter().cloned());
        c.common_labels = common;
        c.template_labels = template;

        c.common_annotations = vec![
            fsc("", "", "", "metadata/annotations"),
            fsc(
                "",
                "v1",
                "ReplicationController",
                "spec/template/metadata/annotations",
            ),
            fsc("", "", "Deployment", "spec/template/metadata/annotations"),
            fsc("", "", "ReplicaSet", "spec/template/metadata/annotations"),
            fsc("", "", "DaemonSet", "spec/template/metadata/annotations"),
            fsc("", "", "StatefulSet", "spec/template/metadata/annotations"),
            fsc("batch", "", "Job", "spec/template/metadata/annotations"),
            fsc("batch", "", "CronJob", "spec/jobTemplate/metadata/annotations"),
            fsc(
                "batch",
                "",
                "CronJob",
                "spec/jobTemplate/spec/template/metadata/annotations",
            ),
        ];

        c.images = vec![
            fsc("", "", "", "spec/containers[]/image"),
            fsc("", "", "", "spec/initContainers[]/image"),
            fsc("", "", "", "spec/template/spec/containers[]/image"),
            fsc("", "", "", "spec/template/spec/initContainers[]/image"),
        ];
        for s in &mut c.images {
            s.create = false;
        }

        c.replicas = vec![
            fsc("", "", "Deployment", "spec/replicas"),
            fsc("", "", "ReplicationController", "spec/replicas"),
            fsc("", "", "ReplicaSet", "spec/replicas"),
            fsc("apps", "", "StatefulSet", "spec/replicas"),
        ];

        let mut nr = Vec::new();
        for k in ["Deployment", "ReplicationController", "ReplicaSet", "StatefulSet"] {
            nr.push(NameRef {
                target: gvk("", "", k),
                referrers: vec![fs("HorizontalPodAutoscaler", "spec/scaleTargetRef/name")],
            });
        }
        let mut cm = pod_refs(&[
            "volumes/configMap/name",
            "containers/env/valueFrom/configMapKeyRef/name",
            "initContainers/env/valueFrom/configMapKeyRef/name",
            "containers/envFrom/configMapRef/name",
            "initContainers/envFrom/configMapRef/name",
            "volumes/projected/sources/configMap/name",
        ]);
        cm.push(fs("Node", "spec/configSource/configMap"));
        cm.push(fs("Role", "rules/resourceNames"));
        cm.push(fs("ClusterRole", "rules/resourceNames"));
        cm.push(fs(
            "Ingress",
            "metadata/annotations/nginx.ingress.kubernetes.io\\/fastcgi-params-configmap",
        ));
        nr.push(NameRef {
            target: gvk("", "v1", "ConfigMap"),
            referrers: cm,
        });
        let mut sec = pod_refs(&[
            "volumes/secret/secretName",
            "containers/env/valueFrom/secretKeyRef/name",
            "initContainers/env/valueFrom/secretKeyRef/name",
            "containers/envFrom/secretRef/name",
            "initContainers/envFrom/secretRef/name",
            "imagePullSecrets/name",
            "volumes/projected/sources/secret/name",
        ]);
        for p in [
            "spec/tls/secretName",
            "metadata/annotations/ingress.kubernetes.io\\/auth-secret",
            "metadata/annotations/nginx.ingress.kubernetes.io\\/auth-secret",
            "metadata/annotations/nginx.ingress.kubernetes.io\\/auth-tls-secret",
        ] {
            sec.push(fs("Ingress", p));
        }
        sec.push(fs("ServiceAccount", "imagePullSecrets/name"));
        for p in [
            "parameters/secretName",
            "parameters/adminSecretName",
            "parameters/userSecretName",
            "parameters/secretRef",
        ] {
            sec.push(fs("StorageClass", p));
        }
        sec.push(fs("Role", "rules/resourceNames"));
        sec.push(fs("ClusterRole", "rules/resourceNames"));
        sec.push(FieldSpec::new(
            "serving.knative.dev",
            "v1",
            "Service",
            "spec/template/spec/containers/env/valueFrom/secretKeyRef/name",
            false,
        ));
        sec.push(fs("PersistentVolume", "spec/azureFile/secretName"));
        nr.push(NameRef {
            target: gvk("", "v1", "Secret"),
            referrers: sec,
        });
        nr.push(NameRef {
            target: gvk("", "v1", "Service"),
            referrers: vec![
                fsg("apps", "StatefulSet", "spec/serviceName"),
                fs("Ingress", "spec/rules/http/paths/backend/serviceName"),
                fs("Ingress", "spec/backend/serviceName"),
                fs("Ingress", "spec/rules/http/paths/backend/service/name"),
                fs("Ingress", "spec/defaultBackend/service/name"),
                fsg("apiregistration.k8s.io", "APIService", "spec/service"),
                fsg(
                    "admissionregistration.k8s.io",
                    "ValidatingWebhookConfiguration",
                    "webhooks/clientConfig/service",
                ),
                fsg(
                    "admissionregistration.k8s.io",
                    "MutatingWebhookConfiguration",
                    "webhooks/clientConfig/service",
                ),
                fs("HTTPRoute", "spec/rules/backendRefs/name"),
            ],
        });
        nr.push(NameRef {
            target: gvk("rbac.authorization.k8s.io", "", "Role"),
            referrers: vec![fsg("rbac.authorization.k8s.io", "RoleBinding", "roleRef/name")],
        });
        nr.push(NameRef {
            target: gvk("rbac.authorization.k8s.io", "", "ClusterRole"),
            referrers: vec![
                fsg("rbac.authorization.k8s.io", "RoleBinding", "roleRef/name"),
                fsg("rbac.authorization.k8s.io", "ClusterRoleBinding", "roleRef/name"),
            ],
        });
        let mut sa = vec![
            fsg("rbac.authorization.k8s.io", "RoleBinding", "subjects"),
            fsg("rbac.authorization.k8s.io", "ClusterRoleBinding", "subjects"),
            fs("Pod", "spec/serviceAccountName"),
        ];
        for k in [
            "StatefulSet",
            "Deployment",
            "ReplicationController",
            "Job",
            "DaemonSet",
        ] {
            sa.push(fs(k, "spec/template/spec/serviceAccountName"));
        }
        sa.push(fs(
            "CronJob",
            "spec/jobTemplate/spec/template/spec/serviceAccountName",
        ));
        nr.push(NameRef {
            target: gvk("", "v1", "ServiceAccount"),
            referrers: sa,
        });
        let mut pvc = vec![fs("Pod", "spec/volumes/persistentVolumeClaim/claimName")];
        for k in [
            "StatefulSet",
            "Deployment",
            "ReplicationController",
            "Job",
            "DaemonSet",
        ] {
            pvc.push(fs(
                k,
                "spec/template/spec/volumes/persistentVolumeClaim/claimName",
            ));
        }
        pvc.push(fs(
            "CronJob",
            "spec/jobTemplate/spec/template/spec/volumes/persistentVolumeClaim/claimName",
        ));
        nr.push(NameRef {
            target: gvk("", "v1", "PersistentVolumeClaim"),
            referrers: pvc,
        });
        nr.push(NameRef {
            target: gvk("", "v1", "PersistentVolume"),
            referrers: vec![
                fs("PersistentVolumeClaim", "spec/volumeName"),
                fs("ClusterRole", "rules/resourceNames"),
            ],
        });
        nr.push(NameRef {
            target: gvk("storage.k8s.io", "v1", "StorageClass"),
            referrers: vec![
                fs("PersistentVolume", "spec/storageClassName"),
                fs("PersistentVolumeClaim", "spec/storageClassName"),
                fs("StatefulSet", "spec/volumeClaimTemplates/spec/storageClassName"),
            ],
        });
        let mut pc = vec![fs("Pod", "spec/priorityClassName")];
        for k in [
            "StatefulSet",
            "Deployment",
            "ReplicationController",
            "Job",
            "DaemonSet",
        ] {
            pc.push(fs(k, "spec/template/spec/priorityClassName"));
        }
        pc.push(fs(
            "CronJob",
            "spec/jobTemplate/spec/template/spec/priorityClassName",
        ));
        nr.push(NameRef {
            target: gvk("scheduling.k8s.io", "v1", "PriorityClass"),
            referrers: pc,
        });
        // Kustomize v5.5.0 spells this group `networking.k8s.io/v1`, so it never matches.
        nr.push(NameRef {
            target: gvk("networking.k8s.io/v1", "v1", "IngressClass"),
            referrers: vec![fs("Ingress", "spec/ingressClassName")],
        });
        nr.push(NameRef {
            target: gvk("admissionregistration.k8s.io", "", "ValidatingAdmissionPolicy"),
            referrers: vec![fs("ValidatingAdmissionPolicyBinding", "spec/policyName")],
        });
        c.name_reference = nr;
        c.var_reference = var_reference();
        c
    }

    /// The built-in configuration, shared.
    pub fn builtin_shared() -> Arc<TransformerConfig> {
        Arc::clone(&BUILTIN)
    }

    /// Whether `c` is the shared built-in configuration, unchanged.
    pub fn is_builtin(c: &Arc<TransformerConfig>) -> bool {
        Arc::ptr_eq(c, &BUILTIN)
    }

    /// Adds what a base's configuration holds beyond the built-in one (its `configurations:` and
    /// `crds:`), as Kustomize merges the configurations of a kustomization's bases.
    pub fn merge_extra(&mut self, from: &TransformerConfig) {
        let into = self;
        let base: &TransformerConfig = &BUILTIN;
        let extra =
            |a: &[FieldSpec], b: &[FieldSpec]| -> Vec<FieldSpec> { b[a.len().min(b.len())..].to_vec() };
        into.name_prefix
            .extend(extra(&base.name_prefix, &from.name_prefix));
        into.common_labels
            .extend(extra(&base.common_labels, &from.common_labels));
        into.template_labels
            .extend(extra(&base.template_labels, &from.template_labels));
        into.common_annotations
            .extend(extra(&base.common_annotations, &from.common_annotations));
        into.images.extend(extra(&base.images, &from.images));
        into.replicas.extend(extra(&base.replicas, &from.replicas));
        into.var_reference
            .extend(extra(&base.var_reference, &from.var_reference));
        for nr in &from.name_reference {
            let builtin_len = base
                .name_reference
                .iter()
                .find(|b| b.target == nr.target)
                .map(|b| b.referrers.len())
                .unwrap_or(0);
            let add: Vec<FieldSpec> = nr.referrers[builtin_len.min(nr.referrers.len())..].to_vec();
            if let Some(e) = into.name_reference.iter_mut().find(|n| n.target == nr.target) {
                e.referrers.extend(add);
            } else {
                into.name_reference.push(NameRef {
                    target: nr.target.clone(),
                    referrers: add,
                });
            }
        }
    }

    /// Adds the specs of a `configurations:` file.
    pub fn merge_config(&mut self, v: &serde_json::Value) -> Result<(), crate::Error> {
        let Some(m) = v.as_object() else { return Ok(()) };
        let specs = |key: &str| -> Result<Vec<FieldSpec>, crate::Error> {
            match m.get(key) {
                Some(serde_json::Value::Array(a)) => a.iter().map(FieldSpec::from_value).collect(),
                _ => Ok(Vec::new()),
            }
        };
        let np = specs("namePrefix")?;
        if !np.is_empty() {
            self.name_prefix
                .retain(|b| !(b.gvk == Gvk::default() && np.iter().any(|n| n.path == b.path)));
            self.name_prefix.extend(np);
        }
        self.common_labels.extend(specs("commonLabels")?);
        self.template_labels.extend(specs("templateLabels")?);
        self.common_annotations.extend(specs("commonAnnotations")?);
        self.images.extend(specs("images")?);
        self.replicas.extend(specs("replicas")?);
        self.var_reference.extend(specs("varReference")?);
        if let Some(serde_json::Value::Array(a)) = m.get("nameReference") {
            for e in a {
                let s = |k: &str| e.get(k).and_then(|x| x.as_str()).unwrap_or("").to_string();
                let target = gvk(&s("group"), &s("version"), &s("kind"));
                let referrers: Vec<FieldSpec> = match e.get("fieldSpecs") {
                    Some(serde_json::Value::Array(fa)) => {
                        fa.iter().map(FieldSpec::from_value).collect::<Result<_, _>>()?
                    }
                    _ => Vec::new(),
                };
                if let Some(existing) = self.name_reference.iter_mut().find(|n| n.target == target) {
                    existing.referrers.extend(referrers);
                } else {
                    self.name_reference.push(NameRef { target, referrers });
                }
            }
        }
        Ok(())
    }
}

fn var_reference() -> Vec<FieldSpec> {
    let mut v = Vec::new();
    for (kind, prefix) in POD_KINDS {
        if *kind == "PodTemplate" {
            continue;
        }
        for c in ["containers", "initContainers"] {
            for r in ["args", "command", "env/value", "volumeMounts/mountPath"] {
                v.push(fs(kind, &format!("{prefix}{c}/{r}")));
            }
        }
        match *kind {
            "StatefulSet" => v.push(fs(kind, "spec/volumeClaimTemplates/spec/nfs/server")),
            // Kustomize's table says `spec/template/volumes` for CronJob (one `spec/` short).
            "CronJob" => v.push(fs(kind, "spec/jobTemplate/spec/template/volumes/nfs/server")),
            _ => v.push(fs(kind, &format!("{prefix}volumes/nfs/server"))),
        }
    }
    v.push(fs("Deployment", "spec/template/metadata/annotations"));
    for p in ["spec/rules/host", "spec/tls/hosts", "spec/tls/secretName"] {
        v.push(fs("Ingress", p));
    }
    v.push(fs("Service", "spec/ports/port"));
    v.push(fs("Service", "spec/ports/targetPort"));
    v.push(fs("PersistentVolume", "spec/nfs/server"));
    v.push(fs("", "metadata/labels"));
    v.push(fs("", "metadata/annotations"));
    v
}

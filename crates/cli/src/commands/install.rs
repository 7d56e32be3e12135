//! `tack install`: the CustomResourceDefinitions, the `tack-system` namespace, RBAC and the controller
//! Deployment (docs/gitops.md).

use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use clap::Args;
use kube::CustomResourceExt;
use serde_json::{Value, json};
use tack_cluster::ApplyOptions;
use tack_model::{GitOpsConfig, Pipeline, TenantPolicy};

use crate::config::Settings;

/// The namespace the controller runs in.
pub const SYSTEM_NAMESPACE: &str = "tack-system";

/// The controller's ServiceAccount, ClusterRoles, Role, bindings, Deployment and Service.
pub const CONTROLLER_NAME: &str = "tack-controller";

/// The port of /metrics, /healthz and /readyz in the controller pod.
const METRICS_PORT: u16 = 9090;

/// The image of the controller unless `--image` says otherwise.
pub fn default_image() -> String {
    format!("ghcr.io/tack-dev/tack:v{}", env!("CARGO_PKG_VERSION"))
}

#[derive(Debug, Args)]
pub struct InstallArgs {
    /// Print the manifests (YAML) instead of applying them
    #[arg(long)]
    pub print: bool,
    /// Only the CustomResourceDefinitions (for running `tack controller` outside the cluster)
    #[arg(long)]
    pub crds_only: bool,
    /// The controller image [default: ghcr.io/tack-dev/tack:v<version of this binary>]
    #[arg(long, value_name = "IMAGE")]
    pub image: Option<String>,
    /// Multi-tenant lockdown: the controller runs with --default-service-account, --no-cross-namespace-refs and
    /// --no-remote-bases, and its own rights on applications' objects are read-only (every application is
    /// applied as a ServiceAccount of its namespace; docs/tenancy.md)
    #[arg(long)]
    pub locked_down: bool,
    /// With --locked-down: the ServiceAccount applications without spec.serviceAccountName are impersonated as
    #[arg(
        long,
        value_name = "NAME",
        default_value = "default",
        requires = "locked_down"
    )]
    pub default_service_account: String,
}

/// How the controller is installed.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Mode {
    /// `Some(default ServiceAccount)`: locked down (see [`InstallArgs::locked_down`]).
    pub locked_down: Option<String>,
}

/// Every CustomResourceDefinition tack serves.
pub fn crds() -> anyhow::Result<Vec<Value>> {
    let mut crds = vec![
        serde_json::to_value(GitOpsConfig::crd())?,
        serde_json::to_value(TenantPolicy::crd())?,
        serde_json::to_value(Pipeline::crd())?,
    ];
    // Rollout, AnalysisTemplate, ClusterAnalysisTemplate, AnalysisRun (argoproj.io/v1alpha1).
    crds.extend(tack_delivery::crd_values());
    Ok(crds)
}

/// Everything `tack install` applies, in order: CRDs, then the namespace, RBAC and the controller.
pub fn manifests(image: &str, crds_only: bool, mode: &Mode) -> anyhow::Result<Vec<Value>> {
    let mut out = crds()?;
    if crds_only {
        return Ok(out);
    }
    out.extend(controller_manifests(image, mode));
    Ok(out)
}

/// The rules of `tack-controller-apply`: every verb of server-side apply, prune and drift watches on every
/// resource; locked down, reads and watches only, plus the inventory ConfigMaps (the applications' objects are
/// written by their ServiceAccounts).
fn apply_rules(mode: &Mode) -> Value {
    if mode.locked_down.is_some() {
        json!([
            {"apiGroups": ["*"], "resources": ["*"], "verbs": ["get", "list", "watch"]},
            {"apiGroups": [""], "resources": ["configmaps"],
             "verbs": ["get", "list", "watch", "create", "update", "patch", "delete"]},
        ])
    } else {
        json!([
            {"apiGroups": ["*"], "resources": ["*"],
             "verbs": ["get", "list", "watch", "create", "update", "patch", "delete"]},
        ])
    }
}

/// The controller container's arguments.
fn controller_args(mode: &Mode) -> Value {
    let mut args = vec![
        "controller".to_string(),
        "--leader-elect".to_string(),
        format!("--metrics-addr=0.0.0.0:{METRICS_PORT}"),
    ];
    if let Some(sa) = &mode.locked_down {
        args.push(format!("--default-service-account={sa}"));
        args.push("--no-cross-namespace-refs".into());
        args.push("--no-remote-bases".into());
    }
    json!(args)
}

/// The namespace, RBAC, Deployment and Service of the controller.
///
/// RBAC: GitOps applies whatever the repositories hold — any kind, including CustomResourceDefinitions,
/// RBAC objects and custom resources whose kinds do not exist yet when tack is installed — so the role
/// `tack-controller-apply` grants the verbs of server-side apply, prune and drift watches on every resource
/// (`*`). It is separate from what the controller needs for itself (`tack-controller`: its own resources,
/// Events, reading credentials Secrets) and from the leader-election Lease (a Role in `tack-system` only),
/// so that a cluster whose repositories hold known kinds can replace `tack-controller-apply` with a narrower
/// role. `tack-controller` may impersonate ServiceAccounts (an application's `spec.serviceAccountName` is
/// always one of its own namespace); neither role grants `escalate` or `bind`. Locked down, `tack-controller-apply`
/// is read-only but for ConfigMaps (see [`apply_rules`]).
/// (A table of manifests written out literally: long by nature, not logic.)
fn controller_manifests(image: &str, mode: &Mode) -> Vec<Value> {
    let labels = json!({"app.kubernetes.io/name": "tack", "app.kubernetes.io/component": "controller"});
    let subject = json!([{"kind": "ServiceAccount", "name": CONTROLLER_NAME, "namespace": SYSTEM_NAMESPACE}]);
    vec![
        json!({
            "apiVersion": "v1",
            "kind": "Namespace",
            "metadata": {"name": SYSTEM_NAMESPACE, "labels": {"app.kubernetes.io/name": "tack"}},
        }),
        json!({
            "apiVersion": "v1",
            "kind": "ServiceAccount",
            "metadata": {"name": CONTROLLER_NAME, "namespace": SYSTEM_NAMESPACE, "labels": labels},
        }),
        json!({
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "ClusterRole",
            "metadata": {"name": CONTROLLER_NAME, "labels": labels},
            "rules": [
                {"apiGroups": ["gitops.tack.dev"], "resources": ["gitopsconfigs"],
                 "verbs": ["get", "list", "watch", "patch", "update"]},
                {"apiGroups": ["gitops.tack.dev"], "resources": ["gitopsconfigs/status"],
                 "verbs": ["get", "patch", "update"]},
                {"apiGroups": ["gitops.tack.dev"], "resources": ["tenantpolicies"],
                 "verbs": ["get", "list", "watch"]},
                // Promotion pipelines: status, request annotations removed once done, test Jobs (the `batch`
                // rule below) and the stage namespaces' NetworkPolicy, ResourceQuota and LimitRange.
                {"apiGroups": ["gitops.tack.dev"], "resources": ["pipelines"],
                 "verbs": ["get", "list", "watch", "patch"]},
                {"apiGroups": ["gitops.tack.dev"], "resources": ["pipelines/status"],
                 "verbs": ["get", "patch", "update"]},
                {"apiGroups": ["networking.k8s.io"], "resources": ["networkpolicies"],
                 "verbs": ["get", "create", "patch"]},
                {"apiGroups": [""], "resources": ["resourcequotas", "limitranges"],
                 "verbs": ["get", "create", "patch"]},
                // Applications with spec.serviceAccountName (or --default-service-account) act as it; the
                // namespace's labels select TenantPolicies.
                {"apiGroups": [""], "resources": ["serviceaccounts"], "verbs": ["impersonate"]},
                {"apiGroups": [""], "resources": ["namespaces"], "verbs": ["get"]},
                {"apiGroups": ["events.k8s.io"], "resources": ["events"], "verbs": ["create", "patch", "list"]},
                {"apiGroups": [""], "resources": ["secrets"], "verbs": ["get"]},
                // The HTTP API (--api-addr) verifies callers' tokens and asks whether they may do each request.
                {"apiGroups": ["authentication.k8s.io"], "resources": ["tokenreviews"], "verbs": ["create"]},
                {"apiGroups": ["authorization.k8s.io"], "resources": ["subjectaccessreviews"], "verbs": ["create"]},
                // Progressive delivery: Rollouts and analysis, and what the Rollout controller drives.
                {"apiGroups": ["argoproj.io"],
                 "resources": ["rollouts", "analysisruns", "analysistemplates", "clusteranalysistemplates",
                               "experiments"],
                 "verbs": ["get", "list", "watch", "create", "patch", "update"]},
                {"apiGroups": ["argoproj.io"],
                 "resources": ["rollouts/status", "analysisruns/status", "experiments/status"],
                 "verbs": ["get", "patch", "update"]},
                // AnalysisRuns past their ttlStrategy are deleted.
                {"apiGroups": ["argoproj.io"], "resources": ["analysisruns"], "verbs": ["delete"]},
                // Crashed pods of a canary abort the update; spec.restartAt deletes pods one at a time;
                // canaryMetadata / stableMetadata are patched onto running pods.
                {"apiGroups": [""], "resources": ["pods"], "verbs": ["get", "list", "delete", "patch"]},
                {"apiGroups": ["apps"], "resources": ["replicasets"],
                 "verbs": ["get", "list", "watch", "create", "patch", "update", "delete"]},
                // workloadRef: the Deployment's template (get); scaleDown: onsuccess (patch).
                {"apiGroups": ["apps"], "resources": ["deployments"], "verbs": ["get", "patch"]},
                // Services: Rollout selectors (patch); Experiment template Services (create, delete).
                {"apiGroups": [""], "resources": ["services"], "verbs": ["get", "patch", "create", "delete"]},
                {"apiGroups": ["networking.k8s.io"], "resources": ["ingresses"],
                 "verbs": ["get", "create", "patch"]},
                {"apiGroups": ["gateway.networking.k8s.io"], "resources": ["httproutes"],
                 "verbs": ["get", "patch"]},
                {"apiGroups": ["networking.istio.io"], "resources": ["virtualservices"],
                 "verbs": ["get", "patch"]},
                // Jobs of `job` metrics (owned by their AnalysisRun) and Pipelines' test Jobs.
                {"apiGroups": ["batch"], "resources": ["jobs"],
                 "verbs": ["get", "list", "watch", "create", "delete"]},
                {"apiGroups": ["apiextensions.k8s.io"], "resources": ["customresourcedefinitions"],
                 "verbs": ["get", "list", "watch"]},
            ],
        }),
        json!({
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "ClusterRole",
            "metadata": {"name": format!("{CONTROLLER_NAME}-apply"), "labels": labels},
            "rules": apply_rules(mode),
        }),
        json!({
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "ClusterRoleBinding",
            "metadata": {"name": CONTROLLER_NAME, "labels": labels},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": CONTROLLER_NAME},
            "subjects": subject,
        }),
        json!({
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "ClusterRoleBinding",
            "metadata": {"name": format!("{CONTROLLER_NAME}-apply"), "labels": labels},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole",
                        "name": format!("{CONTROLLER_NAME}-apply")},
            "subjects": subject,
        }),
        json!({
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "Role",
            "metadata": {"name": format!("{CONTROLLER_NAME}-leader-election"), "namespace": SYSTEM_NAMESPACE,
                         "labels": labels},
            "rules": [
                {"apiGroups": ["coordination.k8s.io"], "resources": ["leases"],
                 "verbs": ["get", "list", "watch", "create", "update", "patch", "delete"]},
            ],
        }),
        json!({
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "RoleBinding",
            "metadata": {"name": format!("{CONTROLLER_NAME}-leader-election"), "namespace": SYSTEM_NAMESPACE,
                         "labels": labels},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role",
                        "name": format!("{CONTROLLER_NAME}-leader-election")},
            "subjects": subject,
        }),
        json!({
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": CONTROLLER_NAME, "namespace": SYSTEM_NAMESPACE, "labels": labels},
            "spec": {
                "replicas": 1,
                "selector": {"matchLabels": labels},
                "template": {
                    "metadata": {"labels": labels},
                    "spec": {
                        "serviceAccountName": CONTROLLER_NAME,
                        "securityContext": {
                            "runAsNonRoot": true,
                            "runAsUser": 65532,
                            "runAsGroup": 65532,
                            "seccompProfile": {"type": "RuntimeDefault"},
                        },
                        "containers": [{
                            "name": "controller",
                            "image": image,
                            "args": controller_args(mode),
                            "env": [
                                {"name": "POD_NAME", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
                                {"name": "POD_NAMESPACE",
                                 "valueFrom": {"fieldRef": {"fieldPath": "metadata.namespace"}}},
                                {"name": "TACK_CACHE_DIR", "value": "/var/cache/tack"},
                                {"name": "HOME", "value": "/tmp"},
                            ],
                            "ports": [{"name": "metrics", "containerPort": METRICS_PORT, "protocol": "TCP"}],
                            "livenessProbe": {
                                "httpGet": {"path": "/healthz", "port": "metrics"},
                                "initialDelaySeconds": 5, "periodSeconds": 10,
                            },
                            "readinessProbe": {
                                "httpGet": {"path": "/readyz", "port": "metrics"},
                                "periodSeconds": 5,
                            },
                            "resources": {
                                "requests": {"cpu": "100m", "memory": "128Mi"},
                                "limits": {"memory": "1Gi"},
                            },
                            "securityContext": {
                                "allowPrivilegeEscalation": false,
                                "readOnlyRootFilesystem": true,
                                "capabilities": {"drop": ["ALL"]},
                            },
                            "volumeMounts": [
                                {"name": "cache", "mountPath": "/var/cache/tack"},
                                {"name": "tmp", "mountPath": "/tmp"},
                            ],
                        }],
                        "volumes": [
                            {"name": "cache", "emptyDir": {}},
                            {"name": "tmp", "emptyDir": {}},
                        ],
                    },
                },
            },
        }),
        json!({
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": CONTROLLER_NAME, "namespace": SYSTEM_NAMESPACE, "labels": labels},
            "spec": {
                "selector": labels,
                "ports": [{"name": "metrics", "port": METRICS_PORT, "targetPort": "metrics", "protocol": "TCP"}],
            },
        }),
    ]
}

pub async fn run(args: &InstallArgs, settings: &Settings) -> anyhow::Result<ExitCode> {
    let image = args.image.clone().unwrap_or_else(default_image);
    if args.locked_down && !tack_gitops::valid_service_account_name(&args.default_service_account) {
        anyhow::bail!(
            "--default-service-account {:?} is not a ServiceAccount name (lowercase letters, digits, '-' and '.')",
            args.default_service_account
        );
    }
    let mode = Mode {
        locked_down: args.locked_down.then(|| args.default_service_account.clone()),
    };
    let objects = manifests(&image, args.crds_only, &mode)?;
    if args.print {
        print!("{}", tack_yaml::to_yaml_stream(objects.iter()));
        return Ok(ExitCode::SUCCESS);
    }
    let cluster = settings.connect().await?;
    let opts = ApplyOptions {
        dry_run: false,
        force: true,
    };
    for object in &objects {
        let text = |p: &str| {
            object
                .pointer(p)
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string()
        };
        let (api_version, kind, name) = (text("/apiVersion"), text("/kind"), text("/metadata/name"));
        let resolved = cluster
            .resolve(&api_version, &kind)
            .await?
            .with_context(|| format!("the cluster does not serve {kind} ({api_version})"))?;
        cluster
            .apply(&resolved, object, opts)
            .await
            .with_context(|| format!("applying {kind} {name}"))?;
        if kind == "CustomResourceDefinition" {
            cluster
                .wait_crd_established(&name, Duration::from_secs(60))
                .await?;
            println!("customresourcedefinition/{name} applied and established");
        } else {
            println!("{}/{name} applied", kind.to_lowercase());
        }
    }
    if args.crds_only {
        println!("next: run `tack controller`, then `tack app create NAME --repo URL`");
    } else {
        println!(
            "the controller runs in namespace {SYSTEM_NAMESPACE} (image {image}); watch it with \
             `kubectl -n {SYSTEM_NAMESPACE} rollout status deployment/{CONTROLLER_NAME}`"
        );
        println!("next: `tack app create NAME --repo URL`");
    }
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manifests_are_ordered_and_use_the_image() -> anyhow::Result<()> {
        let all = manifests("example/tack:1", false, &Mode::default())?;
        let kinds: Vec<&str> = all.iter().filter_map(|o| o["kind"].as_str()).collect();
        assert_eq!(kinds.first(), Some(&"CustomResourceDefinition"));
        let ns = kinds.iter().position(|k| *k == "Namespace");
        let deploy = kinds.iter().position(|k| *k == "Deployment");
        assert!(ns < deploy);
        let d = &all[deploy.unwrap_or_default()];
        let c = &d["spec"]["template"]["spec"]["containers"][0];
        assert_eq!(c["image"], "example/tack:1");
        assert_eq!(c["args"][0], "controller");
        assert_eq!(c["args"][1], "--leader-elect");
        assert_eq!(c["livenessProbe"]["httpGet"]["path"], "/healthz");
        assert_eq!(c["readinessProbe"]["httpGet"]["path"], "/readyz");
        let only = manifests("x", true, &Mode::default())?;
        assert!(only.iter().all(|o| o["kind"] == "CustomResourceDefinition"));
        assert!(only.iter().any(|o| o["spec"]["names"]["kind"] == "TenantPolicy"));
        Ok(())
    }

    #[test]
    fn locked_down_manifests() -> anyhow::Result<()> {
        let find = |all: &[Value], kind: &str, name: &str| {
            all.iter()
                .find(|o| o["kind"] == kind && o["metadata"]["name"] == name)
                .cloned()
                .unwrap_or_default()
        };
        let open = manifests("x", false, &Mode::default())?;
        let locked = manifests(
            "x",
            false,
            &Mode {
                locked_down: Some("deployer".into()),
            },
        )?;
        // Both may impersonate ServiceAccounts and read TenantPolicies.
        for all in [&open, &locked] {
            let role = find(all, "ClusterRole", CONTROLLER_NAME);
            let rules = role["rules"].as_array().cloned().unwrap_or_default();
            assert!(rules.iter().any(
                |r| r["resources"] == json!(["serviceaccounts"]) && r["verbs"] == json!(["impersonate"])
            ));
            assert!(rules.iter().any(|r| r["resources"] == json!(["tenantpolicies"])));
        }
        let args = |all: &[Value]| {
            find(all, "Deployment", CONTROLLER_NAME)["spec"]["template"]["spec"]["containers"][0]["args"]
                .clone()
        };
        assert_eq!(args(&open).as_array().map(Vec::len), Some(3));
        let locked_args = args(&locked);
        for flag in [
            "--default-service-account=deployer",
            "--no-cross-namespace-refs",
            "--no-remote-bases",
        ] {
            assert!(
                locked_args.as_array().is_some_and(|a| a.contains(&json!(flag))),
                "{flag}"
            );
        }
        // Locked down, the controller's own rights on applications' objects are read-only but for ConfigMaps.
        let apply = find(&locked, "ClusterRole", &format!("{CONTROLLER_NAME}-apply"));
        let rules = apply["rules"].as_array().cloned().unwrap_or_default();
        assert_eq!(rules[0]["verbs"], json!(["get", "list", "watch"]));
        assert_eq!(rules[1]["resources"], json!(["configmaps"]));
        Ok(())
    }
}

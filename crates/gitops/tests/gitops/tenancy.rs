//! Tenancy on the local control plane: applications impersonate their ServiceAccount (a commit holding one
//! object or hook the ServiceAccount may not write is refused whole, naming the object, the verb and the
//! ServiceAccount, while a sibling with enough rights syncs), the lockdown flags (`--default-service-account`,
//! `--no-cross-namespace-refs`, `--no-remote-bases`) and TenantPolicies (a repository outside the allowed list,
//! a cluster-scoped object) refuse what they should, before anything is written.

use std::path::Path;
use std::time::Duration;

use anyhow::{Context, Result};
use k8s_openapi::api::core::v1::ConfigMap;
use k8s_openapi::api::rbac::v1::ClusterRole;
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::CustomResourceExt;
use kube::api::{Api, DeleteParams, Patch, PatchParams};
use serde_json::{Value, json};
use tack_gitops::{ControllerConfig, Lockdown};
use tack_model::{GitOpsConfig, GitOpsConfigStatus, SyncState, TenantPolicy};
use tack_testkit::{TestNamespace, eventually};

use super::{install_crd, status, stop_controller};

/// Applies `objects` with the test's (administrator) identity.
async fn apply_all(client: &kube::Client, objects: &[Value]) -> Result<()> {
    let cluster = tack_cluster::Cluster::from_client(client.clone(), "default");
    for o in objects {
        let text = |p: &str| o.pointer(p).and_then(Value::as_str).unwrap_or("").to_string();
        let kind = cluster
            .resolve(&text("/apiVersion"), &text("/kind"))
            .await?
            .with_context(|| format!("kind {} not served", text("/kind")))?;
        cluster
            .apply(
                &kind,
                o,
                tack_cluster::ApplyOptions {
                    dry_run: false,
                    force: true,
                },
            )
            .await?;
    }
    Ok(())
}

/// A ServiceAccount `name` of `ns` that may do anything with ConfigMaps of `ns` (a Role and a RoleBinding).
fn confined_account(ns: &str, name: &str) -> Vec<Value> {
    vec![
        json!({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": name, "namespace": ns}}),
        json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role",
               "metadata": {"name": name, "namespace": ns},
               "rules": [{"apiGroups": [""], "resources": ["configmaps"], "verbs": ["*"]}]}),
        json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
               "metadata": {"name": name, "namespace": ns},
               "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": name},
               "subjects": [{"kind": "ServiceAccount", "name": name, "namespace": ns}]}),
    ]
}

/// A PostSync hook Job.
const SMOKE_HOOK: &str = "apiVersion: batch/v1\nkind: Job\nmetadata:\n  name: smoke\n  annotations:\n    \
    argocd.argoproj.io/hook: PostSync\nspec:\n  template:\n    spec:\n      restartPolicy: Never\n      \
    containers:\n      - name: c\n        image: busybox\n";

fn config_map(name: &str, namespace: Option<&str>) -> String {
    let ns = namespace
        .map(|n| format!("  namespace: {n}\n"))
        .unwrap_or_default();
    format!("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name}\n{ns}data:\n  k: v\n")
}

fn cluster_role(name: &str) -> String {
    format!(
        "apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata:\n  name: {name}\nrules:\n- apiGroups: \
         [\"\"]\n  resources: [\"configmaps\"]\n  verbs: [\"get\"]\n"
    )
}

fn write(repo: &tack_testkit::GitRepo, files: &[(&str, String)]) -> Result<()> {
    for (path, text) in files {
        let path = repo.work().join(path);
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        std::fs::write(path, text)?;
    }
    Ok(())
}

fn start(
    client: &kube::Client,
    ns: &str,
    cache: &Path,
    lockdown: Lockdown,
) -> (tokio::sync::oneshot::Sender<()>, tokio::task::JoinHandle<()>) {
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let config = ControllerConfig {
        cache_dir: cache.to_path_buf(),
        namespace: Some(ns.to_string()),
        concurrency: 2,
        lockdown,
    };
    let handle = tokio::spawn(tack_gitops::run(client.clone(), config, async move {
        let _ = stopped.await;
    }));
    (stop, handle)
}

/// Creates application `name` of `ns` (automated, prune, 2 s interval) with extra spec fields.
async fn create_app(
    apps: &Api<GitOpsConfig>,
    ns: &str,
    name: &str,
    url: &str,
    path: &str,
    extra: Value,
) -> Result<()> {
    let mut spec = json!({
        "source": {"repoURL": url, "revision": "main", "path": path},
        "destination": {"namespace": ns},
        "syncPolicy": {"interval": "2s", "automated": {"prune": true}},
    });
    if let (Some(s), Some(e)) = (spec.as_object_mut(), extra.as_object()) {
        s.extend(e.clone());
    }
    let app = json!({"apiVersion": "gitops.tack.dev/v1alpha1", "kind": "GitOpsConfig",
                     "metadata": {"name": name, "namespace": ns}, "spec": spec});
    apps.patch(name, &PatchParams::apply("tack-test"), &Patch::Apply(&app))
        .await?;
    Ok(())
}

/// Waits for Ready=False of `name` and returns its reason and message.
async fn refused(apps: &Api<GitOpsConfig>, name: &str) -> Result<(String, String, GitOpsConfigStatus)> {
    eventually(
        Duration::from_secs(60),
        &format!("{name} Ready=False"),
        || async {
            let s = status(apps, name).await?;
            let ready = s.conditions.iter().find(|c| c.type_ == "Ready").cloned();
            Ok(ready
                .filter(|c| c.status == "False" && c.reason != "Progressing")
                .map(|c| (c.reason, c.message, s)))
        },
    )
    .await
}

async fn synced(apps: &Api<GitOpsConfig>, name: &str) -> Result<GitOpsConfigStatus> {
    eventually(Duration::from_secs(60), &format!("{name} Synced"), || async {
        let s = status(apps, name).await?;
        let ok = s.sync.as_ref().is_some_and(|x| x.status == SyncState::Synced)
            && s.conditions
                .iter()
                .any(|c| c.type_ == "Ready" && c.status == "True");
        Ok(ok.then_some(s))
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the local control plane"]
async fn a_confined_service_account_applies_nothing_of_a_commit_it_may_not_while_a_sibling_syncs()
-> Result<()> {
    tack_cluster::install_crypto_provider();
    let client = tack_testkit::client().await?;
    install_crd(&client).await?;
    let team = TestNamespace::new(&client, "tenancy").await?;
    let other = TestNamespace::new(&client, "tenancy-other").await?;
    let (ns, other_ns) = (team.name(), other.name());
    let (forbidden_role, sibling_role) = (format!("{ns}-forbidden"), format!("{ns}-sibling"));

    // `deployer` may write ConfigMaps of the team's namespace only; `operator` may also write ClusterRoles, Jobs
    // and ConfigMaps of the other namespace.
    let mut rbac = confined_account(ns, "deployer");
    rbac.extend(confined_account(ns, "operator"));
    // `reader` may also read (not write) ClusterRoles: its refusal comes from the server-side dry run.
    rbac.extend(confined_account(ns, "reader"));
    rbac.extend([
        json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
               "metadata": {"name": format!("{ns}-reader")},
               "rules": [{"apiGroups": ["rbac.authorization.k8s.io"], "resources": ["clusterroles"],
                          "verbs": ["get", "list", "watch"]}]}),
        json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
               "metadata": {"name": format!("{ns}-reader")},
               "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole",
                           "name": format!("{ns}-reader")},
               "subjects": [{"kind": "ServiceAccount", "name": "reader", "namespace": ns}]}),
    ]);
    rbac.extend([
        json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
               "metadata": {"name": format!("{ns}-operator")},
               "rules": [{"apiGroups": ["rbac.authorization.k8s.io"], "resources": ["clusterroles"], "verbs": ["*"]},
                         {"apiGroups": [""], "resources": ["configmaps"], "verbs": ["*"]},
                         {"apiGroups": ["batch"], "resources": ["jobs"], "verbs": ["*"]}]}),
        json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
               "metadata": {"name": format!("{ns}-operator")},
               "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole",
                           "name": format!("{ns}-operator")},
               "subjects": [{"kind": "ServiceAccount", "name": "operator", "namespace": ns}]}),
    ]);
    apply_all(&client, &rbac).await?;

    let repo = tack_testkit::GitRepo::new()?;
    write(
        &repo,
        &[
            ("cluster-role/allowed.yaml", config_map("allowed-a", None)),
            ("cluster-role/role.yaml", cluster_role(&forbidden_role)),
            ("other-ns/allowed.yaml", config_map("allowed-b", None)),
            ("read-only/allowed.yaml", config_map("allowed-c", None)),
            ("read-only/role.yaml", cluster_role(&forbidden_role)),
            ("hooked/allowed.yaml", config_map("allowed-d", None)),
            ("hooked/smoke.yaml", SMOKE_HOOK.to_string()),
            ("other-ns/intruder.yaml", config_map("intruder", Some(other_ns))),
            ("sibling/own.yaml", config_map("sibling-own", None)),
            ("sibling/role.yaml", cluster_role(&sibling_role)),
            ("sibling/there.yaml", config_map("sibling-there", Some(other_ns))),
            ("sibling/smoke.yaml", SMOKE_HOOK.to_string()),
        ],
    )?;
    repo.commit("main", "three applications")?;
    let cache = tempfile::tempdir()?;
    let (stop, handle) = start(&client, ns, cache.path(), Lockdown::default());
    let apps: Api<GitOpsConfig> = Api::namespaced(client.clone(), ns);
    let sa = |name: &str| json!({"serviceAccountName": name});
    create_app(
        &apps,
        ns,
        "cluster-role",
        &repo.url(),
        "cluster-role",
        sa("deployer"),
    )
    .await?;
    create_app(&apps, ns, "other-ns", &repo.url(), "other-ns", sa("deployer")).await?;
    create_app(&apps, ns, "sibling", &repo.url(), "sibling", sa("operator")).await?;
    create_app(&apps, ns, "read-only", &repo.url(), "read-only", sa("reader")).await?;
    create_app(&apps, ns, "hooked", &repo.url(), "hooked", sa("deployer")).await?;

    let user = format!("system:serviceaccount:{ns}:deployer");
    let (reason, message, s) = refused(&apps, "cluster-role").await?;
    eprintln!("cluster-role: {message}");
    assert_eq!(reason, "SyncFailed", "{message}");
    assert!(message.contains(&user), "{message}");
    assert!(message.contains(&format!("\"{forbidden_role}\"")), "{message}");
    assert!(
        message.contains("clusterroles") && message.contains("cannot "),
        "{message}"
    );
    assert!(s.inventory.is_empty(), "{:?}", s.inventory);
    let (reason, message, _) = refused(&apps, "other-ns").await?;
    eprintln!("other-ns: {message}");
    assert_eq!(reason, "SyncFailed", "{message}");
    assert!(message.contains(&user), "{message}");
    assert!(
        message.contains("\"intruder\"") && message.contains(other_ns),
        "{message}"
    );
    assert!(message.contains("cannot "), "{message}");
    // Reading allowed, writing not: the server-side dry run (a patch) refuses it before anything is written.
    let (reason, message, _) = refused(&apps, "read-only").await?;
    eprintln!("read-only: {message}");
    assert_eq!(reason, "SyncFailed", "{message}");
    assert!(
        message.contains(&format!("system:serviceaccount:{ns}:reader")),
        "{message}"
    );
    assert!(message.contains(&format!("\"{forbidden_role}\"")), "{message}");
    assert!(
        message.contains("cannot patch resource \"clusterroles\""),
        "{message}"
    );

    // A PostSync hook it may not create: refused before the sync, not after the ConfigMap is applied.
    let (reason, message, _) = refused(&apps, "hooked").await?;
    eprintln!("hooked: {message}");
    assert_eq!(reason, "Forbidden", "{message}");
    assert!(
        message.contains("hooked/smoke.yaml:1: hook Job/smoke"),
        "{message}"
    );
    assert!(
        message.contains(&format!("User \"{user}\" cannot create resource \"jobs\"")),
        "{message}"
    );

    // The sibling with enough rights syncs all three objects, and runs its hook.
    let s = synced(&apps, "sibling").await?;
    let jobs: Api<k8s_openapi::api::batch::v1::Job> = Api::namespaced(client.clone(), ns);
    assert!(jobs.get_opt("smoke").await?.is_some(), "{s:?}");
    let here: Api<ConfigMap> = Api::namespaced(client.clone(), ns);
    let there: Api<ConfigMap> = Api::namespaced(client.clone(), other_ns);
    let roles: Api<ClusterRole> = Api::all(client.clone());
    assert!(here.get_opt("sibling-own").await?.is_some());
    assert!(there.get_opt("sibling-there").await?.is_some());
    assert!(roles.get_opt(&sibling_role).await?.is_some());

    // Nothing of the refused commits was applied, not even the objects the ServiceAccount may write. (Checked
    // after the sibling synced, so that the refused applications were retried meanwhile.)
    assert!(here.get_opt("allowed-a").await?.is_none(), "allowed-a applied");
    assert!(here.get_opt("allowed-b").await?.is_none(), "allowed-b applied");
    assert!(here.get_opt("allowed-c").await?.is_none(), "allowed-c applied");
    assert!(here.get_opt("allowed-d").await?.is_none(), "allowed-d applied");
    assert!(there.get_opt("intruder").await?.is_none(), "intruder applied");
    assert!(
        roles.get_opt(&forbidden_role).await?.is_none(),
        "ClusterRole applied"
    );

    stop_controller(stop, handle).await?;
    let gone = DeleteParams::default();
    let _ = roles.delete(&sibling_role, &gone).await;
    let bindings: Api<k8s_openapi::api::rbac::v1::ClusterRoleBinding> = Api::all(client.clone());
    for name in [format!("{ns}-operator"), format!("{ns}-reader")] {
        let _ = roles.delete(&name, &gone).await;
        let _ = bindings.delete(&name, &gone).await;
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the local control plane"]
async fn lockdown_flags_default_service_account_cross_namespace_refs_and_remote_bases() -> Result<()> {
    tack_cluster::install_crypto_provider();
    let client = tack_testkit::client().await?;
    install_crd(&client).await?;
    let team = TestNamespace::new(&client, "lockdown").await?;
    let ns = team.name();
    let repo = tack_testkit::GitRepo::new()?;
    write(
        &repo,
        &[
            ("app/web.yaml", config_map("web", None)),
            (
                "remote/kustomization.yaml",
                "resources:\n- https://github.com/kubernetes-sigs/kustomize//examples/helloWorld?ref=v3.3.1\n".into(),
            ),
        ],
    )?;
    repo.commit("main", "an application and a remote base")?;
    let cache = tempfile::tempdir()?;
    let lockdown = Lockdown {
        default_service_account: Some("tenant".into()),
        no_cross_namespace_refs: true,
        no_remote_bases: true,
    };
    let (stop, handle) = start(&client, ns, cache.path(), lockdown);
    let apps: Api<GitOpsConfig> = Api::namespaced(client.clone(), ns);

    // No spec.serviceAccountName: impersonated as `tenant`, which has no rights yet.
    create_app(&apps, ns, "web", &repo.url(), "app", json!({})).await?;
    let (_, message, _) = refused(&apps, "web").await?;
    assert!(
        message.contains(&format!("system:serviceaccount:{ns}:tenant")),
        "{message}"
    );
    let cms: Api<ConfigMap> = Api::namespaced(client.clone(), ns);
    assert!(cms.get_opt("web").await?.is_none());
    // Given rights, it syncs (the next retry is within seconds).
    apply_all(&client, &confined_account(ns, "tenant")).await?;
    synced(&apps, "web").await?;
    assert!(cms.get_opt("web").await?.is_some());

    // dependsOn into another namespace.
    let dep = json!({"dependsOn": [{"name": "infra", "namespace": "kube-system"}]});
    create_app(&apps, ns, "needs-infra", &repo.url(), "app", dep).await?;
    let (reason, message, _) = refused(&apps, "needs-infra").await?;
    assert_eq!(reason, "PolicyViolation", "{message}");
    assert!(message.contains("spec.dependsOn[0].namespace"), "{message}");
    assert!(message.contains("--no-cross-namespace-refs"), "{message}");

    // A remote base, refused before any fetch.
    create_app(&apps, ns, "remote", &repo.url(), "remote", json!({})).await?;
    let (reason, message, _) = refused(&apps, "remote").await?;
    eprintln!("remote: {message}");
    assert_eq!(reason, "RenderFailed", "{message}");
    assert!(
        message.contains("kubernetes-sigs/kustomize//examples/helloWorld"),
        "{message}"
    );
    assert!(message.contains("--no-remote-bases"), "{message}");

    stop_controller(stop, handle).await
}

async fn install_tenant_policy_crd(client: &kube::Client) -> Result<()> {
    let crds: Api<CustomResourceDefinition> = Api::all(client.clone());
    let crd = TenantPolicy::crd();
    let name = crd.metadata.name.clone().context("CRD name")?;
    crds.patch(&name, &PatchParams::apply("tack").force(), &Patch::Apply(&crd))
        .await?;
    tack_cluster::Cluster::from_client(client.clone(), "default")
        .wait_crd_established(&name, Duration::from_secs(60))
        .await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the local control plane"]
async fn a_tenant_policy_refuses_a_repository_outside_its_list_and_cluster_scoped_objects() -> Result<()> {
    tack_cluster::install_crypto_provider();
    let client = tack_testkit::client().await?;
    install_crd(&client).await?;
    install_tenant_policy_crd(&client).await?;
    let team = TestNamespace::new(&client, "policy").await?;
    let ns = team.name();
    let policy_name = format!("{ns}-team");
    let policies: Api<TenantPolicy> = Api::all(client.clone());
    // The policy selects the namespace by a label of its own (the label path of the selection).
    let namespaces: Api<k8s_openapi::api::core::v1::Namespace> = Api::all(client.clone());
    let label = json!({"metadata": {"labels": {"tack.dev/tenant": ns}}});
    namespaces
        .patch(ns, &PatchParams::default(), &Patch::Merge(&label))
        .await?;
    let policy = |repos: Value| {
        json!({"apiVersion": "gitops.tack.dev/v1alpha1", "kind": "TenantPolicy",
               "metadata": {"name": policy_name},
               "spec": {"namespaceSelector": {"matchLabels": {"tack.dev/tenant": ns}}, "sourceRepos": repos,
                        "destinations": [{"namespace": ns}], "denyClusterScoped": true}})
    };
    policies
        .patch(
            &policy_name,
            &PatchParams::apply("tack-test").force(),
            &Patch::Apply(&policy(json!(["https://git.example.com/team/*"]))),
        )
        .await?;
    let repo = tack_testkit::GitRepo::new()?;
    let role = format!("{ns}-role");
    write(
        &repo,
        &[
            ("app/web.yaml", config_map("web", None)),
            ("app/role.yaml", cluster_role(&role)),
        ],
    )?;
    repo.commit("main", "a ConfigMap and a ClusterRole")?;
    let cache = tempfile::tempdir()?;
    let (stop, handle) = start(&client, ns, cache.path(), Lockdown::default());
    let apps: Api<GitOpsConfig> = Api::namespaced(client.clone(), ns);
    create_app(&apps, ns, "web", &repo.url(), "app", json!({})).await?;

    let (reason, message, s) = refused(&apps, "web").await?;
    assert_eq!(reason, "PolicyViolation", "{message}");
    assert!(
        message.contains(&format!(
            "TenantPolicy {policy_name}: rule sourceRepos: repository {}",
            repo.url()
        )),
        "{message}"
    );
    // Refused before the fetch: no revision was resolved.
    assert!(
        s.sync.as_ref().and_then(|x| x.revision.as_ref()).is_none(),
        "{s:?}"
    );

    // The repository allowed, the ClusterRole is refused before anything is written.
    policies
        .patch(
            &policy_name,
            &PatchParams::apply("tack-test").force(),
            &Patch::Apply(&policy(json!(["https://git.example.com/team/*", "file://*"]))),
        )
        .await?;
    let refresh = json!({"metadata": {"annotations": {tack_gitops::REFRESH_ANNOTATION: "1"}}});
    apps.patch("web", &PatchParams::default(), &Patch::Merge(&refresh))
        .await?;
    let message = eventually(Duration::from_secs(60), "denyClusterScoped refusal", || async {
        let s = status(&apps, "web").await?;
        Ok(s.conditions
            .iter()
            .find(|c| c.type_ == "Ready" && c.message.contains("rule denyClusterScoped"))
            .map(|c| c.message.clone()))
    })
    .await?;
    eprintln!("policy: {message}");
    assert!(
        message.contains(&format!("ClusterRole.rbac.authorization.k8s.io/{role}")),
        "{message}"
    );
    let cms: Api<ConfigMap> = Api::namespaced(client.clone(), ns);
    assert!(
        cms.get_opt("web").await?.is_none(),
        "nothing of the commit is applied"
    );
    let roles: Api<ClusterRole> = Api::all(client.clone());
    assert!(roles.get_opt(&role).await?.is_none());

    stop_controller(stop, handle).await?;
    policies.delete(&policy_name, &DeleteParams::default()).await?;
    Ok(())
}

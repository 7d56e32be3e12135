//! Helm charts, one chart with a values file per environment (the seed's configuration-management
//! scenario), the chart kept in the Git repository, in a chart repository (an HTTP server on 127.0.0.1) or in
//! an OCI registry (the CNCF Distribution registry on 127.0.0.1), the values files always in Git: each
//! environment Synced and Healthy with its own values; a values change in Git is applied; a template error
//! leaves the cluster untouched with Ready=False naming the template and line; fields tack cannot honour are
//! refused as an invalid spec.

use std::time::Duration;

use anyhow::{Context, Result};
use k8s_openapi::api::apps::v1::Deployment;
use kube::api::{Api, Patch, PatchParams};
use serde_json::json;
use tack_model::GitOpsConfig;
use tack_testkit::{TestNamespace, eventually};

use super::{condition, install_crd, start_controller, status, stop_controller, wait_synced_healthy};

const CHART: &str = "apiVersion: v2\nname: guestbook\nversion: 0.1.0\nappVersion: \"v5\"\n";
const VALUES: &str = "replicaCount: 1\nimage:\n  repository: gcr.io/google-samples/gb-frontend\n  tag: \"\"\nservice:\n  port: 80\n";
const HELPERS: &str = r#"{{- define "guestbook.fullname" -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- define "guestbook.labels" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}
"#;
const DEPLOYMENT: &str = r#"apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ include "guestbook.fullname" . }}
  labels:
    {{- include "guestbook.labels" . | nindent 4 }}
spec:
  replicas: {{ .Values.replicaCount }}
  selector:
    matchLabels:
      {{- include "guestbook.labels" . | nindent 6 }}
  template:
    metadata:
      labels:
        {{- include "guestbook.labels" . | nindent 8 }}
    spec:
      containers:
        - name: frontend
          image: "{{ .Values.image.repository }}:{{ .Values.image.tag | default .Chart.AppVersion }}"
          ports:
            - containerPort: 80
"#;
const SERVICE: &str = r#"apiVersion: v1
kind: Service
metadata:
  name: {{ include "guestbook.fullname" . }}
spec:
  selector:
    {{- include "guestbook.labels" . | nindent 4 }}
  ports:
    - port: {{ .Values.service.port }}
      targetPort: 80
"#;

fn chart_files(qa_replicas: u32, deployment: &str) -> Vec<(String, String)> {
    vec![
        ("chart/Chart.yaml".into(), CHART.into()),
        ("chart/values.yaml".into(), VALUES.into()),
        ("chart/templates/_helpers.tpl".into(), HELPERS.into()),
        ("chart/templates/deployment.yaml".into(), deployment.into()),
        ("chart/templates/service.yaml".into(), SERVICE.into()),
        (
            "chart/templates/NOTES.txt".into(),
            "Thank you for installing {{ .Chart.Name }}.\n".into(),
        ),
        (
            "envs/values-qa.yaml".into(),
            format!("replicaCount: {qa_replicas}\n"),
        ),
        (
            "envs/values-e2e.yaml".into(),
            "replicaCount: 3\nimage:\n  tag: v6\n".into(),
        ),
    ]
}

async fn image_and_replicas(deployments: &Api<Deployment>, name: &str) -> Result<(String, i32)> {
    let d = deployments.get(name).await?;
    let spec = d.spec.context("spec")?;
    let image = spec
        .template
        .spec
        .and_then(|p| p.containers.first().and_then(|c| c.image.clone()))
        .unwrap_or_default();
    Ok((image, spec.replicas.unwrap_or(1)))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the local control plane"]
async fn a_chart_in_git_deploys_one_environment_per_values_file() -> Result<()> {
    tack_cluster::install_crypto_provider();
    let client = tack_testkit::client().await?;
    install_crd(&client).await?;
    let ns = TestNamespace::new(&client, "helm").await?;
    let qa = format!("{}-qa", ns.name());
    let e2e = format!("{}-e2e", ns.name());
    let repo = tack_testkit::GitRepo::new()?;
    let write = |files: &[(String, String)]| -> Result<String> {
        for (path, text) in files {
            let p = repo.work().join(path);
            std::fs::create_dir_all(p.parent().context("parent")?)?;
            std::fs::write(p, text)?;
        }
        repo.commit("main", "chart")
    };
    write(&chart_files(2, DEPLOYMENT))?;

    let cache = tempfile::tempdir()?;
    let (stop, handle) = start_controller(&client, ns.name(), cache.path());
    let apps: Api<GitOpsConfig> = Api::namespaced(client.clone(), ns.name());
    let env_app = |name: &str, dest: &str, helm: serde_json::Value| {
        json!({
            "apiVersion": "gitops.tack.dev/v1alpha1",
            "kind": "GitOpsConfig",
            "metadata": {"name": name, "namespace": ns.name()},
            "spec": {
                "source": {"repoURL": repo.url(), "revision": "main", "path": "chart", "helm": helm},
                "destination": {"namespace": dest},
                "syncPolicy": {"interval": "2s", "automated": {"prune": true, "selfHeal": true},
                               "createNamespace": true},
            },
        })
    };
    let qa_app = env_app(
        "guestbook-qa",
        &qa,
        json!({"valueFiles": ["../envs/values-qa.yaml"]}),
    );
    let e2e_app = env_app(
        "guestbook-e2e",
        &e2e,
        json!({"releaseName": "gb", "valueFiles": ["../envs/values-e2e.yaml"],
               "valuesObject": {"service": {"port": 8080}},
               "parameters": [{"name": "image.repository", "value": "registry.local/gb-frontend"}]}),
    );
    for (name, app) in [("guestbook-qa", &qa_app), ("guestbook-e2e", &e2e_app)] {
        apps.patch(name, &PatchParams::apply("tack-test"), &Patch::Apply(app))
            .await?;
    }
    for name in ["guestbook-qa", "guestbook-e2e"] {
        let s = wait_synced_healthy(&apps, name, 1, Duration::from_secs(90)).await?;
        assert_eq!(s.inventory.len(), 2, "{name}: {:?}", s.inventory);
    }
    // The release name defaults to the application's name; each environment has its own values.
    let qa_deployments: Api<Deployment> = Api::namespaced(client.clone(), &qa);
    let (image, replicas) = image_and_replicas(&qa_deployments, "guestbook-qa-guestbook").await?;
    assert_eq!(
        (image.as_str(), replicas),
        ("gcr.io/google-samples/gb-frontend:v5", 2)
    );
    let e2e_deployments: Api<Deployment> = Api::namespaced(client.clone(), &e2e);
    let (image, replicas) = image_and_replicas(&e2e_deployments, "gb-guestbook").await?;
    assert_eq!((image.as_str(), replicas), ("registry.local/gb-frontend:v6", 3));
    let services: Api<k8s_openapi::api::core::v1::Service> = Api::namespaced(client.clone(), &e2e);
    let port = services
        .get("gb-guestbook")
        .await?
        .spec
        .context("spec")?
        .ports
        .context("ports")?[0]
        .port;
    assert_eq!(port, 8080, "valuesObject applied");

    // A values change in Git reaches its environment.
    let scaled = write(&chart_files(4, DEPLOYMENT))?;
    eventually(Duration::from_secs(45), "qa scaled to 4 from Git", || async {
        let (_, replicas) = image_and_replicas(&qa_deployments, "guestbook-qa-guestbook").await?;
        Ok((replicas == 4).then_some(()))
    })
    .await?;

    // A template error: nothing applied, Ready=False names the template and the line.
    let broken = DEPLOYMENT.replace(
        "  replicas: {{ .Values.replicaCount }}",
        "  replicas: {{ required \"replicaCount is required\" .Values.missing }}",
    );
    write(&chart_files(1, &broken))?;
    let s = eventually(Duration::from_secs(45), "qa RenderFailed", || async {
        let s = status(&apps, "guestbook-qa").await?;
        Ok(condition(&s, "Ready")
            .is_some_and(|c| c.status == "False" && c.reason == "RenderFailed")
            .then_some(s))
    })
    .await?;
    let message = &condition(&s, "Ready").context("Ready")?.message;
    assert!(message.contains("templates/deployment.yaml:8"), "{message}");
    assert!(message.contains("replicaCount is required"), "{message}");
    let (_, replicas) = image_and_replicas(&qa_deployments, "guestbook-qa-guestbook").await?;
    assert_eq!(
        replicas, 4,
        "a commit with a template error must leave the cluster untouched"
    );

    // A field tack cannot honour is refused, not ignored.
    let mut odd = env_app("odd", &qa, json!({}));
    odd["spec"]["source"]["kustomize"] = json!({"namePrefix": "x-"});
    apps.patch("odd", &PatchParams::apply("tack-test"), &Patch::Apply(&odd))
        .await?;
    eventually(Duration::from_secs(30), "odd InvalidSpec", || async {
        let s = status(&apps, "odd").await?;
        Ok(condition(&s, "Ready")
            .is_some_and(|c| c.reason == "InvalidSpec" && c.message.contains("spec.source.kustomize"))
            .then_some(()))
    })
    .await?;

    // An application naming a ServiceAccount is applied as it: `team-a` has no rights, so it is refused (naming
    // it), not applied with the controller's rights (tenancy.rs tests impersonation in depth).
    let mut confined = env_app("confined", &qa, json!({}));
    confined["spec"]["serviceAccountName"] = json!("team-a");
    // The last commit that renders.
    confined["spec"]["source"]["revision"] = json!(scaled);
    apps.patch(
        "confined",
        &PatchParams::apply("tack-test"),
        &Patch::Apply(&confined),
    )
    .await?;
    let user = format!("system:serviceaccount:{}:team-a", ns.name());
    eventually(Duration::from_secs(30), "confined refused as team-a", || async {
        let s = status(&apps, "confined").await?;
        Ok(condition(&s, "Ready")
            .is_some_and(|c| c.status == "False" && c.message.contains(&user))
            .then_some(()))
    })
    .await?;

    stop_controller(stop, handle).await?;
    let namespaces: Api<k8s_openapi::api::core::v1::Namespace> = Api::all(client.clone());
    for dest in [&qa, &e2e] {
        let _ = namespaces.delete(dest, &Default::default()).await;
    }
    Ok(())
}

/// One environment of the `web` chart (`helm create`, tests/charts of tack-source) from a chart repository or
/// registry, its values file in Git (`envs/values-ENV.yaml`, relative to `spec.source.path`).
fn chart_app(
    ns: &str,
    name: &str,
    dest: &str,
    git: &str,
    chart: serde_json::Value,
    env: &str,
) -> serde_json::Value {
    json!({
        "apiVersion": "gitops.tack.dev/v1alpha1",
        "kind": "GitOpsConfig",
        "metadata": {"name": name, "namespace": ns},
        "spec": {
            "source": {"repoURL": git, "revision": "main", "path": "envs",
                       "helm": {"chart": chart, "valueFiles": [format!("values-{env}.yaml")]}},
            "destination": {"namespace": dest},
            "syncPolicy": {"interval": "2s", "automated": {"prune": true, "selfHeal": true},
                           "createNamespace": true},
        },
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the local control plane"]
async fn charts_from_a_chart_repository_and_an_oci_registry_with_values_from_git() -> Result<()> {
    use tack_testkit::charts::{Registry, repository_server};
    tack_cluster::install_crypto_provider();
    let client = tack_testkit::client().await?;
    install_crd(&client).await?;
    let ns = TestNamespace::new(&client, "helmrepo").await?;
    let server = repository_server();
    let registry = Registry::start(false);
    for chart in ["web-1.0.0.tgz", "web-1.1.0.tgz"] {
        registry.push(chart, None);
    }
    let repo = tack_testkit::GitRepo::new()?;
    let write = |qa: &str, prod: &str| -> Result<String> {
        std::fs::create_dir_all(repo.work().join("envs"))?;
        std::fs::write(repo.work().join("envs/values-qa.yaml"), qa)?;
        std::fs::write(repo.work().join("envs/values-prod.yaml"), prod)?;
        repo.commit("main", "values")
    };
    write("replicaCount: 2\n", "replicaCount: 3\nimage:\n  tag: \"1.27\"\n")?;

    let cache = tempfile::tempdir()?;
    let (stop, handle) = start_controller(&client, ns.name(), cache.path());
    let apps: Api<GitOpsConfig> = Api::namespaced(client.clone(), ns.name());
    let from_repository = json!({"repoURL": server.url("/repo"), "name": "web", "version": "1.0.0"});
    let from_registry =
        json!({"repoURL": format!("oci://{}/charts", registry.addr), "name": "web", "version": "^1"});
    let envs = [
        ("repo-qa", from_repository.clone(), "qa"),
        ("repo-prod", from_repository, "prod"),
        ("oci-qa", from_registry.clone(), "qa"),
        ("oci-prod", from_registry, "prod"),
    ];
    let dest = |app: &str| format!("{}-{app}", ns.name());
    for (name, chart, env) in &envs {
        let app = chart_app(ns.name(), name, &dest(name), &repo.url(), chart.clone(), env);
        apps.patch(name, &PatchParams::apply("tack-test"), &Patch::Apply(&app))
            .await?;
    }
    for (name, _, _) in &envs {
        let s = wait_synced_healthy(&apps, name, 1, Duration::from_secs(120)).await?;
        // helm create's chart: a ServiceAccount, a Service and a Deployment.
        assert_eq!(s.inventory.len(), 3, "{name}: {:?}", s.inventory);
    }
    // The release name is the application's name; each environment has its own values; the registry's
    // newest 1.x is 1.1.0 (appVersion 1.16.0 in both).
    let deployments = |app: &str| -> Api<Deployment> { Api::namespaced(client.clone(), &dest(app)) };
    for (name, want) in [
        ("repo-qa", ("nginx:1.16.0", 2)),
        ("repo-prod", ("nginx:1.27", 3)),
        ("oci-qa", ("nginx:1.16.0", 2)),
        ("oci-prod", ("nginx:1.27", 3)),
    ] {
        let (image, replicas) = image_and_replicas(&deployments(name), &format!("{name}-web")).await?;
        assert_eq!((image.as_str(), replicas), want, "{name}");
        let d = deployments(name).get(&format!("{name}-web")).await?;
        let version = d.metadata.labels.unwrap_or_default().remove("helm.sh/chart");
        let want = if name.starts_with("oci") {
            "web-1.1.0"
        } else {
            "web-1.0.0"
        };
        assert_eq!(version.as_deref(), Some(want), "{name}");
    }

    // A values change in Git reaches the environments that use the file.
    write("replicaCount: 4\n", "replicaCount: 3\nimage:\n  tag: \"1.27\"\n")?;
    for name in ["repo-qa", "oci-qa"] {
        let api = deployments(name);
        let object = format!("{name}-web");
        eventually(Duration::from_secs(60), "qa scaled to 4 from Git", || async {
            let (_, replicas) = image_and_replicas(&api, &object).await?;
            Ok((replicas == 4).then_some(()))
        })
        .await?;
    }

    // A template error (values without `image`): nothing applied, Ready=False names the template and the line
    // as helm does (`web/templates/deployment.yaml:41:28`, from the reference helm).
    write("replicaCount: 4\n", "replicaCount: 5\nimage: null\n")?;
    for name in ["repo-prod", "oci-prod"] {
        let s = eventually(Duration::from_secs(60), "prod RenderFailed", || async {
            let s = status(&apps, name).await?;
            Ok(condition(&s, "Ready")
                .is_some_and(|c| c.status == "False" && c.reason == "RenderFailed")
                .then_some(s))
        })
        .await?;
        let message = &condition(&s, "Ready").context("Ready")?.message;
        assert!(
            message.contains("web/templates/deployment.yaml:41:28"),
            "{message}"
        );
        assert!(
            message.contains("nil pointer evaluating interface {}.repository"),
            "{message}"
        );
        let (image, replicas) = image_and_replicas(&deployments(name), &format!("{name}-web")).await?;
        assert_eq!(
            (image.as_str(), replicas),
            ("nginx:1.27", 3),
            "{name}: a commit with a template error must leave the cluster untouched"
        );
    }

    // A version the repository does not have: FetchFailed naming the versions near it.
    let missing = chart_app(
        ns.name(),
        "missing",
        &dest("missing"),
        &repo.url(),
        json!({"repoURL": server.url("/repo"), "name": "web", "version": "1.0.5"}),
        "qa",
    );
    apps.patch(
        "missing",
        &PatchParams::apply("tack-test"),
        &Patch::Apply(&missing),
    )
    .await?;
    eventually(Duration::from_secs(30), "missing FetchFailed", || async {
        let s = status(&apps, "missing").await?;
        Ok(condition(&s, "Ready")
            .is_some_and(|c| {
                c.reason == "FetchFailed" && c.message.contains("nearest available: 1.2.0-rc.1, 1.1.0, 1.0.0")
            })
            .then_some(()))
    })
    .await?;

    stop_controller(stop, handle).await?;
    let namespaces: Api<k8s_openapi::api::core::v1::Namespace> = Api::all(client.clone());
    for (name, _, _) in &envs {
        let _ = namespaces.delete(&dest(name), &Default::default()).await;
    }
    let _ = namespaces.delete(&dest("missing"), &Default::default()).await;
    Ok(())
}

/// A Secret in `ns` with basic-auth keys.
async fn basic_auth_secret(
    client: &kube::Client,
    ns: &str,
    name: &str,
    user: &str,
    password: &str,
) -> Result<()> {
    let secrets: Api<k8s_openapi::api::core::v1::Secret> = Api::namespaced(client.clone(), ns);
    let secret = json!({
        "apiVersion": "v1", "kind": "Secret",
        "metadata": {"name": name, "namespace": ns},
        "stringData": {"username": user, "password": password},
    });
    secrets
        .patch(name, &PatchParams::apply("tack-test"), &Patch::Apply(&secret))
        .await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the local control plane"]
async fn charts_behind_credentials_are_fetched_with_the_credentials_secret() -> Result<()> {
    use tack_testkit::charts::{Registry, repository_server};
    tack_cluster::install_crypto_provider();
    let client = tack_testkit::client().await?;
    install_crd(&client).await?;
    let ns = TestNamespace::new(&client, "helmauth").await?;
    let server = repository_server();
    let registry = Registry::start(true);
    registry.push("web-1.0.0.tgz", Some(("tack", "chart-secret")));
    let repo = tack_testkit::GitRepo::new()?;
    std::fs::create_dir_all(repo.work().join("envs"))?;
    std::fs::write(repo.work().join("envs/values-qa.yaml"), "replicaCount: 2\n")?;
    repo.commit("main", "values")?;
    basic_auth_secret(&client, ns.name(), "repo-creds", "user", "pass").await?;
    basic_auth_secret(&client, ns.name(), "oci-creds", "tack", "chart-secret").await?;

    let cache = tempfile::tempdir()?;
    let (stop, handle) = start_controller(&client, ns.name(), cache.path());
    let apps: Api<GitOpsConfig> = Api::namespaced(client.clone(), ns.name());
    let private_repo = server.url("/private");
    let oci = format!("oci://{}/charts", registry.addr);
    let cases = [
        (
            "repo",
            json!({"repoURL": private_repo, "name": "web", "version": "1.0.0",
                   "credentialsSecret": {"name": "repo-creds"}, "plainHTTP": true}),
        ),
        (
            "oci",
            json!({"repoURL": oci, "name": "web", "version": "1.0.0",
                   "credentialsSecret": {"name": "oci-creds"}, "plainHTTP": true}),
        ),
        (
            "anonymous",
            json!({"repoURL": private_repo, "name": "web", "version": "1.0.0"}),
        ),
        (
            "over-http",
            json!({"repoURL": private_repo, "name": "web", "version": "1.0.0",
                   "credentialsSecret": {"name": "repo-creds"}}),
        ),
        (
            "no-secret",
            json!({"repoURL": private_repo, "name": "web", "version": "1.0.0",
                   "credentialsSecret": {"name": "absent"}, "plainHTTP": true}),
        ),
    ];
    let dest = |app: &str| format!("{}-{app}", ns.name());
    for (name, chart) in &cases {
        let app = chart_app(ns.name(), name, &dest(name), &repo.url(), chart.clone(), "qa");
        apps.patch(name, &PatchParams::apply("tack-test"), &Patch::Apply(&app))
            .await?;
    }
    for name in ["repo", "oci"] {
        let s = wait_synced_healthy(&apps, name, 1, Duration::from_secs(120)).await?;
        assert_eq!(s.inventory.len(), 3, "{name}: {:?}", s.inventory);
        let deployments: Api<Deployment> = Api::namespaced(client.clone(), &dest(name));
        let (image, replicas) = image_and_replicas(&deployments, &format!("{name}-web")).await?;
        assert_eq!((image.as_str(), replicas), ("nginx:1.16.0", 2), "{name}");
    }
    // Without credentials, over plain http:// without plainHTTP, or with a missing Secret: Ready=False saying
    // what to do, nothing deployed, and no credential in the message.
    for (name, reason, needle) in [
        (
            "anonymous",
            "FetchFailed",
            "spec.source.helm.chart.credentialsSecret",
        ),
        ("over-http", "FetchFailed", "spec.source.helm.chart.plainHTTP"),
        (
            "no-secret",
            "CredentialsInvalid",
            "spec.source.helm.chart.credentialsSecret",
        ),
    ] {
        let s = eventually(Duration::from_secs(60), "refused", || async {
            let s = status(&apps, name).await?;
            Ok(condition(&s, "Ready")
                .is_some_and(|c| c.status == "False" && c.reason == reason)
                .then_some(s))
        })
        .await?;
        let message = &condition(&s, "Ready").context("Ready")?.message;
        assert!(message.contains(needle), "{name}: {message}");
        assert!(
            !message.contains("pass\"") && !message.contains("chart-secret"),
            "{name}: {message}"
        );
        assert!(s.inventory.is_empty(), "{name}: {:?}", s.inventory);
    }

    stop_controller(stop, handle).await?;
    let namespaces: Api<k8s_openapi::api::core::v1::Namespace> = Api::all(client.clone());
    for (name, _) in &cases {
        let _ = namespaces.delete(&dest(name), &Default::default()).await;
    }
    Ok(())
}

use std::time::Duration;

use anyhow::{Context, Result, ensure};
use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode};
use http_body_util::BodyExt;
use k8s_openapi::api::authentication::v1::{TokenRequest, TokenRequestSpec};
use k8s_openapi::api::core::v1::ServiceAccount;
use k8s_openapi::api::events::v1::Event;
use k8s_openapi::api::rbac::v1::{PolicyRule, Role, RoleBinding, RoleRef, Subject};
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{Api, ObjectMeta, Patch, PatchParams, PostParams};
use kube::{CustomResourceExt, Resource, ResourceExt};
use serde_json::{Value, json};
use tack_api::{Mode, Options, Stores};
use tack_model::GitOpsConfig;
use tack_testkit::TestNamespace;
use tower::ServiceExt;

/// Installs the CRDs the API reads (GitOpsConfig and the argoproj.io ones), as on a fresh cluster.
pub(crate) async fn install_crds(client: &kube::Client) -> Result<()> {
    let crds: Api<CustomResourceDefinition> = Api::all(client.clone());
    let crd = GitOpsConfig::crd();
    let name = crd.metadata.name.clone().context("CRD name")?;
    crds.patch(&name, &PatchParams::apply("tack").force(), &Patch::Apply(&crd))
        .await?;
    let cluster = tack_cluster::Cluster::from_client(client.clone(), "default");
    cluster
        .wait_crd_established(&name, Duration::from_secs(60))
        .await?;
    let pipelines = tack_model::Pipeline::crd();
    let name = pipelines.metadata.name.clone().context("CRD name")?;
    crds.patch(
        &name,
        &PatchParams::apply("tack").force(),
        &Patch::Apply(&pipelines),
    )
    .await?;
    cluster
        .wait_crd_established(&name, Duration::from_secs(60))
        .await?;
    tack_delivery::install_crds(client).await?;
    Ok(())
}

/// A ServiceAccount with a Role of `rules` in `ns`, and a token for it.
pub(crate) async fn account(
    client: &kube::Client,
    ns: &str,
    name: &str,
    rules: Vec<PolicyRule>,
) -> Result<String> {
    let meta = |n: &str| ObjectMeta {
        name: Some(n.to_string()),
        namespace: Some(ns.to_string()),
        ..Default::default()
    };
    let pp = PostParams::default();
    let accounts: Api<ServiceAccount> = Api::namespaced(client.clone(), ns);
    accounts
        .create(
            &pp,
            &ServiceAccount {
                metadata: meta(name),
                ..Default::default()
            },
        )
        .await?;
    Api::<Role>::namespaced(client.clone(), ns)
        .create(
            &pp,
            &Role {
                metadata: meta(name),
                rules: Some(rules),
            },
        )
        .await?;
    Api::<RoleBinding>::namespaced(client.clone(), ns)
        .create(
            &pp,
            &RoleBinding {
                metadata: meta(name),
                role_ref: RoleRef {
                    api_group: Some("rbac.authorization.k8s.io".into()),
                    kind: "Role".into(),
                    name: name.into(),
                },
                subjects: Some(vec![Subject {
                    kind: "ServiceAccount".into(),
                    name: name.into(),
                    namespace: Some(ns.into()),
                    ..Default::default()
                }]),
            },
        )
        .await?;
    let request = TokenRequest {
        spec: Some(TokenRequestSpec {
            expiration_seconds: Some(600),
            ..Default::default()
        }),
        ..Default::default()
    };
    let answer = accounts.create_token_request(name, &pp, &request).await?;
    answer.status.and_then(|s| s.token).context("no token issued")
}

pub(crate) fn rule(group: &str, resources: &[&str], verbs: &[&str]) -> PolicyRule {
    PolicyRule {
        api_groups: Some(vec![group.to_string()]),
        resources: Some(resources.iter().map(|s| s.to_string()).collect()),
        verbs: verbs.iter().map(|s| s.to_string()).collect(),
        ..Default::default()
    }
}

/// The Deployment `web` the application fixture manages (2 replicas: Kubernetes makes a ReplicaSet and Pods).
pub(crate) async fn web_deployment(client: &kube::Client, ns: &str) -> Result<()> {
    let deployment: k8s_openapi::api::apps::v1::Deployment = serde_json::from_value(json!({
        "metadata": {"name": "web", "namespace": ns},
        "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "web"}},
                 "template": {"metadata": {"labels": {"app": "web"}},
                              "spec": {"containers": [{"name": "web", "image": "web:1"}]}}}
    }))?;
    Api::<k8s_openapi::api::apps::v1::Deployment>::namespaced(client.clone(), ns)
        .create(&PostParams::default(), &deployment)
        .await?;
    Ok(())
}

/// A Role that may read applications, rollouts and Events.
pub(crate) fn read_rules() -> Vec<PolicyRule> {
    vec![
        rule(
            "gitops.tack.dev",
            &["gitopsconfigs", "pipelines"],
            &["get", "list", "watch"],
        ),
        rule("argoproj.io", &["rollouts"], &["get", "list", "watch"]),
        rule("events.k8s.io", &["events"], &["list"]),
        rule("", &["pods"], &["list"]),
        rule("apps", &["replicasets"], &["list"]),
        rule("batch", &["jobs"], &["list"]),
    ]
}

/// A Role that may also act on them.
pub(crate) fn act_rules() -> Vec<PolicyRule> {
    let mut rules = read_rules();
    rules.push(rule(
        "gitops.tack.dev",
        &["gitopsconfigs", "pipelines"],
        &["patch"],
    ));
    rules.push(rule("argoproj.io", &["rollouts"], &["patch"]));
    rules
}

/// One request through the router: the status and the body as JSON (`Null` when it is not JSON).
pub(crate) async fn call(
    router: &Router,
    method: &str,
    uri: &str,
    token: Option<&str>,
    extra: &[(&str, &str)],
    body: Option<Value>,
) -> Result<(StatusCode, Value)> {
    let mut req = Request::builder()
        .method(method)
        .uri(uri)
        .header("host", "127.0.0.1:8080");
    if let Some(t) = token {
        req = req.header("authorization", format!("Bearer {t}"));
    }
    for (k, v) in extra {
        req = req.header(*k, *v);
    }
    let body = body.map_or_else(Body::empty, |b| Body::from(b.to_string()));
    let response = router.clone().oneshot(req.body(body)?).await?;
    let status = response.status();
    let bytes = response.into_body().collect().await?.to_bytes();
    Ok((status, serde_json::from_slice(&bytes).unwrap_or(Value::Null)))
}

const ACT: &[(&str, &str)] = &[("x-tack-request", "1"), ("content-type", "application/json")];

pub(crate) async fn app_fixture(client: &kube::Client, ns: &str) -> Result<Api<GitOpsConfig>> {
    let apps: Api<GitOpsConfig> = Api::namespaced(client.clone(), ns);
    let app: GitOpsConfig = serde_json::from_value(json!({
        "apiVersion": "gitops.tack.dev/v1alpha1", "kind": "GitOpsConfig",
        "metadata": {"name": "web", "namespace": ns, "labels": {"team": "shop"}},
        "spec": {
            "source": {"repoURL": "https://git.example.invalid/shop.git", "path": "web"},
            "destination": {"namespace": ns},
            "suspend": true
        }
    }))?;
    apps.create(&PostParams::default(), &app).await?;
    // The status a controller would have written: synced at c2 after c1, one object.
    let status = json!({"status": {
        "sync": {"status": "Synced", "revision": "c2"},
        "health": {"status": "Healthy"},
        "resources": [{"group": "apps", "version": "v1", "kind": "Deployment", "namespace": ns, "name": "web",
                       "status": "Synced", "health": {"status": "Healthy"}}],
        "history": [
            {"id": 1, "revision": "c1", "time": "2026-12-05T10:00:00Z", "result": "Succeeded"},
            {"id": 2, "revision": "c2", "time": "2026-12-05T11:00:00Z", "result": "Succeeded"}
        ],
        "conditions": [{"type": "Ready", "status": "True", "reason": "Synced", "message": "applied c2"}]
    }});
    apps.patch_status("web", &PatchParams::default(), &Patch::Merge(&status))
        .await?;
    Ok(apps)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the local control plane"]
async fn tokens_rbac_actions_csrf_read_only_and_the_change_stream() -> Result<()> {
    tack_cluster::install_crypto_provider();
    let client = tack_testkit::client().await?;
    install_crds(&client).await?;
    let ns = TestNamespace::new(&client, "api").await?;
    let ns = ns.name().to_string();
    let apps = app_fixture(&client, &ns).await?;
    let viewer = account(&client, &ns, "viewer", read_rules()).await?;
    let operator = account(&client, &ns, "operator", act_rules()).await?;

    let router = |read_only| {
        tack_api::router(
            client.clone(),
            Stores::start(&client, None),
            Options {
                mode: Mode::Token,
                read_only,
                gitops: Default::default(),
            },
        )
    };
    let api = router(false);
    let base = format!("/api/v1/namespaces/{ns}/applications/web");

    // Authentication: no token, a token the API server does not accept.
    let (s, body) = call(&api, "GET", "/api/v1/applications", None, &[], None).await?;
    ensure!(s == StatusCode::UNAUTHORIZED, "{s} {body}");
    ensure!(
        body["message"].as_str().is_some_and(|m| m.contains("Bearer")),
        "{body}"
    );
    let (s, _) = call(
        &api,
        "GET",
        "/api/v1/applications",
        Some("not-a-token"),
        &[],
        None,
    )
    .await?;
    ensure!(s == StatusCode::UNAUTHORIZED, "{s}");
    let (s, me) = call(&api, "GET", "/api/v1/whoami", Some(&viewer), &[], None).await?;
    ensure!(s == StatusCode::OK, "{s} {me}");
    ensure!(
        me["user"]["username"] == format!("system:serviceaccount:{ns}:viewer"),
        "{me}"
    );

    // The list without a namespace holds only what the viewer may list: its own namespace.
    let (s, list) = call(
        &api,
        "GET",
        "/api/v1/applications?label=team%3Dshop",
        Some(&viewer),
        &[],
        None,
    )
    .await?;
    ensure!(s == StatusCode::OK, "{s} {list}");
    let items = list["items"].as_array().context("items")?;
    ensure!(
        !items.is_empty() && items.iter().all(|i| i["namespace"] == ns.as_str()),
        "{list}"
    );
    let web = &items[0];
    ensure!(
        web["name"] == "web"
            && web["sync"] == "Synced"
            && web["health"] == "Healthy"
            && web["revision"] == "c2",
        "{web}"
    );
    ensure!(web["resources"] == 1 && web["suspended"] == true, "{web}");
    // Filters and pages.
    let (_, none) = call(
        &api,
        "GET",
        &format!("/api/v1/applications?namespace={ns}&health=Degraded"),
        Some(&viewer),
        &[],
        None,
    )
    .await?;
    ensure!(none["total"] == 0, "{none}");
    // Another namespace: refused, naming the verb and the user.
    let (s, body) = call(
        &api,
        "GET",
        "/api/v1/applications?namespace=default",
        Some(&viewer),
        &[],
        None,
    )
    .await?;
    ensure!(s == StatusCode::FORBIDDEN, "{s} {body}");
    ensure!(
        body["message"].as_str().is_some_and(
            |m| m.contains("may not list gitopsconfigs.gitops.tack.dev") && m.contains(":viewer")
        ),
        "{body}"
    );

    // One application, its history and events.
    let (s, one) = call(&api, "GET", &base, Some(&viewer), &[], None).await?;
    ensure!(
        s == StatusCode::OK && one["spec"]["source"]["path"] == "web",
        "{s} {one}"
    );
    let (_, history) = call(&api, "GET", &format!("{base}/history"), Some(&viewer), &[], None).await?;
    ensure!(
        history["items"][0]["id"] == 2 && history["items"][0]["current"] == true,
        "{history}"
    );
    // The tree: the Deployment with the ReplicaSet and Pods Kubernetes made for it; hidden from a user who
    // may not list Pods.
    web_deployment(&client, &ns).await?;
    let tree_uri = format!("{base}/tree");
    let tree = tack_testkit::eventually(
        Duration::from_secs(60),
        "ReplicaSet and 2 Pods in the tree",
        || {
            let (api, viewer, uri) = (api.clone(), viewer.clone(), tree_uri.clone());
            async move {
                let (_, tree) = call(&api, "GET", &uri, Some(&viewer), &[], None).await?;
                let rs = &tree["nodes"][0]["children"][0];
                Ok(
                    (rs["kind"] == "ReplicaSet" && rs["children"].as_array().is_some_and(|p| p.len() == 2))
                        .then_some(tree),
                )
            }
        },
    )
    .await?;
    ensure!(
        tree["nodes"][0]["kind"] == "Deployment" && tree["nodes"][0]["health"] == "Healthy",
        "{tree}"
    );
    let narrow = account(
        &client,
        &ns,
        "narrow",
        vec![rule("gitops.tack.dev", &["gitopsconfigs"], &["get", "list"])],
    )
    .await?;
    let (s, tree) = call(&api, "GET", &tree_uri, Some(&narrow), &[], None).await?;
    ensure!(s == StatusCode::OK, "{s} {tree}");
    ensure!(
        tree["childrenHiddenIn"] == json!([ns]) && tree["nodes"][0]["children"].is_null(),
        "{tree}"
    );

    let uid = apps.get("web").await?.meta().uid.clone().unwrap_or_default();
    let event: Event = serde_json::from_value(json!({
        "metadata": {"name": "web.api-test", "namespace": ns},
        "eventTime": "2026-12-05T12:00:00.000000Z",
        "reportingController": "tack.dev/test", "reportingInstance": "test",
        "action": "Sync", "reason": "Synced", "type": "Normal", "note": "applied c2",
        "regarding": {"apiVersion": "gitops.tack.dev/v1alpha1", "kind": "GitOpsConfig", "name": "web",
                      "namespace": ns, "uid": uid}
    }))?;
    Api::<Event>::namespaced(client.clone(), &ns)
        .create(&PostParams::default(), &event)
        .await?;
    let (s, events) = call(&api, "GET", &format!("{base}/events"), Some(&viewer), &[], None).await?;
    ensure!(s == StatusCode::OK, "{s} {events}");
    ensure!(events["items"][0]["note"] == "applied c2", "{events}");
    let (s, _) = call(
        &api,
        "GET",
        &format!("/api/v1/namespaces/{ns}/applications/missing"),
        Some(&viewer),
        &[],
        None,
    )
    .await?;
    ensure!(s == StatusCode::NOT_FOUND, "{s}");

    // Actions: the viewer is refused by RBAC; the operator is refused without the CSRF header or from another
    // origin, and allowed otherwise.
    let (s, body) = call(
        &api,
        "POST",
        &format!("{base}/sync"),
        Some(&viewer),
        ACT,
        Some(json!({})),
    )
    .await?;
    ensure!(s == StatusCode::FORBIDDEN, "{s} {body}");
    ensure!(
        body["message"]
            .as_str()
            .is_some_and(|m| m.contains("may not patch")),
        "{body}"
    );
    let (s, body) = call(
        &api,
        "POST",
        &format!("{base}/sync"),
        Some(&operator),
        &[("content-type", "application/json")],
        Some(json!({})),
    )
    .await?;
    ensure!(s == StatusCode::FORBIDDEN, "forged request: {s} {body}");
    let mut foreign = ACT.to_vec();
    foreign.push(("origin", "https://evil.example"));
    let (s, _) = call(
        &api,
        "POST",
        &format!("{base}/sync"),
        Some(&operator),
        &foreign,
        Some(json!({})),
    )
    .await?;
    ensure!(s == StatusCode::FORBIDDEN, "foreign origin: {s}");
    ensure!(
        apps.get("web")
            .await?
            .annotations()
            .get(tack_gitops::SYNC_ANNOTATION)
            .is_none(),
        "a refused request wrote nothing"
    );
    let (s, body) = call(
        &api,
        "POST",
        &format!("{base}/sync"),
        Some(&operator),
        ACT,
        Some(json!({"prune": true})),
    )
    .await?;
    ensure!(s == StatusCode::OK, "{s} {body}");
    let annotation = apps
        .get("web")
        .await?
        .annotations()
        .get(tack_gitops::SYNC_ANNOTATION)
        .cloned();
    ensure!(
        annotation.is_some_and(|a| a.ends_with(",prune")),
        "sync annotation"
    );
    let (s, body) = call(
        &api,
        "POST",
        &format!("{base}/rollback"),
        Some(&operator),
        ACT,
        None,
    )
    .await?;
    ensure!(s == StatusCode::OK, "{s} {body}");
    let pinned = apps.get("web").await?.spec.rollback.context("rollback")?;
    ensure!(pinned.revision == "c1", "{pinned:?}");
    let (s, body) = call(
        &api,
        "POST",
        &format!("{base}/rollback"),
        Some(&operator),
        ACT,
        Some(json!({"id": 7})),
    )
    .await?;
    ensure!(
        s == StatusCode::BAD_REQUEST
            && body["message"]
                .as_str()
                .is_some_and(|m| m.contains("no history entry 7")),
        "{s} {body}"
    );
    let (s, _) = call(
        &api,
        "POST",
        &format!("{base}/explode"),
        Some(&operator),
        ACT,
        None,
    )
    .await?;
    ensure!(s == StatusCode::NOT_FOUND, "{s}");

    // Read-only mode refuses the operator too.
    let read_only = router(true);
    let (s, body) = call(
        &read_only,
        "POST",
        &format!("{base}/resume"),
        Some(&operator),
        ACT,
        None,
    )
    .await?;
    ensure!(
        s == StatusCode::FORBIDDEN && body["message"].as_str().is_some_and(|m| m.contains("read-only")),
        "{s} {body}"
    );
    ensure!(apps.get("web").await?.spec.suspend, "still suspended");

    // Rollouts: a Rollout listed, then refused promote for the viewer (the rollout endpoints authorize too).
    let rollouts: Api<kube::api::DynamicObject> =
        Api::namespaced_with(client.clone(), &ns, &tack_delivery::rollout::rollout_resource());
    let rollout: kube::api::DynamicObject = serde_json::from_value(json!({
        "apiVersion": "argoproj.io/v1alpha1", "kind": "Rollout",
        "metadata": {"name": "shop", "namespace": ns},
        "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "shop"}},
                 "template": {"metadata": {"labels": {"app": "shop"}},
                              "spec": {"containers": [{"name": "shop", "image": "shop:1"}]}},
                 "strategy": {"canary": {"steps": [{"setWeight": 20}, {"pause": {}}]}}}
    }))?;
    rollouts.create(&PostParams::default(), &rollout).await?;
    let listed = tack_testkit::eventually(Duration::from_secs(20), "the rollout in the list", || {
        let api = api.clone();
        let viewer = viewer.clone();
        let ns = ns.clone();
        async move {
            let (_, list) = call(
                &api,
                "GET",
                &format!("/api/v1/rollouts?namespace={ns}"),
                Some(&viewer),
                &[],
                None,
            )
            .await?;
            Ok((list["total"] == 1).then_some(list))
        }
    })
    .await?;
    ensure!(
        listed["items"][0]["steps"] == 2 && listed["items"][0]["strategy"] == "canary",
        "{listed}"
    );
    let (s, one) = call(
        &api,
        "GET",
        &format!("/api/v1/namespaces/{ns}/rollouts/shop"),
        Some(&viewer),
        &[],
        None,
    )
    .await?;
    ensure!(
        s == StatusCode::OK && one["rollout"]["metadata"]["name"] == "shop",
        "{s} {one}"
    );
    let (s, _) = call(
        &api,
        "POST",
        &format!("/api/v1/namespaces/{ns}/rollouts/shop/pause"),
        Some(&viewer),
        ACT,
        None,
    )
    .await?;
    ensure!(s == StatusCode::FORBIDDEN, "{s}");
    let (s, body) = call(
        &api,
        "POST",
        &format!("/api/v1/namespaces/{ns}/rollouts/shop/pause"),
        Some(&operator),
        ACT,
        None,
    )
    .await?;
    ensure!(s == StatusCode::OK, "{s} {body}");
    ensure!(
        rollouts.get("shop").await?.data["spec"]["paused"] == true,
        "paused"
    );

    // Pipelines: the stages with their releases; a promotion request is the annotation `tack env` writes.
    let pipelines: Api<tack_model::Pipeline> = Api::namespaced(client.clone(), &ns);
    let pipeline: tack_model::Pipeline = serde_json::from_value(json!({
        "apiVersion": "gitops.tack.dev/v1alpha1", "kind": "Pipeline",
        "metadata": {"name": "shop", "namespace": ns},
        "spec": {"images": [{"name": "shop"}], "stages": [
            {"name": "qa", "application": {"name": "web"}},
            {"name": "e2e", "application": {"name": "web-e2e"}}
        ]}
    }))?;
    pipelines.create(&PostParams::default(), &pipeline).await?;
    pipelines
        .patch_status(
            "shop",
            &PatchParams::default(),
            &Patch::Merge(json!({"status": {"stages": [
                {"name": "qa", "release": "shop:v7", "health": "Healthy", "verified": true},
                {"name": "e2e", "release": "shop:v6"}
            ]}})),
        )
        .await?;
    let (s, list) = call(
        &api,
        "GET",
        &format!("/api/v1/pipelines?namespace={ns}"),
        Some(&viewer),
        &[],
        None,
    )
    .await?;
    ensure!(
        s == StatusCode::OK && list["items"][0]["stages"][0]["release"] == "shop:v7",
        "{s} {list}"
    );
    let promote = format!("/api/v1/namespaces/{ns}/pipelines/shop/promote");
    let (s, _) = call(
        &api,
        "POST",
        &promote,
        Some(&viewer),
        ACT,
        Some(json!({"stage": "e2e"})),
    )
    .await?;
    ensure!(s == StatusCode::FORBIDDEN, "{s}");
    let (s, body) = call(
        &api,
        "POST",
        &promote,
        Some(&operator),
        ACT,
        Some(json!({"stage": "qa"})),
    )
    .await?;
    ensure!(
        s == StatusCode::BAD_REQUEST
            && body["message"]
                .as_str()
                .is_some_and(|m| m.contains("first stage")),
        "{s} {body}"
    );
    let (s, body) = call(
        &api,
        "POST",
        &promote,
        Some(&operator),
        ACT,
        Some(json!({"stage": "e2e"})),
    )
    .await?;
    ensure!(s == StatusCode::OK, "{s} {body}");
    let requested = pipelines
        .get("shop")
        .await?
        .annotations()
        .get(&format!("{}e2e", tack_model::PROMOTE_ANNOTATION_PREFIX))
        .cloned();
    ensure!(requested.as_deref() == Some("shop:v7"), "{requested:?}");

    // The change stream: a status change of the application reaches a follower.
    let request = Request::builder()
        .uri("/api/v1/watch")
        .header("authorization", format!("Bearer {viewer}"))
        .body(Body::empty())?;
    let response = api.clone().oneshot(request).await?;
    ensure!(response.status() == StatusCode::OK, "{}", response.status());
    let mut body = response.into_body();
    apps.patch_status(
        "web",
        &PatchParams::default(),
        &Patch::Merge(json!({"status": {"health": {"status": "Degraded", "message": "pods crash"}}})),
    )
    .await?;
    let seen = tokio::time::timeout(Duration::from_secs(15), async {
        let mut text = String::new();
        while let Some(frame) = body.frame().await {
            if let Ok(data) = frame?.into_data() {
                text.push_str(&String::from_utf8_lossy(&data));
                if text.contains("\"kind\":\"application\"") && text.contains("\"name\":\"web\"") {
                    return Ok::<_, anyhow::Error>(text);
                }
            }
        }
        Ok(text)
    })
    .await
    .context("no change event within 15 s")??;
    ensure!(seen.contains("event: change"), "{seen}");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the local control plane"]
async fn kubeconfig_mode_acts_with_the_callers_credentials_and_serves_the_pages() -> Result<()> {
    tack_cluster::install_crypto_provider();
    let client = tack_testkit::client().await?;
    install_crds(&client).await?;
    let ns = TestNamespace::new(&client, "api-local").await?;
    let apps = app_fixture(&client, ns.name()).await?;
    let api = tack_api::router(
        client.clone(),
        Stores::start(&client, Some(ns.name())),
        Options {
            mode: Mode::Kubeconfig,
            read_only: false,
            gitops: Default::default(),
        },
    );
    let (s, list) = call(&api, "GET", "/api/v1/applications", None, &[], None).await?;
    ensure!(s == StatusCode::OK && list["total"] == 1, "{s} {list}");
    let base = format!("/api/v1/namespaces/{}/applications/web", ns.name());
    let (s, body) = call(&api, "POST", &format!("{base}/resume"), None, ACT, None).await?;
    ensure!(s == StatusCode::OK, "{s} {body}");
    ensure!(!apps.get("web").await?.spec.suspend, "resumed");
    // The pages and their security headers.
    let response = api
        .clone()
        .oneshot(Request::builder().uri("/").body(Body::empty())?)
        .await?;
    ensure!(response.status() == StatusCode::OK);
    let csp = response
        .headers()
        .get("content-security-policy")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    ensure!(
        csp.contains("default-src 'none'") && csp.contains("frame-ancestors 'none'"),
        "{csp}"
    );
    let html = response.into_body().collect().await?.to_bytes();
    ensure!(String::from_utf8_lossy(&html).contains("/assets/app.js"));
    let (s, _) = call(&api, "GET", "/api/v1/nothing", None, &[], None).await?;
    ensure!(s == StatusCode::NOT_FOUND);
    Ok(())
}

//! Managed routes and SMI, as Argo Rollouts documents them: `setHeaderRoute` and `setMirrorRoute` steps put routes
//! named in `managedRoutes` on the Istio VirtualService (before the other routes), on the Gateway API HTTPRoute
//! (rules after the others) and, for one header, on the NGINX canary Ingress (`canary-by-header`); a step without
//! `match`, an abort and the end of the update remove them. SMI: the TrafficSplit follows the steps with the
//! weights read back into the status.

use anyhow::{Context, Result};
use serde_json::{Value, json};
use tack_delivery::rollout::commands;

use crate::rollout_parity::wait_rollout_event;
use crate::rollout_support::{Env, MINUTE, install_open_crd, step};

const SERVICES: [&str; 2] = [
    "apiVersion: v1\nkind: Service\nmetadata: {name: web-stable}\nspec: {selector: {app: web}, ports: [{port: 80, targetPort: 8080}]}\n",
    "apiVersion: v1\nkind: Service\nmetadata: {name: web-canary}\nspec: {selector: {app: web}, ports: [{port: 80, targetPort: 8080}]}\n",
];

/// A Rollout of 2 replicas with `routing` (YAML flow) and `steps`.
fn rollout(routing: &str, steps: &str) -> String {
    format!(
        r#"
apiVersion: argoproj.io/v1alpha1
kind: Rollout
metadata: {{name: web}}
spec:
  replicas: 2
  selector: {{matchLabels: {{app: web}}}}
  template:
    metadata: {{labels: {{app: web}}}}
    spec: {{containers: [{{name: web, image: "web:1"}}]}}
  strategy:
    canary:
      canaryService: web-canary
      stableService: web-stable
      abortScaleDownDelaySeconds: 2
      trafficRouting: {routing}
      steps: {steps}
"#
    )
}

const HEADER_AND_MIRROR_STEPS: &str = "[{setWeight: 20}, \
     {setHeaderRoute: {name: header-route, match: [{headerName: x-canary, headerValue: {exact: 'yes'}}]}}, \
     {setMirrorRoute: {name: mirror-route, percentage: 50, match: [{method: {exact: GET}}]}}, \
     {pause: {}}, {setHeaderRoute: {name: header-route}}, {pause: {}}, {setWeight: 60}, {pause: {}}]";

async fn deploy(env: &Env, manifests: &[&str], rollout: &str) -> Result<()> {
    for m in SERVICES.iter().copied().chain(manifests.iter().copied()) {
        env.apply_yaml(m).await?;
    }
    env.apply_yaml(rollout).await?;
    env.wait_phase("web", "Healthy", MINUTE, |r| {
        r["status"]["availableReplicas"] == 2
    })
    .await?;
    Ok(())
}

/// Waits until `check` holds for the object.
async fn wait_object(
    env: &Env,
    (api_version, kind, name): (&str, &str, &str),
    what: &str,
    check: impl Fn(&Value) -> bool,
) -> Result<Value> {
    tack_testkit::eventually(MINUTE, what, || async {
        Ok(env.get(api_version, kind, name).await?.filter(|v| check(v)))
    })
    .await
}

fn http_names(vs: &Value) -> Vec<String> {
    vs["spec"]["http"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|r| r["name"].as_str().unwrap_or_default().to_string())
        .collect()
}

const VIRTUAL_SERVICE: &str = r#"
apiVersion: networking.istio.io/v1beta1
kind: VirtualService
metadata: {name: web}
spec:
  hosts: [web.example]
  http:
  - route:
    - {destination: {host: web-stable, port: {number: 80}}, weight: 100}
    - {destination: {host: web-canary, port: {number: 80}}, weight: 0}
"#;

#[tokio::test]
#[ignore = "needs the local control plane"]
async fn istio_header_and_mirror_routes_follow_the_steps() -> Result<()> {
    let client = tack_testkit::client().await?;
    install_open_crd(
        &client,
        "networking.istio.io",
        "v1beta1",
        "VirtualService",
        "virtualservices",
    )
    .await?;
    let mut env = Env::new("ro-istio-routes").await?;
    let ns = env.name().to_string();
    let routing = "{managedRoutes: [{name: header-route}, {name: mirror-route}], \
                   istio: {virtualService: {name: web}}}";
    deploy(
        &env,
        &[VIRTUAL_SERVICE],
        &rollout(routing, HEADER_AND_MIRROR_STEPS),
    )
    .await?;
    let vs = ("networking.istio.io/v1beta1", "VirtualService", "web");
    let first = env.get(vs.0, vs.1, vs.2).await?.context("vs")?;
    assert_eq!(http_names(&first), [""], "no managed route before an update");

    commands::set_image(&env.client, &ns, "web", "web", "web:2").await?;
    env.wait_phase("web", "Paused", MINUTE, |r| step(r) == 3).await?;
    let v = wait_object(&env, vs, "header and mirror routes first", |v| {
        http_names(v) == ["header-route", "mirror-route", ""]
    })
    .await?;
    let http = &v["spec"]["http"];
    assert_eq!(
        http[0]["match"],
        json!([{"headers": {"x-canary": {"exact": "yes"}}}])
    );
    assert_eq!(
        http[0]["route"],
        json!([{"destination": {"host": "web-canary", "port": {"number": 80}}, "weight": 100}])
    );
    assert_eq!(http[1]["match"], json!([{"method": {"exact": "GET"}}]));
    assert_eq!(
        http[1]["mirror"],
        json!({"host": "web-canary", "port": {"number": 80}})
    );
    assert_eq!(http[1]["mirrorPercentage"], json!({"value": 50}));
    assert_eq!(http[1]["route"], http[2]["route"], "mirror route keeps the split");
    assert_eq!(http[2]["route"][1]["weight"], 20);
    // The weighed route is still the unnamed one: the status reads 20 back from it.
    env.wait_phase("web", "Paused", MINUTE, |r| {
        r["status"]["canary"]["weights"]["verified"] == true
            && r["status"]["canary"]["weights"]["canary"]["weight"] == 20
    })
    .await?;

    let note = "VirtualService web canary 20 stable 80; managed routes: header-route, mirror-route";
    let events = wait_rollout_event(&env, "web", |reason, n| {
        reason == "TrafficWeightUpdated" && n == note
    })
    .await?;
    assert!(
        events
            .iter()
            .any(|(r, n)| r == "TrafficWeightUpdated" && n == note),
        "{events:?}"
    );

    // A restarted controller computes the same routes: not a single write to the VirtualService.
    let before = env.get(vs.0, vs.1, vs.2).await?.context("vs")?;
    env.stop_controller().await;
    env.start_controller();
    let until = tokio::time::Instant::now() + std::time::Duration::from_secs(5);
    while tokio::time::Instant::now() < until {
        let now = env.get(vs.0, vs.1, vs.2).await?.context("vs")?;
        assert_eq!(
            now["metadata"]["resourceVersion"], before["metadata"]["resourceVersion"],
            "VirtualService written after a restart"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }

    // `setHeaderRoute` without `match` removes the header route; the mirror route stays.
    commands::promote(&env.client, &ns, "web").await?;
    env.wait_phase("web", "Paused", MINUTE, |r| step(r) == 5).await?;
    wait_object(&env, vs, "header route removed", |v| {
        http_names(v) == ["mirror-route", ""]
    })
    .await?;

    // The end of the update removes the managed routes.
    commands::promote_full(&env.client, &ns, "web").await?;
    env.wait_phase("web", "Healthy", MINUTE, |r| {
        r["status"]["stableRS"] == r["status"]["currentPodHash"]
    })
    .await?;
    let v = wait_object(&env, vs, "managed routes removed at the end", |v| {
        http_names(v) == [""] && v["spec"]["http"][0]["route"][1]["weight"] == 0
    })
    .await?;
    assert_eq!(v["spec"]["http"][0]["route"][0]["weight"], 100);
    Ok(())
}

const HTTP_ROUTE: &str = r#"
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: web}
spec:
  parentRefs: [{name: gw}]
  rules:
  - matches: [{path: {type: PathPrefix, value: /}}]
    backendRefs:
    - {name: web-stable, port: 80, weight: 100}
    - {name: web-canary, port: 80, weight: 0}
"#;

#[tokio::test]
#[ignore = "needs the local control plane"]
async fn gateway_api_header_and_mirror_rules_go_on_abort() -> Result<()> {
    let client = tack_testkit::client().await?;
    install_open_crd(
        &client,
        "gateway.networking.k8s.io",
        "v1",
        "HTTPRoute",
        "httproutes",
    )
    .await?;
    let env = Env::new("ro-gw-routes").await?;
    let ns = env.name().to_string();
    let routing = "{managedRoutes: [{name: header-route}, {name: mirror-route}], \
                   plugins: {argoproj-labs/gatewayAPI: {httpRoute: web}}}";
    deploy(&env, &[HTTP_ROUTE], &rollout(routing, HEADER_AND_MIRROR_STEPS)).await?;
    let route = ("gateway.networking.k8s.io/v1", "HTTPRoute", "web");

    commands::set_image(&env.client, &ns, "web", "web", "web:2").await?;
    env.wait_phase("web", "Paused", MINUTE, |r| step(r) == 3).await?;
    let r = wait_object(&env, route, "header and mirror rules", |v| {
        v["spec"]["rules"].as_array().map(Vec::len) == Some(3)
    })
    .await?;
    assert_eq!(
        r["metadata"]["annotations"]["tack.dev/managed-routes"],
        r#"["header-route","mirror-route"]"#
    );
    let rules = &r["spec"]["rules"];
    assert_eq!(rules[0]["backendRefs"][1]["weight"], 20);
    assert_eq!(
        rules[1],
        json!({"matches": [{"path": {"type": "PathPrefix", "value": "/"},
                            "headers": [{"name": "x-canary", "type": "Exact", "value": "yes"}]}],
               "backendRefs": [{"group": "", "kind": "Service", "name": "web-canary", "port": 80}]})
    );
    assert_eq!(rules[2]["matches"], json!([{"method": "GET"}]));
    assert_eq!(rules[2]["backendRefs"], rules[0]["backendRefs"]);
    assert_eq!(
        rules[2]["filters"],
        json!([{"type": "RequestMirror", "requestMirror": {
            "backendRef": {"name": "web-canary", "port": 80}, "percent": 50}}])
    );
    env.wait_phase("web", "Paused", MINUTE, |r| {
        r["status"]["canary"]["weights"]["verified"] == true
    })
    .await?;

    // Abort: the managed rules go with the weight.
    commands::abort(&env.client, &ns, "web").await?;
    let r = wait_object(&env, route, "managed rules removed on abort", |v| {
        v["spec"]["rules"].as_array().map(Vec::len) == Some(1)
            && v["spec"]["rules"][0]["backendRefs"][1]["weight"] == 0
    })
    .await?;
    assert!(
        r["metadata"]["annotations"]["tack.dev/managed-routes"].is_null(),
        "{}",
        r["metadata"]
    );
    env.wait_phase("web", "Degraded", MINUTE, |_| true).await?;
    Ok(())
}

const INGRESS: &str = r#"
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: web}
spec:
  rules:
  - host: web.example
    http:
      paths:
      - {path: /, pathType: Prefix, backend: {service: {name: web-stable, port: {number: 80}}}}
"#;

#[tokio::test]
#[ignore = "needs the local control plane"]
async fn nginx_header_route_sets_canary_by_header() -> Result<()> {
    let env = Env::new("ro-nginx-routes").await?;
    let ns = env.name().to_string();
    let routing = "{managedRoutes: [{name: header-route}], nginx: {stableIngress: web}}";
    let steps = "[{setWeight: 20}, \
         {setHeaderRoute: {name: header-route, match: [{headerName: X-Canary, headerValue: {regex: '^(a|b)$'}}]}}, \
         {pause: {}}, {setHeaderRoute: {name: header-route}}, {pause: {}}]";
    deploy(&env, &[INGRESS], &rollout(routing, steps)).await?;
    let ingress = ("networking.k8s.io/v1", "Ingress", "web-web-canary");
    let annotation = |v: &Value, k: &str| {
        v["metadata"]["annotations"][format!("nginx.ingress.kubernetes.io/{k}")]
            .as_str()
            .map(str::to_string)
    };

    commands::set_image(&env.client, &ns, "web", "web", "web:2").await?;
    env.wait_phase("web", "Paused", MINUTE, |r| step(r) == 2).await?;
    let i = wait_object(&env, ingress, "canary-by-header", |v| {
        annotation(v, "canary-by-header").as_deref() == Some("X-Canary")
    })
    .await?;
    assert_eq!(
        annotation(&i, "canary-by-header-pattern").as_deref(),
        Some("^(a|b)$")
    );
    assert_eq!(annotation(&i, "canary-weight").as_deref(), Some("20"));

    commands::promote(&env.client, &ns, "web").await?;
    env.wait_phase("web", "Paused", MINUTE, |r| step(r) == 4).await?;
    let i = wait_object(&env, ingress, "header annotations removed", |v| {
        annotation(v, "canary-by-header").is_none()
    })
    .await?;
    assert_eq!(annotation(&i, "canary-by-header-pattern"), None);
    assert_eq!(annotation(&i, "canary-weight").as_deref(), Some("20"));
    Ok(())
}

/// A minimal TrafficSplit CRD serving `v1alpha1` (Argo Rollouts' default), `v1alpha2` and `v1alpha3`.
async fn install_traffic_split_crd(client: &kube::Client) -> Result<()> {
    use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
    use kube::api::{Api, Patch, PatchParams};
    let name = "trafficsplits.split.smi-spec.io";
    let version = |v: &str, storage: bool| {
        json!({"name": v, "served": true, "storage": storage,
               "schema": {"openAPIV3Schema": {"type": "object", "x-kubernetes-preserve-unknown-fields": true}}})
    };
    let crd: CustomResourceDefinition = serde_json::from_value(json!({
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": name},
        "spec": {
            "group": "split.smi-spec.io",
            "names": {"kind": "TrafficSplit", "listKind": "TrafficSplitList", "plural": "trafficsplits",
                      "singular": "trafficsplit"},
            "scope": "Namespaced",
            "versions": [version("v1alpha1", true), version("v1alpha2", false), version("v1alpha3", false)],
        }
    }))?;
    Api::<CustomResourceDefinition>::all(client.clone())
        .patch(
            name,
            &PatchParams::apply("tack-test").force(),
            &Patch::Apply(&crd),
        )
        .await
        .context("installing the TrafficSplit CRD")?;
    tack_cluster::Cluster::from_client(client.clone(), "default")
        .wait_crd_established(name, MINUTE)
        .await?;
    Ok(())
}

#[tokio::test]
#[ignore = "needs the local control plane"]
async fn smi_traffic_split_follows_the_steps() -> Result<()> {
    let client = tack_testkit::client().await?;
    install_traffic_split_crd(&client).await?;
    let env = Env::new("ro-smi").await?;
    let ns = env.name().to_string();
    let routing = "{smi: {rootService: web, trafficSplitName: web-split}}";
    deploy(
        &env,
        &[],
        &rollout(
            routing,
            "[{setWeight: 20}, {pause: {}}, {setWeight: 60}, {pause: {}}]",
        ),
    )
    .await?;
    let split = ("split.smi-spec.io/v1alpha1", "TrafficSplit", "web-split");
    let backends = |w: i64| {
        json!([{"service": "web-canary", "weight": w.to_string()},
               {"service": "web-stable", "weight": (100 - w).to_string()}])
    };
    let ts = wait_object(&env, split, "TrafficSplit at 0", |v| {
        v["spec"]["backends"] == backends(0)
    })
    .await?;
    assert_eq!(ts["spec"]["service"], "web");
    assert_eq!(ts["metadata"]["ownerReferences"][0]["kind"], "Rollout");
    assert_eq!(ts["metadata"]["ownerReferences"][0]["name"], "web");

    commands::set_image(&env.client, &ns, "web", "web", "web:2").await?;
    env.wait_phase("web", "Paused", MINUTE, |r| step(r) == 1).await?;
    wait_object(&env, split, "TrafficSplit at 20", |v| {
        v["spec"]["backends"] == backends(20)
    })
    .await?;
    env.wait_phase("web", "Paused", MINUTE, |r| {
        r["status"]["canary"]["weights"]["verified"] == true
            && r["status"]["canary"]["weights"]["canary"]["weight"] == 20
    })
    .await?;

    commands::promote(&env.client, &ns, "web").await?;
    env.wait_phase("web", "Paused", MINUTE, |r| step(r) == 3).await?;
    wait_object(&env, split, "TrafficSplit at 60", |v| {
        v["spec"]["backends"] == backends(60)
    })
    .await?;

    commands::promote_full(&env.client, &ns, "web").await?;
    env.wait_phase("web", "Healthy", MINUTE, |r| {
        r["status"]["stableRS"] == r["status"]["currentPodHash"]
    })
    .await?;
    wait_object(&env, split, "TrafficSplit back at 0", |v| {
        v["spec"]["backends"] == backends(0)
    })
    .await?;
    Ok(())
}

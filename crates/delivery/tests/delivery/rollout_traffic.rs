//! Traffic routers: NGINX canary Ingress, Gateway API HTTPRoute, Istio VirtualService (HTTP, TLS and TCP routes)
//! and DestinationRule subsets follow the steps; abort sends all traffic back to stable at once; a progress deadline
//! aborts a canary whose pods never become ready; `retry` starts again; a restarted controller resumes at the same
//! step without writing to the routers.

use std::time::Duration;

use anyhow::Result;
use serde_json::{Value, json};
use tack_delivery::rollout::commands;

use crate::rollout_support::{Env, MINUTE, current_hash, install_open_crd, stable_hash, step};

const SERVICES: [&str; 2] = [
    "apiVersion: v1\nkind: Service\nmetadata: {name: web-stable}\nspec: {selector: {app: web}, ports: [{port: 80, targetPort: 8080}]}\n",
    "apiVersion: v1\nkind: Service\nmetadata: {name: web-canary}\nspec: {selector: {app: web}, ports: [{port: 80, targetPort: 8080}]}\n",
];

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

fn nginx_rollout(extra: &str, template_labels: &str) -> String {
    format!(
        r#"
apiVersion: argoproj.io/v1alpha1
kind: Rollout
metadata: {{name: web}}
spec:
  replicas: 2
{extra}
  selector: {{matchLabels: {{app: web}}}}
  template:
    metadata: {{labels: {{app: web{template_labels}}}}}
    spec: {{containers: [{{name: web, image: "web:1"}}]}}
  strategy:
    canary:
      canaryService: web-canary
      stableService: web-stable
      abortScaleDownDelaySeconds: 2
      trafficRouting:
        nginx:
          stableIngress: web
          additionalIngressAnnotations: {{canary-by-header: X-Canary}}
      steps: [{{setWeight: 20}}, {{pause: {{}}}}, {{setWeight: 50}}, {{pause: {{}}}}]
"#
    )
}

async fn canary_weight(env: &Env) -> Result<Option<String>> {
    Ok(env
        .get("networking.k8s.io/v1", "Ingress", "web-web-canary")
        .await?
        .and_then(|i| {
            i.pointer("/metadata/annotations/nginx.ingress.kubernetes.io~1canary-weight")
                .and_then(Value::as_str)
                .map(str::to_string)
        }))
}

async fn wait_weight(env: &Env, want: &str) -> Result<()> {
    tack_testkit::eventually(MINUTE, &format!("canary Ingress weight {want}"), || async {
        Ok((canary_weight(env).await?.as_deref() == Some(want)).then_some(()))
    })
    .await
}

#[tokio::test]
#[ignore = "needs the local control plane"]
async fn nginx_canary_ingress_follows_the_steps_abort_and_retry() -> Result<()> {
    let env = Env::new("ro-nginx").await?;
    let ns = env.name().to_string();
    for s in SERVICES {
        env.apply_yaml(s).await?;
    }
    env.apply_yaml(INGRESS).await?;
    env.apply_yaml(&nginx_rollout("", "")).await?;
    let r = env
        .wait_phase("web", "Healthy", MINUTE, |r| {
            r["status"]["availableReplicas"] == 2
        })
        .await?;
    let v1 = stable_hash(&r);

    commands::set_image(&env.client, &ns, "web", "web", "web:2").await?;
    let r = env.wait_phase("web", "Paused", MINUTE, |r| step(r) == 1).await?;
    let v2 = current_hash(&r);
    wait_weight(&env, "20").await?;
    let ing = env
        .get("networking.k8s.io/v1", "Ingress", "web-web-canary")
        .await?
        .expect("canary ingress");
    let a = &ing["metadata"]["annotations"];
    assert_eq!(a["nginx.ingress.kubernetes.io/canary"], "true");
    assert_eq!(a["nginx.ingress.kubernetes.io/canary-by-header"], "X-Canary");
    assert_eq!(
        ing["spec"]["rules"][0]["http"]["paths"][0]["backend"]["service"]["name"],
        "web-canary"
    );
    assert_eq!(ing["metadata"]["ownerReferences"][0]["kind"], "Rollout");
    assert_eq!(r["status"]["canary"]["weights"]["canary"]["weight"], 20);
    // The Services select their ReplicaSets.
    let svc = env.get("v1", "Service", "web-canary").await?.expect("svc");
    assert_eq!(svc["spec"]["selector"]["rollouts-pod-template-hash"], v2.as_str());
    let svc = env.get("v1", "Service", "web-stable").await?.expect("svc");
    assert_eq!(svc["spec"]["selector"]["rollouts-pod-template-hash"], v1.as_str());

    commands::promote(&env.client, &ns, "web").await?;
    env.wait_phase("web", "Paused", MINUTE, |r| step(r) == 3).await?;
    wait_weight(&env, "50").await?;

    // abort: weight 0 at once, Degraded, canary scaled down after abortScaleDownDelaySeconds (2).
    let t = tokio::time::Instant::now();
    commands::abort(&env.client, &ns, "web").await?;
    wait_weight(&env, "0").await?;
    assert!(
        t.elapsed() < Duration::from_secs(5),
        "weight 0 took {:?}",
        t.elapsed()
    );
    let r = env.wait_phase("web", "Degraded", MINUTE, |_| true).await?;
    assert!(
        r["status"]["message"]
            .as_str()
            .unwrap_or_default()
            .contains("RolloutAborted"),
        "{}",
        r["status"]["message"]
    );
    tack_testkit::eventually(MINUTE, "canary scaled down", || async {
        Ok((env.replicas_of(&v2).await?.0 == 0).then_some(()))
    })
    .await?;
    assert_eq!(env.replicas_of(&v1).await?, (2, 2));
    // Events tell the story: the weight changes and the abort, on the Rollout.
    let events: kube::Api<k8s_openapi::api::events::v1::Event> =
        kube::Api::namespaced(env.client.clone(), &ns);
    let reasons: Vec<String> = events
        .list(&Default::default())
        .await?
        .items
        .into_iter()
        .filter(|e| e.regarding.as_ref().and_then(|r| r.kind.as_deref()) == Some("Rollout"))
        .filter_map(|e| e.reason)
        .collect();
    for want in [
        "NewReplicaSetCreated",
        "TrafficWeightUpdated",
        "RolloutPaused",
        "RolloutAborted",
    ] {
        assert!(
            reasons.iter().any(|r| r == want),
            "no {want} event in {reasons:?}"
        );
    }
    let svc = env.get("v1", "Service", "web-canary").await?.expect("svc");
    assert_eq!(svc["spec"]["selector"]["rollouts-pod-template-hash"], v1.as_str());

    // retry: from step 0 again, back to 20 once the canary pod is ready.
    commands::retry(&env.client, &ns, "web").await?;
    env.wait_phase("web", "Paused", MINUTE, |r| {
        step(r) == 1 && r["status"]["abort"] != true
    })
    .await?;
    wait_weight(&env, "20").await?;

    commands::promote_full(&env.client, &ns, "web").await?;
    env.wait_phase("web", "Healthy", MINUTE, |r| {
        r["status"]["stableRS"] == v2.as_str()
    })
    .await?;
    wait_weight(&env, "0").await?;
    Ok(())
}

#[tokio::test]
#[ignore = "needs the local control plane"]
async fn never_ready_canary_aborts_at_the_progress_deadline_and_retry_restarts() -> Result<()> {
    let env = Env::new("ro-deadline").await?;
    let ns = env.name().to_string();
    for s in SERVICES {
        env.apply_yaml(s).await?;
    }
    env.apply_yaml(INGRESS).await?;
    let extra = "  progressDeadlineSeconds: 8\n  progressDeadlineAbort: true";
    env.apply_yaml(&nginx_rollout(extra, "")).await?;
    let r = env
        .wait_phase("web", "Healthy", MINUTE, |r| {
            r["status"]["availableReplicas"] == 2
        })
        .await?;
    let v1 = stable_hash(&r);

    // A canary whose pods never become ready.
    env.apply_yaml(&nginx_rollout(extra, ", tack.dev/simulate: never-ready"))
        .await?;
    let r = env
        .wait_rollout("web", "canary created", MINUTE, |r| {
            r["status"]["currentPodHash"] != v1.as_str()
        })
        .await?;
    let v2 = current_hash(&r);
    tack_testkit::eventually(MINUTE, "canary ReplicaSet with a pod", || async {
        Ok((env.replicas_of(&v2).await?.0 == 1).then_some(()))
    })
    .await?;
    assert_eq!(
        canary_weight(&env).await?.as_deref(),
        Some("0"),
        "no traffic to unready pods"
    );
    let r = env
        .wait_phase("web", "Degraded", MINUTE, |r| r["status"]["abort"] == true)
        .await?;
    let msg = r["status"]["message"].as_str().unwrap_or_default().to_string();
    assert!(msg.contains("timed out progressing"), "{msg}");
    assert_eq!(r["status"]["canary"]["weights"]["canary"]["weight"], 0);
    assert_eq!(canary_weight(&env).await?.as_deref(), Some("0"));
    tack_testkit::eventually(MINUTE, "canary scaled down", || async {
        Ok((env.replicas_of(&v2).await?.0 == 0).then_some(()))
    })
    .await?;
    assert_eq!(env.replicas_of(&v1).await?, (2, 2));

    // retry: the update starts again (the canary gets its pod back).
    commands::retry(&env.client, &ns, "web").await?;
    env.wait_rollout("web", "retried", MINUTE, |r| {
        r["status"]["abort"] != true && step(r) == 0
    })
    .await?;
    tack_testkit::eventually(MINUTE, "canary scaled up again", || async {
        Ok((env.replicas_of(&v2).await?.0 == 1).then_some(()))
    })
    .await?;
    Ok(())
}

const GATEWAY_ROLLOUT: &str = r#"
apiVersion: argoproj.io/v1alpha1
kind: Rollout
metadata: {name: web}
spec:
  replicas: 2
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec: {containers: [{name: web, image: "web:1"}]}
  strategy:
    canary:
      canaryService: web-canary
      stableService: web-stable
      trafficRouting:
        plugins:
          argoproj-labs/gatewayAPI: {httpRoute: web}
        istio:
          virtualService: {name: web, routes: [primary]}
      steps: [{setWeight: 20}, {pause: {}}, {setWeight: 60}, {pause: {}}]
"#;

const HTTP_ROUTE: &str = r#"
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: web}
spec:
  parentRefs: [{name: gw}]
  rules:
  - backendRefs:
    - {name: web-stable, port: 80, weight: 100}
    - {name: web-canary, port: 80, weight: 0}
"#;

const VIRTUAL_SERVICE: &str = r#"
apiVersion: networking.istio.io/v1beta1
kind: VirtualService
metadata: {name: web}
spec:
  hosts: [web]
  http:
  - name: primary
    route:
    - {destination: {host: web-stable}, weight: 100}
    - {destination: {host: web-canary}, weight: 0}
"#;

/// `(resourceVersion, canary weight, stable weight)` of the HTTPRoute and of the VirtualService.
async fn router_weights(env: &Env) -> Result<((String, i64, i64), (String, i64, i64))> {
    let route = env
        .get("gateway.networking.k8s.io/v1", "HTTPRoute", "web")
        .await?
        .expect("route");
    let vs = env
        .get("networking.istio.io/v1beta1", "VirtualService", "web")
        .await?
        .expect("vs");
    let rv = |v: &Value| {
        v["metadata"]["resourceVersion"]
            .as_str()
            .unwrap_or_default()
            .to_string()
    };
    let refs = &route["spec"]["rules"][0]["backendRefs"];
    let dest = &vs["spec"]["http"][0]["route"];
    Ok((
        (
            rv(&route),
            refs[1]["weight"].as_i64().unwrap_or(-1),
            refs[0]["weight"].as_i64().unwrap_or(-1),
        ),
        (
            rv(&vs),
            dest[1]["weight"].as_i64().unwrap_or(-1),
            dest[0]["weight"].as_i64().unwrap_or(-1),
        ),
    ))
}

async fn wait_router_weights(env: &Env, canary: i64) -> Result<()> {
    tack_testkit::eventually(
        MINUTE,
        &format!("HTTPRoute and VirtualService at {canary}"),
        || async {
            let (r, v) = router_weights(env).await?;
            Ok((r.1 == canary && r.2 == 100 - canary && v.1 == canary && v.2 == 100 - canary).then_some(()))
        },
    )
    .await
}

#[tokio::test]
#[ignore = "needs the local control plane"]
async fn gateway_api_and_istio_weights_follow_the_steps_and_survive_a_restart() -> Result<()> {
    let client = tack_testkit::client().await?;
    install_open_crd(
        &client,
        "gateway.networking.k8s.io",
        "v1",
        "HTTPRoute",
        "httproutes",
    )
    .await?;
    install_open_crd(
        &client,
        "networking.istio.io",
        "v1beta1",
        "VirtualService",
        "virtualservices",
    )
    .await?;
    let mut env = Env::new("ro-gateway").await?;
    let ns = env.name().to_string();
    for s in SERVICES {
        env.apply_yaml(s).await?;
    }
    env.apply_yaml(HTTP_ROUTE).await?;
    env.apply_yaml(VIRTUAL_SERVICE).await?;
    env.apply_yaml(GATEWAY_ROLLOUT).await?;
    env.wait_phase("web", "Healthy", MINUTE, |r| {
        r["status"]["availableReplicas"] == 2
    })
    .await?;

    commands::set_image(&env.client, &ns, "web", "web", "web:2").await?;
    env.wait_phase("web", "Paused", MINUTE, |r| step(r) == 1).await?;
    wait_router_weights(&env, 20).await?;
    // The weights are read back from the routers after they are written: wait for that verdict, so the
    // snapshot below is of a settled status.
    env.wait_phase("web", "Paused", MINUTE, |r| {
        step(r) == 1 && r["status"]["canary"]["weights"]["verified"] == true
    })
    .await?;

    // Restart the controller mid-rollout: same step, and not a single write to the routers.
    let before = router_weights(&env).await?;
    let rollout_before = env.rollout("web").await?;
    env.stop_controller().await;
    env.start_controller();
    let until = tokio::time::Instant::now() + Duration::from_secs(6);
    while tokio::time::Instant::now() < until {
        assert_eq!(
            router_weights(&env).await?,
            before,
            "router changed during the restart"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let rollout_after = env.rollout("web").await?;
    assert_eq!(step(&rollout_after), 1);
    assert_eq!(
        rollout_after["status"]["canary"],
        rollout_before["status"]["canary"]
    );

    commands::promote(&env.client, &ns, "web").await?;
    env.wait_phase("web", "Paused", MINUTE, |r| step(r) == 3).await?;
    wait_router_weights(&env, 60).await?;

    commands::promote_full(&env.client, &ns, "web").await?;
    env.wait_phase("web", "Healthy", MINUTE, |r| {
        r["status"]["stableRS"] == r["status"]["currentPodHash"]
    })
    .await?;
    wait_router_weights(&env, 0).await?;
    Ok(())
}

const L4_VIRTUAL_SERVICE: &str = r#"
apiVersion: networking.istio.io/v1beta1
kind: VirtualService
metadata: {name: db}
spec:
  hosts: [db.example]
  tls:
  - match: [{port: 443, sniHosts: [db.example]}]
    route:
    - {destination: {host: web-stable}, weight: 100}
    - {destination: {host: web-canary}, weight: 0}
  - match: [{port: 443, sniHosts: [other.example]}]
    route:
    - {destination: {host: web-stable}, weight: 100}
    - {destination: {host: web-canary}, weight: 0}
  tcp:
  - match: [{port: 5432}]
    route:
    - {destination: {host: web-stable.NS.svc.cluster.local}, weight: 100}
    - {destination: {host: web-canary.NS.svc.cluster.local}, weight: 0}
"#;

const L4_ROLLOUT: &str = r#"
apiVersion: argoproj.io/v1alpha1
kind: Rollout
metadata: {name: web}
spec:
  replicas: 2
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec: {containers: [{name: web, image: "web:1"}]}
  strategy:
    canary:
      canaryService: web-canary
      stableService: web-stable
      trafficRouting:
        istio:
          virtualServices:
          - {name: db, tlsRoutes: [{port: 443, sniHosts: [db.example]}], tcpRoutes: [{port: 5432}]}
      steps: [{setWeight: 20}, {pause: {}}, {setWeight: 100}, {pause: {}}]
"#;

/// `[canary, stable]` weights of the TLS routes and of the TCP route of the `db` VirtualService.
async fn l4_weights(env: &Env) -> Result<Vec<[i64; 2]>> {
    let vs = env
        .get("networking.istio.io/v1beta1", "VirtualService", "db")
        .await?
        .expect("vs");
    let pair = |route: &Value| {
        let w = |i: usize| route["route"][i]["weight"].as_i64().unwrap_or(-1);
        [w(1), w(0)]
    };
    Ok([
        &vs["spec"]["tls"][0],
        &vs["spec"]["tls"][1],
        &vs["spec"]["tcp"][0],
    ]
    .into_iter()
    .map(pair)
    .collect())
}

/// Waits until the matched TLS route and the TCP route carry `canary`, and the Rollout's status says the
/// weights were read back from the VirtualService.
async fn wait_l4_weights(env: &Env, canary: i64) -> Result<()> {
    env.wait_rollout("web", &format!("canary weight {canary} verified"), MINUTE, |r| {
        r["status"]["canary"]["weights"]["canary"]["weight"] == canary
            && r["status"]["canary"]["weights"]["verified"] == true
    })
    .await?;
    let w = l4_weights(env).await?;
    assert_eq!(
        w,
        vec![[canary, 100 - canary], [0, 100], [canary, 100 - canary]],
        "matched TLS route, other TLS route, TCP route"
    );
    Ok(())
}

#[tokio::test]
#[ignore = "needs the local control plane"]
async fn istio_tls_and_tcp_routes_follow_the_steps() -> Result<()> {
    let client = tack_testkit::client().await?;
    install_open_crd(
        &client,
        "networking.istio.io",
        "v1beta1",
        "VirtualService",
        "virtualservices",
    )
    .await?;
    let env = Env::new("ro-istio-l4").await?;
    let ns = env.name().to_string();
    for s in SERVICES {
        env.apply_yaml(s).await?;
    }
    env.apply_yaml(&L4_VIRTUAL_SERVICE.replace("NS", &ns)).await?;
    env.apply_yaml(L4_ROLLOUT).await?;
    env.wait_phase("web", "Healthy", MINUTE, |r| {
        r["status"]["availableReplicas"] == 2
    })
    .await?;
    assert_eq!(l4_weights(&env).await?, vec![[0, 100], [0, 100], [0, 100]]);

    commands::set_image(&env.client, &ns, "web", "web", "web:2").await?;
    env.wait_phase("web", "Paused", MINUTE, |r| step(r) == 1).await?;
    wait_l4_weights(&env, 20).await?;

    commands::promote(&env.client, &ns, "web").await?;
    env.wait_phase("web", "Paused", MINUTE, |r| step(r) == 3).await?;
    wait_l4_weights(&env, 100).await?;

    commands::promote_full(&env.client, &ns, "web").await?;
    env.wait_phase("web", "Healthy", MINUTE, |r| {
        r["status"]["stableRS"] == r["status"]["currentPodHash"]
    })
    .await?;
    let until = tokio::time::Instant::now() + MINUTE;
    while l4_weights(&env).await? != vec![[0, 100], [0, 100], [0, 100]] {
        assert!(
            tokio::time::Instant::now() < until,
            "weights back to the stable Service"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    Ok(())
}

const SUBSET_OBJECTS: [&str; 3] = [
    "apiVersion: v1\nkind: Service\nmetadata: {name: web}\nspec: {selector: {app: web}, ports: [{port: 80, targetPort: 8080}]}\n",
    r#"
apiVersion: networking.istio.io/v1beta1
kind: VirtualService
metadata: {name: web}
spec:
  hosts: [web]
  http:
  - name: primary
    route:
    - {destination: {host: web, subset: stable}, weight: 100}
    - {destination: {host: web, subset: canary}, weight: 0}
"#,
    r#"
apiVersion: networking.istio.io/v1beta1
kind: DestinationRule
metadata: {name: web}
spec:
  host: web
  subsets:
  - {name: canary, labels: {app: web}}
  - {name: stable, labels: {app: web}}
  - {name: debug, labels: {app: web, track: debug}}
"#,
];

/// As Argo Rollouts' subset-level splitting example: no canary or stable Service.
const SUBSET_ROLLOUT: &str = r#"
apiVersion: argoproj.io/v1alpha1
kind: Rollout
metadata: {name: web}
spec:
  replicas: 2
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec: {containers: [{name: web, image: "web:1"}]}
  strategy:
    canary:
      trafficRouting:
        istio:
          virtualService: {name: web, routes: [primary]}
          destinationRule: {name: web, canarySubsetName: canary, stableSubsetName: stable}
      steps: [{setWeight: 20}, {pause: {}}]
"#;

/// `(canary subset hash, stable subset hash, debug subset labels, [canary weight, stable weight])`.
async fn subsets(env: &Env) -> Result<(Value, Value, Value, [i64; 2])> {
    let dr = env
        .get("networking.istio.io/v1beta1", "DestinationRule", "web")
        .await?
        .expect("dr");
    let vs = env
        .get("networking.istio.io/v1beta1", "VirtualService", "web")
        .await?
        .expect("vs");
    let s = &dr["spec"]["subsets"];
    let w = |i: usize| vs["spec"]["http"][0]["route"][i]["weight"].as_i64().unwrap_or(-1);
    Ok((
        s[0]["labels"]["rollouts-pod-template-hash"].clone(),
        s[1]["labels"]["rollouts-pod-template-hash"].clone(),
        s[2]["labels"].clone(),
        [w(1), w(0)],
    ))
}

#[tokio::test]
#[ignore = "needs the local control plane"]
async fn istio_destination_rule_subsets_get_the_hashes_and_the_weights() -> Result<()> {
    let client = tack_testkit::client().await?;
    for (kind, plural) in [
        ("VirtualService", "virtualservices"),
        ("DestinationRule", "destinationrules"),
    ] {
        install_open_crd(&client, "networking.istio.io", "v1beta1", kind, plural).await?;
    }
    let env = Env::new("ro-istio-subsets").await?;
    let ns = env.name().to_string();
    for o in SUBSET_OBJECTS {
        env.apply_yaml(o).await?;
    }
    env.apply_yaml(SUBSET_ROLLOUT).await?;
    let r = env
        .wait_phase("web", "Healthy", MINUTE, |r| {
            r["status"]["availableReplicas"] == 2
        })
        .await?;
    let v1 = r["status"]["stableRS"].clone();
    let debug = json!({"app": "web", "track": "debug"});
    let until = tokio::time::Instant::now() + MINUTE;
    while subsets(&env).await? != (v1.clone(), v1.clone(), debug.clone(), [0, 100]) {
        assert!(tokio::time::Instant::now() < until, "{:?}", subsets(&env).await?);
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    commands::set_image(&env.client, &ns, "web", "web", "web:2").await?;
    let r = env
        .wait_phase("web", "Paused", MINUTE, |r| {
            step(r) == 1 && r["status"]["canary"]["weights"]["verified"] == true
        })
        .await?;
    let v2 = r["status"]["currentPodHash"].clone();
    assert_ne!(v1, v2);
    assert_eq!(r["status"]["canary"]["weights"]["canary"]["weight"], 20);
    assert_eq!(
        subsets(&env).await?,
        (v2.clone(), v1.clone(), debug.clone(), [20, 80])
    );

    commands::promote_full(&env.client, &ns, "web").await?;
    env.wait_phase("web", "Healthy", MINUTE, |r| {
        r["status"]["stableRS"] == r["status"]["currentPodHash"]
    })
    .await?;
    let until = tokio::time::Instant::now() + MINUTE;
    while subsets(&env).await? != (v2.clone(), v2.clone(), debug.clone(), [0, 100]) {
        assert!(tokio::time::Instant::now() < until, "{:?}", subsets(&env).await?);
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    Ok(())
}

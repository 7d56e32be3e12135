//! The generated CustomResourceDefinition has a complete OpenAPI v3 schema.

use kube::CustomResourceExt;
use serde_json::Value;
use tack_model::GitOpsConfig;

fn schema() -> Value {
    let crd = serde_json::to_value(GitOpsConfig::crd()).expect("CRD serializes");
    crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"].clone()
}

fn at<'a>(v: &'a Value, path: &[&str]) -> &'a Value {
    let mut cur = v;
    for p in path {
        cur = &cur["properties"][*p];
        assert!(!cur.is_null(), "schema has no property {p} (path {path:?})");
    }
    cur
}

#[test]
fn names_scope_and_group() {
    let crd = serde_json::to_value(GitOpsConfig::crd()).expect("CRD serializes");
    assert_eq!(crd["metadata"]["name"], "gitopsconfigs.gitops.tack.dev");
    assert_eq!(crd["spec"]["group"], "gitops.tack.dev");
    assert_eq!(crd["spec"]["scope"], "Namespaced");
    assert_eq!(crd["spec"]["names"]["kind"], "GitOpsConfig");
    assert_eq!(crd["spec"]["names"]["shortNames"][0], "goc");
    assert_eq!(crd["spec"]["versions"][0]["name"], "v1alpha1");
    assert_eq!(
        crd["spec"]["versions"][0]["subresources"]["status"],
        serde_json::json!({})
    );
}

#[test]
fn schema_covers_every_field() {
    let s = schema();
    assert_eq!(s["type"], "object");
    for path in [
        &["spec", "source", "repoURL"][..],
        &["spec", "source", "revision"],
        &["spec", "source", "path"],
        &["spec", "decryption", "provider"],
        &["spec", "decryption", "secretRef", "name"],
        &["spec", "source", "credentialsSecret", "name"],
        &["spec", "source", "kustomize", "images"],
        &["spec", "source", "helm", "valueFiles"],
        &["spec", "source", "jsonnet", "extVars"],
        &["spec", "destination", "namespace"],
        &["spec", "syncPolicy", "interval"],
        &["spec", "syncPolicy", "automated", "prune"],
        &["spec", "syncPolicy", "automated", "selfHeal"],
        &["spec", "syncPolicy", "createNamespace"],
        &["spec", "syncPolicy", "retry", "limit"],
        &["spec", "syncPolicy", "retry", "backoff", "maxDuration"],
        &["spec", "dependsOn"],
        &["spec", "ignoreDifferences"],
        &["spec", "serviceAccountName"],
        &["spec", "suspend"],
        &["status", "observedGeneration"],
        &["status", "sync", "status"],
        &["status", "sync", "revision"],
        &["status", "health", "status"],
        &["status", "health", "message"],
        &["status", "resources"],
        &["status", "inventory"],
        &["status", "history"],
        &["status", "conditions"],
        &["status", "lastOperation", "phase"],
    ] {
        let node = at(&s, path);
        assert!(
            node.get("type").is_some() || node.get("enum").is_some() || node.get("anyOf").is_some(),
            "{path:?} has no type: {node}"
        );
    }
    let sync = at(&s, &["status", "sync", "status"]);
    let values: Vec<&str> = sync["enum"]
        .as_array()
        .expect("enum")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert_eq!(values, ["Synced", "OutOfSync", "Unknown"]);
    let items = &at(&s, &["spec", "ignoreDifferences"])["items"];
    assert_eq!(items["properties"]["jsonPointers"]["type"], "array");
    let history = &at(&s, &["status", "history"])["items"]["properties"];
    for f in ["id", "revision", "time", "result"] {
        assert!(history.get(f).is_some(), "history item has no {f}");
    }
    assert_eq!(
        at(&s, &["spec", "source"])["required"],
        serde_json::json!(["repoURL"])
    );
}

#[test]
fn crd_yaml_is_structural() {
    // No `$ref`, no `definitions`: the API server rejects non-structural schemas.
    let text = serde_json::to_string(&GitOpsConfig::crd()).expect("serializes");
    assert!(!text.contains("$ref"), "schema contains $ref");
    assert!(!text.contains("\"definitions\""), "schema contains definitions");
    let yaml = serde_saphyr::to_string(&GitOpsConfig::crd()).expect("yaml");
    assert!(yaml.contains("openAPIV3Schema:"));
}

//! Normalized comparison of live and desired objects.
//!
//! Server-side apply makes tack the owner of exactly the fields the desired object sets; the API server
//! adds defaults, status and bookkeeping, and other field managers may own further fields. So the live
//! object is compared on the desired object's fields only: the live object is *projected* on the shape of
//! the desired one (maps keep the keys desired sets; lists of equal length are projected element by
//! element). Bookkeeping metadata and `status` are dropped from both sides, and `ignoreDifferences` JSON
//! pointers are removed from both.

use base64::Engine;
use serde_json::{Map, Value};

use crate::id::ObjectId;

/// Annotation tack writes on every object it applies: a digest of the object as tack sent it. When the
/// live annotation equals the digest of the desired object *and* the normalized live object equals the
/// desired one, the object is unchanged and the apply is skipped. (The digest catches fields removed from
/// Git, which the projection alone cannot see.)
pub const DIGEST_ANNOTATION: &str = "tack.dev/applied-digest";

const LAST_APPLIED: &str = "kubectl.kubernetes.io/last-applied-configuration";
const DROPPED_METADATA: [&str; 9] = [
    "managedFields",
    "resourceVersion",
    "uid",
    "generation",
    "creationTimestamp",
    "selfLink",
    "deletionTimestamp",
    "deletionGracePeriodSeconds",
    "ownerReferences",
];

/// An `ignoreDifferences` rule: objects matching group, kind and (when set) name and namespace have the
/// fields at `json_pointers` left out of comparisons.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct IgnoreRule {
    /// The object's API group (`""` for the core group).
    pub group: String,
    /// The object's kind.
    pub kind: String,
    /// Only the object of this name, when set.
    pub name: Option<String>,
    /// Only objects in this namespace, when set.
    pub namespace: Option<String>,
    /// The fields to leave out, as JSON pointers (RFC 6901: `/spec/replicas`).
    pub json_pointers: Vec<String>,
}

/// The pointers of every rule that matches `id`.
pub fn ignore_pointers_for<'a>(rules: &'a [IgnoreRule], id: &ObjectId) -> Vec<&'a str> {
    rules
        .iter()
        .filter(|r| {
            r.group == id.group
                && r.kind == id.kind
                && r.name.as_ref().is_none_or(|n| *n == id.name)
                && r.namespace.as_ref().is_none_or(|n| *n == id.namespace)
        })
        .flat_map(|r| r.json_pointers.iter().map(String::as_str))
        .collect()
}

/// A stable digest (FNV-1a, 64 bits, hex) of `object` without its [`DIGEST_ANNOTATION`]. serde_json
/// maps are sorted, so equal objects give equal digests whatever their key order in the file.
pub fn applied_digest(object: &Value) -> String {
    let mut o = object.clone();
    if let Some(a) = o
        .pointer_mut("/metadata/annotations")
        .and_then(Value::as_object_mut)
    {
        a.remove(DIGEST_ANNOTATION);
        if a.is_empty()
            && let Some(meta) = o.get_mut("metadata").and_then(Value::as_object_mut)
        {
            meta.remove("annotations");
        }
    }
    let text = o.to_string();
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in text.as_bytes() {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    format!("{h:016x}")
}

/// Desired and live after normalization; `live` is `None` when the object does not exist.
#[derive(Clone, Debug, PartialEq)]
pub struct Normalized {
    /// The desired object, normalized.
    pub desired: Value,
    /// The live object, normalized; `None` when the object does not exist.
    pub live: Option<Value>,
}

impl Normalized {
    /// Whether applying the desired object would change anything tack compares.
    pub fn differs(&self) -> bool {
        self.live.as_ref() != Some(&self.desired)
    }
}

/// Normalizes `desired` and `live` for comparison, leaving out `ignore` (JSON pointers).
pub fn compare(desired: &Value, live: Option<&Value>, ignore: &[&str]) -> Normalized {
    let mut d = desired.clone();
    normalize_common(&mut d);
    secret_string_data_to_data(&mut d);
    let live = live.map(|l| {
        let mut l = l.clone();
        normalize_common(&mut l);
        let mut p = project(&d, &l);
        for ptr in ignore {
            remove_pointer(&mut p, ptr);
        }
        p
    });
    for ptr in ignore {
        remove_pointer(&mut d, ptr);
    }
    Normalized { desired: d, live }
}

/// Normalizes a live object without projecting it (bookkeeping and status dropped), e.g. to show objects
/// that will be pruned.
pub fn normalize_live(live: &Value) -> Value {
    let mut l = live.clone();
    normalize_common(&mut l);
    l
}

fn normalize_common(o: &mut Value) {
    remove_nulls(o);
    let Some(map) = o.as_object_mut() else { return };
    map.remove("status");
    if let Some(meta) = map.get_mut("metadata").and_then(Value::as_object_mut) {
        for k in DROPPED_METADATA {
            meta.remove(k);
        }
        if let Some(a) = meta.get_mut("annotations").and_then(Value::as_object_mut) {
            a.remove(DIGEST_ANNOTATION);
            a.remove(LAST_APPLIED);
            if a.is_empty() {
                meta.remove("annotations");
            }
        }
    }
}

fn remove_nulls(v: &mut Value) {
    match v {
        Value::Object(m) => {
            m.retain(|_, x| !x.is_null());
            m.values_mut().for_each(remove_nulls);
        }
        Value::Array(a) => a.iter_mut().for_each(remove_nulls),
        _ => {}
    }
}

/// A Secret's `stringData` is write-only: the API server folds it into `data` (base64). Do the same so the
/// comparison sees what the server will store.
fn secret_string_data_to_data(o: &mut Value) {
    let is_secret = o.get("kind").and_then(Value::as_str) == Some("Secret")
        && o.get("apiVersion").and_then(Value::as_str) == Some("v1");
    if !is_secret {
        return;
    }
    let Some(map) = o.as_object_mut() else { return };
    let Some(Value::Object(string_data)) = map.remove("stringData") else {
        return;
    };
    let data = map.entry("data").or_insert_with(|| Value::Object(Map::new()));
    if let Some(data) = data.as_object_mut() {
        for (k, v) in string_data {
            let text = match v {
                Value::String(s) => s,
                other => other.to_string(),
            };
            data.insert(
                k,
                Value::String(base64::engine::general_purpose::STANDARD.encode(text)),
            );
        }
    }
}

/// `live` restricted to the fields `desired` sets.
fn project(desired: &Value, live: &Value) -> Value {
    match (desired, live) {
        (Value::Object(d), Value::Object(l)) => {
            let mut out = Map::new();
            for (k, dv) in d {
                if let Some(lv) = l.get(k) {
                    out.insert(k.clone(), project(dv, lv));
                }
            }
            Value::Object(out)
        }
        (Value::Array(d), Value::Array(l)) if d.len() == l.len() => {
            Value::Array(d.iter().zip(l).map(|(dv, lv)| project(dv, lv)).collect())
        }
        // Quantities and int-or-strings: `cpu: 1` in Git is served back as "1", `cpu: 0.5` as "500m",
        // `memory: 1024Mi` as "1Gi". The API server rewrites nothing else this way.
        (Value::Number(n), Value::String(s)) if n.to_string() == *s || same_quantity(&n.to_string(), s) => {
            desired.clone()
        }
        (Value::String(d), Value::String(l)) if d != l && same_quantity(d, l) => desired.clone(),
        _ => live.clone(),
    }
}

/// The value of a Kubernetes quantity (`500m`, `1.5Gi`, `2e3`, `128974848`), or `None` when `s` is not one.
fn quantity(s: &str) -> Option<f64> {
    let s = s.trim();
    let split = s
        .find(|c: char| !(c.is_ascii_digit() || c == '.' || c == '+' || c == '-'))
        .unwrap_or(s.len());
    let (number, suffix) = s.split_at(split);
    if number.is_empty() || !number.chars().any(|c| c.is_ascii_digit()) {
        return None;
    }
    let n: f64 = number.parse().ok()?;
    let factor = match suffix {
        "" => 1.0,
        "n" => 1e-9,
        "u" => 1e-6,
        "m" => 1e-3,
        "k" => 1e3,
        "M" => 1e6,
        "G" => 1e9,
        "T" => 1e12,
        "P" => 1e15,
        "E" => 1e18,
        "Ki" => 1024.0,
        "Mi" => 1024.0 * 1024.0,
        "Gi" => 1024.0 * 1024.0 * 1024.0,
        "Ti" => 1024.0f64.powi(4),
        "Pi" => 1024.0f64.powi(5),
        "Ei" => 1024.0f64.powi(6),
        e if e.starts_with(['e', 'E']) => 10f64.powi(e[1..].parse::<i32>().ok()?),
        _ => return None,
    };
    Some(n * factor)
}

/// Whether two texts are the same quantity written differently.
fn same_quantity(a: &str, b: &str) -> bool {
    match (quantity(a), quantity(b)) {
        (Some(x), Some(y)) => (x - y).abs() <= f64::EPSILON * 16.0 * x.abs().max(y.abs()).max(1.0),
        _ => false,
    }
}

/// Removes the value at the RFC 6901 JSON `pointer` from `v` (nothing when absent). `""` is the whole
/// document and is left alone.
pub fn remove_pointer(v: &mut Value, pointer: &str) {
    let Some(rest) = pointer.strip_prefix('/') else {
        return;
    };
    let tokens: Vec<String> = rest
        .split('/')
        .map(|t| t.replace("~1", "/").replace("~0", "~"))
        .collect();
    let Some((last, parents)) = tokens.split_last() else {
        return;
    };
    let mut cur = v;
    for t in parents {
        cur = match cur {
            Value::Object(m) => match m.get_mut(t) {
                Some(x) => x,
                None => return,
            },
            Value::Array(a) => match t.parse::<usize>().ok().and_then(|i| a.get_mut(i)) {
                Some(x) => x,
                None => return,
            },
            _ => return,
        };
    }
    match cur {
        Value::Object(m) => {
            m.remove(last);
        }
        Value::Array(a) => {
            if let Ok(i) = last.parse::<usize>()
                && i < a.len()
            {
                a.remove(i);
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    fn deployment(replicas: i64) -> Value {
        json!({"apiVersion": "apps/v1", "kind": "Deployment",
               "metadata": {"name": "web", "namespace": "shop", "labels": {"app": "web"}},
               "spec": {"replicas": replicas, "template": {"spec": {"containers": [
                   {"name": "web", "image": "nginx:1.27", "ports": [{"containerPort": 80}],
                    "resources": {"limits": {"cpu": 1}}}]}}}})
    }

    fn live_of(desired: &Value) -> Value {
        let mut l = desired.clone();
        l["metadata"]["uid"] = json!("1234");
        l["metadata"]["resourceVersion"] = json!("99");
        l["metadata"]["generation"] = json!(3);
        l["metadata"]["managedFields"] = json!([{"manager": "tack"}]);
        l["metadata"]["labels"]["added-by-someone"] = json!("x");
        l["metadata"]["annotations"] =
            json!({"deployment.kubernetes.io/revision": "2", DIGEST_ANNOTATION: "abc"});
        l["spec"]["strategy"] = json!({"type": "RollingUpdate"});
        l["spec"]["template"]["spec"]["containers"][0]["imagePullPolicy"] = json!("IfNotPresent");
        l["spec"]["template"]["spec"]["containers"][0]["ports"][0]["protocol"] = json!("TCP");
        l["spec"]["template"]["spec"]["containers"][0]["resources"]["limits"]["cpu"] = json!("1");
        l["status"] = json!({"readyReplicas": 1});
        l
    }

    #[test]
    fn defaults_status_and_bookkeeping_are_not_differences() {
        let d = deployment(2);
        let n = compare(&d, Some(&live_of(&d)), &[]);
        assert!(!n.differs(), "{:#?}", n);
    }

    #[test]
    fn a_changed_field_is_a_difference_unless_ignored() {
        let d = deployment(2);
        let mut live = live_of(&d);
        live["spec"]["replicas"] = json!(5);
        assert!(compare(&d, Some(&live), &[]).differs());
        assert!(!compare(&d, Some(&live), &["/spec/replicas"]).differs());
        assert!(compare(&d, None, &[]).differs());
    }

    #[test]
    fn a_changed_list_element_is_a_difference() {
        let d = deployment(2);
        let mut live = live_of(&d);
        live["spec"]["template"]["spec"]["containers"][0]["image"] = json!("nginx:1.26");
        assert!(compare(&d, Some(&live), &[]).differs());
        let mut live = live_of(&d);
        live["spec"]["template"]["spec"]["containers"]
            .as_array_mut()
            .expect("list")
            .push(json!({"name": "sidecar"}));
        assert!(compare(&d, Some(&live), &[]).differs());
    }

    #[test]
    fn quantities_written_differently_are_equal() {
        let d = json!({"kind": "Pod", "spec": {"resources": {"limits": {"cpu": 0.5, "memory": "1024Mi"}, "requests": {"cpu": "0.25", "memory": "1G"}}}});
        let l = json!({"kind": "Pod", "spec": {"resources": {"limits": {"cpu": "500m", "memory": "1Gi"}, "requests": {"cpu": "250m", "memory": "1e9"}}}});
        assert!(!compare(&d, Some(&l), &[]).differs());
        let other = json!({"kind": "Pod", "spec": {"resources": {"limits": {"cpu": "600m", "memory": "1Gi"}, "requests": {"cpu": "250m", "memory": "1G"}}}});
        assert!(compare(&d, Some(&other), &[]).differs());
        assert!(!same_quantity("blue", "blue2"));
        assert!(!same_quantity("1k", "1Ki"));
        assert!(same_quantity("1.5Gi", "1536Mi"));
    }

    #[test]
    fn secret_string_data_compares_with_data() {
        let d = json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"}, "stringData": {"password": "hunter2"}});
        let live = json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"}, "type": "Opaque", "data": {"password": "aHVudGVyMg=="}});
        assert!(!compare(&d, Some(&live), &[]).differs());
        let other = json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"}, "data": {"password": "b3RoZXI="}});
        assert!(compare(&d, Some(&other), &[]).differs());
    }

    #[test]
    fn ignore_rules_match_by_kind_name_and_namespace() {
        let rules = vec![
            IgnoreRule {
                group: "apps".into(),
                kind: "Deployment".into(),
                json_pointers: vec!["/spec/replicas".into()],
                ..Default::default()
            },
            IgnoreRule {
                group: "".into(),
                kind: "ConfigMap".into(),
                name: Some("a".into()),
                json_pointers: vec!["/data/x".into()],
                ..Default::default()
            },
        ];
        assert_eq!(
            ignore_pointers_for(&rules, &ObjectId::new("apps", "Deployment", "n", "w")),
            ["/spec/replicas"]
        );
        assert_eq!(
            ignore_pointers_for(&rules, &ObjectId::new("", "ConfigMap", "n", "a")),
            ["/data/x"]
        );
        assert!(ignore_pointers_for(&rules, &ObjectId::new("", "ConfigMap", "n", "b")).is_empty());
    }

    #[test]
    fn pointers_with_escapes_and_indices() {
        let mut v = json!({"metadata": {"annotations": {"a/b": "1", "c~d": "2"}}, "list": [1, 2, 3]});
        remove_pointer(&mut v, "/metadata/annotations/a~1b");
        remove_pointer(&mut v, "/metadata/annotations/c~0d");
        remove_pointer(&mut v, "/list/1");
        remove_pointer(&mut v, "/missing/x");
        assert_eq!(v, json!({"metadata": {"annotations": {}}, "list": [1, 3]}));
    }

    #[test]
    fn digest_ignores_itself_and_key_order() {
        let a: Value =
            serde_json::from_str(r#"{"kind":"ConfigMap","data":{"x":"1","y":"2"},"metadata":{"name":"a"}}"#)
                .expect("json");
        let b: Value = serde_json::from_str(r#"{"metadata":{"name":"a","annotations":{"tack.dev/applied-digest":"zz"}},"data":{"y":"2","x":"1"},"kind":"ConfigMap"}"#).expect("json");
        assert_eq!(applied_digest(&a), applied_digest(&b));
        let mut c = a.clone();
        c["data"]["x"] = json!("3");
        assert_ne!(applied_digest(&a), applied_digest(&c));
    }

    fn arb_json() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            any::<bool>().prop_map(Value::Bool),
            any::<i32>().prop_map(|n| json!(n)),
            "[a-z]{0,6}".prop_map(Value::String),
        ];
        leaf.prop_recursive(3, 24, 4, |inner| {
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
                proptest::collection::btree_map("[a-z]{1,4}", inner, 0..4)
                    .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }

    proptest! {
        #[test]
        fn an_object_equals_itself_plus_extra_live_fields(spec in arb_json(), extra in arb_json()) {
            let d = json!({"apiVersion": "v1", "kind": "Thing", "metadata": {"name": "a"}, "spec": spec});
            let mut l = d.clone();
            l["zzzExtra"] = extra;
            l["status"] = json!({"phase": "Ready"});
            prop_assert!(!compare(&d, Some(&l), &[]).differs());
        }

        #[test]
        fn projection_never_adds_fields(d in arb_json(), l in arb_json()) {
            let p = project(&d, &l);
            if let (Value::Object(pm), Value::Object(dm)) = (&p, &d) {
                for k in pm.keys() { prop_assert!(dm.contains_key(k)); }
            }
        }
    }
}

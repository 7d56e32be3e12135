//! Property tests: strategic merge, JSON 6902 and the YAML emitter.

use proptest::prelude::*;
use serde_json::{Map, Value, json};
use tack_kustomize::testing::{json_patch_apply, smp_apply};

fn key() -> impl Strategy<Value = String> {
    // Avoid "<<" (a YAML merge key when read back) and "$patch" (an SMP directive).
    "[a-zA-Z0-9_./ :#'\"-]{0,12}"
        .prop_filter("merge key and directives", |k| k != "<<" && !k.starts_with('$'))
}

fn scalar() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|i| json!(i)),
        "[ -~\n\té]{0,40}".prop_map(Value::String),
        prop_oneof![
            Just("true"),
            Just("yes"),
            Just("010"),
            Just("1.5"),
            Just("~"),
            Just("- x"),
            Just("a: b")
        ]
        .prop_map(|s| Value::String(s.to_string())),
    ]
}

fn value() -> impl Strategy<Value = Value> {
    scalar().prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
            prop::collection::btree_map(key(), inner, 0..5)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

fn object() -> impl Strategy<Value = Value> {
    prop::collection::btree_map(key(), value(), 0..6)
        .prop_map(|m| Value::Object(m.into_iter().collect::<Map<_, _>>()))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// An empty strategic-merge patch leaves any object unchanged.
    #[test]
    fn empty_smp_patch_is_identity(doc in object()) {
        let out = smp_apply(&doc, &json!({}), "apps/v1", "Deployment");
        prop_assert_eq!(out.ok().flatten(), Some(doc));
    }

    /// Merging a document into itself changes nothing when it has no nulls or lists.
    #[test]
    fn smp_patch_with_own_scalars_is_identity(doc in prop::collection::btree_map(key(), "[a-z]{0,5}", 0..6)) {
        let doc = Value::Object(doc.into_iter().map(|(k, v)| (k, Value::String(v))).collect());
        let out = smp_apply(&doc, &doc, "v1", "ConfigMap");
        prop_assert_eq!(out.ok().flatten(), Some(doc));
    }

    /// JSON 6902: adding a new member and removing it again restores the document.
    #[test]
    fn json_patch_add_remove_roundtrip(doc in object(), v in value()) {
        let mut d = doc.clone();
        let key = "fresh~key/with-escapes";
        if d.get(key).is_some() {
            return Ok(());
        }
        let ops = json!([
            {"op": "add", "path": "/fresh~0key~1with-escapes", "value": v.clone()},
            {"op": "test", "path": "/fresh~0key~1with-escapes", "value": v},
            {"op": "remove", "path": "/fresh~0key~1with-escapes"}
        ]);
        prop_assert!(json_patch_apply(&mut d, &ops).is_ok());
        prop_assert_eq!(d, doc);
    }

    /// Kustomize (evanphx v4) quirk, unlike RFC 6902: `replace` of a missing member adds it.
    #[test]
    fn json_patch_replace_missing_adds(doc in object(), v in value()) {
        let mut d = doc.clone();
        if d.get("absent-member").is_some() {
            return Ok(());
        }
        let ops = json!([{"op": "replace", "path": "/absent-member", "value": v.clone()}]);
        prop_assert!(json_patch_apply(&mut d, &ops).is_ok());
        prop_assert_eq!(d.get("absent-member"), Some(&v));
    }

    /// What the emitter prints parses back to the same value (floats excluded: they print
    /// through Go's formatting and may come back as integers, as with kubectl; U+2028 is
    /// excluded: kubectl writes it raw and indents after it, which YAML readers do not undo).
    #[test]
    fn emitter_roundtrip(doc in object()) {
        let text = tack_yaml::to_yaml(&doc);
        let back = tack_yaml::parse_one(&text, "emitted");
        prop_assert!(back.is_ok(), "does not parse:\n{}", text);
        prop_assert_eq!(back.ok(), Some(doc), "printed:\n{}", text);
    }
}

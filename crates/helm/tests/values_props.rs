//! Properties that hold for any values: coalescing (user values win, a user `null` deletes a default,
//! defaults fill in what the user left out, coalescing twice changes nothing, a subchart sees its defaults
//! under its name with the parent's globals), `toYaml` output reading back through `fromYaml`, and the
//! readers (YAML, JSON, `--set`) never panicking on any text.

use proptest::prelude::*;
use tack_gotemplate::{Map, Value};
use tack_helm::coalesce::{ChartValues, coalesce_values, merge_values};
use tack_helm::json::to_json;

fn scalar() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Nil),
        any::<bool>().prop_map(Value::Bool),
        (-1000i32..1000).prop_map(|i| Value::Float(f64::from(i))),
        "[a-c]{0,2}".prop_map(|s| Value::string(s.as_str())),
    ]
}

fn value() -> impl Strategy<Value = Value> {
    scalar().prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..3).prop_map(Value::list),
            prop::collection::btree_map("[a-d]", inner, 0..4)
                .prop_map(|m| Value::map(m.into_iter().collect())),
        ]
    })
}

fn values_map() -> impl Strategy<Value = Map> {
    prop::collection::btree_map("[a-e]", value(), 0..5).prop_map(|m| m.into_iter().collect())
}

fn chart(values: Map) -> ChartValues {
    ChartValues {
        name: "app".to_string(),
        values,
        ..ChartValues::default()
    }
}

fn json(m: &Map) -> String {
    to_json(&Value::map(m.clone())).unwrap_or_default()
}

fn without_nulls(m: &Map) -> Map {
    m.iter()
        .filter(|(_, v)| !is_nil(v))
        .map(|(k, v)| {
            let v = match v {
                Value::Map(inner) => Value::map(without_nulls(&inner.borrow())),
                other => other.clone(),
            };
            (k.clone(), v)
        })
        .collect()
}

fn is_nil(v: &Value) -> bool {
    matches!(v, Value::Nil)
}

proptest! {
    #[test]
    fn user_values_win(defaults in values_map(), user in values_map()) {
        let out = coalesce_values(&chart(defaults), &user).map_err(|e| TestCaseError::fail(e.0))?;
        for (k, u) in &user {
            match u {
                Value::Nil | Value::Map(_) => {}
                _ => prop_assert_eq!(
                    out.values.get(k).map(|v| to_json(v).unwrap_or_default()),
                    Some(to_json(u).unwrap_or_default()),
                    "key {}", k
                ),
            }
        }
    }

    #[test]
    fn null_deletes_a_default(defaults in values_map(), user in values_map()) {
        let out = coalesce_values(&chart(defaults.clone()), &user).map_err(|e| TestCaseError::fail(e.0))?;
        for (k, u) in &user {
            if is_nil(u) && defaults.get(k).is_some_and(|d| !is_nil(d)) {
                prop_assert!(!out.values.contains_key(k), "key {} should be deleted", k);
            }
        }
    }

    #[test]
    fn defaults_fill_in(defaults in values_map(), user in values_map()) {
        let out = coalesce_values(&chart(defaults.clone()), &user).map_err(|e| TestCaseError::fail(e.0))?;
        for (k, d) in &defaults {
            if !user.contains_key(k) && !is_nil(d) {
                prop_assert!(out.values.contains_key(k), "default {} missing", k);
            }
        }
    }

    /// Without nulls in the user's values (a null deletes the default once; the next pass brings it back, in
    /// Helm too).
    #[test]
    fn coalescing_is_idempotent(defaults in values_map(), user in values_map()) {
        let user = without_nulls(&user);
        let c = chart(defaults);
        let once = coalesce_values(&c, &user).map_err(|e| TestCaseError::fail(e.0))?;
        let twice = coalesce_values(&c, &once.values).map_err(|e| TestCaseError::fail(e.0))?;
        prop_assert_eq!(json(&once.values), json(&twice.values));
    }

    #[test]
    fn inputs_are_not_changed(defaults in values_map(), user in values_map()) {
        let (before_d, before_u) = (json(&defaults), json(&user));
        let c = chart(defaults.clone());
        let _ = coalesce_values(&c, &user);
        let _ = merge_values(&c, &user);
        prop_assert_eq!(json(&c.values), before_d);
        prop_assert_eq!(json(&user), before_u);
    }

    #[test]
    fn merge_keeps_user_nulls(defaults in values_map(), user in values_map()) {
        let out = merge_values(&chart(defaults), &user).map_err(|e| TestCaseError::fail(e.0))?;
        for (k, u) in &user {
            if is_nil(u) {
                prop_assert!(out.values.get(k).is_some_and(is_nil), "null {} should stay", k);
            }
        }
    }

    #[test]
    fn subcharts_get_defaults_and_globals(sub_defaults in values_map(), g in "[a-z]{1,4}") {
        let mut sub_defaults = sub_defaults;
        sub_defaults.remove("global");
        let mut parent = Map::new();
        let mut global = Map::new();
        global.insert("g".to_string(), Value::string(g.as_str()));
        parent.insert("global".to_string(), Value::map(global));
        let tree = ChartValues {
            name: "app".to_string(),
            values: parent,
            dependencies: vec![ChartValues { name: "sub".to_string(), values: sub_defaults.clone(), ..ChartValues::default() }],
            ..ChartValues::default()
        };
        let out = coalesce_values(&tree, &Map::new()).map_err(|e| TestCaseError::fail(e.0))?;
        let Some(Value::Map(sub)) = out.values.get("sub") else {
            return Err(TestCaseError::fail("no subchart values"));
        };
        let sub = sub.borrow();
        for (k, d) in &sub_defaults {
            if !is_nil(d) {
                prop_assert!(sub.contains_key(k), "subchart default {} missing", k);
            }
        }
        let Some(Value::Map(sg)) = sub.get("global") else {
            return Err(TestCaseError::fail("no global in the subchart"));
        };
        prop_assert_eq!(sg.borrow().get("g").map(|v| to_json(v).unwrap_or_default()), Some(format!("{g:?}")));
    }
}

fn yaml_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Nil),
        any::<bool>().prop_map(Value::Bool),
        any::<i32>().prop_map(|i| Value::Float(f64::from(i))),
        (-1e30f64..1e30).prop_map(Value::Float),
        "[ a-z0-9:#'\"\\-\\.\\n\\t{}\\[\\],&*!|>%@`~é]{0,12}".prop_map(|s| Value::string(s.as_str())),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..3).prop_map(Value::list),
            prop::collection::btree_map("[ a-z0-9:#\\-\\.]{0,6}", inner, 0..4)
                .prop_map(|m| Value::map(m.into_iter().collect())),
        ]
    })
}

proptest! {
    /// What `toYaml` prints (with the final line break Helm trims put back), `fromYaml` reads back as the same
    /// values (as JSON sees them).
    #[test]
    fn to_yaml_reads_back(m in prop::collection::btree_map("[a-z0-9 :\\-]{1,6}", yaml_value(), 0..4)) {
        let v = Value::map(m.into_iter().collect());
        let text = tack_helm::yaml::to_yaml(&v).map_err(|e| TestCaseError::fail(e.0))?;
        let text = format!("{text}\n");
        let back = tack_helm::yaml::unmarshal(&text).map_err(|e| TestCaseError::fail(format!("{e}\n{text}")))?;
        let back = if matches!(back, Value::Nil) { Value::map(Map::new()) } else { back };
        prop_assert_eq!(to_json(&back).unwrap_or_default(), to_json(&v).unwrap_or_default(), "{}", text);
    }
}

proptest! {
    /// Reading never panics, whatever the text.
    #[test]
    fn readers_never_panic(text in r#"[ a-z0-9:#'"\\\-\.\n\t{}\[\],&*!|>%@`~=<]{0,40}"#) {
        let _ = tack_helm::yaml::load_values(&text);
        let v = tack_helm::yaml::from_yaml(&text);
        let _ = tack_helm::yaml::to_yaml(&v);
        let _ = tack_helm::yaml::to_yaml_pretty(&v);
        let _ = tack_helm::json::from_json(&text);
        let _ = tack_helm::toml::from_toml(&text);
        let _ = tack_helm::toml::to_toml(&v);
        let dest = std::rc::Rc::new(std::cell::RefCell::new(Map::new()));
        let _ = tack_helm::strvals::parse_into(&text, &dest);
        let _ = tack_helm::strvals::parse_json(&text, &dest);
        let _ = tack_helm::strvals::parse_literal_into(&text, &dest);
    }
}

//! The directory-source API: Argo CD's file selection and manifest shapes, Tanka's nested extraction, confined
//! imports, variables and budgets.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::time::Duration;

use serde_json::json;
use tack_jsonnet::{
    Error, EvalOptions, Extract, Input, JsonnetOptions, VarValue, detect, evaluate, render_dir,
};

fn write(root: &Path, rel: &str, text: &str) {
    let path = root.join(rel);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

fn names(manifests: &[serde_json::Value]) -> Vec<String> {
    manifests
        .iter()
        .map(|m| m["metadata"]["name"].as_str().unwrap_or("?").to_string())
        .collect()
}

#[test]
fn objects_arrays_and_lists_become_manifests_in_file_order() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    write(
        root,
        "app/b.jsonnet",
        r#"{apiVersion: "v1", kind: "ConfigMap", metadata: {name: "b"}}"#,
    );
    write(
        root,
        "app/a.jsonnet",
        r#"[{apiVersion: "v1", kind: "ConfigMap", metadata: {name: "a1"}}, {apiVersion: "v1", kind: "ConfigMap", metadata: {name: "a2"}}]"#,
    );
    write(
        root,
        "app/c.jsonnet",
        r#"{apiVersion: "v1", kind: "List", items: [{apiVersion: "v1", kind: "Secret", metadata: {name: "c"}}]}"#,
    );
    write(root, "app/lib.libsonnet", "{}");
    write(
        root,
        "app/sub/d.jsonnet",
        r#"{apiVersion: "v1", kind: "ConfigMap", metadata: {name: "d"}}"#,
    );
    assert!(detect(&root.join("app")));
    assert!(!detect(root));
    let flat = render_dir(&root.join("app"), root, &JsonnetOptions::default()).unwrap();
    assert_eq!(names(&flat), ["a1", "a2", "b", "c"]);
    let deep = render_dir(
        &root.join("app"),
        root,
        &JsonnetOptions {
            recurse: true,
            ..Default::default()
        },
    )
    .unwrap();
    assert_eq!(names(&deep), ["a1", "a2", "b", "c", "d"]);
    let only = JsonnetOptions {
        recurse: true,
        include: Some("{a,sub/*}.jsonnet".into()),
        ..Default::default()
    };
    assert_eq!(
        names(&render_dir(&root.join("app"), root, &only).unwrap()),
        ["a1", "a2", "d"]
    );
    let without = JsonnetOptions {
        recurse: true,
        exclude: Some("sub/*".into()),
        ..Default::default()
    };
    assert_eq!(
        names(&render_dir(&root.join("app"), root, &without).unwrap()),
        ["a1", "a2", "b", "c"]
    );
}

#[test]
fn nested_extraction_finds_objects_in_tankas_order() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    write(
        root,
        "env/main.jsonnet",
        r#"{
          zeta: {apiVersion: "v1", kind: "Service", metadata: {name: "z"}},
          alpha: {deployment: {apiVersion: "apps/v1", kind: "Deployment", metadata: {name: "a"}}, notAnObject: {kind: 1}},
          list: [{apiVersion: "v1", kind: "ConfigMap", metadata: {name: "l0"}}, [{apiVersion: "v1", kind: "ConfigMap", metadata: {name: "l1"}}]],
        }"#,
    );
    let opts = JsonnetOptions {
        extract: Extract::Nested,
        ..Default::default()
    };
    assert_eq!(
        names(&render_dir(&root.join("env"), root, &opts).unwrap()),
        ["a", "l0", "l1", "z"]
    );
    let err = render_dir(&root.join("env"), root, &JsonnetOptions::default()).unwrap();
    assert_eq!(
        err.len(),
        1,
        "without extraction the whole object is one manifest"
    );
}

#[test]
fn variables_tlas_and_vendored_libraries() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    write(
        root,
        "vendor/k.libsonnet",
        r#"{ cm(name, data):: {apiVersion: "v1", kind: "ConfigMap", metadata: {name: name}, data: data} }"#,
    );
    write(
        root,
        "app/main.jsonnet",
        r#"local k = import "k.libsonnet"; function(env, replicas) k.cm(env, {region: std.extVar("region"), replicas: std.toString(replicas + 1)})"#,
    );
    let opts = JsonnetOptions {
        ext_vars: vec![("region".into(), VarValue::Str("eu".into()))],
        tlas: vec![
            ("env".into(), VarValue::Str("qa".into())),
            ("replicas".into(), VarValue::Code("2".into())),
        ],
        libs: vec!["vendor".into()],
        ..Default::default()
    };
    let out = render_dir(&root.join("app"), root, &opts).unwrap();
    assert_eq!(
        out,
        vec![
            json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "qa"}, "data": {"region": "eu", "replicas": "3"}})
        ]
    );
}

#[test]
fn imports_cannot_leave_the_repository() {
    let tmp = tempfile::tempdir().unwrap();
    let outside = tmp.path().join("outside.libsonnet");
    std::fs::write(&outside, r#"{secret: "s"}"#).unwrap();
    let root = tmp.path().join("repo");
    write(
        &root,
        "app/up.jsonnet",
        "local x = 1;\nimport '../../outside.libsonnet'\n",
    );
    let err = render_dir(&root.join("app"), &root, &JsonnetOptions::default())
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("outside the root directory") && err.contains("up.jsonnet:2:1"),
        "{err}"
    );
    std::fs::remove_file(root.join("app/up.jsonnet")).unwrap();
    std::os::unix::fs::symlink(&outside, root.join("app/link.libsonnet")).unwrap();
    write(&root, "app/link.jsonnet", "import 'link.libsonnet'\n");
    let err = render_dir(&root.join("app"), &root, &JsonnetOptions::default())
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("outside the root directory") && err.contains("link.jsonnet:1:1"),
        "{err}"
    );
    std::fs::remove_file(root.join("app/link.jsonnet")).unwrap();
    write(
        &root,
        "app/abs.jsonnet",
        &format!("importstr '{}'\n", outside.display()),
    );
    let err = render_dir(&root.join("app"), &root, &JsonnetOptions::default())
        .unwrap_err()
        .to_string();
    assert!(err.contains("absolute import paths are not allowed"), "{err}");
}

#[test]
fn errors_name_file_and_line_and_keep_the_authors_message() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    write(
        root,
        "app/main.jsonnet",
        "{\n  a: 1,\n  b: error 'replicas must be set for env qa',\n}\n",
    );
    let err = render_dir(&root.join("app"), root, &JsonnetOptions::default())
        .unwrap_err()
        .to_string();
    assert!(
        err.starts_with("RUNTIME ERROR: replicas must be set for env qa"),
        "{err}"
    );
    assert!(err.contains("app/main.jsonnet:3:6"), "{err}");
}

#[test]
fn a_result_that_is_not_an_object_or_array_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    write(tmp.path(), "app/s.jsonnet", "'just a string'");
    let err = render_dir(&tmp.path().join("app"), tmp.path(), &JsonnetOptions::default()).unwrap_err();
    assert!(matches!(err, Error::Shape { .. }), "{err}");
}

#[test]
fn std_native_has_no_functions() {
    let out = evaluate(
        &Input::Snippet {
            name: "<cmdline>".into(),
            code: "std.native('exec')".into(),
        },
        &EvalOptions::default(),
    );
    assert_eq!(out.unwrap(), serde_json::Value::Null);
}

#[test]
fn the_time_budget_stops_waiting() {
    let code = "local f(n) = if n == 0 then 0 else f(n - 1) + f(n - 1); f(40)".to_string();
    let opts = EvalOptions {
        timeout: Duration::from_millis(200),
        ..Default::default()
    };
    let started = std::time::Instant::now();
    let err = evaluate(
        &Input::Snippet {
            name: "<cmdline>".into(),
            code,
        },
        &opts,
    )
    .unwrap_err();
    assert!(matches!(err, Error::Timeout { .. }), "{err}");
    assert!(started.elapsed() < Duration::from_secs(5));
}

#[test]
fn the_stack_depth_is_limited() {
    let code = "local f(n) = if n == 0 then 0 else 1 + f(n - 1); f(1000)".to_string();
    let err = evaluate(
        &Input::Snippet {
            name: "<cmdline>".into(),
            code,
        },
        &EvalOptions::default(),
    )
    .unwrap_err();
    assert!(
        err.to_string()
            .starts_with("RUNTIME ERROR: max stack frames exceeded."),
        "{err}"
    );
}

#[test]
fn files_of_a_directory_share_one_evaluator_but_not_their_names() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    write(
        root,
        "lib/cm.libsonnet",
        r#"{ cm(name):: {apiVersion: "v1", kind: "ConfigMap", metadata: {name: name}, data: {region: std.extVar("region")}} }"#,
    );
    for name in ["a", "b", "c"] {
        write(
            root,
            &format!("app/{name}.jsonnet"),
            r#"local l = import "../lib/cm.libsonnet"; local p = std.split(std.thisFile, "/"); function(env) l.cm(env + "-" + p[std.length(p) - 1])"#,
        );
    }
    let opts = JsonnetOptions {
        ext_vars: vec![("region".into(), VarValue::Str("eu".into()))],
        tlas: vec![("env".into(), VarValue::Str("qa".into()))],
        ..Default::default()
    };
    let out = render_dir(&root.join("app"), root, &opts).unwrap();
    assert_eq!(names(&out), ["qa-a.jsonnet", "qa-b.jsonnet", "qa-c.jsonnet"]);
    assert!(out.iter().all(|m| m["data"]["region"] == "eu"));
    write(
        root,
        "app/b.jsonnet",
        "function(env) error 'b is broken for ' + env\n",
    );
    let err = render_dir(&root.join("app"), root, &opts)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("b is broken for qa") && err.contains("app/b.jsonnet:1:15"),
        "{err}"
    );
}

//! Tests of plain-manifest rendering (kept beside plain.rs for its length).

use std::fs;
use std::path::Path;

use super::*;

fn write(dir: &Path, rel: &str, content: &str) {
    let path = dir.join(rel);
    if let Some(parent) = path.parent() {
        fs::create_dir_all(parent).expect("create dir");
    }
    fs::write(path, content).expect("write file");
}

fn render(dir: &Path) -> Result<Vec<Manifest>, RenderError> {
    let opts = RenderOptions {
        display_root: dir.parent().map(Path::to_path_buf),
        ..Default::default()
    };
    PlainRenderer.render(dir, &opts)
}

fn names(manifests: &[Manifest]) -> Vec<String> {
    manifests
        .iter()
        .map(|m| {
            format!(
                "{}/{}",
                m.object["kind"].as_str().unwrap_or("?"),
                m.object["metadata"]["name"].as_str().unwrap_or("?")
            )
        })
        .collect()
}

fn cm(name: &str) -> String {
    format!("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name}\ndata:\n  k: v\n")
}

#[test]
fn multi_document_yaml_with_lines_and_empty_documents() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path().join("app");
    write(
        &dir,
        "all.yaml",
        "# leading comment\n---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n---\n---\n# only a comment\n---\n\
         apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: b\n  namespace: qa\n...\n",
    );
    let out = render(&dir).expect("render");
    assert_eq!(names(&out), ["ConfigMap/a", "ConfigMap/b"]);
    assert_eq!(out[0].origin, Origin::new("app/all.yaml", 3));
    assert_eq!(out[1].origin, Origin::new("app/all.yaml", 11));
}

#[test]
fn recursive_sorted_hidden_skipped_other_files_ignored() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path().join("app");
    write(&dir, "b.yaml", &cm("b"));
    write(&dir, "a.yml", &cm("a"));
    write(
        &dir,
        "a/z.json",
        r#"{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"az"}}"#,
    );
    write(&dir, "c.YAML", &cm("c"));
    write(&dir, ".hidden.yaml", "not: [valid");
    write(&dir, ".github/workflows/ci.yaml", "on: push\n");
    write(&dir, "README.md", "# readme\n");
    write(&dir, "values.txt", "x");
    let out = render(&dir).expect("render");
    // Byte order: "a" < "a.yml" < "b.yaml" < "c.YAML"
    assert_eq!(
        names(&out),
        ["ConfigMap/az", "ConfigMap/a", "ConfigMap/b", "ConfigMap/c"]
    );
    assert_eq!(out[0].origin, Origin::new("app/a/z.json", 1));
    assert!(PlainRenderer.detect(&dir));
}

#[test]
fn json_stream_and_list_expansion() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path().join("app");
    write(
        &dir,
        "stream.json",
        "{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{\"name\":\"j1\"}}\n\n\
         {\"apiVersion\":\"v1\",\"kind\":\"List\",\"items\":[\n\
           {\"apiVersion\":\"v1\",\"kind\":\"Secret\",\"metadata\":{\"name\":\"j2\"}},\n\
           {\"apiVersion\":\"v1\",\"kind\":\"Service\",\"metadata\":{\"name\":\"j3\"}}]}\n",
    );
    write(
        &dir,
        "z-list.yaml",
        "apiVersion: v1\nkind: List\nmetadata: {}\nitems:\n- apiVersion: apps/v1\n  kind: Deployment\n  metadata:\n    name: d\n",
    );
    let out = render(&dir).expect("render");
    assert_eq!(
        names(&out),
        ["ConfigMap/j1", "Secret/j2", "Service/j3", "Deployment/d"]
    );
    assert_eq!(out[1].origin, Origin::new("app/stream.json", 3));
    assert_eq!(out[3].origin, Origin::new("app/z-list.yaml", 1));
}

#[test]
fn missing_name_error_has_file_line_and_fix() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path().join("guestbook");
    let mut text = cm("ok");
    text.push_str(
        "---\n# the frontend\napiVersion: apps/v1\nkind: Deployment\nmetadata:\n  labels:\n    app: x\n",
    );
    write(&dir, "frontend.yaml", &text);
    let err = render(&dir).expect_err("must fail");
    assert_eq!(
        err.to_string(),
        "guestbook/frontend.yaml:9: object has no metadata.name; every Kubernetes object needs a name"
    );
    assert_eq!(err.origin(), Some(&Origin::new("guestbook/frontend.yaml", 9)));
}

#[test]
fn all_problems_are_reported() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path().join("app");
    write(&dir, "a.yaml", "apiVersion: v1\nmetadata:\n  name: a\n");
    write(&dir, "b.yaml", "kind: ConfigMap\nmetadata:\n  name: b\n");
    write(
        &dir,
        "c.yaml",
        "apiVersion: v1\nkind: List\nitems:\n- kind: ConfigMap\n  apiVersion: v1\n  metadata: {name: ok}\n- kind: ConfigMap\n  apiVersion: v1\n",
    );
    let err = render(&dir).expect_err("must fail");
    let text = err.to_string();
    assert!(text.starts_with("3 problems:\n"), "{text}");
    assert!(text.contains("app/a.yaml:1: object has no kind"), "{text}");
    assert!(text.contains("app/b.yaml:1: object has no apiVersion"), "{text}");
    assert!(
        text.contains("app/c.yaml:1: items[1]: object has no metadata;"),
        "{text}"
    );
    assert_eq!(err.errors().len(), 3);
}

#[test]
fn yaml_syntax_error_has_file_and_line() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path().join("app");
    write(
        &dir,
        "bad.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\ndata:\n  key: [unclosed\n  other: 1\n",
    );
    let err = render(&dir).expect_err("must fail");
    let RenderError::Syntax { origin, message } = &err else {
        panic!("want a syntax error, got {err:?}")
    };
    assert_eq!(origin.file, Path::new("app/bad.yaml"));
    assert!(
        origin.line >= 6,
        "line {} should point at or after the unclosed flow sequence",
        origin.line
    );
    assert!(message.starts_with("invalid YAML: "), "{message}");
    assert!(
        err.to_string()
            .starts_with(&format!("app/bad.yaml:{}: invalid YAML: ", origin.line)),
        "{err}"
    );
}

#[test]
fn json_syntax_error_has_file_and_line() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path().join("app");
    write(
        &dir,
        "bad.json",
        "{\n  \"apiVersion\": \"v1\",\n  \"kind\": \"ConfigMap\"\n  \"metadata\": {}\n}\n",
    );
    let err = render(&dir).expect_err("must fail");
    let msg = err.to_string();
    assert!(msg.starts_with("app/bad.json:4: invalid JSON: "), "{msg}");
}

#[test]
fn duplicates_are_rejected() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path().join("app");
    write(&dir, "a.yaml", &cm("same"));
    write(&dir, "b.yaml", &format!("# again\n{}", cm("same")));
    let err = render(&dir).expect_err("must fail");
    assert_eq!(
        err.to_string(),
        "app/b.yaml:2: ConfigMap/same is also defined at app/a.yaml:1; remove one of the two"
    );
    // Same name in another namespace is a different object.
    write(
        &dir,
        "b.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: same\n  namespace: other\n",
    );
    assert_eq!(render(&dir).expect("render").len(), 2);
}

#[test]
fn scalar_document_is_not_an_object() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path().join("app");
    write(&dir, "a.yaml", &format!("{}---\njust a string\n", cm("a")));
    let err = render(&dir).expect_err("must fail");
    assert_eq!(
        err.to_string(),
        "app/a.yaml:8: document is a string, not a Kubernetes object; each document must be a mapping with \
         apiVersion, kind and metadata"
    );
}

#[test]
fn empty_directory_renders_nothing_and_is_not_detected() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path().join("empty");
    write(&dir, "notes.txt", "x");
    assert_eq!(render(&dir).expect("render"), Vec::new());
    assert!(!PlainRenderer.detect(&dir));
}

#[test]
fn missing_directory() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let err = render(&tmp.path().join("nope")).expect_err("must fail");
    assert!(matches!(err, RenderError::NoSuchDirectory { .. }));
    assert!(err.to_string().contains("no such directory"), "{err}");
}

#[cfg(unix)]
#[test]
fn symlinks_inside_are_followed_outside_rejected() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path().join("app");
    write(&dir, "real/a.yaml", &cm("a"));
    write(tmp.path(), "outside/secret.yaml", &cm("outside"));
    std::os::unix::fs::symlink(dir.join("real"), dir.join("zlink")).expect("symlink");
    // A loop back to the root is visited once.
    std::os::unix::fs::symlink(&dir, dir.join("real/loop")).expect("symlink");
    let out = render(&dir).expect("render");
    assert_eq!(names(&out), ["ConfigMap/a"]);

    std::os::unix::fs::symlink(tmp.path().join("outside/secret.yaml"), dir.join("escape.yaml"))
        .expect("symlink");
    let err = render(&dir).expect_err("must fail");
    assert!(
        err.to_string()
            .contains("app/escape.yaml: symbolic link points outside"),
        "{err}"
    );
}

#[test]
fn yaml_anchors_and_types_become_json() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path().join("app");
    write(
        &dir,
        "a.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n  labels: &l\n    app: x\n  annotations: *l\n\
         data:\n  port: \"8080\"\n  flag: \"true\"\n",
    );
    write(
        &dir,
        "d.yaml",
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: d\nspec:\n  replicas: 3\n  paused: false\n",
    );
    let out = render(&dir).expect("render");
    assert_eq!(out[0].object["metadata"]["annotations"]["app"], "x");
    assert_eq!(out[0].object["data"]["port"], "8080");
    assert_eq!(out[1].object["spec"]["replicas"], 3);
    assert_eq!(out[1].object["spec"]["paused"], false);
}

#[test]
fn oversized_file_is_refused() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path().join("app");
    write(&dir, "a.yaml", &cm("a"));
    // A sparse file: no 65 MiB are written to disk.
    let big = fs::File::create(dir.join("big.yaml")).expect("create");
    big.set_len(MAX_FILE_BYTES + 1).expect("set_len");
    let err = render(&dir).expect_err("must fail");
    assert_eq!(
        err.to_string(),
        "app/big.yaml: file is 67108865 bytes, larger than the 64 MiB limit for one manifest file; split it"
    );
}

#[test]
fn scalars_read_as_kubectl_reads_them() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path().join("app");
    write(
        &dir,
        "a.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\nspec:\n  mode: 0644\n  enabled: yes\n  \
         off: off\n  replicas: 3.0\n  big: 1e3\n  cpu: 0.5\n  hex: 0x1F\n  quoted: \"0644\"\n",
    );
    let out = render(&dir).expect("render");
    let spec = &out[0].object["spec"];
    assert_eq!(
        spec["mode"],
        serde_json::json!(420),
        "leading-zero integers are octal, as in YAML 1.1"
    );
    assert_eq!(spec["enabled"], serde_json::json!(true));
    assert_eq!(spec["off"], serde_json::json!(false));
    assert_eq!(
        serde_json::to_string(&spec["replicas"]).ok().as_deref(),
        Some("3"),
        "integral floats as integers"
    );
    assert_eq!(serde_json::to_string(&spec["big"]).ok().as_deref(), Some("1000"));
    assert_eq!(spec["cpu"], serde_json::json!(0.5));
    assert_eq!(spec["hex"], serde_json::json!(31));
    assert_eq!(spec["quoted"], serde_json::json!("0644"));
}

#[test]
fn many_documents_in_one_file_are_fine_and_the_limit_is_named() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path().join("many");
    fs::create_dir_all(&dir).expect("mkdir");
    let doc = |i: usize| format!("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm-{i}\n");
    let text: Vec<String> = (0..3000).map(doc).collect();
    fs::write(dir.join("cms.yaml"), text.join("---\n")).expect("write");
    assert_eq!(render(&dir).expect("3 000 documents").len(), 3000);
    let separators = "x: 1\n---\n".repeat(MAX_DOCUMENTS_PER_FILE + 1);
    fs::write(dir.join("cms.yaml"), separators).expect("write");
    let err = render(&dir).expect_err("over the limit").to_string();
    assert!(err.contains("YAML documents in one file"), "{err}");
    assert!(!err.contains("fix the syntax"), "{err}");
}

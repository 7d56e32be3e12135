//! The Jsonnet renderer: a directory holding `*.jsonnet` files, evaluated by `tack-jsonnet` as Argo CD's
//! directory source evaluates them (go-jsonnet semantics), with Tanka-style nested extraction as an option.
//!
//! For a Git source, imports are confined to the checkout (the error names the importing file and line) and
//! every library path must lie inside it ([`confine`](crate::confine)); library paths are relative to the
//! checkout. A directory on the user's own disk is read as the `jsonnet` command would read it, library paths
//! relative to the current directory.

use std::path::{Path, PathBuf};

use tack_jsonnet::JsonnetOptions;

use crate::confine::Roots;
use crate::{
    Manifest, Origin, Problem, RenderError, RenderOptions, Rendered, Renderer, display_path, validate_object,
};

/// Evaluates Jsonnet directory sources.
#[derive(Clone, Copy, Debug, Default)]
pub struct JsonnetRenderer;

impl JsonnetRenderer {
    /// The renderer's name, as [`Renderer::name`] returns it and errors and source types name it.
    pub const NAME: &'static str = "jsonnet";
}

impl Renderer for JsonnetRenderer {
    fn name(&self) -> &'static str {
        Self::NAME
    }

    /// A directory with at least one `*.jsonnet` file directly in it.
    fn detect(&self, dir: &Path) -> bool {
        tack_jsonnet::detect(dir)
    }

    fn render(&self, dir: &Path, opts: &RenderOptions) -> Result<Vec<Manifest>, RenderError> {
        let jopts = opts.jsonnet.clone().unwrap_or_default();
        let root = match &opts.confine_to {
            Some(root) => {
                check_libs(root, &jopts, opts)?;
                Some(root.as_path())
            }
            None => None,
        };
        let found =
            tack_jsonnet::render_manifests(dir, root, &jopts).map_err(|e| engine_error(e, dir, opts))?;
        let mut manifests = Vec::with_capacity(found.len());
        let mut problems = Vec::new();
        for m in found {
            let origin = Origin::new(display_path(&dir.join(&m.file), opts), 0);
            if let Err(message) = validate_object(&m.object) {
                problems.push(RenderError::Invalid(Problem { origin, message }));
                continue;
            }
            manifests.push(Manifest {
                object: m.object,
                origin,
            });
        }
        RenderError::from_many(problems)?;
        Ok(manifests)
    }

    fn render_output(&self, dir: &Path, opts: &RenderOptions) -> Result<Rendered, RenderError> {
        let manifests = self.render(dir, opts)?;
        let yaml = tack_yaml::to_yaml_stream(manifests.iter().map(|m| &m.object));
        let warnings = unrendered_yaml(dir)
            .into_iter()
            .map(|name| {
                format!(
                    "{} is not rendered: a Jsonnet directory renders its *.jsonnet files only (import it with \
                     std.parseYaml(importstr ...) to deploy it)",
                    display_path(&dir.join(name), opts).display()
                )
            })
            .collect();
        Ok(Rendered {
            manifests,
            yaml,
            engine: Self::NAME,
            warnings,
            timings: Vec::new(),
        })
    }
}

/// The YAML files directly in `dir` (sorted), which a Jsonnet directory does not render.
fn unrendered_yaml(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .flatten()
                .filter(|e| e.file_type().is_ok_and(|t| t.is_file()))
                .filter_map(|e| e.file_name().to_str().map(str::to_string))
                .filter(|n| n.ends_with(".yaml") || n.ends_with(".yml"))
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

/// Every library path must lie inside the checkout (`..` and symbolic links resolved).
fn check_libs(root: &Path, jopts: &JsonnetOptions, opts: &RenderOptions) -> Result<(), RenderError> {
    let roots = Roots::new(root);
    for lib in &jopts.libs {
        let path: PathBuf = root.join(lib);
        roots.check(&path).map_err(|source| RenderError::Engine {
            engine: JsonnetRenderer::NAME,
            source: format!("library path {}: {source}", display_path(&path, opts).display()).into(),
        })?;
    }
    Ok(())
}

fn engine_error(e: tack_jsonnet::Error, dir: &Path, opts: &RenderOptions) -> RenderError {
    let shown = display_path(dir, opts);
    let dir_text = if shown.as_os_str().is_empty() {
        ".".to_string()
    } else {
        shown.display().to_string()
    };
    RenderError::Engine {
        engine: JsonnetRenderer::NAME,
        source: format!("evaluation of {dir_text} failed: {}", e.to_string().trim_end()).into(),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use tack_jsonnet::{Extract, VarValue};

    fn write(root: &Path, rel: &str, text: &str) {
        let path = root.join(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }

    fn confined(root: &Path, jsonnet: JsonnetOptions) -> RenderOptions {
        RenderOptions {
            display_root: Some(root.to_path_buf()),
            confine_to: Some(root.to_path_buf()),
            jsonnet: Some(jsonnet),
            ..Default::default()
        }
    }

    const CM: &str = r#"{apiVersion: "v1", kind: "ConfigMap", metadata: {name: "cm"}}"#;

    #[test]
    fn detection_order_is_helm_kustomize_jsonnet_plain() {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path();
        write(root, "j/main.jsonnet", CM);
        write(root, "j/extra.yaml", "a: 1\n");
        write(root, "k/main.jsonnet", CM);
        write(root, "k/kustomization.yaml", "resources: []\n");
        write(root, "h/main.jsonnet", CM);
        write(root, "h/Chart.yaml", "apiVersion: v2\nname: h\nversion: 0.1.0\n");
        write(root, "p/lib.libsonnet", "{}");
        write(
            root,
            "p/cm.yaml",
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: p\n",
        );
        assert_eq!(crate::select(&root.join("j")).name(), "jsonnet");
        assert_eq!(crate::select(&root.join("k")).name(), "kustomize");
        assert_eq!(crate::select(&root.join("h")).name(), "helm");
        assert_eq!(crate::select(&root.join("p")).name(), "plain");
        let out = crate::render(&root.join("j"), &RenderOptions::default()).unwrap();
        assert_eq!(out.engine, "jsonnet");
        assert_eq!(out.manifests.len(), 1, "only the Jsonnet files are rendered");
        assert_eq!(out.warnings.len(), 1, "{:?}", out.warnings);
        assert!(
            out.warnings[0].contains("extra.yaml is not rendered"),
            "{:?}",
            out.warnings
        );
        assert_eq!(
            out.yaml,
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm\n"
        );
    }

    #[test]
    fn a_git_source_with_libraries_variables_and_origins() {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path();
        write(
            root,
            "vendor/k.libsonnet",
            r#"{ cm(name, data):: {apiVersion: "v1", kind: "ConfigMap", metadata: {name: name}, data: data} }"#,
        );
        write(
            root,
            "envs/app/main.jsonnet",
            r#"local k = import "k.libsonnet"; function(env, n) { a: k.cm(env, {r: std.extVar("region"), n: std.toString(n)}), b: [k.cm("b", {})] }"#,
        );
        let opts = confined(
            root,
            JsonnetOptions {
                ext_vars: vec![("region".into(), VarValue::Str("eu".into()))],
                tlas: vec![
                    ("env".into(), VarValue::Str("qa".into())),
                    ("n".into(), VarValue::Code("1 + 1".into())),
                ],
                libs: vec!["vendor".into()],
                extract: Extract::Nested,
                ..Default::default()
            },
        );
        let out = crate::render(&root.join("envs/app"), &opts).unwrap();
        let names: Vec<&str> = out
            .manifests
            .iter()
            .map(|m| m.object["metadata"]["name"].as_str().unwrap())
            .collect();
        assert_eq!(names, ["qa", "b"]);
        assert_eq!(out.manifests[0].object["data"]["n"], "2");
        assert_eq!(out.manifests[0].object["data"]["r"], "eu");
        assert_eq!(out.manifests[0].origin.to_string(), "envs/app/main.jsonnet");
    }

    #[test]
    fn libraries_and_imports_stay_inside_the_checkout() {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().join("repo");
        write(tmp.path(), "outside/k.libsonnet", "{}");
        write(&root, "app/main.jsonnet", CM);
        let opts = confined(
            &root,
            JsonnetOptions {
                libs: vec!["../outside".into()],
                ..Default::default()
            },
        );
        let err = crate::render(&root.join("app"), &opts).unwrap_err().to_string();
        assert!(
            err.contains("library path") && err.contains(crate::confine::RULE),
            "{err}"
        );

        write(
            &root,
            "app/main.jsonnet",
            "local a = 1;\nimport '../../outside/k.libsonnet'\n",
        );
        let err = crate::render(&root.join("app"), &confined(&root, JsonnetOptions::default()))
            .unwrap_err()
            .to_string();
        assert!(err.contains("outside the root directory"), "{err}");
        assert!(
            err.contains("\tapp/main.jsonnet:2:1"),
            "relative to the checkout: {err}"
        );
    }

    #[test]
    fn evaluation_errors_name_the_file_and_line_inside_the_checkout() {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path();
        write(
            root,
            "app/main.jsonnet",
            "{\n  apiVersion: 'v1',\n  kind: error 'kind is required',\n}\n",
        );
        let err = crate::render(&root.join("app"), &confined(root, JsonnetOptions::default()))
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with("jsonnet: evaluation of app failed: RUNTIME ERROR: kind is required"),
            "{err}"
        );
        // go-jsonnet v0.22.0 locates it at app/main.jsonnet:3:9-33.
        assert!(err.contains("\tapp/main.jsonnet:3:9-33"), "{err}");
        assert!(
            !err.contains(&root.display().to_string()),
            "no checkout path: {err}"
        );
    }

    /// The golden corpus's guestbook rendered as a source of its repository (confined, `libs` relative to the
    /// root) gives the objects go-jsonnet v0.22.0 printed for it (`expected/apps/guestbook.e2e.stdout`).
    #[test]
    fn a_golden_application_renders_the_objects_go_jsonnet_prints() {
        let golden = Path::new(env!("CARGO_MANIFEST_DIR")).join("../jsonnet/tests/golden");
        let root = golden.join("apps");
        let opts = confined(
            &root,
            JsonnetOptions {
                libs: vec!["guestbook/vendor".into()],
                tlas: vec![("env".into(), VarValue::Str("e2e".into()))],
                ..Default::default()
            },
        );
        let out = crate::render(&root.join("guestbook"), &opts).unwrap();
        let expected: serde_json::Value = serde_json::from_str(
            &std::fs::read_to_string(golden.join("expected/apps/guestbook.e2e.stdout")).unwrap(),
        )
        .unwrap();
        let objects: Vec<&serde_json::Value> = out.manifests.iter().map(|m| &m.object).collect();
        let expected: Vec<&serde_json::Value> = expected.as_array().unwrap().iter().collect();
        assert_eq!(objects, expected);
        assert!(
            out.manifests
                .iter()
                .all(|m| m.origin.to_string() == "guestbook/main.jsonnet")
        );
    }

    #[test]
    fn objects_are_validated_with_their_file() {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path();
        write(
            root,
            "app/a.jsonnet",
            r#"[{apiVersion: "v1", kind: "ConfigMap", metadata: {}}]"#,
        );
        let err = crate::render(&root.join("app"), &confined(root, JsonnetOptions::default())).unwrap_err();
        assert_eq!(err.origin().unwrap().to_string(), "app/a.jsonnet");
        assert!(err.to_string().contains("metadata.name"), "{err}");
    }
}

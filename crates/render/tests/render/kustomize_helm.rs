//! Kustomize `helmCharts` inflated by the native Helm engine, against `kubectl kustomize --enable-helm` running
//! the reference helm v4.3.2 (`scripts/kustomize-helm-golden.sh` wrote every expectation in
//! `tests/kustomize-helm/cases/*/expected.{yaml,err}`). Each case is built as the script builds it: the case
//! directory copied to a scratch directory with the chart `tests/kustomize-helm/chart/app` under its chart home.

use std::path::{Path, PathBuf};

use tack_render::{RenderOptions, render};

fn corpus() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/kustomize-helm")
}

fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for entry in std::fs::read_dir(from).expect("read_dir") {
        let entry = entry.expect("entry");
        let target = to.join(entry.file_name());
        if entry.file_type().expect("type").is_dir() {
            copy_tree(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).expect("copy");
        }
    }
}

/// What must appear in tack's error for a case kubectl failed: helm's own message lines (between `Error: `
/// and `Use --debug`), or kustomize's message up to the first quoted path.
fn error_fragments(expected: &str) -> Vec<String> {
    if let Some(start) = expected.find("Error: ") {
        let block = &expected[start + "Error: ".len()..];
        let end = block.find("Use --debug").unwrap_or(block.len());
        return block[..end]
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .map(str::to_string)
            .collect();
    }
    let message = expected.split_once("err=\"").map(|(_, m)| m).unwrap_or(expected);
    vec![message.split('\'').next().unwrap_or(message).trim().to_string()]
}

#[test]
fn helm_charts_match_kubectl_kustomize_enable_helm() {
    let mut cases: Vec<PathBuf> = std::fs::read_dir(corpus().join("cases"))
        .expect("cases")
        .map(|e| e.expect("entry").path())
        .collect();
    cases.sort();
    assert!(cases.len() >= 10, "the corpus has {} cases", cases.len());
    let mut failures = Vec::new();
    for case in &cases {
        let name = case.file_name().expect("name").to_string_lossy().to_string();
        let scratch = tempfile::tempdir().expect("tempdir");
        let dir = scratch.path().join(&name);
        copy_tree(case, &dir);
        for f in ["expected.yaml", "expected.err", "chart-home"] {
            let _ = std::fs::remove_file(dir.join(f));
        }
        let home = std::fs::read_to_string(case.join("chart-home")).unwrap_or_else(|_| "charts".into());
        copy_tree(&corpus().join("chart/app"), &dir.join(home.trim()).join("app"));
        let got = render(&dir, &RenderOptions::default());
        match (std::fs::read_to_string(case.join("expected.yaml")), got) {
            (Ok(want), Ok(out)) if out.yaml == want => {}
            (Ok(want), Ok(out)) => failures.push(format!(
                "{name}: output differs from kubectl's\n--- kubectl\n{want}\n--- tack\n{}",
                out.yaml
            )),
            (Ok(_), Err(e)) => failures.push(format!("{name}: kubectl succeeded, tack failed: {e}")),
            (Err(_), Ok(_)) => failures.push(format!("{name}: kubectl failed, tack succeeded")),
            (Err(_), Err(e)) => {
                let expected = std::fs::read_to_string(case.join("expected.err")).expect("expected.err");
                let message = e.to_string();
                for fragment in error_fragments(&expected) {
                    if !message.contains(&fragment) {
                        failures.push(format!("{name}: the error lacks {fragment:?}: {message}"));
                    }
                }
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

#[test]
fn helm_charts_in_a_git_source_stay_in_the_checkout() {
    let scratch = tempfile::tempdir().expect("tempdir");
    let checkout = scratch.path().join("checkout");
    copy_tree(&corpus().join("chart/app"), &scratch.path().join("outside/app"));
    std::fs::create_dir_all(checkout.join("app")).expect("mkdir");
    std::fs::write(
        checkout.join("app/kustomization.yaml"),
        "helmGlobals:\n  chartHome: ../../outside\nhelmCharts:\n- name: app\n",
    )
    .expect("write");
    let opts = RenderOptions {
        display_root: Some(checkout.clone()),
        confine_to: Some(checkout.clone()),
        ..Default::default()
    };
    let err = render(&checkout.join("app"), &opts).expect_err("a chart outside the checkout is refused");
    assert!(
        err.to_string().contains("outside the repository checkout"),
        "{err}"
    );
}

/// The objects of a YAML stream, keyed by kind and name, for comparisons that ignore formatting and order.
fn objects(text: &str) -> std::collections::BTreeMap<String, serde_json::Value> {
    tack_yaml::parse_documents(text, "stream")
        .expect("YAML")
        .into_iter()
        .filter(|d| !d.value.is_null())
        .map(|d| {
            let key = format!("{}/{}", d.value["kind"], d.value["metadata"]["name"]);
            (key, d.value)
        })
        .collect()
}

#[test]
fn helm_charts_with_repo_are_fetched_into_the_chart_cache() {
    use tack_testkit::charts::{oracle, repository_server};
    let server = repository_server();
    let scratch = tempfile::tempdir().expect("tempdir");
    let dir = scratch.path().join("app");
    std::fs::create_dir_all(&dir).expect("mkdir");
    std::fs::write(
        dir.join("kustomization.yaml"),
        format!(
            "helmCharts:\n- name: web\n  repo: {}\n  version: 1.0.0\n  releaseName: r\n  valuesMerge: merge\n  valuesInline:\n    replicaCount: 2\n    podAnnotations:\n      team: payments\n",
            server.url("/repo")
        ),
    )
    .expect("write");
    let cache = scratch.path().join("cache");
    let opts = RenderOptions {
        cache_dir: Some(cache.clone()),
        ..Default::default()
    };
    let out = render(&dir, &opts).expect("render");
    // The same objects as the reference helm renders from that archive (kustomize reformats and reorders).
    let archive = tack_testkit::charts::fixtures_dir().join("web-1.0.0.tgz");
    let helm = std::process::Command::new(oracle("helm", "HELM_VERSION"))
        .args(["template", "r"])
        .arg(&archive)
        // `merge`: inline values only fill what the chart's values.yaml lacks (replicaCount stays 1).
        .args(["--set", "podAnnotations.team=payments"])
        .env("HELM_CONFIG_HOME", scratch.path().join("helm"))
        .env("HELM_CACHE_HOME", scratch.path().join("helm"))
        .env("HELM_DATA_HOME", scratch.path().join("helm"))
        .output()
        .expect("helm runs");
    assert!(helm.status.success(), "{}", String::from_utf8_lossy(&helm.stderr));
    assert_eq!(
        objects(&out.yaml),
        objects(&String::from_utf8_lossy(&helm.stdout))
    );
    // Fetched into tack's cache by digest; nothing written next to the kustomization.
    assert_eq!(
        std::fs::read_dir(cache.join("charts/sha256"))
            .expect("cache")
            .count(),
        1
    );
    assert!(!dir.join("charts").exists());
    // Without a cache to fetch into, the entry says so.
    let err = render(&dir, &RenderOptions::default()).expect_err("no cache");
    assert!(err.to_string().contains("no chart cache"), "{err}");
}

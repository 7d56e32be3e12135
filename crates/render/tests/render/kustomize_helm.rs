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

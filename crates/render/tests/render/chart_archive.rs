//! A chart fetched from a chart repository or registry (an archive in the chart cache, outside any checkout)
//! rendered with values files from a Git checkout: the chart is read from its archive alone, the values files
//! must lie inside the checkout.

use tack_render::{RenderOptions, render_chart_archive};

#[test]
fn values_of_a_fetched_chart_come_from_the_checkout_only() {
    let scratch = tempfile::tempdir().expect("tempdir");
    let checkout = scratch.path().join("checkout");
    std::fs::create_dir_all(checkout.join("envs")).expect("mkdir");
    std::fs::write(checkout.join("envs/values-qa.yaml"), "replicaCount: 3\n").expect("write");
    std::fs::write(scratch.path().join("secret.yaml"), "replicaCount: 9\n").expect("write");
    let archive = tack_testkit::charts::fixtures_dir().join("web-1.0.0.tgz");
    let opts = |files: &[&str]| RenderOptions {
        display_root: Some(checkout.clone()),
        confine_to: Some(checkout.clone()),
        helm: Some(tack_helm::Options {
            release_name: "web".into(),
            value_files: files.iter().map(|f| f.to_string()).collect(),
            ..Default::default()
        }),
        ..Default::default()
    };
    let out =
        render_chart_archive(&archive, &checkout.join("envs"), &opts(&["values-qa.yaml"])).expect("render");
    let deployment = out
        .manifests
        .iter()
        .find(|m| m.object["kind"] == "Deployment")
        .expect("a Deployment");
    assert_eq!(deployment.object["spec"]["replicas"], 3);
    assert_eq!(
        deployment.origin.file.display().to_string(),
        "web/templates/deployment.yaml"
    );
    let err = render_chart_archive(&archive, &checkout.join("envs"), &opts(&["../../secret.yaml"]))
        .expect_err("a values file outside the checkout");
    assert!(
        err.to_string().contains("outside the repository checkout"),
        "{err}"
    );
}

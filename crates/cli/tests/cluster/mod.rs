//! `tack cluster add|list|remove` as a user runs them, on the local control plane registered as a cluster of
//! itself (in a namespace of the test): the Secret it writes, the list (server, reachable, applications using
//! it), a removal refused while an application uses the cluster, and credential plugins refused.

use anyhow::Result;
use k8s_openapi::api::core::v1::Secret;
use kube::api::Api;
use serde_json::Value;
use tack_testkit::TestNamespace;

use super::{tack, text};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the local control plane"]
async fn clusters_are_added_listed_and_removed_only_when_unused() -> Result<()> {
    let client = tack_testkit::client().await?;
    let test_ns = TestNamespace::new(&client, "cluster-cli").await?;
    let ns = test_ns.name();
    let out = tack(&["install", "--crds-only"])?;
    assert!(out.status.success(), "{}", text(&out));
    let kubeconfig = tack_testkit::kubeconfig()?;
    let kubeconfig = kubeconfig.to_string_lossy();
    let at = ["--clusters-namespace", ns];

    let out = tack(
        &[
            &["cluster", "add", "self", "--cluster-kubeconfig", &kubeconfig],
            &at[..],
        ]
        .concat(),
    )?;
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        text(&out).contains("cluster self registered: https://127.0.0.1:"),
        "{}",
        text(&out)
    );
    let secrets: Api<Secret> = Api::namespaced(client.clone(), ns);
    let secret = secrets.get("tack-cluster-self").await?;
    let labels = secret.metadata.labels.unwrap_or_default();
    assert_eq!(
        labels.get("tack.dev/secret-type").map(String::as_str),
        Some("cluster")
    );
    let stored = secret.data.unwrap_or_default();
    let stored = String::from_utf8(stored.get("kubeconfig").map(|b| b.0.clone()).unwrap_or_default())?;
    assert!(stored.contains("certificate-authority-data"), "{stored}");

    let out = tack(
        &[&[
            "app",
            "create",
            "web",
            "--repo",
            "https://git.example.test/web.git",
            "--manual",
            "--dest-cluster",
            "self",
            "-n",
            ns,
        ][..]]
        .concat(),
    )?;
    assert!(out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("of cluster self"), "{}", text(&out));

    let out = tack(&[&["cluster", "list", "-o", "json"], &at[..]].concat())?;
    assert!(out.status.success(), "{}", text(&out));
    let list: Value = serde_json::from_slice(&out.stdout)?;
    assert_eq!(list[0]["name"], "self", "{list}");
    assert_eq!(list[0]["reachable"], true, "{list}");
    assert!(
        list[0]["server"]
            .as_str()
            .unwrap_or("")
            .starts_with("https://127.0.0.1:"),
        "{list}"
    );
    assert_eq!(
        list[0]["applications"],
        serde_json::json!([format!("{ns}/web")]),
        "{list}"
    );

    let out = tack(&[&["cluster", "remove", "self"], &at[..]].concat())?;
    assert!(!out.status.success(), "removed while used: {}", text(&out));
    assert!(
        text(&out).contains(&format!("used by 1 application(s): {ns}/web")),
        "{}",
        text(&out)
    );
    assert!(secrets.get_opt("tack-cluster-self").await?.is_some());
    let out = tack(&[&["cluster", "remove", "self", "--force"], &at[..]].concat())?;
    assert!(out.status.success(), "{}", text(&out));
    assert!(secrets.get_opt("tack-cluster-self").await?.is_none());

    // A user authenticated by a plugin cannot be run by the controller: refused, nothing written.
    let dir = tempfile::tempdir()?;
    let plugin = dir.path().join("plugin.yaml");
    std::fs::write(
        &plugin,
        "apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster: {server: 'https://127.0.0.1:1'}\nusers:\n\
         - name: u\n  user:\n    exec: {apiVersion: client.authentication.k8s.io/v1, command: aws}\ncontexts:\n\
         - name: c\n  context: {cluster: c, user: u}\ncurrent-context: c\n",
    )?;
    let plugin = plugin.to_string_lossy();
    let out = tack(
        &[
            &["cluster", "add", "cloud", "--cluster-kubeconfig", &plugin],
            &at[..],
        ]
        .concat(),
    )?;
    assert!(!out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("plugin"), "{}", text(&out));
    assert!(secrets.get_opt("tack-cluster-cloud").await?.is_none());
    Ok(())
}

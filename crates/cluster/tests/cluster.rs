//! tack-cluster against the local control plane: discovery, server-side apply (dry run, force), get, list,
//! delete, field-manager conflicts, CRDs becoming Established.

use std::time::Duration;

use anyhow::{Context, Result};
use serde_json::json;
use tack_cluster::{ApplyOptions, Cluster, ClusterError, Propagation};
use tack_testkit::TestNamespace;

async fn setup(prefix: &str) -> Result<(Cluster, TestNamespace)> {
    tack_cluster::install_crypto_provider();
    let client = tack_testkit::client().await?;
    let ns = TestNamespace::new(&client, prefix).await?;
    Ok((Cluster::from_client(client, "default"), ns))
}

#[tokio::test]
#[ignore = "needs the local control plane"]
async fn discovery_knows_scopes() -> Result<()> {
    let (cluster, _ns) = setup("cluster-discovery").await?;
    let kinds = cluster.served_kinds().await?;
    let find = |g: &str, k: &str| {
        kinds
            .iter()
            .find(|x| x.group == g && x.kind == k)
            .map(|x| x.namespaced)
    };
    assert_eq!(find("apps", "Deployment"), Some(true));
    assert_eq!(find("", "Namespace"), Some(false));
    assert!(cluster.resolve("example.invalid/v1", "Nothing").await?.is_none());
    let d = cluster
        .resolve_group_kind("apps", "Deployment")
        .await?
        .context("apps Deployment")?;
    assert_eq!(d.resource.version, "v1");
    Ok(())
}

#[tokio::test]
#[ignore = "needs the local control plane"]
async fn apply_dry_run_get_list_delete() -> Result<()> {
    let (cluster, ns) = setup("cluster-verbs").await?;
    let kind = cluster.resolve("v1", "ConfigMap").await?.context("ConfigMap")?;
    let cm = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a", "namespace": ns.name()}, "data": {"k": "v"}});
    let dry = cluster
        .apply(
            &kind,
            &cm,
            ApplyOptions {
                dry_run: true,
                force: false,
            },
        )
        .await?;
    assert_eq!(dry["data"]["k"], "v");
    assert!(
        cluster.get(&kind, ns.name(), "a").await?.is_none(),
        "a dry run stored the object"
    );
    let applied = cluster.apply(&kind, &cm, ApplyOptions::default()).await?;
    assert_eq!(applied["metadata"]["managedFields"][0]["manager"], "tack");
    assert!(cluster.get(&kind, ns.name(), "a").await?.is_some());
    let listed = cluster.list(&kind, Some(ns.name())).await?;
    assert!(listed.iter().any(|o| o["metadata"]["name"] == "a"));
    assert!(
        cluster
            .delete(&kind, ns.name(), "a", Propagation::Background)
            .await?
    );
    assert!(
        !cluster
            .delete(&kind, ns.name(), "a", Propagation::Background)
            .await?
    );

    // Strict field validation: an unknown field is refused, naming it.
    let bad = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "b", "namespace": ns.name()}, "dataa": {}});
    let err = cluster
        .apply(
            &kind,
            &bad,
            ApplyOptions {
                dry_run: true,
                force: false,
            },
        )
        .await
        .expect_err("unknown field");
    assert!(matches!(err, ClusterError::Rejected { .. }), "{err}");
    assert!(err.to_string().contains("dataa"), "{err}");

    // A namespace that does not exist.
    let lost = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c", "namespace": "no-such-namespace-tack"}});
    let err = cluster
        .apply(
            &kind,
            &lost,
            ApplyOptions {
                dry_run: true,
                force: false,
            },
        )
        .await
        .expect_err("no namespace");
    assert!(err.is_namespace_not_found(), "{err}");
    Ok(())
}

#[tokio::test]
#[ignore = "needs the local control plane"]
async fn conflicts_name_the_other_manager_and_field() -> Result<()> {
    let (cluster, ns) = setup("cluster-conflict").await?;
    let kind = cluster.resolve("v1", "ConfigMap").await?.context("ConfigMap")?;
    let api: kube::Api<kube::api::DynamicObject> =
        kube::Api::namespaced_with(cluster.client().clone(), ns.name(), &kind.resource);
    api.patch(
        "shared",
        &kube::api::PatchParams::apply("someone-else"),
        &kube::api::Patch::Apply(json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "shared"}, "data": {"x": "1"}})),
    )
    .await?;
    let mine = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "shared", "namespace": ns.name()}, "data": {"x": "2"}});
    let err = cluster
        .apply(&kind, &mine, ApplyOptions::default())
        .await
        .expect_err("conflict");
    assert_eq!(err.conflicts().len(), 1, "{err}");
    assert_eq!(err.conflicts()[0].manager, "someone-else");
    assert_eq!(err.conflicts()[0].field, ".data.x");
    assert!(err.to_string().contains("--force"), "{err}");
    let forced = cluster
        .apply(
            &kind,
            &mine,
            ApplyOptions {
                dry_run: false,
                force: true,
            },
        )
        .await?;
    assert_eq!(forced["data"]["x"], "2");
    Ok(())
}

#[tokio::test]
#[ignore = "needs the local control plane"]
async fn a_new_crd_becomes_established_and_is_discovered() -> Result<()> {
    let (cluster, _ns) = setup("cluster-crd").await?;
    let kind = cluster
        .resolve("apiextensions.k8s.io/v1", "CustomResourceDefinition")
        .await?
        .context("CRD kind")?;
    // A group never installed before, so the wait covers a kind discovery has not seen yet.
    let stamp = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)?
        .as_nanos();
    let group = format!("g{stamp}.cluster-test.tack.dev");
    let name = format!("gadgets.{group}");
    let crd = json!({
        "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
        "metadata": {"name": name},
        "spec": {"group": group, "scope": "Namespaced",
                 "names": {"plural": "gadgets", "singular": "gadget", "kind": "Gadget"},
                 "versions": [{"name": "v1", "served": true, "storage": true,
                               "schema": {"openAPIV3Schema": {"type": "object", "x-kubernetes-preserve-unknown-fields": true}}}]}
    });
    cluster.apply(&kind, &crd, ApplyOptions::default()).await?;
    cluster
        .wait_crd_established(&name, Duration::from_secs(30))
        .await?;
    // No refresh here: the wait leaves the discovery cache serving the new kind.
    let g = cluster
        .resolve(&format!("{group}/v1"), "Gadget")
        .await?
        .context("Gadget served as soon as the wait returns")?;
    assert!(g.namespaced);
    cluster.delete(&kind, "", &name, Propagation::Background).await?;
    Ok(())
}

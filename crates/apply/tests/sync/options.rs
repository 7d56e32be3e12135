//! Per-object sync options (Argo CD's and Flux's spellings) and safer pruning against the local control plane.

use std::time::Duration;

use anyhow::{Context, Result};
use kube::api::{Api, DynamicObject, Patch, PatchParams};
use serde_json::{Value, json};
use tack_apply::{Action, Propagation, SyncError, SyncOptions, sync};

use super::phases::{Lines, cm, deployment, get, manifests};
use super::setup;

fn opts(ns: &str) -> SyncOptions {
    SyncOptions {
        wave_timeout: Duration::from_secs(90),
        ..SyncOptions::new("options", ns)
    }
}

fn quiet(_: &str) {}

fn data(o: &Value) -> &str {
    o.pointer("/data/k").and_then(Value::as_str).unwrap_or("")
}

fn with_data(mut o: Value, v: &str) -> Value {
    o["data"]["k"] = json!(v);
    o
}

#[tokio::test]
#[ignore = "needs the local control plane"]
async fn replace_force_and_server_side_apply_options() -> Result<()> {
    let (cluster, ns) = setup("sync-opt-replace").await?;
    let n = ns.name();
    let replaced = cm(
        "replaced",
        json!({"argocd.argoproj.io/sync-options": "Replace=true"}),
    );
    let forced = cm(
        "forced",
        json!({"argocd.argoproj.io/sync-options": "Force=true,ServerSideApply=true"}),
    );
    let lines = Lines::default();
    sync(
        &cluster,
        manifests(&[replaced.clone(), forced.clone()]),
        &opts(n),
        &|l: &str| lines.push(l),
    )
    .await?;
    assert!(
        !lines.all().iter().any(|l| l.starts_with("warning")),
        "{:#?}",
        lines.all()
    );
    // Another field manager takes over a field Git sets.
    let kind = cluster.resolve("v1", "ConfigMap").await?.context("ConfigMap")?;
    let api: Api<DynamicObject> = Api::namespaced_with(cluster.client().clone(), n, &kind.resource);
    api.patch(
        "forced",
        &PatchParams::apply("intruder").force(),
        &Patch::Apply(json!({
        "apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "forced"}, "data": {"k": "theirs"}})),
    )
    .await?;
    let r = sync(
        &cluster,
        manifests(&[with_data(replaced, "new"), with_data(forced, "ours")]),
        &opts(n),
        &quiet,
    )
    .await?;
    assert_eq!(r.count(Action::Configured), 2, "{r:#?}");
    let live = get(&cluster, "v1", "ConfigMap", n, "replaced")
        .await?
        .context("replaced")?;
    assert_eq!(data(&live), "new");
    // Replaced with a PUT: tack's managedFields entry is an Update, not an Apply.
    let ops: Vec<&str> = live["metadata"]["managedFields"]
        .as_array()
        .context("managedFields")?
        .iter()
        .filter(|m| m["manager"] == "tack")
        .filter_map(|m| m["operation"].as_str())
        .collect();
    assert_eq!(ops, ["Update"], "{live:#}");
    // Force=true took the field back without --force.
    let live = get(&cluster, "v1", "ConfigMap", n, "forced")
        .await?
        .context("forced")?;
    assert_eq!(data(&live), "ours");
    Ok(())
}

#[tokio::test]
#[ignore = "needs the local control plane"]
async fn flux_ssa_policies_and_unknown_options() -> Result<()> {
    let (cluster, ns) = setup("sync-opt-ssa").await?;
    let n = ns.name();
    let ignored = cm("ignored", json!({"kustomize.toolkit.fluxcd.io/ssa": "Ignore"}));
    let once = cm("once", json!({"kustomize.toolkit.fluxcd.io/ssa": "IfNotPresent"}));
    let merged = cm(
        "merged",
        json!({"kustomize.toolkit.fluxcd.io/ssa": "Merge",
        "argocd.argoproj.io/sync-options": "Wobble=true"}),
    );
    let lines = Lines::default();
    sync(
        &cluster,
        manifests(&[ignored.clone(), once.clone(), merged.clone()]),
        &opts(n),
        &|l: &str| lines.push(l),
    )
    .await?;
    assert!(
        get(&cluster, "v1", "ConfigMap", n, "ignored").await?.is_none(),
        "ssa: Ignore was applied"
    );
    assert!(
        lines
            .all()
            .iter()
            .any(|l| l.starts_with("warning: ConfigMap/merged")
                && l.contains("app.yaml:21")
                && l.contains("Wobble=true is not a sync option")),
        "{:#?}",
        lines.all()
    );
    sync(
        &cluster,
        manifests(&[ignored, with_data(once, "changed"), with_data(merged, "changed")]),
        &opts(n),
        &quiet,
    )
    .await?;
    let live = get(&cluster, "v1", "ConfigMap", n, "once")
        .await?
        .context("once")?;
    assert_eq!(data(&live), "v", "IfNotPresent changed an existing object");
    let live = get(&cluster, "v1", "ConfigMap", n, "merged")
        .await?
        .context("merged")?;
    assert_eq!(data(&live), "changed");
    Ok(())
}

#[tokio::test]
#[ignore = "needs the local control plane"]
async fn skip_dry_run_on_missing_resource_defers_the_kind_to_the_apply() -> Result<()> {
    let (cluster, ns) = setup("sync-opt-skipdry").await?;
    let n = ns.name();
    let gadget = json!({"apiVersion": "example.com/v1", "kind": "Gadget",
        "metadata": {"name": "g", "annotations": {
            "argocd.argoproj.io/sync-options": "SkipDryRunOnMissingResource=true",
            "argocd.argoproj.io/sync-wave": "1"}}});
    // Without the option the plan refuses the kind; with it, wave 0 is applied and the Gadget is refused when
    // its wave comes, since nothing installed its CRD.
    let plain = json!({"apiVersion": "example.com/v1", "kind": "Gadget", "metadata": {"name": "g"}});
    let err = sync(
        &cluster,
        manifests(&[cm("first", json!({})), plain]),
        &opts(n),
        &quiet,
    )
    .await
    .expect_err("unknown kind");
    assert!(matches!(err, SyncError::Plan(_)), "{err}");
    let err = sync(
        &cluster,
        manifests(&[cm("first", json!({})), gadget]),
        &opts(n),
        &quiet,
    )
    .await
    .expect_err("not served");
    assert!(err.to_string().contains("not served by the cluster"), "{err}");
    assert!(get(&cluster, "v1", "ConfigMap", n, "first").await?.is_some());
    Ok(())
}

#[tokio::test]
#[ignore = "needs the local control plane"]
async fn prune_options_keep_hold_and_ignore_extraneous() -> Result<()> {
    let (cluster, ns) = setup("sync-opt-prune").await?;
    let n = ns.name();
    let all = [
        cm(
            "keep-argo",
            json!({"argocd.argoproj.io/sync-options": "Prune=false"}),
        ),
        cm(
            "keep-delete",
            json!({"argocd.argoproj.io/sync-options": "Delete=false"}),
        ),
        cm(
            "keep-flux",
            json!({"kustomize.toolkit.fluxcd.io/prune": "disabled"}),
        ),
        cm(
            "confirm",
            json!({"argocd.argoproj.io/sync-options": "Prune=confirm"}),
        ),
        cm(
            "extra",
            json!({"argocd.argoproj.io/compare-options": "IgnoreExtraneous"}),
        ),
        cm("plain", json!({})),
    ];
    let stay: Vec<Value> = (0..6).map(|i| cm(&format!("stay-{i}"), json!({}))).collect();
    let mut first = all.to_vec();
    first.extend(stay.iter().cloned());
    let mut o = SyncOptions {
        max_prune_share: 1.0,
        ..opts(n)
    };
    sync(&cluster, manifests(&first), &o, &quiet).await?;
    // Without prune: IgnoreExtraneous objects are not "left over".
    let r = sync(&cluster, manifests(&stay), &o, &quiet).await?;
    assert_eq!(r.count(Action::Extraneous), 1, "{r:#?}");
    assert_eq!(r.count(Action::PruneSkipped), 5, "{r:#?}");
    o.prune = true;
    let r = sync(&cluster, manifests(&stay), &o, &quiet).await?;
    assert_eq!(r.count(Action::Kept), 3, "{r:#?}");
    assert_eq!(r.count(Action::Pruned), 2, "{r:#?}");
    assert_eq!(r.count(Action::PruneHeld), 1, "{r:#?}");
    assert!(
        r.inventory.iter().any(|id| id.name == "confirm"),
        "held objects stay in the inventory"
    );
    for name in ["keep-argo", "keep-delete", "keep-flux", "confirm"] {
        assert!(
            get(&cluster, "v1", "ConfigMap", n, name).await?.is_some(),
            "{name} was pruned"
        );
    }
    for name in ["extra", "plain"] {
        assert!(
            get(&cluster, "v1", "ConfigMap", n, name).await?.is_none(),
            "{name} was not pruned"
        );
    }
    o.confirm = true;
    let r = sync(&cluster, manifests(&stay), &o, &quiet).await?;
    assert_eq!(r.count(Action::Pruned), 1, "{r:#?}");
    assert!(get(&cluster, "v1", "ConfigMap", n, "confirm").await?.is_none());
    Ok(())
}

#[tokio::test]
#[ignore = "needs the local control plane"]
async fn pruning_most_of_an_application_is_held_until_confirmed() -> Result<()> {
    let (cluster, ns) = setup("sync-prune-guard").await?;
    let n = ns.name();
    let objects: Vec<Value> = (0..10).map(|i| cm(&format!("c{i}"), json!({}))).collect();
    let mut o = SyncOptions {
        prune: true,
        ..opts(n)
    };
    sync(&cluster, manifests(&objects), &o, &quiet).await?;
    // A commit that deletes 9 of 10 objects: nothing is pruned.
    let lines = Lines::default();
    let r = sync(&cluster, manifests(&objects[..1]), &o, &|l: &str| lines.push(l)).await?;
    assert_eq!(r.count(Action::PruneHeld), 9, "{r:#?}");
    assert_eq!(r.count(Action::Pruned), 0);
    assert!(r.summary().contains("9 held from pruning"), "{}", r.summary());
    assert!(
        lines
            .position("prune held: 9 of the application's 10 objects")
            .is_some(),
        "{:#?}",
        lines.all()
    );
    assert_eq!(r.inventory.len(), 10);
    for i in 0..10 {
        assert!(
            get(&cluster, "v1", "ConfigMap", n, &format!("c{i}"))
                .await?
                .is_some()
        );
    }
    // The dry run says the same.
    let dry = sync(
        &cluster,
        manifests(&objects[..1]),
        &SyncOptions {
            dry_run: true,
            ..o.clone()
        },
        &quiet,
    )
    .await?;
    assert_eq!(dry.count(Action::PruneHeld), 9);
    o.confirm = true;
    let r = sync(&cluster, manifests(&objects[..1]), &o, &quiet).await?;
    assert_eq!(r.count(Action::Pruned), 9, "{r:#?}");
    assert_eq!(r.inventory.len(), 1);
    Ok(())
}

#[tokio::test]
#[ignore = "needs the local control plane"]
async fn namespaces_need_confirmation_and_orphan_propagation_keeps_dependents() -> Result<()> {
    let (cluster, ns) = setup("sync-prune-ns").await?;
    let n = ns.name();
    let extra_ns = format!("{n}-extra");
    let namespace = json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": extra_ns}});
    let keep: Vec<Value> = (0..4).map(|i| cm(&format!("k{i}"), json!({}))).collect();
    let mut first = keep.clone();
    first.push(namespace);
    first.push(deployment("web", "nginx:1", json!({})));
    let mut o = SyncOptions {
        prune: true,
        propagation: Propagation::Orphan,
        ..opts(n)
    };
    sync(&cluster, manifests(&first), &o, &quiet).await?;
    let rs_kind = cluster
        .resolve("apps/v1", "ReplicaSet")
        .await?
        .context("ReplicaSet")?;
    tack_testkit::eventually(Duration::from_secs(30), "a ReplicaSet", || async {
        Ok((!cluster.list(&rs_kind, Some(n)).await?.is_empty()).then_some(()))
    })
    .await?;
    let r = sync(&cluster, manifests(&keep), &o, &quiet).await?;
    assert_eq!(r.count(Action::Pruned), 1, "{r:#?}");
    assert_eq!(r.count(Action::PruneHeld), 1, "{r:#?}");
    assert!(
        get(&cluster, "v1", "Namespace", "", &extra_ns).await?.is_some(),
        "namespace pruned unconfirmed"
    );
    // Orphan propagation: the API server removes the Deployment once the garbage collector orphaned its
    // ReplicaSet.
    tack_testkit::eventually(Duration::from_secs(30), "the Deployment deleted", || async {
        Ok(get(&cluster, "apps/v1", "Deployment", n, "web")
            .await?
            .is_none()
            .then_some(()))
    })
    .await?;
    // The Deployment's ReplicaSet stays.
    assert!(
        !cluster.list(&rs_kind, Some(n)).await?.is_empty(),
        "ReplicaSet deleted with orphan propagation"
    );
    o.confirm = true;
    let r = sync(&cluster, manifests(&keep), &o, &quiet).await?;
    assert_eq!(r.count(Action::Pruned), 1, "{r:#?}");
    let gone = get(&cluster, "v1", "Namespace", "", &extra_ns).await?;
    assert!(gone.is_none() || gone.is_some_and(|g| g.pointer("/metadata/deletionTimestamp").is_some()));
    Ok(())
}

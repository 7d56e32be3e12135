//! What a sync of an application would change, without changing anything: the same admission, fetch, render
//! and tenant checks as a reconcile ([`crate::reconcile`]), then a comparison with the live objects as the
//! application's acting identity sees them. The dashboard's diff view shows it.

use kube::ResourceExt;
use tack_apply::{DiffOptions, DiffReport, InventoryStore};
use tack_model::GitOpsConfig;

use crate::Error;
use crate::reconcile::{
    Context, Failure, admit, admit_rendered, fetch_rendered, ignore_rules, previous_inventory,
};

/// The differences between Git and the cluster for one application.
#[derive(Debug)]
pub struct Preview {
    /// The commit compared.
    pub revision: String,
    /// The renderer that produced the manifests.
    pub engine: &'static str,
    /// The objects that differ (each diff has every line of the object, so unchanged parts can be folded by
    /// whoever shows it; Secret values masked), and those the inventory lists that left Git.
    pub report: DiffReport,
}

/// A failed preview, with the commit when the fetch got that far.
#[derive(Debug)]
pub struct PreviewError {
    /// The commit, when it was resolved.
    pub revision: Option<String>,
    /// Why.
    pub error: Error,
}

impl From<Failure> for PreviewError {
    fn from(f: Failure) -> Self {
        PreviewError {
            revision: f.revision,
            error: *f.error,
        }
    }
}

/// Compares what Git declares for `obj` (at its rollback commit when it is rolled back) with the cluster.
/// Reads only; never writes, not even the inventory.
pub async fn preview(obj: &GitOpsConfig, ctx: &Context) -> Result<Preview, PreviewError> {
    let admitted = admit(obj, ctx).await?;
    let fetched = fetch_rendered(obj, ctx, admitted.remote.clone()).await?;
    let revision = fetched.revision.clone();
    let with_rev = |error: Error| PreviewError {
        revision: Some(revision.clone()),
        error,
    };
    admit_rendered(obj, ctx, &admitted, &fetched)
        .await
        .map_err(with_rev)?;
    let (previous, _, _) = previous_inventory(ctx, obj, &admitted.destination)
        .await
        .map_err(with_rev)?;
    let opts = DiffOptions {
        namespace: admitted.destination.clone(),
        app: Some(obj.name_any()),
        ignore: ignore_rules(obj),
        color: false,
        context: Some(tack_apply::WHOLE_OBJECT),
    };
    let report = tack_apply::diff_packed(
        &admitted.acting,
        fetched.manifests,
        &opts,
        InventoryStore::Caller(previous),
    )
    .await
    .map_err(|e| with_rev(e.into()))?;
    Ok(Preview {
        revision,
        engine: fetched.engine,
        report,
    })
}

//! The Pipeline controller: every few seconds, for each Pipeline, observe the stages (the applications'
//! status, the release in each configuration at the synced commit and at the branch head, test Jobs,
//! approvals and requests), decide with [`crate::gate::next`], act (test Jobs, promotion commits, the stage
//! namespaces' NetworkPolicy), and write the status and Events.
//!
//! A promotion that was pushed but not yet recorded when the controller stopped is not repeated: the next
//! reconcile finds the release at the branch head and treats the stage as already promoted.

mod analysis;
mod observe;
mod reconcile;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use kube::Api;
use kube::api::ListParams;
use tack_model::Pipeline;

use crate::metrics::PromotionMetrics;

pub use reconcile::reconcile;

/// How the controller runs.
#[derive(Clone, Debug)]
pub struct ControllerConfig {
    /// Only the Pipelines of this namespace; `None`: every namespace.
    pub namespace: Option<String>,
    /// The Git cache (mirrors and checked-out trees) of promotions.
    pub cache_dir: PathBuf,
    /// How often every Pipeline is reconciled.
    pub interval: Duration,
    /// Allow credentials over plain `http://` (tests only).
    pub allow_insecure_http_credentials: bool,
    /// Where promotions are counted.
    pub metrics: Arc<PromotionMetrics>,
    /// Test hook: when set, a reconcile that pushed a promotion notifies it and then never finishes, as if the
    /// controller stopped between the push and the status write.
    pub after_push: Option<Arc<tokio::sync::Notify>>,
}

impl Default for ControllerConfig {
    fn default() -> Self {
        ControllerConfig {
            namespace: None,
            cache_dir: tack_source::default_cache_dir().join("promotion"),
            interval: Duration::from_secs(5),
            allow_insecure_http_credentials: false,
            metrics: PromotionMetrics::global(),
            after_push: None,
        }
    }
}

/// Runs until `shutdown` completes.
pub async fn run(client: kube::Client, config: ControllerConfig, shutdown: impl Future<Output = ()> + Send) {
    let work = async {
        loop {
            let api: Api<Pipeline> = match &config.namespace {
                Some(ns) => Api::namespaced(client.clone(), ns),
                None => Api::all(client.clone()),
            };
            match api.list(&ListParams::default()).await {
                Ok(list) => {
                    for p in list.items {
                        if let Err(e) = reconcile(&client, &config, &p).await {
                            tracing::warn!(pipeline = %key(&p), error = %e, "reconciling the pipeline failed");
                        }
                    }
                }
                Err(kube::Error::Api(e)) if e.code == 404 => {
                    tracing::debug!("the Pipeline CRD is not installed; run `tack install --crds-only`");
                }
                Err(e) => tracing::warn!(error = %e, "listing Pipelines failed"),
            }
            tokio::time::sleep(config.interval).await;
        }
    };
    tokio::select! {
        () = work => {}
        () = shutdown => {}
    }
}

fn key(p: &Pipeline) -> String {
    format!(
        "{}/{}",
        p.metadata.namespace.as_deref().unwrap_or_default(),
        p.metadata.name.as_deref().unwrap_or_default()
    )
}

//! The Pipeline controller: on every change of a Pipeline, of one of its stages' GitOpsConfigs or test Jobs, and
//! every few seconds (for the branch heads in Git and the soak times), for each Pipeline, observe the stages (the applications'
//! status, the release in each configuration at the synced commit and at the branch head, test Jobs,
//! approvals and requests), decide with [`crate::gate::next`], act (test Jobs, promotion commits, the stage
//! namespaces' NetworkPolicy), and write the status and Events. What is created on behalf of a stage is written
//! as the ServiceAccount its application acts as (`identity.rs`).
//!
//! A promotion that was pushed but not yet recorded when the controller stopped is not repeated: the next
//! reconcile finds the release at the branch head and treats the stage as already promoted.

mod analysis;
mod discover;
mod identity;
mod observe;
mod reconcile;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use k8s_openapi::api::batch::v1::Job;
use kube::runtime::controller::{Action, Controller};
use kube::runtime::reflector::ObjectRef;
use kube::runtime::watcher;
use kube::{Api, ResourceExt};
use tack_model::{GitOpsConfig, Pipeline};

use crate::discovery::Discoveries;
use crate::metrics::PromotionMetrics;

pub use reconcile::reconcile;

/// How the controller runs.
#[derive(Clone, Debug)]
pub struct ControllerConfig {
    /// Only the Pipelines of this namespace; `None`: every namespace.
    pub namespace: Option<String>,
    /// The Git cache (mirrors and checked-out trees) of promotions.
    pub cache_dir: PathBuf,
    /// How often every Pipeline is reconciled besides the changes watched (the branch heads are read then).
    pub interval: Duration,
    /// Allow credentials over plain `http://` (tests only).
    pub allow_insecure_http_credentials: bool,
    /// Where promotions are counted.
    pub metrics: Arc<PromotionMetrics>,
    /// `--default-service-account`: the ServiceAccount (of the pipeline's namespace) that writes the objects
    /// of stages whose application names none, as the GitOps controller acts for it. `None`, and no
    /// `serviceAccountName`: the controller's own identity.
    pub default_service_account: Option<String>,
    /// Test hook: when set, a reconcile that pushed a promotion notifies it and then never finishes, as if the
    /// controller stopped between the push and the status write.
    pub after_push: Option<Arc<tokio::sync::Notify>>,
    /// The registries' last answers for images with `discover` (shared by the reconciles of this controller).
    pub discoveries: Arc<Discoveries>,
}

impl Default for ControllerConfig {
    fn default() -> Self {
        ControllerConfig {
            namespace: None,
            cache_dir: tack_source::default_cache_dir().join("promotion"),
            interval: Duration::from_secs(5),
            allow_insecure_http_credentials: false,
            metrics: PromotionMetrics::global(),
            default_service_account: None,
            after_push: None,
            discoveries: Arc::default(),
        }
    }
}

/// Runs until `shutdown` completes: a controller over Pipelines that also reconciles a pipeline when one of its
/// stages' GitOpsConfigs or test Jobs changes, and every `interval` (the branch heads in Git, soak times).
pub async fn run(
    client: kube::Client,
    config: ControllerConfig,
    shutdown: impl Future<Output = ()> + Send + Sync + 'static,
) {
    let (pipelines, apps): (Api<Pipeline>, Api<GitOpsConfig>) = match &config.namespace {
        Some(ns) => (
            Api::namespaced(client.clone(), ns),
            Api::namespaced(client.clone(), ns),
        ),
        None => (Api::all(client.clone()), Api::all(client.clone())),
    };
    let jobs: Api<Job> = Api::all(client.clone());
    let controller = Controller::new(pipelines, watcher::Config::default());
    let store = controller.store();
    let metrics = config.metrics.clone();
    let ctx = Arc::new(Context { client, config });
    tracing::info!("Pipeline controller started");
    controller
        .watches(apps, watcher::Config::default(), move |app| {
            pipelines_of(&store.state(), &app)
        })
        .watches(
            jobs,
            watcher::Config::default().labels(analysis::PIPELINE_NAMESPACE_LABEL),
            |job| pipeline_of_job(&job),
        )
        .with_config(kube::runtime::controller::Config::default().concurrency(4))
        .graceful_shutdown_on(shutdown)
        .run(reconcile_one, error_policy, ctx)
        .for_each(|res| {
            let metrics = metrics.clone();
            async move {
                match res {
                    Ok((p, _)) => tracing::debug!(pipeline = %p, "reconciled"),
                    // The requeue of a pipeline that was deleted meanwhile: its series go.
                    Err(kube::runtime::controller::Error::ObjectNotFound(p)) => {
                        let ns = p.namespace.as_deref().unwrap_or_default();
                        metrics.forget(&format!("{ns}/{}", p.name));
                    }
                    Err(e) => tracing::debug!("Pipeline reconcile failed: {e}"),
                }
            }
        })
        .await;
    tracing::info!("Pipeline controller stopped");
}

struct Context {
    client: kube::Client,
    config: ControllerConfig,
}

async fn reconcile_one(p: Arc<Pipeline>, ctx: Arc<Context>) -> Result<Action, kube::Error> {
    if let Err(e) = reconcile(&ctx.client, &ctx.config, &p).await {
        tracing::warn!(pipeline = %key(&p), error = %e, "reconciling the pipeline failed");
    }
    Ok(Action::requeue(ctx.config.interval))
}

fn error_policy(_: Arc<Pipeline>, _: &kube::Error, ctx: Arc<Context>) -> Action {
    Action::requeue(ctx.config.interval)
}

/// The pipelines of `app`'s namespace with a stage deployed by it.
fn pipelines_of(pipelines: &[Arc<Pipeline>], app: &GitOpsConfig) -> Vec<ObjectRef<Pipeline>> {
    let (ns, name) = (app.namespace(), app.name_any());
    pipelines
        .iter()
        .filter(|p| p.namespace() == ns && p.spec.stages.iter().any(|s| s.application.name == name))
        .map(|p| ObjectRef::from_obj(p.as_ref()))
        .collect()
}

/// The pipeline that started a test Job (its labels name it).
fn pipeline_of_job(job: &Job) -> Option<ObjectRef<Pipeline>> {
    let labels = job.metadata.labels.as_ref()?;
    let name = labels.get(analysis::PIPELINE_LABEL)?;
    let ns = labels.get(analysis::PIPELINE_NAMESPACE_LABEL)?;
    Some(ObjectRef::new(name).within(ns))
}

fn key(p: &Pipeline) -> String {
    format!(
        "{}/{}",
        p.metadata.namespace.as_deref().unwrap_or_default(),
        p.metadata.name.as_deref().unwrap_or_default()
    )
}

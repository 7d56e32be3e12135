//! The set-up every cluster test of promotion shares: the CRDs, a namespace for the Pipeline and its
//! GitOpsConfigs, one namespace per stage, a scratch directory for repositories and caches, the GitOps
//! controller deploying the stages, and, as a test asks, Pipeline controllers and the AnalysisRun controller.
//! Stopped (and the namespaces deleted) by [`Harness::stop`].

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::CustomResourceExt;
use kube::api::{Api, Patch, PatchParams};
use serde_json::{Value, json};
use tack_model::{GitOpsConfig, Pipeline};
use tack_testkit::TestNamespace;

/// The image every test promotes.
pub(crate) const FRONTEND: &str = "us-docker.pkg.dev/google-samples/containers/gke/gb-frontend";

/// The seed guestbook's frontend Deployment, running `FRONTEND:v5`.
pub(crate) fn frontend() -> String {
    format!(
        "apiVersion: apps/v1
kind: Deployment
metadata:
  name: frontend
spec:
  replicas: 1
  selector:
    matchLabels:
      app: guestbook
  template:
    metadata:
      labels:
        app: guestbook
    spec:
      containers:
      - name: php-redis
        image: {FRONTEND}:v5
"
    )
}

/// The seed guestbook (examples/guestbook, as the seed documents write it): file name → manifest. The
/// frontend runs `FRONTEND:v5`.
pub(crate) fn guestbook() -> [(&'static str, &'static str); 6] {
    macro_rules! seed {
        ($f:literal) => {
            (
                $f,
                include_str!(concat!("../../../../examples/guestbook/", $f)),
            )
        };
    }
    [
        seed!("frontend-deployment.yaml"),
        seed!("frontend-service.yaml"),
        seed!("redis-follower-deployment.yaml"),
        seed!("redis-follower-service.yaml"),
        seed!("redis-leader-deployment.yaml"),
        seed!("redis-leader-service.yaml"),
    ]
}

/// A kustomization listing every file of the seed guestbook.
pub(crate) fn guestbook_resources() -> String {
    let mut k = String::from("resources:\n");
    for (f, _) in guestbook() {
        k.push_str(&format!("- {f}\n"));
    }
    k
}

/// A test Job spec; with `crash`, the local control plane makes its pod fail.
pub(crate) fn test_job(crash: bool) -> Value {
    let labels = if crash {
        json!({"tack.dev/simulate": "crash"})
    } else {
        json!({})
    };
    json!({"spec": {
        "backoffLimit": 0,
        "template": {
            "metadata": {"labels": labels},
            "spec": {"restartPolicy": "Never",
                     "containers": [{"name": "test", "image": "curlimages/curl:8.10.1",
                                     "args": ["-fsS", "http://frontend/"]}]}
        }
    }})
}

/// The status of stage `name`.
pub(crate) fn stage_of<'a>(p: &'a Pipeline, name: &str) -> Option<&'a tack_model::StageStatus> {
    p.status.as_ref()?.stages.iter().find(|s| s.name == name)
}

/// The Pipeline's Ready condition when it is False: (reason, message).
pub(crate) fn not_ready(p: &Pipeline) -> Option<(String, String)> {
    let ready = p
        .status
        .as_ref()?
        .conditions
        .iter()
        .find(|c| c.type_ == "Ready")?;
    (ready.status == "False").then(|| (ready.reason.clone(), ready.message.clone()))
}

/// The promotion metrics of this process, as `/metrics` shows them.
pub(crate) fn metrics_text() -> Result<String> {
    let mut registry = prometheus_client::registry::Registry::default();
    tack_promotion::metrics::PromotionMetrics::global().register(&mut registry);
    let mut text = String::new();
    prometheus_client::encoding::text::encode(&mut text, &registry)?;
    Ok(text)
}

async fn install_crds(client: &kube::Client) -> Result<()> {
    let crds: Api<CustomResourceDefinition> = Api::all(client.clone());
    let cluster = tack_cluster::Cluster::from_client(client.clone(), "default");
    for crd in [GitOpsConfig::crd(), Pipeline::crd()] {
        let name = crd.metadata.name.clone().context("CRD name")?;
        crds.patch(&name, &PatchParams::apply("tack").force(), &Patch::Apply(&crd))
            .await?;
        cluster
            .wait_crd_established(&name, Duration::from_secs(60))
            .await?;
    }
    Ok(())
}

/// How a Pipeline controller of a test runs.
#[derive(Default)]
pub(crate) struct PromotionOptions {
    /// Its Git cache, under the scratch directory (default `promotion-cache`).
    pub cache: Option<&'static str>,
    /// The test hook stopping the controller after a push.
    pub after_push: Option<Arc<tokio::sync::Notify>>,
    /// `--default-service-account`.
    pub default_service_account: Option<String>,
}

/// See the module documentation.
pub(crate) struct Harness {
    pub client: kube::Client,
    /// The namespace of the Pipelines and GitOpsConfigs.
    pub ns: TestNamespace,
    stages: Vec<(String, TestNamespace)>,
    /// Repositories and caches.
    pub tmp: tempfile::TempDir,
    stops: Vec<tokio::sync::oneshot::Sender<()>>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl Harness {
    /// The CRDs, the namespaces (one per stage name in `stages`) and the GitOps controller of the pipeline's
    /// namespace.
    pub(crate) async fn start(stages: &[&str]) -> Result<Harness> {
        tack_cluster::install_crypto_provider();
        let client = tack_testkit::client().await?;
        install_crds(&client).await?;
        let ns = TestNamespace::new(&client, "pipeline").await?;
        let mut stage_namespaces = Vec::new();
        for s in stages {
            stage_namespaces.push((s.to_string(), TestNamespace::new(&client, s).await?));
        }
        let mut h = Harness {
            client,
            ns,
            stages: stage_namespaces,
            tmp: tempfile::tempdir()?,
            stops: Vec::new(),
            tasks: Vec::new(),
        };
        let config = tack_gitops::ControllerConfig {
            cache_dir: h.tmp.path().join("gitops-cache"),
            namespace: Some(h.namespace().to_string()),
            ..Default::default()
        };
        let (client, stopped) = (h.client.clone(), h.stop_signal());
        h.tasks
            .push(tokio::spawn(tack_gitops::run(client, config, stopped)));
        Ok(h)
    }

    fn stop_signal(&mut self) -> impl Future<Output = ()> + Send + Sync + 'static {
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        self.stops.push(stop);
        async move {
            let _ = stopped.await;
        }
    }

    /// The namespace of the Pipelines and GitOpsConfigs.
    pub(crate) fn namespace(&self) -> &str {
        self.ns.name()
    }

    /// The namespace stage `stage` deploys to.
    pub(crate) fn stage_namespace(&self, stage: &str) -> &str {
        self.stages
            .iter()
            .find(|(s, _)| s == stage)
            .map(|(_, n)| n.name())
            .unwrap_or_else(|| panic!("no namespace for stage {stage}"))
    }

    /// Starts a Pipeline controller (interval 1 s, credentials over plain HTTP allowed); returns the handle to
    /// abort it (as if its process were killed).
    pub(crate) fn promotion(&mut self, options: PromotionOptions) -> tokio::task::AbortHandle {
        let config = tack_promotion::controller::ControllerConfig {
            namespace: Some(self.namespace().to_string()),
            cache_dir: self.path(options.cache.unwrap_or("promotion-cache")),
            interval: Duration::from_secs(1),
            allow_insecure_http_credentials: true,
            after_push: options.after_push,
            default_service_account: options.default_service_account,
            ..Default::default()
        };
        let (client, stopped) = (self.client.clone(), self.stop_signal());
        let task = tokio::spawn(tack_promotion::controller::run(client, config, stopped));
        let abort = task.abort_handle();
        self.tasks.push(task);
        abort
    }

    /// Starts the AnalysisRun controller of the pipeline's namespace (with its CRDs).
    pub(crate) async fn analysis_runs(&mut self) -> Result<()> {
        tack_delivery::install_crds(&self.client).await?;
        let (client, ns, stopped) = (
            self.client.clone(),
            Some(self.namespace().to_string()),
            self.stop_signal(),
        );
        self.tasks.push(tokio::spawn(tack_delivery::analysis_run::run(
            client, ns, stopped,
        )));
        Ok(())
    }

    /// `name` under the scratch directory.
    pub(crate) fn path(&self, name: &str) -> PathBuf {
        self.tmp.path().join(name)
    }

    /// Applies the GitOpsConfig `guestbook-<stage>` deploying `url` at `revision`, folder `path`, into the
    /// stage's namespace (automated, pruning, every 2 s), with `extra` merged into its spec.
    pub(crate) async fn app(
        &self,
        stage: &str,
        url: &str,
        revision: &str,
        path: &str,
        extra: Value,
    ) -> Result<()> {
        let name = format!("guestbook-{stage}");
        let mut spec = json!({
            "source": {"repoURL": url, "revision": revision, "path": path},
            "destination": {"namespace": self.stage_namespace(stage)},
            "syncPolicy": {"interval": "2s", "automated": {"prune": true}},
        });
        if let (Some(spec), Value::Object(extra)) = (spec.as_object_mut(), extra) {
            spec.extend(extra);
        }
        let app = json!({
            "apiVersion": "gitops.tack.dev/v1alpha1", "kind": "GitOpsConfig",
            "metadata": {"name": name, "namespace": self.namespace()},
            "spec": spec,
        });
        let apps: Api<GitOpsConfig> = Api::namespaced(self.client.clone(), self.namespace());
        apps.patch(&name, &PatchParams::apply("tack-test"), &Patch::Apply(&app))
            .await?;
        Ok(())
    }

    /// The Pipelines of the pipeline's namespace.
    pub(crate) fn pipelines(&self) -> Api<Pipeline> {
        Api::namespaced(self.client.clone(), self.namespace())
    }

    /// Applies the Pipeline `name` with `spec`.
    pub(crate) async fn pipeline(&self, name: &str, spec: Value) -> Result<()> {
        let p = json!({"apiVersion": "gitops.tack.dev/v1alpha1", "kind": "Pipeline",
                       "metadata": {"name": name, "namespace": self.namespace()}, "spec": spec});
        self.pipelines()
            .patch(name, &PatchParams::apply("tack-test"), &Patch::Apply(&p))
            .await?;
        Ok(())
    }

    /// Stops every controller started (waiting up to 30 s for each), then deletes the namespaces.
    pub(crate) async fn stop(self) {
        for s in self.stops {
            let _ = s.send(());
        }
        for t in self.tasks {
            let _ = tokio::time::timeout(Duration::from_secs(30), t).await;
        }
    }
}

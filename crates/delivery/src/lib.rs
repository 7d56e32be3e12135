//! Progressive delivery controllers: the Rollout controller (ReplicaSets, Services, traffic routers, driven by
//! the [`tack_rollout`] state machines), the Experiment controller (template ReplicaSets and their analyses)
//! and the AnalysisRun controller (measurements through the [`tack_analysis`] providers).
//!
//! [`run`] runs them together; [`install_crds`] installs the `argoproj.io` CustomResourceDefinitions they serve;
//! [`rollout::commands`] holds the user commands (`promote`, `abort`, …) the CLI calls.

#![warn(missing_docs)]

pub mod analysis_run;
pub mod experiment;
pub mod rollout;

use std::time::Duration;

use futures::FutureExt;
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{Api, Patch, PatchParams};

pub use rollout::crds::{crd_values, crds};

/// How the delivery controllers run.
#[derive(Clone, Debug)]
pub struct DeliveryConfig {
    /// Watch only this namespace (all namespaces when `None`).
    pub namespace: Option<String>,
    /// Rollouts reconciled at once.
    pub concurrency: u16,
}

impl Default for DeliveryConfig {
    fn default() -> Self {
        DeliveryConfig {
            namespace: None,
            concurrency: 10,
        }
    }
}

/// Runs the delivery controllers until `shutdown` completes.
pub async fn run(
    client: kube::Client,
    config: DeliveryConfig,
    shutdown: impl std::future::Future<Output = ()> + Send + Sync + 'static,
) {
    let shutdown = shutdown.shared();
    tokio::join!(
        rollout::run(
            client.clone(),
            config.namespace.clone(),
            config.concurrency,
            shutdown.clone()
        ),
        experiment::run(client.clone(), config.namespace.clone(), shutdown.clone()),
        analysis_run::run(client, config.namespace, shutdown),
    );
}

/// Why the CustomResourceDefinitions could not be installed.
#[derive(Debug, thiserror::Error)]
pub enum InstallError {
    /// A definition could not be built (a bug).
    #[error("building the argoproj.io CustomResourceDefinitions: {0}")]
    Build(#[from] serde_json::Error),
    /// The API server refused one.
    #[error("applying the CustomResourceDefinition {name}: {source}")]
    Apply {
        /// CRD name.
        name: String,
        /// The API error.
        #[source]
        source: kube::Error,
    },
    /// It did not become Established and served in time.
    #[error(
        "the CustomResourceDefinition {name} is not ready for use: {source}; check the API server's logs"
    )]
    NotReady {
        /// CRD name.
        name: String,
        /// The wait's error.
        #[source]
        source: tack_cluster::ClusterError,
    },
}

/// Installs (server-side apply, field manager `tack`, idempotent) the `argoproj.io` CRDs and waits until they are
/// Established and the API server's discovery serves their kinds (see
/// [`tack_cluster::Cluster::wait_crd_established`]). Returns their names.
pub async fn install_crds(client: &kube::Client) -> Result<Vec<String>, InstallError> {
    let api: Api<CustomResourceDefinition> = Api::all(client.clone());
    let mut names = Vec::new();
    for crd in crds()? {
        let name = crd.metadata.name.clone().unwrap_or_default();
        api.patch(
            &name,
            &PatchParams::apply(rollout::FIELD_MANAGER).force(),
            &Patch::Apply(&crd),
        )
        .await
        .map_err(|source| InstallError::Apply {
            name: name.clone(),
            source,
        })?;
        names.push(name);
    }
    let cluster = tack_cluster::Cluster::from_client(client.clone(), "default");
    for name in &names {
        cluster
            .wait_crd_established(name, Duration::from_secs(60))
            .await
            .map_err(|source| InstallError::NotReady {
                name: name.clone(),
                source,
            })?;
    }
    Ok(names)
}

/// The result of a delete or patch whose object may be gone already: a 404 is `Ok(None)` (nothing left to do),
/// any other error is returned.
pub(crate) fn unless_gone<T>(result: Result<T, kube::Error>) -> Result<Option<T>, kube::Error> {
    match result {
        Ok(v) => Ok(Some(v)),
        Err(kube::Error::Api(s)) if s.code == 404 => Ok(None),
        Err(e) => Err(e),
    }
}

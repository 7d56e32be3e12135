//! tack's HTTP API and web dashboard (docs/api.md, docs/dashboard.md).
//!
//! One [`router`] serves JSON under `/api/v1` and the dashboard's pages (assets embedded in the binary) under
//! `/`. It is mounted by `tack controller --api-addr` (callers present a Kubernetes bearer token: verified with a
//! TokenReview, every read and action authorized with a SubjectAccessReview) and by `tack dashboard` (on
//! 127.0.0.1, acting with the kubeconfig's credentials: the API server itself authorizes).
//!
//! The flow of a request: [`guard`] (security headers, CSRF and read-only checks) → [`auth`] (who is calling,
//! may they) → a handler of [`applications`], [`rollouts`] or [`pipelines`] reading the watch caches of [`store`] (lists never
//! go to the API server; [`diff`] renders the application as the controller does) → JSON shaped by [`view`]. Actions are the same patches as the CLI's ([`actions`]).
//! [`stream`] pushes changes to the browser from the same watches.

pub mod actions;
pub mod applications;
pub mod auth;
pub mod diff;
pub mod error;
pub mod guard;
pub mod pipelines;
pub mod rollouts;
pub mod store;
pub mod stream;
pub mod tree;
pub mod ui;
pub mod view;

use std::sync::Arc;

use axum::Router;
use axum::routing::{get, post};

pub use auth::Mode;
pub use error::ApiError;
pub use store::Stores;

/// How the API serves.
#[derive(Clone, Debug)]
pub struct Options {
    /// Who the caller is: the kubeconfig's user, or whoever a bearer token names.
    pub mode: Mode,
    /// Refuse every action (reads only).
    pub read_only: bool,
    /// How applications are rendered for the diff view: the controller's own settings (cache directory,
    /// lockdown, where registered clusters are), or the defaults on a person's machine.
    pub gitops: tack_gitops::ControllerConfig,
}

/// What every handler shares.
pub struct ApiState {
    /// The client reads and actions go through (the controller's or the kubeconfig's).
    pub client: kube::Client,
    /// Watch caches of applications and rollouts.
    pub stores: Stores,
    /// Authentication and authorization.
    pub auth: auth::Authorizer,
    /// How the API serves.
    pub options: Options,
    /// Renders and compares applications for the diff view, as the controller does.
    pub preview: tack_gitops::Context,
    /// Resource names of kinds, for authorizing what a diff shows.
    pub discovery: tack_cluster::Cluster,
}

/// The whole HTTP surface: `/api/v1/...` and the dashboard.
pub fn router(client: kube::Client, stores: Stores, options: Options) -> Router {
    let metrics = Arc::new(tack_gitops::Metrics::new());
    let state = Arc::new(ApiState {
        auth: auth::Authorizer::new(client.clone(), options.mode),
        preview: tack_gitops::Context::new(client.clone(), options.gitops.clone(), metrics),
        discovery: tack_cluster::Cluster::from_client(client.clone(), "default"),
        client,
        stores,
        options,
    });
    let api = Router::new()
        .route("/api/v1/whoami", get(auth::whoami))
        .route("/api/v1/applications", get(applications::list))
        .route(
            "/api/v1/namespaces/{ns}/applications/{name}",
            get(applications::get_one),
        )
        .route(
            "/api/v1/namespaces/{ns}/applications/{name}/events",
            get(applications::events),
        )
        .route(
            "/api/v1/namespaces/{ns}/applications/{name}/tree",
            get(applications::tree),
        )
        .route(
            "/api/v1/namespaces/{ns}/applications/{name}/diff",
            get(diff::diff),
        )
        .route(
            "/api/v1/namespaces/{ns}/applications/{name}/history",
            get(applications::history),
        )
        .route(
            "/api/v1/namespaces/{ns}/applications/{name}/{action}",
            post(applications::act),
        )
        .route("/api/v1/rollouts", get(rollouts::list))
        .route("/api/v1/namespaces/{ns}/rollouts/{name}", get(rollouts::get_one))
        .route(
            "/api/v1/namespaces/{ns}/rollouts/{name}/{action}",
            post(rollouts::act),
        )
        .route("/api/v1/pipelines", get(pipelines::list))
        .route(
            "/api/v1/namespaces/{ns}/pipelines/{name}",
            get(pipelines::get_one),
        )
        .route(
            "/api/v1/namespaces/{ns}/pipelines/{name}/{action}",
            post(pipelines::act),
        )
        .route("/api/v1/watch", get(stream::watch))
        .with_state(state.clone());
    Router::new()
        .merge(api)
        .merge(ui::router())
        .fallback(error::not_found)
        .layer(axum::middleware::from_fn_with_state(state, guard::check))
}

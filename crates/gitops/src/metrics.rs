//! Prometheus metrics of the controller, and the HTTP endpoints `/metrics`, `/healthz` and `/readyz`.
//!
//! | metric | type | labels | meaning |
//! |---|---|---|---|
//! | `tack_reconcile_duration_seconds` | histogram | `outcome` = `success` \| `failure` | time of one reconcile (fetch, render, sync or diff, health, status) |
//! | `tack_sync_total` | counter | `outcome` = `succeeded` \| `failed` | reconciles of applications with `syncPolicy.automated` (sync operations) |
//! | `tack_objects_managed` | gauge | `app` = `namespace/name` | objects in the application's inventory after its last successful reconcile |
//! | `tack_git_fetch_errors_total` | counter | | reconciles that failed to fetch from Git |
//! | `tack_leader` | gauge | | 1 while this process runs the controllers (always 1 without leader election), else 0 |
//! | `tack_drift_watches` | gauge | | drift watches running (one per API group, kind and namespace of managed objects) |
//!
//! Other controllers of the process register their own metrics in the same registry with
//! [`Metrics::register_more`] (promotions, notifications; docs/controller.md lists them all).

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::get;
use kube::ResourceExt;
use kube::runtime::reflector::Store;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

/// The content type of the OpenMetrics text exposition format (Prometheus scrapes it).
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OutcomeLabels {
    outcome: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct AppLabels {
    app: String,
}

/// The controller's metrics and their registry. Cheap to share behind an [`Arc`].
pub struct Metrics {
    registry: Mutex<Registry>,
    reconcile_duration: Family<OutcomeLabels, Histogram>,
    sync_total: Family<OutcomeLabels, Counter>,
    objects_managed: Family<AppLabels, Gauge>,
    /// The `app` label values of `objects_managed`, to drop those of deleted applications.
    apps: Mutex<HashSet<String>>,
    git_fetch_errors: Counter,
    leader: Gauge,
    drift_watches: Gauge,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics").finish_non_exhaustive()
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    /// A fresh registry holding the controller's metrics (all zero).
    pub fn new() -> Self {
        let mut registry = Registry::default();
        // 50 ms … ~100 s: a reconcile of a small application takes tens of milliseconds, a large one seconds.
        let reconcile_duration = Family::<OutcomeLabels, Histogram>::new_with_constructor(|| {
            Histogram::new(exponential_buckets(0.05, 2.0, 12))
        });
        let sync_total = Family::<OutcomeLabels, Counter>::default();
        let objects_managed = Family::<AppLabels, Gauge>::default();
        let git_fetch_errors = Counter::default();
        let leader = Gauge::default();
        let drift_watches = Gauge::default();
        registry.register(
            "tack_reconcile_duration_seconds",
            "Time of one reconcile of a GitOpsConfig, by outcome (success or failure)",
            reconcile_duration.clone(),
        );
        // Counters get the `_total` suffix from the encoder.
        registry.register(
            "tack_sync",
            "Sync operations of applications with automated sync, by outcome (succeeded or failed)",
            sync_total.clone(),
        );
        registry.register(
            "tack_objects_managed",
            "Objects in an application's inventory after its last successful reconcile",
            objects_managed.clone(),
        );
        registry.register(
            "tack_git_fetch_errors",
            "Reconciles that failed to fetch their source from Git",
            git_fetch_errors.clone(),
        );
        registry.register(
            "tack_leader",
            "1 while this process runs the controllers (holds the leader Lease, or runs without leader election)",
            leader.clone(),
        );
        registry.register(
            "tack_drift_watches",
            "Drift watches running: one per API group, kind and namespace of the objects applications manage",
            drift_watches.clone(),
        );
        Metrics {
            registry: Mutex::new(registry),
            reconcile_duration,
            sync_total,
            objects_managed,
            apps: Mutex::new(HashSet::new()),
            git_fetch_errors,
            leader,
            drift_watches,
        }
    }

    /// The registry of the process (what `tack controller` serves).
    pub fn global() -> Arc<Metrics> {
        static GLOBAL: OnceLock<Arc<Metrics>> = OnceLock::new();
        GLOBAL.get_or_init(|| Arc::new(Metrics::new())).clone()
    }

    /// Records one reconcile: its duration, and for automated applications a sync outcome.
    pub fn observe_reconcile(&self, took: Duration, success: bool, automated: bool) {
        let outcome = if success { "success" } else { "failure" };
        self.reconcile_duration
            .get_or_create(&OutcomeLabels { outcome })
            .observe(took.as_secs_f64());
        if automated {
            let outcome = if success { "succeeded" } else { "failed" };
            self.sync_total.get_or_create(&OutcomeLabels { outcome }).inc();
        }
    }

    /// Sets the number of objects an application (`namespace/name`) manages.
    pub fn set_objects_managed(&self, app: &str, objects: usize) {
        self.lock_apps().insert(app.to_string());
        self.objects_managed
            .get_or_create(&AppLabels { app: app.to_string() })
            .set(i64::try_from(objects).unwrap_or(i64::MAX));
    }

    /// Drops the `tack_objects_managed` series of the applications (`namespace/name`) for which `keep` is false.
    pub fn retain_apps(&self, keep: impl Fn(&str) -> bool) {
        self.lock_apps().retain(|app| {
            let kept = keep(app);
            if !kept {
                self.objects_managed.remove(&AppLabels { app: app.clone() });
            }
            kept
        });
    }

    fn lock_apps(&self) -> std::sync::MutexGuard<'_, HashSet<String>> {
        match self.apps.lock() {
            Ok(g) => g,
            Err(poisoned) => poisoned.into_inner(),
        }
    }

    /// Counts a failed fetch from Git.
    pub fn git_fetch_error(&self) {
        self.git_fetch_errors.inc();
    }

    /// Whether this process runs the controllers.
    pub fn set_leader(&self, leader: bool) {
        self.leader.set(i64::from(leader));
    }

    /// The number of drift watches running.
    pub fn set_drift_watches(&self, watches: usize) {
        self.drift_watches.set(i64::try_from(watches).unwrap_or(i64::MAX));
    }

    /// Registers more metrics (another controller's) in the same registry, served on the same `/metrics`.
    pub fn register_more(&self, register: impl FnOnce(&mut Registry)) {
        let mut registry = self.registry.lock().unwrap_or_else(|p| p.into_inner());
        register(&mut registry);
    }

    /// The OpenMetrics text exposition of every metric.
    pub fn encode(&self) -> String {
        let mut out = String::new();
        let registry = self.registry.lock().unwrap_or_else(|p| p.into_inner());
        // Writing to a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut out, &registry);
        out
    }
}

/// How often the series of deleted applications are dropped.
const FORGET_EVERY: Duration = Duration::from_secs(10);

/// Drops, every [`FORGET_EVERY`], the series of applications that are no longer in `store` (deleted); with
/// `namespace`, only applications of that namespace are considered (other controllers may share `metrics`).
/// A series exists only once its application was reconciled, so it was in the store; the store is swapped
/// whole on a relist, never seen half-filled. (`Store::wait_until_ready` is not used: a second waiter would
/// take the wake-up of the controller's own.)
pub(crate) async fn forget_deleted(
    store: Store<tack_model::GitOpsConfig>,
    metrics: Arc<Metrics>,
    namespace: Option<String>,
) {
    let scope = namespace.map(|ns| format!("{ns}/"));
    loop {
        tokio::time::sleep(FORGET_EVERY).await;
        let live: HashSet<String> = store
            .state()
            .iter()
            .map(|o| format!("{}/{}", o.namespace().unwrap_or_default(), o.name_any()))
            .collect();
        metrics.retain_apps(|app| {
            live.contains(app) || scope.as_deref().is_some_and(|prefix| !app.starts_with(prefix))
        });
    }
}

/// Whether the process is ready to serve: set once it reached the API server, cleared when it shuts down.
#[derive(Clone, Debug, Default)]
pub struct Readiness(Arc<AtomicBool>);

impl Readiness {
    /// Marks the process ready (`true`) or not ready (`false`).
    pub fn set(&self, ready: bool) {
        self.0.store(ready, Ordering::SeqCst);
    }

    /// Whether the process is ready, as `/readyz` answers it.
    pub fn is_ready(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }
}

#[derive(Clone)]
struct MetricsState {
    metrics: Arc<Metrics>,
    readiness: Readiness,
}

/// `GET /metrics` (OpenMetrics text), `GET /healthz` (200 while the process runs) and `GET /readyz` (200 once
/// the API server was reached, 503 before and while shutting down).
pub fn router(metrics: Arc<Metrics>, readiness: Readiness) -> Router {
    Router::new()
        .route("/metrics", get(serve_metrics))
        .route("/healthz", get(|| async { "ok\n" }))
        .route("/readyz", get(serve_ready))
        .with_state(MetricsState { metrics, readiness })
}

async fn serve_metrics(State(state): State<MetricsState>) -> impl IntoResponse {
    ([(header::CONTENT_TYPE, CONTENT_TYPE)], state.metrics.encode())
}

async fn serve_ready(State(state): State<MetricsState>) -> impl IntoResponse {
    if state.readiness.is_ready() {
        (StatusCode::OK, "ready\n")
    } else {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            "not ready: the API server has not been reached yet, or the process is shutting down\n",
        )
    }
}

/// Serves `router` on `listener` until `shutdown` completes (requests in flight are answered first).
pub async fn serve(
    listener: tokio::net::TcpListener,
    router: Router,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, router)
        .with_graceful_shutdown(shutdown)
        .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exposition_names_and_values() {
        let m = Metrics::new();
        m.observe_reconcile(Duration::from_millis(120), true, true);
        m.observe_reconcile(Duration::from_millis(30), false, true);
        m.observe_reconcile(Duration::from_millis(30), true, false);
        m.set_objects_managed("demo/guestbook", 6);
        m.git_fetch_error();
        m.set_objects_managed("demo/gone", 2);
        m.set_leader(true);
        m.set_drift_watches(3);
        m.retain_apps(|app| app != "demo/gone");
        let text = m.encode();
        assert!(!text.contains("demo/gone"), "{text}");
        for line in [
            "# TYPE tack_reconcile_duration_seconds histogram",
            "tack_reconcile_duration_seconds_count{outcome=\"success\"} 2",
            "tack_reconcile_duration_seconds_count{outcome=\"failure\"} 1",
            "tack_reconcile_duration_seconds_bucket{le=\"0.05\",outcome=\"failure\"} 1",
            "# TYPE tack_sync counter",
            "tack_sync_total{outcome=\"succeeded\"} 1",
            "tack_sync_total{outcome=\"failed\"} 1",
            "tack_objects_managed{app=\"demo/guestbook\"} 6",
            "tack_git_fetch_errors_total 1",
            "tack_leader 1",
            "tack_drift_watches 3",
            "# EOF",
        ] {
            assert!(text.lines().any(|l| l == line), "{line:?} missing from\n{text}");
        }
    }
}

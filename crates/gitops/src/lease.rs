//! Leader election on a `coordination.k8s.io/v1` Lease, so that of several replicas of `tack controller` exactly
//! one reconciles.
//!
//! Each replica tries to hold the Lease under its identity ([`default_identity`]: `POD_NAME`, else
//! `hostname-pid`). The holder renews it every [`LeaseTimings::renew_every`] (5 s); the others look every
//! [`LeaseTimings::retry_every`] (1 s) and take it over once its record (holder, renew time, transitions) has
//! not changed for the lease duration (15 s) as measured on their own clock, so clock skew between machines
//! does not matter. Every write is a replace carrying the `resourceVersion` that was read (optimistic
//! concurrency): of two replicas racing for a free Lease, the API server accepts one and answers the other 409.
//!
//! A leader that sees the Lease taken by another, or cannot renew it for [`LeaseTimings::renew_deadline`]
//! (10 s), stops its controllers at once (the task is aborted, reconciles in flight are dropped) and becomes a
//! candidate again. On graceful shutdown the leader lets reconciles in flight finish, then releases the Lease
//! (empty holder, duration 1 s) so that a waiting replica takes over within about a second.

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use k8s_openapi::api::coordination::v1::{Lease, LeaseSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{MicroTime, ObjectMeta};
use k8s_openapi::jiff::Timestamp;
use kube::api::{Api, PostParams};
use tokio::sync::watch;

use crate::metrics::Metrics;

/// How often Leases are renewed and read, and when an unrenewed one counts as dead: shared by the leader Lease
/// ([`LeaseConfig`]) and the member Leases of automatic sharding (`shard::members::MemberConfig`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LeaseTimings {
    /// How long a Lease that is not renewed stays held (`leaseDurationSeconds`, hence whole seconds).
    pub lease_duration: Duration,
    /// How often the holder renews.
    pub renew_every: Duration,
    /// A holder that could not renew for this long stops its controllers (less than `lease_duration`, so that
    /// it stops before another replica may take over).
    pub renew_deadline: Duration,
    /// How often a waiting replica looks at the Lease, and a member reads its group's Leases.
    pub retry_every: Duration,
}

impl Default for LeaseTimings {
    /// 15 s duration, renewed every 5 s, given up after 10 s without renewal, looked at every second.
    fn default() -> Self {
        LeaseTimings {
            lease_duration: Duration::from_secs(15),
            renew_every: Duration::from_secs(5),
            renew_deadline: Duration::from_secs(10),
            retry_every: Duration::from_secs(1),
        }
    }
}

/// Lease timings that cannot work together; the messages name the `tack controller` flags.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum TimingsError {
    /// The duration is not a whole number of seconds, at least one.
    #[error(
        "--lease-duration {0:?} must be a whole number of seconds, at least 1s (it is written to the Lease's spec.leaseDurationSeconds)"
    )]
    Duration(Duration),
    /// A period is zero.
    #[error("--{flag} must be more than zero")]
    Zero {
        /// The flag.
        flag: &'static str,
    },
    /// The renewal period does not leave room for a second attempt before the deadline.
    #[error(
        "--lease-renew-period {renew:?} must be less than --lease-renew-deadline {deadline:?}: a holder renews several times before it gives up"
    )]
    RenewAfterDeadline {
        /// `renew_every`.
        renew: Duration,
        /// `renew_deadline`.
        deadline: Duration,
    },
    /// The deadline is not below the duration: two replicas could hold the Lease at once.
    #[error(
        "--lease-renew-deadline {deadline:?} must be less than --lease-duration {duration:?}: a holder that cannot renew must stop before another replica may take over"
    )]
    DeadlineAfterDuration {
        /// `renew_deadline`.
        deadline: Duration,
        /// `lease_duration`.
        duration: Duration,
    },
    /// Retries so slow that a failed renewal is not retried before the deadline.
    #[error(
        "--lease-retry-period {retry:?} must be less than --lease-renew-deadline {deadline:?}: a failed renewal is retried every retry period"
    )]
    RetryAfterDeadline {
        /// `retry_every`.
        retry: Duration,
        /// `renew_deadline`.
        deadline: Duration,
    },
}

impl LeaseTimings {
    /// Checks that the timings work together: `retry_every` and `renew_every` below `renew_deadline`, below
    /// `lease_duration`, a whole number of seconds.
    pub fn validate(&self) -> Result<(), TimingsError> {
        let d = self.lease_duration;
        if d < Duration::from_secs(1) || d.subsec_nanos() != 0 {
            return Err(TimingsError::Duration(d));
        }
        for (flag, v) in [
            ("lease-renew-period", self.renew_every),
            ("lease-renew-deadline", self.renew_deadline),
            ("lease-retry-period", self.retry_every),
        ] {
            if v.is_zero() {
                return Err(TimingsError::Zero { flag });
            }
        }
        if self.renew_deadline >= d {
            return Err(TimingsError::DeadlineAfterDuration {
                deadline: self.renew_deadline,
                duration: d,
            });
        }
        if self.renew_every >= self.renew_deadline {
            return Err(TimingsError::RenewAfterDeadline {
                renew: self.renew_every,
                deadline: self.renew_deadline,
            });
        }
        if self.retry_every >= self.renew_deadline {
            return Err(TimingsError::RetryAfterDeadline {
                retry: self.retry_every,
                deadline: self.renew_deadline,
            });
        }
        Ok(())
    }

    /// `leaseDurationSeconds`.
    pub fn duration_seconds(&self) -> i32 {
        i32::try_from(self.lease_duration.as_secs())
            .unwrap_or(i32::MAX)
            .max(1)
    }

    /// How long one read or write of a Lease may take before it counts as failed: the renewal period, at most
    /// half the deadline, at least 500 ms.
    pub fn attempt_timeout(&self) -> Duration {
        self.renew_every
            .min(self.renew_deadline / 2)
            .max(Duration::from_millis(500))
    }
}

/// How the Lease is held.
#[derive(Clone, Debug)]
pub struct LeaseConfig {
    /// The Lease's name (`tack-controller` by default).
    pub name: String,
    /// The Lease's namespace.
    pub namespace: String,
    /// Who this replica is; unique among the replicas.
    pub identity: String,
    /// Renewals, retries and expiry.
    pub timings: LeaseTimings,
}

/// The Lease name used unless `--lease-name` says otherwise.
pub const DEFAULT_LEASE_NAME: &str = "tack-controller";

impl LeaseConfig {
    /// With the default [`LeaseTimings`].
    pub fn new(name: impl Into<String>, namespace: impl Into<String>, identity: impl Into<String>) -> Self {
        LeaseConfig {
            name: name.into(),
            namespace: namespace.into(),
            identity: identity.into(),
            timings: LeaseTimings::default(),
        }
    }
}

/// `$POD_NAME` when set (in a Deployment, from the downward API), else `<hostname>-<pid>`.
pub fn default_identity() -> String {
    if let Some(pod) = std::env::var("POD_NAME").ok().filter(|p| !p.trim().is_empty()) {
        return pod.trim().to_string();
    }
    let host = std::env::var("HOSTNAME")
        .ok()
        .filter(|h| !h.trim().is_empty())
        .or_else(|| std::fs::read_to_string("/proc/sys/kernel/hostname").ok())
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "tack".to_string());
    format!("{host}-{}", std::process::id())
}

/// A Lease read or write that failed.
#[derive(Debug, thiserror::Error)]
#[error(
    "Lease {namespace}/{name}: {source}; check that the API server is reachable and that the controller may get, create and update leases.coordination.k8s.io in {namespace}"
)]
pub struct LeaseError {
    namespace: String,
    name: String,
    #[source]
    source: kube::Error,
}

/// The outcome of one attempt to take or renew the Lease.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Attempt {
    /// This replica holds the Lease.
    Held,
    /// Another replica holds it.
    Busy {
        /// The holder's identity, as the Lease records it.
        holder: String,
    },
}

/// What decides whether a Lease has been renewed: any change of holder, renew time or transitions.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Record {
    holder: Option<String>,
    renew_time: Option<Timestamp>,
    transitions: Option<i32>,
}

impl Record {
    fn of(spec: &LeaseSpec) -> Record {
        Record {
            holder: holder(spec),
            renew_time: spec.renew_time.as_ref().map(|t| t.0),
            transitions: spec.lease_transitions,
        }
    }
}

fn holder(spec: &LeaseSpec) -> Option<String> {
    spec.holder_identity.clone().filter(|h| !h.is_empty())
}

/// Whether `identity` may take (or keep) a Lease whose record has not changed for `unchanged_for`. Pure.
fn may_take(
    spec: &LeaseSpec,
    identity: &str,
    unchanged_for: Duration,
    default_duration: Duration,
) -> Result<(), String> {
    let Some(current) = holder(spec) else {
        return Ok(());
    };
    if current == identity {
        return Ok(());
    }
    let duration = spec
        .lease_duration_seconds
        .and_then(|s| u64::try_from(s).ok())
        .map(Duration::from_secs)
        .unwrap_or(default_duration);
    if unchanged_for >= duration {
        Ok(())
    } else {
        Err(current)
    }
}

/// The spec that `identity` writes to take or renew the Lease.
fn taken(spec: &LeaseSpec, identity: &str, duration: Duration, now: Timestamp) -> LeaseSpec {
    let ours = holder(spec).as_deref() == Some(identity);
    let mut next = spec.clone();
    next.holder_identity = Some(identity.to_string());
    next.lease_duration_seconds = Some(i32::try_from(duration.as_secs()).unwrap_or(i32::MAX).max(1));
    next.renew_time = Some(MicroTime(now));
    if !ours || next.acquire_time.is_none() {
        next.acquire_time = Some(MicroTime(now));
    }
    if !ours {
        next.lease_transitions =
            Some(spec.lease_transitions.unwrap_or(0) + i32::from(holder(spec).is_some()));
    }
    next
}

/// Takes, renews and releases one Lease.
pub struct LeaderElector {
    api: Api<Lease>,
    config: LeaseConfig,
    /// The last record seen and when it was first seen (by this process's monotonic clock).
    observed: Option<(Record, Instant)>,
}

impl LeaderElector {
    /// An elector for the Lease `config` names, reached through `client`; it holds nothing until it tries.
    pub fn new(client: kube::Client, config: LeaseConfig) -> Self {
        LeaderElector {
            api: Api::namespaced(client, &config.namespace),
            config,
            observed: None,
        }
    }

    /// The Lease's name, namespace, identity and timings.
    pub fn config(&self) -> &LeaseConfig {
        &self.config
    }

    fn error(&self, source: kube::Error) -> LeaseError {
        LeaseError {
            namespace: self.config.namespace.clone(),
            name: self.config.name.clone(),
            source,
        }
    }

    fn observe(&mut self, record: Record) -> Duration {
        match &self.observed {
            Some((seen, at)) if *seen == record => at.elapsed(),
            _ => {
                self.observed = Some((record, Instant::now()));
                Duration::ZERO
            }
        }
    }

    /// One attempt to take the Lease (when free or expired) or renew it (when held by this replica).
    pub async fn try_acquire_or_renew(&mut self) -> Result<Attempt, LeaseError> {
        let identity = self.config.identity.clone();
        let now = Timestamp::now();
        let current = self
            .api
            .get_opt(&self.config.name)
            .await
            .map_err(|e| self.error(e))?;
        let Some(lease) = current else {
            let lease = Lease {
                metadata: ObjectMeta {
                    name: Some(self.config.name.clone()),
                    namespace: Some(self.config.namespace.clone()),
                    ..ObjectMeta::default()
                },
                spec: Some(taken(
                    &LeaseSpec::default(),
                    &identity,
                    self.config.timings.lease_duration,
                    now,
                )),
            };
            return match self.api.create(&PostParams::default(), &lease).await {
                Ok(created) => {
                    self.observe(Record::of(&created.spec.unwrap_or_default()));
                    Ok(Attempt::Held)
                }
                Err(kube::Error::Api(s)) if s.code == 409 => Ok(Attempt::Busy {
                    holder: "another replica (it created the Lease first)".into(),
                }),
                Err(e) => Err(self.error(e)),
            };
        };
        let spec = lease.spec.clone().unwrap_or_default();
        let unchanged_for = self.observe(Record::of(&spec));
        if let Err(holder) = may_take(
            &spec,
            &identity,
            unchanged_for,
            self.config.timings.lease_duration,
        ) {
            return Ok(Attempt::Busy { holder });
        }
        let mut next = lease;
        next.spec = Some(taken(&spec, &identity, self.config.timings.lease_duration, now));
        // `next` keeps the resourceVersion read above: a concurrent write makes this replace fail with 409.
        match self
            .api
            .replace(&self.config.name, &PostParams::default(), &next)
            .await
        {
            Ok(written) => {
                self.observe(Record::of(&written.spec.unwrap_or_default()));
                Ok(Attempt::Held)
            }
            Err(kube::Error::Api(s)) if s.code == 409 => Ok(Attempt::Busy {
                holder: holder(&spec)
                    .unwrap_or_else(|| "another replica (it took the free Lease first)".into()),
            }),
            Err(e) => Err(self.error(e)),
        }
    }

    /// Gives the Lease up when this replica holds it: empty holder and a duration of 1 s, so that a waiting
    /// replica takes over at once. Returns whether it was released.
    pub async fn release(&mut self) -> Result<bool, LeaseError> {
        let Some(mut lease) = self
            .api
            .get_opt(&self.config.name)
            .await
            .map_err(|e| self.error(e))?
        else {
            return Ok(false);
        };
        let mut spec = lease.spec.clone().unwrap_or_default();
        if holder(&spec).as_deref() != Some(self.config.identity.as_str()) {
            return Ok(false);
        }
        spec.holder_identity = None;
        spec.lease_duration_seconds = Some(1);
        spec.renew_time = Some(MicroTime(Timestamp::now()));
        lease.spec = Some(spec);
        match self
            .api
            .replace(&self.config.name, &PostParams::default(), &lease)
            .await
        {
            Ok(_) => Ok(true),
            Err(kube::Error::Api(s)) if s.code == 409 => Ok(false),
            Err(e) => Err(self.error(e)),
        }
    }
}

/// Completes when the controllers are asked to stop gracefully (they finish reconciles in flight).
#[derive(Clone, Debug)]
pub struct StopSignal(watch::Receiver<bool>);

impl StopSignal {
    /// A signal and the sender that fires it (`send(true)`).
    pub fn new() -> (watch::Sender<bool>, StopSignal) {
        let (tx, rx) = watch::channel(false);
        (tx, StopSignal(rx))
    }

    /// Completes once stop was requested (or the sender is gone).
    pub async fn wait(mut self) {
        let _ = self.0.wait_for(|stop| *stop).await;
    }
}

/// Runs `work` whenever this replica holds the Lease, until `shutdown` completes.
///
/// `work` is started each time the Lease is won, with a [`StopSignal`] that fires on shutdown; when the Lease
/// is lost its task is aborted at once. On shutdown the leader waits for `work` to finish (renewing meanwhile),
/// then releases the Lease. `tack_leader` follows who leads.
pub async fn run_elected<W, Fut>(
    mut elector: LeaderElector,
    metrics: Arc<Metrics>,
    mut work: W,
    shutdown: impl Future<Output = ()>,
) where
    W: FnMut(StopSignal) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let cfg = elector.config().clone();
    let lease = format!("{}/{}", cfg.namespace, cfg.name);
    let t = cfg.timings;
    let attempt_timeout = t.attempt_timeout();
    let mut shutdown = std::pin::pin!(shutdown);
    metrics.set_leader(false);
    loop {
        // Candidate: look until the Lease is ours.
        let mut last_holder: Option<String> = None;
        loop {
            match tokio::time::timeout(attempt_timeout, elector.try_acquire_or_renew()).await {
                Ok(Ok(Attempt::Held)) => break,
                Ok(Ok(Attempt::Busy { holder })) => {
                    if last_holder.as_ref() != Some(&holder) {
                        tracing::info!(lease = %lease, identity = %cfg.identity, "waiting for the lease, held by {holder}");
                        last_holder = Some(holder);
                    }
                }
                Ok(Err(e)) => tracing::warn!("{e}"),
                Err(_) => {
                    tracing::warn!(lease = %lease, "the API server did not answer within {attempt_timeout:?}")
                }
            }
            tokio::select! {
                () = &mut shutdown => {
                    tracing::info!(lease = %lease, "shutting down while waiting for the lease");
                    return;
                }
                () = tokio::time::sleep(t.retry_every) => {}
            }
        }
        tracing::info!(lease = %lease, identity = %cfg.identity, "became the leader; starting the controllers");
        metrics.set_leader(true);
        let (stop, signal) = StopSignal::new();
        let mut task = tokio::spawn(work(signal));
        let mut last_renewal = Instant::now();
        // After a failed renewal the next attempt comes sooner, so that a passing error does not cost the Lease.
        let mut next_attempt = t.renew_every;
        let mut stopping = false;
        let lost = loop {
            tokio::select! {
                () = &mut shutdown, if !stopping => {
                    tracing::info!(lease = %lease, "shutting down: finishing reconciles in flight, then releasing the lease");
                    stopping = true;
                    let _ = stop.send(true);
                }
                finished = &mut task => {
                    if let Err(e) = finished {
                        tracing::warn!("the controllers ended abnormally: {e}");
                    } else if !stopping {
                        tracing::warn!("the controllers stopped on their own");
                    }
                    break None;
                }
                () = tokio::time::sleep(next_attempt) => {
                    next_attempt = t.retry_every;
                    match tokio::time::timeout(attempt_timeout, elector.try_acquire_or_renew()).await {
                        Ok(Ok(Attempt::Held)) => {
                            last_renewal = Instant::now();
                            next_attempt = t.renew_every;
                        }
                        Ok(Ok(Attempt::Busy { holder })) => break Some(format!("the lease is now held by {holder}")),
                        Ok(Err(e)) => tracing::warn!("cannot renew: {e}"),
                        Err(_) => tracing::warn!(lease = %lease, "cannot renew: the API server did not answer within {attempt_timeout:?}"),
                    }
                    if last_renewal.elapsed() >= t.renew_deadline {
                        break Some(format!("not renewed for {:?}", last_renewal.elapsed()));
                    }
                }
            }
        };
        metrics.set_leader(false);
        match lost {
            Some(why) => {
                tracing::warn!(lease = %lease, "lost the leadership ({why}); stopping the controllers now");
                task.abort();
                let _ = task.await;
                if stopping {
                    return;
                }
            }
            None => {
                match elector.release().await {
                    Ok(true) => tracing::info!(lease = %lease, "released the lease"),
                    Ok(false) => {
                        tracing::info!(lease = %lease, "the lease was no longer ours; nothing to release")
                    }
                    Err(e) => {
                        tracing::warn!("cannot release: {e}; the other replicas take over when it expires")
                    }
                }
                return;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(holder: Option<&str>, duration: Option<i32>) -> LeaseSpec {
        LeaseSpec {
            holder_identity: holder.map(str::to_string),
            lease_duration_seconds: duration,
            ..LeaseSpec::default()
        }
    }

    const D: Duration = Duration::from_secs(15);

    #[test]
    fn free_ours_expired_or_busy() {
        assert_eq!(may_take(&spec(None, Some(15)), "a", Duration::ZERO, D), Ok(()));
        assert_eq!(
            may_take(&spec(Some(""), Some(15)), "a", Duration::ZERO, D),
            Ok(())
        );
        assert_eq!(
            may_take(&spec(Some("a"), Some(15)), "a", Duration::ZERO, D),
            Ok(())
        );
        assert_eq!(
            may_take(&spec(Some("b"), Some(15)), "a", Duration::from_secs(14), D),
            Err("b".to_string())
        );
        assert_eq!(
            may_take(&spec(Some("b"), Some(15)), "a", Duration::from_secs(15), D),
            Ok(())
        );
        // A released Lease says 1 s: taken after one second even if a holder were still named.
        assert_eq!(
            may_take(&spec(Some("b"), Some(1)), "a", Duration::from_secs(1), D),
            Ok(())
        );
        // No duration written: the configured one.
        assert!(may_take(&spec(Some("b"), None), "a", Duration::from_secs(10), D).is_err());
    }

    #[test]
    fn taking_counts_transitions_and_renewing_keeps_acquire_time() {
        let t0 = Timestamp::from_second(1_000).expect("valid");
        let t1 = Timestamp::from_second(1_005).expect("valid");
        let first = taken(&LeaseSpec::default(), "a", D, t0);
        assert_eq!(first.holder_identity.as_deref(), Some("a"));
        assert_eq!(first.lease_transitions, Some(0));
        assert_eq!(first.lease_duration_seconds, Some(15));
        let renewed = taken(&first, "a", D, t1);
        assert_eq!(renewed.acquire_time, Some(MicroTime(t0)));
        assert_eq!(renewed.renew_time, Some(MicroTime(t1)));
        assert_eq!(renewed.lease_transitions, Some(0));
        let stolen = taken(&renewed, "b", D, t1);
        assert_eq!(stolen.holder_identity.as_deref(), Some("b"));
        assert_eq!(stolen.acquire_time, Some(MicroTime(t1)));
        assert_eq!(stolen.lease_transitions, Some(1));
        // A released Lease (no holder) taken over is no transition between holders.
        let released = LeaseSpec {
            holder_identity: None,
            ..stolen
        };
        assert_eq!(taken(&released, "a", D, t1).lease_transitions, Some(1));
        assert_ne!(Record::of(&first), Record::of(&renewed));
    }

    #[test]
    fn timings_are_checked_with_errors_naming_the_flags() {
        let ok = LeaseTimings::default();
        assert_eq!(ok.validate(), Ok(()));
        assert_eq!(ok.duration_seconds(), 15);
        assert_eq!(ok.attempt_timeout(), Duration::from_secs(5));
        let with = |f: fn(&mut LeaseTimings)| {
            let mut t = LeaseTimings::default();
            f(&mut t);
            t.validate().map_err(|e| e.to_string())
        };
        let short = LeaseTimings {
            lease_duration: Duration::from_secs(3),
            renew_every: Duration::from_millis(500),
            renew_deadline: Duration::from_secs(2),
            retry_every: Duration::from_millis(200),
        };
        assert_eq!(short.validate(), Ok(()));
        assert_eq!(short.attempt_timeout(), Duration::from_millis(500));
        assert_eq!(
            with(|t| t.lease_duration = Duration::from_millis(1500)),
            Err("--lease-duration 1.5s must be a whole number of seconds, at least 1s (it is written to the Lease's spec.leaseDurationSeconds)".into())
        );
        assert!(with(|t| t.lease_duration = Duration::ZERO).is_err());
        assert_eq!(
            with(|t| t.retry_every = Duration::ZERO),
            Err("--lease-retry-period must be more than zero".into())
        );
        assert_eq!(
            with(|t| t.renew_deadline = Duration::from_secs(15)),
            Err("--lease-renew-deadline 15s must be less than --lease-duration 15s: a holder that cannot renew must stop before another replica may take over".into())
        );
        assert_eq!(
            with(|t| t.renew_every = Duration::from_secs(10)),
            Err("--lease-renew-period 10s must be less than --lease-renew-deadline 10s: a holder renews several times before it gives up".into())
        );
        assert_eq!(
            with(|t| t.retry_every = Duration::from_secs(12)),
            Err("--lease-retry-period 12s must be less than --lease-renew-deadline 10s: a failed renewal is retried every retry period".into())
        );
    }

    #[test]
    fn identity_prefers_pod_name_format() {
        let id = default_identity();
        assert!(!id.is_empty());
        if std::env::var("POD_NAME")
            .map(|p| p.trim().is_empty())
            .unwrap_or(true)
        {
            assert!(id.ends_with(&format!("-{}", std::process::id())), "{id}");
        }
    }
}

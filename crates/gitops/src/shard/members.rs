//! Automatic sharding, the I/O part: each replica holds a member Lease, reads the others', and publishes in its
//! own the view it adopted and whether it is drained (the protocol and its pure state: `handover.rs`).
//!
//! A member Lease is `coordination.k8s.io/v1` `Lease` `<group>-member-<identity>` in the controller's namespace,
//! labelled `tack.dev/shard-group=<group>`, `spec.holderIdentity` = the replica's identity, renewed every
//! [`LeaseTimings::renew_every`]; the annotations `tack.dev/shard-view` (the members of the adopted view,
//! separated by commas) and `tack.dev/shard-drained` (`true`/`false`) are the publication. Every
//! [`LeaseTimings::retry_every`] the replica lists the group's Leases, judges which members are live
//! ([`Liveness`]), steps its [`Handover`] and writes its Lease when its publication changed or a renewal is due.
//! Leases left unchanged for three durations (replicas that died) are deleted, with their `resourceVersion` as
//! precondition.
//!
//! A replica that could not renew its Lease for [`LeaseTimings::renew_deadline`] (less than the duration after
//! which the others count it dead) stops its controller at once, reconciles in flight dropped, and joins again
//! from nothing, as a leader that lost its Lease does. On graceful shutdown it finishes its reconciles in
//! flight, then deletes its Lease: the others take its applications over within about a second.

use std::collections::BTreeMap;
use std::fmt;
use std::future::Future;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use futures::{Stream, StreamExt};
use k8s_openapi::api::coordination::v1::{Lease, LeaseSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{MicroTime, ObjectMeta};
use k8s_openapi::jiff::Timestamp;
use kube::api::{Api, DeleteParams, ListParams, Patch, PatchParams, PostParams, Preconditions};
use kube::runtime::reflector::{ObjectRef, Store};
use kube::{Resource, ResourceExt};
use serde_json::json;
use tokio::sync::{Notify, mpsc};

use super::handover::{
    Admission, Effect, Event, Handover, Liveness, MemberLease, Observation, Published, View,
};
use crate::GitOpsConfig;
use crate::lease::{LeaseTimings, StopSignal};
use crate::metrics::Metrics;

/// The label naming a member Lease's group.
pub const GROUP_LABEL: &str = "tack.dev/shard-group";
/// The annotation holding the members of the view a replica adopted, separated by commas.
pub const VIEW_ANNOTATION: &str = "tack.dev/shard-view";
/// The annotation saying whether a replica has no reconcile in flight of an application it does not own in its
/// view (`true`/`false`).
pub const DRAINED_ANNOTATION: &str = "tack.dev/shard-drained";

/// How a replica takes part in a shard group.
#[derive(Clone, Debug)]
pub struct MemberConfig {
    /// The group's name (`--lease-name`, `tack-controller` by default); the member Leases are named after it.
    pub group: String,
    /// Where the member Leases live.
    pub namespace: String,
    /// Who this replica is; unique among the replicas.
    pub identity: String,
    /// Renewals, reads of the group and expiry (a member Lease unchanged for `lease_duration` counts as dead; a
    /// replica that could not renew for `renew_deadline` stops its controller; the group is read every
    /// `retry_every`).
    pub timings: LeaseTimings,
    /// Keep the start and end of every reconcile ([`Ownership::spans`]) and every reconcile put off
    /// ([`Ownership::deferrals`]), to check handovers.
    pub record_spans: bool,
}

impl MemberConfig {
    /// With the default [`LeaseTimings`]: 15 s duration, renewed every 5 s, given up after 10 s without renewal,
    /// the group read every second.
    pub fn new(group: impl Into<String>, namespace: impl Into<String>, identity: impl Into<String>) -> Self {
        MemberConfig {
            group: group.into(),
            namespace: namespace.into(),
            identity: identity.into(),
            timings: LeaseTimings::default(),
            record_spans: false,
        }
    }

    /// This replica's Lease: `<group>-member-<identity>`, the identity lowercased and with characters a name
    /// cannot hold replaced by `-`.
    pub fn lease_name(&self) -> String {
        let id: String = self
            .identity
            .to_lowercase()
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '-' || c == '.' {
                    c
                } else {
                    '-'
                }
            })
            .collect();
        let id = id.trim_matches(|c| c == '-' || c == '.');
        let mut name = format!("{}-member-{}", self.group, if id.is_empty() { "x" } else { id });
        name.truncate(253);
        name.trim_end_matches(['-', '.']).to_string()
    }
}

/// One reconcile, as recorded with [`MemberConfig::record_spans`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Span {
    /// The application's namespace.
    pub namespace: String,
    /// The application's name.
    pub name: String,
    /// When it was admitted.
    pub started: Instant,
    /// When it ended (finished, failed or dropped); `None` while it runs.
    pub ended: Option<Instant>,
}

/// A reconcile of an application this replica owns, put off until a handover settles, as recorded with
/// [`MemberConfig::record_spans`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Deferral {
    /// The application's namespace.
    pub namespace: String,
    /// The application's name.
    pub name: String,
    /// When it was put off.
    pub at: Instant,
}

struct Inner {
    state: Mutex<Handover>,
    /// A reconcile of an application this replica lost ended: the publication may now say drained.
    wake: Notify,
    effects: mpsc::UnboundedSender<Effect>,
    receiver: Mutex<Option<mpsc::UnboundedReceiver<Effect>>>,
    spans: Option<Mutex<Vec<Span>>>,
    deferrals: Option<Mutex<Vec<Deferral>>>,
}

/// One replica's membership, shared between the Lease loop ([`run_member`]) and the controller's admission of
/// work ([`Ownership::admit`]).
#[derive(Clone)]
pub struct Ownership {
    inner: Arc<Inner>,
}

impl fmt::Debug for Ownership {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = self.state();
        f.debug_struct("Ownership")
            .field("me", &state.me())
            .field("view", &state.adopted().to_string())
            .field("settled", &state.is_settled())
            .finish()
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    match m.lock() {
        Ok(g) => g,
        Err(poisoned) => poisoned.into_inner(),
    }
}

/// What [`Ownership::admit`] decided.
#[derive(Debug)]
pub enum Admit {
    /// Reconcile now; the reconcile counts as in flight until the guard is dropped.
    Start(Admitted),
    /// Ours, after the handover in progress: it is triggered again when it settles.
    Defer,
    /// Another replica's.
    NotOurs,
}

/// A reconcile in flight; dropping it ends it.
#[derive(Debug)]
pub struct Admitted {
    ownership: Ownership,
    namespace: String,
    name: String,
    span: Option<usize>,
}

impl Drop for Admitted {
    fn drop(&mut self) {
        let inner = &self.ownership.inner;
        let lost = {
            let mut state = lock(&inner.state);
            state.finish(&self.namespace, &self.name);
            !state.owns(&self.namespace, &self.name)
        };
        if let (Some(spans), Some(i)) = (&inner.spans, self.span)
            && let Some(span) = lock(spans).get_mut(i)
        {
            span.ended = Some(Instant::now());
        }
        if lost {
            inner.wake.notify_one();
        }
    }
}

impl Ownership {
    /// The membership of replica `identity`, before it has seen any Lease (it owns nothing yet).
    pub fn new(identity: impl Into<String>, record_spans: bool) -> Ownership {
        let (tx, rx) = mpsc::unbounded_channel();
        Ownership {
            inner: Arc::new(Inner {
                state: Mutex::new(Handover::new(identity)),
                wake: Notify::new(),
                effects: tx,
                receiver: Mutex::new(Some(rx)),
                spans: record_spans.then(|| Mutex::new(Vec::new())),
                deferrals: record_spans.then(|| Mutex::new(Vec::new())),
            }),
        }
    }

    fn state(&self) -> MutexGuard<'_, Handover> {
        lock(&self.inner.state)
    }

    /// This replica's identity.
    pub fn identity(&self) -> String {
        self.state().me().to_string()
    }

    /// The view this replica adopted.
    pub fn view(&self) -> View {
        self.state().adopted().clone()
    }

    /// Whether every member adopted this replica's view and is drained.
    pub fn is_settled(&self) -> bool {
        self.state().is_settled()
    }

    /// Whether this replica owns `namespace/name` in its view.
    pub fn owns(&self, namespace: &str, name: &str) -> bool {
        self.state().owns(namespace, name)
    }

    /// The decision at the start of every reconcile.
    pub fn admit(&self, namespace: &str, name: &str) -> Admit {
        let admission = self.state().admit(namespace, name);
        match admission {
            Admission::Start => {
                let span = self.inner.spans.as_ref().map(|spans| {
                    let mut spans = lock(spans);
                    spans.push(Span {
                        namespace: namespace.to_string(),
                        name: name.to_string(),
                        started: Instant::now(),
                        ended: None,
                    });
                    spans.len() - 1
                });
                Admit::Start(Admitted {
                    ownership: self.clone(),
                    namespace: namespace.to_string(),
                    name: name.to_string(),
                    span,
                })
            }
            Admission::Defer => {
                if let Some(deferrals) = &self.inner.deferrals {
                    lock(deferrals).push(Deferral {
                        namespace: namespace.to_string(),
                        name: name.to_string(),
                        at: Instant::now(),
                    });
                }
                Admit::Defer
            }
            Admission::NotOurs => Admit::NotOurs,
        }
    }

    /// Every reconcile put off so far (empty unless [`MemberConfig::record_spans`]).
    pub fn deferrals(&self) -> Vec<Deferral> {
        self.inner
            .deferrals
            .as_ref()
            .map(|d| lock(d).clone())
            .unwrap_or_default()
    }

    /// Every reconcile admitted so far (empty unless [`MemberConfig::record_spans`]).
    pub fn spans(&self) -> Vec<Span> {
        self.inner
            .spans
            .as_ref()
            .map(|s| lock(s).clone())
            .unwrap_or_default()
    }

    fn step(&self, event: Event) {
        let effects = self.state().step(event);
        for effect in effects {
            match &effect {
                Effect::Adopted { after, .. } => {
                    tracing::info!(identity = %self.identity(), "shard members now {after}; handing applications over")
                }
                Effect::Settled { view, deferred } => tracing::info!(
                    identity = %self.identity(),
                    "every shard member adopted {view} and has no reconcile in flight of an application it lost: \
                     starting {} waiting application(s)",
                    deferred.len()
                ),
            }
            // The receiver is gone once the controller stopped: nothing to trigger any more.
            let _ = self.inner.effects.send(effect);
        }
    }

    /// Reconcile requests for the applications whose owner changed: those lost (to forget them at once) and
    /// those gained when a view is adopted, and those waiting when a handover settles. `store` holds the
    /// GitOpsConfigs. Only the first call gets them; later calls get an empty stream.
    pub fn triggers(
        &self,
        store: Store<GitOpsConfig>,
    ) -> impl Stream<Item = ObjectRef<GitOpsConfig>> + Send + 'static {
        let receiver = lock(&self.inner.receiver).take();
        let me = self.identity();
        futures::stream::unfold(receiver, |receiver| async move {
            let mut receiver = receiver?;
            let effect = receiver.recv().await?;
            Some((effect, Some(receiver)))
        })
        .flat_map(move |effect| futures::stream::iter(requests(&me, &store, effect)))
    }
}

/// The applications an effect concerns, as reconcile requests.
fn requests(me: &str, store: &Store<GitOpsConfig>, effect: Effect) -> Vec<ObjectRef<GitOpsConfig>> {
    match effect {
        Effect::Adopted { before, after } => {
            let apps = store.state();
            let mut owned = 0;
            let moved: Vec<ObjectRef<GitOpsConfig>> = apps
                .iter()
                .filter(|app| {
                    let (ns, name) = (app.namespace().unwrap_or_default(), app.name_any());
                    let now = after.owner(&ns, &name) == Some(me);
                    owned += usize::from(now);
                    now != (before.owner(&ns, &name) == Some(me))
                })
                .map(|app| ObjectRef::from_obj(app.as_ref()))
                .collect();
            tracing::info!(
                identity = %me,
                "this replica owns {owned} of {} application(s) in {after}; {} change owner",
                apps.len(),
                moved.len()
            );
            moved
        }
        Effect::Settled { deferred, .. } => deferred
            .into_iter()
            .map(|(ns, name)| ObjectRef::new(&name).within(&ns))
            .collect(),
    }
}

/// A member Lease read or write that failed.
#[derive(Debug, thiserror::Error)]
#[error(
    "shard member Leases in {namespace}: {source}; check that the API server is reachable and that the controller may list, create, patch and delete leases.coordination.k8s.io there"
)]
pub struct MemberError {
    namespace: String,
    #[source]
    source: kube::Error,
}

/// The Lease I/O of one replica.
struct Member {
    api: Api<Lease>,
    config: MemberConfig,
    lease_name: String,
    liveness: Liveness,
    /// When the last successful write was sent.
    renewed: Option<Instant>,
}

impl Member {
    fn new(client: kube::Client, config: MemberConfig) -> Member {
        Member {
            api: Api::namespaced(client, &config.namespace),
            lease_name: config.lease_name(),
            config,
            liveness: Liveness::default(),
            renewed: None,
        }
    }

    fn error(&self, source: kube::Error) -> MemberError {
        MemberError {
            namespace: self.config.namespace.clone(),
            source,
        }
    }

    async fn list(&self) -> Result<Vec<MemberLease>, MemberError> {
        let selector = format!("{GROUP_LABEL}={}", self.config.group);
        let leases = self
            .api
            .list(&ListParams::default().labels(&selector))
            .await
            .map_err(|e| self.error(e))?;
        Ok(leases
            .items
            .iter()
            .filter_map(|l| member_lease(l, self.config.timings.lease_duration))
            .collect())
    }

    /// Writes the publication and renews; creates the Lease when it is missing.
    async fn write(&self, published: &Published) -> Result<(), MemberError> {
        let duration = self.config.timings.duration_seconds();
        let now = MicroTime(Timestamp::now());
        let patch = json!({
            "metadata": {
                "labels": {GROUP_LABEL: self.config.group},
                "annotations": {
                    VIEW_ANNOTATION: published.view.encode(),
                    DRAINED_ANNOTATION: published.drained.to_string(),
                },
            },
            "spec": {"holderIdentity": self.config.identity, "leaseDurationSeconds": duration, "renewTime": now},
        });
        match self
            .api
            .patch(&self.lease_name, &PatchParams::default(), &Patch::Merge(&patch))
            .await
        {
            Ok(_) => Ok(()),
            Err(kube::Error::Api(s)) if s.code == 404 => {
                let lease = Lease {
                    metadata: ObjectMeta {
                        name: Some(self.lease_name.clone()),
                        namespace: Some(self.config.namespace.clone()),
                        labels: Some(BTreeMap::from([(
                            GROUP_LABEL.to_string(),
                            self.config.group.clone(),
                        )])),
                        annotations: Some(BTreeMap::from([
                            (VIEW_ANNOTATION.to_string(), published.view.encode()),
                            (DRAINED_ANNOTATION.to_string(), published.drained.to_string()),
                        ])),
                        ..ObjectMeta::default()
                    },
                    spec: Some(LeaseSpec {
                        holder_identity: Some(self.config.identity.clone()),
                        lease_duration_seconds: Some(duration),
                        acquire_time: Some(now.clone()),
                        renew_time: Some(now),
                        ..LeaseSpec::default()
                    }),
                };
                self.api
                    .create(&PostParams::default(), &lease)
                    .await
                    .map(|_| ())
                    .map_err(|e| self.error(e))
            }
            Err(e) => Err(self.error(e)),
        }
    }

    /// One round: read the group, step, write when needed, delete dead Leases. Returns whether it wrote.
    async fn tick(&mut self, ownership: &Ownership) -> Result<bool, MemberError> {
        let leases = self.list().await?;
        let listed = leases.iter().any(|l| l.name == self.lease_name);
        let seen: Observation = self.liveness.observe(&leases, Instant::now());
        let stale = seen.stale.clone();
        ownership.step(Event::Observed(seen));
        let (publication, written) = {
            let state = ownership.state();
            (state.publication(), state.written().cloned())
        };
        let due = !listed
            || written.as_ref() != Some(&publication)
            || self
                .renewed
                .is_none_or(|t| t.elapsed() >= self.config.timings.renew_every);
        if due {
            let sent = Instant::now();
            self.write(&publication).await?;
            self.renewed = Some(sent);
            ownership.step(Event::Written(publication));
        }
        for (name, version) in stale.into_iter().filter(|(n, _)| *n != self.lease_name) {
            let params = DeleteParams {
                preconditions: Some(Preconditions {
                    resource_version: Some(version),
                    uid: None,
                }),
                ..DeleteParams::default()
            };
            match self.api.delete(&name, &params).await {
                Ok(_) => tracing::info!(
                    "deleted the shard member Lease {name}, unchanged for three lease durations"
                ),
                Err(e) => tracing::debug!("deleting the stale shard member Lease {name}: {e}"),
            }
        }
        Ok(due)
    }

    async fn leave(&self) {
        match self.api.delete(&self.lease_name, &DeleteParams::default()).await {
            Ok(_) => {
                tracing::info!(lease = %self.lease_name, "left the shard group; the others take its applications over")
            }
            Err(kube::Error::Api(s)) if s.code == 404 => {}
            Err(e) => tracing::warn!(
                lease = %self.lease_name,
                "cannot delete the member Lease ({}); the others take its applications over when it expires",
                self.error(e)
            ),
        }
    }
}

/// A member Lease of the group as the handover sees it (`None` for a Lease without holder).
fn member_lease(lease: &Lease, default_duration: Duration) -> Option<MemberLease> {
    let spec = lease.spec.as_ref()?;
    let member = spec.holder_identity.clone().filter(|h| !h.is_empty())?;
    let annotations = lease.meta().annotations.as_ref();
    let published = annotations.and_then(|a| {
        Some(Published {
            view: View::decode(a.get(VIEW_ANNOTATION)?),
            drained: a.get(DRAINED_ANNOTATION).is_some_and(|d| d == "true"),
        })
    });
    Some(MemberLease {
        name: lease.name_any(),
        member,
        version: lease.resource_version().unwrap_or_default(),
        duration: spec
            .lease_duration_seconds
            .and_then(|s| u64::try_from(s).ok())
            .filter(|s| *s > 0)
            .map_or(default_duration, Duration::from_secs),
        renewed_ago: spec.renew_time.as_ref().and_then(|t| {
            let ago = Timestamp::now().duration_since(t.0);
            Duration::try_from(ago).ok()
        }),
        published,
    })
}

/// Aborts the task when dropped, so that dropping [`run_member`] stops its controller too.
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Why the Lease loop of one membership ended.
enum Ended {
    /// The controller stopped (after a stop request, or on its own).
    Work,
    /// The Lease could not be renewed in time.
    Lost(String),
}

/// Runs `work` as a member of the shard group until `shutdown` completes; `tack_shard_members` and
/// `tack_shard_settled` follow the membership.
///
/// `work` gets this replica's [`Ownership`] (to gate its reconciles and take its triggers) and a [`StopSignal`]
/// that fires on shutdown. When the Lease cannot be renewed for [`LeaseTimings::renew_deadline`], `work` is
/// aborted at once and the replica joins again with a new [`Ownership`]. On shutdown, `work` finishes, then the
/// Lease is deleted.
pub async fn run_member<W, Fut>(
    client: kube::Client,
    config: MemberConfig,
    metrics: Arc<Metrics>,
    mut work: W,
    shutdown: impl Future<Output = ()>,
) where
    W: FnMut(Ownership, StopSignal) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let attempt_timeout = config.timings.attempt_timeout();
    let mut shutdown = std::pin::pin!(shutdown);
    let mut stopping = false;
    loop {
        let ownership = Ownership::new(config.identity.clone(), config.record_spans);
        let (stop, signal) = StopSignal::new();
        if stopping {
            let _ = stop.send(true);
        }
        let mut task = AbortOnDrop(tokio::spawn(work(ownership.clone(), signal)));
        let mut member = Member::new(client.clone(), config.clone());
        let joined = Instant::now();
        tracing::info!(lease = %format!("{}/{}", config.namespace, member.lease_name), identity = %config.identity, "joining the shard group {}", config.group);
        let mut next = Duration::ZERO;
        let ended = loop {
            tokio::select! {
                () = &mut shutdown, if !stopping => {
                    tracing::info!("shutting down: finishing reconciles in flight, then leaving the shard group");
                    stopping = true;
                    let _ = stop.send(true);
                }
                finished = &mut task.0 => {
                    if let Err(e) = finished {
                        tracing::warn!("the controller ended abnormally: {e}");
                    } else if !stopping {
                        tracing::warn!("the controller stopped on its own");
                    }
                    break Ended::Work;
                }
                () = ownership.inner.wake.notified() => next = Duration::ZERO,
                () = tokio::time::sleep(next) => {
                    next = config.timings.retry_every;
                    match tokio::time::timeout(attempt_timeout, member.tick(&ownership)).await {
                        Ok(Ok(_)) => {}
                        Ok(Err(e)) => tracing::warn!("{e}"),
                        Err(_) => tracing::warn!("the API server did not answer within {attempt_timeout:?} (shard member Leases)"),
                    }
                    metrics.set_shard(ownership.view().members().len(), ownership.is_settled());
                    let since = member.renewed.unwrap_or(joined).elapsed();
                    if since >= config.timings.renew_deadline {
                        break Ended::Lost(format!("its Lease not renewed for {since:?}"));
                    }
                }
            }
        };
        metrics.set_shard(0, false);
        match ended {
            Ended::Work => {
                member.leave().await;
                return;
            }
            Ended::Lost(why) => {
                tracing::warn!(identity = %config.identity, "out of the shard group ({why}): stopping the controller now, then joining again");
                drop(task);
                if stopping {
                    return;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lease_names_hold_only_valid_characters() {
        let c = |id: &str| MemberConfig::new("tack-controller", "ns", id).lease_name();
        assert_eq!(c("tack-7d9f-abcde"), "tack-controller-member-tack-7d9f-abcde");
        assert_eq!(c("My_Host-42"), "tack-controller-member-my-host-42");
        assert_eq!(c("__"), "tack-controller-member-x");
        assert!(c(&"a".repeat(400)).len() <= 253);
    }

    #[test]
    fn a_lease_reads_as_member_and_publication() {
        let lease: Lease = serde_json::from_value(json!({
            "metadata": {"name": "g-member-a", "resourceVersion": "7", "annotations": {VIEW_ANNOTATION: "a,b", DRAINED_ANNOTATION: "true"}},
            "spec": {"holderIdentity": "a", "leaseDurationSeconds": 6},
        }))
        .expect("lease");
        let m = member_lease(&lease, Duration::from_secs(15)).expect("member");
        assert_eq!(m.member, "a");
        assert_eq!(m.version, "7");
        assert_eq!(m.duration, Duration::from_secs(6));
        assert_eq!(
            m.published,
            Some(Published {
                view: View::new(["a", "b"]),
                drained: true
            })
        );
        let unheld: Lease =
            serde_json::from_value(json!({"metadata": {"name": "x"}, "spec": {}})).expect("lease");
        assert_eq!(member_lease(&unheld, Duration::from_secs(15)), None);
    }

    #[test]
    fn admissions_follow_the_handover_and_dropping_ends_them() {
        let o = Ownership::new("a", true);
        assert!(matches!(o.admit("ns", "app"), Admit::NotOurs));
        let alone = View::new(["a"]);
        let seen = || {
            Event::Observed(Observation {
                live: alone.clone(),
                ..Observation::default()
            })
        };
        o.step(seen());
        assert!(matches!(o.admit("ns", "app"), Admit::Defer));
        let publication = o.state().publication();
        o.step(Event::Written(publication));
        o.step(seen());
        assert!(o.is_settled());
        let Admit::Start(admitted) = o.admit("ns", "app") else {
            panic!("not started")
        };
        assert_eq!(o.state().in_flight(), 1);
        drop(admitted);
        assert_eq!(o.state().in_flight(), 0);
        let spans = o.spans();
        assert_eq!(spans.len(), 1);
        assert!(spans[0].ended.is_some());
    }
}

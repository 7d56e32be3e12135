//! Applying, batch after batch (wave, then stage), each batch concurrently (bounded). Every object is recorded
//! in the inventory before it is sent. When the API server stops answering, no further request is sent: the
//! objects sent without an answer stay in the inventory (the server may have saved them), the others are
//! counted as not sent. A wave followed by anything (a later wave, Sync hooks, PostSync hooks) must become
//! healthy before the sync goes on; the Sync hooks of a wave run once its objects are healthy.

use std::collections::BTreeSet;
use std::ops::Range;
use std::sync::atomic::{AtomicBool, Ordering};

use futures::{StreamExt, stream};
use kube::api::{Api, DynamicObject, PostParams};
use tack_cluster::{ApplyOptions, Cluster, ClusterError, Kind, Propagation};
use tack_plan::{Change, Desired, ObjectId, batches};
use tack_render::HookPhase;

use crate::dry_run::failure;
use crate::hooks::{self, HookRun, Hooks};
use crate::journal::Journal;
use crate::outcome::Outcome;
use crate::snapshot::Snapshot;
use crate::sync::{Action, CRD_TIMEOUT, SyncError, SyncOptions, result_of};
use crate::wait_healthy;

/// What became of one object sent to the API server.
enum Sent {
    Applied,
    /// The server answered with a refusal (validation, conflict, admission...).
    Refused(String),
    /// No answer: the server may or may not have saved it.
    Unconfirmed(String),
    /// Not sent: the server had stopped answering.
    Withheld,
}

/// The cause, when an error means that the API server did not answer (rather than refused).
fn unanswered(e: &ClusterError) -> Option<String> {
    match e {
        ClusterError::Transport { message, .. } => Some(message.clone()),
        ClusterError::Api {
            code: 503 | 504,
            message,
            ..
        } => Some(message.clone()),
        _ => None,
    }
}

/// A kube error of a request tack-cluster does not make (create, replace) as a [`ClusterError`]. A Secret's
/// message is left out: validation messages may quote the value they reject.
pub(crate) fn kube_error(e: kube::Error, what: &str, secret: bool) -> ClusterError {
    let what = what.to_string();
    match e {
        kube::Error::Api(s) => {
            let message = if secret {
                format!("{} (the message is not shown for a Secret)", s.reason)
            } else {
                s.message
            };
            if matches!(s.code, 400 | 403 | 409 | 422) {
                ClusterError::Rejected {
                    what,
                    code: s.code,
                    reason: s.reason,
                    message,
                }
            } else {
                ClusterError::Api {
                    what,
                    code: s.code,
                    message,
                }
            }
        }
        kube::Error::HyperError(_) | kube::Error::Service(_) => ClusterError::Transport {
            what,
            message: e.to_string(),
        },
        other => ClusterError::Api {
            what,
            code: 0,
            message: other.to_string(),
        },
    }
}

/// Sends one object: server-side apply, or with `Replace=true` a replace (PUT; POST when absent; with
/// `Force=true` a delete and a create).
async fn write(
    cluster: &Cluster,
    kind: &Kind,
    d: &Desired,
    change: Change,
    force: bool,
) -> Result<(), ClusterError> {
    if !d.options.replace {
        let force = force || d.options.force;
        cluster
            .apply(
                kind,
                &d.object.value(),
                ApplyOptions {
                    dry_run: false,
                    force,
                },
            )
            .await?;
        return Ok(());
    }
    let api: Api<DynamicObject> = if kind.namespaced {
        Api::namespaced_with(cluster.client().clone(), &d.id.namespace, &kind.resource)
    } else {
        Api::all_with(cluster.client().clone(), &kind.resource)
    };
    let what = d.id.human();
    let secret = d.id.group.is_empty() && d.id.kind == "Secret";
    let kube_err = |e| kube_error(e, &what, secret);
    let object: DynamicObject =
        serde_json::from_value(d.object.value()).map_err(|e| ClusterError::Decode {
            what: what.clone(),
            message: e.to_string(),
        })?;
    let mut create = change == Change::Create;
    if !create && d.options.force {
        cluster
            .delete(kind, &d.id.namespace, &d.id.name, Propagation::Foreground)
            .await?;
        let deadline = tokio::time::Instant::now() + CRD_TIMEOUT;
        while cluster.get(kind, &d.id.namespace, &d.id.name).await?.is_some() {
            if tokio::time::Instant::now() >= deadline {
                return Err(ClusterError::Timeout {
                    what: format!("{what} to be deleted (Replace=true,Force=true)"),
                    after: CRD_TIMEOUT,
                });
            }
            tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        }
        create = true;
    }
    if create {
        api.create(
            &PostParams {
                field_manager: Some(tack_cluster::FIELD_MANAGER.into()),
                ..Default::default()
            },
            &object,
        )
        .await
        .map_err(kube_err)?;
        return Ok(());
    }
    let live = api.get(&d.id.name).await.map_err(kube_err)?;
    let mut object = object;
    object.metadata.resource_version = live.metadata.resource_version;
    api.replace(
        &d.id.name,
        &PostParams {
            field_manager: Some(tack_cluster::FIELD_MANAGER.into()),
            ..Default::default()
        },
        &object,
    )
    .await
    .map_err(kube_err)?;
    Ok(())
}

/// Sends one object.
async fn send(
    cluster: &Cluster,
    snap: &Snapshot,
    i: usize,
    change: Change,
    force: bool,
    down: &AtomicBool,
) -> Sent {
    let kind = snap.kinds[i].clone();
    if down.load(Ordering::Relaxed) {
        return Sent::Withheld;
    }
    let d = &snap.desired[i];
    let Some(kind) = kind else {
        return Sent::Refused(format!(
            "{}: {} ({}) is not served by the cluster; install its CustomResourceDefinition",
            d.origin,
            d.id.human(),
            d.api_version()
        ));
    };
    match write(cluster, &kind, d, change, force).await {
        Ok(()) => Sent::Applied,
        Err(e) => match unanswered(&e) {
            Some(cause) => {
                down.store(true, Ordering::Relaxed);
                Sent::Unconfirmed(cause)
            }
            None => Sent::Refused(failure(d, &e)),
        },
    }
}

/// What a wave that failed leaves.
#[derive(Default)]
struct Tally {
    refused: Vec<String>,
    unconfirmed: BTreeSet<ObjectId>,
    cause: Option<String>,
    not_sent: usize,
}

/// Resolves the kinds of `range` that were unknown (defined by CRDs of earlier batches).
async fn resolve_new_kinds(
    cluster: &Cluster,
    snap: &mut Snapshot,
    range: Range<usize>,
) -> Result<(), ClusterError> {
    if range.clone().all(|i| snap.kinds[i].is_some()) {
        return Ok(());
    }
    cluster.refresh_discovery().await?;
    for i in range {
        if snap.kinds[i].is_none() {
            let d = &snap.desired[i];
            snap.kinds[i] = cluster
                .resolve(&d.api_version(), &d.id.kind)
                .await?
                .map(std::sync::Arc::new);
        }
    }
    Ok(())
}

/// What applying the waves did.
pub(crate) struct Applied {
    /// The results of applied and unchanged objects.
    pub outcome: Outcome,
    /// The Sync hooks run.
    pub hooks: Vec<HookRun>,
    /// Whether a Sync hook failed (later waves were not applied).
    pub hook_failed: bool,
    /// The inventory when a Sync hook failed: the previous one plus what was applied.
    pub inventory: BTreeSet<ObjectId>,
}

/// The index ranges of the batches of `snap`, and the wave each belongs to.
fn batch_ranges(snap: &Snapshot) -> Vec<(i64, Range<usize>)> {
    batches(&snap.desired)
        .iter()
        .scan(0, |start, b| {
            let r = *start..*start + b.len();
            *start = r.end;
            Some((b[0].wave, r))
        })
        .collect()
}

/// Applies every object that changes, wave after wave, batch after batch; each wave followed by anything is
/// waited for until healthy, then the Sync hooks of that wave (and of the waves before it that hold no object)
/// run.
pub(crate) async fn apply(
    cluster: &Cluster,
    mut snap: Snapshot,
    changes: &[Change],
    opts: &SyncOptions,
    hooks: &Hooks,
    journal: &mut Journal,
    progress: &(dyn Fn(&str) + Sync),
) -> Result<Applied, SyncError> {
    let down = AtomicBool::new(false);
    let mut out = Applied {
        outcome: Outcome::new(opts.detail),
        hooks: Vec::new(),
        hook_failed: false,
        inventory: BTreeSet::new(),
    };
    // Whether each desired object was applied or found unchanged, by position.
    let mut applied_ids = vec![false; snap.desired.len()];
    let ranges = batch_ranges(&snap);
    let mut hook_waves: Vec<i64> = hooks.waves(HookPhase::Sync).into_iter().collect();
    let post_sync = hooks.has(HookPhase::PostSync);
    let mut wave_start = 0;
    for (n, (wave, range)) in ranges.iter().enumerate() {
        let (wave, range) = (*wave, range.clone());
        if n == 0 || ranges[n - 1].0 != wave {
            wave_start = range.start;
            let earlier: Vec<i64> = hook_waves.iter().copied().filter(|w| *w < wave).collect();
            if !run_sync_hooks(
                cluster,
                hooks,
                &earlier,
                &mut hook_waves,
                opts,
                &mut out,
                progress,
            )
            .await
            {
                return Ok(stopped(&snap, out, applied_ids));
            }
            progress(&format!("phase Sync, wave {wave}"));
        }
        let mut batch = BatchCtx {
            snap: &mut snap,
            changes,
            opts,
            journal,
            progress,
            down: &down,
        };
        batch
            .run(cluster, range.clone(), &mut out.outcome, &mut applied_ids)
            .await?;
        let wave_ends = ranges.get(n + 1).is_none_or(|(w, _)| *w != wave);
        if !wave_ends {
            continue;
        }
        let more = n + 1 < ranges.len() || hook_waves.iter().any(|w| *w >= wave) || post_sync;
        if more {
            wait_wave(cluster, &snap, wave, wave_start..range.end, opts, progress).await?;
        }
        wave_start = range.end;
        let now: Vec<i64> = hook_waves.iter().copied().filter(|w| *w <= wave).collect();
        if !run_sync_hooks(cluster, hooks, &now, &mut hook_waves, opts, &mut out, progress).await {
            return Ok(stopped(&snap, out, applied_ids));
        }
    }
    let rest = hook_waves.clone();
    if !run_sync_hooks(cluster, hooks, &rest, &mut hook_waves, opts, &mut out, progress).await {
        return Ok(stopped(&snap, out, applied_ids));
    }
    Ok(out)
}

/// The outcome of a sync stopped by a failed Sync hook: the inventory is the previous one plus what was applied.
fn stopped(snap: &Snapshot, mut out: Applied, applied_ids: Vec<bool>) -> Applied {
    out.inventory = snap.inventory.ids.clone();
    out.inventory.extend(managed_of(snap, &applied_ids));
    out.hook_failed = true;
    out
}

/// The ids of the objects at the positions set in `positions`, but the namespace added by `--create-namespace`.
fn managed_of<'a>(snap: &'a Snapshot, positions: &'a [bool]) -> impl Iterator<Item = ObjectId> + 'a {
    positions
        .iter()
        .enumerate()
        .filter(|(i, set)| **set && Some(*i) != snap.auto_namespace)
        .map(|(i, _)| snap.desired[i].id.clone())
}

/// Runs the Sync hooks of `waves` (and forgets them from `pending`); `false` when one failed.
async fn run_sync_hooks(
    cluster: &Cluster,
    hooks: &Hooks,
    waves: &[i64],
    pending: &mut Vec<i64>,
    opts: &SyncOptions,
    out: &mut Applied,
    progress: &(dyn Fn(&str) + Sync),
) -> bool {
    if waves.is_empty() {
        return true;
    }
    pending.retain(|w| !waves.contains(w));
    let (runs, failed) = hooks::run(
        cluster,
        hooks,
        HookPhase::Sync,
        Some(waves),
        opts.wave_timeout,
        progress,
    )
    .await;
    out.hooks.extend(runs);
    !failed
}

/// Waits until every object of one wave is healthy.
async fn wait_wave(
    cluster: &Cluster,
    snap: &Snapshot,
    wave: i64,
    range: Range<usize>,
    opts: &SyncOptions,
    progress: &(dyn Fn(&str) + Sync),
) -> Result<(), SyncError> {
    let objects: Vec<(ObjectId, String)> = snap.desired[range]
        .iter()
        .map(|d| (d.id.clone(), d.api_version().to_string()))
        .collect();
    progress(&format!(
        "phase Sync, wave {wave}: waiting until its {} objects are healthy",
        objects.len()
    ));
    match wait_healthy(cluster, &objects, opts.wave_timeout, &|_: &str| {}).await {
        Ok(()) => {
            progress(&format!("phase Sync, wave {wave}: healthy"));
            Ok(())
        }
        Err(SyncError::Wait { message }) => Err(SyncError::WaveUnhealthy {
            wave,
            after: opts.wave_timeout,
            message,
            sync_fail: Vec::new(),
        }),
        Err(e) => Err(e),
    }
}

/// What one batch needs.
struct BatchCtx<'a> {
    snap: &'a mut Snapshot,
    changes: &'a [Change],
    opts: &'a SyncOptions,
    journal: &'a mut Journal,
    progress: &'a (dyn Fn(&str) + Sync),
    down: &'a AtomicBool,
}

impl BatchCtx<'_> {
    /// Applies one batch: records it in the inventory, sends what changes, waits for new CRDs.
    async fn run(
        &mut self,
        cluster: &Cluster,
        range: Range<usize>,
        results: &mut Outcome,
        applied_ids: &mut [bool],
    ) -> Result<(), SyncError> {
        let (changes, opts, progress) = (self.changes, self.opts, self.progress);
        resolve_new_kinds(cluster, self.snap, range.clone()).await?;
        let snap = &*self.snap;
        for i in range.clone().filter(|i| changes[*i] == Change::Unchanged) {
            applied_ids[i] = true;
            results.push(result_of(snap, i, Action::Unchanged));
        }
        let work: Vec<usize> = range
            .clone()
            .filter(|i| changes[*i] != Change::Unchanged)
            .collect();
        if work.is_empty() {
            return Ok(());
        }
        let managed: Vec<&ObjectId> = work
            .iter()
            .filter(|i| Some(**i) != snap.auto_namespace)
            .map(|i| &snap.desired[*i].id)
            .collect();
        self.journal.record(cluster, managed).await?;
        let first = &snap.desired[range.start];
        progress(&format!(
            "wave {}, {}: applying {} objects",
            first.wave,
            first.stage,
            work.len()
        ));
        let down = self.down;
        let mut outcomes: Vec<(usize, Sent)> = stream::iter(work)
            .map(|i| async move { (i, send(cluster, snap, i, changes[i], opts.force, down).await) })
            .buffer_unordered(opts.concurrency.max(1))
            .collect()
            .await;
        outcomes.sort_by_key(|(i, _)| *i);
        let mut tally = Tally::default();
        let mut crds = Vec::new();
        for (i, sent) in outcomes {
            let d = &snap.desired[i];
            match sent {
                Sent::Applied => {
                    progress(&format!(
                        "{} {} from {}",
                        Action::of(changes[i]).as_str(),
                        d.id.human(),
                        d.origin
                    ));
                    applied_ids[i] = true;
                    results.push(result_of(snap, i, Action::of(changes[i])));
                    if d.is_crd() {
                        crds.push(d.id.name.clone());
                    }
                    if d.id.group.is_empty() && d.id.kind == "Namespace" && self.journal.lives_in(&d.id.name)
                    {
                        self.journal.namespace_created();
                    }
                }
                Sent::Refused(line) => tally.refused.push(line),
                Sent::Unconfirmed(cause) => {
                    tally.cause.get_or_insert(cause);
                    tally.unconfirmed.insert(d.id.clone());
                }
                Sent::Withheld => tally.not_sent += 1,
            }
        }
        if !tally.refused.is_empty() || tally.cause.is_some() {
            return Err(failed(cluster, snap, results, applied_ids, tally, self.journal, progress).await);
        }
        // The inventory's namespace may have been created by this batch.
        self.journal.record(cluster, []).await?;
        if !crds.is_empty() {
            for name in &crds {
                cluster.wait_crd_established(name, CRD_TIMEOUT).await?;
            }
            progress(&format!("{} CustomResourceDefinition(s) established", crds.len()));
            cluster.refresh_discovery().await?;
        }
        Ok(())
    }
}

/// The error of a failed batch, after rewriting the inventory as the previous one plus what was or may have been
/// applied (when that write fails too, the inventory recorded before the batch stays: it holds more, not less).
async fn failed(
    cluster: &Cluster,
    snap: &Snapshot,
    results: &Outcome,
    applied_ids: &[bool],
    tally: Tally,
    journal: &mut Journal,
    progress: &(dyn Fn(&str) + Sync),
) -> SyncError {
    let auto_namespace = snap.auto_namespace.map(|i| &snap.desired[i].id);
    let mut inventory = snap.inventory.ids.clone();
    inventory.extend(managed_of(snap, applied_ids));
    inventory.extend(
        tally
            .unconfirmed
            .iter()
            .filter(|id| Some(*id) != auto_namespace)
            .cloned(),
    );
    if let Err(e) = journal.finish(cluster, &inventory).await {
        progress(&format!(
            "inventory: not rewritten ({e}); it still lists every object sent"
        ));
    }
    let applied = results.applied();
    SyncError::Apply {
        failures: tally.refused,
        unreachable: tally.cause,
        unconfirmed: tally.unconfirmed.len(),
        not_sent: tally.not_sent,
        applied,
        inventory,
    }
}

//! Applying, batch after batch (wave, then stage), each batch concurrently (bounded). Every object is recorded
//! in the inventory before it is sent. When the API server stops answering, no further request is sent: the
//! objects sent without an answer stay in the inventory (the server may have saved them), the others are
//! counted as not sent.

use std::collections::BTreeSet;
use std::ops::Range;
use std::sync::atomic::{AtomicBool, Ordering};

use futures::{StreamExt, stream};
use tack_cluster::{ApplyOptions, Cluster, ClusterError, Kind};
use tack_plan::{Change, ObjectId, batches};

use crate::dry_run::failure;
use crate::journal::Journal;
use crate::snapshot::Snapshot;
use crate::sync::{Action, CRD_TIMEOUT, ObjectResult, SyncError, SyncOptions, result_of};

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

/// Sends one object.
async fn send(
    cluster: &Cluster,
    snap: &Snapshot,
    i: usize,
    kind: Option<Kind>,
    force: bool,
    down: &AtomicBool,
) -> Sent {
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
    match cluster
        .apply(
            &kind,
            &d.object,
            ApplyOptions {
                dry_run: false,
                force,
            },
        )
        .await
    {
        Ok(_) => Sent::Applied,
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
    applied: BTreeSet<ObjectId>,
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
            snap.kinds[i] = cluster.resolve(d.api_version(), &d.id.kind).await?;
        }
    }
    Ok(())
}

/// Applies every object that changes, batch after batch; the results of applied and unchanged objects.
pub(crate) async fn apply(
    cluster: &Cluster,
    mut snap: Snapshot,
    changes: &[Change],
    opts: &SyncOptions,
    journal: &mut Journal,
    progress: &(dyn Fn(&str) + Sync),
) -> Result<Vec<ObjectResult>, SyncError> {
    let conc = opts.concurrency.max(1);
    let down = AtomicBool::new(false);
    let mut results = Vec::new();
    let mut applied_ids: BTreeSet<ObjectId> = BTreeSet::new();
    let ranges: Vec<Range<usize>> = batches(&snap.desired)
        .iter()
        .scan(0, |start, b| {
            let r = *start..*start + b.len();
            *start = r.end;
            Some(r)
        })
        .collect();
    for range in ranges {
        resolve_new_kinds(cluster, &mut snap, range.clone()).await?;
        for i in range.clone().filter(|i| changes[*i] == Change::Unchanged) {
            applied_ids.insert(snap.desired[i].id.clone());
            results.push(result_of(&snap, i, Action::Unchanged));
        }
        let work: Vec<usize> = range
            .clone()
            .filter(|i| changes[*i] != Change::Unchanged)
            .collect();
        if work.is_empty() {
            continue;
        }
        let managed: Vec<&ObjectId> = work
            .iter()
            .filter(|i| Some(**i) != snap.auto_namespace)
            .map(|i| &snap.desired[*i].id)
            .collect();
        journal.record(cluster, managed).await?;
        let first = &snap.desired[range.start];
        progress(&format!(
            "wave {}, {}: applying {} objects",
            first.wave,
            first.stage,
            work.len()
        ));
        let mut outcomes: Vec<(usize, Sent)> = stream::iter(work)
            .map(|i| {
                let (snap, down) = (&snap, &down);
                async move {
                    (
                        i,
                        send(cluster, snap, i, snap.kinds[i].clone(), opts.force, down).await,
                    )
                }
            })
            .buffer_unordered(conc)
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
                    applied_ids.insert(d.id.clone());
                    tally.applied.insert(d.id.clone());
                    results.push(result_of(&snap, i, Action::of(changes[i])));
                    if d.is_crd() {
                        crds.push(d.id.name.clone());
                    }
                    if d.id.group.is_empty() && d.id.kind == "Namespace" && journal.lives_in(&d.id.name) {
                        journal.namespace_created();
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
            return Err(failed(cluster, &snap, &results, applied_ids, tally, journal, progress).await);
        }
        // The inventory's namespace may have been created by this batch.
        journal.record(cluster, []).await?;
        if !crds.is_empty() {
            for name in &crds {
                cluster.wait_crd_established(name, CRD_TIMEOUT).await?;
            }
            progress(&format!("{} CustomResourceDefinition(s) established", crds.len()));
            cluster.refresh_discovery().await?;
        }
    }
    Ok(results)
}

/// The error of a failed batch, after rewriting the inventory as the previous one plus what was or may have been
/// applied (when that write fails too, the inventory recorded before the batch stays: it holds more, not less).
async fn failed(
    cluster: &Cluster,
    snap: &Snapshot,
    results: &[ObjectResult],
    applied_ids: BTreeSet<ObjectId>,
    tally: Tally,
    journal: &mut Journal,
    progress: &(dyn Fn(&str) + Sync),
) -> SyncError {
    let managed = snap.managed_ids();
    let mut inventory = snap.inventory.ids.clone();
    inventory.extend(
        applied_ids
            .into_iter()
            .chain(tally.unconfirmed.iter().cloned())
            .filter(|id| managed.contains(id)),
    );
    if let Err(e) = journal.finish(cluster, &inventory).await {
        progress(&format!(
            "inventory: not rewritten ({e}); it still lists every object sent"
        ));
    }
    let applied = results
        .iter()
        .filter(|r| matches!(r.action, Action::Created | Action::Configured))
        .count();
    SyncError::Apply {
        failures: tally.refused,
        unreachable: tally.cause,
        unconfirmed: tally.unconfirmed.len(),
        not_sent: tally.not_sent,
        applied,
        inventory,
    }
}

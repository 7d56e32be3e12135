//! One-shot sync: its options, outcome and errors, and [`sync`], which runs the phases in order.

use std::collections::BTreeSet;
use std::time::Duration;

use tack_cluster::{Cluster, ClusterError, Propagation};
use tack_plan::{ApplyPolicy, Change, IgnoreRule, ObjectId, PlanError, batches, classify, prune_set};
use tack_render::{HookPhase, Manifest, Origin, PackedManifest, pack_all};

use crate::hooks::{HookRun, Hooks};
use crate::inventory::InventoryRef;
use crate::journal::Journal;
use crate::outcome::{Counts, Detail, Outcome};
use crate::snapshot::{Snapshot, check_namespaces, snapshot};
use crate::{dry_run, hooks, prune, waves};

/// How long to wait for a new CustomResourceDefinition to be Established.
pub(crate) const CRD_TIMEOUT: Duration = Duration::from_secs(60);

/// At most this many failed objects are named in an error; the others are counted.
const LISTED_FAILURES: usize = 20;

/// Options of [`sync`].
#[derive(Clone, Debug)]
pub struct SyncOptions {
    /// The application's name (names the inventory ConfigMap).
    pub app: String,
    /// The destination namespace, given to namespaced objects that set none; it holds the inventory.
    pub namespace: String,
    /// Delete objects of the previous inventory that are no longer desired.
    pub prune: bool,
    /// Create the destination namespace when it does not exist.
    pub create_namespace: bool,
    /// Take over fields owned by other field managers.
    pub force: bool,
    /// Plan and server-side dry run only: nothing is written.
    pub dry_run: bool,
    /// Fields left out of comparisons.
    pub ignore: Vec<IgnoreRule>,
    /// Requests in flight at once.
    pub concurrency: usize,
    /// Where the inventory (what prune compares with) is read from and written to.
    pub inventory: InventoryStore,
    /// A confirmed sync: prunes Namespaces, CRDs and objects marked `Prune=confirm`, and more than
    /// `max_prune_share` of the application's objects at once.
    pub confirm: bool,
    /// The share (0.0–1.0) of the application's objects one sync may prune without `confirm` (default 0.5).
    pub max_prune_share: f64,
    /// How pruned objects' dependents are deleted (default background).
    pub propagation: Propagation,
    /// How long each wave may take to become healthy, and each hook to complete (default 5 min).
    pub wave_timeout: Duration,
    /// Replace every object (as `Replace=true` on each).
    pub replace: bool,
    /// Writes the inventory ConfigMaps when set; else the sync's own cluster does. A sync made as an
    /// impersonated ServiceAccount keeps its inventory with the controller's identity.
    pub inventory_writer: Option<Cluster>,
    /// How much per-object detail the report keeps (default: every object).
    pub detail: Detail,
}

/// Where [`sync`] keeps the inventory. When it is kept in ConfigMaps, the sync records every object before it
/// sends it (before each batch) and the final inventory after the prune, so an interrupted sync still knows
/// what it may have created.
#[derive(Clone, Debug, Default, PartialEq)]
pub enum InventoryStore {
    /// The ConfigMap `tack-inventory-<app>` in the destination namespace, read before the sync and written
    /// during and after it (the one-shot `tack sync`).
    #[default]
    ConfigMap,
    /// ConfigMaps at `at`, already read by the caller (`previous`; `in_store` when it was read from `at` rather
    /// than from elsewhere, such as an older status); written during and after the sync (the GitOps controller).
    Stored {
        /// Where the inventory is written.
        at: InventoryRef,
        /// The ids of the previous sync, as the caller read them.
        previous: BTreeSet<ObjectId>,
        /// Whether `previous` was read from `at` (rather than, say, from an older status).
        in_store: bool,
    },
    /// Kept by the caller: these are the ids of the previous sync; the new inventory is returned in
    /// [`SyncReport::inventory`] and nothing is written.
    Caller(BTreeSet<ObjectId>),
}

impl SyncOptions {
    /// Options for syncing `app` into `namespace` with tack's defaults: no prune, no namespace creation,
    /// 16 concurrent requests, the inventory in `tack-inventory-<app>`, at most half of the application pruned
    /// without confirmation, background deletion, 5 minutes for each wave to become healthy.
    pub fn new(app: impl Into<String>, namespace: impl Into<String>) -> Self {
        SyncOptions {
            app: app.into(),
            namespace: namespace.into(),
            prune: false,
            create_namespace: false,
            force: false,
            dry_run: false,
            ignore: Vec::new(),
            concurrency: 16,
            inventory: InventoryStore::ConfigMap,
            confirm: false,
            max_prune_share: 0.5,
            propagation: Propagation::Background,
            wave_timeout: Duration::from_secs(300),
            replace: false,
            inventory_writer: None,
            detail: Detail::Every,
        }
    }

    /// The ConfigMaps the inventory is written to, if any.
    pub(crate) fn inventory_location(&self) -> Option<InventoryRef> {
        match &self.inventory {
            InventoryStore::ConfigMap => Some(InventoryRef::one_shot(&self.app, &self.namespace)),
            InventoryStore::Stored { at, .. } => Some(at.clone()),
            InventoryStore::Caller(_) => None,
        }
    }
}

/// What happened to one object.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Action {
    /// It did not exist and was created (or would be, in a dry run).
    Created,
    /// It existed and was changed (or would be).
    Configured,
    /// It already equalled Git; no request was sent.
    Unchanged,
    /// It left Git and was deleted (or would be).
    Pruned,
    /// It left Git but is annotated `tack.dev/prune: disabled`: kept, and no longer managed.
    Kept,
    /// It left Git; without `--prune` it stays (and stays in the inventory).
    PruneSkipped,
    /// It left Git and may be pruned only by a confirmed sync (a Namespace, a CRD, `Prune=confirm`, or more
    /// than the share of the application one sync may prune): it stays in the inventory.
    PruneHeld,
    /// It left Git but is marked `IgnoreExtraneous`: it stays, and does not make the application OutOfSync.
    Extraneous,
}

impl Action {
    /// Every action.
    pub const ALL: [Action; 8] = [
        Action::Created,
        Action::Configured,
        Action::Unchanged,
        Action::Pruned,
        Action::Kept,
        Action::PruneSkipped,
        Action::PruneHeld,
        Action::Extraneous,
    ];

    /// The position of the action in [`Action::ALL`].
    pub(crate) fn index(self) -> usize {
        self as usize
    }

    /// The action in words, as `tack sync` prints it next to each object.
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Created => "created",
            Action::Configured => "configured",
            Action::Unchanged => "unchanged",
            Action::Pruned => "pruned",
            Action::Kept => "kept (prune disabled)",
            Action::PruneSkipped => "not in Git any more (use --prune to delete)",
            Action::PruneHeld => "held, not pruned (needs a confirmed sync: --prune --confirm)",
            Action::Extraneous => "not in Git any more, ignored (IgnoreExtraneous)",
        }
    }

    pub(crate) fn of(change: Change) -> Action {
        match change {
            Change::Create => Action::Created,
            Change::Configure => Action::Configured,
            Change::Unchanged => Action::Unchanged,
        }
    }
}

/// One object's outcome.
#[derive(Clone, Debug, PartialEq)]
pub struct ObjectResult {
    /// The object.
    pub id: ObjectId,
    /// Its `apiVersion` (`apps/v1`).
    pub api_version: String,
    /// `None` for pruned objects and the namespace created by `--create-namespace`.
    pub origin: Option<Origin>,
    /// What the sync did to it.
    pub action: Action,
}

/// The outcome of a sync.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SyncReport {
    /// Every desired object and every object that left Git, with what happened to each; with
    /// [`Detail::Sample`], only the first objects that changed or left Git ([`crate::SAMPLE`] at most).
    pub results: Vec<ObjectResult>,
    /// How many objects ended with each action (every object, also those `results` leaves out).
    pub counts: Counts,
    /// [`Detail::Sample`]: the id and `apiVersion` of every object in Git.
    pub(crate) objects: Vec<(ObjectId, String)>,
    /// Objects that could not be validated by the dry run because their namespace or CRD is created by this
    /// same sync.
    pub unvalidated: usize,
    /// Whether this was a dry run (nothing written).
    pub dry_run: bool,
    /// The inventory after the sync: every desired object plus what left Git and was not pruned.
    pub inventory: BTreeSet<ObjectId>,
    /// The hooks run, in order.
    pub hooks: Vec<HookRun>,
}

impl SyncReport {
    pub(crate) fn new(outcome: Outcome, inventory: BTreeSet<ObjectId>, hooks: Vec<HookRun>) -> SyncReport {
        SyncReport {
            results: outcome.results,
            counts: outcome.counts,
            objects: outcome.objects,
            unvalidated: 0,
            dry_run: false,
            inventory,
            hooks,
        }
    }

    /// How many objects ended with `action`.
    pub fn count(&self, action: Action) -> usize {
        self.counts.get(action)
    }

    /// The id and `apiVersion` of every object in Git (created, configured or unchanged), in the order they
    /// were synced, whatever the [`Detail`]; taken out of the report.
    pub fn take_objects(&mut self) -> Vec<(ObjectId, String)> {
        if !self.objects.is_empty() {
            return std::mem::take(&mut self.objects);
        }
        self.results
            .iter()
            .filter(|r| matches!(r.action, Action::Created | Action::Configured | Action::Unchanged))
            .map(|r| (r.id.clone(), r.api_version.clone()))
            .collect()
    }

    /// `created 3, configured 1, unchanged 10, pruned 2`, plus the kept and left-over counts when not zero.
    pub fn summary(&self) -> String {
        let mut s = format!(
            "created {}, configured {}, unchanged {}, pruned {}",
            self.count(Action::Created),
            self.count(Action::Configured),
            self.count(Action::Unchanged),
            self.count(Action::Pruned)
        );
        let kept = self.count(Action::Kept);
        if kept > 0 {
            s.push_str(&format!(", kept {kept} (tack.dev/prune: disabled)"));
        }
        let left = self.count(Action::PruneSkipped);
        if left > 0 {
            s.push_str(&format!(", {left} no longer in Git (run with --prune to delete)"));
        }
        let held = self.count(Action::PruneHeld);
        if held > 0 {
            s.push_str(&format!(
                ", {held} held from pruning (confirm with --prune --confirm)"
            ));
        }
        if !self.hooks.is_empty() {
            s.push_str(&format!(", {} hook(s) run", self.hooks.len()));
        }
        s
    }
}

/// Why a sync failed. The messages name each object with its file:line.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SyncError {
    /// The manifests cannot be planned (unknown kind, duplicate object, invalid wave, ...).
    #[error(transparent)]
    Plan(#[from] PlanError),
    /// A request to the API server failed (discovery, reading live objects or the inventory) where no more
    /// specific error applies.
    #[error(transparent)]
    Cluster(#[from] ClusterError),
    /// Namespaces the objects need that neither exist nor are created by the sync.
    #[error(
        "namespace {} does not exist; pass --create-namespace, or add a Namespace manifest",
        .namespaces.join(", ")
    )]
    NamespaceMissing {
        /// The missing namespaces.
        namespaces: Vec<String>,
    },
    /// The server-side dry run refused objects; nothing was applied.
    #[error("the server-side dry run refused {} object(s); nothing was applied:\n{}", .failures.len(), listed(.failures))]
    DryRun {
        /// Each refused object with its file:line and the server's reason.
        failures: Vec<String>,
    },
    /// Applying stopped: the API server refused objects (`failures`), or stopped answering (`unreachable`).
    #[error("{}", apply_message(.failures, .unreachable.as_ref(), *.unconfirmed, *.not_sent, *.applied))]
    Apply {
        /// The objects the API server refused, each with its file:line and the server's reason.
        failures: Vec<String>,
        /// Why the API server could not be reached, when it could not.
        unreachable: Option<String>,
        /// Objects sent without an answer: the server may have saved them (they are in the inventory).
        unconfirmed: usize,
        /// Objects not sent because the API server had stopped answering.
        not_sent: usize,
        /// Objects created or configured before the failure.
        applied: usize,
        /// The inventory after the failure: the previous one plus what was or may have been applied (written to
        /// the ConfigMaps, or for the caller to keep with [`InventoryStore::Caller`]).
        inventory: BTreeSet<ObjectId>,
    },
    /// Pruning failed for some objects: they stay in the cluster and in the inventory.
    #[error("{} object(s) could not be pruned (they stay in the inventory):\n{}", .failures.len(), listed(.failures))]
    Prune {
        /// Each object that could not be deleted, with the API server's reason.
        failures: Vec<String>,
        /// The inventory after the sync, still holding what could not be pruned.
        inventory: BTreeSet<ObjectId>,
    },
    /// The applied objects did not all become Healthy within the wait's timeout.
    #[error("{message}")]
    Wait {
        /// How long it waited and which objects are not healthy, and why.
        message: String,
    },
    /// Hook annotations that are not understood, or hooks that cannot be created.
    #[error("{} hook(s) cannot be run:\n{}", .failures.len(), listed(.failures))]
    HookSpec {
        /// Each hook that cannot be run, with the reason.
        failures: Vec<String>,
    },
    /// A hook failed: the sync stopped there (SyncFail hooks ran).
    #[error("{phase} hook failed; the sync stopped{}:\n{}{}", if *.applied { "" } else { " before applying anything" }, listed(.failures), sync_fail_note(.sync_fail))]
    Hook {
        /// The hook phase (`PreSync`, `Sync`, `PostSync`).
        phase: &'static str,
        /// Each failed hook: kind/name, file:line and the reason.
        failures: Vec<String>,
        /// Whether ordinary objects had been applied before the failure.
        applied: bool,
        /// What the SyncFail hooks did.
        sync_fail: Vec<String>,
    },
    /// A wave did not become healthy in time: later waves were not applied.
    #[error("wave {wave} not healthy after {after:?}; later waves not applied: {message}{}", sync_fail_note(.sync_fail))]
    WaveUnhealthy {
        /// The sync wave that did not become healthy.
        wave: i64,
        /// How long the sync waited for it.
        after: Duration,
        /// The objects that are not healthy and why, as the aggregate health says.
        message: String,
        /// What the SyncFail hooks did.
        sync_fail: Vec<String>,
    },
}

fn sync_fail_note(lines: &[String]) -> String {
    if lines.is_empty() {
        String::new()
    } else {
        format!("\nSyncFail hooks:\n{}", listed(lines))
    }
}

impl SyncError {
    /// Whether the sync failed in a way that runs the SyncFail hooks (a refused or failed sync; not a plan
    /// error, a missing namespace or an unreachable cluster).
    fn runs_sync_fail(&self) -> bool {
        matches!(
            self,
            SyncError::DryRun { .. }
                | SyncError::Apply { .. }
                | SyncError::Prune { .. }
                | SyncError::Hook { .. }
                | SyncError::WaveUnhealthy { .. }
        )
    }

    /// Records what the SyncFail hooks did, where the error has room for it.
    fn with_sync_fail(mut self, lines: Vec<String>) -> SyncError {
        match &mut self {
            SyncError::Hook { sync_fail, .. } | SyncError::WaveUnhealthy { sync_fail, .. } => {
                *sync_fail = lines
            }
            _ => {}
        }
        self
    }
}

/// At most [`LISTED_FAILURES`] lines, indented, then how many more there are.
pub(crate) fn listed(lines: &[String]) -> String {
    let mut out: Vec<String> = lines
        .iter()
        .take(LISTED_FAILURES)
        .map(|l| format!("  {l}"))
        .collect();
    if lines.len() > LISTED_FAILURES {
        out.push(format!("  … and {} more", lines.len() - LISTED_FAILURES));
    }
    out.join("\n")
}

fn apply_message(
    refused: &[String],
    unreachable: Option<&String>,
    unconfirmed: usize,
    not_sent: usize,
    applied: usize,
) -> String {
    let mut parts = Vec::new();
    if let Some(cause) = unreachable {
        parts.push(format!(
            "the API server stopped answering during the sync ({cause}): {applied} object(s) applied, {unconfirmed} \
             sent without an answer (the server may have saved them; they are recorded in the inventory), \
             {not_sent} not sent; run the sync again once the API server is back"
        ));
    }
    if !refused.is_empty() {
        parts.push(format!(
            "{} object(s) refused by the API server ({applied} applied before the failure, later waves not \
             started):\n{}",
            refused.len(),
            listed(refused)
        ));
    }
    parts.join("\n")
}

/// Syncs `manifests` into the cluster (see the crate documentation for the phases). `progress` receives
/// one line per phase and per object changed. Hooks are taken out of the manifests and run at their phase;
/// when the sync fails, the SyncFail hooks run.
pub async fn sync(
    cluster: &Cluster,
    manifests: Vec<Manifest>,
    opts: &SyncOptions,
    progress: &(dyn Fn(&str) + Sync),
) -> Result<SyncReport, SyncError> {
    sync_packed(cluster, pack_all(manifests), opts, progress).await
}

/// [`sync`] of manifests kept compact (see [`tack_render::render_packed`]): a large application that changed
/// little holds little more than its objects' text.
pub async fn sync_packed(
    cluster: &Cluster,
    manifests: Vec<PackedManifest>,
    opts: &SyncOptions,
    progress: &(dyn Fn(&str) + Sync),
) -> Result<SyncReport, SyncError> {
    let (manifests, hooks) = hooks::split(manifests, progress)?;
    let hooks = hooks::resolve(cluster, hooks, &opts.namespace).await?;
    match phases(cluster, manifests, &hooks, opts, progress).await {
        Err(e) if !opts.dry_run && e.runs_sync_fail() && hooks.has(HookPhase::SyncFail) => {
            progress("phase SyncFail: the sync failed; running the SyncFail hooks");
            let (runs, _) = hooks::run(
                cluster,
                &hooks,
                HookPhase::SyncFail,
                None,
                opts.wave_timeout,
                progress,
            )
            .await;
            Err(e.with_sync_fail(runs.iter().map(HookRun::line).collect()))
        }
        other => other,
    }
}

/// The phases of a sync: plan, dry run, PreSync hooks, waves (with Sync hooks), prune, PostSync hooks.
async fn phases(
    cluster: &Cluster,
    manifests: Vec<PackedManifest>,
    hooks: &Hooks,
    opts: &SyncOptions,
    progress: &(dyn Fn(&str) + Sync),
) -> Result<SyncReport, SyncError> {
    let (snap, changes) = plan(cluster, manifests, opts, progress).await?;
    let unvalidated = dry_run::validate(cluster, &snap, &changes, opts, progress).await?;
    let desired_ids = snap.managed_ids();
    let candidates = prune_set(&snap.inventory.ids, &desired_ids);
    let previous_count = snap.inventory.ids.len();
    if opts.dry_run {
        for line in hooks::planned(hooks) {
            progress(&line);
        }
        return dry_run::report(
            cluster,
            &snap,
            &changes,
            candidates,
            opts,
            previous_count,
            unvalidated,
        )
        .await;
    }
    let mut runs = Vec::new();
    if hooks.has(HookPhase::PreSync) {
        progress("phase PreSync");
        let (pre, failed) = hooks::run(
            cluster,
            hooks,
            HookPhase::PreSync,
            None,
            opts.wave_timeout,
            progress,
        )
        .await;
        hook_outcome(HookPhase::PreSync, pre, failed, false, &mut runs)?;
    }
    progress("phase Sync");
    let in_store = !matches!(opts.inventory, InventoryStore::Stored { in_store: false, .. });
    let location = opts.inventory_location();
    let ready = location
        .as_ref()
        .is_some_and(|at| !snap.missing_namespaces.contains(&at.namespace));
    let mut journal = Journal::new(location, snap.inventory.ids.clone(), in_store, ready)
        .written_by(opts.inventory_writer.clone());
    let applied = waves::apply(cluster, snap, &changes, opts, hooks, &mut journal, progress).await?;
    let mut outcome = applied.outcome;
    let sync_failed = hook_outcome(
        HookPhase::Sync,
        applied.hooks,
        applied.hook_failed,
        true,
        &mut runs,
    );
    if let Err(e) = sync_failed {
        journal.finish(cluster, &applied.inventory).await?;
        return Err(e);
    }
    let pruned = prune::run(cluster, candidates, opts, previous_count, progress).await;
    let mut inventory = desired_ids;
    inventory.extend(pruned.kept);
    journal.finish(cluster, &inventory).await?;
    outcome.extend(pruned.results);
    if !pruned.failures.is_empty() {
        return Err(SyncError::Prune {
            failures: pruned.failures,
            inventory,
        });
    }
    if hooks.has(HookPhase::PostSync) {
        progress("phase PostSync");
        let (post, failed) = hooks::run(
            cluster,
            hooks,
            HookPhase::PostSync,
            None,
            opts.wave_timeout,
            progress,
        )
        .await;
        hook_outcome(HookPhase::PostSync, post, failed, true, &mut runs)?;
    }
    Ok(SyncReport {
        unvalidated,
        ..SyncReport::new(outcome, inventory, runs)
    })
}

/// The plan of a sync: the snapshot of what Git wants and what the cluster holds (namespaces checked, per-object
/// options applied), and what each object needs (create, configure, unchanged, by the sync policies); the live
/// objects are let go once compared, so a large application does not keep two copies while it applies.
async fn plan(
    cluster: &Cluster,
    manifests: Vec<PackedManifest>,
    opts: &SyncOptions,
    progress: &(dyn Fn(&str) + Sync),
) -> Result<(Snapshot, Vec<Change>), SyncError> {
    let conc = opts.concurrency.max(1);
    let mut snap = snapshot(
        cluster,
        manifests,
        &opts.namespace,
        Some((&opts.app, opts.inventory.clone())),
        opts.create_namespace,
        conc,
        &opts.ignore,
    )
    .await?;
    check_namespaces(&snap, &opts.namespace, opts.dry_run)?;
    for d in snap.desired.iter_mut() {
        d.options.replace |= opts.replace;
        for w in d.options.warnings(&d.describe()) {
            progress(&w);
        }
    }
    let mut changes = classify(&snap.desired, &snap.live, &opts.ignore);
    // Objects found equal to Git were not kept (classify saw them as absent).
    for (i, c) in changes.iter_mut().enumerate() {
        if snap.is_unchanged(i) {
            *c = Change::Unchanged;
        }
    }
    apply_policies(&snap, &mut changes);
    snap.live = std::collections::HashMap::new();
    let count = |c: Change| changes.iter().filter(|x| **x == c).count();
    progress(&format!(
        "plan: {} objects in {} batches; {} to create, {} to configure, {} unchanged",
        snap.desired.len(),
        batches(&snap.desired).len(),
        count(Change::Create),
        count(Change::Configure),
        count(Change::Unchanged),
    ));
    Ok((snap, changes))
}

/// Keeps the hooks run; the error of a phase whose hook failed.
fn hook_outcome(
    phase: HookPhase,
    done: Vec<HookRun>,
    failed: bool,
    applied: bool,
    runs: &mut Vec<HookRun>,
) -> Result<(), SyncError> {
    let failures: Vec<String> = done
        .iter()
        .filter(|r| r.failure.is_some())
        .map(HookRun::line)
        .collect();
    runs.extend(done);
    if failed {
        return Err(SyncError::Hook {
            phase: phase.as_str(),
            failures,
            applied,
            sync_fail: Vec::new(),
        });
    }
    Ok(())
}

/// Flux's `ssa` policies: `Ignore` objects are never sent, `IfNotPresent` objects only when absent.
fn apply_policies(snap: &Snapshot, changes: &mut [Change]) {
    for (d, c) in snap.desired.iter().zip(changes.iter_mut()) {
        match d.options.apply {
            ApplyPolicy::Ignore => *c = Change::Unchanged,
            ApplyPolicy::IfNotPresent if *c == Change::Configure => *c = Change::Unchanged,
            _ => {}
        }
    }
}

/// The result of `desired[i]` with `action`.
pub(crate) fn result_of(snap: &Snapshot, i: usize, action: Action) -> ObjectResult {
    let d = &snap.desired[i];
    ObjectResult {
        id: d.id.clone(),
        api_version: d.api_version().to_string(),
        origin: (Some(i) != snap.auto_namespace).then(|| d.origin.clone()),
        action,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unreachable_server_is_one_summary_not_a_line_per_object() {
        let text = apply_message(&[], Some(&"client error (SendRequest)".to_string()), 489, 0, 513);
        assert_eq!(text.lines().count(), 1, "{text}");
        assert!(
            text.contains("513 object(s) applied, 489 sent without an answer"),
            "{text}"
        );
        assert!(!text.contains("could not be applied"), "{text}");
    }

    #[test]
    fn refusals_are_listed_up_to_a_limit() {
        let refused: Vec<String> = (0..25).map(|i| format!("cm.yaml:{i}: bad")).collect();
        let text = apply_message(&refused, None, 0, 0, 3);
        assert!(
            text.starts_with("25 object(s) refused by the API server (3 applied"),
            "{text}"
        );
        assert!(
            text.contains("cm.yaml:19: bad") && !text.contains("cm.yaml:20: bad"),
            "{text}"
        );
        assert!(text.ends_with("… and 5 more"), "{text}");
    }
}

//! One-shot sync and live diff, driving [`tack_cluster`] with the pure decisions of [`tack_plan`].
//!
//! [`sync`] runs in phases, each its own module: `hooks` (hooks taken out of the manifests) → `snapshot` (plan:
//! namespaces, waves, stages; read the live objects and the inventory; check that every namespace exists or is
//! created) → [`tack_plan::classify`] (unchanged objects are skipped) → `dry_run` (server-side dry run of
//! everything that would change: nothing is written if any object is refused) → PreSync hooks → `waves` (apply
//! batch after batch, each batch concurrently and bounded, every object recorded in the inventory before it is
//! sent; new CRDs Established before their custom resources; each wave healthy before the next; Sync hooks after
//! their wave) → `prune` (delete what left Git, highest wave first; Namespaces, CRDs and large prunes held until
//! confirmed) → PostSync hooks; SyncFail hooks when it fails → the final inventory (`journal`), in ConfigMaps (`inventory`: the one-shot
//! `tack-inventory-<app>`, or where the controller says with [`InventoryStore::Stored`]) or returned to the
//! caller with [`InventoryStore::Caller`].
//! [`diff`]: the same reading and comparison, printing masked unified diffs.
//! [`assess_objects`]: the health of applied objects from one read of their live state; [`wait_healthy`] polls it
//! until tack-health calls them all Healthy.

#![warn(missing_docs)]

mod diff;
mod dry_run;
mod hooks;
mod inventory;
mod journal;
mod live;
mod outcome;
mod prune;
mod snapshot;
mod sync;
mod wait;
mod waves;

pub use diff::{DiffEntry, DiffOptions, DiffReport, WHOLE_OBJECT, diff, diff_packed, diff_with_inventory};
pub use hooks::{HookRun, without_hooks, without_hooks_packed};
pub use inventory::{
    CHUNK_BYTES, CHUNKS_KEY, INVENTORY_KEY, Inventory, InventoryRef, delete_at, delete_inventory,
    inventory_name, read_at, read_inventory, write_at,
};
pub use live::read_live;
pub use outcome::{Counts, Detail, SAMPLE};
pub use sync::{Action, InventoryStore, ObjectResult, SyncError, SyncOptions, SyncReport, sync, sync_packed};
pub use tack_cluster::Propagation;
pub use wait::{assess_objects, wait_healthy};

#[cfg(test)]
mod tests {
    /// The futures of `sync`, `diff` and `wait_healthy` are `Send`, so controllers can spawn them.
    #[allow(dead_code, clippy::let_underscore_future)]
    fn futures_are_send(cluster: &tack_cluster::Cluster) {
        fn assert_send<T: Send>(_: T) {}
        let progress = |_: &str| {};
        assert_send(crate::sync(
            cluster,
            Vec::new(),
            &crate::SyncOptions::new("a", "b"),
            &progress,
        ));
        assert_send(crate::diff(cluster, Vec::new(), &crate::DiffOptions::default()));
        assert_send(crate::wait_healthy(
            cluster,
            &[],
            std::time::Duration::from_secs(1),
            &progress,
        ));
    }
}

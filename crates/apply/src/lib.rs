//! One-shot sync and live diff, driving [`tack_cluster`] with the pure decisions of [`tack_plan`].
//!
//! [`sync`]: plan (namespaces, waves, stages) → read the live objects and the inventory → skip unchanged
//! objects → server-side dry run of everything that would change (nothing is written if any object is
//! refused) → apply batch after batch, each batch concurrently (bounded) → wait for new CRDs to be
//! Established before their custom resources → prune what left Git → write the inventory (the ConfigMap of a
//! one-shot sync, or returned to the caller with [`InventoryStore::Caller`]).
//! [`diff`]: the same reading and comparison, printing masked unified diffs.
//! [`wait_healthy`]: polls the applied objects until tack-health calls them all Healthy.

mod inventory;
mod live;
mod sync;
mod wait;

pub use inventory::{INVENTORY_KEY, Inventory, delete_inventory, inventory_name, read_inventory};
pub use sync::{
    Action, DiffEntry, DiffOptions, DiffReport, InventoryStore, ObjectResult, SyncError, SyncOptions,
    SyncReport, diff, diff_with_inventory, sync,
};
pub use wait::wait_healthy;

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

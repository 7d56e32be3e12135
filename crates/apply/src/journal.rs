//! The inventory while a sync runs: every object is recorded before it is sent, so that a sync interrupted at
//! any point (the API server gone, the process killed) leaves an inventory holding whatever it may have created,
//! and a later sync still prunes it.

use std::collections::BTreeSet;

use tack_cluster::{Cluster, ClusterError};
use tack_plan::ObjectId;

use crate::inventory::{InventoryRef, write_at};

pub(crate) struct Journal {
    /// Where the inventory is written (`None`: kept by the caller, never written).
    at: Option<InventoryRef>,
    /// The previous inventory plus every object recorded since.
    recorded: BTreeSet<ObjectId>,
    /// Whether the ConfigMaps hold exactly `recorded` (a flag, not a second copy of a large inventory).
    stored: bool,
    /// Whether the inventory's namespace exists (it may be created by the sync's first batch).
    ready: bool,
    /// Who writes the inventory when not the sync's own identity ([`crate::SyncOptions::inventory_writer`]).
    writer: Option<Cluster>,
}

impl Journal {
    /// `previous`: the inventory before the sync; `in_store`: whether the ConfigMaps hold it already.
    pub fn new(
        at: Option<InventoryRef>,
        previous: BTreeSet<ObjectId>,
        in_store: bool,
        ready: bool,
    ) -> Journal {
        Journal {
            at,
            stored: in_store,
            recorded: previous,
            ready,
            writer: None,
        }
    }

    /// The inventory is written through `writer` (the controller's identity while the sync impersonates).
    pub fn written_by(mut self, writer: Option<Cluster>) -> Journal {
        self.writer = writer;
        self
    }

    /// The namespace of the inventory exists now.
    pub fn namespace_created(&mut self) {
        self.ready = true;
    }

    /// Whether `namespace` holds the inventory.
    pub fn lives_in(&self, namespace: &str) -> bool {
        self.at.as_ref().is_some_and(|at| at.namespace == namespace)
    }

    /// Records `ids` before they are sent; written only when something is new.
    pub async fn record<'a>(
        &mut self,
        cluster: &Cluster,
        ids: impl IntoIterator<Item = &'a ObjectId>,
    ) -> Result<(), ClusterError> {
        let before = self.recorded.len();
        self.recorded.extend(ids.into_iter().cloned());
        if self.recorded.len() != before {
            self.stored = false;
        }
        if self.stored {
            return Ok(());
        }
        self.write(cluster).await
    }

    /// Writes what is recorded, when the namespace exists.
    async fn write(&mut self, cluster: &Cluster) -> Result<(), ClusterError> {
        let Some(at) = &self.at else {
            return Ok(());
        };
        if !self.ready {
            return Ok(());
        }
        write_at(self.writer.as_ref().unwrap_or(cluster), at, &self.recorded).await?;
        self.stored = true;
        Ok(())
    }

    /// Replaces the inventory with `ids`: at the end of a sync, or after a failure once it is known what was not
    /// applied. The journal is spent afterwards: what it recorded is let go (not copied from `ids`).
    pub async fn finish(&mut self, cluster: &Cluster, ids: &BTreeSet<ObjectId>) -> Result<(), ClusterError> {
        if self.stored && self.recorded == *ids {
            return Ok(());
        }
        self.recorded = BTreeSet::new();
        self.stored = false;
        match &self.at {
            Some(at) if self.ready => write_at(self.writer.as_ref().unwrap_or(cluster), at, ids).await,
            _ => Ok(()),
        }
    }
}

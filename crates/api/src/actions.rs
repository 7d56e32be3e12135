//! What each application action writes to its GitOpsConfig: one meaning, used by the CLI (`tack app …`) and by
//! the HTTP API alike. Pure: patches are built here and sent by the caller.

use serde_json::{Value, json};
use tack_model::{GitOpsConfigStatus, HistoryEntry, SyncResult};

/// An action that cannot be done as asked.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ActionError {
    /// No history entry with this id.
    #[error("no history entry {0}; see `tack app history`")]
    NoEntry(i64),
    /// The entry asked for recorded a failed sync.
    #[error("history entry {id} ({revision}) failed; roll back to a successful sync")]
    Failed {
        /// The entry.
        id: i64,
        /// Its revision.
        revision: String,
    },
    /// Nothing earlier to roll back to.
    #[error("no earlier successful sync of another revision to roll back to; see `tack app history`")]
    NothingEarlier,
}

/// The value of the sync annotation: the time of the request, `,prune` to also prune, `,confirm` to also
/// delete what pruning holds for confirmation.
pub fn sync_value(now: &str, prune: bool, confirm: bool) -> String {
    match (prune, confirm) {
        (true, true) => format!("{now},prune,confirm"),
        (true, false) => format!("{now},prune"),
        _ => now.to_string(),
    }
}

/// Sync now: the controller applies Git once, even without automated sync.
pub fn sync(now: &str, prune: bool, confirm: bool) -> Value {
    json!({"metadata": {"annotations": {tack_gitops::SYNC_ANNOTATION: sync_value(now, prune, confirm)}}})
}

/// Refresh now: the controller fetches and compares at once instead of at its next interval.
pub fn refresh(now: &str) -> Value {
    json!({"metadata": {"annotations": {tack_gitops::REFRESH_ANNOTATION: now}}})
}

/// Suspend (the controller leaves the application alone) or resume (which also ends a rollback).
pub fn suspend(suspend: bool) -> Value {
    if suspend {
        json!({"spec": {"suspend": true}})
    } else {
        json!({"spec": {"suspend": false, "rollback": null}})
    }
}

/// Pin the revision of a history entry (automated sync stays suspended until resume).
pub fn rollback(entry: &HistoryEntry) -> Value {
    json!({"spec": {"rollback": {"revision": entry.revision, "historyId": entry.id}}})
}

/// The history entry a rollback goes back to: entry `id`, or by default the newest successful sync of another
/// revision than the one synced now.
pub fn rollback_target(status: &GitOpsConfigStatus, id: Option<i64>) -> Result<HistoryEntry, ActionError> {
    if let Some(id) = id {
        let entry = status
            .history
            .iter()
            .find(|h| h.id == id)
            .ok_or(ActionError::NoEntry(id))?;
        if entry.result != SyncResult::Succeeded {
            return Err(ActionError::Failed {
                id,
                revision: entry.revision.clone(),
            });
        }
        return Ok(entry.clone());
    }
    let current = status.sync.as_ref().and_then(|s| s.revision.as_deref());
    status
        .history
        .iter()
        .rev()
        .find(|h| h.result == SyncResult::Succeeded && Some(h.revision.as_str()) != current)
        .cloned()
        .ok_or(ActionError::NothingEarlier)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use tack_model::{SyncState, SyncStatus};

    fn entry(id: i64, revision: &str, result: SyncResult) -> HistoryEntry {
        HistoryEntry {
            id,
            revision: revision.into(),
            time: "2026-12-05T10:00:00Z".into(),
            result,
        }
    }

    #[test]
    fn sync_values() {
        assert_eq!(sync_value("T", false, false), "T");
        assert_eq!(sync_value("T", true, false), "T,prune");
        assert_eq!(sync_value("T", true, true), "T,prune,confirm");
        assert_eq!(
            sync("T", true, false)["metadata"]["annotations"]["tack.dev/sync-requested-at"],
            "T,prune"
        );
    }

    #[test]
    fn rollback_targets() {
        let status = GitOpsConfigStatus {
            sync: Some(SyncStatus {
                status: SyncState::Synced,
                revision: Some("c".into()),
            }),
            history: vec![
                entry(1, "a", SyncResult::Succeeded),
                entry(2, "b", SyncResult::Failed),
                entry(3, "c", SyncResult::Succeeded),
            ],
            ..Default::default()
        };
        assert_eq!(rollback_target(&status, None).map(|e| e.id), Ok(1));
        assert_eq!(rollback_target(&status, Some(3)).map(|e| e.id), Ok(3));
        assert_eq!(
            rollback_target(&status, Some(2)),
            Err(ActionError::Failed {
                id: 2,
                revision: "b".into()
            })
        );
        assert_eq!(rollback_target(&status, Some(9)), Err(ActionError::NoEntry(9)));
        let only_current = GitOpsConfigStatus {
            history: vec![entry(3, "c", SyncResult::Succeeded)],
            ..status
        };
        assert_eq!(
            rollback_target(&only_current, None),
            Err(ActionError::NothingEarlier)
        );
        assert_eq!(
            rollback(&entry(1, "a", SyncResult::Succeeded))["spec"]["rollback"],
            json!({"revision": "a", "historyId": 1})
        );
    }
}

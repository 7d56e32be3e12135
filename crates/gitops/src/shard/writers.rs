//! Which controller wrote an application's status: each writes `status` with its own field manager, so that
//! `metadata.managedFields` of a GitOpsConfig names the replica that reconciled it last, and when.
//!
//! The manager is `tack-controller/<identity>` for a member of an automatic shard group,
//! `tack-controller/shard-<index>` for a static shard, and `tack-controller` otherwise ([`status_manager`]).
//! Only the status subresource is written so: the objects an application manages are still applied with the one
//! field manager `tack`, so a new owner applying them after a handover neither conflicts with the previous owner
//! nor counts as drift.
//!
//! Server-side apply removes a field only when its last owner applies without it, and applying a field with the
//! value another manager set shares it rather than taking it: after a handover, the fields of the previous
//! writer (another `tack-controller…` manager, e.g. the `health.message` of a replica that died) would stay for
//! ever. So when a status write finds fields still owned by another tack status manager ([`other_writers`]), the
//! writer takes the status over ([`take_over`]): it replaces the status as a whole (an update: what it does not
//! set is removed), then removes the other tack status managers' entries from `metadata.managedFields` (a merge
//! patch of the main resource, conditional on its `resourceVersion`). Two writes, once per application and handover.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::ManagedFieldsEntry;
use kube::ResourceExt;
use kube::api::{Api, Patch, PatchParams, PostParams};
use tack_model::{GitOpsConfig, GitOpsConfigStatus};

use crate::STATUS_MANAGER;

/// The longest field manager name the API server accepts.
const MAX_MANAGER: usize = 128;

/// The field manager of status writes by replica `identity` of an automatic shard group:
/// `tack-controller/<identity>`, cut to the API server's 128 characters.
pub fn status_manager(identity: &str) -> String {
    let mut name = format!("{STATUS_MANAGER}/{identity}");
    if name.len() > MAX_MANAGER {
        let mut end = MAX_MANAGER;
        while !name.is_char_boundary(end) {
            end -= 1;
        }
        name.truncate(end);
    }
    name
}

/// The field manager of status writes by static shard `index`: `tack-controller/shard-<index>`.
pub fn static_shard_manager(index: u32) -> String {
    format!("{STATUS_MANAGER}/shard-{index}")
}

/// Whether `manager` is one of tack's status managers (`tack-controller` or `tack-controller/…`).
pub fn is_status_manager(manager: &str) -> bool {
    manager == STATUS_MANAGER
        || manager
            .strip_prefix(STATUS_MANAGER)
            .is_some_and(|rest| rest.starts_with('/'))
}

fn status_entries(managed: &[ManagedFieldsEntry]) -> impl Iterator<Item = &ManagedFieldsEntry> {
    managed.iter().filter(|m| {
        m.subresource.as_deref() == Some("status") && m.manager.as_deref().is_some_and(is_status_manager)
    })
}

/// The tack status managers other than `mine` that still own fields of the status, each once.
pub fn other_writers(managed: &[ManagedFieldsEntry], mine: &str) -> Vec<String> {
    let mut others: Vec<String> = status_entries(managed)
        .filter(|m| m.manager.as_deref() != Some(mine))
        .filter(|m| {
            m.fields_v1
                .as_ref()
                .is_some_and(|f| f.0.as_object().is_some_and(|o| !o.is_empty()))
        })
        .filter_map(|m| m.manager.clone())
        .collect();
    others.sort();
    others.dedup();
    others
}

/// `managed` without the status entries of tack status managers other than `mine`.
pub fn without_other_writers(managed: &[ManagedFieldsEntry], mine: &str) -> Vec<ManagedFieldsEntry> {
    managed
        .iter()
        .filter(|m| {
            m.subresource.as_deref() != Some("status")
                || m.manager.as_deref() == Some(mine)
                || !m.manager.as_deref().is_some_and(is_status_manager)
        })
        .cloned()
        .collect()
}

/// Makes `manager` the only tack writer of the status of `written` (the application as its last status write
/// returned it, with fields of other tack writers): the status replaced by `status` as a whole, then the other
/// writers' entries removed from `metadata.managedFields`.
pub async fn take_over(
    api: &Api<GitOpsConfig>,
    written: &GitOpsConfig,
    status: &GitOpsConfigStatus,
    manager: &str,
) -> Result<(), kube::Error> {
    let name = written.name_any();
    let mut replaced = written.clone();
    replaced.status = Some(status.clone());
    let params = PostParams {
        field_manager: Some(manager.to_string()),
        ..PostParams::default()
    };
    let after = api.replace_status(&name, &params, &replaced).await?;
    let kept = without_other_writers(after.managed_fields(), manager);
    // An empty list would leave managedFields as they are. With the resourceVersion, a concurrent write fails
    // this patch (409): the next status write tries again.
    if kept.is_empty() || kept.len() == after.managed_fields().len() {
        return Ok(());
    }
    let patch = serde_json::json!({
        "metadata": {"resourceVersion": after.resource_version(), "managedFields": kept},
    });
    api.patch(&name, &PatchParams::default(), &Patch::Merge(&patch))
        .await?;
    Ok(())
}

/// The tack status manager that last changed the status, with the time the API server recorded (whole
/// seconds, RFC 3339): the latest `time` of the status entries; of equal times, the one listed last.
pub fn last_writer(managed: &[ManagedFieldsEntry]) -> Option<(String, String)> {
    status_entries(managed)
        .filter_map(|m| Some((m.manager.clone()?, m.time.as_ref()?.0)))
        .fold(
            None::<(String, k8s_openapi::jiff::Timestamp)>,
            |best, (manager, time)| match best {
                Some((_, t)) if t > time => best,
                _ => Some((manager, time)),
            },
        )
        .map(|(manager, time)| (manager, time.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entries(json: serde_json::Value) -> Vec<ManagedFieldsEntry> {
        serde_json::from_value(json).expect("managedFields")
    }

    #[test]
    fn managers_name_the_replica_and_fit_the_api_servers_limit() {
        assert_eq!(
            status_manager("tack-7d9f-abcde"),
            "tack-controller/tack-7d9f-abcde"
        );
        assert_eq!(static_shard_manager(2), "tack-controller/shard-2");
        let long = status_manager(&"é".repeat(100));
        assert!(
            long.len() <= 128 && long.starts_with("tack-controller/é"),
            "{long}"
        );
        assert!(is_status_manager("tack-controller"));
        assert!(is_status_manager("tack-controller/a"));
        assert!(!is_status_manager("tack-controllers"));
        assert!(!is_status_manager("tack"));
    }

    /// managedFields as the API server writes them (shape of `kubectl get -o yaml --show-managed-fields`).
    fn sample() -> Vec<ManagedFieldsEntry> {
        entries(serde_json::json!([
            {"manager": "tack-test", "operation": "Apply", "apiVersion": "gitops.tack.dev/v1alpha1",
             "time": "2026-01-01T00:00:30Z", "fieldsType": "FieldsV1", "fieldsV1": {"f:spec": {}}},
            {"manager": "tack-controller/tack-b", "operation": "Apply", "apiVersion": "gitops.tack.dev/v1alpha1",
             "time": "2026-01-01T00:00:10Z", "fieldsType": "FieldsV1", "subresource": "status",
             "fieldsV1": {"f:status": {"f:health": {"f:message": {}}}}},
            {"manager": "tack-controller/tack-a", "operation": "Apply", "apiVersion": "gitops.tack.dev/v1alpha1",
             "time": "2026-01-01T00:00:20Z", "fieldsType": "FieldsV1", "subresource": "status",
             "fieldsV1": {"f:status": {"f:sync": {}}}},
            {"manager": "kubectl-edit", "operation": "Update", "apiVersion": "gitops.tack.dev/v1alpha1",
             "time": "2026-01-01T00:00:40Z", "fieldsType": "FieldsV1", "subresource": "status",
             "fieldsV1": {"f:status": {"f:x": {}}}},
        ]))
    }

    #[test]
    fn the_last_writer_is_the_latest_tack_status_entry() {
        assert_eq!(
            last_writer(&sample()),
            Some(("tack-controller/tack-a".into(), "2026-01-01T00:00:20Z".into()))
        );
        assert_eq!(last_writer(&[]), None);
    }

    #[test]
    fn fields_left_by_another_tack_writer_are_found() {
        assert_eq!(
            other_writers(&sample(), "tack-controller/tack-a"),
            vec!["tack-controller/tack-b".to_string()]
        );
        // The single manager of before sharding counts too, once for its Apply and Update entries; an entry
        // that owns nothing does not.
        let old = entries(serde_json::json!([
            {"manager": "tack-controller", "operation": "Apply", "subresource": "status",
             "fieldsType": "FieldsV1", "fieldsV1": {"f:status": {}}},
            {"manager": "tack-controller", "operation": "Update", "subresource": "status",
             "fieldsType": "FieldsV1", "fieldsV1": {"f:status": {"f:lastOperation": {}}}},
            {"manager": "tack-controller/tack-c", "operation": "Apply", "subresource": "status",
             "fieldsType": "FieldsV1", "fieldsV1": {}},
        ]));
        assert_eq!(
            other_writers(&old, "tack-controller/tack-a"),
            vec!["tack-controller".to_string()]
        );
        assert!(other_writers(&old, "tack-controller").is_empty());
    }

    #[test]
    fn only_the_other_tack_status_entries_are_dropped() {
        let kept = without_other_writers(&sample(), "tack-controller/tack-a");
        let managers: Vec<&str> = kept.iter().filter_map(|m| m.manager.as_deref()).collect();
        assert_eq!(managers, ["tack-test", "tack-controller/tack-a", "kubectl-edit"]);
    }
}

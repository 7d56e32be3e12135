//! Which completed AnalysisRuns of a Rollout are deleted, as Argo Rollouts keeps them: runs of ReplicaSets that
//! no longer exist go, then the newest `successfulRunHistoryLimit` Successful runs and the newest
//! `unsuccessfulRunHistoryLimit` Failed, Error or Inconclusive runs are kept. Runs still in progress and the
//! runs the Rollout's status refers to are never deleted.

use std::collections::BTreeSet;

use jiff::Timestamp;

use crate::spec::AnalysisRunHistory;

/// Argo's default for both limits.
pub const DEFAULT_RUN_HISTORY_LIMIT: usize = 5;

/// What the history needs to know of one AnalysisRun.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunRecord {
    /// The AnalysisRun's name.
    pub name: String,
    /// Its `rollouts-pod-template-hash` label (empty when missing).
    pub pod_template_hash: String,
    /// `status.phase` (empty while pending).
    pub phase: String,
    /// Its `metadata.creationTimestamp`.
    pub created: Option<Timestamp>,
}

fn limit(value: Option<i32>) -> usize {
    value.map_or(DEFAULT_RUN_HISTORY_LIMIT, |v| usize::try_from(v).unwrap_or(0))
}

/// The names of the runs to delete. `current` are the runs the Rollout's status refers to; `hashes` the
/// pod-template hashes of the Rollout's ReplicaSets that still exist.
pub fn runs_to_delete(
    runs: &[RunRecord],
    current: &BTreeSet<String>,
    hashes: &BTreeSet<String>,
    history: Option<&AnalysisRunHistory>,
) -> Vec<String> {
    let successful_limit = limit(history.and_then(|h| h.successful_run_history_limit));
    let unsuccessful_limit = limit(history.and_then(|h| h.unsuccessful_run_history_limit));
    let mut completed: Vec<&RunRecord> = runs
        .iter()
        .filter(|r| !current.contains(&r.name))
        .filter(|r| {
            matches!(
                r.phase.as_str(),
                "Successful" | "Failed" | "Error" | "Inconclusive"
            )
        })
        .collect();
    // Newest first; the name breaks ties so the choice is stable.
    completed.sort_by(|a, b| b.created.cmp(&a.created).then_with(|| b.name.cmp(&a.name)));
    let (mut successful, mut unsuccessful) = (0usize, 0usize);
    let mut out = Vec::new();
    for r in completed {
        if !hashes.contains(&r.pod_template_hash) {
            out.push(r.name.clone());
            continue;
        }
        let (kept, limit) = if r.phase == "Successful" {
            (&mut successful, successful_limit)
        } else {
            (&mut unsuccessful, unsuccessful_limit)
        };
        if *kept < limit {
            *kept += 1;
        } else {
            out.push(r.name.clone());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(name: &str, hash: &str, phase: &str, minute: i64) -> RunRecord {
        RunRecord {
            name: name.into(),
            pod_template_hash: hash.into(),
            phase: phase.into(),
            created: Some(Timestamp::from_second(1_800_000_000 + minute * 60).expect("time")),
        }
    }

    fn set(items: &[&str]) -> BTreeSet<String> {
        items.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn the_newest_of_each_outcome_are_kept() {
        let runs: Vec<RunRecord> = (0..8)
            .map(|i| run(&format!("ok-{i}"), "h1", "Successful", i))
            .chain((0..3).map(|i| {
                run(
                    &format!("bad-{i}"),
                    "h1",
                    if i == 0 { "Error" } else { "Failed" },
                    i,
                )
            }))
            .collect();
        let history = AnalysisRunHistory {
            successful_run_history_limit: Some(2),
            unsuccessful_run_history_limit: Some(1),
        };
        let mut gone = runs_to_delete(&runs, &set(&[]), &set(&["h1"]), Some(&history));
        gone.sort();
        assert_eq!(
            gone,
            ["bad-0", "bad-1", "ok-0", "ok-1", "ok-2", "ok-3", "ok-4", "ok-5"]
        );
    }

    #[test]
    fn defaults_keep_five_and_five() {
        let runs: Vec<RunRecord> = (0..7)
            .map(|i| run(&format!("ok-{i}"), "h1", "Successful", i))
            .chain((0..7).map(|i| run(&format!("bad-{i}"), "h1", "Inconclusive", i)))
            .collect();
        let mut gone = runs_to_delete(&runs, &set(&[]), &set(&["h1"]), None);
        gone.sort();
        assert_eq!(gone, ["bad-0", "bad-1", "ok-0", "ok-1"]);
    }

    #[test]
    fn running_current_and_orphaned_runs() {
        let runs = vec![
            run("running", "h1", "Running", 0),
            run("pending", "h1", "", 0),
            run("current", "h1", "Successful", 0),
            run("orphan", "gone", "Successful", 9),
            run("kept", "h1", "Successful", 1),
        ];
        let history = AnalysisRunHistory {
            successful_run_history_limit: Some(0),
            unsuccessful_run_history_limit: Some(0),
        };
        let mut gone = runs_to_delete(&runs, &set(&["current"]), &set(&["h1"]), Some(&history));
        gone.sort();
        // In-progress and current runs are never deleted; a run of a deleted ReplicaSet always is.
        assert_eq!(gone, ["kept", "orphan"]);
        let gone = runs_to_delete(&runs, &set(&["current"]), &set(&["h1"]), None);
        assert_eq!(gone, ["orphan"]);
    }
}

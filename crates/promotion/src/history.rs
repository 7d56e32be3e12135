//! The promotion history of a stage, derived from Git: every promotion commit names its pipeline, stage and
//! release ([`crate::message`]), so the commits on a stage's branch are the record. The status only caches it:
//! a controller that stopped between a push and its status write finds the commit on the next reconcile and
//! records it then, exactly once (entries are keyed by commit).

use jiff::Timestamp;
use tack_model::{PIPELINE_HISTORY_LIMIT, PromotionRecord};

use crate::git::LoggedCommit;
use crate::message;

/// How many commits of a stage's branch are read back per reconcile at most (newest first, stopping at the
/// commits already recorded).
pub const LOG_LIMIT: usize = 40;

/// The promotions into `stage` of `pipeline` (`namespace/name`) among `log` (newest first, as
/// [`crate::git::Target::log`] returns it), oldest first.
pub fn from_log(log: &[LoggedCommit], pipeline: &str, stage: &str) -> Vec<PromotionRecord> {
    let mut out: Vec<PromotionRecord> = log
        .iter()
        .filter_map(|c| {
            let r = message::parse(&c.message)?;
            (r.pipeline == pipeline && r.stage == stage).then(|| PromotionRecord {
                release: r.release,
                images: r.images,
                charts: r.charts,
                bases: r.bases,
                time: Timestamp::from_second(c.time)
                    .map(|t| t.to_string())
                    .unwrap_or_default(),
                commit: c.id.clone(),
                from: r.from,
                by: r.by,
                replaced: r.replaced,
                review_branch: r.review_branch,
            })
        })
        .collect();
    out.reverse();
    out
}

/// Appends the records of `found` whose commit `history` lacks, keeping the newest [`PIPELINE_HISTORY_LIMIT`].
pub fn merge(history: &mut Vec<PromotionRecord>, found: &[PromotionRecord]) {
    for r in found {
        if !history.iter().any(|h| h.commit == r.commit) {
            history.push(r.clone());
        }
    }
    let excess = history.len().saturating_sub(PIPELINE_HISTORY_LIMIT);
    history.drain(..excess);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn commit(id: &str, time: i64, message: &str) -> LoggedCommit {
        LoggedCommit {
            id: id.into(),
            time,
            message: message.into(),
        }
    }

    #[test]
    fn promotions_of_the_stage_are_read_back_once() {
        let log = [
            commit(
                "c3",
                1_800_000_300,
                "promote v7 to prod from e2e\n\nPipeline: apps/gb\nStage: prod\nRelease: v7\nPromoted-By: auto\n",
            ),
            commit("c2", 1_800_000_200, "qa: v7\n"),
            commit(
                "c1",
                1_800_000_100,
                "promote v7 to e2e from qa\n\nPipeline: apps/gb\nStage: e2e\nRelease: v7\nImage: x:v7\n\
                 Source-Stage: qa\nPromoted-By: auto\nReplaced: v6\n",
            ),
            commit(
                "c0",
                1_800_000_000,
                "promote v6 to e2e\n\nPipeline: other/gb\nStage: e2e\nRelease: v6\nPromoted-By: auto\n",
            ),
        ];
        let found = from_log(&log, "apps/gb", "e2e");
        assert_eq!(
            found,
            [PromotionRecord {
                release: "v7".into(),
                images: vec!["x:v7".into()],
                charts: vec![],
                bases: vec![],
                time: "2027-01-15T08:01:40Z".into(),
                commit: "c1".into(),
                from: Some("qa".into()),
                by: "auto".into(),
                replaced: Some("v6".into()),
                review_branch: None,
            }]
        );
        let mut history = Vec::new();
        merge(&mut history, &found);
        merge(&mut history, &found);
        assert_eq!(history.len(), 1, "a commit is recorded once");
        assert_eq!(from_log(&log, "apps/gb", "prod")[0].commit, "c3");
    }
}

//! Prometheus metrics of promotions, registered into the controller's registry (`tack controller` serves them
//! on `/metrics` beside the GitOps metrics).
//!
//! | metric | type | labels | meaning |
//! |---|---|---|---|
//! | `tack_promotions_total` | counter | `pipeline` (`namespace/name`), `stage`, `outcome` = `promoted` \| `review` \| `failed` | promotion commits pushed to the stage's branch, to a review branch, or that failed |
//! | `tack_promotions_waiting` | gauge | `pipeline` | stages of the pipeline with a release waiting to enter them (blocked gates, approval, window, review); dropped when the pipeline is deleted |

use std::sync::{Arc, OnceLock};

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct PromotionLabels {
    pipeline: String,
    stage: String,
    outcome: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct PipelineLabels {
    pipeline: String,
}

/// The outcome of one promotion, as counted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Committed to the stage's branch.
    Promoted,
    /// Committed to a review branch.
    Review,
    /// Not written.
    Failed,
}

/// The promotion metrics. Cheap to share behind an [`Arc`].
#[derive(Debug, Default)]
pub struct PromotionMetrics {
    promotions: Family<PromotionLabels, Counter>,
    waiting: Family<PipelineLabels, Gauge>,
}

impl PromotionMetrics {
    /// The metrics of the process (what the Pipeline controller updates).
    pub fn global() -> Arc<PromotionMetrics> {
        static GLOBAL: OnceLock<Arc<PromotionMetrics>> = OnceLock::new();
        GLOBAL.get_or_init(Arc::default).clone()
    }

    /// Registers the metrics into `registry` (once per registry).
    pub fn register(&self, registry: &mut Registry) {
        // Counters get the `_total` suffix from the encoder.
        registry.register(
            "tack_promotions",
            "Promotions of a release into a pipeline's stage, by outcome (promoted, review, failed)",
            self.promotions.clone(),
        );
        registry.register(
            "tack_promotions_waiting",
            "Stages of a pipeline with a release waiting to enter them",
            self.waiting.clone(),
        );
    }

    /// Counts one promotion.
    pub fn promotion(&self, pipeline: &str, stage: &str, outcome: Outcome) {
        let outcome = match outcome {
            Outcome::Promoted => "promoted",
            Outcome::Review => "review",
            Outcome::Failed => "failed",
        };
        self.promotions
            .get_or_create(&PromotionLabels {
                pipeline: pipeline.into(),
                stage: stage.into(),
                outcome,
            })
            .inc();
    }

    /// Sets how many stages of `pipeline` have a release waiting.
    pub fn set_waiting(&self, pipeline: &str, waiting: usize) {
        self.waiting
            .get_or_create(&PipelineLabels {
                pipeline: pipeline.into(),
            })
            .set(i64::try_from(waiting).unwrap_or(i64::MAX));
    }

    /// Drops the series of a deleted pipeline's waiting gauge.
    pub fn forget(&self, pipeline: &str) {
        self.waiting.remove(&PipelineLabels {
            pipeline: pipeline.into(),
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exposition() {
        let m = PromotionMetrics::default();
        let mut r = Registry::default();
        m.register(&mut r);
        m.promotion("apps/gb", "e2e", Outcome::Promoted);
        m.promotion("apps/gb", "e2e", Outcome::Promoted);
        m.set_waiting("apps/gb", 1);
        let mut out = String::new();
        prometheus_client::encoding::text::encode(&mut out, &r).expect("encode");
        assert!(
            out.contains(r#"tack_promotions_total{pipeline="apps/gb",stage="e2e",outcome="promoted"} 2"#),
            "{out}"
        );
        assert!(
            out.contains(r#"tack_promotions_waiting{pipeline="apps/gb"} 1"#),
            "{out}"
        );
    }
}

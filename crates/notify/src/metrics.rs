//! The Prometheus counter of notifications, registered into the controller's registry (`tack controller` serves
//! it on `/metrics`):
//!
//! | metric | type | labels | meaning |
//! |---|---|---|---|
//! | `tack_notifications_total` | counter | `outcome` = `sent` \| `failed` | notifications delivered, and those not delivered after their retries (or whose message could not be made) |

use std::sync::OnceLock;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::registry::Registry;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OutcomeLabels {
    outcome: &'static str,
}

fn notifications() -> &'static Family<OutcomeLabels, Counter> {
    static COUNTER: OnceLock<Family<OutcomeLabels, Counter>> = OnceLock::new();
    COUNTER.get_or_init(Family::default)
}

/// Counts one notification: delivered, or not.
pub fn count(sent: bool) {
    let outcome = if sent { "sent" } else { "failed" };
    notifications().get_or_create(&OutcomeLabels { outcome }).inc();
}

/// How many notifications were delivered (`sent`) or not, since the process started.
pub fn counted(sent: bool) -> u64 {
    let outcome = if sent { "sent" } else { "failed" };
    notifications().get_or_create(&OutcomeLabels { outcome }).get()
}

/// Registers the counter into `registry` (once per registry).
pub fn register(registry: &mut Registry) {
    // Counters get the `_total` suffix from the encoder.
    registry.register(
        "tack_notifications",
        "Notifications since the process started, by outcome (sent, or failed after retries)",
        notifications().clone(),
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_counter_is_served_by_outcome() {
        let mut registry = Registry::default();
        register(&mut registry);
        let (sent, failed) = (counted(true), counted(false));
        count(true);
        count(false);
        count(true);
        let mut text = String::new();
        prometheus_client::encoding::text::encode(&mut text, &registry).expect("encode");
        assert!(text.contains("# TYPE tack_notifications counter"), "{text}");
        assert!(
            text.contains(&format!(
                "tack_notifications_total{{outcome=\"sent\"}} {}",
                sent + 2
            )),
            "{text}"
        );
        assert!(
            text.contains(&format!(
                "tack_notifications_total{{outcome=\"failed\"}} {}",
                failed + 1
            )),
            "{text}"
        );
    }
}

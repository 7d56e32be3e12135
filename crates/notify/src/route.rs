//! Routing: which services receive a fired trigger, by the subscriptions that select the object. Pure.

use std::collections::BTreeMap;

use serde_json::Value as Json;

use crate::config::{Config, Subscription};
use crate::message::Notification;
use crate::trigger::{Kind, Trigger};

/// The labels of an object.
pub fn labels(object: &Json) -> BTreeMap<String, String> {
    object
        .pointer("/metadata/labels")
        .and_then(Json::as_object)
        .map(|m| {
            m.iter()
                .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_string())))
                .collect()
        })
        .unwrap_or_default()
}

/// The subscriptions selecting `object` that include `trigger`.
pub fn subscriptions<'a>(config: &'a Config, object: &Json, trigger: Trigger) -> Vec<&'a Subscription> {
    let namespace = object
        .pointer("/metadata/namespace")
        .and_then(Json::as_str)
        .unwrap_or("");
    let labels = labels(object);
    config
        .subscriptions
        .iter()
        .filter(|s| s.triggers.contains(&trigger) && s.selects(namespace, &labels))
        .collect()
}

/// The (service, notification) pairs for `triggers` of `object`: each service once per trigger, even when
/// several subscriptions name it.
pub fn deliveries(
    config: &Config,
    kind: Kind,
    object: &Json,
    triggers: &[Trigger],
) -> Vec<(String, Notification)> {
    let mut out: Vec<(String, Notification)> = Vec::new();
    for &trigger in triggers {
        for s in subscriptions(config, object, trigger) {
            for service in &s.services {
                if !out
                    .iter()
                    .any(|(name, n)| name == service && n.trigger == trigger)
                {
                    out.push((
                        service.clone(),
                        Notification {
                            kind,
                            object: object.clone(),
                            trigger,
                        },
                    ));
                }
            }
        }
    }
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::secret::Secrets;
    use serde_json::json;

    #[test]
    fn routes_by_namespace_labels_and_trigger_once_per_service() {
        let config = crate::config::parse(
            r#"
services:
  - {name: a, type: slack, url: "http://x"}
  - {name: b, type: slack, url: "http://y"}
subscriptions:
  - {triggers: [sync-succeeded], services: [a], namespaces: [shop]}
  - {triggers: [sync-succeeded, health-degraded], services: [a, b], selector: {team: x}}
"#,
            &Secrets::default(),
        )
        .unwrap();
        let obj = json!({"metadata": {"namespace": "shop", "labels": {"team": "x"}}});
        let d = deliveries(
            &config,
            Kind::Application,
            &obj,
            &[Trigger::SyncSucceeded, Trigger::HealthDegraded],
        );
        let got: Vec<(&str, &str)> = d.iter().map(|(s, n)| (s.as_str(), n.trigger.name())).collect();
        assert_eq!(
            got,
            [
                ("a", "sync-succeeded"),
                ("b", "sync-succeeded"),
                ("a", "health-degraded"),
                ("b", "health-degraded")
            ]
        );
        let other = json!({"metadata": {"namespace": "web", "labels": {}}});
        assert!(deliveries(&config, Kind::Application, &other, &[Trigger::SyncSucceeded]).is_empty());
    }
}

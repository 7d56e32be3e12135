//! The notifier: the tracker of every watched object, the loaded configuration, and the deliveries it starts.
//! Knows nothing of Kubernetes' API: the controller feeds it objects, the ConfigMap's document and the Secret.

use std::collections::HashMap;
use std::time::Duration;

use serde_json::Value as Json;
use tokio::task::JoinHandle;

use crate::config::{self, Config, ConfigError};
use crate::message;
use crate::route;
use crate::secret::Secrets;
use crate::send::Sender;
use crate::trigger::{self, Kind, ObjectKey, Tracker, Trigger};

/// Objects seen, configuration, deliveries.
pub struct Notifier {
    tracker: Tracker,
    /// The applications out of sync, as last seen (what an `out-of-sync` delivery is routed and written from).
    apps: HashMap<ObjectKey, Json>,
    config: Option<Config>,
    secrets: Secrets,
    sender: Sender,
}

/// The key of an object as JSON.
pub fn key(kind: Kind, object: &Json) -> ObjectKey {
    let meta = |f: &str| {
        object
            .pointer(&format!("/metadata/{f}"))
            .and_then(Json::as_str)
            .unwrap_or("")
            .to_string()
    };
    (kind, meta("namespace"), meta("name"))
}

impl Notifier {
    /// A notifier without configuration (it sends nothing until [`Notifier::load`] succeeds), retrying after
    /// `backoff`.
    pub fn new(backoff: Duration) -> Self {
        Notifier {
            tracker: Tracker::new(),
            apps: HashMap::new(),
            config: None,
            secrets: Secrets::default(),
            sender: Sender::new(backoff),
        }
    }

    /// Loads the ConfigMap's document (`None`: no ConfigMap, nothing is sent). An invalid one is logged as an
    /// error, nothing is sent, and the message (Secret values redacted) is returned for a Warning Event.
    pub fn load(&mut self, where_: &str, yaml: Option<Option<&str>>, secrets: Secrets) -> Result<(), String> {
        let parsed = match yaml {
            None => {
                self.config = None;
                self.secrets = secrets;
                return Ok(());
            }
            Some(Some(yaml)) => config::parse(yaml, &secrets),
            Some(None) => Err(ConfigError::MissingKey),
        };
        let result = match parsed {
            Ok(config) => {
                tracing::info!(
                    "notifications: {} service(s), {} subscription(s) from {where_}",
                    config.services.len(),
                    config.subscriptions.len()
                );
                self.config = Some(config);
                Ok(())
            }
            Err(e) => {
                let message = secrets.redact(&format!(
                    "notifications: ConfigMap {where_}: {e}; nothing is sent until it is fixed"
                ));
                tracing::error!("{message}");
                self.config = None;
                Err(message)
            }
        };
        self.secrets = secrets;
        result
    }

    /// Records `object` (at `now`, seconds) and starts the deliveries of the triggers that fire.
    pub fn observe(&mut self, kind: Kind, object: Json, now: u64) -> Vec<JoinHandle<bool>> {
        let key = key(kind, &object);
        let facts = trigger::facts(kind, &object);
        let out_of_sync = facts.out_of_sync;
        let fired = self.tracker.observe(key.clone(), facts, now);
        let handles = match &self.config {
            Some(config) if !fired.is_empty() => {
                deliver(config, &self.secrets, &self.sender, kind, &object, &fired)
            }
            _ => Vec::new(),
        };
        // Only an application out of sync can be due an `out-of-sync` delivery at a tick: the others are not kept
        // (at 1 000 applications their JSON was the controller's largest table).
        if kind == Kind::Application {
            if out_of_sync {
                self.apps.insert(key, object);
            } else {
                self.apps.remove(&key);
            }
        }
        handles
    }

    /// Forgets a deleted object.
    pub fn forget(&mut self, key: &ObjectKey) {
        self.tracker.forget(key);
        self.apps.remove(key);
    }

    /// Starts `out-of-sync` deliveries due at `now` (seconds).
    pub fn tick(&mut self, now: u64) -> Vec<JoinHandle<bool>> {
        let Some(config) = &self.config else {
            return Vec::new();
        };
        let mut handles = Vec::new();
        for key in self.tracker.out_of_sync_keys() {
            let Some(object) = self.apps.get(&key) else {
                continue;
            };
            for s in route::subscriptions(config, object, Trigger::OutOfSync) {
                if let Some(after) = s.out_of_sync_after
                    && self.tracker.out_of_sync_due(&key, s.index, after, now)
                {
                    let only = Config {
                        services: config.services.clone(),
                        subscriptions: vec![s.clone()],
                    };
                    handles.extend(deliver(
                        &only,
                        &self.secrets,
                        &self.sender,
                        Kind::Application,
                        object,
                        &[Trigger::OutOfSync],
                    ));
                }
            }
        }
        handles
    }
}

/// Starts one task per delivery of `fired` for `object`; each yields whether it was delivered.
fn deliver(
    config: &Config,
    secrets: &Secrets,
    sender: &Sender,
    kind: Kind,
    object: &Json,
    fired: &[Trigger],
) -> Vec<JoinHandle<bool>> {
    let mut handles = Vec::new();
    for (service_name, n) in route::deliveries(config, kind, object, fired) {
        let Some(service) = config.services.get(&service_name) else {
            continue;
        };
        let what = format!(
            "{} of {} {} to {service_name}",
            n.trigger.name(),
            n.kind.kind(),
            n.object_name()
        );
        let request = match message::request(service, &n) {
            Ok(r) => r,
            Err(e) => {
                crate::metrics::count(false);
                tracing::warn!("notification {what} not sent: {}", secrets.redact(&e.to_string()));
                continue;
            }
        };
        let sender = sender.clone();
        let secrets = secrets.clone();
        handles.push(tokio::spawn(async move {
            match sender.send(&request).await {
                Ok(()) => {
                    crate::metrics::count(true);
                    tracing::info!("notification {what} sent");
                    true
                }
                Err(e) => {
                    crate::metrics::count(false);
                    tracing::warn!("notification {what} failed: {}", secrets.redact(&e.to_string()));
                    false
                }
            }
        }));
    }
    handles
}

#[cfg(test)]
mod tests {
    use super::*;

    fn app(name: &str, sync: &str) -> Json {
        serde_json::json!({
            "apiVersion": "gitops.tack.dev/v1alpha1", "kind": "GitOpsConfig",
            "metadata": {"name": name, "namespace": "team-a"},
            "status": {"sync": {"status": sync, "revision": "abc"}, "health": {"status": "Healthy"}},
        })
    }

    #[test]
    fn only_applications_out_of_sync_are_kept() {
        let mut n = Notifier::new(Duration::from_secs(1));
        for i in 0..100 {
            n.observe(Kind::Application, app(&format!("app-{i}"), "Synced"), 0);
        }
        n.observe(Kind::Application, app("drifted", "OutOfSync"), 1);
        assert_eq!(n.apps.len(), 1, "the one out of sync");
        n.observe(Kind::Application, app("drifted", "Synced"), 2);
        assert!(n.apps.is_empty(), "synced again: let go");
    }
}

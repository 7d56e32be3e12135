//! Kubernetes Events on the GitOpsConfigs, one Event per distinct (type, reason, message).
//!
//! The same message repeated within [`SERIES_TTL`] is folded into the Event's series (count and last time); a
//! new message (a new commit synced, another render error) is a new Event carrying that message, so
//! `kubectl events` always shows the current one. (kube-runtime's recorder keys a series by reason only and
//! keeps the note of its first occurrence.)

use std::collections::HashMap;
use std::time::Duration;

use k8s_openapi::api::core::v1::ObjectReference;
use k8s_openapi::api::events::v1::Event as K8sEvent;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{MicroTime, ObjectMeta};
use k8s_openapi::jiff::{SignedDuration, Timestamp};
use kube::api::{Api, Patch, PatchParams, PostParams};
use tokio::sync::Mutex;

/// How long a series stays open for repeats of the same message.
pub const SERIES_TTL: Duration = Duration::from_secs(6 * 60);

/// Event notes are limited to 1 kB.
const NOTE_LIMIT: usize = 1000;

/// An Event to publish.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Note {
    pub warning: bool,
    pub reason: String,
    pub action: String,
    pub message: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
struct Key {
    regarding: (Option<String>, Option<String>, Option<String>),
    warning: bool,
    reason: String,
    message: String,
}

/// An Event whose series is open: its name, how many times it occurred, and when last.
struct Open {
    name: String,
    count: i32,
    last: Timestamp,
}

/// Publishes Events for one controller.
pub struct Recorder {
    client: kube::Client,
    controller: String,
    /// The open series, by what they are about: only what a repeat needs (the Event as the server returned it,
    /// with its managedFields, took kilobytes per entry, a few per application).
    cache: Mutex<HashMap<Key, Open>>,
}

impl Recorder {
    pub fn new(client: kube::Client, controller: &str) -> Recorder {
        Recorder {
            client,
            controller: controller.to_string(),
            cache: Mutex::new(HashMap::new()),
        }
    }

    /// Publishes `note` about `regarding`: a repeat of a recent identical Event extends its series, anything else
    /// is a new Event.
    pub async fn publish(&self, note: &Note, regarding: &ObjectReference) -> Result<(), kube::Error> {
        let now = Timestamp::now();
        let message = truncate(&note.message);
        let key = Key {
            regarding: (
                regarding.namespace.clone(),
                regarding.name.clone(),
                regarding.uid.clone(),
            ),
            warning: note.warning,
            reason: note.reason.clone(),
            message: message.clone(),
        };
        let mut cache = self.cache.lock().await;
        let ttl = SignedDuration::try_from(SERIES_TTL).unwrap_or(SignedDuration::ZERO);
        cache.retain(|_, open| open.last + ttl > now);
        let namespace = regarding.namespace.clone().unwrap_or_else(|| "default".into());
        let events: Api<K8sEvent> = Api::namespaced(self.client.clone(), &namespace);
        let open = match cache.remove(&key) {
            Some(previous) => {
                let count = previous.count + 1;
                let series = serde_json::json!({
                    "series": {"count": count, "lastObservedTime": MicroTime(now)},
                });
                events
                    .patch(&previous.name, &PatchParams::default(), &Patch::Merge(&series))
                    .await?;
                Open {
                    name: previous.name,
                    count,
                    last: now,
                }
            }
            None => {
                let e = self.generate(note, message, regarding, now);
                let name = name_of(&events.create(&PostParams::default(), &e).await?);
                Open {
                    name,
                    count: 1,
                    last: now,
                }
            }
        };
        cache.insert(key, open);
        Ok(())
    }

    fn generate(
        &self,
        note: &Note,
        message: String,
        regarding: &ObjectReference,
        now: Timestamp,
    ) -> K8sEvent {
        K8sEvent {
            action: Some(note.action.clone()),
            reason: Some(note.reason.clone()),
            event_time: Some(MicroTime(now)),
            regarding: Some(regarding.clone()),
            note: Some(message),
            metadata: ObjectMeta {
                namespace: regarding.namespace.clone(),
                name: Some(format!(
                    "{}.{:x}",
                    regarding.name.as_deref().unwrap_or(&self.controller),
                    now.as_nanosecond()
                )),
                ..Default::default()
            },
            reporting_controller: Some(self.controller.clone()),
            reporting_instance: Some(self.controller.clone()),
            type_: Some(if note.warning { "Warning" } else { "Normal" }.into()),
            ..Default::default()
        }
    }
}

fn name_of(e: &K8sEvent) -> String {
    e.metadata.name.clone().unwrap_or_default()
}

/// At most [`NOTE_LIMIT`] bytes, cut at a character boundary, with `…` when cut.
pub fn truncate(text: &str) -> String {
    if text.len() <= NOTE_LIMIT {
        return text.to_string();
    }
    let mut end = NOTE_LIMIT;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &text[..end])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn notes_are_cut_at_a_character_boundary() {
        assert_eq!(truncate("short"), "short");
        let long = "é".repeat(600);
        let cut = truncate(&long);
        assert!(cut.ends_with('…'));
        assert!(cut.len() <= NOTE_LIMIT + '…'.len_utf8());
    }

    #[test]
    fn a_new_message_is_a_new_key() {
        let key = |message: &str| Key {
            regarding: (Some("ns".into()), Some("app".into()), None),
            warning: false,
            reason: "Synced".into(),
            message: message.into(),
        };
        assert_ne!(key("abc: created 1"), key("def: created 1"));
        assert_eq!(key("abc: created 1"), key("abc: created 1"));
    }
}

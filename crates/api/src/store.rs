//! Watch caches of GitOpsConfigs and Rollouts: lists are answered from memory, never by a request to the API
//! server per page, and every change is broadcast to the browsers that follow [`crate::stream`].

use std::fmt::Debug;
use std::hash::Hash;
use std::time::Duration;

use futures::StreamExt;
use kube::api::{Api, DynamicObject};
use kube::runtime::reflector::{Store, store::Writer};
use kube::runtime::{WatchStreamExt, watcher};
use kube::{Resource, ResourceExt};
use serde::Serialize;
use serde::de::DeserializeOwned;
use tack_model::GitOpsConfig;
use tokio::sync::broadcast;
use tokio::task::JoinHandle;

use crate::ApiError;

/// How long a request waits for a cache that is still filling.
const FILL_WAIT: Duration = Duration::from_secs(5);

/// One change seen by a watch.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct Change {
    /// `application` or `rollout`; `resync` after a watch started again (reload everything).
    pub kind: &'static str,
    /// The object's namespace.
    pub namespace: String,
    /// The object's name.
    pub name: String,
    /// Whether it was deleted.
    pub deleted: bool,
}

/// The caches, filled by watches that run until the `Stores` is dropped.
pub struct Stores {
    /// Every GitOpsConfig the watch sees.
    pub applications: Store<GitOpsConfig>,
    /// Every Rollout the watch sees.
    pub rollouts: Store<DynamicObject>,
    changes: broadcast::Sender<Change>,
    tasks: Vec<JoinHandle<()>>,
}

impl Drop for Stores {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
    }
}

impl Stores {
    /// Starts the watches (of `namespace` only, or of all namespaces).
    pub fn start(client: &kube::Client, namespace: Option<&str>) -> Stores {
        let (changes, _) = broadcast::channel(1024);
        let apps: Api<GitOpsConfig> = match namespace {
            Some(ns) => Api::namespaced(client.clone(), ns),
            None => Api::all(client.clone()),
        };
        let resource = tack_delivery::rollout::rollout_resource();
        let rollouts: Api<DynamicObject> = match namespace {
            Some(ns) => Api::namespaced_with(client.clone(), ns, &resource),
            None => Api::all_with(client.clone(), &resource),
        };
        let apps_writer: Writer<GitOpsConfig> = Writer::default();
        let rollouts_writer = Writer::new(resource);
        let applications = apps_writer.as_reader();
        let rollouts_reader = rollouts_writer.as_reader();
        let tasks = vec![
            tokio::spawn(follow(apps, apps_writer, "application", changes.clone())),
            tokio::spawn(follow(rollouts, rollouts_writer, "rollout", changes.clone())),
        ];
        Stores {
            applications,
            rollouts: rollouts_reader,
            changes,
            tasks,
        }
    }

    /// The changes from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<Change> {
        self.changes.subscribe()
    }

    /// Waits (a few seconds at most) until the applications' cache holds a first full list.
    pub async fn applications_ready(&self) -> Result<&Store<GitOpsConfig>, ApiError> {
        ready(&self.applications, "GitOpsConfigs", "`tack install`").await
    }

    /// Waits (a few seconds at most) until the rollouts' cache holds a first full list.
    pub async fn rollouts_ready(&self) -> Result<&Store<DynamicObject>, ApiError> {
        ready(
            &self.rollouts,
            "Rollouts",
            "`tack install`, which installs the argoproj.io CRDs",
        )
        .await
    }
}

async fn ready<'a, K>(store: &'a Store<K>, what: &str, fix: &str) -> Result<&'a Store<K>, ApiError>
where
    K: Resource + Clone + 'static,
    K::DynamicType: Eq + Hash + Clone,
{
    match tokio::time::timeout(FILL_WAIT, store.wait_until_ready()).await {
        Ok(Ok(())) => Ok(store),
        _ => Err(ApiError::Unavailable(format!(
            "{what} cannot be listed yet: the watch has not completed a first list (is the CRD installed? {fix}; \
             may the server's identity list them in every namespace?)"
        ))),
    }
}

/// Runs one watch into its cache, broadcasting changes; errors are logged once per distinct message.
async fn follow<K>(api: Api<K>, writer: Writer<K>, kind: &'static str, changes: broadcast::Sender<Change>)
where
    K: Resource + Clone + DeserializeOwned + Debug + Send + Sync + 'static,
    K::DynamicType: Eq + Hash + Clone,
{
    let mut last_error: Option<String> = None;
    let stream = watcher(api, watcher::Config::default().any_semantic())
        .default_backoff()
        .reflect(writer);
    futures::pin_mut!(stream);
    while let Some(event) = stream.next().await {
        let change = |o: &K, deleted: bool| Change {
            kind,
            namespace: o.namespace().unwrap_or_default(),
            name: o.name_any(),
            deleted,
        };
        let sent = match event {
            Ok(watcher::Event::Apply(o)) => changes.send(change(&o, false)),
            Ok(watcher::Event::Delete(o)) => changes.send(change(&o, true)),
            Ok(watcher::Event::InitDone) => {
                last_error = None;
                changes.send(Change {
                    kind: "resync",
                    namespace: String::new(),
                    name: kind.to_string(),
                    deleted: false,
                })
            }
            Ok(_) => continue,
            Err(e) => {
                let message = e.to_string();
                if last_error.as_deref() != Some(message.as_str()) {
                    tracing::warn!("API: watching {kind}s: {message}");
                    last_error = Some(message);
                }
                continue;
            }
        };
        // No subscriber: nobody follows the stream right now, which is fine.
        let _ = sent;
    }
}

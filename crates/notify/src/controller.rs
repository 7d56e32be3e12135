//! The notifications controller: watches GitOpsConfigs, Rollouts and AnalysisRuns, reads the ConfigMap and
//! Secret `tack-notifications` of its namespace, and sends what the triggers fire.
//!
//! An invalid configuration is logged once per version of the ConfigMap and Secret, with a Warning Event on the
//! ConfigMap, and nothing is sent until it is fixed. Every message that reaches a log or an Event passes
//! through [`Secrets::redact`].

use std::collections::HashMap;
use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use futures::{StreamExt, stream};
use k8s_openapi::api::core::v1::{ConfigMap, ObjectReference, Secret};
use k8s_openapi::api::events::v1::Event as K8sEvent;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{MicroTime, ObjectMeta};
use k8s_openapi::jiff::Timestamp;
use kube::api::{Api, ApiResource, DynamicObject, GroupVersionKind, PostParams};
use kube::runtime::WatchStreamExt;
use kube::runtime::watcher::{self, Event};
use serde_json::Value as Json;

use crate::config::{self, Config, ConfigError};
use crate::message;
use crate::route;
use crate::secret::Secrets;
use crate::send::Sender;
use crate::trigger::{Kind, ObjectKey, Tracker, Trigger};

/// Notifications sent and failed since the process started.
pub static SENT: AtomicU64 = AtomicU64::new(0);
/// Notifications that failed (after retries, or because their message could not be made).
pub static FAILED: AtomicU64 = AtomicU64::new(0);

/// How often the ConfigMap and Secret are read again, and `out-of-sync` durations checked.
const TICK: Duration = Duration::from_secs(5);

/// What the controller needs.
#[derive(Debug, Clone)]
pub struct NotifyConfig {
    /// Where the ConfigMap and Secret `tack-notifications` live.
    pub namespace: String,
    /// Watch only this namespace's objects (all when `None`).
    pub watch_namespace: Option<String>,
    /// Wait before the second attempt of a failed delivery (doubled before the third).
    pub backoff: Duration,
}

impl NotifyConfig {
    /// The configuration in `namespace`, watching every namespace, with a 1 s backoff.
    pub fn new(namespace: impl Into<String>) -> Self {
        NotifyConfig {
            namespace: namespace.into(),
            watch_namespace: None,
            backoff: Duration::from_secs(1),
        }
    }
}

/// The loaded configuration with the Secret's values for redaction.
#[derive(Default)]
struct Loaded {
    /// The resourceVersions it was made of, to parse once per change.
    versions: Option<(String, String)>,
    config: Option<Config>,
    secrets: Secrets,
}

fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

fn resource(kind: Kind) -> ApiResource {
    let gvk = match kind {
        Kind::Application => GroupVersionKind::gvk("gitops.tack.dev", "v1alpha1", "GitOpsConfig"),
        Kind::Rollout => GroupVersionKind::gvk("argoproj.io", "v1alpha1", "Rollout"),
        Kind::AnalysisRun => GroupVersionKind::gvk("argoproj.io", "v1alpha1", "AnalysisRun"),
    };
    ApiResource::from_gvk(&gvk)
}

/// Runs until `stop` completes.
pub async fn run(client: kube::Client, cfg: NotifyConfig, stop: impl Future<Output = ()>) {
    let mut loaded = Loaded::default();
    let sender = Sender::new(cfg.backoff);
    let streams = [Kind::Application, Kind::Rollout, Kind::AnalysisRun].map(|kind| {
        let ar = resource(kind);
        let api: Api<DynamicObject> = match &cfg.watch_namespace {
            Some(ns) => Api::namespaced_with(client.clone(), ns, &ar),
            None => Api::all_with(client.clone(), &ar),
        };
        watcher::watcher(api, watcher::Config::default())
            .default_backoff()
            .map(move |e| (kind, e))
            .boxed()
    });
    let mut events = stream::select_all(streams);
    let mut tracker = Tracker::new();
    let mut apps: HashMap<ObjectKey, Json> = HashMap::new();
    let mut warned: [bool; 3] = [false; 3];
    let mut tick = tokio::time::interval(TICK);
    reload(&client, &cfg.namespace, &mut loaded).await;
    tokio::pin!(stop);
    loop {
        tokio::select! {
            () = &mut stop => break,
            _ = tick.tick() => {
                reload(&client, &cfg.namespace, &mut loaded).await;
                out_of_sync(&mut tracker, &apps, &loaded, &sender);
            }
            Some((kind, event)) = events.next() => match event {
                Ok(Event::Apply(o) | Event::InitApply(o)) => {
                    let Ok(object) = serde_json::to_value(&o) else { continue };
                    let key = (kind, o.metadata.namespace.clone().unwrap_or_default(), o.metadata.name.clone().unwrap_or_default());
                    let fired = tracker.observe(key.clone(), crate::trigger::facts(kind, &object), now_secs());
                    if let Some(config) = &loaded.config
                        && !fired.is_empty()
                    {
                        deliver(config, &loaded.secrets, &sender, kind, &object, &fired);
                    }
                    if kind == Kind::Application {
                        apps.insert(key, object);
                    }
                }
                Ok(Event::Delete(o)) => {
                    let key = (kind, o.metadata.namespace.clone().unwrap_or_default(), o.metadata.name.clone().unwrap_or_default());
                    tracker.forget(&key);
                    apps.remove(&key);
                }
                Ok(Event::Init | Event::InitDone) => {}
                Err(e) => {
                    let i = kind as usize;
                    if !warned[i] {
                        warned[i] = true;
                        tracing::warn!("notifications: watching {}s: {e} (retrying; is the CRD installed?)", kind.kind());
                    }
                }
            },
        }
    }
}

/// Sends the deliveries of `fired` for `object`, each in its own task.
fn deliver(
    config: &Config,
    secrets: &Secrets,
    sender: &Sender,
    kind: Kind,
    object: &Json,
    fired: &[Trigger],
) {
    for (service_name, n) in route::deliveries(config, kind, object, fired) {
        let Some(service) = config.services.get(&service_name) else {
            continue;
        };
        let what = format!(
            "{} {} {} to {service_name}",
            n.trigger.name(),
            n.kind.kind(),
            n.object_name()
        );
        let secrets = secrets.clone();
        let request = match message::request(service, &n) {
            Ok(r) => r,
            Err(e) => {
                FAILED.fetch_add(1, Ordering::Relaxed);
                tracing::warn!("notification {what} not sent: {}", secrets.redact(&e.to_string()));
                continue;
            }
        };
        let sender = sender.clone();
        tokio::spawn(async move {
            match sender.send(&request).await {
                Ok(()) => {
                    SENT.fetch_add(1, Ordering::Relaxed);
                    tracing::info!("notification {what} sent");
                }
                Err(e) => {
                    FAILED.fetch_add(1, Ordering::Relaxed);
                    tracing::warn!("notification {what} failed: {}", secrets.redact(&e.to_string()));
                }
            }
        });
    }
}

/// Fires `out-of-sync` for applications out of sync longer than a subscription's duration.
fn out_of_sync(tracker: &mut Tracker, apps: &HashMap<ObjectKey, Json>, loaded: &Loaded, sender: &Sender) {
    let Some(config) = &loaded.config else { return };
    let now = now_secs();
    for key in tracker.out_of_sync_keys() {
        let Some(object) = apps.get(&key) else { continue };
        for s in route::subscriptions(config, object, Trigger::OutOfSync) {
            if let Some(after) = s.out_of_sync_after
                && tracker.out_of_sync_due(&key, s.index, after, now)
            {
                let only = Config {
                    services: config.services.clone(),
                    subscriptions: vec![s.clone()],
                };
                deliver(
                    &only,
                    &loaded.secrets,
                    sender,
                    Kind::Application,
                    object,
                    &[Trigger::OutOfSync],
                );
            }
        }
    }
}

/// Reads the ConfigMap and Secret; parses them when either changed.
async fn reload(client: &kube::Client, namespace: &str, loaded: &mut Loaded) {
    let maps: Api<ConfigMap> = Api::namespaced(client.clone(), namespace);
    let secrets: Api<Secret> = Api::namespaced(client.clone(), namespace);
    let (map, secret) = match (
        maps.get_opt(config::NAME).await,
        secrets.get_opt(config::NAME).await,
    ) {
        (Ok(m), Ok(s)) => (m, s),
        (Err(e), _) | (_, Err(e)) => {
            tracing::debug!("notifications: reading {namespace}/{}: {e}", config::NAME);
            return;
        }
    };
    let Some(map) = map else {
        if loaded.versions.take().is_some() || loaded.config.is_some() {
            tracing::info!(
                "notifications: ConfigMap {namespace}/{} is gone; nothing is sent",
                config::NAME
            );
        }
        loaded.config = None;
        return;
    };
    let version = |m: &ObjectMeta| m.resource_version.clone().unwrap_or_default();
    let versions = (
        version(&map.metadata),
        secret.as_ref().map(|s| version(&s.metadata)).unwrap_or_default(),
    );
    if loaded.versions.as_ref() == Some(&versions) {
        return;
    }
    let values = secret
        .as_ref()
        .and_then(|s| s.data.as_ref())
        .map(|d| Secrets::from_data(&d.iter().map(|(k, v)| (k.clone(), v.0.clone())).collect()))
        .unwrap_or_default();
    let parsed = match map.data.as_ref().and_then(|d| d.get(config::CONFIG_KEY)) {
        Some(yaml) => config::parse(yaml, &values),
        None => Err(ConfigError::MissingKey),
    };
    loaded.versions = Some(versions);
    match parsed {
        Ok(config) => {
            tracing::info!(
                "notifications: {} service(s), {} subscription(s) from {namespace}/{}",
                config.services.len(),
                config.subscriptions.len(),
                config::NAME
            );
            loaded.config = Some(config);
            loaded.secrets = values;
        }
        Err(e) => {
            let message = values.redact(&format!(
                "notifications: ConfigMap {namespace}/{}: {e}; nothing is sent until it is fixed",
                config::NAME
            ));
            tracing::error!("{message}");
            loaded.config = None;
            loaded.secrets = values;
            if let Err(e) = warn_event(client, &map, &message).await {
                tracing::warn!("notifications: cannot record the Warning Event: {e}");
            }
        }
    }
}

/// A Warning Event `InvalidConfiguration` on the ConfigMap.
async fn warn_event(client: &kube::Client, map: &ConfigMap, message: &str) -> Result<(), kube::Error> {
    let namespace = map.metadata.namespace.clone().unwrap_or_default();
    let now = Timestamp::now();
    let mut note = message.to_string();
    if note.len() > 1000 {
        let mut end = 1000;
        while !note.is_char_boundary(end) {
            end -= 1;
        }
        note.truncate(end);
    }
    let event = K8sEvent {
        action: Some("Load".into()),
        reason: Some("InvalidConfiguration".into()),
        event_time: Some(MicroTime(now)),
        regarding: Some(ObjectReference {
            api_version: Some("v1".into()),
            kind: Some("ConfigMap".into()),
            name: map.metadata.name.clone(),
            namespace: Some(namespace.clone()),
            uid: map.metadata.uid.clone(),
            resource_version: map.metadata.resource_version.clone(),
            ..Default::default()
        }),
        note: Some(note),
        metadata: ObjectMeta {
            namespace: Some(namespace.clone()),
            name: Some(format!("{}.{:x}", config::NAME, now.as_nanosecond())),
            ..Default::default()
        },
        reporting_controller: Some("tack.dev/notifications".into()),
        reporting_instance: Some("tack-notifications".into()),
        type_: Some("Warning".into()),
        ..Default::default()
    };
    Api::<K8sEvent>::namespaced(client.clone(), &namespace)
        .create(&PostParams::default(), &event)
        .await
        .map(|_| ())
}

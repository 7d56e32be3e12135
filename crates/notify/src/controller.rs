//! The notifications controller: watches GitOpsConfigs, Rollouts and AnalysisRuns, reads the ConfigMap and
//! Secret `tack-notifications` of its namespace, and sends what the triggers fire.
//!
//! An invalid configuration is logged once per version of the ConfigMap and Secret, with a Warning Event on the
//! ConfigMap, and nothing is sent until it is fixed. Every message that reaches a log or an Event passes
//! through [`Secrets::redact`].

use std::future::Future;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use futures::{StreamExt, stream};
use k8s_openapi::api::core::v1::{ConfigMap, ObjectReference, Secret};
use k8s_openapi::api::events::v1::Event as K8sEvent;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{MicroTime, ObjectMeta};
use k8s_openapi::jiff::Timestamp;
use kube::api::{Api, ApiResource, DynamicObject, GroupVersionKind, PostParams};
use kube::runtime::WatchStreamExt;
use kube::runtime::watcher::{self, Event};

use crate::config;
use crate::notifier::Notifier;
use crate::secret::Secrets;
use crate::trigger::Kind;

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

/// The resourceVersions of the ConfigMap and Secret last loaded, to parse once per change.
type Versions = Option<(String, String)>;

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
        Kind::Pipeline => GroupVersionKind::gvk("gitops.tack.dev", "v1alpha1", "Pipeline"),
    };
    ApiResource::from_gvk(&gvk)
}

/// Runs until `stop` completes.
pub async fn run(client: kube::Client, cfg: NotifyConfig, stop: impl Future<Output = ()>) {
    let mut notifier = Notifier::new(cfg.backoff);
    let mut versions: Versions = None;
    let streams = [
        Kind::Application,
        Kind::Rollout,
        Kind::AnalysisRun,
        Kind::Pipeline,
    ]
    .map(|kind| {
        let ar = resource(kind);
        let api: Api<DynamicObject> = match &cfg.watch_namespace {
            Some(ns) => Api::namespaced_with(client.clone(), ns, &ar),
            None => Api::all_with(client.clone(), &ar),
        };
        // Triggers and routes read labels, annotations, spec and status, never the field managers: every object
        // is kept without them, as the GitOps controller's store keeps applications.
        watcher::watcher(api, watcher::Config::default())
            .default_backoff()
            .modify(|o| kube::ResourceExt::managed_fields_mut(o).clear())
            .map(move |e| (kind, e))
            .boxed()
    });
    let mut events = stream::select_all(streams);
    let mut warned = [false; 4];
    let mut tick = tokio::time::interval(TICK);
    reload(&client, &cfg.namespace, &mut notifier, &mut versions).await;
    tokio::pin!(stop);
    loop {
        tokio::select! {
            () = &mut stop => break,
            _ = tick.tick() => {
                reload(&client, &cfg.namespace, &mut notifier, &mut versions).await;
                notifier.tick(now_secs());
            }
            Some((kind, event)) = events.next() => match event {
                Ok(Event::Apply(o) | Event::InitApply(o)) => {
                    if let Ok(object) = serde_json::to_value(&o) {
                        notifier.observe(kind, object, now_secs());
                    }
                }
                Ok(Event::Delete(o)) => {
                    if let Ok(object) = serde_json::to_value(&o) {
                        notifier.forget(&crate::notifier::key(kind, &object));
                    }
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

/// Reads the ConfigMap and Secret; loads them into `notifier` when either changed.
async fn reload(client: &kube::Client, namespace: &str, notifier: &mut Notifier, versions: &mut Versions) {
    let maps: Api<ConfigMap> = Api::namespaced(client.clone(), namespace);
    let secrets: Api<Secret> = Api::namespaced(client.clone(), namespace);
    let where_ = format!("{namespace}/{}", config::NAME);
    let (map, secret) = match (
        maps.get_opt(config::NAME).await,
        secrets.get_opt(config::NAME).await,
    ) {
        (Ok(m), Ok(s)) => (m, s),
        (Err(e), _) | (_, Err(e)) => {
            tracing::debug!("notifications: reading {where_}: {e}");
            return;
        }
    };
    let version = |m: &ObjectMeta| m.resource_version.clone().unwrap_or_default();
    let now = map.as_ref().map(|m| {
        (
            version(&m.metadata),
            secret.as_ref().map(|s| version(&s.metadata)).unwrap_or_default(),
        )
    });
    if *versions == now {
        return;
    }
    if map.is_none() && versions.is_some() {
        tracing::info!("notifications: ConfigMap {where_} is gone; nothing is sent");
    }
    *versions = now;
    let values = secret
        .as_ref()
        .and_then(|s| s.data.as_ref())
        .map(|d| Secrets::from_data(&d.iter().map(|(k, v)| (k.clone(), v.0.clone())).collect()))
        .unwrap_or_default();
    let yaml = map.as_ref().map(|m| {
        m.data
            .as_ref()
            .and_then(|d| d.get(config::CONFIG_KEY))
            .map(String::as_str)
    });
    if let (Err(message), Some(map)) = (notifier.load(&where_, yaml, values), &map)
        && let Err(e) = warn_event(client, map, &message).await
    {
        tracing::warn!("notifications: cannot record the Warning Event: {e}");
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

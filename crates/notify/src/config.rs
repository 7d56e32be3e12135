//! The notifications configuration: the YAML document of the ConfigMap `tack-notifications` (services and
//! subscriptions), validated, with `$key` references replaced by the values of the Secret of the same name.
//!
//! Pure: the caller reads the ConfigMap and the Secret. Errors name keys and fields, never a Secret's value.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use serde::Deserialize;

use crate::secret::Secrets;
use crate::trigger::Trigger;

/// The name of the ConfigMap and of the Secret.
pub const NAME: &str = "tack-notifications";
/// The ConfigMap key holding the YAML document.
pub const CONFIG_KEY: &str = "config.yaml";

/// Why a configuration is refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ConfigError {
    /// The ConfigMap lacks the key.
    #[error("ConfigMap {NAME} has no key {CONFIG_KEY:?}")]
    MissingKey,
    /// The YAML does not parse or has unknown fields.
    #[error("{CONFIG_KEY}: {0}")]
    Yaml(String),
    /// A semantic error.
    #[error("{CONFIG_KEY}: {0}")]
    Invalid(String),
    /// A `$key` names no key of the Secret.
    #[error("{CONFIG_KEY}: service {service:?} {field} refers to ${key}, which Secret {NAME} does not hold")]
    MissingSecret {
        /// The service.
        service: String,
        /// The field.
        field: String,
        /// The Secret key.
        key: String,
    },
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct RawConfig {
    #[serde(default)]
    services: Vec<RawService>,
    #[serde(default)]
    subscriptions: Vec<RawSubscription>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct RawService {
    name: String,
    #[serde(rename = "type")]
    kind: String,
    url: Option<String>,
    method: Option<String>,
    #[serde(default)]
    headers: BTreeMap<String, String>,
    body: Option<String>,
    text: Option<String>,
    api: Option<String>,
    token: Option<String>,
    context: Option<String>,
    description: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct RawSubscription {
    triggers: Vec<String>,
    services: Vec<String>,
    #[serde(default)]
    namespaces: Vec<String>,
    #[serde(default)]
    selector: BTreeMap<String, String>,
    out_of_sync_after: Option<String>,
}

/// Where commit statuses are posted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Forge {
    /// `POST {api}/repos/{owner}/{repo}/statuses/{sha}`.
    GitHub,
    /// `POST {api}/api/v4/projects/{id}/statuses/{sha}`.
    GitLab,
    /// `POST {api}/api/v1/repos/{owner}/{repo}/statuses/{sha}`.
    Gitea,
}

/// What a service does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ServiceKind {
    /// An HTTP request with a templated body.
    Webhook {
        /// The URL (Secret values substituted).
        url: String,
        /// The HTTP method.
        method: String,
        /// Headers (Secret values substituted).
        headers: BTreeMap<String, String>,
        /// The body template.
        body: String,
    },
    /// A Slack-compatible incoming webhook: `{"text": …}`.
    Slack {
        /// The URL (usually a Secret value).
        url: String,
        /// The message template.
        text: String,
    },
    /// A commit status on a forge.
    CommitStatus {
        /// Which forge.
        forge: Forge,
        /// The API base URL.
        api: String,
        /// The token.
        token: String,
        /// The status context (`tack` unless set).
        context: String,
        /// The description template.
        description: String,
    },
}

/// One service.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Service {
    /// Its name, used by subscriptions.
    pub name: String,
    /// What it does.
    pub kind: ServiceKind,
}

/// One subscription: which triggers of which objects go to which services.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subscription {
    /// Its position in the list (identifies it for deduplication).
    pub index: usize,
    /// The triggers.
    pub triggers: BTreeSet<Trigger>,
    /// The services' names.
    pub services: Vec<String>,
    /// Namespaces of the objects; empty means all.
    pub namespaces: Vec<String>,
    /// Labels the objects must carry.
    pub selector: BTreeMap<String, String>,
    /// With `out-of-sync`: how long an application must stay out of sync.
    pub out_of_sync_after: Option<Duration>,
}

impl Subscription {
    /// Whether an object of `namespace` with `labels` is selected.
    pub fn selects(&self, namespace: &str, labels: &BTreeMap<String, String>) -> bool {
        (self.namespaces.is_empty() || self.namespaces.iter().any(|n| n == namespace))
            && self.selector.iter().all(|(k, v)| labels.get(k) == Some(v))
    }
}

/// A validated configuration.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Config {
    /// Services by name.
    pub services: BTreeMap<String, Service>,
    /// Subscriptions in order.
    pub subscriptions: Vec<Subscription>,
}

/// The default message of Slack services and commit-status descriptions.
pub const DEFAULT_TEXT: &str =
    "{{.kind}} {{.namespace}}/{{.name}}: {{.trigger}}{{with .revision}} at {{.}}{{end}}";

/// Parses and validates `yaml`, substituting `$key` in URLs, headers and tokens with `secrets`.
pub fn parse(yaml: &str, secrets: &Secrets) -> Result<Config, ConfigError> {
    let raw: RawConfig = serde_saphyr::from_str(yaml).map_err(|e| ConfigError::Yaml(e.to_string()))?;
    let mut services = BTreeMap::new();
    for s in raw.services {
        let service = service(s, secrets)?;
        if services.contains_key(&service.name) {
            return Err(ConfigError::Invalid(format!(
                "service {:?} is defined twice",
                service.name
            )));
        }
        services.insert(service.name.clone(), service);
    }
    let subscriptions = raw
        .subscriptions
        .into_iter()
        .enumerate()
        .map(|(i, s)| subscription(i, s, &services))
        .collect::<Result<_, _>>()?;
    Ok(Config {
        services,
        subscriptions,
    })
}

fn service(s: RawService, secrets: &Secrets) -> Result<Service, ConfigError> {
    let name = s.name.clone();
    if name.is_empty() {
        return Err(ConfigError::Invalid("a service has an empty name".into()));
    }
    let sub = |field: &str, v: &str| secrets.substitute(v).map_err(|key| missing(&name, field, key));
    let need = |field: &str, v: Option<String>| {
        v.filter(|v| !v.is_empty())
            .ok_or_else(|| ConfigError::Invalid(format!("service {name:?} (type {}) needs {field}", s.kind)))
    };
    let refuse = |field: &str, set: bool| {
        if set {
            Err(ConfigError::Invalid(format!(
                "service {name:?}: {field} is not a field of type {}",
                s.kind
            )))
        } else {
            Ok(())
        }
    };
    let kind = match s.kind.as_str() {
        "webhook" => {
            refuse("text", s.text.is_some())?;
            refuse(
                "api/token/context/description",
                s.api.is_some() || s.token.is_some() || s.context.is_some() || s.description.is_some(),
            )?;
            let url = sub("url", &need("url", s.url.clone())?)?;
            let method = s
                .method
                .clone()
                .unwrap_or_else(|| "POST".into())
                .to_ascii_uppercase();
            if !["GET", "POST", "PUT", "PATCH", "DELETE"].contains(&method.as_str()) {
                return Err(ConfigError::Invalid(format!(
                    "service {name:?}: method {method:?} is not one of GET, POST, PUT, PATCH, DELETE"
                )));
            }
            let mut headers = BTreeMap::new();
            for (k, v) in &s.headers {
                headers.insert(k.clone(), sub(&format!("header {k}"), v)?);
            }
            Service::check_url(&name, &url)?;
            ServiceKind::Webhook {
                url,
                method,
                headers,
                body: s.body.clone().unwrap_or_default(),
            }
        }
        "slack" => {
            refuse(
                "method/headers/body",
                s.method.is_some() || !s.headers.is_empty() || s.body.is_some(),
            )?;
            refuse(
                "api/token/context/description",
                s.api.is_some() || s.token.is_some() || s.context.is_some() || s.description.is_some(),
            )?;
            let url = sub("url", &need("url", s.url.clone())?)?;
            Service::check_url(&name, &url)?;
            ServiceKind::Slack {
                url,
                text: s.text.clone().unwrap_or_else(|| DEFAULT_TEXT.into()),
            }
        }
        "github" | "gitlab" | "gitea" => {
            refuse(
                "url/method/headers/body/text",
                s.url.is_some()
                    || s.method.is_some()
                    || !s.headers.is_empty()
                    || s.body.is_some()
                    || s.text.is_some(),
            )?;
            let forge = match s.kind.as_str() {
                "github" => Forge::GitHub,
                "gitlab" => Forge::GitLab,
                _ => Forge::Gitea,
            };
            let api = match (forge, s.api.clone()) {
                (_, Some(a)) if !a.is_empty() => a,
                (Forge::GitHub, _) => "https://api.github.com".into(),
                (Forge::GitLab, _) => "https://gitlab.com".into(),
                (Forge::Gitea, _) => {
                    return Err(ConfigError::Invalid(format!(
                        "service {name:?} (type gitea) needs api"
                    )));
                }
            };
            let api = sub("api", api.trim_end_matches('/'))?;
            Service::check_url(&name, &api)?;
            ServiceKind::CommitStatus {
                forge,
                api,
                token: sub("token", &need("token", s.token.clone())?)?,
                context: s.context.clone().unwrap_or_else(|| "tack".into()),
                description: s.description.clone().unwrap_or_else(|| DEFAULT_TEXT.into()),
            }
        }
        other => {
            return Err(ConfigError::Invalid(format!(
                "service {name:?}: type {other:?} is not one of webhook, slack, github, gitlab, gitea"
            )));
        }
    };
    Ok(Service { name, kind })
}

fn missing(service: &str, field: &str, key: String) -> ConfigError {
    ConfigError::MissingSecret {
        service: service.to_string(),
        field: field.to_string(),
        key,
    }
}

impl Service {
    fn check_url(name: &str, url: &str) -> Result<(), ConfigError> {
        if url.starts_with("http://") || url.starts_with("https://") {
            Ok(())
        } else {
            // The URL may hold a Secret value: it is not repeated.
            Err(ConfigError::Invalid(format!(
                "service {name:?}: the URL does not start with http:// or https://"
            )))
        }
    }

    /// Whether this service posts commit statuses (only applications have a commit).
    pub fn is_commit_status(&self) -> bool {
        matches!(self.kind, ServiceKind::CommitStatus { .. })
    }
}

fn subscription(
    index: usize,
    s: RawSubscription,
    services: &BTreeMap<String, Service>,
) -> Result<Subscription, ConfigError> {
    let at = format!("subscription {}", index + 1);
    if s.triggers.is_empty() || s.services.is_empty() {
        return Err(ConfigError::Invalid(format!(
            "{at} needs at least one trigger and one service"
        )));
    }
    let mut triggers = BTreeSet::new();
    for t in &s.triggers {
        let trigger = Trigger::parse(t).ok_or_else(|| {
            ConfigError::Invalid(format!(
                "{at}: trigger {t:?} is not one of {}",
                Trigger::names().join(", ")
            ))
        })?;
        triggers.insert(trigger);
    }
    for name in &s.services {
        let service = services
            .get(name)
            .ok_or_else(|| ConfigError::Invalid(format!("{at}: no service is named {name:?}")))?;
        if let Some(t) = triggers.iter().find(|t| !t.on_application())
            && service.is_commit_status()
        {
            return Err(ConfigError::Invalid(format!(
                "{at}: trigger {} is not about an application (no commit), so it cannot go to commit-status service {name:?}",
                t.name()
            )));
        }
    }
    let out_of_sync_after = match (&s.out_of_sync_after, triggers.contains(&Trigger::OutOfSync)) {
        (Some(d), true) => Some(
            humantime::parse_duration(d)
                .map_err(|e| ConfigError::Invalid(format!("{at}: outOfSyncAfter {d:?}: {e}")))?,
        ),
        (None, true) => {
            return Err(ConfigError::Invalid(format!(
                "{at}: trigger out-of-sync needs outOfSyncAfter (e.g. 5m)"
            )));
        }
        (Some(_), false) => {
            return Err(ConfigError::Invalid(format!(
                "{at}: outOfSyncAfter is only for trigger out-of-sync"
            )));
        }
        (None, false) => None,
    };
    Ok(Subscription {
        index,
        triggers,
        services: s.services,
        namespaces: s.namespaces,
        selector: s.selector,
        out_of_sync_after,
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn secrets() -> Secrets {
        Secrets::from_pairs([("token", "s3cr3t-value"), ("hook", "http://127.0.0.1:1/hook")])
    }

    const GOOD: &str = r#"
services:
  - name: hook
    type: webhook
    url: $hook
    headers: {Authorization: "Bearer $token"}
    body: '{"app": "{{.name}}"}'
  - name: gh
    type: github
    api: http://127.0.0.1:2
    token: $token
subscriptions:
  - triggers: [sync-succeeded, out-of-sync]
    services: [hook, gh]
    namespaces: [shop]
    selector: {team: a}
    outOfSyncAfter: 5m
"#;

    #[test]
    fn parses_and_substitutes_secrets() {
        let c = parse(GOOD, &secrets()).unwrap();
        let ServiceKind::Webhook {
            url, headers, method, ..
        } = &c.services["hook"].kind
        else {
            panic!()
        };
        assert_eq!(url, "http://127.0.0.1:1/hook");
        assert_eq!(method, "POST");
        assert_eq!(headers["Authorization"], "Bearer s3cr3t-value");
        let s = &c.subscriptions[0];
        assert_eq!(s.out_of_sync_after, Some(Duration::from_secs(300)));
        let labels = BTreeMap::from([("team".to_string(), "a".to_string())]);
        assert!(s.selects("shop", &labels));
        assert!(!s.selects("other", &labels));
        assert!(!s.selects("shop", &BTreeMap::new()));
    }

    #[test]
    fn missing_secret_key_is_named_without_values() {
        let e = parse(GOOD, &Secrets::from_pairs([("hook", "http://x")])).unwrap_err();
        assert_eq!(
            e.to_string(),
            "config.yaml: service \"hook\" header Authorization refers to $token, which Secret tack-notifications does not hold"
        );
    }

    #[test]
    fn refuses_what_it_cannot_do() {
        let cases = [
            (
                "services: [{name: a, type: email, url: 'http://x'}]",
                "type \"email\" is not one of",
            ),
            (
                "services: [{name: a, type: slack, url: 'http://x', body: b}]",
                "method/headers/body is not a field of type slack",
            ),
            (
                "services: [{name: a, type: slack, url: 'ftp://x'}]",
                "does not start with http",
            ),
            (
                "services: [{name: a, type: slack, url: 'http://x'}]\nsubscriptions: [{triggers: [nope], services: [a]}]",
                "trigger \"nope\" is not one of",
            ),
            (
                "services: [{name: a, type: slack, url: 'http://x'}]\nsubscriptions: [{triggers: [out-of-sync], services: [a]}]",
                "needs outOfSyncAfter",
            ),
            (
                "services: [{name: a, type: gitlab, token: t}]\nsubscriptions: [{triggers: [rollout-paused], services: [a]}]",
                "cannot go to commit-status service",
            ),
            ("services: [{name: a, type: gitea, token: t}]", "needs api"),
            (
                "subscriptions: [{triggers: [sync-failed], services: [b]}]",
                "no service is named \"b\"",
            ),
            ("bogus: 1", "unknown field"),
        ];
        for (yaml, want) in cases {
            let e = parse(yaml, &Secrets::default()).unwrap_err().to_string();
            assert!(e.contains(want), "{yaml}: {e}");
        }
    }
}

//! Who is calling and whether they may: no second RBAC system, Kubernetes' own.
//!
//! - [`Mode::Token`] (`tack controller --api-addr`): every request carries `Authorization: Bearer <token>` (a
//!   ServiceAccount token or any token the API server accepts, OIDC included). The token is verified with a
//!   TokenReview; every read and action is then checked with a SubjectAccessReview for the Kubernetes verb and
//!   resource it touches (list `gitopsconfigs`, patch `rollouts`, …). Answers are remembered briefly (tokens
//!   60 s by their SHA-256 digest, never as they are; decisions 10 s).
//! - [`Mode::Kubeconfig`] (`tack dashboard`): the caller is the kubeconfig's user. Reads come from watches made
//!   with those credentials and actions are sent with them, so the API server authorizes each one itself.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Json;
use axum::extract::{FromRequestParts, State};
use axum::http::HeaderMap;
use axum::http::request::Parts;
use k8s_openapi::api::authentication::v1::{TokenReview, TokenReviewSpec};
use k8s_openapi::api::authorization::v1::{ResourceAttributes, SubjectAccessReview, SubjectAccessReviewSpec};
use kube::api::{Api, PostParams};
use serde::Serialize;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::{ApiError, ApiState};

/// How long a verified token is trusted before it is reviewed again.
const TOKEN_TTL: Duration = Duration::from_secs(60);
/// How long an authorization decision is reused.
const DECISION_TTL: Duration = Duration::from_secs(10);
/// Remembered answers at most (the memory is cleared when it is full).
const CACHE_LIMIT: usize = 10_000;

/// Who callers are.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// The kubeconfig's user (a person's own machine).
    Kubeconfig,
    /// Whoever the request's bearer token names (in the cluster).
    Token,
}

/// A user as the API server's TokenReview names them.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct User {
    /// The user name (`system:serviceaccount:NS:NAME` for ServiceAccounts).
    pub username: String,
    /// The user's uid, when the authenticator gives one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub uid: Option<String>,
    /// The user's groups.
    pub groups: Vec<String>,
    /// Extra attributes (scopes, node names, …), passed on to SubjectAccessReviews.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub extra: BTreeMap<String, Vec<String>>,
}

/// The caller of one request.
#[derive(Clone, Debug)]
pub enum Caller {
    /// The kubeconfig's user: the API server authorizes what is sent with its credentials.
    Kubeconfig,
    /// A user authenticated by token.
    User(User),
}

/// A Kubernetes verb on a resource, as a SubjectAccessReview asks about it.
#[derive(Clone, Copy, Debug)]
pub struct Access<'a> {
    /// `get`, `list`, `watch`, `patch`, …
    pub verb: &'a str,
    /// The API group (`gitops.tack.dev`, `argoproj.io`, `events.k8s.io`).
    pub group: &'a str,
    /// The plural resource name.
    pub resource: &'a str,
    /// The namespace; `None` means every namespace.
    pub namespace: Option<&'a str>,
    /// One object's name.
    pub name: Option<&'a str>,
}

impl Access<'_> {
    /// `user "u" may not patch gitopsconfigs.gitops.tack.dev "web" in namespace "qa"`.
    pub(crate) fn refusal(&self, who: &str) -> String {
        let resource = if self.group.is_empty() {
            self.resource.to_string()
        } else {
            format!("{}.{}", self.resource, self.group)
        };
        let object = self.name.map(|n| format!(" \"{n}\"")).unwrap_or_default();
        let place = match self.namespace {
            Some(ns) => format!("in namespace \"{ns}\""),
            None => "in all namespaces".to_string(),
        };
        format!(
            "user \"{who}\" may not {} {resource}{object} {place} (Kubernetes RBAC; ask for a Role that allows it)",
            self.verb
        )
    }

    fn key(&self, user: &str) -> String {
        format!(
            "{user}\0{}\0{}\0{}\0{}\0{}",
            self.verb,
            self.group,
            self.resource,
            self.namespace.unwrap_or(""),
            self.name.unwrap_or("")
        )
    }
}

/// Authenticates callers and authorizes their requests, remembering answers briefly.
pub struct Authorizer {
    client: kube::Client,
    mode: Mode,
    tokens: Mutex<HashMap<[u8; 32], (User, Instant)>>,
    decisions: Mutex<HashMap<String, (bool, Instant)>>,
}

impl Authorizer {
    /// An authorizer asking the API server behind `client`.
    pub fn new(client: kube::Client, mode: Mode) -> Authorizer {
        Authorizer {
            client,
            mode,
            tokens: Mutex::default(),
            decisions: Mutex::default(),
        }
    }

    /// The caller of a request with these headers.
    pub async fn caller(&self, headers: &HeaderMap) -> Result<Caller, ApiError> {
        if self.mode == Mode::Kubeconfig {
            return Ok(Caller::Kubeconfig);
        }
        let token = bearer(headers).ok_or_else(|| {
            ApiError::Unauthorized(
                "send a Kubernetes bearer token: `Authorization: Bearer <token>` (for example from \
                 `kubectl create token SERVICEACCOUNT`)"
                    .into(),
            )
        })?;
        let digest: [u8; 32] = Sha256::digest(token.as_bytes()).into();
        if let Some(user) = remembered(&self.tokens, &digest, TOKEN_TTL) {
            return Ok(Caller::User(user));
        }
        let user = self.review(token).await?;
        remember(&self.tokens, digest, user.clone());
        Ok(Caller::User(user))
    }

    async fn review(&self, token: &str) -> Result<User, ApiError> {
        let review = TokenReview {
            spec: TokenReviewSpec {
                token: token.to_string(),
                audiences: None,
            },
            ..Default::default()
        };
        let api: Api<TokenReview> = Api::all(self.client.clone());
        let answer = api
            .create(&PostParams::default(), &review)
            .await
            .map_err(ApiError::kube("verifying the bearer token (TokenReview)"))?;
        let status = answer.status.unwrap_or_default();
        let user = status.user.filter(|_| status.authenticated == Some(true));
        let Some(user) = user else {
            return Err(ApiError::Unauthorized(
                "the API server does not accept this bearer token (expired, revoked or for another cluster)"
                    .into(),
            ));
        };
        Ok(User {
            username: user.username.unwrap_or_default(),
            uid: user.uid,
            groups: user.groups.unwrap_or_default(),
            extra: user.extra.unwrap_or_default().into_iter().collect(),
        })
    }

    /// Whether `caller` may do `access` (always, for the kubeconfig's user: the API server decides later).
    pub async fn allowed(&self, caller: &Caller, access: &Access<'_>) -> Result<bool, ApiError> {
        let Caller::User(user) = caller else {
            return Ok(true);
        };
        let key = access.key(&user.username);
        if let Some(decision) = remembered(&self.decisions, &key, DECISION_TTL) {
            return Ok(decision);
        }
        let review = SubjectAccessReview {
            spec: SubjectAccessReviewSpec {
                user: Some(user.username.clone()),
                uid: user.uid.clone(),
                groups: Some(user.groups.clone()),
                extra: (!user.extra.is_empty()).then(|| user.extra.clone().into_iter().collect()),
                resource_attributes: Some(ResourceAttributes {
                    verb: Some(access.verb.to_string()),
                    group: Some(access.group.to_string()),
                    resource: Some(access.resource.to_string()),
                    namespace: access.namespace.map(str::to_string),
                    name: access.name.map(str::to_string),
                    ..Default::default()
                }),
                ..Default::default()
            },
            ..Default::default()
        };
        let api: Api<SubjectAccessReview> = Api::all(self.client.clone());
        let answer = api
            .create(&PostParams::default(), &review)
            .await
            .map_err(ApiError::kube("authorizing the request (SubjectAccessReview)"))?;
        let decision = answer.status.is_some_and(|s| s.allowed);
        remember(&self.decisions, key, decision);
        Ok(decision)
    }

    /// `Ok` when `caller` may do `access`, else 403 naming the verb, the resource and the user.
    pub async fn require(&self, caller: &Caller, access: &Access<'_>) -> Result<(), ApiError> {
        if self.allowed(caller, access).await? {
            return Ok(());
        }
        let who = match caller {
            Caller::User(u) => u.username.as_str(),
            Caller::Kubeconfig => "kubeconfig",
        };
        Err(ApiError::Forbidden(access.refusal(who)))
    }
}

impl FromRequestParts<Arc<ApiState>> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &Arc<ApiState>) -> Result<Self, Self::Rejection> {
        state.auth.caller(&parts.headers).await
    }
}

/// The token of `Authorization: Bearer <token>`.
fn bearer(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(axum::http::header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

fn remembered<K: std::hash::Hash + Eq, V: Clone>(
    cache: &Mutex<HashMap<K, (V, Instant)>>,
    key: &K,
    ttl: Duration,
) -> Option<V> {
    let cache = cache.lock().ok()?;
    let (value, at) = cache.get(key)?;
    (at.elapsed() < ttl).then(|| value.clone())
}

fn remember<K: std::hash::Hash + Eq, V>(cache: &Mutex<HashMap<K, (V, Instant)>>, key: K, value: V) {
    if let Ok(mut cache) = cache.lock() {
        if cache.len() >= CACHE_LIMIT {
            cache.clear();
        }
        cache.insert(key, (value, Instant::now()));
    }
}

/// `GET /api/v1/whoami`: who the API thinks the caller is, and whether actions are allowed at all.
pub async fn whoami(State(state): State<Arc<ApiState>>, caller: Caller) -> Json<Value> {
    let user = match &caller {
        Caller::Kubeconfig => json!({"username": "(the kubeconfig's user)"}),
        Caller::User(u) => serde_json::to_value(u).unwrap_or(Value::Null),
    };
    Json(json!({
        "mode": match state.options.mode { Mode::Kubeconfig => "kubeconfig", Mode::Token => "token" },
        "user": user,
        "readOnly": state.options.read_only,
        "version": env!("CARGO_PKG_VERSION"),
    }))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn bearer_tokens() {
        let mut h = HeaderMap::new();
        assert_eq!(bearer(&h), None);
        h.insert("authorization", "Bearer abc.def".parse().unwrap());
        assert_eq!(bearer(&h), Some("abc.def"));
        h.insert("authorization", "bearer  xyz ".parse().unwrap());
        assert_eq!(bearer(&h), Some("xyz"));
        h.insert("authorization", "Basic dXNlcjpwYXNz".parse().unwrap());
        assert_eq!(bearer(&h), None);
        h.insert("authorization", "Bearer ".parse().unwrap());
        assert_eq!(bearer(&h), None);
    }

    #[test]
    fn refusals_name_the_verb_the_resource_and_the_user() {
        let a = Access {
            verb: "patch",
            group: "gitops.tack.dev",
            resource: "gitopsconfigs",
            namespace: Some("qa"),
            name: Some("web"),
        };
        assert_eq!(
            a.refusal("system:serviceaccount:qa:viewer"),
            "user \"system:serviceaccount:qa:viewer\" may not patch gitopsconfigs.gitops.tack.dev \"web\" \
             in namespace \"qa\" (Kubernetes RBAC; ask for a Role that allows it)"
        );
        let all = Access {
            verb: "list",
            group: "",
            resource: "events",
            namespace: None,
            name: None,
        };
        assert!(all.refusal("u").contains("list events in all namespaces"));
    }

    #[test]
    fn remembered_answers_expire() {
        let cache: Mutex<HashMap<String, (bool, Instant)>> = Mutex::default();
        remember(&cache, "k".to_string(), true);
        assert_eq!(remembered(&cache, &"k".to_string(), DECISION_TTL), Some(true));
        assert_eq!(remembered(&cache, &"k".to_string(), Duration::ZERO), None);
        assert_eq!(remembered(&cache, &"x".to_string(), DECISION_TTL), None);
    }
}

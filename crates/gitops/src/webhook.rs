//! The Git push webhook receiver: `POST /webhook/github`, `/webhook/gitlab`, `/webhook/gitea` and `/webhook`
//! (the provider told by its headers).
//!
//! A delivery is verified ([`tack_source::webhook`]: `X-Hub-Signature-256` for GitHub and Gitea — Gitea's own
//! `X-Gitea-Signature` is accepted too — and `X-Gitlab-Token` for GitLab), parsed, and every GitOpsConfig whose
//! `repoURL` is the pushed repository (any common spelling: scheme, `.git`, trailing `/`, case of the host) and
//! whose revision follows the pushed branch (or `HEAD` and the default branch, or the pushed tag) is refreshed
//! at once by setting [`REFRESH_ANNOTATION`](crate::REFRESH_ANNOTATION). Applications pinned to a tag or a
//! commit of that repository are refreshed on every push to it (the reconcile is cheap when nothing changed).
//! Because the refresh goes through the API server, any replica may receive the webhook: the leader reconciles.
//! The refreshes of one delivery are written [`REFRESHES_AT_ONCE`] at a time, those of applications whose source
//! path holds a file the push changed first (when the payload lists the changed files); an application whose
//! [`REFRESH_PATHS_ANNOTATION`] names none of them is not refreshed (see `push_paths.rs`).
//!
//! Answers: 202 with the refreshed applications, 200 for events that are not pushes (such as GitHub's `ping`),
//! 401 when the signature or token does not verify, 400 when the payload is not a push event, 413 when the body
//! is larger than [`BODY_LIMIT`], 503 when the GitOpsConfigs cannot be listed or [`CONCURRENCY`] deliveries are
//! already being handled (Git servers retry). Bodies are plain text. The secret is never logged nor echoed.
//!
//! Bounded: a body is refused before it is read when its `Content-Length` exceeds [`BODY_LIMIT`] (1 MiB, more
//! than any push payload), and while it streams when it grows past it; the signature is verified on that bounded
//! body. A permit is taken before the body is read, so at most `CONCURRENCY × BODY_LIMIT` bytes of bodies are in
//! memory at once. Refused deliveries are logged at most once per [`REFUSAL_LOG_INTERVAL`], with the count of
//! those not logged.

use std::borrow::Cow;
use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use futures::StreamExt;
use kube::ResourceExt;
use kube::api::{Api, ListParams};
use tack_model::GitOpsConfig;
use tack_source::Revision;
use tack_source::webhook::{
    GITEA_EVENT_HEADER, GITEA_SIGNATURE_HEADER, GITHUB_EVENT_HEADER, GITHUB_SIGNATURE_HEADER,
    GITLAB_EVENT_HEADER, GITLAB_TOKEN_HEADER, PushEvent, WebhookError,
};

pub use crate::push_paths::REFRESH_PATHS_ANNOTATION;

/// The field manager of refresh annotations written for webhooks.
pub const WEBHOOK_MANAGER: &str = "tack-webhook";

/// The largest body accepted: 1 MiB (a push of 20 commits is about 25 kB; GitHub caps payloads at 25 MB but
/// truncates the commit list, so real push payloads stay far below).
pub const BODY_LIMIT: usize = 1024 * 1024;

/// Deliveries handled at once; more are answered 503 at once, before their body is read.
pub const CONCURRENCY: usize = 8;

/// Refresh annotations written at once for one delivery (a push to a monorepo refreshes every application of it).
pub const REFRESHES_AT_ONCE: usize = 16;

/// When a push concerns more applications than this besides those whose path it changed, those others are
/// refreshed after the answer (202), not before.
pub const BACKGROUND_ABOVE: usize = 64;

/// Refused deliveries are logged at most once per this interval.
pub const REFUSAL_LOG_INTERVAL: Duration = Duration::from_secs(10);

/// The shared secret of the webhooks: the HMAC key (GitHub, Gitea) or the token (GitLab). Never printed.
#[derive(Clone)]
pub struct WebhookSecret(Arc<Vec<u8>>);

impl WebhookSecret {
    /// A secret from the bytes of a file or an environment variable; surrounding whitespace (a trailing newline)
    /// is dropped. `None` when nothing is left.
    pub fn new(bytes: &[u8]) -> Option<WebhookSecret> {
        let text = bytes.trim_ascii();
        (!text.is_empty()).then(|| WebhookSecret(Arc::new(text.to_vec())))
    }

    fn bytes(&self) -> &[u8] {
        &self.0
    }
}

impl std::fmt::Debug for WebhookSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("WebhookSecret(<redacted>)")
    }
}

/// The Git servers whose push webhooks are understood.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Provider {
    /// GitHub: `X-GitHub-Event`, signed with `X-Hub-Signature-256`.
    GitHub,
    /// GitLab: `X-Gitlab-Event`, authenticated with `X-Gitlab-Token`.
    GitLab,
    /// Gitea (and Forgejo): `X-Gitea-Event`, signed with `X-Gitea-Signature`.
    Gitea,
}

impl Provider {
    fn from_path(name: &str) -> Option<Provider> {
        match name.to_ascii_lowercase().as_str() {
            "github" => Some(Provider::GitHub),
            "gitlab" => Some(Provider::GitLab),
            "gitea" | "forgejo" => Some(Provider::Gitea),
            _ => None,
        }
    }

    /// The provider whose event header is present. Gitea also sends `X-GitHub-Event`, so it is looked at first.
    fn from_headers(headers: &HeaderMap) -> Option<Provider> {
        if headers.contains_key(GITEA_EVENT_HEADER) {
            Some(Provider::Gitea)
        } else if headers.contains_key(GITLAB_EVENT_HEADER) {
            Some(Provider::GitLab)
        } else if headers.contains_key(GITHUB_EVENT_HEADER) {
            Some(Provider::GitHub)
        } else {
            None
        }
    }
}

/// The JSON of a delivery: the body, or its `payload` field when it is sent as
/// `application/x-www-form-urlencoded` (GitHub's default content type; Gitea offers it too).
fn json_payload<'a>(headers: &HeaderMap, body: &'a [u8]) -> Cow<'a, [u8]> {
    let form = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.trim().starts_with("application/x-www-form-urlencoded"));
    if !form {
        return Cow::Borrowed(body);
    }
    form_urlencoded::parse(body)
        .find(|(k, _)| k == "payload")
        .map(|(_, v)| Cow::Owned(v.into_owned().into_bytes()))
        .unwrap_or(Cow::Borrowed(body))
}

/// Verifies and parses one delivery. Pure. `Ok(None)` for events that are not pushes. Signatures are checked
/// over the body as received; a form-encoded body is decoded afterwards.
pub fn parse_delivery(
    provider: Provider,
    headers: &HeaderMap,
    body: &[u8],
    secret: &WebhookSecret,
) -> Result<Option<PushEvent>, WebhookError> {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let secret = secret.bytes();
    let json = json_payload(headers, body);
    match provider {
        Provider::GitHub => {
            tack_source::webhook::verify_github_signature(secret, body, header(GITHUB_SIGNATURE_HEADER))?;
            tack_source::webhook::github_push(header(GITHUB_EVENT_HEADER), None, &json, None)
        }
        Provider::GitLab => tack_source::webhook::gitlab_push(
            header(GITLAB_EVENT_HEADER),
            header(GITLAB_TOKEN_HEADER),
            body,
            Some(secret),
        ),
        Provider::Gitea => {
            // Gitea sends both signatures; either one verified is enough.
            let event = header(GITEA_EVENT_HEADER).or_else(|| header(GITHUB_EVENT_HEADER));
            match (header(GITEA_SIGNATURE_HEADER), header(GITHUB_SIGNATURE_HEADER)) {
                (None, Some(github)) => {
                    tack_source::webhook::verify_github_signature(secret, body, Some(github))?;
                    tack_source::webhook::gitea_push(event, None, &json, None)
                }
                (gitea, _) => {
                    tack_source::webhook::verify_gitea_signature(secret, body, gitea)?;
                    tack_source::webhook::gitea_push(event, None, &json, None)
                }
            }
        }
    }
}

/// Whether a push must refresh an application following `repo_url` at `revision`. Pure.
pub fn must_refresh(push: &PushEvent, repo_url: &str, revision: &str) -> bool {
    if !push.matches_repo(repo_url) {
        return false;
    }
    let revision = Revision::parse(revision);
    match revision {
        // A tag may have been moved, and a pinned commit may only now have been pushed.
        Revision::Tag(_) | Revision::Commit(_) => true,
        other => push.concerns(repo_url, &other),
    }
}

#[derive(Clone)]
struct WebhookState {
    client: kube::Client,
    namespace: Option<String>,
    secret: WebhookSecret,
    permits: Arc<tokio::sync::Semaphore>,
    refusals: Arc<RefusalLog>,
    /// GitOpsConfigs per LIST request.
    page: u32,
}

/// Logs refusals at most once per interval, counting the others.
#[derive(Debug)]
pub struct RefusalLog {
    interval: Duration,
    state: Mutex<(Option<Instant>, u64)>,
}

impl RefusalLog {
    /// Logs at most one refusal per `interval`.
    pub fn new(interval: Duration) -> RefusalLog {
        RefusalLog {
            interval,
            state: Mutex::new((None, 0)),
        }
    }

    /// The line to log for a refusal at `now`, or `None` when one was logged less than the interval ago (this
    /// one is then counted in the next line).
    pub fn line(&self, now: Instant, what: &str) -> Option<String> {
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        let (last, skipped) = &mut *state;
        if last.is_some_and(|t| now.duration_since(t) < self.interval) {
            *skipped += 1;
            return None;
        }
        let line = match *skipped {
            0 => format!("webhook refused: {what}"),
            n => format!("webhook refused: {what} ({n} more refused since the last report)"),
        };
        *last = Some(now);
        *skipped = 0;
        Some(line)
    }

    fn log(&self, what: &str) {
        if let Some(line) = self.line(Instant::now(), what) {
            tracing::warn!("{line}");
        }
    }
}

/// GitOpsConfigs listed per page: a push to a repository of thousands of applications holds one page of them
/// at a time, not all.
const LIST_PAGE: u32 = 250;

/// The applications a push concerns, as (namespace, name): those whose path it changed, the others that follow
/// the pushed branch, and (as `namespace/name`) those that name the paths they read when it changed none.
async fn sort_applications(
    api: &Api<GitOpsConfig>,
    push: &PushEvent,
    changed: Option<&BTreeSet<String>>,
    page_size: u32,
) -> Result<(Vec<(String, String)>, Vec<(String, String)>, Vec<String>), kube::Error> {
    let (mut first, mut then, mut unchanged) = (Vec::new(), Vec::new(), Vec::new());
    let mut params = ListParams::default().limit(page_size);
    loop {
        let page = api.list(&params).await?;
        for app in &page.items {
            let revision = app.spec.source.revision.as_deref().unwrap_or("");
            if !must_refresh(push, &app.spec.source.repo_url, revision) {
                continue;
            }
            let named = app
                .annotations()
                .get(REFRESH_PATHS_ANNOTATION)
                .map(String::as_str);
            let dirs = crate::push_paths::watched_dirs(app.spec.source.path.as_deref().unwrap_or(""), named);
            let key = (app.namespace().unwrap_or_default(), app.name_any());
            match changed.map(|files| crate::push_paths::touches(files, &dirs)) {
                Some(true) => first.push(key),
                Some(false) if named.is_some() => unchanged.push(format!("{}/{}", key.0, key.1)),
                _ => then.push(key),
            }
        }
        match page.metadata.continue_.filter(|c| !c.is_empty()) {
            Some(token) => params = params.continue_token(&token),
            None => return Ok((first, then, unchanged)),
        }
    }
}

/// The webhook routes. `namespace` limits the GitOpsConfigs looked at (all namespaces when `None`).
pub fn router(client: kube::Client, namespace: Option<String>, secret: WebhookSecret) -> Router {
    router_paged(client, namespace, secret, LIST_PAGE)
}

/// [`router`], listing the GitOpsConfigs `page` at a time.
pub fn router_paged(
    client: kube::Client,
    namespace: Option<String>,
    secret: WebhookSecret,
    page: u32,
) -> Router {
    Router::new()
        .route("/webhook", post(receive_any))
        .route("/webhook/{provider}", post(receive_named))
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .with_state(WebhookState {
            client,
            namespace,
            secret,
            permits: Arc::new(tokio::sync::Semaphore::new(CONCURRENCY)),
            refusals: Arc::new(RefusalLog::new(REFUSAL_LOG_INTERVAL)),
            page: page.max(1),
        })
}

/// Reads at most [`BODY_LIMIT`] bytes of `body`: refused from its `Content-Length` before reading, or as soon as
/// it grows past the limit.
async fn bounded_body(state: &WebhookState, headers: &HeaderMap, body: Body) -> Result<Bytes, Response> {
    let too_large = || {
        state
            .refusals
            .log(&format!("body larger than {BODY_LIMIT} bytes"));
        plain(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!("refused: the body is larger than {BODY_LIMIT} bytes"),
        )
    };
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    if declared.is_some_and(|n| n > BODY_LIMIT as u64) {
        return Err(too_large());
    }
    let mut stream = body.into_data_stream();
    let mut buf: Vec<u8> = Vec::new();
    while let Some(chunk) = stream.next().await {
        let chunk =
            chunk.map_err(|e| plain(StatusCode::BAD_REQUEST, format!("cannot read the body: {e}")))?;
        if buf.len() + chunk.len() > BODY_LIMIT {
            return Err(too_large());
        }
        buf.extend_from_slice(&chunk);
    }
    Ok(Bytes::from(buf))
}

/// Takes a permit, reads the bounded body and handles the delivery.
async fn admit(state: &WebhookState, provider: Provider, headers: &HeaderMap, body: Body) -> Response {
    let Ok(_permit) = state.permits.clone().try_acquire_owned() else {
        state.refusals.log("too many deliveries at once");
        return plain(
            StatusCode::SERVICE_UNAVAILABLE,
            format!("busy: {CONCURRENCY} deliveries are being handled; retry later"),
        );
    };
    match bounded_body(state, headers, body).await {
        Ok(bytes) => receive(state, provider, headers, &bytes).await,
        Err(response) => response,
    }
}

/// Sets the refresh annotation of `apps` ([`REFRESHES_AT_ONCE`] at a time); `namespace/name` of each, or why it
/// failed.
async fn refresh_all(
    client: &kube::Client,
    apps: Vec<(String, String)>,
    patch: &serde_json::Value,
) -> Vec<Result<String, String>> {
    futures::stream::iter(apps)
        .map(|(ns, name)| refresh(client.clone(), ns, name, patch.clone()))
        .buffered(REFRESHES_AT_ONCE)
        .collect()
        .await
}

/// Sets the refresh annotation of one application; `namespace/name`, or why it failed.
async fn refresh(
    client: kube::Client,
    ns: String,
    name: String,
    patch: serde_json::Value,
) -> Result<String, String> {
    let key = format!("{ns}/{name}");
    match crate::request_refresh(&client, (&ns, &name), &patch, WEBHOOK_MANAGER).await {
        Ok(_) => Ok(key),
        Err(e) => Err(format!("{key}: {e}")),
    }
}

fn plain(status: StatusCode, text: String) -> Response {
    (status, format!("{}\n", text.trim_end())).into_response()
}

async fn receive_named(
    State(state): State<WebhookState>,
    Path(provider): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    match Provider::from_path(&provider) {
        Some(p) => admit(&state, p, &headers, body).await,
        None => plain(
            StatusCode::NOT_FOUND,
            format!(
                "unknown Git server {provider:?}: use /webhook/github, /webhook/gitlab or /webhook/gitea"
            ),
        ),
    }
}

async fn receive_any(State(state): State<WebhookState>, headers: HeaderMap, body: Body) -> Response {
    match Provider::from_headers(&headers) {
        Some(p) => admit(&state, p, &headers, body).await,
        None => plain(
            StatusCode::BAD_REQUEST,
            format!(
                "cannot tell the Git server: none of the headers {GITHUB_EVENT_HEADER}, {GITLAB_EVENT_HEADER}, \
                 {GITEA_EVENT_HEADER} is present; use /webhook/github, /webhook/gitlab or /webhook/gitea"
            ),
        ),
    }
}

async fn receive(state: &WebhookState, provider: Provider, headers: &HeaderMap, body: &[u8]) -> Response {
    let push = match parse_delivery(provider, headers, body, &state.secret) {
        Ok(Some(push)) => push,
        Ok(None) => {
            return plain(
                StatusCode::OK,
                format!("{provider:?} event ignored: only push events trigger a refresh"),
            );
        }
        Err(e) => {
            let status = match e {
                WebhookError::BadPayload { .. } => StatusCode::BAD_REQUEST,
                _ => StatusCode::UNAUTHORIZED,
            };
            state.refusals.log(&format!("{provider:?}: {e}"));
            return plain(status, format!("refused: {e}"));
        }
    };
    let api: Api<GitOpsConfig> = match &state.namespace {
        Some(ns) => Api::namespaced(state.client.clone(), ns),
        None => Api::all(state.client.clone()),
    };
    // Applications whose path the push changed are refreshed first; those that name the paths they read and
    // had none changed are not refreshed (when the payload lists every changed file).
    let changed = crate::push_paths::changed_files(&json_payload(headers, body));
    let (first, mut then, unchanged) =
        match sort_applications(&api, &push, changed.as_ref(), state.page).await {
            Ok(sorted) => sorted,
            Err(e) => {
                tracing::warn!("webhook: cannot list GitOpsConfigs: {e}");
                return plain(
                    StatusCode::SERVICE_UNAVAILABLE,
                    format!(
                        "cannot list the GitOpsConfigs to refresh: {e}; the Git server may retry the delivery"
                    ),
                );
            }
        };
    let stamp = format!("{} {}", k8s_openapi::jiff::Timestamp::now(), push.after);
    let patch = crate::refresh_patch(&stamp);
    // Those the push touched are refreshed before the answer; so are the others when they are few. Many others
    // (a monorepo) are refreshed after the answer, so that the Git server does not time out waiting.
    let later = (then.len() > BACKGROUND_ABOVE).then(|| std::mem::take(&mut then));
    let mut results = refresh_all(&state.client, first, &patch).await;
    results.extend(refresh_all(&state.client, then, &patch).await);
    let background = later.as_ref().map_or(0, Vec::len);
    if let Some(later) = later {
        let (client, patch) = (state.client.clone(), patch.clone());
        tokio::spawn(async move {
            let failed: Vec<String> = refresh_all(&client, later, &patch)
                .await
                .into_iter()
                .filter_map(Result::err)
                .collect();
            if !failed.is_empty() {
                tracing::warn!(
                    "webhook: could not refresh {} application(s) (they follow their interval): {}",
                    failed.len(),
                    failed.join("; ")
                );
            }
        });
    }
    let (refreshed, failed): (Vec<_>, Vec<_>) = results.into_iter().partition(Result::is_ok);
    let refreshed: Vec<String> = refreshed.into_iter().flatten().collect();
    let failed: Vec<String> = failed.into_iter().filter_map(Result::err).collect();
    let repo = push.repo_urls.first().cloned().unwrap_or_default();
    tracing::info!(
        provider = ?provider, repository = %repo, reference = %push.reference, commit = %push.after,
        refreshed = refreshed.len(), not_refreshed = unchanged.len(),
        first = ?refreshed.iter().take(5).collect::<Vec<_>>(), "webhook: push received"
    );
    if !failed.is_empty() {
        return plain(
            StatusCode::INTERNAL_SERVER_ERROR,
            format!(
                "push to {} of {repo}: refreshed {} application(s), could not refresh {}:\n{}",
                push.reference,
                refreshed.len(),
                failed.len(),
                failed.join("\n")
            ),
        );
    }
    let mut text = format!(
        "push to {} of {repo}: refreshed {} application(s)",
        push.reference,
        refreshed.len()
    );
    if refreshed.is_empty() && unchanged.is_empty() && background == 0 {
        text.push_str(" (no GitOpsConfig follows this repository at this reference)");
    }
    if background > 0 {
        text.push_str(&format!(
            "; {background} more, whose path the push did not change (or did not say), are being refreshed"
        ));
    }
    if !unchanged.is_empty() {
        text.push_str(&format!(
            "; {} not refreshed: none of the paths in their {REFRESH_PATHS_ANNOTATION} annotation changed",
            unchanged.len()
        ));
    }
    for r in &refreshed {
        text.push('\n');
        text.push_str(r);
    }
    plain(StatusCode::ACCEPTED, text)
}

#[cfg(test)]
mod tests {
    use super::*;
    use hmac::{Hmac, KeyInit, Mac};
    use sha2::Sha256;

    fn sign(secret: &[u8], body: &[u8]) -> String {
        let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(secret).expect("any key length");
        mac.update(body);
        hex::encode(mac.finalize().into_bytes())
    }

    const BODY: &str = r#"{"ref":"refs/heads/main","after":"59b20b8d5c6ff8d09518454d4dd8b7b30f095ab5",
        "repository":{"clone_url":"https://github.com/acme/guestbook.git","html_url":"https://github.com/acme/guestbook",
        "default_branch":"main"}}"#;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, v.parse().expect("header value"));
        }
        h
    }

    #[test]
    fn refusals_are_logged_once_per_interval_with_a_count() {
        let log = RefusalLog::new(Duration::from_secs(10));
        let t0 = Instant::now();
        assert_eq!(
            log.line(t0, "bad signature").as_deref(),
            Some("webhook refused: bad signature")
        );
        for i in 1..=99 {
            assert_eq!(
                log.line(t0 + Duration::from_millis(i * 50), "bad signature"),
                None
            );
        }
        assert_eq!(
            log.line(t0 + Duration::from_secs(11), "bad signature").as_deref(),
            Some("webhook refused: bad signature (99 more refused since the last report)")
        );
    }

    #[test]
    fn secret_is_trimmed_and_redacted() {
        let s = WebhookSecret::new(b"  s3cret\n").expect("non-empty");
        assert_eq!(s.bytes(), b"s3cret");
        assert!(!format!("{s:?}").contains("s3cret"));
        assert!(WebhookSecret::new(b" \n").is_none());
    }

    #[test]
    fn github_and_gitea_signatures() {
        let secret = WebhookSecret::new(b"k").expect("secret");
        let sig = sign(b"k", BODY.as_bytes());
        let gh = headers(&[
            ("x-github-event", "push"),
            ("x-hub-signature-256", &format!("sha256={sig}")),
        ]);
        let push = parse_delivery(Provider::GitHub, &gh, BODY.as_bytes(), &secret)
            .expect("verified")
            .expect("push");
        assert_eq!(push.branch(), Some("main"));
        let bad = headers(&[("x-github-event", "push"), ("x-hub-signature-256", "sha256=00")]);
        assert!(matches!(
            parse_delivery(Provider::GitHub, &bad, BODY.as_bytes(), &secret),
            Err(WebhookError::BadSignature { .. })
        ));
        // Gitea with only the GitHub-style header, and with its own.
        let gitea_hub = headers(&[
            ("x-gitea-event", "push"),
            ("x-hub-signature-256", &format!("sha256={sig}")),
        ]);
        assert!(
            parse_delivery(Provider::Gitea, &gitea_hub, BODY.as_bytes(), &secret)
                .expect("verified")
                .is_some()
        );
        let gitea_own = headers(&[("x-gitea-event", "push"), ("x-gitea-signature", &sig)]);
        assert_eq!(Provider::from_headers(&gitea_own), Some(Provider::Gitea));
        assert!(
            parse_delivery(Provider::Gitea, &gitea_own, BODY.as_bytes(), &secret)
                .expect("verified")
                .is_some()
        );
        let unsigned = headers(&[("x-gitea-event", "push")]);
        assert!(matches!(
            parse_delivery(Provider::Gitea, &unsigned, BODY.as_bytes(), &secret),
            Err(WebhookError::MissingSignature { .. })
        ));
        let gitlab = headers(&[("x-gitlab-event", "Push Hook"), ("x-gitlab-token", "wrong")]);
        assert_eq!(Provider::from_headers(&gitlab), Some(Provider::GitLab));
        assert!(matches!(
            parse_delivery(Provider::GitLab, &gitlab, BODY.as_bytes(), &secret),
            Err(WebhookError::BadSignature { .. })
        ));
    }

    #[test]
    fn form_encoded_github_delivery() {
        let secret = WebhookSecret::new(b"k").expect("secret");
        let form: String = form_urlencoded::Serializer::new(String::new())
            .append_pair("payload", BODY)
            .finish();
        let sig = sign(b"k", form.as_bytes());
        let h = headers(&[
            ("x-github-event", "push"),
            ("x-hub-signature-256", &format!("sha256={sig}")),
            ("content-type", "application/x-www-form-urlencoded"),
        ]);
        let push = parse_delivery(Provider::GitHub, &h, form.as_bytes(), &secret)
            .expect("verified over the raw body")
            .expect("push");
        assert_eq!(push.after, "59b20b8d5c6ff8d09518454d4dd8b7b30f095ab5");
        // A signature over the decoded JSON does not verify: GitHub signs what it sends.
        let h = headers(&[
            ("x-github-event", "push"),
            (
                "x-hub-signature-256",
                &format!("sha256={}", sign(b"k", BODY.as_bytes())),
            ),
            ("content-type", "application/x-www-form-urlencoded"),
        ]);
        assert!(parse_delivery(Provider::GitHub, &h, form.as_bytes(), &secret).is_err());
    }

    #[test]
    fn which_applications_are_refreshed() {
        let push = PushEvent {
            repo_urls: vec!["https://github.com/acme/guestbook.git".into()],
            reference: "refs/heads/main".into(),
            after: "59b20b8d5c6ff8d09518454d4dd8b7b30f095ab5".into(),
            default_branch: Some("main".into()),
        };
        for url in [
            "https://github.com/acme/guestbook",
            "https://GitHub.com/acme/guestbook.git/",
            "http://github.com/acme/guestbook",
            "git@github.com:acme/guestbook.git",
        ] {
            assert!(must_refresh(&push, url, "main"), "{url}");
            assert!(must_refresh(&push, url, ""), "{url} at HEAD");
        }
        assert!(!must_refresh(&push, "https://github.com/acme/other", "main"));
        assert!(!must_refresh(
            &push,
            "https://github.com/acme/guestbook",
            "release"
        ));
        assert!(must_refresh(
            &push,
            "https://github.com/acme/guestbook",
            "refs/tags/v1"
        ));
        assert!(must_refresh(
            &push,
            "https://github.com/acme/guestbook",
            "0123456789abcdef0123456789abcdef01234567"
        ));
    }
}

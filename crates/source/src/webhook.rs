//! Git push webhooks (GitHub and GitLab): verification and parsing. Pure functions; the controller mounts
//! the HTTP endpoint and passes the header values and the raw body here.

use hmac::{Hmac, KeyInit, Mac};
use serde::Deserialize;
use sha2::Sha256;
use subtle::ConstantTimeEq;

use crate::revision::Revision;
use crate::url::normalize_repo_url;

/// A push, reduced to what tack needs to find the GitOpsConfigs to refresh.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PushEvent {
    /// The repository's URLs as the payload spells them (clone URL, web URL, SSH URL, ...).
    pub repo_urls: Vec<String>,
    /// The pushed ref, such as `refs/heads/main` or `refs/tags/v1.2.0`.
    pub reference: String,
    /// The commit the ref points to after the push; all zeros when the ref was deleted.
    pub after: String,
    /// The repository's default branch, when the payload says (GitHub and GitLab do).
    pub default_branch: Option<String>,
}

impl PushEvent {
    /// The branch name when a branch was pushed.
    pub fn branch(&self) -> Option<&str> {
        self.reference.strip_prefix("refs/heads/")
    }

    /// The tag name when a tag was pushed.
    pub fn tag(&self) -> Option<&str> {
        self.reference.strip_prefix("refs/tags/")
    }

    /// Whether the ref was deleted by this push.
    pub fn is_deletion(&self) -> bool {
        !self.after.is_empty() && self.after.bytes().all(|b| b == b'0')
    }

    /// Whether this push may change what `repo_url` at `revision` resolves to, so that a source following it
    /// must be refreshed: same repository, and the pushed branch or tag is the one followed (`HEAD` follows the
    /// default branch, or any branch when the payload does not name it). A pinned commit never changes.
    pub fn concerns(&self, repo_url: &str, revision: &Revision) -> bool {
        if !self.matches_repo(repo_url) {
            return false;
        }
        match revision {
            Revision::Head => match (self.branch(), &self.default_branch) {
                (Some(b), Some(default)) => b == default,
                (Some(_), None) => true,
                (None, _) => false,
            },
            Revision::Branch(b) => self.branch() == Some(b.as_str()),
            Revision::Tag(t) => self.tag() == Some(t.as_str()),
            Revision::Name(n) => self.branch() == Some(n.as_str()) || self.tag() == Some(n.as_str()),
            Revision::Commit(_) => false,
        }
    }

    /// Whether this push concerns `repo_url` (any common spelling; see [`normalize_repo_url`]).
    pub fn matches_repo(&self, repo_url: &str) -> bool {
        let wanted = normalize_repo_url(repo_url);
        self.repo_urls
            .iter()
            .any(|u| normalize_repo_url(u).eq_ignore_ascii_case(&wanted))
    }
}

/// Why a webhook request is refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum WebhookError {
    /// The request carries no signature or token header.
    #[error("missing {header} header; configure the webhook secret on the Git server")]
    MissingSignature {
        /// The header expected.
        header: &'static str,
    },
    /// The signature or token does not match the configured secret.
    #[error("{header} does not match the payload; check that the webhook secret is the same on both sides")]
    BadSignature {
        /// The header checked.
        header: &'static str,
    },
    /// The signature header is not in the provider's format.
    #[error("malformed {header} header: expected {expected}")]
    MalformedSignature {
        /// The header.
        header: &'static str,
        /// The format expected (`sha256=<hex>`, ...).
        expected: &'static str,
    },
    /// The body is not a push event of the provider.
    #[error("the payload is not a valid {provider} push event: {reason}")]
    BadPayload {
        /// The provider (`GitHub`, `Gitea`, `GitLab`).
        provider: &'static str,
        /// Why it does not parse.
        reason: String,
    },
}

/// The header naming a GitHub event (`push`, `ping`).
pub const GITHUB_EVENT_HEADER: &str = "X-GitHub-Event";
/// The header carrying GitHub's `sha256=<hex HMAC-SHA256 of the body>` signature.
pub const GITHUB_SIGNATURE_HEADER: &str = "X-Hub-Signature-256";
/// The header naming a Gitea event.
pub const GITEA_EVENT_HEADER: &str = "X-Gitea-Event";
/// The header carrying Gitea's hex HMAC-SHA256 signature of the body.
pub const GITEA_SIGNATURE_HEADER: &str = "X-Gitea-Signature";
/// The header naming a GitLab event (`Push Hook`).
pub const GITLAB_EVENT_HEADER: &str = "X-Gitlab-Event";
/// The header carrying GitLab's secret token, in clear (compared in constant time).
pub const GITLAB_TOKEN_HEADER: &str = "X-Gitlab-Token";

/// Verifies `X-Hub-Signature-256` (`sha256=<hex HMAC-SHA256 of the body keyed with the secret>`) in constant
/// time.
pub fn verify_github_signature(secret: &[u8], body: &[u8], header: Option<&str>) -> Result<(), WebhookError> {
    let h = GITHUB_SIGNATURE_HEADER;
    let value = header.ok_or(WebhookError::MissingSignature { header: h })?;
    let hex_sig = value
        .trim()
        .strip_prefix("sha256=")
        .ok_or(WebhookError::MalformedSignature {
            header: h,
            expected: "sha256=<64 hex digits>",
        })?;
    verify_hmac_sha256(secret, body, hex_sig, h)
}

/// Verifies `X-Gitea-Signature` (the hex HMAC-SHA256 of the body keyed with the secret, without prefix) in
/// constant time. Gitea and Forgejo send it.
pub fn verify_gitea_signature(secret: &[u8], body: &[u8], header: Option<&str>) -> Result<(), WebhookError> {
    let h = GITEA_SIGNATURE_HEADER;
    let value = header.ok_or(WebhookError::MissingSignature { header: h })?;
    verify_hmac_sha256(secret, body, value.trim(), h)
}

fn verify_hmac_sha256(
    secret: &[u8],
    body: &[u8],
    hex_sig: &str,
    h: &'static str,
) -> Result<(), WebhookError> {
    let expected = hex::decode(hex_sig).map_err(|_| WebhookError::MalformedSignature {
        header: h,
        expected: "hex digits",
    })?;
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(secret)
        .map_err(|_| WebhookError::BadSignature { header: h })?;
    mac.update(body);
    mac.verify_slice(&expected)
        .map_err(|_| WebhookError::BadSignature { header: h })
}

/// Verifies `X-Gitlab-Token` against the secret in constant time.
pub fn verify_gitlab_token(secret: &[u8], header: Option<&str>) -> Result<(), WebhookError> {
    let h = GITLAB_TOKEN_HEADER;
    let value = header.ok_or(WebhookError::MissingSignature { header: h })?;
    if bool::from(value.as_bytes().ct_eq(secret)) {
        Ok(())
    } else {
        Err(WebhookError::BadSignature { header: h })
    }
}

#[derive(Deserialize)]
struct GithubPush {
    #[serde(rename = "ref")]
    reference: String,
    after: String,
    repository: GithubRepository,
}

#[derive(Deserialize)]
struct GithubRepository {
    clone_url: Option<String>,
    html_url: Option<String>,
    ssh_url: Option<String>,
    git_url: Option<String>,
    url: Option<String>,
    svn_url: Option<String>,
    default_branch: Option<String>,
}

/// Parses a GitHub webhook. `event` is the `X-GitHub-Event` header; non-push events (such as `ping`) give
/// `Ok(None)`. With `secret` set, `X-Hub-Signature-256` must verify; without it nothing is verified (the caller
/// decides whether that is acceptable).
pub fn github_push(
    event: Option<&str>,
    signature_256: Option<&str>,
    body: &[u8],
    secret: Option<&[u8]>,
) -> Result<Option<PushEvent>, WebhookError> {
    if let Some(secret) = secret {
        verify_github_signature(secret, body, signature_256)?;
    }
    if event.map(str::trim) != Some("push") {
        return Ok(None);
    }
    parse_github_shaped(body, "GitHub").map(Some)
}

/// Parses a Gitea (or Forgejo) webhook: `X-Gitea-Event` and `X-Gitea-Signature`; the payload has GitHub's
/// shape. Non-push events give `Ok(None)`.
pub fn gitea_push(
    event: Option<&str>,
    signature: Option<&str>,
    body: &[u8],
    secret: Option<&[u8]>,
) -> Result<Option<PushEvent>, WebhookError> {
    if let Some(secret) = secret {
        verify_gitea_signature(secret, body, signature)?;
    }
    if event.map(str::trim) != Some("push") {
        return Ok(None);
    }
    parse_github_shaped(body, "Gitea").map(Some)
}

fn parse_github_shaped(body: &[u8], provider: &'static str) -> Result<PushEvent, WebhookError> {
    let p: GithubPush = serde_json::from_slice(body).map_err(|e| WebhookError::BadPayload {
        provider,
        reason: e.to_string(),
    })?;
    let r = p.repository;
    let default_branch = r.default_branch;
    let urls = [r.clone_url, r.html_url, r.ssh_url, r.git_url, r.svn_url, r.url];
    Ok(PushEvent {
        repo_urls: dedup(urls),
        reference: p.reference,
        after: p.after,
        default_branch,
    })
}

#[derive(Deserialize)]
struct GitlabPush {
    #[serde(rename = "ref")]
    reference: String,
    after: String,
    project: Option<GitlabProject>,
    repository: Option<GitlabRepository>,
}

#[derive(Deserialize)]
struct GitlabProject {
    git_http_url: Option<String>,
    git_ssh_url: Option<String>,
    web_url: Option<String>,
    http_url: Option<String>,
    ssh_url: Option<String>,
    url: Option<String>,
    default_branch: Option<String>,
}

#[derive(Deserialize)]
struct GitlabRepository {
    git_http_url: Option<String>,
    git_ssh_url: Option<String>,
    homepage: Option<String>,
    url: Option<String>,
}

/// Parses a GitLab webhook. `event` is the `X-Gitlab-Event` header: `Push Hook` and `Tag Push Hook` are
/// parsed, other events give `Ok(None)`. With `secret` set, `X-Gitlab-Token` must equal it.
pub fn gitlab_push(
    event: Option<&str>,
    token: Option<&str>,
    body: &[u8],
    secret: Option<&[u8]>,
) -> Result<Option<PushEvent>, WebhookError> {
    if let Some(secret) = secret {
        verify_gitlab_token(secret, token)?;
    }
    if !matches!(event.map(str::trim), Some("Push Hook" | "Tag Push Hook")) {
        return Ok(None);
    }
    let p: GitlabPush = serde_json::from_slice(body).map_err(|e| WebhookError::BadPayload {
        provider: "GitLab",
        reason: e.to_string(),
    })?;
    let mut urls = Vec::new();
    let mut default_branch = None;
    if let Some(pr) = p.project {
        default_branch = pr.default_branch;
        urls.extend([
            pr.git_http_url,
            pr.git_ssh_url,
            pr.web_url,
            pr.http_url,
            pr.ssh_url,
            pr.url,
        ]);
    }
    if let Some(r) = p.repository {
        urls.extend([r.git_http_url, r.git_ssh_url, r.homepage, r.url]);
    }
    let repo_urls = dedup(urls);
    if repo_urls.is_empty() {
        return Err(WebhookError::BadPayload {
            provider: "GitLab",
            reason: "no repository URL in the payload".into(),
        });
    }
    Ok(Some(PushEvent {
        repo_urls,
        reference: p.reference,
        after: p.after,
        default_branch,
    }))
}

fn dedup(urls: impl IntoIterator<Item = Option<String>>) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for u in urls.into_iter().flatten() {
        if !u.is_empty() && !out.contains(&u) {
            out.push(u);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const GITHUB_BODY: &str = r#"{
      "ref": "refs/heads/main",
      "before": "6113728f27ae82c7b1a177c8d03f9e96e0adf246",
      "after": "59b20b8d5c6ff8d09518454d4dd8b7b30f095ab5",
      "repository": {
        "id": 186853002, "name": "guestbook", "full_name": "acme/guestbook", "private": false,
        "html_url": "https://github.com/acme/guestbook",
        "url": "https://github.com/acme/guestbook",
        "git_url": "git://github.com/acme/guestbook.git",
        "ssh_url": "git@github.com:acme/guestbook.git",
        "clone_url": "https://github.com/acme/guestbook.git",
        "svn_url": "https://github.com/acme/guestbook",
        "default_branch": "main"
      },
      "pusher": {"name": "octocat", "email": "octocat@example.com"},
      "head_commit": {"id": "59b20b8d5c6ff8d09518454d4dd8b7b30f095ab5", "message": "Scale frontend"}
    }"#;

    fn sign(secret: &[u8], body: &[u8]) -> String {
        let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(secret).expect("any key length");
        mac.update(body);
        format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
    }

    #[test]
    fn github_known_signature() {
        // The example from GitHub's documentation on validating webhook deliveries.
        let sig = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17";
        assert_eq!(
            verify_github_signature(b"It's a Secret to Everybody", b"Hello, World!", Some(sig)),
            Ok(())
        );
    }

    #[test]
    fn github_push_verified_and_parsed() {
        let body = GITHUB_BODY.as_bytes();
        let sig = sign(b"s3cret", body);
        let ev = github_push(Some("push"), Some(&sig), body, Some(b"s3cret"))
            .expect("valid")
            .expect("a push");
        assert_eq!(ev.branch(), Some("main"));
        assert_eq!(ev.tag(), None);
        assert_eq!(ev.after, "59b20b8d5c6ff8d09518454d4dd8b7b30f095ab5");
        assert!(!ev.is_deletion());
        assert_eq!(ev.repo_urls.len(), 4, "{:?}", ev.repo_urls);
        for u in [
            "https://github.com/acme/guestbook.git",
            "https://github.com/acme/guestbook",
            "git@github.com:acme/guestbook.git",
            "https://x-access-token:abc@github.com/acme/guestbook.git",
        ] {
            assert!(ev.matches_repo(u), "{u}");
        }
        assert!(!ev.matches_repo("https://github.com/acme/other"));

        let url = "https://github.com/acme/guestbook";
        assert_eq!(ev.default_branch.as_deref(), Some("main"));
        assert!(ev.concerns(url, &Revision::Head));
        assert!(ev.concerns(url, &Revision::parse("main")));
        assert!(ev.concerns(url, &Revision::Branch("main".into())));
        assert!(!ev.concerns(url, &Revision::Branch("release".into())));
        assert!(!ev.concerns(url, &Revision::Tag("main".into())));
        assert!(!ev.concerns(
            url,
            &Revision::Commit("59b20b8d5c6ff8d09518454d4dd8b7b30f095ab5".into())
        ));
        assert!(!ev.concerns("https://github.com/acme/other", &Revision::Head));
    }

    #[test]
    fn github_rejects_bad_or_missing_signature() {
        let body = GITHUB_BODY.as_bytes();
        let wrong = sign(b"other", body);
        assert_eq!(
            github_push(Some("push"), Some(&wrong), body, Some(b"s3cret")),
            Err(WebhookError::BadSignature {
                header: GITHUB_SIGNATURE_HEADER
            })
        );
        let tampered = sign(b"s3cret", b"{}");
        assert!(matches!(
            github_push(Some("push"), Some(&tampered), body, Some(b"s3cret")),
            Err(WebhookError::BadSignature { .. })
        ));
        assert_eq!(
            github_push(Some("push"), None, body, Some(b"s3cret")),
            Err(WebhookError::MissingSignature {
                header: GITHUB_SIGNATURE_HEADER
            })
        );
        assert!(matches!(
            github_push(Some("push"), Some("sha1=abcd"), body, Some(b"s3cret")),
            Err(WebhookError::MalformedSignature { .. })
        ));
        assert!(matches!(
            github_push(Some("push"), Some("sha256=zz"), body, Some(b"s3cret")),
            Err(WebhookError::MalformedSignature { .. })
        ));
    }

    #[test]
    fn github_ping_and_tag_and_deletion() {
        let ping = br#"{"zen": "Keep it logically awesome.", "hook_id": 1}"#;
        assert_eq!(
            github_push(Some("ping"), Some(&sign(b"k", ping)), ping, Some(b"k")),
            Ok(None)
        );
        let tag = br#"{"ref":"refs/tags/v1.2.0","after":"0000000000000000000000000000000000000000",
            "repository":{"clone_url":"https://github.com/acme/guestbook.git"}}"#;
        let ev = github_push(Some("push"), None, tag, None)
            .expect("ok")
            .expect("push");
        assert_eq!(ev.tag(), Some("v1.2.0"));
        assert!(ev.is_deletion());
        assert!(matches!(
            github_push(Some("push"), None, b"not json", None),
            Err(WebhookError::BadPayload {
                provider: "GitHub",
                ..
            })
        ));
    }

    #[test]
    fn gitea_push_verified_and_parsed() {
        let body = br#"{"ref":"refs/heads/main","before":"0000000000000000000000000000000000000000",
            "after":"4d1f5b9a3c2e7f8091a2b3c4d5e6f708192a3b4c",
            "repository":{"id":1,"name":"guestbook","full_name":"dev/guestbook",
              "html_url":"http://gitea.gitea.svc:3000/dev/guestbook",
              "ssh_url":"git@gitea.gitea.svc:dev/guestbook.git",
              "clone_url":"http://gitea.gitea.svc:3000/dev/guestbook.git","default_branch":"main"}}"#;
        let sig = sign(b"k", body);
        let hex_only = sig.trim_start_matches("sha256=");
        let ev = gitea_push(Some("push"), Some(hex_only), body, Some(b"k"))
            .expect("valid")
            .expect("push");
        assert!(ev.concerns("http://gitea.gitea.svc:3000/dev/guestbook.git", &Revision::Head));
        assert_eq!(
            gitea_push(Some("push"), Some(hex_only), body, Some(b"other")),
            Err(WebhookError::BadSignature {
                header: GITEA_SIGNATURE_HEADER
            })
        );
        assert_eq!(
            gitea_push(Some("create"), Some(hex_only), body, Some(b"k")),
            Ok(None)
        );
    }

    const GITLAB_BODY: &str = r#"{
      "object_kind": "push", "event_name": "push",
      "before": "95790bf891e76fee5e1747ab589903a6a1f80f22",
      "after": "da1560886d4f094c3e6c9ef40349f7d38b5d27d7",
      "ref": "refs/heads/develop",
      "checkout_sha": "da1560886d4f094c3e6c9ef40349f7d38b5d27d7",
      "project": {
        "id": 15, "name": "Diaspora", "path_with_namespace": "mike/diaspora",
        "web_url": "http://example.com/mike/diaspora",
        "git_ssh_url": "git@example.com:mike/diaspora.git",
        "git_http_url": "http://example.com/mike/diaspora.git",
        "namespace": "Mike", "default_branch": "master",
        "homepage": "http://example.com/mike/diaspora",
        "url": "git@example.com:mike/diaspora.git",
        "ssh_url": "git@example.com:mike/diaspora.git",
        "http_url": "http://example.com/mike/diaspora.git"
      },
      "repository": {
        "name": "Diaspora", "url": "git@example.com:mike/diaspora.git",
        "homepage": "http://example.com/mike/diaspora",
        "git_http_url": "http://example.com/mike/diaspora.git",
        "git_ssh_url": "git@example.com:mike/diaspora.git"
      },
      "total_commits_count": 1
    }"#;

    #[test]
    fn gitlab_push_verified_and_parsed() {
        let body = GITLAB_BODY.as_bytes();
        let ev = gitlab_push(Some("Push Hook"), Some("tok3n"), body, Some(b"tok3n"))
            .expect("ok")
            .expect("push");
        assert_eq!(ev.branch(), Some("develop"));
        assert_eq!(ev.default_branch.as_deref(), Some("master"));
        assert!(!ev.concerns("https://example.com/mike/diaspora", &Revision::Head));
        assert!(ev.concerns(
            "https://example.com/mike/diaspora",
            &Revision::Branch("develop".into())
        ));
        assert_eq!(ev.after, "da1560886d4f094c3e6c9ef40349f7d38b5d27d7");
        assert!(ev.matches_repo("https://example.com/mike/diaspora.git"));
        assert!(ev.matches_repo("http://example.com/mike/diaspora"));
        assert_eq!(
            gitlab_push(Some("Push Hook"), Some("wrong"), body, Some(b"tok3n")),
            Err(WebhookError::BadSignature {
                header: GITLAB_TOKEN_HEADER
            })
        );
        assert_eq!(
            gitlab_push(Some("Push Hook"), None, body, Some(b"tok3n")),
            Err(WebhookError::MissingSignature {
                header: GITLAB_TOKEN_HEADER
            })
        );
        assert_eq!(
            gitlab_push(Some("Merge Request Hook"), Some("tok3n"), body, Some(b"tok3n")),
            Ok(None)
        );
        let tag = br#"{"ref":"refs/tags/v2","after":"da1560886d4f094c3e6c9ef40349f7d38b5d27d7",
            "project":{"git_http_url":"https://gitlab.example/g/p.git"}}"#;
        let ev = gitlab_push(Some("Tag Push Hook"), None, tag, None)
            .expect("ok")
            .expect("push");
        assert_eq!(ev.tag(), Some("v2"));
        assert!(ev.concerns("https://gitlab.example/g/p", &Revision::parse("v2")));
        assert!(ev.concerns("https://gitlab.example/g/p", &Revision::Tag("v2".into())));
        assert!(!ev.concerns("https://gitlab.example/g/p", &Revision::Head));
    }
}

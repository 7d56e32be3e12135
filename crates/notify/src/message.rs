//! Messages: the template context of one notification and the HTTP request each service makes of it.
//!
//! Pure. Templates are Go templates run by `tack-gotemplate` with Sprig's functions, over a context with
//! `.kind`, `.namespace`, `.name`, `.trigger`, `.revision`, `.state` and the whole object as `.app`, `.rollout`
//! or `.analysisRun` (also `.object`).

use std::collections::BTreeMap;

use serde_json::{Value as Json, json};
use tack_gotemplate::{ExecOptions, Funcs, MissingKey, Templates, Value};

use crate::config::{Forge, Service, ServiceKind};
use crate::trigger::{CommitState, Kind, Trigger};

/// Why a message cannot be made.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum MessageError {
    /// The template does not parse or fails.
    #[error("service {service:?}: template: {message}")]
    Template {
        /// The service.
        service: String,
        /// Go's message.
        message: String,
    },
    /// A commit status needs the application's repository and revision.
    #[error("service {service:?}: {message}")]
    CommitStatus {
        /// The service.
        service: String,
        /// What is missing.
        message: String,
    },
}

/// One notification: an object and the trigger that fired.
#[derive(Debug, Clone)]
pub struct Notification {
    /// What the object is.
    pub kind: Kind,
    /// The object as JSON.
    pub object: Json,
    /// The trigger.
    pub trigger: Trigger,
}

impl Notification {
    fn meta(&self, field: &str) -> &str {
        self.object
            .pointer(&format!("/metadata/{field}"))
            .and_then(Json::as_str)
            .unwrap_or("")
    }

    /// `namespace/name`.
    pub fn object_name(&self) -> String {
        format!("{}/{}", self.meta("namespace"), self.meta("name"))
    }

    /// The template context.
    pub fn context(&self) -> Json {
        let state = match self.trigger.commit_state() {
            CommitState::Success => "success",
            CommitState::Failure => "failure",
            CommitState::Pending => "pending",
        };
        let mut ctx = json!({
            "kind": self.kind.kind(),
            "namespace": self.meta("namespace"),
            "name": self.meta("name"),
            "trigger": self.trigger.name(),
            "revision": self.revision().unwrap_or_default(),
            "state": state,
            "object": self.object,
        });
        let field = match self.kind {
            Kind::Application => "app",
            Kind::Rollout => "rollout",
            Kind::AnalysisRun => "analysisRun",
            Kind::Pipeline => "pipeline",
        };
        ctx[field] = self.object.clone();
        if self.kind == Kind::Pipeline {
            ctx["promotion"] = crate::trigger::latest_promotion(&self.object).unwrap_or(Json::Null);
            ctx["blocked"] = json!(
                crate::trigger::facts(Kind::Pipeline, &self.object)
                    .blocked
                    .unwrap_or_default()
            );
        }
        ctx
    }

    fn revision(&self) -> Option<String> {
        match self.kind {
            Kind::Application => crate::trigger::revision(&self.object),
            _ => None,
        }
    }
}

/// Renders the Go template `text` over `context`.
pub fn render(text: &str, context: &Json) -> Result<String, String> {
    let mut funcs = Funcs::new();
    tack_sprig::install(&mut funcs);
    let mut set = Templates::new();
    set.parse("notification", text, &funcs).map_err(|e| e.message)?;
    let opts = ExecOptions {
        missing_key: MissingKey::Default,
        max_output: 1 << 20,
        ..ExecOptions::default()
    };
    set.execute("notification", &Value::from_json(context), &funcs, &opts)
        .map_err(|e| e.message)
}

/// An HTTP request to make.
#[derive(Clone, PartialEq, Eq)]
pub struct Request {
    /// The method.
    pub method: String,
    /// The URL (may hold a Secret value: never logged).
    pub url: String,
    /// Headers (may hold Secret values: never logged).
    pub headers: BTreeMap<String, String>,
    /// The body.
    pub body: String,
}

impl std::fmt::Debug for Request {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Request")
            .field("method", &self.method)
            .field("headers", &self.headers.keys().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

/// The request `service` makes for `n`.
pub fn request(service: &Service, n: &Notification) -> Result<Request, MessageError> {
    let ctx = n.context();
    let tpl = |text: &str| {
        render(text, &ctx).map_err(|message| MessageError::Template {
            service: service.name.clone(),
            message,
        })
    };
    match &service.kind {
        ServiceKind::Webhook {
            url,
            method,
            headers,
            body,
        } => Ok(Request {
            method: method.clone(),
            url: url.clone(),
            headers: headers.clone(),
            body: tpl(body)?,
        }),
        ServiceKind::Slack { url, text } => Ok(Request {
            method: "POST".into(),
            url: url.clone(),
            headers: BTreeMap::from([("Content-Type".to_string(), "application/json".to_string())]),
            body: json!({ "text": tpl(text)? }).to_string(),
        }),
        ServiceKind::CommitStatus {
            forge,
            api,
            token,
            context,
            description,
        } => {
            let fail = |message: String| MessageError::CommitStatus {
                service: service.name.clone(),
                message,
            };
            let repo_url = n
                .object
                .pointer("/spec/source/repoURL")
                .and_then(Json::as_str)
                .ok_or_else(|| fail(format!("{} has no spec.source.repoURL", n.object_name())))?;
            let path = repo_path(repo_url).ok_or_else(|| {
                fail(format!(
                    "spec.source.repoURL {repo_url:?} names no owner/repository"
                ))
            })?;
            let sha = n
                .revision()
                .ok_or_else(|| fail(format!("{} has no synced revision yet", n.object_name())))?;
            let description = tpl(description)?;
            Ok(commit_status(
                *forge,
                api,
                token,
                &path,
                &sha,
                n.trigger.commit_state(),
                context,
                &description,
            ))
        }
    }
}

/// The `owner/repo` path (GitLab: with subgroups) of a Git URL, without `.git`.
pub fn repo_path(url: &str) -> Option<String> {
    let rest = if let Some((_, after)) = url.split_once("://") {
        after.split_once('/')?.1
    } else {
        // scp-like: git@host:owner/repo.git
        url.split_once(':')?.1
    };
    let path = rest.trim_matches('/').trim_end_matches(".git").trim_matches('/');
    (path.contains('/') && !path.split('/').any(str::is_empty)).then(|| path.to_string())
}

#[allow(clippy::too_many_arguments)]
fn commit_status(
    forge: Forge,
    api: &str,
    token: &str,
    path: &str,
    sha: &str,
    state: CommitState,
    context: &str,
    description: &str,
) -> Request {
    let state = match (forge, state) {
        (_, CommitState::Success) => "success",
        (_, CommitState::Pending) => "pending",
        (Forge::GitLab, CommitState::Failure) => "failed",
        (_, CommitState::Failure) => "failure",
    };
    let mut headers = BTreeMap::from([("Content-Type".to_string(), "application/json".to_string())]);
    let (url, body) = match forge {
        Forge::GitHub => {
            headers.insert("Authorization".into(), format!("Bearer {token}"));
            headers.insert("Accept".into(), "application/vnd.github+json".into());
            (
                format!("{api}/repos/{path}/statuses/{sha}"),
                json!({"state": state, "context": context, "description": description}),
            )
        }
        Forge::GitLab => {
            headers.insert("PRIVATE-TOKEN".into(), token.to_string());
            let id = path.replace('/', "%2F");
            (
                format!("{api}/api/v4/projects/{id}/statuses/{sha}"),
                json!({"state": state, "name": context, "description": description}),
            )
        }
        Forge::Gitea => {
            headers.insert("Authorization".into(), format!("token {token}"));
            (
                format!("{api}/api/v1/repos/{path}/statuses/{sha}"),
                json!({"state": state, "context": context, "description": description}),
            )
        }
    };
    Request {
        method: "POST".into(),
        url,
        headers,
        body: body.to_string(),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn app() -> Notification {
        Notification {
            kind: Kind::Application,
            object: json!({
                "metadata": {"name": "shop", "namespace": "team-a", "labels": {"tier": "web"}},
                "spec": {"source": {"repoURL": "https://git.example/org/sub/shop.git"}},
                "status": {"sync": {"status": "Synced", "revision": "0123abc"}},
            }),
            trigger: Trigger::SyncSucceeded,
        }
    }

    fn status_service(forge: Forge) -> Service {
        Service {
            name: "cs".into(),
            kind: ServiceKind::CommitStatus {
                forge,
                api: "http://forge".into(),
                token: "tok".into(),
                context: "tack/prod".into(),
                description: "{{.trigger}} {{.app.metadata.labels.tier}}".into(),
            },
        }
    }

    #[test]
    fn templates_see_the_context() {
        let ctx = app().context();
        let out = render(
            r#"{{.app.metadata.name}} {{.trigger}} {{.revision | trunc 4}} {{.state}} {{.kind}} {{.missing}}"#,
            &ctx,
        );
        assert_eq!(
            out.unwrap(),
            "shop sync-succeeded 0123 success GitOpsConfig <no value>"
        );
        let e = render("{{.name", &ctx).unwrap_err();
        assert!(e.contains("unclosed action"), "{e}");
    }

    #[test]
    fn commit_status_requests_per_forge() {
        let r = request(&status_service(Forge::GitHub), &app()).unwrap();
        assert_eq!(r.url, "http://forge/repos/org/sub/shop/statuses/0123abc");
        assert_eq!(r.headers["Authorization"], "Bearer tok");
        let body: Json = serde_json::from_str(&r.body).unwrap();
        assert_eq!(
            body,
            json!({"state": "success", "context": "tack/prod", "description": "sync-succeeded web"})
        );

        let mut failed = app();
        failed.trigger = Trigger::SyncFailed;
        let r = request(&status_service(Forge::GitLab), &failed).unwrap();
        assert_eq!(
            r.url,
            "http://forge/api/v4/projects/org%2Fsub%2Fshop/statuses/0123abc"
        );
        assert_eq!(r.headers["PRIVATE-TOKEN"], "tok");
        let body: Json = serde_json::from_str(&r.body).unwrap();
        assert_eq!(body["state"], "failed");
        assert_eq!(body["name"], "tack/prod");

        let mut pending = app();
        pending.trigger = Trigger::OutOfSync;
        let r = request(&status_service(Forge::Gitea), &pending).unwrap();
        assert_eq!(r.url, "http://forge/api/v1/repos/org/sub/shop/statuses/0123abc");
        assert_eq!(r.headers["Authorization"], "token tok");
        assert!(r.body.contains(r#""state":"pending""#));
    }

    #[test]
    fn repo_paths() {
        assert_eq!(repo_path("https://github.com/o/r.git").as_deref(), Some("o/r"));
        assert_eq!(repo_path("git@github.com:o/r.git").as_deref(), Some("o/r"));
        assert_eq!(repo_path("ssh://git@host:22/o/r").as_deref(), Some("o/r"));
        assert_eq!(repo_path("https://host/r"), None);
    }

    #[test]
    fn slack_body_is_json_text_and_debug_hides_secrets() {
        let s = Service {
            name: "s".into(),
            kind: ServiceKind::Slack {
                url: "http://hooks/SECRETPATH".into(),
                text: crate::config::DEFAULT_TEXT.into(),
            },
        };
        let r = request(&s, &app()).unwrap();
        assert_eq!(
            r.body,
            r#"{"text":"GitOpsConfig team-a/shop: sync-succeeded at 0123abc"}"#
        );
        assert!(!format!("{r:?}").contains("SECRETPATH"));
    }
}

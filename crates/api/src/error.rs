//! Errors as the API answers them: a status code and `{"status", "reason", "message"}`, where the message says
//! what to do. Kubernetes' own refusals keep their code (403 stays 403, 404 stays 404).

use axum::Json;
use axum::http::{StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use serde_json::json;

/// A refused or failed request.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// No credentials, or credentials the API server does not accept.
    #[error("{0}")]
    Unauthorized(String),
    /// The caller may not do this (Kubernetes RBAC, read-only mode, a cross-site request).
    #[error("{0}")]
    Forbidden(String),
    /// No such object or route.
    #[error("{0}")]
    NotFound(String),
    /// A malformed request.
    #[error("{0}")]
    BadRequest(String),
    /// A watch cache is not filled yet (or its resource is not served by the cluster).
    #[error("{0}")]
    Unavailable(String),
    /// The API server refused or failed a request made on the caller's behalf.
    #[error("{what}: {source}")]
    Kube {
        /// What was being done.
        what: String,
        /// The API server's answer.
        #[source]
        source: kube::Error,
    },
    /// A rollout command was refused.
    #[error(transparent)]
    Rollout(#[from] tack_delivery::rollout::commands::CommandError),
}

impl ApiError {
    /// A closure turning a kube error into one that says what was being done.
    pub fn kube(what: impl Into<String>) -> impl FnOnce(kube::Error) -> ApiError {
        let what = what.into();
        move |source| ApiError::Kube { what, source }
    }

    fn status(&self) -> StatusCode {
        match self {
            ApiError::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden(_) => StatusCode::FORBIDDEN,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ApiError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Kube { source, .. } => kube_status(source),
            ApiError::Rollout(e) => match e {
                tack_delivery::rollout::commands::CommandError::Kube { source, .. } => kube_status(source),
                tack_delivery::rollout::commands::CommandError::NotFound { .. } => StatusCode::NOT_FOUND,
                _ => StatusCode::CONFLICT,
            },
        }
    }
}

fn kube_status(e: &kube::Error) -> StatusCode {
    match e {
        kube::Error::Api(s) => StatusCode::from_u16(s.code).unwrap_or(StatusCode::BAD_GATEWAY),
        _ => StatusCode::BAD_GATEWAY,
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        let body = json!({
            "status": status.as_u16(),
            "reason": status.canonical_reason().unwrap_or("Error"),
            "message": self.to_string(),
        });
        (status, Json(body)).into_response()
    }
}

/// The JSON body of an action; an empty body is `empty` (the action's defaults), a malformed one is 400 with
/// an example of what is expected.
pub fn action_body<T: serde::de::DeserializeOwned>(
    body: &[u8],
    action: &str,
    example: &str,
    empty: Option<T>,
) -> Result<T, ApiError> {
    if body.iter().all(u8::is_ascii_whitespace)
        && let Some(default) = empty
    {
        return Ok(default);
    }
    serde_json::from_slice(body).map_err(|e| {
        ApiError::BadRequest(format!(
            "the body of {action} must be JSON such as {example}: {e}"
        ))
    })
}

/// Unknown routes: JSON under `/api`, a short text elsewhere.
pub async fn not_found(uri: Uri) -> Response {
    if uri.path().starts_with("/api/") {
        ApiError::NotFound(format!("no such endpoint: {}; see docs/api.md", uri.path())).into_response()
    } else {
        (StatusCode::NOT_FOUND, "not found\n").into_response()
    }
}

//! What every request passes before a handler: actions refused in read-only mode and when they could come
//! from another site (CSRF), and security headers on every answer.
//!
//! An action (any method but GET/HEAD) must carry the header `X-Tack-Request: 1`: a page of another site cannot
//! send a custom header without a CORS preflight, which this server never grants. A request whose `Origin`
//! names another host, or that the browser marks `Sec-Fetch-Site: cross-site`, is refused too.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::{ApiError, ApiState};

/// The header every action must carry.
pub const REQUEST_HEADER: &str = "x-tack-request";

/// The page may load only its own scripts, styles and data; no frames, no other origins.
const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
     img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/// The middleware: refuses what must be refused, then adds the security headers.
pub async fn check(State(state): State<Arc<ApiState>>, request: Request, next: Next) -> Response {
    let refusal = refusal(request.method(), request.headers(), state.options.read_only);
    let mut response = match refusal {
        Some(message) => ApiError::Forbidden(message).into_response(),
        None => next.run(request).await,
    };
    let headers = response.headers_mut();
    for (name, value) in [
        (header::CONTENT_SECURITY_POLICY, CONTENT_SECURITY_POLICY),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::X_FRAME_OPTIONS, "DENY"),
        (header::REFERRER_POLICY, "no-referrer"),
        (header::CACHE_CONTROL, "no-store"),
    ] {
        headers.insert(name, HeaderValue::from_static(value));
    }
    response
}

/// Why a request is refused before it reaches a handler, if it is.
pub fn refusal(method: &Method, headers: &HeaderMap, read_only: bool) -> Option<String> {
    if method == Method::GET || method == Method::HEAD {
        return None;
    }
    if read_only {
        return Some("this API is read-only (started with --read-only): actions are refused".into());
    }
    if headers.get(REQUEST_HEADER).is_none() {
        return Some(format!(
            "actions must carry the header `{REQUEST_HEADER}: 1` (a protection against requests forged by other sites)"
        ));
    }
    let site = headers.get("sec-fetch-site").and_then(|v| v.to_str().ok());
    if site == Some("cross-site") {
        return Some("a request from another site is refused".into());
    }
    if let Some(origin) = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) {
        let host = headers.get(header::HOST).and_then(|v| v.to_str().ok());
        let origin_host = origin.split_once("://").map_or(origin, |(_, rest)| rest);
        if host != Some(origin_host.trim_end_matches('/')) {
            return Some(format!(
                "a request from origin {origin} is refused: actions are accepted from this server's own pages only"
            ));
        }
    }
    None
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, HeaderValue::from_static(v));
        }
        h
    }

    #[test]
    fn reads_always_pass() {
        assert_eq!(refusal(&Method::GET, &HeaderMap::new(), true), None);
        assert_eq!(refusal(&Method::HEAD, &HeaderMap::new(), false), None);
    }

    #[test]
    fn actions_need_the_header_and_the_same_origin() {
        let ok = headers(&[(REQUEST_HEADER, "1"), ("host", "127.0.0.1:8080")]);
        assert_eq!(refusal(&Method::POST, &ok, false), None);
        assert!(refusal(&Method::POST, &ok, true).is_some_and(|m| m.contains("read-only")));
        let forged = headers(&[("host", "127.0.0.1:8080"), ("origin", "https://evil.example")]);
        assert!(refusal(&Method::POST, &forged, false).is_some_and(|m| m.contains(REQUEST_HEADER)));
        let other = headers(&[
            (REQUEST_HEADER, "1"),
            ("host", "127.0.0.1:8080"),
            ("origin", "https://evil.example"),
        ]);
        assert!(refusal(&Method::POST, &other, false).is_some_and(|m| m.contains("evil.example")));
        let same = headers(&[
            (REQUEST_HEADER, "1"),
            ("host", "127.0.0.1:8080"),
            ("origin", "http://127.0.0.1:8080"),
        ]);
        assert_eq!(refusal(&Method::POST, &same, false), None);
        let cross = headers(&[(REQUEST_HEADER, "1"), ("sec-fetch-site", "cross-site")]);
        assert!(refusal(&Method::POST, &cross, false).is_some());
    }
}

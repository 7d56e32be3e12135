//! The two providers that do I/O: Prometheus (`/api/v1/query`) and web (HTTP + a jsonPath subset). Response
//! handling is split into pure functions so it is tested without a server too.

use std::time::Duration;

use jiff::Timestamp;
use serde_json::Value;

use tack_analysis::Error;
use tack_analysis::expr::Val;
use tack_analysis::measure::{measurement, measurement_between};
use tack_analysis::spec::{
    Authentication, Measurement, Metric, OAuth2Config, PrometheusMetric, WebMetric, WebMetricHeader,
};

const DEFAULT_TIMEOUT_SECONDS: u64 = 10;

fn provider_err(provider: &'static str, url: &str, reason: impl Into<String>) -> Error {
    Error::Provider {
        provider,
        url: url.to_string(),
        reason: reason.into(),
    }
}

/// The HTTP clients of the providers: one verifying TLS certificates, one for web metrics with
/// `insecure: true` (no verification, as Argo Rollouts' `insecure`).
#[derive(Clone, Debug)]
pub struct Clients {
    verified: reqwest::Client,
    insecure: reqwest::Client,
}

impl Clients {
    /// Builds both clients (rustls with `ring`, installed as the process's default provider when none is).
    pub fn new() -> Result<Clients, reqwest::Error> {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let build = |insecure: bool| {
            reqwest::Client::builder()
                .user_agent(concat!("tack/", env!("CARGO_PKG_VERSION")))
                .tls_danger_accept_invalid_certs(insecure)
                .build()
        };
        Ok(Clients {
            verified: build(false)?,
            insecure: build(true)?,
        })
    }

    /// The client for `metric`: without certificate verification only for a web metric with `insecure: true`.
    pub fn for_metric(&self, metric: &Metric) -> &reqwest::Client {
        if metric.provider.web.as_ref().is_some_and(|w| w.insecure) {
            &self.insecure
        } else {
            &self.verified
        }
    }
}

/// A failed request in words: the whole error chain (reqwest's own message says only "error sending
/// request"), and a TLS failure said to be one, with what to do about a self-signed endpoint.
pub fn request_error(e: &reqwest::Error) -> String {
    let mut parts = vec![e.to_string()];
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        let text = s.to_string();
        if !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
        source = s.source();
    }
    let text = parts.join(": ");
    let lower = text.to_ascii_lowercase();
    if ["certificate", "tls", "handshake", "x509"]
        .iter()
        .any(|w| lower.contains(w))
    {
        format!("TLS error: {text} (for a self-signed endpoint set `insecure: true` on the web metric)")
    } else {
        text
    }
}

fn headers(mut req: reqwest::RequestBuilder, hs: &[WebMetricHeader]) -> reqwest::RequestBuilder {
    for h in hs {
        req = req.header(h.key.as_str(), h.value.as_str());
    }
    req
}

fn sample_value(v: &Value) -> Result<f64, String> {
    // Prometheus samples are `[unixTime, "value"]` with the value as a string ("NaN", "+Inf" allowed).
    let s = v
        .get(1)
        .and_then(Value::as_str)
        .ok_or_else(|| format!("sample {v} is not [time, \"value\"]"))?;
    match s {
        "NaN" => Ok(f64::NAN),
        "+Inf" | "Inf" => Ok(f64::INFINITY),
        "-Inf" => Ok(f64::NEG_INFINITY),
        _ => s
            .parse::<f64>()
            .map_err(|_| format!("sample value {s:?} is not a number")),
    }
}

/// Turns a Prometheus `/api/v1/query` response into `result`: a vector becomes a list of numbers (so
/// conditions say `result[0]`), a scalar a number, a string a string. Matrices are not supported (as in Argo).
pub fn parse_prometheus_response(body: &[u8]) -> Result<Val, String> {
    let v: Value = serde_json::from_slice(body).map_err(|e| format!("response is not JSON: {e}"))?;
    if v.get("status").and_then(Value::as_str) != Some("success") {
        let kind = v.get("errorType").and_then(Value::as_str).unwrap_or("unknown");
        let msg = v
            .get("error")
            .and_then(Value::as_str)
            .unwrap_or("no error message");
        return Err(format!("query failed ({kind}): {msg}"));
    }
    let data = v.get("data").ok_or("response has no data")?;
    let result = data.get("result").ok_or("response has no data.result")?;
    match data.get("resultType").and_then(Value::as_str) {
        Some("vector") => {
            let samples = result.as_array().ok_or("vector result is not a list")?;
            let mut out = Vec::with_capacity(samples.len());
            for s in samples {
                out.push(Val::Num(sample_value(
                    s.get("value").ok_or("vector sample has no value")?,
                )?));
            }
            Ok(Val::List(out))
        }
        Some("scalar") => Ok(Val::Num(sample_value(result)?)),
        Some("string") => Ok(Val::Str(
            result
                .get(1)
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string(),
        )),
        Some(other) => Err(format!(
            "result type {other:?} is not supported (use a vector or scalar query)"
        )),
        None => Err("response has no data.resultType".into()),
    }
}

/// Fetches a bearer token with the OAuth2 client-credentials grant (form-encoded POST to `tokenUrl`). Errors
/// never contain the client secret.
pub async fn oauth2_token(
    client: &reqwest::Client,
    o: &OAuth2Config,
    provider: &'static str,
) -> Result<String, Error> {
    let mut form = reqwest::Url::parse("form:/")
        .map_err(|e| provider_err(provider, &o.token_url, format!("building the token request: {e}")))?;
    {
        let mut q = form.query_pairs_mut();
        q.append_pair("grant_type", "client_credentials")
            .append_pair("client_id", &o.client_id)
            .append_pair("client_secret", &o.client_secret);
        if !o.scopes.is_empty() {
            q.append_pair("scope", &o.scopes.join(" "));
        }
    }
    let body = form.query().unwrap_or_default().to_string();
    let resp = client
        .post(&o.token_url)
        .header("Content-Type", "application/x-www-form-urlencoded")
        .header("Accept", "application/json")
        .timeout(Duration::from_secs(DEFAULT_TIMEOUT_SECONDS))
        .body(body)
        .send()
        .await
        .map_err(|e| provider_err(provider, &o.token_url, format!("OAuth2 token request: {e}")))?;
    let status = resp.status();
    let bytes = resp
        .bytes()
        .await
        .map_err(|e| provider_err(provider, &o.token_url, format!("OAuth2 token response: {e}")))?;
    if !status.is_success() {
        return Err(provider_err(
            provider,
            &o.token_url,
            format!("OAuth2 token request: HTTP {status}"),
        ));
    }
    let v: Value = serde_json::from_slice(&bytes).map_err(|e| {
        provider_err(
            provider,
            &o.token_url,
            format!("OAuth2 token response is not JSON: {e}"),
        )
    })?;
    v.get("access_token")
        .and_then(Value::as_str)
        .map(str::to_string)
        .ok_or_else(|| {
            provider_err(
                provider,
                &o.token_url,
                "OAuth2 token response has no access_token",
            )
        })
}

async fn authenticate(
    client: &reqwest::Client,
    req: reqwest::RequestBuilder,
    auth: Option<&Authentication>,
    provider: &'static str,
    url: &str,
) -> Result<reqwest::RequestBuilder, Error> {
    let Some(auth) = auth else {
        return Ok(req);
    };
    if auth.sigv4.is_some() {
        return Err(provider_err(
            provider,
            url,
            "authentication.sigv4 is not supported (use oauth2 or an Authorization header)",
        ));
    }
    match auth.oauth2.as_ref().filter(|o| !o.token_url.trim().is_empty()) {
        Some(o) => {
            let token = oauth2_token(client, o, provider).await?;
            Ok(req.bearer_auth(token))
        }
        None => Ok(req),
    }
}

/// Runs an instant query against `address` and returns `result`.
pub async fn prometheus_query(client: &reqwest::Client, p: &PrometheusMetric) -> Result<Val, Error> {
    let url = format!("{}/api/v1/query", p.address.trim_end_matches('/'));
    let timeout = p.timeout.and_then(|t| u64::try_from(t).ok()).filter(|t| *t > 0);
    let full = reqwest::Url::parse_with_params(&url, &[("query", p.query.as_str())])
        .map_err(|e| provider_err("prometheus", &url, format!("bad address: {e}")))?;
    let req = client
        .get(full)
        .timeout(Duration::from_secs(timeout.unwrap_or(DEFAULT_TIMEOUT_SECONDS)));
    let req = authenticate(client, req, p.authentication.as_ref(), "prometheus", &url).await?;
    let resp = headers(req, &p.headers)
        .send()
        .await
        .map_err(|e| provider_err("prometheus", &url, request_error(&e)))?;
    let status = resp.status();
    let body = resp
        .bytes()
        .await
        .map_err(|e| provider_err("prometheus", &url, e.to_string()))?;
    // Prometheus answers 400/422/503 with a JSON error body: prefer its message.
    match parse_prometheus_response(&body) {
        Ok(v) if status.is_success() => Ok(v),
        Ok(_) => Err(provider_err("prometheus", &url, format!("HTTP {status}"))),
        Err(e) => Err(provider_err("prometheus", &url, format!("HTTP {status}: {e}"))),
    }
}

/// Extracts a value with a jsonPath subset: `{$.data.ok}`, `$.items[0].value`, `$['key']`, `$`.
pub fn json_path(doc: &Value, path: &str) -> Result<Value, String> {
    let p = path.trim();
    let p = p
        .strip_prefix('{')
        .and_then(|p| p.strip_suffix('}'))
        .unwrap_or(p)
        .trim();
    let mut rest = p
        .strip_prefix('$')
        .ok_or_else(|| format!("jsonPath {path:?} must start with $"))?;
    let mut cur = doc;
    while !rest.is_empty() {
        if let Some(r) = rest.strip_prefix('.') {
            let end = r.find(['.', '[']).unwrap_or(r.len());
            let key = &r[..end];
            if key.is_empty() {
                return Err(format!("jsonPath {path:?}: empty field name"));
            }
            cur = cur
                .get(key)
                .ok_or_else(|| format!("jsonPath {path:?}: no field {key:?}"))?;
            rest = &r[end..];
        } else if let Some(r) = rest.strip_prefix('[') {
            let end = r
                .find(']')
                .ok_or_else(|| format!("jsonPath {path:?}: missing ']'"))?;
            let inner = r[..end].trim();
            cur = if let Some(key) = inner
                .strip_prefix('\'')
                .and_then(|k| k.strip_suffix('\''))
                .or_else(|| inner.strip_prefix('"').and_then(|k| k.strip_suffix('"')))
            {
                cur.get(key)
                    .ok_or_else(|| format!("jsonPath {path:?}: no field {key:?}"))?
            } else {
                let i: usize = inner
                    .parse()
                    .map_err(|_| format!("jsonPath {path:?}: index {inner:?} is not a number"))?;
                cur.get(i)
                    .ok_or_else(|| format!("jsonPath {path:?}: index {i} out of range"))?
            };
            rest = &r[end + 1..];
        } else {
            return Err(format!("jsonPath {path:?}: unexpected {rest:?}"));
        }
    }
    Ok(cur.clone())
}

/// Calls the web metric's URL and returns `result` (the JSON at `jsonPath`, or the whole document).
pub async fn web_query(client: &reqwest::Client, w: &WebMetric) -> Result<Val, Error> {
    let method = w.method.as_deref().unwrap_or("GET").to_ascii_uppercase();
    let method = reqwest::Method::from_bytes(method.as_bytes())
        .map_err(|_| provider_err("web", &w.url, format!("bad method {method:?}")))?;
    let timeout = w
        .timeout_seconds
        .and_then(|t| u64::try_from(t).ok())
        .filter(|t| *t > 0);
    let mut req = client
        .request(method, &w.url)
        .timeout(Duration::from_secs(timeout.unwrap_or(DEFAULT_TIMEOUT_SECONDS)));
    if let Some(b) = &w.body {
        req = req.header("Content-Type", "application/json").body(b.clone());
    } else if let Some(j) = &w.json_body {
        req = req.header("Content-Type", "application/json").body(j.to_string());
    }
    let req = authenticate(client, req, w.authentication.as_ref(), "web", &w.url).await?;
    let resp = headers(req, &w.headers)
        .send()
        .await
        .map_err(|e| provider_err("web", &w.url, request_error(&e)))?;
    let status = resp.status();
    let body = resp
        .bytes()
        .await
        .map_err(|e| provider_err("web", &w.url, e.to_string()))?;
    if !status.is_success() {
        let text: String = String::from_utf8_lossy(&body).chars().take(200).collect();
        return Err(provider_err("web", &w.url, format!("HTTP {status}: {text}")));
    }
    let doc: Value = serde_json::from_slice(&body)
        .map_err(|e| provider_err("web", &w.url, format!("response is not JSON: {e}")))?;
    let v = match w.json_path.as_deref().filter(|p| !p.trim().is_empty()) {
        Some(p) => json_path(&doc, p).map_err(|e| provider_err("web", &w.url, e))?,
        None => doc,
    };
    Ok(Val::from(&v))
}

async fn query(client: &reqwest::Client, metric: &Metric) -> Result<Val, String> {
    if let Some(p) = &metric.provider.prometheus {
        prometheus_query(client, p).await.map_err(|e| e.to_string())
    } else if let Some(w) = &metric.provider.web {
        web_query(client, w).await.map_err(|e| e.to_string())
    } else {
        Err(format!(
            "metric {:?}: provider not supported by this crate (prometheus and web are)",
            metric.name
        ))
    }
}

/// Takes one measurement of an (argument-resolved) metric: queries its provider and assesses the value.
/// Provider failures become an `Error` measurement, as in Argo. The Job provider is run by the controller.
pub async fn measure(client: &reqwest::Client, metric: &Metric, now: Timestamp) -> Measurement {
    measurement(metric, query(client, metric).await, now)
}

/// [`measure`] with the wall clock: `startedAt` before the query, `finishedAt` after it (milliseconds).
pub async fn measure_now(client: &reqwest::Client, metric: &Metric) -> Measurement {
    let started = now_millis();
    let value = query(client, metric).await;
    measurement_between(metric, value, started, now_millis())
}

/// The current time rounded to milliseconds (what the status records).
pub fn now_millis() -> Timestamp {
    let now = Timestamp::now();
    now.round(jiff::Unit::Millisecond).unwrap_or(now)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn prometheus_shapes() {
        let vector = br#"{"status":"success","data":{"resultType":"vector","result":[{"metric":{"job":"web"},"value":[1700000000.1,"0.97"]},{"metric":{},"value":[1700000000.1,"NaN"]}]}}"#;
        match parse_prometheus_response(vector) {
            Ok(Val::List(v)) => {
                assert_eq!(v[0], Val::Num(0.97));
                assert!(matches!(v[1], Val::Num(x) if x.is_nan()));
            }
            other => panic!("{other:?}"),
        }
        let scalar = br#"{"status":"success","data":{"resultType":"scalar","result":[1700000000,"+Inf"]}}"#;
        assert_eq!(parse_prometheus_response(scalar), Ok(Val::Num(f64::INFINITY)));
        let matrix = br#"{"status":"success","data":{"resultType":"matrix","result":[]}}"#;
        assert!(parse_prometheus_response(matrix).is_err_and(|e| e.contains("matrix")));
        let err = br#"{"status":"error","errorType":"bad_data","error":"parse error at char 5"}"#;
        assert_eq!(
            parse_prometheus_response(err),
            Err("query failed (bad_data): parse error at char 5".into())
        );
        assert!(parse_prometheus_response(b"<html>").is_err());
    }

    #[test]
    fn json_path_subset() {
        let doc = json!({"data": {"ok": true, "items": [{"v": 1}, {"v": 2}]}, "a.b": 3});
        assert_eq!(json_path(&doc, "{$.data.ok}"), Ok(json!(true)));
        assert_eq!(json_path(&doc, "$.data.items[1].v"), Ok(json!(2)));
        assert_eq!(json_path(&doc, "$['a.b']"), Ok(json!(3)));
        assert_eq!(json_path(&doc, "$"), Ok(doc.clone()));
        assert!(json_path(&doc, "$.data.missing").is_err_and(|e| e.contains("no field \"missing\"")));
        assert!(json_path(&doc, "$.data.items[9]").is_err_and(|e| e.contains("out of range")));
        assert!(json_path(&doc, "data.ok").is_err());
    }
}

//! The Prometheus and web providers against a small HTTP server on 127.0.0.1 serving Prometheus-format JSON.

use std::convert::Infallible;
use std::sync::{Arc, Mutex};

use http_body_util::Full;
use hyper::body::Bytes;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use jiff::Timestamp;
use tack_analysis::args::{resolve_args, resolve_metric};
use tack_analysis::expr::Val;
use tack_analysis::measure::{Phase, next};
use tack_analysis::spec::{AnalysisTemplate, Argument, MetricResult, PrometheusMetric, WebMetric};
use tack_delivery::analysis_run::providers::{measure, prometheus_query, web_query};

type Log = Arc<Mutex<Vec<String>>>;

/// Serves: `/api/v1/query` with a vector whose value depends on the query text, `/bad` with a Prometheus error,
/// `/health` with a JSON document, `/down` with HTTP 503. Every request's path, query and `x-token` header are
/// logged.
async fn server() -> (String, Log) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let log: Log = Arc::default();
    let log2 = log.clone();
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                return;
            };
            let log = log2.clone();
            tokio::spawn(async move {
                let svc = service_fn(move |req: Request<hyper::body::Incoming>| {
                    let log = log.clone();
                    async move { Ok::<_, Infallible>(route(&req, &log)) }
                });
                let _ = http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), svc)
                    .await;
            });
        }
    });
    (format!("http://{addr}"), log)
}

fn decode(q: &str) -> String {
    let mut out = Vec::new();
    let b = q.as_bytes();
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < b.len() => {
                let hex = std::str::from_utf8(&b[i + 1..i + 3]).unwrap_or("00");
                out.push(u8::from_str_radix(hex, 16).unwrap_or(b'?'));
                i += 2;
            }
            c => out.push(c),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn route(req: &Request<hyper::body::Incoming>, log: &Log) -> Response<Full<Bytes>> {
    let path = req.uri().path().to_string();
    let query = decode(req.uri().query().unwrap_or(""));
    let token = req
        .headers()
        .get("x-token")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    if let Ok(mut l) = log.lock() {
        l.push(format!("{path}?{query} token={token}"));
    }
    let (status, body) = match path.as_str() {
        "/api/v1/query" if query.contains("scalar(") => (
            StatusCode::OK,
            r#"{"status":"success","data":{"resultType":"scalar","result":[1767225600.123,"7"]}}"#.to_string(),
        ),
        "/api/v1/query" => {
            let value = if query.contains("canary-bad") { "0.42" } else { "0.991" };
            (
                StatusCode::OK,
                format!(
                    r#"{{"status":"success","data":{{"resultType":"vector","result":[{{"metric":{{"service":"web"}},"value":[1767225600.123,"{value}"]}}]}}}}"#
                ),
            )
        }
        "/bad/api/v1/query" => (
            StatusCode::BAD_REQUEST,
            r#"{"status":"error","errorType":"bad_data","error":"invalid parameter \"query\": 1:5: parse error"}"#.to_string(),
        ),
        "/health" => (StatusCode::OK, r#"{"data":{"ok":true,"latency":[12,30]}}"#.to_string()),
        _ => (StatusCode::SERVICE_UNAVAILABLE, "down for maintenance".to_string()),
    };
    let mut resp = Response::new(Full::new(Bytes::from(body)));
    *resp.status_mut() = status;
    resp
}

fn client() -> reqwest::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder().build().expect("client")
}

fn now() -> Timestamp {
    "2026-03-01T12:00:00Z".parse().expect("time")
}

#[tokio::test]
async fn prometheus_vector_scalar_and_errors() {
    let (base, log) = server().await;
    let c = client();
    let p = PrometheusMetric {
        address: format!("{base}/"),
        query: "sum(rate(http_requests_total{code!~\"5..\"}[1m]))".into(),
        ..PrometheusMetric::default()
    };
    assert_eq!(
        prometheus_query(&c, &p).await,
        Ok(Val::List(vec![Val::Num(0.991)]))
    );
    let logged = log.lock().map(|l| l.clone()).unwrap_or_default();
    assert!(
        logged[0].starts_with("/api/v1/query?query=sum(rate(http_requests_total{code!~\"5..\"}[1m]))"),
        "{logged:?}"
    );

    let scalar = PrometheusMetric {
        address: base.clone(),
        query: "scalar(up)".into(),
        ..PrometheusMetric::default()
    };
    assert_eq!(prometheus_query(&c, &scalar).await, Ok(Val::Num(7.0)));

    let bad = PrometheusMetric {
        address: format!("{base}/bad"),
        query: "up{".into(),
        ..PrometheusMetric::default()
    };
    let e = prometheus_query(&c, &bad)
        .await
        .expect_err("bad query")
        .to_string();
    assert!(
        e.contains("400") && e.contains("bad_data") && e.contains("parse error"),
        "{e}"
    );

    let down = PrometheusMetric {
        address: format!("{base}/nothing"),
        query: "up".into(),
        ..PrometheusMetric::default()
    };
    assert!(prometheus_query(&c, &down).await.is_err());
}

#[tokio::test]
async fn template_args_measurements_and_phase() {
    let (base, _log) = server().await;
    let c = client();
    let template: AnalysisTemplate = serde_saphyr::from_str(&format!(
        r#"
apiVersion: argoproj.io/v1alpha1
kind: AnalysisTemplate
metadata:
  name: success-rate
spec:
  args:
  - name: service-name
  - name: threshold
    value: "0.95"
  metrics:
  - name: success-rate
    interval: 30s
    count: 2
    successCondition: result[0] >= {{{{args.threshold}}}}
    failureLimit: 0
    provider:
      prometheus:
        address: {base}
        query: |
          sum(rate(requests{{service="{{{{args.service-name}}}}",code!~"5.."}}[1m])) / sum(rate(requests{{service="{{{{args.service-name}}}}"}}[1m]))
"#
    ))
    .expect("template parses");
    let metric = &template.spec.metrics[0];

    for (service, expected) in [("canary-good", Phase::Successful), ("canary-bad", Phase::Failed)] {
        let passed = vec![Argument {
            name: "service-name".into(),
            value: Some(service.into()),
            value_from: None,
        }];
        let args = resolve_args(&template.spec.args, &passed).expect("args");
        let m = resolve_metric(metric, &args).expect("resolved");
        assert!(
            m.provider
                .prometheus
                .as_ref()
                .is_some_and(|p| p.query.contains(service))
        );
        let mut state = MetricResult::default();
        let first = measure(&c, &m, now()).await;
        let step = next(&m, &mut state, Some(first), now()).expect("next");
        if expected == Phase::Failed {
            assert_eq!(step.phase, Phase::Failed);
            assert_eq!(state.measurements[0].value.as_deref(), Some("[0.42]"));
            continue;
        }
        assert_eq!(step.phase, Phase::Running);
        let later: Timestamp = "2026-03-01T12:00:30Z".parse().expect("time");
        assert_eq!(step.next_measurement_at, Some(later));
        let second = measure(&c, &m, later).await;
        let step = next(&m, &mut state, Some(second), now()).expect("next");
        assert_eq!(step.phase, expected);
        assert_eq!(step.next_measurement_at, None);
        assert_eq!(state.successful, 2);
    }
}

#[tokio::test]
async fn web_provider_json_path_headers_and_errors() {
    let (base, log) = server().await;
    let c = client();
    let w = WebMetric {
        url: format!("{base}/health"),
        json_path: Some("{$.data.ok}".into()),
        headers: vec![tack_analysis::spec::WebMetricHeader {
            key: "x-token".into(),
            value: "secret-1".into(),
        }],
        ..WebMetric::default()
    };
    assert_eq!(web_query(&c, &w).await, Ok(Val::Bool(true)));
    assert!(
        log.lock()
            .map(|l| l.iter().any(|e| e.ends_with("token=secret-1")))
            .unwrap_or(false)
    );

    let latency = WebMetric {
        url: format!("{base}/health"),
        json_path: Some("$.data.latency".into()),
        ..WebMetric::default()
    };
    assert_eq!(
        web_query(&c, &latency).await,
        Ok(Val::List(vec![Val::Num(12.0), Val::Num(30.0)]))
    );
    let missing = WebMetric {
        url: format!("{base}/health"),
        json_path: Some("$.data.nope".into()),
        ..WebMetric::default()
    };
    assert!(
        web_query(&c, &missing)
            .await
            .is_err_and(|e| e.to_string().contains("no field \"nope\""))
    );
    let down = WebMetric {
        url: format!("{base}/down"),
        ..WebMetric::default()
    };
    let e = web_query(&c, &down).await.expect_err("503").to_string();
    assert!(e.contains("503") && e.contains("down for maintenance"), "{e}");

    // Through measure(): an unreachable provider is an Error measurement, not a failure.
    let metric: tack_analysis::spec::Metric = serde_json::from_value(serde_json::json!({
        "name": "ok", "successCondition": "result == true",
        "provider": {"web": {"url": format!("{base}/down")}}
    }))
    .expect("metric");
    let m = measure(&c, &metric, now()).await;
    assert_eq!(m.phase, "Error");
    assert!(m.message.as_deref().unwrap_or("").contains("503"));
}

/// An HTTPS server on 127.0.0.1 with a self-signed certificate, answering every request with `body` (JSON).
fn self_signed_server(body: &'static str) -> String {
    use std::io::{Read, Write};
    let cert = rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_string()]).expect("certificate");
    let key = rustls::pki_types::PrivateKeyDer::Pkcs8(cert.signing_key.serialize_der().into());
    let config =
        rustls::ServerConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .with_safe_default_protocol_versions()
            .expect("protocol versions")
            .with_no_client_auth()
            .with_single_cert(vec![cert.cert.der().clone()], key)
            .expect("server config");
    let config = Arc::new(config);
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(stream) = stream else { return };
            let config = config.clone();
            std::thread::spawn(move || {
                let Ok(conn) = rustls::ServerConnection::new(config) else {
                    return;
                };
                let mut tls = rustls::StreamOwned::new(conn, stream);
                let mut buf = [0u8; 4096];
                let mut seen = Vec::new();
                while !seen.windows(4).any(|w| w == b"\r\n\r\n") {
                    match tls.read(&mut buf) {
                        Ok(0) | Err(_) => return,
                        Ok(n) => seen.extend_from_slice(&buf[..n]),
                    }
                }
                let _ = write!(
                    tls,
                    "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = tls.flush();
                tls.conn.send_close_notify();
                let _ = tls.flush();
            });
        }
    });
    format!("https://127.0.0.1:{}/health", addr.port())
}

/// `insecure: true` skips certificate verification (a self-signed endpoint measures); without it the failure
/// says it is a TLS one.
#[tokio::test]
async fn web_insecure_skips_certificate_verification_and_tls_failures_say_tls() {
    let url = self_signed_server(r#"{"ok": true}"#);
    let clients = tack_delivery::analysis_run::providers::Clients::new().expect("clients");
    let metric = |insecure: bool| -> tack_analysis::spec::Metric {
        serde_json::from_value(serde_json::json!({
            "name": "ok", "successCondition": "result == true",
            "provider": {"web": {"url": url, "jsonPath": "{$.ok}", "insecure": insecure}}
        }))
        .expect("metric")
    };
    let secure = metric(false);
    let m = measure(clients.for_metric(&secure), &secure, now()).await;
    assert_eq!(m.phase, "Error", "{m:?}");
    let msg = m.message.unwrap_or_default();
    assert!(msg.contains("TLS error"), "{msg}");
    assert!(msg.contains("insecure: true"), "{msg}");
    let insecure = metric(true);
    let m = measure(clients.for_metric(&insecure), &insecure, now()).await;
    assert_eq!(m.phase, "Successful", "{m:?}");
}

/// A metric endpoint that accepts and never answers (a query that never returns): the web and Prometheus
/// queries fail at their timeout (here 1 s; 10 s when unset), as an Error measurement naming the timeout.
#[tokio::test]
async fn a_query_that_never_returns_fails_at_its_timeout() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("addr"));
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((s, _)) = listener.accept().await {
            held.push(s);
        }
    });
    let c = client();
    let web = WebMetric {
        url: format!("{base}/never"),
        timeout_seconds: Some(1),
        ..WebMetric::default()
    };
    let started = std::time::Instant::now();
    let e = web_query(&c, &web).await.expect_err("timeout").to_string();
    let took = started.elapsed();
    assert!(took < std::time::Duration::from_secs(3), "{took:?}");
    assert!(
        e.to_lowercase().contains("timed out") || e.contains("timeout"),
        "{e}"
    );

    let prom = PrometheusMetric {
        address: base.clone(),
        query: "up".into(),
        timeout: Some(1),
        ..PrometheusMetric::default()
    };
    let started = std::time::Instant::now();
    let e = prometheus_query(&c, &prom)
        .await
        .expect_err("timeout")
        .to_string();
    assert!(started.elapsed() < std::time::Duration::from_secs(3), "{e}");

    let metric: tack_analysis::spec::Metric = serde_json::from_value(serde_json::json!({
        "name": "slow", "successCondition": "result == true",
        "provider": {"web": {"url": format!("{base}/never"), "timeoutSeconds": 1}}
    }))
    .expect("metric");
    let m = measure(&c, &metric, now()).await;
    assert_eq!(m.phase, "Error", "{m:?}");
}

//! Fixtures of the analysis tests: a metrics exporter run by the test (Prometheus text format on `/metrics`, JSON
//! on `/json`, values set by the test), a real Prometheus process scraping it every second, and an AnalysisRun
//! controller scoped to the test's namespace.

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{Context, Result, bail};
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use kube::api::{Api, DynamicObject, Patch, PatchParams, PostParams};
use serde_json::{Value, json};
use tack_testkit::TestNamespace;

/// What the exporter serves and what it was asked.
#[derive(Default)]
pub struct ExporterState {
    /// Gauges served on `/metrics` (name → value).
    pub gauges: BTreeMap<String, f64>,
    /// Document served on `/json`.
    pub json: Value,
    /// Requests to `/json`: method, `authorization` header, body.
    pub json_requests: Vec<(String, String, String)>,
    /// Bodies of the requests to `/token` (answered with `{"access_token": "tok-123"}`).
    pub token_requests: Vec<String>,
    /// Query strings of the requests to `/json`, with when they came.
    pub json_queries: Vec<(String, std::time::Instant)>,
}

/// A small HTTP server on 127.0.0.1.
pub struct Exporter {
    pub addr: SocketAddr,
    pub state: Arc<Mutex<ExporterState>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Exporter {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Exporter {
    pub async fn start() -> Result<Exporter> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let state: Arc<Mutex<ExporterState>> = Arc::default();
        let shared = state.clone();
        let task = tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    return;
                };
                let state = shared.clone();
                tokio::spawn(async move {
                    let svc = service_fn(move |req: Request<hyper::body::Incoming>| {
                        let state = state.clone();
                        async move { Ok::<_, Infallible>(serve(req, &state).await) }
                    });
                    let _ = http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), svc)
                        .await;
                });
            }
        });
        Ok(Exporter { addr, state, task })
    }

    pub fn set(&self, gauge: &str, value: f64) {
        if let Ok(mut s) = self.state.lock() {
            s.gauges.insert(gauge.to_string(), value);
        }
    }

    pub fn set_json(&self, doc: Value) {
        if let Ok(mut s) = self.state.lock() {
            s.json = doc;
        }
    }

    pub fn json_requests(&self) -> Vec<(String, String, String)> {
        self.state
            .lock()
            .map(|s| s.json_requests.clone())
            .unwrap_or_default()
    }

    pub fn token_requests(&self) -> Vec<String> {
        self.state
            .lock()
            .map(|s| s.token_requests.clone())
            .unwrap_or_default()
    }

    pub fn json_queries(&self) -> Vec<(String, std::time::Instant)> {
        self.state
            .lock()
            .map(|s| s.json_queries.clone())
            .unwrap_or_default()
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }
}

async fn serve(req: Request<hyper::body::Incoming>, state: &Mutex<ExporterState>) -> Response<Full<Bytes>> {
    let path = req.uri().path().to_string();
    let query = req.uri().query().unwrap_or_default().to_string();
    let method = req.method().to_string();
    let auth = req
        .headers()
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    let body = req
        .into_body()
        .collect()
        .await
        .map(|b| String::from_utf8_lossy(&b.to_bytes()).into_owned())
        .unwrap_or_default();
    let Ok(mut s) = state.lock() else {
        return Response::new(Full::new(Bytes::from("poisoned")));
    };
    let text = match path.as_str() {
        "/metrics" => {
            let mut out = String::new();
            for (name, value) in &s.gauges {
                out.push_str(&format!("# TYPE {name} gauge\n{name} {value}\n"));
            }
            out
        }
        "/token" => {
            s.token_requests.push(body);
            r#"{"access_token":"tok-123","token_type":"Bearer","expires_in":60}"#.to_string()
        }
        "/json" => {
            s.json_requests.push((method, auth, body));
            s.json_queries.push((query, std::time::Instant::now()));
            s.json.to_string()
        }
        _ => {
            return Response::builder()
                .status(404)
                .body(Full::new(Bytes::from("not found")))
                .unwrap_or_default();
        }
    };
    Response::new(Full::new(Bytes::from(text)))
}

/// The Prometheus binary: `/usr/bin/prometheus` (Debian package, see scripts/setup.sh), else `prometheus` on PATH.
pub fn prometheus_binary() -> Result<PathBuf> {
    let deb = PathBuf::from("/usr/bin/prometheus");
    if deb.is_file() {
        return Ok(deb);
    }
    for dir in std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default()) {
        let p = dir.join("prometheus");
        if p.is_file() {
            return Ok(p);
        }
    }
    bail!("prometheus not found: run scripts/setup.sh (apt-get install -y prometheus)")
}

/// A Prometheus process on 127.0.0.1 scraping `target` every second, with its own data directory; killed on drop.
pub struct Prometheus {
    pub url: String,
    child: Option<tokio::process::Child>,
    _dir: tempfile::TempDir,
}

impl Prometheus {
    pub async fn start(target: SocketAddr) -> Result<Prometheus> {
        let bin = prometheus_binary()?;
        let dir = tempfile::tempdir()?;
        let config = dir.path().join("prometheus.yml");
        std::fs::write(
            &config,
            format!(
                "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\nscrape_configs:\n- job_name: exporter\n  \
                 scrape_interval: 1s\n  scrape_timeout: 1s\n  static_configs:\n  - targets: ['{target}']\n"
            ),
        )?;
        let port = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
        let child = tokio::process::Command::new(&bin)
            .arg(format!("--config.file={}", config.display()))
            .arg(format!(
                "--storage.tsdb.path={}",
                dir.path().join("data").display()
            ))
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .arg("--log.level=warn")
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .with_context(|| format!("starting {}", bin.display()))?;
        let p = Prometheus {
            url: format!("http://127.0.0.1:{port}"),
            child: Some(child),
            _dir: dir,
        };
        let http = reqwest::Client::new();
        let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
        loop {
            if let Ok(r) = http.get(format!("{}/-/ready", p.url)).send().await
                && r.status().is_success()
            {
                return Ok(p);
            }
            if tokio::time::Instant::now() > deadline {
                bail!("prometheus on {} not ready within 30 s", p.url);
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    /// Waits until an instant query returns a sample of `query` equal to `value`.
    pub async fn wait_for(&self, query: &str, value: f64) -> Result<()> {
        let http = reqwest::Client::new();
        tack_testkit::eventually(
            Duration::from_secs(30),
            &format!("prometheus sees {query} = {value}"),
            || {
                let http = http.clone();
                let url = format!("{}/api/v1/query", self.url);
                async move {
                    let url = reqwest::Url::parse_with_params(&url, &[("query", query)])?;
                    let v: Value = http.get(url).send().await?.json().await?;
                    let got = v["data"]["result"][0]["value"][1]
                        .as_str()
                        .and_then(|s| s.parse::<f64>().ok());
                    Ok((got == Some(value)).then_some(()))
                }
            },
        )
        .await
    }

    /// Kills the process (queries fail from now on).
    pub async fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill().await;
        }
    }
}

/// A namespace, the argoproj.io CRDs and an AnalysisRun controller scoped to the namespace (stoppable).
pub struct AnalysisEnv {
    pub client: kube::Client,
    pub ns: TestNamespace,
    controller: Option<(tokio::sync::oneshot::Sender<()>, tokio::task::JoinHandle<()>)>,
}

impl AnalysisEnv {
    pub async fn new(prefix: &str) -> Result<AnalysisEnv> {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let client = tack_testkit::client().await?;
        tack_delivery::install_crds(&client).await?;
        let ns = TestNamespace::new(&client, prefix).await?;
        let mut env = AnalysisEnv {
            client,
            ns,
            controller: None,
        };
        env.start_controller();
        Ok(env)
    }

    pub fn name(&self) -> &str {
        self.ns.name()
    }

    pub fn start_controller(&mut self) {
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let client = self.client.clone();
        let ns = self.ns.name().to_string();
        let handle = tokio::spawn(async move {
            tack_delivery::analysis_run::run(client, Some(ns), async move {
                let _ = rx.await;
            })
            .await;
        });
        self.controller = Some((tx, handle));
    }

    pub async fn stop_controller(&mut self) {
        if let Some((tx, handle)) = self.controller.take() {
            let _ = tx.send(());
            let _ = tokio::time::timeout(Duration::from_secs(30), handle).await;
        }
    }

    pub fn runs(&self) -> Api<DynamicObject> {
        Api::namespaced_with(
            self.client.clone(),
            self.name(),
            &tack_delivery::analysis_run::resource(),
        )
    }

    /// Creates an AnalysisRun with `spec`.
    pub async fn create_run(&self, name: &str, spec: Value) -> Result<()> {
        let obj: DynamicObject = serde_json::from_value(json!({
            "apiVersion": "argoproj.io/v1alpha1",
            "kind": "AnalysisRun",
            "metadata": {"name": name, "namespace": self.name()},
            "spec": spec,
        }))?;
        self.runs()
            .create(&PostParams::default(), &obj)
            .await
            .with_context(|| format!("creating AnalysisRun {name}"))?;
        Ok(())
    }

    pub async fn terminate(&self, name: &str) -> Result<()> {
        self.runs()
            .patch(
                name,
                &PatchParams::default(),
                &Patch::Merge(&json!({"spec": {"terminate": true}})),
            )
            .await?;
        Ok(())
    }

    /// The run's status as JSON.
    pub async fn status(&self, name: &str) -> Result<Value> {
        let o = self.runs().get(name).await?;
        Ok(o.data.get("status").cloned().unwrap_or(Value::Null))
    }

    /// Waits until the run's phase is one of the final phases, and returns its status.
    pub async fn wait_final(&self, name: &str, within: Duration) -> Result<Value> {
        tack_testkit::eventually(within, &format!("AnalysisRun {name} completes"), || async {
            let st = self.status(name).await?;
            let done = matches!(
                st["phase"].as_str(),
                Some("Successful" | "Failed" | "Error" | "Inconclusive")
            );
            Ok(done.then_some(st))
        })
        .await
    }

    /// Waits until `metric` has at least `n` measurements, and returns the status.
    pub async fn wait_measurements(
        &self,
        name: &str,
        metric: &str,
        n: usize,
        within: Duration,
    ) -> Result<Value> {
        tack_testkit::eventually(within, &format!("{n} measurements of {metric}"), || async {
            let st = self.status(name).await?;
            let count = metric_result(&st, metric)
                .and_then(|r| r["measurements"].as_array().map(Vec::len))
                .unwrap_or(0);
            Ok((count >= n).then_some(st))
        })
        .await
    }
}

/// `status.metricResults[name == metric]`.
pub fn metric_result<'a>(status: &'a Value, metric: &str) -> Option<&'a Value> {
    status["metricResults"]
        .as_array()?
        .iter()
        .find(|r| r["name"] == metric)
}

//! The dashboard in a real headless Chromium (Debian's `chromium` and `chromium-driver`, installed by
//! scripts/setup.sh), driven through WebDriver: sign in with a token that may only read and one that may act.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use anyhow::{Context, Result, bail, ensure};
use kube::ResourceExt;
use kube::api::{Api, DynamicObject};
use serde_json::{Value, json};
use tack_api::{Mode, Options, Stores};
use tack_model::GitOpsConfig;
use tack_testkit::TestNamespace;

use crate::endpoints::{account, act_rules, app_fixture, install_crds, read_rules, rule, web_deployment};

/// chromedriver on a free port of 127.0.0.1, stopped when dropped.
struct ChromeDriver {
    child: Child,
    url: String,
}

impl Drop for ChromeDriver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn find(candidates: &[&str]) -> Option<PathBuf> {
    candidates
        .iter()
        .map(Path::new)
        .find(|p| p.exists())
        .map(Path::to_path_buf)
}

impl ChromeDriver {
    async fn start() -> Result<Option<ChromeDriver>> {
        let driver = find(&["/usr/bin/chromedriver", "/usr/lib/chromium/chromedriver"]);
        let Some(driver) = driver else {
            ensure!(
                std::env::var_os("TACK_REQUIRE_ORACLES").is_none(),
                "chromedriver is missing: run scripts/setup.sh (apt-get install chromium chromium-driver)"
            );
            eprintln!("skipped: chromedriver is not installed (scripts/setup.sh installs it)");
            return Ok(None);
        };
        let port = TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
        let child = Command::new(driver)
            .arg(format!("--port={port}"))
            .arg("--allowed-ips=127.0.0.1")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .context("starting chromedriver")?;
        let this = ChromeDriver {
            child,
            url: format!("http://127.0.0.1:{port}"),
        };
        let http = reqwest::Client::new();
        for _ in 0..100 {
            if let Ok(r) = http.get(format!("{}/status", this.url)).send().await
                && r.status().is_success()
            {
                return Ok(Some(this));
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        bail!("chromedriver did not answer within 10 s")
    }
}

/// One WebDriver session in headless Chromium.
struct Browser {
    http: reqwest::Client,
    session: String,
}

impl Browser {
    async fn open(driver: &ChromeDriver) -> Result<Browser> {
        let http = reqwest::Client::new();
        let binary =
            find(&["/usr/bin/chromium", "/usr/lib/chromium/chromium"]).context("no chromium binary")?;
        let caps = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": binary,
                "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                         "--window-size=1280,900", "--no-first-run"]
            }
        }}});
        let r: Value = http
            .post(format!("{}/session", driver.url))
            .json(&caps)
            .send()
            .await?
            .json()
            .await?;
        let id = r["value"]["sessionId"]
            .as_str()
            .with_context(|| format!("no WebDriver session: {r}"))?;
        Ok(Browser {
            http,
            session: format!("{}/session/{id}", driver.url),
        })
    }

    async fn call(&self, method: &str, path: &str, body: Value) -> Result<Value> {
        let url = format!("{}{path}", self.session);
        let request = match method {
            "GET" => self.http.get(url),
            "DELETE" => self.http.delete(url),
            _ => self.http.post(url).json(&body),
        };
        let r: Value = request.send().await?.json().await?;
        if r["value"]["error"].is_string() {
            bail!("WebDriver {path}: {}", r["value"]);
        }
        Ok(r["value"].clone())
    }

    async fn go(&self, url: &str) -> Result<()> {
        self.call("POST", "/url", json!({"url": url})).await.map(drop)
    }

    async fn script(&self, script: &str, args: Value) -> Result<Value> {
        self.call("POST", "/execute/sync", json!({"script": script, "args": args}))
            .await
    }

    /// Waits until `css` matches an element whose text contains `text`; returns that text.
    async fn wait_text(&self, css: &str, text: &str) -> Result<String> {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
        loop {
            let found = self
                .script(
                    "return [...document.querySelectorAll(arguments[0])].map(e => e.textContent).join('\\n')",
                    json!([css]),
                )
                .await?;
            let found = found.as_str().unwrap_or_default().to_string();
            if found.contains(text) {
                return Ok(found);
            }
            if tokio::time::Instant::now() > deadline {
                let body = self.script("return document.body.innerText", json!([])).await?;
                bail!("no `{text}` in `{css}` within 20 s; the page shows: {body}");
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    /// Clicks the element `css` matches, once it exists. The page redraws itself on live updates, so the
    /// element is found and clicked in one script (no stale reference between the two).
    async fn click(&self, css: &str) -> Result<()> {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
        loop {
            let clicked = self
                .script(
                    "const e = document.querySelector(arguments[0]); if (!e) return false; e.click(); return true;",
                    json!([css]),
                )
                .await?;
            if clicked == json!(true) {
                return Ok(());
            }
            if tokio::time::Instant::now() > deadline {
                bail!("no element {css} to click within 20 s");
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    /// Keeps `token` in the tab's sessionStorage and loads the page again, fully (no reload racing the next
    /// navigation).
    async fn sign_in(&self, base: &str, token: &str) -> Result<()> {
        self.go(&format!("{base}/")).await?;
        self.script(
            "sessionStorage.setItem('tack-token', arguments[0]);",
            json!([token]),
        )
        .await?;
        self.go("about:blank").await?;
        self.go(&format!("{base}/")).await
    }

    /// The page as PNG, written to the target directory's `screenshots/` for docs/dashboard.md.
    async fn screenshot(&self, name: &str) -> Result<()> {
        use base64::Engine;
        let png = self.call("GET", "/screenshot", json!({})).await?;
        let bytes = base64::engine::general_purpose::STANDARD.decode(png.as_str().unwrap_or_default())?;
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/screenshots");
        std::fs::create_dir_all(&dir)?;
        std::fs::write(dir.join(format!("{name}.png")), bytes)?;
        Ok(())
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let http = self.http.clone();
        let url = self.session.clone();
        // Ends the browser; the driver's own drop kills whatever is left.
        drop(tokio::spawn(async move {
            let _ = http.delete(url).send().await;
        }));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the local control plane"]
async fn the_dashboard_in_chromium_reads_with_one_token_and_acts_with_another() -> Result<()> {
    tack_cluster::install_crypto_provider();
    let Some(driver) = ChromeDriver::start().await? else {
        return Ok(());
    };
    let client = tack_testkit::client().await?;
    install_crds(&client).await?;
    let ns = TestNamespace::new(&client, "ui").await?;
    let ns = ns.name().to_string();
    let apps: Api<GitOpsConfig> = app_fixture(&client, &ns).await?;
    let viewer = account(&client, &ns, "viewer", read_rules()).await?;
    web_deployment(&client, &ns).await?;
    let mut operator_rules = act_rules();
    operator_rules.push(rule("", &["configmaps"], &["get"]));
    let operator = account(&client, &ns, "operator", operator_rules).await?;

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let base = format!("http://{}", listener.local_addr()?);
    let cache = tempfile::tempdir()?;
    let router = tack_api::router(
        client.clone(),
        Stores::start(&client, None),
        Options {
            mode: Mode::Token,
            read_only: false,
            gitops: tack_gitops::ControllerConfig {
                cache_dir: cache.path().to_path_buf(),
                ..Default::default()
            },
        },
    );
    let server = tokio::spawn(async move { axum::serve(listener, router).await });

    let browser = Browser::open(&driver).await?;
    // Without a token the page asks for one.
    browser.go(&format!("{base}/")).await?;
    browser.wait_text("h1", "Sign in with a Kubernetes token").await?;

    // The viewer sees the list and the application, and is refused an action with RBAC's reason.
    browser.sign_in(&base, &viewer).await?;
    let row = format!("tr[data-app='{ns}/web']");
    browser.wait_text(&row, "Synced").await?;
    browser.wait_text(".who", ":viewer").await?;
    browser.screenshot("applications").await?;
    browser.click(&row).await?;
    browser.wait_text("#history", "c1").await?;
    browser.wait_text("#resources", "Deployment").await?;
    browser.wait_text("#resources", "ReplicaSet").await?;
    let facts = browser.wait_text("dl.facts", "Repository").await?;
    ensure!(
        facts.contains("Healthy") && facts.contains("git.example.invalid") && !facts.contains("[object"),
        "{facts}"
    );
    browser.screenshot("application").await?;
    browser.click("#sync").await?;
    browser.wait_text("#toast", "may not patch").await?;
    ensure!(
        apps.get("web")
            .await?
            .annotations()
            .get(tack_gitops::SYNC_ANNOTATION)
            .is_none(),
        "the viewer's refused sync wrote nothing"
    );

    // The operator syncs and rolls back from the same page.
    browser.sign_in(&base, &operator).await?;
    browser.go(&format!("{base}/#/app/{ns}/web")).await?;
    browser.wait_text("#history", "c1").await?;

    // The diff view: the application pointed at a real repository whose ConfigMap differs from the cluster's
    // in one value; unchanged lines are folded and open with a click.
    let repo = settings_repository(&client, &ns).await?;
    let source = json!({"spec": {"source": {"repoURL": repo.url(), "path": "web", "revision": "main"}}});
    apps.patch("web", &Default::default(), &kube::api::Patch::Merge(&source))
        .await?;
    browser.wait_text("dl.facts", "file://").await?;
    browser.click("#compare").await?;
    let shown = browser.wait_text("#diff-body", "+  speed: fast").await?;
    ensure!(
        shown.contains("-  speed: slow") && shown.contains("update"),
        "{shown}"
    );
    ensure!(
        !shown.contains("  k05: same"),
        "a long unchanged run is folded: {shown}"
    );
    browser
        .wait_text("#diff-body button.fold", "unchanged lines")
        .await?;
    browser.screenshot("diff").await?;
    browser.click("#diff-body button.fold").await?;
    browser.wait_text("#diff-body", "  k05: same").await?;

    browser.click("#sync").await?;
    browser.wait_text("#toast", "sync requested").await?;
    ensure!(
        apps.get("web")
            .await?
            .annotations()
            .contains_key(tack_gitops::SYNC_ANNOTATION),
        "sync annotation written"
    );
    browser.click("button[data-rollback='1']").await?;
    browser.wait_text("#toast", "rolling back to c1").await?;
    let pinned = apps.get("web").await?.spec.rollback.context("rollback")?;
    ensure!(pinned.revision == "c1", "{pinned:?}");

    // The pipeline page: stages with their releases; Promote here records the request.
    let pipelines: Api<tack_model::Pipeline> = Api::namespaced(client.clone(), &ns);
    let pipeline: tack_model::Pipeline = serde_json::from_value(json!({
        "apiVersion": "gitops.tack.dev/v1alpha1", "kind": "Pipeline",
        "metadata": {"name": "shop", "namespace": ns},
        "spec": {"images": [{"name": "shop"}], "stages": [
            {"name": "qa", "application": {"name": "web"}},
            {"name": "e2e", "application": {"name": "web-e2e"}}
        ]}
    }))?;
    pipelines.create(&Default::default(), &pipeline).await?;
    let status = json!({"status": {"stages": [
        {"name": "qa", "release": "shop:v7", "health": "Healthy", "verified": true,
         "gates": [{"name": "soak", "phase": "Passed", "message": "Healthy for 5m"}]},
        {"name": "e2e", "release": "shop:v6", "pending": {"release": "shop:v7", "reason": "waiting for approval"}}
    ]}});
    pipelines
        .patch_status("shop", &Default::default(), &kube::api::Patch::Merge(&status))
        .await?;
    browser.go(&format!("{base}/#/pipeline/{ns}/shop")).await?;
    browser
        .wait_text("tr[data-stage='e2e']", "waiting for approval")
        .await?;
    browser.wait_text("tr[data-stage='qa']", "Healthy for 5m").await?;
    browser.screenshot("pipeline").await?;
    browser.click("button[data-promote='e2e']").await?;
    browser
        .wait_text("#toast", "promote of shop:v7 at e2e requested")
        .await?;
    let requested = pipelines.get("shop").await?;
    ensure!(
        requested
            .annotations()
            .get(&format!("{}e2e", tack_model::PROMOTE_ANNOTATION_PREFIX))
            .map(String::as_str)
            == Some("shop:v7"),
        "promote request recorded"
    );

    // A paused canary: the rollout page shows the step and the weight, Promote moves it on.
    let rollout = rollout_paused_at_20(&client, &ns).await?;
    browser.go(&format!("{base}/#/rollouts")).await?;
    browser
        .wait_text(&format!("tr[data-rollout='{ns}/shop']"), "Paused")
        .await?;
    browser.go(&format!("{base}/#/rollout/{ns}/shop")).await?;
    browser.wait_text("#weights", "canary 20%").await?;
    browser.wait_text("#steps li.current", "pause").await?;
    browser.screenshot("rollout").await?;
    browser.click("#promote").await?;
    browser.wait_text("#toast", "promoted").await?;
    tack_testkit::eventually(
        Duration::from_secs(60),
        "the rollout Healthy after promote",
        || {
            let rollout = rollout.clone();
            async move { Ok((rollout.get("shop").await?.data["status"]["phase"] == "Healthy").then_some(())) }
        },
    )
    .await?;
    browser.go(&format!("{base}/#/rollout/{ns}/shop")).await?;
    browser.wait_text("#weights", "stable 100%").await?;
    drop(browser);
    server.abort();
    Ok(())
}

/// A repository whose `web/` holds ConfigMap `settings` (twelve equal keys and `speed: fast`), and the same
/// ConfigMap in the cluster with `speed: slow`.
async fn settings_repository(client: &kube::Client, ns: &str) -> Result<tack_testkit::GitRepo> {
    let keys: String = (1..=12).map(|i| format!("  k{i:02}: same\n")).collect();
    let repo = tack_testkit::GitRepo::new()?;
    std::fs::create_dir_all(repo.work().join("web"))?;
    std::fs::write(
        repo.work().join("web/settings.yaml"),
        format!(
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\n  namespace: {ns}\ndata:\n{keys}  speed: fast\n"
        ),
    )?;
    repo.commit("main", "settings")?;
    let mut data: serde_json::Map<String, Value> =
        (1..=12).map(|i| (format!("k{i:02}"), json!("same"))).collect();
    data.insert("speed".into(), json!("slow"));
    let config_maps: Api<k8s_openapi::api::core::v1::ConfigMap> = Api::namespaced(client.clone(), ns);
    config_maps
        .create(
            &Default::default(),
            &serde_json::from_value(json!({"metadata": {"name": "settings"}, "data": data}))?,
        )
        .await?;
    Ok(repo)
}

/// A canary Rollout `shop` (setWeight 20, pause) run by an in-process Rollout controller, updated to a new
/// image and paused at its second step.
async fn rollout_paused_at_20(client: &kube::Client, ns: &str) -> Result<Api<DynamicObject>> {
    let config = tack_delivery::DeliveryConfig {
        namespace: Some(ns.to_string()),
        concurrency: 2,
    };
    let controller_client = client.clone();
    tokio::spawn(async move {
        tack_delivery::run(controller_client, config, std::future::pending::<()>()).await;
    });
    let rollouts: Api<DynamicObject> =
        Api::namespaced_with(client.clone(), ns, &tack_delivery::rollout::rollout_resource());
    let rollout: DynamicObject = serde_json::from_value(json!({
        "apiVersion": "argoproj.io/v1alpha1", "kind": "Rollout",
        "metadata": {"name": "shop", "namespace": ns},
        "spec": {"replicas": 5, "selector": {"matchLabels": {"app": "shop"}},
                 "template": {"metadata": {"labels": {"app": "shop"}},
                              "spec": {"containers": [{"name": "shop", "image": "shop:1"}]}},
                 "strategy": {"canary": {"steps": [{"setWeight": 20}, {"pause": {}}]}}}
    }))?;
    rollouts.create(&Default::default(), &rollout).await?;
    let phase = |want: &'static str| {
        let rollouts = rollouts.clone();
        async move {
            tack_testkit::eventually(Duration::from_secs(60), want, || {
                let rollouts = rollouts.clone();
                async move { Ok((rollouts.get("shop").await?.data["status"]["phase"] == want).then_some(())) }
            })
            .await
        }
    };
    phase("Healthy").await?;
    let image =
        json!({"spec": {"template": {"spec": {"containers": [{"name": "shop", "image": "shop:2"}]}}}});
    rollouts
        .patch("shop", &Default::default(), &kube::api::Patch::Merge(&image))
        .await?;
    phase("Paused").await?;
    Ok(rollouts)
}

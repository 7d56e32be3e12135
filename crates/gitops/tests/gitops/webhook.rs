//! The Git push webhook receiver against the local control plane and a real Git repository over file://: a
//! signed GitHub push refreshes the application at once (its interval is 10 minutes), a bad signature changes
//! nothing, a malformed payload is refused, a push to another branch refreshes nothing, a GitLab push with its
//! token refreshes too.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use hmac::{Hmac, KeyInit, Mac};
use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::{Api, Patch, PatchParams};
use serde_json::json;
use sha2::Sha256;
use tack_gitops::webhook::WebhookSecret;
use tack_gitops::{ControllerConfig, Metrics, REFRESH_ANNOTATION};
use tack_model::{GitOpsConfig, SyncState};
use tack_testkit::{TestNamespace, eventually};

use super::install_crd;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// A bare repository over file:// whose `app/` holds one ConfigMap `settings` with `data.color`.
pub(super) struct ConfigRepo {
    repo: tack_testkit::GitRepo,
}

impl ConfigRepo {
    pub(super) fn new(color: &str) -> Result<ConfigRepo> {
        let repo = ConfigRepo {
            repo: tack_testkit::GitRepo::new()?,
        };
        std::fs::create_dir_all(repo.repo.work().join("app"))?;
        repo.set_color(color)?;
        Ok(repo)
    }

    pub(super) fn url(&self) -> String {
        self.repo.url()
    }

    /// Commits `data.color: COLOR` on `branch`, pushes it, and returns the commit.
    pub(super) fn set_color_on(&self, branch: &str, color: &str) -> Result<String> {
        std::fs::write(
            self.repo.work().join("app/configmap.yaml"),
            format!(
                "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\ndata:\n  color: {color}\n"
            ),
        )?;
        self.repo.commit(branch, &format!("color {color}"))
    }

    pub(super) fn set_color(&self, color: &str) -> Result<String> {
        self.set_color_on("main", color)
    }
}

/// Creates the GitOpsConfig `name` following `repo` at `main`, automated, with a 10-minute interval.
pub(super) async fn create_app(apps: &Api<GitOpsConfig>, ns: &str, name: &str, url: &str) -> Result<()> {
    let app = json!({
        "apiVersion": "gitops.tack.dev/v1alpha1",
        "kind": "GitOpsConfig",
        "metadata": {"name": name, "namespace": ns},
        "spec": {
            "source": {"repoURL": url, "revision": "main", "path": "app"},
            "destination": {"namespace": ns},
            "syncPolicy": {"interval": "10m", "automated": {"prune": true}},
        },
    });
    apps.patch(name, &PatchParams::apply("tack-test"), &Patch::Apply(&app))
        .await?;
    Ok(())
}

/// Waits until the ConfigMap `settings` says `color`.
pub(super) async fn wait_color(client: &kube::Client, ns: &str, color: &str, within: Duration) -> Result<()> {
    let cms: Api<ConfigMap> = Api::namespaced(client.clone(), ns);
    eventually(within, &format!("ConfigMap settings color {color}"), || async {
        let cm = cms.get_opt("settings").await?;
        let now = cm.and_then(|c| c.data).and_then(|d| d.get("color").cloned());
        Ok((now.as_deref() == Some(color)).then_some(()))
    })
    .await
}

pub(super) async fn color(client: &kube::Client, ns: &str) -> Result<Option<String>> {
    let cms: Api<ConfigMap> = Api::namespaced(client.clone(), ns);
    Ok(cms
        .get_opt("settings")
        .await?
        .and_then(|c| c.data)
        .and_then(|d| d.get("color").cloned()))
}

/// One HTTP/1.1 request over a fresh connection; returns the status code and the body.
pub(super) async fn http(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Result<(u16, String)> {
    let mut stream = tokio::net::TcpStream::connect(addr).await?;
    let mut head = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes()).await?;
    stream.write_all(body).await?;
    let mut response = Vec::new();
    stream.read_to_end(&mut response).await?;
    let text = String::from_utf8_lossy(&response).into_owned();
    let status = text
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .with_context(|| format!("no status line in {text:?}"))?;
    let body = text
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    Ok((status, body))
}

fn sign(secret: &[u8], body: &[u8]) -> String {
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(secret).expect("any key length");
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

fn github_payload(url: &str, reference: &str, after: &str) -> Vec<u8> {
    // The repository as GitHub spells it: the clone URL, and the web URL without `.git`.
    let web = url.trim_end_matches(".git");
    serde_json::to_vec(&json!({
        "ref": reference,
        "before": "0000000000000000000000000000000000000000",
        "after": after,
        "repository": {"name": "repo", "clone_url": url, "html_url": web, "default_branch": "main"},
        "pusher": {"name": "tack test"},
    }))
    .expect("JSON")
}

async fn refresh_annotation(apps: &Api<GitOpsConfig>, name: &str) -> Result<Option<String>> {
    Ok(apps
        .get(name)
        .await?
        .metadata
        .annotations
        .and_then(|a| a.get(REFRESH_ANNOTATION).cloned()))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the local control plane"]
async fn a_signed_push_refreshes_at_once_and_a_bad_signature_changes_nothing() -> Result<()> {
    tack_cluster::install_crypto_provider();
    let client = tack_testkit::client().await?;
    install_crd(&client).await?;
    let ns = TestNamespace::new(&client, "webhook").await?;
    let repo = ConfigRepo::new("blue")?;
    let cache = tempfile::tempdir()?;
    const SECRET: &[u8] = b"webhook-s3cret";

    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let config = ControllerConfig {
        cache_dir: cache.path().to_path_buf(),
        namespace: Some(ns.name().to_string()),
        concurrency: 2,
        lockdown: Default::default(),
        ..Default::default()
    };
    let controller = tokio::spawn(tack_gitops::run_with_metrics(
        client.clone(),
        config,
        Arc::new(Metrics::new()),
        async move {
            let _ = stopped.await;
        },
    ));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let secret = WebhookSecret::new(SECRET).context("secret")?;
    let router = tack_gitops::webhook::router(client.clone(), Some(ns.name().to_string()), secret);
    let (server_stop, server_stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(tack_gitops::metrics::serve(listener, router, async move {
        let _ = server_stopped.await;
    }));

    let apps: Api<GitOpsConfig> = Api::namespaced(client.clone(), ns.name());
    create_app(&apps, ns.name(), "app", &repo.url()).await?;
    wait_color(&client, ns.name(), "blue", Duration::from_secs(60)).await?;
    eventually(Duration::from_secs(30), "app Synced", || async {
        let s = apps.get("app").await?.status.unwrap_or_default();
        Ok(s.sync
            .is_some_and(|x| x.status == SyncState::Synced)
            .then_some(()))
    })
    .await?;
    // The first reconcile is done; with a 10-minute interval only the webhook can bring the next commit.

    // 1. A signed GitHub push of main: 202 naming the application, applied within seconds.
    let green = repo.set_color("green")?;
    // The payload spells the repository with `.git` and a trailing slash and an upper-case scheme.
    let spelled = format!("FILE://{}/", repo.repo.bare().display());
    let body = github_payload(&spelled, "refs/heads/main", &green);
    let started = Instant::now();
    let (status, text) = http(
        addr,
        "POST",
        "/webhook/github",
        &[
            ("X-GitHub-Event", "push"),
            ("X-Hub-Signature-256", &sign(SECRET, &body)),
            ("Content-Type", "application/json"),
        ],
        &body,
    )
    .await?;
    assert_eq!(status, 202, "{text}");
    assert!(text.contains(&format!("{}/app", ns.name())), "{text}");
    assert!(text.contains("refreshed 1 application"), "{text}");
    wait_color(&client, ns.name(), "green", Duration::from_secs(20)).await?;
    let took = started.elapsed();
    assert!(took < Duration::from_secs(20), "webhook to applied took {took:?}");
    eventually(Duration::from_secs(10), "status at the pushed commit", || async {
        let s = apps.get("app").await?.status.unwrap_or_default();
        Ok((s.sync.and_then(|x| x.revision).as_deref() == Some(green.as_str())).then_some(()))
    })
    .await?;

    // 2. A bad signature: 401 in plain words, no refresh, nothing applied.
    let red = repo.set_color("red")?;
    let body = github_payload(&repo.url(), "refs/heads/main", &red);
    let before = refresh_annotation(&apps, "app").await?;
    let (status, text) = http(
        addr,
        "POST",
        "/webhook/github",
        &[
            ("X-GitHub-Event", "push"),
            ("X-Hub-Signature-256", &sign(b"not-the-secret", &body)),
        ],
        &body,
    )
    .await?;
    assert_eq!(status, 401, "{text}");
    assert!(text.contains("X-Hub-Signature-256 does not match"), "{text}");
    assert!(!text.contains("webhook-s3cret"), "{text}");
    let (status, text) = http(
        addr,
        "POST",
        "/webhook/github",
        &[("X-GitHub-Event", "push")],
        &body,
    )
    .await?;
    assert_eq!(status, 401, "missing signature: {text}");
    tokio::time::sleep(Duration::from_secs(5)).await;
    assert_eq!(refresh_annotation(&apps, "app").await?, before, "no refresh");
    assert_eq!(
        color(&client, ns.name()).await?.as_deref(),
        Some("green"),
        "nothing applied"
    );

    // 3. A malformed payload, correctly signed: 400.
    let junk = b"{\"ref\": 42}".to_vec();
    let (status, text) = http(
        addr,
        "POST",
        "/webhook/github",
        &[
            ("X-GitHub-Event", "push"),
            ("X-Hub-Signature-256", &sign(SECRET, &junk)),
        ],
        &junk,
    )
    .await?;
    assert_eq!(status, 400, "{text}");
    assert!(text.contains("not a valid GitHub push event"), "{text}");

    // 4. A push to another branch refreshes nothing; a ping is acknowledged.
    let other = repo.set_color_on("feature", "purple")?;
    let body = github_payload(&repo.url(), "refs/heads/feature", &other);
    let (status, text) = http(
        addr,
        "POST",
        "/webhook",
        &[
            ("X-GitHub-Event", "push"),
            ("X-Hub-Signature-256", &sign(SECRET, &body)),
        ],
        &body,
    )
    .await?;
    assert_eq!(status, 202, "{text}");
    assert!(text.contains("refreshed 0 application"), "{text}");
    let ping = br#"{"zen":"Design for failure.","hook_id":1}"#;
    let (status, _) = http(
        addr,
        "POST",
        "/webhook/github",
        &[
            ("X-GitHub-Event", "ping"),
            ("X-Hub-Signature-256", &sign(SECRET, ping)),
        ],
        ping,
    )
    .await?;
    assert_eq!(status, 200);
    assert_eq!(refresh_annotation(&apps, "app").await?, before, "no refresh");

    // 5. GitLab: a wrong token is refused; with its token, main (now orange) is applied.
    let orange = repo.set_color("orange")?;
    let body = serde_json::to_vec(&json!({
        "object_kind": "push", "ref": "refs/heads/main", "after": orange,
        "project": {"git_http_url": repo.url(), "default_branch": "main"},
    }))?;
    let (status, text) = http(
        addr,
        "POST",
        "/webhook/gitlab",
        &[("X-Gitlab-Event", "Push Hook"), ("X-Gitlab-Token", "wrong")],
        &body,
    )
    .await?;
    assert_eq!(status, 401, "{text}");
    let (status, text) = http(
        addr,
        "POST",
        "/webhook/gitlab",
        &[
            ("X-Gitlab-Event", "Push Hook"),
            ("X-Gitlab-Token", "webhook-s3cret"),
        ],
        &body,
    )
    .await?;
    assert_eq!(status, 202, "{text}");
    wait_color(&client, ns.name(), "orange", Duration::from_secs(20)).await?;

    let _ = server_stop.send(());
    server.await??;
    let _ = stop.send(());
    tokio::time::timeout(Duration::from_secs(30), controller)
        .await
        .context("controller did not stop within 30 s")??;
    Ok(())
}

/// A monorepo of two applications (folders `a` and `b`), both naming their paths in `tack.dev/refresh-paths`: a
/// push whose commit list changes only `a/` refreshes `a` alone (202 says that `b` was not refreshed, and `b`
/// keeps its annotation); a push that does not list its files refreshes both.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the local control plane"]
async fn a_push_refreshes_only_the_applications_whose_named_paths_it_changed() -> Result<()> {
    tack_cluster::install_crypto_provider();
    let client = tack_testkit::client().await?;
    install_crd(&client).await?;
    let ns = TestNamespace::new(&client, "webhook-paths").await?;
    let repo = tack_testkit::GitRepo::new()?;
    let write = |dir: &str, value: &str| -> Result<()> {
        std::fs::create_dir_all(repo.work().join(dir))?;
        std::fs::write(
            repo.work().join(dir).join("cm.yaml"),
            format!(
                "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm-{dir}\ndata:\n  v: \"{value}\"\n"
            ),
        )?;
        Ok(())
    };
    write("a", "1")?;
    write("b", "1")?;
    repo.commit("main", "two applications")?;
    const SECRET: &[u8] = b"paths-s3cret";
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let secret = WebhookSecret::new(SECRET).context("secret")?;
    // One GitOpsConfig per LIST page: the push is sorted across pages.
    let router = tack_gitops::webhook::router_paged(client.clone(), Some(ns.name().to_string()), secret, 1);
    let (server_stop, server_stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(tack_gitops::metrics::serve(listener, router, async move {
        let _ = server_stopped.await;
    }));
    let apps: Api<GitOpsConfig> = Api::namespaced(client.clone(), ns.name());
    for name in ["a", "b"] {
        let app = json!({
            "apiVersion": "gitops.tack.dev/v1alpha1",
            "kind": "GitOpsConfig",
            "metadata": {"name": name, "namespace": ns.name(),
                         "annotations": {tack_gitops::webhook::REFRESH_PATHS_ANNOTATION: "."}},
            "spec": {
                "source": {"repoURL": repo.url(), "revision": "main", "path": name},
                "destination": {"namespace": ns.name()},
                "syncPolicy": {"interval": "10m", "automated": {"prune": true}},
            },
        });
        apps.patch(name, &PatchParams::apply("tack-test"), &Patch::Apply(&app))
            .await?;
    }
    let post = |body: Vec<u8>| async move {
        http(
            addr,
            "POST",
            "/webhook/github",
            &[
                ("X-GitHub-Event", "push"),
                ("X-Hub-Signature-256", &sign(SECRET, &body)),
                ("Content-Type", "application/json"),
            ],
            &body,
        )
        .await
    };

    // Only `a/` changed, and the payload says so.
    write("a", "2")?;
    let commit = repo.commit("main", "a changed")?;
    let body = serde_json::to_vec(&json!({
        "ref": "refs/heads/main", "after": commit,
        "repository": {"clone_url": repo.url(), "default_branch": "main"},
        "commits": [{"added": [], "removed": [], "modified": ["a/cm.yaml"]}],
    }))?;
    let (status, text) = post(body).await?;
    assert_eq!(status, 202, "{text}");
    assert!(text.contains("refreshed 1 application"), "{text}");
    assert!(text.contains(&format!("{}/a", ns.name())), "{text}");
    assert!(text.contains("1 not refreshed"), "{text}");
    assert!(refresh_annotation(&apps, "a").await?.is_some());
    assert_eq!(refresh_annotation(&apps, "b").await?, None);

    // No commit list: both refreshed.
    let commit = repo.commit("main", "empty")?;
    let (status, text) = post(github_payload(&repo.url(), "refs/heads/main", &commit)).await?;
    assert_eq!(status, 202, "{text}");
    assert!(text.contains("refreshed 2 application"), "{text}");
    assert!(refresh_annotation(&apps, "b").await?.is_some());

    let _ = server_stop.send(());
    server.await??;
    Ok(())
}

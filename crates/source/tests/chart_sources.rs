//! Chart sources against real servers on 127.0.0.1: a chart repository served by an HTTP server in the test
//! (index.yaml and archives made by the reference helm, tests/charts/), and the CNCF Distribution registry
//! (built by `testenv/oracles.sh registry`) with charts pushed by the reference `helm push`.

#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tack_source::chart::{ChartAuth, ChartError, ChartFetcher, ChartRef, Timeouts, sha256};

fn charts_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/charts")
}

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(charts_dir().join(name)).unwrap()
}

/// The digest helm wrote into index.yaml for a version.
fn index_digest(version: &str) -> String {
    let index = String::from_utf8(fixture("index.yaml")).unwrap();
    let mut digest = "";
    for line in index.lines() {
        let l = line.trim();
        if let Some(d) = l.strip_prefix("digest: ") {
            digest = d;
        }
        if l == format!("version: {version}") {
            return format!("sha256:{digest}");
        }
    }
    panic!("no {version} in index.yaml")
}

/// A small HTTP/1.1 server: routes are paths → bodies; paths under `/private/` need basic auth
/// `user:pass`; `/stall/` accepts and never answers. Every request's path is recorded.
struct Server {
    port: u16,
    requests: Arc<Mutex<Vec<String>>>,
}

impl Server {
    fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }
    fn count(&self) -> usize {
        self.requests.lock().unwrap().len()
    }
}

fn serve(mut stream: TcpStream, routes: &BTreeMap<String, Vec<u8>>, log: &Mutex<Vec<String>>) {
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut line = String::new();
    reader.read_line(&mut line).unwrap();
    let path = line.split_whitespace().nth(1).unwrap_or("").to_string();
    let mut authorization = String::new();
    loop {
        let mut h = String::new();
        if reader.read_line(&mut h).unwrap_or(0) == 0 || h == "\r\n" {
            break;
        }
        if let Some((k, v)) = h.split_once(':')
            && k.eq_ignore_ascii_case("authorization")
        {
            authorization = v.trim().to_string();
        }
    }
    log.lock().unwrap().push(path.clone());
    if path.starts_with("/stall/") {
        std::thread::sleep(Duration::from_secs(30));
        return;
    }
    let (status, body) = if path.starts_with("/private/") && authorization != "Basic dXNlcjpwYXNz" {
        (
            "401 Unauthorized\r\nWWW-Authenticate: Basic realm=\"charts\"",
            b"unauthorized\n".to_vec(),
        )
    } else {
        match routes.get(&path) {
            Some(b) => ("200 OK", b.clone()),
            None => ("404 Not Found", b"not found\n".to_vec()),
        }
    };
    let _ = write!(
        stream,
        "HTTP/1.1 {status}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    let _ = stream.write_all(&body);
}

/// The repository fixtures under several prefixes: as helm wrote them (`/repo/`, `/private/`), with absolute
/// URLs pointing at `/files/` (`/abs/`), and with a wrong digest for 1.0.0 (`/bad/`).
fn repository_server() -> Server {
    // Absolute URLs name the server's own port: pick it first.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    let index = String::from_utf8(fixture("index.yaml")).unwrap();
    let mut routes = BTreeMap::new();
    for entry in std::fs::read_dir(charts_dir()).unwrap() {
        let name = entry.unwrap().file_name().into_string().unwrap();
        if name.ends_with(".tgz") {
            for prefix in ["repo", "private", "files", "bad"] {
                routes.insert(format!("/{prefix}/{name}"), fixture(&name));
            }
        }
    }
    for prefix in ["repo", "private"] {
        routes.insert(format!("/{prefix}/index.yaml"), index.clone().into_bytes());
    }
    let abs = index.replace("- web-", &format!("- http://127.0.0.1:{port}/files/web-"));
    routes.insert("/abs/index.yaml".into(), abs.into_bytes());
    let good = index_digest("1.0.0");
    let bad = index.replace(good.trim_start_matches("sha256:"), &"0".repeat(64));
    routes.insert("/bad/index.yaml".into(), bad.into_bytes());
    start_on(port, routes)
}

fn start_on(port: u16, routes: BTreeMap<String, Vec<u8>>) -> Server {
    let listener = TcpListener::bind(("127.0.0.1", port)).unwrap();
    let requests = Arc::new(Mutex::new(Vec::new()));
    let log = requests.clone();
    let routes = Arc::new(routes);
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let (routes, log) = (routes.clone(), log.clone());
            std::thread::spawn(move || serve(stream, &routes, &log));
        }
    });
    Server { port, requests }
}

fn repo(url: &str, version: &str) -> ChartRef {
    ChartRef::Repository {
        url: url.into(),
        name: "web".into(),
        version: version.into(),
    }
}

#[test]
fn chart_repository_versions_digests_and_cache() {
    let server = repository_server();
    let cache = tempfile::tempdir().unwrap();
    let fetcher = ChartFetcher::new(cache.path());
    for (constraint, want) in [
        ("", "1.1.0"),
        ("^0.1", "0.1.0"),
        ("~0.2.0", "0.2.0"),
        (">=1 <2", "1.1.0"),
        ("1.0.x", "1.0.0"),
        ("0.1.0 || 1.0.0", "1.0.0"),
        ("1.0.0", "1.0.0"),
        (">=1.2.0-0", "1.2.0-rc.1"),
    ] {
        let got = fetcher.fetch(&repo(&server.url("/repo"), constraint)).unwrap();
        assert_eq!(got.version, want, "constraint {constraint:?}");
        let bytes = std::fs::read(&got.path).unwrap();
        assert_eq!(bytes, fixture(&format!("web-{want}.tgz")));
        assert_eq!(got.digest, index_digest(want));
        assert_eq!(got.digest, sha256(&bytes));
        assert_eq!(
            got.path,
            cache.path().join(format!(
                "charts/sha256/{}.tgz",
                got.digest.trim_start_matches("sha256:")
            ))
        );
    }
    // Prereleases only when asked, as helm.
    let devel = ChartFetcher::new(cache.path()).devel(true);
    assert_eq!(
        devel.fetch(&repo(&server.url("/repo"), "")).unwrap().version,
        "1.2.0-rc.1"
    );

    // A cached archive is not downloaded again: only index.yaml is fetched.
    let before = server.count();
    let again = fetcher.fetch(&repo(&server.url("/repo/"), "1.0.0")).unwrap();
    assert!(again.cached);
    assert_eq!(
        server.requests.lock().unwrap()[before..],
        ["/repo/index.yaml".to_string()]
    );

    let err = fetcher.fetch(&repo(&server.url("/repo"), "^3")).unwrap_err();
    assert!(matches!(err, ChartError::NoMatchingVersion { .. }), "{err}");
    assert!(err.to_string().contains("newest available: 1.2.0-rc.1"), "{err}");
    let err = fetcher
        .fetch(&ChartRef::Repository {
            url: server.url("/repo"),
            name: "nope".into(),
            version: String::new(),
        })
        .unwrap_err();
    assert!(matches!(err, ChartError::ChartNotFound { .. }), "{err}");
    let err = fetcher.fetch(&repo(&server.url("/missing"), "")).unwrap_err();
    assert!(matches!(err, ChartError::Status { status: 404, .. }), "{err}");
}

#[test]
fn chart_repository_absolute_urls_and_digest_mismatch() {
    let server = repository_server();
    let cache = tempfile::tempdir().unwrap();
    let fetcher = ChartFetcher::new(cache.path());
    let got = fetcher.fetch(&repo(&server.url("/abs"), "0.2.0")).unwrap();
    assert_eq!(std::fs::read(&got.path).unwrap(), fixture("web-0.2.0.tgz"));
    assert!(
        server
            .requests
            .lock()
            .unwrap()
            .contains(&"/files/web-0.2.0.tgz".to_string())
    );

    let err = fetcher.fetch(&repo(&server.url("/bad"), "1.0.0")).unwrap_err();
    assert!(matches!(err, ChartError::DigestMismatch { .. }), "{err}");
    assert!(
        !cache
            .path()
            .join("charts/sha256")
            .join(format!("{}.tgz", "0".repeat(64)))
            .exists()
    );
    assert!(
        !cache
            .path()
            .join(format!(
                "charts/sha256/{}.tgz",
                index_digest("1.0.0").trim_start_matches("sha256:")
            ))
            .exists()
    );
}

#[test]
fn chart_repository_basic_auth() {
    let server = repository_server();
    let cache = tempfile::tempdir().unwrap();
    let anonymous = ChartFetcher::new(cache.path());
    let err = anonymous.fetch(&repo(&server.url("/private"), "")).unwrap_err();
    assert!(
        matches!(err, ChartError::Unauthorized { status: 401, .. }),
        "{err}"
    );

    let wrong = ChartFetcher::new(cache.path())
        .with_auth(Some(ChartAuth::basic("user", "wrong")))
        .allow_insecure_http_credentials(true);
    let err = wrong.fetch(&repo(&server.url("/private"), "")).unwrap_err();
    assert!(matches!(err, ChartError::Unauthorized { .. }), "{err}");
    assert!(!err.to_string().contains("wrong"), "{err}");

    // Credentials over plain http:// are refused unless allowed.
    let refused = ChartFetcher::new(cache.path()).with_auth(Some(ChartAuth::basic("user", "pass")));
    let err = refused.fetch(&repo(&server.url("/private"), "")).unwrap_err();
    assert!(matches!(err, ChartError::InsecureCredentials { .. }), "{err}");

    let good = refused.allow_insecure_http_credentials(true);
    let got = good.fetch(&repo(&server.url("/private"), "~0.1")).unwrap();
    assert_eq!(std::fs::read(&got.path).unwrap(), fixture("web-0.1.0.tgz"));
}

#[test]
fn chart_url_with_and_without_digest() {
    let server = repository_server();
    let cache = tempfile::tempdir().unwrap();
    let fetcher = ChartFetcher::new(cache.path());
    let url = server.url("/files/web-1.1.0.tgz");
    let got = fetcher
        .fetch(&ChartRef::Url {
            url: url.clone(),
            digest: None,
        })
        .unwrap();
    assert_eq!(got.digest, index_digest("1.1.0"));
    // With its digest known, the cached archive answers without any request.
    let before = server.count();
    let cached = fetcher
        .fetch(&ChartRef::Url {
            url: url.clone(),
            digest: Some(got.digest.clone()),
        })
        .unwrap();
    assert!(cached.cached);
    assert_eq!(server.count(), before);
    let err = fetcher
        .fetch(&ChartRef::Url {
            url: server.url("/files/web-1.0.0.tgz"),
            digest: Some(index_digest("0.2.0")),
        })
        .unwrap_err();
    assert!(matches!(err, ChartError::DigestMismatch { .. }), "{err}");
}

#[test]
fn deadlines_and_size_limits() {
    let server = repository_server();
    let cache = tempfile::tempdir().unwrap();
    let fetcher = ChartFetcher::new(cache.path()).with_timeouts(Timeouts {
        connect: Duration::from_secs(2),
        total: Duration::from_millis(800),
    });
    let t0 = Instant::now();
    let err = fetcher.fetch(&repo(&server.url("/stall"), "")).unwrap_err();
    assert!(matches!(err, ChartError::Stalled { .. }), "{err}");
    assert!(err.is_transient());
    assert!(t0.elapsed() < Duration::from_secs(10));

    let small = ChartFetcher::new(cache.path()).with_limits(tack_source::chart::Limits {
        index: 1 << 20,
        archive: 1000,
        manifest: 1 << 20,
    });
    let err = small.fetch(&repo(&server.url("/repo"), "1.0.0")).unwrap_err();
    assert!(matches!(err, ChartError::TooLarge { .. }), "{err}");
}

// ---------------------------------------------------------------------------------------------------------
// OCI: the CNCF Distribution registry.

/// `testenv/oracles.env`'s `NAME=VALUE`.
fn pinned(name: &str) -> String {
    let env =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testenv/oracles.env"))
            .unwrap();
    env.lines()
        .find_map(|l| l.strip_prefix(&format!("{name}=")))
        .unwrap_or_else(|| panic!("{name} is not in testenv/oracles.env"))
        .trim()
        .to_string()
}

/// A tool built by testenv/oracles.sh, or a failure saying how to build it.
fn oracle(tool: &str, version_key: &str) -> PathBuf {
    let cache = std::env::var_os("TACK_ORACLE_CACHE")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            std::env::var_os("XDG_CACHE_HOME")
                .filter(|v| !v.is_empty())
                .map(PathBuf::from)
                .unwrap_or_else(|| PathBuf::from(std::env::var_os("HOME").unwrap()).join(".cache"))
                .join("tack/oracles")
        });
    let dir = cache.join(format!("{tool}-{}/bin", pinned(version_key)));
    let bin = dir.join(tool);
    assert!(
        bin.is_file() && dir.join(".complete").is_file(),
        "{} is missing: build it with `bash testenv/oracles.sh {tool}` (scripts/test.sh does it)",
        bin.display()
    );
    bin
}

struct Registry {
    child: Child,
    addr: String,
    _dir: tempfile::TempDir,
}

impl Drop for Registry {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

impl Registry {
    fn start(htpasswd: bool) -> Registry {
        let bin = oracle("registry", "REGISTRY_VERSION");
        let dir = tempfile::tempdir().unwrap();
        let port = free_port();
        let addr = format!("127.0.0.1:{port}");
        let auth = if htpasswd {
            format!(
                "auth:\n  htpasswd:\n    realm: tack-test\n    path: {}\n",
                charts_dir().join("htpasswd").display()
            )
        } else {
            String::new()
        };
        let config = format!(
            "version: 0.1\nlog:\n  level: warn\nstorage:\n  filesystem:\n    rootdirectory: {}\nhttp:\n  addr: {addr}\n{auth}",
            dir.path().join("storage").display()
        );
        std::fs::write(dir.path().join("config.yml"), config).unwrap();
        let child = Command::new(bin)
            .arg("serve")
            .arg(dir.path().join("config.yml"))
            .env("OTEL_TRACES_EXPORTER", "none")
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(dir.path().join("registry.log")).unwrap())
            .spawn()
            .unwrap();
        let r = Registry {
            child,
            addr,
            _dir: dir,
        };
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Ok(mut s) = TcpStream::connect(&r.addr) {
                let _ = write!(s, "GET /v2/ HTTP/1.0\r\n\r\n");
                let mut head = [0u8; 12];
                if s.read_exact(&mut head).is_ok() && head.starts_with(b"HTTP/") {
                    return r;
                }
            }
            let log = std::fs::read_to_string(r._dir.path().join("registry.log")).unwrap_or_default();
            assert!(Instant::now() < deadline, "the registry did not start: {log}");
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// `helm push --plain-http` of a fixture to `oci://ADDR/charts`.
    fn push(&self, chart: &str, login: Option<(&str, &str)>) {
        let helm = oracle("helm", "HELM_VERSION");
        let home = tempfile::tempdir().unwrap();
        let mut cmd = Command::new(helm);
        cmd.arg("push")
            .arg(charts_dir().join(chart))
            .arg(format!("oci://{}/charts", self.addr))
            .arg("--plain-http")
            .env("HELM_CONFIG_HOME", home.path().join("config"))
            .env("HELM_CACHE_HOME", home.path().join("cache"))
            .env("HELM_DATA_HOME", home.path().join("data"));
        if let Some((u, p)) = login {
            cmd.args(["--username", u, "--password", p]);
        }
        let out = cmd.output().unwrap();
        assert!(
            out.status.success(),
            "helm push: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

fn oci(reference: &str, version: &str) -> ChartRef {
    ChartRef::Oci {
        reference: reference.into(),
        version: version.into(),
    }
}

#[test]
fn oci_registry_tags_constraints_and_digests() {
    let registry = Registry::start(false);
    for chart in [
        "web-0.1.0.tgz",
        "web-1.0.0.tgz",
        "web-1.1.0.tgz",
        "web-1.2.0-rc.1.tgz",
    ] {
        registry.push(chart, None);
    }
    let cache = tempfile::tempdir().unwrap();
    let fetcher = ChartFetcher::new(cache.path());
    let base = format!("oci://{}/charts/web", registry.addr);
    for (reference, version, want) in [
        (base.clone(), "1.0.0", "1.0.0"),
        (format!("{base}:0.1.0"), "", "0.1.0"),
        (base.clone(), "^1", "1.1.0"),
        (base.clone(), "", "1.1.0"),
        (base.clone(), "~1.0", "1.0.0"),
        (base.clone(), ">=1.2.0-0", "1.2.0-rc.1"),
    ] {
        let got = fetcher.fetch(&oci(&reference, version)).unwrap();
        assert_eq!(got.version, want, "{reference} {version}");
        // helm push stores the archive as is: the layer is the packaged .tgz.
        assert_eq!(
            std::fs::read(&got.path).unwrap(),
            fixture(&format!("web-{want}.tgz"))
        );
        assert_eq!(got.digest, index_digest(want));
    }
    let err = fetcher.fetch(&oci(&base, "^5")).unwrap_err();
    assert!(matches!(err, ChartError::NoMatchingVersion { .. }), "{err}");
    let err = fetcher
        .fetch(&oci(&format!("oci://{}/charts/absent", registry.addr), "1.0.0"))
        .unwrap_err();
    assert!(matches!(err, ChartError::Status { status: 404, .. }), "{err}");

    // By manifest digest: the first fetch reads the registry, later ones are served from the cache even with
    // the registry gone.
    let manifest = manifest_digest(&registry.addr, "charts/web", "1.1.0");
    let by_digest = format!("{base}@{manifest}");
    let got = fetcher.fetch(&oci(&by_digest, "")).unwrap();
    assert_eq!(std::fs::read(&got.path).unwrap(), fixture("web-1.1.0.tgz"));
    drop(registry);
    let offline = fetcher.fetch(&oci(&by_digest, "")).unwrap();
    assert!(offline.cached);
    assert_eq!(offline.path, got.path);
    let wrong = format!("{base}@sha256:{}", "1".repeat(64));
    assert!(fetcher.fetch(&oci(&wrong, "")).is_err());
}

/// The manifest digest of a tag, read with a raw request (Docker-Content-Digest header).
fn manifest_digest(addr: &str, repository: &str, tag: &str) -> String {
    let mut s = TcpStream::connect(addr).unwrap();
    write!(
        s,
        "HEAD /v2/{repository}/manifests/{tag} HTTP/1.0\r\nAccept: application/vnd.oci.image.manifest.v1+json\r\n\r\n"
    )
    .unwrap();
    let mut text = String::new();
    s.read_to_string(&mut text).unwrap();
    text.lines()
        .find_map(|l| l.strip_prefix("Docker-Content-Digest: "))
        .unwrap_or_else(|| panic!("no digest header: {text}"))
        .trim()
        .to_string()
}

#[test]
fn oci_registry_basic_auth() {
    let registry = Registry::start(true);
    registry.push("web-0.2.0.tgz", Some(("tack", "chart-secret")));
    let cache = tempfile::tempdir().unwrap();
    let reference = format!("oci://{}/charts/web", registry.addr);

    let err = ChartFetcher::new(cache.path())
        .fetch(&oci(&reference, "0.2.0"))
        .unwrap_err();
    assert!(
        matches!(err, ChartError::Unauthorized { status: 401, .. }),
        "{err}"
    );
    let err = ChartFetcher::new(cache.path())
        .with_auth(Some(ChartAuth::basic("tack", "nope")))
        .allow_insecure_http_credentials(true)
        .fetch(&oci(&reference, "0.2.0"))
        .unwrap_err();
    assert!(matches!(err, ChartError::Unauthorized { .. }), "{err}");

    let fetcher = ChartFetcher::new(cache.path())
        .with_auth(Some(ChartAuth::basic("tack", "chart-secret")))
        .allow_insecure_http_credentials(true);
    let got = fetcher.fetch(&oci(&reference, "0.2.0")).unwrap();
    assert_eq!(std::fs::read(&got.path).unwrap(), fixture("web-0.2.0.tgz"));
    // A constraint lists the tags, authenticated too.
    assert_eq!(fetcher.fetch(&oci(&reference, "<1")).unwrap().version, "0.2.0");
}

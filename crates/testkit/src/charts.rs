//! Chart sources for tests, on 127.0.0.1 only: a Helm chart repository served by a small HTTP server
//! ([`repository_server`]: `index.yaml` and archives made by the reference helm, the fixtures of
//! `crates/source/tests/charts/`), and the CNCF Distribution registry ([`Registry`], built by
//! `testenv/oracles.sh registry`) with charts pushed by the reference `helm push`.
//!
//! Test support: failures panic with what to do.

#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The repository's root (the workspace).
fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The chart fixtures: `web-{0.1.0,0.2.0,1.0.0,1.1.0,1.2.0-rc.1}.tgz` (`helm create web` trimmed to a
/// deployment, a service and a service account), their `index.yaml`, and `htpasswd` (user `tack`,
/// password `chart-secret`).
pub fn fixtures_dir() -> PathBuf {
    workspace().join("crates/source/tests/charts")
}

/// The bytes of a fixture.
pub fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(fixtures_dir().join(name)).unwrap()
}

/// The digest helm wrote into index.yaml for a version of `web` (`sha256:<hex>`).
pub fn index_digest(version: &str) -> String {
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
pub struct ChartServer {
    /// The 127.0.0.1 port the server listens on.
    pub port: u16,
    /// The path of every request received, in arrival order.
    pub requests: Arc<Mutex<Vec<String>>>,
}

impl ChartServer {
    /// `http://127.0.0.1:PORT{path}`.
    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }
    /// How many requests were served.
    pub fn count(&self) -> usize {
        self.requests.lock().unwrap().len()
    }
}

fn serve(mut stream: TcpStream, routes: &BTreeMap<String, Vec<u8>>, log: &Mutex<Vec<String>>) {
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut line = String::new();
    if reader.read_line(&mut line).is_err() {
        return;
    }
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

/// The chart repository fixtures under several prefixes: as helm wrote them (`/repo/`, `/private/` with basic
/// auth `user:pass`), with absolute URLs pointing at `/files/` (`/abs/`), and with a wrong digest for 1.0.0
/// (`/bad/`). The server lives as long as the test process.
pub fn repository_server() -> ChartServer {
    // Absolute URLs name the server's own port: bind it first, so no other process can take it meanwhile.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let index = String::from_utf8(fixture("index.yaml")).unwrap();
    let mut routes = BTreeMap::new();
    for entry in std::fs::read_dir(fixtures_dir()).unwrap() {
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
    start_on(listener, routes)
}

fn start_on(listener: TcpListener, routes: BTreeMap<String, Vec<u8>>) -> ChartServer {
    let port = listener.local_addr().unwrap().port();
    let requests = Arc::new(Mutex::new(Vec::new()));
    let log = requests.clone();
    let routes = Arc::new(routes);
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let (routes, log) = (routes.clone(), log.clone());
            std::thread::spawn(move || serve(stream, &routes, &log));
        }
    });
    ChartServer { port, requests }
}

/// A free TCP port on 127.0.0.1.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// `testenv/oracles.env`'s `NAME=VALUE`.
fn pinned(name: &str) -> String {
    let env = std::fs::read_to_string(workspace().join("testenv/oracles.env")).unwrap();
    env.lines()
        .find_map(|l| l.strip_prefix(&format!("{name}=")))
        .unwrap_or_else(|| panic!("{name} is not in testenv/oracles.env"))
        .trim()
        .to_string()
}

/// A tool built by testenv/oracles.sh (`helm` with `HELM_VERSION`, `registry` with `REGISTRY_VERSION`), or a
/// failure saying how to build it.
pub fn oracle(tool: &str, version_key: &str) -> PathBuf {
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

/// The CNCF Distribution registry on a free port of 127.0.0.1, with its storage in a temporary directory;
/// stopped when dropped.
pub struct Registry {
    child: Child,
    /// `127.0.0.1:PORT`.
    pub addr: String,
    dir: tempfile::TempDir,
}

impl Drop for Registry {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Registry {
    /// Starts the registry, anonymous or (with `htpasswd`) requiring user `tack`, password `chart-secret`.
    pub fn start(htpasswd: bool) -> Registry {
        Registry::start_attempt(htpasswd, 1)
    }

    fn start_attempt(htpasswd: bool, attempt: u32) -> Registry {
        let bin = oracle("registry", "REGISTRY_VERSION");
        let dir = tempfile::tempdir().unwrap();
        let addr = format!("127.0.0.1:{}", free_port());
        let auth = if htpasswd {
            format!(
                "auth:\n  htpasswd:\n    realm: tack-test\n    path: {}\n",
                fixtures_dir().join("htpasswd").display()
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
        let mut r = Registry { child, addr, dir };
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Ok(mut s) = TcpStream::connect(&r.addr) {
                let _ = write!(s, "GET /v2/ HTTP/1.0\r\n\r\n");
                let mut head = [0u8; 12];
                if s.read_exact(&mut head).is_ok() && head.starts_with(b"HTTP/") {
                    return r;
                }
            }
            let log = std::fs::read_to_string(r.dir.path().join("registry.log")).unwrap_or_default();
            if attempt < 3 && matches!(r.child.try_wait(), Ok(Some(_))) {
                // The free port was taken by another process before the registry bound it: try another.
                drop(r);
                return Registry::start_attempt(htpasswd, attempt + 1);
            }
            assert!(Instant::now() < deadline, "the registry did not start: {log}");
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// `helm push --plain-http` of a fixture (`web-1.0.0.tgz`) to `oci://ADDR/charts`.
    pub fn push(&self, chart: &str, login: Option<(&str, &str)>) {
        let helm = oracle("helm", "HELM_VERSION");
        let home = tempfile::tempdir().unwrap();
        let mut cmd = Command::new(helm);
        cmd.arg("push")
            .arg(fixtures_dir().join(chart))
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

//! Real Git servers for tests, on 127.0.0.1 only: local bare repositories (file://), `git daemon`
//! (git://) and `git http-backend` behind a small HTTP/1.1 server (smart HTTP, optional basic auth).
//! Self-contained: no dependency on other tack crates. Failures to start a server panic: it is test set-up.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::thread;
use std::time::{Duration, Instant};

/// Runs git with an environment independent of the machine's configuration.
pub fn git(cwd: &Path, args: &[&str]) -> String {
    let out = Command::new("git")
        .args(args)
        .current_dir(cwd)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_AUTHOR_NAME", "Test Author")
        .env("GIT_AUTHOR_EMAIL", "author@example.com")
        .env("GIT_COMMITTER_NAME", "Test Author")
        .env("GIT_COMMITTER_EMAIL", "author@example.com")
        .env("GIT_TERMINAL_PROMPT", "0")
        .output()
        .expect("git runs");
    assert!(
        out.status.success(),
        "git {args:?} failed in {}: {}",
        cwd.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// A bare repository under a server root, plus a working clone to commit and push from.
pub struct GitRepo {
    /// The repository name: `<name>.git` under the server root.
    pub name: String,
    /// The bare repository the servers serve.
    pub bare: PathBuf,
    /// The working clone; commit there and push to `bare`.
    pub work: PathBuf,
}

impl GitRepo {
    /// Creates `<root>/<name>.git` (bare) and a working clone in `<scratch>/<name>`, with branch `main`.
    pub fn create(root: &Path, scratch: &Path, name: &str) -> GitRepo {
        let bare = root.join(format!("{name}.git"));
        std::fs::create_dir_all(&bare).expect("mkdir bare");
        git(&bare, &["init", "--bare", "-q", "-b", "main"]);
        // Smart HTTP pushes are not used; http-backend only serves fetches.
        let work = scratch.join(name);
        std::fs::create_dir_all(&work).expect("mkdir work");
        git(&work, &["init", "-q", "-b", "main"]);
        git(
            &work,
            &["remote", "add", "origin", bare.to_str().expect("utf-8 path")],
        );
        GitRepo {
            name: name.to_string(),
            bare,
            work,
        }
    }

    /// Writes `files` (path, content), commits everything and pushes `main`. Returns the commit SHA.
    pub fn commit(&self, files: &[(&str, &str)], message: &str) -> String {
        for (path, content) in files {
            let p = self.work.join(path);
            if let Some(parent) = p.parent() {
                std::fs::create_dir_all(parent).expect("mkdir");
            }
            std::fs::write(&p, content).expect("write");
        }
        git(&self.work, &["add", "-A"]);
        git(&self.work, &["commit", "-q", "--allow-empty", "-m", message]);
        git(&self.work, &["push", "-q", "origin", "HEAD:refs/heads/main"]);
        git(&self.work, &["rev-parse", "HEAD"])
    }

    /// Pushes the current commit to another branch.
    pub fn push_branch(&self, branch: &str) {
        git(
            &self.work,
            &["push", "-q", "-f", "origin", &format!("HEAD:refs/heads/{branch}")],
        );
    }

    /// Tags the current commit (annotated when `annotated`) and pushes the tag.
    pub fn tag(&self, name: &str, annotated: bool) {
        if annotated {
            git(&self.work, &["tag", "-a", name, "-m", &format!("release {name}")]);
        } else {
            git(&self.work, &["tag", name]);
        }
        git(
            &self.work,
            &["push", "-q", "origin", &format!("refs/tags/{name}")],
        );
    }
}

/// A port that was free a moment ago on 127.0.0.1.
pub fn free_port() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind");
    l.local_addr().expect("addr").port()
}

/// `git daemon` serving every repository under `base` on 127.0.0.1.
pub struct GitDaemon {
    child: Child,
    /// The 127.0.0.1 port the daemon listens on.
    pub port: u16,
}

impl GitDaemon {
    /// Starts `git daemon` on a free port, exporting every repository under `base`; waits until it accepts
    /// connections. Panics when it cannot be started (a test helper). The daemon is killed on drop.
    pub fn start(base: &Path) -> GitDaemon {
        GitDaemon::start_attempt(base, 1)
    }

    fn start_attempt(base: &Path, attempt: u32) -> GitDaemon {
        let port = free_port();
        // Run git-daemon itself: `git daemon` would start it as a child that outlives a kill of `git`.
        let exec_path = git(Path::new("/"), &["--exec-path"]);
        let child = Command::new(Path::new(&exec_path).join("git-daemon"))
            .arg("--reuseaddr")
            .arg("--export-all")
            .arg(format!("--base-path={}", base.display()))
            .arg("--listen=127.0.0.1")
            .arg(format!("--port={port}"))
            .arg(base)
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("GIT_CONFIG_GLOBAL", "/dev/null")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("git daemon starts");
        let mut daemon = GitDaemon { child, port };
        let deadline = Instant::now() + Duration::from_secs(10);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            if attempt < 3 && matches!(daemon.child.try_wait(), Ok(Some(_))) {
                // Another process took the free port before the daemon bound it: try another.
                return GitDaemon::start_attempt(base, attempt + 1);
            }
            assert!(
                Instant::now() < deadline,
                "git daemon does not listen on 127.0.0.1:{port} after 10 s"
            );
            thread::sleep(Duration::from_millis(20));
        }
        daemon
    }

    /// `git://127.0.0.1:PORT/<repo>.git`.
    pub fn url(&self, repo: &str) -> String {
        format!("git://127.0.0.1:{}/{repo}.git", self.port)
    }
}

impl Drop for GitDaemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Smart HTTP: an HTTP/1.1 server (one request per connection) running `git http-backend` as CGI for every
/// request, with optional basic authentication.
pub struct HttpGitServer {
    /// The 127.0.0.1 port the server listens on (plain HTTP, or HTTPS when started with TLS).
    pub port: u16,
    stop: Arc<AtomicBool>,
    /// How many connections (one request each) the server has accepted, authenticated or not.
    pub requests: Arc<AtomicUsize>,
    accept: Option<thread::JoinHandle<()>>,
}

#[derive(Clone)]
struct ServerConfig {
    tls: Option<Arc<rustls::ServerConfig>>,
    root: PathBuf,
    /// The exact `Authorization` header value required, with the user name for REMOTE_USER.
    auth: Option<(String, String)>,
}

impl HttpGitServer {
    /// Starts a plain-HTTP server on a free port serving the repositories under `root`; with `basic_auth`
    /// (`user`, `password`), every request must carry those credentials. Stopped on drop.
    pub fn start(root: &Path, basic_auth: Option<(&str, &str)>) -> HttpGitServer {
        Self::start_with(root, basic_auth, None)
    }

    /// The same server behind TLS, with a certificate for 127.0.0.1 signed by `tls`'s CA.
    pub fn start_tls(root: &Path, basic_auth: Option<(&str, &str)>, tls: &TestTls) -> HttpGitServer {
        Self::start_with(root, basic_auth, Some(tls.server.clone()))
    }

    fn start_with(
        root: &Path,
        basic_auth: Option<(&str, &str)>,
        tls: Option<Arc<rustls::ServerConfig>>,
    ) -> HttpGitServer {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = listener.local_addr().expect("addr").port();
        listener.set_nonblocking(true).expect("nonblocking");
        let stop = Arc::new(AtomicBool::new(false));
        let requests = Arc::new(AtomicUsize::new(0));
        let config = ServerConfig {
            tls,
            root: root.to_path_buf(),
            auth: basic_auth.map(|(u, p)| {
                (
                    format!("Basic {}", base64(format!("{u}:{p}").as_bytes())),
                    u.to_string(),
                )
            }),
        };
        let (stop2, requests2) = (stop.clone(), requests.clone());
        let accept = thread::spawn(move || {
            while !stop2.load(Ordering::SeqCst) {
                match listener.accept() {
                    Ok((stream, _)) => {
                        requests2.fetch_add(1, Ordering::SeqCst);
                        let config = config.clone();
                        thread::spawn(move || {
                            let _ = stream.set_nonblocking(false);
                            let _ = stream.set_read_timeout(Some(Duration::from_secs(30)));
                            match &config.tls {
                                Some(tls) => {
                                    if let Ok(conn) = rustls::ServerConnection::new(tls.clone()) {
                                        let _ = handle(rustls::StreamOwned::new(conn, stream), &config);
                                    }
                                }
                                None => {
                                    let _ = handle(stream, &config);
                                }
                            }
                        });
                    }
                    Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                        thread::sleep(Duration::from_millis(5));
                    }
                    Err(_) => thread::sleep(Duration::from_millis(5)),
                }
            }
        });
        HttpGitServer {
            port,
            stop,
            requests,
            accept: Some(accept),
        }
    }

    /// `http://127.0.0.1:PORT/<repo>.git`.
    pub fn url(&self, repo: &str) -> String {
        format!("http://127.0.0.1:{}/{repo}.git", self.port)
    }

    /// `https://127.0.0.1:PORT/<repo>.git`, for a server started with TLS.
    pub fn https_url(&self, repo: &str) -> String {
        format!("https://127.0.0.1:{}/{repo}.git", self.port)
    }
}

impl Drop for HttpGitServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(h) = self.accept.take() {
            let _ = h.join();
        }
    }
}

fn handle<S: Read + Write>(stream: S, config: &ServerConfig) -> std::io::Result<()> {
    let mut reader = BufReader::new(stream);
    let mut request_line = String::new();
    reader.read_line(&mut request_line)?;
    let mut parts = request_line.split_whitespace();
    let method = parts.next().unwrap_or("").to_string();
    let target = parts.next().unwrap_or("/").to_string();
    let mut headers: Vec<(String, String)> = Vec::new();
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line)? == 0 {
            break;
        }
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        if let Some((k, v)) = line.split_once(':') {
            headers.push((k.trim().to_ascii_lowercase(), v.trim().to_string()));
        }
    }
    let header = |name: &str| headers.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone());
    let body = if let Some(len) = header("content-length").and_then(|l| l.parse::<usize>().ok()) {
        let mut b = vec![0; len];
        reader.read_exact(&mut b)?;
        b
    } else if header("transfer-encoding").is_some_and(|t| t.eq_ignore_ascii_case("chunked")) {
        read_chunked(&mut reader)?
    } else {
        Vec::new()
    };
    let mut out = reader.into_inner();
    let mut remote_user = None;
    if let Some((expected, user)) = &config.auth {
        if header("authorization").as_deref() != Some(expected.as_str()) {
            out.write_all(
                b"HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: Basic realm=\"tack-test\"\r\n\
                  Content-Length: 0\r\nConnection: close\r\n\r\n",
            )?;
            out.flush()?;
            return Ok(());
        }
        remote_user = Some(user.clone());
    }
    let (path, query) = match target.split_once('?') {
        Some((p, q)) => (p.to_string(), q.to_string()),
        None => (target.clone(), String::new()),
    };
    let mut cmd = Command::new("git");
    cmd.arg("http-backend")
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_PROJECT_ROOT", &config.root)
        .env("GIT_HTTP_EXPORT_ALL", "1")
        .env("PATH_INFO", &path)
        .env("QUERY_STRING", &query)
        .env("REQUEST_METHOD", &method)
        .env("REMOTE_ADDR", "127.0.0.1")
        .env("CONTENT_LENGTH", body.len().to_string())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    if let Some(ct) = header("content-type") {
        cmd.env("CONTENT_TYPE", ct);
    }
    if let Some(p) = header("git-protocol") {
        cmd.env("GIT_PROTOCOL", p);
    }
    if let Some(enc) = header("content-encoding") {
        cmd.env("HTTP_CONTENT_ENCODING", enc);
    }
    if let Some(user) = remote_user {
        cmd.env("REMOTE_USER", user);
    }
    let mut child = cmd.spawn()?;
    if let Some(mut stdin) = child.stdin.take() {
        stdin.write_all(&body)?;
    }
    let output = child.wait_with_output()?;
    let raw = output.stdout;
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map(|i| (i, 4))
        .or_else(|| raw.windows(2).position(|w| w == b"\n\n").map(|i| (i, 2)));
    let (head, body) = match split {
        Some((i, n)) => (String::from_utf8_lossy(&raw[..i]).to_string(), &raw[i + n..]),
        None => (String::new(), &raw[..]),
    };
    let mut status = "200 OK".to_string();
    let mut response_headers = String::new();
    for line in head.lines() {
        if let Some(s) = line.strip_prefix("Status:") {
            status = s.trim().to_string();
        } else if !line.trim().is_empty() {
            response_headers.push_str(line.trim_end());
            response_headers.push_str("\r\n");
        }
    }
    write!(
        out,
        "HTTP/1.1 {status}\r\n{response_headers}Content-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    )?;
    out.write_all(body)?;
    out.flush()?;
    Ok(())
}

fn read_chunked(reader: &mut impl BufRead) -> std::io::Result<Vec<u8>> {
    let mut body = Vec::new();
    loop {
        let mut size_line = String::new();
        reader.read_line(&mut size_line)?;
        let size = usize::from_str_radix(size_line.trim().split(';').next().unwrap_or("0"), 16)
            .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e))?;
        if size == 0 {
            let mut trailer = String::new();
            reader.read_line(&mut trailer)?;
            return Ok(body);
        }
        let mut chunk = vec![0; size];
        reader.read_exact(&mut chunk)?;
        body.extend_from_slice(&chunk);
        let mut crlf = [0u8; 2];
        reader.read_exact(&mut crlf)?;
    }
}

/// Standard base64 with padding, for `Authorization: Basic` headers.
fn base64(input: &[u8]) -> String {
    const T: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in input.chunks(3) {
        let b = [chunk[0], *chunk.get(1).unwrap_or(&0), *chunk.get(2).unwrap_or(&0)];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        out.push(T[(n >> 18) as usize & 63] as char);
        out.push(T[(n >> 12) as usize & 63] as char);
        out.push(if chunk.len() > 1 {
            T[(n >> 6) as usize & 63] as char
        } else {
            '='
        });
        out.push(if chunk.len() > 2 {
            T[n as usize & 63] as char
        } else {
            '='
        });
    }
    out
}

/// A test certificate authority and a server certificate for 127.0.0.1 signed by it.
pub struct TestTls {
    /// The CA certificate, PEM: what a client must trust.
    pub ca_pem: String,
    server: Arc<rustls::ServerConfig>,
}

impl Default for TestTls {
    fn default() -> Self {
        TestTls::new()
    }
}

impl TestTls {
    /// A fresh CA and a server certificate for `127.0.0.1` signed by it (keys generated each time).
    pub fn new() -> TestTls {
        use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair, KeyUsagePurpose};
        let ca_key = KeyPair::generate().expect("CA key");
        let mut ca_params = CertificateParams::new(Vec::<String>::new()).expect("CA params");
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca_params
            .distinguished_name
            .push(DnType::CommonName, "tack test CA");
        ca_params.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        let ca_cert = ca_params.self_signed(&ca_key).expect("CA certificate");
        let issuer = Issuer::new(ca_params, ca_key);
        let leaf_key = KeyPair::generate().expect("server key");
        let mut leaf_params =
            CertificateParams::new(vec!["127.0.0.1".to_string(), "localhost".to_string()]).expect("params");
        leaf_params
            .distinguished_name
            .push(DnType::CommonName, "127.0.0.1");
        leaf_params.extended_key_usages = vec![rcgen::ExtendedKeyUsagePurpose::ServerAuth];
        let leaf = leaf_params
            .signed_by(&leaf_key, &issuer)
            .expect("server certificate");
        let key = rustls::pki_types::PrivateKeyDer::Pkcs8(leaf_key.serialize_der().into());
        let server =
            rustls::ServerConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
                .with_safe_default_protocol_versions()
                .expect("protocol versions")
                .with_no_client_auth()
                .with_single_cert(vec![leaf.der().clone(), ca_cert.der().clone()], key)
                .expect("server config");
        TestTls {
            ca_pem: ca_cert.pem(),
            server: Arc::new(server),
        }
    }
}

//! Fetching revisions into a per-URL bare mirror and materialising commits as trees in the cache.

use std::collections::HashMap;
use std::fs;
use std::path::{Component, Path, PathBuf};
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex, OnceLock};

use gix::remote::Direction;
use sha2::{Digest, Sha256};

use crate::credentials::Credentials;
use crate::deadline::{Deadlines, Phase, Stall, TimedStream};
use crate::error::Error;
use crate::revision::Revision;
use crate::tree::{Earlier, write_tree};
use crate::url::{RepoUrl, Scheme};

/// A remote Git repository with its credentials and cache.
///
/// `Debug` shows the URL without credentials and never the secrets.
#[derive(Clone, Debug)]
pub struct Repository {
    url: RepoUrl,
    credentials: Option<Credentials>,
    cache_dir: PathBuf,
    insecure_http_credentials: bool,
    interrupt: Option<Arc<AtomicBool>>,
    ca_certificates: Option<CaBundle>,
    deadlines: Deadlines,
}

/// Extra trusted certificate authorities for HTTPS, added to the system's roots.
#[derive(Clone)]
struct CaBundle(Arc<Vec<reqwest::Certificate>>);

impl std::fmt::Debug for CaBundle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "CaBundle({} certificates)", self.0.len())
    }
}

/// A commit checked out in the cache.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Checkout {
    /// The repository URL (without credentials).
    pub url: String,
    /// The full commit SHA (lowercase hex).
    pub commit: String,
    /// The root of the checked-out tree (`<cache>/trees/<sha>/`). Treat it as read-only: it is shared.
    pub root: PathBuf,
}

impl Checkout {
    /// The directory for `path` inside the repository (`""` or `"."` is the root). Rejects absolute paths,
    /// `..` components and symbolic links that lead outside the checkout; the directory must exist.
    pub fn path(&self, path: &str) -> Result<PathBuf, Error> {
        let err = |reason: &str| Error::Path {
            url: self.url.clone(),
            commit: self.commit.clone(),
            path: path.to_string(),
            reason: reason.to_string(),
        };
        let mut joined = self.root.clone();
        joined.extend(relative_path(path).map_err(err)?);
        let root = self
            .root
            .canonicalize()
            .map_err(|e| err(&format!("cannot be resolved: {e}")))?;
        let resolved = match joined.canonicalize() {
            Ok(p) => p,
            Err(_) => return Err(err("does not exist in the repository at this commit")),
        };
        if !resolved.starts_with(&root) {
            return Err(err("leads outside the repository through a symbolic link"));
        }
        if !resolved.is_dir() {
            return Err(err("is not a directory"));
        }
        Ok(resolved)
    }
}

/// The components of `path`, a directory inside a repository (`""` or `"."` is the root): refused when it is
/// absolute or holds `..`, as it must stay inside the repository. Pure; symbolic links are checked on the
/// checkout ([`Checkout::path`]).
pub fn relative_path(path: &str) -> Result<Vec<std::ffi::OsString>, &'static str> {
    let mut parts = Vec::new();
    for component in Path::new(path.trim()).components() {
        match component {
            Component::CurDir => {}
            Component::Normal(c) => parts.push(c.to_owned()),
            Component::ParentDir => {
                return Err("must not contain `..`: it has to stay inside the repository");
            }
            Component::RootDir | Component::Prefix(_) => {
                return Err("must be relative to the repository root, not absolute");
            }
        }
    }
    Ok(parts)
}

/// One lock per mirror directory, so that fetches into one mirror from one process are serialised.
fn mirror_lock(dir: &Path) -> Arc<Mutex<()>> {
    static LOCKS: OnceLock<Mutex<HashMap<PathBuf, Arc<Mutex<()>>>>> = OnceLock::new();
    let mut map = LOCKS
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(|p| p.into_inner());
    map.entry(dir.to_path_buf()).or_default().clone()
}

/// Installs rustls' `ring` provider as the process default (the workspace's one crypto provider) unless one
/// is installed already. The HTTPS transport needs it.
fn ensure_crypto_provider() {
    if rustls::crypto::CryptoProvider::get_default().is_none() {
        // Another thread may win the race; either way a provider is installed afterwards.
        let _ = rustls::crypto::ring::default_provider().install_default();
    }
}

/// What to do once connected.
enum Job<'a> {
    /// Fetch the refs of the remote's refspecs.
    Fetch,
    /// List the branch and tag tips whose SHA starts with this prefix.
    ListTips(&'a str),
}

/// What a [`Job`] found.
enum Done {
    /// Whether the server had any of the refs.
    Fetched(bool),
    Tips(Vec<gix::ObjectId>),
}

/// Which refs a fetch asks for, and where they land in the mirror.
struct FetchPlan {
    refspecs: Vec<String>,
    /// Local refs to read after the fetch, in order of preference.
    local_refs: Vec<String>,
}

impl Repository {
    /// A repository at `url` whose mirror and trees live under `cache_dir`. Credentials written in the URL
    /// are used unless [`Repository::with_credentials`] gives others.
    pub fn new(url: &str, cache_dir: impl Into<PathBuf>) -> Result<Repository, Error> {
        let url = RepoUrl::parse(url).map_err(|reason| Error::InvalidUrl { reason })?;
        let credentials = url.embedded_credentials();
        Ok(Repository {
            url,
            credentials,
            cache_dir: cache_dir.into(),
            insecure_http_credentials: false,
            interrupt: None,
            ca_certificates: None,
            deadlines: Deadlines::default(),
        })
    }

    /// Sets the deadlines of network operations (connect, idle, whole fetch; [`Deadlines::default`] otherwise).
    pub fn with_deadlines(mut self, deadlines: Deadlines) -> Repository {
        self.deadlines = deadlines;
        self
    }

    /// Sets (or clears) the credentials.
    pub fn with_credentials(mut self, credentials: Option<Credentials>) -> Repository {
        self.credentials = credentials;
        self
    }

    /// Allows sending credentials over plain `http://` (for instance to a Git server inside the cluster).
    /// Off by default.
    pub fn allow_insecure_http_credentials(mut self, allow: bool) -> Repository {
        self.insecure_http_credentials = allow;
        self
    }

    /// A flag that aborts a running fetch when set (graceful shutdown): a pack transfer, and for `git://` any
    /// wait for the server (within a second). The fetch then fails and the mirror keeps what it had.
    pub fn with_interrupt(mut self, flag: Arc<AtomicBool>) -> Repository {
        self.interrupt = Some(flag);
        self
    }

    /// Trusts the certificate authorities of `pem` (one or more PEM certificates) for HTTPS, in addition to the
    /// system's roots: for Git servers whose certificate a private CA signed.
    pub fn with_ca_certificates(mut self, pem: &[u8]) -> Result<Repository, Error> {
        let invalid = |reason: String| Error::InvalidCertificate {
            url: self.url.to_string(),
            reason,
        };
        let certs = reqwest::Certificate::from_pem_bundle(pem).map_err(|e| invalid(e.to_string()))?;
        if certs.is_empty() {
            return Err(invalid("no PEM certificate found".into()));
        }
        self.ca_certificates = Some(CaBundle(Arc::new(certs)));
        Ok(self)
    }

    /// The repository URL, without credentials.
    pub fn url(&self) -> &RepoUrl {
        &self.url
    }

    /// The bare mirror of this URL: `<cache>/mirrors/<first 24 hex digits of sha256(url)>.git`.
    pub fn mirror_dir(&self) -> PathBuf {
        let digest = Sha256::digest(self.url.as_str().as_bytes());
        let key: String = digest.iter().take(12).map(|b| format!("{b:02x}")).collect();
        self.cache_dir.join("mirrors").join(format!("{key}.git"))
    }

    /// Where the tree of `commit` is (or would be) checked out.
    pub fn tree_dir(&self, commit: &str) -> PathBuf {
        self.cache_dir.join("trees").join(commit)
    }

    /// The checkout of `commit` (full SHA) if it is in the cache already. No network.
    pub fn cached_checkout(&self, commit: &str) -> Option<Checkout> {
        let commit = commit.to_ascii_lowercase();
        if commit.len() != 40 || !commit.bytes().all(|b| b.is_ascii_hexdigit()) {
            return None;
        }
        let root = self.tree_dir(&commit);
        root.is_dir().then(|| Checkout {
            url: self.url.to_string(),
            commit,
            root,
        })
    }

    /// Resolves `revision` to a full commit SHA, fetching it (depth 1) into the mirror. A full commit SHA
    /// already present in the mirror is resolved without network.
    pub fn resolve(&self, revision: &Revision) -> Result<String, Error> {
        let mirror = self.mirror_dir();
        let lock = mirror_lock(&mirror);
        let _guard = lock.lock().unwrap_or_else(|p| p.into_inner());
        let (_, id) = self.resolve_repairing(revision)?;
        Ok(id.to_string())
    }

    /// Resolves `revision` and checks the commit out under `<cache>/trees/<sha>/`. A full commit SHA whose tree
    /// is cached is served without network; branches and tags always ask the server for their current commit.
    pub fn checkout(&self, revision: &Revision) -> Result<Checkout, Error> {
        if let Revision::Commit(sha) = revision
            && let Some(c) = self.cached_checkout(sha)
        {
            return Ok(c);
        }
        let mirror = self.mirror_dir();
        let lock = mirror_lock(&mirror);
        let _guard = lock.lock().unwrap_or_else(|p| p.into_inner());
        let (repo, id) = self.resolve_repairing(revision)?;
        let commit = id.to_string();
        if let Some(c) = self.cached_checkout(&commit) {
            return Ok(c);
        }
        self.materialise(&repo, id)
    }

    /// Opens the mirror and resolves `revision` in it. When that fails and the mirror turns out to be damaged
    /// (a reference whose object cannot be read, an unreadable `shallow` file: a cache overwritten or truncated
    /// underneath), the mirror is removed and the revision fetched again into a new one, once. The caller holds
    /// the mirror's lock.
    fn resolve_repairing(&self, revision: &Revision) -> Result<(gix::Repository, gix::ObjectId), Error> {
        let repo = self.open_mirror()?;
        let error = match self.resolve_in(&repo, revision) {
            Ok(id) => return Ok((repo, id)),
            Err(e) => e,
        };
        if !mirror_is_damaged(&repo) {
            return Err(error);
        }
        tracing::warn!(url = %self.url, "{error}; the mirror is damaged: removing it and fetching again");
        drop(repo);
        discard_dir(&self.mirror_dir())?;
        let repo = self.open_mirror()?;
        let id = self.resolve_in(&repo, revision)?;
        Ok((repo, id))
    }

    /// The object id of what `path` holds in `commit` (a tree for a directory), read from the mirror without
    /// network; `None` when the path does not exist in that commit. Equal ids mean equal content, so a caller
    /// can skip rendering an application whose path a push did not touch (only the path itself is compared:
    /// files it includes from elsewhere, such as Kustomize bases in `../`, are not). Both commits must have been
    /// fetched before.
    pub fn tree_id_at(&self, commit: &str, path: &str) -> Result<Option<String>, Error> {
        let not_fetched = || Error::RevisionNotFound {
            url: self.url.to_string(),
            revision: format!("commit {commit}"),
            hint: " in the local mirror; fetch it first".into(),
        };
        let invalid_path = |reason: &str| Error::Path {
            url: self.url.to_string(),
            commit: commit.to_string(),
            path: path.to_string(),
            reason: reason.to_string(),
        };
        let parts = relative_path(path).map_err(invalid_path)?;
        let id = gix::ObjectId::from_hex(commit.as_bytes()).map_err(|_| not_fetched())?;
        let mirror = self.mirror_dir();
        if !mirror.join("HEAD").is_file() {
            return Err(not_fetched());
        }
        let lock = mirror_lock(&mirror);
        let _guard = lock.lock().unwrap_or_else(|p| p.into_inner());
        let repo = self.open_mirror()?;
        let tree = repo
            .find_commit(id)
            .and_then(|c| c.tree())
            .map_err(|_| not_fetched())?;
        if parts.is_empty() {
            return Ok(Some(tree.id.to_string()));
        }
        let rel: PathBuf = parts.iter().collect();
        let entry = tree
            .lookup_entry_by_path(&rel)
            .map_err(|e| invalid_path(&error_chain(&e)))?;
        Ok(entry.map(|e| e.object_id().to_string()))
    }

    fn open_or_init_mirror(&self) -> Result<gix::Repository, Error> {
        let dir = self.mirror_dir();
        let cache_err = |path: &Path| {
            let path = path.to_path_buf();
            move |source| Error::Cache { path, source }
        };
        if !dir.join("HEAD").is_file() {
            let parent = dir.parent().unwrap_or(&self.cache_dir).to_path_buf();
            fs::create_dir_all(&parent).map_err(cache_err(&parent))?;
            let tmp = tempfile::Builder::new()
                .prefix(".init-")
                .tempdir_in(&parent)
                .map_err(cache_err(&parent))?;
            gix::init_bare(tmp.path()).map_err(|e| Error::Cache {
                path: dir.clone(),
                source: std::io::Error::other(format!("cannot create the mirror: {e}")),
            })?;
            // Written for people looking at the cache; not read back.
            let _ = fs::write(tmp.path().join("tack-url"), format!("{}\n", self.url));
            let tmp_path = tmp.keep();
            if let Err(e) = fs::rename(&tmp_path, &dir) {
                let _ = fs::remove_dir_all(&tmp_path);
                if !dir.join("HEAD").is_file() {
                    return Err(Error::Cache { path: dir, source: e });
                }
            }
        }
        let options = gix::open::Options::isolated().config_overrides([
            "core.logAllRefUpdates=false",
            "protocol.version=2",
            "user.name=tack",
            "user.email=tack@localhost",
        ]);
        gix::open_opts(&dir, options).map_err(|e| Error::Cache {
            path: dir.clone(),
            source: std::io::Error::other(format!("cannot open the mirror: {e}")),
        })
    }

    /// The mirror, opened; one that exists but cannot be opened (a damaged cache: its configuration or `HEAD`
    /// overwritten, truncated, …) is set aside and fetched again from scratch, once.
    fn open_mirror(&self) -> Result<gix::Repository, Error> {
        let first = match self.open_or_init_mirror() {
            Ok(repo) => return Ok(repo),
            Err(e) => e,
        };
        let dir = self.mirror_dir();
        if !dir.is_dir() {
            return Err(first);
        }
        tracing::warn!(url = %self.url, "{first}; removing the mirror and fetching it again");
        discard_dir(&dir)?;
        self.open_or_init_mirror()
    }

    fn plan(&self, revision: &Revision) -> FetchPlan {
        match revision {
            Revision::Head => FetchPlan {
                refspecs: vec!["+HEAD:refs/tack/HEAD".into()],
                local_refs: vec!["refs/tack/HEAD".into()],
            },
            Revision::Branch(b) => FetchPlan {
                refspecs: vec![format!("+refs/heads/{b}:refs/tack/heads/{b}")],
                local_refs: vec![format!("refs/tack/heads/{b}")],
            },
            Revision::Tag(t) => FetchPlan {
                refspecs: vec![format!("+refs/tags/{t}:refs/tack/tags/{t}")],
                local_refs: vec![format!("refs/tack/tags/{t}")],
            },
            Revision::Commit(c) => FetchPlan {
                refspecs: vec![c.clone()],
                local_refs: vec![],
            },
            Revision::Name(n) => FetchPlan {
                refspecs: vec![
                    format!("+refs/heads/{n}:refs/tack/heads/{n}"),
                    format!("+refs/tags/{n}:refs/tack/tags/{n}"),
                ],
                local_refs: vec![format!("refs/tack/heads/{n}"), format!("refs/tack/tags/{n}")],
            },
        }
    }

    fn resolve_in(&self, repo: &gix::Repository, revision: &Revision) -> Result<gix::ObjectId, Error> {
        revision.validate().map_err(|reason| Error::InvalidRevision {
            url: self.url.to_string(),
            revision: revision.to_string(),
            reason,
        })?;
        if let Revision::Commit(c) = revision {
            let id = gix::ObjectId::from_hex(c.as_bytes()).map_err(|e| Error::InvalidRevision {
                url: self.url.to_string(),
                revision: revision.to_string(),
                reason: e.to_string(),
            })?;
            if repo.find_commit(id).is_ok() {
                return Ok(id);
            }
            let found = self.fetch(repo, revision, &self.plan(revision))?;
            if found && repo.find_commit(id).is_ok() {
                return Ok(id);
            }
            return Err(self.not_found(revision, ""));
        }
        // An abbreviated SHA that the mirror already knows needs no network.
        if let Some(prefix) = revision.short_sha()
            && let Some(id) = self.local_prefix(repo, &prefix)
        {
            return Ok(id);
        }
        let plan = self.plan(revision);
        let found = self.fetch(repo, revision, &plan)?;
        if found {
            for name in &plan.local_refs {
                if let Ok(Some(mut r)) = repo.try_find_reference(name.as_str())
                    && let Ok(commit) = r.peel_to_commit()
                {
                    return Ok(commit.id);
                }
            }
        }
        // An abbreviated SHA of a branch or tag tip: list the remote's refs, then fetch that commit.
        if let Some(prefix) = revision.short_sha() {
            let tips = self.tips_with_prefix(repo, revision, &prefix)?;
            match tips.as_slice() {
                [] => {}
                [id] => {
                    let commit = Revision::Commit(id.to_string());
                    if self.fetch(repo, &commit, &self.plan(&commit))? && repo.find_commit(*id).is_ok() {
                        return Ok(*id);
                    }
                }
                _ => {
                    return Err(Error::InvalidRevision {
                        url: self.url.to_string(),
                        revision: revision.to_string(),
                        reason: format!(
                            "the abbreviated SHA is ambiguous ({} branch or tag tips start with it); use more \
                             digits",
                            tips.len()
                        ),
                    });
                }
            }
        }
        let hint = match revision.short_sha() {
            Some(_) => {
                "; an abbreviated commit SHA is found only at the tip of a branch or tag or once fetched: use the \
                 full 40-character SHA"
            }
            None => "; check the branch or tag name",
        };
        Err(self.not_found(revision, hint))
    }

    /// The distinct commits of the remote's branch and tag tips whose SHA starts with `prefix` (refs listed
    /// only, no objects fetched).
    fn tips_with_prefix(
        &self,
        repo: &gix::Repository,
        revision: &Revision,
        prefix: &str,
    ) -> Result<Vec<gix::ObjectId>, Error> {
        let remote = repo
            .remote_at(self.url.as_str())
            .map_err(|e| self.classify(&e, revision, self.credentials.as_ref()))?
            .with_fetch_tags(gix::remote::fetch::Tags::None)
            .with_refspecs(
                [
                    "refs/heads/*:refs/tack/ls/heads/*",
                    "refs/tags/*:refs/tack/ls/tags/*",
                ],
                Direction::Fetch,
            )
            .map_err(|e| self.classify(&e, revision, self.credentials.as_ref()))?;
        match self.over_transport(repo, &remote, revision, Job::ListTips(prefix))? {
            Done::Tips(found) => Ok(found),
            Done::Fetched(_) => Ok(Vec::new()),
        }
    }

    fn local_prefix(&self, repo: &gix::Repository, prefix: &str) -> Option<gix::ObjectId> {
        let prefix = gix::hash::Prefix::from_hex(prefix).ok()?;
        let id = repo.objects.lookup_prefix(prefix, None).ok()??.ok()?;
        let commit = repo.find_commit(id).ok()?;
        Some(commit.id)
    }

    fn not_found(&self, revision: &Revision, hint: &str) -> Error {
        Error::RevisionNotFound {
            url: self.url.to_string(),
            revision: revision.to_string(),
            hint: hint.to_string(),
        }
    }

    fn effective_credentials(&self) -> Result<Option<Credentials>, Error> {
        match (&self.credentials, self.url.scheme()) {
            (None, _) | (Some(_), Scheme::File | Scheme::Git) => Ok(None),
            (Some(_), Scheme::Http) if !self.insecure_http_credentials => Err(Error::InsecureCredentials {
                url: self.url.to_string(),
            }),
            (Some(c), _) => Ok(Some(c.clone())),
        }
    }

    /// Fetches the refs of `plan` with depth 1. Returns `false` when the server has none of them.
    fn fetch(&self, repo: &gix::Repository, revision: &Revision, plan: &FetchPlan) -> Result<bool, Error> {
        let span = tracing::debug_span!("git_fetch", url = %self.url, revision = %revision);
        let _enter = span.enter();
        let remote = repo
            .remote_at(self.url.as_str())
            .map_err(|e| self.classify(&e, revision, self.credentials.as_ref()))?
            .with_fetch_tags(gix::remote::fetch::Tags::None)
            .with_refspecs(plan.refspecs.iter().map(String::as_str), Direction::Fetch)
            .map_err(|e| self.classify(&e, revision, self.credentials.as_ref()))?;
        match self.over_transport(repo, &remote, revision, Job::Fetch)? {
            Done::Fetched(found) => Ok(found),
            Done::Tips(_) => Ok(false),
        }
    }

    /// Connects to the server (for `git://`, on a socket that obeys the deadlines) and runs `job`.
    fn over_transport(
        &self,
        repo: &gix::Repository,
        remote: &gix::Remote<'_>,
        revision: &Revision,
        job: Job<'_>,
    ) -> Result<Done, Error> {
        let credentials = self.effective_credentials()?;
        if matches!(self.url.scheme(), Scheme::Http | Scheme::Https) {
            // The HTTP client builds a TLS configuration even for http:// URLs.
            ensure_crypto_provider();
        }
        let stall = Stall::default();
        let classify = |e: &gix::Error| match stall.fired() {
            Some((phase, after)) => self.stalled(revision, phase, after),
            None => self.classify(e, revision, credentials.as_ref()),
        };
        if self.url.scheme() == Scheme::Git {
            let transport = self.git_transport(&stall).map_err(|e| match stall.fired() {
                Some((phase, after)) => self.stalled(revision, phase, after),
                None => Error::Unreachable {
                    url: self.url.to_string(),
                    revision: revision.to_string(),
                    cause: e.to_string(),
                },
            })?;
            let connection = remote.to_connection_with_transport(transport);
            return self.run(repo, connection, credentials.clone(), job, &classify);
        }
        let connection = remote.connect(Direction::Fetch).map_err(|e| classify(&e))?;
        self.run(repo, connection, credentials.clone(), job, &classify)
    }

    /// A `git://` connection whose socket obeys the deadlines and the interrupt flag.
    fn git_transport(
        &self,
        stall: &Stall,
    ) -> std::io::Result<gix_transport::client::git::blocking_io::Connection<TimedStream, TimedStream>> {
        let url = gix::url::parse(self.url.as_str().as_bytes())
            .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidInput, e.to_string()))?;
        let host = url
            .host()
            .ok_or_else(|| std::io::Error::new(std::io::ErrorKind::InvalidInput, "no host in the URL"))?
            .to_string();
        let port = url.port;
        let read = TimedStream::connect(
            &host,
            port.unwrap_or(9418),
            self.deadlines,
            self.interrupt.clone(),
            stall,
        )?;
        let write = read.try_clone()?;
        Ok(gix_transport::client::git::blocking_io::Connection::new(
            read,
            write,
            gix_transport::Protocol::V2,
            url.path.clone(),
            Some((host, port)),
            gix_transport::client::git::ConnectMode::Daemon,
            false,
        )
        .custom_url(Some(self.url.as_str().into())))
    }

    /// Runs `job` on an open connection.
    fn run<T>(
        &self,
        repo: &gix::Repository,
        mut connection: gix::remote::Connection<'_, '_, '_, T>,
        credentials: Option<Credentials>,
        job: Job<'_>,
        classify: &dyn Fn(&gix::Error) -> Error,
    ) -> Result<Done, Error>
    where
        T: gix_transport::client::blocking_io::Transport,
    {
        self.configure_http(repo, &mut connection, classify)?;
        let connection =
            connection.with_credentials(move |action| answer_credentials(action, credentials.as_ref()));
        let prepare = connection
            .prepare_fetch(gix::progress::Discard, gix::remote::ref_map::Options::default())
            .map_err(|e| classify(&e))?;
        if let Job::ListTips(prefix) = job {
            let mut found: Vec<gix::ObjectId> = Vec::new();
            for r in &prepare.ref_map().remote_refs {
                let (_, target, peeled) = r.unpack();
                if let Some(id) = peeled.or(target)
                    && id.to_string().starts_with(prefix)
                    && !found.iter().any(|f| f.as_ref() == id)
                {
                    found.push(id.to_owned());
                }
            }
            return Ok(Done::Tips(found));
        }
        if prepare.ref_map().mappings.is_empty() {
            return Ok(Done::Fetched(false));
        }
        let one = std::num::NonZeroU32::MIN;
        let never = AtomicBool::new(false);
        let interrupt = self.interrupt.as_deref().unwrap_or(&never);
        let outcome = prepare
            .with_shallow(gix::remote::fetch::Shallow::DepthAtRemote(one))
            .receive(gix::progress::Discard, interrupt)
            .map_err(|e| classify(&e))?;
        match &outcome.status {
            gix::remote::fetch::Status::Change {
                write_pack_bundle, ..
            } => {
                tracing::debug!(objects = write_pack_bundle.index.num_objects, "fetched a pack");
            }
            gix::remote::fetch::Status::NoPackReceived { .. } => tracing::debug!("already up to date"),
        }
        Ok(Done::Fetched(true))
    }

    fn stalled(&self, revision: &Revision, phase: Phase, after: std::time::Duration) -> Error {
        Error::Stalled {
            url: self.url.to_string(),
            revision: revision.to_string(),
            phase: phase.describe().to_string(),
            after,
        }
    }

    /// Gives an HTTP(S) connection the deadlines (connect; idle as the client's read timeout) and the extra CA
    /// certificates.
    fn configure_http<T>(
        &self,
        repo: &gix::Repository,
        connection: &mut gix::remote::Connection<'_, '_, '_, T>,
        classify: &dyn Fn(&gix::Error) -> Error,
    ) -> Result<(), Error>
    where
        T: gix_transport::client::blocking_io::Transport,
    {
        if !matches!(self.url.scheme(), Scheme::Http | Scheme::Https) {
            return Ok(());
        }
        let Some(mut options) = repo
            .transport_options(self.url.as_str(), None)
            .map_err(|e| classify(&e))?
        else {
            return Ok(());
        };
        if let Some(http) = options.downcast_mut::<gix_transport::client::blocking_io::http::Options>() {
            let certs = match (&self.ca_certificates, self.url.scheme()) {
                (Some(CaBundle(certs)), Scheme::Https) => Some(certs.clone()),
                _ => None,
            };
            let deadlines = self.deadlines;
            let backend = gix_transport::client::blocking_io::http::reqwest::Options {
                configure_client: Some(Box::new(move |builder| {
                    let builder = builder.connect_timeout(deadlines.connect).timeout(deadlines.idle);
                    Ok(match &certs {
                        Some(certs) => builder.tls_certs_merge(certs.iter().cloned()),
                        None => builder,
                    })
                })),
                configure_request: None,
            };
            http.backend = Some(Arc::new(Mutex::new(backend)));
        }
        connection.set_transport_options(options);
        Ok(())
    }

    /// Maps a gix error to a domain error: authentication, unreachable server, or a generic fetch failure.
    fn classify(&self, err: &gix::Error, revision: &Revision, credentials: Option<&Credentials>) -> Error {
        let cause = scrub(&error_chain(err), credentials);
        let url = self.url.to_string();
        let revision = revision.to_string();
        let lower = cause.to_ascii_lowercase();
        if err.classify().is_unauthenticated()
            || err.classify().is_permission_denied()
            || lower.contains("status 401")
            || lower.contains("status 403")
            || lower.contains("authentication")
        {
            let reason = if credentials.is_some() {
                "the server rejected the credentials; check the username and the password or token"
                    .to_string()
            } else {
                "the server requires credentials and none were given; provide a username and password or a \
                 token"
                    .to_string()
            };
            return Error::AuthenticationFailed {
                url,
                revision,
                reason,
            };
        }
        if self.url.scheme() == Scheme::File
            && lower.contains("failed to invoke program")
            && lower.contains("upload-pack")
        {
            return Error::Fetch {
                url,
                revision,
                cause: format!("{cause}; file:// repositories need git (git-upload-pack) on PATH"),
            };
        }
        if let Some(phase) = http_timeout(err) {
            let after = match phase {
                Phase::Connect => self.deadlines.connect,
                _ => self.deadlines.idle,
            };
            return Error::Stalled {
                url,
                revision,
                phase: phase.describe().to_string(),
                after,
            };
        }
        if lower.contains("invalid peer certificate") || lower.contains("certificate verify failed") {
            return Error::UntrustedCertificate { url, revision, cause };
        }
        if is_unreachable(err) || is_unreachable_text(&lower) {
            return Error::Unreachable { url, revision, cause };
        }
        Error::Fetch { url, revision, cause }
    }

    /// The last commit of this repository that was checked out, when its checkout is still in the cache and its
    /// tree in the mirror: the files a new checkout shares with it are linked, not written again.
    fn earlier_checkout(&self, repo: &gix::Repository, commit: &str) -> Option<Earlier> {
        let last = fs::read_to_string(self.mirror_dir().join(LAST_CHECKOUT)).ok()?;
        let last = last.trim();
        if last == commit {
            return None;
        }
        let dir = self.cached_checkout(last)?.root;
        let id = gix::ObjectId::from_hex(last.as_bytes()).ok()?;
        let tree = repo.find_commit(id).ok()?.tree_id().ok()?.detach();
        Some(Earlier { tree, dir })
    }

    fn materialise(&self, repo: &gix::Repository, id: gix::ObjectId) -> Result<Checkout, Error> {
        let commit = id.to_string();
        let trees = self.cache_dir.join("trees");
        let cache_err = |source| Error::Cache {
            path: trees.clone(),
            source,
        };
        fs::create_dir_all(&trees).map_err(cache_err)?;
        let checkout_err = |cause: String| Error::Checkout {
            url: self.url.to_string(),
            commit: commit.clone(),
            cause,
        };
        let tree_id = repo
            .find_commit(id)
            .and_then(|c| c.tree_id().map(|t| t.detach()))
            .map_err(|e| checkout_err(error_chain(&e)))?;
        let tmp = tempfile::Builder::new()
            .prefix(&format!(".{commit}-"))
            .tempdir_in(&trees)
            .map_err(cache_err)?;
        let earlier = self.earlier_checkout(repo, &commit);
        write_tree(repo, tree_id, tmp.path(), earlier.as_ref()).map_err(checkout_err)?;
        let final_dir = self.tree_dir(&commit);
        let tmp_path = tmp.keep();
        if let Err(e) = fs::rename(&tmp_path, &final_dir) {
            let _ = fs::remove_dir_all(&tmp_path);
            // Another caller finished the same commit first: theirs is complete, use it.
            if !final_dir.is_dir() {
                return Err(Error::Cache {
                    path: final_dir,
                    source: e,
                });
            }
        }
        // The next commit's checkout links the files this one shares with it (best effort: without the note,
        // everything is written).
        let _ = fs::write(self.mirror_dir().join(LAST_CHECKOUT), &commit);
        tracing::debug!(url = %self.url, %commit, linked_from = ?earlier.map(|e| e.dir), "checked out");
        Ok(Checkout {
            url: self.url.to_string(),
            commit,
            root: final_dir,
        })
    }
}

/// The file in a mirror naming the commit last checked out from it.
const LAST_CHECKOUT: &str = "tack-last-checkout";

/// Whether the mirror cannot be read: its `shallow` file does not parse, or a reference names an object that
/// cannot be read (missing, or its pack or loose file overwritten).
fn mirror_is_damaged(repo: &gix::Repository) -> bool {
    if repo.shallow_commits().is_err() {
        return true;
    }
    let Ok(platform) = repo.references() else {
        return true;
    };
    let Ok(all) = platform.all() else {
        return true;
    };
    for reference in all {
        let Ok(reference) = reference else {
            return true;
        };
        if let Some(id) = reference.try_id()
            && repo.find_object(id.detach()).is_err()
        {
            return true;
        }
    }
    false
}

/// Removes `dir`: first renamed aside (`.discarded-…` beside it), so that a removal cut short never leaves a
/// half-removed mirror where the next caller looks.
fn discard_dir(dir: &Path) -> Result<(), Error> {
    let parent = dir.parent().unwrap_or(dir);
    let aside = tempfile::Builder::new()
        .prefix(".discarded-")
        .tempdir_in(parent)
        .map_err(|source| Error::Cache {
            path: parent.to_path_buf(),
            source,
        })?;
    let target = aside.path().join("mirror");
    fs::rename(dir, &target).map_err(|source| Error::Cache {
        path: dir.to_path_buf(),
        source,
    })?;
    // Dropping `aside` removes it with the mirror inside.
    drop(aside);
    Ok(())
}

/// Answers the transport's credential requests with the configured credentials, never prompting.
fn answer_credentials(
    action: gix::credentials::helper::Action,
    credentials: Option<&Credentials>,
) -> gix::Result<Option<gix::credentials::protocol::Outcome>> {
    match (action, credentials) {
        (gix::credentials::helper::Action::Get(ctx), Some(c)) => {
            let (username, secret) = c.username_and_secret();
            Ok(Some(gix::credentials::protocol::Outcome {
                identity: gix::sec::identity::Account {
                    username: username.to_string(),
                    password: secret.expose().to_string(),
                    oauth_refresh_token: None,
                },
                next: ctx.into(),
            }))
        }
        _ => Ok(None),
    }
}

/// How old a temporary checkout directory must be before [`prune_trees`] removes it.
const STALE_TEMP_AGE: std::time::Duration = std::time::Duration::from_secs(3600);

/// Removes the checked-out trees under `<cache_dir>/trees/` whose commit `keep` rejects, and temporary
/// directories left behind by interrupted checkouts (older than an hour). Returns how many trees were removed.
/// A tree is moved aside before it is deleted, so no caller finds half of one; a render that is reading a tree
/// while it is pruned fails, so keep the commits in use.
pub fn prune_trees(cache_dir: &Path, keep: impl Fn(&str) -> bool) -> Result<usize, Error> {
    let trees = cache_dir.join("trees");
    let cache_err = |path: &Path| {
        let path = path.to_path_buf();
        move |source| Error::Cache { path, source }
    };
    let entries = match fs::read_dir(&trees) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(0),
        Err(e) => {
            return Err(Error::Cache {
                path: trees,
                source: e,
            });
        }
    };
    let mut removed = 0;
    for entry in entries {
        let entry = entry.map_err(cache_err(&trees))?;
        let name = entry.file_name().to_string_lossy().into_owned();
        let path = entry.path();
        if name.starts_with('.') {
            let stale = entry
                .metadata()
                .and_then(|m| m.modified())
                .ok()
                .and_then(|t| t.elapsed().ok())
                .is_some_and(|age| age > STALE_TEMP_AGE);
            if stale {
                let _ = fs::remove_dir_all(&path);
            }
            continue;
        }
        let is_commit = name.len() == 40 && name.bytes().all(|b| b.is_ascii_hexdigit());
        if !is_commit || keep(&name) {
            continue;
        }
        let trash = tempfile::Builder::new()
            .prefix(&format!(".prune-{name}-"))
            .tempdir_in(&trees)
            .map_err(cache_err(&trees))?;
        let target = trash.path().join("tree");
        fs::rename(&path, &target).map_err(cache_err(&path))?;
        drop(trash); // deletes the moved tree
        removed += 1;
    }
    Ok(removed)
}

/// The messages of an error and its sources, joined with `: `, without consecutive repeats.
fn error_chain(err: &(dyn std::error::Error + 'static)) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(err);
    while let Some(e) = cur {
        let msg = e.to_string();
        if !msg.is_empty() && parts.last() != Some(&msg) && !parts.iter().any(|p| p.contains(&msg)) {
            parts.push(msg);
        }
        cur = e.source();
    }
    parts.join(": ")
}

fn scrub(text: &str, credentials: Option<&Credentials>) -> String {
    match credentials {
        Some(c) if !c.secret().is_empty() => text.replace(c.secret().expose(), "<redacted>"),
        _ => text.to_string(),
    }
}

/// The phase of an HTTP client timeout in the chain of `err`, if any.
fn http_timeout(err: &(dyn std::error::Error + 'static)) -> Option<Phase> {
    let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(err);
    while let Some(e) = cur {
        if let Some(r) = e.downcast_ref::<reqwest::Error>()
            && r.is_timeout()
        {
            return Some(if r.is_connect() {
                Phase::Connect
            } else {
                Phase::Idle
            });
        }
        cur = e.source();
    }
    None
}

fn is_unreachable(err: &(dyn std::error::Error + 'static)) -> bool {
    use std::io::ErrorKind::*;
    let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(err);
    while let Some(e) = cur {
        if let Some(io) = e.downcast_ref::<std::io::Error>()
            && matches!(
                io.kind(),
                ConnectionRefused
                    | ConnectionReset
                    | ConnectionAborted
                    | NotConnected
                    | TimedOut
                    | HostUnreachable
                    | NetworkUnreachable
                    | AddrNotAvailable
                    | UnexpectedEof
            )
        {
            return true;
        }
        if let Some(r) = e.downcast_ref::<reqwest::Error>()
            && (r.is_connect() || r.is_timeout())
        {
            return true;
        }
        cur = e.source();
    }
    false
}

fn is_unreachable_text(lower: &str) -> bool {
    [
        "connection refused",
        "error sending request",
        "dns error",
        "failed to lookup address",
        "timed out",
        "could not verify that",
        "could not access remote repository",
        "no such file or directory",
        "connection reset",
    ]
    .iter()
    .any(|needle| lower.contains(needle))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shareable_across_threads() {
        fn assert_send_sync<T: Send + Sync>() {}
        assert_send_sync::<Repository>();
        assert_send_sync::<Checkout>();
        assert_send_sync::<Error>();
    }

    #[test]
    fn prune_keeps_what_is_asked_and_old_temporaries_go() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let trees = tmp.path().join("trees");
        let (a, b) = ("a".repeat(40), "b".repeat(40));
        for d in [
            &a,
            &b,
            &".fresh-tmp".to_string(),
            &".old-tmp".to_string(),
            &"notes".to_string(),
        ] {
            fs::create_dir_all(trees.join(d).join("sub")).expect("mkdir");
            fs::write(trees.join(d).join("sub/f.yaml"), "x: 1\n").expect("write");
        }
        let old = std::time::SystemTime::now() - 2 * STALE_TEMP_AGE;
        let old_dir = fs::File::open(trees.join(".old-tmp")).expect("open dir");
        old_dir.set_modified(old).expect("set mtime");
        assert_eq!(prune_trees(tmp.path(), |c| c == a).ok(), Some(1));
        let mut left: Vec<String> = fs::read_dir(&trees)
            .expect("ls")
            .map(|e| e.expect("entry").file_name().to_string_lossy().into())
            .collect();
        left.sort();
        assert_eq!(
            left,
            vec![".fresh-tmp".to_string(), a.clone(), "notes".to_string()]
        );
        assert_eq!(prune_trees(&tmp.path().join("none"), |_| false).ok(), Some(0));
    }

    #[test]
    fn paths_must_stay_inside_the_repository() {
        assert_eq!(relative_path("").map(|p| p.len()), Ok(0));
        assert_eq!(relative_path("./apps/web/").map(|p| p.len()), Ok(2));
        for bad in ["../..", "apps/../../x", "/etc", "apps/.."] {
            assert!(relative_path(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn mirror_key_ignores_credentials() {
        let a = Repository::new("https://alice:pw@example.com/o/r.git", "/c").expect("url");
        let b = Repository::new("https://example.com/o/r.git", "/c").expect("url");
        assert_eq!(a.mirror_dir(), b.mirror_dir());
        assert!(a.mirror_dir().starts_with("/c/mirrors"));
        assert!(!format!("{a:?}").contains("pw\""), "{a:?}");
    }
}

//! Remote Kustomize bases (`resources:` entries that are Git URLs), fetched with tack's Git source into its
//! commit-keyed tree cache. This is the one place where rendering reaches the network: the Kustomize engine
//! itself only parses the URL and asks a [`tack_kustomize::RemoteLoader`] for the tree.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, mpsc};
use std::time::Duration;

use tack_kustomize::{RemoteLoader, RemoteSpec};
use tack_source::{Repository, Revision};

/// Fetches remote bases with `tack_source` (gix): `https://`, `http://`, `git://` and `file://` repositories.
/// The checked-out tree of each commit is cached under `cache_dir` and shared with tack's other Git sources;
/// within one loader, each (repository, ref) pair is fetched once.
#[derive(Debug)]
pub struct GitRemoteBases {
    cache_dir: PathBuf,
    fetched: Mutex<HashMap<(String, String), PathBuf>>,
    check: RemoteBaseCheck,
}

/// Which remote bases a render may fetch: a check of each base's repository URL, run before anything is
/// fetched (the controller's `--no-remote-bases`, a TenantPolicy's `sourceRepos`). The default allows all.
#[derive(Clone, Default)]
pub struct RemoteBaseCheck(Option<Arc<CheckFn>>);

/// A check of a remote base's repository URL: `Err(reason)` refuses it.
type CheckFn = dyn Fn(&str) -> Result<(), String> + Send + Sync;

impl RemoteBaseCheck {
    /// A check refusing the repository URLs for which `check` returns an error (the reason).
    pub fn new(check: impl Fn(&str) -> Result<(), String> + Send + Sync + 'static) -> Self {
        RemoteBaseCheck(Some(Arc::new(check)))
    }

    /// Whether the base of repository `url` may be fetched; else why not.
    pub fn check(&self, url: &str) -> Result<(), String> {
        match &self.0 {
            Some(check) => check(url),
            None => Ok(()),
        }
    }
}

impl std::fmt::Debug for RemoteBaseCheck {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.0.is_some() {
            "RemoteBaseCheck(set)"
        } else {
            "RemoteBaseCheck(any)"
        })
    }
}

impl GitRemoteBases {
    /// A loader caching repositories and trees under `cache_dir` (the same directory as tack's Git cache).
    pub fn new(cache_dir: impl Into<PathBuf>) -> Self {
        GitRemoteBases {
            cache_dir: cache_dir.into(),
            fetched: Mutex::new(HashMap::new()),
            check: RemoteBaseCheck::default(),
        }
    }

    /// The same loader, refusing the bases `check` refuses.
    pub fn with_check(mut self, check: RemoteBaseCheck) -> Self {
        self.check = check;
        self
    }

    /// Kustomize build options that load remote bases with this loader.
    pub fn options(self) -> tack_kustomize::Options {
        tack_kustomize::Options {
            remote: Some(Arc::new(self)),
            ..Default::default()
        }
    }
}

impl RemoteLoader for GitRemoteBases {
    /// The checked-out tree of the base's repository. A repository with Git submodules is refused unless the
    /// URL says `?submodules=false`: tack does not fetch submodules, and a base built without the files
    /// kubectl would have fetched must not pass for the real one.
    fn fetch(&self, spec: &RemoteSpec) -> Result<PathBuf, String> {
        self.check.check(&spec.repo_url)?;
        let root = self.checkout(spec)?;
        if spec.submodules && root.join(".gitmodules").is_file() {
            return Err(format!(
                "{} has Git submodules (.gitmodules), which tack does not fetch; if the base does not need \
                 them, add ?submodules=false to the URL",
                spec.repo_url
            ));
        }
        Ok(root)
    }
}

impl GitRemoteBases {
    fn checkout(&self, spec: &RemoteSpec) -> Result<PathBuf, String> {
        let key = (spec.repo_url.clone(), spec.git_ref.clone());
        if let Ok(done) = self.fetched.lock()
            && let Some(root) = done.get(&key)
        {
            return Ok(root.clone());
        }
        // `?timeout=` bounds the fetch: a watchdog raises gix's interrupt flag when it expires.
        let interrupt = Arc::new(AtomicBool::new(false));
        let (done_tx, done_rx) = mpsc::channel::<()>();
        let flag = Arc::clone(&interrupt);
        let timeout = spec.timeout;
        let watchdog = std::thread::spawn(move || {
            if let Err(mpsc::RecvTimeoutError::Timeout) = done_rx.recv_timeout(timeout) {
                flag.store(true, Ordering::SeqCst);
            }
        });
        let result = Repository::new(&spec.repo_url, &self.cache_dir)
            .map(|r| r.with_interrupt(Arc::clone(&interrupt)))
            .and_then(|r| r.checkout(&Revision::parse(&spec.git_ref)));
        drop(done_tx);
        let _ = watchdog.join();
        let checkout = result.map_err(|e| {
            if interrupt.load(Ordering::SeqCst) {
                format!("fetching {} timed out after {}", spec.repo_url, human(timeout))
            } else {
                format!(
                    "cannot check out {} at `{}`: {e}",
                    spec.repo_url,
                    if spec.git_ref.is_empty() {
                        "HEAD"
                    } else {
                        &spec.git_ref
                    }
                )
            }
        })?;
        if let Ok(mut done) = self.fetched.lock() {
            done.insert(key, checkout.root.clone());
        }
        Ok(checkout.root)
    }
}

fn human(d: Duration) -> String {
    format!("{}s (raise it with ?timeout=)", d.as_secs())
}

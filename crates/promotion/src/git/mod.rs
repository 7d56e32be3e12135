//! Reading a stage's configuration from Git and committing an edit to a branch, without a `git` binary.
//!
//! [`Target::read`] fetches the branch head with tack-source (shallow, cached by commit) and returns the
//! checked-out tree. [`Target::commit`] runs an edit on that tree, writes the changed blobs, the trees on
//! their paths and a commit into the local mirror with gix, then publishes the commit:
//!
//! - `http(s)://`: one smart-HTTP `git-receive-pack` request carrying the ref update `old new ref` and a pack
//!   of the new objects; the server's report-status says whether the ref moved;
//! - `file://`: the objects are copied into the bare repository and its branch is updated with a
//!   compare-and-swap (the update fails unless the branch still points at the commit the edit was made on).
//!
//! When the branch moved in between (a concurrent promotion, a person's commit), the head is fetched again,
//! the edit re-applied on it, and the push retried, at most [`MAX_ATTEMPTS`] times: no concurrent commit is
//! ever overwritten. A push the server refuses for another reason is an error and nothing is written.

mod pack;
mod receive_pack;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use gix::objs::Write as _;
use tack_source::{Checkout, Credentials, Repository, Revision, Scheme};

use crate::Error;

/// How many times a push is attempted when the branch keeps moving.
pub const MAX_ATTEMPTS: usize = 6;

/// The author and committer of promotion commits.
pub const AUTHOR_NAME: &str = "tack";
/// The e-mail address of [`AUTHOR_NAME`].
pub const AUTHOR_EMAIL: &str = "tack@tack.dev";

/// A branch of a repository that promotions write to.
#[derive(Clone, Debug)]
pub struct Target {
    /// The repository URL (`http(s)://` or `file://`).
    pub url: String,
    /// The branch (without `refs/heads/`).
    pub branch: String,
    /// Credentials for HTTP(S), as for Git sources.
    pub credentials: Option<Credentials>,
    /// The cache directory for the mirror and checked-out trees.
    pub cache_dir: PathBuf,
    /// Send credentials over plain `http://` (tests and private networks only).
    pub allow_insecure_http_credentials: bool,
}

/// The result of [`Target::commit`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Committed {
    /// The new commit, or `None` when the edit changed nothing (the branch already held it).
    pub commit: Option<String>,
    /// The commit the edit was applied on last.
    pub parent: String,
    /// How many pushes were attempted.
    pub attempts: usize,
}

/// How long a branch head read by [`Target::read`] is reused.
pub const HEAD_MEMO: std::time::Duration = std::time::Duration::from_secs(2);

/// Branch heads read recently: `url branch` → (commit, when).
#[derive(Default)]
struct Heads(std::sync::Mutex<std::collections::HashMap<String, (String, std::time::Instant)>>);

impl Heads {
    fn recent(&self, key: &str) -> Option<String> {
        let map = self.0.lock().unwrap_or_else(|p| p.into_inner());
        map.get(key)
            .filter(|(_, at)| at.elapsed() < HEAD_MEMO)
            .map(|(c, _)| c.clone())
    }

    fn put(&self, key: String, commit: String) {
        let mut map = self.0.lock().unwrap_or_else(|p| p.into_inner());
        map.retain(|_, (_, at)| at.elapsed() < HEAD_MEMO);
        map.insert(key, (commit, std::time::Instant::now()));
    }
}

fn heads() -> &'static Heads {
    static HEADS: std::sync::OnceLock<Heads> = std::sync::OnceLock::new();
    HEADS.get_or_init(Heads::default)
}

/// How many commits missing from the mirror that merges brought in [`Target::log`] fetches per walk.
const MAX_MERGED_FETCHES: usize = 3;

/// A commit read by [`Target::log`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LoggedCommit {
    /// The commit id.
    pub id: String,
    /// The committer time (seconds since the epoch).
    pub time: i64,
    /// The full message.
    pub message: String,
}

/// A ref update to publish: `branch` from `old` (`None`: the branch must not exist) to `new`.
struct Update<'a> {
    branch: &'a str,
    old: Option<&'a str>,
    new: &'a gix::ObjectId,
    objects: &'a [gix::ObjectId],
}

/// The edit: from the checked-out tree of the head, the files to write (repository-relative path → content).
/// An empty map means there is nothing to change.
pub type Edit<'a> = dyn Fn(&Path) -> Result<BTreeMap<String, String>, Error> + 'a;

impl Target {
    fn repository(&self) -> Result<Repository, Error> {
        Ok(Repository::new(&self.url, &self.cache_dir)?
            .with_credentials(self.credentials.clone())
            .allow_insecure_http_credentials(self.allow_insecure_http_credentials))
    }

    /// Fetches the branch head and checks it out (read-only, shared cache).
    pub fn read(&self) -> Result<Checkout, Error> {
        let repo = self.repository()?;
        let c = repo.checkout(&Revision::Branch(self.branch.clone()))?;
        heads().put(self.head_key(&repo), c.commit.clone());
        Ok(c)
    }

    /// [`Target::read`], but a head read within [`HEAD_MEMO`] (by any stage or pipeline sharing the branch) is
    /// reused: the controller asks the server once per branch per [`HEAD_MEMO`].
    pub fn read_recent(&self) -> Result<Checkout, Error> {
        let repo = self.repository()?;
        if let Some(commit) = heads().recent(&self.head_key(&repo))
            && let Some(c) = repo.cached_checkout(&commit)
        {
            return Ok(c);
        }
        self.read()
    }

    fn head_key(&self, repo: &Repository) -> String {
        format!("{} {}", repo.url().normalized(), self.branch)
    }

    /// Checks out a given commit of the repository (read-only, shared cache).
    pub fn read_commit(&self, commit: &str) -> Result<Checkout, Error> {
        Ok(self
            .repository()?
            .checkout(&Revision::Commit(commit.to_string()))?)
    }

    /// Applies `edit` to the branch head and pushes the result as one commit with `message` (see the module
    /// documentation for the protocol and retries).
    pub fn commit(&self, edit: &Edit<'_>, message: &str) -> Result<Committed, Error> {
        self.commit_onto(edit, message, None)
    }

    /// Applies `edit` to the branch head and pushes the commit to a new branch `review` (for a person to merge
    /// into the branch). When `review` exists already, nothing is written and the error says so.
    pub fn commit_for_review(
        &self,
        edit: &Edit<'_>,
        message: &str,
        review: &str,
    ) -> Result<Committed, Error> {
        self.commit_onto(edit, message, Some(review))
    }

    fn commit_onto(&self, edit: &Edit<'_>, message: &str, review: Option<&str>) -> Result<Committed, Error> {
        let repo = self.repository()?;
        let scheme = repo.url().scheme();
        if !matches!(scheme, Scheme::Http | Scheme::Https | Scheme::File) {
            return Err(Error::UnsupportedScheme(repo.url().to_string()));
        }
        for attempt in 1..=MAX_ATTEMPTS {
            let head = repo.checkout(&Revision::Branch(self.branch.clone()))?;
            let files = edit(&head.root)?;
            if files.is_empty() {
                return Ok(Committed {
                    commit: None,
                    parent: head.commit,
                    attempts: attempt,
                });
            }
            let mirror = open(&repo.mirror_dir(), &self.url)?;
            let (commit, objects) = write_commit(&mirror, &head.commit, &files, message, &self.url)?;
            let update = Update {
                branch: review.unwrap_or(&self.branch),
                old: if review.is_some() {
                    None
                } else {
                    Some(&head.commit)
                },
                new: &commit,
                objects: &objects,
            };
            let moved = match scheme {
                Scheme::File => self.publish_file(&repo, &mirror, &update)?,
                _ => self.publish_http(&repo, &mirror, &update)?,
            };
            if !moved {
                let key = format!("{} {}", repo.url().normalized(), update.branch);
                heads().put(key, commit.to_string());
                return Ok(Committed {
                    commit: Some(commit.to_string()),
                    parent: head.commit,
                    attempts: attempt,
                });
            }
            tracing::info!(url = %repo.url(), branch = %update.branch, attempt, "the branch moved; re-applying the edit");
        }
        Err(Error::Contention {
            url: repo.url().to_string(),
            branch: self.branch.clone(),
            attempts: MAX_ATTEMPTS,
        })
    }

    /// Whether `branch` exists on the server (fetched into the mirror when it does).
    pub fn branch_exists(&self, branch: &str) -> Result<bool, Error> {
        match self.repository()?.resolve(&Revision::Branch(branch.to_string())) {
            Ok(_) => Ok(true),
            Err(tack_source::Error::RevisionNotFound { .. }) => Ok(false),
            Err(e) => Err(e.into()),
        }
    }

    /// The commits reachable from `from` (itself first, then parents breadth-first) that the local mirror
    /// holds, at most `limit`, without the commits in `known` and their ancestors reached only through them. A
    /// shallow mirror ends the walk where its history was cut.
    pub fn log(
        &self,
        from: &str,
        known: &std::collections::BTreeSet<String>,
        limit: usize,
    ) -> Result<Vec<LoggedCommit>, Error> {
        let repo = self.repository()?;
        let start =
            gix::ObjectId::from_hex(from.as_bytes()).map_err(|e| git_err(&self.url, "commit id", e))?;
        let mut mirror = open(&repo.mirror_dir(), &self.url)?;
        // (commit, brought in by a merge)
        let mut queue = std::collections::VecDeque::from([(start, false)]);
        let mut seen = std::collections::BTreeSet::from([start]);
        let mut out = Vec::new();
        let mut fetches = 0;
        while let Some((id, merged)) = queue.pop_front() {
            if out.len() >= limit {
                break;
            }
            if known.contains(&id.to_string()) {
                continue;
            }
            // The branch a merge brought in (a review branch) may be missing from the shallow mirror: fetch
            // it (a few per walk).
            if merged && mirror.find_commit(id).is_err() && fetches < MAX_MERGED_FETCHES {
                fetches += 1;
                match repo.resolve(&Revision::Commit(id.to_string())) {
                    Ok(_) => mirror = open(&repo.mirror_dir(), &self.url)?,
                    Err(e) => tracing::debug!(commit = %id, error = %e, "fetching a merged commit failed"),
                }
            }
            let Ok(commit) = mirror.find_commit(id) else {
                continue;
            };
            let Ok(decoded) = commit.decode() else { continue };
            let time = decoded
                .committer()
                .ok()
                .and_then(|c| c.time().ok())
                .map(|t| t.seconds);
            out.push(LoggedCommit {
                id: id.to_string(),
                time: time.unwrap_or_default(),
                message: decoded.message.to_string(),
            });
            for (n, p) in decoded.parents().enumerate() {
                if seen.insert(p) {
                    queue.push_back((p, merged || n > 0));
                }
            }
        }
        Ok(out)
    }

    /// Copies the objects into the bare repository and moves the branch if it still is at `old`. Returns
    /// `true` when the branch had moved (retry).
    fn publish_file(
        &self,
        repo: &Repository,
        mirror: &gix::Repository,
        u: &Update<'_>,
    ) -> Result<bool, Error> {
        let Update {
            branch,
            old,
            new,
            objects,
        } = *u;
        let url = repo.url().to_string();
        let path = repo
            .url()
            .as_str()
            .strip_prefix("file://")
            .unwrap_or(repo.url().as_str())
            .to_string();
        let target = open(Path::new(&path), &url)?;
        for id in objects {
            let obj = mirror
                .find_object(*id)
                .map_err(|e| git_err(&url, "reading a new object", e))?;
            target
                .write_buf(obj.kind, &obj.data)
                .map_err(|e| git_err(&url, "writing an object into the repository", e))?;
        }
        let old_id = old
            .map(|o| gix::ObjectId::from_hex(o.as_bytes()).map_err(|e| git_err(&url, "parent id", e)))
            .transpose()?;
        let name = format!("refs/heads/{branch}");
        let previous = match old_id {
            Some(id) => {
                gix::refs::transaction::PreviousValue::MustExistAndMatch(gix::refs::Target::Object(id))
            }
            None => gix::refs::transaction::PreviousValue::MustNotExist,
        };
        let update = target.reference(name.as_str(), *new, previous, "tack: promotion");
        match update {
            Ok(_) => Ok(false),
            Err(e) => {
                let now = target
                    .find_reference(name.as_str())
                    .ok()
                    .and_then(|mut r| r.peel_to_id().ok().map(|id| id.detach()));
                match (old_id, now) {
                    (Some(o), Some(n)) if n != o => Ok(true),
                    (None, Some(_)) => Err(Error::Rejected {
                        url,
                        branch: branch.to_string(),
                        reason: "the branch exists already".into(),
                    }),
                    _ => Err(Error::Rejected {
                        url,
                        branch: branch.to_string(),
                        reason: e.to_string(),
                    }),
                }
            }
        }
    }

    /// Pushes the objects with one receive-pack request. Returns `true` when the branch had moved (retry).
    fn publish_http(
        &self,
        repo: &Repository,
        mirror: &gix::Repository,
        u: &Update<'_>,
    ) -> Result<bool, Error> {
        let Update {
            branch,
            old,
            new,
            objects,
        } = *u;
        const ZERO: &str = "0000000000000000000000000000000000000000";
        let url = repo.url().to_string();
        let mut raw = Vec::with_capacity(objects.len());
        for id in objects {
            let obj = mirror
                .find_object(*id)
                .map_err(|e| git_err(&url, "reading a new object", e))?;
            raw.push((obj.kind, obj.data.clone()));
        }
        let pack = pack::build(&raw).map_err(|e| git_err(&url, "building the pack", e))?;
        let refname = format!("refs/heads/{branch}");
        let body = receive_pack::request_body(old.unwrap_or(ZERO), &new.to_string(), &refname, &pack);
        let credentials = self
            .credentials
            .clone()
            .or_else(|| repo.url().embedded_credentials());
        let report =
            receive_pack::push(repo.url().as_str(), credentials.as_ref(), body).map_err(|reason| {
                Error::Rejected {
                    url: url.clone(),
                    branch: branch.to_string(),
                    reason,
                }
            })?;
        match report {
            receive_pack::Report::Ok => Ok(false),
            receive_pack::Report::Rejected(reason) => {
                let now = repo.resolve(&Revision::Branch(branch.to_string()));
                match (old, now) {
                    (Some(old), Ok(now)) if now != old => Ok(true),
                    (None, Ok(_)) => Err(Error::Rejected {
                        url,
                        branch: branch.to_string(),
                        reason: format!("the branch exists already ({reason})"),
                    }),
                    (Some(_), Err(e)) => Err(e.into()),
                    _ => Err(Error::Rejected {
                        url,
                        branch: branch.to_string(),
                        reason,
                    }),
                }
            }
        }
    }
}

fn git_err(url: &str, what: &str, e: impl std::fmt::Display) -> Error {
    Error::Git {
        url: url.to_string(),
        message: format!("{what}: {e}"),
    }
}

fn open(path: &Path, url: &str) -> Result<gix::Repository, Error> {
    gix::open(path).map_err(|e| git_err(url, &format!("opening {}", path.display()), e))
}

/// Writes the changed blobs, the trees on their paths and the commit. Returns the commit and every object
/// written (blobs, trees, commit), which is what the server lacks.
fn write_commit(
    repo: &gix::Repository,
    parent: &str,
    files: &BTreeMap<String, String>,
    message: &str,
    url: &str,
) -> Result<(gix::ObjectId, Vec<gix::ObjectId>), Error> {
    let parent_id = gix::ObjectId::from_hex(parent.as_bytes()).map_err(|e| git_err(url, "parent id", e))?;
    let parent_commit = repo
        .find_commit(parent_id)
        .map_err(|e| git_err(url, "reading the head commit", e))?;
    let tree_id = parent_commit
        .tree_id()
        .map_err(|e| git_err(url, "reading the head tree", e))?;
    let mut editor = repo
        .edit_tree(tree_id)
        .map_err(|e| git_err(url, "editing the tree", e))?;
    let mut objects = Vec::new();
    for (path, content) in files {
        let blob = repo
            .write_blob(content.as_bytes())
            .map_err(|e| git_err(url, "writing a blob", e))?;
        objects.push(blob.detach());
        editor
            .upsert(path.as_str(), gix::object::tree::EntryKind::Blob, blob.detach())
            .map_err(|e| git_err(url, &format!("updating {path}"), e))?;
    }
    let new_tree = editor
        .write()
        .map_err(|e| git_err(url, "writing the trees", e))?
        .detach();
    objects.extend(trees_on_paths(repo, new_tree, files.keys(), url)?);
    let signature = gix::actor::Signature {
        name: AUTHOR_NAME.into(),
        email: AUTHOR_EMAIL.into(),
        time: gix::date::Time::new(jiff::Timestamp::now().as_second(), 0),
    };
    let commit = gix::objs::Commit {
        tree: new_tree,
        parents: vec![parent_id].into(),
        author: signature.clone(),
        committer: signature,
        encoding: None,
        message: message.into(),
        extra_headers: Vec::new(),
    };
    let id = repo
        .write_object(&commit)
        .map_err(|e| git_err(url, "writing the commit", e))?
        .detach();
    objects.push(id);
    Ok((id, objects))
}

/// The root tree and every tree on the way to each changed file (the only trees an edit creates).
fn trees_on_paths<'a>(
    repo: &gix::Repository,
    root: gix::ObjectId,
    paths: impl Iterator<Item = &'a String>,
    url: &str,
) -> Result<Vec<gix::ObjectId>, Error> {
    let mut out = vec![root];
    for path in paths {
        let parts: Vec<&str> = path.split('/').collect();
        for depth in 1..parts.len() {
            let dir = parts[..depth].join("/");
            let tree = repo
                .find_tree(root)
                .map_err(|e| git_err(url, "reading the new tree", e))?;
            let entry = tree
                .lookup_entry_by_path(&dir)
                .map_err(|e| git_err(url, "reading the new tree", e))?;
            if let Some(e) = entry {
                let id = e.object_id();
                if !out.contains(&id) {
                    out.push(id);
                }
            }
        }
    }
    Ok(out)
}

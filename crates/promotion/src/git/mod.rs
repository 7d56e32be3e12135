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
        Ok(self
            .repository()?
            .checkout(&Revision::Branch(self.branch.clone()))?)
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
            let moved = match scheme {
                Scheme::File => self.publish_file(&repo, &mirror, &head.commit, &commit, &objects)?,
                _ => self.publish_http(&repo, &mirror, &head.commit, &commit, &objects)?,
            };
            if !moved {
                return Ok(Committed {
                    commit: Some(commit.to_string()),
                    parent: head.commit,
                    attempts: attempt,
                });
            }
            tracing::info!(url = %repo.url(), branch = %self.branch, attempt, "the branch moved; re-applying the edit");
        }
        Err(Error::Contention {
            url: repo.url().to_string(),
            branch: self.branch.clone(),
            attempts: MAX_ATTEMPTS,
        })
    }

    /// Copies the objects into the bare repository and moves the branch if it still is at `old`. Returns
    /// `true` when the branch had moved (retry).
    fn publish_file(
        &self,
        repo: &Repository,
        mirror: &gix::Repository,
        old: &str,
        new: &gix::ObjectId,
        objects: &[gix::ObjectId],
    ) -> Result<bool, Error> {
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
        let old_id = gix::ObjectId::from_hex(old.as_bytes()).map_err(|e| git_err(&url, "parent id", e))?;
        let name = format!("refs/heads/{}", self.branch);
        let update = target.reference(
            name.as_str(),
            *new,
            gix::refs::transaction::PreviousValue::MustExistAndMatch(gix::refs::Target::Object(old_id)),
            "tack: promotion",
        );
        match update {
            Ok(_) => Ok(false),
            Err(e) => {
                let now = target
                    .find_reference(name.as_str())
                    .ok()
                    .and_then(|mut r| r.peel_to_id().ok().map(|id| id.detach()));
                if now.is_some_and(|n| n != old_id) {
                    Ok(true)
                } else {
                    Err(Error::Rejected {
                        url,
                        branch: self.branch.clone(),
                        reason: e.to_string(),
                    })
                }
            }
        }
    }

    /// Pushes the objects with one receive-pack request. Returns `true` when the branch had moved (retry).
    fn publish_http(
        &self,
        repo: &Repository,
        mirror: &gix::Repository,
        old: &str,
        new: &gix::ObjectId,
        objects: &[gix::ObjectId],
    ) -> Result<bool, Error> {
        let url = repo.url().to_string();
        let mut raw = Vec::with_capacity(objects.len());
        for id in objects {
            let obj = mirror
                .find_object(*id)
                .map_err(|e| git_err(&url, "reading a new object", e))?;
            raw.push((obj.kind, obj.data.clone()));
        }
        let pack = pack::build(&raw).map_err(|e| git_err(&url, "building the pack", e))?;
        let refname = format!("refs/heads/{}", self.branch);
        let body = receive_pack::request_body(old, &new.to_string(), &refname, &pack);
        let credentials = self
            .credentials
            .clone()
            .or_else(|| repo.url().embedded_credentials());
        let report =
            receive_pack::push(repo.url().as_str(), credentials.as_ref(), body).map_err(|reason| {
                Error::Rejected {
                    url: url.clone(),
                    branch: self.branch.clone(),
                    reason,
                }
            })?;
        match report {
            receive_pack::Report::Ok => Ok(false),
            receive_pack::Report::Rejected(reason) => {
                let now = repo.resolve(&Revision::Branch(self.branch.clone()))?;
                if now != old {
                    Ok(true)
                } else {
                    Err(Error::Rejected {
                        url,
                        branch: self.branch.clone(),
                        reason,
                    })
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

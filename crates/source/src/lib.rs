//! Sources: Git repositories resolved to commits and materialised trees.
//!
//! A [`Repository`] is a remote Git repository (file://, git://, http:// or https://) with optional
//! [`Credentials`] and a cache directory. [`Repository::checkout`] resolves a [`Revision`] (branch, tag, full or
//! abbreviated commit SHA, or the default branch) to a commit with a shallow fetch (depth 1 of that revision)
//! into a bare mirror kept per URL under `<cache>/mirrors/`, then writes the commit's tree to
//! `<cache>/trees/<sha>/` atomically (temporary directory + rename). A commit already in the cache is served
//! without network.
//!
//! Every network operation has a deadline ([`Deadlines`]: connect, idle, whole fetch); a server that accepts
//! and never answers fails the fetch with [`Error::Stalled`] naming the phase.
//!
//! The API is blocking; async callers use `tokio::task::spawn_blocking`.
//!
//! [`webhook`] parses GitHub, GitLab and Gitea push payloads (pure functions, no server).
//!
//! ```no_run
//! use tack_source::{Credentials, Repository, Revision};
//!
//! # fn main() -> Result<(), tack_source::Error> {
//! let repo = Repository::new("https://git.example.com/acme/deploy.git", "/var/cache/tack")?
//!     .with_credentials(Some(Credentials::token("glpat-example")));
//! let checkout = repo.checkout(&Revision::parse("main"))?; // shallow fetch, tree cached by commit
//! let app_dir = checkout.path("guestbook")?; // `..` and links out of the checkout are refused
//! println!("{} at {}: {}", repo.url(), checkout.commit, app_dir.display());
//! # Ok(())
//! # }
//! ```

#![warn(missing_docs)]

mod cache;
pub mod chart;
mod credentials;
mod deadline;
mod error;
mod repository;
mod revision;
mod tree;
mod url;
pub mod webhook;

pub use cache::default_cache_dir;
pub use credentials::{Credentials, Secret};
pub use deadline::{Deadlines, Phase};
pub use error::Error;
pub use repository::{Checkout, Repository, prune_trees, relative_path};
pub use revision::Revision;
pub use url::{RepoUrl, Scheme, normalize_repo_url};

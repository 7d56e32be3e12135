//! Promotion of releases between environments: the pure decisions and edits, and the Git writes.
//!
//! - [`part`]: what a release is made of: images, Helm charts, remote Kustomize bases.
//! - [`release`]: a release (the version of each part: image tags, chart versions, base references) and its
//!   text form.
//! - [`config`]: a stage's configuration files and the edit that writes a release into them, in one of three
//!   formats: [`kustomization`] (`images:` newTag/newName, as `kustomize edit set image`), [`values`] (a Helm
//!   values key path) and [`manifest`] (plain manifests' `image:` fields). Every edit keeps the rest of the file
//!   byte for byte.
//! - [`discovery`]: new image tags found in registries, for the first stage.
//! - [`message`]: the commit message (release, source stage, gate evidence).
//! - [`stage`]: a stage's configuration in a checked-out tree: its release, and a promotion into it.
//! - [`request`]: what a person asks (promote, approve, roll back) and the annotation that records it.
//! - [`gate`]: the gate decisions as a pure step `next(spec, status, observations, now)`.
//! - [`controller`]: the Pipeline controller (the only module that talks to the API server).
//! - [`git`]: reading a stage's configuration and committing an edit to a branch without a `git` binary:
//!   objects written with gix, pushed by smart-HTTP receive-pack (a pack built here) or, for `file://`
//!   repositories, by a compare-and-swap of the branch; a concurrent commit makes it fetch, re-apply the edit
//!   on the new head and retry.

#![warn(missing_docs)]

pub mod base;
pub mod chart;
pub mod config;
pub mod controller;
pub mod discovery;
mod error;
pub mod gate;
pub mod git;
pub mod history;
pub mod kustomization;
pub mod manifest;
pub mod message;
pub mod metrics;
pub mod part;
pub mod release;
pub mod request;
pub mod stage;
mod text;
pub mod values;
pub mod window;

pub use error::Error;
pub use part::{Kind, Part};
pub use release::Release;

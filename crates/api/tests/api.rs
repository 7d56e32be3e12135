//! The HTTP API against the local control plane: every endpoint, authentication by ServiceAccount tokens,
//! authorization refusals, read-only mode, forged (cross-site) actions and the change stream.

#[path = "api/endpoints.rs"]
mod endpoints;

#[path = "api/browser.rs"]
mod browser;

#[path = "api/diff.rs"]
mod diff;

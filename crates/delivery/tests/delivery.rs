//! Integration tests of the delivery controllers on the local control plane (real kube-apiserver,
//! kube-controller-manager and KWOK nodes). Each test works in its own namespace with the controllers scoped to it.
//!
//! Run: `cargo test -p tack-delivery --test delivery -- --include-ignored`.

#[path = "delivery/rollout_support.rs"]
mod rollout_support;

#[path = "delivery/rollout_canary.rs"]
mod rollout_canary;

#[path = "delivery/rollout_bluegreen.rs"]
mod rollout_bluegreen;

#[path = "delivery/rollout_traffic.rs"]
mod rollout_traffic;

#[path = "delivery/rollout_analysis.rs"]
mod rollout_analysis;

#[path = "delivery/analysis_support.rs"]
mod analysis_support;

#[path = "delivery/analysis.rs"]
mod analysis;

#[path = "delivery/analysis_rollout.rs"]
mod analysis_rollout;

#[path = "delivery/rollout_parity.rs"]
mod rollout_parity;

#[path = "delivery/experiment.rs"]
mod experiment;

#[path = "delivery/rollout_metadata.rs"]
mod rollout_metadata;

#[path = "delivery/rollout_scaling.rs"]
mod rollout_scaling;

#[path = "delivery/rollout_routes.rs"]
mod rollout_routes;

//! One module per top-level command.

pub mod app;
pub mod app_helm;
pub mod cluster;
pub mod controller;
pub mod dashboard;
pub mod demo;
pub mod dev;
pub mod diff;
pub mod env;
pub mod install;
pub mod jsonnet;
pub mod render;
pub mod rollout;
pub mod sync;
pub mod version;

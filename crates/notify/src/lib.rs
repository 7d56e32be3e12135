//! Notifications, like Argo CD Notifications: triggers on GitOpsConfigs, Rollouts and AnalysisRuns, sent to
//! generic webhooks, Slack-compatible incoming webhooks and commit statuses on GitHub, GitLab and Gitea
//! (docs/notifications.md).
//!
//! Pure logic: [`config`] (the ConfigMap's document), [`secret`] (`$key` values and redaction), [`trigger`]
//! (edge-triggered state changes), [`route`] (subscriptions) and [`message`] (templates and requests).
//! I/O: [`send`] (HTTP with retries), [`notifier`] (objects in, deliveries out) and [`controller`] (the watches, the ConfigMap and Secret, Events).

pub mod config;
pub mod controller;
pub mod message;
pub mod metrics;
pub mod notifier;
pub mod route;
pub mod secret;
pub mod send;
pub mod trigger;

pub use controller::{NotifyConfig, run};

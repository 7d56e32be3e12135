//! The model: tack's resource types (GitOpsConfig, Rollout, …) shared by every crate.

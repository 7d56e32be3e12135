//! Progressive delivery controllers: the Rollout controller (ReplicaSets, Services, traffic routers, driven by
//! the [`tack_rollout`] state machines) and the AnalysisRun controller (measurements through the
//! [`tack_analysis`] providers).

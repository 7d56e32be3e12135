//! tack's resource types.
//!
//! [`GitOpsConfig`] (`gitops.tack.dev/v1alpha1`, short name `goc`, namespaced) describes one application: one
//! Git source rendered into manifests, one destination namespace, and how to keep them in sync. Field names
//! follow what Argo CD (`Application`) and Flux (`GitRepository` + `Kustomization`) users know: `repoURL`,
//! `targetRevision`-like `revision`, `path`, `syncPolicy.automated.{prune,selfHeal}`, `ignoreDifferences`
//! with `jsonPointers`, `dependsOn`, `serviceAccountName`, `suspend`, status `sync`/`health`/`history` and
//! kstatus conditions (`Ready`, `Reconciling`, `Stalled`).

#![warn(missing_docs)]

mod gitops;

pub use gitops::*;

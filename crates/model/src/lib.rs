//! tack's resource types.
//!
//! [`GitOpsConfig`] (`gitops.tack.dev/v1alpha1`, short name `goc`, namespaced) describes one application: one
//! Git source rendered into manifests, one destination namespace, and how to keep them in sync. Field names
//! follow what Argo CD (`Application`) and Flux (`GitRepository` + `Kustomization`) users know: `repoURL`,
//! `targetRevision`-like `revision`, `path`, `syncPolicy.automated.{prune,selfHeal}`, `ignoreDifferences`
//! with `jsonPointers`, `dependsOn`, `serviceAccountName`, `suspend`, status `sync`/`health`/`history` and
//! kstatus conditions (`Ready`, `Reconciling`, `Stalled`).
//!
//! [`TenantPolicy`] (`gitops.tack.dev/v1alpha1`, short name `tp`, cluster-scoped) restricts the GitOpsConfigs
//! of the namespaces it selects: allowed source repositories, allowed destinations, denied kinds.
//!
//! [`Pipeline`] (`gitops.tack.dev/v1alpha1`, short name `pl`, namespaced) orders GitOpsConfigs into stages
//! (qa → e2e → prod) through which releases are promoted by Git commits once each stage's gates pass.

#![warn(missing_docs)]

mod gitops;
mod pipeline;
mod tenant;

pub use gitops::*;
pub use pipeline::*;
pub use tenant::*;

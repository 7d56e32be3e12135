//! The local control plane: a real Kubernetes control plane on loopback, without containers.
//!
//! etcd, kube-apiserver, kube-controller-manager and kube-scheduler are built from their Go modules
//! (see `testenv/build.sh`, embedded here) and KWOK simulates nodes and pod lifecycles. [`LocalCluster`]
//! brings everything up, waits until nodes are Ready, writes a kubeconfig and records what it started so
//! that a later [`LocalCluster::down`] stops exactly those processes. [`ProgressDisplay`] shows its progress,
//! the first-time build on one line that updates.
//!
//! Pods labelled `tack.dev/simulate: crash` end `Failed`; pods labelled `tack.dev/simulate: never-ready`
//! run but never become Ready (see [`stages`]).

#![warn(missing_docs)]

mod binaries;
mod component;
mod error;
mod kubeconfig;
mod layout;
mod pki;
mod process;
pub mod progress;
pub mod stages;
mod state;
mod up;
mod versions;

pub use binaries::{BuildOutcome, ensure_binaries};
pub use component::Component;
pub use error::{Error, Result};
pub use layout::Layout;
pub use progress::{BuildStep, ProgressDisplay};
pub use state::{ComponentRecord, State};
pub use up::{ComponentStatus, LocalCluster, Status, UpOptions, UpReport};
pub use versions::Versions;

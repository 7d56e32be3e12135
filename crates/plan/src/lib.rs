//! Planning a sync, without I/O.
//!
//! Input: rendered manifests ([`tack_render::Manifest`]), the destination namespace, the scope of every kind
//! (namespaced or cluster-scoped, learnt from discovery by the caller and passed in as data), the inventory
//! of the previous sync, and live objects as the API server returned them. Output: the objects to apply in
//! order ([`prepare`], [`batches`]), their per-object options ([`object_options`]), what each needs ([`classify`]: create, configure or nothing), the objects to prune ([`prune_set`]), and for each object whether it
//! differs from the live state ([`compare`]) with a masked unified diff ([`diff`]).
//!
//! Nothing here reads files, clocks or the network; every function is a plain function of its inputs.

#![warn(missing_docs)]

mod classify;
mod compare;
mod diff;
mod id;
mod options;
mod prepare;
mod prune;

pub use classify::{Change, classify, classify_one};
pub use compare::{
    DIGEST_ANNOTATION, IgnoreRule, Normalized, applied_digest, compare, ignore_pointers_for, normalize_live,
    remove_pointer,
};
pub use diff::{DiffOptions, MASK, diff, mask_secret_pair};
pub use id::{ObjectId, ParseIdError};
pub use options::{
    ARGO_COMPARE_OPTIONS, ARGO_SYNC_OPTIONS, ApplyPolicy, FLUX_PRUNE, FLUX_SSA, HELM_RESOURCE_POLICY,
    ObjectOptions, PrunePolicy, object_options,
};
pub use prepare::{
    ARGO_WAVE_ANNOTATION, Desired, KIND_ORDER, KindScopes, PlanError, Stage, WAVE_ANNOTATION, batches,
    kind_rank, prepare, prepare_packed, wave_of,
};
pub use prune::{
    PRUNE_ANNOTATION, exceeds_share, needs_confirmation, prune_allowed, prune_set, prune_stage, prune_steps,
};

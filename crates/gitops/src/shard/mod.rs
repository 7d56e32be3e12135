//! Sharding: applications split between controllers, each reconciling only its own.
//!
//! Static: `tack controller --shards N --shard-index I` reconciles only the GitOpsConfigs whose shard is `I`:
//! the 64-bit FNV-1a hash of `namespace/name`, modulo `N` ([`Shard`]). The hash is fixed by this module (not
//! Rust's `DefaultHasher`, which may change between releases), so every replica, of any version, agrees on the
//! owner of each application, and every application has exactly one owner as long as the N shards run with the
//! same N.
//!
//! Automatic: `tack controller --shards auto` — replicas find each other through member Leases
//! ([`members`], the I/O) and split applications by rendezvous hashing over the live ones, with a handover that
//! never lets two replicas reconcile one application at once ([`handover`], the pure logic).
//!
//! Either way the decision is taken in one place, [`Gate::admit`], at the start of every reconcile, whatever
//! asked for it (a watch event, drift, a requeue, a webhook's refresh). Each controller writes the status with
//! its own field manager ([`writers`]), so the GitOpsConfig's `managedFields` say which one reconciled it last.

pub mod handover;
pub mod members;
pub mod writers;

use members::{Admitted, Ownership};

/// Which applications this controller reconciles: the decision at the start of every reconcile.
#[derive(Clone, Debug, Default)]
pub enum Gate {
    /// All of them.
    #[default]
    All,
    /// Those of one static shard.
    Static(Shard),
    /// Those this member of an automatic shard group owns, once their handover settled.
    Auto(Ownership),
}

/// What [`Gate::admit`] decided.
#[derive(Debug)]
pub enum Decision {
    /// Reconcile now (with automatic sharding, in flight until the guard is dropped).
    Start(Option<Admitted>),
    /// Ours, but waiting for a handover: triggered again when it settles.
    Wait,
    /// Another controller's: forget it (drift watches, backoff, metrics).
    NotOurs,
}

impl Gate {
    /// Whether a reconcile of `namespace/name` starts now.
    pub fn admit(&self, namespace: &str, name: &str) -> Decision {
        match self {
            Gate::All => Decision::Start(None),
            Gate::Static(shard) if shard.owns(namespace, name) => Decision::Start(None),
            Gate::Static(_) => Decision::NotOurs,
            Gate::Auto(ownership) => match ownership.admit(namespace, name) {
                members::Admit::Start(admitted) => Decision::Start(Some(admitted)),
                members::Admit::Defer => Decision::Wait,
                members::Admit::NotOurs => Decision::NotOurs,
            },
        }
    }
}

use std::fmt;

/// One shard of N.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Shard {
    count: u32,
    index: u32,
}

/// Why a shard cannot be formed from the flags.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum ShardError {
    /// `--shards 0`.
    #[error("--shards must be at least 1")]
    NoShards,
    /// `--shard-index` outside `0..shards`.
    #[error("--shard-index {index} is not below --shards {count}: shards are numbered 0 to {}", count - 1)]
    IndexOutOfRange {
        /// The index given.
        index: u32,
        /// The number of shards.
        count: u32,
    },
}

impl Shard {
    /// Shard `index` of `count` (numbered from 0).
    pub fn new(count: u32, index: u32) -> Result<Shard, ShardError> {
        if count == 0 {
            return Err(ShardError::NoShards);
        }
        if index >= count {
            return Err(ShardError::IndexOutOfRange { index, count });
        }
        Ok(Shard { count, index })
    }

    /// The number of shards.
    pub fn count(&self) -> u32 {
        self.count
    }

    /// This shard's index.
    pub fn index(&self) -> u32 {
        self.index
    }

    /// The shard that owns application `namespace/name` among `count`.
    pub fn of(count: u32, namespace: &str, name: &str) -> u32 {
        let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
        for byte in namespace.bytes().chain([b'/']).chain(name.bytes()) {
            hash ^= u64::from(byte);
            hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
        }
        (hash % u64::from(count.max(1))) as u32
    }

    /// Whether this shard owns application `namespace/name`.
    pub fn owns(&self, namespace: &str, name: &str) -> bool {
        Shard::of(self.count, namespace, name) == self.index
    }
}

impl fmt::Display for Shard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "shard {} of {}", self.index, self.count)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_are_checked() {
        assert_eq!(Shard::new(0, 0), Err(ShardError::NoShards));
        assert_eq!(
            Shard::new(3, 3),
            Err(ShardError::IndexOutOfRange { index: 3, count: 3 })
        );
        assert_eq!(
            Shard::new(3, 3).map_err(|e| e.to_string()),
            Err("--shard-index 3 is not below --shards 3: shards are numbered 0 to 2".into())
        );
        assert!(Shard::new(1, 0).is_ok_and(|s| s.owns("any", "app")));
    }

    #[test]
    fn every_application_has_exactly_one_owner_and_the_split_is_even() {
        let shards: Vec<Shard> = (0..3).map(|i| Shard::new(3, i).expect("shard")).collect();
        let mut per_shard = [0usize; 3];
        for ns in 0..10 {
            for app in 0..100 {
                let (ns, app) = (format!("team-{ns}"), format!("app-{app}"));
                let owners: Vec<&Shard> = shards.iter().filter(|s| s.owns(&ns, &app)).collect();
                assert_eq!(owners.len(), 1, "{ns}/{app}");
                per_shard[owners[0].index() as usize] += 1;
            }
        }
        // 1 000 applications over 3 shards: each within 15 % of a third.
        for n in per_shard {
            assert!((283..=383).contains(&n), "{per_shard:?}");
        }
    }

    #[test]
    fn the_hash_is_fixed() {
        // FNV-1a 64 of "a/b", as computed by an independent implementation (Python, the published offset basis and prime); a change here moves applications
        // between shards on upgrade.
        assert_eq!(
            Shard::of(u32::MAX, "a", "b"),
            (0xe620_c319_0468_cf61_u64 % u64::from(u32::MAX)) as u32
        );
        assert_eq!(Shard::of(7, "a", "b"), (0xe620_c319_0468_cf61_u64 % 7) as u32);
    }
}

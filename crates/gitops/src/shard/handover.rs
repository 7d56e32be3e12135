//! Automatic sharding, the pure part: which replicas are live ([`Liveness`] → [`View`]), which one owns each
//! application (rendezvous hashing, [`weight`]), and the handover state machine that keeps two replicas from
//! reconciling the same application at once ([`Handover`]: explicit state, changed only by [`Handover::step`],
//! [`Handover::admit`] and [`Handover::finish`]). No I/O: the member Leases are read and written by
//! `members.rs`.
//!
//! Ownership: among the members of a view, `namespace/name` belongs to the member of highest
//! [`weight`] (`fmix64(FNV-1a-64("<member>\n<namespace>/<name>"))`, ties to the smaller identity). A member
//! joining takes from each other member only the applications it now outweighs, and a member leaving gives only
//! its own away: about 1/N of the applications move.
//!
//! Handover: every replica adopts as its view the live members it sees, and publishes in its Lease the view it
//! adopted and whether it is drained for it (no reconcile in flight of an application it does not own in
//! that view). It starts a reconcile only of an application it owns in its adopted view, and only while
//! *settled*: its own publication (written before the Leases it looks at were read) and every other member's
//! say the same view, drained. A replica that adopts a view in which it lost applications stops starting them
//! at once and publishes drained once their reconciles in flight have finished; until then the new owner is not
//! settled and does not start them. Two replicas that own the same application in their views therefore never
//! run it at the same time: each would have to read the other's publication of its own view, drained.
//!
//! Applications that do not move are not held up by a handover: while not settled, a replica still starts an
//! application it owns in the last view it settled in *and* in every view it adopted since. No other replica
//! can start it meanwhile: one that owns it in its view V would have to be settled in V, so this replica would
//! have published V, hence adopted it since it settled, and owns it there — two owners of one application in
//! one view, which rendezvous hashing excludes (a replica that never saw this one's Lease alive is excluded by
//! the Lease timings: this one stops before its Lease can count as dead).

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::time::{Duration, Instant};

/// The members of a shard group as one replica sees them: identities, sorted, each once.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct View {
    members: Vec<String>,
}

impl View {
    /// The view of these members (order and repeats do not matter).
    pub fn new<S: Into<String>>(members: impl IntoIterator<Item = S>) -> View {
        let set: BTreeSet<String> = members.into_iter().map(Into::into).collect();
        View {
            members: set.into_iter().collect(),
        }
    }

    /// The members, sorted.
    pub fn members(&self) -> &[String] {
        &self.members
    }

    /// Whether `member` is one of them.
    pub fn contains(&self, member: &str) -> bool {
        self.members.binary_search_by(|m| m.as_str().cmp(member)).is_ok()
    }

    /// The member that owns application `namespace/name` (`None` when the view is empty).
    pub fn owner(&self, namespace: &str, name: &str) -> Option<&str> {
        self.members
            .iter()
            .map(|m| (weight(m, namespace, name), m))
            // Highest weight; of equal weights, the smaller identity (iteration is sorted, `max_by` keeps the last).
            .max_by(|(wa, ma), (wb, mb)| wa.cmp(wb).then(mb.cmp(ma)))
            .map(|(_, m)| m.as_str())
    }

    /// The view as written in a Lease annotation: the members separated by commas.
    pub fn encode(&self) -> String {
        self.members.join(",")
    }

    /// A view read from a Lease annotation ([`View::encode`]).
    pub fn decode(text: &str) -> View {
        View::new(text.split(',').map(str::trim).filter(|m| !m.is_empty()))
    }
}

impl fmt::Display for View {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "[{}]", self.members.join(", "))
    }
}

/// The rendezvous weight of `member` for application `namespace/name`: the 64-bit FNV-1a hash of
/// `<member>\n<namespace>/<name>`, mixed by MurmurHash3's 64-bit finalizer (FNV alone varies too little in its
/// high bits between similar names). Fixed here, so that replicas of any version agree.
pub fn weight(member: &str, namespace: &str, name: &str) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    let bytes = member
        .bytes()
        .chain([b'\n'])
        .chain(namespace.bytes())
        .chain([b'/'])
        .chain(name.bytes());
    for byte in bytes {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    hash ^= hash >> 33;
    hash = hash.wrapping_mul(0xff51_afd7_ed55_8ccd);
    hash ^= hash >> 33;
    hash = hash.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    hash ^ (hash >> 33)
}

/// What a member publishes in its Lease: the view it adopted, and whether it has no reconcile in flight of an
/// application it does not own in that view.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Published {
    /// The adopted view.
    pub view: View,
    /// No reconcile in flight of an application another member owns in `view`.
    pub drained: bool,
}

/// One member Lease as read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MemberLease {
    /// The Lease's name.
    pub name: String,
    /// The member's identity (`spec.holderIdentity`).
    pub member: String,
    /// The Lease's `resourceVersion`: any write changes it.
    pub version: String,
    /// `spec.leaseDurationSeconds`.
    pub duration: Duration,
    /// How long ago `spec.renewTime` was by this replica's clock, if it says; only used the first time the Lease
    /// is seen.
    pub renewed_ago: Option<Duration>,
    /// What the member published, if anything yet.
    pub published: Option<Published>,
}

/// The member Leases read at one moment, judged.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Observation {
    /// The live members.
    pub live: View,
    /// What each live member published.
    pub published: BTreeMap<String, Published>,
    /// Leases (name, resourceVersion) unchanged for three durations: left behind by replicas that died; any
    /// member may delete them.
    pub stale: Vec<(String, String)>,
}

/// When each member Lease was last seen to change, by this replica's clock: a member is live while its Lease
/// changes at least once per its duration, so clock skew between machines does not matter. A Lease seen for the
/// first time counts as just changed, unless its `renewTime` is a duration old or more: then it counts as dead at
/// once (a replica that died before this one started); should clock skew make a live member look so, its next
/// renewal, a change, makes it live again. Either way only the view changes: no reconcile starts until every
/// member of it agrees.
#[derive(Debug, Default)]
pub struct Liveness {
    seen: BTreeMap<String, (String, Instant)>,
}

impl Liveness {
    /// Judges the Leases read at `now` (all of the group's; Leases no longer listed are forgotten).
    pub fn observe(&mut self, leases: &[MemberLease], now: Instant) -> Observation {
        self.seen.retain(|name, _| leases.iter().any(|l| &l.name == name));
        let mut live = Vec::new();
        let mut published = BTreeMap::new();
        let mut stale = Vec::new();
        for lease in leases {
            let changed = match self.seen.get(&lease.name) {
                Some((version, at)) if *version == lease.version => *at,
                Some(_) => {
                    self.seen.insert(lease.name.clone(), (lease.version.clone(), now));
                    now
                }
                None => {
                    let old = lease.renewed_ago.is_some_and(|ago| ago >= lease.duration);
                    let at = if old {
                        now.checked_sub(lease.duration).unwrap_or(now)
                    } else {
                        now
                    };
                    self.seen.insert(lease.name.clone(), (lease.version.clone(), at));
                    at
                }
            };
            let unchanged = now.saturating_duration_since(changed);
            if unchanged < lease.duration {
                live.push(lease.member.clone());
                if let Some(p) = &lease.published {
                    published.insert(lease.member.clone(), p.clone());
                }
            } else if unchanged >= lease.duration * 3 {
                stale.push((lease.name.clone(), lease.version.clone()));
            }
        }
        Observation {
            live: View::new(live),
            published,
            stale,
        }
    }
}

/// Whether a reconcile of an application may start now.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Admission {
    /// Yes; [`Handover::finish`] must be called when it ends.
    Start,
    /// This replica owns it, but a handover is not finished: it is started when [`Effect::Settled`] comes.
    Defer,
    /// Another member owns it (or there is no view yet that names this replica).
    NotOurs,
}

/// What happened to this replica's state.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Effect {
    /// A new view was adopted: applications whose owner differs between `before` and `after` are to be looked
    /// at (those lost are forgotten, those gained wait for [`Effect::Settled`]).
    Adopted {
        /// The view adopted until now.
        before: View,
        /// The view adopted now.
        after: View,
    },
    /// Every member has adopted `view` and is drained: the applications deferred meanwhile may start.
    Settled {
        /// The view.
        view: View,
        /// Applications (namespace, name) refused with [`Admission::Defer`] since the last settlement.
        deferred: Vec<(String, String)>,
    },
}

/// What changes the handover state, besides admissions.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Event {
    /// The member Leases were read, after this replica's last write.
    Observed(Observation),
    /// This replica's publication was written to its Lease.
    Written(Published),
}

/// How many views adopted without settling in between still let applications that kept their owner start.
const MAX_KEPT_VIEWS: usize = 8;

/// One replica's handover state.
#[derive(Clone, Debug)]
pub struct Handover {
    me: String,
    adopted: View,
    written: Option<Published>,
    settled: bool,
    /// The last view this replica settled in, then every view it adopted since (empty before it first settled):
    /// an application it owns in all of them may start while it is not settled.
    kept: Vec<View>,
    in_flight: BTreeSet<(String, String)>,
    deferred: BTreeSet<(String, String)>,
}

impl Handover {
    /// The state of replica `me` before it has seen any Lease: no view, nothing owned.
    pub fn new(me: impl Into<String>) -> Handover {
        Handover {
            me: me.into(),
            adopted: View::default(),
            written: None,
            settled: false,
            kept: Vec::new(),
            in_flight: BTreeSet::new(),
            deferred: BTreeSet::new(),
        }
    }

    /// This replica's identity.
    pub fn me(&self) -> &str {
        &self.me
    }

    /// The adopted view.
    pub fn adopted(&self) -> &View {
        &self.adopted
    }

    /// Whether every member has adopted this replica's view and is drained.
    pub fn is_settled(&self) -> bool {
        self.settled
    }

    /// Whether this replica owns `namespace/name` in its adopted view.
    pub fn owns(&self, namespace: &str, name: &str) -> bool {
        self.adopted.owner(namespace, name) == Some(self.me.as_str())
    }

    /// Reconciles in flight.
    pub fn in_flight(&self) -> usize {
        self.in_flight.len()
    }

    /// Whether a reconcile of `namespace/name` may start; [`Admission::Start`] counts it in flight.
    pub fn admit(&mut self, namespace: &str, name: &str) -> Admission {
        let key = (namespace.to_string(), name.to_string());
        if !self.owns(namespace, name) {
            self.deferred.remove(&key);
            Admission::NotOurs
        } else if !self.settled && !self.kept_through_handover(namespace, name) {
            self.deferred.insert(key);
            Admission::Defer
        } else {
            self.in_flight.insert(key);
            Admission::Start
        }
    }

    /// Whether this replica owned `namespace/name` in the last view it settled in and in every view since.
    fn kept_through_handover(&self, namespace: &str, name: &str) -> bool {
        !self.kept.is_empty()
            && self
                .kept
                .iter()
                .all(|v| v.owner(namespace, name) == Some(self.me.as_str()))
    }

    /// A reconcile admitted with [`Admission::Start`] ended (finished, failed or dropped).
    pub fn finish(&mut self, namespace: &str, name: &str) {
        self.in_flight.remove(&(namespace.to_string(), name.to_string()));
    }

    /// What this replica must publish now.
    pub fn publication(&self) -> Published {
        Published {
            view: self.adopted.clone(),
            drained: self.in_flight.iter().all(|(ns, name)| self.owns(ns, name)),
        }
    }

    /// What this replica last wrote to its Lease.
    pub fn written(&self) -> Option<&Published> {
        self.written.as_ref()
    }

    /// The step function.
    pub fn step(&mut self, event: Event) -> Vec<Effect> {
        match event {
            Event::Written(published) => {
                self.written = Some(published);
                Vec::new()
            }
            Event::Observed(seen) => {
                if seen.live != self.adopted {
                    let before = std::mem::replace(&mut self.adopted, seen.live);
                    self.settled = false;
                    // A membership that keeps changing without settling: everything waits for the settlement.
                    if self.kept.len() >= MAX_KEPT_VIEWS {
                        self.kept.clear();
                    } else if !self.kept.is_empty() {
                        self.kept.push(self.adopted.clone());
                    }
                    return vec![Effect::Adopted {
                        before,
                        after: self.adopted.clone(),
                    }];
                }
                let mine = self.publication();
                let settled = mine.drained
                    && self.adopted.contains(&self.me)
                    && self.written.as_ref() == Some(&mine)
                    && self
                        .adopted
                        .members()
                        .iter()
                        .filter(|m| **m != self.me)
                        .all(|m| seen.published.get(m) == Some(&mine));
                let was = std::mem::replace(&mut self.settled, settled);
                if settled {
                    self.kept = vec![self.adopted.clone()];
                }
                if settled && !was {
                    vec![Effect::Settled {
                        view: self.adopted.clone(),
                        deferred: std::mem::take(&mut self.deferred).into_iter().collect(),
                    }]
                } else {
                    Vec::new()
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn apps(n: usize) -> Vec<(String, String)> {
        (0..n)
            .map(|i| (format!("team-{}", i % 7), format!("app-{i}")))
            .collect()
    }

    #[test]
    fn ownership_is_even_and_a_join_or_leave_moves_only_its_share() {
        let three = View::new(["tack-a", "tack-b", "tack-c"]);
        let four = View::new(["tack-a", "tack-b", "tack-c", "tack-d"]);
        let two = View::new(["tack-a", "tack-c"]);
        let all = apps(3000);
        let mut per = BTreeMap::new();
        let (mut to_d, mut from_b) = (0, 0);
        for (ns, name) in &all {
            let owner = three.owner(ns, name).expect("owner");
            *per.entry(owner).or_insert(0) += 1;
            let joined = four.owner(ns, name).expect("owner");
            // A join moves applications only to the new member.
            assert!(
                joined == owner || joined == "tack-d",
                "{ns}/{name}: {owner} -> {joined}"
            );
            to_d += usize::from(joined == "tack-d");
            // A leave moves only the leaver's applications.
            let left = two.owner(ns, name).expect("owner");
            if owner == "tack-b" {
                from_b += 1;
            } else {
                assert_eq!(left, owner, "{ns}/{name}");
            }
        }
        for (member, n) in &per {
            assert!((850..=1150).contains(n), "{member}: {n} of 3000 ({per:?})");
        }
        assert!(
            (600..=900).contains(&to_d),
            "{to_d} of 3000 moved to the fourth member"
        );
        assert_eq!(from_b, per["tack-b"]);
        assert_eq!(View::default().owner("a", "b"), None);
    }

    #[test]
    fn the_weight_is_fixed_and_views_round_trip() {
        // FNV-1a 64 of "m\na/b" is 0xd3e34d75a95e96e4 and fmix64 of that 0xf56f7809fec561d7, both computed by an
        // independent implementation (Python, from the published offset basis, prime and finalizer constants).
        assert_eq!(weight("m", "a", "b"), 0xf56f_7809_fec5_61d7);
        let v = View::new(["b", "a", "b"]);
        assert_eq!(v.encode(), "a,b");
        assert_eq!(View::decode("a, b,,"), v);
        assert_eq!(View::decode(""), View::default());
    }

    fn lease(name: &str, version: &str, published: Option<Published>) -> MemberLease {
        MemberLease {
            name: format!("lease-{name}"),
            member: name.to_string(),
            version: version.to_string(),
            duration: Duration::from_secs(15),
            renewed_ago: None,
            published,
        }
    }

    #[test]
    fn a_lease_unchanged_for_its_duration_on_our_clock_is_dead() {
        let t0 = Instant::now();
        let mut l = Liveness::default();
        let seen = l.observe(&[lease("a", "1", None), lease("b", "1", None)], t0);
        assert_eq!(seen.live, View::new(["a", "b"]));
        // b renews, a does not.
        let seen = l.observe(
            &[lease("a", "1", None), lease("b", "2", None)],
            t0 + Duration::from_secs(10),
        );
        assert_eq!(seen.live, View::new(["a", "b"]));
        let seen = l.observe(
            &[lease("a", "1", None), lease("b", "2", None)],
            t0 + Duration::from_secs(15),
        );
        assert_eq!(seen.live, View::new(["b"]));
        assert!(seen.stale.is_empty());
        let seen = l.observe(
            &[lease("a", "1", None), lease("b", "3", None)],
            t0 + Duration::from_secs(45),
        );
        assert_eq!(seen.stale, vec![("lease-a".to_string(), "1".to_string())]);
        // A replica coming back with the same name is live again.
        let seen = l.observe(
            &[lease("a", "7", None), lease("b", "3", None)],
            t0 + Duration::from_secs(46),
        );
        assert_eq!(seen.live, View::new(["a", "b"]));
        // Seen for the first time: renewed 20 s ago is dead at once, 5 s ago live; a change revives the first.
        let mut fresh = Liveness::default();
        let at = |version: &str, ago: u64| MemberLease {
            renewed_ago: Some(Duration::from_secs(ago)),
            ..lease(version, version, None)
        };
        let t1 = t0 + Duration::from_secs(100);
        let seen = fresh.observe(&[at("c", 20), at("d", 5)], t1);
        assert_eq!(seen.live, View::new(["d"]));
        let seen = fresh.observe(
            &[
                MemberLease {
                    version: "c2".into(),
                    ..at("c", 20)
                },
                at("d", 5),
            ],
            t1 + Duration::from_secs(1),
        );
        assert_eq!(seen.live, View::new(["c", "d"]));
    }

    fn observed(live: &View, published: &[(&str, &Published)]) -> Event {
        Event::Observed(Observation {
            live: live.clone(),
            published: published
                .iter()
                .map(|(m, p)| (m.to_string(), (*p).clone()))
                .collect(),
            stale: Vec::new(),
        })
    }

    /// An application that `b` owns in [a, b] and `a` owns alone.
    fn moved(ab: &View) -> (String, String) {
        apps(100)
            .into_iter()
            .find(|(ns, n)| ab.owner(ns, n) == Some("b"))
            .expect("some application is b's")
    }

    #[test]
    fn a_joiner_starts_an_application_only_after_its_old_owner_drained_it() {
        let alone = View::new(["a"]);
        let ab = View::new(["a", "b"]);
        let (ns, app) = moved(&ab);
        let mut a = Handover::new("a");
        // a alone: adopts, publishes, settles.
        assert!(matches!(
            a.step(observed(&alone, &[]))[..],
            [Effect::Adopted { .. }]
        ));
        assert_eq!(a.admit(&ns, &app), Admission::Defer);
        a.step(Event::Written(a.publication()));
        let effects = a.step(observed(&alone, &[]));
        assert_eq!(
            effects,
            vec![Effect::Settled {
                view: alone.clone(),
                deferred: vec![(ns.clone(), app.clone())]
            }]
        );
        assert_eq!(a.admit(&ns, &app), Admission::Start);

        // b joins while a reconciles the application.
        let mut b = Handover::new("b");
        b.step(observed(&ab, &[("a", &a.publication())]));
        b.step(Event::Written(b.publication()));
        assert_eq!(b.admit(&ns, &app), Admission::Defer);
        a.step(observed(&ab, &[("b", &b.publication())]));
        // a stops starting it at once, and is not drained while it runs.
        assert!(!a.owns(&ns, &app));
        assert_eq!(a.admit(&ns, &app), Admission::NotOurs);
        assert!(!a.publication().drained);
        a.step(Event::Written(a.publication()));
        assert!(
            b.step(observed(&ab, &[("a", a.written().expect("written"))]))
                .is_empty()
        );
        assert!(!b.is_settled());
        assert_eq!(b.admit(&ns, &app), Admission::Defer);
        // The reconcile ends; a publishes drained; b settles and starts it.
        a.finish(&ns, &app);
        a.step(Event::Written(a.publication()));
        let effects = b.step(observed(&ab, &[("a", a.written().expect("written"))]));
        assert!(
            matches!(&effects[..], [Effect::Settled { deferred, .. }] if deferred.contains(&(ns.clone(), app.clone())))
        );
        assert_eq!(b.admit(&ns, &app), Admission::Start);
    }

    /// Settles `r` in `view`, every other member publishing it drained.
    fn settle(r: &mut Handover, view: &View) {
        r.step(observed(view, &[]));
        r.step(Event::Written(r.publication()));
        let p = r.publication();
        let others: Vec<(&str, &Published)> = view
            .members()
            .iter()
            .filter(|m| **m != r.me)
            .map(|m| (m.as_str(), &p))
            .collect();
        r.step(observed(view, &others));
        assert!(r.is_settled());
    }

    #[test]
    fn applications_that_keep_their_owner_do_not_wait_for_a_handover() {
        let abc = View::new(["a", "b", "c"]);
        let ac = View::new(["a", "c"]);
        let acd = View::new(["a", "c", "d"]);
        let owned = |v: &View| -> BTreeSet<(String, String)> {
            apps(200)
                .into_iter()
                .filter(|(ns, n)| v.owner(ns, n) == Some("a"))
                .collect()
        };
        let mut a = Handover::new("a");
        settle(&mut a, &abc);
        // b dies: a adopts [a, c]; not settled until c publishes it.
        a.step(observed(&ac, &[]));
        assert!(!a.is_settled());
        let (kept, gained) = (owned(&abc), owned(&ac));
        assert!(kept.is_subset(&gained) && kept.len() < gained.len());
        for (ns, n) in &gained {
            let want = if kept.contains(&(ns.clone(), n.clone())) {
                Admission::Start
            } else {
                Admission::Defer
            };
            assert_eq!(a.admit(ns, n), want, "{ns}/{n}");
            a.finish(ns, n);
        }
        // d joins before [a, c] settled: only what a owned in [a, b, c], [a, c] and [a, c, d] still starts.
        a.step(observed(&acd, &[]));
        let through: BTreeSet<_> = kept.intersection(&owned(&acd)).cloned().collect();
        for (ns, n) in owned(&acd) {
            let want = if through.contains(&(ns.clone(), n.clone())) {
                Admission::Start
            } else {
                Admission::Defer
            };
            assert_eq!(a.admit(&ns, &n), want, "{ns}/{n}");
            a.finish(&ns, &n);
        }
        // Once settled in [a, c, d], all of its own start.
        settle(&mut a, &acd);
        for (ns, n) in owned(&acd) {
            assert_eq!(a.admit(&ns, &n), Admission::Start);
        }
        // A replica that never settled waits for everything.
        let mut fresh = Handover::new("a");
        fresh.step(observed(&ac, &[]));
        let (ns, n) = owned(&ac).into_iter().next().expect("one");
        assert_eq!(fresh.admit(&ns, &n), Admission::Defer);
    }

    #[test]
    fn an_unwritten_publication_or_a_member_of_another_view_keeps_a_replica_waiting() {
        let ab = View::new(["a", "b"]);
        let mut a = Handover::new("a");
        a.step(observed(&ab, &[]));
        let ours = a.publication();
        // Not written yet.
        assert!(a.step(observed(&ab, &[("b", &ours)])).is_empty());
        a.step(Event::Written(ours.clone()));
        // b sees another membership.
        let other = Published {
            view: View::new(["a", "b", "c"]),
            drained: true,
        };
        assert!(a.step(observed(&ab, &[("b", &other)])).is_empty());
        assert!(!a.is_settled());
        assert_eq!(a.step(observed(&ab, &[("b", &ours)])).len(), 1);
        assert!(a.is_settled());
        // ... and leaves it as soon as b says otherwise.
        a.step(observed(&ab, &[("b", &other)]));
        assert!(!a.is_settled());
    }

    /// A small deterministic generator (xorshift64*), so that the model check below is reproducible.
    struct Rng(u64);

    impl Rng {
        fn below(&mut self, n: usize) -> usize {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            (self.0.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 33) as usize % n
        }
    }

    /// Replicas joining, leaving cleanly and being killed, with every interleaving of reads, writes, admissions
    /// and ends the generator picks: no application ever runs on two replicas at once, and once membership stops
    /// changing every application can start on its owner.
    #[test]
    fn model_check_no_application_runs_twice() {
        let names = ["a", "b", "c", "d"];
        let apps = apps(40);
        for seed in 1..=200u64 {
            let mut rng = Rng(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1);
            // Replica state, and the Lease store: member -> publication (None: Lease created, nothing yet).
            let mut replicas: BTreeMap<&str, Handover> = BTreeMap::new();
            let mut leases: BTreeMap<&str, Option<Published>> = BTreeMap::new();
            let mut leaving: BTreeSet<&str> = BTreeSet::new();
            for step in 0..3000 {
                let membership_changes = step < 2000;
                match rng.below(if membership_changes { 100 } else { 96 }) {
                    // Join.
                    96..=97 => {
                        let n = names[rng.below(names.len())];
                        if !replicas.contains_key(n) {
                            replicas.insert(n, Handover::new(n));
                            leases.insert(n, None);
                        }
                    }
                    // Killed: its reconciles are dropped and its Lease expires.
                    98 => {
                        let n = names[rng.below(names.len())];
                        replicas.remove(n);
                        leases.remove(n);
                        leaving.remove(n);
                    }
                    // Leaves cleanly: starts nothing more; its Lease goes once its reconciles ended.
                    99 => {
                        let n = names[rng.below(names.len())];
                        if replicas.contains_key(n) {
                            leaving.insert(n);
                        }
                    }
                    // Reads the Leases.
                    0..=29 => {
                        let Some(n) = pick(&mut rng, &replicas) else {
                            continue;
                        };
                        let live = View::new(leases.keys().copied());
                        let published = leases
                            .iter()
                            .filter_map(|(m, p)| Some((m.to_string(), p.clone()?)))
                            .collect();
                        let r = replicas.get_mut(n).expect("picked");
                        r.step(Event::Observed(Observation {
                            live,
                            published,
                            stale: Vec::new(),
                        }));
                    }
                    // Writes its publication.
                    30..=49 => {
                        let Some(n) = pick(&mut rng, &replicas) else {
                            continue;
                        };
                        let r = replicas.get_mut(n).expect("picked");
                        let p = r.publication();
                        leases.insert(n, Some(p.clone()));
                        r.step(Event::Written(p));
                    }
                    // Admits an application.
                    50..=79 => {
                        let Some(n) = pick(&mut rng, &replicas) else {
                            continue;
                        };
                        if leaving.contains(n) {
                            continue;
                        }
                        let (ns, app) = &apps[rng.below(apps.len())];
                        let r = replicas.get_mut(n).expect("picked");
                        if r.admit(ns, app) == Admission::Start {
                            let running: Vec<&str> = replicas
                                .iter()
                                .filter(|(m, h)| **m != n && h.in_flight.contains(&(ns.clone(), app.clone())))
                                .map(|(m, _)| *m)
                                .collect();
                            assert!(
                                running.is_empty(),
                                "seed {seed} step {step}: {ns}/{app} started on {n} while running on {running:?}"
                            );
                        }
                    }
                    // Ends a reconcile.
                    _ => {
                        let Some(n) = pick(&mut rng, &replicas) else {
                            continue;
                        };
                        let r = replicas.get_mut(n).expect("picked");
                        if let Some((ns, app)) = r.in_flight.iter().next().cloned() {
                            r.finish(&ns, &app);
                        }
                        if leaving.contains(n) && r.in_flight.is_empty() {
                            replicas.remove(n);
                            leases.remove(n);
                            leaving.remove(n);
                        }
                    }
                }
            }
            // Quiet: everyone reads and writes a few rounds; then each application starts on its owner.
            for _ in 0..3 {
                for r in replicas.values_mut() {
                    let in_flight: Vec<_> = r.in_flight.iter().cloned().collect();
                    for (ns, app) in in_flight {
                        r.finish(&ns, &app);
                    }
                }
                let names: Vec<&str> = replicas.keys().copied().collect();
                for n in &names {
                    let r = replicas.get_mut(n).expect("present");
                    let live = View::new(leases.keys().copied());
                    let published = leases
                        .iter()
                        .filter_map(|(m, p)| Some((m.to_string(), p.clone()?)))
                        .collect();
                    r.step(Event::Observed(Observation {
                        live,
                        published,
                        stale: Vec::new(),
                    }));
                    let p = r.publication();
                    leases.insert(n, Some(p.clone()));
                    r.step(Event::Written(p));
                }
            }
            if replicas.is_empty() || !leaving.is_empty() {
                continue;
            }
            for (ns, app) in &apps {
                let started: Vec<&str> = replicas
                    .iter_mut()
                    .filter_map(|(m, r)| (r.admit(ns, app) == Admission::Start).then_some(*m))
                    .collect();
                assert_eq!(started.len(), 1, "seed {seed}: {ns}/{app} started on {started:?}");
            }
        }
    }

    fn pick<'a>(rng: &mut Rng, replicas: &BTreeMap<&'a str, Handover>) -> Option<&'a str> {
        if replicas.is_empty() {
            return None;
        }
        replicas.keys().nth(rng.below(replicas.len())).copied()
    }
}

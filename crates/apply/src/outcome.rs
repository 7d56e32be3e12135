//! The per-object outcome of a sync, as it is collected: every object is counted by what happened to it; the
//! objects themselves are kept one by one ([`Detail::Every`], what `tack sync` prints) or only as a bounded
//! sample of those that changed ([`Detail::Sample`], what a controller shows), so that a sync of a large
//! application that changed little holds little per object.

use tack_plan::ObjectId;

use crate::sync::{Action, ObjectResult};

/// How many results [`Detail::Sample`] keeps.
pub const SAMPLE: usize = 100;

/// How much per-object detail a [`crate::SyncReport`] keeps.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Detail {
    /// One [`ObjectResult`] per object, unchanged ones included (what `tack sync` prints).
    #[default]
    Every,
    /// The counts of every action, and results only for the first [`SAMPLE`] objects that were created,
    /// configured, pruned or left alone after leaving Git; the objects in Git are kept as their id and
    /// `apiVersion` alone ([`crate::SyncReport::take_objects`]).
    Sample,
}

/// How many objects ended with each [`Action`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counts([usize; Action::ALL.len()]);

impl Counts {
    /// How many objects ended with `action`.
    pub fn get(&self, action: Action) -> usize {
        self.0[action.index()]
    }

    /// How many objects were counted in all.
    pub fn total(&self) -> usize {
        self.0.iter().sum()
    }

    fn add(&mut self, action: Action) {
        self.0[action.index()] += 1;
    }
}

/// The results of a sync while it runs (see the module documentation).
#[derive(Debug, Default)]
pub(crate) struct Outcome {
    detail: Detail,
    /// Every result ([`Detail::Every`]) or the sample ([`Detail::Sample`]).
    pub results: Vec<ObjectResult>,
    pub counts: Counts,
    /// [`Detail::Sample`]: the id and `apiVersion` of every object in Git (created, configured or unchanged).
    pub objects: Vec<(ObjectId, String)>,
}

impl Outcome {
    pub fn new(detail: Detail) -> Outcome {
        Outcome {
            detail,
            ..Outcome::default()
        }
    }

    /// Counts `result`, and keeps it as the detail says.
    pub fn push(&mut self, result: ObjectResult) {
        self.counts.add(result.action);
        if self.detail == Detail::Every {
            self.results.push(result);
            return;
        }
        let in_git = matches!(
            result.action,
            Action::Created | Action::Configured | Action::Unchanged
        );
        let sampled = result.action != Action::Unchanged && self.results.len() < SAMPLE;
        match (in_git, sampled) {
            (true, true) => {
                self.objects.push((result.id.clone(), result.api_version.clone()));
                self.results.push(result);
            }
            (true, false) => self.objects.push((result.id, result.api_version)),
            (false, true) => self.results.push(result),
            (false, false) => {}
        }
    }

    pub fn extend(&mut self, results: impl IntoIterator<Item = ObjectResult>) {
        for r in results {
            self.push(r);
        }
    }

    /// How many objects were created or configured.
    pub fn applied(&self) -> usize {
        self.counts.get(Action::Created) + self.counts.get(Action::Configured)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn result(i: usize, action: Action) -> ObjectResult {
        ObjectResult {
            id: ObjectId::new("", "ConfigMap", "ns", &format!("cm-{i}")),
            api_version: "v1".into(),
            origin: None,
            action,
        }
    }

    fn outcome(detail: Detail) -> Outcome {
        let mut o = Outcome::new(detail);
        // 20 000 objects: 10 configured, 150 created, the rest unchanged; then 300 pruned and 2 kept.
        for i in 0..20_000 {
            let action = match i {
                0..10 => Action::Configured,
                10..160 => Action::Created,
                _ => Action::Unchanged,
            };
            o.push(result(i, action));
        }
        o.extend((20_000..20_300).map(|i| result(i, Action::Pruned)));
        o.extend((20_300..20_302).map(|i| result(i, Action::Kept)));
        o
    }

    #[test]
    fn a_sample_keeps_counts_and_a_bounded_number_of_results() {
        let o = outcome(Detail::Sample);
        assert_eq!(o.counts.get(Action::Configured), 10);
        assert_eq!(o.counts.get(Action::Created), 150);
        assert_eq!(o.counts.get(Action::Unchanged), 19_840);
        assert_eq!(o.counts.get(Action::Pruned), 300);
        assert_eq!(o.counts.get(Action::Kept), 2);
        assert_eq!(o.counts.total(), 20_302);
        assert_eq!(o.applied(), 160);
        // Not one result per object: the first objects that changed, up to the bound.
        assert_eq!(o.results.len(), SAMPLE);
        assert!(o.results.iter().all(|r| r.action != Action::Unchanged));
        assert_eq!(o.results[0].id.name, "cm-0");
        // The objects in Git are all there for their health, without their origin or action.
        assert_eq!(o.objects.len(), 20_000);
        assert_eq!(o.objects[12_345].0.name, "cm-12345");
        assert_eq!(o.objects[12_345].1, "v1");
    }

    #[test]
    fn each_action_has_its_own_count() {
        let mut counts = Counts::default();
        for (i, action) in Action::ALL.into_iter().enumerate() {
            assert_eq!(action.index(), i);
            for _ in 0..=i {
                counts.add(action);
            }
        }
        for (i, action) in Action::ALL.into_iter().enumerate() {
            assert_eq!(counts.get(action), i + 1, "{action:?}");
        }
    }

    #[test]
    fn every_result_is_kept_when_asked() {
        let o = outcome(Detail::Every);
        assert_eq!(o.results.len(), 20_302);
        assert_eq!(o.counts.get(Action::Unchanged), 19_840);
        assert!(o.objects.is_empty(), "the results hold them");
    }
}

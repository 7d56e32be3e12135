//! Resolutions of a branch or tag shared by the applications of one repository.
//!
//! Many applications of one monorepo follow the same branch. Each reconcile must see a commit at least as new as
//! the branch was when the reconcile began, but it need not ask the Git server itself: a fetch that *started*
//! after it began answers it as well. Callers of one key (repository, revision, credentials) wait for each other;
//! the first one after the last fetch fetches, and everyone who was already waiting when that fetch started takes
//! its commit. A push that reconciles 1 000 applications of one repository then costs a few fetches, not 1 000
//! fetches one after the other behind the mirror's lock. Keys are never shared across credentials (namespace and
//! Secret name), so an application never learns a commit through another one's access.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// Resolutions older than this are forgotten when the table is tidied.
const KEEP: Duration = Duration::from_secs(600);

/// The table is tidied when it holds more keys than this.
const TIDY_ABOVE: usize = 256;

/// What a resolution is shared by: repository URL, revision as written, and the credentials used
/// (`namespace/secret`, empty without).
pub(crate) type Key = (String, String, String);

#[derive(Clone, Debug)]
struct Resolved {
    commit: String,
    started: Instant,
}

type Slot = Arc<Mutex<Option<Resolved>>>;

/// The latest resolution per key.
#[derive(Default)]
pub(crate) struct Resolutions {
    slots: Mutex<HashMap<Key, Slot>>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Resolutions {
    /// The commit of `key` as of `asked` or later: from a fetch of the same key that started at or after `asked`,
    /// or from `fetch` (called with the key's lock held, so concurrent callers share its answer). Blocking: call
    /// it on the blocking pool. A failed fetch is not shared; the next caller tries again.
    pub(crate) fn resolve<E>(
        &self,
        key: Key,
        asked: Instant,
        fetch: impl FnOnce() -> Result<String, E>,
    ) -> Result<String, E> {
        let slot = {
            let mut slots = lock(&self.slots);
            if slots.len() > TIDY_ABOVE {
                tidy(&mut slots, Instant::now());
            }
            slots.entry(key).or_default().clone()
        };
        let mut latest = lock(&slot);
        if let Some(r) = latest.as_ref().filter(|r| r.started >= asked) {
            return Ok(r.commit.clone());
        }
        let started = Instant::now();
        let commit = fetch()?;
        *latest = Some(Resolved {
            commit: commit.clone(),
            started,
        });
        Ok(commit)
    }
}

/// Forgets resolutions older than [`KEEP`] that nobody is waiting on.
fn tidy(slots: &mut HashMap<Key, Slot>, now: Instant) {
    slots.retain(|_, slot| {
        Arc::strong_count(slot) > 1
            || slot.try_lock().map_or(true, |r| {
                r.as_ref().is_some_and(|r| now.duration_since(r.started) < KEEP)
            })
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    fn key(revision: &str) -> Key {
        (
            "https://git.example/mono.git".into(),
            revision.into(),
            String::new(),
        )
    }

    #[test]
    fn a_fetch_started_after_the_question_answers_it() {
        let r = Resolutions::default();
        let asked = Instant::now();
        let first: Result<String, ()> = r.resolve(key("main"), asked, || Ok("c1".into()));
        assert_eq!(first, Ok("c1".into()));
        // Asked before that fetch started: served without fetching.
        let shared: Result<String, ()> = r.resolve(key("main"), asked, || panic!("fetched again"));
        assert_eq!(shared, Ok("c1".into()));
        // Asked after it: fetches (the branch may have moved since).
        let later = Instant::now() + Duration::from_millis(1);
        std::thread::sleep(Duration::from_millis(2));
        let again: Result<String, ()> = r.resolve(key("main"), later, || Ok("c2".into()));
        assert_eq!(again, Ok("c2".into()));
        // Another revision or other credentials never share.
        let other: Result<String, ()> = r.resolve(key("release"), asked, || Ok("r1".into()));
        assert_eq!(other, Ok("r1".into()));
        let mut with_secret = key("main");
        with_secret.2 = "team-a/git".into();
        let private: Result<String, ()> = r.resolve(with_secret, asked, || Ok("p1".into()));
        assert_eq!(private, Ok("p1".into()));
    }

    #[test]
    fn concurrent_callers_share_one_fetch_and_failures_are_not_kept() {
        let r = Arc::new(Resolutions::default());
        let fetches = Arc::new(AtomicUsize::new(0));
        let asked = Instant::now();
        let callers: Vec<_> = (0..16)
            .map(|_| {
                let (r, fetches) = (r.clone(), fetches.clone());
                std::thread::spawn(move || {
                    r.resolve(key("main"), asked, || -> Result<String, ()> {
                        fetches.fetch_add(1, Ordering::SeqCst);
                        std::thread::sleep(Duration::from_millis(50));
                        Ok("c1".into())
                    })
                })
            })
            .collect();
        for c in callers {
            assert_eq!(c.join().expect("caller"), Ok("c1".into()));
        }
        assert_eq!(fetches.load(Ordering::SeqCst), 1);

        let failed: Result<String, &str> = r.resolve(key("dev"), asked, || Err("unreachable"));
        assert_eq!(failed, Err("unreachable"));
        let retried: Result<String, &str> = r.resolve(key("dev"), asked, || Ok("d1".into()));
        assert_eq!(retried, Ok("d1".into()));
    }

    #[test]
    fn old_resolutions_are_tidied() {
        let mut slots: HashMap<Key, Slot> = HashMap::new();
        let start = Instant::now();
        slots.insert(
            key("main"),
            Arc::new(Mutex::new(Some(Resolved {
                commit: "c1".into(),
                started: start,
            }))),
        );
        tidy(&mut slots, start + Duration::from_secs(1));
        assert_eq!(slots.len(), 1);
        tidy(&mut slots, start + KEEP + Duration::from_secs(1));
        assert!(slots.is_empty());
    }
}

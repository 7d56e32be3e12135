//! The independent work of one render spread over the machine's cores. Chart values are reference-counted and
//! stay on the rendering thread; what moves to other threads is bytes and text: subchart archives are inflated
//! side by side, the templates are parsed while the values are coalesced, and rendered documents are read
//! (kind, name, hook annotations) while the next templates execute.

use std::sync::OnceLock;
use std::thread;

/// The most threads one render uses.
const MAX_WORKERS: usize = 4;

/// How many threads the work of one render may use: the machine's cores, at most [`MAX_WORKERS`].
pub(crate) fn workers() -> usize {
    static WORKERS: OnceLock<usize> = OnceLock::new();
    *WORKERS.get_or_init(|| {
        thread::available_parallelism()
            .map_or(1, |n| n.get())
            .min(MAX_WORKERS)
    })
}

/// `items.iter().map(f)` with the items dealt round-robin to up to [`workers`] threads (the calling thread is
/// one of them); the results come back in item order. A panic in `f` is resumed on the calling thread.
pub(crate) fn map<T: Sync, R: Send>(items: &[T], f: impl Fn(&T) -> R + Sync) -> Vec<R> {
    let lanes = workers().min(items.len());
    if lanes <= 1 {
        return items.iter().map(f).collect();
    }
    let f = &f;
    let lane = move |k: usize| items.iter().skip(k).step_by(lanes).map(f).collect::<Vec<R>>();
    let results: Vec<Vec<R>> = thread::scope(|s| {
        let others: Vec<_> = (1..lanes).map(|k| s.spawn(move || lane(k))).collect();
        let mut all = vec![lane(0)];
        for h in others {
            all.push(h.join().unwrap_or_else(|p| std::panic::resume_unwind(p)));
        }
        all
    });
    let mut lanes_iter: Vec<_> = results.into_iter().map(Vec::into_iter).collect();
    let mut out = Vec::with_capacity(items.len());
    for i in 0..items.len() {
        if let Some(r) = lanes_iter[i % lanes].next() {
            out.push(r);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn results_keep_the_order_of_the_items() {
        let items: Vec<u64> = (0..1000).collect();
        let out = map(&items, |i| i * i);
        assert_eq!(out, items.iter().map(|i| i * i).collect::<Vec<_>>());
        assert_eq!(map(&[] as &[u64], |i| *i), Vec::<u64>::new());
        assert_eq!(map(&[7u64], |i| i + 1), vec![8]);
    }

    #[test]
    fn a_panic_reaches_the_caller() {
        let items: Vec<u64> = (0..64).collect();
        let caught = std::panic::catch_unwind(|| map(&items, |i| if *i == 63 { panic!("boom") } else { *i }));
        assert!(caught.is_err());
    }
}

//! go-jsonnet's bound on the nesting its manifest functions (`std.manifestYamlDoc`, `std.manifestTomlEx`, ...)
//! follow: the evaluation's stack limit (`--max-stack`, 500 by default). A cyclic value (`{a: $}`) is refused with
//! `max manifest depth exceeded, possible infinite recursion` instead of being written forever.

use std::cell::Cell;

use jrsonnet_evaluator::error::ErrorKind;

thread_local! {
    static LIMIT: Cell<usize> = const { Cell::new(500) };
    static DEPTH: Cell<usize> = const { Cell::new(0) };
}

/// Sets the limit for the evaluations of this thread.
pub(crate) fn set_limit(limit: usize) {
    LIMIT.with(|l| l.set(limit));
}

/// One level deeper while the guard lives; an error past the limit.
pub(crate) fn enter() -> jrsonnet_evaluator::Result<Guard> {
    let depth = DEPTH.with(|d| {
        let depth = d.get() + 1;
        d.set(depth);
        depth
    });
    let guard = Guard;
    if depth > LIMIT.with(Cell::get) {
        return Err(ErrorKind::RuntimeError(
            "max manifest depth exceeded, possible infinite recursion".into(),
        )
        .into());
    }
    Ok(guard)
}

/// Leaves the level on drop.
pub(crate) struct Guard;

impl Drop for Guard {
    fn drop(&mut self) {
        DEPTH.with(|d| d.set(d.get().saturating_sub(1)));
    }
}

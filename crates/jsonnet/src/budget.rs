//! Runs an evaluation on its own thread and gives up when its time budget is spent.
//!
//! The evaluator cannot be interrupted: a run past its budget is abandoned (its thread finishes on its own,
//! and its result is dropped).

use std::sync::mpsc;

use crate::{Engine, Error, EvalOptions, Input};

/// Stack of the evaluation thread: the evaluator keeps its own stack, the native one only needs headroom.
const THREAD_STACK: usize = 16 * 1024 * 1024;

pub(crate) fn run_with_budget<E: Engine + Send + 'static>(
    engine: E,
    input: Input,
    options: EvalOptions,
) -> Result<serde_json::Value, Error> {
    let (tx, rx) = mpsc::channel();
    let name = input.name();
    let budget = options.timeout;
    std::thread::Builder::new()
        .name("jsonnet".into())
        .stack_size(THREAD_STACK)
        .spawn(move || {
            let result = engine.evaluate(&input, &options);
            let _ = tx.send(result);
        })
        .map_err(|e| Error::Thread(e.to_string()))?;
    match rx.recv_timeout(budget) {
        Ok(result) => result,
        Err(mpsc::RecvTimeoutError::Timeout) => Err(Error::Timeout { input: name, budget }),
        Err(mpsc::RecvTimeoutError::Disconnected) => Err(Error::Thread("the evaluator panicked".into())),
    }
}

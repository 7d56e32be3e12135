//! Runs evaluations on their own thread and gives up when their time budget is spent.
//!
//! The evaluator cannot be interrupted: a run past its budget is abandoned (its thread finishes on its own,
//! and its result is dropped). A run within its budget is joined before the call returns.

use std::sync::mpsc;

use crate::{Engine, Error, EvalOptions, Input};

/// Stack of the evaluation thread: the evaluator keeps its own stack, the native one only needs headroom.
const THREAD_STACK: usize = 16 * 1024 * 1024;

pub(crate) fn run_with_budget<E: Engine + Send + 'static>(
    engine: E,
    input: Input,
    options: EvalOptions,
) -> Result<serde_json::Value, Error> {
    let mut values = run_all_with_budget(engine, vec![input], options)?;
    values
        .pop()
        .ok_or_else(|| Error::Thread("the evaluator returned nothing".into()))
}

/// Evaluates `inputs` in one evaluator on one thread; the budget is `options.timeout` per input.
pub(crate) fn run_all_with_budget<E: Engine + Send + 'static>(
    engine: E,
    inputs: Vec<Input>,
    options: EvalOptions,
) -> Result<Vec<serde_json::Value>, Error> {
    let (tx, rx) = mpsc::channel();
    let name = match inputs.as_slice() {
        [one] => one.name(),
        [first, rest @ ..] => format!("{} and {} more files", first.name(), rest.len()),
        [] => return Ok(Vec::new()),
    };
    let count = u32::try_from(inputs.len()).unwrap_or(u32::MAX);
    let budget = options.timeout.saturating_mul(count);
    let thread = std::thread::Builder::new()
        .name("jsonnet".into())
        .stack_size(THREAD_STACK)
        .spawn(move || {
            let result = engine.evaluate_all(&inputs, &options);
            let _ = tx.send(result);
        })
        .map_err(|e| Error::Thread(e.to_string()))?;
    match rx.recv_timeout(budget) {
        Ok(result) => {
            // The thread has sent its result and is ending: wait for it, so that nothing of it outlives the call.
            let _ = thread.join();
            result
        }
        Err(mpsc::RecvTimeoutError::Timeout) => Err(Error::Timeout { input: name, budget }),
        Err(mpsc::RecvTimeoutError::Disconnected) => {
            let _ = thread.join();
            Err(Error::Thread("the evaluator panicked".into()))
        }
    }
}

//! `GET /api/v1/watch`: server-sent events pushed from the API's own watches (not by polling the API server per
//! browser). Each event is one [`Change`] as JSON (`event: change`); `kind: resync` asks the page to reload its
//! list. A caller receives changes only of namespaces where it may list that kind.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::State;
use axum::response::sse::{Event, KeepAlive, Sse};
use futures::Stream;
use tokio::sync::broadcast;

use crate::auth::{Access, Caller};
use crate::store::Change;
use crate::{ApiError, ApiState};

/// The stream of changes the caller may see.
pub async fn watch(
    State(state): State<Arc<ApiState>>,
    caller: Caller,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, ApiError> {
    let receiver = state.stores.subscribe();
    let stream = futures::stream::unfold(
        (state, caller, receiver),
        |(state, caller, mut receiver)| async move {
            loop {
                let change = match receiver.recv().await {
                    Ok(c) => c,
                    // Too slow a reader: tell it to reload instead of dropping changes silently.
                    Err(broadcast::error::RecvError::Lagged(_)) => Change {
                        kind: "resync",
                        namespace: String::new(),
                        name: String::new(),
                        deleted: false,
                    },
                    Err(broadcast::error::RecvError::Closed) => return None,
                };
                if visible(&state, &caller, &change).await {
                    let event = Event::default()
                        .event("change")
                        .json_data(&change)
                        .unwrap_or_else(|_| Event::default().event("change"));
                    return Some((Ok(event), (state, caller, receiver)));
                }
            }
        },
    );
    Ok(Sse::new(stream).keep_alive(KeepAlive::new().interval(Duration::from_secs(15))))
}

/// Whether the caller may list the kind of `change` in its namespace.
async fn visible(state: &ApiState, caller: &Caller, change: &Change) -> bool {
    let (group, resource) = match change.kind {
        "application" => ("gitops.tack.dev", "gitopsconfigs"),
        "rollout" => ("argoproj.io", "rollouts"),
        _ => return true,
    };
    let access = Access {
        verb: "list",
        group,
        resource,
        namespace: Some(&change.namespace),
        name: None,
    };
    state.auth.allowed(caller, &access).await.unwrap_or(false)
}

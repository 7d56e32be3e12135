//! Sending a [`Request`]: up to [`ATTEMPTS`] attempts with exponential backoff after a 5xx answer, a 429 or a
//! connection error; none after another 4xx. Each attempt is bounded by [`TIMEOUT`]. Errors name the status or
//! the kind of failure, never the URL or headers (they may hold Secret values).

use std::time::Duration;

use crate::message::Request;

/// Attempts per notification.
pub const ATTEMPTS: u32 = 3;
/// Time limit of one attempt.
pub const TIMEOUT: Duration = Duration::from_secs(10);

/// Why a notification was not delivered.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SendError {
    /// The receiver answered with an error status.
    #[error("the receiver answered {status} after {attempts} attempt(s)")]
    Status {
        /// The last status.
        status: u16,
        /// Attempts made.
        attempts: u32,
    },
    /// No answer.
    #[error("{reason} after {attempts} attempt(s)")]
    Transport {
        /// What failed (connect, timeout, …).
        reason: String,
        /// Attempts made.
        attempts: u32,
    },
}

/// Delivers requests.
#[derive(Clone)]
pub struct Sender {
    client: reqwest::Client,
    backoff: Duration,
}

impl Sender {
    /// A sender with `backoff` before the second attempt (doubled before each next one).
    pub fn new(backoff: Duration) -> Self {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let client = reqwest::Client::builder()
            .timeout(TIMEOUT)
            .user_agent("tack-notifications")
            .build()
            .unwrap_or_default();
        Sender { client, backoff }
    }

    /// Sends `request`, retrying as the module says.
    pub async fn send(&self, request: &Request) -> Result<(), SendError> {
        let mut delay = self.backoff;
        let mut attempt = 1;
        loop {
            let outcome = self.attempt(request).await;
            let retry = match &outcome {
                Ok(()) => return Ok(()),
                Err(SendError::Status { status, .. }) => *status >= 500 || *status == 429,
                Err(SendError::Transport { .. }) => true,
            };
            if !retry || attempt >= ATTEMPTS {
                return outcome.map_err(|e| with_attempts(e, attempt));
            }
            tokio::time::sleep(delay).await;
            delay *= 2;
            attempt += 1;
        }
    }

    async fn attempt(&self, request: &Request) -> Result<(), SendError> {
        let method = reqwest::Method::from_bytes(request.method.as_bytes()).unwrap_or(reqwest::Method::POST);
        let mut builder = self
            .client
            .request(method, &request.url)
            .body(request.body.clone());
        for (k, v) in &request.headers {
            builder = builder.header(k, v);
        }
        match builder.send().await {
            Ok(response) if response.status().is_success() => Ok(()),
            Ok(response) => Err(SendError::Status {
                status: response.status().as_u16(),
                attempts: 1,
            }),
            Err(e) => Err(SendError::Transport {
                reason: transport_reason(&e),
                attempts: 1,
            }),
        }
    }
}

fn with_attempts(e: SendError, attempts: u32) -> SendError {
    match e {
        SendError::Status { status, .. } => SendError::Status { status, attempts },
        SendError::Transport { reason, .. } => SendError::Transport { reason, attempts },
    }
}

/// What failed, without the URL reqwest's errors carry.
fn transport_reason(e: &reqwest::Error) -> String {
    if e.is_timeout() {
        format!("no answer within {} s", TIMEOUT.as_secs())
    } else if e.is_connect() {
        "cannot connect to the receiver".into()
    } else if e.is_builder() {
        "the URL or a header is not valid".into()
    } else {
        "the request failed".into()
    }
}

//! Retrying Pulp requests, on the rules and backoff loop of `wheelgate-http`.
//!
//! Only what can recover is retried: overload answers (429/502/503/504) and broken connections
//! of requests that may be sent twice. A refused connection or an unknown host is retried only
//! once this server has answered (on first contact it means Pulp is not running there, and
//! waiting would only delay saying so); TLS failures never. The first retry of a request is
//! logged as a warning saying what it waits for; later ones at debug level.
//! Pulp-specific on top: a request refused while using the session is sent again at once with
//! the credentials themselves.

use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use reqwest::Method;
use wheelgate_http::{classify_status, classify_transport, Attempt, RetryDecision, RetryPolicy};

use super::request::Idempotency;
use super::Transport;
use crate::error::{ClientError, Result};

/// A failed attempt: the error and, for 429/503, how long the server asked us to wait.
#[derive(Debug)]
pub struct AttemptError {
    /// The error.
    pub error: ClientError,
    /// The server's `Retry-After`, if any.
    pub retry_after: Option<Duration>,
    /// The server refused the session: send again at once with the credentials themselves.
    pub reauth: bool,
}

impl AttemptError {
    /// An error that is never retried.
    pub fn fatal(error: ClientError) -> Self {
        Self {
            error,
            retry_after: None,
            reauth: false,
        }
    }
}

impl From<ClientError> for AttemptError {
    fn from(error: ClientError) -> Self {
        Self::fatal(error)
    }
}

/// Whether a failed Pulp request is worth another attempt.
fn decide(error: &ClientError, idempotency: Idempotency, reached_before: bool) -> RetryDecision {
    match error {
        ClientError::Http { status, .. } => classify_status(*status, idempotency),
        ClientError::Transport { source, .. } => {
            classify_transport(&source.failure, idempotency, reached_before)
        }
        _ => RetryDecision::Fail,
    }
}

/// What the retry loop waits for, in words.
fn waiting_for(error: &ClientError) -> String {
    match error {
        ClientError::Http { status, .. } => format!("Pulp answered {status}"),
        ClientError::Transport { source, .. } => source.failure.to_string(),
        other => other.to_string(),
    }
}

fn error_url(error: &ClientError) -> &str {
    match error {
        ClientError::Http { url, .. } | ClientError::Transport { url, .. } => url,
        _ => "",
    }
}

impl Transport {
    /// The backoff bounds of this client.
    fn retry_policy(&self) -> RetryPolicy {
        let r = &self.config.retry;
        RetryPolicy {
            initial_interval: r.initial_interval,
            max_interval: r.max_interval,
            max_elapsed: r.max_elapsed,
        }
    }

    /// Run `attempt` with the configured backoff, retrying what can recover (see the module
    /// docs). `attempt` must rebuild its request each time.
    pub(crate) async fn with_retry<T, F, Fut>(
        &self,
        idempotency: Idempotency,
        method: &Method,
        attempt: F,
    ) -> Result<T>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = std::result::Result<T, AttemptError>>,
    {
        let policy = self.retry_policy();
        let attempt = Mutex::new(attempt);
        let reauthenticated = AtomicBool::new(false);
        let warned = AtomicBool::new(false);
        let next = || {
            // The lock is only held while the attempt's future is made, never across an await.
            let fut = match attempt.lock() {
                Ok(mut f) => f(),
                Err(poisoned) => (poisoned.into_inner())(),
            };
            fut
        };
        wheelgate_http::with_retry(&policy, method.as_str(), || async {
            let mut failed = next().await;
            if let Err(e) = &failed {
                if e.reauth && !reauthenticated.swap(true, Ordering::Relaxed) {
                    // Refused before doing anything: safe to send again with the password.
                    tracing::debug!(%method, "session refused; sending again with basic auth");
                    failed = next().await;
                }
            }
            let e = match failed {
                Ok(v) => return Ok(v),
                Err(e) => e,
            };
            let reached = self.reached.load(Ordering::Relaxed);
            let decision = decide(&e.error, idempotency, reached);
            if decision == RetryDecision::Retry && !warned.swap(true, Ordering::Relaxed) {
                tracing::warn!(
                    "{}; retrying {method} {} for up to {} s",
                    waiting_for(&e.error),
                    error_url(&e.error),
                    policy.max_elapsed.as_secs()
                );
            }
            Err(Attempt {
                error: e.error,
                decision,
                retry_after: e.retry_after,
            })
        })
        .await
    }
}

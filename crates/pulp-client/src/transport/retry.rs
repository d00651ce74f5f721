//! What is worth retrying, and the retry loop.
//!
//! Only what can recover is retried: overload answers (429/502/503/504) and broken
//! connections of requests that may be sent twice, for up to [`RetryConfig::max_elapsed`];
//! a server that cannot be reached at all (connection refused, no route, DNS, connect timeout)
//! only for the short [`RetryConfig::unreachable_max_elapsed`], because a stopped Pulp does not
//! come back while a command waits. TLS failures and every other answer fail at once.

use std::future::Future;
use std::time::{Duration, Instant};

use backoff::backoff::Backoff;
use backoff::ExponentialBackoff;
use reqwest::{Method, StatusCode};

use super::request::Idempotency;
use super::Transport;
use crate::config::RetryConfig;
use crate::error::{ClientError, Result};

/// What a failed attempt means for retrying.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RetryDecision {
    /// Try again after a backoff delay, within the general retry budget.
    Retry,
    /// Try again only within the short budget for an unreachable server.
    RetryBriefly,
    /// Give up and return the error.
    Fail,
}

/// Decide whether an HTTP status is worth retrying.
pub fn classify_status(status: StatusCode, idempotency: Idempotency) -> RetryDecision {
    let transient = matches!(
        status,
        StatusCode::TOO_MANY_REQUESTS
            | StatusCode::BAD_GATEWAY
            | StatusCode::SERVICE_UNAVAILABLE
            | StatusCode::GATEWAY_TIMEOUT
    );
    if transient && idempotency == Idempotency::Idempotent {
        RetryDecision::Retry
    } else {
        RetryDecision::Fail
    }
}

/// The kinds of transport failure that matter for retrying.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TransportFailure {
    /// The connection could not be established (refused, unreachable, DNS, connect timeout):
    /// the request never reached the server.
    Connect,
    /// The TLS handshake failed (untrusted or invalid certificate, protocol mismatch): sending
    /// again gives the same answer.
    Tls,
    /// The request timed out, or the connection broke after it was sent.
    AfterSend,
    /// Anything else (a body that could not be built, a redirect loop, ...).
    Other,
}

impl TransportFailure {
    /// Sort a reqwest error.
    pub fn of(err: &reqwest::Error) -> Self {
        if err.is_connect() {
            if super::http::is_tls_failure(err) {
                Self::Tls
            } else {
                Self::Connect
            }
        } else if err.is_timeout() || err.is_request() || err.is_body() {
            Self::AfterSend
        } else {
            Self::Other
        }
    }
}

/// Decide whether a transport failure is worth retrying.
pub fn classify_transport(failure: TransportFailure, idempotency: Idempotency) -> RetryDecision {
    match failure {
        TransportFailure::Connect => RetryDecision::RetryBriefly,
        TransportFailure::AfterSend if idempotency == Idempotency::Idempotent => {
            RetryDecision::Retry
        }
        _ => RetryDecision::Fail,
    }
}

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

fn decide(error: &ClientError, idempotency: Idempotency) -> RetryDecision {
    match error {
        ClientError::Http { status, .. } => classify_status(*status, idempotency),
        ClientError::Transport { source, .. } => {
            classify_transport(TransportFailure::of(source), idempotency)
        }
        _ => RetryDecision::Fail,
    }
}

/// What the retry loop waits for, in words (for the one warning per request).
fn waiting_for(error: &ClientError) -> String {
    match error {
        ClientError::Http { status, .. } => format!("Pulp answered {status}"),
        ClientError::Transport { source, .. } => super::http::describe(source),
        other => other.to_string(),
    }
}

impl Transport {
    /// Run `attempt` with the configured backoff, retrying per the classification rules.
    /// The first retry of a request is logged as a warning (what it waits for, how long at
    /// most), later ones at debug level. `attempt` must rebuild its request each time.
    pub(crate) async fn with_retry<T, F, Fut>(
        &self,
        idempotency: Idempotency,
        method: &Method,
        mut attempt: F,
    ) -> Result<T>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = std::result::Result<T, AttemptError>>,
    {
        let r: &RetryConfig = &self.config.retry;
        let mut policy = ExponentialBackoff {
            initial_interval: r.initial_interval,
            max_interval: r.max_interval,
            max_elapsed_time: None,
            ..ExponentialBackoff::default()
        };
        policy.reset();
        let start = Instant::now();
        let mut attempts = 0u32;
        let mut reauthenticated = false;
        loop {
            attempts += 1;
            let AttemptError {
                error,
                retry_after,
                reauth,
            } = match attempt().await {
                Ok(v) => return Ok(v),
                Err(e) => e,
            };
            if reauth && !reauthenticated {
                // Refused before doing anything: safe to send again with the password.
                reauthenticated = true;
                tracing::debug!(%method, "session refused; sending again with basic auth");
                continue;
            }
            let budget = match decide(&error, idempotency) {
                RetryDecision::Fail => return Err(error),
                RetryDecision::Retry => r.max_elapsed,
                RetryDecision::RetryBriefly => r.unreachable_max_elapsed,
            };
            let Some(mut delay) = policy.next_backoff() else {
                return Err(error);
            };
            if let Some(ra) = retry_after {
                delay = delay.max(ra.min(r.max_interval * 4));
            }
            let elapsed = start.elapsed();
            if elapsed + delay > budget {
                tracing::debug!(%method, attempts, elapsed_ms = elapsed.as_millis() as u64, "giving up after retries");
                return Err(error);
            }
            if attempts == 1 {
                tracing::warn!(
                    "{}; retrying {method} {} for up to {} s",
                    waiting_for(&error),
                    error_url(&error),
                    budget.as_secs()
                );
            } else {
                tracing::debug!(%method, attempt = attempts, delay_ms = delay.as_millis() as u64, error = %error, "retrying");
            }
            tokio::time::sleep(delay).await;
        }
    }
}

fn error_url(error: &ClientError) -> &str {
    match error {
        ClientError::Http { url, .. } | ClientError::Transport { url, .. } => url,
        _ => "",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_classification() {
        use Idempotency::*;
        for s in [429u16, 502, 503, 504] {
            let s = StatusCode::from_u16(s).unwrap();
            assert_eq!(classify_status(s, Idempotent), RetryDecision::Retry, "{s}");
            assert_eq!(
                classify_status(s, NotIdempotent),
                RetryDecision::Fail,
                "{s}"
            );
        }
        for s in [400u16, 401, 403, 404, 409, 500] {
            let s = StatusCode::from_u16(s).unwrap();
            assert_eq!(classify_status(s, Idempotent), RetryDecision::Fail, "{s}");
        }
        assert_eq!(
            classify_transport(TransportFailure::Connect, NotIdempotent),
            RetryDecision::RetryBriefly
        );
        assert_eq!(
            classify_transport(TransportFailure::Tls, Idempotent),
            RetryDecision::Fail
        );
        assert_eq!(
            classify_transport(TransportFailure::AfterSend, NotIdempotent),
            RetryDecision::Fail
        );
        assert_eq!(
            classify_transport(TransportFailure::AfterSend, Idempotent),
            RetryDecision::Retry
        );
        assert_eq!(
            classify_transport(TransportFailure::Other, Idempotent),
            RetryDecision::Fail
        );
    }
}

//! Which failures are worth another attempt, and a bounded backoff loop that logs each retry.
//!
//! Same shape as pulp-client's rules (`classify_status`, `classify_transport`, `Idempotency`),
//! with transport failures described by [`TransportFailure`].

use std::fmt::Display;
use std::future::Future;
use std::time::Duration;

use backoff::backoff::Backoff;
use backoff::exponential::ExponentialBackoff;
use reqwest::header::{HeaderMap, RETRY_AFTER};
use reqwest::{Method, StatusCode};

use crate::transport::TransportFailure;

/// Whether a request may be sent again after a failure where it might have reached the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Idempotency {
    /// Sending it twice has the same effect as once (GET, PUT, DELETE, ...).
    Idempotent,
    /// Sending it twice could do something twice; retried only when it never left.
    NotIdempotent,
}

impl Idempotency {
    /// The default for an HTTP method.
    pub fn of(method: &Method) -> Self {
        if matches!(
            *method,
            Method::GET | Method::HEAD | Method::OPTIONS | Method::PUT | Method::DELETE
        ) {
            Self::Idempotent
        } else {
            Self::NotIdempotent
        }
    }
}

/// What a failed attempt means for retrying.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RetryDecision {
    /// Try again after a backoff delay.
    Retry,
    /// Give up and return the error.
    Fail,
}

/// Whether an HTTP status is worth retrying: 429, 502, 503, 504, for idempotent requests.
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

/// Whether a transport failure is worth retrying.
///
/// Certificate problems never are. A refused connection or a failed DNS lookup is retried only
/// when this host has answered before (`reached_before`): on first contact it is almost always a
/// wrong URL, and waiting out the backoff would only delay saying so. Other connect failures are
/// retried (the request never left); timeouts and broken connections only for idempotent requests.
pub fn classify_transport(
    failure: &TransportFailure,
    idempotency: Idempotency,
    reached_before: bool,
) -> RetryDecision {
    use TransportFailure as F;
    let retry = match failure {
        F::ConnectionRefused | F::Dns { .. } => reached_before,
        F::Connect { .. } => true,
        F::Timeout | F::Interrupted { .. } => idempotency == Idempotency::Idempotent,
        _ => false,
    };
    if retry {
        RetryDecision::Retry
    } else {
        RetryDecision::Fail
    }
}

/// The server's `Retry-After` in seconds, if it sent one in that form.
pub fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    headers
        .get(RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim()
        .parse::<u64>()
        .ok()
        .map(Duration::from_secs)
}

/// backoff's clock reading tokio's time, so paused-time tests and the sleeps agree.
#[derive(Debug, Clone, Copy, Default)]
pub struct TokioClock;

impl backoff::Clock for TokioClock {
    fn now(&self) -> std::time::Instant {
        tokio::time::Instant::now().into_std()
    }
}

/// Exponential backoff bounds for one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// First delay.
    pub initial_interval: Duration,
    /// Largest delay between attempts.
    pub max_interval: Duration,
    /// Give up after this much time spent on one request (zero: never retry).
    pub max_elapsed: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            initial_interval: Duration::from_millis(250),
            max_interval: Duration::from_secs(8),
            max_elapsed: Duration::from_secs(60),
        }
    }
}

impl RetryPolicy {
    /// No retries at all.
    pub fn none() -> Self {
        Self {
            max_elapsed: Duration::ZERO,
            ..Self::default()
        }
    }

    /// A fresh backoff following this policy, timed by tokio's clock.
    pub fn backoff(&self) -> ExponentialBackoff<TokioClock> {
        let mut b = ExponentialBackoff {
            initial_interval: self.initial_interval,
            current_interval: self.initial_interval,
            max_interval: self.max_interval,
            max_elapsed_time: Some(self.max_elapsed),
            ..ExponentialBackoff::<TokioClock>::default()
        };
        b.reset();
        b
    }

    /// The delay before the next attempt, honouring a `Retry-After` up to 4 × the largest delay.
    pub fn delay(&self, backoff: Duration, retry_after: Option<Duration>) -> Duration {
        match retry_after {
            Some(ra) => backoff.max(ra.min(self.max_interval * 4)),
            None => backoff,
        }
    }
}

/// A failed attempt: the error, whether to retry it, and the server's `Retry-After`.
#[derive(Debug)]
pub struct Attempt<E> {
    /// The error to return if this was the last attempt.
    pub error: E,
    /// Whether another attempt may help.
    pub decision: RetryDecision,
    /// The server's requested delay, if any.
    pub retry_after: Option<Duration>,
}

impl<E> Attempt<E> {
    /// A failure not worth retrying.
    pub fn fatal(error: E) -> Self {
        Self {
            error,
            decision: RetryDecision::Fail,
            retry_after: None,
        }
    }
}

/// Run `attempt` until it succeeds, fails for good, or the policy's time is used up.
/// Each retry is logged at debug with `what` (e.g. "GET <redacted url>"). `attempt` must build
/// its request anew each time (streamed bodies cannot be replayed).
pub async fn with_retry<T, E, F, Fut>(
    policy: &RetryPolicy,
    what: &str,
    mut attempt: F,
) -> Result<T, E>
where
    E: Display,
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, Attempt<E>>>,
{
    let mut backoff = policy.backoff();
    let mut attempts = 0u32;
    loop {
        attempts += 1;
        match attempt().await {
            Ok(v) => return Ok(v),
            Err(failed) => {
                if failed.decision == RetryDecision::Fail {
                    return Err(failed.error);
                }
                let Some(next) = backoff.next_backoff() else {
                    tracing::debug!(what, attempts, error = %failed.error, "giving up after retries");
                    return Err(failed.error);
                };
                let delay = policy.delay(next, failed.retry_after);
                tracing::debug!(
                    what,
                    attempt = attempts,
                    delay_ms = delay.as_millis() as u64,
                    error = %failed.error,
                    "retrying"
                );
                tokio::time::sleep(delay).await;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU32, Ordering};
    use Idempotency::*;

    #[test]
    fn transient_statuses_retry_only_when_idempotent() {
        for s in [429, 502, 503, 504] {
            let s = StatusCode::from_u16(s).unwrap();
            assert_eq!(classify_status(s, Idempotent), RetryDecision::Retry, "{s}");
            assert_eq!(
                classify_status(s, NotIdempotent),
                RetryDecision::Fail,
                "{s}"
            );
        }
        for s in [400, 401, 403, 404, 500] {
            let s = StatusCode::from_u16(s).unwrap();
            assert_eq!(classify_status(s, Idempotent), RetryDecision::Fail, "{s}");
        }
    }

    #[test]
    fn transport_rules() {
        use TransportFailure as F;
        assert_eq!(
            classify_transport(&F::ConnectionRefused, Idempotent, false),
            RetryDecision::Fail
        );
        assert_eq!(
            classify_transport(&F::ConnectionRefused, Idempotent, true),
            RetryDecision::Retry
        );
        assert_eq!(
            classify_transport(
                &F::Connect {
                    detail: String::new()
                },
                NotIdempotent,
                false
            ),
            RetryDecision::Retry
        );
        assert_eq!(
            classify_transport(&F::Timeout, Idempotent, true),
            RetryDecision::Retry
        );
        assert_eq!(
            classify_transport(&F::Timeout, NotIdempotent, true),
            RetryDecision::Fail
        );
        assert_eq!(
            classify_transport(&F::ClientCertRequired, Idempotent, true),
            RetryDecision::Fail
        );
        assert_eq!(
            classify_transport(
                &F::ServerCertUntrusted {
                    detail: String::new()
                },
                Idempotent,
                true
            ),
            RetryDecision::Fail
        );
    }

    #[test]
    fn retry_after_seconds_and_cap() {
        let mut h = HeaderMap::new();
        h.insert(RETRY_AFTER, "7".parse().unwrap());
        assert_eq!(retry_after(&h), Some(Duration::from_secs(7)));
        h.insert(
            RETRY_AFTER,
            "Wed, 21 Oct 2015 07:28:00 GMT".parse().unwrap(),
        );
        assert_eq!(retry_after(&h), None);
        let p = RetryPolicy::default();
        assert_eq!(
            p.delay(Duration::from_millis(300), Some(Duration::from_secs(3600))),
            p.max_interval * 4
        );
        assert_eq!(
            p.delay(Duration::from_millis(300), None),
            Duration::from_millis(300)
        );
    }

    #[tokio::test(start_paused = true)]
    async fn retries_until_success_and_stops_on_fatal() {
        let n = AtomicU32::new(0);
        let policy = RetryPolicy::default();
        let r: Result<u32, String> = with_retry(&policy, "GET x", || async {
            let i = n.fetch_add(1, Ordering::SeqCst);
            if i < 3 {
                Err(Attempt {
                    error: format!("503 #{i}"),
                    decision: RetryDecision::Retry,
                    retry_after: None,
                })
            } else {
                Ok(i)
            }
        })
        .await;
        assert_eq!(r, Ok(3));

        let m = AtomicU32::new(0);
        let r: Result<(), String> = with_retry(&policy, "GET y", || async {
            m.fetch_add(1, Ordering::SeqCst);
            Err(Attempt::fatal("404".to_owned()))
        })
        .await;
        assert_eq!(r, Err("404".to_owned()));
        assert_eq!(m.load(Ordering::SeqCst), 1);
    }

    #[tokio::test(start_paused = true)]
    async fn gives_up_after_max_elapsed() {
        let n = AtomicU32::new(0);
        let policy = RetryPolicy {
            initial_interval: Duration::from_millis(100),
            max_interval: Duration::from_millis(400),
            max_elapsed: Duration::from_secs(2),
        };
        let r: Result<(), String> = with_retry(&policy, "GET z", || async {
            n.fetch_add(1, Ordering::SeqCst);
            Err(Attempt {
                error: "503".to_owned(),
                decision: RetryDecision::Retry,
                retry_after: None,
            })
        })
        .await;
        assert_eq!(r, Err("503".to_owned()));
        let attempts = n.load(Ordering::SeqCst);
        assert!(attempts > 2 && attempts < 40, "{attempts}");
        assert_eq!(with_retry_none_attempts().await, 1);
    }

    async fn with_retry_none_attempts() -> u32 {
        let n = AtomicU32::new(0);
        let _: Result<(), String> = with_retry(&RetryPolicy::none(), "GET n", || async {
            n.fetch_add(1, Ordering::SeqCst);
            Err(Attempt {
                error: "503".to_owned(),
                decision: RetryDecision::Retry,
                retry_after: None,
            })
        })
        .await;
        n.load(Ordering::SeqCst)
    }
}

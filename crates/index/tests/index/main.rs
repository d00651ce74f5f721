//! wheelgate-index against stub servers: wiremock for HTTP behaviour, a loopback rustls server
//! with a throwaway PKI for client certificates.

// Test helpers panic on setup failures by design.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod pki;
mod stub;
mod tls;

use std::time::Duration;

use wheelgate_http::RetryPolicy;
use wheelgate_index::IndexConfig;

/// A config whose retries are quick (tests stay fast) but real.
pub fn quick_config() -> IndexConfig {
    IndexConfig {
        retry: RetryPolicy {
            initial_interval: Duration::from_millis(10),
            max_interval: Duration::from_millis(50),
            max_elapsed: Duration::from_secs(5),
        },
        timeout: Duration::from_secs(10),
        ..IndexConfig::default()
    }
}

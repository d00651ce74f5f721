//! wheelgate's shared HTTP layer, used by the Pulp admin client and the customer index client.
//!
//! - [`tls`]: client certificate, CA bundle and verification settings turned into a
//!   `reqwest::ClientBuilder`, with typed errors for unusable files (including X.509 v1
//!   certificates, which rustls refuses).
//! - [`transport`]: what a failed request means ("the server requires a client certificate",
//!   "certificate verify failed: unknown issuer", ...), worked out from the error's source chain.
//! - [`retry`]: which failures are worth another attempt, and a bounded backoff loop.
//! - [`redact`]: URLs safe to print (no passwords).

pub mod redact;
pub mod retry;
pub mod tls;
pub mod transport;

pub use redact::{redact_url, SafeUrl};
pub use retry::{
    classify_status, classify_transport, retry_after, with_retry, Attempt, Idempotency,
    RetryDecision, RetryPolicy,
};
pub use tls::{
    build_client, client_builder, read_certificates, x509_subject_rfc2253, x509_validity,
    ClientBuildError, TlsConfigError, TlsFile, TlsSettings, Validity,
};
pub use transport::{describe_transport, TransportError, TransportFailure};

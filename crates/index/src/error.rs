//! Typed errors of the index client. URLs in them are redacted.

use std::path::PathBuf;

use reqwest::StatusCode;
use wheelgate_http::{ClientBuildError, TlsConfigError, TransportError, TransportFailure};

/// The index client could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum SetupError {
    /// A TLS file cannot be used.
    #[error(transparent)]
    Tls(#[from] TlsConfigError),
    /// reqwest refused the configuration.
    #[error(transparent)]
    Build(#[from] ClientBuildError),
}

impl SetupError {
    /// What the user can do about it, for the CLI's `hint:` line. Names catalog settings, not
    /// flags: each command adds how its own flags set them.
    pub fn hint(&self) -> Option<&'static str> {
        match self {
            Self::Tls(TlsConfigError::V1Certificate { .. }) => Some(
                "re-issue the client certificate as X.509 v3, e.g. `openssl x509 -req ... -extfile ext.cnf` with `basicConstraints=CA:FALSE` and `extendedKeyUsage=clientAuth`",
            ),
            Self::Tls(TlsConfigError::NoKey { .. }) => Some(
                "give the key too: [customer] client_key, or one PEM holding key and certificate",
            ),
            Self::Tls(_) => Some("check the client certificate, its key and the CA bundle ([customer] client_cert, client_key and ca_bundle)"),
            Self::Build(_) => None,
        }
    }
}

/// A page or file could not be decoded.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DecodeError {
    /// Not the JSON PEP 691 describes.
    #[error("invalid PEP 691 JSON")]
    Json(#[source] serde_json::Error),
    /// Not UTF-8.
    #[error("not UTF-8")]
    Utf8(#[source] std::str::Utf8Error),
    /// Not parseable as HTML.
    #[error("invalid HTML: {0}")]
    Html(String),
    /// A link that is not a URL.
    #[error("bad link {href:?}")]
    BadLink {
        /// The link as written.
        href: String,
        /// Why it does not resolve.
        #[source]
        source: url::ParseError,
    },
    /// A project name that is not a valid PEP 508 name.
    #[error("{name:?} is not a valid project name")]
    BadName {
        /// The name as written.
        name: String,
        /// Why.
        #[source]
        source: uv_normalize::InvalidNameError,
    },
    /// A file name that could escape the download directory (or is empty).
    #[error("unsafe file name {0:?}")]
    UnsafeFilename(String),
}

/// A request to the index failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum IndexError {
    /// No HTTP answer: TLS, DNS, connection, timeout. The source says which.
    #[error("GET {url}")]
    Transport {
        /// The URL (redacted).
        url: String,
        /// What went wrong, with reqwest's chain below it.
        #[source]
        source: TransportError,
    },
    /// A TLS front answered that no client certificate was sent (nginx: 400 "No required SSL
    /// certificate was sent").
    #[error("GET {url}: the server requires a client certificate (HTTP {status}: no certificate was sent)")]
    ClientCertRequired {
        /// The URL (redacted).
        url: String,
        /// The status, usually 400.
        status: StatusCode,
    },
    /// A TLS front refused the client certificate (nginx: 400 "The SSL certificate error").
    #[error("GET {url}: the server rejected the client certificate (HTTP {status})")]
    ClientCertRejected {
        /// The URL (redacted).
        url: String,
        /// The status, usually 400.
        status: StatusCode,
    },
    /// 401 or 403; the start of the body often says why (e.g. a front's "a client certificate
    /// is required").
    #[error("GET {url}: access refused (HTTP {status}){}", if snippet.is_empty() { String::new() } else { format!(": {snippet}") })]
    AccessRefused {
        /// The URL (redacted).
        url: String,
        /// 401 or 403.
        status: StatusCode,
        /// The start of the body, whitespace collapsed.
        snippet: String,
    },
    /// Another unexpected status.
    #[error("GET {url}: HTTP {status}{}", if snippet.is_empty() { String::new() } else { format!(": {snippet}") })]
    Status {
        /// The URL (redacted).
        url: String,
        /// The status.
        status: StatusCode,
        /// The start of the body, whitespace collapsed.
        snippet: String,
    },
    /// The answer could not be understood.
    #[error("GET {url}: cannot read the {what}")]
    Decode {
        /// The URL (redacted).
        url: String,
        /// What was being read ("project page", "index root", ...).
        what: &'static str,
        /// Why.
        #[source]
        source: DecodeError,
    },
    /// The body ended before the announced length.
    #[error("GET {url}: the body ended after {received} of {expected} bytes")]
    Truncated {
        /// The URL (redacted).
        url: String,
        /// `Content-Length`.
        expected: u64,
        /// What arrived.
        received: u64,
    },
    /// The bytes do not have the sha256 the index gives.
    #[error("{url}: sha256 mismatch: expected {expected}, got {actual}")]
    HashMismatch {
        /// The URL (redacted).
        url: String,
        /// The sha256 the index (or caller) gives.
        expected: String,
        /// The sha256 of what arrived.
        actual: String,
    },
    /// A local file could not be written.
    #[error("cannot write {}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
}

impl IndexError {
    /// The transport failure, when this is one.
    pub fn transport_failure(&self) -> Option<&TransportFailure> {
        match self {
            Self::Transport { source, .. } => Some(&source.failure),
            _ => None,
        }
    }

    /// Whether this says the client certificate is missing or refused, or the server's
    /// certificate is not trusted: waiting and trying again will not change it.
    pub fn is_access_problem(&self) -> bool {
        match self {
            Self::ClientCertRequired { .. }
            | Self::ClientCertRejected { .. }
            | Self::AccessRefused { .. } => true,
            Self::Transport { source, .. } => source.failure.is_certificate_problem(),
            _ => false,
        }
    }

    /// What the user can do about it, for the CLI's `hint:` line. Names catalog settings, not
    /// flags: each command adds how its own flags set them.
    pub fn hint(&self) -> Option<&'static str> {
        use TransportFailure as F;
        let client_cert = "give a client certificate: [customer] client_cert (one PEM with key and certificate, or with client_key)";
        match self {
            Self::ClientCertRequired { .. } => Some(client_cert),
            Self::ClientCertRejected { .. } => Some(
                "the server does not accept this client certificate: check that it is the one issued for this index and has not expired",
            ),
            Self::AccessRefused { .. } => Some(
                "the index refused the request; it may need a client certificate ([customer] client_cert)",
            ),
            Self::HashMismatch { .. } => Some(
                "the index serves other bytes than it lists: re-run, and if it persists, check what the index serves",
            ),
            Self::Transport { source, .. } => match &source.failure {
                F::ClientCertRequired => Some(client_cert),
                F::ClientCertRejected { .. } => Some(
                    "the server does not accept this client certificate: check its issuer and expiry",
                ),
                F::ServerCertUntrusted { .. } => Some(
                    "trust the CA that issued the index's certificate: [customer] ca_bundle",
                ),
                F::ServerCertExpired { .. } => Some("the index's TLS certificate must be renewed (or the clock here is wrong)"),
                F::NameMismatch { .. } => Some(
                    "use the host name the index's certificate is issued for: [customer] index_host",
                ),
                F::UnsupportedCertVersion => Some(
                    "the index's certificate (or its chain) must be X.509 v3: re-issue it with `openssl x509 -req ... -extfile`",
                ),
                F::ConnectionRefused | F::Dns { .. } => {
                    Some("check the index address: [customer] index_host")
                }
                _ => None,
            },
            _ => None,
        }
    }
}

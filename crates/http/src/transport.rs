//! What a failed request means, worked out from reqwest's error source chain.
//!
//! reqwest reports every TLS and socket failure as "error sending request"; the real cause sits
//! a few `source()` levels down (a `rustls::Error` inside an `io::Error` inside hyper's error).
//! [`describe_transport`] digs it out and names it in terms a user can act on.

use std::error::Error as StdError;
use std::fmt;
use std::io;

use rustls::{AlertDescription, CertificateError};

/// The kind of transport failure, as a user needs to hear it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum TransportFailure {
    /// Nothing listens on that port (or a firewall rejects the connection).
    ConnectionRefused,
    /// The host name could not be resolved.
    Dns {
        /// The resolver's message.
        detail: String,
    },
    /// The connection or the whole request timed out.
    Timeout,
    /// The server's certificate does not chain to a trusted root (or is otherwise invalid).
    ServerCertUntrusted {
        /// What is wrong, e.g. `unknown issuer`.
        detail: String,
    },
    /// The server's certificate has expired or is not valid yet.
    ServerCertExpired {
        /// rustls' description, with the times.
        detail: String,
    },
    /// The server's certificate is not valid for the host name in the URL.
    NameMismatch {
        /// rustls' description, with the expected and presented names.
        detail: String,
    },
    /// The server presented an X.509 v1 certificate, which rustls refuses.
    UnsupportedCertVersion,
    /// The server demands a client certificate and none was sent.
    ClientCertRequired,
    /// The server refused the client certificate that was sent.
    ClientCertRejected {
        /// The TLS alert the server sent, e.g. `unknown_ca`.
        alert: String,
    },
    /// Another TLS failure.
    Tls {
        /// rustls' description.
        detail: String,
    },
    /// The connection could not be established for another reason; the request never left.
    Connect {
        /// The innermost cause.
        detail: String,
    },
    /// The connection broke after the request was sent (reset, closed, truncated body).
    Interrupted {
        /// The innermost cause.
        detail: String,
    },
    /// Anything else.
    Other {
        /// The innermost cause.
        detail: String,
    },
}

impl TransportFailure {
    /// Whether the request certainly never reached the server (so it is safe to send again,
    /// whatever its method).
    pub fn never_sent(&self) -> bool {
        !matches!(
            self,
            Self::Timeout | Self::Interrupted { .. } | Self::Other { .. }
        )
    }

    /// Whether this is a TLS certificate problem on either side (retrying will not help).
    pub fn is_certificate_problem(&self) -> bool {
        matches!(
            self,
            Self::ServerCertUntrusted { .. }
                | Self::ServerCertExpired { .. }
                | Self::NameMismatch { .. }
                | Self::UnsupportedCertVersion
                | Self::ClientCertRequired
                | Self::ClientCertRejected { .. }
        )
    }
}

// Display describes this layer only: the details (resolver text, rustls' words) are in the
// error chain below it, so they are not repeated here except where ours are the clearer words.
impl fmt::Display for TransportFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::ConnectionRefused => f.write_str("connection refused"),
            Self::Dns { .. } => f.write_str("cannot resolve the host name"),
            Self::Timeout => f.write_str("timed out"),
            Self::ServerCertUntrusted { detail } => {
                write!(f, "TLS: certificate verify failed: {detail}")
            }
            Self::ServerCertExpired { .. } => {
                f.write_str("TLS: the server's certificate has expired or is not valid yet")
            }
            Self::NameMismatch { .. } => {
                f.write_str("TLS: the server's certificate is not valid for this host name")
            }
            Self::UnsupportedCertVersion => f.write_str(
                "TLS: the server presented an X.509 v1 certificate (UnsupportedCertVersion): rustls needs an X.509 v3 certificate",
            ),
            Self::ClientCertRequired => f.write_str("TLS: the server requires a client certificate"),
            Self::ClientCertRejected { alert } => {
                write!(f, "TLS: the server rejected the client certificate (alert {alert})")
            }
            Self::Tls { .. } => f.write_str("TLS handshake failed"),
            Self::Connect { .. } => f.write_str("cannot connect"),
            Self::Interrupted { .. } => f.write_str("the connection broke during the request"),
            Self::Other { .. } => f.write_str("request failed"),
        }
    }
}

/// A failed request: what it means, with reqwest's error (and its chain) as the source.
#[derive(Debug, thiserror::Error)]
#[error("{failure}")]
pub struct TransportError {
    /// What it means.
    pub failure: TransportFailure,
    /// reqwest's error, without its URL (the caller names the redacted URL).
    #[source]
    pub source: reqwest::Error,
}

impl TransportError {
    /// Describe `err`; `client_cert_configured` says whether this client offers a certificate.
    pub fn new(err: reqwest::Error, client_cert_configured: bool) -> Self {
        let failure = describe_transport(&err, client_cert_configured);
        Self {
            failure,
            source: err.without_url(),
        }
    }
}

/// The error and its sources, looking inside `io::Error`s (whose `source()` skips the error
/// they wrap, where rustls' error lives).
fn chain<'a>(err: &'a (dyn StdError + 'static), out: &mut Vec<&'a (dyn StdError + 'static)>) {
    let mut cur = Some(err);
    while let Some(e) = cur {
        if out.len() > 64 {
            return;
        }
        out.push(e);
        if let Some(inner) = e.downcast_ref::<io::Error>().and_then(|io| io.get_ref()) {
            chain(inner, out);
            return;
        }
        cur = e.source();
    }
}

fn alert_name(a: &AlertDescription) -> String {
    let name = match a {
        AlertDescription::HandshakeFailure => "handshake_failure",
        AlertDescription::BadCertificate => "bad_certificate",
        AlertDescription::UnsupportedCertificate => "unsupported_certificate",
        AlertDescription::CertificateRevoked => "certificate_revoked",
        AlertDescription::CertificateExpired => "certificate_expired",
        AlertDescription::CertificateUnknown => "certificate_unknown",
        AlertDescription::UnknownCA => "unknown_ca",
        AlertDescription::AccessDenied => "access_denied",
        AlertDescription::DecryptError => "decrypt_error",
        AlertDescription::CertificateRequired => "certificate_required",
        AlertDescription::ProtocolVersion => "protocol_version",
        AlertDescription::InternalError => "internal_error",
        other => return format!("{other:?}"),
    };
    name.to_owned()
}

fn classify_certificate(e: &CertificateError) -> TransportFailure {
    match e {
        CertificateError::UnknownIssuer => TransportFailure::ServerCertUntrusted {
            detail: "unknown issuer".into(),
        },
        CertificateError::Expired
        | CertificateError::ExpiredContext { .. }
        | CertificateError::NotValidYet
        | CertificateError::NotValidYetContext { .. } => TransportFailure::ServerCertExpired {
            detail: e.to_string(),
        },
        CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. } => {
            TransportFailure::NameMismatch {
                detail: e.to_string(),
            }
        }
        // webpki's error arrives wrapped in `Other`; its Debug form is the stable variant name.
        CertificateError::Other(other)
            if format!("{other:?}").contains("UnsupportedCertVersion") =>
        {
            TransportFailure::UnsupportedCertVersion
        }
        other => TransportFailure::ServerCertUntrusted {
            detail: other.to_string(),
        },
    }
}

fn classify_rustls(e: &rustls::Error, client_cert_configured: bool) -> TransportFailure {
    match e {
        rustls::Error::InvalidCertificate(c) => classify_certificate(c),
        rustls::Error::AlertReceived(AlertDescription::CertificateRequired) => {
            TransportFailure::ClientCertRequired
        }
        rustls::Error::AlertReceived(
            a @ (AlertDescription::HandshakeFailure
            | AlertDescription::BadCertificate
            | AlertDescription::UnsupportedCertificate
            | AlertDescription::CertificateRevoked
            | AlertDescription::CertificateExpired
            | AlertDescription::CertificateUnknown
            | AlertDescription::UnknownCA
            | AlertDescription::AccessDenied
            | AlertDescription::DecryptError),
        ) => {
            if client_cert_configured {
                TransportFailure::ClientCertRejected {
                    alert: alert_name(a),
                }
            } else {
                // Sent no certificate and was refused for a certificate reason: the server wants
                // one (TLS 1.2 servers answer an empty Certificate with handshake_failure).
                TransportFailure::ClientCertRequired
            }
        }
        rustls::Error::AlertReceived(a) => TransportFailure::Tls {
            detail: format!("the server sent the TLS alert {}", alert_name(a)),
        },
        other => TransportFailure::Tls {
            detail: other.to_string(),
        },
    }
}

/// Classify a failed reqwest request. `client_cert_configured` tells a server that wants a
/// certificate (none configured) from one that refused the one sent.
pub fn describe_transport(err: &reqwest::Error, client_cert_configured: bool) -> TransportFailure {
    let mut errors = Vec::new();
    chain(err, &mut errors);
    let innermost = errors.last().map(|e| e.to_string()).unwrap_or_default();
    if let Some(r) = errors
        .iter()
        .find_map(|e| e.downcast_ref::<rustls::Error>())
    {
        return classify_rustls(r, client_cert_configured);
    }
    // hyper-util's connector says "dns error" and puts the resolver's io::Error below it.
    if let Some(i) = errors.iter().position(|e| e.to_string() == "dns error") {
        let detail = errors.get(i + 1).map(|e| e.to_string()).unwrap_or_default();
        return TransportFailure::Dns { detail };
    }
    let io_kinds: Vec<io::ErrorKind> = errors
        .iter()
        .filter_map(|e| e.downcast_ref::<io::Error>().map(io::Error::kind))
        .collect();
    if io_kinds.contains(&io::ErrorKind::ConnectionRefused) {
        return TransportFailure::ConnectionRefused;
    }
    if err.is_timeout() || io_kinds.contains(&io::ErrorKind::TimedOut) {
        return TransportFailure::Timeout;
    }
    if err.is_connect() {
        return TransportFailure::Connect { detail: innermost };
    }
    let broke = io_kinds.iter().any(|k| {
        matches!(
            k,
            io::ErrorKind::ConnectionReset
                | io::ErrorKind::ConnectionAborted
                | io::ErrorKind::BrokenPipe
                | io::ErrorKind::UnexpectedEof
        )
    });
    if broke || err.is_request() || err.is_body() {
        return TransportFailure::Interrupted { detail: innermost };
    }
    TransportFailure::Other { detail: innermost }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rustls_errors_are_named() {
        let unknown = rustls::Error::InvalidCertificate(CertificateError::UnknownIssuer);
        assert_eq!(
            classify_rustls(&unknown, false).to_string(),
            "TLS: certificate verify failed: unknown issuer"
        );
        let expired = rustls::Error::InvalidCertificate(CertificateError::Expired);
        assert!(matches!(
            classify_rustls(&expired, false),
            TransportFailure::ServerCertExpired { .. }
        ));
        let name = rustls::Error::InvalidCertificate(CertificateError::NotValidForName);
        assert!(matches!(
            classify_rustls(&name, false),
            TransportFailure::NameMismatch { .. }
        ));
        let required = rustls::Error::AlertReceived(AlertDescription::CertificateRequired);
        assert_eq!(
            classify_rustls(&required, false),
            TransportFailure::ClientCertRequired
        );
        let hs = rustls::Error::AlertReceived(AlertDescription::HandshakeFailure);
        assert_eq!(
            classify_rustls(&hs, false),
            TransportFailure::ClientCertRequired
        );
        let ca = rustls::Error::AlertReceived(AlertDescription::UnknownCA);
        assert_eq!(
            classify_rustls(&ca, true),
            TransportFailure::ClientCertRejected {
                alert: "unknown_ca".into()
            }
        );
        assert!(!classify_rustls(&ca, true).to_string().is_empty());
    }

    #[test]
    fn io_wrapped_rustls_error_is_found() {
        let inner = rustls::Error::InvalidCertificate(CertificateError::UnknownIssuer);
        let io = io::Error::new(io::ErrorKind::InvalidData, inner);
        let mut v = Vec::new();
        chain(&io, &mut v);
        assert!(v
            .iter()
            .any(|e| e.downcast_ref::<rustls::Error>().is_some()));
    }

    #[tokio::test]
    async fn refused_connection_is_classified() {
        // Bind then drop a listener: nothing listens on that port any more.
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = l.local_addr().unwrap().port();
        drop(l);
        let err = reqwest::get(format!("http://127.0.0.1:{port}/"))
            .await
            .unwrap_err();
        let e = TransportError::new(err, false);
        assert_eq!(e.failure, TransportFailure::ConnectionRefused);
        assert!(e.failure.never_sent());
        assert_eq!(e.to_string(), "connection refused");
    }

    #[tokio::test]
    async fn unresolvable_host_is_dns() {
        let err = reqwest::get("http://wheelgate-no-such-host.invalid/")
            .await
            .unwrap_err();
        assert!(
            matches!(
                describe_transport(&err, false),
                TransportFailure::Dns { .. }
            ),
            "{:?}",
            describe_transport(&err, false)
        );
    }

    #[tokio::test]
    async fn source_has_no_url() {
        let err = reqwest::get("http://u:secret@wheelgate-no-such-host.invalid/")
            .await
            .unwrap_err();
        let e = TransportError::new(err, false);
        let mut text = String::new();
        let mut cur: Option<&dyn StdError> = Some(&e);
        while let Some(c) = cur {
            text.push_str(&c.to_string());
            cur = c.source();
        }
        assert!(!text.contains("secret"), "{text}");
    }
}

//! The HTTP client itself, and sending one request.

use std::error::Error as _;
use std::time::{Duration, Instant};

use reqwest::header::{HeaderMap, HeaderValue, COOKIE, RETRY_AFTER};
use reqwest::{Method, StatusCode};
use tracing::Instrument;
use url::Url;

use super::request::{ApiRequest, ApiResponse, RequestBody};
use super::retry::AttemptError;
use super::Transport;
use crate::config::ClientConfig;
use crate::error::{ApiErrorBody, ClientError, ConfigError, Result};

fn load_pem(
    path: &std::path::Path,
    what: &'static str,
) -> std::result::Result<Vec<u8>, ConfigError> {
    std::fs::read(path).map_err(|e| ConfigError::Tls {
        what,
        path: path.to_owned(),
        reason: e.to_string(),
    })
}

/// Build the reqwest client for a configuration (timeouts, TLS trust and client certificate).
pub(super) fn build_client(
    config: &ClientConfig,
) -> std::result::Result<reqwest::Client, ConfigError> {
    let mut headers = HeaderMap::new();
    headers.insert(
        reqwest::header::ACCEPT,
        HeaderValue::from_static("application/json"),
    );
    let mut builder = reqwest::Client::builder()
        .user_agent(config.user_agent.clone())
        .default_headers(headers)
        .timeout(config.timeout)
        .connect_timeout(config.connect_timeout)
        .pool_idle_timeout(Duration::from_secs(30))
        .redirect(reqwest::redirect::Policy::limited(5));
    if !config.verify_ssl {
        builder = builder.danger_accept_invalid_certs(true);
    }
    if let Some(ca) = &config.ca_bundle {
        let pem = load_pem(ca, "CA bundle")?;
        let certs = reqwest::Certificate::from_pem_bundle(&pem).map_err(|e| ConfigError::Tls {
            what: "CA bundle",
            path: ca.clone(),
            reason: e.to_string(),
        })?;
        for c in certs {
            builder = builder.add_root_certificate(c);
        }
    }
    if let Some(cert) = &config.client_cert {
        let mut pem = load_pem(cert, "client certificate")?;
        if let Some(key) = &config.client_key {
            pem.push(b'\n');
            pem.extend(load_pem(key, "client key")?);
        }
        let identity = reqwest::Identity::from_pem(&pem).map_err(|e| ConfigError::Tls {
            what: "client certificate and key",
            path: cert.clone(),
            reason: e.to_string(),
        })?;
        builder = builder.identity(identity);
    }
    builder
        .build()
        .map_err(|e| ConfigError::HttpClient(e.to_string()))
}

/// The innermost `std::io::Error` in an error's source chain.
fn io_cause(err: &reqwest::Error) -> Option<&std::io::Error> {
    let mut cur: Option<&(dyn std::error::Error + 'static)> = err.source();
    let mut found = None;
    while let Some(e) = cur {
        if let Some(io) = e.downcast_ref::<std::io::Error>() {
            found = Some(io);
        }
        cur = e.source();
    }
    found
}

/// Whether a connect failure happened in the TLS handshake (rustls reports through an
/// `InvalidData` I/O error).
pub(super) fn is_tls_failure(err: &reqwest::Error) -> bool {
    io_cause(err).is_some_and(|io| io.kind() == std::io::ErrorKind::InvalidData)
}

/// The root cause of a transport failure in a few words (e.g. "connection refused").
pub(super) fn describe(err: &reqwest::Error) -> String {
    if err.is_timeout() {
        return "timed out".to_owned();
    }
    if let Some(io) = io_cause(err) {
        return match io.kind() {
            std::io::ErrorKind::ConnectionRefused => "connection refused".to_owned(),
            _ => io.to_string(),
        };
    }
    let mut cur: &(dyn std::error::Error + 'static) = err;
    while let Some(next) = cur.source() {
        cur = next;
    }
    cur.to_string()
}

impl Transport {
    /// Send a request (with retries) and return the raw answer if its status is a success.
    pub(crate) async fn send(&self, req: ApiRequest) -> Result<ApiResponse> {
        let span = tracing::debug_span!("pulp", method = %req.method, url = %req.url);
        async {
            let start = Instant::now();
            let req = &req;
            let resp = self
                .with_retry(req.idempotency, &req.method, || self.send_once(req))
                .await;
            match &resp {
                Ok(r) => tracing::debug!(status = r.status.as_u16(), elapsed_ms = start.elapsed().as_millis() as u64, "done"),
                Err(e) => tracing::debug!(error = %e, elapsed_ms = start.elapsed().as_millis() as u64, "failed"),
            }
            resp
        }
        .instrument(span)
        .await
    }

    async fn send_once(&self, req: &ApiRequest) -> std::result::Result<ApiResponse, AttemptError> {
        let mut builder = self.http.request(req.method.clone(), req.url.clone());
        builder = self
            .authorize(builder, &req.method)
            .await
            .map_err(AttemptError::fatal)?;
        if let RequestBody::Json(v) = &req.body {
            builder = builder.json(v);
        }
        self.execute(builder, &req.method, &req.url).await
    }

    /// Send a built reqwest request once and turn the answer into a response or a typed error.
    pub(crate) async fn execute(
        &self,
        builder: reqwest::RequestBuilder,
        method: &Method,
        url: &Url,
    ) -> std::result::Result<ApiResponse, AttemptError> {
        let transport = |source| ClientError::Transport {
            method: method.clone(),
            url: url.to_string(),
            source,
        };
        let request = builder
            .build()
            .map_err(|e| AttemptError::from(transport(e)))?;
        // Only the session adds a Cookie header (there is no cookie store).
        let via_session = request.headers().contains_key(COOKIE);
        let resp = self
            .http
            .execute(request)
            .await
            .map_err(|e| AttemptError::from(transport(e)))?;
        let status = resp.status();
        let headers = resp.headers().clone();
        let body = resp
            .bytes()
            .await
            .map_err(|e| AttemptError::from(transport(e)))?;
        if status.is_success() {
            return Ok(ApiResponse {
                status,
                headers,
                body,
            });
        }
        let retry_after = headers
            .get(RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok())
            .map(Duration::from_secs);
        let refused = status == StatusCode::UNAUTHORIZED || status == StatusCode::FORBIDDEN;
        let reauth = refused && via_session;
        if reauth {
            self.session
                .refused(method, &String::from_utf8_lossy(&body));
        }
        let body = ApiErrorBody::from_bytes(&body);
        let error = if refused {
            ClientError::Auth {
                method: method.clone(),
                url: url.to_string(),
                status,
                body,
            }
        } else {
            ClientError::Http {
                method: method.clone(),
                url: url.to_string(),
                status,
                body,
            }
        };
        Err(AttemptError {
            error,
            retry_after,
            reauth,
        })
    }
}

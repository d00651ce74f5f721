//! The HTTP client itself, and sending one request.

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use reqwest::header::{HeaderMap, HeaderValue, COOKIE};
use reqwest::{Method, StatusCode};
use tracing::Instrument;
use url::Url;

use super::request::{ApiRequest, ApiResponse, RequestBody};
use super::retry::AttemptError;
use super::Transport;
use crate::config::ClientConfig;
use crate::error::{ApiErrorBody, ClientError, ConfigError, Result};

/// The TLS part of a configuration, in the shared HTTP layer's terms.
pub(super) fn tls_settings(config: &ClientConfig) -> wheelgate_http::TlsSettings {
    wheelgate_http::TlsSettings {
        client_cert: config.client_cert.clone(),
        client_key: config.client_key.clone(),
        ca_bundle: config.ca_bundle.clone(),
        verify: config.verify_ssl,
    }
}

/// Build the reqwest client for a configuration: TLS trust and client certificate through
/// `wheelgate-http` (typed errors naming the file, X.509 v1 detection), then timeouts,
/// headers and redirects.
pub(super) fn build_client(
    config: &ClientConfig,
) -> std::result::Result<reqwest::Client, ConfigError> {
    let mut headers = HeaderMap::new();
    headers.insert(
        reqwest::header::ACCEPT,
        HeaderValue::from_static("application/json"),
    );
    let builder = wheelgate_http::client_builder(&tls_settings(config))?
        .user_agent(config.user_agent.clone())
        .default_headers(headers)
        .timeout(config.timeout)
        .connect_timeout(config.connect_timeout)
        .pool_idle_timeout(Duration::from_secs(30))
        .redirect(reqwest::redirect::Policy::limited(5));
    Ok(wheelgate_http::build_client(builder)?)
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
        let cert = self.config.client_cert.is_some();
        let transport = |e| ClientError::Transport {
            method: method.clone(),
            url: url.to_string(),
            source: wheelgate_http::TransportError::new(e, cert),
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
        self.reached.store(true, Ordering::Relaxed);
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
        let retry_after = wheelgate_http::retry_after(&headers);
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

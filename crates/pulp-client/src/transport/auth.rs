//! Credentials on requests: the session cookie, basic auth, a bearer token, or an OAuth2
//! client-credentials token fetched once and cached until shortly before it expires.

use std::time::{Duration, Instant};

use reqwest::Method;
use serde::Deserialize;
use tokio::sync::Mutex;

use super::Transport;
use crate::config::{Auth, OAuth2};
use crate::error::{ApiErrorBody, ClientError, Result};

/// An OAuth2 access token and when to stop using it.
struct CachedToken {
    token: String,
    expires: Instant,
}

/// The OAuth2 token of a client, fetched on first use.
#[derive(Default)]
pub(super) struct TokenCache(Mutex<Option<CachedToken>>);

impl Transport {
    /// Add the configured credentials to a request with this method: the session cookie when
    /// there is one (logging in on first use), else the credentials themselves.
    pub(crate) async fn authorize(
        &self,
        builder: reqwest::RequestBuilder,
        method: &Method,
    ) -> Result<reqwest::RequestBuilder> {
        let c = &self.config;
        if c.session_login && matches!(c.auth, Auth::Basic { .. }) {
            let session = self.session.get(method, || self.login()).await;
            if let Some(headers) = session.and_then(|s| s.headers(method, &self.origin())) {
                return Ok(builder.headers(headers));
            }
        }
        self.authorize_direct(builder).await
    }

    /// Add the configured credentials themselves (password, token) to a request.
    pub(crate) async fn authorize_direct(
        &self,
        builder: reqwest::RequestBuilder,
    ) -> Result<reqwest::RequestBuilder> {
        Ok(match &self.config.auth {
            Auth::None => builder,
            Auth::Basic { username, password } => {
                builder.basic_auth(username, Some(password.expose()))
            }
            Auth::Bearer(token) => builder.bearer_auth(token.expose()),
            Auth::OAuth2(oauth) => builder.bearer_auth(self.oauth_token(oauth).await?),
        })
    }

    async fn oauth_token(&self, oauth: &OAuth2) -> Result<String> {
        let mut cached = self.token.0.lock().await;
        if let Some(t) = cached.as_ref() {
            if t.expires > Instant::now() {
                return Ok(t.token.clone());
            }
        }
        let token_url = oauth.token_url.to_string();
        let mut form = vec![("grant_type", "client_credentials".to_owned())];
        if !oauth.scopes.is_empty() {
            form.push(("scope", oauth.scopes.join(" ")));
        }
        let cert = self.config.client_cert.is_some();
        let fail = |reason: String| ClientError::Token {
            token_url: token_url.clone(),
            reason,
        };
        let resp = self
            .http
            .post(oauth.token_url.clone())
            .basic_auth(&oauth.client_id, Some(oauth.client_secret.expose()))
            .form(&form)
            .send()
            .await
            .map_err(|e| fail(wheelgate_http::TransportError::new(e, cert).to_string()))?;
        let status = resp.status();
        let body = resp
            .bytes()
            .await
            .map_err(|e| fail(wheelgate_http::TransportError::new(e, cert).to_string()))?;
        if !status.is_success() {
            return Err(fail(format!(
                "{status}: {}",
                ApiErrorBody::from_bytes(&body)
            )));
        }
        #[derive(Deserialize)]
        struct TokenAnswer {
            access_token: String,
            expires_in: Option<u64>,
        }
        let answer: TokenAnswer =
            serde_json::from_slice(&body).map_err(|e| fail(format!("unexpected answer: {e}")))?;
        let lifetime = Duration::from_secs(answer.expires_in.unwrap_or(300));
        // Renew a little before expiry.
        let margin = Duration::from_secs(30).min(lifetime / 2);
        tracing::debug!(expires_in_s = lifetime.as_secs(), "OAuth2 token obtained");
        *cached = Some(CachedToken {
            token: answer.access_token.clone(),
            expires: Instant::now() + lifetime - margin,
        });
        Ok(answer.access_token)
    }
}

//! The transport: everything between a built [`ApiRequest`] and a decoded answer, shared by
//! every resource module and knowing none of them.
//!
//! - [`request`]: requests built without sending them, raw answers, decoding;
//! - [`http`]: the HTTP client and sending one request;
//! - [`retry`]: what is worth retrying, and the retry loop;
//! - [`auth`]: credentials, including the cached OAuth2 token;
//! - [`session`]: logging in once and sending a session cookie instead of the password;
//! - [`page`]: following Pulp's paginated lists.

pub(crate) mod auth;
pub(crate) mod http;
pub(crate) mod page;
pub(crate) mod request;
pub(crate) mod retry;
pub(crate) mod session;

use std::sync::atomic::AtomicBool;

use reqwest::Method;
use serde_json::Value;
use tokio::sync::OnceCell;
use url::Url;

use crate::config::ClientConfig;
use crate::error::{ClientError, ConfigError, Result};
use request::{decode, Idempotency};

/// One Pulp server's connection: the HTTP client, the configuration, the API base once known,
/// the OAuth2 token and the session.
pub(crate) struct Transport {
    pub(crate) http: reqwest::Client,
    pub(crate) config: ClientConfig,
    api_base: OnceCell<Url>,
    /// Whether this server has answered at least once (then a refused connection is worth
    /// retrying: it was there a moment ago).
    reached: AtomicBool,
    token: auth::TokenCache,
    session: session::SessionState,
}

impl Transport {
    /// Build the transport. Does not contact the server.
    pub(crate) fn new(config: ClientConfig) -> std::result::Result<Self, ConfigError> {
        let http = http::build_client(&config)?;
        let api_base = OnceCell::new();
        if let Some(enabled) = config.domains_enabled {
            // Resolved up front: no probe needed.
            let _ = api_base.set(compute_api_base(&config, enabled)?);
        }
        Ok(Self {
            http,
            config,
            api_base,
            reached: AtomicBool::new(false),
            token: auth::TokenCache::default(),
            session: session::SessionState::default(),
        })
    }

    /// `{base}{api_root}api/v3/`, where `status/` lives.
    pub(crate) fn root_api_url(&self) -> Result<Url> {
        let c = &self.config;
        c.base_url
            .join(&format!("{}api/v3/", c.api_root))
            .map_err(|_| ClientError::Url(c.api_root.clone()))
    }

    /// `{base}{api_root}[{domain}/]api/v3/`; with a domain configured and `domains_enabled`
    /// unknown, asks the server once.
    pub(crate) async fn api_base(&self) -> Result<&Url> {
        self.api_base
            .get_or_try_init(|| async {
                let enabled = match &self.config.domain {
                    None => false,
                    Some(_) => {
                        // Sent without the session: logging in needs the API base first.
                        let url = self
                            .root_api_url()?
                            .join("status/")
                            .map_err(|_| ClientError::Url("status/".into()))?;
                        let get = Method::GET;
                        let resp = self
                            .with_retry(Idempotency::Idempotent, &get, || async {
                                let builder =
                                    self.authorize_direct(self.http.get(url.clone())).await?;
                                self.execute(builder, &get, &url).await
                            })
                            .await?;
                        let status: Value = decode(&get, &url, &resp.body)?;
                        status
                            .get("domain_enabled")
                            .and_then(Value::as_bool)
                            .unwrap_or(false)
                    }
                };
                Ok(compute_api_base(&self.config, enabled)?)
            })
            .await
    }

    /// A resource path relative to the API base.
    pub(crate) async fn api_url(&self, path: &str) -> Result<Url> {
        self.api_base()
            .await?
            .join(path)
            .map_err(|_| ClientError::Url(path.to_owned()))
    }

    /// The URL of an href returned by Pulp (an absolute path, or a full URL whose path is kept).
    pub(crate) fn href_url(&self, href: &str) -> Result<Url> {
        let path_and_query = match Url::parse(href) {
            Ok(full) => match full.query() {
                Some(q) => format!("{}?{q}", full.path()),
                None => full.path().to_owned(),
            },
            Err(_) => href.to_owned(),
        };
        if !path_and_query.starts_with('/') {
            return Err(ClientError::Url(href.to_owned()));
        }
        self.config
            .base_url
            .join(&path_and_query)
            .map_err(|_| ClientError::Url(href.to_owned()))
    }

    /// `scheme://host[:port]` of the server, as Django's CSRF origin check expects.
    fn origin(&self) -> String {
        self.config.base_url.origin().ascii_serialization()
    }
}

fn compute_api_base(
    config: &ClientConfig,
    domains_enabled: bool,
) -> std::result::Result<Url, ConfigError> {
    let path = match (&config.domain, domains_enabled) {
        (Some(d), true) => format!("{}{d}/api/v3/", config.api_root),
        (None, true) => format!("{}default/api/v3/", config.api_root),
        (Some(d), false) if d != "default" => {
            return Err(ConfigError::DomainsDisabled { domain: d.clone() })
        }
        _ => format!("{}api/v3/", config.api_root),
    };
    config
        .base_url
        .join(&path)
        .map_err(|e| ConfigError::InvalidUrl {
            what: "API root",
            value: path,
            reason: e.to_string(),
        })
}

//! The client: one Pulp server (and domain), the URLs of its API, and sending requests with
//! typed answers. How a request travels (HTTP, retries, credentials, session, pages) is the
//! private `transport` module's business; the resource modules add one method per endpoint.

use std::future::Future;
use std::sync::Arc;

use bytes::Bytes;
use futures::stream::{BoxStream, TryStreamExt};
use reqwest::{Method, StatusCode};
use serde::de::DeserializeOwned;
use serde::Deserialize;
use url::Url;

use crate::config::ClientConfig;
use crate::error::{ClientError, ConfigError, Result};
use crate::hrefs::TaskHref;
use crate::transport::page::{self, Page};
use crate::transport::request::{self, ApiRequest, ApiResponse, Idempotency};
use crate::transport::retry::AttemptError;
use crate::transport::session::SessionMode;
use crate::transport::Transport;

/// The answer of an endpoint that starts a task (`202 {"task": href}`).
#[derive(Debug, Clone, Deserialize)]
pub struct AsyncOperation {
    /// The task.
    pub task: TaskHref,
}

/// The outcome of a change that Pulp may apply immediately or through a task.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// Pulp started a task.
    Task(TaskHref),
    /// Pulp answered without a task (e.g. 200 on a PATCH that changed nothing).
    Immediate,
}

/// A client for one Pulp server (and domain). Cheap to clone.
#[derive(Clone)]
pub struct PulpClient {
    inner: Arc<Transport>,
}

impl std::fmt::Debug for PulpClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PulpClient")
            .field("base_url", &self.inner.config.base_url.as_str())
            .field("api_root", &self.inner.config.api_root)
            .field("domain", &self.inner.config.domain)
            .finish_non_exhaustive()
    }
}

impl PulpClient {
    /// Build a client. Does not contact the server.
    pub fn new(config: ClientConfig) -> std::result::Result<Self, ConfigError> {
        Ok(Self {
            inner: Arc::new(Transport::new(config)?),
        })
    }

    /// The configuration in use.
    pub fn config(&self) -> &ClientConfig {
        &self.inner.config
    }

    /// The URL of the API root without domain (`{base}{api_root}api/v3/`), where `status/` lives.
    pub fn root_api_url(&self) -> Result<Url> {
        self.inner.root_api_url()
    }

    /// The URL all resource paths are relative to (`{base}{api_root}[{domain}/]api/v3/`).
    /// With a domain configured and `domains_enabled` unknown, asks the server once.
    pub async fn api_base(&self) -> Result<&Url> {
        self.inner.api_base().await
    }

    /// The URL of a resource path relative to the API base (e.g. `repositories/python/python/`).
    pub async fn api_url(&self, path: &str) -> Result<Url> {
        self.inner.api_url(path).await
    }

    /// The URL of an href returned by Pulp (an absolute path, or a full URL whose path is kept).
    pub fn href_url(&self, href: &str) -> Result<Url> {
        self.inner.href_url(href)
    }

    /// Send a request (with retries) and return the raw answer if its status is a success.
    pub async fn send(&self, req: ApiRequest) -> Result<ApiResponse> {
        self.inner.send(req).await
    }

    /// Run `attempt` with the configured backoff, retrying what can recover (see the retry
    /// rules on [`crate::RetryDecision`]). `attempt` must rebuild its request each time.
    pub async fn with_retry<T, F, Fut>(
        &self,
        idempotency: Idempotency,
        method: &Method,
        attempt: F,
    ) -> Result<T>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = std::result::Result<T, AttemptError>>,
    {
        self.inner.with_retry(idempotency, method, attempt).await
    }

    /// Send a built reqwest request once and turn the answer into a response or a typed error.
    pub async fn execute(
        &self,
        builder: reqwest::RequestBuilder,
        method: &Method,
        url: &Url,
    ) -> std::result::Result<ApiResponse, AttemptError> {
        self.inner.execute(builder, method, url).await
    }

    /// Add the configured credentials to a request with this method: the session cookie when
    /// there is one (logging in on first use), else the credentials themselves.
    pub async fn authorize(
        &self,
        builder: reqwest::RequestBuilder,
        method: &Method,
    ) -> Result<reqwest::RequestBuilder> {
        self.inner.authorize(builder, method).await
    }

    /// Add the configured credentials themselves (password, token) to a request.
    pub async fn authorize_direct(
        &self,
        builder: reqwest::RequestBuilder,
    ) -> Result<reqwest::RequestBuilder> {
        self.inner.authorize_direct(builder).await
    }

    /// Which requests are currently authenticated by a session (after a successful login).
    pub fn session_mode(&self) -> SessionMode {
        self.inner.session_mode()
    }

    /// End the session, if one was opened (`DELETE login/`), so it does not linger in Pulp's
    /// session table. Later requests use basic auth again. Does nothing without a session.
    pub async fn logout(&self) -> Result<()> {
        self.inner.logout().await
    }

    /// Decode a JSON body.
    pub fn decode<T: DeserializeOwned>(method: &Method, url: &Url, body: &[u8]) -> Result<T> {
        request::decode(method, url, body)
    }

    /// Send and decode a JSON answer.
    pub async fn request_json<T: DeserializeOwned>(&self, req: ApiRequest) -> Result<T> {
        let (method, url) = (req.method.clone(), req.url.clone());
        let resp = self.send(req).await?;
        Self::decode(&method, &url, &resp.body)
    }

    /// GET and decode.
    pub async fn get_json<T: DeserializeOwned>(&self, url: Url) -> Result<T> {
        self.request_json(ApiRequest::new(Method::GET, url)).await
    }

    /// Send a request that starts a task; returns the task href.
    pub async fn request_task(&self, req: ApiRequest) -> Result<TaskHref> {
        match self.request_change(req).await? {
            (Change::Task(t), _) => Ok(t),
            (Change::Immediate, resp) => Err(ClientError::NoTask {
                method: resp.0,
                url: resp.1.to_string(),
                snippet: request::snippet(&resp.2),
            }),
        }
    }

    /// Send a request that may start a task (202) or apply at once (200/201/204).
    pub async fn request_change(&self, req: ApiRequest) -> Result<(Change, (Method, Url, Bytes))> {
        let (method, url) = (req.method.clone(), req.url.clone());
        let resp = self.send(req).await?;
        if resp.status == StatusCode::ACCEPTED {
            let op: AsyncOperation = Self::decode(&method, &url, &resp.body)?;
            return Ok((Change::Task(op.task), (method, url, resp.body)));
        }
        // Some endpoints answer 200/201 with a task body too.
        if let Ok(op) = serde_json::from_slice::<AsyncOperation>(&resp.body) {
            return Ok((Change::Task(op.task), (method, url, resp.body)));
        }
        Ok((Change::Immediate, (method, url, resp.body)))
    }

    /// Fetch one page of a list endpoint.
    pub async fn get_page<T: DeserializeOwned>(&self, url: Url) -> Result<Page<T>> {
        page::get_page(&self.inner, url).await
    }

    /// All items of a list endpoint, as a stream that fetches pages lazily, following `next`.
    pub fn paginate<T>(&self, first: Url) -> BoxStream<'static, Result<T>>
    where
        T: DeserializeOwned + Send + 'static,
    {
        page::paginate(self.inner.clone(), first)
    }

    /// Collect all items of a list endpoint.
    pub async fn list_all<T>(&self, first: Url) -> Result<Vec<T>>
    where
        T: DeserializeOwned + Send + 'static,
    {
        self.paginate(first).try_collect().await
    }

    /// The underlying reqwest client (for streaming uploads).
    pub fn http(&self) -> &reqwest::Client {
        &self.inner.http
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(domain: Option<&str>, enabled: Option<bool>, root: &str) -> ClientConfig {
        let mut c = ClientConfig::new(Url::parse("https://pulp.example.com").unwrap());
        c.api_root = root.into();
        c.domain = domain.map(str::to_owned);
        c.domains_enabled = enabled;
        c
    }

    #[tokio::test]
    async fn api_base_in_both_layouts() {
        let plain = PulpClient::new(config(None, Some(false), "/pulp/")).unwrap();
        assert_eq!(
            plain
                .api_url("repositories/python/python/")
                .await
                .unwrap()
                .as_str(),
            "https://pulp.example.com/pulp/api/v3/repositories/python/python/"
        );
        let hosted =
            PulpClient::new(config(Some("public-rhai"), Some(true), "/api/pulp/")).unwrap();
        assert_eq!(
            hosted
                .api_url("distributions/python/pypi/")
                .await
                .unwrap()
                .as_str(),
            "https://pulp.example.com/api/pulp/public-rhai/api/v3/distributions/python/pypi/"
        );
        assert_eq!(
            hosted.root_api_url().unwrap().as_str(),
            "https://pulp.example.com/api/pulp/api/v3/"
        );
        // "default" on a server without domains means no domain segment.
        let dflt = PulpClient::new(config(Some("default"), Some(false), "/pulp/")).unwrap();
        assert_eq!(
            dflt.api_url("tasks/").await.unwrap().as_str(),
            "https://pulp.example.com/pulp/api/v3/tasks/"
        );
        let err = PulpClient::new(config(Some("other"), Some(false), "/pulp/")).unwrap_err();
        assert!(err.to_string().contains("domains enabled"), "{err}");
    }

    #[test]
    fn href_urls_keep_only_path_and_query() {
        let c = PulpClient::new(config(None, Some(false), "/pulp/")).unwrap();
        assert_eq!(
            c.href_url("/pulp/api/v3/tasks/1/").unwrap().as_str(),
            "https://pulp.example.com/pulp/api/v3/tasks/1/"
        );
        assert_eq!(
            c.href_url("http://internal:24817/pulp/api/v3/content/?limit=100&offset=100")
                .unwrap()
                .as_str(),
            "https://pulp.example.com/pulp/api/v3/content/?limit=100&offset=100"
        );
        assert!(c.href_url("relative/path").is_err());
    }
}

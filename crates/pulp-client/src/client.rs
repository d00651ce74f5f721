//! The HTTP core: building requests, authentication, retries, decoding, pagination.

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use backoff::backoff::Backoff;
use backoff::ExponentialBackoff;
use bytes::Bytes;
use futures::stream::{self, BoxStream, StreamExt, TryStreamExt};
use reqwest::header::{HeaderMap, HeaderValue, COOKIE, RETRY_AFTER};
use reqwest::{Method, StatusCode};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use tokio::sync::{Mutex, OnceCell};
use tracing::Instrument;
use url::Url;

use crate::config::{Auth, ClientConfig, OAuth2};
use crate::error::{ApiErrorBody, ClientError, ConfigError, Result};
use crate::hrefs::TaskHref;
use crate::session::{Session, SessionMode, SessionState};

/// Whether a request may be sent again after a failure where it might have reached Pulp.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Idempotency {
    /// Sending it twice has the same effect as once (GET, PUT of a chunk, DELETE, ...).
    Idempotent,
    /// Sending it twice could do something twice; retried only when it never left this machine.
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

/// Decide whether an HTTP status is worth retrying.
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

/// The kinds of transport failure that matter for retrying.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TransportFailure {
    /// The connection could not be established: the request never reached the server.
    Connect,
    /// The request timed out, or the connection broke after it was sent.
    AfterSend,
    /// Anything else (a body that could not be built, a redirect loop, ...).
    Other,
}

impl TransportFailure {
    /// Sort a reqwest error.
    pub fn of(err: &reqwest::Error) -> Self {
        if err.is_connect() {
            Self::Connect
        } else if err.is_timeout() || err.is_request() || err.is_body() {
            Self::AfterSend
        } else {
            Self::Other
        }
    }
}

/// Decide whether a transport failure is worth retrying.
pub fn classify_transport(failure: TransportFailure, idempotency: Idempotency) -> RetryDecision {
    match failure {
        TransportFailure::Connect => RetryDecision::Retry,
        TransportFailure::AfterSend if idempotency == Idempotency::Idempotent => {
            RetryDecision::Retry
        }
        _ => RetryDecision::Fail,
    }
}

/// A request body.
#[derive(Debug, Clone, PartialEq)]
pub enum RequestBody {
    /// No body.
    Empty,
    /// A JSON body.
    Json(Value),
}

/// A request to the Pulp API, built but not sent (so tests can inspect it).
#[derive(Debug, Clone, PartialEq)]
pub struct ApiRequest {
    /// The method.
    pub method: Method,
    /// The full URL.
    pub url: Url,
    /// The body.
    pub body: RequestBody,
    /// Whether it may be retried after it possibly reached Pulp.
    pub idempotency: Idempotency,
}

impl ApiRequest {
    /// A request without body, with the method's default idempotency.
    pub fn new(method: Method, url: Url) -> Self {
        let idempotency = Idempotency::of(&method);
        Self {
            method,
            url,
            body: RequestBody::Empty,
            idempotency,
        }
    }

    /// Attach a JSON body.
    pub fn json(mut self, body: &impl Serialize) -> Result<Self> {
        let value = serde_json::to_value(body).map_err(|e| ClientError::Decode {
            method: self.method.clone(),
            url: self.url.to_string(),
            snippet: "(request body)".into(),
            source: e,
        })?;
        self.body = RequestBody::Json(value);
        Ok(self)
    }

    /// Mark as safe to retry even though the method is not idempotent.
    pub fn retry_safe(mut self) -> Self {
        self.idempotency = Idempotency::Idempotent;
        self
    }

    /// Add query parameters.
    pub fn query<K: AsRef<str>, V: AsRef<str>>(mut self, pairs: &[(K, V)]) -> Self {
        if !pairs.is_empty() {
            let mut q = self.url.query_pairs_mut();
            for (k, v) in pairs {
                q.append_pair(k.as_ref(), v.as_ref());
            }
        }
        self
    }
}

/// A raw answer: status, headers and body.
#[derive(Debug, Clone)]
pub struct ApiResponse {
    /// The status.
    pub status: StatusCode,
    /// The headers.
    pub headers: HeaderMap,
    /// The body.
    pub body: Bytes,
}

/// One page of a Pulp list endpoint.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct Page<T> {
    /// Total number of items across all pages.
    pub count: u64,
    /// URL of the next page.
    pub next: Option<String>,
    /// URL of the previous page.
    pub previous: Option<String>,
    /// The items of this page.
    pub results: Vec<T>,
}

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

struct CachedToken {
    token: String,
    expires: Instant,
}

struct Inner {
    http: reqwest::Client,
    config: ClientConfig,
    api_base: OnceCell<Url>,
    token: Mutex<Option<CachedToken>>,
    session: SessionState,
}

/// A client for one Pulp server (and domain). Cheap to clone.
#[derive(Clone)]
pub struct PulpClient {
    inner: Arc<Inner>,
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

impl PulpClient {
    /// Build a client. Does not contact the server.
    pub fn new(config: ClientConfig) -> std::result::Result<Self, ConfigError> {
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
            let certs =
                reqwest::Certificate::from_pem_bundle(&pem).map_err(|e| ConfigError::Tls {
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
        let http = builder
            .build()
            .map_err(|e| ConfigError::HttpClient(e.to_string()))?;
        let api_base = OnceCell::new();
        if let Some(enabled) = config.domains_enabled {
            // Resolved up front: no probe needed.
            let _ = api_base.set(compute_api_base(&config, enabled)?);
        }
        Ok(Self {
            inner: Arc::new(Inner {
                http,
                config,
                api_base,
                token: Mutex::new(None),
                session: SessionState::default(),
            }),
        })
    }

    /// The configuration in use.
    pub fn config(&self) -> &ClientConfig {
        &self.inner.config
    }

    /// The URL of the API root without domain (`{base}{api_root}api/v3/`), where `status/` lives.
    pub fn root_api_url(&self) -> Result<Url> {
        let c = &self.inner.config;
        c.base_url
            .join(&format!("{}api/v3/", c.api_root))
            .map_err(|_| ClientError::Url(c.api_root.clone()))
    }

    /// The URL all resource paths are relative to (`{base}{api_root}[{domain}/]api/v3/`).
    /// With a domain configured and `domains_enabled` unknown, asks the server once.
    pub async fn api_base(&self) -> Result<&Url> {
        self.inner
            .api_base
            .get_or_try_init(|| async {
                let enabled = match &self.inner.config.domain {
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
                                let builder = self
                                    .authorize_direct(self.inner.http.get(url.clone()))
                                    .await?;
                                self.execute(builder, &get, &url).await
                            })
                            .await?;
                        let status: Value = Self::decode(&Method::GET, &url, &resp.body)?;
                        status
                            .get("domain_enabled")
                            .and_then(Value::as_bool)
                            .unwrap_or(false)
                    }
                };
                Ok(compute_api_base(&self.inner.config, enabled)?)
            })
            .await
    }

    /// The URL of a resource path relative to the API base (e.g. `repositories/python/python/`).
    pub async fn api_url(&self, path: &str) -> Result<Url> {
        self.api_base()
            .await?
            .join(path)
            .map_err(|_| ClientError::Url(path.to_owned()))
    }

    /// The URL of an href returned by Pulp (an absolute path, or a full URL whose path is kept).
    pub fn href_url(&self, href: &str) -> Result<Url> {
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
        self.inner
            .config
            .base_url
            .join(&path_and_query)
            .map_err(|_| ClientError::Url(href.to_owned()))
    }

    /// Send a request (with retries) and return the raw answer if its status is a success.
    pub async fn send(&self, req: ApiRequest) -> Result<ApiResponse> {
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

    /// Run `attempt` with the configured backoff, retrying per the classification rules.
    /// Each retry is logged at debug level. `attempt` must rebuild its request each time.
    pub async fn with_retry<T, F, Fut>(
        &self,
        idempotency: Idempotency,
        method: &Method,
        mut attempt: F,
    ) -> Result<T>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = std::result::Result<T, AttemptError>>,
    {
        let r = &self.inner.config.retry;
        let mut policy = ExponentialBackoff {
            initial_interval: r.initial_interval,
            max_interval: r.max_interval,
            max_elapsed_time: Some(r.max_elapsed),
            ..ExponentialBackoff::default()
        };
        policy.reset();
        let mut attempts = 0u32;
        let mut reauthenticated = false;
        loop {
            attempts += 1;
            match attempt().await {
                Ok(v) => return Ok(v),
                Err(AttemptError {
                    error,
                    retry_after,
                    reauth,
                }) => {
                    if reauth && !reauthenticated {
                        // Refused before doing anything: safe to send again with the password.
                        reauthenticated = true;
                        tracing::debug!(%method, "session refused; sending again with basic auth");
                        continue;
                    }
                    let decision = match &error {
                        ClientError::Http { status, .. } => classify_status(*status, idempotency),
                        ClientError::Transport { source, .. } => {
                            classify_transport(TransportFailure::of(source), idempotency)
                        }
                        _ => RetryDecision::Fail,
                    };
                    if decision == RetryDecision::Fail {
                        return Err(error);
                    }
                    let Some(mut delay) = policy.next_backoff() else {
                        tracing::debug!(%method, attempts, "giving up after retries");
                        return Err(error);
                    };
                    if let Some(ra) = retry_after {
                        delay = delay.max(ra.min(r.max_interval * 4));
                    }
                    tracing::debug!(%method, attempt = attempts, delay_ms = delay.as_millis() as u64, error = %error, "retrying");
                    tokio::time::sleep(delay).await;
                }
            }
        }
    }

    async fn send_once(&self, req: &ApiRequest) -> std::result::Result<ApiResponse, AttemptError> {
        let mut builder = self.inner.http.request(req.method.clone(), req.url.clone());
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
    pub async fn execute(
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
            .inner
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
            self.inner
                .session
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

    /// Add the configured credentials to a request with this method: the session cookie when
    /// there is one (logging in on first use), else the credentials themselves.
    pub async fn authorize(
        &self,
        builder: reqwest::RequestBuilder,
        method: &Method,
    ) -> Result<reqwest::RequestBuilder> {
        let c = &self.inner.config;
        if c.session_login && matches!(c.auth, Auth::Basic { .. }) {
            let session = self.inner.session.get(method, || self.login()).await;
            if let Some(headers) = session.and_then(|s| s.headers(method, &self.origin())) {
                return Ok(builder.headers(headers));
            }
        }
        self.authorize_direct(builder).await
    }

    /// `scheme://host[:port]` of the server, as Django's CSRF origin check expects.
    fn origin(&self) -> String {
        self.inner.config.base_url.origin().ascii_serialization()
    }

    /// `POST login/` with the password; `None` (and basic auth from then on) if that fails.
    async fn login(&self) -> Option<Session> {
        let url = match self.api_url("login/").await {
            Ok(u) => u,
            Err(e) => {
                tracing::debug!(error = %e, "no session login: API base unknown");
                return None;
            }
        };
        let span =
            tracing::debug_span!("pulp", method = "POST", url = %url, purpose = "session login");
        async {
            let start = Instant::now();
            let builder = self
                .authorize_direct(self.inner.http.post(url.clone()))
                .await
                .ok()?;
            let elapsed = |start: Instant| start.elapsed().as_millis() as u64;
            match builder.send().await {
                Ok(resp) if resp.status().is_success() => {
                    let session = Session::from_login_headers(resp.headers());
                    tracing::debug!(
                        status = resp.status().as_u16(),
                        elapsed_ms = elapsed(start),
                        session = session.is_some(),
                        "done"
                    );
                    session
                }
                Ok(resp) => {
                    tracing::debug!(
                        status = resp.status().as_u16(),
                        elapsed_ms = elapsed(start),
                        "no session; using basic auth on every request"
                    );
                    None
                }
                Err(e) => {
                    tracing::debug!(error = %e, "no session; using basic auth on every request");
                    None
                }
            }
        }
        .instrument(span)
        .await
    }

    /// Which requests are currently authenticated by a session (after a successful login).
    pub fn session_mode(&self) -> SessionMode {
        self.inner.session.mode()
    }

    /// End the session, if one was opened (`DELETE login/`), so it does not linger in Pulp's
    /// session table. Later requests use basic auth again. Does nothing without a session.
    pub async fn logout(&self) -> Result<()> {
        let Some(session) = self.inner.session.end() else {
            return Ok(());
        };
        let method = Method::DELETE;
        let url = self.api_url("login/").await?;
        let Some(headers) = session.headers(&method, &self.origin()) else {
            return Ok(());
        };
        let span = tracing::debug_span!("pulp", %method, %url, purpose = "session logout");
        let builder = self.inner.http.delete(url.clone()).headers(headers);
        self.execute(builder, &method, &url)
            .instrument(span)
            .await
            .map(|_| ())
            .map_err(|e| e.error)
    }

    /// Add the configured credentials themselves (password, token) to a request.
    pub async fn authorize_direct(
        &self,
        builder: reqwest::RequestBuilder,
    ) -> Result<reqwest::RequestBuilder> {
        Ok(match &self.inner.config.auth {
            Auth::None => builder,
            Auth::Basic { username, password } => {
                builder.basic_auth(username, Some(password.expose()))
            }
            Auth::Bearer(token) => builder.bearer_auth(token.expose()),
            Auth::OAuth2(oauth) => builder.bearer_auth(self.oauth_token(oauth).await?),
        })
    }

    async fn oauth_token(&self, oauth: &OAuth2) -> Result<String> {
        let mut cached = self.inner.token.lock().await;
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
        let fail = |reason: String| ClientError::Token {
            token_url: token_url.clone(),
            reason,
        };
        let resp = self
            .inner
            .http
            .post(oauth.token_url.clone())
            .basic_auth(&oauth.client_id, Some(oauth.client_secret.expose()))
            .form(&form)
            .send()
            .await
            .map_err(|e| fail(e.to_string()))?;
        let status = resp.status();
        let body = resp.bytes().await.map_err(|e| fail(e.to_string()))?;
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
        *cached = Some(CachedToken {
            token: answer.access_token.clone(),
            expires: Instant::now() + lifetime - margin,
        });
        Ok(answer.access_token)
    }

    /// Decode a JSON body.
    pub fn decode<T: DeserializeOwned>(method: &Method, url: &Url, body: &[u8]) -> Result<T> {
        serde_json::from_slice(body).map_err(|source| ClientError::Decode {
            method: method.clone(),
            url: url.to_string(),
            snippet: snippet(body),
            source,
        })
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
                snippet: snippet(&resp.2),
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

    /// Send a change (PATCH/DELETE/...) and, when Pulp answers with a task, wait for it.
    pub async fn apply_change(
        &self,
        req: ApiRequest,
        wait: &crate::tasks::WaitOptions,
    ) -> Result<Change> {
        let (change, _) = self.request_change(req).await?;
        if let Change::Task(t) = &change {
            self.wait_task(t, wait).await?;
        }
        Ok(change)
    }

    /// Fetch one page of a list endpoint.
    pub async fn get_page<T: DeserializeOwned>(&self, url: Url) -> Result<Page<T>> {
        self.get_json(url).await
    }

    /// All items of a list endpoint, as a stream that fetches pages lazily, following `next`.
    pub fn paginate<T>(&self, first: Url) -> BoxStream<'static, Result<T>>
    where
        T: DeserializeOwned + Send + 'static,
    {
        let client = self.clone();
        stream::try_unfold(Some(first), move |next| {
            let client = client.clone();
            async move {
                let Some(url) = next else {
                    return Ok::<_, ClientError>(None);
                };
                let page: Page<T> = client.get_page(url).await?;
                let next = page
                    .next
                    .as_deref()
                    .map(|n| client.href_url(n))
                    .transpose()?;
                Ok(Some((stream::iter(page.results.into_iter().map(Ok)), next)))
            }
        })
        .try_flatten()
        .boxed()
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

fn snippet(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let mut s: String = text.chars().take(200).collect();
    if text.chars().count() > 200 {
        s.push('…');
    }
    s
}

/// A failed attempt: the error and, for 429/503, how long the server asked us to wait.
#[derive(Debug)]
pub struct AttemptError {
    /// The error.
    pub error: ClientError,
    /// The server's `Retry-After`, if any.
    pub retry_after: Option<Duration>,
    /// The server refused the session: send again at once with the credentials themselves.
    pub reauth: bool,
}

impl AttemptError {
    /// An error that is never retried.
    pub fn fatal(error: ClientError) -> Self {
        Self {
            error,
            retry_after: None,
            reauth: false,
        }
    }
}

impl From<ClientError> for AttemptError {
    fn from(error: ClientError) -> Self {
        Self::fatal(error)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_classification() {
        use Idempotency::*;
        for s in [429u16, 502, 503, 504] {
            let s = StatusCode::from_u16(s).unwrap();
            assert_eq!(classify_status(s, Idempotent), RetryDecision::Retry, "{s}");
            assert_eq!(
                classify_status(s, NotIdempotent),
                RetryDecision::Fail,
                "{s}"
            );
        }
        for s in [400u16, 401, 403, 404, 409, 500] {
            let s = StatusCode::from_u16(s).unwrap();
            assert_eq!(classify_status(s, Idempotent), RetryDecision::Fail, "{s}");
        }
        assert_eq!(
            classify_transport(TransportFailure::Connect, NotIdempotent),
            RetryDecision::Retry
        );
        assert_eq!(
            classify_transport(TransportFailure::AfterSend, NotIdempotent),
            RetryDecision::Fail
        );
        assert_eq!(
            classify_transport(TransportFailure::AfterSend, Idempotent),
            RetryDecision::Retry
        );
        assert_eq!(
            classify_transport(TransportFailure::Other, Idempotent),
            RetryDecision::Fail
        );
        assert_eq!(Idempotency::of(&Method::POST), NotIdempotent);
        assert_eq!(Idempotency::of(&Method::PATCH), NotIdempotent);
        assert_eq!(Idempotency::of(&Method::PUT), Idempotent);
    }

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

    #[test]
    fn requests_are_inspectable() {
        let url = Url::parse("https://h/pulp/api/v3/content/python/packages/").unwrap();
        let req = ApiRequest::new(Method::GET, url).query(&[("sha256", "ab"), ("limit", "100")]);
        assert_eq!(req.url.query(), Some("sha256=ab&limit=100"));
        assert_eq!(req.idempotency, Idempotency::Idempotent);
        let post = ApiRequest::new(Method::POST, req.url.clone());
        assert_eq!(post.idempotency, Idempotency::NotIdempotent);
        assert_eq!(post.retry_safe().idempotency, Idempotency::Idempotent);
    }
}

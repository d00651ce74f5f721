//! The index client: requests with retries, tracing, typed errors; pages, metadata, downloads.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures::StreamExt;
use reqwest::header::{ACCEPT, CONTENT_TYPE, ETAG, IF_NONE_MATCH};
use reqwest::StatusCode;
use sha2::{Digest, Sha256};
use tokio::io::AsyncWriteExt;
use tracing::Instrument;
use url::Url;
use uv_normalize::PackageName;
use wheelgate_http::{
    build_client, classify_status, classify_transport, client_builder, retry_after, with_retry,
    Attempt, Idempotency, RetryDecision, RetryPolicy, SafeUrl, TlsSettings, TransportError,
};

use crate::error::{IndexError, SetupError};
use crate::model::{IndexFile, PageFormat, ProjectList, ProjectPage, RootRevalidation};
use crate::{html, json};

/// What pages are requested as: PEP 691 JSON first, HTML as a fallback.
const PAGE_ACCEPT: &str = "application/vnd.pypi.simple.v1+json, application/vnd.pypi.simple.v1+html;q=0.2, text/html;q=0.01";

/// How much of an error body is kept for classification and messages.
const SNIPPET_BYTES: usize = 4096;

/// Settings of an [`IndexClient`].
#[derive(Debug, Clone)]
pub struct IndexConfig {
    /// Client certificate, CA bundle, verification.
    pub tls: TlsSettings,
    /// Longest a page or metadata request may take, retries not counted.
    pub timeout: Duration,
    /// Longest a connection may take to establish.
    pub connect_timeout: Duration,
    /// Longest a download may go without receiving data.
    pub read_timeout: Duration,
    /// Retries of one request (5xx/429, timeouts, broken connections).
    pub retry: RetryPolicy,
    /// `User-Agent` header.
    pub user_agent: String,
}

impl Default for IndexConfig {
    fn default() -> Self {
        Self {
            tls: TlsSettings::default(),
            timeout: Duration::from_secs(30),
            connect_timeout: Duration::from_secs(10),
            read_timeout: Duration::from_secs(60),
            retry: RetryPolicy::default(),
            user_agent: concat!("wheelgate/", env!("CARGO_PKG_VERSION")).to_owned(),
        }
    }
}

/// A downloaded file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Downloaded {
    /// Where it is.
    pub path: PathBuf,
    /// Its size in bytes.
    pub size: u64,
    /// Its sha256, lower-case hex.
    pub sha256: String,
}

/// A client for a simple index as pip sees it. Cheap to clone; clones share connections.
#[derive(Debug, Clone)]
pub struct IndexClient {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    http: reqwest::Client,
    config: IndexConfig,
    /// The hosts (`host:port`) that have answered (a refused connection on first contact with
    /// a host is a wrong address, not worth retrying).
    reached: Mutex<HashSet<String>>,
}

/// A successful answer, body read.
struct Fetched {
    url: Url,
    content_type: Option<String>,
    etag: Option<String>,
    /// A 304 to a conditional request (empty body).
    not_modified: bool,
    body: Bytes,
}

fn dir_url(url: &Url) -> Url {
    let mut u = url.clone();
    if !u.path().ends_with('/') {
        let p = format!("{}/", u.path());
        u.set_path(&p);
    }
    u
}

fn snippet(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(&body[..body.len().min(SNIPPET_BYTES)]);
    let mut s: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if s.chars().count() > 200 {
        s = s.chars().take(200).collect::<String>() + "…";
    }
    s
}

static TEMP_COUNTER: AtomicU64 = AtomicU64::new(0);

/// A temporary file next to the destination, removed on drop unless persisted.
struct TempFile {
    path: Option<PathBuf>,
}

impl TempFile {
    async fn create(dest: &Path) -> std::io::Result<(Self, tokio::fs::File)> {
        let dir = match dest.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_owned(),
            _ => PathBuf::from("."),
        };
        let name = dest
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "download".to_owned());
        let n = TEMP_COUNTER.fetch_add(1, Ordering::Relaxed);
        let path = dir.join(format!(".{name}.{}.{n}.part", std::process::id()));
        let file = tokio::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&path)
            .await?;
        Ok((Self { path: Some(path) }, file))
    }

    fn persist(mut self, dest: &Path) -> std::io::Result<()> {
        if let Some(p) = self.path.take() {
            if let Err(e) = std::fs::rename(&p, dest) {
                let _ = std::fs::remove_file(&p);
                return Err(e);
            }
        }
        Ok(())
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        if let Some(p) = self.path.take() {
            let _ = std::fs::remove_file(p);
        }
    }
}

impl IndexClient {
    /// Build a client (reads and checks the TLS files; does not contact any server).
    pub fn new(config: IndexConfig) -> Result<Self, SetupError> {
        let builder = client_builder(&config.tls)?
            .user_agent(config.user_agent.clone())
            .connect_timeout(config.connect_timeout)
            .read_timeout(config.read_timeout)
            .pool_idle_timeout(Duration::from_secs(30))
            .redirect(reqwest::redirect::Policy::limited(10));
        let http = build_client(builder)?;
        Ok(Self {
            inner: Arc::new(Inner {
                http,
                config,
                reached: Mutex::new(HashSet::new()),
            }),
        })
    }

    /// The settings in use.
    pub fn config(&self) -> &IndexConfig {
        &self.inner.config
    }

    /// The page URL of `name` under the index root `index` (`<index>/<normalised name>/`).
    pub fn project_url(index: &Url, name: &PackageName) -> Url {
        let mut u = dir_url(index);
        let p = format!("{}{name}/", u.path());
        u.set_path(&p);
        u
    }

    /// The index root's project list; `None` when the root is not found (404/410).
    pub async fn root(&self, index: &Url) -> Result<Option<ProjectList>, IndexError> {
        let url = dir_url(index);
        let Some(f) = self.get(&url, PAGE_ACCEPT, true, None).await? else {
            return Ok(None);
        };
        Self::parse_root(f).map(Some)
    }

    /// The index root, asked with `If-None-Match: <etag>` (an `ETag` an earlier answer carried):
    /// one request, and no page is rendered or sent when the server answers 304.
    pub async fn root_if_none_match(
        &self,
        index: &Url,
        etag: &str,
    ) -> Result<RootRevalidation, IndexError> {
        let url = dir_url(index);
        let Some(f) = self.get(&url, PAGE_ACCEPT, true, Some(etag)).await? else {
            return Ok(RootRevalidation::Missing);
        };
        if f.not_modified {
            return Ok(RootRevalidation::NotModified { etag: f.etag });
        }
        Self::parse_root(f).map(RootRevalidation::Modified)
    }

    fn parse_root(f: Fetched) -> Result<ProjectList, IndexError> {
        let format = page_format(&f);
        let projects = match format {
            PageFormat::Json => json::parse_root(&f.body),
            PageFormat::Html => html::parse_root(&f.url, &f.body),
        }
        .map_err(|source| IndexError::Decode {
            url: SafeUrl(&f.url).to_string(),
            what: "index root",
            source,
        })?;
        Ok(ProjectList {
            url: f.url,
            format,
            projects,
            etag: f.etag,
        })
    }

    /// A project's page; `None` when the index has no such project (404/410).
    pub async fn project(
        &self,
        index: &Url,
        name: &PackageName,
    ) -> Result<Option<ProjectPage>, IndexError> {
        let url = Self::project_url(index, name);
        let Some(f) = self.get(&url, PAGE_ACCEPT, true, None).await? else {
            return Ok(None);
        };
        let format = page_format(&f);
        let files = match format {
            PageFormat::Json => json::parse_project(&f.url, &f.body),
            PageFormat::Html => html::parse_project(&f.url, &f.body),
        }
        .map_err(|source| IndexError::Decode {
            url: SafeUrl(&f.url).to_string(),
            what: "project page",
            source,
        })?;
        Ok(Some(ProjectPage {
            name: name.clone(),
            url: f.url,
            format,
            files,
            etag: f.etag,
        }))
    }

    /// A file's PEP 658 metadata (`<file>.metadata`), checked against the sha256 the page gives.
    /// `None` when the page does not offer it or the server does not have it.
    pub async fn metadata(&self, file: &IndexFile) -> Result<Option<Bytes>, IndexError> {
        let Some(url) = file.metadata_url() else {
            return Ok(None);
        };
        let Some(f) = self.get(&url, "*/*", true, None).await? else {
            return Ok(None);
        };
        if let Some(expected) = file.metadata_sha256() {
            let actual = hex::encode(Sha256::digest(&f.body));
            if actual != expected {
                return Err(IndexError::HashMismatch {
                    url: SafeUrl(&url).to_string(),
                    expected,
                    actual,
                });
            }
        }
        Ok(Some(f.body))
    }

    /// Download `url` to `dest`, streaming into a temporary file next to it and hashing on the
    /// way; renamed into place only when complete and (if `expected_sha256` is given) matching.
    /// Nothing is left behind on failure. Retried from the start on transient failures.
    pub async fn download(
        &self,
        url: &Url,
        dest: &Path,
        expected_sha256: Option<&str>,
    ) -> Result<Downloaded, IndexError> {
        let safe = SafeUrl(url).to_string();
        let what = format!("GET {safe}");
        with_retry(&self.inner.config.retry, &what, || {
            self.download_once(url, &safe, dest, expected_sha256)
        })
        .await
    }

    async fn download_once(
        &self,
        url: &Url,
        safe: &str,
        dest: &Path,
        expected: Option<&str>,
    ) -> Result<Downloaded, Attempt<IndexError>> {
        let Some(resp) = self.send(url, safe, "*/*", None, false, None).await? else {
            // send() only returns None when missing_ok.
            return Err(Attempt::fatal(IndexError::Status {
                url: safe.to_owned(),
                status: StatusCode::NOT_FOUND,
                snippet: String::new(),
            }));
        };
        let announced = resp.content_length();
        let io = |source| {
            Attempt::fatal(IndexError::Io {
                path: dest.to_owned(),
                source,
            })
        };
        let (temp, mut file) = TempFile::create(dest).await.map_err(io)?;
        let mut hasher = Sha256::new();
        let mut size = 0u64;
        let mut stream = resp.bytes_stream();
        while let Some(chunk) = stream.next().await {
            let chunk = chunk.map_err(|e| self.transport_attempt(url, safe, e))?;
            hasher.update(&chunk);
            size += chunk.len() as u64;
            file.write_all(&chunk).await.map_err(io)?;
        }
        if let Some(expected) = announced.filter(|n| *n != size) {
            return Err(Attempt {
                error: IndexError::Truncated {
                    url: safe.to_owned(),
                    expected,
                    received: size,
                },
                decision: RetryDecision::Retry,
                retry_after: None,
            });
        }
        file.flush().await.map_err(io)?;
        file.sync_all().await.map_err(io)?;
        drop(file);
        let actual = hex::encode(hasher.finalize());
        if let Some(expected) = expected {
            if !expected.eq_ignore_ascii_case(&actual) {
                return Err(Attempt::fatal(IndexError::HashMismatch {
                    url: safe.to_owned(),
                    expected: expected.to_ascii_lowercase(),
                    actual,
                }));
            }
        }
        temp.persist(dest).map_err(io)?;
        Ok(Downloaded {
            path: dest.to_owned(),
            size,
            sha256: actual,
        })
    }

    /// GET with retries, body read whole (pages, metadata). `None` on 404/410 when `missing_ok`.
    /// With `if_none_match`, a 304 is an answer too (`not_modified`, empty body).
    async fn get(
        &self,
        url: &Url,
        accept: &'static str,
        missing_ok: bool,
        if_none_match: Option<&str>,
    ) -> Result<Option<Fetched>, IndexError> {
        let safe = SafeUrl(url).to_string();
        let what = format!("GET {safe}");
        let timeout = Some(self.inner.config.timeout);
        with_retry(&self.inner.config.retry, &what, || async {
            let Some(resp) = self
                .send(url, &safe, accept, timeout, missing_ok, if_none_match)
                .await?
            else {
                return Ok(None);
            };
            let final_url = resp.url().clone();
            let header = |name| {
                resp.headers()
                    .get(name)
                    .and_then(|v: &reqwest::header::HeaderValue| v.to_str().ok())
                    .map(str::to_owned)
            };
            let content_type = header(CONTENT_TYPE);
            let etag = header(ETAG);
            let not_modified = resp.status() == StatusCode::NOT_MODIFIED;
            let body = resp
                .bytes()
                .await
                .map_err(|e| self.transport_attempt(url, &safe, e))?;
            Ok(Some(Fetched {
                url: final_url,
                content_type,
                etag,
                not_modified,
                body,
            }))
        })
        .await
    }

    fn reached(&self, url: &Url, now: bool) -> bool {
        let host = format!(
            "{}:{}",
            url.host_str().unwrap_or_default(),
            url.port_or_known_default().unwrap_or_default()
        );
        // A poisoned lock only means another request panicked; the set is still usable.
        let mut set = self
            .inner
            .reached
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if now {
            set.insert(host);
            true
        } else {
            set.contains(&host)
        }
    }

    fn transport_attempt(&self, url: &Url, safe: &str, err: reqwest::Error) -> Attempt<IndexError> {
        let source = TransportError::new(err, self.inner.config.tls.has_client_cert());
        let decision = classify_transport(
            &source.failure,
            Idempotency::Idempotent,
            self.reached(url, false),
        );
        Attempt {
            error: IndexError::Transport {
                url: safe.to_owned(),
                source,
            },
            decision,
            retry_after: None,
        }
    }

    /// Send one GET; a success response (body unread; also a 304 when `if_none_match` is
    /// given), `None` for 404/410 when `missing_ok`, or a classified failure. One tracing span
    /// per request.
    async fn send(
        &self,
        url: &Url,
        safe: &str,
        accept: &'static str,
        timeout: Option<Duration>,
        missing_ok: bool,
        if_none_match: Option<&str>,
    ) -> Result<Option<reqwest::Response>, Attempt<IndexError>> {
        let span = tracing::debug_span!(
            "index_request",
            method = "GET",
            url = safe,
            status = tracing::field::Empty,
            elapsed_ms = tracing::field::Empty,
        );
        let start = Instant::now();
        async {
            let mut req = self.inner.http.get(url.clone()).header(ACCEPT, accept);
            if let Some(t) = timeout {
                req = req.timeout(t);
            }
            if let Some(etag) = if_none_match {
                req = req.header(IF_NONE_MATCH, etag);
            }
            let result = req.send().await;
            let elapsed_ms = start.elapsed().as_millis() as u64;
            tracing::Span::current().record("elapsed_ms", elapsed_ms);
            let resp = match result {
                Ok(r) => r,
                Err(e) => {
                    let attempt = self.transport_attempt(url, safe, e);
                    tracing::debug!(error = %attempt.error, "no response");
                    return Err(attempt);
                }
            };
            self.reached(url, true);
            self.reached(resp.url(), true);
            let status = resp.status();
            tracing::Span::current().record("status", status.as_u16());
            tracing::debug!("response");
            if status.is_success()
                || (status == StatusCode::NOT_MODIFIED && if_none_match.is_some())
            {
                return Ok(Some(resp));
            }
            if missing_ok && matches!(status, StatusCode::NOT_FOUND | StatusCode::GONE) {
                return Ok(None);
            }
            let decision = classify_status(status, Idempotency::Idempotent);
            let retry_after = retry_after(resp.headers());
            let body = read_snippet(resp).await;
            Err(Attempt {
                error: status_error(safe, status, &body),
                decision,
                retry_after,
            })
        }
        .instrument(span)
        .await
    }
}

/// Read at most [`SNIPPET_BYTES`] of an error body (errors reading it are ignored: the status
/// is the news).
async fn read_snippet(mut resp: reqwest::Response) -> Vec<u8> {
    let mut body = Vec::new();
    while body.len() < SNIPPET_BYTES {
        match resp.chunk().await {
            Ok(Some(c)) => body.extend_from_slice(&c),
            _ => break,
        }
    }
    body
}

/// Turn an unexpected status into an error, recognising what TLS fronts say about client
/// certificates.
fn status_error(url: &str, status: StatusCode, body: &[u8]) -> IndexError {
    let text = String::from_utf8_lossy(&body[..body.len().min(SNIPPET_BYTES)]);
    let url = url.to_owned();
    // nginx answers 400 with these pages (internally 496 and 495).
    if status.as_u16() == 496
        || (status == StatusCode::BAD_REQUEST
            && text.contains("No required SSL certificate was sent"))
    {
        return IndexError::ClientCertRequired { url, status };
    }
    if status.as_u16() == 495
        || (status == StatusCode::BAD_REQUEST && text.contains("The SSL certificate error"))
    {
        return IndexError::ClientCertRejected { url, status };
    }
    let snippet = snippet(body);
    if status == StatusCode::UNAUTHORIZED || status == StatusCode::FORBIDDEN {
        return IndexError::AccessRefused {
            url,
            status,
            snippet,
        };
    }
    IndexError::Status {
        url,
        status,
        snippet,
    }
}

fn page_format(f: &Fetched) -> PageFormat {
    if let Some(ct) = &f.content_type {
        let ct = ct.to_ascii_lowercase();
        if ct.starts_with(json::MEDIA_TYPE) || ct.starts_with("application/json") {
            return PageFormat::Json;
        }
        if ct.starts_with("text/html") || ct.contains("+html") {
            return PageFormat::Html;
        }
    }
    match f.body.iter().find(|b| !b.is_ascii_whitespace()) {
        Some(b'{') => PageFormat::Json,
        _ => PageFormat::Html,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn project_url_normalises_and_adds_slashes() {
        let index = Url::parse("https://front/api/pypi/d/prod/simple").unwrap();
        let name: PackageName = "Zope.Interface".parse().unwrap();
        assert_eq!(
            IndexClient::project_url(&index, &name).as_str(),
            "https://front/api/pypi/d/prod/simple/zope-interface/"
        );
    }

    #[test]
    fn nginx_client_cert_pages_are_recognised() {
        let body = b"<html>\r\n<head><title>400 No required SSL certificate was sent</title></head>\r\n<body>\r\n<center><h1>400 Bad Request</h1></center>\r\n<center>No required SSL certificate was sent</center>\r\n<hr><center>nginx/1.22.1</center>\r\n</body>\r\n</html>";
        let e = status_error("https://f/", StatusCode::BAD_REQUEST, body);
        assert!(matches!(e, IndexError::ClientCertRequired { .. }), "{e:?}");
        assert!(e
            .hint()
            .is_some_and(|h| h.contains("[customer] client_cert")));
        let body = b"<html><head><title>400 The SSL certificate error</title></head></html>";
        let e = status_error("https://f/", StatusCode::BAD_REQUEST, body);
        assert!(matches!(e, IndexError::ClientCertRejected { .. }), "{e:?}");
        let e = status_error("https://f/", StatusCode::BAD_REQUEST, b"bad");
        assert_eq!(e.to_string(), "GET https://f/: HTTP 400 Bad Request: bad");
        let e = status_error("https://f/", StatusCode::FORBIDDEN, b"  no\n\n way ");
        assert!(matches!(&e, IndexError::AccessRefused { snippet, .. } if snippet == "no way"));
        assert!(e.hint().is_some_and(|h| h.contains("client certificate")));
    }
}

//! Chunked uploads: big files go up in parallel chunks, each with its own sha256 and retries.

use std::path::Path;
use std::sync::Arc;

use bytes::Bytes;
use reqwest::Method;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use tokio::io::AsyncReadExt;
use tokio::task::JoinSet;
use tracing::Instrument;

use crate::client::PulpClient;
use crate::error::{ClientError, Result, UploadError};
use crate::hrefs::UploadHref;
use crate::{ApiRequest, Idempotency};

/// An upload as Pulp reports it.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct Upload {
    /// Its href.
    pub pulp_href: UploadHref,
    /// Declared total size.
    pub size: u64,
    /// When it was created.
    #[serde(default)]
    pub pulp_created: Option<String>,
}

/// Options of a chunked upload.
#[derive(Debug, Clone)]
pub struct ChunkedOptions {
    /// Bytes per chunk. Pulp's API reads each chunk into memory: 10–100 MB is sensible.
    pub chunk_size: u64,
    /// Chunks in flight at once. Memory use is about `chunk_size * (parallel + 1)`.
    pub parallel: usize,
}

impl Default for ChunkedOptions {
    fn default() -> Self {
        Self {
            chunk_size: 16 * 1024 * 1024,
            parallel: 3,
        }
    }
}

/// Receives byte counts as chunks are acknowledged by Pulp.
pub trait ByteProgress: Send + Sync {
    /// `bytes` more bytes were accepted.
    fn advance(&self, bytes: u64);
}

/// A progress sink that ignores everything.
#[derive(Debug, Default, Clone, Copy)]
pub struct NoProgress;

impl ByteProgress for NoProgress {
    fn advance(&self, _bytes: u64) {}
}

/// A finished (uncommitted) chunked upload.
#[derive(Debug, Clone)]
pub struct ChunkedUpload {
    /// The upload; pass it to content creation, then it is gone.
    pub href: UploadHref,
    /// Total size.
    pub size: u64,
    /// SHA-256 of the whole file, computed while reading it.
    pub sha256: String,
    /// Number of chunks sent.
    pub chunks: usize,
    /// Most chunks that were in flight at the same time.
    pub peak_parallel: usize,
}

impl PulpClient {
    /// Create an upload of `size` bytes. Retried on transient errors: an unreferenced
    /// upload is harmless (and [`PulpClient::delete_upload`] cleans up).
    pub async fn create_upload(&self, size: u64) -> Result<Upload> {
        let req = ApiRequest::new(Method::POST, self.api_url("uploads/").await?)
            .json(&serde_json::json!({"size": size}))?
            .retry_safe();
        self.request_json(req).await
    }

    /// Get an upload.
    pub async fn upload(&self, href: &UploadHref) -> Result<Upload> {
        self.get_json(self.href_url(href.as_str())?).await
    }

    /// Delete an upload (abandoned or failed).
    pub async fn delete_upload(&self, href: &UploadHref) -> Result<()> {
        self.send(ApiRequest::new(
            Method::DELETE,
            self.href_url(href.as_str())?,
        ))
        .await?;
        Ok(())
    }

    /// List uploads (e.g. to find abandoned ones).
    pub async fn list_uploads(&self) -> Result<Vec<Upload>> {
        let url = self.api_url("uploads/").await?;
        self.list_all(url).await
    }

    /// PUT one chunk (`Content-Range: bytes start-end/total`, with the chunk's sha256).
    /// Idempotent: the same bytes at the same offset; retried on transient errors.
    pub async fn put_chunk(
        &self,
        upload: &UploadHref,
        data: Bytes,
        start: u64,
        total: u64,
    ) -> Result<()> {
        if data.is_empty() {
            return Ok(());
        }
        let end = start + data.len() as u64 - 1;
        let url = self.href_url(upload.as_str())?;
        let sha = hex::encode(Sha256::digest(&data));
        let method = Method::PUT;
        let span =
            tracing::debug_span!("pulp", %method, %url, range = %format!("{start}-{end}/{total}"));
        self.with_retry(Idempotency::Idempotent, &method, || {
            let data = data.clone();
            let sha = sha.clone();
            let url = url.clone();
            let method = method.clone();
            async move {
                let part = reqwest::multipart::Part::stream_with_length(
                    reqwest::Body::from(data.clone()),
                    data.len() as u64,
                )
                .file_name("chunk")
                .mime_str("application/octet-stream")
                .map_err(|e| ClientError::Url(e.to_string()))?;
                let form = reqwest::multipart::Form::new()
                    .part("file", part)
                    .text("sha256", sha);
                let builder = self
                    .http()
                    .put(url.clone())
                    .header(
                        reqwest::header::CONTENT_RANGE,
                        format!("bytes {start}-{end}/{total}"),
                    )
                    .multipart(form);
                let builder = self.authorize(builder, &method).await?;
                self.execute(builder, &method, &url).await.map(|_| ())
            }
        })
        .instrument(span)
        .await
    }

    /// Upload a file in chunks, `opts.parallel` at a time, reading it once from disk and
    /// hashing it as it goes. Memory stays at about `chunk_size * (parallel + 1)`.
    /// On failure the upload is deleted. The returned upload is **not committed**: create
    /// content from it with its sha256.
    pub async fn upload_chunked(
        &self,
        path: &Path,
        opts: &ChunkedOptions,
        progress: Arc<dyn ByteProgress>,
    ) -> Result<ChunkedUpload> {
        let io = |source| ClientError::Io {
            path: path.to_owned(),
            source,
        };
        let mut file = tokio::fs::File::open(path).await.map_err(io)?;
        let size = file.metadata().await.map_err(io)?.len();
        let upload = self.create_upload(size).await?;
        let href = upload.pulp_href;
        let result = self
            .send_chunks(&mut file, path, &href, size, opts, progress)
            .instrument(tracing::debug_span!("chunked_upload", upload = %href, size))
            .await;
        match result {
            Ok((sha256, chunks, peak_parallel)) => Ok(ChunkedUpload {
                href,
                size,
                sha256,
                chunks,
                peak_parallel,
            }),
            Err(e) => {
                if let Err(del) = self.delete_upload(&href).await {
                    tracing::warn!(upload = %href, error = %del, "could not delete the abandoned upload");
                }
                Err(e)
            }
        }
    }

    async fn send_chunks(
        &self,
        file: &mut tokio::fs::File,
        path: &Path,
        href: &UploadHref,
        size: u64,
        opts: &ChunkedOptions,
        progress: Arc<dyn ByteProgress>,
    ) -> Result<(String, usize, usize)> {
        let chunk_size = opts.chunk_size.max(1);
        let parallel = opts.parallel.max(1);
        let mut hasher = Sha256::new();
        // Chunks run as tasks so they progress while the next chunk is read from disk;
        // dropping the set (on error) aborts the ones still running.
        let mut in_flight: JoinSet<std::result::Result<(), UploadError>> = JoinSet::new();
        let mut offset = 0u64;
        let mut chunks = 0usize;
        let mut peak = 0usize;
        let span = tracing::Span::current();
        while offset < size {
            let want = chunk_size.min(size - offset) as usize;
            let mut buf = vec![0u8; want];
            let mut filled = 0;
            while filled < want {
                let n = file
                    .read(&mut buf[filled..])
                    .await
                    .map_err(|source| ClientError::Io {
                        path: path.to_owned(),
                        source,
                    })?;
                if n == 0 {
                    return Err(UploadError::FileChanged {
                        path: path.to_owned(),
                        expected: size,
                        read: offset + filled as u64,
                    }
                    .into());
                }
                filled += n;
            }
            hasher.update(&buf);
            let data = Bytes::from(buf);
            let start = offset;
            offset += want as u64;
            let (client, href, progress, path) = (
                self.clone(),
                href.clone(),
                progress.clone(),
                path.to_owned(),
            );
            in_flight.spawn(
                async move {
                    let len = data.len() as u64;
                    let end = start + len - 1;
                    client
                        .put_chunk(&href, data, start, size)
                        .await
                        .map_err(|e| UploadError::Chunk {
                            path,
                            start,
                            end,
                            source: Box::new(e),
                        })?;
                    progress.advance(len);
                    Ok(())
                }
                .instrument(span.clone()),
            );
            chunks += 1;
            peak = peak.max(in_flight.len());
            while in_flight.len() >= parallel {
                join_one(&mut in_flight).await?;
            }
        }
        while !in_flight.is_empty() {
            join_one(&mut in_flight).await?;
        }
        // The file must not have grown either.
        let mut probe = [0u8; 1];
        if file
            .read(&mut probe)
            .await
            .map_err(|source| ClientError::Io {
                path: path.to_owned(),
                source,
            })?
            != 0
        {
            return Err(UploadError::FileChanged {
                path: path.to_owned(),
                expected: size,
                read: size + 1,
            }
            .into());
        }
        Ok((hex::encode(hasher.finalize()), chunks, peak))
    }
}

async fn join_one(set: &mut JoinSet<std::result::Result<(), UploadError>>) -> Result<()> {
    match set.join_next().await {
        None | Some(Ok(Ok(()))) => Ok(()),
        Some(Ok(Err(e))) => Err(e.into()),
        Some(Err(join)) => Err(ClientError::Url(format!(
            "chunk task ended abnormally: {join}"
        ))),
    }
}

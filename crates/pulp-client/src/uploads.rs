//! Uploading package files: the synchronous endpoint for files that finish well inside the
//! server's request-time limit, chunked uploads (parallel chunks, each with its own sha256 and
//! retries) for the others, and the choice between them per file.
//!
//! The choice ([`TransferPolicy::choose`]) predicts how long a single request would take from
//! the file's size, the run's measured throughput ([`Throughput`]) shared by the transfers in
//! flight, and the server's request-time limit (gunicorn kills a request after 30 s; the
//! client does not know more about the server than that). Before anything is measured a
//! conservative prior applies; a file too big for the prior starts as a chunked upload whose
//! first chunk is the measurement ("probe"), and switches to one request when the measurement
//! says it fits. A single request that fails by time-out or 5xx is not repeated: Pulp is asked
//! whether it has the bytes after all (by sha256), and otherwise the file goes chunked.

use std::path::Path;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use reqwest::Method;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use tokio::io::AsyncReadExt;
use tokio::sync::futures::Notified;
use tokio::sync::{Notify, Semaphore};
use tokio::task::JoinSet;
use tokio::time::Instant;
use tracing::Instrument;

use crate::client::PulpClient;
use crate::content::{Package, SyncRequest};
use crate::error::{ClientError, Result, UploadError};
use crate::hrefs::{PackageHref, UploadHref};
use crate::tasks::WaitOptions;
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

/// How one file goes to Pulp.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Transfer {
    /// One request to the synchronous endpoint (`content/python/packages/upload/`): the least
    /// work for Pulp, but it must finish inside the server's request-time limit.
    Sync,
    /// A chunked upload (`uploads/`), then a task creating the content from it: any size, at
    /// the price of Pulp writing the bytes twice.
    Chunked,
}

/// The server's request-time limit by default (gunicorn's `timeout`, also in production).
pub const DEFAULT_REQUEST_TIME_LIMIT: Duration = Duration::from_secs(30);
/// Share of the limit a single request may be predicted to take.
pub const DEFAULT_SYNC_SHARE: f64 = 0.5;
/// Aggregate throughput assumed before anything was measured: 8 MiB/s (64 Mbit/s), so with
/// the default limit a first file goes in one request up to 120 MiB alone, 30 MiB when four
/// share the line; bigger ones are probed first.
pub const DEFAULT_PRIOR_BYTES_PER_SEC: f64 = 8.0 * 1024.0 * 1024.0;

/// The time in seconds one request of `size` bytes is predicted to take when `concurrency`
/// transfers share an aggregate throughput of `bytes_per_sec`.
pub fn predicted_secs(size: u64, bytes_per_sec: f64, concurrency: usize) -> f64 {
    if bytes_per_sec <= 0.0 || !bytes_per_sec.is_finite() {
        return f64::INFINITY;
    }
    size as f64 * concurrency.max(1) as f64 / bytes_per_sec
}

/// The choice itself, a pure function: one request when its predicted time
/// ([`predicted_secs`]) is at most `share` of the server's request-time `limit`, chunked
/// otherwise.
pub fn choose_transfer(
    size: u64,
    bytes_per_sec: f64,
    limit: Duration,
    concurrency: usize,
    share: f64,
) -> Transfer {
    if predicted_secs(size, bytes_per_sec, concurrency) <= limit.as_secs_f64() * share {
        Transfer::Sync
    } else {
        Transfer::Chunked
    }
}

/// What decides between [`Transfer::Sync`] and [`Transfer::Chunked`] for a file.
#[derive(Debug, Clone, PartialEq)]
pub struct TransferPolicy {
    /// The server's request-time limit: Pulp's API server (gunicorn) ends a request running
    /// longer (an HTTP 500 or a dropped connection).
    pub request_time_limit: Duration,
    /// A single request may be predicted to take at most this share of the limit.
    pub sync_share: f64,
    /// The aggregate throughput assumed before anything was measured (bytes/s).
    pub prior_bytes_per_sec: f64,
    /// Files at least this big always go chunked, whatever was measured (`None`: no ceiling).
    pub always_chunked_from: Option<u64>,
}

impl Default for TransferPolicy {
    fn default() -> Self {
        Self {
            request_time_limit: DEFAULT_REQUEST_TIME_LIMIT,
            sync_share: DEFAULT_SYNC_SHARE,
            prior_bytes_per_sec: DEFAULT_PRIOR_BYTES_PER_SEC,
            always_chunked_from: None,
        }
    }
}

impl TransferPolicy {
    /// The transfer for a file of `size` bytes, given the measured aggregate throughput (or
    /// none yet: the prior) and the number of transfers that would share it, this one
    /// included.
    pub fn choose(&self, size: u64, estimate: Option<f64>, concurrency: usize) -> Transfer {
        if self.forced_chunked(size) {
            return Transfer::Chunked;
        }
        choose_transfer(
            size,
            estimate.unwrap_or(self.prior_bytes_per_sec),
            self.request_time_limit,
            concurrency,
            self.sync_share,
        )
    }

    /// Whether `size` is at or above the fixed ceiling for single requests.
    pub fn forced_chunked(&self, size: u64) -> bool {
        self.always_chunked_from.is_some_and(|t| size >= t)
    }

    /// The client-side time-out of a single-request upload: twice the server's limit. The
    /// server's clock starts when a worker picks the request up, ours when we start sending
    /// (a request may wait for a free worker); a server that enforces its limit answers
    /// before this, so this only ends requests that would hang.
    pub fn sync_timeout(&self) -> Duration {
        self.request_time_limit * 2
    }
}

/// Samples smaller than this measure latency more than bandwidth: they are not counted.
pub const MIN_SAMPLE_BYTES: u64 = 4 * 1024 * 1024;
/// Weight of a new sample in the moving average.
const EWMA_WEIGHT: f64 = 0.4;

/// The upload throughput of one run, shared by its transfers: an exponentially weighted
/// moving average of the **aggregate** bytes/s of completed upload requests (single requests
/// and chunks of at least [`MIN_SAMPLE_BYTES`]). A request's own rate is multiplied by the
/// mean number of requests that were in flight during it, so four transfers sharing a line
/// measure the line, not a quarter of it.
#[derive(Debug)]
pub struct Throughput {
    state: Mutex<MeterState>,
    /// Woken on every change: a request starts or ends, a sample is counted.
    changed: Notify,
}

#[derive(Debug)]
struct MeterState {
    estimate: Option<f64>,
    samples: u64,
    in_flight: usize,
    /// Integral of `in_flight` over time (request-seconds) since `at` was first set.
    busy: f64,
    at: Instant,
}

impl MeterState {
    fn advance(&mut self, now: Instant) {
        let dt = now.saturating_duration_since(self.at).as_secs_f64();
        self.busy += self.in_flight as f64 * dt;
        self.at = now;
    }

    fn record(&mut self, sample: f64) {
        if !(sample.is_finite() && sample > 0.0) {
            return;
        }
        self.estimate = Some(match self.estimate {
            None => sample,
            Some(e) => e + EWMA_WEIGHT * (sample - e),
        });
        self.samples += 1;
    }
}

impl Default for Throughput {
    fn default() -> Self {
        Self::new()
    }
}

impl Throughput {
    /// Nothing measured yet.
    pub fn new() -> Self {
        Self {
            state: Mutex::new(MeterState {
                estimate: None,
                samples: 0,
                in_flight: 0,
                busy: 0.0,
                at: Instant::now(),
            }),
            changed: Notify::new(),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, MeterState> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The measured aggregate throughput in bytes/s, if anything was measured.
    pub fn estimate(&self) -> Option<f64> {
        self.lock().estimate
    }

    /// How many samples the estimate is made of.
    pub fn samples(&self) -> u64 {
        self.lock().samples
    }

    /// Upload requests in flight now.
    pub fn in_flight(&self) -> usize {
        self.lock().in_flight
    }

    /// Count one measurement of the aggregate throughput (bytes/s).
    pub fn record(&self, aggregate_bytes_per_sec: f64) {
        self.lock().record(aggregate_bytes_per_sec);
        self.changed.notify_waiters();
    }

    /// An upload request starts; [`Measuring::finish`] counts it when it ends (dropping the
    /// guard only ends it).
    pub fn begin(&self) -> Measuring<'_> {
        let mut st = self.lock();
        let m = self.start(&mut st);
        drop(st);
        self.changed.notify_waiters();
        m
    }

    fn start(&self, st: &mut MeterState) -> Measuring<'_> {
        let now = Instant::now();
        st.advance(now);
        st.in_flight += 1;
        Measuring {
            meter: self,
            start: now,
            busy_at_start: st.busy,
            open: true,
        }
    }

    /// Whether a single request of `size` bytes may start now, decided and (when it may)
    /// started atomically, so that files deciding at the same moment do not all count the
    /// same transfers in flight.
    pub fn admit(&self, policy: &TransferPolicy, size: u64) -> Admission<'_> {
        if policy.forced_chunked(size) {
            return Admission::Chunked;
        }
        let mut st = self.lock();
        let concurrency = st.in_flight + 1;
        if policy.choose(size, st.estimate, concurrency) == Transfer::Sync {
            let m = self.start(&mut st);
            drop(st);
            self.changed.notify_waiters();
            return Admission::Start(m);
        }
        match st.estimate {
            None => Admission::Unmeasured,
            // It fits with fewer transfers sharing the line: wait for some to end rather
            // than make Pulp write it twice. A saturated line moves the same bytes either way.
            Some(e) if st.in_flight > 0 && policy.choose(size, Some(e), 1) == Transfer::Sync => {
                Admission::Wait
            }
            Some(_) => Admission::Chunked,
        }
    }

    /// A future that completes at the next change (a request starting or ending, a sample),
    /// registered before it is returned, so a change right after this call is not missed.
    fn next_change(&self) -> Pin<Box<Notified<'_>>> {
        let mut n = Box::pin(self.changed.notified());
        n.as_mut().enable();
        n
    }

    /// Wait until something was measured.
    pub async fn measured(&self) -> f64 {
        loop {
            let change = self.next_change();
            if let Some(e) = self.estimate() {
                return e;
            }
            change.await;
        }
    }
}

/// What [`Throughput::admit`] decided for a file.
#[derive(Debug)]
pub enum Admission<'a> {
    /// Send it in one request now (counted in flight from now on).
    Start(Measuring<'a>),
    /// It fits in one request once fewer transfers share the line: wait for a change.
    Wait,
    /// Nothing measured yet and the prior does not let it through: measure first.
    Unmeasured,
    /// It does not fit in one request even alone (or `chunk_threshold` says so): chunked.
    Chunked,
}

/// An upload request in flight, counted by a [`Throughput`].
#[derive(Debug)]
pub struct Measuring<'a> {
    meter: &'a Throughput,
    start: Instant,
    busy_at_start: f64,
    open: bool,
}

impl Measuring<'_> {
    /// The request ended having moved `bytes`: a sample, if big enough.
    pub fn finish(mut self, bytes: u64) {
        self.end(Some(bytes));
    }

    fn end(&mut self, bytes: Option<u64>) {
        if !std::mem::take(&mut self.open) {
            return;
        }
        let now = Instant::now();
        let mut st = self.meter.lock();
        st.advance(now);
        st.in_flight = st.in_flight.saturating_sub(1);
        let elapsed = now.saturating_duration_since(self.start).as_secs_f64();
        if let Some(bytes) = bytes {
            if bytes >= MIN_SAMPLE_BYTES && elapsed > 0.0 {
                let mean_concurrency = ((st.busy - self.busy_at_start) / elapsed).max(1.0);
                st.record(bytes as f64 / elapsed * mean_concurrency);
            }
        }
        drop(st);
        self.meter.changed.notify_waiters();
    }
}

impl Admission<'_> {
    fn name(&self) -> &'static str {
        match self {
            Self::Start(_) => "one request",
            Self::Wait => "wait",
            Self::Unmeasured => "probe",
            Self::Chunked => "chunked",
        }
    }
}

impl Drop for Measuring<'_> {
    fn drop(&mut self) {
        self.end(None);
    }
}

/// A package file to upload, as the caller validated it.
#[derive(Debug, Clone, Copy)]
pub struct PackageFile<'a> {
    /// Where it is.
    pub path: &'a Path,
    /// Its file name (the content's relative path).
    pub filename: &'a str,
    /// Its sha256, which Pulp's copy must have.
    pub sha256: &'a str,
    /// Its size.
    pub size: u64,
}

/// Settings of [`PulpClient::upload_package`].
#[derive(Debug, Clone, Default)]
pub struct PackageUploadOptions {
    /// How the transfer is chosen.
    pub policy: TransferPolicy,
    /// Chunk size and parallelism of chunked uploads.
    pub chunked: ChunkedOptions,
    /// Waiting for the task that creates content from a chunked upload.
    pub wait: WaitOptions,
}

/// What the uploads of one run share: the measured throughput, and the slots for chunked
/// uploads (each holds about `chunk_size * (parallel + 1)` bytes in memory while it sends).
#[derive(Debug, Clone)]
pub struct TransferContext {
    /// The run's throughput.
    pub meter: Arc<Throughput>,
    chunked_slots: Arc<Semaphore>,
}

impl TransferContext {
    /// Nothing measured yet; at most `chunked_at_once` files send chunks at the same time.
    pub fn new(chunked_at_once: usize) -> Self {
        Self {
            meter: Arc::new(Throughput::new()),
            chunked_slots: Arc::new(Semaphore::new(chunked_at_once.max(1))),
        }
    }
}

impl Default for TransferContext {
    fn default() -> Self {
        Self::new(1)
    }
}

/// How a package file went to Pulp.
#[derive(Debug, Clone)]
pub struct PackageUpload {
    /// The content unit.
    pub href: PackageHref,
    /// The unit as Pulp described it, when a single request (or a lookup by sha256) returned
    /// it; a chunked upload's task names only the href.
    pub package: Option<Package>,
    /// How the bytes finally went.
    pub transfer: Transfer,
    /// The prior alone would have sent it chunked and nothing was measured yet, so the choice
    /// was made again once something was: by this file's first chunk, sent alone, or by
    /// another file while this one waited for a chunked-upload slot.
    pub probed: bool,
    /// Why a single-request attempt failed first (time-out, 5xx), when one did.
    pub sync_failure: Option<String>,
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
        let mut reader = ChunkReader::open(path).await?;
        let size = reader.size;
        let upload = self.create_upload(size).await?;
        let href = upload.pulp_href;
        let result = async {
            reader
                .send(self, &href, opts, None, &progress, None)
                .await?;
            let (chunks, peak) = (reader.chunks, reader.peak);
            Ok::<_, ClientError>((reader.finish().await?, chunks, peak))
        }
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
                self.abandon_upload(&href).await;
                Err(e)
            }
        }
    }

    /// Delete an upload that will not be used, logging (not failing) when that fails.
    async fn abandon_upload(&self, href: &UploadHref) {
        if let Err(del) = self.delete_upload(href).await {
            tracing::warn!(upload = %href, error = %del, "could not delete the abandoned upload");
        }
    }

    /// Upload one package file the way that suits it, and return its content unit.
    ///
    /// The transfer is chosen by [`Throughput::admit`] ([`TransferPolicy::choose`]) from the
    /// file's size, the run's measured throughput (`run.meter`, fed by every upload request
    /// of the run) and the transfers in flight: one request when it is predicted to finish
    /// well inside the server's request-time limit; when it would only with fewer transfers
    /// sharing the line, it waits for some to end (Pulp does less work for one request than
    /// for chunks, and a saturated line moves the same bytes either way); chunked when it
    /// would not even alone. Before anything is measured, a file the conservative prior does
    /// not let through is probed: its first chunk goes alone and measures, then the choice is
    /// made again (a switch to one request deletes the started upload); files arriving
    /// meanwhile wait for that measurement. A single request that fails by time-out
    /// ([`TransferPolicy::sync_timeout`]) or with a 5xx answer is not repeated: if Pulp has
    /// the bytes by now (the request did finish server-side), that unit is used; otherwise
    /// the file goes chunked. Pulp deduplicates content by sha256, so nothing is stored twice
    /// either way.
    ///
    /// The whole-file sha256 is checked in every path: a single request sends it along and the
    /// sha256 Pulp computed over the bytes it stored must equal it; a chunked upload hashes
    /// what it reads and gives the sha256 to the task creating the content, which Pulp checks
    /// against the assembled file. A mismatch is [`UploadError::DigestMismatch`].
    pub async fn upload_package(
        &self,
        file: &PackageFile<'_>,
        opts: &PackageUploadOptions,
        run: &TransferContext,
        progress: Arc<dyn ByteProgress>,
    ) -> Result<PackageUpload> {
        let progress = Arc::new(Watermark::new(progress));
        let policy = &opts.policy;
        let meter = &run.meter;
        let mut probed = false;
        let mut waited = false;
        // A probe's upload, abandoned for one request: deleted while that request runs (the
        // DELETE may wait for a free API worker behind the other transfers).
        let mut abandoned: Option<UploadHref> = None;
        let measuring = loop {
            let change = meter.next_change();
            let admission = meter.admit(policy, file.size);
            if !matches!(admission, Admission::Wait) || !waited {
                tracing::debug!(
                    file = file.filename,
                    size = file.size,
                    estimate_mib_s = meter.estimate().map(|e| e / MIB),
                    in_flight = meter.in_flight(),
                    admission = admission.name(),
                    "transfer chosen"
                );
            }
            match admission {
                Admission::Start(m) => break m,
                Admission::Wait => {
                    waited = true;
                    change.await;
                }
                Admission::Unmeasured | Admission::Chunked => {
                    if let Some(href) = abandoned.take() {
                        self.abandon_upload(&href).await;
                    }
                    let probe = matches!(admission, Admission::Unmeasured);
                    probed |= probe;
                    match self
                        .chunked_package(file, opts, run, progress.clone(), probe)
                        .await?
                    {
                        ChunkedEnd::Created(href) => {
                            return Ok(PackageUpload {
                                href,
                                package: None,
                                transfer: Transfer::Chunked,
                                probed,
                                sync_failure: None,
                            })
                        }
                        ChunkedEnd::Redecide(href) => {
                            abandoned = href;
                            progress.restart();
                        }
                    }
                }
            }
        };
        let (attempt, ()) = tokio::join!(
            self.sync_attempt(file, policy, measuring, progress.clone()),
            async {
                if let Some(href) = abandoned.take() {
                    self.abandon_upload(&href).await;
                }
            }
        );
        let failure = match attempt {
            Ok(package) => {
                return Ok(PackageUpload {
                    href: package.pulp_href.clone(),
                    package: Some(package),
                    transfer: Transfer::Sync,
                    probed,
                    sync_failure: None,
                })
            }
            Err(e) if sync_fallback(&e) => describe_sync_failure(&e, policy),
            Err(e) => return Err(e),
        };
        tracing::warn!(
            "{}: the single-request upload failed ({failure}); sending it in chunks unless Pulp has it",
            file.filename
        );
        // The request may have finished server-side (a proxy timing out in front of a slow
        // but working Pulp): then the content exists and is not sent again.
        if let Some(package) = self.package_by_sha256(file.sha256).await? {
            tracing::debug!(file = file.filename, href = %package.pulp_href, "Pulp has it after all");
            return Ok(PackageUpload {
                href: package.pulp_href.clone(),
                package: Some(package),
                transfer: Transfer::Sync,
                probed,
                sync_failure: Some(failure),
            });
        }
        progress.restart();
        match self
            .chunked_package(file, opts, run, progress, false)
            .await?
        {
            ChunkedEnd::Created(href) => Ok(PackageUpload {
                href,
                package: None,
                transfer: Transfer::Chunked,
                probed,
                sync_failure: Some(failure),
            }),
            // Only a probe asks for the choice again.
            ChunkedEnd::Redecide(_) => Err(ClientError::Url(format!(
                "{}: chunked upload stopped without a reason",
                file.path.display()
            ))),
        }
    }

    /// One single-request upload with the client-side time-out of `policy`, measured by
    /// `measuring` (started when it was admitted).
    async fn sync_attempt(
        &self,
        file: &PackageFile<'_>,
        policy: &TransferPolicy,
        measuring: Measuring<'_>,
        progress: Arc<Watermark>,
    ) -> Result<Package> {
        let sent = progress.clone();
        let t0 = Instant::now();
        let answer = self
            .post_package_file(
                file.path,
                &SyncRequest {
                    sha256: Some(file.sha256),
                    timeout: Some(policy.sync_timeout()),
                    idempotency: Idempotency::NotIdempotent,
                },
                progress,
            )
            .await;
        match answer {
            Ok(package) => {
                measuring.finish(file.size);
                tracing::debug!(
                    file = file.filename,
                    secs = t0.elapsed().as_secs_f64(),
                    "one request done"
                );
                if package.sha256 != file.sha256 {
                    return Err(UploadError::DigestMismatch {
                        path: file.path.to_owned(),
                        expected: file.sha256.to_owned(),
                        actual: package.sha256,
                    }
                    .into());
                }
                Ok(package)
            }
            Err(e) => {
                // What went up before the failure says how fast it went (a time-out is a
                // measurement too).
                measuring.finish(sent.seen());
                Err(e)
            }
        }
    }

    /// A chunked upload of a package file, then the task creating the content from it (with
    /// the whole-file sha256). With `probe`, the first chunk goes alone, and the upload is
    /// abandoned when the measurement then prefers a single request.
    async fn chunked_package(
        &self,
        file: &PackageFile<'_>,
        opts: &PackageUploadOptions,
        run: &TransferContext,
        progress: Arc<Watermark>,
        probe: bool,
    ) -> Result<ChunkedEnd> {
        let slots = &run.chunked_slots;
        let slot_error =
            |e: tokio::sync::AcquireError| ClientError::Url(format!("chunked upload slots: {e}"));
        let slot = if probe {
            // Another file may be measuring already: its result is as good as this file's
            // first chunk, and comes without waiting for the slot.
            let slot = tokio::select! {
                biased;
                slot = slots.acquire() => Some(slot.map_err(slot_error)?),
                _ = run.meter.measured() => None,
            };
            if run.meter.estimate().is_some() {
                tracing::debug!(file = file.filename, "measured meanwhile");
                return Ok(ChunkedEnd::Redecide(None));
            }
            match slot {
                Some(slot) => slot,
                None => slots.acquire().await.map_err(slot_error)?,
            }
        } else {
            slots.acquire().await.map_err(slot_error)?
        };
        let mut reader = ChunkReader::open(file.path).await?;
        if reader.size != file.size {
            return Err(UploadError::FileChanged {
                path: file.path.to_owned(),
                expected: file.size,
                read: reader.size,
            }
            .into());
        }
        let upload = self.create_upload(file.size).await?;
        let href = upload.pulp_href;
        let progress: Arc<dyn ByteProgress> = progress;
        let meter = Some(&run.meter);
        let sent = async {
            if probe {
                let first = ChunkedOptions {
                    parallel: 1,
                    ..opts.chunked.clone()
                };
                reader
                    .send(self, &href, &first, Some(1), &progress, meter)
                    .await?;
                // Would it fit in one request, at least once fewer transfers share the line?
                let alone = opts.policy.choose(file.size, run.meter.estimate(), 1);
                tracing::debug!(
                    file = file.filename,
                    estimate_mib_s = run.meter.estimate().map(|e| e / MIB),
                    alone = ?alone,
                    "probed"
                );
                if alone == Transfer::Sync && !reader.done() {
                    return Ok(None);
                }
            }
            reader
                .send(self, &href, &opts.chunked, None, &progress, meter)
                .await?;
            reader.finish().await.map(Some)
        }
        .instrument(tracing::debug_span!("chunked_upload", upload = %href, size = file.size))
        .await;
        let sha256 = match sent {
            Ok(Some(sha256)) => sha256,
            // The caller deletes the started upload while its single request runs.
            Ok(None) => return Ok(ChunkedEnd::Redecide(Some(href))),
            Err(e) => {
                self.abandon_upload(&href).await;
                return Err(e);
            }
        };
        // The bytes are up: let the next chunked file send while Pulp assembles this one.
        drop(slot);
        if sha256 != file.sha256 {
            self.abandon_upload(&href).await;
            return Err(UploadError::DigestMismatch {
                path: file.path.to_owned(),
                expected: file.sha256.to_owned(),
                actual: sha256,
            }
            .into());
        }
        let created = async {
            let task = self
                .start_create_package_from_upload(&href, file.filename, file.sha256)
                .await?;
            let task = self.wait_task(&task, &opts.wait).await?;
            task.created_package().ok_or_else(|| {
                ClientError::Url(format!("task {} created no package", task.pulp_href))
            })
        }
        .await;
        match created {
            Ok(h) => Ok(ChunkedEnd::Created(h)),
            Err(e) => {
                // A failed task does not consume the upload: do not leave it behind.
                self.abandon_upload(&href).await;
                Err(e)
            }
        }
    }
}

const MIB: f64 = 1024.0 * 1024.0;

/// How a chunked package upload ended.
enum ChunkedEnd {
    /// The content exists.
    Created(PackageHref),
    /// Nothing was created: a measurement exists now (this file's probe, or another file's),
    /// so the choice is made again. With this file's probe, the upload it started, which the
    /// caller must delete.
    Redecide(Option<UploadHref>),
}

/// Whether a failed single-request upload is worth sending again in chunks: the server gave
/// up (5xx: its request-time limit, an overloaded or timed-out proxy) or we did (time-out),
/// or the connection broke (gunicorn killing the worker). A 4xx is an answer about the file.
fn sync_fallback(e: &ClientError) -> bool {
    use wheelgate_http::TransportFailure as F;
    match e {
        ClientError::Http { status, .. } => status.is_server_error(),
        ClientError::Transport { source, .. } => matches!(
            source.failure,
            F::Timeout | F::Interrupted { .. } | F::Other { .. }
        ),
        _ => false,
    }
}

fn describe_sync_failure(e: &ClientError, policy: &TransferPolicy) -> String {
    use wheelgate_http::TransportFailure as F;
    match e {
        ClientError::Http { status, .. } => format!("Pulp answered {status}"),
        ClientError::Transport { source, .. } if source.failure == F::Timeout => {
            format!("no answer within {} s", policy.sync_timeout().as_secs_f64())
        }
        ClientError::Transport { source, .. } => source.failure.to_string(),
        other => other.to_string(),
    }
}

/// A file read once, in order, chunk by chunk, hashed as it goes.
struct ChunkReader {
    file: tokio::fs::File,
    path: std::path::PathBuf,
    size: u64,
    offset: u64,
    hasher: Sha256,
    chunks: usize,
    peak: usize,
}

impl ChunkReader {
    async fn open(path: &Path) -> Result<Self> {
        let io = |source| ClientError::Io {
            path: path.to_owned(),
            source,
        };
        let file = tokio::fs::File::open(path).await.map_err(io)?;
        let size = file.metadata().await.map_err(io)?.len();
        Ok(Self {
            file,
            path: path.to_owned(),
            size,
            offset: 0,
            hasher: Sha256::new(),
            chunks: 0,
            peak: 0,
        })
    }

    fn done(&self) -> bool {
        self.offset >= self.size
    }

    /// Send chunks from where the last call stopped: the rest of the file, or at most
    /// `max_chunks`, `opts.parallel` at a time. Returns when every chunk sent is acknowledged.
    async fn send(
        &mut self,
        client: &PulpClient,
        href: &UploadHref,
        opts: &ChunkedOptions,
        max_chunks: Option<usize>,
        progress: &Arc<dyn ByteProgress>,
        meter: Option<&Arc<Throughput>>,
    ) -> Result<()> {
        let chunk_size = opts.chunk_size.max(1);
        let parallel = opts.parallel.max(1);
        // Chunks run as tasks so they progress while the next chunk is read from disk;
        // dropping the set (on error) aborts the ones still running.
        let mut in_flight: JoinSet<std::result::Result<(), UploadError>> = JoinSet::new();
        let mut sent = 0usize;
        let span = tracing::Span::current();
        while self.offset < self.size && max_chunks.is_none_or(|m| sent < m) {
            let want = chunk_size.min(self.size - self.offset) as usize;
            let mut buf = vec![0u8; want];
            let mut filled = 0;
            while filled < want {
                let n =
                    self.file
                        .read(&mut buf[filled..])
                        .await
                        .map_err(|source| ClientError::Io {
                            path: self.path.clone(),
                            source,
                        })?;
                if n == 0 {
                    return Err(UploadError::FileChanged {
                        path: self.path.clone(),
                        expected: self.size,
                        read: self.offset + filled as u64,
                    }
                    .into());
                }
                filled += n;
            }
            self.hasher.update(&buf);
            let data = Bytes::from(buf);
            let start = self.offset;
            let size = self.size;
            self.offset += want as u64;
            let (client, href, progress, path, meter) = (
                client.clone(),
                href.clone(),
                progress.clone(),
                self.path.clone(),
                meter.cloned(),
            );
            in_flight.spawn(
                async move {
                    let len = data.len() as u64;
                    let end = start + len - 1;
                    let measuring = meter.as_deref().map(Throughput::begin);
                    client
                        .put_chunk(&href, data, start, size)
                        .await
                        .map_err(|e| UploadError::Chunk {
                            path,
                            start,
                            end,
                            source: Box::new(e),
                        })?;
                    if let Some(m) = measuring {
                        m.finish(len);
                    }
                    progress.advance(len);
                    Ok(())
                }
                .instrument(span.clone()),
            );
            sent += 1;
            self.chunks += 1;
            self.peak = self.peak.max(in_flight.len());
            while in_flight.len() >= parallel {
                join_one(&mut in_flight).await?;
            }
        }
        while !in_flight.is_empty() {
            join_one(&mut in_flight).await?;
        }
        Ok(())
    }

    /// After the last chunk: the file must not have grown; the whole-file sha256.
    async fn finish(mut self) -> Result<String> {
        let mut probe = [0u8; 1];
        let n = self
            .file
            .read(&mut probe)
            .await
            .map_err(|source| ClientError::Io {
                path: self.path.clone(),
                source,
            })?;
        if n != 0 {
            return Err(UploadError::FileChanged {
                path: self.path,
                expected: self.size,
                read: self.size + 1,
            }
            .into());
        }
        Ok(hex::encode(self.hasher.finalize()))
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

/// Progress that never goes back: after a restart (an abandoned probe, a failed single
/// request), the bytes sent again are reported only past what was reported already.
struct Watermark {
    inner: Arc<dyn ByteProgress>,
    seen: AtomicU64,
    reported: AtomicU64,
}

impl Watermark {
    fn new(inner: Arc<dyn ByteProgress>) -> Self {
        Self {
            inner,
            seen: AtomicU64::new(0),
            reported: AtomicU64::new(0),
        }
    }

    /// The file is sent again from its start.
    fn restart(&self) {
        self.seen.store(0, Ordering::Relaxed);
    }

    /// Bytes sent since the last restart.
    fn seen(&self) -> u64 {
        self.seen.load(Ordering::Relaxed)
    }
}

impl ByteProgress for Watermark {
    fn advance(&self, bytes: u64) {
        let seen = self.seen.fetch_add(bytes, Ordering::Relaxed) + bytes;
        let before = self.reported.fetch_max(seen, Ordering::Relaxed);
        if seen > before {
            self.inner.advance(seen - before);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MB: f64 = 1_000_000.0;
    const MIB_U: u64 = 1024 * 1024;

    #[test]
    fn predicted_time_shares_the_throughput() {
        assert_eq!(predicted_secs(300_000_000, 100.0 * MB, 1), 3.0);
        assert_eq!(predicted_secs(300_000_000, 100.0 * MB, 4), 12.0);
        // Concurrency 0 is treated as 1; nothing measured as never finishing.
        assert_eq!(predicted_secs(100, 100.0, 0), 1.0);
        assert!(predicted_secs(1, 0.0, 1).is_infinite());
        assert!(predicted_secs(1, f64::NAN, 1).is_infinite());
    }

    #[test]
    fn the_choice_is_a_pure_function_of_size_estimate_limit_concurrency() {
        let limit = Duration::from_secs(30);
        // The CUDA build: 300 MB files, four at a time, 120 MB/s measured: 10 s ≤ 15 s.
        assert_eq!(
            choose_transfer(300_000_000, 120.0 * MB, limit, 4, 0.5),
            Transfer::Sync
        );
        // The same with six sharing: 15 s, still inside half the limit.
        assert_eq!(
            choose_transfer(300_000_000, 120.0 * MB, limit, 6, 0.5),
            Transfer::Sync
        );
        // Eight sharing: 20 s, over half the limit.
        assert_eq!(
            choose_transfer(300_000_000, 120.0 * MB, limit, 8, 0.5),
            Transfer::Chunked
        );
        // 1 GiB alone at 80 MB/s: 13.4 s.
        assert_eq!(
            choose_transfer(1 << 30, 80.0 * MB, limit, 1, 0.5),
            Transfer::Sync
        );
        // 3 GiB alone at 80 MB/s: 40 s, more than the whole limit.
        assert_eq!(
            choose_transfer(3 << 30, 80.0 * MB, limit, 1, 0.5),
            Transfer::Chunked
        );
        // A longer limit lets it through.
        assert_eq!(
            choose_transfer(3 << 30, 80.0 * MB, Duration::from_secs(120), 1, 0.5),
            Transfer::Sync
        );
        // Nothing known about the throughput: never a single request.
        assert_eq!(choose_transfer(1, 0.0, limit, 1, 0.5), Transfer::Chunked);
    }

    #[test]
    fn the_prior_is_conservative_and_the_threshold_is_a_ceiling() {
        let p = TransferPolicy::default();
        assert_eq!(p.request_time_limit, Duration::from_secs(30));
        // 8 MiB/s, 15 s: 120 MiB alone, 30 MiB when four share.
        assert_eq!(p.choose(120 * MIB_U, None, 1), Transfer::Sync);
        assert_eq!(p.choose(121 * MIB_U, None, 1), Transfer::Chunked);
        assert_eq!(p.choose(30 * MIB_U, None, 4), Transfer::Sync);
        assert_eq!(p.choose(31 * MIB_U, None, 4), Transfer::Chunked);
        // A first huge file goes chunked; once measured fast, one request.
        assert_eq!(p.choose(1 << 30, None, 1), Transfer::Chunked);
        assert_eq!(p.choose(1 << 30, Some(100.0 * MB), 1), Transfer::Sync);
        // chunk_threshold: at or above it, always chunked.
        let fixed = TransferPolicy {
            always_chunked_from: Some(32 * MIB_U),
            ..TransferPolicy::default()
        };
        assert_eq!(fixed.choose(32 * MIB_U - 1, None, 1), Transfer::Sync);
        assert_eq!(fixed.choose(32 * MIB_U, Some(1e12), 1), Transfer::Chunked);
        assert!(fixed.forced_chunked(32 * MIB_U));
        assert!(!p.forced_chunked(u64::MAX));
        // The client gives up on a single request at twice the server's limit.
        assert_eq!(p.sync_timeout(), Duration::from_secs(60));
    }

    #[test]
    fn the_estimate_is_a_moving_average() {
        let t = Throughput::new();
        assert_eq!(t.estimate(), None);
        t.record(100.0);
        assert_eq!(t.estimate(), Some(100.0));
        t.record(200.0);
        assert_eq!(t.estimate(), Some(140.0));
        t.record(f64::NAN);
        t.record(0.0);
        assert_eq!(t.samples(), 2);
    }

    #[tokio::test(start_paused = true)]
    async fn concurrent_requests_measure_the_aggregate() {
        let t = Throughput::new();
        // Two 8 MiB requests side by side, 1 s each: the line moved 16 MiB/s.
        let a = t.begin();
        let b = t.begin();
        assert_eq!(t.in_flight(), 2);
        tokio::time::advance(Duration::from_secs(1)).await;
        a.finish(8 * MIB_U);
        let first = t.estimate().unwrap();
        assert!((first - 16.0 * MIB).abs() < 1.0, "{first}");
        b.finish(8 * MIB_U);
        assert_eq!(t.in_flight(), 0);
        // Alone for 2 s with 8 MiB: 4 MiB/s.
        let c = t.begin();
        tokio::time::advance(Duration::from_secs(2)).await;
        c.finish(8 * MIB_U);
        let e = t.estimate().unwrap();
        assert!((e - (16.0 + 0.4 * (4.0 - 16.0)) * MIB).abs() < 1.0, "{e}");
        // Small requests and abandoned ones are not samples.
        let n = t.samples();
        let d = t.begin();
        tokio::time::advance(Duration::from_millis(10)).await;
        d.finish(MIN_SAMPLE_BYTES - 1);
        drop(t.begin());
        assert_eq!(t.samples(), n);
        assert_eq!(t.in_flight(), 0);
    }

    fn admitted(a: Admission<'_>) -> &'static str {
        let name = a.name();
        drop(a);
        name
    }

    #[test]
    fn admission_starts_waits_or_chunks() {
        let p = TransferPolicy::default();
        let t = Throughput::new();
        // Nothing measured: the prior lets 100 MiB through, a GiB is probed.
        assert_eq!(admitted(t.admit(&p, 100 * MIB_U)), "one request");
        assert_eq!(admitted(t.admit(&p, 1 << 30)), "probe");
        assert_eq!(t.in_flight(), 0);
        // 60 MiB/s measured: 300 MiB takes 5 s alone, 15 s when three share.
        t.record(60.0 * MIB);
        let a = t.admit(&p, 300 * MIB_U);
        assert!(matches!(a, Admission::Start(_)));
        let b = t.admit(&p, 300 * MIB_U);
        let c = t.admit(&p, 300 * MIB_U);
        assert_eq!(t.in_flight(), 3);
        // A fourth would make 20 s: it waits for one of the three, rather than go chunked.
        assert_eq!(admitted(t.admit(&p, 300 * MIB_U)), "wait");
        drop(c);
        assert!(matches!(t.admit(&p, 300 * MIB_U), Admission::Start(_)));
        // 1 GiB does not fit even alone (17 s): chunked at once, whatever is in flight.
        assert_eq!(admitted(t.admit(&p, 1 << 30)), "chunked");
        drop((a, b));
        assert_eq!(admitted(t.admit(&p, 1 << 30)), "chunked");
        // chunk_threshold forces chunks.
        let fixed = TransferPolicy {
            always_chunked_from: Some(MIB_U),
            ..TransferPolicy::default()
        };
        assert_eq!(admitted(t.admit(&fixed, MIB_U)), "chunked");
        assert_eq!(t.in_flight(), 0);
    }

    #[tokio::test(start_paused = true)]
    async fn a_waiting_file_starts_when_a_transfer_ends() {
        let p = TransferPolicy::default();
        let t = Arc::new(Throughput::new());
        t.record(60.0 * MIB);
        let running: Vec<_> = (0..3).map(|_| t.begin()).collect();
        let waiter = {
            let t = t.clone();
            let p = p.clone();
            tokio::spawn(async move {
                loop {
                    let change = t.next_change();
                    if let Admission::Start(m) = t.admit(&p, 300 * MIB_U) {
                        drop(m);
                        return;
                    }
                    change.await;
                }
            })
        };
        tokio::time::sleep(Duration::from_secs(1)).await;
        assert!(!waiter.is_finished());
        drop(running);
        tokio::time::timeout(Duration::from_secs(1), waiter)
            .await
            .unwrap()
            .unwrap();
        // And measured() returns at once once something is.
        assert_eq!(t.measured().await, 60.0 * MIB);
    }

    #[derive(Default)]
    struct Count(AtomicU64);
    impl ByteProgress for Count {
        fn advance(&self, bytes: u64) {
            self.0.fetch_add(bytes, Ordering::Relaxed);
        }
    }

    #[test]
    fn progress_never_counts_a_resend_twice() {
        let count = Arc::new(Count::default());
        let w = Watermark::new(count.clone());
        w.advance(10);
        w.advance(6);
        assert_eq!(w.seen(), 16);
        w.restart();
        w.advance(10);
        assert_eq!(count.0.load(Ordering::Relaxed), 16);
        w.advance(10);
        assert_eq!(count.0.load(Ordering::Relaxed), 20);
        assert_eq!(w.seen(), 20);
    }
}

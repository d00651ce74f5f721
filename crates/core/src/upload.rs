//! `upload`: land a build in the staging repository of one release + variant as exactly one
//! new immutable repository version, or not at all.
//!
//! 1. Every file is validated (names, zip, metadata, RECORD, variant tags, allowlist) before
//!    any byte is sent; all problems are reported at once.
//! 2. Files already in the staging version with the same sha256 are "already present"; the
//!    same filename with other bytes is refused (files are immutable).
//! 3. Bytes Pulp already has (same sha256) are reused, not re-sent; new files go up
//!    concurrently, streamed from disk, largest first. Each goes in one request when it will
//!    finish well inside the server's request-time limit (`[upload] request_time_limit`),
//!    judged from its size and the throughput this run measured; otherwise in parallel
//!    chunks (`pulp_client::PulpClient::upload_package`). A single request that fails by
//!    time-out or 5xx is sent again in chunks, without storing anything twice.
//! 4. One `modify` adds everything to the *latest* version (no `base_version`, so nothing
//!    another upload added meanwhile is lost). Nothing new → no new version.
//!
//! A *replacing* upload (`--replace`, or `builds = "replace"` for the variant) makes the new
//! version hold exactly the build's files: what the latest version has and the build does not
//! is removed in the same single `modify` (Pulp applies removals, then additions, in one task:
//! one new version). A dry run validates and compares, reads which bytes Pulp already has, and
//! sends nothing. docs/builds.md.

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use futures::{StreamExt, TryStreamExt};
use pulp_client::{
    ByteProgress, ChunkedOptions, Modify, PackageFile, PackageHref, PackageQuery,
    PackageUploadOptions, PulpClient, RepositoryVersionHref, Transfer, TransferContext,
    TransferPolicy, WaitOptions,
};
use serde::Serialize;
use wheelgate_wheel::{Allowlist, Problem, ProblemKind, TagPolicy, WheelInfo};

use crate::catalog::{BuildMode, Catalog};
use crate::error::{Error, Result};
use crate::labels;

/// Default `chunk_threshold`: no fixed threshold; every file's transfer is chosen from the
/// request-time limit and the measured throughput.
pub const DEFAULT_CHUNK_THRESHOLD: u64 = u64::MAX;
/// Default chunk size (measured: docs/benchmarks.md, "Big files").
pub const DEFAULT_CHUNK_SIZE: u64 = 16 * 1024 * 1024;
/// Default number of chunks of one file in flight.
pub const DEFAULT_CHUNK_PARALLEL: usize = 3;
/// Default server request-time limit in seconds (Pulp's gunicorn `timeout`).
pub const DEFAULT_REQUEST_TIME_LIMIT_SECS: u64 = 30;
/// Default number of files in flight.
pub const DEFAULT_JOBS: usize = 4;

/// Options of an upload.
#[derive(Debug, Clone)]
pub struct UploadOptions {
    /// Release.
    pub release: String,
    /// Variant.
    pub variant: String,
    /// Build id recorded with the new version (default: a UTC timestamp).
    pub build_id: Option<String>,
    /// Wheel files and directories (searched recursively for `*.whl`).
    pub paths: Vec<PathBuf>,
    /// Files in flight at once.
    pub jobs: usize,
    /// Files at least this big always use chunked upload ([`DEFAULT_CHUNK_THRESHOLD`]: no
    /// fixed threshold). Below it, the transfer is chosen per file from
    /// `request_time_limit` and the throughput the run measured.
    pub chunk_threshold: u64,
    /// Chunk size.
    pub chunk_size: u64,
    /// Chunks of one file in flight at once.
    pub chunk_parallel: usize,
    /// The server's request-time limit: a single-request upload must finish well inside it.
    pub request_time_limit: Duration,
    /// Task waiting.
    pub wait: WaitOptions,
    /// The new version holds exactly the build's files (default: the variant's `builds`).
    pub replace: bool,
    /// Validate and plan only: nothing is sent, no version is made.
    pub dry_run: bool,
}

impl UploadOptions {
    /// Options with the defaults (catalog `[upload]` values applied over them).
    pub fn new(catalog: &Catalog, release: &str, variant: &str, paths: Vec<PathBuf>) -> Self {
        let replace = catalog
            .variants
            .get(variant)
            .is_some_and(|v| v.builds == BuildMode::Replace);
        Self {
            release: release.into(),
            variant: variant.into(),
            build_id: None,
            paths,
            jobs: catalog.upload.jobs.unwrap_or(DEFAULT_JOBS),
            chunk_threshold: catalog
                .upload
                .chunk_threshold
                .unwrap_or(DEFAULT_CHUNK_THRESHOLD),
            chunk_size: catalog.upload.chunk_size.unwrap_or(DEFAULT_CHUNK_SIZE),
            chunk_parallel: catalog
                .upload
                .chunk_parallel
                .unwrap_or(DEFAULT_CHUNK_PARALLEL),
            request_time_limit: Duration::from_secs(
                catalog
                    .upload
                    .request_time_limit
                    .unwrap_or(DEFAULT_REQUEST_TIME_LIMIT_SECS),
            ),
            wait: WaitOptions::default(),
            replace,
            dry_run: false,
        }
    }

    /// How files go to Pulp: the choice between one request and chunks, chunk size and
    /// parallelism, task waiting.
    pub fn transfer(&self) -> PackageUploadOptions {
        PackageUploadOptions {
            policy: TransferPolicy {
                request_time_limit: self.request_time_limit,
                always_chunked_from: (self.chunk_threshold != DEFAULT_CHUNK_THRESHOLD)
                    .then_some(self.chunk_threshold),
                ..TransferPolicy::default()
            },
            chunked: ChunkedOptions {
                chunk_size: self.chunk_size,
                parallel: self.chunk_parallel,
            },
            wait: self.wait.clone(),
        }
    }
}

/// What happened to one file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FileOutcome {
    /// Bytes were sent to Pulp.
    Uploaded,
    /// Pulp already had the bytes; the existing content unit is added.
    Reused,
    /// Already in the staging version; skipped.
    AlreadyPresent,
}

/// Receives progress of an upload (the CLI renders it; the library never prints).
pub trait UploadReporter: Send + Sync {
    /// Validation of `files` files starts.
    fn validating(&self, _files: usize) {}
    /// The transfer of `files` files, `bytes` in all, starts.
    fn transfer_started(&self, _files: usize, _bytes: u64) {}
    /// A file starts.
    fn file_started(&self, _filename: &str, _size: u64) {}
    /// `bytes` more bytes of a file were sent.
    fn file_progress(&self, _filename: &str, _bytes: u64) {}
    /// A file is done.
    fn file_finished(&self, _filename: &str, _outcome: FileOutcome) {}
    /// The single `modify` starts, adding `units` files (and removing those a replacing
    /// build dropped).
    fn committing(&self, _units: usize) {}
}

/// A reporter that reports nothing.
#[derive(Debug, Default, Clone, Copy)]
pub struct Silent;
impl UploadReporter for Silent {}

/// The result of an upload (this is the `--output json` document).
#[derive(Debug, Clone, Serialize)]
pub struct UploadReport {
    /// Release.
    pub release: String,
    /// Variant.
    pub variant: String,
    /// Staging repository.
    pub repository: String,
    /// The new version, or the unchanged latest when there was nothing to do.
    pub version: Option<u64>,
    /// Whether a new version was created.
    pub created_version: bool,
    /// Whether this was a dry run (then `added`, `removed`, `uploaded` and `reused` say what
    /// would happen, and nothing was sent).
    pub dry_run: bool,
    /// Whether the upload replaced the previous version's files (`--replace`).
    pub replace: bool,
    /// The build id recorded with the new version.
    pub build_id: String,
    /// Files added by the new version (uploaded or reused).
    pub added: Vec<String>,
    /// Files already in the staging version (skipped).
    pub already_present: Vec<String>,
    /// Files of the previous version the build does not have, removed by the new version
    /// (replacing uploads only).
    pub removed: Vec<String>,
    /// Of `added`: files whose bytes were sent.
    pub uploaded: Vec<String>,
    /// Of `added`: files Pulp already had (not re-sent).
    pub reused: Vec<String>,
    /// Of `uploaded`: files sent as a chunked upload (the others went in one request).
    pub chunked: Vec<String>,
    /// Of `uploaded`: files whose single-request upload failed (time-out, 5xx) and that were
    /// then sent in chunks, or found in Pulp after all.
    pub sync_fallbacks: Vec<String>,
    /// Bytes sent.
    pub bytes_sent: u64,
}

/// A UTC timestamp usable as a build id: `20261128T175512Z`.
pub fn timestamp_build_id() -> String {
    crate::time::compact_now()
}

struct Progress {
    reporter: Arc<dyn UploadReporter>,
    filename: String,
    sent: std::sync::atomic::AtomicU64,
}

impl ByteProgress for Progress {
    fn advance(&self, bytes: u64) {
        self.sent
            .fetch_add(bytes, std::sync::atomic::Ordering::Relaxed);
        self.reporter.file_progress(&self.filename, bytes);
    }
}

fn problem(path: &std::path::Path, kind: ProblemKind, message: String) -> Problem {
    Problem {
        path: path.to_owned(),
        kind,
        message,
    }
}

/// Run an upload.
pub async fn upload(
    client: &PulpClient,
    catalog: &Catalog,
    opts: &UploadOptions,
    reporter: Arc<dyn UploadReporter>,
) -> Result<UploadReport> {
    let variant = catalog.variant(&opts.release, &opts.variant)?.clone();
    let names = catalog.names(&opts.release, &opts.variant);
    let build_id = match &opts.build_id {
        Some(id) if labels::valid_build_id(id) => id.clone(),
        Some(id) => {
            return Err(Error::Usage(format!(
                "invalid build id {id:?}: use letters, digits and . _ : + - @ / (at most 128)"
            )))
        }
        None => timestamp_build_id(),
    };
    if opts.paths.is_empty() {
        return Err(Error::Usage("no wheel files or directories given".into()));
    }

    // 1. Validate everything locally, before any byte is sent (on blocking threads).
    let policy = TagPolicy {
        python: variant.python.clone(),
        platforms: variant.platforms.clone(),
    };
    let allow = Allowlist::new(catalog.allow.clone());
    let inputs = opts.paths.clone();
    let (paths, walk_problems) =
        tokio::task::spawn_blocking(move || wheelgate_wheel::collect_wheel_paths(&inputs))
            .await
            .map_err(|e| Error::Inconsistent(format!("reading the wheel paths crashed: {e}")))?;
    // The names the build's files will have in Pulp (a wheel's name is its file name).
    let asked: Vec<String> = paths
        .iter()
        .filter_map(|p| p.file_name().and_then(|n| n.to_str()).map(str::to_owned))
        .collect();
    let rep = reporter.clone();
    let mut validation = tokio::task::spawn_blocking(move || {
        rep.validating(paths.len());
        let mut report = wheelgate_wheel::validate_batch(&paths, &policy, &allow);
        let mut problems = walk_problems;
        problems.append(&mut report.problems);
        report.problems = problems;
        report
    });
    // 2. Meanwhile (reading and hashing big wheels takes seconds, and no byte of them is sent
    //    for this): which of the build's files the latest staging version holds already,
    //    looked up by name, so the cost grows with the build, not with the index (a replacing
    //    build reads the whole version: what it does not have is removed). Their answer
    //    waits until the files are known to be valid; invalid files are reported whatever
    //    Pulp said.
    let lookups = async {
        let repo = crate::lookup::staging_repository(client, catalog, &opts.release, &opts.variant)
            .await?;
        let in_repo = match &repo.latest_version_href {
            Some(v) => files_in_version(client, v, (!opts.replace).then_some(&asked[..])).await?,
            None => HashMap::new(),
        };
        Ok::<_, Error>((repo, in_repo))
    };
    tokio::pin!(lookups);
    let mut looked_up = None;
    let batch = loop {
        tokio::select! {
            batch = &mut validation => break batch,
            found = &mut lookups, if looked_up.is_none() => looked_up = Some(found),
        }
    }
    .map_err(|e| Error::Inconsistent(format!("validation crashed: {e}")))?;
    if !batch.problems.is_empty() {
        return Err(Error::InvalidInput {
            problems: batch.problems,
        });
    }
    if batch.wheels.is_empty() {
        return Err(Error::Usage("no wheels found in the given paths".into()));
    }
    let (repo, mut in_repo) = match looked_up {
        Some(found) => found?,
        None => lookups.await?,
    };
    if !opts.replace {
        // A name validation reports differently from its path's (not expected): look it up too.
        let asked: std::collections::HashSet<&str> = asked.iter().map(String::as_str).collect();
        let missed: Vec<String> = batch
            .wheels
            .iter()
            .map(|w| w.filename.clone())
            .filter(|f| !asked.contains(f.as_str()))
            .collect();
        if let (Some(v), false) = (&repo.latest_version_href, missed.is_empty()) {
            in_repo.extend(files_in_version(client, v, Some(&missed)).await?);
        }
    }
    let latest = repo.latest_version_href.clone();
    let mut problems = Vec::new();
    let mut already_present = Vec::new();
    let mut todo: Vec<WheelInfo> = Vec::new();
    // What a replacing build drops: every file of the latest version it does not have.
    let mut removals: BTreeMap<String, PackageHref> = BTreeMap::new();
    if opts.replace {
        let in_build: std::collections::HashSet<&str> =
            batch.wheels.iter().map(|w| w.filename.as_str()).collect();
        for (f, (_, href)) in &in_repo {
            if !in_build.contains(f.as_str()) {
                removals.insert(f.clone(), href.clone());
            }
        }
    }
    for w in batch.wheels {
        match in_repo.get(&w.filename).map(|(sha, _)| sha) {
            Some(sha) if *sha == w.sha256 => already_present.push(w.filename.clone()),
            Some(sha) => problems.push(problem(
                &w.path,
                ProblemKind::Immutable,
                format!(
                    "{} is already in {} with other content (sha256 {} there, {} here); published files are immutable: bump the version or the build tag",
                    w.filename, names.repository, sha, w.sha256
                ),
            )),
            None => todo.push(w),
        }
    }
    if !problems.is_empty() {
        return Err(Error::InvalidInput { problems });
    }
    if !opts.dry_run {
        for f in &already_present {
            reporter.file_finished(f, FileOutcome::AlreadyPresent);
        }
    }

    // 3a. Which bytes does Pulp already have? (All lookups before any upload.)
    let jobs = opts.jobs.max(1);
    let digests: Vec<String> = todo.iter().map(|w| w.sha256.clone()).collect();
    let mut by_sha: HashMap<String, pulp_client::Package> = HashMap::new();
    for p in client.packages_by_sha256(&digests).await? {
        by_sha.insert(p.sha256.clone(), p);
    }
    let known: Vec<Option<pulp_client::Package>> = todo
        .iter()
        .map(|w| by_sha.get(&w.sha256).cloned())
        .collect();
    for (w, k) in todo.iter().zip(&known) {
        if let Some(pkg) = k {
            if pkg.filename != w.filename {
                problems.push(problem(
                    &w.path,
                    ProblemKind::Immutable,
                    format!(
                        "Pulp already holds these exact bytes as {} ({}); the same file cannot be published under two names",
                        pkg.filename, pkg.pulp_href
                    ),
                ));
            }
        }
    }
    if !problems.is_empty() {
        return Err(Error::InvalidInput { problems });
    }
    already_present.sort();
    let mut report = UploadReport {
        release: opts.release.clone(),
        variant: opts.variant.clone(),
        repository: names.repository.clone(),
        version: latest.as_ref().and_then(|v| v.number()),
        created_version: false,
        dry_run: opts.dry_run,
        replace: opts.replace,
        build_id: build_id.clone(),
        added: Vec::new(),
        already_present,
        removed: Vec::new(),
        uploaded: Vec::new(),
        reused: Vec::new(),
        chunked: Vec::new(),
        sync_fallbacks: Vec::new(),
        bytes_sent: 0,
    };
    if opts.dry_run {
        for (w, k) in todo.iter().zip(&known) {
            report.added.push(w.filename.clone());
            match k {
                Some(_) => report.reused.push(w.filename.clone()),
                None => report.uploaded.push(w.filename.clone()),
            }
        }
        report.added.sort();
        report.uploaded.sort();
        report.reused.sort();
        report.removed = removals.into_keys().collect();
        return Ok(report);
    }

    // 3b. Transfer what is new; big files one at a time (their chunks go in parallel).
    let total: u64 = todo
        .iter()
        .zip(&known)
        .filter(|(_, k)| k.is_none())
        .map(|(w, _)| w.size)
        .sum();
    reporter.transfer_started(todo.len(), total);
    // Shared by the run: the measured throughput, and one chunked file at a time (its chunks
    // go in parallel; memory stays at chunk_size * (chunk_parallel + 1)).
    let run = TransferContext::new(1);
    let transfer = opts.transfer();
    let mut order: Vec<(WheelInfo, Option<pulp_client::Package>)> =
        todo.into_iter().zip(known).collect();
    // Largest first keeps the pipe full at the end of the batch.
    order.sort_by(|a, b| {
        b.0.size
            .cmp(&a.0.size)
            .then_with(|| a.0.filename.cmp(&b.0.filename))
    });
    let results: Vec<(String, PackageHref, FileOutcome, u64, Option<Sent>)> =
        futures::stream::iter(order)
            .map(|(w, k)| {
                let reporter = reporter.clone();
                let (run, transfer) = (&run, &transfer);
                async move {
                    if let Some(pkg) = k {
                        reporter.file_finished(&w.filename, FileOutcome::Reused);
                        return Ok((w.filename, pkg.pulp_href, FileOutcome::Reused, 0, None));
                    }
                    reporter.file_started(&w.filename, w.size);
                    let progress = Arc::new(Progress {
                        reporter: reporter.clone(),
                        filename: w.filename.clone(),
                        sent: Default::default(),
                    });
                    let (href, sent) = send_file(client, &w, transfer, run, progress).await?;
                    reporter.file_finished(&w.filename, FileOutcome::Uploaded);
                    Ok::<_, Error>((w.filename, href, FileOutcome::Uploaded, w.size, Some(sent)))
                }
            })
            .buffer_unordered(jobs)
            .try_collect()
            .await?;

    // 4. Exactly one modify on top of the latest version: additions and, for a replacing
    //    build, removals in the same task.
    if results.is_empty() && removals.is_empty() {
        return Ok(report);
    }
    let mut by_name: BTreeMap<String, (PackageHref, FileOutcome, u64)> = BTreeMap::new();
    let mut sent_as: BTreeMap<String, Sent> = BTreeMap::new();
    for (f, h, o, b, sent) in results {
        if let Some(sent) = sent {
            sent_as.insert(f.clone(), sent);
        }
        by_name.insert(f, (h, o, b));
    }
    reporter.committing(by_name.len());
    let outcome = client
        .modify(
            &repo.pulp_href,
            &Modify {
                add_content_units: by_name.values().map(|(h, _, _)| h.clone()).collect(),
                remove_content_units: removals.values().cloned().collect(),
                ..Default::default()
            },
            &opts.wait,
        )
        .await?;
    for (f, (_, o, b)) in &by_name {
        report.added.push(f.clone());
        report.bytes_sent += b;
        match o {
            FileOutcome::Uploaded => report.uploaded.push(f.clone()),
            _ => report.reused.push(f.clone()),
        }
        if let Some(sent) = sent_as.get(f) {
            if sent.transfer == Transfer::Chunked {
                report.chunked.push(f.clone());
            }
            if sent.fell_back {
                report.sync_fallbacks.push(f.clone());
            }
        }
    }
    if let Some(v) = outcome.new_version {
        report.removed = removals.into_keys().collect();
        let n = v.number();
        report.version = n;
        report.created_version = true;
        if let Some(n) = n {
            client
                .set_label(repo.pulp_href.as_str(), &labels::build_key(n), &build_id)
                .await?;
        }
    } else {
        // Someone else added the same units meanwhile: nothing new from us.
        report.already_present.append(&mut report.added);
        report.already_present.sort();
        report.uploaded.clear();
        report.reused.clear();
        report.chunked.clear();
        report.sync_fallbacks.clear();
    }
    Ok(report)
}

/// The files of a staging version, by filename: (sha256, href). Only those named in `only`
/// ([`files_by_name_first`], a cost that grows with the build), or every file (`None`).
async fn files_in_version(
    client: &PulpClient,
    version: &RepositoryVersionHref,
    only: Option<&[String]>,
) -> Result<HashMap<String, (String, PackageHref)>> {
    let packages: Vec<pulp_client::Package> = match only {
        Some(names) => return files_by_name_first(client, version, names).await,
        None => {
            client
                .packages(&PackageQuery {
                    repository_version: Some(version.clone()),
                    fields: vec!["filename".into(), "sha256".into()],
                    limit: Some(crate::diff::LISTING_PAGE),
                    ..Default::default()
                })
                .await?
                .try_collect()
                .await?
        }
    };
    Ok(by_filename(packages))
}

/// Rows one `name__in` request reads at most (newest first, so a re-upload of a recent build
/// is found first). Files of projects with more history than that in the version are looked
/// up by filename instead: the cost stays bounded by the build, not by the index's history
/// (about 0.2 ms of Pulp's time a row, 150 ms a request, measured on the 10,000-file index).
const NAME_LOOKUP_ROWS: u32 = 1000;

/// Which of the build's `filenames` `version` holds. First by project name: one `name__in`
/// request covers about 230 projects where a `filename__in` one covers about 60 files, so a
/// no-op re-upload costs a few requests. A file the name look-up did not return is looked up
/// by filename, never taken as absent: Pulp may store its `METADATA` `Name` in a spelling the
/// name query does not match (pulp_python before 3.36 compares names as written: `PyYAML`,
/// `zope.interface`, `foo-bar` for `foo_bar-1.0-….whl`), or the row cap cut it off.
async fn files_by_name_first(
    client: &PulpClient,
    version: &RepositoryVersionHref,
    filenames: &[String],
) -> Result<HashMap<String, (String, PackageHref)>> {
    let projects = projects_to_ask(filenames);
    let answer = client
        .packages_by_name(
            version,
            &projects,
            &["filename", "sha256"],
            NAME_LOOKUP_ROWS,
        )
        .await?;
    let (mut found, misses) = resolve_by_name(filenames, answer);
    tracing::debug!(
        files = filenames.len(),
        projects = projects.len(),
        found = found.len(),
        by_filename = misses.len(),
        "build files looked up by project name"
    );
    if !misses.is_empty() {
        found.extend(by_filename(
            client
                .packages_by_filename(version, &misses, &["filename", "sha256"])
                .await?,
        ));
    }
    Ok(found)
}

/// The project names a name look-up asks for, once each, sorted: each wheel filename's
/// distribution part as the filename spells it (`foo_bar` for `foo_bar-1.0-py3-none-any.whl`).
///
/// One spelling only: pulp_python 3.36 normalizes `name__in` (PEP 503), so more spellings
/// (`foo-bar`, lowercase) only add requests there (measured: two spellings double the requests
/// of a 1,000-project build, 4 → 8); on an older Pulp the ones they would have caught are
/// looked up by filename.
fn projects_to_ask(filenames: &[String]) -> Vec<String> {
    let mut projects: Vec<String> = filenames
        .iter()
        .filter_map(|f| project_in_filename(f))
        .map(str::to_owned)
        .collect();
    projects.sort();
    projects.dedup();
    projects
}

/// A wheel filename's distribution part (`foo_bar` in `foo_bar-1.0-py3-none-any.whl`), if the
/// name is one.
fn project_in_filename(filename: &str) -> Option<&str> {
    let stem = filename.strip_suffix(".whl")?;
    let (project, _) = stem.split_once('-')?;
    (!project.is_empty()).then_some(project)
}

/// Splits the build's `filenames` by a name look-up's `answer` (every file of the build's
/// projects, or some of them): those whose exact filename it holds, and those it does not —
/// the misses, which must be looked up by filename (a miss is not proof of absence).
fn resolve_by_name(
    filenames: &[String],
    answer: Vec<pulp_client::Package>,
) -> (HashMap<String, (String, PackageHref)>, Vec<String>) {
    let mut answer = by_filename(answer);
    let mut found = HashMap::new();
    let mut misses = Vec::new();
    for f in filenames {
        match answer.remove(f) {
            Some(file) => {
                found.insert(f.clone(), file);
            }
            None if !found.contains_key(f) => misses.push(f.clone()),
            None => {}
        }
    }
    (found, misses)
}

fn by_filename(packages: Vec<pulp_client::Package>) -> HashMap<String, (String, PackageHref)> {
    packages
        .into_iter()
        .map(|p| (p.filename, (p.sha256, p.pulp_href)))
        .collect()
}

/// How a file's bytes went up.
#[derive(Debug, Clone, Copy)]
struct Sent {
    transfer: Transfer,
    fell_back: bool,
}

async fn send_file(
    client: &PulpClient,
    w: &WheelInfo,
    transfer: &PackageUploadOptions,
    run: &TransferContext,
    progress: Arc<Progress>,
) -> Result<(PackageHref, Sent)> {
    let file = PackageFile {
        path: &w.path,
        filename: &w.filename,
        sha256: &w.sha256,
        size: w.size,
    };
    let up = client
        .upload_package(&file, transfer, run, progress)
        .await?;
    if let Some(pkg) = &up.package {
        if pkg.sha256 != w.sha256 || pkg.filename != w.filename {
            return Err(Error::Inconsistent(format!(
                "Pulp stored {} as {} (sha256 {}), expected {} (sha256 {})",
                w.path.display(),
                pkg.filename,
                pkg.sha256,
                w.filename,
                w.sha256
            )));
        }
    }
    Ok((
        up.href,
        Sent {
            transfer: up.transfer,
            fell_back: up.sync_failure.is_some(),
        },
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn package(filename: &str, sha256: &str) -> pulp_client::Package {
        pulp_client::Package {
            pulp_href: PackageHref::new(format!(
                "/pulp/api/v3/content/python/packages/{filename}/"
            )),
            filename: filename.into(),
            sha256: sha256.into(),
            name: String::new(),
            version: String::new(),
            packagetype: None,
            artifact: None,
            requires_dist: serde_json::Value::Null,
            requires_python: None,
            python_version: None,
            size: None,
            pulp_created: None,
        }
    }

    #[test]
    fn name_lookups_ask_each_project_once_as_the_filename_spells_it() {
        let files: Vec<String> = [
            "foo_bar-1.0-py3-none-any.whl",
            "foo_bar-1.0-cp312-cp312-linux_x86_64.whl",
            "PyYAML-6.0-cp312-cp312-linux_x86_64.whl",
            "zope_interface-7.0-1-py3-none-any.whl",
            "not-a-wheel.tar.gz",
            "-1.0-py3-none-any.whl",
        ]
        .map(str::to_owned)
        .to_vec();
        assert_eq!(
            projects_to_ask(&files),
            ["PyYAML", "foo_bar", "zope_interface"].map(str::to_owned)
        );
    }

    #[test]
    fn a_file_the_name_lookup_missed_is_looked_up_by_filename_not_taken_as_absent() {
        let files: Vec<String> = [
            "foo_bar-1.0-py3-none-any.whl",
            "foo_bar-1.1-py3-none-any.whl",
            "zope_interface-7.0-py3-none-any.whl",
        ]
        .map(str::to_owned)
        .to_vec();
        // The answer holds other files of the projects (other versions) and one of the build's,
        // with other bytes than the build's: resolved all the same (the caller compares).
        let answer = vec![
            package("foo_bar-0.9-py3-none-any.whl", "aa"),
            package("foo_bar-1.0-py3-none-any.whl", "bb"),
        ];
        let (found, misses) = resolve_by_name(&files, answer);
        assert_eq!(found.len(), 1);
        assert_eq!(found["foo_bar-1.0-py3-none-any.whl"].0, "bb");
        assert_eq!(
            misses,
            [
                "foo_bar-1.1-py3-none-any.whl",
                "zope_interface-7.0-py3-none-any.whl"
            ]
            .map(str::to_owned)
        );
        // Nothing found by name (a Pulp comparing names as written): everything falls back.
        let (found, misses) = resolve_by_name(&files, Vec::new());
        assert!(found.is_empty());
        assert_eq!(misses, files);
    }

    #[test]
    fn timestamp_is_a_valid_build_id() {
        let id = timestamp_build_id();
        assert_eq!(id.len(), 16, "{id}");
        assert!(id.starts_with("20"), "{id}");
        assert!(labels::valid_build_id(&id));
    }
}

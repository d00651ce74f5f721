//! The engine: plan (read every page), fetch (bounded, parallel, verified, into the store),
//! switch (build each variant's pages aside, rename into place), manifest, `--delete`.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use futures::{StreamExt, TryStreamExt};
use serde::Serialize;
use sha2::{Digest, Sha256};
use tracing::Instrument;
use url::Url;
use wheelgate_http::SafeUrl;
use wheelgate_index::{
    same_etag, DecodeError, IndexClient, IndexError, IndexFile, PackageName, ProjectList,
    RootRevalidation,
};

use crate::error::MirrorError;
use crate::lock::{lock, LockMode};
use crate::manifest::{Manifest, ManifestFile, ManifestVariant, MANIFEST_FILE};
use crate::names::{is_safe_name, is_safe_segment};
use crate::pages::{self, PageFile};

/// The store of verified files, below the release root.
pub(crate) const STORE_DIR: &str = "files";

/// One variant to mirror: its name (a directory below the release root) and its index.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VariantSource {
    /// The variant's name; becomes `<root>/<name>/simple/`.
    pub name: String,
    /// Its simple index root, e.g. `https://host/api/pypi/dom/p/3.0/cpu/simple/`.
    pub index_url: Url,
}

/// What to mirror where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MirrorOptions {
    /// The destination directory; nothing is written outside it.
    pub dest: PathBuf,
    /// Directories below `dest` that hold the release (e.g. `["rhoai", "3.0"]`).
    pub root: Vec<String>,
    /// The variants.
    pub variants: Vec<VariantSource>,
    /// How many requests are in flight at once, pages and files together (at least 1).
    pub jobs: usize,
    /// Remove stored files that no variant of the manifest lists any more.
    pub delete: bool,
}

/// Progress of a run. Every method has an empty default.
pub trait Reporter: Send + Sync {
    /// The run starts reading pages: `files` distinct files known to check or fetch so far,
    /// `bytes` their size as far as the index says (pages and files overlap, so this is often
    /// nothing; [`Reporter::on_found`] adds what each page brings).
    fn on_plan(&self, _files: usize, _bytes: u64) {}
    /// A page listed `files` more distinct files to check or fetch (`bytes` their size as far
    /// as the index says).
    fn on_found(&self, _files: usize, _bytes: u64) {}
    /// A file is in the store: `bytes` its size, `downloaded` whether it was fetched now
    /// (else it was already there with the right hash).
    fn on_file(&self, _filename: &str, _bytes: u64, _downloaded: bool) {}
    /// A variant's pages were switched into place at `simple`.
    fn on_switched(&self, _variant: &str, _simple: &Path) {}
}

/// A reporter that reports nothing.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoReporter;

impl Reporter for NoReporter {}

/// What a run did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MirrorSummary {
    /// The release root (`<dest>/<root...>`).
    pub root: PathBuf,
    /// The manifest written.
    pub manifest: PathBuf,
    /// Distinct files of the mirrored variants (a file shared between variants counts once).
    pub files: usize,
    /// Of those, fetched in this run.
    pub downloaded: usize,
    /// Of those, already present with the right hash.
    pub skipped: usize,
    /// Bytes fetched in this run (files and metadata files).
    pub bytes_downloaded: u64,
    /// Bytes of all the files of the mirrored variants.
    pub bytes_total: u64,
    /// Stored files removed by `delete` (metadata files not counted).
    pub deleted: usize,
    /// Per variant.
    pub variants: Vec<VariantSummary>,
}

/// What a run did for one variant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VariantSummary {
    /// The variant.
    pub name: String,
    /// Its index (redacted).
    pub index_url: String,
    /// Its static index (`<root>/<name>/simple`).
    pub simple: PathBuf,
    /// Projects.
    pub projects: usize,
    /// Files.
    pub files: usize,
}

/// A variant's pages, read.
struct Planned {
    source: VariantSource,
    /// Projects by name, files sorted by name.
    projects: BTreeMap<String, Vec<IndexFile>>,
    /// The root's `ETag`, which every page carried.
    etag: Option<String>,
}

/// A distinct file to have in the store.
struct Job {
    sha256: String,
    file: IndexFile,
}

/// A file in the store.
#[derive(Debug, Clone)]
struct Stored {
    size: u64,
    /// Modification time when it was verified (see [`mtime_ns`]).
    mtime_ns: u64,
    metadata_sha256: Option<String>,
}

/// What fetching one job did.
struct Fetched {
    key: (String, String),
    stored: Stored,
    downloaded: bool,
    bytes: u64,
}

fn check_options(opts: &MirrorOptions) -> Result<(), MirrorError> {
    let names: Vec<&str> = opts.variants.iter().map(|v| v.name.as_str()).collect();
    check_names(&opts.root, &names)
}

/// The release root's directories and the variants' names can be directories below the
/// destination, and there is at least one variant, each named once.
pub(crate) fn check_names(root: &[String], variants: &[&str]) -> Result<(), MirrorError> {
    if variants.is_empty() {
        return Err(MirrorError::Invalid("no variant to mirror".into()));
    }
    for s in root {
        if !is_safe_segment(s) {
            return Err(MirrorError::Invalid(format!(
                "{s:?} cannot be a directory name below the destination"
            )));
        }
    }
    let mut seen = BTreeSet::new();
    for &v in variants {
        if !is_safe_segment(v) || v == STORE_DIR {
            return Err(MirrorError::Invalid(format!(
                "variant {v:?} cannot be a directory name below the destination"
            )));
        }
        if !seen.insert(v) {
            return Err(MirrorError::Invalid(format!("variant {v} given twice")));
        }
    }
    Ok(())
}

/// Whether `s` is a sha256 in lower-case hex (it becomes a directory name).
pub(crate) fn is_sha256(s: &str) -> bool {
    s.len() == 64
        && s.bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// How many times a variant whose index changed while it was read is read again before the run
/// gives up ([`MirrorError::Inconsistent`]).
const READ_ATTEMPTS: usize = 3;

/// What a stored file was when the manifest recorded it.
#[derive(Debug, Clone, Copy)]
struct Known {
    size: u64,
    mtime_ns: u64,
}

/// Mirror `opts.variants` into `opts.dest`: see the crate documentation for the layout.
/// Nothing is switched unless every page of every variant was read and every file verified.
///
/// The run holds the release store's lock ([`LOCK_FILE`](crate::LOCK_FILE)) from start to
/// end; when another run holds it, it fails at once with [`MirrorError::Locked`], having
/// changed nothing.
///
/// A variant whose manifest entry records an `ETag` is first revalidated: its index root is
/// asked with `If-None-Match`, and when the server says it serves the same version (304, or the
/// same `ETag` again) and the variant's tree and files are intact, nothing of it is read or
/// rewritten. The pages of a variant read in full must all carry the root's `ETag` (when the
/// server sends one); if one does not, the index changed between pages and the variant is read
/// again, so a tree never mixes two versions.
pub async fn mirror(
    client: &IndexClient,
    opts: &MirrorOptions,
    reporter: &dyn Reporter,
) -> Result<MirrorSummary, MirrorError> {
    check_options(opts)?;
    let jobs = opts.jobs.max(1);
    let mut root = opts.dest.clone();
    root.extend(&opts.root);
    tokio::fs::create_dir_all(&root)
        .await
        .map_err(MirrorError::io("create", &root))?;
    // Held until the run returns: no other run writes (or verifies) this store meanwhile.
    let _lock = lock(&root, LockMode::Exclusive)?;
    let store = root.join(STORE_DIR);
    tokio::fs::create_dir_all(&store)
        .await
        .map_err(MirrorError::io("create", &store))?;
    discard_partial(&store).await?;
    let manifest_path = root.join(MANIFEST_FILE);
    let old = Manifest::load(&manifest_path)?;
    let known = known_files(&old);

    // 1. Revalidate what the manifest knows; the rest (and what changed) is read in full.
    let revalidated = revalidate(client, &root, &old, &opts.variants, jobs)
        .instrument(tracing::info_span!("mirror_revalidate"))
        .await?;
    let mut unchanged: Vec<(VariantSource, ManifestVariant)> = Vec::new();
    let mut to_read: Vec<(VariantSource, Option<ProjectList>)> = Vec::new();
    for (source, r) in opts.variants.iter().zip(revalidated) {
        match r {
            Revalidated::Unchanged(entry) => {
                tracing::info!(variant = %source.name, "index unchanged (same ETag): kept as it is");
                unchanged.push((source.clone(), entry));
            }
            Revalidated::Read(list) => to_read.push((source.clone(), list)),
        }
    }
    reporter.on_plan(0, 0);

    // 2. Read the pages of the others and fetch their files as the pages come in, each
    //    distinct (sha256, filename) once; a variant that changed while it was read, again.
    let mut fetched: HashMap<(String, String), Fetched> = HashMap::new();
    let mut planned: Vec<Planned> = Vec::new();
    let mut attempt = 0;
    while !to_read.is_empty() {
        attempt += 1;
        let (done, inconsistent) = read_and_fetch(
            client,
            &store,
            &to_read,
            &known,
            &mut fetched,
            jobs,
            reporter,
        )
        .instrument(tracing::info_span!("mirror_plan", attempt))
        .await?;
        planned.extend(done);
        if let Some(v) = inconsistent.first() {
            if attempt >= READ_ATTEMPTS {
                return Err(MirrorError::Inconsistent {
                    variant: v.name.clone(),
                    attempts: attempt,
                });
            }
        }
        for v in &inconsistent {
            tracing::warn!(variant = %v.name, attempt, "the index changed while it was read (pages of two repository versions): reading it again");
        }
        to_read = inconsistent.into_iter().map(|v| (v, None)).collect();
    }

    // The run's numbers, over the distinct files of every mirrored variant.
    let mut distinct: HashMap<(String, String), (u64, bool)> = HashMap::new();
    for p in &planned {
        for files in p.projects.values() {
            for f in files {
                let key = (f.sha256().unwrap_or_default(), f.filename.clone());
                if let Some(x) = fetched.get(&key) {
                    distinct.insert(key, (x.stored.size, x.downloaded));
                }
            }
        }
    }
    for (_, entry) in &unchanged {
        for f in &entry.files {
            distinct
                .entry((f.sha256.clone(), f.filename.clone()))
                .or_insert((f.size, false));
        }
    }
    let mut summary = MirrorSummary {
        root: root.clone(),
        manifest: manifest_path.clone(),
        files: distinct.len(),
        downloaded: distinct.values().filter(|d| d.1).count(),
        skipped: distinct.values().filter(|d| !d.1).count(),
        bytes_downloaded: fetched.values().map(|f| f.bytes).sum(),
        bytes_total: distinct.values().map(|d| d.0).sum(),
        deleted: 0,
        variants: Vec::new(),
    };
    let stored: HashMap<(String, String), Stored> =
        fetched.into_iter().map(|(k, f)| (k, f.stored)).collect();

    // 3. Switch each variant's pages; 4. the manifest, last (only when something changed).
    let mut manifest = old.clone();
    manifest.format = 1;
    let mut by_name: BTreeMap<String, VariantSummary> = BTreeMap::new();
    for (source, entry) in &unchanged {
        let simple = root.join(&source.name).join("simple");
        by_name.insert(
            source.name.clone(),
            VariantSummary {
                name: source.name.clone(),
                index_url: entry.index_url.clone(),
                simple,
                projects: entry.projects,
                files: entry.files.len(),
            },
        );
    }
    for p in &planned {
        let (simple, entry) = switch_variant(&root, p, &stored)?;
        reporter.on_switched(&p.source.name, &simple);
        by_name.insert(
            p.source.name.clone(),
            VariantSummary {
                name: p.source.name.clone(),
                index_url: entry.index_url.clone(),
                simple,
                projects: p.projects.len(),
                files: entry.files.len(),
            },
        );
        manifest.variants.insert(p.source.name.clone(), entry);
    }
    summary.variants = opts
        .variants
        .iter()
        .filter_map(|v| by_name.remove(&v.name))
        .collect();
    if manifest != old || !manifest_path.exists() {
        write_atomically(
            &manifest_path,
            (serde_json::to_string_pretty(&manifest).map_err(|source| MirrorError::Manifest {
                path: manifest_path.clone(),
                source,
            })? + "\n")
                .as_bytes(),
        )?;
    }

    // 5. --delete: what no variant of the manifest lists.
    if opts.delete {
        summary.deleted = delete_unlisted(&root, &store, &manifest)?;
    }
    Ok(summary)
}

/// The stored files the manifest vouches for: size and modification time when they were last
/// verified, by (sha256, filename).
fn known_files(m: &Manifest) -> HashMap<(String, String), Known> {
    let mut out = HashMap::new();
    for v in m.variants.values() {
        for f in &v.files {
            if let Some(mtime_ns) = f.mtime_ns {
                out.insert(
                    (f.sha256.clone(), f.filename.clone()),
                    Known {
                        size: f.size,
                        mtime_ns,
                    },
                );
            }
        }
    }
    out
}

/// A file's modification time in nanoseconds since the Unix epoch (0 when the file system
/// gives none).
fn mtime_ns(m: &std::fs::Metadata) -> u64 {
    m.modified()
        .ok()
        .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
        .map(|d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}

/// What revalidating a variant decided.
enum Revalidated {
    /// The index serves what the manifest entry describes, and the tree is intact.
    Unchanged(ManifestVariant),
    /// Read it in full; the root, when the revalidation already read it.
    Read(Option<ProjectList>),
}

/// Whether a recorded `ETag` can be sent back in a header (visible ASCII).
fn usable_etag(e: &str) -> bool {
    !e.is_empty() && e.bytes().all(|b| (0x20..0x7f).contains(&b))
}

/// Whether the variant's tree and its stored files are what `entry` says: the `simple` link
/// leads to pages, every file is stored with its recorded size and modification time, every
/// metadata file is there. Local `stat`s only, nothing is hashed.
fn tree_intact(root: &Path, name: &str, entry: &ManifestVariant) -> bool {
    let simple = root.join(name).join("simple");
    if !simple.join("index.html").is_file() || !simple.join("index.json").is_file() {
        return false;
    }
    let mut projects = BTreeSet::new();
    for f in &entry.files {
        let Some(mtime) = f.mtime_ns else {
            return false;
        };
        let path = root.join(&f.path);
        match std::fs::metadata(&path) {
            Ok(m) if m.is_file() && m.len() == f.size && mtime_ns(&m) == mtime => {}
            _ => return false,
        }
        if f.metadata_sha256.is_some() && !root.join(format!("{}.metadata", f.path)).is_file() {
            return false;
        }
        projects.insert(f.project.as_str());
    }
    projects
        .into_iter()
        .all(|p| is_safe_name(p) && simple.join(p).join("index.html").is_file())
}

/// Ask each variant the manifest has an `ETag` for whether its index changed (one conditional
/// request for the root each, `jobs` at a time).
async fn revalidate(
    client: &IndexClient,
    root: &Path,
    old: &Manifest,
    variants: &[VariantSource],
    jobs: usize,
) -> Result<Vec<Revalidated>, MirrorError> {
    futures::stream::iter(variants)
        .map(|v| async move {
            let Some(entry) = old.variants.get(&v.name) else {
                return Ok(Revalidated::Read(None));
            };
            let Some(etag) = entry.etag.as_deref().filter(|e| usable_etag(e)) else {
                return Ok(Revalidated::Read(None));
            };
            if entry.index_url != SafeUrl(&v.index_url).to_string() {
                return Ok(Revalidated::Read(None));
            }
            let intact = {
                let (root, name, entry) = (root.to_owned(), v.name.clone(), entry.clone());
                tokio::task::spawn_blocking(move || tree_intact(&root, &name, &entry))
                    .await
                    .unwrap_or(false)
            };
            if !intact {
                tracing::info!(variant = %v.name, "the mirrored tree is not intact: reading the index in full");
                return Ok(Revalidated::Read(None));
            }
            match client
                .root_if_none_match(&v.index_url, etag)
                .await
                .map_err(|e| index_error(&v.name, &v.index_url, None, e))?
            {
                RootRevalidation::NotModified { .. } => Ok(Revalidated::Unchanged(entry.clone())),
                RootRevalidation::Modified(list)
                    if list.etag.as_deref().is_some_and(|e| same_etag(e, etag)) =>
                {
                    Ok(Revalidated::Unchanged(entry.clone()))
                }
                RootRevalidation::Modified(list) => Ok(Revalidated::Read(Some(list))),
                RootRevalidation::Missing => Err(MirrorError::NoIndex {
                    variant: v.name.clone(),
                    url: SafeUrl(&v.index_url).to_string(),
                }),
            }
        })
        .buffered(jobs)
        .try_collect()
        .await
}

/// Remove temporary files a killed run left in the store (`.<name>.<pid>.<n>.part`).
async fn discard_partial(store: &Path) -> Result<(), MirrorError> {
    let store = store.to_owned();
    tokio::task::spawn_blocking(move || -> Result<(), MirrorError> {
        for dir in read_dir(&store)? {
            if !dir.is_dir() {
                continue;
            }
            for f in read_dir(&dir)? {
                let is_temp = f
                    .file_name()
                    .and_then(|n| n.to_str())
                    .is_some_and(|n| n.starts_with('.') && n.ends_with(".part"));
                if is_temp {
                    tracing::debug!(path = %f.display(), "discarding a partial download");
                    std::fs::remove_file(&f).map_err(MirrorError::io("remove", &f))?;
                }
            }
        }
        Ok(())
    })
    .await
    .unwrap_or_else(|e| Err(MirrorError::Invalid(format!("cleanup task failed: {e}"))))
}

fn read_dir(dir: &Path) -> Result<Vec<PathBuf>, MirrorError> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).map_err(MirrorError::io("read", dir))? {
        out.push(e.map_err(MirrorError::io("read", dir))?.path());
    }
    out.sort();
    Ok(out)
}

fn index_error(variant: &str, url: &Url, project: Option<&str>, e: IndexError) -> MirrorError {
    if let IndexError::Decode {
        source: DecodeError::UnsafeFilename(name),
        ..
    } = &e
    {
        return MirrorError::UnsafeName {
            variant: variant.to_owned(),
            project: project.unwrap_or("(index root)").to_owned(),
            name: name.clone(),
        };
    }
    MirrorError::Index {
        variant: variant.to_owned(),
        url: SafeUrl(url).to_string(),
        source: Box::new(e),
    }
}

/// A project page, read and checked.
struct PageRead {
    variant: usize,
    project: String,
    files: Vec<IndexFile>,
    etag: Option<String>,
}

/// Read every page of `variants` (their roots first, unless given) and, as each project page
/// comes in, fetch its files not fetched yet into the store: pages and files share `jobs`
/// request slots. Returns the variants read consistently, and those whose pages did not all
/// carry the root's `ETag` (to read again). `fetched` collects every file fetched or found.
#[allow(clippy::too_many_arguments)]
async fn read_and_fetch(
    client: &IndexClient,
    store: &Path,
    variants: &[(VariantSource, Option<ProjectList>)],
    known: &HashMap<(String, String), Known>,
    fetched: &mut HashMap<(String, String), Fetched>,
    jobs: usize,
    reporter: &dyn Reporter,
) -> Result<(Vec<Planned>, Vec<VariantSource>), MirrorError> {
    let slots = tokio::sync::Semaphore::new(jobs);
    let seen: std::sync::Mutex<BTreeSet<(String, String)>> =
        std::sync::Mutex::new(fetched.keys().cloned().collect());
    let (tx, rx) = futures::channel::mpsc::unbounded::<Job>();

    let pages = async {
        let tx = tx;
        let slots = &slots;
        let lists: Vec<(usize, ProjectList)> = futures::stream::iter(variants.iter().enumerate())
            .map(|(i, (v, list))| async move {
                if let Some(list) = list {
                    return Ok((i, list.clone()));
                }
                let _slot = slots.acquire().await;
                let list = client
                    .root(&v.index_url)
                    .await
                    .map_err(|e| index_error(&v.name, &v.index_url, None, e))?
                    .ok_or_else(|| MirrorError::NoIndex {
                        variant: v.name.clone(),
                        url: SafeUrl(&v.index_url).to_string(),
                    })?;
                Ok::<_, MirrorError>((i, list))
            })
            .buffer_unordered(jobs)
            .try_collect()
            .await?;
        let names: Vec<(usize, PackageName)> = lists
            .iter()
            .flat_map(|(i, l)| l.projects.iter().map(move |p| (*i, p.clone())))
            .collect();
        let tx = &tx;
        let seen = &seen;
        let read: Vec<PageRead> = futures::stream::iter(names)
            .map(|(i, name)| async move {
                let v = &variants[i].0;
                let url = IndexClient::project_url(&v.index_url, &name);
                let page = {
                    let _slot = slots.acquire().await;
                    client
                        .project(&v.index_url, &name)
                        .await
                        .map_err(|e| index_error(&v.name, &url, Some(name.as_ref()), e))?
                };
                let Some(page) = page else {
                    tracing::warn!(variant = %v.name, project = %name, "listed in the index root but has no page; skipped");
                    return Ok(None);
                };
                if !is_safe_name(name.as_ref()) {
                    return Err(MirrorError::UnsafeName {
                        variant: v.name.clone(),
                        project: name.to_string(),
                        name: name.to_string(),
                    });
                }
                let mut files = page.files;
                for f in &files {
                    if !is_safe_name(&f.filename) {
                        return Err(MirrorError::UnsafeName {
                            variant: v.name.clone(),
                            project: name.to_string(),
                            name: f.filename.clone(),
                        });
                    }
                    if !f.sha256().is_some_and(|h| is_sha256(&h)) {
                        return Err(MirrorError::NoHash {
                            variant: v.name.clone(),
                            filename: f.filename.clone(),
                        });
                    }
                }
                files.sort_by(|a, b| a.filename.cmp(&b.filename));
                files.dedup_by(|a, b| a.filename == b.filename);
                // Queue what no page queued before (a poisoned lock only means another page
                // panicked; the set is still usable).
                let mut new = Vec::new();
                {
                    let mut seen = seen.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
                    for f in &files {
                        let sha256 = f.sha256().unwrap_or_default();
                        if seen.insert((sha256.clone(), f.filename.clone())) {
                            new.push(Job {
                                sha256,
                                file: f.clone(),
                            });
                        }
                    }
                }
                if !new.is_empty() {
                    reporter.on_found(new.len(), new.iter().filter_map(|j| j.file.size).sum());
                }
                for job in new {
                    // The receiver lives as long as this future (both are joined below).
                    let _ = tx.unbounded_send(job);
                }
                Ok(Some(PageRead {
                    variant: i,
                    project: name.to_string(),
                    files,
                    etag: page.etag,
                }))
            })
            .buffer_unordered(jobs)
            .try_filter_map(|x| async move { Ok(x) })
            .try_collect()
            .await?;
        Ok::<_, MirrorError>((lists, read))
    };
    let files = rx
        .map(|job| {
            let slots = &slots;
            async move {
                let _slot = slots.acquire().await;
                let known = known
                    .get(&(job.sha256.clone(), job.file.filename.clone()))
                    .copied();
                let f = fetch(client, store, job, known).await?;
                reporter.on_file(&f.key.1, f.stored.size, f.downloaded);
                Ok::<_, MirrorError>(f)
            }
        })
        .buffer_unordered(jobs)
        .try_collect::<Vec<Fetched>>()
        .instrument(tracing::info_span!("mirror_fetch"));
    let ((lists, read), got) = futures::try_join!(pages, files)?;
    for f in got {
        fetched.insert(f.key.clone(), f);
    }

    let mut planned: Vec<Planned> = variants
        .iter()
        .map(|(v, _)| Planned {
            source: v.clone(),
            projects: BTreeMap::new(),
            etag: None,
        })
        .collect();
    for (i, list) in lists {
        planned[i].etag = list.etag;
    }
    let mut consistent = vec![true; variants.len()];
    for page in read {
        let p = &mut planned[page.variant];
        if let (Some(root), Some(this)) = (&p.etag, &page.etag) {
            if !same_etag(root, this) {
                tracing::debug!(variant = %p.source.name, project = %page.project, root = %root, page = %this, "a page of another repository version");
                consistent[page.variant] = false;
            }
        }
        p.projects.insert(page.project, page.files);
    }
    let mut done = Vec::new();
    let mut again = Vec::new();
    for (p, ok) in planned.into_iter().zip(consistent) {
        if ok {
            done.push(p);
        } else {
            again.push(p.source);
        }
    }
    Ok((done, again))
}

/// The sha256 and size of the file at `path`, `None` when there is none.
async fn hash_file(path: &Path) -> Result<Option<(String, u64)>, MirrorError> {
    let p = path.to_owned();
    tokio::task::spawn_blocking(move || match sha256_of(&p) {
        Ok(x) => Ok(Some(x)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(MirrorError::io("read", &p)(e)),
    })
    .await
    .unwrap_or_else(|e| Err(MirrorError::Invalid(format!("hash task failed: {e}"))))
}

/// The sha256 (lower-case hex) and size of the file at `path`, read in blocks (never whole in
/// memory).
pub(crate) fn sha256_of(path: &Path) -> std::io::Result<(String, u64)> {
    use std::io::Read;
    let mut f = std::fs::File::open(path)?;
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 256 * 1024];
    let mut size = 0u64;
    loop {
        let n = match f.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        size += n as u64;
        h.update(&buf[..n]);
    }
    Ok((hex::encode(h.finalize()), size))
}

/// Have `job`'s file (and its PEP 658 metadata file, when offered) in the store: trusted as it
/// is when the manifest verified it with this size and modification time (`known`), else
/// hashed, else downloaded and verified.
async fn fetch(
    client: &IndexClient,
    store: &Path,
    job: Job,
    known: Option<Known>,
) -> Result<Fetched, MirrorError> {
    let Job { sha256, file } = job;
    let dir = store.join(&sha256);
    tokio::fs::create_dir_all(&dir)
        .await
        .map_err(MirrorError::io("create", &dir))?;
    let path = dir.join(&file.filename);
    let mut bytes = 0;
    let present = match tokio::fs::metadata(&path).await {
        Ok(m) => Some(m),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => return Err(MirrorError::io("read", &path)(e)),
    };
    let trusted = match (&present, known) {
        (Some(m), Some(k)) => m.is_file() && m.len() == k.size && mtime_ns(m) == k.mtime_ns,
        _ => false,
    };
    let hashed = if trusted {
        present.as_ref().map(|m| (sha256.clone(), m.len()))
    } else if present.is_some() {
        hash_file(&path).await?
    } else {
        None
    };
    let (size, downloaded) = match hashed {
        Some((h, size)) if h == sha256 => (size, false),
        other => {
            if other.is_some() {
                tracing::warn!(path = %path.display(), "stored file has another sha256; fetching it again");
                tokio::fs::remove_file(&path)
                    .await
                    .map_err(MirrorError::io("remove", &path))?;
            }
            let d = client
                .download(&file.url, &path, Some(&sha256))
                .await
                .map_err(|source| MirrorError::Download {
                    filename: file.filename.clone(),
                    source: Box::new(source),
                })?;
            bytes += d.size;
            (d.size, true)
        }
    };
    let mut metadata_sha256 = None;
    if file.metadata_url().is_some() {
        let mpath = dir.join(format!("{}.metadata", file.filename));
        let present = hash_file(&mpath).await?;
        let expected = file.metadata_sha256();
        match (present, expected) {
            (Some((h, _)), Some(e)) if h == e => metadata_sha256 = Some(h),
            (Some((h, _)), None) => metadata_sha256 = Some(h),
            (_, expected) => {
                // PEP 658's file is the wheel's own METADATA: taken from the verified wheel
                // when its sha256 is the one the page advertises (the same bytes, checked),
                // fetched otherwise.
                if let Some(e) = expected.filter(|_| file.filename.ends_with(".whl")) {
                    if let Some(body) = metadata_from_wheel(&path, &e).await? {
                        write_atomically(&mpath, &body)?;
                        metadata_sha256 = Some(e);
                    }
                }
            }
        }
        if metadata_sha256.is_none() {
            // Checked against the advertised sha256 by the client: a mismatch is an error.
            let body = client
                .metadata(&file)
                .await
                .map_err(|source| MirrorError::Download {
                    filename: format!("{}.metadata", file.filename),
                    source: Box::new(source),
                })?;
            if let Some(body) = body {
                write_atomically(&mpath, &body)?;
                bytes += body.len() as u64;
                metadata_sha256 = Some(hex::encode(Sha256::digest(&body)));
            }
        }
    }
    let mtime_ns = tokio::fs::metadata(&path)
        .await
        .map(|m| mtime_ns(&m))
        .map_err(MirrorError::io("read", &path))?;
    Ok(Fetched {
        key: (sha256, file.filename),
        stored: Stored {
            size,
            mtime_ns,
            metadata_sha256,
        },
        downloaded,
        bytes,
    })
}

/// The wheel's `.dist-info/METADATA` when its sha256 is `expected`; `None` when it is not (or
/// cannot be read from the zip), so that the caller fetches the metadata file instead.
async fn metadata_from_wheel(wheel: &Path, expected: &str) -> Result<Option<Vec<u8>>, MirrorError> {
    let p = wheel.to_owned();
    let expected = expected.to_owned();
    tokio::task::spawn_blocking(move || {
        let Some(body) =
            wheelgate_wheel::core_metadata(&p).map_err(MirrorError::io("read", &p))?
        else {
            return Ok(None);
        };
        if hex::encode(Sha256::digest(&body)) == expected {
            Ok(Some(body))
        } else {
            tracing::debug!(wheel = %p.display(), "the wheel's METADATA is not the advertised metadata file: fetching it");
            Ok(None)
        }
    })
    .await
    .unwrap_or_else(|e| Err(MirrorError::Invalid(format!("metadata task failed: {e}"))))
}

/// Write `bytes` to a temporary name next to `path`, then rename it into place.
fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), MirrorError> {
    use std::io::Write;
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = path.with_file_name(format!(".{name}.{}.part", std::process::id()));
    let result = (|| {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    result.map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        MirrorError::io("write", path)(e)
    })
}

/// Write a page of a generation not switched yet (no fsync: see [`sync_all`]).
fn write_page(path: &Path, bytes: &[u8], written: &mut Vec<PathBuf>) -> Result<(), MirrorError> {
    std::fs::write(path, bytes).map_err(MirrorError::io("write", path))?;
    written.push(path.to_owned());
    Ok(())
}

/// Make files and directories durable (fsync), several at once: concurrent fsyncs share the
/// file system's journal commits, where one after the other each pays its own.
fn sync_all(paths: &[PathBuf]) -> Result<(), MirrorError> {
    const THREADS: usize = 8;
    let chunk = paths.len().div_ceil(THREADS).max(1);
    std::thread::scope(|scope| {
        let handles: Vec<_> = paths
            .chunks(chunk)
            .map(|part| {
                scope.spawn(move || {
                    for p in part {
                        std::fs::File::open(p)
                            .and_then(|f| f.sync_all())
                            .map_err(MirrorError::io("sync", p))?;
                    }
                    Ok::<_, MirrorError>(())
                })
            })
            .collect();
        for h in handles {
            h.join()
                .unwrap_or_else(|_| Err(MirrorError::Invalid("an fsync thread panicked".into())))?;
        }
        Ok(())
    })
}

fn unique_generation() -> String {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    format!(".simple.{nanos}.{}", std::process::id())
}

/// Build a variant's pages in `<root>/<variant>/.simple.<generation>/`, point the `simple`
/// symlink at them by renaming a new symlink over it (atomic), then remove older generations.
fn switch_variant(
    root: &Path,
    p: &Planned,
    stored: &HashMap<(String, String), Stored>,
) -> Result<(PathBuf, ManifestVariant), MirrorError> {
    let vdir = root.join(&p.source.name);
    std::fs::create_dir_all(&vdir).map_err(MirrorError::io("create", &vdir))?;
    let generation = unique_generation();
    let gdir = vdir.join(&generation);
    std::fs::create_dir(&gdir).map_err(MirrorError::io("create", &gdir))?;
    let mut entry = ManifestVariant {
        index_url: SafeUrl(&p.source.index_url).to_string(),
        simple: format!("{}/simple/", p.source.name),
        files: Vec::new(),
        projects: p.projects.len(),
        etag: p.etag.clone(),
    };
    // Pages are written plainly into the new generation (nobody reads it yet) and made durable
    // all at once before the switch.
    let mut written: Vec<PathBuf> = vec![gdir.clone()];
    let names: Vec<String> = p.projects.keys().cloned().collect();
    write_page(
        &gdir.join("index.html"),
        pages::root_html(&names).as_bytes(),
        &mut written,
    )?;
    write_page(
        &gdir.join("index.json"),
        pages::root_json(&names).as_bytes(),
        &mut written,
    )?;
    for (project, files) in &p.projects {
        let mut listed = Vec::new();
        for f in files {
            let sha256 = f.sha256().unwrap_or_default();
            let Some(s) = stored.get(&(sha256.clone(), f.filename.clone())) else {
                continue;
            };
            let rel = format!("{STORE_DIR}/{sha256}/{}", f.filename);
            listed.push(PageFile {
                filename: f.filename.clone(),
                href: format!("../../../{rel}"),
                sha256: sha256.clone(),
                size: s.size,
                requires_python: f
                    .requires_python
                    .as_ref()
                    .and_then(|r| r.as_ref().ok())
                    .map(|r| r.to_string())
                    .filter(|r| !r.is_empty()),
                metadata_sha256: s.metadata_sha256.clone(),
                yanked: f.yanked.as_ref().and_then(|y| match y {
                    wheelgate_index::Yanked::Bool(true) => Some(String::new()),
                    wheelgate_index::Yanked::Bool(false) => None,
                    wheelgate_index::Yanked::Reason(r) => Some(r.to_string()),
                }),
            });
            entry.files.push(ManifestFile {
                project: project.clone(),
                filename: f.filename.clone(),
                sha256: sha256.clone(),
                size: s.size,
                url: SafeUrl(&f.url).to_string(),
                path: rel,
                metadata_sha256: s.metadata_sha256.clone(),
                mtime_ns: Some(s.mtime_ns),
            });
        }
        let pdir = gdir.join(project);
        std::fs::create_dir(&pdir).map_err(MirrorError::io("create", &pdir))?;
        written.push(pdir.clone());
        write_page(
            &pdir.join("index.html"),
            pages::project_html(project, &listed).as_bytes(),
            &mut written,
        )?;
        write_page(
            &pdir.join("index.json"),
            pages::project_json(project, &listed).as_bytes(),
            &mut written,
        )?;
    }
    if let Err(e) = sync_all(&written) {
        let _ = std::fs::remove_dir_all(&gdir);
        return Err(e);
    }
    let simple = vdir.join("simple");
    let link = vdir.join(format!("{generation}.link"));
    std::os::unix::fs::symlink(&generation, &link).map_err(MirrorError::io("create", &link))?;
    if let Err(e) = std::fs::rename(&link, &simple) {
        let _ = std::fs::remove_file(&link);
        let _ = std::fs::remove_dir_all(&gdir);
        return Err(MirrorError::io("switch", &simple)(e));
    }
    sync_all(std::slice::from_ref(&vdir))?;
    for old in read_dir(&vdir)? {
        let is_old = old
            .file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| n.starts_with(".simple.") && n != generation);
        if is_old {
            let r = if old.is_symlink() || old.is_file() {
                std::fs::remove_file(&old)
            } else {
                std::fs::remove_dir_all(&old)
            };
            r.map_err(MirrorError::io("remove", &old))?;
        }
    }
    Ok((simple, entry))
}

fn delete_unlisted(root: &Path, store: &Path, manifest: &Manifest) -> Result<usize, MirrorError> {
    let mut keep: BTreeSet<PathBuf> = BTreeSet::new();
    for v in manifest.variants.values() {
        for f in &v.files {
            keep.insert(root.join(&f.path));
            if f.metadata_sha256.is_some() {
                keep.insert(root.join(format!("{}.metadata", f.path)));
            }
        }
    }
    let mut deleted = 0;
    for dir in read_dir(store)? {
        if !dir.is_dir() {
            continue;
        }
        let mut left = 0;
        for f in read_dir(&dir)? {
            if keep.contains(&f) {
                left += 1;
                continue;
            }
            std::fs::remove_file(&f).map_err(MirrorError::io("remove", &f))?;
            if !f.to_string_lossy().ends_with(".metadata") {
                deleted += 1;
            }
        }
        if left == 0 {
            std::fs::remove_dir(&dir).map_err(MirrorError::io("remove", &dir))?;
        }
    }
    Ok(deleted)
}

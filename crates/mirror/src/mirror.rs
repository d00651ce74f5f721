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
use wheelgate_index::{DecodeError, IndexClient, IndexError, IndexFile, PackageName};

use crate::error::MirrorError;
use crate::manifest::{Manifest, ManifestFile, ManifestVariant, MANIFEST_FILE};
use crate::names::{is_safe_name, is_safe_segment};
use crate::pages::{self, PageFile};

/// The store of verified files, below the release root.
const STORE_DIR: &str = "files";

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
    /// How many pages or files are fetched at once (at least 1).
    pub jobs: usize,
    /// Remove stored files that no variant of the manifest lists any more.
    pub delete: bool,
}

/// Progress of a run. Every method has an empty default.
pub trait Reporter: Send + Sync {
    /// The pages of every variant were read: `files` distinct files to check or fetch, `bytes`
    /// their size as far as the index says.
    fn on_plan(&self, _files: usize, _bytes: u64) {}
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
    if opts.variants.is_empty() {
        return Err(MirrorError::Invalid("no variant to mirror".into()));
    }
    for s in &opts.root {
        if !is_safe_segment(s) {
            return Err(MirrorError::Invalid(format!(
                "{s:?} cannot be a directory name below the destination"
            )));
        }
    }
    let mut seen = BTreeSet::new();
    for v in &opts.variants {
        if !is_safe_segment(&v.name) || v.name == STORE_DIR {
            return Err(MirrorError::Invalid(format!(
                "variant {:?} cannot be a directory name below the destination",
                v.name
            )));
        }
        if !seen.insert(&v.name) {
            return Err(MirrorError::Invalid(format!(
                "variant {} given twice",
                v.name
            )));
        }
    }
    Ok(())
}

/// Whether `s` is a sha256 in lower-case hex (it becomes a directory name).
fn is_sha256(s: &str) -> bool {
    s.len() == 64
        && s.bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// Mirror `opts.variants` into `opts.dest`: see the crate documentation for the layout.
/// Nothing is switched unless every page of every variant was read and every file verified.
pub async fn mirror(
    client: &IndexClient,
    opts: &MirrorOptions,
    reporter: &dyn Reporter,
) -> Result<MirrorSummary, MirrorError> {
    check_options(opts)?;
    let jobs = opts.jobs.max(1);
    let mut root = opts.dest.clone();
    root.extend(&opts.root);
    let store = root.join(STORE_DIR);
    tokio::fs::create_dir_all(&store)
        .await
        .map_err(MirrorError::io("create", &store))?;
    discard_partial(&store).await?;

    // 1. Plan: every page of every variant.
    let planned = plan(client, &opts.variants, jobs)
        .instrument(tracing::info_span!(
            "mirror_plan",
            variants = opts.variants.len()
        ))
        .await?;

    // 2. Fetch: each distinct (sha256, filename) once.
    let mut distinct: BTreeMap<(String, String), Job> = BTreeMap::new();
    for p in &planned {
        for files in p.projects.values() {
            for f in files {
                let sha256 = f.sha256().unwrap_or_default();
                distinct
                    .entry((sha256.clone(), f.filename.clone()))
                    .or_insert_with(|| Job {
                        sha256,
                        file: f.clone(),
                    });
            }
        }
    }
    reporter.on_plan(
        distinct.len(),
        distinct.values().filter_map(|j| j.file.size).sum(),
    );
    let fetched: Vec<Fetched> = futures::stream::iter(distinct.into_values())
        .map(|job| {
            let store = &store;
            async move {
                let f = fetch(client, store, job).await?;
                reporter.on_file(&f.key.1, f.stored.size, f.downloaded);
                Ok::<_, MirrorError>(f)
            }
        })
        .buffer_unordered(jobs)
        .try_collect()
        .instrument(tracing::info_span!("mirror_fetch"))
        .await?;
    let mut summary = MirrorSummary {
        root: root.clone(),
        manifest: root.join(MANIFEST_FILE),
        files: fetched.len(),
        downloaded: fetched.iter().filter(|f| f.downloaded).count(),
        skipped: fetched.iter().filter(|f| !f.downloaded).count(),
        bytes_downloaded: fetched.iter().map(|f| f.bytes).sum(),
        bytes_total: fetched.iter().map(|f| f.stored.size).sum(),
        deleted: 0,
        variants: Vec::new(),
    };
    let stored: HashMap<(String, String), Stored> =
        fetched.into_iter().map(|f| (f.key, f.stored)).collect();

    // 3. Switch each variant's pages; 4. the manifest, last.
    let mut manifest = Manifest::load(&summary.manifest)?;
    manifest.format = 1;
    for p in &planned {
        let (simple, entry) = switch_variant(&root, p, &stored)?;
        reporter.on_switched(&p.source.name, &simple);
        summary.variants.push(VariantSummary {
            name: p.source.name.clone(),
            index_url: entry.index_url.clone(),
            simple,
            projects: p.projects.len(),
            files: entry.files.len(),
        });
        manifest.variants.insert(p.source.name.clone(), entry);
    }
    write_atomically(
        &summary.manifest,
        (serde_json::to_string_pretty(&manifest).map_err(|source| MirrorError::Manifest {
            path: summary.manifest.clone(),
            source,
        })? + "\n")
            .as_bytes(),
    )?;

    // 5. --delete: what no variant of the manifest lists.
    if opts.delete {
        summary.deleted = delete_unlisted(&root, &store, &manifest)?;
    }
    Ok(summary)
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

async fn plan(
    client: &IndexClient,
    variants: &[VariantSource],
    jobs: usize,
) -> Result<Vec<Planned>, MirrorError> {
    let roots: Vec<(usize, PackageName)> = futures::stream::iter(variants.iter().enumerate())
        .map(|(i, v)| async move {
            let list = client
                .root(&v.index_url)
                .await
                .map_err(|e| index_error(&v.name, &v.index_url, None, e))?
                .ok_or_else(|| MirrorError::NoIndex {
                    variant: v.name.clone(),
                    url: SafeUrl(&v.index_url).to_string(),
                })?;
            Ok::<_, MirrorError>(list.projects.into_iter().map(move |p| (i, p)))
        })
        .buffer_unordered(jobs)
        .map_ok(|it| futures::stream::iter(it.map(Ok)))
        .try_flatten()
        .try_collect()
        .await?;
    let mut planned: Vec<Planned> = variants
        .iter()
        .map(|v| Planned {
            source: v.clone(),
            projects: BTreeMap::new(),
        })
        .collect();
    let pages: Vec<(usize, String, Vec<IndexFile>)> = futures::stream::iter(roots)
        .map(|(i, name)| async move {
            let v = &variants[i];
            let url = IndexClient::project_url(&v.index_url, &name);
            let page = client
                .project(&v.index_url, &name)
                .await
                .map_err(|e| index_error(&v.name, &url, Some(name.as_ref()), e))?;
            let Some(page) = page else {
                tracing::warn!(variant = %v.name, project = %name, "listed in the index root but has no page; skipped");
                return Ok(None);
            };
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
            Ok(Some((i, name.to_string(), files)))
        })
        .buffer_unordered(jobs)
        .try_filter_map(|x| async move { Ok(x) })
        .try_collect()
        .await?;
    for (i, name, files) in pages {
        if !is_safe_name(&name) {
            return Err(MirrorError::UnsafeName {
                variant: variants[i].name.clone(),
                project: name.clone(),
                name,
            });
        }
        planned[i].projects.insert(name, files);
    }
    Ok(planned)
}

/// The sha256 and size of the file at `path`, `None` when there is none.
async fn hash_file(path: &Path) -> Result<Option<(String, u64)>, MirrorError> {
    let p = path.to_owned();
    tokio::task::spawn_blocking(move || {
        use std::io::Read;
        let mut f = match std::fs::File::open(&p) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(MirrorError::io("read", &p)(e)),
        };
        let mut h = Sha256::new();
        let mut buf = vec![0u8; 256 * 1024];
        let mut size = 0u64;
        loop {
            let n = f.read(&mut buf).map_err(MirrorError::io("read", &p))?;
            if n == 0 {
                break;
            }
            size += n as u64;
            h.update(&buf[..n]);
        }
        Ok(Some((hex::encode(h.finalize()), size)))
    })
    .await
    .unwrap_or_else(|e| Err(MirrorError::Invalid(format!("hash task failed: {e}"))))
}

async fn fetch(client: &IndexClient, store: &Path, job: Job) -> Result<Fetched, MirrorError> {
    let Job { sha256, file } = job;
    let dir = store.join(&sha256);
    tokio::fs::create_dir_all(&dir)
        .await
        .map_err(MirrorError::io("create", &dir))?;
    let path = dir.join(&file.filename);
    let mut bytes = 0;
    let (size, downloaded) = match hash_file(&path).await? {
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
            _ => {
                let body =
                    client
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
    }
    Ok(Fetched {
        key: (sha256, file.filename),
        stored: Stored {
            size,
            metadata_sha256,
        },
        downloaded,
        bytes,
    })
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
    };
    let names: Vec<String> = p.projects.keys().cloned().collect();
    write_atomically(
        &gdir.join("index.html"),
        pages::root_html(&names).as_bytes(),
    )?;
    write_atomically(
        &gdir.join("index.json"),
        pages::root_json(&names).as_bytes(),
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
            });
        }
        let pdir = gdir.join(project);
        std::fs::create_dir(&pdir).map_err(MirrorError::io("create", &pdir))?;
        write_atomically(
            &pdir.join("index.html"),
            pages::project_html(project, &listed).as_bytes(),
        )?;
        write_atomically(
            &pdir.join("index.json"),
            pages::project_json(project, &listed).as_bytes(),
        )?;
    }
    let simple = vdir.join("simple");
    let link = vdir.join(format!("{generation}.link"));
    std::os::unix::fs::symlink(&generation, &link).map_err(MirrorError::io("create", &link))?;
    if let Err(e) = std::fs::rename(&link, &simple) {
        let _ = std::fs::remove_file(&link);
        let _ = std::fs::remove_dir_all(&gdir);
        return Err(MirrorError::io("switch", &simple)(e));
    }
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

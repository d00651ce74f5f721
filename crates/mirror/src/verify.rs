//! `verify`: an offline check of a mirrored release (no network, no certificate): the manifest
//! parses; every file it lists for the variants checked is in the store with its size and
//! sha256 (hashed in blocks, several files at once), and so is every metadata file it
//! vouches for; every page of those variants (PEP 503 HTML and PEP 691 JSON, as the tree
//! stores them) links only to files that exist inside the tree. Run under the store's lock,
//! shared: other verifications may run at the same time, a mirror run may not, so a tree is
//! never read while it is being switched.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use serde::{Serialize, Serializer};
use url::Url;
use wheelgate_index::{parse_project_page, parse_root_page, PageFormat};

use crate::error::MirrorError;
use crate::lock::{lock, LockMode};
use crate::manifest::{Manifest, MANIFEST_FILE};
use crate::mirror::{check_names, is_sha256, sha256_of, Reporter, STORE_DIR};
use crate::names::is_safe_name;

/// What to verify where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifyOptions {
    /// The destination directory the release was mirrored into.
    pub dest: PathBuf,
    /// Directories below `dest` that hold the release (e.g. `["rhoai", "3.0"]`).
    pub root: Vec<String>,
    /// The variants to check (each must be in the manifest).
    pub variants: Vec<String>,
    /// How many files are hashed at once (at least 1).
    pub jobs: usize,
}

/// What a verification found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VerifySummary {
    /// The release root (`<dest>/<root...>`).
    pub root: PathBuf,
    /// The manifest.
    pub manifest: PathBuf,
    /// Whether nothing is wrong (`problems` is empty).
    pub intact: bool,
    /// Distinct stored files checked (a file listed by several variants counts once).
    pub files: usize,
    /// Bytes hashed.
    pub bytes: u64,
    /// Pages read and checked.
    pub pages: usize,
    /// Per variant.
    pub variants: Vec<VerifiedVariant>,
    /// Everything wrong, sorted by path.
    pub problems: Vec<Problem>,
}

/// One variant as it was checked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VerifiedVariant {
    /// The variant.
    pub name: String,
    /// Its static index (`<root>/<name>/simple`).
    pub simple: PathBuf,
    /// Projects its index root lists.
    pub projects: usize,
    /// Files the manifest lists for it.
    pub files: usize,
}

/// One thing wrong with the tree: where, and what.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Problem {
    /// The file or page at fault, relative to the release root (`files/<sha256>/<name>`,
    /// `<variant>/simple/<project>/index.html`, `manifest.json`).
    pub path: String,
    /// What is wrong with it.
    pub kind: ProblemKind,
}

/// What is wrong with a path of the tree.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[non_exhaustive]
pub enum ProblemKind {
    /// Not there (or not a regular file).
    Missing,
    /// A stored file whose size is not the manifest's.
    Size {
        /// The manifest's size.
        expected: u64,
        /// The stored file's.
        found: u64,
    },
    /// A stored file (or metadata file) whose bytes do not have the manifest's sha256.
    Sha256Mismatch {
        /// The manifest's sha256.
        expected: String,
        /// The stored bytes'.
        found: String,
    },
    /// A page links to a file that does not exist.
    DanglingLink {
        /// The link's target, relative to the release root.
        target: String,
    },
    /// A page links outside the mirrored tree (another host, or a path above the release).
    OutsideLink {
        /// The link, resolved.
        url: String,
    },
    /// A page or the manifest cannot be read or parsed.
    Unreadable {
        /// Why.
        error: String,
    },
    /// The manifest has no entry for a variant that was to be checked.
    NotInManifest {
        /// The variant.
        variant: String,
    },
    /// A file the manifest lists for a variant that no page of the variant links to.
    NotLinked {
        /// The variant.
        variant: String,
    },
    /// A manifest entry that cannot be checked (its path is not `files/<sha256>/<filename>`).
    BadEntry {
        /// Why.
        reason: String,
    },
}

impl fmt::Display for ProblemKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Missing => write!(f, "missing"),
            Self::Size { expected, found } => {
                write!(f, "size: expected {expected} bytes, found {found}")
            }
            Self::Sha256Mismatch { expected, found } => {
                write!(f, "sha256 mismatch: expected {expected}, found {found}")
            }
            Self::DanglingLink { target } => write!(f, "dangling link to {target}: no such file"),
            Self::OutsideLink { url } => write!(f, "links to {url}, outside the mirror"),
            Self::Unreadable { error } => write!(f, "cannot be read: {error}"),
            Self::NotInManifest { variant } => {
                write!(f, "has no variant {variant} (never mirrored here?)")
            }
            Self::NotLinked { variant } => write!(
                f,
                "listed for variant {variant} by the manifest, but no page of the variant links to it"
            ),
            Self::BadEntry { reason } => write!(f, "bad entry: {reason}"),
        }
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.path, self.kind)
    }
}

/// `{"path", "kind", <the kind's fields>, "message"}`.
impl Serialize for Problem {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        struct Doc<'a> {
            path: &'a str,
            #[serde(flatten)]
            kind: &'a ProblemKind,
            message: String,
        }
        Doc {
            path: &self.path,
            kind: &self.kind,
            message: self.kind.to_string(),
        }
        .serialize(s)
    }
}

impl Problem {
    fn new(path: impl Into<String>, kind: ProblemKind) -> Self {
        Self {
            path: path.into(),
            kind,
        }
    }
}

/// A stored file as the manifest describes it.
#[derive(Debug, Clone)]
struct Expected {
    filename: String,
    size: u64,
    sha256: String,
    metadata_sha256: Option<String>,
}

/// Check the mirror of `opts.variants` below `opts.dest` without any network access: see the
/// module documentation. Problems in the tree are returned in the summary (not intact); an
/// error means it could not be checked at all: bad options, or [`MirrorError::Locked`] when a
/// mirror run is writing there. Blocking (local reads and hashing, `opts.jobs` threads): call
/// it from a thread that may block.
pub fn verify(opts: &VerifyOptions, reporter: &dyn Reporter) -> Result<VerifySummary, MirrorError> {
    let names: Vec<&str> = opts.variants.iter().map(String::as_str).collect();
    check_names(&opts.root, &names)?;
    let mut root = opts.dest.clone();
    root.extend(&opts.root);
    // Links are resolved as a web server resolves them: lexically, from the tree's own path.
    let root = std::path::absolute(&root).map_err(MirrorError::io("read", &root))?;
    let manifest_path = root.join(MANIFEST_FILE);
    let mut summary = VerifySummary {
        root: root.clone(),
        manifest: manifest_path.clone(),
        intact: false,
        files: 0,
        bytes: 0,
        pages: 0,
        variants: Vec::new(),
        problems: Vec::new(),
    };
    if !root.is_dir() {
        // Nothing mirrored here (or another --dest): nothing to lock or read.
        summary
            .problems
            .push(Problem::new(MANIFEST_FILE, ProblemKind::Missing));
        return Ok(summary);
    }
    let _lock = lock(&root, LockMode::Shared)?;
    let mut problems = Vec::new();

    let manifest = match std::fs::read(&manifest_path) {
        Ok(bytes) => match serde_json::from_slice::<Manifest>(&bytes) {
            Ok(m) => Some(m),
            Err(e) => {
                problems.push(Problem::new(
                    MANIFEST_FILE,
                    ProblemKind::Unreadable {
                        error: e.to_string(),
                    },
                ));
                None
            }
        },
        Err(e) => {
            problems.push(Problem::new(MANIFEST_FILE, io_problem(&e)));
            None
        }
    };

    let mut expected: BTreeMap<String, Expected> = BTreeMap::new();
    for name in &opts.variants {
        let pages = check_pages(&root, name, &mut problems);
        summary.pages += pages.pages;
        let entry = manifest.as_ref().and_then(|m| m.variants.get(name));
        if let (Some(_), None) = (&manifest, entry) {
            problems.push(Problem::new(
                MANIFEST_FILE,
                ProblemKind::NotInManifest {
                    variant: name.clone(),
                },
            ));
        }
        let files = entry.map(|e| e.files.as_slice()).unwrap_or_default();
        for f in files {
            let path = format!("{STORE_DIR}/{}/{}", f.sha256, f.filename);
            if !is_sha256(&f.sha256) || !is_safe_name(&f.filename) || f.path != path {
                problems.push(Problem::new(
                    MANIFEST_FILE,
                    ProblemKind::BadEntry {
                        reason: format!(
                            "variant {name}, file {:?}: the path {:?} is not {STORE_DIR}/<sha256>/<filename>",
                            f.filename, f.path
                        ),
                    },
                ));
                continue;
            }
            if !pages.linked.contains(&path) {
                problems.push(Problem::new(
                    path.clone(),
                    ProblemKind::NotLinked {
                        variant: name.clone(),
                    },
                ));
            }
            expected.entry(path).or_insert_with(|| Expected {
                filename: f.filename.clone(),
                size: f.size,
                sha256: f.sha256.clone(),
                metadata_sha256: f.metadata_sha256.clone(),
            });
        }
        summary.variants.push(VerifiedVariant {
            name: name.clone(),
            simple: root.join(name).join("simple"),
            projects: pages.projects,
            files: files.len(),
        });
    }

    summary.files = expected.len();
    reporter.on_plan(expected.len(), expected.values().map(|e| e.size).sum());
    let (found, bytes) = check_files(&root, &expected, opts.jobs.max(1), reporter);
    problems.extend(found);
    summary.bytes = bytes;

    problems.sort();
    problems.dedup();
    summary.intact = problems.is_empty();
    summary.problems = problems;
    Ok(summary)
}

fn io_problem(e: &std::io::Error) -> ProblemKind {
    if e.kind() == std::io::ErrorKind::NotFound {
        ProblemKind::Missing
    } else {
        ProblemKind::Unreadable {
            error: e.to_string(),
        }
    }
}

/// What the pages of a variant link to.
#[derive(Debug, Default)]
struct PagesChecked {
    /// Projects the root pages list.
    projects: usize,
    /// Pages read.
    pages: usize,
    /// Stored files the project pages link to (relative to the release root).
    linked: BTreeSet<String>,
}

const FORMATS: [(&str, PageFormat); 2] = [
    ("index.html", PageFormat::Html),
    ("index.json", PageFormat::Json),
];

/// Read every page of `variant` (through its `simple` link, as a server would) and check that
/// each project the root lists has its pages and that every link of those resolves to a file
/// inside the release root.
fn check_pages(root: &Path, variant: &str, problems: &mut Vec<Problem>) -> PagesChecked {
    let mut out = PagesChecked::default();
    let simple = format!("{variant}/simple");
    let mut projects = BTreeSet::new();
    for (page, format) in FORMATS {
        let rel = format!("{simple}/{page}");
        let body = match std::fs::read(root.join(&rel)) {
            Ok(b) => b,
            Err(e) => {
                problems.push(Problem::new(rel, io_problem(&e)));
                continue;
            }
        };
        match parse_root_page(format, &body) {
            Ok(names) => {
                out.pages += 1;
                projects.extend(names.into_iter().map(|n| n.to_string()));
            }
            Err(e) => problems.push(Problem::new(
                rel,
                ProblemKind::Unreadable {
                    error: e.to_string(),
                },
            )),
        }
    }
    out.projects = projects.len();
    for project in &projects {
        if !is_safe_name(project) {
            problems.push(Problem::new(
                format!("{simple}/index.html"),
                ProblemKind::OutsideLink {
                    url: format!("{project}/"),
                },
            ));
            continue;
        }
        for (page, format) in FORMATS {
            let rel = format!("{simple}/{project}/{page}");
            let path = root.join(&rel);
            let body = match std::fs::read(&path) {
                Ok(b) => b,
                Err(e) => {
                    problems.push(Problem::new(rel, io_problem(&e)));
                    continue;
                }
            };
            let files = Url::from_file_path(&path)
                .map_err(|()| format!("{} is not an absolute path", path.display()))
                .and_then(|url| parse_project_page(format, &url, &body).map_err(|e| e.to_string()));
            let files = match files {
                Ok(f) => f,
                Err(error) => {
                    problems.push(Problem::new(rel, ProblemKind::Unreadable { error }));
                    continue;
                }
            };
            out.pages += 1;
            for f in &files {
                let links = std::iter::once(f.url.clone()).chain(f.metadata_url());
                for (i, url) in links.enumerate() {
                    match link_target(root, &url) {
                        None => problems.push(Problem::new(
                            rel.clone(),
                            ProblemKind::OutsideLink {
                                url: url.to_string(),
                            },
                        )),
                        Some(target) => {
                            if !root.join(&target).is_file() {
                                problems.push(Problem::new(
                                    rel.clone(),
                                    ProblemKind::DanglingLink {
                                        target: target.clone(),
                                    },
                                ));
                            }
                            // The file itself, not its metadata file.
                            if i == 0 {
                                out.linked.insert(target);
                            }
                        }
                    }
                }
            }
        }
    }
    out
}

/// Where a resolved link leads, relative to the release root; `None` when it leaves it.
fn link_target(root: &Path, url: &Url) -> Option<String> {
    if url.scheme() != "file" || url.host_str().is_some_and(|h| !h.is_empty()) {
        return None;
    }
    let path = url.to_file_path().ok()?;
    let rel = path.strip_prefix(root).ok()?;
    let rel = rel.to_str()?;
    (!rel.is_empty()).then(|| rel.to_owned())
}

/// Check each expected stored file (size, then sha256) and metadata file, `jobs` at a time.
/// Returns the problems and the bytes hashed.
fn check_files(
    root: &Path,
    expected: &BTreeMap<String, Expected>,
    jobs: usize,
    reporter: &dyn Reporter,
) -> (Vec<Problem>, u64) {
    let work: Vec<(&String, &Expected)> = expected.iter().collect();
    let next = AtomicUsize::new(0);
    std::thread::scope(|scope| {
        let handles: Vec<_> = (0..jobs.min(work.len()))
            .map(|_| {
                scope.spawn(|| {
                    let mut problems = Vec::new();
                    let mut bytes = 0;
                    while let Some((path, e)) = work.get(next.fetch_add(1, Ordering::Relaxed)) {
                        bytes += check_file(root, path, e, &mut problems);
                        reporter.on_file(&e.filename, e.size, false);
                    }
                    (problems, bytes)
                })
            })
            .collect();
        let mut problems = Vec::new();
        let mut bytes = 0;
        for h in handles {
            match h.join() {
                Ok((p, b)) => {
                    problems.extend(p);
                    bytes += b;
                }
                Err(_) => problems.push(Problem::new(
                    STORE_DIR,
                    ProblemKind::Unreadable {
                        error: "a hashing thread panicked".into(),
                    },
                )),
            }
        }
        (problems, bytes)
    })
}

/// Check one stored file and its metadata file; returns the bytes hashed.
fn check_file(root: &Path, rel: &str, e: &Expected, problems: &mut Vec<Problem>) -> u64 {
    let path = root.join(rel);
    let mut bytes = 0;
    match std::fs::metadata(&path) {
        Err(err) => problems.push(Problem::new(rel, io_problem(&err))),
        Ok(m) if !m.is_file() => problems.push(Problem::new(rel, ProblemKind::Missing)),
        Ok(m) if m.len() != e.size => problems.push(Problem::new(
            rel,
            ProblemKind::Size {
                expected: e.size,
                found: m.len(),
            },
        )),
        Ok(_) => match sha256_of(&path) {
            Err(err) => problems.push(Problem::new(rel, io_problem(&err))),
            Ok((found, size)) => {
                bytes += size;
                if found != e.sha256 {
                    problems.push(Problem::new(
                        rel,
                        ProblemKind::Sha256Mismatch {
                            expected: e.sha256.clone(),
                            found,
                        },
                    ));
                }
            }
        },
    }
    if let Some(expected) = &e.metadata_sha256 {
        let mrel = format!("{rel}.metadata");
        match sha256_of(&root.join(&mrel)) {
            Err(err) => problems.push(Problem::new(mrel, io_problem(&err))),
            Ok((found, size)) => {
                bytes += size;
                if &found != expected {
                    problems.push(Problem::new(
                        mrel,
                        ProblemKind::Sha256Mismatch {
                            expected: expected.clone(),
                            found,
                        },
                    ));
                }
            }
        }
    }
    bytes
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use sha2::{Digest, Sha256};

    use super::*;
    use crate::manifest::{ManifestFile, ManifestVariant};
    use crate::mirror::NoReporter;
    use crate::pages::{self, PageFile};

    fn sha(b: &[u8]) -> String {
        hex::encode(Sha256::digest(b))
    }

    /// A mirrored release `p/3.0` with variant `cpu`: project `a` (one wheel with its metadata
    /// file) and `b` (one wheel), written as the engine writes them. The temp dir, the release
    /// root and the stored paths of a's and b's wheels.
    fn tree() -> (tempfile::TempDir, PathBuf, String, String) {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("p/3.0");
        let gen = root.join("cpu/.simple.1");
        std::fs::create_dir_all(&gen).unwrap();
        std::os::unix::fs::symlink(".simple.1", root.join("cpu/simple")).unwrap();
        let mut manifest = Manifest {
            format: 1,
            ..Default::default()
        };
        let mut entry = ManifestVariant {
            index_url: "https://idx/p/3.0/cpu/simple/".into(),
            simple: "cpu/simple/".into(),
            projects: 2,
            ..Default::default()
        };
        let mut paths = Vec::new();
        for (project, bytes, metadata) in [
            ("a", &b"wheel a"[..], Some(&b"Metadata-Version: 2.1\n"[..])),
            ("b", &b"wheel bb"[..], None),
        ] {
            let filename = format!("{project}-1.0-py3-none-any.whl");
            let h = sha(bytes);
            let rel = format!("files/{h}/{filename}");
            std::fs::create_dir_all(root.join(format!("files/{h}"))).unwrap();
            std::fs::write(root.join(&rel), bytes).unwrap();
            let metadata_sha256 = metadata.map(|m| {
                std::fs::write(root.join(format!("{rel}.metadata")), m).unwrap();
                sha(m)
            });
            let listed = [PageFile {
                filename: filename.clone(),
                href: format!("../../../{rel}"),
                sha256: h.clone(),
                size: bytes.len() as u64,
                requires_python: None,
                metadata_sha256: metadata_sha256.clone(),
                yanked: None,
            }];
            std::fs::create_dir(gen.join(project)).unwrap();
            std::fs::write(
                gen.join(project).join("index.html"),
                pages::project_html(project, &listed),
            )
            .unwrap();
            std::fs::write(
                gen.join(project).join("index.json"),
                pages::project_json(project, &listed),
            )
            .unwrap();
            entry.files.push(ManifestFile {
                project: project.into(),
                filename: filename.clone(),
                sha256: h,
                size: bytes.len() as u64,
                url: format!("https://idx/f/{filename}"),
                path: rel.clone(),
                metadata_sha256,
                mtime_ns: Some(1),
            });
            paths.push(rel);
        }
        let names = ["a".to_owned(), "b".to_owned()];
        std::fs::write(gen.join("index.html"), pages::root_html(&names)).unwrap();
        std::fs::write(gen.join("index.json"), pages::root_json(&names)).unwrap();
        manifest.variants.insert("cpu".into(), entry);
        std::fs::write(
            root.join(MANIFEST_FILE),
            serde_json::to_vec_pretty(&manifest).unwrap(),
        )
        .unwrap();
        let b = paths.pop().unwrap();
        let a = paths.pop().unwrap();
        (dir, root, a, b)
    }

    fn opts(dir: &Path, variants: &[&str]) -> VerifyOptions {
        VerifyOptions {
            dest: dir.to_owned(),
            root: vec!["p".into(), "3.0".into()],
            variants: variants.iter().map(|v| v.to_string()).collect(),
            jobs: 2,
        }
    }

    fn problems(dir: &Path) -> Vec<Problem> {
        let s = verify(&opts(dir, &["cpu"]), &NoReporter).unwrap();
        assert_eq!(s.intact, s.problems.is_empty());
        s.problems
    }

    #[test]
    fn an_intact_tree_passes() {
        let (dir, root, _, _) = tree();
        let s = verify(&opts(dir.path(), &["cpu"]), &NoReporter).unwrap();
        assert!(s.intact, "{:#?}", s.problems);
        assert_eq!(s.root, root);
        assert_eq!((s.files, s.pages), (2, 6));
        assert_eq!(s.bytes, 7 + 8 + 22);
        assert_eq!(s.variants[0].projects, 2);
        assert_eq!(s.variants[0].files, 2);
        assert!(root.join(crate::LOCK_FILE).is_file());
    }

    #[test]
    fn a_changed_file_is_named_with_what_is_wrong() {
        let (dir, root, a, b) = tree();
        std::fs::write(root.join(&a), b"wheel A").unwrap();
        assert_eq!(
            problems(dir.path()),
            [Problem::new(
                a.clone(),
                ProblemKind::Sha256Mismatch {
                    expected: sha(b"wheel a"),
                    found: sha(b"wheel A"),
                }
            )]
        );
        std::fs::write(root.join(&a), b"wheel a!").unwrap();
        assert_eq!(
            problems(dir.path()),
            [Problem::new(
                a.clone(),
                ProblemKind::Size {
                    expected: 7,
                    found: 8
                }
            )]
        );
        std::fs::write(root.join(&a), b"wheel a").unwrap();
        std::fs::write(root.join(format!("{a}.metadata")), b"other").unwrap();
        let p = problems(dir.path());
        assert_eq!(p.len(), 1, "{p:#?}");
        assert_eq!(p[0].path, format!("{a}.metadata"));
        assert!(matches!(p[0].kind, ProblemKind::Sha256Mismatch { .. }));

        let (dir, root, _, _) = tree();
        std::fs::remove_file(root.join(&b)).unwrap();
        assert_eq!(
            problems(dir.path()),
            [
                Problem::new(
                    "cpu/simple/b/index.html",
                    ProblemKind::DanglingLink { target: b.clone() }
                ),
                Problem::new(
                    "cpu/simple/b/index.json",
                    ProblemKind::DanglingLink { target: b.clone() }
                ),
                Problem::new(b.clone(), ProblemKind::Missing),
            ]
        );
    }

    #[test]
    fn broken_and_outside_links_are_named() {
        let (dir, root, _, b) = tree();
        let page = root.join("cpu/simple/b/index.html");
        let html = std::fs::read_to_string(&page).unwrap();
        std::fs::write(&page, html.replace("b-1.0-py3-none-any.whl#", "nope.whl#")).unwrap();
        let nope = b.replace("b-1.0-py3-none-any.whl", "nope.whl");
        assert_eq!(
            problems(dir.path()),
            [Problem::new(
                "cpu/simple/b/index.html",
                ProblemKind::DanglingLink { target: nope }
            )]
        );
        std::fs::write(&page, html).unwrap();

        let page = root.join("cpu/simple/b/index.json");
        let json = std::fs::read_to_string(&page).unwrap();
        let outside = json.replacen("../../../files/", "../../../../../elsewhere/", 1);
        std::fs::write(&page, outside).unwrap();
        let p = problems(dir.path());
        assert_eq!(p.len(), 1, "{p:#?}");
        assert_eq!(p[0].path, "cpu/simple/b/index.json");
        assert!(
            matches!(&p[0].kind, ProblemKind::OutsideLink { url } if url.contains("/elsewhere/")),
            "{p:#?}"
        );
        std::fs::write(
            &page,
            json.replacen("../../../files/", "https://idx/files/", 1),
        )
        .unwrap();
        let p = problems(dir.path());
        assert!(
            matches!(&p[..], [Problem { kind: ProblemKind::OutsideLink { url }, .. }] if url.starts_with("https://idx/")),
            "{p:#?}"
        );

        // A project the root lists without its pages.
        let (dir, root, _, _) = tree();
        std::fs::remove_dir_all(root.join("cpu/.simple.1/b")).unwrap();
        let p: Vec<_> = problems(dir.path())
            .into_iter()
            .map(|p| p.to_string())
            .collect();
        assert!(
            p.contains(&"cpu/simple/b/index.html: missing".to_owned()),
            "{p:#?}"
        );
        assert!(
            p.iter()
                .any(|p| p.ends_with("no page of the variant links to it")),
            "{p:#?}"
        );
    }

    #[test]
    fn the_manifest_must_parse_and_name_the_variant() {
        let (dir, root, _, _) = tree();
        assert_eq!(
            problems_for(dir.path(), &["cpu", "gpu"]),
            [
                Problem::new("gpu/simple/index.html", ProblemKind::Missing),
                Problem::new("gpu/simple/index.json", ProblemKind::Missing),
                Problem::new(
                    MANIFEST_FILE,
                    ProblemKind::NotInManifest {
                        variant: "gpu".into()
                    }
                ),
            ]
        );
        std::fs::write(root.join(MANIFEST_FILE), b"{\"format\": 1, \"vari").unwrap();
        let p = problems(dir.path());
        assert!(
            matches!(&p[..], [Problem { path, kind: ProblemKind::Unreadable { .. } }] if path == MANIFEST_FILE),
            "{p:#?}"
        );
        std::fs::remove_file(root.join(MANIFEST_FILE)).unwrap();
        assert_eq!(
            problems(dir.path()),
            [Problem::new(MANIFEST_FILE, ProblemKind::Missing)]
        );
        // Nothing at all there: no lock file is made.
        let empty = tempfile::tempdir().unwrap();
        assert_eq!(
            problems(empty.path()),
            [Problem::new(MANIFEST_FILE, ProblemKind::Missing)]
        );
        assert!(!empty.path().join("p").exists());
    }

    fn problems_for(dir: &Path, variants: &[&str]) -> Vec<Problem> {
        verify(&opts(dir, variants), &NoReporter).unwrap().problems
    }

    #[test]
    fn a_mirror_run_holding_the_lock_stops_it() {
        let (dir, root, _, _) = tree();
        let held = lock(&root, LockMode::Exclusive).unwrap();
        match verify(&opts(dir.path(), &["cpu"]), &NoReporter) {
            Err(e @ MirrorError::Locked { .. }) => {
                let text = e.to_string();
                assert!(text.contains(&root.join(crate::LOCK_FILE).display().to_string()));
                assert!(
                    text.contains("another `wheelgate mirror` run is writing"),
                    "{text}"
                );
            }
            other => panic!("{other:?}"),
        }
        drop(held);
        // Verifications share it.
        let reading = lock(&root, LockMode::Shared).unwrap();
        assert!(
            verify(&opts(dir.path(), &["cpu"]), &NoReporter)
                .unwrap()
                .intact
        );
        drop(reading);
        assert!(matches!(
            verify(&opts(dir.path(), &["files"]), &NoReporter),
            Err(MirrorError::Invalid(_))
        ));
    }

    #[test]
    fn problems_serialize_with_their_fields_and_message() {
        let p = Problem::new(
            "files/x/a.whl",
            ProblemKind::Size {
                expected: 1,
                found: 2,
            },
        );
        assert_eq!(
            serde_json::to_value(&p).unwrap(),
            serde_json::json!({
                "path": "files/x/a.whl",
                "kind": "size",
                "expected": 1,
                "found": 2,
                "message": "size: expected 1 bytes, found 2",
            })
        );
        let m = serde_json::to_value(Problem::new("m", ProblemKind::Missing)).unwrap();
        assert_eq!(m["kind"], "missing");
    }
}

//! What an index page says, the same whichever format it came in.

use std::sync::Arc;

use url::Url;
use uv_normalize::PackageName;
use uv_pep440::{VersionSpecifiers, VersionSpecifiersParseError};
use uv_pypi_types::{CoreMetadata, Hashes, Yanked};

/// The format a page was served in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PageFormat {
    /// PEP 691 JSON (`application/vnd.pypi.simple.v1+json`).
    Json,
    /// PEP 503 HTML.
    Html,
}

/// The index root: every project it lists.
#[derive(Debug, Clone)]
pub struct ProjectList {
    /// The URL the page was read from (after redirects).
    pub url: Url,
    /// The format it came in.
    pub format: PageFormat,
    /// The projects, normalised, in page order.
    pub projects: Vec<PackageName>,
    /// The page's `ETag`, as sent (`"…"` or `W/"…"`); compare with [`same_etag`].
    pub etag: Option<String>,
}

/// What a conditional request for the index root (`If-None-Match`) got.
#[derive(Debug, Clone)]
pub enum RootRevalidation {
    /// 304: the index is the one the given `ETag` names. `etag` is what the server sent with
    /// the 304, when it sent one.
    NotModified {
        /// The `ETag` of the 304, as sent.
        etag: Option<String>,
    },
    /// The root page, read (it may still carry the same `ETag`: a server that ignores
    /// `If-None-Match`).
    Modified(ProjectList),
    /// No index there (404/410).
    Missing,
}

/// Whether two `ETag` values name the same representation by the weak comparison of RFC 9110
/// (section 8.8.3.2): the opaque tags are equal, a `W/` prefix is ignored. A front that rewrites
/// the body (nginx's `sub_filter`) turns a strong tag weak; it still names the same version.
pub fn same_etag(a: &str, b: &str) -> bool {
    fn opaque(t: &str) -> &str {
        let t = t.trim();
        t.strip_prefix("W/").unwrap_or(t)
    }
    !opaque(a).is_empty() && opaque(a) == opaque(b)
}

/// One project's page: its files.
#[derive(Debug, Clone)]
pub struct ProjectPage {
    /// The project.
    pub name: PackageName,
    /// The URL the page was read from (after redirects); file URLs are resolved against it.
    pub url: Url,
    /// The format it came in.
    pub format: PageFormat,
    /// The files, in page order.
    pub files: Vec<IndexFile>,
    /// The page's `ETag`, as sent (`"…"` or `W/"…"`); compare with [`same_etag`].
    pub etag: Option<String>,
}

/// A file listed on a project page.
#[derive(Debug, Clone)]
pub struct IndexFile {
    /// The file name (validated: no path separators).
    pub filename: String,
    /// Absolute download URL, without the hash fragment.
    pub url: Url,
    /// The hashes the index gives for the file.
    pub hashes: Hashes,
    /// `Requires-Python`, when given (parsed leniently, as uv does).
    pub requires_python: Option<Result<Arc<VersionSpecifiers>, VersionSpecifiersParseError>>,
    /// PEP 658/714: whether a `.metadata` file is served, and its hashes.
    pub core_metadata: Option<CoreMetadata>,
    /// PEP 592: whether the file is yanked (and why).
    pub yanked: Option<Yanked>,
    /// Size in bytes (PEP 700, JSON only).
    pub size: Option<u64>,
}

impl IndexFile {
    /// The sha256 the index gives, lower-case hex.
    pub fn sha256(&self) -> Option<String> {
        self.hashes.sha256.as_deref().map(str::to_ascii_lowercase)
    }

    /// Whether the file is yanked.
    pub fn is_yanked(&self) -> bool {
        self.yanked.as_ref().is_some_and(Yanked::is_yanked)
    }

    /// The PEP 658 metadata URL (`<file URL>.metadata`) when the index says it serves one.
    pub fn metadata_url(&self) -> Option<Url> {
        if !self
            .core_metadata
            .as_ref()
            .is_some_and(CoreMetadata::is_available)
        {
            return None;
        }
        let mut u = self.url.clone();
        let path = format!("{}.metadata", u.path());
        u.set_path(&path);
        Some(u)
    }

    /// The sha256 of the metadata file, when the index gives one.
    pub fn metadata_sha256(&self) -> Option<String> {
        match &self.core_metadata {
            Some(CoreMetadata::Hashes(h)) => h.sha256.as_deref().map(str::to_ascii_lowercase),
            _ => None,
        }
    }
}

/// Whether a file name from a page is safe to use as a local file name.
pub(crate) fn safe_filename(name: &str) -> bool {
    !name.is_empty()
        && name != "."
        && name != ".."
        && !name.starts_with('.')
        && !name.contains(['/', '\\', '\0'])
}

/// Resolve a link from a page against the page's URL, dropping the fragment.
pub(crate) fn resolve(base: &Url, href: &str) -> Result<Url, url::ParseError> {
    let mut u = base.join(href)?;
    u.set_fragment(None);
    Ok(u)
}

#[cfg(test)]
mod etag_tests {
    use super::same_etag;

    #[test]
    fn etags_compare_weakly() {
        assert!(same_etag("\"abc\"", "\"abc\""));
        assert!(same_etag("W/\"abc\"", "\"abc\""));
        assert!(same_etag("\"abc\"", " W/\"abc\" "));
        assert!(!same_etag("\"abc\"", "\"abd\""));
        assert!(!same_etag("W/\"abc\"", "W/\"ab\""));
        assert!(!same_etag("", ""));
        assert!(!same_etag("W/", "W/"));
    }
}

//! The catalog (`wheelgate.toml`): product, releases, variants, the package allowlist.
//!
//! Every error names the file, the line and the key, so a user can fix it at once.

use std::collections::BTreeMap;
use std::fmt;
use std::ops::Range;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use toml::Spanned;
use url::Url;

/// The file name looked up in the current directory.
pub const CATALOG_FILE: &str = "wheelgate.toml";

/// A catalog error: where and what.
#[derive(Debug, thiserror::Error)]
pub enum CatalogError {
    /// No catalog given and none in the current directory.
    #[error(
        "no catalog: pass --catalog PATH, set WHEELGATE_CATALOG, or run where {CATALOG_FILE} is"
    )]
    NotFound,
    /// The file cannot be read.
    #[error("cannot read catalog {}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The file is not valid TOML or has unknown/mistyped keys.
    #[error("{}:{line}: {message}", path.display())]
    Syntax {
        /// The file.
        path: PathBuf,
        /// 1-based line.
        line: usize,
        /// toml's message (names the key).
        message: String,
    },
    /// A value is invalid.
    #[error("{}:{line}: {key}: {message}", path.display())]
    Invalid {
        /// The file.
        path: PathBuf,
        /// 1-based line.
        line: usize,
        /// The key, dotted (`releases."3.0".variants`).
        key: String,
        /// What is wrong.
        message: String,
    },
    /// A release was asked for that the catalog does not define.
    #[error("release {release:?} is not in {}; defined: {}", path.display(), list(defined))]
    UnknownRelease {
        /// The file.
        path: PathBuf,
        /// The release asked for.
        release: String,
        /// What is defined.
        defined: Vec<String>,
    },
    /// A variant was asked for that the release does not have.
    #[error("variant {variant:?} is not part of release {release} in {}; its variants: {}", path.display(), list(defined))]
    UnknownVariant {
        /// The file.
        path: PathBuf,
        /// The release.
        release: String,
        /// The variant asked for.
        variant: String,
        /// The release's variants.
        defined: Vec<String>,
    },
}

fn list(items: &[String]) -> String {
    if items.is_empty() {
        "(none)".into()
    } else {
        items.join(", ")
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCatalog {
    product: Spanned<String>,
    #[serde(default)]
    pulp: Option<PulpSection>,
    #[serde(default)]
    variants: BTreeMap<Spanned<String>, RawVariant>,
    #[serde(default)]
    releases: BTreeMap<Spanned<String>, RawRelease>,
    #[serde(default)]
    packages: Option<RawPackages>,
    #[serde(default)]
    upload: Option<UploadSection>,
    #[serde(default)]
    vet: Option<VetSection>,
    #[serde(default)]
    customer: Option<RawCustomer>,
    #[serde(default)]
    access: Option<RawAccess>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAccess {
    production: Option<RawAccessRule>,
    staging: Option<RawAccessRule>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAccessRule {
    guard: Spanned<GuardMode>,
    ca_certificate: Option<Spanned<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCustomer {
    index_host: Option<Spanned<String>>,
    client_cert: Option<Spanned<String>>,
    client_key: Option<Spanned<String>>,
    ca_bundle: Option<Spanned<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawVariant {
    python: Spanned<Vec<Spanned<String>>>,
    platforms: Spanned<Vec<Spanned<String>>>,
    #[serde(default)]
    builds: BuildMode,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRelease {
    variants: Spanned<Vec<Spanned<String>>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPackages {
    allow: Spanned<Vec<Spanned<String>>>,
}

/// `[pulp]`: connection defaults (flags and environment win; pulp-cli's config fills gaps).
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct PulpSection {
    /// `base_url`.
    pub base_url: Option<String>,
    /// `api_root`.
    pub api_root: Option<String>,
    /// `domain`.
    pub domain: Option<String>,
    /// `verify_ssl`.
    pub verify_ssl: Option<bool>,
    /// A pulp-cli profile to read credentials from.
    pub profile: Option<String>,
}

/// `[customer]`: how the customer path (the simple index as pip reads it) is reached, for
/// promote/rollback verification and the customer-side commands. Paths are resolved against
/// the catalog's directory.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CustomerSection {
    /// `index_host`: `scheme://host[:port]` customers use (default: the distribution's
    /// `base_url` from Pulp).
    pub index_host: Option<Url>,
    /// `client_cert`: PEM with the certificate (and the key, unless `client_key` is given).
    pub client_cert: Option<PathBuf>,
    /// `client_key`: PEM with the key of `client_cert`.
    pub client_key: Option<PathBuf>,
    /// `ca_bundle`: PEM of the CAs to trust for the index host.
    pub ca_bundle: Option<PathBuf>,
}

impl CustomerSection {
    /// Whether the section sets anything.
    pub fn is_empty(&self) -> bool {
        self == &Self::default()
    }
}

/// `[access.production]` / `[access.staging]` `guard`: how Pulp guards the files of the
/// distributions (docs/catalog.md).
#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum GuardMode {
    /// An x509 content guard (`certguard/x509`) trusting `ca_certificate`.
    X509,
    /// No content guard (the TLS front alone decides).
    None,
}

/// One `[access.*]` table: the guard and the CA whose client certificates open the index.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessRule {
    /// The content guard Pulp applies to file downloads.
    pub guard: GuardMode,
    /// `ca_certificate`, resolved against the catalog's directory.
    pub ca_certificate: Option<PathBuf>,
    /// The PEM text of `ca_certificate` (read and checked when the catalog is loaded).
    pub ca_pem: Option<String>,
}

/// `[access]`: who may read the indexes. `production` covers the production base paths,
/// `staging` every `-test` base path. Unset: wheelgate manages no guards.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AccessSection {
    /// `[access.production]`: customers (the entitlement CA).
    pub production: Option<AccessRule>,
    /// `[access.staging]`: internal users of the `-test` indexes (the internal CA).
    pub staging: Option<AccessRule>,
}

/// `[upload]`: transfer tuning (docs/catalog.md).
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct UploadSection {
    /// Files at least this big always use chunked upload (bytes). Unset: no fixed threshold;
    /// the transfer is chosen per file from `request_time_limit` and the measured throughput.
    pub chunk_threshold: Option<u64>,
    /// Chunk size (bytes).
    pub chunk_size: Option<u64>,
    /// Chunks of one file in flight at once (1–16).
    #[serde(default, deserialize_with = "chunk_parallel")]
    pub chunk_parallel: Option<usize>,
    /// Files uploaded at once.
    pub jobs: Option<usize>,
    /// The Pulp API server's request-time limit in seconds (1–3600; default 30): a file goes
    /// in one request only when it is predicted to finish well inside it.
    #[serde(default, deserialize_with = "request_time_limit")]
    pub request_time_limit: Option<u64>,
}

/// `[upload] request_time_limit`: whole seconds, 1 to 3600.
fn request_time_limit<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
    let secs = u64::deserialize(d)?;
    if !(1..=3600).contains(&secs) {
        return Err(serde::de::Error::custom(format!(
            "upload.request_time_limit: {secs} is not a number of seconds from 1 to 3600 (the Pulp API server's request timeout; gunicorn's default and production's is 30)"
        )));
    }
    Ok(Some(secs))
}

/// `[upload] chunk_parallel`: 1 to 16.
fn chunk_parallel<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<usize>, D::Error> {
    let n = usize::deserialize(d)?;
    if !(1..=16).contains(&n) {
        return Err(serde::de::Error::custom(format!(
            "upload.chunk_parallel: {n} chunks in flight; use 1 to 16 (memory is about chunk_size * (chunk_parallel + 1))"
        )));
    }
    Ok(Some(n))
}

#[cfg(test)]
mod upload_section_tests {
    use super::*;

    const BASE: &str = "product = \"p\"\n[variants.cpu]\npython = [\"cp312\"]\nplatforms = [\"linux_x86_64\"]\n[releases.\"1.0\"]\nvariants = [\"cpu\"]\n";

    fn upload(section: &str) -> Result<UploadSection, CatalogError> {
        let text = format!("{BASE}[upload]\n{section}");
        Catalog::parse(Path::new("wheelgate.toml"), &text).map(|c| c.upload)
    }

    #[test]
    fn old_catalogs_keep_working() {
        let u = upload("chunk_threshold = 33554432\nchunk_size = 16777216\njobs = 4\n").unwrap();
        assert_eq!(u.chunk_threshold, Some(33554432));
        assert_eq!(u.chunk_size, Some(16777216));
        assert_eq!(u.jobs, Some(4));
        assert_eq!(u.request_time_limit, None);
        assert_eq!(u.chunk_parallel, None);
    }

    #[test]
    fn request_time_limit_and_chunk_parallel() {
        let u = upload("request_time_limit = 60\nchunk_parallel = 2\n").unwrap();
        assert_eq!(u.request_time_limit, Some(60));
        assert_eq!(u.chunk_parallel, Some(2));
    }

    #[test]
    fn out_of_range_values_name_the_key_and_the_line() {
        for (section, line, words) in [
            (
                "request_time_limit = 0\n",
                8,
                "upload.request_time_limit: 0 is not a number of seconds from 1 to 3600",
            ),
            (
                "jobs = 2\nrequest_time_limit = 7200\n",
                9,
                "upload.request_time_limit: 7200",
            ),
            (
                "chunk_parallel = 0\n",
                8,
                "upload.chunk_parallel: 0 chunks in flight; use 1 to 16",
            ),
            ("chunk_parallel = 64\n", 8, "upload.chunk_parallel: 64"),
        ] {
            let e = upload(section).unwrap_err().to_string();
            assert!(e.starts_with(&format!("wheelgate.toml:{line}: ")), "{e}");
            assert!(e.contains(words), "{e}");
        }
        let e = upload("request_time_limit = \"30s\"\n")
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("wheelgate.toml:8: "), "{e}");
        let e = upload("request_timeout = 30\n").unwrap_err().to_string();
        assert!(e.contains("request_timeout"), "{e}");
    }
}

/// `[vet]`: dependency-closure exceptions and the build-mix policy.
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct VetSection {
    /// Projects provided elsewhere (globs such as `nvidia-*`).
    #[serde(default)]
    pub external: Vec<String>,
    /// `mixed_builds`: whether a platform-specific wheel from an older build than a
    /// dependency it was compiled against fails vetting (`deny`, the default) or only warns.
    #[serde(default)]
    pub mixed_builds: MixedBuilds,
}

/// `[vet] mixed_builds`: what an ABI mix of builds does to vetting (docs/builds.md).
#[derive(Debug, Clone, Copy, Default, Deserialize, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum MixedBuilds {
    /// A platform-specific wheel mixed with a newer build of a dependency fails vetting.
    #[default]
    Deny,
    /// It is reported as a warning only.
    Warn,
}

/// `[variants.NAME] builds`: how an upload changes the staging repository (docs/builds.md).
#[derive(Debug, Clone, Copy, Default, Deserialize, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum BuildMode {
    /// The new version holds the previous one plus the build's files.
    #[default]
    Additive,
    /// The new version holds exactly the build's files (`upload --replace`).
    Replace,
}

/// A variant: which wheels it accepts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Variant {
    /// Its name (`cuda12.9-ubi9`).
    pub name: String,
    /// Allowed interpreter/ABI tags (`cp312`).
    pub python: Vec<String>,
    /// Allowed platform tags (`linux_x86_64`).
    pub platforms: Vec<String>,
    /// Whether an upload adds to the previous version or replaces it (`builds`).
    pub builds: BuildMode,
}

/// A release and its variants.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Release {
    /// Its name (`3.0`, `3.5-EA2`).
    pub name: String,
    /// Its variants, in catalog order.
    pub variants: Vec<String>,
}

/// A validated catalog.
#[derive(Debug, Clone)]
pub struct Catalog {
    /// Where it was read from.
    pub path: PathBuf,
    /// First segment of every base path.
    pub product: String,
    /// Connection defaults.
    pub pulp: PulpSection,
    /// Variants by name.
    pub variants: BTreeMap<String, Variant>,
    /// Releases by name.
    pub releases: BTreeMap<String, Release>,
    /// Projects allowed into the index (`*` = any).
    pub allow: Vec<String>,
    /// Upload tuning.
    pub upload: UploadSection,
    /// Vet settings.
    pub vet: VetSection,
    /// The customer path.
    pub customer: CustomerSection,
    /// Who may read the indexes (content guards, the TLS front).
    pub access: AccessSection,
}

/// The Pulp object names of one release + variant.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Names {
    /// Release.
    pub release: String,
    /// Variant.
    pub variant: String,
    /// Staging repository name.
    pub repository: String,
    /// Staging distribution name (serves the latest staging version).
    pub staging_distribution: String,
    /// Staging base path.
    pub staging_base_path: String,
    /// Production distribution name (serves one pinned version).
    pub production_distribution: String,
    /// Production base path.
    pub production_base_path: String,
}

impl Names {
    /// Derive the names of `product`/`release`/`variant`.
    pub fn new(product: &str, release: &str, variant: &str) -> Self {
        let base = format!("{product}-{release}-{variant}");
        Self {
            release: release.into(),
            variant: variant.into(),
            repository: base.clone(),
            staging_distribution: format!("{base}-test"),
            staging_base_path: format!("{product}/{release}/{variant}-test"),
            production_distribution: base,
            production_base_path: format!("{product}/{release}/{variant}"),
        }
    }
}

struct Ctx<'a> {
    path: &'a Path,
    text: &'a str,
}

impl Ctx<'_> {
    fn line(&self, span: Range<usize>) -> usize {
        let end = span.start.min(self.text.len());
        self.text[..end].bytes().filter(|b| *b == b'\n').count() + 1
    }

    fn customer(&self, raw: RawCustomer) -> Result<CustomerSection, CatalogError> {
        let index_host = match raw.index_host {
            None => None,
            Some(h) => Some(
                crate::customer::parse_index_host(h.get_ref())
                    .map_err(|why| self.invalid(h.span(), "customer.index_host", why))?,
            ),
        };
        let base = self.path.parent().unwrap_or_else(|| Path::new(""));
        let path =
            |key: &str, v: Option<Spanned<String>>| -> Result<Option<PathBuf>, CatalogError> {
                match v {
                    None => Ok(None),
                    Some(p) if p.get_ref().trim().is_empty() => Err(self.invalid(
                        p.span(),
                        format!("customer.{key}"),
                        "an empty path; remove the key or name a PEM file",
                    )),
                    Some(p) => Ok(Some(base.join(p.get_ref()))),
                }
            };
        let section = CustomerSection {
            index_host,
            client_cert: path("client_cert", raw.client_cert)?,
            client_key: path("client_key", raw.client_key.clone())?,
            ca_bundle: path("ca_bundle", raw.ca_bundle)?,
        };
        if let (Some(k), None) = (&raw.client_key, &section.client_cert) {
            return Err(self.invalid(
                k.span(),
                "customer.client_key",
                "client_key without client_cert; add client_cert (the certificate PEM)",
            ));
        }
        Ok(section)
    }

    fn access_rule(&self, which: &str, raw: RawAccessRule) -> Result<AccessRule, CatalogError> {
        let key = format!("access.{which}.ca_certificate");
        let base = self.path.parent().unwrap_or_else(|| Path::new(""));
        let Some(ca) = raw.ca_certificate else {
            if *raw.guard.get_ref() == GuardMode::X509 {
                return Err(self.invalid(
                    raw.guard.span(),
                    format!("access.{which}.guard"),
                    "guard = \"x509\" needs ca_certificate (the PEM of the CA whose client certificates are accepted)",
                ));
            }
            return Ok(AccessRule {
                guard: *raw.guard.get_ref(),
                ca_certificate: None,
                ca_pem: None,
            });
        };
        if ca.get_ref().trim().is_empty() {
            return Err(self.invalid(ca.span(), key, "an empty path; name the CA's PEM file"));
        }
        let path = base.join(ca.get_ref());
        let pem = std::fs::read_to_string(&path).map_err(|e| {
            self.invalid(
                ca.span(),
                &key,
                format!("cannot read {}: {e}", path.display()),
            )
        })?;
        wheelgate_http::read_certificates(wheelgate_http::TlsFile::CaBundle, &path).map_err(
            |e| {
                self.invalid(
                    ca.span(),
                    &key,
                    format!("{e}: expected a PEM file of CERTIFICATE blocks"),
                )
            },
        )?;
        Ok(AccessRule {
            guard: *raw.guard.get_ref(),
            ca_certificate: Some(path),
            ca_pem: Some(pem),
        })
    }

    fn invalid(
        &self,
        span: Range<usize>,
        key: impl Into<String>,
        message: impl Into<String>,
    ) -> CatalogError {
        CatalogError::Invalid {
            path: self.path.to_owned(),
            line: self.line(span),
            key: key.into(),
            message: message.into(),
        }
    }
}

/// Whether `s` is a valid release name: `major.minor` with an optional `-suffix`.
pub fn is_valid_release(s: &str) -> bool {
    let (nums, suffix) = match s.split_once('-') {
        Some((n, sfx)) => (n, Some(sfx)),
        None => (s, None),
    };
    let mut parts = nums.split('.');
    let ok_num =
        |p: Option<&str>| p.is_some_and(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()));
    if !ok_num(parts.next()) || !ok_num(parts.next()) || parts.next().is_some() {
        return false;
    }
    suffix.is_none_or(|sfx| {
        !sfx.is_empty() && sfx.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'.')
    })
}

fn is_valid_name(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 64
        && s.bytes().next().is_some_and(|b| b.is_ascii_alphanumeric())
        && s.bytes().all(|b| {
            b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'.' || b == b'_'
        })
}

fn quote_key(k: &str) -> String {
    if k.bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    {
        k.to_owned()
    } else {
        format!("{k:?}")
    }
}

impl Catalog {
    /// Find the catalog: an explicit path, else `./wheelgate.toml`.
    pub fn locate(explicit: Option<&Path>) -> Result<PathBuf, CatalogError> {
        match explicit {
            Some(p) => Ok(p.to_owned()),
            None => {
                let p = PathBuf::from(CATALOG_FILE);
                if p.is_file() {
                    Ok(p)
                } else {
                    Err(CatalogError::NotFound)
                }
            }
        }
    }

    /// Read and validate a catalog file.
    pub fn load(path: &Path) -> Result<Self, CatalogError> {
        let text = std::fs::read_to_string(path).map_err(|source| CatalogError::Read {
            path: path.to_owned(),
            source,
        })?;
        Self::parse(path, &text)
    }

    /// Validate catalog text (`path` is used in messages).
    pub fn parse(path: &Path, text: &str) -> Result<Self, CatalogError> {
        let cx = Ctx { path, text };
        let raw: RawCatalog = toml::from_str(text).map_err(|e| CatalogError::Syntax {
            path: path.to_owned(),
            line: e.span().map(|s| cx.line(s)).unwrap_or(1),
            message: e.message().trim().to_owned(),
        })?;

        let product = raw.product.get_ref().clone();
        if !is_valid_name(&product) || product.contains('.') {
            return Err(cx.invalid(
                raw.product.span(),
                "product",
                format!("{product:?} is not a valid product name (lowercase letters, digits, '-' and '_')"),
            ));
        }

        let mut variants = BTreeMap::new();
        for (name, v) in raw.variants {
            let key = format!("variants.{}", quote_key(name.get_ref()));
            if !is_valid_name(name.get_ref()) {
                return Err(cx.invalid(
                    name.span(),
                    key,
                    "a variant name uses lowercase letters, digits, '.', '-' and '_' (e.g. cuda12.9-ubi9)",
                ));
            }
            if v.python.get_ref().is_empty() {
                return Err(cx.invalid(
                    v.python.span(),
                    format!("{key}.python"),
                    "list at least one interpreter tag, e.g. [\"cp312\"]",
                ));
            }
            for t in v.python.get_ref() {
                let tag = t.get_ref();
                let ok = (tag.starts_with("cp") || tag.starts_with("py") || tag.starts_with("pp"))
                    && tag.len() > 2
                    && tag[2..].bytes().all(|b| b.is_ascii_digit());
                if !ok {
                    return Err(cx.invalid(
                        t.span(),
                        format!("{key}.python"),
                        format!("{tag:?} is not an interpreter tag such as cp312"),
                    ));
                }
            }
            if v.platforms.get_ref().is_empty() {
                return Err(cx.invalid(
                    v.platforms.span(),
                    format!("{key}.platforms"),
                    "list at least one platform tag, e.g. [\"linux_x86_64\"]",
                ));
            }
            for t in v.platforms.get_ref() {
                let tag = t.get_ref();
                if tag.is_empty() || !tag.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
                    return Err(cx.invalid(
                        t.span(),
                        format!("{key}.platforms"),
                        format!("{tag:?} is not a platform tag such as linux_x86_64"),
                    ));
                }
            }
            let n = name.into_inner();
            variants.insert(
                n.clone(),
                Variant {
                    name: n,
                    python: v
                        .python
                        .into_inner()
                        .into_iter()
                        .map(Spanned::into_inner)
                        .collect(),
                    platforms: v
                        .platforms
                        .into_inner()
                        .into_iter()
                        .map(Spanned::into_inner)
                        .collect(),
                    builds: v.builds,
                },
            );
        }

        let mut releases = BTreeMap::new();
        for (name, r) in raw.releases {
            let key = format!("releases.{}", quote_key(name.get_ref()));
            if !is_valid_release(name.get_ref()) {
                return Err(cx.invalid(
                    name.span(),
                    key,
                    format!("{:?} is not a release: expected major.minor with an optional suffix, e.g. 3.0 or 3.5-EA2", name.get_ref()),
                ));
            }
            let mut seen = Vec::new();
            for v in r.variants.get_ref() {
                if !variants.contains_key(v.get_ref()) {
                    return Err(cx.invalid(
                        v.span(),
                        format!("{key}.variants"),
                        format!(
                            "variant {:?} is used but not defined; add a [variants.{}] section",
                            v.get_ref(),
                            quote_key(v.get_ref())
                        ),
                    ));
                }
                if seen.contains(v.get_ref()) {
                    return Err(cx.invalid(
                        v.span(),
                        format!("{key}.variants"),
                        format!("variant {:?} is listed twice", v.get_ref()),
                    ));
                }
                seen.push(v.get_ref().clone());
            }
            if seen.is_empty() {
                return Err(cx.invalid(
                    r.variants.span(),
                    format!("{key}.variants"),
                    "a release needs at least one variant",
                ));
            }
            let n = name.into_inner();
            releases.insert(
                n.clone(),
                Release {
                    name: n,
                    variants: seen,
                },
            );
        }

        let allow = match raw.packages {
            None => Vec::new(),
            Some(p) => {
                let mut out = Vec::new();
                for a in p.allow.into_inner() {
                    let s = a.get_ref().trim();
                    let valid = !s.is_empty()
                        && s.bytes()
                            .all(|b| b.is_ascii_alphanumeric() || b"-_.*".contains(&b));
                    if !valid {
                        return Err(cx.invalid(
                            a.span(),
                            "packages.allow",
                            format!("{:?} is not a project name or glob", a.get_ref()),
                        ));
                    }
                    out.push(s.to_owned());
                }
                out
            }
        };

        if let Some(p) = &raw.pulp {
            if let Some(u) = &p.base_url {
                if let Err(e) = pulp_client::config::parse_base_url(u) {
                    return Err(cx
                        .invalid(0..0, "pulp.base_url", e.to_string())
                        .with_line_of(text, "base_url"));
                }
            }
        }

        let customer = match raw.customer {
            Some(c) => cx.customer(c)?,
            None => CustomerSection::default(),
        };

        let access = match raw.access {
            None => AccessSection::default(),
            Some(a) => AccessSection {
                production: a
                    .production
                    .map(|r| cx.access_rule("production", r))
                    .transpose()?,
                staging: a
                    .staging
                    .map(|r| cx.access_rule("staging", r))
                    .transpose()?,
            },
        };

        Ok(Self {
            path: path.to_owned(),
            product,
            pulp: raw.pulp.unwrap_or_default(),
            variants,
            releases,
            allow,
            upload: raw.upload.unwrap_or_default(),
            vet: raw.vet.unwrap_or_default(),
            customer,
            access,
        })
    }

    /// A release by name.
    pub fn release(&self, release: &str) -> Result<&Release, CatalogError> {
        self.releases
            .get(release)
            .ok_or_else(|| CatalogError::UnknownRelease {
                path: self.path.clone(),
                release: release.into(),
                defined: self.releases.keys().cloned().collect(),
            })
    }

    /// A variant of a release.
    pub fn variant(&self, release: &str, variant: &str) -> Result<&Variant, CatalogError> {
        let r = self.release(release)?;
        if !r.variants.iter().any(|v| v == variant) {
            return Err(CatalogError::UnknownVariant {
                path: self.path.clone(),
                release: release.into(),
                variant: variant.into(),
                defined: r.variants.clone(),
            });
        }
        self.variants
            .get(variant)
            .ok_or_else(|| CatalogError::UnknownVariant {
                path: self.path.clone(),
                release: release.into(),
                variant: variant.into(),
                defined: r.variants.clone(),
            })
    }

    /// The derived Pulp names of a release + variant.
    pub fn names(&self, release: &str, variant: &str) -> Names {
        Names::new(&self.product, release, variant)
    }
}

impl CatalogError {
    fn with_line_of(self, text: &str, key: &str) -> Self {
        match self {
            CatalogError::Invalid {
                path,
                key: k,
                message,
                ..
            } => {
                let line = text
                    .lines()
                    .position(|l| l.trim_start().starts_with(key))
                    .map(|i| i + 1)
                    .unwrap_or(1);
                CatalogError::Invalid {
                    path,
                    line,
                    key: k,
                    message,
                }
            }
            other => other,
        }
    }
}

impl fmt::Display for Names {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.release, self.variant)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) const GOOD: &str = r#"
product = "rhoai"

[pulp]
base_url = "http://127.0.0.1:24817"
api_root = "/pulp/"
domain = "default"

[variants.cpu-ubi9]
python = ["cp312"]
platforms = ["linux_x86_64", "linux_aarch64"]

[variants."cuda12.9-ubi9"]
python = ["cp312"]
platforms = ["linux_x86_64", "linux_aarch64"]

[releases."3.0"]
variants = ["cpu-ubi9", "cuda12.9-ubi9"]

[releases."3.5-EA2"]
variants = ["cpu-ubi9"]

[packages]
allow = ["torch", "vllm", "numpy"]
"#;

    fn parse(text: &str) -> Result<Catalog, CatalogError> {
        Catalog::parse(Path::new("wheelgate.toml"), text)
    }

    #[test]
    fn parses_the_documented_example() {
        let c = parse(GOOD).unwrap();
        assert_eq!(c.product, "rhoai");
        assert_eq!(
            c.release("3.0").unwrap().variants,
            vec!["cpu-ubi9", "cuda12.9-ubi9"]
        );
        assert_eq!(
            c.variant("3.0", "cuda12.9-ubi9").unwrap().python,
            vec!["cp312"]
        );
        assert_eq!(c.pulp.api_root.as_deref(), Some("/pulp/"));
        let n = c.names("3.0", "cuda12.9-ubi9");
        assert_eq!(n.repository, "rhoai-3.0-cuda12.9-ubi9");
        assert_eq!(n.production_distribution, "rhoai-3.0-cuda12.9-ubi9");
        assert_eq!(n.production_base_path, "rhoai/3.0/cuda12.9-ubi9");
        assert_eq!(n.staging_distribution, "rhoai-3.0-cuda12.9-ubi9-test");
        assert_eq!(n.staging_base_path, "rhoai/3.0/cuda12.9-ubi9-test");
    }

    #[test]
    fn builds_and_mixed_builds_policy() {
        let c = parse(GOOD).unwrap();
        assert_eq!(
            c.variant("3.0", "cpu-ubi9").unwrap().builds,
            BuildMode::Additive
        );
        assert_eq!(c.vet.mixed_builds, MixedBuilds::Deny);
        let text = GOOD.replace(
            "platforms = [\"linux_x86_64\", \"linux_aarch64\"]\n\n[variants.\"cuda",
            "platforms = [\"linux_x86_64\", \"linux_aarch64\"]\nbuilds = \"replace\"\n\n[variants.\"cuda",
        ) + "\n[vet]\nmixed_builds = \"warn\"\n";
        let c = parse(&text).unwrap();
        assert_eq!(
            c.variant("3.0", "cpu-ubi9").unwrap().builds,
            BuildMode::Replace
        );
        assert_eq!(
            c.variant("3.0", "cuda12.9-ubi9").unwrap().builds,
            BuildMode::Additive
        );
        assert_eq!(c.vet.mixed_builds, MixedBuilds::Warn);
        let err = parse(&text.replace("\"warn\"", "\"maybe\""))
            .unwrap_err()
            .to_string();
        assert!(err.contains("maybe") || err.contains("deny"), "{err}");
    }

    #[test]
    fn unknown_key_names_line_and_key() {
        let text = GOOD.replace(
            "platforms = [\"linux_x86_64\", \"linux_aarch64\"]\n\n[variants.\"cuda",
            "platforms = [\"linux_x86_64\", \"linux_aarch64\"]\nplatfroms = []\n\n[variants.\"cuda",
        );
        let err = parse(&text).unwrap_err().to_string();
        assert!(err.starts_with("wheelgate.toml:12:"), "{err}");
        assert!(err.contains("platfroms"), "{err}");
    }

    #[test]
    fn bad_release_string() {
        let err = parse(&GOOD.replace("[releases.\"3.5-EA2\"]", "[releases.\"three\"]"))
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with("wheelgate.toml:20: releases.three:"),
            "{err}"
        );
        assert!(err.contains("major.minor"), "{err}");
        for ok in ["3.0", "3.5-EA2", "10.12-rc.1"] {
            assert!(is_valid_release(ok), "{ok}");
        }
        for bad in ["3", "3.0.1", "3.x", "3.0-", "3.0-a b", ""] {
            assert!(!is_valid_release(bad), "{bad}");
        }
    }

    #[test]
    fn undefined_variant() {
        let err =
            parse(&GOOD.replace("variants = [\"cpu-ubi9\"]", "variants = [\"rocm6.4-ubi9\"]"))
                .unwrap_err()
                .to_string();
        assert!(
            err.starts_with("wheelgate.toml:21: releases.\"3.5-EA2\".variants:"),
            "{err}"
        );
        assert!(err.contains("rocm6.4-ubi9"), "{err}");
        assert!(err.contains("not defined"), "{err}");
    }

    #[test]
    fn bad_tags_and_types() {
        let err = parse(&GOOD.replacen("python = [\"cp312\"]", "python = [\"linux\"]", 1))
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with("wheelgate.toml:10: variants.cpu-ubi9.python:"),
            "{err}"
        );
        let err = parse(&GOOD.replace("product = \"rhoai\"", "product = 3"))
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("wheelgate.toml:2:"), "{err}");
        let err = parse(&GOOD.replace(
            "base_url = \"http://127.0.0.1:24817\"",
            "base_url = \"ftp://x\"",
        ))
        .unwrap_err()
        .to_string();
        assert!(err.starts_with("wheelgate.toml:5: pulp.base_url:"), "{err}");
    }

    #[test]
    fn unknown_release_and_variant_lookups() {
        let c = parse(GOOD).unwrap();
        let err = c.release("9.9").unwrap_err().to_string();
        assert!(err.contains("3.0, 3.5-EA2"), "{err}");
        let err = c
            .variant("3.5-EA2", "cuda12.9-ubi9")
            .unwrap_err()
            .to_string();
        assert!(err.contains("its variants: cpu-ubi9"), "{err}");
    }

    #[test]
    fn customer_section_resolves_paths_against_the_catalog() {
        let text = format!(
            "{GOOD}\n[customer]\nindex_host = \"https://pypi.example.com:8443\"\nclient_cert = \"pki/123.pem\"\nclient_key = \"pki/123-key.pem\"\nca_bundle = \"/etc/ca.pem\"\n"
        );
        let c = Catalog::parse(Path::new("/srv/cat/wheelgate.toml"), &text).unwrap();
        assert_eq!(
            c.customer.index_host.as_ref().map(Url::as_str),
            Some("https://pypi.example.com:8443/")
        );
        assert_eq!(
            c.customer.client_cert.as_deref(),
            Some(Path::new("/srv/cat/pki/123.pem"))
        );
        assert_eq!(
            c.customer.client_key.as_deref(),
            Some(Path::new("/srv/cat/pki/123-key.pem"))
        );
        assert_eq!(
            c.customer.ca_bundle.as_deref(),
            Some(Path::new("/etc/ca.pem"))
        );
        let plain = Catalog::parse(Path::new("w.toml"), GOOD).unwrap();
        assert!(plain.customer.is_empty());
    }

    #[test]
    fn customer_section_errors_name_the_key() {
        for (body, key, words) in [
            (
                "index_host = \"https://h/api/pypi/\"",
                "customer.index_host",
                "only scheme://host",
            ),
            ("index_host = \"ftp://h\"", "customer.index_host", "scheme"),
            (
                "index_host = \"https://u:hunter2@h\"",
                "customer.index_host",
                "no credentials",
            ),
            (
                "client_key = \"k.pem\"",
                "customer.client_key",
                "without client_cert",
            ),
            ("bogus = 1", "bogus", "unknown field"),
        ] {
            let text = format!("{GOOD}\n[customer]\n{body}\n");
            let msg = Catalog::parse(Path::new("w.toml"), &text)
                .unwrap_err()
                .to_string();
            assert!(msg.contains(key) && msg.contains(words), "{body}: {msg}");
            assert!(!msg.contains("hunter2"), "{msg}");
        }
    }

    #[test]
    fn access_section_reads_and_checks_the_ca() {
        let dir = tempfile::tempdir().unwrap();
        let ca =
            "-----BEGIN CERTIFICATE-----\nMIIBszCCAVmgAwIBAgIUQ3rQ\n-----END CERTIFICATE-----\n";
        std::fs::write(dir.path().join("ca.pem"), ca).unwrap();
        std::fs::write(dir.path().join("junk.pem"), "not a certificate\n").unwrap();
        let cat = dir.path().join("wheelgate.toml");
        let with = |body: &str| Catalog::parse(&cat, &format!("{GOOD}\n{body}\n"));
        let c = with(
            "[access.production]\nguard = \"x509\"\nca_certificate = \"ca.pem\"\n[access.staging]\nguard = \"none\"\n",
        )
        .unwrap();
        let p = c.access.production.as_ref().unwrap();
        assert_eq!(p.guard, GuardMode::X509);
        assert_eq!(
            p.ca_certificate.as_deref(),
            Some(dir.path().join("ca.pem").as_path())
        );
        assert_eq!(p.ca_pem.as_deref(), Some(ca));
        let s = c.access.staging.as_ref().unwrap();
        assert_eq!((s.guard, s.ca_pem.as_deref()), (GuardMode::None, None));
        assert_eq!(parse(GOOD).unwrap().access, AccessSection::default());

        for (body, key, words) in [
            (
                "[access.production]\nguard = \"x509\"\nca_certificate = \"missing.pem\"",
                "access.production.ca_certificate",
                "cannot read",
            ),
            (
                "[access.staging]\nguard = \"x509\"\nca_certificate = \"junk.pem\"",
                "access.staging.ca_certificate",
                "PEM",
            ),
            (
                "[access.production]\nguard = \"x509\"",
                "access.production.guard",
                "needs ca_certificate",
            ),
            (
                "[access.production]\nguard = \"rhsm\"",
                "rhsm",
                "expected `x509` or `none`",
            ),
            ("[access.prod]\nguard = \"none\"", "prod", "unknown field"),
        ] {
            let msg = with(body).unwrap_err().to_string();
            assert!(msg.contains(key) && msg.contains(words), "{body}: {msg}");
            // The line of the offending key (the table header for an unknown table).
            let word = key.rsplit('.').next().unwrap();
            let line =
                GOOD.lines().count() + 2 + body.lines().position(|l| l.contains(word)).unwrap();
            assert!(
                msg.contains(&format!("wheelgate.toml:{line}:")),
                "{body}: {msg}"
            );
        }
    }
}

//! Python package content units and artifacts.

use std::path::Path;
use std::sync::Arc;

use futures::{StreamExt, TryStreamExt};

use futures::stream::BoxStream;
use reqwest::Method;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use tracing::Instrument;

use crate::client::PulpClient;
use crate::error::{ClientError, Result};
use crate::hrefs::{ArtifactHref, PackageHref, RepositoryVersionHref, TaskHref, UploadHref};
use crate::uploads::ByteProgress;
use crate::ApiRequest;

const PACKAGES: &str = "content/python/packages/";

/// The most filenames per `filename__in` request of [`PulpClient::packages_by_filename`].
pub const FILENAME_BATCH: usize = 100;

/// The most bytes of the URL-encoded `filename__in` value of one request: Pulp's API server
/// (gunicorn) refuses request lines over 4,094 bytes, and the rest of the URL (API root,
/// domain, the version's href, `fields`) takes up to about 600. About 40 names of CUDA
/// wheels (`torch-2.9.0+cu129-cp312-cp312-manylinux_2_28_x86_64.whl`), 60 short ones.
pub const FILENAME_QUERY_BYTES: usize = 3000;

/// `filename__in` requests of [`PulpClient::packages_by_filename`] (and `name__in` requests of
/// [`PulpClient::packages_by_name`]) in flight at once.
pub const FILENAME_LOOKUPS_IN_FLIGHT: usize = 4;

/// The most project names per `name__in` request of [`PulpClient::packages_by_name`]; the URL
/// budget ([`FILENAME_QUERY_BYTES`]) usually binds first (about 230 names of 10 characters).
pub const NAME_BATCH: usize = 500;

/// How one synchronous upload request is sent.
#[derive(Debug, Clone)]
pub(crate) struct SyncRequest<'a> {
    /// The whole-file sha256, sent as the `sha256` field.
    pub sha256: Option<&'a str>,
    /// Client-side time-out of the whole request (else the client's).
    pub timeout: Option<std::time::Duration>,
    /// Whether a failure after sending may be retried.
    pub idempotency: crate::Idempotency,
}

/// A python package content unit (one file: wheel or sdist).
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct Package {
    /// Its href.
    pub pulp_href: PackageHref,
    /// The file name.
    pub filename: String,
    /// SHA-256 of the file.
    pub sha256: String,
    /// Project name as in the metadata.
    #[serde(default)]
    pub name: String,
    /// Version as in the metadata.
    #[serde(default)]
    pub version: String,
    /// `bdist_wheel`, `sdist`, ...
    #[serde(default)]
    pub packagetype: Option<String>,
    /// The stored file.
    #[serde(default)]
    pub artifact: Option<ArtifactHref>,
    /// `Requires-Dist` entries (Pulp returns a JSON list).
    #[serde(default)]
    pub requires_dist: Value,
    /// `Requires-Python`.
    #[serde(default)]
    pub requires_python: Option<String>,
    /// Python tag as Pulp parsed it.
    #[serde(default)]
    pub python_version: Option<String>,
    /// File size in bytes, where Pulp reports it.
    #[serde(default)]
    pub size: Option<u64>,
    /// Creation time.
    #[serde(default)]
    pub pulp_created: Option<String>,
}

/// Filters for listing packages (combine freely).
#[derive(Debug, Clone, Default)]
pub struct PackageQuery {
    /// Exact sha256.
    pub sha256: Option<String>,
    /// Exact filename.
    pub filename: Option<String>,
    /// Any of these filenames (`filename__in`; wheel and sdist names hold no comma). Keep
    /// the URL short ([`FILENAME_QUERY_BYTES`]): [`PulpClient::packages_by_filename`]
    /// batches for you.
    pub filename_in: Vec<String>,
    /// Project name.
    pub name: Option<String>,
    /// Any of these project names (`name__in`). pulp_python 3.36 compares PEP 503-normalized
    /// names; older releases compare the `METADATA` `Name` as written. Keep the URL short
    /// ([`FILENAME_QUERY_BYTES`]): [`PulpClient::packages_by_name`] batches for you.
    pub name_in: Vec<String>,
    /// Units present in this version.
    pub repository_version: Option<RepositoryVersionHref>,
    /// Units added by this version.
    pub repository_version_added: Option<RepositoryVersionHref>,
    /// Units removed by this version.
    pub repository_version_removed: Option<RepositoryVersionHref>,
    /// Page size (Pulp's default is 100).
    pub limit: Option<u32>,
    /// Only these fields (smaller answers for big listings).
    pub fields: Vec<String>,
    /// Sort order, e.g. `-pulp_created` (newest first); Pulp's default when `None`.
    pub ordering: Option<String>,
}

impl PackageQuery {
    /// The query parameters.
    pub fn pairs(&self) -> Vec<(&'static str, String)> {
        let mut p = Vec::new();
        if let Some(v) = &self.sha256 {
            p.push(("sha256", v.clone()));
        }
        if let Some(v) = &self.filename {
            p.push(("filename", v.clone()));
        }
        if !self.filename_in.is_empty() {
            p.push(("filename__in", self.filename_in.join(",")));
        }
        if let Some(v) = &self.name {
            p.push(("name", v.clone()));
        }
        if !self.name_in.is_empty() {
            p.push(("name__in", self.name_in.join(",")));
        }
        if let Some(v) = &self.repository_version {
            p.push(("repository_version", v.to_string()));
        }
        if let Some(v) = &self.repository_version_added {
            p.push(("repository_version_added", v.to_string()));
        }
        if let Some(v) = &self.repository_version_removed {
            p.push(("repository_version_removed", v.to_string()));
        }
        if !self.fields.is_empty() {
            // The fields every `Package` needs are always asked for.
            let mut fields: Vec<&str> = vec!["pulp_href", "filename", "sha256"];
            for f in &self.fields {
                if !fields.contains(&f.as_str()) {
                    fields.push(f);
                }
            }
            p.push(("fields", fields.join(",")));
        }
        if let Some(v) = &self.ordering {
            p.push(("ordering", v.clone()));
        }
        p.push(("limit", self.limit.unwrap_or(100).to_string()));
        p
    }
}

/// `filenames` cut into consecutive batches for `filename__in` queries: each of at most
/// [`FILENAME_BATCH`] names and [`FILENAME_QUERY_BYTES`] bytes URL-encoded (a single longer
/// name goes alone).
pub fn filename_batches(filenames: &[String]) -> Vec<&[String]> {
    in_batches(filenames, FILENAME_BATCH)
}

/// `names` cut into consecutive batches for `name__in` queries: each of at most
/// [`NAME_BATCH`] names and [`FILENAME_QUERY_BYTES`] bytes URL-encoded.
pub fn name_batches(names: &[String]) -> Vec<&[String]> {
    in_batches(names, NAME_BATCH)
}

/// `values` cut into consecutive batches for one `__in` filter: at most `most` values and
/// [`FILENAME_QUERY_BYTES`] bytes URL-encoded, separators included (a single longer value
/// goes alone).
fn in_batches(values: &[String], most: usize) -> Vec<&[String]> {
    let encoded = |value: &str| -> usize {
        url::form_urlencoded::byte_serialize(value.as_bytes())
            .map(str::len)
            .sum()
    };
    let mut batches = Vec::new();
    let (mut start, mut bytes) = (0, 0);
    for (i, value) in values.iter().enumerate() {
        // The separator (an encoded comma) before every value but the first.
        let cost = encoded(value) + if i > start { 3 } else { 0 };
        if i > start && (bytes + cost > FILENAME_QUERY_BYTES || i - start == most) {
            batches.push(&values[start..i]);
            start = i;
            bytes = encoded(value);
        } else {
            bytes += cost;
        }
    }
    if start < values.len() {
        batches.push(&values[start..]);
    }
    batches
}

/// An artifact: a stored file.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct Artifact {
    /// Its href.
    pub pulp_href: ArtifactHref,
    /// SHA-256.
    pub sha256: Option<String>,
    /// Size in bytes.
    pub size: Option<u64>,
}

impl PulpClient {
    /// The request listing packages (built, not sent).
    pub async fn packages_request(&self, query: &PackageQuery) -> Result<ApiRequest> {
        Ok(ApiRequest::new(Method::GET, self.api_url(PACKAGES).await?).query(&query.pairs()))
    }

    /// Stream all packages matching `query`, page by page.
    pub async fn packages(
        &self,
        query: &PackageQuery,
    ) -> Result<BoxStream<'static, Result<Package>>> {
        let req = self.packages_request(query).await?;
        Ok(self.paginate(req.url))
    }

    /// One page of packages (with the total `count`).
    pub async fn packages_page(&self, query: &PackageQuery) -> Result<crate::Page<Package>> {
        let req = self.packages_request(query).await?;
        self.request_json(req).await
    }

    /// Packages added between two versions of one repository (`added_between=v1,v2`).
    pub async fn packages_added_between(
        &self,
        from: &RepositoryVersionHref,
        to: &RepositoryVersionHref,
    ) -> Result<Vec<Package>> {
        self.between("added_between", from, to).await
    }

    /// Packages removed between two versions of one repository.
    pub async fn packages_removed_between(
        &self,
        from: &RepositoryVersionHref,
        to: &RepositoryVersionHref,
    ) -> Result<Vec<Package>> {
        self.between("removed_between", from, to).await
    }

    async fn between(
        &self,
        filter: &str,
        from: &RepositoryVersionHref,
        to: &RepositoryVersionHref,
    ) -> Result<Vec<Package>> {
        let req = ApiRequest::new(Method::GET, self.api_url(PACKAGES).await?)
            .query(&[(filter, format!("{from},{to}")), ("limit", "500".into())]);
        self.list_all(req.url).await
    }

    /// The package with this sha256, if Pulp has it (in this domain).
    pub async fn package_by_sha256(&self, sha256: &str) -> Result<Option<Package>> {
        let page = self
            .packages_page(&PackageQuery {
                sha256: Some(sha256.to_owned()),
                limit: Some(1),
                ..Default::default()
            })
            .await?;
        Ok(page.results.into_iter().next())
    }

    /// The packages with any of these sha256 digests (in this domain), looked up in batches
    /// (`sha256__in`), so checking a build of hundreds of files costs a few requests.
    pub async fn packages_by_sha256(&self, digests: &[String]) -> Result<Vec<Package>> {
        const BATCH: usize = 50;
        let url = self.api_url(PACKAGES).await?;
        let mut out = Vec::new();
        for chunk in digests.chunks(BATCH) {
            let req = ApiRequest::new(Method::GET, url.clone()).query(&[
                ("sha256__in", chunk.join(",")),
                ("limit", "1000".to_owned()),
            ]);
            let page: Vec<Package> = self.list_all(req.url).await?;
            out.extend(page);
        }
        Ok(out)
    }

    /// The requests [`PulpClient::packages_by_filename`] sends (built, not sent): one
    /// `filename__in` query per batch of names ([`filename_batches`]), each restricted to
    /// `version` and to `fields` (plus the ones every [`Package`] needs).
    pub async fn packages_by_filename_requests(
        &self,
        version: &RepositoryVersionHref,
        filenames: &[String],
        fields: &[&str],
    ) -> Result<Vec<ApiRequest>> {
        let mut out = Vec::new();
        for chunk in filename_batches(filenames) {
            let query = PackageQuery {
                repository_version: Some(version.clone()),
                filename_in: chunk.to_vec(),
                fields: fields.iter().map(|f| (*f).to_owned()).collect(),
                limit: Some(FILENAME_BATCH as u32),
                ..Default::default()
            };
            out.push(self.packages_request(&query).await?);
        }
        Ok(out)
    }

    /// The packages of `version` named by any of `filenames`: what of a build a version
    /// already holds, in requests that grow with the build, not with the version
    /// ([`filename_batches`], [`FILENAME_LOOKUPS_IN_FLIGHT`] requests at once).
    pub async fn packages_by_filename(
        &self,
        version: &RepositoryVersionHref,
        filenames: &[String],
        fields: &[&str],
    ) -> Result<Vec<Package>> {
        let requests = self
            .packages_by_filename_requests(version, filenames, fields)
            .await?;
        self.lookups_in_flight(requests, true).await
    }

    /// The requests [`PulpClient::packages_by_name`] sends (built, not sent): one `name__in`
    /// query per batch of project names ([`name_batches`]), each restricted to `version` and to
    /// `fields` (plus the ones every [`Package`] needs), newest first, at most `rows` a request.
    pub async fn packages_by_name_requests(
        &self,
        version: &RepositoryVersionHref,
        names: &[String],
        fields: &[&str],
        rows: u32,
    ) -> Result<Vec<ApiRequest>> {
        let mut out = Vec::new();
        for chunk in name_batches(names) {
            let query = PackageQuery {
                repository_version: Some(version.clone()),
                name_in: chunk.to_vec(),
                fields: fields.iter().map(|f| (*f).to_owned()).collect(),
                ordering: Some("-pulp_created".to_owned()),
                limit: Some(rows),
                ..Default::default()
            };
            out.push(self.packages_request(&query).await?);
        }
        Ok(out)
    }

    /// Packages of `version` of any of the projects `names`, newest first: at most `rows` for
    /// each batch of names ([`name_batches`]; one request each, [`FILENAME_LOOKUPS_IN_FLIGHT`]
    /// at once, no further pages). Fewer requests than [`PulpClient::packages_by_filename`]
    /// for the same build (a project's files share one short name), at the price of reading
    /// every file of those projects up to the cap; what the cap cuts off is simply not in the
    /// answer.
    ///
    /// What matches depends on the server: pulp_python 3.36 compares PEP 503-normalized names,
    /// older releases the `METADATA` `Name` as written (`PyYAML`, `zope.interface`). A package
    /// missing from the answer may therefore still be in the version.
    pub async fn packages_by_name(
        &self,
        version: &RepositoryVersionHref,
        names: &[String],
        fields: &[&str],
        rows: u32,
    ) -> Result<Vec<Package>> {
        let requests = self
            .packages_by_name_requests(version, names, fields, rows)
            .await?;
        self.lookups_in_flight(requests, false).await
    }

    /// Every package of `version` of the projects `names` (normalised names, as
    /// [`PulpClient::packages_by_name`] matches them): one `name__in` query per batch of names
    /// ([`name_batches`], so no request line outgrows the server's limit), every page of each,
    /// [`FILENAME_LOOKUPS_IN_FLIGHT`] at once. Requests grow with the number of projects asked
    /// for, not with the version.
    pub async fn packages_of_projects(
        &self,
        version: &RepositoryVersionHref,
        names: &[String],
        fields: &[&str],
        page: u32,
    ) -> Result<Vec<Package>> {
        let requests = self
            .packages_by_name_requests(version, names, fields, page)
            .await?;
        self.lookups_in_flight(requests, true).await
    }

    /// Sends look-up requests, [`FILENAME_LOOKUPS_IN_FLIGHT`] at once: every page of each
    /// (`all_pages`) or only the first.
    async fn lookups_in_flight(
        &self,
        requests: Vec<ApiRequest>,
        all_pages: bool,
    ) -> Result<Vec<Package>> {
        let pages: Vec<Vec<Package>> = futures::stream::iter(requests)
            .map(|req| async move {
                if all_pages {
                    self.list_all::<Package>(req.url).await
                } else {
                    let page: crate::Page<Package> = self.request_json(req).await?;
                    Ok(page.results)
                }
            })
            .buffer_unordered(FILENAME_LOOKUPS_IN_FLIGHT)
            .try_collect()
            .await?;
        Ok(pages.into_iter().flatten().collect())
    }

    /// Get a package.
    pub async fn package(&self, href: &PackageHref) -> Result<Package> {
        self.get_json(self.href_url(href.as_str())?).await
    }

    /// Start creating a package from an **uncommitted** upload, with the whole-file sha256 Pulp
    /// checks the assembled file against (Pulp does not check the chunks cover the file).
    pub async fn start_create_package_from_upload(
        &self,
        upload: &UploadHref,
        relative_path: &str,
        sha256: &str,
    ) -> Result<TaskHref> {
        let req = ApiRequest::new(Method::POST, self.api_url(PACKAGES).await?).json(
            &serde_json::json!({
                "upload": upload,
                "relative_path": relative_path,
                "sha256": sha256,
            }),
        )?;
        self.request_task(req).await
    }

    /// Upload a file with the synchronous endpoint (`content/python/packages/upload/`): one
    /// request streamed from disk, answer is the package (existing one if the bytes are known).
    /// Only for files that upload well within the server's request timeout; retried on
    /// transient errors. [`PulpClient::upload_package`] chooses between this and a chunked
    /// upload, and checks the sha256.
    pub async fn upload_package_sync(
        &self,
        path: &Path,
        progress: Arc<dyn ByteProgress>,
    ) -> Result<Package> {
        let request = SyncRequest {
            sha256: None,
            timeout: None,
            // Same bytes give the same unit: safe to retry.
            idempotency: crate::Idempotency::Idempotent,
        };
        self.post_package_file(path, &request, progress).await
    }

    /// POST a file to the synchronous upload endpoint, streamed from disk.
    pub(crate) async fn post_package_file(
        &self,
        path: &Path,
        request: &SyncRequest<'_>,
        progress: Arc<dyn ByteProgress>,
    ) -> Result<Package> {
        let url = self.api_url(&format!("{PACKAGES}upload/")).await?;
        let filename = path
            .file_name()
            .and_then(|n| n.to_str())
            .ok_or_else(|| ClientError::Url(path.display().to_string()))?
            .to_owned();
        let method = Method::POST;
        let span = tracing::debug_span!("pulp", %method, %url, file = %filename);
        self.with_retry(request.idempotency, &method, || async {
            let file = tokio::fs::File::open(path)
                .await
                .map_err(|source| ClientError::Io {
                    path: path.to_owned(),
                    source,
                })?;
            let len = file
                .metadata()
                .await
                .map_err(|source| ClientError::Io {
                    path: path.to_owned(),
                    source,
                })?
                .len();
            let progress = progress.clone();
            let stream = tokio_util::io::ReaderStream::with_capacity(file, 256 * 1024)
                .inspect_ok(move |chunk: &bytes::Bytes| progress.advance(chunk.len() as u64));
            let body = reqwest::Body::wrap_stream(stream);
            let part = reqwest::multipart::Part::stream_with_length(body, len)
                .file_name(filename.clone())
                .mime_str("application/octet-stream")
                .map_err(|e| ClientError::Url(e.to_string()))?;
            let mut form = reqwest::multipart::Form::new().part("file", part);
            if let Some(sha256) = request.sha256 {
                // The serializer takes it; pulp_python 3.36 replaces it with the digest it
                // computes (and the caller compares that), a version that checks it refuses.
                form = form.text("sha256", sha256.to_owned());
            }
            let mut builder = self.http().post(url.clone()).multipart(form);
            if let Some(t) = request.timeout {
                builder = builder.timeout(t);
            }
            let builder = self.authorize(builder, &method).await?;
            let resp = self.execute(builder, &method, &url).await?;
            Ok(Self::decode::<Package>(&method, &url, &resp.body)?)
        })
        .instrument(span)
        .await
    }

    /// The artifact with this sha256, if Pulp has it.
    pub async fn artifact_by_sha256(&self, sha256: &str) -> Result<Option<Artifact>> {
        let req = ApiRequest::new(Method::GET, self.api_url("artifacts/").await?)
            .query(&[("sha256", sha256), ("limit", "1")]);
        let page: crate::Page<Artifact> = self.request_json(req).await?;
        Ok(page.results.into_iter().next())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_pairs() {
        let q = PackageQuery {
            sha256: Some("ab".into()),
            repository_version: Some(RepositoryVersionHref::new("/r/versions/1/")),
            fields: vec!["filename".into(), "sha256".into()],
            ..Default::default()
        };
        let pairs = q.pairs();
        assert_eq!(pairs[0], ("sha256", "ab".to_owned()));
        assert_eq!(
            pairs[1],
            ("repository_version", "/r/versions/1/".to_owned())
        );
        assert_eq!(pairs[2], ("fields", "pulp_href,filename,sha256".to_owned()));
        assert_eq!(pairs[3], ("limit", "100".to_owned()));
    }

    fn client(root: &str, domain: Option<&str>) -> PulpClient {
        let mut config = crate::ClientConfig::new(
            url::Url::parse("http://pulp.test").expect("a valid base URL"),
        );
        config.api_root = root.into();
        config.domain = domain.map(str::to_owned);
        config.domains_enabled = Some(domain.is_some());
        PulpClient::new(config).expect("a client")
    }

    fn query(req: &ApiRequest, key: &str) -> Option<String> {
        req.url
            .query_pairs()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.into_owned())
    }

    #[tokio::test]
    async fn filename_lookups_are_batched_and_bound_to_the_version() {
        let client = client("/pulp/", None);
        let version =
            RepositoryVersionHref::new("/pulp/api/v3/repositories/python/python/0190/versions/7/");
        let names: Vec<String> = (0..FILENAME_BATCH + 1)
            .map(|i| format!("p{i}-1.0-py3-none-any.whl"))
            .collect();
        let reqs = client
            .packages_by_filename_requests(&version, &names, &["name"])
            .await
            .expect("requests");
        assert_eq!(reqs.len(), 2, "101 short names: two requests");
        assert!(
            reqs[0]
                .url
                .as_str()
                .starts_with("http://pulp.test/pulp/api/v3/content/python/packages/?"),
            "{}",
            reqs[0].url
        );
        assert_eq!(
            query(&reqs[0], "repository_version"),
            Some(version.to_string())
        );
        assert_eq!(
            query(&reqs[0], "filename__in"),
            Some(names[..FILENAME_BATCH].join(","))
        );
        assert_eq!(
            query(&reqs[0], "fields"),
            Some("pulp_href,filename,sha256,name".into())
        );
        assert_eq!(query(&reqs[0], "limit"), Some(FILENAME_BATCH.to_string()));
        assert_eq!(
            query(&reqs[1], "filename__in"),
            Some(names[FILENAME_BATCH].clone())
        );
        assert!(client
            .packages_by_filename_requests(&version, &[], &[])
            .await
            .expect("no requests")
            .is_empty());
    }

    #[tokio::test]
    async fn name_lookups_are_batched_by_url_length_newest_first_and_bound_to_the_version() {
        let client = client("/pulp/", None);
        let version =
            RepositoryVersionHref::new("/pulp/api/v3/repositories/python/python/0190/versions/7/");
        // 1,000 projects of 9 characters: 12 encoded bytes each with the separator.
        let names: Vec<String> = (0..1000).map(|i| format!("wgn1_{i:04}")).collect();
        let reqs = client
            .packages_by_name_requests(&version, &names, &["filename", "sha256"], 1000)
            .await
            .expect("requests");
        assert_eq!(reqs.len(), 4, "250 names a request, by URL length");
        let mut seen = Vec::new();
        for r in &reqs {
            assert!(
                r.url
                    .as_str()
                    .starts_with("http://pulp.test/pulp/api/v3/content/python/packages/?"),
                "{}",
                r.url
            );
            assert_eq!(query(r, "repository_version"), Some(version.to_string()));
            assert_eq!(query(r, "fields"), Some("pulp_href,filename,sha256".into()));
            assert_eq!(query(r, "ordering"), Some("-pulp_created".into()));
            assert_eq!(query(r, "limit"), Some("1000".into()));
            assert_eq!(query(r, "filename__in"), None);
            let value = query(r, "name__in").expect("name__in");
            assert!(value.len() <= FILENAME_QUERY_BYTES, "{}", value.len());
            seen.extend(value.split(',').map(str::to_owned));
        }
        assert_eq!(seen, names, "every name once, in order");
        // The same build by filename takes four times the requests.
        let filenames: Vec<String> = names
            .iter()
            .map(|n| format!("{n}-1.2.3-cp312-cp312-linux_x86_64.whl"))
            .collect();
        let by_filename = client
            .packages_by_filename_requests(&version, &filenames, &["filename", "sha256"])
            .await
            .expect("requests");
        assert!(by_filename.len() >= 4 * reqs.len(), "{}", by_filename.len());
        // Very short names: the count cap binds.
        let tiny: Vec<String> = (0..NAME_BATCH + 1).map(|_| "a".to_owned()).collect();
        assert_eq!(name_batches(&tiny).len(), 2, "at most {NAME_BATCH} names");
        assert!(client
            .packages_by_name_requests(&version, &[], &[], 10)
            .await
            .expect("no requests")
            .is_empty());
    }

    #[tokio::test]
    async fn long_names_keep_every_request_line_under_the_servers_limit() {
        // Hosted layout: the longest API root and hrefs; CUDA-style names with a `+`.
        let client = client("/api/pulp/", Some("public-rhai"));
        let version = RepositoryVersionHref::new(
            "/api/pulp/public-rhai/api/v3/repositories/python/python/01a24c92-c72d-73fb-90be-4c99d00e7326/versions/123/",
        );
        let names: Vec<String> = (0..500)
            .map(|i| {
                format!("nvidia_cusparselt_cu12_{i:04}-2.9.0+cu129-cp312-cp312-manylinux_2_28_x86_64.whl")
            })
            .collect();
        let reqs = client
            .packages_by_filename_requests(&version, &names, &["filename", "sha256"])
            .await
            .expect("requests");
        let mut seen = Vec::new();
        for r in &reqs {
            let line = format!(
                "GET {}{} HTTP/1.1",
                r.url.path(),
                r.url.query().map(|q| format!("?{q}")).unwrap_or_default()
            );
            assert!(line.len() <= 4094, "{} bytes: {line}", line.len());
            let value = query(r, "filename__in").expect("filename__in");
            seen.extend(value.split(',').map(str::to_owned));
        }
        assert_eq!(seen, names, "every name once, in order");
        assert!(reqs.len() < 20, "batches stay large: {}", reqs.len());
        // One absurdly long name still goes (alone).
        let long = vec!["a".repeat(5000), "b.whl".into()];
        assert_eq!(filename_batches(&long).len(), 2);
    }
}

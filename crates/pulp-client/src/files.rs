//! pulp_file repositories and content: small files with immutable, versioned history
//! (wheelgate keeps its ledger there).

use std::collections::BTreeMap;

use bytes::Bytes;
use reqwest::Method;
use serde::{Deserialize, Serialize};
use serde_json::json;
use tracing::Instrument;

use crate::client::PulpClient;
use crate::error::Result;
use crate::hrefs::{RepositoryHref, RepositoryVersionHref};
use crate::tasks::{Task, WaitOptions};
use crate::{ApiRequest, Idempotency};

const FILE_REPOS: &str = "repositories/file/file/";
const FILES: &str = "content/file/files/";
/// The fields read of every file unit (the listing costs Pulp the same whatever the fields).
const FILE_FIELDS: &str = "pulp_href,relative_path,sha256,pulp_created";
/// Rows a page of file units.
const FILE_PAGE: &str = "1000";

/// A file repository.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct FileRepository {
    /// Its href.
    pub pulp_href: RepositoryHref,
    /// Unique name.
    pub name: String,
    /// Labels.
    #[serde(default)]
    pub pulp_labels: BTreeMap<String, String>,
    /// The newest version.
    pub latest_version_href: Option<RepositoryVersionHref>,
    /// How many versions Pulp keeps.
    #[serde(default)]
    pub retain_repo_versions: Option<u64>,
}

/// A file content unit.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
pub struct FileContent {
    /// Its href.
    pub pulp_href: String,
    /// Path inside the repository.
    pub relative_path: String,
    /// SHA-256 of the bytes.
    #[serde(default)]
    pub sha256: Option<String>,
    /// Creation time.
    #[serde(default)]
    pub pulp_created: Option<String>,
}

/// One side of the net change between two versions of one repository.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Between {
    /// Units present in the target version and not in the base (`added_between`).
    Added,
    /// Units present in the base version and not in the target (`removed_between`).
    Removed,
}

impl Between {
    /// The content filter's name.
    pub fn filter(self) -> &'static str {
        match self {
            Self::Added => "added_between",
            Self::Removed => "removed_between",
        }
    }
}

/// The net change of a file repository between two of its versions (Pulp computes it from
/// the two versions' content sets: a file added and removed again in between is in neither).
#[derive(Debug, Clone, Default)]
pub struct FileChanges {
    /// Files in the target version and not in the base.
    pub added: Vec<FileContent>,
    /// Files in the base version and not in the target.
    pub removed: Vec<FileContent>,
}

/// The result of adding a file to a repository.
#[derive(Debug, Clone)]
pub struct AddedFile {
    /// The task that ran.
    pub task: Task,
    /// The new repository version.
    pub version: Option<RepositoryVersionHref>,
}

impl PulpClient {
    /// Create a file repository.
    pub async fn create_file_repository(
        &self,
        name: &str,
        labels: &BTreeMap<String, String>,
    ) -> Result<FileRepository> {
        let req = ApiRequest::new(Method::POST, self.api_url(FILE_REPOS).await?)
            .json(&json!({"name": name, "pulp_labels": labels}))?;
        self.request_json(req).await
    }

    /// Find a file repository by name.
    pub async fn file_repository_by_name(&self, name: &str) -> Result<Option<FileRepository>> {
        let req =
            ApiRequest::new(Method::GET, self.api_url(FILE_REPOS).await?).query(&[("name", name)]);
        let page: crate::Page<FileRepository> = self.request_json(req).await?;
        Ok(page.results.into_iter().find(|r| r.name == name))
    }

    /// Get a file repository.
    pub async fn file_repository(&self, href: &RepositoryHref) -> Result<FileRepository> {
        self.get_json(self.href_url(href.as_str())?).await
    }

    /// Upload `bytes` as a file at `relative_path` and add it to `repository` in one task
    /// (one new version). Waits for the task.
    pub async fn add_file(
        &self,
        repository: &RepositoryHref,
        relative_path: &str,
        bytes: Bytes,
        wait: &WaitOptions,
    ) -> Result<AddedFile> {
        let url = self.api_url(FILES).await?;
        let method = Method::POST;
        let span = tracing::debug_span!("pulp", %method, %url, %relative_path);
        // Not idempotent (each call makes a version): retried only when it never left here.
        let resp = self
            .with_retry(Idempotency::NotIdempotent, &method, || async {
                let part = reqwest::multipart::Part::bytes(bytes.to_vec()).file_name("event.json");
                let form = reqwest::multipart::Form::new()
                    .part("file", part)
                    .text("relative_path", relative_path.to_owned())
                    .text("repository", repository.to_string());
                let builder = self
                    .authorize(self.http().post(url.clone()).multipart(form), &method)
                    .await?;
                self.execute(builder, &method, &url).await
            })
            .instrument(span)
            .await?;
        let op: crate::AsyncOperation = Self::decode(&method, &url, &resp.body)?;
        let task = self.wait_task(&op.task, wait).await?;
        let version = task.created_version();
        Ok(AddedFile { task, version })
    }

    /// All files in a repository version.
    pub async fn list_files(&self, version: &RepositoryVersionHref) -> Result<Vec<FileContent>> {
        let req = ApiRequest::new(Method::GET, self.api_url(FILES).await?).query(&[
            ("repository_version", version.as_str()),
            ("fields", FILE_FIELDS),
            ("limit", FILE_PAGE),
        ]);
        self.list_all(req.url).await
    }

    /// The request listing one side of the net change from version `base` to version `target`
    /// of one file repository (built, not sent; the first page, `next` leads on).
    pub async fn files_between_request(
        &self,
        side: Between,
        base: &RepositoryVersionHref,
        target: &RepositoryVersionHref,
    ) -> Result<ApiRequest> {
        Ok(
            ApiRequest::new(Method::GET, self.api_url(FILES).await?).query(&[
                (side.filter(), format!("{base},{target}").as_str()),
                ("fields", FILE_FIELDS),
                ("limit", FILE_PAGE),
            ]),
        )
    }

    /// What changed from version `base` to version `target` of one file repository: both
    /// sides at once, each paginated. Costs Pulp the change, not the versions' size. A `base`
    /// that no longer exists (deleted, e.g. by retention) is an error with status 400 or 404.
    pub async fn files_changed_between(
        &self,
        base: &RepositoryVersionHref,
        target: &RepositoryVersionHref,
    ) -> Result<FileChanges> {
        let (added, removed) = futures::try_join!(
            self.files_between_request(Between::Added, base, target),
            self.files_between_request(Between::Removed, base, target),
        )?;
        let (added, removed) =
            futures::try_join!(self.list_all(added.url), self.list_all(removed.url))?;
        Ok(FileChanges { added, removed })
    }

    /// Delete a file repository (a task). Waits.
    pub async fn delete_file_repository(
        &self,
        href: &RepositoryHref,
        wait: &WaitOptions,
    ) -> Result<()> {
        self.delete_repository(href, wait).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_change_between_versions_is_asked_by_base_and_target() {
        let mut config =
            crate::ClientConfig::new(url::Url::parse("http://pulp.test").expect("a valid URL"));
        config.api_root = "/api/pulp/".into();
        config.domain = Some("d1".into());
        config.domains_enabled = Some(true);
        let client = PulpClient::new(config).expect("a client");
        let repo = "/api/pulp/d1/api/v3/repositories/file/file/0190/";
        let base = RepositoryVersionHref::new(format!("{repo}versions/3/"));
        let target = RepositoryVersionHref::new(format!("{repo}versions/7/"));
        for (side, filter) in [
            (Between::Added, "added_between"),
            (Between::Removed, "removed_between"),
        ] {
            let req = client
                .files_between_request(side, &base, &target)
                .await
                .expect("a request");
            assert_eq!(req.method, Method::GET);
            assert_eq!(
                req.url.path(),
                "/api/pulp/d1/api/v3/content/file/files/",
                "{filter}"
            );
            let pairs: Vec<(String, String)> = req.url.query_pairs().into_owned().collect();
            assert_eq!(
                pairs,
                vec![
                    (
                        filter.to_owned(),
                        format!("{repo}versions/3/,{repo}versions/7/")
                    ),
                    ("fields".to_owned(), FILE_FIELDS.to_owned()),
                    ("limit".to_owned(), "1000".to_owned()),
                ]
            );
        }
    }
}

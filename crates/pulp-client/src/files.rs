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
#[derive(Debug, Clone, Deserialize, Serialize)]
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
            ("fields", "pulp_href,relative_path,sha256,pulp_created"),
            ("limit", "1000"),
        ]);
        self.list_all(req.url).await
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

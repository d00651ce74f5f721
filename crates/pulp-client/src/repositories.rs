//! Python repositories, their versions, and `modify`.

use std::collections::BTreeMap;

use reqwest::Method;
use serde::{Deserialize, Serialize};

use crate::client::PulpClient;
use crate::error::{ClientError, Result};
use crate::hrefs::{PackageHref, RemoteHref, RepositoryHref, RepositoryVersionHref, TaskHref};
use crate::tasks::{Task, WaitOptions};
use crate::ApiRequest;

const REPOS: &str = "repositories/python/python/";

/// A python repository.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct Repository {
    /// Its href.
    pub pulp_href: RepositoryHref,
    /// Unique name (per domain).
    pub name: String,
    /// Free text.
    #[serde(default)]
    pub description: Option<String>,
    /// Labels.
    #[serde(default)]
    pub pulp_labels: BTreeMap<String, String>,
    /// The newest version.
    pub latest_version_href: Option<RepositoryVersionHref>,
    /// Where its versions are listed.
    #[serde(default)]
    pub versions_href: Option<String>,
    /// How many versions Pulp keeps (`None`: all).
    #[serde(default)]
    pub retain_repo_versions: Option<u64>,
    /// Whether a same-filename upload may replace a unit (Pulp's default: true).
    #[serde(default)]
    pub allow_package_substitution: Option<bool>,
    /// Whether a publication is made on every change.
    #[serde(default)]
    pub autopublish: Option<bool>,
    /// Remote used for sync.
    #[serde(default)]
    pub remote: Option<RemoteHref>,
    /// When it was created.
    #[serde(default)]
    pub pulp_created: Option<String>,
}

/// Fields for creating a repository, or changing one (only the set fields are sent).
#[derive(Debug, Clone, Default, Serialize)]
pub struct RepositoryFields {
    /// Name (required on create).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Description.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Replace all labels.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pulp_labels: Option<BTreeMap<String, String>>,
    /// Retention; `Some(None)` sends null (keep all).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retain_repo_versions: Option<Option<u64>>,
    /// Whether same-filename uploads may replace units.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub allow_package_substitution: Option<bool>,
    /// Autopublish.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub autopublish: Option<bool>,
}

/// Per-type counts of a version's content.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
pub struct ContentSummary {
    /// Units added by this version.
    #[serde(default)]
    pub added: BTreeMap<String, ContentCount>,
    /// Units removed by this version.
    #[serde(default)]
    pub removed: BTreeMap<String, ContentCount>,
    /// Units present in this version.
    #[serde(default)]
    pub present: BTreeMap<String, ContentCount>,
}

/// A count and the href listing those units.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct ContentCount {
    /// How many.
    pub count: u64,
    /// Where to list them.
    pub href: String,
}

impl ContentSummary {
    /// Number of python packages present.
    pub fn packages_present(&self) -> u64 {
        self.present
            .get("python.python")
            .map(|c| c.count)
            .unwrap_or(0)
    }
}

/// One immutable repository version.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct RepositoryVersion {
    /// Its href.
    pub pulp_href: RepositoryVersionHref,
    /// Its number (0 is the empty first version).
    pub number: u64,
    /// The repository.
    pub repository: RepositoryHref,
    /// The version it was based on.
    #[serde(default)]
    pub base_version: Option<RepositoryVersionHref>,
    /// Content counts.
    #[serde(default)]
    pub content_summary: ContentSummary,
    /// Creation time.
    #[serde(default)]
    pub pulp_created: Option<String>,
}

/// What a `modify` should do.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Modify {
    /// Units to add.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub add_content_units: Vec<PackageHref>,
    /// Units to remove (applied before additions).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub remove_content_units: Vec<PackageHref>,
    /// Base the new version on this one instead of the latest. Concurrent changes made
    /// after it are lost: leave unset for uploads.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub base_version: Option<RepositoryVersionHref>,
}

/// The result of a completed `modify`.
#[derive(Debug, Clone)]
pub struct ModifyOutcome {
    /// The task that ran.
    pub task: Task,
    /// The new version, or `None` when nothing changed.
    pub new_version: Option<RepositoryVersionHref>,
}

/// The body of a sync request.
#[derive(Serialize)]
struct SyncBody<'a> {
    remote: &'a RemoteHref,
    mirror: bool,
}

/// The result of a completed sync.
#[derive(Debug, Clone)]
pub struct SyncOutcome {
    /// The task that ran.
    pub task: Task,
    /// The new version, or `None` when nothing changed.
    pub new_version: Option<RepositoryVersionHref>,
}

impl PulpClient {
    /// Create a repository (synchronous, 201).
    pub async fn create_repository(&self, fields: &RepositoryFields) -> Result<Repository> {
        let req = ApiRequest::new(Method::POST, self.api_url(REPOS).await?).json(fields)?;
        self.request_json(req).await
    }

    /// Get a repository.
    pub async fn repository(&self, href: &RepositoryHref) -> Result<Repository> {
        self.get_json(self.href_url(href.as_str())?).await
    }

    /// Find a repository by exact name.
    pub async fn repository_by_name(&self, name: &str) -> Result<Option<Repository>> {
        let req = ApiRequest::new(Method::GET, self.api_url(REPOS).await?).query(&[("name", name)]);
        let page: crate::Page<Repository> = self.request_json(req).await?;
        Ok(page.results.into_iter().find(|r| r.name == name))
    }

    /// List repositories; `filters` are Pulp query parameters (e.g. `name__startswith`,
    /// `pulp_label_select`).
    pub async fn list_repositories(&self, filters: &[(&str, &str)]) -> Result<Vec<Repository>> {
        let req = ApiRequest::new(Method::GET, self.api_url(REPOS).await?).query(filters);
        self.list_all(req.url).await
    }

    /// Change a repository (PATCH, a task). Waits for it.
    pub async fn update_repository(
        &self,
        href: &RepositoryHref,
        fields: &RepositoryFields,
        wait: &WaitOptions,
    ) -> Result<()> {
        let req = ApiRequest::new(Method::PATCH, self.href_url(href.as_str())?).json(fields)?;
        self.apply_change(req, wait).await?;
        Ok(())
    }

    /// Delete a repository (a task). Waits for it.
    pub async fn delete_repository(&self, href: &RepositoryHref, wait: &WaitOptions) -> Result<()> {
        let req = ApiRequest::new(Method::DELETE, self.href_url(href.as_str())?);
        self.apply_change(req, wait).await?;
        Ok(())
    }

    /// Start a `modify`: one task, one new version (or none if nothing changes).
    pub async fn start_modify(&self, repo: &RepositoryHref, modify: &Modify) -> Result<TaskHref> {
        let url = self
            .href_url(repo.as_str())?
            .join("modify/")
            .map_err(|_| ClientError::Url(repo.to_string()))?;
        let req = ApiRequest::new(Method::POST, url).json(modify)?;
        self.request_task(req).await
    }

    /// Run a `modify` and wait for it.
    pub async fn modify(
        &self,
        repo: &RepositoryHref,
        modify: &Modify,
        wait: &WaitOptions,
    ) -> Result<ModifyOutcome> {
        let task = self.start_modify(repo, modify).await?;
        let task = self.wait_task(&task, wait).await?;
        let new_version = task.created_version();
        Ok(ModifyOutcome { task, new_version })
    }

    /// The request that syncs a repository from a remote (built, not sent): `POST
    /// <repository>sync/ {"remote", "mirror"}`. With `mirror`, the new version holds exactly
    /// what the remote offers; without, what it offers is added to the latest version.
    pub fn sync_request(
        &self,
        repo: &RepositoryHref,
        remote: &RemoteHref,
        mirror: bool,
    ) -> Result<ApiRequest> {
        let url = self
            .href_url(repo.as_str())?
            .join("sync/")
            .map_err(|_| ClientError::Url(repo.to_string()))?;
        ApiRequest::new(Method::POST, url).json(&SyncBody { remote, mirror })
    }

    /// Start a sync of a repository from a remote (a task); returns the task href.
    pub async fn start_sync(
        &self,
        repo: &RepositoryHref,
        remote: &RemoteHref,
        mirror: bool,
    ) -> Result<TaskHref> {
        self.request_task(self.sync_request(repo, remote, mirror)?)
            .await
    }

    /// Sync a repository from a remote and wait for it: one new version, or none when the
    /// remote offers nothing new. A sync that fails upstream (e.g. the upstream refused the
    /// client certificate) is [`TaskError::Failed`](crate::TaskError::Failed) with Pulp's
    /// description.
    pub async fn sync(
        &self,
        repo: &RepositoryHref,
        remote: &RemoteHref,
        mirror: bool,
        wait: &WaitOptions,
    ) -> Result<SyncOutcome> {
        let task = self.start_sync(repo, remote, mirror).await?;
        let task = self.wait_task(&task, wait).await?;
        let new_version = task.created_version();
        Ok(SyncOutcome { task, new_version })
    }

    /// Get a repository version.
    pub async fn repository_version(
        &self,
        href: &RepositoryVersionHref,
    ) -> Result<RepositoryVersion> {
        self.get_json(self.href_url(href.as_str())?).await
    }

    /// All versions of a repository, newest first.
    pub async fn list_versions(&self, repo: &RepositoryHref) -> Result<Vec<RepositoryVersion>> {
        let url = self
            .href_url(repo.as_str())?
            .join("versions/")
            .map_err(|_| ClientError::Url(repo.to_string()))?;
        let req =
            ApiRequest::new(Method::GET, url).query(&[("ordering", "-number"), ("limit", "100")]);
        self.list_all(req.url).await
    }

    /// Delete a repository version (a task); Pulp refuses one that a distribution serves.
    pub async fn delete_version(
        &self,
        href: &RepositoryVersionHref,
        wait: &WaitOptions,
    ) -> Result<()> {
        let req = ApiRequest::new(Method::DELETE, self.href_url(href.as_str())?);
        self.apply_change(req, wait).await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modify_body_omits_unset_parts() {
        let m = Modify {
            add_content_units: vec![PackageHref::new("/p/1/")],
            ..Default::default()
        };
        let body = serde_json::to_value(&m).unwrap();
        let body = body.as_object().unwrap();
        assert_eq!(body.len(), 1);
        assert!(body.contains_key("add_content_units"));
    }

    #[test]
    fn sync_posts_the_remote_and_mode_to_the_repository() {
        let mut c = crate::ClientConfig::new(url::Url::parse("http://127.0.0.1:24817").unwrap());
        c.domains_enabled = Some(false);
        let client = PulpClient::new(c).unwrap();
        let req = client
            .sync_request(
                &RepositoryHref::new("/pulp/api/v3/repositories/python/python/01a2/"),
                &RemoteHref::new("/pulp/api/v3/remotes/python/python/01b3/"),
                true,
            )
            .unwrap();
        assert_eq!(req.method, Method::POST);
        assert_eq!(
            req.url.as_str(),
            "http://127.0.0.1:24817/pulp/api/v3/repositories/python/python/01a2/sync/"
        );
        assert_eq!(
            req.body,
            crate::RequestBody::Json(serde_json::json!({
                "remote": "/pulp/api/v3/remotes/python/python/01b3/",
                "mirror": true,
            }))
        );
    }

    #[test]
    fn fields_send_null_retention_explicitly() {
        let f = RepositoryFields {
            retain_repo_versions: Some(None),
            ..Default::default()
        };
        assert_eq!(
            serde_json::to_value(&f).unwrap(),
            serde_json::json!({"retain_repo_versions": null})
        );
    }
}

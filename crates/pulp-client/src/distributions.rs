//! Python distributions: what customers' pip/uv see at `/pypi/<base_path>/simple/`.

use std::collections::BTreeMap;

use reqwest::Method;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::client::{Change, PulpClient};
use crate::error::{ClientError, Result};
use crate::hrefs::{
    ContentGuardHref, DistributionHref, PublicationHref, RemoteHref, RepositoryHref,
    RepositoryVersionHref,
};
use crate::tasks::WaitOptions;
use crate::ApiRequest;

const DISTS: &str = "distributions/python/pypi/";

/// A python distribution.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct Distribution {
    /// Its href.
    pub pulp_href: DistributionHref,
    /// Unique name.
    pub name: String,
    /// Base path (`rhoai/3.0/cpu-ubi9`).
    pub base_path: String,
    /// Where Pulp says it is served.
    #[serde(default)]
    pub base_url: Option<String>,
    /// Follows the latest version of this repository.
    #[serde(default)]
    pub repository: Option<RepositoryHref>,
    /// Serves exactly this version.
    #[serde(default)]
    pub repository_version: Option<RepositoryVersionHref>,
    /// Serves this publication.
    #[serde(default)]
    pub publication: Option<PublicationHref>,
    /// Guards file downloads.
    #[serde(default)]
    pub content_guard: Option<ContentGuardHref>,
    /// Pull-through remote.
    #[serde(default)]
    pub remote: Option<RemoteHref>,
    /// Whether twine uploads are allowed.
    #[serde(default)]
    pub allow_uploads: Option<bool>,
    /// Labels.
    #[serde(default)]
    pub pulp_labels: BTreeMap<String, String>,
    /// Hidden from listings.
    #[serde(default)]
    pub hidden: Option<bool>,
}

/// What a distribution serves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Serves {
    /// Exactly one version (what production wants).
    Version(RepositoryVersionHref),
    /// Whatever the latest version of a repository is (staging/QE).
    Latest(RepositoryHref),
    /// Nothing.
    Nothing,
}

impl Serves {
    fn fields(&self) -> Value {
        match self {
            Serves::Version(v) => {
                json!({"repository_version": v, "repository": null, "publication": null})
            }
            Serves::Latest(r) => {
                json!({"repository": r, "repository_version": null, "publication": null})
            }
            Serves::Nothing => {
                json!({"repository": null, "repository_version": null, "publication": null})
            }
        }
    }
}

impl Distribution {
    /// What it serves now.
    pub fn serves(&self) -> Serves {
        if let Some(v) = &self.repository_version {
            Serves::Version(v.clone())
        } else if let Some(r) = &self.repository {
            Serves::Latest(r.clone())
        } else {
            Serves::Nothing
        }
    }
}

/// A new distribution.
#[derive(Debug, Clone)]
pub struct NewDistribution {
    /// Name.
    pub name: String,
    /// Base path.
    pub base_path: String,
    /// What it serves.
    pub serves: Serves,
    /// Labels.
    pub pulp_labels: BTreeMap<String, String>,
    /// Guard.
    pub content_guard: Option<ContentGuardHref>,
}

impl NewDistribution {
    /// The JSON body Pulp receives.
    pub fn body(&self) -> Value {
        let mut v = self.serves.fields();
        if let Value::Object(o) = &mut v {
            o.insert("name".into(), json!(self.name));
            o.insert("base_path".into(), json!(self.base_path));
            o.insert("pulp_labels".into(), json!(self.pulp_labels));
            if let Some(g) = &self.content_guard {
                o.insert("content_guard".into(), json!(g));
            }
        }
        v
    }
}

impl PulpClient {
    /// Create a distribution (a task) and return it.
    pub async fn create_distribution(
        &self,
        new: &NewDistribution,
        wait: &WaitOptions,
    ) -> Result<Distribution> {
        let req = ApiRequest::new(Method::POST, self.api_url(DISTS).await?).json(&new.body())?;
        let task = self.run_task(req, wait).await?;
        let href = task
            .created_distribution()
            .ok_or_else(|| ClientError::NoTask {
                method: Method::POST,
                url: task.pulp_href.to_string(),
                snippet: "task created no distribution".into(),
            })?;
        self.distribution(&href).await
    }

    /// Get a distribution.
    pub async fn distribution(&self, href: &DistributionHref) -> Result<Distribution> {
        self.get_json(self.href_url(href.as_str())?).await
    }

    /// Find a distribution by exact name.
    pub async fn distribution_by_name(&self, name: &str) -> Result<Option<Distribution>> {
        let req = ApiRequest::new(Method::GET, self.api_url(DISTS).await?).query(&[("name", name)]);
        let page: crate::Page<Distribution> = self.request_json(req).await?;
        Ok(page.results.into_iter().find(|d| d.name == name))
    }

    /// Find a distribution by exact base path.
    pub async fn distribution_by_base_path(&self, base_path: &str) -> Result<Option<Distribution>> {
        let req = ApiRequest::new(Method::GET, self.api_url(DISTS).await?)
            .query(&[("base_path", base_path)]);
        let page: crate::Page<Distribution> = self.request_json(req).await?;
        Ok(page.results.into_iter().find(|d| d.base_path == base_path))
    }

    /// List distributions; `filters` are Pulp query parameters (`base_path__startswith`, ...).
    pub async fn list_distributions(&self, filters: &[(&str, &str)]) -> Result<Vec<Distribution>> {
        let req = ApiRequest::new(Method::GET, self.api_url(DISTS).await?).query(filters);
        self.list_all(req.url).await
    }

    /// The request that points a distribution at something (built, not sent).
    pub fn serve_request(&self, href: &DistributionHref, serves: &Serves) -> Result<ApiRequest> {
        ApiRequest::new(Method::PATCH, self.href_url(href.as_str())?).json(&serves.fields())
    }

    /// Point a distribution at a version / repository, in one PATCH (the exclusive fields are
    /// all sent so the one set before is cleared). Pulp answers 202 with a task, or 200 with
    /// none when nothing changes: both are success. Waits for the task.
    pub async fn serve(
        &self,
        href: &DistributionHref,
        serves: &Serves,
        wait: &WaitOptions,
    ) -> Result<Change> {
        let req = self.serve_request(href, serves)?;
        self.apply_change(req, wait).await
    }

    /// PATCH arbitrary fields of a distribution (e.g. `content_guard`, `pulp_labels`). Waits.
    pub async fn update_distribution(
        &self,
        href: &DistributionHref,
        fields: &Value,
        wait: &WaitOptions,
    ) -> Result<Change> {
        let req = ApiRequest::new(Method::PATCH, self.href_url(href.as_str())?).json(fields)?;
        self.apply_change(req, wait).await
    }

    /// Delete a distribution (a task). Waits.
    pub async fn delete_distribution(
        &self,
        href: &DistributionHref,
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
    use crate::config::ClientConfig;

    #[test]
    fn pinning_clears_the_other_exclusive_fields() {
        let c = ClientConfig {
            domains_enabled: Some(false),
            ..ClientConfig::new(url::Url::parse("http://127.0.0.1:24817").unwrap())
        };
        let client = PulpClient::new(c).unwrap();
        let req = client
            .serve_request(
                &DistributionHref::new("/pulp/api/v3/distributions/python/pypi/1/"),
                &Serves::Version(RepositoryVersionHref::new(
                    "/pulp/api/v3/repositories/python/python/2/versions/3/",
                )),
            )
            .unwrap();
        assert_eq!(req.method, Method::PATCH);
        assert_eq!(
            req.url.as_str(),
            "http://127.0.0.1:24817/pulp/api/v3/distributions/python/pypi/1/"
        );
        assert_eq!(
            req.body,
            crate::RequestBody::Json(json!({
                "repository_version": "/pulp/api/v3/repositories/python/python/2/versions/3/",
                "repository": null,
                "publication": null,
            }))
        );
    }
}

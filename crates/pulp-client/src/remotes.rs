//! Python remotes (for sync and pull-through).

use reqwest::Method;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::client::PulpClient;
use crate::error::Result;
use crate::hrefs::RemoteHref;
use crate::tasks::WaitOptions;
use crate::ApiRequest;

const REMOTES: &str = "remotes/python/python/";

/// A python remote.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct Remote {
    /// Its href.
    pub pulp_href: RemoteHref,
    /// Unique name.
    pub name: String,
    /// Upstream index URL.
    pub url: String,
    /// `immediate`, `on_demand` or `streamed`.
    #[serde(default)]
    pub policy: Option<String>,
    /// Projects to sync (requirement strings).
    #[serde(default)]
    pub includes: Value,
}

/// A new remote.
#[derive(Debug, Clone, Serialize)]
pub struct NewRemote {
    /// Name.
    pub name: String,
    /// Upstream index URL.
    pub url: String,
    /// Download policy.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub policy: Option<String>,
    /// Projects to sync.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub includes: Vec<String>,
}

impl PulpClient {
    /// Create a remote (synchronous).
    pub async fn create_remote(&self, new: &NewRemote) -> Result<Remote> {
        let req = ApiRequest::new(Method::POST, self.api_url(REMOTES).await?).json(new)?;
        self.request_json(req).await
    }

    /// Find a remote by name.
    pub async fn remote_by_name(&self, name: &str) -> Result<Option<Remote>> {
        let req =
            ApiRequest::new(Method::GET, self.api_url(REMOTES).await?).query(&[("name", name)]);
        let page: crate::Page<Remote> = self.request_json(req).await?;
        Ok(page.results.into_iter().find(|r| r.name == name))
    }

    /// Delete a remote (a task). Waits.
    pub async fn delete_remote(&self, href: &RemoteHref, wait: &WaitOptions) -> Result<()> {
        let req = ApiRequest::new(Method::DELETE, self.href_url(href.as_str())?);
        self.apply_change(req, wait).await?;
        Ok(())
    }
}

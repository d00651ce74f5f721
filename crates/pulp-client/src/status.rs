//! Server status.

use serde::{Deserialize, Serialize};

use crate::client::PulpClient;
use crate::error::{ClientError, Result};

/// An installed component.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct ComponentVersion {
    /// Component name (`core`, `python`, ...).
    pub component: String,
    /// Its version.
    pub version: String,
    /// The Python package it comes from.
    #[serde(default)]
    pub package: Option<String>,
}

/// An online worker or app.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct OnlineProcess {
    /// Process name.
    pub name: String,
    /// Last heartbeat.
    #[serde(default)]
    pub last_heartbeat: Option<String>,
}

/// `GET status/`.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct Status {
    /// Installed components.
    #[serde(default)]
    pub versions: Vec<ComponentVersion>,
    /// Online task workers.
    #[serde(default)]
    pub online_workers: Vec<OnlineProcess>,
    /// Online content apps.
    #[serde(default)]
    pub online_content_apps: Vec<OnlineProcess>,
    /// Whether domains are enabled.
    #[serde(default)]
    pub domain_enabled: bool,
    /// Content settings (origin and path prefix).
    #[serde(default)]
    pub content_settings: Option<ContentSettings>,
}

/// Where the content app serves files.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct ContentSettings {
    /// e.g. `http://127.0.0.1:24816`.
    #[serde(default)]
    pub content_origin: Option<String>,
    /// e.g. `/pulp/content/`.
    #[serde(default)]
    pub content_path_prefix: Option<String>,
}

impl Status {
    /// The version of a component, e.g. `core` or `python`.
    pub fn component(&self, name: &str) -> Option<&str> {
        self.versions
            .iter()
            .find(|c| c.component == name)
            .map(|c| c.version.as_str())
    }
}

impl PulpClient {
    /// `GET {api_root}api/v3/status/` (served without domain in both layouts).
    pub async fn status(&self) -> Result<Status> {
        let url = self
            .root_api_url()?
            .join("status/")
            .map_err(|_| ClientError::Url("status/".into()))?;
        self.get_json(url).await
    }
}

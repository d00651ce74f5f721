//! Domains (multi-tenancy; only on servers with `DOMAIN_ENABLED`).

use reqwest::Method;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::client::PulpClient;
use crate::error::{ClientError, Result};
use crate::hrefs::DomainHref;
use crate::ApiRequest;

/// A domain.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct Domain {
    /// Its href.
    pub pulp_href: DomainHref,
    /// Name (the path segment).
    pub name: String,
    /// Storage backend class.
    #[serde(default)]
    pub storage_class: Option<String>,
    /// Backend settings.
    #[serde(default)]
    pub storage_settings: Value,
}

impl PulpClient {
    fn domains_url(&self) -> Result<url::Url> {
        // Domains are managed from the default domain.
        let c = self.config();
        c.base_url
            .join(&format!("{}default/api/v3/domains/", c.api_root))
            .map_err(|_| ClientError::Url(c.api_root.clone()))
    }

    /// Create a domain with filesystem storage at `location`.
    pub async fn create_filesystem_domain(&self, name: &str, location: &str) -> Result<Domain> {
        let req = ApiRequest::new(Method::POST, self.domains_url()?).json(&json!({
            "name": name,
            "storage_class": "pulpcore.app.models.storage.FileSystem",
            "storage_settings": {"location": location},
        }))?;
        self.request_json(req).await
    }

    /// Find a domain by name.
    pub async fn domain_by_name(&self, name: &str) -> Result<Option<Domain>> {
        let req = ApiRequest::new(Method::GET, self.domains_url()?).query(&[("name", name)]);
        let page: crate::Page<Domain> = self.request_json(req).await?;
        Ok(page.results.into_iter().find(|d| d.name == name))
    }
}

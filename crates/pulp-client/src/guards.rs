//! Content guards: x509 (certguard), RHSM, composite.

use reqwest::Method;
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::client::PulpClient;
use crate::error::Result;
use crate::hrefs::ContentGuardHref;
use crate::ApiRequest;

/// The kinds of guard wheelgate uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GuardKind {
    /// Client certificate signed by a CA (`certguard/x509`).
    X509,
    /// Red Hat entitlement certificate (`certguard/rhsm`).
    Rhsm,
    /// Any of several guards (`core/composite`).
    Composite,
}

impl GuardKind {
    fn path(self) -> &'static str {
        match self {
            Self::X509 => "contentguards/certguard/x509/",
            Self::Rhsm => "contentguards/certguard/rhsm/",
            Self::Composite => "contentguards/core/composite/",
        }
    }
}

/// A content guard.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct ContentGuard {
    /// Its href.
    pub pulp_href: ContentGuardHref,
    /// Unique name.
    pub name: String,
    /// Description.
    #[serde(default)]
    pub description: Option<String>,
    /// The CA (x509/RHSM).
    #[serde(default)]
    pub ca_certificate: Option<String>,
    /// Member guards (composite).
    #[serde(default)]
    pub guards: Option<Vec<ContentGuardHref>>,
}

impl PulpClient {
    /// Create an x509 or RHSM guard trusting `ca_pem`.
    pub async fn create_cert_guard(
        &self,
        kind: GuardKind,
        name: &str,
        ca_pem: &str,
    ) -> Result<ContentGuard> {
        let req = ApiRequest::new(Method::POST, self.api_url(kind.path()).await?)
            .json(&json!({"name": name, "ca_certificate": ca_pem}))?;
        self.request_json(req).await
    }

    /// Create a composite guard of `guards`.
    pub async fn create_composite_guard(
        &self,
        name: &str,
        guards: &[ContentGuardHref],
    ) -> Result<ContentGuard> {
        let req = ApiRequest::new(
            Method::POST,
            self.api_url(GuardKind::Composite.path()).await?,
        )
        .json(&json!({"name": name, "guards": guards}))?;
        self.request_json(req).await
    }

    /// Find a guard of a kind by name.
    pub async fn guard_by_name(&self, kind: GuardKind, name: &str) -> Result<Option<ContentGuard>> {
        let req =
            ApiRequest::new(Method::GET, self.api_url(kind.path()).await?).query(&[("name", name)]);
        let page: crate::Page<ContentGuard> = self.request_json(req).await?;
        Ok(page.results.into_iter().find(|g| g.name == name))
    }

    /// Get a guard.
    pub async fn guard(&self, href: &ContentGuardHref) -> Result<ContentGuard> {
        self.get_json(self.href_url(href.as_str())?).await
    }

    /// Delete a guard (Pulp does not refuse one in use: the distribution becomes unguarded).
    pub async fn delete_guard(&self, href: &ContentGuardHref) -> Result<()> {
        self.send(ApiRequest::new(
            Method::DELETE,
            self.href_url(href.as_str())?,
        ))
        .await?;
        Ok(())
    }
}

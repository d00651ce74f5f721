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

    /// The request that replaces the CA of an x509 or RHSM guard (built, not sent).
    pub fn guard_ca_request(&self, href: &ContentGuardHref, ca_pem: &str) -> Result<ApiRequest> {
        ApiRequest::new(Method::PATCH, self.href_url(href.as_str())?)
            .json(&json!({"ca_certificate": ca_pem}))
    }

    /// Replace the CA of an x509 or RHSM guard (synchronous: Pulp answers with the guard).
    pub async fn update_guard_ca(
        &self,
        href: &ContentGuardHref,
        ca_pem: &str,
    ) -> Result<ContentGuard> {
        self.request_json(self.guard_ca_request(href, ca_pem)?)
            .await
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

impl ContentGuard {
    /// Whether its CA is `ca_pem`, ignoring line endings, indentation and blank lines (Pulp
    /// keeps the text it was given).
    pub fn has_ca(&self, ca_pem: &str) -> bool {
        self.ca_certificate
            .as_deref()
            .is_some_and(|have| normalize_pem(have) == normalize_pem(ca_pem))
    }
}

fn normalize_pem(pem: &str) -> Vec<&str> {
    pem.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::ClientConfig;

    fn client(domains: bool) -> PulpClient {
        let mut c = ClientConfig::new(url::Url::parse("http://127.0.0.1:24817").unwrap());
        c.domains_enabled = Some(domains);
        PulpClient::new(c).unwrap()
    }

    #[tokio::test]
    async fn x509_guards_live_under_certguard() {
        let c = client(false);
        let url = c.api_url(GuardKind::X509.path()).await.unwrap();
        assert_eq!(
            url.as_str(),
            "http://127.0.0.1:24817/pulp/api/v3/contentguards/certguard/x509/"
        );
        let href = ContentGuardHref::new("/pulp/api/v3/contentguards/certguard/x509/0190/");
        let req = c.guard_ca_request(&href, "PEM").unwrap();
        assert_eq!(req.method, Method::PATCH);
        assert_eq!(
            req.url.as_str(),
            "http://127.0.0.1:24817/pulp/api/v3/contentguards/certguard/x509/0190/"
        );
        assert_eq!(
            req.body,
            crate::RequestBody::Json(json!({"ca_certificate": "PEM"}))
        );
    }

    #[test]
    fn the_ca_is_compared_as_pem_lines() {
        let g: ContentGuard = serde_json::from_value(json!({
            "pulp_href": "/pulp/api/v3/contentguards/certguard/x509/1/",
            "name": "g",
            "ca_certificate": "-----BEGIN CERTIFICATE-----\r\nAAAA\r\n-----END CERTIFICATE-----\r\n",
        }))
        .unwrap();
        assert!(g.has_ca("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----"));
        assert!(!g.has_ca("-----BEGIN CERTIFICATE-----\nBBBB\n-----END CERTIFICATE-----\n"));
    }
}

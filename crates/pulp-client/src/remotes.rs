//! Python remotes (for sync and pull-through).

use std::fmt;

use reqwest::Method;
use serde::{Deserialize, Serialize, Serializer};
use serde_json::Value;

use crate::client::PulpClient;
use crate::config::Secret;
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
    /// The CA certificate(s) trusted for the upstream's TLS certificate (PEM).
    #[serde(default)]
    pub ca_cert: Option<String>,
    /// The client certificate sent to the upstream (PEM).
    #[serde(default)]
    pub client_cert: Option<String>,
    /// Whether the upstream's TLS certificate is verified.
    #[serde(default)]
    pub tls_validation: Option<bool>,
    /// Write-only fields (`client_key`, passwords): Pulp says only whether each is set.
    #[serde(default)]
    pub hidden_fields: Vec<HiddenField>,
}

/// A write-only field of a remote, as Pulp reports it (never its value).
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq, Eq)]
pub struct HiddenField {
    /// The field, e.g. `client_key`.
    pub name: String,
    /// Whether it has a value.
    pub is_set: bool,
}

impl Remote {
    /// Whether Pulp holds a client key for this remote.
    pub fn has_client_key(&self) -> bool {
        self.hidden_fields
            .iter()
            .any(|f| f.name == "client_key" && f.is_set)
    }
}

/// A new remote. Its `Debug` output never shows the client key (nor the PEM texts, only
/// whether they are set).
#[derive(Clone, Default, Serialize)]
pub struct NewRemote {
    /// Name.
    pub name: String,
    /// Upstream index URL. For another Pulp, a distribution's base URL ending in `/`
    /// (`<origin><pypi prefix><base_path>/`, without `simple/`): pulp_python reads
    /// `<url>simple/`, `<url>simple/<project>/` and `<url>pypi/<project>/json`.
    pub url: String,
    /// Download policy.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub policy: Option<String>,
    /// Projects to sync.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub includes: Vec<String>,
    /// Client certificate (PEM text, with its chain if needed) sent to the upstream, e.g. to a
    /// TLS front that demands one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_cert: Option<String>,
    /// The private key of `client_cert` (PEM text). Write-only in Pulp; never printed here.
    #[serde(
        skip_serializing_if = "Option::is_none",
        serialize_with = "expose_secret"
    )]
    pub client_key: Option<Secret>,
    /// CA certificate(s) (PEM text) to trust for the upstream's TLS certificate, instead of
    /// the system's.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ca_cert: Option<String>,
    /// Whether to verify the upstream's TLS certificate (Pulp's default: true).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tls_validation: Option<bool>,
}

fn expose_secret<S: Serializer>(
    secret: &Option<Secret>,
    ser: S,
) -> std::result::Result<S::Ok, S::Error> {
    match secret {
        Some(s) => ser.serialize_str(s.expose()),
        None => ser.serialize_none(),
    }
}

/// How a PEM text appears in `Debug` output: whether it is set and its size, not its text.
struct PemSummary<'a>(&'a Option<String>);

impl fmt::Debug for PemSummary<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Some(pem) => write!(f, "Some(<PEM, {} bytes>)", pem.len()),
            None => f.write_str("None"),
        }
    }
}

impl fmt::Debug for NewRemote {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NewRemote")
            .field("name", &self.name)
            .field("url", &self.url)
            .field("policy", &self.policy)
            .field("includes", &self.includes)
            .field("client_cert", &PemSummary(&self.client_cert))
            .field("client_key", &self.client_key.as_ref().map(|_| "****"))
            .field("ca_cert", &PemSummary(&self.ca_cert))
            .field("tls_validation", &self.tls_validation)
            .finish()
    }
}

impl PulpClient {
    /// The request that creates a remote (built, not sent). Its body holds the client key:
    /// do not log it.
    pub async fn create_remote_request(&self, new: &NewRemote) -> Result<ApiRequest> {
        ApiRequest::new(Method::POST, self.api_url(REMOTES).await?).json(new)
    }

    /// Create a remote (synchronous).
    pub async fn create_remote(&self, new: &NewRemote) -> Result<Remote> {
        let req = self.create_remote_request(new).await?;
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::ClientConfig;
    use serde_json::json;

    const KEY: &str = "-----BEGIN PRIVATE KEY-----\nSECRETKEYBYTES\n-----END PRIVATE KEY-----\n";

    fn tls_remote() -> NewRemote {
        NewRemote {
            name: "r".into(),
            url: "https://front.example.com/api/pypi/d/p/3.0/cpu/".into(),
            policy: Some("immediate".into()),
            client_cert: Some(
                "-----BEGIN CERTIFICATE-----\nCERT\n-----END CERTIFICATE-----\n".into(),
            ),
            client_key: Some(Secret::new(KEY)),
            ca_cert: Some("-----BEGIN CERTIFICATE-----\nCA\n-----END CERTIFICATE-----\n".into()),
            tls_validation: Some(true),
            ..Default::default()
        }
    }

    #[test]
    fn debug_never_shows_the_key_nor_the_pem_texts() {
        let text = format!("{:?} {:#?}", tls_remote(), tls_remote());
        assert!(!text.contains("SECRETKEYBYTES"), "{text}");
        assert!(!text.contains("PRIVATE KEY"), "{text}");
        assert!(!text.contains("CERT\n"), "{text}");
        assert!(text.contains("client_key: Some(\"****\")"), "{text}");
        assert!(text.contains("<PEM, "), "{text}");
        let plain = format!("{:?}", NewRemote::default());
        assert!(plain.contains("client_key: None"), "{plain}");
    }

    #[tokio::test]
    async fn the_create_request_carries_the_tls_fields_and_omits_unset_ones() {
        let mut c = ClientConfig::new(url::Url::parse("http://127.0.0.1:24817").unwrap());
        c.domains_enabled = Some(false);
        let client = PulpClient::new(c).unwrap();
        let req = client.create_remote_request(&tls_remote()).await.unwrap();
        assert_eq!(req.method, Method::POST);
        assert_eq!(
            req.url.as_str(),
            "http://127.0.0.1:24817/pulp/api/v3/remotes/python/python/"
        );
        let crate::RequestBody::Json(body) = &req.body else {
            panic!("no JSON body: {req:?}");
        };
        assert_eq!(body["client_key"], json!(KEY));
        assert_eq!(body["tls_validation"], json!(true));
        assert!(body["client_cert"].as_str().unwrap().contains("CERT"));
        assert!(body["ca_cert"].as_str().unwrap().contains("CA"));
        assert!(body.get("includes").is_none(), "{body}");

        let bare = NewRemote {
            name: "r".into(),
            url: "https://pypi.org/".into(),
            ..Default::default()
        };
        let req = client.create_remote_request(&bare).await.unwrap();
        assert_eq!(
            req.body,
            crate::RequestBody::Json(json!({"name": "r", "url": "https://pypi.org/"}))
        );
    }

    #[test]
    fn a_remote_says_whether_its_key_is_set() {
        let r: Remote = serde_json::from_value(json!({
            "pulp_href": "/pulp/api/v3/remotes/python/python/1/",
            "name": "r",
            "url": "https://x/",
            "tls_validation": true,
            "hidden_fields": [
                {"name": "client_key", "is_set": true},
                {"name": "password", "is_set": false},
            ],
        }))
        .unwrap();
        assert!(r.has_client_key());
        assert_eq!(r.tls_validation, Some(true));
    }
}

//! The customer path: where customers read a distribution's index and with which TLS
//! credentials — the catalog's `[customer]` section, overridden by flags, falling back to the
//! Pulp connection's certificate settings when neither says anything.

use std::path::PathBuf;
use std::time::Duration;

use pulp_client::ClientConfig;
use url::Url;
use wheelgate_http::TlsSettings;
use wheelgate_index::{IndexClient, IndexConfig};

use crate::catalog::Catalog;
use crate::error::Error;

/// What the command line said about the customer path (`--index-host`, `--index-cert`,
/// `--index-key`, `--index-ca-bundle`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CustomerFlags {
    /// `--index-host`: `scheme://host[:port]`.
    pub index_host: Option<Url>,
    /// `--index-cert`.
    pub client_cert: Option<PathBuf>,
    /// `--index-key`.
    pub client_key: Option<PathBuf>,
    /// `--index-ca-bundle`.
    pub ca_bundle: Option<PathBuf>,
}

impl CustomerFlags {
    fn is_empty(&self) -> bool {
        self == &Self::default()
    }
}

/// Where a layer of customer settings came from, for messages and hints.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CustomerSource {
    /// `--index-*` flags and/or the catalog's `[customer]` section.
    Customer,
    /// Neither was given: the Pulp connection's `--cert/--key/--ca-bundle`.
    PulpConnection,
}

/// The resolved customer path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CustomerAccess {
    /// Scheme, host and port customers use; `None`: the distribution's `base_url` as Pulp
    /// reports it.
    pub index_host: Option<Url>,
    /// Client certificate, key and CAs for the index host.
    pub tls: TlsSettings,
    /// Where the settings came from.
    pub source: CustomerSource,
}

impl CustomerAccess {
    /// Flags > catalog `[customer]`; with neither, the Pulp connection's TLS settings (as before
    /// `[customer]` existed). Certificate verification follows the Pulp connection's
    /// `verify_ssl` either way.
    pub fn resolve(flags: &CustomerFlags, catalog: &Catalog, pulp: &ClientConfig) -> Self {
        let section = &catalog.customer;
        if flags.is_empty() && section.is_empty() {
            return Self {
                index_host: None,
                tls: TlsSettings {
                    client_cert: pulp.client_cert.clone(),
                    client_key: pulp.client_key.clone(),
                    ca_bundle: pulp.ca_bundle.clone(),
                    verify: pulp.verify_ssl,
                },
                source: CustomerSource::PulpConnection,
            };
        }
        // A certificate given by flag brings its own key (or none): never pair it with the
        // catalog's key for another certificate.
        let (client_cert, client_key) = match &flags.client_cert {
            Some(c) => (Some(c.clone()), flags.client_key.clone()),
            None => (
                section.client_cert.clone(),
                flags
                    .client_key
                    .clone()
                    .or_else(|| section.client_key.clone()),
            ),
        };
        Self {
            index_host: flags
                .index_host
                .clone()
                .or_else(|| section.index_host.clone()),
            tls: TlsSettings {
                client_cert,
                client_key,
                ca_bundle: flags
                    .ca_bundle
                    .clone()
                    .or_else(|| section.ca_bundle.clone()),
                verify: pulp.verify_ssl,
            },
            source: CustomerSource::Customer,
        }
    }

    /// `url` (one of Pulp's) moved to `index_host` when one is set.
    pub fn on_index_host(&self, url: &Url) -> Url {
        let mut url = url.clone();
        if let Some(host) = &self.index_host {
            // Both are http(s) URLs with a host, so these cannot fail; keep Pulp's on error.
            let _ = url.set_scheme(host.scheme());
            let _ = url.set_host(host.host_str());
            let _ = url.set_port(host.port());
        }
        url
    }

    /// The index URL customers use for a distribution whose `base_url` Pulp reports:
    /// `base_url` + `simple/`, on `index_host` when one is set.
    pub fn index_url(&self, base_url: &Url) -> Url {
        let mut url = self.on_index_host(base_url);
        if !url.path().ends_with('/') {
            let path = format!("{}/", url.path());
            url.set_path(&path);
        }
        url.join("simple/").unwrap_or(url)
    }

    /// A client for the index with these settings, each request's retries bounded by
    /// `request_budget`. Fails (nothing changed yet) when the certificate or CA files cannot be
    /// used, e.g. an X.509 v1 certificate.
    pub fn connect(&self, request_budget: Duration) -> Result<CustomerIndex, Error> {
        let mut config = IndexConfig {
            tls: self.tls.clone(),
            ..Default::default()
        };
        config.retry.max_elapsed = config.retry.max_elapsed.min(request_budget);
        let client = IndexClient::new(config).map_err(|source| Error::CustomerSetup {
            source,
            hint: self.hint(),
        })?;
        Ok(CustomerIndex {
            access: self.clone(),
            client,
        })
    }

    /// A hint naming the settings that decide how the customer path is reached.
    pub fn hint(&self) -> &'static str {
        match self.source {
            CustomerSource::Customer => {
                "the customer path is set by --index-host/--index-cert/--index-key/--index-ca-bundle \
                 or the catalog's [customer] section (index_host, client_cert, client_key, ca_bundle)"
            }
            CustomerSource::PulpConnection => {
                "no [customer] section or --index-* flag is given, so the index is read at Pulp's \
                 base_url with the Pulp connection's --cert/--key/--ca-bundle; set [customer] \
                 index_host, client_cert and ca_bundle (or --index-host, --index-cert, \
                 --index-ca-bundle) to read it as customers do"
            }
        }
    }
}

/// Parse an index host: `scheme://host[:port]`, http or https, nothing else (the path comes
/// from Pulp's distribution). The message never repeats a URL holding credentials.
pub fn parse_index_host(text: &str) -> Result<Url, String> {
    let url = Url::parse(text).map_err(|e| {
        format!("{text:?} is not a URL ({e}); write e.g. \"https://pypi.example.com\"")
    })?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(format!("{text:?}: the scheme must be https (or http)"));
    }
    if url.host_str().is_none() {
        return Err(format!("{text:?} has no host"));
    }
    if url.path() != "/" || url.query().is_some() || url.fragment().is_some() {
        return Err(format!(
            "{text:?}: give only scheme://host[:port]; the path comes from Pulp's distribution"
        ));
    }
    if !url.username().is_empty() || url.password().is_some() {
        // Never echo the URL here: it holds a secret.
        return Err("no credentials in the URL; use client_cert for the customer path".into());
    }
    Ok(url)
}

/// The customer path with a client for it.
#[derive(Debug, Clone)]
pub struct CustomerIndex {
    /// The settings.
    pub access: CustomerAccess,
    /// The client.
    pub client: IndexClient,
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;

    const CATALOG: &str = r#"
product = "p"
[variants.cpu]
python = ["cp312"]
platforms = ["linux_x86_64"]
[releases."1.0"]
variants = ["cpu"]
[packages]
allow = ["*"]
"#;

    fn pulp() -> ClientConfig {
        let mut c = ClientConfig::new(Url::parse("http://pulp:24817").unwrap());
        c.client_cert = Some("pulp-cert.pem".into());
        c.ca_bundle = Some("pulp-ca.pem".into());
        c
    }

    fn catalog(extra: &str) -> Catalog {
        Catalog::parse(Path::new("/c/w.toml"), &format!("{CATALOG}{extra}")).unwrap()
    }

    #[test]
    fn without_customer_settings_the_pulp_connection_is_used() {
        let a = CustomerAccess::resolve(&CustomerFlags::default(), &catalog(""), &pulp());
        assert_eq!(a.source, CustomerSource::PulpConnection);
        assert_eq!(
            a.tls.client_cert.as_deref(),
            Some(Path::new("pulp-cert.pem"))
        );
        assert_eq!(a.tls.ca_bundle.as_deref(), Some(Path::new("pulp-ca.pem")));
        assert!(a.hint().contains("[customer]"));
    }

    #[test]
    fn flags_win_over_the_catalog_and_never_mix_keys() {
        let cat = catalog(
            "[customer]\nindex_host = \"https://front:8443\"\nclient_cert = \"c.pem\"\nclient_key = \"k.pem\"\nca_bundle = \"ca.pem\"\n",
        );
        let a = CustomerAccess::resolve(&CustomerFlags::default(), &cat, &pulp());
        assert_eq!(a.source, CustomerSource::Customer);
        assert_eq!(a.tls.client_cert.as_deref(), Some(Path::new("/c/c.pem")));
        assert_eq!(a.tls.client_key.as_deref(), Some(Path::new("/c/k.pem")));
        let flags = CustomerFlags {
            client_cert: Some("flag.pem".into()),
            ..Default::default()
        };
        let a = CustomerAccess::resolve(&flags, &cat, &pulp());
        assert_eq!(a.tls.client_cert.as_deref(), Some(Path::new("flag.pem")));
        assert_eq!(
            a.tls.client_key, None,
            "the catalog's key belongs to its own cert"
        );
        assert_eq!(a.tls.ca_bundle.as_deref(), Some(Path::new("/c/ca.pem")));
        assert_eq!(
            a.index_host.as_ref().map(Url::as_str),
            Some("https://front:8443/")
        );
    }

    #[test]
    fn index_url_moves_pulps_base_url_to_the_index_host() {
        let base = Url::parse("http://127.0.0.1:24817/api/pypi/dom/p/1.0/cpu/").unwrap();
        let mut a = CustomerAccess::resolve(&CustomerFlags::default(), &catalog(""), &pulp());
        assert_eq!(
            a.index_url(&base).as_str(),
            "http://127.0.0.1:24817/api/pypi/dom/p/1.0/cpu/simple/"
        );
        a.index_host = Some(Url::parse("https://front.example:8443").unwrap());
        assert_eq!(
            a.index_url(&base).as_str(),
            "https://front.example:8443/api/pypi/dom/p/1.0/cpu/simple/"
        );
        a.index_host = Some(Url::parse("https://front.example").unwrap());
        let no_slash = Url::parse("http://h:1/pypi/p/1.0/cpu").unwrap();
        assert_eq!(
            a.index_url(&no_slash).as_str(),
            "https://front.example/pypi/p/1.0/cpu/simple/"
        );
    }
}

//! `front-config`: the customer-facing TLS front of one or more releases (one `server {}` for
//! all of them, so one host serves every release), generated from the catalog
//! (pure: returns the file's contents; the binary writes them).
//!
//! The nginx format fills `config/front/front-config.nginx.in`: TLS; a client certificate
//! required on every path; per base path of the releases only certificates issued by that
//! path's CA (production: `[access.production] ca_certificate`, `-test`: `[access.staging]`),
//! checked from the issuer DN (`$ssl_client_i_dn`) since Pulp never checks guards on the
//! index pages; `X-CLIENT-CERT` forwarded (a client's own overwritten); simple pages cached
//! briefly and revalidated by ETag only (docs/front.md).

use std::path::{Path, PathBuf};

use serde::Serialize;
use url::Url;

use crate::access::Scope;
use crate::catalog::Catalog;
use crate::error::{Error, Result};

/// The nginx template (config/front/front-config.nginx.in).
pub const NGINX_TEMPLATE: &str = include_str!("../../../config/front/front-config.nginx.in");

/// Which front.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum FrontFormat {
    /// An nginx `http {}` include: maps, a cache zone and one `server {}`.
    Nginx,
}

/// What `front-config` is asked for. `None` leaves a clearly marked placeholder
/// (`FILL-ME-...`) for the operator to fill.
#[derive(Debug, Clone, Default)]
pub struct FrontConfigOptions {
    /// The releases (at least one; each once, as in the catalog).
    pub releases: Vec<String>,
    /// `server_name`.
    pub server_name: Option<String>,
    /// `listen` address (`443`, `127.0.0.1:8443`) [default: 443].
    pub listen: Option<String>,
    /// The front's TLS certificate.
    pub server_cert: Option<PathBuf>,
    /// Its key.
    pub server_key: Option<PathBuf>,
    /// One PEM file with both CAs of `[access]` (nginx's `ssl_client_certificate`).
    pub client_ca_bundle: Option<PathBuf>,
    /// Pulp's API server origin (serves the index pages), e.g. `http://pulp-api:24817`.
    pub upstream_api: Option<Url>,
    /// Pulp's content app origin (serves the files), e.g. `http://pulp-content:24816`.
    pub upstream_content: Option<Url>,
    /// The path before a base path in index URLs [default: `/api/pypi/<domain>/` when the
    /// catalog's `[pulp]` names a domain, else `/pypi/`].
    pub index_prefix: Option<String>,
    /// The path before a base path in file URLs [default: `/api/pulp-content/<domain>/` or
    /// `/pulp/content/`].
    pub content_prefix: Option<String>,
    /// Where nginx keeps cached simple pages [default: `/var/cache/nginx/wheelgate-<id>`].
    pub cache_dir: Option<PathBuf>,
    /// How long a simple page is served from the cache before it is revalidated [default: 10].
    pub cache_seconds: Option<u32>,
}

/// A generated front configuration.
#[derive(Debug, Clone, Serialize)]
pub struct FrontConfig {
    /// The releases.
    pub releases: Vec<String>,
    /// The format.
    pub format: FrontFormat,
    /// The file's contents.
    pub contents: String,
    /// The placeholders left for the operator (options not given).
    pub placeholders: Vec<String>,
    /// The issuer DN accepted on production paths.
    pub production_issuer: String,
    /// The issuer DN accepted on staging (`-test`) paths.
    pub staging_issuer: String,
}

/// Generate the front of `opts.releases` from the catalog.
pub fn front_config(
    catalog: &Catalog,
    format: FrontFormat,
    opts: &FrontConfigOptions,
) -> Result<FrontConfig> {
    if opts.releases.is_empty() {
        return Err(Error::Usage(
            "front-config needs --release (repeatable) or --all-releases".into(),
        ));
    }
    let mut releases = Vec::new();
    for r in &opts.releases {
        let release = catalog.release(r)?;
        if !releases
            .iter()
            .any(|x: &&crate::catalog::Release| x.name == release.name)
        {
            releases.push(release);
        }
    }
    let release_names: Vec<String> = releases.iter().map(|r| r.name.clone()).collect();
    let FrontFormat::Nginx = format;
    let production_issuer = issuer_of(catalog, Scope::Production)?;
    let staging_issuer = issuer_of(catalog, Scope::Staging)?;

    let domain = catalog.pulp.domain.as_deref().filter(|d| !d.is_empty());
    let index_prefix = prefix(
        "--index-prefix",
        opts.index_prefix.clone(),
        match domain {
            Some(d) => format!("/api/pypi/{d}/"),
            None => "/pypi/".into(),
        },
    )?;
    let content_prefix = prefix(
        "--content-prefix",
        opts.content_prefix.clone(),
        match domain {
            Some(d) => format!("/api/pulp-content/{d}/"),
            None => "/pulp/content/".into(),
        },
    )?;
    let id = catalog.product.replace(['.', '-'], "_");

    let mut placeholders = Vec::new();
    let mut fill = |value: Option<String>, what: &str| -> Result<String> {
        match value {
            Some(v) => {
                safe(what, &v)?;
                Ok(v)
            }
            None => {
                let p = format!("FILL-ME-{what}");
                placeholders.push(p.clone());
                Ok(p)
            }
        }
    };
    let path = |p: &Option<PathBuf>| p.as_ref().map(|p| p.display().to_string());
    let origin = |u: &Option<Url>| {
        u.as_ref()
            .map(|u| u.as_str().trim_end_matches('/').to_owned())
    };
    let server_name = fill(opts.server_name.clone(), "server-name")?;
    let server_cert = fill(path(&opts.server_cert), "server-cert")?;
    let server_key = fill(path(&opts.server_key), "server-key")?;
    let bundle = fill(path(&opts.client_ca_bundle), "client-ca-bundle")?;
    let upstream_api = fill(origin(&opts.upstream_api), "upstream-api")?;
    let upstream_content = fill(origin(&opts.upstream_content), "upstream-content")?;
    let listen = opts.listen.clone().unwrap_or_else(|| "443".into());
    safe("listen", &listen)?;
    let cache_dir = opts
        .cache_dir
        .as_ref()
        .map(|p| p.display().to_string())
        .unwrap_or_else(|| format!("/var/cache/nginx/wheelgate-{id}"));
    safe("cache-dir", &cache_dir)?;

    let mut class_map = String::new();
    for (release, v) in releases
        .iter()
        .flat_map(|r| r.variants.iter().map(move |v| (r, v)))
    {
        let names = catalog.names(&release.name, v);
        for (base, class) in [
            (&names.production_base_path, "production"),
            (&names.staging_base_path, "staging"),
        ] {
            for p in [&index_prefix, &content_prefix] {
                class_map.push_str(&format!(
                    "    \"~^{}{}/\" {class};\n",
                    regex_escape(p),
                    regex_escape(base)
                ));
            }
        }
    }
    let fill_note = if placeholders.is_empty() {
        String::new()
    } else {
        format!(
            " Fill in before use (or pass the flags): {}.\n#",
            placeholders.join(", ")
        )
    };
    let headers = [
        "proxy_set_header Connection \"\";",
        "proxy_set_header Host $http_host;",
        "proxy_set_header X-Forwarded-Proto $scheme;",
        "proxy_set_header X-Forwarded-Host $http_host;",
        "proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;",
        "proxy_set_header X-CLIENT-CERT $ssl_client_escaped_cert;",
        "proxy_set_header Accept-Encoding \"\"; # sub_filter needs plain bodies",
    ];
    let indent = |n: usize| {
        headers
            .iter()
            .map(|h| format!("{}{h}", " ".repeat(n)))
            .collect::<Vec<_>>()
            .join("\n")
    };
    let catalog_name = catalog
        .path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let values: Vec<(&str, String)> = vec![
        ("PRODUCT", catalog.product.clone()),
        ("RELEASES", release_names.join(", ")),
        (
            "RELEASE_FLAGS",
            release_names
                .iter()
                .map(|r| format!("--release {r}"))
                .collect::<Vec<_>>()
                .join(" "),
        ),
        ("CATALOG", catalog_name),
        ("ID", id.clone()),
        ("FILL_NOTE", fill_note),
        ("PRODUCTION_DN_KEY", nginx_quoted(&production_issuer)),
        ("STAGING_DN_KEY", nginx_quoted(&staging_issuer)),
        ("PRODUCTION_DN", production_issuer.clone()),
        ("STAGING_DN", staging_issuer.clone()),
        ("CLASS_MAP", class_map.trim_end().to_owned()),
        ("CACHE_DIR", cache_dir),
        ("LISTEN", listen),
        ("SERVER_NAME", server_name),
        ("SERVER_CERT", server_cert),
        ("SERVER_KEY", server_key),
        ("CLIENT_CA_BUNDLE", bundle),
        ("UPSTREAM_API", upstream_api),
        ("UPSTREAM_CONTENT", upstream_content),
        ("INDEX_PREFIX_RE", regex_escape(&index_prefix)),
        ("INDEX_PREFIX", index_prefix),
        ("CONTENT_PREFIX", content_prefix),
        (
            "CACHE_SECONDS",
            opts.cache_seconds.unwrap_or(10).to_string(),
        ),
        ("PROXY_HEADERS_INNER", indent(8)),
        ("PROXY_HEADERS", indent(4)),
    ];
    let mut contents = NGINX_TEMPLATE.to_owned();
    for (k, v) in &values {
        contents = contents.replace(&format!("@{k}@"), v);
    }
    Ok(FrontConfig {
        releases: release_names,
        format,
        contents,
        placeholders,
        production_issuer,
        staging_issuer,
    })
}

fn issuer_of(catalog: &Catalog, scope: Scope) -> Result<String> {
    let rule = scope.rule(catalog);
    let Some(path) = rule.and_then(|r| r.ca_certificate.as_deref()) else {
        return Err(Error::Usage(format!(
            "{}: the front needs [access.{scope}] ca_certificate (the CA whose client certificates open the {scope} indexes)",
            catalog.path.display()
        )));
    };
    let certs = wheelgate_http::read_certificates(wheelgate_http::TlsFile::CaBundle, path)
        .map_err(|e| unreadable(path, &e.to_string()))?;
    let first = certs
        .first()
        .ok_or_else(|| unreadable(path, "no CERTIFICATE block"))?;
    wheelgate_http::x509_subject_rfc2253(first)
        .ok_or_else(|| unreadable(path, "its subject cannot be read"))
}

fn unreadable(path: &Path, why: &str) -> Error {
    Error::Usage(format!(
        "the CA certificate {} cannot be used for the front: {why}",
        path.display()
    ))
}

/// A path prefix as nginx and Pulp see it: `/.../`, safe to put into the config.
fn prefix(flag: &str, given: Option<String>, default: String) -> Result<String> {
    let p = given.unwrap_or(default);
    let ok = p.starts_with('/')
        && p.ends_with('/')
        && !p.contains("//")
        && p.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"/-_.".contains(&b));
    if ok {
        Ok(p)
    } else {
        Err(Error::Usage(format!(
            "{flag} {p:?}: expected a path such as /pypi/ (starting and ending with '/')"
        )))
    }
}

/// Refuse values that would break out of an nginx directive.
fn safe(what: &str, v: &str) -> Result<()> {
    if v.is_empty()
        || v.chars()
            .any(|c| c.is_whitespace() || "\"';{}$#\\".contains(c))
    {
        return Err(Error::Usage(format!(
            "--{what} {v:?}: no spaces, quotes, ';', '{{', '}}', '$', '#' or '\\' (it goes into an nginx directive)"
        )));
    }
    Ok(())
}

/// The inside of an nginx double-quoted string that means `s`.
fn nginx_quoted(s: &str) -> String {
    s.replace('\\', "\\\\").replace('"', "\\\"")
}

fn regex_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if ".+*?()[]{}|^$\\".contains(c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A self-signed CA with this common name and organisation, as PEM.
    fn ca(cn: &str, org: &str) -> String {
        let mut p = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
        p.distinguished_name = rcgen::DistinguishedName::new();
        p.distinguished_name
            .push(rcgen::DnType::OrganizationName, org);
        p.distinguished_name.push(rcgen::DnType::CommonName, cn);
        p.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        let key = rcgen::KeyPair::generate().unwrap();
        p.self_signed(&key).unwrap().pem()
    }

    #[test]
    fn one_server_for_several_releases() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("c.pem"), ca("Customer CA", "Vendor, Inc.")).unwrap();
        std::fs::write(dir.path().join("i.pem"), ca("Internal CA", "Vendor")).unwrap();
        let catalog = Catalog::parse(
            &dir.path().join("wheelgate.toml"),
            "product = \"rhoai\"\n\
             [variants.cpu]\npython = [\"cp312\"]\nplatforms = [\"linux_x86_64\"]\n\
             [variants.cuda]\npython = [\"cp312\"]\nplatforms = [\"linux_x86_64\"]\n\
             [releases.\"3.0\"]\nvariants = [\"cpu\"]\n\
             [releases.\"3.5-EA2\"]\nvariants = [\"cpu\", \"cuda\"]\n\
             [access.production]\nguard = \"x509\"\nca_certificate = \"c.pem\"\n\
             [access.staging]\nguard = \"none\"\nca_certificate = \"i.pem\"\n",
        )
        .unwrap();
        let opts = |releases: &[&str]| FrontConfigOptions {
            releases: releases.iter().map(|r| (*r).to_owned()).collect(),
            ..Default::default()
        };
        let f = front_config(
            &catalog,
            FrontFormat::Nginx,
            &opts(&["3.0", "3.5-EA2", "3.0"]),
        )
        .unwrap();
        assert_eq!(f.releases, ["3.0", "3.5-EA2"]);
        // RFC 2253: last RDN first, the comma in the organisation escaped.
        assert_eq!(f.production_issuer, "CN=Customer CA,O=Vendor\\, Inc.");
        assert_eq!(f.staging_issuer, "CN=Internal CA,O=Vendor");
        let c = &f.contents;
        assert_eq!(c.matches("\nserver {\n").count(), 1, "{c}");
        assert_eq!(c.matches("map_hash_bucket_size").count(), 1);
        for (path, class) in [
            ("rhoai/3\\.0/cpu/", "production"),
            ("rhoai/3\\.0/cpu-test/", "staging"),
            ("rhoai/3\\.5-EA2/cuda/", "production"),
            ("rhoai/3\\.5-EA2/cpu-test/", "staging"),
        ] {
            assert!(
                c.contains(&format!("\"~^/pypi/{path}\" {class};")),
                "{path}: {c}"
            );
            assert!(
                c.contains(&format!("\"~^/pulp/content/{path}\" {class};")),
                "{path}: {c}"
            );
        }
        assert!(!c.contains("rhoai/3\\.0/cuda/"), "cuda is not in 3.0");
        assert!(
            c.contains("\"SUCCESS|production|CN=Customer CA,O=Vendor\\\\, Inc.\" \"\";"),
            "{c}"
        );
        let unfilled = c
            .split('@')
            .skip(1)
            .any(|w| w.starts_with(|ch: char| ch.is_ascii_uppercase()));
        assert!(!unfilled, "a template key left unfilled: {c}");
        assert_eq!(f.placeholders.len(), 6, "{:?}", f.placeholders);
        let e = front_config(&catalog, FrontFormat::Nginx, &opts(&["9.9"])).unwrap_err();
        assert!(e.to_string().contains("9.9"), "{e}");
        assert!(front_config(&catalog, FrontFormat::Nginx, &opts(&[])).is_err());
    }

    #[test]
    fn template_values_are_checked() {
        assert_eq!(regex_escape("/pypi/p/3.0/cpu/"), "/pypi/p/3\\.0/cpu/");
        assert!(safe("server-name", "index.example.com").is_ok());
        assert!(safe("server-name", "a; b").is_err());
        assert!(prefix("--index-prefix", Some("pypi".into()), String::new()).is_err());
    }
}

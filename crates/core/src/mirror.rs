//! `mirror`: the catalog and the command line turned into the options of the mirroring engine
//! (`wheelgate-mirror`). Customer side only: the index is read as customers read it (the
//! `[customer]` host and certificate), never through Pulp's admin API, with no Pulp
//! credentials.

use std::path::PathBuf;

use url::Url;
use wheelgate_http::TlsSettings;
use wheelgate_index::{IndexClient, IndexConfig};
use wheelgate_mirror::{
    MirrorError, MirrorOptions, MirrorSummary, Reporter, VariantSource, VerifyOptions,
    VerifySummary,
};

use crate::catalog::Catalog;
use crate::error::Error;

/// How many requests (pages and files together) are in flight at once by default.
pub const DEFAULT_JOBS: usize = 8;

/// What the command line says.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MirrorFlags {
    /// `--release`.
    pub release: String,
    /// `--variant` (repeatable).
    pub variants: Vec<String>,
    /// `--all`: every variant of the release.
    pub all: bool,
    /// `--dest`.
    pub dest: PathBuf,
    /// `--index-url-template`, with `{product}`, `{release}`, `{variant}`.
    pub index_url_template: Option<String>,
    /// `--cert`: client certificate and key in one PEM (or the certificate, with `[customer]
    /// client_key`... only when the certificate is the catalog's too).
    pub cert: Option<PathBuf>,
    /// `--ca-bundle`.
    pub ca_bundle: Option<PathBuf>,
    /// `--jobs`.
    pub jobs: Option<usize>,
    /// `--delete`.
    pub delete: bool,
}

/// The resolved plan: the engine's options and the TLS settings to read the index with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MirrorPlan {
    /// For the engine.
    pub options: MirrorOptions,
    /// Client certificate and CAs for the index host.
    pub tls: TlsSettings,
    /// The template the index URLs came from.
    pub template: String,
}

/// Mirroring failed before it started (bad flags or catalog) or while it ran.
#[derive(Debug, thiserror::Error)]
pub enum MirrorFailed {
    /// Bad flags, catalog or TLS files; nothing was written.
    #[error(transparent)]
    Setup(#[from] Error),
    /// The engine failed.
    #[error(transparent)]
    Mirror(#[from] MirrorError),
}

/// The default template from the catalog: `[customer] index_host` + the index path of the
/// catalog's Pulp layout (`/api/pypi/<domain>/` when `[pulp] domain` is set, else `/pypi/`).
pub fn default_template(catalog: &Catalog) -> Option<String> {
    let host = catalog.customer.index_host.as_ref()?;
    let host = host.as_str().trim_end_matches('/');
    let prefix = match catalog.pulp.domain.as_deref() {
        Some(d) if !d.is_empty() => format!("/api/pypi/{d}/"),
        _ => "/pypi/".to_owned(),
    };
    Some(format!(
        "{host}{prefix}{{product}}/{{release}}/{{variant}}/simple/"
    ))
}

/// The index URL of one variant from `template`.
pub fn index_url(
    template: &str,
    product: &str,
    release: &str,
    variant: &str,
) -> Result<Url, Error> {
    let text = template
        .replace("{product}", product)
        .replace("{release}", release)
        .replace("{variant}", variant);
    let mut url = Url::parse(&text).map_err(|e| {
        Error::Usage(format!(
            "--index-url-template {template:?} does not give a URL ({e}); write e.g. \"https://host/api/pypi/<domain>/{{product}}/{{release}}/{{variant}}/simple/\""
        ))
    })?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        return Err(Error::Usage(format!(
            "--index-url-template {template:?}: an http(s) URL with a host is needed"
        )));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(Error::Usage(
            "--index-url-template: no credentials in the URL; use --cert".into(),
        ));
    }
    if !url.path().ends_with('/') {
        let p = format!("{}/", url.path());
        url.set_path(&p);
    }
    Ok(url)
}

/// The variants `--variant`/`--all` name, checked against the catalog's release.
fn selected_variants(catalog: &Catalog, flags: &MirrorFlags) -> Result<Vec<String>, Error> {
    let release = catalog.release(&flags.release)?;
    Ok(match (flags.all, flags.variants.is_empty()) {
        (true, true) => release.variants.clone(),
        (false, false) => {
            for v in &flags.variants {
                catalog.variant(&flags.release, v)?;
            }
            flags.variants.clone()
        }
        (true, false) => {
            return Err(Error::Usage("give --variant or --all, not both".into()));
        }
        (false, true) => {
            return Err(Error::Usage(format!(
                "give --variant V (repeatable) or --all (every variant of release {}: {})",
                flags.release,
                release.variants.join(", ")
            )));
        }
    })
}

/// Turn the catalog and flags into the engine's options. Nothing is contacted.
pub fn plan(catalog: &Catalog, flags: &MirrorFlags) -> Result<MirrorPlan, Error> {
    let variants = selected_variants(catalog, flags)?;
    let template = match &flags.index_url_template {
        Some(t) => t.clone(),
        None => default_template(catalog).ok_or_else(|| {
            Error::Usage(
                "no index to mirror from: set [customer] index_host in the catalog or pass --index-url-template URL (placeholders {product}, {release}, {variant})".into(),
            )
        })?,
    };
    if variants.len() > 1 && !template.contains("{variant}") {
        return Err(Error::Usage(format!(
            "--index-url-template {template:?} has no {{variant}}: every variant would read the same index"
        )));
    }
    let sources = variants
        .iter()
        .map(|v| {
            Ok(VariantSource {
                name: v.clone(),
                index_url: index_url(&template, &catalog.product, &flags.release, v)?,
            })
        })
        .collect::<Result<Vec<_>, Error>>()?;
    // A certificate given by flag brings its own key (one PEM): never pair it with the
    // catalog's key for another certificate.
    let section = &catalog.customer;
    let (client_cert, client_key) = match &flags.cert {
        Some(c) => (Some(c.clone()), None),
        None => (section.client_cert.clone(), section.client_key.clone()),
    };
    let tls = TlsSettings {
        client_cert,
        client_key,
        ca_bundle: flags
            .ca_bundle
            .clone()
            .or_else(|| section.ca_bundle.clone()),
        verify: true,
    };
    if flags.jobs == Some(0) {
        return Err(Error::Usage("--jobs must be at least 1".into()));
    }
    Ok(MirrorPlan {
        options: MirrorOptions {
            dest: flags.dest.clone(),
            root: vec![catalog.product.clone(), flags.release.clone()],
            variants: sources,
            jobs: flags.jobs.unwrap_or(DEFAULT_JOBS),
            delete: flags.delete,
        },
        tls,
        template,
    })
}

/// Mirror the release as `flags` say.
pub async fn mirror(
    catalog: &Catalog,
    flags: &MirrorFlags,
    reporter: &dyn Reporter,
) -> Result<MirrorSummary, MirrorFailed> {
    let plan = plan(catalog, flags)?;
    let client = IndexClient::new(IndexConfig {
        tls: plan.tls.clone(),
        ..Default::default()
    })
    .map_err(|source| Error::CustomerSetup {
        source,
        hint: wheelgate_mirror::MIRROR_CERTS,
    })?;
    wheelgate_mirror::mirror(&client, &plan.options, reporter)
        .await
        .map_err(|e| {
            if e.is_bad_input() {
                MirrorFailed::Setup(Error::Usage(e.to_string()))
            } else {
                MirrorFailed::Mirror(e)
            }
        })
}

/// What `--verify` checks: the release's tree below `--dest`, for the variants `--variant`
/// or `--all` name. Needs no index URL and no certificate (the flags for them are ignored).
pub fn verify_options(catalog: &Catalog, flags: &MirrorFlags) -> Result<VerifyOptions, Error> {
    let variants = selected_variants(catalog, flags)?;
    if flags.jobs == Some(0) {
        return Err(Error::Usage("--jobs must be at least 1".into()));
    }
    Ok(VerifyOptions {
        dest: flags.dest.clone(),
        root: vec![catalog.product.clone(), flags.release.clone()],
        variants,
        jobs: flags.jobs.unwrap_or(DEFAULT_JOBS),
    })
}

/// Check the mirror of the release as `flags` say, offline (`wheelgate mirror --verify`):
/// problems in the tree are in the summary; an error means it could not be checked (bad flags,
/// or a mirror run holds the store's lock). Blocking: local reads and hashing.
pub fn verify(
    catalog: &Catalog,
    flags: &MirrorFlags,
    reporter: &dyn Reporter,
) -> Result<VerifySummary, MirrorFailed> {
    let options = verify_options(catalog, flags)?;
    wheelgate_mirror::verify(&options, reporter).map_err(|e| {
        if e.is_bad_input() {
            MirrorFailed::Setup(Error::Usage(e.to_string()))
        } else {
            MirrorFailed::Mirror(e)
        }
    })
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;

    const CATALOG: &str = r#"
product = "rhoai"
[variants.cpu]
python = ["cp312"]
platforms = ["linux_x86_64"]
[variants.gpu]
python = ["cp312"]
platforms = ["linux_x86_64"]
[releases."3.0"]
variants = ["cpu", "gpu"]
[packages]
allow = ["*"]
"#;

    fn catalog(extra: &str) -> Catalog {
        Catalog::parse(Path::new("/c/w.toml"), &format!("{CATALOG}{extra}")).unwrap()
    }

    fn flags() -> MirrorFlags {
        MirrorFlags {
            release: "3.0".into(),
            all: true,
            dest: "/m".into(),
            ..Default::default()
        }
    }

    #[test]
    fn the_template_defaults_from_customer_and_the_domain() {
        let cat = catalog(
            "[pulp]\ndomain = \"public-rhai\"\n[customer]\nindex_host = \"https://idx.example:8443\"\nclient_cert = \"c.pem\"\nca_bundle = \"ca.pem\"\n",
        );
        let p = plan(&cat, &flags()).unwrap();
        assert_eq!(
            p.template,
            "https://idx.example:8443/api/pypi/public-rhai/{product}/{release}/{variant}/simple/"
        );
        let urls: Vec<_> = p
            .options
            .variants
            .iter()
            .map(|v| v.index_url.as_str())
            .collect();
        assert_eq!(
            urls,
            [
                "https://idx.example:8443/api/pypi/public-rhai/rhoai/3.0/cpu/simple/",
                "https://idx.example:8443/api/pypi/public-rhai/rhoai/3.0/gpu/simple/"
            ]
        );
        assert_eq!(p.options.root, ["rhoai", "3.0"]);
        assert_eq!(p.options.jobs, DEFAULT_JOBS);
        assert_eq!(p.tls.client_cert.as_deref(), Some(Path::new("/c/c.pem")));
        assert_eq!(p.tls.ca_bundle.as_deref(), Some(Path::new("/c/ca.pem")));
        let plain = catalog("[customer]\nindex_host = \"https://idx\"\n");
        assert_eq!(
            default_template(&plain).unwrap(),
            "https://idx/pypi/{product}/{release}/{variant}/simple/"
        );
    }

    #[test]
    fn flags_win_and_bad_input_is_a_usage_error() {
        let cat = catalog("[customer]\nindex_host = \"https://idx\"\nclient_cert = \"c.pem\"\nclient_key = \"k.pem\"\n");
        let f = MirrorFlags {
            all: false,
            variants: vec!["gpu".into()],
            index_url_template: Some("http://127.0.0.1:1/x/{release}/{variant}/simple".into()),
            cert: Some("mine.pem".into()),
            jobs: Some(3),
            ..flags()
        };
        let p = plan(&cat, &f).unwrap();
        assert_eq!(p.options.variants.len(), 1);
        assert_eq!(
            p.options.variants[0].index_url.as_str(),
            "http://127.0.0.1:1/x/3.0/gpu/simple/"
        );
        assert_eq!(p.tls.client_cert.as_deref(), Some(Path::new("mine.pem")));
        assert_eq!(
            p.tls.client_key, None,
            "the catalog's key belongs to its cert"
        );
        assert_eq!(p.options.jobs, 3);
        let bad = [
            MirrorFlags {
                all: false,
                ..flags()
            },
            MirrorFlags {
                variants: vec!["cpu".into()],
                ..flags()
            },
            MirrorFlags {
                all: false,
                variants: vec!["nope".into()],
                ..flags()
            },
            MirrorFlags {
                index_url_template: Some("not a url".into()),
                ..flags()
            },
            MirrorFlags {
                index_url_template: Some("https://h/{release}/simple/".into()),
                ..flags()
            },
            MirrorFlags {
                jobs: Some(0),
                ..flags()
            },
        ];
        for f in bad {
            let e = plan(&cat, &f).unwrap_err();
            assert_eq!(e.class(), crate::ErrorClass::Invalid, "{f:?}: {e}");
        }
        let e = plan(&catalog(""), &flags()).unwrap_err();
        assert!(e.to_string().contains("--index-url-template"), "{e}");
    }

    #[test]
    fn verify_needs_no_index_and_no_certificate() {
        // No [customer] section at all: a verification reads only the disk.
        let o = verify_options(&catalog(""), &flags()).unwrap();
        assert_eq!(o.root, ["rhoai", "3.0"]);
        assert_eq!(o.variants, ["cpu", "gpu"]);
        assert_eq!(o.dest, Path::new("/m"));
        assert_eq!(o.jobs, DEFAULT_JOBS);
        let one = MirrorFlags {
            all: false,
            variants: vec!["gpu".into()],
            ..flags()
        };
        assert_eq!(
            verify_options(&catalog(""), &one).unwrap().variants,
            ["gpu"]
        );
        for bad in [
            MirrorFlags {
                all: false,
                ..flags()
            },
            MirrorFlags {
                jobs: Some(0),
                ..flags()
            },
            MirrorFlags {
                release: "9.9".into(),
                ..flags()
            },
        ] {
            let e = verify_options(&catalog(""), &bad).unwrap_err();
            assert_eq!(e.class(), crate::ErrorClass::Invalid, "{bad:?}: {e}");
        }
    }
}

//! `wheelgate front-config`: the customer-facing TLS front of a release (nginx), generated from
//! the catalog's `[access]` CAs and variants. Needs no Pulp connection.

use std::io::Write;
use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::ValueEnum;
use wheelgate_core::front_config::{self, FrontConfigOptions, FrontFormat};
use wheelgate_core::Catalog;

use crate::exit::ExitStatus;
use crate::output::Printer;

/// Which front.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// An nginx include for the http {} context: maps, a cache zone and one server {}.
    Nginx,
}

/// `front-config`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Release, e.g. 3.0 or 3.5-EA2 (as in the catalog); repeatable: one server for all of them.
    #[arg(
        long = "release",
        value_name = "RELEASE",
        required_unless_present = "all_releases"
    )]
    pub releases: Vec<String>,
    /// Every release of the catalog.
    #[arg(long, conflicts_with = "releases")]
    pub all_releases: bool,
    /// Which front.
    #[arg(long, value_enum)]
    pub format: Format,
    /// The front's server_name [default: a FILL-ME placeholder].
    #[arg(long, value_name = "NAME")]
    pub server_name: Option<String>,
    /// nginx `listen` address [default: 443].
    #[arg(long, value_name = "ADDR")]
    pub listen: Option<String>,
    /// The front's TLS certificate (PEM) [default: a FILL-ME placeholder].
    #[arg(long, value_name = "PATH")]
    pub server_cert: Option<PathBuf>,
    /// The front's TLS key (PEM) [default: a FILL-ME placeholder].
    #[arg(long, value_name = "PATH")]
    pub server_key: Option<PathBuf>,
    /// One PEM holding both [access] CAs, for ssl_client_certificate [default: a FILL-ME
    /// placeholder].
    #[arg(long, value_name = "PATH")]
    pub client_ca_bundle: Option<PathBuf>,
    /// Pulp's API server origin (index pages), e.g. http://pulp-api:24817 [default: a FILL-ME
    /// placeholder].
    #[arg(long, value_name = "URL")]
    pub upstream_api: Option<url::Url>,
    /// Pulp's content app origin (files), e.g. http://pulp-content:24816 [default: a FILL-ME
    /// placeholder].
    #[arg(long, value_name = "URL")]
    pub upstream_content: Option<url::Url>,
    /// Path before a base path in index URLs [default: /api/pypi/<[pulp] domain>/, else /pypi/].
    #[arg(long, value_name = "PATH")]
    pub index_prefix: Option<String>,
    /// Path before a base path in file URLs [default: /api/pulp-content/<[pulp] domain>/, else
    /// /pulp/content/].
    #[arg(long, value_name = "PATH")]
    pub content_prefix: Option<String>,
    /// Directory of nginx's cache of simple pages [default: /var/cache/nginx/wheelgate-<id>].
    #[arg(long, value_name = "DIR")]
    pub cache_dir: Option<PathBuf>,
    /// Seconds a simple page is served from the cache before it is revalidated by ETag
    /// [default: 10].
    #[arg(long, value_name = "N")]
    pub cache_seconds: Option<u32>,
}

/// Run `front-config`.
pub fn run(catalog: &Catalog, out: &Printer, a: &Args) -> Result<ExitStatus> {
    let opts = FrontConfigOptions {
        releases: if a.all_releases {
            catalog.releases.keys().cloned().collect()
        } else {
            a.releases.clone()
        },
        server_name: a.server_name.clone(),
        listen: a.listen.clone(),
        server_cert: a.server_cert.clone(),
        server_key: a.server_key.clone(),
        client_ca_bundle: a.client_ca_bundle.clone(),
        upstream_api: a.upstream_api.clone(),
        upstream_content: a.upstream_content.clone(),
        index_prefix: a.index_prefix.clone(),
        content_prefix: a.content_prefix.clone(),
        cache_dir: a.cache_dir.clone(),
        cache_seconds: a.cache_seconds,
    };
    let format = match a.format {
        Format::Nginx => FrontFormat::Nginx,
    };
    let report = front_config::front_config(catalog, format, &opts)
        .with_context(|| format!("front-config of {} failed", opts.releases.join(", ")))?;
    if out.is_json() {
        out.json(&report)?;
    } else {
        out.stdout().write_all(report.contents.as_bytes())?;
        if !report.placeholders.is_empty() {
            out.warning(&format!(
                "placeholders left to fill: {} (or pass the flags)",
                report.placeholders.join(", ")
            ));
        }
    }
    Ok(ExitStatus::Success)
}

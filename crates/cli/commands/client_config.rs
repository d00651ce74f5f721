//! `wheelgate client-config`: a pip.conf, uv.toml, shell `export` lines or a base image's
//! Containerfile for customers of one variant's production (or `--test`: staging) index.

use std::io::Write;
use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::ValueEnum;
use wheelgate_core::client_config::{self, ClientConfigOptions};

use super::Ctx;
use crate::exit::ExitStatus;

/// Which file to write.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// pip.conf ([global] index-url, client-cert, cert).
    Pip,
    /// uv.toml ([[index]]; uv takes the certificate from SSL_CLIENT_CERT).
    Uv,
    /// `export` lines for pip and uv (PIP_*, UV_DEFAULT_INDEX, SSL_CLIENT_CERT, SSL_CERT_FILE).
    Env,
    /// A base image's Containerfile (ARG BASE_IMAGE, default UBI 9 Python 3.12) configuring pip
    /// and uv system-wide; --cert is the path in the image, --ca-bundle a file in the build
    /// context.
    Containerfile,
}

impl From<Format> for client_config::Format {
    fn from(f: Format) -> Self {
        match f {
            Format::Pip => Self::Pip,
            Format::Uv => Self::Uv,
            Format::Env => Self::Env,
            Format::Containerfile => Self::Containerfile,
        }
    }
}

/// `client-config`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Release, e.g. 3.0 or 3.5-EA2 (as in the catalog).
    #[arg(long)]
    pub release: String,
    /// Variant.
    #[arg(long)]
    pub variant: String,
    /// Which file.
    #[arg(long, value_enum)]
    pub format: Format,
    /// The host customers use, scheme://host[:port] [default: catalog [customer] index_host, else
    /// the distribution's base_url from Pulp].
    #[arg(long, value_name = "URL", value_parser = wheelgate_core::customer::parse_index_host)]
    pub index_host: Option<url::Url>,
    /// The combined client certificate (key + certificate, from `wheelgate client-cert`) on the
    /// customer's machine, or in the image for containerfile [default:
    /// /etc/pki/wheelgate/client.pem].
    #[arg(long, value_name = "PATH")]
    pub cert: Option<PathBuf>,
    /// CA bundle to trust for the index host on the customer's machine (containerfile: a file in
    /// the build context, copied into the image).
    #[arg(long, value_name = "PATH")]
    pub ca_bundle: Option<PathBuf>,
    /// The staging `-test` index instead of production.
    #[arg(long)]
    pub test: bool,
}

/// Run `client-config`.
pub async fn run(ctx: &Ctx<'_>, a: &Args) -> Result<ExitStatus> {
    let opts = ClientConfigOptions {
        release: a.release.clone(),
        variant: a.variant.clone(),
        format: a.format.into(),
        index_host: a.index_host.clone(),
        client_cert: a.cert.clone(),
        ca_bundle: a.ca_bundle.clone(),
        test: a.test,
    };
    let report = client_config::client_config(ctx.client, ctx.catalog, &opts)
        .await
        .with_context(|| {
            format!(
                "client-config of release {} variant {} failed",
                a.release, a.variant
            )
        })?;
    if ctx.out.is_json() {
        ctx.out.json(&report)?;
    } else {
        ctx.out.stdout().write_all(report.contents.as_bytes())?;
    }
    Ok(ExitStatus::Success)
}

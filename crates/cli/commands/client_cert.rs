//! `wheelgate client-cert`: the newest valid entitlement certificate and its key as the one PEM
//! pip and uv take (mode 0600). Needs neither Pulp nor a catalog.

use std::path::PathBuf;

use anyhow::{Context, Result};
use serde::Serialize;

use crate::exit::ExitStatus;
use crate::output::Printer;

/// `client-cert`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Where subscription-manager keeps the entitlement certificates (<serial>.pem +
    /// <serial>-key.pem); in a build on a subscribed host: /run/secrets/etc-pki-entitlement.
    #[arg(long, value_name = "DIR", default_value = wheelgate_index::DEFAULT_ENTITLEMENT_DIR)]
    pub entitlement_dir: PathBuf,
    /// The combined PEM to write (replaced whole, mode 0600).
    #[arg(long, value_name = "PATH")]
    pub out: PathBuf,
}

#[derive(Serialize)]
struct Report<'a> {
    out: &'a std::path::Path,
    certificate: &'a std::path::Path,
    key: &'a std::path::Path,
    serial: &'a str,
    expires: String,
}

/// Run `client-cert`.
pub fn run(out: &Printer, a: &Args) -> Result<ExitStatus> {
    let e = wheelgate_index::write_client_pem(&a.entitlement_dir, &a.out)
        .with_context(|| format!("client-cert from {} failed", a.entitlement_dir.display()))?;
    if out.is_json() {
        out.json(&Report {
            out: &a.out,
            certificate: &e.cert,
            key: &e.key,
            serial: &e.serial,
            expires: e.expires(),
        })?;
    } else {
        out.note(&format!(
            "wrote {} from {} (serial {}, expires {})",
            a.out.display(),
            e.cert.display(),
            e.serial,
            e.expires()
        ));
    }
    Ok(ExitStatus::Success)
}

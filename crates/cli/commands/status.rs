//! `wheelgate status`: staging and production state of every variant of a release.

use std::io::Write;

use anyhow::{Context, Result};
use wheelgate_core::status::{self, StatusReport};

use super::Ctx;
use crate::exit::ExitStatus;
use crate::output::{self, Printer};

/// `status`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Release, e.g. 3.0 or 3.5-EA2 (as in the catalog).
    #[arg(long)]
    pub release: String,
}

/// Run `status`.
pub async fn run(ctx: &Ctx<'_>, a: &Args) -> Result<ExitStatus> {
    let report = status::status(ctx.client, ctx.catalog, &a.release, ctx.cache.as_ref())
        .await
        .with_context(|| format!("status of release {} failed", a.release))?;
    render(&ctx.out, &report)?;
    Ok(ExitStatus::Success)
}

fn render(out: &Printer, r: &StatusReport) -> Result<()> {
    if out.is_json() {
        return out.json(r);
    }
    let mut o = out.stdout();
    writeln!(o, "release {}", r.release)?;
    let dash = || "-".to_owned();
    for v in &r.variants {
        writeln!(o, "  {}", v.variant)?;
        writeln!(
            o,
            "    staging     {} version {} build {} ({} files, {} projects)",
            v.staging.repository,
            output::version(v.staging.version),
            v.staging.build_id.clone().unwrap_or_else(dash),
            v.staging.files,
            v.staging.projects
        )?;
        writeln!(
            o,
            "                {}",
            v.staging.index_url.clone().unwrap_or_else(dash)
        )?;
        let served = if v.production.follows_latest {
            format!(
                "{} (follows the latest: unpinned!)",
                output::version(v.production.version)
            )
        } else {
            output::version(v.production.version)
        };
        writeln!(
            o,
            "    production  {} version {} build {}",
            v.production.distribution,
            served,
            v.production.build_id.clone().unwrap_or_else(dash)
        )?;
        writeln!(
            o,
            "                {}",
            v.production.index_url.clone().unwrap_or_else(dash)
        )?;
    }
    drop(o);
    for f in r.all_findings() {
        out.finding(f, None);
    }
    Ok(())
}

//! `wheelgate diff`: projects and files added, removed and changed between two versions.

use std::io::Write;

use anyhow::{Context, Result};
use wheelgate_core::diff::{self, DiffReport, VersionRef};

use super::Ctx;
use crate::exit::ExitStatus;
use crate::output::{self, Printer};

/// `diff`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Release, e.g. 3.0 or 3.5-EA2 (as in the catalog).
    #[arg(long)]
    pub release: String,
    /// Variant.
    #[arg(long)]
    pub variant: String,
    /// From: `production`, `latest` or a version number.
    #[arg(long, default_value = "production")]
    pub from: VersionRef,
    /// To: `latest`, `production` or a version number.
    #[arg(long, default_value = "latest")]
    pub to: VersionRef,
}

/// Run `diff`.
pub async fn run(ctx: &Ctx<'_>, a: &Args) -> Result<ExitStatus> {
    let report = diff::diff_versions(
        ctx.client,
        ctx.catalog,
        &a.release,
        &a.variant,
        a.from,
        a.to,
        ctx.cache.as_ref(),
    )
    .await
    .with_context(|| format!("diff of {} {} failed", a.release, a.variant))?;
    render(&ctx.out, &report)?;
    Ok(ExitStatus::Success)
}

fn render(out: &Printer, r: &DiffReport) -> Result<()> {
    if out.is_json() {
        return out.json(r);
    }
    let mut o = out.stdout();
    writeln!(
        o,
        "{} {}: version {} → {}",
        r.release,
        r.variant,
        output::version(r.from_version),
        output::version(r.to_version)
    )?;
    output::write_diff(&mut o, &r.diff, "  ")?;
    // Removals are what a replacing build does: name every file (additions are counted).
    for f in &r.diff.files_removed {
        writeln!(o, "  - {f}")?;
    }
    Ok(())
}

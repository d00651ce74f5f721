//! `wheelgate vet`: check a staging version and record it on pass.

use std::io::Write;

use anyhow::{Context, Result};
use wheelgate_core::vet::{self, Finding, VetReport};

use super::Ctx;
use crate::exit::ExitStatus;
use crate::output::{self, Printer};

/// `vet`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Release, e.g. 3.0 or 3.5-EA2 (as in the catalog).
    #[arg(long)]
    pub release: String,
    /// Variant.
    #[arg(long)]
    pub variant: String,
    /// Staging version (default: the latest).
    #[arg(long)]
    pub version: Option<u64>,
}

/// Run `vet`; exit 3 when vetting fails.
pub async fn run(ctx: &Ctx<'_>, a: &Args) -> Result<ExitStatus> {
    let opts = vet::VetOptions {
        release: a.release.clone(),
        variant: a.variant.clone(),
        version: a.version,
        actor: ctx.actor(),
        wait: Default::default(),
        cache: ctx.cache.clone(),
    };
    let report = vet::vet(ctx.client, ctx.catalog, &opts)
        .await
        .with_context(|| format!("vet of {} {} failed", a.release, a.variant))?;
    render(&ctx.out, &report)?;
    Ok(if report.passed {
        ExitStatus::Success
    } else {
        ExitStatus::Refused
    })
}

fn render(out: &Printer, r: &VetReport) -> Result<()> {
    if out.is_json() {
        return out.json(r);
    }
    let mut o = out.stdout();
    if r.passed {
        writeln!(
            o,
            "{} version {} passed vetting ({} files, digest {}); recorded in the ledger",
            r.repository,
            r.version,
            r.files,
            &r.digest[..12.min(r.digest.len())]
        )?;
    } else {
        writeln!(
            o,
            "{} version {} FAILED vetting ({}); nothing recorded:",
            r.repository,
            r.version,
            output::plural(r.findings.len(), "finding")
        )?;
        for f in &r.findings {
            writeln!(o, "  [{}] {}: {}", label(f), f.filename, f.message)?;
        }
    }
    for f in &r.warned {
        writeln!(o, "  warning: [{}] {}: {}", label(f), f.filename, f.message)?;
    }
    for w in &r.warnings {
        writeln!(o, "  warning: {w}")?;
    }
    Ok(())
}

/// The bracketed label of a finding: its code when it has one (`mixed-builds`), else its check.
fn label(f: &Finding) -> &str {
    f.code.map(|c| c.as_str()).unwrap_or(f.check)
}

//! `wheelgate prune`: delete staging versions nothing refers to.

use std::io::Write;

use anyhow::{Context, Result};
use wheelgate_core::prune::{self, PrunePlan, PruneReport};

use super::Ctx;
use crate::exit::ExitStatus;
use crate::output::{self, Printer};

/// `prune`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Release, e.g. 3.0 or 3.5-EA2 (as in the catalog).
    #[arg(long)]
    pub release: String,
    /// Variant.
    #[arg(long)]
    pub variant: String,
    /// Keep this many of the newest versions whatever else holds (at least 1).
    #[arg(long, value_name = "N", default_value_t = 3)]
    pub keep_latest: u64,
    /// Show what would be kept and deleted, change nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Do not ask for confirmation (required when not on a terminal).
    #[arg(long, short = 'y')]
    pub yes: bool,
    /// Why, for the ledger.
    #[arg(long)]
    pub reason: Option<String>,
}

/// Run `prune`.
pub async fn run(ctx: &Ctx<'_>, a: &Args) -> Result<ExitStatus> {
    let opts = prune::PruneOptions {
        release: a.release.clone(),
        variant: a.variant.clone(),
        keep_latest: a.keep_latest,
        cache: ctx.cache.clone(),
    };
    let failed = || format!("prune of {} {} failed", a.release, a.variant);
    let plan = prune::plan_prune(ctx.client, ctx.catalog, &opts)
        .await
        .with_context(failed)?;
    render_plan(&ctx.out, &plan, a.dry_run)?;
    if a.dry_run || plan.delete.is_empty() {
        if plan.delete.is_empty() {
            ctx.out.note("nothing to delete");
        }
        return Ok(ExitStatus::Success);
    }
    if !a.yes && !ctx.confirmed("prune deletes staging versions", "delete these versions?")? {
        ctx.out.note("aborted, nothing changed");
        return Ok(ExitStatus::Usage);
    }
    let report = prune::apply_prune(
        ctx.client,
        ctx.catalog,
        &opts,
        &plan,
        &ctx.actor(),
        a.reason.clone(),
        &Default::default(),
    )
    .await
    .with_context(failed)?;
    render_report(&ctx.out, &report)?;
    Ok(ExitStatus::Success)
}

/// What `prune` would keep and delete (JSON only for a dry run).
fn render_plan(out: &Printer, p: &PrunePlan, dry_run: bool) -> Result<()> {
    if out.is_json() {
        return if dry_run { out.json(p) } else { Ok(()) };
    }
    let mut o = out.stdout();
    writeln!(
        o,
        "prune of {} {}{}",
        p.release,
        p.variant,
        output::dry_run_note(dry_run)
    )?;
    for (n, why) in &p.keep {
        let why: Vec<String> = why.iter().map(ToString::to_string).collect();
        writeln!(o, "  keep    version {n:<4} {}", why.join(", "))?;
    }
    for n in &p.delete {
        writeln!(o, "  delete  version {n}")?;
    }
    Ok(())
}

/// What `prune` did.
fn render_report(out: &Printer, r: &PruneReport) -> Result<()> {
    if out.is_json() {
        return out.json(r);
    }
    let mut o = out.stdout();
    let list = |v: &[u64]| v.iter().map(u64::to_string).collect::<Vec<_>>().join(", ");
    writeln!(
        o,
        "prune {} {}: deleted {} ({}); recorded in the ledger",
        r.plan.release,
        r.plan.variant,
        output::plural(r.deleted.len(), "version"),
        list(&r.deleted)
    )?;
    for (n, why) in &r.refused {
        writeln!(o, "  kept version {n}: Pulp refused to delete it: {why}")?;
    }
    Ok(())
}

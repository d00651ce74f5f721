//! `wheelgate rollback`: switch production back to a version it served before.

use anyhow::{Context, Result};
use wheelgate_core::promote;

use super::switch::{switch, SwitchArgs};
use super::Ctx;
use crate::exit::ExitStatus;

/// `rollback`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Release, e.g. 3.0 or 3.5-EA2 (as in the catalog).
    #[arg(long)]
    pub release: String,
    /// Variant.
    #[arg(long)]
    pub variant: String,
    /// A version production served before (default: the one before the current).
    #[arg(long, value_name = "N")]
    pub to: Option<u64>,
    #[command(flatten)]
    pub switch: SwitchArgs,
}

/// Run `rollback`.
pub async fn run(ctx: &Ctx<'_>, a: &Args) -> Result<ExitStatus> {
    let opts = promote::RollbackOptions {
        release: a.release.clone(),
        variant: a.variant.clone(),
        to: a.to,
        diff: super::switch::diff_timing(&a.switch, false),
        cache: ctx.cache.clone(),
    };
    let plan = promote::plan_rollback(ctx.client, ctx.catalog, &opts)
        .await
        .with_context(|| format!("rollback of {} {} failed", a.release, a.variant))?;
    let flags = a.switch.flags(false);
    switch(ctx, plan, flags).await
}

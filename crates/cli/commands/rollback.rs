//! `wheelgate rollback`: switch production back to a version it served before.

use anyhow::{Context, Result};
use wheelgate_core::promote;

use super::switch::{switch, IndexArgs, SwitchFlags, Verify};
use super::Ctx;
use crate::exit::ExitStatus;

/// `rollback`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Release.
    #[arg(long)]
    pub release: String,
    /// Variant.
    #[arg(long)]
    pub variant: String,
    /// A version production served before (default: the one before the current).
    #[arg(long, value_name = "N")]
    pub to: Option<u64>,
    /// Do not ask for confirmation (required when not on a terminal).
    #[arg(long, short = 'y')]
    pub yes: bool,
    /// Why, for the ledger.
    #[arg(long)]
    pub reason: Option<String>,
    /// How much of the production index to read back through the customer path afterwards.
    #[arg(long, value_enum, default_value = "changed")]
    pub verify: Verify,
    #[command(flatten)]
    pub index: IndexArgs,
}

/// Run `rollback`.
pub async fn run(ctx: &Ctx<'_>, a: &Args) -> Result<ExitStatus> {
    let plan = promote::plan_rollback(ctx.client, ctx.catalog, &a.release, &a.variant, a.to)
        .await
        .with_context(|| format!("rollback of {} {} failed", a.release, a.variant))?;
    let flags = SwitchFlags {
        dry_run: false,
        yes: a.yes,
        reason: a.reason.clone(),
        verify: a.verify.into(),
        index: (&a.index).into(),
    };
    switch(ctx, plan, flags).await
}

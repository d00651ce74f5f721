//! `wheelgate promote`: point production at a vetted staging version.

use anyhow::{Context, Result};
use wheelgate_core::promote;

use super::switch::{switch, IndexArgs, SwitchFlags, Verify};
use super::Ctx;
use crate::exit::ExitStatus;

/// `promote`.
#[derive(Debug, clap::Args)]
#[command(group(clap::ArgGroup::new("which").required(true).args(["variants", "all"])))]
pub struct Args {
    /// Release.
    #[arg(long)]
    pub release: String,
    /// Variant to promote (repeat for several).
    #[arg(long = "variant", value_name = "VARIANT")]
    pub variants: Vec<String>,
    /// Every variant of the release, all-or-nothing.
    #[arg(long)]
    pub all: bool,
    /// Staging version (default: the newest vetted one of each variant).
    #[arg(long)]
    pub version: Option<u64>,
    /// Refuse unless production serves this version now (compare-and-swap).
    #[arg(long, value_name = "M")]
    pub expect_current: Option<u64>,
    /// Show the plan and the diff, change nothing.
    #[arg(long)]
    pub dry_run: bool,
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

/// Run `promote`.
pub async fn run(ctx: &Ctx<'_>, a: &Args) -> Result<ExitStatus> {
    let opts = promote::PromoteOptions {
        release: a.release.clone(),
        variants: if a.all {
            Vec::new()
        } else {
            a.variants.clone()
        },
        version: a.version,
        expect_current: a.expect_current,
    };
    // A refusal (not vetted, stale --expect-current) is history too, unless this is a dry run.
    let plan = if a.dry_run {
        promote::plan_promote(ctx.client, ctx.catalog, &opts).await
    } else {
        let by = promote::Requester {
            actor: ctx.actor(),
            reason: a.reason.clone(),
            wait: Default::default(),
        };
        promote::plan_promote_recorded(ctx.client, ctx.catalog, &opts, &by).await
    }
    .with_context(|| format!("promote of release {} failed", a.release))?;
    let flags = SwitchFlags {
        dry_run: a.dry_run,
        yes: a.yes,
        reason: a.reason.clone(),
        verify: a.verify.into(),
        index: (&a.index).into(),
    };
    switch(ctx, plan, flags).await
}

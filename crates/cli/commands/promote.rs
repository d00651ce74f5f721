//! `wheelgate promote`: point production at a vetted staging version.

use anyhow::{Context, Result};
use wheelgate_core::promote;

use super::switch::{switch, SwitchArgs};
use super::Ctx;
use crate::exit::ExitStatus;

/// `promote`.
#[derive(Debug, clap::Args)]
#[command(group(clap::ArgGroup::new("which").required(true).args(["variants", "all"])))]
pub struct Args {
    /// Release, e.g. 3.0 or 3.5-EA2 (as in the catalog).
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
    #[command(flatten)]
    pub switch: SwitchArgs,
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
        diff: super::switch::diff_timing(&a.switch, a.dry_run),
        cache: ctx.cache.clone(),
    };
    // A refusal (not vetted, stale --expect-current) is history too, unless this is a dry run.
    let plan = if a.dry_run {
        promote::plan_promote(ctx.client, ctx.catalog, &opts).await
    } else {
        let by = promote::Requester {
            actor: ctx.actor(),
            reason: a.switch.reason.clone(),
            wait: Default::default(),
        };
        promote::plan_promote_recorded(ctx.client, ctx.catalog, &opts, &by).await
    }
    .with_context(|| format!("promote of release {} failed", a.release))?;
    let flags = a.switch.flags(a.dry_run);
    switch(ctx, plan, flags).await
}

//! What `promote` and `rollback` share: the verification flag, the plan rendering, the
//! confirmation and the switch itself.

use std::io::Write;

use anyhow::{Context, Result};
use clap::ValueEnum;
use wheelgate_core::promote::{self, SwitchPlan, SwitchReport, VerifyScope};

use super::Ctx;
use crate::exit::ExitStatus;
use crate::output::{self, Printer};

/// How much of the production index `promote`/`rollback` read back after the switch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Verify {
    /// The root page, every project page the switch changes, and a sample of 8 others.
    Changed,
    /// The root page and every project page (seconds for hundreds of projects).
    Full,
}

impl From<Verify> for VerifyScope {
    fn from(v: Verify) -> Self {
        match v {
            Verify::Changed => Self::Changed,
            Verify::Full => Self::Full,
        }
    }
}

/// The flags `promote` and `rollback` share.
pub struct SwitchFlags {
    /// Show the plan only.
    pub dry_run: bool,
    /// No confirmation.
    pub yes: bool,
    /// For the ledger.
    pub reason: Option<String>,
    /// Read-back scope.
    pub verify: VerifyScope,
}

/// Show the plan, confirm, switch, verify, render.
pub async fn switch(ctx: &Ctx<'_>, plan: SwitchPlan, flags: SwitchFlags) -> Result<ExitStatus> {
    let SwitchFlags {
        dry_run,
        yes,
        reason,
        verify,
    } = flags;
    let what = plan.kind.to_string();
    render_plan(&ctx.out, &plan, dry_run)?;
    if dry_run {
        return Ok(ExitStatus::Success);
    }
    if plan.is_noop() {
        ctx.out
            .note("production already serves these versions: nothing to do");
        if ctx.out.is_json() {
            ctx.out.json(
                &serde_json::json!({"kind": what, "release": plan.release, "changed": false}),
            )?;
        }
        return Ok(ExitStatus::Success);
    }
    let does = format!("{what} changes what customers get");
    if !yes && !ctx.confirmed(&does, &format!("{what} as shown above?"))? {
        ctx.out.note("aborted, nothing changed");
        return Ok(ExitStatus::Usage);
    }
    let opts = promote::ApplyOptions {
        actor: ctx.actor(),
        reason,
        wait: Default::default(),
        verify_timeout: std::time::Duration::from_secs(15),
        verify,
    };
    let report = promote::apply(ctx.client, ctx.catalog, &plan, &opts)
        .await
        .with_context(|| format!("{what} of release {} failed", plan.release))?;
    render_switched(&ctx.out, &report)?;
    Ok(ExitStatus::Success)
}

/// The plan of a promote/rollback (text; JSON only for a dry run, otherwise the result is).
fn render_plan(out: &Printer, p: &SwitchPlan, dry_run: bool) -> Result<()> {
    if out.is_json() {
        return if dry_run { out.json(p) } else { Ok(()) };
    }
    let mut o = out.stdout();
    writeln!(
        o,
        "{} of release {}{}",
        p.kind,
        p.release,
        output::dry_run_note(dry_run)
    )?;
    for s in &p.switches {
        writeln!(
            o,
            "  {}: production {} → version {}",
            s.variant,
            output::version(s.from_version),
            s.to_version
        )?;
        output::write_diff(&mut o, &s.diff, "    ")?;
    }
    Ok(())
}

/// The result of a promote/rollback.
fn render_switched(out: &Printer, r: &SwitchReport) -> Result<()> {
    if out.is_json() {
        return out.json(r);
    }
    let mut o = out.stdout();
    for s in &r.switches {
        let pages = r.pages_checked.get(&s.variant).copied().unwrap_or(0);
        let scope = match r.verify {
            VerifyScope::Full => format!("root and all {pages} project pages"),
            VerifyScope::Changed => {
                format!("root and {pages} project pages: the changed ones and a sample")
            }
        };
        writeln!(
            o,
            "{} {}: production now serves version {} (was {}); verified at {} ({scope})",
            r.kind,
            s.variant,
            s.to_version,
            output::version(s.from_version),
            s.index_url.as_deref().unwrap_or("-")
        )?;
    }
    Ok(())
}

//! `wheelgate init`: create or reconcile every Pulp object of a release.

use std::io::Write;

use anyhow::{Context, Result};
use wheelgate_core::init::{self, Action, InitReport};

use super::Ctx;
use crate::exit::ExitStatus;
use crate::output::Printer;

/// `init`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Release, e.g. 3.0 or 3.5-EA2 (as in the catalog).
    #[arg(long)]
    pub release: String,
    /// Show the plan, change nothing.
    #[arg(long)]
    pub dry_run: bool,
}

/// Run `init`.
pub async fn run(ctx: &Ctx<'_>, a: &Args) -> Result<ExitStatus> {
    let opts = init::InitOptions {
        release: a.release.clone(),
        dry_run: a.dry_run,
        wait: Default::default(),
    };
    let report = init::init(ctx.client, ctx.catalog, &opts)
        .await
        .with_context(|| format!("init of release {} failed", a.release))?;
    render(&ctx.out, &report)?;
    Ok(ExitStatus::Success)
}

fn render(out: &Printer, r: &InitReport) -> Result<()> {
    if out.is_json() {
        return out.json(r);
    }
    let mut o = out.stdout();
    let verb = if r.dry_run {
        " (dry run: nothing changed)"
    } else {
        ""
    };
    writeln!(o, "init release {}{verb}", r.release)?;
    for i in &r.items {
        let action = match &i.action {
            Action::Create => {
                if r.dry_run {
                    "would create".to_owned()
                } else {
                    "created".to_owned()
                }
            }
            Action::Update(c) => format!(
                "{} ({})",
                if r.dry_run { "would update" } else { "updated" },
                c.join("; ")
            ),
            Action::Unchanged => "unchanged".to_owned(),
        };
        let path = i
            .base_path
            .as_deref()
            .map(|p| format!(" at {p}"))
            .unwrap_or_default();
        writeln!(
            o,
            "  {:<16} {:<24} {}{path}: {action}",
            i.variant,
            i.kind.to_string(),
            i.name
        )?;
    }
    let n = r.changes();
    writeln!(
        o,
        "{}",
        if n == 0 {
            "everything up to date".to_owned()
        } else {
            crate::output::plural(n, "change")
        }
    )?;
    drop(o);
    for f in &r.findings {
        out.finding(f, Some(!r.dry_run));
    }
    Ok(())
}

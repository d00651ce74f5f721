//! `wheelgate history`: every vet, promote, rollback and prune of a release.

use std::io::Write;

use anyhow::{Context, Result};
use wheelgate_core::ledger::{Event, EventKind, Outcome};
use wheelgate_core::promote;

use super::Ctx;
use crate::exit::ExitStatus;
use crate::output::Printer;

/// `history`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Release, e.g. 3.0 or 3.5-EA2 (as in the catalog).
    #[arg(long)]
    pub release: String,
    /// Only this variant.
    #[arg(long)]
    pub variant: Option<String>,
}

/// Run `history`.
pub async fn run(ctx: &Ctx<'_>, a: &Args) -> Result<ExitStatus> {
    let events = promote::history(
        ctx.client,
        ctx.catalog,
        &a.release,
        a.variant.as_deref(),
        ctx.cache.as_ref(),
    )
    .await
    .with_context(|| format!("history of release {} failed", a.release))?;
    render(&ctx.out, &a.release, &events)?;
    Ok(ExitStatus::Success)
}

fn render(out: &Printer, release: &str, events: &[Event]) -> Result<()> {
    if out.is_json() {
        return out.json(&serde_json::json!({"release": release, "events": events}));
    }
    let mut o = out.stdout();
    writeln!(o, "history of release {release}")?;
    for e in events {
        let prune = e.kind == EventKind::Prune;
        let change = match e.from_version {
            Some(f) => format!("{f} → {}", e.to_version),
            None if e.kind == EventKind::Vet => format!("version {}", e.to_version),
            None if prune => "-".to_owned(),
            None => format!("- → {}", e.to_version),
        };
        // Why a prune deleted what it did, why a promote was refused.
        let explains = prune || e.outcome == Outcome::Refused;
        let detail = match (&e.detail, explains) {
            (Some(d), true) => format!(" — {d}"),
            _ => String::new(),
        };
        writeln!(
            o,
            "  {}  {:<8} {:<16} {:<10} {:<13} {}{}{detail}",
            e.time,
            e.kind.to_string(),
            e.variant,
            change,
            e.outcome.to_string(),
            e.actor,
            e.reason
                .as_deref()
                .map(|r| format!(" — {r}"))
                .unwrap_or_default()
        )?;
    }
    Ok(())
}

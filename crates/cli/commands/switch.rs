//! What `promote` and `rollback` share: the verification flag, the plan rendering, the
//! confirmation and the switch itself.

use std::io::Write;

use anyhow::{Context, Result};
use clap::ValueEnum;
use wheelgate_core::customer::{CustomerAccess, CustomerFlags};
use wheelgate_core::promote::{self, DiffTiming, SwitchPlan, SwitchReport, VerifyScope};

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

/// Where the read-back reads the production index: the customer path. Flags win over the
/// catalog's `[customer]` section; with neither, the Pulp connection's `--cert/--key/--ca-bundle`
/// are used.
#[derive(Debug, Clone, clap::Args)]
#[command(next_help_heading = "Customer path (how the index is read back)")]
pub struct IndexArgs {
    /// The host customers use, scheme://host[:port] [default: catalog [customer] index_host, else
    /// the distribution's base_url from Pulp].
    #[arg(long, value_name = "URL", value_parser = wheelgate_core::customer::parse_index_host)]
    pub index_host: Option<url::Url>,
    /// Client certificate (PEM with the key, or with --index-key) for the index host.
    #[arg(long, value_name = "PATH")]
    pub index_cert: Option<std::path::PathBuf>,
    /// Key of --index-cert, when not in the same file.
    #[arg(long, value_name = "PATH", requires = "index_cert")]
    pub index_key: Option<std::path::PathBuf>,
    /// CA bundle (PEM) to trust for the index host.
    #[arg(long, value_name = "PATH")]
    pub index_ca_bundle: Option<std::path::PathBuf>,
}

impl From<&IndexArgs> for CustomerFlags {
    fn from(a: &IndexArgs) -> Self {
        Self {
            index_host: a.index_host.clone(),
            client_cert: a.index_cert.clone(),
            client_key: a.index_key.clone(),
            ca_bundle: a.index_ca_bundle.clone(),
        }
    }
}

/// The options `promote` and `rollback` share.
#[derive(Debug, clap::Args)]
pub struct SwitchArgs {
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

impl SwitchArgs {
    /// The flags of one run (`dry_run` only promote has).
    pub fn flags(&self, dry_run: bool) -> SwitchFlags {
        SwitchFlags {
            dry_run,
            yes: self.yes,
            reason: self.reason.clone(),
            verify: self.verify.into(),
            index: (&self.index).into(),
        }
    }
}

/// When the diff is worked out: before anything changes when it is shown to decide on (a dry
/// run, a confirmation); with the switch when `--yes` already decided, so customers get the
/// new version sooner (the plan is then printed with the result).
pub fn diff_timing(a: &SwitchArgs, dry_run: bool) -> DiffTiming {
    if a.yes && !dry_run {
        DiffTiming::WithSwitch
    } else {
        DiffTiming::Planned
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
    /// The customer path for the read-back.
    pub index: CustomerFlags,
}

/// Show the plan, confirm, switch, verify, render.
pub async fn switch(ctx: &Ctx<'_>, plan: SwitchPlan, flags: SwitchFlags) -> Result<ExitStatus> {
    let SwitchFlags {
        dry_run,
        yes,
        reason,
        verify,
        index,
    } = flags;
    let what = plan.kind.to_string();
    // A plan whose diffs come with the switch is printed with the result.
    let shown = plan.diffs_known();
    if shown {
        render_plan(&ctx.out, &plan.switches, &plan, dry_run)?;
    }
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
    // A customer path that cannot work (e.g. an X.509 v1 certificate) fails before anything
    // changes.
    let verify_timeout = std::time::Duration::from_secs(15);
    let customer = CustomerAccess::resolve(&index, ctx.catalog, ctx.client.config())
        .connect(verify_timeout)
        .with_context(|| format!("{what} of release {} refused", plan.release))?;
    let does = format!("{what} changes what customers get");
    if !yes && !ctx.confirmed(&does, &format!("{what} as shown above?"))? {
        ctx.out.note("aborted, nothing changed");
        return Ok(ExitStatus::Usage);
    }
    let opts = promote::ApplyOptions {
        actor: ctx.actor(),
        reason,
        wait: Default::default(),
        verify_timeout,
        verify,
        customer,
        cache: ctx.cache.clone(),
    };
    let report = promote::apply(ctx.client, ctx.catalog, &plan, &opts)
        .await
        .with_context(|| format!("{what} of release {} failed", plan.release))?;
    if !shown {
        render_plan(&ctx.out, &report.switches, &plan, dry_run)?;
    }
    render_switched(&ctx.out, &report)?;
    Ok(ExitStatus::Success)
}

/// The plan of a promote/rollback (text; JSON only for a dry run, otherwise the result is),
/// with the diffs of `switches` (the plan's, or the report's when they came with the switch).
fn render_plan(
    out: &Printer,
    switches: &[promote::Switch],
    p: &SwitchPlan,
    dry_run: bool,
) -> Result<()> {
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
    for s in switches {
        writeln!(
            o,
            "  {}: production {} → version {}",
            s.variant,
            output::version(s.from_version),
            s.to_version
        )?;
        if let Some(d) = &s.diff {
            output::write_diff(&mut o, d, "    ")?;
        }
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

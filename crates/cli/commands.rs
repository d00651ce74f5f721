//! One function per command: args → options → one library call → render.

use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{Context, Result};
use pulp_client::{ConnectionSettings, Secret};
use wheelgate_core::connection::{self, ConnectionArgs};
use wheelgate_core::{diff, init, promote, prune, status, upload, vet, Catalog};

use crate::args::{Cli, Command, Output};
use crate::render;

fn connection_args(cli: &Cli) -> ConnectionArgs {
    let p = &cli.pulp;
    ConnectionArgs {
        settings: ConnectionSettings {
            base_url: p.base_url.clone(),
            api_root: p.api_root.clone(),
            domain: p.domain.clone(),
            username: p.username.clone(),
            password: p.password.clone().map(Secret::new),
            cert: p.cert.clone(),
            key: p.key.clone(),
            ca_bundle: p.ca_bundle.clone(),
            verify_ssl: p.no_verify_ssl.then_some(false),
            ..Default::default()
        },
        profile: p.profile.clone(),
        pulp_cli_config: p.pulp_cli_config.clone(),
    }
}

fn load_catalog(cli: &Cli) -> Result<Catalog> {
    let path = Catalog::locate(cli.catalog.as_deref()).map_err(wheelgate_core::Error::from)?;
    Ok(Catalog::load(&path).map_err(wheelgate_core::Error::from)?)
}

/// Run the command.
pub async fn run(cli: &Cli) -> Result<ExitCode> {
    let catalog = load_catalog(cli)?;
    let client = connection::connect(&connection_args(cli), Some(&catalog))?;
    let result = dispatch(cli, &catalog, &client).await;
    // Close the session so it does not linger in Pulp's session table; never worth failing for.
    if let Err(e) = client.logout().await {
        tracing::debug!(error = %e, "could not end the Pulp session");
    }
    result
}

async fn dispatch(
    cli: &Cli,
    catalog: &Catalog,
    client: &pulp_client::PulpClient,
) -> Result<ExitCode> {
    match &cli.command {
        Command::Init(a) => {
            let opts = init::InitOptions {
                release: a.release.clone(),
                dry_run: a.dry_run,
                wait: Default::default(),
            };
            let report = init::init(client, catalog, &opts)
                .await
                .with_context(|| format!("init of release {} failed", a.release))?;
            render::init(cli.output, &report)?;
        }
        Command::Upload(a) => {
            let mut opts =
                upload::UploadOptions::new(catalog, &a.release, &a.variant, a.paths.clone());
            opts.build_id = a.build_id.clone();
            if let Some(j) = a.jobs {
                opts.jobs = j;
            }
            if let Some(t) = a.chunk_threshold {
                opts.chunk_threshold = t;
            }
            if let Some(s) = a.chunk_size {
                opts.chunk_size = s;
            }
            let show_progress = cli.output == Output::Text && !cli.quiet;
            let reporter: Arc<dyn upload::UploadReporter> = if show_progress {
                Arc::new(render::ProgressReporter::new())
            } else {
                Arc::new(upload::Silent)
            };
            let report = upload::upload(client, catalog, &opts, reporter.clone())
                .await
                .with_context(|| format!("upload to {} {} failed", a.release, a.variant))?;
            drop(reporter);
            render::upload(cli.output, &report)?;
        }
        Command::Status(a) => {
            let report = status::status(client, catalog, &a.release)
                .await
                .with_context(|| format!("status of release {} failed", a.release))?;
            render::status(cli.output, &report)?;
        }
        Command::Diff(a) => {
            let report = diff::diff_versions(client, catalog, &a.release, &a.variant, a.from, a.to)
                .await
                .with_context(|| format!("diff of {} {} failed", a.release, a.variant))?;
            render::diff(cli.output, &report)?;
        }
        Command::Vet(a) => {
            let opts = vet::VetOptions {
                release: a.release.clone(),
                variant: a.variant.clone(),
                version: a.version,
                actor: actor(client),
                wait: Default::default(),
            };
            let report = vet::vet(client, catalog, &opts)
                .await
                .with_context(|| format!("vet of {} {} failed", a.release, a.variant))?;
            render::vet(cli.output, &report)?;
            if !report.passed {
                return Ok(ExitCode::from(3));
            }
        }
        Command::Promote(a) => {
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
            let plan = promote::plan_promote(client, catalog, &opts)
                .await
                .with_context(|| format!("promote of release {} failed", a.release))?;
            let flags = SwitchFlags {
                dry_run: a.dry_run,
                yes: a.yes,
                reason: a.reason.clone(),
                verify: a.verify.into(),
            };
            return switch(cli, client, catalog, plan, flags).await;
        }
        Command::Rollback(a) => {
            let plan = promote::plan_rollback(client, catalog, &a.release, &a.variant, a.to)
                .await
                .with_context(|| format!("rollback of {} {} failed", a.release, a.variant))?;
            let flags = SwitchFlags {
                dry_run: false,
                yes: a.yes,
                reason: a.reason.clone(),
                verify: a.verify.into(),
            };
            return switch(cli, client, catalog, plan, flags).await;
        }
        Command::History(a) => {
            let events = promote::history(client, catalog, &a.release, a.variant.as_deref())
                .await
                .with_context(|| format!("history of release {} failed", a.release))?;
            render::history(cli.output, &a.release, &events)?;
        }
        Command::Prune(a) => return prune_command(cli, client, catalog, a).await,
    }
    Ok(ExitCode::SUCCESS)
}

/// Who is acting, for the ledger: `WHEELGATE_ACTOR`, else the Pulp user (or login) at this host.
fn actor(client: &pulp_client::PulpClient) -> String {
    let explicit = std::env::var("WHEELGATE_ACTOR").ok();
    wheelgate_core::actor::actor(explicit.as_deref(), &client.config().auth)
}

async fn prune_command(
    cli: &Cli,
    client: &pulp_client::PulpClient,
    catalog: &Catalog,
    a: &crate::args::PruneArgs,
) -> Result<ExitCode> {
    let opts = prune::PruneOptions {
        release: a.release.clone(),
        variant: a.variant.clone(),
        keep_latest: a.keep_latest,
    };
    let failed = || format!("prune of {} {} failed", a.release, a.variant);
    let plan = prune::plan_prune(client, catalog, &opts)
        .await
        .with_context(failed)?;
    render::prune_plan(cli.output, &plan, a.dry_run)?;
    if a.dry_run || plan.delete.is_empty() {
        if plan.delete.is_empty() {
            render::note("nothing to delete");
        }
        return Ok(ExitCode::SUCCESS);
    }
    if !a.yes
        && !confirmed(
            cli,
            "prune deletes staging versions",
            "delete these versions?",
        )?
    {
        render::note("aborted, nothing changed");
        return Ok(ExitCode::from(2));
    }
    let report = prune::apply_prune(
        client,
        catalog,
        &opts,
        &plan,
        &actor(client),
        a.reason.clone(),
        &Default::default(),
    )
    .await
    .with_context(failed)?;
    render::pruned(cli.output, &report)?;
    Ok(ExitCode::SUCCESS)
}

/// Ask on a terminal; refuse (usage error, saying `what_it_does`) when there is none or the
/// output is JSON.
fn confirmed(cli: &Cli, what_it_does: &str, question: &str) -> Result<bool> {
    use std::io::IsTerminal;
    if !std::io::stdin().is_terminal() || cli.output == Output::Json {
        return Err(wheelgate_core::Error::Usage(format!(
            "{what_it_does}: confirm with --yes (not on a terminal)"
        ))
        .into());
    }
    render::confirm(question)
}

/// The flags `promote` and `rollback` share.
struct SwitchFlags {
    dry_run: bool,
    yes: bool,
    reason: Option<String>,
    verify: promote::VerifyScope,
}

async fn switch(
    cli: &Cli,
    client: &pulp_client::PulpClient,
    catalog: &Catalog,
    plan: promote::SwitchPlan,
    flags: SwitchFlags,
) -> Result<ExitCode> {
    let SwitchFlags {
        dry_run,
        yes,
        reason,
        verify,
    } = flags;
    let what = plan.kind.to_string();
    render::plan(cli.output, &plan, dry_run)?;
    if dry_run {
        return Ok(ExitCode::SUCCESS);
    }
    if plan.is_noop() {
        render::note("production already serves these versions: nothing to do");
        if cli.output == Output::Json {
            render::json_value(
                &serde_json::json!({"kind": what, "release": plan.release, "changed": false}),
            )?;
        }
        return Ok(ExitCode::SUCCESS);
    }
    let does = format!("{what} changes what customers get");
    if !yes && !confirmed(cli, &does, &format!("{what} as shown above?"))? {
        render::note("aborted, nothing changed");
        return Ok(ExitCode::from(2));
    }
    let opts = promote::ApplyOptions {
        actor: actor(client),
        reason,
        wait: Default::default(),
        verify_timeout: std::time::Duration::from_secs(15),
        verify,
    };
    let report = promote::apply(client, catalog, &plan, &opts)
        .await
        .with_context(|| format!("{what} of release {} failed", plan.release))?;
    render::switched(cli.output, &report)?;
    Ok(ExitCode::SUCCESS)
}

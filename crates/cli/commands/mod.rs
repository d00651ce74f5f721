//! One module per command: its arguments, its call into the library, its rendering.
//! This module holds what they share: the context (catalog, Pulp client, printer), the
//! connection flags turned into settings, the ledger actor and confirmation prompts.

pub mod client_cert;
pub mod client_config;
pub mod diff;
pub mod front_config;
pub mod history;
pub mod init;
pub mod mirror;
pub mod promote;
pub mod prune;
pub mod rollback;
pub mod status;
mod switch;
pub mod upload;
pub mod vet;

use anyhow::Result;
use pulp_client::{ConnectionSettings, PulpClient, Secret};
use wheelgate_core::cache::Cache;
use wheelgate_core::connection::{self, ConnectionArgs};
use wheelgate_core::Catalog;

use crate::cli::{Cli, Command};
use crate::exit::ExitStatus;
use crate::output::Printer;

/// What every command gets.
pub struct Ctx<'a> {
    /// The catalog.
    pub catalog: &'a Catalog,
    /// The Pulp client (logged in on first use).
    pub client: &'a PulpClient,
    /// Output.
    pub out: Printer,
    /// The cache of version changes and ledger states (`None`: `--no-cache`, or no cache
    /// directory).
    pub cache: Option<Cache>,
}

impl Ctx<'_> {
    /// Who is acting, for the ledger: `WHEELGATE_ACTOR`, else the Pulp user (or login) at this
    /// host.
    pub fn actor(&self) -> String {
        let explicit = std::env::var("WHEELGATE_ACTOR").ok();
        wheelgate_core::actor::actor(explicit.as_deref(), &self.client.config().auth)
    }

    /// Ask on a terminal; refuse (usage error, saying `what_it_does`) when there is none or
    /// the output is JSON.
    pub fn confirmed(&self, what_it_does: &str, question: &str) -> Result<bool> {
        if !self.out.can_prompt() {
            return Err(wheelgate_core::Error::Usage(format!(
                "{what_it_does}: confirm with --yes (not on a terminal)"
            ))
            .into());
        }
        self.out.confirm(question)
    }
}

fn connection_args(cli: &Cli) -> ConnectionArgs {
    let p = &cli.pulp;
    ConnectionArgs {
        settings: ConnectionSettings {
            base_url: p.base_url.clone(),
            api_root: p.api_root.clone(),
            domain: p.domain.clone(),
            username: p.username.clone(),
            password: p.password.clone().map(Secret::new),
            token: p.token.clone().map(Secret::new),
            client_id: p.client_id.clone(),
            client_secret: p.client_secret.clone().map(Secret::new),
            token_url: p.token_url.clone(),
            cert: p.cert.clone(),
            key: p.key.clone(),
            ca_bundle: p.ca_bundle.clone(),
            verify_ssl: p.no_verify_ssl.then_some(false),
            timeout: p.timeout,
            ..Default::default()
        },
        profile: p.profile.clone(),
        pulp_cli_config: p.pulp_cli_config.clone(),
    }
}

/// The cache: none with `--no-cache` (or `WHEELGATE_NO_CACHE`); else `--cache-dir` (or
/// `WHEELGATE_CACHE_DIR`), else `$XDG_CACHE_HOME/wheelgate`, else `$HOME/.cache/wheelgate`,
/// else none. Relative or empty `XDG_CACHE_HOME`/`HOME` values are ignored (the XDG rule).
fn cache(cli: &Cli) -> Option<Cache> {
    if cli.no_cache {
        return None;
    }
    let absolute =
        |v: std::ffi::OsString| Some(std::path::PathBuf::from(v)).filter(|p| p.is_absolute());
    let dir = cli
        .cache_dir
        .clone()
        .filter(|d| !d.as_os_str().is_empty())
        .or_else(|| {
            std::env::var_os("XDG_CACHE_HOME")
                .and_then(absolute)
                .map(|d| d.join("wheelgate"))
        })
        .or_else(|| {
            std::env::var_os("HOME")
                .and_then(absolute)
                .map(|h| h.join(".cache").join("wheelgate"))
        })?;
    tracing::debug!(dir = %dir.display(), "cache");
    Some(Cache::new(dir))
}

fn load_catalog(cli: &Cli) -> Result<Catalog> {
    let path = Catalog::locate(cli.catalog.as_deref()).map_err(wheelgate_core::Error::from)?;
    Ok(Catalog::load(&path).map_err(wheelgate_core::Error::from)?)
}

/// Run the command.
pub async fn run(cli: &Cli, out: Printer) -> Result<ExitStatus> {
    // Needs neither the catalog nor Pulp.
    if let Command::ClientCert(a) = &cli.command {
        return client_cert::run(&out, a);
    }
    let catalog = load_catalog(cli)?;
    // Customer side: reads the index, needs no Pulp connection.
    if let Command::Mirror(a) = &cli.command {
        return mirror::run(&catalog, &out, a).await;
    }
    // Generated from the catalog alone.
    if let Command::FrontConfig(a) = &cli.command {
        return front_config::run(&catalog, &out, a);
    }
    let client = connection::connect(&connection_args(cli), Some(&catalog))?;
    let ctx = Ctx {
        catalog: &catalog,
        client: &client,
        out,
        cache: cache(cli),
    };
    let result = dispatch(&ctx, &cli.command).await;
    // Close the session so it does not linger in Pulp's session table; never worth failing for.
    if let Err(e) = client.logout().await {
        tracing::debug!(error = %e, "could not end the Pulp session");
    }
    result
}

async fn dispatch(ctx: &Ctx<'_>, command: &Command) -> Result<ExitStatus> {
    match command {
        Command::Init(a) => init::run(ctx, a).await,
        Command::Upload(a) => upload::run(ctx, a).await,
        Command::Status(a) => status::run(ctx, a).await,
        Command::Diff(a) => diff::run(ctx, a).await,
        Command::Vet(a) => vet::run(ctx, a).await,
        Command::Promote(a) => promote::run(ctx, a).await,
        Command::Rollback(a) => rollback::run(ctx, a).await,
        Command::History(a) => history::run(ctx, a).await,
        Command::Prune(a) => prune::run(ctx, a).await,
        Command::ClientConfig(a) => client_config::run(ctx, a).await,
        Command::ClientCert(a) => client_cert::run(&ctx.out, a),
        Command::Mirror(a) => mirror::run(ctx.catalog, &ctx.out, a).await,
        Command::FrontConfig(a) => front_config::run(ctx.catalog, &ctx.out, a),
    }
}

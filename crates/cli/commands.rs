//! One function per command: args → options → one library call → render.

use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{Context, Result};
use pulp_client::{ConnectionSettings, Secret};
use wheelgate_core::connection::{self, ConnectionArgs};
use wheelgate_core::{init, status, upload, Catalog};

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
    match &cli.command {
        Command::Init(a) => {
            let opts = init::InitOptions {
                release: a.release.clone(),
                dry_run: a.dry_run,
                wait: Default::default(),
            };
            let report = init::init(&client, &catalog, &opts)
                .await
                .with_context(|| format!("init of release {} failed", a.release))?;
            render::init(cli.output, &report)?;
        }
        Command::Upload(a) => {
            let mut opts =
                upload::UploadOptions::new(&catalog, &a.release, &a.variant, a.paths.clone());
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
            let report = upload::upload(&client, &catalog, &opts, reporter.clone())
                .await
                .with_context(|| format!("upload to {} {} failed", a.release, a.variant))?;
            drop(reporter);
            render::upload(cli.output, &report)?;
        }
        Command::Status(a) => {
            let report = status::status(&client, &catalog, &a.release)
                .await
                .with_context(|| format!("status of release {} failed", a.release))?;
            render::status(cli.output, &report)?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

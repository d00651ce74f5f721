//! Resolving the Pulp connection: flags > environment > catalog `[pulp]` > pulp-cli config.

use std::path::PathBuf;

use pulp_client::{ClientConfig, ConnectionSettings, PulpCliConfig, PulpClient};

use crate::catalog::Catalog;
use crate::error::{Error, Result};

/// What the command line said about the connection (flags, with their `PULP_*` environment
/// fallbacks already applied by the argument parser).
#[derive(Debug, Clone, Default)]
pub struct ConnectionArgs {
    /// Flags and environment.
    pub settings: ConnectionSettings,
    /// `--profile`: a pulp-cli profile.
    pub profile: Option<String>,
    /// pulp-cli config file (default `~/.config/pulp/cli.toml`).
    pub pulp_cli_config: Option<PathBuf>,
}

/// Merge the layers and build the client configuration.
pub fn resolve(args: &ConnectionArgs, catalog: Option<&Catalog>) -> Result<ClientConfig> {
    let catalog_layer = catalog
        .map(|c| ConnectionSettings {
            base_url: c.pulp.base_url.clone(),
            api_root: c.pulp.api_root.clone(),
            domain: c.pulp.domain.clone(),
            verify_ssl: c.pulp.verify_ssl,
            ..Default::default()
        })
        .unwrap_or_default();
    let profile = args
        .profile
        .clone()
        .or_else(|| catalog.and_then(|c| c.pulp.profile.clone()));
    let explicit_file = args.pulp_cli_config.is_some();
    let file = args
        .pulp_cli_config
        .clone()
        .or_else(PulpCliConfig::default_path);
    let cli_layer = match file {
        Some(path) if path.is_file() => PulpCliConfig::load(&path)
            .and_then(|f| f.settings(profile.as_deref()))
            .map_err(pulp_client::ClientError::from)?,
        Some(path) if explicit_file || profile.is_some() => {
            return Err(Error::Usage(format!(
                "pulp-cli config {} not found{}",
                path.display(),
                profile
                    .map(|p| format!(" (needed for profile {p:?})"))
                    .unwrap_or_default()
            )))
        }
        _ => ConnectionSettings::default(),
    };
    let merged = args.settings.clone().or(catalog_layer).or(cli_layer);
    let mut config = merged
        .into_config()
        .map_err(pulp_client::ClientError::from)?;
    config.user_agent = concat!("wheelgate/", env!("CARGO_PKG_VERSION")).to_owned();
    Ok(config)
}

/// Resolve and build a client.
pub fn connect(args: &ConnectionArgs, catalog: Option<&Catalog>) -> Result<PulpClient> {
    let config = resolve(args, catalog)?;
    Ok(PulpClient::new(config).map_err(pulp_client::ClientError::from)?)
}

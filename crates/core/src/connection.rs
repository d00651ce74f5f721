//! Resolving the Pulp connection: flags > environment > catalog `[pulp]` > pulp-cli config.
//!
//! The environment layer is read here, once per command, through pulp-client's
//! [`ConnectionSettings::from_env`] and [`PulpCliSelection::from_env`] (the variable names are
//! the constants in [`pulp_client::config::vars`]); the argument parser reads no `PULP_*`
//! variable itself.

use std::path::PathBuf;

use pulp_client::{ClientConfig, ConnectionSettings, PulpCliConfig, PulpCliSelection, PulpClient};

use crate::catalog::Catalog;
use crate::error::{Error, Result};

/// What the command line said about the connection (flags only).
#[derive(Debug, Clone, Default)]
pub struct ConnectionArgs {
    /// Flags.
    pub settings: ConnectionSettings,
    /// `--profile`: a pulp-cli profile.
    pub profile: Option<String>,
    /// pulp-cli config file (default `~/.config/pulp/cli.toml`).
    pub pulp_cli_config: Option<PathBuf>,
}

/// Merge the layers, with the process environment as the environment layer, and build the
/// client configuration.
pub fn resolve(args: &ConnectionArgs, catalog: Option<&Catalog>) -> Result<ClientConfig> {
    resolve_with_env(args, catalog, |k| std::env::var(k).ok())
}

/// [`resolve`] with the environment read through `env` (for tests).
pub fn resolve_with_env(
    args: &ConnectionArgs,
    catalog: Option<&Catalog>,
    env: impl Fn(&str) -> Option<String>,
) -> Result<ClientConfig> {
    let env_layer = ConnectionSettings::from_env(&env).map_err(pulp_client::ClientError::from)?;
    let catalog_layer = catalog
        .map(|c| ConnectionSettings {
            base_url: c.pulp.base_url.clone(),
            api_root: c.pulp.api_root.clone(),
            domain: c.pulp.domain.clone(),
            verify_ssl: c.pulp.verify_ssl,
            ..Default::default()
        })
        .unwrap_or_default();
    let selection = PulpCliSelection {
        profile: args.profile.clone(),
        path: args.pulp_cli_config.clone(),
    }
    .or(PulpCliSelection::from_env(&env))
    .or(PulpCliSelection {
        profile: catalog.and_then(|c| c.pulp.profile.clone()),
        path: None,
    });
    let profile = selection.profile;
    let explicit_file = selection.path.is_some();
    let file = selection.path.or_else(PulpCliConfig::default_path);
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
    let merged = args
        .settings
        .clone()
        .or(env_layer)
        .or(catalog_layer)
        .or(cli_layer);
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

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use std::time::Duration;

    use pulp_client::{Auth, Secret};

    use super::*;

    fn env<'a>(vars: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
        move |k| {
            vars.iter()
                .find(|(n, _)| *n == k)
                .map(|(_, v)| v.to_string())
        }
    }

    fn no_cli_file() -> ConnectionArgs {
        ConnectionArgs {
            pulp_cli_config: None,
            ..Default::default()
        }
    }

    #[test]
    fn environment_is_a_layer_between_flags_and_the_rest() {
        let vars = [
            ("PULP_BASE_URL", "http://env:1"),
            ("PULP_TOKEN", "env-token"),
            ("PULP_TIMEOUT", "3"),
            ("PULP_SESSION", "false"),
        ];
        let cfg = resolve_with_env(&no_cli_file(), None, env(&vars)).unwrap();
        assert_eq!(cfg.base_url.as_str(), "http://env:1/");
        assert!(matches!(cfg.auth, Auth::Bearer(ref t) if t.expose() == "env-token"));
        assert_eq!(cfg.timeout, Duration::from_secs(3));
        assert!(!cfg.session_login);
        let flags = ConnectionArgs {
            settings: ConnectionSettings {
                base_url: Some("http://flag:2".into()),
                username: Some("u".into()),
                password: Some(Secret::new("p")),
                ..Default::default()
            },
            ..no_cli_file()
        };
        let cfg = resolve_with_env(&flags, None, env(&vars)).unwrap();
        assert_eq!(cfg.base_url.as_str(), "http://flag:2/");
        assert!(matches!(cfg.auth, Auth::Basic { .. }));
    }

    #[test]
    fn oauth2_from_the_environment() {
        let vars = [
            ("PULP_BASE_URL", "http://env:1"),
            ("PULP_CLIENT_ID", "bot"),
            ("PULP_CLIENT_SECRET", "s"),
            ("PULP_TOKEN_URL", "http://sso:3/token"),
        ];
        let cfg = resolve_with_env(&no_cli_file(), None, env(&vars)).unwrap();
        assert!(
            matches!(cfg.auth, Auth::OAuth2(ref o) if o.client_id == "bot" && o.token_url.as_str() == "http://sso:3/token")
        );
    }

    #[test]
    fn pulp_cli_selection_from_the_environment() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("cli.toml");
        std::fs::write(
            &file,
            "[cli]\nbase_url = \"http://main:1\"\n[cli-other]\nbase_url = \"http://other:2\"\n",
        )
        .unwrap();
        let path = file.to_string_lossy().into_owned();
        let vars = [
            ("PULP_CLI_CONFIG", path.as_str()),
            ("PULP_PROFILE", "other"),
        ];
        let cfg = resolve_with_env(&no_cli_file(), None, env(&vars)).unwrap();
        assert_eq!(cfg.base_url.as_str(), "http://other:2/");
        // The flag beats the environment.
        let args = ConnectionArgs {
            profile: Some("nope".into()),
            ..no_cli_file()
        };
        assert!(resolve_with_env(&args, None, env(&vars)).is_err());
    }
}

//! The local Pulp that `make pulp-up` (config/local-pulp/pulp.sh) runs, one per layout.

use std::path::PathBuf;

use pulp_client::{ClientConfig, PulpCliConfig, PulpClient};

/// The layouts the local Pulp runs in: `plain` (`/pulp/api/v3/`) and `hosted`
/// (`/api/pulp/<domain>/api/v3/`, like the hosted service).
pub const LAYOUTS: [&str; 2] = ["plain", "hosted"];

/// Where config/local-pulp/pulp.sh keeps its state: `$WHEELGATE_PULP_AREA`, else
/// `<workspace>/.build/pulp`.
pub fn build_area() -> PathBuf {
    std::env::var_os("WHEELGATE_PULP_AREA")
        .map(PathBuf::from)
        .unwrap_or_else(|| crate::workspace_root().join(".build/pulp"))
}

/// A local Pulp started by `make pulp-up`, read from its pulp-cli config
/// (`<build area>/<layout>/cli.toml`).
pub struct LocalPulp {
    /// `plain` or `hosted`.
    pub layout: String,
    /// The pulp-cli config the local Pulp wrote.
    pub cli_toml: PathBuf,
    /// The connection settings from that config.
    pub config: ClientConfig,
    /// A client for it.
    pub client: PulpClient,
}

impl LocalPulp {
    /// The local Pulp of `layout`; panics, naming `make pulp-up`, when it has none.
    pub fn new(layout: &str) -> Self {
        let cli_toml = build_area().join(layout).join("cli.toml");
        let file = PulpCliConfig::load(&cli_toml).unwrap_or_else(|e| {
            panic!("no local Pulp in the {layout} layout ({e}); run `make pulp-up` first")
        });
        let config = file.settings(None).unwrap().into_config().unwrap();
        let client = PulpClient::new(config.clone()).unwrap();
        Self {
            layout: layout.to_owned(),
            cli_toml,
            config,
            client,
        }
    }
}

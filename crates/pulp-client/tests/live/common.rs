//! Finding the local Pulp and making unique objects.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use pulp_client::{ClientConfig, PulpCliConfig, PulpClient};

/// A local Pulp started by `make pulp-up`.
pub struct LocalPulp {
    pub layout: String,
    pub cli_toml: PathBuf,
    pub config: ClientConfig,
    pub client: PulpClient,
}

/// Where `config/local-pulp/pulp.sh` keeps its state.
pub fn build_area() -> PathBuf {
    std::env::var_os("WHEELGATE_PULP_AREA")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../.build/pulp"))
}

impl LocalPulp {
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

/// A name unique across test runs and tests.
pub fn unique(prefix: &str) -> String {
    static N: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!(
        "{prefix}-{}-{nanos}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::SeqCst)
    )
}

/// A valid wheel with a payload of `payload` pseudo-random bytes.
pub fn wheel(dir: &Path, name: &str, version: &str, payload: u64, seed: u64) -> PathBuf {
    let spec = wheelgate_fixtures::WheelSpec {
        payload_bytes: payload,
        seed,
        ..wheelgate_fixtures::WheelSpec::new(name, version)
    };
    wheelgate_fixtures::write_wheel(&spec, dir).unwrap()
}

pub fn sha256_file(path: &Path) -> String {
    use sha2::Digest;
    let mut h = sha2::Sha256::new();
    let mut f = std::fs::File::open(path).unwrap();
    std::io::copy(&mut f, &mut h).unwrap();
    hex::encode(h.finalize())
}

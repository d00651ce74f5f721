//! The end-to-end sandbox: a unique catalog, the `wheelgate` binary, the local Pulp.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::atomic::{AtomicU64, Ordering};

use pulp_client::{PulpCliConfig, PulpClient};

/// Where `config/local-pulp/pulp.sh` keeps its state.
pub fn build_area() -> PathBuf {
    std::env::var_os("WHEELGATE_PULP_AREA")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join(".build/pulp"))
}

/// A short id unique across runs and tests.
pub fn unique_id() -> String {
    static N: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64;
    let n = N.fetch_add(1, Ordering::SeqCst);
    let mixed =
        nanos ^ (u64::from(std::process::id()) << 40) ^ n.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    format!("{:x}", mixed & 0xffff_ffff_ffff)
}

/// One test's world: a temp dir with a catalog whose product name is unique, so every Pulp
/// object the test makes is its own.
pub struct Sandbox {
    pub dir: tempfile::TempDir,
    pub product: String,
    pub catalog: PathBuf,
    pub cli_toml: PathBuf,
    pub client: PulpClient,
    pub id: String,
}

/// Placeholders for what differs between runs, machines and the two layouts, applied by
/// [`snapshot!`] after [`Sandbox::redact`] (uv's `uv_snapshot!` habit): Pulp URLs and hrefs,
/// UUIDs, times, hashes, durations.
pub const FILTERS: &[(&str, &str)] = &[
    (
        r"http://127\.0\.0\.1:\d+/(?:api/pypi/wheelgate|pypi)/",
        "[PYPI]/",
    ),
    (r"http://127\.0\.0\.1:\d+", "[PULP]"),
    (r"/(?:api/pulp/wheelgate/api/v3|pulp/api/v3)/", "[API]/"),
    (
        r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}",
        "[UUID]",
    ),
    (r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?Z", "[TIME]"),
    (r"\b[0-9a-f]{64}\b", "[SHA256]"),
    (r"sha256=[A-Za-z0-9_-]{43}\b", "sha256=[B64]"),
    (r"\b[0-9a-f]{12}\b", "[HASH]"),
    (r"\b\d+(?:\.\d+)? s\b", "[SECS] s"),
];

/// Snapshot a run's exit code, stdout and stderr (redacted) under `name`, the same for both
/// layouts. `CI=true` makes a missing or different snapshot fail instead of being written.
#[macro_export]
macro_rules! snapshot {
    ($sb:expr, $name:expr, $run:expr) => {
        insta::with_settings!({
            filters => $crate::util::FILTERS.to_vec(),
            omit_expression => true,
        }, {
            insta::assert_snapshot!($name, $sb.redact(&$run));
        })
    };
}

/// What a run printed.
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.stdout).unwrap_or_else(|e| {
            panic!(
                "stdout is not one JSON document ({e}):\n{}\nstderr:\n{}",
                self.stdout, self.stderr
            )
        })
    }

    #[track_caller]
    pub fn success(&self) -> &Self {
        assert_eq!(
            self.code, 0,
            "expected success\nstdout:\n{}\nstderr:\n{}",
            self.stdout, self.stderr
        );
        self
    }

    #[track_caller]
    pub fn code(&self, code: i32) -> &Self {
        assert_eq!(
            self.code, code,
            "expected exit {code}\nstdout:\n{}\nstderr:\n{}",
            self.stdout, self.stderr
        );
        self
    }
}

impl From<Output> for Run {
    fn from(o: Output) -> Self {
        Self {
            code: o.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
        }
    }
}

pub const DEFAULT_ALLOW: &str = r#"["wg-*", "torch", "numpy"]"#;

impl Sandbox {
    pub fn new(layout: &'static str) -> Self {
        Self::with_allow(layout, DEFAULT_ALLOW)
    }

    pub fn with_allow(layout: &'static str, allow: &str) -> Self {
        let cli_toml = build_area().join(layout).join("cli.toml");
        let file = PulpCliConfig::load(&cli_toml).unwrap_or_else(|e| {
            panic!("no local Pulp in the {layout} layout ({e}); run `make pulp-up` first")
        });
        let client = PulpClient::new(file.settings(None).unwrap().into_config().unwrap()).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let id = unique_id();
        let product = format!("t{id}");
        let catalog = dir.path().join("wheelgate.toml");
        std::fs::write(
            &catalog,
            format!(
                r#"product = "{product}"

[variants.cpu-ubi9]
python = ["cp312"]
platforms = ["linux_x86_64", "linux_aarch64"]

[variants."cuda12.9-ubi9"]
python = ["cp312"]
platforms = ["linux_x86_64"]

[variants."rocm6.4-ubi9"]
python = ["cp312"]
platforms = ["linux_x86_64"]

[variants.pure]
python = ["py3"]
platforms = ["any"]

[releases."3.0"]
variants = ["cpu-ubi9", "cuda12.9-ubi9", "rocm6.4-ubi9"]

# Only for the test of a variant whose dependency closure cannot be evaluated.
[releases."1.0-pure"]
variants = ["pure"]

[vet]
external = ["nvidia-*"]

[packages]
allow = {allow}
"#
            ),
        )
        .unwrap();
        Self {
            dir,
            product,
            catalog,
            cli_toml,
            client,
            id,
        }
    }

    /// A `wheelgate` command with the catalog and the local Pulp's pulp-cli config, and no
    /// connection settings from the environment.
    pub fn cmd(&self) -> Command {
        let mut c = Command::new(env!("CARGO_BIN_EXE_wheelgate"));
        for (k, _) in std::env::vars_os() {
            if let Some(k) = k.to_str() {
                if k.starts_with("PULP_") || k.starts_with("WHEELGATE_") {
                    c.env_remove(k);
                }
            }
        }
        c.env("PULP_CLI_CONFIG", &self.cli_toml)
            .env("WHEELGATE_CATALOG", &self.catalog)
            .current_dir(self.dir.path());
        c
    }

    pub fn run(&self, args: &[&str]) -> Run {
        self.cmd().args(args).output().unwrap().into()
    }

    pub fn run_json(&self, args: &[&str]) -> Run {
        let mut a = vec!["--output", "json"];
        a.extend_from_slice(args);
        self.run(&a)
    }

    /// A directory for wheels.
    pub fn wheels_dir(&self, name: &str) -> PathBuf {
        let d = self.dir.path().join(name);
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    /// A unique project name on the allowlist.
    pub fn project(&self, n: usize) -> String {
        format!("wg-{}-{n}", self.id)
    }

    /// Write a valid wheel.
    pub fn wheel(&self, dir: &Path, name: &str, version: &str, tag: &str, payload: u64) -> PathBuf {
        let spec = wheelgate_fixtures::WheelSpec {
            tag: tag.into(),
            payload_bytes: payload,
            seed: seed_of(&format!("{}{name}{version}{tag}{payload}", self.id)),
            ..wheelgate_fixtures::WheelSpec::new(name, version)
        };
        wheelgate_fixtures::write_wheel(&spec, dir).unwrap()
    }

    /// Write a wheel from a spec (seeded per sandbox).
    pub fn wheel_spec(&self, dir: &Path, spec: wheelgate_fixtures::WheelSpec) -> PathBuf {
        let spec = wheelgate_fixtures::WheelSpec {
            seed: seed_of(&format!(
                "{}{}{}{}",
                self.id, spec.name, spec.version, spec.tag
            )),
            ..spec
        };
        wheelgate_fixtures::write_wheel(&spec, dir).unwrap()
    }

    pub fn names(&self, variant: &str) -> (String, String, String) {
        let base = format!("{}-3.0-{variant}", self.product);
        (base.clone(), format!("{base}-test"), base)
    }

    /// (filename, sha256) of everything in a version of a variant's staging repository.
    pub async fn version_files(
        &self,
        variant: &str,
        number: u64,
    ) -> std::collections::BTreeMap<String, String> {
        use futures::TryStreamExt;
        let repo = self
            .client
            .repository_by_name(&self.names(variant).0)
            .await
            .unwrap()
            .unwrap();
        self.client
            .packages(&pulp_client::PackageQuery {
                repository_version: Some(repo.pulp_href.version(number)),
                ..Default::default()
            })
            .await
            .unwrap()
            .map_ok(|p| (p.filename, p.sha256))
            .try_collect()
            .await
            .unwrap()
    }

    /// The latest version number of a variant's staging repository.
    pub async fn latest_version(&self, variant: &str) -> Option<u64> {
        let repo = self
            .client
            .repository_by_name(&self.names(variant).0)
            .await
            .unwrap()?;
        repo.latest_version_href.and_then(|h| h.number())
    }

    pub fn init(&self) {
        self.run(&["init", "--release", "3.0"]).success();
    }

    /// A run as text for a snapshot, with this sandbox's temp dir, product and id replaced.
    pub fn redact(&self, run: &Run) -> String {
        let text = format!(
            "exit code: {}\n----- stdout -----\n{}----- stderr -----\n{}",
            run.code, run.stdout, run.stderr
        );
        let dir = self.dir.path().to_string_lossy();
        // The default actor is <user>@<host>.
        let host = wheelgate_core::actor::host_name();
        text.replace(dir.as_ref(), "[TMP]")
            .replace(&self.product, "[PRODUCT]")
            .replace(&self.id, "[ID]")
            .replace(&format!("@{host}"), "@[HOST]")
    }
}

pub fn seed_of(s: &str) -> u64 {
    // FNV-1a.
    s.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
    })
}

pub fn sha256_file(path: &Path) -> String {
    use sha2::Digest;
    let mut h = sha2::Sha256::new();
    let mut f = std::fs::File::open(path).unwrap();
    std::io::copy(&mut f, &mut h).unwrap();
    hex::encode(h.finalize())
}

/// Generate one test per layout from an async scenario `fn(&'static str)`.
#[macro_export]
macro_rules! both_layouts {
    ($($name:ident),* $(,)?) => {
        mod plain {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name("plain").await;
                }
            )*
        }
        mod hosted {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name("hosted").await;
                }
            )*
        }
    };
}

//! The generic half of the end-to-end sandbox: a temp dir with a catalog under a unique product
//! name, a binary run against the local Pulp without connection settings from the environment,
//! and runs as redacted transcripts for snapshots. The binary's tests add the catalog and the
//! wheelgate-specific helpers (tests/util.rs); the binary's path comes from them, so this crate
//! does not build it.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use pulp_client::PulpClient;
use wheelgate_fixtures::WheelSpec;

use crate::LocalPulp;

/// Placeholders for what differs between runs, machines and the two layouts, for insta's
/// `filters` after [`Sandbox::redact`] (uv's `uv_snapshot!` habit): Pulp URLs and hrefs, UUIDs,
/// times, hashes, durations.
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

/// What a run printed.
pub struct Run {
    /// The exit code (-1 when killed by a signal).
    pub code: i32,
    /// Standard output, lossily decoded.
    pub stdout: String,
    /// Standard error, lossily decoded.
    pub stderr: String,
}

impl Run {
    /// Standard output as one JSON document; panics with both streams when it is not.
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.stdout).unwrap_or_else(|e| {
            panic!(
                "stdout is not one JSON document ({e}):\n{}\nstderr:\n{}",
                self.stdout, self.stderr
            )
        })
    }

    /// Assert exit code 0.
    #[track_caller]
    pub fn success(&self) -> &Self {
        assert_eq!(
            self.code, 0,
            "expected success\nstdout:\n{}\nstderr:\n{}",
            self.stdout, self.stderr
        );
        self
    }

    /// Assert exit code `code`.
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

/// One test's world: a temp dir with a catalog whose product name is unique, so every Pulp
/// object the test makes is its own, and the binary under test.
pub struct Sandbox {
    /// The temp dir (the binary's working directory).
    pub dir: tempfile::TempDir,
    /// `t<id>`, the catalog's product.
    pub product: String,
    /// `<dir>/wheelgate.toml`.
    pub catalog: PathBuf,
    /// The local Pulp's pulp-cli config, passed as `PULP_CLI_CONFIG`.
    pub cli_toml: PathBuf,
    /// A client for the local Pulp, to look behind the binary's back.
    pub client: PulpClient,
    /// This sandbox's [`unique_id`](crate::unique_id).
    pub id: String,
    bin: PathBuf,
    redactions: Vec<(String, String)>,
}

impl Sandbox {
    /// A sandbox running `bin` against the local Pulp of `layout`, with the catalog
    /// `catalog(product)` written to `wheelgate.toml`.
    pub fn new(
        layout: &str,
        bin: impl Into<PathBuf>,
        catalog: impl FnOnce(&str) -> String,
    ) -> Self {
        let LocalPulp {
            cli_toml, client, ..
        } = LocalPulp::new(layout);
        let dir = tempfile::tempdir().unwrap();
        let id = crate::unique_id();
        let product = format!("t{id}");
        let catalog_path = dir.path().join("wheelgate.toml");
        std::fs::write(&catalog_path, catalog(&product)).unwrap();
        Self {
            dir,
            product,
            catalog: catalog_path,
            cli_toml,
            client,
            id,
            bin: bin.into(),
            redactions: Vec::new(),
        }
    }

    /// Also replace `text` by `placeholder` in [`redact`](Self::redact) (after the temp dir,
    /// product and id).
    pub fn redacting(mut self, text: impl Into<String>, placeholder: impl Into<String>) -> Self {
        self.redactions.push((text.into(), placeholder.into()));
        self
    }

    /// A command of the binary with the catalog (`WHEELGATE_CATALOG`), the local Pulp's
    /// pulp-cli config (`PULP_CLI_CONFIG`) and a cache directory in the temp dir
    /// (`WHEELGATE_CACHE_DIR`: [`Sandbox::cache_dir`], never the machine's home cache), no
    /// other `PULP_*`/`WHEELGATE_*` variable from the environment, in the temp dir.
    pub fn cmd(&self) -> Command {
        let mut c = Command::new(&self.bin);
        for (k, _) in std::env::vars_os() {
            if let Some(k) = k.to_str() {
                if k.starts_with("PULP_") || k.starts_with("WHEELGATE_") {
                    c.env_remove(k);
                }
            }
        }
        c.env("PULP_CLI_CONFIG", &self.cli_toml)
            .env("WHEELGATE_CATALOG", &self.catalog)
            .env("WHEELGATE_CACHE_DIR", self.cache_dir())
            .current_dir(self.dir.path());
        c
    }

    /// The binary's cache directory: `<dir>/cache` (made by the binary when it writes).
    pub fn cache_dir(&self) -> PathBuf {
        self.dir.path().join("cache")
    }

    /// Run the binary with `args`.
    pub fn run(&self, args: &[&str]) -> Run {
        self.cmd().args(args).output().unwrap().into()
    }

    /// Run the binary with `--output json` and `args`.
    pub fn run_json(&self, args: &[&str]) -> Run {
        let mut a = vec!["--output", "json"];
        a.extend_from_slice(args);
        self.run(&a)
    }

    /// A directory `name` in the temp dir, created.
    pub fn wheels_dir(&self, name: &str) -> PathBuf {
        let d = self.dir.path().join(name);
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    /// Write a valid wheel with tag `tag` and `payload` bytes whose contents are seeded per
    /// sandbox.
    pub fn wheel(&self, dir: &Path, name: &str, version: &str, tag: &str, payload: u64) -> PathBuf {
        let spec = WheelSpec {
            tag: tag.into(),
            payload_bytes: payload,
            seed: crate::seed_of(&format!("{}{name}{version}{tag}{payload}", self.id)),
            ..WheelSpec::new(name, version)
        };
        crate::write_wheel(dir, &spec)
    }

    /// Write a wheel from a spec, its seed replaced by one per sandbox.
    pub fn wheel_spec(&self, dir: &Path, spec: WheelSpec) -> PathBuf {
        let spec = WheelSpec {
            seed: crate::seed_of(&format!(
                "{}{}{}{}",
                self.id, spec.name, spec.version, spec.tag
            )),
            ..spec
        };
        crate::write_wheel(dir, &spec)
    }

    /// A run as text for a snapshot (exit code, stdout, stderr), with this sandbox's temp dir,
    /// product and id replaced by `[TMP]`, `[PRODUCT]` and `[ID]`, then the
    /// [`redacting`](Self::redacting) pairs.
    pub fn redact(&self, run: &Run) -> String {
        let text = format!(
            "exit code: {}\n----- stdout -----\n{}----- stderr -----\n{}",
            run.code, run.stdout, run.stderr
        );
        let dir = self.dir.path().to_string_lossy();
        let mut text = text
            .replace(dir.as_ref(), "[TMP]")
            .replace(&self.product, "[PRODUCT]")
            .replace(&self.id, "[ID]");
        for (from, to) in &self.redactions {
            text = text.replace(from, to);
        }
        text
    }
}

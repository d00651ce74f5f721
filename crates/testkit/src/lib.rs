//! wheelgate's test kit, shared by the e2e tests of the binary, pulp-client's live tests and
//! wheelgate-core's real-Pulp tests: where the local Pulp of a layout is ([`LocalPulp`]), unique
//! names ([`unique_id`], [`unique`]), synthetic wheels ([`wheel`], [`write_wheel`]), file hashes,
//! the per-test [`Sandbox`], the TLS [`front`] in front of Pulp and container [`image`]s.
//!
//! Test code: a missing local Pulp or an I/O failure panics with a message saying what to do.
#![allow(clippy::unwrap_used, clippy::expect_used)]

pub mod front;
pub mod image;
mod pulp;
mod sandbox;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;

pub use pulp::{build_area, LocalPulp, LAYOUTS};
pub use sandbox::{Run, Sandbox, FILTERS};
pub use wheelgate_fixtures::WheelSpec;

/// The workspace root: the nearest directory above this crate whose `Cargo.toml` declares
/// `[workspace]` (the same for every crate's tests, wherever cargo runs them from).
pub fn workspace_root() -> &'static Path {
    static ROOT: OnceLock<PathBuf> = OnceLock::new();
    ROOT.get_or_init(|| {
        let here = Path::new(env!("CARGO_MANIFEST_DIR"));
        here.ancestors()
            .find(|dir| {
                std::fs::read_to_string(dir.join("Cargo.toml"))
                    .is_ok_and(|toml| toml.lines().any(|l| l.trim() == "[workspace]"))
            })
            .unwrap_or_else(|| panic!("no workspace Cargo.toml above {}", here.display()))
            .to_path_buf()
    })
}

/// A short hex id unique across runs, processes and tests (time, process id and a counter).
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

/// A name unique across runs and tests: `<prefix>-<unique_id>`.
pub fn unique(prefix: &str) -> String {
    format!("{prefix}-{}", unique_id())
}

/// A stable seed for wheel contents from a string (FNV-1a).
pub fn seed_of(s: &str) -> u64 {
    s.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
    })
}

/// The lowercase hex sha256 of a file.
pub fn sha256_file(path: &Path) -> String {
    use sha2::Digest;
    let mut h = sha2::Sha256::new();
    let mut f =
        std::fs::File::open(path).unwrap_or_else(|e| panic!("cannot open {}: {e}", path.display()));
    std::io::copy(&mut f, &mut h).unwrap();
    hex::encode(h.finalize())
}

/// Write the wheel `spec` describes into `dir`; its path.
pub fn write_wheel(dir: &Path, spec: &WheelSpec) -> PathBuf {
    wheelgate_fixtures::write_wheel(spec, dir).unwrap_or_else(|e| {
        panic!(
            "cannot write {} into {}: {e}",
            spec.filename(),
            dir.display()
        )
    })
}

/// Write a valid wheel of `name` `version` (default tag) with `payload` pseudo-random bytes
/// drawn from `seed`; its path.
pub fn wheel(dir: &Path, name: &str, version: &str, payload: u64, seed: u64) -> PathBuf {
    write_wheel(
        dir,
        &WheelSpec {
            payload_bytes: payload,
            seed,
            ..WheelSpec::new(name, version)
        },
    )
}

/// Generate one `#[tokio::test]` per layout (modules `plain` and `hosted`) from async scenarios
/// `async fn name(layout: &'static str)` in the calling module. The caller depends on tokio.
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_workspace_root_holds_the_testkit() {
        assert!(workspace_root().join("crates/testkit/Cargo.toml").is_file());
    }

    #[test]
    fn unique_names_differ() {
        let a = unique("x");
        let b = unique("x");
        assert!(a.starts_with("x-") && a != b, "{a} {b}");
    }
}

//! Shared by wheelgate-core's real-Pulp tests (each test file is its own crate: `mod common;`,
//! and uses only some of these).
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::sync::Arc;

use pulp_client::PulpClient;
use wheelgate_core::{init, upload, Catalog};
use wheelgate_fixtures::WheelSpec;
use wheelgate_testkit::unique_id;

/// One small wheel per name (made unique), version 1.0, in `dir`.
pub fn wheels(dir: &Path, names: &[&str]) -> Vec<PathBuf> {
    names
        .iter()
        .map(|n| {
            let spec = WheelSpec {
                payload_bytes: 64,
                seed: 7,
                ..WheelSpec::new(format!("{n}{}", unique_id()), "1.0")
            };
            wheelgate_fixtures::write_wheel(&spec, dir).unwrap()
        })
        .collect()
}

/// Upload `paths` to variant `cpu` of release 1.0 (replacing, or not), which must make a new
/// version; its number.
pub async fn up(c: &PulpClient, catalog: &Catalog, paths: Vec<PathBuf>, replace: bool) -> u64 {
    let mut opts = upload::UploadOptions::new(catalog, "1.0", "cpu", paths);
    opts.replace = replace;
    let r = upload::upload(c, catalog, &opts, Arc::new(upload::Silent))
        .await
        .unwrap();
    assert!(r.created_version);
    r.version.unwrap()
}

/// A catalog with cp312/linux_x86_64 variants in release 1.0 (a fresh product), initialised.
pub async fn init_release(c: &PulpClient, prefix: &str, variants: &[&str]) -> Catalog {
    let mut text = format!("product = \"{prefix}{}\"\n", unique_id());
    for v in variants {
        text.push_str(&format!(
            "[variants.{v}]\npython = [\"cp312\"]\nplatforms = [\"linux_x86_64\"]\n"
        ));
    }
    let list: Vec<String> = variants.iter().map(|v| format!("\"{v}\"")).collect();
    text.push_str(&format!(
        "[releases.\"1.0\"]\nvariants = [{}]\n[packages]\nallow = [\"*\"]\n",
        list.join(", ")
    ));
    let catalog = Catalog::parse(Path::new("wheelgate.toml"), &text).unwrap();
    init::init(
        c,
        &catalog,
        &init::InitOptions {
            release: "1.0".into(),
            dry_run: false,
            wait: Default::default(),
        },
    )
    .await
    .unwrap();
    catalog
}

/// Five versions of variant `cpu` with every kind of change: v1 adds a, b and c; v2 adds d;
/// v3 replaces (keeps a and b, drops c and d, adds e); v4 adds d again (a unit removed in v3
/// comes back); v5 adds f. Their numbers.
pub async fn five_versions(c: &PulpClient, catalog: &Catalog, dir: &Path) -> [u64; 5] {
    let first = wheels(dir, &["a", "b", "c"]);
    let v1 = up(c, catalog, first.clone(), false).await;
    let second = wheels(dir, &["d"]);
    let v2 = up(c, catalog, second.clone(), false).await;
    let mut third = first[..2].to_vec();
    third.extend(wheels(dir, &["e"]));
    let v3 = up(c, catalog, third, true).await;
    let v4 = up(c, catalog, second, false).await;
    let v5 = up(c, catalog, wheels(dir, &["f"]), false).await;
    [v1, v2, v3, v4, v5]
}

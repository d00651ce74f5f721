//! Shared by wheelgate-core's real-Pulp tests (each test file is its own crate: `mod common;`).

use std::path::Path;

use pulp_client::PulpClient;
use wheelgate_core::{init, Catalog};
use wheelgate_testkit::unique_id;

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

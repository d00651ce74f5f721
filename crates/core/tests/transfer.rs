//! The transfer of big files against the real local Pulp: a file above the old fixed 32 MiB
//! threshold goes in one request when it will finish well inside the request-time limit,
//! and lands with the right sha256; with a limit too short for it, it still lands right.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use futures::TryStreamExt;
use pulp_client::{PackageQuery, PulpClient};
use sha2::{Digest, Sha256};
use wheelgate_core::{upload, Catalog};
use wheelgate_testkit::{unique_id, LocalPulp};

mod common;
use common::init_release;

const SIZE: u64 = 40 * 1024 * 1024;

/// A 40 MiB wheel (never seen by Pulp: a unique name and seed) and its sha256.
fn big_wheel(dir: &Path) -> (std::path::PathBuf, String, String) {
    let id = unique_id();
    let spec = wheelgate_fixtures::WheelSpec {
        tag: "cp312-cp312-linux_x86_64".into(),
        payload_bytes: SIZE,
        seed: id.bytes().map(u64::from).sum::<u64>() ^ 0x5eed,
        ..wheelgate_fixtures::WheelSpec::new(format!("big{id}"), "1.0")
    };
    let path = wheelgate_fixtures::write_wheel(&spec, dir).unwrap();
    let sha = hex::encode(Sha256::digest(std::fs::read(&path).unwrap()));
    let name = path.file_name().unwrap().to_str().unwrap().to_owned();
    (path, name, sha)
}

/// (filename → sha256) of the latest staging version.
async fn latest_files(c: &PulpClient, catalog: &Catalog) -> Vec<(String, String)> {
    let names = catalog.names("1.0", "cpu");
    let repo = c
        .repository_by_name(&names.repository)
        .await
        .unwrap()
        .unwrap();
    let latest = repo.latest_version_href.unwrap();
    let mut files: Vec<(String, String)> = c
        .packages(&PackageQuery {
            repository_version: Some(latest),
            ..Default::default()
        })
        .await
        .unwrap()
        .map_ok(|p| (p.filename, p.sha256))
        .try_collect()
        .await
        .unwrap();
    files.sort();
    files
}

async fn above_the_old_threshold_goes_in_one_request(layout: &str) {
    let c = LocalPulp::new(layout).client;
    let catalog = init_release(&c, "t", &["cpu"]).await;
    let dir = tempfile::tempdir().unwrap();
    let (path, name, sha) = big_wheel(dir.path());
    assert!(std::fs::metadata(&path).unwrap().len() > 32 * 1024 * 1024);
    let opts = upload::UploadOptions::new(&catalog, "1.0", "cpu", vec![path]);
    assert_eq!(opts.request_time_limit, Duration::from_secs(30));
    let r = upload::upload(&c, &catalog, &opts, Arc::new(upload::Silent))
        .await
        .unwrap();
    assert_eq!(r.uploaded, vec![name.clone()]);
    // 40 MiB alone fits the prior (8 MiB/s: 5 s, inside half of 30 s): one request.
    assert!(r.chunked.is_empty(), "{r:?}");
    assert!(r.sync_fallbacks.is_empty(), "{r:?}");
    assert_eq!(latest_files(&c, &catalog).await, vec![(name, sha)]);
}

async fn a_limit_too_short_still_lands_the_right_bytes(layout: &str) {
    let c = LocalPulp::new(layout).client;
    let catalog = init_release(&c, "t", &["cpu"]).await;
    let dir = tempfile::tempdir().unwrap();
    let (path, name, sha) = big_wheel(dir.path());
    let mut opts = upload::UploadOptions::new(&catalog, "1.0", "cpu", vec![path]);
    // 1 s: the prior sends it chunked, so its first chunk measures; whichever way it then
    // goes (this machine's speed decides), Pulp must hold exactly these bytes.
    opts.request_time_limit = Duration::from_secs(1);
    let r = upload::upload(&c, &catalog, &opts, Arc::new(upload::Silent))
        .await
        .unwrap();
    assert_eq!(r.uploaded, vec![name.clone()]);
    assert!(r.sync_fallbacks.is_empty(), "{r:?}");
    assert_eq!(latest_files(&c, &catalog).await, vec![(name, sha)]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plain_above_the_old_threshold_goes_in_one_request() {
    above_the_old_threshold_goes_in_one_request("plain").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hosted_above_the_old_threshold_goes_in_one_request() {
    above_the_old_threshold_goes_in_one_request("hosted").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plain_a_limit_too_short_still_lands_the_right_bytes() {
    a_limit_too_short_still_lands_the_right_bytes("plain").await;
}

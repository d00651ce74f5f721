//! Choosing and falling back between the single-request upload and a chunked upload, against
//! wiremock stubs: what a real Pulp cannot be made to do on demand (a 504 from a proxy, an
//! answer that never comes, a request that finished server-side although the client saw it
//! fail).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use pulp_client::{
    ChunkedOptions, ClientConfig, NoProgress, PackageFile, PackageUploadOptions, PulpClient,
    RetryConfig, Transfer, TransferContext, TransferPolicy, WaitOptions,
};
use sha2::{Digest, Sha256};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

const API: &str = "/pulp/api/v3";
const MIB: u64 = 1024 * 1024;

fn client(url: &str) -> PulpClient {
    let mut cfg = ClientConfig::new(url::Url::parse(url).unwrap());
    cfg.domains_enabled = Some(false);
    cfg.retry = RetryConfig {
        initial_interval: Duration::from_millis(5),
        max_interval: Duration::from_millis(20),
        max_elapsed: Duration::from_secs(2),
    };
    PulpClient::new(cfg).unwrap()
}

/// A wheel-named file of `size` bytes and its sha256.
fn file(dir: &tempfile::TempDir, size: u64) -> (PathBuf, String) {
    let p = dir.path().join("big-1.0-py3-none-any.whl");
    let bytes: Vec<u8> = (0..size).map(|i| (i * 7 % 251) as u8).collect();
    std::fs::write(&p, &bytes).unwrap();
    (p, hex::encode(Sha256::digest(&bytes)))
}

fn package(sha256: &str) -> serde_json::Value {
    serde_json::json!({
        "pulp_href": format!("{API}/content/python/packages/p1/"),
        "filename": "big-1.0-py3-none-any.whl",
        "sha256": sha256,
    })
}

fn page(results: Vec<serde_json::Value>) -> serde_json::Value {
    serde_json::json!({"count": results.len(), "next": null, "previous": null, "results": results})
}

/// The stubs of a chunked upload that works: create, chunks, content creation (a task),
/// the task completed. The package lookup by sha256 answers `known`.
async fn chunked_pulp(server: &MockServer, size: u64, known: Option<&str>) {
    Mock::given(method("GET"))
        .and(path(format!("{API}/content/python/packages/")))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(page(known.map(package).into_iter().collect())),
        )
        .mount(server)
        .await;
    Mock::given(method("POST"))
        .and(path(format!("{API}/uploads/")))
        .respond_with(ResponseTemplate::new(201).set_body_json(serde_json::json!({
            "pulp_href": format!("{API}/uploads/u1/"), "size": size,
        })))
        .mount(server)
        .await;
    Mock::given(method("PUT"))
        .and(path(format!("{API}/uploads/u1/")))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({})))
        .mount(server)
        .await;
    Mock::given(method("DELETE"))
        .and(path(format!("{API}/uploads/u1/")))
        .respond_with(ResponseTemplate::new(204))
        .mount(server)
        .await;
    Mock::given(method("POST"))
        .and(path(format!("{API}/content/python/packages/")))
        .respond_with(
            ResponseTemplate::new(202)
                .set_body_json(serde_json::json!({"task": format!("{API}/tasks/t1/")})),
        )
        .mount(server)
        .await;
    Mock::given(method("GET"))
        .and(path(format!("{API}/tasks/t1/")))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({
            "pulp_href": format!("{API}/tasks/t1/"),
            "state": "completed",
            "created_resources": [format!("{API}/content/python/packages/p2/")],
        })))
        .mount(server)
        .await;
}

async fn requests(server: &MockServer, m: &str, p: &str) -> Vec<Request> {
    server
        .received_requests()
        .await
        .unwrap_or_default()
        .into_iter()
        .filter(|r| r.method.as_str() == m && r.url.path() == format!("{API}{p}"))
        .collect()
}

fn options(limit: Duration) -> PackageUploadOptions {
    PackageUploadOptions {
        policy: TransferPolicy {
            request_time_limit: limit,
            ..TransferPolicy::default()
        },
        chunked: ChunkedOptions {
            chunk_size: 256 * 1024,
            parallel: 2,
        },
        wait: WaitOptions {
            initial_interval: Duration::from_millis(5),
            ..WaitOptions::default()
        },
    }
}

fn body_text(r: &Request) -> String {
    String::from_utf8_lossy(&r.body).into_owned()
}

/// The create task got the upload and the whole-file sha256.
async fn assert_created_with_sha256(server: &MockServer, sha256: &str) {
    let creates = requests(server, "POST", "/content/python/packages/").await;
    assert_eq!(creates.len(), 1);
    let body: serde_json::Value = serde_json::from_slice(&creates[0].body).unwrap();
    assert_eq!(body["sha256"], sha256);
    assert_eq!(body["upload"], format!("{API}/uploads/u1/"));
    assert_eq!(body["relative_path"], "big-1.0-py3-none-any.whl");
}

#[tokio::test]
async fn a_504_falls_back_to_chunked_once() {
    let server = MockServer::start().await;
    let dir = tempfile::tempdir().unwrap();
    let (p, sha) = file(&dir, 1_000_000);
    Mock::given(method("POST"))
        .and(path(format!("{API}/content/python/packages/upload/")))
        .respond_with(ResponseTemplate::new(504).set_body_string("gateway timeout"))
        .mount(&server)
        .await;
    chunked_pulp(&server, 1_000_000, None).await;
    let c = client(&server.uri());
    let f = PackageFile {
        path: &p,
        filename: "big-1.0-py3-none-any.whl",
        sha256: &sha,
        size: 1_000_000,
    };
    let run = TransferContext::new(1);
    let up = c
        .upload_package(
            &f,
            &options(Duration::from_secs(30)),
            &run,
            Arc::new(NoProgress),
        )
        .await
        .unwrap();
    assert_eq!(up.transfer, Transfer::Chunked);
    assert_eq!(
        up.href.as_str(),
        format!("{API}/content/python/packages/p2/")
    );
    assert!(
        up.sync_failure.as_deref().unwrap().contains("504"),
        "{up:?}"
    );
    assert!(!up.probed);
    // One single request (not retried: a 504 after the bytes went up is no reason to send
    // them the same way again), with the sha256 field.
    let sync = requests(&server, "POST", "/content/python/packages/upload/").await;
    assert_eq!(sync.len(), 1);
    assert!(body_text(&sync[0]).contains(&sha), "the sha256 form field");
    // Asked by sha256 before sending again, then chunked: 4 chunks of 256 KiB cover it.
    let lookups = requests(&server, "GET", "/content/python/packages/").await;
    assert_eq!(lookups.len(), 1);
    assert_eq!(
        lookups[0]
            .url
            .query_pairs()
            .find(|(k, _)| k == "sha256")
            .map(|(_, v)| v.into_owned()),
        Some(sha.clone())
    );
    assert_eq!(requests(&server, "PUT", "/uploads/u1/").await.len(), 4);
    assert_created_with_sha256(&server, &sha).await;
    assert!(requests(&server, "DELETE", "/uploads/u1/").await.is_empty());
}

#[tokio::test]
async fn an_answer_that_never_comes_times_out_from_the_limit_then_goes_chunked() {
    let server = MockServer::start().await;
    let dir = tempfile::tempdir().unwrap();
    let (p, sha) = file(&dir, 300_000);
    Mock::given(method("POST"))
        .and(path(format!("{API}/content/python/packages/upload/")))
        .respond_with(
            ResponseTemplate::new(201)
                .set_body_json(package(&sha))
                .set_delay(Duration::from_secs(30)),
        )
        .mount(&server)
        .await;
    chunked_pulp(&server, 300_000, None).await;
    let c = client(&server.uri());
    let f = PackageFile {
        path: &p,
        filename: "big-1.0-py3-none-any.whl",
        sha256: &sha,
        size: 300_000,
    };
    let t0 = Instant::now();
    let up = c
        .upload_package(
            &f,
            // A 1 s limit: the client gives up after 2 s.
            &options(Duration::from_secs(1)),
            &TransferContext::new(1),
            Arc::new(NoProgress),
        )
        .await
        .unwrap();
    let took = t0.elapsed();
    assert!(took >= Duration::from_secs(2), "{took:?}");
    assert!(took < Duration::from_secs(10), "{took:?}");
    assert_eq!(up.transfer, Transfer::Chunked);
    assert!(
        up.sync_failure
            .as_deref()
            .unwrap()
            .contains("no answer within 2 s"),
        "{up:?}"
    );
    assert_eq!(
        requests(&server, "POST", "/content/python/packages/upload/")
            .await
            .len(),
        1
    );
    assert_created_with_sha256(&server, &sha).await;
}

#[tokio::test]
async fn a_request_that_finished_server_side_is_not_sent_again() {
    let server = MockServer::start().await;
    let dir = tempfile::tempdir().unwrap();
    let (p, sha) = file(&dir, 100_000);
    Mock::given(method("POST"))
        .and(path(format!("{API}/content/python/packages/upload/")))
        .respond_with(ResponseTemplate::new(502))
        .mount(&server)
        .await;
    chunked_pulp(&server, 100_000, Some(&sha)).await;
    let c = client(&server.uri());
    let f = PackageFile {
        path: &p,
        filename: "big-1.0-py3-none-any.whl",
        sha256: &sha,
        size: 100_000,
    };
    let up = c
        .upload_package(
            &f,
            &options(Duration::from_secs(30)),
            &TransferContext::new(1),
            Arc::new(NoProgress),
        )
        .await
        .unwrap();
    assert_eq!(up.transfer, Transfer::Sync);
    assert_eq!(
        up.href.as_str(),
        format!("{API}/content/python/packages/p1/")
    );
    assert!(up.sync_failure.is_some());
    assert!(requests(&server, "POST", "/uploads/").await.is_empty());
    assert!(requests(&server, "POST", "/content/python/packages/")
        .await
        .is_empty());
}

#[tokio::test]
async fn a_4xx_is_an_answer_about_the_file_not_a_reason_to_fall_back() {
    let server = MockServer::start().await;
    let dir = tempfile::tempdir().unwrap();
    let (p, sha) = file(&dir, 1000);
    Mock::given(method("POST"))
        .and(path(format!("{API}/content/python/packages/upload/")))
        .respond_with(
            ResponseTemplate::new(400).set_body_json(serde_json::json!({"file": ["not a wheel"]})),
        )
        .mount(&server)
        .await;
    chunked_pulp(&server, 1000, None).await;
    let f = PackageFile {
        path: &p,
        filename: "big-1.0-py3-none-any.whl",
        sha256: &sha,
        size: 1000,
    };
    let err = client(&server.uri())
        .upload_package(
            &f,
            &options(Duration::from_secs(30)),
            &TransferContext::new(1),
            Arc::new(NoProgress),
        )
        .await
        .unwrap_err();
    assert_eq!(err.status().map(|s| s.as_u16()), Some(400));
    assert!(requests(&server, "POST", "/uploads/").await.is_empty());
}

#[tokio::test]
async fn pulp_storing_other_bytes_is_refused() {
    let server = MockServer::start().await;
    let dir = tempfile::tempdir().unwrap();
    let (p, sha) = file(&dir, 1000);
    Mock::given(method("POST"))
        .and(path(format!("{API}/content/python/packages/upload/")))
        .respond_with(ResponseTemplate::new(201).set_body_json(package(&"0".repeat(64))))
        .mount(&server)
        .await;
    let f = PackageFile {
        path: &p,
        filename: "big-1.0-py3-none-any.whl",
        sha256: &sha,
        size: 1000,
    };
    let err = client(&server.uri())
        .upload_package(
            &f,
            &options(Duration::from_secs(30)),
            &TransferContext::new(1),
            Arc::new(NoProgress),
        )
        .await
        .unwrap_err();
    let msg = err.to_string();
    assert!(msg.contains(&sha) && msg.contains(&"0".repeat(64)), "{msg}");
}

#[tokio::test]
async fn a_first_big_file_is_probed_then_sent_in_one_request_when_fast_enough() {
    let server = MockServer::start().await;
    let dir = tempfile::tempdir().unwrap();
    let size = 9 * MIB;
    let (p, sha) = file(&dir, size);
    Mock::given(method("POST"))
        .and(path(format!("{API}/content/python/packages/upload/")))
        .respond_with(ResponseTemplate::new(201).set_body_json(package(&sha)))
        .mount(&server)
        .await;
    chunked_pulp(&server, size, None).await;
    let c = client(&server.uri());
    let f = PackageFile {
        path: &p,
        filename: "big-1.0-py3-none-any.whl",
        sha256: &sha,
        size,
    };
    let mut opts = options(Duration::from_secs(30));
    // A prior that sends 9 MiB chunked (0.1 MiB/s: 90 s > 15 s), chunks big enough to
    // measure; a stub measures far faster than the 0.6 MiB/s that fit 15 s.
    opts.policy.prior_bytes_per_sec = MIB as f64 / 10.0;
    opts.chunked.chunk_size = 4 * MIB;
    let run = TransferContext::new(1);
    let up = c
        .upload_package(&f, &opts, &run, Arc::new(NoProgress))
        .await
        .unwrap();
    assert!(up.probed);
    assert_eq!(up.transfer, Transfer::Sync, "{up:?}");
    assert!(run.meter.estimate().unwrap() > 9.0 * MIB as f64 / 15.0);
    // One chunk measured, the upload deleted, then one request.
    assert_eq!(requests(&server, "PUT", "/uploads/u1/").await.len(), 1);
    assert_eq!(requests(&server, "DELETE", "/uploads/u1/").await.len(), 1);
    assert_eq!(
        requests(&server, "POST", "/content/python/packages/upload/")
            .await
            .len(),
        1
    );

    // The next file of the run is decided by the measurement, without a probe.
    let again = c
        .upload_package(&f, &opts, &run, Arc::new(NoProgress))
        .await
        .unwrap();
    assert!(!again.probed);
    assert_eq!(again.transfer, Transfer::Sync);
    assert_eq!(requests(&server, "PUT", "/uploads/u1/").await.len(), 1);
}

#[tokio::test]
async fn a_slow_probe_keeps_the_file_chunked() {
    let server = MockServer::start().await;
    let dir = tempfile::tempdir().unwrap();
    let size = 9 * MIB;
    let (p, sha) = file(&dir, size);
    // Chunks take 0.5 s each: 8 MiB/s, so 9 MiB would take ~1.1 s, over half a 1 s limit.
    Mock::given(method("PUT"))
        .and(path(format!("{API}/uploads/u1/")))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(serde_json::json!({}))
                .set_delay(Duration::from_millis(500)),
        )
        .mount(&server)
        .await;
    chunked_pulp(&server, size, None).await;
    let c = client(&server.uri());
    let f = PackageFile {
        path: &p,
        filename: "big-1.0-py3-none-any.whl",
        sha256: &sha,
        size,
    };
    let mut opts = options(Duration::from_secs(1));
    opts.policy.prior_bytes_per_sec = MIB as f64;
    opts.chunked.chunk_size = 4 * MIB;
    let run = TransferContext::new(1);
    let up = c
        .upload_package(&f, &opts, &run, Arc::new(NoProgress))
        .await
        .unwrap();
    assert!(up.probed);
    assert_eq!(up.transfer, Transfer::Chunked);
    assert!(up.sync_failure.is_none());
    let estimate = run.meter.estimate().unwrap();
    assert!(estimate < 9.0 * MIB as f64, "{estimate}");
    // The probe's chunk is the first of the three: nothing is sent twice.
    assert_eq!(requests(&server, "PUT", "/uploads/u1/").await.len(), 3);
    assert!(requests(&server, "DELETE", "/uploads/u1/").await.is_empty());
    assert!(
        requests(&server, "POST", "/content/python/packages/upload/")
            .await
            .is_empty()
    );
    assert_created_with_sha256(&server, &sha).await;
}

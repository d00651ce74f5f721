//! HTTP behaviour through wiremock (and a raw socket where wiremock cannot misbehave enough).

use std::path::Path;
use std::time::Duration;

use sha2::{Digest, Sha256};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use url::Url;
use wheelgate_http::{RetryPolicy, TransportFailure};
use wheelgate_index::{IndexClient, IndexError, PackageName, PageFormat};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::quick_config;

fn sha(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

fn name(s: &str) -> PackageName {
    s.parse().unwrap()
}

fn index(server: &MockServer) -> Url {
    Url::parse(&format!("{}/simple/", server.uri())).unwrap()
}

fn client() -> IndexClient {
    IndexClient::new(quick_config()).unwrap()
}

fn dir_entries(p: &Path) -> Vec<String> {
    std::fs::read_dir(p)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect()
}

#[tokio::test]
async fn json_page_is_read_and_json_is_asked_for() {
    let server = MockServer::start().await;
    let h = "ab".repeat(32);
    let body = serde_json::json!({
        "meta": {"api-version": "1.1"},
        "name": "demo-pkg",
        "files": [{
            "filename": "demo_pkg-1.0-py3-none-any.whl",
            "url": "../../files/demo_pkg-1.0-py3-none-any.whl",
            "hashes": {"sha256": h},
            "requires-python": ">=3.9",
            "core-metadata": {"sha256": h},
            "size": 1234,
            "yanked": false
        }]
    });
    Mock::given(method("GET"))
        .and(path("/simple/demo-pkg/"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_raw(body.to_string(), "application/vnd.pypi.simple.v1+json"),
        )
        .expect(1)
        .mount(&server)
        .await;
    let page = client()
        .project(&index(&server), &name("Demo_Pkg"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(page.format, PageFormat::Json);
    assert_eq!(page.files.len(), 1);
    let f = &page.files[0];
    assert_eq!(
        f.url.as_str(),
        format!("{}/files/demo_pkg-1.0-py3-none-any.whl", server.uri())
    );
    assert_eq!(f.sha256(), Some(h.clone()));
    assert_eq!(f.metadata_sha256(), Some(h));
    assert_eq!(f.size, Some(1234));
    assert!(!f.is_yanked());
    let req = &server.received_requests().await.unwrap()[0];
    let accept = req.headers.get("accept").unwrap().to_str().unwrap();
    assert!(
        accept.starts_with("application/vnd.pypi.simple.v1+json"),
        "{accept}"
    );
}

#[tokio::test]
async fn html_answer_is_parsed_as_pep_503() {
    let server = MockServer::start().await;
    let h = "cd".repeat(32);
    let body = format!(
        r#"<html><body><a href="/files/demo_pkg-1.0-py3-none-any.whl#sha256={h}" data-requires-python="&gt;=3.8">demo_pkg-1.0-py3-none-any.whl</a></body></html>"#
    );
    Mock::given(method("GET"))
        .and(path("/simple/demo-pkg/"))
        .respond_with(ResponseTemplate::new(200).set_body_raw(body, "text/html"))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/simple/"))
        .respond_with(ResponseTemplate::new(200).set_body_raw(
            r#"<html><body><a href="demo-pkg/">demo-pkg</a><a href="other/">Other</a></body></html>"#,
            "text/html; charset=utf-8",
        ))
        .mount(&server)
        .await;
    let c = client();
    let page = c
        .project(&index(&server), &name("demo-pkg"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(page.format, PageFormat::Html);
    assert_eq!(page.files[0].sha256(), Some(h));
    assert_eq!(page.files[0].filename, "demo_pkg-1.0-py3-none-any.whl");
    let root = c.root(&index(&server)).await.unwrap().unwrap();
    assert_eq!(root.format, PageFormat::Html);
    assert_eq!(root.projects, vec![name("demo-pkg"), name("other")]);
}

#[tokio::test]
async fn json_root_lists_projects() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/simple/"))
        .respond_with(ResponseTemplate::new(200).set_body_raw(
            r#"{"meta":{"api-version":"1.0"},"projects":[{"name":"Demo_Pkg"},{"name":"b"}]}"#,
            "application/vnd.pypi.simple.v1+json",
        ))
        .mount(&server)
        .await;
    let root = client().root(&index(&server)).await.unwrap().unwrap();
    assert_eq!(root.format, PageFormat::Json);
    assert_eq!(root.projects, vec![name("demo-pkg"), name("b")]);
}

#[tokio::test]
async fn missing_project_is_none_not_an_error() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(404))
        .expect(1)
        .mount(&server)
        .await;
    let page = client()
        .project(&index(&server), &name("nope"))
        .await
        .unwrap();
    assert!(page.is_none());
}

#[tokio::test]
async fn a_503_storm_is_ridden_out() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(503).insert_header("Retry-After", "0"))
        .up_to_n_times(3)
        .expect(3)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200).set_body_raw(
            r#"{"meta":{"api-version":"1.0"},"files":[]}"#,
            "application/vnd.pypi.simple.v1+json",
        ))
        .expect(1)
        .mount(&server)
        .await;
    let page = client()
        .project(&index(&server), &name("demo"))
        .await
        .unwrap()
        .unwrap();
    assert!(page.files.is_empty());
    assert_eq!(server.received_requests().await.unwrap().len(), 4);
}

#[tokio::test]
async fn endless_503_gives_up_within_the_bound() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(503).set_body_string("try later"))
        .mount(&server)
        .await;
    let mut config = quick_config();
    config.retry = RetryPolicy {
        initial_interval: Duration::from_millis(10),
        max_interval: Duration::from_millis(20),
        max_elapsed: Duration::from_millis(300),
    };
    let start = std::time::Instant::now();
    let err = IndexClient::new(config)
        .unwrap()
        .project(&index(&server), &name("demo"))
        .await
        .unwrap_err();
    assert!(start.elapsed() < Duration::from_secs(3));
    assert!(
        matches!(&err, IndexError::Status { status, .. } if status.as_u16() == 503),
        "{err:?}"
    );
    assert!(
        err.to_string()
            .ends_with("/simple/demo/: HTTP 503 Service Unavailable: try later"),
        "{err}"
    );
    assert!(server.received_requests().await.unwrap().len() > 2);
}

#[tokio::test]
async fn forbidden_is_access_refused_with_a_hint() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(403))
        .expect(1)
        .mount(&server)
        .await;
    let err = client().root(&index(&server)).await.unwrap_err();
    assert!(matches!(err, IndexError::AccessRefused { .. }), "{err:?}");
    assert!(err.hint().unwrap().contains("client certificate"));
}

#[tokio::test]
async fn download_checks_sha256_and_leaves_nothing_on_mismatch() {
    let server = MockServer::start().await;
    let bytes = b"wheel bytes".repeat(1000);
    Mock::given(method("GET"))
        .and(path("/files/x-1-py3-none-any.whl"))
        .respond_with(ResponseTemplate::new(200).set_body_bytes(bytes.clone()))
        .mount(&server)
        .await;
    let url = Url::parse(&format!("{}/files/x-1-py3-none-any.whl", server.uri())).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let dest = dir.path().join("x-1-py3-none-any.whl");
    let c = client();

    let wrong = "00".repeat(32);
    let err = c.download(&url, &dest, Some(&wrong)).await.unwrap_err();
    match &err {
        IndexError::HashMismatch {
            expected, actual, ..
        } => {
            assert_eq!(expected, &wrong);
            assert_eq!(actual, &sha(&bytes));
        }
        other => panic!("{other:?}"),
    }
    assert!(
        dir_entries(dir.path()).is_empty(),
        "{:?}",
        dir_entries(dir.path())
    );

    let got = c
        .download(&url, &dest, Some(&sha(&bytes).to_uppercase()))
        .await
        .unwrap();
    assert_eq!(got.size, bytes.len() as u64);
    assert_eq!(got.sha256, sha(&bytes));
    assert_eq!(std::fs::read(&dest).unwrap(), bytes);
    assert_eq!(
        dir_entries(dir.path()),
        vec!["x-1-py3-none-any.whl".to_owned()]
    );
}

#[tokio::test]
async fn metadata_is_checked_against_the_page_hash() {
    let server = MockServer::start().await;
    let meta = b"Metadata-Version: 2.1\nName: x\nVersion: 1\n".to_vec();
    let good = sha(&meta);
    let page = serde_json::json!({
        "meta": {"api-version": "1.1"},
        "files": [
            {"filename": "x-1-py3-none-any.whl", "url": "/f/x-1-py3-none-any.whl",
             "hashes": {"sha256": "11".repeat(32)}, "core-metadata": {"sha256": good}},
            {"filename": "x-2-py3-none-any.whl", "url": "/f/x-2-py3-none-any.whl",
             "hashes": {"sha256": "22".repeat(32)}, "core-metadata": {"sha256": "33".repeat(32)}},
            {"filename": "x-3-py3-none-any.whl", "url": "/f/x-3-py3-none-any.whl",
             "hashes": {"sha256": "44".repeat(32)}}
        ]
    });
    Mock::given(method("GET"))
        .and(path("/simple/x/"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_raw(page.to_string(), "application/vnd.pypi.simple.v1+json"),
        )
        .mount(&server)
        .await;
    for v in ["1", "2"] {
        Mock::given(method("GET"))
            .and(path(format!("/f/x-{v}-py3-none-any.whl.metadata")))
            .respond_with(ResponseTemplate::new(200).set_body_bytes(meta.clone()))
            .mount(&server)
            .await;
    }
    let c = client();
    let page = c
        .project(&index(&server), &name("x"))
        .await
        .unwrap()
        .unwrap();
    let ok = c.metadata(&page.files[0]).await.unwrap().unwrap();
    assert_eq!(ok.as_ref(), meta.as_slice());
    let err = c.metadata(&page.files[1]).await.unwrap_err();
    assert!(matches!(err, IndexError::HashMismatch { .. }), "{err:?}");
    assert!(c.metadata(&page.files[2]).await.unwrap().is_none());
}

/// A server that announces 1000 bytes, sends 10 and hangs up, on every connection.
async fn truncating_server() -> (String, tokio::task::JoinHandle<()>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let task = tokio::spawn(async move {
        while let Ok((mut s, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut buf = [0u8; 4096];
                let mut got = Vec::new();
                while !got.windows(4).any(|w| w == b"\r\n\r\n") {
                    match s.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => got.extend_from_slice(&buf[..n]),
                    }
                }
                let _ = s
                    .write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n0123456789")
                    .await;
                let _ = s.shutdown().await;
            });
        }
    });
    (format!("http://{addr}"), task)
}

#[tokio::test]
async fn truncated_body_is_a_transport_error_and_leaves_nothing() {
    let (base, task) = truncating_server().await;
    let url = Url::parse(&format!("{base}/f/x-1-py3-none-any.whl")).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let dest = dir.path().join("x-1-py3-none-any.whl");
    let mut config = quick_config();
    config.retry.max_elapsed = Duration::from_millis(200);
    let err = IndexClient::new(config)
        .unwrap()
        .download(&url, &dest, None)
        .await
        .unwrap_err();
    assert!(
        matches!(
            err.transport_failure(),
            Some(TransportFailure::Interrupted { .. })
        ) || matches!(err, IndexError::Truncated { .. }),
        "{err:?}"
    );
    assert!(dir_entries(dir.path()).is_empty());
    // A truncated page is an error too, not a shorter page.
    let mut config = quick_config();
    config.retry.max_elapsed = Duration::from_millis(200);
    let err = IndexClient::new(config)
        .unwrap()
        .root(&Url::parse(&format!("{base}/simple/")).unwrap())
        .await;
    assert!(
        matches!(
            err.as_ref().map_err(IndexError::transport_failure),
            Err(Some(TransportFailure::Interrupted { .. }))
        ),
        "{err:?}"
    );
    task.abort();
}

#[tokio::test]
async fn refused_connection_on_first_contact_fails_fast_with_a_hint() {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    drop(l);
    // The client has reached another host: that does not make this one worth retrying.
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(404))
        .mount(&server)
        .await;
    let c = client();
    assert!(c.root(&index(&server)).await.unwrap().is_none());
    let start = std::time::Instant::now();
    let err = c
        .root(&Url::parse(&format!("http://user:pw@127.0.0.1:{port}/simple/")).unwrap())
        .await
        .unwrap_err();
    assert!(
        start.elapsed() < Duration::from_secs(2),
        "retried a refused first contact"
    );
    assert_eq!(
        err.transport_failure(),
        Some(&TransportFailure::ConnectionRefused)
    );
    assert_eq!(
        err.to_string(),
        format!("GET http://user:****@127.0.0.1:{port}/simple/")
    );
    assert!(err.hint().unwrap().contains("index_host"));
}

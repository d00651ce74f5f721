//! Retry classification against scripted wiremock stubs: the error paths a real Pulp
//! cannot be made to produce on demand (503 storms, 429 with Retry-After, dropped connections).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use pulp_client::{ClientConfig, ClientError, ConnectionSettings, PulpClient, RetryConfig, Secret};
use tokio::io::AsyncWriteExt;
use tokio::net::TcpListener;
use wiremock::matchers::{any, method, path};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

mod stub;

/// A server answering with `script` in order, then repeating its last answer. A 429 says
/// `Retry-After: 0`.
async fn scripted(script: &[(u16, &str)]) -> MockServer {
    let server = MockServer::start().await;
    for (i, (status, body)) in script.iter().enumerate() {
        let mut answer =
            ResponseTemplate::new(*status).set_body_raw(body.to_string(), "application/json");
        if *status == 429 {
            answer = answer.insert_header("Retry-After", "0");
        }
        let mock = Mock::given(any()).respond_with(answer);
        let mock = if i + 1 < script.len() {
            mock.up_to_n_times(1)
        } else {
            mock
        };
        mock.mount(&server).await;
    }
    server
}

async fn hits(server: &MockServer) -> usize {
    server.received_requests().await.unwrap_or_default().len()
}

/// wiremock cannot drop a connection without answering, so this case keeps a few lines of
/// hand-written stub: the first connection is closed after reading the request, later ones get
/// `then`.
async fn drops_first_connection(then: (u16, &'static str)) -> (String, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let hits = Arc::new(AtomicUsize::new(0));
    let counter = hits.clone();
    tokio::spawn(async move {
        while let Ok((mut sock, _)) = listener.accept().await {
            let n = counter.fetch_add(1, Ordering::SeqCst);
            stub::read_head(&mut sock).await;
            if n == 0 {
                drop(sock);
                continue;
            }
            let (status, body) = then;
            let resp = format!(
                "HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
            let _ = sock.write_all(resp.as_bytes()).await;
            let _ = sock.shutdown().await;
        }
    });
    (format!("http://{addr}"), hits)
}

fn client(url: &str) -> PulpClient {
    let mut cfg = ClientConfig::new(url::Url::parse(url).unwrap());
    cfg.domains_enabled = Some(false);
    cfg.retry = RetryConfig {
        initial_interval: Duration::from_millis(5),
        max_interval: Duration::from_millis(20),
        max_elapsed: Duration::from_secs(3),
    };
    PulpClient::new(cfg).unwrap()
}

const STATUS: &str = r#"{"versions":[{"component":"core","version":"3.123.1"}],"online_workers":[],"online_content_apps":[],"domain_enabled":false}"#;

#[tokio::test]
async fn get_retries_through_a_503_storm() {
    let s = scripted(&[(503, "{}"), (502, "{}"), (504, "{}"), (200, STATUS)]).await;
    let status = client(&s.uri()).status().await.unwrap();
    assert_eq!(status.component("core"), Some("3.123.1"));
    assert_eq!(hits(&s).await, 4);
}

#[tokio::test]
async fn get_retries_429_honouring_retry_after() {
    let s = scripted(&[(429, "{}"), (200, STATUS)]).await;
    client(&s.uri()).status().await.unwrap();
    assert_eq!(hits(&s).await, 2);
}

#[tokio::test]
async fn get_gives_up_after_max_elapsed() {
    let s = scripted(&[(503, r#"{"detail":"down for maintenance"}"#)]).await;
    let err = client(&s.uri()).status().await.unwrap_err();
    assert_eq!(err.status().map(|s| s.as_u16()), Some(503));
    assert!(err.to_string().contains("down for maintenance"), "{err}");
    let n = hits(&s).await;
    assert!(n > 2, "expected several attempts, got {n}");
}

#[tokio::test]
async fn post_is_not_retried_on_503() {
    let s = scripted(&[(503, "{}"), (201, "{}")]).await;
    let c = client(&s.uri());
    let err = c
        .create_repository(&pulp_client::RepositoryFields {
            name: Some("x".into()),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(err.status().map(|s| s.as_u16()), Some(503));
    assert_eq!(hits(&s).await, 1);
}

#[tokio::test]
async fn unauthorized_is_not_retried_and_reads_clearly() {
    let s = scripted(&[(401, r#"{"detail":"Invalid username/password."}"#)]).await;
    let settings = ConnectionSettings {
        base_url: Some(s.uri()),
        username: Some("admin".into()),
        password: Some(Secret::new("wrong-password-123")),
        ..Default::default()
    };
    let mut cfg = settings.into_config().unwrap();
    cfg.domains_enabled = Some(false);
    let err = PulpClient::new(cfg).unwrap().status().await.unwrap_err();
    assert!(matches!(err, ClientError::Auth { .. }), "{err:?}");
    let msg = err.to_string();
    assert!(msg.contains("authentication failed"), "{msg}");
    assert!(msg.contains("Invalid username/password."), "{msg}");
    assert!(!msg.contains("wrong-password-123"), "{msg}");
    // The session login and the request itself: each refused once, neither retried.
    assert_eq!(hits(&s).await, 2);
}

#[tokio::test]
async fn client_errors_are_not_retried() {
    let s = scripted(&[(400, r#"{"name":["This field must be unique."]}"#)]).await;
    let err = client(&s.uri()).status().await.unwrap_err();
    assert_eq!(err.body().unwrap().field_errors()[0].0, "name");
    assert_eq!(hits(&s).await, 1);
}

#[tokio::test]
async fn dropped_connection_is_retried_for_get_only() {
    let (url, n) = drops_first_connection((200, STATUS)).await;
    client(&url).status().await.unwrap();
    assert_eq!(n.load(Ordering::SeqCst), 2);

    let (url, n) = drops_first_connection((201, "{}")).await;
    let err = client(&url)
        .create_repository(&pulp_client::RepositoryFields::default())
        .await
        .unwrap_err();
    assert!(matches!(err, ClientError::Transport { .. }), "{err:?}");
    assert_eq!(n.load(Ordering::SeqCst), 1);
}

/// Issue 9: with Pulp stopped, the first request fails at once (it used to retry for a minute
/// in silence), with the defaults a command uses, and the error names the address and cause.
#[tokio::test]
async fn connection_refused_on_first_contact_fails_at_once() {
    // Bind and drop to get a port nobody listens on.
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let mut cfg = ClientConfig::new(url::Url::parse(&format!("http://127.0.0.1:{port}")).unwrap());
    cfg.domains_enabled = Some(false);
    let start = std::time::Instant::now();
    let err = PulpClient::new(cfg).unwrap().status().await.unwrap_err();
    let took = start.elapsed();
    assert!(matches!(err, ClientError::Transport { .. }), "{err:?}");
    assert!(took < Duration::from_secs(3), "took {took:?}");
    assert!(
        err.to_string().contains(&format!("127.0.0.1:{port}")),
        "{err}"
    );
    let cause = std::error::Error::source(&err).map(ToString::to_string);
    assert_eq!(cause.as_deref(), Some("connection refused"));
}

/// A server answering a token endpoint and the status endpoint, recording the requests.
async fn auth_stub() -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/token"))
        .respond_with(ResponseTemplate::new(200).set_body_raw(
            r#"{"access_token":"tok-123","token_type":"Bearer","expires_in":3600}"#,
            "application/json",
        ))
        .mount(&server)
        .await;
    Mock::given(any())
        .respond_with(ResponseTemplate::new(200).set_body_raw(STATUS, "application/json"))
        .mount(&server)
        .await;
    server
}

fn authorization(r: &Request) -> Option<String> {
    r.headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

#[tokio::test]
async fn oauth2_token_is_fetched_once_and_sent_as_bearer() {
    let server = auth_stub().await;
    let url = server.uri();
    let settings = ConnectionSettings {
        base_url: Some(url.clone()),
        client_id: Some("ci-bot".into()),
        client_secret: Some(Secret::new("very-secret")),
        token_url: Some(format!("{url}/token")),
        ..Default::default()
    };
    let mut cfg = settings.into_config().unwrap();
    cfg.domains_enabled = Some(false);
    let c = PulpClient::new(cfg).unwrap();
    c.status().await.unwrap();
    c.status().await.unwrap();
    let heads = server.received_requests().await.unwrap_or_default();
    let token_calls: Vec<_> = heads
        .iter()
        .filter(|h| h.method.as_str() == "POST" && h.url.path() == "/token")
        .collect();
    assert_eq!(token_calls.len(), 1, "token cached: {heads:?}");
    // Client credentials go to the token endpoint as HTTP basic, never to Pulp.
    assert!(authorization(token_calls[0]).unwrap().starts_with("Basic "));
    let api: Vec<_> = heads
        .iter()
        .filter(|h| h.method.as_str() == "GET" && h.url.path() == "/pulp/api/v3/status/")
        .collect();
    assert_eq!(api.len(), 2);
    for h in api {
        assert_eq!(authorization(h).as_deref(), Some("Bearer tok-123"));
    }
}

#[tokio::test]
async fn bearer_and_basic_headers() {
    let server = auth_stub().await;
    let url = server.uri();
    let mut cfg = ConnectionSettings {
        base_url: Some(url.clone()),
        token: Some(Secret::new("static-token")),
        ..Default::default()
    }
    .into_config()
    .unwrap();
    cfg.domains_enabled = Some(false);
    PulpClient::new(cfg).unwrap().status().await.unwrap();
    let mut cfg = ConnectionSettings {
        base_url: Some(url),
        username: Some("admin".into()),
        password: Some(Secret::new("pw")),
        ..Default::default()
    }
    .into_config()
    .unwrap();
    cfg.domains_enabled = Some(false);
    PulpClient::new(cfg).unwrap().status().await.unwrap();
    let heads = server.received_requests().await.unwrap_or_default();
    assert_eq!(
        authorization(&heads[0]).as_deref(),
        Some("Bearer static-token")
    );
    // base64("admin:pw")
    assert_eq!(
        authorization(&heads[1]).as_deref(),
        Some("Basic YWRtaW46cHc=")
    );
}

#[tokio::test]
async fn unreadable_client_certificate_is_a_config_error() {
    let mut cfg = ClientConfig::new(url::Url::parse("https://127.0.0.1:1").unwrap());
    cfg.client_cert = Some("/nonexistent/cert.pem".into());
    let err = PulpClient::new(cfg).unwrap_err();
    assert!(err.to_string().contains("/nonexistent/cert.pem"), "{err}");
}

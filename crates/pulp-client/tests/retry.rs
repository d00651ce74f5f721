//! Retry classification against a tiny scripted HTTP stub: the error paths a real Pulp
//! cannot be made to produce on demand (503 storms, 429 with Retry-After, dropped connections).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use pulp_client::{ClientConfig, ClientError, ConnectionSettings, PulpClient, RetryConfig, Secret};
use tokio::io::AsyncWriteExt;
use tokio::net::TcpListener;

mod stub;
use stub::read_head;

/// One scripted answer: status and body; `None` drops the connection without answering.
type Script = Vec<Option<(u16, &'static str)>>;

struct Stub {
    url: String,
    hits: Arc<AtomicUsize>,
}

async fn stub(script: Script) -> Stub {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let hits = Arc::new(AtomicUsize::new(0));
    let counter = hits.clone();
    tokio::spawn(async move {
        loop {
            let Ok((mut sock, _)) = listener.accept().await else {
                return;
            };
            let n = counter.fetch_add(1, Ordering::SeqCst);
            let answer = script
                .get(n)
                .cloned()
                .unwrap_or(script.last().cloned().flatten());
            // Read the request head (and ignore any body).
            read_head(&mut sock).await;
            match answer {
                None => drop(sock),
                Some((status, body)) => {
                    let extra = if status == 429 {
                        "Retry-After: 0\r\n"
                    } else {
                        ""
                    };
                    let resp = format!(
                        "HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n{extra}\r\n{body}",
                        body.len()
                    );
                    let _ = sock.write_all(resp.as_bytes()).await;
                    let _ = sock.shutdown().await;
                }
            }
        }
    });
    Stub {
        url: format!("http://{addr}"),
        hits,
    }
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
    let s = stub(vec![
        Some((503, "{}")),
        Some((502, "{}")),
        Some((504, "{}")),
        Some((200, STATUS)),
    ])
    .await;
    let status = client(&s.url).status().await.unwrap();
    assert_eq!(status.component("core"), Some("3.123.1"));
    assert_eq!(s.hits.load(Ordering::SeqCst), 4);
}

#[tokio::test]
async fn get_retries_429_honouring_retry_after() {
    let s = stub(vec![Some((429, "{}")), Some((200, STATUS))]).await;
    client(&s.url).status().await.unwrap();
    assert_eq!(s.hits.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn get_gives_up_after_max_elapsed() {
    let s = stub(vec![Some((503, r#"{"detail":"down for maintenance"}"#))]).await;
    let err = client(&s.url).status().await.unwrap_err();
    assert_eq!(err.status().map(|s| s.as_u16()), Some(503));
    assert!(err.to_string().contains("down for maintenance"), "{err}");
    let hits = s.hits.load(Ordering::SeqCst);
    assert!(hits > 2, "expected several attempts, got {hits}");
}

#[tokio::test]
async fn post_is_not_retried_on_503() {
    let s = stub(vec![Some((503, "{}")), Some((201, "{}"))]).await;
    let c = client(&s.url);
    let err = c
        .create_repository(&pulp_client::RepositoryFields {
            name: Some("x".into()),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(err.status().map(|s| s.as_u16()), Some(503));
    assert_eq!(s.hits.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn unauthorized_is_not_retried_and_reads_clearly() {
    let s = stub(vec![Some((
        401,
        r#"{"detail":"Invalid username/password."}"#,
    ))])
    .await;
    let settings = ConnectionSettings {
        base_url: Some(s.url.clone()),
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
    assert_eq!(s.hits.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn client_errors_are_not_retried() {
    let s = stub(vec![Some((
        400,
        r#"{"name":["This field must be unique."]}"#,
    ))])
    .await;
    let err = client(&s.url).status().await.unwrap_err();
    assert_eq!(err.body().unwrap().field_errors()[0].0, "name");
    assert_eq!(s.hits.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn dropped_connection_is_retried_for_get_only() {
    let s = stub(vec![None, Some((200, STATUS))]).await;
    client(&s.url).status().await.unwrap();
    assert_eq!(s.hits.load(Ordering::SeqCst), 2);

    let s = stub(vec![None, Some((201, "{}"))]).await;
    let err = client(&s.url)
        .create_repository(&pulp_client::RepositoryFields::default())
        .await
        .unwrap_err();
    assert!(matches!(err, ClientError::Transport { .. }), "{err:?}");
    assert_eq!(s.hits.load(Ordering::SeqCst), 1);
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

/// A stub that records request heads and answers a token endpoint and the status endpoint.
async fn auth_stub() -> (String, Arc<std::sync::Mutex<Vec<String>>>) {
    stub::serve(|head| {
        stub::Answer::json(
            200,
            if head.starts_with("POST /token") {
                r#"{"access_token":"tok-123","token_type":"Bearer","expires_in":3600}"#
            } else {
                STATUS
            },
        )
    })
    .await
}

fn authorization(head: &str) -> Option<String> {
    stub::header(head, "authorization")
}

#[tokio::test]
async fn oauth2_token_is_fetched_once_and_sent_as_bearer() {
    let (url, heads) = auth_stub().await;
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
    let heads = heads.lock().unwrap().clone();
    let token_calls: Vec<_> = heads
        .iter()
        .filter(|h| h.starts_with("POST /token"))
        .collect();
    assert_eq!(token_calls.len(), 1, "token cached: {heads:?}");
    // Client credentials go to the token endpoint as HTTP basic, never to Pulp.
    assert!(authorization(token_calls[0]).unwrap().starts_with("Basic "));
    let api: Vec<_> = heads
        .iter()
        .filter(|h| h.starts_with("GET /pulp/api/v3/status/"))
        .collect();
    assert_eq!(api.len(), 2);
    for h in api {
        assert_eq!(authorization(h).as_deref(), Some("Bearer tok-123"));
    }
}

#[tokio::test]
async fn bearer_and_basic_headers() {
    let (url, heads) = auth_stub().await;
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
    let heads = heads.lock().unwrap().clone();
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

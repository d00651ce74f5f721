//! The connection layer through the binary: each `PULP_*` variable takes effect.
//!
//! `PULP_SESSION=false` against the real local Pulp (both layouts); token, OAuth2 and timeout
//! against wiremock stubs, which record every request (a real Pulp cannot be made slow on
//! demand, and the hosted service's token server is not available here).

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use wheelgate_testkit::Run;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

use crate::util::Sandbox;

/// With `PULP_SESSION=false` the binary never logs in and every request still succeeds with
/// basic auth (the pulp-cli config gives username and password).
async fn session_false_means_basic_auth_on_every_request(layout: &'static str) {
    let sb = Sandbox::new(layout);
    let run: Run = sb
        .cmd()
        .env("PULP_SESSION", "false")
        .args(["-vv", "init", "--release", "3.0"])
        .output()
        .unwrap()
        .into();
    run.success();
    assert!(
        !run.stderr.contains("session login") && !run.stderr.contains("login/"),
        "no login with PULP_SESSION=false:\n{}",
        run.stderr
    );
    // The unsafe requests (POST of repositories) went through, authenticated by the password.
    assert!(run.stderr.contains("method=POST"), "{}", run.stderr);
    assert!(run.stdout.contains("10 changes"), "{}", run.stdout);
}

both_layouts!(session_false_means_basic_auth_on_every_request);

/// An empty page for every list.
const EMPTY_PAGE: &str = r#"{"count":0,"next":null,"previous":null,"results":[]}"#;

/// A minimal catalog for runs against a stub.
fn catalog(dir: &Path) -> std::path::PathBuf {
    let p = dir.join("wheelgate.toml");
    std::fs::write(
        &p,
        r#"product = "stubbed"

[variants.cpu]
python = ["cp312"]
platforms = ["linux_x86_64"]

[releases."1.0"]
variants = ["cpu"]

[packages]
allow = ["*"]
"#,
    )
    .unwrap();
    p
}

/// The binary without any `PULP_*`/`WHEELGATE_*` variable or XDG config dir of this machine.
fn clean_cmd() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_wheelgate"));
    for (k, _) in std::env::vars_os() {
        if let Some(k) = k.to_str() {
            if k.starts_with("PULP_") || k.starts_with("WHEELGATE_") || k == "XDG_CONFIG_HOME" {
                c.env_remove(k);
            }
        }
    }
    c
}

/// The binary against `server`, with only the given `PULP_*` variables and no pulp-cli config
/// (HOME is the temp dir), running `init --dry-run` (GETs only).
fn run_against(server: &MockServer, env: &[(&str, &str)]) -> (Run, Duration) {
    let dir = tempfile::tempdir().unwrap();
    let catalog = catalog(dir.path());
    let mut c = clean_cmd();
    c.env("HOME", dir.path())
        .env("WHEELGATE_CATALOG", &catalog)
        .env("PULP_BASE_URL", server.uri())
        .envs(env.iter().copied())
        .current_dir(dir.path())
        .args(["-v", "init", "--release", "1.0", "--dry-run"]);
    let start = Instant::now();
    let run: Run = c.output().unwrap().into();
    (run, start.elapsed())
}

/// A stub answering every GET with an empty page.
async fn empty_pulp() -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200).set_body_raw(EMPTY_PAGE, "application/json"))
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

/// Requests to Pulp's API (not to the token endpoint).
async fn api_requests(server: &MockServer) -> Vec<Request> {
    server
        .received_requests()
        .await
        .unwrap_or_default()
        .into_iter()
        .filter(|r| r.url.path().starts_with("/pulp/api/v3/"))
        .collect()
}

#[tokio::test]
async fn pulp_token_is_sent_as_bearer() {
    let server = empty_pulp().await;
    let (run, _) = run_against(&server, &[("PULP_TOKEN", "tok-from-env")]);
    run.success();
    let api = api_requests(&server).await;
    assert!(!api.is_empty(), "{}", run.stderr);
    for r in &api {
        assert_eq!(
            authorization(r).as_deref(),
            Some("Bearer tok-from-env"),
            "{}",
            r.url
        );
    }
    assert!(
        !run.stderr.contains("tok-from-env"),
        "token leaked:\n{}",
        run.stderr
    );
}

#[tokio::test]
async fn oauth2_variables_fetch_a_token_once_and_send_it() {
    let server = empty_pulp().await;
    Mock::given(method("POST"))
        .and(path("/token"))
        .respond_with(ResponseTemplate::new(200).set_body_raw(
            r#"{"access_token":"oauth-tok","token_type":"Bearer","expires_in":3600}"#,
            "application/json",
        ))
        .expect(1)
        .mount(&server)
        .await;
    let token_url = format!("{}/token", server.uri());
    let (run, _) = run_against(
        &server,
        &[
            ("PULP_CLIENT_ID", "ci-bot"),
            ("PULP_CLIENT_SECRET", "very-secret"),
            ("PULP_TOKEN_URL", &token_url),
        ],
    );
    run.success();
    let all = server.received_requests().await.unwrap_or_default();
    let token: Vec<_> = all.iter().filter(|r| r.url.path() == "/token").collect();
    assert_eq!(token.len(), 1, "token fetched once per command");
    // Client credentials go to the token endpoint as HTTP basic (base64 "ci-bot:very-secret"),
    // with the client-credentials grant.
    assert_eq!(
        authorization(token[0]).as_deref(),
        Some("Basic Y2ktYm90OnZlcnktc2VjcmV0")
    );
    assert!(String::from_utf8_lossy(&token[0].body).contains("grant_type=client_credentials"));
    let api = api_requests(&server).await;
    assert!(!api.is_empty(), "{}", run.stderr);
    for r in &api {
        assert_eq!(
            authorization(r).as_deref(),
            Some("Bearer oauth-tok"),
            "{}",
            r.url
        );
    }
    assert!(!run.stderr.contains("very-secret"), "secret leaked");
}

/// `PULP_SESSION=false` seen on the wire: no `login/`, basic auth on every request; without it
/// the binary logs in first.
#[tokio::test]
async fn pulp_session_false_sends_basic_auth_and_never_logs_in() {
    let creds = [("PULP_USERNAME", "admin"), ("PULP_PASSWORD", "pw")];
    let server = empty_pulp().await;
    let mut env = creds.to_vec();
    env.push(("PULP_SESSION", "false"));
    let (run, _) = run_against(&server, &env);
    run.success();
    let api = api_requests(&server).await;
    assert!(!api.is_empty());
    assert!(api.iter().all(|r| !r.url.path().ends_with("/login/")));
    for r in &api {
        // base64("admin:pw")
        assert_eq!(
            authorization(r).as_deref(),
            Some("Basic YWRtaW46cHc="),
            "{}",
            r.url
        );
    }
    // The contrast: by default the binary tries `POST login/` first.
    let server = empty_pulp().await;
    let (run, _) = run_against(&server, &creds);
    run.success();
    let all = server.received_requests().await.unwrap_or_default();
    assert!(
        all.iter()
            .any(|r| r.method.as_str() == "POST" && r.url.path() == "/pulp/api/v3/login/"),
        "session login attempted by default"
    );
}

/// `PULP_TIMEOUT=1`: a request the stub answers after 10 s times out after about a second and
/// is retried (the second answer is quick); with the default of 300 s it would wait 10 s.
#[tokio::test]
async fn pulp_timeout_makes_a_slow_request_time_out() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_raw(EMPTY_PAGE, "application/json")
                .set_delay(Duration::from_secs(10)),
        )
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200).set_body_raw(EMPTY_PAGE, "application/json"))
        .with_priority(2)
        .mount(&server)
        .await;
    let (run, took) = run_against(&server, &[("PULP_TIMEOUT", "1")]);
    run.success();
    assert!(took < Duration::from_secs(8), "took {took:?}");
    assert!(run.stderr.contains("timed out"), "{}", run.stderr);
    assert!(run.stderr.contains("retrying GET"), "{}", run.stderr);
}

/// Issue 9: with Pulp stopped, the first request fails within seconds (it used to retry for
/// 57 s in silence) and the cause is named.
#[tokio::test]
async fn connection_refused_on_the_first_request_fails_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let catalog = catalog(dir.path());
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let start = Instant::now();
    let run: Run = clean_cmd()
        .env("HOME", dir.path())
        .env("WHEELGATE_CATALOG", &catalog)
        .env("PULP_BASE_URL", format!("http://127.0.0.1:{port}"))
        .args(["status", "--release", "1.0"])
        .output()
        .unwrap()
        .into();
    let took = start.elapsed();
    run.code(1);
    assert!(took < Duration::from_secs(5), "took {took:?}");
    assert!(run.stderr.contains("connection refused"), "{}", run.stderr);
}

//! Session login against a wiremock stub that behaves like Pulp's `login/` endpoint and Django's
//! session and CSRF checks, including the failures a healthy local Pulp will not produce
//! (a proxy breaking the CSRF origin check, a session that expires mid-run, no `login/`).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;

use pulp_client::{
    ClientError, ConnectionSettings, PulpClient, RepositoryFields, Secret, SessionMode,
};

use wiremock::matchers::any;
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

const STATUS: &str = r#"{"versions":[{"component":"core","version":"3.123.1"}],"online_workers":[],"online_content_apps":[],"domain_enabled":false}"#;
const REPO: &str = r#"{"pulp_href":"/pulp/api/v3/repositories/python/python/0190/","name":"x","versions_href":"/pulp/api/v3/repositories/python/python/0190/versions/","latest_version_href":"/pulp/api/v3/repositories/python/python/0190/versions/0/","pulp_labels":{}}"#;
/// base64("admin:pw")
const BASIC: &str = "Basic YWRtaW46cHc=";

/// How the stub departs from a healthy Pulp.
#[derive(Default)]
struct Quirks {
    /// `login/` does not exist (older Pulp).
    no_login: bool,
    /// The CSRF origin check always fails (a proxy rewriting Host).
    csrf_broken: bool,
    /// Sessions are forgotten (expired, flushed) after this many session requests.
    session_lifetime: Option<usize>,
}

/// The value of a request header.
fn header(r: &Request, name: &str) -> Option<String> {
    r.headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

fn json(status: u16, body: &str) -> ResponseTemplate {
    ResponseTemplate::new(status).set_body_raw(body.to_owned(), "application/json")
}

/// Pulp's `login/` endpoint and Django's session and CSRF checks, as a wiremock responder.
struct DjangoLike {
    quirks: Quirks,
    password_checks: Arc<AtomicUsize>,
    session_uses: AtomicUsize,
    logged_out: AtomicBool,
}

impl Respond for DjangoLike {
    fn respond(&self, r: &Request) -> ResponseTemplate {
        let method = r.method.as_str();
        let path = r.url.path();
        let cookie = header(r, "cookie").unwrap_or_default();
        let has_session =
            cookie.contains("sessionid=s3ss10n") && !self.logged_out.load(Ordering::SeqCst);
        let basic_ok = header(r, "authorization").as_deref() == Some(BASIC);
        if header(r, "authorization").is_some() {
            self.password_checks.fetch_add(1, Ordering::SeqCst);
        }
        if path == "/pulp/api/v3/login/" {
            if self.quirks.no_login {
                return json(404, r#"{"detail":"Not found."}"#);
            }
            if method == "DELETE" && has_session {
                self.logged_out.store(true, Ordering::SeqCst);
                return ResponseTemplate::new(204);
            }
            if method == "POST" && basic_ok {
                return json(201, r#"{"pulp_href":"/pulp/api/v3/users/1/","username":"admin"}"#)
                    .append_header(
                        "Set-Cookie",
                        "csrftoken=cs4f; expires=Sun, 28 Nov 2027 00:42:27 GMT; Max-Age=31449600; Path=/; SameSite=Lax",
                    )
                    .append_header(
                        "Set-Cookie",
                        "sessionid=s3ss10n; HttpOnly; Max-Age=1209600; Path=/; SameSite=Lax",
                    );
            }
            return json(401, r#"{"detail":"Invalid username/password."}"#);
        }
        // Like Pulp: basic auth is checked first; a valid session needs CSRF on unsafe methods.
        let authenticated = if basic_ok {
            true
        } else if has_session {
            let n = self.session_uses.fetch_add(1, Ordering::SeqCst) + 1;
            if self.quirks.session_lifetime.is_some_and(|max| n > max) {
                false
            } else if method != "GET" {
                let token_ok = header(r, "x-csrftoken").as_deref() == Some("cs4f")
                    && cookie.contains("csrftoken=cs4f");
                // Django's origin check: `Origin` must be `http://` + the request's Host.
                let origin_ok = header(r, "origin")
                    .is_some_and(|o| header(r, "host").is_some_and(|h| o == format!("http://{h}")));
                if !token_ok || !origin_ok || self.quirks.csrf_broken {
                    return json(403, r#"{"detail":"CSRF Failed: Origin checking failed."}"#);
                }
                true
            } else {
                true
            }
        } else {
            false
        };
        if !authenticated {
            return json(
                401,
                r#"{"detail":"Authentication credentials were not provided."}"#,
            );
        }
        match (method, path) {
            ("GET", "/pulp/api/v3/status/") => json(200, STATUS),
            ("POST", "/pulp/api/v3/repositories/python/python/") => json(201, REPO),
            _ => json(404, r#"{"detail":"Not found."}"#),
        }
    }
}

/// A Pulp-like stub: the server (which records the requests) and the number of basic-auth
/// checks it performed (the expensive part on a real Pulp).
async fn pulp_stub(quirks: Quirks) -> (MockServer, Arc<AtomicUsize>) {
    let password_checks = Arc::new(AtomicUsize::new(0));
    let server = MockServer::start().await;
    Mock::given(any())
        .respond_with(DjangoLike {
            quirks,
            password_checks: password_checks.clone(),
            session_uses: AtomicUsize::new(0),
            logged_out: AtomicBool::new(false),
        })
        .mount(&server)
        .await;
    (server, password_checks)
}

async fn requests(server: &MockServer) -> Vec<Request> {
    server.received_requests().await.unwrap_or_default()
}

fn client(url: &str, session: Option<bool>) -> PulpClient {
    let mut cfg = ConnectionSettings {
        base_url: Some(url.to_owned()),
        username: Some("admin".into()),
        password: Some(Secret::new("pw")),
        session,
        ..Default::default()
    }
    .into_config()
    .unwrap();
    cfg.domains_enabled = Some(false);
    PulpClient::new(cfg).unwrap()
}

fn repo() -> RepositoryFields {
    RepositoryFields {
        name: Some("x".into()),
        ..Default::default()
    }
}

fn summary(requests: &[Request]) -> Vec<String> {
    requests
        .iter()
        .map(|h| {
            let what = format!("{} {}", h.method, h.url.path());
            let auth = if header(h, "authorization").is_some() {
                "basic"
            } else if header(h, "cookie").is_some() {
                "session"
            } else {
                "anonymous"
            };
            format!("{what} {auth}")
        })
        .collect()
}

#[tokio::test]
async fn one_password_check_then_the_session() {
    let (server, checks) = pulp_stub(Quirks::default()).await;
    let c = client(&server.uri(), None);
    c.status().await.unwrap();
    c.status().await.unwrap();
    c.create_repository(&repo()).await.unwrap();
    assert_eq!(c.session_mode(), SessionMode::All);
    c.logout().await.unwrap();
    assert_eq!(c.session_mode(), SessionMode::Off);
    c.status().await.unwrap();

    let heads = requests(&server).await;
    assert_eq!(
        summary(&heads),
        [
            "POST /pulp/api/v3/login/ basic",
            "GET /pulp/api/v3/status/ session",
            "GET /pulp/api/v3/status/ session",
            "POST /pulp/api/v3/repositories/python/python/ session",
            "DELETE /pulp/api/v3/login/ session",
            "GET /pulp/api/v3/status/ basic",
        ]
    );
    // The password was checked for the login and after the logout only.
    assert_eq!(checks.load(Ordering::SeqCst), 2);
    // Safe methods carry no CSRF token; unsafe ones carry token and origin.
    assert!(header(&heads[1], "x-csrftoken").is_none());
    assert_eq!(header(&heads[3], "x-csrftoken").as_deref(), Some("cs4f"));
    assert!(header(&heads[3], "origin")
        .unwrap()
        .starts_with("http://127.0.0.1:"));
}

#[tokio::test]
async fn csrf_refusal_falls_back_to_basic_for_unsafe_methods_only() {
    let (server, _) = pulp_stub(Quirks {
        csrf_broken: true,
        ..Default::default()
    })
    .await;
    let c = client(&server.uri(), None);
    c.create_repository(&repo()).await.unwrap();
    c.create_repository(&repo()).await.unwrap();
    c.status().await.unwrap();
    assert_eq!(c.session_mode(), SessionMode::SafeMethodsOnly);
    assert_eq!(
        summary(&requests(&server).await),
        [
            "POST /pulp/api/v3/login/ basic",
            // Refused by the CSRF check (before doing anything), so sent again with the password.
            "POST /pulp/api/v3/repositories/python/python/ session",
            "POST /pulp/api/v3/repositories/python/python/ basic",
            "POST /pulp/api/v3/repositories/python/python/ basic",
            "GET /pulp/api/v3/status/ session",
        ]
    );
}

#[tokio::test]
async fn an_expired_session_is_replaced_by_basic_auth() {
    let (server, _) = pulp_stub(Quirks {
        session_lifetime: Some(1),
        ..Default::default()
    })
    .await;
    let c = client(&server.uri(), None);
    for _ in 0..3 {
        c.status().await.unwrap();
    }
    assert_eq!(c.session_mode(), SessionMode::Off);
    assert_eq!(
        summary(&requests(&server).await),
        [
            "POST /pulp/api/v3/login/ basic",
            "GET /pulp/api/v3/status/ session",
            "GET /pulp/api/v3/status/ session",
            "GET /pulp/api/v3/status/ basic",
            "GET /pulp/api/v3/status/ basic",
        ]
    );
}

#[tokio::test]
async fn without_login_endpoint_basic_auth_throughout() {
    let (server, _) = pulp_stub(Quirks {
        no_login: true,
        ..Default::default()
    })
    .await;
    let c = client(&server.uri(), None);
    c.status().await.unwrap();
    c.create_repository(&repo()).await.unwrap();
    c.logout().await.unwrap();
    assert_eq!(
        summary(&requests(&server).await),
        [
            "POST /pulp/api/v3/login/ basic",
            "GET /pulp/api/v3/status/ basic",
            "POST /pulp/api/v3/repositories/python/python/ basic",
        ]
    );
}

#[tokio::test]
async fn sessions_can_be_turned_off() {
    let (server, checks) = pulp_stub(Quirks::default()).await;
    let c = client(&server.uri(), Some(false));
    c.status().await.unwrap();
    c.status().await.unwrap();
    assert_eq!(
        summary(&requests(&server).await),
        [
            "GET /pulp/api/v3/status/ basic",
            "GET /pulp/api/v3/status/ basic",
        ]
    );
    assert_eq!(checks.load(Ordering::SeqCst), 2);
    let env =
        ConnectionSettings::from_env(|k| (k == "PULP_SESSION").then(|| "false".into())).unwrap();
    assert_eq!(env.session, Some(false));
}

#[tokio::test]
async fn wrong_password_reads_as_an_auth_error_without_the_secret() {
    let (server, _) = pulp_stub(Quirks::default()).await;
    let mut cfg = ConnectionSettings {
        base_url: Some(server.uri()),
        username: Some("admin".into()),
        password: Some(Secret::new("not-the-password")),
        ..Default::default()
    }
    .into_config()
    .unwrap();
    cfg.domains_enabled = Some(false);
    let c = PulpClient::new(cfg).unwrap();
    let err = c.status().await.unwrap_err();
    assert!(matches!(err, ClientError::Auth { .. }), "{err:?}");
    assert!(!format!("{err} {err:?}").contains("not-the-password"));
    assert_eq!(c.session_mode(), SessionMode::Off);
}

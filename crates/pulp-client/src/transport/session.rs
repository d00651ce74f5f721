//! Session authentication: log in once with the password, then send a cookie.
//!
//! Pulp hashes a basic-auth password on every request (Django's PBKDF2: about 0.2 s of server
//! CPU each), while a session is one indexed lookup. A command that makes ten requests therefore
//! spends two seconds authenticating with basic auth and a quarter of a second with a session.
//!
//! The login is `POST {api_base}login/` with basic auth; Pulp answers 201 and sets a session
//! cookie and a CSRF cookie. Later requests send the cookies instead of `Authorization`; unsafe
//! methods also send the CSRF token (`X-CSRFToken`) and an `Origin` matching the server, as
//! Django requires. Anything unexpected falls back to basic auth, which always works:
//! - no `login/` endpoint (older Pulp) or no cookies in the answer: basic auth throughout;
//! - a request rejected (401/403) while using the session: basic auth from then on, and the
//!   request is sent again (it was refused before doing anything);
//! - a CSRF failure (e.g. a proxy that rewrites `Host`): basic auth for unsafe methods only.
//!
//! The cookies are kept in memory only and never logged; they are never sent to the content
//! app (the customer-path checks stay anonymous), because they are added per request rather than
//! by a cookie store.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use reqwest::header::{HeaderMap, HeaderValue, COOKIE, ORIGIN, SET_COOKIE};
use reqwest::Method;
use tokio::sync::OnceCell;
use tracing::Instrument;

use super::Transport;
use crate::config::Secret;
use crate::error::Result;

/// The header Django reads the CSRF token from.
pub(crate) const CSRF_HEADER: &str = "X-CSRFToken";

/// A logged-in session.
#[derive(Debug)]
pub(crate) struct Session {
    /// The `Cookie` header value (`sessionid=...; csrftoken=...`).
    cookie: Secret,
    /// The CSRF token, when the server set one.
    csrf: Option<Secret>,
}

impl Session {
    /// Read the cookies of a login answer. `None` when it set none.
    pub(crate) fn from_login_headers(headers: &HeaderMap) -> Option<Self> {
        let mut pairs = Vec::new();
        let mut csrf = None;
        for value in headers.get_all(SET_COOKIE) {
            let Ok(value) = value.to_str() else { continue };
            let first = value.split(';').next().unwrap_or("").trim();
            let Some((name, val)) = first.split_once('=') else {
                continue;
            };
            let (name, val) = (name.trim(), val.trim().trim_matches('"'));
            if name.is_empty() || val.is_empty() {
                continue;
            }
            // Django's CSRF cookie is `csrftoken` unless renamed; renamed ones still say csrf.
            if name.to_ascii_lowercase().contains("csrf") {
                csrf = Some(Secret::new(val));
            }
            pairs.push(format!("{name}={val}"));
        }
        if pairs.is_empty() {
            return None;
        }
        Some(Self {
            cookie: Secret::new(pairs.join("; ")),
            csrf,
        })
    }

    /// The headers that authenticate a request with this session.
    pub(crate) fn headers(&self, method: &Method, origin: &str) -> Option<HeaderMap> {
        let mut h = HeaderMap::new();
        let mut cookie = HeaderValue::from_str(self.cookie.expose()).ok()?;
        cookie.set_sensitive(true);
        h.insert(COOKIE, cookie);
        if !is_safe(method) {
            let mut token = HeaderValue::from_str(self.csrf.as_ref()?.expose()).ok()?;
            token.set_sensitive(true);
            h.insert(CSRF_HEADER, token);
            h.insert(ORIGIN, HeaderValue::from_str(origin).ok()?);
        }
        Some(h)
    }
}

/// Methods Django's CSRF protection lets through without a token.
pub(crate) fn is_safe(method: &Method) -> bool {
    matches!(
        *method,
        Method::GET | Method::HEAD | Method::OPTIONS | Method::TRACE
    )
}

/// What the client knows about its session.
#[derive(Debug, Default)]
pub(crate) struct SessionState {
    /// The login, done once on first use; `None` when it is not available.
    login: OnceCell<Option<Session>>,
    /// The server refused the session (or we logged out): basic auth for everything.
    rejected: AtomicBool,
    /// The server refused the CSRF check: basic auth for unsafe methods.
    csrf_rejected: AtomicBool,
}

/// Which requests a client authenticates with a session rather than the credentials.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionMode {
    /// None: no login yet, turned off, not available, refused, or logged out.
    Off,
    /// Safe methods only (the server refused the CSRF check for the others).
    SafeMethodsOnly,
    /// Every request.
    All,
}

impl SessionState {
    /// The session, logging in with `login` on first use; `None` when it may not be used for
    /// `method`.
    pub(crate) async fn get<F, Fut>(&self, method: &Method, login: F) -> Option<&Session>
    where
        F: FnOnce() -> Fut,
        Fut: std::future::Future<Output = Option<Session>>,
    {
        if !self.usable_for(method) {
            return None;
        }
        self.login.get_or_init(login).await.as_ref()
    }

    /// What the session covers now.
    pub(crate) fn mode(&self) -> SessionMode {
        match self.login.get() {
            Some(Some(_)) if !self.rejected.load(Ordering::Relaxed) => {
                if self.csrf_rejected.load(Ordering::Relaxed) {
                    SessionMode::SafeMethodsOnly
                } else {
                    SessionMode::All
                }
            }
            _ => SessionMode::Off,
        }
    }

    /// Stop using the session; returns it if it was in use (for logging out).
    pub(crate) fn end(&self) -> Option<&Session> {
        let was_rejected = self.rejected.swap(true, Ordering::Relaxed);
        match self.login.get() {
            Some(Some(s)) if !was_rejected => Some(s),
            _ => None,
        }
    }

    /// Whether the session may be used for this method (before logging in).
    pub(crate) fn usable_for(&self, method: &Method) -> bool {
        !self.rejected.load(Ordering::Relaxed)
            && (is_safe(method) || !self.csrf_rejected.load(Ordering::Relaxed))
    }

    /// Record that the server refused a request sent with the session.
    pub(crate) fn refused(&self, method: &Method, body: &str) {
        if !is_safe(method) && body.contains("CSRF") {
            self.csrf_rejected.store(true, Ordering::Relaxed);
        } else {
            self.rejected.store(true, Ordering::Relaxed);
        }
    }
}

impl Transport {
    /// `POST login/` with the password; `None` (and basic auth from then on) if that fails.
    pub(super) async fn login(&self) -> Option<Session> {
        let url = match self.api_url("login/").await {
            Ok(u) => u,
            Err(e) => {
                tracing::debug!(error = %e, "no session login: API base unknown");
                return None;
            }
        };
        let span =
            tracing::debug_span!("pulp", method = "POST", url = %url, purpose = "session login");
        async {
            let start = Instant::now();
            let builder = self
                .authorize_direct(self.http.post(url.clone()))
                .await
                .ok()?;
            let elapsed = |start: Instant| start.elapsed().as_millis() as u64;
            match builder.send().await {
                Ok(resp) if resp.status().is_success() => {
                    let session = Session::from_login_headers(resp.headers());
                    tracing::debug!(
                        status = resp.status().as_u16(),
                        elapsed_ms = elapsed(start),
                        session = session.is_some(),
                        "done"
                    );
                    session
                }
                Ok(resp) => {
                    tracing::debug!(
                        status = resp.status().as_u16(),
                        elapsed_ms = elapsed(start),
                        "no session; using basic auth on every request"
                    );
                    None
                }
                Err(e) => {
                    tracing::debug!(error = %e, "no session; using basic auth on every request");
                    None
                }
            }
        }
        .instrument(span)
        .await
    }

    /// Which requests are currently authenticated by a session (after a successful login).
    pub(crate) fn session_mode(&self) -> SessionMode {
        self.session.mode()
    }

    /// End the session, if one was opened (`DELETE login/`), so it does not linger in Pulp's
    /// session table. Later requests use basic auth again. Does nothing without a session.
    pub(crate) async fn logout(&self) -> Result<()> {
        let Some(session) = self.session.end() else {
            return Ok(());
        };
        let method = Method::DELETE;
        let url = self.api_url("login/").await?;
        let Some(headers) = session.headers(&method, &self.origin()) else {
            return Ok(());
        };
        let span = tracing::debug_span!("pulp", %method, %url, purpose = "session logout");
        let builder = self.http.delete(url.clone()).headers(headers);
        self.execute(builder, &method, &url)
            .instrument(span)
            .await
            .map(|_| ())
            .map_err(|e| e.error)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn login_headers(cookies: &[&str]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for c in cookies {
            h.append(SET_COOKIE, HeaderValue::from_str(c).unwrap());
        }
        h
    }

    #[test]
    fn reads_django_login_cookies() {
        let h = login_headers(&[
            "csrftoken=tok123; expires=Sun, 28 Nov 2027 00:42:27 GMT; Max-Age=31449600; Path=/; SameSite=Lax",
            "sessionid=sess456; expires=Sun, 13 Dec 2026 00:42:27 GMT; HttpOnly; Max-Age=1209600; Path=/; SameSite=Lax",
        ]);
        let s = Session::from_login_headers(&h).unwrap();
        assert_eq!(s.cookie.expose(), "csrftoken=tok123; sessionid=sess456");
        assert_eq!(s.csrf.as_ref().unwrap().expose(), "tok123");

        let get = s.headers(&Method::GET, "http://h:1").unwrap();
        assert_eq!(get[COOKIE], "csrftoken=tok123; sessionid=sess456");
        assert!(get.get(CSRF_HEADER).is_none(), "no token on safe methods");
        assert!(get[COOKIE].is_sensitive());

        let patch = s.headers(&Method::PATCH, "http://h:1").unwrap();
        assert_eq!(patch[CSRF_HEADER], "tok123");
        assert_eq!(patch[ORIGIN], "http://h:1");
    }

    #[test]
    fn no_cookies_means_no_session() {
        assert!(Session::from_login_headers(&HeaderMap::new()).is_none());
        assert!(Session::from_login_headers(&login_headers(&["=x", "y="])).is_none());
    }

    #[test]
    fn without_csrf_token_unsafe_methods_cannot_use_it() {
        let s = Session::from_login_headers(&login_headers(&["sessionid=abc; Path=/"])).unwrap();
        assert!(s.headers(&Method::GET, "http://h").is_some());
        assert!(s.headers(&Method::POST, "http://h").is_none());
    }

    #[test]
    fn refusals_narrow_what_the_session_is_used_for() {
        let st = SessionState::default();
        assert_eq!(st.mode(), SessionMode::Off, "no login yet");
        assert!(st.usable_for(&Method::POST));
        st.refused(
            &Method::POST,
            r#"{"detail":"CSRF Failed: Origin checking failed"}"#,
        );
        assert!(!st.usable_for(&Method::POST));
        assert!(st.usable_for(&Method::GET));
        st.refused(
            &Method::GET,
            r#"{"detail":"Authentication credentials were not provided."}"#,
        );
        assert!(!st.usable_for(&Method::GET));
    }
}

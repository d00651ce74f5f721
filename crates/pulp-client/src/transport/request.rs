//! Requests built without sending them (so tests can inspect them), and raw answers.

use bytes::Bytes;
use reqwest::header::HeaderMap;
use reqwest::{Method, StatusCode};
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::Value;
use url::Url;

use crate::error::{ClientError, Result};

pub use wheelgate_http::Idempotency;

/// A request body. Its `Debug` hides the values of secret fields (a remote's `client_key`,
/// `password`, `proxy_password`, a guard's `private_key`), wherever they are in the JSON.
#[derive(Clone, PartialEq)]
pub enum RequestBody {
    /// No body.
    Empty,
    /// A JSON body.
    Json(Value),
}

/// JSON fields whose values never appear in `Debug` output.
const SECRET_FIELDS: &[&str] = &[
    "client_key",
    "password",
    "proxy_password",
    "private_key",
    "token",
];

fn redacted(v: &Value) -> Value {
    match v {
        Value::Object(m) => Value::Object(
            m.iter()
                .map(|(k, v)| {
                    let v = if SECRET_FIELDS.contains(&k.as_str()) && !v.is_null() {
                        Value::String("****".into())
                    } else {
                        redacted(v)
                    };
                    (k.clone(), v)
                })
                .collect(),
        ),
        Value::Array(a) => Value::Array(a.iter().map(redacted).collect()),
        v => v.clone(),
    }
}

impl std::fmt::Debug for RequestBody {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Empty => f.write_str("Empty"),
            Self::Json(v) => f.debug_tuple("Json").field(&redacted(v)).finish(),
        }
    }
}

/// A request to the Pulp API, built but not sent (so tests can inspect it).
#[derive(Debug, Clone, PartialEq)]
pub struct ApiRequest {
    /// The method.
    pub method: Method,
    /// The full URL.
    pub url: Url,
    /// The body.
    pub body: RequestBody,
    /// Whether it may be retried after it possibly reached Pulp.
    pub idempotency: Idempotency,
}

impl ApiRequest {
    /// A request without body, with the method's default idempotency.
    pub fn new(method: Method, url: Url) -> Self {
        let idempotency = Idempotency::of(&method);
        Self {
            method,
            url,
            body: RequestBody::Empty,
            idempotency,
        }
    }

    /// Attach a JSON body.
    pub fn json(mut self, body: &impl Serialize) -> Result<Self> {
        let value = serde_json::to_value(body).map_err(|e| ClientError::Decode {
            method: self.method.clone(),
            url: self.url.to_string(),
            snippet: "(request body)".into(),
            source: e,
        })?;
        self.body = RequestBody::Json(value);
        Ok(self)
    }

    /// Mark as safe to retry even though the method is not idempotent.
    pub fn retry_safe(mut self) -> Self {
        self.idempotency = Idempotency::Idempotent;
        self
    }

    /// Add query parameters.
    pub fn query<K: AsRef<str>, V: AsRef<str>>(mut self, pairs: &[(K, V)]) -> Self {
        if !pairs.is_empty() {
            let mut q = self.url.query_pairs_mut();
            for (k, v) in pairs {
                q.append_pair(k.as_ref(), v.as_ref());
            }
        }
        self
    }
}

/// A raw answer: status, headers and body.
#[derive(Debug, Clone)]
pub struct ApiResponse {
    /// The status.
    pub status: StatusCode,
    /// The headers.
    pub headers: HeaderMap,
    /// The body.
    pub body: Bytes,
}

/// Decode a JSON body; the error names the request and shows the start of the body.
pub(crate) fn decode<T: DeserializeOwned>(method: &Method, url: &Url, body: &[u8]) -> Result<T> {
    serde_json::from_slice(body).map_err(|source| ClientError::Decode {
        method: method.clone(),
        url: url.to_string(),
        snippet: snippet(body),
        source,
    })
}

/// The start of a body, for messages.
pub(crate) fn snippet(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let mut s: String = text.chars().take(200).collect();
    if text.chars().count() > 200 {
        s.push('…');
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_hides_secret_fields() {
        let body = RequestBody::Json(serde_json::json!({
            "name": "r",
            "client_key": "-----BEGIN PRIVATE KEY-----\nsecretkey",
            "nested": [{"password": "hunter2", "proxy_password": null}],
        }));
        let shown = format!("{body:?}");
        assert!(
            !shown.contains("secretkey") && !shown.contains("hunter2"),
            "{shown}"
        );
        assert!(
            shown.contains("\"name\": String(\"r\")") || shown.contains("\"r\""),
            "{shown}"
        );
        assert!(shown.contains("proxy_password"), "{shown}");
    }

    #[test]
    fn requests_are_inspectable() {
        let url = Url::parse("https://h/pulp/api/v3/content/python/packages/").unwrap();
        let req = ApiRequest::new(Method::GET, url).query(&[("sha256", "ab"), ("limit", "100")]);
        assert_eq!(req.url.query(), Some("sha256=ab&limit=100"));
        assert_eq!(req.idempotency, Idempotency::Idempotent);
        let post = ApiRequest::new(Method::POST, req.url.clone());
        assert_eq!(post.idempotency, Idempotency::NotIdempotent);
        assert_eq!(post.retry_safe().idempotency, Idempotency::Idempotent);
    }
}

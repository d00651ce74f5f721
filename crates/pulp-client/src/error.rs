//! Typed errors of the Pulp client.
//!
//! Each stage has its own error type; messages describe their own layer only and the
//! cause hangs off `source()`, so a reporter that walks the chain prints each fact once.

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::Value;

use crate::hrefs::TaskHref;
use crate::task_state::TaskState;

/// The body of an error response from Pulp, kept both raw and decoded.
#[derive(Debug, Clone, Default)]
pub struct ApiErrorBody {
    /// The body as JSON, when it was JSON.
    pub json: Option<Value>,
    /// The body as text (truncated to a few KiB), when it was not JSON.
    pub text: Option<String>,
}

impl ApiErrorBody {
    const MAX_TEXT: usize = 4096;

    /// Build from the raw bytes of a response body.
    pub fn from_bytes(bytes: &[u8]) -> Self {
        match serde_json::from_slice::<Value>(bytes) {
            Ok(json) => Self {
                json: Some(json),
                text: None,
            },
            Err(_) => {
                let mut text = String::from_utf8_lossy(bytes).into_owned();
                if text.len() > Self::MAX_TEXT {
                    let mut cut = Self::MAX_TEXT;
                    while !text.is_char_boundary(cut) {
                        cut -= 1;
                    }
                    text.truncate(cut);
                    text.push('…');
                }
                let text = text.trim().to_owned();
                Self {
                    json: None,
                    text: (!text.is_empty()).then_some(text),
                }
            }
        }
    }

    /// Field errors of a validation answer (`{"field": ["message", ...], ...}`), flattened
    /// into `(field, message)` pairs. `detail` and `non_field_errors` come out with their key.
    pub fn field_errors(&self) -> Vec<(String, String)> {
        let mut out = Vec::new();
        if let Some(json) = &self.json {
            flatten_errors("", json, &mut out);
        }
        out
    }

    /// Pulp's `detail` message, if the body has one.
    pub fn detail(&self) -> Option<&str> {
        self.json.as_ref()?.get("detail")?.as_str()
    }
}

fn flatten_errors(prefix: &str, value: &Value, out: &mut Vec<(String, String)>) {
    match value {
        Value::Object(map) => {
            for (k, v) in map {
                let key = if prefix.is_empty() {
                    k.clone()
                } else {
                    format!("{prefix}.{k}")
                };
                flatten_errors(&key, v, out);
            }
        }
        Value::Array(items) => {
            for (i, v) in items.iter().enumerate() {
                match v {
                    Value::String(s) => out.push((prefix.to_owned(), s.clone())),
                    other => flatten_errors(&format!("{prefix}[{i}]"), other, out),
                }
            }
        }
        Value::String(s) => out.push((prefix.to_owned(), s.clone())),
        Value::Null => {}
        other => out.push((prefix.to_owned(), other.to_string())),
    }
}

impl fmt::Display for ApiErrorBody {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.json.is_some() {
            let fields = self.field_errors();
            if fields.is_empty() {
                return f.write_str("(empty error body)");
            }
            for (i, (field, msg)) in fields.iter().enumerate() {
                if i > 0 {
                    f.write_str("; ")?;
                }
                if field.is_empty() || field == "detail" {
                    write!(f, "{msg}")?;
                } else {
                    write!(f, "{field}: {msg}")?;
                }
            }
            Ok(())
        } else if let Some(text) = &self.text {
            f.write_str(text)
        } else {
            f.write_str("(empty body)")
        }
    }
}

/// An error talking to the Pulp REST API.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// Pulp refused the credentials (401) or the permission (403).
    #[error("{method} {url}: authentication failed ({status}): {body}")]
    Auth {
        /// The request method.
        method: Method,
        /// The URL (never with credentials).
        url: String,
        /// 401 or 403.
        status: StatusCode,
        /// Pulp's answer.
        body: ApiErrorBody,
    },
    /// Pulp answered with a non-success status.
    #[error("{method} {url}: Pulp answered {status}: {body}")]
    Http {
        /// The request method.
        method: Method,
        /// The URL (never with credentials).
        url: String,
        /// The HTTP status.
        status: StatusCode,
        /// Pulp's answer.
        body: ApiErrorBody,
    },
    /// The request could not be sent or the answer not read (connection refused, TLS, timeout...).
    #[error("{method} {url}: request failed")]
    Transport {
        /// The request method.
        method: Method,
        /// The URL (never with credentials).
        url: String,
        /// What went wrong (the cause in words, with reqwest's error chain below it).
        #[source]
        source: wheelgate_http::TransportError,
    },
    /// The answer was not the JSON we expected.
    #[error("{method} {url}: unexpected answer from Pulp ({snippet})")]
    Decode {
        /// The request method.
        method: Method,
        /// The URL.
        url: String,
        /// The start of the body.
        snippet: String,
        /// The decoding error.
        #[source]
        source: serde_json::Error,
    },
    /// Pulp answered 202 but the answer carried no task.
    #[error("{method} {url}: expected a task in Pulp's answer, got {snippet}")]
    NoTask {
        /// The request method.
        method: Method,
        /// The URL.
        url: String,
        /// The start of the body.
        snippet: String,
    },
    /// A href or URL could not be joined to the base URL.
    #[error("invalid URL or href {0:?}")]
    Url(String),
    /// A local file could not be read.
    #[error("cannot read {}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// An OAuth2 token could not be obtained.
    #[error("cannot obtain an OAuth2 token from {token_url}: {reason}")]
    Token {
        /// The token endpoint.
        token_url: String,
        /// What went wrong.
        reason: String,
    },
    /// Invalid connection settings.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// A task did not complete.
    #[error(transparent)]
    Task(Box<TaskError>),
    /// A chunked upload did not complete.
    #[error(transparent)]
    Upload(Box<UploadError>),
}

impl From<TaskError> for ClientError {
    fn from(e: TaskError) -> Self {
        Self::Task(Box::new(e))
    }
}

impl From<UploadError> for ClientError {
    fn from(e: UploadError) -> Self {
        Self::Upload(Box::new(e))
    }
}

impl ClientError {
    /// The HTTP status of an answer error, if this is one.
    pub fn status(&self) -> Option<StatusCode> {
        match self {
            Self::Auth { status, .. } | Self::Http { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// Whether Pulp answered 404.
    pub fn is_not_found(&self) -> bool {
        self.status() == Some(StatusCode::NOT_FOUND)
    }

    /// Pulp's error body, if this is an answer error.
    pub fn body(&self) -> Option<&ApiErrorBody> {
        match self {
            Self::Auth { body, .. } | Self::Http { body, .. } => Some(body),
            _ => None,
        }
    }
}

/// A Pulp task that did not complete.
#[derive(Debug, thiserror::Error)]
pub enum TaskError {
    /// The task failed; Pulp's description of why is included.
    #[error("task {name} ({href}) failed: {description}{}", code.as_deref().map(|c| format!(" [{c}]")).unwrap_or_default())]
    Failed {
        /// The task.
        href: TaskHref,
        /// The task's name (the Python function Pulp ran).
        name: String,
        /// Pulp's error description.
        description: String,
        /// Pulp's error code, e.g. `PLP0023`.
        code: Option<String>,
        /// Pulp's full error object.
        error: Value,
    },
    /// The task was canceled (by someone else, or by us after a timeout).
    #[error("task {name} ({href}) was canceled")]
    Canceled {
        /// The task.
        href: TaskHref,
        /// The task's name.
        name: String,
    },
    /// The task did not finish in time; it may still run.
    #[error("task {name} ({href}) did not finish within {waited:?} (last state: {state})")]
    Timeout {
        /// The task.
        href: TaskHref,
        /// The task's name.
        name: String,
        /// How long we waited.
        waited: Duration,
        /// The last state seen.
        state: TaskState,
    },
}

impl TaskError {
    /// The task involved.
    pub fn href(&self) -> &TaskHref {
        match self {
            Self::Failed { href, .. }
            | Self::Canceled { href, .. }
            | Self::Timeout { href, .. } => href,
        }
    }
}

/// A chunked upload that did not complete.
#[derive(Debug, thiserror::Error)]
pub enum UploadError {
    /// The file changed size while it was being uploaded.
    #[error("{} changed while uploading (expected {expected} bytes, read {read})", path.display())]
    FileChanged {
        /// The file.
        path: PathBuf,
        /// Size when the upload started.
        expected: u64,
        /// Bytes actually read.
        read: u64,
    },
    /// The whole-file digest did not match the one the caller expected.
    #[error("{} has sha256 {actual}, expected {expected}", path.display())]
    DigestMismatch {
        /// The file.
        path: PathBuf,
        /// What the caller said.
        expected: String,
        /// What we read.
        actual: String,
    },
    /// A chunk could not be uploaded.
    #[error("chunk {start}-{end} of {} failed", path.display())]
    Chunk {
        /// The file.
        path: PathBuf,
        /// First byte of the chunk.
        start: u64,
        /// Last byte of the chunk (inclusive).
        end: u64,
        /// Why.
        #[source]
        source: Box<ClientError>,
    },
}

/// Invalid connection settings.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// No base URL anywhere.
    #[error("no Pulp base URL configured; pass --base-url, set PULP_BASE_URL, or add base_url to the pulp-cli config")]
    MissingBaseUrl,
    /// A URL setting does not parse.
    #[error("invalid {what} {value:?}: {reason}")]
    InvalidUrl {
        /// Which setting.
        what: &'static str,
        /// Its value (never a credential).
        value: String,
        /// The parse error.
        reason: String,
    },
    /// A setting has a bad value.
    #[error("invalid {key} {value:?}: {reason}")]
    Invalid {
        /// Which setting.
        key: String,
        /// Its value (never a credential).
        value: String,
        /// What is wrong.
        reason: String,
    },
    /// A config file could not be read.
    #[error("cannot read {}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// A config file is not valid TOML.
    #[error("{} is not valid TOML: {message}", path.display())]
    Parse {
        /// The file.
        path: PathBuf,
        /// toml's message, with line and column.
        message: String,
    },
    /// The requested profile is not in the config file.
    #[error("profile {profile:?} not found in {}: expected a [cli-{profile}] section", path.display())]
    UnknownProfile {
        /// The profile.
        profile: String,
        /// The file.
        path: PathBuf,
    },
    /// A certificate, key or CA bundle cannot be used (the error names the file and why).
    #[error(transparent)]
    Tls(#[from] wheelgate_http::TlsConfigError),
    /// A domain was configured but the server has domains disabled.
    #[error("domain {domain:?} configured, but this Pulp does not have domains enabled; remove the domain setting")]
    DomainsDisabled {
        /// The configured domain.
        domain: String,
    },
    /// The HTTP client could not be built (reqwest's reasons are in the source chain).
    #[error(transparent)]
    HttpClient(#[from] wheelgate_http::ClientBuildError),
}

/// Result alias for the client.
pub type Result<T, E = ClientError> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn field_errors_flatten_validation_bodies() {
        let body = ApiErrorBody::from_bytes(
            br#"{"name":["This field must be unique."],"retain_repo_versions":["Ensure this value is greater than or equal to 1."]}"#,
        );
        let fields = body.field_errors();
        assert_eq!(
            fields,
            vec![
                ("name".to_owned(), "This field must be unique.".to_owned()),
                (
                    "retain_repo_versions".to_owned(),
                    "Ensure this value is greater than or equal to 1.".to_owned()
                ),
            ]
        );
        assert_eq!(
            body.to_string(),
            "name: This field must be unique.; retain_repo_versions: Ensure this value is greater than or equal to 1."
        );
    }

    #[test]
    fn detail_and_text_bodies_render() {
        let body = ApiErrorBody::from_bytes(br#"{"detail":"Invalid username/password."}"#);
        assert_eq!(body.detail(), Some("Invalid username/password."));
        assert_eq!(body.to_string(), "Invalid username/password.");
        let html = ApiErrorBody::from_bytes(b"<h1>Server Error (500)</h1>\n");
        assert_eq!(html.to_string(), "<h1>Server Error (500)</h1>");
        assert_eq!(ApiErrorBody::from_bytes(b"").to_string(), "(empty body)");
    }

    #[test]
    fn long_text_bodies_are_truncated() {
        let big = "é".repeat(5000);
        let body = ApiErrorBody::from_bytes(big.as_bytes());
        let text = body.text.unwrap_or_default();
        assert!(text.len() <= ApiErrorBody::MAX_TEXT + 3);
        assert!(text.ends_with('…'));
    }
}

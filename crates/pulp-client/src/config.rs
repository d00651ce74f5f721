//! Connection settings: where Pulp is and how to authenticate.
//!
//! Settings come in layers ([`ConnectionSettings`], every field optional) that are merged
//! by precedence — typically flags > environment > application config > pulp-cli's own
//! config file — and then turned into a validated [`ClientConfig`].

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use url::Url;

use crate::error::ConfigError;

/// The environment variables of the connection, as documented (docs/commands.md). Read by
/// [`ConnectionSettings::from_env`] and [`PulpCliSelection::from_env`] only.
pub mod vars {
    /// Pulp API server (`base_url`).
    pub const BASE_URL: &str = "PULP_BASE_URL";
    /// API root, e.g. `/pulp/` or `/api/pulp/`.
    pub const API_ROOT: &str = "PULP_API_ROOT";
    /// Domain.
    pub const DOMAIN: &str = "PULP_DOMAIN";
    /// User name (HTTP basic).
    pub const USERNAME: &str = "PULP_USERNAME";
    /// Password (HTTP basic).
    pub const PASSWORD: &str = "PULP_PASSWORD";
    /// A bearer token.
    pub const TOKEN: &str = "PULP_TOKEN";
    /// OAuth2 client id (client-credentials grant).
    pub const CLIENT_ID: &str = "PULP_CLIENT_ID";
    /// OAuth2 client secret.
    pub const CLIENT_SECRET: &str = "PULP_CLIENT_SECRET";
    /// OAuth2 token endpoint.
    pub const TOKEN_URL: &str = "PULP_TOKEN_URL";
    /// Client certificate (PEM).
    pub const CERT: &str = "PULP_CERT";
    /// Client key (PEM).
    pub const KEY: &str = "PULP_KEY";
    /// Extra CA bundle (PEM).
    pub const CA_BUNDLE: &str = "PULP_CA_BUNDLE";
    /// `true`/`false`: verify TLS certificates.
    pub const VERIFY_SSL: &str = "PULP_VERIFY_SSL";
    /// Timeout of one request, in seconds.
    pub const TIMEOUT: &str = "PULP_TIMEOUT";
    /// `true`/`false`: log in once and use a session (default true).
    pub const SESSION: &str = "PULP_SESSION";
    /// pulp-cli profile.
    pub const PROFILE: &str = "PULP_PROFILE";
    /// pulp-cli config file.
    pub const CLI_CONFIG: &str = "PULP_CLI_CONFIG";
}

/// Which pulp-cli config file and profile to read (the lowest settings layer).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PulpCliSelection {
    /// The profile (`[cli-PROFILE]`); `None`: `[cli]`.
    pub profile: Option<String>,
    /// The file; `None`: [`PulpCliConfig::default_path`].
    pub path: Option<PathBuf>,
}

impl PulpCliSelection {
    /// Read `PULP_PROFILE` and `PULP_CLI_CONFIG` through `get`; empty values count as unset.
    pub fn from_env(get: impl Fn(&str) -> Option<String>) -> Self {
        let var = |k: &str| get(k).filter(|v| !v.is_empty());
        Self {
            profile: var(vars::PROFILE),
            path: var(vars::CLI_CONFIG).map(PathBuf::from),
        }
    }

    /// Fill what this selection leaves unset from `lower` (this one wins).
    #[must_use]
    pub fn or(self, lower: PulpCliSelection) -> PulpCliSelection {
        Self {
            profile: self.profile.or(lower.profile),
            path: self.path.or(lower.path),
        }
    }
}

/// A secret string (password, token, client secret). Never printed.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wrap a secret.
    pub fn new(s: impl Into<String>) -> Self {
        Self(s.into())
    }

    /// The secret itself, for building a request. Do not log it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(****)")
    }
}

impl From<String> for Secret {
    fn from(s: String) -> Self {
        Self(s)
    }
}

/// OAuth2 client-credentials settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OAuth2 {
    /// The token endpoint.
    pub token_url: Url,
    /// The client id.
    pub client_id: String,
    /// The client secret.
    pub client_secret: Secret,
    /// Scopes to request (space-joined), if any.
    pub scopes: Vec<String>,
}

/// How requests authenticate (a client certificate is configured separately and can be combined).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Auth {
    /// No credentials (client certificate only, or anonymous).
    #[default]
    None,
    /// HTTP basic authentication.
    Basic {
        /// The user name.
        username: String,
        /// The password.
        password: Secret,
    },
    /// A bearer token.
    Bearer(Secret),
    /// OAuth2 client credentials; the token is fetched and cached until it expires.
    OAuth2(OAuth2),
}

/// Retry settings for transient failures.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetryConfig {
    /// First delay.
    pub initial_interval: Duration,
    /// Largest delay between attempts.
    pub max_interval: Duration,
    /// Give up after this much time spent retrying one request.
    pub max_elapsed: Duration,
}

impl Default for RetryConfig {
    fn default() -> Self {
        Self {
            initial_interval: Duration::from_millis(250),
            max_interval: Duration::from_secs(8),
            max_elapsed: Duration::from_secs(60),
        }
    }
}

/// A validated client configuration.
#[derive(Debug, Clone)]
pub struct ClientConfig {
    /// Scheme, host and port of the API server (any path is ignored; see `api_root`).
    pub base_url: Url,
    /// Pulp's API root, e.g. `/pulp/` or `/api/pulp/`; always starts and ends with `/`.
    pub api_root: String,
    /// The domain, when the server has domains enabled.
    pub domain: Option<String>,
    /// Whether the server has domains enabled; `None` asks the server on first use.
    pub domains_enabled: Option<bool>,
    /// Credentials.
    pub auth: Auth,
    /// Client certificate (PEM) for mTLS; may also contain the key.
    pub client_cert: Option<PathBuf>,
    /// Client key (PEM) when not in `client_cert`.
    pub client_key: Option<PathBuf>,
    /// Extra CA bundle (PEM) to trust.
    pub ca_bundle: Option<PathBuf>,
    /// Verify TLS certificates (turn off only when asked).
    pub verify_ssl: bool,
    /// Timeout of one whole request.
    pub timeout: Duration,
    /// Timeout for establishing a connection.
    pub connect_timeout: Duration,
    /// User-Agent header.
    pub user_agent: String,
    /// Retry settings.
    pub retry: RetryConfig,
    /// With basic auth, log in once (`POST login/`) and send the session cookie instead of the
    /// password on every request. Pulp re-hashes a basic-auth password on each request
    /// (about 0.2 s of server CPU), a session is looked up in about a millisecond. Falls back to
    /// basic auth by itself where the server has no `login/` endpoint or rejects the session.
    pub session_login: bool,
}

impl ClientConfig {
    /// A configuration with defaults for everything but the base URL.
    pub fn new(base_url: Url) -> Self {
        Self {
            base_url,
            api_root: "/pulp/".to_owned(),
            domain: None,
            domains_enabled: None,
            auth: Auth::None,
            client_cert: None,
            client_key: None,
            ca_bundle: None,
            verify_ssl: true,
            timeout: Duration::from_secs(300),
            connect_timeout: Duration::from_secs(10),
            user_agent: concat!("pulp-client-rs/", env!("CARGO_PKG_VERSION")).to_owned(),
            retry: RetryConfig::default(),
            session_login: true,
        }
    }
}

/// One layer of connection settings; every field is optional. Keys follow pulp-cli's names.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ConnectionSettings {
    /// `base_url`.
    pub base_url: Option<String>,
    /// `api_root`.
    pub api_root: Option<String>,
    /// `domain`.
    pub domain: Option<String>,
    /// `username`.
    pub username: Option<String>,
    /// `password`.
    pub password: Option<Secret>,
    /// A bearer token (`token`, not a pulp-cli key).
    pub token: Option<Secret>,
    /// `client_id` (OAuth2).
    pub client_id: Option<String>,
    /// `client_secret` (OAuth2).
    pub client_secret: Option<Secret>,
    /// OAuth2 token endpoint (`token_url`, not a pulp-cli key: pulp-cli reads it from the API schema).
    pub token_url: Option<String>,
    /// `cert`.
    pub cert: Option<PathBuf>,
    /// `key`.
    pub key: Option<PathBuf>,
    /// CA bundle (`ca_bundle`; pulp-cli takes it from `PULP_CA_BUNDLE`).
    pub ca_bundle: Option<PathBuf>,
    /// `verify_ssl`.
    pub verify_ssl: Option<bool>,
    /// `timeout` in seconds.
    pub timeout: Option<u64>,
    /// Log in once and use a session instead of basic auth on every request (`session`, not a
    /// pulp-cli key; default true). See [`ClientConfig::session_login`].
    pub session: Option<bool>,
}

macro_rules! merge_fields {
    ($hi:ident, $lo:ident, $($f:ident),*) => {
        ConnectionSettings { $($f: $hi.$f.or($lo.$f),)* }
    };
}

impl ConnectionSettings {
    /// Fill the fields this layer leaves unset from `lower` (this layer wins). When this layer
    /// names a way to authenticate (a username, a token or an OAuth2 client id), the lower
    /// layer's credentials of the other ways are dropped: `--token` on the command line beats
    /// `PULP_USERNAME` in the environment, while `--username` still takes `PULP_PASSWORD`.
    #[must_use]
    pub fn or(self, lower: ConnectionSettings) -> ConnectionSettings {
        let hi = self;
        let mut lo = lower;
        let basic = hi.username.is_some();
        let bearer = hi.token.is_some();
        let oauth = hi.client_id.is_some();
        if bearer || oauth {
            lo.username = None;
            lo.password = None;
        }
        if basic || oauth {
            lo.token = None;
        }
        if basic || bearer {
            lo.client_id = None;
            lo.client_secret = None;
        }
        merge_fields!(
            hi,
            lo,
            base_url,
            api_root,
            domain,
            username,
            password,
            token,
            client_id,
            client_secret,
            token_url,
            cert,
            key,
            ca_bundle,
            verify_ssl,
            timeout,
            session
        )
    }

    /// Read the `PULP_*` connection variables ([`vars`]) through `get` (pass
    /// `|k| std::env::var(k).ok()` for the process environment). Empty values count as unset.
    /// This is the one place the variables are read.
    pub fn from_env(get: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let var = |k: &str| get(k).filter(|v| !v.is_empty());
        Ok(Self {
            base_url: var(vars::BASE_URL),
            api_root: var(vars::API_ROOT),
            domain: var(vars::DOMAIN),
            username: var(vars::USERNAME),
            password: var(vars::PASSWORD).map(Secret),
            token: var(vars::TOKEN).map(Secret),
            client_id: var(vars::CLIENT_ID),
            client_secret: var(vars::CLIENT_SECRET).map(Secret),
            token_url: var(vars::TOKEN_URL),
            cert: var(vars::CERT).map(PathBuf::from),
            key: var(vars::KEY).map(PathBuf::from),
            ca_bundle: var(vars::CA_BUNDLE).map(PathBuf::from),
            verify_ssl: var(vars::VERIFY_SSL)
                .map(|v| parse_bool(vars::VERIFY_SSL, &v))
                .transpose()?,
            timeout: var(vars::TIMEOUT)
                .map(|v| {
                    v.trim().parse().map_err(|_| ConfigError::Invalid {
                        key: vars::TIMEOUT.into(),
                        value: v.clone(),
                        reason: "expected a number of seconds".into(),
                    })
                })
                .transpose()?,
            session: var(vars::SESSION)
                .map(|v| parse_bool(vars::SESSION, &v))
                .transpose()?,
        })
    }

    /// Validate and build the client configuration.
    pub fn into_config(self) -> Result<ClientConfig, ConfigError> {
        let raw = self.base_url.ok_or(ConfigError::MissingBaseUrl)?;
        let base_url = parse_base_url(&raw)?;
        let mut cfg = ClientConfig::new(base_url);
        if let Some(root) = self.api_root {
            cfg.api_root = normalize_api_root(&root)?;
        }
        cfg.domain = self.domain.filter(|d| !d.is_empty());
        if let Some(d) = &cfg.domain {
            if d.contains('/') || d.contains('?') || d.contains('#') {
                return Err(ConfigError::Invalid {
                    key: "domain".into(),
                    value: d.clone(),
                    reason: "a domain name cannot contain '/', '?' or '#'".into(),
                });
            }
        }
        cfg.auth = match (
            self.username,
            self.password,
            self.token,
            self.client_id,
            self.client_secret,
        ) {
            (Some(username), Some(password), _, _, _) => Auth::Basic { username, password },
            (Some(username), None, _, _, _) => {
                return Err(ConfigError::Invalid {
                    key: "password".into(),
                    value: format!("(unset for user {username})"),
                    reason: "a username needs a password (--password or PULP_PASSWORD)".into(),
                })
            }
            (None, _, Some(token), _, _) => Auth::Bearer(token),
            (None, _, None, Some(client_id), Some(client_secret)) => {
                let raw = self.token_url.ok_or_else(|| ConfigError::Invalid {
                    key: "token_url".into(),
                    value: "(unset)".into(),
                    reason:
                        "OAuth2 client credentials need the token endpoint (--token-url or PULP_TOKEN_URL)"
                            .into(),
                })?;
                let token_url = Url::parse(&raw).map_err(|e| ConfigError::InvalidUrl {
                    what: "token_url",
                    value: raw.clone(),
                    reason: e.to_string(),
                })?;
                Auth::OAuth2(OAuth2 {
                    token_url,
                    client_id,
                    client_secret,
                    scopes: Vec::new(),
                })
            }
            (None, _, None, Some(_), None) => {
                return Err(ConfigError::Invalid {
                    key: "client_secret".into(),
                    value: "(unset)".into(),
                    reason:
                        "--client-id (PULP_CLIENT_ID) needs --client-secret (PULP_CLIENT_SECRET)"
                            .into(),
                })
            }
            _ => Auth::None,
        };
        cfg.client_cert = self.cert;
        cfg.client_key = self.key;
        cfg.ca_bundle = self.ca_bundle;
        cfg.verify_ssl = self.verify_ssl.unwrap_or(true);
        cfg.session_login = self.session.unwrap_or(true);
        if let Some(t) = self.timeout {
            if t > 0 {
                cfg.timeout = Duration::from_secs(t);
            }
        }
        Ok(cfg)
    }
}

fn parse_bool(key: &str, v: &str) -> Result<bool, ConfigError> {
    match v.to_ascii_lowercase().as_str() {
        "1" | "true" | "yes" | "on" => Ok(true),
        "0" | "false" | "no" | "off" => Ok(false),
        _ => Err(ConfigError::Invalid {
            key: key.into(),
            value: v.into(),
            reason: "expected true or false".into(),
        }),
    }
}

/// Parse a base URL; it must be http(s) and carry no credentials.
pub fn parse_base_url(raw: &str) -> Result<Url, ConfigError> {
    let url = Url::parse(raw).map_err(|e| ConfigError::InvalidUrl {
        what: "base URL",
        value: raw.to_owned(),
        reason: e.to_string(),
    })?;
    if url.scheme() != "http" && url.scheme() != "https" {
        return Err(ConfigError::InvalidUrl {
            what: "base URL",
            value: redact_url(&url),
            reason: "expected http:// or https://".into(),
        });
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(ConfigError::InvalidUrl {
            what: "base URL",
            value: redact_url(&url),
            reason: "put credentials in --username/--password, not in the URL".into(),
        });
    }
    if url.host_str().is_none() {
        return Err(ConfigError::InvalidUrl {
            what: "base URL",
            value: raw.to_owned(),
            reason: "no host".into(),
        });
    }
    Ok(url)
}

/// Normalise an API root to `/…/`.
pub fn normalize_api_root(root: &str) -> Result<String, ConfigError> {
    let trimmed = root.trim().trim_matches('/');
    if trimmed.contains("//") || trimmed.contains('?') || trimmed.contains('#') {
        return Err(ConfigError::Invalid {
            key: "api_root".into(),
            value: root.into(),
            reason: "expected a path such as /pulp/ or /api/pulp/".into(),
        });
    }
    if trimmed.is_empty() {
        Ok("/".to_owned())
    } else {
        Ok(format!("/{trimmed}/"))
    }
}

/// A URL safe to print: user info replaced by `****`.
pub fn redact_url(url: &Url) -> String {
    let mut u = url.clone();
    if !u.username().is_empty() {
        let _ = u.set_username("****");
    }
    if u.password().is_some() {
        let _ = u.set_password(Some("****"));
    }
    u.to_string()
}

/// pulp-cli's configuration file (`~/.config/pulp/cli.toml`): `[cli]` and `[cli-PROFILE]`.
#[derive(Debug, Clone)]
pub struct PulpCliConfig {
    path: PathBuf,
    sections: BTreeMap<String, toml::Table>,
}

impl PulpCliConfig {
    /// The default location: `$XDG_CONFIG_HOME/pulp/cli.toml`, else `~/.config/pulp/cli.toml`.
    pub fn default_path() -> Option<PathBuf> {
        if let Some(x) = std::env::var_os("XDG_CONFIG_HOME").filter(|v| !v.is_empty()) {
            return Some(PathBuf::from(x).join("pulp").join("cli.toml"));
        }
        std::env::var_os("HOME").filter(|v| !v.is_empty()).map(|h| {
            PathBuf::from(h)
                .join(".config")
                .join("pulp")
                .join("cli.toml")
        })
    }

    /// Read and parse a pulp-cli config file.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_owned(),
            source,
        })?;
        Self::parse(path, &text)
    }

    /// Parse the text of a pulp-cli config file (`path` is used in messages).
    pub fn parse(path: &Path, text: &str) -> Result<Self, ConfigError> {
        let table: toml::Table = text
            .parse()
            .map_err(|e: toml::de::Error| ConfigError::Parse {
                path: path.to_owned(),
                message: e.to_string(),
            })?;
        let mut sections = BTreeMap::new();
        for (k, v) in table {
            if let toml::Value::Table(t) = v {
                sections.insert(k, t);
            }
        }
        Ok(Self {
            path: path.to_owned(),
            sections,
        })
    }

    /// The profiles defined (`cli` is the default one, `cli-NAME` gives `NAME`).
    pub fn profiles(&self) -> Vec<String> {
        self.sections
            .keys()
            .filter_map(|k| k.strip_prefix("cli-").map(str::to_owned))
            .collect()
    }

    /// The settings of `profile` (`None`: the `[cli]` section; a missing `[cli]` is empty).
    pub fn settings(&self, profile: Option<&str>) -> Result<ConnectionSettings, ConfigError> {
        let section = match profile {
            None => match self.sections.get("cli") {
                Some(s) => s,
                None => return Ok(ConnectionSettings::default()),
            },
            Some(p) => self.sections.get(&format!("cli-{p}")).ok_or_else(|| {
                ConfigError::UnknownProfile {
                    profile: p.to_owned(),
                    path: self.path.clone(),
                }
            })?,
        };
        let s = |key: &str| -> Result<Option<String>, ConfigError> {
            match section.get(key) {
                None => Ok(None),
                Some(toml::Value::String(v)) if v.is_empty() => Ok(None),
                Some(toml::Value::String(v)) => Ok(Some(v.clone())),
                Some(other) => Err(ConfigError::Invalid {
                    key: format!("{key} in {}", self.path.display()),
                    value: other.type_str().to_owned(),
                    reason: "expected a string".into(),
                }),
            }
        };
        let verify_ssl = match section.get("verify_ssl") {
            None => None,
            Some(toml::Value::Boolean(b)) => Some(*b),
            Some(other) => {
                return Err(ConfigError::Invalid {
                    key: format!("verify_ssl in {}", self.path.display()),
                    value: other.to_string(),
                    reason: "expected true or false".into(),
                })
            }
        };
        let timeout = match section.get("timeout") {
            None => None,
            Some(toml::Value::Integer(i)) if *i >= 0 => Some(*i as u64),
            Some(other) => {
                return Err(ConfigError::Invalid {
                    key: format!("timeout in {}", self.path.display()),
                    value: other.to_string(),
                    reason: "expected a number of seconds".into(),
                })
            }
        };
        Ok(ConnectionSettings {
            base_url: s("base_url")?,
            api_root: s("api_root")?,
            domain: s("domain")?,
            username: s("username")?,
            password: s("password")?.map(Secret),
            token: s("token")?.map(Secret),
            client_id: s("client_id")?,
            client_secret: s("client_secret")?.map(Secret),
            token_url: s("token_url")?,
            cert: s("cert")?.map(PathBuf::from),
            key: s("key")?.map(PathBuf::from),
            ca_bundle: s("ca_bundle")?.map(PathBuf::from),
            verify_ssl,
            timeout,
            session: None,
        })
    }

    /// The file this was read from.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CLI_TOML: &str = r#"
[cli]
base_url = "https://pulp.example.com"
api_root = "/api/pulp/"
domain = "public-rhai"
username = "ci"
password = "s3cret"
verify_ssl = true
format = "json"
plugins = ["python"]

[cli-local]
base_url = "http://127.0.0.1:24817"
username = "admin"
password = "password"
verify_ssl = false
timeout = 30
"#;

    #[test]
    fn reads_default_section_and_profiles() {
        let cfg = PulpCliConfig::parse(Path::new("cli.toml"), CLI_TOML).unwrap();
        assert_eq!(cfg.profiles(), vec!["local".to_owned()]);
        let main = cfg.settings(None).unwrap();
        assert_eq!(main.base_url.as_deref(), Some("https://pulp.example.com"));
        assert_eq!(main.domain.as_deref(), Some("public-rhai"));
        assert_eq!(main.password, Some(Secret::new("s3cret")));
        let local = cfg.settings(Some("local")).unwrap();
        assert_eq!(local.base_url.as_deref(), Some("http://127.0.0.1:24817"));
        assert_eq!(local.verify_ssl, Some(false));
        assert_eq!(local.timeout, Some(30));
        assert_eq!(local.api_root, None);
        let err = cfg.settings(Some("nope")).unwrap_err();
        assert!(err.to_string().contains("[cli-nope]"), "{err}");
    }

    #[test]
    fn bad_toml_names_file_and_line() {
        let err =
            PulpCliConfig::parse(Path::new("/x/cli.toml"), "[cli]\nbase_url = \n").unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains("/x/cli.toml"), "{msg}");
        assert!(msg.contains("line 2"), "{msg}");
    }

    #[test]
    fn precedence_merges_layers() {
        let flags = ConnectionSettings {
            username: Some("flag-user".into()),
            password: Some(Secret::new("p")),
            ..Default::default()
        };
        let env = ConnectionSettings::from_env(|k| match k {
            "PULP_BASE_URL" => Some("http://env:1".into()),
            "PULP_USERNAME" => Some("env-user".into()),
            "PULP_DOMAIN" => Some(String::new()),
            _ => None,
        })
        .unwrap();
        let file = PulpCliConfig::parse(Path::new("c"), CLI_TOML)
            .unwrap()
            .settings(None)
            .unwrap();
        let merged = flags.or(env).or(file);
        assert_eq!(merged.base_url.as_deref(), Some("http://env:1"));
        assert_eq!(merged.username.as_deref(), Some("flag-user"));
        assert_eq!(merged.domain.as_deref(), Some("public-rhai"));
        let cfg = merged.into_config().unwrap();
        assert_eq!(cfg.api_root, "/api/pulp/");
        assert!(matches!(cfg.auth, Auth::Basic { ref username, .. } if username == "flag-user"));
    }

    #[test]
    fn a_higher_layer_choosing_an_auth_method_drops_the_others_below() {
        let env = ConnectionSettings::from_env(|k| match k {
            "PULP_BASE_URL" => Some("http://env:1".into()),
            "PULP_USERNAME" => Some("env-user".into()),
            "PULP_PASSWORD" => Some("env-pw".into()),
            _ => None,
        })
        .unwrap();
        let token_flag = ConnectionSettings {
            token: Some(Secret::new("t")),
            ..Default::default()
        };
        let cfg = token_flag.or(env.clone()).into_config().unwrap();
        assert!(matches!(cfg.auth, Auth::Bearer(_)), "{:?}", cfg.auth);
        // A username flag still takes the password from the environment.
        let user_flag = ConnectionSettings {
            username: Some("flag-user".into()),
            ..Default::default()
        };
        let cfg = user_flag.or(env).into_config().unwrap();
        assert!(
            matches!(cfg.auth, Auth::Basic { ref username, ref password } if username == "flag-user" && password.expose() == "env-pw")
        );
    }

    #[test]
    fn every_variable_is_read() {
        let all = [
            (vars::BASE_URL, "http://h:1"),
            (vars::API_ROOT, "/api/pulp/"),
            (vars::DOMAIN, "d"),
            (vars::USERNAME, "u"),
            (vars::PASSWORD, "p"),
            (vars::TOKEN, "t"),
            (vars::CLIENT_ID, "ci"),
            (vars::CLIENT_SECRET, "cs"),
            (vars::TOKEN_URL, "http://h:2/token"),
            (vars::CERT, "/c.pem"),
            (vars::KEY, "/k.pem"),
            (vars::CA_BUNDLE, "/ca.pem"),
            (vars::VERIFY_SSL, "false"),
            (vars::TIMEOUT, "7"),
            (vars::SESSION, "false"),
            (vars::PROFILE, "prof"),
            (vars::CLI_CONFIG, "/cli.toml"),
        ];
        let get = |k: &str| {
            all.iter()
                .find(|(n, _)| *n == k)
                .map(|(_, v)| v.to_string())
        };
        let s = ConnectionSettings::from_env(get).unwrap();
        assert_eq!(
            s,
            ConnectionSettings {
                base_url: Some("http://h:1".into()),
                api_root: Some("/api/pulp/".into()),
                domain: Some("d".into()),
                username: Some("u".into()),
                password: Some(Secret::new("p")),
                token: Some(Secret::new("t")),
                client_id: Some("ci".into()),
                client_secret: Some(Secret::new("cs")),
                token_url: Some("http://h:2/token".into()),
                cert: Some("/c.pem".into()),
                key: Some("/k.pem".into()),
                ca_bundle: Some("/ca.pem".into()),
                verify_ssl: Some(false),
                timeout: Some(7),
                session: Some(false),
            }
        );
        let cfg = s.into_config().unwrap();
        assert_eq!(cfg.timeout, Duration::from_secs(7));
        assert!(!cfg.session_login);
        assert!(!cfg.verify_ssl);
        assert_eq!(
            PulpCliSelection::from_env(get),
            PulpCliSelection {
                profile: Some("prof".into()),
                path: Some("/cli.toml".into()),
            }
        );
        assert!(
            ConnectionSettings::from_env(|k| (k == vars::TIMEOUT).then(|| "soon".into())).is_err()
        );
    }

    #[test]
    fn validation_errors() {
        assert!(matches!(
            ConnectionSettings::default().into_config(),
            Err(ConfigError::MissingBaseUrl)
        ));
        let with_creds = ConnectionSettings {
            base_url: Some("http://admin:pw@host/".into()),
            ..Default::default()
        };
        let msg = with_creds.into_config().unwrap_err().to_string();
        assert!(!msg.contains("pw@"), "secret leaked: {msg}");
        let user_only = ConnectionSettings {
            base_url: Some("http://host/".into()),
            username: Some("u".into()),
            ..Default::default()
        };
        assert!(user_only.into_config().is_err());
        assert!(
            ConnectionSettings::from_env(|k| (k == "PULP_VERIFY_SSL").then(|| "maybe".into()))
                .is_err()
        );
    }

    #[test]
    fn api_root_normalisation() {
        assert_eq!(normalize_api_root("api/pulp").unwrap(), "/api/pulp/");
        assert_eq!(normalize_api_root("/pulp/").unwrap(), "/pulp/");
        assert_eq!(normalize_api_root("/").unwrap(), "/");
        assert!(normalize_api_root("/a//b/").is_err());
    }

    #[test]
    fn secrets_do_not_debug_print() {
        let s = ConnectionSettings {
            password: Some(Secret::new("hunter2")),
            ..Default::default()
        };
        assert!(!format!("{s:?}").contains("hunter2"));
    }
}

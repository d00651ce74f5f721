//! The customer path: PEP 691 JSON simple index pages as pip/uv fetch them.

use std::collections::BTreeMap;

use reqwest::header::ACCEPT;
use reqwest::Method;
use serde::{Deserialize, Serialize};
use tracing::Instrument;
use url::Url;

use crate::client::PulpClient;
use crate::error::{ClientError, Result};

/// PEP 691 JSON media type.
pub const SIMPLE_JSON: &str = "application/vnd.pypi.simple.v1+json";

/// One file on a project page.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
pub struct SimpleFile {
    /// File name.
    pub filename: String,
    /// Download URL (may be relative to the page).
    pub url: String,
    /// Hashes by algorithm.
    #[serde(default)]
    pub hashes: BTreeMap<String, String>,
    /// `Requires-Python`.
    #[serde(default, rename = "requires-python")]
    pub requires_python: Option<String>,
    /// Yanked flag or reason.
    #[serde(default)]
    pub yanked: serde_json::Value,
}

/// A project page (`/simple/<project>/`).
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct SimpleProject {
    /// Normalised project name.
    pub name: String,
    /// Its files.
    #[serde(default)]
    pub files: Vec<SimpleFile>,
}

/// A project entry on the root page.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct SimpleProjectRef {
    /// Project name.
    pub name: String,
}

/// The root page (`/simple/`).
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct SimpleRoot {
    /// Projects.
    #[serde(default)]
    pub projects: Vec<SimpleProjectRef>,
}

/// PEP 503 normalisation of a project name.
pub fn normalize_project(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut last_sep = false;
    for c in name.chars() {
        if c == '-' || c == '_' || c == '.' {
            if !last_sep {
                out.push('-');
            }
            last_sep = true;
        } else {
            out.push(c.to_ascii_lowercase());
            last_sep = false;
        }
    }
    out
}

impl PulpClient {
    async fn simple_get<T: serde::de::DeserializeOwned>(&self, url: Url) -> Result<Option<T>> {
        let span = tracing::debug_span!("simple", %url);
        let builder = self.http().get(url.clone()).header(ACCEPT, SIMPLE_JSON);
        match self
            .execute(builder, &Method::GET, &url)
            .instrument(span)
            .await
        {
            Ok(resp) => Ok(Some(Self::decode(&Method::GET, &url, &resp.body)?)),
            Err(e) if e.error.is_not_found() => Ok(None),
            Err(e) => Err(e.error),
        }
    }

    /// Fetch the root page of a simple index (`index_url` ends with `/simple/`), anonymously.
    pub async fn simple_root(&self, index_url: &Url) -> Result<Option<SimpleRoot>> {
        self.simple_get(index_url.clone()).await
    }

    /// Fetch one project's page, anonymously, as pip would. `None` when the index has no such project.
    pub async fn simple_project(
        &self,
        index_url: &Url,
        project: &str,
    ) -> Result<Option<SimpleProject>> {
        let url = index_url
            .join(&format!("{}/", normalize_project(project)))
            .map_err(|_| ClientError::Url(project.to_owned()))?;
        self.simple_get(url).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pep503() {
        assert_eq!(normalize_project("Foo.Bar__baz"), "foo-bar-baz");
        assert_eq!(normalize_project("torch"), "torch");
    }

    #[test]
    fn parses_pep691_project() {
        let p: SimpleProject = serde_json::from_str(
            r#"{"meta":{"api-version":"1.1"},"name":"demo","files":[{"filename":"demo-1.0-py3-none-any.whl","url":"../../x","hashes":{"sha256":"ab"},"requires-python":">=3.9","yanked":false}]}"#,
        )
        .unwrap();
        assert_eq!(p.files[0].hashes["sha256"], "ab");
        assert_eq!(p.files[0].requires_python.as_deref(), Some(">=3.9"));
    }
}

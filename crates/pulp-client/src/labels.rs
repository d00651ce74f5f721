//! Labels on repositories and distributions (`set_label/`, `unset_label/`).

use reqwest::Method;
use serde_json::json;

use crate::client::PulpClient;
use crate::error::{ClientError, Result};
use crate::ApiRequest;

impl PulpClient {
    /// Set one label on an object (repository or distribution href). Synchronous and atomic.
    pub async fn set_label(&self, href: &str, key: &str, value: &str) -> Result<()> {
        let url = self
            .href_url(href)?
            .join("set_label/")
            .map_err(|_| ClientError::Url(href.to_owned()))?;
        let req = ApiRequest::new(Method::POST, url)
            .json(&json!({"key": key, "value": value}))?
            .retry_safe();
        self.send(req).await?;
        Ok(())
    }

    /// Remove one label from an object. Removing an absent label is an error from Pulp.
    pub async fn unset_label(&self, href: &str, key: &str) -> Result<()> {
        let url = self
            .href_url(href)?
            .join("unset_label/")
            .map_err(|_| ClientError::Url(href.to_owned()))?;
        let req = ApiRequest::new(Method::POST, url).json(&json!({"key": key}))?;
        self.send(req).await?;
        Ok(())
    }
}

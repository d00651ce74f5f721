//! Pulp's list endpoints: `{count, next, previous, results}`, followed lazily.

use std::sync::Arc;

use futures::stream::{self, BoxStream, StreamExt, TryStreamExt};
use reqwest::Method;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use url::Url;

use super::request::{decode, ApiRequest};
use super::Transport;
use crate::error::{ClientError, Result};

/// One page of a Pulp list endpoint.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct Page<T> {
    /// Total number of items across all pages.
    pub count: u64,
    /// URL of the next page.
    pub next: Option<String>,
    /// URL of the previous page.
    pub previous: Option<String>,
    /// The items of this page.
    pub results: Vec<T>,
}

/// Fetch one page.
pub(crate) async fn get_page<T: DeserializeOwned>(t: &Transport, url: Url) -> Result<Page<T>> {
    let resp = t.send(ApiRequest::new(Method::GET, url.clone())).await?;
    decode(&Method::GET, &url, &resp.body)
}

/// All items of a list endpoint, as a stream that fetches pages lazily, following `next`.
pub(crate) fn paginate<T>(t: Arc<Transport>, first: Url) -> BoxStream<'static, Result<T>>
where
    T: DeserializeOwned + Send + 'static,
{
    stream::try_unfold(Some(first), move |next| {
        let t = t.clone();
        async move {
            let Some(url) = next else {
                return Ok::<_, ClientError>(None);
            };
            let page: Page<T> = get_page(&t, url).await?;
            let next = page.next.as_deref().map(|n| t.href_url(n)).transpose()?;
            Ok(Some((stream::iter(page.results.into_iter().map(Ok)), next)))
        }
    })
    .try_flatten()
    .boxed()
}

//! PEP 691 JSON pages, decoded with uv's model.

use std::str::FromStr;

use url::Url;
use uv_normalize::PackageName;
use uv_pypi_types::{PypiSimpleDetail, PypiSimpleIndex};

use crate::error::DecodeError;
use crate::model::{resolve, safe_filename, IndexFile};

/// The media type asked for first.
pub(crate) const MEDIA_TYPE: &str = "application/vnd.pypi.simple.v1+json";

pub(crate) fn parse_root(body: &[u8]) -> Result<Vec<PackageName>, DecodeError> {
    let index: PypiSimpleIndex = serde_json::from_slice(body).map_err(DecodeError::Json)?;
    Ok(index.into_project_names())
}

pub(crate) fn parse_project(base: &Url, body: &[u8]) -> Result<Vec<IndexFile>, DecodeError> {
    let detail: PypiSimpleDetail = serde_json::from_slice(body).map_err(DecodeError::Json)?;
    detail
        .files
        .into_iter()
        .map(|f| {
            let filename = f.filename.to_string();
            if !safe_filename(&filename) {
                return Err(DecodeError::UnsafeFilename(filename));
            }
            let url = resolve(base, &f.url).map_err(|source| DecodeError::BadLink {
                href: f.url.to_string(),
                source,
            })?;
            Ok(IndexFile {
                filename,
                url,
                hashes: f.hashes,
                requires_python: f.requires_python,
                core_metadata: f.core_metadata,
                yanked: f.yanked.map(|y| *y),
                size: f.size,
            })
        })
        .collect()
}

/// Parse a project name from a page, normalised.
pub(crate) fn name(raw: &str) -> Result<PackageName, DecodeError> {
    PackageName::from_str(raw.trim()).map_err(|source| DecodeError::BadName {
        name: raw.to_owned(),
        source,
    })
}

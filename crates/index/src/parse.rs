//! Pages parsed from bytes that did not come over HTTP (a mirrored tree on disk): the same
//! decoders the client uses, so a page is read the same way wherever it comes from.

use url::Url;
use uv_normalize::PackageName;

use crate::error::DecodeError;
use crate::model::{IndexFile, PageFormat};
use crate::{html, json};

/// The projects an index root page lists (normalised), from its body in `format`.
pub fn parse_root_page(format: PageFormat, body: &[u8]) -> Result<Vec<PackageName>, DecodeError> {
    match format {
        PageFormat::Json => json::parse_root(body),
        // The root's links are not used (a client builds `<index>/<name>/`): any base will do.
        PageFormat::Html => {
            let base = Url::parse("file:///").map_err(|source| DecodeError::BadLink {
                href: "file:///".into(),
                source,
            })?;
            html::parse_root(&base, body)
        }
    }
}

/// The files a project page lists, from its body in `format`; links are resolved against
/// `url`, the page's own URL (e.g. `file:///srv/wheels/p/3.0/cpu/simple/numpy/index.html`).
pub fn parse_project_page(
    format: PageFormat,
    url: &Url,
    body: &[u8],
) -> Result<Vec<IndexFile>, DecodeError> {
    match format {
        PageFormat::Json => json::parse_project(url, body),
        PageFormat::Html => html::parse_project(url, body),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn relative_links_resolve_against_the_page() {
        let page = Url::parse("file:///m/p/3.0/cpu/simple/a-b/index.html").unwrap();
        let html = br#"<a href="../../../files/ab/a_b-1.0-py3-none-any.whl#sha256=ab" data-core-metadata="sha256=cd">a_b-1.0-py3-none-any.whl</a>"#;
        let files = parse_project_page(PageFormat::Html, &page, html).unwrap();
        assert_eq!(
            files[0].url.as_str(),
            "file:///m/p/3.0/files/ab/a_b-1.0-py3-none-any.whl"
        );
        assert!(files[0].metadata_url().is_some());
        let json = br#"{"meta":{"api-version":"1.0"},"name":"a-b","files":[{"filename":"a_b-1.0-py3-none-any.whl","url":"../../../files/ab/a_b-1.0-py3-none-any.whl","hashes":{"sha256":"ab"}}]}"#;
        let files = parse_project_page(PageFormat::Json, &page, json).unwrap();
        assert_eq!(
            files[0].url.to_file_path().unwrap(),
            std::path::Path::new("/m/p/3.0/files/ab/a_b-1.0-py3-none-any.whl")
        );
        let root = parse_root_page(PageFormat::Html, br#"<a href="a-b/">A_B</a>"#).unwrap();
        assert_eq!(root[0].as_ref(), "a-b");
        let root = parse_root_page(
            PageFormat::Json,
            br#"{"meta":{"api-version":"1.0"},"projects":[{"name":"x"}]}"#,
        )
        .unwrap();
        assert_eq!(root[0].as_ref(), "x");
    }
}

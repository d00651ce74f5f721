//! PEP 503 HTML pages (with PEP 592 yanking, PEP 658/714 metadata, `Requires-Python`), parsed
//! with `tl`.

use std::borrow::Cow;
use std::str::FromStr;
use std::sync::Arc;

use url::Url;
use uv_normalize::PackageName;
use uv_pep440::VersionSpecifiers;
use uv_pypi_types::{CoreMetadata, Hashes, LenientVersionSpecifiers, Yanked};

use crate::error::DecodeError;
use crate::json::name;
use crate::model::{resolve, safe_filename, IndexFile};

/// One `<a>` of a page: its decoded attributes and text.
struct Anchor {
    href: String,
    text: String,
    requires_python: Option<String>,
    core_metadata: Option<String>,
    yanked: Option<String>,
}

/// The page's `<base href>` (resolved against the page URL) or the page URL, and its anchors.
fn anchors(page: &Url, body: &str) -> Result<(Url, Vec<Anchor>), DecodeError> {
    let dom = tl::parse(body, tl::ParserOptions::default())
        .map_err(|e| DecodeError::Html(e.to_string()))?;
    let parser = dom.parser();
    let attr = |tag: &tl::HTMLTag<'_>, key: &str| -> Option<String> {
        match tag.attributes().get(key) {
            // Present without a value (`data-yanked`): an empty string.
            Some(None) => Some(String::new()),
            Some(Some(v)) => Some(decode_entities(&v.as_utf8_str()).into_owned()),
            None => None,
        }
    };
    let mut base = page.clone();
    if let Some(handle) = dom.query_selector("base[href]").and_then(|mut i| i.next()) {
        if let Some(href) = handle
            .get(parser)
            .and_then(tl::Node::as_tag)
            .and_then(|t| attr(t, "href"))
        {
            base = page
                .join(&href)
                .map_err(|source| DecodeError::BadLink { href, source })?;
        }
    }
    let mut out = Vec::new();
    for handle in dom.query_selector("a").into_iter().flatten() {
        let Some(tag) = handle.get(parser).and_then(tl::Node::as_tag) else {
            continue;
        };
        let Some(href) = attr(tag, "href") else {
            continue;
        };
        out.push(Anchor {
            href,
            text: decode_entities(tag.inner_text(parser).trim()).into_owned(),
            requires_python: attr(tag, "data-requires-python"),
            // PEP 714 renamed the attribute; servers may send either (or both).
            core_metadata: attr(tag, "data-core-metadata")
                .or_else(|| attr(tag, "data-dist-info-metadata")),
            yanked: attr(tag, "data-yanked"),
        });
    }
    Ok((base, out))
}

fn utf8(body: &[u8]) -> Result<&str, DecodeError> {
    std::str::from_utf8(body).map_err(DecodeError::Utf8)
}

pub(crate) fn parse_root(page: &Url, body: &[u8]) -> Result<Vec<PackageName>, DecodeError> {
    let (_, anchors) = anchors(page, utf8(body)?)?;
    anchors.iter().map(|a| name(&a.text)).collect()
}

pub(crate) fn parse_project(page: &Url, body: &[u8]) -> Result<Vec<IndexFile>, DecodeError> {
    let (base, anchors) = anchors(page, utf8(body)?)?;
    anchors
        .into_iter()
        .map(|a| {
            let url = resolve(&base, &a.href).map_err(|source| DecodeError::BadLink {
                href: a.href.clone(),
                source,
            })?;
            // PEP 503: the text is the file name (it must match the URL's last segment).
            let filename = if a.text.is_empty() {
                url.path_segments()
                    .and_then(|mut s| s.next_back())
                    .unwrap_or_default()
                    .to_owned()
            } else {
                a.text
            };
            if !safe_filename(&filename) {
                return Err(DecodeError::UnsafeFilename(filename));
            }
            let hashes = a
                .href
                .split_once('#')
                .and_then(|(_, frag)| Hashes::parse_fragment(frag).ok())
                .unwrap_or_default();
            Ok(IndexFile {
                filename,
                url,
                hashes,
                requires_python: a.requires_python.filter(|s| !s.is_empty()).map(|s| {
                    LenientVersionSpecifiers::from_str(&s)
                        .map(VersionSpecifiers::from)
                        .map(Arc::new)
                }),
                core_metadata: a.core_metadata.map(|v| core_metadata(&v)),
                yanked: a.yanked.map(|reason| {
                    if reason.is_empty() {
                        Yanked::Bool(true)
                    } else {
                        Yanked::Reason(reason.as_str().into())
                    }
                }),
                size: None,
            })
        })
        .collect()
}

/// `data-core-metadata="true"` or `="sha256=<hex>"` (PEP 658/714).
fn core_metadata(value: &str) -> CoreMetadata {
    match value.trim() {
        "false" => CoreMetadata::Bool(false),
        "" | "true" => CoreMetadata::Bool(true),
        v => Hashes::parse_fragment(v)
            .map(CoreMetadata::Hashes)
            // An unknown hash name still says the file is there.
            .unwrap_or(CoreMetadata::Bool(true)),
    }
}

/// Decode the HTML character references that appear in attribute values and link text
/// (`&gt;=3.8`, `&amp;`, `&#39;`, `&#x27;`, ...). Unknown references are left as they are.
pub(crate) fn decode_entities(s: &str) -> Cow<'_, str> {
    if !s.contains('&') {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(i) = rest.find('&') {
        out.push_str(&rest[..i]);
        rest = &rest[i..];
        let decoded = rest.find(';').filter(|&j| j <= 12).and_then(|j| {
            let entity = &rest[1..j];
            let c = match entity {
                "lt" => Some('<'),
                "gt" => Some('>'),
                "amp" => Some('&'),
                "quot" => Some('"'),
                "apos" => Some('\''),
                _ => entity.strip_prefix('#').and_then(|num| {
                    let code = match num.strip_prefix(['x', 'X']) {
                        Some(hex) => u32::from_str_radix(hex, 16).ok(),
                        None => num.parse().ok(),
                    };
                    code.and_then(char::from_u32)
                }),
            };
            c.map(|c| (c, j))
        });
        match decoded {
            Some((c, j)) => {
                out.push(c);
                rest = &rest[j + 1..];
            }
            None => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn page() -> Url {
        Url::parse("https://front.example/api/pypi/dom/prod/simple/demo-pkg/").unwrap()
    }

    const SHA: &str = "6088930bfe239f0e6710546ab9c19c9ef35e29792895fed6e6e31a023a182a61";

    #[test]
    fn pulp_style_project_page() {
        let body = format!(
            r#"<!DOCTYPE html>
<html><head><title>Links for demo-pkg</title></head><body>
<h1>Links for demo-pkg</h1>
<a href="../../../../../pulp-content/dom/prod/demo_pkg-1.0-py3-none-any.whl#sha256={SHA}" data-requires-python="&gt;=3.8" data-dist-info-metadata="sha256={SHA}">demo_pkg-1.0-py3-none-any.whl</a><br/>
<a href="https://files.example/demo_pkg-0.9.tar.gz#md5=abc" data-yanked="broken &amp; bad" data-core-metadata="true">demo_pkg-0.9.tar.gz</a><br/>
<a href="demo_pkg-0.8-py3-none-any.whl" data-yanked>demo_pkg-0.8-py3-none-any.whl</a>
</body></html>"#
        );
        let files = parse_project(&page(), body.as_bytes()).unwrap();
        assert_eq!(files.len(), 3);
        let f = &files[0];
        assert_eq!(f.filename, "demo_pkg-1.0-py3-none-any.whl");
        assert_eq!(
            f.url.as_str(),
            "https://front.example/api/pulp-content/dom/prod/demo_pkg-1.0-py3-none-any.whl"
        );
        assert_eq!(f.sha256().as_deref(), Some(SHA));
        let rp = f.requires_python.clone().unwrap().unwrap();
        assert_eq!(rp.to_string(), ">=3.8");
        assert_eq!(f.metadata_sha256().as_deref(), Some(SHA));
        assert_eq!(
            f.metadata_url().unwrap().as_str(),
            "https://front.example/api/pulp-content/dom/prod/demo_pkg-1.0-py3-none-any.whl.metadata"
        );
        assert!(!f.is_yanked());

        let g = &files[1];
        assert_eq!(g.sha256(), None);
        assert_eq!(g.hashes.md5.as_deref(), Some("abc"));
        assert_eq!(g.yanked, Some(Yanked::Reason("broken & bad".into())));
        assert!(g.metadata_url().is_some());
        assert_eq!(g.metadata_sha256(), None);

        let h = &files[2];
        assert!(h.is_yanked());
        assert!(h.metadata_url().is_none());
        assert_eq!(
            h.url.as_str(),
            "https://front.example/api/pypi/dom/prod/simple/demo-pkg/demo_pkg-0.8-py3-none-any.whl"
        );
    }

    #[test]
    fn core_metadata_wins_over_dist_info_metadata() {
        let body = format!(
            r#"<a href="x-1-py3-none-any.whl" data-core-metadata="sha256={SHA}" data-dist-info-metadata="true">x-1-py3-none-any.whl</a>"#
        );
        let f = parse_project(&page(), body.as_bytes()).unwrap();
        assert_eq!(f[0].metadata_sha256().as_deref(), Some(SHA));
    }

    #[test]
    fn base_href_is_honoured() {
        let body = r#"<html><head><base href="https://mirror.example/files/"></head>
<body><a href="x-1-py3-none-any.whl">x-1-py3-none-any.whl</a></body></html>"#;
        let f = parse_project(&page(), body.as_bytes()).unwrap();
        assert_eq!(
            f[0].url.as_str(),
            "https://mirror.example/files/x-1-py3-none-any.whl"
        );
    }

    #[test]
    fn unsafe_filename_is_refused() {
        let body = r#"<a href="x.whl">../../etc/passwd</a>"#;
        assert!(matches!(
            parse_project(&page(), body.as_bytes()),
            Err(DecodeError::UnsafeFilename(n)) if n == "../../etc/passwd"
        ));
    }

    #[test]
    fn root_names_are_normalised() {
        let body = r#"<html><body><a href="/simple/demo-pkg/">Demo_Pkg</a><a href="/simple/zope-interface/">zope.interface</a></body></html>"#;
        let root = parse_root(&page(), body.as_bytes()).unwrap();
        let names: Vec<String> = root.iter().map(ToString::to_string).collect();
        assert_eq!(names, ["demo-pkg", "zope-interface"]);
        assert!(matches!(
            parse_root(&page(), br#"<a href="/x/">not a name!</a>"#),
            Err(DecodeError::BadName { .. })
        ));
    }

    #[test]
    fn entities() {
        assert_eq!(decode_entities("&gt;=3.8, &lt;4"), ">=3.8, <4");
        assert_eq!(
            decode_entities("a&#39;b&#x27;c&amp;&unknown;&"),
            "a'b'c&&unknown;&"
        );
        assert!(matches!(decode_entities("plain"), Cow::Borrowed(_)));
    }
}

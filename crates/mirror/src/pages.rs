//! The static pages of a mirrored variant: PEP 503 HTML (what pip and uv read from a directory
//! or a static web server) and PEP 691 JSON beside it. Pure functions returning contents.

use serde_json::json;

/// A file as a static page lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PageFile {
    /// The file name (already checked safe).
    pub filename: String,
    /// The link from the project page's directory to the stored file (relative, unescaped).
    pub href: String,
    /// Its sha256.
    pub sha256: String,
    /// Its size.
    pub size: u64,
    /// `Requires-Python`, as the index gave it.
    pub requires_python: Option<String>,
    /// The sha256 of its mirrored PEP 658 metadata file.
    pub metadata_sha256: Option<String>,
    /// PEP 592: `Some("")` yanked without a reason, `Some(reason)`, `None` not yanked.
    pub yanked: Option<String>,
}

/// Escape text for HTML content and double-quoted attributes.
fn html_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#x27;"),
            c => out.push(c),
        }
    }
    out
}

/// Percent-encode a relative URL path (keeps `/` and the characters file names use).
pub(crate) fn url_path_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~/+!$&'()*,;=:@".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

const HEADER: &str = "<!DOCTYPE html>\n<html>\n  <head>\n    <meta name=\"pypi:repository-version\" content=\"1.0\">\n";

/// The index root in HTML: one link per project.
pub(crate) fn root_html(projects: &[String]) -> String {
    let mut s = format!("{HEADER}    <title>Simple index</title>\n  </head>\n  <body>\n");
    for p in projects {
        let p = html_escape(p);
        s.push_str(&format!("    <a href=\"{p}/\">{p}</a><br/>\n"));
    }
    s.push_str("  </body>\n</html>\n");
    s
}

/// The index root in PEP 691 JSON.
pub(crate) fn root_json(projects: &[String]) -> String {
    let projects: Vec<_> = projects.iter().map(|p| json!({ "name": p })).collect();
    let doc = json!({ "meta": { "api-version": "1.0" }, "projects": projects });
    format!("{doc}\n")
}

/// A project page in HTML: `#sha256=` fragments, `data-requires-python`,
/// `data-dist-info-metadata` and `data-core-metadata` (PEP 658/714), `data-yanked`.
pub(crate) fn project_html(project: &str, files: &[PageFile]) -> String {
    let name = html_escape(project);
    let mut s = format!(
        "{HEADER}    <title>Links for {name}</title>\n  </head>\n  <body>\n    <h1>Links for {name}</h1>\n"
    );
    for f in files {
        let mut attrs = String::new();
        if let Some(rp) = &f.requires_python {
            attrs.push_str(&format!(" data-requires-python=\"{}\"", html_escape(rp)));
        }
        if let Some(m) = &f.metadata_sha256 {
            attrs.push_str(&format!(
                " data-dist-info-metadata=\"sha256={m}\" data-core-metadata=\"sha256={m}\""
            ));
        }
        if let Some(y) = &f.yanked {
            attrs.push_str(&format!(" data-yanked=\"{}\"", html_escape(y)));
        }
        s.push_str(&format!(
            "    <a href=\"{}#sha256={}\"{attrs}>{}</a><br/>\n",
            html_escape(&url_path_escape(&f.href)),
            f.sha256,
            html_escape(&f.filename)
        ));
    }
    s.push_str("  </body>\n</html>\n");
    s
}

/// A project page in PEP 691 JSON.
pub(crate) fn project_json(project: &str, files: &[PageFile]) -> String {
    let files: Vec<_> = files
        .iter()
        .map(|f| {
            let metadata = match &f.metadata_sha256 {
                Some(m) => json!({ "sha256": m }),
                None => json!(false),
            };
            let yanked = match &f.yanked {
                None => json!(false),
                Some(r) if r.is_empty() => json!(true),
                Some(r) => json!(r),
            };
            let mut v = json!({
                "filename": f.filename,
                "url": url_path_escape(&f.href),
                "hashes": { "sha256": f.sha256 },
                "core-metadata": metadata,
                "dist-info-metadata": metadata,
                "yanked": yanked,
                "size": f.size,
            });
            if let (Some(rp), Some(o)) = (&f.requires_python, v.as_object_mut()) {
                o.insert("requires-python".into(), json!(rp));
            }
            v
        })
        .collect();
    let doc = json!({ "meta": { "api-version": "1.0" }, "name": project, "files": files });
    format!("{doc}\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file() -> PageFile {
        PageFile {
            filename: "a_b-1.0+local-py3-none-any.whl".into(),
            href: "../../../files/abc/a_b-1.0+local-py3-none-any.whl".into(),
            sha256: "abc".into(),
            size: 3,
            requires_python: Some(">=3.8, <4".into()),
            metadata_sha256: Some("def".into()),
            yanked: Some("bad \"build\"".into()),
        }
    }

    #[test]
    fn html_keeps_hashes_metadata_requires_python_and_yanking() {
        let html = project_html("a-b", &[file()]);
        assert!(html.contains(
            "<a href=\"../../../files/abc/a_b-1.0+local-py3-none-any.whl#sha256=abc\" data-requires-python=\"&gt;=3.8, &lt;4\" data-dist-info-metadata=\"sha256=def\" data-core-metadata=\"sha256=def\" data-yanked=\"bad &quot;build&quot;\">a_b-1.0+local-py3-none-any.whl</a>"
        ), "{html}");
        assert!(html.contains("<title>Links for a-b</title>"));
        let root = root_html(&["a-b".into()]);
        assert!(root.contains("<a href=\"a-b/\">a-b</a>"), "{root}");
    }

    #[test]
    fn json_is_pep_691() {
        let v: serde_json::Value = serde_json::from_str(&project_json("a-b", &[file()])).unwrap();
        assert_eq!(v["meta"]["api-version"], "1.0");
        assert_eq!(v["files"][0]["hashes"]["sha256"], "abc");
        assert_eq!(v["files"][0]["core-metadata"]["sha256"], "def");
        assert_eq!(v["files"][0]["requires-python"], ">=3.8, <4");
        assert_eq!(v["files"][0]["yanked"], "bad \"build\"");
        let mut f = file();
        f.metadata_sha256 = None;
        f.yanked = None;
        let v: serde_json::Value = serde_json::from_str(&project_json("a-b", &[f])).unwrap();
        assert_eq!(v["files"][0]["core-metadata"], false);
        assert_eq!(v["files"][0]["yanked"], false);
        let r: serde_json::Value = serde_json::from_str(&root_json(&["x".into()])).unwrap();
        assert_eq!(r["projects"][0]["name"], "x");
    }

    #[test]
    fn hrefs_are_percent_encoded() {
        assert_eq!(url_path_escape("a b%/c#d?.whl"), "a%20b%25/c%23d%3F.whl");
    }
}

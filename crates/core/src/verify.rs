//! Reading back the customer-facing index after a promote or rollback: does it list exactly
//! the promoted projects, and each checked page exactly the promoted files and sha256, as pip
//! sees it? Reads through [`IndexClient`], so client certificates, CA bundles and the TLS
//! causes of failures are those of the customer path.

use std::collections::{BTreeMap, BTreeSet};
use std::str::FromStr;
use std::time::{Duration, Instant};

use futures::{StreamExt, TryStreamExt};
use url::Url;
use wheelgate_index::{IndexClient, IndexError, PackageName};

use crate::diff::FileEntry;

/// How many mismatching names a message lists.
const SHOWN: usize = 5;

/// (filename, sha256) of the files of one project.
type Files = BTreeSet<(String, String)>;

/// The index does not show what was promoted, or could not be read.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum VerifyError {
    /// The index URL is not a URL.
    #[error("bad index URL {url}")]
    BadUrl {
        /// As given.
        url: String,
        /// Why.
        #[source]
        source: url::ParseError,
    },
    /// Pulp reports no `base_url` for the distribution, so there is no index to read.
    #[error("the distribution {distribution} has no base_url")]
    NoBaseUrl {
        /// Its name.
        distribution: String,
    },
    /// The index could not be read (the source says why: TLS, refused, HTTP status...).
    #[error("cannot read the customer-facing index {url}")]
    Unreachable {
        /// The index root (redacted).
        url: String,
        /// The failed request.
        #[source]
        source: IndexError,
    },
    /// The root page does not list exactly the expected projects.
    #[error(
        "the index root lists {listed} projects, expected {expected}; missing: [{}]; unexpected: [{}]",
        missing.join(", "),
        unexpected.join(", ")
    )]
    RootMismatch {
        /// How many projects the root lists.
        listed: usize,
        /// How many were expected.
        expected: usize,
        /// Expected but not listed (at most 5).
        missing: Vec<String>,
        /// Listed but not expected (at most 5).
        unexpected: Vec<String>,
    },
    /// A project page does not list exactly the expected files and sha256.
    #[error(
        "the page of {project} lists {listed} files, expected {expected}; missing: [{}]; unexpected or wrong sha256: [{}]{}",
        missing.join(", "),
        unexpected.join(", "),
        if *other_pages > 0 { format!(" ({other_pages} more pages differ)") } else { String::new() }
    )]
    PageMismatch {
        /// The (first) project whose page differs.
        project: String,
        /// How many files its page lists.
        listed: usize,
        /// How many were expected.
        expected: usize,
        /// Expected files not listed (at most 5).
        missing: Vec<String>,
        /// Listed files not expected, or with another sha256 (at most 5).
        unexpected: Vec<String>,
        /// How many other pages differ too.
        other_pages: usize,
    },
}

impl VerifyError {
    /// What the user can do about it, for the CLI's `hint:` line.
    pub fn hint(&self) -> Option<&'static str> {
        match self {
            Self::Unreachable { source, .. } => source.hint(),
            _ => None,
        }
    }
}

/// Production was switched, but the customer-facing index of one or more variants does not
/// show exactly the new file set, or cannot be read. The first failure is the error's source.
#[derive(Debug)]
pub struct VerifyFailed {
    /// Per variant, what went wrong (at least one).
    pub failures: Vec<(String, VerifyError)>,
    /// How the customer path is set (see [`crate::customer::CustomerAccess::hint`]).
    pub settings_hint: &'static str,
}

impl std::fmt::Display for VerifyFailed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let variants: Vec<&str> = self.failures.iter().map(|(v, _)| v.as_str()).collect();
        write!(
            f,
            "production was switched, but the customer-facing index of {} could not be verified",
            variants.join(", ")
        )?;
        // Only the first failure can be the source; the others are spelled out here.
        for (variant, e) in self.failures.iter().skip(1) {
            write!(f, "\n  also {variant}: {}", chain(e))?;
        }
        Ok(())
    }
}

impl std::error::Error for VerifyFailed {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.failures
            .first()
            .map(|(_, e)| e as &(dyn std::error::Error + 'static))
    }
}

impl VerifyFailed {
    /// What the user can do: the failure's own hint and, when the index could not be read,
    /// which settings decide how it is reached.
    pub fn hint(&self) -> Option<String> {
        let (_, first) = self.failures.first()?;
        let unreachable = matches!(first, VerifyError::Unreachable { .. });
        match (first.hint(), unreachable) {
            (Some(h), true) => Some(format!("{h}; {}", self.settings_hint)),
            (None, true) => Some(self.settings_hint.to_owned()),
            (Some(h), false) => Some(h.to_owned()),
            (None, false) => None,
        }
    }
}

/// An error and its causes on one line, for the ledger.
pub fn chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        text.push_str(": ");
        text.push_str(&c.to_string());
        cause = c.source();
    }
    text
}

/// The PEP 503 normal form of a project name (names that are not valid stay as they are, so
/// they show up as mismatches instead of disappearing).
fn normalise(name: &str) -> String {
    wheelgate_wheel::normalize_project(name)
}

/// Check that a simple index lists exactly the projects of `expected`, and that each project
/// page in `pages` (every page when `None`) lists exactly its files and sha256, as pip sees
/// it, reading up to `concurrency` pages at once. Retries until `timeout`, since a switch takes
/// a moment to show; gives up at once when the index refuses access (a missing or refused
/// client certificate, an untrusted server certificate), which waiting does not change.
/// Returns the number of project pages read.
pub async fn verify_index(
    client: &IndexClient,
    index_url: &str,
    expected: &[FileEntry],
    pages: Option<&BTreeSet<String>>,
    timeout: Duration,
    concurrency: usize,
) -> Result<usize, VerifyError> {
    let url = Url::parse(index_url).map_err(|source| VerifyError::BadUrl {
        url: index_url.to_owned(),
        source,
    })?;
    let mut want: BTreeMap<String, Files> = BTreeMap::new();
    for f in expected {
        want.entry(normalise(&f.project))
            .or_default()
            .insert((f.filename.clone(), f.sha256.to_ascii_lowercase()));
    }
    let pages: Option<BTreeSet<String>> = pages.map(|p| p.iter().map(|n| normalise(n)).collect());
    let start = Instant::now();
    loop {
        let why = match read_index(client, &url, &want, pages.as_ref(), concurrency).await {
            Ok((root, seen)) => match compare(&want, &root, &seen) {
                Ok(()) => return Ok(seen.len()),
                Err(e) => e,
            },
            Err(source) => {
                let access = source.is_access_problem();
                let e = VerifyError::Unreachable {
                    url: wheelgate_http::SafeUrl(&url).to_string(),
                    source,
                };
                if access {
                    return Err(e);
                }
                e
            }
        };
        if start.elapsed() >= timeout {
            return Err(why);
        }
        tracing::debug!(error = %why, "index not as expected yet; reading again");
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// Read the root page and the selected project pages (every project listed or expected when
/// `pages` is `None`). Returns the root's (normalised) project names and each page's files.
async fn read_index(
    client: &IndexClient,
    url: &Url,
    want: &BTreeMap<String, Files>,
    pages: Option<&BTreeSet<String>>,
    concurrency: usize,
) -> Result<(BTreeSet<String>, BTreeMap<String, Files>), IndexError> {
    let root: BTreeSet<String> = client
        .root(url)
        .await?
        .map(|r| r.projects.iter().map(ToString::to_string).collect())
        .unwrap_or_default();
    let projects: BTreeSet<String> = match pages {
        Some(p) => p.clone(),
        None => root.iter().chain(want.keys()).cloned().collect(),
    };
    let read: Vec<(String, Files)> = futures::stream::iter(projects)
        .map(|p| async move {
            let Ok(name) = PackageName::from_str(&p) else {
                // Not a name an index can serve: its page is empty.
                return Ok((p, Files::new()));
            };
            let files: Files = client
                .project(url, &name)
                .await?
                .map(|page| {
                    page.files
                        .iter()
                        .map(|f| (f.filename.clone(), f.sha256().unwrap_or_default()))
                        .collect()
                })
                .unwrap_or_default();
            Ok::<_, IndexError>((p, files))
        })
        .buffer_unordered(concurrency.max(1))
        .try_collect()
        .await?;
    Ok((root, read.into_iter().collect()))
}

/// Compare what was read with what was expected: the root exactly, and each page read exactly
/// (a page of a project not expected must be empty or missing).
fn compare(
    want: &BTreeMap<String, Files>,
    root: &BTreeSet<String>,
    seen: &BTreeMap<String, Files>,
) -> Result<(), VerifyError> {
    let want_root: BTreeSet<&String> = want.keys().collect();
    let root_set: BTreeSet<&String> = root.iter().collect();
    if root_set != want_root {
        return Err(VerifyError::RootMismatch {
            listed: root.len(),
            expected: want.len(),
            missing: want_root
                .difference(&root_set)
                .take(SHOWN)
                .map(|p| p.to_string())
                .collect(),
            unexpected: root_set
                .difference(&want_root)
                .take(SHOWN)
                .map(|p| p.to_string())
                .collect(),
        });
    }
    let empty = Files::new();
    let differing: Vec<(&String, &Files, &Files)> = seen
        .iter()
        .map(|(p, files)| (p, want.get(p).unwrap_or(&empty), files))
        .filter(|(_, w, s)| w != s)
        .collect();
    let Some((project, w, s)) = differing.first() else {
        return Ok(());
    };
    Err(VerifyError::PageMismatch {
        project: project.to_string(),
        listed: s.len(),
        expected: w.len(),
        missing: w
            .difference(s)
            .take(SHOWN)
            .map(|(f, _)| f.clone())
            .collect(),
        unexpected: s
            .difference(w)
            .take(SHOWN)
            .map(|(f, _)| f.clone())
            .collect(),
        other_pages: differing.len() - 1,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn files(list: &[(&str, &str)]) -> Files {
        list.iter()
            .map(|(f, h)| (f.to_string(), h.to_string()))
            .collect()
    }

    fn want() -> BTreeMap<String, Files> {
        BTreeMap::from([
            ("a".to_owned(), files(&[("a-1-py3-none-any.whl", "aa")])),
            ("b".to_owned(), files(&[("b-1-py3-none-any.whl", "bb")])),
        ])
    }

    fn root(names: &[&str]) -> BTreeSet<String> {
        names.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn exact_index_passes() {
        let seen = want();
        assert!(compare(&want(), &root(&["a", "b"]), &seen).is_ok());
        // Reading only some pages is fine.
        let some = BTreeMap::from([("a".to_owned(), files(&[("a-1-py3-none-any.whl", "aa")]))]);
        assert!(compare(&want(), &root(&["a", "b"]), &some).is_ok());
    }

    #[test]
    fn root_mismatch_names_missing_and_unexpected() {
        let e = compare(&want(), &root(&["a", "c"]), &want()).unwrap_err();
        assert_eq!(
            e.to_string(),
            "the index root lists 2 projects, expected 2; missing: [b]; unexpected: [c]"
        );
    }

    #[test]
    fn wrong_sha_missing_page_and_stray_page_are_mismatches() {
        let mut seen = want();
        seen.insert("a".into(), files(&[("a-1-py3-none-any.whl", "XX")]));
        let e = compare(&want(), &root(&["a", "b"]), &seen).unwrap_err();
        assert_eq!(
            e.to_string(),
            "the page of a lists 1 files, expected 1; missing: [a-1-py3-none-any.whl]; unexpected or wrong sha256: [a-1-py3-none-any.whl]"
        );

        // An expected page that is empty (404) differs.
        let mut seen = want();
        seen.insert("b".into(), Files::new());
        assert!(matches!(
            compare(&want(), &root(&["a", "b"]), &seen),
            Err(VerifyError::PageMismatch { project, listed: 0, .. }) if project == "b"
        ));

        // A page of a project not promoted must be empty; if not, it differs.
        let mut seen = want();
        seen.insert("c".into(), Files::new());
        assert!(compare(&want(), &root(&["a", "b"]), &seen).is_ok());
        seen.insert("c".into(), files(&[("c-1-py3-none-any.whl", "cc")]));
        seen.insert("a".into(), Files::new());
        let e = compare(&want(), &root(&["a", "b"]), &seen).unwrap_err();
        assert!(e.to_string().ends_with("(1 more pages differ)"), "{e}");
    }

    #[test]
    fn names_are_normalised_once() {
        assert_eq!(normalise("Zope.Interface"), "zope-interface");
        assert_eq!(normalise("not a name!"), "not a name!");
    }
}

//! Differences between two versions of a staging repository, summarised per project.

use std::collections::{BTreeMap, BTreeSet};

use futures::TryStreamExt;
use pulp_client::{Package, PackageQuery, PulpClient, RepositoryVersionHref};
use serde::Serialize;

use crate::error::Result;

/// One file of a version.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct FileEntry {
    /// Normalised project name.
    pub project: String,
    /// Version string as Pulp reports it.
    pub version: String,
    /// File name.
    pub filename: String,
    /// SHA-256.
    pub sha256: String,
}

/// Page size of package listings. Pulp counts the whole filtered set again for every page (a
/// listing of a 10,000-file version by 1,000 costs 11 counts of 10,000), so pages are big: on
/// the local Pulp under load, listing 10,200 files took 19–22 s by 1,000, 8–11 s by 5,000,
/// 7–8 s in one page (config/bench-scale.sh's machine). 5,000 keeps each request well inside
/// the API server's 30 s limit.
pub const LISTING_PAGE: u32 = 5000;

/// Every file of a version (fetched with only the fields needed).
pub async fn version_files(
    client: &PulpClient,
    version: &RepositoryVersionHref,
) -> Result<Vec<FileEntry>> {
    let mut files: Vec<FileEntry> = client
        .packages(&PackageQuery {
            repository_version: Some(version.clone()),
            fields: vec!["name".into(), "version".into()],
            limit: Some(LISTING_PAGE),
            ..Default::default()
        })
        .await?
        .map_ok(entry)
        .try_collect()
        .await?;
    files.sort();
    Ok(files)
}

/// A listed package as a [`FileEntry`].
pub(crate) fn entry(p: Package) -> FileEntry {
    FileEntry {
        project: wheelgate_wheel::normalize_project(&p.name),
        version: p.version,
        filename: p.filename,
        sha256: p.sha256,
    }
}

/// The most projects a change may touch for [`changed_project_files`] to read them by name:
/// `name__in` requests in batches of about 230 names (the request line's limit), four at once,
/// which Pulp answers in about the time of one page of a listing each. A bigger change (a
/// rebuild of most of the index) reads both versions whole, through the cache of version
/// changes. The diff of a 1,000-project build took 1.75 s at 10,200 files and 1.57 s at 1,020
/// by name, against 4.61 s and 1.41 s with both versions read whole (docs/benchmarks.md).
pub const CHANGED_PROJECTS_BY_NAME: usize = 1000;

/// The files of `projects` (normalised names; Pulp's `name__in` normalises too) in a version,
/// sorted.
async fn project_files(
    client: &PulpClient,
    version: &RepositoryVersionHref,
    projects: &BTreeSet<String>,
) -> Result<Vec<FileEntry>> {
    let names: Vec<String> = projects.iter().cloned().collect();
    let mut files: Vec<FileEntry> = client
        .packages_of_projects(version, &names, &["name", "version"], LISTING_PAGE)
        .await?
        .into_iter()
        .map(entry)
        .collect();
    files.sort();
    Ok(files)
}

/// The normalised names of the projects with a file in `from` and not in `to` or the other way
/// round (`added_between` / `removed_between`, names only: the full serializer costs Pulp
/// seconds per 500 files).
async fn touched_projects(
    client: &PulpClient,
    from: &RepositoryVersionHref,
    to: &RepositoryVersionHref,
) -> Result<BTreeSet<String>> {
    let names = |filter: &'static str| async move {
        let req = client
            .packages_request(&PackageQuery {
                fields: vec!["name".into()],
                limit: Some(LISTING_PAGE),
                ..Default::default()
            })
            .await?
            .query(&[(filter, format!("{from},{to}"))]);
        let names: Vec<String> = client
            .paginate::<Package>(req.url)
            .map_ok(|p| wheelgate_wheel::normalize_project(&p.name))
            .try_collect()
            .await?;
        Ok::<_, crate::Error>(names)
    };
    let (added, removed) = futures::try_join!(names("added_between"), names("removed_between"))?;
    Ok(added.into_iter().chain(removed).collect())
}

/// What [`diff`] needs to compare two versions, read in requests that grow with the change
/// between them, not with the versions: which projects the change touches
/// (`added_between`, `removed_between`), then the files of those projects on both sides.
/// Projects the change does not touch have the same files on both sides, so `diff` of these
/// partial sets is `diff` of the whole versions. A change touching more than
/// [`CHANGED_PROJECTS_BY_NAME`] projects reads both versions whole.
pub async fn changed_project_files(
    client: &PulpClient,
    from: &RepositoryVersionHref,
    to: &RepositoryVersionHref,
    cache: Option<&crate::cache::Cache>,
) -> Result<(Vec<FileEntry>, Vec<FileEntry>)> {
    let projects = touched_projects(client, from, to).await?;
    if projects.is_empty() {
        return Ok((Vec::new(), Vec::new()));
    }
    if projects.len() > CHANGED_PROJECTS_BY_NAME {
        return Ok(futures::try_join!(
            crate::state::version_files(client, cache, from),
            crate::state::version_files(client, cache, to)
        )?);
    }
    Ok(futures::try_join!(
        project_files(client, from, &projects),
        project_files(client, to, &projects)
    )?)
}

/// How one project changed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "change", rename_all = "lowercase")]
pub enum ProjectChange {
    /// New project.
    Added {
        /// Project.
        project: String,
        /// Its versions.
        versions: Vec<String>,
    },
    /// Project gone.
    Removed {
        /// Project.
        project: String,
        /// Its versions before.
        versions: Vec<String>,
    },
    /// Versions changed.
    Changed {
        /// Project.
        project: String,
        /// Versions before.
        from: Vec<String>,
        /// Versions after.
        to: Vec<String>,
    },
    /// Same versions, different files (new builds or platforms).
    Files {
        /// Project.
        project: String,
        /// Files added.
        added: Vec<String>,
        /// Files removed.
        removed: Vec<String>,
    },
}

impl ProjectChange {
    /// The project concerned.
    pub fn project(&self) -> &str {
        match self {
            Self::Added { project, .. }
            | Self::Removed { project, .. }
            | Self::Changed { project, .. }
            | Self::Files { project, .. } => project,
        }
    }
}

impl std::fmt::Display for ProjectChange {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Added { project, versions } => write!(f, "+ {project} {}", versions.join(", ")),
            Self::Removed { project, versions } => write!(f, "- {project} {}", versions.join(", ")),
            Self::Changed { project, from, to } => {
                write!(f, "  {project} {} → {}", from.join(", "), to.join(", "))
            }
            Self::Files {
                project,
                added,
                removed,
            } => {
                write!(f, "~ {project} files: +{} -{}", added.len(), removed.len())
            }
        }
    }
}

/// The difference between two file sets.
#[derive(Debug, Clone, Serialize)]
pub struct Diff {
    /// Per project.
    pub projects: Vec<ProjectChange>,
    /// Files only in the target.
    pub files_added: Vec<String>,
    /// Files only in the source.
    pub files_removed: Vec<String>,
}

impl Diff {
    /// Whether nothing differs.
    pub fn is_empty(&self) -> bool {
        self.files_added.is_empty() && self.files_removed.is_empty()
    }
}

fn sorted_versions(files: &[&FileEntry]) -> Vec<String> {
    let set: BTreeSet<&str> = files.iter().map(|f| f.version.as_str()).collect();
    let mut v: Vec<String> = set.into_iter().map(str::to_owned).collect();
    v.sort_by(|a, b| {
        match (
            a.parse::<uv_pep440::Version>(),
            b.parse::<uv_pep440::Version>(),
        ) {
            (Ok(x), Ok(y)) => x.cmp(&y),
            _ => a.cmp(b),
        }
    });
    v
}

/// Compare two file sets.
pub fn diff(from: &[FileEntry], to: &[FileEntry]) -> Diff {
    let key = |f: &FileEntry| (f.filename.clone(), f.sha256.clone());
    let from_keys: BTreeSet<_> = from.iter().map(key).collect();
    let to_keys: BTreeSet<_> = to.iter().map(key).collect();
    let files_added: Vec<String> = to
        .iter()
        .filter(|f| !from_keys.contains(&key(f)))
        .map(|f| f.filename.clone())
        .collect();
    let files_removed: Vec<String> = from
        .iter()
        .filter(|f| !to_keys.contains(&key(f)))
        .map(|f| f.filename.clone())
        .collect();
    let mut by_project: BTreeMap<&str, (Vec<&FileEntry>, Vec<&FileEntry>)> = BTreeMap::new();
    for f in from {
        by_project.entry(&f.project).or_default().0.push(f);
    }
    for f in to {
        by_project.entry(&f.project).or_default().1.push(f);
    }
    let mut projects = Vec::new();
    for (project, (a, b)) in by_project {
        let project = project.to_owned();
        if a.is_empty() {
            projects.push(ProjectChange::Added {
                project,
                versions: sorted_versions(&b),
            });
        } else if b.is_empty() {
            projects.push(ProjectChange::Removed {
                project,
                versions: sorted_versions(&a),
            });
        } else {
            let (va, vb) = (sorted_versions(&a), sorted_versions(&b));
            if va != vb {
                projects.push(ProjectChange::Changed {
                    project,
                    from: va,
                    to: vb,
                });
            } else {
                let ka: BTreeSet<_> = a.iter().map(|f| key(f)).collect();
                let kb: BTreeSet<_> = b.iter().map(|f| key(f)).collect();
                if ka != kb {
                    projects.push(ProjectChange::Files {
                        project,
                        added: kb.difference(&ka).map(|k| k.0.clone()).collect(),
                        removed: ka.difference(&kb).map(|k| k.0.clone()).collect(),
                    });
                }
            }
        }
    }
    Diff {
        projects,
        files_added,
        files_removed,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn f(project: &str, version: &str, sha: &str) -> FileEntry {
        FileEntry {
            project: project.into(),
            version: version.into(),
            filename: format!("{project}-{version}-py3-none-any.whl"),
            sha256: sha.into(),
        }
    }

    #[test]
    fn per_project_summary() {
        let from = vec![
            f("torch", "2.8.0", "a"),
            f("old-pkg", "1.0", "b"),
            f("numpy", "2.0", "c"),
        ];
        let to = vec![
            f("torch", "2.9.0", "d"),
            f("vllm", "0.11.0", "e"),
            f("numpy", "2.0", "c"),
        ];
        let d = diff(&from, &to);
        let lines: Vec<String> = d.projects.iter().map(|p| p.to_string()).collect();
        assert_eq!(
            lines,
            vec!["- old-pkg 1.0", "  torch 2.8.0 → 2.9.0", "+ vllm 0.11.0"]
        );
        assert_eq!(d.files_added.len(), 2);
        assert_eq!(d.files_removed.len(), 2);
        assert!(diff(&to, &to).is_empty());
    }

    /// What `changed_project_files` relies on: the diff of only the projects the change touches
    /// (a file added or removed) is the diff of the whole versions.
    #[test]
    fn the_touched_projects_alone_give_the_same_diff() {
        let mut from: Vec<FileEntry> = (0..50)
            .map(|i| f(&format!("p{i:02}"), "1.0", &format!("s{i}")))
            .collect();
        from.push(f("p07", "1.1", "s7b"));
        let mut to = from.clone();
        to.retain(|e| e.project != "p03" && e.sha256 != "s7b");
        to.push(f("p11", "2.0", "n11"));
        to.push(f("new", "0.1", "n0"));
        to.iter_mut()
            .filter(|e| e.project == "p20")
            .for_each(|e| e.sha256 = "rebuilt".into());
        let whole = diff(&from, &to);

        let key = |e: &FileEntry| (e.filename.clone(), e.sha256.clone());
        let (fk, tk): (BTreeSet<_>, BTreeSet<_>) =
            (from.iter().map(key).collect(), to.iter().map(key).collect());
        let touched: BTreeSet<&str> = from
            .iter()
            .filter(|e| !tk.contains(&key(e)))
            .chain(to.iter().filter(|e| !fk.contains(&key(e))))
            .map(|e| e.project.as_str())
            .collect();
        assert_eq!(touched, BTreeSet::from(["new", "p03", "p07", "p11", "p20"]));
        let only = |v: &[FileEntry]| -> Vec<FileEntry> {
            v.iter()
                .filter(|e| touched.contains(e.project.as_str()))
                .cloned()
                .collect()
        };
        let part = diff(&only(&from), &only(&to));
        assert_eq!(part.projects, whole.projects);
        assert_eq!(part.files_added, whole.files_added);
        assert_eq!(part.files_removed, whole.files_removed);
        assert_eq!(whole.projects.len(), 5);
    }

    #[test]
    fn versions_sort_by_pep440() {
        let from = vec![f("a", "1.0", "x")];
        let to = vec![f("a", "1.10", "y"), f("a", "1.9", "z")];
        let d = diff(&from, &to);
        assert_eq!(d.projects[0].to_string(), "  a 1.0 → 1.9, 1.10");
    }
}

/// Which version to compare.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VersionRef {
    /// What the production distribution serves.
    Production,
    /// The latest staging version.
    Latest,
    /// A version number.
    Number(u64),
}

impl std::str::FromStr for VersionRef {
    type Err = String;

    fn from_str(s: &str) -> std::result::Result<Self, String> {
        match s {
            "production" | "prod" => Ok(Self::Production),
            "latest" => Ok(Self::Latest),
            n => n
                .parse()
                .map(Self::Number)
                .map_err(|_| format!("{s:?} is not a version number, `production` or `latest`")),
        }
    }
}

/// The `diff` result.
#[derive(Debug, Clone, Serialize)]
pub struct DiffReport {
    /// Release.
    pub release: String,
    /// Variant.
    pub variant: String,
    /// From this version (`None`: production serves nothing pinned).
    pub from_version: Option<u64>,
    /// To this version.
    pub to_version: Option<u64>,
    /// The differences.
    #[serde(flatten)]
    pub diff: Diff,
}

/// Compare two versions of a variant's staging repository. A version it does not have is
/// [`crate::Error::NoSuchVersion`] (a usage error), whichever side it is on.
pub async fn diff_versions(
    client: &PulpClient,
    catalog: &crate::catalog::Catalog,
    release: &str,
    variant: &str,
    from: VersionRef,
    to: VersionRef,
    cache: Option<&crate::cache::Cache>,
) -> Result<DiffReport> {
    let state = crate::state::VariantState::load(client, catalog, release, variant).await?;
    state.require_repository()?;
    let resolve = |r: VersionRef| -> Option<u64> {
        match r {
            VersionRef::Number(n) => Some(n),
            VersionRef::Latest => state.latest.as_ref().map(|l| l.number),
            VersionRef::Production => state.served.current().map(|v| v.number),
        }
    };
    // The version each side names (production may serve a version of another repository:
    // it is read as it is); `None`: nothing, an empty side.
    let href = |r: VersionRef| -> Result<Option<RepositoryVersionHref>> {
        match r {
            VersionRef::Production => Ok(state.served.current().map(|v| v.href.clone())),
            r => resolve(r).map(|n| state.version_href(n)).transpose(),
        }
    };
    // A numbered side must exist: a version Pulp does not have is `NoSuchVersion`, whatever
    // the listings answer.
    let exists = |r: VersionRef| {
        let (state, resolve) = (&state, &resolve);
        async move {
            match (r, resolve(r)) {
                (VersionRef::Production, _) | (_, None) => Ok(()),
                (_, Some(n)) => state.existing_version(client, n).await.map(|_| ()),
            }
        }
    };
    let (from_files, to_files) = match (href(from)?, href(to)?) {
        // Both sides are versions: read what changed, not both versions whole.
        (Some(a), Some(b)) => {
            let (ea, eb, files) = futures::join!(
                exists(from),
                exists(to),
                changed_project_files(client, &a, &b, cache)
            );
            ea?;
            eb?;
            files?
        }
        // One side is empty: the change is the other side whole.
        (a, b) => {
            let files = |h: Option<RepositoryVersionHref>, r: VersionRef| async move {
                exists(r).await?;
                match h {
                    Some(h) => crate::state::version_files(client, cache, &h).await,
                    None => Ok(Vec::new()),
                }
            };
            futures::try_join!(files(a, from), files(b, to))?
        }
    };
    Ok(DiffReport {
        release: release.into(),
        variant: variant.into(),
        from_version: resolve(from),
        to_version: resolve(to),
        diff: diff(&from_files, &to_files),
    })
}

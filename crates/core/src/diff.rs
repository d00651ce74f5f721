//! Differences between two versions of a staging repository, summarised per project.

use std::collections::{BTreeMap, BTreeSet};

use futures::TryStreamExt;
use pulp_client::{PackageQuery, PulpClient, RepositoryVersionHref};
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

/// Every file of a version (fetched with only the fields needed).
pub async fn version_files(
    client: &PulpClient,
    version: &RepositoryVersionHref,
) -> Result<Vec<FileEntry>> {
    let mut files: Vec<FileEntry> = client
        .packages(&PackageQuery {
            repository_version: Some(version.clone()),
            fields: vec!["name".into(), "version".into()],
            limit: Some(1000),
            ..Default::default()
        })
        .await?
        .map_ok(|p| FileEntry {
            project: wheelgate_wheel::normalize_project(&p.name),
            version: p.version,
            filename: p.filename,
            sha256: p.sha256,
        })
        .try_collect()
        .await?;
    files.sort();
    Ok(files)
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
    let files = |r: VersionRef| {
        let (state, resolve) = (&state, &resolve);
        async move {
            match (r, state.served.current()) {
                // Production may serve a version of another repository: read it as it is.
                (VersionRef::Production, Some(v)) => version_files(client, &v.href).await,
                (VersionRef::Production, None) => Ok(Vec::new()),
                (r, _) => match resolve(r) {
                    Some(n) => state.files_of(client, n).await,
                    None => Ok(Vec::new()),
                },
            }
        }
    };
    let (from_files, to_files) = futures::try_join!(files(from), files(to))?;
    Ok(DiffReport {
        release: release.into(),
        variant: variant.into(),
        from_version: resolve(from),
        to_version: resolve(to),
        diff: diff(&from_files, &to_files),
    })
}

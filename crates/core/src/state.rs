//! One view of a release's state, loaded once per command with concurrent requests: per
//! variant the staging repository, the staging and production distributions, what production
//! serves, the latest version and the build labels; and the release's ledger events.
//!
//! Commands read this view instead of working facts out again: "what production serves" is
//! decided here, in [`Served::resolve`], and nowhere else.

use std::collections::BTreeMap;

use futures::future::try_join_all;
use pulp_client::{
    Distribution, PublicationHref, PulpClient, Repository, RepositoryHref, RepositoryVersion,
    RepositoryVersionHref, Serves,
};
use serde::Serialize;

use crate::catalog::{Catalog, Names};
use crate::diff::{self, FileEntry};
use crate::error::{Error, Result};
use crate::labels;
use crate::ledger::{Event, Ledger};

/// One repository version, by number and href.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VersionRef {
    /// Its number (0 is the empty first version).
    pub number: u64,
    /// Its href.
    pub href: RepositoryVersionHref,
}

impl VersionRef {
    /// The version an href names, if it ends in a number.
    pub fn from_href(href: &RepositoryVersionHref) -> Option<Self> {
        Some(Self {
            number: href.number()?,
            href: href.clone(),
        })
    }
}

/// What a production distribution serves.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Served {
    /// Exactly one version (what wheelgate wants).
    Pinned {
        /// The version.
        version: VersionRef,
        /// Whether it is a version of the variant's staging repository.
        staging: bool,
    },
    /// The latest version of a repository, whatever it is when a customer asks: every change
    /// of that repository goes live.
    Following {
        /// The repository followed.
        repository: RepositoryHref,
        /// Whether it is the variant's staging repository.
        staging: bool,
        /// Its latest version now (`None`: it has none, or it is gone).
        latest: Option<VersionRef>,
    },
    /// A publication (wheelgate never makes them).
    Publication {
        /// The publication.
        publication: PublicationHref,
    },
    /// Nothing (or there is no production distribution).
    Nothing,
}

impl Served {
    /// What a distribution serves. `staging` is the variant's staging repository (if it
    /// exists); `followed` is the repository the distribution follows when that is another one
    /// (read separately, since its latest version is what customers get).
    pub fn resolve(
        dist: Option<&Distribution>,
        staging: Option<&Repository>,
        followed: Option<&Repository>,
    ) -> Self {
        let Some(d) = dist else {
            return Self::Nothing;
        };
        let is_staging = |r: &RepositoryHref| staging.is_some_and(|s| &s.pulp_href == r);
        match d.serves() {
            Serves::Version(v) => match VersionRef::from_href(&v) {
                Some(version) => Self::Pinned {
                    staging: v.repository().is_some_and(|r| is_staging(&r)),
                    version,
                },
                None => Self::Nothing,
            },
            Serves::Latest(r) => {
                let staging_here = is_staging(&r);
                let source = if staging_here {
                    staging
                } else {
                    followed.filter(|f| f.pulp_href == r)
                };
                Self::Following {
                    latest: source
                        .and_then(|s| s.latest_version_href.as_ref())
                        .and_then(VersionRef::from_href),
                    staging: staging_here,
                    repository: r,
                }
            }
            Serves::Nothing => match &d.publication {
                Some(p) => Self::Publication {
                    publication: p.clone(),
                },
                None => Self::Nothing,
            },
        }
    }

    /// The repository version customers get now: the pinned one, or the followed repository's
    /// latest. `None` for a publication or nothing.
    pub fn current(&self) -> Option<&VersionRef> {
        match self {
            Self::Pinned { version, .. } => Some(version),
            Self::Following { latest, .. } => latest.as_ref(),
            Self::Publication { .. } | Self::Nothing => None,
        }
    }

    /// The number of [`Served::current`], if it is a version of the staging repository (a
    /// number of another repository would mean nothing in the staging numbering).
    pub fn staging_number(&self) -> Option<u64> {
        match self {
            Self::Pinned {
                version,
                staging: true,
            } => Some(version.number),
            Self::Following {
                latest: Some(v),
                staging: true,
                ..
            } => Some(v.number),
            _ => None,
        }
    }

    /// The pinned version, if production is pinned.
    pub fn pinned(&self) -> Option<&VersionRef> {
        match self {
            Self::Pinned { version, .. } => Some(version),
            _ => None,
        }
    }

    /// Whether production is pinned to version `n` of the staging repository.
    pub fn is_pinned_to(&self, n: u64) -> bool {
        matches!(self, Self::Pinned { version, staging: true } if version.number == n)
    }

    /// The same as the client's [`Serves`], to put it back after a failed switch (`None` for a
    /// publication, which the client cannot serve again).
    pub fn to_serves(&self) -> Option<Serves> {
        match self {
            Self::Pinned { version, .. } => Some(Serves::Version(version.href.clone())),
            Self::Following { repository, .. } => Some(Serves::Latest(repository.clone())),
            Self::Publication { .. } => None,
            Self::Nothing => Some(Serves::Nothing),
        }
    }
}

/// The state of one variant.
#[derive(Debug, Clone)]
pub struct VariantState {
    /// Names of its Pulp objects.
    pub names: Names,
    /// The staging repository (`None`: missing).
    pub repository: Option<Repository>,
    /// The staging distribution (`None`: missing).
    pub staging: Option<Distribution>,
    /// The production distribution (`None`: missing).
    pub production: Option<Distribution>,
    /// What production serves.
    pub served: Served,
    /// The latest staging version.
    pub latest: Option<VersionRef>,
    /// Build ids recorded on the staging repository, by version number.
    pub builds: BTreeMap<u64, String>,
}

impl VariantState {
    /// Put a variant's state together from what was read (pure).
    pub fn resolve(
        names: Names,
        repository: Option<Repository>,
        staging: Option<Distribution>,
        production: Option<Distribution>,
        followed: Option<&Repository>,
    ) -> Self {
        let served = Served::resolve(production.as_ref(), repository.as_ref(), followed);
        let latest = repository
            .as_ref()
            .and_then(|r| r.latest_version_href.as_ref())
            .and_then(VersionRef::from_href);
        let builds = repository
            .as_ref()
            .map(|r| labels::builds(&r.pulp_labels))
            .unwrap_or_default();
        Self {
            names,
            repository,
            staging,
            production,
            served,
            latest,
            builds,
        }
    }

    /// Read one variant's objects (three requests at once, a fourth only when production
    /// follows a repository other than staging).
    pub async fn load(
        client: &PulpClient,
        catalog: &Catalog,
        release: &str,
        variant: &str,
    ) -> Result<Self> {
        catalog.variant(release, variant)?;
        let names = catalog.names(release, variant);
        let (repository, staging, production) = futures::try_join!(
            client.repository_by_name(&names.repository),
            client.distribution_by_name(&names.staging_distribution),
            client.distribution_by_name(&names.production_distribution),
        )?;
        let followed = match production.as_ref().map(Distribution::serves) {
            Some(Serves::Latest(r)) if repository.as_ref().is_none_or(|s| s.pulp_href != r) => {
                match client.repository(&r).await {
                    Ok(f) => Some(f),
                    Err(e) if e.is_not_found() => None,
                    Err(e) => return Err(e.into()),
                }
            }
            _ => None,
        };
        Ok(Self::resolve(
            names,
            repository,
            staging,
            production,
            followed.as_ref(),
        ))
    }

    /// The variant's name.
    pub fn variant(&self) -> &str {
        &self.names.variant
    }

    /// Whether any of its objects exists.
    pub fn any_exists(&self) -> bool {
        self.repository.is_some() || self.staging.is_some() || self.production.is_some()
    }

    /// The staging repository, or the error saying `init` has not made it.
    pub fn require_repository(&self) -> Result<&Repository> {
        self.repository
            .as_ref()
            .ok_or_else(|| Error::NotInitialized {
                what: "staging repository",
                name: self.names.repository.clone(),
                release: self.names.release.clone(),
            })
    }

    /// The production distribution, or the error saying `init` has not made it.
    pub fn require_production(&self) -> Result<&Distribution> {
        self.production
            .as_ref()
            .ok_or_else(|| Error::NotInitialized {
                what: "production distribution",
                name: self.names.production_distribution.clone(),
                release: self.names.release.clone(),
            })
    }

    /// The build that made version `n`, if recorded.
    pub fn build(&self, n: u64) -> Option<&str> {
        self.builds.get(&n).map(String::as_str)
    }

    /// The error for a version the staging repository does not have.
    pub fn no_such_version(&self, n: u64) -> Error {
        Error::NoSuchVersion {
            repository: self.names.repository.clone(),
            version: n,
        }
    }

    /// The href of staging version `n`, refused without a request when `n` is newer than the
    /// latest version.
    pub fn version_href(&self, n: u64) -> Result<RepositoryVersionHref> {
        let repo = self.require_repository()?;
        if self.latest.as_ref().is_none_or(|l| n > l.number) {
            return Err(self.no_such_version(n));
        }
        Ok(repo.pulp_href.version(n))
    }

    /// Staging version `n`, or [`Error::NoSuchVersion`] (never made, or pruned).
    pub async fn existing_version(&self, client: &PulpClient, n: u64) -> Result<RepositoryVersion> {
        let href = self.version_href(n)?;
        match client.repository_version(&href).await {
            Ok(v) => Ok(v),
            Err(e) if e.is_not_found() => Err(self.no_such_version(n)),
            Err(e) => Err(e.into()),
        }
    }

    /// Every file of staging version `n`, or [`Error::NoSuchVersion`]. The version and its files
    /// are read at once (Pulp answers a listing of a missing version with a 400, not a 404).
    pub async fn files_of(&self, client: &PulpClient, n: u64) -> Result<Vec<FileEntry>> {
        let href = self.version_href(n)?;
        let (version, files) = futures::join!(
            client.repository_version(&href),
            diff::version_files(client, &href)
        );
        match version {
            Err(e) if e.is_not_found() => Err(self.no_such_version(n)),
            Err(e) => Err(e.into()),
            Ok(_) => files,
        }
    }

    /// Every file customers of production get now (none for a publication or nothing).
    pub async fn served_files(&self, client: &PulpClient) -> Result<Vec<FileEntry>> {
        match self.served.current() {
            Some(v) => diff::version_files(client, &v.href).await,
            None => Ok(Vec::new()),
        }
    }
}

/// Where a file of a staging version comes from: the first version that contained it and the
/// build recorded for that version (docs/builds.md).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FileOrigin {
    /// The version number.
    pub version: u64,
    /// The build id recorded for it (`wheelgate.build.v<N>` label), if any.
    pub build: Option<String>,
}

/// Every file of staging version `upto` (with `fields` besides the href, filename and sha256)
/// and the build that added it, read in one pass over what Pulp records of each version:
/// the packages every version up to `upto` added (`repository_version_added`) and removed
/// (`repository_version_removed`), replayed in order. Pulp keeps a unit's membership as
/// intervals of versions (added in one, removed in a later one; pruning a version squashes
/// its changes into the next), so the replay gives exactly the version's files, with no
/// separate listing of the version: each unit is read once, not twice, which is what a
/// version listing costs Pulp (its time grows with the units it returns, whatever the
/// fields). Versions that added or removed nothing (`content_summary`) are not read.
///
/// A file's origin is the first version that contained it (a unit removed and added again
/// keeps it: its bytes are the same) and the build recorded for that version. Versions
/// deleted by prune pass their additions on to the next version Pulp keeps, so attributions
/// only ever move to later builds (a mix may be hidden, none is invented).
pub async fn files_with_origins(
    client: &PulpClient,
    repository: &Repository,
    upto: u64,
    fields: &[&str],
) -> Result<Vec<(pulp_client::Package, FileOrigin)>> {
    use futures::{StreamExt, TryStreamExt};
    let builds = labels::builds(&repository.pulp_labels);
    let changed = |summary: &BTreeMap<String, pulp_client::ContentCount>| {
        summary.get("python.python").is_some_and(|c| c.count > 0)
    };
    // (version, whether this reads its removals, its href)
    let mut reads: Vec<(u64, bool, RepositoryVersionHref)> = Vec::new();
    for v in client.list_versions(&repository.pulp_href).await? {
        if v.number > upto {
            continue;
        }
        if changed(&v.content_summary.added) {
            reads.push((v.number, false, v.pulp_href.clone()));
        }
        if changed(&v.content_summary.removed) {
            reads.push((v.number, true, v.pulp_href));
        }
    }
    let fields: Vec<String> = fields.iter().map(|f| (*f).to_owned()).collect();
    let mut read: Vec<(u64, bool, Vec<pulp_client::Package>)> = futures::stream::iter(reads)
        .map(|(n, removed, href)| {
            let query = if removed {
                pulp_client::PackageQuery {
                    repository_version_removed: Some(href),
                    fields: vec!["pulp_href".into()],
                    limit: Some(crate::diff::LISTING_PAGE),
                    ..Default::default()
                }
            } else {
                pulp_client::PackageQuery {
                    repository_version_added: Some(href),
                    fields: fields.clone(),
                    limit: Some(crate::diff::LISTING_PAGE),
                    ..Default::default()
                }
            };
            async move {
                let packages: Vec<pulp_client::Package> =
                    client.packages(&query).await?.try_collect().await?;
                Ok::<_, Error>((n, removed, packages))
            }
        })
        .buffer_unordered(4)
        .try_collect()
        .await?;
    // In version order; within a version, removals first (as a `modify` applies them).
    read.sort_by_key(|(n, removed, _)| (*n, !*removed));
    let mut present: std::collections::HashMap<String, pulp_client::Package> =
        std::collections::HashMap::new();
    let mut origins: std::collections::HashMap<String, FileOrigin> =
        std::collections::HashMap::new();
    for (n, removed, packages) in read {
        for p in packages {
            let href = p.pulp_href.as_str().to_owned();
            if removed {
                present.remove(&href);
                continue;
            }
            origins.entry(href.clone()).or_insert_with(|| FileOrigin {
                version: n,
                build: builds.get(&n).cloned(),
            });
            present.insert(href, p);
        }
    }
    let mut files: Vec<(pulp_client::Package, FileOrigin)> = present
        .into_iter()
        .filter_map(|(href, p)| origins.remove(&href).map(|o| (p, o)))
        .collect();
    files.sort_by(|a, b| a.0.filename.cmp(&b.0.filename));
    Ok(files)
}

/// The state of a release: its variants (in catalog order, or as asked) and its ledger.
#[derive(Debug, Clone)]
pub struct ReleaseState {
    /// The release.
    pub release: String,
    /// Per variant.
    pub variants: Vec<VariantState>,
    /// The ledger (`None`: missing).
    pub ledger: Option<Ledger>,
    /// Every ledger event of the release, oldest first (all variants).
    pub events: Vec<Event>,
}

impl ReleaseState {
    /// Read the state of `variants` of a release (every variant when empty) and its ledger,
    /// all at once.
    pub async fn load(
        client: &PulpClient,
        catalog: &Catalog,
        release: &str,
        variants: &[String],
    ) -> Result<Self> {
        let rel = catalog.release(release)?;
        let variants: &[String] = if variants.is_empty() {
            &rel.variants
        } else {
            variants
        };
        for v in variants {
            catalog.variant(release, v)?;
        }
        let (states, ledger) = futures::try_join!(
            try_join_all(
                variants
                    .iter()
                    .map(|v| VariantState::load(client, catalog, release, v))
            ),
            Ledger::find_with_events(client, catalog, release),
        )?;
        let (ledger, events) = match ledger {
            Some((l, e)) => (Some(l), e),
            None => (None, Vec::new()),
        };
        Ok(Self {
            release: release.to_owned(),
            variants: states,
            ledger,
            events,
        })
    }

    /// One variant's state.
    pub fn variant(&self, variant: &str) -> Option<&VariantState> {
        self.variants.iter().find(|v| v.variant() == variant)
    }

    /// The ledger, or the error saying `init` has not made it.
    pub fn require_ledger(&self, catalog: &Catalog) -> Result<&Ledger> {
        self.ledger.as_ref().ok_or_else(|| Error::NotInitialized {
            what: "ledger repository",
            name: crate::ledger::ledger_name(catalog, &self.release),
            release: self.release.clone(),
        })
    }

    /// The ledger events of one variant, oldest first.
    pub fn events_of<'a>(&'a self, variant: &'a str) -> impl Iterator<Item = &'a Event> + 'a {
        self.events.iter().filter(move |e| e.variant == variant)
    }

    /// Whether any Pulp object of the release exists (`false`: never initialised).
    pub fn any_exists(&self) -> bool {
        self.ledger.is_some() || self.variants.iter().any(VariantState::any_exists)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const API: &str = "/pulp/api/v3/repositories/python/python/";

    fn repo(id: &str, latest: Option<u64>) -> Repository {
        let href = RepositoryHref::new(format!("{API}{id}/"));
        serde_json::from_value(serde_json::json!({
            "pulp_href": href,
            "name": format!("repo-{id}"),
            "latest_version_href": latest.map(|n| href.version(n)),
        }))
        .unwrap()
    }

    fn dist(fields: serde_json::Value) -> Distribution {
        let mut d = serde_json::json!({
            "pulp_href": "/pulp/api/v3/distributions/python/pypi/d/",
            "name": "prod",
            "base_path": "p/1.0/cpu",
        });
        if let (Some(d), Some(f)) = (d.as_object_mut(), fields.as_object()) {
            d.extend(f.clone());
        }
        serde_json::from_value(d).unwrap()
    }

    #[test]
    fn pinned_to_a_staging_version() {
        let staging = repo("a", Some(5));
        let d = dist(serde_json::json!({"repository_version": staging.pulp_href.version(3)}));
        let s = Served::resolve(Some(&d), Some(&staging), None);
        assert_eq!(s.staging_number(), Some(3));
        assert_eq!(s.pinned().map(|v| v.number), Some(3));
        assert!(s.is_pinned_to(3) && !s.is_pinned_to(5));
        assert_eq!(s.current().map(|v| v.number), Some(3));
        assert_eq!(
            s.to_serves(),
            Some(Serves::Version(staging.pulp_href.version(3)))
        );
    }

    #[test]
    fn following_staging_serves_its_latest_version() {
        // The case the commands used to disagree about: it serves the latest staging
        // version, and is not pinned to it.
        let staging = repo("a", Some(5));
        let d = dist(serde_json::json!({"repository": staging.pulp_href}));
        let s = Served::resolve(Some(&d), Some(&staging), None);
        assert!(matches!(s, Served::Following { staging: true, .. }));
        assert_eq!(s.current().map(|v| v.number), Some(5));
        assert_eq!(s.staging_number(), Some(5));
        assert_eq!(s.pinned(), None);
        assert!(
            !s.is_pinned_to(5),
            "following is not pinned: promoting 5 pins it"
        );
        assert_eq!(
            s.to_serves(),
            Some(Serves::Latest(staging.pulp_href.clone()))
        );
    }

    #[test]
    fn another_repository_has_no_staging_number() {
        let staging = repo("a", Some(5));
        let other = repo("b", Some(9));
        let follows = dist(serde_json::json!({"repository": other.pulp_href}));
        let s = Served::resolve(Some(&follows), Some(&staging), Some(&other));
        assert!(matches!(s, Served::Following { staging: false, .. }));
        assert_eq!(
            s.current().map(|v| v.number),
            Some(9),
            "customers get b's latest"
        );
        assert_eq!(s.staging_number(), None);
        // The followed repository was not read (or is gone): latest unknown.
        let s = Served::resolve(Some(&follows), Some(&staging), None);
        assert_eq!(s.current(), None);

        let pinned = dist(serde_json::json!({"repository_version": other.pulp_href.version(2)}));
        let s = Served::resolve(Some(&pinned), Some(&staging), None);
        assert!(matches!(s, Served::Pinned { staging: false, .. }));
        assert_eq!(s.staging_number(), None);
        assert!(!s.is_pinned_to(2));
    }

    #[test]
    fn publication_nothing_and_missing() {
        let staging = repo("a", Some(1));
        let d =
            dist(serde_json::json!({"publication": "/pulp/api/v3/publications/python/pypi/x/"}));
        let s = Served::resolve(Some(&d), Some(&staging), None);
        assert!(matches!(s, Served::Publication { .. }));
        assert_eq!(s.current(), None);
        assert_eq!(s.to_serves(), None);
        let d = dist(serde_json::json!({}));
        assert_eq!(
            Served::resolve(Some(&d), Some(&staging), None),
            Served::Nothing
        );
        assert_eq!(Served::resolve(None, Some(&staging), None), Served::Nothing);
        // Following a staging repository that has no versions (cannot happen in Pulp, where
        // version 0 always exists, but must not panic).
        let empty = repo("e", None);
        let d = dist(serde_json::json!({"repository": empty.pulp_href}));
        assert_eq!(
            Served::resolve(Some(&d), Some(&empty), None).current(),
            None
        );
    }

    #[test]
    fn variant_state_versions() {
        let staging = repo("a", Some(4));
        let names = Names::new("p", "1.0", "cpu");
        let v = VariantState::resolve(names.clone(), Some(staging.clone()), None, None, None);
        assert_eq!(v.latest.as_ref().map(|l| l.number), Some(4));
        assert_eq!(v.served, Served::Nothing);
        assert_eq!(v.version_href(4).ok(), Some(staging.pulp_href.version(4)));
        let err = v.version_href(7).unwrap_err();
        assert_eq!(err.to_string(), "p-1.0-cpu has no version 7");
        assert_eq!(err.class(), crate::ErrorClass::Invalid);
        let missing = VariantState::resolve(names, None, None, None, None);
        assert!(!missing.any_exists());
        assert!(matches!(
            missing.version_href(0),
            Err(Error::NotInitialized { .. })
        ));
    }
}

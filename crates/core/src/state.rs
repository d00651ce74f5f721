//! One view of a release's state, loaded once per command with concurrent requests: per
//! variant the staging repository, the staging and production distributions, what production
//! serves, the latest version and the build labels; and the release's ledger events.
//!
//! Commands read this view instead of working facts out again: "what production serves" is
//! decided here, in [`Served::resolve`], and nowhere else.

use std::collections::BTreeMap;

use futures::future::try_join_all;
use pulp_client::{
    Distribution, PackageHref, PublicationHref, PulpClient, Repository, RepositoryHref,
    RepositoryVersion, RepositoryVersionHref, Serves,
};
use serde::Serialize;

use crate::cache::{self, Cache, VersionKey};
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
        self.files_of_cached(client, None, n).await
    }

    /// [`VariantState::files_of`], read through the cache with [`version_files`] (replayed from
    /// cached changes when that costs Pulp fewer rows than the version's own listing).
    pub async fn files_of_cached(
        &self,
        client: &PulpClient,
        cache: Option<&Cache>,
        n: u64,
    ) -> Result<Vec<FileEntry>> {
        let href = self.version_href(n)?;
        let (version, files) = futures::join!(
            client.repository_version(&href),
            version_files(client, cache, &href)
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

/// One listed repository version, as the replay reads it.
#[derive(Debug, Clone)]
struct Listed {
    number: u64,
    href: RepositoryVersionHref,
    added: u64,
    removed: u64,
    present: u64,
    /// Its cache key (`None`: no cache, or Pulp gave no `pulp_created`).
    key: Option<VersionKey>,
}

/// What the cache holds of one version's changes: each part, `Some(empty)` when Pulp counts
/// it empty, `None` when it is still to read.
#[derive(Debug, Clone, Default)]
struct Cached {
    added: Option<Vec<pulp_client::Package>>,
    removed: Option<Vec<PackageHref>>,
}

/// What one version changed: the packages it added and the hrefs of those it removed.
#[derive(Debug, Clone, Default)]
struct Changes {
    added: Vec<pulp_client::Package>,
    removed: Vec<PackageHref>,
}

/// The `python.python` count of one part of a content summary.
fn python_count(part: &BTreeMap<String, pulp_client::ContentCount>) -> u64 {
    part.get("python.python").map(|c| c.count).unwrap_or(0)
}

/// The versions of `repository` up to `upto`, oldest first, each with its counts and (with a
/// cache) its key: one listing of the repository's versions.
async fn list_upto(
    client: &PulpClient,
    cache: Option<&Cache>,
    repository: &RepositoryHref,
    upto: u64,
) -> Result<Vec<Listed>> {
    let server = match cache {
        Some(_) => Some(cache::server_identity(client).await?),
        None => None,
    };
    let mut versions = client.list_versions(repository).await?;
    versions.sort_by_key(|v| v.number);
    let mut listed = Vec::new();
    let mut previous = None;
    for v in versions {
        let number = v.number;
        if number > upto {
            break;
        }
        let (added, removed, present) = (
            python_count(&v.content_summary.added),
            python_count(&v.content_summary.removed),
            python_count(&v.content_summary.present),
        );
        let key = match (&server, &v.pulp_created) {
            (Some(server), Some(created)) => Some(VersionKey {
                server: server.clone(),
                version: v.pulp_href.to_string(),
                created: created.clone(),
                previous,
                added,
                removed,
                present,
            }),
            _ => None,
        };
        listed.push(Listed {
            number,
            href: v.pulp_href,
            added,
            removed,
            present,
            key,
        });
        previous = Some(number);
    }
    Ok(listed)
}

/// The cached parts of each listed version's changes (all to read without a cache).
async fn cached_changes(cache: Option<&Cache>, listed: &[Listed]) -> Result<Vec<Cached>> {
    let cache = cache.cloned();
    let keys: Vec<(Option<VersionKey>, u64, u64)> = listed
        .iter()
        .map(|l| (l.key.clone(), l.added, l.removed))
        .collect();
    // Reading and parsing files: off the async threads.
    tokio::task::spawn_blocking(move || {
        keys.into_iter()
            .map(|(key, added, removed)| {
                let added = if added == 0 {
                    Some(Vec::new())
                } else {
                    cache
                        .as_ref()
                        .zip(key.as_ref())
                        .and_then(|(c, k)| c.added(k))
                };
                let removed = if removed == 0 {
                    Some(Vec::new())
                } else {
                    cache
                        .as_ref()
                        .zip(key.as_ref())
                        .and_then(|(c, k)| c.removed(k))
                };
                Cached { added, removed }
            })
            .collect()
    })
    .await
    .map_err(|e| Error::Inconsistent(format!("reading the cache crashed: {e}")))
}

/// How many package rows Pulp must list for the parts not in `cached`.
fn rows_to_read(listed: &[Listed], cached: &[Cached]) -> u64 {
    listed
        .iter()
        .zip(cached)
        .map(|(l, c)| {
            c.added.as_ref().map_or(l.added, |_| 0) + c.removed.as_ref().map_or(l.removed, |_| 0)
        })
        .sum()
}

/// Every listed version's changes: the cached parts as they are, the others read from Pulp
/// (four listings at once; additions with [`cache::ADDED_FIELDS`], removals as hrefs) and
/// stored in the cache.
async fn complete_changes(
    client: &PulpClient,
    cache: Option<&Cache>,
    listed: &[Listed],
    cached: Vec<Cached>,
) -> Result<Vec<Changes>> {
    use futures::{StreamExt, TryStreamExt};
    // (index, whether this reads removals, the version)
    let reads: Vec<(usize, bool, &Listed)> = listed
        .iter()
        .zip(&cached)
        .enumerate()
        .flat_map(|(i, (l, c))| {
            let mut v = Vec::new();
            if c.added.is_none() {
                v.push((i, false, l));
            }
            if c.removed.is_none() {
                v.push((i, true, l));
            }
            v
        })
        .collect();
    let (hits, misses) = (listed.len() * 2 - reads.len(), reads.len());
    tracing::debug!(
        versions = listed.len(),
        parts_cached = hits,
        parts_to_read = misses,
        rows_to_read = rows_to_read(listed, &cached),
        "version changes"
    );
    let read: Vec<(usize, bool, Vec<pulp_client::Package>)> = futures::stream::iter(reads)
        .map(|(i, removed, l)| {
            let query = pulp_client::PackageQuery {
                repository_version_added: (!removed).then(|| l.href.clone()),
                repository_version_removed: removed.then(|| l.href.clone()),
                fields: if removed {
                    vec!["pulp_href".into()]
                } else {
                    cache::ADDED_FIELDS
                        .iter()
                        .map(|f| (*f).to_owned())
                        .collect()
                },
                limit: Some(crate::diff::LISTING_PAGE),
                ..Default::default()
            };
            async move {
                let packages: Vec<pulp_client::Package> =
                    client.packages(&query).await?.try_collect().await?;
                Ok::<_, Error>((i, removed, packages))
            }
        })
        .buffer_unordered(4)
        .try_collect()
        .await?;
    let mut changes: Vec<Changes> = cached
        .into_iter()
        .map(|c| Changes {
            added: c.added.unwrap_or_default(),
            removed: c.removed.unwrap_or_default(),
        })
        .collect();
    let mut to_store: Vec<(VersionKey, bool, Vec<pulp_client::Package>)> = Vec::new();
    for (i, removed, packages) in read {
        let (Some(l), Some(c)) = (listed.get(i), changes.get_mut(i)) else {
            continue;
        };
        let count = if removed { l.removed } else { l.added };
        // A count that does not match (the version changed while it was read) is not kept.
        if let Some(key) = l.key.as_ref().filter(|_| packages.len() as u64 == count) {
            to_store.push((key.clone(), removed, packages.clone()));
        }
        if removed {
            c.removed = packages.into_iter().map(|p| p.pulp_href).collect();
        } else {
            c.added = packages;
        }
    }
    if let Some(cache) = cache.filter(|_| !to_store.is_empty()) {
        let cache = cache.clone();
        let stored = tokio::task::spawn_blocking(move || {
            for (key, removed, packages) in to_store {
                if removed {
                    let hrefs: Vec<PackageHref> =
                        packages.into_iter().map(|p| p.pulp_href).collect();
                    cache.store_removed(&key, &hrefs);
                } else {
                    cache.store_added(&key, &packages);
                }
            }
        })
        .await;
        if let Err(e) = stored {
            tracing::warn!(error = %e, "writing the cache crashed");
        }
    }
    Ok(changes)
}

/// Replay every version's changes in order (within a version, removals first, as a `modify`
/// applies them): the files present after the last one, each with its first version.
fn replay(
    listed: &[Listed],
    changes: Vec<Changes>,
    builds: &BTreeMap<u64, String>,
) -> Vec<(pulp_client::Package, FileOrigin)> {
    use std::collections::HashMap;
    let mut present: HashMap<PackageHref, pulp_client::Package> = HashMap::new();
    let mut origins: HashMap<PackageHref, FileOrigin> = HashMap::new();
    for (l, c) in listed.iter().zip(changes) {
        for href in &c.removed {
            present.remove(href);
        }
        for p in c.added {
            origins
                .entry(p.pulp_href.clone())
                .or_insert_with(|| FileOrigin {
                    version: l.number,
                    build: builds.get(&l.number).cloned(),
                });
            present.insert(p.pulp_href.clone(), p);
        }
    }
    let mut files: Vec<(pulp_client::Package, FileOrigin)> = present
        .into_iter()
        .filter_map(|(href, p)| origins.remove(&href).map(|o| (p, o)))
        .collect();
    files.sort_by(|a, b| a.0.filename.cmp(&b.0.filename));
    files
}

/// Every file of staging version `upto` (with [`cache::ADDED_FIELDS`] besides the href,
/// filename and sha256) and the build that added it, read in one pass over what Pulp records
/// of each version: the packages every version up to `upto` added
/// (`repository_version_added`) and removed (`repository_version_removed`), replayed in
/// order. Pulp keeps a unit's membership as intervals of versions (added in one, removed in a
/// later one; pruning a version squashes its changes into the next), so the replay gives
/// exactly the version's files, with no separate listing of the version: each unit is read
/// once, not twice, which is what a version listing costs Pulp (its time grows with the units
/// it returns, whatever the fields). Versions that added or removed nothing
/// (`content_summary`) are not read.
///
/// With a `cache`, what earlier commands on this machine read of the same versions is taken
/// from it and only the rest is read from Pulp (and stored): the cost grows with the versions
/// made since, not with the index ([`crate::cache`] says why that is sound). A replay whose
/// number of files is not the version's present count is read again without the cache.
///
/// A file's origin is the first version that contained it (a unit removed and added again
/// keeps it: its bytes are the same) and the build recorded for that version. Versions
/// deleted by prune pass their additions on to the next version Pulp keeps, so attributions
/// only ever move to later builds (a mix may be hidden, none is invented).
pub async fn files_with_origins(
    client: &PulpClient,
    repository: &Repository,
    upto: u64,
    cache: Option<&Cache>,
) -> Result<Vec<(pulp_client::Package, FileOrigin)>> {
    let builds = labels::builds(&repository.pulp_labels);
    let listed = list_upto(client, cache, &repository.pulp_href, upto).await?;
    let cached = cached_changes(cache, &listed).await?;
    let hits = rows_to_read(&listed, &cached) < listed.iter().map(|l| l.added + l.removed).sum();
    let changes = complete_changes(client, cache, &listed, cached).await?;
    let files = replay(&listed, changes, &builds);
    let expected = listed
        .last()
        .filter(|l| l.number == upto)
        .map(|l| l.present);
    match expected {
        Some(n) if hits && files.len() as u64 != n => {
            tracing::warn!(
                version = upto,
                replayed = files.len(),
                present = n,
                "the cached changes do not add up to the version: reading them again from Pulp"
            );
            let fresh = cached_changes(None, &listed).await?;
            let changes = complete_changes(client, cache, &listed, fresh).await?;
            Ok(replay(&listed, changes, &builds))
        }
        _ => Ok(files),
    }
}

/// Every file of a repository version, sorted, read the cheaper way for Pulp: replayed from
/// the versions' changes ([`files_with_origins`]) when the cache holds enough of them that
/// the rows still to read (the uncached versions' added and removed counts) are fewer than
/// the version's files, else by the version's own listing ([`diff::version_files`]), which
/// fills nothing in the cache. Without a cache, always the listing. Used where promote and
/// rollback read a whole version: after `vet` of a version on this machine, it costs one
/// listing of the repository's versions.
pub async fn version_files(
    client: &PulpClient,
    cache: Option<&Cache>,
    version: &RepositoryVersionHref,
) -> Result<Vec<FileEntry>> {
    let (Some(cache), Some(repository), Some(number)) =
        (cache, version.repository(), version.number())
    else {
        return diff::version_files(client, version).await;
    };
    let listed = list_upto(client, Some(cache), &repository, number).await?;
    // A version Pulp does not list: its listing gives Pulp's answer.
    let Some(present) = listed
        .last()
        .filter(|l| l.number == number)
        .map(|l| l.present)
    else {
        return diff::version_files(client, version).await;
    };
    let cached = cached_changes(Some(cache), &listed).await?;
    let rows = rows_to_read(&listed, &cached);
    if rows >= present {
        tracing::debug!(
            version = number,
            rows_to_read = rows,
            present,
            "the version's own listing is cheaper than replaying its changes"
        );
        return diff::version_files(client, version).await;
    }
    let changes = complete_changes(client, Some(cache), &listed, cached).await?;
    let files = replay(&listed, changes, &BTreeMap::new());
    if files.len() as u64 != present {
        tracing::warn!(
            version = number,
            replayed = files.len(),
            present,
            "the cached changes do not add up to the version: listing it instead"
        );
        return diff::version_files(client, version).await;
    }
    let mut entries: Vec<FileEntry> = files.into_iter().map(|(p, _)| diff::entry(p)).collect();
    entries.sort();
    Ok(entries)
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
    /// Read the state of `variants` of a release (every variant when empty) and its ledger
    /// (through `cache`, if any), all at once.
    pub async fn load(
        client: &PulpClient,
        catalog: &Catalog,
        release: &str,
        variants: &[String],
        cache: Option<&Cache>,
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
            Ledger::find_with_events(client, catalog, release, cache),
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

//! Finding the Pulp objects of a release + variant, with a clear error when `init` has not
//! made them yet.

use pulp_client::{Distribution, PulpClient, Repository};

use crate::catalog::Catalog;
use crate::error::{Error, Result};

/// The staging repository of a variant.
pub async fn staging_repository(
    client: &PulpClient,
    catalog: &Catalog,
    release: &str,
    variant: &str,
) -> Result<Repository> {
    let name = catalog.names(release, variant).repository;
    client
        .repository_by_name(&name)
        .await?
        .ok_or_else(|| Error::NotInitialized {
            what: "staging repository",
            name,
            release: release.into(),
        })
}

/// The production distribution of a variant.
pub async fn production_distribution(
    client: &PulpClient,
    catalog: &Catalog,
    release: &str,
    variant: &str,
) -> Result<Distribution> {
    let name = catalog.names(release, variant).production_distribution;
    client
        .distribution_by_name(&name)
        .await?
        .ok_or_else(|| Error::NotInitialized {
            what: "production distribution",
            name,
            release: release.into(),
        })
}

//! `status`: what staging and production hold, per variant of a release.

use std::collections::BTreeSet;

use futures::TryStreamExt;
use pulp_client::{PackageQuery, PulpClient, Serves};
use serde::Serialize;

use crate::catalog::Catalog;
use crate::error::Result;
use crate::labels;

/// Staging side of a variant.
#[derive(Debug, Clone, Serialize)]
pub struct StagingStatus {
    /// Repository name.
    pub repository: String,
    /// Latest version number (`None`: repository missing).
    pub version: Option<u64>,
    /// Build that made the latest version, if recorded.
    pub build_id: Option<String>,
    /// Files in the latest version.
    pub files: u64,
    /// Distinct projects in the latest version.
    pub projects: usize,
    /// Simple index URL of the staging distribution.
    pub index_url: Option<String>,
}

/// Production side of a variant.
#[derive(Debug, Clone, Serialize)]
pub struct ProductionStatus {
    /// Distribution name.
    pub distribution: String,
    /// Version served (`None`: nothing / missing).
    pub version: Option<u64>,
    /// Whether it follows the latest staging version instead of a pinned one (unsafe).
    pub follows_latest: bool,
    /// Build id of the served version, if recorded.
    pub build_id: Option<String>,
    /// Simple index URL.
    pub index_url: Option<String>,
}

/// One variant.
#[derive(Debug, Clone, Serialize)]
pub struct VariantStatus {
    /// The variant.
    pub variant: String,
    /// Staging.
    pub staging: StagingStatus,
    /// Production.
    pub production: ProductionStatus,
    /// Things an operator should know.
    pub warnings: Vec<String>,
}

/// The whole release.
#[derive(Debug, Clone, Serialize)]
pub struct StatusReport {
    /// The release.
    pub release: String,
    /// Per variant, in catalog order.
    pub variants: Vec<VariantStatus>,
}

fn index_url(base_url: &Option<String>) -> Option<String> {
    base_url.as_ref().map(|b| {
        let b = b.trim_end_matches('/');
        format!("{b}/simple/")
    })
}

/// Gather the status of every variant of a release.
pub async fn status(client: &PulpClient, catalog: &Catalog, release: &str) -> Result<StatusReport> {
    let rel = catalog.release(release)?;
    let mut variants = Vec::new();
    for variant in &rel.variants {
        let names = catalog.names(release, variant);
        let mut warnings = Vec::new();
        let repo = client.repository_by_name(&names.repository).await?;
        let mut staging = StagingStatus {
            repository: names.repository.clone(),
            version: None,
            build_id: None,
            files: 0,
            projects: 0,
            index_url: None,
        };
        let builds = repo
            .as_ref()
            .map(|r| labels::builds(&r.pulp_labels))
            .unwrap_or_default();
        match &repo {
            None => warnings.push(format!(
                "staging repository {} does not exist: run `wheelgate init --release {release}`",
                names.repository
            )),
            Some(r) => {
                if let Some(n) = r.retain_repo_versions {
                    warnings.push(format!(
                        "WARNING: {} has retain_repo_versions = {n}: Pulp deletes older versions, including rollback targets; run `wheelgate init --release {release}` to reset it",
                        r.name
                    ));
                }
                if let Some(latest) = &r.latest_version_href {
                    let v = client.repository_version(latest).await?;
                    staging.version = Some(v.number);
                    staging.build_id = builds.get(&v.number).cloned();
                    staging.files = v.content_summary.packages_present();
                    let projects: BTreeSet<String> = client
                        .packages(&PackageQuery {
                            repository_version: Some(latest.clone()),
                            fields: vec!["name".into()],
                            limit: Some(1000),
                            ..Default::default()
                        })
                        .await?
                        .map_ok(|p| pulp_client::simple::normalize_project(&p.name))
                        .try_collect()
                        .await?;
                    staging.projects = projects.len();
                }
            }
        }
        if let Some(d) = client
            .distribution_by_name(&names.staging_distribution)
            .await?
        {
            staging.index_url = index_url(&d.base_url);
        }
        let mut production = ProductionStatus {
            distribution: names.production_distribution.clone(),
            version: None,
            follows_latest: false,
            build_id: None,
            index_url: None,
        };
        match client
            .distribution_by_name(&names.production_distribution)
            .await?
        {
            None => warnings.push(format!(
                "production distribution {} does not exist",
                names.production_distribution
            )),
            Some(d) => {
                production.index_url = index_url(&d.base_url);
                match d.serves() {
                    Serves::Version(v) => {
                        production.version = v.number();
                        production.build_id = v.number().and_then(|n| builds.get(&n).cloned());
                    }
                    Serves::Latest(_) => {
                        production.follows_latest = true;
                        warnings.push(format!("WARNING: production distribution {} follows the latest staging version", d.name));
                    }
                    Serves::Nothing => {}
                }
            }
        }
        variants.push(VariantStatus {
            variant: variant.clone(),
            staging,
            production,
            warnings,
        });
    }
    Ok(StatusReport {
        release: release.to_owned(),
        variants,
    })
}

//! `status`: what staging and production hold, per variant of a release, and every broken
//! invariant as a typed finding.

use std::collections::BTreeSet;

use futures::TryStreamExt;
use pulp_client::{PackageQuery, PulpClient, Serves};
use serde::Serialize;
use url::Url;
use wheelgate_index::{IndexClient, IndexConfig};

use crate::access::AccessState;
use crate::cache::Cache;
use crate::catalog::Catalog;
use crate::error::{Error, Result};
use crate::findings::{self, Finding};
use crate::state::{ReleaseState, Served, VariantState, VersionRef};

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
    /// Staging version customers get now (`None`: nothing, a publication, another
    /// repository, or missing). When production follows the staging repository, its latest.
    pub version: Option<u64>,
    /// Whether it follows a repository instead of a pinned version (unsafe).
    pub follows_latest: bool,
    /// What it serves.
    pub serves: Served,
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
    /// Broken invariants of its objects, each once.
    pub findings: Vec<Finding>,
}

/// The whole release.
#[derive(Debug, Clone, Serialize)]
pub struct StatusReport {
    /// The release.
    pub release: String,
    /// Per variant, in catalog order.
    pub variants: Vec<VariantStatus>,
    /// Broken invariants of the release's own objects (the ledger), each once.
    pub findings: Vec<Finding>,
}

impl StatusReport {
    /// Every finding: the variants' (in order), then the release's.
    pub fn all_findings(&self) -> impl Iterator<Item = &Finding> {
        self.variants
            .iter()
            .flat_map(|v| v.findings.iter())
            .chain(self.findings.iter())
    }
}

fn index_url(base_url: &Option<String>) -> Option<String> {
    base_url.as_ref().map(|b| {
        let b = b.trim_end_matches('/');
        format!("{b}/simple/")
    })
}

async fn variant_status(
    client: &PulpClient,
    catalog: &Catalog,
    v: &VariantState,
    access: &AccessState,
) -> Result<VariantStatus> {
    let names = &v.names;
    let mut staging = StagingStatus {
        repository: names.repository.clone(),
        version: v.latest.as_ref().map(|l| l.number),
        build_id: v
            .latest
            .as_ref()
            .and_then(|l| v.build(l.number))
            .map(str::to_owned),
        files: 0,
        projects: 0,
        index_url: v.staging.as_ref().and_then(|d| index_url(&d.base_url)),
    };
    if let Some(latest) = &v.latest {
        let (version, projects) = futures::try_join!(
            async { Ok::<_, Error>(client.repository_version(&latest.href).await?) },
            project_count(client, v, latest)
        )?;
        staging.files = version.content_summary.packages_present();
        staging.projects = projects;
    }
    let number = v.served.staging_number();
    let production = ProductionStatus {
        distribution: names.production_distribution.clone(),
        version: number,
        follows_latest: matches!(v.served, Served::Following { .. }),
        serves: v.served.clone(),
        build_id: number.and_then(|n| v.build(n)).map(str::to_owned),
        index_url: v.production.as_ref().and_then(|d| index_url(&d.base_url)),
    };
    let mut findings = findings::check_variant(catalog, v);
    findings.extend(findings::check_variant_access(catalog, v, access));
    Ok(VariantStatus {
        variant: names.variant.clone(),
        staging,
        production,
        findings,
    })
}

/// How many projects the latest staging version holds. Read from the simple index root of the
/// staging distribution when it follows the staging repository: one request, which Pulp
/// answers with one `DISTINCT` query, instead of listing every package (seconds for a
/// 10,000-file index). The root is read on the Pulp connection's host (the
/// API server serves the simple pages), with its TLS settings. Listing the packages stays the
/// fallback: no staging distribution, one that does not follow the repository, or a root that
/// cannot be read. (An upload landing meanwhile may be counted: so would a listing started a
/// moment later.)
async fn project_count(
    client: &PulpClient,
    v: &VariantState,
    latest: &VersionRef,
) -> Result<usize> {
    let follows_staging = match (&v.staging, &v.repository) {
        (Some(d), Some(r)) => matches!(d.serves(), Serves::Latest(f) if f == r.pulp_href),
        _ => false,
    };
    let root_url = v
        .staging
        .as_ref()
        .filter(|_| follows_staging)
        .and_then(|d| index_url(&d.base_url))
        .and_then(|u| Url::parse(&u).ok())
        .and_then(|u| client.href_url(u.path()).ok());
    if let Some(url) = root_url {
        match index_root_projects(client, &url).await {
            Ok(n) => return Ok(n),
            Err(why) => {
                tracing::debug!(url = %url, error = %why, "cannot count projects from the index root; listing the packages")
            }
        }
    }
    let projects: BTreeSet<String> = client
        .packages(&PackageQuery {
            repository_version: Some(latest.href.clone()),
            fields: vec!["name".into()],
            limit: Some(crate::diff::LISTING_PAGE),
            ..Default::default()
        })
        .await?
        .map_ok(|p| wheelgate_wheel::normalize_project(&p.name))
        .try_collect()
        .await?;
    Ok(projects.len())
}

/// The number of projects a simple index root lists (one attempt: the caller has a fallback).
async fn index_root_projects(
    client: &PulpClient,
    url: &Url,
) -> std::result::Result<usize, Box<dyn std::error::Error + Send + Sync>> {
    let c = client.config();
    let index = IndexClient::new(IndexConfig {
        tls: wheelgate_http::TlsSettings {
            client_cert: c.client_cert.clone(),
            client_key: c.client_key.clone(),
            ca_bundle: c.ca_bundle.clone(),
            verify: c.verify_ssl,
        },
        retry: wheelgate_http::RetryPolicy::none(),
        ..IndexConfig::default()
    })?;
    match index.root(url).await? {
        Some(root) => Ok(root.projects.len()),
        None => Err("the index root is missing (404)".into()),
    }
}

/// Gather the status of every variant of a release (its ledger read through `cache`, if
/// any). A release none of whose objects exist is an error
/// ([`Error::ReleaseNotInitialized`]), not a list of findings.
pub async fn status(
    client: &PulpClient,
    catalog: &Catalog,
    release: &str,
    cache: Option<&Cache>,
) -> Result<StatusReport> {
    let (state, access) = futures::try_join!(
        ReleaseState::load(client, catalog, release, &[], cache),
        AccessState::load(client, catalog)
    )?;
    if !state.any_exists() {
        return Err(Error::ReleaseNotInitialized {
            release: release.to_owned(),
        });
    }
    let variants = futures::future::try_join_all(
        state
            .variants
            .iter()
            .map(|v| variant_status(client, catalog, v, &access)),
    )
    .await?;
    Ok(StatusReport {
        release: release.to_owned(),
        variants,
        findings: {
            let mut f = findings::check_guards(catalog, release, &access);
            f.extend(findings::check_ledger(
                catalog,
                release,
                state.ledger.as_ref(),
            ));
            f
        },
    })
}

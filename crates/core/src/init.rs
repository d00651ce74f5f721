//! `init`: create or reconcile, idempotently, every Pulp object of a release.

use std::collections::BTreeMap;

use pulp_client::{
    Distribution, NewDistribution, PulpClient, Repository, RepositoryFields, Serves, WaitOptions,
};
use serde::Serialize;

use crate::catalog::{Catalog, Names};
use crate::error::Result;
use crate::labels;

/// What `init` does to one object.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase", tag = "action", content = "changes")]
pub enum Action {
    /// It does not exist: create it.
    Create,
    /// It exists but differs: these changes.
    Update(Vec<String>),
    /// Nothing to do.
    Unchanged,
}

/// Which object.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ObjectKind {
    /// The staging repository.
    StagingRepository,
    /// The staging distribution (latest staging version, for QE).
    StagingDistribution,
    /// The production distribution (one pinned version).
    ProductionDistribution,
    /// The release's ledger (history of vet/promote/rollback).
    Ledger,
}

impl std::fmt::Display for ObjectKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::StagingRepository => "staging repository",
            Self::StagingDistribution => "staging distribution",
            Self::ProductionDistribution => "production distribution",
            Self::Ledger => "ledger repository",
        })
    }
}

/// One line of the plan.
#[derive(Debug, Clone, Serialize)]
pub struct PlanItem {
    /// The variant.
    pub variant: String,
    /// The object kind.
    pub kind: ObjectKind,
    /// Its name.
    pub name: String,
    /// Its base path (distributions).
    pub base_path: Option<String>,
    /// What happens.
    #[serde(flatten)]
    pub action: Action,
}

/// The plan (and, unless dry-run, what was done).
#[derive(Debug, Clone, Serialize)]
pub struct InitReport {
    /// The release.
    pub release: String,
    /// Whether nothing was changed on purpose.
    pub dry_run: bool,
    /// Every object.
    pub items: Vec<PlanItem>,
    /// Things an operator should know.
    pub warnings: Vec<String>,
}

impl InitReport {
    /// Whether the run changed (or would change) anything.
    pub fn changes(&self) -> usize {
        self.items
            .iter()
            .filter(|i| i.action != Action::Unchanged)
            .count()
    }
}

/// Options of `init`.
#[derive(Debug, Clone)]
pub struct InitOptions {
    /// The release.
    pub release: String,
    /// Plan only.
    pub dry_run: bool,
    /// Task waiting.
    pub wait: WaitOptions,
}

fn repo_fields(catalog: &Catalog, names: &Names) -> RepositoryFields {
    RepositoryFields {
        name: Some(names.repository.clone()),
        description: Some(format!(
            "wheelgate staging repository of {} {} {}",
            catalog.product, names.release, names.variant
        )),
        pulp_labels: Some(labels::object_labels(catalog, names, labels::ROLE_STAGING)),
        retain_repo_versions: Some(None),
        allow_package_substitution: Some(false),
        autopublish: None,
    }
}

fn repo_changes(
    repo: &Repository,
    want_labels: &BTreeMap<String, String>,
    warnings: &mut Vec<String>,
) -> (Vec<String>, RepositoryFields) {
    let mut changes = Vec::new();
    let mut fields = RepositoryFields::default();
    if repo.allow_package_substitution != Some(false) {
        changes.push("allow_package_substitution → false (files are immutable)".into());
        fields.allow_package_substitution = Some(false);
    }
    if let Some(n) = repo.retain_repo_versions {
        warnings.push(format!(
            "WARNING: repository {} had retain_repo_versions = {n}: Pulp would delete older versions, including rollback targets; init resets it to keep all versions",
            repo.name
        ));
        changes.push(format!(
            "retain_repo_versions {n} → unset (keep every version)"
        ));
        fields.retain_repo_versions = Some(None);
    }
    let mut labels = repo.pulp_labels.clone();
    let mut label_change = false;
    for (k, v) in want_labels {
        if labels.get(k) != Some(v) {
            labels.insert(k.clone(), v.clone());
            label_change = true;
        }
    }
    if label_change {
        changes.push("labels".into());
        fields.pulp_labels = Some(labels);
    }
    (changes, fields)
}

fn dist_changes(d: &Distribution, base_path: &str, serves: Option<&Serves>) -> Vec<String> {
    let mut c = Vec::new();
    if d.base_path != base_path {
        c.push(format!("base_path {} → {base_path}", d.base_path));
    }
    if let Some(s) = serves {
        if &d.serves() != s {
            c.push("serve the latest staging version".into());
        }
    }
    if d.publication.is_some() {
        c.push("drop publication (serve the repository directly)".into());
    }
    c
}

/// Plan and (unless dry-run) apply `init` for every variant of a release.
pub async fn init(
    client: &PulpClient,
    catalog: &Catalog,
    opts: &InitOptions,
) -> Result<InitReport> {
    let release = catalog.release(&opts.release)?.clone();
    let mut items = Vec::new();
    let mut warnings = Vec::new();
    for variant in &release.variants {
        let names = catalog.names(&release.name, variant);
        let want_labels = labels::object_labels(catalog, &names, labels::ROLE_STAGING);

        // 1. Staging repository.
        let existing = client.repository_by_name(&names.repository).await?;
        let (action, repo) = match existing {
            None => {
                let repo = if opts.dry_run {
                    None
                } else {
                    Some(
                        client
                            .create_repository(&repo_fields(catalog, &names))
                            .await?,
                    )
                };
                (Action::Create, repo)
            }
            Some(repo) => {
                let (changes, fields) = repo_changes(&repo, &want_labels, &mut warnings);
                if changes.is_empty() {
                    (Action::Unchanged, Some(repo))
                } else {
                    if !opts.dry_run {
                        client
                            .update_repository(&repo.pulp_href, &fields, &opts.wait)
                            .await?;
                    }
                    (Action::Update(changes), Some(repo))
                }
            }
        };
        items.push(PlanItem {
            variant: variant.clone(),
            kind: ObjectKind::StagingRepository,
            name: names.repository.clone(),
            base_path: None,
            action,
        });

        // 2. Staging distribution: follows the latest staging version.
        let staging = client
            .distribution_by_name(&names.staging_distribution)
            .await?;
        let serves_latest = repo.as_ref().map(|r| Serves::Latest(r.pulp_href.clone()));
        let action = match (&staging, &repo) {
            (None, _) => {
                if let (false, Some(s)) = (opts.dry_run, &serves_latest) {
                    client
                        .create_distribution(
                            &NewDistribution {
                                name: names.staging_distribution.clone(),
                                base_path: names.staging_base_path.clone(),
                                serves: s.clone(),
                                pulp_labels: labels::object_labels(
                                    catalog,
                                    &names,
                                    labels::ROLE_STAGING_INDEX,
                                ),
                                content_guard: None,
                            },
                            &opts.wait,
                        )
                        .await?;
                }
                Action::Create
            }
            (Some(d), _) => {
                let changes = dist_changes(d, &names.staging_base_path, serves_latest.as_ref());
                if changes.is_empty() {
                    Action::Unchanged
                } else {
                    if let (false, Some(s)) = (opts.dry_run, &serves_latest) {
                        let mut body = serde_json::json!({"base_path": names.staging_base_path});
                        if let (serde_json::Value::Object(b), Serves::Latest(r)) = (&mut body, s) {
                            b.insert("repository".into(), serde_json::json!(r));
                            b.insert("repository_version".into(), serde_json::Value::Null);
                            b.insert("publication".into(), serde_json::Value::Null);
                        }
                        client
                            .update_distribution(&d.pulp_href, &body, &opts.wait)
                            .await?;
                    }
                    Action::Update(changes)
                }
            }
        };
        items.push(PlanItem {
            variant: variant.clone(),
            kind: ObjectKind::StagingDistribution,
            name: names.staging_distribution.clone(),
            base_path: Some(names.staging_base_path.clone()),
            action,
        });

        // 3. Production distribution: pinned to version 0 when new; never re-pointed here.
        let prod = client
            .distribution_by_name(&names.production_distribution)
            .await?;
        let action = match prod {
            None => {
                if let (false, Some(r)) = (opts.dry_run, &repo) {
                    client
                        .create_distribution(
                            &NewDistribution {
                                name: names.production_distribution.clone(),
                                base_path: names.production_base_path.clone(),
                                serves: Serves::Version(r.pulp_href.version(0)),
                                pulp_labels: labels::object_labels(
                                    catalog,
                                    &names,
                                    labels::ROLE_PRODUCTION,
                                ),
                                content_guard: None,
                            },
                            &opts.wait,
                        )
                        .await?;
                }
                Action::Create
            }
            Some(d) => {
                let changes = dist_changes(&d, &names.production_base_path, None);
                if matches!(d.serves(), Serves::Latest(_)) {
                    warnings.push(format!(
                        "WARNING: production distribution {} follows the latest staging version: every upload goes live; promote a vetted version to pin it",
                        d.name
                    ));
                }
                if changes.is_empty() {
                    Action::Unchanged
                } else {
                    if !opts.dry_run {
                        client
                            .update_distribution(
                                &d.pulp_href,
                                &serde_json::json!({"base_path": names.production_base_path}),
                                &opts.wait,
                            )
                            .await?;
                    }
                    Action::Update(changes)
                }
            }
        };
        items.push(PlanItem {
            variant: variant.clone(),
            kind: ObjectKind::ProductionDistribution,
            name: names.production_distribution.clone(),
            base_path: Some(names.production_base_path.clone()),
            action,
        });
    }
    // The ledger of the release.
    let ledger_name = crate::ledger::ledger_name(catalog, &release.name);
    let action = match client.file_repository_by_name(&ledger_name).await? {
        None => {
            if !opts.dry_run {
                client
                    .create_file_repository(
                        &ledger_name,
                        &crate::ledger::ledger_labels(catalog, &release.name),
                    )
                    .await?;
            }
            Action::Create
        }
        Some(l) => match l.retain_repo_versions {
            None => Action::Unchanged,
            Some(n) => {
                warnings.push(format!(
                    "WARNING: ledger {ledger_name} had retain_repo_versions = {n}: history would be deleted; init resets it"
                ));
                if !opts.dry_run {
                    client
                        .update_repository(
                            &l.pulp_href,
                            &RepositoryFields {
                                retain_repo_versions: Some(None),
                                ..Default::default()
                            },
                            &opts.wait,
                        )
                        .await?;
                }
                Action::Update(vec![format!("retain_repo_versions {n} → unset")])
            }
        },
    };
    items.push(PlanItem {
        variant: "-".into(),
        kind: ObjectKind::Ledger,
        name: ledger_name,
        base_path: None,
        action,
    });
    Ok(InitReport {
        release: release.name,
        dry_run: opts.dry_run,
        items,
        warnings,
    })
}

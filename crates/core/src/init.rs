//! `init`: create or reconcile, idempotently, every Pulp object of a release.

use std::collections::BTreeMap;

use pulp_client::{
    ContentGuardHref, DistributionHref, GuardKind, NewDistribution, PulpClient, RepositoryFields,
    RepositoryHref, Serves, WaitOptions,
};
use serde::Serialize;

use crate::access::{self, AccessState, Scope};
use crate::catalog::{Catalog, Names};
use crate::error::{Error, Result};
use crate::findings::{self, Code, Finding};
use crate::labels;
use crate::state::ReleaseState;

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
    /// An x509 content guard of `[access]` (shared by the product's releases).
    ContentGuard,
}

impl std::fmt::Display for ObjectKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::StagingRepository => "staging repository",
            Self::StagingDistribution => "staging distribution",
            Self::ProductionDistribution => "production distribution",
            Self::Ledger => "ledger repository",
            Self::ContentGuard => "content guard",
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
    #[serde(skip)]
    op: Op,
}

/// How `apply_init` carries out one item.
#[derive(Debug, Clone)]
enum Op {
    Nothing,
    CreateRepository(Box<RepositoryFields>),
    UpdateRepository(RepositoryHref, Box<RepositoryFields>),
    CreateStaging(Names),
    RepointStaging(DistributionHref, Names),
    CreateProduction(Names),
    MoveProduction(DistributionHref, Names),
    CreateLedger,
    ResetLedgerRetention(RepositoryHref),
    CreateGuard(Scope),
    UpdateGuardCa(Scope, ContentGuardHref),
    /// `then`, and after it attach the scope's guard to the distribution (or detach any, for
    /// `guard = "none"`).
    AttachGuard {
        then: Box<Op>,
        distribution: DistributionHref,
        scope: Scope,
    },
}

/// What `init` would do: every object's action, and the findings about the release as it is.
#[derive(Debug, Clone, Serialize)]
pub struct InitPlan {
    /// The release.
    pub release: String,
    /// Every object.
    pub items: Vec<PlanItem>,
    /// Broken invariants other than missing objects (those are the `create` items): the ones
    /// init fixes (they are `update` items too) and the ones it does not (e.g. production
    /// follows a repository: only a promote pins it).
    pub findings: Vec<Finding>,
    #[serde(skip)]
    repositories: BTreeMap<String, RepositoryHref>,
    #[serde(skip)]
    guards: BTreeMap<Scope, ContentGuardHref>,
}

impl InitPlan {
    /// How many objects it changes.
    pub fn changes(&self) -> usize {
        self.items
            .iter()
            .filter(|i| i.action != Action::Unchanged)
            .count()
    }
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
    /// Broken invariants found (see [`InitPlan::findings`]); each once.
    pub findings: Vec<Finding>,
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

fn item(
    variant: &str,
    kind: ObjectKind,
    name: &str,
    base_path: Option<&str>,
    action: Action,
    op: Op,
) -> PlanItem {
    PlanItem {
        variant: variant.to_owned(),
        kind,
        name: name.to_owned(),
        base_path: base_path.map(str::to_owned),
        action,
        op,
    }
}

fn update_or_unchanged(changes: Vec<String>, op: Op) -> (Action, Op) {
    if changes.is_empty() {
        (Action::Unchanged, Op::Nothing)
    } else {
        (Action::Update(changes), op)
    }
}

/// Plan `init` of every variant of a release from its state; changes nothing.
pub async fn plan_init(client: &PulpClient, catalog: &Catalog, release: &str) -> Result<InitPlan> {
    let (state, access) = futures::try_join!(
        // init does not read the events: no cache needed for them.
        ReleaseState::load(client, catalog, release, &[], None),
        AccessState::load(client, catalog)
    )?;
    let mut plan = plan_from_state(catalog, &state);
    plan_access(&mut plan, catalog, &state, &access);
    Ok(plan)
}

/// Add `[access]` to a plan (pure): the guards first (create, or replace a CA that differs
/// from the catalog's: the catalog is the source of truth), then attach each guard to the
/// distributions of its scope (new distributions are created with it).
pub fn plan_access(
    plan: &mut InitPlan,
    catalog: &Catalog,
    state: &ReleaseState,
    access: &AccessState,
) {
    let mut guard_items = Vec::new();
    for scope in Scope::ALL {
        let Some(ca) = scope.x509_ca(catalog) else {
            continue;
        };
        let name = access::guard_name(catalog, scope);
        let (action, op) = match access.guard(scope) {
            None => (Action::Create, Op::CreateGuard(scope)),
            Some(g) => {
                plan.guards.insert(scope, g.pulp_href.clone());
                if g.has_ca(ca) {
                    (Action::Unchanged, Op::Nothing)
                } else {
                    (
                        Action::Update(vec![format!(
                            "ca_certificate → the catalog's [access.{scope}] ca_certificate"
                        )]),
                        Op::UpdateGuardCa(scope, g.pulp_href.clone()),
                    )
                }
            }
        };
        guard_items.push(item("-", ObjectKind::ContentGuard, &name, None, action, op));
    }
    let mut found: Vec<Finding> = findings::check_guards(catalog, &state.release, access)
        .into_iter()
        .filter(|f| f.code != Code::ContentGuardMissing)
        .collect();
    for v in &state.variants {
        for (scope, kind, dist) in [
            (Scope::Staging, ObjectKind::StagingDistribution, &v.staging),
            (
                Scope::Production,
                ObjectKind::ProductionDistribution,
                &v.production,
            ),
        ] {
            let (Some(d), Some(f)) = (
                dist,
                findings::check_distribution_guard(catalog, &v.names, scope, dist.as_ref(), access),
            ) else {
                continue;
            };
            let change = match scope.x509_ca(catalog) {
                Some(_) => format!("content_guard → {}", access::guard_name(catalog, scope)),
                None => "content_guard → none".to_owned(),
            };
            if let Some(i) = plan
                .items
                .iter_mut()
                .find(|i| i.variant == v.names.variant && i.kind == kind)
            {
                let then = std::mem::replace(&mut i.op, Op::Nothing);
                i.action = match std::mem::replace(&mut i.action, Action::Unchanged) {
                    Action::Update(mut changes) => {
                        changes.push(change);
                        Action::Update(changes)
                    }
                    _ => Action::Update(vec![change]),
                };
                i.op = Op::AttachGuard {
                    then: Box::new(then),
                    distribution: d.pulp_href.clone(),
                    scope,
                };
            }
            found.push(f);
        }
    }
    guard_items.append(&mut plan.items);
    plan.items = guard_items;
    plan.findings.extend(found);
}

/// The plan for a release in `state` (pure).
pub fn plan_from_state(catalog: &Catalog, state: &ReleaseState) -> InitPlan {
    let mut items = Vec::new();
    let mut found = Vec::new();
    let mut repositories = BTreeMap::new();
    for v in &state.variants {
        let names = &v.names;
        let variant = names.variant.as_str();

        // 1. Staging repository.
        let repo_findings = findings::check_repository(catalog, names, v.repository.as_ref());
        let (action, op) = match &v.repository {
            None => (
                Action::Create,
                Op::CreateRepository(Box::new(repo_fields(catalog, names))),
            ),
            Some(repo) => {
                repositories.insert(variant.to_owned(), repo.pulp_href.clone());
                let mut changes = Vec::new();
                let mut fields = RepositoryFields::default();
                for f in &repo_findings {
                    match f.code {
                        Code::SubstitutionAllowed => {
                            changes.push(
                                "allow_package_substitution → false (files are immutable)".into(),
                            );
                            fields.allow_package_substitution = Some(false);
                        }
                        Code::RetentionDropsVersions => {
                            changes.push(format!(
                                "retain_repo_versions {} → unset (keep every version)",
                                repo.retain_repo_versions.unwrap_or_default()
                            ));
                            fields.retain_repo_versions = Some(None);
                        }
                        Code::LabelsMissing => {
                            let mut l = repo.pulp_labels.clone();
                            l.extend(labels::object_labels(catalog, names, labels::ROLE_STAGING));
                            changes.push("labels".into());
                            fields.pulp_labels = Some(l);
                        }
                        _ => {}
                    }
                }
                update_or_unchanged(
                    changes,
                    Op::UpdateRepository(repo.pulp_href.clone(), Box::new(fields)),
                )
            }
        };
        items.push(item(
            variant,
            ObjectKind::StagingRepository,
            &names.repository,
            None,
            action,
            op,
        ));
        found.extend(repo_findings);

        // 2. Staging distribution: follows the latest staging version.
        let staging_findings =
            findings::check_staging_distribution(names, v.staging.as_ref(), v.repository.as_ref());
        let (action, op) = match &v.staging {
            None => (Action::Create, Op::CreateStaging(names.clone())),
            Some(d) => {
                let changes = staging_findings
                    .iter()
                    .filter_map(|f| match f.code {
                        Code::BasePathDiffers => Some(format!(
                            "base_path {} → {}",
                            d.base_path, names.staging_base_path
                        )),
                        Code::StagingNotFollowingLatest => {
                            Some("serve the latest staging version".into())
                        }
                        Code::ServesPublication => {
                            Some("drop publication (serve the repository directly)".into())
                        }
                        _ => None,
                    })
                    .collect();
                update_or_unchanged(
                    changes,
                    Op::RepointStaging(d.pulp_href.clone(), names.clone()),
                )
            }
        };
        items.push(item(
            variant,
            ObjectKind::StagingDistribution,
            &names.staging_distribution,
            Some(&names.staging_base_path),
            action,
            op,
        ));
        found.extend(staging_findings);

        // 3. Production distribution: pinned to version 0 when new; never re-pointed here.
        let prod_findings =
            findings::check_production_distribution(names, v.production.as_ref(), &v.served);
        let (action, op) = match &v.production {
            None => (Action::Create, Op::CreateProduction(names.clone())),
            Some(d) => {
                let changes = prod_findings
                    .iter()
                    .filter(|f| f.code == Code::BasePathDiffers)
                    .map(|_| format!("base_path {} → {}", d.base_path, names.production_base_path))
                    .collect();
                update_or_unchanged(
                    changes,
                    Op::MoveProduction(d.pulp_href.clone(), names.clone()),
                )
            }
        };
        items.push(item(
            variant,
            ObjectKind::ProductionDistribution,
            &names.production_distribution,
            Some(&names.production_base_path),
            action,
            op,
        ));
        found.extend(prod_findings);
    }

    // The ledger of the release.
    let ledger_name = crate::ledger::ledger_name(catalog, &state.release);
    let ledger_findings = findings::check_ledger(catalog, &state.release, state.ledger.as_ref());
    let (action, op) = match &state.ledger {
        None => (Action::Create, Op::CreateLedger),
        Some(l) => match l.retention() {
            None => (Action::Unchanged, Op::Nothing),
            Some(n) => (
                Action::Update(vec![format!("retain_repo_versions {n} → unset")]),
                Op::ResetLedgerRetention(l.repository().pulp_href.clone()),
            ),
        },
    };
    items.push(item(
        "-",
        ObjectKind::Ledger,
        &ledger_name,
        None,
        action,
        op,
    ));
    found.extend(ledger_findings);

    // Missing objects are the `create` items: not repeated as findings.
    found.retain(|f| {
        !matches!(
            f.code,
            Code::RepositoryMissing | Code::DistributionMissing | Code::LedgerMissing
        )
    });
    InitPlan {
        release: state.release.clone(),
        items,
        findings: found,
        repositories,
        guards: BTreeMap::new(),
    }
}

fn staging_body(names: &Names, repo: &RepositoryHref) -> serde_json::Value {
    serde_json::json!({
        "base_path": names.staging_base_path,
        "repository": repo,
        "repository_version": null,
        "publication": null,
    })
}

/// Carry out a plan made by [`plan_init`], in order (each variant's repository before its
/// distributions).
pub async fn apply_init(
    client: &PulpClient,
    catalog: &Catalog,
    plan: &InitPlan,
    wait: &WaitOptions,
) -> Result<InitReport> {
    let mut repositories = plan.repositories.clone();
    let repo_of = |repos: &BTreeMap<String, RepositoryHref>, variant: &str| {
        repos.get(variant).cloned().ok_or_else(|| {
            Error::Inconsistent(format!(
                "the staging repository of {} {variant} is missing after init made it",
                plan.release
            ))
        })
    };
    let mut guards = plan.guards.clone();
    let guard_for =
        |guards: &BTreeMap<Scope, ContentGuardHref>, scope: Scope| match scope.x509_ca(catalog) {
            None => Ok(None),
            Some(_) => guards.get(&scope).cloned().map(Some).ok_or_else(|| {
                Error::Inconsistent(format!(
                    "the content guard {} is missing after init made it",
                    access::guard_name(catalog, scope)
                ))
            }),
        };
    for i in &plan.items {
        let (op, attach) = match &i.op {
            Op::AttachGuard {
                then,
                distribution,
                scope,
            } => (then.as_ref(), Some((distribution, *scope))),
            op => (op, None),
        };
        match op {
            Op::Nothing | Op::AttachGuard { .. } => {}
            Op::CreateGuard(scope) => {
                let ca = scope.x509_ca(catalog).unwrap_or_default();
                let g = client
                    .create_cert_guard(GuardKind::X509, &i.name, ca)
                    .await?;
                guards.insert(*scope, g.pulp_href);
            }
            Op::UpdateGuardCa(scope, href) => {
                let ca = scope.x509_ca(catalog).unwrap_or_default();
                client.update_guard_ca(href, ca).await?;
            }
            Op::CreateRepository(fields) => {
                let r = client.create_repository(fields).await?;
                repositories.insert(i.variant.clone(), r.pulp_href);
            }
            Op::UpdateRepository(href, fields) => {
                client.update_repository(href, fields, wait).await?;
            }
            Op::CreateStaging(names) => {
                let repo = repo_of(&repositories, &i.variant)?;
                client
                    .create_distribution(
                        &NewDistribution {
                            name: names.staging_distribution.clone(),
                            base_path: names.staging_base_path.clone(),
                            serves: Serves::Latest(repo),
                            pulp_labels: labels::object_labels(
                                catalog,
                                names,
                                labels::ROLE_STAGING_INDEX,
                            ),
                            content_guard: guard_for(&guards, Scope::Staging)?,
                        },
                        wait,
                    )
                    .await?;
            }
            Op::RepointStaging(href, names) => {
                let repo = repo_of(&repositories, &i.variant)?;
                client
                    .update_distribution(href, &staging_body(names, &repo), wait)
                    .await?;
            }
            Op::CreateProduction(names) => {
                let repo = repo_of(&repositories, &i.variant)?;
                client
                    .create_distribution(
                        &NewDistribution {
                            name: names.production_distribution.clone(),
                            base_path: names.production_base_path.clone(),
                            serves: Serves::Version(repo.version(0)),
                            pulp_labels: labels::object_labels(
                                catalog,
                                names,
                                labels::ROLE_PRODUCTION,
                            ),
                            content_guard: guard_for(&guards, Scope::Production)?,
                        },
                        wait,
                    )
                    .await?;
            }
            Op::MoveProduction(href, names) => {
                client
                    .update_distribution(
                        href,
                        &serde_json::json!({"base_path": names.production_base_path}),
                        wait,
                    )
                    .await?;
            }
            Op::CreateLedger => {
                client
                    .create_file_repository(
                        &i.name,
                        &crate::ledger::ledger_labels(catalog, &plan.release),
                    )
                    .await?;
            }
            Op::ResetLedgerRetention(href) => {
                client
                    .update_repository(
                        href,
                        &RepositoryFields {
                            retain_repo_versions: Some(None),
                            ..Default::default()
                        },
                        wait,
                    )
                    .await?;
            }
        }
        if let Some((distribution, scope)) = attach {
            let guard = guard_for(&guards, scope)?;
            client
                .update_distribution(
                    distribution,
                    &serde_json::json!({ "content_guard": guard }),
                    wait,
                )
                .await?;
        }
    }
    Ok(report(plan, false))
}

/// A plan as a report (what a dry run shows).
pub fn report(plan: &InitPlan, dry_run: bool) -> InitReport {
    InitReport {
        release: plan.release.clone(),
        dry_run,
        items: plan.items.clone(),
        findings: plan.findings.clone(),
    }
}

/// Plan and (unless dry-run) apply `init` for every variant of a release.
pub async fn init(
    client: &PulpClient,
    catalog: &Catalog,
    opts: &InitOptions,
) -> Result<InitReport> {
    let plan = plan_init(client, catalog, &opts.release).await?;
    if opts.dry_run {
        return Ok(report(&plan, true));
    }
    apply_init(client, catalog, &plan, &opts.wait).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::VariantState;

    fn catalog() -> Catalog {
        Catalog::parse(
            std::path::Path::new("wheelgate.toml"),
            r#"
product = "p"
[releases."1.0"]
variants = ["cpu", "gpu"]
[variants.cpu]
python = ["cp312"]
platforms = ["linux_x86_64"]
[variants.gpu]
python = ["cp312"]
platforms = ["linux_x86_64"]
"#,
        )
        .unwrap()
    }

    #[test]
    fn plan_fixes_what_init_owns_and_reports_the_rest() {
        let c = catalog();
        let names = c.names("1.0", "cpu");
        let href = RepositoryHref::new("/pulp/api/v3/repositories/python/python/a/");
        let repo: pulp_client::Repository = serde_json::from_value(serde_json::json!({
            "pulp_href": href,
            "name": names.repository,
            "latest_version_href": href.version(1),
            "allow_package_substitution": false,
            "retain_repo_versions": 2,
            "pulp_labels": labels::object_labels(&c, &names, labels::ROLE_STAGING),
        }))
        .unwrap();
        let dist = |name: &str, base_path: &str, serves: serde_json::Value| {
            let mut v = serde_json::json!({
                "pulp_href": format!("/pulp/api/v3/distributions/python/pypi/{name}/"),
                "name": name,
                "base_path": base_path,
            });
            if let (Some(o), Some(s)) = (v.as_object_mut(), serves.as_object()) {
                o.extend(s.clone());
            }
            serde_json::from_value::<pulp_client::Distribution>(v).unwrap()
        };
        let staging = dist(
            &names.staging_distribution,
            &names.staging_base_path,
            serde_json::json!({"repository": href}),
        );
        // Production follows the repository and sits at the wrong base path.
        let prod = dist(
            &names.production_distribution,
            "old/path",
            serde_json::json!({"repository": href}),
        );
        let state = ReleaseState {
            release: "1.0".into(),
            variants: vec![
                VariantState::resolve(names, Some(repo), Some(staging), Some(prod), None),
                VariantState::resolve(c.names("1.0", "gpu"), None, None, None, None),
            ],
            ledger: None,
            events: Vec::new(),
        };
        let plan = plan_from_state(&c, &state);
        let actions: Vec<(&str, ObjectKind, &Action)> = plan
            .items
            .iter()
            .map(|i| (i.variant.as_str(), i.kind, &i.action))
            .collect();
        assert_eq!(
            actions,
            vec![
                (
                    "cpu",
                    ObjectKind::StagingRepository,
                    &Action::Update(vec![
                        "retain_repo_versions 2 → unset (keep every version)".into()
                    ])
                ),
                ("cpu", ObjectKind::StagingDistribution, &Action::Unchanged),
                (
                    "cpu",
                    ObjectKind::ProductionDistribution,
                    &Action::Update(vec!["base_path old/path → p/1.0/cpu".into()])
                ),
                ("gpu", ObjectKind::StagingRepository, &Action::Create),
                ("gpu", ObjectKind::StagingDistribution, &Action::Create),
                ("gpu", ObjectKind::ProductionDistribution, &Action::Create),
                ("-", ObjectKind::Ledger, &Action::Create),
            ]
        );
        assert!(
            matches!(plan.items[2].op, Op::MoveProduction(..)),
            "moved, never re-pointed"
        );
        // Missing objects are the create items, not findings; each other finding once.
        let codes: Vec<&str> = plan.findings.iter().map(|f| f.code.as_str()).collect();
        assert_eq!(
            codes,
            vec![
                "retention-drops-versions",
                "base-path-differs",
                "production-follows-repository"
            ]
        );
        assert!(plan.findings[0].fixed_by_init() && !plan.findings[2].fixed_by_init());
        assert_eq!(plan.changes(), 6);
    }
}

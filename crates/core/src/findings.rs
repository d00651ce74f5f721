//! Typed findings: every invariant wheelgate keeps on a release's Pulp objects, checked in one
//! place. `init` applies the fixes it can, `status` (and later `doctor`) reports them.
//!
//! Codes are stable strings (`retention-drops-versions`, ...): scripts may match on them.

use pulp_client::{Distribution, Repository, Serves};
use serde::Serialize;

use crate::access::{self, AccessState, Scope};
use crate::catalog::{Catalog, GuardMode, Names};
use crate::labels;
use crate::ledger::Ledger;
use crate::state::{ReleaseState, Served, VariantState};

/// How bad a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Something is missing: commands fail until it is fixed.
    Error,
    /// Customers or the history are at risk.
    Warning,
    /// Worth knowing; nothing is at risk.
    Info,
}

impl std::fmt::Display for Severity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Error => "error",
            Self::Warning => "warning",
            Self::Info => "info",
        })
    }
}

/// What is wrong, as a stable code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Code {
    /// The staging repository does not exist.
    RepositoryMissing,
    /// A staging or production distribution does not exist.
    DistributionMissing,
    /// The release's ledger repository does not exist.
    LedgerMissing,
    /// The staging repository keeps only the newest versions: rollback targets get deleted.
    RetentionDropsVersions,
    /// The ledger keeps only the newest versions.
    LedgerRetentionDropsEvents,
    /// The staging repository lets an upload replace a file of the same name.
    SubstitutionAllowed,
    /// The staging repository lacks wheelgate's labels.
    LabelsMissing,
    /// A distribution is not at the base path the catalog derives.
    BasePathDiffers,
    /// The staging distribution does not follow the latest staging version.
    StagingNotFollowingLatest,
    /// A distribution serves a publication (a static copy wheelgate does not manage).
    ServesPublication,
    /// Production follows a repository: every upload goes live.
    ProductionFollowsRepository,
    /// Production serves nothing.
    ProductionServesNothing,
    /// Production serves a version of another repository than the variant's staging one.
    ProductionServesOtherRepository,
    /// An x509 content guard the catalog's `[access]` asks for does not exist.
    ContentGuardMissing,
    /// A content guard trusts another CA than the catalog's `[access]` names.
    ContentGuardCaDiffers,
    /// A distribution that `[access]` guards has no content guard (Pulp unguards a
    /// distribution silently when its guard is deleted).
    DistributionUnguarded,
    /// A distribution has another content guard than `[access]` asks for.
    DistributionGuardDiffers,
}

impl Code {
    /// Every code.
    pub const ALL: &'static [Code] = &[
        Code::RepositoryMissing,
        Code::DistributionMissing,
        Code::LedgerMissing,
        Code::RetentionDropsVersions,
        Code::LedgerRetentionDropsEvents,
        Code::SubstitutionAllowed,
        Code::LabelsMissing,
        Code::BasePathDiffers,
        Code::StagingNotFollowingLatest,
        Code::ServesPublication,
        Code::ProductionFollowsRepository,
        Code::ProductionServesNothing,
        Code::ProductionServesOtherRepository,
        Code::ContentGuardMissing,
        Code::ContentGuardCaDiffers,
        Code::DistributionUnguarded,
        Code::DistributionGuardDiffers,
    ];

    /// The stable string (as in JSON).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::RepositoryMissing => "repository-missing",
            Self::DistributionMissing => "distribution-missing",
            Self::LedgerMissing => "ledger-missing",
            Self::RetentionDropsVersions => "retention-drops-versions",
            Self::LedgerRetentionDropsEvents => "ledger-retention-drops-events",
            Self::SubstitutionAllowed => "substitution-allowed",
            Self::LabelsMissing => "labels-missing",
            Self::BasePathDiffers => "base-path-differs",
            Self::StagingNotFollowingLatest => "staging-not-following-latest",
            Self::ServesPublication => "serves-publication",
            Self::ProductionFollowsRepository => "production-follows-repository",
            Self::ProductionServesNothing => "production-serves-nothing",
            Self::ProductionServesOtherRepository => "production-serves-other-repository",
            Self::ContentGuardMissing => "content-guard-missing",
            Self::ContentGuardCaDiffers => "content-guard-ca-differs",
            Self::DistributionUnguarded => "distribution-unguarded",
            Self::DistributionGuardDiffers => "distribution-guard-differs",
        }
    }

    /// How bad it is.
    pub fn severity(self) -> Severity {
        match self {
            Self::RepositoryMissing | Self::DistributionMissing | Self::LedgerMissing => {
                Severity::Error
            }
            Self::LabelsMissing => Severity::Info,
            _ => Severity::Warning,
        }
    }
}

impl std::fmt::Display for Code {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Who fixes a finding.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum FixBy {
    /// `wheelgate init` does it.
    Init,
    /// An operator, with the command given (e.g. a promote).
    Operator,
}

/// How to fix a finding.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Fix {
    /// What the fix does (`reset retain_repo_versions to keep every version`).
    pub summary: String,
    /// Who does it.
    pub by: FixBy,
    /// The command that does it.
    pub command: String,
}

/// One broken invariant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    /// Stable code.
    pub code: Code,
    /// How bad.
    pub severity: Severity,
    /// What it is about: a repository name or a distribution base path.
    pub object: String,
    /// What is wrong, for people.
    pub message: String,
    /// How to fix it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fix: Option<Fix>,
}

impl Finding {
    fn new(code: Code, object: impl Into<String>, message: String) -> Self {
        Self {
            code,
            severity: code.severity(),
            object: object.into(),
            message,
            fix: None,
        }
    }

    fn by_init(mut self, release: &str, summary: impl Into<String>) -> Self {
        self.fix = Some(Fix {
            summary: summary.into(),
            by: FixBy::Init,
            command: format!("wheelgate init --release {release}"),
        });
        self
    }

    fn by_promote(mut self, names: &Names) -> Self {
        self.fix = Some(Fix {
            summary: "promote a vetted version to pin it".into(),
            by: FixBy::Operator,
            command: format!(
                "wheelgate promote --release {} --variant {}",
                names.release, names.variant
            ),
        });
        self
    }

    /// Whether `init` fixes it.
    pub fn fixed_by_init(&self) -> bool {
        self.fix.as_ref().is_some_and(|f| f.by == FixBy::Init)
    }
}

/// The staging repository's invariants.
pub fn check_repository(
    catalog: &Catalog,
    names: &Names,
    repo: Option<&Repository>,
) -> Vec<Finding> {
    let release = &names.release;
    let Some(repo) = repo else {
        return vec![Finding::new(
            Code::RepositoryMissing,
            &names.repository,
            format!("staging repository {} does not exist", names.repository),
        )
        .by_init(release, "create it")];
    };
    let mut out = Vec::new();
    if repo.allow_package_substitution != Some(false) {
        out.push(
            Finding::new(
                Code::SubstitutionAllowed,
                &repo.name,
                format!(
                    "repository {} allows package substitution: an upload of a known file name with other bytes would replace the file",
                    repo.name
                ),
            )
            .by_init(release, "set allow_package_substitution = false (files are immutable)"),
        );
    }
    if let Some(n) = repo.retain_repo_versions {
        out.push(
            Finding::new(
                Code::RetentionDropsVersions,
                &repo.name,
                format!(
                    "repository {} has retain_repo_versions = {n}: Pulp deletes older versions, including rollback targets",
                    repo.name
                ),
            )
            .by_init(release, "unset retain_repo_versions (keep every version)"),
        );
    }
    let want = labels::object_labels(catalog, names, labels::ROLE_STAGING);
    let missing: Vec<&str> = want
        .iter()
        .filter(|(k, v)| repo.pulp_labels.get(*k) != Some(*v))
        .map(|(k, _)| k.as_str())
        .collect();
    if !missing.is_empty() {
        out.push(
            Finding::new(
                Code::LabelsMissing,
                &repo.name,
                format!(
                    "repository {} lacks the labels {}",
                    repo.name,
                    missing.join(", ")
                ),
            )
            .by_init(release, "set the labels"),
        );
    }
    out
}

fn check_base_path(d: &Distribution, what: &str, want: &str, release: &str) -> Option<Finding> {
    (d.base_path != want).then(|| {
        Finding::new(
            Code::BasePathDiffers,
            want,
            format!(
                "{what} {} is at base path {}, not {want}",
                d.name, d.base_path
            ),
        )
        .by_init(release, format!("move it to {want}"))
    })
}

/// The staging distribution's invariants: exists, at its base path, follows the latest
/// staging version.
pub fn check_staging_distribution(
    names: &Names,
    dist: Option<&Distribution>,
    repo: Option<&Repository>,
) -> Vec<Finding> {
    let release = &names.release;
    let Some(d) = dist else {
        return vec![Finding::new(
            Code::DistributionMissing,
            &names.staging_base_path,
            format!(
                "staging distribution {} does not exist",
                names.staging_distribution
            ),
        )
        .by_init(release, "create it")];
    };
    let mut out = Vec::new();
    out.extend(check_base_path(
        d,
        "staging distribution",
        &names.staging_base_path,
        release,
    ));
    if let Some(p) = &d.publication {
        out.push(
            Finding::new(
                Code::ServesPublication,
                &names.staging_base_path,
                format!("staging distribution {} serves the publication {p}", d.name),
            )
            .by_init(
                release,
                "drop the publication and serve the latest staging version",
            ),
        );
    } else if repo.is_none_or(|r| d.serves() != Serves::Latest(r.pulp_href.clone())) {
        out.push(
            Finding::new(
                Code::StagingNotFollowingLatest,
                &names.staging_base_path,
                format!(
                    "staging distribution {} does not follow the latest version of {}: QE does not see new uploads",
                    d.name, names.repository
                ),
            )
            .by_init(release, "serve the latest staging version"),
        );
    }
    out
}

/// The production distribution's invariants: exists, at its base path, pinned to a version
/// of the staging repository.
pub fn check_production_distribution(
    names: &Names,
    dist: Option<&Distribution>,
    served: &Served,
) -> Vec<Finding> {
    let release = &names.release;
    let Some(d) = dist else {
        return vec![Finding::new(
            Code::DistributionMissing,
            &names.production_base_path,
            format!(
                "production distribution {} does not exist",
                names.production_distribution
            ),
        )
        .by_init(release, "create it, serving version 0 (empty)")];
    };
    let object = names.production_base_path.as_str();
    let mut out = Vec::new();
    out.extend(check_base_path(
        d,
        "production distribution",
        object,
        release,
    ));
    let served_finding = match served {
        Served::Pinned { staging: true, .. } => None,
        Served::Pinned {
            staging: false,
            version,
        } => Some(Finding::new(
            Code::ProductionServesOtherRepository,
            object,
            format!(
                "production distribution {} serves {}, not a version of {}",
                d.name, version.href, names.repository
            ),
        )),
        Served::Following {
            staging, repository, ..
        } => Some(Finding::new(
            Code::ProductionFollowsRepository,
            object,
            if *staging {
                format!(
                    "production distribution {} follows the latest staging version: every upload goes live",
                    d.name
                )
            } else {
                format!(
                    "production distribution {} follows the repository {repository}: every change to it goes live",
                    d.name
                )
            },
        )),
        Served::Publication { publication } => Some(Finding::new(
            Code::ServesPublication,
            object,
            format!(
                "production distribution {} serves the publication {publication}, not a staging version",
                d.name
            ),
        )),
        Served::Nothing => Some(Finding::new(
            Code::ProductionServesNothing,
            object,
            format!(
                "production distribution {} serves nothing: customers get an empty index",
                d.name
            ),
        )),
    };
    out.extend(served_finding.map(|f| f.by_promote(names)));
    out
}

/// The content guards' invariants (`[access]`): each x509 guard the catalog asks for exists
/// and trusts the catalog's CA. Object: the guard's name.
pub fn check_guards(catalog: &Catalog, release: &str, access: &AccessState) -> Vec<Finding> {
    let mut out = Vec::new();
    for scope in Scope::ALL {
        let Some(ca) = scope.x509_ca(catalog) else {
            continue;
        };
        let name = access::guard_name(catalog, scope);
        match access.guard(scope) {
            None => out.push(
                Finding::new(
                    Code::ContentGuardMissing,
                    &name,
                    format!("x509 content guard {name} ([access.{scope}]) does not exist"),
                )
                .by_init(release, "create it with the catalog's CA"),
            ),
            Some(g) if !g.has_ca(ca) => out.push(
                Finding::new(
                    Code::ContentGuardCaDiffers,
                    &name,
                    format!(
                        "x509 content guard {name} trusts another CA than [access.{scope}] ca_certificate"
                    ),
                )
                .by_init(release, "replace its CA with the catalog's"),
            ),
            Some(_) => {}
        }
    }
    out
}

/// A distribution's content guard against `[access.<scope>]`: none wanted and none there,
/// or the scope's x509 guard. Object: the base path the catalog derives.
pub fn check_distribution_guard(
    catalog: &Catalog,
    names: &Names,
    scope: Scope,
    dist: Option<&Distribution>,
    access: &AccessState,
) -> Option<Finding> {
    let rule = scope.rule(catalog)?;
    let d = dist?;
    let (what, object) = match scope {
        Scope::Production => ("production distribution", &names.production_base_path),
        Scope::Staging => ("staging distribution", &names.staging_base_path),
    };
    let name = access::guard_name(catalog, scope);
    let release = &names.release;
    match (rule.guard, &d.content_guard) {
        (GuardMode::None, None) => None,
        (GuardMode::None, Some(g)) => Some(
            Finding::new(
                Code::DistributionGuardDiffers,
                object,
                format!(
                    "{what} {} has the content guard {g}; [access.{scope}] says guard = \"none\"",
                    d.name
                ),
            )
            .by_init(release, "detach the guard"),
        ),
        (GuardMode::X509, None) => Some(
            Finding::new(
                Code::DistributionUnguarded,
                object,
                format!(
                    "{what} {} has no content guard: Pulp serves its files to anyone who reaches the content app (the x509 guard {name} {})",
                    d.name,
                    if access.guard(scope).is_some() { "is not attached" } else { "is missing" }
                ),
            )
            .by_init(
                release,
                if access.guard(scope).is_some() {
                    format!("attach the x509 guard {name}")
                } else {
                    format!("recreate the x509 guard {name} and attach it")
                },
            ),
        ),
        (GuardMode::X509, Some(g)) => {
            let want = access.guard(scope).map(|w| &w.pulp_href);
            (want != Some(g)).then(|| {
                Finding::new(
                    Code::DistributionGuardDiffers,
                    object,
                    format!(
                        "{what} {} has the content guard {g}, not the x509 guard {name} of [access.{scope}]",
                        d.name
                    ),
                )
                .by_init(release, format!("attach the x509 guard {name}"))
            })
        }
    }
}

/// The `[access]` invariants of one variant's distributions (staging, then production).
pub fn check_variant_access(
    catalog: &Catalog,
    v: &VariantState,
    access: &AccessState,
) -> Vec<Finding> {
    [
        (Scope::Staging, v.staging.as_ref()),
        (Scope::Production, v.production.as_ref()),
    ]
    .into_iter()
    .filter_map(|(scope, d)| check_distribution_guard(catalog, &v.names, scope, d, access))
    .collect()
}

/// Every invariant of one variant.
pub fn check_variant(catalog: &Catalog, v: &VariantState) -> Vec<Finding> {
    let mut out = check_repository(catalog, &v.names, v.repository.as_ref());
    out.extend(check_staging_distribution(
        &v.names,
        v.staging.as_ref(),
        v.repository.as_ref(),
    ));
    out.extend(check_production_distribution(
        &v.names,
        v.production.as_ref(),
        &v.served,
    ));
    out
}

/// The ledger's invariants: exists, keeps every version.
pub fn check_ledger(catalog: &Catalog, release: &str, ledger: Option<&Ledger>) -> Vec<Finding> {
    let name = crate::ledger::ledger_name(catalog, release);
    let Some(l) = ledger else {
        return vec![Finding::new(
            Code::LedgerMissing,
            &name,
            format!("ledger repository {name} does not exist: vet, promote and rollback cannot record anything"),
        )
        .by_init(release, "create it")];
    };
    match l.retention() {
        None => Vec::new(),
        Some(n) => vec![Finding::new(
            Code::LedgerRetentionDropsEvents,
            &name,
            format!("ledger {name} has retain_repo_versions = {n}: Pulp deletes older ledger versions, and history with them"),
        )
        .by_init(release, "unset retain_repo_versions (keep every version)")],
    }
}

/// Every invariant of a release: its variants' (in order), then its ledger's.
pub fn check_release(catalog: &Catalog, state: &ReleaseState) -> Vec<Finding> {
    let mut out: Vec<Finding> = state
        .variants
        .iter()
        .flat_map(|v| check_variant(catalog, v))
        .collect();
    out.extend(check_ledger(catalog, &state.release, state.ledger.as_ref()));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use pulp_client::RepositoryHref;

    fn catalog() -> Catalog {
        Catalog::parse(
            std::path::Path::new("wheelgate.toml"),
            r#"
product = "p"
[releases."1.0"]
variants = ["cpu"]
[variants.cpu]
python = ["cp312"]
platforms = ["linux_x86_64"]
"#,
        )
        .unwrap()
    }

    fn repo(names: &Names, extra: serde_json::Value) -> Repository {
        let href = RepositoryHref::new("/pulp/api/v3/repositories/python/python/a/");
        let mut v = serde_json::json!({
            "pulp_href": href,
            "name": names.repository,
            "latest_version_href": href.version(2),
            "allow_package_substitution": false,
            "pulp_labels": labels::object_labels(&catalog(), names, labels::ROLE_STAGING),
        });
        if let (Some(o), Some(e)) = (v.as_object_mut(), extra.as_object()) {
            o.extend(e.clone());
        }
        serde_json::from_value(v).unwrap()
    }

    fn dist(name: &str, base_path: &str, extra: serde_json::Value) -> Distribution {
        let mut v = serde_json::json!({
            "pulp_href": format!("/pulp/api/v3/distributions/python/pypi/{name}/"),
            "name": name,
            "base_path": base_path,
        });
        if let (Some(o), Some(e)) = (v.as_object_mut(), extra.as_object()) {
            o.extend(e.clone());
        }
        serde_json::from_value(v).unwrap()
    }

    fn codes(f: &[Finding]) -> Vec<&'static str> {
        f.iter().map(|f| f.code.as_str()).collect()
    }

    #[test]
    fn codes_are_stable_strings() {
        for c in Code::ALL {
            assert_eq!(
                serde_json::to_value(c).unwrap(),
                serde_json::json!(c.as_str())
            );
        }
        assert_eq!(
            Code::RetentionDropsVersions.as_str(),
            "retention-drops-versions"
        );
        assert_eq!(
            Code::ProductionFollowsRepository.as_str(),
            "production-follows-repository"
        );
    }

    #[test]
    fn a_healthy_variant_has_no_findings() {
        let c = catalog();
        let names = c.names("1.0", "cpu");
        let r = repo(&names, serde_json::json!({}));
        let staging = dist(
            &names.staging_distribution,
            &names.staging_base_path,
            serde_json::json!({"repository": r.pulp_href}),
        );
        let prod = dist(
            &names.production_distribution,
            &names.production_base_path,
            serde_json::json!({"repository_version": r.pulp_href.version(1)}),
        );
        let v = VariantState::resolve(names, Some(r), Some(staging), Some(prod), None);
        assert_eq!(check_variant(&c, &v), Vec::new());
    }

    #[test]
    fn drift_gives_one_finding_each() {
        let c = catalog();
        let names = c.names("1.0", "cpu");
        let r = repo(
            &names,
            serde_json::json!({"retain_repo_versions": 2, "allow_package_substitution": true, "pulp_labels": {}}),
        );
        let staging = dist(
            &names.staging_distribution,
            "elsewhere",
            serde_json::json!({"repository_version": r.pulp_href.version(0)}),
        );
        let prod = dist(
            &names.production_distribution,
            &names.production_base_path,
            serde_json::json!({"repository": r.pulp_href}),
        );
        let v = VariantState::resolve(names.clone(), Some(r), Some(staging), Some(prod), None);
        let f = check_variant(&c, &v);
        assert_eq!(
            codes(&f),
            vec![
                "substitution-allowed",
                "retention-drops-versions",
                "labels-missing",
                "base-path-differs",
                "staging-not-following-latest",
                "production-follows-repository",
            ]
        );
        let follows = &f[5];
        assert_eq!(follows.severity, Severity::Warning);
        assert_eq!(follows.object, names.production_base_path);
        assert!(!follows.fixed_by_init(), "init never re-points production");
        assert!(f[1].fixed_by_init());
        assert_eq!(f[1].object, names.repository);
        let json = serde_json::to_value(&f[1]).unwrap();
        assert_eq!(json["code"], "retention-drops-versions");
        assert_eq!(json["severity"], "warning");
        assert_eq!(json["fix"]["by"], "init");
        assert_eq!(json["fix"]["command"], "wheelgate init --release 1.0");
    }

    #[test]
    fn missing_objects() {
        let c = catalog();
        let names = c.names("1.0", "cpu");
        let v = VariantState::resolve(names.clone(), None, None, None, None);
        let f = check_variant(&c, &v);
        assert_eq!(
            codes(&f),
            vec![
                "repository-missing",
                "distribution-missing",
                "distribution-missing"
            ]
        );
        assert!(f.iter().all(|f| f.severity == Severity::Error));
        assert_eq!(f[1].object, names.staging_base_path);
        assert_eq!(f[2].object, names.production_base_path);
        assert_eq!(
            codes(&check_ledger(&c, "1.0", None)),
            vec!["ledger-missing"]
        );
    }

    #[test]
    fn production_serving_nothing_or_a_publication() {
        let c = catalog();
        let names = c.names("1.0", "cpu");
        let prod = dist(
            &names.production_distribution,
            &names.production_base_path,
            serde_json::json!({}),
        );
        let f = check_production_distribution(&names, Some(&prod), &Served::Nothing);
        assert_eq!(codes(&f), vec!["production-serves-nothing"]);
        let pub_dist = dist(
            &names.production_distribution,
            &names.production_base_path,
            serde_json::json!({"publication": "/pulp/api/v3/publications/python/pypi/x/"}),
        );
        let served = Served::resolve(Some(&pub_dist), None, None);
        let f = check_production_distribution(&names, Some(&pub_dist), &served);
        assert_eq!(codes(&f), vec!["serves-publication"]);
        assert_eq!(
            f[0].fix.as_ref().map(|f| f.command.as_str()),
            Some("wheelgate promote --release 1.0 --variant cpu")
        );
    }
}

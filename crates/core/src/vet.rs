//! `vet`: policy checks on what Pulp holds in one staging version; on pass, a vetting
//! record bound to the version and its exact file set goes into the ledger.
//!
//! Besides tags, allowlist, metadata and the dependency closure, vet checks build provenance
//! (docs/builds.md): which build added each file is read from Pulp with the files themselves
//! ([`crate::state::files_with_origins`])
//! — with a cache, only the versions made since the last read on this machine
//! ([`crate::cache`]) — and [`wheelgate_vet::check_builds`] reports wheels older than a rebuilt dependency
//! (`mixed-builds`) and versions present with several build tags (`several-build-tags`).
//! `[vet] mixed_builds` decides whether those fail vetting (`deny`, the default, for
//! platform-specific wheels) or only warn; a pure `-any` wheel only ever warns.

use pulp_client::{PulpClient, WaitOptions};
use serde::Serialize;
use wheelgate_wheel::{Allowlist, TagPolicy};

use crate::cache::Cache;
use crate::catalog::{Catalog, MixedBuilds};
use crate::diff::FileEntry;
use crate::error::{Error, Result};
use crate::ledger::{Event, EventKind, Ledger, Outcome};

/// Options of `vet`.
#[derive(Debug, Clone)]
pub struct VetOptions {
    /// Release.
    pub release: String,
    /// Variant.
    pub variant: String,
    /// Version (default: latest staging version).
    pub version: Option<u64>,
    /// Who, for the record.
    pub actor: String,
    /// Task waiting.
    pub wait: WaitOptions,
    /// What earlier commands on this machine read of the staging versions (`None`: read
    /// everything from Pulp, keep nothing).
    pub cache: Option<Cache>,
}

/// One failed check.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Finding {
    /// `tags`, `allowlist`, `dependencies`, `metadata` or `builds`.
    pub check: &'static str,
    /// For `builds`: the stable code (`mixed-builds`, `several-build-tags`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code: Option<FindingCode>,
    /// The file concerned.
    pub filename: String,
    /// What is wrong.
    pub message: String,
    /// For `builds`: the files concerned with the build each comes from (for `mixed-builds`
    /// the dependant, then the newer dependency).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub builds: Vec<FileBuild>,
}

impl Finding {
    fn new(check: &'static str, filename: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            check,
            code: None,
            filename: filename.into(),
            message: message.into(),
            builds: Vec::new(),
        }
    }
}

/// The stable code of a build finding.
#[derive(Debug, Clone, Copy, Serialize, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum FindingCode {
    /// A wheel from an older build than a newer build of a project it depends on.
    MixedBuilds,
    /// One project version present with several build tags.
    SeveralBuildTags,
}

impl FindingCode {
    /// The stable string (as in JSON).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::MixedBuilds => "mixed-builds",
            Self::SeveralBuildTags => "several-build-tags",
        }
    }
}

impl std::fmt::Display for FindingCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One file of a build finding and the build it comes from.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct FileBuild {
    /// File name.
    pub filename: String,
    /// Project (PEP 503 normalized).
    pub project: String,
    /// Version.
    pub version: String,
    /// The wheel's build tag, if any.
    pub build_tag: Option<String>,
    /// The first staging version that contained it.
    pub repository_version: u64,
    /// The build id recorded for that version, if any.
    pub build: Option<String>,
}

/// A build finding as vet reports it, and whether it fails vetting under `policy`: with
/// `deny`, a platform-specific wheel fails; a pure `-any` one, or anything with `warn`, warns.
fn build_finding(f: wheelgate_vet::BuildFinding, policy: MixedBuilds) -> (Finding, bool) {
    let code = match f.code {
        wheelgate_vet::BuildCode::MixedBuilds => FindingCode::MixedBuilds,
        wheelgate_vet::BuildCode::SeveralBuildTags => FindingCode::SeveralBuildTags,
    };
    let denied = policy == MixedBuilds::Deny && f.platform_specific;
    let finding = Finding {
        check: "builds",
        code: Some(code),
        filename: f.filename().to_owned(),
        builds: f
            .files
            .into_iter()
            .map(|b| FileBuild {
                filename: b.filename,
                project: b.project,
                version: b.version,
                build_tag: b.build_tag,
                repository_version: b.origin.version,
                build: b.origin.build,
            })
            .collect(),
        message: f.message,
    };
    (finding, denied)
}

/// The vetting result (the `--output json` document).
#[derive(Debug, Clone, Serialize)]
pub struct VetReport {
    /// Release.
    pub release: String,
    /// Variant.
    pub variant: String,
    /// Staging repository.
    pub repository: String,
    /// Version vetted.
    pub version: u64,
    /// Files in it.
    pub files: usize,
    /// Digest of its (filename, sha256) set.
    pub digest: String,
    /// Whether every check passed.
    pub passed: bool,
    /// Every failure.
    pub findings: Vec<Finding>,
    /// Findings that do not fail vetting under the policy (`[vet] mixed_builds`, or a pure
    /// wheel): printed as warnings.
    pub warned: Vec<Finding>,
    /// Checks that could not run, and why (they do not fail vetting, but must be read).
    pub warnings: Vec<String>,
    /// Whether a vetting record was written (only on pass).
    pub recorded: bool,
}

fn requires_dist(v: &serde_json::Value) -> Vec<String> {
    match v {
        serde_json::Value::Array(a) => a
            .iter()
            .filter_map(|x| x.as_str().map(str::to_owned))
            .collect(),
        serde_json::Value::String(s) => match serde_json::from_str::<Vec<String>>(s) {
            Ok(list) => list,
            Err(_) => s
                .lines()
                .map(str::trim)
                .filter(|l| !l.is_empty())
                .map(str::to_owned)
                .collect(),
        },
        _ => Vec::new(),
    }
}

/// Vet a staging version.
pub async fn vet(client: &PulpClient, catalog: &Catalog, opts: &VetOptions) -> Result<VetReport> {
    let variant = catalog.variant(&opts.release, &opts.variant)?.clone();
    let names = catalog.names(&opts.release, &opts.variant);
    let repo =
        crate::lookup::staging_repository(client, catalog, &opts.release, &opts.variant).await?;
    let version = match opts.version {
        Some(n) => repo.pulp_href.version(n),
        None => repo
            .latest_version_href
            .clone()
            .ok_or_else(|| Error::Inconsistent(format!("{} has no versions", names.repository)))?,
    };
    let number = version.number().unwrap_or(0);
    // All at once: whether the version exists, its files with metadata and the build that
    // added each (one pass), and the ledger (needed only on pass; its error counts only then).
    let (exists, files, ledger) = futures::join!(
        client.repository_version(&version),
        crate::state::files_with_origins(client, &repo, number, opts.cache.as_ref()),
        Ledger::open(client, catalog, &opts.release),
    );
    if let Err(e) = exists {
        if e.is_not_found() {
            return Err(Error::NoSuchVersion {
                repository: names.repository.clone(),
                version: number,
            });
        }
        return Err(e.into());
    }
    let (packages, origins): (Vec<pulp_client::Package>, Vec<crate::state::FileOrigin>) =
        files?.into_iter().unzip();
    let policy = TagPolicy {
        python: variant.python.clone(),
        platforms: variant.platforms.clone(),
    };
    let allow = Allowlist::new(catalog.allow.clone());
    let mut findings = Vec::new();
    let mut dists = Vec::new();
    for p in &packages {
        match Some(wheelgate_vet::filename_tags(&p.filename)).filter(|t| !t.is_empty()) {
            None => findings.push(Finding::new(
                "tags",
                &p.filename,
                "not a wheel (or its file name has no valid tags)",
            )),
            Some(tags) => {
                if !tags.iter().any(|t| policy.allows(t)) {
                    findings.push(Finding::new(
                        "tags",
                        &p.filename,
                        format!(
                            "no tag allowed by variant {} (python {}, platforms {})",
                            variant.name,
                            variant.python.join(", "),
                            variant.platforms.join(", ")
                        ),
                    ));
                }
            }
        }
        if !allow.allows(&p.name) {
            findings.push(Finding::new(
                "allowlist",
                &p.filename,
                format!(
                    "project {} is not on the allowlist ([packages] allow)",
                    p.name
                ),
            ));
        }
        let dist = wheelgate_vet::Dist {
            filename: p.filename.clone(),
            name: p.name.clone(),
            version: p.version.clone(),
            requires_dist: requires_dist(&p.requires_dist),
            requires_python: p.requires_python.clone().filter(|s| !s.is_empty()),
        };
        if let Some(m) = wheelgate_vet::check_metadata(&dist) {
            findings.push(Finding::new("metadata", &p.filename, m));
        }
        dists.push(dist);
    }
    let targets = wheelgate_vet::Target::for_variant(&variant.python, &variant.platforms);
    let mut warnings = Vec::new();
    if targets.is_empty() {
        warnings.push(format!(
            "dependency closure NOT checked: variant {} defines no CPython-on-glibc-Linux target \
             (python = {:?}, platforms = {:?}); add e.g. \"cp312\" and \"linux_x86_64\" to check it",
            opts.variant, variant.python, variant.platforms
        ));
    }
    let origins: Vec<Option<wheelgate_vet::Origin>> = origins
        .into_iter()
        .map(|o| {
            Some(wheelgate_vet::Origin {
                version: o.version,
                build: o.build,
            })
        })
        .collect();
    let (closure, builds) = tokio::task::spawn_blocking({
        let external = catalog.vet.external.clone();
        move || {
            (
                wheelgate_vet::check_closure(&dists, &targets, &external),
                wheelgate_vet::check_builds(&dists, &origins, &targets, &external),
            )
        }
    })
    .await
    .map_err(|e| Error::Inconsistent(format!("dependency check crashed: {e}")))?;
    for f in closure.failures {
        findings.push(Finding::new("dependencies", f.filename, f.message));
    }
    let mut warned = Vec::new();
    for f in builds {
        match build_finding(f, catalog.vet.mixed_builds) {
            (f, true) => findings.push(f),
            (f, false) => warned.push(f),
        }
    }

    let entries: Vec<FileEntry> = packages
        .iter()
        .map(|p| FileEntry {
            project: wheelgate_wheel::normalize_project(&p.name),
            version: p.version.clone(),
            filename: p.filename.clone(),
            sha256: p.sha256.clone(),
        })
        .collect();
    let digest = crate::promote::digest(&entries);
    let passed = findings.is_empty();
    let mut recorded = false;
    if passed {
        ledger?
            .append(
                &Event {
                    kind: EventKind::Vet,
                    time: crate::time::rfc3339_now(),
                    actor: opts.actor.clone(),
                    release: opts.release.clone(),
                    variant: opts.variant.clone(),
                    from_version: None,
                    to_version: number,
                    digest: Some(digest.clone()),
                    version_href: Some(version.to_string()),
                    reason: None,
                    outcome: Outcome::Ok,
                    detail: Some(format!("{} files", packages.len())),
                },
                &opts.wait,
            )
            .await?;
        recorded = true;
    }
    Ok(VetReport {
        release: opts.release.clone(),
        variant: opts.variant.clone(),
        repository: names.repository,
        version: number,
        files: packages.len(),
        digest,
        passed,
        findings,
        warned,
        warnings,
        recorded,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_from_filenames() {
        let t =
            wheelgate_vet::filename_tags("torch-2.9.0-13-cp312-cp312-manylinux_2_28_x86_64.whl");
        assert_eq!(t.len(), 1);
        assert_eq!(t[0].to_string(), "cp312-cp312-manylinux_2_28_x86_64");
        assert_eq!(
            wheelgate_vet::filename_tags("six-1.0-py2.py3-none-any.whl").len(),
            2
        );
        assert!(wheelgate_vet::filename_tags("six-1.0.tar.gz").is_empty());
    }

    #[test]
    fn requires_dist_shapes() {
        assert_eq!(
            requires_dist(&serde_json::json!(["a>=1", "b"])),
            vec!["a>=1", "b"]
        );
        assert_eq!(requires_dist(&serde_json::json!("[\"a\"]")), vec!["a"]);
        assert!(requires_dist(&serde_json::Value::Null).is_empty());
    }
}

//! Build provenance: wheels of one version of the index that come from builds which do not
//! belong together (docs/builds.md).
//!
//! Every file has an [`Origin`]: the repository version that first contained it and the build
//! recorded for that version. Two findings come out of it:
//!
//! - [`BuildCode::MixedBuilds`]: a wheel comes from an older build than an installable wheel of
//!   a project it depends on. For a platform-specific wheel (not `-any`) that means it was
//!   compiled against a dependency that has been rebuilt since: an ABI mix pip installs
//!   without a word.
//! - [`BuildCode::SeveralBuildTags`]: one project version is present with several build tags
//!   (`core-1.0-…` and `core-1.0-1-…`): two builds of the same version side by side.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use uv_pep508::VersionOrUrl;

use crate::closure::{installable, parse_entry, satisfies, Pattern};
use crate::target::{filename_tags, Target};
use crate::Dist;

/// Where a file comes from: the first repository version that contained it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Origin {
    /// That version's number (builds are ordered by it).
    pub version: u64,
    /// The build id recorded for that version, if any.
    pub build: Option<String>,
}

impl Origin {
    /// `build b12 (version 3)`, or `version 3 (no build id recorded)`.
    pub fn describe(&self) -> String {
        match &self.build {
            Some(b) => format!("build {b} (version {})", self.version),
            None => format!("version {} (no build id recorded)", self.version),
        }
    }
}

/// What a build finding is about, as a stable code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum BuildCode {
    /// A wheel is older than a rebuilt dependency (`mixed-builds`).
    MixedBuilds,
    /// One project version with several build tags (`several-build-tags`).
    SeveralBuildTags,
}

impl BuildCode {
    /// The stable string.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::MixedBuilds => "mixed-builds",
            Self::SeveralBuildTags => "several-build-tags",
        }
    }
}

impl std::fmt::Display for BuildCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One file named by a finding, with its origin.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BuiltFile {
    /// File name.
    pub filename: String,
    /// Project (PEP 503 normalized).
    pub project: String,
    /// Version, as reported.
    pub version: String,
    /// Its wheel build tag (`1` in `core-1.0-1-…`), if any.
    pub build_tag: Option<String>,
    /// Where it comes from.
    pub origin: Origin,
}

/// One build finding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BuildFinding {
    /// What it is.
    pub code: BuildCode,
    /// Whether the wheel concerned is platform-specific (a tag other than `-any`): an ABI
    /// mix, which the default policy denies; a pure wheel only warns.
    pub platform_specific: bool,
    /// For `mixed-builds`: the dependant, then the newer dependency. For
    /// `several-build-tags`: every file of that project version, by file name.
    pub files: Vec<BuiltFile>,
    /// For people: both builds, both files, and how to resolve it.
    pub message: String,
}

impl BuildFinding {
    /// The file the finding is reported on (the dependant; the first of the version's files).
    pub fn filename(&self) -> &str {
        self.files
            .first()
            .map(|f| f.filename.as_str())
            .unwrap_or("")
    }
}

/// The build tag of a wheel file name (`name-version-build-py-abi-plat.whl`).
pub fn build_tag(filename: &str) -> Option<String> {
    let stem = filename.strip_suffix(".whl")?;
    let parts: Vec<&str> = stem.split('-').collect();
    (parts.len() == 6).then(|| parts[2].to_owned())
}

/// Whether a wheel has a tag for a specific platform (not `any`); sdists are not wheels.
pub fn platform_specific(filename: &str) -> bool {
    filename_tags(filename).iter().any(|t| t.platform != "any")
}

/// Check the build provenance of a version's distributions. `origins[i]` is the origin of
/// `dists[i]` (`None`: unknown, the file is not checked).
///
/// Mixed builds are looked for per target, with the same rules as
/// [`check_closure`](crate::check_closure): every installable wheel's `Requires-Dist` active
/// in the target (no extras requested; `external` projects skipped) is matched with the
/// installable wheels of that project satisfying it; the newest of those (by origin) is
/// compared with the dependant. With no targets only several build tags are checked. The cost
/// is linear in files × requirements × candidates, like the closure.
pub fn check_builds(
    dists: &[Dist],
    origins: &[Option<Origin>],
    targets: &[Target],
    external: &[String],
) -> Vec<BuildFinding> {
    let patterns: Vec<Pattern> = external.iter().map(|p| Pattern::new(p)).collect();
    let entries: Vec<_> = dists.iter().map(|d| parse_entry(d, &patterns)).collect();
    let origin = |i: usize| origins.get(i).and_then(Option::as_ref);
    let built = |i: usize| -> Option<BuiltFile> {
        Some(BuiltFile {
            filename: entries[i].dist.filename.clone(),
            project: entries[i].project.clone(),
            version: entries[i].dist.version.clone(),
            build_tag: build_tag(&entries[i].dist.filename),
            origin: origin(i)?.clone(),
        })
    };
    let mut by_project: HashMap<&str, Vec<usize>> = HashMap::new();
    for (i, e) in entries.iter().enumerate() {
        by_project.entry(e.project.as_str()).or_default().push(i);
    }

    // (dependant, dependency project) → the newest dependency wheel, over all targets.
    let mut mixed: BTreeMap<(String, String), (usize, usize)> = BTreeMap::new();
    for target in targets {
        let env = target.marker_environment();
        let ok = installable(&entries, target);
        for (i, entry) in entries.iter().enumerate() {
            let Some(mine) = origin(i).filter(|_| ok[i]) else {
                continue;
            };
            for req in &entry.reqs {
                let Ok(r) = &req.parsed else { continue };
                if req.external || !r.marker.evaluate(env, &[]) {
                    continue;
                }
                let specs = match &r.version_or_url {
                    Some(VersionOrUrl::Url(_)) => continue,
                    Some(VersionOrUrl::VersionSpecifier(s)) => Some(s),
                    None => None,
                };
                let newest = by_project
                    .get(r.name.as_ref())
                    .into_iter()
                    .flatten()
                    .copied()
                    .filter(|&c| c != i && ok[c])
                    .filter(|&c| satisfies(entries[c].version.as_ref(), specs))
                    .filter_map(|c| origin(c).map(|o| (o.version, c)))
                    .max_by(|a, b| {
                        a.0.cmp(&b.0).then_with(|| {
                            entries[b.1].dist.filename.cmp(&entries[a.1].dist.filename)
                        })
                    });
                let Some((v, c)) = newest else { continue };
                if v <= mine.version {
                    continue;
                }
                let key = (entry.dist.filename.clone(), entries[c].project.clone());
                let slot = mixed.entry(key).or_insert((i, c));
                if origin(slot.1).is_some_and(|o| o.version < v) {
                    slot.1 = c;
                }
            }
        }
    }
    let mut findings: Vec<BuildFinding> = Vec::new();
    for (_, (i, c)) in mixed {
        let (Some(dependant), Some(dependency)) = (built(i), built(c)) else {
            continue;
        };
        let name = &entries[i].dist.name;
        let dep = &entries[c].dist.name;
        let message = format!(
            "{name} {} ({}) comes from {}, but {dep} {} ({}), which it depends on, comes from \
             the newer {}: {name} was compiled against an older {dep}, and pip installs the two \
             together. Rebuild {name} against {dep} {} and upload it with a new build tag, or \
             upload the whole consistent build with `wheelgate upload --replace`",
            dependant.version,
            dependant.filename,
            dependant.origin.describe(),
            dependency.version,
            dependency.filename,
            dependency.origin.describe(),
            dependency.version,
        );
        findings.push(BuildFinding {
            code: BuildCode::MixedBuilds,
            platform_specific: platform_specific(&dependant.filename),
            files: vec![dependant, dependency],
            message,
        });
    }

    // Several build tags of one project version.
    let mut versions: BTreeMap<(String, String), Vec<usize>> = BTreeMap::new();
    for (i, e) in entries.iter().enumerate() {
        if !e.dist.filename.ends_with(".whl") {
            continue;
        }
        let v = e
            .version
            .as_ref()
            .map(ToString::to_string)
            .unwrap_or_else(|| e.dist.version.clone());
        versions.entry((e.project.clone(), v)).or_default().push(i);
    }
    for ((_, version), mut files) in versions {
        let tags: BTreeSet<Option<String>> = files
            .iter()
            .map(|&i| build_tag(&entries[i].dist.filename))
            .collect();
        if tags.len() < 2 {
            continue;
        }
        files.sort_by(|a, b| entries[*a].dist.filename.cmp(&entries[*b].dist.filename));
        let listed: Vec<BuiltFile> = files.iter().filter_map(|&i| built(i)).collect();
        let name = &entries[files[0]].dist.name;
        let tag_list: Vec<String> = tags
            .iter()
            .map(|t| t.clone().unwrap_or_else(|| "(none)".into()))
            .collect();
        let each: Vec<String> = files
            .iter()
            .map(|&i| match origin(i) {
                Some(o) => format!("{} from {}", entries[i].dist.filename, o.describe()),
                None => entries[i].dist.filename.clone(),
            })
            .collect();
        let message = format!(
            "{name} {version} is present with several build tags ({}): {}. pip prefers the \
             highest build tag, so the index mixes two builds of {name} {version}; upload the \
             build that should stay with `wheelgate upload --replace`, or rebuild its dependants",
            tag_list.join(", "),
            each.join("; "),
        );
        findings.push(BuildFinding {
            code: BuildCode::SeveralBuildTags,
            platform_specific: files
                .iter()
                .any(|&i| platform_specific(&entries[i].dist.filename)),
            files: listed,
            message,
        });
    }
    findings
}

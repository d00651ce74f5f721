//! The dependency closure of a repository version, per target environment.

use std::collections::{BTreeMap, HashMap};
use std::str::FromStr;

use uv_normalize::ExtraName;
use uv_pep440::{Version, VersionSpecifiers};
use uv_pep508::{Requirement, VersionOrUrl};
use wheelgate_wheel::normalize_project;

use crate::target::{filename_tags, ParsedTag, PythonAdmits, Target};
use crate::Dist;

/// One unsatisfied (or unusable) requirement of one wheel, merged over the targets where it
/// fails the same way.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClosureFailure {
    /// The wheel with the requirement.
    pub filename: String,
    /// Its project (PEP 503 normalized).
    pub project: String,
    /// Its version, as reported.
    pub version: String,
    /// The extra of that wheel the requirement belongs to, when another wheel asked for it
    /// (`torch[cuda]` checks torch's `extra == "cuda"` requirements).
    pub extra: Option<String>,
    /// The requirement without its marker (`torch==2.9.0`), or as written when it doesn't
    /// parse.
    pub requirement: String,
    /// The targets where it fails, comma-separated (`cp312-linux_x86_64, cp312-linux_aarch64`).
    pub target: String,
    /// The full message, e.g.
    /// `vllm 0.11.0 requires torch==2.9.0; this version has torch 2.8.0`.
    pub message: String,
}

/// The result of [`check_closure`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClosureReport {
    /// Every failure, ordered by file name, extra, requirement.
    pub failures: Vec<ClosureFailure>,
}

impl ClosureReport {
    /// Whether every requirement was satisfied.
    pub fn passed(&self) -> bool {
        self.failures.is_empty()
    }
}

/// One `Requires-Dist` line, parsed once.
pub(crate) struct Req {
    pub(crate) parsed: Result<Requirement, String>,
    /// Without the marker; as written when it doesn't parse.
    text: String,
    /// Provided elsewhere (`[vet] external`).
    pub(crate) external: bool,
}

/// One distribution, parsed once.
pub(crate) struct Entry<'a> {
    pub(crate) dist: &'a Dist,
    pub(crate) project: String,
    pub(crate) version: Option<Version>,
    pub(crate) tags: Vec<ParsedTag>,
    /// `None` when absent or not valid PEP 440 (then it admits every target).
    pub(crate) requires_python: Option<(&'a str, VersionSpecifiers)>,
    pub(crate) reqs: Vec<Req>,
}

/// An `[vet] external` entry: a PEP 503 name, or a prefix when it ends in `*`.
pub(crate) enum Pattern {
    Exact(String),
    Prefix(String),
}

impl Pattern {
    pub(crate) fn new(p: &str) -> Self {
        let p = p.trim();
        match p.strip_suffix('*') {
            // Normalization keeps a trailing separator: `nvidia-*` doesn't match `nvidiax`.
            Some(prefix) => Pattern::Prefix(normalize_project(prefix)),
            None => Pattern::Exact(normalize_project(p)),
        }
    }

    fn matches(&self, project: &str) -> bool {
        match self {
            Pattern::Exact(n) => n == project,
            Pattern::Prefix(p) => project.starts_with(p.as_str()),
        }
    }
}

/// How a requirement fails.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Problem {
    Invalid(String),
    Url,
    Missing,
    /// No version matches; the versions present.
    WrongVersion(String),
    /// Matching versions exist, but none installs in the target; those versions.
    NotInstallable(String),
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Key {
    filename: String,
    extra: Option<ExtraName>,
    requirement: String,
    name: String,
    problem: Problem,
}

fn requirement_text(r: &Requirement) -> String {
    let mut s = r.name.to_string();
    if !r.extras.is_empty() {
        let extras: Vec<String> = r.extras.iter().map(ToString::to_string).collect();
        s.push('[');
        s.push_str(&extras.join(","));
        s.push(']');
    }
    match &r.version_or_url {
        Some(VersionOrUrl::VersionSpecifier(v)) => s.push_str(&v.to_string()),
        Some(VersionOrUrl::Url(u)) => {
            s.push_str(" @ ");
            s.push_str(&u.to_string());
        }
        None => {}
    }
    s
}

pub(crate) fn parse_entry<'a>(d: &'a Dist, external: &[Pattern]) -> Entry<'a> {
    let reqs = d
        .requires_dist
        .iter()
        .map(|raw| match Requirement::from_str(raw) {
            Ok(r) => Req {
                text: requirement_text(&r),
                external: external.iter().any(|p| p.matches(r.name.as_ref())),
                parsed: Ok(r),
            },
            Err(e) => Req {
                text: raw.clone(),
                external: false,
                // The message only: the full error is multi-line with an underline.
                parsed: Err(e.message.to_string()),
            },
        })
        .collect();
    Entry {
        dist: d,
        project: normalize_project(&d.name),
        version: Version::from_str(&d.version).ok(),
        tags: filename_tags(&d.filename)
            .iter()
            .map(ParsedTag::new)
            .collect(),
        requires_python: d.requires_python.as_deref().and_then(|s| {
            let s = s.trim();
            if s.is_empty() {
                return None;
            }
            VersionSpecifiers::from_str(s).ok().map(|v| (s, v))
        }),
        reqs,
    }
}

/// Whether `version` satisfies `specs`. Pre-releases satisfy only a specifier that mentions a
/// pre-release (`==2.9.0rc1`, `>=2.9.0rc1`); an unparsable version satisfies only a
/// requirement without specifiers.
pub(crate) fn satisfies(version: Option<&Version>, specs: Option<&VersionSpecifiers>) -> bool {
    match (version, specs) {
        (_, None) => true,
        (Some(v), Some(s)) => {
            s.contains(v) && (!v.any_prerelease() || s.iter().any(|x| x.any_prerelease()))
        }
        (None, Some(_)) => false,
    }
}

/// Which entries install in `target`: a compatible wheel tag and a `Requires-Python` that
/// admits it (sdists never do).
pub(crate) fn installable(entries: &[Entry], target: &Target) -> Vec<bool> {
    let mut admits = PythonAdmits::new(target);
    entries
        .iter()
        .map(|e| {
            e.tags.iter().any(|t| target.installs(t))
                && e.requires_python
                    .as_ref()
                    .is_none_or(|(raw, spec)| admits.admits(raw, spec))
        })
        .collect()
}

/// Check the dependency closure of a repository version's distributions.
///
/// For each target, every distribution installable there (a compatible wheel tag and a
/// `Requires-Python` that admits it; sdists never are) has each `Requires-Dist` whose marker
/// holds in the target with no extras requested checked: some distribution of that project,
/// installable in the same target, must have a version that satisfies the specifiers (see
/// [`Target`] for the environment and the `Requires-Python` rule). When a requirement asks for
/// extras (`torch[cuda]`), the requirements of those extras are checked too, for every
/// candidate that satisfies it, transitively. Direct URL requirements (`name @ https://…`) and
/// unparsable ones always fail. Projects matching `external` (PEP 503 names; a trailing `*`
/// makes a prefix, so `nvidia-*` covers `nvidia-cublas-cu12`) are provided elsewhere and not
/// checked.
///
/// The same failure on several targets is reported once, naming them all.
pub fn check_closure(dists: &[Dist], targets: &[Target], external: &[String]) -> ClosureReport {
    let patterns: Vec<Pattern> = external.iter().map(|p| Pattern::new(p)).collect();
    let entries: Vec<Entry> = dists.iter().map(|d| parse_entry(d, &patterns)).collect();
    let mut by_project: HashMap<&str, Vec<usize>> = HashMap::new();
    for (i, e) in entries.iter().enumerate() {
        by_project.entry(e.project.as_str()).or_default().push(i);
    }
    let versions_of = |cs: &mut dyn Iterator<Item = usize>| -> String {
        let mut vs: Vec<(Option<&Version>, &str)> = cs
            .map(|c| {
                (
                    entries[c].version.as_ref(),
                    entries[c].dist.version.as_str(),
                )
            })
            .collect();
        vs.sort();
        vs.dedup_by(|a, b| a.1 == b.1);
        vs.into_iter()
            .map(|(_, s)| s)
            .collect::<Vec<_>>()
            .join(", ")
    };

    // Failure → (entry index, targets).
    let mut found: BTreeMap<Key, (usize, Vec<String>)> = BTreeMap::new();
    for target in targets {
        let target_name = target.to_string();
        let env = target.marker_environment();
        let installable = installable(&entries, target);
        let mut requested: HashMap<usize, Vec<ExtraName>> = HashMap::new();
        let mut queue: Vec<(usize, Option<ExtraName>)> = (0..entries.len())
            .rev()
            .filter(|&i| installable[i])
            .map(|i| (i, None))
            .collect();
        while let Some((i, extra)) = queue.pop() {
            let entry = &entries[i];
            for req in &entry.reqs {
                let mut fail = |name: &str, problem: Problem| {
                    let key = Key {
                        filename: entry.dist.filename.clone(),
                        extra: extra.clone(),
                        requirement: req.text.clone(),
                        name: name.to_owned(),
                        problem,
                    };
                    let targets = &mut found.entry(key).or_insert((i, Vec::new())).1;
                    if !targets.contains(&target_name) {
                        targets.push(target_name.clone());
                    }
                };
                let r = match &req.parsed {
                    Ok(r) => r,
                    Err(e) => {
                        if extra.is_none() {
                            fail("", Problem::Invalid(e.clone()));
                        }
                        continue;
                    }
                };
                let active = match &extra {
                    None => r.marker.evaluate(env, &[]),
                    Some(x) => {
                        r.marker.evaluate(env, std::slice::from_ref(x))
                            && !r.marker.evaluate(env, &[])
                    }
                };
                if !active || req.external {
                    continue;
                }
                let specs = match &r.version_or_url {
                    Some(VersionOrUrl::Url(_)) => {
                        fail(r.name.as_ref(), Problem::Url);
                        continue;
                    }
                    Some(VersionOrUrl::VersionSpecifier(s)) => Some(s),
                    None => None,
                };
                let candidates = by_project
                    .get(r.name.as_ref())
                    .map(Vec::as_slice)
                    .unwrap_or_default();
                let matching = |c: &usize| satisfies(entries[*c].version.as_ref(), specs);
                let mut satisfied = false;
                for &c in candidates.iter().filter(|&&c| installable[c]) {
                    if !matching(&c) {
                        continue;
                    }
                    satisfied = true;
                    for x in &r.extras {
                        let asked = requested.entry(c).or_default();
                        if !asked.contains(x) {
                            asked.push(x.clone());
                            queue.push((c, Some(x.clone())));
                        }
                    }
                }
                if satisfied {
                    continue;
                }
                let problem = if candidates.is_empty() {
                    Problem::Missing
                } else if candidates.iter().any(matching) {
                    Problem::NotInstallable(versions_of(
                        &mut candidates.iter().copied().filter(matching),
                    ))
                } else {
                    Problem::WrongVersion(versions_of(&mut candidates.iter().copied()))
                };
                fail(r.name.as_ref(), problem);
            }
        }
    }

    let failures = found
        .into_iter()
        .map(|(key, (i, targets))| {
            let e = &entries[i];
            let extra = key.extra.as_ref().map(ToString::to_string);
            let head = match &extra {
                Some(x) => format!("{}[{x}] {}", e.dist.name, e.dist.version),
                None => format!("{} {}", e.dist.name, e.dist.version),
            };
            let targets = targets.join(", ");
            let name = &key.name;
            let message = match &key.problem {
                Problem::Invalid(err) => format!(
                    "{head}: Requires-Dist {:?} is not a valid PEP 508 requirement: {err}",
                    key.requirement
                ),
                Problem::Url => format!(
                    "{head} requires {}; direct URL requirements are not allowed in an index",
                    key.requirement
                ),
                Problem::Missing => format!(
                    "{head} requires {}; this version has no {name}",
                    key.requirement
                ),
                Problem::WrongVersion(have) => format!(
                    "{head} requires {}; this version has {name} {have}",
                    key.requirement
                ),
                Problem::NotInstallable(have) => format!(
                    "{head} requires {}; this version has {name} {have} but not for {targets}",
                    key.requirement
                ),
            };
            ClosureFailure {
                filename: key.filename,
                project: e.project.clone(),
                version: e.dist.version.clone(),
                extra,
                requirement: key.requirement,
                target: targets,
                message,
            }
        })
        .collect();
    ClosureReport { failures }
}

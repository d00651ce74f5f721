//! The checks `wheelgate vet` runs on what a repository version holds: dependency closure
//! (PEP 508 requirements evaluated per target environment, PEP 440 specifiers) and metadata
//! consistency. Pure logic: no I/O.
//!
//! A requirement of a wheel is satisfied when another wheel of the same version, installable
//! in the same target environment, has the required project and a matching version. Targets
//! come from the variant: one per allowed CPython (`cp312`) and Linux machine (`x86_64`).

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::str::FromStr;

use uv_pep440::{Version, VersionSpecifiers};
use uv_pep508::{MarkerEnvironment, MarkerEnvironmentBuilder, Requirement, VersionOrUrl};
use wheelgate_wheel::{normalize_project, WheelTag};

/// A distribution as the index reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dist {
    /// File name.
    pub filename: String,
    /// Project name from the metadata.
    pub name: String,
    /// Version from the metadata.
    pub version: String,
    /// `Requires-Dist` lines.
    pub requires_dist: Vec<String>,
    /// `Requires-Python`.
    pub requires_python: Option<String>,
}

/// A target environment: one CPython version on one Linux machine.
#[derive(Debug, Clone)]
pub struct Target {
    /// (major, minor).
    pub python: (u32, u32),
    /// Free-threaded build (`cp313t`).
    pub free_threaded: bool,
    /// `platform_machine`, e.g. `x86_64`.
    pub machine: String,
    env: MarkerEnvironment,
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let t = if self.free_threaded { "t" } else { "" };
        write!(
            f,
            "cp{}{}{t}-linux_{}",
            self.python.0, self.python.1, self.machine
        )
    }
}

fn parse_cp(tag: &str) -> Option<((u32, u32), bool)> {
    let digits = tag.strip_prefix("cp")?;
    let (digits, ft) = match digits.strip_suffix('t') {
        Some(d) => (d, true),
        None => (digits, false),
    };
    if digits.len() < 2 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let major = digits[..1].parse().ok()?;
    let minor = digits[1..].parse().ok()?;
    Some(((major, minor), ft))
}

/// The machine of a Linux platform tag (`linux_x86_64`, `manylinux_2_28_aarch64`,
/// `manylinux2014_x86_64`); `None` for `any` and non-Linux tags.
pub fn linux_machine(platform: &str) -> Option<String> {
    const MACHINES: [&str; 7] = [
        "x86_64", "aarch64", "ppc64le", "s390x", "i686", "armv7l", "riscv64",
    ];
    if !(platform.starts_with("linux_") || platform.starts_with("manylinux")) {
        return None;
    }
    MACHINES
        .iter()
        .find(|m| platform.ends_with(&format!("_{m}")))
        .map(|m| (*m).to_owned())
}

impl Target {
    /// One target per allowed CPython tag and Linux machine of a variant.
    pub fn for_variant(python_tags: &[String], platforms: &[String]) -> Vec<Target> {
        let mut out: Vec<Target> = Vec::new();
        for py in python_tags {
            let Some((python, free_threaded)) = parse_cp(py) else {
                continue;
            };
            for plat in platforms {
                let Some(machine) = linux_machine(plat) else {
                    continue;
                };
                if out.iter().any(|t| {
                    t.python == python && t.machine == machine && t.free_threaded == free_threaded
                }) {
                    continue;
                }
                if let Some(t) = Target::new(python, free_threaded, &machine) {
                    out.push(t);
                }
            }
        }
        out
    }

    /// A target for CPython `major.minor` on Linux `machine`.
    pub fn new(python: (u32, u32), free_threaded: bool, machine: &str) -> Option<Target> {
        let version = format!("{}.{}", python.0, python.1);
        let full = format!("{version}.0");
        let env = MarkerEnvironment::try_from(MarkerEnvironmentBuilder {
            implementation_name: "cpython",
            implementation_version: &full,
            os_name: "posix",
            platform_machine: machine,
            platform_python_implementation: "CPython",
            platform_release: "",
            platform_system: "Linux",
            platform_version: "",
            python_full_version: &full,
            python_version: &version,
            sys_platform: "linux",
        })
        .ok()?;
        Some(Target {
            python,
            free_threaded,
            machine: machine.to_owned(),
            env,
        })
    }

    fn tag_compatible(&self, tag: &WheelTag) -> bool {
        let (major, minor) = self.python;
        let py_ok = match parse_cp(&tag.python) {
            Some((v, ft)) => {
                v == self.python
                    && (ft == self.free_threaded || tag.abi == "abi3" || tag.abi == "none")
            }
            None => match tag.python.strip_prefix("py") {
                Some(d) if d.len() == 1 => d.parse::<u32>().ok() == Some(major),
                Some(d) if !d.is_empty() && d.bytes().all(|b| b.is_ascii_digit()) => {
                    d[..1].parse::<u32>().ok() == Some(major)
                        && d[1..].parse::<u32>().is_ok_and(|m| m <= minor)
                }
                _ => false,
            },
        };
        let abi_ok = match tag.abi.as_str() {
            "none" => true,
            "abi3" => match parse_cp(&tag.python) {
                Some(((ma, mi), _)) => ma == major && mi <= minor && !self.free_threaded,
                None => false,
            },
            abi => {
                parse_cp(abi).is_some_and(|(v, ft)| v == self.python && ft == self.free_threaded)
            }
        };
        // abi3 wheels carry the lowest CPython they support as their python tag.
        let py_ok = py_ok || (tag.abi == "abi3" && abi_ok);
        let plat_ok = tag.platform == "any"
            || (!tag.platform.starts_with("musllinux")
                && linux_machine(&tag.platform).as_deref() == Some(&self.machine));
        py_ok && abi_ok && plat_ok
    }

    fn python_admits(&self, spec: &VersionSpecifiers) -> bool {
        // Requires-Python is compared with the target's minor series: admitted when X.Y.0 or
        // a late patch release X.Y.99 satisfies it (`>=3.12.1` still installs on 3.12).
        [0u32, 99].iter().any(|patch| {
            Version::from_str(&format!("{}.{}.{patch}", self.python.0, self.python.1))
                .is_ok_and(|v| spec.contains(&v))
        })
    }
}

/// One unsatisfied requirement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClosureFailure {
    /// The wheel with the requirement.
    pub filename: String,
    /// Its project.
    pub project: String,
    /// Its version.
    pub version: String,
    /// The requirement, without its marker.
    pub requirement: String,
    /// The targets where it fails (comma-separated).
    pub target: String,
    /// The full message.
    pub message: String,
}

/// The result of [`check_closure`].
#[derive(Debug, Clone, Default)]
pub struct ClosureReport {
    /// Every failure, in file name order.
    pub failures: Vec<ClosureFailure>,
}

struct Parsed<'a> {
    dist: &'a Dist,
    project: String,
    version: Option<Version>,
    tags: Vec<WheelTag>,
    requires_python: Option<VersionSpecifiers>,
}

/// The expanded tags of a wheel file name (none for sdists and bad names).
pub fn filename_tags(filename: &str) -> Vec<WheelTag> {
    let Some(stem) = filename.strip_suffix(".whl") else {
        return Vec::new();
    };
    let mut parts = stem.rsplitn(4, '-');
    let (Some(plat), Some(abi), Some(py)) = (parts.next(), parts.next(), parts.next()) else {
        return Vec::new();
    };
    WheelTag::expand(&format!("{py}-{abi}-{plat}")).unwrap_or_default()
}

fn external_match(patterns: &[String], project: &str) -> bool {
    patterns.iter().any(|p| {
        let p = p.trim();
        match p.strip_suffix('*') {
            Some(prefix) => project.starts_with(&normalize_project(prefix)),
            None => normalize_project(p) == project,
        }
    })
}

fn requirement_text(r: &Requirement) -> String {
    let mut s = r.name.to_string();
    if !r.extras.is_empty() {
        let extras: Vec<String> = r.extras.iter().map(ToString::to_string).collect();
        s.push_str(&format!("[{}]", extras.join(",")));
    }
    match &r.version_or_url {
        Some(VersionOrUrl::VersionSpecifier(v)) => s.push_str(&v.to_string()),
        Some(VersionOrUrl::Url(u)) => s.push_str(&format!(" @ {u}")),
        None => {}
    }
    s
}

/// Check that every requirement of every wheel installable in a target is satisfied by a
/// wheel of the same set installable in that target. Projects matching `external` (PEP 503
/// names, a trailing `*` as prefix glob) are provided elsewhere and not checked.
pub fn check_closure(dists: &[Dist], targets: &[Target], external: &[String]) -> ClosureReport {
    let parsed: Vec<Parsed> = dists
        .iter()
        .map(|d| Parsed {
            dist: d,
            project: normalize_project(&d.name),
            version: Version::from_str(&d.version).ok(),
            tags: filename_tags(&d.filename),
            requires_python: d
                .requires_python
                .as_deref()
                .and_then(|s| VersionSpecifiers::from_str(s).ok()),
        })
        .collect();
    let mut by_project: HashMap<&str, Vec<usize>> = HashMap::new();
    for (i, p) in parsed.iter().enumerate() {
        by_project.entry(p.project.as_str()).or_default().push(i);
    }
    // (filename, requirement, message stem) → targets.
    let mut found: BTreeMap<(String, String, String), (usize, Vec<String>)> = BTreeMap::new();
    let mut record = |i: usize, req: String, stem: String, target: Option<String>| {
        let e = found
            .entry((parsed[i].dist.filename.clone(), req, stem))
            .or_insert((i, Vec::new()));
        if let Some(t) = target {
            if !e.1.contains(&t) {
                e.1.push(t);
            }
        }
    };
    // Requirements parsed once per wheel.
    let reqs: Vec<Vec<Result<Requirement, String>>> = dists
        .iter()
        .map(|d| {
            d.requires_dist
                .iter()
                .map(|r| {
                    Requirement::from_str(r)
                        .map_err(|e| format!("{r:?} is not a valid requirement: {e}"))
                })
                .collect()
        })
        .collect();
    for target in targets {
        let installable: Vec<bool> = parsed
            .iter()
            .map(|p| {
                p.tags.iter().any(|t| target.tag_compatible(t))
                    && p.requires_python
                        .as_ref()
                        .is_none_or(|s| target.python_admits(s))
            })
            .collect();
        for i in 0..parsed.len() {
            if !installable[i] {
                continue;
            }
            for r in &reqs[i] {
                let req = match r {
                    Ok(req) => req,
                    Err(e) => {
                        record(i, String::new(), e.clone(), None);
                        continue;
                    }
                };
                if !req.marker.evaluate(&target.env, &[]) {
                    continue;
                }
                let name = req.name.to_string();
                if external_match(external, &name) {
                    continue;
                }
                let text = requirement_text(req);
                let specs = match &req.version_or_url {
                    Some(VersionOrUrl::Url(_)) => {
                        record(
                            i,
                            text.clone(),
                            "direct URL requirements are not allowed in an index".into(),
                            None,
                        );
                        continue;
                    }
                    Some(VersionOrUrl::VersionSpecifier(s)) => Some(s),
                    None => None,
                };
                let candidates = by_project
                    .get(name.as_str())
                    .map(Vec::as_slice)
                    .unwrap_or(&[]);
                let allows_pre = specs.is_some_and(|s| s.iter().any(|v| v.any_prerelease()));
                let matches = |c: usize| match (&parsed[c].version, specs) {
                    (_, None) => true,
                    (Some(v), Some(s)) => s.contains(v) && (allows_pre || !v.any_prerelease()),
                    (None, Some(_)) => false,
                };
                if candidates.iter().any(|&c| installable[c] && matches(c)) {
                    continue;
                }
                let versions = |cs: &mut dyn Iterator<Item = usize>| {
                    let mut vs: Vec<(Option<Version>, String)> = cs
                        .map(|c| (parsed[c].version.clone(), parsed[c].dist.version.clone()))
                        .collect();
                    vs.sort();
                    vs.dedup();
                    vs.into_iter()
                        .map(|(_, s)| s)
                        .collect::<Vec<_>>()
                        .join(", ")
                };
                if candidates.is_empty() {
                    record(i, text, format!("this version has no {name}"), None);
                } else if !candidates.iter().any(|&c| matches(c)) {
                    let have = versions(&mut candidates.iter().copied());
                    record(i, text, format!("this version has {name} {have}"), None);
                } else {
                    let have = versions(&mut candidates.iter().copied().filter(|&c| matches(c)));
                    record(
                        i,
                        text,
                        format!("this version has {name} {have} but not for"),
                        Some(target.to_string()),
                    );
                }
            }
        }
    }
    let failures = found
        .into_iter()
        .map(|((filename, requirement, stem), (i, targets))| {
            let p = &parsed[i];
            let head = if requirement.is_empty() {
                format!("{} {}: ", p.dist.name, p.dist.version)
            } else {
                format!(
                    "{} {} requires {requirement}; ",
                    p.dist.name, p.dist.version
                )
            };
            let message = if targets.is_empty() {
                format!("{head}{stem}")
            } else {
                format!("{head}{stem} {}", targets.join(", "))
            };
            ClosureFailure {
                filename,
                project: p.project.clone(),
                version: p.dist.version.clone(),
                requirement,
                target: targets.join(", "),
                message,
            }
        })
        .collect();
    ClosureReport { failures }
}

/// Whether the project and version in a wheel's file name agree with what the index reports.
pub fn check_metadata(dist: &Dist) -> Option<String> {
    let stem = dist.filename.strip_suffix(".whl")?;
    let mut parts = stem.splitn(3, '-');
    let (Some(name), Some(version)) = (parts.next(), parts.next()) else {
        return Some(format!("{}: not a valid wheel file name", dist.filename));
    };
    if normalize_project(name) != normalize_project(&dist.name) {
        return Some(format!(
            "{}: the index reports name {}",
            dist.filename, dist.name
        ));
    }
    let same = match (Version::from_str(version), Version::from_str(&dist.version)) {
        (Ok(a), Ok(b)) => a == b,
        _ => version == dist.version,
    };
    if !same {
        return Some(format!(
            "{}: the index reports version {}",
            dist.filename, dist.version
        ));
    }
    None
}

#[cfg(test)]
mod tests;

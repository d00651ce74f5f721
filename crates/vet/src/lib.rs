//! The checks `wheelgate vet` runs on what a repository version holds, as pure logic (no I/O):
//!
//! - [`check_closure`]: the dependency closure. Every `Requires-Dist` of every wheel, evaluated
//!   for each [`Target`] environment (PEP 508 markers, PEP 440 specifiers), is satisfied by a
//!   wheel of the same version installable in that environment, unless the project is
//!   provided elsewhere.
//! - [`check_metadata`]: the name and version in a file name agree with what Pulp reports.
//! - [`digest`]: binds a vetting record to a version's exact file set.
//! - [`check_builds`]: wheels from builds that do not belong together (a wheel older than a
//!   rebuilt dependency; one version with several build tags).
//!
//! Targets come from a variant ([`Target::for_variant`]): one per allowed CPython (`cp312`)
//! and glibc Linux machine (`x86_64`).

mod builds;
mod closure;
mod target;

use std::str::FromStr;

use sha2::{Digest as _, Sha256};
use uv_pep440::Version;
use wheelgate_wheel::normalize_project;

pub use builds::{
    build_tag, check_builds, platform_specific, BuildCode, BuildFinding, BuiltFile, Origin,
};
pub use closure::{check_closure, ClosureFailure, ClosureReport};
pub use target::{filename_tags, linux_machine, Target, TargetError};

/// A distribution (a python package content unit) as Pulp reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dist {
    /// File name; wheel tags come from it. Sdists (`.tar.gz`) are never installable.
    pub filename: String,
    /// Project name from the metadata.
    pub name: String,
    /// Version from the metadata.
    pub version: String,
    /// `Requires-Dist` lines (PEP 508).
    pub requires_dist: Vec<String>,
    /// `Requires-Python` (PEP 440 specifiers); an invalid one admits every target.
    pub requires_python: Option<String>,
}

/// A version's file set digest: sha256 (hex) over the sorted lines `"{filename} {sha256}\n"`,
/// so it doesn't depend on the order files are listed in.
pub fn digest(files: &[(String, String)]) -> String {
    let mut lines: Vec<String> = files
        .iter()
        .map(|(filename, sha256)| format!("{filename} {sha256}\n"))
        .collect();
    lines.sort_unstable();
    let mut h = Sha256::new();
    for l in &lines {
        h.update(l.as_bytes());
    }
    hex::encode(h.finalize())
}

/// Whether a file's name agrees with the name and version Pulp reports for it (PEP 503 name
/// normalization, PEP 440 version equality; sdist names `name-version.tar.gz` and `.zip` too).
/// `None` when they agree, or else the first disagreement, e.g.
/// `torch-2.9.0-cp312-cp312-linux_x86_64.whl: Pulp reports name numpy`.
pub fn check_metadata(dist: &Dist) -> Option<String> {
    let file = &dist.filename;
    let (name, version) = if let Some(stem) = file.strip_suffix(".whl") {
        let mut parts = stem.splitn(3, '-');
        match (parts.next(), parts.next(), parts.next()) {
            (Some(n), Some(v), Some(_)) => (n, v),
            _ => return Some(format!("{file}: not a valid wheel file name")),
        }
    } else if let Some(stem) = file
        .strip_suffix(".tar.gz")
        .or_else(|| file.strip_suffix(".zip"))
    {
        // The name may contain `-`; the version may not.
        match stem.rsplit_once('-') {
            Some(nv) => nv,
            None => return Some(format!("{file}: not a valid sdist file name")),
        }
    } else {
        return Some(format!("{file}: neither a wheel nor an sdist"));
    };
    if normalize_project(name) != normalize_project(&dist.name) {
        return Some(format!("{file}: Pulp reports name {}", dist.name));
    }
    let reported = match Version::from_str(&dist.version) {
        Ok(v) => v,
        Err(e) => {
            return Some(format!(
                "{file}: Pulp reports version {:?}, which is not PEP 440: {e}",
                dist.version
            ))
        }
    };
    if Version::from_str(version).ok().as_ref() != Some(&reported) {
        return Some(format!("{file}: Pulp reports version {}", dist.version));
    }
    None
}

#[cfg(test)]
mod tests;
